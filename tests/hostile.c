/* hostile — a client that breaks every rule of lull's protocol, to show
 * that a client that misbehaves hurts only itself: lulld must keep serving
 * everyone else, bit-exact, and never fault.
 *
 *   hostile [--socket PATH] [--seconds S] [--format s16|float] [--seed N]
 *           [--do WHAT[,WHAT...]]
 *
 * WHAT (default scribble,flood,malformed,idle):
 *   scribble   random bytes over all of its stream's shared memory (header,
 *              ring indices, audio), then wild ring indices, over and over
 *   flood      writes its wake-up pipe to lulld in a tight loop, filling it
 *   malformed  short, oversized and mislabelled packets, unknown and
 *              server-only types, requests on stream ids it does not own,
 *              out-of-range values, file descriptors lulld did not ask for
 *   idle       opens a second stream and never writes to it
 *   storm      pause/resume/volume requests on its own stream, non-stop
 *   hog        opens streams until lulld refuses, and keeps them
 *   eventfd    clears O_NONBLOCK on its eventfds (the flag belongs to the
 *              open file, which lulld shares), fills the client eventfd's
 *              counter to the top and races lulld for the server eventfd
 *   monitor    asks for the read-only monitor memfd, reopens it read-write
 *              through /proc and scribbles over lulld's trace and status
 *   nan        plays float samples that are NaN, infinite or huge, by the
 *              rules otherwise (volume 0)
 *
 * Its scribbled stream asks for volume 0, and its samples are S16 by
 * default, so none of its garbage can be heard: whatever another stream
 * sounds like with it around must be exactly what it sounds like alone.
 * (--format float lets the garbage be NaN and infinities, which no volume
 * silences: that is a test of lulld's input checks.)
 *
 * It prints what it did and what lulld answered as key=value lines, and
 * exits 0 unless it could not even start (1) or was misused (2). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ipc/proto.h"
#include "ipc/shm.h"
#include "ipc/sock.h"

enum {
	H_SCRIBBLE = 1 << 0,
	H_FLOOD = 1 << 1,
	H_MALFORMED = 1 << 2,
	H_IDLE = 1 << 3,
	H_STORM = 1 << 4,
	H_HOG = 1 << 5,
	H_EVENTFD = 1 << 6,
	H_MONITOR = 1 << 7,
	H_NAN = 1 << 8,
	H_DEFAULT = H_SCRIBBLE | H_FLOOD | H_MALFORMED | H_IDLE,
	H_MAX_HOG = 1024,
	H_FOREIGN_IDS = 64,	/* stream ids tried that are not ours */
};

struct h_stream {
	uint32_t id;
	int memfd, efd_client, efd_server;
	struct shm_hdr *hdr;
	size_t bytes;
};

struct h_stats {
	uint64_t rounds, sent, send_errors, replies, foreign_ok, flood_writes;
	uint64_t scribbles, hog;
	int hung_up;
};

struct hostile {
	const char *socket;
	double seconds;
	uint32_t format;
	unsigned what;
	uint64_t rng;
	int fd;
	uint32_t seq;
	struct h_stream main, idle;
	void *mon;		/* lulld's monitor, if we could map it writable */
	size_t mon_bytes;
	struct h_stats st;
};

