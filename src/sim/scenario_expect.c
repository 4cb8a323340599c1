/* SPDX-License-Identifier: MIT */
/*
 * `expect` lines: the oracles a run must satisfy (spread, error,
 * convergence, causal order, membership, bounds, synced, falseticker,
 * expiry, metadata), each with its limit and window, normalised into the
 * text the summary shows.
 */
#include "scenario_internal.h"

#include <stdio.h>
#include <string.h>

/* "[after T] [until T]" from token `from` on, pairs to the end of the
 * line, into x's window (until defaults to the end of the run). Returns
 * 0, 1 for a word that is neither (the caller says its usage), or the
 * error already reported for a bad time. */
static int window(parser *p, int from, p2pc_scn_expect *x) {
  x->until_ns = UINT64_MAX;
  for (int i = from; i < p->ntok; i += 2) {
    bool after = strcmp(p->tok[i], "after") == 0;
    if (!after && strcmp(p->tok[i], "until") != 0)
      return 1;
    double v;
    if (!p2pc__scn_time_ns(p->tok[i + 1], MAX_TIME_S, false, &v))
      return p2pc__scn_bad(p, "expect: after and until take a time",
                           p->tok[i + 1]);
    if (after)
      x->after_ns = (uint64_t)v;
    else
      x->until_ns = (uint64_t)v;
  }
  return 0;
}

