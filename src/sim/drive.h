/* SPDX-License-Identifier: MIT */
/*
 * The driver of in-memory nodes: what a runtime does for a node (the core's
 * src/core/net/node.h) when its sockets are memory and its clocks are
 * virtual. One driver, shared by the simulator (harness.c, netmodel.c),
 * the node unit tests' harness (tests/unit/node_harness.c) and the clock
 * fuzzer (fuzz/fuzz_timesync.c). The libuv binding (src/uv) is the driver
 * on real sockets and clocks, and stays apart.
 *
 * Two layers:
 *
 *   A node's port (p2pc_drive_actions .. p2pc_drive_datagram_in): one
 *   node's actions (DIAL, CLOSE), link output and datagrams, taken out and
 *   handed to the caller's network, and a datagram handed in; the clocks
 *   are the caller's. The simulator uses this layer only: its event heap
 *   and network model decide when and whether things arrive.
 *
 *   An instant network (p2pc_drive_net): up to P2PC_DRIVE_MAX_NODES nodes,
 *   node i at 127.0.0.(i+1):9000; connections that carry bytes at once,
 *   both ways, closed from either end (a CLOSE, or a node gone); a DIAL
 *   resolved by address to a node; each datagram's fate decided by the
 *   caller (deliver now, hold to deliver later, drop; a duplicate or a
 *   corrupted copy is a held one delivered twice or changed); due
 *   deadlines; a bounded pump until quiet. The unit tests' harness and
 *   the fuzzer use this layer, each with its own hooks.
 *
 * Not in the core: the network is the caller's memory and the allocator
 * is malloc (this is p2pc_sim, which depends only on the core).
 */
#ifndef P2PC_DRIVE_H
#define P2PC_DRIVE_H

#include "node.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- a node's port ------------------------------------------------------ */

/* How the driver reads node i's clocks: the caller's clock model. */
typedef struct p2pc_drive_clock {
  /* Node i's clocks now, as an entry point takes them. */
  p2pc_now (*now)(void *ud, uint32_t i);
  /* One reading of node i's local clock now (a transmit stamp). */
  int64_t (*local)(void *ud, uint32_t i);
  void *ud;
} p2pc_drive_clock;

/* Where node i's output goes: the caller's network. */
typedef struct p2pc_drive_port {
  p2pc_drive_clock clock;
  /* A DIAL: the caller connects (p2pc_node_link_new), now or later, or
   * reports the failure (p2pc_node_dial_failed). */
  void (*dial)(void *ud, uint32_t i, const p2pc_action *a);
  /* Bytes node i wrote on link l: true if the caller took them (the
   * driver then consumes them), false if l goes nowhere (they stay). */
  bool (*bytes)(void *ud, uint32_t i, p2pc_link_id l, const uint8_t *p,
                size_t len);
  /* Node i closes link l, its pending bytes already given to bytes: the
   * caller closes its end (the far end sees it close); the driver then
   * tells the node the link is closed. */
  void (*close)(void *ud, uint32_t i, p2pc_link_id l);
  void *ud;
} p2pc_drive_port;

/* Node i's actions, each to the port, until there are none. */
void p2pc_drive_actions(p2pc_node *n, uint32_t i, const p2pc_drive_port *port);
/* Every link's output of node i, to the port. */
void p2pc_drive_links(p2pc_node *n, uint32_t i, const p2pc_drive_port *port);
/* Node i's next datagram, ready to leave: popped, its transmit timestamp
 * written from one reading of the local clock, and the node told when it
 * left (kernel: the reading counts as a kernel transmit stamp). False when
 * there is none. */
bool p2pc_drive_pop_datagram(p2pc_node *n, uint32_t i,
                             const p2pc_drive_clock *c, bool kernel,
                             p2pc_datagram *d);
/* Datagram d from `from` arrives at node i, received at local time
 * *rx_local (a kernel receive stamp; NULL: a reading of the clock now). */
void p2pc_drive_datagram_in(p2pc_node *n, uint32_t i, const p2pc_drive_clock *c,
                            const p2pc_wire_addr *from, const p2pc_datagram *d,
                            const int64_t *rx_local);

/* ---- an instant network ------------------------------------------------- */

#define P2PC_DRIVE_MAX_NODES 16
#define P2PC_DRIVE_MAX_CONNS 256

