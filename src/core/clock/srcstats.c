/* SPDX-License-Identifier: MIT */
/*
 * Per-source clock statistics (srcstats.h; ALGORITHMS.md §C.3, §C.5): a
 * delay filter in front of a ring of samples, and a weighted least-squares
 * line through the ring after every accepted sample. The fit works on a
 * linear copy of the window, relative to the newest sample (x = t − t_newest,
 * y = offset − offset_newest, both exact int64_t differences before they
 * become doubles), so that large absolute times and offsets cost no
 * precision. A runs test on the residual signs decides whether the oldest
 * samples still belong to the same line; if not, they leave the fit one at
 * a time until the rest does, which is what lets a frequency step
 * re-converge within a few samples instead of a whole window. Samples that
 * left the fit stay at the old end of the ring, where they lengthen the
 * runs test of the next fits: against the new line they form one long run,
 * which a short fit alone could not show.
 *
 * Cost: a refit after a failed test is up to 63 fits of O(n) each (the
 * median by quickselect), some 10^4 operations per sample, bounded by
 * P2PC_SRCSTATS_MAX.
 */
#include "srcstats.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define DEFAULT_MAX_SAMPLES P2PC_SRCSTATS_MAX
#define DEFAULT_PRECISION_NS 1000
#define DEFAULT_DELAY_DEV_RATIO 10.0
#define DEFAULT_MAX_FREQ 500e-6
#define MAX_MAX_FREQ 0.01

/* NTP's PHI: the frequency error assumed while the window cannot tell. */
#define UNKNOWN_SKEW 15e-6
/*
 * One-sided 1% critical value of the standard normal for the runs test. It
 * runs after every sample, so at 5% a steady source would lose part of its
 * window every ~20 samples (and its poll interval would shrink each time);
 * the older samples that extend the test (see fit_from) give it the power a
 * short window lacks after a frequency step.
 */
#define RUNS_Z 2.326
/* Below 10 non-zero residuals no sign sequence reaches 1%. */
#define RUNS_MIN 10
/* Offsets are whole ns: a residual this small is rounding, not a sign. */
#define RESID_ZERO 0.01

/* Student's t, two-sided 95% (the 0.975 quantile), for 1..62 degrees of
 * freedom: a window of n samples leaves n − 2. */
static const double student_t95[P2PC_SRCSTATS_MAX - 2] = {
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622,
    2.2281,  2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009,
    2.0930,  2.0860, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518,
    2.0484,  2.0452, 2.0423, 2.0395, 2.0369, 2.0345, 2.0322, 2.0301, 2.0281,
    2.0262,  2.0244, 2.0227, 2.0211, 2.0195, 2.0181, 2.0167, 2.0154, 2.0141,
    2.0129,  2.0117, 2.0106, 2.0096, 2.0086, 2.0076, 2.0066, 2.0057, 2.0049,
    2.0040,  2.0032, 2.0025, 2.0017, 2.0010, 2.0003, 1.9996, 1.9990};

/* One fit of a run of samples (oldest first). */
typedef struct fit_result {
  double a, b;      /* y = a + b x: a is the offset at the newest t */
  double sw, swr2;  /* sum of weights, weighted sum of squared residuals */
  double offset_sd; /* ns */
  double skew;
  double jitter; /* ns */
  uint32_t best; /* index of the min-distance sample */
  uint32_t runs;
  double runs_z; /* the runs test's z, +inf where it cannot tell */
} fit_result;

void p2pc_srcstats_config_default(p2pc_srcstats_config *cfg) {
  cfg->max_samples = DEFAULT_MAX_SAMPLES;
  cfg->precision_ns = DEFAULT_PRECISION_NS;
  cfg->delay_dev_ratio = DEFAULT_DELAY_DEV_RATIO;
  cfg->max_freq = DEFAULT_MAX_FREQ;
}

static void clamp_config(p2pc_srcstats_config *c) {
  if (c->max_samples == 0)
    c->max_samples = DEFAULT_MAX_SAMPLES;
  if (c->max_samples < 3)
    c->max_samples = 3;
  if (c->max_samples > P2PC_SRCSTATS_MAX)
    c->max_samples = P2PC_SRCSTATS_MAX;
  if (c->precision_ns == 0)
    c->precision_ns = DEFAULT_PRECISION_NS;
  if (c->precision_ns < 1)
    c->precision_ns = 1;
  if (c->delay_dev_ratio == 0 || isnan(c->delay_dev_ratio))
    c->delay_dev_ratio = DEFAULT_DELAY_DEV_RATIO;
  if (c->delay_dev_ratio < 0)
    c->delay_dev_ratio = 0;
  if (!(c->max_freq > 0)) /* zero, negative or NaN */
    c->max_freq = DEFAULT_MAX_FREQ;
  if (c->max_freq > MAX_MAX_FREQ)
    c->max_freq = MAX_MAX_FREQ;
}

