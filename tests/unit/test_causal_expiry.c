/* SPDX-License-Identifier: MIT */
/*
 * Δ-SES expiry (causal.h) on both sides: on arrival, in the buffer, of
 * entries (and what that releases or writes off), at the boundary, Δ
 * infinite; the sender's side: delivery reports and written-off [first,
 * last] ranges, giving up, and LS held until a given-up message has
 * settled.
 */
#include "causalfix.h"

/* ---- expiry -------------------------------------------------------------- */

/* A message that arrives older than Δ is not delivered: EXPIRE, the range
 * is written off and reported, a late copy gets EXPIRE again. */
static void test_expire_on_arrival(void **state) {
  (void)state;
  node a, b;
  wire_msg w[3];
  node_new(&a, "A~a", &one_second, A);
  node_new(&b, "B~b", &one_second, A);
  assert_int_equal(p2pc_causal_lifetime(b.c), LIFE);
  set_time(&a, T0);
  set_time(&b, T0);
  send_msg(&a, "B~b", "m1", &w[0]);
  uint64_t s1 = last_ev(&a)->stamp;
  assert_int_equal(s1, (uint64_t)T0 + 1);
  send_msg(&a, "B~b", "m2", &w[1]);
  uint64_t s2 = last_ev(&a)->stamp;
  /* Just under Δ old: delivered. (Taking its stamp in ticks B's HLC: at
   * T0 + Δ exactly, that tick would make it Δ old.) */
  set_time(&b, T0 + LIFE - TICK);
  assert_int_equal(arrive(&b, &w[0], 0), 0);
  assert_string_equal(last(&b), "deliver A~a:1");
  /* Over Δ old. */
  set_time(&b, T0 + 2 * LIFE);
  assert_int_equal(b.n, 2);
  assert_int_equal(arrive(&b, &w[1], 0), 0);
  assert_int_equal(b.n, 3);
  assert_string_equal(last(&b), "expire A~a:2");
  assert_int_equal(last_ev(&b)->stamp, s2);
  assert_int_equal(last_ev(&b)->hlc, p2pc_causal_hlc(b.c));
  assert_true(last_ev(&b)->hlc >= s2 + LIFE);
  assert_false(last_ev(&b)->at_sender);
  assert_int_equal(p2pc_causal_buffered(b.c), 0);
  expect_report(&b, "A~a", "d=1 wo=[2,2]");
  p2pc_causal_stats st = stats(&b);
  assert_int_equal(st.expired_rx, 1);
  assert_int_equal(st.delivered, 1);
  assert_int_equal(st.duplicates, 0);
  /* A late copy: EXPIRE again, not DUP, never DELIVER. */
  assert_int_equal(arrive(&b, &w[1], 0), 0);
  assert_string_equal(last(&b), "expire A~a:2");
  assert_int_equal(stats(&b).duplicates, 0);
  assert_int_equal(stats(&b).expired_rx, 2);
  /* A gives both up at the same age, and its next message carries no
   * entry about m2: delivered; the report keeps m2 written off. */
  set_time(&a, T0 + 2 * LIFE);
  assert_string_equal(back(&a, 2), "expire A~a:1 to B~b at sender");
  assert_string_equal(back(&a, 1), "expire A~a:2 to B~b at sender");
  send_msg(&a, "B~b", "m3", &w[2]);
  assert_int_equal(last_ev(&a)->deps, 0);
  assert_int_equal(arrive(&b, &w[2], 0), 0);
  assert_string_equal(last(&b), "deliver A~a:3");
  expect_report(&b, "A~a", "d=3 wo=[2,2]");
  assert_int_equal(count(&b, P2PC_CEV_DELIVER), 2);
  node_free(&a);
  node_free(&b);
  fini_all(w, 3);
}

/* A buffered message expires when time passes Δ; the one it waited for
 * expires on arrival. */
