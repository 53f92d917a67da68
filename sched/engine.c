/* lulld's audio thread. See engine.h.
 *
 * One cycle, on every wakeup:
 *
 *   measure   hwsync: fill (frames the DMA has not consumed) and delay
 *   rewind    if anything changed, take back the buffer from
 *             R = max(asked, hw + safeguard) and re-mix from there
 *   top up    mix streams until the fill reaches the target
 *   report    publish each stream's position, wake clients whose ring
 *             has room, answer drains that have been heard
 *   plan      sleep until the fill has drained to the watermark
 *
 * Device positions are 64-bit frame counts since the card started:
 *
 *          hw (DMA)    hw+safeguard                 written
 *   -------|-----------|---------------------------------|----->
 *    heard = written - delay   (delay includes the card's FIFO)
 *          <- not rewindable ->|<------- rewindable ------>|
 */
#include "sched/engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "sched/planner.h"
#include "sched/stream.h"

#define EPOLL_TIMER 0
#define EPOLL_CMDQ 1
#define EPOLL_STREAM 2		/* + stream id in the upper 32 bits */

static int64_t engine_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t engine_clock(void *arg)
{
	(void)arg;
	return engine_now();
}

/* The first device frame a change can still reach: past the DMA and the
 * safeguard when the card rewinds; otherwise only what is not written
 * yet. */
static uint64_t engine_soonest(const struct engine *e)
{
	return e->dev.info.can_rewind ? e->hw + e->cfg.safeguard : e->written;
}

/* --- streams ----------------------------------------------------------------- */

static struct stream *engine_find(struct engine *e, uint32_t id, unsigned *at)
{
	for (unsigned i = 0; i < e->nstreams; i++) {
		if (e->streams[i]->id == id) {
			if (at)
				*at = i;
			return e->streams[i];
		}
	}
	return NULL;
}

static void engine_want_rewind(struct engine *e, uint64_t r, uint32_t reason)
{
	if (r < e->rewind_to) {
		e->rewind_to = r;
		e->rewind_reason = reason;
	}
}

/* The mix must change from "as soon as possible". */
static void engine_rewind_asap(struct engine *e, uint32_t reason)
{
	engine_want_rewind(e, engine_soonest(e), reason);
}

/* lulld listens to a stream's wake-up pipe only while it waits for data
 * (the stream ran dry): otherwise a client writing to it could wake the
 * audio thread at will. */
static void engine_listen(struct engine *e, struct stream *s, int on)
{
	struct epoll_event ev = {
		.events = on ? EPOLLIN : 0,
		.data.u64 = EPOLL_STREAM | (uint64_t)s->id << 32,
	};

	if (s->listening == on)
		return;
	s->listening = on;
	epoll_ctl(e->epfd, EPOLL_CTL_MOD, s->link.from_client, &ev);
}

/* The listener hears a stream's gap: counted once per gap, for the client
 * (shm underruns) and for the tools. */
static void engine_gap(struct engine *e, struct stream *s)
{
	if (s->gap_counted || !s->started || s->draining || s->paused)
		return;
	s->gap_counted = 1;
	atomic_fetch_add(&s->link.hdr->underruns, 1);
	atomic_fetch_add(&e->stats.underruns, 1);
	trace_put(&e->trace, TRACE_UNDERRUN, s->id, 0, 0);
}

/* A stream has audio again after running dry, or for the first time.
 *
 * A new stream joins at once: the DMA position plus the safeguard. A
 * stream that ran dry continues exactly where its audio stopped (end),
 * seamlessly, if that is still ahead of the DMA. It need not be done now:
 * as long as end is more than a watermark ahead, the data is left to
 * accumulate and merged in one rewind at the stream's deadline, so a
 * client writing in small pieces causes one rewind, not one per piece.
 *
 *        hw    hw+safeguard    deadline = end - watermark    end
 *   -----|-----|---------------|-----------------------------|---> */
static void engine_stream_data(struct engine *e, struct stream *s)
{
	uint64_t end = stream_mixed_end(s), soon = engine_soonest(e);

	engine_listen(e, s, 0);
	if (s->started && end > soon + watermark_get(&e->wm)) {
		s->pending = 1;
		return;
	}
	if (s->started && end < soon)
		engine_gap(e, s);
	s->dry = s->pending = 0;
	s->rewinds_caused++;
	engine_want_rewind(e, s->started && end > soon ? end : soon,
			   s->started ? REWIND_DATA : REWIND_JOIN);
}

