/* Pointer probe: drives an open, configured ALSA PCM and measures how well
 * it reports its hardware pointer (analysed by core/ptrstat.h).
 *
 * The PCM must have its hw and sw params set (lull-ptrtest and lulld set
 * start_threshold to the boundary and period wakeups off; any setup
 * works). The probe prepares and starts it, plays silence keeping the
 * buffer topped up (or, for capture, reads so it never overruns), reads
 * avail/delay, htimestamp and status at a high rate against
 * CLOCK_MONOTONIC, then runs the optional checks, and leaves the PCM
 * dropped (SETUP state). It prints nothing: on failure it returns a
 * negative errno and names the ALSA call in result.failed.
 *
 *   struct ptrprobe_opts o = { .duration_ms = 500, .rewinds = true };
 *   struct ptrprobe_result r;
 *   if (ptrprobe_run(pcm, &o, &r) == 0)
 *           use r.verdict.watermark_ms, r.verdict.safeguard_frames;
 *   ptrprobe_result_free(&r);
 *
 * Runs in the caller's thread and allocates: not for an audio thread. */
#ifndef LULL_PTRPROBE_H
#define LULL_PTRPROBE_H

#include <stdbool.h>
#include <stdint.h>

#include <alsa/asoundlib.h>

#include "core/ptrstat.h"

struct ptrprobe_opts {
	unsigned duration_ms;	/* pointer sampling; 0: 5000 */
	unsigned interval_us;	/* between reads; 0: 200 */
	bool rewinds;		/* rewind/forward consistency checks */
	unsigned stress_ms;	/* hammer rewinds/forwards/queries; 0: no */
	/* Capture end of a loopback of pcm (playback only), opened and
	 * configured with the same rate, channels and format; NULL: no
	 * safe-margin search. The probe starts and drops it. */
	snd_pcm_t *loop_capture;
	unsigned margin_step;	/* frames; 0: 16 */
	unsigned margin_max;	/* frames; 0: 4096 */
};

/* The PCM's setup and its hardware flags (-1: not known). */
struct ptrprobe_hw {
	bool capture;
	unsigned rate, channels;
	snd_pcm_format_t format;
	snd_pcm_access_t access;
	int64_t buffer, period, boundary;
	unsigned frame_bytes;
	int batch, block_transfer, double_buf, monotonic;
	int can_pause, can_disable_period_wakeup;
	int can_rewind;		/* alsa-lib 1.2.8 cannot tell: -1 */
	int fifo_size;		/* hw_params FIFO size, frames */
};

struct ptrprobe_result {
	struct ptrprobe_hw hw;
	struct ptrstat_series series;
	struct ptrstat_report report;
	unsigned xruns;		/* during sampling, recovered */
	size_t dropped;		/* reads that did not fit the series */
	bool rewind_done, margin_done, stress_done;
	struct ptrstat_rewind rewind;
	struct ptrstat_margin margin;
	struct ptrstat_stress stress;
	struct ptrstat_verdict verdict;
	const char *failed;	/* ALSA call that failed, or NULL */
};

/* Returns 0 or negative errno (then result.failed names the call). The
 * result must be freed either way. */
int ptrprobe_run(snd_pcm_t *pcm, const struct ptrprobe_opts *o,
		 struct ptrprobe_result *r);
void ptrprobe_result_free(struct ptrprobe_result *r);

/* Reads the setup of a configured PCM. Returns 0 or negative errno. */
int ptrprobe_hw_read(snd_pcm_t *pcm, struct ptrprobe_hw *hw);

/* How ptrprobe_open sets a PCM up: lulld's way (mmap, one big buffer in
 * two periods, explicit start, stop on an empty buffer, monotonic
 * timestamps), so the probe measures the card lulld will drive. */
struct ptrprobe_setup {
	unsigned rate, channels;
	snd_pcm_format_t format;	/* SND_PCM_FORMAT_UNKNOWN: the best
					   (float, then the widest integer) */
	unsigned buffer_ms;
};

/* Software parameters for timer scheduling, as lulld sets them: explicit
 * start, xrun at an empty (capture: full) buffer, avail_min the buffer,
 * no period events, monotonic timestamps for htimestamp and status.
 * Returns 0 or a negative errno, then *what names the failing call. */
int ptrprobe_sw(snd_pcm_t *pcm, const char **what);

/* Opens PCM `name` (non-blocking) and configures it. Returns 0 or a
 * negative errno, then *what names the ALSA call that failed. */
int ptrprobe_open(snd_pcm_t **pcm, const char *name, snd_pcm_stream_t dir,
		  const struct ptrprobe_setup *s, const char **what);

#endif
