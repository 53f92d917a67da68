/* The simulated card's clock: exact positions and each imperfection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tools/simcard/simclock.h"

#define MS 1000000LL
#define T0 (1000 * MS)	/* an arbitrary start time */

static struct simclock clock_new(struct simclock_cfg cfg)
{
	struct simclock c;

	if (!cfg.rate)
		cfg.rate = 48000;
	simclock_init(&c, &cfg);
	simclock_start(&c, T0, 0);
	return c;
}

static void test_exact_position(void **state)
{
	struct simclock c = clock_new((struct simclock_cfg){ 0 });

	(void)state;
	assert_int_equal(simclock_pos(&c, T0), 0);
	assert_int_equal(simclock_pos(&c, T0 + 1000 * MS), 48000);
	/* an hour in, still exact */
	assert_int_equal(simclock_pos(&c, T0 + 3600000 * MS), 48000ULL * 3600);
	assert_int_equal(simclock_report(&c, T0 + 500 * MS), 24000);
	/* when() is the inverse of pos(): the first instant of each frame */
	for (uint64_t f = 1; f < 100000; f += 997) {
		int64_t t = simclock_when(&c, f);
		assert_int_equal(simclock_pos(&c, t), f);
		assert_int_equal(simclock_pos(&c, t - 1), f - 1);
	}
}

static void test_drift(void **state)
{
	struct simclock c = clock_new((struct simclock_cfg){ .drift_ppm = 500 });

	(void)state;
	/* 100 s at 48 kHz + 500 ppm = 4 800 000 + 2400 frames */
	assert_int_equal(simclock_pos(&c, T0 + 100000 * MS), 4802400);
	c = clock_new((struct simclock_cfg){ .drift_ppm = -500 });
	assert_int_equal(simclock_pos(&c, T0 + 100000 * MS), 4797600);
}

static void test_granularity(void **state)
{
	struct simclock c = clock_new((struct simclock_cfg){ .granularity = 64 });

	(void)state;
	for (int64_t t = T0; t < T0 + 200 * MS; t += MS / 3) {
		uint64_t r = simclock_report(&c, t);
		assert_int_equal(r % 64, 0);
		assert_true(r <= simclock_pos(&c, t));
		assert_true(r + 64 > simclock_pos(&c, t));
	}
}

static void test_jitter_bounded_and_monotonic(void **state)
{
	struct simclock c = clock_new((struct simclock_cfg){ .jitter_us = 500, .seed = 7 });
	uint64_t last = 0;
	int off = 0;

	(void)state;
	for (int64_t t = T0 + 10 * MS; t < T0 + 1000 * MS; t += MS / 7) {
		uint64_t r = simclock_report(&c, t);
		uint64_t lo = simclock_pos(&c, t - 500000), hi = simclock_pos(&c, t + 500000);
		assert_true(r >= last);
		assert_true(r <= hi);
		/* monotonic clamping may hold it at an earlier report */
		assert_true(r >= lo || r == last);
		off += r != simclock_pos(&c, t);
		last = r;
	}
	assert_true(off > 1000);	/* it really does jitter */
}

static void test_stall(void **state)
{
	struct simclock c = clock_new((struct simclock_cfg){
		.stall_ms = 20, .stall_every_ms = 100 });

	(void)state;
	/* first stall from 100 ms to 120 ms: frozen at 4800 frames */
	assert_int_equal(simclock_report(&c, T0 + 99 * MS), 4752);
	assert_int_equal(simclock_report(&c, T0 + 105 * MS), 4800);
	assert_int_equal(simclock_report(&c, T0 + 119 * MS), 4800);
	assert_int_equal(simclock_report(&c, T0 + 121 * MS), 5808);
	assert_int_equal(simclock_pos(&c, T0 + 110 * MS), 5280);	/* DMA runs on */
}

static void test_jump_once_per_period(void **state)
{
	struct simclock c = clock_new((struct simclock_cfg){
		.jump_every_ms = 100, .jump_frames = 96000 });

	(void)state;
	assert_int_equal(simclock_report(&c, T0 + 50 * MS), 2400);
	assert_int_equal(simclock_report(&c, T0 + 101 * MS), 4848 + 96000);
	/* read twice in a row, as snd_pcm_avail does: both see it */
	assert_int_equal(simclock_report(&c, T0 + 101 * MS + 50000), 4850 + 96000);
	assert_int_equal(simclock_report(&c, T0 + 102 * MS), 4896);
	assert_int_equal(simclock_report(&c, T0 + 150 * MS), 7200);
	assert_int_equal(simclock_report(&c, T0 + 201 * MS), 9648 + 96000);
}

static void test_stop_and_resume(void **state)
{
	struct simclock c = clock_new((struct simclock_cfg){ 0 });
	uint64_t at = simclock_pos(&c, T0 + 100 * MS);

	(void)state;
	simclock_stop(&c, at);
	assert_int_equal(simclock_pos(&c, T0 + 900 * MS), 4800);
	simclock_start(&c, T0 + 1000 * MS, at);
	assert_int_equal(simclock_pos(&c, T0 + 1100 * MS), 9600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_position),
		cmocka_unit_test(test_drift),
		cmocka_unit_test(test_granularity),
		cmocka_unit_test(test_jitter_bounded_and_monotonic),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_jump_once_per_period),
		cmocka_unit_test(test_stop_and_resume),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
