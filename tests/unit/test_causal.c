/* SPDX-License-Identifier: MIT */
/*
 * SES causal delivery: the worked example of ALGORITHMS.md A.8 step by step,
 * then the rules one at a time: FIFO on one pair, self-sends, duplicates,
 * the bounded buffer and what FULL means, pruning, misaddressed input, and
 * all-or-nothing behaviour when an allocation fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "causal.h"
#include "failalloc.h"

#define A p2pc_allocator_default()
#define MAXLOG 32

/* What the event callback saw, flattened to strings. */
typedef struct log {
  char line[MAXLOG][512];
  int n;
} log;

/* "A=1,B=2", entries sorted by node name (ids are in first-seen order). */
static void vc_str(const p2pc_causal *c, const p2pc_vclock *vc, char *out,
                   size_t cap) {
  size_t off = 0;
  const char *prev = "";
  out[0] = '\0';
  for (uint32_t k = 0; k < vc->n; k++) {
    const char *best = NULL;
    uint64_t v = 0;
    for (uint32_t i = 0; i < vc->n; i++) {
      const char *nm = p2pc_causal_id_name(c, vc->e[i].id);
      if (strcmp(nm, prev) > 0 && (!best || strcmp(nm, best) < 0))
        best = nm, v = vc->e[i].v;
    }
    off += (size_t)snprintf(out + off, cap - off, "%s%s=%llu", k ? "," : "",
                            best, (unsigned long long)v);
    prev = best;
  }
}

typedef struct node {
  p2pc_causal *c;
  log log;
  uint64_t last_waited_ns;
} node;

static void on_event(void *ud, const p2pc_causal_event *ev) {
  node *nd = ud;
  char vc[96] = "", w[96] = "";
  static const char *kinds[] = {"send",    "recv", "buffer",
                                "deliver", "dup",  "drop"};
  if (ev->vc)
    vc_str(nd->c, ev->vc, vc, sizeof vc);
  if (ev->waits_vc)
    vc_str(nd->c, ev->waits_vc, w, sizeof w);
  assert_true(nd->log.n < MAXLOG);
  snprintf(nd->log.line[nd->log.n++], sizeof nd->log.line[0],
           "%s %s:%llu %s [%s]%s%s%s", kinds[ev->kind], ev->sender,
           (unsigned long long)ev->n, ev->peer, vc,
           ev->waits_vc ? " waits " : "", ev->waits_vc ? ev->waits_node : "",
           ev->waits_vc ? w : "");
  if (ev->kind == P2PC_CEV_DELIVER)
    nd->last_waited_ns = ev->waited_ns;
  if (ev->kind == P2PC_CEV_DELIVER)
    assert_int_equal(ev->bytes, strlen((const char *)ev->payload) + 1);
}

static void node_new(node *nd, const char *id, const p2pc_causal_config *cfg,
                     const p2pc_allocator *a) {
  memset(nd, 0, sizeof *nd);
  assert_int_equal(p2pc_causal_new(&nd->c, id, cfg, a, on_event, nd), 0);
}

static const char *last(const node *nd) {
  return nd->log.n ? nd->log.line[nd->log.n - 1] : "";
}

static void expect_clock(const node *nd, const char *want) {
  char got[128];
  vc_str(nd->c, p2pc_causal_clock(nd->c), got, sizeof got);
  assert_string_equal(got, want);
}

/* A message in flight: its encoded bytes. Payloads include the NUL so the
 * callback can check lengths. */
typedef struct wire_msg {
  p2pc_buf b;
} wire_msg;

static void send_msg(node *from, const char *to, const char *text,
                     wire_msg *w) {
  p2pc_buf_init(&w->b, A, 1 << 20);
  assert_int_equal(p2pc_causal_send(from->c, to, (const uint8_t *)text,
                                    strlen(text) + 1, 0, &w->b),
                   0);
}

static int arrive(node *at, const wire_msg *w, uint64_t now) {
  return p2pc_causal_receive(at->c, NULL, w->b.data, w->b.len, now);
}

