/* A stream's own thread (struct worker), as callback-mode streams and
 * duplex streams run one: started with every signal blocked, told to stop
 * through an eventfd it polls along with whatever it waits for, and
 * joined by a wait that a signal handler can interrupt. Internal to
 * liblull.
 *
 * Lifecycle: worker_init (no resources), worker_open (the eventfds),
 * worker_start, then worker_join or worker_stop, then worker_fini. Every
 * step after worker_init may be skipped: worker_stop and worker_fini do
 * nothing for a thread never started or descriptors never opened. */
#ifndef LULL_WORKER_H
#define LULL_WORKER_H

#include <pthread.h>
#include <stdatomic.h>

/* The thread's body: returns 0 when its stream ended normally (or it was
 * told to stop), or why it stopped early (LULL_EGONE...). */
typedef int (*worker_fn)(void *arg);

struct worker {
	pthread_t thread;
	worker_fn run;
	void *arg;
	int stop_efd;		/* readable once the thread must stop */
	int end_efd;		/* readable once the thread has ended */
	_Atomic int quit;
	_Atomic int err;	/* run's result */
	pthread_mutex_t join_lock;
	int joined;		/* no thread to join (never started, or joined) */
};

void worker_init(struct worker *w);
/* Creates the two eventfds. 0 or -errno. */
int worker_open(struct worker *w);
/* The descriptor that becomes readable when the thread must stop: poll
 * it in every wait of the thread. -1 before worker_open. */
int worker_stop_fd(const struct worker *w);
/* Nonzero once the thread was told to stop. */
int worker_quitting(struct worker *w);
/* Starts run(arg) on a new thread that takes no signals. 0 or -errno. */
int worker_start(struct worker *w, worker_fn run, void *arg);
/* Waits for the thread to end by itself; returns run's result, or -EINTR
 * when a signal handler ran while waiting (the thread then runs on). */
int worker_join(struct worker *w);
/* Tells the thread to stop, and joins it. */
void worker_stop(struct worker *w);
void worker_fini(struct worker *w);

/* Writes an 8-byte 1 to fd (an eventfd, or a pipe); never blocks. */
void worker_signal(int fd);

#endif
