/* wavtool — makes WAV files with known content and measures what comes out
 * of the simulated card.
 *
 *   wavtool gen OUT.wav [--rate R] [--channels C] [--format F] [--seconds S]
 *               [--pattern sine|ramp|noise] [--freq F[,F2...]] [--amp A]
 *               [--seed N]
 *   wavtool info F.wav
 *   wavtool cmp A.wav B.wav [--skip-a N] [--skip-b N] [--frames N] [--find]
 *               [--channel N]
 *   wavtool freq F.wav [--channel N] [--from S] [--to S]
 *   wavtool gaps F.wav --freq F [--channel N] [--threshold T] [--from S] [--to S]
 *   wavtool silence F.wav [--threshold T] [--channel N] [--from S] [--to S]
 *   wavtool raw F.wav OUT.raw              (sample data only)
 *   wavtool wrap IN.raw OUT.wav --rate R --channels C --format F
 *
 * Results go to stdout as key=value pairs, one record per line, so shell
 * tests can pick fields out. cmp --channel and silence --channel look at
 * one channel only (the others may hold anything); gaps and silence with
 * --from/--to look at that stretch only, and still report frames counted
 * from the start of the file. cmp and gaps exit 1 when they find a
 * difference or a gap, freq when it finds no tone; every command exits 2
 * on a usage or file error. Internally a command returns one of the WT_
 * outcomes below, or a negative errno. */
#include "core/fmt.h"
#include "core/wav.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	WT_MAX_OPTS = 16,
	WT_MAX_CHANNELS = 64,
	WT_CHUNK = 4096,	/* frames per write when generating */
	WT_FIND_WINDOW = 32,	/* frames of A that must match to align */
	WT_MAX_REPORTS = 50,	/* gap positions printed */
};

enum { WT_SAME = 0, WT_DIFFERENT = 1, WT_ERROR = 2 };

struct wt_args {
	const char *pos[2];
	int npos;
	const char *name[WT_MAX_OPTS];
	const char *value[WT_MAX_OPTS];
	int nopt;
};

/* A whole file in memory, samples in the enum fmt layout. */
struct wt_audio {
	struct wav_info info;
	void *data;
};

enum wt_pattern { WT_SINE, WT_RAMP, WT_NOISE };

struct wt_gen {
	struct wav_info info;
	enum wt_pattern pattern;
	double freq[WT_MAX_CHANNELS];
	double amp;
	uint64_t rng;
};

/* --- arguments -------------------------------------------------------- */

/* Options that take no value. */
static int wt_is_flag(const char *name)
{
	return !strcmp(name, "find");
}

static int wt_args_parse(struct wt_args *a, int argc, char **argv)
{
	memset(a, 0, sizeof *a);
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];

		if (strncmp(s, "--", 2)) {
			if (a->npos == 2)
				return -EINVAL;
			a->pos[a->npos++] = s;
			continue;
		}
		if (a->nopt == WT_MAX_OPTS)
			return -E2BIG;
		a->name[a->nopt] = s + 2;
		a->value[a->nopt] = "";
		if (!wt_is_flag(s + 2)) {
			if (++i == argc)
				return -EINVAL;
			a->value[a->nopt] = argv[i];
		}
		a->nopt++;
	}
	return 0;
}

/* Whether name is one of the comma separated words in list. */
static int wt_known(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p; p += strcspn(p, ",")) {
		p += *p == ',';
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\0'))
			return 1;
	}
	return 0;
}

/* Rejects a wrong number of file arguments and options the subcommand
 * does not take. */
static int wt_args_check(const struct wt_args *a, int npos, const char *known)
{
	if (a->npos != npos) {
		fprintf(stderr, "wavtool: expected %d file argument%s\n", npos,
			npos == 1 ? "" : "s");
		return -EINVAL;
	}
	for (int i = 0; i < a->nopt; i++) {
		if (*a->name[i] && wt_known(known, a->name[i]))
			continue;
		fprintf(stderr, "wavtool: unknown option --%s\n", a->name[i]);
		return -EINVAL;
	}
	return 0;
}

static const char *wt_opt(const struct wt_args *a, const char *name)
{
	for (int i = a->nopt; i-- > 0;)
		if (!strcmp(a->name[i], name))
			return a->value[i];
	return NULL;
}

static int wt_parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(*out))
		return -EINVAL;
	return 0;
}

static int wt_parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	if (*s == '-')
		return -EINVAL;
	*out = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return -EINVAL;
	return 0;
}

/* Option as a double, or def when absent; complains about bad values. */
static int wt_opt_double(const struct wt_args *a, const char *name,
			 double def, double *out)
{
	const char *s = wt_opt(a, name);

	*out = def;
	if (s && wt_parse_double(s, out)) {
		fprintf(stderr, "wavtool: --%s: not a number: %s\n", name, s);
		return -EINVAL;
	}
	return 0;
}

