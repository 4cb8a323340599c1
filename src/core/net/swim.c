/* SPDX-License-Identifier: MIT */
/*
 * Failure detection that scales (PROTOCOL.md, "Failure detection"): SWIM
 * over the node's links, with Lifeguard's refinements.
 *
 * Each probe round (probe_interval) the node PINGs one up peer, the next
 * of a random order over its up peers (each once a cycle). No PONG, and
 * no other frame from it, within the probe timeout: it asks SWIM_K other
 * up peers to probe it (PING_REQ); one that has a link to it PINGs it and
 * passes the PONG back (PING_REQ_ACK). No answer at all by three probe
 * timeouts: the peer is SUSPECT. A suspicion spreads in MEMBER frames; the
 * suspected node refutes it by raising its `heard` counter and spreading
 * ALIVE. A suspicion not refuted within the suspicion timeout, which
 * shrinks with independent confirmations (Lifeguard), makes the peer DOWN:
 * its link is closed. The local health multiplier (LHM) stretches this
 * node's timeouts while it looks overloaded itself (failed probes, being
 * suspected), so that a slow node does not accuse healthy ones.
 *
 * Updates wait in a bounded queue; each goes at once to SWIM_FANOUT random
 * up peers, and with every PING and PONG after, until it has gone
 * λ·⌈log2(N+1)⌉ times. Only peers in the table are tracked; an update
 * about a node we do not know is relayed once, unapplied (rumour()), so
 * that a node's neighbours, seldom neighbours of one another in partial
 * views, hear each other. A claim older than what we hold is answered
 * with ours, and a refutation goes straight back to the claimant.
 */
#include "nodeint.h"
#include "num.h"

#include <math.h>

static uint32_t id_hash(const char *s) { return p2pc_fnv1a(s, strlen(s)); }

/* A peer with an up link the detector may talk to. */
static bool linked(const p2pc_node *n, const peer *p) {
  return p->link != NO_LINK && n->links[p->link].state == L_UP;
}

static uint64_t probe_timeout(const p2pc_node *n) {
  return n->cfg.probe_timeout_ns * (1 + n->sw.lhm);
}

static void lhm_add(p2pc_node *n, int d) {
  if (d > 0 && n->sw.lhm < SWIM_LHM_MAX)
    n->sw.lhm++;
  else if (d < 0 && n->sw.lhm > 0)
    n->sw.lhm--;
}

uint64_t p2pc__swim_suspicion_ns(uint64_t interval_ns, uint32_t members,
                                 uint32_t lhm, uint32_t confirmations) {
  double scale = log10((double)members + 1) / 2;
  if (scale < 1)
    scale = 1;
  double lo = (double)interval_ns * SWIM_SUSPECT_MIN * scale * (1 + lhm);
  double hi = lo * SWIM_SUSPECT_MAX;
  double c = confirmations > SWIM_K ? SWIM_K : confirmations;
  double t = hi - (hi - lo) * log(c + 1) / log(SWIM_K + 1);
  return (uint64_t)(t < lo ? lo : t);
}

static uint64_t suspicion_ns(const p2pc_node *n, const swim_member *m) {
  return p2pc__swim_suspicion_ns(n->cfg.probe_interval_ns, n->npeers, n->sw.lhm,
                                 m->nconf);
}

static uint32_t retransmits(const p2pc_node *n) {
  uint32_t k = 0;
  while ((1u << k) < n->npeers + 2)
    k++;
  return SWIM_LAMBDA * (k ? k : 1);
}

/* The member state of p's current incarnation (reset when it changed). */
static swim_member *member(peer *p) {
  if (p->m.inc != p->inc) {
    uint64_t cycle = p->m.cycle;
    memset(&p->m, 0, sizeof p->m);
    p->m.inc = p->inc;
    p->m.cycle = cycle;
  }
  return &p->m;
}

static void emit(p2pc_node *n, const peer *p, p2pc_event_type type) {
  p2pc_event ev = {0};
  ev.type = type;
  ev.peer = p->id;
  ev.u.member.incarnation = p->m.inc;
  ev.u.member.heard = p->m.heard;
  if (type == P2PC_EVENT_MEMBER_DOWN)
    ev.reason = "failed";
  p2pc__node_emit(n, &ev);
  char t[200] = "members: ";
  p2pc_str_cat(t, sizeof t, p->id);
  p2pc_str_cat(t, sizeof t,
               type == P2PC_EVENT_MEMBER_DOWN      ? " down (failed)"
               : type == P2PC_EVENT_MEMBER_SUSPECT ? " suspect"
                                                   : " alive");
  p2pc_str_cat(t, sizeof t, " heard=");
  p2pc_str_u64(t, sizeof t, p->m.heard);
  p2pc__node_log(n, P2PC_LOG_INFO, t);
}

