/* lull-trace's Chrome / Perfetto trace-event JSON. See traceout.h.
 *
 * One process, "lulld", with the audio thread as its one thread:
 *   "wake"            a duration per wakeup, from the wakeup to the end
 *                     of that cycle's top-up, with its cause and lateness
 *   "fill (frames)"   a counter: the hardware fill, with the watermark and
 *                     fill target as two more series; sampled every 10 ms
 *                     along each drain, since counters are drawn as steps
 *   "rewind", "xrun", "underrun", "join", "leave", "pause", "resume",
 *   "volume", "drained", "watermark", "target", "idle"   instants with
 *                     their args
 *   "stream N NAME"   an async span per stream, from join to leave
 * Timestamps are microseconds from the start of the recording. */
#include "tools/traceout.h"

#include <errno.h>

#define TRACEOUT_JSON_PID 1
#define TRACEOUT_JSON_TID 1
#define TRACEOUT_JSON_STEP_NS 10000000	/* 10 ms */

struct traceout_json {
	FILE *f;
	const struct tracerec *r;
	int first;
};

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	while (*s) {
		unsigned char ch = (unsigned char)*s;
		size_t n = tracerec_utf8(s);
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else if (n == 0)
			fputs("\\ufffd", f);
		else
			fwrite(s, 1, n, f);
		s += n ? n : 1;
	}
	fputc('"', f);
}

static double json_ts(const struct traceout_json *j, int64_t t_ns)
{
	return (double)(t_ns - j->r->t_start) / 1e3;
}

/* Opens one event object up to its args: {"name":...,"ph":...,"ts":...,
 * "pid":1,"tid":1 — the caller adds fields and closes it. */
static void json_open(struct traceout_json *j, const char *name, const char *ph,
		      int64_t t_ns)
{
	fputs(j->first ? "\n" : ",\n", j->f);
	j->first = 0;
	fputs("{\"name\":", j->f);
	json_string(j->f, name);
	fprintf(j->f, ",\"ph\":\"%s\",\"ts\":%.3f,\"pid\":%d,\"tid\":%d", ph,
		json_ts(j, t_ns), TRACEOUT_JSON_PID, TRACEOUT_JSON_TID);
}

static void json_meta(struct traceout_json *j, const char *what, const char *name)
{
	json_open(j, what, "M", j->r->t_start);
	fputs(",\"args\":{\"name\":", j->f);
	json_string(j->f, name);
	fputs("}}", j->f);
}

/* An instant; scope "t" thread, "p" process, "g" everything. */
static void json_instant(struct traceout_json *j, const char *name, char scope,
			 int64_t t_ns)
{
	json_open(j, name, "i", t_ns);
	fprintf(j->f, ",\"s\":\"%c\",\"args\":{", scope);
}

static const char *json_stream_name(const struct tracerec *r, int64_t id)
{
	const struct tracerec_stream *s = tracerec_stream(r, (uint32_t)id);

	return s && s->in_status ? s->info.name : "";
}

/* An instant about a stream: {"stream":id,"name":"..."} and more args. */
static void json_stream_instant(struct traceout_json *j, const char *name,
				const struct trace_event *e)
{
	json_instant(j, name, 'p', e->t_ns);
	fprintf(j->f, "\"stream\":%lld,\"name\":", (long long)e->a);
	json_string(j->f, json_stream_name(j->r, e->a));
}

/* A stream's life as an async span. */
static void json_stream_span(struct traceout_json *j, const char *ph, int64_t id,
			     int64_t t_ns)
{
	char name[MONITOR_NAME + 32];

	snprintf(name, sizeof name, "stream %lld %s", (long long)id,
		 json_stream_name(j->r, id));
	json_open(j, name, ph, t_ns);
	fprintf(j->f, ",\"cat\":\"stream\",\"id\":%lld}", (long long)id);
}

/* A span ends only where the trace saw it begin. */
static int json_joined(const struct tracerec *r, int64_t id)
{
	const struct tracerec_stream *s = tracerec_stream(r, (uint32_t)id);

	return s && s->t_join;
}

/* The wakeup at i lasts until its cycle's top-up (the next TRACE_FILL
 * before another wakeup). */
static void json_wake(struct traceout_json *j, size_t i, int64_t prev_wake)
{
	const struct tracerec *r = j->r;
	const struct trace_event *e = &r->ev[i];
	int64_t end = e->t_ns;
	char cause[32];

	for (size_t k = i + 1; k < r->n && r->ev[k].type != TRACE_WAKE; k++) {
		if (r->ev[k].type == TRACE_FILL) {
			end = r->ev[k].t_ns;
			break;
		}
	}
	json_open(j, "wake", "X", e->t_ns);
	fprintf(j->f, ",\"dur\":%.3f,\"args\":{\"cause\":", (double)(end - e->t_ns) / 1e3);
	json_string(j->f, tracerec_wake_cause(e->c, cause, sizeof cause));
	if (tracerec_wake_planned(e, prev_wake))
		fprintf(j->f, ",\"planned_ms\":%.6f,\"late_us\":%.3f",
			json_ts(j, e->a) / 1e3, (double)e->b / 1e3);
	fputs("}}", j->f);
}