static int wt_opt_u64(const struct wt_args *a, const char *name,
		      uint64_t def, uint64_t *out)
{
	const char *s = wt_opt(a, name);

	*out = def;
	if (s && wt_parse_u64(s, out)) {
		fprintf(stderr, "wavtool: --%s: not a count: %s\n", name, s);
		return -EINVAL;
	}
	return 0;
}

/* --- samples ---------------------------------------------------------- */

/* Significant bits of a format's integer code (float patterns use 24). */
static unsigned wt_bits(enum fmt f)
{
	return f == FMT_S16 ? 16 : f == FMT_S32 ? 32 : 24;
}

/* Low 24 bits, sign extended: hardware ignores the top byte of S24. */
static int32_t wt_s24(int32_t v)
{
	return (int32_t)((uint32_t)v << 8) >> 8;
}

/* A sample's integer code as stored (for float: its bit pattern). */
static int64_t wt_code(enum fmt f, const void *data, size_t i)
{
	int32_t v;

	if (f == FMT_S16)
		return ((const int16_t *)data)[i];
	memcpy(&v, (const int32_t *)data + i, sizeof v);
	return f == FMT_S24 ? wt_s24(v) : v;
}

/* A comparable key: integer codes left-aligned to 32 bits so S16 data
 * played into an S32 card still compares equal; floats by bit pattern. */
static int64_t wt_key(enum fmt f, const void *data, size_t i)
{
	int64_t v = wt_code(f, data, i);

	if (f == FMT_S16)
		return v * 65536;
	if (f == FMT_S24)
		return v * 256;
	return v;
}

static float wt_float(enum fmt f, const void *data, size_t i)
{
	float x;

	fmt_to_float(f, (const char *)data + i * fmt_bytes(f), &x, 1);
	return x;
}

/* Stores an integer code of wt_bits(f) bits; float stores code / 2^23. */
static void wt_store(enum fmt f, void *data, size_t i, int64_t code)
{
	int32_t v = (int32_t)code;
	float x = (float)code / 8388608.0f;

	if (f == FMT_S16)
		((int16_t *)data)[i] = (int16_t)code;
	else if (f == FMT_FLOAT)
		memcpy((float *)data + i, &x, sizeof x);
	else
		memcpy((int32_t *)data + i, &v, sizeof v);
}

/* Wraps an unsigned value into a signed code of `bits` bits. */
static int64_t wt_wrap(uint64_t u, unsigned bits)
{
	uint64_t m = (UINT64_C(1) << bits) - 1;
	uint64_t half = UINT64_C(1) << (bits - 1);

	u &= m;
	return u >= half ? (int64_t)u - (int64_t)(m + 1) : (int64_t)u;
}

/* --- loading -------------------------------------------------------------- */

static int wt_report(const char *path, int err)
{
	if (err == -EPROTO)
		fprintf(stderr, "wavtool: %s: not a WAV file wavtool can read\n",
			path);
	else
		fprintf(stderr, "wavtool: %s: %s\n", path, strerror(-err));
	return err;
}

static int wt_load_data(struct wav_reader *r, struct wt_audio *a)
{
	size_t fb = fmt_bytes(a->info.fmt) * a->info.channels;
	uint64_t done = 0;

	a->data = malloc(a->info.frames ? a->info.frames * fb : 1);
	if (!a->data)
		return -ENOMEM;
	while (done < a->info.frames) {
		ssize_t n = wav_reader_read(r, (char *)a->data + done * fb,
					    a->info.frames - done);
		if (n <= 0)
			return n < 0 ? (int)n : -EPROTO;
		done += (uint64_t)n;
	}
	return 0;
}

static int wt_load(const char *path, struct wt_audio *a)
{
	struct wav_reader *r;
	int err = wav_reader_open(&r, path);

	a->data = NULL;
	if (err)
		return wt_report(path, err);
	a->info = *wav_reader_info(r);
	err = wt_load_data(r, a);
	wav_reader_close(r);
	if (err) {
		free(a->data);
		a->data = NULL;
		return wt_report(path, err);
	}
	return 0;
}

/* One channel of frames [from, to) as floats. */
static float *wt_channel(const struct wt_audio *a, unsigned ch,
			 uint64_t from, uint64_t to)
{
	float *x = malloc((to > from ? to - from : 1) * sizeof *x);

	if (!x)
		return NULL;
	for (uint64_t i = from; i < to; i++)
		x[i - from] = wt_float(a->info.fmt, a->data,
				       i * a->info.channels + ch);
	return x;
}

/* --- gen ------------------------------------------------------------------ */

