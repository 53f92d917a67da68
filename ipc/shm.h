/* Per-stream shared memory: created, sized and sealed by lulld, mapped by
 * the client. Layout:
 *
 *   struct shm_hdr | padding to 4096 | ring data (ring_frames * frame_bytes)
 *
 * lulld seals the memfd against shrinking and growing before handing it
 * over, so a client can never make lulld fault (SIGBUS) by truncating it.
 * Everything in it is writable by the client, so lulld treats every field
 * the client could have written as hostile: it keeps its own copies of the
 * geometry and reads client-owned fields once, clamped. */
#ifndef LULL_SHM_H
#define LULL_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/ring.h"

#define SHM_MAGIC 0x6c6c756cu	/* "lull" */
#define SHM_VERSION 1
#define SHM_DATA_OFFSET 4096

/* Where the stream is heard: published by lulld under a sequence lock.
 * frame is in stream frames (client rate); frame `frame` of the stream is
 * (or was) at the DAC at CLOCK_MONOTONIC time_ns. */
struct shm_position {
	_Atomic uint32_t seq;	/* odd while lulld writes */
	uint32_t flags;		/* SHM_POS_* */
	uint64_t frame;
	int64_t time_ns;
	uint64_t rate_ppm;	/* card clock vs CLOCK_MONOTONIC, 1e6 = same */
	uint64_t latency_ns;	/* what lulld aims for: write to DAC */
};

#define SHM_POS_VALID 1u
#define SHM_POS_RUNNING 2u

struct shm_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t frame_bytes;
	uint32_t pad0;
	uint64_t ring_frames;
	uint64_t data_offset;
	struct ring_ctl ring;	/* playback: client writes, lulld reads */
	/* lulld sets it when it needs to hear about new data (new stream, ran
	 * dry); the client then writes a byte to its wake-up pipe to lulld and
	 * clears it. Otherwise the client never wakes lulld. */
	_Alignas(64) _Atomic uint32_t want_signal;
	/* lulld writes a byte to the client's wake-up pipe when the fill drops
	 * below this. */
	_Atomic uint32_t pad1;
	_Atomic uint64_t request_frames;
	_Atomic uint64_t underruns;	/* times lulld found the ring dry */
	_Atomic uint64_t overruns;	/* capture: frames the client lost */
	struct shm_position pos;
};

/* lulld: creates a sealed memfd big enough for ring_frames, maps it, fills
 * the header. Returns 0 or -errno; *fd and *hdr out. */
int shm_create(int *fd, struct shm_hdr **hdr, size_t *bytes,
	       uint64_t ring_frames, uint32_t frame_bytes);
/* Client: maps a received memfd after checking size and header. */
int shm_map(int fd, struct shm_hdr **hdr, size_t *bytes);
void shm_unmap(struct shm_hdr *hdr, size_t bytes);
void *shm_data(struct shm_hdr *hdr);

/* Sequence-locked position: lulld writes, the client reads a consistent
 * copy (retrying while lulld is mid-write). */
void shm_position_write(struct shm_position *p, uint32_t flags, uint64_t frame,
			int64_t time_ns, uint64_t rate_ppm, uint64_t latency_ns);
int shm_position_read(const struct shm_position *p, uint32_t *flags,
		      uint64_t *frame, int64_t *time_ns, uint64_t *rate_ppm,
		      uint64_t *latency_ns);

#endif
