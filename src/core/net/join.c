/* SPDX-License-Identifier: MIT */
/*
 * Sessions and the join protocol: the handshake's verdict on a HELLO
 * (which link to a peer survives, a restarted peer, a fresh one, a full
 * table), incarnations and the end of a session with an old one, and
 * making room for a joining node by ending a session by agreement
 * (LEAVE; PROTOCOL.md, "Making room" and "Incarnations").
 */
#include "nodeint.h"

/*
 * The peer came back as a new incarnation: the session with the old one is
 * over. What it had not acknowledged can no longer reach it (its SES state
 * is gone), so those messages are reported undeliverable; its own messages
 * still on their way are given up on by retiring its old identity; both
 * streams start again from 1.
 */
static void end_session(p2pc_node *n, peer *p, const char *why) {
  n->undeliverable += p->qn;
  for (uint32_t i = 0; i < p->qn; i++)
    p2pc__node_ev_undeliverable(n, p->id, txq_at(p, i)->n, why);
  if (p->qn) {
    char t[160] = "peers: ";
    p2pc_str_cat(t, sizeof t, p->id);
    p2pc_str_cat(t, sizeof t, ": ");
    p2pc_str_cat(t, sizeof t, why);
    p2pc_str_cat(t, sizeof t, "; undelivered messages to it: ");
    p2pc_str_u64(t, sizeof t, p->qn);
    p2pc__node_log(n, P2PC_LOG_WARN, t);
  }
  p2pc__node_free_queue(n, p);
  if (p->blocked) /* the queue is empty now */
    p2pc__node_ev_writable(n, p);
  p2pc__node_stable_release(n,
                            p); /* a new incarnation gets a slot of its own */
  if (p->inc_known)
    p2pc_causal_retire(n->causal, p->sesid, n->now.mono_ns);
  p->tx_next = 1;
  p->tx_acked = p->tx_written = 0;
  p->rx_cum = p->rx_beyond = 0;
  p->rx_hole = p->rx_held = false;
  p->fast_for = 0;
  p->ack_due = false;
}

void p2pc__node_set_incarnation(p2pc_node *n, peer *p, uint64_t inc) {
  if (p->inc_known && p->inc == inc)
    return;
  if (p->inc_known)
    end_session(n, p, "peer restarted");
  p->inc = inc;
  p->inc_known = true;
  p->inc_proved = false;
  p2pc__node_make_sesid(p->sesid, p->id, inc);
}

/* ---- making room: ending a session by agreement ------------------------
 *
 * A full node that a joining node dials gives up one of its links to take
 * it in: it sends that peer LEAVE, naming the newcomer, and the peer links
 * to the newcomer instead (the newcomer splits an edge of the mesh, as in
 * the classic join of a random regular graph; HyParView's JOIN drops a
 * random active link the same way). Both ends stop taking new messages for
 * the session, finish what is in flight, and forget each other once each
 * has sent LEAVE, received the other's, had everything acknowledged and
 * taken everything the other sent (PROTOCOL.md, "Making room").
 */

/* Fewer than half of the peer slots linked (or being dialed to join). */
bool p2pc__node_needy(const p2pc_node *n) {
  uint32_t k = 0, want = n->cfg.max_peers / 2 ? n->cfg.max_peers / 2 : 1;
  for (uint32_t i = 0; i < n->links_hw; i++)
    k += (n->links[i].state == L_UP && n->links[i].peer != NO_PEER &&
          !n->peers[n->links[i].peer].ondemand) ||
         (n->links[i].state == L_HELLO && n->links[i].join);
  return k < want;
}

static void send_leave(p2pc_node *n, peer *p, const p2pc_wire_peer *next) {
  link *l = p->link == NO_LINK ? NULL : p2pc__node_link_get(n, p->link);
  if (!l || l->state != L_UP)
    return;
  p2pc_buf_reset(&n->scratch);
  long at = p2pc_wire_frame_begin(&n->scratch, P2PC_FRAME_LEAVE);
  if (at < 0 || p2pc_wire_leave_put(&n->scratch, p->tx_next - 1, next) ||
      p2pc_wire_frame_end(&n->scratch, at, n->cfg.max_frame))
    return;
  p2pc__node_link_write(n, l);
  p->leave_sent = true;
  if (!p->leave_until_ns)
    p->leave_until_ns = n->now.mono_ns + LEAVE_TIMEOUT_NS;
}

