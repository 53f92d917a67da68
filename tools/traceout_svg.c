/* lull-trace's SVG timeline. See traceout.h.
 *
 *   title, legend
 *   +--------------------------------------------------+
 *   | hardware fill (frames): the fill curve, the fill |  rewinds, joins,
 *   | target and the watermark                         |  leaves and xruns
 *   +--------------------------------------------------+  as vertical lines
 *   wakeups: planned (triangles) and actual (ticks by cause)
 *   events:  rewinds, underruns, pauses, joins, leaves, xruns, idle stops
 *   time axis (s from the start of the recording)
 *
 * Every mark carries a <title> (a tooltip in browsers) with its details,
 * and a class naming what it is, so a reader can also query the file. */
#include "tools/traceout.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define SVG_W 1200.0
#define SVG_ML 130.0		/* left margin: axis labels */
#define SVG_MR 30.0
#define SVG_PW (SVG_W - SVG_ML - SVG_MR)
#define SVG_FILL_Y 70.0		/* the fill plot */
#define SVG_FILL_H 300.0
#define SVG_WAKE_Y (SVG_FILL_Y + SVG_FILL_H + 20.0)	/* the wakeup lane */
#define SVG_WAKE_H 40.0
#define SVG_EV_Y (SVG_WAKE_Y + SVG_WAKE_H + 12.0)	/* the events lane */
#define SVG_EV_H 44.0
#define SVG_AXIS_Y (SVG_EV_Y + SVG_EV_H + 16.0)
#define SVG_H (SVG_AXIS_Y + 30.0)

struct traceout_svg {
	FILE *f;
	const struct tracerec *r;
	double span_ns;		/* t_end - t_start, at least 1 ms */
	double ymax;		/* frames at the top of the fill plot */
	double last_x, last_y;	/* the last point written of a polyline */
};

static const char svg_style[] =
	"<style>\n"
	"text{font:11px sans-serif;fill:#333}\n"
	".title{font:bold 14px sans-serif}\n"
	".grid{stroke:#e4e4e4;stroke-width:1}\n"
	".axis{stroke:#555;stroke-width:1;fill:none}\n"
	".fill{stroke:#1f6fc0;stroke-width:1.2;fill:none}\n"
	".target{stroke:#2a9d3a;stroke-width:1;stroke-dasharray:6 3;fill:none}\n"
	".watermark{stroke:#d0342c;stroke-width:1;stroke-dasharray:2 2;fill:none}\n"
	".wake{stroke-width:1}\n"
	".wake-timer{stroke:#1f6fc0}.wake-command{stroke:#8e44ad}"
	".wake-stream{stroke:#16a085}.wake-none{stroke:#999}\n"
	".planned{fill:none;stroke:#1f6fc0;stroke-width:1}\n"
	".late{stroke:#e67e22;stroke-width:2}\n"
	".rewind{fill:#e67e22}.rewind-line{stroke:#e67e22;stroke-opacity:.5;"
	"stroke-dasharray:3 3}\n"
	".xrun{stroke:#d0342c;stroke-width:2}\n"
	".underrun{fill:#d0342c}\n"
	".join{stroke:#2a9d3a;stroke-width:1.5}.leave{stroke:#7f8c8d;stroke-width:1.5}\n"
	".idle{stroke:#555;stroke-width:1;stroke-dasharray:1 3}\n"
	".pause,.resume,.drained,.volume{fill:#8e44ad}\n"
	"</style>\n";

/* Text for XML: markup escaped; control characters (not allowed in XML
 * 1.0) and bytes that are not UTF-8 shown as '?'. */
static void svg_text(FILE *f, const char *s)
{
	while (*s) {
		size_t n = tracerec_utf8(s);
		if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else if (n == 0 || (unsigned char)*s < 0x20)
			fputc('?', f);
		else
			fwrite(s, 1, n, f);
		s += n ? n : 1;
	}
}

static void svg_title(FILE *f, const char *s)
{
	fputs("<title>", f);
	svg_text(f, s);
	fputs("</title>", f);
}

static double svg_x(const struct traceout_svg *s, int64_t t_ns)
{
	return SVG_ML + (double)(t_ns - s->r->t_start) / s->span_ns * SVG_PW;
}

static double svg_y(const struct traceout_svg *s, double fill)
{
	if (fill > s->ymax)
		fill = s->ymax;
	return SVG_FILL_Y + SVG_FILL_H - fill / s->ymax * SVG_FILL_H;
}

