/* Pointer statistics on synthetic pointers: exact, quantised, jittered,
 * drifting, stalling, jumping, irregular (USB-like), with a FIFO; the
 * verdict built from them; the loopback margin search and marker codes.
 * Each series is made by a small model of a card read by a dithered
 * sampler, so the expected figures are known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/ptrstat.h"

#define T0 1000000000000LL	/* ns: a CLOCK_MONOTONIC-like origin */

struct synth {
	unsigned rate;
	int64_t gran;		/* frames */
	double jitter_us;	/* read position at t + u, u in [-J, J] */
	double drift_ppm;
	double seconds;
	double interval_us;	/* mean, dithered over [0.5, 1.5] */
	double call_us;		/* a read's bracket */
	double stall_ms, stall_every_ms;
	double packet_us;	/* > 0: position latched every packet */
	int64_t fifo;
	bool capture;
	uint64_t seed;
};

static double uniform(uint64_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return (double)(*r >> 11) / 9007199254740992.0;
}

/* Time the card's pointer is looked up at, for a read at t. */
static double card_time(const struct synth *c, double t, uint64_t *rng)
{
	double rel = t - T0, every = c->stall_every_ms * 1e6;

	if (every > 0 && rel >= every && fmod(rel, every) < c->stall_ms * 1e6)
		t -= fmod(rel, every);		/* frozen since the stall began */
	if (c->jitter_us > 0)
		t += (uniform(rng) * 2 - 1) * c->jitter_us * 1e3;
	if (c->packet_us > 0)
		t = T0 + floor((t - T0) / (c->packet_us * 1e3)) * c->packet_us * 1e3;
	return t;
}

static int64_t card_pos(const struct synth *c, double t)
{
	double f = (t - T0) * 1e-9 * c->rate * (1 + c->drift_ppm * 1e-6);
	int64_t p = f > 0 ? (int64_t)floor(f) : 0;

	return p - p % c->gran;
}

/* Fills a series; playback keeps 1-1.5 s written ahead, capture reads
 * down to 0.5 s. */
static void synth(const struct synth *c, struct ptrstat_series *s)
{
	uint64_t rng = c->seed ? c->seed : 88172645463325252ULL;
	size_t n = (size_t)(c->seconds * 1e6 / c->interval_us) + 16;
	int64_t buffer = 2 * c->rate, appl = c->capture ? 0 : buffer, last = 0;
	double t = T0 + 1e6;

	assert_int_equal(ptrstat_series_init(s, n), 0);
	s->rate = c->rate;
	s->buffer = buffer;
	s->period = buffer / 4;
	s->capture = c->capture;
	for (size_t i = 0; i < n && t < T0 + c->seconds * 1e9; i++) {
		struct ptrstat_sample x = { 0 };
		double tr = t + uniform(&rng) * c->call_us * 1e3;
		int64_t p = card_pos(c, card_time(c, tr, &rng));

		if (p < last)
			p = last;		/* the card never goes back */
		last = p;
		x.t_lo = (int64_t)t;
		x.t_hi = (int64_t)(t + c->call_us * 1e3);
		x.pos = p;
		x.appl = appl;
		x.avail = c->capture ? p - appl : buffer - (appl - p);
		x.delay = (c->capture ? p - appl : appl - p) + c->fifo;
		x.flags = PTRSTAT_HAS_DELAY | (i == 0 ? PTRSTAT_RESTART : 0);
		if (i % 8 == 7) {
			x.ts = (int64_t)tr;
			x.flags |= PTRSTAT_HAS_TS;
		}
		assert_int_equal(ptrstat_series_add(s, &x), 0);
		if (!c->capture && appl - p < buffer / 2)
			appl += buffer / 4;
		if (c->capture && p - appl > buffer / 2)
			appl += buffer / 4;
		t += c->interval_us * 1e3 * (0.5 + uniform(&rng));
	}
}

static struct synth base(void)
{
	return (struct synth){ .rate = 48000, .gran = 1, .seconds = 3,
			       .interval_us = 200, .call_us = 5 };
}

