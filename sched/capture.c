/* lulld's capture thread. See capture.h.
 *
 * One cycle, on every wakeup:
 *
 *   measure   hwsync: fill (captured, not yet read) and delay
 *   read      everything captured, handed to every stream in chunks
 *   publish   each stream's ring position and the time it was sampled
 *   plan      sleep until the fill reaches the smallest period wanted
 *
 * Positions are counts of device frames read since lulld started; the
 * card's own counter restarts with each start, ours does not:
 *
 *          read (ours)         hw = read + fill        adc = read + delay
 *   -------|===================|-----------------------|------>
 *          <- captured unread->|<- in the card's FIFO ->|
 *
 * Device frame adc was at the ADC at t_meas; any frame k was sampled at
 * t_meas + (k - adc) / rate (on the card's clock). */
#include "sched/capture.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "sched/planner.h"

#define EPOLL_TIMER 0
#define EPOLL_CMDQ 1

static int64_t capture_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- streams ----------------------------------------------------------------- */

static void capture_add(struct capture *c, struct recstream *r)
{
	if (c->nstreams < CAPTURE_MAX_STREAMS)	/* the control thread never
						 * sends more */
		c->streams[c->nstreams++] = r;
}

static void capture_remove(struct capture *c, struct recstream *r)
{
	struct cmd ev = { .type = EVT_REMOVED, .r = r };

	for (unsigned i = 0; i < c->nstreams; i++) {
		if (c->streams[i] == r) {
			c->streams[i] = c->streams[--c->nstreams];
			break;
		}
	}
	cmdq_push(&c->out, &ev);
}

static void capture_command(struct capture *c, const struct cmd *m)
{
	switch (m->type) {
	case CMD_ADD:
		capture_add(c, m->r);
		break;
	case CMD_REMOVE:
		capture_remove(c, m->r);
		break;
	case CMD_PAUSE:
	case CMD_RESUME:
		m->r->paused = m->type == CMD_PAUSE;
		break;
	case CMD_VOLUME:
		m->r->gain_to = m->value;	/* ramped over the next chunk */
		break;
	}
}

void capture_commands(struct capture *c)
{
	struct cmd m;

	cmdq_ack(&c->in);
	while (cmdq_pop(&c->in, &m) == 0)
		capture_command(c, &m);
}

/* --- the card ---------------------------------------------------------------- */

/* Device frames until the most impatient recording stream wants its
 * audio; 0 when nobody records. */
static uint64_t capture_period(const struct capture *c)
{
	uint64_t p = 0;

	for (unsigned i = 0; i < c->nstreams; i++) {
		const struct recstream *r = c->streams[i];
		if (!r->paused && (!p || r->period < p))
			p = r->period;
	}
	return p;
}

