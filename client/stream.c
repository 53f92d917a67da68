/* liblull streams: creation, control requests, waiting, playback position,
 * and the public calls that look at what kind of stream they are given.
 * See lull.h. */
#include "client/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/duplex.h"

/* --- requests -------------------------------------------------------------- */

int stream_request(struct lull_stream *s, uint32_t type, int flags)
{
	struct proto_stream_op op = {
		.hdr = { .type = type, .stream = s->id },
	};
	struct conn_msg msg;
	int err = conn_request(s->l, &op, sizeof op, &msg, flags);

	return err ? err : conn_reply_result(&msg, type);
}

/* A duplex handle sends each request to both of its halves. */
static int stream_control(struct lull_stream *s, uint32_t type)
{
	return s->duplex ? duplex_request(s->duplex, type) :
			   stream_request(s, type, 0);
}

int lull_stream_start(struct lull_stream *s)
{
	return stream_control(s, PROTO_STREAM_START);
}

int lull_stream_pause(struct lull_stream *s)
{
	return stream_control(s, PROTO_STREAM_PAUSE);
}

int lull_stream_resume(struct lull_stream *s)
{
	return stream_control(s, PROTO_STREAM_RESUME);
}

static int stream_volume_ok(float v)
{
	return isfinite(v) && v >= 0.0f && v <= 4.0f;
}

int stream_send_volume(struct lull_stream *s, float volume)
{
	struct proto_stream_volume req = {
		.hdr = { .type = PROTO_STREAM_VOLUME, .stream = s->id },
		.volume = volume,
	};
	struct conn_msg msg;
	int err = conn_request(s->l, &req, sizeof req, &msg, 0);

	return err ? err : conn_reply_result(&msg, PROTO_STREAM_VOLUME);
}

int lull_stream_set_volume(struct lull_stream *s, float volume)
{
	if (!stream_volume_ok(volume))
		return -EINVAL;
	return s->duplex ? duplex_set_volume(s->duplex, volume) :
			   stream_send_volume(s, volume);
}

/* In callback mode the stream ends when the callback says so: wait for
 * that, then (playback) for lulld to play what it gave. A capture stream
 * is answered at once. */
int lull_stream_drain(struct lull_stream *s)
{
	if (s->duplex)
		return duplex_drain(s->duplex);
	if (s->process || s->capture) {
		int err = worker_join(&s->worker);

		if (err)
			return err;
	}
	return stream_request(s, PROTO_STREAM_DRAIN, CONN_INTR);
}

/* --- moving audio ------------------------------------------------------------ */

static int stream_is_write_mode(const struct lull_stream *s)
{
	return !s->duplex && s->dir == LULL_PLAYBACK && !s->process;
}

static int stream_is_read_mode(const struct lull_stream *s)
{
	return !s->duplex && s->dir == LULL_CAPTURE && !s->capture;
}

long lull_stream_write(struct lull_stream *s, const void *buf, size_t frames)
{
	if (!stream_is_write_mode(s) || (!buf && frames))
		return -EINVAL;
	return feed_write(s, buf, frames);
}

long lull_stream_writable(struct lull_stream *s)
{
	return stream_is_write_mode(s) ? feed_writable(s) : -EINVAL;
}

long lull_stream_read(struct lull_stream *s, void *buf, size_t frames)
{
	if (!stream_is_read_mode(s) || (!buf && frames))
		return -EINVAL;
	return capture_read(s, buf, frames);
}

long lull_stream_readable(struct lull_stream *s)
{
	return stream_is_read_mode(s) ? capture_readable(s) : -EINVAL;
}

/* Sleeps on lulld's pipe, the socket's hangup and our stop descriptor.
 * The pipe is read right after poll reports it, before the caller looks
 * at the ring again: a wake-up that arrives later stays counted and ends
 * the next poll. */
