/* Mixer: gain ramps start exactly at g0 and rise linearly per frame, the
 * fast paths give the same bits as the general formula at any length and
 * alignment, overlapping buffers are handled, and channel maps follow the
 * header's rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/mix.h"

enum { MAXF = 1100, MAXC = 8 };

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Uniform in [-1, 1). */
static float rnd_sample(uint64_t *s)
{
	return (float)((double)(rnd(s) >> 11) / (double)(1ull << 52) - 1.0);
}

static void fill(float *b, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = rnd_sample(&seed);
}

/* The header's formula, evaluated the way it reads: frame i gets
 * g0 + (g1 - g0) * i / frames. */
static double gain_at(float g0, float g1, size_t i, size_t frames)
{
	return g0 + ((double)g1 - g0) * (double)i / (double)frames;
}

static void test_ramp_endpoints_and_linearity(void **state)
{
	enum { F = 100, C = 2 };
	float src[F * C], dst[F * C];
	const float g0 = 0.25f, g1 = 0.75f;

	(void)state;
	for (size_t i = 0; i < F * C; i++)
		src[i] = 1.0f;
	memset(dst, 0, sizeof dst);
	mix_add(dst, src, F, C, g0, g1);
	/* First frame exactly g0, in both channels. */
	assert_true(dst[0] == g0);
	assert_true(dst[1] == g0);
	/* Last frame one step short of g1: g1 belongs to the next frame. */
	assert_true(fabs(dst[(F - 1) * C] - gain_at(g0, g1, F - 1, F)) < 1e-6);
	for (size_t i = 0; i < F; i++) {
		assert_true(dst[i * C] == dst[i * C + 1]);
		assert_true(fabs(dst[i * C] - gain_at(g0, g1, i, F)) < 1e-6);
		/* Equal steps: second differences vanish. */
		if (i >= 2) {
			double d2 = dst[i * C] - 2.0 * dst[(i - 1) * C] +
				    dst[(i - 2) * C];

			assert_true(fabs(d2) < 1e-6);
		}
	}
}

/* A ramp cut in two (0 -> 0.5, then 0.5 -> 1) is the same ramp as one
 * call 0 -> 1: g1 is reached at frame `frames`, where the next call's g0
 * takes over. */
static void test_ramp_continues(void **state)
{
	enum { F = 200, C = 6 };
	static float src[F * C], one[F * C], two[F * C];

	(void)state;
	fill(src, F * C, 7);
	mix_add(one, src, F, C, 0.0f, 1.0f);
	mix_add(two, src, F / 2, C, 0.0f, 0.5f);
	mix_add(two + F / 2 * C, src + F / 2 * C, F / 2, C, 0.5f, 1.0f);
	for (size_t i = 0; i < F * C; i++)
		assert_true(fabsf(one[i] - two[i]) < 1e-6f);
}

/* Every path against the formula, over lengths around the vector width,
 * channel counts 1..8 and misaligned pointers. Constant gains must match
 * dst + src * g bit for bit (g == 1: dst + src); ramps to float rounding. */
static void check_paths(size_t frames, unsigned ch, size_t off_dst,
			size_t off_src)
{
	static const float gains[][2] = {
		{ 1.0f, 1.0f }, { 0.3f, 0.3f }, { 0.0f, 0.0f }, { -1.5f, -1.5f },
		{ 0.0f, 1.0f }, { 1.0f, 0.2f }, { 0.7f, 0.7000001f },
	};
	static float src[MAXF * MAXC + 8], base[MAXF * MAXC + 8],
		dst[MAXF * MAXC + 8];
	size_t n = frames * ch;

	fill(src, sizeof src / sizeof src[0], frames * 31 + ch);
	fill(base, sizeof base / sizeof base[0], frames * 17 + ch + 1);
	for (size_t g = 0; g < sizeof gains / sizeof gains[0]; g++) {
		float g0 = gains[g][0], g1 = gains[g][1];

		memcpy(dst, base, sizeof dst);
		mix_add(dst + off_dst, src + off_src, frames, ch, g0, g1);
		for (size_t i = 0; i < n; i++) {
			float d = base[off_dst + i], s = src[off_src + i];
			float got = dst[off_dst + i];

			if (g0 == g1 && g0 == 1.0f)
				assert_true(got == d + s);
			else if (g0 == g1)
				assert_true(got == d + s * g0);
			else
				assert_true(fabs(got - (d + s * gain_at(g0, g1, i / ch, frames)))
					    < 1e-5);
		}
		/* Nothing outside the range is touched. */
		assert_memory_equal(dst, base, off_dst * sizeof(float));
		assert_memory_equal(dst + off_dst + n, base + off_dst + n,
				    (sizeof dst / sizeof dst[0] - off_dst - n) * sizeof(float));
	}
}

static void test_paths_match_formula(void **state)
{
	static const size_t lengths[] = { 0, 1, 3, 7, 8, 9, 15, 16, 17, 64, 1000, 1023 };

	(void)state;
	for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++)
		for (unsigned ch = 1; ch <= MAXC; ch++) {
			check_paths(lengths[l], ch, 0, 0);
			check_paths(lengths[l], ch, 1, 3);
		}
}

/* The fast paths agree with the ramp path when the ramp is flat: a ramp
 * from g to g + tiny differs from the scaled add by no more than tiny. */
