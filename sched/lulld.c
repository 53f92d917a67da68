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
#include "sched/engine.h"
#include "sched/options.h"
#include "sched/server.h"

/* Safeguard: max(256 bytes, 1.33 ms) unless set. */
static uint64_t lulld_safeguard(const struct options *o, const struct device_info *d)
{
	uint64_t bytes = 256 / (fmt_bytes(d->fmt) * d->channels);
	uint64_t us = o->safeguard_us ? o->safeguard_us : 1330;
	uint64_t frames = (us * d->rate + 999999) / 1000000;

	return o->safeguard_us || frames > bytes ? frames : bytes;
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
	capture_stop(c);
	if (o->verbose >= 0)
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
		.fmt = o->format, .buffer_ms = o->buffer_ms,
	};
	struct engine_cfg ec = { .realtime = o->realtime };
	struct server *sv;
	struct capture *cap;
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
	if ((err = device_open_alsa(&dev, &dc))) {
		server_free(sv);
		free(e);
		return 1;
	}
	ec.watermark = (uint64_t)o->watermark_ms * dev.info.rate / 1000;
	ec.safeguard = lulld_safeguard(o, &dev.info);
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
	cap = lulld_capture(o, &dc);
	server_set_capture(sv, cap);
	err = server_run(sv, stop_fd);
	engine_stop(e);
	if (cap)
		capture_stop(cap);
	lulld_stats(o, e);
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
