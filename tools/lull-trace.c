/* lull-trace — records lulld's trace: every wakeup, top-up, rewind, xrun
 * and stream event as it happened, then writes it as CSV, as trace-event
 * JSON (Perfetto, chrome://tracing) and as an SVG timeline, and prints a
 * summary.
 *
 *   lull-trace [--socket PATH] [-d SECONDS] [--csv FILE] [--json FILE]
 *              [--svg FILE] [--from-now] [--quiet]
 *
 * It maps lulld's monitor read-only and polls it every 50 ms: lulld never
 * waits for it, and if it falls more than the ring (16384 events) behind
 * it says how many events it lost. It records until -d SECONDS have
 * passed, until SIGINT/SIGTERM (Ctrl-C), or until lulld exits; then it
 * reads what lulld traced up to its very end, since the mapping outlives
 * lulld.
 *
 * It starts with the oldest event still in lulld's ring, so a lull-trace
 * started right after lulld saw everything lulld did: then its wakeup
 * count is exactly lulld's own ("lulld: N wakeups" at exit). The summary
 * says whether that holds ("complete since lulld started"); --from-now
 * drops what happened before it attached. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "core/fmt.h"
#include "tools/monitor_client.h"
#include "tools/traceout.h"

#define TRACE_POLL_MS 50

enum {
	TRACE_OK = 0,
	TRACE_ERROR = 1,
	TRACE_USAGE = 2,
};

struct trace_opts {
	const char *socket;
	double seconds;		/* 0: until stopped */
	const char *out[3];	/* csv, json, svg */
	int from_now;
	int quiet;
};

/* The outputs, in the order of trace_opts.out. */
static const struct {
	const char *what;
	int (*write)(const struct tracerec *r, FILE *f);
} trace_outputs[3] = {
	{ "CSV", traceout_csv },
	{ "JSON", traceout_json },
	{ "SVG", traceout_svg },
};

static int64_t trace_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- the summary ----------------------------------------------------------------- */

static int trace_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted values. */
static int64_t trace_pct(const int64_t *v, size_t n, double p)
{
	size_t k = (size_t)(p * (double)n + 0.999999);

	return v[k ? k - 1 : 0];
}

static void trace_sum_card(const struct tracerec *r, FILE *f)
{
	const struct monitor_status *st = &r->status;

	if (!r->have_status) {
		fputs("lulld (its status page was never written)\n", f);
		return;
	}
	fprintf(f, "lulld on %s: %u Hz, %u channels, %s, buffer %llu frames (%.1f ms), "
		"watermark %llu, safeguard %llu\n", st->device, st->rate, st->channels,
		st->format <= FMT_FLOAT ? fmt_name((enum fmt)st->format) : "?",
		(unsigned long long)st->buffer, (double)st->buffer * 1000 / st->rate,
		(unsigned long long)st->watermark, (unsigned long long)st->safeguard);
}

static void trace_sum_events(const struct tracerec *r, FILE *f)
{
	fprintf(f, "duration    %.3f s\n", (double)(r->t_end - r->t_start) / 1e9);
	fprintf(f, "events      %zu", r->n);
	if (r->n && r->ev[0].seq == 0 && !r->missed && !r->lost)
		fputs(", complete since lulld started", f);
	else if (r->n && r->ev[0].seq != 0 && !r->missed)
		fprintf(f, ", from event %llu on", (unsigned long long)r->ev[0].seq);
	if (r->missed)
		fprintf(f, ", %llu overwritten before lull-trace attached",
			(unsigned long long)r->missed);
	if (r->lost)
		fprintf(f, ", %llu LOST while recording", (unsigned long long)r->lost);
	fputc('\n', f);
}

/* Wakeups: lulld counts those where something woke it (c != 0); a wait
 * a signal interrupted is traced with c == 0 and not counted. */
static void trace_sum_wakeups(const struct tracerec *r, FILE *f)
{
	uint64_t n = 0, none = 0, by[3] = { 0 };
	double secs = (double)(r->t_end - r->t_start) / 1e9;

	for (size_t i = 0; i < r->n; i++) {
		if (r->ev[i].type != TRACE_WAKE)
			continue;
		if (!r->ev[i].c)
			none++;
		else
			n++;
		for (unsigned b = 0; b < 3; b++)
			by[b] += !!(r->ev[i].c & (1u << b));
	}
	fprintf(f, "wakeups     %llu (%.2f/s): timer %llu, command %llu, stream %llu",
		(unsigned long long)n, secs > 0 ? (double)n / secs : 0,
		(unsigned long long)by[0], (unsigned long long)by[1],
		(unsigned long long)by[2]);
	if (none)
		fprintf(f, "; %llu interrupted waits not counted", (unsigned long long)none);
	fputc('\n', f);
}

