/* lullclient — a test client for lulld, on liblull: plays a known signal
 * and does timed things to its stream, printing when it did them, so a test
 * can find each of them again on the simulated card's timeline.
 *
 *   lullclient [options]
 *
 * Every time it prints (--print-times) is CLOCK_MONOTONIC in ns, the clock
 * the simulated card stamps its event log with, one key=value per line on
 * standard output (line-buffered, so a client killed mid-stream has printed
 * everything up to then).
 *
 * The main thread writes the signal with blocking writes; a second thread
 * sleeps until each timed event (--pause-at...) and makes the request
 * itself, since liblull lets one thread make requests while another
 * writes. Event times count from the first write. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "client/lull.h"

enum {
	LC_MAX_EVENTS = 32,
	LC_MIN_WRITE = 1024,	/* frames per blocking write when the ring is full */
};

enum lc_signal_kind { LC_SINE, LC_PATTERN, LC_MARKER };

struct lc_signal {
	enum lc_signal_kind kind;
	double freq;		/* sine */
	uint64_t seed;		/* pattern */
	double amp;		/* sine */
	double value;		/* marker */
};

enum lc_event_kind { LC_PAUSE, LC_RESUME, LC_VOLUME, LC_STOP_WRITING };

struct lc_event {
	double at;		/* seconds after the first write */
	enum lc_event_kind kind;
	float volume;
};

struct lc_opts {
	const char *socket, *name, *dump;
	struct lull_stream_params p;
	double seconds;		/* of audio; < 0: endless */
	int only;		/* channel carrying the signal, -1: all */
	struct lc_signal sig;
	struct lc_event ev[LC_MAX_EVENTS];
	int nev;
	int print_times, drain;
	double delay_every;	/* print lull_stream_delay this often (s); 0: no */
};

struct lc {
	struct lc_opts o;
	struct lull *l;
	struct lull_stream *s;
	size_t frame_bytes;
	int64_t t_first;	/* first write; 0 until then */
	int64_t t_delay;	/* last delay printed */
	pthread_mutex_t lock;
	pthread_cond_t cond;	/* t_first set, or quit */
	int quit;
	atomic_int stop_writing;
};

static int64_t lc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void lc_print_time(const struct lc *c, const char *key, int64_t t)
{
	if (c->o.print_times)
		printf("%s=%lld\n", key, (long long)t);
}

/* --- the signal ----------------------------------------------------------------- */

/* splitmix64: a good 64-bit mix of a counter, the same on every machine. */
static uint64_t lc_mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* Pattern sample: k / 2^24 for a 24-bit k, so in [-0.5, 0.5), exact in a
 * float and in every integer format but S16; never 0 (so the card shows
 * where the stream is), never -0.0 (which a mix would turn into +0.0). */
static double lc_pattern(uint64_t seed, uint64_t frame, unsigned ch,
			 unsigned channels)
{
	int64_t k = (int64_t)(lc_mix(seed * 0x100000001b3u + frame * channels + ch) >> 40) -
		    (1 << 23);

	return (double)(k ? k : 1) / 16777216.0;
}

/* Sample of channel ch in frame `frame`; sine is that frame's sine value
 * (computed once per frame, not per channel). */
static double lc_value(const struct lc_opts *o, uint64_t frame, unsigned ch,
		       double sine)
{
	if (o->only >= 0 && (int)ch != o->only)
		return 0;
	switch (o->sig.kind) {
	case LC_PATTERN:
		return lc_pattern(o->sig.seed, frame, ch, o->p.channels);
	case LC_MARKER:
		return o->sig.value;
	case LC_SINE:
		return sine;
	}
	return 0;
}

/* The phase from the absolute frame, so it never drifts. */
static double lc_sine(const struct lc_opts *o, uint64_t frame)
{
	double cycles = o->sig.freq * (double)frame / o->p.rate;

	return o->sig.amp * sin(2 * M_PI * (cycles - floor(cycles)));
}

/* Integer full scale is 2^(bits-1), rounded and clamped. */
static int32_t lc_quantize(double v, double scale)
{
	double x = nearbyint(v * scale);

	return (int32_t)(x > scale - 1 ? scale - 1 : x < -scale ? -scale : x);
}

static void lc_store(enum lull_format f, void *buf, size_t i, double v)
{
	float x = (float)v;

	switch (f) {
	case LULL_S16:
		((int16_t *)buf)[i] = (int16_t)lc_quantize(v, 32768.0);
		break;
	case LULL_S24:
		((int32_t *)buf)[i] = lc_quantize(v, 8388608.0);
		break;
	case LULL_S32:
		((int32_t *)buf)[i] = lc_quantize(v, 2147483648.0);
		break;
	case LULL_FLOAT:
		memcpy((float *)buf + i, &x, sizeof x);
		break;
	}
}

