/* Settings of one simulated card, as given in its ALSA configuration. */
#ifndef LULL_SIMOPT_H
#define LULL_SIMOPT_H

#include <stdint.h>

#include <alsa/asoundlib.h>

#include "tools/simcard/simsrc.h"

#define SIMOPT_GRAN_PERIOD UINT64_MAX	/* GRANULARITY=period */

struct simopt {
	char *out;		/* playback WAV */
	char *events;		/* event log */
	char *loop;		/* loopback air name; NULL: playback publishes none */
	char *capture_path;	/* CAPTURE=wav:PATH */
	struct simsrc_cfg src;
	uint64_t granularity;
	unsigned jitter_us;
	uint32_t seed;
	uint64_t prefetch;
	uint64_t fifo;
	double drift_ppm;
	unsigned xrun_ms;
	unsigned jump_ms;
	uint64_t jump_frames;	/* 0: twice the buffer */
	unsigned stall_ms, stall_every_ms;
	int norewind;		/* the DMA latches all that is written */
	unsigned suspend_ms;	/* suspend every suspend_ms of running */
	int resume;		/* snd_pcm_resume works (default) */
	unsigned fail_ms;	/* the handle fails this long after its start */
	int fail_err;		/* ENODEV (disconnected) or EIO */
	int append;		/* OUT and EVENTS keep an earlier handle's */
};

/* Reads the plugin's configuration node. Returns 0 or -EINVAL, after
 * SNDERR() naming the bad key. */
int simopt_parse(struct simopt *o, snd_config_t *conf);
void simopt_free(struct simopt *o);

#endif
