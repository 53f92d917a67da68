/* The audio thread's cycle on a fake card with a fake clock: what the card
 * hears after joins, pauses, volume changes, removals, late data and
 * drains, frame by frame. The fake card keeps a "tape" of every frame at
 * its absolute position; a rewind cannot reach frames its DMA has passed,
 * so the tape below the DMA position is what was heard. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sched/engine.h"
#include "sched/stream.h"

#define RATE 48000
#define BUFFER 96000
#define WM 960
#define GUARD 64
#define RAMP 240
#define TAPE (RATE * 10)
#define MS 1000000LL

struct fake {
	int64_t now, t0;
	int started, stops;
	int fail;		/* -errno: the card has failed for good */
	int64_t lie;		/* added to the avail the pointer reports */
	int rewinds;
	uint64_t written;
	float tape[TAPE * 2];
};

static uint64_t fake_hw(const struct fake *f)
{
	return f->started ? (uint64_t)((f->now - f->t0) * RATE / 1000000000) : 0;
}

static int fake_measure(void *p, struct device_meas *m)
{
	struct fake *f = p;
	uint64_t hw = fake_hw(f);

	if (f->fail)
		return f->fail;
	if (hw > f->written)
		return -EPIPE;
	m->t_ns = f->now;
	m->fill = (int64_t)(f->written - hw) - f->lie;
	m->delay = m->fill;
	return 0;
}

static long fake_write(void *p, const float *buf, size_t n)
{
	struct fake *f = p;

	assert_true(f->written + n <= TAPE);
	memcpy(f->tape + f->written * 2, buf, n * 2 * sizeof(float));
	f->written += n;
	return (long)n;
}

static long fake_rewind(void *p, size_t n)
{
	struct fake *f = p;
	uint64_t max = f->written - fake_hw(f);

	assert_true(n <= max);	/* the engine must clamp by itself */
	f->written -= n;
	f->rewinds++;
	return (long)n;
}

static int fake_start(void *p)
{
	struct fake *f = p;

	f->started = 1;
	f->t0 = f->now;
	return 0;
}

static int fake_recover(void *p, int err)
{
	(void)p;
	(void)err;
	fail_msg("unexpected xrun");
	return 0;
}

static int fake_stop(void *p)
{
	struct fake *f = p;

	/* The tape restarts, as ALSA's positions do after a prepare. */
	f->started = 0;
	f->written = 0;
	f->stops++;
	return 0;
}

static void fake_close(void *p)
{
	(void)p;
}

static int64_t fake_now(void *p)
{
	return ((struct fake *)p)->now;
}

static const struct device_ops fake_ops = {
	.measure = fake_measure, .write = fake_write, .rewind = fake_rewind,
	.start = fake_start, .recover = fake_recover, .stop = fake_stop,
	.close = fake_close,
};

struct rig {
	struct fake f;
	struct fake f2;		/* the card reopened after f failed */
	struct engine e;
};

static struct rig *rig_new_cfg(int no_rewind)
{
	struct rig *r = calloc(1, sizeof *r);
	struct device d = {
		.ops = &fake_ops, .dev = &r->f,
		.info = { .rate = RATE, .channels = 2, .fmt = FMT_FLOAT,
			  .buffer = BUFFER, .period = BUFFER / 2, .can_rewind = 1 },
	};
	struct engine_cfg c = { .watermark = WM, .safeguard = GUARD, .ramp = RAMP,
				.idle_ns = 5000 * MS, .no_rewind = no_rewind };

	assert_int_equal(engine_init(&r->e, &d, &c), 0);
	r->e.now = fake_now;
	r->e.now_arg = &r->f;
	return r;
}

static struct rig *rig_new(void)
{
	return rig_new_cfg(0);
}

static void rig_free(struct rig *r)
{
	engine_fini(&r->e);
	free(r);
}

/* Distinct nonzero values per frame: stream `tag`, frame k. */
static float pattern(int tag, uint64_t k)
{
	return (float)tag * 0.25f + (float)(k % 1000 + 1) / 8192.0f;
}

/* A float stereo client putting its pattern on one channel. */
struct client {
	struct stream *s;
	struct ring ring;
	int tag, channel;
	uint64_t frames;
};

