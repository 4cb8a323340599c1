/* SPDX-License-Identifier: MIT */
/*
 * Sending in Δ-SES (causal.h; ALGORITHMS.md A.3): stamp the message (HLC),
 * snapshot the entries, attach what this node knows of LS, encode it, and
 * record it in the pending queue of its destination until a report says
 * it is delivered or written off. All-or-nothing: room is reserved before
 * anything is committed.
 */
#include "causal_int.h"
#ifdef P2PC_TEST_FAULTS
#include "causal_faults.h"
#endif

void p2pc__causal_trim_active(p2pc_causal *c) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < c->nactive; i++) {
    peer_state *ps = &c->peers[c->active[i]];
    if (ps->pq_n)
      c->active[k++] = c->active[i];
    else
      ps->in_active = false;
  }
  c->nactive = k;
}

/* LS: the oldest stamp among messages not yet known delivered (or not yet
 * settled after being given up), or the HLC if there is none. */
static uint64_t ls_self(p2pc_causal *c) {
  p2pc__causal_trim_active(c);
  return p2pc_causal_local_stable(c);
}

/* ---- pending (sent, not known delivered) -------------------------------- */

/* Makes room for one more pending message to ps (so the send's commit,
 * pq_push, cannot fail). */
static int pq_reserve(p2pc_causal *c, peer_state *ps) {
  if (ps->pq_head + ps->pq_n < ps->pq_cap)
    return 0;
  if (ps->pq_head) {
    memmove(ps->pq, ps->pq + ps->pq_head, ps->pq_n * sizeof *ps->pq);
    ps->pq_head = 0;
    return 0;
  }
  uint32_t cap = ps->pq_cap ? ps->pq_cap * 2 : 4;
  pend *q = c->a->realloc(ps->pq, (size_t)cap * sizeof *q, c->a->ud);
  if (!q)
    return P2PC_ERR_NOMEM;
  ps->pq = q;
  ps->pq_cap = cap;
  return 0;
}

/* Appends to ps's queue; pq_reserve made room. */
static void pq_push(p2pc_causal *c, peer_state *ps, uint64_t n,
                    uint64_t stamp) {
  if (!ps->in_active) { /* active holds every id at most once */
    ps->in_active = true;
    c->active[c->nactive++] = (uint32_t)(ps - c->peers);
  }
  ps->pq[ps->pq_head + ps->pq_n++] = (pend){n, stamp, false};
}

/* ---- send (A.3) --------------------------------------------------------- */

static uint64_t hlc_send(p2pc_causal *c) {
  return c->pt > c->hlc + 1 ? c->pt : c->hlc + 1;
}

static int send_self(p2pc_causal *c, const uint8_t *payload, size_t len) {
  /* A local event: stamped, but no entries and nothing on the wire. */
  const char *self = name_of(c, c->self);
  born(c);
  c->hlc = hlc_send(c);
  uint64_t n = ++c->nsent;
  c->last_stamp = c->hlc;
  p2pc_causal_event ev = {.kind = P2PC_CEV_SEND,
                          .sender = self,
                          .n = n,
                          .peer = self,
                          .stamp = c->hlc,
                          .bytes = len};
  c->st.sent++;
  emit(c, &ev);
  ev = (p2pc_causal_event){.kind = P2PC_CEV_DELIVER,
                           .sender = self,
                           .n = n,
                           .peer = self,
                           .stamp = c->hlc,
                           .bytes = len,
                           .payload = payload};
  c->st.delivered++;
  emit(c, &ev);
  return 0;
}

static int send_to(p2pc_causal *c, const char *dest, const uint8_t *payload,
                   size_t len, p2pc_buf *out) {
  uint32_t d;
  int rv;
  if (!dest || (!payload && len))
    return P2PC_ERR_INVAL;
  if ((rv = p2pc_idtab_intern(&c->ids, dest, strlen(dest), &d)) != 0)
    return rv;
  if ((rv = p2pc__causal_sync_peers(c)) != 0)
    return rv;
  if (d == c->self)
    return send_self(c, payload, len);
  if (d == c->all || (c->all == UINT32_MAX && strcmp(dest, "*") == 0))
    c->all = d; /* a broadcast: to every node */
  bool bc = is_all(c, d);
  born(c);
  peer_state *ps = &c->peers[d];
  if (ps->retired)
    return P2PC_ERR_INVAL;
  p2pc__causal_sweep(c);
  if (c->prune_due) {
    p2pc__causal_filter_deps(c, p2pc__causal_dep_stable, &c->st.stable_deps);
    c->prune_due = false;
  }
  /* Back-pressure at the caps, before anything changes. */
  uint32_t di = p2pc__causal_dep_index(c, d, c->self);
  bool has = di < c->nV && c->V[di].dest == d && c->V[di].sender == c->self;
  if (c->nV > c->cfg.max_msg_deps || c->npending >= c->cfg.max_pending ||
      (!has && c->nV >= c->cfg.max_deps)) {
    c->st.full_deps++;
    return P2PC_ERR_FULL;
  }
  if ((rv = p2pc__causal_reserve_v(&c->V, &c->capV, c->nV + 1, c->a)) != 0 ||
      (!bc && (rv = pq_reserve(c, ps)) != 0))
    return rv;

  uint64_t stamp = hlc_send(c);
  p2pc_ses_msg m;
  p2pc_ses_msg_init(&m);
  m.sender = c->self;
  m.dest = d;
  m.n = c->nsent + 1;
  m.prev = ps->tx_last_n;
  m.stamp = stamp;
  /* The entries are a snapshot taken before (d, self, n) is recorded:
   * they include those about d itself (pitfall 2). The encoder only reads
   * them, so V is lent, not copied. */
  m.deps = c->V;
  m.ndeps = c->nV;
#ifdef P2PC_TEST_FAULTS
  p2pc_ses_dep *lent = NULL;
  if (c->faults & P2PC_CAUSAL_FAULT_DROP_DEST_PAIR) {
    lent = xalloc(c->a, ((size_t)c->nV + 1) * sizeof *lent);
    if (!lent)
      return P2PC_ERR_NOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < c->nV; i++)
      if (c->V[i].dest != d)
        lent[k++] = c->V[i];
    m.deps = lent;
    m.ndeps = k;
  }
