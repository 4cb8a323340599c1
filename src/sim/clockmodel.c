/* SPDX-License-Identifier: MIT */
/*
 * The clock model: each node's local clock as an offset from true time
 * that drifts linearly in segments (a step or a new drift starts a
 * segment), with a random-walk wander each second, read noise and a
 * granularity; and the noiseless reading the oracles use so that looking
 * changes nothing.
 */
#include "sim_internal.h"

#include <math.h>

double p2pc__sim_clk_off(const clk *c, uint64_t t) {
  return c->off0 + c->rate * (double)(t - c->t0);
}

/* A reading of node i's local clock at true time t. */
int64_t p2pc__sim_local_at(p2pc_sim *s, uint32_t i, uint64_t t) {
  clk *c = &s->nodes[i].c;
  double v = (double)t + p2pc__sim_clk_off(c, t);
  if (c->noise > 0)
    v += (2 * p2pc_rng_unit(&s->r[R_CLOCK]) - 1) * c->noise;
  int64_t l = EPOCH + (int64_t)llround(v);
  if (c->gran > 1)
    l -= l % (int64_t)c->gran;
  return l;
}

void p2pc__sim_clk_rebase(clk *c, uint64_t t) {
  c->off0 = p2pc__sim_clk_off(c, t);
  c->t0 = t;
}

p2pc_now p2pc__sim_now_of(p2pc_sim *s, uint32_t i) {
  p2pc_now n = {.mono_ns = MONO0 + s->now,
                .local_ns = p2pc__sim_local_at(s, i, s->now)};
  return n;
}

static p2pc_now clock_now(void *ud, uint32_t i) {
  return p2pc__sim_now_of(ud, i);
}

static int64_t clock_local(void *ud, uint32_t i) {
  p2pc_sim *s = ud;
  return p2pc__sim_local_at(s, i, s->now);
}

p2pc_drive_clock p2pc__sim_clock(p2pc_sim *s) {
  p2pc_drive_clock c = {clock_now, clock_local, s};
  return c;
}

void p2pc__sim_on_wander(p2pc_sim *s) {
  double w = s->cfg.clock_common.wander_ppm;
  for (uint32_t i = 0; i < s->cfg.nodes; i++) {
    clk *c = &s->nodes[i].c;
    p2pc__sim_clk_rebase(c, s->now);
    c->rate += w * 1e-6 * rng_normal(&s->r[R_CLOCK]);
  }
  p2pc__sim_push(s, s->now + SEC, E_WANDER, 0, 0, NULL);
}

/* A node's "now" for the oracles' read-only queries: the clock without its
 * read noise, whose draw would take a number from the run's clock stream
 * and so change the run just because somebody looked. */
p2pc_now p2pc__sim_quiet_now(const p2pc_sim *s, uint32_t i) {
  const clk *c = &s->nodes[i].c;
  int64_t l =
      EPOCH + (int64_t)llround((double)s->now + p2pc__sim_clk_off(c, s->now));
  if (c->gran > 1)
    l -= l % (int64_t)c->gran;
  p2pc_now n = {.mono_ns = MONO0 + s->now, .local_ns = l};
  return n;
}
