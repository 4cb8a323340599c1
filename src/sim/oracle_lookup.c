/* SPDX-License-Identifier: MIT */
/*
 * Lookups in the simulator (PROTOCOL.md, "Addressing any node"): `at T
 * lookup R [of S]` has each alive node of R look up the record of a random
 * other alive node (of S); the RESOLVED events count the outcomes; at the end
 * the nodes' own counts give the rounds and requests a lookup, and their
 * routing tables' sizes. `expect lookups ok` passes when every lookup
 * issued found its node.
 */
#include "sim_internal.h"

#include "rng.h"

#include <string.h>

void p2pc__sim_lookups(p2pc_sim *s, uint32_t a0, uint32_t a1, uint32_t b0,
                       uint32_t b1) {
  uint32_t n = s->cfg.nodes;
  if (!b1 || b1 > n)
    b1 = n;
  if (b0 >= b1)
    return;
  for (uint32_t i = a0; i < a1 && i < n; i++) {
    if (!s->nodes[i].alive)
      continue;
    uint32_t t = i;
    for (int tries = 0; tries < 64 && (t == i || !s->nodes[t].alive); tries++)
      t = b0 + (uint32_t)p2pc_rng_below(&s->r[R_LOOKUP], b1 - b0);
    if (t == i || !s->nodes[t].alive)
      continue;
    s->cur_node = i;
    s->res.lookups++;
    int rv =
        p2pc_node_lookup(s->nodes[i].n, s->nodes[t].id, p2pc__sim_now_of(s, i));
    if (rv == 1)
      s->res.lookups_found++; /* known at once: no RESOLVED follows */
    else if (rv < 0)
      s->res.lookups_failed++;
    p2pc__sim_flush_node(s, i);
  }
}

void p2pc__sim_lookup_resolved(p2pc_sim *s, const p2pc_event *e) {
  if (e->u.resolved.ok)
    s->res.lookups_found++;
  else
    s->res.lookups_failed++;
}

void p2pc__sim_lookup_summary(p2pc_sim *s) {
  uint64_t lookups = 0, found = 0, rounds = 0, queries = 0, entries = 0;
  uint64_t bytes = 0;
  uint32_t alive = 0;
  p2pc_sim_result *r = &s->res;
  for (uint32_t i = 0; i < s->cfg.nodes; i++) {
    if (!s->nodes[i].alive)
      continue;
    p2pc_dht_stats st;
    p2pc_dht_stats_get(p2pc_node_dht(s->nodes[i].n), &st);
    alive++;
    lookups += st.lookups;
    found += st.found;
    rounds += st.rounds_sum;
    queries += st.queries_sum;
    entries += st.entries;
    bytes += st.bytes;
    if (st.rounds_max > r->lookup_rounds_max)
      r->lookup_rounds_max = st.rounds_max;
    if (st.entries > r->dht_entries_max)
      r->dht_entries_max = st.entries;
  }
  r->lookup_rounds_mean = found ? (double)rounds / (double)found : 0;
  r->lookup_requests_mean = lookups ? (double)queries / (double)lookups : 0;
  r->dht_entries_mean = alive ? (double)entries / alive : 0;
  r->dht_bytes_mean = alive ? (double)bytes / alive : 0;
}