/* Deferred data whose deadline has come. */
static void engine_deadlines(struct engine *e)
{
	for (unsigned i = 0; i < e->nstreams; i++) {
		struct stream *s = e->streams[i];
		if (s->pending &&
		    stream_mixed_end(s) <= engine_soonest(e) + watermark_get(&e->wm))
			engine_stream_data(e, s);
	}
}

/* When to wake for the deferred data of stream s. */
static int64_t engine_deadline(const struct engine *e, const struct stream *s,
			       double rate)
{
	uint64_t end = stream_mixed_end(s), lead = e->cfg.safeguard + watermark_get(&e->wm);

	if (end <= e->hw + lead)
		return e->t_meas;
	return planner_time_after(e->t_meas, (double)(end - lead - e->hw), rate);
}

/* Ran dry at mix time: not yet a gap anyone hears. Ask the client to
 * signal its next write. */
static void engine_stream_dry(struct engine *e, struct stream *s)
{
	s->dry = 1;
	engine_listen(e, s, 1);
	atomic_store(&s->link.hdr->want_signal, 1);
}

/* A client that wrote between our finding its ring empty and our setting
 * want_signal did not signal: look again after every fill. */
static void engine_recheck_dry(struct engine *e)
{
	for (unsigned i = 0; i < e->nstreams; i++) {
		struct stream *s = e->streams[i];
		if (s->dry && !s->pending && !s->paused && ring_readable(&s->ring) > 0)
			engine_stream_data(e, s);
	}
}

/* The stream's wake-up pipe joins the poll set only now, so an event can never
 * name a stream the audio thread does not hold. */
static void engine_add(struct engine *e, struct stream *s)
{
	if (e->nstreams == ENGINE_MAX_STREAMS)
		return;		/* the control thread never sends more */
	if (athread_epoll_add(e->epfd, s->link.from_client, EPOLL_STREAM | (uint64_t)s->id << 32))
		return;		/* cannot happen short of ENOMEM: stream stays silent */
	e->streams[e->nstreams++] = s;
	s->listening = 1;
	trace_put(&e->trace, TRACE_JOIN, s->id, 0, 0);
	if (stream_has_data(s))
		engine_stream_data(e, s);
	else
		engine_stream_dry(e, s);
}

static void engine_remove(struct engine *e, struct stream *s)
{
	unsigned at;
	struct cmd ev = { .type = EVT_REMOVED, .s = s };

	if (engine_find(e, s->id, &at) != s)
		return;
	e->streams[at] = e->streams[--e->nstreams];
	epoll_ctl(e->epfd, EPOLL_CTL_DEL, s->link.from_client, NULL);
	trace_put(&e->trace, TRACE_LEAVE, s->id, 0, 0);
	/* Its audio still in the buffer must not be heard (a paused or dry
	 * stream may have none left there). */
	if (stream_mixed_end(s) > engine_soonest(e))
		engine_rewind_asap(e, REWIND_LEAVE);
	cmdq_push(&e->out, &ev);
}

static void engine_pause(struct engine *e, struct stream *s, int pause)
{
	if (s->paused == pause)
		return;
	s->paused = pause;
	s->rewinds_caused++;
	trace_put(&e->trace, TRACE_PAUSE, s->id, pause, 0);
	engine_rewind_asap(e, pause ? REWIND_PAUSE : REWIND_RESUME);
}

/* Volume changes are applied once the rewind has happened, so the ramp
 * starts exactly where the re-mix starts. */
static void engine_volume(struct engine *e, struct stream *s, float v)
{
	s->gain_pending = v;
	s->has_gain_pending = 1;
	s->rewinds_caused++;
	trace_put(&e->trace, TRACE_VOLUME, s->id, (int64_t)(v * 1e6), 0);
	engine_rewind_asap(e, REWIND_VOLUME);
}

static void engine_device(struct engine *e, struct device *nd);

static void engine_command(struct engine *e, const struct cmd *c)
{
	switch (c->type) {
	case CMD_ADD:
		engine_add(e, c->s);
		break;
	case CMD_REMOVE:
		engine_remove(e, c->s);
		break;
	case CMD_PAUSE:
	case CMD_RESUME:
		engine_pause(e, c->s, c->type == CMD_PAUSE);
		break;
	case CMD_VOLUME:
		engine_volume(e, c->s, c->value);
		break;
	case CMD_DRAIN:
		stream_drain(c->s, c->token);
		/* Ran dry with its last frames still in the resampler: mix
		 * them now, right where the stream stopped. */
		if (c->s->dry && stream_has_data(c->s))
			engine_stream_data(e, c->s);
		break;
	case CMD_DEVICE:
		engine_device(e, c->dev);
		break;
	}
}

