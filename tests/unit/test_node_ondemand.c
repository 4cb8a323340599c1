/* SPDX-License-Identifier: MIT */
/*
 * Unicast to any node (ondemand.c), on the harness's in-process network
 * (node_harness.h): a send to a node that is not a neighbour opens a link
 * on demand to it and delivers; the cap on those links closes the least
 * recently used idle one and loses nothing; idle sessions are forgotten
 * past max_sessions and come back by the FRESH rule; a lookup that finds
 * nothing answers NOTFOUND for 10 s (the negative cache) and one that
 * finds the node lets the send go on (RESOLVED); a node of the active
 * view that turns us away as full is reached on demand.
 */
#include "node_harness.h"

#include "nodeint.h"

#include <stdio.h>
#include <string.h>

/* Node i's record of peer id: whether it holds one, and its info. */
static bool info_of(const net *w, int i, const char *id, p2pc_peer_info *out) {
  for (uint32_t k = 0; p2pc_node_peer_info(w->nodes[i].n, k, out); k++)
    if (strcmp(out->id, id) == 0)
      return true;
  return false;
}

static bool od_linked(const net *w, int i, const char *id) {
  p2pc_peer_info pi;
  return info_of(w, i, id, &pi) && pi.ondemand &&
         (pi.state == P2PC_PEER_UP || pi.state == P2PC_PEER_SUSPECT);
}

/* On-demand links of node i that are up. */
static int od_links(const net *w, int i) {
  p2pc_peer_info pi;
  int k = 0;
  for (uint32_t j = 0; p2pc_node_peer_info(w->nodes[i].n, j, &pi); j++)
    k += pi.ondemand &&
         (pi.state == P2PC_PEER_UP || pi.state == P2PC_PEER_SUSPECT);
  return k;
}

static int send_rv(net *w, int from, const char *to, const char *text) {
  return p2pc_node_send(w->nodes[from].n, to, (const uint8_t *)text,
                        strlen(text), now_at(w, from), NULL);
}

/* A star: N1 in the middle (room for all), leaves N2..N<last> with one
 * peer slot each, started first, then N0 (one slot, options o): N0 hears
 * of the leaves from N1's PEERS, which do not fit its table. */
/* Nodes 0..n-1 delivered nothing twice and reported nothing
 * undeliverable. */
static void assert_clean(net *w, int n) {
  for (int i = 0; i < n; i++) {
    assert_no_duplicates(&w->nodes[i]);
    assert_int_equal(w->nodes[i].undeliverable, 0);
  }
}

static void star(net *w, int last, const p2pc_node_config *o) {
  start_node(w, 1, &(opts){.base = {.max_peers = 8}});
  for (int i = 2; i <= last; i++)
    start_node(w, i, &(opts){.seeds = "1", .base = {.max_peers = 1}});
  run(w, 500);
  opts z = {.seeds = "1", .base = *o};
  z.base.max_peers = 1;
  start_node(w, 0, &z);
  run(w, 500);
  assert_true(linked(w, 0, "N1"));
  for (int i = 2; i <= last; i++)
    assert_true(linked(w, i, "N1"));
}

/* A send to a node that is not a neighbour, whose record N0 heard of:
 * a link on demand opens (ON_DEMAND in both HELLOs: the full N2 takes
 * it), the message is delivered, the answer goes back on the same link,
 * and neither side reports a peer_up/peer_down or counts it in its
 * active view. */
static void test_send_opens_a_link_on_demand(void **state) {
  (void)state;
  net *w = net_new();
  star(w, 2, &(p2pc_node_config){0});
  int up0 = w->nodes[0].peer_up, up2 = w->nodes[2].peer_up;
  send_ok(w, 0, "N2", "hello");
  run(w, 300);
  assert_int_equal(count_delivered(&w->nodes[2], "N0~"), 1);
  assert_true(od_linked(w, 0, "N2"));
  assert_true(od_linked(w, 2, "N0"));
  send_ok(w, 2, "N0", "back");
  run(w, 300);
  assert_int_equal(count_delivered(&w->nodes[0], "N2~"), 1);
  assert_int_equal(w->nodes[0].peer_up, up0);
  assert_int_equal(w->nodes[2].peer_up, up2);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  assert_int_equal(p2pc_node_up_count(w->nodes[2].n), 1);
  /* not a neighbour for neighbour broadcasts either (nor in the
   * broadcast tree: bcast.c) */
  assert_int_equal(p2pc_node_broadcast_neighbours(w->nodes[0].n,
                                                  (const uint8_t *)"b", 1,
                                                  now_at(w, 0), NULL),
                   1);
  run(w, 300);
  assert_int_equal(count_delivered(&w->nodes[2], "N0~"), 1);
  /* idle for ondemand_idle_ns: the link closes quietly, the session
   * stays, and the next send dials again */
  run(w, 61000);
  assert_false(od_linked(w, 0, "N2"));
  assert_false(od_linked(w, 2, "N0"));
  assert_int_equal(w->nodes[0].peer_down, 0);
  assert_int_equal(w->nodes[2].peer_down, 0);
  send_ok(w, 0, "N2", "again");
  run(w, 300);
  assert_int_equal(count_delivered(&w->nodes[2], "N0~"), 2);
  assert_clean(w, 3);
  net_free(w);
}

