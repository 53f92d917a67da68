/* lull-top — a live view of lulld, like top: the card, its fill, target
 * and watermark, wakeups per second, the clock's rate, xruns, and one row
 * per stream.
 *
 *   lull-top [--socket PATH] [-d SECONDS] [-n ITERATIONS] [-b]
 *
 * It reads lulld's status page (ipc/monitor.h) through a read-only
 * mapping, once per refresh: lulld never waits for it. Wakeups per second
 * are the change of lulld's wakeup counter over the refresh interval, so
 * the first frame has none yet.
 *
 * On a terminal it redraws in place and quits on q, Ctrl-C or when lulld
 * goes away. With -b (and whenever standard output is not a terminal) it
 * prints plain text frames one after another, without escape codes. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/fmt.h"
#include "tools/monitor_client.h"

#define TOP_LINE 256
#define TOP_LINES (MONITOR_STREAMS + 16)

enum {
	TOP_OK = 0,
	TOP_ERROR = 1,
	TOP_USAGE = 2,
};

struct top_opts {
	const char *socket;
	double seconds;		/* refresh interval */
	long iterations;	/* 0: until stopped */
	int batch;
};

/* One screenful, built before it is shown. */
struct top_frame {
	char line[TOP_LINES][TOP_LINE];
	int n;
};

/* What the previous refresh saw, for rates. */
struct top_prev {
	int have;
	uint64_t wakeups;
	int64_t t_ns;
};

struct top_term {
	int on;			/* escape codes: drawing in place */
	int keys;		/* reading keys from a terminal stdin */
	struct termios saved;
};

static int64_t top_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- the frame ------------------------------------------------------------------ */

