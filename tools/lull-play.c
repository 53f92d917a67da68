/* lull-play — plays a sound file (WAV, FLAC, Ogg... through libsndfile) or
 * raw audio through lulld, and exits once it has been heard.
 *
 *   lull-play [options] FILE|-
 *
 * Ctrl-C (SIGINT or SIGTERM) stops at once: the stream is closed, which
 * drops whatever has not been heard yet, and lull-play exits 130. A second
 * signal while closing exits immediately; lulld then drops the stream on
 * seeing the connection hang up.
 *
 * Signals: SIGINT and SIGTERM are blocked in every thread and taken by a
 * watcher thread with sigwait(). The watcher silences the stream at once
 * itself (lull_stream_pause: liblull lets any thread make a request while
 * another writes or drains, and this spares the wait for a second thread
 * to be scheduled), raises a stop flag, and then nudges the main thread
 * with SIGUSR1 (a no-op handler, so the library's blocking write or drain
 * returns -EINTR) every couple of milliseconds until the main thread
 * acknowledges the flag and closes the stream. Repeating the nudge closes
 * the race where the signal lands just before the main thread enters a
 * blocking wait, which a single flag-setting handler would leave open. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "client/lull.h"
#include "tools/cli.h"

enum {
	PLAY_OK = 0,
	PLAY_ERROR = 1,
	PLAY_USAGE = 2,
	PLAY_STOPPED = 130,	/* as a shell reports death by SIGINT */
	PLAY_CHUNK_MIN = 2048,	/* frames per write, at least */
	PLAY_CHUNK_MAX = 8 << 20,	/* bytes per write, at most */
	PLAY_MAX_FRAME = 8 * 4,	/* bytes: 8 channels of 32-bit samples */
	PLAY_NUDGE_NS = 2000000,	/* SIGUSR1 repeat until acknowledged */
};

struct play_opts {
	const char *path;
	const char *socket;
	const char *name;
	int raw;
	struct lull_stream_params p;
	int muted;		/* --volume 0: plays silence */
	int quiet;
};

/* --- signals ------------------------------------------------------------------ */

struct play_sig {
	pthread_t main, thread;
	sigset_t set;		/* SIGINT, SIGTERM */
	_Atomic int stop;	/* the signal that asked us to stop, or 0 */
	_Atomic int acked;	/* the main thread has seen it */
	/* The stream the watcher silences; the main thread takes it back
	 * under the lock before closing it. */
	pthread_mutex_t lock;
	struct lull_stream *stream;
};

static void play_nudged(int sig)
{
	(void)sig;	/* only here to make blocking calls return EINTR */
}

/* Nudges the main thread until it has seen the stop; a signal that comes
 * on top ends the process at once. */
static void *play_sig_thread(void *arg)
{
	struct play_sig *ps = arg;
	struct timespec nudge = { 0, PLAY_NUDGE_NS };
	int sig;

	if (sigwait(&ps->set, &sig))
		return NULL;
	pthread_mutex_lock(&ps->lock);
	if (ps->stream)
		lull_stream_pause(ps->stream);
	pthread_mutex_unlock(&ps->lock);
	atomic_store(&ps->stop, sig);
	while (!atomic_load(&ps->acked)) {
		pthread_kill(ps->main, SIGUSR1);
		if (sigtimedwait(&ps->set, NULL, &nudge) > 0)
			_exit(PLAY_STOPPED);
	}
	if (!sigwait(&ps->set, &sig))
		_exit(PLAY_STOPPED);
	return NULL;
}

/* Called before any other thread exists, so that all inherit the mask. */
static int play_sig_start(struct play_sig *ps)
{
	struct sigaction sa = { .sa_handler = play_nudged };
	int err;

	sigemptyset(&ps->set);
	sigaddset(&ps->set, SIGINT);
	sigaddset(&ps->set, SIGTERM);
	atomic_init(&ps->stop, 0);
	atomic_init(&ps->acked, 0);
	pthread_mutex_init(&ps->lock, NULL);
	ps->stream = NULL;
	ps->main = pthread_self();
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -errno;
	err = pthread_sigmask(SIG_BLOCK, &ps->set, NULL);
	if (!err)
		err = pthread_create(&ps->thread, NULL, play_sig_thread, ps);
	return -err;
}

