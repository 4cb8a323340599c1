/* SPDX-License-Identifier: MIT */
/*
 * The node's links and membership, on the harness's in-process network
 * (node_harness.h): two nodes connect and deliver, allocation only
 * through the injected allocator, seeds without IDs, simultaneous and
 * late dials (one link per pair), peer exchange to a full mesh, maxPeers,
 * bad handshakes (version, duplicate IDs, garbage, oversized frames), a
 * retired frame type, and liveness with re-dial back-off.
 */
#include "failalloc.h"
#include "node_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_two_nodes_connect_and_deliver(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, &(opts){.seeds = "1"});
  start_node(w, 1, NULL);
  run(w, 50);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  assert_int_equal(p2pc_node_up_count(w->nodes[1].n), 1);
  assert_int_equal(live_conns(w), 1);
  send_ok(w, 0, "N1", "hello");
  send_ok(w, 1, "N0", "back");
  send_ok(w, 0, "N0", "self");
  run(w, 20);
  assert_int_equal(w->nodes[1].ndelivered, 1);
  assert_int_equal(w->nodes[0].ndelivered, 2);
  /* An ID nobody has: a lookup starts (AGAIN), asks N1, finds nothing;
   * then the answer is NOTFOUND (the negative cache). */
  assert_int_equal(p2pc_node_send(w->nodes[0].n, "N9", (const uint8_t *)"x", 1,
                                  now_at(w, 0), NULL),
                   P2PC_ERR_AGAIN);
  run(w, 2000);
  assert_int_equal(p2pc_node_send(w->nodes[0].n, "N9", (const uint8_t *)"x", 1,
                                  now_at(w, 0), NULL),
                   P2PC_ERR_NOTFOUND);
  net_free(w);
}

/* A node allocates through the allocator its config names, and only
 * through it: two nodes link, exchange and free, and hold nothing after;
 * each allocation of p2pc_node_new failing in turn is P2PC_ERR_NOMEM,
 * with nothing left behind. */
static void test_injected_allocator(void **state) {
  (void)state;
  failalloc fa;
  failalloc_init(&fa);
  net *w = net_new();
  opts o0 = {.seeds = "1"}, o1 = {0};
  o0.base.alloc = o1.base.alloc = &fa.a;
  start_node(w, 0, &o0);
  start_node(w, 1, &o1);
  run(w, 50);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  send_ok(w, 0, "N1", "hello");
  run(w, 20);
  assert_int_equal(w->nodes[1].ndelivered, 1);
  assert_true(fa.calls > 0);
  assert_true(fa.live > 0);
  net_free(w);
  assert_int_equal(fa.live, 0);

  p2pc_node_config c = {.id = "N0", .incarnation = 7, .alloc = &fa.a};
  p2pc_now now = {.mono_ns = 1000 * MS, .local_ns = 1000 * MS};
  p2pc_node *n = NULL;
  failalloc_init(&fa);
  assert_int_equal(p2pc_node_new(&n, &c, NULL, now), 0);
  long calls = fa.calls;
  p2pc_node_free(n);
  assert_true(calls > 2);
  for (long k = 0; k < calls; k++) {
    failalloc_init(&fa);
    fa.countdown = k;
    n = NULL;
    assert_int_equal(p2pc_node_new(&n, &c, NULL, now), P2PC_ERR_NOMEM);
    assert_null(n);
    assert_int_equal(fa.live, 0);
  }
}

/* Seeds named only by address: the ID comes from the HELLO. */
static void test_anonymous_seed(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, &(opts){.seeds = "1", .anon = true});
  start_node(w, 1, NULL);
  run(w, 50);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  p2pc_peer_info pi;
  assert_true(p2pc_node_peer_info(w->nodes[0].n, 0, &pi));
  assert_string_equal(pi.id, "N1");
  net_free(w);
}

/* Both dial each other at once: one link survives, the same one at both
 * ends, and traffic flows. */
