/* Getting audio out of a capture stream's ring: blocking reads (read
 * mode), the stream's own thread that calls the capture callback
 * (callback mode), and when each frame was sampled.
 *
 * lulld is the ring's producer: after every delivery (about every
 * request_frames) it writes a byte to our wake-up pipe. Both modes are
 * the ring's single consumer: they take whatever the ring holds, then
 * sleep on the pipe. lulld needs no wake-up from us: it never waits for
 * a capture client. When the ring is full lulld drops the newest frames
 * and counts them in hdr->overruns. */
#include "client/stream.h"

#include <errno.h>
#include <stdlib.h>

enum {
	CAPTURE_SCRATCH_MIN = 4096,	/* frames given to a callback, at most */
};

/* After frames left the ring: position readers see them. (ring_read and
 * ring_release have already told lulld.) */
static void capture_published(struct lull_stream *s)
{
	atomic_store_explicit(&s->index, ring_position(&s->ring),
			      memory_order_release);
}

/* --- read mode --------------------------------------------------------------- */

long capture_readable(struct lull_stream *s)
{
	int err = conn_broken(s->l);

	return err ? err : (long)ring_readable(&s->ring);
}

/* Takes as much as the ring holds now, up to `left` frames, into buf at
 * `done` frames; returns frames taken. */
static size_t capture_take(struct lull_stream *s, void *buf, size_t done, size_t left)
{
	uint64_t n = ring_readable(&s->ring);

	if (n > left)
		n = left;
	if (n) {
		ring_read(&s->ring, (uint8_t *)buf + done * s->frame_bytes, n);
		capture_published(s);
	}
	return (size_t)n;
}

long capture_read(struct lull_stream *s, void *buf, size_t frames)
{
	return stream_blocking(s, frames, capture_take, buf);
}

/* --- callback mode ----------------------------------------------------------- */

/* Gives the callback what the ring holds, a scratch buffer at a time (the
 * ring has no contiguous read area to lend, and a copy of a few thousand
 * frames costs nothing beside a wake-up). Returns 1 once the callback has
 * ended the stream by taking fewer frames than given. */
static int capture_deliver(struct lull_stream *s)
{
	uint64_t n;

	while ((n = ring_readable(&s->ring)) && !worker_quitting(&s->worker)) {
		size_t got;

		if (n > s->scratch_frames)
			n = s->scratch_frames;
		ring_peek(&s->ring, 0, s->scratch, n);
		got = s->capture(s->user, s->scratch, (size_t)n);
		if (got > n)
			got = (size_t)n;
		ring_release(&s->ring, got);
		capture_published(s);
		if (got < n)
			return 1;
	}
	return 0;
}

static int capture_thread(void *arg)
{
	struct lull_stream *s = arg;
	int err = 0;

	while (!worker_quitting(&s->worker)) {
		err = conn_broken(s->l);
		if (err || capture_deliver(s))
			break;
		err = stream_wait(s);
		if (err == -EINTR || err == -ECANCELED)
			err = 0;
		if (err)
			break;
	}
	return err;
}

/* The scratch buffer holds a delivery or two, and no more than the ring. */
static int capture_scratch(struct lull_stream *s)
{
	uint64_t n = 2 * s->request_frames;

	if (n < CAPTURE_SCRATCH_MIN)
		n = CAPTURE_SCRATCH_MIN;
	if (n > s->ring.frames)
		n = s->ring.frames;
	s->scratch_frames = (size_t)n;
	s->scratch = malloc(s->scratch_frames * s->frame_bytes);
	return s->scratch ? 0 : -ENOMEM;
}

int capture_thread_start(struct lull_stream *s)
{
	int err = worker_open(&s->worker);

	s->stop_fd = worker_stop_fd(&s->worker);
	if (!err)
		err = capture_scratch(s);
	return err ? err : worker_start(&s->worker, capture_thread, s);
}

int lull_capture_new(struct lull_stream **out, struct lull *l,
		     const struct lull_stream_params *p, lull_capture_fn cb,
		     void *user)
{
	struct lull_stream *s;
	int err;

	if (!cb)
		return -EINVAL;
	err = stream_open(&s, l, p, LULL_CAPTURE);
	if (err)
		return err;
	s->capture = cb;
	s->user = user;
	err = capture_thread_start(s);
	if (err) {
		stream_shut(s);
		return err;
	}
	conn_attach(l, &s->node);
	*out = s;
	return 0;
}

/* --- timing ------------------------------------------------------------------------ */

/* Frames in the ring, as a reader on any thread may see them: lulld's
 * index clamped as ring_readable would. */
static uint64_t capture_fill(const struct lull_stream *s, uint64_t read)
{
	uint64_t d = atomic_load_explicit(&s->hdr->ring.write,
					  memory_order_acquire) - read;

	if (d > INT64_MAX)
		return 0;
	return d < s->ring.frames ? d : s->ring.frames;
}

int capture_position(struct lull_stream *s, uint64_t *captured, uint64_t *read)
{
	*read = atomic_load_explicit(&s->index, memory_order_acquire);
	*captured = *read + capture_fill(s, *read);
	return 0;
}

/* lulld publishes F, the ring's write index after a delivery, and T, when
 * the ADC sampled the frame that will get index F next; frames before F
 * were sampled one per 1 / (rate * ratio) s before it (stream_frame_ns).
 * The oldest unread frame is ring frame `read`: it has waited since it
 * was sampled. Before lulld has
 * published anything, all we know is that the ring's frames were sampled
 * one after another: at least fill / rate ago. */
int capture_delay(struct lull_stream *s, int64_t *delay_ns)
{
	uint64_t read = atomic_load_explicit(&s->index, memory_order_acquire);
	int64_t t;
	int err = stream_frame_ns(s, read, SHM_POS_VALID, &t);

	if (err == -EAGAIN) {
		*delay_ns = (int64_t)((double)capture_fill(s, read) * 1e9 / s->rate);
		return 0;
	}
	if (!err) {
		t = stream_now_ns() - t;
		*delay_ns = t > 0 ? t : 0;
	}
	return err;
}