static void test_worked_example_A8(void **state) {
  (void)state;
  node p1, p2, p3;
  wire_msg m1, m2, m3;
  node_new(&p1, "P1", NULL, A);
  node_new(&p2, "P2", NULL, A);
  node_new(&p3, "P3", NULL, A);

  /* P1 sends m1 -> P2: t1 = (1,0,0), m1 carries no pairs, V1 = {P2:(1,0,0)} */
  send_msg(&p1, "P2", "m1", &m1);
  assert_string_equal(last(&p1), "send P1:1 P2 [P1=1]");
  expect_clock(&p1, "P1=1");
  assert_int_equal(p2pc_causal_pairs(p1.c), 1);

  /* P1 sends m2 -> P3: t1 = (2,0,0), m2 carries {P2:(1,0,0)} */
  send_msg(&p1, "P3", "m2", &m2);
  assert_string_equal(last(&p1), "send P1:2 P3 [P1=2]");
  assert_int_equal(p2pc_causal_pairs(p1.c), 2);

  /* m2 arrives at P3: no pair for P3 -> deliver; t3 = (2,0,1) */
  assert_int_equal(arrive(&p3, &m2, 10), 0);
  assert_string_equal(p3.log.line[0], "recv P1:2 P1 []");
  assert_string_equal(last(&p3), "deliver P1:2 P1 [P1=2,P3=1]");
  assert_int_equal(p2pc_causal_pairs(p3.c), 1); /* V3 = {P2:(1,0,0)} */

  /* P3 sends m3 -> P2: t3 = (2,0,2), m3 carries {P2:(1,0,0)} */
  send_msg(&p3, "P2", "m3", &m3);
  assert_string_equal(last(&p3), "send P3:1 P2 [P1=2,P3=2]");

  /* m3 arrives at P2 first: (1,0,0) <= (0,0,0)? no -> buffered */
  assert_int_equal(arrive(&p2, &m3, 100), 0);
  assert_string_equal(last(&p2), "buffer P3:1 P3 [] waits P2P1=1");
  assert_int_equal(p2pc_causal_buffered(p2.c), 1);
  expect_clock(&p2, "");

  /* m1 arrives: delivered, t2 = (1,1,0); the re-scan then delivers m3:
   * (1,0,0) <= (1,1,0), t2 = max((1,1,0),(2,0,2)) + own = (2,2,2) */
  assert_int_equal(arrive(&p2, &m1, 250), 0);
  assert_int_equal(p2.log.n, 5);
  assert_string_equal(p2.log.line[2], "recv P1:1 P1 []");
  assert_string_equal(p2.log.line[3], "deliver P1:1 P1 [P1=1,P2=1]");
  assert_string_equal(p2.log.line[4], "deliver P3:1 P3 [P1=2,P2=2,P3=2]");
  expect_clock(&p2, "P1=2,P2=2,P3=2");
  assert_int_equal(p2pc_causal_buffered(p2.c), 0);

  p2pc_causal_free(p1.c);
  p2pc_causal_free(p2.c);
  p2pc_causal_free(p3.c);
  p2pc_buf_fini(&m1.b);
  p2pc_buf_fini(&m2.b);
  p2pc_buf_fini(&m3.b);
}

/* Two messages on one pair arriving in reverse order: the second carries
 * the pair about the destination and waits for the first (the FIFO case
 * at the end of A.8). */
static void test_same_pair_reordered(void **state) {
  (void)state;
  node a, b;
  wire_msg w1, w2;
  node_new(&a, "A", NULL, A);
  node_new(&b, "B", NULL, A);
  send_msg(&a, "B", "first", &w1);
  send_msg(&a, "B", "second", &w2);
  assert_int_equal(arrive(&b, &w2, 5), 0);
  assert_string_equal(last(&b), "buffer A:2 A [] waits BA=1");
  assert_int_equal(arrive(&b, &w1, 9), 0);
  assert_string_equal(b.log.line[3], "deliver A:1 A [A=1,B=1]");
  assert_string_equal(b.log.line[4], "deliver A:2 A [A=2,B=2]");
  p2pc_causal_free(a.c);
  p2pc_causal_free(b.c);
  p2pc_buf_fini(&w1.b);
  p2pc_buf_fini(&w2.b);
}

static void test_waited_ns_reported(void **state) {
  (void)state;
  node a, b;
  wire_msg w1, w2;
  node_new(&a, "A", NULL, A);
  node_new(&b, "B", NULL, A);
  send_msg(&a, "B", "1", &w1);
  send_msg(&a, "B", "2", &w2);
  assert_int_equal(arrive(&b, &w2, 1000), 0);
  assert_int_equal(arrive(&b, &w1, 4500), 0);
  assert_int_equal(b.last_waited_ns, 3500); /* w2: buffered 1000..4500 */
  p2pc_causal_stats st;
  p2pc_causal_get_stats(b.c, &st);
  assert_int_equal(st.delivered, 2);
  assert_int_equal(st.buffered, 1);
  p2pc_causal_free(a.c);
  p2pc_causal_free(b.c);
  p2pc_buf_fini(&w1.b);
  p2pc_buf_fini(&w2.b);
}

/* A.10 pitfall 11: a message to self is delivered locally, outside SES: it
 * ticks the clock (a local event) but leaves V alone. */
static void test_self_send(void **state) {
  (void)state;
  node a;
  p2pc_buf out;
  node_new(&a, "A", NULL, A);
  p2pc_buf_init(&out, A, 1024);
  assert_int_equal(
      p2pc_causal_send(a.c, "A", (const uint8_t *)"me", 3, 0, &out), 0);
  assert_int_equal(out.len, 0);
  assert_int_equal(a.log.n, 2);
  assert_string_equal(a.log.line[0], "send A:1 A [A=1]");
  assert_string_equal(a.log.line[1], "deliver A:1 A [A=1]");
  assert_int_equal(p2pc_causal_pairs(a.c), 0);
  /* The next message id continues the same counter. */
  assert_int_equal(p2pc_causal_send(a.c, "B", (const uint8_t *)"x", 2, 0, &out),
                   0);
  assert_string_equal(last(&a), "send A:2 B [A=2]");
  /* ... and B accepts it: its stamp covers both message numbers. */
  node b;
  node_new(&b, "B", NULL, A);
  assert_int_equal(p2pc_causal_receive(b.c, "A", out.data, out.len, 0), 0);
  assert_string_equal(last(&b), "deliver A:2 A [A=2,B=1]");
  p2pc_causal_free(b.c);
  p2pc_buf_fini(&out);
  p2pc_causal_free(a.c);
}

