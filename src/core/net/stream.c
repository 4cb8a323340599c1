/* SPDX-License-Identifier: MIT */
/*
 * The per-peer reliable stream. Reliability is per peer *session*, not
 * per TCP connection: a session is the pair (our incarnation, the peer's
 * incarnation). DATA frames carry a sequence number (lseq) along the
 * session; the receiver accepts them strictly in order and acknowledges
 * cumulatively; the sender keeps every unacknowledged frame and, after a
 * reconnect or a resend timeout, sends again everything after the last
 * acknowledged one (go-back-N). TCP already orders bytes, so gaps only come
 * from frames dropped on purpose (chaos) or from frames the SES layer
 * refused (its buffer was full): both are repaired by the resend. A
 * message the causal layer gave up on goes as a tombstone (lseq only).
 * The causal layer's clock is set here before every SES step.
 */
#include "nodeint.h"

/* Gives the causal layer the network time and its error bound (an
 * unsynchronized clock has no honest bound: no stamp is refused then). */
void p2pc__node_causal_time(p2pc_node *n) {
  int64_t net = p2pc_timesync_time(n->ts, n->now.local_ns);
  double err = p2pc_timesync_error(n->ts, n->now.local_ns);
  uint64_t e = err < 0 || err > 1e15 ? (uint64_t)1e15 : (uint64_t)err;
  p2pc_causal_set_time(n->causal, net, e, n->now.mono_ns);
}

void p2pc__node_free_queue(p2pc_node *n, peer *p) {
  for (uint32_t i = 0; i < p->qn; i++)
    n->a->free(txq_at(p, i)->frame, n->a->ud);
  p->qn = 0;
  p->qhead = 0;
  p->qbytes = 0;
}

/*
 * The peer (same incarnation) says it holds no session with us: it forgot
 * the session after ending it by agreement (a LEAVE whose last ACK did not
 * reach us before the link closed), or it dropped a record it held. Both
 * streams start again from lseq 1: our unacknowledged frames are numbered
 * again from 1 (a shorter or equal varint, rewritten in place) and sent
 * again. Any of them the peer had already taken is a duplicate its causal
 * layer drops (SES de-duplication by message number), so nothing is
 * delivered twice or lost.
 */
void p2pc__node_stream_restart(p2pc_node *n, peer *p) {
  p->qbytes = 0;
  for (uint32_t i = 0; i < p->qn; i++) {
    txmsg *t = txq_at(p, i);
    uint8_t v[P2PC_VARINT_MAX];
    size_t vl = p2pc_varint_encode(v, i + 1);
    p2pc_reader r;
    uint64_t old;
    p2pc_reader_init(&r, t->frame + P2PC_WIRE_HDR, t->len - P2PC_WIRE_HDR);
    p2pc_reader_varint(&r, &old); /* our own frame: a valid varint */
    size_t ol = r.off;
    size_t tail = t->len - P2PC_WIRE_HDR - ol;
    memmove(t->frame + P2PC_WIRE_HDR + vl, t->frame + P2PC_WIRE_HDR + ol, tail);
    memcpy(t->frame + P2PC_WIRE_HDR, v, vl);
    t->len = P2PC_WIRE_HDR + vl + tail;
    p2pc_be32_write(t->frame, (uint32_t)(t->len - 4));
    t->lseq = i + 1;
    p->qbytes += t->len;
  }
  p->tx_next = (uint64_t)p->qn + 1;
  p->tx_acked = p->tx_written = 0;
  p->rx_cum = p->rx_beyond = 0;
  p->rx_hole = p->rx_held = false;
  p->fast_for = 0;
  cancel_leave(p);
  char t[160] = "peers: ";
  p2pc_str_cat(t, sizeof t, p->id);
  p2pc_str_cat(t, sizeof t, " holds no session with us: starting it again");
  p2pc__node_log(n, P2PC_LOG_INFO, t);
}

/* Writes the session's unwritten DATA frames whose chaos hold is over, in
 * order; stops at the first one still held (order on a link is kept). */
