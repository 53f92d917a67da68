/* One connection to lulld (struct lull): the socket, the hello exchange,
 * requests and their replies, and the list of streams it carries.
 * Internal to liblull.
 *
 * Any thread may make a request at any time. Requests are sent one at a
 * time under the connection lock, each with the next sequence number, and
 * replies are matched to their requests by that number. Whichever waiting
 * thread finds nobody reading the socket becomes its reader and hands
 * every reply it receives to the request it answers, so a DRAIN waiting
 * for its reply does not hold up another stream's VOLUME. */
#ifndef LULL_CONN_H
#define LULL_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "ipc/proto.h"
#include "ipc/sock.h"

struct lull;

/* A message as received, with the descriptors that came with it. */
struct conn_msg {
	union {
		struct proto_hdr hdr;
		struct proto_welcome welcome;
		struct proto_stream_made made;
		struct proto_reply reply;
		uint8_t raw[256];	/* room to see oversized packets */
	} u;
	size_t len;
	int fds[SOCK_MAX_FDS];
	int nfds;
};

/* Streams of a connection, linked through a node inside each stream. */
struct conn_node {
	struct conn_node *prev, *next;
};

/* Connects and says hello. socket NULL: the default path. Returns 0,
 * LULL_ENOSERVER, LULL_EVERSION, LULL_EGONE, LULL_EPROTO or -errno. */
int conn_open(struct lull **out, const char *socket, const char *name);
/* Closes the socket and frees l; its streams must be gone. */
void conn_close(struct lull *l);

/* Let a signal handler interrupt the wait for the reply (-EINTR); the
 * reply, when it comes, is then dropped. */
#define CONN_INTR 1

/* Sends req (len bytes; its hdr.seq is filled in) and waits for the
 * message that answers it. Returns 0 with *reply filled (the caller owns
 * its fds), or LULL_EGONE, LULL_EPROTO, -EINTR, -errno. */
int conn_request(struct lull *l, void *req, size_t len,
		 struct conn_msg *reply, int flags);
/* Whether msg is exactly one well-formed message of this type. */
int conn_msg_is(const struct conn_msg *msg, uint32_t type);
/* Checks that msg is a well-formed PROTO_REPLY to a request of type
 * request; returns its result, or LULL_EPROTO. Closes any fds. */
int conn_reply_result(struct conn_msg *msg, uint32_t request);
void conn_msg_close_fds(struct conn_msg *msg);

/* Nonzero once lulld is known to be gone: LULL_EGONE or LULL_EPROTO. */
int conn_broken(struct lull *l);
/* Marks the connection gone (a stream saw the socket hang up). */
void conn_set_gone(struct lull *l);
/* The socket, for polling its hangup; never read it directly. */
int conn_fd(const struct lull *l);

void conn_attach(struct lull *l, struct conn_node *n);
void conn_detach(struct lull *l, struct conn_node *n);
/* Some attached stream's node, or NULL. */
struct conn_node *conn_first(struct lull *l);

#endif
