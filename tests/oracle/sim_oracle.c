/* SPDX-License-Identifier: MIT */
/*
 * The simulator's causal oracle end to end: runs p2pc_sim on real node
 * cores with traffic and faults, and judges the oracle's verdict (causal
 * order, exactly-once, eventual delivery after heal; src/check/evcheck.h).
 *
 *   sim_oracle [--nodes N] [--duration S] [--rate R] [--seed X]
 *              [--faults none|crash|partition|both|seq|leave] [--extend S]
 *              [--no-oracle] [--expect clean|any]
 *
 * --faults both: node 2 crashes at 30% of the run and restarts at 45%;
 * nodes [0, N/2) are cut from [N/2, N) at 20% and healed at 50%, so the
 * crash falls inside the partition. seq: node 2 crashes at 10% and
 * restarts at 25%, the cut lasts from 40% to 60%. leave: node 1 leaves
 * cleanly at 40%. --extend S runs S seconds more after that (the faults
 * stay where they were). Prints one summary line; with --expect clean (the
 * default) exits 1 unless the oracle checked the run and found nothing.
 * Wall time goes to stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static int usage(void) {
  fprintf(stderr, "usage: sim_oracle [--nodes N] [--duration S] [--rate R] "
                  "[--seed X] [--faults none|crash|partition|both|seq|leave] "
                  "[--extend S] [--no-oracle] [--expect clean|any]\n");
  return 2;
}

static void add_ev(p2pc_sim_config *c, double at_frac, p2pc_sim_ev_kind k,
                   uint32_t a0, uint32_t a1, uint32_t b0, uint32_t b1) {
  p2pc_sim_event *e = &c->events[c->nevents++];
  memset(e, 0, sizeof *e);
  e->at_ns = (uint64_t)((double)c->duration_ns * at_frac);
  e->kind = k;
  e->a0 = a0;
  e->a1 = a1;
  e->b0 = b0;
  e->b1 = b1;
}

int main(int argc, char **argv) {
  uint32_t nodes = 10;
  double duration = 30, rate = 2, extend = 0;
  uint64_t seed = 1;
  const char *faults = "both", *expect = "clean";
  bool oracle = true;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--no-oracle") == 0) {
      oracle = false;
      continue;
    }
    if (!v)
      return usage();
    i++;
    if (strcmp(a, "--nodes") == 0)
      nodes = (uint32_t)strtoul(v, NULL, 10);
    else if (strcmp(a, "--duration") == 0)
      duration = strtod(v, NULL);
    else if (strcmp(a, "--extend") == 0)
      extend = strtod(v, NULL);
    else if (strcmp(a, "--rate") == 0)
      rate = strtod(v, NULL);
    else if (strcmp(a, "--seed") == 0)
      seed = strtoull(v, NULL, 0);
    else if (strcmp(a, "--faults") == 0)
      faults = v;
    else if (strcmp(a, "--expect") == 0)
      expect = v;
    else
      return usage();
  }
  if (nodes < 4 || duration <= 0)
    return usage();
  static p2pc_sim_config cfg; /* large: the scenario events */
  p2pc_sim_config_default(&cfg, nodes);
  cfg.duration_ns = (uint64_t)(duration * 1e9);
  cfg.seed = seed;
  cfg.rate = rate;
  cfg.causal_oracle = oracle;
  bool seq = strcmp(faults, "seq") == 0;
  bool crash = strcmp(faults, "crash") == 0 || strcmp(faults, "both") == 0;
  bool cut = strcmp(faults, "partition") == 0 || strcmp(faults, "both") == 0;
  if (seq) { /* one after the other */
    add_ev(&cfg, 0.10, P2PC_SIM_EV_CRASH, 2, 3, 0, 0);
    add_ev(&cfg, 0.25, P2PC_SIM_EV_RESTART, 2, 3, 0, 0);
    add_ev(&cfg, 0.40, P2PC_SIM_EV_PARTITION, 0, nodes / 2, nodes / 2, nodes);
    add_ev(&cfg, 0.60, P2PC_SIM_EV_HEAL, 0, 0, 0, 0);
  }
  if (cut)
    add_ev(&cfg, 0.20, P2PC_SIM_EV_PARTITION, 0, nodes / 2, nodes / 2, nodes);
  if (crash) {
    add_ev(&cfg, 0.30, P2PC_SIM_EV_CRASH, 2, 3, 0, 0);
    add_ev(&cfg, 0.45, P2PC_SIM_EV_RESTART, 2, 3, 0, 0);
  }
  if (cut)
    add_ev(&cfg, 0.50, P2PC_SIM_EV_HEAL, 0, 0, 0, 0);
  if (strcmp(faults, "leave") == 0)
    add_ev(&cfg, 0.40, P2PC_SIM_EV_LEAVE, 1, 2, 0, 0);
  cfg.duration_ns += (uint64_t)(extend * 1e9);
  char err[256];
  p2pc_sim *s = p2pc_sim_new(&cfg, err, sizeof err);
  if (!s) {
    fprintf(stderr, "sim_oracle: %s\n", err);
    return 2;
  }
  p2pc_sim_run(s, NULL, NULL, NULL);
  p2pc_sim_result r;
  p2pc_sim_result_get(s, &r);
  p2pc_sim_free(s);
  printf("sim_oracle: seed %" PRIu64 ", %u nodes, %.0f s, rate %g, faults "
         "%s: %" PRIu64 " sent, %" PRIu64 " delivered, %" PRIu64
         " undeliverable; oracle %s: %" PRIu64 " violations, %" PRIu64
         " missing%s%s\n",
         seed, nodes, duration, rate, faults, r.msgs_sent, r.msgs_delivered,
         r.undeliverable,
         r.causal_checked ? "checked"
         : oracle         ? "NOT checked"
                          : "off",
         r.causal_violations, r.missing,
         r.first_violation[0] ? "; first: " : "", r.first_violation);
  fprintf(stderr,
          "sim_oracle: wall %.3f s, %" PRIu64 " events, peak RSS %" PRIu64
          " MiB\n",
          (double)r.wall_ns / 1e9, r.events, r.peak_rss_kb / 1024);
  if (strcmp(expect, "clean") == 0 &&
      (!r.causal_checked || r.causal_violations || r.missing))
    return 1;
  return 0;
}
