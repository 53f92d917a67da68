/* lulld's audio threads. See athread.h. */
#include "sched/athread.h"

#include <errno.h>
#include <sched.h>
#include <sys/epoll.h>

int athread_start(struct athread *t, void *(*run)(void *), void *arg)
{
	int err = pthread_create(&t->thread, NULL, run, arg);

	if (err)
		return -err;
	t->on = 1;
	return 0;
}

void athread_realtime(struct athread *t, int want)
{
	struct sched_param p = { .sched_priority = 20 };

	t->rt = want && pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0;
}

int athread_quitting(struct athread *t)
{
	return atomic_load(&t->quit);
}

void athread_stop(struct athread *t, struct cmdq *in)
{
	struct cmd wake = { 0 };	/* no command: just a wakeup */

	if (!t->on)
		return;
	atomic_store(&t->quit, 1);
	while (cmdq_push(in, &wake) == -EAGAIN)
		sched_yield();
	pthread_join(t->thread, NULL);
	t->on = 0;
}

int athread_epoll_add(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}
