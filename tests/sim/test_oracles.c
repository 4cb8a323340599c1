/* SPDX-License-Identifier: MIT */
/*
 * The overlay's oracles fed synthetic events (sim_unit_oracles): a small
 * simulator is made and never run; the test moves its virtual time by
 * hand, sends broadcasts into the broadcast oracle, freezes nodes and
 * feeds the events the nodes would emit (DELIVERED flagged broadcast,
 * PEER_DOWN, MEMBER_SUSPECT, MEMBER_DOWN) through the simulator's event
 * callback (the detection tests first run a ring for 5 s, so that the
 * nodes have their neighbours up). Each oracle must FAIL on what it is
 * there to catch: a missing or a duplicated broadcast delivery, a flap, a
 * false suspicion, a missed detection; and pass or excuse what is right
 * (a frozen node owes nothing, a suspicion of a frozen node, from a node
 * just back, or of a past incarnation is not false; a node that did not
 * have the failed node up need not declare it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scenario.h"
#include "sim_internal.h"

static p2pc_sim *small_sim(uint32_t n, p2pc_scenario *sc, const char *text) {
  char err[P2PC_SCN_ERR_LEN];
  p2pc_scenario_init(sc, n, "t.scn");
  assert_int_equal(p2pc_scenario_parse(sc, text, strlen(text), err, sizeof err),
                   0);
  sc->cfg.nodes = n;
  sc->cfg.rate = 0;
  sc->cfg.causal_oracle = false;
  p2pc_sim *s = p2pc_sim_new(&sc->cfg, err, sizeof err);
  assert_non_null(s);
  return s;
}

/* Node i delivers broadcast b (its number, as p2pc__sim_bc_sent gave). */
static void deliver(p2pc_sim *s, uint32_t i, uint32_t b, uint64_t t_send) {
  uint8_t p[TAG_LEN];
  p2pc__sim_tag_put(p, t_send, b + 1);
  p2pc_event e;
  memset(&e, 0, sizeof e);
  e.type = P2PC_EVENT_DELIVERED;
  e.payload = p;
  e.len = sizeof p;
  e.u.delivered.broadcast = true;
  e.u.delivered.hops = 2 + i;
  s->cur_node = i;
  p2pc__sim_on_event(s, NULL, &e);
}

static void member(p2pc_sim *s, uint32_t observer, p2pc_event_type t,
                   uint32_t about, uint64_t incarnation) {
  char id[16];
  snprintf(id, sizeof id, "n%u", about);
  p2pc_event e;
  memset(&e, 0, sizeof e);
  e.type = t;
  e.peer = id;
  e.u.member.incarnation = incarnation;
  s->cur_node = observer;
  p2pc__sim_on_event(s, NULL, &e);
}

static void peer_down(p2pc_sim *s, uint32_t observer, uint32_t about,
                      const char *reason) {
  char id[16];
  snprintf(id, sizeof id, "n%u", about);
  p2pc_event e;
  memset(&e, 0, sizeof e);
  e.type = P2PC_EVENT_PEER_DOWN;
  e.peer = id;
  e.reason = reason;
  s->cur_node = observer;
  p2pc__sim_on_event(s, NULL, &e);
}

static uint32_t judge(const p2pc_scenario *sc, p2pc_sim *s, p2pc_scn_judge *j) {
  p2pc_sim_result r;
  p2pc__sim_bc_finish(s);
  p2pc__sim_ov_finish(s);
  p2pc_sim_result_get(s, &r);
  p2pc_scn_judge_init(j, sc);
  return p2pc_scn_judge_end(j, sc, &r);
}

static void test_tag(void **state) {
  (void)state;
  uint8_t p[TAG_LEN];
  uint64_t t;
  uint32_t b;
  p2pc__sim_tag_put(p, 123456789, 7);
  assert_true(p2pc__sim_tag_get(p, sizeof p, &t, &b));
  assert_int_equal(t, 123456789);
  assert_int_equal(b, 7);
  assert_false(p2pc__sim_tag_get(p, sizeof p - 1, &t, &b));
  p[3] ^= 1; /* a payload of random bytes is no tag */
  assert_false(p2pc__sim_tag_get(p, sizeof p, &t, &b));
}

