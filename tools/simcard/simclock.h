/* The simulated card's clock: where its DMA really is, and where its
 * pointer says it is.
 *
 * The true position runs from CLOCK_MONOTONIC at rate * (1 + drift), in
 * exact integer arithmetic so it never wobbles or goes backwards. The
 * reported position is the true one seen through the imperfections a real
 * driver can have: stalls, timing jitter, coarse granularity and one-off
 * bogus jumps. Pure code: time is passed in, nothing is read from a clock. */
#ifndef LULL_SIMCLOCK_H
#define LULL_SIMCLOCK_H

#include <stdint.h>

struct simclock_cfg {
	unsigned rate;
	double drift_ppm;
	uint64_t granularity;	/* frames, >= 1 */
	unsigned jitter_us;
	uint32_t seed;
	unsigned stall_ms, stall_every_ms;
	unsigned jump_every_ms;
	uint64_t jump_frames;
};

struct simclock {
	struct simclock_cfg cfg;
	uint64_t rate_uhz;	/* card rate in micro-frames per second */
	int running;
	int64_t t0;		/* ns; the true position was frame0 then */
	uint64_t frame0;
	int64_t run_start;	/* ns; stalls and jumps are scheduled from it */
	uint64_t last_report;
	uint64_t rng;
};

void simclock_init(struct simclock *c, const struct simclock_cfg *cfg);
/* Starts (or resumes) running from frame at time now. */
void simclock_start(struct simclock *c, int64_t now, uint64_t frame);
/* Freezes the true position at frame (which the caller has reached). */
void simclock_stop(struct simclock *c, uint64_t frame);
/* True DMA position at time now. */
uint64_t simclock_pos(const struct simclock *c, int64_t now);
/* Earliest time at which the true position is >= frame. */
int64_t simclock_when(const struct simclock *c, uint64_t frame);
/* What the hardware pointer reads at time now. Not above `limit`
 * (what the DMA could have reached), never backwards except a jump. */
uint64_t simclock_report(struct simclock *c, int64_t now);

#endif
