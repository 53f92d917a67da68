/* lulld's binary trace. See trace.h. */
#include "sched/trace.h"

#include <time.h>

void trace_init(struct trace *t)
{
	atomic_init(&t->head, 0);
}

/* Each event carries its sequence number, written last (release): a reader
 * that copies an event and finds seq changed knows it was overwritten. */
void trace_put(struct trace *t, uint32_t type, int64_t a, int64_t b, uint32_t c)
{
	uint64_t n = atomic_load_explicit(&t->head, memory_order_relaxed);
	struct trace_event *e = &t->ev[n & (TRACE_EVENTS - 1)];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	__atomic_store_n(&e->seq, UINT64_MAX, __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_release);
	e->t_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	e->type = type;
	e->a = a;
	e->b = b;
	e->c = c;
	__atomic_store_n(&e->seq, n, __ATOMIC_RELEASE);
	atomic_store_explicit(&t->head, n + 1, memory_order_release);
}
