/* SPDX-License-Identifier: MIT */
/*
 * Views, not tables (HyParView, Leitão et al., DSN 2007; PROTOCOL.md,
 * "Views and shuffles"). The active view is the peer table: the links
 * (max_peers, joined by edge split, join.c). The passive view is a bounded
 * array of address records of nodes we know and do not link to, fed by
 * PEERS samples, SHUFFLE exchanges and the peers that leave the table; it
 * never holds this node or a peer of the table. A node dials from it
 * (promotes an entry into the table) when its active view is short: with
 * JOIN when fewer than half its slots are linked (link.c sets the flag),
 * else one entry at a time, which a full node may refuse. A promoted
 * entry whose dial fails is dropped; one refused as full goes back.
 */
#include "nodeint.h"

#define SHUFFLE_KA 3 /* active records in a SHUFFLE, besides our own */
#define SHUFFLE_KP 4 /* passive records in a SHUFFLE */
#define SAMPLE_MAX 64

int p2pc__node_views_init(p2pc_node *n) {
  n->npassive = n->passive_cap = 0; /* grown as records come */
  n->passive = NULL;
  uint64_t iv = n->cfg.shuffle_interval_ns;
  n->next_shuffle_ns = n->now.mono_ns + iv / 2 + rng_below(n, iv + 1);
  n->next_promote_ns = 0;
  return 0;
}

void p2pc__node_views_free(p2pc_node *n) {
  n->a->free(n->passive, n->a->ud);
  n->passive = NULL;
  n->npassive = n->passive_cap = 0;
}

/* Room for one more entry below passive_max, the array doubling up to
 * it (false: out of memory). */
static bool passive_room(p2pc_node *n) {
  return n->npassive < n->passive_cap ||
         p2pc_array_grow(n->a, (void **)&n->passive, &n->passive_cap,
                         sizeof *n->passive, 4, n->cfg.passive_max);
}

static uint32_t passive_find(const p2pc_node *n, const char *id) {
  for (uint32_t i = 0; i < n->npassive; i++)
    if (strcmp(n->passive[i].rec.id, id) == 0)
      return i;
  return NO_PEER;
}

bool p2pc__node_views_get(const p2pc_node *n, const char *id,
                          p2pc_wire_record *out) {
  uint32_t i = passive_find(n, id);
  if (i == NO_PEER)
    return false;
  p2pc_wire_crec_unpack(out, &n->passive[i].rec);
  return true;
}

static void passive_remove(p2pc_node *n, uint32_t i) {
  n->passive[i] = n->passive[--n->npassive];
}

void p2pc__node_views_forget(p2pc_node *n, const char *id) {
  uint32_t i = passive_find(n, id);
  if (i != NO_PEER)
    passive_remove(n, i);
}

bool p2pc__node_addr_failed(const p2pc_node *n, const p2pc_wire_addr *addr) {
  for (uint32_t i = 0; i < P2PC_ADDR_FAILED_MAX; i++)
    if (n->addr_failed[i].until_ns > n->now.mono_ns &&
        p2pc__node_addr_eq(&n->addr_failed[i].addr, addr))
      return true;
  return false;
}

/* addr did not answer: remembered in its own slot, a free one, or the one
 * that would be forgotten first. */
static void note_addr_failed(p2pc_node *n, const p2pc_wire_addr *addr) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < P2PC_ADDR_FAILED_MAX; i++) {
    if (p2pc__node_addr_eq(&n->addr_failed[i].addr, addr)) {
      k = i;
      break;
    }
    if (n->addr_failed[i].until_ns < n->addr_failed[k].until_ns)
      k = i;
  }
  n->addr_failed[k].addr = *addr;
  n->addr_failed[k].until_ns = n->now.mono_ns + P2PC_ADDR_FAILED_NS;
}

/* Whether another node than id is known at addr: in the passive view, or
 * in the table. A node has one address: a second ID there is made up (a
 * stranger's PEERS of a thousand IDs at one address once made the node
 * dial it for each). */
static bool addr_taken(const p2pc_node *n, const p2pc_wire_addr *addr,
                       const char *id) {
  for (uint32_t i = 0; i < n->npassive; i++) {
    if (p2pc__node_addr_eq(&n->passive[i].rec.addr, addr) &&
        strcmp(n->passive[i].rec.id, id) != 0)
      return true;
  }
  for (uint32_t i = 0; i < n->npeers; i++)
    if (n->peers[i].addr_known && p2pc__node_addr_eq(&n->peers[i].addr, addr) &&
        strcmp(n->peers[i].id, id) != 0)
      return true;
  return false;
}

