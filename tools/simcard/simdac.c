/* Output stage of the simulated card. See simdac.h. */
#include "tools/simcard/simdac.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SIMDAC_CHUNK 1024

struct simdac {
	struct simdac_cfg cfg;
	size_t frame_bytes;
	uint8_t *latch;		/* cfg.prefetch frames, indexed by position */
	uint8_t *chunk;		/* SIMDAC_CHUNK frames on their way out */
	uint64_t played, fetched;
	uint64_t total;		/* frames played since the card was opened */
	struct wav_writer *wav;
	struct simair *air;
};

int simdac_new(struct simdac **out, const struct simdac_cfg *cfg,
	       struct wav_writer *wav, struct simair *air)
{
	struct simdac *d = calloc(1, sizeof *d);

	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	d->frame_bytes = fmt_bytes(cfg->fmt) * cfg->channels;
	d->latch = calloc(cfg->prefetch ? cfg->prefetch : 1, d->frame_bytes);
	d->chunk = calloc(SIMDAC_CHUNK, d->frame_bytes);
	d->wav = wav;
	d->air = air;
	d->total = cfg->first;
	if (!d->latch || !d->chunk) {
		simdac_free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

void simdac_free(struct simdac *d)
{
	if (!d)
		return;
	free(d->latch);
	free(d->chunk);
	free(d);
}

void simdac_reset(struct simdac *d, uint64_t pos)
{
	d->played = d->fetched = pos;
}

static const uint8_t *simdac_ring_frame(const struct simdac *d,
					const uint8_t *ring, uint64_t pos)
{
	return ring + (pos % d->cfg.buffer) * d->frame_bytes;
}

/* The air hears frame pos when the clock reaches it, plus the FIFO. */
static void simdac_to_air(struct simdac *d, const struct simclock *clk,
			  uint64_t pos, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int64_t t = simclock_when(clk, pos + i + d->cfg.fifo);
		uint64_t g = (uint64_t)((unsigned __int128)(uint64_t)t *
					d->cfg.rate / 1000000000u);
		simair_put(d->air, g, d->chunk + i * d->frame_bytes, 1);
	}
}

/* Plays [played, h) in chunks: latched frames come from the latch, the
 * rest straight from the ring (fetched and played in the same instant). */
static void simdac_play(struct simdac *d, const uint8_t *ring, uint64_t h,
			const struct simclock *clk)
{
	while (d->played < h) {
		size_t n = h - d->played < SIMDAC_CHUNK ? h - d->played : SIMDAC_CHUNK;
		for (size_t i = 0; i < n; i++) {
			uint64_t pos = d->played + i;
			const uint8_t *src = pos < d->fetched ?
				d->latch + (pos % d->cfg.prefetch) * d->frame_bytes :
				simdac_ring_frame(d, ring, pos);
			memcpy(d->chunk + i * d->frame_bytes, src, d->frame_bytes);
		}
		if (d->wav)
			wav_writer_write(d->wav, d->chunk, n);
		if (d->air)
			simdac_to_air(d, clk, d->played, n);
		d->played += n;
		d->total += n;
	}
	if (d->fetched < d->played)
		d->fetched = d->played;
}

static void simdac_fetch(struct simdac *d, const uint8_t *ring, uint64_t to)
{
	for (; d->fetched < to; d->fetched++)
		memcpy(d->latch + (d->fetched % d->cfg.prefetch) * d->frame_bytes,
		       simdac_ring_frame(d, ring, d->fetched), d->frame_bytes);
}

void simdac_run(struct simdac *d, const uint8_t *ring, uint64_t h,
		const struct simclock *clk)
{
	simdac_play(d, ring, h, clk);
	if (d->cfg.prefetch && !d->cfg.latch_all)
		simdac_fetch(d, ring, h + d->cfg.prefetch);
}

void simdac_latch(struct simdac *d, const uint8_t *ring, uint64_t to)
{
	if (!d->cfg.latch_all)
		return;
	if (to > d->played + d->cfg.prefetch)	/* cannot happen short of an xrun */
		to = d->played + d->cfg.prefetch;
	simdac_fetch(d, ring, to);
}

void simdac_stop(struct simdac *d, uint64_t h)
{
	d->fetched = h;
}

uint64_t simdac_fetched(const struct simdac *d)
{
	return d->fetched;
}

uint64_t simdac_played(const struct simdac *d)
{
	return d->played;
}

uint64_t simdac_total(const struct simdac *d)
{
	return d->total;
}