static void lc_generate(const struct lc_opts *o, void *buf, uint64_t frame0,
			size_t n)
{
	unsigned c = o->p.channels;

	for (size_t i = 0; i < n; i++) {
		double sine = o->sig.kind == LC_SINE ? lc_sine(o, frame0 + i) : 0;

		for (unsigned ch = 0; ch < c; ch++)
			lc_store(o->p.format, buf, i * c + ch,
				 lc_value(o, frame0 + i, ch, sine));
	}
}

static size_t lc_sample_bytes(enum lull_format f)
{
	return f == LULL_S16 ? 2 : 4;
}

/* --- timed events (their own thread) ------------------------------------------------ */

/* Sleeps until t (absolute ns); returns 1 when told to quit instead. */
static int lc_sleep_until(struct lc *c, int64_t t)
{
	struct timespec ts = { t / 1000000000, t % 1000000000 };
	int quit;

	pthread_mutex_lock(&c->lock);
	while (!c->quit && pthread_cond_timedwait(&c->cond, &c->lock, &ts) != ETIMEDOUT)
		;
	quit = c->quit;
	pthread_mutex_unlock(&c->lock);
	return quit;
}

static int64_t lc_wait_first_write(struct lc *c)
{
	int64_t t;

	pthread_mutex_lock(&c->lock);
	while (!c->quit && !c->t_first)
		pthread_cond_wait(&c->cond, &c->lock);
	t = c->quit ? 0 : c->t_first;
	pthread_mutex_unlock(&c->lock);
	return t;
}

/* Makes the request; the time printed is taken just before it, so that
 * "heard within X of the request" is never flattered. */
static void lc_fire(struct lc *c, const struct lc_event *e)
{
	int64_t t = lc_now();
	int err = 0;

	switch (e->kind) {
	case LC_PAUSE:
		err = lull_stream_pause(c->s);
		lc_print_time(c, "pause_ns", t);
		break;
	case LC_RESUME:
		err = lull_stream_resume(c->s);
		lc_print_time(c, "resume_ns", t);
		break;
	case LC_VOLUME:
		err = lull_stream_set_volume(c->s, e->volume);
		lc_print_time(c, "volume_ns", t);
		break;
	case LC_STOP_WRITING:
		atomic_store(&c->stop_writing, 1);
		lc_print_time(c, "stop_writing_ns", t);
		break;
	}
	if (err)
		fprintf(stderr, "lullclient: request failed: %s\n", lull_strerror(err));
}

static void *lc_events(void *arg)
{
	struct lc *c = arg;
	int64_t t0 = lc_wait_first_write(c);

	for (int i = 0; t0 && i < c->o.nev; i++) {
		if (lc_sleep_until(c, t0 + (int64_t)(c->o.ev[i].at * 1e9)))
			break;
		lc_fire(c, &c->o.ev[i]);
	}
	return NULL;
}