void p2pc_srcstats_init(p2pc_srcstats *s, const p2pc_srcstats_config *cfg) {
  memset(s, 0, sizeof *s);
  if (cfg)
    s->cfg = *cfg;
  else
    p2pc_srcstats_config_default(&s->cfg);
  clamp_config(&s->cfg);
}

void p2pc_srcstats_reset(p2pc_srcstats *s) {
  uint64_t filtered = s->est.filtered, accepted = s->est.accepted;
  s->head = 0;
  s->n = 0;
  s->nx = 0;
  s->refused_run = 0;
  memset(&s->est, 0, sizeof s->est);
  s->est.filtered = filtered;
  s->est.accepted = accepted;
}

const p2pc_srcest *p2pc_srcstats_est(const p2pc_srcstats *s) { return &s->est; }

static const p2pc_sample *sample_at(const p2pc_srcstats *s, uint32_t i) {
  return &s->s[(s->head + i) % P2PC_SRCSTATS_MAX];
}

/* a − b as a double, exact whenever the difference fits an int64_t. */
static double diff_ns(int64_t a, int64_t b) {
  if ((b < 0 && a > INT64_MAX + b) || (b > 0 && a < INT64_MIN + b))
    return (double)a - (double)b;
  return (double)(a - b);
}

static double distance(const p2pc_sample *x) {
  return (double)x->delay / 2 + (double)x->disp;
}

/* The k-th smallest of v[lo..hi] (k in range), by quickselect: O(n) on
 * average where a sort is O(n^2) for these sizes; reorders v. */
static double select_kth(double *v, uint32_t lo, uint32_t hi, uint32_t k) {
  while (lo < hi) {
    double pivot = v[lo + (hi - lo) / 2];
    uint32_t i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot)
        i++;
      while (v[j] > pivot)
        j--;
      if (i <= j) {
        double t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++;
        if (j == 0)
          break;
        j--;
      }
    }
    if (k <= j)
      hi = j;
    else if (k >= i)
      lo = i;
    else
      return v[k];
  }
  return v[k];
}

/* Median of v[0..n-1], n >= 1; reorders v. */
static double median(double *v, uint32_t n) {
  double hi = select_kth(v, 0, n - 1, n / 2);
  if (n % 2)
    return hi;
  /* the other middle value: the largest of the lower half */
  double lo = v[0];
  for (uint32_t i = 1; i < n / 2; i++)
    if (v[i] > lo)
      lo = v[i];
  return (lo + hi) / 2;
}

/*
 * Counts the sign runs of the non-zero residuals and returns the
 * Wald–Wolfowitz z for their number (+inf if there are too few to tell). A
 * line that no longer fits leaves long stretches of one sign (a frequency
 * step bends the offsets away from it), so too few runs -- a very negative
 * z -- means the oldest samples follow another line.
 */
static double runs_z(const double *r, uint32_t n, uint32_t *runs) {
  uint32_t npos = 0, nneg = 0, nruns = 0;
  int last = 0;
  for (uint32_t i = 0; i < n; i++) {
    int sign = r[i] > RESID_ZERO ? 1 : r[i] < -RESID_ZERO ? -1 : 0;
    if (!sign)
      continue;
    if (sign > 0)
      npos++;
    else
      nneg++;
    if (sign != last)
      nruns++;
    last = sign;
  }
  *runs = nruns;
  uint32_t m = npos + nneg;
  if (m < RUNS_MIN || npos == 0 || nneg == 0)
    return HUGE_VAL;
  double mu = 2.0 * npos * nneg / m + 1;
  double var = (mu - 1) * (mu - 2) / (m - 1);
  if (!(var > 0))
    return HUGE_VAL;
  /* +0.5: continuity correction for the lower tail. */
  return (nruns + 0.5 - mu) / sqrt(var);
}

/*
 * Fits u[nx..nu-1] (oldest first, at least one, non-decreasing t); the nx
 * samples before them only extend the runs test. f->best indexes the fit.
 */
