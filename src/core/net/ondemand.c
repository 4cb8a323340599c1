/* SPDX-License-Identifier: MIT */
/*
 * Unicast to any node (PROTOCOL.md, "Addressing any node"): a send to a
 * node that is not a neighbour opens a link on demand to it, outside the
 * active view. Its record (address, incarnation) comes from the lookup
 * (p2pc__node_dht_find/_get) or the passive view (views.c); a lookup in
 * progress answers P2PC_ERR_AGAIN and its end the RESOLVED event; a lookup that
 * found nothing answers P2PC_ERR_NOTFOUND for OD_NEG_NS (the negative cache).
 * On-demand links are capped (max_ondemand: the least recently used idle one is
 * closed first) and close when idle (ondemand_idle_ns); their sessions outlive
 * them, up to max_sessions records, the least recently used idle one forgotten
 * first (safe by the FRESH rule, "Making room").
 *
 * The peer array grows here, and never while the application's callback
 * runs (cb_depth): the node's modules hold peer pointers across the
 * callbacks. A send from inside a callback that would need the array to
 * grow answers P2PC_ERR_AGAIN, and the RESOLVED event is owed: it goes out
 * at the next deadline, after the growth.
 */
#include "nodeint.h"

#define HEADROOM 16
enum { OD_FREE, OD_NEG, OD_OWED };

/* ---- the peer array -------------------------------------------------------
 */

static bool grow(p2pc_node *n, uint32_t want) {
  uint32_t max = n->cfg.max_peers + JOIN_SLACK + n->cfg.max_sessions;
  if (want > max)
    want = max;
  if (want <= n->peers_cap)
    return n->npeers < n->peers_cap;
  uint32_t cap = n->peers_cap * 2 > want ? n->peers_cap * 2 : want;
  if (cap > max)
    cap = max;
  peer *x = n->a->realloc(n->peers, (size_t)cap * sizeof *x, n->a->ud);
  if (!x)
    return n->npeers < n->peers_cap;
  n->peers = x;
  n->peers_cap = cap;
  return n->npeers < n->peers_cap;
}

bool p2pc__node_peers_reserve(p2pc_node *n) {
  if (n->npeers < n->peers_cap)
    return true;
  return !n->cb_depth && grow(n, n->npeers + 1);
}

/* ---- the negative cache and the events owed ------------------------------ */

static od_entry *od_find(p2pc_node *n, const char *id, uint8_t kind) {
  for (uint32_t i = 0; n->od && i < OD_TABLE; i++)
    if (n->od[i].kind == kind && strcmp(n->od[i].id, id) == 0)
      return &n->od[i];
  return NULL;
}

/* An entry for id of this kind: its own, a free one, an expired or the
 * oldest negative one (the cache is best effort); NULL if all are owed. */
static od_entry *od_put(p2pc_node *n, const char *id, uint8_t kind) {
  if (!n->od) {
    n->od = n->a->realloc(NULL, OD_TABLE * sizeof *n->od, n->a->ud);
    if (!n->od)
      return NULL;
    memset(n->od, 0, OD_TABLE * sizeof *n->od);
  }
  od_entry *e = od_find(n, id, kind), *old = NULL;
  for (uint32_t i = 0; !e && i < OD_TABLE; i++) {
    od_entry *x = &n->od[i];
    if (x->kind == OD_FREE ||
        (x->kind == OD_NEG && x->until_ns <= n->now.mono_ns))
      e = x;
    else if (x->kind == OD_NEG && (!old || x->until_ns < old->until_ns))
      old = x;
  }
  if (!e)
    e = old;
  if (!e)
    return NULL;
  memset(e->id, 0, sizeof e->id);
  p2pc_str_cat(e->id, sizeof e->id, id);
  e->kind = kind;
  return e;
}

static bool negative(p2pc_node *n, const char *id) {
  od_entry *e = od_find(n, id, OD_NEG);
  if (e && e->until_ns <= n->now.mono_ns)
    e->kind = OD_FREE, e = NULL;
  return e != NULL;
}

static void resolved_event(p2pc_node *n, const char *id, bool ok) {
  p2pc_event ev = {0};
  ev.type = P2PC_EVENT_RESOLVED;
  ev.peer = id;
  ev.u.resolved.ok = ok;
  p2pc__node_emit(n, &ev);
}

bool p2pc__node_ondemand_owed(const p2pc_node *n) {
  for (uint32_t i = 0; n->od && i < OD_TABLE; i++)
    if (n->od[i].kind == OD_OWED)
      return true;
  return false;
}