void engine_commands(struct engine *e)
{
	struct cmd c;

	cmdq_ack(&e->in);
	while (cmdq_pop(&e->in, &c) == 0)
		engine_command(e, &c);
}

void engine_stream_event(struct engine *e, uint32_t id, int hangup)
{
	struct stream *s = engine_find(e, id, NULL);
	char buf[64];

	/* An event for a stream already handed back is ignored: its id is
	 * looked up, never a pointer from the event. */
	if (!s)
		return;
	if (hangup) {
		/* The client closed its end: it is gone, and its stream will be
		 * removed; meanwhile a hung-up pipe would wake us forever. */
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, s->link.from_client, NULL);
		return;
	}
	/* Empty the pipe (a bounded amount: a client that floods it only
	 * wakes us while we listen, see engine_listen). What matters is the
	 * ring, not the count. */
	for (int i = 0; i < 16; i++)
		if (read(s->link.from_client, buf, sizeof buf) < (ssize_t)sizeof buf)
			break;
	if (s->dry && !s->pending && stream_has_data(s))
		engine_stream_data(e, s);
	else
		engine_listen(e, s, 0);	/* a wake-up with no data: deaf until
					 * the next cycle, so a flood costs one
					 * wakeup per cycle at most */
}

/* --- the card ---------------------------------------------------------------- */

/* An impossible position: counted and traced every time (a = -ERANGE,
 * b = the fill the card claimed), told to the control thread the first
 * time only, which logs it; the audio thread never logs. */
static void engine_impossible(struct engine *e, int64_t fill)
{
	int64_t off = fill < 0 ? -fill : fill - (int64_t)e->dev.info.buffer;
	struct cmd ev = {
		.type = EVT_CLAMPED, .value = fill < 0 ? 1 : -1,
		.token = off > UINT32_MAX ? UINT32_MAX : (uint32_t)off,
	};

	atomic_fetch_add(&e->stats.clamps, 1);
	trace_put(&e->trace, TRACE_XRUN, -ERANGE, fill, 0);
	if (!e->clamp_told && cmdq_push(&e->out, &ev) == 0)
		e->clamp_told = 1;
}

/* Where the DMA is at time t by the last good reading and the time since
 * (nominal rate), never past what was written. */
static uint64_t engine_hw_by(const struct engine *e, int64_t t)
{
	uint64_t h = e->hw;

	if (e->running && t > e->t_meas)
		h += (uint64_t)((double)(t - e->t_meas) * e->dev.info.rate / 1e9);
	return h < e->written ? h : e->written;
}

static int engine_measure(struct engine *e)
{
	struct device_meas m;
	int err = e->dev.ops->measure(e->dev.dev, &m), bogus;

	if (err)
		return err;
	/* A pointer that claims more than the buffer (avail beyond it), or
	 * less than nothing (it went back past what we wrote), says nothing
	 * about where the DMA is: it is replaced by the last good reading
	 * moved on by the time since. Taken at its word, "empty" would make
	 * us write over the DMA and answer drains before they are heard. */
	bogus = m.fill < 0 || (uint64_t)m.fill > e->dev.info.buffer;
	if (bogus) {
		engine_impossible(e, m.fill);
		m.fill = (int64_t)(e->written - engine_hw_by(e, m.t_ns));
	}
	if (m.delay < m.fill)
		m.delay = m.fill;
	e->t_meas = m.t_ns;
	e->hw = e->written - (uint64_t)m.fill;
	e->heard = e->written > (uint64_t)m.delay ? e->written - (uint64_t)m.delay : 0;
	if (e->running && !bogus)
		smoother_put(&e->clock, m.t_ns, e->hw);
	return 0;
}

/* The trace shows the watermark wakeups are planned against
 * (watermark_plan), whenever it changes. */
static void engine_watermark(struct engine *e, uint64_t old)
{
	uint64_t now = watermark_plan(&e->wm);

	if (now != old)
		trace_put(&e->trace, TRACE_WATERMARK, (int64_t)now, (int64_t)old, 0);
}

/* A deep fill target buys headroom against long stalls (watermark.h). */
static void engine_watermark_deep(struct engine *e, uint64_t target)
{
	uint64_t old = watermark_plan(&e->wm);

	watermark_deep(&e->wm, target);
	engine_watermark(e, old);
}

/* After a timer wakeup: how late it was and how much was left decide the
 * watermark (see watermark.h). */
static void engine_judge_wakeup(struct engine *e, int64_t fill)
{
	uint64_t old = watermark_plan(&e->wm);

	if (e->late < 0 || !e->running)
		return;
	watermark_wakeup(&e->wm, e->t_meas, e->late, fill);
	engine_watermark(e, old);
	e->late = -1;
}

