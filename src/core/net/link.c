/* SPDX-License-Identifier: MIT */
/*
 * Links: the actions for the runtime (dial, close), the link table and
 * its ids, each link's output buffer, frames out (one builder for the
 * small frame types, the HELLO a link opens with) and bytes in, cut into
 * frames for frames.c. A link's life: new, HELLO, up, closing, closed.
 */
#include "nodeint.h"

void p2pc__node_push_action(p2pc_node *n, const p2pc_action *a) {
  if (n->acthead && n->acthead == n->nacts)
    n->acthead = n->nacts = 0;
  if (n->nacts == n->capacts) {
    uint32_t cap = n->capacts ? n->capacts * 2 : 16;
    p2pc_action *x = n->a->realloc(n->acts, (size_t)cap * sizeof *x, n->a->ud);
    if (!x)
      return; /* a lost DIAL is retried by the next deadline; a lost
                 CLOSE by the liveness check */
    n->acts = x;
    n->capacts = cap;
  }
  n->acts[n->nacts++] = *a;
}

link *p2pc__node_link_get(const p2pc_node *n, p2pc_link_id l) {
  return l < n->links_cap && n->links[l].state != L_FREE ? &n->links[l] : NULL;
}

/* Writes the frame in n->scratch to the link's output, unless the link's
 * output is over its cap (a peer that does not read: the liveness check
 * will close it). */
void p2pc__node_link_write(p2pc_node *n, link *l) {
  if (l->state == L_FREE || l->state == L_CLOSING)
    return;
  p2pc__node_link_put(n, l, n->scratch.data, n->scratch.len);
}

void p2pc__node_link_put(p2pc_node *n, link *l, const uint8_t *b, size_t len) {
  if (!p2pc__sec_write(n, l, b, len))
    p2pc_buf_put(&l->out, b, len);
}

void p2pc__node_link_close(p2pc_node *n, p2pc_link_id id, uint16_t code,
                           const char *reason) {
  link *l = p2pc__node_link_get(n, id);
  if (!l || l->state == L_CLOSING)
    return;
  if (code && !l->hs) { /* (a secure link in its handshake: no words) */
    p2pc_buf_reset(&n->scratch);
    long at = p2pc_wire_frame_begin(&n->scratch, P2PC_FRAME_ERROR);
    if (at >= 0 && p2pc_wire_error_put(&n->scratch, code, reason) == 0 &&
        p2pc_wire_frame_end(&n->scratch, at, n->cfg.max_frame) == 0)
      p2pc__node_link_write(n, l);
  }
  l->state = L_CLOSING;
  p2pc_action a = {.kind = P2PC_ACT_CLOSE, .link = id};
  p2pc__node_push_action(n, &a);
}

int p2pc__node_frame_to_link(p2pc_node *n, p2pc_link_id id, p2pc_frame_type t,
                             const void *arg, uint64_t v) {
  link *l = p2pc__node_link_get(n, id);
  if (!l)
    return P2PC_ERR_NOTFOUND;
  p2pc_buf_reset(&n->scratch);
  long at = p2pc_wire_frame_begin(&n->scratch, t);
  if (at < 0)
    return (int)at;
  int rv;
  switch (t) {
  case P2PC_FRAME_HELLO:
    rv = p2pc_wire_hello_put(&n->scratch, arg);
    break;
  case P2PC_FRAME_ACK:
    rv = p2pc_wire_ack_put(&n->scratch, v, *(const uint64_t *)arg);
    break;
  case P2PC_FRAME_PING:
  case P2PC_FRAME_PONG:
    rv = p2pc_wire_ping_put(&n->scratch, t, v);
    break;
  case P2PC_FRAME_ANNOUNCE:
    rv = p2pc_wire_announce_put(&n->scratch, arg);
    break;
  case P2PC_FRAME_STABLE: {
    const stable_out *so = arg;
    rv = p2pc_wire_stable_put_rep(&n->scratch, so->delivered, so->rep,
                                  so->expired, so->nexpired);
    break;
  }
  default:
    rv = P2PC_ERR_INVAL;
  }
  if (!rv)
    rv = p2pc_wire_frame_end(&n->scratch, at, n->cfg.max_frame);
  if (!rv)
    p2pc__node_link_write(n, l);
  return rv;
}

