/* liblull against a fake lulld: a test fixture thread that listens on a
 * private socket and speaks the protocol by hand, one script per test, so
 * the library's requests, replies, descriptor passing, blocking and error
 * paths can be driven exactly: replies out of order, a server that dies
 * mid-write or mid-drain, another protocol version, malformed messages,
 * signals. The fixture is no model of lulld: it answers what each test
 * needs and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client/lull.h"
#include "ipc/proto.h"
#include "ipc/ring.h"
#include "ipc/shm.h"
#include "ipc/sock.h"

#define RATE 48000
#define CH 2
#define FB (CH * 2)		/* S16 stereo */
#define MAX_STREAMS 2

/* --- the fake server -------------------------------------------------------- */

/* The server side of one stream. */
struct fake_stream {
	uint32_t id;
	int memfd, cefd, sefd;	/* our ends of the wake-up pipes, as lulld's */
	int peer_c, peer_s;	/* the client's ends, until sent */
	struct shm_hdr *hdr;
	size_t bytes;
	struct ring ring;	/* ours: consumer (playback), producer (capture) */
};

struct fake;
typedef void (*fake_script)(struct fake *f);

struct fake {
	char dir[PATH_MAX - 128];
	char path[PATH_MAX];
	int lfd, cfd;
	pthread_t thread, tester;
	fake_script script;
	int bad;		/* line of the first failed check in the fixture */
	uint64_t ring_frames;	/* for the streams it makes */
	struct fake_stream st[MAX_STREAMS];
	int nst;
	int16_t got[RATE * CH];	/* audio consumed, in order */
	size_t ngot;		/* frames */
	size_t want;		/* frames fake_consume() waits for */
	size_t nput;		/* capture: frames fake_produce() delivered */
	uint32_t last_seq;	/* of the last request received */
	_Atomic int step;	/* script progress the test thread waits for */
	_Atomic int woken;	/* the test thread saw its signal */
};

/* cmocka's asserts must not run on the fixture's thread. */
#define FAKE_CHECK(f, cond) \
	do { \
		if (!(cond) && !(f)->bad) \
			(f)->bad = __LINE__; \
	} while (0)

static void fake_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* One message of the given type, or 0 length on end of stream. */
static ssize_t fake_recv(struct fake *f, void *buf, size_t len)
{
	int fds[SOCK_MAX_FDS], nfds;
	ssize_t n = sock_recv(f->cfd, buf, len, fds, SOCK_MAX_FDS, &nfds);

	FAKE_CHECK(f, n >= 0 && nfds == 0);
	if (n >= (ssize_t)sizeof(struct proto_hdr))
		f->last_seq = ((struct proto_hdr *)buf)->seq;
	return n;
}

static int fake_expect(struct fake *f, uint32_t type, void *buf, size_t len)
{
	struct proto_hdr *h = buf;
	ssize_t n = fake_recv(f, buf, len);

	FAKE_CHECK(f, n == (ssize_t)proto_size(type));
	FAKE_CHECK(f, n <= 0 || (h->type == type && h->length == (uint32_t)n &&
				 h->seq != 0));
	return n > 0 && h->type == type;
}

static void fake_send(struct fake *f, void *msg, size_t len, const int *fds,
		      int nfds)
{
	FAKE_CHECK(f, sock_send(f->cfd, msg, len, fds, nfds) == (ssize_t)len);
}

static void fake_welcome_version(struct fake *f, uint32_t version)
{
	struct proto_hello hello;
	struct proto_welcome w = {
		.hdr = { .length = sizeof w, .type = PROTO_WELCOME },
		.version = version, .rate = RATE, .channels = CH,
		.buffer_frames = RATE,
	};

	if (!fake_expect(f, PROTO_HELLO, &hello, sizeof hello))
		return;
	FAKE_CHECK(f, hello.version == PROTO_VERSION);
	FAKE_CHECK(f, !strcmp(hello.name, "unit"));
	w.hdr.seq = hello.hdr.seq;
	fake_send(f, &w, sizeof w, NULL, 0);
}

static void fake_welcome(struct fake *f)
{
	fake_welcome_version(f, PROTO_VERSION);
}

static void fake_reply(struct fake *f, uint32_t seq, uint32_t request, int32_t result)
{
	struct proto_reply r = {
		.hdr = { .length = sizeof r, .type = PROTO_REPLY, .seq = seq },
		.request = request, .result = result,
	};

	fake_send(f, &r, sizeof r, NULL, 0);
}

/* Expects a stream op (or volume) and returns its seq, 0 on a mismatch. */
static uint32_t fake_expect_op(struct fake *f, uint32_t type, uint32_t id)
{
	struct proto_stream_volume m;
	size_t len = type == PROTO_STREAM_VOLUME ? sizeof m :
		     sizeof(struct proto_stream_op);

	if (!fake_expect(f, type, &m, len))
		return 0;
	FAKE_CHECK(f, m.hdr.stream == id);
	return m.hdr.seq;
}

static void fake_answer_op(struct fake *f, uint32_t type, uint32_t id)
{
	uint32_t seq = fake_expect_op(f, type, id);

	if (seq)
		fake_reply(f, seq, type, 0);
}

/* Makes a stream as lulld would: sealed memfd, two wake-up pipes. */
static struct fake_stream *fake_make(struct fake *f,
				     const struct proto_stream_new *req)
{
	struct fake_stream *s = &f->st[f->nst];
	uint32_t fb = req->channels * (req->format == PROTO_S16 ? 2 : 4);

	s->id = (uint32_t)(7 + f->nst++);
	FAKE_CHECK(f, shm_create(&s->memfd, &s->hdr, &s->bytes, f->ring_frames,
				 fb) == 0);
	{
		int c[2], v[2];
		FAKE_CHECK(f, pipe2(c, O_CLOEXEC | O_NONBLOCK) == 0);
		FAKE_CHECK(f, pipe2(v, O_CLOEXEC | O_NONBLOCK) == 0);
		s->cefd = c[1];
		s->peer_c = c[0];
		s->sefd = v[0];
		s->peer_s = v[1];
	}
	if (req->direction == PROTO_CAPTURE)
		ring_init_producer(&s->ring, &s->hdr->ring, shm_data(s->hdr),
				   f->ring_frames, fb);
	else
		ring_init_consumer(&s->ring, &s->hdr->ring, shm_data(s->hdr),
				   f->ring_frames, fb);
	atomic_store(&s->hdr->request_frames, f->ring_frames / 2);
	atomic_store(&s->hdr->want_signal, 1);
	return s;
}

static void fake_send_made(struct fake *f, struct fake_stream *s, uint32_t seq)
{
	struct proto_stream_made m = {
		.hdr = { .length = sizeof m, .type = PROTO_STREAM_MADE,
			 .seq = seq, .stream = s->id },
		.ring_frames = (uint32_t)f->ring_frames,
		.shm_bytes = s->bytes,
		.latency_us = 25000,
		.request_frames = (uint32_t)(f->ring_frames / 2),
	};
	int fds[3] = { s->memfd, s->peer_c, s->peer_s };

	fake_send(f, &m, sizeof m, fds, 3);
	close(s->peer_c);
	close(s->peer_s);
	s->peer_c = s->peer_s = -1;
}

