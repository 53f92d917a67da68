/* The connection to lulld. See conn.h. */
#include "client/conn.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/lull.h"

/* A request waiting for its reply. */
struct conn_wait {
	struct conn_wait *next;
	uint32_t seq;
	int done;
	struct conn_msg *msg;
};

struct lull {
	int fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* a reply was handed out, or the reader left */
	uint32_t seq;		/* last one sent */
	int reading;		/* some thread is receiving */
	_Atomic int broken;	/* 0, LULL_EGONE or LULL_EPROTO; sticky */
	struct conn_wait *waits;
	struct conn_node streams;
};

/* --- messages ------------------------------------------------------------ */

void conn_msg_close_fds(struct conn_msg *msg)
{
	for (int i = 0; i < msg->nfds; i++)
		close(msg->fds[i]);
	msg->nfds = 0;
}

int conn_msg_is(const struct conn_msg *msg, uint32_t type)
{
	return msg->len >= sizeof msg->u.hdr && msg->u.hdr.type == type &&
	       msg->len == proto_size(type) && msg->u.hdr.length == msg->len;
}

int conn_reply_result(struct conn_msg *msg, uint32_t request)
{
	int ok = conn_msg_is(msg, PROTO_REPLY) && !msg->nfds &&
		 msg->u.reply.request == request && msg->u.reply.result <= 0;

	conn_msg_close_fds(msg);
	return ok ? msg->u.reply.result : LULL_EPROTO;
}

/* --- failure --------------------------------------------------------------- */

int conn_broken(struct lull *l)
{
	return atomic_load(&l->broken);
}

/* The first cause sticks: a connection that sent garbage and then hung up
 * is reported as having sent garbage. Wakes every waiter to see it. */
static void conn_fail(struct lull *l, int err)
{
	int none = 0;

	atomic_compare_exchange_strong(&l->broken, &none, err);
	pthread_cond_broadcast(&l->cond);
}

void conn_set_gone(struct lull *l)
{
	pthread_mutex_lock(&l->lock);
	conn_fail(l, LULL_EGONE);
	pthread_mutex_unlock(&l->lock);
}

int conn_fd(const struct lull *l)
{
	return l->fd;
}

/* A socket error means lulld is gone, whatever the errno. */
static int conn_io_error(int err)
{
	return err == -EINTR || err == -ENOMEM || err == -ENOBUFS ? err : LULL_EGONE;
}

/* --- receiving --------------------------------------------------------------- */

/* Waits for and receives one message. Called without the lock by the one
 * reading thread. poll() is never restarted after a signal handler, which
 * makes the wait interruptible whatever the handler's SA_RESTART. */
static int conn_recv(struct lull *l, struct conn_msg *msg)
{
	for (;;) {
		struct pollfd p = { .fd = l->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, -1) < 0)
			return errno == EINTR ? -EINTR : -errno;
		n = sock_recv(l->fd, msg->u.raw, sizeof msg->u.raw, msg->fds,
			      SOCK_MAX_FDS, &msg->nfds);
		if (n == -EAGAIN || n == -EINTR)
			continue;
		if (n == -EMSGSIZE)
			return LULL_EPROTO;
		if (n <= 0)
			return n ? conn_io_error((int)n) : LULL_EGONE;
		msg->len = (size_t)n;
		return 0;
	}
}

/* Hands msg to the request it answers. A reply nobody waits for answers a
 * request whose caller was interrupted: dropped. A sequence number never
 * sent means lulld is confused: the connection is broken, rather than
 * leaving the real request waiting forever. Lock held. */
static void conn_dispatch(struct lull *l, struct conn_msg *msg)
{
	uint32_t seq;

	if (msg->len < sizeof msg->u.hdr) {
		conn_msg_close_fds(msg);
		conn_fail(l, LULL_EPROTO);
		return;
	}
	seq = msg->u.hdr.seq;
	for (struct conn_wait *w = l->waits; w; w = w->next) {
		if (w->seq == seq && !w->done) {
			*w->msg = *msg;
			w->done = 1;
			pthread_cond_broadcast(&l->cond);
			return;
		}
	}
	conn_msg_close_fds(msg);
	if (!seq || (int32_t)(seq - l->seq) > 0)
		conn_fail(l, LULL_EPROTO);
}

/* Becomes the reader for one message. Lock held on entry and return. */
static int conn_read_one(struct lull *l)
{
	struct conn_msg msg = { .nfds = 0 };
	int err;

	l->reading = 1;
	pthread_mutex_unlock(&l->lock);
	err = conn_recv(l, &msg);
	pthread_mutex_lock(&l->lock);
	l->reading = 0;
	if (!err)
		conn_dispatch(l, &msg);
	else if (err != -EINTR)
		conn_fail(l, err);
	/* Someone else may have to take over reading. */
	pthread_cond_broadcast(&l->cond);
	return err;
}

/* Waits until w is answered. Lock held. */
static int conn_wait_reply(struct lull *l, struct conn_wait *w, int flags)
{
	while (!w->done && !conn_broken(l)) {
		int err;

		if (l->reading) {
			pthread_cond_wait(&l->cond, &l->lock);
			continue;
		}
		err = conn_read_one(l);
		if (err == -EINTR && (flags & CONN_INTR) && !w->done)
			return -EINTR;
	}
	return w->done ? 0 : conn_broken(l);
}

