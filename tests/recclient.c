/* recclient — a recording test client for lulld, on liblull.
 *
 *   recclient rec [options]      capture callback: frames to --out (raw,
 *                                float), optionally one line per callback
 *   recclient duplex [options]   duplex echo: out = in, plus one impulse
 *                                after --impulse-at seconds, so through the
 *                                card's loopback the impulse comes round
 *                                again every round trip
 *
 * Options: --rate R --channels C --latency-ms L --seconds S (default 2)
 * --out FILE --print-times (rec: "cb t_ns=T frame=F n=N v=V vl=VL" per
 * callback: F the stream frame of the first of the N frames given, V its
 * first sample and VL the first sample of the last frame) --block N
 * (duplex, default 256) --impulse-at S (default 0.5) --stall-at S:D (rec:
 * once S seconds of audio have come, the callback blocks for D seconds,
 * like a client stuck elsewhere).
 * At the end it prints frames=N overruns=M, and for duplex
 * roundtrip_median_ns=X roundtrip_min_ns=Y roundtrip_max_ns=Z over the
 * callbacks after the first second. Times are CLOCK_MONOTONIC ns, the
 * clock the simulated card stamps its event log with. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/lull.h"

#define RC_MAX_RT 100000

struct rc {
	struct lull_stream_params p;
	double seconds, impulse_at;
	double stall_at, stall_for;	/* stall_for 0: never */
	size_t block;
	const char *out_path;
	int print_times;
	FILE *out;
	uint64_t frames;	/* given to us so far */
	uint64_t blocks;
	int64_t rt[RC_MAX_RT];
	size_t nrt;
	struct lull_stream *s;
};

static volatile sig_atomic_t rc_stop;

static void rc_on_signal(int sig)
{
	(void)sig;
	rc_stop = 1;
}

static int64_t rc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t rc_capture(void *user, const void *buf, size_t frames)
{
	struct rc *rc = user;
	const float *f = buf;

	if (rc->print_times)
		printf("cb t_ns=%lld frame=%llu n=%zu v=%.9g vl=%.9g\n",
		       (long long)rc_now(), (unsigned long long)rc->frames, frames,
		       f[0], f[(frames - 1) * rc->p.channels]);
	if (rc->out)
		fwrite(buf, sizeof(float) * rc->p.channels, frames, rc->out);
	rc->frames += frames;
	if (rc->stall_for > 0 && rc->frames >= rc->stall_at * rc->p.rate) {
		struct timespec ts = { (time_t)rc->stall_for,
				       (long)((rc->stall_for - (time_t)rc->stall_for) * 1e9) };
		rc->stall_for = 0;
		nanosleep(&ts, NULL);
	}
	return frames;
}

static int rc_duplex(void *user, const void *in, void *out, size_t frames)
{
	struct rc *rc = user;
	float *o = out;
	uint64_t at = (uint64_t)(rc->impulse_at * rc->p.rate / rc->block);
	int64_t ns;

	memcpy(out, in, frames * rc->p.channels * sizeof(float));
	if (rc->blocks == at)
		for (unsigned c = 0; c < rc->p.channels; c++)
			o[c] += 0.5f;
	if (rc->blocks * rc->block > rc->p.rate && rc->nrt < RC_MAX_RT &&
	    lull_duplex_roundtrip(rc->s, &ns) == 0)
		rc->rt[rc->nrt++] = ns;
	rc->blocks++;
	rc->frames += frames;
	return 0;
}

static int rc_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* After the stream is closed: its thread no longer touches rc. */
static void rc_report(struct rc *rc, int duplex, uint64_t overruns)
{
	printf("frames=%llu overruns=%llu\n", (unsigned long long)rc->frames,
	       (unsigned long long)overruns);
	if (!duplex || !rc->nrt)
		return;
	qsort(rc->rt, rc->nrt, sizeof rc->rt[0], rc_cmp);
	printf("roundtrip_median_ns=%lld roundtrip_min_ns=%lld roundtrip_max_ns=%lld\n",
	       (long long)rc->rt[rc->nrt / 2], (long long)rc->rt[0],
	       (long long)rc->rt[rc->nrt - 1]);
}

static int rc_opts(struct rc *rc, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "channels", required_argument, NULL, 'c' },
		{ "latency-ms", required_argument, NULL, 'l' },
		{ "seconds", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "print-times", no_argument, NULL, 't' },
		{ "block", required_argument, NULL, 'b' },
		{ "impulse-at", required_argument, NULL, 'i' },
		{ "stall-at", required_argument, NULL, 'S' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r': rc->p.rate = (unsigned)atoi(optarg); break;
		case 'c': rc->p.channels = (unsigned)atoi(optarg); break;
		case 'l': rc->p.latency_ms = (unsigned)atoi(optarg); break;
		case 's': rc->seconds = atof(optarg); break;
		case 'o': rc->out_path = optarg; break;
		case 't': rc->print_times = 1; break;
		case 'b': rc->block = (size_t)atoi(optarg); break;
		case 'i': rc->impulse_at = atof(optarg); break;
		case 'S':
			if (sscanf(optarg, "%lf:%lf", &rc->stall_at, &rc->stall_for) != 2)
				return -1;
			break;
		default: return -1;
		}
	}
	return 0;
}

static int rc_open(struct rc *rc, struct lull *l, int duplex)
{
	if (duplex)
		return lull_duplex_new(&rc->s, l, &rc->p, rc->block, rc_duplex, rc);
	return lull_capture_new(&rc->s, l, &rc->p, rc_capture, rc);
}

static void rc_wait(const struct rc *rc)
{
	int64_t end = rc_now() + (int64_t)(rc->seconds * 1e9);

	while (!rc_stop && rc_now() < end) {
		struct timespec ms = { 0, 10000000 };
		nanosleep(&ms, NULL);
	}
}

int main(int argc, char **argv)
{
	static struct rc rc = {
		.p = { .rate = 48000, .channels = 2, .format = LULL_FLOAT },
		.seconds = 2, .impulse_at = 0.5, .block = 256,
	};
	int duplex, err;
	uint64_t overruns;
	struct lull *l;

	if (argc < 2 || (strcmp(argv[1], "rec") && strcmp(argv[1], "duplex")) ||
	    rc_opts(&rc, argc - 1, argv + 1)) {
		fprintf(stderr, "usage: recclient rec|duplex [options]\n");
		return 2;
	}
	duplex = !strcmp(argv[1], "duplex");
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, rc_on_signal);
	signal(SIGTERM, rc_on_signal);
	if (rc.out_path && !(rc.out = fopen(rc.out_path, "wb"))) {
		perror(rc.out_path);
		return 1;
	}
	if ((err = lull_connect(&l, NULL, "recclient")) ||
	    (err = rc_open(&rc, l, duplex))) {
		fprintf(stderr, "recclient: %s\n", lull_strerror(err));
		return 1;
	}
	rc_wait(&rc);
	overruns = lull_stream_overruns(rc.s);
	lull_stream_close(rc.s);	/* the callbacks have stopped */
	lull_disconnect(l);
	rc_report(&rc, duplex, overruns);
	if (rc.out)
		fclose(rc.out);
	return 0;
}
