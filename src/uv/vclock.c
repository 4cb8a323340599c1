/* SPDX-License-Identifier: MIT */
/*
 * The node's local clock (uv_int.h): CLOCK_REALTIME, or a virtual clock
 * derived from it by an offset and a drift, and the clock readings of a
 * loop turn. Every reading of the local clock, kernel packet stamps
 * included, goes through p2pc_uv__local_of_real.
 */
#include "uv_int.h"

#include <math.h>
#include <time.h>

/* The virtual clock's offset stays within this many seconds. */
#define VCLOCK_OFFSET_MAX 1e6
#define VCLOCK_DRIFT_MAX 1000.0

int64_t p2pc_uv__ns_of_timespec(const struct timespec *ts) {
  return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int64_t p2pc_uv__real_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return p2pc_uv__ns_of_timespec(&ts);
}

void p2pc_uv__vclock_init(p2pc_uv_vclock *vc, bool on, double offset_s,
                          double drift_ppm) {
  vc->on = on;
  vc->base_ns = p2pc_uv__real_now();
  vc->offset_ns = on ? llround(offset_s * 1e9) : 0;
  vc->drift_ppm = on ? drift_ppm : 0;
}

/* The one transform from CLOCK_REALTIME to the node's local clock. The
 * drift term is computed in long double (ns since the base times a ppm
 * fits its 64-bit mantissa) and rounded once. */
int64_t p2pc_uv__local_of_real(const p2pc_uv_vclock *vc, int64_t real_ns) {
  if (!vc->on)
    return real_ns;
  long double drift =
      (long double)vc->drift_ppm * 1e-6L * (long double)(real_ns - vc->base_ns);
  return real_ns + vc->offset_ns + (int64_t)llroundl(drift);
}

p2pc_now p2pc_uv__now(p2pc_uv *u) {
  if (!u->now_valid) {
    u->now_real = p2pc_uv__real_now();
    u->now.mono_ns = uv_hrtime();
    u->now.local_ns = p2pc_uv__local_of_real(&u->vc, u->now_real);
    u->now_valid = true;
  }
  return u->now;
}

int p2pc_uv__vclock_adjust(p2pc_uv_vclock *vc, bool step, double step_s,
                           bool drift, double drift_ppm) {
  if (!vc->on || (step && !(fabs(step_s) <= VCLOCK_OFFSET_MAX)) ||
      (drift && !(fabs(drift_ppm) <= VCLOCK_DRIFT_MAX)))
    return P2PC_ERR_INVAL;
  /* Re-base at now: the offset absorbs the drift so far, so a new drift
   * takes over without a jump; a step is the only jump. */
  int64_t real = p2pc_uv__real_now();
  int64_t off = p2pc_uv__local_of_real(vc, real) - real;
  if (step)
    off += llround(step_s * 1e9);
  if (!(fabs((double)off) <= VCLOCK_OFFSET_MAX * 1e9))
    return P2PC_ERR_INVAL;
  vc->offset_ns = off;
  vc->base_ns = real;
  if (drift)
    vc->drift_ppm = drift_ppm;
  return 0;
}

int p2pc_uv_vclock_adjust(p2pc_uv *u, bool step, double step_s, bool drift,
                          double drift_ppm) {
  int rv = p2pc_uv__vclock_adjust(&u->vc, step, step_s, drift, drift_ppm);
  if (rv == 0)
    u->now_valid = false; /* the rest of this turn sees the new clock */
  return rv;
}

/* The offset (local - real), seconds, at this turn's clock reading:
 * local_ns - offset is then exactly the real time of now. */
bool p2pc_uv_vclock_get(p2pc_uv *u, double *offset_s, double *drift_ppm) {
  if (!u->vc.on)
    return false;
  p2pc_now now = p2pc_uv__now(u);
  *offset_s = (double)(now.local_ns - u->now_real) / 1e9;
  *drift_ppm = u->vc.drift_ppm;
  return true;
}

p2pc_now p2pc_uv_now(p2pc_uv *u) { return p2pc_uv__now(u); }
