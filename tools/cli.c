/* The command line of the client tools. See cli.h. */
#include "tools/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

int cli_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int cli_format(const char *s, enum lull_format *f)
{
	static const char *const names[] = {
		[LULL_S16] = "s16", [LULL_S24] = "s24",
		[LULL_S32] = "s32", [LULL_FLOAT] = "float",
	};

	for (int i = LULL_S16; i <= LULL_FLOAT; i++) {
		if (!strcasecmp(s, names[i])) {
			*f = (enum lull_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

size_t cli_sample_bytes(enum lull_format f)
{
	return f == LULL_S16 ? 2 : 4;
}

/* Where liblull looks for lulld, as it does. */
static const char *cli_socket_name(const char *socket, char *buf, size_t len)
{
	const char *env = getenv("LULL_SOCKET"), *xdg = getenv("XDG_RUNTIME_DIR");

	if (socket)
		return socket;
	if (env && *env)
		return env;
	if (!xdg)
		return "(none: neither LULL_SOCKET nor XDG_RUNTIME_DIR is set)";
	snprintf(buf, len, "%s/lull/socket", xdg);
	return buf;
}

int cli_connect(struct lull **l, const char *prog, const char *socket,
		const char *name)
{
	char path[PATH_MAX];
	int err = lull_connect(l, socket, name);

	if (!err)
		return 0;
	fprintf(stderr, "%s: cannot connect to lulld at %s: %s\n", prog,
		cli_socket_name(socket, path, sizeof path), lull_strerror(err));
	if (err == LULL_ENOSERVER)
		fprintf(stderr, "%s: is lulld running?\n", prog);
	return err;
}
