/* Pointer probe. See ptrprobe.h.
 *
 * Positions are tracked as absolute 64-bit frames: the probe counts what
 * it writes (or reads) into `appl`, and derives the hardware position from
 * each avail:
 *
 *   playback:  hw = appl - (buffer - avail)      hw ---fill--- appl
 *   capture:   hw = appl + avail                 appl ---fill--- hw
 *
 * so a rewind (appl moves back) must show as avail growing by as much,
 * with hw where it was. */
#include "sched/ptrprobe.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROBE_MS 5000		/* default sampling */
#define PROBE_US 200		/* default interval between reads */
#define PROBE_TS_EVERY 8	/* every 8th read is an htimestamp */
#define PROBE_STATUS_EVERY 32	/* every 32nd a status */
#define PROBE_MARKER 512	/* loopback marker, frames */
#define PROBE_TRIAL_NS 2000000	/* a trial's rewind+write must be faster */

struct probe {
	snd_pcm_t *pcm;
	const struct ptrprobe_hw *hw;
	struct ptrprobe_result *r;
	int64_t appl;		/* absolute application position */
	uint8_t *buf;		/* chunk frames: silence, or capture scratch */
	int64_t chunk;		/* frames per transfer */
	bool restart;		/* next read starts a new segment */
	bool ioplug;		/* an external (ioplug) plugin */
	snd_pcm_status_t *status;
};

enum probe_kind { READ_AVAIL, READ_HTSTAMP, READ_STATUS };

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
	struct timespec ts = { t / 1000000000, t % 1000000000 };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Remembers the first failing call for the caller's message. */
static int probe_fail(struct probe *p, const char *call, int err)
{
	if (!p->r->failed)
		p->r->failed = call;
	return err;
}

static bool is_xrun(int err)
{
	return err == -EPIPE || err == -ESTRPIPE;
}

/* --- setup ---------------------------------------------------------------- */

static void hw_flags(const snd_pcm_hw_params_t *hp, struct ptrprobe_hw *hw)
{
	hw->batch = snd_pcm_hw_params_is_batch(hp);
	hw->block_transfer = snd_pcm_hw_params_is_block_transfer(hp);
	hw->double_buf = snd_pcm_hw_params_is_double(hp);
	hw->monotonic = snd_pcm_hw_params_is_monotonic(hp);
	hw->can_pause = snd_pcm_hw_params_can_pause(hp);
	hw->can_disable_period_wakeup =
		snd_pcm_hw_params_can_disable_period_wakeup(hp);
	hw->can_rewind = -1;	/* no such query in alsa-lib 1.2.8 */
	hw->fifo_size = snd_pcm_hw_params_get_fifo_size(hp);
}

static int hw_setup(const snd_pcm_hw_params_t *hp, struct ptrprobe_hw *hw)
{
	snd_pcm_uframes_t u;
	int dir = 0, err;

	err = snd_pcm_hw_params_get_rate(hp, &hw->rate, &dir);
	if (!err)
		err = snd_pcm_hw_params_get_channels(hp, &hw->channels);
	if (!err)
		err = snd_pcm_hw_params_get_format(hp, &hw->format);
	if (!err)
		err = snd_pcm_hw_params_get_access(hp, &hw->access);
	if (!err && !(err = snd_pcm_hw_params_get_buffer_size(hp, &u)))
		hw->buffer = (int64_t)u;
	if (!err && !(err = snd_pcm_hw_params_get_period_size(hp, &u, &dir)))
		hw->period = (int64_t)u;
	return err;
}

int ptrprobe_hw_read(snd_pcm_t *pcm, struct ptrprobe_hw *hw)
{
	snd_pcm_hw_params_t *hp;
	snd_pcm_sw_params_t *sp;
	snd_pcm_uframes_t u;
	int err;

	snd_pcm_hw_params_alloca(&hp);
	snd_pcm_sw_params_alloca(&sp);
	memset(hw, 0, sizeof(*hw));
	err = snd_pcm_hw_params_current(pcm, hp);
	if (!err)
		err = hw_setup(hp, hw);
	if (!err)
		err = snd_pcm_sw_params_current(pcm, sp);
	if (!err)
		err = snd_pcm_sw_params_get_boundary(sp, &u);
	if (err < 0)
		return err;
	hw->boundary = (int64_t)u;
	hw->capture = snd_pcm_stream(pcm) == SND_PCM_STREAM_CAPTURE;
	hw->frame_bytes = (unsigned)snd_pcm_frames_to_bytes(pcm, 1);
	hw_flags(hp, hw);
	return hw->buffer > 0 && hw->rate ? 0 : -EINVAL;
}

static bool is_mmap(const struct ptrprobe_hw *hw)
{
	return hw->access == SND_PCM_ACCESS_MMAP_INTERLEAVED ||
	       hw->access == SND_PCM_ACCESS_MMAP_NONINTERLEAVED ||
	       hw->access == SND_PCM_ACCESS_MMAP_COMPLEX;
}

/* Transfers run in chunks of 100 ms (a quarter of a small buffer), and a
 * chunk holds at least one loopback marker. */
static int probe_init(struct probe *p, snd_pcm_t *pcm,
		      const struct ptrprobe_hw *hw, struct ptrprobe_result *r)
{
	int64_t n;

	memset(p, 0, sizeof(*p));
	p->pcm = pcm;
	p->hw = hw;
	p->r = r;
	p->ioplug = snd_pcm_type(pcm) == SND_PCM_TYPE_IOPLUG;
	p->chunk = hw->rate / 10 < hw->buffer / 4 ? hw->rate / 10 : hw->buffer / 4;
	if (p->chunk < 1)
		p->chunk = 1;
	n = p->chunk > PROBE_MARKER ? p->chunk : PROBE_MARKER;
	p->buf = malloc((size_t)n * hw->frame_bytes);
	if (!p->buf || snd_pcm_status_malloc(&p->status) < 0)
		return -ENOMEM;
	snd_pcm_format_set_silence(hw->format, p->buf,
				   (unsigned)(n * hw->channels));
	return 0;
}

