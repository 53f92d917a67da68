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
 *
 * Threads and blocking:
 * - A connection may be used from any number of threads. Requests (start,
 *   pause, resume, set_volume, drain, close, stream creation) are sent one
 *   at a time and matched to their replies, so one thread waiting in a
 *   drain does not hold up another thread's request on another stream.
 * - Per stream, lull_stream_write and lull_stream_writable are for one
 *   thread at a time (the stream has one producer). The control requests,
 *   lull_stream_delay, lull_stream_position and lull_stream_latency_us may
 *   be called from any thread, at the same time as a write.
 * - lull_stream_close must not race any other call on that stream, nor
 *   lull_disconnect any other call on that connection or its streams:
 *   they free what they close.
 * - The process callback runs on the stream's own thread, at normal
 *   priority, with every signal blocked. It may call the control requests
 *   and delay/position of its stream, but never lull_stream_close or
 *   lull_stream_drain on it (they wait for that very thread).
 * - Nothing blocks forever on a dead lulld: once the connection hangs up,
 *   every blocked or later call returns LULL_EGONE (LULL_EPROTO if lulld
 *   sent garbage first).
 * - Signals: lull_stream_write and lull_stream_drain return -EINTR when a
 *   signal handler runs while they wait (whatever its SA_RESTART), so a
 *   program can stop at once on Ctrl-C. Other calls resume their wait.
 *   (A thread queued behind another thread's request is not interrupted
 *   until it is its turn to wait on the socket.) The library never raises
 *   SIGPIPE.
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
	float volume;		/* linear, 0..4; 0 is taken as 1 */
	int start_paused;	/* nonzero: nothing plays until lull_stream_start */
};

/* Callback mode: fill buf with up to frames frames; return how many were
 * written. buf points straight into the stream's shared ring. Returning
 * fewer than asked (0 included) means the stream has ended: the library
 * calls no more, the frames given so far play out, and lull_stream_drain
 * returns once they have been heard. Runs on the stream's own thread. */
typedef size_t (*lull_process_fn)(void *user, void *buf, size_t frames);

/* socket: NULL for $LULL_SOCKET or $XDG_RUNTIME_DIR/lull/socket. name:
 * shown by lulld; NULL for the program's name. LULL_ENOSERVER when nothing
 * listens there, LULL_EVERSION when lulld speaks another protocol. */
int lull_connect(struct lull **out, const char *socket, const char *name);
/* Closes any stream still open (as lull_stream_close), then the
 * connection. */
void lull_disconnect(struct lull *l);

/* process NULL: write mode. Otherwise the library starts the stream's
 * thread, which calls process whenever the ring has room. */
int lull_stream_new(struct lull_stream **out, struct lull *l,
		    const struct lull_stream_params *p,
		    lull_process_fn process, void *user);
int lull_stream_start(struct lull_stream *s);
int lull_stream_pause(struct lull_stream *s);
int lull_stream_resume(struct lull_stream *s);
int lull_stream_set_volume(struct lull_stream *s, float volume);

/* Write mode: blocks until all frames are queued (or an error). Returns
 * frames written: all of them, or, when a signal handler ran or lulld went
 * away after some were queued, fewer; -EINTR or LULL_EGONE when none
 * were. -EINVAL in callback mode. A stream created paused takes no more
 * than its ring holds until it is started. */
long lull_stream_write(struct lull_stream *s, const void *buf, size_t frames);
/* Frames that can be written now without blocking (write mode). */
long lull_stream_writable(struct lull_stream *s);

/* Returns when the last written frame has been played by the card (in
 * callback mode: once the callback has ended the stream and its last frame
 * has been played). -EINTR when a signal handler interrupted the wait. */
int lull_stream_drain(struct lull_stream *s);
/* Time until a frame written now would be heard, in ns, from the position
 * lulld publishes. */
int lull_stream_delay(struct lull_stream *s, int64_t *delay_ns);
/* Frames written so far, and frames the card has played. */
int lull_stream_position(struct lull_stream *s, uint64_t *written,
			 uint64_t *played);
/* Latency lulld granted, in microseconds. */
unsigned lull_stream_latency_us(const struct lull_stream *s);

/* Stops at once: audio not yet played is dropped, not heard. Frees s
 * whatever it returns (LULL_EGONE: lulld had already dropped it). */
int lull_stream_close(struct lull_stream *s);

const char *lull_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
