/* SPDX-License-Identifier: MIT */
/*
 * The oracle's SES causal delivery (legacy_ses.h): a frozen copy of
 * src/core/causal.c at commit 9a2694a, symbols renamed lses_. Do not change
 * its behaviour: the equivalence property test and the overhead bench
 * compare the new core against exactly these decisions and bytes.
 *
 * SES causal delivery (ALGORITHMS.md A.3-A.7, pitfalls A.10).
 *
 * Every step that changes SES state is all-or-nothing: allocations are made
 * first (vclock reserves, new pair clocks, table growth), then the update is
 * committed with operations that cannot fail. A failed allocation therefore
 * never leaves a half-merged V, which would silently weaken the causal
 * constraints sent later.
 */
#include "legacy_ses.h"

#include <string.h>

typedef struct peer_state {
  uint64_t tx_dseq;  /* last dseq we sent to this node */
  uint64_t rx_dseq;  /* last dseq delivered from this node */
  lses_vclock known; /* max timestamp delivered from it: its clock >= this */
  /* ts[sender] of its next message on the stream to us (dseq rx_dseq + 1)
   * if that message has arrived and waits in the buffer, else 0: its
   * messages to us stamped below this have all been delivered. */
  uint64_t next_stamp;
  /* Its stream horizons (lses_causal_take_horizon): hz_met is the largest
   * stamp e of a horizon whose dseq the stream has reached, so its messages
   * to us stamped up to hz_met have all been delivered; (hz_dseq, hz_stamp)
   * is the latest one still ahead of the stream (hz_dseq > rx_dseq), or 0s. */
  uint64_t hz_met, hz_dseq, hz_stamp;
  bool retired; /* gone for good: see lses_causal_retire */
} peer_state;

typedef struct held {
  lses_ses_msg m; /* payload points at payload_copy */
  uint8_t *payload_copy;
  uint64_t since_ns;
} held;

struct lses_causal {
  const p2pc_allocator *a;
  lses_causal_config cfg;
  p2pc_idtab ids;
  uint32_t self;
  uint64_t nsent;
  lses_vclock t;
  lses_ses_pair *V; /* sorted by dest, never about self */
  uint32_t nV, capV;
  peer_state *peers; /* indexed by interned id */
  uint32_t npeers;
  held *buf; /* arrival order */
  uint32_t nbuf, capbuf;
  size_t buf_bytes;
  bool drain_pending; /* a drain stopped early (out of memory) */
  uint32_t nretired;  /* identities retired so far */
  lses_wire_scratch scratch;
  lses_causal_stats st;
  lses_causal_event_fn on_event;
  void *ud;
};

static void *xalloc(const p2pc_allocator *a, size_t n) {
  return a->realloc(NULL, n, a->ud);
}

int lses_causal_new(lses_causal **out, const char *self,
                    const lses_causal_config *cfg, const p2pc_allocator *a,
                    lses_causal_event_fn on_event, void *ud) {
  if (!a)
    a = p2pc_allocator_default();
  if (!self || !p2pc_id_valid(self, strlen(self)))
    return P2PC_ERR_INVAL;
  lses_causal *c = xalloc(a, sizeof *c);
  if (!c)
    return P2PC_ERR_NOMEM;
  memset(c, 0, sizeof *c);
  c->a = a;
  if (cfg)
    c->cfg = *cfg;
  if (!c->cfg.max_buffered)
    c->cfg.max_buffered = LSES_CAUSAL_MAX_BUFFERED_DEFAULT;
  if (!c->cfg.max_buffered_bytes)
    c->cfg.max_buffered_bytes = LSES_CAUSAL_MAX_BUFFERED_BYTES_DEFAULT;
  if (!c->cfg.max_nodes)
    c->cfg.max_nodes = LSES_CAUSAL_MAX_NODES_DEFAULT;
  c->on_event = on_event;
  c->ud = ud;
  p2pc_idtab_init(&c->ids, a, c->cfg.max_nodes);
  lses_vclock_init(&c->t);
  int rv = p2pc_idtab_intern(&c->ids, self, strlen(self), &c->self);
  if (rv) {
    lses_causal_free(c);
    return rv;
  }
  *out = c;
  return 0;
}