static void test_lhist(void **state) {
  (void)state;
  uint64_t bins[LHIST_BINS] = {0};
  lhist h = {.bins = bins};
  assert_int_equal(p2pc__sim_lhist_q(&h, 0.99), 0);
  for (uint64_t v = 1; v <= 100; v++)
    p2pc__sim_lhist_add(&h, v * 1000000); /* 1..100 ms */
  uint64_t p50 = p2pc__sim_lhist_q(&h, 0.5), p99 = p2pc__sim_lhist_q(&h, 0.99);
  assert_true(p50 >= 50000000 && p50 <= 50000000 + 50000000 / 32);
  assert_true(p99 >= 99000000 && p99 <= 100000000);
  assert_int_equal(h.max, 100000000);
  for (uint64_t v = 0; v < 64; v++) { /* exact below 64 */
    uint64_t b2[LHIST_BINS] = {0};
    lhist e = {.bins = b2};
    p2pc__sim_lhist_add(&e, v);
    assert_int_equal(p2pc__sim_lhist_q(&e, 0.99), v);
  }
}

/* Broadcasts: a missing delivery fails, so does a second one; a frozen
 * node owes nothing; all delivered once passes. */
static void test_broadcast_oracle(void **state) {
  (void)state;
  p2pc_scenario *sc = malloc(sizeof *sc);
  assert_non_null(sc);
  p2pc_sim *s = small_sim(5, sc,
                          "duration 60s\nexpect broadcast ok\n"
                          "expect bcast_p99_hops <= 4\n");
  p2pc_scn_judge *j = malloc(sizeof *j);
  assert_non_null(j);
  /* nothing flagged yet: SKIP, not PASS */
  s->now = 10 * SEC;
  uint32_t b0 = p2pc__sim_bc_sent(s, 0);
  assert_int_equal(b0, 0);
  s->now = 11 * SEC;
  assert_int_equal(judge(sc, s, j), 0);
  assert_true(j->v[0].skipped);
  p2pc_sim_free(s);

  /* one missing (n4), one duplicate (n2), n3 frozen after the send */
  s = small_sim(5, sc, "duration 60s\nexpect broadcast ok\n");
  s->now = 10 * SEC;
  b0 = p2pc__sim_bc_sent(s, 0);
  s->now = 12 * SEC;
  p2pc__sim_ov_freeze(s, 3, 2 * SEC);
  deliver(s, 1, b0, 10 * SEC);
  deliver(s, 2, b0, 10 * SEC);
  deliver(s, 2, b0, 10 * SEC);
  s->now = 60 * SEC;
  assert_int_equal(judge(sc, s, j), 1);
  p2pc_sim_result r;
  p2pc_sim_result_get(s, &r);
  assert_int_equal(r.bcast_judged, 1);
  assert_int_equal(r.bcast_missing, 1); /* n4; not n3 (frozen), not n0 */
  assert_int_equal(r.bcast_dups, 1);
  assert_false(j->v[0].pass);
  assert_string_equal(j->v[0].detail, "1 broadcasts: 1 missing, 1 duplicate");
  assert_int_equal(r.blat_n, 3);
  assert_true(r.blat_p99 >= 2 * SEC && r.blat_p99 <= 2 * SEC + 2 * SEC / 32);
  p2pc_sim_free(s);

  /* a node cut from the sender owes it nothing (the cut is by who is cut
   * from whom: the nodes on the sender's side still owe it) */
  s = small_sim(5, sc, "duration 60s\nexpect broadcast ok\n");
  s->now = 10 * SEC;
  b0 = p2pc__sim_bc_sent(s, 0);
  s->now = 11 * SEC;
  s->cuts[s->ncuts++] = (cut){4, 5, 0, 4};
  p2pc__sim_ov_cuts_changed(s);
  deliver(s, 1, b0, 10 * SEC);
  deliver(s, 2, b0, 10 * SEC);
  s->now = 60 * SEC;
  assert_int_equal(judge(sc, s, j), 1);
  p2pc_sim_result_get(s, &r);
  assert_int_equal(r.bcast_missing, 1); /* n3, not n4 */
  assert_string_equal(r.bcast_first,
                      "broadcast 0 from n0 at 10.000 s never delivered to n3");
  p2pc_sim_free(s);

  /* every owed node once: PASS; a broadcast inside the grace: not judged */
  s = small_sim(5, sc,
                "duration 60s\nexpect broadcast ok grace 10s\n"
                "expect bcast_p99_hops <= 4\n");
  s->now = 10 * SEC;
  b0 = p2pc__sim_bc_sent(s, 2);
  for (uint32_t i = 0; i < 5; i++)
    if (i != 2)
      deliver(s, i, b0, 10 * SEC);
  s->now = 55 * SEC;
  (void)p2pc__sim_bc_sent(s, 1); /* after 60 - 10 s: nobody owes it */
  s->now = 60 * SEC;
  assert_int_equal(judge(sc, s, j), 1); /* the hops: p99 6 > 4 */
  assert_true(j->v[0].pass && !j->v[0].skipped);
  assert_false(j->v[1].pass);
  p2pc_sim_result_get(s, &r);
  assert_int_equal(r.bcast_judged, 1);
  assert_int_equal(r.hops_max, 6);
  p2pc_sim_free(s);
  free(j);
  free(sc);
}

