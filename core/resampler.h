/* Sample-rate conversion of interleaved float audio, on libsamplerate.
 *
 * One resampler per stream, created by lulld's control thread (libsamplerate
 * allocates) and used by the audio thread (it does not). It is never rewound
 * or reset on a device rewind: lulld keeps its output in a render cache
 * instead. When the rates are equal it copies, bit-exact. */
#ifndef LULL_RESAMPLER_H
#define LULL_RESAMPLER_H

#include <stddef.h>

struct resampler;

enum resampler_quality {
	RESAMPLER_FAST,		/* SRC_SINC_FASTEST */
	RESAMPLER_MEDIUM,	/* SRC_SINC_MEDIUM_QUALITY */
	RESAMPLER_BEST,		/* SRC_SINC_BEST_QUALITY */
};

/* Returns 0 or -EINVAL (rates outside 1000..384000, a ratio beyond
 * libsamplerate's 256:1 either way, channels outside 1..8) / -ENOMEM. */
int resampler_new(struct resampler **out, unsigned in_rate, unsigned out_rate,
		  unsigned channels, enum resampler_quality q);
void resampler_free(struct resampler *r);

/* Converts up to in_frames input frames into up to out_frames output
 * frames. *used gets the input frames consumed; returns frames produced
 * (>= 0) or -EIO. in may be NULL when in_frames is 0: input consumed
 * earlier can still come out. Never allocates. */
long resampler_process(struct resampler *r, const float *in, size_t in_frames,
		       size_t *used, float *out, size_t out_frames);

/* Input frames to offer the next resampler_process (counted from the
 * first frame not yet consumed) for it to produce out_frames, including
 * the filter's look-ahead on first use. Upper bound, at most one frame
 * more than the least that works. 0 when what was consumed already
 * suffices (consumption is greedy). */
size_t resampler_input_for(const struct resampler *r, size_t out_frames);
/* Output per input: out_rate / in_rate. */
double resampler_ratio(const struct resampler *r);
/* Frames of delay the filter adds, in output frames: fed input as it
 * arrives, the output runs this far behind (up to one frame less), as
 * the converter holds its look-ahead. The signal is not shifted: input
 * frame j comes out at output frame j * ratio. 0 when the rates are
 * equal. 44100->48000: fast 21.8, medium 51.2, best 156.7;
 * 48000->44100: 20.2, 46.9, 144.2; 16000->48000: 60, 141, 432. */
double resampler_delay(const struct resampler *r);

#endif