static void held_fini(lses_causal *c, held *h) {
  lses_ses_msg_fini(&h->m, c->a);
  c->a->free(h->payload_copy, c->a->ud);
}

void lses_causal_free(lses_causal *c) {
  if (!c)
    return;
  const p2pc_allocator *a = c->a;
  for (uint32_t i = 0; i < c->nbuf; i++)
    held_fini(c, &c->buf[i]);
  a->free(c->buf, a->ud);
  for (uint32_t i = 0; i < c->nV; i++)
    lses_vclock_fini(&c->V[i].t, a);
  a->free(c->V, a->ud);
  for (uint32_t i = 0; i < c->npeers; i++)
    lses_vclock_fini(&c->peers[i].known, a);
  a->free(c->peers, a->ud);
  lses_vclock_fini(&c->t, a);
  lses_wire_scratch_fini(&c->scratch, a);
  p2pc_idtab_fini(&c->ids);
  a->free(c, a->ud);
}

/* ---- small helpers ---------------------------------------------------- */

static const char *name_of(const lses_causal *c, uint32_t id) {
  return p2pc_idtab_name(&c->ids, id, NULL);
}

static void emit(lses_causal *c, const lses_causal_event *ev) {
  if (c->on_event)
    c->on_event(c->ud, ev);
}

/* Grows the per-peer table to cover every interned id. */
static int sync_peers(lses_causal *c) {
  if (c->npeers >= c->ids.n)
    return 0;
  peer_state *p =
      c->a->realloc(c->peers, (size_t)c->ids.n * sizeof *p, c->a->ud);
  if (!p)
    return P2PC_ERR_NOMEM;
  for (uint32_t i = c->npeers; i < c->ids.n; i++) {
    memset(&p[i], 0, sizeof p[i]);
    lses_vclock_init(&p[i].known);
  }
  c->peers = p;
  c->npeers = c->ids.n;
  return 0;
}

