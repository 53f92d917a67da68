/* Clock smoother: how fast the card's clock runs against CLOCK_MONOTONIC.
 *
 * Fed (time, frames played) pairs at every wakeup; fits a straight line
 * over a sliding window (least squares, with outliers rejected) and
 * reports the card's rate in frames per system second. Until a fit spans
 * 0.5 s it reports the previous estimate (at first, the nominal rate);
 * estimates are clamped to nominal +- 1000 ppm. A reset or a jump in the
 * positions starts a new segment: positions are compared only within a
 * segment, but every segment in the window refines the one shared rate,
 * so the estimate carries on undisturbed. Pure code; no clock reads. */
#ifndef LULL_SMOOTHER_H
#define LULL_SMOOTHER_H

#include <stdint.h>

#define SMOOTHER_WINDOW 64

struct smoother {
	double nominal;		/* frames per second the card claims */
	int64_t t[SMOOTHER_WINDOW];
	uint64_t pos[SMOOTHER_WINDOW];
	unsigned char seg_start[SMOOTHER_WINDOW];	/* point opens a segment */
	unsigned n, head;
	int restart;		/* the next point opens a segment */
	double rate;		/* current estimate */
	int64_t span_ns;	/* how much time the window covers */
};

void smoother_init(struct smoother *s, double nominal_rate);
/* After an xrun or a stop: later positions are not compared with earlier
 * ones (a new segment); the rate estimate is kept. */
void smoother_reset(struct smoother *s);
/* A measurement: at time t_ns, pos frames had been played. */
void smoother_put(struct smoother *s, int64_t t_ns, uint64_t pos);
/* Frames per second of system time. */
double smoother_rate(const struct smoother *s);
/* Card clock vs system clock in ppm (+ = card fast). */
double smoother_ppm(const struct smoother *s);
/* Nanoseconds of system time for `frames` card frames. */
int64_t smoother_frames_to_ns(const struct smoother *s, double frames);

#endif