/* max_ondemand 1: a send to a second node closes the first, idle, link;
 * sends to both in a burst wait for each other's link to be idle, and
 * every message arrives exactly once. */
static void test_cap_closes_least_recently_used(void **state) {
  (void)state;
  net *w = net_new();
  star(w, 4, &(p2pc_node_config){.max_ondemand = 1});
  send_ok(w, 0, "N2", "a1");
  run(w, 300);
  assert_true(od_linked(w, 0, "N2"));
  send_ok(w, 0, "N3", "b1");
  run(w, 300);
  assert_false(od_linked(w, 0, "N2"));
  assert_true(od_linked(w, 0, "N3"));
  assert_int_equal(count_delivered(&w->nodes[3], "N0~"), 1);
  char m[16];
  for (int k = 0; k < 10; k++) {
    snprintf(m, sizeof m, "x%d", k);
    send_ok(w, 0, k % 3 == 0 ? "N2" : k % 3 == 1 ? "N3" : "N4", m);
  }
  for (int t = 0; t < 100 && od_links(w, 0) <= 1; t++) {
    run(w, 50);
    if (count_delivered(&w->nodes[2], "N0~") == 5 &&
        count_delivered(&w->nodes[3], "N0~") == 4 &&
        count_delivered(&w->nodes[4], "N0~") == 3)
      break;
  }
  assert_true(od_links(w, 0) <= 1);
  assert_int_equal(count_delivered(&w->nodes[2], "N0~"), 5);
  assert_int_equal(count_delivered(&w->nodes[3], "N0~"), 4);
  assert_int_equal(count_delivered(&w->nodes[4], "N0~"), 3);
  assert_clean(w, 5);
  net_free(w);
}

/* max_sessions 1: an idle session is forgotten for a new one; a busy one
 * is not (FULL); a forgotten one starts again (FRESH) with nothing lost
 * or delivered twice, though N2 still held it. */
static void test_idle_sessions_are_evicted(void **state) {
  (void)state;
  net *w = net_new();
  star(w, 3,
       &(p2pc_node_config){.max_sessions = 1, .ondemand_idle_ns = 1000 * MS});
  send_ok(w, 0, "N2", "a");
  run(w, 3000); /* delivered, reported, then idle: closed */
  assert_false(od_linked(w, 0, "N2"));
  p2pc_peer_info pi;
  assert_true(info_of(w, 0, "N2", &pi));
  send_ok(w, 0, "N3", "b");
  assert_false(info_of(w, 0, "N2", &pi)); /* forgotten */
  assert_true(info_of(w, 0, "N3", &pi));
  /* N3's link is up with "b" unacknowledged: nothing to evict */
  assert_int_equal(send_rv(w, 0, "N2", "c"), P2PC_ERR_FULL);
  run(w, 3000);
  send_ok(w, 0, "N2", "c");
  assert_false(info_of(w, 0, "N3", &pi));
  run(w, 500);
  assert_int_equal(count_delivered(&w->nodes[2], "N0~"), 2);
  assert_int_equal(count_delivered(&w->nodes[3], "N0~"), 1);
  assert_true(p2pc_node_peer_count(w->nodes[0].n) <= 2);
  /* N2 answers on its session, which it kept */
  send_ok(w, 2, "N0", "d");
  run(w, 500);
  assert_int_equal(count_delivered(&w->nodes[0], "N2~"), 1);
  assert_clean(w, 4);
  net_free(w);
}

/* A session outside the active view, idle past the causal lifetime and
 * its settling, is forgotten (no max_sessions pressure; N0's Δ is 5 s):
 * records do not pile up one per node ever sent to. The next send starts
 * afresh and delivers exactly once. */
static void test_idle_sessions_are_forgotten(void **state) {
  (void)state;
  net *w = net_new();
  p2pc_node_config cfg = {.ondemand_idle_ns = 1000 * MS};
  cfg.causal.lifetime_ns = 5000 * MS;
  star(w, 2, &cfg);
  send_ok(w, 0, "N2", "a");
  run(w, 3000); /* delivered, reported, then idle: closed */
  assert_false(od_linked(w, 0, "N2"));
  p2pc_peer_info pi;
  assert_true(info_of(w, 0, "N2", &pi));
  assert_true(info_of(w, 2, "N0", &pi));
  run(w, 3000); /* 6 s after: not yet past 5 s + settling (2.25 s) */
  assert_true(info_of(w, 0, "N2", &pi));
  run(w, 2000);
  assert_false(info_of(w, 0, "N2", &pi));
  assert_true(info_of(w, 2, "N0", &pi)); /* N2's Δ is the default 60 s */
  assert_true(info_of(w, 0, "N1", &pi)); /* the neighbour stays */
  send_ok(w, 0, "N2", "b");
  run(w, 500);
  assert_int_equal(count_delivered(&w->nodes[2], "N0~"), 2);
  assert_clean(w, 3);
  net_free(w);
}

