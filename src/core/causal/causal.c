/* SPDX-License-Identifier: MIT */
/*
 * Δ-SES causal delivery (causal.h; docs/PROTOCOL.md, "Causal delivery").
 *
 * Every step that changes state is all-or-nothing: allocations are made
 * first, then the update is committed with operations that cannot fail. A
 * failed allocation or a full table therefore never leaves half-merged
 * entries, which would silently weaken the constraints sent later.
 *
 * This file: the core's life (new, free), time, receiving and delivering,
 * the buffer of messages that wait and its drain, and introspection. The
 * entry table, sending, expiry and stability have their own files
 * (causal_int.h lists them).
 */
#include "causal_int.h"
#ifdef P2PC_TEST_FAULTS
#include "causal_faults.h"
#endif

int p2pc_causal_new(p2pc_causal **out, const char *self,
                    const p2pc_causal_config *cfg, const p2pc_allocator *a,
                    p2pc_causal_event_fn on_event, void *ud) {
  if (!a)
    a = p2pc_allocator_default();
  if (!self || !p2pc_id_valid(self, strlen(self)))
    return P2PC_ERR_INVAL;
  p2pc_causal *c = xalloc(a, sizeof *c);
  if (!c)
    return P2PC_ERR_NOMEM;
  memset(c, 0, sizeof *c);
  c->a = a;
  if (cfg)
    c->cfg = *cfg;
  if (!c->cfg.max_buffered)
    c->cfg.max_buffered = P2PC_CAUSAL_MAX_BUFFERED_DEFAULT;
  if (!c->cfg.max_buffered_bytes)
    c->cfg.max_buffered_bytes = P2PC_CAUSAL_MAX_BUFFERED_BYTES_DEFAULT;
  if (!c->cfg.max_nodes)
    c->cfg.max_nodes = P2PC_CAUSAL_MAX_NODES_DEFAULT;
  if (!c->cfg.lifetime_ns)
    c->cfg.lifetime_ns = P2PC_CAUSAL_LIFETIME_DEFAULT_NS;
  if (!c->cfg.max_deps)
    c->cfg.max_deps = P2PC_CAUSAL_MAX_DEPS_DEFAULT;
  if (!c->cfg.max_msg_deps)
    c->cfg.max_msg_deps = P2PC_CAUSAL_MAX_MSG_DEPS_DEFAULT;
  if (c->cfg.max_msg_deps > P2PC_SES_MAX_DEPS)
    c->cfg.max_msg_deps = P2PC_SES_MAX_DEPS;
  if (!c->cfg.max_pending)
    c->cfg.max_pending = P2PC_CAUSAL_MAX_PENDING_DEFAULT;
  if (!c->cfg.ahead_margin_ns)
    c->cfg.ahead_margin_ns = P2PC_CAUSAL_AHEAD_MARGIN_DEFAULT_NS;
  c->life = c->cfg.lifetime_ns;
  c->all = UINT32_MAX;
  c->dep_lb = c->buf_lb = c->pend_lb = c->wo_lb = UINT64_MAX;
  c->settle = P2PC_CAUSAL_SETTLE_NS + c->cfg.ahead_margin_ns;
  c->on_event = on_event;
  c->ud = ud;
  p2pc_idtab_init(&c->ids, a, c->cfg.max_nodes);
  int rv = p2pc_idtab_intern(&c->ids, self, strlen(self), &c->self);
  if (rv) {
    p2pc_causal_free(c);
    return rv;
  }
  *out = c;
  return 0;
}

static void held_fini(p2pc_causal *c, held *h) {
  p2pc_ses_msg_fini(&h->m, c->a);
  c->a->free(h->payload_copy, c->a->ud);
}

void p2pc_causal_free(p2pc_causal *c) {
  if (!c)
    return;
  const p2pc_allocator *a = c->a;
  for (uint32_t i = 0; i < c->nbuf; i++)
    held_fini(c, &c->buf[i]);
  a->free(c->buf, a->ud);
  a->free(c->V, a->ud);
  a->free(c->V2, a->ud);
  for (uint32_t i = 0; i < c->npeers; i++)
    a->free(c->peers[i].pq, a->ud);
  a->free(c->peers, a->ud);
  a->free(c->active, a->ud);
  a->free(c->lsbuf, a->ud);
  a->free(c->seen, a->ud);
  p2pc_wire_scratch_fini(&c->scratch, a);
  p2pc_idtab_fini(&c->ids);
  a->free(c, a->ud);
}

