/* The ALSA implementation of struct device. See device.h.
 *
 * Settings for timer scheduling: the whole buffer is ours to fill, the card
 * never wakes us (avail_min = buffer, period events off) and never starts
 * by itself (start_threshold = boundary); it stops on an empty buffer
 * (stop_threshold = buffer), so an underrun never replays stale audio.
 * The capture side is the mirror image: it stops on a full buffer, so an
 * overrun is reported rather than silently overwriting what we had not
 * read. */
#include "sched/device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <alsa/asoundlib.h>

struct alsadev {
	snd_pcm_t *pcm;
	struct device_info info;
	size_t frame_bytes;
	int capture;
};

static int64_t alsadev_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The pointer is read twice: the first hwsync lets the driver catch up
 * with whatever it had to do since we last asked (a USB driver, or the
 * simulated card playing two seconds of audio, can take a millisecond),
 * so that the second one, the reading we keep, happens within a short
 * window whose middle is its time. */
static int alsadev_measure(void *p, struct device_meas *m)
{
	struct alsadev *a = p;
	snd_pcm_sframes_t avail, delay;
	int64_t t0;
	int err;

	avail = snd_pcm_avail(a->pcm);
	if (avail < 0)
		return (int)avail;
	t0 = alsadev_now();
	avail = snd_pcm_avail(a->pcm);	/* hwsync: reads the pointer */
	if (avail < 0)
		return (int)avail;
	err = snd_pcm_delay(a->pcm, &delay);
	if (err < 0)
		return err;
	/* The pointer was read somewhere in [t0, now]: take the middle. */
	m->t_ns = t0 + (alsadev_now() - t0) / 2;
	m->fill = a->capture ? avail : (int64_t)a->info.buffer - avail;
	m->delay = delay;
	return 0;
}

/* Moves up to n frames through the card's mmap ring: from `out` into it
 * (playback) or out of it into `in` (capture), converting the format.
 * Returns frames moved or -errno. */
static long alsadev_move(struct alsadev *a, float *in, const float *out, size_t n)
{
	size_t done = 0, ch = a->info.channels;

	while (done < n) {
		const snd_pcm_channel_area_t *areas;
		snd_pcm_uframes_t off, frames = n - done;
		snd_pcm_sframes_t c;
		uint8_t *ring;
		int err = snd_pcm_mmap_begin(a->pcm, &areas, &off, &frames);

		if (err < 0)
			return err;
		if (frames == 0)
			break;
		ring = (uint8_t *)areas[0].addr + areas[0].first / 8 + off * a->frame_bytes;
		if (in)
			fmt_to_float(a->info.fmt, ring, in + done * ch, frames * ch);
		else
			fmt_from_float(a->info.fmt, out + done * ch, ring, frames * ch);
		c = snd_pcm_mmap_commit(a->pcm, off, frames);
		if (c < 0)
			return (long)c;
		done += (size_t)c;
	}
	return (long)done;
}

static long alsadev_write(void *p, const float *buf, size_t n)
{
	return alsadev_move(p, NULL, buf, n);
}

static long alsadev_read(void *p, float *buf, size_t n)
{
	return alsadev_move(p, buf, NULL, n);
}

static long alsadev_rewind(void *p, size_t n)
{
	struct alsadev *a = p;
	snd_pcm_sframes_t r = snd_pcm_rewindable(a->pcm);

	/* The caller clamped against a fresh hwsync; ALSA's own limit is a
	 * second opinion (ioplug caches it, a kernel driver does not). */
	if (r < 0)
		return (long)r;
	if ((size_t)r < n)
		n = (size_t)r;
	if (n == 0)
		return 0;
	return (long)snd_pcm_rewind(a->pcm, n);
}

static int alsadev_start(void *p)
{
	struct alsadev *a = p;

	return snd_pcm_start(a->pcm);
}

