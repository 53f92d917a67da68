/* Per-stream shared memory. See shm.h for the layout and the trust model.
 *
 * lulld's side never follows anything the client can write: the data
 * area is at the constant SHM_DATA_OFFSET (not hdr->data_offset), and the
 * ring geometry is lulld's own. The client's side checks the header
 * against the real size of the memfd before trusting any of it. */
#include "ipc/shm.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static_assert(sizeof(struct shm_hdr) <= SHM_DATA_OFFSET,
	      "the header fits before the data");

/* SHRINK: a truncation would make our mapping fault (SIGBUS). GROW: the
 * size lulld validated stays the size. SEAL: the client cannot add more,
 * e.g. F_SEAL_FUTURE_WRITE, which would stop lulld mapping it again. */
#define SHM_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/* Seqlock reader: attempts before giving up, and how many of them spin
 * before yielding (the writer may have been preempted mid-write, maybe
 * on our own CPU). */
#define SHM_POS_TRIES 64
#define SHM_POS_SPINS 4

/* The largest memfd both size_t (mmap) and off_t (ftruncate) can hold. */
static uint64_t shm_max_bytes(void)
{
	return SIZE_MAX < INT64_MAX ? SIZE_MAX : INT64_MAX;
}

/* Bytes for the header page plus the ring; 0 when nonsense or too big. */
static uint64_t shm_bytes_for(uint64_t ring_frames, uint32_t frame_bytes)
{
	if (!ring_frames || !frame_bytes)
		return 0;
	if (ring_frames > (shm_max_bytes() - SHM_DATA_OFFSET) / frame_bytes)
		return 0;
	return SHM_DATA_OFFSET + ring_frames * frame_bytes;
}

static int shm_size_and_seal(int fd, size_t bytes)
{
	if (ftruncate(fd, (off_t)bytes) < 0)
		return -errno;
	if (fcntl(fd, F_ADD_SEALS, SHM_SEALS) < 0)
		return -errno;
	return 0;
}

static int shm_mmap(int fd, size_t bytes, struct shm_hdr **hdr)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	*hdr = p;
	return 0;
}

/* A new memfd reads as zeros, which is also where the ring indices, the
 * counters and the position seq start. */
static void shm_fill(struct shm_hdr *h, uint64_t ring_frames,
		     uint32_t frame_bytes)
{
	h->magic = SHM_MAGIC;
	h->version = SHM_VERSION;
	h->frame_bytes = frame_bytes;
	h->ring_frames = ring_frames;
	h->data_offset = SHM_DATA_OFFSET;
}

