/* lull-ptrtest: how accurately does an ALSA PCM report its hardware
 * pointer, and is it fit for timer scheduling?
 *
 * Opens the PCM, configures it the way lulld would (deep buffer, period
 * wakeups off, explicit start, monotonic timestamps), lets sched/ptrprobe
 * measure it and prints core/ptrstat's findings, as text or JSON. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <alsa/asoundlib.h>

#include "core/fmt.h"
#include "core/ptrstat.h"
#include "sched/ptrprobe.h"

#define PROG "lull-ptrtest"

struct cfg {
	const char *device;
	const char *loopback;
	double duration_s, stress_s;
	unsigned rate, channels, interval_us;
	unsigned buffer_ms, period_ms;	/* period 0: a quarter buffer */
	enum fmt fmt;
	bool playback, capture, json, verbose;
};

/* Both directions' outcome. */
struct outcome {
	struct ptrprobe_result res[2];	/* playback, capture */
	bool done[2];
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: " PROG " [options] [PCM]\n"
"Measures how accurately an ALSA PCM reports its hardware pointer, and\n"
"whether it is fit for timer-based scheduling (deep buffer, rewinds).\n"
"\n"
"  -D, --device PCM       PCM to test (default \"default\")\n"
"  -d, --duration SEC     pointer sampling time (default 5)\n"
"  -r, --rate HZ          sample rate (default 48000)\n"
"  -c, --channels N       channels (default 2)\n"
"  -f, --format FMT       S16_LE, S24_LE, S32_LE or FLOAT_LE (default S16_LE)\n"
"      --buffer-ms MS     buffer size (default 2000, or the nearest allowed)\n"
"      --period-ms MS     period size (default a quarter of the buffer)\n"
"      --capture          measure the capture direction too\n"
"      --capture-only     measure the capture direction instead\n"
"      --loopback PCM     capture end of a loopback of the playback PCM:\n"
"                         finds the smallest safe rewind margin\n"
"      --stress SEC       hammer rewinds/forwards/queries for SEC seconds\n"
"      --interval-us US   time between pointer reads (default 200)\n"
"      --json             machine-readable output\n"
"  -v, --verbose          let alsa-lib print its own messages too\n"
"  -h, --help             this help\n"
"\n"
"Exit status: 0 measured, 1 a PCM could not be opened or driven, 2 usage.\n");
}

/* --- arguments --------------------------------------------------------------- */

enum {
	OPT_BUFFER = 256, OPT_PERIOD, OPT_CAPTURE, OPT_CAPTURE_ONLY,
	OPT_LOOPBACK, OPT_JSON, OPT_STRESS, OPT_INTERVAL,
};

static const struct option long_opts[] = {
	{ "device", required_argument, NULL, 'D' },
	{ "duration", required_argument, NULL, 'd' },
	{ "rate", required_argument, NULL, 'r' },
	{ "channels", required_argument, NULL, 'c' },
	{ "format", required_argument, NULL, 'f' },
	{ "buffer-ms", required_argument, NULL, OPT_BUFFER },
	{ "period-ms", required_argument, NULL, OPT_PERIOD },
	{ "capture", no_argument, NULL, OPT_CAPTURE },
	{ "capture-only", no_argument, NULL, OPT_CAPTURE_ONLY },
	{ "loopback", required_argument, NULL, OPT_LOOPBACK },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "stress", required_argument, NULL, OPT_STRESS },
	{ "interval-us", required_argument, NULL, OPT_INTERVAL },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int bad_value(const char *opt, const char *arg, double lo, double hi)
{
	fprintf(stderr, PROG ": %s: '%s' is not a number from %g to %g\n",
		opt, arg, lo, hi);
	return -1;
}

static int parse_num(const char *opt, const char *arg, double lo, double hi,
		     double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= lo && v <= hi))
		return bad_value(opt, arg, lo, hi);
	*out = v;
	return 0;
}

static int parse_uint(const char *opt, const char *arg, double lo, double hi,
		      unsigned *out)
{
	double v;

	if (parse_num(opt, arg, lo, hi, &v) < 0)
		return -1;
	if (v != floor(v))
		return bad_value(opt, arg, lo, hi);
	*out = (unsigned)v;
	return 0;
}

static int parse_format(const char *arg, enum fmt *f)
{
	if (fmt_parse(arg, f) == 0)
		return 0;
	fprintf(stderr, PROG ": --format: unknown format '%s' "
		"(S16_LE, S24_LE, S32_LE, FLOAT_LE)\n", arg);
	return -1;
}