int stream_wait(struct lull_stream *s)
{
	struct pollfd p[3] = {
		{ .fd = s->client_efd, .events = POLLIN },
		{ .fd = conn_fd(s->l), .events = 0 },	/* hangup only */
		{ .fd = s->stop_fd, .events = POLLIN },
	};
	char buf[512];
	ssize_t n;

	if (poll(p, s->stop_fd >= 0 ? 3 : 2, -1) < 0)
		return errno == EINTR ? -EINTR : -errno;
	if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
		conn_set_gone(s->l);
		return LULL_EGONE;
	}
	if (p[2].revents & POLLIN)
		return -ECANCELED;
	/* Empty the pipe: after a stall it may hold many wake-ups, each of
	 * which would otherwise cost a pass of the caller's loop. */
	while ((p[0].revents & POLLIN) &&
	       (n = read(s->client_efd, buf, sizeof buf)) == (ssize_t)sizeof buf)
		;
	if ((p[0].revents & POLLIN) && n < 0 && errno != EAGAIN)
		return -errno;
	if (p[0].revents & POLLHUP) {	/* lulld dropped the stream */
		conn_set_gone(s->l);
		return LULL_EGONE;
	}
	return 0;
}

long stream_blocking(struct lull_stream *s, size_t frames, stream_step_fn step,
		     void *arg)
{
	size_t done = 0;
	int err = conn_broken(s->l);

	if (err)
		return err;
	while (done < frames) {
		size_t n = step(s, arg, done, frames - done);

		done += n;
		if (n || done == frames)
			continue;
		err = stream_wait(s);
		if (err)
			return done ? (long)done : err;
	}
	return (long)done;
}

/* --- position ------------------------------------------------------------------ */

int64_t stream_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int stream_pos(const struct lull_stream *s, uint32_t *flags, uint64_t *frame,
	       int64_t *t_ns, double *ratio)
{
	uint64_t rate_ppm, latency_ns;
	int err = shm_position_read(&s->hdr->pos, flags, frame, t_ns, &rate_ppm,
				    &latency_ns);

	/* A ratio outside 0.5..2 is not a sound card clock. */
	*ratio = rate_ppm >= 500000 && rate_ppm <= 2000000 ? rate_ppm / 1e6 : 1.0;
	return err;
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
	uint64_t frame;
	int64_t t_ns;
	int err;

	*written = atomic_load_explicit(&s->index, memory_order_acquire);
	err = stream_pos(s, &flags, &frame, &t_ns, ratio);
	if (err)
		return err;
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

	if (s->duplex)
		return -EINVAL;
	if (s->dir == LULL_CAPTURE)
		return capture_position(s, written, played);
	return stream_played(s, written, played, &ratio);
}

/* Frames queued ahead of the DAC, played out at rate * ratio frames per
 * second of CLOCK_MONOTONIC. */
int lull_stream_delay(struct lull_stream *s, int64_t *delay_ns)
{
	uint64_t written, played;
	double ratio;
	int err;

	if (s->duplex)
		return -EINVAL;
	if (s->dir == LULL_CAPTURE)
		return capture_delay(s, delay_ns);
	err = stream_played(s, &written, &played, &ratio);
	if (!err)
		*delay_ns = (int64_t)((double)(written - played) * 1e9 /
				      (s->rate * ratio));
	return err;
}

/* Frames at rate * ratio frames per second of CLOCK_MONOTONIC, in ns,
 * rounded (liblull links no libm: no llround). */
int64_t stream_frames_ns(const struct lull_stream *s, int64_t frames,
			 double ratio)
{
	double ns = (double)frames * 1e9 / (s->rate * ratio);

	return (int64_t)(ns < 0 ? ns - 0.5 : ns + 0.5);
}

/* Frame `frame` is (frame - F) frames after F, at rate * ratio frames
 * per second:
 *
 *	t = T + (frame - F) * 1e9 / (rate * ratio)
 *
 * (frame - F) may be negative: an earlier frame. Playback publishes when
 * F is heard; only a running stream has a timeline (a paused or dry one
 * may resume anywhere). Capture publishes when F was sampled, F being the
 * next frame it will deliver; frames older than an overrun were sampled
 * earlier than the line says, by the stretch lulld dropped. */
int stream_frame_ns(const struct lull_stream *s, uint64_t frame, uint32_t need,
		    int64_t *t_ns)
{
	uint32_t flags;
	uint64_t f;
	int64_t t;
	double ratio;
	int err = stream_pos(s, &flags, &f, &t, &ratio);

	if (err)
		return err;
	if ((flags & need) != need)
		return -EAGAIN;
	*t_ns = t + stream_frames_ns(s, (int64_t)(frame - f), ratio);
	return 0;
}