/* Nonzero once a stop was asked for; the watcher may then stop nudging. */
static int play_stopping(struct play_sig *ps)
{
	if (!atomic_load(&ps->stop))
		return 0;
	atomic_store(&ps->acked, 1);
	return 1;
}

/* Gives the watcher the stream to silence, or (NULL) takes it back. */
static void play_sig_stream(struct play_sig *ps, struct lull_stream *s)
{
	pthread_mutex_lock(&ps->lock);
	ps->stream = s;
	pthread_mutex_unlock(&ps->lock);
}

static void play_sig_stop(struct play_sig *ps)
{
	pthread_cancel(ps->thread);
	pthread_join(ps->thread, NULL);
	pthread_mutex_destroy(&ps->lock);
}

/* --- sources --------------------------------------------------------------------- */

/* Where the audio comes from: read() gives whole frames in the format of
 * src->p, 0 at the end, or -errno (-EINTR: a signal, try again). */
struct play_src_ops {
	long (*read)(void *arg, void *buf, size_t frames);
	void (*close)(void *arg);
};

struct play_src {
	const struct play_src_ops *ops;
	void *arg;
};

struct play_sndfile {
	SNDFILE *sf;
	enum lull_format format;
};

static long play_sndfile_read(void *arg, void *buf, size_t frames)
{
	struct play_sndfile *f = arg;
	sf_count_t n;

	if (f->format == LULL_S16)
		n = sf_readf_short(f->sf, buf, (sf_count_t)frames);
	else if (f->format == LULL_S32)
		n = sf_readf_int(f->sf, buf, (sf_count_t)frames);
	else
		n = sf_readf_float(f->sf, buf, (sf_count_t)frames);
	if (n <= 0 && sf_error(f->sf))
		return errno == EINTR ? -EINTR : -EIO;
	return (long)n;
}

static void play_sndfile_close(void *arg)
{
	struct play_sndfile *f = arg;

	sf_close(f->sf);
	free(f);
}

static const struct play_src_ops play_sndfile_ops = {
	.read = play_sndfile_read,
	.close = play_sndfile_close,
};

/* Integer files are read as 16 or 32-bit integers (24-bit ones as 32,
 * which libsndfile left-aligns), anything else as float. */
static enum lull_format play_sndfile_format(int format)
{
	switch (format & SF_FORMAT_SUBMASK) {
	case SF_FORMAT_PCM_S8:
	case SF_FORMAT_PCM_U8:
	case SF_FORMAT_PCM_16:
	case SF_FORMAT_ULAW:
	case SF_FORMAT_ALAW:
		return LULL_S16;
	case SF_FORMAT_PCM_24:
	case SF_FORMAT_PCM_32:
		return LULL_S32;
	default:
		return LULL_FLOAT;
	}
}

static int play_sndfile_check(const SF_INFO *info, const char *path)
{
	if (info->channels < 1 || info->channels > 8) {
		fprintf(stderr, "lull-play: %s: %d channels; lull plays 1 to 8\n",
			path, info->channels);
		return -EINVAL;
	}
	if (info->samplerate < 1000 || info->samplerate > 384000) {
		fprintf(stderr, "lull-play: %s: %d Hz; lull plays 1000 to 384000 Hz\n",
			path, info->samplerate);
		return -EINVAL;
	}
	return 0;
}

static int play_sndfile_open(struct play_src *src, struct play_opts *o)
{
	struct play_sndfile *f = calloc(1, sizeof *f);
	SF_INFO info = { .format = 0 };
	int std = !strcmp(o->path, "-");

	if (!f)
		return -ENOMEM;
	/* libsndfile's own words for a missing file are murky. */
	if (!std && access(o->path, R_OK) < 0) {
		fprintf(stderr, "lull-play: %s: %s\n", o->path, strerror(errno));
		free(f);
		return -errno;
	}
	f->sf = std ? sf_open_fd(STDIN_FILENO, SFM_READ, &info, 0) :
		      sf_open(o->path, SFM_READ, &info);
	if (!f->sf) {
		fprintf(stderr, "lull-play: %s: %s\n", std ? "standard input" :
			o->path, sf_strerror(NULL));
		free(f);
		return -EINVAL;
	}
	if (play_sndfile_check(&info, o->path)) {
		play_sndfile_close(f);
		return -EINVAL;
	}
	f->format = play_sndfile_format(info.format);
	o->p.rate = (unsigned)info.samplerate;
	o->p.channels = (unsigned)info.channels;
	o->p.format = f->format;
	*src = (struct play_src){ .ops = &play_sndfile_ops, .arg = f };
	return 0;
}