static void client_new(struct client *c, uint32_t id, int tag, int channel)
{
	struct stream_cfg cfg = {
		.id = id, .rate = RATE, .channels = 2, .fmt = FMT_FLOAT, .volume = 1,
		.dev_rate = RATE, .dev_channels = 2, .dev_buffer = BUFFER,
		.watermark = WM,
	};

	*c = (struct client){ .tag = tag, .channel = channel };
	assert_int_equal(stream_new(&c->s, &cfg), 0);
	ring_init_producer(&c->ring, &c->s->link.hdr->ring, shm_data(c->s->link.hdr),
			   c->s->ring_frames, (uint32_t)c->s->frame_bytes);
}

static void client_write(struct client *c, uint64_t n)
{
	float fr[2];

	for (uint64_t i = 0; i < n; i++, c->frames++) {
		fr[c->channel] = pattern(c->tag, c->frames);
		fr[!c->channel] = 0;
		assert_true(ring_writable(&c->ring) > 0);
		ring_write(&c->ring, fr, 1);
	}
}

/* Keeps the client's ring full, like a client answering every signal. */
static void client_top_up(struct client *c)
{
	client_write(c, ring_writable(&c->ring));
}

static void send_cmd(struct rig *r, uint32_t type, struct stream *s, float v,
		     uint32_t token)
{
	struct cmd c = { .type = type, .s = s, .value = v, .token = token };

	assert_int_equal(cmdq_push(&r->e.in, &c), 0);
	engine_commands(&r->e);
}

static void at(struct rig *r, int64_t t)
{
	r->f.now = r->f2.now = t;
	assert_int_equal(engine_cycle(&r->e), 0);
}

static float tape(struct rig *r, uint64_t k, int ch)
{
	return r->f.tape[k * 2 + ch];
}

static void expect_pattern(struct rig *r, int ch, uint64_t from, uint64_t to,
			   int tag, uint64_t first, float gain)
{
	for (uint64_t k = from; k < to; k++)
		if (tape(r, k, ch) != pattern(tag, first + k - from) * gain)
			fail_msg("channel %d frame %llu: %g, want %g", ch,
				 (unsigned long long)k, tape(r, k, ch),
				 pattern(tag, first + k - from) * gain);
}

static void expect_silence(struct rig *r, int ch, uint64_t from, uint64_t to)
{
	for (uint64_t k = from; k < to; k++)
		if (tape(r, k, ch) != 0)
			fail_msg("channel %d frame %llu not silent", ch,
				 (unsigned long long)k);
}

static void test_fills_and_plans(void **state)
{
	struct rig *r = rig_new();

	(void)state;
	at(r, 1000 * MS);
	assert_int_equal(r->f.written, BUFFER);
	/* asleep until the buffer has drained to the watermark: with the
	 * buffer for a target, a twelfth of it (watermark_deep) */
	assert_int_equal(watermark_plan(&r->e.wm), BUFFER / 12);
	assert_true(llabs(r->e.planned - (1000 * MS + (int64_t)(BUFFER - BUFFER / 12) *
					  MS / 48)) < MS / 10);
	at(r, r->e.planned);
	assert_int_equal(r->f.written - fake_hw(&r->f), BUFFER);
	rig_free(r);
}

/* B joins while A plays with the buffer full: A is bit-identical, B is
 * heard from the DMA position plus the safeguard. */
static void test_join(void **state)
{
	struct rig *r = rig_new();
	struct client a, b;

	(void)state;
	client_new(&a, 1, 1, 0);
	client_top_up(&a);
	send_cmd(r, CMD_ADD, a.s, 0, 0);
	at(r, 0);
	client_top_up(&a);
	at(r, 500 * MS);	/* a stray wakeup: nothing to do */
	client_new(&b, 2, 2, 1);
	client_write(&b, 20000);
	send_cmd(r, CMD_ADD, b.s, 0, 0);
	at(r, 500 * MS);
	assert_int_equal(r->e.stats.rewinds, 1);
	expect_pattern(r, 0, 0, r->f.written, 1, 0, 1);
	expect_silence(r, 1, 0, 24000 + GUARD);
	expect_pattern(r, 1, 24000 + GUARD, 44064, 2, 0, 1);
	stream_free(a.s);
	stream_free(b.s);
	rig_free(r);
}

/* Pause takes the stream out of the buffer at once; resume continues with
 * the first frame that was not heard. */
