/* SPDX-License-Identifier: MIT */
/*
 * `at` lines: the run's timed events (partitions, heals, crashes,
 * restarts, joins and leaves, one at a time over a span or all at once,
 * slow nodes, clock steps and drifts, link changes, lookups) into the
 * configuration's event list, with the line each came from.
 */
#include "scenario_internal.h"

#include <stdio.h>
#include <string.h>

static int add_event(parser *p, const p2pc_sim_event *e) {
  p2pc_scenario *sc = p->sc;
  if (sc->cfg.nevents >= P2PC_SIM_MAX_EVENTS)
    return p2pc__scn_fail(p, "too many events (at most %d)",
                          P2PC_SIM_MAX_EVENTS);
  sc->ev_line[sc->cfg.nevents] = p->line;
  sc->cfg.events[sc->cfg.nevents++] = *e;
  return 0;
}

/* at T[..T2] <what> <args> */
int p2pc__scn_d_at(parser *p) {
  static const char usage[] =
      "usage: at T partition A B | heal | crash R | restart R | join R | "
      "leave R | slow R xF | freeze R for D | clockstep R +-T | "
      "clockfreq R P | clockfreqstep R +-P | link ... | lookup R [of S]";
  if (p->ntok < 3)
    return p2pc__scn_fail(p, "%s", usage);
  char when[48];
  snprintf(when, sizeof when, "%s", p->tok[1]);
  char *dots = strstr(when, "..");
  double t0, t1;
  if (strlen(p->tok[1]) >= sizeof when)
    return p2pc__scn_bad(p, "at: the time must be like 30s or 0s..60s",
                         p->tok[1]);
  if (dots)
    *dots = '\0';
  if (!p2pc__scn_time_ns(when, MAX_TIME_S, false, &t0) ||
      (dots && !p2pc__scn_time_ns(dots + 2, MAX_TIME_S, false, &t1)))
    return p2pc__scn_bad(p, "at: the time must be like 30s or 0s..60s",
                         p->tok[1]);
  if (dots && t1 < t0)
    return p2pc__scn_bad(p, "at: a time span must not end before it starts",
                         p->tok[1]);
  const char *w = p->tok[2];
  p2pc_sim_event e;
  memset(&e, 0, sizeof e);
  e.at_ns = (uint64_t)t0;
  bool ranged = strcmp(w, "crash") == 0 || strcmp(w, "restart") == 0 ||
                strcmp(w, "join") == 0 || strcmp(w, "leave") == 0;
  if (dots && !ranged)
    return p2pc__scn_fail(p,
                          "at: a time span T..T2 is only for crash, restart, "
                          "join and leave");
  if (strcmp(w, "partition") == 0) {
    if (p->ntok != 5 || !p2pc__scn_node_range(p->tok[3], &e.a0, &e.a1) ||
        !p2pc__scn_node_range(p->tok[4], &e.b0, &e.b1))
      return p2pc__scn_fail(
          p, "usage: at T partition A B (node ranges like 0-49)");
    e.kind = P2PC_SIM_EV_PARTITION;
    return add_event(p, &e);
  }
  if (strcmp(w, "heal") == 0) {
    if (p->ntok != 3)
      return p2pc__scn_fail(p, "usage: at T heal");
    e.kind = P2PC_SIM_EV_HEAL;
    return add_event(p, &e);
  }
  if (strcmp(w, "link") == 0) {
    e.kind = P2PC_SIM_EV_LINK;
    e.link = p->sc->cfg.link; /* what is not given stays as `link` says */
    int rv = p2pc__scn_link_params(p, 3, &e.link);
    return rv ? rv : add_event(p, &e);
  }
  if (p->ntok < 4 || !p2pc__scn_node_range(p->tok[3], &e.a0, &e.a1))
    return p2pc__scn_fail(p, "%s (R: a node index or a range like 0-49)",
                          usage);
  if (strcmp(w, "lookup") == 0) {
    if (p->ntok == 6 && strcmp(p->tok[4], "of") == 0) {
      if (!p2pc__scn_node_range(p->tok[5], &e.b0, &e.b1))
        return p2pc__scn_bad(
            p, "at T lookup R of S: S is a node index or a range like 0-49",
            p->tok[5]);
    } else if (p->ntok != 4) {
      return p2pc__scn_fail(p, "usage: at T lookup R [of S]");
    }
    e.kind = P2PC_SIM_EV_LOOKUP;
    return add_event(p, &e);
  }
  if (ranged) {
    if (p->ntok != 4)
      return p2pc__scn_fail(p, "usage: at T %s R", w);
    e.kind = w[0] == 'c'   ? P2PC_SIM_EV_CRASH
             : w[0] == 'r' ? P2PC_SIM_EV_RESTART
             : w[0] == 'j' ? P2PC_SIM_EV_JOIN
                           : P2PC_SIM_EV_LEAVE;
    if (!dots)
      return add_event(p, &e);
    /* one node at a time, evenly over [t0, t1] */
    uint32_t m = e.a1 - e.a0, first = e.a0;
    if (m > P2PC_SIM_MAX_EVENTS - p->sc->cfg.nevents)
      return p2pc__scn_fail(p, "too many events (at most %d)",
                            P2PC_SIM_MAX_EVENTS);
    for (uint32_t k = 0; k < m; k++) {
      e.a0 = first + k;
      e.a1 = e.a0 + 1;
      e.at_ns = (uint64_t)(m > 1 ? t0 + (t1 - t0) * k / (m - 1) : t0);
      int rv = add_event(p, &e);
      if (rv)
        return rv;
    }
    return 0;
  }
  if (strcmp(w, "freeze") == 0) {
    double d;
    if (p->ntok != 6 || strcmp(p->tok[4], "for") != 0)
      return p2pc__scn_fail(p, "usage: at T freeze R for D (D: a time, like "
                               "3s)");
    if (!p2pc__scn_time_ns(p->tok[5], MAX_TIME_S, false, &d) || d < 1e6)
      return p2pc__scn_bad(p, "at T freeze R for D: D must be a time >= 1ms",
                           p->tok[5]);
    e.kind = P2PC_SIM_EV_FREEZE;
    e.x = d / NS_PER_S;
    return add_event(p, &e);
  }
  if (p->ntok != 5)
    return p2pc__scn_fail(p, "%s", usage);
  const char *v = p->tok[4];
  double x;
  const char *u;
  if (strcmp(w, "slow") == 0) {
    if (!p2pc__scn_number(v[0] == 'x' ? v + 1 : v, &x, &u) || *u || !(x >= 1) ||
        x > 1000)
      return p2pc__scn_bad(p, "at T slow R xF: F must be 1..1000", v);
    e.kind = P2PC_SIM_EV_SLOW;
    e.x = x;
  } else if (strcmp(w, "clockstep") == 0) {
    if (!p2pc__scn_time_ns(v, 1e6, true, &x))
      return p2pc__scn_bad(p, "at T clockstep R +-T: a signed time up to 1e6s",
                           v);
    e.kind = P2PC_SIM_EV_CLOCK_STEP;
    e.x = x / NS_PER_S;
  } else if (strcmp(w, "clockfreq") == 0) {
    if (!p2pc__scn_ppm(v, MAX_PPM, true, &x))
      return p2pc__scn_bad(
          p, "at T clockfreq R P: a drift in ppm, |P| <= 100000", v);
    e.kind = P2PC_SIM_EV_CLOCK_FREQ;
    e.x = x;
  } else if (strcmp(w, "clockfreqstep") == 0) {
    if (!p2pc__scn_ppm(v, MAX_PPM, true, &x))
      return p2pc__scn_bad(
          p,
          "at T clockfreqstep R +-P: a change of drift in ppm, |P| <= 100000",
          v);
    e.kind = P2PC_SIM_EV_CLOCK_FREQ_STEP;
    e.x = x;
  } else {
    return p2pc__scn_bad(p, "at: unknown event", w);
  }
  return add_event(p, &e);
}