/* A suspended card is asked to resume once: -EAGAIN (the driver is still
 * waking up) goes back to the caller, who asks again later rather than
 * sleep here on the audio thread. Resumed, it plays on where it stopped
 * (1). A card that cannot resume (-ENOSYS; an ioplug plugin without a
 * resume callback answers 0 and stays suspended: its state tells) is
 * dropped and prepared, like one after an xrun: prepare drops whatever
 * was in the buffer, so nothing stale replays (0). */
static int alsadev_recover(void *p, int err)
{
	struct alsadev *a = p;

	if (err == -ESTRPIPE) {
		err = snd_pcm_resume(a->pcm);
		if (err == -EAGAIN)
			return err;
		if (err == 0 && snd_pcm_state(a->pcm) == SND_PCM_STATE_RUNNING)
			return 1;
		snd_pcm_drop(a->pcm);
	}
	return snd_pcm_prepare(a->pcm);
}

static int alsadev_stop(void *p)
{
	struct alsadev *a = p;
	int err = snd_pcm_drop(a->pcm);

	return err < 0 ? err : snd_pcm_prepare(a->pcm);
}

static void alsadev_close(void *p)
{
	struct alsadev *a = p;

	snd_pcm_close(a->pcm);
	free(a);
}

static const struct device_ops alsadev_ops = {
	.measure = alsadev_measure,
	.write = alsadev_write,
	.read = alsadev_read,
	.rewind = alsadev_rewind,
	.start = alsadev_start,
	.recover = alsadev_recover,
	.stop = alsadev_stop,
	.close = alsadev_close,
};

static const snd_pcm_format_t alsadev_formats[] = {
	[FMT_S16] = SND_PCM_FORMAT_S16_LE,
	[FMT_S24] = SND_PCM_FORMAT_S24_LE,
	[FMT_S32] = SND_PCM_FORMAT_S32_LE,
	[FMT_FLOAT] = SND_PCM_FORMAT_FLOAT_LE,
};

/* "Best": float first (no conversion, headroom), then the widest integer. */
static int alsadev_pick_format(snd_pcm_t *pcm, snd_pcm_hw_params_t *hw, int want)
{
	static const enum fmt order[] = { FMT_FLOAT, FMT_S32, FMT_S24, FMT_S16 };

	if (want >= 0)
		return snd_pcm_hw_params_set_format(pcm, hw, alsadev_formats[want]) < 0 ?
		       -EINVAL : want;
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (snd_pcm_hw_params_test_format(pcm, hw, alsadev_formats[order[i]]) == 0) {
			snd_pcm_hw_params_set_format(pcm, hw, alsadev_formats[order[i]]);
			return (int)order[i];
		}
	return -EINVAL;
}

static int alsadev_hw(struct alsadev *a, const struct device_cfg *cfg)
{
	snd_pcm_hw_params_t *hw;
	unsigned rate = cfg->rate, channels = cfg->channels;
	unsigned buffer_us = cfg->buffer_ms * 1000, periods = 2;
	snd_pcm_uframes_t buffer, period;
	int f, err;

	snd_pcm_hw_params_alloca(&hw);
	if ((err = snd_pcm_hw_params_any(a->pcm, hw)) < 0 ||
	    (err = snd_pcm_hw_params_set_access(a->pcm, hw, SND_PCM_ACCESS_MMAP_INTERLEAVED)) < 0)
		return err;
	if ((f = alsadev_pick_format(a->pcm, hw, cfg->fmt)) < 0)
		return f;
	if ((err = snd_pcm_hw_params_set_rate_near(a->pcm, hw, &rate, NULL)) < 0 ||
	    (err = snd_pcm_hw_params_set_channels_near(a->pcm, hw, &channels)) < 0 ||
	    (err = snd_pcm_hw_params_set_buffer_time_near(a->pcm, hw, &buffer_us, NULL)) < 0)
		return err;
	/* As few periods as the card allows: we do not use their interrupts. */
	snd_pcm_hw_params_set_periods_near(a->pcm, hw, &periods, NULL);
	if ((err = snd_pcm_hw_params(a->pcm, hw)) < 0)
		return err;
	snd_pcm_hw_params_get_buffer_size(hw, &buffer);
	snd_pcm_hw_params_get_period_size(hw, &period, NULL);
	a->info = (struct device_info){
		.rate = rate, .channels = channels, .fmt = (enum fmt)f,
		.buffer = buffer, .period = period,
		.can_rewind = !a->capture,
	};
	a->frame_bytes = fmt_bytes(a->info.fmt) * channels;
	return 0;
}

