/* Recording lulld's monitor. See tracerec.h. */
#include "tools/tracerec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACEREC_BATCH 1024

void tracerec_init(struct tracerec *r, const struct monitor *m, int from_now,
		   int64_t now_ns)
{
	memset(r, 0, sizeof *r);
	r->t_attach = now_ns;
	if (from_now)
		r->next = atomic_load_explicit(&((struct monitor *)m)->head,
					       memory_order_acquire);
}

void tracerec_free(struct tracerec *r)
{
	free(r->ev);
	free(r->streams);
	free(r->levels);
	memset(r, 0, sizeof *r);
}

/* Room for `more` items in a growing array of `size`-byte items. */
static int tracerec_grow(void **p, size_t *cap, size_t n, size_t more, size_t size)
{
	size_t want = *cap ? *cap : 256;
	void *q;

	if (n + more <= *cap)
		return 0;
	while (want < n + more)
		want *= 2;
	q = realloc(*p, want * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = want;
	return 0;
}

struct tracerec_stream *tracerec_stream(const struct tracerec *r, uint32_t id)
{
	for (size_t i = 0; i < r->nstreams; i++)
		if (r->streams[i].id == id)
			return &r->streams[i];
	return NULL;
}

/* The stream with this id, new if need be; NULL without memory. */
static struct tracerec_stream *tracerec_stream_get(struct tracerec *r, uint32_t id)
{
	struct tracerec_stream *s = tracerec_stream(r, id);

	if (s)
		return s;
	if (tracerec_grow((void **)&r->streams, &r->cap_streams, r->nstreams, 1,
			  sizeof *r->streams))
		return NULL;
	s = &r->streams[r->nstreams++];
	memset(s, 0, sizeof *s);
	s->id = id;
	return s;
}

static void tracerec_level_add(struct tracerec *r, int64_t t, uint64_t target,
			       uint64_t watermark)
{
	struct tracerec_level *last = r->nlevels ? &r->levels[r->nlevels - 1] : NULL;

	if (last && last->target == target && last->watermark == watermark)
		return;
	if (tracerec_grow((void **)&r->levels, &r->cap_levels, r->nlevels, 1,
			  sizeof *r->levels))
		return;		/* the lines are drawn a little less exactly */
	r->levels[r->nlevels++] = (struct tracerec_level){ t, target, watermark };
}

/* What the events themselves say about streams and levels. */
static void tracerec_note(struct tracerec *r, const struct trace_event *e)
{
	struct tracerec_stream *s = NULL;
	struct tracerec_level l = r->nlevels ? r->levels[r->nlevels - 1] :
				  (struct tracerec_level){ 0 };

	switch (e->type) {
	case TRACE_JOIN:
	case TRACE_LEAVE:
	case TRACE_UNDERRUN:
	case TRACE_PAUSE:
		s = tracerec_stream_get(r, (uint32_t)e->a);
		break;
	case TRACE_TARGET:
		tracerec_level_add(r, e->t_ns, (uint64_t)e->a, l.watermark);
		return;
	case TRACE_WATERMARK:
		tracerec_level_add(r, e->t_ns, l.target, (uint64_t)e->a);
		return;
	default:
		return;
	}
	if (!s)
		return;
	if (e->type == TRACE_JOIN)
		s->t_join = e->t_ns;
	else if (e->type == TRACE_LEAVE)
		s->t_leave = e->t_ns;
	else if (e->type == TRACE_UNDERRUN)
		s->underruns++;
	else if (e->b)
		s->pauses++;
}

/* When the fill target changed, as far as events tell: the target
 * follows the set of streams, so a change seen on the status page at t
 * happened at the last join or leave after the previous sample (at t_prev)
 * and before t; without one, at t. */
static int64_t tracerec_level_time(const struct tracerec *r, int64_t t_prev, int64_t t)
{
	for (size_t i = r->n; i-- > 0 && r->ev[i].t_ns > t_prev;)
		if (r->ev[i].t_ns <= t &&
		    (r->ev[i].type == TRACE_JOIN || r->ev[i].type == TRACE_LEAVE))
			return r->ev[i].t_ns;
	return t;
}

/* The status page: the card, the levels, and each stream's details (a
 * stream that came and went between two polls is only in the trace). It
 * was copied before the events of the same poll were read, so those
 * events include whatever led to it. */
static void tracerec_apply(struct tracerec *r, const struct monitor_status *st)
{
	int64_t t_prev = r->have_status ? r->status.t_ns : INT64_MIN;
	const struct tracerec_level *last = r->nlevels ? &r->levels[r->nlevels - 1] : NULL;

	if (st->rate == 0)
		return;		/* not written yet */
	if (last && last->target != st->fill_target)
		tracerec_level_add(r, tracerec_level_time(r, t_prev, st->t_ns),
				   st->fill_target, st->watermark);
	else
		tracerec_level_add(r, st->t_ns, st->fill_target, st->watermark);
	r->status = *st;
	r->have_status = 1;
	for (uint32_t i = 0; i < st->nstreams && i < MONITOR_STREAMS; i++) {
		struct tracerec_stream *s = tracerec_stream_get(r, st->streams[i].id);
		if (!s)
			return;
		s->in_status = 1;
		s->info = st->streams[i];
		s->info.name[MONITOR_NAME - 1] = '\0';
	}
}

int64_t tracerec_poll(struct tracerec *r, const struct monitor *m)
{
	uint64_t lost = 0, more;
	int have = monitor_status(m, &r->sample) == 0;
	size_t got;

	do {
		if (tracerec_grow((void **)&r->ev, &r->cap, r->n, TRACEREC_BATCH,
				  sizeof *r->ev))
			return -ENOMEM;
		got = monitor_events(m, &r->next, r->ev + r->n, TRACEREC_BATCH, &more);
		for (size_t i = 0; i < got; i++)
			tracerec_note(r, &r->ev[r->n + i]);
		r->n += got;
		lost += more;
	} while (got == TRACEREC_BATCH);
	/* A copy torn by lulld's writing is skipped: the next poll will do. */
	if (have)
		tracerec_apply(r, &r->sample);
	/* What the first read could not get was gone before we came. */
	if (r->reads++ == 0) {
		r->missed = lost;
		return 0;
	}
	r->lost += lost;
	return (int64_t)lost;
}

/* Levels come from status samples and from events: nearly in order, so
 * an insertion sort is linear here. */
static void tracerec_sort_levels(struct tracerec *r)
{
	for (size_t i = 1; i < r->nlevels; i++) {
		struct tracerec_level l = r->levels[i];
		size_t j = i;
		for (; j > 0 && r->levels[j - 1].t_ns > l.t_ns; j--)
			r->levels[j] = r->levels[j - 1];
		r->levels[j] = l;
	}
}

void tracerec_end(struct tracerec *r, int64_t now_ns, int lulld_gone)
{
	tracerec_sort_levels(r);
	r->t_start = r->t_attach;
	if (r->n && r->ev[0].t_ns < r->t_start)
		r->t_start = r->ev[0].t_ns;
	r->t_end = lulld_gone && r->n ? r->ev[r->n - 1].t_ns : now_ns;
	if (r->t_end < r->t_start)
		r->t_end = r->t_start;
}

struct tracerec_level tracerec_level_at(const struct tracerec *r, int64_t t_ns)
{
	struct tracerec_level l = { 0 };

	if (!r->nlevels)
		return l;
	l = r->levels[0];
	for (size_t i = 1; i < r->nlevels && r->levels[i].t_ns <= t_ns; i++)
		l = r->levels[i];
	return l;
}

double tracerec_rate(const struct tracerec *r)
{
	return r->have_status ? (double)r->status.rate : 0;
}

/* From fill `level` at t0 the card drains it at `rate` until t1 (or until
 * it is empty: an xrun follows). Emits the points after t0 up to t1. */
static void tracerec_drain(int64_t t0, double level, int64_t t1, double rate,
			   int64_t step_ns, tracerec_point_fn point, void *arg)
{
	/* Frames per ns; with no known rate the fill is drawn flat. */
	double per_ns = rate / 1e9;
	int64_t t_empty = per_ns > 0 ? t0 + (int64_t)(level / per_ns) : INT64_MAX;

	if (step_ns > 0)
		for (int64_t t = t0 + step_ns; t < t1 && t < t_empty; t += step_ns)
			point(arg, t, level - (double)(t - t0) * per_ns);
	if (t_empty < t1) {
		point(arg, t_empty, 0);
		point(arg, t1, 0);
	} else {
		point(arg, t1, level - (double)(t1 - t0) * per_ns);
	}
}

void tracerec_fill_walk(const struct tracerec *r, int64_t step_ns,
			tracerec_point_fn point, void *arg)
{
	double rate = tracerec_rate(r), level = 0;
	int64_t t_prev = 0;
	int have = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct trace_event *e = &r->ev[i];
		/* Stopped for want of streams, the card drops what it held and
		 * stays empty until the next top-up. */
		int idle = e->type == TRACE_IDLE && e->a == 1;
		if (e->type != TRACE_FILL && !idle)
			continue;
		if (have)
			tracerec_drain(t_prev, level, e->t_ns, rate, step_ns, point, arg);
		point(arg, e->t_ns, idle ? 0 : (double)e->a);
		point(arg, e->t_ns, idle ? 0 : (double)e->b);
		level = idle ? 0 : (double)e->b;
		t_prev = e->t_ns;
		have = 1;
	}
	if (have && r->t_end > t_prev)
		tracerec_drain(t_prev, level, r->t_end, rate, step_ns, point, arg);
}