static void probe_fini(struct probe *p)
{
	free(p->buf);
	if (p->status)
		snd_pcm_status_free(p->status);
}

/* --- reads ------------------------------------------------------------------ */

/* ALSA returns avail modulo its boundary: a pointer that went back before
 * the start of the buffer reads as nearly the boundary. */
static int64_t avail_signed(const struct probe *p, int64_t a)
{
	return a > p->hw->boundary / 2 ? a - p->hw->boundary : a;
}

static int64_t fill_of(const struct probe *p, const struct ptrstat_sample *x)
{
	return p->hw->capture ? x->pos - x->appl : x->appl - x->pos;
}

static int64_t ts_ns(const snd_htimestamp_t *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* avail and delay from one call. On an ioplug PCM, hwsync and
 * avail_update each read the plugin's pointer, and only the second read
 * reaches the caller: a one-off bogus read is hidden by the hwsync that a
 * sleeping sampler always does first. There avail_update alone reads the
 * pointer once, and delay once more, so every read is seen. Elsewhere
 * avail_update would only return the last synced (stale) position. */
static int avail_delay(struct probe *p, snd_pcm_sframes_t *a,
		       snd_pcm_sframes_t *d)
{
	if (!p->ioplug)
		return snd_pcm_avail_delay(p->pcm, a, d);
	*a = snd_pcm_avail_update(p->pcm);
	if (*a < 0)
		return (int)*a;
	return snd_pcm_delay(p->pcm, d);
}

static int read_avail(struct probe *p, struct ptrstat_sample *x)
{
	snd_pcm_sframes_t a, d;
	int err;

	x->t_lo = now_ns();
	err = avail_delay(p, &a, &d);
	x->t_hi = now_ns();
	if (err < 0)
		return is_xrun(err) ? err : probe_fail(p, "snd_pcm_avail_delay", err);
	x->avail = avail_signed(p, a);
	x->delay = d;
	x->flags = PTRSTAT_HAS_DELAY;
	return 0;
}

static int read_htstamp(struct probe *p, struct ptrstat_sample *x)
{
	snd_pcm_uframes_t a;
	snd_htimestamp_t ts;
	int err;

	x->t_lo = now_ns();
	err = snd_pcm_htimestamp(p->pcm, &a, &ts);
	x->t_hi = now_ns();
	if (err < 0)
		return is_xrun(err) ? err : probe_fail(p, "snd_pcm_htimestamp", err);
	x->avail = avail_signed(p, (int64_t)a);
	x->ts = ts_ns(&ts);
	x->flags = PTRSTAT_HAS_TS;
	return 0;
}

static int read_status(struct probe *p, struct ptrstat_sample *x)
{
	snd_htimestamp_t ts;
	snd_pcm_state_t st;
	int err;

	x->t_lo = now_ns();
	err = snd_pcm_status(p->pcm, p->status);
	x->t_hi = now_ns();
	if (err < 0)
		return is_xrun(err) ? err : probe_fail(p, "snd_pcm_status", err);
	st = snd_pcm_status_get_state(p->status);
	if (st == SND_PCM_STATE_XRUN)
		return -EPIPE;
	if (st == SND_PCM_STATE_SUSPENDED)
		return -ESTRPIPE;
	x->avail = avail_signed(p, (int64_t)snd_pcm_status_get_avail(p->status));
	x->delay = snd_pcm_status_get_delay(p->status);
	snd_pcm_status_get_htstamp(p->status, &ts);
	x->ts = ts_ns(&ts);
	x->flags = PTRSTAT_HAS_DELAY | PTRSTAT_HAS_TS | PTRSTAT_FROM_STATUS;
	return 0;
}

static int probe_read(struct probe *p, enum probe_kind k, struct ptrstat_sample *x)
{
	int err;

	memset(x, 0, sizeof(*x));
	err = k == READ_STATUS ? read_status(p, x) :
	      k == READ_HTSTAMP ? read_htstamp(p, x) : read_avail(p, x);
	if (err < 0)
		return err;
	x->appl = p->appl;
	x->pos = p->hw->capture ? p->appl + x->avail :
				  p->appl + x->avail - p->hw->buffer;
	if (p->restart)
		x->flags |= PTRSTAT_RESTART;
	p->restart = false;
	return 0;
}

/* --- transfers -------------------------------------------------------------- */

/* Moves up to n frames (one chunk at most): plays data, or captures into
 * the scratch buffer. Returns frames moved (0: would block) or -errno. */
static snd_pcm_sframes_t probe_xfer(struct probe *p, const void *data, int64_t n)
{
	snd_pcm_uframes_t f = (snd_pcm_uframes_t)(n < p->chunk ? n : p->chunk);
	snd_pcm_sframes_t got;

	if (p->hw->capture)
		got = is_mmap(p->hw) ? snd_pcm_mmap_readi(p->pcm, p->buf, f) :
				       snd_pcm_readi(p->pcm, p->buf, f);
	else
		got = is_mmap(p->hw) ? snd_pcm_mmap_writei(p->pcm, data, f) :
				       snd_pcm_writei(p->pcm, data, f);
	if (got == -EAGAIN)
		return 0;
	if (got > 0)
		p->appl += got;
	return got;
}

/* Keeps playback full of silence (capture empty) when avail has reached
 * `min`. A bogus avail beyond the buffer is ignored: trusting it would
 * overwrite audio the card has not played. */
static int probe_service(struct probe *p, int64_t avail, int64_t min)
{
	snd_pcm_sframes_t f;

	if (avail < min || avail > p->hw->buffer)
		return 0;
	while (avail > 0) {
		f = probe_xfer(p, p->buf, avail);
		if (f <= 0)
			return (int)f;
		avail -= f;
	}
	return 0;
}

/* Fills playback and starts, from the PREPARED state. */
static int probe_begin(struct probe *p)
{
	int64_t left = p->hw->capture ? 0 : p->hw->buffer;
	snd_pcm_sframes_t f;
	int err;

	while (left > 0) {
		f = probe_xfer(p, p->buf, left);
		if (f < 0)
			return probe_fail(p, "snd_pcm_writei", (int)f);
		if (f == 0)
			break;
		left -= f;
	}
	if (snd_pcm_state(p->pcm) == SND_PCM_STATE_PREPARED) {
		err = snd_pcm_start(p->pcm);
		if (err < 0)
			return probe_fail(p, "snd_pcm_start", err);
	}
	p->restart = true;
	return 0;
}

static int probe_restart(struct probe *p)
{
	int err;

	snd_pcm_drop(p->pcm);
	err = snd_pcm_prepare(p->pcm);
	if (err < 0)
		return probe_fail(p, "snd_pcm_prepare", err);
	return probe_begin(p);
}

/* An xrun is measured, not fatal: count it and start again. */
static int probe_recover(struct probe *p, int err, unsigned *count)
{
	if (!is_xrun(err))
		return err;
	if (count)
		++*count;
	return probe_restart(p);
}

/* Reads avail and services the buffer down to a full (empty) one. */
static int probe_topup(struct probe *p, struct ptrstat_sample *x)
{
	int err = probe_read(p, READ_AVAIL, x);

	if (!err)
		err = probe_service(p, x->avail, 1);
	if (is_xrun(err))
		return probe_recover(p, err, &p->r->xruns);
	return err < 0 ? probe_fail(p, "snd_pcm_writei/readi", err) : 0;
}

/* --- stage 1: sampling -------------------------------------------------------- */

static enum probe_kind read_kind(size_t i)
{
	if (i % PROBE_STATUS_EVERY == PROBE_STATUS_EVERY - 1)
		return READ_STATUS;
	if (i % PROBE_TS_EVERY == PROBE_TS_EVERY - 1)
		return READ_HTSTAMP;
	return READ_AVAIL;
}

static int sample_once(struct probe *p, size_t i)
{
	struct ptrstat_sample x;
	int err = probe_read(p, read_kind(i), &x);

	if (!err) {
		if (ptrstat_series_add(&p->r->series, &x) < 0)
			p->r->dropped++;
		err = probe_service(p, x.avail, p->chunk);
		if (err < 0 && !is_xrun(err))
			return probe_fail(p, "snd_pcm_writei/readi", err);
	}
	return err < 0 ? probe_recover(p, err, &p->r->xruns) : 0;
}

/* Reads are spaced step_ns apart on average but dithered uniformly over
 * [step/2, 3 step/2]: a strictly periodic sampler phase-locks to a coarse
 * pointer (64 frames at 48 kHz is 6 2/3 reads of 200 us), so the edges
 * land at the same few places in their intervals, and the interval
 * mid-points carry a slowly wandering bias that the fit reads as drift. */
static int64_t next_step(uint64_t *rng, int64_t step_ns)
{
	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	return step_ns / 2 + (int64_t)(*rng % (uint64_t)(step_ns + 1));
}

static int probe_sample(struct probe *p, int64_t dur_ns, int64_t step_ns)
{
	int64_t t = now_ns(), end = t + dur_ns;
	uint64_t rng = 0x2545f4914f6cdd1dULL;
	int err;

	for (size_t i = 0; t < end; i++) {
		err = sample_once(p, i);
		if (err < 0)
			return err;
		t += next_step(&rng, step_ns);
		if (t < now_ns())
			t = now_ns();	/* fell behind: no burst to catch up */
		else
			sleep_until(t);
	}
	return 0;
}

/* --- stage 2: rewind / forward consistency ------------------------------------ */

/* Frames of slack for comparing two reads: two granules and twice the
 * jitter band, plus a few frames for the reads themselves. */
static int64_t probe_tol(const struct probe *p)
{
	const struct ptrstat_report *rep = &p->r->report;
	double jit = isnan(rep->jitter_max_us) ? 0 : rep->jitter_max_us;

	return 2 * rep->granularity + 2 * (int64_t)ceil(jit * 1e-6 * p->hw->rate) + 8;
}

/* Frames a test rewind keeps away from the pointer: 20 ms, the slack and
 * the longest stall. Test rewinds must never make the card underrun. */
static int64_t probe_keep(const struct probe *p)
{
	return p->hw->rate / 50 + probe_tol(p) +
	       (int64_t)ceil(p->r->report.stall_max_ms * p->hw->rate / 1e3);
}

/* Frames the card can play during one read: avail and delay may be
 * read at different moments of it (two calls on an ioplug PCM), and a
 * preempted read is a long one. */
static int64_t read_frames(const struct probe *p, const struct ptrstat_sample *x)
{
	return (int64_t)ceil((double)(x->t_hi - x->t_lo) * 1e-9 * p->hw->rate * 1.01);
}

/* b follows a, with appl moved as the probe knows. A consistent card has
 * its pointer where it was or a little further, no further than the time
 * between the reads explains, and its delay the same FIFO beyond it. */
static bool consistent(const struct probe *p, const struct ptrstat_sample *a,
		       const struct ptrstat_sample *b, int64_t tol)
{
	double ran = (double)(b->t_hi - a->t_lo) * 1e-9 * p->hw->rate * 1.01;
	int64_t moved = b->pos - a->pos;
	int64_t extra_a = a->delay - fill_of(p, a);
	int64_t extra_b = b->delay - fill_of(p, b);

	return moved >= -tol && (double)moved <= ran + (double)tol &&
	       llabs(extra_b - extra_a) <= tol + read_frames(p, a) + read_frames(p, b);
}

/* Rewinds n and forwards back, checking avail/delay after each. Returns
 * 0, 1 when the card refused (counted), or -errno. */
static int rewind_pair(struct probe *p, int64_t n, int64_t tol)
{
	struct ptrstat_rewind *rs = &p->r->rewind;
	struct ptrstat_sample a, b, c;
	snd_pcm_sframes_t rw, fw;
	int err = probe_read(p, READ_AVAIL, &a);

	if (err < 0)
		return err;
	rw = snd_pcm_rewind(p->pcm, (snd_pcm_uframes_t)n);
	rs->tried++;
	rs->short_ret += rw != n;
	if (rw <= 0)
		return rw < 0 && is_xrun((int)rw) ? (int)rw : 1;
	p->appl -= rw;
	err = probe_read(p, READ_AVAIL, &b);
	if (err < 0)
		return err;
	rs->delay_bad += !consistent(p, &a, &b, tol);
	fw = snd_pcm_forward(p->pcm, (snd_pcm_uframes_t)rw);
	rs->fwd_short += fw != rw;
	if (fw > 0)
		p->appl += fw;
	err = probe_read(p, READ_AVAIL, &c);
	if (err < 0)
		return err;
	rs->fwd_bad += !consistent(p, &b, &c, tol);
	return 0;
}

/* Rewinds past what rewindable allows, and forwards straight back. A
 * kernel driver clamps to rewindable; an ioplug one does not. */
static int rewind_beyond(struct probe *p)
{
	struct ptrstat_rewind *rs = &p->r->rewind;
	struct ptrstat_sample x;
	snd_pcm_sframes_t r, got, fw;
	int64_t k = p->hw->buffer / 8 < 256 ? p->hw->buffer / 8 : 256;
	int err = probe_topup(p, &x);

	if (err < 0)
		return err;
	r = snd_pcm_rewindable(p->pcm);
	if (r < 0)
		return 0;
	rs->beyond_tested = true;
	rs->beyond_rewindable = r;
	rs->beyond_asked = r + (k > 0 ? k : 1);
	got = snd_pcm_rewind(p->pcm, (snd_pcm_uframes_t)rs->beyond_asked);
	rs->beyond_got = got;
	if (got > 0) {
		p->appl -= got;
		fw = snd_pcm_forward(p->pcm, (snd_pcm_uframes_t)got);
		if (fw > 0)
			p->appl += fw;
	}
	err = probe_read(p, READ_AVAIL, &x);
	rs->beyond_xrun = is_xrun(err);
	return probe_recover(p, err, NULL);
}

static int rewind_sizes(struct probe *p, int64_t *n, int64_t rewindable)
{
	int64_t want[] = { 1, 17, 64, 480, p->hw->rate / 10, rewindable / 2 };
	int64_t keep = probe_keep(p);
	int k = 0;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (want[i] > 0 && want[i] <= rewindable - keep)
			n[k++] = want[i];
	return k;
}

static int rewind_checks(struct probe *p)
{
	struct ptrstat_rewind *rs = &p->r->rewind;
	struct ptrstat_sample x;
	int64_t n[6];
	int k, err = probe_topup(p, &x);

	if (err < 0)
		return err;
	rs->rewindable = snd_pcm_rewindable(p->pcm);
	rs->forwardable = snd_pcm_forwardable(p->pcm);
	k = rewind_sizes(p, n, rs->rewindable);
	for (int i = 0; i < k; i++) {
		err = probe_topup(p, &x);
		if (!err)
			err = rewind_pair(p, n[i], probe_tol(p));
		if (err == 1)
			break;			/* refused: counted */
		if (err < 0 && (err = probe_recover(p, err, &p->r->xruns)) < 0)
			return err;
	}
	return rewind_beyond(p);
}

/* --- stage 3: loopback margin search ------------------------------------------ */

/* The marker's 16-bit code sits in the top of any integer container, so
 * each format carries it exactly; float carries code / 32768 exactly. */
static void marker_put(const struct ptrprobe_hw *hw, uint8_t *frame, int code)
{
	unsigned bytes = hw->frame_bytes / hw->channels;

	for (unsigned c = 0; c < hw->channels; c++, frame += bytes) {
		int16_t s16 = (int16_t)code;
		int32_t s32 = hw->format == SND_PCM_FORMAT_S24_LE ? code << 8 :
								    code << 16;
		float f = (float)code / 32768.0f;

		if (hw->format == SND_PCM_FORMAT_S16_LE)
			memcpy(frame, &s16, 2);
		else if (hw->format == SND_PCM_FORMAT_FLOAT_LE)
			memcpy(frame, &f, 4);
		else
			memcpy(frame, &s32, 4);
	}
}

static int marker_get(const struct ptrprobe_hw *hw, const uint8_t *frame)
{
	int16_t s16;
	int32_t s32;
	float f;

	switch (hw->format) {
	case SND_PCM_FORMAT_S16_LE:
		memcpy(&s16, frame, 2);
		return s16;
	case SND_PCM_FORMAT_S24_LE:
		memcpy(&s32, frame, 4);
		return (int32_t)((uint32_t)s32 << 8) >> 16;	/* sign-extend */
	case SND_PCM_FORMAT_S32_LE:
		memcpy(&s32, frame, 4);
		return s32 >> 16;
	case SND_PCM_FORMAT_FLOAT_LE:
		memcpy(&f, frame, 4);
		return (int)lrintf(f * 32768.0f);
	default:
		return 0;
	}
}

static bool marker_format(snd_pcm_format_t f)
{
	return f == SND_PCM_FORMAT_S16_LE || f == SND_PCM_FORMAT_S24_LE ||
	       f == SND_PCM_FORMAT_S32_LE || f == SND_PCM_FORMAT_FLOAT_LE;
}

/* What the capture end heard of one marker. A bit-exact loopback names
 * every frame; a real cable only shows loud frames, counted instead. */
struct heard {
	int64_t from, len;
	uint8_t got[PROBE_MARKER];
	int64_t exact, loud;
	int64_t elapsed;	/* frames played while the marker was made */
};

static void heard_scan(struct heard *h, const struct probe *cap, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		int v = marker_get(cap->hw, cap->buf + i * cap->hw->frame_bytes);
		int64_t f = ptrstat_marker_frame(v, h->from, h->len);

		if (f >= 0 && !h->got[f - h->from]) {
			h->got[f - h->from] = 1;
			h->exact++;
		}
		h->loud += abs(v) >= 0x2000;
	}
}

