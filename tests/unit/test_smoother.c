/* Clock smoother: an exact clock reads 0 ppm; drift is found through
 * timestamp jitter; outliers, jumps and bursts of wakeups do not disturb
 * it; the estimate is clamped at +-1000 ppm; reset keeps the rate.
 *
 * How close can a fit get? With points every 0.5-2 s and timestamps off by
 * up to +-1 ms (uniform, sigma 0.58 ms), the slope of a least-squares line
 * through n points spread over T seconds has a standard deviation of about
 * sigma * sqrt(12 / n) / T: ~70 ppm after 10 s (8 points), ~3 ppm once the
 * 64-point window spans ~80 s. The bounds below are set from that. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/smoother.h"

#define RATE 48000.0
#define T0 1000000000000LL	/* 1000 s: CLOCK_MONOTONIC is never 0 */
#define P0 123456789ULL
#define MS 1000000LL
#define SEC 1000000000LL

/* xorshift64 */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Uniform in [0, 1). */
static double rnd_unit(uint64_t *s)
{
	return (double)(rnd(s) >> 11) / (double)(1ull << 53);
}

/* A card whose clock runs `ppm` fast, read at wakeups every 0.5-2 s with
 * the timestamp off by up to +-jitter_ns. */
struct card {
	double ppm;
	int64_t jitter_ns;
	int64_t t;		/* true time of the next reading */
	uint64_t seed;
	int64_t jump;		/* frames added to every position */
};

static uint64_t card_pos(const struct card *c, int64_t t)
{
	double frames = RATE * (1 + c->ppm * 1e-6) * (double)(t - T0) * 1e-9;

	return P0 + (uint64_t)(int64_t)floor(frames) + (uint64_t)c->jump;
}

/* Feeds the next reading to s. */
static void card_step(struct card *c, struct smoother *s)
{
	int64_t jit = 0;

	if (c->jitter_ns)
		jit = (int64_t)((rnd_unit(&c->seed) * 2 - 1) * (double)c->jitter_ns);
	smoother_put(s, c->t + jit, card_pos(c, c->t));
	c->t += 500 * MS + (int64_t)(rnd_unit(&c->seed) * 1500.0) * MS;
}

static void card_run(struct card *c, struct smoother *s, int64_t until)
{
	while (c->t < until)
		card_step(c, s);
}

/* Exact readings (whole milliseconds, 48 frames each) give exactly the
 * nominal rate, from the first trusted fit on. */
static void test_exact_clock(void **state)
{
	struct smoother s;
	uint64_t seed = 1;
	int64_t t = T0;

	(void)state;
	smoother_init(&s, RATE);
	assert_true(smoother_rate(&s) == RATE);
	for (int i = 0; i < 200; i++) {
		smoother_put(&s, t, P0 + (uint64_t)((t - T0) / MS) * 48);
		assert_true(fabs(smoother_ppm(&s)) <= 1.0);
		t += 500 * MS + (int64_t)(rnd(&seed) % 1500) * MS;
	}
	assert_true(fabs(smoother_ppm(&s)) < 1e-3);
	assert_int_equal(smoother_frames_to_ns(&s, 48000.0), SEC);
	assert_int_equal(smoother_frames_to_ns(&s, 480.0), 10 * MS);
}

static void check_drift(double ppm)
{
	double worst10 = 0, worst_full = 0, sum10 = 0;
	enum { SEEDS = 20 };

	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		struct card c = { .ppm = ppm, .jitter_ns = 1 * MS, .t = T0,
				  .seed = seed * 0x9e3779b97f4a7c15ull };
		struct smoother s;
		double e;

		smoother_init(&s, RATE);
		card_run(&c, &s, T0 + 10 * SEC);
		e = smoother_ppm(&s) - ppm;
		sum10 += e;
		worst10 = fmax(worst10, fabs(e));
		/* sigma ~70 ppm here: 300 is > 4 sigma */
		assert_true(fabs(e) < 300);
		card_run(&c, &s, T0 + 150 * SEC);
		e = smoother_ppm(&s) - ppm;
		worst_full = fmax(worst_full, fabs(e));
		/* window full, sigma ~3 ppm */
		assert_true(fabs(e) < 20);
	}
	print_message("%+.0f ppm, 1 ms jitter, %d runs: worst error %.1f ppm "
		      "after 10 s (mean %+.1f), %.2f ppm after 150 s\n", ppm,
		      SEEDS, worst10, sum10 / SEEDS, worst_full);
	/* No bias: the mean of 20 runs has sigma ~16 ppm. */
	assert_true(fabs(sum10 / SEEDS) < 60);
}

static void test_drift_with_jitter(void **state)
{
	(void)state;
	check_drift(+500);
	check_drift(-500);
	check_drift(0);
}

/* One sample far off (a second) or moderately off (15 ms, 30 jitter
 * widths) between two good ones leaves the estimate where it would have
 * been without it. With ~15 points over ~19 s, taking the 15 ms point at
 * face value would move the slope by a few hundred ppm. */