static void test_duplicates_dropped(void **state) {
  (void)state;
  node a, b;
  wire_msg w1, w2;
  p2pc_causal_stats st;
  node_new(&a, "A", NULL, A);
  node_new(&b, "B", NULL, A);
  send_msg(&a, "B", "1", &w1);
  send_msg(&a, "B", "2", &w2);
  assert_int_equal(arrive(&b, &w2, 0), 0); /* buffered */
  assert_int_equal(arrive(&b, &w2, 0), 0); /* duplicate of a buffered one */
  assert_string_equal(last(&b), "dup A:2 A []");
  assert_int_equal(p2pc_causal_buffered(b.c), 1);
  assert_int_equal(arrive(&b, &w1, 0), 0);
  assert_int_equal(arrive(&b, &w1, 0), 0); /* duplicate of delivered ones */
  assert_int_equal(arrive(&b, &w2, 0), 0);
  p2pc_causal_get_stats(b.c, &st);
  assert_int_equal(st.delivered, 2);
  assert_int_equal(st.duplicates, 3);
  expect_clock(&b, "A=2,B=2");
  p2pc_causal_free(a.c);
  p2pc_causal_free(b.c);
  p2pc_buf_fini(&w1.b);
  p2pc_buf_fini(&w2.b);
}

/* The buffer holds max_buffered messages; one more that must wait is
 * refused with FULL and nothing changes; a deliverable one is always
 * taken, and a refused one is accepted when offered again later. */
static void test_buffer_full(void **state) {
  (void)state;
  p2pc_causal_config cfg = {.max_buffered = 2};
  node a, b;
  wire_msg w[4];
  p2pc_causal_stats st;
  node_new(&a, "A", NULL, A);
  node_new(&b, "B", &cfg, A);
  for (int i = 0; i < 4; i++)
    send_msg(&a, "B", "m", &w[i]);
  assert_int_equal(arrive(&b, &w[3], 0), 0);
  assert_int_equal(arrive(&b, &w[2], 0), 0);
  int before = b.log.n;
  assert_int_equal(arrive(&b, &w[1], 0), P2PC_ERR_FULL);
  assert_int_equal(b.log.n, before); /* not even a recv event */
  assert_int_equal(p2pc_causal_buffered(b.c), 2);
  p2pc_causal_get_stats(b.c, &st);
  assert_int_equal(st.rejected_full, 1);
  /* w[0] is deliverable although the buffer is full; it unblocks nothing
   * yet (w[2] and w[3] wait for w[1]). */
  assert_int_equal(arrive(&b, &w[0], 0), 0);
  assert_int_equal(p2pc_causal_buffered(b.c), 2);
  /* Offered again, w[1] is deliverable now and releases the rest. */
  assert_int_equal(arrive(&b, &w[1], 0), 0);
  assert_int_equal(p2pc_causal_buffered(b.c), 0);
  p2pc_causal_get_stats(b.c, &st);
  assert_int_equal(st.delivered, 4);
  expect_clock(&b, "A=4,B=4");
  p2pc_causal_free(a.c);
  p2pc_causal_free(b.c);
  for (int i = 0; i < 4; i++)
    p2pc_buf_fini(&w[i].b);
}

static void test_buffer_byte_limit(void **state) {
  (void)state;
  p2pc_causal_config cfg = {.max_buffered_bytes = 8};
  node a, b;
  wire_msg w1, w2, w3;
  node_new(&a, "A", NULL, A);
  node_new(&b, "B", &cfg, A);
  send_msg(&a, "B", "x", &w1);
  send_msg(&a, "B", "abcdef", &w2); /* 7 bytes with NUL */
  send_msg(&a, "B", "gh", &w3);     /* 3 more: 10 > 8 */
  assert_int_equal(arrive(&b, &w2, 0), 0);
  assert_int_equal(arrive(&b, &w3, 0), P2PC_ERR_FULL);
  assert_int_equal(arrive(&b, &w1, 0), 0);
  assert_int_equal(arrive(&b, &w3, 0), 0);
  expect_clock(&b, "A=3,B=3");
  p2pc_causal_free(a.c);
  p2pc_causal_free(b.c);
  p2pc_buf_fini(&w1.b);
  p2pc_buf_fini(&w2.b);
  p2pc_buf_fini(&w3.b);
}