static uint64_t h_rand(struct hostile *h)
{
	uint64_t x = h->rng += UINT64_C(0x9e3779b97f4a7c15);

	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static double h_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- talking ------------------------------------------------------------------------ */

/* Sends anything, counting what lulld would not take. */
static void h_send(struct hostile *h, const void *msg, size_t len, const int *fds,
		   int nfds)
{
	ssize_t n = sock_send(h->fd, msg, len, fds, nfds);

	h->st.sent++;
	if (n == -EPIPE || n == -ECONNRESET)
		h->st.hung_up = 1;
	else if (n < 0)
		h->st.send_errors++;
}

static struct proto_hdr h_hdr(struct hostile *h, uint32_t type, uint32_t len,
			      uint32_t stream)
{
	return (struct proto_hdr){ .length = len, .type = type, .seq = ++h->seq,
				   .stream = stream };
}

static int h_is_ours(const struct hostile *h, uint32_t id)
{
	return id == h->main.id || id == h->idle.id;
}

/* Reads every waiting reply; a success on a stream that is not ours would
 * mean lulld let us touch someone else's stream. */
static void h_replies(struct hostile *h)
{
	union {
		struct proto_hdr hdr;
		struct proto_reply r;
		char bytes[512];
	} m;
	int fds[SOCK_MAX_FDS], nfds;
	struct pollfd p = { .fd = h->fd, .events = POLLIN };
	ssize_t n;

	while (poll(&p, 1, 0) == 1) {
		if (!(p.revents & POLLIN)) {
			h->st.hung_up = 1;
			return;
		}
		n = sock_recv(h->fd, &m, sizeof m, fds, SOCK_MAX_FDS, &nfds);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		if (n == 0) {
			h->st.hung_up = 1;
			return;
		}
		if (n < 0)
			return;
		h->st.replies++;
		if ((size_t)n == sizeof m.r && m.hdr.type == PROTO_REPLY &&
		    m.r.result == 0 && m.hdr.stream && !h_is_ours(h, m.hdr.stream))
			h->st.foreign_ok++;
	}
}

/* Waits (up to 5 s) for one message; returns its length or -errno. */
static ssize_t h_wait(struct hostile *h, void *msg, size_t len, int *fds, int *nfds)
{
	struct pollfd p = { .fd = h->fd, .events = POLLIN };

	*nfds = 0;
	if (poll(&p, 1, 5000) <= 0)
		return -ETIMEDOUT;
	return sock_recv(h->fd, msg, len, fds, SOCK_MAX_FDS, nfds);
}

static int h_hello(struct hostile *h)
{
	struct proto_hello m = { .hdr = h_hdr(h, PROTO_HELLO, sizeof m, 0),
				 .version = PROTO_VERSION, .name = "hostile" };
	struct proto_welcome w;
	int fds[SOCK_MAX_FDS], nfds;
	ssize_t n;

	h_send(h, &m, sizeof m, NULL, 0);
	n = h_wait(h, &w, sizeof w, fds, &nfds);
	if (n != (ssize_t)sizeof w || w.hdr.type != PROTO_WELCOME)
		return -EPROTO;
	return 0;
}

static struct proto_stream_new h_new_msg(struct hostile *h, float volume)
{
	return (struct proto_stream_new){
		.hdr = h_hdr(h, PROTO_STREAM_NEW, sizeof(struct proto_stream_new), 0),
		.direction = PROTO_PLAYBACK, .rate = 48000, .channels = 2,
		.format = h->format, .volume = volume,
	};
}

/* The stream's memory, mapped whole and writable: ours to wreck. */
static int h_map(struct h_stream *s)
{
	struct stat st;
	void *p;

	if (fstat(s->memfd, &st) < 0)
		return -errno;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 s->memfd, 0);
	if (p == MAP_FAILED)
		return -errno;
	s->hdr = p;
	s->bytes = (size_t)st.st_size;
	return 0;
}

/* Opens a stream; returns 0, or lulld's refusal (negative). */
static int h_stream(struct hostile *h, struct h_stream *s, float volume)
{
	struct proto_stream_new m = h_new_msg(h, volume);
	struct proto_stream_made r;
	int fds[SOCK_MAX_FDS], nfds;
	ssize_t n;

	h_send(h, &m, sizeof m, NULL, 0);
	do	/* skip answers to anything sent before */
		n = h_wait(h, &r, sizeof r, fds, &nfds);
	while (n > 0 && r.hdr.type != PROTO_STREAM_MADE && !nfds);
	if (n != (ssize_t)sizeof r || r.hdr.type != PROTO_STREAM_MADE)
		return -EPROTO;
	if (r.result)
		return r.result;
	if (nfds != 3)
		return -EPROTO;
	*s = (struct h_stream){ .id = r.hdr.stream, .memfd = fds[0],
				.efd_client = fds[1], .efd_server = fds[2] };
	/* Flooding a full pipe must not block the flooder itself. */
	fcntl(s->efd_server, F_SETFL, O_NONBLOCK);
	return h_map(s);
}

/* --- misbehaving ----------------------------------------------------------------------- */

/* Random bytes everywhere, then indices chosen to hurt: far ahead, just
 * behind, at the 2^64 wrap. */
static void h_scribble(struct hostile *h)
{
	struct shm_hdr *hdr = h->main.hdr;
	uint64_t *w = (uint64_t *)(void *)hdr, r;
	static const uint64_t wild[] = { 0, 1, UINT64_MAX, UINT64_MAX - 1,
					 INT64_MAX, (uint64_t)INT64_MAX + 1 };

	for (size_t i = 0; i < h->main.bytes / sizeof *w; i++)
		w[i] = h_rand(h);
	r = atomic_load(&hdr->ring.read);
	switch (h_rand(h) % 4) {
	case 0:
		atomic_store(&hdr->ring.write, wild[h_rand(h) % 6]);
		break;
	case 1:
		atomic_store(&hdr->ring.write, r - 1 - h_rand(h) % 1000);
		break;
	case 2:
		atomic_store(&hdr->ring.write, r + (h_rand(h) % 4) * hdr->ring_frames);
		break;
	}
	atomic_store(&hdr->want_signal, (uint32_t)h_rand(h) & 1);
	h->st.scribbles++;
}