static void analyse(const struct synth *c, struct ptrstat_report *r)
{
	struct ptrstat_series s;

	synth(c, &s);
	assert_int_equal(ptrstat_analyse(&s, r), 0);
	ptrstat_series_free(&s);
}

static void assert_between(double v, double lo, double hi)
{
	if (!(v >= lo && v <= hi))
		fail_msg("%g is outside [%g, %g]", v, lo, hi);
}

/* --- pointer figures -------------------------------------------------------- */

static void test_exact(void **state)
{
	struct synth c = base();
	struct ptrstat_report r;

	(void)state;
	analyse(&c, &r);
	assert_int_equal(r.quantum, 1);
	assert_int_equal(r.granularity, 1);
	assert_int_equal(r.backward, 0);
	assert_int_equal(r.jumps, 0);
	assert_int_equal(r.stalls, 0);
	assert_true(r.fit.valid);
	assert_true(r.edges > 10000);
	assert_between(r.drift_ppm, -1, 1);
	assert_between(r.jitter_max_us, 0, 10);
	assert_between(r.extra_p50, 0, 0);
	assert_between(r.interval_us, 150, 250);
}

/* A coarse but exact pointer shows ~0 jitter: a fit to the read times
 * would show up to a whole granule (1333 us) of it. */
static void test_quantised(void **state)
{
	struct synth c = base();
	struct ptrstat_report r;

	(void)state;
	c.gran = 64;
	analyse(&c, &r);
	assert_int_equal(r.quantum, 64);
	assert_int_equal(r.granularity, 64);
	assert_int_equal(r.step_min, 64);
	assert_int_equal(r.hist[0].step, 64);
	assert_between(r.jitter_max_us, 0, 10);
	assert_between(r.drift_ppm, -5, 5);
	assert_between(r.update_us, 1300, 1370);
	assert_int_equal(r.stalls, 0);
}

static void test_period(void **state)
{
	struct synth c = base();
	struct ptrstat_report r;

	(void)state;
	c.gran = 960;			/* one 20 ms period */
	analyse(&c, &r);
	assert_int_equal(r.quantum, 960);
	assert_int_equal(r.granularity, 960);
	assert_between(r.jitter_max_us, 0, 10);
	assert_between(r.drift_ppm, -10, 10);
	assert_int_equal(r.stalls, 0);	/* 20 ms still is normal here */
}

static void test_jitter(void **state)
{
	struct synth c = base();
	struct ptrstat_report r;

	(void)state;
	c.jitter_us = 500;
	analyse(&c, &r);
	assert_int_equal(r.granularity, 1);
	assert_between(r.jitter_max_us, 350, 750);
	assert_between(r.jitter_p50_us, 50, 400);
	assert_between(r.drift_ppm, -15, 15);
	assert_int_equal(r.stalls, 0);
	assert_int_equal(r.backward, 0);
}

static void test_drift(void **state)
{
	struct synth c = base();
	struct ptrstat_report r;

	(void)state;
	c.drift_ppm = 300;
	analyse(&c, &r);
	assert_between(r.drift_ppm, 299, 301);
	assert_between(r.rate_hz, 48014, 48015);
	c.drift_ppm = -500;
	analyse(&c, &r);
	assert_between(r.drift_ppm, -501, -499);
	c.gran = 64;
	c.drift_ppm = 300;
	analyse(&c, &r);
	assert_between(r.drift_ppm, 295, 305);
	assert_between(r.jitter_max_us, 0, 10);
}

static void test_stall(void **state)
{
	struct synth c = base();
	struct ptrstat_report r;
	struct ptrstat_verdict v;

	(void)state;
	c.stall_ms = 50;
	c.stall_every_ms = 500;
	analyse(&c, &r);
	assert_int_equal(r.stalls, 5);		/* at 0.5, 1, 1.5, 2, 2.5 s */
	assert_between(r.stall_max_ms, 45, 50.5);
	assert_between(r.stall_threshold_ms, 1.9, 5);
	ptrstat_judge(&r, 48000, r.samples ? 96000 : 0, 4, NULL, NULL, NULL, &v);
	assert_true(v.timer_fit);
	assert_true(v.findings & (1u << PTRSTAT_NOTE_STALLS));
	assert_true(v.watermark_ms >= 100);
	assert_true(v.safeguard_frames >= 64 + 2400 - 100);
}