/* ---- records a lookup found ---------------------------------------------- */

static void heard(p2pc_node *n, const p2pc_wire_peer *rec) {
  if (!rec->addr.family || strcmp(rec->id, n->id) == 0)
    return;
  if (!n->heard) {
    n->heard = n->a->realloc(NULL, OD_HEARD * sizeof *n->heard, n->a->ud);
    if (!n->heard)
      return; /* best effort: the lookup remains */
    n->nheard = 0;
  }
  uint32_t k = n->nheard < OD_HEARD ? n->nheard : OD_HEARD, at = k;
  for (uint32_t i = 0; i < k; i++)
    if (strcmp(n->heard[i].id, rec->id) == 0) {
      if (rec->incarnation < n->heard[i].inc)
        return;
      at = i;
    }
  if (at == OD_HEARD) /* full: the oldest goes, round robin */
    at = n->nheard % OD_HEARD;
  if (at >= k || strcmp(n->heard[at].id, rec->id) != 0)
    n->nheard++;
  od_heard *h = &n->heard[at];
  memset(h, 0, sizeof *h);
  p2pc_str_cat(h->id, sizeof h->id, rec->id);
  h->inc = rec->incarnation;
  h->addr = rec->addr;
  h->time_port = rec->time_port;
  if (n->nheard >= 2 * OD_HEARD) /* keep the counter small, same slot */
    n->nheard -= OD_HEARD;
}

/* The record of id: the lookup's, the passive view's, or one a lookup
 * found (p2pc__node_resolved). */
static bool record_get(p2pc_node *n, const char *id, p2pc_wire_record *out) {
  if (p2pc__node_dht_get(n, id, out) || p2pc__node_views_get(n, id, out))
    return true;
  uint32_t k = n->nheard < OD_HEARD ? n->nheard : OD_HEARD;
  for (uint32_t i = 0; n->heard && i < k; i++)
    if (strcmp(n->heard[i].id, id) == 0) {
      memset(out, 0, sizeof *out);
      p2pc_str_cat(out->id, sizeof out->id, id);
      out->incarnation = n->heard[i].inc;
      out->addr = n->heard[i].addr;
      out->time_port = n->heard[i].time_port;
      return true;
    }
  return false;
}

/* ---- on-demand links and records ----------------------------------------- */

/* An on-demand link that may close: the peer also took it on demand,
 * and nothing is unacknowledged or unreported (as for LEAVE). */
static bool closable(const p2pc_node *n, const peer *p) {
  return p->ondemand && p->link != NO_LINK && n->links[p->link].state == L_UP &&
         n->links[p->link].remote_od && p->qn == 0 && !leaving(p) &&
         (!p->inc_known || p2pc_causal_pending_to(n->causal, p->sesid) == 0);
}

/* The link closes quietly; the session stays. */
static void close_quiet(p2pc_node *n, peer *p, const char *why) {
  uint32_t lid = p->link;
  p2pc__node_stream_flush(n, p); /* our last ACK goes first */
  p2pc__node_link_close(n, lid, 0, NULL);
  p->link = NO_LINK;
  p2pc__node_peer_down(n, p, why);
}

static uint32_t ondemand_links(const p2pc_node *n, const peer *except) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < n->npeers; i++) {
    const peer *p = &n->peers[i];
    k += p != except && p->ondemand && (p->link != NO_LINK || p->dialing);
  }
  return k;
}

/* Closes the least recently used idle on-demand link (not keep's). */
static bool close_lru(p2pc_node *n, const peer *keep) {
  uint32_t v = NO_PEER;
  for (uint32_t i = 0; i < n->npeers; i++)
    if (&n->peers[i] != keep && closable(n, &n->peers[i]) &&
        (v == NO_PEER || n->peers[i].used_ns < n->peers[v].used_ns))
      v = i;
  if (v == NO_PEER)
    return false;
  close_quiet(n, &n->peers[v], "least recently used");
  return true;
}

bool p2pc__node_ondemand_may_dial(p2pc_node *n, peer *p) {
  if (ondemand_links(n, p) < n->cfg.max_ondemand || close_lru(n, p))
    return true;
  /* Every on-demand link is busy: the messages wait queued. */
  p->next_dial_ns = n->now.mono_ns + n->cfg.redial_min_ns;
  return false;
}

void p2pc__node_ondemand_accepted(p2pc_node *n, peer *p) {
  /* Over the cap, an idle one makes room; if every one is busy, the link
   * is taken anyway (the link table bounds them): refusing it would only
   * delay what the dialer has queued. */
  if (ondemand_links(n, p) >= n->cfg.max_ondemand)
    close_lru(n, p);
}