/* ---- the dissemination queue -------------------------------------------- */

/* Queues an update, replacing any older one about the same node. A full
 * queue drops the update with the fewest transmissions left. */
static void enqueue(p2pc_node *n, uint8_t state, const char *id, uint64_t inc,
                    uint64_t heard) {
  swim *s = &n->sw;
  uint32_t at = s->nq;
  for (uint32_t i = 0; i < s->nq; i++)
    if (strcmp(s->q[i].m.id, id) == 0)
      at = i;
  if (at == s->nq && at < SWIM_QUEUE && at == s->qcap) {
    uint32_t cap = s->qcap ? s->qcap * 2 : 4;
    cap = cap < SWIM_QUEUE ? cap : SWIM_QUEUE;
    swim_update *q = n->a->realloc(s->q, cap * sizeof *q, n->a->ud);
    if (q) {
      s->q = q;
      s->qcap = cap;
    } else if (!s->nq) {
      return; /* out of memory: the update is not spread */
    }
  }
  if (at == SWIM_QUEUE || (at == s->nq && at == s->qcap)) {
    at = 0;
    for (uint32_t i = 1; i < s->nq; i++)
      if (s->q[i].left < s->q[at].left)
        at = i;
  } else if (at == s->nq) {
    s->nq++;
  }
  swim_update *u = &s->q[at];
  memset(u, 0, sizeof *u);
  u->m.state = state;
  p2pc_str_cat(u->m.id, sizeof u->m.id, id);
  u->m.incarnation = inc;
  u->m.heard = heard;
  u->left = retransmits(n);
}

static void queue_member(p2pc_node *n, const peer *p) {
  enqueue(n, p->m.state ? p->m.state : P2PC_MEMBER_ALIVE, p->id, p->m.inc,
          p->m.heard);
}

/* One MEMBER frame with the given records on link lid. */
static void member_frame(p2pc_node *n, uint32_t lid, const p2pc_wire_member *m,
                         size_t k) {
  link *l = p2pc__node_link_get(n, lid);
  if (!l || l->state != L_UP || !k)
    return;
  p2pc_buf_reset(&n->scratch);
  long at = p2pc_wire_frame_begin(&n->scratch, P2PC_FRAME_MEMBER);
  if (at >= 0 && p2pc_wire_member_put(&n->scratch, m, k) == 0 &&
      p2pc_wire_frame_end(&n->scratch, at, n->cfg.max_frame) == 0)
    p2pc__node_link_write(n, l);
}

/* The queue, once, on link lid: each record's count goes down. */
static void piggyback(p2pc_node *n, uint32_t lid) {
  swim *s = &n->sw;
  if (!s->nq)
    return;
  p2pc_wire_member m[SWIM_QUEUE];
  for (uint32_t i = 0; i < s->nq; i++)
    m[i] = s->q[i].m;
  member_frame(n, lid, m, s->nq);
  uint32_t k = 0;
  for (uint32_t i = 0; i < s->nq; i++)
    if (--s->q[i].left > 0)
      s->q[k++] = s->q[i];
  s->nq = k;
}

/* Draws up to want up peers at random (not skip, not the one named),
 * into out (peer indices); returns how many. */
static uint32_t draw_peers(p2pc_node *n, const char *skip, uint32_t *out,
                           uint32_t want) {
  uint32_t k = 0, seen = 0;
  for (uint32_t i = 0; i < n->npeers; i++) {
    peer *p = &n->peers[i];
    if (!linked(n, p) || (skip && strcmp(p->id, skip) == 0) ||
        p->m.state == P2PC_MEMBER_DOWN)
      continue;
    seen++;
    if (k < want) {
      out[k++] = i;
    } else { /* reservoir sampling */
      uint64_t j = rng_below(n, seen);
      if (j < want)
        out[j] = i;
    }
  }
  return k;
}