#ifdef P2PC_TEST_FAULTS
void p2pc_causal_set_faults(p2pc_causal *c, uint32_t faults) {
  c->faults = faults;
  if ((c->faults & P2PC_CAUSAL_FAULT_EXPIRE_EARLY) &&
      c->life != P2PC_CAUSAL_LIFETIME_INF)
    c->life /= 4;
}
#endif

/* Grows the per-peer table to cover every interned id. */
int p2pc__causal_sync_peers(p2pc_causal *c) {
  if (c->npeers >= c->ids.n)
    return 0;
  /* Each array is kept as soon as it has grown: one that moved must not
   * be left dangling when a later one fails. */
  size_t n = c->ids.n;
  uint32_t *act = c->a->realloc(c->active, n * sizeof *act, c->a->ud);
  if (!act)
    return P2PC_ERR_NOMEM;
  c->active = act;
  p2pc_ses_ls *lb = c->a->realloc(c->lsbuf, n * sizeof *lb, c->a->ud);
  if (!lb)
    return P2PC_ERR_NOMEM;
  c->lsbuf = lb;
  uint8_t *sn = c->a->realloc(c->seen, n, c->a->ud);
  if (!sn)
    return P2PC_ERR_NOMEM;
  memset(sn + c->npeers, 0, n - c->npeers);
  c->seen = sn;
  peer_state *p = c->a->realloc(c->peers, n * sizeof *p, c->a->ud);
  if (!p)
    return P2PC_ERR_NOMEM;
  c->peers = p;
  memset(p + c->npeers, 0, (n - c->npeers) * sizeof *p);
  for (size_t i = c->npeers; i < n; i++)
    p[i].forgot_before = c->forgot_last;
  c->npeers = c->ids.n;
  return 0;
}

void p2pc__causal_drop_held(p2pc_causal *c, uint32_t i) {
  held *h = &c->buf[i];
  c->buf_bytes -= h->m.payload_len;
  held_fini(c, h);
  memmove(c->buf + i, c->buf + i + 1, (c->nbuf - i - 1) * sizeof *h);
  c->nbuf--;
}

void p2pc_causal_set_time(p2pc_causal *c, int64_t net_ns, uint64_t err_ns,
                          uint64_t mono_ns) {
  c->pt = net_ns > 0 ? P2PC_HLC_PHYS(net_ns) : 0;
  c->err = err_ns;
  c->time_known = net_ns > 0;
  if (c->pt > c->hlc)
    c->hlc = c->pt;
  if (c->time_known)
    born(c);
  if (c->nbuf)
    p2pc__causal_drain_buf(c, mono_ns); /* it sweeps first */
  else
    p2pc__causal_sweep(c);
  p2pc__causal_maybe_forget(c);
}

void p2pc__causal_find_all(p2pc_causal *c) {
  uint32_t x;
  if (c->all == UINT32_MAX && p2pc_idtab_find(&c->ids, "*", 1, &x) == 0)
    c->all = x;
}

/* ---- delivery ----------------------------------------------------------- */

/* Whether entry e of a message is met here: it is about another node, or
 * its message was delivered here or written off (the stream counter has
 * passed it), or it is older than Δ, or its sender is retired. A
 * broadcast's entry ("*", S, n) is about every node: also met if S is
 * this node, or if it was stamped before this node's birth. */
static bool dep_met(const p2pc_causal *c, const p2pc_ses_dep *e) {
  bool all = is_all(c, e->dest);
  if (e->dest != c->self && !all)
    return true;
#ifdef P2PC_TEST_FAULTS
  if (all && (c->faults & P2PC_CAUSAL_FAULT_BCAST_MET))
    return true;
#endif
  if (all && (e->sender == c->self || e->stamp < c->birth))
    return true;
  const peer_state *ps = e->sender < c->npeers ? &c->peers[e->sender] : NULL;
  return (ps && (ps->retired || ps->rx_last_n >= e->n)) || expired(c, e->stamp);
}

