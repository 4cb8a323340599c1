/* SPDX-License-Identifier: MIT */
/*
 * The entry table V of Δ-SES (causal.h): the dependency entries this node
 * holds, sorted by (dest, sender), one per pair (the latest message
 * implies the earlier ones). Lookup, the filters that retire entries
 * (expired, stable, to a retired node) and the merge of a delivered
 * message's entries.
 */
#include "causal_int.h"

static int dep_cmp(uint32_t d1, uint32_t s1, uint32_t d2, uint32_t s2) {
  if (d1 != d2)
    return d1 < d2 ? -1 : 1;
  return s1 < s2 ? -1 : s1 > s2;
}

/* Index in V of the entry (dest, sender), or where it would go. */
uint32_t p2pc__causal_dep_index(const p2pc_causal *c, uint32_t dest,
                                uint32_t sender) {
  uint32_t lo = 0, hi = c->nV;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (dep_cmp(c->V[mid].dest, c->V[mid].sender, dest, sender) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

int p2pc__causal_reserve_v(p2pc_ses_dep **v, uint32_t *cap, uint32_t need,
                           const p2pc_allocator *a) {
  if (need <= *cap)
    return 0;
  uint32_t nc = *cap ? *cap : 16;
  while (nc < need)
    nc *= 2;
  p2pc_ses_dep *x = a->realloc(*v, (size_t)nc * sizeof *x, a->ud);
  if (!x)
    return P2PC_ERR_NOMEM;
  *v = x;
  *cap = nc;
  return 0;
}

/* Removes the entries keep() refuses, counting them in *counter. */
void p2pc__causal_filter_deps(p2pc_causal *c,
                              bool (*drop)(const p2pc_causal *,
                                           const p2pc_ses_dep *),
                              uint64_t *counter) {
  uint32_t k = 0;
  uint64_t lb = UINT64_MAX;
  for (uint32_t i = 0; i < c->nV; i++) {
    if (drop(c, &c->V[i])) {
      (*counter)++;
      continue;
    }
    if (c->V[i].stamp < lb)
      lb = c->V[i].stamp;
    c->V[k++] = c->V[i];
  }
  c->nV = k;
  c->dep_lb = lb;
}

bool p2pc__causal_dep_expired(const p2pc_causal *c, const p2pc_ses_dep *e) {
  return expired(c, e->stamp);
}

bool p2pc__causal_dep_stable(const p2pc_causal *c, const p2pc_ses_dep *e) {
  /* A broadcast's delivery is reported by no one and counts in no LS:
   * its entries retire by implication and expiry only. */
  if (is_all(c, e->dest))
    return false;
  return (e->hops < P2PC_CAUSAL_LEVELS && e->stamp < c->lv[e->hops]) ||
         (e->sender < c->npeers && e->stamp < c->peers[e->sender].ls_known);
}

/* An entry of a delivered message, as this node would hold it: k more
 * hops from its sender (1: one DATA link). */
static p2pc_ses_dep hop(const p2pc_ses_dep *e, uint32_t k) {
  p2pc_ses_dep x = *e;
  x.hops = k >= P2PC_SES_MAX_HOPS - x.hops ? P2PC_SES_MAX_HOPS : x.hops + k;
  return x;
}

static bool keep_entry(const p2pc_causal *c, const p2pc_ses_dep *e) {
  if (e->dest == c->self || expired(c, e->stamp))
    return false;
  if (!c->cfg.no_prune && p2pc__causal_dep_stable(c, e))
    return false;
  if (e->dest < c->npeers && c->peers[e->dest].retired)
    return false;
  return true;
}

/* The merge of delivering m: its entries (those not about this node, not
 * expired, not stable), and extra if non-NULL (a broadcast's own entry),
 * go into V keeping the latest per (dest, sender).
 * All-or-nothing: returns P2PC_ERR_FULL (the entry cap) or P2PC_ERR_NOMEM
 * with nothing changed. */
int p2pc__causal_merge(p2pc_causal *c, const p2pc_ses_msg *m,
                       uint32_t link_hops, const p2pc_ses_dep *extra) {
  uint32_t k = 0;
  int rv = p2pc__causal_reserve_v(&c->V2, &c->capV2,
                                  c->nV + m->ndeps + (extra != NULL), c->a);
  if (rv)
    return rv;
  uint32_t i = 0, j = 0;
  bool xdone = extra == NULL;
  uint64_t lb = c->dep_lb;
  while (i < c->nV || j < m->ndeps || !xdone) {
    p2pc_ses_dep ex;
    const p2pc_ses_dep *e = NULL;
    bool adv_j = false, adv_x = false;
    if (j < m->ndeps) {
      ex = hop(&m->deps[j], link_hops);
      e = &ex;
      adv_j = true;
    }
    if (!xdone) { /* the extra entry, in its place among m's */
      int ox = e ? dep_cmp(extra->dest, extra->sender, e->dest, e->sender) : -1;
      if (ox < 0) {
        e = extra;
        adv_j = false;
        adv_x = true;
      } else if (ox == 0) {
        if (extra->n >= e->n)
          e = extra;
        adv_x = true;
      }
    }
    if (e && !keep_entry(c, e)) {
      j += adv_j;
      xdone |= adv_x;
      continue;
    }
    /* The merge copies V anyway: stable entries stay behind. */
    if (i < c->nV && c->prune_due && p2pc__causal_dep_stable(c, &c->V[i])) {
      c->st.stable_deps++;
      i++;
      continue;
    }
    int o = !e ? -1
            : i == c->nV
                ? 1
                : dep_cmp(c->V[i].dest, c->V[i].sender, e->dest, e->sender);
    if (o < 0) {
      c->V2[k++] = c->V[i++];
    } else if (o > 0) {
      c->V2[k++] = *e;
      if (e->stamp < lb)
        lb = e->stamp;
      j += adv_j;
      xdone |= adv_x;
    } else {
      /* The latest message; for the same one, the shorter path (a lower
       * hop count is retired by a fresher level). */
      p2pc_ses_dep x = e->n > c->V[i].n ? *e : c->V[i];
      if (e->n == c->V[i].n && e->hops < x.hops)
        x.hops = e->hops;
      c->V2[k++] = x;
      i++;
      j += adv_j;
      xdone |= adv_x;
    }
  }
  if (k > c->cfg.max_deps) {
    c->st.full_deps++;
    return P2PC_ERR_FULL;
  }
  /* Commit the merge. */
  p2pc_ses_dep *t = c->V;
  uint32_t tc = c->capV;
  c->V = c->V2;
  c->capV = c->capV2;
  c->V2 = t;
  c->capV2 = tc;
  c->nV = k;
  c->dep_lb = lb;
  c->prune_due = false;
  if (k > c->st.deps_max)
    c->st.deps_max = k;
  return 0;
}