static void engine_stream_rewind(struct engine *e, struct stream *s);
static void engine_apply_gains(struct engine *e);
static void engine_disarm(struct engine *e);

/* Where the card would be now had it played on since it was last
 * measured, plus the safeguard: frames before it may have been heard.
 * A card that stopped early (xrun, suspend, failure) heard less, so
 * continuing from here skips a little and never repeats. */
static uint64_t engine_played_by_now(const struct engine *e)
{
	uint64_t p = engine_hw_by(e, e->now(e->now_arg)) + e->cfg.safeguard;

	return p < e->written ? p : e->written;
}

/* The card starts again, empty: after an xrun, a suspend it could not
 * resume from, or on a new card. What was written and not played is gone.
 * Every stream goes back to the frame mixed at p, so it continues about
 * where it was last heard (its render cache still holds that audio); the
 * positions carry on from p rather than restart at 0, so no stream's
 * journal ever sees the device go backwards.
 *
 *     hw (last measured)     p                         written
 *   --|----------------------|-------------------------|------>
 *      heard (or maybe)       streams continue here     lost */
static void engine_restart(struct engine *e)
{
	uint64_t p = engine_played_by_now(e);

	e->running = 0;
	smoother_reset(&e->clock);
	e->written = e->hw = e->heard = p;
	e->rewind_to = UINT64_MAX;
	e->late = -1;
	for (unsigned i = 0; i < e->nstreams; i++)
		engine_stream_rewind(e, e->streams[i]);
	engine_apply_gains(e);
}

/* An xrun (the buffer ran empty) or a suspend. A card that resumed where
 * it was suspended plays on with its contents: nothing moves, only the
 * clock smoother starts afresh (time jumped). Otherwise it is prepared
 * again, empty, and the engine restarts. Returns 0 or -errno (-EAGAIN:
 * still resuming). */
static int engine_recover(struct engine *e, int err)
{
	uint64_t old = watermark_plan(&e->wm);
	int r = e->dev.ops->recover(e->dev.dev, err);

	if (r < 0)
		return r;
	trace_put(&e->trace, TRACE_XRUN, err, r, 0);
	if (err == -ESTRPIPE) {
		atomic_fetch_add(&e->stats.suspends, 1);
	} else {
		/* An underrun: we woke too late; wake earlier from now on. */
		atomic_fetch_add(&e->stats.xruns, 1);
		watermark_xrun(&e->wm, e->t_meas);
		engine_watermark(e, old);
	}
	if (r == 1)
		smoother_reset(&e->clock);
	else
		engine_restart(e);
	return 0;
}

/* Errors that say the card is gone or broken, as opposed to an xrun, a
 * suspend or a moment of waiting: reopening is the only remedy. */
static int engine_is_loss(int err)
{
	return err < 0 && err != -EPIPE && err != -ESTRPIPE && err != -EAGAIN &&
	       err != -EINTR;
}

/* The card failed: hand it to the control thread to close and reopen
 * (the audio thread never opens or closes cards: both allocate and may
 * block). The positions restart now, while the time since the card was
 * last measured still says how far it may have played; the streams then
 * wait there. No timer is armed: the thread sleeps until a command. */
static void engine_lose(struct engine *e, int err)
{
	struct cmd ev = { .type = EVT_LOST, .dev = &e->dead, .token = (uint32_t)-err };

	e->dead = e->dev;
	if (cmdq_push(&e->out, &ev) < 0)
		return;		/* a full queue: try again next cycle */
	engine_restart(e);
	e->lost = 1;
	e->dev.ops = NULL;
	e->dev.dev = NULL;
	atomic_fetch_add(&e->stats.losses, 1);
	trace_put(&e->trace, TRACE_XRUN, err, 0, 0);
	engine_disarm(e);
}

/* A new card from the control thread (same rate, channels, format and
 * buffer: the streams were built for them, so only the handle changes),
 * empty: the next cycle fills and starts it.
 * The struct goes back with what it replaced: nothing when the old card
 * was lost, else the old card, for the control thread to close. */
static void engine_device(struct engine *e, struct device *nd)
{
	struct cmd ev = { .type = EVT_DEVICE, .dev = nd };
	const struct device_ops *ops = e->dev.ops;
	void *dev = e->dev.dev;

	e->dev.ops = nd->ops;
	e->dev.dev = nd->dev;
	nd->ops = ops;
	nd->dev = dev;
	e->lost = 0;
	e->running = 0;		/* positions restarted when the old one was lost */
	cmdq_push(&e->out, &ev);	/* full: a leak of one struct, not a crash */
}

