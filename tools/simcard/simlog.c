/* Event log of the simulated card. See simlog.h. */
#include "tools/simcard/simlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct simlog {
	int fd;
};

int simlog_open(struct simlog **out, const char *path, int append)
{
	struct simlog *log = calloc(1, sizeof *log);

	if (!log)
		return -ENOMEM;
	log->fd = -1;
	if (path && *path) {
		log->fd = open(path, O_WRONLY | O_CREAT | (append ? 0 : O_TRUNC) |
			       O_APPEND | O_CLOEXEC, 0644);
		if (log->fd < 0) {
			int err = -errno;
			free(log);
			return err;
		}
	}
	*out = log;
	return 0;
}

void simlog_close(struct simlog *log)
{
	if (!log)
		return;
	if (log->fd >= 0)
		close(log->fd);
	free(log);
}

void simlog_printf(struct simlog *log, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (!log || log->fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	/* A lost log line must not disturb the audio path: ignore errors. */
	if (write(log->fd, line, (size_t)n) < 0)
		return;
}
