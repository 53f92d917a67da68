/* lulld's control thread. See server.h. */
#include "sched/server.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc/proto.h"
#include "ipc/sock.h"
#include "sched/capture.h"
#include "sched/recstream.h"
#include "sched/stream.h"

#define SERVER_MAX_CLIENTS 128
#define SERVER_MAX_STREAMS 64	/* engine has room for more; this is policy */
#define SERVER_CLIENT_STREAMS 16	/* one client cannot take every slot */

struct client;

/* A stream as the control thread tracks it: playback (s, on the engine)
 * or capture (r, on the capture thread). */
struct slot {
	uint32_t id;
	struct stream *s;
	struct recstream *r;
	struct client *c;	/* NULL once its client has gone */
	uint32_t close_seq;
	int closing;
	struct slot *next;
};

struct client {
	int fd;
	pid_t pid;
	int hello;
	unsigned nstreams;
	int warned;		/* already logged a bad message from it */
	char name[PROTO_NAME_MAX];
	struct client *next;
};

/* The playback card as the control thread sees it: how to open it again
 * when it fails, and when to try next. */
struct server_card {
	struct device_cfg cfg;
	char name[256];
	int lost;		/* failed; not yet handed a new one */
	int64_t lost_at, retry_at, backoff;	/* CLOCK_MONOTONIC ns */
	unsigned attempts;
	int differs_told;	/* logged once: it reopens with other settings */
};

struct server {
	struct engine *e;
	struct server_card card;
	struct capture *cap;	/* NULL: no capture device */
	int lfd;
	char path[108];
	struct client *clients;
	unsigned nclients;
	struct slot *slots;
	unsigned nslots;
	uint32_t next_id;
};

typedef void (*server_handler)(struct server *sv, struct client *c,
			       const void *msg);

/* --- replies ----------------------------------------------------------------- */

static void server_send(struct client *c, const void *msg, size_t len,
			const int *fds, int nfds)
{
	/* A client that cannot take a reply is gone or stuck: its hangup is
	 * noticed by poll; nothing else to do here. */
	sock_send(c->fd, msg, len, fds, nfds);
}

static void server_reply(struct client *c, const struct proto_hdr *req,
			 int32_t result)
{
	struct proto_reply r = {
		.hdr = { .length = sizeof r, .type = PROTO_REPLY, .seq = req->seq,
			 .stream = req->stream },
		.request = req->type, .result = result,
	};

	server_send(c, &r, sizeof r, NULL, 0);
}