/* Also: the peer has reported every message we sent it delivered (or
 * written off). Otherwise, once the session is forgotten, no report could
 * come, and those messages would hold this node's LS — and every node's
 * pruning — back until they are older than Δ. */
bool p2pc__node_leave_done(const p2pc_node *n, const peer *p) {
  return p->leave_sent && p->leave_rcvd && p->qn == 0 &&
         p->rx_cum >= p->leave_last &&
         p2pc_causal_pending_to(n->causal, p->sesid) == 0;
}

/* Drops peer record pi. Its slot goes to the node it named, if that one is
 * new to us; otherwise the last record moves into it. */
void p2pc__node_forget_peer(p2pc_node *n, uint32_t pi) {
  peer *p = &n->peers[pi];
  if (p->ondemand)
    n->nondemand--;
  p2pc_wire_crec next = p->next;
  p2pc__node_free_queue(n, p);
  p2pc__node_stable_release(n, p);
  n->a->free(p->q, n->a->ud);
  p->q = NULL;
  p->qcap = p->qhead = 0;
  p2pc__node_views_demote(n, p); /* it leaves the active view */
  bool adopt = next.id[0] && next.addr.family && strcmp(next.id, n->id) != 0 &&
               p2pc__node_peer_find(n, next.id) == NO_PEER &&
               !p2pc__node_addr_failed(n, &next.addr);
  uint32_t last = adopt ? NO_PEER : --n->npeers; /* moves into slot pi */
  for (uint32_t i = 0; i < n->links_hw; i++) {
    link *l = &n->links[i];
    if (l->state != L_FREE && l->peer == pi)
      l->peer = NO_PEER;
    else if (l->state != L_FREE && l->peer == last)
      l->peer = pi;
  }
  if (adopt) {
    p2pc__node_peer_init(n, p, next.id);
    p->addr = next.addr;
    p->addr_known = true;
    p->time_port = next.time_port;
    p->promoted = true; /* a failed dial drops it, as a passive entry's */
    p->next_dial_ns = n->now.mono_ns;
  } else if (pi != last) {
    n->peers[pi] = n->peers[last];
  }
}

/* Our last ACK and report go before the close, and the ERROR says the
 * session ended (the peer may not be done yet: it waits for what we
 * delivered of its messages), so the peer reports no failure either. */
void p2pc__node_finish_leave(p2pc_node *n, uint32_t pi) {
  peer *p = &n->peers[pi];
  p2pc__node_stream_flush(n, p);
  uint32_t lid = p->link;
  p2pc__node_stable_send(n, lid);
  p->link = NO_LINK;
  p2pc__node_link_close(n, lid, P2PC_WIRE_E_CLOSED, "session ended (LEAVE)");
  p2pc__node_ev_peer(n, p, false, "left");
  p2pc_timesync_peer_down(n->ts, p->id, n->now);
  p2pc__node_forget_peer(n, pi);
}

void p2pc__node_on_leave(p2pc_node *n, peer *p, uint64_t last,
                         const p2pc_wire_peer *next) {
  p->leave_rcvd = true;
  p->leave_last = last;
  p2pc_wire_crec_pack(&p->next, next);
  if (!p->leave_until_ns)
    p->leave_until_ns = n->now.mono_ns + LEAVE_TIMEOUT_NS;
  if (!p->leave_sent)
    send_leave(n, p, NULL);
  char t[200] = "peers: ";
  p2pc_str_cat(t, sizeof t, p->id);
  p2pc_str_cat(t, sizeof t, " ends our session to make room");
  if (next->id[0]) {
    p2pc_str_cat(t, sizeof t, "; linking to ");
    p2pc_str_cat(t, sizeof t, next->id);
    p2pc_str_cat(t, sizeof t, " instead");
  }
  p2pc__node_log(n, P2PC_LOG_INFO, t);
}

