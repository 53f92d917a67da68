/* Sample format conversion: names, sizes, exact round trips, rounding to
 * nearest and clamping at full scale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/fmt.h"

static const enum fmt all_fmts[] = { FMT_S16, FMT_S24, FMT_S32, FMT_FLOAT };

static void test_bytes_and_names(void **state)
{
	(void)state;
	assert_int_equal(fmt_bytes(FMT_S16), 2);
	assert_int_equal(fmt_bytes(FMT_S24), 4);
	assert_int_equal(fmt_bytes(FMT_S32), 4);
	assert_int_equal(fmt_bytes(FMT_FLOAT), 4);
	assert_string_equal(fmt_name(FMT_S16), "S16_LE");
	assert_string_equal(fmt_name(FMT_S24), "S24_LE");
	assert_string_equal(fmt_name(FMT_S32), "S32_LE");
	assert_string_equal(fmt_name(FMT_FLOAT), "FLOAT_LE");
}

static void expect_parse(const char *name, enum fmt want)
{
	enum fmt got = FMT_S16;

	assert_int_equal(fmt_parse(name, &got), 0);
	assert_int_equal(got, want);
}

static void test_parse(void **state)
{
	enum fmt f = FMT_S32;

	(void)state;
	expect_parse("s16", FMT_S16);
	expect_parse("S16_LE", FMT_S16);
	expect_parse("s24_le", FMT_S24);
	expect_parse("S24", FMT_S24);
	expect_parse("s32", FMT_S32);
	expect_parse("S32_LE", FMT_S32);
	expect_parse("float", FMT_FLOAT);
	expect_parse("FLOAT_LE", FMT_FLOAT);
	expect_parse("F32", FMT_FLOAT);
	for (size_t i = 0; i < 4; i++)
		expect_parse(fmt_name(all_fmts[i]), all_fmts[i]);
	assert_int_equal(fmt_parse("u8", &f), -EINVAL);
	assert_int_equal(fmt_parse("", &f), -EINVAL);
	assert_int_equal(fmt_parse("S16_BE", &f), -EINVAL);
	assert_int_equal(f, FMT_S32);	/* untouched on failure */
}

/* Every S16 code survives int -> float -> int unchanged. */
static void test_s16_round_trip_all_codes(void **state)
{
	static int16_t in[65536], out[65536];
	static float mid[65536];

	(void)state;
	for (int i = 0; i < 65536; i++)
		in[i] = (int16_t)(i - 32768);
	fmt_to_float(FMT_S16, in, mid, 65536);
	fmt_from_float(FMT_S16, mid, out, 65536);
	assert_memory_equal(in, out, sizeof in);
	assert_true(mid[0] == -1.0f);
	assert_true(mid[32768] == 0.0f);
}

/* S24 codes fit a float's mantissa, so the round trip is exact; test the
 * ends, the middle and a stride through the whole range. */
static void test_s24_round_trip(void **state)
{
	enum { N = 4099 };
	static int32_t in[N], out[N];
	static float mid[N];

	(void)state;
	for (int i = 0; i < N; i++)
		in[i] = -8388608 + (int32_t)((int64_t)i * 16777215 / (N - 1));
	in[1] = -1;
	in[2] = 0;
	in[3] = 1;
	fmt_to_float(FMT_S24, in, mid, N);
	fmt_from_float(FMT_S24, mid, out, N);
	assert_memory_equal(in, out, sizeof in);
	assert_int_equal(in[N - 1], 8388607);
}

/* S32 codes with at most 24 significant bits round-trip exactly. */
static void test_s32_round_trip(void **state)
{
	static const int32_t in[] = {
		INT32_MIN, -(1 << 30), -256, -1, 0, 1, 255, 1 << 30,
		INT32_MAX - 127,	/* 0x7fffff80: 24 significant bits */
		0x12345600, -0x12345600,
	};
	int32_t out[sizeof in / sizeof in[0]];
	float mid[sizeof in / sizeof in[0]];
	size_t n = sizeof in / sizeof in[0];

	(void)state;
	fmt_to_float(FMT_S32, in, mid, n);
	fmt_from_float(FMT_S32, mid, out, n);
	assert_memory_equal(in, out, sizeof in);
}

/* Float is exact within full scale; input beyond it (a client's) is
 * clipped, and infinities with it. */
static void test_float_round_trip(void **state)
{
	const float in[] = { -1.0f, -0.5f, 0.0f, 1e-30f, 0.25f, 1.0f, 1.5f,
			     -INFINITY };
	const float want[] = { -1.0f, -0.5f, 0.0f, 1e-30f, 0.25f, 1.0f, 1.0f,
			       -1.0f };
	float out[8], mid[8];

	(void)state;
	fmt_to_float(FMT_FLOAT, in, mid, 8);
	fmt_from_float(FMT_FLOAT, mid, out, 8);
	assert_memory_equal(want, out, sizeof want);
}

/* +1.0 is one code above the largest positive integer: it saturates there.
 * Beyond full scale clamps; -1.0 is exactly the most negative code. */
static void test_clamp_full_scale(void **state)
{
	const float in[] = { 1.0f, -1.0f, 2.0f, -2.0f, 1e30f, -1e30f,
			     INFINITY, -INFINITY };
	int16_t s16[8];
	int32_t s24[8], s32[8];

	(void)state;
	fmt_from_float(FMT_S16, in, s16, 8);
	fmt_from_float(FMT_S24, in, s24, 8);
	fmt_from_float(FMT_S32, in, s32, 8);
	for (int i = 0; i < 8; i += 2) {
		assert_int_equal(s16[i], 32767);
		assert_int_equal(s16[i + 1], -32768);
		assert_int_equal(s24[i], 8388607);
		assert_int_equal(s24[i + 1], -8388608);
		assert_int_equal(s32[i], INT32_MAX);
		assert_int_equal(s32[i + 1], INT32_MIN);
	}
}