/* xorshift64*: cheap, seedable, and identical on every machine. */
static uint64_t wt_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/* Ramp: sample k (interleaved index) holds k * stride + 1. The stride
 * 2^(bits-16) + 1 moves every byte of wide formats, so a dropped, repeated
 * or truncated byte anywhere shows up; frames differ until the counter
 * wraps (2^bits samples). */
static int64_t wt_ramp(uint64_t k, unsigned bits)
{
	uint64_t stride = bits > 16 ? (UINT64_C(1) << (bits - 16)) + 1 : 1;

	return wt_wrap(k * stride + 1, bits);
}

static void wt_gen_codes(struct wt_gen *g, void *buf, uint64_t frame0,
			 size_t n)
{
	unsigned bits = wt_bits(g->info.fmt);
	size_t samples = n * g->info.channels;
	uint64_t k0 = frame0 * g->info.channels;

	for (size_t i = 0; i < samples; i++) {
		int64_t code = g->pattern == WT_RAMP ?
			wt_ramp(k0 + i, bits) :
			wt_wrap(wt_rand(&g->rng) >> (64 - bits), bits);
		wt_store(g->info.fmt, buf, i, code);
	}
}

/* Sine with the phase taken from the absolute frame, in doubles, so long
 * files do not accumulate rounding. */
static void wt_gen_sine(const struct wt_gen *g, float *tmp, void *buf,
			uint64_t frame0, size_t n)
{
	unsigned c = g->info.channels;

	for (size_t i = 0; i < n; i++) {
		for (unsigned ch = 0; ch < c; ch++) {
			double cycles = g->freq[ch] * (double)(frame0 + i) /
					g->info.rate;
			double ph = 2 * M_PI * (cycles - floor(cycles));
			tmp[i * c + ch] = (float)(g->amp * sin(ph));
		}
	}
	fmt_from_float(g->info.fmt, tmp, buf, n * c);
}

static int wt_gen_write(struct wt_gen *g, const char *path, uint64_t frames)
{
	size_t samples = (size_t)WT_CHUNK * g->info.channels;
	void *buf = malloc(samples * 4);
	float *tmp = malloc(samples * sizeof *tmp);
	struct wav_writer *w = NULL;
	int err = buf && tmp ? wav_writer_open(&w, path, &g->info) : -ENOMEM;

	for (uint64_t f = 0; !err && f < frames; f += WT_CHUNK) {
		size_t n = frames - f < WT_CHUNK ? (size_t)(frames - f) : WT_CHUNK;

		if (g->pattern == WT_SINE)
			wt_gen_sine(g, tmp, buf, f, n);
		else
			wt_gen_codes(g, buf, f, n);
		err = wav_writer_write(w, buf, n);
	}
	if (w) {
		int cerr = wav_writer_close(w);
		err = err ? err : cerr;
	}
	free(buf);
	free(tmp);
	return err ? wt_report(path, err) : 0;
}

/* "440" or "440,660": one frequency per channel, the last one repeats. */
static int wt_parse_freqs(const char *s, struct wt_gen *g)
{
	char buf[256], *save = NULL, *tok;
	unsigned n = 0;

	snprintf(buf, sizeof buf, "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok && n < WT_MAX_CHANNELS;
	     tok = strtok_r(NULL, ",", &save)) {
		if (wt_parse_double(tok, &g->freq[n]) || g->freq[n] < 0)
			return -EINVAL;
		n++;
	}
	if (n == 0)
		return -EINVAL;
	for (; n < WT_MAX_CHANNELS; n++)
		g->freq[n] = g->freq[n - 1];
	return 0;
}

static int wt_parse_pattern(const char *s, enum wt_pattern *p)
{
	if (!strcmp(s, "sine"))
		*p = WT_SINE;
	else if (!strcmp(s, "ramp"))
		*p = WT_RAMP;
	else if (!strcmp(s, "noise"))
		*p = WT_NOISE;
	else
		return -EINVAL;
	return 0;
}