static void server_push(struct cmdq *q, const struct cmd *c)
{
	/* The audio threads empty their queues every cycle; a full queue
	 * only means one is busy for a moment. */
	while (cmdq_push(q, c) == -EAGAIN) {
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
}

static struct slot *server_slot(struct server *sv, struct client *c, uint32_t id)
{
	for (struct slot *sl = sv->slots; sl; sl = sl->next)
		if (sl->c == c && sl->id == id && !sl->closing)
			return sl;
	return NULL;
}

/* --- handlers, one per message ------------------------------------------------ */

static void on_hello(struct server *sv, struct client *c, const void *msg)
{
	const struct proto_hello *m = msg;
	const struct device_info *d = &sv->e->dev.info;
	struct proto_welcome w = {
		.hdr = { .length = sizeof w, .type = PROTO_WELCOME, .seq = m->hdr.seq },
		.version = PROTO_VERSION, .rate = d->rate, .channels = d->channels,
		.format = d->fmt, .buffer_frames = (uint32_t)d->buffer,
	};

	memcpy(c->name, m->name, sizeof c->name);
	c->name[sizeof c->name - 1] = 0;
	if (m->version != PROTO_VERSION) {
		server_reply(c, &m->hdr, -EPROTONOSUPPORT);
		return;
	}
	c->hello = 1;
	server_send(c, &w, sizeof w, NULL, 0);
}

static int server_check_new(const struct server *sv, const struct proto_stream_new *m)
{
	if (m->direction != PROTO_PLAYBACK && m->direction != PROTO_CAPTURE)
		return -EINVAL;
	if (m->direction == PROTO_CAPTURE && !sv->cap)
		return -ENODEV;
	if (m->rate < 1000 || m->rate > 384000 || m->channels < 1 ||
	    m->channels > 8 || m->format > PROTO_FLOAT)
		return -EINVAL;
	if (m->latency_us > 10000000 || !isfinite(m->volume) ||
	    m->volume < 0 || m->volume > 4)
		return -EINVAL;
	return 0;
}

static void server_name_stream(struct stream *s, const struct client *c)
{
	s->pid = c->pid;
	memcpy(s->name, c->name, sizeof s->name);
	s->name[sizeof s->name - 1] = 0;
}

static int server_make(struct server *sv, const struct client *c,
		       const struct proto_stream_new *m, struct stream **out)
{
	const struct device_info *d = &sv->e->dev.info;
	struct stream_cfg cfg = {
		.id = ++sv->next_id, .rate = m->rate, .channels = m->channels,
		.fmt = (enum fmt)m->format, .volume = m->volume,
		.paused = !!(m->flags & PROTO_START_PAUSED),
		.latency_ns = (uint64_t)m->latency_us * 1000,
		.dev_rate = d->rate, .dev_channels = d->channels,
		.dev_buffer = d->buffer, .watermark = sv->e->cfg.watermark,
	};
	int err = stream_new(out, &cfg);

	if (!err)
		server_name_stream(*out, c);
	return err;
}

static int server_make_rec(struct server *sv, const struct client *c,
			   const struct proto_stream_new *m, struct recstream **out)
{
	const struct device_info *d = &sv->cap->dev.info;
	struct recstream_cfg cfg = {
		.id = ++sv->next_id, .rate = m->rate, .channels = m->channels,
		.fmt = (enum fmt)m->format, .volume = m->volume,
		.paused = !!(m->flags & PROTO_START_PAUSED),
		.latency_ns = (uint64_t)m->latency_us * 1000,
		.dev_rate = d->rate, .dev_channels = d->channels,
		.dev_buffer = d->buffer,
	};
	int err = recstream_new(out, &cfg);

	if (!err) {
		(*out)->pid = c->pid;
		memcpy((*out)->name, c->name, sizeof (*out)->name);
		(*out)->name[sizeof (*out)->name - 1] = 0;
	}
	return err;
}

static int server_new_play(struct server *sv, struct client *c,
			   const struct proto_stream_new *m, struct slot *sl,
			   struct proto_stream_made *r)
{
	struct cmd add = { .type = CMD_ADD };
	struct stream *s;
	int err = server_make(sv, c, m, &s);

	if (err)
		return err;
	sl->id = s->id;
	sl->s = s;
	r->ring_frames = (uint32_t)s->ring_frames;
	r->shm_bytes = s->link.bytes;
	r->latency_us = (uint32_t)(s->latency_ns / 1000);
	r->request_frames = (uint32_t)s->request_frames;
	/* The audio thread first, so it is listening when the client's
	 * first write arrives. */
	add.s = s;
	server_push(&sv->e->in, &add);
	return 0;
}

static int server_new_rec(struct server *sv, struct client *c,
			  const struct proto_stream_new *m, struct slot *sl,
			  struct proto_stream_made *r)
{
	struct cmd add = { .type = CMD_ADD };
	struct recstream *rs;
	int err = server_make_rec(sv, c, m, &rs);

	if (err)
		return err;
	sl->id = rs->id;
	sl->r = rs;
	r->ring_frames = (uint32_t)rs->ring_frames;
	r->shm_bytes = rs->link.bytes;
	r->latency_us = (uint32_t)(rs->latency_ns / 1000);
	r->request_frames = (uint32_t)rs->request_frames;
	add.r = rs;
	server_push(&sv->cap->in, &add);
	return 0;
}

static int server_may_add(const struct server *sv, const struct client *c,
			  const struct proto_stream_new *m)
{
	int err = server_check_new(sv, m);

	if (!err && (sv->nslots >= SERVER_MAX_STREAMS ||
		     c->nstreams >= SERVER_CLIENT_STREAMS))
		err = -EMFILE;
	return err;
}

/* The client's ends of the stream's memfd and pipes go with the reply;
 * lulld keeps only its own. */
static void server_send_made(struct client *c, struct proto_stream_made *r,
			     struct slot *sl)
{
	struct link *k = sl->s ? &sl->s->link : &sl->r->link;
	int fds[3];

	link_peer_fds(k, fds);
	r->hdr.stream = sl->id;
	server_send(c, r, sizeof *r, fds, 3);
	link_forget_peer(k);
}

static void on_stream_new(struct server *sv, struct client *c, const void *msg)
{
	const struct proto_stream_new *m = msg;
	struct proto_stream_made r = {
		.hdr = { .length = sizeof r, .type = PROTO_STREAM_MADE, .seq = m->hdr.seq },
	};
	struct slot *sl = NULL;
	int err = server_may_add(sv, c, m);

	if (!err && !(sl = calloc(1, sizeof *sl)))
		err = -ENOMEM;
	if (!err)
		err = m->direction == PROTO_CAPTURE ? server_new_rec(sv, c, m, sl, &r) :
		      server_new_play(sv, c, m, sl, &r);
	if (err) {
		free(sl);
		r.result = err;
		server_send(c, &r, sizeof r, NULL, 0);
		return;
	}
	*sl = (struct slot){ .id = sl->id, .s = sl->s, .r = sl->r, .c = c,
			     .next = sv->slots };
	sv->slots = sl;
	sv->nslots++;
	c->nstreams++;
	server_send_made(c, &r, sl);
}

/* A command for the thread that holds the slot's stream. */
static void server_push_to(struct server *sv, struct slot *sl, struct cmd *cmd)
{
	if (sl->r) {
		cmd->r = sl->r;
		server_push(&sv->cap->in, cmd);
	} else {
		cmd->s = sl->s;
		server_push(&sv->e->in, cmd);
	}
}

/* Start, pause, resume, volume and drain go to the audio thread as they
 * are; the first three are answered at once, a capture stream's drain
 * too. */
static void server_stream_cmd(struct server *sv, struct client *c,
			      const struct proto_hdr *h, uint32_t type, float v)
{
	struct slot *sl = server_slot(sv, c, h->stream);
	struct cmd cmd = { .type = type, .value = v, .token = h->seq };

	if (!sl) {
		server_reply(c, h, -ENOENT);
		return;
	}
	if (sl->r && type == CMD_DRAIN) {
		server_reply(c, h, 0);	/* nothing to play out */
		return;
	}
	server_push_to(sv, sl, &cmd);
	if (type != CMD_DRAIN)
		server_reply(c, h, 0);
}

static void on_start(struct server *sv, struct client *c, const void *msg)
{
	server_stream_cmd(sv, c, msg, CMD_RESUME, 0);
}

static void on_pause(struct server *sv, struct client *c, const void *msg)
{
	server_stream_cmd(sv, c, msg, CMD_PAUSE, 0);
}

static void on_resume(struct server *sv, struct client *c, const void *msg)
{
	server_stream_cmd(sv, c, msg, CMD_RESUME, 0);
}

static void on_drain(struct server *sv, struct client *c, const void *msg)
{
	server_stream_cmd(sv, c, msg, CMD_DRAIN, 0);
}

static void on_volume(struct server *sv, struct client *c, const void *msg)
{
	const struct proto_stream_volume *m = msg;

	if (!isfinite(m->volume) || m->volume < 0 || m->volume > 4) {
		server_reply(c, &m->hdr, -EINVAL);
		return;
	}
	server_stream_cmd(sv, c, &m->hdr, CMD_VOLUME, m->volume);
}

/* The stream leaves the mix at once; it is freed, and the close answered,
 * when the audio thread hands it back. */
static void server_remove(struct server *sv, struct slot *sl)
{
	struct cmd rm = { .type = CMD_REMOVE };

	sl->closing = 1;
	server_push_to(sv, sl, &rm);
}

static void on_close(struct server *sv, struct client *c, const void *msg)
{
	const struct proto_hdr *h = msg;
	struct slot *sl = server_slot(sv, c, h->stream);

	if (!sl) {
		server_reply(c, h, -ENOENT);
		return;
	}
	sl->close_seq = h->seq;
	server_remove(sv, sl);
}

/* A tool asks for the trace and status page: a read-only descriptor. */
static void on_monitor(struct server *sv, struct client *c, const void *msg)
{
	const struct proto_hdr *h = msg;
	struct proto_reply r = {
		.hdr = { .length = sizeof r, .type = PROTO_REPLY, .seq = h->seq },
		.request = h->type,
	};
	int fd = trace_reader_fd(&sv->e->trace);

	r.result = fd < 0 ? fd : 0;
	server_send(c, &r, sizeof r, &fd, fd < 0 ? 0 : 1);
	if (fd >= 0)
		close(fd);
}

static const server_handler server_handlers[PROTO_TYPE_MAX] = {
	[PROTO_MONITOR] = on_monitor,
	[PROTO_HELLO] = on_hello,
	[PROTO_STREAM_NEW] = on_stream_new,
	[PROTO_STREAM_START] = on_start,
	[PROTO_STREAM_PAUSE] = on_pause,
	[PROTO_STREAM_RESUME] = on_resume,
	[PROTO_STREAM_DRAIN] = on_drain,
	[PROTO_STREAM_CLOSE] = on_close,
	[PROTO_STREAM_VOLUME] = on_volume,
};

/* --- clients ------------------------------------------------------------------ */

static void server_drop_client(struct server *sv, struct client *c)
{
	struct client **pp;

	for (struct slot *sl = sv->slots; sl; sl = sl->next) {
		if (sl->c != c)
			continue;
		sl->c = NULL;
		if (!sl->closing)
			server_remove(sv, sl);
	}
	for (pp = &sv->clients; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	sv->nclients--;
	close(c->fd);
	free(c);
}

/* Returns 0, or -1 when the client is to be dropped. A malformed message
 * gets an error reply; the connection stays. */
static int server_read(struct server *sv, struct client *c)
{
	union {
		struct proto_hdr hdr;
		char bytes[256];
	} m;
	int fds[SOCK_MAX_FDS], nfds = 0;
	ssize_t n = sock_recv(c->fd, &m, sizeof m, fds, SOCK_MAX_FDS, &nfds);

	for (int i = 0; i < nfds; i++)
		close(fds[i]);	/* clients have no business sending fds */
	if (n == 0 || (n < 0 && n != -EMSGSIZE && n != -EAGAIN && n != -EINTR))
		return -1;
	if (n < 0) {
		if (n == -EMSGSIZE && !c->warned++)
			fprintf(stderr, "lulld: client %d sent an oversized message "
				"(logged once per client)\n", c->pid);
		return 0;
	}
	if ((size_t)n < sizeof m.hdr || m.hdr.length != (uint32_t)n ||
	    proto_size(m.hdr.type) != (uint32_t)n || !server_handlers[m.hdr.type] ||
	    (!c->hello && m.hdr.type != PROTO_HELLO)) {
		if ((size_t)n >= sizeof m.hdr)
			server_reply(c, &m.hdr, -EBADMSG);
		return 0;
	}
	server_handlers[m.hdr.type](sv, c, &m);
	return 0;
}

static void server_accept(struct server *sv)
{
	struct client *c;
	pid_t pid = 0;
	int fd = sock_accept(sv->lfd);

	if (fd < 0)
		return;
	if (sock_peer_check(fd, &pid) < 0 || sv->nclients >= SERVER_MAX_CLIENTS ||
	    !(c = calloc(1, sizeof *c))) {
		close(fd);
		return;
	}
	*c = (struct client){ .fd = fd, .pid = pid, .next = sv->clients };
	sv->clients = c;
	sv->nclients++;
}

/* --- losing the card and getting it back --------------------------------------- */

/* A failed card is reopened after 50 ms, then twice as long after each
 * failed try, up to 2 s: quick after a glitch, quiet while it is gone. */
#define SERVER_REOPEN_FIRST_NS 50000000LL
#define SERVER_REOPEN_MAX_NS 2000000000LL

static int64_t server_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void server_set_device(struct server *sv, const struct device_cfg *cfg)
{
	struct server_card *k = &sv->card;
	const struct device_info *d = &sv->e->dev.info;

	snprintf(k->name, sizeof k->name, "%s", cfg->name);
	/* The streams were built for this rate, layout and format: a new
	 * card must have the same. No probe: the engine keeps its mode. */
	k->cfg = (struct device_cfg){
		.name = k->name, .rate = d->rate, .channels = d->channels,
		.fmt = (int)d->fmt, .buffer_ms = cfg->buffer_ms,
		.no_rewind = 1, .quiet = 1,
	};
}

/* The audio thread has let go of the card: close it, reopen it later. */
static void server_card_lost(struct server *sv, struct device *dead, int err)
{
	struct server_card *k = &sv->card;

	fprintf(stderr, "lulld: lost the card %s: %s; reopening it%s\n",
		sv->e->dev.info.name, strerror(err),
		k->name[0] ? "" : " is not possible (no settings)");
	if (dead->ops)
		dead->ops->close(dead->dev);
	dead->ops = NULL;
	if (!k->name[0])
		return;
	k->lost = 1;
	k->lost_at = server_now();
	k->backoff = SERVER_REOPEN_FIRST_NS;
	k->retry_at = k->lost_at + k->backoff;
	k->attempts = 0;
}

static int server_card_same(const struct device_info *a, const struct device_info *b)
{
	return a->rate == b->rate && a->channels == b->channels &&
	       a->fmt == b->fmt && a->buffer == b->buffer;
}

/* Opens the card again; 0 when it went to the audio thread. */
static int server_card_open(struct server *sv)
{
	struct server_card *k = &sv->card;
	struct cmd c = { .type = CMD_DEVICE };
	struct device *nd = calloc(1, sizeof *nd);
	int err = nd ? device_open_alsa(nd, &k->cfg) : -ENOMEM;

	if (!err && !server_card_same(&nd->info, &sv->e->dev.info)) {
		if (!k->differs_told++)
			fprintf(stderr, "lulld: %s came back with another rate, "
				"layout, format or buffer; waiting for the old one\n",
				k->name);
		nd->ops->close(nd->dev);
		err = -EINVAL;
	}
	if (err) {
		free(nd);
		return err;
	}
	c.dev = nd;
	server_push(&sv->e->in, &c);
	return 0;
}

/* Time for the next try: open, or back off. */
static void server_card_retry(struct server *sv)
{
	struct server_card *k = &sv->card;
	int64_t now = server_now();

	if (!k->lost || now < k->retry_at)
		return;
	k->attempts++;
	if (server_card_open(sv) == 0) {
		k->lost = 0;
		return;
	}
	k->backoff = k->backoff * 2 < SERVER_REOPEN_MAX_NS ? k->backoff * 2 :
		     SERVER_REOPEN_MAX_NS;
	k->retry_at = now + k->backoff;
}

/* The poll timeout until the next try, in ms; -1: none due. */
static int server_card_timeout(const struct server *sv)
{
	int64_t left;

	if (!sv->card.lost)
		return -1;
	left = sv->card.retry_at - server_now();
	return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

static void server_card_clamped(const struct cmd *c)
{
	fprintf(stderr, "lulld: the card reported an impossible position (%u frames %s); "
		"clamped\n", c->token, c->value > 0 ? "beyond the buffer" :
		"before its last position, more than a buffer back");
}

/* The audio thread plays on the new card; the struct that carried it
 * may hold the card it replaced (none when that one was lost). */
static void server_card_back(struct server *sv, struct device *nd)
{
	struct server_card *k = &sv->card;

	fprintf(stderr, "lulld: the card %s is back after %.0f ms (%u attempt%s)\n",
		k->name, (server_now() - k->lost_at) / 1e6, k->attempts,
		k->attempts == 1 ? "" : "s");
	if (nd->ops)
		nd->ops->close(nd->dev);
	free(nd);
}

static void server_card_event(struct server *sv, const struct cmd *c)
{
	if (c->type == EVT_LOST)
		server_card_lost(sv, c->dev, (int)c->token);
	else if (c->type == EVT_DEVICE)
		server_card_back(sv, c->dev);
	else if (c->type == EVT_CLAMPED)
		server_card_clamped(c);
}

/* --- streams coming back from the audio thread --------------------------------- */

static struct slot *server_unlink(struct server *sv, const struct stream *s,
				  const struct recstream *r)
{
	for (struct slot **pp = &sv->slots; *pp; pp = &(*pp)->next) {
		struct slot *sl = *pp;
		if ((s && sl->s == s) || (r && sl->r == r)) {
			*pp = sl->next;
			sv->nslots--;
			return sl;
		}
	}
	return NULL;
}

static void server_free_slot(struct slot *sl)
{
	stream_free(sl->s);
	recstream_free(sl->r);
	free(sl);
}

/* An audio thread has handed a stream back: it may be freed, and its
 * close answered. */
static void server_removed(struct slot *sl)
{
	struct proto_hdr h = { .type = PROTO_STREAM_CLOSE, .stream = sl->id };

	if (sl->c) {
		h.seq = sl->close_seq;
		server_reply(sl->c, &h, 0);
		sl->c->nstreams--;
	}
	server_free_slot(sl);
}

static void server_drained(struct server *sv, struct stream *s, uint32_t token)
{
	struct proto_hdr h = { .type = PROTO_STREAM_DRAIN, .seq = token, .stream = s->id };

	for (struct slot *sl = sv->slots; sl; sl = sl->next)
		if (sl->s == s && sl->c && !sl->closing)
			server_reply(sl->c, &h, 0);
}

static void server_events(struct server *sv)
{
	struct cmd c;

	cmdq_ack(&sv->e->out);
	while (cmdq_pop(&sv->e->out, &c) == 0) {
		struct slot *sl;
		if (c.type == EVT_REMOVED && (sl = server_unlink(sv, c.s, NULL)))
			server_removed(sl);
		else if (c.type == EVT_DRAINED)
			server_drained(sv, c.s, c.token);
		else
			server_card_event(sv, &c);
	}
}

static void server_capture_events(struct server *sv)
{
	struct cmd c;
	struct slot *sl;

	cmdq_ack(&sv->cap->out);
	while (cmdq_pop(&sv->cap->out, &c) == 0) {
		if (c.type == EVT_REMOVED && (sl = server_unlink(sv, NULL, c.r)))
			server_removed(sl);
		else if (c.type == EVT_CAPTURE && c.token)
			fprintf(stderr, "lulld: the capture card fails: %s; retrying "
				"every 100 ms\n", strerror((int)c.token));
		else if (c.type == EVT_CAPTURE)
			fprintf(stderr, "lulld: the capture card works again\n");
	}
}

/* --- the loop ------------------------------------------------------------------ */

enum { PFD_STOP, PFD_LISTEN, PFD_EVENTS, PFD_CAPTURE, PFD_CLIENTS };

static unsigned server_pollset(struct server *sv, struct pollfd *p, int stop_fd,
			       struct client **who)
{
	unsigned n = PFD_CLIENTS;

	p[PFD_STOP] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
	p[PFD_LISTEN] = (struct pollfd){ .fd = sv->lfd, .events = POLLIN };
	p[PFD_EVENTS] = (struct pollfd){ .fd = sv->e->out.efd, .events = POLLIN };
	p[PFD_CAPTURE] = (struct pollfd){ .fd = sv->cap ? sv->cap->out.efd : -1,
					  .events = POLLIN };
	for (struct client *c = sv->clients; c; c = c->next) {
		who[n] = c;
		p[n++] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
	}
	return n;
}

static void server_clients(struct server *sv, struct pollfd *p, unsigned n,
			   struct client **who)
{
	for (unsigned i = PFD_CLIENTS; i < n; i++) {
		if (!p[i].revents)
			continue;
		if ((p[i].revents & POLLIN) && server_read(sv, who[i]) == 0)
			continue;
		if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
			server_drop_client(sv, who[i]);
	}
}

int server_run(struct server *sv, int stop_fd)
{
	struct pollfd p[PFD_CLIENTS + SERVER_MAX_CLIENTS];
	struct client *who[PFD_CLIENTS + SERVER_MAX_CLIENTS];

	for (;;) {
		unsigned n = server_pollset(sv, p, stop_fd, who);
		if (poll(p, n, server_card_timeout(sv)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[PFD_STOP].revents)
			return 0;
		if (p[PFD_EVENTS].revents)
			server_events(sv);
		if (p[PFD_CAPTURE].revents)
			server_capture_events(sv);
		server_clients(sv, p, n, who);
		if (p[PFD_LISTEN].revents)
			server_accept(sv);
		server_card_retry(sv);
	}
}

void server_set_capture(struct server *sv, struct capture *cap)
{
	sv->cap = cap;
}

int server_new(struct server **out, const char *path, struct engine *e)
{
	struct server *sv = calloc(1, sizeof *sv);

	if (!sv)
		return -ENOMEM;
	sv->e = e;
	snprintf(sv->path, sizeof sv->path, "%s", path);
	sv->lfd = sock_listen(path);
	if (sv->lfd < 0) {
		int err = sv->lfd;
		free(sv);
		return err;
	}
	*out = sv;
	return 0;
}

/* The audio thread has stopped: whatever it still held is ours to free. */
void server_free(struct server *sv)
{
	if (!sv)
		return;
	while (sv->slots) {
		struct slot *sl = sv->slots;
		sv->slots = sl->next;
		server_free_slot(sl);
	}
	while (sv->clients) {
		struct client *c = sv->clients;
		sv->clients = c->next;
		close(c->fd);
		free(c);
	}
	close(sv->lfd);
	unlink(sv->path);
	free(sv);
}