static void test_fast_paths_equal_general(void **state)
{
	enum { F = 999, C = 2 };
	static float src[F * C], a[F * C], b[F * C];

	(void)state;
	fill(src, F * C, 3);
	fill(a, F * C, 4);
	memcpy(b, a, sizeof a);
	mix_add(a, src, F, C, 1.0f, 1.0f);
	mix_add(b, src, F, C, 1.0f, nextafterf(1.0f, 2.0f));
	for (size_t i = 0; i < F * C; i++)
		assert_true(fabsf(a[i] - b[i]) <= 1e-6f);
	/* And the scaled add is the plain add with a gain. */
	memset(b, 0, sizeof b);
	mix_add(b, src, F, C, 0.5f, 0.5f);
	for (size_t i = 0; i < F * C; i++)
		assert_true(b[i] == src[i] * 0.5f);
}

/* Overlapping buffers behave as if the samples were added one by one, in
 * order: into itself each sample doubles; shifted by one sample, each
 * addition sees the previous one's result (running sums), which a
 * vectorised loop that reads ahead would get wrong. */
static void test_overlap(void **state)
{
	enum { F = 37, C = 2 };
	float buf[F * C + 1], ref[F * C + 1];

	(void)state;
	fill(buf, F * C, 9);
	memcpy(ref, buf, sizeof buf);
	mix_add(buf, buf, F, C, 1.0f, 1.0f);
	for (size_t i = 0; i < F * C; i++)
		assert_true(buf[i] == ref[i] + ref[i]);
	memcpy(buf, ref, sizeof buf);
	mix_add(buf, buf, F, C, 0.0f, 1.0f);
	for (size_t i = 0; i < F * C; i++)
		assert_true(fabs(buf[i] - ref[i] * (1 + gain_at(0, 1, i / C, F))) < 1e-6);
	fill(buf, F * C + 1, 10);
	memcpy(ref, buf, sizeof buf);
	for (size_t i = 0; i < F * C; i++)
		ref[i + 1] += ref[i];
	mix_add(buf + 1, buf, F, C, 1.0f, 1.0f);
	assert_memory_equal(buf, ref, sizeof buf);
}

/* --- channel maps ------------------------------------------------------------ */

static void test_mono_to_stereo(void **state)
{
	const float in[3] = { 0.1f, -0.2f, 0.3f };
	float out[6];

	(void)state;
	mix_map_channels(in, 1, out, 2, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_true(out[2 * i] == in[i]);
		assert_true(out[2 * i + 1] == in[i]);
	}
}

static void test_stereo_to_mono(void **state)
{
	const float in[6] = { 0.5f, 0.25f, -1.0f, 1.0f, 0.2f, 0.4f };
	float out[3];

	(void)state;
	mix_map_channels(in, 2, out, 1, 3);
	assert_true(out[0] == 0.375f);
	assert_true(out[1] == 0.0f);
	assert_true(fabsf(out[2] - 0.3f) < 1e-7f);
}

static void test_six_to_mono(void **state)
{
	const float in[6] = { 0.6f, 0.6f, 0.6f, 0.0f, 0.0f, 0.0f };
	float out[1];

	(void)state;
	mix_map_channels(in, 6, out, 1, 1);
	assert_true(fabsf(out[0] - 0.3f) < 1e-7f);
}

/* 2 -> 6: output c takes input c mod 2: L R L R L R. */
static void test_two_to_six(void **state)
{
	const float in[4] = { 0.1f, 0.2f, 0.3f, 0.4f };
	float out[12];

	(void)state;
	mix_map_channels(in, 2, out, 6, 2);
	for (size_t f = 0; f < 2; f++)
		for (size_t c = 0; c < 6; c++)
			assert_true(out[f * 6 + c] == in[f * 2 + c % 2]);
}

/* 6 -> 2: output c takes input c (front left and right). */
static void test_six_to_two(void **state)
{
	float in[12], out[4];

	(void)state;
	for (size_t i = 0; i < 12; i++)
		in[i] = (float)i;
	mix_map_channels(in, 6, out, 2, 2);
	assert_true(out[0] == 0.0f);
	assert_true(out[1] == 1.0f);
	assert_true(out[2] == 6.0f);
	assert_true(out[3] == 7.0f);
}

static void test_equal_and_empty_maps(void **state)
{
	float in[16], out[16], keep[16];

	(void)state;
	fill(in, 16, 1);
	mix_map_channels(in, 4, out, 4, 4);
	assert_memory_equal(in, out, sizeof in);
	memcpy(keep, out, sizeof out);
	mix_map_channels(in, 2, out, 4, 0);
	mix_map_channels(in, 0, out, 4, 4);
	mix_map_channels(in, 2, out, 0, 4);
	assert_memory_equal(keep, out, sizeof out);
}

static void test_peak(void **state)
{
	const float b[5] = { 0.1f, -0.9f, 0.5f, 0.89f, -0.0f };

	(void)state;
	assert_true(mix_peak(b, 5) == 0.9f);
	assert_true(mix_peak(b, 1) == 0.1f);
	assert_true(mix_peak(b, 0) == 0.0f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ramp_endpoints_and_linearity),
		cmocka_unit_test(test_ramp_continues),
		cmocka_unit_test(test_paths_match_formula),
		cmocka_unit_test(test_fast_paths_equal_general),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_mono_to_stereo),
		cmocka_unit_test(test_stereo_to_mono),
		cmocka_unit_test(test_six_to_mono),
		cmocka_unit_test(test_two_to_six),
		cmocka_unit_test(test_six_to_two),
		cmocka_unit_test(test_equal_and_empty_maps),
		cmocka_unit_test(test_peak),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
