/* lullsim: the simulated sound card, an ALSA ioplug PCM.
 *
 * There is no thread by default: the "hardware" is caught up to
 * CLOCK_MONOTONIC in every callback (simcard_sync). Between callbacks an
 * application cannot change what the DMA would have read, except by a
 * rewind, which the next callback sees before any rewritten data arrives
 * (alsa-lib reads the pointer before copying); so lazy is exact. The one
 * exception is the loopback, whose reader in another process cannot wait
 * for our next callback: with LOOP set, a thread catches up every 1 ms.
 *
 * Positions are 64-bit frame counts since prepare. ALSA's own pointers run
 * modulo its boundary; we report ours modulo that too (BOUNDARY_WA).
 *
 *   playback:  played/hw        appl (application's write position)
 *        ------|================|---------
 *              DMA moves right ->   avail = hw + buffer - appl
 *   xrun when avail >= stop_threshold, i.e. hw >= appl + stop - buffer.
 *
 * Bad hardware, beyond the pointer's imperfections (simclock.h), the
 * jump and the xrun injection:
 *   NOREWIND=1   the DMA latches every frame as soon as it is written, so
 *                a rewind is never heard (each is logged with late = all
 *                of it). ioplug answers rewindable/rewind itself, without
 *                asking the plugin, so alsa-lib cannot be made to refuse;
 *                this is the card that cannot be trusted to rewind.
 *   SUSPEND=ms   every ms of running the card suspends (power
 *                management): the state is SUSPENDED, delay and the
 *                transfer calls answer -ESTRPIPE, the pointer stands
 *                still. Logged "suspend t_ns=T frame=F".
 *   RESUME=yes|no  yes (default): snd_pcm_resume plays on where it
 *                stopped, buffer intact ("resume t_ns=T frame=F");
 *                no: no resume callback, so ioplug answers 0 but the card
 *                stays suspended until prepared (as -ENOSYS asks).
 *   FAIL=ms      FAIL ms after the handle first started, it fails for
 *                good: -ENODEV (state DISCONNECTED) or, with FAILERR=io,
 *                -EIO from delay, start and prepare. Logged "fail t_ns=T
 *                frame=F error=ENODEV|EIO". A new handle works (until its
 *                own FAIL ms).
 *   APPEND=1     a new handle keeps what an earlier one wrote to OUT and
 *                EVENTS (OUT is rewritten with the old frames first): a
 *                card reopened by its application carries on in the same
 *                files, each run with its own start line.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <alsa/asoundlib.h>
#include <alsa/pcm_external.h>

#include "core/fmt.h"
#include "core/wav.h"
#include "tools/simcard/simair.h"
#include "tools/simcard/simclock.h"
#include "tools/simcard/simdac.h"
#include "tools/simcard/simlog.h"
#include "tools/simcard/simopt.h"
#include "tools/simcard/simsrc.h"

#define SIMCARD_TICK_NS 1000000		/* loopback thread period */
#define SIMCARD_MIN_REARM_NS 200000	/* poll re-check while not ready */

struct simcard {
	snd_pcm_ioplug_t io;
	struct simopt opt;
	pthread_mutex_t lock;
	int timerfd;

	unsigned rate, channels;
	enum fmt fmt;
	uint64_t buffer, period, boundary;
	uint64_t avail_min, stop_threshold;
	int configured;

	struct simclock clock;
	struct simdac *dac;
	struct simsrc *src;
	struct simair *air;
	struct wav_writer *wav;
	struct simlog *log;

	uint64_t hw;		/* true DMA position */
	uint64_t appl;		/* application position as last seen */
	snd_pcm_uframes_t appl_seen;
	int running, xrun;
	uint64_t captured;	/* frames captured since open: sine phase */
	uint64_t run_base;	/* captured at prepare */
	int64_t next_xrun;	/* ns; 0: none scheduled */
	int64_t next_suspend;	/* ns; 0: none scheduled */
	int suspended;		/* SUSPEND: until resumed or prepared */
	int64_t fail_at;	/* ns; 0: none scheduled */
	int fail_armed;		/* FAIL is scheduled once per handle */
	int failed;		/* -errno once failed: for good */

	pthread_t thread;
	int thread_on;
	atomic_int quit;
};

static int64_t simcard_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int simcard_playback(const struct simcard *sc)
{
	return sc->io.stream == SND_PCM_STREAM_PLAYBACK;
}

static const uint8_t *simcard_ring(struct simcard *sc)
{
	const snd_pcm_channel_area_t *a = snd_pcm_ioplug_mmap_areas(&sc->io);

	return a ? (const uint8_t *)a[0].addr + a[0].first / 8 : NULL;
}

/* --- the hardware ---------------------------------------------------------- */

