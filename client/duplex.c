/* Duplex streams: a block of input in, the callback, a block of output
 * out, on one thread. See duplex.h and lull.h.
 *
 * The two halves run on the same card clock, so once the output has a
 * head start it keeps it: one block read, one block written. The head
 * start (the prime, silence written before the first block) must cover
 * the longest a block's output can come after its input was sampled:
 *
 *	ADC ---- capture latency ---- readable ---- rest of the block ----
 *	    ---- callback, write ---- lulld mixes it in, up to its fill
 *	    target ahead of the DAC (it rewinds a dry stream at most every
 *	    10 ms) ---- DAC
 *
 * hence capture latency + one block + the fill target + DUPLEX_MARGIN_MS. The round trip
 * the application sees is about the prime; lull_duplex_roundtrip measures
 * it exactly from both halves' published positions. */
#include "client/duplex.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "client/stream.h"

enum {
	DUPLEX_MARGIN_MS = 15,	/* lulld's rewind pace, a safeguard, jitter */
	DUPLEX_CAPTURE_DEFAULT_MS = 20,	/* lulld's default capture latency */
};

struct duplex {
	struct lull_stream *in, *out;
	size_t block;		/* frames per callback */
	lull_duplex_fn cb;
	void *user;
	uint8_t *inbuf, *outbuf;
	uint64_t prime;		/* frames of silence before the first block */
	struct worker worker;

	/* The last callback's block: ring frame of its first input frame
	 * (capture ring) and of its first output frame (playback ring). */
	pthread_mutex_t lock;
	int have_last;
	uint64_t last_in, last_out;
};

/* --- the thread ------------------------------------------------------------------ */

/* Moves frames through one half until all have gone, or an error: the
 * read and the write stop early only on a signal (none reach this
 * thread), a stop (-ECANCELED) or lulld's end. */
static int duplex_move(struct lull_stream *s, uint8_t *buf, size_t frames,
		       long (*io)(struct lull_stream *, void *, size_t))
{
	size_t done = 0;

	while (done < frames) {
		long n = io(s, buf + done * s->frame_bytes, frames - done);

		if (n < 0 && n != -EINTR)
			return (int)n;
		if (n > 0)
			done += (size_t)n;
	}
	return 0;
}

static long duplex_read(struct lull_stream *s, void *buf, size_t frames)
{
	return capture_read(s, buf, frames);
}

static long duplex_write(struct lull_stream *s, void *buf, size_t frames)
{
	return feed_write(s, buf, frames);
}

/* Input captured before the output exists would only lengthen the round
 * trip: the first block is the one sampled once the output starts. Then
 * the head start, in block-sized pieces of silence. */
static int duplex_prime(struct duplex *d)
{
	uint64_t left = d->prime;
	long stale = capture_readable(d->in);
	int err = 0;

	while (stale > 0 && !err) {
		size_t n = (size_t)stale < d->block ? (size_t)stale : d->block;

		err = duplex_move(d->in, d->inbuf, n, duplex_read);
		stale -= (long)n;
	}
	memset(d->outbuf, 0, d->block * d->out->frame_bytes);
	while (left && !err) {
		size_t n = left < d->block ? (size_t)left : d->block;

		err = duplex_move(d->out, d->outbuf, n, duplex_write);
		left -= n;
	}
	return err;
}

static void duplex_note(struct duplex *d, uint64_t in, uint64_t out)
{
	pthread_mutex_lock(&d->lock);
	d->last_in = in;
	d->last_out = out;
	d->have_last = 1;
	pthread_mutex_unlock(&d->lock);
}

/* One block in, one block out. Returns 1 once the callback has ended the
 * stream (its last block is written all the same), 0, or an error. */
static int duplex_cycle(struct duplex *d)
{
	uint64_t in = ring_position(&d->in->ring);
	uint64_t out = ring_position(&d->out->ring);
	int end, err = duplex_move(d->in, d->inbuf, d->block, duplex_read);

	if (err)
		return err;
	end = d->cb(d->user, d->inbuf, d->outbuf, d->block);
	duplex_note(d, in, out);
	err = duplex_move(d->out, d->outbuf, d->block, duplex_write);
	return err ? err : end != 0;
}

static int duplex_thread(void *arg)
{
	struct duplex *d = arg;
	int err = duplex_prime(d);

	while (!err && !worker_quitting(&d->worker))
		err = duplex_cycle(d);
	/* Ended by the callback, or told to stop: no error. */
	return err == 1 || err == -ECANCELED ? 0 : err;
}

/* --- requests ----------------------------------------------------------------------- */

int duplex_request(struct duplex *d, uint32_t type)
{
	int a = stream_request(d->in, type, 0);
	int b = stream_request(d->out, type, 0);

	return a ? a : b;
}

int duplex_set_volume(struct duplex *d, float volume)
{
	return stream_send_volume(d->out, volume);
}

/* The input's drain is answered at once; the output's once the last
 * block the callback gave has been heard. */
int duplex_drain(struct duplex *d)
{
	int err = worker_join(&d->worker);

	if (!err)
		err = stream_request(d->in, PROTO_STREAM_DRAIN, CONN_INTR);
	if (!err)
		err = stream_request(d->out, PROTO_STREAM_DRAIN, CONN_INTR);
	return err;
}

uint64_t duplex_overruns(const struct duplex *d)
{
	return lull_stream_overruns(d->in);
}

unsigned duplex_latency_us(const struct duplex *d)
{
	return d->in->latency_us + d->out->latency_us;
}