static void test_expire_buffered(void **state) {
  (void)state;
  node a, b;
  wire_msg w[2];
  node_new(&a, "A~a", &one_second, A);
  node_new(&b, "B~b", &one_second, A);
  set_time(&a, T0);
  set_time(&b, T0);
  send_msg(&a, "B~b", "m1", &w[0]);
  send_msg(&a, "B~b", "m2", &w[1]);
  uint64_t s2 = last_ev(&a)->stamp;
  assert_int_equal(arrive(&b, &w[1], 0), 0);
  assert_string_equal(last(&b), "buffer A~a:2 waits A~a:1 unmet 1");
  /* Not yet: the HLC must reach s2 + Δ. */
  set_time(&b, T0 + LIFE);
  assert_int_equal(p2pc_causal_buffered(b.c), 1);
  assert_string_equal(last(&b), "buffer A~a:2 waits A~a:1 unmet 1");
  set_time(&b, T0 + LIFE + TICK);
  assert_int_equal(p2pc_causal_buffered(b.c), 0);
  assert_string_equal(last(&b), "expire A~a:2");
  assert_int_equal(last_ev(&b)->stamp, s2);
  assert_int_equal(last_ev(&b)->bytes, 3);
  assert_false(last_ev(&b)->at_sender);
  expect_report(&b, "A~a", "d=0 wo=[2,2]");
  assert_int_equal(arrive(&b, &w[0], 0), 0);
  assert_string_equal(last(&b), "expire A~a:1");
  expect_report(&b, "A~a", "d=0 wo=[1,2]");
  assert_int_equal(arrive(&b, &w[1], 0), 0);
  assert_string_equal(last(&b), "expire A~a:2");
  assert_int_equal(count(&b, P2PC_CEV_DELIVER), 0);
  assert_int_equal(stats(&b).expired_rx, 3);
  node_free(&a);
  node_free(&b);
  fini_all(w, 2);
}

/* An entry older than Δ no longer holds a message back: A's a1 to C is
 * late; C gets B's b1, which depends on a1, and waits until a1's entry is
 * Δ old, then delivers b1. a1 arriving later is expired, never delivered:
 * the order C saw is still causal. */
static void test_expired_entry_releases(void **state) {
  (void)state;
  node a, b, c;
  wire_msg a1, a2, b1;
  node_new(&a, "A~a", &one_second, A);
  node_new(&b, "B~b", &one_second, A);
  node_new(&c, "C~c", &one_second, A);
  set_time(&a, T0);
  send_msg(&a, "C~c", "a1", &a1);
  set_time(&a, T0 + LIFE / 2);
  send_msg(&a, "B~b", "a2", &a2);
  set_time(&b, T0 + LIFE / 2);
  assert_int_equal(arrive(&b, &a2, 0), 0);
  send_msg(&b, "C~c", "b1", &b1);
  uint64_t sb1 = last_ev(&b)->stamp;
  set_time(&c, T0 + LIFE / 2 + ERR);
  assert_int_equal(arrive(&c, &b1, LIFE / 2 + ERR), 0);
  assert_string_equal(last(&c), "buffer B~b:1 waits A~a:1 unmet 1");
  /* a1 is stamped T0 + 1: its entry is Δ old once the HLC passes T0 +
   * Δ. */
  set_time(&c, T0 + LIFE);
  assert_int_equal(p2pc_causal_buffered(c.c), 1);
  set_time(&c, T0 + LIFE + TICK);
  assert_int_equal(p2pc_causal_buffered(c.c), 0);
  assert_string_equal(last(&c), "deliver B~b:1");
  assert_int_equal(last_ev(&c)->stamp, sb1);
  assert_int_equal(last_ev(&c)->waited_ns, LIFE + TICK - LIFE / 2 - ERR);
  /* Nothing was written off for A yet: C never heard from it. */
  expect_report(&c, "A~a", "d=0 wo=");
  assert_int_equal(arrive(&c, &a1, 0), 0);
  assert_string_equal(last(&c), "expire A~a:1");
  expect_report(&c, "A~a", "d=0 wo=[1,1]");
  assert_int_equal(arrive(&c, &a1, 0), 0);
  assert_string_equal(last(&c), "expire A~a:1");
  assert_int_equal(count(&c, P2PC_CEV_DELIVER), 1);
  assert_int_equal(count(&c, P2PC_CEV_DUP), 0);
  node_free(&a);
  node_free(&b);
  node_free(&c);
  p2pc_buf_fini(&a1.b);
  p2pc_buf_fini(&a2.b);
  p2pc_buf_fini(&b1.b);
}

