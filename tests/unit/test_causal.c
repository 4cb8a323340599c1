/* SPDX-License-Identifier: MIT */
/*
 * Δ-SES causal delivery (causal.h), rule by rule: hold-back and release,
 * one sender's stream, self-sends, duplicates, misaddressed input,
 * retirement, and the hybrid logical clock with its refusal of stamps from
 * too far ahead. The other rules: test_causal_expiry.c (expiry on both
 * sides, reports, written-off ranges), test_causal_stable.c (entries' hop
 * counts, stability, LS values) and test_causal_caps.c (every cap,
 * all-or-nothing under allocation failure).
 */
#include "causalfix.h"

/* ---- hold-back and release --------------------------------------------- */

/* A sends m1 to C, then m2 to B; B delivers m2 and sends m3 to C; m3
 * reaches C first and must wait for m1 (m3 carries the entry (C, A, 1)). */
static void test_holdback_and_release(void **state) {
  (void)state;
  node a, b, c;
  wire_msg w[3];
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", NULL, A);
  node_new(&c, "C~c", NULL, A);

  send_msg(&a, "C~c", "m1", &w[0]);
  assert_string_equal(last(&a), "send A~a:1 to C~c");
  assert_int_equal(last_ev(&a)->deps, 0);
  uint64_t s1 = last_ev(&a)->stamp;
  assert_int_equal(s1, p2pc_causal_last_stamp(a.c));
  assert_int_equal(last_ev(&a)->bytes, 3);
  assert_int_equal(last_ev(&a)->meta, w[0].b.len - 1 - 3);
  assert_int_equal(p2pc_causal_pairs(a.c), 1);

  send_msg(&a, "B~b", "m2", &w[1]);
  assert_string_equal(last(&a), "send A~a:2 to B~b");
  assert_int_equal(last_ev(&a)->deps, 1); /* (C, A, 1) */
  assert_true(last_ev(&a)->stamp > s1);
  assert_int_equal(p2pc_causal_sent(a.c), 2);
  assert_int_equal(p2pc_causal_pairs(a.c), 2);

  assert_int_equal(arrive(&b, &w[1], 0), 0);
  assert_string_equal(back(&b, 2), "recv A~a:2");
  assert_string_equal(last(&b), "deliver A~a:2");
  assert_int_equal(last_ev(&b)->stamp, p2pc_causal_last_stamp(a.c));
  assert_int_equal(p2pc_causal_pairs(b.c), 1); /* (C, A, 1) merged */

  send_msg(&b, "C~c", "m3", &w[2]);
  assert_int_equal(last_ev(&b)->deps, 1);
  uint64_t s3 = last_ev(&b)->stamp;
  assert_int_equal(p2pc_causal_pairs(b.c), 2); /* (C, A, 1), (C, B, 1) */

  assert_int_equal(arrive(&c, &w[2], 100), 0);
  assert_string_equal(back(&c, 2), "recv B~b:1");
  assert_string_equal(last(&c), "buffer B~b:1 waits A~a:1 unmet 1");
  assert_int_equal(last_ev(&c)->stamp, s3);
  assert_int_equal(last_ev(&c)->bytes, 3);
  assert_int_equal(p2pc_causal_buffered(c.c), 1);
  expect_report(&c, "B~b", "d=0 wo=");

  assert_int_equal(arrive(&c, &w[0], 350), 0);
  assert_int_equal(c.n, 5);
  assert_string_equal(c.ev[2].line, "recv A~a:1");
  assert_string_equal(c.ev[3].line, "deliver A~a:1");
  assert_int_equal(c.ev[3].stamp, s1);
  assert_int_equal(c.ev[3].waited_ns, 0);
  assert_string_equal(c.ev[4].line, "deliver B~b:1");
  assert_int_equal(c.ev[4].stamp, s3);
  assert_int_equal(c.ev[4].waited_ns, 250); /* buffered at 100 until 350 */
  assert_int_equal(p2pc_causal_buffered(c.c), 0);
  /* Entries about C itself are never kept at C. */
  assert_int_equal(p2pc_causal_pairs(c.c), 0);
  expect_report(&c, "A~a", "d=1 wo=");
  expect_report(&c, "B~b", "d=1 wo=");
  p2pc_causal_stats st = stats(&c);
  assert_int_equal(st.received, 2);
  assert_int_equal(st.delivered, 2);
  assert_int_equal(st.buffered, 1);
  node_free(&a);
  node_free(&b);
  node_free(&c);
  fini_all(w, 3);
}