/* Answers a STREAM_NEW in direction dir with a working stream. */
static struct fake_stream *fake_stream_dir(struct fake *f, uint32_t dir)
{
	struct proto_stream_new req;
	struct fake_stream *s;

	if (!fake_expect(f, PROTO_STREAM_NEW, &req, sizeof req))
		return NULL;
	FAKE_CHECK(f, req.direction == dir && req.rate == RATE &&
		      req.channels == CH && req.format == PROTO_S16);
	s = fake_make(f, &req);
	fake_send_made(f, s, req.hdr.seq);
	return s;
}

static struct fake_stream *fake_stream(struct fake *f)
{
	return fake_stream_dir(f, PROTO_PLAYBACK);
}

/* Plays the audio thread: takes whatever the ring holds into f->got, and
 * tells the client once the fill is below request_frames, until f->want
 * frames have come. Gives up after 5 s. */
static void fake_consume(struct fake *f, struct fake_stream *s)
{
	char one = 1;

	for (int i = 0; f->ngot < f->want && i < 5000; i++) {
		uint64_t n = ring_readable(&s->ring);

		if (n > f->want - f->ngot)
			n = f->want - f->ngot;
		ring_read(&s->ring, f->got + f->ngot * CH, n);
		f->ngot += n;
		if (n)
			FAKE_CHECK(f, write(s->cefd, &one, 1) == 1);
		else
			fake_sleep_ms(1);
	}
	FAKE_CHECK(f, f->ngot == f->want);
}

/* The client hung up: the socket reads end of stream. */
static void fake_expect_eof(struct fake *f)
{
	char buf[256];

	FAKE_CHECK(f, fake_recv(f, buf, sizeof buf) == 0);
}

static void fake_free_streams(struct fake *f)
{
	for (int i = 0; i < f->nst; i++) {
		struct fake_stream *s = &f->st[i];

		shm_unmap(s->hdr, s->bytes);
		close(s->memfd);
		close(s->cefd);
		close(s->sefd);
		if (s->peer_c >= 0)
			close(s->peer_c);
		if (s->peer_s >= 0)
			close(s->peer_s);
	}
	f->nst = 0;
}

static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	struct pollfd p = { .fd = f->lfd, .events = POLLIN };

	/* The listening socket is non-blocking: wait for the client. */
	FAKE_CHECK(f, poll(&p, 1, 5000) == 1);
	f->cfd = sock_accept(f->lfd);
	FAKE_CHECK(f, f->cfd >= 0);
	if (f->cfd >= 0) {
		/* The fixture blocks on its socket like a simple server. */
		int fl = fcntl(f->cfd, F_GETFL);

		FAKE_CHECK(f, fcntl(f->cfd, F_SETFL, fl & ~O_NONBLOCK) == 0);
		f->script(f);
		if (f->cfd >= 0)
			close(f->cfd);
	}
	return NULL;
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/test_client.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/sock", f->dir);
	f->lfd = f->cfd = -1;
	f->ring_frames = 64;
	f->tester = pthread_self();
	*state = f;
	return 0;
}

/* Starts the fake server running script. */
static void fake_start(struct fake *f, fake_script script)
{
	f->lfd = sock_listen(f->path);
	assert_true(f->lfd >= 0);
	f->script = script;
	assert_int_equal(pthread_create(&f->thread, NULL, fake_thread, f), 0);
}

/* Waits for the script to end and checks it saw what it expected. */
static void fake_join(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
	f->lfd = -1;
	fake_free_streams(f);
	if (f->bad)
		fail_msg("fake server check failed at line %d", f->bad);
}