/* The largest float below 1.0 is 1 - 2^-24: exact in S32 arithmetic
 * (2^31 - 128), where float arithmetic would round up and overflow. */
static void test_s32_near_full_scale(void **state)
{
	const float in[] = { nextafterf(1.0f, 0.0f), -nextafterf(1.0f, 0.0f) };
	int32_t out[2];

	(void)state;
	fmt_from_float(FMT_S32, in, out, 2);
	assert_int_equal(out[0], INT32_MAX - 127);
	assert_int_equal(out[1], INT32_MIN + 128);
}

/* Rounds to the nearest code, symmetric around zero (no truncation toward
 * zero, no flooring). */
static void test_rounding(void **state)
{
	const float lsb = 1.0f / 32768.0f;
	const float in[] = { 0.4f * lsb, 0.6f * lsb, -0.4f * lsb, -0.6f * lsb,
			     1.4f * lsb, 1.6f * lsb, -1.4f * lsb, -1.6f * lsb,
			     100.49f * lsb, -100.51f * lsb };
	const int16_t want[] = { 0, 1, 0, -1, 1, 2, -1, -2, 100, -101 };
	int16_t out[10];

	(void)state;
	fmt_from_float(FMT_S16, in, out, 10);
	assert_memory_equal(out, want, sizeof want);
}

static void test_rounding_s24(void **state)
{
	const float lsb = 1.0f / 8388608.0f;
	const float in[] = { 0.6f * lsb, -0.6f * lsb, 0.3f * lsb, 7.7f * lsb };
	const int32_t want[] = { 1, -1, 0, 8 };
	int32_t out[4];

	(void)state;
	fmt_from_float(FMT_S24, in, out, 4);
	assert_memory_equal(out, want, sizeof want);
}

/* S24 lives in the low 24 bits of 32; the top byte is ignored on input
 * and written as sign extension on output. */
static void test_s24_container(void **state)
{
	const int32_t in[] = { (int32_t)0x00800000, (int32_t)0x7f7fffff,
			       (int32_t)0xaa000001, (int32_t)0x00ffffff };
	const float half = -0.5f;
	float out[4];
	int32_t back;

	(void)state;
	fmt_to_float(FMT_S24, in, out, 4);
	assert_true(out[0] == -1.0f);
	assert_true(out[1] == 8388607.0f / 8388608.0f);
	assert_true(out[2] == 1.0f / 8388608.0f);
	assert_true(out[3] == -1.0f / 8388608.0f);
	fmt_from_float(FMT_S24, &half, &back, 1);
	assert_int_equal(back, -4194304);	/* 0xffc00000 */
}

static void test_known_values(void **state)
{
	const int16_t s16[] = { 16384, -16384 };
	const int32_t s32[] = { 1 << 30, -(1 << 30) };
	float f[2];

	(void)state;
	fmt_to_float(FMT_S16, s16, f, 2);
	assert_true(f[0] == 0.5f && f[1] == -0.5f);
	fmt_to_float(FMT_S32, s32, f, 2);
	assert_true(f[0] == 0.5f && f[1] == -0.5f);
}

/* A NaN from a broken producer must not become an arbitrary code. */
static void test_nan_is_silence(void **state)
{
	const float in[] = { NAN, -NAN };
	int16_t s16[2];
	int32_t s32[2];

	(void)state;
	fmt_from_float(FMT_S16, in, s16, 2);
	fmt_from_float(FMT_S32, in, s32, 2);
	assert_int_equal(s16[0], 0);
	assert_int_equal(s16[1], 0);
	assert_int_equal(s32[0], 0);
	assert_int_equal(s32[1], 0);
}

static void test_silence(void **state)
{
	uint8_t buf[64];
	const uint8_t zero[64] = { 0 };

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		memset(buf, 0xa5, sizeof buf);
		fmt_silence(all_fmts[i], buf, 8);
		assert_memory_equal(buf, zero, 8 * fmt_bytes(all_fmts[i]));
		assert_int_equal(buf[8 * fmt_bytes(all_fmts[i])], 0xa5);
	}
}

/* Zero samples is a valid request and touches nothing. */
static void test_zero_length(void **state)
{
	int16_t s = 7;
	float f = 3.0f;

	(void)state;
	fmt_to_float(FMT_S16, &s, &f, 0);
	fmt_from_float(FMT_S16, &f, &s, 0);
	fmt_silence(FMT_S16, &s, 0);
	assert_int_equal(s, 7);
	assert_true(f == 3.0f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_and_names),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_s16_round_trip_all_codes),
		cmocka_unit_test(test_s24_round_trip),
		cmocka_unit_test(test_s32_round_trip),
		cmocka_unit_test(test_float_round_trip),
		cmocka_unit_test(test_clamp_full_scale),
		cmocka_unit_test(test_s32_near_full_scale),
		cmocka_unit_test(test_rounding),
		cmocka_unit_test(test_rounding_s24),
		cmocka_unit_test(test_s24_container),
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_nan_is_silence),
		cmocka_unit_test(test_silence),
		cmocka_unit_test(test_zero_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