static void trace_sum_lateness(const struct tracerec *r, FILE *f)
{
	int64_t *late = malloc((r->n ? r->n : 1) * sizeof *late), prev = 0;
	size_t n = 0, immediate = 0;

	if (!late)
		return;
	for (size_t i = 0; i < r->n; i++) {
		const struct trace_event *e = &r->ev[i];
		if (e->type != TRACE_WAKE)
			continue;
		if (tracerec_wake_planned(e, prev))
			late[n++] = e->b;
		else if (e->c & WAKE_TIMER)
			immediate++;
		prev = e->t_ns;
	}
	qsort(late, n, sizeof *late, trace_cmp_i64);
	if (n)
		fprintf(f, "lateness    %zu timer wakeups: p50 %.1f us, p99 %.1f us, max %.1f us",
			n, (double)trace_pct(late, n, 0.5) / 1e3,
			(double)trace_pct(late, n, 0.99) / 1e3, (double)late[n - 1] / 1e3);
	else
		fputs("lateness    no planned timer wakeups", f);
	if (immediate)
		fprintf(f, " (%zu asked for at once, not counted)", immediate);
	fputc('\n', f);
	free(late);
}

static void trace_sum_rewinds(const struct tracerec *r, FILE *f)
{
	uint64_t n = 0, moved = 0, frames = 0;
	uint64_t count[REWIND_REASONS + 1] = { 0 }, done[REWIND_REASONS + 1] = { 0 };
	const char *sep = ": ";

	for (size_t i = 0; i < r->n; i++) {
		const struct trace_event *e = &r->ev[i];
		uint32_t why = e->c < REWIND_REASONS ? e->c : REWIND_REASONS;
		if (e->type != TRACE_REWIND)
			continue;
		n++;
		moved += e->b > 0;
		frames += e->b > 0 ? (uint64_t)e->b : 0;
		count[why]++;
		done[why] += e->b > 0 ? (uint64_t)e->b : 0;
	}
	fprintf(f, "rewinds     %llu, %llu moving audio (%llu frames)", (unsigned long long)n,
		(unsigned long long)moved, (unsigned long long)frames);
	for (uint32_t why = 0; why <= REWIND_REASONS; why++) {
		if (!count[why])
			continue;
		fprintf(f, "%s%s %llu (%llu frames)", sep, trace_reason_name(why),
			(unsigned long long)count[why], (unsigned long long)done[why]);
		sep = ", ";
	}
	fputc('\n', f);
}

static uint64_t trace_count(const struct tracerec *r, uint32_t type)
{
	uint64_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->ev[i].type == type;
	return n;
}

/* Idle stops: the card stopped with no stream, no wakeups until a client. */
static void trace_sum_idle(const struct tracerec *r, FILE *f)
{
	uint64_t stops = 0;
	int64_t idle_ns = 0, since = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct trace_event *e = &r->ev[i];
		if (e->type != TRACE_IDLE)
			continue;
		if (e->a && !since) {
			stops++;
			since = e->t_ns;
		} else if (!e->a && since) {
			idle_ns += e->t_ns - since;
			since = 0;
		}
	}
	if (since)
		idle_ns += r->t_end - since;
	if (stops)
		fprintf(f, "idle        %llu stops, %.3f s with the card stopped\n",
			(unsigned long long)stops, (double)idle_ns / 1e9);
}

static void trace_sum_time(FILE *f, const struct tracerec *r, int64_t t)
{
	if (t)
		fprintf(f, " %8.3f s", (double)(t - r->t_start) / 1e9);
	else
		fprintf(f, " %10s", "-");
}

static void trace_sum_streams(const struct tracerec *r, FILE *f)
{
	fprintf(f, "streams     %zu\n", r->nstreams);
	if (!r->nstreams)
		return;
	fprintf(f, "  %4s %-16s %7s %6s %2s %10s %9s %7s %10s %10s\n", "ID", "NAME", "PID",
		"RATE", "CH", "LATENCY", "UNDERRUNS", "REWINDS", "JOINED", "LEFT");
	for (size_t i = 0; i < r->nstreams; i++) {
		const struct tracerec_stream *s = &r->streams[i];
		if (s->in_status)
			fprintf(f, "  %4u %-16.16s %7d %6u %2u %7.1f ms %9llu %7llu", s->id,
				s->info.name, s->info.pid, s->info.rate, s->info.channels,
				(double)s->info.latency_us / 1e3,
				(unsigned long long)s->underruns,
				(unsigned long long)s->info.rewinds);
		else
			fprintf(f, "  %4u %-16s %7s %6s %2s %10s %9llu %7s", s->id, "?", "-",
				"-", "-", "-", (unsigned long long)s->underruns, "-");
		trace_sum_time(f, r, s->t_join);
		trace_sum_time(f, r, s->t_leave);
		fputc('\n', f);
	}
}