/* Capture: fill the ring up to h with whatever the input hears. */
static void simcard_capture_to(struct simcard *sc, uint64_t h)
{
	uint8_t *ring = (uint8_t *)simcard_ring(sc);
	size_t fb = fmt_bytes(sc->fmt) * sc->channels;

	if (h > sc->hw)
		h = sc->hw + simsrc_ready(sc->src, &sc->clock, sc->hw, h - sc->hw);
	while (ring && sc->hw < h) {
		uint64_t off = sc->hw % sc->buffer;
		uint64_t n = h - sc->hw;
		if (n > sc->buffer - off)
			n = sc->buffer - off;
		simsrc_fill(sc->src, &sc->clock, sc->run_base + sc->hw, sc->hw,
			    ring + off * fb, n);
		sc->hw += n;
	}
	sc->captured = sc->run_base + sc->hw;
}

/* Moves the hardware to position h. */
static void simcard_run_to(struct simcard *sc, uint64_t h)
{
	const uint8_t *ring = simcard_ring(sc);

	if (!simcard_playback(sc)) {
		simcard_capture_to(sc, h);
		return;
	}
	if (ring && h > sc->hw)
		simdac_run(sc->dac, ring, h, &sc->clock);
	if (h > sc->hw)
		sc->hw = h;
}

/* Position at which the stream must stop with an xrun: the buffer ran
 * empty (playback) or full (capture) up to stop_threshold, or an injected
 * xrun is due. UINT64_MAX when neither can happen. */
static uint64_t simcard_xrun_point(struct simcard *sc, uint64_t appl)
{
	uint64_t x = UINT64_MAX;

	if (sc->stop_threshold < sc->boundary) {
		if (simcard_playback(sc))
			x = appl + sc->stop_threshold > sc->buffer ?
			    appl + sc->stop_threshold - sc->buffer : 0;
		else
			x = appl + sc->stop_threshold;
	}
	if (sc->next_xrun) {
		uint64_t inj = simclock_pos(&sc->clock, sc->next_xrun);
		if (inj < x)
			x = inj;
	}
	return x;
}

static void simcard_log_frame(struct simcard *sc, const char *ev, int64_t t)
{
	uint64_t f = simcard_playback(sc) ? simdac_total(sc->dac) : sc->captured;

	simlog_printf(sc->log, "%s t_ns=%lld frame=%llu", ev, (long long)t,
		      (unsigned long long)f);
}

static void simcard_halt(struct simcard *sc)
{
	sc->running = 0;
	simclock_stop(&sc->clock, sc->hw);
	if (simcard_playback(sc))
		simdac_stop(sc->dac, sc->hw);
	sc->next_xrun = 0;
	sc->next_suspend = 0;
}

static void simcard_do_xrun(struct simcard *sc, uint64_t x)
{
	simcard_run_to(sc, x);
	simcard_log_frame(sc, "xrun", simclock_when(&sc->clock, x));
	simcard_halt(sc);
	sc->xrun = 1;
	/* As a kernel driver would: the state changes when the hardware
	 * stops, not when the application next reads the pointer (alsa-lib
	 * asks the state when poll reports POLLERR). */
	snd_pcm_ioplug_set_state(&sc->io, SND_PCM_STATE_XRUN);
}

static int simcard_draining(const struct simcard *sc)
{
	return sc->io.state == SND_PCM_STATE_DRAINING && simcard_playback(sc);
}

/* A drain ends when the last written frame has played: the card stops
 * there, which is not an xrun. */
static void simcard_drained(struct simcard *sc)
{
	int64_t t = simclock_when(&sc->clock, sc->appl);

	simcard_run_to(sc, sc->appl);
	simcard_halt(sc);
	simlog_printf(sc->log, "stop t_ns=%lld frame=%llu drained=1",
		      (long long)t, (unsigned long long)simdac_total(sc->dac));
}

/* The application's position, widened to 64 bits: ALSA's appl_ptr runs
 * modulo the boundary, and moves back by at most a buffer (a rewind). */
static uint64_t simcard_appl_now(struct simcard *sc)
{
	snd_pcm_uframes_t now = sc->io.appl_ptr;
	uint64_t b = sc->boundary ? sc->boundary : UINT64_MAX;
	uint64_t d = ((uint64_t)now + b - sc->appl_seen) % b;

	sc->appl_seen = now;
	return d > b / 2 ? sc->appl - (b - d) : sc->appl + d;
}

/* A rewind is only seen now, after it happened: the DMA has just been
 * caught up with the old contents, so whatever it fetched is heard as it
 * was, and the rewind "came too late" for those frames. */