static void test_pause_resume(void **state)
{
	struct rig *r = rig_new();
	struct client a;
	uint64_t cut = 24000 + GUARD, back = 38400 + GUARD;

	(void)state;
	client_new(&a, 1, 1, 0);
	client_top_up(&a);
	send_cmd(r, CMD_ADD, a.s, 0, 0);
	at(r, 0);
	send_cmd(r, CMD_PAUSE, a.s, 0, 0);
	at(r, 500 * MS);
	expect_pattern(r, 0, 0, cut, 1, 0, 1);
	expect_silence(r, 0, cut, r->f.written);
	client_top_up(&a);
	send_cmd(r, CMD_RESUME, a.s, 0, 0);
	at(r, 800 * MS);
	expect_silence(r, 0, cut, back);
	expect_pattern(r, 0, back, r->f.written, 1, cut, 1);
	stream_free(a.s);
	rig_free(r);
}

static void test_volume_ramp(void **state)
{
	struct rig *r = rig_new();
	struct client a;
	uint64_t from = 24000 + GUARD;

	(void)state;
	client_new(&a, 1, 1, 0);
	client_top_up(&a);
	send_cmd(r, CMD_ADD, a.s, 0, 0);
	at(r, 0);
	client_top_up(&a);
	send_cmd(r, CMD_VOLUME, a.s, 0.5f, 0);
	at(r, 500 * MS);
	expect_pattern(r, 0, 0, from, 1, 0, 1);
	/* a linear ramp from 1 to 0.5 over RAMP frames, then 0.5 */
	for (uint64_t k = 0; k < RAMP; k++) {
		float g = 1.0f - 0.5f * (float)k / RAMP;
		assert_float_equal(tape(r, from + k, 0), pattern(1, from + k) * g, 1e-6);
	}
	expect_pattern(r, 0, from + RAMP, r->f.written, 1, from + RAMP, 0.5f);
	stream_free(a.s);
	rig_free(r);
}

static void test_remove(void **state)
{
	struct rig *r = rig_new();
	struct client a;
	struct cmd ev;

	(void)state;
	client_new(&a, 1, 1, 0);
	client_top_up(&a);
	send_cmd(r, CMD_ADD, a.s, 0, 0);
	at(r, 0);
	send_cmd(r, CMD_REMOVE, a.s, 0, 0);
	assert_int_equal(cmdq_pop(&r->e.out, &ev), 0);
	assert_int_equal(ev.type, EVT_REMOVED);
	assert_ptr_equal(ev.s, a.s);
	at(r, 500 * MS);
	expect_pattern(r, 0, 0, 24000 + GUARD, 1, 0, 1);
	expect_silence(r, 0, 24000 + GUARD, r->f.written);
	stream_free(a.s);
	rig_free(r);
}

/* A client that ran dry and writes again later continues seamlessly if
 * the gap has not been reached by the DMA yet; its pieces are merged into
 * one rewind at the stream's deadline, and no underrun is counted. */
static void test_late_data_is_seamless(void **state)
{
	struct rig *r = rig_new();
	struct client a;

	(void)state;
	client_new(&a, 1, 1, 0);
	client_write(&a, 10000);
	send_cmd(r, CMD_ADD, a.s, 0, 0);
	at(r, 0);
	assert_int_equal(atomic_load(&a.s->link.hdr->want_signal), 1);
	for (int i = 0; i < 10; i++) {
		client_write(&a, 3000);
		r->f.now = (100 + i) * MS;
		engine_stream_event(&r->e, a.s->id, 0);
		at(r, (100 + i) * MS);
	}
	assert_int_equal(r->e.stats.rewinds, 0);	/* joined an empty card */
	/* the deadline: a watermark and a safeguard before the data ends */
	assert_true(llabs(r->e.planned - (10000 - WM - GUARD) * MS / 48) < MS / 10);
	at(r, r->e.planned);
	assert_int_equal(r->e.stats.rewinds, 1);
	expect_pattern(r, 0, 0, 40000, 1, 0, 1);
	expect_silence(r, 0, 40000, r->f.written);
	assert_int_equal(atomic_load(&a.s->link.hdr->underruns), 0);
	stream_free(a.s);
	rig_free(r);
}

/* Data that comes after the DMA passed the end of the stream: the gap was
 * heard (one underrun) and the stream resumes as soon as possible. */
