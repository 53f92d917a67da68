/* The simulated card's output stage: a DMA engine that fetches frames from
 * the ALSA ring buffer ahead of the play position, a latch that holds what
 * it fetched, and a DAC that "plays" each frame into a WAV file and into
 * the loopback air when the card's clock reaches it.
 *
 *     ring:  ... | played | latched (fetched, not yet played) | unfetched ...
 *                ^played  ^                                   ^fetched
 *                         h (true DMA position)               h + prefetch
 *
 * Frames are read from the ring when fetched; rewriting them afterwards
 * (a rewind that came too late) is not heard. */
#ifndef LULL_SIMDAC_H
#define LULL_SIMDAC_H

#include <stdint.h>

#include "core/fmt.h"
#include "core/wav.h"
#include "tools/simcard/simair.h"
#include "tools/simcard/simclock.h"

struct simdac_cfg {
	unsigned rate, channels;
	enum fmt fmt;
	uint64_t buffer;	/* ring size, frames */
	uint64_t prefetch;	/* frames fetched ahead of the position */
	uint64_t fifo;		/* frames between the DAC and the air */
	int latch_all;		/* the DMA fetches every frame as soon as it is
				 * written (simdac_latch), none ahead of that:
				 * no rewind is ever heard; prefetch = buffer */
	uint64_t first;		/* frames already in the WAV (APPEND) */
};

struct simdac;

/* wav and air may be NULL; they stay owned by the caller. */
int simdac_new(struct simdac **out, const struct simdac_cfg *cfg,
	       struct wav_writer *wav, struct simair *air);
void simdac_free(struct simdac *d);

/* Positions restart at pos (prepare); the latch is emptied. */
void simdac_reset(struct simdac *d, uint64_t pos);
/* Plays every frame before h and fetches up to h + prefetch. */
void simdac_run(struct simdac *d, const uint8_t *ring, uint64_t h,
		const struct simclock *clk);
/* latch_all: fetches every frame before `to` (what has been written). */
void simdac_latch(struct simdac *d, const uint8_t *ring, uint64_t to);
/* The card stopped at h: fetched frames beyond it are never played. */
void simdac_stop(struct simdac *d, uint64_t h);

uint64_t simdac_fetched(const struct simdac *d);
uint64_t simdac_played(const struct simdac *d);
/* Frames played since creation, plus cfg.first: the WAV file's frame
 * count. */
uint64_t simdac_total(const struct simdac *d);

#endif
