/* lulld's binary trace: fixed-size events written by the audio thread into
 * a ring that readers copy without ever blocking the writer. A reader that
 * falls more than a ring behind sees the gap in the sequence numbers.
 * The audio thread never formats text; tools do. */
#ifndef LULL_TRACE_H
#define LULL_TRACE_H

#include <stdatomic.h>
#include <stdint.h>

#define TRACE_EVENTS 8192	/* a power of two */

enum trace_type {
	TRACE_WAKE = 1,		/* a = planned wake ns, b = lateness ns */
	TRACE_FILL,		/* a = fill before, b = fill after write */
	TRACE_WRITE,		/* a = frames written, b = written total */
	TRACE_REWIND,		/* a = frames asked, b = frames done, c = reason */
	TRACE_XRUN,		/* a = error */
	TRACE_WATERMARK,	/* a = new watermark frames */
	TRACE_JOIN,		/* a = stream id */
	TRACE_LEAVE,		/* a = stream id */
	TRACE_UNDERRUN,		/* a = stream id */
	TRACE_PAUSE,		/* a = stream id, b = 1 pause / 0 resume */
	TRACE_VOLUME,		/* a = stream id, b = gain * 1e6 */
	TRACE_DRAINED,		/* a = stream id */
};

enum trace_reason {
	REWIND_JOIN = 1,
	REWIND_DATA,		/* a stream that ran dry has data again */
	REWIND_PAUSE,
	REWIND_RESUME,
	REWIND_LEAVE,
	REWIND_VOLUME,
};

struct trace_event {
	uint64_t seq;
	int64_t t_ns;
	uint32_t type;
	uint32_t c;
	int64_t a, b;
};

struct trace {
	_Atomic uint64_t head;	/* events ever written */
	struct trace_event ev[TRACE_EVENTS];
};

void trace_init(struct trace *t);
void trace_put(struct trace *t, uint32_t type, int64_t a, int64_t b, uint32_t c);

#endif
