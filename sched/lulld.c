/* lulld: the lull sound server.
 *
 * main: settings, the socket (so a second lulld refuses before touching
 * the card), the card, the audio thread, then the control loop until
 * SIGINT or SIGTERM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ipc/sock.h"
#include "sched/devprobe.h"
#include "sched/engine.h"
#include "sched/options.h"
#include "sched/ptrprobe.h"
#include "sched/server.h"

/* --- the pointer probe at startup: what the card's pointer is worth decides
 * the rewind safeguard and the watermark (sched/devprobe.h) --- */

static snd_pcm_format_t lulld_probe_format(int fmt)
{
	switch (fmt) {
	case FMT_S16: return SND_PCM_FORMAT_S16_LE;
	case FMT_S24: return SND_PCM_FORMAT_S24_LE;
	case FMT_S32: return SND_PCM_FORMAT_S32_LE;
	case FMT_FLOAT: return SND_PCM_FORMAT_FLOAT_LE;
	default: return SND_PCM_FORMAT_UNKNOWN;
	}
}

/* The loopback's capture end takes the playback's actual setup. */
static int lulld_probe_loop(const struct options *o, snd_pcm_t *play,
			    snd_pcm_t **cap, const char **what)
{
	struct ptrprobe_hw hw;
	struct ptrprobe_setup s;
	int err = ptrprobe_hw_read(play, &hw);

	if (err < 0) {
		*what = "snd_pcm_hw_params_current";
		return err;
	}
	s = (struct ptrprobe_setup){ .rate = hw.rate, .channels = hw.channels,
		.format = hw.format, .buffer_ms = (unsigned)(hw.buffer * 1000 / hw.rate) };
	return ptrprobe_open(cap, o->probe_loopback, SND_PCM_STREAM_CAPTURE, &s, what);
}

/* Opens the card as lulld will, measures it for probe_ms (and its
 * prefetch through the loopback, when there is one) and closes it again.
 * A failed probe leaves f as it was: lulld falls back to the defaults. */
static int lulld_probe_run(const struct options *o, struct devprobe_found *f,
			   const char **what)
{
	struct ptrprobe_setup s = { .rate = o->rate, .channels = o->channels,
		.format = lulld_probe_format(o->format), .buffer_ms = o->buffer_ms };
	struct ptrprobe_opts po = { .duration_ms = o->probe_ms, .interval_us = 200 };
	struct ptrprobe_result r;
	snd_pcm_t *pcm = NULL, *loop = NULL;
	int err = ptrprobe_open(&pcm, o->device, SND_PCM_STREAM_PLAYBACK, &s, what);

	if (!err && o->probe_loopback[0])
		err = lulld_probe_loop(o, pcm, &loop, what);
	if (!err) {
		po.loop_capture = loop;
		err = ptrprobe_run(pcm, &po, &r);
		if (err)
			*what = r.failed;
		else {
			f->period = (uint64_t)r.hw.period;
			devprobe_found_set(f, &r.report, r.margin_done ? &r.margin : NULL);
		}
		ptrprobe_result_free(&r);
	}
	if (loop)
		snd_pcm_close(loop);
	if (pcm)
		snd_pcm_close(pcm);
	return err;
}

static void lulld_probe(const struct options *o, struct devprobe_found *f)
{
	const char *what = NULL;
	int err;

	*f = (struct devprobe_found){ .prefetch = o->prefetch,
		.prefetch_src = o->prefetch ? DEVPROBE_DECLARED : DEVPROBE_NONE };
	if (!o->probe_ms)
		return;
	f->rate = o->rate;
	err = lulld_probe_run(o, f, &what);
	if (err && o->verbose >= 0)
		fprintf(stderr, "lulld: probe: %s: %s; margins from the defaults\n",
			what ? what : "error", snd_strerror(err));
}

static void lulld_probe_print(const struct options *o, const struct devprobe_found *f,
			      const struct devprobe_choice *c)
{
	if (o->verbose < 0)
		return;
	if (f->measured)
		fprintf(stderr, "lulld: probe %u ms: pointer granularity %lld frames, "
			"jitter %.3f ms, stall %.1f ms, drift %+.0f ppm\n", o->probe_ms,
			(long long)f->granularity, f->jitter_us / 1000, f->stall_ms,
			f->drift_ppm);
	else
		fprintf(stderr, "lulld: probe off\n");
	fprintf(stderr, "lulld: prefetch %lld frames (%s); DMA lead %llu frames -> "
		"rewind safeguard %llu frames (%s), watermark %llu frames (%s), "
		"floor %llu frames\n", (long long)f->prefetch,
		devprobe_src_name(f->prefetch_src), (unsigned long long)c->lead,
		(unsigned long long)c->safeguard, devprobe_src_name(c->safeguard_src),
		(unsigned long long)c->watermark, devprobe_src_name(c->watermark_src),
		(unsigned long long)c->watermark_min);
}