static int wt_gen_setup(const struct wt_args *a, struct wt_gen *g,
			double *seconds)
{
	uint64_t rate, channels, seed;
	const char *s;

	if (wt_opt_u64(a, "rate", 48000, &rate) ||
	    wt_opt_u64(a, "channels", 2, &channels) ||
	    wt_opt_u64(a, "seed", 1, &seed) ||
	    wt_opt_double(a, "seconds", 1.0, seconds) ||
	    wt_opt_double(a, "amp", 0.5, &g->amp))
		return -EINVAL;
	if (rate < 1 || rate > 1000000 || channels < 1 ||
	    channels > WT_MAX_CHANNELS || *seconds < 0) {
		fprintf(stderr, "wavtool: rate, channels or seconds out of range\n");
		return -EINVAL;
	}
	g->info.rate = (unsigned)rate;
	g->info.channels = (unsigned)channels;
	g->rng = seed ? seed : 1;	/* xorshift needs a nonzero state */
	s = wt_opt(a, "format");
	if (s && fmt_parse(s, &g->info.fmt)) {
		fprintf(stderr, "wavtool: unknown format %s\n", s);
		return -EINVAL;
	}
	s = wt_opt(a, "pattern");
	if (s && wt_parse_pattern(s, &g->pattern)) {
		fprintf(stderr, "wavtool: unknown pattern %s\n", s);
		return -EINVAL;
	}
	if (wt_parse_freqs(wt_opt(a, "freq") ? wt_opt(a, "freq") : "440", g)) {
		fprintf(stderr, "wavtool: bad --freq\n");
		return -EINVAL;
	}
	return 0;
}

static int wt_cmd_gen(const struct wt_args *a)
{
	struct wt_gen g = { .info = { .fmt = FMT_S16 }, .pattern = WT_SINE };
	double seconds;

	if (wt_args_check(a, 1, "rate,channels,format,seconds,freq,amp,pattern,seed"))
		return -EINVAL;
	if (wt_gen_setup(a, &g, &seconds))
		return -EINVAL;
	return wt_gen_write(&g, a->pos[0],
			    (uint64_t)llround(seconds * g.info.rate));
}

/* --- info ----------------------------------------------------------------- */

static int wt_cmd_info(const struct wt_args *a)
{
	struct wav_reader *r;
	const struct wav_info *i;
	int err;

	if (wt_args_check(a, 1, ""))
		return -EINVAL;
	err = wav_reader_open(&r, a->pos[0]);
	if (err)
		return wt_report(a->pos[0], err);
	i = wav_reader_info(r);
	printf("rate=%u channels=%u format=%s frames=%" PRIu64 " seconds=%.6f\n",
	       i->rate, i->channels, fmt_name(i->fmt), i->frames,
	       (double)i->frames / i->rate);
	wav_reader_close(r);
	return 0;
}

/* --- cmp ------------------------------------------------------------------ */

struct wt_cmp {
	struct wt_audio a, b;
	uint64_t skip_a, skip_b, frames;
	int have_frames, find;
	unsigned ch0, ch1;	/* channels compared: [ch0, ch1) */
};

static int wt_frames_equal(const struct wt_cmp *c, uint64_t fa, uint64_t fb)
{
	unsigned ch = c->a.info.channels;

	for (unsigned i = c->ch0; i < c->ch1; i++)
		if (wt_key(c->a.info.fmt, c->a.data, fa * ch + i) !=
		    wt_key(c->b.info.fmt, c->b.data, fb * ch + i))
			return 0;
	return 1;
}

/* First offset >= skip_b in B where A's first frames (from skip_a) appear.
 * Returns 0 and moves skip_b there, or -ENOENT. */
static int wt_find(struct wt_cmp *c)
{
	uint64_t na = c->a.info.frames - c->skip_a;
	uint64_t w = na < WT_FIND_WINDOW ? na : WT_FIND_WINDOW;

	for (uint64_t off = c->skip_b; w && off + w <= c->b.info.frames; off++) {
		uint64_t i = 0;

		while (i < w && wt_frames_equal(c, c->skip_a + i, off + i))
			i++;
		if (i == w) {
			c->skip_b = off;
			return 0;
		}
	}
	return -ENOENT;
}

static void wt_print_sample(const char *key, const struct wt_audio *x,
			    uint64_t frame, unsigned ch)
{
	size_t i = frame * x->info.channels + ch;

	if (x->info.fmt == FMT_FLOAT)
		printf(" %s=%.9g", key, wt_float(FMT_FLOAT, x->data, i));
	else
		printf(" %s=%" PRId64, key, wt_code(x->info.fmt, x->data, i));
}

static void wt_print_mismatch(const struct wt_cmp *c, uint64_t i)
{
	uint64_t fa = c->skip_a + i, fb = c->skip_b + i;
	unsigned ch = c->ch0;

	if (fa >= c->a.info.frames || fb >= c->b.info.frames) {
		printf("first_mismatch a_frame=%" PRIu64 " b_frame=%" PRIu64
		       " missing=%s\n", fa, fb,
		       fa >= c->a.info.frames ? "a" : "b");
		return;
	}
	while (wt_key(c->a.info.fmt, c->a.data, fa * c->a.info.channels + ch) ==
	       wt_key(c->b.info.fmt, c->b.data, fb * c->b.info.channels + ch))
		ch++;
	printf("first_mismatch a_frame=%" PRIu64 " b_frame=%" PRIu64
	       " channel=%u", fa, fb, ch);
	wt_print_sample("a", &c->a, fa, ch);
	wt_print_sample("b", &c->b, fb, ch);
	printf("\n");
}

