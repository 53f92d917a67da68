/* The adaptive watermark against a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sched/watermark.h"

#define MS 1000000LL
#define F(ms) ((uint64_t)(ms) * 48)	/* frames at 48 kHz */

static struct watermark wm_new(void)
{
	struct watermark w;
	struct watermark_cfg c = {
		.rate = 48000, .initial = F(20), .min = F(5), .max = F(1000),
		.step_up = F(10), .step_down = F(5), .stable_ns = 20000 * MS,
	};

	watermark_init(&w, &c, 0);
	return w;
}

static void test_xrun_doubles(void **state)
{
	struct watermark w = wm_new();

	(void)state;
	assert_int_equal(watermark_xrun(&w, 1 * MS), 1);
	assert_int_equal(watermark_get(&w), F(40));
	watermark_xrun(&w, 2 * MS);
	assert_int_equal(watermark_get(&w), F(80));
	for (int i = 0; i < 10; i++)
		watermark_xrun(&w, 3 * MS);
	assert_int_equal(watermark_get(&w), F(1000));	/* capped */
}

static void test_near_miss_raises(void **state)
{
	struct watermark w = wm_new();

	(void)state;
	assert_int_equal(watermark_wakeup(&w, 1000 * MS, 0, (int64_t)F(15)), 0);
	assert_int_equal(watermark_wakeup(&w, 2000 * MS, 0, (int64_t)F(9)), 1);
	assert_int_equal(watermark_get(&w), F(30));
}

/* A deep fill target plans wakeups a twelfth of it early, at most 1/6 s;
 * a shallow one leaves the adaptive watermark alone. */
static void test_deep_target_headroom(void **state)
{
	struct watermark w = wm_new();

	(void)state;
	watermark_deep(&w, F(2000));
	assert_int_equal(watermark_get(&w), F(20));
	assert_int_equal(watermark_plan(&w), F(2000) / 12);
	watermark_deep(&w, F(4000));
	assert_int_equal(watermark_plan(&w), 48000 / 6);
	watermark_deep(&w, F(40));
	assert_int_equal(watermark_plan(&w), F(20));
}

/* 18 ms late wakeups (this machine's real-time thread at its worst): the
 * watermark settles at twice that plus 2 ms, by itself. */
static void test_settles_above_lateness(void **state)
{
	struct watermark w = wm_new();

	(void)state;
	watermark_wakeup(&w, 1000 * MS, 18 * MS, (int64_t)F(20));
	assert_int_equal(watermark_get(&w), F(38));
	for (int64_t t = 2; t < 600; t++)
		watermark_wakeup(&w, t * 1000 * MS, 18 * MS, (int64_t)F(38));
	assert_int_equal(watermark_get(&w), F(38));
}

static void test_lowers_slowly_when_stable(void **state)
{
	struct watermark w = wm_new();
	int changes = 0;

	(void)state;
	watermark_xrun(&w, 0);			/* 40 ms */
	for (int64_t t = 1; t <= 200; t++)	/* 200 s of punctual wakeups */
		changes += watermark_wakeup(&w, t * 1000 * MS, 100000, (int64_t)F(40));
	/* 5 ms every 20 s, down to twice the lateness + 2 ms = min 5 ms */
	assert_int_equal(watermark_get(&w), F(5));
	assert_int_equal(changes, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deep_target_headroom),
		cmocka_unit_test(test_xrun_doubles),
		cmocka_unit_test(test_near_miss_raises),
		cmocka_unit_test(test_settles_above_lateness),
		cmocka_unit_test(test_lowers_slowly_when_stable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
