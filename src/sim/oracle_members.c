/* SPDX-License-Identifier: MIT */
/*
 * The membership oracle, at the end of a run: the up links between alive
 * nodes form one connected graph, and each node has the links its
 * topology promises.
 */
#include "sim_internal.h"

bool p2pc__sim_membership_ok(p2pc_sim *s) {
  uint32_t n = s->cfg.nodes, alive = 0, first = UINT32_MAX;
  uint32_t *q = p2pc__sim_xrealloc(s, NULL, n * sizeof *q);
  bool *seen = p2pc__sim_xcalloc(s, n, sizeof *seen);
  for (uint32_t i = 0; i < n; i++)
    if (s->nodes[i].alive) {
      alive++;
      if (first == UINT32_MAX)
        first = i;
    }
  bool ok = true;
  uint32_t want = s->cfg.topology == P2PC_SIM_RING ? 2 : s->cfg.k;
  /* A full mesh while it fits in the peer tables (maxPeers 64); past that
   * the tables hold a random partial mesh whose degrees can fall short
   * where a link was handed to a joining node that filled up meanwhile
   * (PROTOCOL.md, "Making room"): connected, and at least half full. */
  if (s->cfg.topology == P2PC_SIM_FULL || s->cfg.topology == P2PC_SIM_CLUSTERS)
    want = alive - 1 <= 64 ? alive - 1 : 32;
  if (want > alive - 1)
    want = alive ? alive - 1 : 0;
  uint32_t head = 0, tail = 0, reached = 0;
  if (first != UINT32_MAX) {
    q[tail++] = first;
    seen[first] = true;
  }
  while (head < tail) {
    uint32_t i = q[head++];
    reached++;
    snode *x = &s->nodes[i];
    uint32_t up = 0;
    for (uint32_t l = 0; l < x->nlinks; l++) {
      if (!x->conn_of[l])
        continue;
      conn *c = &s->conns[x->conn_of[l] - 1];
      uint32_t j = c->end[0] == i ? c->end[1] : c->end[0];
      if (j >= n || !s->nodes[j].alive || !c->open[0] || !c->open[1])
        continue;
      up++;
      if (!seen[j]) {
        seen[j] = true;
        q[tail++] = j;
      }
    }
    /* a k-regular graph is random: some nodes end with fewer than k */
    if (s->cfg.topology != P2PC_SIM_KREGULAR && up < want)
      ok = false;
  }
  if (reached != alive)
    ok = false;
  p2pc__sim_xfree(s, q);
  p2pc__sim_xfree(s, seen);
  return ok;
}