/* The first entry of m about this node that is not met yet (NULL if all
 * are: m may be delivered), and how many are unmet. An entry is met when
 * its message was delivered here or written off (the stream counter has
 * passed it), when it is older than Δ, or when its sender is retired. */
static const p2pc_ses_dep *unmet(const p2pc_causal *c, const p2pc_ses_msg *m,
                                 uint32_t *count) {
  const p2pc_ses_dep *first = NULL;
  uint32_t k = 0;
  for (uint32_t i = 0; i < m->ndeps; i++) {
    const p2pc_ses_dep *e = &m->deps[i];
    if (dep_met(c, e))
      continue;
    if (!first)
      first = e;
    k++;
    if (!count)
      break;
  }
  if (count)
    *count = k;
  return first;
}

/*
 * Delivers m: merges its entries (those not about this node, not expired,
 * not stable) into V keeping the latest per (dest, sender), advances the
 * sender's stream, and reports the delivery. All-or-nothing: returns
 * P2PC_ERR_FULL (the entry cap) or P2PC_ERR_NOMEM with nothing changed.
 */
static int deliver(p2pc_causal *c, const p2pc_ses_msg *m, uint64_t waited_ns,
                   uint32_t link_hops) {
  bool merge = true;
#ifdef P2PC_TEST_FAULTS
  merge = !(c->faults & P2PC_CAUSAL_FAULT_NO_TRANSITIVE);
#endif
  bool bc = is_all(c, m->dest);
  /* A broadcast is addressed to every node: whoever delivers it passes
   * its entry on, so that those who must deliver it too wait for it. */
  p2pc_ses_dep own = {m->dest, m->sender, m->n, m->stamp,
                      link_hops < P2PC_SES_MAX_HOPS ? link_hops
                                                    : P2PC_SES_MAX_HOPS};
  if (merge && (m->ndeps || bc)) {
    int rv = p2pc__causal_merge(c, m, link_hops, bc ? &own : NULL);
    if (rv)
      return rv;
  }
  peer_state *ps = &c->peers[m->sender];
  /* Stream messages between the last one delivered and this one's
   * predecessor never got here in time: their entries expired. A
   * broadcast's prev is the sender's previous broadcast. */
  uint64_t low = ps->rx_last_n;
  if (!bc && m->prev > low)
    p2pc__causal_wo_add(c, ps, low, m->prev);
  /* One sender's unicasts to this node and its broadcasts form one stream
   * here: m carries its sender's latest entry of each (unless expired),
   * so what they name and is not delivered yet expired here. */
  for (uint32_t i = 0; i < m->ndeps && c->all != UINT32_MAX; i++) {
    const p2pc_ses_dep *e = &m->deps[i];
    if (e->sender != m->sender)
      continue;
    if (is_all(c, e->dest) && e->n > ps->bc_last) {
      p2pc__causal_bwo_add(c, m->sender, ps->bc_last, e->n);
      ps->bc_last = e->n;
    } else if (bc && e->dest == c->self && e->n > low) {
      p2pc__causal_wo_add(c, ps, low, e->n);
    }
  }
  if (bc) {
    if (m->prev > ps->bc_last)
      p2pc__causal_bwo_add(c, m->sender, ps->bc_last, m->prev);
    if (m->n > ps->bc_last)
      ps->bc_last = m->n;
  }
  if (m->n > ps->rx_last_n)
    ps->rx_last_n = m->n;
  if (m->stamp > ps->last)
    ps->last = m->stamp;
  c->st.delivered++;
  p2pc_causal_event ev = {.kind = P2PC_CEV_DELIVER,
                          .sender = name_of(c, m->sender),
                          .n = m->n,
                          .peer = name_of(c, m->sender),
                          .stamp = m->stamp,
                          .bytes = m->payload_len,
                          .waited_ns = waited_ns,
                          .payload = m->payload,
                          .broadcast = bc};
  emit(c, &ev);
  return 0;
}