/* Index in V of the pair about dest, or where it would be inserted. */
static uint32_t pair_index(const lses_causal *c, uint32_t dest) {
  uint32_t lo = 0, hi = c->nV;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (c->V[mid].dest < dest)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static bool has_pair(const lses_causal *c, uint32_t i, uint32_t dest) {
  return i < c->nV && c->V[i].dest == dest;
}

static int reserve_pairs(lses_causal *c, uint32_t extra) {
  if (c->nV + extra <= c->capV)
    return 0;
  uint32_t cap = c->capV ? c->capV : 8;
  while (cap < c->nV + extra)
    cap *= 2;
  lses_ses_pair *v = c->a->realloc(c->V, (size_t)cap * sizeof *v, c->a->ud);
  if (!v)
    return P2PC_ERR_NOMEM;
  c->V = v;
  c->capV = cap;
  return 0;
}

/* Inserts a pair at i, taking ownership of t. Capacity must be reserved. */
static void insert_pair(lses_causal *c, uint32_t i, uint32_t dest,
                        lses_vclock t) {
  memmove(c->V + i + 1, c->V + i, (c->nV - i) * sizeof *c->V);
  c->V[i].dest = dest;
  c->V[i].t = t;
  c->nV++;
}

static void remove_pair(lses_causal *c, uint32_t i) {
  lses_vclock_fini(&c->V[i].t, c->a);
  memmove(c->V + i, c->V + i + 1, (c->nV - i - 1) * sizeof *c->V);
  c->nV--;
}

/* A.11: (X, t) cannot constrain X any more once we have delivered a message
 * X stamped t* >= t, because X's clock was already >= t* when it sent it,
 * and X tests pairs about itself against its own clock. */
static bool satisfied(const lses_causal *c, uint32_t dest,
                      const lses_vclock *t) {
  return !c->cfg.no_prune && dest < c->npeers &&
         lses_vclock_leq(t, &c->peers[dest].known);
}

/* ---- send (A.3) --------------------------------------------------------- */

static int send_self(lses_causal *c, const uint8_t *payload, size_t len) {
  /* Outside SES (A.10 pitfall 11): a local event, so the clock ticks (every
   * message number n is a tick of t[self]: receivers check ts[self] >= n),
   * but V and the buffer are untouched and nothing goes on the wire. */
  const char *self = name_of(c, c->self);
  int rv = lses_vclock_tick(&c->t, c->a, c->self);
  if (rv)
    return rv;
  uint64_t n = ++c->nsent;
  lses_causal_event ev = {.kind = LSES_CEV_SEND,
                          .sender = self,
                          .n = n,
                          .peer = self,
                          .vc = &c->t,
                          .bytes = len};
  c->st.sent++;
  emit(c, &ev);
  ev = (lses_causal_event){.kind = LSES_CEV_DELIVER,
                           .sender = self,
                           .n = n,
                           .peer = self,
                           .vc = &c->t,
                           .bytes = len,
                           .payload = payload};
  c->st.delivered++;
  emit(c, &ev);
  return 0;
}

int lses_causal_send(lses_causal *c, const char *dest, const uint8_t *payload,
                     size_t len, uint64_t mono_ns, p2pc_buf *out) {
  (void)mono_ns;
  uint32_t d;
  int rv;
  if (!dest || (!payload && len))
    return P2PC_ERR_INVAL;
  if ((rv = p2pc_idtab_intern(&c->ids, dest, strlen(dest), &d)) != 0)
    return rv;
  if ((rv = sync_peers(c)) != 0)
    return rv;
  if (d == c->self)
    return send_self(c, payload, len);
  if (c->peers[d].retired)
    return P2PC_ERR_INVAL;

  /* Prune satisfied pairs first: it changes no decision anywhere (see
   * satisfied()), so it is safe to keep even if this send fails. */
  for (uint32_t i = 0; i < c->nV;) {
    if (satisfied(c, c->V[i].dest, &c->V[i].t)) {
      remove_pair(c, i);
      c->st.pruned_pairs++;
    } else {
      i++;
    }
  }

  /* Allocate everything before changing state. */
  lses_vclock ts;
  lses_vclock_init(&ts);
  uint32_t pi = pair_index(c, d);
  if ((rv = reserve_pairs(c, 1)) != 0 ||
      (rv = lses_vclock_copy(&ts, c->a, &c->t)) != 0 ||
      (rv = lses_vclock_tick(&ts, c->a, c->self)) != 0 ||
      (rv = lses_vclock_reserve_merge(&c->t, c->a, &ts)) != 0) {
    lses_vclock_fini(&ts, c->a);
    return rv;
  }

  lses_ses_msg m;
  lses_ses_msg_init(&m);
  m.sender = c->self;
  m.dest = d;
  m.n = c->nsent + 1;
  m.dseq = c->peers[d].tx_dseq + 1;
  /* Tick, then stamp: the stamp includes the send event (pitfall 1). */
  m.ts = ts;
  /* The deliberately broken variant records the pre-tick clock as the
   * (d, t) dependency: the first dependency on d becomes vacuous. */
  lses_vclock stale;
  lses_vclock_init(&stale);
  if ((c->cfg.faults & LSES_CAUSAL_FAULT_STAMP_BEFORE_TICK) &&
      (rv = lses_vclock_copy(&stale, c->a, &c->t)) != 0) {
    lses_vclock_fini(&ts, c->a);
    return rv;
  }
  /* V_M is a snapshot of V taken before (d, tM) is recorded; it includes
   * the pair about d itself (pitfall 2). The encoder only reads it, so
   * V's own pairs are lent, not copied (pitfall 10 is about keeping a live
   * reference past the send; here the bytes are final on return). */
  lses_ses_pair *lent = NULL;
  m.deps = c->V;
  m.ndeps = c->nV;
  if ((c->cfg.faults & LSES_CAUSAL_FAULT_DROP_DEST_PAIR) &&
      has_pair(c, pi, d)) {
    lent = xalloc(c->a, (size_t)c->nV * sizeof *lent);
    if (!lent) {
      lses_vclock_fini(&ts, c->a);
      lses_vclock_fini(&stale, c->a);
      return P2PC_ERR_NOMEM;
    }
    memcpy(lent, c->V, pi * sizeof *lent);
    memcpy(lent + pi, c->V + pi + 1, (c->nV - pi - 1) * sizeof *lent);
    m.deps = lent;
    m.ndeps = c->nV - 1;
  }
  m.payload = payload;
  m.payload_len = len;
  size_t meta = 0;
  rv = lses_wire_ses_put(out, &m, &c->ids, &c->scratch, c->a, &meta);
  c->a->free(lent, c->a->ud);
  if (rv) {
    lses_vclock_fini(&ts, c->a);
    lses_vclock_fini(&stale, c->a);
    return rv;
  }

  /* Commit: nothing below can fail. */
  lses_vclock_merge(&c->t, c->a, &ts); /* t[self] += 1 */
  c->nsent++;
  c->peers[d].tx_dseq++;
  c->st.sent++;
  lses_causal_event ev = {.kind = LSES_CEV_SEND,
                          .sender = name_of(c, c->self),
                          .n = m.n,
                          .peer = name_of(c, d),
                          .vc = &m.ts,
                          .bytes = len,
                          .meta = meta};
  if (c->cfg.faults & LSES_CAUSAL_FAULT_STAMP_BEFORE_TICK) {
    lses_vclock x = ts;
    ts = stale;
    stale = x; /* V gets the pre-tick clock; the event the real stamp */
    ev.vc = &stale;
  }
  if (has_pair(c, pi, d)) {
    lses_vclock_fini(&c->V[pi].t, c->a);
    c->V[pi].t = ts; /* later stamps dominate earlier ones */
  } else {
    insert_pair(c, pi, d, ts);
  }
  emit(c, &ev);
  lses_vclock_fini(&stale, c->a);
  return 0;
}

/* ---- delivery (A.4-A.6) ------------------------------------------------- */

/*
 * A.4, with retirement (docs/PROTOCOL.md, "Retiring an identity"). The pair
 * (self, t) is met when, for every sender k, all of k's messages to us sent
 * up to k's event t[k] have been delivered. t[k] <= our clock proves it
 * (<=, not <: robust whatever the ticking discipline). Components of
 * retired identities are skipped: their undelivered messages never come.
 *
 * A pair that depends on a message of a retired identity that never got
 * here (its component is short) may also hold components that only that
 * lost message would have brought us: our clock may never reach them. For
 * such a pair a live component k is also met when k's next message to us
 * has arrived stamped above t[k]: the stream is numbered, so everything k
 * sent us before that stamp has been delivered; or when k's stream horizon
 * says the same (its messages after a dseq we have delivered are stamped
 * above some e >= t[k]). Without a retirement this
 * second test is never made, so plain SES decides exactly as before.
 */
static bool deliverable(const lses_causal *c, const lses_ses_msg *m) {
  const lses_ses_pair *p = lses_ses_msg_pair(m, c->self);
  if (!p)
    return true;
  const lses_vclock *t = &p->t, *mine = &c->t;
  bool lost = false;     /* a retired component is short */
  bool clock_ok = true;  /* every live component is <= our clock */
  bool stream_ok = true; /* ... or below its sender's next stamp */
  uint32_t j = 0;
  for (uint32_t i = 0; i < t->n; i++) {
    uint32_t id = t->e[i].id;
    uint64_t need = t->e[i].v;
    while (j < mine->n && mine->e[j].id < id)
      j++;
    uint64_t have = j < mine->n && mine->e[j].id == id ? mine->e[j].v : 0;
    if (have >= need)
      continue;
    const peer_state *ps = id < c->npeers ? &c->peers[id] : NULL;
    if (ps && ps->retired) {
      lost = true;
      continue;
    }
    if (!c->nretired)
      return false; /* plain SES */
    clock_ok = false;
    if (!ps || (ps->next_stamp <= need && ps->hz_met < need))
      stream_ok = false;
  }
  return clock_ok || (lost && stream_ok);
}

/* Finds the buffered message next on sender's stream to us, if it has
 * arrived, and notes its stamp (see peer_state.next_stamp). */
static void find_next_stamp(lses_causal *c, uint32_t sender) {
  peer_state *ps = &c->peers[sender];
  ps->next_stamp = 0;
  for (uint32_t i = 0; i < c->nbuf; i++) {
    const lses_ses_msg *h = &c->buf[i].m;
    if (h->sender == sender && h->dseq == ps->rx_dseq + 1) {
      ps->next_stamp = lses_vclock_get(&h->ts, sender);
      return;
    }
  }
}

/*
 * Applies A.5 to m: merge V_M into V (dropping pairs about self and pairs
 * already satisfied), t := max(t, tM), tick; then reports the delivery.
 * All-or-nothing: returns P2PC_ERR_NOMEM with no state changed.
 */
static int deliver(lses_causal *c, const lses_ses_msg *m, uint64_t waited_ns) {
  const p2pc_allocator *a = c->a;
  int rv;
  uint32_t fresh = 0;
  lses_vclock *fresh_t = NULL;
  peer_state *ps = &c->peers[m->sender];

  /* Phase 1: allocate. New pairs get their clocks now; existing ones get
   * room for the merge. */
  if (m->ndeps) {
    fresh_t = xalloc(a, (size_t)m->ndeps * sizeof *fresh_t);
    if (!fresh_t)
      return P2PC_ERR_NOMEM;
  }
  lses_vclock newt;
  lses_vclock_init(&newt);
  rv = lses_vclock_copy(&newt, a, &c->t);
  if (!rv)
    rv = lses_vclock_merge(&newt, a, &m->ts);
  if (!rv)
    rv = lses_vclock_tick(&newt, a, c->self);
  if (!rv)
    rv = lses_vclock_reserve_merge(&ps->known, a, &m->ts);
  for (uint32_t i = 0; i < m->ndeps && !rv; i++) {
    const lses_ses_pair *p = &m->deps[i];
    if (p->dest == c->self)
      continue;
    uint32_t k = pair_index(c, p->dest);
    if (has_pair(c, k, p->dest)) {
      rv = lses_vclock_reserve_merge(&c->V[k].t, a, &p->t);
    } else if (!satisfied(c, p->dest, &p->t)) {
      lses_vclock_init(&fresh_t[fresh]);
      rv = lses_vclock_copy(&fresh_t[fresh], a, &p->t);
      fresh++;
    }
  }
  if (!rv)
    rv = reserve_pairs(c, fresh);
  if (rv) {
    for (uint32_t i = 0; i < fresh; i++)
      lses_vclock_fini(&fresh_t[i], a);
    a->free(fresh_t, a->ud);
    lses_vclock_fini(&newt, a);
    return rv;
  }

  /* Phase 2: commit. */
  uint32_t f = 0;
  for (uint32_t i = 0; i < m->ndeps; i++) {
    const lses_ses_pair *p = &m->deps[i];
    if (p->dest == c->self)
      continue; /* the constraint it expressed is now met */
    uint32_t k = pair_index(c, p->dest);
    if (has_pair(c, k, p->dest))
      lses_vclock_merge(&c->V[k].t, a, &p->t);
    else if (!satisfied(c, p->dest, &p->t))
      insert_pair(c, k, p->dest, fresh_t[f++]);
    else
      c->st.pruned_pairs++;
  }
  a->free(fresh_t, a->ud);
  lses_vclock_fini(&c->t, a);
  c->t = newt; /* max(t, tM), then the delivery event's own tick */
  lses_vclock_merge(&ps->known, a, &m->ts);
  if (m->dseq > ps->rx_dseq)
    ps->rx_dseq = m->dseq;
  if (ps->hz_dseq && ps->hz_dseq <= ps->rx_dseq) {
    /* The stream has caught up with its horizon. */
    if (ps->hz_stamp > ps->hz_met)
      ps->hz_met = ps->hz_stamp;
    ps->hz_dseq = ps->hz_stamp = 0;
  }
  if (c->nretired)
    find_next_stamp(c, m->sender);
  /* The sender's pair in V may now be satisfied too. */
  uint32_t k = pair_index(c, m->sender);
  if (has_pair(c, k, m->sender) && satisfied(c, m->sender, &c->V[k].t)) {
    remove_pair(c, k);
    c->st.pruned_pairs++;
  }

  c->st.delivered++;
  lses_causal_event ev = {.kind = LSES_CEV_DELIVER,
                          .sender = name_of(c, m->sender),
                          .n = m->n,
                          .peer = name_of(c, m->sender),
                          .vc = &c->t,
                          .bytes = m->payload_len,
                          .waited_ns = waited_ns,
                          .payload = m->payload};
  emit(c, &ev);
  return 0;
}

/* Delivers every buffered message that has become deliverable, repeating
 * until a full pass delivers nothing (A.6). Order among those ready at once
 * is arrival order, so runs are deterministic. */
static void drain(lses_causal *c, uint64_t mono_ns) {
  bool progress = true;
  c->drain_pending = false;
  while (progress && c->nbuf) {
    progress = false;
    for (uint32_t i = 0; i < c->nbuf;) {
      held *h = &c->buf[i];
      if (!deliverable(c, &h->m)) {
        i++;
        continue;
      }
      uint64_t waited = mono_ns > h->since_ns ? mono_ns - h->since_ns : 0;
      if (deliver(c, &h->m, waited) != 0) {
        /* Out of memory: it stays buffered; the next accepted input, or
         * lses_causal_drain, resumes the drain. */
        c->drain_pending = true;
        return;
      }
      c->buf_bytes -= h->m.payload_len;
      held_fini(c, h);
      memmove(c->buf + i, c->buf + i + 1, (c->nbuf - i - 1) * sizeof *h);
      c->nbuf--;
      progress = true;
    }
  }
}

static bool is_duplicate(const lses_causal *c, const lses_ses_msg *m) {
  if (c->cfg.faults & LSES_CAUSAL_FAULT_NO_DEDUP)
    return false;
  /* SES delivers each sender->me stream in order (the pair about me in
   * every later message makes it wait), so delivered dseqs form a prefix
   * and one counter per sender remembers them all. */
  if (m->dseq <= c->peers[m->sender].rx_dseq)
    return true;
  for (uint32_t i = 0; i < c->nbuf; i++)
    if (c->buf[i].m.sender == m->sender && c->buf[i].m.dseq == m->dseq)
      return true;
  return false;
}

int lses_causal_receive(lses_causal *c, const char *expected_sender,
                        const uint8_t *b, size_t len, uint64_t mono_ns) {
  uint32_t nids = c->ids.n;
  lses_ses_msg m;
  int rv;
  lses_ses_msg_init(&m);
  rv = lses_wire_ses_get(b, len, &c->ids, c->a, &m);
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
  if (m.dest != c->self ||
      (expected_sender &&
       (strlen(expected_sender) != m.sender_len ||
        memcmp(expected_sender, m.sender_name, m.sender_len) != 0))) {
    c->st.malformed++;
    rv = P2PC_ERR_PROTO;
    goto out;
  }
  nids = c->ids.n;
  if ((rv = lses_wire_ses_commit(&c->ids, &m)) != 0 ||
      (rv = sync_peers(c)) != 0)
    goto out;
  if (c->peers[m.sender].retired) {
    c->st.dropped_retired++;
    lses_causal_event ev = {.kind = LSES_CEV_DROP,
                            .sender = name_of(c, m.sender),
                            .n = m.n,
                            .peer = name_of(c, m.sender),
                            .bytes = m.payload_len,
                            .reason = "sender retired"};
    emit(c, &ev);
    rv = 0;
    goto out;
  }
  if (is_duplicate(c, &m)) {
    c->st.duplicates++;
    lses_causal_event ev = {.kind = LSES_CEV_DUP,
                            .sender = name_of(c, m.sender),
                            .n = m.n,
                            .peer = name_of(c, m.sender),
                            .bytes = m.payload_len};
    emit(c, &ev);
    rv = 0;
    goto out;
  }

  lses_causal_event ev = {.kind = LSES_CEV_RECV,
                          .sender = name_of(c, m.sender),
                          .n = m.n,
                          .peer = name_of(c, m.sender),
                          .bytes = m.payload_len};
  if (deliverable(c, &m)) {
    /* RECV is reported before DELIVER, as it happened; if delivery runs
     * out of memory the message was not taken, and a RECV is reported
     * again when it is offered again. */
    emit(c, &ev);
    if ((rv = deliver(c, &m, 0)) != 0)
      goto out;
    c->st.received++;
    drain(c, mono_ns);
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
  held *h = &c->buf[c->nbuf++];
  h->m = m;
  h->payload_copy = copy;
  h->since_ns = mono_ns;
  c->buf_bytes += m.payload_len;
  c->st.received++;
  c->st.buffered++;
  emit(c, &ev);
  const lses_ses_pair *w = lses_ses_msg_pair(&h->m, c->self);
  ev.kind = LSES_CEV_BUFFER;
  ev.waits_node = name_of(c, c->self);
  ev.waits_vc = &w->t;
  emit(c, &ev);
  /* The next message of its sender's stream tells what that sender had
   * sent us before it; after a retirement that can release others. */
  peer_state *ps = &c->peers[h->m.sender];
  bool next = h->m.dseq == ps->rx_dseq + 1;
  if (next)
    ps->next_stamp = lses_vclock_get(&h->m.ts, h->m.sender);
  if (c->drain_pending || (next && c->nretired))
    drain(c, mono_ns);
  return 0; /* m is owned by the buffer now */
out:
  /* Not taken (refused, full, out of memory): its names leave the table
   * again, so nothing about it is recorded. */
  if (rv)
    p2pc_idtab_truncate(&c->ids, nids);
  else if (c->drain_pending)
    drain(c, mono_ns);
  lses_ses_msg_fini(&m, c->a);
  return rv;
}

int lses_causal_retire(lses_causal *c, const char *id, uint64_t mono_ns) {
  uint32_t x;
  int rv;
  if (!id)
    return P2PC_ERR_INVAL;
  if ((rv = p2pc_idtab_intern(&c->ids, id, strlen(id), &x)) != 0)
    return rv;
  if (x == c->self)
    return P2PC_ERR_INVAL;
  if ((rv = sync_peers(c)) != 0)
    return rv;
  if (c->peers[x].retired)
    return 0;
  c->peers[x].retired = true;
  if (!c->nretired++) {
    /* The stream stamps are kept only from the first retirement on. */
    for (uint32_t i = 0; i < c->npeers; i++)
      find_next_stamp(c, i);
  }
  uint32_t k = pair_index(c, x);
  if (has_pair(c, k, x))
    remove_pair(c, k);
  for (uint32_t i = 0; i < c->nbuf;) {
    held *h = &c->buf[i];
    if (h->m.sender != x) {
      i++;
      continue;
    }
    c->st.dropped_retired++;
    lses_causal_event ev = {.kind = LSES_CEV_DROP,
                            .sender = name_of(c, x),
                            .n = h->m.n,
                            .peer = name_of(c, x),
                            .bytes = h->m.payload_len,
                            .reason = "sender retired"};
    emit(c, &ev);
    c->buf_bytes -= h->m.payload_len;
    held_fini(c, h);
    memmove(c->buf + i, c->buf + i + 1, (c->nbuf - i - 1) * sizeof *h);
    c->nbuf--;
  }
  /* Messages that waited only on its lost messages may go now. */
  drain(c, mono_ns);
  return 0;
}

int lses_causal_horizon(const lses_causal *c, const char *dest, uint64_t *dseq,
                        uint64_t *stamp) {
  uint32_t d;
  if (!dest || !p2pc_id_valid(dest, strlen(dest)))
    return P2PC_ERR_INVAL;
  bool known = p2pc_idtab_find(&c->ids, dest, strlen(dest), &d) == 0;
  if (known && (d == c->self || (d < c->npeers && c->peers[d].retired)))
    return P2PC_ERR_INVAL;
  /* Taken at one instant: every later send to dest ticks t[self] first. */
  *dseq = known && d < c->npeers ? c->peers[d].tx_dseq : 0;
  *stamp = lses_vclock_get(&c->t, c->self);
  return 0;
}

int lses_causal_take_horizon(lses_causal *c, const char *sender, uint64_t dseq,
                             uint64_t stamp, uint64_t mono_ns) {
  uint32_t k;
  int rv;
  if (!sender || !p2pc_id_valid(sender, strlen(sender)))
    return P2PC_ERR_INVAL;
  if (stamp < dseq)
    return P2PC_ERR_PROTO; /* every send ticks the sender's component */
  if ((rv = p2pc_idtab_intern(&c->ids, sender, strlen(sender), &k)) != 0)
    return rv;
  if ((rv = sync_peers(c)) != 0)
    return rv;
  if (k == c->self)
    return P2PC_ERR_INVAL;
  peer_state *ps = &c->peers[k];
  if (ps->retired)
    return 0;
  /* Messages up to dseq were sent before it: none is stamped above it. */
  if (dseq >= ps->rx_dseq && lses_vclock_get(&ps->known, k) > stamp)
    return P2PC_ERR_PROTO;
  c->st.horizons++;
  if (dseq <= ps->rx_dseq) {
    if (stamp <= ps->hz_met)
      return 0;
    ps->hz_met = stamp;
  } else {
    /* Only the latest one ahead is kept: an earlier one (s1, e1) is not
     * lost, because once the stream reaches s1, its message s1 + 1 is
     * stamped above e1 and rule (4) reads that from the stream itself. */
    if (stamp > ps->hz_stamp) {
      ps->hz_dseq = dseq;
      ps->hz_stamp = stamp;
    }
    return 0;
  }
  if (c->nretired)
    drain(c, mono_ns);
  return 0;
}

void lses_causal_drain(lses_causal *c, uint64_t mono_ns) {
  if (c->drain_pending)
    drain(c, mono_ns);
}

bool lses_causal_is_retired(const lses_causal *c, const char *id) {
  uint32_t x;
  return id && p2pc_idtab_find(&c->ids, id, strlen(id), &x) == 0 &&
         x < c->npeers && c->peers[x].retired;
}

/* ---- introspection ------------------------------------------------------ */

const char *lses_causal_self(const lses_causal *c) {
  return name_of(c, c->self);
}

const lses_vclock *lses_causal_clock(const lses_causal *c) { return &c->t; }

const char *lses_causal_id_name(const lses_causal *c, uint32_t id) {
  return id < c->ids.n ? name_of(c, id) : NULL;
}

uint32_t lses_causal_buffered(const lses_causal *c) { return c->nbuf; }

uint64_t lses_causal_sent(const lses_causal *c) { return c->nsent; }

uint32_t lses_causal_pairs(const lses_causal *c) { return c->nV; }

void lses_causal_get_stats(const lses_causal *c, lses_causal_stats *st) {
  *st = c->st;
}
