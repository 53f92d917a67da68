/* Wakeup planning, table-driven against a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sched/planner.h"

#define MS 1000000LL

struct row {
	const char *what;
	struct plan_in in;
	uint64_t write;
	int64_t wake;
};

static void test_table(void **state)
{
	static const struct row rows[] = {
		{ "empty 2 s buffer: fill it, wake at the 20 ms watermark",
		  { 1000 * MS, 0, 48000, 96000, 960, 96000 }, 96000, 1000 * MS + 1980 * MS },
		{ "woken at the watermark: top up again",
		  { 2980 * MS, 960, 48000, 96000, 960, 96000 }, 95040, 2980 * MS + 1980 * MS },
		{ "woken late, 5 ms left: write more, same rhythm",
		  { 3000 * MS, 240, 48000, 96000, 960, 96000 }, 95760, 3000 * MS + 1980 * MS },
		{ "lower target (a 40 ms client)",
		  { 0, 960, 48000, 1920, 960, 96000 }, 960, 20 * MS },
		{ "already above target: write nothing, wake when it drains",
		  { 0, 4800, 48000, 1920, 960, 96000 }, 0, 80 * MS },
		{ "fast card (+500 ppm): wakes a little earlier",
		  { 0, 0, 48024, 96000, 960, 96000 }, 96000, 1979010494 },
		{ "target beyond the buffer is clamped",
		  { 0, 0, 48000, 200000, 960, 96000 }, 96000, 1980 * MS },
		{ "bogus negative fill counts as empty",
		  { 0, -50, 48000, 96000, 960, 96000 }, 96000, 1980 * MS },
		{ "below the watermark after writing: wake now",
		  { 7 * MS, 100, 48000, 500, 960, 96000 }, 400, 7 * MS },
	};

	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct plan_out out;
		planner_plan(&rows[i].in, &out);
		if (out.write != rows[i].write || llabs(out.wake_ns - rows[i].wake) > 1000)
			fail_msg("%s: wrote %llu (want %llu), wake %lld (want %lld)",
				 rows[i].what, (unsigned long long)out.write,
				 (unsigned long long)rows[i].write, (long long)out.wake_ns,
				 (long long)rows[i].wake);
	}
}

/* Simulate a day of wakeups on an exact card: never below the watermark,
 * one wakeup per (buffer - watermark). */
static void test_steady_state(void **state)
{
	int64_t t = 0;
	uint64_t written = 0, wakeups = 0;
	const double rate = 48000;

	(void)state;
	while (t < 3600 * 1000 * MS) {
		uint64_t played = (uint64_t)((double)t * rate / 1e9);
		struct plan_in in = { t, (int64_t)(written - played), rate, 96000, 960, 96000 };
		struct plan_out out;
		planner_plan(&in, &out);
		written += out.write;
		assert_true(written - played <= 96000);
		assert_true(out.wake_ns > t);
		t = out.wake_ns;
		assert_true(written - (uint64_t)((double)t * rate / 1e9) >= 959);
		wakeups++;
	}
	/* 3600 s / 1.98 s = 1818 wakeups */
	assert_in_range(wakeups, 1815, 1822);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_steady_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
