/* lull-rec — records from lulld into a WAV or FLAC file (through
 * libsndfile) or raw samples on standard output.
 *
 *   lull-rec [options] FILE|-
 *
 * It records for --duration seconds, or until SIGINT or SIGTERM; either
 * way it closes the file properly and exits 0. A WAV file is valid at
 * every moment of the recording, not only at the end: libsndfile rewrites
 * its header after every write (SFC_SET_UPDATE_HEADER_AUTO), so even a
 * lull-rec killed outright leaves a file that plays, holding all but the
 * last chunk it had in hand. (A FLAC file is complete once closed: the
 * encoder's last block and the total length come at the end.) A WAV
 * cannot hold more than 4 GiB of audio: 6 hours of 48 kHz stereo s16.
 *
 * Signals: SIGINT and SIGTERM have a handler that only raises a stop flag
 * (without SA_RESTART). liblull's blocking read returns at once when a
 * handler runs while it waits; a signal that lands just before the read
 * starts waiting is seen after the next delivery from lulld, a few tens
 * of milliseconds later. A second signal exits at once: the file is still
 * valid, as above.
 *
 * The stream is made paused and started only once the file exists, so
 * that nothing is lost to creating the file, and no file is left behind
 * when lulld cannot be reached. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "client/lull.h"
#include "tools/cli.h"

enum {
	REC_OK = 0,
	REC_ERROR = 1,
	REC_USAGE = 2,
	REC_KILLED = 130,	/* a second signal: as a shell reports SIGINT */
	REC_CHUNK_DIV = 20,	/* frames per read: rate / 20, i.e. 50 ms */
};

enum rec_type { REC_NONE, REC_WAV, REC_FLAC, REC_RAW };

struct rec_opts {
	const char *path;
	const char *socket;
	const char *name;
	enum rec_type type;
	double seconds;		/* 0: until stopped */
	struct lull_stream_params p;
	int quiet;
};

/* --- signals ------------------------------------------------------------------ */

/* The handler's only state: a process has one set of signal handlers. */
static volatile sig_atomic_t rec_stop;

static void rec_on_signal(int sig)
{
	if (rec_stop)
		_exit(REC_KILLED);
	rec_stop = sig;
}