/* The same within one stream: m2's entry about m1 (its prev) has expired
 * when m2 arrives, so m2 is delivered at once and m1 written off. */
static void test_expired_prev_writes_off(void **state) {
  (void)state;
  node a, b;
  wire_msg w[2];
  node_new(&a, "A~a", &one_second, A);
  node_new(&b, "B~b", &one_second, A);
  set_time(&a, T0);
  send_msg(&a, "B~b", "m1", &w[0]); /* late */
  set_time(&a, T0 + LIFE / 2);
  send_msg(&a, "B~b", "m2", &w[1]);
  assert_int_equal(last_ev(&a)->deps, 1);
  set_time(&b, T0 + LIFE + TICK);
  assert_int_equal(arrive(&b, &w[1], 0), 0);
  assert_string_equal(last(&b), "deliver A~a:2");
  expect_report(&b, "A~a", "d=2 wo=[1,1]");
  assert_int_equal(arrive(&b, &w[0], 0), 0);
  assert_string_equal(last(&b), "expire A~a:1");
  assert_int_equal(count(&b, P2PC_CEV_DELIVER), 1);
  assert_int_equal(count(&b, P2PC_CEV_DUP), 0);
  /* Long after, once the range is forgotten, a copy is still never
   * delivered. */
  set_time(&b, T0 + 10 * LIFE);
  expect_report(&b, "A~a", "d=2 wo=");
  assert_int_equal(arrive(&b, &w[0], 0), 0);
  assert_true(last_ev(&b)->kind == P2PC_CEV_DUP ||
              last_ev(&b)->kind == P2PC_CEV_EXPIRE);
  assert_int_equal(count(&b, P2PC_CEV_DELIVER), 1);
  node_free(&a);
  node_free(&b);
  fini_all(w, 2);
}

/* Exactly Δ old is expired: the receive rule ticks the HLC to stamp + 1
 * past the node's time, so at network time T0 + Δ a message stamped
 * T0 + 1 is Δ old on arrival and one stamped T0 + 2 is not. */
static void test_expiry_boundary(void **state) {
  (void)state;
  node a, b, c;
  wire_msg w[2];
  node_new(&a, "A~a", &one_second, A);
  node_new(&b, "B~b", &one_second, A);
  node_new(&c, "C~c", &one_second, A);
  set_time(&a, T0);
  send_msg(&a, "B~b", "old", &w[0]);
  assert_int_equal(last_ev(&a)->stamp, (uint64_t)T0 + 1);
  send_msg(&a, "C~c", "younger", &w[1]);
  assert_int_equal(last_ev(&a)->stamp, (uint64_t)T0 + 2);
  set_time(&b, T0 + LIFE);
  set_time(&c, T0 + LIFE);
  assert_int_equal(arrive(&b, &w[0], 0), 0);
  assert_string_equal(last(&b), "expire A~a:1");
  assert_int_equal(last_ev(&b)->hlc, (uint64_t)T0 + 1 + LIFE);
  assert_int_equal(arrive(&c, &w[1], 0), 0);
  assert_string_equal(last(&c), "deliver A~a:2");
  assert_int_equal(last_ev(&c)->hlc, (uint64_t)T0 + 1 + LIFE);
  node_free(&a);
  node_free(&b);
  node_free(&c);
  fini_all(w, 2);
}

/* Entries that are Δ old when their message is delivered are not taken
 * in: B never holds (D, A, 1), and nothing it sends carries it. */
