/* Resampler: a sine keeps its frequency and level through each conversion,
 * chunking does not change a single output bit, equal rates copy exactly,
 * resampler_input_for always suffices, and the delay matches what an
 * impulse shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/resampler.h"

struct pair {
	unsigned in, out;
};

static const struct pair pairs[] = {
	{ 44100, 48000 }, { 48000, 44100 }, { 16000, 48000 },
};
static const enum resampler_quality qualities[] = {
	RESAMPLER_FAST, RESAMPLER_MEDIUM, RESAMPLER_BEST,
};
static const char *const quality_names[] = { "fast", "medium", "best" };

#define N_PAIRS (sizeof(pairs) / sizeof(pairs[0]))
#define N_QUALITIES (sizeof(qualities) / sizeof(qualities[0]))

/* xorshift64: deterministic chunk sizes and noise. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t rnd_range(uint64_t *s, size_t lo, size_t hi)
{
	return lo + (size_t)(rnd(s) % (hi - lo + 1));
}

static struct resampler *make(unsigned in, unsigned out, unsigned ch,
			      enum resampler_quality q)
{
	struct resampler *r = NULL;

	assert_int_equal(resampler_new(&r, in, out, ch, q), 0);
	assert_non_null(r);
	return r;
}

static float *sine(size_t frames, unsigned ch, double f, unsigned rate,
		   double amp)
{
	float *b = malloc(frames * ch * sizeof(float));

	assert_non_null(b);
	for (size_t i = 0; i < frames; i++)
		for (unsigned c = 0; c < ch; c++)
			b[i * ch + c] = (float)(amp * sin(2 * M_PI * f * (double)i / rate));
	return b;
}

/* Runs all of `in` through r. chunk_seed 0: one call per side, as big as
 * possible; otherwise random input offers of 0..700 frames and output room
 * of 1..700. Either way, drains until nothing more comes out. Returns
 * frames produced. */
static size_t run(struct resampler *r, unsigned ch, const float *in,
		  size_t in_frames, float *out, size_t out_cap, uint64_t chunk_seed)
{
	size_t in_at = 0, out_at = 0;
	uint64_t s = chunk_seed;

	for (;;) {
		size_t offer = in_frames - in_at, room = out_cap - out_at, used = 99;
		long got;

		if (chunk_seed) {
			offer = offer < 700 ? offer : 700;
			offer = rnd_range(&s, 0, offer);
			room = room < 700 ? room : rnd_range(&s, 1, 700);
		}
		got = resampler_process(r, offer ? in + in_at * ch : NULL, offer,
					&used, out + out_at * ch, room);
		assert_true(got >= 0);
		assert_true(used <= offer);
		in_at += used;
		out_at += (size_t)got;
		if (in_at == in_frames && !got && !offer)
			return out_at;
		assert_true(out_at < out_cap);
	}
}

/* Frequency from the first and last upward zero crossings (interpolated)
 * and the number of whole periods between them. */
static double measure_freq(const float *b, unsigned ch, size_t from, size_t to,
			   unsigned rate)
{
	double first = -1, last = -1;
	long crossings = 0;

	for (size_t i = from; i + 1 < to; i++) {
		float a = b[i * ch], c = b[(i + 1) * ch];

		if (a < 0 && c >= 0) {
			double t = (double)i + a / (a - c);

			if (first < 0)
				first = t;
			last = t;
			crossings++;
		}
	}
	assert_true(crossings > 10);
	return (double)(crossings - 1) * rate / (last - first);
}

/* Peak amplitude from the RMS of every channel over [from, to). */
static double measure_amp(const float *b, unsigned ch, size_t from, size_t to)
{
	double sum = 0;

	for (size_t i = from * ch; i < to * ch; i++)
		sum += (double)b[i] * b[i];
	return sqrt(2 * sum / (double)((to - from) * ch));
}

/* --- a sine through each conversion --------------------------------------- */

static void check_sine(struct pair p, enum resampler_quality q, double f)
{
	enum { CH = 2 };
	const double amp = 0.5;
	size_t in_frames = p.in / 2, cap = p.out / 2 + 16, n, skip, end;
	float *in = sine(in_frames, CH, f, p.in, amp);
	float *out = malloc(cap * CH * sizeof(float));
	struct resampler *r = make(p.in, p.out, CH, q);
	double got_f, db;

	assert_non_null(out);
	n = run(r, CH, in, in_frames, out, cap, 0);
	/* Everything but the look-ahead comes out. */
	assert_true(n + resampler_delay(r) + 2 >= in_frames * resampler_ratio(r));
	/* Leave out the filter's start-up and the period the window cuts. */
	skip = (size_t)(2 * resampler_delay(r)) + 100;
	end = n - 100;
	got_f = measure_freq(out, CH, skip, end, p.out);
	db = 20 * log10(measure_amp(out, CH, skip, end) / amp);
	print_message("%5u -> %5u %-6s %7.1f Hz: %10.4f Hz, %+.4f dB\n", p.in,
		      p.out, quality_names[q], f, got_f, db);
	assert_true(fabs(got_f / f - 1) < 1e-3);
	assert_true(fabs(db) < 0.1);
	resampler_free(r);
	free(in);
	free(out);
}