static int teardown(void **state)
{
	struct fake *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Hangs up on the client at once. */
static void fake_hangup(struct fake *f)
{
	close(f->cfd);
	f->cfd = -1;
}

/* Waits until the client has filled the stream's ring. */
static void fake_wait_full(struct fake *f, struct fake_stream *s)
{
	for (int i = 0; ring_readable(&s->ring) < f->ring_frames && i < 5000; i++)
		fake_sleep_ms(1);
	FAKE_CHECK(f, ring_readable(&s->ring) == f->ring_frames);
}

/* Interrupts the test thread's wait: SIGUSR1 again and again until it has
 * noticed, as a signal may land just before it starts waiting. */
static void fake_interrupt(struct fake *f)
{
	for (int i = 0; !atomic_load(&f->woken) && i < 500; i++) {
		pthread_kill(f->tester, SIGUSR1);
		fake_sleep_ms(10);
	}
	FAKE_CHECK(f, atomic_load(&f->woken));
}

static void fake_wait_step(struct fake *f, int step)
{
	for (int i = 0; atomic_load(&f->step) < step && i < 5000; i++)
		fake_sleep_ms(1);
	assert_true(atomic_load(&f->step) >= step);
}

/* --- test-thread helpers ----------------------------------------------------------- */

static const struct lull_stream_params params = {
	.rate = RATE, .channels = CH, .format = LULL_S16,
};

static struct lull *unit_connect(struct fake *f)
{
	struct lull *l = NULL;

	assert_int_equal(lull_connect(&l, f->path, "unit"), 0);
	return l;
}

static struct lull_stream *unit_stream(struct lull *l)
{
	struct lull_stream *s = NULL;

	assert_int_equal(lull_stream_new(&s, l, &params, NULL, NULL), 0);
	return s;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Frames whose samples count up from first. */
static void ramp(int16_t *buf, size_t frames, size_t first)
{
	for (size_t i = 0; i < frames * CH; i++)
		buf[i] = (int16_t)(first * CH + i);
}

static void nudged(int sig)
{
	(void)sig;
}

static void catch_sigusr1(void)
{
	struct sigaction sa = { .sa_handler = nudged };

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
}

/* --- connecting ------------------------------------------------------------------- */

static void test_no_server(void **state)
{
	struct fake *f = *state;
	struct lull *l = NULL;
	int fd;

	assert_int_equal(lull_connect(&l, f->path, "unit"), LULL_ENOSERVER);
	/* A socket file nobody listens on any more. */
	fd = sock_listen(f->path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(lull_connect(&l, f->path, "unit"), LULL_ENOSERVER);
	assert_null(l);
}

static void script_hello(struct fake *f)
{
	fake_welcome(f);
	fake_expect_eof(f);
}

static void test_hello(void **state)
{
	struct fake *f = *state;
	struct lull *l = NULL;
	int fds = count_fds();

	fake_start(f, script_hello);
	/* NULL: the socket named by $LULL_SOCKET. */
	setenv("LULL_SOCKET", f->path, 1);
	assert_int_equal(lull_connect(&l, NULL, "unit"), 0);
	unsetenv("LULL_SOCKET");
	lull_disconnect(l);
	fake_join(f);
	assert_int_equal(count_fds(), fds);
}

static void script_version(struct fake *f)
{
	fake_welcome_version(f, PROTO_VERSION + 1);
	fake_expect_eof(f);
}

/* lulld's way: it answers a hello of another version with a refusal. */
static void script_refuse_version(struct fake *f)
{
	struct proto_hello hello;

	if (!fake_expect(f, PROTO_HELLO, &hello, sizeof hello))
		return;
	fake_reply(f, hello.hdr.seq, PROTO_HELLO, -EPROTONOSUPPORT);
	fake_expect_eof(f);
}

static void test_version(void **state)
{
	struct fake *f = *state;
	struct lull *l = NULL;

	fake_start(f, script_version);
	assert_int_equal(lull_connect(&l, f->path, "unit"), LULL_EVERSION);
	fake_join(f);
	fake_start(f, script_refuse_version);
	assert_int_equal(lull_connect(&l, f->path, "unit"), LULL_EVERSION);
	fake_join(f);
}

static void script_hangup_at_hello(struct fake *f)
{
	struct proto_hello hello;

	fake_expect(f, PROTO_HELLO, &hello, sizeof hello);
	fake_hangup(f);
}

static void test_gone_at_hello(void **state)
{
	struct fake *f = *state;
	struct lull *l = NULL;

	fake_start(f, script_hangup_at_hello);
	assert_int_equal(lull_connect(&l, f->path, "unit"), LULL_EGONE);
	fake_join(f);
}

/* A welcome cut short, then (second connection) one for a request never
 * made: both malformed, neither may leave the client waiting. */
static void script_short_welcome(struct fake *f)
{
	struct proto_hello hello;
	struct proto_welcome w = {
		.hdr = { .length = 36, .type = PROTO_WELCOME },
		.version = PROTO_VERSION,
	};

	if (!fake_expect(f, PROTO_HELLO, &hello, sizeof hello))
		return;
	w.hdr.seq = hello.hdr.seq;
	fake_send(f, &w, 36, NULL, 0);
	fake_expect_eof(f);
}

static void script_unknown_seq(struct fake *f)
{
	struct proto_hello hello;
	struct proto_welcome w = {
		.hdr = { .length = sizeof w, .type = PROTO_WELCOME },
		.version = PROTO_VERSION,
	};

	if (!fake_expect(f, PROTO_HELLO, &hello, sizeof hello))
		return;
	w.hdr.seq = hello.hdr.seq + 5;
	fake_send(f, &w, sizeof w, NULL, 0);
	fake_expect_eof(f);
}

static void test_malformed_welcome(void **state)
{
	struct fake *f = *state;
	struct lull *l = NULL;

	fake_start(f, script_short_welcome);
	assert_int_equal(lull_connect(&l, f->path, "unit"), LULL_EPROTO);
	fake_join(f);
	fake_start(f, script_unknown_seq);
	assert_int_equal(lull_connect(&l, f->path, "unit"), LULL_EPROTO);
	fake_join(f);
}

/* --- streams -------------------------------------------------------------------------- */

static void script_write(struct fake *f)
{
	struct fake_stream *s;

	fake_welcome(f);
	s = fake_stream(f);
	if (!s)
		return;
	f->want = 200;
	fake_consume(f, s);
	fake_answer_op(f, PROTO_STREAM_DRAIN, s->id);
	fake_answer_op(f, PROTO_STREAM_CLOSE, s->id);
	fake_expect_eof(f);
}

/* 200 frames through a 64-frame ring: the write blocks until the fake
 * audio thread makes room, the audio comes out in order, and lulld is
 * woken exactly once, because it asked exactly once. */
static void test_write(void **state)
{
	struct fake *f = *state;
	int16_t buf[200 * CH];
	int fds = count_fds();
	struct lull *l;
	struct lull_stream *s;
	char kicks[16];

	fake_start(f, script_write);
	l = unit_connect(f);
	s = unit_stream(l);
	assert_int_equal(lull_stream_latency_us(s), 25000);
	assert_int_equal(lull_stream_writable(s), 64);
	ramp(buf, 200, 0);
	assert_int_equal(lull_stream_write(s, buf, 200), 200);
	assert_int_equal(lull_stream_drain(s), 0);
	assert_int_equal(f->ngot, 200);
	assert_memory_equal(f->got, buf, sizeof buf);
	/* exactly one wake-up for lulld: one 8-byte word in its pipe */
	assert_int_equal(read(f->st[0].sefd, kicks, sizeof kicks), 8);
	assert_int_equal(atomic_load(&f->st[0].hdr->want_signal), 0);
	assert_int_equal(lull_stream_close(s), 0);
	lull_disconnect(l);
	fake_join(f);
	assert_int_equal(count_fds(), fds);
}

static void script_made_errors(struct fake *f)
{
	struct proto_stream_new req;
	struct proto_stream_made m = {
		.hdr = { .length = sizeof m, .type = PROTO_STREAM_MADE },
		.result = -EINVAL,
	};
	struct fake_stream *s;

	fake_welcome(f);
	if (!fake_expect(f, PROTO_STREAM_NEW, &req, sizeof req))
		return;
	m.hdr.seq = req.hdr.seq;
	fake_send(f, &m, sizeof m, NULL, 0);
	/* Success, but with one descriptor instead of three. */
	if (!fake_expect(f, PROTO_STREAM_NEW, &req, sizeof req))
		return;
	s = fake_make(f, &req);
	m = (struct proto_stream_made){
		.hdr = { .length = sizeof m, .type = PROTO_STREAM_MADE,
			 .seq = req.hdr.seq, .stream = s->id },
		.ring_frames = (uint32_t)f->ring_frames, .shm_bytes = s->bytes,
	};
	fake_send(f, &m, sizeof m, &s->memfd, 1);
	/* The client has the stream it could not use closed. */
	fake_answer_op(f, PROTO_STREAM_CLOSE, s->id);
	fake_expect_eof(f);
}

static void test_made_errors(void **state)
{
	struct fake *f = *state;
	struct lull *l;
	struct lull_stream *s = NULL;
	int fds = count_fds();

	fake_start(f, script_made_errors);
	l = unit_connect(f);
	assert_int_equal(lull_stream_new(&s, l, &params, NULL, NULL), -EINVAL);
	assert_int_equal(lull_stream_new(&s, l, &params, NULL, NULL), LULL_EPROTO);
	assert_null(s);
	lull_disconnect(l);
	fake_join(f);
	assert_int_equal(count_fds(), fds);
}

static void script_reply_mismatch(struct fake *f)
{
	struct fake_stream *s;
	uint32_t seq;

	fake_welcome(f);
	s = fake_stream(f);
	if (!s)
		return;
	seq = fake_expect_op(f, PROTO_STREAM_START, s->id);
	fake_reply(f, seq, PROTO_STREAM_PAUSE, 0);
	fake_answer_op(f, PROTO_STREAM_START, s->id);
	fake_answer_op(f, PROTO_STREAM_CLOSE, s->id);
	fake_expect_eof(f);
}

/* A reply to the wrong request is malformed; the connection lives on. */
static void test_reply_mismatch(void **state)
{
	struct fake *f = *state;
	struct lull *l;
	struct lull_stream *s;

	fake_start(f, script_reply_mismatch);
	l = unit_connect(f);
	s = unit_stream(l);
	assert_int_equal(lull_stream_start(s), LULL_EPROTO);
	assert_int_equal(lull_stream_start(s), 0);
	/* Streams left open are closed by lull_disconnect. */
	lull_disconnect(l);
	fake_join(f);
}

static void script_dies_in_write(struct fake *f)
{
	struct fake_stream *s;

	fake_welcome(f);
	s = fake_stream(f);
	if (!s)
		return;
	fake_wait_full(f, s);
	fake_sleep_ms(20);
	fake_hangup(f);
}

/* lulld dies while a write waits for room: the write ends, not hangs. */
static void test_dies_in_write(void **state)
{
	struct fake *f = *state;
	int16_t buf[200 * CH] = { 0 };
	struct lull *l;
	struct lull_stream *s;

	fake_start(f, script_dies_in_write);
	l = unit_connect(f);
	s = unit_stream(l);
	assert_int_equal(lull_stream_write(s, buf, 200), 64);
	assert_int_equal(lull_stream_write(s, buf, 10), LULL_EGONE);
	assert_int_equal(lull_stream_writable(s), LULL_EGONE);
	assert_int_equal(lull_stream_start(s), LULL_EGONE);
	assert_int_equal(lull_stream_close(s), LULL_EGONE);
	lull_disconnect(l);
	fake_join(f);
}

static void script_dies_in_drain(struct fake *f)
{
	struct fake_stream *s;

	fake_welcome(f);
	s = fake_stream(f);
	if (!s)
		return;
	fake_expect_op(f, PROTO_STREAM_DRAIN, s->id);
	fake_sleep_ms(20);
	fake_hangup(f);
}

static void test_dies_in_drain(void **state)
{
	struct fake *f = *state;
	struct lull *l;
	struct lull_stream *s;

	fake_start(f, script_dies_in_drain);
	l = unit_connect(f);
	s = unit_stream(l);
	assert_int_equal(lull_stream_drain(s), LULL_EGONE);
	lull_stream_close(s);
	lull_disconnect(l);
	fake_join(f);
}

static void script_drain_intr(struct fake *f)
{
	struct fake_stream *s;
	uint32_t drain, close_seq;

	fake_welcome(f);
	s = fake_stream(f);
	if (!s)
		return;
	drain = fake_expect_op(f, PROTO_STREAM_DRAIN, s->id);
	fake_interrupt(f);
	close_seq = fake_expect_op(f, PROTO_STREAM_CLOSE, s->id);
	/* In order: the drain's late answer, then the close's. */
	fake_reply(f, drain, PROTO_STREAM_DRAIN, 0);
	fake_reply(f, close_seq, PROTO_STREAM_CLOSE, 0);
	fake_expect_eof(f);
}

/* A signal ends a drain with -EINTR; its reply, when it comes, is dropped
 * and the next request gets its own. */
static void test_drain_intr(void **state)
{
	struct fake *f = *state;
	struct lull *l;
	struct lull_stream *s;

	catch_sigusr1();
	fake_start(f, script_drain_intr);
	l = unit_connect(f);
	s = unit_stream(l);
	assert_int_equal(lull_stream_drain(s), -EINTR);
	atomic_store(&f->woken, 1);
	assert_int_equal(lull_stream_close(s), 0);
	lull_disconnect(l);
	fake_join(f);
}

static void script_write_intr(struct fake *f)
{
	struct fake_stream *s;

	fake_welcome(f);
	s = fake_stream(f);
	if (!s)
		return;
	fake_wait_full(f, s);
	fake_interrupt(f);
	fake_answer_op(f, PROTO_STREAM_CLOSE, s->id);
	fake_expect_eof(f);
}

static void test_write_intr(void **state)
{
	struct fake *f = *state;
	int16_t buf[64 * CH] = { 0 };
	struct lull *l;
	struct lull_stream *s;

	catch_sigusr1();
	fake_start(f, script_write_intr);
	l = unit_connect(f);
	s = unit_stream(l);
	assert_int_equal(lull_stream_write(s, buf, 64), 64);
	assert_int_equal(lull_stream_write(s, buf, 10), -EINTR);
	atomic_store(&f->woken, 1);
	assert_int_equal(lull_stream_close(s), 0);
	lull_disconnect(l);
	fake_join(f);
}

/* --- callback mode ------------------------------------------------------------------- */

struct tone {
	size_t next, total;
	_Atomic int calls_after_end;
	int ended;
};

static size_t tone_process(void *user, void *buf, size_t frames)
{
	struct tone *t = user;
	size_t n = t->total - t->next;

	if (t->ended)
		atomic_fetch_add(&t->calls_after_end, 1);
	if (n > frames)
		n = frames;
	ramp(buf, n, t->next);
	t->next += n;
	t->ended = n < frames;
	return n;
}

static void script_callback(struct fake *f)
{
	struct fake_stream *s;

	fake_welcome(f);
	s = fake_stream(f);
	if (!s)
		return;
	f->want = 300;
	fake_consume(f, s);
	fake_answer_op(f, PROTO_STREAM_DRAIN, s->id);
	fake_answer_op(f, PROTO_STREAM_CLOSE, s->id);
	fake_expect_eof(f);
}

/* The callback fills the ring from the stream's thread; its short return
 * ends the stream; drain waits for that, then for lulld. */
static void test_callback(void **state)
{
	struct fake *f = *state;
	struct tone t = { .total = 300 };
	int16_t want[300 * CH];
	struct lull *l;
	struct lull_stream *s = NULL;

	fake_start(f, script_callback);
	l = unit_connect(f);
	assert_int_equal(lull_stream_new(&s, l, &params, tone_process, &t), 0);
	assert_int_equal(lull_stream_write(s, want, 1), -EINVAL);
	assert_int_equal(lull_stream_drain(s), 0);
	ramp(want, 300, 0);
	assert_int_equal(f->ngot, 300);
	assert_memory_equal(f->got, want, sizeof want);
	assert_int_equal(atomic_load(&t.calls_after_end), 0);
	assert_int_equal(lull_stream_close(s), 0);
	lull_disconnect(l);
	fake_join(f);
}

static void script_callback_close(struct fake *f)
{
	struct fake_stream *s;

	fake_welcome(f);
	s = fake_stream(f);
	if (!s)
		return;
	fake_wait_full(f, s);
	atomic_store(&f->step, 1);
	fake_answer_op(f, PROTO_STREAM_CLOSE, s->id);
	fake_expect_eof(f);
}

/* Closing stops a callback stream whose thread waits for room. */
static void test_callback_close(void **state)
{
	struct fake *f = *state;
	struct tone t = { .total = SIZE_MAX };
	struct lull *l;
	struct lull_stream *s = NULL;

	fake_start(f, script_callback_close);
	l = unit_connect(f);
	assert_int_equal(lull_stream_new(&s, l, &params, tone_process, &t), 0);
	fake_wait_step(f, 1);
	assert_int_equal(lull_stream_close(s), 0);
	assert_int_equal(t.next, 64);
	lull_disconnect(l);
	fake_join(f);
}

static void script_callback_drain_intr(struct fake *f)
{
	struct fake_stream *s;

	fake_welcome(f);
	s = fake_stream(f);
	if (!s)
		return;
	fake_wait_full(f, s);
	fake_interrupt(f);
	fake_answer_op(f, PROTO_STREAM_CLOSE, s->id);
	fake_expect_eof(f);
}

/* A drain waiting for a callback that never ends can be interrupted. */
static void test_callback_drain_intr(void **state)
{
	struct fake *f = *state;
	struct tone t = { .total = SIZE_MAX };
	struct lull *l;
	struct lull_stream *s = NULL;

	catch_sigusr1();
	fake_start(f, script_callback_drain_intr);
	l = unit_connect(f);
	assert_int_equal(lull_stream_new(&s, l, &params, tone_process, &t), 0);
	assert_int_equal(lull_stream_drain(s), -EINTR);
	atomic_store(&f->woken, 1);
	assert_int_equal(lull_stream_close(s), 0);
	lull_disconnect(l);
	fake_join(f);
}

/* --- two requests in flight ----------------------------------------------------------- */

static void script_two_streams(struct fake *f)
{
	struct proto_stream_volume v;
	struct fake_stream *a, *b;
	uint32_t drain;

	fake_welcome(f);
	a = fake_stream(f);
	b = fake_stream(f);
	if (!a || !b)
		return;
	drain = fake_expect_op(f, PROTO_STREAM_DRAIN, a->id);
	atomic_store(&f->step, 1);
	/* The volume is answered while the drain still waits. */
	if (fake_expect(f, PROTO_STREAM_VOLUME, &v, sizeof v)) {
		FAKE_CHECK(f, v.hdr.stream == b->id && v.volume == 0.5f);
		fake_reply(f, v.hdr.seq, PROTO_STREAM_VOLUME, 0);
	}
	fake_sleep_ms(20);
	fake_reply(f, drain, PROTO_STREAM_DRAIN, 0);
	fake_answer_op(f, PROTO_STREAM_CLOSE, b->id);
	fake_answer_op(f, PROTO_STREAM_CLOSE, a->id);
	fake_expect_eof(f);
}

struct drainer {
	struct lull_stream *s;
	int result;
};

static void *drain_thread(void *arg)
{
	struct drainer *d = arg;

	d->result = lull_stream_drain(d->s);
	return NULL;
}

static void test_two_streams(void **state)
{
	struct fake *f = *state;
	struct drainer d = { .result = 1 };
	struct lull *l;
	struct lull_stream *b;
	pthread_t th;

	fake_start(f, script_two_streams);
	l = unit_connect(f);
	d.s = unit_stream(l);
	b = unit_stream(l);
	assert_int_equal(pthread_create(&th, NULL, drain_thread, &d), 0);
	fake_wait_step(f, 1);
	assert_int_equal(lull_stream_set_volume(b, 0.5f), 0);
	pthread_join(th, NULL);
	assert_int_equal(d.result, 0);
	assert_int_equal(lull_stream_set_volume(b, 4.5f), -EINVAL);
	assert_int_equal(lull_stream_set_volume(b, NAN), -EINVAL);
	assert_int_equal(lull_stream_close(b), 0);
	assert_int_equal(lull_stream_close(d.s), 0);
	lull_disconnect(l);
	fake_join(f);
}

/* --- position ------------------------------------------------------------------------------ */

static void script_position(struct fake *f)
{
	struct fake_stream *s;

	fake_welcome(f);
	s = fake_stream(f);
	if (s)
		fake_answer_op(f, PROTO_STREAM_CLOSE, s->id);
	fake_expect_eof(f);
}

/* A capture stream and a playback stream, closed in that order. */
static void script_two_streams_close(struct fake *f)
{
	struct fake_stream *a, *b;

	fake_welcome(f);
	a = fake_stream_dir(f, PROTO_CAPTURE);
	b = fake_stream(f);
	if (a && b) {
		fake_answer_op(f, PROTO_STREAM_CLOSE, a->id);
		fake_answer_op(f, PROTO_STREAM_CLOSE, b->id);
	}
	fake_expect_eof(f);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t played(struct lull_stream *s)
{
	uint64_t w, p;

	assert_int_equal(lull_stream_position(s, &w, &p), 0);
	assert_int_equal(w, 64);
	return p;
}

static int64_t delay(struct lull_stream *s)
{
	int64_t d;

	assert_int_equal(lull_stream_delay(s, &d), 0);
	return d;
}

/* Position and delay from what lulld publishes (here, the test thread
 * publishes in its place). 64 frames written at 48 kHz. */
static void test_position(void **state)
{
	struct fake *f = *state;
	int16_t buf[64 * CH] = { 0 };
	struct shm_position *pos;
	struct lull *l;
	struct lull_stream *s;
	uint64_t p;
	int64_t t0, t1;

	fake_start(f, script_position);
	l = unit_connect(f);
	s = unit_stream(l);
	assert_int_equal(lull_stream_write(s, buf, 64), 64);
	pos = &f->st[0].hdr->pos;
	/* Nothing published: nothing played, all 64 frames ahead. */
	assert_int_equal(played(s), 0);
	assert_int_equal(delay(s), 64 * 1000000000LL / RATE);
	/* Stopped at frame 10. */
	shm_position_write(pos, SHM_POS_VALID, 10, now_ns() - 1000000000, 1000000, 0);
	assert_int_equal(played(s), 10);
	assert_int_equal(delay(s), 54 * 1000000000LL / RATE);
	/* Running: frame 10 was heard 0.5 ms ago, 24 frames since, and more
	 * by the time the library looks (at most t1 - t0 later). */
	t0 = now_ns();
	shm_position_write(pos, SHM_POS_VALID | SHM_POS_RUNNING, 10,
			   t0 - 500000, 1000000, 0);
	p = played(s);
	t1 = now_ns();
	assert_true(p >= 34);
	assert_true(p <= 64 && p <= 35 + (uint64_t)(t1 - t0) * RATE / 1000000000);
	/* Long ago: everything written has been heard, no more. */
	shm_position_write(pos, SHM_POS_VALID | SHM_POS_RUNNING, 10,
			   now_ns() - 1000000000, 1000000, 0);
	assert_int_equal(played(s), 64);
	assert_int_equal(delay(s), 0);
	/* Ahead of now: frame 10 is yet to be heard. */
	shm_position_write(pos, SHM_POS_VALID | SHM_POS_RUNNING, 10,
			   now_ns() + 1000000000, 1000000, 0);
	assert_int_equal(played(s), 10);
	/* A card 1% fast plays 64 frames in 64 / (48000 * 1.01) s. */
	shm_position_write(pos, SHM_POS_VALID, 0, now_ns(), 1010000, 0);
	assert_true(llabs(delay(s) - (int64_t)(64e9 / (RATE * 1.01))) <= 1);
	assert_int_equal(lull_stream_close(s), 0);
	lull_disconnect(l);
	fake_join(f);
}

/* --- capture ---------------------------------------------------------------------------- */

static const struct lull_stream_params cparams = {
	.rate = RATE, .channels = CH, .format = LULL_S16,
	.direction = LULL_CAPTURE,
};

static struct lull_stream *unit_capture(struct lull *l)
{
	struct lull_stream *s = NULL;

	assert_int_equal(lull_stream_new(&s, l, &cparams, NULL, NULL), 0);
	return s;
}

/* Plays the capture side of the audio thread: delivers up to n frames
 * (counting up from f->nput) as far as the ring has room, then writes the
 * client its wake-up byte. Returns frames delivered. */
static size_t fake_deliver(struct fake *f, struct fake_stream *s, size_t n)
{
	int16_t buf[16 * CH];
	uint64_t room = ring_writable(&s->ring);
	char one = 1;

	if (n > room)
		n = (size_t)room;
	if (n > 16)
		n = 16;
	if (!n)
		return 0;
	ramp(buf, n, f->nput);
	ring_write(&s->ring, buf, n);
	f->nput += n;
	FAKE_CHECK(f, write(s->cefd, &one, 1) == 1);
	return n;
}

/* Delivers until f->want frames have gone into the ring; gives up after
 * 5 s. */
static void fake_produce(struct fake *f, struct fake_stream *s)
{
	for (int i = 0; f->nput < f->want && i < 5000; i++) {
		if (!fake_deliver(f, s, f->want - f->nput))
			fake_sleep_ms(1);
	}
	FAKE_CHECK(f, f->nput == f->want);
}

static void script_read(struct fake *f)
{
	struct fake_stream *s;

	fake_welcome(f);
	s = fake_stream_dir(f, PROTO_CAPTURE);
	if (!s)
		return;
	f->want = 200;
	fake_produce(f, s);
	fake_answer_op(f, PROTO_STREAM_DRAIN, s->id);
	fake_answer_op(f, PROTO_STREAM_CLOSE, s->id);
	fake_expect_eof(f);
}

/* 200 frames through a 64-frame ring: the read blocks until the fake
 * audio thread delivers more, the audio comes out in order, and lulld is
 * never woken (it does not listen to a capture stream). */
static void test_read(void **state)
{
	struct fake *f = *state;
	int16_t buf[200 * CH], want[200 * CH];
	int fds = count_fds();
	uint64_t captured, read_;
	struct lull *l;
	struct lull_stream *s;
	char kicks[16];

	fake_start(f, script_read);
	l = unit_connect(f);
	s = unit_capture(l);
	assert_int_equal(lull_stream_latency_us(s), 25000);
	assert_int_equal(lull_stream_write(s, buf, 1), -EINVAL);
	assert_int_equal(lull_stream_writable(s), -EINVAL);
	assert_int_equal(lull_stream_read(s, buf, 200), 200);
	ramp(want, 200, 0);
	assert_memory_equal(buf, want, sizeof buf);
	assert_int_equal(lull_stream_readable(s), 0);
	assert_int_equal(lull_stream_position(s, &captured, &read_), 0);
	assert_int_equal(captured, 200);
	assert_int_equal(read_, 200);
	assert_int_equal(lull_stream_drain(s), 0);
	assert_int_equal(read(f->st[0].sefd, kicks, sizeof kicks), -1);
	assert_int_equal(lull_stream_close(s), 0);
	lull_disconnect(l);
	fake_join(f);
	assert_int_equal(count_fds(), fds);
}

static void script_read_intr(struct fake *f)
{
	struct fake_stream *s;

	fake_welcome(f);
	s = fake_stream_dir(f, PROTO_CAPTURE);
	if (!s)
		return;
	fake_deliver(f, s, 10);
	fake_interrupt(f);
	fake_answer_op(f, PROTO_STREAM_CLOSE, s->id);
	fake_expect_eof(f);
}

/* A signal ends a blocked read: with what it had read, then, with
 * nothing read, -EINTR. */
static void test_read_intr(void **state)
{
	struct fake *f = *state;
	int16_t buf[64 * CH], want[10 * CH];
	struct lull *l;
	struct lull_stream *s;

	catch_sigusr1();
	fake_start(f, script_read_intr);
	l = unit_connect(f);
	s = unit_capture(l);
	assert_int_equal(lull_stream_read(s, buf, 64), 10);
	ramp(want, 10, 0);
	assert_memory_equal(buf, want, sizeof want);
	assert_int_equal(lull_stream_read(s, buf, 10), -EINTR);
	atomic_store(&f->woken, 1);
	assert_int_equal(lull_stream_close(s), 0);
	lull_disconnect(l);
	fake_join(f);
}

static void script_dies_in_read(struct fake *f)
{
	struct fake_stream *s;

	fake_welcome(f);
	s = fake_stream_dir(f, PROTO_CAPTURE);
	if (!s)
		return;
	fake_deliver(f, s, 10);
	fake_sleep_ms(20);
	fake_hangup(f);
}

static void test_dies_in_read(void **state)
{
	struct fake *f = *state;
	int16_t buf[64 * CH];
	struct lull *l;
	struct lull_stream *s;

	fake_start(f, script_dies_in_read);
	l = unit_connect(f);
	s = unit_capture(l);
	assert_int_equal(lull_stream_read(s, buf, 64), 10);
	assert_int_equal(lull_stream_read(s, buf, 10), LULL_EGONE);
	assert_int_equal(lull_stream_readable(s), LULL_EGONE);
	assert_int_equal(lull_stream_close(s), LULL_EGONE);
	lull_disconnect(l);
	fake_join(f);
}

static int64_t cdelay(struct lull_stream *s)
{
	int64_t d;

	assert_int_equal(lull_stream_delay(s, &d), 0);
	return d;
}

/* Delay and position of a capture stream from what lulld publishes (the
 * test thread delivers and publishes in its place), and its overruns. */
static void test_capture_position(void **state)
{
	struct fake *f = *state;
	int16_t buf[48 * CH];
	struct fake_stream *fs;
	struct shm_position *pos;
	struct lull *l;
	struct lull_stream *s, *p;
	uint64_t captured, read_;
	int64_t t0, t1, d;

	f->ring_frames = 64;
	fake_start(f, script_two_streams_close);
	l = unit_connect(f);
	s = unit_capture(l);
	p = unit_stream(l);
	fs = &f->st[0];
	pos = &fs->hdr->pos;
	ramp(buf, 48, 0);
	ring_write(&fs->ring, buf, 48);
	/* Nothing published: the 48 frames were sampled at least 1 ms ago. */
	assert_int_equal(cdelay(s), 1000000);
	assert_int_equal(lull_stream_position(s, &captured, &read_), 0);
	assert_int_equal(captured, 48);
	assert_int_equal(read_, 0);
	/* Frame 48 is sampled 1 ms before t0: frame 0 was 1 ms before that. */
	t0 = now_ns();
	shm_position_write(pos, SHM_POS_VALID | SHM_POS_RUNNING, 48,
			   t0 - 1000000, 1000000, 0);
	d = cdelay(s);
	t1 = now_ns();
	assert_true(d >= 2000000 && d <= 2000000 + (t1 - t0));
	/* Half read: the oldest unread frame is 0.5 ms younger. */
	assert_int_equal(lull_stream_read(s, buf, 24), 24);
	d = cdelay(s);
	t1 = now_ns();
	assert_true(d >= 1500000 && d <= 1500000 + (t1 - t0));
	assert_int_equal(lull_stream_position(s, &captured, &read_), 0);
	assert_int_equal(captured, 48);
	assert_int_equal(read_, 24);
	/* A card 1% fast samples 24 frames in 24 / (48000 * 1.01) s. */
	t0 = now_ns();
	shm_position_write(pos, SHM_POS_VALID, 48, t0, 1010000, 0);
	d = cdelay(s);
	t1 = now_ns();
	assert_true(d >= (int64_t)(24e9 / (RATE * 1.01)) - 1 &&
		    d <= (int64_t)(24e9 / (RATE * 1.01)) + 1 + (t1 - t0));
	/* Everything read, and frame 48 yet to be sampled: nothing waits. */
	assert_int_equal(lull_stream_read(s, buf, 24), 24);
	shm_position_write(pos, SHM_POS_VALID, 48, now_ns() + 1000000000, 1000000, 0);
	assert_int_equal(cdelay(s), 0);
	/* Overruns: what lulld counted; a playback stream has none. */
	assert_int_equal(lull_stream_overruns(s), 0);
	atomic_store(&fs->hdr->overruns, 123);
	assert_int_equal(lull_stream_overruns(s), 123);
	assert_int_equal(lull_stream_overruns(p), 0);
	assert_int_equal(lull_stream_read(p, buf, 1), -EINVAL);
	assert_int_equal(lull_stream_readable(p), -EINVAL);
	assert_int_equal(lull_duplex_roundtrip(s, &d), -EINVAL);
	assert_int_equal(lull_stream_close(s), 0);
	assert_int_equal(lull_stream_close(p), 0);
	lull_disconnect(l);
	fake_join(f);
}

struct sink {
	int16_t got[250 * CH];
	size_t n, calls_after_end;
	int ended;
};

/* Keeps the first 250 frames, then ends the stream. */
static size_t sink_capture(void *user, const void *buf, size_t frames)
{
	struct sink *k = user;
	size_t n = 250 - k->n;

	if (k->ended)
		k->calls_after_end++;
	if (n > frames)
		n = frames;
	memcpy(k->got + k->n * CH, buf, n * FB);
	k->n += n;
	k->ended = n < frames;
	return n;
}

static void script_capture_callback(struct fake *f)
{
	struct fake_stream *s;

	fake_welcome(f);
	s = fake_stream_dir(f, PROTO_CAPTURE);
	if (!s)
		return;
	/* 250 taken, the rest fits in the ring. */
	f->want = 300;
	fake_produce(f, s);
	fake_answer_op(f, PROTO_STREAM_DRAIN, s->id);
	fake_answer_op(f, PROTO_STREAM_CLOSE, s->id);
	fake_expect_eof(f);
}

/* The callback is given what arrives, from the stream's thread; taking
 * fewer than given ends the stream; drain waits for that. */
static void test_capture_callback(void **state)
{
	struct fake *f = *state;
	struct sink *k = calloc(1, sizeof *k);
	int16_t want[250 * CH];
	struct lull *l;
	struct lull_stream *s = NULL;

	assert_non_null(k);
	fake_start(f, script_capture_callback);
	l = unit_connect(f);
	assert_int_equal(lull_capture_new(&s, l, &cparams, sink_capture, k), 0);
	assert_int_equal(lull_stream_read(s, want, 1), -EINVAL);
	assert_int_equal(lull_stream_drain(s), 0);
	ramp(want, 250, 0);
	assert_int_equal(k->n, 250);
	assert_memory_equal(k->got, want, sizeof want);
	assert_int_equal(k->calls_after_end, 0);
	assert_int_equal(lull_stream_close(s), 0);
	lull_disconnect(l);
	fake_join(f);
	free(k);
}

/* --- duplex ------------------------------------------------------------------------------- */

#define BLOCK 16
#define BLOCKS 10
/* What the library primes the output with: the capture latency the fake
 * grants (25 ms), one block, half the playback latency it grants (25 ms),
 * 15 ms. */
#define PRIME (RATE * 25 / 1000 + BLOCK + RATE * 25 / 2000 + RATE * 15 / 1000)

struct echo {
	int calls, bad_frames;
	int16_t first[BLOCKS];	/* first sample of each input block */
};

/* Copies in to out; ends after BLOCKS blocks. */
static int echo_duplex(void *user, const void *in, void *out, size_t frames)
{
	struct echo *e = user;

	if (frames != BLOCK)
		e->bad_frames++;
	if (e->calls < BLOCKS)
		e->first[e->calls] = *(const int16_t *)in;
	memcpy(out, in, frames * FB);
	return ++e->calls >= BLOCKS;
}

/* Plays both sides of the audio thread at once: delivers input while the
 * capture ring has room, takes the output into f->got until f->want. */
static void fake_loop(struct fake *f, struct fake_stream *in,
		      struct fake_stream *out)
{
	char one = 1;

	for (int i = 0; f->ngot < f->want && i < 20000; i++) {
		uint64_t n = ring_readable(&out->ring);
		size_t put = fake_deliver(f, in, 16);

		if (n > f->want - f->ngot)
			n = f->want - f->ngot;
		ring_read(&out->ring, f->got + f->ngot * CH, n);
		f->ngot += n;
		if (n)
			FAKE_CHECK(f, write(out->cefd, &one, 1) == 1);
		if (!n && !put)
			fake_sleep_ms(1);
	}
	FAKE_CHECK(f, f->ngot == f->want);
}

static void script_duplex(struct fake *f)
{
	struct fake_stream *in, *out;

	fake_welcome(f);
	in = fake_stream_dir(f, PROTO_CAPTURE);
	out = fake_stream_dir(f, PROTO_PLAYBACK);
	if (!in || !out)
		return;
	f->want = PRIME + BLOCKS * BLOCK;
	fake_loop(f, in, out);
	fake_answer_op(f, PROTO_STREAM_DRAIN, in->id);
	fake_answer_op(f, PROTO_STREAM_DRAIN, out->id);
	fake_answer_op(f, PROTO_STREAM_PAUSE, in->id);
	fake_answer_op(f, PROTO_STREAM_PAUSE, out->id);
	fake_answer_op(f, PROTO_STREAM_VOLUME, out->id);
	fake_answer_op(f, PROTO_STREAM_CLOSE, in->id);
	fake_answer_op(f, PROTO_STREAM_CLOSE, out->id);
	fake_expect_eof(f);
}

/* Blocks of exactly BLOCK frames in and out; the output is PRIME frames of
 * silence, then the input, block after block, with no gap; the round trip
 * comes from both published positions. */
static void test_duplex(void **state)
{
	struct fake *f = *state;
	struct echo e = { 0 };
	struct lull *l;
	struct lull_stream *s = NULL;
	int16_t buf[4], want[BLOCKS * BLOCK * CH];
	size_t first;
	uint64_t last_in, last_out;
	int64_t rt;

	fake_start(f, script_duplex);
	l = unit_connect(f);
	assert_int_equal(lull_duplex_new(&s, l, &params, BLOCK, echo_duplex, &e), 0);
	/* Nothing published yet. */
	assert_int_equal(lull_duplex_roundtrip(s, &rt), -EAGAIN);
	assert_int_equal(lull_stream_write(s, buf, 1), -EINVAL);
	assert_int_equal(lull_stream_read(s, buf, 1), -EINVAL);
	assert_int_equal(lull_stream_delay(s, &rt), -EINVAL);
	assert_int_equal(lull_stream_drain(s), 0);
	assert_int_equal(e.calls, BLOCKS);
	assert_int_equal(e.bad_frames, 0);
	for (size_t i = 0; i < PRIME * CH; i++)
		assert_int_equal(f->got[i], 0);
	/* The input may start anywhere (older input is dropped at start),
	 * then runs on without a gap. */
	first = (size_t)e.first[0] / CH;
	ramp(want, BLOCKS * BLOCK, first);
	assert_memory_equal(f->got + PRIME * CH, want, sizeof want);
	for (int b = 0; b < BLOCKS; b++)
		assert_int_equal(e.first[b], (int16_t)((first + (size_t)b * BLOCK) * CH));

	/* The last block: input ring frame last_in, output ring frame
	 * last_out. Input: frame last_in + 100 is sampled at 1 s, so
	 * last_in was sampled at 1 s - 100 frames. Output: frame
	 * last_out - 50 plays at 2 s, so last_out plays 50 frames later. */
	last_in = first + (BLOCKS - 1) * BLOCK;
	last_out = PRIME + (BLOCKS - 1) * BLOCK;
	shm_position_write(&f->st[0].hdr->pos, SHM_POS_VALID | SHM_POS_RUNNING,
			   last_in + 100, 1000000000, 1000000, 0);
	shm_position_write(&f->st[1].hdr->pos, SHM_POS_VALID, last_out - 50,
			   2000000000, 1000000, 0);
	/* The output is not playing: when it will be heard is not known. */
	assert_int_equal(lull_duplex_roundtrip(s, &rt), -EAGAIN);
	shm_position_write(&f->st[1].hdr->pos, SHM_POS_VALID | SHM_POS_RUNNING,
			   last_out - 50, 2000000000, 1000000, 0);
	assert_int_equal(lull_duplex_roundtrip(s, &rt), 0);
	assert_true(llabs(rt - (1000000000 + 150 * 1000000000LL / RATE)) <= 1);
	/* A card 1% slow stretches both sides' frames. */
	shm_position_write(&f->st[0].hdr->pos, SHM_POS_VALID | SHM_POS_RUNNING,
			   last_in + 100, 1000000000, 990000, 0);
	shm_position_write(&f->st[1].hdr->pos, SHM_POS_VALID | SHM_POS_RUNNING,
			   last_out - 50, 2000000000, 990000, 0);
	assert_int_equal(lull_duplex_roundtrip(s, &rt), 0);
	assert_true(llabs(rt - (1000000000 + (int64_t)(150e9 / (RATE * 0.99)))) <= 2);

	atomic_store(&f->st[0].hdr->overruns, 7);
	assert_int_equal(lull_stream_overruns(s), 7);
	assert_int_equal(lull_stream_latency_us(s), 50000);
	assert_int_equal(lull_stream_pause(s), 0);
	assert_int_equal(lull_stream_set_volume(s, 0.5f), 0);
	assert_int_equal(lull_stream_close(s), 0);
	lull_disconnect(l);
	fake_join(f);
}

static void script_duplex_close(struct fake *f)
{
	struct fake_stream *in, *out;

	fake_welcome(f);
	in = fake_stream_dir(f, PROTO_CAPTURE);
	out = fake_stream_dir(f, PROTO_PLAYBACK);
	if (!in || !out)
		return;
	/* The output ring fills with the prime; nobody takes it. */
	fake_wait_full(f, out);
	atomic_store(&f->step, 1);
	fake_answer_op(f, PROTO_STREAM_CLOSE, in->id);
	fake_answer_op(f, PROTO_STREAM_CLOSE, out->id);
	fake_expect_eof(f);
}

/* Closing stops a duplex stream whose thread waits for room; a duplex
 * left open is closed by lull_disconnect. */
static void test_duplex_close(void **state)
{
	struct fake *f = *state;
	struct echo e = { 0 };
	struct lull *l;
	struct lull_stream *s = NULL;
	int fds = count_fds();

	fake_start(f, script_duplex_close);
	l = unit_connect(f);
	assert_int_equal(lull_duplex_new(&s, l, &params, BLOCK, echo_duplex, &e), 0);
	fake_wait_step(f, 1);
	lull_disconnect(l);
	assert_int_equal(e.calls, 0);
	fake_join(f);
	assert_int_equal(count_fds(), fds);
}

static void test_duplex_bad(void **state)
{
	struct lull_stream *s = NULL;
	struct lull_stream_params p = cparams;
	struct echo e = { 0 };

	(void)state;
	assert_int_equal(lull_duplex_new(&s, NULL, &params, 0, echo_duplex, &e),
			 -EINVAL);
	assert_int_equal(lull_duplex_new(&s, NULL, &params, RATE + 1, echo_duplex,
					 &e), -EINVAL);
	assert_int_equal(lull_duplex_new(&s, NULL, &params, BLOCK, NULL, &e),
			 -EINVAL);
	assert_int_equal(lull_capture_new(&s, NULL, &params, NULL, NULL), -EINVAL);
	/* A capture stream takes no playback callback. */
	assert_int_equal(lull_stream_new(&s, NULL, &p, tone_process, NULL), -EINVAL);
	p.direction = (enum lull_direction)2;
	assert_int_equal(lull_stream_new(&s, NULL, &p, NULL, NULL), -EINVAL);
	assert_null(s);
}

/* --- no server needed ----------------------------------------------------------------------- */

static void test_bad_params(void **state)
{
	struct lull_stream *s = NULL;
	struct lull_stream_params p;

	(void)state;
	p = params;
	p.rate = 999;
	assert_int_equal(lull_stream_new(&s, NULL, &p, NULL, NULL), -EINVAL);
	p = params;
	p.channels = 9;
	assert_int_equal(lull_stream_new(&s, NULL, &p, NULL, NULL), -EINVAL);
	p = params;
	p.format = (enum lull_format)4;
	assert_int_equal(lull_stream_new(&s, NULL, &p, NULL, NULL), -EINVAL);
	p = params;
	p.volume = 4.01f;
	assert_int_equal(lull_stream_new(&s, NULL, &p, NULL, NULL), -EINVAL);
	p = params;
	p.volume = NAN;
	assert_int_equal(lull_stream_new(&s, NULL, &p, NULL, NULL), -EINVAL);
	assert_null(s);
}

static void test_strerror(void **state)
{
	const int codes[] = { LULL_ENOSERVER, LULL_EVERSION, LULL_EGONE, LULL_EPROTO };

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		assert_non_null(lull_strerror(codes[i]));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(lull_strerror(codes[i]),
						lull_strerror(codes[j]));
	}
	assert_string_equal(lull_strerror(-EINVAL), strerror(EINVAL));
	assert_string_equal(lull_strerror(-EINTR), strerror(EINTR));
	assert_non_null(lull_strerror(0));
	assert_non_null(lull_strerror(12345));
	assert_non_null(lull_strerror(-99999));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_no_server),
		T(test_hello),
		T(test_version),
		T(test_gone_at_hello),
		T(test_malformed_welcome),
		T(test_write),
		T(test_made_errors),
		T(test_reply_mismatch),
		T(test_dies_in_write),
		T(test_dies_in_drain),
		T(test_drain_intr),
		T(test_write_intr),
		T(test_callback),
		T(test_callback_close),
		T(test_callback_drain_intr),
		T(test_two_streams),
		T(test_position),
		T(test_read),
		T(test_read_intr),
		T(test_dies_in_read),
		T(test_capture_position),
		T(test_capture_callback),
		T(test_duplex),
		T(test_duplex_close),
		cmocka_unit_test(test_duplex_bad),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
