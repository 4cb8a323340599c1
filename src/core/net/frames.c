/* SPDX-License-Identifier: MIT */
/*
 * Dispatch of a received frame: before the handshake only HELLO (or an
 * ERROR refusing it); after it, each type to the module that owns it, and
 * the clock announcements (ANNOUNCE) relayed on.
 */
#include "nodeint.h"

static bool same_hint(const p2pc_wire_tier_hint *a,
                      const p2pc_wire_tier_hint *b) {
  return a->tier == b->tier && a->flags == b->flags &&
         a->rec.incarnation == b->rec.incarnation &&
         a->rec.time_port == b->rec.time_port &&
         p2pc__node_addr_eq(&a->rec.addr, &b->rec.addr) &&
         strcmp(a->rec.id, b->rec.id) == 0;
}

void p2pc__node_set_announce(p2pc_node *n, p2pc_wire_announce *an) {
  p2pc__sec_claim_sign(n, an);
  bool same = n->ann_gen && an->nhints == n->ann.nhints;
  for (uint8_t i = 0; same && i < an->nhints && i < P2PC_ANNOUNCE_HINTS; i++)
    same = same_hint(&an->hints[i], &n->ann.hints[i]);
  if (!same && ++n->ann_gen == 0)
    n->ann_gen = 1;
  n->ann = *an;
}

/* Tier hints are four address records, the bulk of an ANNOUNCE, and they
 * seldom change: each neighbour has them when they change, and again
 * every P2PC_ANNOUNCE_HINTS_EVERY announcements (4 s at the heartbeat,
 * well within the 10 s a candidate is remembered unheard, tiers.c), and
 * the sequence numbers and the rest in between. */
void p2pc__node_announce_to_link(p2pc_node *n, uint32_t i) {
  link *l = &n->links[i];
  if (n->ann.nhints && l->ann_gen == n->ann_gen &&
      l->ann_same + 1 < P2PC_ANNOUNCE_HINTS_EVERY) {
    /* encoded from n->ann itself, its hints hidden for the encoder (no
     * copy of the announcement for every link at every heartbeat) */
    uint8_t nhints = n->ann.nhints, flags = n->ann.flags;
    n->ann.nhints = 0;
    n->ann.flags |= P2PC_ANNOUNCE_SAME_HINTS;
    p2pc__node_frame_to_link(n, i, P2PC_FRAME_ANNOUNCE, &n->ann, 0);
    n->ann.nhints = nhints;
    n->ann.flags = flags;
    l->ann_same++;
    return;
  }
  l->ann_gen = n->ann_gen;
  l->ann_same = 0;
  p2pc__node_frame_to_link(n, i, P2PC_FRAME_ANNOUNCE, &n->ann, 0);
}

/* A better reference was heard: tell every neighbour now rather than at
 * the next heartbeat (timesync decides when, and limits how often), and
 * keep saying it with the heartbeats. */
void p2pc__node_relay_announce(p2pc_node *n) {
  p2pc_wire_announce an;
  if (!p2pc_timesync_announce_relay(n->ts, n->now, &an) || n->stopping)
    return;
  p2pc__node_set_announce(n, &an);
  for (uint32_t i = 0; i < n->links_hw; i++)
    if (n->links[i].state == L_UP && n->links[i].peer != NO_PEER &&
        !n->peers[n->links[i].peer].ondemand)
      p2pc__node_announce_to_link(n, i);
}