__attribute__((format(printf, 2, 3)))
static void top_add(struct top_frame *fr, const char *fmt, ...)
{
	va_list ap;

	if (fr->n == TOP_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(fr->line[fr->n++], TOP_LINE, fmt, ap);
	va_end(ap);
}

static double top_ms(uint64_t frames, uint32_t rate)
{
	return rate ? (double)frames * 1000 / rate : 0;
}

static const char *top_fmt(uint32_t f)
{
	return f <= FMT_FLOAT ? fmt_name((enum fmt)f) : "?";
}

static void top_card(struct top_frame *fr, const struct monitor_status *st,
		     const char *path)
{
	char clock[16];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(clock, sizeof clock, "%H:%M:%S", &tm);
	top_add(fr, "lull-top  %s  lulld at %s", clock, path);
	top_add(fr, "device    %s  %s  real-time %s", st->device,
		st->running ? "running" : "stopped", st->realtime ? "on" : "off");
	top_add(fr, "format    %u Hz  %u ch  %s  buffer %llu frames (%.1f ms)", st->rate,
		st->channels, top_fmt(st->format), (unsigned long long)st->buffer,
		top_ms(st->buffer, st->rate));
	top_add(fr, "fill      %llu frames (%.1f ms)  target %llu (%.1f ms)  "
		"watermark %llu (%.1f ms)  safeguard %llu",
		(unsigned long long)st->fill, top_ms(st->fill, st->rate),
		(unsigned long long)st->fill_target, top_ms(st->fill_target, st->rate),
		(unsigned long long)st->watermark, top_ms(st->watermark, st->rate),
		(unsigned long long)st->safeguard);
}

static void top_counters(struct top_frame *fr, const struct monitor_status *st,
			 const struct top_prev *prev, int64_t now)
{
	char rate[32] = "-";

	if (prev->have && now > prev->t_ns)
		snprintf(rate, sizeof rate, "%.1f",
			 (double)(st->wakeups - prev->wakeups) * 1e9 / (double)(now - prev->t_ns));
	top_add(fr, "wakeups   %s/s (%llu in all)  clock %+.1f ppm  xruns %llu  "
		"underruns %llu  rewinds %llu (%llu frames)", rate,
		(unsigned long long)st->wakeups, st->ppm, (unsigned long long)st->xruns,
		(unsigned long long)st->underruns, (unsigned long long)st->rewinds,
		(unsigned long long)st->rewound);
}

static const char *top_state(const struct monitor_stream *s)
{
	if (s->paused)
		return "paused";
	return s->dry ? "dry" : "playing";
}

static void top_streams(struct top_frame *fr, const struct monitor_status *st)
{
	uint32_t n = st->nstreams < MONITOR_STREAMS ? st->nstreams : MONITOR_STREAMS;

	top_add(fr, "streams   %u", n);
	top_add(fr, "%s", "");
	top_add(fr, "%4s %-16s %7s %6s %2s %10s %6s %6s %-8s %9s %7s", "ID", "NAME", "PID",
		"RATE", "CH", "LATENCY", "FILL%", "VOLUME", "STATE", "UNDERRUNS", "REWINDS");
	for (uint32_t i = 0; i < n; i++) {
		const struct monitor_stream *s = &st->streams[i];
		char name[MONITOR_NAME];
		snprintf(name, sizeof name, "%s", s->name);
		top_add(fr, "%4u %-16.16s %7d %6u %2u %7.1f ms %6.1f %6.3f %-8s %9llu %7llu",
			s->id, name, s->pid, s->rate, s->channels,
			(double)s->latency_us / 1e3,
			s->ring_frames ? (double)s->ring_fill * 100 / (double)s->ring_frames : 0,
			(double)s->volume, top_state(s), (unsigned long long)s->underruns,
			(unsigned long long)s->rewinds);
	}
}

/* --- the terminal ------------------------------------------------------------- */

/* Keys without Enter and without echo; Ctrl-C still signals. */
static void top_term_open(struct top_term *t, int batch)
{
	struct termios raw;

	t->on = !batch && isatty(STDOUT_FILENO);
	t->keys = t->on && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0;
	if (t->keys) {
		raw = t->saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	if (t->on)
		fputs("\033[?1049h\033[?25l", stdout);	/* own screen, no cursor */
}

static void top_term_close(struct top_term *t)
{
	if (t->on)
		fputs("\033[?25h\033[?1049l", stdout);
	if (t->keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	fflush(stdout);
	t->on = t->keys = 0;
}

static void top_term_size(int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

/* In place on a terminal (cut to its size), else one frame after another. */
static void top_show(const struct top_term *t, const struct top_frame *fr)
{
	int rows = TOP_LINES, cols = TOP_LINE;

	if (!t->on) {
		for (int i = 0; i < fr->n; i++)
			printf("%s\n", fr->line[i]);
		putchar('\n');
		fflush(stdout);
		return;
	}
	top_term_size(&rows, &cols);
	fputs("\033[H", stdout);
	for (int i = 0; i < fr->n && i < rows - 1; i++)
		printf("%.*s\033[K\n", cols, fr->line[i]);
	fputs("\033[J", stdout);
	fflush(stdout);
}

/* --- the loop ------------------------------------------------------------------- */

/* lulld rewrites the status page every cycle; a copy torn by a write is
 * simply taken again. */
static int top_status(const struct monitor *m, struct monitor_status *st)
{
	for (int i = 0; i < 10; i++) {
		if (monitor_status(m, st) == 0)
			return 0;
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	return -EAGAIN;
}

static void top_render(struct top_frame *fr, const struct monitor_status *st,
		       struct top_prev *prev, const char *path)
{
	int64_t now = top_now();

	fr->n = 0;
	st = st->rate ? st : NULL;
	if (!st) {
		top_add(fr, "lull-top  lulld at %s: not running a cycle yet", path);
		return;
	}
	top_card(fr, st, path);
	top_counters(fr, st, prev, now);
	top_streams(fr, st);
	*prev = (struct top_prev){ .have = 1, .wakeups = st->wakeups, .t_ns = now };
}

enum top_why { TOP_TIME, TOP_QUIT, TOP_GONE };

/* Waits until the next refresh is due, a key, a signal or lulld leaving. */
static enum top_why top_wait(const struct top_term *t, struct monitor_client *mc,
			     int sfd, int64_t until)
{
	struct pollfd p[3] = { { .fd = sfd, .events = POLLIN },
			       { .fd = mc->fd, .events = POLLIN },
			       { .fd = t->keys ? STDIN_FILENO : -1, .events = POLLIN } };
	int64_t left;

	while ((left = until - top_now()) > 0) {
		char key;
		if (poll(p, 3, (int)(left / 1000000) + 1) < 0 && errno != EINTR)
			return TOP_QUIT;
		if (p[0].revents & POLLIN)
			return TOP_QUIT;
		if (p[1].revents && monitor_client_gone(mc))
			return TOP_GONE;
		if ((p[2].revents & POLLIN) && read(STDIN_FILENO, &key, 1) == 1 &&
		    (key == 'q' || key == 'Q'))
			return TOP_QUIT;
	}
	return TOP_TIME;
}

static int top_loop(const struct top_opts *o, struct monitor_client *mc, int sfd)
{
	struct top_term t = { 0 };
	struct top_frame *fr = calloc(1, sizeof *fr);
	struct monitor_status *st = calloc(1, sizeof *st);
	struct top_prev prev = { 0 };
	enum top_why why = TOP_TIME;
	int64_t next = top_now();

	if (!fr || !st) {
		free(fr);
		free(st);
		return -ENOMEM;
	}
	top_term_open(&t, o->batch);
	for (long i = 0; why == TOP_TIME && (!o->iterations || i < o->iterations); i++) {
		if (top_status(mc->m, st) == 0) {
			top_render(fr, st, &prev, mc->path);
			top_show(&t, fr);
		}
		next += (int64_t)(o->seconds * 1e9);
		if (!o->iterations || i + 1 < o->iterations)
			why = top_wait(&t, mc, sfd, next);
	}
	top_term_close(&t);
	if (why == TOP_GONE)
		fprintf(stderr, "lull-top: lulld has gone\n");
	free(fr);
	free(st);
	return 0;
}

/* --- options and main ------------------------------------------------------------ */

static void top_usage(FILE *f)
{
	fputs("usage: lull-top [options]\n"
	      "A live view of lulld: the card, its fill, wakeups, and every stream.\n"
	      "  -s, --socket PATH     lulld's socket (default: $LULL_SOCKET, else\n"
	      "                        $XDG_RUNTIME_DIR/lull/socket)\n"
	      "  -d, --delay SECONDS   refresh interval (default 1)\n"
	      "  -n, --iterations N    show N frames, then exit\n"
	      "  -b, --batch           plain text frames one after another, no escape\n"
	      "                        codes (the default when output is not a terminal)\n"
	      "  -h, --help\n"
	      "Keys: q quits (so do Ctrl-C and lulld going away).\n"
	      "Exit status: 0 done, 1 error, 2 bad usage.\n", f);
}

static int top_bad(const char *what, const char *arg)
{
	fprintf(stderr, "lull-top: bad %s: %s\n", what, arg);
	return -EINVAL;
}

/* 1 for --help, 0, or -EINVAL after saying what was wrong. */
static int top_parse(struct top_opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "batch", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	int c;

	*o = (struct top_opts){ .seconds = 1 };
	while ((c = getopt_long(argc, argv, "s:d:n:bh", longs, NULL)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'd':
			o->seconds = strtod(optarg, &end);
			if (*end || end == optarg || !(o->seconds >= 0.01 && o->seconds <= 3600))
				return top_bad("delay", optarg);
			break;
		case 'n':
			o->iterations = strtol(optarg, &end, 10);
			if (*end || end == optarg || o->iterations < 1)
				return top_bad("iterations", optarg);
			break;
		case 'b': o->batch = 1; break;
		case 'h': return 1;
		default: return -EINVAL;
		}
	}
	if (optind != argc)
		return top_bad("argument", argv[optind]);
	return 0;
}

static int top_signals(void)
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

int main(int argc, char **argv)
{
	struct top_opts o;
	struct monitor_client mc;
	int sfd, err = top_parse(&o, argc, argv);

	if (err) {
		top_usage(err > 0 ? stdout : stderr);
		return err > 0 ? TOP_OK : TOP_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	sfd = top_signals();
	if (sfd < 0) {
		fprintf(stderr, "lull-top: signals: %s\n", strerror(-sfd));
		return TOP_ERROR;
	}
	err = monitor_client_open(&mc, o.socket, "lull-top");
	if (err) {
		fprintf(stderr, "lull-top: cannot reach lulld at %s: %s\n",
			mc.path[0] ? mc.path : "(no socket path: set LULL_SOCKET or "
			"XDG_RUNTIME_DIR, or pass --socket)", strerror(-err));
		close(sfd);
		return TOP_ERROR;
	}
	err = top_loop(&o, &mc, sfd);
	if (err)
		fprintf(stderr, "lull-top: %s\n", strerror(-err));
	monitor_client_close(&mc);
	close(sfd);
	return err ? TOP_ERROR : TOP_OK;
}
