/* Connecting a tool to lulld's monitor. See monitor_client.h. */
#include "tools/monitor_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipc/sock.h"

/* lulld answers between two cycles of its control loop; at start-up it
 * may still be opening the card. */
#define MONITOR_CLIENT_TIMEOUT_MS 5000

/* One message of up to len bytes (and descriptors) within the timeout. */
static ssize_t monitor_client_recv(int fd, void *msg, size_t len, int *fds,
				   int max, int *nfds)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, MONITOR_CLIENT_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	return sock_recv(fd, msg, len, fds, max, nfds);
}

static void monitor_client_close_fds(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static int monitor_client_hello(struct monitor_client *mc, const char *name)
{
	struct proto_hello h = {
		.hdr = { .length = sizeof h, .type = PROTO_HELLO, .seq = 1 },
		.version = PROTO_VERSION,
	};
	union {
		struct proto_hdr hdr;
		struct proto_welcome w;
		struct proto_reply r;
	} in;
	int fds[SOCK_MAX_FDS], nfds = 0;
	ssize_t n;

	snprintf(h.name, sizeof h.name, "%s", name);
	n = sock_send(mc->fd, &h, sizeof h, NULL, 0);
	if (n < 0)
		return (int)n;
	n = monitor_client_recv(mc->fd, &in, sizeof in, fds, SOCK_MAX_FDS, &nfds);
	monitor_client_close_fds(fds, nfds);
	if (n < 0)
		return (int)n;
	/* A lulld of another version answers the hello with a refusal. */
	if (n == (ssize_t)sizeof in.r && in.hdr.type == PROTO_REPLY)
		return in.r.result < 0 ? in.r.result : -EPROTO;
	if (n != (ssize_t)sizeof in.w || in.hdr.type != PROTO_WELCOME ||
	    in.w.version != PROTO_VERSION)
		return -EPROTO;
	mc->welcome = in.w;
	return 0;
}

/* PROTO_MONITOR: the reply carries the read-only memfd. */
static int monitor_client_request(struct monitor_client *mc, int *memfd)
{
	struct proto_stream_op op = {
		.hdr = { .length = sizeof op, .type = PROTO_MONITOR, .seq = 2 },
	};
	struct proto_reply r;
	int fds[SOCK_MAX_FDS], nfds = 0;
	ssize_t n = sock_send(mc->fd, &op, sizeof op, NULL, 0);

	if (n < 0)
		return (int)n;
	n = monitor_client_recv(mc->fd, &r, sizeof r, fds, SOCK_MAX_FDS, &nfds);
	if (n >= 0 && (n != (ssize_t)sizeof r || r.hdr.type != PROTO_REPLY ||
		       r.request != PROTO_MONITOR || r.hdr.seq != 2))
		n = -EPROTO;
	else if (n >= 0 && r.result < 0)
		n = r.result;
	else if (n >= 0 && nfds != 1)
		n = -EPROTO;
	if (n < 0) {
		monitor_client_close_fds(fds, nfds);
		return (int)n;
	}
	*memfd = fds[0];
	return 0;
}

int monitor_client_open(struct monitor_client *mc, const char *socket,
			const char *name)
{
	int err, memfd = -1;

	memset(mc, 0, sizeof *mc);
	mc->fd = -1;
	if (socket)
		err = snprintf(mc->path, sizeof mc->path, "%s", socket) >=
		      (int)sizeof mc->path ? -ENAMETOOLONG : 0;
	else
		err = sock_default_path(mc->path, sizeof mc->path);
	if (err)
		return err;
	mc->fd = sock_connect(mc->path);
	if (mc->fd < 0)
		return mc->fd;
	err = monitor_client_hello(mc, name);
	if (!err)
		err = monitor_client_request(mc, &memfd);
	if (!err) {
		/* The mapping keeps the memory; the descriptor is not needed. */
		err = monitor_map(memfd, &mc->m);
		close(memfd);
	}
	if (err)
		monitor_client_close(mc);
	return err;
}

void monitor_client_close(struct monitor_client *mc)
{
	if (mc->fd >= 0)
		close(mc->fd);
	monitor_unmap(mc->m);
	mc->fd = -1;
	mc->m = NULL;
}

int monitor_client_gone(struct monitor_client *mc)
{
	struct pollfd p = { .fd = mc->fd, .events = POLLIN };
	char junk[64];
	int nfds = 0, fds[SOCK_MAX_FDS];
	ssize_t n;

	if (poll(&p, 1, 0) < 0)
		return errno == EINTR ? 0 : -errno;
	if (p.revents & (POLLHUP | POLLERR))
		return 1;
	if (!(p.revents & POLLIN))
		return 0;
	/* lulld sends a tool nothing unasked; anything else is read away so
	 * it does not keep the socket readable. */
	n = sock_recv(mc->fd, junk, sizeof junk, fds, SOCK_MAX_FDS, &nfds);
	monitor_client_close_fds(fds, nfds);
	if (n == 0)
		return 1;
	return n < 0 && n != -EAGAIN && n != -EMSGSIZE ? (int)n : 0;
}
