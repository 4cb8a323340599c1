/* SPDX-License-Identifier: MIT */
/*
 * The network clock (DESIGN.md "Clocks and time"): network time is the
 * local clock plus a correction c(L) that the node steers,
 *
 *   N(L) = L + c(L),  c(L) = c0 + freq * (L − L0) + slewed(L − L0)
 *
 * where slewed() moves c towards a pending adjustment at a bounded rate.
 * Steering never makes N jump: a new estimate changes freq (a rate) and the
 * pending adjustment (slewed away at max_slew), and since |freq| and
 * max_slew are both far below 1, N is strictly increasing. The one
 * exception is the initial step, allowed only while unsynchronized.
 *
 * Pure; times in ns of the local clock.
 */
#ifndef P2PC_NETCLOCK_H
#define P2PC_NETCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define P2PC_NETCLOCK_MAX_FREQ 1000e-6 /* |freq| is clamped to this */

typedef struct p2pc_netclock {
  int64_t l0;      /* local time of the last re-base */
  double c0;       /* correction at l0, ns */
  double freq;     /* frequency correction, dimensionless */
  double pending;  /* adjustment still to slew at l0, ns */
  double max_slew; /* slew rate, dimensionless, > 0 */
  /* Error bound: err0 at l0, growing at err_rate per ns of local time. */
  double err0, err_rate;
  bool synced;
  uint32_t steps, updates;
} p2pc_netclock;

void p2pc_netclock_init(p2pc_netclock *c, int64_t local_now, double max_slew);
/* c(L) for L >= l0 (for L < l0 the line is extended backwards without the
 * slew, which is monotonic too), and N(L) = L + c(L). */
double p2pc_netclock_corr(const p2pc_netclock *c, int64_t local);
int64_t p2pc_netclock_time(const p2pc_netclock *c, int64_t local);
/* Still to slew at local time L, ns. */
double p2pc_netclock_pending(const p2pc_netclock *c, int64_t local);
/* The error bound at L, ns (err0 + err_rate * (L − l0) + |pending|). */
double p2pc_netclock_error(const p2pc_netclock *c, int64_t local);

/* Re-bases at local and applies an estimate: freq becomes new_freq
 * (clamped), adj is added to what remains to be slewed (it replaces it if
 * replace_pending), and the error bound restarts at err with growth
 * err_rate. */
void p2pc_netclock_steer(p2pc_netclock *c, int64_t local, double adj,
                         bool replace_pending, double new_freq, double err,
                         double err_rate);
/* The initial step: only while !synced; moves c by adj at once. Returns
 * false (and does nothing) if synced. */
bool p2pc_netclock_step(p2pc_netclock *c, int64_t local, double adj);
/* Holdover: keeps freq and the pending slew, re-bases, error grows at
 * err_rate from the current bound. */
void p2pc_netclock_hold(p2pc_netclock *c, int64_t local, double err_rate);

#endif /* P2PC_NETCLOCK_H */
