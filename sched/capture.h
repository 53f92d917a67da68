/* lulld's capture thread: timer-scheduled recording.
 *
 * The card captures into a deep buffer and never interrupts; the thread
 * sleeps on an absolute CLOCK_MONOTONIC timerfd until the buffer holds
 * what the most impatient recording client needs (its latency), reads it
 * all, converts it for every client into its ring, and sleeps again. With
 * no client recording, the card is stopped and the thread has no wakeups
 * at all. Like the playback engine it never allocates, never takes a lock
 * the control thread holds, and never calls stdio. */
#ifndef LULL_CAPTURE_H
#define LULL_CAPTURE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/smoother.h"
#include "sched/athread.h"
#include "sched/cmdq.h"
#include "sched/device.h"
#include "sched/recstream.h"

#define CAPTURE_MAX_STREAMS 64

struct capture_stats {
	_Atomic uint64_t wakeups, xruns, frames;
};

struct capture {
	struct device dev;
	struct cmdq in;		/* from the control thread */
	struct cmdq out;	/* to the control thread */
	struct capture_stats stats;

	int epfd, timerfd;
	struct recstream *streams[CAPTURE_MAX_STREAMS];
	unsigned nstreams;
	float buf[RECSTREAM_CHUNK * 8];

	uint64_t read;		/* device frames read (a count across restarts) */
	uint64_t adc;		/* device frame at the ADC at t_meas */
	int64_t t_meas;
	int running;
	int resync;		/* frames were lost: move `read` on by them */
	int failing;		/* the card fails; the control thread knows */
	struct smoother clock;
	int64_t planned;

	struct athread thread;
	int realtime;		/* try SCHED_FIFO */
};

/* Takes the (capture) device over. Returns 0 or -errno. */
int capture_init(struct capture *c, const struct device *dev, int realtime);
int capture_start(struct capture *c);
void capture_stop(struct capture *c);
/* Stops the thread and closes the device. */
void capture_fini(struct capture *c);

/* The thread's steps, for tests: one cycle (measure, read, deliver,
 * plan) and the command queue. */
int capture_cycle(struct capture *c);
void capture_commands(struct capture *c);

#endif
