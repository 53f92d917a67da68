/* A recording of lulld's monitor (ipc/monitor.h), as lull-trace keeps it:
 * every trace event read, in order, plus what only the status page knows
 * (the card, each stream's name and latency, the fill target), sampled
 * at every poll.
 *
 * The hardware fill between two top-ups is not traced, it is known: a
 * TRACE_FILL event gives the fill before and after a top-up, and from
 * there the card drains it at its rate until the next cycle measures it
 * again (a rewind in that cycle takes frames back at once; an idle stop,
 * TRACE_IDLE a=1, drops all it held):
 *
 *   fill
 *    after |\                    |\
 *          | \  drains at rate   | \
 *          |  \         rewind-> |  \
 *   before_|   \__ before next  _|   \
 *          FILL                 FILL        time
 */
#ifndef LULL_TRACEREC_H
#define LULL_TRACEREC_H

#include <stddef.h>
#include <stdint.h>

#include "ipc/monitor.h"

/* A stream as seen in the trace and on the status page. */
struct tracerec_stream {
	uint32_t id;
	int in_status;		/* info below is from the status page */
	struct monitor_stream info;	/* the last status seen of it */
	int64_t t_join, t_leave;	/* 0: not in the trace */
	uint64_t underruns;	/* TRACE_UNDERRUN events */
	uint64_t pauses;	/* TRACE_PAUSE events that paused it */
};

/* The fill target and watermark from some time on. */
struct tracerec_level {
	int64_t t_ns;
	uint64_t target, watermark;
};

struct tracerec {
	struct trace_event *ev;	/* in sequence order */
	size_t n, cap;
	uint64_t next;		/* next sequence number to read */
	uint64_t missed;	/* overwritten before the first read */
	uint64_t lost;		/* overwritten while recording: we fell behind */
	int reads;		/* polls so far */

	struct monitor_status status;	/* the last consistent status */
	int have_status;
	struct monitor_status sample;	/* this poll's, until applied */

	struct tracerec_stream *streams;
	size_t nstreams, cap_streams;
	struct tracerec_level *levels;	/* sorted by time after tracerec_end */
	size_t nlevels, cap_levels;

	int64_t t_attach;	/* when the recording began */
	int64_t t_start, t_end;	/* the span it covers (tracerec_end) */
};

/* from_now: only events traced from now on; otherwise everything still in
 * lulld's ring, which is all of it since lulld started unless the ring
 * has wrapped (then r->missed says how many came before). */
void tracerec_init(struct tracerec *r, const struct monitor *m, int from_now,
		   int64_t now_ns);
void tracerec_free(struct tracerec *r);

/* Reads whatever lulld traced since the last poll and samples the status
 * page. Returns how many events were lost in this poll (0 normally), or
 * -ENOMEM. */
int64_t tracerec_poll(struct tracerec *r, const struct monitor *m);

/* The recording ended at now_ns; lulld_gone: it ended because lulld exited,
 * so it covers up to lulld's last event. Sorts what needs sorting. */
void tracerec_end(struct tracerec *r, int64_t now_ns, int lulld_gone);

struct tracerec_stream *tracerec_stream(const struct tracerec *r, uint32_t id);
/* Level in force at t (the first sampled one before any sample). */
struct tracerec_level tracerec_level_at(const struct tracerec *r, int64_t t_ns);
/* The card's frames per second, 0 when the status page was never read. */
double tracerec_rate(const struct tracerec *r);

/* The hardware fill over [t_start, t_end] as a polyline: calls point() for
 * each vertex, in time order (two at the same time for a jump), and, when
 * step_ns > 0, every step_ns along a drain too (for plotters that only
 * draw steps). */
typedef void (*tracerec_point_fn)(void *arg, int64_t t_ns, double fill);
void tracerec_fill_walk(const struct tracerec *r, int64_t step_ns,
			tracerec_point_fn point, void *arg);

/* A timer wakeup's plan is real when it lies after the previous wakeup;
 * lulld asks for "at once" (a plan of 1 ns, or of the past) when it stops,
 * and its lateness then means nothing. prev_wake_ns: 0 for none. */
int tracerec_wake_planned(const struct trace_event *e, int64_t prev_wake_ns);

/* Short names for the bits of a TRACE_WAKE's c ("timer+command"). */
const char *tracerec_wake_cause(uint32_t c, char *buf, size_t len);

/* An event's fields decoded as "key=value ..." text (times relative to
 * r->t_start; a stream's name last, as it may hold spaces). */
const char *tracerec_describe(const struct tracerec *r, const struct trace_event *e,
			      char *buf, size_t len);

/* Bytes in the well-formed UTF-8 character at s (1 for ASCII), 0 if s
 * does not start one: names come from clients and are not checked. */
size_t tracerec_utf8(const char *s);

#endif