/* A connection: a dialed b; la and lb are each end's link. */
typedef struct p2pc_drive_conn {
  bool up;
  uint32_t a, b;
  p2pc_link_id la, lb;
} p2pc_drive_conn;

/* What the caller decides for a datagram. */
typedef enum p2pc_drive_fate {
  P2PC_DRIVE_DELIVER, /* now, to its node */
  P2PC_DRIVE_HELD,    /* the caller keeps it: p2pc_drive_net_deliver later */
  P2PC_DRIVE_DROP
} p2pc_drive_fate;

typedef struct p2pc_drive_net_ops {
  p2pc_drive_clock clock; /* required */
  /* Whether a partition cuts i from j: dials fail, bytes vanish. NULL:
   * never. */
  bool (*cut)(void *ud, uint32_t i, uint32_t j);
  /* A DIAL from node i: the caller connects (p2pc_drive_net_connect), now
   * or later, or drops it. NULL: connected at once. */
  void (*dial)(void *ud, uint32_t i, const p2pc_action *a);
  /* A datagram from node `from` to node `to` (-1: no node has its
   * address), stamped and reported sent: its fate. NULL: delivered at
   * once, or dropped if it goes nowhere or the pair is cut. */
  p2pc_drive_fate (*datagram)(void *ud, uint32_t from, int to,
                              const p2pc_datagram *d);
  /* Whether node i's transmit stamps are the kernel's. NULL: always. */
  bool (*kernel_tx)(void *ud, uint32_t i);
  void *ud;
} p2pc_drive_net_ops;

typedef struct p2pc_drive_net {
  p2pc_drive_net_ops ops;
  p2pc_node *node[P2PC_DRIVE_MAX_NODES];       /* NULL: not running */
  uint32_t nn;                                 /* every node is below this */
  p2pc_drive_conn conns[P2PC_DRIVE_MAX_CONNS]; /* never reused */
  uint32_t nc;
} p2pc_drive_net;

/* Node i's address, and the node at address a (-1: none). */
p2pc_wire_addr p2pc_drive_addr(uint32_t i);
int p2pc_drive_node_at(const p2pc_drive_net *w, const p2pc_wire_addr *a);

void p2pc_drive_net_init(p2pc_drive_net *w, const p2pc_drive_net_ops *ops);
/* Node i runs n (the caller made it, listening at p2pc_drive_addr(i)). */
void p2pc_drive_net_add(p2pc_drive_net *w, uint32_t i, p2pc_node *n);
/* Node i stops at once: every connection of it closes (the far end sees
 * it); returns its node for the caller to free. */
p2pc_node *p2pc_drive_net_remove(p2pc_drive_net *w, uint32_t i);

/* Node i's DIAL a, connected now: 0, 1 if it failed (nobody there, the
 * pair cut, no room: the node is told), or a negative error if a node
 * refused the link (it is closed again). */
int p2pc_drive_net_connect(p2pc_drive_net *w, uint32_t i, const p2pc_action *a);
/* Closes c: each end still running sees its link close. */
void p2pc_drive_net_close(p2pc_drive_net *w, p2pc_drive_conn *c);
/* The connections up. */
uint32_t p2pc_drive_net_live(const p2pc_drive_net *w);

/* Every node's actions. */
void p2pc_drive_net_actions(p2pc_drive_net *w);
/* Every connection's bytes, both ways (a connection with an end gone is
 * closed); whether any moved. */
bool p2pc_drive_net_move(p2pc_drive_net *w);
/* Every node's datagrams, each to its fate. */
void p2pc_drive_net_datagrams(p2pc_drive_net *w);
/* Datagram d from node `from` arrives at node `to` (if it runs), received
 * at its local time rx_local. */
void p2pc_drive_net_deliver(p2pc_drive_net *w, uint32_t to, uint32_t from,
                            const p2pc_datagram *d, int64_t rx_local);
/* on_deadline of every node whose deadline is due; with `all`, of every
 * node (a runtime may wake early: the fuzzer does so on purpose). */
void p2pc_drive_net_deadlines(p2pc_drive_net *w, bool all);
/* One turn: due deadlines, actions, bytes, actions, datagrams. */
void p2pc_drive_net_step(p2pc_drive_net *w);
/* Actions and bytes until no bytes move, at most `rounds` times: whether
 * it went quiet. */
bool p2pc_drive_net_pump(p2pc_drive_net *w, unsigned rounds);

#endif /* P2PC_DRIVE_H */
