/* lulld's trace and status page. See trace.h. */
#include "sched/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int trace_open(struct trace *t)
{
	size_t bytes = monitor_bytes();

	t->m = NULL;
	t->fd = memfd_create("lull-monitor", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (t->fd < 0)
		return -errno;
	if (ftruncate(t->fd, (off_t)bytes) < 0) {
		int err = -errno;
		close(t->fd);
		return err;
	}
	t->m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
	if (t->m == MAP_FAILED) {
		int err = -errno;
		close(t->fd);
		t->m = NULL;
		return err;
	}
	/* Our mapping is made; from now on nobody, not even a tool that
	 * reopens /proc/PID/fd/N for writing, can write to it or resize it. */
	if (fcntl(t->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
		  F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0) {
		int err = -errno;
		trace_close(t);
		return err;
	}
	t->m->magic = MONITOR_MAGIC;
	t->m->version = MONITOR_VERSION;
	t->m->events = MONITOR_EVENTS;
	return 0;
}

void trace_close(struct trace *t)
{
	if (t->m)
		munmap(t->m, monitor_bytes());
	if (t->fd >= 0)
		close(t->fd);
	t->m = NULL;
	t->fd = -1;
}

/* A memfd cannot be reopened read-only through itself, but its /proc link
 * can: the tool gets a descriptor it can only map for reading. */
int trace_reader_fd(const struct trace *t)
{
	char path[64];
	int fd;

	snprintf(path, sizeof path, "/proc/self/fd/%d", t->fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Each event carries its sequence number, written last (release): a reader
 * that copies an event and finds seq changed knows it was overwritten. */
void trace_put(struct trace *t, uint32_t type, int64_t a, int64_t b, uint32_t c)
{
	struct monitor *m = t->m;
	uint64_t n = atomic_load_explicit(&m->head, memory_order_relaxed);
	struct trace_event *e = &m->ev[n & (MONITOR_EVENTS - 1)];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	__atomic_store_n(&e->seq, UINT64_MAX, __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_release);
	__atomic_store_n(&e->t_ns, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&e->type, type, __ATOMIC_RELAXED);
	__atomic_store_n(&e->c, c, __ATOMIC_RELAXED);
	__atomic_store_n(&e->a, a, __ATOMIC_RELAXED);
	__atomic_store_n(&e->b, b, __ATOMIC_RELAXED);
	__atomic_store_n(&e->seq, n, __ATOMIC_RELEASE);
	atomic_store_explicit(&m->head, n + 1, memory_order_release);
}

struct monitor_status *trace_status_begin(struct trace *t)
{
	atomic_fetch_add_explicit(&t->m->status.seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	return &t->m->status;
}

void trace_status_end(struct trace *t)
{
	atomic_fetch_add_explicit(&t->m->status.seq, 1, memory_order_release);
}
