/* lull-trace's output formats, each written from a finished recording
 * (tools/tracerec.h). Each returns 0 or -errno (-EIO: the stream failed). */
#ifndef LULL_TRACEOUT_H
#define LULL_TRACEOUT_H

#include <stdio.h>

#include "tools/tracerec.h"

/* One event per line: t_ns, rel_s, type, a, b, c, detail, seq. */
int traceout_csv(const struct tracerec *r, FILE *f);
/* Chrome / Perfetto trace-event JSON (chrome://tracing, ui.perfetto.dev). */
int traceout_json(const struct tracerec *r, FILE *f);
/* An SVG timeline: fill, levels, wakeups, rewinds, xruns, streams. */
int traceout_svg(const struct tracerec *r, FILE *f);

#endif