static void test_expired_entries_not_merged(void **state) {
  (void)state;
  node a, b;
  wire_msg a1, a2, b1;
  node_new(&a, "A~a", &one_second, A);
  node_new(&b, "B~b", &one_second, A);
  set_time(&a, T0);
  send_msg(&a, "D~d", "a1", &a1);
  set_time(&a, T0 + LIFE / 2);
  send_msg(&a, "B~b", "a2", &a2);
  assert_int_equal(last_ev(&a)->deps, 1);
  set_time(&b, T0 + LIFE + TICK);
  assert_int_equal(arrive(&b, &a2, 0), 0);
  assert_string_equal(last(&b), "deliver A~a:2");
  assert_int_equal(p2pc_causal_pairs(b.c), 0);
  p2pc_causal_stats st = stats(&b);
  assert_int_equal(st.deps_max, 0);
  assert_int_equal(st.expired_deps, 0);
  send_msg(&b, "D~d", "b1", &b1);
  assert_int_equal(last_ev(&b)->deps, 0);
  node_free(&a);
  node_free(&b);
  p2pc_buf_fini(&a1.b);
  p2pc_buf_fini(&a2.b);
  p2pc_buf_fini(&b1.b);
}

/* A merge keeps the latest message per (dest, sender): B holds (D, A, 1),
 * then learns (D, A, 3); what it sends D then waits for A:3, not A:1. */
static void test_merge_keeps_latest(void **state) {
  (void)state;
  node a, b, d;
  wire_msg a1, x1, a3, x2, b1;
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", NULL, A);
  node_new(&d, "D~d", NULL, A);
  send_msg(&a, "D~d", "a1", &a1);
  send_msg(&a, "B~b", "x1", &x1);
  assert_int_equal(arrive(&b, &x1, 0), 0);
  send_msg(&a, "D~d", "a3", &a3);
  send_msg(&a, "B~b", "x2", &x2);
  assert_int_equal(arrive(&b, &x2, 0), 0);
  assert_int_equal(p2pc_causal_pairs(b.c), 1);
  send_msg(&b, "D~d", "b1", &b1);
  assert_int_equal(arrive(&d, &a1, 0), 0);
  assert_int_equal(arrive(&d, &b1, 0), 0);
  assert_string_equal(last(&d), "buffer B~b:1 waits A~a:3 unmet 1");
  assert_int_equal(arrive(&d, &a3, 0), 0);
  assert_string_equal(back(&d, 2), "deliver A~a:3");
  assert_string_equal(back(&d, 1), "deliver B~b:1");
  node_free(&a);
  node_free(&b);
  node_free(&d);
  wire_msg *all[] = {&a1, &x1, &a3, &x2, &b1};
  for (int i = 0; i < 5; i++)
    p2pc_buf_fini(&all[i]->b);
}

/* Δ infinite: nothing ever expires, whatever the clocks say. */
static void test_lifetime_infinite(void **state) {
  (void)state;
  p2pc_causal_config inf = {.lifetime_ns = P2PC_CAUSAL_LIFETIME_INF};
  node a, b;
  wire_msg w[2];
  node_new(&a, "A~a", &inf, A);
  node_new(&b, "B~b", &inf, A);
  assert_int_equal(p2pc_causal_lifetime(a.c), P2PC_CAUSAL_LIFETIME_INF);
  set_time(&a, T0);
  set_time(&b, T0);
  send_msg(&a, "B~b", "m1", &w[0]);
  send_msg(&a, "B~b", "m2", &w[1]);
  assert_int_equal(arrive(&b, &w[1], 0), 0);
  set_time(&a, T0 + 100000 * LIFE);
  set_time(&b, T0 + 100000 * LIFE);
  assert_int_equal(p2pc_causal_buffered(b.c), 1);
  assert_int_equal(p2pc_causal_pairs(a.c), 1);
  assert_int_equal(p2pc_causal_local_stable(a.c), a.ev[0].stamp);
  assert_int_equal(arrive(&b, &w[0], 0), 0);
  assert_string_equal(back(&b, 2), "deliver A~a:1");
  assert_string_equal(back(&b, 1), "deliver A~a:2");
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 0);
  assert_int_equal(count(&b, P2PC_CEV_EXPIRE), 0);
  p2pc_causal_stats st = stats(&b);
  assert_int_equal(st.expired_rx + st.expired_deps + st.expired_tx, 0);
  /* The default is 60 s. */
  node c;
  node_new(&c, "C~c", NULL, A);
  assert_int_equal(p2pc_causal_lifetime(c.c), P2PC_CAUSAL_LIFETIME_DEFAULT_NS);
  node_free(&c);
  node_free(&a);
  node_free(&b);
  fini_all(w, 2);
}

