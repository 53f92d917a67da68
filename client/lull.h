/* liblull: play audio through lulld, the lull sound server.
 *
 * A connection (struct lull) carries any number of streams. A stream either
 * runs a process callback on a thread the library creates (callback mode),
 * or takes blocking writes from the caller (write mode). Neither needs
 * real-time rights. Functions return 0 (or a count) on success and a
 * negative error code otherwise: -errno, or one of LULL_E* below;
 * lull_strerror() describes both.
 *
 *	struct lull *l;
 *	struct lull_stream *s;
 *	struct lull_stream_params p = { .rate = 48000, .channels = 2,
 *					.format = LULL_S16 };
 *	lull_connect(&l, NULL, "example");
 *	lull_stream_new(&s, l, &p, NULL, NULL);
 *	lull_stream_write(s, frames, n);
 *	lull_stream_drain(s);
 *	lull_stream_close(s);
 *	lull_disconnect(l);
 */
#ifndef LULL_H
#define LULL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LULL_ENOSERVER (-2001)	/* no lulld answers on the socket */
#define LULL_EVERSION (-2002)	/* lulld speaks another protocol version */
#define LULL_EGONE (-2003)	/* lulld closed the connection */
#define LULL_EPROTO (-2004)	/* lulld sent something malformed */

struct lull;
struct lull_stream;

enum lull_format {
	LULL_S16 = 0,
	LULL_S24 = 1,		/* 24 bits in 32, low-aligned */
	LULL_S32 = 2,
	LULL_FLOAT = 3,
};

struct lull_stream_params {
	unsigned rate;		/* Hz, 1000..384000 */
	unsigned channels;	/* 1..8 */
	enum lull_format format;
	unsigned latency_ms;	/* write to DAC; 0 = lulld's default */
	float volume;		/* linear; 0 is taken as 1 */
	int start_paused;	/* nonzero: nothing plays until lull_stream_start */
};

/* Callback mode: fill buf with up to frames frames; return how many were
 * written. Returning fewer than asked (0 included) means the stream has
 * ended: the library drains it and calls no more. Runs on the stream's own
 * thread. */
typedef size_t (*lull_process_fn)(void *user, void *buf, size_t frames);

/* socket: NULL for $LULL_SOCKET or $XDG_RUNTIME_DIR/lull/socket. */
int lull_connect(struct lull **out, const char *socket, const char *name);
void lull_disconnect(struct lull *l);

/* process NULL: write mode. */
int lull_stream_new(struct lull_stream **out, struct lull *l,
		    const struct lull_stream_params *p,
		    lull_process_fn process, void *user);
int lull_stream_start(struct lull_stream *s);
int lull_stream_pause(struct lull_stream *s);
int lull_stream_resume(struct lull_stream *s);
int lull_stream_set_volume(struct lull_stream *s, float volume);

/* Write mode: blocks until all frames are queued (or an error). Returns
 * frames written. */
long lull_stream_write(struct lull_stream *s, const void *buf, size_t frames);
/* Frames that can be written now without blocking. */
long lull_stream_writable(struct lull_stream *s);

/* Returns when the last written frame has been played by the card. */
int lull_stream_drain(struct lull_stream *s);
/* Time until a frame written now would be heard, in ns, from the position
 * lulld publishes. */
int lull_stream_delay(struct lull_stream *s, int64_t *delay_ns);
/* Frames written so far, and frames the card has played. */
int lull_stream_position(struct lull_stream *s, uint64_t *written,
			 uint64_t *played);
/* Latency lulld granted, in microseconds. */
unsigned lull_stream_latency_us(const struct lull_stream *s);

/* Stops at once: audio not yet played is dropped, not heard. */
int lull_stream_close(struct lull_stream *s);

const char *lull_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
