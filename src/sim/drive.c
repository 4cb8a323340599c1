/* SPDX-License-Identifier: MIT */
/* The driver of in-memory nodes: see drive.h. */
#include "drive.h"

#include "ntp.h"

#include <stdlib.h>
#include <string.h>

/* ---- a node's port ------------------------------------------------------ */

/* Link l's output to the port; consumed if the port took it. */
static void link_out(p2pc_node *n, uint32_t i, p2pc_link_id l,
                     const p2pc_drive_port *port) {
  const uint8_t *p;
  size_t len;
  p2pc_node_link_output(n, l, &p, &len);
  if (len && port->bytes(port->ud, i, l, p, len))
    p2pc_node_link_consume(n, l, len);
}

void p2pc_drive_actions(p2pc_node *n, uint32_t i, const p2pc_drive_port *port) {
  p2pc_action a;
  while (p2pc_node_pop_action(n, &a)) {
    if (a.kind == P2PC_ACT_DIAL) {
      port->dial(port->ud, i, &a);
      continue;
    }
    /* CLOSE: what was queued before it still goes out, then the FIN */
    link_out(n, i, a.link, port);
    port->close(port->ud, i, a.link);
    p2pc_node_link_closed(n, a.link, port->clock.now(port->clock.ud, i));
  }
}

void p2pc_drive_links(p2pc_node *n, uint32_t i, const p2pc_drive_port *port) {
  /* Only the links with output: the same visits, in the same order, as
   * every link in [0, span) asked for its output. */
  for (p2pc_link_id l = p2pc_node_next_output_link(n, 0); l != UINT32_MAX;
       l = p2pc_node_next_output_link(n, l + 1))
    link_out(n, i, l, port);
}

bool p2pc_drive_pop_datagram(p2pc_node *n, uint32_t i,
                             const p2pc_drive_clock *c, bool kernel,
                             p2pc_datagram *d) {
  if (!p2pc_node_pop_datagram(n, d))
    return false;
  int64_t tx = c->local(c->ud, i);
  if (d->stamp_xmt) {
    uint64_t v = p2pc_ntp_ts_from_ns(tx + d->xmt_corr);
    for (int k = 0; k < 8; k++)
      d->data[P2PC_NTP_XMT_OFFSET + k] = (uint8_t)(v >> (56 - 8 * k));
  }
  if (d->token)
    p2pc_node_time_sent(n, d->token, tx, kernel, c->now(c->ud, i));
  return true;
}

void p2pc_drive_datagram_in(p2pc_node *n, uint32_t i, const p2pc_drive_clock *c,
                            const p2pc_wire_addr *from, const p2pc_datagram *d,
                            const int64_t *rx_local) {
  /* The entry point's clocks first, then the receive stamp: with read
   * noise each reading draws a number, and the simulator's runs are
   * reproduced only in this order. */
  p2pc_now now = c->now(c->ud, i);
  int64_t rx = rx_local ? *rx_local : c->local(c->ud, i);
  p2pc_node_time_input(n, from, d->data, d->len, rx, true, now);
}

/* ---- an instant network ------------------------------------------------- */

p2pc_wire_addr p2pc_drive_addr(uint32_t i) {
  p2pc_wire_addr a = {
      .family = 4, .addr = {127, 0, 0, (uint8_t)(i + 1)}, .port = 9000};
  return a;
}

int p2pc_drive_node_at(const p2pc_drive_net *w, const p2pc_wire_addr *a) {
  if (a->family != 4 || a->addr[0] != 127 || a->addr[1] != 0 ||
      a->addr[2] != 0 || a->port != 9000)
    return -1;
  int i = a->addr[3] - 1;
  return i >= 0 && (uint32_t)i < w->nn ? i : -1;
}

void p2pc_drive_net_init(p2pc_drive_net *w, const p2pc_drive_net_ops *ops) {
  memset(w, 0, sizeof *w);
  w->ops = *ops;
}

void p2pc_drive_net_add(p2pc_drive_net *w, uint32_t i, p2pc_node *n) {
  if (i >= P2PC_DRIVE_MAX_NODES)
    abort(); /* the caller's bug: its nodes are numbered below the bound */
  w->node[i] = n;
  if (i >= w->nn)
    w->nn = i + 1;
}