void p2pc__node_ondemand_refused(p2pc_node *n, peer *p) {
  if (p->ondemand || p->qn == 0 || leaving(p))
    return;
  p->ondemand = true;
  n->nondemand++;
  p->backoff_ns = n->cfg.redial_min_ns; /* it takes ON_DEMAND now */
  char t[200] = "peers: ";
  p2pc_str_cat(t, sizeof t, p->id);
  p2pc_str_cat(t, sizeof t, " is full and we have messages for it: on demand");
  p2pc__node_log(n, P2PC_LOG_DEBUG, t);
}

/* An on-demand record without a link and with nothing unacknowledged,
 * unreported or being ended: it may be forgotten (the FRESH rule). */
static bool forgettable(p2pc_node *n, const peer *p) {
  return p->ondemand && p->link == NO_LINK && !p->dialing && !p->qn &&
         !leaving(p) &&
         !(p->inc_known && p2pc_causal_pending_to(n->causal, p->sesid));
}

/* Forgets record pi (another one moves into its slot). */
static void forget_session(p2pc_node *n, uint32_t pi, const char *why) {
  char t[200] = "peers: forgetting the idle session with ";
  p2pc_str_cat(t, sizeof t, n->peers[pi].id);
  p2pc_str_cat(t, sizeof t, " ");
  p2pc_str_cat(t, sizeof t, why);
  p2pc__node_log(n, P2PC_LOG_DEBUG, t);
  p2pc__node_forget_peer(n, pi);
}

/* Forgets the least recently used forgettable on-demand record. */
static bool evict_one(p2pc_node *n) {
  uint32_t v = NO_PEER;
  for (uint32_t i = 0; i < n->npeers; i++) {
    const peer *p = &n->peers[i];
    if (!forgettable(n, p))
      continue;
    if (v == NO_PEER || p->used_ns < n->peers[v].used_ns)
      v = i;
  }
  if (v == NO_PEER)
    return false;
  forget_session(n, v, "to make room");
  return true;
}

/* 0 and *pi, P2PC_ERR_FULL (max_sessions, none idle), P2PC_ERR_AGAIN
 * (inside a callback, the array cannot grow now), P2PC_ERR_NOMEM. */
static int od_new(p2pc_node *n, const char *id, uint32_t *pi) {
  if (n->nondemand >= n->cfg.max_sessions && !evict_one(n))
    return P2PC_ERR_FULL;
  if (!p2pc__node_peers_reserve(n))
    return n->cb_depth ? P2PC_ERR_AGAIN : P2PC_ERR_NOMEM;
  peer *p = &n->peers[n->npeers];
  p2pc__node_peer_init(n, p, id);
  p->ondemand = true;
  n->nondemand++;
  *pi = n->npeers++;
  return 0;
}

uint32_t p2pc__node_ondemand_add(p2pc_node *n, const char *id) {
  uint32_t pi = NO_PEER;
  if (od_new(n, id, &pi) != 0)
    return NO_PEER;
  return pi;
}

void p2pc__node_ondemand_promote(p2pc_node *n, peer *p) {
  if (active_peers(n) >= n->cfg.max_peers)
    return;
  p->ondemand = false;
  n->nondemand--;
}

/* Queues the message on p's session; an idle on-demand peer is dialed
 * now rather than after its back-off. */
static int queue_on(p2pc_node *n, peer *p, const uint8_t *payload, size_t len) {
  bool idle = p->qn == 0;
  int rv = p2pc__node_stream_send(n, p, payload, len);
  if (rv == 0 && p->ondemand && idle && p->link == NO_LINK && !p->dialing)
    p->next_dial_ns = n->now.mono_ns;
  return rv;
}