static void h_flood(struct hostile *h)
{
	uint64_t v = 1, top = UINT64_MAX - 1;

	for (int i = 0; i < 1000; i++)
		if (write(h->main.efd_server, &v, sizeof v) == (ssize_t)sizeof v)
			h->st.flood_writes++;
	/* More than fits: the pipe stays full until lulld reads it. */
	if (write(h->main.efd_server, &top, sizeof top) < 0 && errno != EAGAIN)
		h->st.send_errors++;
}

/* Packets lulld must refuse without dropping anyone else: too short, too
 * long, length that lies, types it does not take. */
static void h_bad_framing(struct hostile *h)
{
	char big[4096];
	struct proto_hdr hd;
	static const uint32_t types[] = { 0, PROTO_WELCOME, PROTO_STREAM_MADE,
					  PROTO_REPLY, PROTO_TYPE_MAX, 0x7fffffff,
					  0xffffffff };

	memset(big, 0xa5, sizeof big);
	h_send(h, "abc", 3, NULL, 0);
	h_send(h, big, sizeof big, NULL, 0);
	hd = h_hdr(h, PROTO_STREAM_PAUSE, 999, h->main.id);
	h_send(h, &hd, sizeof hd, NULL, 0);
	hd = h_hdr(h, PROTO_STREAM_VOLUME, sizeof hd, h->main.id);	/* too short */
	h_send(h, &hd, sizeof hd, NULL, 0);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		uint32_t len = proto_size(types[i]) ? proto_size(types[i]) : 16;
		memset(big, 0, len);
		hd = h_hdr(h, types[i], len, h->main.id);
		memcpy(big, &hd, sizeof hd);
		h_send(h, big, len, NULL, 0);
	}
}

/* Requests on every stream id that is not ours (other clients' among
 * them): each must be refused. */
static void h_foreign_ids(struct hostile *h)
{
	struct proto_stream_volume v;
	struct proto_stream_op op;
	static const uint32_t ops[] = { PROTO_STREAM_PAUSE, PROTO_STREAM_CLOSE,
					PROTO_STREAM_DRAIN, PROTO_STREAM_START };

	for (uint32_t id = 0; id < H_FOREIGN_IDS; id++) {
		if (h_is_ours(h, id))
			continue;
		op.hdr = h_hdr(h, ops[id % 4], sizeof op, id);
		h_send(h, &op, sizeof op, NULL, 0);
		v = (struct proto_stream_volume){
			.hdr = h_hdr(h, PROTO_STREAM_VOLUME, sizeof v, id) };
		h_send(h, &v, sizeof v, NULL, 0);
	}
	op.hdr = h_hdr(h, PROTO_STREAM_CLOSE, sizeof op, UINT32_MAX);
	h_send(h, &op, sizeof op, NULL, 0);
}

/* Well-framed requests with values out of range, and descriptors. */
static void h_bad_values(struct hostile *h)
{
	static const float vols[] = { NAN, INFINITY, -1.0f, 4.5f, -0.0f };
	struct proto_stream_volume v;
	struct proto_stream_new n = h_new_msg(h, 1);
	struct proto_hello hello = { .hdr = h_hdr(h, PROTO_HELLO, sizeof hello, 0),
				     .version = 99 };

	for (size_t i = 0; i < sizeof vols / sizeof vols[0] - 1; i++) {
		v = (struct proto_stream_volume){
			.hdr = h_hdr(h, PROTO_STREAM_VOLUME, sizeof v, h->main.id),
			.volume = vols[i] };
		h_send(h, &v, sizeof v, NULL, 0);
	}
	memset(hello.name, 'x', sizeof hello.name);	/* no terminating NUL */
	h_send(h, &hello, sizeof hello, NULL, 0);
	n.rate = 0;
	h_send(h, &n, sizeof n, NULL, 0);
	n = h_new_msg(h, NAN);
	n.channels = 99;
	n.format = 77;
	n.latency_us = UINT32_MAX;
	h_send(h, &n, sizeof n, NULL, 0);
	n = h_new_msg(h, 1);
	n.direction = 7;
	h_send(h, &n, sizeof n, (int[]){ h->main.efd_server, h->main.memfd }, 2);
}

static void h_malformed(struct hostile *h)
{
	h_bad_framing(h);
	h_foreign_ids(h);
	h_bad_values(h);
}