static void lc_set_first_write(struct lc *c, int64_t t)
{
	pthread_mutex_lock(&c->lock);
	c->t_first = t;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void lc_quit_events(struct lc *c)
{
	pthread_mutex_lock(&c->lock);
	c->quit = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* --- writing ------------------------------------------------------------------------ */

static uint64_t lc_total_frames(const struct lc_opts *o)
{
	return o->seconds < 0 ? UINT64_MAX : (uint64_t)llround(o->seconds * o->p.rate);
}

/* Frames for the next write: all the room there is (the first write fills
 * the ring at once, so lulld mixes the stream in one go rather than once
 * per piece), at least LC_MIN_WRITE (that write then blocks for room). */
static size_t lc_next_chunk(struct lc *c, size_t cap, uint64_t left)
{
	long room = lull_stream_writable(c->s);
	size_t n = room > LC_MIN_WRITE ? (size_t)room : LC_MIN_WRITE;

	if (n > cap)
		n = cap;
	return left < n ? (size_t)left : n;
}

/* --print-delay: after a write, at most every delay_every seconds, the
 * time until a frame written now is heard, as lulld publishes it. */
static void lc_print_delay(struct lc *c)
{
	int64_t t = lc_now(), d;

	if (!c->o.delay_every || t - c->t_delay < (int64_t)(c->o.delay_every * 1e9))
		return;
	c->t_delay = t;
	if (lull_stream_delay(c->s, &d) == 0)
		printf("delay_ns=%lld t_ns=%lld\n", (long long)d, (long long)t);
}

/* Writes the signal until its end or --stop-writing-at. Returns 1 when
 * stopped, 0 at the end, or an error. */
static int lc_write_all(struct lc *c)
{
	size_t cap = (size_t)lull_stream_writable(c->s) + LC_MIN_WRITE;
	uint8_t *buf = malloc(cap * c->frame_bytes);
	uint64_t total = lc_total_frames(&c->o), done = 0;
	int err = buf ? 0 : -ENOMEM;

	while (!err && done < total && !atomic_load(&c->stop_writing)) {
		size_t n = lc_next_chunk(c, cap, total - done);
		long w;

		lc_generate(&c->o, buf, done, n);
		if (!c->t_first) {	/* only this thread sets it */
			int64_t t = lc_now();
			lc_print_time(c, "first_write_ns", t);
			lc_set_first_write(c, t);
		}
		w = lull_stream_write(c->s, buf, n);
		if (w < 0 && w != -EINTR)
			err = (int)w;
		done += w > 0 ? (uint64_t)w : 0;
		lc_print_delay(c);
	}
	free(buf);
	if (err)
		fprintf(stderr, "lullclient: write: %s\n", lull_strerror(err));
	return err ? err : atomic_load(&c->stop_writing);
}

static int lc_drain(struct lc *c)
{
	int64_t t = lc_now();
	int err;

	while ((err = lull_stream_drain(c->s)) == -EINTR)
		;
	lc_print_time(c, "drain_start_ns", t);
	lc_print_time(c, "drain_done_ns", lc_now());
	if (err)
		fprintf(stderr, "lullclient: drain: %s\n", lull_strerror(err));
	return err;
}

/* A client that stopped writing keeps its stream open until killed. */
static void lc_hold(void)
{
	for (;;)
		pause();
}

static int lc_play(struct lc *c)
{
	pthread_t th;
	int err = lull_stream_new(&c->s, c->l, &c->o.p, NULL, NULL);

	if (err) {
		fprintf(stderr, "lullclient: stream: %s\n", lull_strerror(err));
		return err;
	}
	if (c->o.print_times)
		printf("latency_us=%u\n", lull_stream_latency_us(c->s));
	if ((err = -pthread_create(&th, NULL, lc_events, c)))
		return err;
	err = lc_write_all(c);
	if (err == 1)
		lc_hold();
	if (err)
		lc_quit_events(c);
	pthread_join(th, NULL);	/* every event happens before the end */
	if (!err && c->o.drain)
		err = lc_drain(c);
	lull_stream_close(c->s);
	return err;
}

/* --dump: the signal into a raw file, to compare the card with. */
static int lc_dump(const struct lc_opts *o, size_t frame_bytes)
{
	FILE *f = fopen(o->dump, "wb");
	uint64_t total = lc_total_frames(o);
	uint8_t buf[LC_MIN_WRITE * 8 * 4];
	int err = f ? 0 : -errno;

	for (uint64_t done = 0; !err && done < total; done += LC_MIN_WRITE) {
		size_t n = total - done < LC_MIN_WRITE ? (size_t)(total - done) : LC_MIN_WRITE;
		lc_generate(o, buf, done, n);
		if (fwrite(buf, frame_bytes, n, f) != n)
			err = -EIO;
	}
	if (f && fclose(f) && !err)
		err = -errno;
	if (err)
		fprintf(stderr, "lullclient: %s: %s\n", o->dump, strerror(-err));
	return err;
}

/* --- options ------------------------------------------------------------------------ */

static void lc_usage(FILE *f)
{
	fputs("usage: lullclient [options]\n"
	      "Plays a known signal through lulld and does timed things to the stream.\n"
	      "  --socket PATH          lulld's socket (default: $LULL_SOCKET...)\n"
	      "  --name NAME            client name (default lullclient)\n"
	      "  --rate HZ              (48000)\n"
	      "  --channels N           (2)\n"
	      "  --format FMT           s16, s24, s32, float (float)\n"
	      "  --latency-ms MS        latency to ask for (default: lulld's)\n"
	      "  --seconds S            audio to play (default: endless)\n"
	      "  --signal SIG           sine:FREQ (default sine:440), pattern:SEED\n"
	      "                         (per-frame values in [-0.5, 0.5), never 0),\n"
	      "                         marker[:VALUE] (constant, default 0.25)\n"
	      "  --amp A                sine amplitude (0.5)\n"
	      "  --channel-only L|R     the signal on one channel, zeros on the others\n"
	      "  --volume V             stream volume, 0..4 (liblull takes 0 as 1)\n"
	      "  --pause-at S           pause S seconds after the first write\n"
	      "  --resume-at S          resume S seconds after the first write\n"
	      "  --volume-at S:V        set the volume to V at S (repeatable)\n"
	      "  --stop-writing-at S    stop writing at S and hold the stream open\n"
	      "                         until killed\n"
	      "  --drain                after the last frame, wait until it is heard\n"
	      "  --print-times          print CLOCK_MONOTONIC ns of what it does\n"
	      "  --print-delay S        every S seconds (after a write), print\n"
	      "                         lull_stream_delay: delay_ns=D t_ns=T\n"
	      "  --dump FILE            write the signal to FILE as raw samples\n"
	      "                         instead of playing it\n"
	      "Exit status: 0 done, 1 error, 2 bad usage.\n", f);
}

static int lc_bad(const char *opt, const char *arg)
{
	fprintf(stderr, "lullclient: bad %s: '%s'\n", opt, arg);
	return -EINVAL;
}

static int lc_double(const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || !(*out >= lo && *out <= hi) ? -EINVAL : 0;
}

static int lc_unsigned(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	double v;

	if (lc_double(s, lo, hi, &v) || v != floor(v))
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int lc_parse_format(const char *s, enum lull_format *f)
{
	static const char *const names[] = { "s16", "s24", "s32", "float" };

	for (int i = 0; i < 4; i++) {
		if (!strcasecmp(s, names[i])) {
			*f = (enum lull_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int lc_parse_signal(const char *s, struct lc_signal *sig)
{
	char *end;

	if (!strncmp(s, "sine:", 5)) {
		sig->kind = LC_SINE;
		return lc_double(s + 5, 1, 192000, &sig->freq);
	}
	if (!strncmp(s, "pattern:", 8)) {
		sig->kind = LC_PATTERN;
		errno = 0;
		sig->seed = strtoull(s + 8, &end, 0);
		return errno || end == s + 8 || *end ? -EINVAL : 0;
	}
	if (!strcmp(s, "marker")) {
		sig->kind = LC_MARKER;
		return 0;
	}
	if (!strncmp(s, "marker:", 7)) {
		sig->kind = LC_MARKER;
		return lc_double(s + 7, -1, 1, &sig->value) || sig->value == 0 ?
		       -EINVAL : 0;
	}
	return -EINVAL;
}

static int lc_add_event(struct lc_opts *o, enum lc_event_kind kind,
			const char *arg)
{
	struct lc_event *e = &o->ev[o->nev];
	char at[64];
	double v = 0;
	const char *colon = strchr(arg, ':');

	if (o->nev == LC_MAX_EVENTS)
		return -E2BIG;
	snprintf(at, sizeof at, "%.*s", colon ? (int)(colon - arg) : (int)strlen(arg), arg);
	if (lc_double(at, 0, 86400, &e->at) || (kind == LC_VOLUME) != !!colon ||
	    (colon && lc_double(colon + 1, 0, 4, &v)))
		return -EINVAL;
	e->kind = kind;
	e->volume = (float)v;
	o->nev++;
	return 0;
}

enum {
	OPT_SOCKET = 256, OPT_NAME, OPT_RATE, OPT_CHANNELS, OPT_FORMAT,
	OPT_LATENCY, OPT_SECONDS, OPT_SIGNAL, OPT_AMP, OPT_ONLY, OPT_VOLUME,
	OPT_PAUSE, OPT_RESUME, OPT_VOLUME_AT, OPT_STOP, OPT_DRAIN, OPT_TIMES,
	OPT_DUMP, OPT_HELP, OPT_DELAY,
};

static const struct option lc_longopts[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "channels", required_argument, NULL, OPT_CHANNELS },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "latency-ms", required_argument, NULL, OPT_LATENCY },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "signal", required_argument, NULL, OPT_SIGNAL },
	{ "amp", required_argument, NULL, OPT_AMP },
	{ "channel-only", required_argument, NULL, OPT_ONLY },
	{ "volume", required_argument, NULL, OPT_VOLUME },
	{ "pause-at", required_argument, NULL, OPT_PAUSE },
	{ "resume-at", required_argument, NULL, OPT_RESUME },
	{ "volume-at", required_argument, NULL, OPT_VOLUME_AT },
	{ "stop-writing-at", required_argument, NULL, OPT_STOP },
	{ "drain", no_argument, NULL, OPT_DRAIN },
	{ "print-times", no_argument, NULL, OPT_TIMES },
	{ "print-delay", required_argument, NULL, OPT_DELAY },
	{ "dump", required_argument, NULL, OPT_DUMP },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int lc_option(struct lc_opts *o, int opt, const char *arg)
{
	double d;

	switch (opt) {
	case OPT_SOCKET: o->socket = arg; return 0;
	case OPT_NAME: o->name = arg; return 0;
	case OPT_DUMP: o->dump = arg; return 0;
	case OPT_DRAIN: o->drain = 1; return 0;
	case OPT_TIMES: o->print_times = 1; return 0;
	case OPT_RATE: return lc_unsigned(arg, 1000, 384000, &o->p.rate);
	case OPT_CHANNELS: return lc_unsigned(arg, 1, 8, &o->p.channels);
	case OPT_LATENCY: return lc_unsigned(arg, 1, 60000, &o->p.latency_ms);
	case OPT_FORMAT: return lc_parse_format(arg, &o->p.format);
	case OPT_SECONDS: return lc_double(arg, 0, 86400, &o->seconds);
	case OPT_DELAY: return lc_double(arg, 0.001, 3600, &o->delay_every);
	case OPT_SIGNAL: return lc_parse_signal(arg, &o->sig);
	case OPT_AMP: return lc_double(arg, 0, 1, &o->sig.amp);
	case OPT_VOLUME:
		if (lc_double(arg, 0, 4, &d))
			return -EINVAL;
		o->p.volume = (float)d;
		return 0;
	case OPT_ONLY:
		o->only = !strcasecmp(arg, "L") ? 0 : !strcasecmp(arg, "R") ? 1 : -2;
		return o->only == -2 ? -EINVAL : 0;
	case OPT_PAUSE: return lc_add_event(o, LC_PAUSE, arg);
	case OPT_RESUME: return lc_add_event(o, LC_RESUME, arg);
	case OPT_VOLUME_AT: return lc_add_event(o, LC_VOLUME, arg);
	case OPT_STOP: return lc_add_event(o, LC_STOP_WRITING, arg);
	}
	return -EINVAL;
}

static int lc_event_cmp(const void *a, const void *b)
{
	double x = ((const struct lc_event *)a)->at, y = ((const struct lc_event *)b)->at;

	return x < y ? -1 : x > y;
}

/* 1 for --help, 0, or -EINVAL after saying what was wrong. */
static int lc_parse(struct lc_opts *o, int argc, char **argv)
{
	int opt;

	*o = (struct lc_opts){
		.name = "lullclient", .seconds = -1, .only = -1,
		.p = { .rate = 48000, .channels = 2, .format = LULL_FLOAT, .volume = 1 },
		.sig = { .kind = LC_SINE, .freq = 440, .amp = 0.5, .value = 0.25 },
	};
	while ((opt = getopt_long(argc, argv, "", lc_longopts, NULL)) != -1) {
		if (opt == OPT_HELP)
			return 1;
		if (opt == '?' || lc_option(o, opt, optarg))
			return opt == '?' ? -EINVAL : lc_bad(argv[optind - 1], optarg);
	}
	if (optind != argc || (o->only >= (int)o->p.channels))
		return lc_bad("arguments", optind != argc ? argv[optind] : "--channel-only");
	qsort(o->ev, (size_t)o->nev, sizeof o->ev[0], lc_event_cmp);
	return 0;
}

/* The event thread's deadlines are CLOCK_MONOTONIC, like every time here. */
static void lc_init_cond(struct lc *c)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
}

int main(int argc, char **argv)
{
	static struct lc c = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
	};
	int64_t t_start = lc_now();
	int err = lc_parse(&c.o, argc, argv);

	if (err) {
		lc_usage(err > 0 ? stdout : stderr);
		return err > 0 ? 0 : 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	c.frame_bytes = lc_sample_bytes(c.o.p.format) * c.o.p.channels;
	if (c.o.dump)
		return lc_dump(&c.o, c.frame_bytes) ? 1 : 0;
	lc_print_time(&c, "start_ns", t_start);
	lc_init_cond(&c);
	err = lull_connect(&c.l, c.o.socket, c.o.name);
	if (err) {
		fprintf(stderr, "lullclient: connect: %s\n", lull_strerror(err));
		return 1;
	}
	lc_print_time(&c, "connected_ns", lc_now());
	err = lc_play(&c);
	lull_disconnect(c.l);
	return err ? 1 : 0;
}
