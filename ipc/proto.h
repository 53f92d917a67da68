/* lull's wire protocol, spoken over a UNIX SOCK_SEQPACKET socket.
 *
 * Every message is one packet: a fixed-size struct that starts with
 * struct proto_hdr. Its length must be exactly the size of its type's
 * struct; anything else is rejected. Requests carry a client-chosen seq
 * that the reply repeats. Replies to PROTO_STREAM_NEW carry three file
 * descriptors (SCM_RIGHTS): the stream's sealed memfd, the read end of a
 * pipe lulld writes a byte to when the ring has room (the client waits on
 * it), and the write end of a pipe the client writes a byte to when it
 * has written data (only when shm_hdr.want_signal asks for it). Pipes,
 * not eventfds, so that each side's end is a file of its own whose flags
 * the other cannot change.
 *
 * Integers are host order: both ends are on the same machine. */
#ifndef LULL_PROTO_H
#define LULL_PROTO_H

#include <assert.h>
#include <stdint.h>

#define PROTO_VERSION 1
#define PROTO_NAME_MAX 64

enum proto_type {
	PROTO_HELLO = 1,	/* c->s proto_hello, reply proto_welcome */
	PROTO_WELCOME,		/* s->c */
	PROTO_STREAM_NEW,	/* c->s proto_stream_new, reply proto_stream_made + fds */
	PROTO_STREAM_MADE,	/* s->c */
	PROTO_STREAM_START,	/* c->s proto_stream_op, reply proto_reply */
	PROTO_STREAM_PAUSE,	/* c->s proto_stream_op */
	PROTO_STREAM_RESUME,	/* c->s proto_stream_op */
	PROTO_STREAM_DRAIN,	/* c->s proto_stream_op; the reply comes when the
				 * last written frame has been played */
	PROTO_STREAM_CLOSE,	/* c->s proto_stream_op; unplayed audio is dropped */
	PROTO_STREAM_VOLUME,	/* c->s proto_stream_volume */
	PROTO_REPLY,		/* s->c proto_reply */
	PROTO_MONITOR,		/* c->s proto_stream_op (stream 0); reply
				 * proto_reply + a read-only monitor memfd
				 * (ipc/monitor.h) */
	PROTO_TYPE_MAX,
};

enum proto_dir {
	PROTO_PLAYBACK = 0,
	PROTO_CAPTURE = 1,
};

/* Sample formats on the wire (values of enum fmt). */
enum proto_format {
	PROTO_S16 = 0,
	PROTO_S24 = 1,
	PROTO_S32 = 2,
	PROTO_FLOAT = 3,
};

struct proto_hdr {
	uint32_t length;	/* bytes in the whole message */
	uint32_t type;		/* enum proto_type */
	uint32_t seq;		/* request number, echoed in the reply */
	uint32_t stream;	/* stream id, 0 when none */
};

struct proto_hello {
	struct proto_hdr hdr;
	uint32_t version;	/* PROTO_VERSION */
	uint32_t pad;
	char name[PROTO_NAME_MAX];	/* NUL-terminated client name */
};

struct proto_welcome {
	struct proto_hdr hdr;
	uint32_t version;
	uint32_t rate;		/* the card's */
	uint32_t channels;
	uint32_t format;
	uint32_t buffer_frames;
	uint32_t pad;
};

struct proto_stream_new {
	struct proto_hdr hdr;
	uint32_t direction;	/* enum proto_dir */
	uint32_t rate;		/* 1000..384000 */
	uint32_t channels;	/* 1..8 */
	uint32_t format;	/* enum proto_format */
	uint32_t latency_us;	/* requested, write to DAC; 0 = default */
	uint32_t flags;		/* PROTO_START_PAUSED */
	float volume;		/* 0..4, linear */
	uint32_t pad;
};

#define PROTO_START_PAUSED 1u

struct proto_stream_made {
	struct proto_hdr hdr;	/* hdr.stream is the new id */
	int32_t result;		/* 0 or -errno; fds only when 0 */
	uint32_t ring_frames;
	uint64_t shm_bytes;
	uint32_t latency_us;	/* what lulld will actually give */
	uint32_t request_frames;
};

struct proto_stream_op {
	struct proto_hdr hdr;
};

struct proto_stream_volume {
	struct proto_hdr hdr;
	float volume;
	uint32_t pad;
};

struct proto_reply {
	struct proto_hdr hdr;
	uint32_t request;	/* the type being answered */
	int32_t result;		/* 0 or -errno */
};

/* The one message size check table, used by both ends. */
static_assert(sizeof(struct proto_hdr) == 16, "proto_hdr");
static_assert(sizeof(struct proto_hello) == 88, "proto_hello");
static_assert(sizeof(struct proto_welcome) == 40, "proto_welcome");
static_assert(sizeof(struct proto_stream_new) == 48, "proto_stream_new");
static_assert(sizeof(struct proto_stream_made) == 40, "proto_stream_made");
static_assert(sizeof(struct proto_stream_op) == 16, "proto_stream_op");
static_assert(sizeof(struct proto_stream_volume) == 24, "proto_stream_volume");
static_assert(sizeof(struct proto_reply) == 24, "proto_reply");

/* Size a message of this type must have; 0 for an unknown type. */
static inline uint32_t proto_size(uint32_t type)
{
	static const uint32_t size[PROTO_TYPE_MAX] = {
		[PROTO_HELLO] = sizeof(struct proto_hello),
		[PROTO_WELCOME] = sizeof(struct proto_welcome),
		[PROTO_STREAM_NEW] = sizeof(struct proto_stream_new),
		[PROTO_STREAM_MADE] = sizeof(struct proto_stream_made),
		[PROTO_STREAM_START] = sizeof(struct proto_stream_op),
		[PROTO_STREAM_PAUSE] = sizeof(struct proto_stream_op),
		[PROTO_STREAM_RESUME] = sizeof(struct proto_stream_op),
		[PROTO_STREAM_DRAIN] = sizeof(struct proto_stream_op),
		[PROTO_STREAM_CLOSE] = sizeof(struct proto_stream_op),
		[PROTO_STREAM_VOLUME] = sizeof(struct proto_stream_volume),
		[PROTO_REPLY] = sizeof(struct proto_reply),
		[PROTO_MONITOR] = sizeof(struct proto_stream_op),
	};

	return type < PROTO_TYPE_MAX ? size[type] : 0;
}

#endif