static bool is_cut(const p2pc_drive_net *w, uint32_t i, uint32_t j) {
  return w->ops.cut && w->ops.cut(w->ops.ud, i, j);
}

static p2pc_now now_of(const p2pc_drive_net *w, uint32_t i) {
  return w->ops.clock.now(w->ops.clock.ud, i);
}

void p2pc_drive_net_close(p2pc_drive_net *w, p2pc_drive_conn *c) {
  if (!c->up)
    return;
  c->up = false;
  if (w->node[c->a])
    p2pc_node_link_closed(w->node[c->a], c->la, now_of(w, c->a));
  if (w->node[c->b])
    p2pc_node_link_closed(w->node[c->b], c->lb, now_of(w, c->b));
}

p2pc_node *p2pc_drive_net_remove(p2pc_drive_net *w, uint32_t i) {
  p2pc_node *n = w->node[i];
  w->node[i] = NULL;
  for (uint32_t k = 0; k < w->nc; k++)
    if (w->conns[k].up && (w->conns[k].a == i || w->conns[k].b == i))
      p2pc_drive_net_close(w, &w->conns[k]);
  return n;
}

uint32_t p2pc_drive_net_live(const p2pc_drive_net *w) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < w->nc; i++)
    k += w->conns[i].up;
  return k;
}

int p2pc_drive_net_connect(p2pc_drive_net *w, uint32_t i,
                           const p2pc_action *a) {
  p2pc_node *n = w->node[i];
  int t = p2pc_drive_node_at(w, &a->addr);
  if (t < 0 || !w->node[t] || is_cut(w, i, (uint32_t)t) ||
      w->nc == P2PC_DRIVE_MAX_CONNS) {
    p2pc_node_dial_failed(n, &a->addr, a->peer, now_of(w, i));
    return 1;
  }
  p2pc_drive_conn *c = &w->conns[w->nc];
  c->a = i;
  c->b = (uint32_t)t;
  int rv = p2pc_node_link_new(n, true, a->peer, &a->addr, now_of(w, i), &c->la);
  if (rv) {
    p2pc_node_dial_failed(n, &a->addr, a->peer, now_of(w, i));
    return rv;
  }
  w->nc++;
  c->up = true;
  rv = p2pc_node_link_new(w->node[t], false, NULL, NULL, now_of(w, c->b),
                          &c->lb);
  if (rv) { /* the far end refuses: the dialer sees it close */
    c->up = false;
    p2pc_node_link_closed(n, c->la, now_of(w, i));
  }
  return rv;
}

/* The up connection of node i's link l, or NULL. */
static p2pc_drive_conn *conn_of(p2pc_drive_net *w, uint32_t i, p2pc_link_id l) {
  for (uint32_t k = 0; k < w->nc; k++) {
    p2pc_drive_conn *c = &w->conns[k];
    if (c->up && ((c->a == i && c->la == l) || (c->b == i && c->lb == l)))
      return c;
  }
  return NULL;
}

/* The instant network as a port: bytes arrive at once, unless cut. */
static bool net_bytes(void *ud, uint32_t i, p2pc_link_id l, const uint8_t *p,
                      size_t len) {
  p2pc_drive_net *w = ud;
  p2pc_drive_conn *c = conn_of(w, i, l);
  if (!c)
    return false;
  bool a_side = c->a == i && c->la == l;
  uint32_t o = a_side ? c->b : c->a;
  if (w->node[o] && !is_cut(w, i, o))
    p2pc_node_link_input(w->node[o], a_side ? c->lb : c->la, p, len,
                         now_of(w, o));
  return true;
}

/* The far end sees the link close; the driver closes i's own. */
static void net_close(void *ud, uint32_t i, p2pc_link_id l) {
  p2pc_drive_net *w = ud;
  p2pc_drive_conn *c = conn_of(w, i, l);
  if (!c)
    return;
  c->up = false;
  bool a_side = c->a == i && c->la == l;
  uint32_t o = a_side ? c->b : c->a;
  if (w->node[o])
    p2pc_node_link_closed(w->node[o], a_side ? c->lb : c->la, now_of(w, o));
}

static void net_dial(void *ud, uint32_t i, const p2pc_action *a) {
  p2pc_drive_net *w = ud;
  if (w->ops.dial)
    w->ops.dial(w->ops.ud, i, a);
  else
    (void)p2pc_drive_net_connect(w, i, a);
}

