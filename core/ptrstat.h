/* Pointer statistics: how well a sound card reports its hardware pointer.
 *
 * Pure analysis, no ALSA. A probe (sched/ptrprobe.h) reads the pointer many
 * times against CLOCK_MONOTONIC and hands the samples here; this file turns
 * them into granularity, jitter, drift, stalls, jumps, delay and timestamp
 * consistency, and into a verdict with the margins a timer-scheduled server
 * needs (watermark, rewind safeguard).
 *
 * Positions are absolute 64-bit frame counters, never modulo the buffer.
 * For playback the hardware position trails the application position:
 *
 *     hw ------- fill = appl - hw ------- appl          (playback)
 *     appl ----- fill = hw - appl ------- hw            (capture)
 *
 * and snd_pcm_delay() = fill + extra, where extra is the FIFO / codec delay
 * that lies beyond the pointer (constant on a consistent card).
 *
 * Jitter is measured on edges, the samples where the pointer changed. Each
 * read happened somewhere in [t_lo, t_hi] (clock read before and after the
 * ALSA call). A pointer quantised to G frames that reads p at that moment
 * had its true position in [p, p + G), and the previous read showed less,
 * so the instant the card reached p lies in
 *
 *     [ max(t_lo(prev), t_lo - G/rate),  t_hi ]
 *
 * A straight line (position -> time) is fitted to these intervals, and an
 * edge's residual is its distance from the line to its interval (zero when
 * the line passes through it). So a coarse but exact pointer reads ~0
 * jitter, a jittery one its jitter. The tolerance ("resolution") is half
 * the median interval width: about half the sampling interval for a coarse
 * pointer, a frame plus the call's duration for a fine one; jitter below it
 * is invisible, and figures are accurate to about that much.
 *
 * The line is centred in the band of residuals (between the 1st and 99th
 * percentiles), so a pointer that jitters within +-J reads a max jitter of
 * about J. A pointer that jitters but never goes backwards hides part of
 * its early side: lullsim with JITTER=500, read every 200 us, reads
 * 480..630 us; with JITTER=5000, p99 1.2..2 ms and max 3..8 ms. The edge
 * that opens a stall (late by the stall, reported as one) and the last
 * edge of a run (its length is unknown) are left out of the fit.
 *
 * Drift is the line's slope against the nominal rate: within 1 ppm for a
 * fine exact pointer over 2 s, ~5 ppm for 10 ms granules, tens of ppm
 * under millisecond jitter. */
#ifndef LULL_PTRSTAT_H
#define LULL_PTRSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ptrstat_sample.flags */
#define PTRSTAT_HAS_DELAY	0x1u	/* delay is valid */
#define PTRSTAT_HAS_TS		0x2u	/* ts is valid (htimestamp or status) */
#define PTRSTAT_FROM_STATUS	0x4u	/* read with snd_pcm_status */
#define PTRSTAT_RESTART		0x8u	/* first read after a (re)start: no step
					   is taken across it */

struct ptrstat_sample {
	int64_t t_lo, t_hi;	/* CLOCK_MONOTONIC ns before and after the read */
	int64_t pos;		/* hardware position, absolute frames */
	int64_t appl;		/* application position, absolute frames */
	int64_t avail;		/* as reported (may exceed the buffer) */
	int64_t delay;		/* snd_pcm_delay, frames */
	int64_t ts;		/* timestamp paired with pos, ns */
	uint32_t flags;
};

struct ptrstat_series {
	struct ptrstat_sample *s;
	size_t n, cap;
	unsigned rate;		/* nominal frames per second */
	int64_t buffer;		/* buffer size, frames */
	int64_t period;		/* period size, frames */
	bool capture;
};

/* Allocates room for cap samples. Returns 0 or -ENOMEM. */
int ptrstat_series_init(struct ptrstat_series *s, size_t cap);
void ptrstat_series_free(struct ptrstat_series *s);
/* Appends one sample; returns -ENOSPC when full. */
int ptrstat_series_add(struct ptrstat_series *s, const struct ptrstat_sample *x);

#define PTRSTAT_HIST 8

struct ptrstat_step_count {
	int64_t step;		/* frames */
	size_t count;
};

/* Line through the pointer edges: position p was reached at
 * t0_ns + (p - p0) * ns_per_frame. */
struct ptrstat_fit {
	double t0_ns;
	int64_t p0;
	double ns_per_frame;
	bool valid;		/* at least 3 edges */
};

struct ptrstat_report {
	size_t samples;		/* reads analysed */
	size_t edges;		/* reads where the pointer had moved */
	double span_s;		/* first to last read */
	double interval_us;	/* median time between reads */