/* 1, 2 or 5 times a power of ten, giving about `ticks` ticks over span. */
static double svg_step(double span, int ticks)
{
	double raw = span / ticks, p = pow(10, floor(log10(raw))), m = raw / p;

	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* --- frame: title, legend, axes ---------------------------------------------- */

static void svg_header(struct traceout_svg *s)
{
	const struct monitor_status *st = &s->r->status;
	char line[256];

	fprintf(s->f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		"viewBox=\"0 0 %.0f %.0f\">\n", SVG_W, SVG_H, SVG_W, SVG_H);
	fputs(svg_style, s->f);
	fprintf(s->f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	snprintf(line, sizeof line, "lulld on %s: %u Hz, buffer %llu frames, %.3f s",
		 s->r->have_status ? st->device : "?", st->rate,
		 (unsigned long long)st->buffer, s->span_ns / 1e9);
	fprintf(s->f, "<text class=\"title\" x=\"%.0f\" y=\"20\">", SVG_ML);
	svg_text(s->f, line);
	fputs("</text>\n", s->f);
}

static void svg_legend(struct traceout_svg *s)
{
	static const struct { const char *cls, *label; } items[] = {
		{ "fill", "hardware fill" }, { "target", "fill target" },
		{ "watermark", "watermark" }, { "wake wake-timer", "timer wakeup" },
		{ "wake wake-command", "command wakeup" },
		{ "wake wake-stream", "stream wakeup" }, { "late", "lateness" },
		{ "rewind-line", "rewind" }, { "xrun", "xrun" },
		{ "join", "join" }, { "leave", "leave" },
	};
	double x = SVG_ML;

	fputs("<g class=\"legend\">\n", s->f);
	for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
		fprintf(s->f, "<line class=\"%s\" x1=\"%.0f\" y1=\"40\" x2=\"%.0f\" y2=\"40\"/>"
			"<text x=\"%.0f\" y=\"44\">%s</text>\n", items[i].cls, x, x + 18,
			x + 22, items[i].label);
		x += 32 + 6.6 * (double)strlen(items[i].label);
	}
	fputs("</g>\n", s->f);
}

static void svg_time_axis(struct traceout_svg *s)
{
	double span_s = s->span_ns / 1e9, step = svg_step(span_s, 10);

	fputs("<g class=\"time-axis\">\n", s->f);
	for (double t = 0; t <= span_s + step * 1e-6; t += step) {
		double x = SVG_ML + t / span_s * SVG_PW;
		fprintf(s->f, "<line class=\"grid\" x1=\"%.2f\" y1=\"%.0f\" x2=\"%.2f\" "
			"y2=\"%.0f\"/><text x=\"%.2f\" y=\"%.0f\" text-anchor=\"middle\">%g</text>\n",
			x, SVG_FILL_Y, x, SVG_EV_Y + SVG_EV_H, x, SVG_AXIS_Y, t);
	}
	fprintf(s->f, "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>\n"
		"<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">time (s)</text>\n</g>\n",
		SVG_ML, SVG_EV_Y + SVG_EV_H, SVG_ML + SVG_PW, SVG_EV_Y + SVG_EV_H,
		SVG_ML + SVG_PW / 2, SVG_AXIS_Y + 18);
}

static void svg_fill_axis(struct traceout_svg *s)
{
	double step = svg_step(s->ymax, 5), rate = tracerec_rate(s->r);

	fputs("<g class=\"fill-axis\">\n", s->f);
	for (double v = 0; v <= s->ymax * (1 + 1e-9); v += step) {
		double y = svg_y(s, v);
		fprintf(s->f, "<line class=\"grid\" x1=\"%.0f\" y1=\"%.2f\" x2=\"%.0f\" "
			"y2=\"%.2f\"/><text x=\"%.0f\" y=\"%.2f\" text-anchor=\"end\">%.0f",
			SVG_ML, y, SVG_ML + SVG_PW, y, SVG_ML - 6, y + 4, v);
		if (rate > 0)
			fprintf(s->f, " (%.0f ms)", v * 1000 / rate);
		fputs("</text>\n", s->f);
	}
	fprintf(s->f, "<rect class=\"axis\" x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" "
		"height=\"%.0f\"/>\n<text x=\"14\" y=\"%.0f\" transform=\"rotate(-90 14 %.0f)\" "
		"text-anchor=\"middle\">fill (frames)</text>\n"
		"<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">wakeups</text>\n"
		"<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">events</text>\n</g>\n",
		SVG_ML, SVG_FILL_Y, SVG_PW, SVG_FILL_H, SVG_FILL_Y + SVG_FILL_H / 2,
		SVG_FILL_Y + SVG_FILL_H / 2, SVG_ML - 6, SVG_WAKE_Y + SVG_WAKE_H / 2 + 4,
		SVG_ML - 6, SVG_EV_Y + SVG_EV_H / 2 + 4);
}

/* --- the fill plot ------------------------------------------------------------ */

static void svg_fill_point(void *arg, int64_t t_ns, double fill)
{
	struct traceout_svg *s = arg;
	double x = svg_x(s, t_ns), y = svg_y(s, fill);

	/* Points on the same spot add nothing but bytes. */
	if (fabs(x - s->last_x) < 0.05 && fabs(y - s->last_y) < 0.05)
		return;
	fprintf(s->f, "%.2f,%.2f ", x, y);
	s->last_x = x;
	s->last_y = y;
}

static void svg_fill(struct traceout_svg *s)
{
	s->last_x = s->last_y = -1;
	fputs("<polyline class=\"fill\" points=\"", s->f);
	tracerec_fill_walk(s->r, 0, svg_fill_point, s);
	fputs("\"><title>hardware fill (frames)</title></polyline>\n", s->f);
}

/* A level as a step line across the plot; which: 0 target, 1 watermark. */
static void svg_level(struct traceout_svg *s, int which)
{
	const struct tracerec *r = s->r;
	double y_prev = -1;

	if (!r->nlevels)
		return;
	fprintf(s->f, "<polyline class=\"%s\" points=\"", which ? "watermark" : "target");
	for (size_t i = 0; i < r->nlevels; i++) {
		const struct tracerec_level *l = &r->levels[i];
		double y = svg_y(s, (double)(which ? l->watermark : l->target));
		double x = i ? fmin(fmax(svg_x(s, l->t_ns), SVG_ML), SVG_ML + SVG_PW) : SVG_ML;
		if (y == y_prev)
			continue;
		if (y_prev >= 0)
			fprintf(s->f, "%.2f,%.2f ", x, y_prev);
		fprintf(s->f, "%.2f,%.2f ", x, y);
		y_prev = y;
	}
	fprintf(s->f, "%.2f,%.2f\">", SVG_ML + SVG_PW, y_prev);
	svg_title(s->f, which ? "watermark (frames)" : "fill target (frames)");
	fputs("</polyline>\n", s->f);
}

/* --- marks -------------------------------------------------------------------- */

static const char *svg_wake_class(uint32_t c)
{
	if (c & WAKE_TIMER)
		return "wake-timer";
	if (c & WAKE_COMMAND)
		return "wake-command";
	return c & WAKE_STREAM ? "wake-stream" : "wake-none";
}

static void svg_wake(struct traceout_svg *s, const struct trace_event *e,
		     int64_t prev_wake, const char *detail)
{
	double x = svg_x(s, e->t_ns), y = SVG_WAKE_Y + SVG_WAKE_H / 2;

	fprintf(s->f, "<line class=\"wake %s\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" "
		"y2=\"%.1f\">", svg_wake_class(e->c), x, y, x, SVG_WAKE_Y + SVG_WAKE_H);
	svg_title(s->f, detail);
	fputs("</line>\n", s->f);
	if (!tracerec_wake_planned(e, prev_wake))
		return;
	/* The plan: a triangle pointing down at the planned time; the gap to
	 * the actual wakeup, if wide enough to see, in the lateness colour. */
	fprintf(s->f, "<path class=\"planned\" d=\"M%.2f,%.1f l-3,-6 h6 z\">",
		svg_x(s, e->a), y - 2);
	svg_title(s->f, detail);
	fputs("</path>\n", s->f);
	if (x - svg_x(s, e->a) >= 1)
		fprintf(s->f, "<line class=\"late\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" "
			"y2=\"%.1f\"/>\n", svg_x(s, e->a), y, x, y);
}

/* A vertical line through the fill plot and a label in the events lane,
 * on its bottom row (0) or the one above (1). */
static void svg_marker(struct traceout_svg *s, const char *cls, int64_t t_ns, int row,
		       const char *label, const char *detail)
{
	double x = svg_x(s, t_ns);
	/* Near the right edge the label goes to the left of its line. */
	int left = x > SVG_ML + SVG_PW - 80;

	fprintf(s->f, "<g class=\"%s\"><line class=\"%s\" x1=\"%.2f\" y1=\"%.0f\" "
		"x2=\"%.2f\" y2=\"%.0f\"/><text x=\"%.2f\" y=\"%.0f\"%s>", cls, cls, x,
		SVG_FILL_Y, x, SVG_EV_Y + SVG_EV_H, left ? x - 2 : x + 2,
		SVG_EV_Y + SVG_EV_H - 4 - 12 * row, left ? " text-anchor=\"end\"" : "");
	svg_text(s->f, label);
	fputs("</text>", s->f);
	svg_title(s->f, detail);
	fputs("</g>\n", s->f);
}

/* A small shape in the events lane: row 0 top, 1 middle. */
static void svg_dot(struct traceout_svg *s, const char *cls, int64_t t_ns, int row,
		    const char *detail)
{
	fprintf(s->f, "<circle class=\"%s\" cx=\"%.2f\" cy=\"%.0f\" r=\"3\">", cls,
		svg_x(s, t_ns), SVG_EV_Y + 6 + 12 * row);
	svg_title(s->f, detail);
	fputs("</circle>\n", s->f);
}

static void svg_rewind(struct traceout_svg *s, const struct trace_event *e,
		       const char *detail)
{
	double x = svg_x(s, e->t_ns);

	fprintf(s->f, "<g class=\"rewind\"><line class=\"rewind-line\" x1=\"%.2f\" "
		"y1=\"%.0f\" x2=\"%.2f\" y2=\"%.0f\"/><path class=\"rewind\" "
		"d=\"M%.2f,%.0f l-4,-7 h8 z\"/>", x, SVG_FILL_Y, x, SVG_FILL_Y + SVG_FILL_H,
		x, SVG_EV_Y + 8);
	svg_title(s->f, detail);
	fputs("</g>\n", s->f);
}

static void svg_event(struct traceout_svg *s, const struct trace_event *e,
		      int64_t prev_wake)
{
	char detail[256], label[96];

	tracerec_describe(s->r, e, detail, sizeof detail);
	snprintf(label, sizeof label, "%s %lld", trace_type_name(e->type), (long long)e->a);
	switch (e->type) {
	case TRACE_WAKE:
		svg_wake(s, e, prev_wake, detail);
		break;
	case TRACE_REWIND:
		svg_rewind(s, e, detail);
		break;
	case TRACE_XRUN:
		svg_marker(s, "xrun", e->t_ns, 1, "xrun", detail);
		break;
	case TRACE_IDLE:
		svg_marker(s, "idle", e->t_ns, 1, e->a ? "idle" : "awake", detail);
		break;
	case TRACE_JOIN:
	case TRACE_LEAVE:
		svg_marker(s, trace_type_name(e->type), e->t_ns, 0, label, detail);
		break;
	case TRACE_UNDERRUN:
		svg_dot(s, "underrun", e->t_ns, 1, detail);
		break;
	case TRACE_PAUSE:
		svg_dot(s, e->b ? "pause" : "resume", e->t_ns, 2, detail);
		break;
	case TRACE_VOLUME:
	case TRACE_DRAINED:
		svg_dot(s, trace_type_name(e->type), e->t_ns, 2, detail);
		break;
	default:
		break;
	}
}

/* The top of the plot: the buffer, or whatever was seen above it. */
static double svg_ymax(const struct tracerec *r)
{
	double m = r->have_status ? (double)r->status.buffer : 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->ev[i].type == TRACE_FILL && (double)r->ev[i].b > m)
			m = (double)r->ev[i].b;
	for (size_t i = 0; i < r->nlevels; i++)
		if ((double)r->levels[i].target > m)
			m = (double)r->levels[i].target;
	return m > 0 ? m : 1;
}

int traceout_svg(const struct tracerec *r, FILE *f)
{
	struct traceout_svg s = { .f = f, .r = r, .ymax = svg_ymax(r) };
	int64_t prev_wake = 0;

	s.span_ns = (double)(r->t_end - r->t_start);
	if (s.span_ns < 1e6)
		s.span_ns = 1e6;
	svg_header(&s);
	svg_legend(&s);
	svg_time_axis(&s);
	svg_fill_axis(&s);
	svg_level(&s, 0);
	svg_level(&s, 1);
	svg_fill(&s);
	fputs("<g class=\"events\">\n", f);
	for (size_t i = 0; i < r->n; i++) {
		svg_event(&s, &r->ev[i], prev_wake);
		if (r->ev[i].type == TRACE_WAKE)
			prev_wake = r->ev[i].t_ns;
	}
	fputs("</g>\n</svg>\n", f);
	return ferror(f) ? -EIO : 0;
}
