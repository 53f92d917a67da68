/* A playback stream as lulld holds it: the client's shared-memory ring,
 * the conversion to the card's rate and channels, and the render cache.
 *
 * The render cache holds the stream's audio already converted to the
 * card's rate and layout, from the play position to where the mixer got
 * to. A journal of segments says which cache frames went to which device
 * frames, so a rewind to device frame R moves the cache's read index back
 * to the cache frame that was mixed at R; the resampler itself never
 * rewinds, and re-mixing gives bit-identical output.
 *
 *   device:   d0                 R               d0+len
 *             |==================|===============|        one segment
 *   cache:    c0                 c0+(R-d0)       c0+len
 *
 * Built and freed by the control thread; everything else is called on the
 * audio thread and never allocates. */
#ifndef LULL_STREAM_H
#define LULL_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "core/fmt.h"
#include "core/resampler.h"
#include "ipc/ring.h"
#include "ipc/shm.h"
#include "sched/link.h"

#define STREAM_SEGS 32
#define STREAM_CHUNK 1024	/* device frames converted at a time */

struct stream_cfg {
	uint32_t id;
	unsigned rate, channels;
	enum fmt fmt;
	float volume;
	int paused;
	uint64_t latency_ns;	/* requested write-to-DAC; 0: default */
	/* the card */
	unsigned dev_rate, dev_channels;
	uint64_t dev_buffer;
	uint64_t watermark;	/* device frames */
};

struct stream_seg {
	uint64_t d0, c0, len;
};

struct stream {
	uint32_t id;
	int32_t pid;		/* the client's, for tools */
	char name[64];
	unsigned rate, channels;
	enum fmt fmt;
	size_t frame_bytes;
	unsigned dev_rate, dev_channels;

	struct link link;	/* shared memory and wake-up pipes */
	struct ring ring;
	uint64_t ring_frames, request_frames;
	uint64_t latency_ns;	/* granted */
	uint64_t fill_target;	/* device frames this stream wants buffered */

	/* conversion scratch */
	struct resampler *rs;
	void *raw;
	float *in_f, *in_map, *out;
	size_t in_max;

	/* render cache */
	float *cache;
	uint64_t cache_cap, cache_w, cache_r;
	uint64_t in_used;	/* client frames converted into the cache */

	struct stream_seg seg[STREAM_SEGS];
	unsigned nseg;

	/* audio thread state */
	int paused, dry, started;
	int pending;		/* dry, has data again, merged at its deadline */
	int listening;		/* its wake-up pipe is in the audio thread's poll set */
	int gap_counted;	/* this dry spell has been counted an underrun */
	float gain_from, gain_to;
	uint64_t ramp_start, ramp_len;
	uint64_t consumed_since_signal;
	float gain_pending;
	int has_gain_pending;
	int draining;
	uint64_t drain_until;	/* client frames written when asked */
	uint64_t drain_end;	/* the cache frame those end at */
	uint32_t drain_token;
	uint64_t rewinds_caused;
};

int stream_new(struct stream **out, const struct stream_cfg *cfg);
void stream_free(struct stream *s);

/* Mixes up to n frames of the stream into dst from device frame d on.
 * Returns frames it had; fewer than n means it ran dry. */
size_t stream_mix(struct stream *s, float *dst, uint64_t d, size_t n);
/* The device frames from R on will be mixed again. */
void stream_rewind(struct stream *s, uint64_t r);
/* Forgets the journal before device frame p (played). */
void stream_prune(struct stream *s, uint64_t p);
/* Device frame just after the last one the stream filled, or 0. */
uint64_t stream_mixed_end(const struct stream *s);
/* Whether the client's ring or the cache has audio not yet mixed. */
int stream_has_data(struct stream *s);
/* Publishes where the stream is heard: device frame p is heard at t_ns. */
void stream_publish(struct stream *s, uint64_t p, int64_t t_ns, double ratio);
/* Client frame at device frame p, and whether p lies within mixed audio. */
double stream_client_frame(const struct stream *s, uint64_t p, int *inside);
/* Starts a drain: the stream ends with what the client has written. */
void stream_drain(struct stream *s, uint32_t token);
/* Device frame just after the drained stream's last frame; -1 while it
 * has not all been mixed yet. */
int64_t stream_drain_end(const struct stream *s);
/* Changes volume with a ramp starting at device frame d. */
void stream_set_gain(struct stream *s, float g, uint64_t d, uint64_t ramp);

#endif