#endif
  /* What we know of LS, for ourselves and for the senders of the entries
   * we carry: the receivers retire those entries by it (any value an LS
   * had is a safe bound; one at or above the stamp is sent as stamp - 1). */
  uint32_t nls = 0;
  uint64_t mine = ls_self(c);
  if (mine)
    c->lsbuf[nls++] = (p2pc_ses_ls){c->self, mine < stamp ? mine : stamp - 1};
  for (uint32_t i = 0; i < m.ndeps; i++) {
    uint32_t k = m.deps[i].sender;
    uint64_t v = c->peers[k].ls_known;
    if (k == c->self || c->seen[k] || !v)
      continue;
    c->seen[k] = 1;
    c->lsbuf[nls++] = (p2pc_ses_ls){k, v < stamp ? v : stamp - 1};
  }
  for (uint32_t i = 0; i < nls; i++)
    c->seen[c->lsbuf[i].id] = 0;
  m.ls = c->lsbuf;
  m.nls = nls;
  m.payload = payload;
  m.payload_len = len;
  size_t meta = 0;
  rv = p2pc_wire_ses_put(out, &m, &c->ids, &c->scratch, c->a, &meta);
#ifdef P2PC_TEST_FAULTS
  c->a->free(lent, c->a->ud);
#endif
  if (rv)
    return rv;

  /* Commit: nothing below can fail. */
  uint32_t carried = m.ndeps;
  c->hlc = stamp;
  c->last_stamp = stamp;
  c->nsent++;
  ps->tx_last_n = m.n;
  ps->last = stamp;
  if (!bc) { /* a broadcast is reported by no one: never pending */
    pq_push(c, ps, m.n, stamp); /* room was reserved */
    c->npending++;
    if (due(c, stamp, 0) < c->pend_lb)
      c->pend_lb = due(c, stamp, 0);
  }
  /* A later message to d implies the earlier one: one entry per pair. */
  if (has) {
    c->V[di].n = m.n;
    c->V[di].stamp = stamp;
    c->V[di].hops = 0;
  } else {
    memmove(c->V + di + 1, c->V + di, (c->nV - di) * sizeof *c->V);
    c->V[di] = (p2pc_ses_dep){d, c->self, m.n, stamp, 0};
    c->nV++;
    if (c->nV > c->st.deps_max)
      c->st.deps_max = c->nV;
  }
  if (stamp < c->dep_lb)
    c->dep_lb = stamp;
  c->st.sent++;
  p2pc_causal_event ev = {.kind = P2PC_CEV_SEND,
                          .sender = name_of(c, c->self),
                          .n = m.n,
                          .peer = name_of(c, d),
                          .stamp = stamp,
                          .deps = carried,
                          .bytes = len,
                          .meta = meta,
                          .broadcast = bc};
  emit(c, &ev);
  if (bc) { /* delivered here at once, as a self-send is */
    const char *self = name_of(c, c->self);
    ev = (p2pc_causal_event){.kind = P2PC_CEV_DELIVER,
                             .sender = self,
                             .n = m.n,
                             .peer = self,
                             .stamp = stamp,
                             .bytes = len,
                             .payload = payload,
                             .broadcast = true};
    c->st.delivered++;
    emit(c, &ev);
  }
  return 0;
}

int p2pc_causal_send(p2pc_causal *c, const char *dest, const uint8_t *payload,
                     size_t len, uint64_t mono_ns, p2pc_buf *out) {
  (void)mono_ns;
  if (c->ids.n >= c->ids.limit)
    p2pc__causal_forget(c); /* room for dest's name, if it is new */
  uint32_t nids = c->ids.n;
  int rv = send_to(c, dest, payload, len, out);
  /* A refused send leaves no trace, not even dest's name: the table is
   * bounded, and sends refused at a cap must not use it up. (A peer
   * state made for the name stays, empty, for whichever name next gets
   * its id.) */
  if (rv) {
    p2pc_idtab_truncate(&c->ids, nids);
    if (c->all != UINT32_MAX && c->all >= nids)
      c->all = UINT32_MAX;
  }
  return rv;
}