/* ---- the sender's side: reports, written-off ranges, giving up ------------
 */

static void test_peer_report(void **state) {
  (void)state;
  node a, b;
  wire_msg w[4];
  node_new(&a, "A~a", &one_second, A);
  node_new(&b, "B~b", &one_second, A);
  set_time(&a, T0);
  set_time(&b, T0);
  for (int i = 0; i < 3; i++)
    send_msg(&a, "B~b", "m", &w[i]);
  set_time(&a, T0 + LIFE / 2);
  send_msg(&a, "B~b", "m", &w[3]);
  uint64_t s[4];
  for (int i = 0; i < 4; i++)
    s[i] = a.ev[i].stamp;
  assert_int_equal(p2pc_causal_local_stable(a.c), s[0]);
  assert_int_equal(arrive(&b, &w[0], 0), 0);
  assert_int_equal(arrive(&b, &w[1], 0), 0);
  expect_report(&b, "B~b", "d=0 wo="); /* about itself: nothing */
  expect_report(&b, "Q", "d=0 wo=");   /* never heard of */
  /* A report about a peer sent nothing (no pending queue at all). */
  assert_int_equal(p2pc_causal_peer_report(b.c, "A~a", 0, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_peer_report(b.c, "A~a", 1, NULL, 0, 0),
                   P2PC_ERR_PROTO);
  assert_int_equal(pass_report(&b, &a), 0);
  assert_int_equal(p2pc_causal_local_stable(a.c), s[2]);
  assert_int_equal(p2pc_causal_pairs(a.c), 1); /* (B, A, 4) stays */
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 0);
  /* The same report again changes nothing. */
  assert_int_equal(pass_report(&b, &a), 0);
  assert_int_equal(p2pc_causal_local_stable(a.c), s[2]);
  /* m3 is written off at B (arrives over Δ old); m4 is delivered. */
  set_time(&b, T0 + LIFE + TICK);
  assert_int_equal(arrive(&b, &w[2], 0), 0);
  assert_string_equal(last(&b), "expire A~a:3");
  assert_int_equal(arrive(&b, &w[3], 0), 0);
  assert_string_equal(last(&b), "deliver A~a:4");
  expect_report(&b, "A~a", "d=4 wo=[3,3]");
  /* m3 is written off at B but not yet Δ old on A's clock (the clocks
   * differ within their bounds): A keeps it pending, and does not report
   * it yet. m4 and its entry are done with. */
  int before = a.n;
  assert_int_equal(pass_report(&b, &a), 0);
  assert_int_equal(a.n, before);
  assert_int_equal(p2pc_causal_local_stable(a.c), s[2]);
  assert_int_equal(p2pc_causal_pairs(a.c), 0); /* (B, A, 4) is delivered */
  p2pc_causal_stats st = stats(&a);
  assert_int_equal(st.expired_tx, 0);
  assert_int_equal(st.stable_deps, 1);
  /* Δ old at A: given up once, and LS stays at its stamp (it settles for
   * 2 s + the margin) ... */
  set_time(&a, T0 + LIFE + TICK);
  assert_int_equal(a.n, before + 1);
  assert_string_equal(last(&a), "expire A~a:3 to B~b at sender");
  assert_true(last_ev(&a)->at_sender);
  assert_int_equal(last_ev(&a)->stamp, s[2]);
  assert_int_equal(p2pc_causal_local_stable(a.c), s[2]);
  /* ... unless its destination says it will never deliver it: the
   * report takes it out at once, without a second EXPIRE. */
  assert_int_equal(pass_report(&b, &a), 0);
  assert_int_equal(a.n, before + 1);
  assert_int_equal(p2pc_causal_local_stable(a.c), p2pc_causal_hlc(a.c));
  st = stats(&a);
  assert_int_equal(st.expired_tx, 1);
  assert_int_equal(st.stable_deps, 1);
  /* Reports that cannot be true are refused and change nothing. */
  uint64_t wo[4] = {3, 5, 0, 0};
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 5, NULL, 0, 0),
                   P2PC_ERR_PROTO);
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 4, wo, 1, 0),
                   P2PC_ERR_PROTO); /* written off beyond what was sent */
  wo[0] = 3;
  wo[1] = 2;
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 4, wo, 1, 0),
                   P2PC_ERR_PROTO); /* first > last */
  wo[0] = 0;
  wo[1] = 2;
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 4, wo, 1, 0),
                   P2PC_ERR_PROTO); /* first is 0 */
  wo[0] = 2;
  wo[1] = 2;
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 4, wo, 1, 0),
                   0); /* one message: a range, as it is on the wire */
  /* Q was sent nothing: it may have delivered our broadcasts (the same
   * numbers, up to our last message), never more. */
  assert_int_equal(
      p2pc_causal_peer_report(a.c, "Q", p2pc_causal_sent(a.c), NULL, 0, 0), 0);
  assert_int_equal(
      p2pc_causal_peer_report(a.c, "Q", p2pc_causal_sent(a.c) + 1, NULL, 0, 0),
      P2PC_ERR_PROTO);
  assert_int_equal(p2pc_causal_peer_report(a.c, "Q", 0, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_peer_report(a.c, "bad id", 0, NULL, 0, 0),
                   P2PC_ERR_INVAL);
  assert_int_equal(p2pc_causal_peer_report(a.c, NULL, 0, NULL, 0, 0),
                   P2PC_ERR_INVAL);
  assert_int_equal(a.n, before + 1);
  node_free(&a);
  node_free(&b);
  fini_all(w, 4);
}

