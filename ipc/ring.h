/* A single-producer, single-consumer ring of frames in shared memory.
 *
 * Indices are free-running 64-bit frame counts (never wrapped), so
 * fill = write - read with no ambiguity between full and empty. The two
 * indices live in shared memory, but each side trusts only its own copy:
 * it publishes its index with a release store and reads the other side's
 * once, with an acquire load, and clamps it. The peer may be hostile: a
 * garbage index can make us read garbage audio, never read or write
 * outside the ring.
 *
 *      read                     write
 *   ----|========= fill ==========|-------- free --------|----
 *       <------------------- frames (capacity) ---------->
 */
#ifndef LULL_RING_H
#define LULL_RING_H

#include <stdatomic.h>
#include <stdint.h>

/* The shared part. 64-byte aligned halves keep the two sides' stores on
 * separate cache lines. */
struct ring_ctl {
	_Alignas(64) _Atomic uint64_t write;
	_Alignas(64) _Atomic uint64_t read;
};

/* One side's private view. Capacity and frame size are this side's own
 * (from its own setup), never re-read from shared memory. */
struct ring {
	struct ring_ctl *ctl;
	uint8_t *data;
	uint64_t frames;
	uint32_t frame_bytes;
	uint64_t mine;		/* our index, the one we trust */
};

/* Producer side: mine = write. Consumer side: mine = read. Both start from
 * whatever the shared control block holds, clamped into range. */
void ring_init_producer(struct ring *r, struct ring_ctl *ctl, void *data,
			uint64_t frames, uint32_t frame_bytes);
void ring_init_consumer(struct ring *r, struct ring_ctl *ctl, void *data,
			uint64_t frames, uint32_t frame_bytes);

/* Producer. */
uint64_t ring_writable(const struct ring *r);
/* Copies n <= ring_writable() frames in and publishes them. */
void ring_write(struct ring *r, const void *src, uint64_t n);
/* Zero-copy: a contiguous area of up to *n frames at the write index. */
void *ring_write_area(struct ring *r, uint64_t *n);
void ring_write_commit(struct ring *r, uint64_t n);

/* Consumer. The producer's index is read once per call and clamped:
 * behind our read index counts as empty, beyond capacity as full. */
uint64_t ring_readable(const struct ring *r);
/* Copies n <= ring_readable() frames out and releases them. */
void ring_read(struct ring *r, void *dst, uint64_t n);
/* Copies n frames starting `offset` frames past the read index, without
 * releasing anything (offset + n <= ring_readable()). */
void ring_peek(const struct ring *r, uint64_t offset, void *dst, uint64_t n);
void ring_release(struct ring *r, uint64_t n);

/* Either side: our own index (frames produced or consumed so far). */
uint64_t ring_position(const struct ring *r);

#endif
