/* The SPSC frame ring: contents across wrap-around (with a capacity that
 * is not a power of two), zero-copy areas, clamping of hostile peer
 * indices (the data area is allocated to the exact byte, so any access
 * outside it trips ASan or valgrind), and a two-thread stress run that
 * checks every frame of a counting sequence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc/ring.h"

struct pair {
	struct ring_ctl ctl;
	struct ring prod;
	struct ring cons;
	uint8_t *data;
	uint64_t frames;
	uint32_t fb;
};

static void pair_init(struct pair *p, uint64_t frames, uint32_t fb)
{
	memset(&p->ctl, 0, sizeof(p->ctl));
	p->data = malloc(frames * fb);	/* exact: no slack for overruns */
	assert_non_null(p->data);
	p->frames = frames;
	p->fb = fb;
	ring_init_producer(&p->prod, &p->ctl, p->data, frames, fb);
	ring_init_consumer(&p->cons, &p->ctl, p->data, frames, fb);
}

static void pair_free(struct pair *p)
{
	free(p->data);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_basic(void **state)
{
	struct pair p;
	uint32_t in[3] = { 11, 22, 33 }, out[3] = { 0 };

	(void)state;
	pair_init(&p, 8, sizeof(uint32_t));
	assert_int_equal(ring_writable(&p.prod), 8);
	assert_int_equal(ring_readable(&p.cons), 0);
	ring_write(&p.prod, in, 3);
	assert_int_equal(ring_writable(&p.prod), 5);
	assert_int_equal(ring_readable(&p.cons), 3);
	ring_peek(&p.cons, 1, out, 2);
	assert_int_equal(out[0], 22);
	assert_int_equal(out[1], 33);
	ring_read(&p.cons, out, 2);
	assert_int_equal(out[0], 11);
	assert_int_equal(out[1], 22);
	assert_int_equal(ring_position(&p.prod), 3);
	assert_int_equal(ring_position(&p.cons), 2);
	ring_release(&p.cons, 1);
	assert_int_equal(ring_readable(&p.cons), 0);
	assert_int_equal(ring_writable(&p.prod), 8);
	ring_write(&p.prod, NULL, 0);	/* nothing to copy: no access */
	ring_read(&p.cons, NULL, 0);
	pair_free(&p);
}

static void test_full(void **state)
{
	struct pair p;
	uint16_t in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[8];
	uint64_t n = 5;

	(void)state;
	pair_init(&p, 8, sizeof(uint16_t));
	ring_write(&p.prod, in, 8);
	assert_int_equal(ring_writable(&p.prod), 0);
	assert_non_null(ring_write_area(&p.prod, &n));
	assert_int_equal(n, 0);
	assert_int_equal(ring_readable(&p.cons), 8);
	ring_read(&p.cons, out, 8);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(ring_writable(&p.prod), 8);
	pair_free(&p);
}

/* Frames of 3 bytes in a ring of 7: every chunk size against every
 * offset, each byte numbered so that a misplaced one shows. */
static void test_wrap(void **state)
{
	struct pair p;
	uint8_t in[7 * 3], out[7 * 3];
	uint64_t seq_in = 0, seq_out = 0;

	(void)state;
	pair_init(&p, 7, 3);
	for (unsigned w = 1; w <= 7; w++) {
		for (unsigned r = 1; r <= 7; r++) {
			uint64_t n = w <= ring_writable(&p.prod) ? w : ring_writable(&p.prod);

			for (unsigned i = 0; i < n * 3; i++)
				in[i] = (uint8_t)(seq_in + i);
			ring_write(&p.prod, in, n);
			seq_in += n * 3;
			n = r <= ring_readable(&p.cons) ? r : ring_readable(&p.cons);
			ring_read(&p.cons, out, n);
			for (unsigned i = 0; i < n * 3; i++)
				assert_int_equal(out[i], (uint8_t)(seq_out + i));
			seq_out += n * 3;
		}
	}
	assert_true(ring_position(&p.prod) > 7 * 4);
	pair_free(&p);
}

/* The area stops at the end of the data; the rest comes at slot 0. */
static void test_zero_copy(void **state)
{
	struct pair p;
	uint32_t in[5] = { 1, 2, 3, 4, 5 }, out[10];
	uint32_t *a;
	uint64_t n;

	(void)state;
	pair_init(&p, 10, sizeof(uint32_t));
	ring_write(&p.prod, in, 5);
	ring_write(&p.prod, in, 3);
	ring_read(&p.cons, out, 8);		/* both at 8 */
	n = 6;
	a = ring_write_area(&p.prod, &n);
	assert_int_equal(n, 2);			/* slots 8, 9 */
	assert_ptr_equal(a, p.data + 8 * 4);
	a[0] = 100, a[1] = 101;
	ring_write_commit(&p.prod, 2);
	n = 6;
	a = ring_write_area(&p.prod, &n);
	assert_int_equal(n, 6);			/* from slot 0 */
	assert_ptr_equal(a, p.data);
	for (unsigned i = 0; i < 6; i++)
		a[i] = 102 + i;
	ring_write_commit(&p.prod, 4);		/* less than offered */
	assert_int_equal(ring_readable(&p.cons), 6);
	ring_peek(&p.cons, 1, out, 5);		/* across the end */
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(out[i], 101 + i);
	ring_release(&p.cons, 6);
	assert_int_equal(ring_position(&p.cons), 14);
	assert_int_equal(ring_writable(&p.prod), 10);
	pair_free(&p);
}

/* Setup takes whatever the shared block holds, moving only its own index
 * so that 0 <= write - read <= frames. */
static void test_init_clamp(void **state)
{
	struct ring_ctl ctl;
	struct ring r;
	uint8_t data[8];

	(void)state;
	atomic_store(&ctl.write, 1000);
	atomic_store(&ctl.read, 0);
	ring_init_consumer(&r, &ctl, data, 8, 1);
	assert_int_equal(ring_position(&r), 992);
	assert_int_equal(atomic_load(&ctl.read), 992);
	assert_int_equal(ring_readable(&r), 8);

	atomic_store(&ctl.write, 1000);
	atomic_store(&ctl.read, 0);
	ring_init_producer(&r, &ctl, data, 8, 1);
	assert_int_equal(ring_position(&r), 8);
	assert_int_equal(ring_writable(&r), 0);

	atomic_store(&ctl.write, 5);
	atomic_store(&ctl.read, 100);
	ring_init_consumer(&r, &ctl, data, 8, 1);
	assert_int_equal(ring_position(&r), 5);
	assert_int_equal(ring_readable(&r), 0);

	atomic_store(&ctl.write, 5);
	atomic_store(&ctl.read, 100);
	ring_init_producer(&r, &ctl, data, 8, 1);
	assert_int_equal(ring_position(&r), 100);
	assert_int_equal(ring_writable(&r), 8);
}

/* Every way a peer index can be wrong, relative to an index of ours. */
static uint64_t garbage(uint64_t mine, uint64_t frames, unsigned i)
{
	const uint64_t g[] = {
		mine - 1, mine - frames, mine - frames - 1, mine + frames,
		mine + frames + 1, mine + INT64_MAX, mine + (uint64_t)INT64_MAX + 1,
		UINT64_MAX, 0, 1, (uint64_t)1 << 63, mine ^ 0xdeadbeefcafef00d,
	};

	return g[i % (sizeof(g) / sizeof(g[0]))];
}

#define GARBAGE_N 12

/* Our index: 0, mid-ring, and a few just below the 2^64 wrap. */
static const uint64_t starts[] = { 0, 3, 1u << 20, UINT64_MAX - 2, UINT64_MAX };

/* A consumer whose producer writes garbage: the fill it sees stays in
 * 0..frames, behind is empty, ahead by more than frames is full; reading
 * and peeking all of it, at any offset, stays inside the data. */
static void test_hostile_producer(void **state)
{
	const uint64_t frames = 13;
	const uint32_t fb = 5;
	uint8_t *data = malloc(frames * fb), out[13 * 5];
	struct ring_ctl ctl;
	struct ring r;

	(void)state;
	assert_non_null(data);
	for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		for (unsigned i = 0; i < GARBAGE_N; i++) {
			uint64_t w, n;

			atomic_store(&ctl.write, starts[s]);
			atomic_store(&ctl.read, starts[s]);
			ring_init_consumer(&r, &ctl, data, frames, fb);
			w = garbage(starts[s], frames, i);
			atomic_store(&ctl.write, w);
			atomic_store(&ctl.read, garbage(w, frames, i + 3));
			n = ring_readable(&r);
			assert_true(n <= frames);
			if (w - starts[s] > INT64_MAX)
				assert_int_equal(n, 0);
			else if (w - starts[s] >= frames)
				assert_int_equal(n, frames);
			ring_peek(&r, garbage(0, frames, i), out, n);
			ring_peek(&r, n, out, frames);
			ring_read(&r, out, n);
			assert_int_equal(ring_position(&r), starts[s] + n);
			ring_read(&r, out, UINT64_MAX);	/* caller bug: clamped */
		}
	}
	free(data);
}