/* A message that waits for two: D gets c1 carrying (D, A, 1) and
 * (D, B, 1), then b1 carrying (D, A, 1), then a1, which releases both in
 * causal order. */
static void test_waits_for_two(void **state) {
  (void)state;
  node a, b, c, d;
  wire_msg a1, a2, b1, b2, c1;
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", NULL, A);
  node_new(&c, "C~c", NULL, A);
  node_new(&d, "D~d", NULL, A);
  send_msg(&a, "D~d", "a1", &a1);
  send_msg(&a, "B~b", "a2", &a2);
  assert_int_equal(arrive(&b, &a2, 0), 0);
  send_msg(&b, "D~d", "b1", &b1);
  send_msg(&b, "C~c", "b2", &b2);
  assert_int_equal(arrive(&c, &b2, 0), 0);
  send_msg(&c, "D~d", "c1", &c1);
  assert_int_equal(last_ev(&c)->deps, 2);
  assert_int_equal(arrive(&d, &c1, 0), 0);
  assert_string_equal(last(&d), "buffer C~c:1 waits A~a:1 unmet 2");
  assert_int_equal(arrive(&d, &b1, 0), 0);
  assert_string_equal(last(&d), "buffer B~b:1 waits A~a:1 unmet 1");
  assert_int_equal(p2pc_causal_buffered(d.c), 2);
  assert_int_equal(arrive(&d, &a1, 0), 0);
  assert_string_equal(back(&d, 3), "deliver A~a:1");
  assert_string_equal(back(&d, 2), "deliver B~b:1");
  assert_string_equal(back(&d, 1), "deliver C~c:1");
  assert_int_equal(p2pc_causal_buffered(d.c), 0);
  node_free(&a);
  node_free(&b);
  node_free(&c);
  node_free(&d);
  wire_msg *all[] = {&a1, &a2, &b1, &b2, &c1};
  for (int i = 0; i < 5; i++)
    p2pc_buf_fini(&all[i]->b);
}

/* One sender's stream to one destination: the second message carries the
 * entry about the first (its prev) and waits for it. */
static void test_stream_fifo(void **state) {
  (void)state;
  node a, b;
  wire_msg w[3];
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", NULL, A);
  send_msg(&a, "B~b", "first", &w[0]);
  send_msg(&a, "B~b", "second", &w[1]);
  assert_int_equal(last_ev(&a)->deps, 1);
  /* Only the latest message per (dest, sender) is kept. */
  assert_int_equal(p2pc_causal_pairs(a.c), 1);
  send_msg(&a, "B~b", "third", &w[2]);
  assert_int_equal(last_ev(&a)->deps, 1);
  assert_int_equal(arrive(&b, &w[2], 0), 0);
  assert_string_equal(last(&b), "buffer A~a:3 waits A~a:2 unmet 1");
  assert_int_equal(arrive(&b, &w[1], 0), 0);
  assert_string_equal(last(&b), "buffer A~a:2 waits A~a:1 unmet 1");
  assert_int_equal(arrive(&b, &w[0], 0), 0);
  assert_string_equal(back(&b, 3), "deliver A~a:1");
  assert_string_equal(back(&b, 2), "deliver A~a:2");
  assert_string_equal(back(&b, 1), "deliver A~a:3");
  expect_report(&b, "A~a", "d=3 wo=");
  node_free(&a);
  node_free(&b);
  fini_all(w, 3);
}

/* A message to self is delivered at once, stamped, outside SES: nothing on
 * the wire, no entry. The counter is shared with the other sends. */