/* One option; returns 0, 1 for --help, -1 for a bad value. */
static int parse_opt(struct cfg *c, int o, const char *arg)
{
	switch (o) {
	case 'D': c->device = arg; return 0;
	case 'd': return parse_num("--duration", arg, 0.1, 3600, &c->duration_s);
	case 'r': return parse_uint("--rate", arg, 1000, 768000, &c->rate);
	case 'c': return parse_uint("--channels", arg, 1, 64, &c->channels);
	case 'f': return parse_format(arg, &c->fmt);
	case OPT_BUFFER: return parse_uint("--buffer-ms", arg, 1, 60000, &c->buffer_ms);
	case OPT_PERIOD: return parse_uint("--period-ms", arg, 1, 60000, &c->period_ms);
	case OPT_CAPTURE: c->capture = true; return 0;
	case OPT_CAPTURE_ONLY: c->capture = true; c->playback = false; return 0;
	case OPT_LOOPBACK: c->loopback = arg; return 0;
	case OPT_JSON: c->json = true; return 0;
	case OPT_STRESS: return parse_num("--stress", arg, 0, 3600, &c->stress_s);
	case OPT_INTERVAL: return parse_uint("--interval-us", arg, 10, 1000000, &c->interval_us);
	case 'v': c->verbose = true; return 0;
	case 'h': return 1;
	default: return -1;
	}
}

static void cfg_defaults(struct cfg *c)
{
	*c = (struct cfg){ .device = "default", .duration_s = 5, .rate = 48000,
			   .channels = 2, .interval_us = 200, .buffer_ms = 2000,
			   .fmt = FMT_S16, .playback = true };
}

static int unknown_opt(char **argv)
{
	fprintf(stderr, PROG ": unknown option or missing value: '%s'\n"
		"Try '" PROG " --help'.\n", argv[optind - 1]);
	return 2;
}

/* Returns -1 to go on, or an exit status (0 after --help, 2 on error). */
static int parse_args(struct cfg *c, int argc, char **argv)
{
	int o, err;

	cfg_defaults(c);
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":D:d:r:c:f:vh", long_opts, NULL)) != -1) {
		if (o == '?' || o == ':')
			return unknown_opt(argv);
		err = parse_opt(c, o, optarg);
		if (err)
			return err > 0 ? (usage(stdout), 0) : 2;
	}
	if (optind < argc)
		c->device = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, PROG ": one PCM only, got '%s' too\n", argv[optind]);
		return 2;
	}
	if (c->loopback && !c->playback) {
		fprintf(stderr, PROG ": --loopback needs the playback direction\n");
		return 2;
	}
	return -1;
}

/* --- PCM setup ------------------------------------------------------------------ */

static snd_pcm_format_t alsa_format(enum fmt f)
{
	switch (f) {
	case FMT_S24: return SND_PCM_FORMAT_S24_LE;
	case FMT_S32: return SND_PCM_FORMAT_S32_LE;
	case FMT_FLOAT: return SND_PCM_FORMAT_FLOAT_LE;
	default: return SND_PCM_FORMAT_S16_LE;
	}
}

/* Notes the first failing call; returns 0 or the negative error (some
 * hw_params calls return a positive count on success). */
static int step(int err, const char *call, const char **what)
{
	if (err >= 0)
		return 0;
	if (!*what)
		*what = call;
	return err;
}

static int set_access(snd_pcm_t *pcm, snd_pcm_hw_params_t *hw, const char **what)
{
	if (snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED) >= 0)
		return 0;
	return step(snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_MMAP_INTERLEAVED),
		    "snd_pcm_hw_params_set_access", what);
}

/* Buffer as asked (or nearest); period as asked, or a quarter buffer.
 * Period wakeups off where the hardware allows: lulld sleeps on a timer. */
static int set_sizes(snd_pcm_t *pcm, snd_pcm_hw_params_t *hw,
		     const struct cfg *c, const char **what)
{
	unsigned us = c->buffer_ms * 1000, periods = 4;
	int dir = 0, err;

	snd_pcm_hw_params_set_period_wakeup(pcm, hw, 0);
	err = step(snd_pcm_hw_params_set_buffer_time_near(pcm, hw, &us, &dir),
		   "snd_pcm_hw_params_set_buffer_time_near", what);
	if (!err && c->period_ms) {
		us = c->period_ms * 1000;
		err = step(snd_pcm_hw_params_set_period_time_near(pcm, hw, &us, &dir),
			   "snd_pcm_hw_params_set_period_time_near", what);
	} else if (!err) {
		err = step(snd_pcm_hw_params_set_periods_near(pcm, hw, &periods, &dir),
			   "snd_pcm_hw_params_set_periods_near", what);
	}
	return err;
}