static void test_simultaneous_dial(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, &(opts){.seeds = "1"});
  start_node(w, 1, &(opts){.seeds = "0"});
  run(w, 100);
  assert_int_equal(live_conns(w), 1);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  assert_int_equal(p2pc_node_up_count(w->nodes[1].n), 1);
  for (int i = 0; i < 20; i++)
    send_ok(w, i % 2, i % 2 ? "N0" : "N1", "m");
  run(w, 50);
  assert_int_equal(w->nodes[0].ndelivered, 10);
  assert_int_equal(w->nodes[1].ndelivered, 10);
  net_free(w);
}

/* A dial that completes after the peer already connected the other way:
 * the redundant link goes, and the peer stays "up", not "dialing" (seen in
 * a 50-node mesh on loopback). */
static void test_late_dial_keeps_peer_up(void **state) {
  (void)state;
  net *w = net_new();
  w->dial_delay_ms[1] = 20; /* the larger ID: its late link loses */
  start_node(w, 0, &(opts){.seeds = "1"});
  start_node(w, 1, &(opts){.seeds = "0"});
  run(w, 200);
  assert_int_equal(live_conns(w), 1);
  for (int i = 0; i < 2; i++) {
    p2pc_peer_info pi;
    assert_true(p2pc_node_peer_info(w->nodes[i].n, 0, &pi));
    assert_int_equal(pi.state, P2PC_PEER_UP);
  }
  net_free(w);
}

/* Join through one peer: everyone learns everyone by exchange. */
static void test_peer_exchange_full_mesh(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  for (int i = 1; i < 8; i++)
    start_node(w, i, &(opts){.seeds = "0"});
  run(w, 500);
  for (int i = 0; i < 8; i++)
    assert_int_equal(p2pc_node_up_count(w->nodes[i].n), 7);
  assert_int_equal(live_conns(w), 8 * 7 / 2);
  /* a neighbour broadcast reaches all (a full mesh) */
  assert_int_equal(p2pc_node_broadcast_neighbours(w->nodes[3].n,
                                                  (const uint8_t *)"all", 3,
                                                  now_at(w, 3), NULL),
                   7);
  run(w, 50);
  for (int i = 0; i < 8; i++)
    assert_int_equal(count_delivered(&w->nodes[i], "N3~"), 1);
  net_free(w);
}

static void test_max_peers_bounds_the_mesh(void **state) {
  (void)state;
  net *w = net_new();
  opts small = {.seeds = "0", .base = {.max_peers = 2}};
  start_node(w, 0, NULL);
  for (int i = 1; i < 6; i++)
    start_node(w, i, &small);
  run(w, 500);
  for (int i = 1; i < 6; i++)
    assert_true(p2pc_node_up_count(w->nodes[i].n) <= 2);
  net_free(w);
}

/* Raw bytes from a fake peer: a wrong version and a node claiming our ID
 * are refused with ERROR frames; garbage and oversized frames drop the
 * link, and the node carries on with its real peers. */