static void simcard_note_rewind(struct simcard *sc, uint64_t from, uint64_t to,
				int64_t now)
{
	uint64_t fetched = simcard_playback(sc) ? simdac_fetched(sc->dac) : sc->hw;
	uint64_t late = fetched > to ? (fetched < from ? fetched : from) - to : 0;

	simlog_printf(sc->log, "rewind t_ns=%lld frames=%llu margin=%lld late=%llu",
		      (long long)now, (unsigned long long)(from - to),
		      (long long)(to - sc->hw), (unsigned long long)late);
}

static void simcard_schedule_xrun(struct simcard *sc, int64_t now)
{
	while (sc->next_xrun && sc->next_xrun <= now)
		sc->next_xrun += (int64_t)sc->opt.xrun_ms * 1000000;
}

/* Catches the hardware up to time now. Called with the lock held. */
static void simcard_sync_to(struct simcard *sc, int64_t now)
{
	uint64_t appl = simcard_appl_now(sc);
	uint64_t target, x;

	if (sc->running) {
		/* Until now the DMA ran against the larger of the two positions:
		 * writes land right after the previous callback, rewinds at an
		 * unknown moment (assume as late as possible). */
		target = simclock_pos(&sc->clock, now);
		x = simcard_xrun_point(sc, appl > sc->appl ? appl : sc->appl);
		if (simcard_draining(sc) && sc->appl <= target) {
			simcard_drained(sc);
		} else if (x <= target) {
			simcard_do_xrun(sc, x > sc->hw ? x : sc->hw);
		} else {
			simcard_run_to(sc, target);
			simcard_schedule_xrun(sc, now);
		}
	}
	if (appl < sc->appl)
		simcard_note_rewind(sc, sc->appl, appl, now);
	sc->appl = appl;
	if (sc->running && !simcard_draining(sc) &&
	    simcard_xrun_point(sc, appl) <= sc->hw)
		simcard_do_xrun(sc, sc->hw);
	if (sc->air && simcard_playback(sc)) {
		int64_t t = simclock_when(&sc->clock, sc->hw + sc->opt.fifo);
		simair_publish(sc->air, (uint64_t)((unsigned __int128)(uint64_t)t *
				       sc->rate / 1000000000u), sc->running);
	}
	if (simcard_playback(sc) && sc->opt.norewind && simcard_ring(sc))
		simdac_latch(sc->dac, simcard_ring(sc), sc->appl);
}

/* SUSPEND and FAIL: the next one due while running (0: none). */
static int64_t simcard_fault_time(const struct simcard *sc)
{
	int64_t t = sc->next_suspend;

	if (sc->fail_at && (!t || sc->fail_at < t))
		t = sc->fail_at;
	return sc->running ? t : 0;
}

static const char *simcard_errname(int err)
{
	return err == -ENODEV ? "ENODEV" : err == -EIO ? "EIO" : "other";
}

/* The card stops at t, as a kernel driver's would: suspended (the state
 * says so; -ESTRPIPE until resumed or prepared), or failed for good
 * (-ENODEV or -EIO from then on; disconnected for ENODEV). The pointer
 * keeps reading where it stopped: ioplug turns a pointer error into an
 * xrun, so the errors come from delay, start and prepare. */
static void simcard_fault(struct simcard *sc, int64_t t)
{
	int fail = sc->fail_at && t >= sc->fail_at;

	simcard_halt(sc);
	if (fail) {
		sc->failed = -sc->opt.fail_err;
		sc->fail_at = 0;
		simlog_printf(sc->log, "fail t_ns=%lld frame=%llu error=%s", (long long)t,
			      (unsigned long long)simdac_total(sc->dac),
			      simcard_errname(sc->failed));
		if (sc->failed == -ENODEV)
			snd_pcm_ioplug_set_state(&sc->io, SND_PCM_STATE_DISCONNECTED);
		return;
	}
	sc->suspended = 1;
	simcard_log_frame(sc, "suspend", t);
	snd_pcm_ioplug_set_state(&sc->io, SND_PCM_STATE_SUSPENDED);
}

static void simcard_sync(struct simcard *sc, int64_t now)
{
	int64_t t = simcard_fault_time(sc);

	if (t && t <= now && simcard_playback(sc)) {
		simcard_sync_to(sc, t);
		if (sc->running)	/* an xrun may have come first */
			simcard_fault(sc, t);
	}
	simcard_sync_to(sc, now);
}

/* SUSPEND and FAIL count from a start (FAIL from the handle's first). */
static void simcard_schedule_faults(struct simcard *sc, int64_t now)
{
	sc->next_suspend = sc->opt.suspend_ms ?
			   now + (int64_t)sc->opt.suspend_ms * 1000000 : 0;
	if (sc->opt.fail_ms && !sc->fail_armed) {
		sc->fail_at = now + (int64_t)sc->opt.fail_ms * 1000000;
		sc->fail_armed = 1;
	}
}

