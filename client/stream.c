/* liblull streams: creation, control requests, position. See lull.h. */
#include "client/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* --- requests -------------------------------------------------------------- */

static int stream_op(struct lull *l, uint32_t id, uint32_t type, int flags)
{
	struct proto_stream_op op = {
		.hdr = { .type = type, .stream = id },
	};
	struct conn_msg msg;
	int err = conn_request(l, &op, sizeof op, &msg, flags);

	return err ? err : conn_reply_result(&msg, type);
}

int lull_stream_start(struct lull_stream *s)
{
	return stream_op(s->l, s->id, PROTO_STREAM_START, 0);
}

int lull_stream_pause(struct lull_stream *s)
{
	return stream_op(s->l, s->id, PROTO_STREAM_PAUSE, 0);
}

int lull_stream_resume(struct lull_stream *s)
{
	return stream_op(s->l, s->id, PROTO_STREAM_RESUME, 0);
}

static int stream_volume_ok(float v)
{
	return isfinite(v) && v >= 0.0f && v <= 4.0f;
}

int lull_stream_set_volume(struct lull_stream *s, float volume)
{
	struct proto_stream_volume req = {
		.hdr = { .type = PROTO_STREAM_VOLUME, .stream = s->id },
		.volume = volume,
	};
	struct conn_msg msg;
	int err;

	if (!stream_volume_ok(volume))
		return -EINVAL;
	err = conn_request(s->l, &req, sizeof req, &msg, 0);
	return err ? err : conn_reply_result(&msg, PROTO_STREAM_VOLUME);
}

/* In callback mode the last frames come from the callback: wait until it
 * has ended the stream, then for lulld to play what it gave. */
int lull_stream_drain(struct lull_stream *s)
{
	if (s->process) {
		int err = feed_thread_join(s);

		if (err)
			return err;
	}
	return stream_op(s->l, s->id, PROTO_STREAM_DRAIN, CONN_INTR);
}

/* --- writing ----------------------------------------------------------------- */

long lull_stream_write(struct lull_stream *s, const void *buf, size_t frames)
{
	if (s->process || (!buf && frames))
		return -EINVAL;
	return feed_write(s, buf, frames);
}

long lull_stream_writable(struct lull_stream *s)
{
	return s->process ? -EINVAL : feed_writable(s);
}

/* --- position ------------------------------------------------------------------ */

static int64_t stream_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Frames written, frames heard by now, and the card clock ratio.
 *
 * lulld publishes "stream frame F is at the DAC at time T". While the
 * stream runs, the DAC has moved on since T at the stream rate times the
 * card clock ratio:
 *
 *	played = F + (now - T) * rate * ratio / 1e9,  clamped to [F, written]
 *
 * (T may lie ahead of now when lulld publishes where a frame will be
 * heard: the clamp then holds played at F.) Stopped or paused: played = F.
 * Before lulld has published anything nothing has been played. */
static int stream_played(struct lull_stream *s, uint64_t *written,
			 uint64_t *played, double *ratio)
{
	uint32_t flags;
	uint64_t frame, rate_ppm, latency_ns;
	int64_t t_ns;
	int err;

	*written = atomic_load_explicit(&s->written, memory_order_acquire);
	err = shm_position_read(&s->hdr->pos, &flags, &frame, &t_ns, &rate_ppm,
				&latency_ns);
	if (err)
		return err;
	/* A ratio outside 0.5..2 is not a sound card clock. */
	*ratio = rate_ppm >= 500000 && rate_ppm <= 2000000 ? rate_ppm / 1e6 : 1.0;
	if (!(flags & SHM_POS_VALID))
		frame = 0;
	else if (flags & SHM_POS_RUNNING) {
		double ahead = (double)(stream_now_ns() - t_ns) * s->rate *
			       *ratio / 1e9;

		if (ahead > 0)
			frame += ahead < (double)*written ? (uint64_t)ahead : *written;
	}
	*played = frame < *written ? frame : *written;
	return 0;
}

int lull_stream_position(struct lull_stream *s, uint64_t *written,
			 uint64_t *played)
{
	double ratio;

	return stream_played(s, written, played, &ratio);
}

/* Frames queued ahead of the DAC, played out at rate * ratio frames per
 * second of CLOCK_MONOTONIC. */
int lull_stream_delay(struct lull_stream *s, int64_t *delay_ns)
{
	uint64_t written, played;
	double ratio;
	int err = stream_played(s, &written, &played, &ratio);

	if (!err)
		*delay_ns = (int64_t)((double)(written - played) * 1e9 /
				      (s->rate * ratio));
	return err;
}

unsigned lull_stream_latency_us(const struct lull_stream *s)
{
	return s->latency_us;
}

/* --- creation ------------------------------------------------------------------- */

static int stream_params_ok(const struct lull_stream_params *p)
{
	return p->rate >= 1000 && p->rate <= 384000 && p->channels >= 1 &&
	       p->channels <= 8 && (unsigned)p->format <= LULL_FLOAT &&
	       p->latency_ms <= UINT32_MAX / 1000 && stream_volume_ok(p->volume);
}

/* S24 travels in 4 bytes, as in ALSA's S24_LE. */
static uint32_t stream_sample_bytes(enum lull_format f)
{
	return f == LULL_S16 ? 2 : 4;
}

