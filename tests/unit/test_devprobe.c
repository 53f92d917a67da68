/* Safeguard and watermark sizing from a pointer probe, table-driven. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sched/devprobe.h"

#define RATE 48000
#define BUF 96000	/* 2 s */
#define FLOAT2 8	/* bytes per float stereo frame: 256 bytes = 32 frames */

enum { NONE = DEVPROBE_NONE, OPT = DEVPROBE_DECLARED, PROBE = DEVPROBE_MEASURED };

struct sizing_case {
	const char *what;
	/* found */
	unsigned frame_bytes;
	int measured;
	int64_t granularity;
	double jitter_us, stall_ms;
	int64_t prefetch;
	/* options */
	unsigned safeguard_us, watermark_ms;
	/* expected, frames */
	uint64_t safeguard, watermark, watermark_min;
	int safeguard_src, watermark_src;
};

static const struct sizing_case sizing_cases[] = {
	/* no probe: today's max(256 bytes, 1.33 ms) and 20 ms */
	{ "no probe", FLOAT2, 0, 1, 0, 0, 0, 0, 0, 64, 960, 0, NONE, NONE },
	{ "no probe, s16 mono: 256 bytes", 2, 0, 1, 0, 0, 0, 0, 0, 128, 960, 0, NONE, NONE },
	{ "no probe, declared prefetch", FLOAT2, 0, 1, 0, 0, 128, 0, 0,
	  64 + 128, 960, 128 + 240, PROBE, PROBE },
	/* exact pointer: 1 ms of lulld's own margin, below 1.33 ms */
	{ "exact", FLOAT2, 1, 1, 0, 0, 0, 0, 0, 48, 960, 240, PROBE, PROBE },
	{ "exact, s16 mono: 256 bytes", 2, 1, 1, 0, 0, 0, 0, 0, 128, 960, 240, PROBE, PROBE },
	{ "jitter 500 us", FLOAT2, 1, 1, 500, 0, 0, 0, 0, 48 + 24, 960, 24 + 240, PROBE, PROBE },
	{ "stall 10 ms", FLOAT2, 1, 1, 0, 10, 0, 0, 0, 48 + 480, 2 * 480 + 192,
	  480 + 240, PROBE, PROBE },
	/* coarse pointer: the granule (less a frame) on top */
	{ "granularity 512", FLOAT2, 1, 512, 0, 0, 0, 0, 0, 48 + 511, 2 * 511 + 192,
	  511 + 240, PROBE, PROBE },
	{ "granularity 64", FLOAT2, 1, 64, 0, 0, 0, 0, 0, 48 + 63, 960, 63 + 240, PROBE, PROBE },
	/* prefetch: invisible to the pointer, declared or from the loopback */
	{ "prefetch 128", FLOAT2, 1, 1, 0, 0, 128, 0, 0, 48 + 128, 960, 128 + 240, PROBE, PROBE },
	{ "granularity 512 + prefetch 128", FLOAT2, 1, 512, 0, 0, 128, 0, 0,
	  48 + 639, 2 * 639 + 192, 639 + 240, PROBE, PROBE },
	/* a period-granular card: capped, half and three quarters of the buffer */
	{ "granularity = period", FLOAT2, 1, 48000, 0, 0, 0, 0, 0, BUF / 2, BUF / 4 * 3,
	  47999 + 240, PROBE, PROBE },
	/* options win */
	{ "safeguard option", FLOAT2, 1, 1, 0, 0, 128, 1330, 0, 64, 960, 128 + 240, OPT, PROBE },
	{ "safeguard option, coarse", FLOAT2, 1, 512, 0, 0, 0, 500, 0, 24, 1214, 751, OPT, PROBE },
	{ "watermark option", FLOAT2, 1, 512, 0, 0, 0, 0, 50, 559, 2400, 751, PROBE, OPT },
	{ "watermark option below the floor", FLOAT2, 1, 512, 0, 0, 0, 0, 10,
	  559, 480, 480, PROBE, OPT },
	{ "both options, no probe", FLOAT2, 0, 1, 0, 0, 0, 2000, 40, 96, 1920, 0, OPT, OPT },
};

static void test_sizing_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof sizing_cases / sizeof sizing_cases[0]; i++) {
		const struct sizing_case *t = &sizing_cases[i];
		struct devprobe_found f = {
			.rate = RATE, .frame_bytes = t->frame_bytes, .buffer = BUF,
			.period = BUF / 2, .measured = t->measured,
			.granularity = t->granularity, .jitter_us = t->jitter_us,
			.stall_ms = t->stall_ms, .prefetch = t->prefetch,
			.prefetch_src = t->prefetch ? DEVPROBE_DECLARED : DEVPROBE_NONE,
		};
		struct devprobe_want w = { t->safeguard_us, t->watermark_ms };
		struct devprobe_choice c;

		memset(&c, 0xa5, sizeof c);
		devprobe_size(&f, &w, &c);
		print_message("%-34s safeguard %llu watermark %llu floor %llu\n", t->what,
			      (unsigned long long)c.safeguard,
			      (unsigned long long)c.watermark,
			      (unsigned long long)c.watermark_min);
		assert_int_equal(c.safeguard, t->safeguard);
		assert_int_equal(c.watermark, t->watermark);
		assert_int_equal(c.watermark_min, t->watermark_min);
		assert_int_equal(c.safeguard_src, t->safeguard_src);
		assert_int_equal(c.watermark_src, t->watermark_src);
		assert_true(c.watermark_min <= c.watermark);
	}
}

