/* Sample-rate conversion on libsamplerate. See resampler.h.
 *
 * How libsamplerate's sinc converters move through the input (0.2.x):
 * output frame k is the filter centred on input position x_k = k / ratio,
 * and the converter primes its buffer with zeros, so nothing is shifted:
 * an impulse at input frame j comes out at output frame j * ratio. To
 * compute output k it wants `lookahead` frames past floor(x_k) in hand,
 * so output k exists once
 *
 *     consumed >= floor(k / ratio) + lookahead              (1)
 *
 * input frames have been consumed. lookahead is half the filter's length
 * plus one, in input frames; it grows by 1 / ratio when downsampling (the
 * filter is stretched to cut below the lower Nyquist frequency). The
 * library does not export it, so resampler_new measures it: it feeds zeros
 * one frame at a time until the first output frame appears (k = 0 in (1)).
 *
 *   input   |-------- consumed --------------------------------|
 *   output  |---- produced ----|
 *                              ^ x = produced / ratio
 *                              |<------ lookahead ------------>|
 *
 * Consumption itself is greedy (the library refills its buffer with as
 * much input as fits), which is why resampler_input_for counts from what
 * was consumed, not from what was offered. */
#include "core/resampler.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <samplerate.h>

enum {
	RATE_MIN = 1000,
	RATE_MAX = 384000,
	CHANNELS_MAX = 8,
	/* libsamplerate counts samples in int; keep one call well inside. */
	CALL_MAX_FRAMES = 1 << 24,
};

struct resampler {
	SRC_STATE *src;		/* NULL when the rates are equal: plain copy */
	unsigned in_rate, out_rate, channels;
	double ratio;		/* out_rate / in_rate */
	uint64_t lookahead;	/* input frames held for output frame 0 */
	uint64_t consumed;	/* input frames taken, ever */
	uint64_t produced;	/* output frames given, ever */
};

static int src_type(enum resampler_quality q)
{
	switch (q) {
	case RESAMPLER_FAST:
		return SRC_SINC_FASTEST;
	case RESAMPLER_MEDIUM:
		return SRC_SINC_MEDIUM_QUALITY;
	case RESAMPLER_BEST:
		return SRC_SINC_BEST_QUALITY;
	}
	return -1;
}

/* Feeds silence one frame at a time until the first output frame comes
 * out; the count is the look-ahead of (1) above. Leaves the converter
 * reset. At the extreme 1:256 ratio with the best filter this is ~40000
 * tiny calls, a few milliseconds on the control thread. */
static long measure_lookahead(SRC_STATE *src, double ratio)
{
	static const float zero[CHANNELS_MAX];
	float out[CHANNELS_MAX];
	SRC_DATA d = { .data_in = zero, .data_out = out, .src_ratio = ratio };
	long fed = 0;

	while (fed < CALL_MAX_FRAMES) {
		d.input_frames = 1;
		d.output_frames = 1;
		if (src_process(src, &d))
			return -EIO;
		fed += d.input_frames_used;
		if (d.output_frames_gen)
			return src_reset(src) ? -EIO : fed;
		if (!d.input_frames_used)
			return -EIO;
	}
	return -EIO;
}

static int valid(unsigned in_rate, unsigned out_rate, unsigned channels,
		 enum resampler_quality q)
{
	return in_rate >= RATE_MIN && in_rate <= RATE_MAX &&
	       out_rate >= RATE_MIN && out_rate <= RATE_MAX &&
	       channels >= 1 && channels <= CHANNELS_MAX && src_type(q) >= 0 &&
	       src_is_valid_ratio((double)out_rate / in_rate);
}

static int open_src(struct resampler *r, enum resampler_quality q)
{
	int err = 0;
	long la;

	/* The arguments were checked, so allocation is what can fail. */
	r->src = src_new(src_type(q), (int)r->channels, &err);
	if (!r->src)
		return -ENOMEM;
	la = measure_lookahead(r->src, r->ratio);
	if (la < 0)
		return (int)la;
	r->lookahead = (uint64_t)la;
	return 0;
}

int resampler_new(struct resampler **out, unsigned in_rate, unsigned out_rate,
		  unsigned channels, enum resampler_quality q)
{
	struct resampler *r;
	int err;

	*out = NULL;
	if (!valid(in_rate, out_rate, channels, q))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->in_rate = in_rate;
	r->out_rate = out_rate;
	r->channels = channels;
	r->ratio = (double)out_rate / in_rate;
	if (in_rate != out_rate && (err = open_src(r, q)) < 0) {
		resampler_free(r);
		return err;
	}
	*out = r;
	return 0;
}

void resampler_free(struct resampler *r)
{
	if (!r)
		return;
	if (r->src)
		src_delete(r->src);
	free(r);
}

static long copy_through(struct resampler *r, const float *in,
			 size_t in_frames, size_t *used, float *out,
			 size_t out_frames)
{
	size_t n = in_frames < out_frames ? in_frames : out_frames;

	if (n)
		memcpy(out, in, n * r->channels * sizeof(float));
	*used = n;
	return (long)n;
}

long resampler_process(struct resampler *r, const float *in, size_t in_frames,
		       size_t *used, float *out, size_t out_frames)
{
	SRC_DATA d = { .data_in = in, .data_out = out, .src_ratio = r->ratio };
	long got;

	in_frames = in_frames < CALL_MAX_FRAMES ? in_frames : CALL_MAX_FRAMES;
	out_frames = out_frames < CALL_MAX_FRAMES ? out_frames : CALL_MAX_FRAMES;
	if (!r->src) {
		got = copy_through(r, in, in_frames, used, out, out_frames);
	} else {
		/* With no input the converter may still have buffered input
		 * to turn into output; libsamplerate accepts a NULL pointer
		 * with a zero count. */
		d.input_frames = (long)in_frames;
		d.output_frames = (long)out_frames;
		*used = 0;
		if (src_process(r->src, &d))
			return -EIO;
		*used = (size_t)d.input_frames_used;
		got = d.output_frames_gen;
	}
	r->consumed += *used;
	r->produced += (uint64_t)got;
	return got;
}

/* floor(k * in_rate / out_rate) without overflowing 64 bits. */
static uint64_t input_position(const struct resampler *r, uint64_t k)
{
	uint64_t q = k / r->out_rate, rem = k % r->out_rate;

	return q * r->in_rate + rem * r->in_rate / r->out_rate;
}

/* By (1), output frames [produced, produced + out_frames) need
 * floor((produced + out_frames - 1) / ratio) + lookahead frames consumed.
 * libsamplerate steps x_k by a rounded 1 / ratio, so after very long runs
 * its position may drift by a tiny fraction of a frame from the exact
 * one; one spare frame absorbs that. */
size_t resampler_input_for(const struct resampler *r, size_t out_frames)
{
	uint64_t need;

	if (!out_frames)
		return 0;
	if (!r->src)
		return out_frames;
	need = input_position(r, r->produced + out_frames - 1) +
	       r->lookahead + 1;
	return need > r->consumed ? (size_t)(need - r->consumed) : 0;
}

double resampler_ratio(const struct resampler *r)
{
	return r->ratio;
}

/* When input is fed as it arrives, output frame k appears once input frame
 * floor(k / ratio) + lookahead - 1 is in, so the output runs
 * (lookahead - 1) input frames behind: that many times ratio in output
 * frames (less up to one frame, depending on where k falls). */
double resampler_delay(const struct resampler *r)
{
	if (!r->src)
		return 0.0;
	return (double)(r->lookahead - 1) * r->ratio;
}
