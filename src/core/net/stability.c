/* SPDX-License-Identifier: MIT */
/*
 * The node's part of stability (stable.h; PROTOCOL.md, "Stability"):
 * slots for peer incarnations, frozen reports, the floor, the STABLE
 * frames out (the report, and what was delivered and written off of the
 * peer's stream) and in.
 */
#include "nodeint.h"

_Static_assert(P2PC_CAUSAL_LEVELS == P2PC_STABLE_DEPTH + 1,
               "the causal layer takes every stability level");

static bool key_taken(const p2pc_node *n, uint32_t k) {
  for (uint32_t i = 0; i < n->npeers; i++)
    if (n->peers[i].skey == k)
      return true;
  return false;
}

/* The slot of p's current incarnation, handed out on first need. A slot
 * whose report is frozen is reused only once its hold is over; if every
 * free one is taken, a frozen one nobody holds is folded into the floor. */
uint32_t p2pc__node_stable_key(p2pc_node *n, peer *p) {
  if (p->skey != NO_KEY)
    return p->skey;
  for (uint32_t k = 0; k < n->st_keys; k++)
    if (p2pc_stable_slot(n->st, k) == P2PC_STABLE_EMPTY && !key_taken(n, k))
      return p->st_data = false, p->skey = k;
  uint64_t hlc = node_hlc(n);
  for (uint32_t k = 0; k < n->st_keys; k++) {
    if (p2pc_stable_slot(n->st, k) != P2PC_STABLE_FROZEN || key_taken(n, k))
      continue;
    /* G is at most every value of any report counted (a[D] <= r[D-1]). */
    uint64_t g = p2pc_stable_global(n->st);
    if (hlc >= n->st_floor_until || g < n->st_floor)
      n->st_floor = g;
    uint64_t until =
        n->st_hold > UINT64_MAX - hlc ? UINT64_MAX : hlc + n->st_hold;
    if (until > n->st_floor_until)
      n->st_floor_until = until;
    p2pc_stable_forget(n->st, k);
    return p->st_data = false, p->skey = k;
  }
  return NO_KEY; /* more live links than slots: cannot happen */
}

/* p's link is gone. Its report is frozen — it stays counted until its
 * hold is over — if a message of p's was taken since the report came:
 * that message's entries reached us over this link, and their retirement
 * by level relies on it (every chain's inequality uses the reports on its
 * own links). If none was, no chain crosses the link, and the report goes
 * at once: joins that hand links over early pin no levels. */
void p2pc__node_stable_down(p2pc_node *n, peer *p) {
  if (p->st_data)
    p2pc_stable_link_down(n->st, p->skey, node_hlc(n));
  else
    p2pc_stable_forget(n->st, p->skey);
}

/* p's incarnation is over, or its record goes: its report stays counted
 * (frozen) until its hold is over, and the slot is no longer p's. */
void p2pc__node_stable_release(p2pc_node *n, peer *p) {
  if (p->skey == NO_KEY)
    return;
  p2pc__node_stable_down(n, p);
  p->skey = NO_KEY;
}

/* This node's report, encoded once for every link's STABLE frame (len 0:
 * none goes). */
void p2pc__node_stable_rep(p2pc_node *n, p2pc_wire_stable_rep *rep) {
  p2pc_stable_report srep;
  p2pc_stable_report_out(n->st, &srep);
  p2pc_wire_stable_rep_encode(rep, &srep);
}

/* One STABLE frame on link lid: the report, and what this node delivered
 * and wrote off of the peer's stream. */
void p2pc__node_stable_frame(p2pc_node *n, uint32_t lid,
                             const p2pc_wire_stable_rep *rep) {
  link *l = p2pc__node_link_get(n, lid);
  if (!l || l->state != L_UP || l->peer == NO_PEER)
    return;
  peer *p = &n->peers[l->peer];
  stable_out so = {.rep = rep};
  if (p->inc_known) {
    uint32_t nwo = 0;
    p2pc_causal_report_for(n->causal, p->sesid, &so.delivered, so.expired,
                           &nwo);
    so.nexpired = 2 * nwo;
  }
  p->st_delivered = so.delivered;
  p2pc__node_frame_to_link(n, lid, P2PC_FRAME_STABLE, &so, 0);
}

