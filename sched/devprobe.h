/* Device probe sizing: what lulld makes of a short pointer probe at
 * startup (sched/ptrprobe.h measures, this decides). Pure code.
 *
 * The rewind safeguard is how far ahead of the reported pointer lulld may
 * rewrite. The DMA can be ahead of what the pointer says by
 *
 *     lead = (granularity - 1)      the pointer moves in steps: the true
 *                                   position is up to one step minus a
 *                                   frame past the reported one
 *          + jitter                 the reported position is the true one
 *                                   of up to `jitter` ago
 *          + longest stall          a frozen pointer lags by its stall
 *          + prefetch               frames the DMA has fetched ahead of
 *                                   its pointer (a rewrite there is lost)
 *
 * and lulld itself needs a margin for the time from its hwsync to the
 * rewind (a few microseconds, unless preempted):
 *
 *     safeguard = max(256 bytes, 1 ms) + lead        (probe ran)
 *     safeguard = max(256 bytes, 1.33 ms) + prefetch (no probe: today's
 *                                                     rule, PulseAudio's)
 *
 *   reported hw   true DMA   DMA fetch     hw + safeguard
 *   ----|------------|-----------|----------------|-------------> frames
 *       |<-- G-1 + jitter + stall -->|<-prefetch->|<- own margin
 *
 * The watermark (fill left when lulld wakes) must cover the same lead
 * plus the wakeup's lateness:
 *
 *     watermark = max(20 ms, 2 * lead + 4 ms), at most 3/4 of the buffer
 *     floor     = lead + 5 ms     (the adaptive watermark never drops
 *                                  below it; 0 without a probe)
 *
 * An option the user set (safeguard, watermark) wins over all of this. */
#ifndef LULL_DEVPROBE_H
#define LULL_DEVPROBE_H

#include <stdint.h>

#include "core/ptrstat.h"

enum devprobe_src {
	DEVPROBE_NONE,		/* not known */
	DEVPROBE_DECLARED,	/* from an option */
	DEVPROBE_MEASURED,	/* from the probe (loopback for prefetch) */
};

struct devprobe_found {
	unsigned rate;
	unsigned frame_bytes;
	uint64_t buffer;	/* frames */
	uint64_t period;	/* frames, as the probe had it; 0: unknown */
	int measured;		/* the pointer probe ran and succeeded */
	int64_t granularity;	/* frames, 1: exact */
	double jitter_us;	/* largest seen */
	double stall_ms;	/* longest pointer stall seen */
	double drift_ppm;	/* for the log only */
	int64_t prefetch;	/* frames */
	enum devprobe_src prefetch_src;
};

struct devprobe_want {
	unsigned safeguard_us;	/* 0: size it */
	unsigned watermark_ms;	/* 0: size it */
};

struct devprobe_choice {
	uint64_t lead;		/* frames the DMA may be ahead of the pointer */
	uint64_t safeguard;	/* frames */
	uint64_t watermark;	/* frames, initial */
	uint64_t watermark_min;	/* frames; 0: the engine's default */
	enum devprobe_src safeguard_src, watermark_src;
};

/* Milliseconds and microseconds the sizing uses. */
#define DEVPROBE_DEFAULT_WATERMARK_MS 20
#define DEVPROBE_OLD_SAFEGUARD_US 1330	/* PulseAudio's 1.33 ms */
#define DEVPROBE_OWN_MARGIN_US 1000	/* lulld's hwsync-to-rewind */

/* Fills f's measured fields from a pointer probe's report (and its
 * loopback search, m may be NULL) over probe_ms. A pointer that moved too
 * few times to be fitted is taken to move by whole periods (and at least
 * by everything it was seen to stay still for). rate, period and a
 * declared prefetch are the caller's to set first. */
void devprobe_found_set(struct devprobe_found *f, const struct ptrstat_report *r,
			const struct ptrstat_margin *m);

void devprobe_size(const struct devprobe_found *f, const struct devprobe_want *w,
		   struct devprobe_choice *c);

const char *devprobe_src_name(enum devprobe_src s);

#endif