/* Adds rec to the passive view unless it is us or has no address; a
 * record of a node there already is renewed if newer. in_table: the
 * node's peer record is on its way out of the table. A record at an
 * address that did not answer lately, or where another node is known,
 * is not taken. When full, an entry we sent in our last shuffle goes
 * first, else a random one. */
static void passive_add(p2pc_node *n, const p2pc_wire_record *rec,
                        bool in_table) {
  if (!rec->addr.family || strcmp(rec->id, n->id) == 0 || !n->cfg.passive_max)
    return;
  uint32_t pi = p2pc__node_peer_find(n, rec->id);
  if (pi != NO_PEER && !in_table) {
    if (rec->time_port)
      n->peers[pi].time_port = rec->time_port;
    return;
  }
  uint32_t i = passive_find(n, rec->id);
  if (i != NO_PEER) {
    if (rec->incarnation > n->passive[i].rec.incarnation)
      p2pc_wire_crec_pack(&n->passive[i].rec, rec);
    return;
  }
  if (!in_table && (p2pc__node_addr_failed(n, &rec->addr) ||
                    addr_taken(n, &rec->addr, rec->id)))
    return;
  if (n->npassive < n->cfg.passive_max) {
    if (!passive_room(n))
      return; /* out of memory: the view stays as it is */
    i = n->npassive++;
  } else {
    uint32_t sent = 0;
    for (uint32_t k = 0; k < n->npassive; k++)
      sent += n->passive[k].sent;
    if (sent) {
      uint32_t pick = (uint32_t)rng_below(n, sent);
      for (i = 0; i < n->npassive; i++)
        if (n->passive[i].sent && pick-- == 0)
          break;
    } else {
      i = (uint32_t)rng_below(n, n->npassive);
    }
  }
  p2pc_wire_crec_pack(&n->passive[i].rec, rec);
  n->passive[i].sent = false;
}

static void peer_record(const peer *p, p2pc_wire_record *rec) {
  memset(rec, 0, sizeof *rec);
  p2pc_str_cat(rec->id, sizeof rec->id, p->id);
  rec->incarnation = p->inc;
  rec->addr = p->addr;
  rec->time_port = p->time_port;
}

void p2pc__node_views_demote(p2pc_node *n, const peer *p) {
  /* A record names an incarnation: a peer whose incarnation we never
   * learned (a configured seed not yet reached) is no record (found by the
   * simulator: scale1000 addressed a session "n775~0" nobody had). */
  uint64_t inc = p->inc_known ? p->inc : p->rec_inc;
  if (!p->addr_known || !inc)
    return;
  p2pc_wire_record rec;
  peer_record(p, &rec);
  rec.incarnation = inc;
  passive_add(n, &rec, true);
}

/* Drops peer record pi, which never had a session; the last record moves
 * into its slot. */
static void drop_peer(p2pc_node *n, uint32_t pi) {
  peer *p = &n->peers[pi];
  p2pc__node_free_queue(n, p);
  p2pc__node_stable_release(n, p);
  n->a->free(p->q, n->a->ud);
  uint32_t last = --n->npeers;
  for (uint32_t i = 0; i < n->links_hw; i++) {
    link *l = &n->links[i];
    if (l->state != L_FREE && l->peer == pi)
      l->peer = NO_PEER;
    else if (l->state != L_FREE && l->peer == last)
      l->peer = pi;
  }
  if (pi != last)
    n->peers[pi] = n->peers[last];
}

/* A promoted entry still to link, with nothing queued for it. */
static uint32_t promoted_unlinked(const p2pc_node *n, const char *id) {
  uint32_t pi = id && *id ? p2pc__node_peer_find(n, id) : NO_PEER;
  if (pi == NO_PEER)
    return NO_PEER;
  const peer *p = &n->peers[pi];
  if (!p->promoted || p->link != NO_LINK || has_session(p))
    return NO_PEER;
  return pi;
}

/* The pause before the next promotion after f failures in balance:
 * drawn from [b/2, b), b doubling from redial_min up to redial_max. */
static uint64_t fail_pause(p2pc_node *n, uint32_t f) {
  uint64_t b = n->cfg.redial_min_ns;
  while (--f && b < n->cfg.redial_max_ns)
    b *= 2;
  if (b > n->cfg.redial_max_ns)
    b = n->cfg.redial_max_ns;
  return rng_jitter(n, b);
}