static int set_hw(snd_pcm_t *pcm, const struct cfg *c, const char **what)
{
	snd_pcm_hw_params_t *hw;
	unsigned rate = c->rate;
	int err;

	snd_pcm_hw_params_alloca(&hw);
	err = step(snd_pcm_hw_params_any(pcm, hw), "snd_pcm_hw_params_any", what);
	if (!err)
		err = set_access(pcm, hw, what);
	if (!err)
		err = step(snd_pcm_hw_params_set_format(pcm, hw, alsa_format(c->fmt)),
			   "snd_pcm_hw_params_set_format", what);
	if (!err)
		err = step(snd_pcm_hw_params_set_channels(pcm, hw, c->channels),
			   "snd_pcm_hw_params_set_channels", what);
	if (!err)
		err = step(snd_pcm_hw_params_set_rate_near(pcm, hw, &rate, NULL),
			   "snd_pcm_hw_params_set_rate_near", what);
	if (!err)
		err = set_sizes(pcm, hw, c, what);
	if (!err)
		err = step(snd_pcm_hw_params(pcm, hw), "snd_pcm_hw_params", what);
	return err;
}

static const char *dir_name(snd_pcm_stream_t s)
{
	return s == SND_PCM_STREAM_CAPTURE ? "capture" : "playback";
}

static void alsa_error(const char *dev, snd_pcm_stream_t s, const char *what, int err)
{
	fprintf(stderr, PROG ": %s (%s): %s: %s\n", dev, dir_name(s),
		what ? what : "error", snd_strerror(err));
}

/* Opens and configures; prints the one error message on failure. */
static int open_pcm(snd_pcm_t **pcm, const char *dev, snd_pcm_stream_t s,
		    const struct cfg *c)
{
	const char *what = NULL;
	int err = snd_pcm_open(pcm, dev, s, SND_PCM_NONBLOCK);

	if (err < 0) {
		alsa_error(dev, s, "cannot open", err);
		return err;
	}
	err = set_hw(*pcm, c, &what);
	if (!err)
		err = ptrprobe_sw(*pcm, &what);
	if (err < 0) {
		alsa_error(dev, s, what, err);
		snd_pcm_close(*pcm);
		*pcm = NULL;
	}
	return err;
}

/* The loopback's capture end takes the playback's actual setup. */
static int open_loopback(snd_pcm_t **cap, const struct cfg *c, snd_pcm_t *play)
{
	struct ptrprobe_hw hw;
	struct cfg lc = *c;
	int err = ptrprobe_hw_read(play, &hw);

	if (err < 0)
		return err;
	lc.rate = hw.rate;
	lc.buffer_ms = (unsigned)(hw.buffer * 1000 / hw.rate);
	lc.period_ms = 0;
	return open_pcm(cap, c->loopback, SND_PCM_STREAM_CAPTURE, &lc);
}

static struct ptrprobe_opts probe_opts(const struct cfg *c, snd_pcm_t *loop)
{
	return (struct ptrprobe_opts){
		.duration_ms = (unsigned)lround(c->duration_s * 1000),
		.interval_us = c->interval_us,
		.rewinds = true,
		.stress_ms = (unsigned)lround(c->stress_s * 1000),
		.loop_capture = loop,
	};
}

static int measure(const struct cfg *c, snd_pcm_stream_t s,
		   struct ptrprobe_result *r)
{
	snd_pcm_t *pcm = NULL, *loop = NULL;
	struct ptrprobe_opts o;
	int err = open_pcm(&pcm, c->device, s, c);

	if (!err && c->loopback && s == SND_PCM_STREAM_PLAYBACK)
		err = open_loopback(&loop, c, pcm);
	if (!err) {
		o = probe_opts(c, loop);
		err = ptrprobe_run(pcm, &o, r);
		if (err < 0)
			alsa_error(c->device, s, r->failed, err);
	}
	if (loop)
		snd_pcm_close(loop);
	if (pcm)
		snd_pcm_close(pcm);
	return err;
}

/* --- text report ------------------------------------------------------------ */

static const char *yes_no(int v)
{
	return v < 0 ? "unknown" : v ? "yes" : "no";
}

