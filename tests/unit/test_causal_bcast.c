/* SPDX-License-Identifier: MIT */
/*
 * Broadcasts in Δ-SES (causal.h, P2PC_CAUSAL_ALL; docs/PROTOCOL.md,
 * "Broadcast to the whole network"): a message to "*" is delivered at its
 * sender at once and exactly once at every other node, after what
 * causally precedes it and before what follows it; copies are duplicates;
 * a node never waits for, nor delivers, a broadcast stamped before its
 * birth; one skipped as expired stays undelivered.
 */
#include "causalfix.h"

static void bcast(node *from, const char *text, wire_msg *w) {
  send_msg(from, P2PC_CAUSAL_ALL, text, w);
}

/* The flag of the i-th event from the end (1: the last). */
static bool flag_of(const node *nd, int i);

typedef struct flagged {
  node nd;
  bool flags[MAXLOG];
} flagged;

static void on_event_flag(void *ud, const p2pc_causal_event *ev) {
  flagged *f = ud;
  f->flags[f->nd.n] = ev->broadcast;
  on_event(&f->nd, ev);
}

static void fnode_new(flagged *f, const char *id, int64_t t) {
  memset(f, 0, sizeof *f);
  assert_int_equal(
      p2pc_causal_new(&f->nd.c, id, &one_second, A, on_event_flag, f), 0);
  set_time(&f->nd, t);
}

static bool flag_of(const node *nd, int i) {
  const flagged *f = (const flagged *)nd;
  return f->flags[nd->n - i];
}

/* ---- the interface ----------------------------------------------------- */

static void test_send_deliver_dedup(void **state) {
  (void)state;
  flagged fa, fb, fc;
  node *a = &fa.nd, *b = &fb.nd, *c = &fc.nd;
  wire_msg w[1];
  fnode_new(&fa, "A", T0);
  fnode_new(&fb, "B", T0);
  fnode_new(&fc, "C", T0);

  bcast(a, "b1", &w[0]);
  assert_int_equal(a->n, 2);
  assert_string_equal(back(a, 2), "send A:1 to *");
  assert_true(flag_of(a, 2));
  assert_string_equal(last(a), "deliver A:1");
  assert_true(flag_of(a, 1));
  assert_int_equal(p2pc_causal_sent(a->c), 1);
  /* Never pending: it holds no LS back. */
  assert_int_equal(p2pc_causal_pending_to(a->c, "*"), 0);
  assert_int_equal(p2pc_causal_local_stable(a->c), p2pc_causal_hlc(a->c));
  assert_int_equal(p2pc_causal_pairs(a->c), 1); /* ("*", A, 1) */

  /* Any relay: expected_sender NULL. */
  assert_int_equal(arrive(b, &w[0], 0), 0);
  assert_string_equal(back(b, 2), "recv A:1");
  assert_true(flag_of(b, 2));
  assert_string_equal(last(b), "deliver A:1");
  assert_true(flag_of(b, 1));
  assert_true(p2pc_causal_has(b->c, "A", 1));
  assert_false(p2pc_causal_has(c->c, "A", 1));
  /* The tree and the repair bring copies: duplicates. */
  assert_int_equal(arrive(b, &w[0], 0), 0);
  assert_string_equal(last(b), "dup A:1");
  assert_true(flag_of(b, 1));
  /* A's own broadcast, sent back by a relay. */
  assert_int_equal(arrive(a, &w[0], 0), 0);
  assert_string_equal(last(a), "dup A:1");
  assert_int_equal(count(a, P2PC_CEV_DELIVER), 1);
  /* B passes the entry on: every node must deliver it first. */
  assert_int_equal(p2pc_causal_pairs(b->c), 1);
  assert_int_equal(arrive(c, &w[0], 0), 0);
  assert_string_equal(last(c), "deliver A:1");
  assert_int_equal(count(b, P2PC_CEV_DELIVER), 1);
  /* A relay is not the origin: naming it as the sender is refused. */
  assert_int_equal(p2pc_causal_receive(c->c, "B", w[0].b.data, w[0].b.len, 0),
                   P2PC_ERR_PROTO);
  /* "*" is no identity. */
  assert_int_equal(p2pc_causal_retire(b->c, "*", 0), P2PC_ERR_INVAL);
  assert_false(p2pc_causal_is_retired(b->c, "*"));
  p2pc_causal *bad;
  assert_int_equal(p2pc_causal_new(&bad, "*", NULL, A, NULL, NULL),
                   P2PC_ERR_INVAL);
  fini_all(w, 1);
  node_free(a);
  node_free(b);
  node_free(c);
}