static void trace_summary(const struct tracerec *r, FILE *f)
{
	trace_sum_card(r, f);
	trace_sum_events(r, f);
	trace_sum_wakeups(r, f);
	trace_sum_lateness(r, f);
	trace_sum_rewinds(r, f);
	fprintf(f, "xruns       %llu\n", (unsigned long long)trace_count(r, TRACE_XRUN));
	fprintf(f, "underruns   %llu\n", (unsigned long long)trace_count(r, TRACE_UNDERRUN));
	trace_sum_idle(r, f);
	trace_sum_streams(r, f);
}

/* --- recording ------------------------------------------------------------------- */

/* SIGINT and SIGTERM, blocked, arrive on a descriptor the loop polls. */
static int trace_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int trace_poll_once(struct tracerec *r, const struct monitor_client *mc)
{
	int64_t lost = tracerec_poll(r, mc->m);

	if (lost < 0)
		return (int)lost;
	if (lost > 0)
		fprintf(stderr, "lull-trace: fell behind lulld: %lld events lost\n",
			(long long)lost);
	return 0;
}

/* Polls until the time is up, a signal, or lulld goes; *gone says which. */
static int trace_record(const struct trace_opts *o, struct monitor_client *mc,
			struct tracerec *r, int sfd, int *gone)
{
	int64_t end = o->seconds > 0 ? r->t_attach + (int64_t)(o->seconds * 1e9) : INT64_MAX;
	struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
			       { .fd = mc->fd, .events = POLLIN } };
	int err = trace_poll_once(r, mc), stop = 0;

	while (!err && !stop) {
		int64_t left = end - trace_now();
		int ms = left < TRACE_POLL_MS * 1000000LL ? (int)(left / 1000000) + 1 : TRACE_POLL_MS;
		if (poll(p, 2, left > 0 ? ms : 0) < 0 && errno != EINTR)
			return -errno;
		stop = (p[0].revents & POLLIN) || trace_now() >= end;
		if (p[1].revents && monitor_client_gone(mc))
			stop = *gone = 1;
		/* Once more after the stop: what lulld traced up to now (or,
		 * gone, up to its end) is still in the mapping. */
		err = trace_poll_once(r, mc);
	}
	return err;
}

/* --- outputs ----------------------------------------------------------------------- */

