/* The writing side of lulld's monitor (ipc/monitor.h): the audio thread's
 * binary trace events and status page, in a sealed memfd that tools map
 * read-only. The audio thread never formats text; tools do. */
#ifndef LULL_TRACE_H
#define LULL_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "ipc/monitor.h"

struct trace {
	int fd;
	struct monitor *m;
};

int trace_open(struct trace *t);
void trace_close(struct trace *t);
/* A new read-only descriptor of the same memory, for a tool. */
int trace_reader_fd(const struct trace *t);

void trace_put(struct trace *t, uint32_t type, int64_t a, int64_t b, uint32_t c);

/* The status page, under its sequence lock: begin, fill in, end. */
struct monitor_status *trace_status_begin(struct trace *t);
void trace_status_end(struct trace *t);

#endif