/* What the pointer register reads. Capture never reports frames that are
 * not in the ring yet (the loopback may lag the clock). */
static uint64_t simcard_report(struct simcard *sc, int64_t now)
{
	uint64_t r = simclock_report(&sc->clock, now);

	if (!simcard_playback(sc) && r > sc->hw)
		r = sc->hw - sc->hw % sc->clock.cfg.granularity;
	return r;
}

/* --- poll: a one-shot timer at the first moment the PCM is ready ---------- */

/* Frame the hardware must reach before poll reports ready, or 0 for "now". */
static uint64_t simcard_ready_frame(struct simcard *sc)
{
	uint64_t f, p = sc->period ? sc->period : 1, g = sc->clock.cfg.granularity;

	if (sc->xrun || !sc->running)
		return 0;
	if (sc->io.state == SND_PCM_STATE_DRAINING)
		f = sc->appl;
	else if (simcard_playback(sc))
		f = sc->appl + sc->avail_min > sc->buffer ?
		    sc->appl + sc->avail_min - sc->buffer : 0;
	else
		f = sc->appl + sc->avail_min;
	if (sc->io.state != SND_PCM_STATE_DRAINING)
		f = (f + p - 1) / p * p;	/* interrupts come per period */
	return (f + g - 1) / g * g;
}

static int simcard_ready(struct simcard *sc, int64_t now)
{
	uint64_t f = simcard_ready_frame(sc);

	return f == 0 || simclock_pos(&sc->clock, now) >= f;
}

