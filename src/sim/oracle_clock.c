/* SPDX-License-Identifier: MIT */
/*
 * The clock oracles, which know true time: every virtual second the row
 * of sim.h's p2pc_sim_second (true error p50/p99/max and spread of the
 * synced nodes, claimed bounds violated, convergence, causal state, the
 * second's counts); and the falseticker oracle, how the other nodes treat
 * one node's clock.
 */
#include "sim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The clock oracles leave out the nodes the scenario lies with on
 * purpose (`exclude`): a liar is not expected to agree. */
static bool excluded(const p2pc_sim *s, uint32_t i) {
  for (uint32_t k = 0; k < s->cfg.nexclude; k++)
    if (s->cfg.exclude[k] == i)
      return true;
  return false;
}

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The causal state of every alive node (a liar's too): the mean and the
 * largest, into the result (its last and its peaks) too. */
void p2pc__sim_sample_state(p2pc_sim *s, double *mean, uint64_t *max) {
  uint64_t sum = 0;
  uint32_t n = 0;
  *max = 0;
  for (uint32_t i = 0; i < s->cfg.nodes; i++) {
    snode *x = &s->nodes[i];
    if (!x->alive)
      continue;
    uint64_t b = p2pc_causal_state_bytes(p2pc_node_causal(x->n));
    sum += b;
    n++;
    if (b > *max)
      *max = b;
  }
  *mean = n ? (double)sum / n : 0;
  s->res.state_mean = *mean;
  s->res.state_max = *max;
  if (*mean > s->res.state_peak_mean)
    s->res.state_peak_mean = *mean;
  if (*max > s->res.state_peak)
    s->res.state_peak = *max;
}

void p2pc__sim_on_second(p2pc_sim *s,
                         void (*per_second)(void *, const p2pc_sim_second *),
                         void *ud, double *scratch) {
  p2pc_sim_second *row = &s->cur;
  memset(row, 0, sizeof *row);
  row->t_s = s->now / SEC;
  uint32_t m = 0, tiers[256] = {0};
  double lo = 0, hi = 0;
  int64_t ref_net = 0;
  const char *ref_id = "";
  bool have_ref = false;
  /* the reference's network time, for the bound check */
  for (uint32_t i = 0; i < s->cfg.nodes && !s->cfg.collaborative; i++) {
    snode *x = &s->nodes[i];
    if (!x->alive)
      continue;
    p2pc_tracking t;
    p2pc_node_tracking(x->n, p2pc__sim_now_of(s, i), &t);
    if (t.is_reference) {
      ref_net = p2pc_node_network_time(x->n, p2pc__sim_local_at(s, i, s->now));
      ref_id = x->id;
      have_ref = true;
      break;
    }
  }
  p2pc__sim_sample_state(s, &row->state_mean, &row->state_max);
  /* the datagram rate's node-seconds: every alive node, excluded or not
   * (its datagrams count too) */
  for (uint32_t i = 0; i < s->cfg.nodes && s->now > s->cfg.dgram_after_ns; i++)
    s->res.node_s_after += s->nodes[i].alive;
  for (uint32_t i = 0; i < s->cfg.nodes; i++) {
    snode *x = &s->nodes[i];
    if (!x->alive || excluded(s, i))
      continue;
    row->alive++;
    p2pc_tracking t;
    p2pc_node_tracking(x->n, p2pc__sim_now_of(s, i), &t);
    row->buffered += p2pc_causal_buffered(p2pc_node_causal(x->n));
    if (!t.synced)
      continue;
    row->synced++;
    if (!s->cfg.collaborative)
      tiers[t.hops]++;
    int64_t net =
        p2pc_node_network_time(x->n, p2pc__sim_local_at(s, i, s->now));
    double err = (double)(net - EPOCH - (int64_t)s->now);
    scratch[m++] = fabs(err);
    if (m == 1 || err < lo)
      lo = err;
    if (m == 1 || err > hi)
      hi = err;
    /* A node's bound is about its own reference: while an election is
     * still spreading, a node may follow another one (or none). */
    if (have_ref && !t.is_reference && strcmp(t.ref, ref_id) == 0) {
      /* The bound is the node's claim about its distance from the
       * reference; 1 us of slack for the sampling instant. */
      double d = fabs((double)(net - ref_net));
      if (d > t.err_ns + 1000)
        row->bound_violations++;
    }
  }
  if (m) {
    qsort(scratch, m, sizeof *scratch, cmp_dbl);
    row->err_p50 = scratch[m / 2];
    row->err_p99 = scratch[(m * 99) / 100 < m ? (m * 99) / 100 : m - 1];
    row->err_max = scratch[m - 1];
    row->spread = hi - lo;
    uint32_t below = 0;
    for (uint32_t k = 0; k < 256; k++) {
      if (!tiers[k])
        continue;
      row->tier_max = k;
      if (below < m - m / 100) /* the p99: 99 % of the nodes at or below */
        row->tier_p99 = k;
      below += tiers[k];
    }
  }
  row->msgs_sent = s->sec_sent;
  row->msgs_delivered = s->sec_deliv;
  row->meta_per_msg = p2pc__sim_hist_mean(&s->meta_sec);
  row->meta_p99 = p2pc__sim_hist_p99(&s->meta_sec);
  row->meta_max = s->meta_sec.max;
  row->deps_p99 = (uint32_t)p2pc__sim_hist_p99(&s->deps_sec);
  p2pc__sim_hist_clear(&s->meta_sec);
  p2pc__sim_hist_clear(&s->deps_sec);
  row->expired = s->sec_expired;
  p2pc__sim_bc_second(s, row);
  row->bytes = s->sec_bytes;
  row->events = s->seq - s->events_at_sec;
  s->events_at_sec = s->seq;
  s->sec_sent = s->sec_deliv = s->sec_expired = 0;
  s->sec_bytes = 0;
  s->res.bound_violations += row->bound_violations;
  bool good = m >= 2 && m == row->alive && row->spread < 100000;
  if (good && !s->conv_held) {
    s->conv_held = true;
    s->conv_from = s->now;
  } else if (!good) {
    s->conv_held = false;
  }
  s->res.final_spread_ns = row->spread;
  s->res.final_err_max_ns = row->err_max;
  s->res.final_tier_p99 = row->tier_p99;
  s->res.final_tier_max = row->tier_max;
  s->res.alive = row->alive;
  s->res.synced = row->synced;
  if (per_second)
    per_second(ud, row);
}

/* Whether judge j takes node i's clock in: i is its reference or the
 * neighbour it follows, or its source entry for i is selected or counted
 * into the average (truechimer). *marked: the entry says falseticker. */
static bool uses_clock_of(const p2pc_sim *s, uint32_t j, const char *id,
                          const p2pc_tracking *t, bool *marked) {
  const p2pc_node *n = s->nodes[j].n;
  *marked = false;
  if (strcmp(t->ref, id) == 0 || strcmp(t->source, id) == 0)
    return true;
  p2pc_now now = p2pc__sim_quiet_now(s, j);
  uint32_t m = p2pc_node_source_count(n);
  for (uint32_t k = 0; k < m; k++) {
    p2pc_source_info si;
    if (!p2pc_node_source_info(n, k, now, &si) || strcmp(si.id, id) != 0)
      continue;
    *marked = strcmp(si.state, "falseticker") == 0;
    return strcmp(si.state, "selected") == 0 ||
           strcmp(si.state, "truechimer") == 0 ||
           strcmp(si.state, "combined") == 0;
  }
  return false;
}

bool p2pc_sim_falseticker_get(const p2pc_sim *s, uint32_t i,
                              p2pc_sim_falseticker *f) {
  if (i >= s->cfg.nodes)
    return false;
  memset(f, 0, sizeof *f);
  f->first_user = UINT32_MAX;
  f->alive = s->nodes[i].alive;
  const char *id = s->nodes[i].id;
  for (uint32_t j = 0; j < s->cfg.nodes; j++) {
    const snode *x = &s->nodes[j];
    if (j == i || !x->alive)
      continue;
    p2pc_tracking t;
    p2pc_node_tracking(x->n, p2pc__sim_quiet_now(s, j), &t);
    if (strcmp(t.ref, id) == 0)
      f->followers++;
    if (!t.synced || excluded(s, j))
      continue;
    f->judges++;
    bool marked;
    if (uses_clock_of(s, j, id, &t, &marked)) {
      if (f->first_user == UINT32_MAX)
        f->first_user = j;
    } else {
      f->rejecting++;
      f->marked += marked;
    }
  }
  return true;
}