static void json_rewind(struct traceout_json *j, const struct trace_event *e)
{
	json_instant(j, "rewind", 't', e->t_ns);
	fprintf(j->f, "\"asked\":%lld,\"done\":%lld,\"reason\":",
		(long long)e->a, (long long)e->b);
	json_string(j->f, trace_reason_name(e->c));
	fputs("}}", j->f);
}

static void json_level(struct traceout_json *j, const struct trace_event *e)
{
	json_instant(j, trace_type_name(e->type), 'p', e->t_ns);
	fprintf(j->f, "\"frames\":%lld,\"old\":%lld}}", (long long)e->a, (long long)e->b);
}

static void json_event(struct traceout_json *j, size_t i, int64_t prev_wake)
{
	const struct trace_event *e = &j->r->ev[i];

	switch (e->type) {
	case TRACE_WAKE:
		json_wake(j, i, prev_wake);
		break;
	case TRACE_REWIND:
		json_rewind(j, e);
		break;
	case TRACE_XRUN:
		json_instant(j, "xrun", 'g', e->t_ns);
		fprintf(j->f, "\"error\":%lld}}", (long long)e->a);
		break;
	case TRACE_WATERMARK:
	case TRACE_TARGET:
		json_level(j, e);
		break;
	case TRACE_IDLE:
		json_instant(j, "idle", 'g', e->t_ns);
		fprintf(j->f, "\"stopped\":%d}}", e->a ? 1 : 0);
		break;
	case TRACE_PAUSE:
		json_stream_instant(j, e->b ? "pause" : "resume", e);
		fputs("}}", j->f);
		break;
	case TRACE_VOLUME:
		json_stream_instant(j, "volume", e);
		fprintf(j->f, ",\"gain\":%.6f}}", (double)e->b / 1e6);
		break;
	case TRACE_JOIN:
	case TRACE_LEAVE:
	case TRACE_UNDERRUN:
	case TRACE_DRAINED:
		json_stream_instant(j, trace_type_name(e->type), e);
		fputs("}}", j->f);
		if (e->type == TRACE_JOIN)
			json_stream_span(j, "b", e->a, e->t_ns);
		else if (e->type == TRACE_LEAVE && json_joined(j->r, e->a))
			json_stream_span(j, "e", e->a, e->t_ns);
		break;
	default:
		break;		/* TRACE_FILL: the counter below */
	}
}

static void json_fill_point(void *arg, int64_t t_ns, double fill)
{
	struct traceout_json *j = arg;
	struct tracerec_level l = tracerec_level_at(j->r, t_ns);

	json_open(j, "fill (frames)", "C", t_ns);
	fprintf(j->f, ",\"args\":{\"fill\":%.0f,\"watermark\":%llu,\"target\":%llu}}",
		fill, (unsigned long long)l.watermark, (unsigned long long)l.target);
}

static void json_other_data(struct traceout_json *j)
{
	const struct monitor_status *st = &j->r->status;

	fputs("\"otherData\":{\"device\":", j->f);
	json_string(j->f, j->r->have_status ? st->device : "");
	fprintf(j->f, ",\"rate\":%u,\"channels\":%u,\"buffer_frames\":%llu,"
		"\"events\":%zu,\"events_lost\":%llu,\"events_before_attach_lost\":%llu},\n",
		st->rate, st->channels, (unsigned long long)st->buffer, j->r->n,
		(unsigned long long)j->r->lost, (unsigned long long)j->r->missed);
}

int traceout_json(const struct tracerec *r, FILE *f)
{
	struct traceout_json j = { .f = f, .r = r, .first = 1 };
	int64_t prev_wake = 0;

	fputs("{\"displayTimeUnit\":\"ms\",\n", f);
	json_other_data(&j);
	fputs("\"traceEvents\":[", f);
	json_meta(&j, "process_name", "lulld");
	json_meta(&j, "thread_name", "audio thread");
	for (size_t i = 0; i < r->n; i++) {
		json_event(&j, i, prev_wake);
		if (r->ev[i].type == TRACE_WAKE)
			prev_wake = r->ev[i].t_ns;
	}
	/* Streams still playing when the recording ended. */
	for (size_t i = 0; i < r->nstreams; i++)
		if (r->streams[i].t_join && !r->streams[i].t_leave)
			json_stream_span(&j, "e", r->streams[i].id, r->t_end);
	tracerec_fill_walk(r, TRACEOUT_JSON_STEP_NS, json_fill_point, &j);
	fputs("\n]}\n", f);
	return ferror(f) ? -EIO : 0;
}