void p2pc__node_send_hello(p2pc_node *n, p2pc_link_id lid, uint16_t flags) {
  p2pc_wire_hello h = {.version = P2PC_WIRE_VERSION,
                       .flags = flags,
                       .incarnation = n->cfg.incarnation,
                       .listen = n->cfg.listen};
  p2pc_str_cat(h.id, sizeof h.id, n->id);
  p2pc__node_frame_to_link(n, lid, P2PC_FRAME_HELLO, &h, 0);
}

int p2pc__node_proto_error(p2pc_node *n, p2pc_link_id lid, const char *what) {
  char t[200] = "link: dropping a connection: ";
  p2pc_str_cat(t, sizeof t, what);
  link *l = &n->links[lid];
  if (l->peer != NO_PEER) {
    p2pc_str_cat(t, sizeof t, " peer=");
    p2pc_str_cat(t, sizeof t, n->peers[l->peer].id);
  }
  p2pc__node_log(n, P2PC_LOG_WARN, t);
  p2pc__node_link_close(n, lid, P2PC_WIRE_E_PROTO, what);
  return P2PC_ERR_PROTO;
}

int p2pc__node_link_input(p2pc_node *n, p2pc_link_id lid, const uint8_t *b,
                          size_t len) {
  link *l = p2pc__node_link_get(n, lid);
  if (!l)
    return P2PC_ERR_NOTFOUND;
  if (l->state == L_CLOSING)
    return 0;
  l->last_rx_ns = n->now.mono_ns;
  if (l->peer != NO_PEER && n->peers[l->peer].state == P2PC_PEER_SUSPECT)
    n->peers[l->peer].state = P2PC_PEER_UP;
  int rv = l->sec ? p2pc__sec_input(n, lid, l, b, len)
                  : p2pc__node_frames_input(n, lid, l, b, len);
  /* Once per read, however many records it held: the ACK, batched. */
  if (l->peer != NO_PEER && l->state == L_UP) {
    p2pc__node_stream_flush(n, &n->peers[l->peer]);
    if (p2pc__node_leave_done(n, &n->peers[l->peer]))
      p2pc__node_finish_leave(n, l->peer);
  }
  return rv;
}

int p2pc__node_frames_input(p2pc_node *n, p2pc_link_id lid, link *l,
                            const uint8_t *b, size_t len) {
  /* Parse straight from the input; keep only an incomplete tail. */
  const uint8_t *p = b;
  size_t left = len;
  bool from_in = l->in.len > 0;
  if (from_in) {
    if (p2pc_buf_put(&l->in, b, len) != 0)
      return p2pc__node_proto_error(n, lid, "frame longer than the maximum");
    p = l->in.data;
    left = l->in.len;
  }
  int rv = 0;
  while (left && l->state != L_CLOSING) {
    p2pc_frame f;
    int used = p2pc_wire_frame_split(p, left, n->cfg.max_frame, &f);
    if (used == 0)
      break;
    if (used == P2PC_ERR_TOOBIG) {
      rv = p2pc__node_proto_error(n, lid, "frame length over the maximum");
      break;
    }
    if (used < 0) {
      rv = p2pc__node_proto_error(n, lid, "zero frame length");
      break;
    }
    rv = p2pc__node_on_frame(n, lid, &f);
    p += used;
    left -= (size_t)used;
    if (rv < 0)
      break;
  }
  if (l->state == L_CLOSING || !left) {
    p2pc_buf_reset(&l->in);
  } else if (from_in) {
    memmove(l->in.data, p, left);
    l->in.len = left;
  } else if (p2pc_buf_put(&l->in, p, left) != 0) {
    rv = p2pc__node_proto_error(n, lid, "frame longer than the maximum");
  }
  return rv < 0 ? rv : 0;
}

/* Whether a dial of ours to p other than link lid is in its handshake
 * (dialed by its ID, or by its address before we knew the ID). */
static bool dial_pending(const p2pc_node *n, const peer *p, uint32_t lid) {
  for (uint32_t i = 0; i < n->links_hw; i++) {
    const link *l = &n->links[i];
    if (i == lid || l->state != L_HELLO || !l->outbound)
      continue;
    if (l->expect[0] ? strcmp(l->expect, p->id) == 0
                     : p->addr_known && p2pc__node_addr_eq(&l->addr, &p->addr))
      return true;
  }
  return false;
}

/* The link table grows by doubling up to nlinks (never inside a callback,
 * where the caller may hold a link). */
