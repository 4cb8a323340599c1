/* SPDX-License-Identifier: MIT */
/*
 * Stability and retirement in Δ-SES (causal.h; docs/PROTOCOL.md,
 * "Stability"): the delivery reports between this node and each peer
 * (what it reports, and what a destination reports of this node's
 * messages), LS, the network's stable levels and the LS values learnt of
 * other senders, all of which retire entries; and retiring a causal
 * identity that is gone for good.
 */
#include "causal_int.h"

int p2pc_causal_peer_report(p2pc_causal *c, const char *dest,
                            uint64_t delivered, const uint64_t *wo,
                            uint32_t nwo, uint64_t mono_ns) {
  (void)mono_ns;
  uint32_t d;
  if (!dest || !p2pc_id_valid(dest, strlen(dest)))
    return P2PC_ERR_INVAL;
  /* Nothing sent to it: nothing to settle. It may still have delivered
   * our broadcasts (through the tree), which share our numbers: a report
   * up to our last message is true (a node linking to us on demand
   * reports them), one above it is not. */
  if (p2pc_idtab_find(&c->ids, dest, strlen(dest), &d) != 0 || d >= c->npeers ||
      d == c->self)
    return delivered > c->nsent ? P2PC_ERR_PROTO : 0;
  peer_state *ps = &c->peers[d];
  /* Its stream from us holds our broadcasts too: it may report one above
   * our last message to it (but none above our last message). */
  if (delivered > c->nsent)
    return P2PC_ERR_PROTO;
  if (delivered > ps->tx_last_n)
    delivered = ps->tx_last_n;
  /* Ranges of our numbers it wrote off: none above our last message (its
   * memory may reach back past what we still remember of our stream to
   * it, if we forgot it: ranges above tx_last_n then cover nothing of
   * ours that is pending). */
  for (uint32_t i = 0; i < nwo; i++)
    if (wo[2 * i] == 0 || wo[2 * i] > wo[2 * i + 1] || wo[2 * i + 1] > c->nsent)
      return P2PC_ERR_PROTO;
  /* Pending messages it covers: delivered (silently) or written off. */
  uint32_t k = 0;
  pend *q = ps->pq_n ? ps->pq + ps->pq_head : NULL; /* pq may be NULL */
  for (uint32_t i = 0; i < ps->pq_n; i++) {
    bool off = false;
    for (uint32_t r = 0; r < nwo; r++)
      off |= q[i].n >= wo[2 * r] && q[i].n <= wo[2 * r + 1];
    if (off && (q[i].gone || expired(c, q[i].stamp))) {
      /* Its destination will never deliver it: it may leave at once. */
      if (!q[i].gone)
        p2pc__causal_give_up(c, d, &q[i], "written off at its destination");
      c->npending--;
    } else if (off) {
      /* Written off there, not yet older than Δ on our own clock (the
       * two clocks differ within their bounds): it stays pending and is
       * given up when it is, so the report never comes early. */
      q[k++] = q[i];
    } else if (q[i].n <= delivered) {
      c->npending--;
    } else {
      q[k++] = q[i];
    }
  }
  ps->pq_n = k;
  /* Our entries about messages it has delivered are met there. */
  if (!c->cfg.no_prune && delivered) {
    uint32_t i = p2pc__causal_dep_index(c, d, c->self);
    if (i < c->nV && c->V[i].dest == d && c->V[i].sender == c->self &&
        c->V[i].n <= delivered) {
      memmove(c->V + i, c->V + i + 1, (c->nV - i - 1) * sizeof *c->V);
      c->nV--;
      c->st.stable_deps++;
    }
  }
  return 0;
}