static void test_jump_and_backward(void **state)
{
	struct synth c = base();
	struct ptrstat_series s;
	struct ptrstat_report r;

	(void)state;
	synth(&c, &s);
	/* one read 2 buffers ahead: avail beyond the buffer */
	s.s[1000].pos += 2 * s.buffer;
	s.s[1000].avail += 2 * s.buffer;
	/* one read 500 frames ahead (avail still plausible), then back */
	s.s[2000].pos += 500;
	s.s[2000].avail += 500;
	/* one read with a bogus delay */
	s.s[3000].delay -= 2 * s.buffer;
	assert_int_equal(ptrstat_analyse(&s, &r), 0);
	assert_int_equal(r.jumps, 1);
	assert_int_equal(r.jump_max, s.s[1000].avail - s.buffer);
	assert_int_equal(r.delay_jumps, 1);
	assert_int_equal(r.backward, 1);
	assert_true(r.backward_max >= 450 && r.backward_max <= 500);
	assert_int_equal(r.granularity, 1);
	assert_between(r.jitter_max_us, 0, 10);	/* the spike is not an edge */
	assert_between(r.extra_max, 0, 0);
	ptrstat_series_free(&s);
}

/* 44.1 kHz latched every 1 ms: steps of 44 and 45, no common quantum. */
static void test_usb(void **state)
{
	struct synth c = base();
	struct ptrstat_report r;

	(void)state;
	c.rate = 44100;
	c.packet_us = 1000;
	analyse(&c, &r);
	assert_int_equal(r.quantum, 1);
	assert_between((double)r.granularity, 44, 45);
	assert_between(r.update_us, 950, 1050);
	assert_between(r.drift_ppm, -10, 10);
}

static void test_fifo_and_capture(void **state)
{
	struct synth c = base();
	struct ptrstat_report r;

	(void)state;
	c.fifo = 256;
	analyse(&c, &r);
	assert_between(r.extra_p50, 256, 256);
	assert_between(r.extra_p1, 256, 256);
	assert_between(r.extra_p99, 256, 256);
	c.capture = true;
	c.fifo = 32;
	c.gran = 64;
	analyse(&c, &r);
	assert_int_equal(r.granularity, 64);
	assert_between(r.extra_p50, 32, 32);
	assert_between(r.jitter_max_us, 0, 10);
}

static void test_timestamps(void **state)
{
	struct synth c = base();
	struct ptrstat_report r;

	(void)state;
	analyse(&c, &r);
	assert_true(r.htstamp.n > 1000);
	assert_int_equal(r.status.n, 0);
	assert_between(r.htstamp.age_p50_us, 0, 5);
	/* stamped within a frame (20.8 us) after the card reached pos */
	assert_between(r.htstamp.err_p50_us, -2, 22);
	assert_between(r.htstamp.err_max_us, 0, 25);
}

static void test_invalid(void **state)
{
	struct ptrstat_series s;
	struct ptrstat_report r;
	struct ptrstat_sample x = { .t_lo = T0, .t_hi = T0 + 1 };

	(void)state;
	assert_int_equal(ptrstat_series_init(&s, 1), 0);
	s.rate = 48000;
	s.buffer = 96000;
	assert_int_equal(ptrstat_analyse(&s, &r), -EINVAL);
	assert_int_equal(ptrstat_series_add(&s, &x), 0);
	assert_int_equal(ptrstat_series_add(&s, &x), -ENOSPC);
	assert_int_equal(ptrstat_analyse(&s, &r), -EINVAL);
	ptrstat_series_free(&s);
}