static bool links_grow(p2pc_node *n) {
  if (n->cb_depth)
    return false;
  uint32_t cap = n->links_cap ? n->links_cap * 2 : 4;
  if (cap > n->nlinks)
    cap = n->nlinks;
  link *ls = n->a->realloc(n->links, (size_t)cap * sizeof *ls, n->a->ud);
  if (!ls)
    return false;
  for (uint32_t i = n->links_cap; i < cap; i++) {
    memset(&ls[i], 0, sizeof ls[i]);
    ls[i].state = L_FREE;
    p2pc_buf_init(&ls[i].in, n->a, n->cfg.max_frame + P2PC_WIRE_HDR);
    /* (a secure link's records add 20 bytes to 65,519 of frames) */
    p2pc_buf_init(&ls[i].out, n->a,
                  n->cfg.max_link_output + 2 * n->cfg.max_frame);
    p2pc_buf_init(&ls[i].cin, n->a, 4 + P2PC_NOISE_MAX_MSG);
    p2pc_buf_init(&ls[i].pend, n->a,
                  n->cfg.max_link_output + 2 * n->cfg.max_frame);
  }
  n->links = ls;
  n->links_cap = cap;
  return true;
}

/* Whether one more accepted connection from addr may start a handshake:
 * at most P2PC_HELLO_PER_ADDR in their handshake from one host (its own
 * host aside: every local node shares 127.0.0.1), P2PC_HELLO_INBOUND from
 * all. A stranger's half-open connections cost the node that many slots,
 * each until the handshake deadline, never the table. */
static bool inbound_ok(const p2pc_node *n, const p2pc_wire_addr *addr) {
  uint32_t all = 0, same = 0;
  size_t k = addr && addr->family == 6 ? 16 : 4;
  for (uint32_t i = 0; i < n->links_hw; i++) {
    const link *l = &n->links[i];
    if (l->state != L_HELLO || l->outbound)
      continue;
    all++;
    same += addr && addr->family && l->addr.family == addr->family &&
            memcmp(l->addr.addr, addr->addr, k) == 0;
  }
  return all < P2PC_HELLO_INBOUND &&
         (!addr || !addr->family || p2pc_addr_loopback(addr) ||
          same < P2PC_HELLO_PER_ADDR);
}

int p2pc__node_link_new(p2pc_node *n, bool outbound, const char *peer_id,
                        const p2pc_wire_addr *addr, p2pc_link_id *out) {
  if (!outbound && !inbound_ok(n, addr)) {
    n->inbound_refused++;
    p2pc__node_log(n, P2PC_LOG_WARN,
                   "link: refusing a connection: too many handshakes from "
                   "its address, or in all");
    return P2PC_ERR_FULL;
  }
  uint32_t i = 0;
  while (i < n->links_cap && n->links[i].state != L_FREE)
    i++;
  if (i == n->nlinks || (i == n->links_cap && !links_grow(n)))
    return P2PC_ERR_FULL;
  if (i >= n->links_hw)
    n->links_hw = i + 1;
  link *l = &n->links[i];
  l->state = L_HELLO;
  l->outbound = outbound;
  l->ann_gen = 0; /* its first ANNOUNCE carries the hints */
  l->ann_same = 0;
  l->peer = NO_PEER;
  l->expect[0] = '\0';
  memset(&l->addr, 0, sizeof l->addr);
  if (addr)
    l->addr = *addr;
  if (peer_id)
    p2pc_str_cat(l->expect, sizeof l->expect, peer_id);
  p2pc_buf_reset(&l->in);
  p2pc_buf_reset(&l->out);
  l->opened_ns = l->last_rx_ns = l->last_ping_ns = n->now.mono_ns;
  /* The dialer speaks first; the listener answers with its own HELLO only
   * once it has accepted the dialer's (p2pc__node_send_hello in
   * p2pc__node_on_hello), so a refusal is an ERROR alone and the dialer never
   * takes the peer for up (a HELLO followed by "peer table full" made the
   * dialer queue messages that could never arrive: found by the simulator's
   * causal oracle). */
  l->join = false;
  l->remote_od = false;
  l->down_why = NULL;
  if (p2pc__sec_start(n, i, l) != 0) { /* out of memory: it goes */
    *out = i;
    p2pc__node_link_close(n, i, 0, NULL);
    return 0;
  }
  if (outbound) {
    const peer *p = NULL;
    uint32_t pi =
        peer_id && *peer_id ? p2pc__node_peer_find(n, peer_id) : NO_PEER;
    if (pi != NO_PEER)
      p = &n->peers[pi];
    else if (addr)
      p = p2pc__node_peer_by_addr(n, addr, NULL);
    /* A dial that completes after the peer's own dial to us came up: the
     * pair is linked already, and a second link would only be settled
     * by closing one (the peer would see its link go and come back: a
     * peer_down for a link that never failed). It goes, unused. */
    if (p && ((p->link != NO_LINK && n->links[p->link].state == L_UP) ||
              dial_pending(n, p, i))) {
      anon_seed *s = addr ? p2pc__node_anon_by_addr(n, addr) : NULL;
      if (s)
        anon_finish(n, s);
      *out = i;
      p2pc__node_link_close(n, i, 0, NULL);
      return 0;
    }
    uint16_t flags = p && has_session(p) ? 0 : P2PC_HELLO_FRESH;
    if (p && p->ondemand) /* a unicast's link: no JOIN */
      flags |= P2PC_HELLO_ON_DEMAND;
    else if (p2pc__node_views_join(n, p)) {
      flags |= P2PC_HELLO_JOIN;
      l->join = true;
    }
    p2pc__node_send_hello(n, i, flags);
  }
  if (outbound && peer_id && *peer_id) {
    uint32_t pi = p2pc__node_peer_find(n, peer_id);
    if (pi != NO_PEER && n->peers[pi].link == NO_LINK)
      n->peers[pi].state = P2PC_PEER_DIALING;
  }
  *out = i;
  return 0;
}

