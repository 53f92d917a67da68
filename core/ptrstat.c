/* Pointer statistics. See ptrstat.h for the model; the maths is commented
 * where it happens. Times are ns on CLOCK_MONOTONIC, positions frames. */
#include "core/ptrstat.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- series ------------------------------------------------------------ */

int ptrstat_series_init(struct ptrstat_series *s, size_t cap)
{
	memset(s, 0, sizeof(*s));
	s->s = calloc(cap ? cap : 1, sizeof(*s->s));
	if (!s->s)
		return -ENOMEM;
	s->cap = cap ? cap : 1;
	return 0;
}

void ptrstat_series_free(struct ptrstat_series *s)
{
	free(s->s);
	s->s = NULL;
	s->n = s->cap = 0;
}

int ptrstat_series_add(struct ptrstat_series *s, const struct ptrstat_sample *x)
{
	if (s->n >= s->cap)
		return -ENOSPC;
	s->s[s->n++] = *x;
	return 0;
}

/* --- small statistics helpers ----------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* q-quantile (0..1) of a sorted array, nearest rank. */
static double quantile(const double *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return NAN;
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static int64_t quantile_i64(const int64_t *v, size_t n, double q)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static double sorted_quantile(double *v, size_t n, double q)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return quantile(v, n, q);
}

static double t_mid(const struct ptrstat_sample *x)
{
	return 0.5 * ((double)x->t_lo + (double)x->t_hi);
}

/* --- the working set of one analysis ----------------------------------- */

struct work {
	const struct ptrstat_series *s;
	size_t *keep;		/* clean samples, in time order */
	unsigned *seg;		/* segment number of each kept sample */
	uint8_t *onset;		/* kept sample starts a stall */
	size_t k;
	double *d;		/* scratch, one per sample */
	int64_t *steps;		/* pointer steps between kept samples */
	size_t nsteps;
	unsigned fit_seg;	/* segment the line is fitted on */
	double g_ns;		/* granularity in ns */
};

static const struct ptrstat_sample *kept(const struct work *w, size_t j)
{
	return &w->s->s[w->keep[j]];
}

/* Is kept sample j the first of its segment (no step into it)? */
static bool seg_first(const struct work *w, size_t j)
{
	return j == 0 || w->seg[j] != w->seg[j - 1];
}

static int work_init(struct work *w, const struct ptrstat_series *s)
{
	memset(w, 0, sizeof(*w));
	w->s = s;
	w->keep = calloc(s->n, sizeof(*w->keep));
	w->seg = calloc(s->n, sizeof(*w->seg));
	w->onset = calloc(s->n, sizeof(*w->onset));
	w->d = calloc(s->n, sizeof(*w->d));
	w->steps = calloc(s->n, sizeof(*w->steps));
	if (!w->keep || !w->seg || !w->onset || !w->d || !w->steps)
		return -ENOMEM;
	return 0;
}

static void work_free(struct work *w)
{
	free(w->keep);
	free(w->seg);
	free(w->onset);
	free(w->d);
	free(w->steps);
}

/* --- cleaning: jumps and backward moves -------------------------------- */

/* A read with avail > buffer claims the card played audio never written:
 * a bogus read, counted and dropped. A read lower than the one before
 * means the pointer went backwards; the reads above it since the last
 * lower one were a forward spike (or the card really went back), so they
 * are dropped from the edge analysis, which wants a monotonic pointer. */
static void clean_one(struct work *w, struct ptrstat_report *r, size_t i,
		      unsigned *segno, size_t *first)
{
	const struct ptrstat_sample *x = &w->s->s[i];

	if (x->avail > w->s->buffer) {
		r->jumps++;
		if (x->avail - w->s->buffer > r->jump_max)
			r->jump_max = x->avail - w->s->buffer;
		return;
	}
	if ((x->flags & PTRSTAT_RESTART) && w->k > *first) {
		++*segno;
		*first = w->k;
	}
	if (w->k > *first && x->pos < kept(w, w->k - 1)->pos) {
		int64_t back = kept(w, w->k - 1)->pos - x->pos;

		r->backward++;
		if (back > r->backward_max)
			r->backward_max = back;
		while (w->k > *first && kept(w, w->k - 1)->pos > x->pos)
			w->k--;
	}
	w->seg[w->k] = *segno;
	w->keep[w->k++] = i;
}

static void clean(struct work *w, struct ptrstat_report *r)
{
	unsigned segno = 0;
	size_t first = 0;

	for (size_t i = 0; i < w->s->n; i++)
		clean_one(w, r, i, &segno, &first);
}

/* --- granularity ------------------------------------------------------- */

static void collect_steps(struct work *w)
{
	for (size_t j = 1; j < w->k; j++) {
		int64_t d = kept(w, j)->pos - kept(w, j - 1)->pos;

		if (!seg_first(w, j) && d > 0)
			w->steps[w->nsteps++] = d;
	}
}

/* Fills the histogram of the most frequent steps from sorted steps, and
 * returns the most frequent one (the smallest among ties). */
static int64_t step_histogram(const int64_t *v, size_t n,
			      struct ptrstat_report *r)
{
	int64_t mode = v[0];
	size_t best = 0;