static void test_sine(void **state)
{
	(void)state;
	for (size_t p = 0; p < N_PAIRS; p++) {
		unsigned lo = pairs[p].in < pairs[p].out ? pairs[p].in : pairs[p].out;

		for (size_t q = 0; q < N_QUALITIES; q++) {
			/* 1 kHz, and high in the passband: 0.35 of the
			 * lower rate is 70 % of its Nyquist frequency. */
			check_sine(pairs[p], qualities[q], 1000.0);
			check_sine(pairs[p], qualities[q], 0.35 * lo);
		}
	}
}

/* --- chunking --------------------------------------------------------------- */

static void check_chunking(struct pair p, enum resampler_quality q)
{
	enum { CH = 2, FRAMES = 20000 };
	size_t cap = (size_t)(FRAMES * 3.2) + 64, n_big, n_small;
	float *in = malloc(FRAMES * CH * sizeof(float));
	float *big = malloc(cap * CH * sizeof(float));
	float *small = malloc(cap * CH * sizeof(float));
	struct resampler *a = make(p.in, p.out, CH, q), *b = make(p.in, p.out, CH, q);
	uint64_t s = 0x9e3779b97f4a7c15ull;

	assert_non_null(in);
	assert_non_null(big);
	assert_non_null(small);
	/* Noise reaches every part of the filter. */
	for (size_t i = 0; i < FRAMES * CH; i++)
		in[i] = (float)((double)(rnd(&s) >> 11) / (1ull << 53) - 0.5);
	n_big = run(a, CH, in, FRAMES, big, cap, 0);
	n_small = run(b, CH, in, FRAMES, small, cap, 12345 + q);
	assert_int_equal(n_big, n_small);
	assert_memory_equal(big, small, n_big * CH * sizeof(float));
	resampler_free(a);
	resampler_free(b);
	free(in);
	free(big);
	free(small);
}

static void test_chunks_match_one_call(void **state)
{
	(void)state;
	for (size_t p = 0; p < N_PAIRS; p++)
		for (size_t q = 0; q < N_QUALITIES; q++)
			check_chunking(pairs[p], qualities[q]);
}

/* --- equal rates ------------------------------------------------------------ */

static void test_identity_bit_exact(void **state)
{
	enum { CH = 3, FRAMES = 10000 };
	static float in[FRAMES * CH], out[FRAMES * CH + 64];
	struct resampler *r = make(48000, 48000, CH, RESAMPLER_BEST);
	uint64_t s = 77;

	(void)state;
	for (size_t i = 0; i < FRAMES * CH; i++)
		in[i] = (float)(int64_t)rnd(&s) / 9.2e18f;
	assert_true(resampler_ratio(r) == 1.0);
	assert_true(resampler_delay(r) == 0.0);
	assert_int_equal(resampler_input_for(r, 4096), 4096);
	assert_int_equal(run(r, CH, in, FRAMES, out, FRAMES + 64, 5), FRAMES);
	assert_memory_equal(in, out, sizeof in);
	resampler_free(r);
}

/* --- resampler_input_for ---------------------------------------------------- */

/* Asks for n = 1, 1 + stride, ... up to 4096 output frames in turn on one
 * resampler, offering exactly what resampler_input_for says: every request
 * must be met in full. The content does not matter, only the counts. */
static void check_input_for(struct pair p, enum resampler_quality q,
			    size_t stride)
{
	enum { MAX_OUT = 4096 };
	static float in[(MAX_OUT * 3 + 1024) * 1], out[MAX_OUT];
	struct resampler *r = make(p.in, p.out, 1, q);

	for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
		in[i] = (float)sin(0.01 * (double)i);
	for (size_t n = 1; n <= MAX_OUT; n += stride) {
		size_t need = resampler_input_for(r, n), used;
		long got;

		assert_true(need <= sizeof in / sizeof in[0]);
		got = resampler_process(r, need ? in : NULL, need, &used, out, n);
		if (got != (long)n)
			fail_msg("%u -> %u %s: asked %zu, offered %zu, got %ld",
				 p.in, p.out, quality_names[q], n, need, got);
	}
	resampler_free(r);
}

static void test_input_for_enough(void **state)
{
	(void)state;
	/* Every size on the fast converter (the rule does not depend on
	 * the filter beyond its measured length), every 61st on the others
	 * to keep the test quick. */
	for (size_t p = 0; p < N_PAIRS; p++) {
		check_input_for(pairs[p], RESAMPLER_FAST, 1);
		check_input_for(pairs[p], RESAMPLER_MEDIUM, 61);
		check_input_for(pairs[p], RESAMPLER_BEST, 61);
	}
}

/* On a fresh resampler the estimate is at most one frame generous: two
 * frames less than it says is not enough. */