/* Reads everything the capture end has, scanning it when h is given. */
static int cap_drain(struct probe *cap, struct heard *h)
{
	snd_pcm_sframes_t a = snd_pcm_avail(cap->pcm), f;

	while (a > 0) {
		f = probe_xfer(cap, NULL, a);
		if (f <= 0)
			break;
		if (h)
			heard_scan(h, cap, f);
		a -= f;
	}
	if (a < 0 && is_xrun((int)a))
		return probe_recover(cap, (int)a, NULL);
	return a < 0 ? probe_fail(cap, "snd_pcm_avail (capture)", (int)a) : 0;
}

/* Listens until the marker's last frame arrives or its time is well
 * past: (margin + marker + FIFO) frames from now, plus 200 ms. */
static int listen(struct probe *p, struct probe *cap, struct heard *h,
		  int64_t margin)
{
	double extra = isnan(p->r->report.extra_p50) ? 0 : p->r->report.extra_p50;
	int64_t end = now_ns() + 200000000 +
		      (int64_t)((double)(margin + h->len) + fmax(extra, 0)) *
		      1000000000 / p->hw->rate;
	struct ptrstat_sample x;
	int err = 0;

	while (!err && !h->got[h->len - 1] && now_ns() < end) {
		sleep_until(now_ns() + 1000000);
		err = probe_topup(p, &x);
		if (!err)
			err = cap_drain(cap, h);
	}
	return err;
}

