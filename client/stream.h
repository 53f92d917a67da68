/* A stream of liblull (struct lull_stream): one stream on lulld, playback
 * or capture, with its shared memory, ring and wake-up pipes; or a duplex
 * handle, which holds no stream of its own but two internal ones (see
 * duplex.h). Shared by stream.c (creation, requests, waiting, playback
 * position), feed.c (audio into a playback ring), capture.c (audio out of
 * a capture ring) and duplex.c. Internal to liblull. */
#ifndef LULL_STREAM_H
#define LULL_STREAM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "client/conn.h"
#include "client/lull.h"
#include "client/worker.h"
#include "ipc/ring.h"
#include "ipc/shm.h"

struct duplex;

struct lull_stream {
	struct conn_node node;	/* first: the connection's list */
	struct lull *l;
	struct duplex *duplex;	/* a duplex handle: all the rest is unused */
	uint32_t id;
	enum lull_direction dir;
	unsigned rate;
	uint32_t frame_bytes;
	unsigned latency_us;	/* granted */
	uint64_t request_frames;	/* lulld's chunk (capture: per delivery) */

	struct shm_hdr *hdr;
	size_t shm_bytes;
	/* Our side of the ring: producer (playback) or consumer (capture).
	 * Only the thread moving audio touches it (the caller of write or
	 * read, or the stream's own thread). */
	struct ring ring;
	/* The ring index we own, for readers on other threads: frames
	 * written (playback) or read (capture). */
	_Atomic uint64_t index;
	int client_efd;		/* lulld -> us: room (playback), frames (capture) */
	int server_efd;		/* us -> lulld, playback only, when want_signal */
	/* Readable when the thread moving audio must stop waiting: the stop
	 * descriptor of the worker that owns it (not ours to close), or -1. */
	int stop_fd;

	/* Callback mode: the stream's own thread. */
	lull_process_fn process;
	lull_capture_fn capture;
	void *user;
	void *scratch;		/* capture: what the callback is given */
	size_t scratch_frames;
	struct worker worker;
};

/* stream.c: for capture.c and duplex.c. */
/* A stream on lulld as p describes it, in direction dir, not attached to
 * the connection (the caller attaches it, or owns it). */
int stream_open(struct lull_stream **out, struct lull *l,
		const struct lull_stream_params *p, enum lull_direction dir);
/* Stops its thread, closes it on lulld and frees it; lulld's answer. */
int stream_shut(struct lull_stream *s);
/* A control request (PROTO_STREAM_*) for this stream on lulld. */
int stream_request(struct lull_stream *s, uint32_t type, int flags);
int stream_send_volume(struct lull_stream *s, float volume);
/* Sleeps until lulld writes to the client pipe, the socket hangs up, or
 * stop_fd becomes readable. Empties the pipe before returning, so that a
 * wake-up arriving later ends the next wait. Returns 0, -EINTR (a signal
 * handler ran), -ECANCELED (stop_fd) or LULL_EGONE. */
int stream_wait(struct lull_stream *s);
/* One step of a blocking transfer: moves up to `left` frames, starting
 * `done` frames into the caller's buffer (arg), without waiting; returns
 * frames moved. */
typedef size_t (*stream_step_fn)(struct lull_stream *s, void *arg, size_t done,
				 size_t left);
/* Steps until `frames` have moved, waiting between steps. Returns frames
 * moved: all, or fewer when interrupted (-EINTR) or lulld went away after
 * some moved; the error when none did. */
long stream_blocking(struct lull_stream *s, size_t frames, stream_step_fn step,
		     void *arg);
/* Reads the published position; ratio is the card clock ratio, 1 when
 * lulld's figure is no sound card's. */
int stream_pos(const struct lull_stream *s, uint32_t *flags, uint64_t *frame,
	       int64_t *t_ns, double *ratio);
int64_t stream_now_ns(void);
/* frames at the stream's rate times ratio, in ns (rounded). */
int64_t stream_frames_ns(const struct lull_stream *s, int64_t frames,
			 double ratio);
/* When ring frame `frame` is (was) at the converter, from the published
 * position, provided the stream runs on without a break: heard at the DAC
 * (playback) or sampled at the ADC (capture). -EAGAIN until the position
 * carries the flags `need` (SHM_POS_*). */
int stream_frame_ns(const struct lull_stream *s, uint64_t frame, uint32_t need,
		    int64_t *t_ns);

/* feed.c: audio into the ring. */
long feed_write(struct lull_stream *s, const void *buf, size_t frames);
long feed_writable(struct lull_stream *s);
int feed_thread_start(struct lull_stream *s);

/* capture.c: audio out of the ring. */
long capture_read(struct lull_stream *s, void *buf, size_t frames);
long capture_readable(struct lull_stream *s);
int capture_thread_start(struct lull_stream *s);
int capture_delay(struct lull_stream *s, int64_t *delay_ns);
int capture_position(struct lull_stream *s, uint64_t *captured,
		     uint64_t *read);

#endif
