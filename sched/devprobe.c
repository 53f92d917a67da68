/* Device probe sizing. See devprobe.h. */
#include "sched/devprobe.h"

#include <math.h>

#define DEVPROBE_MIN_EDGES 3	/* fewer and the pointer was not fitted */

/* Frames in us microseconds, rounded up. */
static uint64_t devprobe_us(unsigned rate, double us)
{
	return us > 0 ? (uint64_t)ceil(us * rate / 1e6 - 1e-9) : 0;
}

static double devprobe_num(double v)
{
	return isnan(v) || v < 0 ? 0 : v;
}

void devprobe_found_set(struct devprobe_found *f, const struct ptrstat_report *r,
			const struct ptrstat_margin *m)
{
	int64_t still = (int64_t)ceil(r->span_s * f->rate);

	f->measured = 1;
	f->granularity = r->granularity > 1 ? r->granularity : 1;
	f->jitter_us = devprobe_num(r->jitter_max_us);
	f->stall_ms = devprobe_num(r->stall_max_ms);
	f->drift_ppm = isnan(r->drift_ppm) ? 0 : r->drift_ppm;
	/* A pointer that (almost) never moved during the probe steps by at
	 * least as much as the probe lasted, likely by periods; its stillness
	 * is its granule, not a stall. */
	if (r->edges < DEVPROBE_MIN_EDGES) {
		if ((int64_t)f->period > still)
			still = (int64_t)f->period;
		if (still > f->granularity)
			f->granularity = still;
		f->stall_ms = 0;
	}
	if (m && f->prefetch_src != DEVPROBE_DECLARED && m->prefetch > 0) {
		f->prefetch = m->prefetch;
		f->prefetch_src = DEVPROBE_MEASURED;
	}
}

/* Frames the DMA may be ahead of the reported pointer. */
static uint64_t devprobe_lead(const struct devprobe_found *f)
{
	uint64_t lead = f->prefetch > 0 ? (uint64_t)f->prefetch : 0;

	if (!f->measured)
		return lead;
	return lead + (uint64_t)(f->granularity > 1 ? f->granularity - 1 : 0) +
	       devprobe_us(f->rate, f->jitter_us) +
	       devprobe_us(f->rate, f->stall_ms * 1000);
}

/* max(256 bytes, own margin) + lead; the margin is PulseAudio's 1.33 ms
 * when nothing was measured, lulld's own 1 ms when the pointer was. */
static uint64_t devprobe_safeguard(const struct devprobe_found *f, uint64_t lead)
{
	uint64_t bytes = f->frame_bytes ? 256 / f->frame_bytes : 0;
	uint64_t own = devprobe_us(f->rate, f->measured ? DEVPROBE_OWN_MARGIN_US :
						 DEVPROBE_OLD_SAFEGUARD_US);
	uint64_t s = (own > bytes ? own : bytes) + lead;

	return f->buffer && s > f->buffer / 2 ? f->buffer / 2 : s;
}

/* max(20 ms, 2 * lead + 4 ms), at most 3/4 of the buffer. */
static uint64_t devprobe_watermark(const struct devprobe_found *f, uint64_t lead)
{
	uint64_t def = (uint64_t)f->rate * DEVPROBE_DEFAULT_WATERMARK_MS / 1000;
	uint64_t w = 2 * lead + devprobe_us(f->rate, 4000);

	if (w < def)
		w = def;
	return f->buffer && w > f->buffer / 4 * 3 ? f->buffer / 4 * 3 : w;
}

void devprobe_size(const struct devprobe_found *f, const struct devprobe_want *w,
		   struct devprobe_choice *c)
{
	enum devprobe_src sized = f->measured || f->prefetch > 0 ?
				  DEVPROBE_MEASURED : DEVPROBE_NONE;

	c->lead = devprobe_lead(f);
	c->safeguard = devprobe_safeguard(f, c->lead);
	c->safeguard_src = sized;
	c->watermark = devprobe_watermark(f, c->lead);
	c->watermark_src = sized;
	c->watermark_min = sized ? c->lead + devprobe_us(f->rate, 5000) : 0;
	if (w->safeguard_us) {
		c->safeguard = devprobe_us(f->rate, w->safeguard_us);
		c->safeguard_src = DEVPROBE_DECLARED;
	}
	if (w->watermark_ms) {
		c->watermark = (uint64_t)w->watermark_ms * f->rate / 1000;
		c->watermark_src = DEVPROBE_DECLARED;
	}
	if (c->watermark_min > c->watermark)
		c->watermark_min = c->watermark;
}

const char *devprobe_src_name(enum devprobe_src s)
{
	switch (s) {
	case DEVPROBE_DECLARED: return "option";
	case DEVPROBE_MEASURED: return "probe";
	default: return "default";
	}
}