static void check_outlier(int64_t frames_off, int64_t time_off)
{
	struct card a = { .ppm = 300, .jitter_ns = 1 * MS, .t = T0, .seed = 42 };
	struct card b = a;
	struct smoother sa, sb;

	smoother_init(&sa, RATE);
	smoother_init(&sb, RATE);
	for (int i = 0; i < 16; i++) {
		card_step(&a, &sa);
		card_step(&b, &sb);
		if (i == 12) {
			int64_t t = b.t - 200 * MS;

			smoother_put(&sb, t + time_off,
				     card_pos(&b, t) + (uint64_t)frames_off);
			assert_true(fabs(smoother_ppm(&sa) - smoother_ppm(&sb)) < 1);
		}
	}
	print_message("outlier %+lld frames %+lld ns: %.3f vs %.3f ppm\n",
		      (long long)frames_off, (long long)time_off,
		      smoother_ppm(&sa), smoother_ppm(&sb));
	assert_true(fabs(smoother_ppm(&sa) - smoother_ppm(&sb)) < 1);
}

static void test_outlier(void **state)
{
	(void)state;
	check_outlier(48000, 0);
	check_outlier(-48000, 0);
	check_outlier(720, 0);
	check_outlier(-720, 0);
	check_outlier(0, 15 * MS);
}

/* A clock beyond +-1000 ppm is a broken pointer: the estimate stops at
 * the clamp. */
static void test_clamp(void **state)
{
	static const double ppms[] = { 3000, -3000, 50000, -50000 };

	(void)state;
	for (size_t i = 0; i < sizeof ppms / sizeof ppms[0]; i++) {
		struct card c = { .ppm = ppms[i], .t = T0, .seed = 7 };
		struct smoother s;

		smoother_init(&s, RATE);
		card_run(&c, &s, T0 + 30 * SEC);
		assert_true(fabs(smoother_ppm(&s) - copysign(1000, ppms[i])) < 1e-6);
	}
}

/* After a reset the positions start over (here from 0, as after a stop),
 * but the clock is the same: the estimate neither moves nor waits for
 * 0.5 s of new points, and the new points keep refining it. */
static void test_reset_keeps_rate(void **state)
{
	struct card c = { .ppm = 400, .jitter_ns = 1 * MS, .t = T0, .seed = 3 };
	struct smoother s;
	double before;

	(void)state;
	smoother_init(&s, RATE);
	card_run(&c, &s, T0 + 100 * SEC);
	before = smoother_ppm(&s);
	assert_true(fabs(before - 400) < 20);
	smoother_reset(&s);
	assert_true(smoother_ppm(&s) == before);
	c.jump = -(int64_t)card_pos(&c, c.t);	/* positions restart at 0 */
	for (int i = 0; i < 80; i++) {
		card_step(&c, &s);
		assert_true(fabs(smoother_ppm(&s) - 400) < 20);
	}
	/* A reset before the very first fit: nominal until 0.5 s of points. */
	smoother_init(&s, RATE);
	smoother_put(&s, T0, P0);
	smoother_reset(&s);
	smoother_put(&s, T0 + 100 * MS, 0);
	smoother_put(&s, T0 + 200 * MS, 4800);
	assert_true(smoother_rate(&s) == RATE);
}

/* The position jumps by a second (an xrun nobody reported) and carries on
 * at the same rate: the estimate never strays while the window holds
 * points from both sides of the step. */
static void test_jump(void **state)
{
	struct card c = { .ppm = -250, .jitter_ns = 1 * MS, .t = T0, .seed = 11 };
	struct smoother s;

	(void)state;
	smoother_init(&s, RATE);
	card_run(&c, &s, T0 + 100 * SEC);
	assert_true(fabs(smoother_ppm(&s) + 250) < 20);
	c.jump = 48000;
	for (int i = 0; i < 100; i++) {
		card_step(&c, &s);
		assert_true(fabs(smoother_ppm(&s) + 250) < 20);
	}
}

/* Wakeups every 10 ms for a minute: the window still spans 16 s (64
 * points 0.25 s apart, sigma ~16 ppm), not 0.64 s (sigma ~1000 ppm). */
static void test_burst_keeps_span(void **state)
{
	struct smoother s;
	uint64_t seed = 5;

	(void)state;
	smoother_init(&s, RATE);
	for (int64_t t = T0; t < T0 + 60 * SEC; t += 10 * MS) {
		int64_t jit = (int64_t)((rnd_unit(&seed) * 2 - 1) * MS);
		double frames = RATE * (1 + 200e-6) * (double)(t - T0) * 1e-9;

		smoother_put(&s, t + jit, P0 + (uint64_t)frames);
	}
	assert_true(s.span_ns >= 15 * SEC);
	assert_int_equal(s.n, SMOOTHER_WINDOW);
	assert_true(fabs(smoother_ppm(&s) - 200) < 60);
}

/* Time that does not advance is ignored. */
static void test_time_must_advance(void **state)
{
	struct smoother s;

	(void)state;
	smoother_init(&s, RATE);
	smoother_put(&s, T0, P0);
	smoother_put(&s, T0, P0 + 1000);
	smoother_put(&s, T0 - SEC, P0);
	assert_int_equal(s.n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_clock),
		cmocka_unit_test(test_drift_with_jitter),
		cmocka_unit_test(test_outlier),
		cmocka_unit_test(test_clamp),
		cmocka_unit_test(test_reset_keeps_rate),
		cmocka_unit_test(test_jump),
		cmocka_unit_test(test_burst_keeps_span),
		cmocka_unit_test(test_time_must_advance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
