/* A stream's own thread. See worker.h. */
#include "client/worker.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

void worker_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof one) < 0) {
		/* EAGAIN: already signalled, which is all we want */
	}
}

void worker_init(struct worker *w)
{
	w->stop_efd = w->end_efd = -1;
	w->joined = 1;
	atomic_init(&w->quit, 0);
	atomic_init(&w->err, 0);
	pthread_mutex_init(&w->join_lock, NULL);
}

int worker_open(struct worker *w)
{
	w->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->end_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return w->stop_efd < 0 || w->end_efd < 0 ? -errno : 0;
}

int worker_stop_fd(const struct worker *w)
{
	return w->stop_efd;
}

int worker_quitting(struct worker *w)
{
	return atomic_load(&w->quit);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	atomic_store(&w->err, w->run(w->arg));
	worker_signal(w->end_efd);
	return NULL;
}

/* The thread takes no signals: they belong to the application's threads
 * (a Ctrl-C must interrupt the application's own waits). */
int worker_start(struct worker *w, worker_fn run, void *arg)
{
	sigset_t all, old;
	int err;

	w->run = run;
	w->arg = arg;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	w->joined = err != 0;
	return err;
}

/* Waits for the thread's end: a poll, so that a signal handler can
 * interrupt the wait (pthread_join cannot be). */
static int worker_ended(struct worker *w)
{
	struct pollfd p = { .fd = w->end_efd, .events = POLLIN };

	while (poll(&p, 1, -1) < 0) {
		if (errno == EINTR)
			return -EINTR;
	}
	return 0;
}

static int worker_reap(struct worker *w, int intr)
{
	int err = 0;

	pthread_mutex_lock(&w->join_lock);
	if (!w->joined) {
		err = intr ? worker_ended(w) : 0;
		if (!err) {
			pthread_join(w->thread, NULL);
			w->joined = 1;
		}
	}
	pthread_mutex_unlock(&w->join_lock);
	return err ? err : atomic_load(&w->err);
}

int worker_join(struct worker *w)
{
	return worker_reap(w, 1);
}

void worker_stop(struct worker *w)
{
	atomic_store(&w->quit, 1);
	if (w->stop_efd >= 0)
		worker_signal(w->stop_efd);
	worker_reap(w, 0);
}

void worker_fini(struct worker *w)
{
	if (w->stop_efd >= 0)
		close(w->stop_efd);
	if (w->end_efd >= 0)
		close(w->end_efd);
	w->stop_efd = w->end_efd = -1;
	pthread_mutex_destroy(&w->join_lock);
}
