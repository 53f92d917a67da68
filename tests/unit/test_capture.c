/* lulld's capture side against a fake card: the conversion into each
 * client's ring (recstream), where its frames are said to come from, and
 * the capture thread's cycle. The fake card captures a ramp, frame k
 * having the value k / 2^20, so any lost, doubled or reordered frame
 * shows in the ring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sched/capture.h"
#include "sched/recstream.h"

#define RATE 48000
#define RAMP(k) ((float)((k) % (1u << 20)) / (float)(1u << 20))

struct fake {
	int64_t t;		/* what measure says the time is */
	int64_t fill;		/* captured, unread */
	uint64_t captured;	/* frames produced so far */
	int fifo;
	int xrun, started, stops, recovers;
};

static int fake_measure(void *p, struct device_meas *m)
{
	struct fake *f = p;

	if (f->xrun) {
		f->xrun = 0;
		return -EPIPE;
	}
	*m = (struct device_meas){ .t_ns = f->t, .fill = f->fill,
				   .delay = f->fill + f->fifo };
	return 0;
}

static long fake_read(void *p, float *buf, size_t n)
{
	struct fake *f = p;

	if ((int64_t)n > f->fill)
		n = (size_t)f->fill;
	for (size_t i = 0; i < n; i++) {
		uint64_t k = f->captured - (uint64_t)f->fill + i;
		buf[2 * i] = buf[2 * i + 1] = RAMP(k);
	}
	f->fill -= (int64_t)n;
	return (long)n;
}

static int fake_start(void *p) { ((struct fake *)p)->started++; return 0; }
static int fake_stop(void *p) { ((struct fake *)p)->stops++; return 0; }
static int fake_recover(void *p, int err)
{
	struct fake *f = p;

	(void)err;
	f->recovers++;
	f->fill = 0;	/* what the card held is gone */
	return 0;
}
static void fake_close(void *p) { (void)p; }

static const struct device_ops fake_ops = {
	.measure = fake_measure, .read = fake_read, .start = fake_start,
	.stop = fake_stop, .recover = fake_recover, .close = fake_close,
};

/* The card captures n more frames, and time moves on with them. */
static void fake_capture(struct fake *f, int64_t n)
{
	f->captured += (uint64_t)n;
	f->fill += n;
	f->t += n * 1000000000LL / RATE;
}

static struct recstream *rec_new(unsigned rate, uint64_t latency_ms)
{
	struct recstream *r;
	struct recstream_cfg cfg = {
		.id = 1, .rate = rate, .channels = 1, .fmt = FMT_FLOAT, .volume = 1,
		.latency_ns = latency_ms * 1000000, .dev_rate = RATE,
		.dev_channels = 2, .dev_buffer = 2 * RATE,
	};

	assert_int_equal(recstream_new(&r, &cfg), 0);
	return r;
}

/* The client's side of the ring. */
static uint64_t rec_take(struct recstream *r, float *dst, uint64_t max)
{
	struct ring cons;
	uint64_t n;

	ring_init_consumer(&cons, &r->link.hdr->ring, shm_data(r->link.hdr),
			   r->ring_frames, (uint32_t)r->frame_bytes);
	n = ring_readable(&cons);
	n = n < max ? n : max;
	ring_read(&cons, dst, n);
	return n;
}

static void feed(struct recstream *r, uint64_t from, size_t n)
{
	float buf[RECSTREAM_CHUNK * 2];

	while (n) {
		size_t m = n < RECSTREAM_CHUNK ? n : RECSTREAM_CHUNK;
		for (size_t i = 0; i < m; i++)
			buf[2 * i] = buf[2 * i + 1] = RAMP(from + i);
		recstream_put(r, buf, m, from);
		from += m;
		n -= m;
	}
}

static void test_sizes(void **state)
{
	struct recstream *r = rec_new(16000, 10);

	(void)state;
	assert_int_equal(r->period, 480);	/* 10 ms of the card */
	assert_int_equal(r->request_frames, 160);	/* 10 ms of the client */
	assert_true(r->ring_frames >= 32000);	/* 2 s at least */
	recstream_free(r);
	r = rec_new(48000, 0);
	assert_int_equal(r->latency_ns, 20000000);	/* the default */
	recstream_free(r);
}