static int rec_sig_setup(void)
{
	struct sigaction sa = { .sa_handler = rec_on_signal };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	/* A closed pipe on standard output is an error we report. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* --- sinks ---------------------------------------------------------------------- */

/* Where the audio goes: write() takes whole frames in the stream's format,
 * returns 0 or -errno. */
struct rec_sink_ops {
	int (*write)(void *arg, void *buf, size_t frames);
	void (*close)(void *arg);
};

struct rec_sink {
	const struct rec_sink_ops *ops;
	void *arg;
};

struct rec_sndfile {
	SNDFILE *sf;
	enum lull_format format;
	unsigned channels;
};

/* lull's S24 is low-aligned in 32 bits; libsndfile's ints are full scale. */
static void rec_s24_to_s32(int32_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s[i] = (int32_t)((uint32_t)s[i] << 8);
}

static int rec_sndfile_write(void *arg, void *buf, size_t frames)
{
	struct rec_sndfile *f = arg;
	sf_count_t n;

	if (f->format == LULL_S16)
		n = sf_writef_short(f->sf, buf, (sf_count_t)frames);
	else if (f->format == LULL_FLOAT)
		n = sf_writef_float(f->sf, buf, (sf_count_t)frames);
	else {
		if (f->format == LULL_S24)
			rec_s24_to_s32(buf, frames * f->channels);
		n = sf_writef_int(f->sf, buf, (sf_count_t)frames);
	}
	return n == (sf_count_t)frames ? 0 : -EIO;
}

static void rec_sndfile_close(void *arg)
{
	struct rec_sndfile *f = arg;

	sf_close(f->sf);
	free(f);
}

static const struct rec_sink_ops rec_sndfile_ops = {
	.write = rec_sndfile_write,
	.close = rec_sndfile_close,
};

/* FLAC holds at most 24 bits; WAV takes every format as it is. */
static int rec_sndfile_format(enum rec_type type, enum lull_format f)
{
	if (type == REC_FLAC)
		return SF_FORMAT_FLAC | (f == LULL_S16 ? SF_FORMAT_PCM_16 :
					 SF_FORMAT_PCM_24);
	switch (f) {
	case LULL_S16:
		return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	case LULL_S24:
		return SF_FORMAT_WAV | SF_FORMAT_PCM_24;
	case LULL_S32:
		return SF_FORMAT_WAV | SF_FORMAT_PCM_32;
	default:
		return SF_FORMAT_WAV | SF_FORMAT_FLOAT;
	}
}

static int rec_sndfile_open(struct rec_sink *sink, const struct rec_opts *o)
{
	struct rec_sndfile *f = calloc(1, sizeof *f);
	SF_INFO info = {
		.samplerate = (int)o->p.rate, .channels = (int)o->p.channels,
		.format = rec_sndfile_format(o->type, o->p.format),
	};

	if (!f)
		return -ENOMEM;
	f->format = o->p.format;
	f->channels = o->p.channels;
	f->sf = sf_open(o->path, SFM_WRITE, &info);
	if (!f->sf) {
		fprintf(stderr, "lull-rec: cannot create %s: %s\n", o->path,
			sf_strerror(NULL));
		free(f);
		return -EIO;
	}
	/* A valid header after every write: a killed lull-rec leaves a file
	 * that plays. Float WAVs are not rescaled. */
	sf_command(f->sf, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
	sf_command(f->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
	*sink = (struct rec_sink){ .ops = &rec_sndfile_ops, .arg = f };
	return 0;
}

struct rec_raw {
	int fd;
	size_t frame_bytes;
};

static int rec_raw_write(void *arg, void *buf, size_t frames)
{
	struct rec_raw *r = arg;
	const uint8_t *p = buf;
	size_t left = frames * r->frame_bytes;

	while (left) {
		ssize_t n = write(r->fd, p, left);

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0) {
			p += n;
			left -= (size_t)n;
		}
	}
	return 0;
}

static void rec_raw_close(void *arg)
{
	struct rec_raw *r = arg;

	if (r->fd != STDOUT_FILENO)
		close(r->fd);
	free(r);
}

static const struct rec_sink_ops rec_raw_ops = {
	.write = rec_raw_write,
	.close = rec_raw_close,
};

static int rec_raw_open(struct rec_sink *sink, const struct rec_opts *o)
{
	struct rec_raw *r = calloc(1, sizeof *r);

	if (!r)
		return -ENOMEM;
	r->frame_bytes = cli_sample_bytes(o->p.format) * o->p.channels;
	r->fd = strcmp(o->path, "-") ?
		open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666) :
		STDOUT_FILENO;
	if (r->fd < 0) {
		int err = -errno;

		fprintf(stderr, "lull-rec: cannot create %s: %s\n", o->path,
			strerror(-err));
		free(r);
		return err;
	}
	*sink = (struct rec_sink){ .ops = &rec_raw_ops, .arg = r };
	return 0;
}

/* --- options ---------------------------------------------------------------------- */

static void rec_usage(FILE *f)
{
	fputs("usage: lull-rec [options] FILE|-\n"
	      "Records from lulld into FILE (WAV or FLAC), or as raw samples to\n"
	      "standard output (-), until Ctrl-C or for --duration seconds.\n"
	      "\n"
	      "  -r, --rate HZ       sample rate, 1000..384000 (default 48000)\n"
	      "  -c, --channels N    channels, 1..8 (default 2)\n"
	      "  -f, --format FMT    s16, s24, s32, float (default s16); raw output\n"
	      "                      is little-endian, interleaved, s24 in 4 bytes\n"
	      "                      low-aligned; FLAC keeps at most 24 bits\n"
	      "  -t, --type TYPE     wav, flac or raw (default: from FILE's\n"
	      "                      extension; raw for -)\n"
	      "  -d, --duration S    seconds to record (default: until stopped)\n"
	      "  -l, --latency-ms MS latency to ask lulld for (default: lulld's)\n"
	      "  -s, --socket PATH   lulld's socket (default $LULL_SOCKET, else\n"
	      "                      $XDG_RUNTIME_DIR/lull/socket)\n"
	      "  -n, --name NAME     client name lulld shows (default lull-rec)\n"
	      "  -q, --quiet         print errors only\n"
	      "  -h, --help          this text\n"
	      "\n"
	      "Ctrl-C or SIGTERM ends the recording and closes the file (exit 0);\n"
	      "a WAV file is kept valid while recording, so even a killed lull-rec\n"
	      "leaves one that plays. At the end lull-rec prints the frames\n"
	      "recorded and the frames lost because it did not read in time.\n"
	      "Exit status: 0 recorded, 1 error, 2 bad usage.\n", f);
}

static int rec_bad(const char *what, const char *value)
{
	fprintf(stderr, "lull-rec: bad %s: '%s' (see lull-rec --help)\n", what,
		value);
	return -EINVAL;
}

/* At most a day: a duration in frames must fit easily. */
static int rec_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0 && v <= 86400))
		return -EINVAL;
	*out = v;
	return 0;
}