/* A stream moved back to the new end of the buffer: if that gave it
 * converted audio to mix again, it is no longer dry (nor waiting for a
 * deadline: it continues from here, seamlessly). */
static void engine_stream_rewind(struct engine *e, struct stream *s)
{
	stream_rewind(s, e->written);
	if (s->cache_r < s->cache_w && (s->dry || s->pending)) {
		s->dry = s->pending = 0;
		engine_listen(e, s, 0);
	}
}

/* Rewinds come at most every REWIND_GAP_NS: a client that pauses and
 * resumes or changes its volume non-stop gets its changes merged, heard
 * within that much more, instead of a rewind storm re-mixing the whole
 * buffer thousands of times a second. The first change after a quiet
 * moment is rewound at once. */
#define REWIND_GAP_NS 10000000

static int engine_rewind_due(struct engine *e)
{
	if (e->rewind_to == UINT64_MAX)
		return 0;
	if (!e->dev.info.can_rewind)
		return 1;	/* nothing to take back: changes apply at once */
	if (e->t_meas - e->last_rewind < REWIND_GAP_NS && e->last_rewind)
		return 0;
	e->last_rewind = e->t_meas;
	return 1;
}

/* Takes back written - R frames, clamped to what the DMA has not reached
 * plus the safeguard, and moves every stream back to the new end. */
static void engine_rewind(struct engine *e)
{
	uint64_t r = e->rewind_to, floor = e->hw + e->cfg.safeguard, ask;
	long done = 0;

	e->rewind_to = UINT64_MAX;
	if (r < floor)
		r = floor;
	ask = r < e->written ? e->written - r : 0;
	if (ask && e->dev.info.can_rewind)
		done = e->dev.ops->rewind(e->dev.dev, ask);
	if (done < 0)
		done = 0;
	/* The card may give back less than asked: the re-mix starts from
	 * wherever it really is now. */
	e->written -= (uint64_t)done;
	for (unsigned i = 0; i < e->nstreams; i++)
		engine_stream_rewind(e, e->streams[i]);
	if (!e->dev.info.can_rewind)
		return;		/* the change starts at written: no rewind */
	trace_put(&e->trace, TRACE_REWIND, (int64_t)ask, done, e->rewind_reason);
	if (done > 0) {
		atomic_fetch_add(&e->stats.rewinds, 1);
		atomic_fetch_add(&e->stats.rewound, (uint64_t)done);
	}
}

static void engine_apply_gains(struct engine *e)
{
	for (unsigned i = 0; i < e->nstreams; i++) {
		struct stream *s = e->streams[i];
		if (s->has_gain_pending) {
			/* Before its first frame there is nothing to ramp from. */
			stream_set_gain(s, s->gain_pending, e->written,
					s->started ? e->cfg.ramp : 0);
			s->has_gain_pending = 0;
		}
	}
}

/* The lowest fill any stream asks for rules; with none, the whole buffer.
 * Without rewinds, a change (a join, a pause) is heard only after what is
 * already written: the fill stays within two watermarks, so it is heard
 * after at most one watermark of waiting for the wakeup and the one
 * watermark still in the buffer then. */
static uint64_t engine_target(const struct engine *e)
{
	uint64_t t = e->dev.info.buffer;

	if (!e->dev.info.can_rewind && t > 2 * watermark_get(&e->wm))
		t = 2 * watermark_get(&e->wm);

	for (unsigned i = 0; i < e->nstreams; i++)
		if (e->streams[i]->fill_target < t)
			t = e->streams[i]->fill_target;
	/* Below two watermarks every wakeup would be a near miss. */
	if (t < 2 * watermark_get(&e->wm))
		t = 2 * watermark_get(&e->wm);
	return t < e->dev.info.buffer ? t : e->dev.info.buffer;
}

static size_t engine_mix_chunk(struct engine *e, size_t n)
{
	memset(e->mix, 0, n * e->dev.info.channels * sizeof(float));
	for (unsigned i = 0; i < e->nstreams; i++) {
		struct stream *s = e->streams[i];
		/* A dry stream comes back only through engine_stream_data, with
		 * its rewind: data that arrives during this fill must not be
		 * mixed here, seconds ahead of the DMA. */
		if (s->paused || s->pending || s->dry)
			continue;
		if (stream_mix(s, e->mix, e->written, n) < n) {
			engine_stream_dry(e, s);
		} else {
			s->dry = 0;
			s->gap_counted = 0;
		}
	}
	return n;
}