void p2pc_drive_net_actions(p2pc_drive_net *w) {
  p2pc_drive_port port = {.clock = w->ops.clock,
                          .dial = net_dial,
                          .bytes = net_bytes,
                          .close = net_close,
                          .ud = w};
  for (uint32_t i = 0; i < w->nn; i++)
    if (w->node[i])
      p2pc_drive_actions(w->node[i], i, &port);
}

/* Bytes from one end to the other; whether any moved. A copy: the far
 * end's callbacks may make the near end write more (moving its buffer). */
static bool move_bytes(p2pc_drive_net *w, uint32_t from, p2pc_link_id lf,
                       uint32_t to, p2pc_link_id lt) {
  const uint8_t *p;
  size_t len;
  p2pc_node_link_output(w->node[from], lf, &p, &len);
  if (!len)
    return false;
  uint8_t *copy = malloc(len);
  if (!copy)
    abort();
  memcpy(copy, p, len);
  p2pc_node_link_consume(w->node[from], lf, len);
  if (!is_cut(w, from, to))
    p2pc_node_link_input(w->node[to], lt, copy, len, now_of(w, to));
  free(copy);
  return true;
}

bool p2pc_drive_net_move(p2pc_drive_net *w) {
  bool moved = false;
  for (uint32_t k = 0; k < w->nc; k++) {
    p2pc_drive_conn *c = &w->conns[k];
    if (!c->up)
      continue;
    if (!w->node[c->a] || !w->node[c->b]) {
      p2pc_drive_net_close(w, c);
      continue;
    }
    moved |= move_bytes(w, c->a, c->la, c->b, c->lb);
    moved |= move_bytes(w, c->b, c->lb, c->a, c->la);
  }
  return moved;
}

void p2pc_drive_net_deliver(p2pc_drive_net *w, uint32_t to, uint32_t from,
                            const p2pc_datagram *d, int64_t rx_local) {
  if (to >= w->nn || !w->node[to])
    return;
  p2pc_wire_addr src = p2pc_drive_addr(from);
  p2pc_drive_datagram_in(w->node[to], to, &w->ops.clock, &src, d, &rx_local);
}

void p2pc_drive_net_datagrams(p2pc_drive_net *w) {
  const p2pc_drive_clock *c = &w->ops.clock;
  for (uint32_t i = 0; i < w->nn; i++) {
    p2pc_datagram d;
    while (w->node[i] &&
           p2pc_drive_pop_datagram(
               w->node[i], i, c,
               w->ops.kernel_tx ? w->ops.kernel_tx(w->ops.ud, i) : true, &d)) {
      int t = p2pc_drive_node_at(w, &d.to);
      p2pc_drive_fate f = w->ops.datagram ? w->ops.datagram(w->ops.ud, i, t, &d)
                          : t >= 0 && !is_cut(w, i, (uint32_t)t)
                              ? P2PC_DRIVE_DELIVER
                              : P2PC_DRIVE_DROP;
      if (f == P2PC_DRIVE_DELIVER && t >= 0)
        p2pc_drive_net_deliver(w, (uint32_t)t, i, &d,
                               c->local(c->ud, (uint32_t)t));
    }
  }
}

void p2pc_drive_net_deadlines(p2pc_drive_net *w, bool all) {
  for (uint32_t i = 0; i < w->nn; i++)
    if (w->node[i] &&
        (all || p2pc_node_next_deadline(w->node[i]) <= now_of(w, i).mono_ns))
      p2pc_node_on_deadline(w->node[i], now_of(w, i));
}

void p2pc_drive_net_step(p2pc_drive_net *w) {
  p2pc_drive_net_deadlines(w, false);
  p2pc_drive_net_actions(w);
  p2pc_drive_net_move(w);
  p2pc_drive_net_actions(w);
  p2pc_drive_net_datagrams(w);
}

bool p2pc_drive_net_pump(p2pc_drive_net *w, unsigned rounds) {
  for (unsigned r = 0; r < rounds; r++) {
    p2pc_drive_net_actions(w);
    if (!p2pc_drive_net_move(w))
      return true;
  }
  p2pc_drive_net_actions(w);
  return false;
}
