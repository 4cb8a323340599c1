/* SPDX-License-Identifier: MIT */
/*
 * Each node's health as the oracles see it, and membership accuracy.
 *
 * Health: a node is healthy while it is alive, not frozen and in no cut
 * of a partition; ok_since says since when (UINT64_MAX: not now). Every
 * change goes through update(), which tells the broadcast oracle (a node
 * in trouble owes nothing to the broadcasts open then) and the detection
 * oracle below. Freezes (`at T freeze R for D`: the node handles no event,
 * its connections stay up) and churn (`churn P`) are scheduled here.
 *
 * Membership accuracy, from the nodes' PEER_DOWN and MEMBER_* events:
 * - a flap is a PEER_DOWN between two nodes both healthy for
 *   P2PC_SIM_SUSPECT_SETTLE_NS, unless its reason says the link was ended
 *   on purpose ("left", "stopping", "stopped"): a link lost without a
 *   fault;
 * - a false suspicion is a MEMBER_SUSPECT or MEMBER_DOWN, from a node
 *   healthy for P2PC_SIM_SUSPECT_SETTLE_NS, about a node as healthy, in
 *   the incarnation it runs now (an event about an older one is about a
 *   node that did die; a node just back from a freeze or a cut may
 *   suspect on stale news);
 * - each crash or freeze opens an episode: every node that had the node
 *   up (a neighbour up or suspect, not a link on demand: with partial
 *   views only its neighbours track it) and stays healthy from its start
 *   until detect_ns later is to declare the node down within detect_ns:
 *   MEMBER_DOWN, or for a crash also PEER_DOWN (its connections close, as
 *   a killed process's do; a frozen node's stay open). At the end
 *   an episode that lasted detect_ns (and ended it before the end of the
 *   run) is judged: the nodes that did not declare it are missed
 *   detections, and the slowest declaration is kept.
 * An episode costs 2 bits a node (simulator memory, counted by the
 * budget) and a look at every node's peer table when it opens; at most
 * P2PC_SIM_MAX_EPISODES are followed.
 */
#include "sim_internal.h"

#include <stdio.h>
#include <string.h>

struct episode {
  uint32_t node;
  bool crash;
  uint64_t t0, t_back; /* UINT64_MAX: still down at the end */
  uint64_t last_ns;    /* the latest declaration within detect_ns */
  uint64_t bits[];     /* bc_words declared, then bc_words not owed */
};

static void set_bit(uint64_t *w, uint32_t i) { w[i / 64] |= 1ull << (i % 64); }

uint32_t p2pc__sim_node_of_id(const p2pc_sim *s, const char *id) {
  if (!id || id[0] != 'n' || !id[1])
    return UINT32_MAX;
  uint64_t v = 0;
  for (const char *c = id + 1; *c; c++) {
    if (*c < '0' || *c > '9' || v > P2PC_SIM_MAX_NODES)
      return UINT32_MAX;
    v = v * 10 + (uint64_t)(*c - '0');
  }
  return v < s->cfg.nodes ? (uint32_t)v : UINT32_MAX;
}

void p2pc__sim_ov_init(p2pc_sim *s) {
  for (uint32_t i = 0; i < s->cfg.nodes; i++) {
    s->nodes[i].ok_since = UINT64_MAX;
    s->nodes[i].sick = true;
  }
}

void p2pc__sim_ov_free(p2pc_sim *s) {
  for (uint32_t k = 0; k < s->nep; k++)
    p2pc__sim_xfree(s, s->ep[k]);
  p2pc__sim_xfree(s, s->ep);
  s->ep = NULL;
  s->nep = s->capep = 0;
}

static bool in_cut(const p2pc_sim *s, uint32_t i) {
  for (uint32_t k = 0; k < s->ncuts; k++) {
    const cut *c = &s->cuts[k];
    if ((i >= c->a0 && i < c->a1) || (i >= c->b0 && i < c->b1))
      return true;
  }
  return false;
}

/* Node i's health now, and what follows from a change: down or frozen
 * (sick), it owes nothing to the broadcasts and detections open now; a
 * cut is judged by who is cut from whom (cuts_changed). */
static void update(p2pc_sim *s, uint32_t i) {
  snode *x = &s->nodes[i];
  bool well = x->alive && !p2pc__sim_frozen(s, i);
  bool ok = well && !in_cut(s, i);
  if (!ok)
    x->ok_since = UINT64_MAX;
  else if (x->ok_since == UINT64_MAX)
    x->ok_since = s->now;
  if (well || x->sick) {
    x->sick = !well;
    return;
  }
  x->sick = true;
  p2pc__sim_bc_node_bad(s, i, false);
  for (uint32_t k = 0; k < s->nep; k++) {
    episode *e = s->ep[k];
    if (s->now <= e->t0 + s->cfg.detect_ns)
      set_bit(e->bits + s->bc_words, i);
  }
}

/* The nodes cut from node i now, marked in bits (not owed). */
static void mark_cut(const p2pc_sim *s, uint32_t i, uint64_t *bits) {
  if (!s->ncuts)
    return;
  for (uint32_t j = 0; j < s->cfg.nodes; j++)
    if (p2pc__sim_blocked(s, i, j))
      set_bit(bits, j);
}