/* A producer whose consumer writes garbage, including over the producer's
 * own shared index: writes stay inside the data, areas inside the ring. */
static void test_hostile_consumer(void **state)
{
	const uint64_t frames = 13;
	const uint32_t fb = 5;
	uint8_t *data = malloc(frames * fb), in[13 * 5] = { 0 };
	struct ring_ctl ctl;
	struct ring r;

	(void)state;
	assert_non_null(data);
	for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		for (unsigned i = 0; i < GARBAGE_N; i++) {
			uint64_t rd, n, want = frames;
			uint8_t *a;

			atomic_store(&ctl.write, starts[s]);
			atomic_store(&ctl.read, starts[s]);
			ring_init_producer(&r, &ctl, data, frames, fb);
			rd = garbage(starts[s], frames, i);
			atomic_store(&ctl.read, rd);
			atomic_store(&ctl.write, garbage(rd, frames, i + 5));
			n = ring_writable(&r);
			assert_true(n <= frames);
			ring_write(&r, in, n);
			assert_int_equal(ring_position(&r), starts[s] + n);
			a = ring_write_area(&r, &want);
			assert_true(a >= data && a + want * fb <= data + frames * fb);
			memset(a, 0x5a, want * fb);
			ring_write_commit(&r, want);
			ring_write(&r, in, UINT64_MAX);	/* caller bug: clamped */
		}
	}
	free(data);
}