/* Legal requests, far too many: every one of them makes lulld rewind. */
static void h_storm(struct hostile *h)
{
	struct proto_stream_op op;
	struct proto_stream_volume v;

	for (int i = 0; i < 20; i++) {
		op.hdr = h_hdr(h, i & 1 ? PROTO_STREAM_RESUME : PROTO_STREAM_PAUSE,
			       sizeof op, h->main.id);
		h_send(h, &op, sizeof op, NULL, 0);
		v = (struct proto_stream_volume){
			.hdr = h_hdr(h, PROTO_STREAM_VOLUME, sizeof v, h->main.id),
			.volume = 0 };
		h_send(h, &v, sizeof v, NULL, 0);
	}
}

/* Takes streams until lulld says no (they stay open until we exit). */
static void h_hog(struct hostile *h)
{
	static struct h_stream s[H_MAX_HOG];

	while (h->st.hog < H_MAX_HOG && h_stream(h, &s[h->st.hog], 0) == 0)
		h->st.hog++;
}

/* O_NONBLOCK lives in the open file, which lulld shares with us: we turn
 * it off for both eventfds, fill the counter lulld writes to (its next
 * write would then wait for us), and keep emptying the one it reads (so
 * its read after poll said "readable" may find nothing). */
static void h_eventfd_setup(struct hostile *h)
{
	uint64_t top = UINT64_MAX - 1;

	fcntl(h->main.efd_client, F_SETFL, 0);
	fcntl(h->main.efd_server, F_SETFL, 0);
	if (write(h->main.efd_client, &top, sizeof top) < 0)
		h->st.send_errors++;
	/* Audio in the ring (silent, volume 0) so that lulld consumes it and
	 * wants to tell us. */
	atomic_store(&h->main.hdr->ring.write,
		     atomic_load(&h->main.hdr->ring.read) + h->main.hdr->ring_frames);
}

static void h_eventfd_race(struct hostile *h)
{
	uint64_t v = 1;
	struct pollfd p = { .fd = h->main.efd_server, .events = POLLIN };

	for (int i = 0; i < 100; i++) {
		if (write(h->main.efd_server, &v, sizeof v) < 0)
			h->st.send_errors++;
		/* Take it back before lulld does, when we win the race; poll
		 * first, since a blocking read would stop us too. */
		if (poll(&p, 1, 0) == 1 && read(h->main.efd_server, &v, sizeof v) < 0)
			h->st.send_errors++;
		v = 1;
	}
}

/* The monitor memfd comes read-only; its /proc link reopens it with
 * whatever access the inode allows. */
static void h_monitor_setup(struct hostile *h)
{
	struct proto_stream_op op = { .hdr = h_hdr(h, PROTO_MONITOR, sizeof op, 0) };
	struct proto_reply r;
	int fds[SOCK_MAX_FDS], nfds, fd;
	char path[64];
	struct stat st;
	void *p;

	h_send(h, &op, sizeof op, NULL, 0);
	if (h_wait(h, &r, sizeof r, fds, &nfds) != (ssize_t)sizeof r || nfds != 1)
		return;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	printf("monitor_map_writable=%d\n", p != MAP_FAILED);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fds[0]);
	fd = open(path, O_RDWR);
	printf("monitor_reopen_rw=%d\n", fd >= 0);
	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED) {
		h->mon = p;
		h->mon_bytes = (size_t)st.st_size;
	}
}

static void h_monitor(struct hostile *h)
{
	uint64_t *w = h->mon;

	for (size_t i = 0; w && i < h->mon_bytes / sizeof *w; i++)
		w[i] = h_rand(h);
}

/* A well-behaved producer of ill-behaved samples: fills the ring's free
 * room with non-finite values and signals lulld when it asks. */
static void h_nan(struct hostile *h)
{
	struct shm_hdr *hdr = h->main.hdr;
	float *data = (float *)(void *)((char *)hdr + SHM_DATA_OFFSET);
	static const float bad[] = { NAN, INFINITY, -INFINITY, 1e30f, -1e30f };
	uint64_t w = atomic_load(&hdr->ring.write), r = atomic_load(&hdr->ring.read);
	uint64_t one = 1;

	for (; w - r < hdr->ring_frames; w++) {
		data[(w % hdr->ring_frames) * 2] = bad[w % 5];
		data[(w % hdr->ring_frames) * 2 + 1] = bad[(w + 1) % 5];
	}
	atomic_store(&hdr->ring.write, w);
	if (atomic_exchange(&hdr->want_signal, 0) == 1 &&
	    write(h->main.efd_server, &one, sizeof one) < 0)
		h->st.send_errors++;
}

