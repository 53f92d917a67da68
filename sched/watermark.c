/* The adaptive watermark. See watermark.h. */
#include "sched/watermark.h"

static uint64_t watermark_clamp(const struct watermark *w, uint64_t v)
{
	if (v < w->cfg.min)
		v = w->cfg.min;
	return v > w->cfg.max ? w->cfg.max : v;
}

static uint64_t watermark_frames(const struct watermark *w, int64_t ns)
{
	return ns <= 0 ? 0 : (uint64_t)((unsigned __int128)ns * w->cfg.rate / 1000000000u);
}

/* Twice the worst lateness seen, plus 2 ms for the work of a cycle. */
static uint64_t watermark_floor(const struct watermark *w)
{
	return watermark_frames(w, 2 * w->worst_late_ns + 2000000);
}

static int watermark_set(struct watermark *w, uint64_t v, int64_t now)
{
	uint64_t old = w->cur;

	w->cur = watermark_clamp(w, v);
	w->stable_since = now;
	return w->cur != old;
}

void watermark_init(struct watermark *w, const struct watermark_cfg *cfg,
		    int64_t now)
{
	*w = (struct watermark){ .cfg = *cfg, .stable_since = now };
	w->cur = watermark_clamp(w, cfg->initial);
}

int watermark_xrun(struct watermark *w, int64_t now)
{
	uint64_t up = w->cur * 2 > w->cur + w->cfg.step_up ?
		      w->cur * 2 : w->cur + w->cfg.step_up;

	return watermark_set(w, up, now);
}

int watermark_wakeup(struct watermark *w, int64_t now, int64_t late_ns,
		     int64_t fill)
{
	uint64_t floor, down;

	if (late_ns > w->worst_late_ns)
		w->worst_late_ns = late_ns;
	floor = watermark_floor(w);
	if (fill >= 0 && (uint64_t)fill < w->cur / 2)
		return watermark_set(w, (w->cur > floor ? w->cur : floor) +
				     w->cfg.step_up, now);
	if (w->cur < floor)
		return watermark_set(w, floor, now);
	if (now - w->stable_since < w->cfg.stable_ns)
		return 0;
	/* A quiet stable period: step down, and start judging lateness
	 * afresh, so one bad moment long ago does not hold it up forever. */
	down = w->cur > w->cfg.step_down ? w->cur - w->cfg.step_down : 0;
	w->worst_late_ns = late_ns;
	return watermark_set(w, down > floor ? down : floor, now);
}

void watermark_deep(struct watermark *w, uint64_t target)
{
	uint64_t d = target / 12, cap = w->cfg.rate / 6;

	w->deep = d < cap ? d : cap;
}

uint64_t watermark_get(const struct watermark *w)
{
	return w->cur;
}

uint64_t watermark_plan(const struct watermark *w)
{
	uint64_t v = w->cur > w->deep ? w->cur : w->deep;

	return v < w->cfg.max ? v : w->cfg.max;
}