static void test_gap_is_an_underrun(void **state)
{
	struct rig *r = rig_new();
	struct client a;

	(void)state;
	client_new(&a, 1, 1, 0);
	client_write(&a, 4800);
	send_cmd(r, CMD_ADD, a.s, 0, 0);
	at(r, 0);
	client_write(&a, 4800);
	r->f.now = 200 * MS;
	engine_stream_event(&r->e, a.s->id, 0);
	at(r, 200 * MS);
	assert_int_equal(atomic_load(&a.s->link.hdr->underruns), 1);
	expect_pattern(r, 0, 0, 4800, 1, 0, 1);
	expect_silence(r, 0, 4800, 9600 + GUARD);
	expect_pattern(r, 0, 9600 + GUARD, 9600 + GUARD + 4800, 1, 4800, 1);
	stream_free(a.s);
	rig_free(r);
}

static void test_drain(void **state)
{
	struct rig *r = rig_new();
	struct client a;
	struct cmd ev;

	(void)state;
	client_new(&a, 1, 1, 0);
	client_write(&a, 4800);
	send_cmd(r, CMD_ADD, a.s, 0, 0);
	at(r, 0);
	send_cmd(r, CMD_DRAIN, a.s, 0, 7);
	at(r, 1 * MS);
	assert_int_equal(cmdq_pop(&r->e.out, &ev), -EAGAIN);
	/* the engine plans to wake when the last frame has been heard */
	assert_true(llabs(r->e.planned - 100 * MS) < MS / 10);
	at(r, r->e.planned);
	assert_int_equal(cmdq_pop(&r->e.out, &ev), 0);
	assert_int_equal(ev.type, EVT_DRAINED);
	assert_int_equal(ev.token, 7);
	stream_free(a.s);
	rig_free(r);
}

/* A stream that ran dry at mix time is rewound by another's join: its
 * converted audio is mixed again from the rewind point, not dropped. */
static void test_dry_stream_survives_a_rewind(void **state)
{
	struct rig *r = rig_new();
	struct client a, b;

	(void)state;
	client_new(&a, 1, 1, 0);
	client_write(&a, 30000);
	send_cmd(r, CMD_ADD, a.s, 0, 0);
	at(r, 0);
	client_new(&b, 2, 2, 1);
	client_write(&b, 4800);
	send_cmd(r, CMD_ADD, b.s, 0, 0);
	at(r, 100 * MS);
	expect_pattern(r, 0, 0, 30000, 1, 0, 1);
	expect_silence(r, 0, 30000, r->f.written);
	expect_pattern(r, 1, 4800 + GUARD, 9600 + GUARD, 2, 0, 1);
	stream_free(a.s);
	stream_free(b.s);
	rig_free(r);
}

/* No stream for 5 s: the card stops and lulld sleeps with no timer; the
 * next stream starts it again at once. */
static void test_idle(void **state)
{
	struct rig *r = rig_new();
	struct client a;

	(void)state;
	at(r, 0);
	at(r, 1980 * MS);
	at(r, 3960 * MS);
	assert_int_equal(r->f.stops, 0);
	at(r, 5940 * MS);
	assert_int_equal(r->f.stops, 1);
	assert_int_equal(r->e.planned, 0);	/* no wakeup planned at all */
	client_new(&a, 1, 1, 0);
	client_write(&a, 4800);
	send_cmd(r, CMD_ADD, a.s, 0, 0);
	at(r, 60000 * MS);
	assert_true(r->f.started);
	expect_pattern(r, 0, 0, 4800, 1, 0, 1);
	stream_free(a.s);
	rig_free(r);
}

/* No rewinds: the buffer holds two watermarks; a join starts right after
 * what is written (heard within two watermarks), a pause once that has
 * played; the card is never asked to rewind. */
static void test_no_rewind(void **state)
{
	struct rig *r = rig_new_cfg(1);
	struct client a, b;

	(void)state;
	client_new(&a, 1, 1, 0);
	client_top_up(&a);
	send_cmd(r, CMD_ADD, a.s, 0, 0);
	at(r, 0);
	assert_int_equal(r->f.written, 2 * WM);
	/* asleep until the fill is down to one watermark */
	assert_true(llabs(r->e.planned - 20 * MS) < MS / 10);
	client_new(&b, 2, 2, 1);
	client_write(&b, 4800);
	send_cmd(r, CMD_ADD, b.s, 0, 0);
	at(r, 10 * MS);		/* 480 frames played: topped up to 2 WM */
	assert_int_equal(r->f.written, 2 * WM + 480);
	expect_silence(r, 1, 0, 2 * WM);
	expect_pattern(r, 1, 2 * WM, r->f.written, 2, 0, 1);
	send_cmd(r, CMD_PAUSE, a.s, 0, 0);
	at(r, 15 * MS);
	expect_pattern(r, 0, 0, 2 * WM + 480, 1, 0, 1);
	expect_silence(r, 0, 2 * WM + 480, r->f.written);
	at(r, r->e.planned);
	assert_int_equal(r->f.rewinds, 0);
	assert_int_equal(atomic_load(&r->e.stats.rewinds), 0);
	stream_free(a.s);
	stream_free(b.s);
	rig_free(r);
}