/* Node j (alive) has a neighbour `id` up or suspect: it tracks that
 * node. A link on demand is outside the active view: no peer or member
 * events are about it (EVENTS.md). */
static bool has_up(const p2pc_sim *s, uint32_t j, const char *id) {
  const snode *x = &s->nodes[j];
  if (!x->alive || !x->n)
    return false;
  p2pc_peer_info pi;
  uint32_t np = p2pc_node_peer_count(x->n);
  for (uint32_t q = 0; q < np; q++)
    if (p2pc_node_peer_info(x->n, q, &pi) && strcmp(pi.id, id) == 0)
      return !pi.ondemand &&
             (pi.state == P2PC_PEER_UP || pi.state == P2PC_PEER_SUSPECT);
  return false;
}

static void open_episode(p2pc_sim *s, uint32_t i, bool crash) {
  if (s->nep >= P2PC_SIM_MAX_EPISODES)
    return;
  if (s->nep == s->capep) {
    uint32_t cap = s->capep ? 2 * s->capep : 64;
    s->ep = p2pc__sim_xrealloc(s, s->ep, cap * sizeof *s->ep);
    s->capep = cap;
  }
  episode *e = p2pc__sim_xcalloc(
      s, 1, sizeof *e + 2 * (size_t)s->bc_words * sizeof(uint64_t));
  e->node = i;
  e->crash = crash;
  e->t0 = s->now;
  e->t_back = UINT64_MAX;
  for (uint32_t j = 0; j < s->cfg.nodes; j++)
    if (s->nodes[j].sick || !has_up(s, j, s->nodes[i].id))
      set_bit(e->bits + s->bc_words, j);
  set_bit(e->bits + s->bc_words, i);
  mark_cut(s, i, e->bits + s->bc_words);
  s->ep[s->nep++] = e;
  s->res.detect_episodes++;
}

/* Node i is back: its open episode ends. */
static void close_episode(p2pc_sim *s, uint32_t i) {
  for (uint32_t k = s->nep; k-- > 0;)
    if (s->ep[k]->node == i) {
      if (s->ep[k]->t_back == UINT64_MAX)
        s->ep[k]->t_back = s->now;
      return;
    }
}

void p2pc__sim_ov_started(p2pc_sim *s, uint32_t i) {
  p2pc__sim_bc_node_bad(s, i, true); /* a new incarnation's deliveries */
  close_episode(s, i);
  update(s, i);
}

void p2pc__sim_ov_stopped(p2pc_sim *s, uint32_t i, bool crash) {
  update(s, i);
  if (crash)
    open_episode(s, i, true);
}

void p2pc__sim_ov_cuts_changed(p2pc_sim *s) {
  for (uint32_t i = 0; i < s->cfg.nodes; i++)
    update(s, i);
  p2pc__sim_bc_cut(s);
  for (uint32_t k = 0; k < s->nep; k++) {
    episode *e = s->ep[k];
    if (s->now <= e->t0 + s->cfg.detect_ns)
      mark_cut(s, e->node, e->bits + s->bc_words);
  }
}

void p2pc__sim_ov_freeze(p2pc_sim *s, uint32_t i, uint64_t d) {
  snode *x = &s->nodes[i];
  if (!x->alive || d == 0)
    return;
  bool was = p2pc__sim_frozen(s, i);
  if (s->now + d > x->frozen_until) {
    x->frozen_until = s->now + d;
    p2pc__sim_push(s, x->frozen_until, E_THAW, i, 0, NULL);
  }
  update(s, i);
  if (!was)
    open_episode(s, i, false);
}

void p2pc__sim_ov_thaw(p2pc_sim *s, uint32_t i) {
  snode *x = &s->nodes[i];
  if (!x->alive || x->frozen_until != s->now)
    return; /* restarted since, or frozen for longer */
  close_episode(s, i);
  update(s, i);
}

void p2pc__sim_ov_churn_plan(p2pc_sim *s) {
  uint32_t n = s->cfg.nodes;
  if (s->cfg.churn <= 0 || n < 2)
    return;
  uint32_t c = (uint32_t)(s->cfg.churn * n + 0.5);
  if (c > n - 1)
    c = n - 1;
  rng *r = &s->r[R_CHURN];
  uint32_t *idx = p2pc__sim_xrealloc(s, NULL, (n - 1) * sizeof *idx);
  for (uint32_t k = 0; k < n - 1; k++)
    idx[k] = k + 1; /* never node 0 */
  double d = (double)s->cfg.duration_ns;
  for (uint32_t k = 0; k < c; k++) {
    uint32_t m = k + (uint32_t)p2pc_rng_below(r, n - 1 - k);
    uint32_t j = idx[m];
    idx[m] = idx[k];
    idx[k] = j;
    if (p2pc_rng_unit(r) < 0.5) {
      s->nodes[j].late = true;
      uint64_t at = (uint64_t)(d * (0.05 + 0.45 * p2pc_rng_unit(r)));
      p2pc__sim_push(s, at, E_CHURN, j, 0, NULL);
    } else {
      uint64_t at = (uint64_t)(d * (0.3 + 0.6 * p2pc_rng_unit(r)));
      p2pc__sim_push(s, at, E_CHURN, j, p2pc_rng_unit(r) < 0.5 ? 2 : 1, NULL);
    }
  }
  p2pc__sim_xfree(s, idx);
}