	r->hist_n = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && v[j] == v[i])
			j++;
		if (j - i > best) {
			best = j - i;
			mode = v[i];
		}
		/* insert into the top list, kept sorted by count */
		size_t at = r->hist_n < PTRSTAT_HIST ? r->hist_n++ : PTRSTAT_HIST;
		while (at > 0 && r->hist[at - 1].count < j - i) {
			if (at < PTRSTAT_HIST)
				r->hist[at] = r->hist[at - 1];
			at--;
		}
		if (at < PTRSTAT_HIST)
			r->hist[at] = (struct ptrstat_step_count){ v[i], j - i };
		i = j;
	}
	return mode;
}

static bool divides_most(const int64_t *v, size_t n, int64_t d)
{
	size_t ok = 0;

	for (size_t i = 0; i < n; i++)
		ok += v[i] % d == 0;
	return (double)ok >= 0.99 * (double)n;
}

/* The largest divisor of the most frequent step that divides 99 % of all
 * steps. Divisors are tried from the top: sqrt(mode) trial divisions. */
static int64_t find_quantum(const int64_t *v, size_t n, int64_t mode)
{
	int64_t best = 1;

	for (int64_t d = 1; d * d <= mode; d++) {
		if (mode % d)
			continue;
		if (mode / d > best && divides_most(v, n, mode / d))
			return mode / d;	/* the largest: done */
		if (d > best && divides_most(v, n, d))
			best = d;
	}
	return best;
}

static double median_interval_ns(const struct ptrstat_series *s, double *d)
{
	size_t m = 0;

	for (size_t i = 1; i < s->n; i++)
		d[m++] = t_mid(&s->s[i]) - t_mid(&s->s[i - 1]);
	return m ? sorted_quantile(d, m, 0.5) : 0.0;
}

static void granularity(struct work *w, struct ptrstat_report *r)
{
	int64_t *v = w->steps;
	size_t n = w->nsteps;
	double per_read;

	r->quantum = r->granularity = 1;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_i64);
	r->step_min = v[0];
	r->step_max = v[n - 1];
	r->step_p10 = quantile_i64(v, n, 0.10);
	r->step_p50 = quantile_i64(v, n, 0.50);
	r->quantum = find_quantum(v, n, step_histogram(v, n, r));
	/* Frames one sampling interval explains; steps far above it on a
	 * pointer without a common quantum mean an irregular coarse one. */
	per_read = r->interval_us * 1e-6 * w->s->rate;
	r->granularity = r->quantum;
	if (r->quantum == 1 && (double)r->step_p10 > 2.0 * per_read + 2.0)
		r->granularity = r->step_p10;
}

static void update_interval(struct work *w, struct ptrstat_report *r)
{
	size_t m = 0;
	double last = NAN;

	for (size_t j = 1; j < w->k; j++) {
		if (seg_first(w, j)) {
			last = NAN;
			continue;
		}
		if (kept(w, j)->pos == kept(w, j - 1)->pos)
			continue;
		if (!isnan(last))
			w->d[m++] = t_mid(kept(w, j)) - last;
		last = t_mid(kept(w, j));
	}
	r->update_us = m ? sorted_quantile(w->d, m, 0.5) / 1e3 : NAN;
}

/* --- the line ---------------------------------------------------------- */

struct edge {
	double x;		/* position - p0, frames */
	double lo, hi;		/* interval of the instant, ns - t0 */
};

struct edges {
	struct edge *e;
	size_t n;
	int64_t p0;
	double t0;
};

/* The segment with the most kept samples carries the fit. */
static unsigned longest_segment(const struct work *w)
{
	unsigned best = 0;
	size_t best_n = 0, run = 0;

	for (size_t j = 0; j < w->k; j++) {
		run = seg_first(w, j) ? 1 : run + 1;
		if (run > best_n) {
			best_n = run;
			best = w->seg[j];
		}
	}
	return best;
}

/* The instant kept sample j's pointer reached its value lies after the
 * previous read started (it showed less) and no earlier than one granule
 * before this read started (the true position is within a granule of
 * what it reads); and before this read ended. */
static struct edge edge_at(const struct work *w, size_t j, int64_t p0,
			   double t0)
{
	const struct ptrstat_sample *a = kept(w, j - 1), *b = kept(w, j);
	double lo = fmax((double)a->t_lo, (double)b->t_lo - w->g_ns);

	return (struct edge){ (double)(b->pos - p0), lo - t0,
			      (double)b->t_hi - t0 };
}

/* Is kept sample j the last edge of its segment? How long the value it
 * shows lasted is unknown (the series ends), so it could be the start of
 * a stall too short to see: it is left out. */
static bool last_edge(const struct work *w, size_t j)
{
	for (size_t i = j + 1; i < w->k && w->seg[i] == w->seg[j]; i++)
		if (kept(w, i)->pos != kept(w, j)->pos)
			return false;
	return true;
}