static int engine_fill(struct engine *e, uint64_t frames)
{
	while (frames > 0) {
		size_t n = frames < ENGINE_CHUNK ? (size_t)frames : ENGINE_CHUNK;
		long w;

		engine_mix_chunk(e, n);
		w = e->dev.ops->write(e->dev.dev, e->mix, n);
		if (w < 0)
			return (int)w;
		e->written += (uint64_t)w;
		frames -= (uint64_t)w;
		if ((size_t)w < n) {
			/* The card took less than it said it had room for: undo
			 * the streams' advance past what it took. */
			for (unsigned i = 0; i < e->nstreams; i++)
				engine_stream_rewind(e, e->streams[i]);
			break;
		}
	}
	return 0;
}

/* --- after writing: clients and drains ------------------------------------------- */

static void engine_signal(struct stream *s)
{
	if (s->consumed_since_signal == 0 ||
	    ring_readable(&s->ring) >= s->request_frames)
		return;
	s->consumed_since_signal = 0;
	link_wake_client(&s->link);
}

/* A draining stream is done when everything it wrote has been mixed and
 * the card has played the last of it. Returns the time it will be, or 0
 * when done now (or -1: not yet known). */
static int64_t engine_drain_due(struct engine *e, struct stream *s, double rate)
{
	int64_t end = stream_drain_end(s);

	if (end < 0)
		return -1;
	if (e->heard >= (uint64_t)end)
		return 0;
	return planner_time_after(e->t_meas, (double)((uint64_t)end - e->heard), rate);
}

static int64_t engine_report(struct engine *e, double rate)
{
	double ratio = rate / e->dev.info.rate;
	int64_t next = INT64_MAX;

	for (unsigned i = 0; i < e->nstreams; i++) {
		struct stream *s = e->streams[i];
		stream_prune(s, e->hw);
		stream_publish(s, e->heard, e->t_meas, ratio);
		engine_signal(s);
		if (s->dry && !s->pending && e->hw >= stream_mixed_end(s))
			engine_gap(e, s);
		if (s->dry && !s->pending)
			engine_listen(e, s, 1);
		if (s->pending) {
			int64_t d = engine_deadline(e, s, rate);
			next = d < next ? d : next;
		}
		if (s->draining) {
			int64_t due = engine_drain_due(e, s, rate);
			struct cmd ev = { .type = EVT_DRAINED, .s = s,
					  .token = s->drain_token };
			if (due == 0 && cmdq_push(&e->out, &ev) == 0) {
				s->draining = 0;
				trace_put(&e->trace, TRACE_DRAINED, s->id, 0, 0);
			} else if (due > 0 && due < next) {
				next = due;
			}
		}
	}
	return next;
}

