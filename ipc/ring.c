/* SPSC frame ring. See ring.h for the model.
 *
 * Memory ordering, all of it:
 *  - the producer copies frames in, then publishes `write` with a release
 *    store; the consumer loads `write` with acquire, so every frame below
 *    the index it saw is visible to its copies;
 *  - the consumer copies frames out, then publishes `read` with a release
 *    store; the producer loads `read` with acquire, so its later stores
 *    into released slots happen after the consumer's last load of them.
 * The peer's index is loaded once per call; our own is never re-read from
 * shared memory (the peer could have scribbled on it).
 *
 * Slots are index % frames, so the capacity need not be a power of two.
 * The one place that costs anything is the 2^64 wrap of an index, where
 * index % frames jumps: only a garbage starting index can get there (at
 * 384 kHz it takes 1.5 million years), and it then scrambles audio order,
 * never the bounds: every copy stays inside data[0, frames). */
#include "ipc/ring.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

/* The two processes must meet on the same instruction on the same word;
 * a lock-based fallback would use a lock private to each process. */
static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Frames between the two indices, clamped to 0..frames. A write index
 * behind read wraps to a huge unsigned distance (above 2^63): that is an
 * empty ring, not a full one. More than `frames` ahead is full. */
static uint64_t fill_clamp(uint64_t write, uint64_t read, uint64_t frames)
{
	uint64_t d = write - read;

	if (d > INT64_MAX)
		return 0;
	return min_u64(d, frames);
}

static uint64_t load_peer(_Atomic uint64_t *index)
{
	return atomic_load_explicit(index, memory_order_acquire);
}

/* Moves our index on and tells the peer; see the top for why release. */
static void advance(struct ring *r, _Atomic uint64_t *index, uint64_t n)
{
	r->mine += n;
	atomic_store_explicit(index, r->mine, memory_order_release);
}

static size_t span_bytes(const struct ring *r, uint64_t n)
{
	return (size_t)n * r->frame_bytes;
}

static uint8_t *frame_at(const struct ring *r, uint64_t index)
{
	return r->data + span_bytes(r, index % r->frames);
}

/* Contiguous frames from index up to the end of the data area. */
static uint64_t to_end(const struct ring *r, uint64_t index)
{
	return r->frames - index % r->frames;
}

/*   data: |----second----|........|====first====|
 *         0                       index % frames  frames
 * n <= frames keeps `second` below the start of `first`. Callers return
 * early for n == 0, so a NULL buffer with no frames is never passed on
 * to memcpy. */
static void copy_in(const struct ring *r, uint64_t index, const uint8_t *src,
		    uint64_t n)
{
	uint64_t first = min_u64(n, to_end(r, index));

	memcpy(frame_at(r, index), src, span_bytes(r, first));
	memcpy(r->data, src + span_bytes(r, first), span_bytes(r, n - first));
}

static void copy_out(const struct ring *r, uint64_t index, uint8_t *dst,
		     uint64_t n)
{
	uint64_t first = min_u64(n, to_end(r, index));

	memcpy(dst, frame_at(r, index), span_bytes(r, first));
	memcpy(dst + span_bytes(r, first), r->data, span_bytes(r, n - first));
}

static void ring_setup(struct ring *r, struct ring_ctl *ctl, void *data,
		       uint64_t frames, uint32_t frame_bytes)
{
	/* Modulo by zero and byte offsets beyond size_t are the two ways
	 * the geometry itself could break the bounds. */
	assert(frames > 0 && frame_bytes > 0);
	assert(frames <= SIZE_MAX / frame_bytes);
	r->ctl = ctl;
	r->data = data;
	r->frames = frames;
	r->frame_bytes = frame_bytes;
}

/* Starting point: our shared index, moved (never the peer's) so that
 * 0 <= write - read <= frames, then published so both sides agree. */
void ring_init_producer(struct ring *r, struct ring_ctl *ctl, void *data,
			uint64_t frames, uint32_t frame_bytes)
{
	uint64_t w, rd;

	ring_setup(r, ctl, data, frames, frame_bytes);
	w = atomic_load_explicit(&ctl->write, memory_order_relaxed);
	rd = load_peer(&ctl->read);
	r->mine = rd + fill_clamp(w, rd, frames);
	advance(r, &ctl->write, 0);
}

void ring_init_consumer(struct ring *r, struct ring_ctl *ctl, void *data,
			uint64_t frames, uint32_t frame_bytes)
{
	uint64_t w, rd;

	ring_setup(r, ctl, data, frames, frame_bytes);
	w = load_peer(&ctl->write);
	rd = atomic_load_explicit(&ctl->read, memory_order_relaxed);
	r->mine = w - fill_clamp(w, rd, frames);
	advance(r, &ctl->read, 0);
}

/* --- producer ------------------------------------------------------------
 * A read index ahead of ours (the consumer claims frames never written)
 * counts as an empty ring; more than `frames` behind ours, as a full one. */

uint64_t ring_writable(const struct ring *r)
{
	return r->frames - fill_clamp(r->mine, load_peer(&r->ctl->read),
				      r->frames);
}

/* n beyond ring_writable() is a caller bug: it overwrites unread frames
 * but, clamped to the capacity, never writes outside the ring. */
void ring_write(struct ring *r, const void *src, uint64_t n)
{
	n = min_u64(n, r->frames);
	if (n)
		copy_in(r, r->mine, src, n);
	advance(r, &r->ctl->write, n);
}

/* *n in: frames wanted; out: frames that may be written at the returned
 * address (0 when the ring is full), stopping at the end of the data
 * area. The caller writes there, then commits what it wrote. */
void *ring_write_area(struct ring *r, uint64_t *n)
{
	*n = min_u64(min_u64(*n, ring_writable(r)), to_end(r, r->mine));
	return frame_at(r, r->mine);
}

/* Committing more than the area held only moves our index: every access
 * is modulo the capacity, so a caller bug here garbles, never overflows. */
void ring_write_commit(struct ring *r, uint64_t n)
{
	advance(r, &r->ctl->write, n);
}

/* --- consumer ------------------------------------------------------------ */

uint64_t ring_readable(const struct ring *r)
{
	return fill_clamp(load_peer(&r->ctl->write), r->mine, r->frames);
}

/* As for ring_write: n is clamped to the capacity, not to the fill. */
void ring_read(struct ring *r, void *dst, uint64_t n)
{
	n = min_u64(n, r->frames);
	if (n)
		copy_out(r, r->mine, dst, n);
	advance(r, &r->ctl->read, n);
}

/* Any offset lands inside the ring (modulo); only the caller's check
 * against ring_readable() makes the frames meaningful. */
void ring_peek(const struct ring *r, uint64_t offset, void *dst, uint64_t n)
{
	if (n)
		copy_out(r, r->mine + offset, dst, min_u64(n, r->frames));
}

void ring_release(struct ring *r, uint64_t n)
{
	advance(r, &r->ctl->read, n);
}

uint64_t ring_position(const struct ring *r)
{
	return r->mine;
}