static void text_setup(const struct ptrprobe_result *r, const char *dev)
{
	const struct ptrprobe_hw *h = &r->hw;

	printf("%s, %s: %u Hz, %u ch, %s, %s\n", dev, h->capture ? "capture" : "playback",
	       h->rate, h->channels, snd_pcm_format_name(h->format),
	       snd_pcm_access_name(h->access));
	printf("  buffer %lld frames (%.1f ms), period %lld frames (%.1f ms)\n",
	       (long long)h->buffer, h->buffer * 1e3 / h->rate,
	       (long long)h->period, h->period * 1e3 / h->rate);
	printf("  hardware: batch %s, block transfer %s, double %s, monotonic %s,\n"
	       "            pause %s, period wakeups can be off %s, can rewind %s,"
	       " fifo %d\n",
	       yes_no(h->batch), yes_no(h->block_transfer), yes_no(h->double_buf),
	       yes_no(h->monotonic), yes_no(h->can_pause),
	       yes_no(h->can_disable_period_wakeup), yes_no(h->can_rewind),
	       h->fifo_size);
	printf("  sampling: %zu reads in %.2f s, one per %.0f us (median), %u xruns%s\n",
	       r->report.samples, r->report.span_s, r->report.interval_us, r->xruns,
	       r->dropped ? " (series full: reads dropped)" : "");
}

static void text_granularity(const struct ptrstat_report *p, unsigned rate)
{
	printf("pointer\n");
	printf("  granularity   %lld frames (%.3f ms); quantum %lld; steps min %lld,"
	       " p10 %lld, median %lld, max %lld\n",
	       (long long)p->granularity, p->granularity * 1e3 / rate,
	       (long long)p->quantum, (long long)p->step_min,
	       (long long)p->step_p10, (long long)p->step_p50,
	       (long long)p->step_max);
	printf("  steps seen   ");
	for (size_t i = 0; i < p->hist_n; i++)
		printf(" %lldx%zu", (long long)p->hist[i].step, p->hist[i].count);
	printf("\n  updates       every %.0f us (median)\n", p->update_us);
	printf("  backward      %zu (largest %lld frames)\n", p->backward,
	       (long long)p->backward_max);
	printf("  jumps         %zu reads with avail > buffer (largest excess %lld),"
	       " %zu bogus delays\n", p->jumps, (long long)p->jump_max,
	       p->delay_jumps);
	printf("  stalls        %zu (longest %.1f ms, total %.1f ms; threshold %.1f ms)\n",
	       p->stalls, p->stall_max_ms, p->stall_total_ms, p->stall_threshold_ms);
}

static void text_clock(const struct ptrstat_report *p, unsigned rate)
{
	printf("clock (line through %zu pointer edges)\n", p->edges);
	printf("  rate          %.2f Hz, drift %+.1f ppm\n", p->rate_hz, p->drift_ppm);
	printf("  jitter        p50 %.0f us, p99 %.0f us, max %.0f us"
	       " (resolution +-%.0f us)\n", p->jitter_p50_us, p->jitter_p99_us,
	       p->jitter_max_us, p->resolution_us);
	printf("delay\n  extra         %.0f frames (%.2f ms) beyond the pointer;"
	       " p1 %.0f, p99 %.0f, min %.0f, max %.0f over %zu reads\n",
	       p->extra_p50, p->extra_p50 * 1e3 / rate, p->extra_p1, p->extra_p99,
	       p->extra_min, p->extra_max, p->delay_n);
}

static void text_ts(const char *name, const struct ptrstat_ts *t)
{
	printf("  %-13s %zu reads: stamped %.0f us before return (max %.0f),"
	       " %+.0f us from the line (max |%.0f|)\n", name, t->n, t->age_p50_us,
	       t->age_max_us, t->err_p50_us, t->err_max_us);
}

static void text_rewind(const struct ptrstat_rewind *w)
{
	printf("rewind\n  rewindable    %lld frames, forwardable %lld\n",
	       (long long)w->rewindable, (long long)w->forwardable);
	printf("  pairs         %u: %u short returns, %u delay mismatches,"
	       " %u forward short, %u not restored\n", w->tried, w->short_ret,
	       w->delay_bad, w->fwd_short, w->fwd_bad);
	if (w->beyond_tested)
		printf("  beyond        asked %lld with rewindable %lld: got %lld (%s)%s\n",
		       (long long)w->beyond_asked, (long long)w->beyond_rewindable,
		       (long long)w->beyond_got,
		       w->beyond_got > w->beyond_rewindable ? "not clamped" : "clamped",
		       w->beyond_xrun ? ", then an xrun" : "");
}

