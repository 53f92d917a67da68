/* Reading lulld's monitor memfd. See monitor.h. */
#include "ipc/monitor.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

size_t monitor_bytes(void)
{
	return sizeof(struct monitor) + MONITOR_EVENTS * sizeof(struct trace_event);
}

int monitor_map(int fd, const struct monitor **out)
{
	struct stat st;
	const struct monitor *m;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((size_t)st.st_size != monitor_bytes())
		return -EPROTO;
	m = mmap(NULL, monitor_bytes(), PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	if (m->magic != MONITOR_MAGIC || m->version != MONITOR_VERSION ||
	    m->events != MONITOR_EVENTS) {
		munmap((void *)m, monitor_bytes());
		return -EPROTO;
	}
	*out = m;
	return 0;
}

void monitor_unmap(const struct monitor *m)
{
	if (m)
		munmap((void *)m, monitor_bytes());
}

/* An event is read, then its seq checked again: if the writer lapped it
 * meanwhile the copy is thrown away and counted as lost. */
static int monitor_copy(const struct monitor *m, uint64_t n, struct trace_event *e)
{
	const struct trace_event *src = &m->ev[n & (MONITOR_EVENTS - 1)];

	if (__atomic_load_n(&src->seq, __ATOMIC_ACQUIRE) != n)
		return -1;
	e->t_ns = __atomic_load_n(&src->t_ns, __ATOMIC_RELAXED);
	e->type = __atomic_load_n(&src->type, __ATOMIC_RELAXED);
	e->c = __atomic_load_n(&src->c, __ATOMIC_RELAXED);
	e->a = __atomic_load_n(&src->a, __ATOMIC_RELAXED);
	e->b = __atomic_load_n(&src->b, __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_acquire);
	if (__atomic_load_n(&src->seq, __ATOMIC_RELAXED) != n)
		return -1;
	e->seq = n;
	return 0;
}

size_t monitor_events(const struct monitor *m, uint64_t *next,
		      struct trace_event *out, size_t max, uint64_t *lost)
{
	uint64_t head = atomic_load_explicit(&((struct monitor *)m)->head,
					     memory_order_acquire);
	size_t got = 0;

	*lost = 0;
	if (head - *next > MONITOR_EVENTS) {
		*lost = head - MONITOR_EVENTS - *next;
		*next = head - MONITOR_EVENTS;
	}
	while (*next < head && got < max) {
		if (monitor_copy(m, *next, &out[got]) == 0)
			got++;
		else
			(*lost)++;
		(*next)++;
	}
	return got;
}

int monitor_status(const struct monitor *m, struct monitor_status *out)
{
	_Atomic uint32_t *seq = (_Atomic uint32_t *)&m->status.seq;

	for (int i = 0; i < 100; i++) {
		uint32_t s0 = atomic_load_explicit(seq, memory_order_acquire);
		if (s0 & 1) {
			sched_yield();
			continue;
		}
		memcpy((char *)out + sizeof out->seq, (const char *)&m->status + sizeof out->seq,
		       sizeof *out - sizeof out->seq);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(seq, memory_order_relaxed) == s0)
			return 0;
	}
	return -EAGAIN;
}

const char *trace_type_name(uint32_t type)
{
	static const char *const names[TRACE_TYPES] = {
		[TRACE_WAKE] = "wake", [TRACE_FILL] = "fill", [TRACE_WRITE] = "write",
		[TRACE_REWIND] = "rewind", [TRACE_XRUN] = "xrun",
		[TRACE_WATERMARK] = "watermark", [TRACE_JOIN] = "join",
		[TRACE_LEAVE] = "leave", [TRACE_UNDERRUN] = "underrun",
		[TRACE_PAUSE] = "pause", [TRACE_VOLUME] = "volume",
		[TRACE_DRAINED] = "drained", [TRACE_TARGET] = "target",
		[TRACE_IDLE] = "idle",
	};

	return type < TRACE_TYPES && names[type] ? names[type] : "unknown";
}

const char *trace_reason_name(uint32_t reason)
{
	static const char *const names[REWIND_REASONS] = {
		[REWIND_JOIN] = "join", [REWIND_DATA] = "late-data",
		[REWIND_PAUSE] = "pause", [REWIND_RESUME] = "resume",
		[REWIND_LEAVE] = "leave", [REWIND_VOLUME] = "volume",
		[REWIND_DRAIN] = "drain",
	};

	return reason < REWIND_REASONS && names[reason] ? names[reason] : "unknown";
}