/* An ID nobody knows: the lookup starts (AGAIN), finds nothing (RESOLVED
 * ok=false), and for 10 s sends answer NOTFOUND with no new lookup (the
 * negative cache); then one again. A lookup that finds
 * the node (the DHT's p2pc__node_resolved, called here as it would be)
 * lifts the negative answer: RESOLVED ok=true, and the send goes on. */
static void test_notfound_then_resolved(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 1, &(opts){.base = {.max_peers = 8}});
  start_node(w, 3, &(opts){.seeds = "1", .base = {.max_peers = 1}});
  start_node(w, 0, &(opts){.seeds = "1", .base = {.max_peers = 1}});
  run(w, 500); /* N0 and N3 both joined N1 at once: N0 has no record */
  netnode *x = &w->nodes[0];
  assert_int_equal(send_rv(w, 0, "N9", "?"), P2PC_ERR_AGAIN);
  run(w, 2000);
  assert_int_equal(x->resolved_fail, 1);
  assert_int_equal(send_rv(w, 0, "N9", "?"), P2PC_ERR_NOTFOUND);
  run(w, 5000);
  assert_int_equal(send_rv(w, 0, "N9", "?"), P2PC_ERR_NOTFOUND);
  assert_int_equal(x->resolved_fail, 1); /* cached */
  run(w, 5100);
  assert_int_equal(send_rv(w, 0, "N9", "?"), P2PC_ERR_AGAIN);
  run(w, 2000);
  assert_int_equal(x->resolved_fail, 2); /* looked up again */
  assert_false(linked(w, 0, "N3"));
  int fails = x->resolved_fail;
  p2pc_wire_record rec;
  memset(&rec, 0, sizeof rec);
  strcpy(rec.id, "N3");
  rec.incarnation = w->nodes[3].inc;
  rec.addr = p2pc_drive_addr(3);
  p2pc__node_resolved(x->n, "N3", &rec);
  assert_int_equal(x->resolved_ok, 1);
  assert_int_equal(x->resolved_fail, fails);
  send_ok(w, 0, "N3", "found");
  run(w, 300);
  assert_int_equal(count_delivered(&w->nodes[3], "N0~"), 1);
  assert_true(od_linked(w, 0, "N3"));
  net_free(w);
}

/* N1 with one slot, taken by N2 (its active view is full). */
static void full_pair(net *w) {
  start_node(w, 1, &(opts){.base = {.max_peers = 1}});
  start_node(w, 2, &(opts){.seeds = "1", .base = {.max_peers = 1}});
  run(w, 500);
  assert_true(linked(w, 1, "N2"));
}

/* full_pair, then a fake peer X dials N1 with a HELLO saying ON_DEMAND. */
static net *full_pair_and_x(p2pc_link_id *l) {
  net *w = net_new();
  full_pair(w);
  p2pc_wire_hello h = {.version = P2PC_WIRE_VERSION,
                       .flags = P2PC_HELLO_FRESH | P2PC_HELLO_ON_DEMAND,
                       .incarnation = 5,
                       .listen = p2pc_drive_addr(9)};
  strcpy(h.id, "X");
  fake_hello(w, 1, &h, l);
  return w;
}

/* A HELLO with ON_DEMAND from a node outside the full active view is
 * taken, and answered with ON_DEMAND; without it, refused as full. */
