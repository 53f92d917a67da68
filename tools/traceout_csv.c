/* lull-trace's CSV. See traceout.h. */
#include "tools/traceout.h"

#include <errno.h>

/* A CSV field in quotes, quotes inside doubled (RFC 4180). */
static void traceout_csv_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int traceout_csv(const struct tracerec *r, FILE *f)
{
	char detail[256];

	fputs("t_ns,rel_s,type,a,b,c,detail,seq\n", f);
	for (size_t i = 0; i < r->n; i++) {
		const struct trace_event *e = &r->ev[i];
		fprintf(f, "%lld,%.9f,%s,%lld,%lld,%u,", (long long)e->t_ns,
			(double)(e->t_ns - r->t_start) / 1e9, trace_type_name(e->type),
			(long long)e->a, (long long)e->b, e->c);
		traceout_csv_quoted(f, tracerec_describe(r, e, detail, sizeof detail));
		fprintf(f, ",%llu\n", (unsigned long long)e->seq);
	}
	return ferror(f) ? -EIO : 0;
}