/* Whether the card really takes frames back: some cards and plugins
 * cannot rewind (rewindable or rewind answer 0 or an error). A few
 * frames of silence are written before the card starts, taken back,
 * and the card prepared again, empty. Returns 1, 0, or -errno when
 * even preparing again fails. */
static int alsadev_probe_rewind(struct alsadev *a)
{
	float zero[256] = { 0 };
	long n = (long)(sizeof zero / sizeof zero[0] / a->info.channels);
	long w = alsadev_write(a, zero, (size_t)n);
	int ok = w > 0 && snd_pcm_rewindable(a->pcm) >= w &&
		 snd_pcm_rewind(a->pcm, (snd_pcm_uframes_t)w) == w;
	int err = snd_pcm_prepare(a->pcm);

	return err < 0 ? err : ok;
}

/* Playback: info.can_rewind unless told not to rewind, or the probe says
 * the card cannot. Returns 0 or -errno. */
static int alsadev_rewinds(struct alsadev *a, const struct device_cfg *cfg)
{
	int ok = cfg->no_rewind ? 0 : alsadev_probe_rewind(a);

	if (ok < 0)
		return ok;
	a->info.can_rewind = ok;
	return 0;
}

static int alsadev_sw(struct alsadev *a)
{
	snd_pcm_sw_params_t *sw;
	snd_pcm_uframes_t boundary;
	int err;

	snd_pcm_sw_params_alloca(&sw);
	if ((err = snd_pcm_sw_params_current(a->pcm, sw)) < 0)
		return err;
	snd_pcm_sw_params_get_boundary(sw, &boundary);
	snd_pcm_sw_params_set_avail_min(a->pcm, sw, a->info.buffer);
	snd_pcm_sw_params_set_period_event(a->pcm, sw, 0);
	snd_pcm_sw_params_set_start_threshold(a->pcm, sw, boundary);
	snd_pcm_sw_params_set_stop_threshold(a->pcm, sw, a->info.buffer);
	snd_pcm_sw_params_set_tstamp_mode(a->pcm, sw, SND_PCM_TSTAMP_ENABLE);
	snd_pcm_sw_params_set_tstamp_type(a->pcm, sw, SND_PCM_TSTAMP_TYPE_MONOTONIC);
	return snd_pcm_sw_params(a->pcm, sw);
}

int device_open_alsa(struct device *d, const struct device_cfg *cfg)
{
	struct alsadev *a = calloc(1, sizeof *a);
	int err;

	if (!a)
		return -ENOMEM;
	a->capture = cfg->capture;
	err = snd_pcm_open(&a->pcm, cfg->name, cfg->capture ? SND_PCM_STREAM_CAPTURE :
			   SND_PCM_STREAM_PLAYBACK, 0);
	if (err < 0) {
		if (!cfg->quiet)
			fprintf(stderr, "lulld: cannot open %s for %s: %s\n", cfg->name,
				cfg->capture ? "capture" : "playback", snd_strerror(err));
		free(a);
		return err;
	}
	err = alsadev_hw(a, cfg);
	if (!err)
		err = alsadev_sw(a);
	if (!err)
		err = snd_pcm_prepare(a->pcm);
	if (!err && a->info.can_rewind)
		err = alsadev_rewinds(a, cfg);
	if (err < 0) {
		if (!cfg->quiet)
			fprintf(stderr, "lulld: cannot configure %s for %s: %s\n", cfg->name,
				cfg->capture ? "capture" : "playback", snd_strerror(err));
		snd_pcm_close(a->pcm);
		free(a);
		return err;
	}
	snprintf(a->info.name, sizeof a->info.name, "%s", cfg->name);
	*d = (struct device){ .ops = &alsadev_ops, .dev = a, .info = a->info };
	return 0;
}