/* Node o declared node j down (MEMBER_DOWN; or, link: PEER_DOWN, which
 * declares a crash, whose connections close, but not a freeze): its
 * latest failure's episode takes note, within the window. */
static void declared(p2pc_sim *s, uint32_t o, uint32_t j, bool link) {
  for (uint32_t k = s->nep; k-- > 0;) {
    episode *ep = s->ep[k];
    if (ep->node != j)
      continue;
    if ((!link || ep->crash) && s->now <= ep->t0 + s->cfg.detect_ns) {
      set_bit(ep->bits, o);
      if (s->now > ep->last_ns)
        ep->last_ns = s->now;
    }
    return; /* only its latest failure */
  }
}

/* Node i has been healthy for P2PC_SIM_SUSPECT_SETTLE_NS. */
static bool settled(const p2pc_sim *s, uint32_t i) {
  uint64_t since = s->nodes[i].ok_since;
  return since != UINT64_MAX && s->now - since >= P2PC_SIM_SUSPECT_SETTLE_NS;
}

/* A peer_down reason for a link ended on purpose (EVENTS.md): a session
 * ended by agreement, this node stopping, the peer stopping. */
static bool deliberate(const char *reason) {
  return reason &&
         (strcmp(reason, "left") == 0 || strcmp(reason, "stopping") == 0 ||
          strcmp(reason, "stopped") == 0);
}

void p2pc__sim_ov_peer_down(p2pc_sim *s, const p2pc_event *e) {
  uint32_t o = s->cur_node, j = p2pc__sim_node_of_id(s, e->peer);
  if (j == UINT32_MAX || deliberate(e->reason))
    return;
  declared(s, o, j, true);
  if (!settled(s, o) || !settled(s, j))
    return;
  if (!s->res.flaps++)
    snprintf(s->res.first_flap, sizeof s->res.first_flap,
             "n%u lost n%u at %.3f s (%s; both healthy since %.3f s)", o, j,
             (double)s->now / 1e9, e->reason ? e->reason : "?",
             (double)(s->nodes[o].ok_since > s->nodes[j].ok_since
                          ? s->nodes[o].ok_since
                          : s->nodes[j].ok_since) /
                 1e9);
}

void p2pc__sim_ov_member(p2pc_sim *s, const p2pc_event *e) {
  s->res.member_events++;
  if (e->type == P2PC_EVENT_MEMBER_ALIVE)
    return;
  uint32_t o = s->cur_node, j = p2pc__sim_node_of_id(s, e->peer);
  if (j == UINT32_MAX)
    return;
  const snode *t = &s->nodes[j];
  bool down = e->type == P2PC_EVENT_MEMBER_DOWN;
  if (down) {
    s->res.member_downs++;
    declared(s, o, j, false);
  }
  bool stale =
      e->u.member.incarnation && e->u.member.incarnation < t->incarnation;
  if (stale || !settled(s, o) || !settled(s, j))
    return;
  if (!s->res.false_suspicions++)
    snprintf(s->res.first_false, sizeof s->res.first_false,
             "n%u %s n%u at %.3f s (healthy since %.3f s)", o,
             down ? "declared down" : "suspected", j, (double)s->now / 1e9,
             (double)t->ok_since / 1e9);
}

void p2pc__sim_ov_finish(p2pc_sim *s) {
  uint64_t w = s->cfg.detect_ns, end = s->now;
  for (uint32_t k = 0; k < s->nep; k++) {
    const episode *e = s->ep[k];
    if (e->t0 + w > end || (e->t_back != UINT64_MAX && e->t_back - e->t0 < w))
      continue;
    s->res.detect_judged++;
    uint64_t missed = 0;
    uint32_t first = UINT32_MAX;
    for (uint32_t q = 0; q < s->bc_words; q++) {
      uint64_t m = ~e->bits[q] & ~e->bits[s->bc_words + q];
      if (q == s->bc_words - 1 && s->cfg.nodes % 64)
        m &= (1ull << (s->cfg.nodes % 64)) - 1;
      if (m && first == UINT32_MAX)
        first = q * 64 + (uint32_t)__builtin_ctzll(m);
      missed += (uint64_t)__builtin_popcountll(m);
    }
    if (missed && !s->res.detect_missed)
      snprintf(s->res.first_missed, sizeof s->res.first_missed,
               "n%u %s at %.3f s: n%u did not declare it down within %.3f s "
               "(%llu nodes missed it)",
               e->node, e->crash ? "crashed" : "froze", (double)e->t0 / 1e9,
               first, (double)w / 1e9, (unsigned long long)missed);
    s->res.detect_missed += missed;
    if (e->last_ns > e->t0 && e->last_ns - e->t0 > s->res.detect_max_ns)
      s->res.detect_max_ns = e->last_ns - e->t0;
  }
}