/* Whether we sent id away to make room within SENT_AWAY_NS. */
static bool sent_away(const p2pc_node *n, const char *id) {
  for (uint32_t i = 0; i < P2PC_SENT_AWAY_MAX; i++)
    if (n->sent_away[i].until_ns > n->now.mono_ns &&
        strcmp(n->sent_away[i].id, id) == 0)
      return true;
  return false;
}

/* id is sent away: remembered in its own slot, a free one, or the one
 * that would be forgotten first. */
static void note_sent_away(p2pc_node *n, const char *id) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < P2PC_SENT_AWAY_MAX; i++) {
    if (strcmp(n->sent_away[i].id, id) == 0) {
      k = i;
      break;
    }
    if (n->sent_away[i].until_ns < n->sent_away[k].until_ns)
      k = i;
  }
  n->sent_away[k].id[0] = '\0';
  p2pc_str_cat(n->sent_away[k].id, sizeof n->sent_away[k].id, id);
  n->sent_away[k].until_ns = n->now.mono_ns + P2PC_SENT_AWAY_NS;
}

/* A full node takes a joining one in by giving up one of its links, drawn
 * at random among those up and not already being given up. Not for a
 * node it sent away itself lately: that one is short of links (its
 * referral did not take it in), and taking it back by sending another
 * peer away can leave that one short too, whose JOIN then sends the first
 * away again, and so on: one session ended per JOIN, but each JOIN made
 * by the last (PROTOCOL.md, "Making room"). Refused, it tries the other
 * nodes it knows, or this one again later. */
static uint32_t make_room(p2pc_node *n, const p2pc_wire_hello *h) {
  if (active_peers(n) >= n->cfg.max_peers + JOIN_SLACK)
    return NO_PEER;
  if (sent_away(n, h->id)) {
    char t[200] = "peers: table full: ";
    p2pc_str_cat(t, sizeof t, h->id);
    p2pc_str_cat(t, sizeof t,
                 " was sent away to make room lately; not taken back "
                 "at the cost of another session");
    p2pc__node_log(n, P2PC_LOG_INFO, t);
    return NO_PEER;
  }
  uint32_t victim = NO_PEER, cand = 0;
  for (uint32_t k = 0; k < n->npeers; k++) {
    const peer *q = &n->peers[k];
    if (q->link == NO_LINK || n->links[q->link].state != L_UP ||
        !q->inc_known || leaving(q) || q->ondemand)
      continue;
    if (rng_below(n, ++cand) == 0)
      victim = k;
  }
  if (victim == NO_PEER)
    return NO_PEER;
  p2pc_wire_peer next;
  memset(&next, 0, sizeof next);
  if (h->listen.family) {
    p2pc_str_cat(next.id, sizeof next.id, h->id);
    next.incarnation = h->incarnation;
    next.addr = h->listen;
  }
  peer *v = &n->peers[victim];
  send_leave(n, v, &next);
  note_sent_away(n, v->id);
  char t[200] = "peers: table full: ending the session with ";
  p2pc_str_cat(t, sizeof t, v->id);
  p2pc_str_cat(t, sizeof t, " to take in ");
  p2pc_str_cat(t, sizeof t, h->id);
  p2pc__node_log(n, P2PC_LOG_INFO, t);
  return p2pc__node_peer_add_upto(n, h->id, n->cfg.max_peers + JOIN_SLACK);
}

/* Which of two links to one peer survives: the one opened by the node with
 * the smaller ID, so that both ends pick the same; if one node opened both
 * (a reconnect while the old link looked alive), the newer. */
static bool keep_new_link(const p2pc_node *n, const peer *p, const link *old,
                          const link *nw) {
  bool self_smaller = strcmp(n->id, p->id) < 0;
  bool old_by_small = old->outbound == self_smaller;
  bool new_by_small = nw->outbound == self_smaller;
  if (old_by_small == new_by_small)
    return true;
  return new_by_small;
}

/* A HELLO refused: the link closed with code and why (for the peer), and
 * a WARN "link: handshake refused: " a b c (for us). */
