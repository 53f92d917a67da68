/* A playback stream of liblull (struct lull_stream): its shared memory,
 * ring and eventfds, shared by stream.c (requests, position) and feed.c
 * (getting audio into the ring). Internal to liblull. */
#ifndef LULL_STREAM_H
#define LULL_STREAM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "client/conn.h"
#include "client/lull.h"
#include "ipc/ring.h"
#include "ipc/shm.h"

struct lull_stream {
	struct conn_node node;	/* first: the connection's list */
	struct lull *l;
	uint32_t id;
	unsigned rate;
	uint32_t frame_bytes;
	unsigned latency_us;	/* granted */

	struct shm_hdr *hdr;
	size_t shm_bytes;
	/* Producer side. Only the writing thread touches it (the caller of
	 * lull_stream_write, or the callback thread). */
	struct ring ring;
	_Atomic uint64_t written;	/* the ring's write index, for readers */
	int client_efd;		/* lulld -> us: the ring has room */
	int server_efd;		/* us -> lulld, only when want_signal */

	/* Callback mode. */
	lull_process_fn process;
	void *user;
	pthread_t thread;
	int wake_efd;		/* tells the thread to look at quit */
	int end_efd;		/* the thread tells it has ended */
	_Atomic int quit;
	_Atomic int thread_err;	/* why the thread stopped early, or 0 */
	pthread_mutex_t join_lock;
	int joined;
};

/* feed.c: audio into the ring. */
long feed_write(struct lull_stream *s, const void *buf, size_t frames);
long feed_writable(struct lull_stream *s);
int feed_thread_start(struct lull_stream *s);
/* Waits for the callback to end the stream (or the thread to stop early);
 * returns 0, why the thread stopped early (LULL_EGONE), or -EINTR when a
 * signal handler ran while waiting. */
int feed_thread_join(struct lull_stream *s);
/* Makes the thread stop at once, then joins it. */
void feed_thread_stop(struct lull_stream *s);

#endif