static void simcard_arm(struct simcard *sc, int64_t now, int64_t min_delay)
{
	uint64_t f = simcard_ready_frame(sc);
	int64_t t = f ? simclock_when(&sc->clock, f) : now;
	struct itimerspec its = { 0 };

	if (t < now + min_delay)
		t = now + min_delay;
	if (t <= 0)
		t = 1;
	its.it_value.tv_sec = t / 1000000000;
	its.it_value.tv_nsec = t % 1000000000;
	timerfd_settime(sc->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int simcard_poll_count(snd_pcm_ioplug_t *io)
{
	(void)io;
	return 1;
}

static int simcard_poll_descriptors(snd_pcm_ioplug_t *io, struct pollfd *pfd,
				    unsigned int space)
{
	struct simcard *sc = io->private_data;
	int64_t now = simcard_now();

	if (space < 1)
		return -EINVAL;
	pthread_mutex_lock(&sc->lock);
	simcard_sync(sc, now);
	simcard_arm(sc, now, 0);
	pthread_mutex_unlock(&sc->lock);
	pfd->fd = sc->timerfd;
	pfd->events = POLLIN;
	pfd->revents = 0;
	return 1;
}

static int simcard_poll_revents(snd_pcm_ioplug_t *io, struct pollfd *pfd,
				unsigned int nfds, unsigned short *revents)
{
	struct simcard *sc = io->private_data;
	int64_t now = simcard_now();
	uint64_t expirations;
	unsigned short ev = 0;

	if (nfds < 1)
		return -EINVAL;
	if (pfd->revents & POLLIN) {
		if (read(sc->timerfd, &expirations, sizeof expirations) < 0)
			expirations = 0;
	}
	pthread_mutex_lock(&sc->lock);
	simcard_sync(sc, now);
	if (sc->xrun || sc->suspended || sc->failed)
		ev = POLLERR;
	else if (simcard_ready(sc, now))
		ev = simcard_playback(sc) ? POLLOUT : POLLIN;
	/* Not ready (a coarse, jittery or stalled pointer lags the clock):
	 * look again shortly rather than spinning. */
	simcard_arm(sc, now, ev ? 0 : SIMCARD_MIN_REARM_NS);
	pthread_mutex_unlock(&sc->lock);
	*revents = ev;
	return 0;
}

/* --- ioplug callbacks ------------------------------------------------------- */

static snd_pcm_sframes_t simcard_pointer(snd_pcm_ioplug_t *io)
{
	struct simcard *sc = io->private_data;
	int64_t now = simcard_now();
	uint64_t r;

	pthread_mutex_lock(&sc->lock);
	simcard_sync(sc, now);
	if (sc->xrun) {
		pthread_mutex_unlock(&sc->lock);
		return -EPIPE;
	}
	r = simcard_report(sc, now);
	pthread_mutex_unlock(&sc->lock);
	return (snd_pcm_sframes_t)(r % sc->boundary);
}

static snd_pcm_sframes_t simcard_transfer(snd_pcm_ioplug_t *io,
					  const snd_pcm_channel_area_t *areas,
					  snd_pcm_uframes_t offset,
					  snd_pcm_uframes_t size)
{
	struct simcard *sc = io->private_data;

	(void)areas;
	(void)offset;
	/* mmap_rw: the data is already in our ring; only catch up. */
	pthread_mutex_lock(&sc->lock);
	simcard_sync(sc, simcard_now());
	pthread_mutex_unlock(&sc->lock);
	return (snd_pcm_sframes_t)size;
}

static int simcard_delay(snd_pcm_ioplug_t *io, snd_pcm_sframes_t *delayp)
{
	struct simcard *sc = io->private_data;
	int64_t now = simcard_now();
	int64_t d;

	pthread_mutex_lock(&sc->lock);
	simcard_sync(sc, now);
	if (sc->xrun || sc->suspended || sc->failed) {
		pthread_mutex_unlock(&sc->lock);
		return sc->failed ? sc->failed : sc->suspended ? -ESTRPIPE : -EPIPE;
	}
	/* Capture: frames already sampled but not in the ring yet (the
	 * loopback lags the clock) are on their way, as in a FIFO: the delay
	 * counts them, so it always tells when the ADC sampled what. */
	d = simcard_playback(sc) ? (int64_t)(sc->appl - simcard_report(sc, now)) :
				   (int64_t)(simclock_report(&sc->clock, now) - sc->appl);
	*delayp = (snd_pcm_sframes_t)(d + (int64_t)sc->opt.fifo);
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

static int simcard_start(snd_pcm_ioplug_t *io)
{
	struct simcard *sc = io->private_data;
	int64_t now = simcard_now();

	pthread_mutex_lock(&sc->lock);
	simcard_sync(sc, now);
	if (sc->failed) {
		pthread_mutex_unlock(&sc->lock);
		return sc->failed;
	}
	simclock_start(&sc->clock, now, sc->hw);
	sc->running = 1;
	sc->next_xrun = sc->opt.xrun_ms ? now + (int64_t)sc->opt.xrun_ms * 1000000 : 0;
	if (simcard_playback(sc))
		simcard_schedule_faults(sc, now);
	simcard_log_frame(sc, "start", now);
	simcard_arm(sc, now, 0);
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

static int simcard_stop(snd_pcm_ioplug_t *io)
{
	struct simcard *sc = io->private_data;
	int64_t now = simcard_now();

	pthread_mutex_lock(&sc->lock);
	simcard_sync(sc, now);
	if (sc->running) {
		simcard_halt(sc);
		simcard_log_frame(sc, "stop", now);
	}
	simcard_sync(sc, now);
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

static int simcard_pause(snd_pcm_ioplug_t *io, int enable)
{
	struct simcard *sc = io->private_data;
	int64_t now = simcard_now();

	pthread_mutex_lock(&sc->lock);
	simcard_sync(sc, now);
	if (enable && sc->running) {
		sc->running = 0;
		simclock_stop(&sc->clock, sc->hw);
		simcard_log_frame(sc, "pause", now);
	} else if (!enable && !sc->running && !sc->xrun) {
		simclock_start(&sc->clock, now, sc->hw);
		sc->running = 1;
		simcard_log_frame(sc, "resume", now);
	}
	simcard_arm(sc, now, 0);
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

/* RESUME=yes: the card plays on where it was suspended, its buffer as it
 * was. (With RESUME=no there is no resume callback: ioplug then answers
 * snd_pcm_resume with 0 but the card stays suspended until prepared.) */
static int simcard_resume(snd_pcm_ioplug_t *io)
{
	struct simcard *sc = io->private_data;
	int64_t now = simcard_now();

	pthread_mutex_lock(&sc->lock);
	simcard_sync(sc, now);
	if (sc->suspended && !sc->failed) {
		sc->suspended = 0;
		simclock_start(&sc->clock, now, sc->hw);
		sc->running = 1;
		sc->next_xrun = sc->opt.xrun_ms ?
				now + (int64_t)sc->opt.xrun_ms * 1000000 : 0;
		simcard_schedule_faults(sc, now);
		simcard_log_frame(sc, "resume", now);
		snd_pcm_ioplug_set_state(io, SND_PCM_STATE_RUNNING);
		simcard_arm(sc, now, 0);
	}
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

static int simcard_prepare(snd_pcm_ioplug_t *io)
{
	struct simcard *sc = io->private_data;
	int64_t now = simcard_now();

	pthread_mutex_lock(&sc->lock);
	if (sc->failed) {
		pthread_mutex_unlock(&sc->lock);
		return sc->failed;
	}
	if (sc->running) {
		simcard_sync(sc, now);
		simcard_halt(sc);
		simcard_log_frame(sc, "stop", now);
	}
	sc->run_base = sc->captured;
	sc->xrun = 0;
	sc->suspended = 0;
	sc->hw = sc->appl = 0;
	sc->appl_seen = io->appl_ptr;
	simclock_start(&sc->clock, now, 0);
	simclock_stop(&sc->clock, 0);
	if (sc->dac)
		simdac_reset(sc->dac, 0);
	simcard_arm(sc, now, 0);
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

/* --- configuration ----------------------------------------------------------- */

static int simcard_fmt(snd_pcm_format_t f, enum fmt *out)
{
	switch (f) {
	case SND_PCM_FORMAT_S16_LE: *out = FMT_S16; return 0;
	case SND_PCM_FORMAT_S24_LE: *out = FMT_S24; return 0;
	case SND_PCM_FORMAT_S32_LE: *out = FMT_S32; return 0;
	case SND_PCM_FORMAT_FLOAT_LE: *out = FMT_FLOAT; return 0;
	default: return -EINVAL;
	}
}

static void simcard_unconfigure(struct simcard *sc)
{
	simdac_free(sc->dac);
	simsrc_close(sc->src);
	wav_writer_close(sc->wav);
	sc->dac = NULL;
	sc->src = NULL;
	sc->wav = NULL;
	sc->configured = 0;
}

static void simcard_init_clock(struct simcard *sc)
{
	struct simclock_cfg c = {
		.rate = sc->rate,
		.drift_ppm = sc->opt.drift_ppm,
		.granularity = sc->opt.granularity == SIMOPT_GRAN_PERIOD ?
			       sc->period : sc->opt.granularity,
		.jitter_us = sc->opt.jitter_us,
		.seed = sc->opt.seed,
		.stall_ms = sc->opt.stall_ms,
		.stall_every_ms = sc->opt.stall_every_ms,
		.jump_every_ms = sc->opt.jump_ms,
		.jump_frames = sc->opt.jump_frames ? sc->opt.jump_frames : 2 * sc->buffer,
	};

	simclock_init(&sc->clock, &c);
}

/* APPEND: what an earlier handle left in OUT, if it has our format, read
 * back whole (a test's few seconds), to be written again at the start of
 * the new file. Returns the frames, or 0 with *data NULL. */
static uint64_t simcard_old_wav(const char *path, const struct wav_info *wi,
				void **data)
{
	struct wav_reader *r;
	const struct wav_info *ri;
	size_t fb = fmt_bytes(wi->fmt) * wi->channels;
	ssize_t n = 0;

	*data = NULL;
	if (wav_reader_open(&r, path) < 0)
		return 0;
	ri = wav_reader_info(r);
	if (ri->fmt == wi->fmt && ri->rate == wi->rate && ri->channels == wi->channels &&
	    ri->frames > 0 && (*data = malloc(ri->frames * fb)))
		n = wav_reader_read(r, *data, ri->frames);
	wav_reader_close(r);
	if (n <= 0) {
		free(*data);
		*data = NULL;
		return 0;
	}
	return (uint64_t)n;
}

/* OUT, new; with APPEND it starts with the earlier handle's frames, so a
 * card reopened by its application carries on in the same file (a new
 * run: its start line says at which WAV frame). */
static int simcard_open_wav(struct simcard *sc, const struct wav_info *wi,
			    uint64_t *first)
{
	void *old = NULL;
	uint64_t n = sc->opt.append ? simcard_old_wav(sc->opt.out, wi, &old) : 0;
	int err = wav_writer_open(&sc->wav, sc->opt.out, wi);

	if (!err && n)
		err = wav_writer_write(sc->wav, old, n);
	free(old);
	*first = err ? 0 : n;
	return err;
}

/* The DMA cannot fetch further ahead than half the ring and still leave
 * the application room to write (NOREWIND: it takes what is written, no
 * further, so it never reads ahead of the application at all). */
static int simcard_make_playback(struct simcard *sc)
{
	struct simdac_cfg c = {
		.rate = sc->rate, .channels = sc->channels, .fmt = sc->fmt,
		.buffer = sc->buffer, .fifo = sc->opt.fifo,
		.prefetch = sc->opt.norewind ? sc->buffer :
			    sc->opt.prefetch < sc->buffer / 2 ?
			    sc->opt.prefetch : sc->buffer / 2,
		.latch_all = sc->opt.norewind,
	};
	struct wav_info wi = { .fmt = sc->fmt, .rate = sc->rate,
			       .channels = sc->channels };
	struct simair_geom g = { .rate = sc->rate, .channels = sc->channels,
				 .fmt = sc->fmt };
	int err;

	if (sc->opt.out && *sc->opt.out) {
		err = simcard_open_wav(sc, &wi, &c.first);
		if (err) {
			SNDERR("lullsim: cannot write %s: %s", sc->opt.out, strerror(-err));
			return err;
		}
	}
	if (sc->opt.loop && !sc->air) {
		err = simair_create(&sc->air, sc->opt.loop, &g);
		if (err) {
			SNDERR("lullsim: loopback %s: %s", sc->opt.loop, strerror(-err));
			return err;
		}
	}
	return simdac_new(&sc->dac, &c, sc->wav, sc->air);
}

static int simcard_make_capture(struct simcard *sc)
{
	int err = simsrc_open(&sc->src, &sc->opt.src, sc->rate, sc->channels,
			      sc->fmt);

	if (err)
		SNDERR("lullsim: capture source: %s", strerror(-err));
	return err;
}

static void simcard_log_open(struct simcard *sc)
{
	simlog_printf(sc->log, "open stream=%s rate=%u channels=%u format=%s "
		      "buffer=%llu period=%llu granularity=%llu prefetch=%llu "
		      "fifo=%llu drift_ppm=%g jitter_us=%u",
		      simcard_playback(sc) ? "playback" : "capture", sc->rate,
		      sc->channels, fmt_name(sc->fmt),
		      (unsigned long long)sc->buffer, (unsigned long long)sc->period,
		      (unsigned long long)sc->clock.cfg.granularity,
		      (unsigned long long)(sc->dac ? (sc->opt.prefetch < sc->buffer / 2 ?
				sc->opt.prefetch : sc->buffer / 2) : 0),
		      (unsigned long long)sc->opt.fifo, sc->opt.drift_ppm,
		      sc->opt.jitter_us);
}

static void *simcard_loop_thread(void *arg);

static int simcard_hw_params(snd_pcm_ioplug_t *io, snd_pcm_hw_params_t *params)
{
	struct simcard *sc = io->private_data;
	enum fmt f;
	int err;

	(void)params;
	if (simcard_fmt(io->format, &f) < 0)
		return -EINVAL;
	pthread_mutex_lock(&sc->lock);
	simcard_unconfigure(sc);
	sc->fmt = f;
	sc->rate = io->rate;
	sc->channels = io->channels;
	sc->buffer = io->buffer_size;
	sc->period = io->period_size;
	simcard_init_clock(sc);
	err = simcard_playback(sc) ? simcard_make_playback(sc) :
				     simcard_make_capture(sc);
	if (!err) {
		sc->configured = 1;
		simcard_log_open(sc);
	}
	if (!err && sc->air && !sc->thread_on &&
	    pthread_create(&sc->thread, NULL, simcard_loop_thread, sc) == 0)
		sc->thread_on = 1;
	pthread_mutex_unlock(&sc->lock);
	return err;
}

static int simcard_sw_params(snd_pcm_ioplug_t *io, snd_pcm_sw_params_t *params)
{
	struct simcard *sc = io->private_data;
	snd_pcm_uframes_t v;

	pthread_mutex_lock(&sc->lock);
	if (snd_pcm_sw_params_get_boundary(params, &v) == 0)
		sc->boundary = v;
	if (snd_pcm_sw_params_get_avail_min(params, &v) == 0)
		sc->avail_min = v ? v : 1;
	if (snd_pcm_sw_params_get_stop_threshold(params, &v) == 0)
		sc->stop_threshold = v;
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

/* Loopback only: keep the air current for readers in other processes. */
static void *simcard_loop_thread(void *arg)
{
	struct simcard *sc = arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load(&sc->quit)) {
		next.tv_nsec += SIMCARD_TICK_NS;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		pthread_mutex_lock(&sc->lock);
		if (sc->configured)
			simcard_sync(sc, simcard_now());
		pthread_mutex_unlock(&sc->lock);
	}
	return NULL;
}

static int simcard_close(snd_pcm_ioplug_t *io)
{
	struct simcard *sc = io->private_data;
	int64_t now = simcard_now();

	if (sc->thread_on) {
		atomic_store(&sc->quit, 1);
		pthread_join(sc->thread, NULL);
	}
	if (sc->configured) {
		simcard_sync(sc, now);
		if (sc->running) {
			simcard_halt(sc);
			simcard_log_frame(sc, "stop", now);
		}
		simlog_printf(sc->log, "close t_ns=%lld frames=%llu", (long long)now,
			      (unsigned long long)(simcard_playback(sc) ?
				simdac_total(sc->dac) : sc->captured));
	}
	simcard_unconfigure(sc);
	simair_close(sc->air);
	simlog_close(sc->log);
	simopt_free(&sc->opt);
	close(sc->timerfd);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
	return 0;
}

#define SIMCARD_CALLBACKS \
	.start = simcard_start, \
	.stop = simcard_stop, \
	.pointer = simcard_pointer, \
	.transfer = simcard_transfer, \
	.close = simcard_close, \
	.hw_params = simcard_hw_params, \
	.sw_params = simcard_sw_params, \
	.prepare = simcard_prepare, \
	.pause = simcard_pause, \
	.delay = simcard_delay, \
	.poll_descriptors_count = simcard_poll_count, \
	.poll_descriptors = simcard_poll_descriptors, \
	.poll_revents = simcard_poll_revents

/* RESUME=no: no resume callback, so the card cannot resume. */
static const snd_pcm_ioplug_callback_t simcard_callbacks_noresume = {
	SIMCARD_CALLBACKS,
};

static const snd_pcm_ioplug_callback_t simcard_callbacks = {
	SIMCARD_CALLBACKS,
	.resume = simcard_resume,
};

/* What the "hardware" offers. 32 MiB of buffer holds 4 s of 8-channel
 * 32-bit audio at 192 kHz. */
static int simcard_constrain(snd_pcm_ioplug_t *io)
{
	static const unsigned access[] = {
		SND_PCM_ACCESS_RW_INTERLEAVED, SND_PCM_ACCESS_MMAP_INTERLEAVED,
	};
	static const unsigned formats[] = {
		SND_PCM_FORMAT_S16_LE, SND_PCM_FORMAT_S24_LE,
		SND_PCM_FORMAT_S32_LE, SND_PCM_FORMAT_FLOAT_LE,
	};
	int err;

	err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_ACCESS, 2, access);
	if (!err)
		err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_FORMAT, 4, formats);
	if (!err)
		err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_CHANNELS, 1, 8);
	if (!err)
		err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_RATE, 8000, 192000);
	if (!err)
		err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIOD_BYTES,
						      64, 32 << 20);
	if (!err)
		err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIODS, 2, 1024);
	if (!err)
		err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_BUFFER_BYTES,
						      128, 32 << 20);
	return err;
}

/* The default event log is OUT.events for the playback side and
 * OUT.capture.events for the capture side: a server opens both sides of
 * one card with the same arguments, and each keeps its own log. */
static char *simcard_events_path(const char *out, int capture)
{
	const char *ext = capture ? ".capture.events" : ".events";
	size_t n = strlen(out) + strlen(ext) + 1;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s%s", out, ext);
	return p;
}

static int simcard_new(struct simcard **out, snd_config_t *conf, int capture)
{
	struct simcard *sc = calloc(1, sizeof *sc);
	const char *events;
	int err;

	if (!sc)
		return -ENOMEM;
	sc->timerfd = -1;
	err = simopt_parse(&sc->opt, conf);
	if (err) {
		free(sc);
		return err;
	}
	pthread_mutex_init(&sc->lock, NULL);
	sc->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	events = sc->opt.events;
	err = sc->timerfd < 0 ? -errno : 0;
	if (!err && !events && sc->opt.out) {
		sc->opt.events = simcard_events_path(sc->opt.out, capture);
		events = sc->opt.events;
	}
	if (!err)
		err = simlog_open(&sc->log, events, sc->opt.append);
	if (err) {
		if (sc->timerfd >= 0)
			close(sc->timerfd);
		simopt_free(&sc->opt);
		pthread_mutex_destroy(&sc->lock);
		free(sc);
		SNDERR("lullsim: cannot open: %s", strerror(-err));
		return err;
	}
	sc->boundary = UINT64_MAX / 2;
	sc->stop_threshold = UINT64_MAX;
	sc->avail_min = 1;
	*out = sc;
	return 0;
}

SND_PCM_PLUGIN_DEFINE_FUNC(lullsim)
{
	struct simcard *sc;
	int err;

	(void)root;
	err = simcard_new(&sc, conf, stream == SND_PCM_STREAM_CAPTURE);
	if (err)
		return err;
	sc->io.version = SND_PCM_IOPLUG_VERSION;
	sc->io.name = "lull simulated sound card";
	sc->io.callback = sc->opt.resume ? &simcard_callbacks : &simcard_callbacks_noresume;
	sc->io.private_data = sc;
	sc->io.mmap_rw = 1;
	sc->io.flags = SND_PCM_IOPLUG_FLAG_MONOTONIC | SND_PCM_IOPLUG_FLAG_BOUNDARY_WA;
	sc->io.poll_fd = sc->timerfd;
	sc->io.poll_events = POLLIN;
	err = snd_pcm_ioplug_create(&sc->io, name, stream, mode);
	if (err < 0) {
		simcard_close(&sc->io);
		return err;
	}
	err = simcard_constrain(&sc->io);
	if (err < 0) {
		snd_pcm_ioplug_delete(&sc->io);
		return err;
	}
	*pcmp = sc->io.pcm;
	return 0;
}

SND_PCM_PLUGIN_SYMBOL(lullsim);