/* Written-off ranges in a report ([first, last], inclusive): the pending
 * messages they cover stay pending while they are younger than Δ on the
 * sender's clock; once given up (EXPIRE at the sender, once), a report
 * that covers them takes them out at once. One that is Δ old but not yet
 * given up is given up by the report ("written off at its destination"). */
static void test_peer_report_ranges(void **state) {
  (void)state;
  node a;
  p2pc_buf out;
  node_new(&a, "A~a", &one_second, A);
  p2pc_buf_init(&out, A, 1 << 16);
  set_time(&a, T0);
  for (int i = 0; i < 6; i++)
    assert_int_equal(
        p2pc_causal_send(a.c, "B~b", (const uint8_t *)"x", 2, 0, &out), 0);
  uint64_t s[6];
  for (int i = 0; i < 6; i++)
    s[i] = a.ev[i].stamp;
  const uint64_t wo[4] = {2, 2, 4, 5};
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 1, wo, 2, 0), 0);
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 0);
  assert_int_equal(p2pc_causal_local_stable(a.c), s[1]);
  /* Δ old: 2 to 6 are given up, each once; LS stays at 2 (settling). */
  set_time(&a, T0 + LIFE + TICK);
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 5);
  for (int i = 1; i <= 5; i++) {
    assert_true(a.ev[a.n - i].at_sender);
    assert_int_equal(a.ev[a.n - i].n, 7 - i);
  }
  assert_int_equal(p2pc_causal_local_stable(a.c), s[1]);
  /* The same report again: 2, 4 and 5 leave, silently; then 3. */
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 1, wo, 2, 0), 0);
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 5);
  assert_int_equal(p2pc_causal_local_stable(a.c), s[2]);
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 3, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_local_stable(a.c), s[5]);
  assert_int_equal(stats(&a).expired_tx, 5);
  /* 7 is sent at T0 + 2Δ: 6 settles, 7 holds LS. 8 is sent when 7 is
   * not quite Δ old and ticks the HLC one past it, so 7 is Δ old but not
   * yet given up when B's report writes it off: the report gives it up. */
  set_time(&a, T0 + 2 * LIFE + (int64_t)P2PC_CAUSAL_SETTLE_NS +
                   (int64_t)P2PC_CAUSAL_AHEAD_MARGIN_DEFAULT_NS);
  assert_int_equal(p2pc_causal_local_stable(a.c), p2pc_causal_hlc(a.c));
  assert_int_equal(
      p2pc_causal_send(a.c, "B~b", (const uint8_t *)"x", 2, 0, &out), 0);
  uint64_t s7 = last_ev(&a)->stamp;
  assert_int_equal(p2pc_causal_local_stable(a.c), s7);
  p2pc_causal_set_time(a.c, (int64_t)(s7 + LIFE - 1), ERR, 0);
  assert_int_equal(p2pc_causal_hlc(a.c), s7 + LIFE - 1);
  assert_int_equal(
      p2pc_causal_send(a.c, "C~c", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_int_equal(p2pc_causal_hlc(a.c), s7 + LIFE);
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 5);
  const uint64_t wo7[2] = {7, 7};
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 6, wo7, 1, 0), 0);
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 6);
  assert_string_equal(last(&a), "expire A~a:7 to B~b at sender");
  /* It will never be delivered: no need to let it settle. */
  assert_int_equal(p2pc_causal_local_stable(a.c), last_ev(&a)->hlc);
  assert_int_equal(p2pc_causal_local_stable(a.c), a.ev[a.n - 2].stamp);
  assert_int_equal(stats(&a).expired_tx, 6);
  p2pc_buf_fini(&out);
  node_free(&a);
}