/* Safeguard and watermark for the card as opened, from the probe. */
static void lulld_size(const struct options *o, const struct device_info *d,
		       struct devprobe_found *f, struct engine_cfg *ec)
{
	struct devprobe_want w = { .safeguard_us = o->safeguard_us,
				   .watermark_ms = o->watermark_ms };
	struct devprobe_choice c;

	f->rate = d->rate;
	f->frame_bytes = (unsigned)(fmt_bytes(d->fmt) * d->channels);
	f->buffer = d->buffer;
	devprobe_size(f, &w, &c);
	ec->safeguard = c.safeguard;
	ec->watermark = c.watermark;
	ec->watermark_min = c.watermark_min;
	lulld_probe_print(o, f, &c);
}

static void lulld_print(const struct options *o, const struct device_info *d,
			const struct engine_cfg *ec, const char *path)
{
	if (o->verbose < 0)
		return;
	fprintf(stderr,
		"lulld: device %s: %u Hz, %u channels, %s, buffer %llu frames "
		"(%.0f ms), period %llu\n"
		"lulld: watermark %llu frames (%.1f ms), rewind safeguard %llu frames "
		"(%.2f ms), real-time %s, idle stop %s\n"
		"lulld: listening on %s\n",
		d->name, d->rate, d->channels, fmt_name(d->fmt),
		(unsigned long long)d->buffer, d->buffer * 1000.0 / d->rate,
		(unsigned long long)d->period,
		(unsigned long long)ec->watermark, ec->watermark * 1000.0 / d->rate,
		(unsigned long long)ec->safeguard, ec->safeguard * 1000.0 / d->rate,
		o->realtime ? "requested" : "off", o->idle_ms ? "on" : "off", path);
}

static void lulld_stats(const struct options *o, struct engine *e)
{
	if (o->verbose < 0)
		return;
	fprintf(stderr, "lulld: %llu wakeups, %llu rewinds (%llu frames), "
		"%llu xruns, %llu stream underruns, clock %+.1f ppm\n",
		(unsigned long long)atomic_load(&e->stats.wakeups),
		(unsigned long long)atomic_load(&e->stats.rewinds),
		(unsigned long long)atomic_load(&e->stats.rewound),
		(unsigned long long)atomic_load(&e->stats.xruns),
		(unsigned long long)atomic_load(&e->stats.underruns),
		smoother_ppm(&e->clock));	/* the audio thread has stopped */
}

/* Without rewinds lulld behaves differently enough to say so, once. */
static void lulld_print_rewind(const struct options *o, const struct engine *e)
{
	const struct device_info *d = &e->dev.info;

	if (o->verbose < 0 || d->can_rewind)
		return;
	fprintf(stderr, "lulld: rewinds are off (%s): the buffer is kept two "
		"watermarks full (%.0f ms); pause, volume and leaving are heard "
		"once the audio already written has played\n",
		o->no_rewind ? "--no-rewind" : "the card cannot rewind",
		2000.0 * (double)e->cfg.watermark / d->rate);
}

/* What the card did wrong, counted by the audio thread. */
static void lulld_trouble(const struct options *o, struct engine *e)
{
	if (o->verbose < 0)
		return;
	fprintf(stderr, "lulld: card trouble: %llu suspends, %llu failures, "
		"%llu impossible positions\n",
		(unsigned long long)atomic_load(&e->stats.suspends),
		(unsigned long long)atomic_load(&e->stats.losses),
		(unsigned long long)atomic_load(&e->stats.clamps));
}

/* -vv: the trace as text at exit. */
static void lulld_dump_trace(const struct options *o, struct engine *e)
{
	struct trace_event ev;
	uint64_t next = 0, lost;

	if (o->verbose < 2)
		return;
	while (monitor_events(e->trace.m, &next, &ev, 1, &lost) == 1)
		fprintf(stderr, "trace %lld.%09lld %-9s a=%lld b=%lld c=%u\n",
			(long long)(ev.t_ns / 1000000000), (long long)(ev.t_ns % 1000000000),
			trace_type_name(ev.type), (long long)ev.a, (long long)ev.b, ev.c);
}