bool p2pc__node_views_dial_failed(p2pc_node *n, const char *id) {
  uint32_t pi = promoted_unlinked(n, id);
  if (pi == NO_PEER)
    return false;
  if (n->peers[pi].qn) { /* messages wait for it: dial it as any peer */
    n->peers[pi].promoted = false;
    return false;
  }
  note_addr_failed(n, &n->peers[pi].addr);
  if (n->promote_fails < 64)
    n->promote_fails++;
  uint64_t next = n->now.mono_ns + fail_pause(n, n->promote_fails);
  if (next > n->next_promote_ns)
    n->next_promote_ns = next;
  drop_peer(n, pi);
  return true;
}

void p2pc__node_views_promoted_up(p2pc_node *n) {
  if (n->promote_fails)
    n->promote_fails--;
}

/* Fewer than half of the slots linked (p2pc__node_needy's measure). */
static uint32_t half(const p2pc_node *n) {
  return n->cfg.max_peers / 2 ? n->cfg.max_peers / 2 : 1;
}

bool p2pc__node_views_join(const p2pc_node *n, const peer *p) {
  if (!p2pc__node_needy(n))
    return false;
  if (!p || !p->promoted)
    return true;
  for (uint32_t i = 0; i < n->links_hw; i++)
    if (n->links[i].state == L_UP ||
        (n->links[i].state == L_HELLO && n->links[i].join))
      return false;
  return true;
}

void p2pc__node_views_refused(p2pc_node *n, const char *id) {
  uint32_t pi = promoted_unlinked(n, id);
  if (pi == NO_PEER || n->peers[pi].qn)
    return;
  p2pc__node_views_demote(n, &n->peers[pi]);
  drop_peer(n, pi);
  uint64_t b =
      p2pc__node_needy(n) ? n->cfg.redial_min_ns : n->cfg.redial_max_ns;
  n->next_promote_ns = n->now.mono_ns + rng_jitter(n, b);
}

/* How many passive entries to promote now: up to half the slots at once
 * (those dials carry JOIN), then PROMOTE_INFLIGHT at a time while the
 * table has room (one at a time made a 50-node full mesh take ~1 s to
 * form, and a node's last few links wait on each other's handshakes). */
#define PROMOTE_INFLIGHT 4
static uint32_t promote_want(const p2pc_node *n) {
  if (n->stopping || !n->npassive || n->npeers >= n->cfg.max_peers)
    return 0;
  uint32_t active = 0, inflight = 0;
  for (uint32_t i = 0; i < n->npeers; i++) {
    const peer *p = &n->peers[i];
    inflight += p->promoted;
    active += p->promoted || p->dialing || p->link != NO_LINK;
  }
  uint32_t want = 0;
  if (active < half(n))
    want = half(n) - active;
  else if (active < n->cfg.max_peers && inflight < PROMOTE_INFLIGHT)
    want = PROMOTE_INFLIGHT - inflight;
  /* Promoted entries have not answered lately: one at a time (their
   * addresses may be made up, and each dial is a connection to someone). */
  if (n->promote_fails && want)
    want = inflight ? 0 : 1;
  uint32_t room = n->cfg.max_peers - n->npeers;
  want = want < room ? want : room;
  return want < n->npassive ? want : n->npassive;
}

static void promote(p2pc_node *n) {
  if (n->now.mono_ns < n->next_promote_ns)
    return;
  for (uint32_t k = promote_want(n); k; k--) {
    uint32_t i = (uint32_t)rng_below(n, n->npassive);
    p2pc_wire_record rec;
    p2pc_wire_crec_unpack(&rec, &n->passive[i].rec);
    passive_remove(n, i);
    uint32_t pi = p2pc__node_peer_add(n, rec.id);
    if (pi == NO_PEER)
      return;
    peer *p = &n->peers[pi];
    p->rec_inc = rec.incarnation;
    p->addr = rec.addr;
    p->addr_known = true;
    p->time_port = rec.time_port;
    p->promoted = true;
    p->next_dial_ns = n->now.mono_ns;
  }
}

/* ---- samples ------------------------------------------------------------- */

static void self_record(const p2pc_node *n, p2pc_wire_record *rec) {
  memset(rec, 0, sizeof *rec);
  p2pc_str_cat(rec->id, sizeof rec->id, n->id);
  rec->incarnation = n->cfg.incarnation;
  rec->addr = n->cfg.listen;
  rec->time_port = n->cfg.time.time_port;
}

static bool active_ok(const p2pc_node *n, uint32_t i, uint32_t except) {
  const peer *p = &n->peers[i];
  return i != except && !p->ondemand && p->addr_known && p->inc_known &&
         p->link != NO_LINK && n->links[p->link].state == L_UP;
}

/* Up to m records of random peers linked now (not except), in table order
 * (selection sampling: each subset of size m equally likely). */