/* Delivers every buffered message that has become deliverable, repeating
 * until a full pass delivers nothing (A.6). Order among those ready at once
 * is arrival order, so runs are deterministic. */
void p2pc__causal_drain_buf(p2pc_causal *c, uint64_t mono_ns) {
  bool progress = true;
  c->drain_pending = false;
  p2pc__causal_sweep(c);
  while (progress && c->nbuf) {
    progress = false;
    for (uint32_t i = 0; i < c->nbuf;) {
      held *h = &c->buf[i];
      if (unmet(c, &h->m, NULL)) {
        i++;
        continue;
      }
      uint64_t waited = mono_ns > h->since_ns ? mono_ns - h->since_ns : 0;
      if (deliver(c, &h->m, waited, h->hops) != 0) {
        /* Full or out of memory: it stays buffered; the next accepted
         * input, a tick, or p2pc_causal_drain resumes the drain. */
        c->drain_pending = true;
        return;
      }
      p2pc__causal_drop_held(c, i);
      progress = true;
    }
  }
}

static bool is_buffered(const p2pc_causal *c, uint32_t sender, uint64_t n) {
  for (uint32_t i = 0; i < c->nbuf; i++)
    if (c->buf[i].m.sender == sender && c->buf[i].m.n == n)
      return true;
  return false;
}

static void copy_name(char *dst, const char *p, size_t len) {
  memcpy(dst, p, len);
  dst[len] = '\0';
}

/* Reports ev as a message discarded unseen (DROP) for reason; the caller
 * counts it. Returns 0: the input was taken. */
static int report_drop(p2pc_causal *c, p2pc_causal_event *ev,
                       const char *reason) {
  ev->kind = P2PC_CEV_DROP;
  ev->reason = reason;
  emit(c, ev);
  return 0;
}

int p2pc_causal_receive(p2pc_causal *c, const char *expected_sender,
                        const uint8_t *b, size_t len, uint64_t mono_ns) {
  return p2pc_causal_receive_hops(c, expected_sender, b, len, 1, mono_ns);
}

/* A message of this node's own (a broadcast a relay sent back): a copy of
 * one it sent, or junk. */
static int own_copy(p2pc_causal *c, const p2pc_ses_msg *m) {
  if (m->n > c->nsent)
    return P2PC_ERR_PROTO;
  c->st.duplicates++;
  const char *self = name_of(c, c->self);
  p2pc_causal_event ev = {.kind = P2PC_CEV_DUP,
                          .sender = self,
                          .n = m->n,
                          .peer = self,
                          .stamp = m->stamp,
                          .bytes = m->payload_len,
                          .broadcast = true};
  emit(c, &ev);
  return 0;
}

