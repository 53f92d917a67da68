/* The adaptive watermark: how much audio must still be in the card's
 * buffer when lulld wakes, so that a late wakeup never runs it dry.
 *
 *   - an xrun doubles it (at least +step_up);
 *   - a near miss (woken with less than half of it left) raises it by
 *     step_up;
 *   - it never sits below twice the worst wakeup lateness seen lately plus
 *     2 ms, so it settles by itself on a loaded machine;
 *   - after stable_ns with none of the above it drops by step_down, down
 *     to that floor or min.
 * PulseAudio's rules (+10 ms or x2 on an underrun, -5 ms after 20 s) are
 * the defaults. Pure code: times are passed in. */
#ifndef LULL_WATERMARK_H
#define LULL_WATERMARK_H

#include <stdint.h>

struct watermark_cfg {
	unsigned rate;
	uint64_t initial, min, max;	/* frames */
	uint64_t step_up, step_down;	/* frames */
	int64_t stable_ns;
};

struct watermark {
	struct watermark_cfg cfg;
	uint64_t cur;
	uint64_t deep;		/* headroom for a deep fill target */
	int64_t stable_since;
	int64_t worst_late_ns;	/* over the current stable period */
};

void watermark_init(struct watermark *w, const struct watermark_cfg *cfg,
		    int64_t now);
/* Each returns 1 when the watermark changed. */
int watermark_xrun(struct watermark *w, int64_t now);
/* A wakeup late_ns after its plan, finding fill frames in the buffer. */
int watermark_wakeup(struct watermark *w, int64_t now, int64_t late_ns,
		     int64_t fill);
/* The fill target is `target` frames: with a deep one, wakeups are
 * planned at least a twelfth of it (at most 1/6 s) before the buffer
 * would run dry. Waking a little earlier then costs next to nothing (9 %
 * more wakeups) and rides out the long stalls a loaded machine has now
 * and then (100 ms and more), which the adaptive watermark, settled low
 * after a quiet spell, would not. */
void watermark_deep(struct watermark *w, uint64_t target);
/* The adaptive watermark. */
uint64_t watermark_get(const struct watermark *w);
/* What wakeups are planned against: the adaptive watermark or the deep
 * target's headroom, whichever is more. */
uint64_t watermark_plan(const struct watermark *w);

#endif