/* New information: it goes to a few peers at once. */
static void spread(p2pc_node *n) {
  uint32_t pick[SWIM_FANOUT];
  uint32_t k = draw_peers(n, NULL, pick, SWIM_FANOUT);
  for (uint32_t i = 0; i < k && n->sw.nq; i++)
    piggyback(n, n->peers[pick[i]].link);
}

/* ---- state changes ------------------------------------------------------- */

static void declare_down(p2pc_node *n, peer *p) {
  swim_member *m = member(p);
  m->state = P2PC_MEMBER_DOWN;
  m->nconf = 0;
  m->relinked = false;
  emit(n, p, P2PC_EVENT_MEMBER_DOWN);
  queue_member(n, p);
  if (p->link != NO_LINK) {
    uint32_t lid = p->link;
    p2pc__node_link_close(n, lid, 0, NULL);
    p->link = NO_LINK;
    p2pc__node_peer_down(n, p, "failed");
  }
}

static void confirm(swim_member *m, uint32_t who) {
  for (uint32_t i = 0; i < m->nconf; i++)
    if (m->conf[i] == who)
      return;
  if (m->nconf < SWIM_K)
    m->conf[m->nconf++] = who;
}

/* Our own probe of p failed: suspect it (or confirm our suspicion). */
static void suspect(p2pc_node *n, peer *p) {
  swim_member *m = member(p);
  if (m->state == P2PC_MEMBER_DOWN)
    return;
  if (m->state == P2PC_MEMBER_SUSPECT) { /* heard of, now seen ourselves */
    uint8_t had = m->nconf;
    confirm(m, id_hash(n->id));
    if (m->nconf > had) { /* an independent confirmation: it goes out */
      queue_member(n, p);
      spread(n);
    }
    return;
  }
  m->state = P2PC_MEMBER_SUSPECT;
  m->since_ns = n->now.mono_ns;
  m->nconf = 0;
  m->told = false;
  m->relinked = false;
  emit(n, p, P2PC_EVENT_MEMBER_SUSPECT);
  queue_member(n, p);
  spread(n);
}

/* A record about this node: a suspicion (or DOWN) of this incarnation is
 * refuted. Returns whether the sender holds a claim our ALIVE overrides
 * (then it hears ours directly: the refutation reaches the nodes that
 * spread the claim, not only random ones). */
static bool about_self(p2pc_node *n, const p2pc_wire_member *r) {
  swim *s = &n->sw;
  if (r->incarnation != n->cfg.incarnation || r->state == P2PC_MEMBER_ALIVE)
    return false;
  if (r->heard < s->heard)
    return true; /* refuted already: stale news */
  s->heard = r->heard + 1;
  s->refuted++;
  lhm_add(n, +1); /* being suspected: maybe we are the slow one */
  enqueue(n, P2PC_MEMBER_ALIVE, n->id, n->cfg.incarnation, s->heard);
  spread(n);
  char t[120] = "members: refuting a suspicion of this node, heard=";
  p2pc_str_u64(t, sizeof t, s->heard);
  p2pc__node_log(n, P2PC_LOG_INFO, t);
  return true;
}

/* What a record was to us (apply). */
enum { R_OLD, R_NEWS, R_STALE };

/* Applies record r, heard from peer `from` (a hash of its ID): SWIM's
 * precedence. R_NEWS: it changed what we hold; R_STALE: what we hold
 * overrides it (a higher `heard`), so the sender should hear ours; R_OLD:
 * neither. */