static void test_misaddressed_and_wrong_sender(void **state) {
  (void)state;
  node a, b, c;
  wire_msg w;
  p2pc_causal_stats st;
  node_new(&a, "A", NULL, A);
  node_new(&b, "B", NULL, A);
  node_new(&c, "C", NULL, A);
  send_msg(&a, "B", "for B", &w);
  assert_int_equal(arrive(&c, &w, 0), P2PC_ERR_PROTO);
  /* A refused message leaves no trace, not even its names in the table. */
  assert_null(p2pc_causal_id_name(c.c, 1));
  assert_int_equal(p2pc_causal_receive(b.c, "C", w.b.data, w.b.len, 0),
                   P2PC_ERR_PROTO);
  assert_null(p2pc_causal_id_name(b.c, 1));
  assert_int_equal(b.log.n, 0);
  assert_int_equal(p2pc_causal_receive(b.c, "A", w.b.data, w.b.len, 0), 0);
  p2pc_causal_get_stats(b.c, &st);
  assert_int_equal(st.malformed, 1);
  assert_int_equal(st.delivered, 1);
  /* Truncations of a valid message are all rejected, never read past. */
  for (size_t n = 0; n < w.b.len; n++)
    assert_int_equal(p2pc_causal_receive(c.c, NULL, w.b.data, n, 0),
                     P2PC_ERR_PROTO);
  assert_int_equal(
      p2pc_causal_send(a.c, "bad id", (const uint8_t *)"", 0, 0, &w.b),
      P2PC_ERR_INVAL);
  p2pc_causal_free(a.c);
  p2pc_causal_free(b.c);
  p2pc_causal_free(c.c);
  p2pc_buf_fini(&w.b);
}

/* A.11 pruning: once A has delivered a message B stamped at or after the
 * pair (B, t), the pair is dropped from V and from later messages. */
static void test_pruning(void **state) {
  (void)state;
  node a, b;
  wire_msg w1, w2, w3;
  node_new(&a, "A", NULL, A);
  node_new(&b, "B", NULL, A);
  send_msg(&a, "B", "1", &w1); /* V_A = {B:(A=1)} */
  assert_int_equal(p2pc_causal_pairs(a.c), 1);
  assert_int_equal(arrive(&b, &w1, 0), 0); /* t_B = (A=1,B=1) */
  send_msg(&b, "A", "2", &w2);             /* stamped (A=1,B=2) */
  assert_int_equal(arrive(&a, &w2, 0), 0); /* A learns B's clock >= that */
  assert_int_equal(p2pc_causal_pairs(a.c), 0);
  p2pc_causal_stats st;
  p2pc_causal_get_stats(a.c, &st);
  assert_int_equal(st.pruned_pairs, 1);
  /* Without pruning the pair stays, and the next message is bigger. */
  p2pc_causal_config off = {.no_prune = true};
  node a2, b2;
  wire_msg v1, v2, v3;
  node_new(&a2, "A", &off, A);
  node_new(&b2, "B", &off, A);
  send_msg(&a2, "B", "1", &v1);
  assert_int_equal(arrive(&b2, &v1, 0), 0);
  send_msg(&b2, "A", "2", &v2);
  assert_int_equal(arrive(&a2, &v2, 0), 0);
  assert_int_equal(p2pc_causal_pairs(a2.c), 1);
  send_msg(&a, "B", "3", &w3);
  send_msg(&a2, "B", "3", &v3);
  assert_true(w3.b.len < v3.b.len);
  /* Both are deliverable at B right away: same decision either way. */
  assert_int_equal(arrive(&b, &w3, 0), 0);
  assert_int_equal(arrive(&b2, &v3, 0), 0);
  assert_int_equal(p2pc_causal_buffered(b.c), 0);
  assert_int_equal(p2pc_causal_buffered(b2.c), 0);
  p2pc_causal_free(a.c);
  p2pc_causal_free(b.c);
  p2pc_causal_free(a2.c);
  p2pc_causal_free(b2.c);
  wire_msg *all[] = {&w1, &w2, &w3, &v1, &v2, &v3};
  for (int i = 0; i < 6; i++)
    p2pc_buf_fini(&all[i]->b);
}

/* Fail every allocation in turn during a send and during a receive that
 * delivers and drains: each failure leaves clock, V and buffer as they
 * were, and no memory is lost. */