static int collect_edges(struct work *w, struct edges *es)
{
	es->e = calloc(w->k ? w->k : 1, sizeof(*es->e));
	es->n = 0;
	if (!es->e)
		return -ENOMEM;
	for (size_t j = 1; j < w->k; j++) {
		if (w->seg[j] != w->fit_seg || seg_first(w, j) || w->onset[j] ||
		    kept(w, j)->pos == kept(w, j - 1)->pos || last_edge(w, j))
			continue;
		if (!es->n) {
			es->p0 = kept(w, j)->pos;
			es->t0 = (double)kept(w, j - 1)->t_lo;
		}
		es->e[es->n++] = edge_at(w, j, es->p0, es->t0);
	}
	return 0;
}

struct line {
	double a, b;		/* t = a + b * x */
};

static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Weighted least squares of targets y against the edges' x. An edge's
 * mid-point is uniform within its interval (variance width^2 / 12) and
 * the pointer's own jitter adds s2 (ns^2): weight 1 / (width^2 / 12 + s2)
 * keeps the few wide intervals (the sampler was descheduled for
 * milliseconds) from steering the line of an exact pointer, yet weighs a
 * jittery pointer's edges about equally. */
static double edge_weight(const struct edge *e, double s2)
{
	double w = e->hi - e->lo;

	return 1.0 / (w * w / 12.0 + s2 + 1e6);	/* + (1 us)^2: never 1/0 */
}

static struct line least_squares(const struct edges *es, const double *y,
				 const double *wt)
{
	double sw = 0, mx = 0, my = 0, sxx = 0, sxy = 0;
	struct line l;

	for (size_t i = 0; i < es->n; i++) {
		sw += wt[i];
		mx += wt[i] * es->e[i].x;
		my += wt[i] * y[i];
	}
	mx /= sw;
	my /= sw;
	for (size_t i = 0; i < es->n; i++) {
		double dx = es->e[i].x - mx;

		sxx += wt[i] * dx * dx;
		sxy += wt[i] * dx * (y[i] - my);
	}
	l.b = sxx > 0 ? sxy / sxx : 0;
	l.a = my - l.b * mx;
	return l;
}

static void base_weights(const struct edges *es, double s2, double *wt)
{
	for (size_t i = 0; i < es->n; i++)
		wt[i] = edge_weight(&es->e[i], s2);
}

/* The pointer's own scatter beyond what the intervals explain: the
 * robust variance of the mid-points about the line (1.4826 MAD squared)
 * less the typical interval's share; *w2: the typical interval's width
 * squared. tmp has room for n doubles. */
static double excess_variance(const struct edges *es, const double *y,
			      struct line l, double *tmp, double *w2)
{
	double sd, w;

	for (size_t i = 0; i < es->n; i++)
		tmp[i] = fabs(y[i] - (l.a + l.b * es->e[i].x));
	sd = 1.4826 * sorted_quantile(tmp, es->n, 0.5);
	for (size_t i = 0; i < es->n; i++)
		tmp[i] = es->e[i].hi - es->e[i].lo;
	w = sorted_quantile(tmp, es->n, 0.5);
	*w2 = w * w;
	return fmax(0.0, sd * sd - w * w / 12.0);
}

/* Least absolute deviations by iteratively reweighted least squares
 * (weight / |residual|, floored at 1 us). A pointer that jitters but
 * never goes backwards scatters its edges with a long one-sided tail
 * (see centre()), which pulls a least-squares slope by tens of ppm; the
 * median line it converges to is not pulled. */
static struct line least_deviations(const struct edges *es, const double *y,
				    const double *base, double *wt, struct line l)
{
	for (int it = 0; it < 20; it++) {
		for (size_t i = 0; i < es->n; i++)
			wt[i] = base[i] / fmax(fabs(y[i] - (l.a + l.b * es->e[i].x)), 1e3);
		l = least_squares(es, y, wt);
	}
	return l;
}

/* Moves the intercept by alternating projections (each target to the
 * point of its interval nearest the line, re-average): this minimises
 * the squared distance from the line to the intervals, so a line that
 * fits inside every interval ends with zero residuals. */
static struct line project_intercept(const struct edges *es, struct line l)
{
	for (int it = 0; it < 30; it++) {
		double a = 0;

		for (size_t i = 0; i < es->n; i++) {
			double t = l.a + l.b * es->e[i].x;

			a += clampd(t, es->e[i].lo, es->e[i].hi) - l.b * es->e[i].x;
		}
		a /= (double)es->n;
		if (fabs(a - l.a) < 1.0)
			break;
		l.a = a;
	}
	return l;
}

/* The slope comes from the interval mid-points: each is off the true line
 * by at most half its interval, without bias (the probe dithers its reads
 * so edges fall anywhere in them), so over a few hundred edges the slope
 * is good to a few ppm even for a coarse pointer. Weighted least squares
 * first, to size the pointer's own scatter; when that scatter dominates
 * the intervals, least absolute deviations with those weights (for the
 * uniform errors of an exact pointer, least squares is the better one);
 * then the intercept. scratch holds 3n doubles. */
static struct line fit_intervals(const struct edges *es, double *scratch)
{
	double *y = scratch, *base = scratch + es->n, *wt = scratch + 2 * es->n;
	struct line l;

