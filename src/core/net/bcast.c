/* SPDX-License-Identifier: MIT */
/*
 * Broadcast to the whole network, the node's side (PROTOCOL.md,
 * "Broadcast to the whole network"): one causal message to "*" per
 * broadcast, disseminated by Plumtree (plumtree.h) over the up links.
 * This file is the glue: the links that come up and go down, the frames
 * GOSSIP, IHAVE, GRAFT and PRUNE in and out, the causal layer behind the
 * deliver hook, and the two broadcasts of the API (the whole network, and
 * the neighbours one unicast each, as before).
 */
#include "nodeint.h"

#include "plumtree.h"

/* ---- the hooks ----------------------------------------------------------- */

/* Writes one frame built by put into link l's output. */
static void out_frame(p2pc_node *n, uint32_t lid, p2pc_frame_type type,
                      uint64_t round, const uint8_t *msg, size_t len,
                      const p2pc_wire_bcast_id *ids, uint32_t count,
                      const char *origin) {
  link *l = p2pc__node_link_get(n, lid);
  if (!l || l->state != L_UP)
    return;
  /* Not n->scratch: a GOSSIP may go out while the caller's message is
   * still being built there (p2pc_node_broadcast). */
  p2pc_buf *b = &n->bcast_buf;
  p2pc_buf_reset(b);
  long at = p2pc_wire_frame_begin(b, type);
  if (at < 0)
    return;
  int rv = 0;
  if (type == P2PC_FRAME_GOSSIP)
    rv = p2pc_wire_gossip_put(b, round, msg, len);
  else if (type == P2PC_FRAME_PRUNE)
    rv = p2pc_wire_prune_put(b, origin);
  else
    rv = p2pc_wire_bcast_ids_put(b, ids, count, 1);
  if (!rv)
    rv = p2pc_wire_frame_end(b, at, n->cfg.max_frame);
  /* A link whose output is over its cap does not read: the message is
   * not lost for the node, its IHAVEs and GRAFTs repair it. */
  if (!rv && p2pc__link_queued(l) + b->len <= n->cfg.max_link_output)
    p2pc__node_link_put(n, l, b->data, b->len);
}

static void h_gossip(void *ud, uint32_t lid, uint64_t round, const uint8_t *msg,
                     size_t len) {
  out_frame(ud, lid, P2PC_FRAME_GOSSIP, round, msg, len, NULL, 0, NULL);
}

static void h_ihave(void *ud, uint32_t lid, const p2pc_wire_bcast_id *ids,
                    uint32_t count) {
  out_frame(ud, lid, P2PC_FRAME_IHAVE, 0, NULL, 0, ids, count, NULL);
}

static void h_graft(void *ud, uint32_t lid, const p2pc_wire_bcast_id *ids,
                    uint32_t count) {
  out_frame(ud, lid, P2PC_FRAME_GRAFT, 0, NULL, 0, ids, count, NULL);
}

static void h_prune(void *ud, uint32_t lid, const char *origin) {
  out_frame(ud, lid, P2PC_FRAME_PRUNE, 0, NULL, 0, NULL, 0, origin);
}

/* To the causal layer, from whichever neighbour forwarded it: the
 * message names its sender, and SES de-duplicates by (sender, n). It
 * came over `round` links, each of which carried its stability report
 * before it (the GOSSIP rule below), so its entries count them all. */
static int h_deliver(void *ud, uint32_t lid, uint64_t round, const uint8_t *msg,
                     size_t len) {
  p2pc_node *n = ud;
  (void)lid;
  uint32_t hops =
      round > P2PC_SES_MAX_HOPS ? P2PC_SES_MAX_HOPS : (uint32_t)round;
  p2pc__node_causal_time(n);
  int rv =
      p2pc_causal_receive_hops(n->causal, NULL, msg, len, hops, n->now.mono_ns);
  if (rv < 0 && rv != P2PC_ERR_FULL && rv != P2PC_ERR_AHEAD &&
      rv != P2PC_ERR_NOMEM) {
    char t[160] = "bcast: dropped a broadcast message: ";
    p2pc_str_cat(t, sizeof t, p2pc_strerror(rv));
    p2pc__node_log(n, P2PC_LOG_WARN, t);
  }
  return rv;
}

/* ---- setup and links ----------------------------------------------------- */

int p2pc__node_bcast_new(p2pc_node *n) {
  p2pc_pt_config c;
  p2pc_pt_config_default(&c);
  c.max_links = n->nlinks;
  /* Never past the causal lifetime: an older copy could not be
   * delivered anyway. */
  uint64_t life = p2pc_causal_lifetime(n->causal);
  if (life != P2PC_CAUSAL_LIFETIME_INF && life < c.cache_ns)
    c.cache_ns = life;
  p2pc_pt_hooks h = {h_deliver, h_gossip, h_ihave, h_graft, h_prune, n};
  return p2pc_pt_new(&n->pt, n->a, &c, &h);
}

void p2pc__node_bcast_free(p2pc_node *n) {
  p2pc_pt_free(n->pt);
  p2pc_buf_fini(&n->bcast_buf);
}

void p2pc__node_bcast_link(p2pc_node *n, uint32_t lid, bool up) {
  if (!n->pt)
    return;
  /* The tree spans the overlay's links (the active view), not the links
   * opened on demand for unicast, which come and go with the traffic. */
  const link *l = up ? p2pc__node_link_get(n, lid) : NULL;
  if (l && l->peer != NO_PEER && n->peers[l->peer].ondemand)
    return;
  if (up)
    p2pc_pt_link_up(n->pt, lid);
  else
    p2pc_pt_link_down(n->pt, lid);
}