static int apply(p2pc_node *n, peer *p, const p2pc_wire_member *r,
                 uint32_t from) {
  swim_member *m = member(p);
  uint8_t st = m->state ? m->state : P2PC_MEMBER_ALIVE;
  if (r->heard < m->heard)
    return R_STALE;
  switch (r->state) {
  case P2PC_MEMBER_ALIVE:
    if (r->heard == m->heard)
      return R_OLD;
    m->heard = r->heard;
    m->state = P2PC_MEMBER_ALIVE;
    m->nconf = 0;
    m->relinked = false;
    if (st != P2PC_MEMBER_ALIVE)
      emit(n, p, P2PC_EVENT_MEMBER_ALIVE);
    return R_NEWS;
  case P2PC_MEMBER_SUSPECT:
    if (r->heard == m->heard &&
        (st == P2PC_MEMBER_DOWN || m->relinked)) /* DOWN, or back since */
      return R_OLD;
    if (st == P2PC_MEMBER_SUSPECT && r->heard == m->heard) {
      confirm(m, from);
      return R_OLD;
    }
    m->heard = r->heard;
    m->state = P2PC_MEMBER_SUSPECT;
    m->since_ns = n->now.mono_ns;
    m->nconf = 0;
    m->told = false;
    confirm(m, from);
    emit(n, p, P2PC_EVENT_MEMBER_SUSPECT);
    if (linked(n, p)) { /* a neighbour: see for ourselves, next */
      n->sw.urgent[0] = '\0';
      p2pc_str_cat(n->sw.urgent, sizeof n->sw.urgent, p->id);
    }
    return R_NEWS;
  case P2PC_MEMBER_DOWN:
    if (r->heard == m->heard && (st == P2PC_MEMBER_DOWN || m->relinked))
      return R_OLD;
    m->heard = r->heard;
    declare_down(n, p);
    return R_OLD; /* declare_down queued it */
  }
  return R_OLD;
}

/* ---- probes ------------------------------------------------------------- */

static void ping(p2pc_node *n, uint32_t lid, uint64_t token) {
  p2pc__node_frame_to_link(n, lid, P2PC_FRAME_PING, NULL, token);
  piggyback(n, lid);
}

static void probe_done(p2pc_node *n, bool ok) {
  swim *s = &n->sw;
  s->probing = false;
  if (ok) {
    s->acks++;
    lhm_add(n, -1);
  }
}

/* The next peer to probe: a random one of those not yet probed this
 * cycle (a random order, each once a cycle, as SWIM's round robin over a
 * shuffled list). */
static peer *next_target(p2pc_node *n) {
  if (n->sw.urgent[0]) { /* suspected by another: probed out of turn */
    uint32_t ui = p2pc__node_peer_find(n, n->sw.urgent);
    n->sw.urgent[0] = '\0';
    if (ui != NO_PEER && linked(n, &n->peers[ui]) && n->peers[ui].inc_known &&
        member(&n->peers[ui])->state == P2PC_MEMBER_SUSPECT)
      return &n->peers[ui];
  }
  for (int pass = 0; pass < 2; pass++) {
    uint32_t cand = 0, pick = NO_PEER;
    for (uint32_t i = 0; i < n->npeers; i++) {
      peer *p = &n->peers[i];
      if (!linked(n, p) || leaving(p) || !p->inc_known ||
          member(p)->state == P2PC_MEMBER_DOWN || p->m.cycle > n->sw.cycle)
        continue;
      if (rng_below(n, ++cand) == 0)
        pick = i;
    }
    if (pick != NO_PEER)
      return &n->peers[pick];
    n->sw.cycle++; /* everyone had a turn: a new cycle */
  }
  return NULL;
}

static void probe_start(p2pc_node *n, uint64_t t) {
  swim *s = &n->sw;
  peer *p = next_target(n);
  if (!p)
    return;
  p->m.cycle = s->cycle + 1;
  s->probing = true;
  s->indirect = false;
  s->t0_ns = t;
  s->token = p2pc_rng_next(&n->rng);
  s->target[0] = '\0';
  p2pc_str_cat(s->target, sizeof s->target, p->id);
  s->probes++;
  ping(n, p->link, s->token);
}

static void probe_indirect(p2pc_node *n) {
  swim *s = &n->sw;
  s->indirect = true;
  uint32_t pick[SWIM_K];
  uint32_t k = draw_peers(n, s->target, pick, SWIM_K);
  for (uint32_t i = 0; i < k; i++) {
    uint32_t lid = n->peers[pick[i]].link;
    p2pc_buf_reset(&n->scratch);
    long at = p2pc_wire_frame_begin(&n->scratch, P2PC_FRAME_PING_REQ);
    if (at >= 0 &&
        p2pc_wire_pingreq_put(&n->scratch, s->target, s->token) == 0 &&
        p2pc_wire_frame_end(&n->scratch, at, n->cfg.max_frame) == 0)
      p2pc__node_link_write(n, &n->links[lid]);
  }
}