	for (size_t i = 0; i < es->n; i++)
		y[i] = 0.5 * (es->e[i].lo + es->e[i].hi);
	double s2, w2;

	base_weights(es, 0, base);
	l = least_squares(es, y, base);
	s2 = excess_variance(es, y, l, wt, &w2);
	base_weights(es, s2, base);
	l = least_squares(es, y, base);
	if (s2 > w2 / 12.0)	/* the pointer's scatter dominates */
		l = least_deviations(es, y, base, wt, l);
	return project_intercept(es, l);
}

/* Residual of edge i: observed instant minus the line's, ns; positive
 * when the pointer reached the position later than the line says. */
static double residual(const struct edge *e, struct line l)
{
	double t = l.a + l.b * e->x;

	return clampd(t, e->lo, e->hi) - t;
}

static void residuals(const struct edges *es, struct line l, double *r)
{
	for (size_t i = 0; i < es->n; i++)
		r[i] = residual(&es->e[i], l);
}

/* A pointer that jitters within +-J but never goes backwards shows its
 * late readings more often than its early ones (an early reading below
 * the last is not an edge), which drags a least-squares line. Centring
 * the line between the 1st and 99th percentile residuals puts it back in
 * the middle of the band, so +-J reads as J. */
static struct line centre(const struct edges *es, struct line l, double *r)
{
	residuals(es, l, r);
	qsort(r, es->n, sizeof(*r), cmp_double);
	l.a += 0.5 * (quantile(r, es->n, 0.01) + quantile(r, es->n, 0.99));
	return l;
}

static void jitter_stats(const struct edges *es, struct line l, double *r,
			 struct ptrstat_report *rep)
{
	residuals(es, l, r);
	for (size_t i = 0; i < es->n; i++)
		r[i] = fabs(r[i]);
	qsort(r, es->n, sizeof(*r), cmp_double);
	rep->jitter_p50_us = quantile(r, es->n, 0.50) / 1e3;
	rep->jitter_p99_us = quantile(r, es->n, 0.99) / 1e3;
	rep->jitter_max_us = r[es->n - 1] / 1e3;
	for (size_t i = 0; i < es->n; i++)
		r[i] = 0.5 * (es->e[i].hi - es->e[i].lo);
	rep->resolution_us = sorted_quantile(r, es->n, 0.5) / 1e3;
}

static void set_fit(struct ptrstat_report *r, const struct edges *es,
		    struct line l, unsigned rate)
{
	r->fit = (struct ptrstat_fit){ es->t0 + l.a, es->p0, l.b, true };
	r->rate_hz = l.b > 0 ? 1e9 / l.b : NAN;
	r->drift_ppm = (r->rate_hz / rate - 1.0) * 1e6;
}

static int fit_line(struct work *w, struct ptrstat_report *r)
{
	struct edges es = { 0 };
	struct line l;

	w->fit_seg = longest_segment(w);
	if (collect_edges(w, &es) < 0)
		return -ENOMEM;
	r->edges = es.n;
	if (es.n >= 3) {
		double *scratch = calloc(3 * es.n, sizeof(*scratch));

		if (!scratch) {
			free(es.e);
			return -ENOMEM;
		}
		l = fit_intervals(&es, scratch);
		free(scratch);
		l = centre(&es, l, w->d);
		jitter_stats(&es, l, w->d, r);
		set_fit(r, &es, l, w->s->rate);
	}
	free(es.e);
	return 0;
}

double ptrstat_fit_time(const struct ptrstat_fit *f, int64_t pos)
{
	return f->t0_ns + (double)(pos - f->p0) * f->ns_per_frame;
}

/* --- stalls ------------------------------------------------------------ */

/* A pointer is expected to stay still for at most one granule plus its
 * jitter band. Twice that, plus 2 ms or four sampling intervals for the
 * reads themselves, is the threshold. The observed still time runs from
 * the end of the first read of a value to the start of the last one, so
 * a sampler that was itself descheduled never fakes a stall. */
static double stall_threshold_ns(const struct work *w,
				 const struct ptrstat_report *r)
{
	double jit = isnan(r->jitter_p99_us) ? 0 : r->jitter_p99_us * 1e3;

	return 2.0 * (w->g_ns + 2.0 * jit) +
	       fmax(2e6, 4.0 * r->interval_us * 1e3);
}

static void note_stall(struct ptrstat_report *r, double ns)
{
	r->stalls++;
	r->stall_total_ms += ns / 1e6;
	if (ns / 1e6 > r->stall_max_ms)
		r->stall_max_ms = ns / 1e6;
}

static void stalls(struct work *w, struct ptrstat_report *r)
{
	double thr = stall_threshold_ns(w, r);
	size_t first = 0;

	r->stall_threshold_ms = thr / 1e6;
	for (size_t j = 1; j <= w->k; j++) {
		if (j < w->k && !seg_first(w, j) &&
		    kept(w, j)->pos == kept(w, first)->pos)
			continue;
		/* run [first, j) of one value */
		double still = (double)kept(w, j - 1)->t_lo -
			       (double)kept(w, first)->t_hi;
		if (still > thr) {
			note_stall(r, still);
			w->onset[first] = 1;
		}
		first = j;
	}
}