void p2pc__node_stream_flush(p2pc_node *n, peer *p) {
  link *l = p->link == NO_LINK ? NULL : p2pc__node_link_get(n, p->link);
  if (!l || l->state != L_UP)
    return;
  /* The queue holds tx_acked + 1, tx_acked + 2, ... in order, so the first
   * frame not yet written is at tx_written - tx_acked. */
  for (uint32_t i = (uint32_t)(p->tx_written - p->tx_acked); i < p->qn; i++) {
    txmsg *t = txq_at(p, i);
    if (t->release_ns > n->now.mono_ns)
      break;
    if (p2pc__link_queued(l) + t->len > n->cfg.max_link_output)
      break; /* the socket is not draining: wait for it */
    p->tx_written = t->lseq;
    if (n->cfg.chaos_drop > 0 && rng_unit(n) < n->cfg.chaos_drop)
      continue; /* lost on the wire: the resend timer repairs it */
    p2pc__node_link_put(n, l, t->frame, t->len);
  }
  if (p->ack_due) {
    p->ack_due = false;
    /* A repeated ACK (the heartbeat's) still says a hole is open. */
    uint64_t beyond = p->rx_beyond ? p->rx_beyond : p->rx_hole;
    if (!(n->cfg.chaos_drop > 0 && rng_unit(n) < n->cfg.chaos_drop))
      p2pc__node_frame_to_link(n, p->link, P2PC_FRAME_ACK, &beyond, p->rx_cum);
    p->rx_beyond = 0;
    /* New deliveries: say so now, not at the next heartbeat; the sender's
     * LS, and with it everyone's pruning of its entries, waits for it. */
    uint64_t dl = 0, wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
    uint32_t nwo = 0;
    if (p->inc_known)
      p2pc_causal_report_for(n->causal, p->sesid, &dl, wo, &nwo);
    if (dl != p->st_delivered)
      p2pc__node_stable_send(n, p->link);
  }
}

/* The causal layer gave up on message msg_n to dest_sesid: if it still
 * waits in the session's queue, it goes as a p2pc__node_stream_tombstone (lseq
 * only), so the link's numbering holds and the payload is not resent. */
void p2pc__node_stream_tombstone(p2pc_node *n, const char *dest_sesid,
                                 uint64_t msg_n) {
  for (uint32_t i = 0; i < n->npeers; i++) {
    peer *p = &n->peers[i];
    if (!p->inc_known || strcmp(p->sesid, dest_sesid) != 0)
      continue;
    for (uint32_t k = 0; k < p->qn; k++) {
      txmsg *t = txq_at(p, k);
      if (t->n != msg_n)
        continue;
      size_t vl = p2pc_varint_encode(t->frame + P2PC_WIRE_HDR, t->lseq);
      size_t len = P2PC_WIRE_HDR + vl;
      p->qbytes -= t->len - len;
      t->len = len;
      p2pc_be32_write(t->frame, (uint32_t)(len - 4));
      return;
    }
    return;
  }
}

int p2pc__node_stream_send(p2pc_node *n, peer *p, const uint8_t *payload,
                           size_t len) {
  if (!p->inc_known || leaving(p))
    return P2PC_ERR_NOTFOUND; /* no session yet, or it is being ended */
  if (p->qn >= n->cfg.max_unacked ||
      p->qbytes + len > n->cfg.max_unacked_bytes) {
    p->blocked = true;
    return P2PC_ERR_FULL;
  }
  if (p->qn == p->qcap) {
    uint32_t cap = p->qcap ? p->qcap * 2 : 16;
    txmsg *q = n->a->realloc(p->q, (size_t)cap * sizeof *q, n->a->ud);
    if (!q)
      return P2PC_ERR_NOMEM;
    /* The ring was full: the part that wrapped around (before qhead)
     * moves up behind the rest, where the new room begins. */
    memcpy(q + p->qcap, q, (size_t)p->qhead * sizeof *q);
    p->q = q;
    p->qcap = cap;
  }
  p2pc_buf *b = &n->scratch;
  p2pc_buf_reset(b);
  long at = p2pc_wire_frame_begin(b, P2PC_FRAME_DATA);
  if (at < 0)
    return (int)at;
  p2pc__node_causal_time(n);
  int rv = p2pc_buf_put_varint(b, p->tx_next);
  if (!rv)
    rv = p2pc_causal_send(n->causal, p->sesid, payload, len, n->now.mono_ns, b);
  if (rv)
    return rv;
  /* The SES step is done; a frame over the limit now would be a message
   * stamped but never sent, so the limit is checked against the payload up
   * front in p2pc_node_send and this cannot fail. */
  p2pc_wire_frame_end(b, at, P2PC_WIRE_MAX_FRAME_LIMIT);
  /* The queue takes the scratch buffer's storage: no allocation (and so
   * no failure) between stamping the message and queueing it. */
  txmsg *t = txq_at(p, p->qn);
  t->frame = b->data;
  t->len = b->len;
  p2pc_buf_init(b, n->a, b->max);
  t->lseq = p->tx_next++;
  t->n = p2pc_causal_sent(n->causal);
  uint64_t hold = 0;
  if (n->cfg.chaos_delay_max_ns)
    hold =
        n->cfg.chaos_delay_min_ns +
        rng_below(n, n->cfg.chaos_delay_max_ns - n->cfg.chaos_delay_min_ns + 1);
  t->release_ns = n->now.mono_ns + hold;
  if (p->qn && txq_at(p, p->qn - 1)->release_ns > t->release_ns)
    t->release_ns = txq_at(p, p->qn - 1)->release_ns;
  if (p->qn == 0)
    p->last_progress_ns = n->now.mono_ns;
  p->qn++;
  p->qbytes += t->len; /* the same measure p2pc__node_stream_ack takes off */
  p->sent++;
  p->used_ns = n->now.mono_ns;
  p2pc__node_stream_flush(n, p);
  return 0;
}