/* A quiet loss (quiet_down) turns out to be a real one. */
static void quiet_down_failed(p2pc_node *n, peer *p) {
  if (!p->quiet_down)
    return;
  p->quiet_down = false;
  p2pc__node_ev_peer(n, p, false, "link closed");
  p2pc_timesync_peer_down(n->ts, p->id, n->now);
}

void p2pc__node_link_closed(p2pc_node *n, p2pc_link_id lid) {
  link *l = p2pc__node_link_get(n, lid);
  if (!l)
    return;
  uint32_t pi = l->peer;
  /* Nothing failed when this node stops, or when the peer said it stops
   * or ended the session (EVENTS.md, peer_down). */
  const char *why = n->stopping   ? "stopping"
                    : l->down_why ? l->down_why
                                  : "link closed";
  /* A dial that never finished its handshake: back off that address. */
  if (pi == NO_PEER && l->outbound && l->expect[0] &&
      p2pc__node_views_dial_failed(n, l->expect)) {
    /* a passive entry that did not answer: dropped */
  } else if (pi == NO_PEER && l->outbound && l->expect[0]) {
    uint32_t e = p2pc__node_peer_find(n, l->expect);
    if (e != NO_PEER && n->peers[e].link == NO_LINK) {
      quiet_down_failed(n, &n->peers[e]);
      n->peers[e].dialing = false;
      n->peers[e].state = P2PC_PEER_DOWN;
      p2pc__node_schedule_dial(n, &n->peers[e]);
    }
  } else if (pi == NO_PEER && l->outbound) {
    anon_seed *s = p2pc__node_anon_by_addr(n, &l->addr);
    if (s && !s->done)
      p2pc__node_anon_backoff(n, s);
  }
  l->state = L_FREE;
  p2pc__node_bcast_link(n, lid, false);
  p2pc_buf_reset(&l->in);
  p2pc_buf_reset(&l->out);
  p2pc__sec_release(n, l);
  if (pi != NO_PEER && n->peers[pi].link == lid) {
    peer *p = &n->peers[pi];
    if (dial_pending(n, p, lid)) {
      /* The peer settled crossing dials on ours, still in its handshake:
       * nothing failed (PROTOCOL.md, "One link per pair"). */
      p->link = NO_LINK;
      p->state = P2PC_PEER_DIALING;
      p->dialing = true;
      p->quiet_down = true;
      cancel_leave(p);
      if (p->skey != NO_KEY)
        p2pc__node_stable_down(n, p);
    } else {
      p2pc__node_peer_down(n, p, why);
    }
  }
}

void p2pc__node_link_consume(p2pc_node *n, p2pc_link_id lid, size_t len) {
  link *l = lid < n->links_cap ? &n->links[lid] : NULL;
  if (!l || l->state == L_FREE)
    return;
  if (len >= l->out.len) {
    l->out.len = 0;
  } else {
    memmove(l->out.data, l->out.data + len, l->out.len - len);
    l->out.len -= len;
  }
  /* Room again: frames held back by a full output may go now. */
  if (l->peer != NO_PEER && l->state == L_UP)
    p2pc__node_stream_flush(n, &n->peers[l->peer]);
}