/* --- two threads ---------------------------------------------------------
 * Each frame is {n, ~n} for frame number n: a frame published before its
 * bytes landed, or read after being overwritten, breaks the sequence or
 * the pair. Chunk sizes and the copy/zero-copy choice are random. */

#define STRESS_FRAMES 1021	/* prime: slots never line up with chunks */
#define STRESS_MIN_S 1.5
#define STRESS_MAX_S 20.0
#define STRESS_MAX_FRAMES (100u * 1000 * 1000)
#define STRESS_MIN_WRAPS 200	/* even on a starved machine */

struct stress {
	struct ring_ctl ctl;
	uint64_t *data;
	_Atomic int done;
	_Atomic uint64_t total;
	uint64_t bad, first_bad;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fill_frames(uint64_t *f, uint64_t first, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		f[2 * i] = first + i;
		f[2 * i + 1] = ~(first + i);
	}
}

/* Enough frames for the minimum time and wraps, and never endless. */
static int stress_more(uint64_t pos, double t0)
{
	double t = now_s() - t0;

	if (t >= STRESS_MAX_S || pos >= STRESS_MAX_FRAMES)
		return 0;
	return t < STRESS_MIN_S || pos < (uint64_t)STRESS_MIN_WRAPS * STRESS_FRAMES;
}