int p2pc__node_bcast_frame(p2pc_node *n, uint32_t lid, const p2pc_frame *f) {
  p2pc_wire_bcast_id ids[P2PC_WIRE_MAX_BCAST_IDS];
  uint32_t count;
  uint64_t round;
  const uint8_t *msg;
  size_t len;
  uint64_t t = n->now.mono_ns;
  switch (f->type) {
  case P2PC_FRAME_GOSSIP:
    if (p2pc_wire_gossip_get(f->body, f->body_len, &round, &msg, &len) < 0)
      return p2pc__node_proto_error(n, lid, "malformed GOSSIP");
    /* What the message carries must be covered by the peer's stability
     * report, as for DATA; the peer sends that first on every link. A copy
     * before it is not taken (the lazy links repair it), as DATA is not. */
    if (!n->links[lid].stable_rx)
      return 0;
    if (p2pc_pt_on_gossip(n->pt, lid, round, msg, len, t) == P2PC_ERR_PROTO)
      return p2pc__node_proto_error(n, lid, "GOSSIP without a broadcast");
    return 0;
  case P2PC_FRAME_IHAVE:
  case P2PC_FRAME_GRAFT:
    if (p2pc_wire_bcast_ids_get(f->body, f->body_len, 1, ids, &count) < 0)
      return p2pc__node_proto_error(
          n, lid,
          f->type == P2PC_FRAME_IHAVE ? "malformed IHAVE" : "malformed GRAFT");
    if (f->type == P2PC_FRAME_IHAVE)
      p2pc_pt_on_ihave(n->pt, lid, ids, count, t);
    else
      p2pc_pt_on_graft(n->pt, lid, ids, count, t);
    return 0;
  case P2PC_FRAME_PRUNE: {
    char origin[P2PC_ID_MAX + 1];
    if (p2pc_wire_prune_get(f->body, f->body_len, origin) < 0)
      return p2pc__node_proto_error(n, lid, "malformed PRUNE");
    p2pc_pt_on_prune(n->pt, lid, origin, t);
    return 0;
  }
  default:
    return p2pc__node_proto_error(n, lid, "unknown frame type");
  }
}

void p2pc__node_bcast_deadline(p2pc_node *n) {
  p2pc_pt_on_deadline(n->pt, n->now.mono_ns);
}

uint64_t p2pc__node_bcast_next(const p2pc_node *n) {
  return p2pc_pt_next_deadline(n->pt);
}

/* A delivery of a broadcast: how many overlay hops it came (0: our own). */
void p2pc__node_bcast_event(const p2pc_node *n, const p2pc_causal_event *ce,
                            p2pc_event *e) {
  uint64_t round;
  if (ce->kind == P2PC_CEV_DELIVER && ce->broadcast &&
      p2pc_pt_round(n->pt, ce->sender, ce->n, &round))
    e->u.delivered.hops = round > UINT32_MAX ? UINT32_MAX : (uint32_t)round;
}

/* ---- the API ---------------------------------------------------------------
 */

int p2pc_node_broadcast(p2pc_node *n, const uint8_t *payload, size_t len,
                        p2pc_now now, p2pc_msgid *id) {
  n->now = now;
  if (!payload && len)
    return P2PC_ERR_INVAL;
  if (len > n->cfg.max_frame - n->cfg.max_frame / 4)
    return P2PC_ERR_TOOBIG;
  /* Its own buffer: the application may broadcast again from the
   * delivery to itself, inside p2pc_causal_send. */
  p2pc_buf b;
  p2pc_buf_init(&b, n->a, P2PC_WIRE_MAX_FRAME_LIMIT);
  p2pc__node_causal_time(n);
  int rv = p2pc_causal_send(n->causal, P2PC_CAUSAL_ALL, payload, len,
                            n->now.mono_ns, &b);
  if (rv == 0) {
    if (id) {
      memcpy(id->node, n->id, strlen(n->id) + 1);
      id->session = (uint32_t)(n->cfg.incarnation & 0x7fffffffu);
      id->seq = p2pc_causal_sent(n->causal);
    }
    /* Stamped and delivered here: it goes out now, or (out of memory)
     * not at all, which the causal layer's expiry reports as for any
     * message that never arrived. */
    p2pc_pt_broadcast(n->pt, b.data, b.len, n->now.mono_ns);
  }
  p2pc_buf_fini(&b);
  return rv;
}

int p2pc_node_broadcast_neighbours(p2pc_node *n, const uint8_t *payload,
                                   size_t len, p2pc_now now,
                                   p2pc_msgid *first) {
  int rv = p2pc_node_send(n, n->id, payload, len, now, first);
  if (rv)
    return rv;
  int count = 0;
  for (uint32_t i = 0; i < n->npeers; i++) {
    /* The peers connected now. A broadcast queued for a peer that is down
     * waits for it; if that peer never takes it (it turned us away as
     * full, or only ever flapped), everything that causally follows the
     * broadcast is held back at that peer for good (found by the
     * simulator's causal oracle in a 100-node k-regular mesh). */
    const peer *q = &n->peers[i];
    if (!q->inc_known || q->refused_full || leaving(q) || q->ondemand ||
        (q->state != P2PC_PEER_UP && q->state != P2PC_PEER_SUSPECT))
      continue;
    rv = p2pc__node_stream_send(n, &n->peers[i], payload, len);
    if (rv)
      return rv;
    count++;
  }
  return count;
}

void p2pc_node_bcast_stats(const p2pc_node *n, p2pc_pt_stats *st) {
  p2pc_pt_get_stats(n->pt, st);
}