/* Writes the marker for frames [h->from, h->from + h->len) from the
 * scratch buffer, which holds silence again afterwards whatever happens.
 * Returns frames written or -errno. */
static snd_pcm_sframes_t write_marker(struct probe *p, const struct heard *h)
{
	snd_pcm_sframes_t f = 0;
	int64_t done = 0;

	for (int64_t i = 0; i < h->len; i++)
		marker_put(p->hw, p->buf + i * p->hw->frame_bytes,
			   ptrstat_marker_code(h->from + i));
	while (done < h->len) {
		f = probe_xfer(p, p->buf + done * p->hw->frame_bytes, h->len - done);
		if (f <= 0)
			break;
		done += f;
	}
	snd_pcm_format_set_silence(p->hw->format, p->buf,
				   (unsigned)(h->len * p->hw->channels));
	return f < 0 ? f : done;
}

/* Rewinds to `margin` frames after the pointer and writes a marker there;
 * h->elapsed: frames the card played meanwhile (rounded up). Returns 0,
 * 1 when the trial is void (slow or a short rewind), or -errno. */
static int mark(struct probe *p, int64_t margin, struct heard *h)
{
	struct ptrstat_sample a;
	int64_t t0 = now_ns(), n;
	snd_pcm_sframes_t rw, f;
	int err = probe_read(p, READ_AVAIL, &a);

	if (err < 0)
		return err;
	n = p->appl - (a.pos + margin);
	if (n < PROBE_MARKER)
		return probe_fail(p, "loopback margin (buffer too small)", -ENOSPC);
	rw = snd_pcm_rewind(p->pcm, (snd_pcm_uframes_t)n);
	if (rw < 0)
		return probe_fail(p, "snd_pcm_rewind", (int)rw);
	p->appl -= rw;
	h->from = p->appl;
	f = write_marker(p, h);
	if (f < 0)
		return probe_fail(p, "snd_pcm_writei", (int)f);
	h->elapsed = ((now_ns() - a.t_hi) * p->hw->rate + 999999999) / 1000000000;
	return f < h->len || rw != n || now_ns() - t0 > PROBE_TRIAL_NS;
}

