/* Getting audio into a stream's ring: blocking writes (write mode) and the
 * stream's own thread that calls the process callback (callback mode).
 *
 * Both are the ring's single producer. They write whatever room the ring
 * has, then sleep on the wake-up pipe, which lulld writes to once it has
 * consumed the ring down below request_frames. lulld is woken (server
 * pipe) only when it asked for it through want_signal, so a stream in
 * steady state costs lulld no wakeups at all. */
#include "client/stream.h"

#include <errno.h>
#include <string.h>

/* Tells lulld that frames arrived, if and only if it asked. lulld sets
 * want_signal and then looks at the ring again; we publish the ring's write
 * index and then look at want_signal. The fence keeps our two steps in
 * that order, so at least one side sees the other's. */
static void feed_kick(struct lull_stream *s)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_exchange(&s->hdr->want_signal, 0) == 1)
		worker_signal(s->server_efd);
}

/* After frames went into the ring: lets position readers see them, and
 * lulld hear of them if it asked. */
static void feed_published(struct lull_stream *s)
{
	atomic_store_explicit(&s->index, ring_position(&s->ring),
			      memory_order_release);
	feed_kick(s);
}

/* --- write mode -------------------------------------------------------------- */

long feed_writable(struct lull_stream *s)
{
	int err = conn_broken(s->l);

	return err ? err : (long)ring_writable(&s->ring);
}

/* Frames published at a time: lulld hears of the first piece of a big
 * write at once, not after the whole ring has been copied (a fresh 2 s
 * ring takes a millisecond or more to fault in). */
#define FEED_PIECE 1024

/* Queues as much of the caller's buffer (arg points to it), from `done`
 * frames in, as fits now; returns frames queued. */
static size_t feed_put(struct lull_stream *s, void *arg, size_t done, size_t left)
{
	const uint8_t *buf = *(const uint8_t *const *)arg + done * s->frame_bytes;
	uint64_t room = ring_writable(&s->ring), put = 0;

	if (room > left)
		room = left;
	while (put < room) {
		uint64_t n = room - put < FEED_PIECE ? room - put : FEED_PIECE;
		ring_write(&s->ring, buf + put * s->frame_bytes, n);
		feed_published(s);
		put += n;
	}
	return (size_t)put;
}

long feed_write(struct lull_stream *s, const void *buf, size_t frames)
{
	const uint8_t *src = buf;

	return stream_blocking(s, frames, feed_put, &src);
}

/* --- callback mode ----------------------------------------------------------- */

/* Lets the callback write straight into the ring, one contiguous area at
 * a time (two when the free space wraps). Returns 1 once the callback has
 * ended the stream by giving fewer frames than asked. */
static int feed_fill(struct lull_stream *s)
{
	uint64_t room = ring_writable(&s->ring);

	while (room && !worker_quitting(&s->worker)) {
		uint64_t n = room;
		void *area = ring_write_area(&s->ring, &n);
		size_t got;

		if (!n)
			break;
		got = s->process(s->user, area, (size_t)n);
		if (got > n)
			got = (size_t)n;
		if (got) {
			ring_write_commit(&s->ring, got);
			feed_published(s);
		}
		if (got < n)
			return 1;
		room -= n;
	}
	return 0;
}

static int feed_thread(void *arg)
{
	struct lull_stream *s = arg;
	int err = 0;

	while (!worker_quitting(&s->worker)) {
		err = conn_broken(s->l);
		if (err || feed_fill(s))
			break;
		if (ring_writable(&s->ring))
			continue;
		err = stream_wait(s);
		if (err == -EINTR || err == -ECANCELED)
			err = 0;
		if (err)
			break;
	}
	return err;
}

int feed_thread_start(struct lull_stream *s)
{
	return worker_start(&s->worker, feed_thread, s);
}
