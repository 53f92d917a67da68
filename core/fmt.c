/* Sample format conversion. See fmt.h. */
#include "core/fmt.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *alsa, *shortname, *alias;
	size_t bytes;
} fmt_table[] = {
	[FMT_S16]   = { "S16_LE",   "s16",   "s16le", 2 },
	[FMT_S24]   = { "S24_LE",   "s24",   "s24le", 4 },
	[FMT_S32]   = { "S32_LE",   "s32",   "s32le", 4 },
	[FMT_FLOAT] = { "FLOAT_LE", "float", "f32",   4 },
};

size_t fmt_bytes(enum fmt f)
{
	return fmt_table[f].bytes;
}

const char *fmt_name(enum fmt f)
{
	return fmt_table[f].alsa;
}

int fmt_parse(const char *name, enum fmt *out)
{
	for (size_t i = 0; i < sizeof fmt_table / sizeof fmt_table[0]; i++) {
		if (!strcasecmp(name, fmt_table[i].alsa) ||
		    !strcasecmp(name, fmt_table[i].shortname) ||
		    !strcasecmp(name, fmt_table[i].alias)) {
			*out = (enum fmt)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Integer full scale is 2^(bits-1); +1.0 maps to the largest positive code.
 * Doubles keep S32 exact: a float has only 24 bits of mantissa. */
static int64_t fmt_quantize(float v, double scale)
{
	double x = nearbyint((double)v * scale);

	if (x > scale - 1)
		return (int64_t)(scale - 1);
	if (x < -scale)
		return (int64_t)-scale;
	if (x != x)		/* NaN from a broken client: silence */
		return 0;
	return (int64_t)x;
}

static void fmt_s16_from_float(const float *src, int16_t *dst, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (int16_t)fmt_quantize(src[i], 32768.0);
}

static void fmt_s24_from_float(const float *src, int32_t *dst, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (int32_t)fmt_quantize(src[i], 8388608.0);
}

static void fmt_s32_from_float(const float *src, int32_t *dst, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (int32_t)fmt_quantize(src[i], 2147483648.0);
}

void fmt_from_float(enum fmt f, const float *src, void *dst, size_t n)
{
	switch (f) {
	case FMT_S16:
		fmt_s16_from_float(src, dst, n);
		break;
	case FMT_S24:
		fmt_s24_from_float(src, dst, n);
		break;
	case FMT_S32:
		fmt_s32_from_float(src, dst, n);
		break;
	case FMT_FLOAT:
		memmove(dst, src, n * sizeof(float));
		break;
	}
}

/* S24 in a 32-bit container: the top byte is sign extension, but hardware
 * ignores it, so take the low 24 bits and extend the sign ourselves. */
static int32_t fmt_s24_value(int32_t v)
{
	return (int32_t)((uint32_t)v << 8) >> 8;
}

/* Float input comes from clients: NaN and infinities would poison every
 * stream they are mixed with (NaN * 0 is still NaN), so they become
 * silence, and anything beyond full scale is clipped to it. */
static float fmt_sane(const float *p)
{
	float v;

	memcpy(&v, p, sizeof v);
	if (v != v)
		return 0;
	if (v > 1.0f)
		return 1.0f;
	return v < -1.0f ? -1.0f : v;
}

void fmt_to_float(enum fmt f, const void *src, float *dst, size_t n)
{
	const int16_t *s16 = src;
	const int32_t *s32 = src;

	for (size_t i = 0; i < n; i++) {
		switch (f) {
		case FMT_S16:
			dst[i] = (float)s16[i] / 32768.0f;
			break;
		case FMT_S24:
			dst[i] = (float)fmt_s24_value(s32[i]) / 8388608.0f;
			break;
		case FMT_S32:
			dst[i] = (float)((double)s32[i] / 2147483648.0);
			break;
		case FMT_FLOAT:
			dst[i] = fmt_sane((const float *)src + i);
			break;
		}
	}
}

void fmt_silence(enum fmt f, void *dst, size_t n)
{
	/* All four formats encode silence as all-zero bits. */
	memset(dst, 0, n * fmt_bytes(f));
}