static void text_margin(const struct ptrstat_margin *m, unsigned rate)
{
	printf("loopback (%s markers)\n  trials        ",
	       m->exact ? "exact frame-indexed" : "approximate, loudness-counted");
	for (size_t i = 0; i < m->n; i++)
		printf("%s%lld:%lld", i ? " " : "", (long long)m->trial[i].margin,
		       (long long)m->trial[i].lost);
	printf("  (margin:lost)\n");
	if (m->safe >= 0)
		printf("  safe margin   %lld frames (%.2f ms)\n", (long long)m->safe,
		       m->safe * 1e3 / rate);
	else
		printf("  safe margin   not found\n");
	printf("  lead          the card plays %lld frames ahead of its pointer\n",
	       (long long)m->prefetch);
}

static void text_stress(const struct ptrstat_stress *s)
{
	printf("stress (%.1f s)\n", s->seconds);
	printf("  operations    %llu queries, %llu rewinds, %llu forwards, %llu writes,"
	       " %llu errors\n", (unsigned long long)s->queries,
	       (unsigned long long)s->rewinds, (unsigned long long)s->forwards,
	       (unsigned long long)s->writes, (unsigned long long)s->errors);
	printf("  inconsistent  %llu total: %llu delay, %llu rewind short,"
	       " %llu forward short, %llu avail > buffer, %llu backward\n",
	       (unsigned long long)ptrstat_stress_total(s),
	       (unsigned long long)s->delay_bad, (unsigned long long)s->rewind_short,
	       (unsigned long long)s->forward_short,
	       (unsigned long long)s->avail_over, (unsigned long long)s->backward);
}

static void text_findings(const struct ptrstat_verdict *v, enum ptrstat_severity want,
			  const char *title)
{
	bool any = false;

	for (int f = 0; f < PTRSTAT_FINDINGS; f++) {
		if (!(v->findings & (1u << f)) || (ptrstat_finding_severity(f) == PTRSTAT_SEV_NOTE) != (want == PTRSTAT_SEV_NOTE))
			continue;
		printf("%s%s", any ? "; " : title, ptrstat_finding_text(f));
		any = true;
	}
	if (any)
		printf("\n");
}

static void text_verdict(const struct ptrstat_verdict *v)
{
	printf("verdict\n");
	printf("  timer scheduling: %s\n", v->timer_fit ? "FIT" : "NOT FIT");
	printf("  rewinds:          %s\n", v->rewind_fit ? "FIT" : "NOT FIT");
	text_findings(v, PTRSTAT_SEV_TIMER, "  because:         ");
	printf("  watermark %.0f ms, rewind safeguard %lld frames (%.2f ms)\n",
	       v->watermark_ms, (long long)v->safeguard_frames, v->safeguard_ms);
	text_findings(v, PTRSTAT_SEV_NOTE, "  notes:           ");
}

static void text_stream(const struct ptrprobe_result *r, const char *dev)
{
	const struct ptrstat_report *p = &r->report;

	text_setup(r, dev);
	text_granularity(p, r->hw.rate);
	text_clock(p, r->hw.rate);
	printf("timestamps\n");
	text_ts("htimestamp", &p->htstamp);
	text_ts("status", &p->status);
	if (r->rewind_done)
		text_rewind(&r->rewind);
	if (r->margin_done)
		text_margin(&r->margin, r->hw.rate);
	if (r->stress_done)
		text_stress(&r->stress);
	text_verdict(&r->verdict);
}

/* --- JSON ---------------------------------------------------------------------- */

/* A tiny pretty-printing emitter: keys in a fixed order, NaN as null. */
struct json {
	FILE *f;
	int depth;
	bool first;
};

static void j_sep(struct json *j, const char *key)
{
	fprintf(j->f, "%s\n%*s", j->first ? "" : ",", 2 * j->depth, "");
	j->first = false;
	if (key)
		fprintf(j->f, "\"%s\": ", key);
}

static void j_open(struct json *j, const char *key, char c)
{
	if (j->depth || key)
		j_sep(j, key);
	fputc(c, j->f);
	j->depth++;
	j->first = true;
}

static void j_close(struct json *j, char c)
{
	j->depth--;
	if (!j->first)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	fputc(c, j->f);
	j->first = false;
}