static size_t pick_active(p2pc_node *n, p2pc_wire_record *out, size_t m,
                          uint32_t except) {
  size_t avail = 0, k = 0;
  for (uint32_t i = 0; i < n->npeers; i++)
    avail += active_ok(n, i, except);
  for (uint32_t i = 0; i < n->npeers && k < m; i++) {
    if (!active_ok(n, i, except))
      continue;
    if (rng_below(n, avail--) < m - k)
      peer_record(&n->peers[i], &out[k++]);
  }
  return k;
}

/* Up to m random passive records (not of node `except`); mark: they are
 * the ones sent (every other mark cleared). */
static size_t pick_passive(p2pc_node *n, p2pc_wire_record *out, size_t m,
                           const char *except, bool mark) {
  size_t avail = 0, k = 0;
  for (uint32_t i = 0; i < n->npassive; i++) {
    if (mark)
      n->passive[i].sent = false;
    avail += strcmp(n->passive[i].rec.id, except) != 0;
  }
  for (uint32_t i = 0; i < n->npassive && k < m; i++) {
    if (strcmp(n->passive[i].rec.id, except) == 0)
      continue;
    if (rng_below(n, avail--) < m - k) {
      p2pc_wire_crec_unpack(&out[k++], &n->passive[i].rec);
      n->passive[i].sent = mark;
    }
  }
  return k;
}

void p2pc__node_send_peers(p2pc_node *n, p2pc_link_id lid, uint32_t except) {
  p2pc_wire_record *list =
      n->a->realloc(NULL, SAMPLE_MAX * sizeof *list, n->a->ud);
  if (!list)
    return; /* exchange is best effort; shuffles go on */
  size_t s =
      n->cfg.peers_sample < SAMPLE_MAX ? n->cfg.peers_sample : SAMPLE_MAX;
  size_t k = 0;
  if (n->cfg.listen.family)
    self_record(n, &list[k++]);
  /* Half of the rest from each view; what one lacks the other fills. */
  const char *to = except < n->npeers ? n->peers[except].id : "";
  size_t rest = s > k ? s - k : 0, pa = 0;
  for (uint32_t i = 0; i < n->npassive; i++)
    pa += strcmp(n->passive[i].rec.id, to) != 0;
  size_t na = (rest + 1) / 2;
  if (pa < rest - na)
    na = rest - pa;
  k += pick_active(n, list + k, na, except);
  k += pick_passive(n, list + k, s - k, to, false);
  p2pc_buf_reset(&n->scratch);
  long at = p2pc_wire_frame_begin(&n->scratch, P2PC_FRAME_PEERS);
  if (at >= 0 && p2pc_wire_peers_put(&n->scratch, list, k) == 0 &&
      p2pc_wire_frame_end(&n->scratch, at, n->cfg.max_frame) == 0) {
    link *l = p2pc__node_link_get(n, lid);
    if (l)
      p2pc__node_link_write(n, l);
  }
  n->a->free(list, n->a->ud);
}

void p2pc__node_on_peers(p2pc_node *n, const uint8_t *b, size_t len) {
  p2pc_wire_peer *list =
      n->a->realloc(NULL, P2PC_WIRE_MAX_PEERS * sizeof *list, n->a->ud);
  size_t k = 0;
  if (!list)
    return;
  if (p2pc_wire_peers_get(b, len, list, P2PC_WIRE_MAX_PEERS, &k) > 0) {
    for (size_t i = 0; i < k; i++) {
      if (strcmp(list[i].id, n->id) == 0 || !list[i].addr.family)
        continue;
      p2pc__node_dht_learn(n, &list[i]);
      uint32_t pi = p2pc__node_peer_find(n, list[i].id);
      if (pi == NO_PEER) {
        passive_add(n, &list[i], false); /* also for a send to it */
        continue;
      }
      peer *p = &n->peers[pi];
      if (list[i].time_port)
        p->time_port = list[i].time_port;
      /* A newer incarnation heard of second-hand ends the old session now,
       * so nothing waits for the old one's lost messages. */
      /* (Not on secure links: a record is anyone's word, and an
       * incarnation made up would end a live session.) */
      if (p->inc_known && list[i].incarnation > p->inc && p->link == NO_LINK &&
          !n->cfg.secure.on)
        p2pc__node_set_incarnation(n, p, list[i].incarnation);
      if (!p->addr_known) {
        p->addr = list[i].addr;
        p->addr_known = true;
        p->next_dial_ns = n->now.mono_ns;
      }
    }
  }
  n->a->free(list, n->a->ud);
  promote(n);
}