static int refuse(p2pc_node *n, p2pc_link_id lid, uint16_t code,
                  const char *why, const char *a, const char *b,
                  const char *c) {
  char t[300] = "link: handshake refused: ";
  p2pc_str_cat(t, sizeof t, a);
  p2pc_str_cat(t, sizeof t, b);
  p2pc_str_cat(t, sizeof t, c);
  p2pc__node_link_close(n, lid, code, why);
  p2pc__node_log(n, P2PC_LOG_WARN, t);
  return code == P2PC_WIRE_E_VERSION ? P2PC_ERR_VERSION : P2PC_ERR_PROTO;
}

int p2pc__node_on_hello(p2pc_node *n, p2pc_link_id lid, const uint8_t *b,
                        size_t len) {
  link *l = &n->links[lid];
  p2pc_wire_hello h;
  int rv = p2pc_wire_hello_get(b, len, &h);
  if (rv == P2PC_ERR_VERSION) {
    char why[120] = "unsupported protocol version ";
    p2pc_str_u64(why, sizeof why, h.version);
    p2pc_str_cat(why, sizeof why, ", this node speaks ");
    p2pc_str_u64(why, sizeof why, P2PC_WIRE_VERSION);
    return refuse(n, lid, P2PC_WIRE_E_VERSION, why, why, "", "");
  }
  if (rv < 0)
    return rv;
  char why[140] = "node ID ";
  p2pc_str_cat(why, sizeof why, h.id);
  if (strcmp(h.id, n->id) == 0) {
    p2pc_str_cat(why, sizeof why, " is already in use by the node you dialed");
    return refuse(n, lid, P2PC_WIRE_E_DUPLICATE, why,
                  "a peer claims this node's ID ", h.id, "");
  }
  const char *refused = p2pc__sec_id_refused(n, h.id, l);
  if (refused) {
    p2pc_str_cat(why, sizeof why, " ");
    p2pc_str_cat(why, sizeof why, refused);
    return refuse(
        n, lid, P2PC_WIRE_E_DUPLICATE, why, "a peer claims the ID ", h.id,
        n->nmembers ? " with a key the allowlist does not give it"
                    : " with another identity key than it linked with "
                      "before (an impostor, or its key file was replaced)");
  }
  uint32_t pi = p2pc__node_peer_find(n, h.id);
  /* We hold a session with it that a fresh peer would not know of (not
   * while another link of the session is up: then the HELLO is from a
   * second link dialed before the session began). */
  bool held = pi != NO_PEER && has_session(&n->peers[pi]) &&
              n->peers[pi].inc == h.incarnation;
  bool other_up = held && n->peers[pi].link != NO_LINK &&
                  n->peers[pi].link != lid &&
                  n->links[n->peers[pi].link].state == L_UP;
  /* A link on demand (a unicast from a node that is not a neighbour):
   * taken outside the active view, full or not (PROTOCOL.md,
   * "Addressing any node"). */
  if (pi == NO_PEER && (h.flags & P2PC_HELLO_ON_DEMAND))
    pi = p2pc__node_ondemand_add(n, h.id);
  else if (pi == NO_PEER)
    pi = p2pc__node_peer_add_evicting(n, h.id);
  if (pi == NO_PEER && (h.flags & P2PC_HELLO_JOIN) &&
      !(h.flags & P2PC_HELLO_ON_DEMAND))
    pi = make_room(n, &h);
  /* The answer of a node we dialed: it took us in already (and may have
   * queued messages for us), so refusing it now would strand them. Dials
   * in flight can outnumber the free slots; the slack takes them. */
  if (pi == NO_PEER && l->outbound)
    pi = p2pc__node_peer_add_upto(n, h.id, n->cfg.max_peers + JOIN_SLACK);
  if (pi == NO_PEER) {
    p2pc__node_link_close(n, lid, P2PC_WIRE_E_FULL,
                          "peer table full (maxPeers)");
    return P2PC_ERR_FULL;
  }
  peer *p = &n->peers[pi];
  if (p->ondemand && !(h.flags & P2PC_HELLO_ON_DEMAND))
    p2pc__node_ondemand_promote(n, p);
  /* Already up with this incarnation on another link: the new one takes
   * over without a second peer_up (crossing dials settling on one link). */
  bool still_up = p->link != NO_LINK && p->link != lid &&
                  n->links[p->link].state == L_UP && p->inc_known &&
                  p->inc == h.incarnation;
  if (p->link != NO_LINK && p->link != lid) {
    link *old = &n->links[p->link];
    if (p->inc_known && p->inc == h.incarnation &&
        !keep_new_link(n, p, old, l)) {
      /* A duplicate link to a live session: this one goes, quietly (the
       * peer applies the same rule and closes the same link). */
      p->dialing = false;
      p2pc__node_link_close(n, lid, 0, NULL);
      return 0;
    }
    uint32_t oldid = p->link;
    p->link = NO_LINK;
    p2pc__node_link_close(n, oldid, 0, NULL);
  }
  /* On secure links only a HELLO proves an incarnation: one heard of
   * second-hand (a record) gives way to the peer's own word. */
  if (h.incarnation < p->inc && p->inc_known && (p->inc_proved || !l->sec)) {
    p2pc__node_link_close(n, lid, P2PC_WIRE_E_PROTO, "stale incarnation");
    return P2PC_ERR_PROTO;
  }
  p2pc__node_set_incarnation(n, p, h.incarnation);
  p->inc_proved = l->sec;
  if (held && !other_up && (h.flags & P2PC_HELLO_FRESH))
    p2pc__node_stream_restart(n, p);
  if (h.listen.family) {
    p->addr = h.listen;
    p->addr_known = true;
  }
  if (l->outbound) {
    anon_seed *s = p2pc__node_anon_by_addr(n, &l->addr);
    if (s)
      anon_finish(n, s);
  }
  l->peer = pi;
  l->state = L_UP;
  p2pc__sec_pin(n, h.id, l);
  l->remote_od = (h.flags & P2PC_HELLO_ON_DEMAND) != 0;
  if (!l->outbound)
    p2pc__node_send_hello(n, lid,
                          (held ? 0 : P2PC_HELLO_FRESH) |
                              (p->ondemand ? P2PC_HELLO_ON_DEMAND : 0));
  if (p->ondemand && !l->outbound)
    p2pc__node_ondemand_accepted(n, p);
  p->fresh = false;
  p->link = lid;
  p->dialing = false;
  p->state = P2PC_PEER_UP;
  p->refused_full = false;
  if (p->promoted)
    p2pc__node_views_promoted_up(n);
  p->promoted = false;
  p->backoff_ns = n->cfg.redial_min_ns;
  /* Everything not acknowledged goes again on this link, after the peer's
   * ACK tells us where it is; until then, from the last known ack. */
  p->tx_written = p->tx_acked;
  p->last_progress_ns = n->now.mono_ns;
  p->ack_due = true;
  if (!still_up && !p->quiet_down)
    p2pc__node_ev_peer(n, p, true, NULL);
  p->quiet_down = false;
  p2pc__swim_link_up(n, p);
  if (p->addr_known && !p->ondemand)
    p2pc_timesync_peer_up(n->ts, p->id, &p->addr, n->now);
  p2pc_wire_announce an;
  p2pc_timesync_announce_out(n->ts, false, n->now, &an);
  p2pc__sec_claim_sign(n, &an);
  if (!p->ondemand)
    p2pc__node_frame_to_link(n, lid, P2PC_FRAME_ANNOUNCE, &an, 0);
  /* The link's first report goes before any DATA on it. */
  n->links[lid].stable_rx = false;
  p2pc__node_stable_key(n, p);
  if (!p2pc__node_stable_update(
          n)) /* else it went on every link, this one too */
    p2pc__node_stable_send(n, lid);
  p2pc__node_bcast_link(n, lid, true); /* after its first STABLE */
  p2pc__node_stream_flush(n, p);
  if (!p->ondemand)
    p2pc__node_send_peers(n, lid, pi);
  return 0;
}
