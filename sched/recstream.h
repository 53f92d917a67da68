/* A capture stream as lulld holds it: what the card captured, converted to
 * the client's channels, rate and format, put into the client's ring.
 *
 * lulld is the ring's producer. A client that does not read in time loses
 * its own audio only: frames that do not fit are dropped (the ring keeps
 * the older ones) and counted in shm_hdr.overruns.
 *
 * Where a client frame comes from: the resampler turns device frame j into
 * output frame j * ratio (it delays when output appears, not the signal),
 * so output frame o is device frame d0 + o / ratio, where d0 is the device
 * frame the stream started at. The ring's index W counts only frames put
 * in the ring; the others (dropped, or produced while paused) are skipped:
 *
 *   output:  0 ......................... out (produced so far)
 *   ring:    0 ............. W            W = out - skipped
 *   device:  d0 ............................ d0 + out / ratio
 *
 * Built and freed by the control thread; the rest runs on the capture
 * thread and never allocates. */
#ifndef LULL_RECSTREAM_H
#define LULL_RECSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "core/fmt.h"
#include "core/resampler.h"
#include "ipc/ring.h"
#include "sched/link.h"

#define RECSTREAM_CHUNK 1024	/* device frames converted at a time */

struct recstream_cfg {
	uint32_t id;
	unsigned rate, channels;
	enum fmt fmt;
	float volume;
	int paused;
	uint64_t latency_ns;	/* requested ADC to readable; 0: default */
	unsigned dev_rate, dev_channels;
	uint64_t dev_buffer;
};

struct recstream {
	uint32_t id;
	int32_t pid;
	char name[64];
	unsigned rate, channels;
	enum fmt fmt;
	size_t frame_bytes;
	unsigned dev_channels;

	struct link link;
	struct ring ring;
	uint64_t ring_frames, request_frames;
	uint64_t latency_ns;	/* granted */
	uint64_t period;	/* device frames between deliveries it needs */

	struct resampler *rs;
	double ratio;		/* client rate / device rate */
	float *map, *conv;	/* scratch: mapped input, converted output */
	void *raw;		/* scratch: output in the client's format */
	size_t out_max;

	/* capture thread state */
	int started;		/* has had its first device frame */
	int paused;
	float gain, gain_to;	/* gain_to: set by a volume change */
	uint64_t d0;		/* device frame of output frame 0 */
	uint64_t out;		/* output frames produced */
	uint64_t skipped;	/* of which not put in the ring */
	uint64_t delivered;	/* frames put in the ring this cycle */
};

int recstream_new(struct recstream **out, const struct recstream_cfg *cfg);
void recstream_free(struct recstream *r);

/* n device frames starting at device frame d (at most RECSTREAM_CHUNK). */
void recstream_put(struct recstream *r, const float *dev, size_t n, uint64_t d);
/* n device frames were lost before the next put: they are skipped, and
 * counted as the client's loss. */
void recstream_skip(struct recstream *r, uint64_t n);
/* Publishes the ring position: device frame adc was being sampled at
 * t_ns, the card's clock running `ratio` times CLOCK_MONOTONIC's. Wakes
 * the client when this cycle delivered anything. */
void recstream_publish(struct recstream *r, uint64_t adc, int64_t t_ns,
		       unsigned dev_rate, double ratio);
#endif
