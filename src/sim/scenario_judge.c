/* SPDX-License-Identifier: MIT */
/*
 * The judge of scenario.h: fed every per-second row, a look at the nodes
 * for the falseticker oracle, then the result, it gives each expectation
 * PASS, FAIL or SKIP (it could not be judged) with the detail the summary
 * shows.
 */
#include "scenario_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void p2pc_scn_format_ns(double ns, char *s, size_t n) {
  double a = fabs(ns);
  if (a < 1e3)
    snprintf(s, n, "%.0f ns", ns);
  else if (a < 1e6)
    snprintf(s, n, "%.1f us", ns / 1e3);
  else if (a < 1e9)
    snprintf(s, n, "%.2f ms", ns / 1e6);
  else
    snprintf(s, n, "%.3f s", ns / 1e9);
}

void p2pc_scn_judge_init(p2pc_scn_judge *j, const p2pc_scenario *sc) {
  memset(j, 0, sizeof *j);
  j->n = sc->nexpect;
}

void p2pc_scn_judge_row(p2pc_scn_judge *j, const p2pc_scenario *sc,
                        const p2pc_sim_second *row) {
  for (uint32_t i = 0; i < j->n; i++) {
    const p2pc_scn_expect *x = &sc->expect[i];
    p2pc_scn_verdict *v = &j->v[i];
    if (x->kind != P2PC_SCN_SPREAD && x->kind != P2PC_SCN_ERROR &&
        x->kind != P2PC_SCN_TIER_MAX && x->kind != P2PC_SCN_TIER_P99 &&
        x->kind != P2PC_SCN_BOUNDS)
      continue;
    double t = (double)row->t_s * NS_PER_S;
    if (t < (double)x->after_ns || t >= (double)x->until_ns)
      continue;
    if (x->kind == P2PC_SCN_BOUNDS) { /* the window's violations */
      v->measured += row->bound_violations;
      v->seen = true;
      continue;
    }
    double m = x->kind == P2PC_SCN_SPREAD     ? row->spread
               : x->kind == P2PC_SCN_ERROR    ? row->err_max
               : x->kind == P2PC_SCN_TIER_MAX ? row->tier_max
                                              : row->tier_p99;
    if (!v->seen || m > v->measured)
      v->measured = m;
    v->seen = true;
  }
}

/* One look at how the others treat x->node's clock: true if they all
 * reject it; why in s either way. */
static bool judge_liar(const p2pc_sim *sim, uint32_t node, char *s, size_t n) {
  p2pc_sim_falseticker f;
  if (!p2pc_sim_falseticker_get(sim, node, &f)) {
    snprintf(s, n, "n%u is not a node", node);
    return false;
  }
  if (!f.alive) {
    snprintf(s, n, "n%u is not alive", node);
    return false;
  }
  if (f.followers) {
    snprintf(s, n, "n%u is the reference of %u nodes", node, f.followers);
    return false;
  }
  if (!f.judges) {
    snprintf(s, n, "no synced node to judge n%u", node);
    return false;
  }
  if (f.rejecting < f.judges) {
    snprintf(s, n, "n%u used by %u of %u synced nodes (n%u first)", node,
             f.judges - f.rejecting, f.judges, f.first_user);
    return false;
  }
  snprintf(s, n, "n%u rejected by %u of %u synced nodes, %u as falseticker",
           node, f.rejecting, f.judges, f.marked);
  return true;
}

void p2pc_scn_judge_sim(p2pc_scn_judge *j, const p2pc_scenario *sc,
                        const p2pc_sim *s, uint64_t t_s, bool end) {
  for (uint32_t i = 0; i < j->n; i++) {
    const p2pc_scn_expect *x = &sc->expect[i];
    p2pc_scn_verdict *v = &j->v[i];
    if (x->kind != P2PC_SCN_FALSETICKER || x->at_end != end)
      continue;
    double t = (double)t_s * NS_PER_S;
    if (!end && (t < (double)x->after_ns || t >= (double)x->until_ns))
      continue;
    char why[80];
    bool ok = judge_liar(s, x->node, why, sizeof why);
    v->seen = true;
    if (end) { /* measured: 1 if the end fails */
      v->measured = !ok;
      snprintf(v->detail, sizeof v->detail, "%s", why);
    } else if (!ok) { /* measured: the failing seconds; the first says why */
      if (v->measured == 0)
        snprintf(v->detail, sizeof v->detail, "at %llu s: %s",
                 (unsigned long long)t_s, why);
      v->measured++;
    } else if (v->measured == 0) {
      snprintf(v->detail, sizeof v->detail, "%s, at %llu s", why,
               (unsigned long long)t_s);
    }
  }
}

static void skip(p2pc_scn_verdict *v, const char *why) {
  v->skipped = true;
  v->pass = true;
  snprintf(v->detail, sizeof v->detail, "%s", why);
}

/* The overlay's oracles (sim.h: the result's broadcast, latency and
 * membership accuracy figures). */