static void test_full_node_takes_on_demand_hello(void **state) {
  (void)state;
  p2pc_link_id l;
  net *w = full_pair_and_x(&l);
  const uint8_t *out;
  size_t len;
  p2pc_node_link_output(w->nodes[1].n, l, &out, &len);
  p2pc_frame f;
  assert_true(p2pc_wire_frame_split(out, len, 1 << 20, &f) > 0);
  assert_int_equal(f.type, P2PC_FRAME_HELLO);
  p2pc_wire_hello got;
  assert_true(p2pc_wire_hello_get(f.body, f.body_len, &got) > 0);
  assert_true(got.flags & P2PC_HELLO_ON_DEMAND);
  assert_true(od_linked(w, 1, "X"));
  assert_true(linked(w, 1, "N2"));
  assert_int_equal(p2pc_node_up_count(w->nodes[1].n), 1);
  /* the same without the flag: "peer table full" */
  p2pc_link_id l2;
  fake_link(w, 1, &l2);
  p2pc_buf b;
  p2pc_buf_init(&b, p2pc_allocator_default(), 4096);
  p2pc_wire_hello h = {.version = P2PC_WIRE_VERSION,
                       .flags = P2PC_HELLO_FRESH,
                       .incarnation = 5,
                       .listen = p2pc_drive_addr(9)};
  strcpy(h.id, "Y");
  long at = p2pc_wire_frame_begin(&b, P2PC_FRAME_HELLO);
  assert_int_equal(p2pc_wire_hello_put(&b, &h), 0);
  assert_int_equal(p2pc_wire_frame_end(&b, at, 1 << 20), 0);
  assert_int_equal(
      p2pc_node_link_input(w->nodes[1].n, l2, b.data, b.len, now_at(w, 1)),
      P2PC_ERR_FULL);
  assert_true(closed_with(w, 1, l2, "peer table full"));
  p2pc_buf_fini(&b);
  net_free(w);
}

/* An on-demand link is idle most of its life: its heartbeat, the STABLE
 * report alone, goes every stable_idle (2 s), not every heartbeat (500
 * ms). (A silent peer is SWIM's to find: unanswered probes take it down
 * within 3 s, before any link timer.) */
static void test_on_demand_link_beats_slowly(void **state) {
  (void)state;
  p2pc_link_id l;
  net *w = full_pair_and_x(&l);
  assert_true(od_linked(w, 1, "X"));
  seen s;
  look(w, 1, l, &s); /* the HELLO answer and what came with it */
  /* 10 s: X reports every second and answers the probes */
  int stables = 0, announces = 0;
  for (int k = 1; k <= 100; k++) {
    run(w, 100);
    look(w, 1, l, &s);
    stables += s.stables;
    announces += s.announces;
    if (s.pings)
      fake_pong(w, 1, l, s.ping_token);
    if (k % 10 == 0)
      fake_stable(w, 1, l, 0, 0);
  }
  assert_in_range(stables, 4, 6); /* 20 at the active view's pace */
  assert_int_equal(announces, 0);
  assert_true(od_linked(w, 1, "X"));
  assert_int_equal(w->nodes[1].peer_down, 0);
  assert_true(linked(w, 1, "N2"));
  net_free(w);
}

/* A record in N0's active view (from N1's PEERS: N0 has room) whose node
 * N2 is full and turns N0's HELLO away (ERROR 5, no JOIN: N0 is not short
 * of links). A message sent to it must not wait there for good: N2 will
 * stay full while its links hold. The next refusal moves the record out of
 * the active view, the dial says ON_DEMAND, the full N2 takes it, and the
 * message is delivered (found by the simulator: anycast200, MISSING). */
static void test_refused_peer_reached_on_demand(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 1, &(opts){.base = {.max_peers = 8}});
  start_node(w, 2, &(opts){.seeds = "1", .base = {.max_peers = 1}});
  run(w, 500);
  start_node(w, 0, &(opts){.seeds = "1", .base = {.max_peers = 2}});
  run(w, 3000);
  assert_true(linked(w, 0, "N1"));
  assert_true(linked(w, 2, "N1"));
  assert_false(linked(w, 0, "N2"));
  /* N2 is known to N0 (its passive view, or a promoted record it dials
   * and N2 refuses), never linked in the active view. */
  p2pc_peer_info pi;
  if (info_of(w, 0, "N2", &pi))
    assert_true(pi.state != P2PC_PEER_UP && pi.state != P2PC_PEER_SUSPECT);
  send_ok(w, 0, "N2", "to a full node");
  for (int t = 0; t < 300 && !count_delivered(&w->nodes[2], "N0~"); t++)
    run(w, 100);
  assert_int_equal(count_delivered(&w->nodes[2], "N0~"), 1);
  assert_true(linked(w, 2, "N1")); /* N2 kept its neighbour */
  assert_int_equal(p2pc_node_up_count(w->nodes[2].n), 1);
  assert_true(info_of(w, 0, "N2", &pi));
  assert_true(pi.ondemand);
  /* and the answer comes back */
  send_ok(w, 2, "N0", "back");
  run(w, 500);
  assert_int_equal(count_delivered(&w->nodes[0], "N2~"), 1);
  assert_clean(w, 3);
  net_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_send_opens_a_link_on_demand),
      cmocka_unit_test(test_cap_closes_least_recently_used),
      cmocka_unit_test(test_idle_sessions_are_evicted),
      cmocka_unit_test(test_idle_sessions_are_forgotten),
      cmocka_unit_test(test_notfound_then_resolved),
      cmocka_unit_test(test_full_node_takes_on_demand_hello),
      cmocka_unit_test(test_on_demand_link_beats_slowly),
      cmocka_unit_test(test_refused_peer_reached_on_demand),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