int p2pc__node_ondemand_send(p2pc_node *n, const char *dest,
                             const uint8_t *payload, size_t len) {
  if (!n->cb_depth && n->npeers + HEADROOM > n->peers_cap)
    grow(n, n->npeers + HEADROOM); /* a safe moment: room for callbacks */
  uint32_t pi = p2pc__node_peer_find(n, dest);
  if (pi != NO_PEER && n->peers[pi].inc_known)
    return queue_on(n, &n->peers[pi], payload, len);
  p2pc_wire_record rec;
  if (!record_get(n, dest, &rec)) {
    if (negative(n, dest))
      return P2PC_ERR_NOTFOUND;
    int rv = p2pc__node_dht_find(n, dest);
    if (rv < 0)
      return rv;
    if (rv == 0) /* it may have ended already */
      return negative(n, dest) ? P2PC_ERR_NOTFOUND : P2PC_ERR_AGAIN;
    if (!record_get(n, dest, &rec))
      return P2PC_ERR_NOTFOUND;
  }
  od_entry *neg = od_find(n, dest, OD_NEG);
  if (neg)
    neg->kind = OD_FREE;
  if (!rec.addr.family)
    return P2PC_ERR_NOTFOUND; /* it takes no connections */
  if (pi == NO_PEER) {
    int rv = od_new(n, dest, &pi);
    if (rv == P2PC_ERR_AGAIN && !od_put(n, dest, OD_OWED))
      rv = P2PC_ERR_NOMEM;
    if (rv)
      return rv;
  }
  peer *p = &n->peers[pi];
  p2pc__node_set_incarnation(n, p, rec.incarnation);
  if (!p->addr_known) {
    p->addr = rec.addr;
    p->addr_known = true;
  }
  if (p->ondemand) {
    char t[200] = "peers: a link on demand to ";
    p2pc_str_cat(t, sizeof t, dest);
    p2pc__node_log(n, P2PC_LOG_DEBUG, t);
  }
  return queue_on(n, p, payload, len);
}

void p2pc__node_resolved(p2pc_node *n, const char *id,
                         const p2pc_wire_record *rec) {
  if (rec) {
    od_entry *e = od_find(n, id, OD_NEG);
    if (e)
      e->kind = OD_FREE;
    heard(n, rec); /* for the send that follows */
  } else {
    od_entry *e = od_put(n, id, OD_NEG);
    if (e)
      e->until_ns = n->now.mono_ns + OD_NEG_NS;
  }
  resolved_event(n, id, rec != NULL);
}

/* How long an idle session outside the active view is remembered once its
 * link has closed: past the causal lifetime (and the settling after it),
 * every message of its stream has been delivered or given up at both
 * ends, so its causal state is gone too and a new link starts afresh.
 * Never with an infinite lifetime (max_sessions still bounds them). */
static uint64_t forget_after(const p2pc_node *n) {
  uint64_t life = p2pc_causal_lifetime(n->causal);
  if (life == P2PC_CAUSAL_LIFETIME_INF || life > UINT64_MAX / 4)
    return UINT64_MAX;
  uint64_t settle = P2PC_CAUSAL_SETTLE_NS + P2PC_CAUSAL_AHEAD_MARGIN_DEFAULT_NS;
  return n->cfg.ondemand_idle_ns > life + settle ? n->cfg.ondemand_idle_ns
                                                 : life + settle;
}

/* The peer array gives back room once it is less than a quarter used
 * (keeping HEADROOM): it grows here too, never inside a callback. */
static void shrink(p2pc_node *n) {
  uint32_t want = n->npeers + HEADROOM;
  if (n->cb_depth || want * 4 > n->peers_cap || want >= n->peers_cap)
    return;
  uint32_t cap = want * 2 < n->peers_cap ? want * 2 : n->peers_cap;
  peer *x = n->a->realloc(n->peers, (size_t)cap * sizeof *x, n->a->ud);
  if (x) {
    n->peers = x;
    n->peers_cap = cap;
  }
}

void p2pc__node_ondemand_due(p2pc_node *n, uint64_t t) {
  if (n->npeers + HEADROOM > n->peers_cap && n->nondemand)
    grow(n, n->npeers + HEADROOM);
  for (uint32_t i = 0; n->od && i < OD_TABLE; i++) {
    od_entry *e = &n->od[i];
    if (e->kind != OD_OWED)
      continue;
    char id[P2PC_NODE_ID_MAX + 1];
    memcpy(id, e->id, sizeof id);
    e->kind = OD_FREE;
    resolved_event(n, id, true);
  }
  uint64_t keep = forget_after(n);
  for (uint32_t i = 0; i < n->npeers;) {
    peer *p = &n->peers[i];
    /* idle first: closable may look up the causal layer's queue */
    if (p->ondemand && t - p->used_ns >= n->cfg.ondemand_idle_ns &&
        closable(n, p))
      close_quiet(n, p, "idle");
    if (p->ondemand && t - p->used_ns >= keep && forgettable(n, p)) {
      forget_session(n, i, "(silent past the causal lifetime)");
      continue; /* another record moved into slot i */
    }
    i++;
  }
  shrink(n);
}

void p2pc__node_ondemand_free(p2pc_node *n) {
  n->a->free(n->heard, n->a->ud);
  n->a->free(n->od, n->a->ud);
  n->heard = NULL;
  n->od = NULL;
}
