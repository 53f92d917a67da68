/* The simulated card's event log: one text line per event, "name k=v ...",
 * written with a single write() each so concurrent readers never see half
 * a line. The format is documented in README.md. */
#ifndef LULL_SIMLOG_H
#define LULL_SIMLOG_H

#include <stdint.h>

struct simlog;

/* A NULL or empty path gives a log that drops everything. append: keep
 * what an earlier handle logged there. */
int simlog_open(struct simlog **out, const char *path, int append);
void simlog_close(struct simlog *log);
void simlog_printf(struct simlog *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