static void test_input_for_tight(void **state)
{
	static const size_t sizes[] = { 1, 2, 7, 100, 480, 1000, 4096 };
	static float in[8192], out[4096];
	size_t used;

	(void)state;
	for (size_t p = 0; p < N_PAIRS; p++)
		for (size_t q = 0; q < N_QUALITIES; q++)
			for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
				struct resampler *r = make(pairs[p].in, pairs[p].out, 1,
							   qualities[q]);
				size_t need = resampler_input_for(r, sizes[i]);

				assert_true(need >= 2 && need <= 8192);
				assert_true(resampler_process(r, in, need - 2, &used, out,
							      sizes[i]) < (long)sizes[i]);
				resampler_free(r);
			}
}

/* With no new input the converter still hands out what it holds. */
static void test_no_input(void **state)
{
	static float in[4800 * 2], out[4800 * 2];
	struct resampler *r = make(44100, 48000, 2, RESAMPLER_MEDIUM);
	size_t used = 99;
	long got;

	(void)state;
	got = resampler_process(r, in, 4410, &used, out, 10);
	assert_int_equal(got, 10);
	assert_int_equal(used, 4410);	/* taken greedily */
	assert_int_equal(resampler_input_for(r, 100), 0);
	got = resampler_process(r, NULL, 0, &used, out, 100);
	assert_int_equal(got, 100);
	assert_int_equal(used, 0);
	got = resampler_process(r, NULL, 0, &used, out, 0);
	assert_int_equal(got, 0);
	resampler_free(r);
}

/* --- delay ------------------------------------------------------------------- */

/* Feeds an impulse at input frame J, then silence, one frame per call, as
 * a live source would. The impulse comes out unshifted, at output frame
 * J * ratio, and it comes out resampler_delay() output frames after it
 * went in (within the frame the output grid allows). */
static void check_delay(struct pair p, enum resampler_quality q)
{
	enum { J = 3000, TOTAL = 3000 + 2000 };
	static float out[TOTAL * 3 + 16];
	const float one = 1.0f, zero = 0.0f;
	struct resampler *r = make(p.in, p.out, 1, q);
	double ratio = resampler_ratio(r), delay = resampler_delay(r), lag;
	size_t produced = 0, peak = 0, emerged_at = 0, used;

	for (size_t i = 0; i < TOTAL; i++) {
		long got = resampler_process(r, i == J ? &one : &zero, 1, &used,
					     out + produced, TOTAL * 3 - produced);

		assert_true(got >= 0);
		assert_int_equal(used, 1);
		produced += (size_t)got;
		if (!emerged_at && produced > (size_t)lround(J * ratio))
			emerged_at = i + 1;
	}
	for (size_t k = 0; k < produced; k++)
		if (fabsf(out[k]) > fabsf(out[peak]))
			peak = k;
	/* Input frames J+1 .. emerged_at-1 went in after the impulse before
	 * its output frame appeared. */
	lag = (double)(emerged_at - 1 - J) * ratio;
	print_message("%5u -> %5u %-6s delay %8.3f, impulse at %zu (J*ratio %.2f), "
		      "appeared after %.3f output frames\n", p.in, p.out,
		      quality_names[q], delay, peak, J * ratio, lag);
	assert_true(fabs((double)peak - J * ratio) <= 1.0);
	assert_true(fabs(lag - delay) <= ratio + 1.0);
	resampler_free(r);
}

static void test_delay_impulse(void **state)
{
	(void)state;
	for (size_t p = 0; p < N_PAIRS; p++)
		for (size_t q = 0; q < N_QUALITIES; q++)
			check_delay(pairs[p], qualities[q]);
}

static void test_bad_arguments(void **state)
{
	struct resampler *r = (struct resampler *)&r;

	(void)state;
	assert_int_equal(resampler_new(&r, 999, 48000, 2, RESAMPLER_FAST), -EINVAL);
	assert_null(r);
	assert_int_equal(resampler_new(&r, 48000, 384001, 2, RESAMPLER_FAST), -EINVAL);
	assert_int_equal(resampler_new(&r, 48000, 44100, 0, RESAMPLER_FAST), -EINVAL);
	assert_int_equal(resampler_new(&r, 48000, 44100, 9, RESAMPLER_FAST), -EINVAL);
	assert_int_equal(resampler_new(&r, 48000, 44100, 2, (enum resampler_quality)7),
			 -EINVAL);
	/* Beyond libsamplerate's 256:1. */
	assert_int_equal(resampler_new(&r, 1000, 384000, 2, RESAMPLER_FAST), -EINVAL);
	assert_int_equal(resampler_new(&r, 1000, 256000, 1, RESAMPLER_FAST), 0);
	resampler_free(r);
	assert_int_equal(resampler_new(&r, 256000, 1000, 1, RESAMPLER_FAST), 0);
	resampler_free(r);
	resampler_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sine),
		cmocka_unit_test(test_chunks_match_one_call),
		cmocka_unit_test(test_identity_bit_exact),
		cmocka_unit_test(test_input_for_enough),
		cmocka_unit_test(test_input_for_tight),
		cmocka_unit_test(test_no_input),
		cmocka_unit_test(test_delay_impulse),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
