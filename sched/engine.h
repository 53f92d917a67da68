/* lulld's audio thread: the timer loop that keeps the card's buffer at its
 * fill target, mixes the streams, and rewinds when anything changes.
 *
 * It sleeps on an absolute CLOCK_MONOTONIC timerfd until the buffer has
 * drained to the watermark, on its command queue, and on the wake-up
 * pipes of the streams that ran dry. It never allocates, never takes a lock the
 * control thread holds, and reports through binary trace events.
 *
 * Bad hardware: an xrun or a suspend is recovered on the spot; a card that
 * fails (any other error) is handed to the control thread (EVT_LOST), which
 * reopens it and hands a new one back (CMD_DEVICE) while the streams wait.
 * A card that cannot rewind (or no_rewind) is kept only two watermarks
 * full, so a change is still heard within a watermark and a wakeup. */
#ifndef LULL_ENGINE_H
#define LULL_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/smoother.h"
#include "sched/athread.h"
#include "sched/cmdq.h"
#include "sched/device.h"
#include "sched/trace.h"
#include "sched/watermark.h"

#define ENGINE_MAX_STREAMS 256
#define ENGINE_CHUNK 1024

struct stream;

struct engine_cfg {
	uint64_t watermark;	/* frames, to start with; it adapts */
	uint64_t watermark_min;	/* frames; 0: 5 ms */
	int64_t idle_ns;	/* stop the card after this long with no
				 * stream; 0: never */
	uint64_t safeguard;	/* frames kept clear of the DMA when rewinding */
	uint64_t ramp;		/* volume ramp, frames */
	int realtime;		/* try SCHED_FIFO */
	int no_rewind;		/* never rewind, whatever the card can do */
};

struct engine_stats {
	_Atomic uint64_t wakeups, rewinds, rewound, xruns, underruns;
	_Atomic uint64_t suspends;	/* the card was suspended */
	_Atomic uint64_t losses;	/* the card failed and was handed back */
	_Atomic uint64_t clamps;	/* impossible positions clamped */
};

struct engine {
	struct device dev;
	struct engine_cfg cfg;
	struct cmdq in;		/* from the control thread */
	struct cmdq out;	/* to the control thread */
	struct trace trace;
	struct engine_stats stats;

	int epfd, timerfd;
	struct stream *streams[ENGINE_MAX_STREAMS];
	unsigned nstreams;
	float mix[ENGINE_CHUNK * 8];

	uint64_t written;	/* device frames written since start */
	uint64_t hw, heard;	/* DMA position and heard position, last measured */
	int64_t t_meas;
	int running;
	struct smoother clock;
	uint64_t rewind_to;	/* UINT64_MAX: none pending */
	uint32_t rewind_reason;
	int64_t last_rewind;	/* when the last rewind was done */
	int64_t planned;	/* the wakeup we asked for */
	uint64_t target;	/* fill target of the last cycle */
	int64_t late;		/* how late the last timer wakeup was; -1: none */
	struct watermark wm;
	int64_t idle_since;	/* no stream since then; -1: streams */
	int idle;		/* the card is stopped for want of streams */
	int lost;		/* the card failed: nothing touches it until
				 * CMD_DEVICE brings another */
	struct device dead;	/* the failed card, handed to the control
				 * thread with EVT_LOST */
	int clamp_told;		/* EVT_CLAMPED has been sent */
	/* CLOCK_MONOTONIC ns; tests put a fake clock here */
	int64_t (*now)(void *arg);
	void *now_arg;

	struct athread thread;
};

/* Takes the device over. Returns 0 or -errno. */
int engine_init(struct engine *e, const struct device *dev,
		const struct engine_cfg *cfg);
int engine_start(struct engine *e);
/* Stops the thread; the trace and the streams can still be read. */
void engine_stop(struct engine *e);
/* Stops the thread and closes the device and the trace, and any card
 * still in flight between the threads (CMD_DEVICE, EVT_LOST, EVT_DEVICE
 * not yet read: call after the control thread has stopped reading). */
void engine_fini(struct engine *e);

/* The audio thread's steps, exposed so tests can drive the engine with a
 * fake card and a fake clock, without the thread: one cycle (measure,
 * rewind, top up, report, plan), the command queue, and a stream's
 * "data arrived" signal. */
int engine_cycle(struct engine *e);
void engine_commands(struct engine *e);
void engine_stream_event(struct engine *e, uint32_t id, int hangup);

#endif