static struct lull_stream *stream_alloc(struct lull *l,
					const struct lull_stream_params *p)
{
	struct lull_stream *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->l = l;
	s->rate = p->rate;
	s->frame_bytes = stream_sample_bytes(p->format) * p->channels;
	s->client_efd = s->server_efd = s->wake_efd = s->end_efd = -1;
	s->joined = 1;
	s->node.next = s->node.prev = &s->node;
	pthread_mutex_init(&s->join_lock, NULL);
	return s;
}

static void stream_free(struct lull_stream *s)
{
	if (s->hdr)
		shm_unmap(s->hdr, s->shm_bytes);
	if (s->client_efd >= 0)
		close(s->client_efd);
	if (s->server_efd >= 0)
		close(s->server_efd);
	if (s->wake_efd >= 0)
		close(s->wake_efd);
	if (s->end_efd >= 0)
		close(s->end_efd);
	pthread_mutex_destroy(&s->join_lock);
	free(s);
}

static int stream_request_new(struct lull_stream *s,
			      const struct lull_stream_params *p,
			      struct conn_msg *msg)
{
	struct proto_stream_new req = {
		.hdr.type = PROTO_STREAM_NEW,
		.direction = PROTO_PLAYBACK,
		.rate = p->rate,
		.channels = p->channels,
		.format = (uint32_t)p->format,
		.latency_us = p->latency_ms * 1000,
		.flags = p->start_paused ? PROTO_START_PAUSED : 0,
		.volume = p->volume > 0.0f ? p->volume : 1.0f,
	};

	return conn_request(s->l, &req, sizeof req, msg, 0);
}

/* Maps the stream's memory and checks that it holds the ring lulld
 * announced, in our frame size. */
static int stream_map(struct lull_stream *s, int memfd, uint64_t ring_frames)
{
	uint64_t data, room;
	int err = shm_map(memfd, &s->hdr, &s->shm_bytes);

	if (err)
		return err == -ENOMEM ? err : LULL_EPROTO;
	data = (uint64_t)((uint8_t *)shm_data(s->hdr) - (uint8_t *)s->hdr);
	room = data < s->shm_bytes ? s->shm_bytes - data : 0;
	if (!ring_frames || s->hdr->frame_bytes != s->frame_bytes ||
	    ring_frames > room / s->frame_bytes)
		return LULL_EPROTO;
	ring_init_producer(&s->ring, &s->hdr->ring, shm_data(s->hdr),
			   ring_frames, s->frame_bytes);
	atomic_store(&s->written, ring_position(&s->ring));
	return 0;
}

/* Takes over the three descriptors of a successful STREAM_MADE. */
static int stream_setup(struct lull_stream *s, struct conn_msg *msg)
{
	const struct proto_stream_made *made = &msg->u.made;
	int err;

	if (msg->nfds != 3) {
		conn_msg_close_fds(msg);
		return LULL_EPROTO;
	}
	s->client_efd = msg->fds[1];
	s->server_efd = msg->fds[2];
	/* Our ends of lulld's wake-up pipes never block us. */
	fcntl(s->client_efd, F_SETFL, O_NONBLOCK);
	fcntl(s->server_efd, F_SETFL, O_NONBLOCK);
	err = stream_map(s, msg->fds[0], made->ring_frames);
	close(msg->fds[0]);
	msg->nfds = 0;
	return err;
}

/* Reads lulld's answer: its error, or a working stream. */
static int stream_made(struct lull_stream *s, struct conn_msg *msg)
{
	const struct proto_stream_made *made = &msg->u.made;

	if (!conn_msg_is(msg, PROTO_STREAM_MADE) || made->result > 0 ||
	    (made->result < 0 && msg->nfds)) {
		conn_msg_close_fds(msg);
		return LULL_EPROTO;
	}
	if (made->result < 0)
		return made->result;
	s->id = made->hdr.stream;
	s->latency_us = made->latency_us;
	return stream_setup(s, msg);
}

static int stream_callback_setup(struct lull_stream *s, lull_process_fn process,
				 void *user)
{
	s->process = process;
	s->user = user;
	s->wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->end_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_efd < 0 || s->end_efd < 0)
		return -errno;
	return feed_thread_start(s);
}

int lull_stream_new(struct lull_stream **out, struct lull *l,
		    const struct lull_stream_params *p,
		    lull_process_fn process, void *user)
{
	struct lull_stream *s;
	struct conn_msg msg;
	int err;

	if (!stream_params_ok(p))
		return -EINVAL;
	s = stream_alloc(l, p);
	if (!s)
		return -ENOMEM;
	err = stream_request_new(s, p, &msg);
	if (!err)
		err = stream_made(s, &msg);
	if (!err && process)
		err = stream_callback_setup(s, process, user);
	if (err) {
		/* lulld made a stream we cannot use: have it gone. */
		if (s->id)
			stream_op(l, s->id, PROTO_STREAM_CLOSE, 0);
		stream_free(s);
		return err;
	}
	conn_attach(l, &s->node);
	*out = s;
	return 0;
}

/* The stream is freed whatever lulld answers: if lulld is gone, so is
 * the stream on its side. */
int lull_stream_close(struct lull_stream *s)
{
	int err;

	if (!s)
		return 0;
	if (s->process)
		feed_thread_stop(s);
	err = stream_op(s->l, s->id, PROTO_STREAM_CLOSE, 0);
	conn_detach(s->l, &s->node);
	stream_free(s);
	return err;
}
