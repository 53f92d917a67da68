/* Mixing and channel mapping. See mix.h.
 *
 * The hot loops take restrict pointers and have no branches inside, so
 * gcc -O2 vectorises the plain add, the scaled add and the stereo ramp.
 * The header does not forbid overlapping buffers, so mix_add checks: an
 * overlapping call takes a scalar loop that does the same arithmetic one
 * sample at a time. */
#include "core/mix.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static int overlaps(const float *a, const float *b, size_t n)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
	size_t bytes = n * sizeof(float);

	return x < y + bytes && y < x + bytes;
}

/* gcc -O2 uses the "very cheap" vectoriser cost model, which only
 * vectorises a loop whose trip count is known to be a multiple of the
 * vector width; hence the main loops over a multiple of 8 samples and the
 * scalar tails. The loops stay out of line: inlined into mix_add, gcc
 * may lose the restrict promise and with it the vector code. */
#define HOT_LOOP __attribute__((noinline))

static HOT_LOOP void add_plain(float *restrict dst, const float *restrict src,
			       size_t n)
{
	size_t m = n & ~(size_t)7;

	for (size_t i = 0; i < m; i++)
		dst[i] += src[i];
	for (size_t i = m; i < n; i++)
		dst[i] += src[i];
}

static HOT_LOOP void add_scaled(float *restrict dst, const float *restrict src,
				size_t n, float g)
{
	size_t m = n & ~(size_t)7;

	for (size_t i = 0; i < m; i++)
		dst[i] += src[i] * g;
	for (size_t i = m; i < n; i++)
		dst[i] += src[i] * g;
}

/* Gain for frame i of a ramp: g0 + step * i. Computed from i each time
 * rather than accumulated, so frame 0 gets g0 exactly and rounding does
 * not build up along the ramp. The index is an int because int -> float
 * converts four at a time and size_t -> float does not; mix_add feeds
 * ramps in blocks of RAMP_BLOCK frames, where an int (and a float) holds
 * every index exactly. */
enum { RAMP_BLOCK = 1 << 24 };

static HOT_LOOP void ramp_stereo(float *restrict dst, const float *restrict src,
				 int frames, float g0, float step)
{
	int m = frames & ~7;

	for (int i = 0; i < m; i++) {
		float g = g0 + step * (float)i;

		dst[2 * i] += src[2 * i] * g;
		dst[2 * i + 1] += src[2 * i + 1] * g;
	}
	for (int i = m; i < frames; i++) {
		float g = g0 + step * (float)i;

		dst[2 * i] += src[2 * i] * g;
		dst[2 * i + 1] += src[2 * i + 1] * g;
	}
}

static void ramp_any(float *restrict dst, const float *restrict src,
		     int frames, unsigned channels, float g0, float step)
{
	for (int i = 0; i < frames; i++) {
		float g = g0 + step * (float)i;

		for (unsigned c = 0; c < channels; c++)
			dst[(size_t)i * channels + c] +=
				src[(size_t)i * channels + c] * g;
	}
}

static void add_ramp(float *restrict dst, const float *restrict src,
		     size_t frames, unsigned channels, float g0, float step)
{
	for (size_t base = 0; base < frames; base += RAMP_BLOCK) {
		size_t n = frames - base < RAMP_BLOCK ? frames - base : RAMP_BLOCK;
		float gb = g0 + step * (float)base;	/* g0 when base == 0 */
		size_t at = base * channels;

		if (channels == 2)
			ramp_stereo(dst + at, src + at, (int)n, gb, step);
		else
			ramp_any(dst + at, src + at, (int)n, channels, gb, step);
	}
}

/* The same arithmetic as the paths above, one element at a time, for
 * buffers that overlap. */
static void add_overlapping(float *dst, const float *src, size_t frames,
			    unsigned channels, float g0, float step)
{
	for (size_t i = 0; i < frames; i++) {
		float g = g0 + step * (float)i;

		/* x * 1.0f == x, so this matches the plain add too. */
		for (unsigned c = 0; c < channels; c++)
			dst[i * channels + c] += src[i * channels + c] * g;
	}
}

void mix_add(float *dst, const float *src, size_t frames, unsigned channels,
	     float g0, float g1)
{
	size_t n = frames * channels;
	/* The ramp reaches g1 at frame `frames`, one past the last, so that a
	 * following call starting at g1 continues it seamlessly. */
	float step = frames ? (g1 - g0) / (float)frames : 0.0f;

	if (!n)
		return;
	if (g0 == g1)
		step = 0.0f;
	if (overlaps(dst, src, n))
		add_overlapping(dst, src, frames, channels, g0, step);
	else if (g0 == g1 && g0 == 1.0f)
		add_plain(dst, src, n);
	else if (g0 == g1)
		add_scaled(dst, src, n, g0);
	else
		add_ramp(dst, src, frames, channels, g0, step);
}

/* --- channel mapping ------------------------------------------------------ */

static void map_from_mono(const float *restrict in, float *restrict out,
			  unsigned out_ch, size_t frames)
{
	for (size_t i = 0; i < frames; i++)
		for (unsigned c = 0; c < out_ch; c++)
			out[i * out_ch + c] = in[i];
}

static void map_to_mono(const float *restrict in, unsigned in_ch,
			float *restrict out, size_t frames)
{
	float scale = 1.0f / (float)in_ch;

	for (size_t i = 0; i < frames; i++) {
		float sum = 0.0f;

		for (unsigned c = 0; c < in_ch; c++)
			sum += in[i * in_ch + c];
		out[i] = sum * scale;
	}
}

static void map_modulo(const float *restrict in, unsigned in_ch,
		       float *restrict out, unsigned out_ch, size_t frames)
{
	for (size_t i = 0; i < frames; i++)
		for (unsigned c = 0; c < out_ch; c++)
			out[i * out_ch + c] = in[i * in_ch + c % in_ch];
}

void mix_map_channels(const float *in, unsigned in_ch, float *out,
		      unsigned out_ch, size_t frames)
{
	if (!in_ch || !out_ch || !frames)
		return;
	if (in_ch == out_ch)
		memcpy(out, in, frames * in_ch * sizeof(float));
	else if (in_ch == 1)
		map_from_mono(in, out, out_ch, frames);
	else if (out_ch == 1)
		map_to_mono(in, in_ch, out, frames);
	else
		map_modulo(in, in_ch, out, out_ch, frames);
}

float mix_peak(const float *buf, size_t samples)
{
	float peak = 0.0f;

	for (size_t i = 0; i < samples; i++) {
		float a = fabsf(buf[i]);

		peak = a > peak ? a : peak;
	}
	return peak;
}