int tracerec_wake_planned(const struct trace_event *e, int64_t prev_wake_ns)
{
	return e->type == TRACE_WAKE && (e->c & WAKE_TIMER) && e->a > 1 &&
	       e->a >= prev_wake_ns;
}

const char *tracerec_wake_cause(uint32_t c, char *buf, size_t len)
{
	static const char *const names[] = { "timer", "command", "stream" };
	size_t at = 0;

	if (len)
		buf[0] = '\0';
	for (unsigned i = 0; i < 3; i++) {
		if (!(c & (1u << i)) || at + strlen(names[i]) + 2 > len)
			continue;
		if (at)
			buf[at++] = '+';
		strcpy(buf + at, names[i]);
		at += strlen(names[i]);
	}
	if (c == 0 && len > 4)
		strcpy(buf, "none");
	return buf;
}

/* A stream's name, or "" when the status page never showed it. */
static const char *tracerec_name(const struct tracerec *r, int64_t id)
{
	const struct tracerec_stream *s = tracerec_stream(r, (uint32_t)id);

	return s && s->in_status ? s->info.name : "";
}

static void tracerec_describe_wake(const struct tracerec *r,
				   const struct trace_event *e, char *buf, size_t len)
{
	char cause[32];

	tracerec_wake_cause(e->c, cause, sizeof cause);
	if ((e->c & WAKE_TIMER) && e->a > 1)
		snprintf(buf, len, "cause=%s planned_s=%.6f late_us=%.1f", cause,
			 (double)(e->a - r->t_start) / 1e9, (double)e->b / 1e3);
	else
		snprintf(buf, len, "cause=%s", cause);
}