/* With xruns off, a card whose DMA is further ahead than the marker
 * reaches leaves appl behind it (avail > buffer): move appl up to the
 * pointer so the top-ups refill the buffer. */
static int catch_up(struct probe *p)
{
	struct ptrstat_sample x;
	snd_pcm_sframes_t fw;
	int err = probe_read(p, READ_AVAIL, &x);

	if (err < 0 || x.avail <= p->hw->buffer)
		return err;
	fw = snd_pcm_forward(p->pcm, (snd_pcm_uframes_t)(x.avail - p->hw->buffer));
	if (fw < 0)
		return probe_fail(p, "snd_pcm_forward", (int)fw);
	p->appl += fw;
	return 0;
}

static int margin_trial(struct probe *p, struct probe *cap, int64_t margin,
			int64_t *lost, int64_t *elapsed)
{
	struct heard h = { .len = PROBE_MARKER };
	struct ptrstat_sample x;
	int void_trial, err = probe_topup(p, &x);

	if (!err)
		err = cap_drain(cap, NULL);
	if (err < 0)
		return err;
	void_trial = mark(p, margin, &h);
	if (void_trial < 0)
		return void_trial;
	err = catch_up(p);
	if (err < 0)
		return err;
	err = listen(p, cap, &h, margin);
	if (err < 0)
		return err;
	if (!h.exact && h.loud)
		p->r->margin.exact = false;
	*lost = h.len - (h.exact ? h.exact : (h.loud < h.len ? h.loud : h.len));
	*elapsed = h.elapsed;
	return void_trial;
}

