/* Clock smoother. See smoother.h.
 *
 * Within a segment (points not separated by a reset or a jump) the card's
 * position grows linearly with system time:
 *
 *     pos(t) = a_seg + rate * t
 *
 * Every segment has its own offset a_seg but all share one rate: the
 * clock is the same, only the position counter was restarted or skipped.
 * Wakeup jitter, late timestamps and bad pointer reports scatter points
 * around those lines, so the rate is the common slope of least-squares
 * lines through the window's points, fitted robustly:
 *
 *  1. Start from lines that outliers cannot pull: slope = the current
 *     estimate, a_seg = median over the segment of pos - rate * t.
 *  2. Residual r = pos - line(t) for every point; points with |r| above
 *     REJECT_MADS times the median |r| (and above a small floor, so a
 *     perfect clock rejects nothing) are outliers.
 *  3. Least squares over the other points gives new lines (the common
 *     slope is sum(Sxy) / sum(Sxx), each sum taken about its segment's
 *     means); repeat from 2 until the set of outliers settles.
 *
 * The slope is trusted once the segments' inliers span MIN_SPAN_NS in all,
 * and clamped to nominal +- MAX_PPM: a card clock that far off is a broken
 * pointer, not drift.
 *
 * How good is it? With timestamps off by sigma at random, n points over T
 * seconds give a slope error of about sigma * sqrt(12 / n) / T: 1 ms of
 * uniform jitter (sigma 0.58 ms) is ~70 ppm after 10 s of wakeups every
 * 0.5-2 s and ~3 ppm once the window spans 80 s. Times are relative to the
 * oldest point, in double seconds, positions relative to the oldest
 * position, so the sums keep their precision on 64-bit counters. */
#include "core/smoother.h"

#include <math.h>
#include <string.h>

enum {
	MIN_POINTS = 3,
	FIT_ROUNDS = 4,
};

#define MIN_SPAN_NS 500000000LL	/* 0.5 s before a slope is trusted */
/* A point closer than this to the one before the newest replaces the
 * newest instead of being added, so frequent wakeups (a low-latency
 * client, a burst of rewinds) cannot shrink the window: once full it
 * spans at least SMOOTHER_WINDOW / 4 seconds (with 1 ms of jitter and
 * wakeups every 10 ms, that is ~16 ppm of slope error). Wakeups 0.5 s or
 * more apart are all kept. */
#define MIN_SPACING_NS 250000000LL
#define MAX_PPM 1000.0
#define REJECT_MADS 6.0
/* Residuals below this never make an outlier: 100 us worth of frames plus
 * one, well above the rounding of positions to frames. */
#define REJECT_FLOOR_S 100e-6
#define JUMP_MIN_S 5e-3		/* smallest step taken for a jump */

struct points {
	double x[SMOOTHER_WINDOW];	/* s since the oldest point */
	double y[SMOOTHER_WINDOW];	/* frames since the oldest point */
	unsigned seg[SMOOTHER_WINDOW];	/* segment, 0 = oldest */
	int out[SMOOTHER_WINDOW];	/* outlier flags */
	unsigned n, nseg;
};

struct lines {
	double b;			/* common slope, frames per second */
	double a[SMOOTHER_WINDOW];	/* offset per segment */
};

void smoother_init(struct smoother *s, double nominal_rate)
{
	memset(s, 0, sizeof(*s));
	s->nominal = nominal_rate;
	s->rate = nominal_rate;
}

void smoother_reset(struct smoother *s)
{
	s->restart = 1;
}

/* Slot of the i-th oldest point. */
static unsigned slot(const struct smoother *s, unsigned i)
{
	return (s->head + SMOOTHER_WINDOW - s->n + i) % SMOOTHER_WINDOW;
}

static unsigned newest(const struct smoother *s)
{
	return slot(s, s->n - 1);
}