/* Raw audio: whole frames out of a byte stream, keeping a split frame's
 * first bytes for the next read. */
struct play_raw {
	int fd;
	size_t frame_bytes;
	uint8_t part[PLAY_MAX_FRAME];
	size_t npart;
};

static long play_raw_read(void *arg, void *buf, size_t frames)
{
	struct play_raw *r = arg;
	uint8_t *b = buf;
	size_t have = r->npart, want = frames * r->frame_bytes;

	memcpy(b, r->part, r->npart);
	while (have < r->frame_bytes) {
		ssize_t n = read(r->fd, b + have, want - have);

		if (n < 0) {
			r->npart = have;
			memcpy(r->part, b, have);
			return -errno;
		}
		if (!n)
			break;
		have += (size_t)n;
	}
	r->npart = have % r->frame_bytes;
	memcpy(r->part, b + have - r->npart, r->npart);
	return (long)(have / r->frame_bytes);
}

static void play_raw_close(void *arg)
{
	struct play_raw *r = arg;

	if (r->npart)
		fprintf(stderr, "lull-play: ignoring %zu bytes at the end: "
			"not a whole frame\n", r->npart);
	if (r->fd != STDIN_FILENO)
		close(r->fd);
	free(r);
}

static const struct play_src_ops play_raw_ops = {
	.read = play_raw_read,
	.close = play_raw_close,
};

static int play_raw_open(struct play_src *src, struct play_opts *o)
{
	struct play_raw *r = calloc(1, sizeof *r);

	if (!r)
		return -ENOMEM;
	r->frame_bytes = cli_sample_bytes(o->p.format) * o->p.channels;
	r->fd = strcmp(o->path, "-") ? open(o->path, O_RDONLY | O_CLOEXEC) :
		STDIN_FILENO;
	if (r->fd < 0) {
		int err = -errno;

		fprintf(stderr, "lull-play: %s: %s\n", o->path, strerror(-err));
		free(r);
		return err;
	}
	*src = (struct play_src){ .ops = &play_raw_ops, .arg = r };
	return 0;
}

/* --- options ---------------------------------------------------------------------- */

static void play_usage(FILE *f)
{
	fputs("usage: lull-play [options] FILE|-\n"
	      "Plays FILE (WAV, FLAC, Ogg... anything libsndfile reads) or standard\n"
	      "input (-) through lulld, and exits once the sound has been heard.\n"
	      "\n"
	      "  --raw               the input is raw samples, no header\n"
	      "  -r, --rate HZ       raw sample rate (default 48000)\n"
	      "  -c, --channels N    raw channels, 1..8 (default 2)\n"
	      "  -f, --format FMT    raw sample format: s16, s24 (24 bits in 4 bytes,\n"
	      "                      low-aligned), s32, float (default s16);\n"
	      "                      little-endian, channels interleaved\n"
	      "  -l, --latency-ms MS latency to ask lulld for (default: lulld's)\n"
	      "  -v, --volume V      linear 0..4, or in decibels with a dB suffix\n"
	      "                      (-6dB, +3dB; at most +12dB)\n"
	      "  -s, --socket PATH   lulld's socket (default $LULL_SOCKET, else\n"
	      "                      $XDG_RUNTIME_DIR/lull/socket)\n"
	      "  -n, --name NAME     client name lulld shows (default lull-play)\n"
	      "  -q, --quiet         print errors only\n"
	      "  -h, --help          this text\n"
	      "\n"
	      "Ctrl-C stops at once, dropping what has not been heard (exit 130).\n"
	      "Exit status: 0 played, 1 error, 2 bad usage, 130 interrupted.\n", f);
}