/* Membership accuracy: a suspicion of a healthy node is false; of a
 * frozen node, of a node just back, or of a past incarnation, not. */
static void test_false_suspicions(void **state) {
  (void)state;
  p2pc_scenario *sc = malloc(sizeof *sc);
  p2pc_scn_judge *j = malloc(sizeof *j);
  assert_non_null(sc);
  assert_non_null(j);
  p2pc_sim *s = small_sim(4, sc, "duration 60s\nexpect false_suspicions 0\n");
  s->now = 10 * SEC;
  p2pc__sim_ov_freeze(s, 3, 3 * SEC);
  s->now = 11 * SEC;
  member(s, 0, P2PC_EVENT_MEMBER_SUSPECT, 3, 0); /* frozen: right */
  member(s, 0, P2PC_EVENT_MEMBER_SUSPECT, 2,
         s->nodes[2].incarnation - 1); /* an older incarnation */
  member(s, 0, P2PC_EVENT_MEMBER_ALIVE, 2, 0);
  s->now = 13 * SEC;
  p2pc__sim_ov_thaw(s, 3);
  s->now = 14 * SEC;
  member(s, 1, P2PC_EVENT_MEMBER_SUSPECT, 3, 0); /* back 1 s ago: settling */
  member(s, 3, P2PC_EVENT_MEMBER_SUSPECT, 0, 0); /* n3 on stale news */
  s->now = 60 * SEC;
  assert_int_equal(judge(sc, s, j), 0);
  assert_true(j->v[0].pass);
  p2pc_sim_free(s);

  s = small_sim(4, sc, "duration 60s\nexpect false_suspicions 0\n");
  s->now = 20 * SEC;
  member(s, 1, P2PC_EVENT_MEMBER_SUSPECT, 2, s->nodes[2].incarnation);
  member(s, 0, P2PC_EVENT_MEMBER_DOWN, 2, 0);
  s->now = 60 * SEC;
  assert_int_equal(judge(sc, s, j), 1);
  assert_false(j->v[0].pass);
  p2pc_sim_result r;
  p2pc_sim_result_get(s, &r);
  assert_int_equal(r.false_suspicions, 2);
  assert_string_equal(r.first_false,
                      "n1 suspected n2 at 20.000 s (healthy since 0.000 s)");
  p2pc_sim_free(s);
  free(j);
  free(sc);
}

/* Flaps: a peer_down between two settled nodes, unless the link was ended
 * on purpose (the peer left, either end stopped); a
 * node just back from a freeze (either end) is excused. */
static void test_flaps(void **state) {
  (void)state;
  p2pc_scenario *sc = malloc(sizeof *sc);
  p2pc_scn_judge *j = malloc(sizeof *j);
  assert_non_null(sc);
  assert_non_null(j);
  p2pc_sim *s = small_sim(4, sc, "duration 60s\nexpect flaps 0\n");
  s->now = 10 * SEC;
  p2pc__sim_ov_freeze(s, 3, 3 * SEC);
  s->now = 14 * SEC;
  p2pc__sim_ov_thaw(s, 3);
  peer_down(s, 3, 1, "timeout"); /* n3 back 1 s ago */
  peer_down(s, 1, 3, "timeout");
  peer_down(s, 0, 2, "left");     /* a goodbye, not a flap */
  peer_down(s, 2, 0, "stopping"); /* n2 stops: its links go on purpose */
  peer_down(s, 0, 2, "stopped");  /* ... and it said so */
  s->now = 60 * SEC;
  assert_int_equal(judge(sc, s, j), 0);
  assert_true(j->v[0].pass);
  p2pc_sim_free(s);

  s = small_sim(4, sc, "duration 60s\nexpect flaps 0\n");
  s->now = 20 * SEC;
  peer_down(s, 0, 1, "timeout");
  s->now = 60 * SEC;
  assert_int_equal(judge(sc, s, j), 1);
  p2pc_sim_result r;
  p2pc_sim_result_get(s, &r);
  assert_int_equal(r.flaps, 1);
  assert_string_equal(r.first_flap, "n0 lost n1 at 20.000 s (timeout; both "
                                    "healthy since 0.000 s)");
  p2pc_sim_free(s);
  free(j);
  free(sc);
}