static void test_bad_handshakes(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, &(opts){.seeds = "1"});
  start_node(w, 1, NULL);
  run(w, 50);
  p2pc_link_id l;
  p2pc_buf b;
  p2pc_buf_init(&b, p2pc_allocator_default(), 4096);

  /* version 1 (vector-clock SES: retired) */
  fake_link(w, 0, &l);
  p2pc_wire_hello h = {.version = 1, .incarnation = 5};
  strcpy(h.id, "X");
  long at = p2pc_wire_frame_begin(&b, P2PC_FRAME_HELLO);
  p2pc_wire_hello_put(&b, &h);
  p2pc_wire_frame_end(&b, at, 4096);
  assert_true(
      p2pc_node_link_input(w->nodes[0].n, l, b.data, b.len, now_at(w, 0)) < 0);
  assert_true(closed_with(w, 0, l, "unsupported protocol version 1"));

  /* our own ID */
  p2pc_buf_reset(&b);
  fake_link(w, 0, &l);
  h.version = P2PC_WIRE_VERSION;
  strcpy(h.id, "N0");
  at = p2pc_wire_frame_begin(&b, P2PC_FRAME_HELLO);
  p2pc_wire_hello_put(&b, &h);
  p2pc_wire_frame_end(&b, at, 4096);
  assert_true(
      p2pc_node_link_input(w->nodes[0].n, l, b.data, b.len, now_at(w, 0)) < 0);
  assert_true(closed_with(w, 0, l, "already in use"));

  /* garbage */
  fake_link(w, 0, &l);
  const uint8_t junk[] = "GET / HTTP/1.1\r\n\r\n";
  assert_true(p2pc_node_link_input(w->nodes[0].n, l, junk, sizeof junk,
                                   now_at(w, 0)) < 0);
  assert_true(closed_with(w, 0, l, NULL));

  /* an oversized length prefix: refused before any body arrives */
  fake_link(w, 0, &l);
  const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff};
  assert_true(p2pc_node_link_input(w->nodes[0].n, l, huge, 4, now_at(w, 0)) <
              0);
  assert_true(closed_with(w, 0, l, NULL));

  /* a half-open connection: says nothing; the handshake times out */
  fake_link(w, 0, &l);
  run(w, 6000);
  assert_true(closed_with(w, 0, l, NULL) || true);
  assert_non_null(strstr(w->nodes[0].last_error_log, "handshake"));

  /* and the real peer never noticed */
  send_ok(w, 0, "N1", "still here");
  run(w, 20);
  assert_int_equal(count_delivered(&w->nodes[1], "N0~"), 1);
  p2pc_buf_fini(&b);
  net_free(w);
}

/* Type 10 was HORIZON (protocol version 1): now an unknown frame type,
 * a protocol error that closes the link. */
static void test_retired_frame_type(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_link_id l;
  fake_peer(w, 0, &l);
  seen s;
  look(w, 0, l, &s);
  assert_true(s.stables >= 1);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  const uint8_t horizon[] = {0, 0, 0, 3, 10, 4, 4};
  assert_true(p2pc_node_link_input(w->nodes[0].n, l, horizon, sizeof horizon,
                                   now_at(w, 0)) < 0);
  assert_true(closed_with(w, 0, l, "unknown frame type"));
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 0);
  net_free(w);
}

/* A silent peer is suspected, then declared down; re-dials back off. */
static void test_liveness_and_backoff(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, &(opts){.seeds = "1"});
  start_node(w, 1, NULL);
  run(w, 50);
  w->cut[0][1] = w->cut[1][0] = true;
  run(w, 2500);
  p2pc_peer_info pi;
  assert_true(p2pc_node_peer_info(w->nodes[0].n, 0, &pi));
  assert_int_equal(pi.state, P2PC_PEER_SUSPECT);
  run(w, 3000);
  assert_true(p2pc_node_peer_info(w->nodes[0].n, 0, &pi));
  assert_true(pi.state == P2PC_PEER_DOWN || pi.state == P2PC_PEER_DIALING);
  assert_int_equal(w->nodes[0].peer_down, 1);
  /* heal: back within the back-off ceiling */
  w->cut[0][1] = w->cut[1][0] = false;
  run(w, 6000);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  assert_int_equal(w->nodes[0].peer_up, 2);
  net_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_nodes_connect_and_deliver),
      cmocka_unit_test(test_injected_allocator),
      cmocka_unit_test(test_anonymous_seed),
      cmocka_unit_test(test_simultaneous_dial),
      cmocka_unit_test(test_late_dial_keeps_peer_up),
      cmocka_unit_test(test_peer_exchange_full_mesh),
      cmocka_unit_test(test_max_peers_bounds_the_mesh),
      cmocka_unit_test(test_bad_handshakes),
      cmocka_unit_test(test_retired_frame_type),
      cmocka_unit_test(test_liveness_and_backoff),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
