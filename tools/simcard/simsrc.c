/* Capture sources of the simulated card. See simsrc.h. */
#include "tools/simcard/simsrc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/wav.h"
#include "tools/simcard/simair.h"

#define SIMSRC_MAX_CH 8
#define SIMSRC_WAV_MAX_FRAMES (192000u * 600u)

struct simsrc {
	struct simsrc_cfg cfg;
	unsigned rate, channels;
	enum fmt fmt;
	float *wav;		/* SIMSRC_WAV: whole file, card channel count */
	uint64_t wav_frames;
	struct simair *air;	/* SIMSRC_LOOP */
};

/* The WAV is read once, converted to float and to the card's channel
 * count (channel c takes file channel c mod file channels). */
static int simsrc_load_wav(struct simsrc *s)
{
	struct wav_reader *r;
	const struct wav_info *in;
	float frame[64];
	int32_t raw[64];
	int err = wav_reader_open(&r, s->cfg.path);

	if (err)
		return err;
	in = wav_reader_info(r);
	if (in->frames == 0 || in->frames > SIMSRC_WAV_MAX_FRAMES) {
		wav_reader_close(r);
		return -EINVAL;
	}
	s->wav = malloc(in->frames * s->channels * sizeof(float));
	if (!s->wav) {
		wav_reader_close(r);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < in->frames; i++) {
		if (wav_reader_read(r, raw, 1) != 1)
			break;
		fmt_to_float(in->fmt, raw, frame, in->channels);
		for (unsigned c = 0; c < s->channels; c++)
			s->wav[i * s->channels + c] = frame[c % in->channels];
		s->wav_frames = i + 1;
	}
	wav_reader_close(r);
	return s->wav_frames ? 0 : -EPROTO;
}

int simsrc_open(struct simsrc **out, const struct simsrc_cfg *cfg,
		unsigned rate, unsigned channels, enum fmt fmt)
{
	struct simsrc *s = calloc(1, sizeof *s);
	int err = 0;

	if (!s)
		return -ENOMEM;
	*s = (struct simsrc){ .cfg = *cfg, .rate = rate, .channels = channels,
			      .fmt = fmt };
	if (cfg->kind == SIMSRC_WAV)
		err = simsrc_load_wav(s);
	else if (cfg->kind == SIMSRC_LOOP)
		err = simair_attach(&s->air, cfg->loop);
	if (err) {
		simsrc_close(s);
		return err;
	}
	*out = s;
	return 0;
}

void simsrc_close(struct simsrc *s)
{
	if (!s)
		return;
	simair_close(s->air);
	free(s->wav);
	free(s);
}

/* Air frame of CLOCK_MONOTONIC time t at the air's rate. */
static uint64_t simsrc_air_frame(int64_t t, unsigned rate)
{
	return (uint64_t)((unsigned __int128)(uint64_t)t * rate / 1000000000u);
}

uint64_t simsrc_ready(struct simsrc *s, const struct simclock *clk,
		      uint64_t hw, uint64_t n)
{
	const struct simair_geom *g;
	uint64_t horizon, lo = 0, hi = n;

	if (s->cfg.kind != SIMSRC_LOOP)
		return n;
	horizon = simair_horizon(s->air);
	g = simair_geom(s->air);
	if (horizon == UINT64_MAX || !g)
		return n;
	/* Largest m with frame hw+m-1 sampled before the horizon. */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo + 1) / 2;
		if (simsrc_air_frame(simclock_when(clk, hw + mid - 1), g->rate) < horizon)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static void simsrc_sine(struct simsrc *s, uint64_t index, float *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* Phase from the frame index, so it never drifts or wraps. */
		double cycles = fmod((double)(index + i) * s->cfg.freq / s->rate, 1.0);
		float v = (float)(s->cfg.amp * sin(2.0 * M_PI * cycles));
		for (unsigned c = 0; c < s->channels; c++)
			out[i * s->channels + c] = v;
	}
}

static void simsrc_wav(struct simsrc *s, uint64_t index, float *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const float *f = s->wav + ((index + i) % s->wav_frames) * s->channels;
		memcpy(out + i * s->channels, f, s->channels * sizeof(float));
	}
}

/* One air frame into one card frame: raw when the geometry matches (so a
 * loopback at the same format is bit-exact), else through float. */
static void simsrc_air_one(struct simsrc *s, const struct simair_geom *g,
			   uint64_t gi, uint8_t *dst)
{
	int32_t raw[64];
	float in[64], out[SIMSRC_MAX_CH];

	if (simair_get(s->air, gi, raw) < 0) {
		fmt_silence(s->fmt, dst, s->channels);
		return;
	}
	if (g->fmt == s->fmt && g->channels == s->channels) {
		memcpy(dst, raw, fmt_bytes(s->fmt) * s->channels);
		return;
	}
	fmt_to_float(g->fmt, raw, in, g->channels);
	for (unsigned c = 0; c < s->channels; c++)
		out[c] = in[c % g->channels];
	fmt_from_float(s->fmt, out, dst, s->channels);
}

static void simsrc_loop(struct simsrc *s, const struct simclock *clk,
			uint64_t hw, uint8_t *dst, size_t n)
{
	const struct simair_geom *g = simair_geom(s->air);
	size_t fb = fmt_bytes(s->fmt) * s->channels;

	if (!g) {
		fmt_silence(s->fmt, dst, n * s->channels);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t gi = simsrc_air_frame(simclock_when(clk, hw + i), g->rate);
		simsrc_air_one(s, g, gi, dst + i * fb);
	}
}

void simsrc_fill(struct simsrc *s, const struct simclock *clk, uint64_t index,
		 uint64_t hw, void *dst, size_t n)
{
	float buf[256 * SIMSRC_MAX_CH];
	size_t fb = fmt_bytes(s->fmt) * s->channels;

	if (s->cfg.kind == SIMSRC_SILENCE) {
		fmt_silence(s->fmt, dst, n * s->channels);
		return;
	}
	if (s->cfg.kind == SIMSRC_LOOP) {
		simsrc_loop(s, clk, hw, dst, n);
		return;
	}
	for (size_t done = 0; done < n;) {
		size_t m = n - done < 256 ? n - done : 256;
		if (s->cfg.kind == SIMSRC_SINE)
			simsrc_sine(s, index + done, buf, m);
		else
			simsrc_wav(s, index + done, buf, m);
		fmt_from_float(s->fmt, buf, (uint8_t *)dst + done * fb,
			       m * s->channels);
		done += m;
	}
}