/* Recording is optional: without a capture device lulld still plays. */
static struct capture *lulld_capture(const struct options *o,
				     const struct device_cfg *play)
{
	struct device_cfg dc = *play;
	struct capture *c;
	struct device dev;

	if (!strcmp(o->capture_device, "none"))
		return NULL;
	if (o->capture_device[0])
		dc.name = o->capture_device;
	dc.capture = 1;
	if (device_open_alsa(&dev, &dc) < 0) {
		fprintf(stderr, "lulld: recording is off\n");
		return NULL;
	}
	if (!(c = calloc(1, sizeof *c))) {
		dev.ops->close(dev.dev);
		return NULL;
	}
	if (capture_init(c, &dev, o->realtime) || capture_start(c)) {
		fprintf(stderr, "lulld: cannot start the capture thread; recording is off\n");
		capture_fini(c);
		free(c);
		return NULL;
	}
	if (o->verbose >= 0)
		fprintf(stderr, "lulld: capture %s: %u Hz, %u channels, %s, buffer %llu "
			"frames\n", dev.info.name, dev.info.rate, dev.info.channels,
			fmt_name(dev.info.fmt), (unsigned long long)dev.info.buffer);
	return c;
}

static void lulld_capture_free(const struct options *o, struct capture *c)
{
	if (!c)
		return;
	if (o->verbose >= 0)	/* the thread has stopped: lulld_serve */
		fprintf(stderr, "lulld: capture: %llu wakeups, %llu frames, %llu overruns\n",
			(unsigned long long)atomic_load(&c->stats.wakeups),
			(unsigned long long)atomic_load(&c->stats.frames),
			(unsigned long long)atomic_load(&c->stats.xruns));
	capture_fini(c);
	free(c);
}

static int lulld_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	/* Blocked before any thread exists, so only the signalfd sees them. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static int lulld_serve(const struct options *o, const char *path, int stop_fd)
{
	struct engine *e = calloc(1, sizeof *e);	/* big: the trace ring */
	struct device_cfg dc = {
		.name = o->device, .rate = o->rate, .channels = o->channels,
		.fmt = o->format, .buffer_ms = o->buffer_ms, .no_rewind = o->no_rewind,
	};
	struct engine_cfg ec = { .realtime = o->realtime, .no_rewind = o->no_rewind };
	struct server *sv;
	struct capture *cap;
	struct devprobe_found found;
	struct device dev;
	int err = e ? server_new(&sv, path, e) : -ENOMEM;

	if (err == -EADDRINUSE)
		fprintf(stderr, "lulld: another lulld is already serving %s\n", path);
	else if (err)
		fprintf(stderr, "lulld: cannot listen on %s: %s\n", path, strerror(-err));
	if (err) {
		free(e);
		return 1;
	}
	lulld_probe(o, &found);
	if ((err = device_open_alsa(&dev, &dc))) {
		server_free(sv);
		free(e);
		return 1;
	}
	lulld_size(o, &dev.info, &found, &ec);
	ec.ramp = dev.info.rate / 200;	/* 5 ms */
	ec.idle_ns = (int64_t)o->idle_ms * 1000000;
	if ((err = engine_init(e, &dev, &ec)) || (err = engine_start(e))) {
		fprintf(stderr, "lulld: cannot start the audio thread: %s\n", strerror(-err));
		engine_fini(e);
		server_free(sv);
		free(e);
		return 1;
	}
	lulld_print(o, &dev.info, &ec, path);
	lulld_print_rewind(o, e);
	server_set_device(sv, &dc);
	cap = lulld_capture(o, &dc);
	server_set_capture(sv, cap);
	err = server_run(sv, stop_fd);
	engine_stop(e);
	if (cap)
		capture_stop(cap);
	lulld_stats(o, e);
	lulld_trouble(o, e);
	lulld_dump_trace(o, e);
	server_free(sv);
	lulld_capture_free(o, cap);
	engine_fini(e);
	free(e);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct options o;
	char path[108];
	int stop_fd, err = options_parse(&o, argc, argv);

	if (err)
		return err > 0 ? 0 : 2;
	if (o.socket[0])
		snprintf(path, sizeof path, "%s", o.socket);
	else if (sock_default_path(path, sizeof path) < 0) {
		fprintf(stderr, "lulld: no socket path: set XDG_RUNTIME_DIR or LULL_SOCKET, "
			"or pass --socket\n");
		return 2;
	}
	stop_fd = lulld_signals();
	if (stop_fd < 0) {
		perror("lulld: signals");
		return 1;
	}
	err = lulld_serve(&o, path, stop_fd);
	close(stop_fd);
	return err;
}