/* A broadcasts b1; B delivers it and sends m to C; m reaches C first and
 * waits for b1 (m carries ("*", A, 1)). */
static void test_broadcast_before_unicast(void **state) {
  (void)state;
  flagged fa, fb, fc;
  node *a = &fa.nd, *b = &fb.nd, *c = &fc.nd;
  wire_msg w[2];
  fnode_new(&fa, "A", T0);
  fnode_new(&fb, "B", T0);
  fnode_new(&fc, "C", T0);
  bcast(a, "b1", &w[0]);
  assert_int_equal(arrive(b, &w[0], 0), 0);
  send_msg(b, "C", "m", &w[1]);
  assert_int_equal(last_ev(b)->deps, 1);
  assert_int_equal(arrive(c, &w[1], 10), 0);
  assert_string_equal(last(c), "buffer B:1 waits A:1 unmet 1");
  assert_false(flag_of(c, 1));
  assert_int_equal(arrive(c, &w[0], 30), 0);
  assert_string_equal(back(c, 2), "deliver A:1");
  assert_true(flag_of(c, 2));
  assert_string_equal(last(c), "deliver B:1");
  assert_false(flag_of(c, 1));
  assert_int_equal(last_ev(c)->waited_ns, 20);
  fini_all(w, 2);
  node_free(a);
  node_free(b);
  node_free(c);
}

/* A sends u1 to C, then broadcasts b2: b2 waits at C for u1, and C's
 * report to A (which names A's stream up to 2) is taken by A. Then A's
 * unicast u3 to C waits for b2 there. */
static void test_unicast_before_broadcast(void **state) {
  (void)state;
  flagged fa, fc;
  node *a = &fa.nd, *c = &fc.nd;
  wire_msg w[3];
  fnode_new(&fa, "A", T0);
  fnode_new(&fc, "C", T0);
  send_msg(a, "C", "u1", &w[0]);
  bcast(a, "b2", &w[1]);
  send_msg(a, "C", "u3", &w[2]);
  assert_int_equal(arrive(c, &w[2], 0), 0);
  assert_string_equal(last(c), "buffer A:3 waits A:1 unmet 2");
  assert_int_equal(arrive(c, &w[1], 0), 0);
  assert_string_equal(last(c), "buffer A:2 waits A:1 unmet 1");
  assert_int_equal(arrive(c, &w[0], 0), 0);
  assert_string_equal(back(c, 3), "deliver A:1");
  assert_string_equal(back(c, 2), "deliver A:2");
  assert_string_equal(last(c), "deliver A:3");
  expect_report(c, "A", "d=3 wo=");
  assert_int_equal(pass_report(c, a), 0);
  assert_int_equal(p2pc_causal_pending_to(a->c, "C"), 0);
  /* But never one above what A sent. */
  assert_int_equal(p2pc_causal_peer_report(a->c, "C", 4, NULL, 0, 0),
                   P2PC_ERR_PROTO);
  fini_all(w, 3);
  node_free(a);
  node_free(c);
}

/* C is born after A's broadcast b1 was stamped: B's message m, which
 * carries ("*", A, 1), is delivered at C at once, and b1, if it comes, is
 * not delivered there. */
static void test_birth(void **state) {
  (void)state;
  flagged fa, fb, fc;
  node *a = &fa.nd, *b = &fb.nd, *c = &fc.nd;
  wire_msg w[2];
  fnode_new(&fa, "A", T0);
  fnode_new(&fb, "B", T0);
  bcast(a, "b1", &w[0]);
  set_time(b, T0 + 100 * TICK);
  assert_int_equal(arrive(b, &w[0], 0), 0);
  send_msg(b, "C", "m", &w[1]);
  fnode_new(&fc, "C", T0 + 50 * TICK);
  assert_int_equal(p2pc_causal_birth(c->c), T0 + 50 * TICK);
  assert_int_equal(arrive(c, &w[1], 0), 0);
  assert_string_equal(last(c), "deliver B:1");
  assert_int_equal(arrive(c, &w[0], 0), 0);
  assert_string_equal(last(c), "drop A:1");
  assert_int_equal(count(c, P2PC_CEV_DELIVER), 1);
  fini_all(w, 2);
  node_free(a);
  node_free(b);
  node_free(c);
}