/* Counts differing frames over the range; frames missing from either
 * file count as differing. */
static int wt_compare(const struct wt_cmp *c)
{
	uint64_t ra = c->a.info.frames - c->skip_a;
	uint64_t rb = c->b.info.frames - c->skip_b;
	uint64_t n = c->have_frames ? c->frames : (ra < rb ? ra : rb);
	uint64_t bad = 0, first = 0;

	for (uint64_t i = 0; i < n; i++) {
		if (i < ra && i < rb &&
		    wt_frames_equal(c, c->skip_a + i, c->skip_b + i))
			continue;
		if (bad++ == 0)
			first = i;
	}
	printf("frames_a=%" PRIu64 " frames_b=%" PRIu64 " format_a=%s format_b=%s"
	       " offset_a=%" PRIu64 " offset_b=%" PRIu64 " compared=%" PRIu64
	       " mismatches=%" PRIu64 "\n", c->a.info.frames, c->b.info.frames,
	       fmt_name(c->a.info.fmt), fmt_name(c->b.info.fmt), c->skip_a,
	       c->skip_b, n, bad);
	if (bad)
		wt_print_mismatch(c, first);
	if (n == 0)
		fprintf(stderr, "wavtool: nothing to compare\n");
	return bad || n == 0 ? WT_DIFFERENT : WT_SAME;
}

static int wt_cmp_check(struct wt_cmp *c)
{
	int fa = c->a.info.fmt == FMT_FLOAT, fb = c->b.info.fmt == FMT_FLOAT;

	if (c->a.info.channels != c->b.info.channels) {
		fprintf(stderr, "wavtool: %u channels against %u\n",
			c->a.info.channels, c->b.info.channels);
		return -EINVAL;
	}
	if (fa != fb) {
		fprintf(stderr, "wavtool: cannot compare float with integer data\n");
		return -EINVAL;
	}
	if (c->skip_a > c->a.info.frames || c->skip_b > c->b.info.frames) {
		fprintf(stderr, "wavtool: skip beyond the end of a file\n");
		return -EINVAL;
	}
	if (c->ch1 == 0)
		c->ch1 = c->a.info.channels;
	if (c->ch1 > c->a.info.channels) {
		fprintf(stderr, "wavtool: no channel %u (files have %u)\n",
			c->ch0, c->a.info.channels);
		return -EINVAL;
	}
	return 0;
}

static int wt_cmp_run(struct wt_cmp *c)
{
	if (wt_cmp_check(c))
		return -EINVAL;
	if (c->find && wt_find(c)) {
		printf("offset_b=none\n");
		fprintf(stderr, "wavtool: start of A not found in B\n");
		return WT_DIFFERENT;
	}
	return wt_compare(c);
}

static int wt_cmd_cmp(const struct wt_args *a)
{
	struct wt_cmp c = { .find = wt_opt(a, "find") != NULL };
	uint64_t ch;
	int ret;

	if (wt_args_check(a, 2, "skip-a,skip-b,frames,find,channel") ||
	    wt_opt_u64(a, "skip-a", 0, &c.skip_a) ||
	    wt_opt_u64(a, "skip-b", 0, &c.skip_b) ||
	    wt_opt_u64(a, "frames", 0, &c.frames) ||
	    wt_opt_u64(a, "channel", 0, &ch) || ch >= WT_MAX_CHANNELS)
		return -EINVAL;
	c.have_frames = wt_opt(a, "frames") != NULL;
	if (wt_opt(a, "channel")) {	/* otherwise ch1 = 0: all, set on load */
		c.ch0 = (unsigned)ch;
		c.ch1 = (unsigned)ch + 1;
	}
	if (wt_load(a->pos[0], &c.a))
		return -EIO;
	ret = wt_load(a->pos[1], &c.b) ? -EIO : wt_cmp_run(&c);
	free(c.a.data);
	free(c.b.data);
	return ret;
}

/* --- freq ----------------------------------------------------------------- */

struct wt_level {
	double mean, rms, peak;
};

static struct wt_level wt_measure(const float *x, uint64_t n)
{
	struct wt_level l = { 0, 0, 0 };
	double sum = 0, sq = 0;

	for (uint64_t i = 0; i < n; i++) {
		sum += x[i];
		sq += (double)x[i] * x[i];
		if (fabs(x[i]) > l.peak)
			l.peak = fabs(x[i]);
	}
	if (n) {
		l.mean = sum / (double)n;
		l.rms = sqrt(sq / (double)n);
	}
	return l;
}