static int margin_search(struct probe *p, struct probe *cap,
			 const struct ptrprobe_opts *o)
{
	int64_t step = o->margin_step ? o->margin_step : 16;
	int64_t max = o->margin_max ? o->margin_max : 4096;
	int64_t m, lost = 0, elapsed = 0;
	int err = 0;

	while ((m = ptrstat_margin_next(&p->r->margin, step, max)) >= 0) {
		/* a slow trial (descheduled between read and write) is void:
		 * try again, a few times */
		for (int tries = 0; tries < 4; tries++) {
			err = margin_trial(p, cap, m, &lost, &elapsed);
			if (err <= 0)
				break;
		}
		if (err < 0)
			return err;
		ptrstat_margin_add(&p->r->margin, m, lost, PROBE_MARKER, elapsed);
	}
	return 0;
}

/* Sets playback's stop threshold, returning the old one in *old. */
static int set_stop(struct probe *p, snd_pcm_uframes_t v, snd_pcm_uframes_t *old)
{
	snd_pcm_sw_params_t *sw;
	int err;

	snd_pcm_sw_params_alloca(&sw);
	err = snd_pcm_sw_params_current(p->pcm, sw);
	if (!err && old)
		err = snd_pcm_sw_params_get_stop_threshold(sw, old);
	if (!err)
		err = snd_pcm_sw_params_set_stop_threshold(p->pcm, sw, v);
	if (!err)
		err = snd_pcm_sw_params(p->pcm, sw);
	return err < 0 ? probe_fail(p, "snd_pcm_sw_params", err) : 0;
}

/* A margin of 0 rewrites right at the pointer, which leaves the buffer
 * empty: with the usual stop threshold that is an xrun. The search runs
 * with xruns off (stop threshold = boundary), as a card simply goes on
 * playing whatever the ring holds, and the old threshold is put back. */
static int margin_run(struct probe *p, struct probe *cap,
		      const struct ptrprobe_opts *o)
{
	snd_pcm_uframes_t stop = 0;
	int err = set_stop(p, (snd_pcm_uframes_t)p->hw->boundary, &stop);

	if (err < 0)
		return err;
	err = probe_restart(p);
	if (!err)
		err = probe_restart(cap);
	if (!err)
		err = margin_search(p, cap, o);
	snd_pcm_drop(p->pcm);
	snd_pcm_drop(cap->pcm);
	if (set_stop(p, stop, NULL) < 0 && !err)
		err = -EIO;
	return err;
}

static int probe_margin(struct probe *p, snd_pcm_t *cpcm,
			const struct ptrprobe_opts *o)
{
	struct ptrprobe_hw chw;
	struct probe cap;
	int err = ptrprobe_hw_read(cpcm, &chw);

	if (err < 0)
		return probe_fail(p, "snd_pcm_hw_params_current (capture)", err);
	if (!chw.capture || chw.format != p->hw->format ||
	    chw.channels != p->hw->channels || chw.rate != p->hw->rate ||
	    !marker_format(chw.format))
		return probe_fail(p, "loopback setup (capture must match playback)",
				  -EINVAL);
	err = probe_init(&cap, cpcm, &chw, p->r);
	if (!err)
		err = margin_run(p, &cap, o);
	probe_fini(&cap);
	return err;
}

/* --- stage 4: stress ------------------------------------------------------------ */

struct stress {
	struct probe *p;
	struct ptrstat_stress *s;
	uint64_t rng;
	int64_t last_pos;	/* highest pointer seen in this run */
	int64_t extra, tol;	/* expected delay beyond the fill */
};

static uint64_t stress_rand(struct stress *st)
{
	st->rng ^= st->rng << 13;
	st->rng ^= st->rng >> 7;
	st->rng ^= st->rng << 17;
	return st->rng;
}

/* One checked read: avail within the buffer, pointer not backwards, delay
 * the fill plus the FIFO found while sampling. */
static int stress_query(struct stress *st, struct ptrstat_sample *x)
{
	int err = probe_read(st->p, READ_AVAIL, x);

	st->s->queries++;
	if (err < 0)
		return err;
	if (x->avail > st->p->hw->buffer) {
		st->s->avail_over++;
		return 0;
	}
	if (x->flags & PTRSTAT_RESTART)
		st->last_pos = x->pos;
	st->s->backward += x->pos < st->last_pos;
	if (x->pos > st->last_pos)
		st->last_pos = x->pos;
	st->s->delay_bad += llabs(x->delay - fill_of(st->p, x) - st->extra) >
			    st->tol + read_frames(st->p, x);
	return 0;
}

/* A refused rewind or forward is an inconsistency (counted), not a
 * failure of the run; an xrun is recovered by the caller. */