int p2pc_causal_receive_hops(p2pc_causal *c, const char *expected_sender,
                             const uint8_t *b, size_t len, uint32_t link_hops,
                             uint64_t mono_ns) {
  uint32_t nids = c->ids.n;
  if (link_hops == 0)
    return P2PC_ERR_INVAL;
  p2pc_ses_msg m;
  int rv;
  p2pc_ses_msg_init(&m);
  rv = p2pc_wire_ses_get(b, len, &c->ids, c->a, &m);
  if (rv == P2PC_ERR_FULL && p2pc__causal_forget(c)) {
    /* Room made by forgetting what nothing needs: decoded afresh, since
     * the ids were renumbered. */
    p2pc_ses_msg_fini(&m, c->a);
    p2pc_ses_msg_init(&m);
    rv = p2pc_wire_ses_get(b, len, &c->ids, c->a, &m);
    nids = c->ids.n;
  }
  if (rv < 0) {
    if (rv == P2PC_ERR_FULL)
      rv = P2PC_ERR_TOOBIG; /* more node IDs than max_nodes: permanent */
    else if (rv != P2PC_ERR_NOMEM)
      rv = P2PC_ERR_PROTO;
    if (rv != P2PC_ERR_NOMEM)
      c->st.malformed++;
    return rv;
  }
  /* Checked by name, before the message's new names enter the table: a
   * refused message leaves no trace (the table is bounded; junk must not
   * use it up). */
  bool bc = m.dest_len == 1 && m.dest_name[0] == '*';
  if ((m.dest != c->self && !bc) ||
      (expected_sender &&
       (strlen(expected_sender) != m.sender_len ||
        memcmp(expected_sender, m.sender_name, m.sender_len) != 0))) {
    c->st.malformed++;
    rv = P2PC_ERR_PROTO;
    goto out;
  }
  /* A stamp from too far ahead would age everything it touches. One
   * above INT64_MAX is ahead of any network time there can be (and the
   * receive rule would wrap the HLC past it to 0), known time or not. */
  if ((c->time_known && c->pt + c->err + c->cfg.ahead_margin_ns < m.stamp) ||
      m.stamp > (uint64_t)INT64_MAX) {
    char who[P2PC_ID_MAX + 1];
    copy_name(who, m.sender_name, m.sender_len);
    c->st.refused_ahead++;
    p2pc_causal_event ev = {.kind = P2PC_CEV_REFUSE,
                            .sender = who,
                            .n = m.n,
                            .peer = who,
                            .stamp = m.stamp,
                            .bytes = m.payload_len,
                            .reason = "stamp ahead",
                            .broadcast = bc};
    emit(c, &ev);
    rv = P2PC_ERR_AHEAD;
    goto out;
  }
  born(c); /* before its stamp is taken in */
  if (bc && m.sender == c->self) {
    if ((rv = own_copy(c, &m)) != 0)
      c->st.malformed++;
    goto out;
  }
  nids = c->ids.n;
  if ((rv = p2pc_wire_ses_commit(&c->ids, &m)) != 0 ||
      (rv = p2pc__causal_sync_peers(c)) != 0)
    goto out;
  p2pc__causal_find_all(c);
  peer_state *ps = &c->peers[m.sender];
  /* What it knows of LS retires our entries too (whatever becomes of the
   * message itself: these are facts about its senders). */
  bool rose = false;
  for (uint32_t i = 0; i < m.nls; i++) {
    peer_state *q = &c->peers[m.ls[i].id];
    if (m.ls[i].ls > q->ls_known) {
      q->ls_known = m.ls[i].ls;
      rose = true;
    }
  }
  if (rose && !c->cfg.no_prune)
    c->prune_due = true;
  p2pc_causal_event ev = {.sender = name_of(c, m.sender),
                          .n = m.n,
                          .peer = name_of(c, m.sender),
                          .stamp = m.stamp,
                          .bytes = m.payload_len,
                          .broadcast = bc};
  if (ps->retired) {
    c->st.dropped_retired++;
    rv = report_drop(c, &ev, "sender retired");
    goto out;
  }
  bool before_birth = bc && m.stamp < c->birth;
#ifdef P2PC_TEST_FAULTS
  if (c->faults & P2PC_CAUSAL_FAULT_NO_BIRTH)
    before_birth = false;
#endif
  if (before_birth) {
    /* Sent before this node existed: not addressed to it. */
    c->st.dropped_retired++;
    rv = report_drop(c, &ev, "sent before this node's birth");
    goto out;
  }
  /* The HLC takes in the stamp (receive rule), which may age others. */
  uint64_t h = (c->hlc > m.stamp ? c->hlc : m.stamp) + 1;
  c->hlc = c->pt > h ? c->pt : h;
  p2pc__causal_sweep(c);

  bool dup = m.n <= ps->rx_last_n || is_buffered(c, m.sender, m.n);
#ifdef P2PC_TEST_FAULTS
  if (c->faults & P2PC_CAUSAL_FAULT_NO_DEDUP)
    dup = false;
#endif
  /* A broadcast behind the stream that is neither buffered nor delivered
   * was skipped here as expired (its range is written off). */
  bool off =
      bc ? dup && !is_buffered(c, m.sender, m.n) &&
               (m.n > ps->bc_last || p2pc__causal_bwo_has(c, m.sender, m.n))
         : dup && p2pc__causal_wo_has(ps, m.n);
  if (off && !bc && expired(c, m.stamp) && m.stamp <= ps->forgot_before) {
    /* Behind a write-off that may reach below this state's making: the
     * sender's state was forgotten here before, and this may be a late
     * copy of one delivered then. Neither delivered nor called written
     * off: dropped as it is. */
    c->st.expired_rx++;
    rv = report_drop(
        c, &ev, "older than the causal lifetime, from a sender forgotten here");
    goto out;
  }
  if (off) {
    if (bc && !p2pc__causal_bwo_has(c, m.sender, m.n))
      p2pc__causal_bwo_add(c, m.sender, m.n - 1, m.n);
    /* A copy of a message written off here: it stays undelivered. */
    c->st.expired_rx++;
    ev.kind = P2PC_CEV_EXPIRE;
    ev.reason = "arrived after it was written off";
    emit(c, &ev);
    rv = 0;
    goto out;
  }
  if (dup) {
    c->st.duplicates++;
    ev.kind = P2PC_CEV_DUP;
    emit(c, &ev);
    rv = 0;
    goto out;
  }
  if (expired(c, m.stamp) && m.stamp <= ps->forgot_before && !ps->rx_last_n &&
      !ps->bc_last) {
    /* Its sender's state was forgotten here after everything it had sent
     * aged out: this may be a late copy of one delivered here, which must
     * not be reported undeliverable. Dropped as it is, nothing recorded. */
    c->st.expired_rx++;
    rv = report_drop(
        c, &ev, "older than the causal lifetime, from a sender forgotten here");
    goto out;
  }
  if (expired(c, m.stamp)) {
    c->st.expired_rx++;
    if (bc)
      p2pc__causal_bwo_add(c, m.sender, m.n - 1, m.n);
    else
      p2pc__causal_wo_add(c, ps, m.n - 1, m.n);
    ev.kind = P2PC_CEV_EXPIRE;
    ev.reason = "arrived older than the causal lifetime";
    emit(c, &ev);
    rv = 0;
    goto out;
  }

  ev.kind = P2PC_CEV_RECV;
  uint32_t nunmet = 0;
  const p2pc_ses_dep *w = unmet(c, &m, &nunmet);
  if (!w) {
    /* RECV is reported before DELIVER, as it happened; if delivery is
     * refused the message was not taken, and a RECV is reported again
     * when it is offered again. */
    emit(c, &ev);
    if ((rv = deliver(c, &m, 0, link_hops)) != 0) {
      if (rv == P2PC_ERR_FULL)
        c->st.rejected_full++;
      goto out;
    }
    c->st.received++;
    p2pc__causal_drain_buf(c, mono_ns);
    goto out;
  }

  /* It must wait. Bounded buffer: refuse rather than grow; the link layer
   * does not acknowledge it and the sender offers it again later. */
  if (c->nbuf >= c->cfg.max_buffered ||
      m.payload_len > c->cfg.max_buffered_bytes - c->buf_bytes) {
    c->st.rejected_full++;
    rv = P2PC_ERR_FULL;
    goto out;
  }
  if (c->nbuf == c->capbuf) {
    uint32_t cap = c->capbuf ? c->capbuf * 2 : 16;
    if (cap > c->cfg.max_buffered)
      cap = c->cfg.max_buffered;
    held *nb = c->a->realloc(c->buf, (size_t)cap * sizeof *nb, c->a->ud);
    if (!nb) {
      rv = P2PC_ERR_NOMEM;
      goto out;
    }
    c->buf = nb;
    c->capbuf = cap;
  }
  uint8_t *copy = NULL;
  if (m.payload_len) {
    copy = xalloc(c->a, m.payload_len);
    if (!copy) {
      rv = P2PC_ERR_NOMEM;
      goto out;
    }
    memcpy(copy, m.payload, m.payload_len);
  }
  m.payload = copy;
  held *hd = &c->buf[c->nbuf++];
  hd->m = m;
  hd->payload_copy = copy;
  hd->since_ns = mono_ns;
  hd->hops = link_hops;
  c->buf_bytes += m.payload_len;
  if (m.stamp < c->buf_lb)
    c->buf_lb = m.stamp;
  c->st.received++;
  c->st.buffered++;
  emit(c, &ev);
  /* w points into m's entries, now owned by the buffer: same array. */
  ev.kind = P2PC_CEV_BUFFER;
  ev.waits_sender = name_of(c, w->sender);
  ev.waits_n = w->n;
  ev.deps = nunmet;
  emit(c, &ev);
  if (c->drain_pending)
    p2pc__causal_drain_buf(c, mono_ns);
  return 0; /* m is owned by the buffer now */
out:
  /* Not taken (refused, full, out of memory): its names leave the table
   * again, so nothing about it is recorded. */
  if (rv && rv != P2PC_ERR_AHEAD) {
    /* And what its LS values said of them: their ids go to whichever
     * names come next, which must not inherit it. */
    for (uint32_t i = nids; i < c->ids.n && i < c->npeers; i++)
      c->peers[i].ls_known = 0;
    p2pc_idtab_truncate(&c->ids, nids);
    if (c->all != UINT32_MAX && c->all >= nids)
      c->all = UINT32_MAX;
  } else if (!rv && c->drain_pending)
    p2pc__causal_drain_buf(c, mono_ns);
  p2pc_ses_msg_fini(&m, c->a);
  return rv;
}