/* Frequency from upward crossings of the mean, each placed between two
 * samples by linear interpolation; a crossing counts only after the signal
 * went below -peak/4, so noise near zero cannot add crossings. Returns
 * cycles per sample, or 0 with fewer than two crossings. */
static double wt_crossings(const float *x, uint64_t n, struct wt_level l)
{
	double arm = (l.peak - fabs(l.mean)) / 4, first = 0, last = 0;
	uint64_t count = 0;
	int armed = 0;

	for (uint64_t i = 1; i < n; i++) {
		double p = x[i - 1] - l.mean, q = x[i] - l.mean;

		if (q < -arm)
			armed = 1;
		if (!armed || p >= 0 || q < 0)
			continue;
		last = (double)(i - 1) + p / (p - q);
		if (count++ == 0)
			first = last;
		armed = 0;
	}
	return count >= 2 ? (double)(count - 1) / (last - first) : 0;
}

static int wt_range(const struct wt_args *a, const struct wt_audio *w,
		    uint64_t *from, uint64_t *to)
{
	double s_from, s_to, len = (double)w->info.frames / w->info.rate;

	if (wt_opt_double(a, "from", 0, &s_from) ||
	    wt_opt_double(a, "to", len, &s_to))
		return -EINVAL;
	if (s_from < 0 || s_to > len + 1e-9 || s_to < s_from) {
		fprintf(stderr, "wavtool: --from/--to outside 0..%.6f s\n", len);
		return -EINVAL;
	}
	*from = (uint64_t)llround(s_from * w->info.rate);
	*to = (uint64_t)llround(s_to * w->info.rate);
	if (*to > w->info.frames)
		*to = w->info.frames;
	return 0;
}

static int wt_pick_channel(const struct wt_args *a, const struct wt_audio *w,
			   unsigned *ch)
{
	uint64_t c;

	if (wt_opt_u64(a, "channel", 0, &c))
		return -EINVAL;
	if (c >= w->info.channels) {
		fprintf(stderr, "wavtool: no channel %" PRIu64 " (file has %u)\n",
			c, w->info.channels);
		return -EINVAL;
	}
	*ch = (unsigned)c;
	return 0;
}

static int wt_freq_run(const struct wt_args *a, const struct wt_audio *w)
{
	uint64_t from, to;
	unsigned ch;
	struct wt_level l;
	float *x;
	double f;

	if (wt_pick_channel(a, w, &ch) || wt_range(a, w, &from, &to))
		return -EINVAL;
	x = wt_channel(w, ch, from, to);
	if (!x)
		return -ENOMEM;
	l = wt_measure(x, to - from);
	f = wt_crossings(x, to - from, l) * w->info.rate;
	free(x);
	/* dBFS here is plain 20*log10(rms): a full-scale sine reads -3.01. */
	printf("freq=%.3f rms_dbfs=%.2f peak=%.6f frames=%" PRIu64 "\n",
	       f, l.rms > 0 ? 20 * log10(l.rms) : -INFINITY, l.peak, to - from);
	if (f == 0)
		fprintf(stderr, "wavtool: no periodic signal found\n");
	return f > 0 ? WT_SAME : WT_DIFFERENT;
}

static int wt_cmd_freq(const struct wt_args *a)
{
	struct wt_audio w;
	int ret;

	if (wt_args_check(a, 1, "channel,from,to"))
		return -EINVAL;
	if (wt_load(a->pos[0], &w))
		return -EIO;
	ret = wt_freq_run(a, &w);
	free(w.data);
	return ret;
}

/* --- gaps ----------------------------------------------------------------- */

/* For any sine of angular step w, x[n+1] + x[n-1] = 2 cos(w) x[n], whatever
 * its phase and amplitude. The residual of that identity is only rounding
 * noise on a continuous sine and jumps wherever frames were dropped,
 * repeated or replaced. Default threshold: 4 codes of the format (the
 * identity sums four rounded samples) plus float slack. */
static double wt_default_threshold(enum fmt f)
{
	return f == FMT_FLOAT ? 1e-5 : 4.0 / (double)(UINT64_C(1) << (wt_bits(f) - 1)) + 1e-6;
}

struct wt_gaps {
	double k;		/* 2 cos(w) */
	double threshold;
	uint64_t count;
	double worst;
};

/* Flags residuals above threshold; neighbours of one discontinuity (it
 * touches up to three residuals) are reported as one gap. The first
 * flagged residual, at i, is the first to use x[i + 1]: the gap's frame is
 * the first sample that does not continue the sine. */