int p2pc__scn_d_expect(parser *p) {
  p2pc_scenario *sc = p->sc;
  static const char usage[] =
      "usage: expect spread < T [after T] [until T] | error < T ... | "
      "converge < T | causal ok | membership ok | bounds ok [after T] "
      "[until T] | lookups ok | "
      "views ok | synced all | synced >= N | falseticker N [after T] "
      "[until T] | expired 0 | expired <= N | meta_p99 <= BYTES | "
      "broadcast ok [grace T] | bcast_p99_hops <= N | bcast_latency_p99 < T "
      "| latency_p99 < T | flaps <= N | false_suspicions <= N | detect < T | "
      "unaddressable <= N | tier_max <= N ...";
  if (sc->nexpect >= P2PC_SCN_MAX_EXPECT)
    return p2pc__scn_fail(p, "too many expectations (at most %d)",
                          P2PC_SCN_MAX_EXPECT);
  if (p->ntok < 3)
    return p2pc__scn_fail(p, "%s", usage);
  p2pc_scn_expect x;
  memset(&x, 0, sizeof x);
  x.line = p->line;
  const char *w = p->tok[1];
  double v;
  uint64_t n;
  if (strcmp(w, "spread") == 0 || strcmp(w, "error") == 0) {
    if ((p->ntok != 4 && p->ntok != 6 && p->ntok != 8) ||
        strcmp(p->tok[2], "<") != 0)
      return p2pc__scn_fail(p, "usage: expect %s < T [after T] [until T]", w);
    if (!p2pc__scn_time_ns(p->tok[3], 1e6, false, &v) || v <= 0)
      return p2pc__scn_bad(p, "expect: the limit must be a time above 0",
                           p->tok[3]);
    x.kind = w[0] == 's' ? P2PC_SCN_SPREAD : P2PC_SCN_ERROR;
    x.limit = v;
    int rv = window(p, 4, &x);
    if (rv < 0)
      return rv;
    if (rv > 0)
      return p2pc__scn_fail(p, "usage: expect %s < T [after T] [until T]", w);
    if (x.until_ns <= x.after_ns)
      return p2pc__scn_fail(p, "expect: until must come after after");
  } else if (strcmp(w, "converge") == 0) {
    if (p->ntok != 4 || strcmp(p->tok[2], "<") != 0)
      return p2pc__scn_fail(p, "usage: expect converge < T");
    if (!p2pc__scn_time_ns(p->tok[3], MAX_TIME_S, false, &v) || v <= 0)
      return p2pc__scn_bad(p, "expect: the limit must be a time above 0",
                           p->tok[3]);
    x.kind = P2PC_SCN_CONVERGE;
    x.limit = v / NS_PER_S;
  } else if (strcmp(w, "bounds") == 0) {
    /* a window: the violations of its seconds only (a scenario whose
     * followers knowingly leave their reference, as while they judge a
     * liar, checks before and after) */
    if (p->ntok < 3 || strcmp(p->tok[2], "ok") != 0)
      return p2pc__scn_fail(p, "usage: expect bounds ok [after T] [until T]");
    x.kind = P2PC_SCN_BOUNDS;
    int rv = window(p, 3, &x);
    if (rv < 0)
      return rv;
    if (rv > 0)
      return p2pc__scn_fail(p, "usage: expect bounds ok [after T] [until T]");
    if (x.until_ns <= x.after_ns)
      return p2pc__scn_fail(p, "expect: until must come after after");
  } else if (strcmp(w, "causal") == 0 || strcmp(w, "membership") == 0 ||
             strcmp(w, "lookups") == 0 || strcmp(w, "views") == 0) {
    if (p->ntok != 3 || strcmp(p->tok[2], "ok") != 0)
      return p2pc__scn_fail(p, "usage: expect %s ok", w);
    x.kind = w[0] == 'c'   ? P2PC_SCN_CAUSAL
             : w[0] == 'm' ? P2PC_SCN_MEMBERSHIP
             : w[0] == 'l' ? P2PC_SCN_LOOKUPS
                           : P2PC_SCN_VIEWS;
  } else if (strcmp(w, "synced") == 0) {
    x.kind = P2PC_SCN_SYNCED;
    if (p->ntok == 3 && strcmp(p->tok[2], "all") == 0) {
      x.count = 0;
    } else if (p->ntok == 4 && strcmp(p->tok[2], ">=") == 0 &&
               p2pc__scn_uint_in(p->tok[3], 1, P2PC_SIM_MAX_NODES, &n)) {
      x.count = (uint32_t)n;
    } else {
      return p2pc__scn_fail(p, "usage: expect synced all | expect synced >= N");
    }
  } else if (strcmp(w, "falseticker") == 0) {
    if ((p->ntok != 3 && p->ntok != 5 && p->ntok != 7) ||
        !p2pc__scn_uint_in(p->tok[2], 0, P2PC_SIM_MAX_NODES - 1, &n))
      return p2pc__scn_fail(
          p, "usage: expect falseticker N [after T] [until T] (N: a "
             "node index)");
    x.kind = P2PC_SCN_FALSETICKER;
    x.node = (uint32_t)n;
    x.at_end = p->ntok == 3;
    int rv = window(p, 3, &x);
    if (rv < 0)
      return rv;
    if (rv > 0)
      return p2pc__scn_fail(p,
                            "usage: expect falseticker N [after T] [until T]");
    if (x.until_ns <= x.after_ns)
      return p2pc__scn_fail(p, "expect: until must come after after");
  } else if (strcmp(w, "expired") == 0) {
    x.kind = P2PC_SCN_EXPIRED;
    if (p->ntok == 3 && strcmp(p->tok[2], "0") == 0) {
      x.limit = 0;
    } else if (p->ntok == 4 && strcmp(p->tok[2], "<=") == 0 &&
               p2pc__scn_uint_in(p->tok[3], 0, UINT32_MAX, &n)) {
      x.limit = (double)n;
    } else {
      return p2pc__scn_fail(p, "usage: expect expired 0 | expect expired <= N");
    }
  } else if (strcmp(w, "tier_max") == 0 || strcmp(w, "tier_p99") == 0) {
    if ((p->ntok != 4 && p->ntok != 6 && p->ntok != 8) ||
        strcmp(p->tok[2], "<=") != 0 ||
        !p2pc__scn_uint_in(p->tok[3], 0, 255, &n))
      return p2pc__scn_fail(p, "usage: expect %s <= N [after T] [until T]", w);
    x.kind = w[5] == 'm' ? P2PC_SCN_TIER_MAX : P2PC_SCN_TIER_P99;
    x.limit = (double)n;
    int rv = window(p, 4, &x);
    if (rv < 0)
      return rv;
    if (rv > 0 || x.until_ns <= x.after_ns)
      return p2pc__scn_fail(p, "usage: expect %s <= N [after T] [until T]", w);
  } else if (strcmp(w, "dgram_rate") == 0 || strcmp(w, "wake_rate") == 0) {
    const char *rest = "";
    double r = 0;
    if (p->ntok != 6 || strcmp(p->tok[2], "<=") != 0 ||
        strcmp(p->tok[4], "after") != 0)
      return p2pc__scn_fail(p, "usage: expect %s <= R after T", w);
    if (!p2pc__scn_number(p->tok[3], &r, &rest) || *rest || r < 0)
      return p2pc__scn_bad(p,
                           w[0] == 'd'
                               ? "expect dgram_rate: datagrams a node a "
                                 "second, a number >= 0"
                               : "expect wake_rate: wake-ups a node a "
                                 "second, a number >= 0",
                           p->tok[3]);
    int rv = window(p, 4, &x);
    if (rv != 0)
      return rv < 0 ? rv
                    : p2pc__scn_fail(p, "usage: expect %s <= R after T", w);
    if (sc->cfg.dgram_after_ns != UINT64_MAX &&
        sc->cfg.dgram_after_ns != x.after_ns)
      return p2pc__scn_fail(
          p, "expect %s: one window a scenario for dgram_rate and wake_rate",
          w);
    x.kind = w[0] == 'd' ? P2PC_SCN_DGRAM_RATE : P2PC_SCN_WAKE_RATE;
    x.limit = r;
    sc->cfg.dgram_after_ns = x.after_ns; /* the counting window */
  } else if (strcmp(w, "meta_p99") == 0) {
    if (p->ntok != 4 || strcmp(p->tok[2], "<=") != 0)
      return p2pc__scn_fail(p, "usage: expect meta_p99 <= BYTES");
    if (!p2pc__scn_uint_in(p->tok[3], 0, UINT32_MAX, &n))
      return p2pc__scn_bad(
          p, "expect meta_p99: BYTES must be an integer 0..4294967295",
          p->tok[3]);
    x.kind = P2PC_SCN_META_P99;
    x.limit = (double)n;
  } else if (strcmp(w, "broadcast") == 0) {
    if ((p->ntok != 3 && p->ntok != 5) || strcmp(p->tok[2], "ok") != 0 ||
        (p->ntok == 5 && strcmp(p->tok[3], "grace") != 0))
      return p2pc__scn_fail(p, "usage: expect broadcast ok [grace T]");
    if (p->ntok == 5) {
      if (!p2pc__scn_time_ns(p->tok[4], 86400, false, &v))
        return p2pc__scn_bad(p, "expect broadcast ok grace T: a time, like 5s",
                             p->tok[4]);
      sc->cfg.bcast_grace_ns = (uint64_t)v;
    }
    x.kind = P2PC_SCN_BCAST;
  } else if (strcmp(w, "bcast_latency_p99") == 0 ||
             strcmp(w, "latency_p99") == 0 || strcmp(w, "detect") == 0) {
    if (p->ntok != 4 || strcmp(p->tok[2], "<") != 0)
      return p2pc__scn_fail(p, "usage: expect %s < T", w);
    if (!p2pc__scn_time_ns(p->tok[3], 86400, false, &v) || v <= 0)
      return p2pc__scn_bad(p, "expect: the limit must be a time above 0",
                           p->tok[3]);
    x.kind = w[0] == 'b'   ? P2PC_SCN_BCAST_LAT
             : w[0] == 'l' ? P2PC_SCN_LATENCY
                           : P2PC_SCN_DETECT;
    x.limit = v;
    if (x.kind == P2PC_SCN_DETECT) { /* the oracle's window */
      sc->cfg.detect_ns = (uint64_t)v;
      x.limit = v / NS_PER_S;
    }
  } else if (strcmp(w, "bcast_p99_hops") == 0 || strcmp(w, "flaps") == 0 ||
             strcmp(w, "false_suspicions") == 0 ||
             strcmp(w, "unaddressable") == 0) {
    bool zero = p->ntok == 3 && strcmp(p->tok[2], "0") == 0;
    if (!zero && (p->ntok != 4 || strcmp(p->tok[2], "<=") != 0 ||
                  !p2pc__scn_uint_in(p->tok[3], 0, UINT32_MAX, &n)))
      return p2pc__scn_fail(p, "usage: expect %s <= N (or %s 0)", w, w);
    x.kind = w[0] == 'b'               ? P2PC_SCN_BCAST_HOPS
             : strcmp(w, "flaps") == 0 ? P2PC_SCN_FLAPS
             : w[0] == 'f'             ? P2PC_SCN_FALSE_SUSP
                                       : P2PC_SCN_UNADDR;
    x.limit = zero ? 0 : (double)n;
  } else {
    return p2pc__scn_bad(
        p,
        "expect: unknown oracle (spread, error, converge, causal, "
        "membership, bounds, lookups, views, synced, falseticker, expired, "
        "meta_p99, broadcast, bcast_p99_hops, bcast_latency_p99, "
        "latency_p99, flaps, false_suspicions, detect, unaddressable, "
        "tier_max, tier_p99, dgram_rate, wake_rate)",
        w);
  }
  /* the words as written, normalised to single blanks */
  size_t o = 0;
  for (int i = 1; i < p->ntok && o + 1 < sizeof x.text; i++) {
    int w2 = snprintf(x.text + o, sizeof x.text - o, "%s%s", i > 1 ? " " : "",
                      p->tok[i]);
    if (w2 < 0)
      break;
    o += (size_t)w2;
  }
  sc->expect[sc->nexpect++] = x;
  return 0;
}