/* --- delay and timestamps --------------------------------------------- */

static int64_t fill_of(const struct ptrstat_series *s,
		       const struct ptrstat_sample *x)
{
	return s->capture ? x->pos - x->appl : x->appl - x->pos;
}

static double extra_of(const struct work *w, const struct ptrstat_sample *x)
{
	return (double)(x->delay - fill_of(w->s, x));
}

/* extra = delay - fill. A delay more than half a buffer off the median
 * comes from a bogus pointer read (the delay call read it on its own):
 * counted as a jump, left out of the figures. */
static void delay_stats(struct work *w, struct ptrstat_report *r)
{
	double med, half = 0.5 * (double)w->s->buffer;
	size_t m = 0;

	for (size_t j = 0; j < w->k; j++)
		if (kept(w, j)->flags & PTRSTAT_HAS_DELAY)
			w->d[m++] = extra_of(w, kept(w, j));
	if (!m)
		return;
	med = sorted_quantile(w->d, m, 0.5);
	m = 0;
	for (size_t j = 0; j < w->k; j++) {
		const struct ptrstat_sample *x = kept(w, j);

		if (!(x->flags & PTRSTAT_HAS_DELAY))
			continue;
		if (fabs(extra_of(w, x) - med) > half)
			r->delay_jumps++;
		else
			w->d[m++] = extra_of(w, x);
	}
	r->delay_n = m;
	qsort(w->d, m, sizeof(*w->d), cmp_double);
	r->extra_min = w->d[0];
	r->extra_max = w->d[m - 1];
	r->extra_p1 = quantile(w->d, m, 0.01);
	r->extra_p50 = quantile(w->d, m, 0.50);
	r->extra_p99 = quantile(w->d, m, 0.99);
}

static bool ts_wanted(const struct ptrstat_sample *x, bool status)
{
	return (x->flags & PTRSTAT_HAS_TS) &&
	       !!(x->flags & PTRSTAT_FROM_STATUS) == status;
}

/* Two passes over the scratch array: ages, then errors against the line. */
static void ts_stats(struct work *w, const struct ptrstat_report *r,
		     bool status, struct ptrstat_ts *o)
{
	size_t m = 0;

	for (size_t j = 0; j < w->k; j++)
		if (ts_wanted(kept(w, j), status))
			w->d[m++] = (double)(kept(w, j)->t_hi - kept(w, j)->ts);
	o->n = m;
	if (!m)
		return;
	o->age_p50_us = sorted_quantile(w->d, m, 0.5) / 1e3;
	o->age_max_us = w->d[m - 1] / 1e3;
	o->err_p50_us = o->err_max_us = NAN;
	if (!r->fit.valid)
		return;
	m = 0;
	for (size_t j = 0; j < w->k; j++) {
		const struct ptrstat_sample *x = kept(w, j);

		if (ts_wanted(x, status) && w->seg[j] == w->fit_seg)
			w->d[m++] = (double)x->ts - ptrstat_fit_time(&r->fit, x->pos);
	}
	if (!m)
		return;
	o->err_p50_us = sorted_quantile(w->d, m, 0.5) / 1e3;
	o->err_max_us = fmax(fabs(w->d[0]), fabs(w->d[m - 1])) / 1e3;
}

/* --- the whole analysis ------------------------------------------------ */

static void report_init(struct ptrstat_report *r, const struct ptrstat_series *s)
{
	memset(r, 0, sizeof(*r));
	r->samples = s->n;
	r->rate_hz = r->drift_ppm = NAN;
	r->jitter_p50_us = r->jitter_p99_us = r->jitter_max_us = NAN;
	r->resolution_us = r->update_us = NAN;
	r->extra_p50 = r->extra_min = r->extra_max = NAN;
	r->extra_p1 = r->extra_p99 = NAN;
	r->span_s = (double)(s->s[s->n - 1].t_hi - s->s[0].t_lo) / 1e9;
}

int ptrstat_analyse(const struct ptrstat_series *s, struct ptrstat_report *r)
{
	struct work w;
	int err;

	if (!s->rate || s->n < 2 || s->buffer <= 0)
		return -EINVAL;
	report_init(r, s);
	err = work_init(&w, s);
	if (err < 0)
		goto out;
	r->interval_us = median_interval_ns(s, w.d) / 1e3;
	clean(&w, r);
	collect_steps(&w);
	granularity(&w, r);
	update_interval(&w, r);
	w.g_ns = (double)r->granularity * 1e9 / s->rate;
	err = fit_line(&w, r);
	if (err < 0)
		goto out;
	stalls(&w, r);
	/* The read that first shows a stalled value is late by however long
	 * the pointer had been still: that is the stall, reported as such,
	 * not jitter. Fit again without those edges. */
	if (r->stalls)
		err = fit_line(&w, r);
	if (err < 0)
		goto out;
	delay_stats(&w, r);
	ts_stats(&w, r, false, &r->htstamp);
	ts_stats(&w, r, true, &r->status);
out:
	work_free(&w);
	return err;
}