/* Opened before recording, so a bad path fails at once, not after an hour. */
static int trace_open_outputs(const struct trace_opts *o, FILE *files[3])
{
	files[0] = files[1] = files[2] = NULL;
	for (int i = 0; i < 3; i++) {
		if (!o->out[i])
			continue;
		files[i] = strcmp(o->out[i], "-") ? fopen(o->out[i], "w") : stdout;
		if (!files[i]) {
			fprintf(stderr, "lull-trace: cannot write %s: %s\n", o->out[i],
				strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int trace_write_outputs(const struct trace_opts *o, const struct tracerec *r,
			       FILE *files[3])
{
	int ret = 0;

	for (int i = 0; i < 3; i++) {
		int err;
		if (!files[i])
			continue;
		err = trace_outputs[i].write(r, files[i]);
		if (files[i] == stdout ? fflush(stdout) : fclose(files[i]))
			err = err ? err : -errno;
		files[i] = NULL;
		if (err) {
			fprintf(stderr, "lull-trace: cannot write the %s to %s: %s\n",
				trace_outputs[i].what, o->out[i], strerror(-err));
			ret = err;
		}
	}
	return ret;
}

static void trace_close_outputs(FILE *files[3])
{
	for (int i = 0; i < 3; i++)
		if (files[i] && files[i] != stdout)
			fclose(files[i]);
}

/* --- options ----------------------------------------------------------------------- */

static void trace_usage(FILE *f)
{
	fputs("usage: lull-trace [options]\n"
	      "Records lulld's trace (every wakeup, top-up, rewind, xrun, stream event)\n"
	      "until -d seconds have passed, Ctrl-C, or lulld exits; then writes it\n"
	      "out and prints a summary.\n"
	      "  -s, --socket PATH     lulld's socket (default: $LULL_SOCKET, else\n"
	      "                        $XDG_RUNTIME_DIR/lull/socket)\n"
	      "  -d, --duration SECS   record this long (default: until stopped)\n"
	      "      --csv FILE        every event, one per line\n"
	      "      --json FILE       trace-event JSON for ui.perfetto.dev or\n"
	      "                        chrome://tracing\n"
	      "      --svg FILE        a timeline: fill, wakeups, rewinds, xruns, streams\n"
	      "      --from-now        leave out what lulld traced before (default:\n"
	      "                        everything still in its ring)\n"
	      "  -q, --quiet           no summary, no progress messages\n"
	      "  -h, --help\n"
	      "FILE may be - for standard output (the summary then goes to stderr).\n"
	      "Exit status: 0 done, 1 error, 2 bad usage.\n", f);
}

static int trace_bad(const char *what, const char *arg)
{
	fprintf(stderr, "lull-trace: bad %s: %s\n", what, arg);
	return -EINVAL;
}

/* 1 for --help, 0, or -EINVAL after saying what was wrong. */
static int trace_parse(struct trace_opts *o, int argc, char **argv)
{
	enum { OPT_CSV = 256, OPT_JSON, OPT_SVG, OPT_FROM_NOW };
	static const struct option longs[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "csv", required_argument, NULL, OPT_CSV },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "from-now", no_argument, NULL, OPT_FROM_NOW },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	int c;

	memset(o, 0, sizeof *o);
	while ((c = getopt_long(argc, argv, "s:d:qh", longs, NULL)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'd':
			o->seconds = strtod(optarg, &end);
			if (*end || end == optarg || !(o->seconds > 0 && o->seconds < 1e9))
				return trace_bad("duration", optarg);
			break;
		case OPT_CSV: o->out[0] = optarg; break;
		case OPT_JSON: o->out[1] = optarg; break;
		case OPT_SVG: o->out[2] = optarg; break;
		case OPT_FROM_NOW: o->from_now = 1; break;
		case 'q': o->quiet = 1; break;
		case 'h': return 1;
		default: return -EINVAL;
		}
	}
	if (optind != argc)
		return trace_bad("argument", argv[optind]);
	return 0;
}

/* --- main ---------------------------------------------------------------------------- */

static int trace_run(const struct trace_opts *o, int sfd, FILE *files[3])
{
	struct monitor_client mc;
	struct tracerec r;
	int gone = 0, err = monitor_client_open(&mc, o->socket, "lull-trace");
	int to_stdout = files[0] == stdout || files[1] == stdout || files[2] == stdout;

	if (err) {
		fprintf(stderr, "lull-trace: cannot reach lulld at %s: %s\n",
			mc.path[0] ? mc.path : "(no socket path: set LULL_SOCKET or "
			"XDG_RUNTIME_DIR, or pass --socket)", strerror(-err));
		return TRACE_ERROR;
	}
	tracerec_init(&r, mc.m, o->from_now, trace_now());
	if (!o->quiet)
		fprintf(stderr, "lull-trace: recording lulld at %s; Ctrl-C to stop\n", mc.path);
	err = trace_record(o, &mc, &r, sfd, &gone);
	tracerec_end(&r, trace_now(), gone);
	if (err)
		fprintf(stderr, "lull-trace: recording failed: %s\n", strerror(-err));
	else if (gone && !o->quiet)
		fprintf(stderr, "lull-trace: lulld has exited\n");
	if (trace_write_outputs(o, &r, files))
		err = -EIO;
	if (!o->quiet)
		trace_summary(&r, to_stdout ? stderr : stdout);
	tracerec_free(&r);
	monitor_client_close(&mc);
	return err ? TRACE_ERROR : TRACE_OK;
}

int main(int argc, char **argv)
{
	struct trace_opts o;
	FILE *files[3];
	int sfd, ret, err = trace_parse(&o, argc, argv);

	if (err) {
		trace_usage(err > 0 ? stdout : stderr);
		return err > 0 ? TRACE_OK : TRACE_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	sfd = trace_signals();
	if (sfd < 0) {
		fprintf(stderr, "lull-trace: signals: %s\n", strerror(-sfd));
		return TRACE_ERROR;
	}
	if (trace_open_outputs(&o, files)) {
		trace_close_outputs(files);
		close(sfd);
		return TRACE_ERROR;
	}
	ret = trace_run(&o, sfd, files);
	trace_close_outputs(files);
	close(sfd);
	return ret;
}
