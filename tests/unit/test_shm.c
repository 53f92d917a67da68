/* Stream shared memory: the memfd is sealed for real (the kernel refuses
 * to shrink or grow it), a second mapping sees the same ring, the client
 * side rejects memfds whose size or header is nonsense, and the
 * sequence-locked position is never seen torn by a reader racing a
 * writer thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ipc/shm.h"

static void test_create(void **state)
{
	struct shm_hdr *hdr;
	struct stat st;
	size_t bytes;
	int fd;

	(void)state;
	assert_int_equal(shm_create(&fd, &hdr, &bytes, 1000, 8), 0);
	assert_int_equal(bytes, SHM_DATA_OFFSET + 8000);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, bytes);
	assert_int_equal(hdr->magic, SHM_MAGIC);
	assert_int_equal(hdr->version, SHM_VERSION);
	assert_int_equal(hdr->frame_bytes, 8);
	assert_int_equal(hdr->ring_frames, 1000);
	assert_int_equal(hdr->data_offset, SHM_DATA_OFFSET);
	assert_int_equal(atomic_load(&hdr->ring.write), 0);
	assert_int_equal(atomic_load(&hdr->pos.seq), 0);
	assert_ptr_equal(shm_data(hdr), (uint8_t *)hdr + SHM_DATA_OFFSET);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	shm_unmap(hdr, bytes);
	close(fd);
}

static void expect_eperm(int r)
{
	assert_int_equal(r, -1);
	assert_int_equal(errno, EPERM);
}

/* What a hostile client would try on the fd it was given. */
static void test_seals(void **state)
{
	struct shm_hdr *hdr;
	size_t bytes;
	int fd;
	char c = 1;

	(void)state;
	assert_int_equal(shm_create(&fd, &hdr, &bytes, 480, 4), 0);
	assert_int_equal(fcntl(fd, F_GET_SEALS),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	expect_eperm(ftruncate(fd, (off_t)bytes - 1));
	expect_eperm(ftruncate(fd, 0));
	expect_eperm(ftruncate(fd, (off_t)bytes + 4096));
	expect_eperm((int)pwrite(fd, &c, 1, (off_t)bytes));
	expect_eperm(fallocate(fd, 0, 0, (off_t)bytes * 2));
	expect_eperm(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
#ifdef F_SEAL_FUTURE_WRITE
	expect_eperm(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
#endif
	assert_int_equal(pwrite(fd, &c, 1, (off_t)bytes - 1), 1);	/* inside */
	shm_unmap(hdr, bytes);
	close(fd);
}

static void test_create_invalid(void **state)
{
	struct shm_hdr *hdr;
	size_t bytes;
	int fd;

	(void)state;
	assert_int_equal(shm_create(&fd, &hdr, &bytes, 0, 8), -EINVAL);
	assert_int_equal(shm_create(&fd, &hdr, &bytes, 100, 0), -EINVAL);
	assert_int_equal(shm_create(&fd, &hdr, &bytes, UINT64_MAX, 1), -EINVAL);
	assert_int_equal(shm_create(&fd, &hdr, &bytes, UINT64_MAX / 2, 4), -EINVAL);
}

/* lulld produces through its mapping, the client consumes through its
 * own mapping of the received fd. */
static void test_map_ring(void **state)
{
	struct shm_hdr *srv, *cli;
	size_t bytes, cbytes;
	struct ring prod, cons;
	uint32_t in[4] = { 7, 8, 9, 10 }, out[4];
	int fd;

	(void)state;
	assert_int_equal(shm_create(&fd, &srv, &bytes, 3, 4), 0);
	assert_int_equal(shm_map(fd, &cli, &cbytes), 0);
	assert_int_equal(cbytes, bytes);
	assert_ptr_not_equal(cli, srv);
	ring_init_producer(&prod, &srv->ring, shm_data(srv), 3, 4);
	ring_init_consumer(&cons, &cli->ring, shm_data(cli), cli->ring_frames,
			   cli->frame_bytes);
	for (unsigned i = 0; i < 4; i++) {
		ring_write(&prod, in, 2);
		ring_read(&cons, out, 2);
		assert_memory_equal(in, out, 2 * sizeof(uint32_t));
		in[0] += 2, in[1] += 2;
	}
	atomic_store(&cli->underruns, 5);
	assert_int_equal(atomic_load(&srv->underruns), 5);
	shm_unmap(cli, cbytes);
	shm_unmap(srv, bytes);
	close(fd);
}

/* A memfd of `bytes` holding header h, sealed as asked. */
static int make_fd(const struct shm_hdr *h, size_t bytes, int seals)
{
	int fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	size_t n = bytes < sizeof(*h) ? bytes : sizeof(*h);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)bytes), 0);
	assert_int_equal(pwrite(fd, h, n, 0), (ssize_t)n);
	if (seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

static int try_map(const struct shm_hdr *h, size_t bytes, int seals)
{
	struct shm_hdr *m = NULL;
	size_t got = 0;
	int fd = make_fd(h, bytes, seals), r;

	r = shm_map(fd, &m, &got);
	if (r == 0) {
		assert_int_equal(got, bytes);
		shm_unmap(m, got);
	} else {
		assert_null(m);
	}
	close(fd);
	return r;
}

static void good_hdr(struct shm_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = SHM_MAGIC;
	h->version = SHM_VERSION;
	h->frame_bytes = 8;
	h->ring_frames = 1000;
	h->data_offset = SHM_DATA_OFFSET;
}

static void test_map_rejects(void **state)
{
	const size_t size = SHM_DATA_OFFSET + 8000;
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW;
	struct shm_hdr h;
	struct shm_hdr *m = NULL;
	size_t got;
	int pipefd[2];

	(void)state;
	good_hdr(&h);
	assert_int_equal(try_map(&h, size, seals), 0);	/* the control */
	assert_int_equal(try_map(&h, size + 1, seals), 0);
	assert_int_equal(try_map(&h, size - 1, seals), -EPROTO);
	assert_int_equal(try_map(&h, 100, seals), -EPROTO);
	assert_int_equal(try_map(&h, 0, seals), -EPROTO);
	assert_int_equal(try_map(&h, size, 0), -EPROTO);	/* unsealed */
	assert_int_equal(try_map(&h, size, F_SEAL_GROW), -EPROTO);

	h.magic ^= 1;
	assert_int_equal(try_map(&h, size, seals), -EPROTO);
	good_hdr(&h), h.version = SHM_VERSION + 1;
	assert_int_equal(try_map(&h, size, seals), -EPROTO);
	good_hdr(&h), h.frame_bytes = 0;
	assert_int_equal(try_map(&h, size, seals), -EPROTO);
	good_hdr(&h), h.ring_frames = 0;
	assert_int_equal(try_map(&h, size, seals), -EPROTO);
	good_hdr(&h), h.data_offset = 0;
	assert_int_equal(try_map(&h, size, seals), -EPROTO);
	good_hdr(&h), h.data_offset = SHM_DATA_OFFSET * 2;
	assert_int_equal(try_map(&h, size, seals), -EPROTO);
	/* Products that overflow 64 bits must not wrap into "fits". */
	good_hdr(&h), h.ring_frames = UINT64_MAX;
	assert_int_equal(try_map(&h, size, seals), -EPROTO);
	good_hdr(&h), h.ring_frames = ((uint64_t)1 << 62) + 1, h.frame_bytes = 4;
	assert_int_equal(try_map(&h, size, seals), -EPROTO);
	good_hdr(&h), h.frame_bytes = UINT32_MAX, h.ring_frames = 2;
	assert_int_equal(try_map(&h, size, seals), -EPROTO);

	assert_int_equal(pipe(pipefd), 0);	/* not a memfd at all */
	assert_int_equal(shm_map(pipefd[0], &m, &got), -EPROTO);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_int_equal(shm_map(-1, &m, &got), -EBADF);
	assert_null(m);
}

/* --- position seqlock ---------------------------------------------------- */

static void test_position_single(void **state)
{
	struct shm_position p;
	uint32_t flags = 99;
	uint64_t frame = 99, rate = 99, lat = 99;
	int64_t t = 99;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(shm_position_read(&p, &flags, &frame, &t, &rate, &lat), 0);
	assert_int_equal(flags, 0);	/* never written: not SHM_POS_VALID */
	shm_position_write(&p, SHM_POS_VALID | SHM_POS_RUNNING, 480, -5,
			   1000020, 25000000);
	assert_int_equal(shm_position_read(&p, &flags, &frame, &t, &rate, &lat), 0);
	assert_int_equal(flags, SHM_POS_VALID | SHM_POS_RUNNING);
	assert_int_equal(frame, 480);
	assert_int_equal(t, -5);
	assert_int_equal(rate, 1000020);
	assert_int_equal(lat, 25000000);
	assert_int_equal(shm_position_read(&p, NULL, &frame, NULL, NULL, NULL), 0);

	/* A seq left odd (a writer that died, or a client scribbling) makes
	 * the reader give up, not hang; the next write repairs it. */
	atomic_store(&p.seq, 7);
	assert_int_equal(shm_position_read(&p, &flags, &frame, &t, &rate, &lat),
			 -EAGAIN);
	shm_position_write(&p, SHM_POS_VALID, 960, 1, 2, 3);
	assert_int_equal(atomic_load(&p.seq) & 1, 0);
	assert_int_equal(shm_position_read(&p, &flags, &frame, &t, &rate, &lat), 0);
	assert_int_equal(frame, 960);
}

/* The writer publishes write k as fields that are all functions of k; a
 * reader that mixed two writes would see them disagree. */
struct race {
	struct shm_position pos;
	_Atomic int stop;
	uint64_t writes;
};

static void *pos_writer(void *arg)
{
	struct race *r = arg;
	uint64_t k = 1;

	for (; !atomic_load_explicit(&r->stop, memory_order_relaxed); k++)
		shm_position_write(&r->pos, (uint32_t)k, k, (int64_t)(3 * k + 1),
				   k ^ 0x5555555555555555u, ~k);
	r->writes = k - 1;
	return NULL;
}

static int pos_consistent(uint32_t flags, uint64_t frame, int64_t t,
			  uint64_t rate, uint64_t lat)
{
	if (frame == 0)		/* before the first write: all zero */
		return !flags && !t && !rate && !lat;
	return flags == (uint32_t)frame && t == (int64_t)(3 * frame + 1) &&
	       rate == (frame ^ 0x5555555555555555u) && lat == ~frame;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads for a second (and at least 2000 good copies, within 20 s): no
 * copy torn, none going backwards. -EAGAIN is allowed (the writer can be
 * preempted mid-write on a loaded machine) but counted. */
static void test_position_race(void **state)
{
	static struct race r;	/* static: 64-byte alignment, zeroed */
	uint64_t ok = 0, again = 0, torn = 0, back = 0, last = 0;
	double t0 = now_s(), t;
	pthread_t w;

	(void)state;
	assert_int_equal(pthread_create(&w, NULL, pos_writer, &r), 0);
	do {
		uint32_t flags;
		uint64_t frame, rate, lat;
		int64_t ts;
		int e = shm_position_read(&r.pos, &flags, &frame, &ts, &rate, &lat);

		if (e == -EAGAIN) {
			again++;
		} else {
			ok++;
			torn += !pos_consistent(flags, frame, ts, rate, lat);
			back += frame < last;
			last = frame;
		}
		t = now_s() - t0;
	} while (t < 20.0 && (t < 1.0 || ok < 2000));
	atomic_store(&r.stop, 1);
	pthread_join(w, NULL);
	print_message("seqlock: %llu writes, %llu reads, %llu EAGAIN, last %llu\n",
		      (unsigned long long)r.writes, (unsigned long long)ok,
		      (unsigned long long)again, (unsigned long long)last);
	assert_int_equal(torn, 0);
	assert_int_equal(back, 0);
	assert_true(ok >= 2000);
	assert_true(last > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_seals),
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test(test_map_ring),
		cmocka_unit_test(test_map_rejects),
		cmocka_unit_test(test_position_single),
		cmocka_unit_test(test_position_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
