/* What lulld's two audio threads (the playback engine and the capture
 * thread) share: the thread itself, real-time scheduling where the system
 * allows it, and being told to quit through their command queue. */
#ifndef LULL_ATHREAD_H
#define LULL_ATHREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "sched/cmdq.h"

struct athread {
	pthread_t thread;
	atomic_int quit;
	int on;			/* started and not yet joined */
	int rt;			/* runs SCHED_FIFO */
};

/* Returns 0 or -errno. */
int athread_start(struct athread *t, void *(*run)(void *), void *arg);
/* In the thread, first: SCHED_FIFO when `want` and allowed (t->rt). */
void athread_realtime(struct athread *t, int want);
int athread_quitting(struct athread *t);
/* Asks the thread to quit, wakes it through its command queue `in` (an
 * empty command) and joins it. Does nothing when it is not running. */
void athread_stop(struct athread *t, struct cmdq *in);
/* Adds fd to an epoll set, readable, tagged. 0 or -errno. */
int athread_epoll_add(int epfd, int fd, uint64_t tag);

#endif