/* --- loopback margin search -------------------------------------------- */

void ptrstat_margin_init(struct ptrstat_margin *m)
{
	memset(m, 0, sizeof(*m));
	m->exact = true;
	m->safe = m->prefetch = -1;
}

void ptrstat_margin_add(struct ptrstat_margin *m, int64_t margin,
			int64_t lost, int64_t marker, int64_t elapsed)
{
	if (m->n < PTRSTAT_MARGIN_TRIALS)
		m->trial[m->n++] = (struct ptrstat_trial){ margin, lost, marker,
							   elapsed };
}

static size_t trials_at(const struct ptrstat_margin *m, int64_t margin,
			size_t *lossy)
{
	size_t n = 0;

	*lossy = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->trial[i].margin != margin)
			continue;
		n++;
		*lossy += m->trial[i].lost > 0;
	}
	return n;
}

/* Safe: the smallest margin tried REPEAT times without loss that lies
 * above every margin that lost something. */
static int64_t safe_margin(const struct ptrstat_margin *m)
{
	int64_t worst = -1, safe = -1;
	size_t lossy;

	for (size_t i = 0; i < m->n; i++)
		if (m->trial[i].lost > 0 && m->trial[i].margin > worst)
			worst = m->trial[i].margin;
	for (size_t i = 0; i < m->n; i++) {
		int64_t x = m->trial[i].margin;

		if (x > worst && (safe < 0 || x < safe) &&
		    trials_at(m, x, &lossy) >= PTRSTAT_MARGIN_REPEAT && !lossy)
			safe = x;
	}
	return safe;
}

/* Frames the card is ahead of its pointer: a rewrite starting m frames
 * after the pointer loses lead - m of them, plus what the card played
 * while the rewrite was being made (elapsed), so m + lost - elapsed
 * estimates the lead. Trials that lost the whole marker only bound it and
 * are skipped unless nothing else lost. */
static int64_t lead_estimate(const struct ptrstat_margin *m)
{
	int64_t v[PTRSTAT_MARGIN_TRIALS];
	size_t n = 0;

	for (int pass = 0; pass < 2 && !n; pass++)
		for (size_t i = 0; i < m->n; i++) {
			const struct ptrstat_trial *t = &m->trial[i];
			bool all = t->lost >= t->marker;

			if (t->lost > 0 && (pass == 1 || !all))
				v[n++] = t->margin + t->lost - t->elapsed;
		}
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_i64);
	return v[n / 2] > 0 ? v[n / 2] : 0;
}

static int64_t margin_done(struct ptrstat_margin *m)
{
	m->safe = safe_margin(m);
	m->prefetch = lead_estimate(m);
	return -1;
}

static int64_t round_up(int64_t v, int64_t step)
{
	return (v + step - 1) / step * step;
}

int64_t ptrstat_margin_next(struct ptrstat_margin *m, int64_t step, int64_t max)
{
	const struct ptrstat_trial *last;
	size_t lossy, n;

	if (step <= 0)
		step = 16;
	if (!m->n)
		return 0;
	if (m->n >= PTRSTAT_MARGIN_TRIALS)
		return margin_done(m);
	last = &m->trial[m->n - 1];
	if (last->lost > 0) {
		/* go where the loss points, at least one step up */
		int64_t next = round_up(last->margin + last->lost, step);

		if (next <= last->margin)
			next = last->margin + step;
		if (next > max)
			return margin_done(m);
		n = trials_at(m, next, &lossy);
		if (n >= PTRSTAT_MARGIN_REPEAT && !lossy)
			return margin_done(m);	/* known clean: below it lost */
		return next;
	}
	n = trials_at(m, last->margin, &lossy);
	if (n < PTRSTAT_MARGIN_REPEAT)
		return last->margin;		/* confirm */
	if (last->margin - step >= 0 &&
	    !trials_at(m, last->margin - step, &lossy))
		return last->margin - step;	/* walk down */
	return margin_done(m);
}

int ptrstat_marker_code(int64_t frame)
{
	return 0x4000 | (int)(frame & 0x3fff);
}

int64_t ptrstat_marker_frame(int v, int64_t from, int64_t len)
{
	int64_t off;

	if (v < 0x4000 || v > 0x7fff)
		return -1;
	off = ((int64_t)(v & 0x3fff) - from) & 0x3fff;
	return off < len ? from + off : -1;
}

/* --- stress ------------------------------------------------------------ */

uint64_t ptrstat_stress_total(const struct ptrstat_stress *s)
{
	return s->delay_bad + s->rewind_short + s->forward_short +
	       s->avail_over + s->backward;
}

/* --- verdict ----------------------------------------------------------- */