static int play_bad(const char *what, const char *value)
{
	fprintf(stderr, "lull-play: bad %s: '%s' (see lull-play --help)\n", what,
		value);
	return -EINVAL;
}

/* "0.5" is linear; "-6dB" (any case) is 10^(-6/20). */
static int play_parse_volume(const char *s, float *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	if (!strcasecmp(end, "db"))
		v = pow(10.0, v / 20.0);
	else if (*end)
		return -EINVAL;
	if (!(v >= 0.0 && v <= 4.0))
		return -EINVAL;
	*out = (float)v;
	return 0;
}

static const struct option play_longopts[] = {
	{ "raw", no_argument, NULL, 'R' },
	{ "rate", required_argument, NULL, 'r' },
	{ "channels", required_argument, NULL, 'c' },
	{ "format", required_argument, NULL, 'f' },
	{ "latency-ms", required_argument, NULL, 'l' },
	{ "volume", required_argument, NULL, 'v' },
	{ "socket", required_argument, NULL, 's' },
	{ "name", required_argument, NULL, 'n' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One option; 1 for --help, 0, or -EINVAL after saying what was wrong. */
static int play_option(struct play_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'R': o->raw = 1; return 0;
	case 'q': o->quiet = 1; return 0;
	case 'h': return 1;
	case 's': o->socket = arg; return 0;
	case 'n': o->name = arg; return 0;
	case 'r':
		return cli_uint(arg, 1000, 384000, &o->p.rate) ?
		       play_bad("rate (1000..384000 Hz)", arg) : 0;
	case 'c':
		return cli_uint(arg, 1, 8, &o->p.channels) ?
		       play_bad("channel count (1..8)", arg) : 0;
	case 'f':
		return cli_format(arg, &o->p.format) ?
		       play_bad("format (s16, s24, s32, float)", arg) : 0;
	case 'l':
		return cli_uint(arg, 1, 10000, &o->p.latency_ms) ?
		       play_bad("latency (1..10000 ms)", arg) : 0;
	case 'v':
		if (play_parse_volume(arg, &o->p.volume))
			return play_bad("volume (0..4, or -inf..+12dB)", arg);
		o->muted = o->p.volume == 0.0f;
		return 0;
	default:
		/* getopt has said what. */
		fputs("lull-play: see lull-play --help\n", stderr);
		return -EINVAL;
	}
}

static int play_parse(struct play_opts *o, int argc, char **argv)
{
	int c, err;

	*o = (struct play_opts){
		.name = "lull-play",
		.p = { .rate = 48000, .channels = 2, .format = LULL_S16,
		       .volume = 1.0f },
	};
	while ((c = getopt_long(argc, argv, "r:c:f:l:v:s:n:qh", play_longopts,
				NULL)) != -1) {
		err = play_option(o, c, optarg);
		if (err)
			return err;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "lull-play: %s (see lull-play --help)\n",
			optind == argc ? "no file given" : "one file only");
		return -EINVAL;
	}
	o->path = argv[optind];
	return 0;
}

/* --- playing ------------------------------------------------------------------------ */

struct play {
	struct play_opts o;
	struct play_sig sig;
	struct play_src src;
	struct lull *l;
	struct lull_stream *s;
	size_t frame_bytes;
};

static int play_open_stream(struct play *pl)
{
	int err = lull_stream_new(&pl->s, pl->l, &pl->o.p, NULL, NULL);

	if (err) {
		fprintf(stderr, "lull-play: cannot open a stream: %s\n",
			lull_strerror(err));
		return err;
	}
	if (!pl->o.quiet)
		fprintf(stderr, "lull-play: %s: %u Hz, %u channel%s, latency %.1f ms\n",
			strcmp(pl->o.path, "-") ? pl->o.path : "standard input",
			pl->o.p.rate, pl->o.p.channels,
			pl->o.p.channels == 1 ? "" : "s",
			lull_stream_latency_us(pl->s) / 1000.0);
	return 0;
}

