/* Loopback ring of the simulated card. See simair.h.
 *
 * Layout of the shared object:
 *   struct simair_hdr | stamps[slots] (uint64) | frames[slots]
 * A slot is valid for air frame g when stamps[g % slots] == g + 1. The
 * writer clears the stamp, writes the frame, then publishes the stamp
 * (release); the reader loads the stamp (acquire), copies, and loads it
 * again: a changed stamp means the writer lapped it mid-copy. */
#include "tools/simcard/simair.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIMAIR_MAGIC 0x6c6c7561u	/* "aull" */
#define SIMAIR_SECONDS 4

struct simair_hdr {
	_Atomic uint32_t magic;	/* 0 once the writer has abandoned it */
	uint32_t rate, channels, fmt;
	uint64_t slots;
	_Atomic uint64_t horizon;
	_Atomic uint32_t active;
	uint32_t pad;
};

struct simair {
	char name[96];
	struct simair_hdr *hdr;
	size_t map_len;
	_Atomic uint64_t *stamps;
	uint8_t *frames;
	size_t frame_bytes;
	struct simair_geom geom;
	int writer;
};

static size_t simair_len(uint64_t slots, size_t frame_bytes)
{
	return sizeof(struct simair_hdr) + slots * (8 + frame_bytes);
}

static void simair_bind(struct simair *a, void *map, size_t len)
{
	a->hdr = map;
	a->map_len = len;
	a->geom.rate = a->hdr->rate;
	a->geom.channels = a->hdr->channels;
	a->geom.fmt = (enum fmt)a->hdr->fmt;
	a->frame_bytes = fmt_bytes(a->geom.fmt) * a->geom.channels;
	a->stamps = (_Atomic uint64_t *)(a->hdr + 1);
	a->frames = (uint8_t *)(a->stamps + a->hdr->slots);
}

static void simair_unmap(struct simair *a)
{
	if (a->hdr)
		munmap(a->hdr, a->map_len);
	a->hdr = NULL;
}

int simair_create(struct simair **out, const char *name,
		  const struct simair_geom *g)
{
	struct simair *a = calloc(1, sizeof *a);
	uint64_t slots = (uint64_t)g->rate * SIMAIR_SECONDS;
	size_t fb = fmt_bytes(g->fmt) * g->channels;
	size_t len = simair_len(slots, fb);
	void *map;
	int fd;

	if (!a)
		return -ENOMEM;
	snprintf(a->name, sizeof a->name, "/lullsim-%s", name);
	/* A fresh object each time: readers still mapping an old one see its
	 * magic cleared below and re-attach. */
	shm_unlink(a->name);
	fd = shm_open(a->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)len) < 0) {
		int err = -errno;
		if (fd >= 0)
			close(fd);
		free(a);
		return err;
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		free(a);
		return -ENOMEM;
	}
	*(struct simair_hdr *)map = (struct simair_hdr){
		.rate = g->rate, .channels = g->channels, .fmt = g->fmt,
		.slots = slots,
	};
	simair_bind(a, map, len);
	a->writer = 1;
	atomic_store_explicit(&a->hdr->magic, SIMAIR_MAGIC, memory_order_release);
	*out = a;
	return 0;
}

int simair_attach(struct simair **out, const char *name)
{
	struct simair *a = calloc(1, sizeof *a);

	if (!a)
		return -ENOMEM;
	snprintf(a->name, sizeof a->name, "/lullsim-%s", name);
	*out = a;
	return 0;
}

/* The writer is another process: trust nothing in its header that could
 * make us read outside the mapping. */
static int simair_valid(const struct simair_hdr *h, size_t len)
{
	enum fmt f = (enum fmt)h->fmt;

	if (h->fmt > FMT_FLOAT || h->channels < 1 || h->channels > 64 ||
	    h->rate < 1000 || h->slots < 1 || h->slots > (1u << 26))
		return 0;
	return simair_len(h->slots, fmt_bytes(f) * h->channels) <= len;
}

static int simair_map_reader(struct simair *a)
{
	struct stat st;
	void *map;
	int fd = shm_open(a->name, O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(struct simair_hdr)) {
		close(fd);
		return -ENOENT;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -ENOMEM;
	if (atomic_load_explicit(&((struct simair_hdr *)map)->magic,
				 memory_order_acquire) != SIMAIR_MAGIC ||
	    !simair_valid(map, (size_t)st.st_size)) {
		munmap(map, (size_t)st.st_size);
		return -ENOENT;
	}
	simair_bind(a, map, (size_t)st.st_size);
	return 0;
}

/* Readers (re)attach whenever the ring is missing or abandoned. */
static struct simair_hdr *simair_reader_hdr(struct simair *a)
{
	if (a->hdr && atomic_load_explicit(&a->hdr->magic, memory_order_acquire)
	    != SIMAIR_MAGIC)
		simair_unmap(a);
	if (!a->hdr && simair_map_reader(a) < 0)
		return NULL;
	return a->hdr;
}

const struct simair_geom *simair_geom(struct simair *a)
{
	return simair_reader_hdr(a) ? &a->geom : NULL;
}

void simair_close(struct simair *a)
{
	if (!a)
		return;
	if (a->writer && a->hdr) {
		atomic_store_explicit(&a->hdr->magic, 0, memory_order_release);
		shm_unlink(a->name);
	}
	simair_unmap(a);
	free(a);
}

void simair_put(struct simair *a, uint64_t g, const void *frames, size_t n)
{
	const uint8_t *src = frames;

	for (size_t i = 0; i < n; i++, g++) {
		uint64_t slot = g % a->hdr->slots;
		atomic_store_explicit(&a->stamps[slot], 0, memory_order_relaxed);
		atomic_thread_fence(memory_order_release);
		memcpy(a->frames + slot * a->frame_bytes,
		       src + i * a->frame_bytes, a->frame_bytes);
		atomic_store_explicit(&a->stamps[slot], g + 1, memory_order_release);
	}
}

void simair_publish(struct simair *a, uint64_t g, int active)
{
	atomic_store_explicit(&a->hdr->horizon, g, memory_order_release);
	atomic_store_explicit(&a->hdr->active, (uint32_t)active,
			      memory_order_release);
}

uint64_t simair_horizon(struct simair *a)
{
	struct simair_hdr *h = simair_reader_hdr(a);

	if (!h || !atomic_load_explicit(&h->active, memory_order_acquire))
		return UINT64_MAX;
	return atomic_load_explicit(&h->horizon, memory_order_acquire);
}

int simair_get(struct simair *a, uint64_t g, void *frame)
{
	uint64_t slot, want = g + 1;

	if (!simair_reader_hdr(a))
		return -ENOENT;
	slot = g % a->hdr->slots;
	if (atomic_load_explicit(&a->stamps[slot], memory_order_acquire) != want)
		return -ENOENT;
	memcpy(frame, a->frames + slot * a->frame_bytes, a->frame_bytes);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&a->stamps[slot], memory_order_relaxed) != want)
		return -ENOENT;
	return 0;
}
