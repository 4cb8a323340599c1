/* SPDX-License-Identifier: MIT */
/*
 * The driver of in-memory nodes (src/sim/drive.h) on its own: a DIAL
 * resolved by address becomes a connection, the pump carries the
 * handshake until quiet, a message crosses, a CLOSE is seen at both ends;
 * a dial to nobody fails; each datagram goes to the fate hook, and one
 * held and delivered later is answered; a port that refuses bytes leaves
 * them with the node; the driver asks only the links with output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drive.h"

#define MS 1000000ull

typedef struct world {
  p2pc_drive_net d;
  uint64_t now;
  int delivered[2], up[2], down[2];
  int dgrams, dropped;
  p2pc_datagram held;
  uint32_t held_from;
  int nheld;
} world;

static p2pc_now hook_now(void *ud, uint32_t i) {
  const world *w = ud;
  p2pc_now t = {w->now, 1700000000000000000 + (int64_t)w->now + (int64_t)i};
  return t;
}

static int64_t hook_local(void *ud, uint32_t i) {
  return hook_now(ud, i).local_ns;
}

/* The first datagram is held, every later one dropped. */
static p2pc_drive_fate hook_datagram(void *ud, uint32_t from, int to,
                                     const p2pc_datagram *d) {
  world *w = ud;
  w->dgrams++;
  assert_true(to == 0 || to == 1);
  if (w->nheld == 0) {
    w->held = *d;
    w->held_from = from;
    w->nheld++;
    return P2PC_DRIVE_HELD;
  }
  w->dropped++;
  return P2PC_DRIVE_DROP;
}

typedef struct tag {
  world *w;
  int i;
} tag;

static void on_event(void *ud, p2pc_node *n, const p2pc_event *ev) {
  tag *t = ud;
  (void)n;
  t->w->delivered[t->i] += ev->type == P2PC_EVENT_DELIVERED;
  t->w->up[t->i] += ev->type == P2PC_EVENT_PEER_UP;
  t->w->down[t->i] += ev->type == P2PC_EVENT_PEER_DOWN;
}

static void start(world *w, tag *t, uint32_t i) {
  p2pc_node_config c;
  memset(&c, 0, sizeof c);
  c.id = i ? "b" : "a";
  c.incarnation = 10 + i;
  c.seed = 1;
  c.listen = p2pc_drive_addr(i);
  c.time.priority = (uint8_t)(i * 100);
  t->w = w;
  t->i = (int)i;
  p2pc_node_callbacks cb = {.typed = on_event, .ud = t};
  p2pc_node *n;
  assert_int_equal(p2pc_node_new(&n, &c, &cb, hook_now(w, i)), 0);
  p2pc_drive_net_add(&w->d, i, n);
}

static void open_world(world *w, tag t[2]) {
  memset(w, 0, sizeof *w);
  w->now = 1000 * MS;
  p2pc_drive_net_ops ops = {
      .clock = {hook_now, hook_local, w}, .datagram = hook_datagram, .ud = w};
  p2pc_drive_net_init(&w->d, &ops);
  start(w, &t[0], 0);
  start(w, &t[1], 1);
}

static void close_world(world *w) {
  for (uint32_t i = 0; i < 2; i++)
    p2pc_node_free(p2pc_drive_net_remove(&w->d, i));
}

static void test_link_message_close(void **state) {
  (void)state;
  world w;
  tag t[2];
  open_world(&w, t);
  p2pc_action dial = {.kind = P2PC_ACT_DIAL, .addr = p2pc_drive_addr(1)};
  assert_int_equal(p2pc_drive_net_connect(&w.d, 0, &dial), 0);
  assert_true(p2pc_drive_net_pump(&w.d, 20));
  assert_int_equal(p2pc_drive_net_live(&w.d), 1);
  assert_int_equal(w.up[0], 1);
  assert_int_equal(w.up[1], 1);
  assert_int_equal(p2pc_node_send(w.d.node[0], "b", (const uint8_t *)"hi", 2,
                                  hook_now(&w, 0), NULL),
                   0);
  assert_true(p2pc_drive_net_pump(&w.d, 20));
  assert_int_equal(w.delivered[1], 1);
  /* b takes garbage on its link and closes it: a sees the link close */
  static const uint8_t junk[16] = {0xff, 0xff, 0xff, 0xff};
  assert_true(p2pc_node_link_input(w.d.node[1], w.d.conns[0].lb, junk,
                                   sizeof junk, hook_now(&w, 1)) < 0);
  assert_true(p2pc_drive_net_pump(&w.d, 20));
  assert_int_equal(p2pc_drive_net_live(&w.d), 0);
  assert_int_equal(w.down[0], 1);
  assert_int_equal(w.down[1], 1);
  /* nobody listens at 127.0.0.9: the dial fails, no connection */
  p2pc_action nowhere = {.kind = P2PC_ACT_DIAL, .addr = p2pc_drive_addr(8)};
  assert_int_equal(p2pc_drive_net_connect(&w.d, 1, &nowhere), 1);
  assert_int_equal(w.d.nc, 1);
  close_world(&w);
}

