/* Sample formats and their conversion to and from float.
 *
 * lull speaks four little-endian sample formats. S24 is 24 bits in a 32-bit
 * container, low-aligned (ALSA's S24_LE). Float is [-1, 1]; conversion to
 * integers rounds to nearest and clamps, so a mix that overshoots saturates
 * instead of wrapping. */
#ifndef LULL_FMT_H
#define LULL_FMT_H

#include <stddef.h>

enum fmt {
	FMT_S16,
	FMT_S24,
	FMT_S32,
	FMT_FLOAT,
};

/* Bytes one sample takes in memory. */
size_t fmt_bytes(enum fmt f);

/* "s16", "S16_LE", "s24", "S24_LE", "s32", "S32_LE", "float", "FLOAT_LE",
 * "f32" (case-insensitive). Returns 0 or -EINVAL. */
int fmt_parse(const char *name, enum fmt *out);

/* ALSA-style name: "S16_LE", "S24_LE", "S32_LE", "FLOAT_LE". */
const char *fmt_name(enum fmt f);

/* n samples (not frames). Float input is made safe: NaN becomes 0 and
 * values beyond [-1, 1] (infinities included) are clipped. */
void fmt_to_float(enum fmt f, const void *src, float *dst, size_t n);
void fmt_from_float(enum fmt f, const float *src, void *dst, size_t n);

/* Writes n samples of silence. */
void fmt_silence(enum fmt f, void *dst, size_t n);

#endif