/* ---- shuffles ------------------------------------------------------------ */

static void write_shuffle(p2pc_node *n, p2pc_link_id lid, bool reply,
                          const p2pc_wire_record *recs, size_t k) {
  p2pc_buf_reset(&n->scratch);
  long at = p2pc_wire_frame_begin(&n->scratch, reply ? P2PC_FRAME_SHUFFLE_REPLY
                                                     : P2PC_FRAME_SHUFFLE);
  int rv = at < 0  ? (int)at
           : reply ? p2pc_wire_shuffle_reply_put(&n->scratch, recs, k)
                   : p2pc_wire_shuffle_put(&n->scratch, 0, recs, k);
  if (rv == 0 && p2pc_wire_frame_end(&n->scratch, at, n->cfg.max_frame) == 0) {
    link *l = p2pc__node_link_get(n, lid);
    if (l)
      p2pc__node_link_write(n, l);
  }
}

/* Our record, SHUFFLE_KA active and SHUFFLE_KP passive records to one
 * random peer linked now. */
static void shuffle(p2pc_node *n) {
  uint32_t cand = 0, to = NO_PEER;
  for (uint32_t i = 0; i < n->npeers; i++)
    if (active_ok(n, i, NO_PEER) && !leaving(&n->peers[i]) &&
        rng_below(n, ++cand) == 0)
      to = i;
  if (to == NO_PEER)
    return;
  p2pc_wire_record recs[1 + SHUFFLE_KA + SHUFFLE_KP];
  size_t k = 0;
  if (n->cfg.listen.family)
    self_record(n, &recs[k++]);
  k += pick_active(n, recs + k, SHUFFLE_KA, to);
  k += pick_passive(n, recs + k, SHUFFLE_KP, n->peers[to].id, true);
  write_shuffle(n, n->peers[to].link, false, recs, k);
}

static void merge(p2pc_node *n, const p2pc_wire_record *recs, size_t k) {
  for (size_t i = 0; i < k; i++) {
    passive_add(n, &recs[i], false);
    p2pc__node_dht_learn(n, &recs[i]);
  }
}

int p2pc__node_on_shuffle(p2pc_node *n, p2pc_link_id lid, const uint8_t *b,
                          size_t len) {
  p2pc_wire_record got[P2PC_WIRE_MAX_SHUFFLE], back[P2PC_WIRE_MAX_SHUFFLE];
  uint8_t ttl;
  size_t k = 0;
  if (p2pc_wire_shuffle_get(b, len, &ttl, got, &k) < 0)
    return P2PC_ERR_PROTO;
  if (ttl != 0)
    return 0; /* random walks are for later: not forwarded, not answered */
  const link *l = &n->links[lid];
  const char *from = l->peer != NO_PEER ? n->peers[l->peer].id : "";
  size_t m = pick_passive(n, back, k, from, true);
  write_shuffle(n, lid, true, back, m);
  merge(n, got, k);
  promote(n);
  return 0;
}

int p2pc__node_on_shuffle_reply(p2pc_node *n, const uint8_t *b, size_t len) {
  p2pc_wire_record got[P2PC_WIRE_MAX_SHUFFLE];
  size_t k = 0;
  if (p2pc_wire_shuffle_reply_get(b, len, got, &k) < 0)
    return P2PC_ERR_PROTO;
  merge(n, got, k);
  promote(n);
  return 0;
}

/* ---- time ---------------------------------------------------------------- */

void p2pc__node_views_due(p2pc_node *n, uint64_t t) {
  if (n->stopping)
    return;
  if (t >= n->next_shuffle_ns) {
    uint64_t iv = n->cfg.shuffle_interval_ns;
    n->next_shuffle_ns = t + iv / 2 + rng_below(n, iv + 1);
    shuffle(n);
  }
  promote(n);
}

uint64_t p2pc__node_views_deadline(const p2pc_node *n) {
  if (n->stopping)
    return UINT64_MAX;
  uint64_t d = n->next_shuffle_ns;
  if (promote_want(n)) {
    uint64_t p = n->next_promote_ns > n->now.mono_ns ? n->next_promote_ns
                                                     : n->now.mono_ns;
    d = p < d ? p : d;
  }
  return d;
}

/* ---- introspection ------------------------------------------------------- */

uint32_t p2pc_node_passive_count(const p2pc_node *n) { return n->npassive; }

bool p2pc_node_passive_info(const p2pc_node *n, uint32_t i,
                            p2pc_wire_record *rec) {
  if (i >= n->npassive)
    return false;
  p2pc_wire_crec_unpack(rec, &n->passive[i].rec);
  return true;
}
