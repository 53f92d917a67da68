/* What lull-play and lull-rec share on the command line: numbers, sample
 * format names, and connecting to lulld with a message that says where
 * it looked. */
#ifndef LULL_CLI_H
#define LULL_CLI_H

#include <stddef.h>

#include "client/lull.h"

/* A decimal integer in lo..hi, nothing else. 0 or -EINVAL. */
int cli_uint(const char *s, unsigned lo, unsigned hi, unsigned *out);
/* s16, s24, s32 or float (any case). 0 or -EINVAL. */
int cli_format(const char *s, enum lull_format *f);
/* Bytes of one sample in liblull's layout (s24 in 4 bytes). */
size_t cli_sample_bytes(enum lull_format f);
/* lull_connect; on failure prints "PROG: cannot connect to lulld at
 * PATH: why" (and a hint when nothing listens). Returns its error. */
int cli_connect(struct lull **l, const char *prog, const char *socket,
		const char *name);

#endif