void p2pc_causal_report_for(const p2pc_causal *c, const char *sender,
                            uint64_t *delivered, uint64_t *wo, uint32_t *nwo) {
  uint32_t k;
  *delivered = 0;
  *nwo = 0;
  if (!sender || p2pc_idtab_find(&c->ids, sender, strlen(sender), &k) != 0 ||
      k >= c->npeers)
    return;
  const peer_state *ps = &c->peers[k];
  *delivered = ps->rx_last_n;
  if (ps->wo_floor_until > c->hlc && ps->wo_floor < *delivered)
    *delivered = ps->wo_floor;
  /* Ascending, as the wire wants them. */
  wo_range r[P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t n = ps->nwo;
  memcpy(r, ps->wo, n * sizeof *r);
  for (uint32_t i = 1; i < n; i++) {
    wo_range x = r[i];
    uint32_t j = i;
    while (j > 0 && r[j - 1].lo > x.lo) {
      r[j] = r[j - 1];
      j--;
    }
    r[j] = x;
  }
  for (uint32_t i = 0; i < n; i++) {
    wo[2 * i] = r[i].lo + 1; /* (lo, hi] as [first, last] */
    wo[2 * i + 1] = r[i].hi;
  }
  *nwo = n;
}

uint64_t p2pc_causal_local_stable(const p2pc_causal *c) {
  uint64_t ls = c->hlc;
  for (uint32_t i = 0; i < c->nactive; i++) {
    const peer_state *ps = &c->peers[c->active[i]];
    if (ps->pq_n && ps->pq[ps->pq_head].stamp < ls)
      ls = ps->pq[ps->pq_head].stamp;
  }
  return ls;
}

uint32_t p2pc_causal_pending_to(const p2pc_causal *c, const char *dest) {
  uint32_t d;
  if (!dest || p2pc_idtab_find(&c->ids, dest, strlen(dest), &d) != 0 ||
      d >= c->npeers)
    return 0;
  return c->peers[d].pq_n;
}

void p2pc_causal_set_stable_levels(p2pc_causal *c, const uint64_t *levels,
                                   uint32_t nlevels) {
  if (c->cfg.no_prune)
    return;
  bool rose = false;
  for (uint32_t i = 0; i < P2PC_CAUSAL_LEVELS; i++) {
    uint64_t v = i < nlevels ? levels[i] : 0;
    rose |= v > c->lv[i] && c->dep_lb < v;
    c->lv[i] = v;
  }
  if (rose) /* a heartbeat's worth: filtered at once */
    p2pc__causal_filter_deps(c, p2pc__causal_dep_stable, &c->st.stable_deps);
}

void p2pc_causal_lower_stable_levels(p2pc_causal *c, const uint64_t *levels,
                                     uint32_t nlevels) {
  if (c->cfg.no_prune)
    return;
  for (uint32_t i = 0; i < P2PC_CAUSAL_LEVELS; i++) {
    uint64_t v = i < nlevels ? levels[i] : 0;
    if (v < c->lv[i])
      c->lv[i] = v;
  }
}

void p2pc_causal_set_peer_stable(p2pc_causal *c, const char *sender,
                                 uint64_t ls) {
  uint32_t k;
  if (c->cfg.no_prune || !sender ||
      p2pc_idtab_find(&c->ids, sender, strlen(sender), &k) != 0 ||
      k >= c->npeers || ls <= c->peers[k].ls_known)
    return;
  c->peers[k].ls_known = ls;
  if (c->dep_lb < ls)
    c->prune_due = true;
}

void p2pc_causal_set_stable(p2pc_causal *c, uint64_t g) {
  uint64_t lv[P2PC_CAUSAL_LEVELS];
  for (uint32_t i = 0; i < P2PC_CAUSAL_LEVELS; i++)
    lv[i] = g;
  p2pc_causal_set_stable_levels(c, lv, P2PC_CAUSAL_LEVELS);
}

/* ---- retirement --------------------------------------------------------- */

static bool dep_to_retired(const p2pc_causal *c, const p2pc_ses_dep *e) {
  return e->dest < c->npeers && c->peers[e->dest].retired;
}

int p2pc_causal_retire(p2pc_causal *c, const char *id, uint64_t mono_ns) {
  uint32_t x, nids = c->ids.n;
  int rv;
  if (!id)
    return P2PC_ERR_INVAL;
  if ((rv = p2pc_idtab_intern(&c->ids, id, strlen(id), &x)) != 0)
    return rv;
  if (x == c->self || (id[0] == '*' && id[1] == '\0')) {
    if (x != c->self)
      p2pc_idtab_truncate(&c->ids, nids); /* a new name leaves no trace */
    return P2PC_ERR_INVAL;
  }
  if ((rv = p2pc__causal_sync_peers(c)) != 0) {
    p2pc_idtab_truncate(&c->ids, nids); /* a new name leaves no trace */
    return rv;
  }
  peer_state *ps = &c->peers[x];
  if (ps->retired)
    return 0;
  ps->retired = true;
  ps->last = c->hlc; /* a tombstone for Δ + settle (forgetting ids) */
  c->npending -= ps->pq_n;
  ps->pq_n = ps->pq_head = 0;
  uint64_t ignored = 0;
  p2pc__causal_filter_deps(c, dep_to_retired, &ignored);
  for (uint32_t i = 0; i < c->nbuf;) {
    held *h = &c->buf[i];
    if (h->m.sender != x) {
      i++;
      continue;
    }
    c->st.dropped_retired++;
    p2pc_causal_event ev = {.kind = P2PC_CEV_DROP,
                            .sender = name_of(c, x),
                            .n = h->m.n,
                            .peer = name_of(c, x),
                            .stamp = h->m.stamp,
                            .bytes = h->m.payload_len,
                            .reason = "sender retired"};
    emit(c, &ev);
    p2pc__causal_drop_held(c, i);
  }
  /* Messages that waited only on its lost messages may go now. */
  p2pc__causal_drain_buf(c, mono_ns);
  return 0;
}

bool p2pc_causal_is_retired(const p2pc_causal *c, const char *id) {
  uint32_t x;
  return id && p2pc_idtab_find(&c->ids, id, strlen(id), &x) == 0 &&
         x < c->npeers && c->peers[x].retired;
}

/* ---- forgetting ids ----------------------------------------------------- */

/*
 * An id's state may go once nothing refers to it and all it could still
 * matter for has aged out: every message of its that was taken here, and
 * every message sent to it, is older than Δ + settle (a copy of one that
 * arrives now is refused as older than Δ, so the de-duplication state is
 * not needed; the destination has given up or reported everything), and
 * no entry, buffered message, pending message or written-off range names
 * it. A retired id goes Δ + settle after its retirement: a message of its
 * sent before it is older than Δ by then.
 */
static bool id_live(const p2pc_causal *c, uint32_t x) {
  const peer_state *ps = &c->peers[x];
  return x == c->self || x == c->all || ps->pq_n || ps->in_active || ps->nwo ||
         ps->wo_floor_until > c->hlc || c->hlc < due(c, ps->last, c->settle);
}

static void mark(uint8_t *keep, uint32_t x, uint32_t n) {
  if (x < n)
    keep[x] = 1;
}

uint32_t p2pc__causal_forget(p2pc_causal *c) {
  uint32_t n = c->ids.n;
  if (c->life == P2PC_CAUSAL_LIFETIME_INF || p2pc__causal_sync_peers(c) != 0)
    return 0;
  p2pc__causal_trim_active(c);
  /* seen is a zeroed work area of one byte an id: the marks. */
  uint8_t *keep = c->seen;
  for (uint32_t x = 0; x < n; x++)
    keep[x] = id_live(c, x);
  for (uint32_t i = 0; i < c->nV; i++) {
    mark(keep, c->V[i].dest, n);
    mark(keep, c->V[i].sender, n);
  }
  for (uint32_t i = 0; i < c->nbwo; i++)
    mark(keep, c->bwo[i].sender, n);
  for (uint32_t i = 0; i < c->nbuf; i++) {
    const p2pc_ses_msg *m = &c->buf[i].m;
    mark(keep, m->sender, n);
    mark(keep, m->dest, n);
    for (uint32_t j = 0; j < m->ndeps; j++) {
      mark(keep, m->deps[j].dest, n);
      mark(keep, m->deps[j].sender, n);
    }
    for (uint32_t j = 0; j < m->nls; j++)
      mark(keep, m->ls[j].id, n);
  }
  uint32_t live = 0;
  for (uint32_t x = 0; x < n; x++)
    live += keep[x];
  uint32_t gone = n - live;
  /* The table that keeps them, in their order: a renumbering that keeps
   * the order keeps every sorted list sorted. All or nothing. */
  uint32_t *to = gone ? xalloc(c->a, (size_t)n * sizeof *to) : NULL;
  p2pc_idtab nt;
  p2pc_idtab_init(&nt, c->a, c->ids.limit);
  bool ok = to != NULL;
  for (uint32_t x = 0; ok && x < n; x++) {
    size_t len;
    const char *nm = p2pc_idtab_name(&c->ids, x, &len);
    to[x] = UINT32_MAX;
    if (keep[x])
      ok = p2pc_idtab_intern(&nt, nm, len, &to[x]) == 0;
  }
  memset(keep, 0, n);
  if (!ok) {
    /* Nothing to forget, or no memory to do it now: the next sweep is
     * due once the table has doubled again. */
    p2pc_idtab_fini(&nt);
    c->a->free(to, c->a->ud);
    c->compact_at =
        2 * n > P2PC_CAUSAL_FORGET_MIN ? 2 * n : P2PC_CAUSAL_FORGET_MIN;
    return 0;
  }
  /* Commit: nothing below can fail. */
  for (uint32_t x = 0; x < n; x++) {
    peer_state *ps = &c->peers[x];
    if (to[x] == UINT32_MAX) {
      if (ps->last > c->forgot_last)
        c->forgot_last = ps->last;
      c->a->free(ps->pq, c->a->ud);
    } else if (to[x] != x) {
      c->peers[to[x]] = *ps;
    }
  }
  /* States past the table's end (left, empty, by a refused send or
   * message whose new name went again) go too. */
  for (uint32_t x = n; x < c->npeers; x++)
    c->a->free(c->peers[x].pq, c->a->ud);
  for (uint32_t i = 0; i < c->nV; i++) {
    c->V[i].dest = to[c->V[i].dest];
    c->V[i].sender = to[c->V[i].sender];
  }
  for (uint32_t i = 0; i < c->nbwo; i++)
    c->bwo[i].sender = to[c->bwo[i].sender];
  for (uint32_t i = 0; i < c->nbuf; i++) {
    p2pc_ses_msg *m = &c->buf[i].m;
    m->sender = to[m->sender];
    m->dest = to[m->dest];
    for (uint32_t j = 0; j < m->ndeps; j++) {
      m->deps[j].dest = to[m->deps[j].dest];
      m->deps[j].sender = to[m->deps[j].sender];
    }
    for (uint32_t j = 0; j < m->nls; j++)
      m->ls[j].id = to[m->ls[j].id];
  }
  for (uint32_t i = 0; i < c->nactive; i++)
    c->active[i] = to[c->active[i]];
  c->self = to[c->self];
  if (c->all != UINT32_MAX)
    c->all = to[c->all];
  c->a->free(to, c->a->ud);
  p2pc_idtab_fini(&c->ids);
  c->ids = nt;
  c->npeers = live;
  /* The per-id arrays keep their room (sync_peers sizes them to the table
   * when it grows past them again); the peers' goes back. */
  peer_state *p = c->a->realloc(c->peers, (size_t)live * sizeof *p, c->a->ud);
  if (p)
    c->peers = p;
  c->st.forgotten += gone;
  c->compact_at =
      2 * live > P2PC_CAUSAL_FORGET_MIN ? 2 * live : P2PC_CAUSAL_FORGET_MIN;
  return gone;
}