static enum rec_type rec_type_named(const char *s)
{
	if (!strcasecmp(s, "wav"))
		return REC_WAV;
	if (!strcasecmp(s, "flac"))
		return REC_FLAC;
	if (!strcasecmp(s, "raw"))
		return REC_RAW;
	return REC_NONE;
}

static const struct option rec_longopts[] = {
	{ "rate", required_argument, NULL, 'r' },
	{ "channels", required_argument, NULL, 'c' },
	{ "format", required_argument, NULL, 'f' },
	{ "type", required_argument, NULL, 't' },
	{ "duration", required_argument, NULL, 'd' },
	{ "latency-ms", required_argument, NULL, 'l' },
	{ "socket", required_argument, NULL, 's' },
	{ "name", required_argument, NULL, 'n' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One option; 1 for --help, 0, or -EINVAL after saying what was wrong. */
static int rec_option(struct rec_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'q': o->quiet = 1; return 0;
	case 'h': return 1;
	case 's': o->socket = arg; return 0;
	case 'n': o->name = arg; return 0;
	case 'r':
		return cli_uint(arg, 1000, 384000, &o->p.rate) ?
		       rec_bad("rate (1000..384000 Hz)", arg) : 0;
	case 'c':
		return cli_uint(arg, 1, 8, &o->p.channels) ?
		       rec_bad("channel count (1..8)", arg) : 0;
	case 'f':
		return cli_format(arg, &o->p.format) ?
		       rec_bad("format (s16, s24, s32, float)", arg) : 0;
	case 't':
		o->type = rec_type_named(arg);
		return o->type == REC_NONE ? rec_bad("type (wav, flac, raw)", arg) : 0;
	case 'd':
		return rec_parse_seconds(arg, &o->seconds) ?
		       rec_bad("duration (seconds, more than 0, up to 86400)", arg) : 0;
	case 'l':
		return cli_uint(arg, 1, 10000, &o->p.latency_ms) ?
		       rec_bad("latency (1..10000 ms)", arg) : 0;
	default:
		/* getopt has said what. */
		fputs("lull-rec: see lull-rec --help\n", stderr);
		return -EINVAL;
	}
}

/* The type from the name: standard output is raw; a file by extension. */
static int rec_guess_type(struct rec_opts *o)
{
	const char *dot = strrchr(o->path, '.');

	if (!strcmp(o->path, "-")) {
		if (o->type != REC_NONE && o->type != REC_RAW) {
			fputs("lull-rec: standard output takes raw samples only "
			      "(-t raw)\n", stderr);
			return -EINVAL;
		}
		o->type = REC_RAW;
		return 0;
	}
	if (o->type != REC_NONE)
		return 0;
	if (dot && strchr(dot, '/') == NULL) {
		o->type = rec_type_named(dot + 1);
		if (o->type == REC_NONE && (!strcasecmp(dot + 1, "pcm")))
			o->type = REC_RAW;
	}
	if (o->type == REC_NONE) {
		fprintf(stderr, "lull-rec: %s: cannot tell the file type from its "
			"name; use -t wav, flac or raw\n", o->path);
		return -EINVAL;
	}
	return 0;
}

static int rec_parse(struct rec_opts *o, int argc, char **argv)
{
	int c, err;

	*o = (struct rec_opts){
		.name = "lull-rec",
		.p = { .rate = 48000, .channels = 2, .format = LULL_S16,
		       .volume = 1.0f, .direction = LULL_CAPTURE,
		       .start_paused = 1 },
	};
	while ((c = getopt_long(argc, argv, "r:c:f:t:d:l:s:n:qh", rec_longopts,
				NULL)) != -1) {
		err = rec_option(o, c, optarg);
		if (err)
			return err;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "lull-rec: %s (see lull-rec --help)\n",
			optind == argc ? "no file given" : "one file only");
		return -EINVAL;
	}
	o->path = argv[optind];
	return rec_guess_type(o);
}

/* --- recording ------------------------------------------------------------------------ */

struct rec {
	struct rec_opts o;
	struct rec_sink sink;
	int have_sink;
	struct lull *l;
	struct lull_stream *s;
	size_t frame_bytes;
	uint64_t frames;	/* recorded */
};