static void judge_overlay(const p2pc_scn_expect *x, p2pc_scn_verdict *v,
                          const p2pc_sim_result *r) {
  char a[24], b[24];
  switch (x->kind) {
  case P2PC_SCN_BCAST:
    if (!r->bcast_judged) {
      skip(v, "no broadcast followed and sent before the grace");
      return;
    }
    if (!r->bcast_flagged) {
      skip(v, "no delivery flagged broadcast (not network-wide)");
      return;
    }
    v->measured = (double)(r->bcast_missing + r->bcast_dups);
    v->pass = v->measured == 0;
    snprintf(v->detail, sizeof v->detail,
             "%llu broadcasts: %llu missing, %llu duplicate",
             (unsigned long long)r->bcast_judged,
             (unsigned long long)r->bcast_missing,
             (unsigned long long)r->bcast_dups);
    break;
  case P2PC_SCN_BCAST_HOPS:
    if (!r->hops_n) {
      skip(v, "no delivery flagged broadcast");
      return;
    }
    v->measured = (double)r->hops_p99;
    v->pass = v->measured <= x->limit;
    snprintf(v->detail, sizeof v->detail, "p99 %llu, p50 %llu, max %llu",
             (unsigned long long)r->hops_p99, (unsigned long long)r->hops_p50,
             (unsigned long long)r->hops_max);
    break;
  case P2PC_SCN_BCAST_LAT:
  case P2PC_SCN_LATENCY: {
    bool bc = x->kind == P2PC_SCN_BCAST_LAT;
    uint64_t nn = bc ? r->blat_n : r->lat_n;
    if (!nn) {
      skip(v, bc ? "no broadcast delivery measured"
                 : "no message delivery measured");
      return;
    }
    v->measured = (double)(bc ? r->blat_p99 : r->lat_p99);
    v->pass = v->measured < x->limit;
    p2pc_scn_format_ns(v->measured, a, sizeof a);
    p2pc_scn_format_ns((double)(bc ? r->blat_p50 : r->lat_p50), b, sizeof b);
    snprintf(v->detail, sizeof v->detail, "p99 %s, p50 %s (%llu deliveries)", a,
             b, (unsigned long long)nn);
    break;
  }
  case P2PC_SCN_FLAPS:
    v->measured = (double)r->flaps;
    v->pass = v->measured <= x->limit;
    snprintf(v->detail, sizeof v->detail, "%llu peer_down without a fault",
             (unsigned long long)r->flaps);
    break;
  case P2PC_SCN_FALSE_SUSP:
    v->measured = (double)r->false_suspicions;
    v->pass = v->measured <= x->limit;
    snprintf(v->detail, sizeof v->detail, "%llu false, %llu member events",
             (unsigned long long)r->false_suspicions,
             (unsigned long long)r->member_events);
    break;
  case P2PC_SCN_DETECT:
    if (!r->detect_judged) {
      skip(v, "no crash or freeze lasted the window");
      return;
    }
    v->measured = (double)r->detect_max_ns / NS_PER_S;
    v->pass = r->detect_missed == 0 && v->measured < x->limit;
    p2pc_scn_format_ns((double)r->detect_max_ns, a, sizeof a);
    snprintf(v->detail, sizeof v->detail,
             "%llu failures: slowest %s, %llu nodes missed one",
             (unsigned long long)r->detect_judged, a,
             (unsigned long long)r->detect_missed);
    break;
  case P2PC_SCN_UNADDR:
    v->measured = (double)r->unaddressable;
    v->pass = v->measured <= x->limit;
    snprintf(v->detail, sizeof v->detail, "%llu unaddressable, %llu waited",
             (unsigned long long)r->unaddressable,
             (unsigned long long)r->resolve_waits);
    break;
  default:
    break;
  }
}