void p2pc__swim_on_deadline(p2pc_node *n, uint64_t t) {
  swim *s = &n->sw;
  if (n->stopping)
    return;
  /* suspicions that ran out */
  for (uint32_t i = 0; i < n->npeers; i++) {
    peer *p = &n->peers[i];
    if (p->inc_known && member(p)->state == P2PC_MEMBER_SUSPECT &&
        t - p->m.since_ns >= suspicion_ns(n, &p->m))
      declare_down(n, p);
  }
  if (s->probing) {
    uint32_t pi = p2pc__node_peer_find(n, s->target);
    uint64_t to = probe_timeout(n);
    if (pi == NO_PEER || member(&n->peers[pi])->state == P2PC_MEMBER_DOWN) {
      s->probing = false; /* it went meanwhile */
    } else if (n->peers[pi].ondemand && !linked(n, &n->peers[pi])) {
      /* Its link on demand was closed, idle, meanwhile (by either end,
       * on purpose): the PING or its PONG went with it. No failure: the
       * probe is dropped, not counted (it made 53 false suspicions in
       * 200 nodes x 150 s of sends to any node). */
      s->probing = false;
    } else if (t - s->t0_ns >= 3 * to) {
      s->failed++;
      lhm_add(n, +1);
      probe_done(n, false);
      suspect(n, &n->peers[pi]);
    } else if (!s->indirect && t - s->t0_ns >= to) {
      probe_indirect(n);
    }
  }
  if (!s->probing && (t >= s->next_probe_ns || s->urgent[0])) {
    s->next_probe_ns = t + n->cfg.probe_interval_ns;
    probe_start(n, t);
  }
}

uint64_t p2pc__swim_next_deadline(const p2pc_node *n) {
  const swim *s = &n->sw;
  if (n->stopping)
    return UINT64_MAX;
  uint64_t d = UINT64_MAX;
  bool any = false;
  for (uint32_t i = 0; i < n->npeers; i++) {
    const peer *p = &n->peers[i];
    /* (the rare condition first; once one peer is linked, no more
     * looking at links: the pass runs after every call) */
    if (p->m.state == P2PC_MEMBER_SUSPECT && p->inc_known &&
        p->m.inc == p->inc) {
      uint64_t at = p->m.since_ns + suspicion_ns(n, &p->m);
      d = at < d ? at : d;
    }
    if (!any)
      any = p->inc_known && linked(n, p);
  }
  if (s->probing) {
    uint64_t to = probe_timeout(n);
    uint64_t at = s->t0_ns + (s->indirect ? 3 * to : to);
    d = at < d ? at : d;
  } else if (any) {
    d = s->next_probe_ns < d ? s->next_probe_ns : d;
    if (s->urgent[0])
      d = n->now.mono_ns < d ? n->now.mono_ns : d;
  }
  return d;
}

/* ---- frames in ------------------------------------------------------------
 */

/* Any frame from p: it is alive. Our probe of it is answered; if we
 * suspect it, it hears so from us (and refutes). */
void p2pc__swim_heard(p2pc_node *n, peer *p) {
  swim *s = &n->sw;
  if (s->probing && strcmp(s->target, p->id) == 0)
    probe_done(n, true);
  if (p->inc_known && member(p)->state == P2PC_MEMBER_SUSPECT && !p->m.told &&
      p->link != NO_LINK) {
    p->m.told = true;
    p2pc_wire_member r = {.state = P2PC_MEMBER_SUSPECT,
                          .incarnation = p->m.inc,
                          .heard = p->m.heard};
    p2pc_str_cat(r.id, sizeof r.id, p->id);
    member_frame(n, p->link, &r, 1);
  }
}

static void relay_ping(p2pc_node *n, peer *from, const char *target,
                       uint64_t token) {
  uint32_t ti = p2pc__node_peer_find(n, target);
  if (ti == NO_PEER || !linked(n, &n->peers[ti]) || strcmp(target, n->id) == 0)
    return; /* no link to it: no answer (PROTOCOL.md) */
  if (!n->sw.relay) {
    n->sw.relay =
        n->a->realloc(NULL, SWIM_RELAYS * sizeof *n->sw.relay, n->a->ud);
    if (!n->sw.relay)
      return; /* out of memory: no answer, as without a link */
    memset(n->sw.relay, 0, SWIM_RELAYS * sizeof *n->sw.relay);
  }
  swim_relay *r = &n->sw.relay[0];
  for (uint32_t i = 0; i < SWIM_RELAYS; i++) {
    swim_relay *x = &n->sw.relay[i];
    if (!x->req[0] || n->now.mono_ns >= x->until_ns) {
      r = x;
      break;
    }
    if (x->until_ns < r->until_ns)
      r = x;
  }
  memset(r, 0, sizeof *r);
  p2pc_str_cat(r->req, sizeof r->req, from->id);
  p2pc_str_cat(r->target, sizeof r->target, target);
  r->req_token = token;
  r->token = p2pc_rng_next(&n->rng);
  r->until_ns = n->now.mono_ns + 3 * probe_timeout(n);
  ping(n, n->peers[ti].link, r->token);
}