static void test_allocation_failures_are_atomic(void **state) {
  (void)state;
  for (long k = 0; k < 60; k++) {
    failalloc f;
    failalloc_init(&f);
    node a, b, c;
    wire_msg w1, w2, w3;
    node_new(&a, "A", NULL, &f.a);
    node_new(&b, "B", NULL, &f.a);
    node_new(&c, "C", NULL, &f.a);
    send_msg(&a, "B", "1", &w1);
    send_msg(&a, "C", "2", &w2);
    assert_int_equal(arrive(&c, &w2, 0), 0);
    send_msg(&c, "B", "3", &w3);
    assert_int_equal(arrive(&b, &w3, 0), 0); /* buffered */

    char before[128], after[128];
    uint32_t pairs = p2pc_causal_pairs(b.c);
    vc_str(b.c, p2pc_causal_clock(b.c), before, sizeof before);
    f.countdown = k;
    int rv = arrive(&b, &w1, 0);
    f.countdown = -1;
    if (rv == 0) {
      /* k was past the last allocation (or drain ran out later and kept
       * w3 buffered: then one more offer of anything finishes it). */
      if (p2pc_causal_buffered(b.c))
        assert_int_equal(arrive(&b, &w1, 0), 0);
    } else {
      assert_int_equal(rv, P2PC_ERR_NOMEM);
      vc_str(b.c, p2pc_causal_clock(b.c), after, sizeof after);
      assert_string_equal(before, after);
      assert_int_equal(p2pc_causal_pairs(b.c), pairs);
      assert_int_equal(p2pc_causal_buffered(b.c), 1);
      assert_int_equal(arrive(&b, &w1, 0), 0);
    }
    expect_clock(&b, "A=2,B=2,C=2");

    /* The same for a send. */
    wire_msg w4;
    uint32_t apairs = p2pc_causal_pairs(a.c);
    vc_str(a.c, p2pc_causal_clock(a.c), before, sizeof before);
    p2pc_buf_init(&w4.b, &f.a, 1 << 20);
    f.countdown = k;
    rv = p2pc_causal_send(a.c, "C", (const uint8_t *)"4", 2, 0, &w4.b);
    f.countdown = -1;
    if (rv) {
      assert_int_equal(rv, P2PC_ERR_NOMEM);
      vc_str(a.c, p2pc_causal_clock(a.c), after, sizeof after);
      assert_string_equal(before, after);
      assert_int_equal(p2pc_causal_pairs(a.c), apairs);
      assert_int_equal(w4.b.len, 0);
    }
    p2pc_causal_free(a.c);
    p2pc_causal_free(b.c);
    p2pc_causal_free(c.c);
    p2pc_buf_fini(&w1.b);
    p2pc_buf_fini(&w2.b);
    p2pc_buf_fini(&w3.b);
    p2pc_buf_fini(&w4.b);
    assert_int_equal(f.live, 0);
  }
}

/* Retiring a dead incarnation: its lost messages are given up on, its late
 * and buffered ones are dropped, and dependencies on live senders still
 * hold (docs/PROTOCOL.md, "Incarnations"). */
static void test_retire_dead_incarnation(void **state) {
  (void)state;
  node x, w, y;
  wire_msg m1, m2, m3, m4, m5, m7;
  node_new(&x, "X~a", NULL, A);
  node_new(&w, "W", NULL, A);
  node_new(&y, "Y", NULL, A);
  send_msg(&x, "Y", "m1", &m1); /* never arrives: X~a crashes */
  send_msg(&x, "W", "m2", &m2);
  assert_int_equal(arrive(&w, &m2, 0), 0);
  send_msg(&x, "Y", "m7", &m7); /* arrives late, after retiring */
  send_msg(&w, "Y", "m3", &m3); /* depends on m1 */
  assert_int_equal(arrive(&y, &m3, 0), 0);
  assert_int_equal(p2pc_causal_buffered(y.c), 1);
  /* W also sends m4 to Y, then m5 to Y: m5 must still wait for m4. */
  send_msg(&w, "Y", "m4", &m4);
  send_msg(&w, "Y", "m5", &m5);
  assert_int_equal(arrive(&y, &m5, 0), 0);
  assert_int_equal(p2pc_causal_buffered(y.c), 2);

  assert_int_equal(p2pc_causal_retire(y.c, "X~a", 10), 0);
  assert_true(p2pc_causal_is_retired(y.c, "X~a"));
  assert_false(p2pc_causal_is_retired(y.c, "W"));
  /* m3 waited only for m1 and goes; m5 still waits for m4. */
  assert_int_equal(p2pc_causal_buffered(y.c), 1);
  assert_string_equal(last(&y), "deliver W:1 W [W=2,X~a=2,Y=1]");
  assert_int_equal(arrive(&y, &m4, 20), 0);
  assert_int_equal(p2pc_causal_buffered(y.c), 0);
  /* Late messages of the retired identity are dropped, not delivered. */
  assert_int_equal(arrive(&y, &m7, 30), 0);
  assert_string_equal(last(&y), "drop X~a:3 X~a []");
  assert_int_equal(arrive(&y, &m1, 30), 0);
  p2pc_causal_stats st;
  p2pc_causal_get_stats(y.c, &st);
  assert_int_equal(st.delivered, 3);
  assert_int_equal(st.dropped_retired, 2);
  /* No sends to it, no retiring oneself. */
  p2pc_buf out;
  p2pc_buf_init(&out, A, 1024);
  assert_int_equal(
      p2pc_causal_send(y.c, "X~a", (const uint8_t *)"x", 2, 0, &out),
      P2PC_ERR_INVAL);
  assert_int_equal(p2pc_causal_retire(y.c, "Y", 0), P2PC_ERR_INVAL);
  /* Retiring drops the pair about it from V, and drops its buffered
   * messages. */
  assert_int_equal(p2pc_causal_pairs(w.c), 1); /* V_W = {Y: ...} */
  node z;
  wire_msg q1, q2;
  node_new(&z, "Z", NULL, A);
  send_msg(&x, "Z", "q1", &q1);
  send_msg(&x, "Z", "q2", &q2);
  assert_int_equal(arrive(&z, &q2, 0), 0); /* waits for q1 */
  assert_int_equal(p2pc_causal_retire(z.c, "X~a", 0), 0);
  assert_int_equal(p2pc_causal_buffered(z.c), 0);
  assert_string_equal(last(&z), "drop X~a:5 X~a []");
  p2pc_buf_fini(&out);
  p2pc_causal_free(x.c);
  p2pc_causal_free(w.c);
  p2pc_causal_free(y.c);
  p2pc_causal_free(z.c);
  wire_msg *all[] = {&m1, &m2, &m3, &m4, &m5, &m7, &q1, &q2};
  for (int i = 0; i < 8; i++)
    p2pc_buf_fini(&all[i]->b);
}