const char *tracerec_describe(const struct tracerec *r, const struct trace_event *e,
			      char *buf, size_t len)
{
	long long a = (long long)e->a, b = (long long)e->b;

	switch (e->type) {
	case TRACE_WAKE:
		tracerec_describe_wake(r, e, buf, len);
		break;
	case TRACE_FILL:
		snprintf(buf, len, "before=%lld after=%lld wrote=%lld", a, b, b - a);
		break;
	case TRACE_WRITE:
		snprintf(buf, len, "frames=%lld position=%lld", a, b);
		break;
	case TRACE_REWIND:
		snprintf(buf, len, "asked=%lld done=%lld reason=%s", a, b,
			 trace_reason_name(e->c));
		break;
	case TRACE_XRUN:
		snprintf(buf, len, "error=%lld (%s)", a, strerror((int)-a));
		break;
	case TRACE_WATERMARK:
	case TRACE_TARGET:
		snprintf(buf, len, "frames=%lld old=%lld", a, b);
		break;
	case TRACE_IDLE:
		snprintf(buf, len, "%s", a ? "card stopped, nothing to play" : "card woken");
		break;
	case TRACE_PAUSE:
		snprintf(buf, len, "stream=%lld %s name=%s", a, b ? "pause" : "resume",
			 tracerec_name(r, e->a));
		break;
	case TRACE_VOLUME:
		snprintf(buf, len, "stream=%lld gain=%.6f name=%s", a, (double)b / 1e6,
			 tracerec_name(r, e->a));
		break;
	case TRACE_JOIN:
	case TRACE_LEAVE:
	case TRACE_UNDERRUN:
	case TRACE_DRAINED:
		snprintf(buf, len, "stream=%lld name=%s", a, tracerec_name(r, e->a));
		break;
	default:
		snprintf(buf, len, "a=%lld b=%lld c=%u", a, b, e->c);
		break;
	}
	return buf;
}

size_t tracerec_utf8(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = u[0] < 0x80 ? 1 : u[0] < 0xc2 ? 0 : u[0] < 0xe0 ? 2 :
		   u[0] < 0xf0 ? 3 : u[0] < 0xf5 ? 4 : 0;

	for (size_t i = 1; i < n; i++)
		if ((u[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((u[0] == 0xe0 && u[1] < 0xa0) || (u[0] == 0xed && u[1] >= 0xa0) ||
	    (u[0] == 0xf0 && u[1] < 0x90) || (u[0] == 0xf4 && u[1] >= 0x90))
		return 0;
	return n;
}