void p2pc_causal_drain(p2pc_causal *c, uint64_t mono_ns) {
  if (c->drain_pending)
    p2pc__causal_drain_buf(c, mono_ns);
}

/* ---- introspection ------------------------------------------------------ */

bool p2pc_causal_has(const p2pc_causal *c, const char *sender, uint64_t n) {
  uint32_t k;
  if (!sender || !n ||
      p2pc_idtab_find(&c->ids, sender, strlen(sender), &k) != 0 ||
      k >= c->npeers)
    return false;
  if (k == c->self)
    return n <= c->nsent;
  return n <= c->peers[k].rx_last_n || is_buffered(c, k, n);
}

uint64_t p2pc_causal_birth(const p2pc_causal *c) { return c->birth; }

const char *p2pc_causal_self(const p2pc_causal *c) {
  return name_of(c, c->self);
}

const char *p2pc_causal_id_name(const p2pc_causal *c, uint32_t id) {
  return id < c->ids.n ? name_of(c, id) : NULL;
}

uint32_t p2pc_causal_buffered(const p2pc_causal *c) { return c->nbuf; }

uint64_t p2pc_causal_sent(const p2pc_causal *c) { return c->nsent; }

uint64_t p2pc_causal_last_stamp(const p2pc_causal *c) { return c->last_stamp; }

