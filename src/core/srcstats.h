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

/* One completed exchange, in the local clock's time scale. */
typedef struct p2pc_sample {
  int64_t t;      /* local time of the sample: midpoint of T1 and T4 */
  int64_t offset; /* source clock − local clock at t */
  int64_t delay;  /* round trip, >= precision */
  int64_t disp;   /* dispersion when measured (precisions + PHI * (T4−T1)) */
} p2pc_sample;

typedef struct p2pc_srcstats_config {
  uint32_t max_samples; /* window, 3..P2PC_SRCSTATS_MAX [64] */
  int64_t precision_ns; /* floor for delay and jitter [1000] */
  /* Delay filter: once the window holds >= 4 samples, a sample whose delay
   * exceeds min_delay + delay_dev_ratio * (median delay − min delay) +
   * precision is filtered out (not added) [10]. */
  double delay_dev_ratio;
  double max_freq; /* |slope| above this is clamped [500e-6] */
} p2pc_srcstats_config;

/* The current estimate. */
typedef struct p2pc_srcest {
  bool valid;          /* at least one sample */
  uint32_t n;          /* samples in the fit */
  int64_t t0;          /* reference time of offset (the newest sample's t) */
  double offset;       /* estimated offset at t0, ns */
  double freq;         /* d offset / d local time (0 with < 3 samples) */
  double offset_sd;    /* standard error of offset at t0, ns */
  double skew;         /* frequency error bound (dimensionless) */
  int64_t min_delay;   /* smallest delay in the window, ns */
  int64_t last_delay;  /* delay of the newest sample, ns */
  double jitter;       /* RMS of the weighted residuals, ns, >= precision */
  double disp;         /* dispersion of the best sample, ns */
  uint32_t runs;       /* sign runs of the residuals in the last fit */
  uint32_t dropped;    /* samples the last runs test discarded */
  uint64_t filtered;   /* samples the delay filter refused, total */
  uint64_t accepted;   /* samples taken into the window, total */
} p2pc_srcest;

typedef struct p2pc_srcstats {
  p2pc_srcstats_config cfg;
  p2pc_sample s[P2PC_SRCSTATS_MAX]; /* ring, oldest first from head */
  uint32_t head, n;
  p2pc_srcest est;
} p2pc_srcstats;

/* Fills cfg with the defaults above. */
void p2pc_srcstats_config_default(p2pc_srcstats_config *cfg);
/* An empty window. cfg NULL means defaults; out-of-range values are clamped. */
void p2pc_srcstats_init(p2pc_srcstats *s, const p2pc_srcstats_config *cfg);
/* Forgets every sample (e.g. the source restarted), keeping the totals. */
void p2pc_srcstats_reset(p2pc_srcstats *s);

/* Offers a sample (t must not be older than the newest sample's; an older
 * one is refused). Returns true if it went into the window (and the
 * estimate was refitted), false if the delay filter or ordering refused
 * it. */
bool p2pc_srcstats_add(p2pc_srcstats *s, const p2pc_sample *x);

const p2pc_srcest *p2pc_srcstats_est(const p2pc_srcstats *s);
/* The estimated offset at local time t (extrapolated along freq). */
double p2pc_srcest_offset_at(const p2pc_srcest *e, int64_t t);
/* An error bound for that offset, ns: min_delay/2 + disp + offset_sd +
 * skew * |t − t0| + (with < 3 samples) 15 ppm * |t − t0|. Infinite
 * (HUGE_VAL) if the estimate is not valid. */
double p2pc_srcest_error_at(const p2pc_srcest *e, int64_t t);

#endif /* P2PC_SRCSTATS_H */