static void wt_gaps_scan(struct wt_gaps *g, const float *x, uint64_t n,
			 uint64_t base, unsigned rate)
{
	uint64_t last = 0;
	int open = 0;

	for (uint64_t i = 1; i + 1 < n; i++) {
		double r = fabs((double)x[i + 1] + x[i - 1] - g->k * x[i]);

		if (r > g->worst)
			g->worst = r;
		if (r <= g->threshold)
			continue;
		if (!open || i > last + 2) {
			if (g->count < WT_MAX_REPORTS)
				printf("gap frame=%" PRIu64 " time=%.6f residual=%.6f\n",
				       base + i + 1, (double)(base + i + 1) / rate, r);
			g->count++;
		}
		open = 1;
		last = i;
	}
}

static int wt_gaps_run(const struct wt_args *a, const struct wt_audio *w)
{
	struct wt_gaps g = { 0 };
	uint64_t from, to;
	double freq;
	unsigned ch;
	float *x;

	if (!wt_opt(a, "freq") || wt_opt_double(a, "freq", 0, &freq) ||
	    freq <= 0) {
		fprintf(stderr, "wavtool: gaps needs --freq HZ\n");
		return -EINVAL;
	}
	if (wt_pick_channel(a, w, &ch) || wt_range(a, w, &from, &to) ||
	    wt_opt_double(a, "threshold", wt_default_threshold(w->info.fmt),
			  &g.threshold))
		return -EINVAL;
	g.k = 2 * cos(2 * M_PI * freq / w->info.rate);
	x = wt_channel(w, ch, from, to);
	if (!x)
		return -ENOMEM;
	wt_gaps_scan(&g, x, to - from, from, w->info.rate);
	free(x);
	printf("gaps=%" PRIu64 " frames=%" PRIu64 " max_residual=%.6f threshold=%.6f\n",
	       g.count, to - from, g.worst, g.threshold);
	return g.count ? WT_DIFFERENT : WT_SAME;
}

static int wt_cmd_gaps(const struct wt_args *a)
{
	struct wt_audio w;
	int ret;

	if (wt_args_check(a, 1, "freq,channel,threshold,from,to"))
		return -EINVAL;
	if (wt_load(a->pos[0], &w))
		return -EIO;
	ret = wt_gaps_run(a, &w);
	free(w.data);
	return ret;
}

/* --- silence -------------------------------------------------------------- */

/* What silence looks at: channels [ch0, ch1) of frames [from, to). */
struct wt_chans {
	unsigned ch0, ch1;
	uint64_t from, to;
};

static int wt_frame_loud(const struct wt_audio *w, uint64_t f, double thr,
			 struct wt_chans cs)
{
	for (unsigned c = cs.ch0; c < cs.ch1; c++) {
		size_t i = f * w->info.channels + c;

		if (thr > 0 ? fabs(wt_float(w->info.fmt, w->data, i)) > thr :
			      wt_float(w->info.fmt, w->data, i) != 0)
			return 1;
	}
	return 0;
}

static int wt_silence_run(const struct wt_audio *w, double thr,
			  struct wt_chans cs)
{
	uint64_t n = cs.to, first = cs.from, last = n;

	while (first < n && !wt_frame_loud(w, first, thr, cs))
		first++;
	while (last > first && !wt_frame_loud(w, last - 1, thr, cs))
		last--;
	if (first == n) {
		printf("frames=%" PRIu64 " first_nonzero=-1 last_nonzero=-1 "
		       "leading_silence=%" PRIu64 " leading_silence_s=%.6f "
		       "trailing_silence=0\n", n - cs.from, n - cs.from,
		       (double)(n - cs.from) / w->info.rate);
		return 0;
	}
	printf("frames=%" PRIu64 " first_nonzero=%" PRIu64 " last_nonzero=%"
	       PRIu64 " leading_silence=%" PRIu64 " leading_silence_s=%.6f "
	       "trailing_silence=%" PRIu64 "\n", n - cs.from, first, last - 1,
	       first - cs.from, (double)(first - cs.from) / w->info.rate, n - last);
	return 0;
}

static int wt_cmd_silence(const struct wt_args *a)
{
	struct wt_audio w;
	struct wt_chans cs;
	unsigned ch;
	double thr;
	int ret = 0;

	if (wt_args_check(a, 1, "threshold,channel,from,to") ||
	    wt_opt_double(a, "threshold", 0, &thr))
		return -EINVAL;
	if (wt_load(a->pos[0], &w))
		return -EIO;
	cs = (struct wt_chans){ 0, w.info.channels, 0, 0 };
	if (wt_opt(a, "channel")) {
		ret = wt_pick_channel(a, &w, &ch);
		cs.ch0 = ch;
		cs.ch1 = ch + 1;
	}
	ret = ret ? ret : wt_range(a, &w, &cs.from, &cs.to);
	ret = ret ? ret : wt_silence_run(&w, thr, cs);
	free(w.data);
	return ret;
}

/* --- raw and wrap ------------------------------------------------------- */