uint64_t p2pc_causal_hlc(const p2pc_causal *c) { return c->hlc; }

uint64_t p2pc_causal_lifetime(const p2pc_causal *c) {
  return c->cfg.lifetime_ns;
}

uint32_t p2pc_causal_pairs(const p2pc_causal *c) {
  if (!c->prune_due)
    return c->nV;
  uint32_t k = 0; /* what the next filter will leave */
  for (uint32_t i = 0; i < c->nV; i++)
    k += !p2pc__causal_dep_stable(c, &c->V[i]);
  return k;
}

size_t p2pc_causal_state_bytes(const p2pc_causal *c) {
  size_t b = sizeof *c + ((size_t)c->capV + c->capV2) * sizeof *c->V +
             (size_t)c->npeers * sizeof *c->peers +
             (size_t)c->capbuf * sizeof *c->buf + c->buf_bytes +
             (size_t)c->ids.cap * (P2PC_ID_MAX + 2 + sizeof(uint32_t) * 2);
  for (uint32_t i = 0; i < c->npeers; i++)
    b += (size_t)c->peers[i].pq_cap * sizeof(pend);
  for (uint32_t i = 0; i < c->nbuf; i++)
    b += (size_t)c->buf[i].m.capdeps * sizeof(p2pc_ses_dep);
  return b;
}

void p2pc_causal_get_stats(const p2pc_causal *c, p2pc_causal_stats *st) {
  *st = c->st;
}
