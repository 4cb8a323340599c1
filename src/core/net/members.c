/* SPDX-License-Identifier: MIT */
/*
 * Membership: the peer table (bounded by maxPeers, with a little slack
 * for links being handed over; the active view, views.c), seeds known only by
 * address, liveness (suspect, dead, the heartbeat) and re-dialing with
 * exponential back-off.
 */
#include "nodeint.h"

uint32_t p2pc__node_peer_find(const p2pc_node *n, const char *id) {
  for (uint32_t i = 0; i < n->npeers; i++)
    if (strcmp(n->peers[i].id, id) == 0)
      return i;
  return NO_PEER;
}

void p2pc__node_peer_init(p2pc_node *n, peer *p, const char *id) {
  memset(p, 0, sizeof *p);
  p2pc_str_cat(p->id, sizeof p->id, id);
  p->link = NO_LINK;
  p->state = P2PC_PEER_DOWN;
  p->backoff_ns = n->cfg.redial_min_ns;
  p->tx_next = 1;
  p->skey = NO_KEY;
  p->fresh = true;
  p->used_ns = n->now.mono_ns;
  p2pc__node_views_forget(n, id); /* in the table: not in the passive view */
}

/* Finds or adds peer id while the table holds fewer than limit records
 * (max_peers, or up to JOIN_SLACK more while links are handed over). */
uint32_t p2pc__node_peer_add_upto(p2pc_node *n, const char *id,
                                  uint32_t limit) {
  uint32_t i = p2pc__node_peer_find(n, id);
  if (i != NO_PEER)
    return i;
  if (active_peers(n) >= limit || !p2pc__node_peers_reserve(n))
    return NO_PEER;
  p2pc__node_peer_init(n, &n->peers[n->npeers], id);
  return n->npeers++;
}

uint32_t p2pc__node_peer_add(p2pc_node *n, const char *id) {
  return p2pc__node_peer_add_upto(n, id, n->cfg.max_peers);
}

/* A node that wants to link to us while the table is full takes the slot
 * of a peer we only heard of and never had a session with (one that
 * refused us as full first). Without this, a table filled by peer exchange
 * locks out every later newcomer for good (found in the simulator: a
 * 200-node k-regular mesh joining over time). A table full of sessions
 * still refuses: forgetting a session the peer still holds would stall it
 * (PROTOCOL.md, "maxPeers"). */
uint32_t p2pc__node_peer_add_evicting(p2pc_node *n, const char *id) {
  uint32_t i = p2pc__node_peer_add(n, id);
  if (i != NO_PEER)
    return i;
  uint32_t victim = NO_PEER;
  for (uint32_t k = 0; k < n->npeers; k++) {
    const peer *p = &n->peers[k];
    /* Never one we had a session with: it would come back expecting the
     * session to go on, and we would have forgotten it. */
    if (p->link != NO_LINK || p->dialing || p->qn || p->inc_known ||
        p->state != P2PC_PEER_DOWN)
      continue;
    if (victim == NO_PEER ||
        (p->refused_full && !n->peers[victim].refused_full))
      victim = k;
  }
  if (victim == NO_PEER)
    return NO_PEER;
  p2pc_timesync_peer_down(n->ts, n->peers[victim].id, n->now);
  p2pc__node_views_demote(n, &n->peers[victim]);
  p2pc__node_peer_init(n, &n->peers[victim], id);
  return victim;
}

void p2pc__node_schedule_dial(p2pc_node *n, peer *p) {
  if (!p->addr_known || p->link != NO_LINK || p->dialing)
    return;
  /* Exponential back-off with jitter: [b/2, b), doubling up to the max. */
  uint64_t b = p->backoff_ns;
  p->next_dial_ns = n->now.mono_ns + rng_jitter(n, b);
  p->backoff_ns = b * 2 > n->cfg.redial_max_ns ? n->cfg.redial_max_ns : b * 2;
}

void p2pc__node_peer_down(p2pc_node *n, peer *p, const char *reason) {
  bool was_up = p->state == P2PC_PEER_UP || p->state == P2PC_PEER_SUSPECT;
  p->link = NO_LINK;
  p->state = P2PC_PEER_DOWN;
  cancel_leave(p);
  if (was_up) {
    p2pc__node_ev_peer(n, p, false, reason);
    p2pc_timesync_peer_down(n->ts, p->id, n->now);
  }
  /* Its report stays counted, frozen, until it comes back or the hold
   * is over; the slot stays its own. */
  if (p->skey != NO_KEY)
    p2pc__node_stable_down(n, p);
  if (!n->stopping)
    p2pc__node_schedule_dial(n, p);
}

peer *p2pc__node_peer_by_addr(p2pc_node *n, const p2pc_wire_addr *addr,
                              const char *id) {
  uint32_t pi = id && *id ? p2pc__node_peer_find(n, id) : NO_PEER;
  if (pi != NO_PEER)
    return &n->peers[pi];
  for (uint32_t i = 0; i < n->npeers; i++)
    if (n->peers[i].addr_known && p2pc__node_addr_eq(&n->peers[i].addr, addr))
      return &n->peers[i];
  return NULL;
}

anon_seed *p2pc__node_anon_by_addr(p2pc_node *n, const p2pc_wire_addr *addr) {
  for (uint32_t i = 0; i < n->nanon; i++)
    if (p2pc__node_addr_eq(&n->anon[i].addr, addr))
      return &n->anon[i];
  return NULL;
}