static const struct {
	const char *key, *text;
	enum ptrstat_severity sev;
} findings[PTRSTAT_FINDINGS] = {
	[PTRSTAT_STILL] = { "still", "the pointer never moved",
			    PTRSTAT_SEV_TIMER },
	[PTRSTAT_BACKWARD] = { "backward", "the pointer went backwards",
			       PTRSTAT_SEV_TIMER },
	[PTRSTAT_JUMPS] = { "jumps",
			    "bogus pointer reads: avail beyond the buffer, or delay off by more than half of it",
			    PTRSTAT_SEV_TIMER },
	[PTRSTAT_COARSE] = { "coarse",
			     "granularity exceeds a quarter of the buffer",
			     PTRSTAT_SEV_TIMER },
	[PTRSTAT_STALL_LONG] = { "stall_long",
				 "a stall exceeds a quarter of the buffer",
				 PTRSTAT_SEV_TIMER },
	[PTRSTAT_MARGINS] = { "margins",
			      "the watermark needed exceeds half the buffer",
			      PTRSTAT_SEV_TIMER },
	[PTRSTAT_REWIND_SHORT] = { "rewind_short",
				   "rewind returned other than asked within rewindable",
				   PTRSTAT_SEV_REWIND },
	[PTRSTAT_REWIND_DELAY] = { "rewind_delay",
				   "delay/avail did not follow a rewind",
				   PTRSTAT_SEV_REWIND },
	[PTRSTAT_FORWARD_BAD] = { "forward_bad",
				  "forward did not restore the position",
				  PTRSTAT_SEV_REWIND },
	[PTRSTAT_NOTE_GRANULAR] = { "granular",
				    "coarse pointer: margins cover one granule",
				    PTRSTAT_SEV_NOTE },
	[PTRSTAT_NOTE_JITTER] = { "jitter", "pointer jitter raised the margins",
				  PTRSTAT_SEV_NOTE },
	[PTRSTAT_NOTE_STALLS] = { "stalls", "pointer stalls raised the margins",
				  PTRSTAT_SEV_NOTE },
	[PTRSTAT_NOTE_DRIFT] = { "drift",
				 "clock drift above 1000 ppm: the nominal rate is wrong",
				 PTRSTAT_SEV_NOTE },
	[PTRSTAT_NOTE_UNCLAMPED] = { "unclamped",
				     "rewind past rewindable was honoured: clamp rewinds",
				     PTRSTAT_SEV_NOTE },
	[PTRSTAT_NOTE_PREFETCH] = { "prefetch",
				    "the card plays ahead of its pointer (prefetch): safeguard raised",
				    PTRSTAT_SEV_NOTE },
	[PTRSTAT_NOTE_STRESS] = { "stress", "inconsistencies under stress",
				  PTRSTAT_SEV_NOTE },
	[PTRSTAT_NOTE_DELAY] = { "delay_spread",
				 "delay wanders against the pointer",
				 PTRSTAT_SEV_NOTE },
	[PTRSTAT_NOTE_TSTAMP] = { "tstamp",
				  "timestamps disagree with the pointer's line",
				  PTRSTAT_SEV_NOTE },
};

const char *ptrstat_finding_text(enum ptrstat_finding f)
{
	return f < PTRSTAT_FINDINGS ? findings[f].text : "?";
}

const char *ptrstat_finding_key(enum ptrstat_finding f)
{
	return f < PTRSTAT_FINDINGS ? findings[f].key : "?";
}

enum ptrstat_severity ptrstat_finding_severity(enum ptrstat_finding f)
{
	return f < PTRSTAT_FINDINGS ? findings[f].sev : PTRSTAT_SEV_NOTE;
}

/* Margin terms shared by watermark and safeguard. */
struct late {
	double gran_ms, jit_ms, stall_ms;
};

static struct late late_terms(const struct ptrstat_report *r, unsigned rate)
{
	struct late l;

	l.gran_ms = (double)r->granularity * 1e3 / rate;
	/* jitter is measured about the centre of its band; the pointer can
	 * lag its earliest readings by the whole band */
	l.jit_ms = isnan(r->jitter_max_us) ? 0 : 2.0 * r->jitter_max_us / 1e3;
	l.stall_ms = r->stall_max_ms;
	return l;
}

/* Watermark: the reported fill can be too high by one granule, the
 * jitter band (twice the max jitter) and a stall, so the server wakes
 * that much late; doubled for safety, plus 4 ms for the wakeup latency of
 * a loaded system, never below PulseAudio-like 10 ms. Rounded up to whole
 * ms. */
static double watermark_ms(struct late l)
{
	return ceil(fmax(10.0, 2.0 * (l.gran_ms + l.jit_ms + l.stall_ms) + 4.0));
}

/* Safeguard: frames after the reported pointer that a rewind must not
 * touch. base = max(256 bytes, 1.33 ms) covers the time between reading
 * the pointer and the rewritten frames landing; the true DMA position
 * can be up to a granule - 1, the jitter band and a stall beyond the
 * reported one; and a loopback measurement, when there is one, sees the card's
 * lead (prefetch) that the pointer cannot show. */
static int64_t safeguard_frames(struct late l, unsigned rate,
				unsigned frame_bytes, int64_t granularity,
				const struct ptrstat_margin *mg)
{
	int64_t base = (int64_t)ceil(1.33e-3 * rate);
	int64_t ptr, loop = -1;

	if (frame_bytes && (256 + frame_bytes - 1) / frame_bytes > (unsigned)base)
		base = (256 + frame_bytes - 1) / frame_bytes;
	ptr = (granularity > 1 ? granularity - 1 : 0) +
	      llround((l.jit_ms + l.stall_ms) * rate / 1e3);
	if (mg)
		loop = mg->prefetch;
	return base + (loop > ptr ? loop : ptr);
}