static int refused(snd_pcm_sframes_t ret)
{
	return ret < 0 && is_xrun((int)ret) ? (int)ret : 0;
}

static int stress_forward(struct stress *st, int64_t k)
{
	snd_pcm_sframes_t fw = snd_pcm_forward(st->p->pcm, (snd_pcm_uframes_t)k);

	st->s->forwards++;
	st->s->forward_short += fw != k;
	if (fw > 0)
		st->p->appl += fw;
	return refused(fw);
}

/* Rewind a random amount within rewindable (less the keep-away), check,
 * then forward back or rewrite. */
static int stress_rewind(struct stress *st)
{
	struct ptrstat_sample x;
	int64_t keep = probe_keep(st->p), k;
	snd_pcm_sframes_t r, rw;
	int err = stress_query(st, &x);

	if (err < 0)
		return err;
	r = snd_pcm_rewindable(st->p->pcm);
	if (r <= keep)
		return refused(r);
	k = 1 + (int64_t)(stress_rand(st) % (uint64_t)(r - keep));
	rw = snd_pcm_rewind(st->p->pcm, (snd_pcm_uframes_t)k);
	st->s->rewinds++;
	st->s->rewind_short += rw != k;
	if (rw <= 0)
		return refused(rw);
	st->p->appl -= rw;
	err = stress_query(st, &x);
	if (err < 0)
		return err;
	if (stress_rand(st) & 1)
		return stress_forward(st, rw);
	return 0;	/* the next top-up rewrites it */
}

/* Forward a little over frames that already hold silence (playback) or
 * were captured (capture): harmless either way. */
static int stress_skip(struct stress *st)
{
	struct ptrstat_sample x;
	int err = stress_query(st, &x);
	snd_pcm_sframes_t f;

	if (err < 0)
		return err;
	f = snd_pcm_forwardable(st->p->pcm);
	if (f > x.avail)
		f = x.avail;
	if (f < 2 || x.avail > st->p->hw->buffer)
		return refused(f);
	return stress_forward(st, 1 + (int64_t)(stress_rand(st) % (uint64_t)(f / 2)));
}

static int stress_topup(struct stress *st)
{
	struct ptrstat_sample x;
	int err = stress_query(st, &x);

	if (!err)
		err = probe_service(st->p, x.avail, 1);
	st->s->writes++;
	return err;
}

static int stress_op(struct stress *st)
{
	struct ptrstat_sample x;

	switch (stress_rand(st) % 8) {
	case 0: case 1: case 2:
		return stress_query(st, &x);
	case 3: case 4:
		return stress_rewind(st);
	case 5:
		return stress_skip(st);
	default:
		return stress_topup(st);
	}
}

static int probe_stress(struct probe *p, unsigned ms)
{
	const struct ptrstat_report *rep = &p->r->report;
	struct stress st = { p, &p->r->stress, 0x9e3779b97f4a7c15ULL, INT64_MIN,
			     isnan(rep->extra_p50) ? 0 : llround(rep->extra_p50),
			     probe_tol(p) };
	int64_t t0 = now_ns(), end = t0 + (int64_t)ms * 1000000;
	int err;

	p->restart = true;
	while (now_ns() < end) {
		err = stress_op(&st);
		if (err < 0) {
			p->r->stress.errors++;
			err = probe_recover(p, err, NULL);
			if (err < 0)
				return probe_fail(p, "stress", err);
		}
	}
	p->r->stress.seconds = (double)(now_ns() - t0) / 1e9;
	return 0;
}

/* --- the whole run ------------------------------------------------------------ */

static int probe_analyse(struct probe *p)
{
	int err = ptrstat_analyse(&p->r->series, &p->r->report);

	return err < 0 ? probe_fail(p, "analysis (too few reads)", err) : 0;
}

static int probe_stages(struct probe *p, const struct ptrprobe_opts *o)
{
	struct ptrprobe_result *r = p->r;
	int64_t dur = (int64_t)(o->duration_ms ? o->duration_ms : PROBE_MS) * 1000000;
	int64_t step = (int64_t)(o->interval_us ? o->interval_us : PROBE_US) * 1000;
	int err = probe_restart(p);

	if (!err)
		err = probe_sample(p, dur, step);
	if (!err)
		err = probe_analyse(p);
	if (!err && o->rewinds)
		r->rewind_done = !(err = rewind_checks(p));
	if (!err && o->stress_ms)
		r->stress_done = !(err = probe_stress(p, o->stress_ms));
	if (!err && o->loop_capture && !p->hw->capture)
		r->margin_done = !(err = probe_margin(p, o->loop_capture, o));
	return err;
}

static size_t series_cap(const struct ptrprobe_opts *o)
{
	uint64_t ms = o->duration_ms ? o->duration_ms : PROBE_MS;
	uint64_t us = o->interval_us ? o->interval_us : PROBE_US;

	return (size_t)(ms * 1000 / us + 1024);
}

static void probe_judge(struct ptrprobe_result *r)
{
	ptrstat_judge(&r->report, r->hw.rate, r->hw.buffer, r->hw.frame_bytes,
		      r->rewind_done ? &r->rewind : NULL,
		      r->margin_done ? &r->margin : NULL,
		      r->stress_done ? &r->stress : NULL, &r->verdict);
}