static void load_points(const struct smoother *s, struct points *p)
{
	unsigned o = slot(s, 0);

	p->n = s->n;
	p->nseg = 1;
	for (unsigned i = 0; i < s->n; i++) {
		unsigned k = slot(s, i);

		if (i && s->seg_start[k])
			p->nseg++;
		p->seg[i] = p->nseg - 1;
		p->x[i] = (double)(s->t[k] - s->t[o]) * 1e-9;
		/* Unsigned difference read as signed: a position that went
		 * backwards gives a negative y, not a huge one. */
		p->y[i] = (double)(int64_t)(s->pos[k] - s->pos[o]);
		p->out[i] = 0;
	}
}

/* Median of v[0..n), n >= 1; sorts v (insertion sort: n <= 64). */
static double median(double *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		double x = v[i];
		unsigned j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Step 1. */
static void robust_start(const struct points *p, double rate, struct lines *l)
{
	double d[SMOOTHER_WINDOW];

	l->b = rate;
	for (unsigned g = 0; g < p->nseg; g++) {
		unsigned m = 0;

		for (unsigned i = 0; i < p->n; i++)
			if (p->seg[i] == g)
				d[m++] = p->y[i] - rate * p->x[i];
		l->a[g] = median(d, m);
	}
}

static double residual(const struct points *p, const struct lines *l,
		       unsigned i)
{
	return p->y[i] - (l->a[p->seg[i]] + l->b * p->x[i]);
}

/* Step 2: flags outliers against l; returns how many flags changed. */
static unsigned mark_outliers(struct points *p, const struct lines *l,
			      double floor)
{
	double r[SMOOTHER_WINDOW], limit;
	unsigned changed = 0;

	for (unsigned i = 0; i < p->n; i++)
		r[i] = fabs(residual(p, l, i));
	limit = REJECT_MADS * median(r, p->n);
	limit = limit > floor ? limit : floor;
	for (unsigned i = 0; i < p->n; i++) {
		int out = fabs(residual(p, l, i)) > limit;

		changed += out != p->out[i];
		p->out[i] = out;
	}
	return changed;
}

/* Means and time span of one segment's inliers; returns their count. */
static unsigned seg_means(const struct points *p, unsigned g, double *mx,
			  double *my, double *span)
{
	double lo = INFINITY, hi = -INFINITY;
	unsigned m = 0;

	*mx = *my = 0;
	for (unsigned i = 0; i < p->n; i++) {
		if (p->seg[i] != g || p->out[i])
			continue;
		*mx += p->x[i];
		*my += p->y[i];
		lo = p->x[i] < lo ? p->x[i] : lo;
		hi = p->x[i] > hi ? p->x[i] : hi;
		m++;
	}
	if (m) {
		*mx /= m;
		*my /= m;
	}
	*span = m ? hi - lo : 0;
	return m;
}

/* Step 3: least squares over the inliers, one offset per segment, one
 * slope. Returns the number of inliers and their total span (s). */
static unsigned fit_inliers(const struct points *p, struct lines *l,
			    double *span)
{
	double mx[SMOOTHER_WINDOW], my[SMOOTHER_WINDOW], sxx = 0, sxy = 0;
	unsigned used = 0;

	*span = 0;
	for (unsigned g = 0; g < p->nseg; g++) {
		double sp;

		used += seg_means(p, g, &mx[g], &my[g], &sp);
		*span += sp;
	}
	for (unsigned i = 0; i < p->n; i++) {
		double dx = p->x[i] - mx[p->seg[i]];

		if (p->out[i])
			continue;
		sxx += dx * dx;
		sxy += dx * (p->y[i] - my[p->seg[i]]);
	}
	if (!(sxx > 0))
		return 0;
	l->b = sxy / sxx;
	for (unsigned g = 0; g < p->nseg; g++)
		l->a[g] = my[g] - l->b * mx[g];	/* no inliers: mx = my = 0 */
	return used;
}

/* Steps 1-3. Returns 1 when the fitted slope can be trusted; the outlier
 * flags are left as judged against the final lines. */
static int robust_fit(struct points *p, double rate, double nominal,
		      struct lines *l)
{
	double floor = REJECT_FLOOR_S * nominal + 1.0, span = 0;

	robust_start(p, rate, l);
	mark_outliers(p, l, floor);
	for (int round = 0; round < FIT_ROUNDS; round++) {
		struct lines next = *l;

		if (fit_inliers(p, &next, &span) < MIN_POINTS)
			return 0;
		*l = next;
		if (!mark_outliers(p, l, floor))
			break;
	}
	return span * 1e9 >= (double)MIN_SPAN_NS;
}

/* A jump (the position stepped: an xrun nobody reported, a driver glitch)
 * shows as the two newest points of a segment both off its line, on the
 * same side and by about the same amount. A lone outlier does not. Early
 * on, with few points, a slope error also leaves the newest points on one
 * side, so a jump must also exceed JUMP_MIN_S; smaller steps are left to
 * outlier rejection. */
static int jumped(const struct points *p, const struct lines *l,
		  double nominal)
{
	unsigned n = p->n;
	double r1, r2, tol = REJECT_FLOOR_S * nominal + 1.0;

	if (n < 4 || !p->out[n - 1] || !p->out[n - 2] ||
	    p->seg[n - 1] != p->seg[n - 2])
		return 0;
	r1 = residual(p, l, n - 1);
	r2 = residual(p, l, n - 2);
	return (r1 > 0) == (r2 > 0) && fabs(r1 - r2) < 0.5 * fabs(r1) + tol &&
	       fmin(fabs(r1), fabs(r2)) > JUMP_MIN_S * nominal;
}

/* Adds a point, or moves the newest one (see MIN_SPACING_NS). */
static void store(struct smoother *s, int64_t t_ns, uint64_t pos)
{
	unsigned k;

	if (s->n > 1 && !s->restart && !s->seg_start[newest(s)] &&
	    t_ns - s->t[slot(s, s->n - 2)] < MIN_SPACING_NS) {
		k = newest(s);
	} else {
		k = s->head;
		s->head = (s->head + 1) % SMOOTHER_WINDOW;
		s->n += s->n < SMOOTHER_WINDOW;
	}
	s->t[k] = t_ns;
	s->pos[k] = pos;
	s->seg_start[k] = (unsigned char)s->restart;
	s->restart = 0;
	s->span_ns = t_ns - s->t[slot(s, 0)];
}

static double clamp_rate(const struct smoother *s, double rate)
{
	double lo = s->nominal * (1 - MAX_PPM * 1e-6);
	double hi = s->nominal * (1 + MAX_PPM * 1e-6);

	return rate < lo ? lo : rate > hi ? hi : rate;
}

void smoother_put(struct smoother *s, int64_t t_ns, uint64_t pos)
{
	struct points p;
	struct lines l;
	int trusted;

	/* Time must move forward; a repeated timestamp carries nothing. */
	if (s->n && t_ns <= s->t[newest(s)])
		return;
	store(s, t_ns, pos);
	if (s->n < MIN_POINTS)
		return;
	load_points(s, &p);
	trusted = robust_fit(&p, s->rate, s->nominal, &l);
	if (jumped(&p, &l, s->nominal)) {
		/* The two newest points open a new segment; refit. */
		s->seg_start[slot(s, s->n - 2)] = 1;
		load_points(s, &p);
		trusted = robust_fit(&p, s->rate, s->nominal, &l);
	}
	if (trusted)
		s->rate = clamp_rate(s, l.b);
}

double smoother_rate(const struct smoother *s)
{
	return s->rate;
}

double smoother_ppm(const struct smoother *s)
{
	return (s->rate / s->nominal - 1.0) * 1e6;
}

int64_t smoother_frames_to_ns(const struct smoother *s, double frames)
{
	if (!(s->rate > 0))
		return 0;
	return llround(frames / s->rate * 1e9);
}