/* The card fails: the engine hands it back (EVT_LOST) and touches it no
 * more; the streams wait. A new card (CMD_DEVICE) starts where the old one
 * would have been by the time the failure was seen: what it had buffered
 * and not played is skipped, nothing heard is repeated. */
static void test_device_lost(void **state)
{
	struct rig *r = rig_new();
	struct device *nd = calloc(1, sizeof *nd);
	uint64_t p = 24000 + GUARD;	/* 500 ms of DMA, plus the safeguard */
	struct client a;
	struct cmd ev;

	(void)state;
	client_new(&a, 1, 1, 0);
	client_top_up(&a);
	send_cmd(r, CMD_ADD, a.s, 0, 0);
	at(r, 0);
	client_top_up(&a);
	r->f.fail = -ENODEV;
	at(r, 500 * MS);
	assert_true(r->e.lost);
	assert_int_equal(cmdq_pop(&r->e.out, &ev), 0);
	assert_int_equal(ev.type, EVT_LOST);
	assert_int_equal(ev.token, ENODEV);
	assert_ptr_equal(ev.dev->dev, &r->f);
	assert_int_equal(atomic_load(&r->e.stats.losses), 1);
	at(r, 550 * MS);	/* lost: nothing happens, no error */
	assert_int_equal(r->e.planned, 0);
	*nd = (struct device){ .ops = &fake_ops, .dev = &r->f2 };
	ev = (struct cmd){ .type = CMD_DEVICE, .dev = nd };
	assert_int_equal(cmdq_push(&r->e.in, &ev), 0);
	engine_commands(&r->e);
	assert_false(r->e.lost);
	assert_int_equal(cmdq_pop(&r->e.out, &ev), 0);
	assert_int_equal(ev.type, EVT_DEVICE);
	assert_ptr_equal(ev.dev, nd);
	assert_null(nd->ops);	/* nothing to close: the old card was lost */
	free(nd);
	at(r, 600 * MS);
	assert_true(r->f2.started);
	/* the new card's first frame is the engine's frame p */
	for (uint64_t k = 0; k < 1000; k++)
		assert_true(r->f2.tape[k * 2] == pattern(1, p + k));
	stream_free(a.s);
	rig_free(r);
}

/* A pointer reading far beyond the buffer is not believed: the engine
 * goes by its last good reading and the time since (so it writes just
 * what an honest card would have let it, not a whole buffer over the
 * DMA), counts it, and tells the control thread once. */
static void test_impossible_position(void **state)
{
	struct rig *r = rig_new();
	struct cmd ev;

	(void)state;
	at(r, 0);
	r->f.lie = 2 * BUFFER;
	at(r, 100 * MS);
	at(r, 200 * MS);
	r->f.lie = 0;
	assert_int_equal(r->f.written, BUFFER + 9600);	/* 200 ms played, refilled */
	assert_int_equal(atomic_load(&r->e.stats.clamps), 2);
	assert_int_equal(cmdq_pop(&r->e.out, &ev), 0);
	assert_int_equal(ev.type, EVT_CLAMPED);
	assert_int_equal(ev.token, BUFFER + 4800);	/* avail at 100 ms: 4800 + 2 buffers */
	assert_int_equal(cmdq_pop(&r->e.out, &ev), -EAGAIN);	/* once */
	at(r, 300 * MS);
	assert_int_equal(r->f.written, BUFFER + 14400);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fills_and_plans),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_pause_resume),
		cmocka_unit_test(test_volume_ramp),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_late_data_is_seamless),
		cmocka_unit_test(test_gap_is_an_underrun),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_dry_stream_survives_a_rewind),
		cmocka_unit_test(test_no_rewind),
		cmocka_unit_test(test_device_lost),
		cmocka_unit_test(test_impossible_position),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