/* Halves that exist are closed; a half's close may fail once the other's
 * found lulld gone, and the first error tells. */
int duplex_close(struct duplex *d)
{
	int a = 0, b = 0;

	worker_stop(&d->worker);
	if (d->in)
		a = stream_shut(d->in);
	if (d->out)
		b = stream_shut(d->out);
	worker_fini(&d->worker);
	pthread_mutex_destroy(&d->lock);
	free(d->inbuf);
	free(d->outbuf);
	free(d);
	return a ? a : b;
}

/* --- round trip ------------------------------------------------------------------------ */

/* The last block's input frame was sampled at t_in (capture position) and
 * its output frame, written at the same time, plays at t_out (playback
 * position, running on without a break since):
 *
 *	round trip = t_out - t_in
 *
 * Both positions are read now, not at the callback: each is a straight
 * line through the card clock, and the latest publication is the best
 * point of it. */
int lull_duplex_roundtrip(struct lull_stream *s, int64_t *ns)
{
	struct duplex *d = s->duplex;
	uint64_t in, out;
	int64_t t_in, t_out;
	int have, err;

	if (!d)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	have = d->have_last;
	in = d->last_in;
	out = d->last_out;
	pthread_mutex_unlock(&d->lock);
	if (!have)
		return -EAGAIN;
	err = stream_frame_ns(d->in, in, SHM_POS_VALID, &t_in);
	if (!err)
		err = stream_frame_ns(d->out, out, SHM_POS_VALID | SHM_POS_RUNNING, &t_out);
	if (!err)
		*ns = t_out - t_in;
	return err;
}

/* --- creation ---------------------------------------------------------------------------- */

/* The capture half: gain 1, and a latency of at least one block (a block
 * cannot be read sooner than it takes to capture). */
static struct lull_stream_params duplex_in_params(const struct lull_stream_params *p,
						  size_t block)
{
	struct lull_stream_params in = *p;
	unsigned block_ms = (unsigned)((block * 1000 + p->rate - 1) / p->rate);

	in.volume = 1.0f;
	in.direction = LULL_CAPTURE;
	if (in.latency_ms ? in.latency_ms < block_ms :
			    block_ms > DUPLEX_CAPTURE_DEFAULT_MS)
		in.latency_ms = block_ms;
	return in;
}

/* Capture latency (or delivery chunk, if longer) + one block + how far
 * ahead of the DAC lulld mixes the output (half the playback latency it
 * granted: the other half is the ring) + margin. Less, and the output
 * runs dry now and then: each gap would lengthen the round trip for
 * good. */
static uint64_t duplex_prime_frames(const struct duplex *d)
{
	const struct lull_stream *in = d->in;
	uint64_t lat = (uint64_t)in->latency_us * in->rate / 1000000;
	uint64_t ahead = (uint64_t)d->out->latency_us / 2 * in->rate / 1000000;

	if (lat < in->request_frames)
		lat = in->request_frames;
	return lat + d->block + ahead + (uint64_t)DUPLEX_MARGIN_MS * in->rate / 1000;
}

static int duplex_open(struct duplex *d, struct lull *l,
		       const struct lull_stream_params *p)
{
	struct lull_stream_params in = duplex_in_params(p, d->block);
	struct lull_stream_params out = *p;
	int err;

	out.direction = LULL_PLAYBACK;
	err = stream_open(&d->in, l, &in, LULL_CAPTURE);
	if (!err)
		err = stream_open(&d->out, l, &out, LULL_PLAYBACK);
	if (err)
		return err;
	if (d->block > d->in->ring.frames)
		return -EINVAL;
	d->inbuf = malloc(d->block * d->in->frame_bytes);
	d->outbuf = malloc(d->block * d->out->frame_bytes);
	if (!d->inbuf || !d->outbuf)
		return -ENOMEM;
	d->prime = duplex_prime_frames(d);
	err = worker_open(&d->worker);
	d->in->stop_fd = d->out->stop_fd = worker_stop_fd(&d->worker);
	return err;
}

static struct duplex *duplex_alloc(size_t block, lull_duplex_fn cb, void *user)
{
	struct duplex *d = calloc(1, sizeof *d);

	if (!d)
		return NULL;
	d->block = block;
	d->cb = cb;
	d->user = user;
	worker_init(&d->worker);
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

/* The handle the application holds: a stream with nothing of its own. */
static struct lull_stream *duplex_handle(struct lull *l, struct duplex *d)
{
	struct lull_stream *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->l = l;
	s->duplex = d;
	s->rate = d->in->rate;
	s->frame_bytes = d->in->frame_bytes;
	s->client_efd = s->server_efd = s->stop_fd = -1;
	s->node.next = s->node.prev = &s->node;
	return s;
}

int lull_duplex_new(struct lull_stream **out, struct lull *l,
		    const struct lull_stream_params *p, size_t block_frames,
		    lull_duplex_fn cb, void *user)
{
	struct lull_stream *s = NULL;
	struct duplex *d;
	int err;

	if (!cb || !block_frames || block_frames > p->rate)
		return -EINVAL;
	d = duplex_alloc(block_frames, cb, user);
	if (!d)
		return -ENOMEM;
	err = duplex_open(d, l, p);
	if (!err && !(s = duplex_handle(l, d)))
		err = -ENOMEM;
	if (!err)
		err = worker_start(&d->worker, duplex_thread, d);
	if (err) {
		duplex_close(d);
		free(s);
		return err;
	}
	conn_attach(l, &s->node);
	*out = s;
	return 0;
}