/* Messages sent and never acknowledged are given up once Δ old (EXPIRE at
 * the sender, once), but hold LS back until they are Δ + 2 s + the margin
 * old: their destination's clock may be behind the sender's, and must
 * have expired them before anything that no longer carries their entry
 * (pruned because LS passed them) reaches it. */
static void test_sender_gives_up(void **state) {
  (void)state;
  node a;
  p2pc_buf out;
  node_new(&a, "A~a", &one_second, A);
  p2pc_buf_init(&out, A, 1 << 16);
  set_time(&a, T0);
  assert_int_equal(
      p2pc_causal_send(a.c, "B~b", (const uint8_t *)"x", 2, 0, &out), 0);
  uint64_t s1 = last_ev(&a)->stamp;
  assert_int_equal(s1, (uint64_t)T0 + 1);
  set_time(&a, T0 + LIFE / 2);
  assert_int_equal(
      p2pc_causal_send(a.c, "C~c", (const uint8_t *)"x", 2, 0, &out), 0);
  uint64_t s2 = last_ev(&a)->stamp;
  assert_int_equal(p2pc_causal_pairs(a.c), 2);
  assert_int_equal(p2pc_causal_local_stable(a.c), s1);
  set_time(&a, T0 + LIFE);
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 0);
  set_time(&a, T0 + LIFE + TICK);
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 1);
  assert_string_equal(last(&a), "expire A~a:1 to B~b at sender");
  assert_int_equal(last_ev(&a)->stamp, s1);
  assert_int_equal(p2pc_causal_pairs(a.c), 1); /* (B, A, 1) expired too */
  /* Given up, but still holding LS at its stamp. */
  assert_int_equal(p2pc_causal_local_stable(a.c), s1);
  set_time(&a, T0 + LIFE / 2 + LIFE + TICK);
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 2);
  assert_string_equal(last(&a), "expire A~a:2 to C~c at sender");
  assert_int_equal(p2pc_causal_pairs(a.c), 0);
  assert_int_equal(p2pc_causal_local_stable(a.c), s1);
  /* Until the HLC reaches s1 + Δ + settle, and not a tick earlier; then it
   * rises to the next one held, with no second EXPIRE. */
  int64_t due1 = (int64_t)s1 + LIFE + SETTLE;
  set_time(&a, due1 - 1);
  assert_true(p2pc_causal_hlc(a.c) < (uint64_t)due1);
  assert_int_equal(p2pc_causal_local_stable(a.c), s1);
  set_time(&a, due1 + TICK - 1);
  assert_true(p2pc_causal_hlc(a.c) >= (uint64_t)due1);
  assert_int_equal(p2pc_causal_local_stable(a.c), s2);
  int64_t due2 = (int64_t)s2 + LIFE + SETTLE;
  set_time(&a, due2 - 1);
  assert_int_equal(p2pc_causal_local_stable(a.c), s2);
  set_time(&a, due2 + TICK - 1);
  assert_int_equal(p2pc_causal_local_stable(a.c), p2pc_causal_hlc(a.c));
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 2);
  /* A late report of one that settled changes nothing. */
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 1, NULL, 0, 0), 0);
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 2);
  p2pc_causal_stats st = stats(&a);
  assert_int_equal(st.expired_tx, 2);
  assert_int_equal(st.expired_deps, 2);
  p2pc_buf_fini(&out);
  node_free(&a);
}