static int rec_open_stream(struct rec *r)
{
	int err = lull_stream_new(&r->s, r->l, &r->o.p, NULL, NULL);

	if (err == -ENODEV)
		fprintf(stderr, "lull-rec: lulld has no capture device\n");
	else if (err)
		fprintf(stderr, "lull-rec: cannot open a capture stream: %s\n",
			lull_strerror(err));
	return err;
}

static int rec_open_sink(struct rec *r)
{
	int err = r->o.type == REC_RAW ? rec_raw_open(&r->sink, &r->o) :
					 rec_sndfile_open(&r->sink, &r->o);

	r->have_sink = !err;
	return err;
}

static int rec_start(struct rec *r)
{
	int err = lull_stream_start(r->s);

	if (err)
		fprintf(stderr, "lull-rec: cannot start recording: %s\n",
			lull_strerror(err));
	else if (!r->o.quiet)
		fprintf(stderr, "lull-rec: %s: %u Hz, %u channel%s, latency %.1f ms\n",
			strcmp(r->o.path, "-") ? r->o.path : "standard output",
			r->o.p.rate, r->o.p.channels,
			r->o.p.channels == 1 ? "" : "s",
			lull_stream_latency_us(r->s) / 1000.0);
	return err;
}

/* Frames still to record: the rest of the duration, or without one, as
 * many as anyone wants. */
static uint64_t rec_left(const struct rec *r, uint64_t total)
{
	return total ? total - r->frames : UINT64_MAX;
}

/* Reads one chunk (or fewer frames when stopped) and stores them. */
static int rec_chunk(struct rec *r, uint8_t *buf, size_t frames)
{
	long n = lull_stream_read(r->s, buf, frames);
	int err;

	if (n == -EINTR)
		return 0;
	if (n < 0) {
		fprintf(stderr, "lull-rec: cannot record: %s\n",
			lull_strerror((int)n));
		return (int)n;
	}
	err = n ? r->sink.ops->write(r->sink.arg, buf, (size_t)n) : 0;
	if (err) {
		fprintf(stderr, "lull-rec: %s: write error: %s\n", r->o.path,
			strerror(-err));
		return err;
	}
	r->frames += (uint64_t)n;
	return 0;
}

static int rec_loop(struct rec *r)
{
	size_t chunk = r->o.p.rate / REC_CHUNK_DIV;
	/* At least one frame: 0 would mean "until stopped". */
	uint64_t total = r->o.seconds > 0 ?
			 (uint64_t)fmax(1, llround(r->o.seconds * r->o.p.rate)) : 0;
	uint8_t *buf = malloc(chunk * r->frame_bytes);
	int err = buf ? 0 : -ENOMEM;

	while (!err && !rec_stop && rec_left(r, total)) {
		uint64_t left = rec_left(r, total);

		err = rec_chunk(r, buf, left < chunk ? (size_t)left : chunk);
	}
	free(buf);
	return err;
}

static void rec_report(const struct rec *r)
{
	uint64_t lost = r->s ? lull_stream_overruns(r->s) : 0;

	if (r->o.quiet)
		return;
	fprintf(stderr, "lull-rec: recorded %llu frames (%.3f s), lost %llu "
		"frames to overruns\n", (unsigned long long)r->frames,
		(double)r->frames / r->o.p.rate, (unsigned long long)lost);
}

static int rec_run(struct rec *r)
{
	int err = cli_connect(&r->l, "lull-rec", r->o.socket, r->o.name);

	if (!err)
		err = rec_open_stream(r);
	if (!err)
		err = rec_open_sink(r);
	if (!err)
		err = rec_start(r);
	if (!err)
		err = rec_loop(r);
	if (r->have_sink) {
		r->sink.ops->close(r->sink.arg);
		rec_report(r);
	}
	lull_stream_close(r->s);
	lull_disconnect(r->l);
	return err ? REC_ERROR : REC_OK;
}

int main(int argc, char **argv)
{
	struct rec r = { .s = NULL };
	int err;

	err = rec_parse(&r.o, argc, argv);
	if (err) {
		if (err < 0)
			return REC_USAGE;
		rec_usage(stdout);
		return REC_OK;
	}
	r.frame_bytes = cli_sample_bytes(r.o.p.format) * r.o.p.channels;
	err = rec_sig_setup();
	if (err) {
		fprintf(stderr, "lull-rec: cannot set up signals: %s\n",
			strerror(-err));
		return REC_ERROR;
	}
	return rec_run(&r);
}
