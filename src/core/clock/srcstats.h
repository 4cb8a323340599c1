/* SPDX-License-Identifier: MIT */
/*
 * Per-source clock statistics (ALGORITHMS.md §C.3, §C.5): a delay filter
 * that prefers minimum-delay samples, and chrony's sourcestats idea -- a
 * weighted least-squares line through a sliding window of (local time,
 * offset) samples, whose intercept is the source's current offset and whose
 * slope is the frequency difference, with a runs test on the residual signs
 * that drops the oldest samples when a line no longer fits (a frequency
 * step), and an error bound per source.
 *
 * Pure and allocation-free: the window lives inside the struct.
 *
 * Units: times and offsets in ns; frequencies dimensionless (1e-6 = 1 ppm).
 */
#ifndef P2PC_SRCSTATS_H
#define P2PC_SRCSTATS_H

#include <stdbool.h>
#include <stdint.h>

#define P2PC_SRCSTATS_MAX 64 /* samples in the window, at most */
/* This many delay-filter refusals in a row mean the path changed for good
 * (a new route, a slower link): the window restarts with the sample that
 * makes the count, instead of refusing every sample from then on. */
#define P2PC_SRCSTATS_REFUSE_MAX 8

/* One completed exchange, in the local clock's time scale. */
typedef struct p2pc_sample {
  int64_t t;      /* local time of the sample: midpoint of T1 and T4 */
  int64_t offset; /* source clock − local clock at t */
  int64_t delay;  /* round trip, >= precision */
  int64_t disp;   /* dispersion when measured (precisions + PHI * (T4−T1)) */
} p2pc_sample;

/* A zero (or NaN) field takes its default, like the other modules' configs;
 * other out-of-range values are clamped to the range given. */
typedef struct p2pc_srcstats_config {
  uint32_t max_samples; /* ring (fit + nx), 3..P2PC_SRCSTATS_MAX [64] */
  int64_t precision_ns; /* floor for delay, jitter and fit noise, >= 1 [1000] */
  /* Delay filter: once the fit holds >= 4 samples, a sample whose delay
   * exceeds min_delay + delay_dev_ratio * (median delay − min delay) +
   * precision (over the fit's samples) is filtered out (not added) [10];
   * >= 0, +inf disables it. See P2PC_SRCSTATS_REFUSE_MAX. */
  double delay_dev_ratio;
  double max_freq; /* |slope| above this is clamped, (0, 0.01] [500e-6] */
} p2pc_srcstats_config;

/*
 * The current estimate. With 1 sample the offset is that sample's; with 2,
 * the offset of the one with the smaller distance (delay/2 + disp; a tie
 * goes to the newer) and freq 0, because a 2-point slope is mostly noise.
 * From 3 samples on: the weighted least-squares line, weights
 * 1/(1 + (d_i − d_min)/sd)^2 from each sample's distance d_i, with
 * sd = (median d − d_min)/0.7 floored at precision.
 *
 * Runs test: the signs of the non-zero residuals in time order are tested
 * for too few runs with the Wald–Wolfowitz normal approximation
 * (continuity-corrected, one-sided 1%: fails if z < −2.326; fewer than 10
 * residuals always pass). The residuals are those of the fit's samples and
 * of up to as many samples that earlier tests dropped (still in the ring,
 * against the new line): a short window after a frequency step cannot show
 * a significant kink by itself. On failure the oldest fit samples are
 * dropped one at a time, refitting each time, until the remaining suffix
 * passes; they leave the fit for good.
 */
typedef struct p2pc_srcest {
  bool valid;    /* at least one sample */
  uint32_t n;    /* samples in the fit */
  int64_t t0;    /* reference time of offset (the newest sample's t) */
  double offset; /* estimated offset at t0, ns */
  double freq;   /* d offset / d local time (0 with < 3 samples) */
  /* Standard error of offset at t0, ns. The fit's noise is floored at
   * precision. With < 3 samples: jitter, plus 15 ppm times the age of the
   * sample used. */
  double offset_sd;
  /* Frequency error bound (dimensionless): the slope's standard error times
   * Student's t (95 %, two-sided, n − 2 degrees of freedom); 15 ppm (NTP's
   * PHI) when there is no slope (< 3 samples, or all at the same t). */
  double skew;
  int64_t min_delay;  /* smallest delay in the fit, ns */
  int64_t last_delay; /* delay of the newest sample in the fit, ns */
  double jitter;      /* RMS of the weighted residuals, ns, >= precision */
  double disp;        /* dispersion of the best (min-distance) sample, ns */
  uint32_t runs;      /* sign runs of the residuals in the last test */
  uint32_t dropped;   /* samples the last runs test discarded */
  uint64_t filtered;  /* samples the delay filter refused, total */
  uint64_t accepted;  /* samples taken into the window, total */
} p2pc_srcest;

typedef struct p2pc_srcstats {
  p2pc_srcstats_config cfg;
  p2pc_sample s[P2PC_SRCSTATS_MAX]; /* ring, oldest first from head */
  uint32_t head, n;
  /* The oldest nx of the n samples left the fit (runs test) and only
   * extend the runs test of later fits (at most as many as the fit has). */
  uint32_t nx;
  uint32_t refused_run; /* delay-filter refusals in a row */
  p2pc_srcest est;
} p2pc_srcstats;

/* Fills cfg with the defaults above. */
void p2pc_srcstats_config_default(p2pc_srcstats_config *cfg);
/* An empty window. cfg NULL means defaults; out-of-range values are clamped. */
void p2pc_srcstats_init(p2pc_srcstats *s, const p2pc_srcstats_config *cfg);
/* Forgets every sample (e.g. the source restarted), keeping the totals. */
void p2pc_srcstats_reset(p2pc_srcstats *s);

/* Offers a sample (t must not be older than the newest sample's; an older
 * one is refused, as is one too far from the oldest for an int64_t span).
 * A delay below precision is raised to it, a negative disp to 0. Returns
 * true if it went into the window (and the estimate was refitted), false if
 * the delay filter or ordering refused it (the estimate is unchanged but
 * for est.filtered). */
bool p2pc_srcstats_add(p2pc_srcstats *s, const p2pc_sample *x);

const p2pc_srcest *p2pc_srcstats_est(const p2pc_srcstats *s);
/* The estimated offset at local time t (extrapolated along freq); 0 if the
 * estimate is not valid. */
double p2pc_srcest_offset_at(const p2pc_srcest *e, int64_t t);
/* An error bound for that offset, ns: min_delay/2 + disp + offset_sd +
 * skew * |t − t0| (with < 3 samples skew is 15 ppm, see above). Infinite
 * (HUGE_VAL) if the estimate is not valid. The min_delay/2 term is what
 * covers a path asymmetry, which no statistics can remove. */
double p2pc_srcest_error_at(const p2pc_srcest *e, int64_t t);

#endif /* P2PC_SRCSTATS_H */