static void produce_chunk(struct ring *r, uint64_t *seed, uint64_t *buf)
{
	uint64_t n = 1 + xorshift(seed) % 300, w = ring_writable(r);

	if (!w) {
		sched_yield();
		return;
	}
	n = n < w ? n : w;
	if (xorshift(seed) & 1) {
		fill_frames(buf, ring_position(r), n);
		ring_write(r, buf, n);
	} else {
		uint64_t *a = ring_write_area(r, &n);

		fill_frames(a, ring_position(r), n);
		ring_write_commit(r, n);
	}
}

static void *producer(void *arg)
{
	struct stress *s = arg;
	uint64_t seed = 0x9e3779b97f4a7c15u, buf[2 * 300];
	struct ring r;
	double t0 = now_s();

	ring_init_producer(&r, &s->ctl, s->data, STRESS_FRAMES, 16);
	while (stress_more(ring_position(&r), t0))
		produce_chunk(&r, &seed, buf);
	atomic_store(&s->total, ring_position(&r));
	atomic_store(&s->done, 1);
	return NULL;
}

static void check_frames(struct stress *s, const uint64_t *f, uint64_t first,
			 uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		if (f[2 * i] == first + i && f[2 * i + 1] == ~(first + i))
			continue;
		if (!s->bad++)
			s->first_bad = first + i;
	}
}

/* Copies out either in one read or as two peeks and a release. */
static void consume_chunk(struct stress *s, struct ring *r, uint64_t n,
			  uint64_t *seed, uint64_t *buf)
{
	uint64_t pos = ring_position(r), half = n / 2;

	if (xorshift(seed) & 1) {
		ring_read(r, buf, n);
	} else {
		ring_peek(r, half, buf + 2 * half, n - half);
		ring_peek(r, 0, buf, half);
		ring_release(r, n);
	}
	check_frames(s, buf, pos, n);
}

static void *consumer(void *arg)
{
	struct stress *s = arg;
	uint64_t seed = 0x2545f4914f6cdd1du, buf[2 * 400];
	struct ring r;

	ring_init_consumer(&r, &s->ctl, s->data, STRESS_FRAMES, 16);
	for (;;) {
		uint64_t n = ring_readable(&r), want = 1 + xorshift(&seed) % 400;

		if (n) {
			consume_chunk(s, &r, n < want ? n : want, &seed, buf);
			continue;
		}
		/* done is stored after total: once seen, total is final, and
		 * an empty ring at that point means all of it was read. */
		if (atomic_load(&s->done) && ring_readable(&r) == 0)
			break;
		sched_yield();
	}
	if (ring_position(&r) != atomic_load(&s->total) && !s->bad++)
		s->first_bad = ring_position(&r);
	return NULL;
}

static void test_stress_threads(void **state)
{
	struct stress *s = calloc(1, sizeof(*s));
	pthread_t p, c;

	(void)state;
	assert_non_null(s);
	s->data = malloc(STRESS_FRAMES * 16);
	assert_non_null(s->data);
	assert_int_equal(pthread_create(&c, NULL, consumer, s), 0);
	assert_int_equal(pthread_create(&p, NULL, producer, s), 0);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	print_message("stress: %llu frames, %llu bad (first at %llu)\n",
		      (unsigned long long)atomic_load(&s->total),
		      (unsigned long long)s->bad,
		      (unsigned long long)s->first_bad);
	assert_int_equal(s->bad, 0);
	assert_true(atomic_load(&s->total) >=
		    (uint64_t)STRESS_MIN_WRAPS * STRESS_FRAMES);
	free(s->data);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_zero_copy),
		cmocka_unit_test(test_init_clamp),
		cmocka_unit_test(test_hostile_producer),
		cmocka_unit_test(test_hostile_consumer),
		cmocka_unit_test(test_stress_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