/* A still pointer: no steps, no line, and the verdict says so. */
static void test_still(void **state)
{
	struct synth c = base();
	struct ptrstat_series s;
	struct ptrstat_report r;
	struct ptrstat_verdict v;

	(void)state;
	synth(&c, &s);
	for (size_t i = 0; i < s.n; i++) {
		s.s[i].pos = 0;
		s.s[i].avail = s.buffer - s.s[i].appl;
	}
	assert_int_equal(ptrstat_analyse(&s, &r), 0);
	assert_int_equal(r.edges, 0);
	assert_false(r.fit.valid);
	assert_true(isnan(r.drift_ppm));
	ptrstat_judge(&r, 48000, s.buffer, 4, NULL, NULL, NULL, &v);
	assert_false(v.timer_fit);
	assert_true(v.findings & (1u << PTRSTAT_STILL));
	ptrstat_series_free(&s);
}

/* --- verdict ----------------------------------------------------------------- */

static void judge(const struct synth *c, const struct ptrstat_rewind *rw,
		  const struct ptrstat_margin *mg, struct ptrstat_verdict *v)
{
	struct ptrstat_report r;

	analyse(c, &r);
	ptrstat_judge(&r, c->rate, 2 * c->rate, 4, rw, mg, NULL, v);
}

static void test_verdict_exact(void **state)
{
	struct synth c = base();
	struct ptrstat_rewind rw = { .tried = 6, .rewindable = 90000 };
	struct ptrstat_verdict v;

	(void)state;
	judge(&c, &rw, NULL, &v);
	assert_true(v.timer_fit);
	assert_true(v.rewind_fit);
	assert_true(v.watermark_ms == 10);
	assert_int_equal(v.safeguard_frames, 64);	/* 1.33 ms = 256 bytes */
	assert_between(v.safeguard_ms, 1.33, 1.34);
	assert_int_equal(v.findings, 0);
}

static void test_verdict_margins(void **state)
{
	struct synth c = base();
	struct ptrstat_margin mg;
	struct ptrstat_verdict v;

	(void)state;
	c.jitter_us = 5000;
	judge(&c, NULL, NULL, &v);
	assert_true(v.timer_fit);
	assert_true(v.watermark_ms > 12);
	assert_true(v.safeguard_frames > 64 + 100);
	assert_true(v.findings & (1u << PTRSTAT_NOTE_JITTER));

	c = base();
	c.gran = 960;
	judge(&c, NULL, NULL, &v);
	assert_true(v.timer_fit);
	assert_true(v.watermark_ms >= 44);
	assert_int_equal(v.safeguard_frames, 64 + 959);
	assert_true(v.findings & (1u << PTRSTAT_NOTE_GRANULAR));

	/* a loopback that saw the card 128 frames ahead of its pointer */
	c = base();
	ptrstat_margin_init(&mg);
	mg.safe = 144;
	mg.prefetch = 128;
	judge(&c, NULL, &mg, &v);
	assert_int_equal(v.safeguard_frames, 64 + 128);
	assert_true(v.findings & (1u << PTRSTAT_NOTE_PREFETCH));
}

static void test_verdict_unfit(void **state)
{
	struct synth c = base();
	struct ptrstat_series s;
	struct ptrstat_report r;
	struct ptrstat_rewind rw = { .tried = 6, .short_ret = 1 };
	struct ptrstat_verdict v;

	(void)state;
	synth(&c, &s);
	s.s[500].pos += 2 * s.buffer;
	s.s[500].avail += 2 * s.buffer;
	assert_int_equal(ptrstat_analyse(&s, &r), 0);
	ptrstat_judge(&r, 48000, s.buffer, 4, &rw, NULL, NULL, &v);
	assert_false(v.timer_fit);
	assert_false(v.rewind_fit);
	assert_true(v.findings & (1u << PTRSTAT_JUMPS));
	assert_true(v.findings & (1u << PTRSTAT_REWIND_SHORT));
	assert_int_equal(ptrstat_finding_severity(PTRSTAT_JUMPS), PTRSTAT_SEV_TIMER);
	assert_string_equal(ptrstat_finding_key(PTRSTAT_JUMPS), "jumps");
	ptrstat_series_free(&s);

	/* a 2 s buffer cannot cover a 600 ms stall */
	c.stall_ms = 600;
	c.stall_every_ms = 1000;
	judge(&c, NULL, NULL, &v);
	assert_false(v.timer_fit);
	assert_true(v.findings & (1u << PTRSTAT_STALL_LONG));

	/* rewinds honoured past rewindable are a note, not a failure */
	c = base();
	rw = (struct ptrstat_rewind){ .tried = 6, .beyond_tested = true,
				      .beyond_rewindable = 1000,
				      .beyond_asked = 1256, .beyond_got = 1256 };
	judge(&c, &rw, NULL, &v);
	assert_true(v.rewind_fit);
	assert_true(v.findings & (1u << PTRSTAT_NOTE_UNCLAMPED));
}