/* A ring of 6 (maxPeers 2) run for 5 s: each node has its two
 * neighbours up, and only they track it. */
static p2pc_sim *ring_sim(p2pc_scenario *sc, const char *text) {
  p2pc_sim *s = small_sim(6, sc, text);
  uint64_t d = s->cfg.duration_ns;
  s->cfg.duration_ns = 5 * SEC;
  p2pc_sim_run(s, NULL, NULL, NULL);
  s->cfg.duration_ns = d;
  memset(&s->res, 0, sizeof s->res);
  for (uint32_t i = 0; i < 6; i++) {
    uint32_t up = 0;
    p2pc_peer_info pi;
    for (uint32_t q = 0; q < p2pc_node_peer_count(s->nodes[i].n); q++)
      if (p2pc_node_peer_info(s->nodes[i].n, q, &pi) &&
          pi.state == P2PC_PEER_UP)
        up++;
    assert_int_equal(up, 2);
  }
  return s;
}

/* Detection: a freeze that lasts the window must be declared down within
 * it by every healthy node that had the node up (in a ring: its two
 * neighbours, not the others); a late one is a miss. */
static void test_detection(void **state) {
  (void)state;
  p2pc_scenario *sc = malloc(sizeof *sc);
  p2pc_scn_judge *j = malloc(sizeof *j);
  assert_non_null(sc);
  assert_non_null(j);
  const char *text = "topology ring\nduration 60s\nexpect detect < 2s\n";
  for (int late = 0; late < 2; late++) {
    p2pc_sim *s = ring_sim(sc, text);
    assert_int_equal(s->cfg.detect_ns, 2 * SEC);
    s->now = 10 * SEC;
    p2pc__sim_ov_freeze(s, 3, 5 * SEC);
    s->now = 11 * SEC;
    member(s, 2, P2PC_EVENT_MEMBER_DOWN, 3, 0);
    s->now = late ? 13 * SEC : 11500 * MS;
    member(s, 4, P2PC_EVENT_MEMBER_DOWN, 3, 0);
    s->now = 15 * SEC;
    p2pc__sim_ov_thaw(s, 3);
    s->now = 20 * SEC;
    p2pc__sim_ov_freeze(s, 1, 1 * SEC); /* shorter than the window */
    s->now = 21 * SEC;
    p2pc__sim_ov_thaw(s, 1);
    s->now = 60 * SEC;
    assert_int_equal(judge(sc, s, j), (uint32_t)late);
    p2pc_sim_result r;
    p2pc_sim_result_get(s, &r);
    assert_int_equal(r.detect_episodes, 2);
    assert_int_equal(r.detect_judged, 1);
    assert_int_equal(r.detect_missed, (uint64_t)late);
    assert_int_equal(r.detect_max_ns, late ? 1 * SEC : 1500 * MS);
    if (late)
      assert_string_equal(r.first_missed,
                          "n3 froze at 10.000 s: n4 did not declare it down "
                          "within 2.000 s (1 nodes missed it)");
    p2pc_sim_free(s);
  }
  /* a crash nobody declares: both neighbours missed it */
  p2pc_sim *s = ring_sim(sc, text);
  s->now = 10 * SEC;
  p2pc__sim_stop_node(s, 3, false);
  s->now = 60 * SEC;
  assert_int_equal(judge(sc, s, j), 1);
  p2pc_sim_result r;
  p2pc_sim_result_get(s, &r);
  assert_int_equal(r.detect_missed, 2);
  p2pc_sim_free(s);
  /* no failure that lasted the window: SKIP */
  s = ring_sim(sc, text);
  s->now = 10 * SEC;
  p2pc__sim_ov_freeze(s, 3, 1 * SEC);
  s->now = 11 * SEC;
  p2pc__sim_ov_thaw(s, 3);
  s->now = 60 * SEC;
  assert_int_equal(judge(sc, s, j), 0);
  assert_true(j->v[0].skipped);
  p2pc_sim_free(s);
  free(j);
  free(sc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tag),
      cmocka_unit_test(test_lhist),
      cmocka_unit_test(test_broadcast_oracle),
      cmocka_unit_test(test_false_suspicions),
      cmocka_unit_test(test_flaps),
      cmocka_unit_test(test_detection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
