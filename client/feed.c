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
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Wakes whoever waits on fd: lulld's wake-up pipe, or one of our own
 * eventfds (which take exactly 8 bytes; a pipe takes them as well). Never
 * blocks: a full pipe already holds wake-ups lulld has not read. */
static void feed_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof one) < 0) {
		/* EAGAIN: already being woken */
	}
}

/* Tells lulld that frames arrived, if and only if it asked. lulld sets
 * want_signal and then looks at the ring again; we publish the ring's write
 * index and then look at want_signal. The fence keeps our two steps in
 * that order, so at least one side sees the other's. */
static void feed_kick(struct lull_stream *s)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_exchange(&s->hdr->want_signal, 0) == 1)
		feed_signal(s->server_efd);
}

/* After frames went into the ring: lets position readers see them, and
 * lulld hear of them if it asked. */
static void feed_published(struct lull_stream *s)
{
	atomic_store_explicit(&s->written, ring_position(&s->ring),
			      memory_order_release);
	feed_kick(s);
}

/* Sleeps until lulld signals room (or a spurious count), the socket hangs
 * up, or (callback mode) the stream is told to quit. The pipe is read
 * right after poll reports it, before the caller looks at the ring again:
 * a signal that arrives later stays counted and ends the next poll.
 * Returns 0, -EINTR (a signal handler ran) or LULL_EGONE. */
static int feed_wait(struct lull_stream *s)
{
	struct pollfd p[3] = {
		{ .fd = s->client_efd, .events = POLLIN },
		{ .fd = conn_fd(s->l), .events = 0 },	/* hangup only */
		{ .fd = s->wake_efd, .events = POLLIN },
	};
	char buf[64];

	if (poll(p, s->process ? 3 : 2, -1) < 0)
		return errno == EINTR ? -EINTR : -errno;
	if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
		conn_set_gone(s->l);
		return LULL_EGONE;
	}
	if ((p[0].revents & POLLIN) &&
	    read(s->client_efd, buf, sizeof buf) < 0 && errno != EAGAIN)
		return -errno;
	if (p[0].revents & POLLHUP) {	/* lulld dropped the stream */
		conn_set_gone(s->l);
		return LULL_EGONE;
	}
	return 0;
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

/* Queues as much of buf as fits now; returns frames queued. */
static size_t feed_put(struct lull_stream *s, const uint8_t *buf, size_t frames)
{
	uint64_t room = ring_writable(&s->ring), done = 0;

	if (room > frames)
		room = frames;
	while (done < room) {
		uint64_t n = room - done < FEED_PIECE ? room - done : FEED_PIECE;
		ring_write(&s->ring, buf + done * s->frame_bytes, n);
		feed_published(s);
		done += n;
	}
	return (size_t)done;
}

long feed_write(struct lull_stream *s, const void *buf, size_t frames)
{
	const uint8_t *p = buf;
	size_t done = 0;
	int err = conn_broken(s->l);

	if (err)
		return err;
	while (done < frames) {
		size_t n = feed_put(s, p + done * s->frame_bytes, frames - done);

		done += n;
		if (n || done == frames)
			continue;
		err = feed_wait(s);
		if (err)
			return done ? (long)done : err;
	}
	return (long)done;
}

/* --- callback mode ----------------------------------------------------------- */

/* Lets the callback write straight into the ring, one contiguous area at
 * a time (two when the free space wraps). Returns 1 once the callback has
 * ended the stream by giving fewer frames than asked. */
static int feed_fill(struct lull_stream *s)
{
	uint64_t room = ring_writable(&s->ring);

	while (room && !atomic_load(&s->quit)) {
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

static void *feed_thread(void *arg)
{
	struct lull_stream *s = arg;
	int err = 0;

	while (!atomic_load(&s->quit)) {
		err = conn_broken(s->l);
		if (err || feed_fill(s))
			break;
		if (ring_writable(&s->ring))
			continue;
		err = feed_wait(s);
		if (err == -EINTR)
			err = 0;
		if (err)
			break;
	}
	atomic_store(&s->thread_err, err);
	feed_signal(s->end_efd);
	return NULL;
}

/* The thread takes no signals: they belong to the application's threads
 * (a Ctrl-C must interrupt the application's own waits). */
int feed_thread_start(struct lull_stream *s)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&s->thread, NULL, feed_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	s->joined = err != 0;
	return err;
}

/* Waits for the thread's end: a poll, so that a signal handler can
 * interrupt the wait (pthread_join cannot be). */
static int feed_thread_ended(struct lull_stream *s)
{
	struct pollfd p = { .fd = s->end_efd, .events = POLLIN };

	while (poll(&p, 1, -1) < 0) {
		if (errno == EINTR)
			return -EINTR;
	}
	return 0;
}

static int feed_thread_reap(struct lull_stream *s, int intr)
{
	int err = 0;

	pthread_mutex_lock(&s->join_lock);
	if (!s->joined) {
		err = intr ? feed_thread_ended(s) : 0;
		if (!err) {
			pthread_join(s->thread, NULL);
			s->joined = 1;
		}
	}
	pthread_mutex_unlock(&s->join_lock);
	return err ? err : atomic_load(&s->thread_err);
}

int feed_thread_join(struct lull_stream *s)
{
	return feed_thread_reap(s, 1);
}

void feed_thread_stop(struct lull_stream *s)
{
	atomic_store(&s->quit, 1);
	feed_signal(s->wake_efd);
	feed_thread_reap(s, 0);
}
