/* liblull: play audio through lulld, the lull sound server.
 *
 * A connection (struct lull) carries any number of streams. A playback
 * stream either runs a process callback on a thread the library creates
 * (callback mode), or takes blocking writes from the caller (write mode).
 * A capture stream likewise runs a capture callback, or is read from
 * (read mode). A duplex stream is one capture and one playback stream of
 * the same format driven by one callback, block in, block out. None needs
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
 * - Per stream, lull_stream_write and lull_stream_writable (or
 *   lull_stream_read and lull_stream_readable) are for one thread at a
 *   time (the stream has one producer, or one consumer). The control
 *   requests, lull_stream_delay, lull_stream_position,
 *   lull_stream_overruns, lull_stream_latency_us and
 *   lull_duplex_roundtrip may be called from any thread, at the same time
 *   as a write or read.
 * - lull_stream_close must not race any other call on that stream, nor
 *   lull_disconnect any other call on that connection or its streams:
 *   they free what they close.
 * - The process, capture and duplex callbacks run on the stream's own
 *   thread, at normal priority, with every signal blocked. They may call
 *   the control requests and delay/position/overruns/roundtrip of their
 *   stream, but never lull_stream_close or lull_stream_drain on it (they
 *   wait for that very thread).
 * - Nothing blocks forever on a dead lulld: once the connection hangs up,
 *   every blocked or later call returns LULL_EGONE (LULL_EPROTO if lulld
 *   sent garbage first).
 * - Signals: lull_stream_write, lull_stream_read and lull_stream_drain
 *   return -EINTR when a signal handler runs while they wait (whatever its SA_RESTART), so a
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

enum lull_direction {
	LULL_PLAYBACK = 0,
	LULL_CAPTURE = 1,
};

struct lull_stream_params {
	unsigned rate;		/* Hz, 1000..384000 */
	unsigned channels;	/* 1..8 */
	enum lull_format format;
	/* Playback: write to DAC. Capture: the longest a frame waits between
	 * the ADC and the ring (read side). 0 = lulld's default. */
	unsigned latency_ms;
	/* Linear, 0..4; 0 is taken as 1. Capture: the gain applied to what
	 * is recorded. */
	float volume;
	/* Nonzero: nothing plays (nothing is captured) until
	 * lull_stream_start. */
	int start_paused;
	/* For lull_stream_new; lull_capture_new and lull_duplex_new do not
	 * look at it. */
	enum lull_direction direction;
};

/* Callback mode: fill buf with up to frames frames; return how many were
 * written. buf points straight into the stream's shared ring. Returning
 * fewer than asked (0 included) means the stream has ended: the library
 * calls no more, the frames given so far play out, and lull_stream_drain
 * returns once they have been heard. Runs on the stream's own thread. */
typedef size_t (*lull_process_fn)(void *user, void *buf, size_t frames);

/* Capture callback mode: buf holds frames captured frames (oldest first),
 * valid during the call only; return how many were taken. Returning
 * fewer (0 included) ends the stream: the library calls no more, and
 * lull_stream_drain returns. Runs on the stream's own thread, whenever
 * frames have arrived (about every latency). */
typedef size_t (*lull_capture_fn)(void *user, const void *buf, size_t frames);

/* Duplex callback: in holds frames captured frames, out takes frames
 * frames to play (it holds garbage on entry: write all of it). frames is
 * always the block size given to lull_duplex_new. Return 0 to go on,
 * nonzero to end the stream (the out block of that call still plays). */
typedef int (*lull_duplex_fn)(void *user, const void *in, void *out,
			      size_t frames);

/* socket: NULL for $LULL_SOCKET or $XDG_RUNTIME_DIR/lull/socket. name:
 * shown by lulld; NULL for the program's name. LULL_ENOSERVER when nothing
 * listens there, LULL_EVERSION when lulld speaks another protocol. */
int lull_connect(struct lull **out, const char *socket, const char *name);
/* Closes any stream still open (as lull_stream_close), then the
 * connection. */
void lull_disconnect(struct lull *l);

/* p->direction LULL_PLAYBACK: process NULL is write mode; otherwise the
 * library starts the stream's thread, which calls process whenever the
 * ring has room. LULL_CAPTURE: read mode; process must be NULL (-EINVAL),
 * see lull_capture_new for callback mode. -ENODEV: lulld has no capture
 * device. */
int lull_stream_new(struct lull_stream **out, struct lull *l,
		    const struct lull_stream_params *p,
		    lull_process_fn process, void *user);
/* A capture stream in callback mode: the library starts the stream's
 * thread, which calls cb with what has been captured. */
int lull_capture_new(struct lull_stream **out, struct lull *l,
		     const struct lull_stream_params *p, lull_capture_fn cb,
		     void *user);
/* A duplex stream: one capture and one playback stream on lulld with p's
 * rate, channels, format, latency_ms, volume (the playback's; the capture
 * gain is 1) and start_paused; one thread calls cb with exactly
 * block_frames frames in and out each time (1..rate frames; -EINVAL when
 * lulld's capture ring cannot hold a block). The output starts with
 * silence as long as the capture latency, one block and 15 ms, so that it
 * never runs dry; after that each block in gives one block out. The
 * capture's latency is at least one block. The handle is a struct
 * lull_stream: start, pause, resume, drain and close act on both halves,
 * set_volume on the output; overruns counts the input's lost frames;
 * latency_us is the sum of both halves' latencies; write, read, delay
 * and position return -EINVAL. */
int lull_duplex_new(struct lull_stream **out, struct lull *l,
		    const struct lull_stream_params *p, size_t block_frames,
		    lull_duplex_fn cb, void *user);
/* Round trip of the last callback's block, in ns: from when the ADC
 * sampled the first frame of its input to when the DAC will play the
 * first frame of its output, both from the positions lulld publishes.
 * -EAGAIN before the first callback, or while the output is not playing
 * (paused, not yet started, not yet heard); -EINVAL on other streams. */
int lull_duplex_roundtrip(struct lull_stream *s, int64_t *ns);
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

/* Read mode (capture): blocks until all frames have been read (or an
 * error). Returns frames read: all of them, or, when a signal handler ran
 * or lulld went away after some were read, fewer; -EINTR or LULL_EGONE
 * when none were. -EINVAL on other streams. Reading too slowly loses
 * audio: see lull_stream_overruns. */
long lull_stream_read(struct lull_stream *s, void *buf, size_t frames);
/* Frames that can be read now without blocking (read mode). */
long lull_stream_readable(struct lull_stream *s);
/* Capture: frames lost so far because the ring was full (lulld drops the
 * newest frames that do not fit: the audio read skips them). 0 for a
 * playback stream. */
uint64_t lull_stream_overruns(const struct lull_stream *s);

/* Returns when the last written frame has been played by the card (in
 * callback mode: once the callback has ended the stream and its last frame
 * has been played). Capture: at once in read mode, once the callback has
 * ended the stream in callback mode. -EINTR when a signal handler
 * interrupted the wait. */
int lull_stream_drain(struct lull_stream *s);
/* Playback: time until a frame written now would be heard, in ns, from
 * the position lulld publishes. Capture: how long ago the ADC sampled the
 * oldest frame not yet read (0 when that frame is yet to be sampled);
 * exact for frames captured after the last overrun, too short by up to
 * the lost stretch for older ones. */
int lull_stream_delay(struct lull_stream *s, int64_t *delay_ns);
/* Playback: frames written so far, and frames the card has played.
 * Capture: frames lulld has put into the ring so far, and frames read. */
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