/* Same rate: the ring gets exactly what the card captured. */
static void test_exact_copy(void **state)
{
	struct recstream *r = rec_new(RATE, 20);
	float *got = malloc(5000 * sizeof *got);

	(void)state;
	feed(r, 100, 5000);
	assert_int_equal(rec_take(r, got, 5000), 5000);
	for (int i = 0; i < 5000; i++)
		assert_true(got[i] == RAMP(100 + (uint64_t)i));
	free(got);
	recstream_free(r);
}

/* A client that does not read loses the newest frames, counted; what the
 * ring held is intact, and the ring then continues after the gap. */
static void test_overrun_loses_newest(void **state)
{
	struct recstream *r = rec_new(RATE, 20);
	uint64_t cap = r->ring_frames;
	float *got = malloc((cap + 1) * sizeof *got);

	(void)state;
	feed(r, 0, cap + 1000);
	assert_int_equal(atomic_load(&r->link.hdr->overruns), 1000);
	assert_int_equal(rec_take(r, got, cap), cap);
	assert_true(got[cap - 1] == RAMP(cap - 1));
	feed(r, cap + 1000, 10);
	assert_int_equal(rec_take(r, got, 10), 10);
	assert_true(got[0] == RAMP(cap + 1000));
	assert_int_equal(atomic_load(&r->link.hdr->overruns), 1000);
	free(got);
	recstream_free(r);
}

/* Paused: nothing delivered, nothing counted lost. */
static void test_paused(void **state)
{
	struct recstream *r = rec_new(RATE, 20);
	float got[16];

	(void)state;
	r->paused = 1;
	feed(r, 0, 3000);
	assert_int_equal(rec_take(r, got, 16), 0);
	assert_int_equal(atomic_load(&r->link.hdr->overruns), 0);
	r->paused = 0;
	feed(r, 3000, 16);
	assert_int_equal(rec_take(r, got, 16), 16);
	assert_true(got[0] == RAMP(3000));
	recstream_free(r);
}

/* The published position: ring frame W is device frame d0 + out/ratio;
 * with the ADC at frame adc at time t, it was sampled (that - adc) / rate
 * later than t. */
static void test_position(void **state)
{
	struct recstream *r = rec_new(16000, 20);
	uint32_t flags;
	uint64_t frame, ppm, lat;
	int64_t t;
	float got[4000];

	(void)state;
	feed(r, 48000, 4800);	/* 100 ms from device frame 48000 */
	recstream_publish(r, 48000 + 4800 + 96, 1000000000, RATE, 1.0);
	assert_int_equal(shm_position_read(&r->link.hdr->pos, &flags, &frame, &t,
					   &ppm, &lat), 0);
	assert_true(flags & SHM_POS_RUNNING);
	assert_int_equal(frame, rec_take(r, got, 4000));
	/* Frame `frame` is device frame 48000 + 3 * frame, which the ADC
	 * sampled (48000 + 3 * frame - 52896) / 48 ms after t. */
	assert_true(llabs(t - (1000000000 + (int64_t)((48000.0 + 3.0 * frame - 52896) *
						      1e9 / RATE))) < 1000);
	assert_int_equal(ppm, 1000000);
	recstream_free(r);
}

/* --- the capture thread's cycle ------------------------------------------------- */

struct rig {
	struct fake f;
	struct capture c;
};

static struct rig *rig_new(void)
{
	struct rig *g = calloc(1, sizeof *g);
	struct device d = { .ops = &fake_ops, .dev = &g->f,
			    .info = { .rate = RATE, .channels = 2, .fmt = FMT_FLOAT,
				      .buffer = 2 * RATE } };

	g->f.t = 1000000000;
	assert_int_equal(capture_init(&g->c, &d, 0), 0);
	return g;
}

static void rig_free(struct rig *g)
{
	capture_fini(&g->c);
	free(g);
}

static void rig_add(struct rig *g, struct recstream *r)
{
	struct cmd add = { .type = CMD_ADD, .r = r };

	assert_int_equal(cmdq_push(&g->c.in, &add), 0);
	capture_commands(&g->c);
}

/* Nobody records: the card never starts, nothing is planned. */
static void test_idle(void **state)
{
	struct rig *g = rig_new();

	(void)state;
	assert_int_equal(capture_cycle(&g->c), 0);
	assert_int_equal(g->f.started, 0);
	assert_int_equal(g->c.planned, 0);
	rig_free(g);
}