static void judge_pointer(const struct ptrstat_report *r, int64_t buffer,
			  unsigned rate, uint32_t *f)
{
	double buffer_ms = (double)buffer * 1e3 / rate;

	if (r->step_max <= 0)
		*f |= 1u << PTRSTAT_STILL;
	if (r->backward)
		*f |= 1u << PTRSTAT_BACKWARD;
	if (r->jumps || r->delay_jumps)
		*f |= 1u << PTRSTAT_JUMPS;
	if (r->granularity > buffer / 4)
		*f |= 1u << PTRSTAT_COARSE;
	if (r->stall_max_ms > buffer_ms / 4)
		*f |= 1u << PTRSTAT_STALL_LONG;
	if (r->granularity > 1)
		*f |= 1u << PTRSTAT_NOTE_GRANULAR;
	if (!isnan(r->jitter_max_us) && r->jitter_max_us > 1000.0)
		*f |= 1u << PTRSTAT_NOTE_JITTER;
	if (r->stalls)
		*f |= 1u << PTRSTAT_NOTE_STALLS;
	if (!isnan(r->drift_ppm) && fabs(r->drift_ppm) > 1000.0)
		*f |= 1u << PTRSTAT_NOTE_DRIFT;
}

/* Delay should sit a constant FIFO beyond the pointer; a spread wider than
 * two granules plus the jitter band means delay and pointer disagree. */
static void judge_delay(const struct ptrstat_report *r, unsigned rate,
			uint32_t *f)
{
	double jit = isnan(r->jitter_max_us) ? 0 : r->jitter_max_us * 1e-6 * rate;

	if (r->delay_n && r->extra_p99 - r->extra_p1 >
	    2.0 * (double)r->granularity + 2.0 * jit + 4.0)
		*f |= 1u << PTRSTAT_NOTE_DELAY;
}

static bool ts_off(const struct ptrstat_ts *t, const struct ptrstat_report *r,
		   double gran_us)
{
	double tol = gran_us + 2.0 * r->resolution_us + 500.0 +
		     (isnan(r->jitter_p99_us) ? 0 : r->jitter_p99_us);

	return t->n && !isnan(t->err_p50_us) && fabs(t->err_p50_us) > tol;
}

static void judge_rewind(const struct ptrstat_rewind *rw, uint32_t *f)
{
	if (!rw)
		return;
	if (rw->short_ret)
		*f |= 1u << PTRSTAT_REWIND_SHORT;
	if (rw->delay_bad)
		*f |= 1u << PTRSTAT_REWIND_DELAY;
	if (rw->fwd_short || rw->fwd_bad)
		*f |= 1u << PTRSTAT_FORWARD_BAD;
	if (rw->beyond_tested && rw->beyond_got > rw->beyond_rewindable)
		*f |= 1u << PTRSTAT_NOTE_UNCLAMPED;
}

static void set_fitness(struct ptrstat_verdict *v)
{
	v->timer_fit = v->rewind_fit = true;
	for (int i = 0; i < PTRSTAT_FINDINGS; i++) {
		if (!(v->findings & (1u << i)))
			continue;
		if (findings[i].sev == PTRSTAT_SEV_TIMER)
			v->timer_fit = false;
		if (findings[i].sev == PTRSTAT_SEV_REWIND)
			v->rewind_fit = false;
	}
}

void ptrstat_judge(const struct ptrstat_report *r, unsigned rate,
		   int64_t buffer, unsigned frame_bytes,
		   const struct ptrstat_rewind *rw,
		   const struct ptrstat_margin *mg,
		   const struct ptrstat_stress *st,
		   struct ptrstat_verdict *v)
{
	struct late l = late_terms(r, rate);
	int64_t without;

	memset(v, 0, sizeof(*v));
	judge_pointer(r, buffer, rate, &v->findings);
	judge_delay(r, rate, &v->findings);
	if (ts_off(&r->htstamp, r, l.gran_ms * 1e3) ||
	    ts_off(&r->status, r, l.gran_ms * 1e3))
		v->findings |= 1u << PTRSTAT_NOTE_TSTAMP;
	judge_rewind(rw, &v->findings);
	if (st && ptrstat_stress_total(st))
		v->findings |= 1u << PTRSTAT_NOTE_STRESS;
	v->watermark_ms = watermark_ms(l);
	if (v->watermark_ms > (double)buffer * 1e3 / rate / 2)
		v->findings |= 1u << PTRSTAT_MARGINS;
	v->safeguard_frames = safeguard_frames(l, rate, frame_bytes,
					       r->granularity, mg);
	without = safeguard_frames(l, rate, frame_bytes, r->granularity, NULL);
	if (v->safeguard_frames > without)
		v->findings |= 1u << PTRSTAT_NOTE_PREFETCH;
	v->safeguard_ms = (double)v->safeguard_frames * 1e3 / rate;
	set_fitness(v);
}
