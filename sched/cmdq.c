/* Command queue between lulld's threads. See cmdq.h. */
#include "sched/cmdq.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

int cmdq_init(struct cmdq *q)
{
	atomic_init(&q->w, 0);
	atomic_init(&q->r, 0);
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return q->efd < 0 ? -errno : 0;
}

void cmdq_fini(struct cmdq *q)
{
	if (q->efd >= 0)
		close(q->efd);
	q->efd = -1;
}

int cmdq_push(struct cmdq *q, const struct cmd *c)
{
	uint64_t w = atomic_load_explicit(&q->w, memory_order_relaxed);
	uint64_t r = atomic_load_explicit(&q->r, memory_order_acquire);
	uint64_t one = 1;

	if (w - r >= CMDQ_SIZE)
		return -EAGAIN;
	q->slot[w % CMDQ_SIZE] = *c;
	atomic_store_explicit(&q->w, w + 1, memory_order_release);
	/* An eventfd write cannot block here: the counter is far from full. */
	if (write(q->efd, &one, sizeof one) < 0)
		return 0;
	return 0;
}

int cmdq_pop(struct cmdq *q, struct cmd *c)
{
	uint64_t r = atomic_load_explicit(&q->r, memory_order_relaxed);
	uint64_t w = atomic_load_explicit(&q->w, memory_order_acquire);

	if (r == w)
		return -EAGAIN;
	*c = q->slot[r % CMDQ_SIZE];
	atomic_store_explicit(&q->r, r + 1, memory_order_release);
	return 0;
}

void cmdq_ack(struct cmdq *q)
{
	uint64_t v;

	if (read(q->efd, &v, sizeof v) < 0)
		return;
}