static void j_str(struct json *j, const char *key, const char *s)
{
	j_sep(j, key);
	if (!s) {
		fputs("null", j->f);
		return;
	}
	fputc('"', j->f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(j->f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(j->f, "\\u%04x", *s);
		else
			fputc(*s, j->f);
	}
	fputc('"', j->f);
}

static void j_num(struct json *j, const char *key, double v, int decimals)
{
	j_sep(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.*f", decimals, v);
	else
		fputs("null", j->f);
}

static void j_int(struct json *j, const char *key, long long v)
{
	j_sep(j, key);
	fprintf(j->f, "%lld", v);
}

static void j_bool(struct json *j, const char *key, int v)
{
	j_sep(j, key);
	fputs(v < 0 ? "null" : v ? "true" : "false", j->f);
}

static void j_null(struct json *j, const char *key)
{
	j_sep(j, key);
	fputs("null", j->f);
}

static void json_config(struct json *j, const struct ptrprobe_hw *h)
{
	j_open(j, "config", '{');
	j_int(j, "rate", h->rate);
	j_int(j, "channels", h->channels);
	j_str(j, "format", snd_pcm_format_name(h->format));
	j_str(j, "access", snd_pcm_access_name(h->access));
	j_int(j, "buffer_frames", h->buffer);
	j_int(j, "period_frames", h->period);
	j_num(j, "buffer_ms", h->buffer * 1e3 / h->rate, 3);
	j_num(j, "period_ms", h->period * 1e3 / h->rate, 3);
	j_close(j, '}');
	j_open(j, "hw", '{');
	j_bool(j, "batch", h->batch);
	j_bool(j, "block_transfer", h->block_transfer);
	j_bool(j, "double", h->double_buf);
	j_bool(j, "monotonic", h->monotonic);
	j_bool(j, "can_pause", h->can_pause);
	j_bool(j, "can_disable_period_wakeup", h->can_disable_period_wakeup);
	j_bool(j, "can_rewind", h->can_rewind);
	j_int(j, "fifo_size", h->fifo_size);
	j_close(j, '}');
}

static void json_granularity(struct json *j, const struct ptrstat_report *p,
			     unsigned rate)
{
	j_open(j, "granularity", '{');
	j_int(j, "frames", p->granularity);
	j_num(j, "ms", p->granularity * 1e3 / rate, 3);
	j_int(j, "quantum", p->quantum);
	j_int(j, "step_min", p->step_min);
	j_int(j, "step_p10", p->step_p10);
	j_int(j, "step_p50", p->step_p50);
	j_int(j, "step_max", p->step_max);
	j_num(j, "update_us", p->update_us, 1);
	j_open(j, "histogram", '[');
	for (size_t i = 0; i < p->hist_n; i++) {
		j_open(j, NULL, '{');
		j_int(j, "step", p->hist[i].step);
		j_int(j, "count", (long long)p->hist[i].count);
		j_close(j, '}');
	}
	j_close(j, ']');
	j_close(j, '}');
}

static void json_pointer(struct json *j, const struct ptrstat_report *p)
{
	j_open(j, "pointer", '{');
	j_int(j, "backward", (long long)p->backward);
	j_int(j, "backward_max_frames", p->backward_max);
	j_int(j, "jumps", (long long)p->jumps);
	j_int(j, "jump_max_frames", p->jump_max);
	j_int(j, "delay_jumps", (long long)p->delay_jumps);
	j_int(j, "stalls", (long long)p->stalls);
	j_num(j, "stall_max_ms", p->stall_max_ms, 3);
	j_num(j, "stall_total_ms", p->stall_total_ms, 3);
	j_num(j, "stall_threshold_ms", p->stall_threshold_ms, 3);
	j_close(j, '}');
	j_open(j, "clock", '{');
	j_int(j, "edges", (long long)p->edges);
	j_num(j, "rate_hz", p->rate_hz, 3);
	j_num(j, "drift_ppm", p->drift_ppm, 2);
	j_close(j, '}');
	j_open(j, "jitter", '{');
	j_num(j, "p50_us", p->jitter_p50_us, 1);
	j_num(j, "p99_us", p->jitter_p99_us, 1);
	j_num(j, "max_us", p->jitter_max_us, 1);
	j_num(j, "resolution_us", p->resolution_us, 1);
	j_close(j, '}');
}

static void json_delay(struct json *j, const struct ptrstat_report *p, unsigned rate)
{
	j_open(j, "delay", '{');
	j_int(j, "reads", (long long)p->delay_n);
	j_num(j, "extra_frames", p->extra_p50, 1);
	j_num(j, "extra_ms", p->extra_p50 * 1e3 / rate, 3);
	j_num(j, "extra_p1", p->extra_p1, 1);
	j_num(j, "extra_p99", p->extra_p99, 1);
	j_num(j, "extra_min", p->extra_min, 1);
	j_num(j, "extra_max", p->extra_max, 1);
	j_close(j, '}');
}

static void json_ts(struct json *j, const char *key, const struct ptrstat_ts *t)
{
	j_open(j, key, '{');
	j_int(j, "reads", (long long)t->n);
	j_num(j, "age_p50_us", t->n ? t->age_p50_us : NAN, 1);
	j_num(j, "age_max_us", t->n ? t->age_max_us : NAN, 1);
	j_num(j, "error_p50_us", t->n ? t->err_p50_us : NAN, 1);
	j_num(j, "error_max_us", t->n ? t->err_max_us : NAN, 1);
	j_close(j, '}');
}

static void json_rewind(struct json *j, const struct ptrprobe_result *r)
{
	const struct ptrstat_rewind *w = &r->rewind;

	if (!r->rewind_done) {
		j_null(j, "rewind");
		return;
	}
	j_open(j, "rewind", '{');
	j_int(j, "rewindable", w->rewindable);
	j_int(j, "forwardable", w->forwardable);
	j_int(j, "pairs", w->tried);
	j_int(j, "short_returns", w->short_ret);
	j_int(j, "delay_mismatches", w->delay_bad);
	j_int(j, "forward_short", w->fwd_short);
	j_int(j, "forward_not_restored", w->fwd_bad);
	j_open(j, "beyond", '{');
	j_bool(j, "tested", w->beyond_tested);
	j_int(j, "rewindable", w->beyond_rewindable);
	j_int(j, "asked", w->beyond_asked);
	j_int(j, "got", w->beyond_got);
	j_bool(j, "clamped", w->beyond_tested ? w->beyond_got <= w->beyond_rewindable : -1);
	j_bool(j, "xrun", w->beyond_xrun);
	j_close(j, '}');
	j_close(j, '}');
}

static void json_margin(struct json *j, const struct ptrprobe_result *r)
{
	const struct ptrstat_margin *m = &r->margin;

	if (!r->margin_done) {
		j_null(j, "loopback");
		return;
	}
	j_open(j, "loopback", '{');
	j_bool(j, "exact", m->exact);
	j_open(j, "trials", '[');
	for (size_t i = 0; i < m->n; i++) {
		j_open(j, NULL, '{');
		j_int(j, "margin", m->trial[i].margin);
		j_int(j, "lost", m->trial[i].lost);
		j_int(j, "marker", m->trial[i].marker);
		j_int(j, "elapsed", m->trial[i].elapsed);
		j_close(j, '}');
	}
	j_close(j, ']');
	if (m->safe >= 0)
		j_int(j, "safe_margin_frames", m->safe);
	else
		j_null(j, "safe_margin_frames");
	j_num(j, "safe_margin_ms", m->safe >= 0 ? m->safe * 1e3 / r->hw.rate : NAN, 3);
	j_int(j, "lead_frames", m->prefetch);
	j_close(j, '}');
}

static void json_stress(struct json *j, const struct ptrprobe_result *r)
{
	const struct ptrstat_stress *s = &r->stress;

	if (!r->stress_done) {
		j_null(j, "stress");
		return;
	}
	j_open(j, "stress", '{');
	j_num(j, "seconds", s->seconds, 3);
	j_int(j, "queries", (long long)s->queries);
	j_int(j, "rewinds", (long long)s->rewinds);
	j_int(j, "forwards", (long long)s->forwards);
	j_int(j, "writes", (long long)s->writes);
	j_int(j, "errors", (long long)s->errors);
	j_int(j, "inconsistencies", (long long)ptrstat_stress_total(s));
	j_int(j, "delay_mismatches", (long long)s->delay_bad);
	j_int(j, "rewind_short", (long long)s->rewind_short);
	j_int(j, "forward_short", (long long)s->forward_short);
	j_int(j, "avail_over_buffer", (long long)s->avail_over);
	j_int(j, "backward", (long long)s->backward);
	j_close(j, '}');
}

static void json_findings(struct json *j, const struct ptrstat_verdict *v,
			  const char *key, bool notes)
{
	j_open(j, key, '[');
	for (int f = 0; f < PTRSTAT_FINDINGS; f++) {
		if (!(v->findings & (1u << f)) ||
		    (ptrstat_finding_severity(f) == PTRSTAT_SEV_NOTE) != notes)
			continue;
		j_open(j, NULL, '{');
		j_str(j, "key", ptrstat_finding_key(f));
		j_str(j, "text", ptrstat_finding_text(f));
		j_close(j, '}');
	}
	j_close(j, ']');
}

static void json_verdict(struct json *j, const struct ptrstat_verdict *v)
{
	j_open(j, "verdict", '{');
	j_bool(j, "timer_fit", v->timer_fit);
	j_bool(j, "rewind_fit", v->rewind_fit);
	j_num(j, "watermark_ms", v->watermark_ms, 1);
	j_int(j, "safeguard_frames", v->safeguard_frames);
	j_num(j, "safeguard_ms", v->safeguard_ms, 3);
	json_findings(j, v, "reasons", false);
	json_findings(j, v, "notes", true);
	j_close(j, '}');
}

static void json_stream(struct json *j, const char *key, const struct ptrprobe_result *r)
{
	const struct ptrstat_report *p = &r->report;

	j_open(j, key, '{');
	json_config(j, &r->hw);
	j_open(j, "sampling", '{');
	j_int(j, "reads", (long long)p->samples);
	j_int(j, "dropped", (long long)r->dropped);
	j_num(j, "span_s", p->span_s, 3);
	j_num(j, "interval_us", p->interval_us, 1);
	j_int(j, "xruns", r->xruns);
	j_close(j, '}');
	json_granularity(j, p, r->hw.rate);
	json_pointer(j, p);
	json_delay(j, p, r->hw.rate);
	j_open(j, "timestamps", '{');
	json_ts(j, "htimestamp", &p->htstamp);
	json_ts(j, "status", &p->status);
	j_close(j, '}');
	json_rewind(j, r);
	json_margin(j, r);
	json_stress(j, r);
	json_verdict(j, &r->verdict);
	j_close(j, '}');
}

static void json_request(struct json *j, const struct cfg *c)
{
	j_open(j, "request", '{');
	j_num(j, "duration_s", c->duration_s, 3);
	j_int(j, "interval_us", c->interval_us);
	j_int(j, "rate", c->rate);
	j_int(j, "channels", c->channels);
	j_str(j, "format", fmt_name(c->fmt));
	j_int(j, "buffer_ms", c->buffer_ms);
	if (c->period_ms)
		j_int(j, "period_ms", c->period_ms);
	else
		j_null(j, "period_ms");
	j_num(j, "stress_s", c->stress_s, 3);
	j_close(j, '}');
}

static void json_report(const struct cfg *c, const struct outcome *o)
{
	struct json j = { stdout, 0, true };
	static const char *const keys[2] = { "playback", "capture" };

	j_open(&j, NULL, '{');
	j_str(&j, "tool", PROG);
	j_int(&j, "version", 1);
	j_str(&j, "device", c->device);
	j_str(&j, "loopback", c->loopback);
	json_request(&j, c);
	for (int d = 0; d < 2; d++) {
		if (o->done[d])
			json_stream(&j, keys[d], &o->res[d]);
		else
			j_null(&j, keys[d]);
	}
	j_close(&j, '}');
	fputc('\n', stdout);
}

/* --- main ------------------------------------------------------------------------- */

/* alsa-lib prints its own diagnostics; the tool reports each error once,
 * with the failing call and snd_strerror, so they are off unless -v. */
static void alsa_quiet(const char *file, int line, const char *function,
		       int err, const char *fmt, ...)
{
	(void)file;
	(void)line;
	(void)function;
	(void)err;
	(void)fmt;
}

static int run(const struct cfg *c, struct outcome *o)
{
	static const snd_pcm_stream_t dirs[2] = { SND_PCM_STREAM_PLAYBACK,
						   SND_PCM_STREAM_CAPTURE };
	bool want[2] = { c->playback, c->capture };
	int status = 0;

	for (int d = 0; d < 2; d++) {
		if (!want[d])
			continue;
		if (measure(c, dirs[d], &o->res[d]) == 0)
			o->done[d] = true;
		else
			status = 1;
	}
	return status;
}

int main(int argc, char **argv)
{
	struct cfg c;
	struct outcome o;
	int status = parse_args(&c, argc, argv);

	if (status >= 0)
		return status;
	if (!c.verbose)
		snd_lib_error_set_handler(alsa_quiet);
	memset(&o, 0, sizeof(o));
	status = run(&c, &o);
	if (c.json)
		json_report(&c, &o);
	else
		for (int d = 0; d < 2; d++)
			if (o.done[d])
				text_stream(&o.res[d], c.device);
	for (int d = 0; d < 2; d++)
		ptrprobe_result_free(&o.res[d]);
	snd_config_update_free_global();
	return status;
}
