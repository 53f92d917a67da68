/* Wakeup planning for timer scheduling: a pure function of the state and
 * one measurement, so it is tested against a fake clock and card.
 *
 *   t_meas        wake                      (fill drains at `rate`)
 *     |------------|-------------------------------> time
 *   fill+write   watermark
 *
 *   write = target - fill           (never more than the buffer holds)
 *   wake  = t_meas + (fill + write - watermark) / rate
 *
 * rate is the card's frames per second of CLOCK_MONOTONIC (the clock
 * smoother's estimate), so a drifting card is woken for on time. */
#ifndef LULL_PLANNER_H
#define LULL_PLANNER_H

#include <stdint.h>

struct plan_in {
	int64_t t_ns;		/* when fill was measured */
	int64_t fill;		/* frames in the hardware buffer then */
	double rate;		/* card frames per system second */
	uint64_t target;	/* fill to reach */
	uint64_t watermark;	/* wake when the fill has dropped to this */
	uint64_t buffer;	/* hardware buffer, frames */
};

struct plan_out {
	uint64_t write;		/* frames to write now */
	int64_t wake_ns;	/* next wakeup, CLOCK_MONOTONIC */
};

void planner_plan(const struct plan_in *in, struct plan_out *out);

/* Time at which `frames` more frames will have been played. */
int64_t planner_time_after(int64_t t_ns, double frames, double rate);

#endif
