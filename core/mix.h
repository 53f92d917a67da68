/* Mixing and channel mapping of interleaved float audio. Never allocates;
 * safe on the audio thread. */
#ifndef LULL_MIX_H
#define LULL_MIX_H

#include <stddef.h>

/* dst[i] += src[i] * gain, gain ramping linearly from g0 (first frame) to
 * g1 (last frame + 1), over frames * channels samples. g0 == g1 is a plain
 * scaled add; g0 == g1 == 1 is a plain add. */
void mix_add(float *dst, const float *src, size_t frames, unsigned channels,
	     float g0, float g1);

/* Maps frames from in_ch to out_ch channels: equal counts copy; mono goes
 * to every output channel; many to mono is the average; otherwise output
 * channel c takes input channel c mod in_ch. in and out must not overlap. */
void mix_map_channels(const float *in, unsigned in_ch, float *out,
		      unsigned out_ch, size_t frames);

/* Peak absolute sample value (for meters and tests). */
float mix_peak(const float *buf, size_t samples);

#endif