/* The counterexample the simulator found (sim_oracle --faults both, seed
 * 1): X~a delivers k1 from K, sends L to D (lost: X~a crashes) and then
 * x2 to W. W's M to D depends on L, so its pair about D holds tL, whose K
 * component (1) only L would have brought to D. K learns of L and writes
 * to D too (k2). Retiring X~a skipped X~a's component only, so D waited
 * for K=1 for ever, and so did every later message to D. K's next message
 * to D is stamped above 1, so nothing K sent D up to its event 1 is
 * missing: both go. */
static void test_retire_lost_message_components(void **state) {
  (void)state;
  node k, x, w, d;
  wire_msg k1, l, x2, m, x3, k2;
  node_new(&k, "K", NULL, A);
  node_new(&x, "X~a", NULL, A);
  node_new(&w, "W", NULL, A);
  node_new(&d, "D", NULL, A);
  send_msg(&k, "X~a", "k1", &k1);
  assert_int_equal(arrive(&x, &k1, 0), 0);
  send_msg(&x, "D", "L", &l); /* never arrives */
  send_msg(&x, "W", "x2", &x2);
  send_msg(&x, "K", "x3", &x3);
  assert_int_equal(arrive(&w, &x2, 0), 0);
  send_msg(&w, "D", "M", &m);
  assert_int_equal(arrive(&d, &m, 0), 0);
  assert_string_equal(last(&d), "buffer W:1 W [] waits DK=1,X~a=2");
  assert_int_equal(p2pc_causal_retire(d.c, "X~a", 5), 0);
  assert_int_equal(p2pc_causal_buffered(d.c), 1); /* K=1 is not known yet */
  assert_int_equal(arrive(&k, &x3, 0), 0);
  send_msg(&k, "D", "k2", &k2);
  assert_string_equal(last(&k), "send K:2 D [K=3,X~a=4]");
  assert_int_equal(arrive(&d, &k2, 10), 0);
  assert_int_equal(p2pc_causal_buffered(d.c), 0);
  /* k2 waits (for K=1 too) until it is in the buffer as K's next; then M
   * goes, and k2 after it. */
  assert_string_equal(d.log.line[d.log.n - 2],
                      "deliver W:1 W [D=1,K=1,W=2,X~a=3]");
  assert_string_equal(last(&d), "deliver K:2 K [D=2,K=3,W=2,X~a=4]");
  p2pc_causal_free(k.c);
  p2pc_causal_free(x.c);
  p2pc_causal_free(w.c);
  p2pc_causal_free(d.c);
  wire_msg *all[] = {&k1, &l, &x2, &m, &x3, &k2};
  for (int i = 0; i < 6; i++)
    p2pc_buf_fini(&all[i]->b);
}

/* The same, but K had sent k0 to D before k1 to X~a: send(k0) -> send(M),
 * so M must still wait for k0 although X~a is retired, and K's later k2
 * (arrived, but not next on K's stream) must not release it. */
