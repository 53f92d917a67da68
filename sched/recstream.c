/* A capture stream inside lulld. See recstream.h. */
#include "sched/recstream.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/mix.h"

#define NS 1000000000.0
#define RECSTREAM_DEFAULT_NS 20000000	/* 20 ms */
#define RECSTREAM_MIN_NS 2000000	/* 2 ms: below that, wake-ups cost more than
					 * they give on a normal-priority thread */
#define RECSTREAM_RING_S 2.0		/* a client may stall this long unharmed */

/* The latency asked for is how long a frame may wait, from the ADC until
 * the client can read it: lulld delivers every `period` device frames.
 * Never more than half the card's buffer, so the card never overruns. */
static void recstream_size(struct recstream *r, const struct recstream_cfg *cfg)
{
	double want = cfg->latency_ns ? (double)cfg->latency_ns : RECSTREAM_DEFAULT_NS;
	double max = (double)cfg->dev_buffer / 2 / cfg->dev_rate * NS;
	double ns = fmin(fmax(want, RECSTREAM_MIN_NS), max);

	r->period = (uint64_t)llround(ns / NS * cfg->dev_rate);
	r->latency_ns = (uint64_t)(r->period * NS / cfg->dev_rate);
	r->request_frames = (uint64_t)ceil(ns / NS * cfg->rate);
	r->ring_frames = (uint64_t)fmax(RECSTREAM_RING_S * cfg->rate,
					4.0 * r->request_frames);
}

static int recstream_alloc_dsp(struct recstream *r, unsigned dev_rate)
{
	int err = resampler_new(&r->rs, dev_rate, r->rate, r->channels,
				RESAMPLER_MEDIUM);

	if (err)
		return err;
	r->ratio = resampler_ratio(r->rs);
	/* The converter holds back its look-ahead: part of the latency. */
	r->latency_ns += (uint64_t)(resampler_delay(r->rs) / r->rate * NS);
	r->out_max = (size_t)ceil(RECSTREAM_CHUNK * r->ratio) + 16;
	r->map = malloc(RECSTREAM_CHUNK * r->channels * sizeof(float));
	r->conv = malloc(r->out_max * r->channels * sizeof(float));
	r->raw = malloc(r->out_max * r->frame_bytes);
	return r->map && r->conv && r->raw ? 0 : -ENOMEM;
}

int recstream_new(struct recstream **out, const struct recstream_cfg *cfg)
{
	struct recstream *r = calloc(1, sizeof *r);
	int err;

	if (!r)
		return -ENOMEM;
	*r = (struct recstream){
		.id = cfg->id, .rate = cfg->rate, .channels = cfg->channels,
		.fmt = cfg->fmt, .frame_bytes = fmt_bytes(cfg->fmt) * cfg->channels,
		.dev_channels = cfg->dev_channels, .paused = cfg->paused,
		.gain = cfg->volume, .gain_to = cfg->volume,
		.link = LINK_INIT,
	};
	recstream_size(r, cfg);
	err = recstream_alloc_dsp(r, cfg->dev_rate);
	if (!err)
		err = link_open(&r->link, r->ring_frames, (uint32_t)r->frame_bytes);
	if (err) {
		recstream_free(r);
		return err;
	}
	ring_init_producer(&r->ring, &r->link.hdr->ring, shm_data(r->link.hdr),
			   r->ring_frames, (uint32_t)r->frame_bytes);
	atomic_store(&r->link.hdr->request_frames, r->request_frames);
	*out = r;
	return 0;
}

void recstream_free(struct recstream *r)
{
	if (!r)
		return;
	link_close(&r->link);
	resampler_free(r->rs);
	free(r->map);
	free(r->conv);
	free(r->raw);
	free(r);
}

/* Into the ring as much as fits; the rest is the client's loss. */
static void recstream_deliver(struct recstream *r, size_t n)
{
	uint64_t room = r->paused ? 0 : ring_writable(&r->ring);
	uint64_t take = n < room ? n : room;

	if (take) {
		fmt_from_float(r->fmt, r->conv, r->raw, take * r->channels);
		ring_write(&r->ring, r->raw, take);
		r->delivered += take;
	}
	if (take < n && !r->paused)
		atomic_fetch_add(&r->link.hdr->overruns, n - take);
	r->skipped += n - take;
	r->out += n;
}

/* A new gain ramps in over the chunk: a step would click. */
static void recstream_gain(struct recstream *r, size_t n)
{
	float g0 = r->gain, step = (r->gain_to - g0) / (float)n;

	if (g0 == 1.0f && r->gain_to == 1.0f)
		return;
	for (size_t i = 0; i < n; i++)
		for (unsigned c = 0; c < r->channels; c++)
			r->map[i * r->channels + c] *= g0 + step * (float)(i + 1);
	r->gain = r->gain_to;
}

void recstream_skip(struct recstream *r, uint64_t n)
{
	uint64_t k = (uint64_t)llround((double)n * r->ratio);

	if (!r->started)
		return;
	r->out += k;
	r->skipped += k;
	if (!r->paused)
		atomic_fetch_add(&r->link.hdr->overruns, k);
}

/* Paused streams are converted too, and their output skipped: the mapping
 * from ring frames to device frames stays one straight line. */
void recstream_put(struct recstream *r, const float *dev, size_t n, uint64_t d)
{
	size_t done = 0;

	if (!r->started) {
		r->started = 1;
		r->d0 = d;
	}
	mix_map_channels(dev, r->dev_channels, r->map, r->channels, n);
	recstream_gain(r, n);
	while (done < n) {
		size_t used = 0;
		long got = resampler_process(r->rs, r->map + done * r->channels, n - done,
					     &used, r->conv, r->out_max);
		if (got < 0)
			break;	/* libsamplerate refused: drop the chunk */
		recstream_deliver(r, (size_t)got);
		if (used == 0 && got == 0)
			break;
		done += used;
	}
}

/* Ring frame W (the next to be written) is output frame `out`, device
 * frame d0 + out / ratio, sampled (that - adc) card frames after t_ns. */
void recstream_publish(struct recstream *r, uint64_t adc, int64_t t_ns,
		       unsigned dev_rate, double ratio)
{
	uint64_t w = r->out - r->skipped;
	double d = (double)r->d0 + (double)r->out / r->ratio;
	int64_t t = t_ns + (int64_t)((d - (double)adc) * NS / (dev_rate * ratio));
	uint32_t flags = SHM_POS_VALID | (r->paused ? 0 : SHM_POS_RUNNING);

	if (!r->started)
		return;
	shm_position_write(&r->link.hdr->pos, flags, w, t,
			   (uint64_t)llround(ratio * 1e6), r->latency_ns);
	if (r->delivered)
		link_wake_client(&r->link);
	r->delivered = 0;
}