uint64_t lull_stream_overruns(const struct lull_stream *s)
{
	if (s->duplex)
		return duplex_overruns(s->duplex);
	return s->dir == LULL_CAPTURE ? atomic_load(&s->hdr->overruns) : 0;
}

unsigned lull_stream_latency_us(const struct lull_stream *s)
{
	return s->duplex ? duplex_latency_us(s->duplex) : s->latency_us;
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
					const struct lull_stream_params *p,
					enum lull_direction dir)
{
	struct lull_stream *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->l = l;
	s->dir = dir;
	s->rate = p->rate;
	s->frame_bytes = stream_sample_bytes(p->format) * p->channels;
	s->client_efd = s->server_efd = s->stop_fd = -1;
	s->node.next = s->node.prev = &s->node;
	worker_init(&s->worker);
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
	worker_fini(&s->worker);
	free(s->scratch);
	free(s);
}

static int stream_request_new(struct lull_stream *s,
			      const struct lull_stream_params *p,
			      struct conn_msg *msg)
{
	struct proto_stream_new req = {
		.hdr.type = PROTO_STREAM_NEW,
		.direction = s->dir == LULL_CAPTURE ? PROTO_CAPTURE : PROTO_PLAYBACK,
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
 * announced, in our frame size. We produce into a playback ring and
 * consume from a capture ring. */
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
	if (s->dir == LULL_CAPTURE)
		ring_init_consumer(&s->ring, &s->hdr->ring, shm_data(s->hdr),
				   ring_frames, s->frame_bytes);
	else
		ring_init_producer(&s->ring, &s->hdr->ring, shm_data(s->hdr),
				   ring_frames, s->frame_bytes);
	atomic_store(&s->index, ring_position(&s->ring));
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
	s->request_frames = made->request_frames;
	return stream_setup(s, msg);
}

int stream_open(struct lull_stream **out, struct lull *l,
		const struct lull_stream_params *p, enum lull_direction dir)
{
	struct lull_stream *s;
	struct conn_msg msg;
	int err;

	if (!stream_params_ok(p))
		return -EINVAL;
	s = stream_alloc(l, p, dir);
	if (!s)
		return -ENOMEM;
	err = stream_request_new(s, p, &msg);
	if (!err)
		err = stream_made(s, &msg);
	if (err) {
		stream_shut(s);
		return err;
	}
	*out = s;
	return 0;
}

/* lulld may have made a stream we cannot use (s->id set, err): have it
 * gone all the same. The stream is freed whatever lulld answers: if lulld
 * is gone, so is the stream on its side. */
int stream_shut(struct lull_stream *s)
{
	int err = 0;

	worker_stop(&s->worker);
	if (s->id)
		err = stream_request(s, PROTO_STREAM_CLOSE, 0);
	stream_free(s);
	return err;
}

static int stream_callback_setup(struct lull_stream *s, lull_process_fn process,
				 void *user)
{
	int err = worker_open(&s->worker);

	s->process = process;
	s->user = user;
	s->stop_fd = worker_stop_fd(&s->worker);
	return err ? err : feed_thread_start(s);
}

int lull_stream_new(struct lull_stream **out, struct lull *l,
		    const struct lull_stream_params *p,
		    lull_process_fn process, void *user)
{
	struct lull_stream *s;
	int err;

	if ((unsigned)p->direction > LULL_CAPTURE ||
	    (p->direction == LULL_CAPTURE && process))
		return -EINVAL;
	err = stream_open(&s, l, p, p->direction);
	if (err)
		return err;
	if (process) {
		err = stream_callback_setup(s, process, user);
		if (err) {
			stream_shut(s);
			return err;
		}
	}
	conn_attach(l, &s->node);
	*out = s;
	return 0;
}

int lull_stream_close(struct lull_stream *s)
{
	int err;

	if (!s)
		return 0;
	conn_detach(s->l, &s->node);
	if (!s->duplex)
		return stream_shut(s);
	err = duplex_close(s->duplex);
	free(s);
	return err;
}