/* b1 is older than Δ at C when b2 (which carries ("*", A, 1)) arrives:
 * b2 is delivered, and b1 never is. */
static void test_skipped_as_expired(void **state) {
  (void)state;
  flagged fa, fc;
  node *a = &fa.nd, *c = &fc.nd;
  wire_msg w[3];
  fnode_new(&fa, "A", T0);
  fnode_new(&fc, "C", T0);
  bcast(a, "b1", &w[0]);
  set_time(a, T0 + LIFE / 2);
  bcast(a, "b2", &w[1]);
  set_time(c, T0 + LIFE + TICK);
  assert_int_equal(arrive(c, &w[1], 0), 0);
  assert_string_equal(last(c), "deliver A:2");
  assert_int_equal(arrive(c, &w[0], 0), 0);
  assert_string_equal(last(c), "expire A:1");
  assert_int_equal(arrive(c, &w[1], 0), 0);
  assert_string_equal(last(c), "dup A:2");
  assert_int_equal(count(c, P2PC_CEV_DELIVER), 1);
  /* A later unicast (A's stream to C is 1..3 here) goes at once. */
  send_msg(a, "C", "u3", &w[2]);
  assert_int_equal(arrive(c, &w[2], 0), 0);
  assert_string_equal(last(c), "deliver A:3");
  /* ("*", A, n) entries retire by expiry only: a report does not. */
  assert_int_equal(pass_report(c, a), 0);
  assert_int_equal(p2pc_causal_pairs(a->c), 1); /* ("*", A, 2) */
  p2pc_causal_set_stable(a->c, p2pc_causal_hlc(a->c));
  assert_int_equal(p2pc_causal_pairs(a->c), 1);
  set_time(a, T0 + LIFE / 2 + LIFE + TICK);
  assert_int_equal(p2pc_causal_pairs(a->c), 0);
  fini_all(w, 3);
  node_free(a);
  node_free(c);
}

/* The relayed form: entries count every link travelled. */
static void test_receive_hops(void **state) {
  (void)state;
  flagged fa, fb, fc;
  node *a = &fa.nd, *b = &fb.nd, *c = &fc.nd;
  wire_msg w[2];
  fnode_new(&fa, "A", T0);
  fnode_new(&fb, "B", T0);
  fnode_new(&fc, "C", T0);
  send_msg(a, "C", "u1", &w[0]); /* (C, A, 1), hops 0 at A */
  bcast(a, "b2", &w[1]);
  assert_int_equal(
      p2pc_causal_receive_hops(b->c, NULL, w[1].b.data, w[1].b.len, 0, 0),
      P2PC_ERR_INVAL);
  assert_int_equal(
      p2pc_causal_receive_hops(b->c, NULL, w[1].b.data, w[1].b.len, 3, 0), 0);
  assert_string_equal(last(b), "deliver A:2");
  /* (C, A, 1) arrived over 3 links: level 2 may not retire it, level 3
   * may. */
  uint64_t lv[P2PC_CAUSAL_LEVELS] = {0};
  lv[2] = UINT64_MAX >> 1;
  p2pc_causal_set_stable_levels(b->c, lv, P2PC_CAUSAL_LEVELS);
  assert_int_equal(p2pc_causal_pairs(b->c), 2); /* and ("*", A, 2) */
  lv[3] = UINT64_MAX >> 1;
  p2pc_causal_set_stable_levels(b->c, lv, P2PC_CAUSAL_LEVELS);
  assert_int_equal(p2pc_causal_pairs(b->c), 1); /* ("*", A, 2) stays */
  fini_all(w, 2);
  node_free(a);
  node_free(b);
  node_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_send_deliver_dedup),
      cmocka_unit_test(test_broadcast_before_unicast),
      cmocka_unit_test(test_unicast_before_broadcast),
      cmocka_unit_test(test_birth),
      cmocka_unit_test(test_skipped_as_expired),
      cmocka_unit_test(test_receive_hops),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
