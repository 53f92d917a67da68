/* What the simulated card's input hears: a sine, silence, a WAV file
 * (looped, taken at the card's rate), or the card's own output through
 * the loopback air. */
#ifndef LULL_SIMSRC_H
#define LULL_SIMSRC_H

#include <stddef.h>
#include <stdint.h>

#include "core/fmt.h"
#include "tools/simcard/simclock.h"

enum simsrc_kind {
	SIMSRC_SINE,
	SIMSRC_SILENCE,
	SIMSRC_WAV,
	SIMSRC_LOOP,
};

struct simsrc_cfg {
	enum simsrc_kind kind;
	double freq, amp;
	const char *path;	/* SIMSRC_WAV */
	const char *loop;	/* SIMSRC_LOOP: air name */
};

struct simsrc;

int simsrc_open(struct simsrc **out, const struct simsrc_cfg *cfg,
		unsigned rate, unsigned channels, enum fmt fmt);
void simsrc_close(struct simsrc *s);

/* Capture frames at card positions [hw, hw + n) whose sound exists now:
 * the loopback waits for the air to be written; the rest is always there. */
uint64_t simsrc_ready(struct simsrc *s, const struct simclock *clk,
		      uint64_t hw, uint64_t n);

/* Writes n frames in card format. `index` counts frames captured since the
 * card was opened (sine phase comes from it); hw is the card position of
 * the first frame, whose time the clock tells (loopback reads the air then). */
void simsrc_fill(struct simsrc *s, const struct simclock *clk, uint64_t index,
		 uint64_t hw, void *dst, size_t n);

#endif