int p2pc__node_on_frame(p2pc_node *n, p2pc_link_id lid, const p2pc_frame *f) {
  link *l = &n->links[lid];
  if (l->state == L_HELLO) {
    if (f->type == P2PC_FRAME_ERROR) {
      p2pc_wire_error e;
      if (p2pc_wire_error_get(f->body, f->body_len, &e) > 0) {
        char t[400] = "link: peer refused the handshake: ";
        p2pc_str_cat(t, sizeof t, e.reason);
        /* A promoted passive entry that is full: expected, not an error;
         * it goes back to the passive view (views.c). A record with
         * messages queued for it is reached on demand instead
         * (ondemand.c). */
        uint32_t pi = l->outbound && l->expect[0] && e.code == P2PC_WIRE_E_FULL
                          ? p2pc__node_peer_find(n, l->expect)
                          : NO_PEER;
        bool promoted = pi != NO_PEER && n->peers[pi].promoted;
        p2pc__node_log(n, promoted ? P2PC_LOG_INFO : P2PC_LOG_ERROR, t);
        if (pi != NO_PEER)
          p2pc__node_ondemand_refused(n, &n->peers[pi]);
        if (promoted)
          p2pc__node_views_refused(n, l->expect);
      }
      p2pc__node_link_close(n, lid, 0, NULL);
      return P2PC_ERR_PROTO;
    }
    if (f->type != P2PC_FRAME_HELLO)
      return p2pc__node_proto_error(n, lid, "first frame is not HELLO");
    int rv = p2pc__node_on_hello(n, lid, f->body, f->body_len);
    if (rv == P2PC_ERR_PROTO && l->state == L_HELLO)
      return p2pc__node_proto_error(n, lid, "malformed HELLO");
    return rv;
  }
  if (l->state != L_UP)
    return 0; /* closing: ignore the rest */
  peer *p = &n->peers[l->peer];
  uint64_t v;
  if (p->skey != NO_KEY) /* heard from: a frozen report's hold restarts */
    p2pc_stable_heard(n->st, p->skey, node_hlc(n));
  p2pc__swim_heard(n, p); /* any frame is a sign of life */
  switch (f->type) {
  case P2PC_FRAME_DATA:
    if (p2pc__node_stream_data(n, p, f->body, f->body_len) < 0)
      return p2pc__node_proto_error(n, lid, "malformed DATA");
    return 0;
  case P2PC_FRAME_ACK: {
    uint64_t beyond;
    if (p2pc_wire_ack_get(f->body, f->body_len, &v, &beyond) < 0)
      return p2pc__node_proto_error(n, lid, "malformed ACK");
    p2pc__node_stream_ack(n, p, v, beyond);
    return 0;
  }
  case P2PC_FRAME_PEERS:
    if (!p->ondemand) /* no membership on a link on demand */
      p2pc__node_on_peers(n, f->body, f->body_len);
    return 0;
  case P2PC_FRAME_SHUFFLE:
    if (p2pc__node_on_shuffle(n, lid, f->body, f->body_len) < 0)
      return p2pc__node_proto_error(n, lid, "malformed SHUFFLE");
    return 0;
  case P2PC_FRAME_SHUFFLE_REPLY:
    if (p2pc__node_on_shuffle_reply(n, f->body, f->body_len) < 0)
      return p2pc__node_proto_error(n, lid, "malformed SHUFFLE_REPLY");
    return 0;
  case P2PC_FRAME_PING:
  case P2PC_FRAME_PONG:
  case P2PC_FRAME_PING_REQ:
  case P2PC_FRAME_PING_REQ_ACK:
  case P2PC_FRAME_MEMBER:
    return p2pc__swim_frame(n, lid, p, f);
  case P2PC_FRAME_LEAVE: {
    p2pc_wire_peer next;
    if (p2pc_wire_leave_get(f->body, f->body_len, &v, &next) < 0 ||
        v >= UINT64_MAX / 2)
      return p2pc__node_proto_error(n, lid, "malformed LEAVE");
    p2pc__node_dht_learn(n, &next);
    p2pc__node_on_leave(n, p, v, &next);
    return 0;
  }
  case P2PC_FRAME_STABLE: {
    p2pc_wire_stable ws;
    if (p2pc_wire_stable_get(f->body, f->body_len, &ws) < 0)
      return p2pc__node_proto_error(n, lid, "malformed STABLE");
    p2pc__node_stable_in(n, l, p, &ws);
    return 0;
  }
  case P2PC_FRAME_ANNOUNCE: {
    p2pc_wire_announce an;
    if (p2pc_wire_announce_get(f->body, f->body_len, &an) < 0)
      return p2pc__node_proto_error(n, lid, "malformed ANNOUNCE");
    if (p->ondemand)
      return 0; /* the clock's election stays in the active view */
    p2pc__sec_claim_check(n, &an);
    p2pc_timesync_announce_in(n->ts, p->id, &an, n->now);
    p2pc__node_dht_neighbour(n, p, an.time_port);
    p2pc__node_relay_announce(n);
    return 0;
  }
  case P2PC_FRAME_ERROR: {
    p2pc_wire_error e;
    if (p2pc_wire_error_get(f->body, f->body_len, &e) > 0) {
      char t[400] = "link: peer closes: ";
      p2pc_str_cat(t, sizeof t, e.reason);
      p2pc__node_log(n, P2PC_LOG_INFO, t);
      /* A full peer will stay full for a while: do not knock again at
       * the usual back-off (that made a dial every few hundred ms per
       * refusing peer in a large mesh with maxPeers). */
      if (e.code == P2PC_WIRE_E_FULL) {
        /* What we queued for it stays queued: dropping it would leave a
         * hole in our SES stream to it that blocks every later message;
         * when it has room, the session starts (FRESH on its side). */
        p->refused_full = true;
        if (p->backoff_ns < FULL_BACKOFF_NS)
          p->backoff_ns = FULL_BACKOFF_NS;
      }
      /* Nothing failed: the peer stops, or it ended the session we were
       * ending by agreement (its ACK and last report came before this):
       * done here too, unless its report did not cover our messages
       * (then the session goes on, as after any loss of the link). */
      if (e.code == P2PC_WIRE_E_SHUTDOWN)
        l->down_why = "stopped";
      if (e.code == P2PC_WIRE_E_CLOSED) {
        if (p2pc__node_leave_done(n, p)) {
          p2pc__node_finish_leave(n, l->peer);
          return 0;
        }
        l->down_why = "left";
      }
    }
    p2pc__node_link_close(n, lid, 0, NULL);
    return 0;
  }
  case P2PC_FRAME_GOSSIP:
  case P2PC_FRAME_IHAVE:
  case P2PC_FRAME_GRAFT:
  case P2PC_FRAME_PRUNE:
    return p2pc__node_bcast_frame(n, lid, f);
  default:
    return p2pc__node_proto_error(n, lid, "unknown frame type");
  }
}