static void h_round(struct hostile *h)
{
	if (h->what & H_SCRIBBLE)
		h_scribble(h);
	if (h->what & H_FLOOD)
		h_flood(h);
	if (h->what & H_MALFORMED)
		h_malformed(h);
	if (h->what & H_STORM)
		h_storm(h);
	if (h->what & H_EVENTFD)
		h_eventfd_race(h);
	if (h->what & H_MONITOR)
		h_monitor(h);
	if (h->what & H_NAN)
		h_nan(h);
	/* Read replies only now and then: lulld must cope with a client
	 * whose socket is full. */
	if (h->st.rounds % 8 == 0)
		h_replies(h);
	h->st.rounds++;
}

/* --- running ---------------------------------------------------------------------- */

static int h_setup(struct hostile *h)
{
	int err;

	h->fd = sock_connect(h->socket);
	if (h->fd < 0)
		return h->fd;
	if ((err = h_hello(h)) || (err = h_stream(h, &h->main, 0)))
		return err;
	/* Sealed: shrinking must fail, or lulld could be made to fault. */
	printf("truncate=%s\n", ftruncate(h->main.memfd, 0) < 0 ? strerror(errno) : "ALLOWED");
	if ((h->what & H_IDLE) && (err = h_stream(h, &h->idle, 1)))
		return err;
	if (h->what & H_EVENTFD)
		h_eventfd_setup(h);
	if (h->what & H_HOG)
		h_hog(h);
	if (h->what & H_MONITOR)
		h_monitor_setup(h);
	fcntl(h->fd, F_SETFL, O_NONBLOCK);
	printf("stream=%u idle_stream=%u hog_streams=%llu\n", h->main.id, h->idle.id,
	       (unsigned long long)h->st.hog);
	fflush(stdout);
	return 0;
}

static void h_run(struct hostile *h)
{
	double end = h_now() + h->seconds;
	struct timespec pause = { 0, 1000000 };

	while (h_now() < end && !h->st.hung_up) {
		h_round(h);
		nanosleep(&pause, NULL);	/* a round per millisecond or so */
	}
	h_replies(h);
	printf("rounds=%llu sent=%llu send_errors=%llu replies=%llu scribbles=%llu "
	       "flood_writes=%llu foreign_ok=%llu hung_up=%d\n",
	       (unsigned long long)h->st.rounds, (unsigned long long)h->st.sent,
	       (unsigned long long)h->st.send_errors, (unsigned long long)h->st.replies,
	       (unsigned long long)h->st.scribbles, (unsigned long long)h->st.flood_writes,
	       (unsigned long long)h->st.foreign_ok, h->st.hung_up);
}

/* --- options ---------------------------------------------------------------------- */

static int h_parse_what(const char *s, unsigned *what)
{
	static const char *const names[] = { "scribble", "flood", "malformed", "idle",
					     "storm", "hog", "eventfd", "monitor", "nan" };
	char buf[256], *save = NULL;

	*what = 0;
	snprintf(buf, sizeof buf, "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < sizeof names / sizeof names[0] && strcmp(t, names[i]))
			i++;
		if (i == sizeof names / sizeof names[0])
			return -EINVAL;
		*what |= 1u << i;
	}
	return *what ? 0 : -EINVAL;
}

static int h_parse(struct hostile *h, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "format", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 'S' },
		{ "do", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*h = (struct hostile){ .socket = getenv("LULL_SOCKET"), .seconds = 5,
			       .format = PROTO_S16, .what = H_DEFAULT, .rng = 1,
			       .fd = -1 };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			h->socket = optarg;
		else if (c == 't')
			h->seconds = atof(optarg);
		else if (c == 'S')
			h->rng = strtoull(optarg, NULL, 0);
		else if (c == 'f' && !strcmp(optarg, "float"))
			h->format = PROTO_FLOAT;
		else if (c == 'f' && !strcmp(optarg, "s16"))
			h->format = PROTO_S16;
		else if (c != 'd' || h_parse_what(optarg, &h->what))
			return -EINVAL;
	}
	if (h->what & H_NAN)
		h->format = PROTO_FLOAT;
	return optind == argc && h->socket ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct hostile h;
	int err;

	if (h_parse(&h, argc, argv)) {
		fputs("usage: hostile [--socket PATH] [--seconds S] [--format s16|float]\n"
		      "               [--seed N] [--do scribble,flood,malformed,idle,storm,"
		      "hog,eventfd,monitor,nan]\n", stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	err = h_setup(&h);
	if (err) {
		fprintf(stderr, "hostile: cannot start: %s\n", strerror(-err));
		return 1;
	}
	h_run(&h);
	return 0;
}
