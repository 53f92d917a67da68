/* What a stream shares with its client: the sealed memfd with the header
 * and ring, and the two wake-up pipes. lulld keeps its own ends; the
 * client's ends (peer_*) are held only until they have been sent.
 *
 * Wake-ups go through pipes, not eventfds: an eventfd is one open file
 * shared with the client, who could clear its O_NONBLOCK and make lulld's
 * audio thread block on it forever. With pipes, lulld's ends are its own
 * files; the client holds only the other ends. */
#ifndef LULL_LINK_H
#define LULL_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "ipc/shm.h"

struct link {
	int memfd;
	int to_client;		/* lulld writes, the client reads */
	int from_client;	/* the client writes, lulld reads */
	int peer_to_client, peer_from_client;	/* the client's ends */
	struct shm_hdr *hdr;
	size_t bytes;
};

/* A link with nothing open: what a stream starts as, so that link_close
 * is right at any point of its building. */
#define LINK_INIT { .memfd = -1, .to_client = -1, .from_client = -1, \
		    .peer_to_client = -1, .peer_from_client = -1 }

/* Creates the memfd for a ring of ring_frames and both pipes (lulld's
 * ends non-blocking). Returns 0 or -errno; on error link_close cleans. */
int link_open(struct link *k, uint64_t ring_frames, uint32_t frame_bytes);
/* The client's ends, in the order PROTO_STREAM_MADE sends them. */
void link_peer_fds(const struct link *k, int fds[3]);
/* Closes lulld's copies of the client's ends, once sent. */
void link_forget_peer(struct link *k);
void link_close(struct link *k);
/* Wakes the client (a full pipe means it has wake-ups waiting). */
void link_wake_client(const struct link *k);

#endif