static void test_datagram_fate(void **state) {
  (void)state;
  world w;
  tag t[2];
  open_world(&w, t);
  p2pc_action dial = {.kind = P2PC_ACT_DIAL, .addr = p2pc_drive_addr(1)};
  assert_int_equal(p2pc_drive_net_connect(&w.d, 0, &dial), 0);
  for (int k = 0; k < 3000 && w.nheld == 0; k++) {
    w.now += MS;
    p2pc_drive_net_step(&w.d);
  }
  assert_int_equal(w.nheld, 1);
  assert_int_equal(w.dgrams, 1);
  /* the held request, delivered late: the server answers (to the hook) */
  uint32_t to = 1 - w.held_from;
  w.now += MS;
  p2pc_drive_net_deliver(&w.d, to, w.held_from, &w.held, hook_local(&w, to));
  p2pc_drive_net_datagrams(&w.d);
  assert_true(w.dgrams >= 2);
  assert_int_equal(w.dropped, w.dgrams - 1);
  close_world(&w);
}

/* A port that takes nothing. */
static bool refuse_bytes(void *ud, uint32_t i, p2pc_link_id l, const uint8_t *p,
                         size_t len) {
  int *calls = ud;
  (void)i, (void)l, (void)p, (void)len;
  ++*calls;
  return false;
}

static void test_port_keeps_refused_bytes(void **state) {
  (void)state;
  world w;
  tag t[2];
  open_world(&w, t);
  p2pc_link_id l;
  p2pc_wire_addr b = p2pc_drive_addr(1);
  assert_int_equal(
      p2pc_node_link_new(w.d.node[0], true, "b", &b, hook_now(&w, 0), &l), 0);
  int calls = 0;
  p2pc_drive_port port = {
      .clock = w.d.ops.clock, .bytes = refuse_bytes, .ud = &calls};
  p2pc_drive_links(w.d.node[0], 0, &port);
  assert_int_equal(calls, 1); /* the HELLO */
  const uint8_t *p;
  size_t len;
  p2pc_node_link_output(w.d.node[0], l, &p, &len);
  assert_true(len > 0);
  close_world(&w);
}

/* The links with output, and only those, in id order: what the driver
 * visits instead of every link id below the span. */
static void test_next_output_link(void **state) {
  (void)state;
  world w;
  tag t[2];
  open_world(&w, t);
  p2pc_node *n = w.d.node[0];
  assert_int_equal(p2pc_node_next_output_link(n, 0), UINT32_MAX);
  p2pc_link_id l[3];
  const char *ids[3] = {"b", "c", "d"};
  for (int k = 0; k < 3; k++) {
    p2pc_wire_addr a = p2pc_drive_addr((uint32_t)k + 1);
    assert_int_equal(
        p2pc_node_link_new(n, true, ids[k], &a, hook_now(&w, 0), &l[k]), 0);
  }
  assert_true(l[0] < l[1] && l[1] < l[2]);
  const uint8_t *p;
  size_t len;
  p2pc_node_link_output(n, l[1], &p, &len); /* its HELLO taken */
  assert_true(len > 0);
  p2pc_node_link_consume(n, l[1], len);
  assert_int_equal(p2pc_node_next_output_link(n, 0), l[0]);
  assert_int_equal(p2pc_node_next_output_link(n, l[0]), l[0]);
  assert_int_equal(p2pc_node_next_output_link(n, l[0] + 1), l[2]);
  assert_int_equal(p2pc_node_next_output_link(n, l[2] + 1), UINT32_MAX);
  assert_int_equal(p2pc_node_next_output_link(n, 1000), UINT32_MAX);
  /* A refusing port leaves both with the node: asked again, both. */
  int calls = 0;
  p2pc_drive_port port = {
      .clock = w.d.ops.clock, .bytes = refuse_bytes, .ud = &calls};
  p2pc_drive_links(n, 0, &port);
  assert_int_equal(calls, 2);
  p2pc_drive_links(n, 0, &port);
  assert_int_equal(calls, 4);
  p2pc_node_link_output(n, l[0], &p, &len);
  p2pc_node_link_consume(n, l[0], len);
  p2pc_node_link_output(n, l[2], &p, &len);
  p2pc_node_link_consume(n, l[2], len);
  assert_int_equal(p2pc_node_next_output_link(n, 0), UINT32_MAX);
  p2pc_drive_links(n, 0, &port);
  assert_int_equal(calls, 4);
  close_world(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_link_message_close),
      cmocka_unit_test(test_datagram_fate),
      cmocka_unit_test(test_port_keeps_refused_bytes),
      cmocka_unit_test(test_next_output_link),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