static void on_pong(p2pc_node *n, peer *p, uint64_t token) {
  swim *s = &n->sw;
  if (s->probing && token == s->token && strcmp(s->target, p->id) == 0)
    probe_done(n, true);
  for (uint32_t i = 0; s->relay && i < SWIM_RELAYS; i++) {
    swim_relay *r = &s->relay[i];
    if (!r->req[0] || r->token != token || strcmp(r->target, p->id) != 0)
      continue;
    uint32_t qi = p2pc__node_peer_find(n, r->req);
    if (qi != NO_PEER && linked(n, &n->peers[qi])) {
      p2pc_buf_reset(&n->scratch);
      long at = p2pc_wire_frame_begin(&n->scratch, P2PC_FRAME_PING_REQ_ACK);
      if (at >= 0 &&
          p2pc_wire_pingreq_put(&n->scratch, r->target, r->req_token) == 0 &&
          p2pc_wire_frame_end(&n->scratch, at, n->cfg.max_frame) == 0)
        p2pc__node_link_write(n, &n->links[n->peers[qi].link]);
    }
    r->req[0] = '\0';
  }
}

static void fill(p2pc_wire_member *r, uint8_t state, const char *id,
                 uint64_t inc, uint64_t heard) {
  memset(r, 0, sizeof *r);
  r->state = state;
  p2pc_str_cat(r->id, sizeof r->id, id);
  r->incarnation = inc;
  r->heard = heard;
}

static uint64_t id_hash64(const char *s) {
  uint64_t h = 14695981039346656037ull;
  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h ? h : 1;
}

/* A record about a node not in the peer table: it is relayed as news
 * (queued and spread, not applied) when it beats the last one relayed
 * about that node by SWIM's precedence (a newer incarnation; a higher
 * `heard`; at the same `heard` DOWN over SUSPECT over ALIVE). The
 * neighbours of a node in partial views are seldom neighbours of one
 * another: this is how they hear each other's suspicion. */
static bool rumour(p2pc_node *n, const p2pc_wire_member *r) {
  swim *s = &n->sw;
  uint64_t h = id_hash64(r->id);
  swim_rumour *e = NULL;
  for (uint32_t i = 0; i < SWIM_RUMOURS && !e; i++)
    if (s->rumour[i].hash == h)
      e = &s->rumour[i];
  if (e && (r->incarnation < e->inc ||
            (r->incarnation == e->inc &&
             (r->heard < e->heard ||
              (r->heard == e->heard && r->state <= e->state)))))
    return false;
  if (!e) {
    e = &s->rumour[s->rumour_next];
    s->rumour_next = (s->rumour_next + 1) % SWIM_RUMOURS;
  }
  e->hash = h;
  e->inc = r->incarnation;
  e->heard = r->heard;
  e->state = r->state;
  enqueue(n, r->state, r->id, r->incarnation, r->heard);
  return true;
}

/* A MEMBER frame from peer `from` on link lid. What is news is applied and
 * spread; a record that what we hold overrides (an older `heard`, or a
 * claim about this node that it refutes) is answered on lid with ours, so
 * that a refutation reaches the nodes still spreading the stale claim. */