	/* Granularity. quantum: the largest step dividing >= 99 % of the
	 * steps seen (64 for a pointer moving by 64s). granularity: quantum,
	 * or for an irregular coarse pointer (USB-like 44/45/46) the 10th
	 * percentile step when it is far above what the sampling explains;
	 * 1 for a fine pointer. */
	int64_t quantum, granularity;
	int64_t step_min, step_p10, step_p50, step_max;
	double update_us;	/* median time between pointer changes */
	struct ptrstat_step_count hist[PTRSTAT_HIST];	/* most frequent */
	size_t hist_n;

	/* Misbehaviour. */
	size_t backward;	/* reads lower than the one before */
	int64_t backward_max;	/* frames */
	size_t jumps;		/* reads with avail > buffer */
	int64_t jump_max;	/* largest avail - buffer, frames */
	size_t delay_jumps;	/* delays off the usual by > buffer / 2 */
	size_t stalls;		/* pointer still for > stall_threshold_ms */
	double stall_max_ms, stall_total_ms, stall_threshold_ms;

	/* Straight-line fit of pointer edges to CLOCK_MONOTONIC. NaN when
	 * there are fewer than 3 edges. */
	double rate_hz;		/* measured card rate */
	double drift_ppm;	/* (rate_hz / nominal - 1) * 1e6 */
	double jitter_p50_us, jitter_p99_us, jitter_max_us;
	double resolution_us;	/* tolerance of the jitter figures */
	struct ptrstat_fit fit;

	/* extra = delay - fill, frames (FIFO / codec delay). */
	size_t delay_n;
	double extra_p50, extra_min, extra_max, extra_p1, extra_p99;

	/* Timestamps paired with a position, per source. age: how long
	 * before the call returned the stamp was taken. error: the stamp
	 * minus the fitted instant the card reached that position. */
	struct ptrstat_ts {
		size_t n;
		double age_p50_us, age_max_us;
		double err_p50_us, err_max_us;	/* err_max: largest |error| */
	} htstamp, status;
};

/* Analyses a series. Returns 0, or -EINVAL for an unusable series (no
 * rate, fewer than 2 samples). */
int ptrstat_analyse(const struct ptrstat_series *s, struct ptrstat_report *r);

/* The fitted instant (ns, CLOCK_MONOTONIC) the pointer reached pos, from
 * the report's line. A server can seed its clock smoother with it. */
double ptrstat_fit_time(const struct ptrstat_fit *f, int64_t pos);

/* --- Rewind / forward consistency ------------------------------------- */

struct ptrstat_rewind {
	unsigned tried;		/* rewind + forward pairs within rewindable */
	unsigned short_ret;	/* rewind returned other than asked */
	unsigned delay_bad;	/* delay/avail did not follow the rewind */
	unsigned fwd_short;	/* forward returned other than asked */
	unsigned fwd_bad;	/* delay/avail not restored by the forward */
	int64_t rewindable;	/* snd_pcm_rewindable with a full buffer */
	int64_t forwardable;	/* snd_pcm_forwardable at the same moment */
	int64_t beyond_rewindable; /* rewindable just before ... */
	int64_t beyond_asked;	/* ... rewindable + k asked ... */
	int64_t beyond_got;	/* ... and what rewind returned (-errno) */
	bool beyond_tested;
	bool beyond_xrun;	/* the test ended in an xrun */
};

/* --- Loopback: smallest safe rewind margin ----------------------------- */

#define PTRSTAT_MARGIN_TRIALS 64
#define PTRSTAT_MARGIN_REPEAT 3	/* clean trials needed at a margin */

struct ptrstat_margin {
	size_t n;
	struct ptrstat_trial {
		int64_t margin;	/* frames between play position and rewrite */
		int64_t lost;	/* marker frames not heard */
		int64_t marker;	/* marker length */
		int64_t elapsed; /* frames played between the pointer read
				    and the end of the rewrite */
	} trial[PTRSTAT_MARGIN_TRIALS];
	bool exact;		/* frame-indexed marker decoded bit-exactly */
	int64_t safe;		/* smallest margin with no loss, -1 unknown */
	int64_t prefetch;	/* lead of the card over its pointer: median
				   of margin + lost - elapsed over lossy
				   trials, 0 when nothing was lost */
};

void ptrstat_margin_init(struct ptrstat_margin *m);
void ptrstat_margin_add(struct ptrstat_margin *m, int64_t margin,
			int64_t lost, int64_t marker, int64_t elapsed);