int ptrprobe_run(snd_pcm_t *pcm, const struct ptrprobe_opts *o,
		 struct ptrprobe_result *r)
{
	struct probe p;
	int err;

	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	ptrstat_margin_init(&r->margin);
	err = ptrprobe_hw_read(pcm, &r->hw);
	if (err < 0) {
		r->failed = "snd_pcm_hw_params_current";
		return err;
	}
	err = ptrstat_series_init(&r->series, series_cap(o));
	r->series.rate = r->hw.rate;
	r->series.buffer = r->hw.buffer;
	r->series.period = r->hw.period;
	r->series.capture = r->hw.capture;
	if (!err)
		err = probe_init(&p, pcm, &r->hw, r);
	if (!err)
		err = probe_stages(&p, o);
	if (!err)
		probe_judge(r);
	snd_pcm_drop(pcm);
	probe_fini(&p);
	return err;
}

void ptrprobe_result_free(struct ptrprobe_result *r)
{
	ptrstat_series_free(&r->series);
}

/* --- opening a PCM the way lulld does ------------------------------------------ */

/* Notes the first failing call; some hw_params calls return a positive
 * count on success. */
static int open_step(int err, const char *call, const char **what)
{
	if (err >= 0)
		return 0;
	if (!*what)
		*what = call;
	return err;
}

/* The given format, or the best: float (no conversion, headroom), then
 * the widest integer. */
static int open_format(snd_pcm_t *pcm, snd_pcm_hw_params_t *hp,
		       snd_pcm_format_t want, const char **what)
{
	static const snd_pcm_format_t best[] = {
		SND_PCM_FORMAT_FLOAT_LE, SND_PCM_FORMAT_S32_LE,
		SND_PCM_FORMAT_S24_LE, SND_PCM_FORMAT_S16_LE,
	};

	if (want != SND_PCM_FORMAT_UNKNOWN)
		return open_step(snd_pcm_hw_params_set_format(pcm, hp, want),
				 "snd_pcm_hw_params_set_format", what);
	for (size_t i = 0; i < sizeof best / sizeof best[0]; i++)
		if (snd_pcm_hw_params_test_format(pcm, hp, best[i]) == 0)
			return open_step(snd_pcm_hw_params_set_format(pcm, hp, best[i]),
					 "snd_pcm_hw_params_set_format", what);
	return open_step(-EINVAL, "snd_pcm_hw_params_set_format", what);
}

static int open_hw(snd_pcm_t *pcm, const struct ptrprobe_setup *s,
		   const char **what)
{
	snd_pcm_hw_params_t *hp;
	unsigned rate = s->rate, channels = s->channels;
	unsigned us = s->buffer_ms * 1000, periods = 2;
	int err;

	snd_pcm_hw_params_alloca(&hp);
	err = open_step(snd_pcm_hw_params_any(pcm, hp), "snd_pcm_hw_params_any", what);
	if (!err && snd_pcm_hw_params_set_access(pcm, hp, SND_PCM_ACCESS_MMAP_INTERLEAVED) < 0)
		err = open_step(snd_pcm_hw_params_set_access(pcm, hp,
				SND_PCM_ACCESS_RW_INTERLEAVED),
				"snd_pcm_hw_params_set_access", what);
	if (!err)
		err = open_format(pcm, hp, s->format, what);
	if (!err)
		err = open_step(snd_pcm_hw_params_set_rate_near(pcm, hp, &rate, NULL),
				"snd_pcm_hw_params_set_rate_near", what);
	if (!err)
		err = open_step(snd_pcm_hw_params_set_channels_near(pcm, hp, &channels),
				"snd_pcm_hw_params_set_channels_near", what);
	if (!err)
		err = open_step(snd_pcm_hw_params_set_buffer_time_near(pcm, hp, &us, NULL),
				"snd_pcm_hw_params_set_buffer_time_near", what);
	if (!err) {
		snd_pcm_hw_params_set_periods_near(pcm, hp, &periods, NULL);
		err = open_step(snd_pcm_hw_params(pcm, hp), "snd_pcm_hw_params", what);
	}
	return err;
}

int ptrprobe_sw(snd_pcm_t *pcm, const char **what)
{
	snd_pcm_sw_params_t *sw;
	snd_pcm_uframes_t boundary, buffer, period;
	int err;

	snd_pcm_sw_params_alloca(&sw);
	err = open_step(snd_pcm_get_params(pcm, &buffer, &period),
			"snd_pcm_get_params", what);
	if (!err)
		err = open_step(snd_pcm_sw_params_current(pcm, sw),
				"snd_pcm_sw_params_current", what);
	if (!err)
		err = open_step(snd_pcm_sw_params_get_boundary(sw, &boundary),
				"snd_pcm_sw_params_get_boundary", what);
	if (err)
		return err;
	snd_pcm_sw_params_set_start_threshold(pcm, sw, boundary);
	snd_pcm_sw_params_set_stop_threshold(pcm, sw, buffer);
	snd_pcm_sw_params_set_avail_min(pcm, sw, buffer);
	snd_pcm_sw_params_set_period_event(pcm, sw, 0);
	snd_pcm_sw_params_set_tstamp_mode(pcm, sw, SND_PCM_TSTAMP_ENABLE);
	snd_pcm_sw_params_set_tstamp_type(pcm, sw, SND_PCM_TSTAMP_TYPE_MONOTONIC);
	return open_step(snd_pcm_sw_params(pcm, sw), "snd_pcm_sw_params", what);
}

int ptrprobe_open(snd_pcm_t **pcm, const char *name, snd_pcm_stream_t dir,
		  const struct ptrprobe_setup *s, const char **what)
{
	int err;

	*what = NULL;
	err = open_step(snd_pcm_open(pcm, name, dir, SND_PCM_NONBLOCK),
			"snd_pcm_open", what);
	if (err)
		return err;
	err = open_hw(*pcm, s, what);
	if (!err)
		err = ptrprobe_sw(*pcm, what);
	if (err) {
		snd_pcm_close(*pcm);
		*pcm = NULL;
	}
	return err;
}