/* Sends this node's report on link lid, or on every link that is up when
 * lid is NO_LINK or a level fell since the last report (then before any
 * more DATA on any link). */
void p2pc__node_stable_send(p2pc_node *n, uint32_t lid) {
  bool all = lid == NO_LINK || p2pc_stable_decreased(n->st);
  p2pc_wire_stable_rep rep;
  p2pc__node_stable_rep(n, &rep);
  for (uint32_t i = 0; i < n->links_hw; i++)
    if (n->links[i].state == L_UP && (all || i == lid))
      p2pc__node_stable_frame(n, i, &rep);
}

/* Recomputes the levels from this node's LS and the reports held, hands
 * them to the causal layer, and reports a fall at once (on every link:
 * then true). */
bool p2pc__node_stable_update(p2pc_node *n) {
  uint64_t hlc = node_hlc(n);
  p2pc_stable_tick(n->st, hlc);
  p2pc_stable_refresh(n->st);
  uint64_t ls = p2pc_causal_local_stable(n->causal);
  if (hlc < n->st_floor_until && n->st_floor < ls)
    ls = n->st_floor;
  p2pc_stable_set_local(n->st, ls);
  uint64_t lv[P2PC_CAUSAL_LEVELS];
  for (uint32_t d = 0; d < P2PC_CAUSAL_LEVELS; d++)
    lv[d] = p2pc_stable_level(n->st, d);
  p2pc_causal_set_stable_levels(n->causal, lv, P2PC_CAUSAL_LEVELS);
  if (!p2pc_stable_decreased(n->st))
    return false;
  p2pc__node_stable_send(n, NO_LINK);
  return true;
}

/* A STABLE frame from p arrived on l: its report, the deliveries it
 * reports of our stream to it, and its level 0 for the causal layer. */
void p2pc__node_stable_in(p2pc_node *n, link *l, peer *p,
                          const p2pc_wire_stable *ws) {
  uint32_t k = p2pc__node_stable_key(n, p);
  p2pc__node_causal_time(n);
  if (k != NO_KEY &&
      p2pc_stable_report_in(n->st, k, &ws->rep, node_hlc(n)) == 0) {
    l->stable_rx = true; /* its DATA is covered from now on */
    /* ... by the levels as they are now. A report below them (a new
     * link, a neighbour whose LS lags: one with a message queued for a
     * node that never answers) lowers them at once, and the causal layer
     * must judge the DATA that follows it by the lower levels, not by
     * those of the last refresh: else an entry that came over this very
     * link could be dropped as stable while its message is undelivered.
     * Only falls: rises wait for the refresh (and the floor). */
    uint64_t lv[P2PC_CAUSAL_LEVELS];
    for (uint32_t d = 0; d < P2PC_CAUSAL_LEVELS; d++)
      lv[d] = p2pc_stable_level(n->st, d);
    p2pc_causal_lower_stable_levels(n->causal, lv, P2PC_CAUSAL_LEVELS);
  }
  if (p->inc_known &&
      p2pc_causal_peer_report(n->causal, p->sesid, ws->delivered, ws->expired,
                              ws->nexpired / 2, n->now.mono_ns) != 0) {
    char t[160] = "causal: ignored a delivery report from ";
    p2pc_str_cat(t, sizeof t, p->id);
    p2pc_str_cat(t, sizeof t, ": beyond what we sent it");
    p2pc__node_log(n, P2PC_LOG_WARN, t);
  }
  if (p->inc_known)
    p2pc_causal_set_peer_stable(n->causal, p->sesid, ws->rep.v[0]);
  /* A fall goes on at once, before any more DATA; rises wait for the
   * heartbeat's refresh (stable.h: lower levels are safe). */
  if (p2pc_stable_decreased(n->st))
    p2pc__node_stable_send(n, NO_LINK);
}
