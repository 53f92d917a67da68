/* lulld's monitor: its binary trace and a status page, in one sealed
 * memfd that lulld hands read-only to local tools of the same user
 * (PROTO_MONITOR). Readers never block or slow the audio thread: events
 * carry sequence numbers, the status page a sequence lock, and a reader
 * that falls behind learns how many events it lost.
 *
 *   struct monitor | struct trace_event ev[MONITOR_EVENTS]
 */
#ifndef LULL_MONITOR_H
#define LULL_MONITOR_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define MONITOR_MAGIC 0x6e6f6d6cu	/* "lmon" */
#define MONITOR_VERSION 1
#define MONITOR_EVENTS 16384		/* a power of two */
#define MONITOR_STREAMS 64
#define MONITOR_NAME 64

enum trace_type {
	TRACE_WAKE = 1,		/* a = planned wake ns (timer), b = lateness
				 * ns, c = WAKE_* bits: what woke lulld */
	TRACE_FILL,		/* a = fill before, b = fill after writing */
	TRACE_WRITE,		/* a = frames written, b = device position */
	TRACE_REWIND,		/* a = frames asked, b = frames done, c = reason */
	TRACE_XRUN,		/* a = error */
	TRACE_WATERMARK,	/* a = new watermark frames, b = old */
	TRACE_JOIN,		/* a = stream id */
	TRACE_LEAVE,		/* a = stream id */
	TRACE_UNDERRUN,		/* a = stream id */
	TRACE_PAUSE,		/* a = stream id, b = 1 pause / 0 resume */
	TRACE_VOLUME,		/* a = stream id, b = gain * 1e6 */
	TRACE_DRAINED,		/* a = stream id */
	TRACE_TARGET,		/* a = new fill target frames, b = old */
	TRACE_IDLE,		/* a = 1: card stopped, nothing to play; 0: woken */
	TRACE_TYPES,
};

enum trace_wake {
	WAKE_TIMER = 1,
	WAKE_COMMAND = 2,	/* the control thread: a client request */
	WAKE_STREAM = 4,	/* a client's data arrived when asked for */
};

enum trace_reason {
	REWIND_JOIN = 1,
	REWIND_DATA,		/* a stream that ran dry has data again */
	REWIND_PAUSE,
	REWIND_RESUME,
	REWIND_LEAVE,
	REWIND_VOLUME,
	REWIND_DRAIN,
	REWIND_REASONS,
};

struct trace_event {
	uint64_t seq;		/* UINT64_MAX while being written */
	int64_t t_ns;		/* CLOCK_MONOTONIC */
	uint32_t type;
	uint32_t c;
	int64_t a, b;
};

struct monitor_stream {
	uint32_t id;
	int32_t pid;
	char name[MONITOR_NAME];
	uint32_t rate, channels, format;
	uint32_t paused;
	uint64_t latency_us;
	uint64_t ring_fill, ring_frames;
	float volume;
	uint32_t dry;
	uint64_t underruns;
	uint64_t rewinds;	/* rewinds this stream caused */
};

struct monitor_status {
	_Atomic uint32_t seq;	/* odd while lulld writes */
	uint32_t running;
	char device[128];
	uint32_t rate, channels, format, realtime;
	uint64_t buffer, watermark, safeguard, fill_target, fill;
	uint64_t wakeups, rewinds, rewound, xruns, underruns;
	double ppm;
	int64_t t_ns;		/* when written */
	uint32_t nstreams;
	uint32_t pad;
	struct monitor_stream streams[MONITOR_STREAMS];
};

struct monitor {
	uint32_t magic, version;
	uint32_t events;	/* MONITOR_EVENTS */
	uint32_t pad;
	_Atomic uint64_t head;	/* events ever written */
	struct monitor_status status;
	struct trace_event ev[];
};

size_t monitor_bytes(void);

/* Tools: maps the read-only memfd lulld sent; -EPROTO if it is not one. */
int monitor_map(int fd, const struct monitor **out);
void monitor_unmap(const struct monitor *m);
/* Copies events from sequence number *next on, up to max; advances *next;
 * *lost gets how many were overwritten before they could be read.
 * Returns the number copied. */
size_t monitor_events(const struct monitor *m, uint64_t *next,
		      struct trace_event *out, size_t max, uint64_t *lost);
/* A consistent copy of the status page; -EAGAIN if lulld kept writing. */
int monitor_status(const struct monitor *m, struct monitor_status *out);

const char *trace_type_name(uint32_t type);
const char *trace_reason_name(uint32_t reason);

#endif