uint32_t p2pc_scn_judge_end(p2pc_scn_judge *j, const p2pc_scenario *sc,
                            const p2pc_sim_result *r) {
  uint32_t failed = 0;
  char a[32];
  for (uint32_t i = 0; i < j->n; i++) {
    const p2pc_scn_expect *x = &sc->expect[i];
    p2pc_scn_verdict *v = &j->v[i];
    switch (x->kind) {
    case P2PC_SCN_SPREAD:
    case P2PC_SCN_ERROR:
      v->pass = v->seen && v->measured < x->limit;
      p2pc_scn_format_ns(v->measured, a, sizeof a);
      if (v->seen)
        snprintf(v->detail, sizeof v->detail, "worst %s", a);
      else
        snprintf(v->detail, sizeof v->detail, "no second in its window");
      break;
    case P2PC_SCN_TIER_MAX:
    case P2PC_SCN_TIER_P99:
      v->pass = v->seen && v->measured <= x->limit;
      if (v->seen)
        snprintf(v->detail, sizeof v->detail, "worst %.0f", v->measured);
      else
        snprintf(v->detail, sizeof v->detail, "no second in its window");
      break;
    case P2PC_SCN_DGRAM_RATE:
    case P2PC_SCN_WAKE_RATE: {
      if (!r->node_s_after) { /* after at or past the end: a mistake */
        snprintf(v->detail, sizeof v->detail, "no node-second in its window");
        break;
      }
      bool dg = x->kind == P2PC_SCN_DGRAM_RATE;
      uint64_t k = dg ? r->dgrams_after : r->wakes_after;
      v->measured = (double)k / (double)r->node_s_after;
      v->pass = v->measured <= x->limit;
      snprintf(v->detail, sizeof v->detail,
               "%.2f a node a second (%llu %s, %llu node-seconds)", v->measured,
               (unsigned long long)k, dg ? "datagrams" : "wake-ups",
               (unsigned long long)r->node_s_after);
      break;
    }
    case P2PC_SCN_CONVERGE:
      v->measured = r->conv_s;
      v->pass = r->conv_s >= 0 && r->conv_s < x->limit;
      if (r->conv_s >= 0)
        snprintf(v->detail, sizeof v->detail, "converged at %.0f s", r->conv_s);
      else
        snprintf(v->detail, sizeof v->detail, "not converged at the end");
      break;
    case P2PC_SCN_CAUSAL:
      if (!r->causal_checked) {
        v->skipped = true;
        v->pass = true;
        snprintf(v->detail, sizeof v->detail, "the causal oracle did not run");
        break;
      }
      v->measured = (double)(r->causal_violations + r->missing);
      v->pass = r->causal_violations == 0 && r->missing == 0;
      snprintf(v->detail, sizeof v->detail, "%llu violations, %llu missing",
               (unsigned long long)r->causal_violations,
               (unsigned long long)r->missing);
      break;
    case P2PC_SCN_MEMBERSHIP:
      v->pass = r->membership_ok;
      snprintf(v->detail, sizeof v->detail, "%s",
               r->membership_ok ? "connected, links as expected"
                                : "disconnected or short of links");
      break;
    case P2PC_SCN_LOOKUPS:
      v->measured = (double)r->lookups_found;
      v->pass = r->lookups > 0 && r->lookups_found == r->lookups;
      snprintf(v->detail, sizeof v->detail,
               "%llu of %llu found, %llu not found; rounds mean %.2f max %u",
               (unsigned long long)r->lookups_found,
               (unsigned long long)r->lookups,
               (unsigned long long)r->lookups_failed, r->lookup_rounds_mean,
               r->lookup_rounds_max);
      break;
    case P2PC_SCN_VIEWS:
      v->pass = r->views_ok;
      snprintf(v->detail, sizeof v->detail,
               "%s; links min %u mean %.1f max %u; passive min %u mean %.1f",
               r->views_ok ? "within bounds, filled" : "NOT as expected",
               r->deg_min, r->deg_mean, r->deg_max, r->passive_min,
               r->passive_mean);
      break;
    case P2PC_SCN_BOUNDS:
      if (x->after_ns == 0 && x->until_ns == UINT64_MAX)
        v->measured = (double)r->bound_violations;
      v->pass = v->measured == 0;
      snprintf(v->detail, sizeof v->detail, "%.0f violations", v->measured);
      break;
    case P2PC_SCN_SYNCED:
      v->measured = r->synced;
      v->pass = x->count ? r->synced >= x->count
                         : r->alive > 0 && r->synced == r->alive;
      snprintf(v->detail, sizeof v->detail, "%u of %u alive synced", r->synced,
               r->alive);
      break;
    case P2PC_SCN_EXPIRED:
      v->measured = (double)(r->expired_rx + r->expired_tx);
      v->pass = v->measured <= x->limit;
      snprintf(
          v->detail, sizeof v->detail, "%llu at receivers, %llu at senders",
          (unsigned long long)r->expired_rx, (unsigned long long)r->expired_tx);
      break;
    case P2PC_SCN_META_P99:
      if (!r->meta_msgs) {
        v->skipped = true;
        v->pass = true;
        snprintf(v->detail, sizeof v->detail,
                 "no message sent to another node");
        break;
      }
      v->measured = (double)r->meta_p99;
      v->pass = v->measured <= x->limit;
      snprintf(v->detail, sizeof v->detail,
               "p99 %llu B (mean %.0f, max %llu; %llu messages)",
               (unsigned long long)r->meta_p99, r->meta_per_msg,
               (unsigned long long)r->meta_max,
               (unsigned long long)r->meta_msgs);
      break;
    case P2PC_SCN_BCAST:
    case P2PC_SCN_BCAST_HOPS:
    case P2PC_SCN_BCAST_LAT:
    case P2PC_SCN_LATENCY:
    case P2PC_SCN_FLAPS:
    case P2PC_SCN_FALSE_SUSP:
    case P2PC_SCN_DETECT:
    case P2PC_SCN_UNADDR:
      judge_overlay(x, v, r);
      break;
    case P2PC_SCN_FALSETICKER:
      v->pass = v->seen && v->measured == 0;
      if (!v->seen)
        snprintf(v->detail, sizeof v->detail, "%s",
                 x->at_end ? "not judged (no look at the nodes at the end)"
                           : "no second in its window");
      else if (!x->at_end && v->measured > 1)
        snprintf(v->detail + strlen(v->detail),
                 sizeof v->detail - strlen(v->detail), "; %.0f s in all",
                 v->measured);
      break;
    }
    if (!v->pass)
      failed++;
  }
  return failed;
}