static void engine_arm(struct engine *e, int64_t t)
{
	struct itimerspec its = { 0 };

	if (t <= 0)
		t = 1;
	e->planned = t;
	its.it_value.tv_sec = t / 1000000000;
	its.it_value.tv_nsec = t % 1000000000;
	timerfd_settime(e->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void engine_status_stream(struct monitor_stream *m, struct stream *s)
{
	*m = (struct monitor_stream){
		.id = s->id, .pid = s->pid, .rate = s->rate, .channels = s->channels,
		.format = s->fmt, .paused = (uint32_t)s->paused,
		.latency_us = s->latency_ns / 1000,
		.ring_fill = ring_readable(&s->ring), .ring_frames = s->ring_frames,
		.volume = s->gain_to, .dry = (uint32_t)s->dry,
		.underruns = atomic_load(&s->link.hdr->underruns),
		.rewinds = s->rewinds_caused,
	};
	memcpy(m->name, s->name, sizeof m->name);
}

/* The status page for tools, rewritten every cycle (a few hundred bytes
 * per stream, no system calls). */
static void engine_status(struct engine *e, uint64_t target)
{
	struct monitor_status *st = trace_status_begin(&e->trace);
	unsigned n = e->nstreams < MONITOR_STREAMS ? e->nstreams : MONITOR_STREAMS;

	st->running = (uint32_t)e->running;
	st->realtime = (uint32_t)e->thread.rt;
	st->rate = e->dev.info.rate;
	st->channels = e->dev.info.channels;
	st->format = e->dev.info.fmt;
	memcpy(st->device, e->dev.info.name, sizeof st->device);
	st->buffer = e->dev.info.buffer;
	st->watermark = watermark_plan(&e->wm);
	st->safeguard = e->cfg.safeguard;
	st->fill_target = target;
	st->fill = e->written - e->hw;
	st->wakeups = atomic_load(&e->stats.wakeups);
	st->rewinds = atomic_load(&e->stats.rewinds);
	st->rewound = atomic_load(&e->stats.rewound);
	st->xruns = atomic_load(&e->stats.xruns);
	st->underruns = atomic_load(&e->stats.underruns);
	st->ppm = smoother_ppm(&e->clock);
	st->t_ns = e->t_meas;
	st->nstreams = n;
	for (unsigned i = 0; i < n; i++)
		engine_status_stream(&st->streams[i], e->streams[i]);
	trace_status_end(&e->trace);
}

static void engine_disarm(struct engine *e)
{
	struct itimerspec off = { 0 };

	timerfd_settime(e->timerfd, 0, &off, NULL);
	e->planned = 0;
}

/* With no stream for idle_ns the card is stopped and the timer disarmed:
 * lulld sleeps with no wakeups at all until a client comes. Returns 1
 * while idle (nothing to fill). */
static int engine_idle(struct engine *e)
{
	if (e->nstreams > 0) {
		if (e->idle)
			trace_put(&e->trace, TRACE_IDLE, 0, 0, 0);
		e->idle = 0;
		e->idle_since = -1;
		return 0;
	}
	if (e->idle)
		return 1;
	if (e->idle_since < 0)
		e->idle_since = e->t_meas;
	if (!e->cfg.idle_ns || !e->running ||
	    e->t_meas - e->idle_since < e->cfg.idle_ns)
		return 0;
	if (e->dev.ops->stop(e->dev.dev) < 0)
		return 0;	/* keep playing silence rather than lose the card */
	e->running = 0;
	e->idle = 1;
	e->written = e->hw;	/* what was dropped was never played */
	smoother_reset(&e->clock);
	engine_disarm(e);
	trace_put(&e->trace, TRACE_IDLE, 1, 0, 0);
	return 1;
}

/* One cycle on a working card; see the top of the file. */
static int engine_cycle_card(struct engine *e)
{
	struct plan_in in;
	struct plan_out out;
	int64_t before, due;
	int err = engine_measure(e);

	if (err)
		return err;
	engine_judge_wakeup(e, (int64_t)(e->written - e->hw));
	engine_deadlines(e);
	if (engine_rewind_due(e)) {
		engine_rewind(e);
		engine_apply_gains(e);
	}
	if (engine_idle(e)) {
		engine_status(e, 0);
		return 0;
	}
	before = (int64_t)(e->written - e->hw);
	in = (struct plan_in){
		.t_ns = e->t_meas, .fill = before, .rate = smoother_rate(&e->clock),
		.target = engine_target(e), .buffer = e->dev.info.buffer,
	};
	engine_watermark_deep(e, in.target);
	in.watermark = watermark_plan(&e->wm);
	planner_plan(&in, &out);
	if ((err = engine_fill(e, out.write)))
		return err;
	engine_recheck_dry(e);
	trace_put(&e->trace, TRACE_FILL, before, (int64_t)(e->written - e->hw), 0);
	if (out.write)
		trace_put(&e->trace, TRACE_WRITE, (int64_t)out.write, (int64_t)e->written, 0);
	if (in.target != e->target) {
		trace_put(&e->trace, TRACE_TARGET, (int64_t)in.target, (int64_t)e->target, 0);
		e->target = in.target;
	}
	if (!e->running && e->written > e->hw) {
		if ((err = e->dev.ops->start(e->dev.dev)))
			return err;
		e->running = 1;
	}
	engine_status(e, in.target);
	due = engine_report(e, in.rate);
	if (e->rewind_to != UINT64_MAX)	/* asked for meanwhile: soon */
		due = e->last_rewind + REWIND_GAP_NS > e->t_meas ?
		      e->last_rewind + REWIND_GAP_NS : e->t_meas;
	if (e->nstreams == 0 && e->cfg.idle_ns && e->idle_since >= 0 &&
	    e->idle_since + e->cfg.idle_ns < due)
		due = e->idle_since + e->cfg.idle_ns;	/* time to stop the card */
	engine_arm(e, due < out.wake_ns ? due : out.wake_ns);
	return 0;
}

/* One cycle. An xrun or a suspend found anywhere in it (measuring,
 * writing, starting) is recovered and the cycle run again, once; a card
 * that failed is handed back (nothing is touched until a new one comes). */
int engine_cycle(struct engine *e)
{
	int err;

	if (e->lost)
		return 0;
	err = engine_cycle_card(e);
	if (err == -EPIPE || err == -ESTRPIPE) {
		err = engine_recover(e, err);
		if (!err)
			err = engine_cycle_card(e);
	}
	if (engine_is_loss(err)) {
		engine_lose(e, err);
		return e->lost ? 0 : err;
	}
	return err;
}

/* --- the thread ------------------------------------------------------------------ */

/* Every wakeup is one trace event, whatever woke us: c says what (timer,
 * command, stream data), a and b the timer's plan and lateness. */
static void engine_events(struct engine *e, const struct epoll_event *ev, int n)
{
	int64_t late = 0;
	uint32_t why = 0;
	uint64_t v;

	for (int i = 0; i < n; i++) {
		uint64_t tag = ev[i].data.u64;
		if (tag == EPOLL_TIMER) {
			why |= WAKE_TIMER;
			if (read(e->timerfd, &v, sizeof v) == (ssize_t)sizeof v)
				e->late = late = engine_now() - e->planned;
		} else if (tag == EPOLL_CMDQ) {
			why |= WAKE_COMMAND;
			engine_commands(e);
		} else {
			why |= WAKE_STREAM;
			engine_stream_event(e, (uint32_t)(tag >> 32),
					    ev[i].events & (EPOLLHUP | EPOLLERR));
		}
	}
	trace_put(&e->trace, TRACE_WAKE, why & WAKE_TIMER ? e->planned : 0, late, why);
}

static void *engine_main(void *arg)
{
	struct engine *e = arg;
	struct epoll_event ev[16];

	athread_realtime(&e->thread, e->cfg.realtime);
	while (!athread_quitting(&e->thread)) {
		if (engine_cycle(e) < 0) {
			/* A failing card: retry in 100 ms rather than spin. */
			engine_arm(e, engine_now() + 100000000);
		}
		int n = epoll_wait(e->epfd, ev, 16, -1);
		if (n <= 0)
			continue;	/* EINTR: not a wakeup */
		atomic_fetch_add(&e->stats.wakeups, 1);
		engine_events(e, ev, n);
	}
	return NULL;
}

static void engine_init_watermark(struct engine *e)
{
	unsigned rate = e->dev.info.rate;
	struct watermark_cfg c = {
		.rate = rate, .initial = e->cfg.watermark,
		.min = e->cfg.watermark_min ? e->cfg.watermark_min : rate / 200,
		.max = e->dev.info.buffer / 2,
		.step_up = rate / 100, .step_down = rate / 200,
		.stable_ns = 20000000000LL,
	};

	watermark_init(&e->wm, &c, engine_now());
}

int engine_init(struct engine *e, const struct device *dev,
		const struct engine_cfg *cfg)
{
	int err;

	memset(e, 0, sizeof *e);
	e->trace.fd = e->epfd = e->timerfd = -1;
	e->in.efd = e->out.efd = -1;
	e->dev = *dev;
	e->cfg = *cfg;
	e->rewind_to = UINT64_MAX;
	e->now = engine_clock;
	if (cfg->no_rewind)
		e->dev.info.can_rewind = 0;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (e->epfd < 0 || e->timerfd < 0)
		return -errno;
	if ((err = trace_open(&e->trace)))
		return err;
	smoother_init(&e->clock, dev->info.rate);
	engine_init_watermark(e);
	e->late = -1;
	e->idle_since = -1;
	if ((err = cmdq_init(&e->in)) || (err = cmdq_init(&e->out)))
		return err;
	if ((err = athread_epoll_add(e->epfd, e->timerfd, EPOLL_TIMER)) ||
	    (err = athread_epoll_add(e->epfd, e->in.efd, EPOLL_CMDQ)))
		return err;
	return 0;
}

int engine_start(struct engine *e)
{
	return athread_start(&e->thread, engine_main, e);
}

void engine_stop(struct engine *e)
{
	athread_stop(&e->thread, &e->in);
}

static void engine_close_dev(struct device *d)
{
	if (d->ops)
		d->ops->close(d->dev);
	d->ops = NULL;
}

/* Cards still in flight when lulld stops: whoever would have received
 * them is gone. */
static void engine_drain_cards(struct engine *e)
{
	struct cmd c;

	while (e->in.efd >= 0 && cmdq_pop(&e->in, &c) == 0)
		if (c.type == CMD_DEVICE) {
			engine_close_dev(c.dev);
			free(c.dev);
		}
	while (e->out.efd >= 0 && cmdq_pop(&e->out, &c) == 0) {
		if (c.type == EVT_LOST)
			engine_close_dev(c.dev);
		if (c.type == EVT_DEVICE) {
			engine_close_dev(c.dev);
			free(c.dev);
		}
	}
}

void engine_fini(struct engine *e)
{
	engine_stop(e);
	engine_close_dev(&e->dev);
	engine_drain_cards(e);
	cmdq_fini(&e->in);
	cmdq_fini(&e->out);
	if (e->epfd >= 0)
		close(e->epfd);
	if (e->timerfd >= 0)
		close(e->timerfd);
	trace_close(&e->trace);
}
