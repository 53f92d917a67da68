/* mixbench: what mixing and resampling cost on this machine.
 *
 * Mixing: 1, 8 and 64 stereo float streams at 48 kHz summed into one
 * buffer with mix_add (gain 1, and a gain ramp), next to memcpy of the
 * same bytes, in ns per frame per stream. Two block sizes: 1024 frames,
 * where everything stays in cache, and 96000 frames (2 s, what lulld
 * writes ahead on a deep buffer), where memory bandwidth decides.
 * Resampling: 44100 -> 48000 stereo at each quality, in ns per output
 * frame, and the share of one core that one such stream takes.
 *
 * Prints figures only; it never fails on them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mix.h"
#include "core/resampler.h"

enum { CH = 2, RATE = 48000 };

/* Time for one measured pass is at least this; best of REPEATS. */
#define MIN_PASS_NS 100000000LL
#define REPEATS 3

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct mix_case {
	float *dst;
	float **src;
	unsigned streams;
	size_t frames;
};

enum op { OP_MEMCPY, OP_ADD, OP_RAMP };

static void run_op(const struct mix_case *m, enum op op)
{
	for (unsigned k = 0; k < m->streams; k++) {
		if (op == OP_MEMCPY)
			memcpy(m->dst, m->src[k], m->frames * CH * sizeof(float));
		else if (op == OP_ADD)
			mix_add(m->dst, m->src[k], m->frames, CH, 1.0f, 1.0f);
		else
			mix_add(m->dst, m->src[k], m->frames, CH, 0.25f, 0.75f);
	}
}

/* ns per frame per stream, best of REPEATS passes. */
static double time_op(const struct mix_case *m, enum op op)
{
	double best = 1e30;

	for (int r = 0; r < REPEATS; r++) {
		long long t0 = now_ns(), t;
		long iters = 0;
		double ns;

		do {
			run_op(m, op);
			iters++;
			t = now_ns() - t0;
		} while (t < MIN_PASS_NS);
		ns = (double)t / ((double)iters * (double)m->frames * m->streams);
		best = ns < best ? ns : best;
	}
	return best;
}

static float *noise(size_t n, unsigned seed)
{
	float *b = malloc(n * sizeof(float));

	if (!b)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
	}
	return b;
}

static int bench_mix(unsigned streams, size_t frames, float *peak)
{
	struct mix_case m = { .streams = streams, .frames = frames };
	double copy, add, ramp;
	int err = -1;

	m.dst = calloc(frames * CH, sizeof(float));
	m.src = calloc(streams, sizeof(*m.src));
	if (!m.dst || !m.src)
		goto out;
	for (unsigned k = 0; k < streams; k++)
		if (!(m.src[k] = noise(frames * CH, k + 1)))
			goto out;
	copy = time_op(&m, OP_MEMCPY);
	add = time_op(&m, OP_ADD);
	ramp = time_op(&m, OP_RAMP);
	printf("  %7u  %8zu  %8.3f  %8.3f  %9.3f\n", streams, frames, copy, add,
	       ramp);
	*peak += mix_peak(m.dst, frames * CH);
	err = 0;
out:
	for (unsigned k = 0; m.src && k < streams; k++)
		free(m.src[k]);
	free(m.src);
	free(m.dst);
	return err;
}

/* Converts 44100 -> 48000 in blocks of 1024 output frames, offering what
 * resampler_input_for asks; input wraps around a 1 s noise buffer. */
static int bench_resampler(enum resampler_quality q, const char *name,
			   const float *in, size_t in_frames, float *out)
{
	enum { BLOCK = 1024 };
	struct resampler *r;
	long long t0, t = 0;
	size_t at = 0, produced = 0;

	if (resampler_new(&r, 44100, RATE, CH, q))
		return -1;
	t0 = now_ns();
	do {
		size_t need = resampler_input_for(r, BLOCK), used;
		long got;

		if (at + need > in_frames)
			at = 0;
		got = resampler_process(r, in + at * CH, need, &used, out, BLOCK);
		if (got < 0) {
			resampler_free(r);
			return -1;
		}
		at += used;
		produced += (size_t)got;
		t = now_ns() - t0;
	} while (t < 5 * MIN_PASS_NS);
	printf("  %-6s  %8.1f ns/frame  %5.2f %% of a core per stream\n", name,
	       (double)t / (double)produced, (double)t / (double)produced * RATE / 1e7);
	resampler_free(r);
	return 0;
}

int main(void)
{
	static const unsigned streams[] = { 1, 8, 64 };
	static const size_t blocks[] = { 1024, 96000 };
	static const char *const names[] = { "fast", "medium", "best" };
	float peak = 0, *in = noise(44100 * CH, 99), *out = malloc(1024 * CH * sizeof(float));

	if (!in || !out)
		return 1;
	printf("mix: stereo float, ns per frame per stream (48 kHz: 20833 ns per frame)\n");
	printf("  %7s  %8s  %8s  %8s  %9s\n", "streams", "frames", "memcpy",
	       "add g=1", "add ramp");
	for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++)
		for (size_t s = 0; s < sizeof streams / sizeof streams[0]; s++)
			if (bench_mix(streams[s], blocks[b], &peak))
				return 1;
	printf("resampler: 44100 -> 48000 stereo, per output frame\n");
	for (int q = RESAMPLER_FAST; q <= RESAMPLER_BEST; q++)
		if (bench_resampler((enum resampler_quality)q, names[q], in, 44100, out))
			return 1;
	/* Keeps the mixed results observable. */
	printf("(peak sum %g)\n", (double)peak);
	free(in);
	free(out);
	return 0;
}