static void fit_window(const p2pc_sample *u, uint32_t nu, uint32_t nx,
                       const p2pc_srcstats_config *cfg, fit_result *f) {
  const double prec = (double)cfg->precision_ns;
  double d[P2PC_SRCSTATS_MAX], w[P2PC_SRCSTATS_MAX];
  double x[P2PC_SRCSTATS_MAX], y[P2PC_SRCSTATS_MAX], r[P2PC_SRCSTATS_MAX];

  memset(f, 0, sizeof *f);
  if (nx >= nu || nu > P2PC_SRCSTATS_MAX)
    return; /* never: callers pass a non-empty fit */
  const p2pc_sample *v = u + nx, *newest = &u[nu - 1];
  const uint32_t n = nu - nx;
  for (uint32_t i = 0; i < nu; i++) {
    x[i] = diff_ns(u[i].t, newest->t);
    y[i] = diff_ns(u[i].offset, newest->offset);
  }
  /* From here on x, y, r are indexed like v: the fit's own samples. */
  double *xv = x + nx, *yv = y + nx, *rv = r + nx;
  uint32_t best = 0;
  for (uint32_t i = 0; i < n; i++) {
    d[i] = distance(&v[i]);
    if (d[i] <= d[best]) /* ties: the newer */
      best = i;
  }
  f->best = best;

  /* Weights relative to the best sample: a sample whose distance exceeds
   * the minimum by k scales counts (1 + k)^2 times less — inverse
   * variance, as a sample's offset error is at most half its delay beyond
   * the path's true minimum. The scale is what the best sample itself
   * carries beyond that minimum: the smallest of n delays, whose excess
   * (the sum of two one-way queueing delays, a density rising from 0)
   * shrinks as 1/sqrt(n) of the median's. With the median's excess as
   * the scale instead, a 2,000-node simulation with exponential jitter
   * (20 us) kept a per-hop error sd of 3.5 us at 40 s against 2.2 us. */
  double dmin = d[best];
  double sorted[P2PC_SRCSTATS_MAX];
  memcpy(sorted, d, n * sizeof *d);
  double sd = (median(sorted, n) - dmin) / (0.7 * sqrt((double)n));
  if (!(sd >= prec))
    sd = prec;
  for (uint32_t i = 0; i < n; i++) {
    double k = 1 + (d[i] - dmin) / sd;
    w[i] = 1 / (k * k);
  }

  double sw = 0, swx = 0, swy = 0;
  for (uint32_t i = 0; i < n; i++) {
    sw += w[i];
    swx += w[i] * xv[i];
    swy += w[i] * yv[i];
  }
  double xm = swx / sw, ym = swy / sw;
  double sxx = 0;
  bool spread = v[0].t != newest->t;
  if (n >= 3 && spread) {
    double sxy = 0;
    for (uint32_t i = 0; i < n; i++) {
      sxx += w[i] * (xv[i] - xm) * (xv[i] - xm);
      sxy += w[i] * (xv[i] - xm) * (yv[i] - ym);
    }
    f->b = sxy / sxx;
    if (f->b > cfg->max_freq)
      f->b = cfg->max_freq;
    if (f->b < -cfg->max_freq)
      f->b = -cfg->max_freq;
    f->a = ym - f->b * xm;
  } else if (n >= 3) {
    f->a = ym; /* no time spread: no slope, the weighted mean */
  } else {
    f->a = yv[best];
  }

  double swr2 = 0;
  for (uint32_t i = 0; i < n; i++) {
    rv[i] = yv[i] - (f->a + f->b * xv[i]);
    swr2 += w[i] * rv[i] * rv[i];
  }
  f->sw = sw;
  f->swr2 = swr2;
  f->jitter = sqrt(swr2 / sw);
  if (!(f->jitter >= prec))
    f->jitter = prec;

  if (n < 3) {
    /* The chosen sample stands for t0 though it may be older: cover the
     * frequency nobody knows yet over its age. */
    f->offset_sd = f->jitter + UNKNOWN_SKEW * -xv[best];
    f->skew = UNKNOWN_SKEW;
    f->runs_z = HUGE_VAL;
    return;
  }
  /* Noise of a weight-1 sample: unbiased from the residuals, but never
   * below what the clock's precision allows. */
  double s2 = swr2 / (n - 2);
  if (!(s2 >= prec * prec))
    s2 = prec * prec;
  if (spread) {
    f->offset_sd = sqrt(s2 * (1 / sw + xm * xm / sxx));
    f->skew = sqrt(s2 / sxx) * student_t95[n - 3];
  } else {
    f->offset_sd = sqrt(s2 / sw);
    f->skew = UNKNOWN_SKEW;
  }
  /* The extras' residuals against this line, then the test over all. */
  for (uint32_t i = 0; i < nx; i++)
    r[i] = y[i] - (f->a + f->b * x[i]);
  f->runs_z = runs_z(r, nu, &f->runs);
}