static void test_retire_keeps_live_dependencies(void **state) {
  (void)state;
  node k, x, w, d;
  wire_msg k0, k1, l, x2, m, x3, k2;
  node_new(&k, "K", NULL, A);
  node_new(&x, "X~a", NULL, A);
  node_new(&w, "W", NULL, A);
  node_new(&d, "D", NULL, A);
  send_msg(&k, "D", "k0", &k0); /* in flight for a long time */
  send_msg(&k, "X~a", "k1", &k1);
  assert_int_equal(arrive(&x, &k1, 0), 0);
  send_msg(&x, "D", "L", &l); /* never arrives */
  send_msg(&x, "W", "x2", &x2);
  send_msg(&x, "K", "x3", &x3);
  assert_int_equal(arrive(&w, &x2, 0), 0);
  send_msg(&w, "D", "M", &m);
  assert_int_equal(p2pc_causal_retire(d.c, "X~a", 0), 0);
  assert_int_equal(arrive(&d, &m, 0), 0);
  assert_string_equal(last(&d), "buffer W:1 W [] waits DK=2,X~a=2");
  assert_int_equal(arrive(&k, &x3, 0), 0);
  send_msg(&k, "D", "k2", &k2);
  assert_int_equal(arrive(&d, &k2, 10), 0);
  assert_int_equal(p2pc_causal_buffered(d.c), 2); /* k0 is missing */
  assert_int_equal(arrive(&d, &k0, 20), 0);
  assert_int_equal(p2pc_causal_buffered(d.c), 0);
  assert_string_equal(d.log.line[d.log.n - 3], "deliver K:1 K [D=1,K=1]");
  assert_string_equal(d.log.line[d.log.n - 2],
                      "deliver W:1 W [D=2,K=2,W=2,X~a=3]");
  assert_string_equal(last(&d), "deliver K:3 K [D=3,K=4,W=2,X~a=4]");
  p2pc_causal_free(k.c);
  p2pc_causal_free(x.c);
  p2pc_causal_free(w.c);
  p2pc_causal_free(d.c);
  wire_msg *all[] = {&k0, &k1, &l, &x2, &m, &x3, &k2};
  for (int i = 0; i < 7; i++)
    p2pc_buf_fini(&all[i]->b);
}

/* The gap rule (4) leaves (sim_oracle --faults both, seed 26): as in
 * test_retire_lost_message_components, M waits for K=1, which only the lost
 * L would have brought to D, but K never writes to D again. K's stream
 * horizon says it: nothing K sent D is stamped up to its clock when it
 * retired X~a, and K had sent D nothing. A horizon from before K's event 1
 * says too little and releases nothing. */
static void test_horizon_silent_sender(void **state) {
  (void)state;
  node k, x, w, d;
  wire_msg k1, l, x2, m;
  node_new(&k, "K", NULL, A);
  node_new(&x, "X~a", NULL, A);
  node_new(&w, "W", NULL, A);
  node_new(&d, "D", NULL, A);
  uint64_t s0, e0, s, e;
  assert_int_equal(p2pc_causal_horizon(k.c, "D", &s0, &e0), 0);
  assert_true(s0 == 0 && e0 == 0);
  send_msg(&k, "X~a", "k1", &k1);
  assert_int_equal(arrive(&x, &k1, 0), 0);
  send_msg(&x, "D", "L", &l); /* never arrives */
  send_msg(&x, "W", "x2", &x2);
  assert_int_equal(arrive(&w, &x2, 0), 0);
  send_msg(&w, "D", "M", &m);
  assert_int_equal(arrive(&d, &m, 0), 0);
  assert_string_equal(last(&d), "buffer W:1 W [] waits DK=1,X~a=2");
  assert_int_equal(p2pc_causal_retire(d.c, "X~a", 5), 0);
  assert_int_equal(p2pc_causal_take_horizon(d.c, "K", s0, e0, 6), 0);
  assert_int_equal(p2pc_causal_buffered(d.c), 1); /* K=1 > e0 */
  /* K learns that X~a restarted and retires it: its horizon for D. */
  assert_int_equal(p2pc_causal_retire(k.c, "X~a", 7), 0);
  assert_int_equal(p2pc_causal_horizon(k.c, "D", &s, &e), 0);
  assert_true(s == 0 && e == 1);
  assert_int_equal(p2pc_causal_take_horizon(d.c, "K", s, e, 8), 0);
  assert_int_equal(p2pc_causal_buffered(d.c), 0);
  assert_string_equal(last(&d), "deliver W:1 W [D=1,K=1,W=2,X~a=3]");
  p2pc_causal_stats st;
  p2pc_causal_get_stats(d.c, &st);
  assert_int_equal(st.horizons, 2);
  p2pc_causal_free(k.c);
  p2pc_causal_free(x.c);
  p2pc_causal_free(w.c);
  p2pc_causal_free(d.c);
  wire_msg *all[] = {&k1, &l, &x2, &m};
  for (int i = 0; i < 4; i++)
    p2pc_buf_fini(&all[i]->b);
}

/* A horizon ahead of the stream waits for it: K sent k0 to D before k1, so
 * send(k0) -> send(M) and M must wait for k0 whatever K says later. K's
 * horizon (1, e) is kept until k0 is delivered, then releases M. */