int shm_create(int *fd, struct shm_hdr **hdr, size_t *bytes,
	       uint64_t ring_frames, uint32_t frame_bytes)
{
	size_t size = (size_t)shm_bytes_for(ring_frames, frame_bytes);
	int f, err;

	if (!size)
		return -EINVAL;
	f = memfd_create("lull-stream", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (f < 0)
		return -errno;
	err = shm_size_and_seal(f, size);
	if (!err)
		err = shm_mmap(f, size, hdr);
	if (err) {
		close(f);
		return err;
	}
	shm_fill(*hdr, ring_frames, frame_bytes);
	*fd = f;
	*bytes = size;
	return 0;
}

/* The fd must be a memfd sealed against shrinking (else the size we check
 * could change under the mapping) and hold at least the header page. */
static int shm_check_fd(int fd, size_t *bytes)
{
	struct stat st;
	int seals;

	if (fstat(fd, &st) < 0)
		return -errno;
	seals = fcntl(fd, F_GET_SEALS);
	if (!S_ISREG(st.st_mode) || seals < 0 || !(seals & F_SEAL_SHRINK))
		return -EPROTO;
	if (st.st_size < SHM_DATA_OFFSET ||
	    (uint64_t)st.st_size > shm_max_bytes())
		return -EPROTO;
	*bytes = (size_t)st.st_size;
	return 0;
}

/* Each field read once; the ring must fit in what is really mapped. */
static int shm_check_hdr(const struct shm_hdr *h, size_t bytes)
{
	uint64_t frames = h->ring_frames;
	uint32_t fb = h->frame_bytes;

	if (h->magic != SHM_MAGIC || h->version != SHM_VERSION)
		return -EPROTO;
	if (h->data_offset != SHM_DATA_OFFSET || !frames || !fb)
		return -EPROTO;
	if (frames > (bytes - SHM_DATA_OFFSET) / fb)
		return -EPROTO;
	return 0;
}

int shm_map(int fd, struct shm_hdr **hdr, size_t *bytes)
{
	struct shm_hdr *h = NULL;
	size_t size = 0;
	int err;

	err = shm_check_fd(fd, &size);
	if (err)
		return err;
	err = shm_mmap(fd, size, &h);
	if (err)
		return err;
	err = shm_check_hdr(h, size);
	if (err) {
		munmap(h, size);
		return err;
	}
	*hdr = h;
	*bytes = size;
	return 0;
}

void shm_unmap(struct shm_hdr *hdr, size_t bytes)
{
	if (hdr)
		munmap(hdr, bytes);
}

/* The constant, never hdr->data_offset: the client may rewrite that. */
void *shm_data(struct shm_hdr *hdr)
{
	return (uint8_t *)hdr + SHM_DATA_OFFSET;
}

/* --- position, under a sequence lock --------------------------------------
 *
 * The payload fields are plain in the header, but are only ever accessed
 * here, with relaxed atomic builtins: the reader may load them while the
 * writer stores, and that must not be a data race (which C11 leaves
 * undefined) but a torn copy the seq check throws away.
 *
 *   writer: seq = odd; release fence; payload...; seq = even (release)
 *   reader: s1 = seq (acquire); payload...; acquire fence; s2 = seq
 *
 * If the reader saw any payload store of a write, the two fences make the
 * writer's odd seq store visible to its s2 load, so s2 != s1; if it saw
 * the even store that ends a write, the acquire on s1 makes that whole
 * write visible. Equal, even s1 and s2 therefore mean one whole write. */

#define POS_STORE(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define POS_LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* One writer only (lulld's audio thread for this stream). */
void shm_position_write(struct shm_position *p, uint32_t flags, uint64_t frame,
			int64_t time_ns, uint64_t rate_ppm, uint64_t latency_ns)
{
	uint32_t seq = atomic_load_explicit(&p->seq, memory_order_relaxed);

	atomic_store_explicit(&p->seq, seq | 1u, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	POS_STORE(p->flags, flags);
	POS_STORE(p->frame, frame);
	POS_STORE(p->time_ns, time_ns);
	POS_STORE(p->rate_ppm, rate_ppm);
	POS_STORE(p->latency_ns, latency_ns);
	/* (seq | 1) + 1: even again, even if a client left seq odd. */
	atomic_store_explicit(&p->seq, (seq | 1u) + 1u, memory_order_release);
}

struct pos_copy {
	uint32_t flags;
	uint64_t frame;
	int64_t time_ns;
	uint64_t rate_ppm;
	uint64_t latency_ns;
};

/* One attempt: true when c holds a copy no write overlapped. */
static int pos_try(const struct shm_position *p, struct pos_copy *c)
{
	uint32_t s1 = atomic_load_explicit(&p->seq, memory_order_acquire);

	if (s1 & 1u)
		return 0;
	c->flags = POS_LOAD(p->flags);
	c->frame = POS_LOAD(p->frame);
	c->time_ns = POS_LOAD(p->time_ns);
	c->rate_ppm = POS_LOAD(p->rate_ppm);
	c->latency_ns = POS_LOAD(p->latency_ns);
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&p->seq, memory_order_relaxed) == s1;
}

/* Any out pointer may be NULL. -EAGAIN when every attempt overlapped a
 * write (a writer preempted mid-write): try again later. */
int shm_position_read(const struct shm_position *p, uint32_t *flags,
		      uint64_t *frame, int64_t *time_ns, uint64_t *rate_ppm,
		      uint64_t *latency_ns)
{
	struct pos_copy c;
	int i;

	for (i = 0; !pos_try(p, &c); i++) {
		if (i + 1 >= SHM_POS_TRIES)
			return -EAGAIN;
		if (i >= SHM_POS_SPINS)
			sched_yield();
	}
	if (flags)
		*flags = c.flags;
	if (frame)
		*frame = c.frame;
	if (time_ns)
		*time_ns = c.time_ns;
	if (rate_ppm)
		*rate_ppm = c.rate_ppm;
	if (latency_ns)
		*latency_ns = c.latency_ns;
	return 0;
}