/* Fits v[start..n-1], with up to as many older samples as it has extending
 * its runs test: more would let one long run of stale samples dominate the
 * sign counts of a short fit. */
static void fit_from(const p2pc_sample *v, uint32_t n, uint32_t start,
                     const p2pc_srcstats_config *cfg, fit_result *f) {
  uint32_t extra = start < n - start ? start : n - start;
  fit_window(v + start - extra, n - start + extra, extra, cfg, f);
}

static void refit(p2pc_srcstats *s) {
  p2pc_sample v[P2PC_SRCSTATS_MAX];
  uint32_t n = s->n, start = s->nx;
  if (start >= n || n > P2PC_SRCSTATS_MAX)
    return; /* never: called right after a sample went in */
  for (uint32_t i = 0; i < n; i++)
    v[i] = *sample_at(s, i);

  fit_result f;
  fit_from(v, n, start, &s->cfg, &f);
  /* The largest suffix that fits one line. Suffixes too short for the test
   * always pass, and so does any single sample. */
  while (f.runs_z < -RUNS_Z && start + 1 < n) {
    start++;
    fit_from(v, n, start, &s->cfg, &f);
  }
  uint32_t dropped = start - s->nx;
  s->nx = start;
  const p2pc_sample *w = v + start;
  n -= start;

  p2pc_srcest *e = &s->est;
  e->valid = true;
  e->n = n;
  e->t0 = w[n - 1].t;
  e->offset = (double)w[n - 1].offset + f.a;
  e->freq = f.b;
  e->offset_sd = f.offset_sd;
  e->skew = f.skew;
  e->min_delay = w[0].delay;
  for (uint32_t i = 1; i < n; i++)
    if (w[i].delay < e->min_delay)
      e->min_delay = w[i].delay;
  e->last_delay = w[n - 1].delay;
  e->jitter = f.jitter;
  e->disp = (double)w[f.best].disp;
  e->runs = n >= 3 ? f.runs : 0;
  e->dropped = dropped;
}

/* The delay filter: true if x is a delay spike next to the window. */
static bool delay_spike(const p2pc_srcstats *s, int64_t delay) {
  uint32_t n = s->n - s->nx; /* the fit's samples: the current path */
  if (n < 4 || isinf(s->cfg.delay_dev_ratio))
    return false;
  double dl[P2PC_SRCSTATS_MAX], dmin = INFINITY;
  for (uint32_t i = 0; i < n; i++) {
    dl[i] = (double)sample_at(s, s->nx + i)->delay;
    dmin = dl[i] < dmin ? dl[i] : dmin;
  }
  double med = median(dl, n);
  double limit = dmin + s->cfg.delay_dev_ratio * (med - dmin) +
                 (double)s->cfg.precision_ns;
  return (double)delay > limit;
}

bool p2pc_srcstats_add(p2pc_srcstats *s, const p2pc_sample *x) {
  p2pc_sample c = *x;
  if (c.delay < s->cfg.precision_ns)
    c.delay = s->cfg.precision_ns;
  if (c.disp < 0)
    c.disp = 0;
  if (s->n > 0) {
    if (c.t < sample_at(s, s->n - 1)->t)
      return false;
    int64_t oldest = sample_at(s, 0)->t;
    if (oldest < 0 && c.t > INT64_MAX + oldest)
      return false;
  }
  if (delay_spike(s, c.delay)) {
    if (++s->refused_run < P2PC_SRCSTATS_REFUSE_MAX) {
      s->est.filtered++;
      return false;
    }
    /* Refused again and again: the path is not what the window knew. */
    p2pc_srcstats_reset(s);
  }
  s->refused_run = 0;
  if (s->n == s->cfg.max_samples) { /* the oldest goes, an extra first */
    s->head = (s->head + 1) % P2PC_SRCSTATS_MAX;
    s->n--;
    if (s->nx)
      s->nx--;
  }
  s->s[(s->head + s->n) % P2PC_SRCSTATS_MAX] = c;
  s->n++;
  s->est.accepted++;
  refit(s);
  return true;
}

double p2pc_srcest_offset_at(const p2pc_srcest *e, int64_t t) {
  if (!e->valid)
    return 0;
  return e->offset + e->freq * diff_ns(t, e->t0);
}

double p2pc_srcest_error_at(const p2pc_srcest *e, int64_t t) {
  if (!e->valid)
    return HUGE_VAL;
  return (double)e->min_delay / 2 + e->disp + e->offset_sd +
         e->skew * fabs(diff_ns(t, e->t0));
}