/* Recording: everything captured is read, the next wakeup is one period
 * of the most impatient stream on; when it leaves, the card stops. */
static void test_cycle_reads_and_plans(void **state)
{
	struct rig *g = rig_new();
	struct recstream *a = rec_new(RATE, 50), *b = rec_new(RATE, 10);
	struct cmd rm = { .type = CMD_REMOVE, .r = b }, ev;
	float got[3000];

	(void)state;
	rig_add(g, a);
	rig_add(g, b);
	assert_int_equal(capture_cycle(&g->c), 0);
	assert_int_equal(g->f.started, 1);
	fake_capture(&g->f, 2400);
	assert_int_equal(capture_cycle(&g->c), 0);
	assert_int_equal(g->f.fill, 0);
	assert_true(llabs(g->c.planned - (g->f.t + 10000000)) < 100000);
	assert_int_equal(rec_take(a, got, 3000), 2400);
	assert_true(got[2399] == RAMP(2399));
	assert_int_equal(cmdq_push(&g->c.in, &rm), 0);
	capture_commands(&g->c);
	assert_int_equal(cmdq_pop(&g->c.out, &ev), 0);
	assert_ptr_equal(ev.r, b);
	fake_capture(&g->f, 2400);
	assert_int_equal(capture_cycle(&g->c), 0);
	assert_true(llabs(g->c.planned - (g->f.t + 50000000)) < 100000);
	rm.r = a;
	assert_int_equal(cmdq_push(&g->c.in, &rm), 0);
	capture_commands(&g->c);
	assert_int_equal(capture_cycle(&g->c), 0);
	assert_int_equal(g->f.stops, 1);
	assert_int_equal(g->c.planned, 0);
	recstream_free(a);
	recstream_free(b);
	rig_free(g);
}

/* One client never reads: it loses its own audio; the other gets all of
 * it, in order. */
static void test_slow_client_alone(void **state)
{
	struct rig *g = rig_new();
	struct recstream *slow = rec_new(RATE, 20), *fast = rec_new(RATE, 20);
	float *got = malloc(RATE * sizeof *got);
	uint64_t next = 0;

	(void)state;
	rig_add(g, slow);
	rig_add(g, fast);
	capture_cycle(&g->c);
	for (int i = 0; i < 150; i++) {	/* 3 s, 20 ms at a time */
		uint64_t n;
		fake_capture(&g->f, 960);
		assert_int_equal(capture_cycle(&g->c), 0);
		n = rec_take(fast, got, RATE);
		for (uint64_t j = 0; j < n; j++, next++)
			assert_true(got[j] == RAMP(next));
	}
	assert_int_equal(next, 150 * 960);
	assert_int_equal(atomic_load(&fast->link.hdr->overruns), 0);
	assert_int_equal(atomic_load(&slow->link.hdr->overruns),
			 150 * 960 - slow->ring_frames);
	free(got);
	recstream_free(slow);
	recstream_free(fast);
	rig_free(g);
}

/* The card overran: it is recovered and started again, counted; the
 * 100 ms it lost are skipped, so frames keep their sampling times, and
 * the stream is told it lost them. */
static void test_card_overrun(void **state)
{
	struct rig *g = rig_new();
	struct recstream *r = rec_new(RATE, 20);
	uint64_t read;
	float got[2000];

	(void)state;
	rig_add(g, r);
	capture_cycle(&g->c);
	fake_capture(&g->f, 960);
	capture_cycle(&g->c);
	assert_int_equal(rec_take(r, got, 2000), 960);
	read = g->c.read;
	g->f.t += 100000000;	/* 4800 frames the card lost */
	g->f.xrun = 1;
	assert_int_equal(capture_cycle(&g->c), 0);
	assert_int_equal(g->f.recovers, 1);
	assert_int_equal(g->f.started, 2);
	assert_int_equal(atomic_load(&g->c.stats.xruns), 1);
	assert_true(g->c.read >= read + 4790 && g->c.read <= read + 4810);
	assert_int_equal(atomic_load(&r->link.hdr->overruns), g->c.read - read);
	recstream_free(r);
	rig_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_exact_copy),
		cmocka_unit_test(test_overrun_loses_newest),
		cmocka_unit_test(test_paused),
		cmocka_unit_test(test_position),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_cycle_reads_and_plans),
		cmocka_unit_test(test_slow_client_alone),
		cmocka_unit_test(test_card_overrun),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