/* --- loopback margin search and markers -------------------------------------- */

/* The card leads its pointer by `lead`; the probe's own rewrite takes
 * `el` more frames: a margin m loses lead + el - m of a 512 marker. */
static void search(struct ptrstat_margin *m, int64_t lead, int64_t el)
{
	int64_t x;
	int guard = 0;

	ptrstat_margin_init(m);
	while ((x = ptrstat_margin_next(m, 16, 4096)) >= 0) {
		int64_t lost = lead + el - x;

		lost = lost < 0 ? 0 : lost > 512 ? 512 : lost;
		ptrstat_margin_add(m, x, lost, 512, el);
		assert_true(++guard < 100);
	}
}

static void test_margin_search(void **state)
{
	struct ptrstat_margin m;

	(void)state;
	search(&m, 0, 0);
	assert_int_equal(m.safe, 0);
	assert_int_equal(m.prefetch, 0);
	assert_int_equal(m.n, PTRSTAT_MARGIN_REPEAT);

	search(&m, 0, 1);
	assert_int_equal(m.safe, 16);
	assert_int_equal(m.prefetch, 0);

	search(&m, 128, 1);
	assert_int_equal(m.safe, 144);
	assert_int_equal(m.prefetch, 128);
	assert_true(m.n < 10);

	search(&m, 1000, 2);		/* more than a marker: climbs */
	assert_int_equal(m.safe, 1008);
	assert_int_equal(m.prefetch, 1000);

	search(&m, 5000, 0);		/* beyond the search */
	assert_int_equal(m.safe, -1);
}

static void test_marker(void **state)
{
	(void)state;
	for (int64_t f = 16300; f < 16500; f++) {
		int v = ptrstat_marker_code(f);

		assert_true(v >= 0x4000 && v <= 0x7fff);
		assert_int_equal(ptrstat_marker_frame(v, 16300, 200), f);
		assert_int_equal(ptrstat_marker_frame(v, f + 1, 100), -1);
	}
	assert_int_equal(ptrstat_marker_frame(0, 0, 512), -1);
	assert_int_equal(ptrstat_marker_frame(0x3fff, 0, 512), -1);
	assert_int_equal(ptrstat_marker_frame(-0x4000, 0, 512), -1);
	assert_int_equal(ptrstat_marker_frame(0x8000, 0, 512), -1);
	assert_int_equal(ptrstat_marker_frame(ptrstat_marker_code(5), 0, 5), -1);
}

static void test_stress_total(void **state)
{
	struct ptrstat_stress s = { .queries = 100, .delay_bad = 1, .rewind_short = 2,
				    .forward_short = 3, .avail_over = 4,
				    .backward = 5, .errors = 7 };

	(void)state;
	assert_int_equal(ptrstat_stress_total(&s), 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_quantised),
		cmocka_unit_test(test_period),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_drift),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_jump_and_backward),
		cmocka_unit_test(test_usb),
		cmocka_unit_test(test_fifo_and_capture),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_still),
		cmocka_unit_test(test_verdict_exact),
		cmocka_unit_test(test_verdict_margins),
		cmocka_unit_test(test_verdict_unfit),
		cmocka_unit_test(test_margin_search),
		cmocka_unit_test(test_marker),
		cmocka_unit_test(test_stress_total),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
