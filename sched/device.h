/* The sound card as the audio threads see it, behind an ops table so the
 * engine and its tests can run on a fake card without ALSA.
 *
 * Playback: the engine counts `written` device frames; the device reports
 * how many of them are still in the hardware buffer (fill) and how long
 * until a frame written now is heard (delay = fill + FIFO).
 *
 *       played by DMA        fill (in the ring)
 *   ----------------------|=====================|-------------
 *                         hw                    written
 *   rewindable = fill - safeguard: frames we may take back.
 *
 * Capture: fill is what the DMA has captured and we have not read yet, and
 * delay = fill + FIFO: how long ago the oldest unread frame was sampled.
 *
 *        read by us          fill (captured)
 *   ----------------------|=====================|-------------
 *                         read                  hw (DMA) */
#ifndef LULL_DEVICE_H
#define LULL_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "core/fmt.h"

struct device_meas {
	int64_t t_ns;		/* CLOCK_MONOTONIC of the reading */
	int64_t fill;		/* frames written not yet consumed by the DMA */
	int64_t delay;		/* frames until a frame written now is heard */
};

struct device_info {
	unsigned rate, channels;
	enum fmt fmt;
	uint64_t buffer;	/* frames */
	uint64_t period;
	int can_rewind;
	char name[128];
};

struct device_ops {
	/* hwsync and read fill/delay; -EPIPE on an xrun. */
	int (*measure)(void *dev, struct device_meas *m);
	/* Writes n frames of interleaved float (converted to the card's
	 * format); returns frames written or -errno. Playback only. */
	long (*write)(void *dev, const float *buf, size_t n);
	/* Reads up to n captured frames as interleaved float; returns frames
	 * read or -errno. Capture only. */
	long (*read)(void *dev, float *buf, size_t n);
	/* Takes back up to n frames (already clamped by the caller); returns
	 * what the card really took back, or -errno. */
	long (*rewind)(void *dev, size_t n);
	/* Starts the stream once data is in. */
	int (*start)(void *dev);
	/* After an xrun or suspend: makes the card writable again. Returns
	 * 0: prepared and empty; 1: resumed where it was suspended (running,
	 * its contents kept); -EAGAIN: still waking up, ask again later. */
	int (*recover)(void *dev, int err);
	/* Stops the card at once and leaves it ready to start again, empty. */
	int (*stop)(void *dev);
	void (*close)(void *dev);
};

struct device {
	const struct device_ops *ops;
	void *dev;
	struct device_info info;
};

struct device_cfg {
	const char *name;	/* ALSA PCM */
	unsigned rate, channels;
	int fmt;		/* enum fmt, or -1: best the card offers */
	unsigned buffer_ms;
	int capture;		/* open the capture side */
	int no_rewind;		/* playback: will not rewind, do not probe
				 * (info.can_rewind = 0) */
	int quiet;		/* no log on failure: the caller retries */
};

/* Opens an ALSA PCM for timer-scheduled playback or capture: mmap, one
 * big buffer, no period wakeups, started by hand. Logs once what went
 * wrong. */
int device_open_alsa(struct device *d, const struct device_cfg *cfg);

#endif
