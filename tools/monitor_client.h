/* The tools' side of PROTO_MONITOR: connect to lulld, say hello, and map
 * the read-only trace ring and status page it hands over (ipc/monitor.h).
 *
 * The connection stays open while the tool runs: it is how a tool learns
 * that lulld has gone (the socket hangs up). The mapping outlives lulld,
 * so whatever it traced up to its exit can still be read afterwards. */
#ifndef LULL_MONITOR_CLIENT_H
#define LULL_MONITOR_CLIENT_H

#include "ipc/monitor.h"
#include "ipc/proto.h"

struct monitor_client {
	int fd;				/* the connection to lulld */
	const struct monitor *m;	/* read-only */
	struct proto_welcome welcome;	/* the card, as lulld announced it */
	char path[108];			/* the socket */
};

/* socket: NULL for the default ($LULL_SOCKET, else $XDG_RUNTIME_DIR/lull/
 * socket); name: what lulld knows this tool as. Waits at most a few
 * seconds for lulld to answer (-ETIMEDOUT). Returns 0 or -errno: -ENOENT
 * or -ECONNREFUSED when no lulld listens, -EPROTO for an answer that is
 * not lulld's, -EPROTONOSUPPORT for a lulld of another version. */
int monitor_client_open(struct monitor_client *mc, const char *socket,
			const char *name);
void monitor_client_close(struct monitor_client *mc);

/* Whether lulld has hung up: 1 gone, 0 still there, -errno. Never waits. */
int monitor_client_gone(struct monitor_client *mc);

#endif