static int wt_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int err = 0;

	if (!f)
		return wt_report(path, -errno);
	if (fwrite(data, 1, len, f) != len)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err ? wt_report(path, err) : 0;
}

static int wt_cmd_raw(const struct wt_args *a)
{
	struct wt_audio w;
	int err;

	if (wt_args_check(a, 2, ""))
		return -EINVAL;
	if (wt_load(a->pos[0], &w))
		return -EIO;
	err = wt_write_file(a->pos[1], w.data, w.info.frames *
			    w.info.channels * fmt_bytes(w.info.fmt));
	free(w.data);
	return err;
}

/* Reads a whole file; *len gets its size. */
static void *wt_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		char *nb = realloc(buf, cap += 1 << 20);
		if (!nb)
			break;
		buf = nb;
		*len += fread(buf + *len, 1, cap - *len, f);
		if (*len < cap)
			break;
	}
	if (ferror(f) || !buf) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int wt_wrap_info(const struct wt_args *a, struct wav_info *i)
{
	uint64_t rate, ch;
	const char *f = wt_opt(a, "format");

	if (!wt_opt(a, "rate") || !wt_opt(a, "channels") || !f ||
	    wt_opt_u64(a, "rate", 0, &rate) || wt_opt_u64(a, "channels", 0, &ch) ||
	    fmt_parse(f, &i->fmt) || rate < 1 || ch < 1 || ch > WT_MAX_CHANNELS) {
		fprintf(stderr, "wavtool: wrap needs --rate, --channels, --format\n");
		return -EINVAL;
	}
	i->rate = (unsigned)rate;
	i->channels = (unsigned)ch;
	return 0;
}

static int wt_cmd_wrap(const struct wt_args *a)
{
	struct wav_info info = { 0 };
	struct wav_writer *w;
	size_t len;
	void *data;
	int err;

	if (wt_args_check(a, 2, "rate,channels,format") || wt_wrap_info(a, &info))
		return -EINVAL;
	data = wt_slurp(a->pos[0], &len);
	if (!data)
		return wt_report(a->pos[0], errno ? -errno : -ENOMEM);
	err = wav_writer_open(&w, a->pos[1], &info);
	if (!err) {
		err = wav_writer_write(w, data, len / (fmt_bytes(info.fmt) *
						       info.channels));
		int cerr = wav_writer_close(w);
		err = err ? err : cerr;
	}
	free(data);
	return err ? wt_report(a->pos[1], err) : 0;
}

/* --- main ----------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*run)(const struct wt_args *a);
} wt_cmds[] = {
	{ "gen", wt_cmd_gen },
	{ "info", wt_cmd_info },
	{ "cmp", wt_cmd_cmp },
	{ "freq", wt_cmd_freq },
	{ "gaps", wt_cmd_gaps },
	{ "silence", wt_cmd_silence },
	{ "raw", wt_cmd_raw },
	{ "wrap", wt_cmd_wrap },
};

static void wt_usage(void)
{
	fputs("usage:\n"
	      "  wavtool gen OUT.wav [--rate R] [--channels C] [--format s16|s24|s32|float]\n"
	      "              [--seconds S] [--pattern sine|ramp|noise] [--freq F[,F2..]]\n"
	      "              [--amp A] [--seed N]\n"
	      "  wavtool info F.wav\n"
	      "  wavtool cmp A.wav B.wav [--skip-a N] [--skip-b N] [--frames N] [--find]\n"
	      "              [--channel N]\n"
	      "  wavtool freq F.wav [--channel N] [--from S] [--to S]\n"
	      "  wavtool gaps F.wav --freq F [--channel N] [--threshold T]\n"
	      "              [--from S] [--to S]\n"
	      "  wavtool silence F.wav [--threshold T] [--channel N] [--from S] [--to S]\n"
	      "  wavtool raw F.wav OUT.raw\n"
	      "  wavtool wrap IN.raw OUT.wav --rate R --channels C --format F\n"
	      "cmp and gaps exit 1 on a difference, freq when it finds no tone;\n"
	      "errors exit 2.\n", stderr);
}

int main(int argc, char **argv)
{
	struct wt_args a;

	if (argc < 2 || wt_args_parse(&a, argc - 2, argv + 2)) {
		wt_usage();
		return WT_ERROR;
	}
	for (size_t i = 0; i < sizeof wt_cmds / sizeof wt_cmds[0]; i++) {
		if (strcmp(argv[1], wt_cmds[i].name))
			continue;
		int ret = wt_cmds[i].run(&a);
		if (ret == -EINVAL)
			fprintf(stderr, "wavtool: run without arguments for usage\n");
		return ret < 0 ? WT_ERROR : ret;
	}
	wt_usage();
	return WT_ERROR;
}