/* The rules PulseAudio's fixed safeguard breaks: a coarse pointer needs
 * at least its granule, a prefetching DMA at least its prefetch. */
static void test_covers_the_lead(void **state)
{
	static const int64_t grans[] = { 1, 2, 64, 100, 512, 1024, 4800 };
	static const int64_t prefetches[] = { 0, 16, 64, 128, 1000 };

	(void)state;
	for (size_t i = 0; i < sizeof grans / sizeof grans[0]; i++)
		for (size_t j = 0; j < sizeof prefetches / sizeof prefetches[0]; j++) {
			struct devprobe_found f = {
				.rate = RATE, .frame_bytes = FLOAT2, .buffer = BUF,
				.measured = 1, .granularity = grans[i],
				.prefetch = prefetches[j],
			};
			struct devprobe_want w = { 0, 0 };
			struct devprobe_choice c;

			devprobe_size(&f, &w, &c);
			assert_true(c.safeguard >= (uint64_t)(grans[i] + prefetches[j]));
			assert_true(c.safeguard >= 32);	/* 256 bytes */
			assert_true(c.watermark > c.lead);
			assert_true(c.watermark_min > c.lead);
		}
}

static struct ptrstat_report report(size_t edges, int64_t gran, double span_s)
{
	struct ptrstat_report r;

	memset(&r, 0, sizeof r);
	r.edges = edges;
	r.granularity = gran;
	r.span_s = span_s;
	r.jitter_max_us = NAN;
	r.drift_ppm = NAN;
	r.stall_max_ms = 0;
	return r;
}

static void test_found_from_report(void **state)
{
	struct devprobe_found f = { .rate = RATE, .period = 48000 };
	struct ptrstat_report r = report(400, 512, 0.2);

	(void)state;
	r.jitter_max_us = 120;
	r.drift_ppm = 3;
	devprobe_found_set(&f, &r, NULL);
	assert_int_equal(f.measured, 1);
	assert_int_equal(f.granularity, 512);
	assert_true(fabs(f.jitter_us - 120) < 1e-9);
	assert_true(fabs(f.drift_ppm - 3) < 1e-9);
	assert_int_equal(f.prefetch, 0);
	assert_int_equal(f.prefetch_src, DEVPROBE_NONE);

	/* never moved in 200 ms, period 1 s: a period-granular pointer, and
	 * its stillness is no stall */
	f = (struct devprobe_found){ .rate = RATE, .period = 48000 };
	r = report(0, 1, 0.2);
	r.stall_max_ms = 200;
	devprobe_found_set(&f, &r, NULL);
	assert_int_equal(f.granularity, 48000);
	assert_true(f.stall_ms == 0);
	assert_true(f.jitter_us == 0 && f.drift_ppm == 0);	/* NaN: unknown */

	/* period unknown: at least the probe's length */
	f = (struct devprobe_found){ .rate = RATE };
	devprobe_found_set(&f, &r, NULL);
	assert_int_equal(f.granularity, 9600);
}

static void test_prefetch_from_loopback(void **state)
{
	struct ptrstat_report r = report(400, 1, 0.2);
	struct ptrstat_margin m;
	struct devprobe_found f = { .rate = RATE };

	(void)state;
	ptrstat_margin_init(&m);
	m.prefetch = 130;
	devprobe_found_set(&f, &r, &m);
	assert_int_equal(f.prefetch, 130);
	assert_int_equal(f.prefetch_src, DEVPROBE_MEASURED);

	/* declared wins over measured */
	f = (struct devprobe_found){ .rate = RATE, .prefetch = 64,
				     .prefetch_src = DEVPROBE_DECLARED };
	devprobe_found_set(&f, &r, &m);
	assert_int_equal(f.prefetch, 64);
	assert_int_equal(f.prefetch_src, DEVPROBE_DECLARED);

	/* nothing lost on the loopback: no prefetch */
	f = (struct devprobe_found){ .rate = RATE };
	m.prefetch = 0;
	devprobe_found_set(&f, &r, &m);
	assert_int_equal(f.prefetch, 0);
	assert_int_equal(f.prefetch_src, DEVPROBE_NONE);
}

static void test_src_names(void **state)
{
	(void)state;
	assert_string_equal(devprobe_src_name(DEVPROBE_NONE), "default");
	assert_string_equal(devprobe_src_name(DEVPROBE_DECLARED), "option");
	assert_string_equal(devprobe_src_name(DEVPROBE_MEASURED), "probe");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizing_table),
		cmocka_unit_test(test_covers_the_lead),
		cmocka_unit_test(test_found_from_report),
		cmocka_unit_test(test_prefetch_from_loopback),
		cmocka_unit_test(test_src_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