static void test_horizon_waits_for_stream(void **state) {
  (void)state;
  node k, x, w, d;
  wire_msg k0, k1, l, x2, m;
  node_new(&k, "K", NULL, A);
  node_new(&x, "X~a", NULL, A);
  node_new(&w, "W", NULL, A);
  node_new(&d, "D", NULL, A);
  send_msg(&k, "D", "k0", &k0); /* in flight for a long time */
  send_msg(&k, "X~a", "k1", &k1);
  assert_int_equal(arrive(&x, &k1, 0), 0);
  send_msg(&x, "D", "L", &l); /* never arrives */
  send_msg(&x, "W", "x2", &x2);
  assert_int_equal(arrive(&w, &x2, 0), 0);
  send_msg(&w, "D", "M", &m);
  assert_int_equal(p2pc_causal_retire(d.c, "X~a", 0), 0);
  assert_int_equal(arrive(&d, &m, 0), 0);
  assert_string_equal(last(&d), "buffer W:1 W [] waits DK=2,X~a=2");
  uint64_t s, e;
  assert_int_equal(p2pc_causal_retire(k.c, "X~a", 0), 0);
  assert_int_equal(p2pc_causal_horizon(k.c, "D", &s, &e), 0);
  assert_true(s == 1 && e == 2);
  assert_int_equal(p2pc_causal_take_horizon(d.c, "K", s, e, 1), 0);
  assert_int_equal(p2pc_causal_buffered(d.c), 1); /* k0 is missing */
  assert_int_equal(arrive(&d, &k0, 20), 0);
  assert_int_equal(p2pc_causal_buffered(d.c), 0);
  assert_string_equal(d.log.line[d.log.n - 2], "deliver K:1 K [D=1,K=1]");
  assert_string_equal(last(&d), "deliver W:1 W [D=2,K=2,W=2,X~a=3]");
  p2pc_causal_free(k.c);
  p2pc_causal_free(x.c);
  p2pc_causal_free(w.c);
  p2pc_causal_free(d.c);
  wire_msg *all[] = {&k0, &k1, &l, &x2, &m};
  for (int i = 0; i < 5; i++)
    p2pc_buf_fini(&all[i]->b);
}

/* Without a retirement a horizon changes no decision; inconsistent ones are
 * refused; retired identities neither give nor get one. */
static void test_horizon_rules(void **state) {
  (void)state;
  node k, d;
  wire_msg k1, k2;
  node_new(&k, "K", NULL, A);
  node_new(&d, "D", NULL, A);
  send_msg(&k, "D", "k1", &k1);
  send_msg(&k, "D", "k2", &k2);
  assert_int_equal(arrive(&d, &k2, 0), 0); /* waits for k1 */
  uint64_t s, e;
  assert_int_equal(p2pc_causal_horizon(k.c, "D", &s, &e), 0);
  assert_true(s == 2 && e == 2);
  assert_int_equal(p2pc_causal_take_horizon(d.c, "K", 0, 2, 0), 0);
  assert_int_equal(p2pc_causal_buffered(d.c), 1); /* plain SES */
  assert_int_equal(p2pc_causal_take_horizon(d.c, "K", 3, 2, 0), P2PC_ERR_PROTO);
  assert_int_equal(arrive(&d, &k1, 0), 0);
  assert_int_equal(p2pc_causal_buffered(d.c), 0);
  /* k2 (dseq 2, stamped K=2) is delivered: a horizon saying its messages
   * up to dseq 2 are stamped at most 1 is a lie. */
  assert_int_equal(p2pc_causal_take_horizon(d.c, "K", 2, 1, 0), P2PC_ERR_PROTO);
  assert_int_equal(p2pc_causal_take_horizon(d.c, "K", 1, 1, 0), 0);
  assert_int_equal(p2pc_causal_take_horizon(d.c, "D", 0, 0, 0), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_causal_take_horizon(d.c, "K:1", 0, 0, 0),
                   P2PC_ERR_INVAL);
  assert_int_equal(p2pc_causal_horizon(d.c, "D", &s, &e), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_causal_horizon(d.c, "Q", &s, &e), 0);
  assert_true(s == 0 && e == 2); /* never sent to Q; D's clock D=2 */
  assert_int_equal(p2pc_causal_retire(d.c, "K", 0), 0);
  assert_int_equal(p2pc_causal_horizon(d.c, "K", &s, &e), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_causal_take_horizon(d.c, "K", 9, 9, 0), 0);
  p2pc_causal_stats st;
  p2pc_causal_get_stats(d.c, &st);
  assert_int_equal(st.horizons, 2);
  p2pc_causal_free(k.c);
  p2pc_causal_free(d.c);
  p2pc_buf_fini(&k1.b);
  p2pc_buf_fini(&k2.b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_worked_example_A8),
      cmocka_unit_test(test_same_pair_reordered),
      cmocka_unit_test(test_waited_ns_reported),
      cmocka_unit_test(test_self_send),
      cmocka_unit_test(test_duplicates_dropped),
      cmocka_unit_test(test_buffer_full),
      cmocka_unit_test(test_buffer_byte_limit),
      cmocka_unit_test(test_misaddressed_and_wrong_sender),
      cmocka_unit_test(test_pruning),
      cmocka_unit_test(test_allocation_failures_are_atomic),
      cmocka_unit_test(test_retire_dead_incarnation),
      cmocka_unit_test(test_retire_lost_message_components),
      cmocka_unit_test(test_retire_keeps_live_dependencies),
      cmocka_unit_test(test_horizon_silent_sender),
      cmocka_unit_test(test_horizon_waits_for_stream),
      cmocka_unit_test(test_horizon_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