static void conn_unwait(struct lull *l, struct conn_wait *w)
{
	for (struct conn_wait **p = &l->waits; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			return;
		}
	}
}

/* --- requests ------------------------------------------------------------------ */

int conn_request(struct lull *l, void *req, size_t len,
		 struct conn_msg *reply, int flags)
{
	struct proto_hdr *hdr = req;
	struct conn_wait w = { .msg = reply };
	ssize_t n;
	int err;

	reply->nfds = 0;
	pthread_mutex_lock(&l->lock);
	err = conn_broken(l);
	if (err)
		goto out;
	/* 0 is never a request's number. */
	if (!++l->seq)
		l->seq = 1;
	w.seq = hdr->seq = l->seq;
	hdr->length = (uint32_t)len;
	w.next = l->waits;
	l->waits = &w;
	do
		n = sock_send(l->fd, req, len, NULL, 0);
	while (n == -EINTR);
	if (n < 0) {
		err = conn_io_error((int)n);
		if (err == LULL_EGONE)
			conn_fail(l, err);
	} else {
		err = conn_wait_reply(l, &w, flags);
	}
	conn_unwait(l, &w);
	/* A reply that came for us after all is not our caller's to close. */
	if (err && w.done)
		conn_msg_close_fds(reply);
out:
	pthread_mutex_unlock(&l->lock);
	return err;
}

/* --- streams -------------------------------------------------------------------- */

void conn_attach(struct lull *l, struct conn_node *n)
{
	pthread_mutex_lock(&l->lock);
	n->next = l->streams.next;
	n->prev = &l->streams;
	n->next->prev = n;
	l->streams.next = n;
	pthread_mutex_unlock(&l->lock);
}

void conn_detach(struct lull *l, struct conn_node *n)
{
	pthread_mutex_lock(&l->lock);
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
	pthread_mutex_unlock(&l->lock);
}

struct conn_node *conn_first(struct lull *l)
{
	struct conn_node *n;

	pthread_mutex_lock(&l->lock);
	n = l->streams.next == &l->streams ? NULL : l->streams.next;
	pthread_mutex_unlock(&l->lock);
	return n;
}

/* --- opening ---------------------------------------------------------------------- */

/* lulld refuses a hello with a PROTO_REPLY: -EPROTONOSUPPORT when it does
 * not speak our version. */
static int conn_check_refusal(struct conn_msg *msg)
{
	int err = conn_reply_result(msg, PROTO_HELLO);

	if (err == -EPROTONOSUPPORT)
		return LULL_EVERSION;
	return err ? err : LULL_EPROTO;
}

/* The welcome must speak our version. A lulld of another version may send
 * a welcome of another size, so its version is looked at first. */
static int conn_check_welcome(struct conn_msg *msg)
{
	size_t vend = offsetof(struct proto_welcome, version) + sizeof(uint32_t);
	int err = 0;

	if (msg->len >= sizeof msg->u.hdr && msg->u.hdr.type == PROTO_REPLY)
		return conn_check_refusal(msg);
	if (msg->len >= vend && msg->u.hdr.type == PROTO_WELCOME &&
	    msg->u.welcome.version != PROTO_VERSION)
		err = LULL_EVERSION;
	else if (!conn_msg_is(msg, PROTO_WELCOME) || msg->nfds)
		err = LULL_EPROTO;
	conn_msg_close_fds(msg);
	return err;
}

static int conn_hello(struct lull *l, const char *name)
{
	struct proto_hello hello = {
		.hdr.type = PROTO_HELLO,
		.version = PROTO_VERSION,
	};
	struct conn_msg msg;
	int err;

	if (!name)
		name = program_invocation_short_name;
	strncpy(hello.name, name, sizeof hello.name - 1);
	err = conn_request(l, &hello, sizeof hello, &msg, 0);
	return err ? err : conn_check_welcome(&msg);
}

static int conn_connect(const char *socket)
{
	char path[4096];
	int fd;

	if (!socket) {
		int err = sock_default_path(path, sizeof path);

		if (err)
			return err == -ENOENT ? LULL_ENOSERVER : err;
		socket = path;
	}
	fd = sock_connect(socket);
	if (fd == -ENOENT || fd == -ECONNREFUSED || fd == -ENOTDIR)
		return LULL_ENOSERVER;
	return fd;
}

int conn_open(struct lull **out, const char *socket, const char *name)
{
	struct lull *l = calloc(1, sizeof *l);
	int err;

	if (!l)
		return -ENOMEM;
	l->fd = conn_connect(socket);
	if (l->fd < 0) {
		err = l->fd;
		free(l);
		return err;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->streams.next = l->streams.prev = &l->streams;
	err = conn_hello(l, name);
	if (err) {
		conn_close(l);
		return err;
	}
	*out = l;
	return 0;
}

void conn_close(struct lull *l)
{
	if (!l)
		return;
	close(l->fd);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
