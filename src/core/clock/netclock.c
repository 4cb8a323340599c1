/* SPDX-License-Identifier: MIT */
#include "netclock.h"

#include <math.h>

void p2pc_netclock_init(p2pc_netclock *c, int64_t local_now, double max_slew) {
  *c = (p2pc_netclock){.l0 = local_now,
                       .max_slew = max_slew > 0 ? max_slew : 500e-6,
                       .err0 = 0,
                       .err_rate = 0};
}

/* What has been slewed of the pending adjustment dt ns after l0. */
static double slewed(const p2pc_netclock *c, double dt) {
  if (dt <= 0 || c->pending == 0)
    return 0;
  double most = c->max_slew * dt;
  if (fabs(c->pending) <= most)
    return c->pending;
  return c->pending > 0 ? most : -most;
}

double p2pc_netclock_corr(const p2pc_netclock *c, int64_t local) {
  double dt = (double)(local - c->l0);
  return c->c0 + c->freq * dt + slewed(c, dt);
}

int64_t p2pc_netclock_time(const p2pc_netclock *c, int64_t local) {
  double corr = p2pc_netclock_corr(c, local);
  if (!(corr == corr) || fabs(corr) > 4e18) /* saturate, never overflow */
    corr = 0;
  return local + (int64_t)llround(corr);
}

double p2pc_netclock_pending(const p2pc_netclock *c, int64_t local) {
  return c->pending - slewed(c, (double)(local - c->l0));
}

double p2pc_netclock_error(const p2pc_netclock *c, int64_t local) {
  double dt = (double)(local - c->l0);
  if (dt < 0)
    dt = 0;
  return c->err0 + c->err_rate * dt + fabs(p2pc_netclock_pending(c, local));
}

static double clamp_freq(double f) {
  if (!(f == f)) /* NaN: keep the clock's rate */
    return 0;
  if (f > P2PC_NETCLOCK_MAX_FREQ)
    return P2PC_NETCLOCK_MAX_FREQ;
  if (f < -P2PC_NETCLOCK_MAX_FREQ)
    return -P2PC_NETCLOCK_MAX_FREQ;
  return f;
}

static void rebase(p2pc_netclock *c, int64_t local) {
  double pend = p2pc_netclock_pending(c, local);
  c->c0 = p2pc_netclock_corr(c, local);
  c->pending = pend;
  c->l0 = local;
}

void p2pc_netclock_steer(p2pc_netclock *c, int64_t local, double adj,
                         bool replace_pending, double new_freq, double err,
                         double err_rate) {
  rebase(c, local);
  if (adj == adj)
    c->pending = replace_pending ? adj : c->pending + adj;
  c->freq = clamp_freq(new_freq);
  c->err0 = err >= 0 ? err : 0;
  c->err_rate = err_rate >= 0 ? err_rate : 0;
  c->synced = true;
  c->updates++;
}

bool p2pc_netclock_step(p2pc_netclock *c, int64_t local, double adj) {
  if (c->synced || !(adj == adj))
    return false;
  rebase(c, local);
  c->c0 += adj;
  c->pending = 0;
  c->steps++;
  return true;
}

void p2pc_netclock_hold(p2pc_netclock *c, int64_t local, double err_rate) {
  double err = p2pc_netclock_error(c, local);
  rebase(c, local);
  c->err0 = err - fabs(c->pending);
  c->err_rate = err_rate >= 0 ? err_rate : 0;
}