static void capture_arm(struct capture *c, int64_t t)
{
	struct itimerspec its = { 0 };

	c->planned = t;
	if (t > 0) {
		its.it_value.tv_sec = t / 1000000000;
		its.it_value.tv_nsec = t % 1000000000;
	}
	/* t == 0 disarms. */
	timerfd_settime(c->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int capture_begin(struct capture *c)
{
	int err = c->dev.ops->start(c->dev.dev);

	if (err)
		return err;
	c->running = 1;
	smoother_reset(&c->clock);
	return 0;
}

/* Nobody records: the card stops, nothing wakes us. */
static void capture_end(struct capture *c)
{
	if (c->running)
		c->dev.ops->stop(c->dev.dev);
	c->running = 0;
	capture_arm(c, 0);
}

/* An overrun (the card's buffer filled up) or a suspend: what it held is
 * lost for everyone alike; the card starts again, empty (or, resumed from
 * a suspend, runs on where it stopped: recover returns 1). */
static int capture_recover(struct capture *c, int err)
{
	atomic_fetch_add(&c->stats.xruns, 1);
	c->resync = 1;
	err = c->dev.ops->recover(c->dev.dev, err);
	if (err < 0) {
		c->running = 0;
		return err;
	}
	if (err > 0)
		return 0;
	c->running = 0;
	return capture_begin(c);
}

/* Frames the card captured while we could not read them are lost. Our
 * count moves on by as many, so that device frames keep their sampling
 * times, and every stream skips them, counted as its loss:
 *
 *   before:  read ........ adc (at t_meas)
 *   after:   read' = adc + (t - t_meas) * rate - delay     (at t)
 */
static void capture_resync(struct capture *c, const struct device_meas *m)
{
	double rate = smoother_rate(&c->clock);
	uint64_t want = c->adc + (uint64_t)((double)(m->t_ns - c->t_meas) * rate / 1e9);

	c->resync = 0;
	if (!c->t_meas || m->t_ns < c->t_meas || want < c->read + (uint64_t)m->delay)
		return;
	want -= (uint64_t)m->delay;
	for (unsigned i = 0; i < c->nstreams; i++)
		recstream_skip(c->streams[i], want - c->read);
	c->read = want;
}

static int capture_measure(struct capture *c, int64_t *fill)
{
	struct device_meas m;
	int err = c->dev.ops->measure(c->dev.dev, &m);

	if (err == -EPIPE || err == -ESTRPIPE) {
		if ((err = capture_recover(c, err)))
			return err;
		err = c->dev.ops->measure(c->dev.dev, &m);
	}
	if (err)
		return err;
	/* Never believe more than the buffer, nor less than nothing. */
	if (m.fill < 0)
		m.fill = 0;
	if ((uint64_t)m.fill > c->dev.info.buffer)
		m.fill = (int64_t)c->dev.info.buffer;
	if (m.delay < m.fill)
		m.delay = m.fill;
	if (c->resync)
		capture_resync(c, &m);
	c->t_meas = m.t_ns;
	c->adc = c->read + (uint64_t)m.delay;
	smoother_put(&c->clock, m.t_ns, c->read + (uint64_t)m.fill);
	*fill = m.fill;
	return 0;
}

/* Everything captured, to every stream, a chunk at a time (smaller than
 * RECSTREAM_CHUNK on a card with more than 8 channels). An overrun found
 * while reading ends the cycle early. */
static int capture_read(struct capture *c, int64_t fill)
{
	size_t max = sizeof c->buf / sizeof c->buf[0] / c->dev.info.channels;

	if (max > RECSTREAM_CHUNK)
		max = RECSTREAM_CHUNK;
	while (fill > 0) {
		size_t n = fill < (int64_t)max ? (size_t)fill : max;
		long got = c->dev.ops->read(c->dev.dev, c->buf, n);

		if (got == -EPIPE || got == -ESTRPIPE)
			return capture_recover(c, (int)got);
		if (got < 0)
			return (int)got;
		if (got == 0)
			break;
		for (unsigned i = 0; i < c->nstreams; i++)
			recstream_put(c->streams[i], c->buf, (size_t)got, c->read);
		c->read += (uint64_t)got;
		fill -= got;
		atomic_fetch_add(&c->stats.frames, (uint64_t)got);
	}
	return 0;
}

/* One cycle; see the top of the file. */
int capture_cycle(struct capture *c)
{
	uint64_t period = capture_period(c);
	double rate;
	int64_t fill;
	int err;

	if (!period) {
		capture_end(c);
		return 0;
	}
	if (!c->running && (err = capture_begin(c)))
		return err;
	if ((err = capture_measure(c, &fill)) || (err = capture_read(c, fill)))
		return err;
	rate = smoother_rate(&c->clock);
	for (unsigned i = 0; i < c->nstreams; i++)
		recstream_publish(c->streams[i], c->adc, c->t_meas, c->dev.info.rate,
				  rate / c->dev.info.rate);
	/* Everything captured up to t_meas has been read: the next delivery
	 * is due when `period` more frames have come in. */
	capture_arm(c, planner_time_after(c->t_meas, (double)period, rate));
	return 0;
}

/* --- the thread ------------------------------------------------------------------ */

static void capture_events(struct capture *c, const struct epoll_event *ev, int n)
{
	uint64_t v;

	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 == EPOLL_TIMER) {
			if (read(c->timerfd, &v, sizeof v) < 0)
				continue;	/* re-armed meanwhile */
		} else {
			capture_commands(c);
		}
	}
}

/* A failing card: stopped (dropping whatever it held), retried in 100 ms
 * rather than spun on, and reported to the control thread once per spell
 * of failure, and once when it works again. */
static void capture_health(struct capture *c, int err)
{
	struct cmd ev = { .type = EVT_CAPTURE, .token = (uint32_t)-err };

	if (err >= 0) {
		if (c->failing && cmdq_push(&c->out, &ev) == 0)
			c->failing = 0;
		return;
	}
	if (c->running)
		c->dev.ops->stop(c->dev.dev);
	c->running = 0;
	c->resync = 1;
	capture_arm(c, capture_now() + 100000000);
	if (!c->failing && cmdq_push(&c->out, &ev) == 0)
		c->failing = 1;
}

static void *capture_main(void *arg)
{
	struct capture *c = arg;
	struct epoll_event ev[4];

	athread_realtime(&c->thread, c->realtime);
	while (!athread_quitting(&c->thread)) {
		capture_health(c, capture_cycle(c));
		int n = epoll_wait(c->epfd, ev, 4, -1);
		if (n <= 0)
			continue;	/* EINTR: not a wakeup */
		atomic_fetch_add(&c->stats.wakeups, 1);
		capture_events(c, ev, n);
	}
	return NULL;
}

int capture_init(struct capture *c, const struct device *dev, int realtime)
{
	int err;

	memset(c, 0, sizeof *c);
	c->in.efd = c->out.efd = -1;
	c->dev = *dev;
	c->realtime = realtime;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->epfd < 0 || c->timerfd < 0)
		return -errno;
	smoother_init(&c->clock, dev->info.rate);
	if ((err = cmdq_init(&c->in)) || (err = cmdq_init(&c->out)))
		return err;
	if ((err = athread_epoll_add(c->epfd, c->timerfd, EPOLL_TIMER)) ||
	    (err = athread_epoll_add(c->epfd, c->in.efd, EPOLL_CMDQ)))
		return err;
	return 0;
}

int capture_start(struct capture *c)
{
	return athread_start(&c->thread, capture_main, c);
}

void capture_stop(struct capture *c)
{
	athread_stop(&c->thread, &c->in);
}

void capture_fini(struct capture *c)
{
	capture_stop(c);
	if (c->running)
		c->dev.ops->stop(c->dev.dev);
	if (c->dev.ops)
		c->dev.ops->close(c->dev.dev);
	c->dev.ops = NULL;
	cmdq_fini(&c->in);
	cmdq_fini(&c->out);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->timerfd >= 0)
		close(c->timerfd);
}