/* Two messages to one destination: the second is given up when it is Δ
 * old, not once the first (given up earlier) has settled. */
static void test_give_up_behind_a_settling_one(void **state) {
  (void)state;
  node a;
  p2pc_buf out;
  node_new(&a, "A~a", &one_second, A);
  p2pc_buf_init(&out, A, 1 << 16);
  set_time(&a, T0);
  assert_int_equal(
      p2pc_causal_send(a.c, "B~b", (const uint8_t *)"x", 2, 0, &out), 0);
  uint64_t s1 = last_ev(&a)->stamp;
  set_time(&a, T0 + LIFE / 2);
  assert_int_equal(
      p2pc_causal_send(a.c, "B~b", (const uint8_t *)"x", 2, 0, &out), 0);
  uint64_t s2 = last_ev(&a)->stamp;
  set_time(&a, T0 + LIFE + TICK);
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 1);
  assert_string_equal(last(&a), "expire A~a:1 to B~b at sender");
  /* 2 is Δ old; 1 has not settled yet. */
  set_time(&a, (int64_t)s2 + LIFE + TICK);
  assert_true(p2pc_causal_hlc(a.c) < s1 + LIFE + SETTLE);
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 2);
  assert_string_equal(last(&a), "expire A~a:2 to B~b at sender");
  assert_int_equal(p2pc_causal_local_stable(a.c), s1);
  /* Each settles on its own time. */
  set_time(&a, (int64_t)s1 + LIFE + SETTLE + TICK);
  assert_int_equal(p2pc_causal_local_stable(a.c), s2);
  set_time(&a, (int64_t)s2 + LIFE + SETTLE + TICK);
  assert_int_equal(p2pc_causal_local_stable(a.c), p2pc_causal_hlc(a.c));
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 2);
  p2pc_buf_fini(&out);
  node_free(&a);
}

/* A given-up message keeps holding LS while later messages to the same
 * destination come and go, until a report covers it: here B's
 * `delivered`, which passes it (written off there when the later ones
 * were delivered). */
static void test_settling_holds_ls(void **state) {
  (void)state;
  node a;
  p2pc_buf out;
  node_new(&a, "A~a", &one_second, A);
  p2pc_buf_init(&out, A, 1 << 16);
  set_time(&a, T0);
  assert_int_equal(
      p2pc_causal_send(a.c, "B~b", (const uint8_t *)"x", 2, 0, &out), 0);
  uint64_t s1 = last_ev(&a)->stamp;
  set_time(&a, T0 + LIFE + TICK);
  assert_string_equal(last(&a), "expire A~a:1 to B~b at sender");
  for (int i = 0; i < 3; i++)
    assert_int_equal(
        p2pc_causal_send(a.c, "B~b", (const uint8_t *)"x", 2, 0, &out), 0);
  /* Nothing delivered at B yet. */
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 0, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_local_stable(a.c), s1);
  for (int k = 1; k < 8; k++) {
    set_time(&a, T0 + LIFE + k * (LIFE / 8));
    assert_int_equal(p2pc_causal_local_stable(a.c), s1);
  }
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 1);
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 4, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_local_stable(a.c), p2pc_causal_hlc(a.c));
  assert_int_equal(count(&a, P2PC_CEV_EXPIRE), 1);
  p2pc_buf_fini(&out);
  node_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_expire_on_arrival),
      cmocka_unit_test(test_expire_buffered),
      cmocka_unit_test(test_expired_entry_releases),
      cmocka_unit_test(test_expired_prev_writes_off),
      cmocka_unit_test(test_expiry_boundary),
      cmocka_unit_test(test_expired_entries_not_merged),
      cmocka_unit_test(test_merge_keeps_latest),
      cmocka_unit_test(test_lifetime_infinite),
      cmocka_unit_test(test_peer_report),
      cmocka_unit_test(test_peer_report_ranges),
      cmocka_unit_test(test_sender_gives_up),
      cmocka_unit_test(test_settling_holds_ls),
      cmocka_unit_test(test_give_up_behind_a_settling_one),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