/* The next margin to try on a grid of step frames up to max, or -1 when
 * the search is over (it then sets safe and prefetch). The search assumes
 * loss shrinks as the margin grows: it jumps to the margin the losses
 * point at, confirms it PTRSTAT_MARGIN_REPEAT times, then walks down the
 * grid while the margin below stays clean. */
int64_t ptrstat_margin_next(struct ptrstat_margin *m, int64_t step, int64_t max);

/* The marker a frame carries on the loopback: a 16-bit sample with the
 * top bits 01 and the frame index modulo 2^14 below, so silence (0) is
 * never a marker and a bit-exact path tells exactly which frames arrived. */
int ptrstat_marker_code(int64_t frame);
/* The frame in [from, from + len) that sent code v, or -1. */
int64_t ptrstat_marker_frame(int v, int64_t from, int64_t len);

/* --- Stress ------------------------------------------------------------ */

struct ptrstat_stress {
	double seconds;
	uint64_t queries, rewinds, forwards, writes;
	uint64_t delay_bad;	/* delay != fill + extra beyond tolerance */
	uint64_t rewind_short;	/* rewind returned other than asked, within
				   rewindable */
	uint64_t forward_short;
	uint64_t avail_over;	/* avail > buffer */
	uint64_t backward;	/* pointer lower than the read before */
	uint64_t errors;	/* ALSA calls that failed (xruns included) */
};

uint64_t ptrstat_stress_total(const struct ptrstat_stress *s);

/* --- Verdict ----------------------------------------------------------- */

enum ptrstat_finding {
	PTRSTAT_STILL,		/* timer: the pointer never moved */
	PTRSTAT_BACKWARD,	/* timer: the pointer went backwards */
	PTRSTAT_JUMPS,		/* timer: avail (or delay) beyond the buffer */
	PTRSTAT_COARSE,		/* timer: granularity > buffer / 4 */
	PTRSTAT_STALL_LONG,	/* timer: a stall > buffer / 4 */
	PTRSTAT_MARGINS,	/* timer: watermark > buffer / 2 */
	PTRSTAT_REWIND_SHORT,	/* rewind: returned other than asked */
	PTRSTAT_REWIND_DELAY,	/* rewind: delay did not follow */
	PTRSTAT_FORWARD_BAD,	/* rewind: forward did not restore */
	PTRSTAT_NOTE_GRANULAR,	/* note: coarse pointer, margins raised */
	PTRSTAT_NOTE_JITTER,	/* note: jitter raised the margins */
	PTRSTAT_NOTE_STALLS,	/* note: stalls raised the margins */
	PTRSTAT_NOTE_DRIFT,	/* note: |drift| > 1000 ppm */
	PTRSTAT_NOTE_UNCLAMPED,	/* note: rewind past rewindable honoured */
	PTRSTAT_NOTE_PREFETCH,	/* note: prefetch raised the safeguard */
	PTRSTAT_NOTE_STRESS,	/* note: inconsistencies under stress */
	PTRSTAT_NOTE_DELAY,	/* note: delay spread > 2 granules */
	PTRSTAT_NOTE_TSTAMP,	/* note: timestamps disagree with the fit */
	PTRSTAT_FINDINGS
};

enum ptrstat_severity {
	PTRSTAT_SEV_NOTE,
	PTRSTAT_SEV_REWIND,	/* rewinds are unsafe */
	PTRSTAT_SEV_TIMER,	/* timer scheduling is unsafe */
};

struct ptrstat_verdict {
	bool timer_fit;		/* no TIMER finding */
	bool rewind_fit;	/* no REWIND finding */
	double watermark_ms;
	int64_t safeguard_frames;
	double safeguard_ms;
	uint32_t findings;	/* 1u << enum ptrstat_finding */
};

/* Margins (documented in ptrstat.c):
 *   late      = granularity + 2 * max jitter + longest stall    (ms)
 *   watermark = max(10 ms, 2 * late + 4 ms)
 *   safeguard = base + max(granularity - 1 + 2 * jitter + stall,
 *                          loopback lead)                        (frames)
 *   base      = max(256 bytes, 1.33 ms)
 * rw, mg, st may be NULL (not measured). */
void ptrstat_judge(const struct ptrstat_report *r, unsigned rate,
		   int64_t buffer, unsigned frame_bytes,
		   const struct ptrstat_rewind *rw,
		   const struct ptrstat_margin *mg,
		   const struct ptrstat_stress *st,
		   struct ptrstat_verdict *v);

const char *ptrstat_finding_text(enum ptrstat_finding f);
/* Stable short name for JSON ("backward", "jumps", ...). */
const char *ptrstat_finding_key(enum ptrstat_finding f);
enum ptrstat_severity ptrstat_finding_severity(enum ptrstat_finding f);

#endif
