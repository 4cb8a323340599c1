/* SPDX-License-Identifier: MIT */
/*
 * Δ-SES causal delivery (causal.h; docs/PROTOCOL.md, "Causal delivery").
 *
 * Every step that changes state is all-or-nothing: allocations are made
 * first, then the update is committed with operations that cannot fail. A
 * failed allocation or a full table therefore never leaves half-merged
 * entries, which would silently weaken the constraints sent later.
 *
 * Expiry is driven by the HLC. Three lower bounds (dep_lb, buf_lb, pend_lb)
 * keep the sweeps off the hot path: a sweep runs only once the HLC has
 * passed the oldest stamp that could have expired.
 */
#include "causal.h"

#include <string.h>

typedef struct pend {
  uint64_t n, stamp;
  bool gone; /* given up (reported); kept in LS until it has settled */
} pend;

typedef struct wo_range {
  uint64_t lo, hi; /* messages (lo, hi] of the stream are written off */
  uint64_t until;  /* remembered until the HLC reaches this */
} wo_range;

typedef struct peer_state {
  /* As a destination of this node's messages. */
  uint64_t tx_last_n; /* our last message to it (the next one's prev) */
  pend *pq;           /* sent, not known delivered: ascending n */
  uint32_t pq_head, pq_n, pq_cap;
  /* As a sender to this node. */
  uint64_t rx_last_n; /* its stream up to here is delivered/written off */
  uint64_t ls_known;  /* a value its LS had: its entries below are stable */
  bool in_active;     /* listed in active */
  wo_range wo[P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo;
  /* A range dropped at the cap takes what it knew with it: until
   * wo_floor_until, reports claim nothing above wo_floor delivered, so the
   * sender gives those messages up itself instead of taking them for
   * delivered (they would be reported nowhere). */
  uint64_t wo_floor, wo_floor_until;
  bool retired;
} peer_state;

typedef struct held {
  p2pc_ses_msg m; /* payload points at payload_copy */
  uint8_t *payload_copy;
  uint64_t since_ns;
} held;

struct p2pc_causal {
  const p2pc_allocator *a;
  p2pc_causal_config cfg;
  uint64_t life; /* Δ as used for expiry decisions */
  p2pc_idtab ids;
  uint32_t self;
  uint64_t nsent, last_stamp;
  /* Clock. */
  uint64_t hlc, pt, err;
  bool time_known;
  uint64_t lv[P2PC_CAUSAL_LEVELS]; /* stability levels (by hops) */
  /* Entries, sorted by (dest, sender); V2 is the merge's spare. */
  p2pc_ses_dep *V, *V2;
  uint32_t nV, capV, capV2;
  uint64_t dep_lb;   /* no entry is stamped below this */
  peer_state *peers; /* indexed by interned id */
  uint32_t npeers;
  /* Destinations with messages pending (LS is the oldest of their first
   * ones), and per-send work areas, all sized to npeers. */
  uint32_t *active;
  uint32_t nactive;
  p2pc_ses_ls *lsbuf;
  uint8_t *seen;
  uint32_t npending;
  /* pend_lb: no pending message needs attention before the HLC reaches it
   * (its give-up at stamp + Δ, or, once given up, its settling). */
  uint64_t pend_lb, wo_lb;
  uint64_t settle; /* how long a given-up message still holds LS back */
  held *buf;       /* arrival order */
  uint32_t nbuf, capbuf;
  size_t buf_bytes;
  uint64_t buf_lb;
  bool drain_pending; /* a drain stopped early (full or out of memory) */
  /* Stability knowledge rose since the entries were last filtered: they
   * are filtered before the next send (where their number matters), not
   * on every report and message (that would cost O(entries) each). */
  bool prune_due;
  p2pc_wire_scratch scratch;
  p2pc_causal_stats st;
  p2pc_causal_event_fn on_event;
  void *ud;
};

static void *xalloc(const p2pc_allocator *a, size_t n) {
  return a->realloc(NULL, n, a->ud);
}

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
  if ((c->cfg.faults & P2PC_CAUSAL_FAULT_EXPIRE_EARLY) &&
      c->life != P2PC_CAUSAL_LIFETIME_INF)
    c->life /= 4;
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

/* ---- small helpers ---------------------------------------------------- */

static const char *name_of(const p2pc_causal *c, uint32_t id) {
  return p2pc_idtab_name(&c->ids, id, NULL);
}

static void emit(p2pc_causal *c, p2pc_causal_event *ev) {
  ev->hlc = c->hlc;
  if (c->on_event)
    c->on_event(c->ud, ev);
}

/* Stamped at or before hlc - Δ. */
static bool expired(const p2pc_causal *c, uint64_t stamp) {
  return c->life != P2PC_CAUSAL_LIFETIME_INF && c->hlc >= c->life &&
         stamp <= c->hlc - c->life;
}

/* Grows the per-peer table to cover every interned id. */
static int sync_peers(p2pc_causal *c) {
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
  c->npeers = c->ids.n;
  return 0;
}

/* LS: the oldest stamp among messages not yet known delivered (or not yet
 * settled after being given up), or the HLC if there is none. */
static uint64_t ls_self(p2pc_causal *c) {
  /* Destinations whose queue emptied leave the list first. */
  uint32_t k = 0;
  for (uint32_t i = 0; i < c->nactive; i++) {
    peer_state *ps = &c->peers[c->active[i]];
    if (ps->pq_n)
      c->active[k++] = c->active[i];
    else
      ps->in_active = false;
  }
  c->nactive = k;
  return p2pc_causal_local_stable(c);
}

static int dep_cmp(uint32_t d1, uint32_t s1, uint32_t d2, uint32_t s2) {
  if (d1 != d2)
    return d1 < d2 ? -1 : 1;
  return s1 < s2 ? -1 : s1 > s2;
}

/* Index in V of the entry (dest, sender), or where it would go. */
static uint32_t dep_index(const p2pc_causal *c, uint32_t dest,
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

static int reserve_v(p2pc_ses_dep **v, uint32_t *cap, uint32_t need,
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
static void filter_deps(p2pc_causal *c,
                        bool (*drop)(const p2pc_causal *, const p2pc_ses_dep *),
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

static bool dep_expired(const p2pc_causal *c, const p2pc_ses_dep *e) {
  return expired(c, e->stamp);
}

static bool dep_stable(const p2pc_causal *c, const p2pc_ses_dep *e) {
  return (e->hops < P2PC_CAUSAL_LEVELS && e->stamp < c->lv[e->hops]) ||
         (e->sender < c->npeers && e->stamp < c->peers[e->sender].ls_known);
}

/* ---- written-off ranges (per sender) ---------------------------------- */

static bool wo_has(const peer_state *ps, uint64_t n) {
  for (uint32_t i = 0; i < ps->nwo; i++)
    if (n > ps->wo[i].lo && n <= ps->wo[i].hi)
      return true;
  return false;
}

/* Records (lo, hi] as written off, merging with overlapping or adjacent
 * ranges; at the cap the range remembered for the shortest time goes. */
static void wo_add(p2pc_causal *c, peer_state *ps, uint64_t lo, uint64_t hi) {
  if (hi <= lo)
    return;
  uint64_t until =
      c->life == P2PC_CAUSAL_LIFETIME_INF || c->hlc > UINT64_MAX - 2 * c->life
          ? UINT64_MAX
          : c->hlc + 2 * c->life;
  for (uint32_t i = 0; i < ps->nwo;) {
    wo_range *r = &ps->wo[i];
    if (r->hi >= lo && r->lo <= hi) { /* overlapping or adjacent */
      lo = r->lo < lo ? r->lo : lo;
      hi = r->hi > hi ? r->hi : hi;
      *r = ps->wo[--ps->nwo];
      i = 0;
      continue;
    }
    i++;
  }
  if (ps->nwo == P2PC_CAUSAL_MAX_WRITTEN_OFF) {
    uint32_t o = 0;
    for (uint32_t i = 1; i < ps->nwo; i++)
      if (ps->wo[i].until < ps->wo[o].until)
        o = i;
    if (ps->wo_floor_until <= c->hlc || ps->wo[o].lo < ps->wo_floor)
      ps->wo_floor = ps->wo[o].lo;
    if (ps->wo[o].until > ps->wo_floor_until)
      ps->wo_floor_until = ps->wo[o].until;
    ps->wo[o] = ps->wo[--ps->nwo];
  }
  ps->wo[ps->nwo++] = (wo_range){lo, hi, until};
  if (until < c->wo_lb)
    c->wo_lb = until;
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

/* The HLC at which a message stamped stamp is Δ + extra old (saturating). */
static uint64_t due(const p2pc_causal *c, uint64_t stamp, uint64_t extra) {
  if (c->life == P2PC_CAUSAL_LIFETIME_INF ||
      stamp > UINT64_MAX - c->life - extra)
    return UINT64_MAX;
  return stamp + c->life + extra;
}

/* Given up, and older than Δ + settle. */
static bool settled(const p2pc_causal *c, uint64_t stamp) {
  return c->hlc >= due(c, stamp, c->settle);
}

static void give_up(p2pc_causal *c, uint32_t dest, const pend *p,
                    const char *why) {
  c->st.expired_tx++;
  p2pc_causal_event ev = {.kind = P2PC_CEV_EXPIRE,
                          .sender = name_of(c, c->self),
                          .n = p->n,
                          .peer = name_of(c, dest),
                          .stamp = p->stamp,
                          .reason = why,
                          .at_sender = true};
  emit(c, &ev);
}

/* ---- sweeps ------------------------------------------------------------- */

static void drop_held(p2pc_causal *c, uint32_t i) {
  held *h = &c->buf[i];
  c->buf_bytes -= h->m.payload_len;
  held_fini(c, h);
  memmove(c->buf + i, c->buf + i + 1, (c->nbuf - i - 1) * sizeof *h);
  c->nbuf--;
}

/* Everything the HLC has made older than Δ: entries, buffered messages
 * (dropped and reported), messages sent and never acknowledged (given up),
 * and written-off ranges past their memory. */
static void sweep(p2pc_causal *c) {
  if (c->life == P2PC_CAUSAL_LIFETIME_INF)
    return;
  if (expired(c, c->dep_lb))
    filter_deps(c, dep_expired, &c->st.expired_deps);
  if (expired(c, c->buf_lb)) {
    uint64_t lb = UINT64_MAX;
    for (uint32_t i = 0; i < c->nbuf;) {
      held *h = &c->buf[i];
      if (!expired(c, h->m.stamp)) {
        if (h->m.stamp < lb)
          lb = h->m.stamp;
        i++;
        continue;
      }
      peer_state *ps = &c->peers[h->m.sender];
      wo_add(c, ps, h->m.n - 1, h->m.n);
      c->st.expired_rx++;
      p2pc_causal_event ev = {.kind = P2PC_CEV_EXPIRE,
                              .sender = name_of(c, h->m.sender),
                              .n = h->m.n,
                              .peer = name_of(c, h->m.sender),
                              .stamp = h->m.stamp,
                              .bytes = h->m.payload_len,
                              .reason = "waited longer than the causal "
                                        "lifetime"};
      emit(c, &ev);
      drop_held(c, i);
    }
    c->buf_lb = lb;
  }
  if (c->hlc >= c->pend_lb) {
    /* Messages older than Δ are given up (reported) at once, but leave the
     * pending set — and so stop holding LS back — only once they have
     * settled: older than Δ + settle here, so that their destination, whose
     * clock may be behind ours within the bounds, finds them expired too
     * before anything that no longer carries their entry reaches it. */
    uint64_t lb = UINT64_MAX;
    for (uint32_t d = 0; d < c->npeers; d++) {
      peer_state *ps = &c->peers[d];
      for (uint32_t i = 0; i < ps->pq_n; i++) {
        pend *p = &ps->pq[ps->pq_head + i];
        if (p->gone)
          continue;
        if (!expired(c, p->stamp)) {
          /* The next give-up here, which need not wait for the settling
           * of those given up before it. */
          if (due(c, p->stamp, 0) < lb)
            lb = due(c, p->stamp, 0);
          break;
        }
        p->gone = true;
        give_up(c, d, p, "not acknowledged within the causal lifetime");
      }
      while (ps->pq_n && ps->pq[ps->pq_head].gone &&
             settled(c, ps->pq[ps->pq_head].stamp)) {
        ps->pq_head++;
        ps->pq_n--;
        c->npending--;
      }
      if (ps->pq_n && ps->pq[ps->pq_head].gone &&
          due(c, ps->pq[ps->pq_head].stamp, c->settle) < lb)
        lb = due(c, ps->pq[ps->pq_head].stamp, c->settle);
    }
    c->pend_lb = lb;
  }
  if (c->hlc >= c->wo_lb) {
    uint64_t lb = UINT64_MAX;
    for (uint32_t d = 0; d < c->npeers; d++) {
      peer_state *ps = &c->peers[d];
      for (uint32_t i = 0; i < ps->nwo;) {
        if (ps->wo[i].until <= c->hlc) {
          ps->wo[i] = ps->wo[--ps->nwo];
          continue;
        }
        if (ps->wo[i].until < lb)
          lb = ps->wo[i].until;
        i++;
      }
    }
    c->wo_lb = lb;
  }
}

static void drain(p2pc_causal *c, uint64_t mono_ns);

void p2pc_causal_set_time(p2pc_causal *c, int64_t net_ns, uint64_t err_ns,
                          uint64_t mono_ns) {
  c->pt = net_ns > 0 ? P2PC_HLC_PHYS(net_ns) : 0;
  c->err = err_ns;
  c->time_known = net_ns > 0;
  if (c->pt > c->hlc)
    c->hlc = c->pt;
  if (c->nbuf)
    drain(c, mono_ns); /* it sweeps first */
  else
    sweep(c);
}

/* ---- send (A.3) --------------------------------------------------------- */

static uint64_t hlc_send(p2pc_causal *c) {
  return c->pt > c->hlc + 1 ? c->pt : c->hlc + 1;
}

static int send_self(p2pc_causal *c, const uint8_t *payload, size_t len) {
  /* A local event: stamped, but no entries and nothing on the wire. */
  const char *self = name_of(c, c->self);
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
  if ((rv = sync_peers(c)) != 0)
    return rv;
  if (d == c->self)
    return send_self(c, payload, len);
  peer_state *ps = &c->peers[d];
  if (ps->retired)
    return P2PC_ERR_INVAL;
  sweep(c);
  if (c->prune_due) {
    filter_deps(c, dep_stable, &c->st.stable_deps);
    c->prune_due = false;
  }
  /* Back-pressure at the caps, before anything changes. */
  uint32_t di = dep_index(c, d, c->self);
  bool has = di < c->nV && c->V[di].dest == d && c->V[di].sender == c->self;
  if (c->nV > c->cfg.max_msg_deps || c->npending >= c->cfg.max_pending ||
      (!has && c->nV >= c->cfg.max_deps)) {
    c->st.full_deps++;
    return P2PC_ERR_FULL;
  }
  if ((rv = reserve_v(&c->V, &c->capV, c->nV + 1, c->a)) != 0 ||
      (rv = pq_reserve(c, ps)) != 0)
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
  p2pc_ses_dep *lent = NULL;
  if (c->cfg.faults & P2PC_CAUSAL_FAULT_DROP_DEST_PAIR) {
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
  c->a->free(lent, c->a->ud);
  if (rv)
    return rv;

  /* Commit: nothing below can fail. */
  uint32_t carried = m.ndeps;
  c->hlc = stamp;
  c->last_stamp = stamp;
  c->nsent++;
  ps->tx_last_n = m.n;
  pq_push(c, ps, m.n, stamp); /* room was reserved */
  c->npending++;
  if (due(c, stamp, 0) < c->pend_lb)
    c->pend_lb = due(c, stamp, 0);
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
                          .meta = meta};
  emit(c, &ev);
  return 0;
}

int p2pc_causal_send(p2pc_causal *c, const char *dest, const uint8_t *payload,
                     size_t len, uint64_t mono_ns, p2pc_buf *out) {
  (void)mono_ns;
  uint32_t nids = c->ids.n;
  int rv = send_to(c, dest, payload, len, out);
  /* A refused send leaves no trace, not even dest's name: the table is
   * bounded, and sends refused at a cap must not use it up. (A peer
   * state made for the name stays, empty, for whichever name next gets
   * its id.) */
  if (rv)
    p2pc_idtab_truncate(&c->ids, nids);
  return rv;
}

/* ---- delivery ----------------------------------------------------------- */

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
    if (e->dest != c->self)
      continue;
    const peer_state *ps = e->sender < c->npeers ? &c->peers[e->sender] : NULL;
    if ((ps && (ps->retired || ps->rx_last_n >= e->n)) || expired(c, e->stamp))
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

/* An entry of a delivered message, as this node would hold it: one more
 * DATA hop from its sender. */
static p2pc_ses_dep hop(const p2pc_ses_dep *e) {
  p2pc_ses_dep x = *e;
  if (x.hops < P2PC_SES_MAX_HOPS)
    x.hops++;
  return x;
}

static bool keep_entry(const p2pc_causal *c, const p2pc_ses_dep *e) {
  if (e->dest == c->self || expired(c, e->stamp))
    return false;
  if (!c->cfg.no_prune && dep_stable(c, e))
    return false;
  if (e->dest < c->npeers && c->peers[e->dest].retired)
    return false;
  return true;
}

/*
 * Delivers m: merges its entries (those not about this node, not expired,
 * not stable) into V keeping the latest per (dest, sender), advances the
 * sender's stream, and reports the delivery. All-or-nothing: returns
 * P2PC_ERR_FULL (the entry cap) or P2PC_ERR_NOMEM with nothing changed.
 */
static int deliver(p2pc_causal *c, const p2pc_ses_msg *m, uint64_t waited_ns) {
  uint32_t k = 0;
  bool merge = !(c->cfg.faults & P2PC_CAUSAL_FAULT_NO_TRANSITIVE);
  if (merge && m->ndeps) {
    int rv = reserve_v(&c->V2, &c->capV2, c->nV + m->ndeps, c->a);
    if (rv)
      return rv;
    uint32_t i = 0, j = 0;
    uint64_t lb = c->dep_lb;
    while (i < c->nV || j < m->ndeps) {
      p2pc_ses_dep ex;
      const p2pc_ses_dep *e = NULL;
      if (j < m->ndeps) {
        ex = hop(&m->deps[j]);
        e = &ex;
      }
      if (e && !keep_entry(c, e)) {
        j++;
        continue;
      }
      /* The merge copies V anyway: stable entries stay behind. */
      if (i < c->nV && c->prune_due && dep_stable(c, &c->V[i])) {
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
        j++;
      } else {
        /* The latest message; for the same one, the shorter path (a lower
         * hop count is retired by a fresher level). */
        p2pc_ses_dep x = e->n > c->V[i].n ? *e : c->V[i];
        if (e->n == c->V[i].n && e->hops < x.hops)
          x.hops = e->hops;
        c->V2[k++] = x;
        i++;
        j++;
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
  }
  peer_state *ps = &c->peers[m->sender];
  /* Stream messages between the last one delivered and this one's
   * predecessor never got here in time: their entries expired. */
  if (m->prev > ps->rx_last_n)
    wo_add(c, ps, ps->rx_last_n, m->prev);
  if (m->n > ps->rx_last_n)
    ps->rx_last_n = m->n;
  c->st.delivered++;
  p2pc_causal_event ev = {.kind = P2PC_CEV_DELIVER,
                          .sender = name_of(c, m->sender),
                          .n = m->n,
                          .peer = name_of(c, m->sender),
                          .stamp = m->stamp,
                          .bytes = m->payload_len,
                          .waited_ns = waited_ns,
                          .payload = m->payload};
  emit(c, &ev);
  return 0;
}

/* Delivers every buffered message that has become deliverable, repeating
 * until a full pass delivers nothing (A.6). Order among those ready at once
 * is arrival order, so runs are deterministic. */
static void drain(p2pc_causal *c, uint64_t mono_ns) {
  bool progress = true;
  c->drain_pending = false;
  sweep(c);
  while (progress && c->nbuf) {
    progress = false;
    for (uint32_t i = 0; i < c->nbuf;) {
      held *h = &c->buf[i];
      if (unmet(c, &h->m, NULL)) {
        i++;
        continue;
      }
      uint64_t waited = mono_ns > h->since_ns ? mono_ns - h->since_ns : 0;
      if (deliver(c, &h->m, waited) != 0) {
        /* Full or out of memory: it stays buffered; the next accepted
         * input, a tick, or p2pc_causal_drain resumes the drain. */
        c->drain_pending = true;
        return;
      }
      drop_held(c, i);
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

int p2pc_causal_receive(p2pc_causal *c, const char *expected_sender,
                        const uint8_t *b, size_t len, uint64_t mono_ns) {
  uint32_t nids = c->ids.n;
  p2pc_ses_msg m;
  int rv;
  p2pc_ses_msg_init(&m);
  rv = p2pc_wire_ses_get(b, len, &c->ids, c->a, &m);
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
                            .reason = "stamp ahead"};
    emit(c, &ev);
    rv = P2PC_ERR_AHEAD;
    goto out;
  }
  nids = c->ids.n;
  if ((rv = p2pc_wire_ses_commit(&c->ids, &m)) != 0 ||
      (rv = sync_peers(c)) != 0)
    goto out;
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
                          .bytes = m.payload_len};
  if (ps->retired) {
    c->st.dropped_retired++;
    ev.kind = P2PC_CEV_DROP;
    ev.reason = "sender retired";
    emit(c, &ev);
    rv = 0;
    goto out;
  }
  /* The HLC takes in the stamp (receive rule), which may age others. */
  uint64_t h = (c->hlc > m.stamp ? c->hlc : m.stamp) + 1;
  c->hlc = c->pt > h ? c->pt : h;
  sweep(c);

  bool dup = !(c->cfg.faults & P2PC_CAUSAL_FAULT_NO_DEDUP) &&
             (m.n <= ps->rx_last_n || is_buffered(c, m.sender, m.n));
  if (dup && wo_has(ps, m.n)) {
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
  if (expired(c, m.stamp)) {
    c->st.expired_rx++;
    wo_add(c, ps, m.n - 1, m.n);
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
    if ((rv = deliver(c, &m, 0)) != 0) {
      if (rv == P2PC_ERR_FULL)
        c->st.rejected_full++;
      goto out;
    }
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
  held *hd = &c->buf[c->nbuf++];
  hd->m = m;
  hd->payload_copy = copy;
  hd->since_ns = mono_ns;
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
    drain(c, mono_ns);
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
  } else if (!rv && c->drain_pending)
    drain(c, mono_ns);
  p2pc_ses_msg_fini(&m, c->a);
  return rv;
}

/* ---- stability -------------------------------------------------------- */

int p2pc_causal_peer_report(p2pc_causal *c, const char *dest,
                            uint64_t delivered, const uint64_t *wo,
                            uint32_t nwo, uint64_t mono_ns) {
  (void)mono_ns;
  uint32_t d;
  if (!dest || !p2pc_id_valid(dest, strlen(dest)))
    return P2PC_ERR_INVAL;
  if (p2pc_idtab_find(&c->ids, dest, strlen(dest), &d) != 0 || d >= c->npeers ||
      d == c->self)
    return delivered ? P2PC_ERR_PROTO : 0;
  peer_state *ps = &c->peers[d];
  if (delivered > ps->tx_last_n)
    return P2PC_ERR_PROTO;
  for (uint32_t i = 0; i < nwo; i++)
    if (wo[2 * i] == 0 || wo[2 * i] > wo[2 * i + 1] ||
        wo[2 * i + 1] > ps->tx_last_n)
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
        give_up(c, d, &q[i], "written off at its destination");
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
    uint32_t i = dep_index(c, d, c->self);
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
    filter_deps(c, dep_stable, &c->st.stable_deps);
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
  if (x == c->self)
    return P2PC_ERR_INVAL;
  if ((rv = sync_peers(c)) != 0) {
    p2pc_idtab_truncate(&c->ids, nids); /* a new name leaves no trace */
    return rv;
  }
  peer_state *ps = &c->peers[x];
  if (ps->retired)
    return 0;
  ps->retired = true;
  c->npending -= ps->pq_n;
  ps->pq_n = ps->pq_head = 0;
  uint64_t ignored = 0;
  filter_deps(c, dep_to_retired, &ignored);
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
    drop_held(c, i);
  }
  /* Messages that waited only on its lost messages may go now. */
  drain(c, mono_ns);
  return 0;
}

void p2pc_causal_drain(p2pc_causal *c, uint64_t mono_ns) {
  if (c->drain_pending)
    drain(c, mono_ns);
}

bool p2pc_causal_is_retired(const p2pc_causal *c, const char *id) {
  uint32_t x;
  return id && p2pc_idtab_find(&c->ids, id, strlen(id), &x) == 0 &&
         x < c->npeers && c->peers[x].retired;
}

/* ---- introspection ------------------------------------------------------ */

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
    k += !dep_stable(c, &c->V[i]);
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