static void test_self_send(void **state) {
  (void)state;
  node a, b;
  p2pc_buf out;
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", NULL, A);
  p2pc_buf_init(&out, A, 1024);
  assert_int_equal(
      p2pc_causal_send(a.c, "A~a", (const uint8_t *)"me", 3, 0, &out), 0);
  assert_int_equal(out.len, 0);
  assert_int_equal(a.n, 2);
  assert_string_equal(a.ev[0].line, "send A~a:1 to A~a");
  assert_string_equal(a.ev[1].line, "deliver A~a:1");
  assert_int_equal(a.ev[0].stamp, a.ev[1].stamp);
  assert_true(a.ev[0].stamp > 0);
  assert_int_equal(p2pc_causal_pairs(a.c), 0);
  assert_int_equal(p2pc_causal_local_stable(a.c), p2pc_causal_hlc(a.c));
  assert_int_equal(
      p2pc_causal_send(a.c, "B~b", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_string_equal(last(&a), "send A~a:2 to B~b");
  assert_true(last_ev(&a)->stamp > a.ev[0].stamp);
  /* B takes A:2 at once: A:1 never was in B's stream (prev is 0). */
  assert_int_equal(p2pc_causal_receive(b.c, "A~a", out.data, out.len, 0), 0);
  assert_string_equal(last(&b), "deliver A~a:2");
  expect_report(&b, "A~a", "d=2 wo=");
  p2pc_buf_fini(&out);
  node_free(&a);
  node_free(&b);
}

/* ---- duplicates ---------------------------------------------------------- */

static void test_duplicates(void **state) {
  (void)state;
  node a, b;
  wire_msg w[2];
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", NULL, A);
  send_msg(&a, "B~b", "1", &w[0]);
  send_msg(&a, "B~b", "2", &w[1]);
  assert_int_equal(arrive(&b, &w[1], 0), 0); /* buffered */
  int before = b.n;
  assert_int_equal(arrive(&b, &w[1], 0), 0); /* a copy of a buffered one */
  assert_int_equal(b.n, before + 1);
  assert_string_equal(last(&b), "dup A~a:2");
  assert_int_equal(last_ev(&b)->stamp, a.ev[1].stamp);
  assert_int_equal(p2pc_causal_buffered(b.c), 1);
  assert_int_equal(arrive(&b, &w[0], 0), 0);
  assert_int_equal(count(&b, P2PC_CEV_DELIVER), 2);
  assert_int_equal(arrive(&b, &w[0], 0), 0); /* copies of delivered ones */
  assert_string_equal(last(&b), "dup A~a:1");
  assert_int_equal(arrive(&b, &w[1], 0), 0);
  assert_string_equal(last(&b), "dup A~a:2");
  p2pc_causal_stats st = stats(&b);
  assert_int_equal(st.delivered, 2);
  assert_int_equal(st.received, 2);
  assert_int_equal(st.duplicates, 3);
  assert_int_equal(count(&b, P2PC_CEV_DELIVER), 2);
  assert_int_equal(count(&b, P2PC_CEV_RECV), 2);
  node_free(&a);
  node_free(&b);
  fini_all(w, 2);
}

/* ---- malformed and misaddressed input ------------------------------------ */

static void test_misaddressed_and_wrong_sender(void **state) {
  (void)state;
  node a, b, c;
  wire_msg w;
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", NULL, A);
  node_new(&c, "C~c", NULL, A);
  send_msg(&a, "B~b", "for B", &w);
  assert_int_equal(arrive(&c, &w, 0), P2PC_ERR_PROTO);
  /* A refused message leaves no trace, not even its names in the table. */
  assert_null(p2pc_causal_id_name(c.c, 1));
  assert_int_equal(p2pc_causal_receive(b.c, "C~c", w.b.data, w.b.len, 0),
                   P2PC_ERR_PROTO);
  assert_null(p2pc_causal_id_name(b.c, 1));
  assert_int_equal(b.n, 0);
  assert_int_equal(p2pc_causal_receive(b.c, "A~a", w.b.data, w.b.len, 0), 0);
  p2pc_causal_stats st = stats(&b);
  assert_int_equal(st.malformed, 1);
  assert_int_equal(st.delivered, 1);
  for (size_t n = 0; n < w.b.len; n++)
    assert_int_equal(p2pc_causal_receive(c.c, NULL, w.b.data, n, 0),
                     P2PC_ERR_PROTO);
  assert_int_equal(c.n, 0);
  assert_int_equal(
      p2pc_causal_send(a.c, "bad id", (const uint8_t *)"", 0, 0, &w.b),
      P2PC_ERR_INVAL);
  assert_int_equal(p2pc_causal_send(a.c, NULL, NULL, 0, 0, &w.b),
                   P2PC_ERR_INVAL);
  assert_int_equal(p2pc_causal_send(a.c, "B~b", NULL, 1, 0, &w.b),
                   P2PC_ERR_INVAL);
  node_free(&a);
  node_free(&b);
  node_free(&c);
  p2pc_buf_fini(&w.b);
}

/* ---- retirement ---------------------------------------------------------- */

/* X~a dies. Y retires it: X's buffered messages are dropped, a message that
 * waited only for X's lost one goes, one that also waits for a live
 * sender's keeps waiting, late ones from X are dropped on arrival. */
static void test_retirement(void **state) {
  (void)state;
  node x, w, y;
  wire_msg m1, m2, m3, m4, m5, m6, y1;
  node_new(&x, "X~a", NULL, A);
  node_new(&w, "W~w", NULL, A);
  node_new(&y, "Y~y", NULL, A);
  send_msg(&x, "Y~y", "m1", &m1); /* lost: X crashes */
  send_msg(&x, "W~w", "m2", &m2);
  assert_int_equal(arrive(&w, &m2, 0), 0);
  send_msg(&w, "Y~y", "m3", &m3); /* carries (Y, X~a, 1) */
  send_msg(&w, "Y~y", "m4", &m4);
  send_msg(&w, "Y~y", "m5", &m5);
  send_msg(&x, "Y~y", "m6", &m6); /* X's stream to Y: waits for m1 */
  send_msg(&y, "X~a", "y1", &y1); /* Y's message to X, never delivered */
  assert_int_equal(p2pc_causal_local_stable(y.c), last_ev(&y)->stamp);
  assert_int_equal(p2pc_causal_pairs(y.c), 1);

  assert_int_equal(arrive(&y, &m3, 0), 0);
  assert_string_equal(last(&y), "buffer W~w:1 waits X~a:1 unmet 1");
  assert_int_equal(arrive(&y, &m5, 0), 0);
  assert_string_equal(last(&y), "buffer W~w:3 waits X~a:1 unmet 2");
  assert_int_equal(arrive(&y, &m6, 0), 0);
  assert_string_equal(last(&y), "buffer X~a:3 waits X~a:1 unmet 1");
  assert_int_equal(p2pc_causal_buffered(y.c), 3);

  int before = y.n;
  assert_int_equal(p2pc_causal_retire(y.c, "X~a", 10), 0);
  assert_true(p2pc_causal_is_retired(y.c, "X~a"));
  assert_false(p2pc_causal_is_retired(y.c, "W~w"));
  assert_false(p2pc_causal_is_retired(y.c, "Q"));
  assert_int_equal(y.n, before + 2);
  assert_string_equal(back(&y, 2), "drop X~a:3");
  assert_string_equal(back(&y, 1), "deliver W~w:1");
  assert_int_equal(p2pc_causal_buffered(y.c), 1); /* m5 waits for m4 */
  /* Y's message to X left the pending set silently, and its entry. */
  assert_int_equal(count(&y, P2PC_CEV_EXPIRE), 0);
  assert_int_equal(p2pc_causal_local_stable(y.c), p2pc_causal_hlc(y.c));
  assert_int_equal(p2pc_causal_pairs(y.c), 0);

  assert_int_equal(arrive(&y, &m4, 20), 0);
  assert_string_equal(back(&y, 2), "deliver W~w:2");
  assert_string_equal(back(&y, 1), "deliver W~w:3");
  assert_int_equal(p2pc_causal_buffered(y.c), 0);
  /* Late messages of the retired identity are dropped, not delivered. */
  assert_int_equal(arrive(&y, &m1, 30), 0);
  assert_string_equal(last(&y), "drop X~a:1");
  p2pc_causal_stats st = stats(&y);
  assert_int_equal(st.delivered, 3);
  assert_int_equal(st.dropped_retired, 2);
  /* No sends to it, no retiring oneself; retiring twice is harmless. */
  p2pc_buf out;
  p2pc_buf_init(&out, A, 1024);
  before = y.n;
  assert_int_equal(
      p2pc_causal_send(y.c, "X~a", (const uint8_t *)"x", 2, 0, &out),
      P2PC_ERR_INVAL);
  assert_int_equal(out.len, 0);
  assert_int_equal(p2pc_causal_sent(y.c), 1);
  assert_int_equal(p2pc_causal_retire(y.c, "Y~y", 0), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_causal_retire(y.c, "bad id", 0), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_causal_retire(y.c, NULL, 0), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_causal_retire(y.c, "X~a", 0), 0);
  assert_int_equal(y.n, before);
  /* An identity retired before Z ever heard of it: its first message is
   * dropped on arrival; and Z's buffered messages of X go when Z retires
   * it. */
  node z;
  wire_msg q1, q2;
  node_new(&z, "Z~z", NULL, A);
  assert_int_equal(p2pc_causal_retire(z.c, "V~v", 0), 0);
  assert_true(p2pc_causal_is_retired(z.c, "V~v"));
  send_msg(&x, "Z~z", "q1", &q1);
  send_msg(&x, "Z~z", "q2", &q2);
  assert_int_equal(arrive(&z, &q2, 0), 0);
  assert_string_equal(last(&z), "buffer X~a:5 waits X~a:4 unmet 1");
  assert_int_equal(p2pc_causal_retire(z.c, "X~a", 0), 0);
  assert_int_equal(p2pc_causal_buffered(z.c), 0);
  assert_string_equal(last(&z), "drop X~a:5");
  assert_int_equal(arrive(&z, &q1, 0), 0);
  assert_string_equal(last(&z), "drop X~a:4");
  assert_int_equal(count(&z, P2PC_CEV_DELIVER), 0);
  p2pc_buf_fini(&out);
  node_free(&x);
  node_free(&w);
  node_free(&y);
  node_free(&z);
  wire_msg *all[] = {&m1, &m2, &m3, &m4, &m5, &m6, &y1, &q1, &q2};
  for (int i = 0; i < 9; i++)
    p2pc_buf_fini(&all[i]->b);
}

/* ---- the hybrid logical clock -------------------------------------------- */

static void test_hlc_stamps(void **state) {
  (void)state;
  node a, b;
  wire_msg w, w2;
  p2pc_buf out;
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", NULL, A);
  p2pc_buf_init(&out, A, 1 << 16);
  /* Without a network time the HLC is a counter. */
  assert_int_equal(p2pc_causal_hlc(a.c), 0);
  assert_int_equal(
      p2pc_causal_send(a.c, "C~c", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_int_equal(last_ev(&a)->stamp, 1);
  /* Never below the network time (its physical part) ... */
  set_time(&a, T0 + 12345);
  assert_int_equal(p2pc_causal_hlc(a.c), (uint64_t)T0);
  assert_int_equal(P2PC_HLC_PHYS(T0 + 12345), (uint64_t)T0);
  assert_int_equal(
      p2pc_causal_send(a.c, "D~d", (const uint8_t *)"x", 2, 0, &out), 0);
  uint64_t prev = last_ev(&a)->stamp;
  assert_int_equal(prev, (uint64_t)T0 + 1);
  /* ... strictly increasing while time stands still or steps back. */
  for (int i = 0; i < 3; i++) {
    if (i == 2)
      set_time(&a, T0 - 5 * LIFE);
    assert_int_equal(
        p2pc_causal_send(a.c, "C~c", (const uint8_t *)"x", 2, 0, &out), 0);
    assert_int_equal(last_ev(&a)->stamp, prev + 1);
    assert_int_equal(last_ev(&a)->hlc, last_ev(&a)->stamp);
    prev = last_ev(&a)->stamp;
  }
  assert_int_equal(p2pc_causal_last_stamp(a.c), prev);
  /* Self-sends tick it too. */
  assert_int_equal(
      p2pc_causal_send(a.c, "A~a", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_int_equal(last_ev(&a)->stamp, prev + 1);
  /* When time moves on, the stamp follows it. */
  set_time(&a, T0 + 3 * TICK);
  assert_int_equal(p2pc_causal_hlc(a.c), (uint64_t)T0 + 3 * TICK);
  send_msg(&a, "B~b", "to b", &w);
  uint64_t sw = last_ev(&a)->stamp;
  assert_int_equal(sw, (uint64_t)T0 + 3 * TICK + 1);
  /* The receive rule: B, whose clock is a little behind, takes the stamp
   * in and passes it; its next send is stamped above it. */
  set_time(&b, T0);
  assert_int_equal(p2pc_causal_hlc(b.c), (uint64_t)T0);
  assert_int_equal(arrive(&b, &w, 0), 0);
  assert_string_equal(last(&b), "deliver A~a:7");
  assert_int_equal(last_ev(&b)->hlc, sw + 1);
  assert_int_equal(p2pc_causal_hlc(b.c), sw + 1);
  assert_int_equal(
      p2pc_causal_send(b.c, "C~c", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_int_equal(last_ev(&b)->stamp, sw + 2);
  /* A stamp below B's clock leaves it where it was, plus one. */
  uint64_t hb = p2pc_causal_hlc(b.c);
  send_msg(&a, "B~b", "older", &w2);
  assert_true(last_ev(&a)->stamp < hb);
  assert_int_equal(arrive(&b, &w2, 0), 0);
  assert_string_equal(last(&b), "deliver A~a:8");
  assert_int_equal(p2pc_causal_hlc(b.c), hb + 1);
  p2pc_buf_fini(&out);
  p2pc_buf_fini(&w.b);
  p2pc_buf_fini(&w2.b);
  node_free(&a);
  node_free(&b);
}

/* A stamp further ahead of this node's network time than its error bound
 * plus the margin is refused (AHEAD, REFUSE) and leaves no state; offered
 * again once time has caught up, it is taken. */
static void test_hlc_refuses_ahead(void **state) {
  (void)state;
  const int64_t lead = 4000 * TICK; /* ~262 ms */
  p2pc_causal_config margin = {.ahead_margin_ns = (uint64_t)lead};
  node a, b, c, d;
  wire_msg w;
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", NULL, A);
  node_new(&c, "B~b", &margin, A);
  node_new(&d, "B~b", NULL, A);
  set_time(&a, T0 + LIFE);
  send_msg(&a, "B~b", "from the future", &w);
  uint64_t s = last_ev(&a)->stamp;
  assert_int_equal(s, (uint64_t)(T0 + LIFE) + 1);
  /* B: T0 + ~1 ms + 250 ms < T0 + ~1.07 s. */
  set_time(&b, T0);
  uint64_t hb = p2pc_causal_hlc(b.c);
  p2pc_causal_stats st0 = stats(&b);
  assert_int_equal(arrive(&b, &w, 0), P2PC_ERR_AHEAD);
  assert_int_equal(b.n, 1);
  assert_string_equal(last(&b), "refuse A~a:1");
  assert_int_equal(last_ev(&b)->stamp, s);
  assert_int_equal(last_ev(&b)->hlc, hb);
  assert_int_equal(p2pc_causal_hlc(b.c), hb);
  assert_null(p2pc_causal_id_name(b.c, 1)); /* A's name did not stay */
  assert_int_equal(p2pc_causal_buffered(b.c), 0);
  expect_report(&b, "A~a", "d=0 wo=");
  p2pc_causal_stats st = stats(&b);
  assert_int_equal(st.refused_ahead, 1);
  st.refused_ahead = 0;
  assert_memory_equal(&st, &st0, sizeof st);
  /* Still too early. */
  set_time(&b, T0 + LIFE - 300 * MS);
  assert_int_equal(arrive(&b, &w, 0), P2PC_ERR_AHEAD);
  /* Time has advanced: taken. */
  set_time(&b, T0 + LIFE - 200 * MS);
  assert_int_equal(arrive(&b, &w, 0), 0);
  assert_string_equal(last(&b), "deliver A~a:1");
  assert_int_equal(p2pc_causal_hlc(b.c), s + 1);
  assert_int_equal(stats(&b).refused_ahead, 2);
  /* The bound is inclusive: network time + error + margin == stamp is
   * taken, one ns less is not. */
  p2pc_causal_set_time(c.c, T0 + LIFE - lead, 0, 0);
  assert_int_equal(arrive(&c, &w, 0), P2PC_ERR_AHEAD);
  p2pc_causal_set_time(c.c, T0 + LIFE - lead, 1, 0);
  assert_int_equal(arrive(&c, &w, 0), 0);
  assert_string_equal(last(&c), "deliver A~a:1");
  /* A node without a network time takes any stamp ... */
  assert_int_equal(arrive(&d, &w, 0), 0);
  assert_int_equal(p2pc_causal_hlc(d.c), s + 1);
  /* ... that a network time can reach: not one above INT64_MAX, which
   * would wrap its HLC to 0 and, with the entries it carries, make every
   * later send invalid. */
  p2pc_idtab ids;
  p2pc_idtab_init(&ids, A, 8);
  uint32_t ia, ib, ic;
  assert_int_equal(p2pc_idtab_intern(&ids, "A~a", 3, &ia), 0);
  assert_int_equal(p2pc_idtab_intern(&ids, "B~b", 3, &ib), 0);
  assert_int_equal(p2pc_idtab_intern(&ids, "C~c", 3, &ic), 0);
  const uint64_t far[3] = {(uint64_t)INT64_MAX + 1, UINT64_MAX - 1, UINT64_MAX};
  for (int i = 0; i < 3; i++) {
    p2pc_ses_dep e = {ic, ia, 1, far[i] - 1, 0};
    p2pc_ses_msg m;
    p2pc_ses_msg_init(&m);
    m.sender = ia;
    m.dest = ib;
    m.n = 2;
    m.prev = 1;
    m.stamp = far[i];
    m.deps = &e;
    m.ndeps = 1;
    p2pc_buf fb;
    p2pc_wire_scratch scratch = {0};
    p2pc_buf_init(&fb, A, 1024);
    assert_int_equal(p2pc_wire_ses_put(&fb, &m, &ids, &scratch, A, NULL), 0);
    uint64_t hd = p2pc_causal_hlc(d.c);
    assert_int_equal(p2pc_causal_receive(d.c, NULL, fb.data, fb.len, 0),
                     P2PC_ERR_AHEAD);
    assert_string_equal(last(&d), "refuse A~a:2");
    assert_int_equal(p2pc_causal_hlc(d.c), hd);
    p2pc_wire_scratch_fini(&scratch, A);
    p2pc_buf_fini(&fb);
  }
  p2pc_idtab_fini(&ids);
  /* Sends go on above what it took. */
  p2pc_buf out;
  p2pc_buf_init(&out, A, 1024);
  assert_int_equal(
      p2pc_causal_send(d.c, "C~c", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_int_equal(last_ev(&d)->stamp, s + 2);
  p2pc_buf_fini(&out);
  node_free(&a);
  node_free(&b);
  node_free(&c);
  node_free(&d);
  p2pc_buf_fini(&w.b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_holdback_and_release),
      cmocka_unit_test(test_waits_for_two),
      cmocka_unit_test(test_stream_fifo),
      cmocka_unit_test(test_self_send),
      cmocka_unit_test(test_duplicates),
      cmocka_unit_test(test_misaddressed_and_wrong_sender),
      cmocka_unit_test(test_retirement),
      cmocka_unit_test(test_hlc_stamps),
      cmocka_unit_test(test_hlc_refuses_ahead),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
