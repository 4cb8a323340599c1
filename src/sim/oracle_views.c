/* SPDX-License-Identifier: MIT */
/*
 * The views oracle, at the end of a run (PROTOCOL.md, "Views and
 * shuffles"): over the alive nodes, the active view (up links) stays
 * within maxPeers plus the slack of links being handed over, and every
 * passive view within its bound, without the node itself or a peer of its
 * table, and at least half full (or holding every node it could: the
 * alive nodes it is not linked to). With the figures: the degree
 * distribution and the passive views' fill.
 */
#include "sim_internal.h"

#include <string.h>

#define JOIN_SLACK 4 /* the core's (nodeint.h): links being handed over */

static bool passive_sane(const p2pc_node *n, const char *self) {
  uint32_t np = p2pc_node_passive_count(n);
  for (uint32_t k = 0; k < np; k++) {
    p2pc_wire_record r;
    if (!p2pc_node_passive_info(n, k, &r) || strcmp(r.id, self) == 0)
      return false;
    for (uint32_t j = 0; j < p2pc_node_peer_count(n); j++) {
      p2pc_peer_info pi;
      if (p2pc_node_peer_info(n, j, &pi) && strcmp(pi.id, r.id) == 0)
        return false;
    }
  }
  return true;
}

void p2pc__sim_views(p2pc_sim *s) {
  p2pc_sim_result *r = &s->res;
  p2pc_node_config c;
  p2pc_settings d;
  p2pc__sim_node_config(&s->cfg, &c);
  p2pc_settings_default(&d);
  uint32_t maxp = c.max_peers ? c.max_peers : d.max_peers;
  uint32_t pmax = c.passive_max ? c.passive_max : d.passive_max;
  uint32_t n = s->cfg.nodes, alive = 0;
  uint64_t dsum = 0, psum = 0;
  bool ok = true;
  memset(r->deg_hist, 0, sizeof r->deg_hist);
  r->deg_min = r->passive_min = UINT32_MAX;
  r->deg_max = 0;
  for (uint32_t i = 0; i < n; i++)
    alive += s->nodes[i].alive;
  for (uint32_t i = 0; i < n; i++) {
    snode *x = &s->nodes[i];
    if (!x->alive)
      continue;
    uint32_t up = 0;
    for (uint32_t l = 0; l < x->nlinks; l++) {
      if (!x->conn_of[l])
        continue;
      conn *cn = &s->conns[x->conn_of[l] - 1];
      uint32_t j = cn->end[0] == i ? cn->end[1] : cn->end[0];
      up += j < n && s->nodes[j].alive && cn->open[0] && cn->open[1];
    }
    uint32_t np = p2pc_node_passive_count(x->n);
    uint32_t could = alive - 1 > up ? alive - 1 - up : 0;
    uint32_t want = (could < pmax ? could : pmax) / 2;
    if (up > maxp + JOIN_SLACK || np > pmax || np < want ||
        !passive_sane(x->n, x->id))
      ok = false;
    r->deg_hist[up < 16 ? up : 16]++;
    r->deg_min = up < r->deg_min ? up : r->deg_min;
    r->deg_max = up > r->deg_max ? up : r->deg_max;
    r->passive_min = np < r->passive_min ? np : r->passive_min;
    dsum += up;
    psum += np;
  }
  if (!alive)
    r->deg_min = r->passive_min = 0;
  r->deg_mean = alive ? (double)dsum / alive : 0;
  r->passive_mean = alive ? (double)psum / alive : 0;
  r->views_ok = ok;
}