void p2pc__node_anon_backoff(p2pc_node *n, anon_seed *s) {
  uint64_t b = s->backoff_ns;
  s->dialing = false;
  s->next_dial_ns = n->now.mono_ns + rng_jitter(n, b);
  s->backoff_ns = b * 2 > n->cfg.redial_max_ns ? n->cfg.redial_max_ns : b * 2;
}

static void anon_dials(p2pc_node *n) {
  for (uint32_t i = 0; n->anon_done < n->nanon && i < n->nanon && !n->stopping;
       i++) {
    anon_seed *s = &n->anon[i];
    if (s->done || s->dialing || n->now.mono_ns < s->next_dial_ns)
      continue;
    /* Known under its ID by now (learned by exchange)? Then that entry
     * dials it. */
    if (p2pc__node_peer_by_addr(n, &s->addr, NULL)) {
      anon_finish(n, s);
      continue;
    }
    /* A full table could not take whoever answers: dialing would only
     * make the other side take us for up and then be refused (it queued
     * messages for us that never came). Wait until there is room. */
    if (active_peers(n) >= n->cfg.max_peers) {
      s->next_dial_ns = n->now.mono_ns + n->cfg.redial_max_ns;
      continue;
    }
    p2pc_action a = {.kind = P2PC_ACT_DIAL, .addr = s->addr};
    p2pc__node_push_action(n, &a);
    s->dialing = true;
  }
}

void p2pc__node_dial_failed(p2pc_node *n, const p2pc_wire_addr *addr,
                            const char *peer_id) {
  if (!peer_id || !*peer_id) {
    anon_seed *s = p2pc__node_anon_by_addr(n, addr);
    if (s)
      p2pc__node_anon_backoff(n, s);
    return;
  }
  if (p2pc__node_views_dial_failed(n, peer_id))
    return; /* a passive entry that did not answer: dropped */
  peer *p = p2pc__node_peer_by_addr(n, addr, peer_id);
  if (!p)
    return;
  p->dialing = false;
  if (p->link == NO_LINK) {
    p->state = P2PC_PEER_DOWN;
    p2pc__node_schedule_dial(n, p);
  }
}

/* Link i is up: closed if silent for dead_ns (its peer goes down), the
 * peer suspect if silent for suspect_ns; its heartbeat (the STABLE report
 * rep, and the clock announcement) if the node beats (beat); a LEAVE not
 * agreed in time cancelled; unacknowledged data sent again after
 * resend_ns without progress; then whatever of the stream may go (with
 * the heartbeat, the ACK again while a hole is open). */
void p2pc__node_link_due(p2pc_node *n, uint32_t i, uint64_t t, bool beat,
                         const p2pc_wire_stable_rep *rep) {
  link *l = &n->links[i];
  peer *p = &n->peers[l->peer];
  uint64_t silent = t - l->last_rx_ns, quiet = p2pc__node_quiet_ns(n, l);
  if (silent >= n->cfg.dead_ns + quiet) {
    p2pc__node_link_close(n, i, 0, NULL);
    p->link = NO_LINK;
    p2pc__node_peer_down(n, p, "silent");
    return;
  }
  if (silent >= n->cfg.suspect_ns + quiet && p->state == P2PC_PEER_UP) {
    p->state = P2PC_PEER_SUSPECT;
    char m[120] = "peers: ";
    p2pc_str_cat(m, sizeof m, p->id);
    p2pc_str_cat(m, sizeof m, " suspect (silent)");
    p2pc__node_log(n, P2PC_LOG_INFO, m);
  }
  /* riding along with the beat: within half a heartbeat of its own */
  if (beat && t - l->last_ping_ns >=
                  p2pc__node_beat_ns(n, l) - n->cfg.heartbeat_ns / 2) {
    l->last_ping_ns = t;
    /* The report is the heartbeat: any frame is a sign of life, so
     * no PING goes with it. The clock's announcements stay in the
     * active view. */
    p2pc__node_stable_frame(n, i, rep);
    if (!p->ondemand)
      p2pc__node_announce_to_link(n, i);
    /* A hole still open: the ACK goes again (it, or the resend it asked
     * for, may have been lost), so a loss costs a heartbeat, not the
     * resend timeout. */
    if (p->rx_hole)
      p->ack_due = true;
  }
  if (leaving(p) && t >= p->leave_until_ns) {
    char m[120] = "peers: ";
    p2pc_str_cat(m, sizeof m, p->id);
    p2pc_str_cat(m, sizeof m, " did not agree to end our session; it goes on");
    p2pc__node_log(n, P2PC_LOG_INFO, m);
    cancel_leave(p);
  }
  /* Nothing acknowledged for a while: send it all again. */
  if (p->qn && t - p->last_progress_ns >= n->cfg.resend_ns) {
    p->tx_written = p->tx_acked;
    p->last_progress_ns = t;
  }
  p2pc__node_stream_flush(n, p);
}

/* Dials what is due: every known peer without a link whose back-off is
 * over, then the seeds known only by address. */
void p2pc__node_dials_due(p2pc_node *n, uint64_t t) {
  for (uint32_t i = 0; i < n->npeers && !n->stopping; i++) {
    peer *p = &n->peers[i];
    if (dial_wanted(p) && t >= p->next_dial_ns &&
        (!p->ondemand || p2pc__node_ondemand_may_dial(n, p))) {
      p2pc_action a = {.kind = P2PC_ACT_DIAL, .addr = p->addr};
      p2pc_str_cat(a.peer, sizeof a.peer, p->id);
      p2pc__node_push_action(n, &a);
      p->dialing = true;
      p->state = P2PC_PEER_DIALING;
    }
  }
  anon_dials(n);
}