static int on_member(p2pc_node *n, p2pc_link_id lid, peer *from,
                     const uint8_t *b, size_t len) {
  p2pc_wire_member m[P2PC_WIRE_MEMBER_MAX], back[P2PC_WIRE_MEMBER_MAX];
  size_t k = 0, nb = 0;
  if (p2pc_wire_member_get(b, len, m, P2PC_WIRE_MEMBER_MAX, &k) < 0)
    return P2PC_ERR_PROTO;
  uint32_t who = id_hash(from->id);
  bool news = false;
  for (size_t i = 0; i < k; i++) {
    if (strcmp(m[i].id, n->id) == 0) {
      if (about_self(n, &m[i]))
        fill(&back[nb++], P2PC_MEMBER_ALIVE, n->id, n->cfg.incarnation,
             n->sw.heard);
      continue;
    }
    uint32_t pi = p2pc__node_peer_find(n, m[i].id);
    if (pi == NO_PEER) {
      news |= rumour(n, &m[i]); /* not ours to track: relayed */
      continue;
    }
    if (!n->peers[pi].inc_known || n->peers[pi].inc != m[i].incarnation)
      continue; /* another incarnation */
    peer *p = &n->peers[pi];
    int a = apply(n, p, &m[i], who);
    if (a == R_NEWS) {
      queue_member(n, p);
      news = true;
    } else if (a == R_STALE) {
      fill(&back[nb++], p->m.state ? p->m.state : P2PC_MEMBER_ALIVE, p->id,
           p->m.inc, p->m.heard);
    }
  }
  if (nb)
    member_frame(n, lid, back, nb);
  if (news)
    spread(n);
  return 0;
}

int p2pc__swim_frame(p2pc_node *n, p2pc_link_id lid, peer *p,
                     const p2pc_frame *f) {
  uint64_t token;
  char target[P2PC_NODE_ID_MAX + 1];
  switch (f->type) {
  case P2PC_FRAME_PING:
    if (p2pc_wire_ping_get(f->body, f->body_len, &token) < 0)
      return p2pc__node_proto_error(n, lid, "malformed PING");
    p2pc__node_frame_to_link(n, lid, P2PC_FRAME_PONG, NULL, token);
    piggyback(n, lid);
    return 0;
  case P2PC_FRAME_PONG:
    if (p2pc_wire_ping_get(f->body, f->body_len, &token) < 0)
      return p2pc__node_proto_error(n, lid, "malformed PONG");
    on_pong(n, p, token);
    return 0;
  case P2PC_FRAME_PING_REQ:
    if (p2pc_wire_pingreq_get(f->body, f->body_len, target, &token) < 0)
      return p2pc__node_proto_error(n, lid, "malformed PING_REQ");
    relay_ping(n, p, target, token);
    return 0;
  case P2PC_FRAME_PING_REQ_ACK:
    if (p2pc_wire_pingreq_get(f->body, f->body_len, target, &token) < 0)
      return p2pc__node_proto_error(n, lid, "malformed PING_REQ_ACK");
    if (n->sw.probing && token == n->sw.token &&
        strcmp(target, n->sw.target) == 0) {
      n->sw.indirect_acks++;
      probe_done(n, true);
    }
    return 0;
  case P2PC_FRAME_MEMBER:
    if (on_member(n, lid, p, f->body, f->body_len) < 0)
      return p2pc__node_proto_error(n, lid, "malformed MEMBER");
    return 0;
  default:
    return P2PC_ERR_INVAL;
  }
}

/* p's link came up (its HELLO accepted): direct evidence that it lives.
 * One we held SUSPECT or DOWN is alive again here, and hears what we held
 * so it can refute it with a higher `heard` everywhere else. */
void p2pc__swim_link_up(p2pc_node *n, peer *p) {
  swim_member *m = member(p);
  if (!m->state || m->state == P2PC_MEMBER_ALIVE)
    return;
  p2pc_wire_member r = {
      .state = m->state, .incarnation = m->inc, .heard = m->heard};
  p2pc_str_cat(r.id, sizeof r.id, p->id);
  m->state = P2PC_MEMBER_ALIVE;
  m->nconf = 0;
  m->relinked = true; /* claims at this `heard` are older than the link */
  emit(n, p, P2PC_EVENT_MEMBER_ALIVE);
  member_frame(n, p->link, &r, 1);
}

void p2pc__swim_free(p2pc_node *n) {
  n->a->free(n->sw.q, n->a->ud);
  n->a->free(n->sw.relay, n->a->ud);
  n->sw.q = NULL;
  n->sw.relay = NULL;
  n->sw.nq = n->sw.qcap = 0;
}

void p2pc__swim_init(p2pc_node *n) {
  memset(&n->sw, 0, sizeof n->sw);
  n->sw.next_probe_ns =
      n->now.mono_ns + rng_below(n, n->cfg.probe_interval_ns + 1);
}