/* Writes all of buf, or stops early (1) when asked to. */
static int play_write(struct play *pl, const uint8_t *buf, size_t frames)
{
	while (frames) {
		long n = lull_stream_write(pl->s, buf, frames);

		if (play_stopping(&pl->sig))
			return 1;
		if (n == -EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "lull-play: cannot play: %s\n",
				lull_strerror((int)n));
			return (int)n;
		}
		buf += (size_t)n * pl->frame_bytes;
		frames -= (size_t)n;
	}
	return 0;
}

/* Frames per read and write. The first write should fill as much of the
 * ring as it can in one go: lulld starts mixing a stream as soon as it
 * hears of data, and a ring filled in small pieces would run dry after
 * each of them, making lulld rewind again for every piece. */
static size_t play_chunk(struct play *pl)
{
	long room = lull_stream_writable(pl->s);
	size_t most = PLAY_CHUNK_MAX / pl->frame_bytes;
	size_t n = room > 0 ? (size_t)room : 0;

	if (n > most)
		n = most;
	return n > PLAY_CHUNK_MIN ? n : PLAY_CHUNK_MIN;
}

/* Reads and writes until the end of the input; 1 when stopped. */
static int play_feed(struct play *pl)
{
	size_t chunk = play_chunk(pl);
	uint8_t *buf = malloc(chunk * pl->frame_bytes);
	int err = buf ? 0 : -ENOMEM;

	while (!err) {
		long n = pl->src.ops->read(pl->src.arg, buf, chunk);

		if (play_stopping(&pl->sig))
			err = 1;
		else if (n == -EINTR)
			continue;
		else if (n < 0) {
			fprintf(stderr, "lull-play: %s: read error: %s\n",
				pl->o.path, strerror((int)-n));
			err = (int)n;
		} else if (!n)
			break;
		else {
			/* Volume 0 in the stream parameters means 1, and a
			 * volume request ramps down from 1: silence is exact. */
			if (pl->o.muted)
				memset(buf, 0, (size_t)n * pl->frame_bytes);
			err = play_write(pl, buf, (size_t)n);
		}
	}
	free(buf);
	return err;
}

/* Waits until the last frame has been heard; 1 when stopped. */
static int play_drain(struct play *pl)
{
	for (;;) {
		int err = lull_stream_drain(pl->s);

		if (play_stopping(&pl->sig))
			return 1;
		if (err != -EINTR) {
			if (err)
				fprintf(stderr, "lull-play: cannot drain: %s\n",
					lull_strerror(err));
			return err;
		}
	}
}

static int play_run(struct play *pl)
{
	int err = cli_connect(&pl->l, "lull-play", pl->o.socket, pl->o.name);

	if (!err && !play_stopping(&pl->sig))
		err = play_open_stream(pl);
	if (!err && play_stopping(&pl->sig))
		err = 1;
	if (!err) {
		play_sig_stream(&pl->sig, pl->s);
		err = play_feed(pl);
	}
	if (!err)
		err = play_drain(pl);
	/* Closing drops whatever is still unheard: at once on a stop. */
	play_sig_stream(&pl->sig, NULL);
	lull_stream_close(pl->s);
	lull_disconnect(pl->l);
	if (err == 1 || play_stopping(&pl->sig))
		return PLAY_STOPPED;
	return err ? PLAY_ERROR : PLAY_OK;
}

static int play_open_src(struct play *pl)
{
	int err = pl->o.raw ? play_raw_open(&pl->src, &pl->o) :
			      play_sndfile_open(&pl->src, &pl->o);

	pl->frame_bytes = cli_sample_bytes(pl->o.p.format) * pl->o.p.channels;
	return err;
}

int main(int argc, char **argv)
{
	struct play pl = { .s = NULL };
	int err, ret;

	err = play_parse(&pl.o, argc, argv);
	if (err) {
		if (err < 0)
			return PLAY_USAGE;
		play_usage(stdout);
		return PLAY_OK;
	}
	if (play_open_src(&pl))
		return PLAY_ERROR;
	err = play_sig_start(&pl.sig);
	if (err) {
		fprintf(stderr, "lull-play: cannot set up signals: %s\n",
			strerror(-err));
		pl.src.ops->close(pl.src.arg);
		return PLAY_ERROR;
	}
	ret = play_run(&pl);
	play_sig_stop(&pl.sig);
	pl.src.ops->close(pl.src.arg);
	return ret;
}