int p2pc__node_stream_data(p2pc_node *n, peer *p, const uint8_t *b,
                           size_t len) {
  p2pc_reader r;
  uint64_t lseq;
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &lseq))
    return P2PC_ERR_PROTO;
  /* Not before the link's first STABLE: what the message carries must be
   * covered by the peer's report (PROTOCOL.md, "Stability"). Not taken,
   * not acknowledged: it comes again. */
  const link *via = p->link == NO_LINK ? NULL : p2pc__node_link_get(n, p->link);
  if (!via || !via->stable_rx)
    return 0;
  p->ack_due = true;
  if (lseq != p->rx_cum + 1) {
    if (lseq > p->rx_cum + 1) {
      p->rx_beyond++; /* past a hole: the ack asks for a resend */
      p->rx_hole = !p->rx_held;
    }
    return 0; /* or a resend we have: the ack says where we are */
  }
  if (r.off == len) {
    /* A tombstone: a message its sender gave up on (expired). */
    p->rx_cum = lseq;
    p->rx_hole = p->rx_held = false;
    return 0;
  }
  p2pc__node_causal_time(n);
  int rv = p2pc_causal_receive(n->causal, p->sesid, b + r.off, len - r.off,
                               n->now.mono_ns);
  if (rv == P2PC_ERR_FULL || rv == P2PC_ERR_NOMEM || rv == P2PC_ERR_AHEAD) {
    /* not taken: not acknowledged, so it comes again (with the resend
     * timer: a causal layer that holds back is not hurried) */
    p->rx_held = true;
    p->rx_hole = false;
    return 0;
  }
  p->rx_cum = lseq;
  p->rx_hole = p->rx_held = false;
  p->st_data = true;
  p->used_ns = n->now.mono_ns;
  if (rv == 0) {
    p->delivered_from++;
    return 0;
  }
  /* Malformed or unacceptable for good: acknowledged and dropped, so the
   * stream goes on (resending it would fail the same way forever). */
  char t[160] = "causal: dropped a message from ";
  p2pc_str_cat(t, sizeof t, p->id);
  p2pc_str_cat(t, sizeof t, ": ");
  p2pc_str_cat(t, sizeof t, p2pc_strerror(rv));
  p2pc__node_log(n, P2PC_LOG_WARN, t);
  return 0;
}

void p2pc__node_stream_ack(p2pc_node *n, peer *p, uint64_t cum,
                           uint64_t beyond) {
  if (cum >= p->tx_next || cum < p->tx_acked)
    return;
  /* Frames arrived past a hole: send again from the hole at once (fast
   * retransmit), once per hole, rather than wait for the resend timer. */
  if (beyond && cum < p->tx_written &&
      (p->fast_for != cum + 1 ||
       n->now.mono_ns - p->fast_at_ns >= n->cfg.resend_ns / 10)) {
    /* again for the same hole only after a while: the resent frame may
     * itself be lost, but a burst of acks must not trigger a burst */
    p->fast_for = cum + 1;
    p->fast_at_ns = n->now.mono_ns;
    p->tx_written = cum;
  }
  if (cum == p->tx_acked)
    return;
  uint32_t k = 0;
  while (k < p->qn && txq_at(p, k)->lseq <= cum) {
    p->qbytes -= txq_at(p, k)->len;
    n->a->free(txq_at(p, k)->frame, n->a->ud);
    k++;
  }
  p->qhead = (p->qhead + k) & (p->qcap - 1); /* no shift: a ring */
  p->qn -= k;
  p->tx_acked = cum;
  if (p->tx_written < cum)
    p->tx_written = cum;
  p->last_progress_ns = n->now.mono_ns;
  /* Back-pressure eased: with half the room free a sender blocked on
   * this peer can go on (a margin, so it does not flap at the limit). */
  if (p->blocked && p->qn <= n->cfg.max_unacked / 2 &&
      p->qbytes <= n->cfg.max_unacked_bytes / 2)
    p2pc__node_ev_writable(n, p);
}
