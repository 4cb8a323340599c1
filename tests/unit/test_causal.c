/* SPDX-License-Identifier: MIT */
/*
 * Δ-SES causal delivery (causal.h), rule by rule: hold-back and release,
 * one sender's stream, self-sends, duplicates, retirement, expiry on both
 * sides (arrival, buffer, entries, the sender giving up, and LS held until
 * a given-up message has settled), delivery reports and written-off
 * [first, last] ranges, the hybrid logical clock and its refusal of stamps
 * from too far ahead, entries' hop counts, stability by levels, by a
 * sender's LS and by the global stable time, every cap, and all-or-nothing
 * behaviour when any one allocation fails.
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
#define MAXLOG 64

/* Times are whole HLC ticks (the physical part counts 65536 ns; the low
 * 16 bits are the logical counter): T0 and every TICK multiple keep
 * P2PC_HLC_PHYS(T0 + k * TICK) == T0 + k * TICK. After set_time(t) the
 * HLC is t and the next send is stamped t + 1. */
#define T0 ((int64_t)0x1800000000000000)
#define TICK 65536ll
#define LIFE (16384 * TICK) /* Δ in most tests: 2^30 ns, about a second */
#define ERR (16 * TICK)     /* every node's error bound, about a ms */
#define MS 1000000ll

/* One event as the callback saw it: a line to compare, and the fields. */
typedef struct ev_rec {
  p2pc_causal_ev_kind kind;
  char line[160];
  uint64_t n, stamp, hlc, waits_n, waited_ns;
  uint32_t deps;
  size_t bytes, meta;
  bool at_sender;
} ev_rec;

typedef struct node {
  p2pc_causal *c;
  ev_rec ev[MAXLOG];
  int n;
} node;

static const char *const kinds[] = {"send", "recv", "buffer", "deliver",
                                    "dup",  "drop", "expire", "refuse"};

static void on_event(void *ud, const p2pc_causal_event *ev) {
  node *nd = ud;
  assert_true(nd->n < MAXLOG);
  assert_true((unsigned)ev->kind < sizeof kinds / sizeof kinds[0]);
  assert_non_null(ev->sender);
  assert_non_null(ev->peer);
  ev_rec *r = &nd->ev[nd->n++];
  memset(r, 0, sizeof *r);
  r->kind = ev->kind;
  r->n = ev->n;
  r->stamp = ev->stamp;
  r->hlc = ev->hlc;
  r->waits_n = ev->waits_n;
  r->waited_ns = ev->waited_ns;
  r->deps = ev->deps;
  r->bytes = ev->bytes;
  r->meta = ev->meta;
  r->at_sender = ev->at_sender;
  int len = snprintf(r->line, sizeof r->line, "%s %s:%llu", kinds[ev->kind],
                     ev->sender, (unsigned long long)ev->n);
  bool to = ev->kind == P2PC_CEV_SEND || ev->at_sender;
  if (to)
    len += snprintf(r->line + len, sizeof r->line - (size_t)len, " to %s",
                    ev->peer);
  else /* events at the receiver name the sender as the peer */
    assert_string_equal(ev->peer, ev->sender);
  if (ev->kind == P2PC_CEV_BUFFER) {
    assert_non_null(ev->waits_sender);
    snprintf(r->line + len, sizeof r->line - (size_t)len,
             " waits %s:%llu unmet %u", ev->waits_sender,
             (unsigned long long)ev->waits_n, ev->deps);
  } else if (ev->kind == P2PC_CEV_EXPIRE && ev->at_sender) {
    snprintf(r->line + len, sizeof r->line - (size_t)len, " at sender");
  }
  if (ev->kind == P2PC_CEV_DROP || ev->kind == P2PC_CEV_EXPIRE ||
      ev->kind == P2PC_CEV_REFUSE)
    assert_non_null(ev->reason);
  if (ev->kind != P2PC_CEV_EXPIRE)
    assert_false(ev->at_sender);
  /* Every stamp is at or below the clock of the node that reports it,
   * but for messages refused or dropped (a retired sender's), whose stamps
   * the clock does not take in. */
  assert_true(ev->stamp <= ev->hlc || ev->kind == P2PC_CEV_REFUSE ||
              ev->kind == P2PC_CEV_DROP);
  if (ev->kind == P2PC_CEV_DELIVER) {
    assert_true(ev->bytes == 0 || ev->payload != NULL);
    if (ev->bytes)
      assert_int_equal(ev->bytes, strlen((const char *)ev->payload) + 1);
  }
}

static void node_new(node *nd, const char *id, const p2pc_causal_config *cfg,
                     const p2pc_allocator *a) {
  memset(nd, 0, sizeof *nd);
  assert_int_equal(p2pc_causal_new(&nd->c, id, cfg, a, on_event, nd), 0);
}

static void node_free(node *nd) { p2pc_causal_free(nd->c); }

static const ev_rec *last_ev(const node *nd) {
  assert_true(nd->n > 0);
  return &nd->ev[nd->n - 1];
}

static const char *last(const node *nd) {
  return nd->n ? nd->ev[nd->n - 1].line : "";
}

/* The i-th event from the end: 1 is the last. */
static const char *back(const node *nd, int i) {
  assert_true(i >= 1 && i <= nd->n);
  return nd->ev[nd->n - i].line;
}

static int count(const node *nd, p2pc_causal_ev_kind k) {
  int n = 0;
  for (int i = 0; i < nd->n; i++)
    n += nd->ev[i].kind == k;
  return n;
}

static void set_time(node *nd, int64_t t) {
  p2pc_causal_set_time(nd->c, t, ERR, (uint64_t)(t - T0));
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
  assert_true(w->b.len > 0);
}

static int arrive(node *at, const wire_msg *w, uint64_t mono) {
  return p2pc_causal_receive(at->c, NULL, w->b.data, w->b.len, mono);
}

static void fini_all(wire_msg *w, int n) {
  for (int i = 0; i < n; i++)
    p2pc_buf_fini(&w[i].b);
}

/* What the delivery report of `at` says about sender, as "d=2 wo=[1,1]":
 * written-off ranges are inclusive (first, last) pairs, as STABLE carries
 * them (1 <= first <= last < the next first). */
static void report(const node *at, const char *sender, char *out, size_t cap) {
  uint64_t d, wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo = 99;
  p2pc_causal_report_for(at->c, sender, &d, wo, &nwo);
  assert_true(nwo <= P2PC_CAUSAL_MAX_WRITTEN_OFF);
  int len = snprintf(out, cap, "d=%llu wo=", (unsigned long long)d);
  for (uint32_t i = 0; i < nwo; i++) {
    assert_true(wo[2 * i] >= 1 && wo[2 * i] <= wo[2 * i + 1]);
    if (i)
      assert_true(wo[2 * i] > wo[2 * i - 1]);
    len += snprintf(out + len, cap - (size_t)len, "%s[%llu,%llu]", i ? "," : "",
                    (unsigned long long)wo[2 * i],
                    (unsigned long long)wo[2 * i + 1]);
  }
}

static void expect_report(const node *at, const char *sender,
                          const char *want) {
  char got[256];
  report(at, sender, got, sizeof got);
  assert_string_equal(got, want);
}

/* Passes at's report about sender to sender's core, as the link would. */
static int pass_report(const node *at, node *sender) {
  uint64_t d, wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo;
  p2pc_causal_report_for(at->c, p2pc_causal_self(sender->c), &d, wo, &nwo);
  return p2pc_causal_peer_report(sender->c, p2pc_causal_self(at->c), d, wo, nwo,
                                 0);
}

static p2pc_causal_stats stats(const node *nd) {
  p2pc_causal_stats st;
  p2pc_causal_get_stats(nd->c, &st);
  return st;
}

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

/* ---- expiry -------------------------------------------------------------- */

static const p2pc_causal_config one_second = {.lifetime_ns = LIFE};

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
  assert_int_equal(p2pc_causal_peer_report(a.c, "Q", 1, NULL, 0, 0),
                   P2PC_ERR_PROTO); /* never sent it anything */
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

/* How long a given-up message still holds LS back (with the default
 * margin). */
#define SETTLE                                                                 \
  ((int64_t)P2PC_CAUSAL_SETTLE_NS +                                            \
   (int64_t)P2PC_CAUSAL_AHEAD_MARGIN_DEFAULT_NS)

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

/* ---- stability ------------------------------------------------------------
 */

static void test_set_stable(void **state) {
  (void)state;
  p2pc_causal_config keep = {.no_prune = true};
  node a, a2, c, c2;
  wire_msg m1, m2, v1, v2;
  node_new(&a, "A~a", NULL, A);
  node_new(&a2, "A~a", &keep, A);
  node_new(&c, "C~c", NULL, A);
  node_new(&c2, "C~c", NULL, A);
  send_msg(&a, "B~b", "m1", &m1);
  uint64_t s1 = last_ev(&a)->stamp;
  send_msg(&a, "C~c", "m2", &m2);
  uint64_t s2 = last_ev(&a)->stamp;
  send_msg(&a2, "B~b", "m1", &v1);
  send_msg(&a2, "C~c", "m2", &v2);
  assert_int_equal(p2pc_causal_pairs(a.c), 2);
  /* Entries stamped below G are stable: dropped. */
  p2pc_causal_set_stable(a.c, s1);
  assert_int_equal(p2pc_causal_pairs(a.c), 2); /* s1 is not below s1 */
  p2pc_causal_set_stable(a.c, s1 + 1);
  assert_int_equal(p2pc_causal_pairs(a.c), 1);
  assert_int_equal(stats(&a).stable_deps, 1);
  p2pc_causal_set_stable(a.c, 0); /* only raises */
  assert_int_equal(p2pc_causal_pairs(a.c), 1);
  p2pc_causal_set_stable(a.c, s2 + 1);
  assert_int_equal(p2pc_causal_pairs(a.c), 0);
  assert_int_equal(stats(&a).stable_deps, 2);
  /* With no_prune, G changes nothing. */
  p2pc_causal_set_stable(a2.c, s2 + 1);
  assert_int_equal(p2pc_causal_pairs(a2.c), 2);
  assert_int_equal(stats(&a2).stable_deps, 0);
  /* A receiver does not take in entries below its G. */
  p2pc_causal_set_stable(c.c, s1 + 1);
  assert_int_equal(arrive(&c, &v2, 0), 0);
  assert_int_equal(p2pc_causal_pairs(c.c), 0);
  assert_int_equal(arrive(&c2, &v2, 0), 0);
  assert_int_equal(p2pc_causal_pairs(c2.c), 1);
  /* Either way the same decision (delivered). */
  assert_string_equal(last(&c), "deliver A~a:2");
  assert_string_equal(last(&c2), "deliver A~a:2");
  /* Delivery reports do not prune with no_prune either, but they do end
   * the messages' pending state. */
  assert_int_equal(p2pc_causal_peer_report(a2.c, "B~b", 1, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_pairs(a2.c), 2);
  assert_int_equal(p2pc_causal_local_stable(a2.c), a2.ev[1].stamp);
  node_free(&a);
  node_free(&a2);
  node_free(&c);
  node_free(&c2);
  p2pc_buf_fini(&m1.b);
  p2pc_buf_fini(&m2.b);
  p2pc_buf_fini(&v1.b);
  p2pc_buf_fini(&v2.b);
}

/* An entry to put in a hand-made message: by name, with its hop count. */
typedef struct craft_dep {
  const char *dest, *sender;
  uint64_t n, stamp;
  uint32_t hops;
} craft_dep;

/* An LS value to put in a hand-made message: whose, by name. */
typedef struct craft_ls {
  const char *id;
  uint64_t ls;
} craft_ls;

/* Encodes a message from sender to dest carrying deps and LS values ls, as
 * a core would (the payload includes the NUL, as send_msg's do). */
static void craft_with_ls(wire_msg *w, const char *sender, const char *dest,
                          uint64_t n, uint64_t prev, uint64_t stamp,
                          const craft_dep *deps, uint32_t ndeps,
                          const craft_ls *ls, uint32_t nls) {
  p2pc_idtab ids;
  p2pc_idtab_init(&ids, A, 64);
  uint32_t id;
  p2pc_ses_dep e[8];
  p2pc_ses_ls l[8];
  assert_true(ndeps <= 8 && nls <= 8);
  p2pc_ses_msg m;
  p2pc_ses_msg_init(&m);
  assert_int_equal(p2pc_idtab_intern(&ids, sender, strlen(sender), &id), 0);
  m.sender = id;
  assert_int_equal(p2pc_idtab_intern(&ids, dest, strlen(dest), &id), 0);
  m.dest = id;
  for (uint32_t i = 0; i < ndeps; i++) {
    uint32_t d, sd;
    assert_int_equal(
        p2pc_idtab_intern(&ids, deps[i].dest, strlen(deps[i].dest), &d), 0);
    assert_int_equal(
        p2pc_idtab_intern(&ids, deps[i].sender, strlen(deps[i].sender), &sd),
        0);
    e[i] = (p2pc_ses_dep){d, sd, deps[i].n, deps[i].stamp, deps[i].hops};
  }
  m.n = n;
  m.prev = prev;
  m.stamp = stamp;
  m.deps = e;
  m.ndeps = ndeps;
  for (uint32_t i = 0; i < nls; i++) {
    assert_int_equal(p2pc_idtab_intern(&ids, ls[i].id, strlen(ls[i].id), &id),
                     0);
    l[i] = (p2pc_ses_ls){id, ls[i].ls};
  }
  m.ls = l;
  m.nls = nls;
  m.payload = (const uint8_t *)"c";
  m.payload_len = 2;
  p2pc_wire_scratch scratch = {0};
  p2pc_buf_init(&w->b, A, 1 << 16);
  assert_int_equal(p2pc_wire_ses_put(&w->b, &m, &ids, &scratch, A, NULL), 0);
  p2pc_wire_scratch_fini(&scratch, A);
  p2pc_idtab_fini(&ids);
}

static void craft(wire_msg *w, const char *sender, const char *dest, uint64_t n,
                  uint64_t prev, uint64_t stamp, const craft_dep *deps,
                  uint32_t ndeps) {
  craft_with_ls(w, sender, dest, n, prev, stamp, deps, ndeps, NULL, 0);
}

/* The hop count of the entry (dest, sender) that the encoded message w
 * carries; -1 if it carries none. */
static int carried_hops(const wire_msg *w, const char *dest,
                        const char *sender) {
  p2pc_idtab ids;
  p2pc_ses_msg m;
  p2pc_idtab_init(&ids, A, 64);
  p2pc_ses_msg_init(&m);
  assert_int_equal(p2pc_wire_ses_get(w->b.data, w->b.len, &ids, A, &m),
                   (int)w->b.len);
  assert_int_equal(p2pc_wire_ses_commit(&ids, &m), 0);
  int h = -1;
  for (uint32_t i = 0; i < m.ndeps; i++)
    if (strcmp(p2pc_idtab_name(&ids, m.deps[i].dest, NULL), dest) == 0 &&
        strcmp(p2pc_idtab_name(&ids, m.deps[i].sender, NULL), sender) == 0)
      h = (int)m.deps[i].hops;
  p2pc_ses_msg_fini(&m, A);
  p2pc_idtab_fini(&ids);
  return h;
}

/* The LS value for id that the encoded message w carries (0: none), and
 * how many it carries in all (*nls). */
static uint64_t carried_ls(const wire_msg *w, const char *id, uint32_t *nls) {
  p2pc_idtab ids;
  p2pc_ses_msg m;
  p2pc_idtab_init(&ids, A, 64);
  p2pc_ses_msg_init(&m);
  assert_int_equal(p2pc_wire_ses_get(w->b.data, w->b.len, &ids, A, &m),
                   (int)w->b.len);
  assert_int_equal(p2pc_wire_ses_commit(&ids, &m), 0);
  uint64_t v = 0;
  for (uint32_t i = 0; i < m.nls; i++)
    if (strcmp(p2pc_idtab_name(&ids, m.ls[i].id, NULL), id) == 0)
      v = m.ls[i].ls;
  if (nls)
    *nls = m.nls;
  p2pc_ses_msg_fini(&m, A);
  p2pc_idtab_fini(&ids);
  return v;
}

/* Entries carry the DATA hops they travelled: 0 from their sender, one
 * more at each node that keeps them (saturating at 255). For the same
 * message heard over two paths the shorter count stays, whichever came
 * first; a later message replaces the entry with its own count. */
static void test_entry_hops(void **state) {
  (void)state;
  node a, b, c, c2;
  wire_msg a1, x, y, z, c1, c3, a4, w, c4;
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", NULL, A);
  node_new(&c, "C~c", NULL, A);
  node_new(&c2, "C~c", NULL, A);
  send_msg(&a, "D~d", "a1", &a1); /* A holds (D, A, 1) */
  send_msg(&a, "B~b", "x", &x);
  assert_int_equal(carried_hops(&x, "D~d", "A~a"), 0);
  assert_int_equal(arrive(&b, &x, 0), 0);
  send_msg(&b, "C~c", "y", &y); /* B kept it: 1 hop */
  assert_int_equal(carried_hops(&y, "D~d", "A~a"), 1);
  send_msg(&a, "C~c", "z", &z); /* straight from A: 0 */
  assert_int_equal(carried_hops(&z, "D~d", "A~a"), 0);
  /* C hears it over two hops first, then over one: 1. */
  assert_int_equal(arrive(&c, &y, 0), 0);
  assert_string_equal(last(&c), "deliver B~b:1");
  send_msg(&c, "E~e", "c1", &c1);
  assert_int_equal(carried_hops(&c1, "D~d", "A~a"), 2);
  assert_int_equal(arrive(&c, &z, 0), 0);
  assert_string_equal(last(&c), "deliver A~a:3");
  send_msg(&c, "E~e", "c3", &c3);
  assert_int_equal(carried_hops(&c3, "D~d", "A~a"), 1);
  /* C2 the other way round: still 1. */
  assert_int_equal(arrive(&c2, &z, 0), 0);
  assert_int_equal(arrive(&c2, &y, 0), 0);
  assert_int_equal(count(&c2, P2PC_CEV_DELIVER), 2);
  send_msg(&c2, "E~e", "c", &w);
  assert_int_equal(carried_hops(&w, "D~d", "A~a"), 1);
  p2pc_buf_fini(&w.b);
  /* A's next message to D, heard over B (one more hop than C's entry
   * for A:1 had): the later message wins, with its own count. */
  send_msg(&a, "D~d", "a4", &a4);
  wire_msg x2, y2;
  send_msg(&a, "B~b", "x2", &x2);
  assert_int_equal(arrive(&b, &x2, 0), 0);
  send_msg(&b, "C~c", "y2", &y2);
  assert_int_equal(carried_hops(&y2, "D~d", "A~a"), 1);
  assert_int_equal(arrive(&c, &y2, 0), 0);
  send_msg(&c, "E~e", "c4", &c4);
  assert_int_equal(carried_hops(&c4, "D~d", "A~a"), 2);
  /* The count saturates at the wire's largest. */
  node f;
  wire_msg m, fw;
  node_new(&f, "F~f", NULL, A);
  const craft_dep far[] = {{"G~g", "Q~q", 1, 50, P2PC_SES_MAX_HOPS},
                           {"H~h", "Q~q", 1, 50, P2PC_SES_MAX_HOPS - 1}};
  craft(&m, "Q~q", "F~f", 2, 0, 100, far, 2);
  assert_int_equal(arrive(&f, &m, 0), 0);
  assert_string_equal(last(&f), "deliver Q~q:2");
  send_msg(&f, "E~e", "f", &fw);
  assert_int_equal(carried_hops(&fw, "G~g", "Q~q"), P2PC_SES_MAX_HOPS);
  assert_int_equal(carried_hops(&fw, "H~h", "Q~q"), P2PC_SES_MAX_HOPS);
  wire_msg *all[] = {&a1, &x, &y, &z, &c1, &c3, &a4, &x2, &y2, &c4, &m, &fw};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    p2pc_buf_fini(&all[i]->b);
  node_free(&a);
  node_free(&b);
  node_free(&c);
  node_free(&c2);
  node_free(&f);
}

/* Stability levels: an entry that travelled h hops is stable when its
 * stamp is below levels[h]: not levels[h - 1], not levels[h + 1]. Levels
 * past nlevels count as 0; entries past the last level (32 hops) are
 * retired only otherwise. A receiver does not take in an entry stable at
 * its new hop count. */
static void test_stable_levels(void **state) {
  (void)state;
  node c;
  wire_msg m;
  node_new(&c, "C~c", NULL, A);
  /* Kept at C with 1, 5, 32 and 41 hops. */
  const craft_dep deps[] = {{"D~d", "B~b", 1, 50, 0},
                            {"E~e", "B~b", 1, 60, 4},
                            {"G~g", "B~b", 1, 70, 31},
                            {"H~h", "B~b", 1, 80, 40}};
  craft(&m, "Q~q", "C~c", 1, 0, 100, deps, 4);
  assert_int_equal(arrive(&c, &m, 0), 0);
  assert_string_equal(last(&c), "deliver Q~q:1");
  assert_int_equal(p2pc_causal_pairs(c.c), 4);
  uint64_t lv[P2PC_CAUSAL_LEVELS];
  const struct {
    uint32_t hops;
    uint64_t stamp;
  } at[] = {{1, 50}, {5, 60}, {32, 70}};
  uint32_t left = 4;
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    uint32_t h = at[i].hops;
    /* The levels beside it, however high: nothing. */
    memset(lv, 0, sizeof lv);
    lv[h - 1] = UINT64_MAX;
    if (h + 1 < P2PC_CAUSAL_LEVELS)
      lv[h + 1] = UINT64_MAX;
    p2pc_causal_set_stable_levels(c.c, lv, P2PC_CAUSAL_LEVELS);
    assert_int_equal(p2pc_causal_pairs(c.c), left);
    /* Its own level at its stamp: not below it. */
    memset(lv, 0, sizeof lv);
    lv[h] = at[i].stamp;
    p2pc_causal_set_stable_levels(c.c, lv, P2PC_CAUSAL_LEVELS);
    assert_int_equal(p2pc_causal_pairs(c.c), left);
    /* Its level, but only h levels given: the rest count as 0. */
    lv[h] = at[i].stamp + 1;
    p2pc_causal_set_stable_levels(c.c, lv, h);
    assert_int_equal(p2pc_causal_pairs(c.c), left);
    p2pc_causal_set_stable_levels(c.c, lv, h + 1);
    assert_int_equal(p2pc_causal_pairs(c.c), --left);
    assert_int_equal(stats(&c).stable_deps, 4 - left);
  }
  /* 41 hops: past every level. */
  for (uint32_t h = 0; h < P2PC_CAUSAL_LEVELS; h++)
    lv[h] = UINT64_MAX;
  p2pc_causal_set_stable_levels(c.c, lv, P2PC_CAUSAL_LEVELS);
  p2pc_causal_set_stable(c.c, UINT64_MAX);
  assert_int_equal(p2pc_causal_pairs(c.c), 1);
  /* A receiver whose levels say an entry is stable at the count it would
   * keep it with does not take it in; at another count it does. */
  node r;
  wire_msg m2;
  node_new(&r, "R~r", NULL, A);
  memset(lv, 0, sizeof lv);
  lv[1] = 1000;
  p2pc_causal_set_stable_levels(r.c, lv, 2);
  const craft_dep two[] = {{"D~d", "B~b", 1, 50, 0}, {"E~e", "B~b", 1, 60, 1}};
  craft(&m2, "Q~q", "R~r", 1, 0, 100, two, 2);
  assert_int_equal(arrive(&r, &m2, 0), 0);
  assert_string_equal(last(&r), "deliver Q~q:1");
  assert_int_equal(p2pc_causal_pairs(r.c), 1); /* (E, B) at 2 hops */
  wire_msg out;
  send_msg(&r, "S~s", "s", &out);
  assert_int_equal(carried_hops(&out, "D~d", "B~b"), -1);
  assert_int_equal(carried_hops(&out, "E~e", "B~b"), 2);
  /* With no_prune levels change nothing. */
  p2pc_causal_config keep = {.no_prune = true};
  node k;
  node_new(&k, "C~c", &keep, A);
  assert_int_equal(arrive(&k, &m, 0), 0);
  p2pc_causal_set_stable(k.c, UINT64_MAX);
  assert_int_equal(p2pc_causal_pairs(k.c), 4);
  p2pc_buf_fini(&m.b);
  p2pc_buf_fini(&m2.b);
  p2pc_buf_fini(&out.b);
  node_free(&c);
  node_free(&r);
  node_free(&k);
}

/* A sender's LS (its own report, p2pc_causal_set_peer_stable) retires the
 * entries of its messages stamped below it, however far they travelled,
 * and only those; it only rises, and unknown ids are ignored. */
static void test_peer_stable(void **state) {
  (void)state;
  node c;
  wire_msg m, m2;
  node_new(&c, "C~c", NULL, A);
  const craft_dep deps[] = {{"D~d", "A~a", 3, 50, 0},
                            {"E~e", "A~a", 4, 60, 40},
                            {"D~d", "B~b", 1, 55, 0},
                            {"E~e", "B~b", 2, 65, 2}};
  craft(&m, "Q~q", "C~c", 1, 0, 100, deps, 4);
  assert_int_equal(arrive(&c, &m, 0), 0);
  assert_string_equal(last(&c), "deliver Q~q:1");
  assert_int_equal(p2pc_causal_pairs(c.c), 4);
  /* Unknown ids and no rise: nothing. */
  p2pc_causal_set_peer_stable(c.c, "Z~z", UINT64_MAX);
  p2pc_causal_set_peer_stable(c.c, NULL, UINT64_MAX);
  p2pc_causal_set_peer_stable(c.c, "A~a", 50);
  assert_int_equal(p2pc_causal_pairs(c.c), 4);
  /* A's LS passes its first entry, then both (the one of 41 hops too);
   * B's entries stay. */
  p2pc_causal_set_peer_stable(c.c, "A~a", 51);
  assert_int_equal(p2pc_causal_pairs(c.c), 3);
  p2pc_causal_set_peer_stable(c.c, "A~a", 61);
  assert_int_equal(p2pc_causal_pairs(c.c), 2);
  /* Filtered lazily (before the next send, or in the next delivery's
   * merge): the counter follows then. */
  assert_int_equal(stats(&c).stable_deps, 0);
  /* Only rises: a lower value later leaves it where it was; the entries
   * of A's messages it covers are not taken in again. */
  p2pc_causal_set_peer_stable(c.c, "A~a", 10);
  const craft_dep again[] = {{"F~f", "A~a", 5, 58, 0},
                             {"F~f", "B~b", 3, 58, 0}};
  craft(&m2, "Q~q", "C~c", 2, 1, 200, again, 2);
  assert_int_equal(arrive(&c, &m2, 0), 0);
  assert_string_equal(last(&c), "deliver Q~q:2");
  assert_int_equal(p2pc_causal_pairs(c.c), 3); /* (F, B) only */
  p2pc_causal_set_peer_stable(c.c, "B~b", 66);
  assert_int_equal(p2pc_causal_pairs(c.c), 0);
  /* Entries of this node's own messages are its own business. */
  wire_msg out;
  send_msg(&c, "D~d", "x", &out);
  assert_int_equal(p2pc_causal_pairs(c.c), 1);
  p2pc_causal_set_peer_stable(c.c, "D~d", UINT64_MAX);
  assert_int_equal(p2pc_causal_pairs(c.c), 1);
  /* With no_prune, nothing. */
  p2pc_causal_config keep = {.no_prune = true};
  node k;
  node_new(&k, "C~c", &keep, A);
  assert_int_equal(arrive(&k, &m, 0), 0);
  p2pc_causal_set_peer_stable(k.c, "A~a", UINT64_MAX);
  assert_int_equal(p2pc_causal_pairs(k.c), 4);
  p2pc_buf_fini(&m.b);
  p2pc_buf_fini(&m2.b);
  p2pc_buf_fini(&out.b);
  node_free(&c);
  node_free(&k);
}

/* ---- LS values in messages ----------------------------------------------
 */

/* A message carries its sender's LS (the oldest stamp of its messages not
 * yet reported delivered, else its HLC: below the stamp either way), and
 * for each distinct sender of its entries the highest value its sender
 * has heard of; nothing for a sender it has heard nothing of. */
static void test_ls_carried(void **state) {
  (void)state;
  node a, b;
  wire_msg a1, a2, a3, a4, b1, q, b2;
  uint32_t nls;
  node_new(&a, "A~a", &one_second, A);
  node_new(&b, "B~b", &one_second, A);
  set_time(&a, T0);
  set_time(&b, T0);
  /* Nothing pending: its HLC, one below the stamp. */
  send_msg(&a, "D~d", "a1", &a1);
  uint64_t s1 = last_ev(&a)->stamp;
  assert_int_equal(s1, (uint64_t)T0 + 1);
  assert_int_equal(carried_ls(&a1, "A~a", &nls), (uint64_t)T0);
  assert_int_equal(nls, 1);
  /* a1 pending: its stamp. (D, A, 1) goes along; A sent it: one value. */
  send_msg(&a, "B~b", "a2", &a2);
  uint64_t s2 = last_ev(&a)->stamp;
  assert_int_equal(carried_ls(&a2, "A~a", &nls), s1);
  assert_int_equal(nls, 1);
  /* D reports a1 delivered: a2 is the oldest now; then B reports a2. */
  assert_int_equal(p2pc_causal_peer_report(a.c, "D~d", 1, NULL, 0, 0), 0);
  send_msg(&a, "E~e", "a3", &a3);
  assert_int_equal(carried_ls(&a3, "A~a", NULL), s2);
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 2, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_peer_report(a.c, "E~e", 3, NULL, 0, 0), 0);
  send_msg(&a, "E~e", "a4", &a4);
  assert_int_equal(carried_ls(&a4, "A~a", NULL), last_ev(&a)->stamp - 1);
  /* B takes a2: it holds (D, A, 1, s1) — A's LS s1 is not above it — and
   * passes A's LS on with it, beside its own. */
  assert_int_equal(arrive(&b, &a2, 0), 0);
  assert_int_equal(p2pc_causal_pairs(b.c), 1);
  send_msg(&b, "C~c", "b1", &b1);
  uint64_t sb1 = last_ev(&b)->stamp;
  assert_int_equal(carried_hops(&b1, "D~d", "A~a"), 1);
  assert_int_equal(carried_ls(&b1, "A~a", &nls), s1);
  assert_int_equal(carried_ls(&b1, "B~b", NULL), sb1 - 1);
  assert_int_equal(nls, 2);
  /* Q's message carries entries of P and of Q's own, and no LS at all:
   * B passes P's entry on without an LS for P, and one value per sender
   * however many of its entries it carries. */
  const craft_dep qd[] = {{"F~f", "P~p", 1, (uint64_t)T0, 0},
                          {"G~g", "A~a", 7, s2, 0},
                          {"G~g", "Q~q", 1, (uint64_t)T0, 0}};
  craft(&q, "Q~q", "B~b", 1, 0, (uint64_t)T0 + 10, qd, 3);
  assert_int_equal(carried_ls(&q, "Q~q", &nls), 0);
  assert_int_equal(nls, 0);
  assert_int_equal(arrive(&b, &q, 0), 0);
  assert_string_equal(last(&b), "deliver Q~q:1");
  send_msg(&b, "C~c", "b2", &b2);
  assert_int_equal(carried_hops(&b2, "F~f", "P~p"), 1);
  assert_int_equal(carried_hops(&b2, "G~g", "A~a"), 1);
  assert_int_equal(carried_ls(&b2, "P~p", &nls), 0);
  assert_int_equal(carried_ls(&b2, "Q~q", NULL), 0);
  assert_int_equal(carried_ls(&b2, "A~a", NULL), s1);
  /* B's own: b1 to C is pending. */
  assert_int_equal(carried_ls(&b2, "B~b", NULL), sb1);
  assert_int_equal(nls, 2);
  node_free(&a);
  node_free(&b);
  wire_msg all[] = {a1, a2, a3, a4, b1, q, b2};
  fini_all(all, 7);
}

/* A value at or above the stamp goes out as stamp - 1 (the wire takes
 * nothing higher). Only a node that keeps entries (no_prune) and heard an
 * LS from ahead of its own clock — here in a message of a retired sender,
 * whose stamp does not enter the HLC — can hold one. */
static void test_ls_clamped(void **state) {
  (void)state;
  p2pc_causal_config keep = {.no_prune = true, .lifetime_ns = LIFE};
  node b;
  wire_msg x, r, b1;
  node_new(&b, "B~b", &keep, A);
  set_time(&b, T0);
  const craft_dep xd[] = {{"D~d", "A~a", 1, (uint64_t)T0 - 5 * TICK, 0}};
  craft(&x, "X~x", "B~b", 1, 0, (uint64_t)T0 - TICK, xd, 1);
  assert_int_equal(arrive(&b, &x, 0), 0);
  assert_int_equal(p2pc_causal_pairs(b.c), 1);
  assert_int_equal(p2pc_causal_retire(b.c, "R~r", 0), 0);
  uint64_t ahead = (uint64_t)T0 + ERR; /* within the bound: not refused */
  const craft_dep rd[] = {{"E~e", "A~a", 2, (uint64_t)T0, 0}};
  const craft_ls rl[] = {{"A~a", ahead - 1}};
  craft_with_ls(&r, "R~r", "B~b", 1, 0, ahead, rd, 1, rl, 1);
  assert_int_equal(arrive(&b, &r, 0), 0);
  assert_string_equal(last(&b), "drop R~r:1");
  assert_true(p2pc_causal_hlc(b.c) < ahead - 1);
  assert_int_equal(p2pc_causal_pairs(b.c), 1); /* no_prune: kept */
  send_msg(&b, "C~c", "b1", &b1);
  uint64_t st = last_ev(&b)->stamp;
  assert_true(st <= ahead - 1);
  assert_int_equal(carried_hops(&b1, "D~d", "A~a"), 1);
  assert_int_equal(carried_ls(&b1, "A~a", NULL), st - 1);
  node_free(&b);
  wire_msg all[] = {x, r, b1};
  fini_all(all, 3);
}

/* A receiver takes the LS values a message carries, whatever becomes of
 * the message: an entry of sender S stamped below S's LS is stable and
 * leaves, whoever brought the value — S itself or any other node — and
 * entries that arrive later below it are not taken in. A value only
 * raises what is known; one equal to an entry's stamp does not retire
 * it. */
static void test_ls_prunes(void **state) {
  (void)state;
  node c;
  wire_msg m[8];
  int nm = 0;
  node_new(&c, "C~c", NULL, A);
  const craft_dep d0[] = {{"D~d", "S~s", 3, 50, 0},
                          {"E~e", "S~s", 4, 60, 0},
                          {"D~d", "T~t", 1, 55, 0},
                          {"E~e", "U~u", 1, 70, 0}};
  craft(&m[nm], "Q~q", "C~c", 1, 0, 100, d0, 4);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_int_equal(p2pc_causal_pairs(c.c), 4);
  /* R (anyone) carries S's LS 51 with an older entry of S's: (D, S, 3)
   * leaves, (E, S, 4) stays, and the entry it brings is not taken in. */
  const craft_dep d1[] = {{"F~f", "S~s", 1, 40, 0}};
  const craft_ls l1[] = {{"S~s", 51}};
  craft_with_ls(&m[nm], "R~r", "C~c", 1, 0, 110, d1, 1, l1, 1);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_string_equal(last(&c), "deliver R~r:1");
  assert_int_equal(p2pc_causal_pairs(c.c), 3);
  assert_int_equal(stats(&c).stable_deps, 1);
  /* 60 is not below 60: (E, S, 4) stays; 61 retires it. */
  const craft_ls l2[] = {{"S~s", 60}};
  craft_with_ls(&m[nm], "R~r", "C~c", 2, 1, 120, d1, 1, l2, 1);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_int_equal(p2pc_causal_pairs(c.c), 3);
  const craft_ls l3[] = {{"S~s", 61}};
  craft_with_ls(&m[nm], "R~r", "C~c", 3, 2, 130, d1, 1, l3, 1);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_int_equal(p2pc_causal_pairs(c.c), 2);
  /* Only rises: a lower value later leaves 61 where it was; an entry of
   * S stamped 58 that comes with it is not taken in; one at 61 is. */
  const craft_dep d4[] = {{"G~g", "S~s", 5, 58, 0}, {"H~h", "S~s", 6, 61, 0}};
  const craft_ls l4[] = {{"S~s", 10}};
  craft_with_ls(&m[nm], "R~r", "C~c", 4, 3, 140, d4, 2, l4, 1);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_string_equal(last(&c), "deliver R~r:4");
  assert_int_equal(p2pc_causal_pairs(c.c), 3); /* (D,T) (E,U) (H,S) */
  /* A message's own sender's LS: T says 56, its (D, T, 1) leaves. */
  const craft_ls l5[] = {{"T~t", 56}};
  craft_with_ls(&m[nm], "T~t", "C~c", 1, 0, 150, NULL, 0, l5, 1);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_string_equal(last(&c), "deliver T~t:1");
  assert_int_equal(p2pc_causal_pairs(c.c), 2);
  /* A copy of a message already delivered still teaches: a duplicate of
   * T:1 with U's LS 71 retires (E, U, 1). */
  const craft_dep d6[] = {{"E~e", "U~u", 1, 70, 0}};
  const craft_ls l6[] = {{"U~u", 71}};
  craft_with_ls(&m[nm], "T~t", "C~c", 1, 0, 150, d6, 1, l6, 1);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_string_equal(last(&c), "dup T~t:1");
  assert_int_equal(p2pc_causal_pairs(c.c), 1); /* (H, S, 6) */
  /* So does one that must wait: R's 6th (5 is missing) carries S's 62. */
  const craft_dep d7[] = {{"C~c", "R~r", 5, 155, 0}, {"H~h", "S~s", 6, 61, 0}};
  const craft_ls l7[] = {{"R~r", 154}, {"S~s", 62}};
  craft_with_ls(&m[nm], "R~r", "C~c", 6, 5, 160, d7, 2, l7, 2);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_string_equal(last(&c), "buffer R~r:6 waits R~r:5 unmet 1");
  assert_int_equal(p2pc_causal_pairs(c.c), 0);
  /* (the stable_deps counter follows at the next filter: pruning by LS
   * values is lazy, before a send or inside a delivery's merge) */
  /* With no_prune the values are taken, and nothing leaves. */
  p2pc_causal_config keep = {.no_prune = true};
  node k;
  node_new(&k, "C~c", &keep, A);
  assert_int_equal(arrive(&k, &m[0], 0), 0);
  for (int i = 1; i < nm; i++)
    arrive(&k, &m[i], 0);
  assert_true(p2pc_causal_pairs(k.c) >= 4);
  assert_int_equal(stats(&k).stable_deps, 0);
  node_free(&k);
  node_free(&c);
  fini_all(m, nm);
}

/* An LS value in a message that is not taken (a full buffer) stays only
 * for names the node knew: the message's new names leave the table again,
 * and what it said of them must not stay behind with their ids for the
 * next names to get them. */
static void test_ls_of_refused_names(void **state) {
  (void)state;
  p2pc_causal_config cfg = {.max_buffered_bytes = 1};
  node c;
  wire_msg s2, w1;
  node_new(&c, "C~c", &cfg, A);
  /* S's second message, its first missing: it must wait, and cannot. It
   * says S's LS is 5000. */
  const craft_dep sd[] = {{"C~c", "S~s", 1, 90, 0}};
  const craft_ls sl[] = {{"S~s", 5000}};
  craft_with_ls(&s2, "S~s", "C~c", 2, 1, 6000, sd, 1, sl, 1);
  assert_int_equal(arrive(&c, &s2, 0), P2PC_ERR_FULL);
  assert_null(p2pc_causal_id_name(c.c, 1));
  /* W is the next new name: it gets S's id, and none of S's LS. Its entry
   * (X, W, 1, 100) is held. */
  const craft_dep wd[] = {{"X~x", "W~w", 1, 100, 0}};
  const craft_ls wl[] = {{"W~w", 100}};
  craft_with_ls(&w1, "W~w", "C~c", 2, 0, 200, wd, 1, wl, 1);
  assert_int_equal(arrive(&c, &w1, 0), 0);
  assert_string_equal(p2pc_causal_id_name(c.c, 1), "W~w");
  assert_string_equal(last(&c), "deliver W~w:2");
  assert_int_equal(p2pc_causal_pairs(c.c), 1);
  assert_int_equal(stats(&c).stable_deps, 0);
  node_free(&c);
  p2pc_buf_fini(&s2.b);
  p2pc_buf_fini(&w1.b);
}

/* Messages to a destination not yet reported delivered or written off:
 * the count falls with its reports, holds a given-up message until it has
 * settled, and is 0 for a name never sent to, or retired. */
static void test_pending_to(void **state) {
  (void)state;
  node a;
  p2pc_buf out;
  node_new(&a, "A~a", &one_second, A);
  p2pc_buf_init(&out, A, 1 << 16);
  set_time(&a, T0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(
        p2pc_causal_send(a.c, "B~b", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_int_equal(
      p2pc_causal_send(a.c, "C~c", (const uint8_t *)"x", 2, 0, &out), 0);
  uint64_t sc = last_ev(&a)->stamp;
  assert_int_equal(
      p2pc_causal_send(a.c, "A~a", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "B~b"), 3);
  assert_int_equal(p2pc_causal_pending_to(a.c, "C~c"), 1);
  assert_int_equal(p2pc_causal_pending_to(a.c, "A~a"), 0); /* self */
  assert_int_equal(p2pc_causal_pending_to(a.c, "Z~z"), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "not an id"), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, NULL), 0);
  /* B: two delivered, then the third. */
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 2, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "B~b"), 1);
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 1, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "B~b"), 1);
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 3, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "B~b"), 0);
  /* C's is given up at Δ, but counts until it has settled. */
  set_time(&a, T0 + LIFE + TICK);
  assert_string_equal(last(&a), "expire A~a:4 to C~c at sender");
  assert_int_equal(p2pc_causal_pending_to(a.c, "C~c"), 1);
  set_time(&a, (int64_t)sc + LIFE + SETTLE - 1);
  assert_int_equal(p2pc_causal_pending_to(a.c, "C~c"), 1);
  set_time(&a, (int64_t)sc + LIFE + SETTLE + TICK);
  assert_int_equal(p2pc_causal_pending_to(a.c, "C~c"), 0);
  /* One to D written off there (once Δ old here): out at once. */
  assert_int_equal(
      p2pc_causal_send(a.c, "D~d", (const uint8_t *)"x", 2, 0, &out), 0);
  uint64_t nd = p2pc_causal_sent(a.c);
  uint64_t wo[2] = {nd, nd};
  assert_int_equal(p2pc_causal_peer_report(a.c, "D~d", 0, wo, 1, 0), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "D~d"), 1);
  set_time(&a, (int64_t)last_ev(&a)->stamp + LIFE + TICK);
  assert_int_equal(p2pc_causal_pending_to(a.c, "D~d"), 1);
  assert_int_equal(p2pc_causal_peer_report(a.c, "D~d", 0, wo, 1, 0), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "D~d"), 0);
  /* Retired: its messages leave the count. */
  for (int i = 0; i < 2; i++)
    assert_int_equal(
        p2pc_causal_send(a.c, "E~e", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "E~e"), 2);
  assert_int_equal(p2pc_causal_retire(a.c, "E~e", 0), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "E~e"), 0);
  p2pc_buf_fini(&out);
  node_free(&a);
}

/* ---- caps -----------------------------------------------------------------
 */

/* Everything observable about a core, to prove a refusal changed nothing. */
typedef struct snap {
  uint64_t hlc, sent, last_stamp, local_stable;
  uint32_t pairs, buffered, nids;
  p2pc_causal_stats st;
  int nev;
} snap;

static snap take(const node *nd) {
  snap s;
  memset(&s, 0, sizeof s);
  s.hlc = p2pc_causal_hlc(nd->c);
  s.sent = p2pc_causal_sent(nd->c);
  s.last_stamp = p2pc_causal_last_stamp(nd->c);
  s.local_stable = p2pc_causal_local_stable(nd->c);
  s.pairs = p2pc_causal_pairs(nd->c);
  s.buffered = p2pc_causal_buffered(nd->c);
  while (p2pc_causal_id_name(nd->c, s.nids))
    s.nids++;
  p2pc_causal_get_stats(nd->c, &s.st);
  s.nev = nd->n;
  return s;
}

static void assert_same_snap(const snap *x, const snap *y) {
  assert_int_equal(x->hlc, y->hlc);
  assert_int_equal(x->sent, y->sent);
  assert_int_equal(x->last_stamp, y->last_stamp);
  assert_int_equal(x->local_stable, y->local_stable);
  assert_int_equal(x->pairs, y->pairs);
  assert_int_equal(x->buffered, y->buffered);
  assert_int_equal(x->nids, y->nids);
  assert_memory_equal(&x->st, &y->st, sizeof x->st);
  assert_int_equal(x->nev, y->nev);
}

/* A send that finds a cap answers FULL and changes nothing but the
 * count of such refusals. */
static void expect_send_full(node *nd, const char *to) {
  p2pc_buf out;
  p2pc_buf_init(&out, A, 1 << 16);
  snap before = take(nd);
  assert_int_equal(
      p2pc_causal_send(nd->c, to, (const uint8_t *)"x", 2, 0, &out),
      P2PC_ERR_FULL);
  assert_int_equal(out.len, 0);
  snap after = take(nd);
  assert_int_equal(after.st.full_deps, before.st.full_deps + 1);
  after.st.full_deps = before.st.full_deps;
  assert_same_snap(&before, &after);
  p2pc_buf_fini(&out);
}

static void test_cap_msg_deps(void **state) {
  (void)state;
  p2pc_causal_config cfg = {.max_msg_deps = 2};
  node a;
  wire_msg w[3];
  node_new(&a, "A~a", &cfg, A);
  send_msg(&a, "B~b", "1", &w[0]);
  send_msg(&a, "C~c", "2", &w[1]);
  send_msg(&a, "D~d", "3", &w[2]); /* carries 2 entries: at the cap */
  assert_int_equal(last_ev(&a)->deps, 2);
  assert_int_equal(p2pc_causal_pairs(a.c), 3);
  expect_send_full(&a, "E~e"); /* would carry 3 */
  expect_send_full(&a, "B~b");
  /* Self-sends carry nothing: never refused. */
  p2pc_buf out;
  p2pc_buf_init(&out, A, 64);
  assert_int_equal(
      p2pc_causal_send(a.c, "A~a", (const uint8_t *)"x", 2, 0, &out), 0);
  /* Once an entry leaves, sends go again. */
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 1, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_pairs(a.c), 2);
  assert_int_equal(
      p2pc_causal_send(a.c, "E~e", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_int_equal(last_ev(&a)->deps, 2);
  p2pc_buf_fini(&out);
  node_free(&a);
  fini_all(w, 3);
}

static void test_cap_pending(void **state) {
  (void)state;
  p2pc_causal_config cfg = {.max_pending = 2};
  node a;
  wire_msg w[2];
  node_new(&a, "A~a", &cfg, A);
  send_msg(&a, "B~b", "1", &w[0]);
  send_msg(&a, "C~c", "2", &w[1]);
  expect_send_full(&a, "B~b");
  expect_send_full(&a, "D~d");
  /* C has delivered A:2 (numbers count all of A's messages). */
  assert_int_equal(p2pc_causal_peer_report(a.c, "C~c", 1, NULL, 0, 0), 0);
  expect_send_full(&a, "D~d");
  assert_int_equal(p2pc_causal_peer_report(a.c, "C~c", 2, NULL, 0, 0), 0);
  p2pc_buf out;
  p2pc_buf_init(&out, A, 1 << 16);
  assert_int_equal(
      p2pc_causal_send(a.c, "D~d", (const uint8_t *)"x", 2, 0, &out), 0);
  expect_send_full(&a, "B~b");
  p2pc_buf_fini(&out);
  node_free(&a);
  fini_all(w, 2);
}

/* max_deps: a send that would add an entry past it is refused (one that
 * replaces its destination's entry is not); a receive whose merge would
 * pass it is not taken (FULL) and is taken later, once entries expired. */
static void test_cap_deps(void **state) {
  (void)state;
  p2pc_causal_config cfg = {.max_deps = 1, .lifetime_ns = LIFE};
  node a, b;
  wire_msg c1, c2, d1, m;
  node_new(&a, "A~a", &one_second, A);
  node_new(&b, "B~b", &cfg, A);
  set_time(&b, T0);
  send_msg(&b, "C~c", "c1", &c1); /* B holds (C, B, 1) */
  send_msg(&b, "C~c", "c2", &c2); /* replaces it */
  assert_int_equal(p2pc_causal_pairs(b.c), 1);
  expect_send_full(&b, "D~d");
  /* A's m to B carries (D, A, 1): merged, B would hold 2. */
  set_time(&a, T0 + LIFE / 2);
  send_msg(&a, "D~d", "d1", &d1);
  send_msg(&a, "B~b", "m", &m);
  set_time(&b, T0 + LIFE / 2 + ERR);
  snap before = take(&b);
  assert_int_equal(arrive(&b, &m, 0), P2PC_ERR_FULL);
  snap after = take(&b);
  assert_int_equal(count(&b, P2PC_CEV_DELIVER), 0);
  assert_int_equal(count(&b, P2PC_CEV_BUFFER), 0);
  assert_int_equal(p2pc_causal_buffered(b.c), 0);
  assert_int_equal(after.nids, before.nids); /* no names kept */
  assert_int_equal(after.pairs, 1);
  assert_int_equal(after.st.full_deps, before.st.full_deps + 1);
  assert_int_equal(after.st.delivered, 0);
  assert_int_equal(after.st.received, 0);
  expect_report(&b, "A~a", "d=0 wo=");
  /* Once B's own entry (stamped T0 + 2) is Δ old, m (and its entry) fit. */
  set_time(&b, T0 + LIFE + TICK);
  assert_int_equal(p2pc_causal_pairs(b.c), 0);
  assert_int_equal(arrive(&b, &m, 0), 0);
  assert_string_equal(last(&b), "deliver A~a:2");
  assert_int_equal(p2pc_causal_pairs(b.c), 1);
  assert_int_equal(stats(&b).deps_max, 1);
  node_free(&a);
  node_free(&b);
  wire_msg *all[] = {&c1, &c2, &d1, &m};
  for (int i = 0; i < 4; i++)
    p2pc_buf_fini(&all[i]->b);
}

/* The buffer holds max_buffered messages; one more that must wait is
 * refused with FULL and nothing changes; a deliverable one is always
 * taken, and a refused one is accepted when offered again later. */
static void test_buffer_full(void **state) {
  (void)state;
  p2pc_causal_config cfg = {.max_buffered = 2};
  node a, b;
  wire_msg w[4];
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", &cfg, A);
  for (int i = 0; i < 4; i++)
    send_msg(&a, "B~b", "m", &w[i]);
  assert_int_equal(arrive(&b, &w[3], 0), 0);
  assert_int_equal(arrive(&b, &w[2], 0), 0);
  int before = b.n;
  assert_int_equal(arrive(&b, &w[1], 0), P2PC_ERR_FULL);
  assert_int_equal(b.n, before); /* not even a recv event */
  assert_int_equal(p2pc_causal_buffered(b.c), 2);
  assert_int_equal(stats(&b).rejected_full, 1);
  assert_int_equal(arrive(&b, &w[0], 0), 0);
  assert_int_equal(p2pc_causal_buffered(b.c), 2);
  assert_int_equal(arrive(&b, &w[1], 0), 0);
  assert_int_equal(p2pc_causal_buffered(b.c), 0);
  assert_int_equal(stats(&b).delivered, 4);
  /* In order. */
  uint64_t next = 1;
  for (int i = 0; i < b.n; i++)
    if (b.ev[i].kind == P2PC_CEV_DELIVER)
      assert_int_equal(b.ev[i].n, next++);
  assert_int_equal(next, 5);
  node_free(&a);
  node_free(&b);
  fini_all(w, 4);
}

static void test_buffer_byte_limit(void **state) {
  (void)state;
  p2pc_causal_config cfg = {.max_buffered_bytes = 8};
  node a, b;
  wire_msg w[3];
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", &cfg, A);
  send_msg(&a, "B~b", "x", &w[0]);
  send_msg(&a, "B~b", "abcdef", &w[1]); /* 7 bytes with NUL */
  send_msg(&a, "B~b", "gh", &w[2]);     /* 3 more: 10 > 8 */
  assert_int_equal(arrive(&b, &w[1], 0), 0);
  assert_int_equal(arrive(&b, &w[2], 0), P2PC_ERR_FULL);
  assert_int_equal(arrive(&b, &w[0], 0), 0);
  assert_int_equal(arrive(&b, &w[2], 0), 0);
  assert_int_equal(stats(&b).delivered, 3);
  node_free(&a);
  node_free(&b);
  fini_all(w, 3);
}

/* Node IDs: a message whose new names would take the table past
 * max_nodes is TOOBIG, and leaves no name behind. */
static void test_cap_nodes(void **state) {
  (void)state;
  p2pc_causal_config cfg = {.max_nodes = 3};
  node a, b, d;
  wire_msg w[2];
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", NULL, A);
  node_new(&d, "D~d", &cfg, A);
  assert_int_equal(p2pc_causal_retire(d.c, "Q~q", 0), 0); /* D, Q */
  send_msg(&a, "D~d", "1", &w[0]);
  assert_int_equal(arrive(&d, &w[0], 0), 0); /* D, Q, A: full */
  assert_string_equal(last(&d), "deliver A~a:1");
  send_msg(&b, "D~d", "2", &w[1]);
  int before = d.n;
  assert_int_equal(arrive(&d, &w[1], 0), P2PC_ERR_TOOBIG);
  assert_null(p2pc_causal_id_name(d.c, 3));
  assert_int_equal(d.n, before);
  assert_int_equal(stats(&d).malformed, 1);
  /* Known names still work. */
  p2pc_buf out;
  p2pc_buf_init(&out, A, 1 << 16);
  assert_int_equal(
      p2pc_causal_send(d.c, "A~a", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_int_equal(
      p2pc_causal_send(d.c, "B~b", (const uint8_t *)"x", 2, 0, &out),
      P2PC_ERR_FULL);
  p2pc_buf_fini(&out);
  node_free(&a);
  node_free(&b);
  node_free(&d);
  fini_all(w, 2);
}

/* ---- all-or-nothing under allocation failure ------------------------------
 */

/* The three nodes of test_holdback_and_release on a failing allocator: A
 * sends m1 to C, m2 to B; B delivers m2, then (half a Δ later) sends b0 to
 * D and m3 to C. m3 carries (C, A, 1) and (D, B, 1). */
typedef struct trio {
  failalloc f;
  node a, b, c;
  wire_msg w[4]; /* m1, m2, m3, b0 */
} trio;

static void trio_new(trio *t) {
  failalloc_init(&t->f);
  node_new(&t->a, "A~a", &one_second, &t->f.a);
  node_new(&t->b, "B~b", &one_second, &t->f.a);
  node_new(&t->c, "C~c", &one_second, &t->f.a);
  set_time(&t->a, T0);
  set_time(&t->b, T0);
  send_msg(&t->a, "C~c", "m1", &t->w[0]);
  send_msg(&t->a, "B~b", "m2", &t->w[1]);
  assert_int_equal(arrive(&t->b, &t->w[1], 0), 0);
  set_time(&t->b, T0 + LIFE / 2);
  set_time(&t->c, T0 + LIFE / 2);
  send_msg(&t->b, "D~d", "b0", &t->w[3]);
  send_msg(&t->b, "C~c", "m3", &t->w[2]);
  assert_int_equal(last_ev(&t->b)->deps, 2);
}

static void trio_free(trio *t) {
  node_free(&t->a);
  node_free(&t->b);
  node_free(&t->c);
  fini_all(t->w, 4);
  assert_int_equal(t->f.live, 0);
}

/* The event lines of nd from event i on, without RECVs (a receive that
 * fails after reporting RECV reports it again when retried). */
static void lines_since(const node *nd, int i, char *out, size_t cap) {
  size_t off = 0;
  out[0] = '\0';
  for (; i < nd->n; i++)
    if (nd->ev[i].kind != P2PC_CEV_RECV)
      off += (size_t)snprintf(out + off, cap - off, "%s;", nd->ev[i].line);
}

typedef enum {
  OP_RECV_BUFFER,  /* C takes m3: new names, a buffer slot, a copy */
  OP_RECV_DRAIN,   /* C takes m1: delivered, then m3 from the buffer */
  OP_SEND,         /* A sends to a new destination, with entries */
  OP_RETIRE,       /* C retires A: m3 goes, its entry (D, B, 1) merged */
  OP_TIME_RELEASE, /* time passes: m1's entry expires, m3 is delivered */
  OP_RETIRE_NEW,   /* C retires an identity it never heard of */
  OP_COUNT
} alloc_op;

static const char *const op_names[] = {"recv-buffer",  "recv-drain",
                                       "send",         "retire",
                                       "time-release", "retire-new"};

/* Runs op with the k-th allocation from now failing (k < 0: none).
 * Returns the result; *fired says whether the failure happened. */
static int run_op(trio *t, alloc_op op, long k, bool *fired) {
  node *c = &t->c;
  int rv = 0;
  t->f.countdown = k;
  switch (op) {
  case OP_RECV_BUFFER:
    rv = arrive(c, &t->w[2], 5);
    break;
  case OP_RECV_DRAIN:
    rv = arrive(c, &t->w[0], 9);
    break;
  case OP_SEND: {
    p2pc_buf out;
    p2pc_buf_init(&out, A, 1 << 16);
    rv = p2pc_causal_send(t->a.c, "E~e", (const uint8_t *)"m4", 3, 0, &out);
    assert_true(rv ? out.len == 0 : out.len > 0);
    p2pc_buf_fini(&out);
    break;
  }
  case OP_RETIRE:
    rv = p2pc_causal_retire(c->c, "A~a", 9);
    break;
  case OP_TIME_RELEASE:
    set_time(c, T0 + LIFE + TICK);
    break;
  case OP_RETIRE_NEW:
    rv = p2pc_causal_retire(c->c, "Q~q", 9);
    break;
  default:
    fail();
  }
  *fired = k >= 0 && t->f.countdown < 0;
  t->f.countdown = -1;
  return rv;
}

static void prepare(trio *t, alloc_op op) {
  if (op != OP_RECV_BUFFER && op != OP_SEND)
    assert_int_equal(arrive(&t->c, &t->w[2], 5), 0); /* m3 buffered */
}

/* Fails each allocation of each op in turn. A call that fails changes
 * nothing (but a RECV it reported, and the HLC, which took the stamp in)
 * and succeeds when made again; a call that succeeds although a
 * delivery in its drain ran out of memory leaves that drain to
 * p2pc_causal_drain. Either way the end is the run without failures:
 * same events, same state. No leak, no crash. */
static void test_allocation_failures_are_atomic(void **state) {
  (void)state;
  for (alloc_op op = 0; op < OP_COUNT; op++) {
    trio ref;
    bool fired;
    trio_new(&ref);
    prepare(&ref, op);
    node *rn = op == OP_SEND ? &ref.a : &ref.c;
    int ev0 = rn->n;
    assert_int_equal(run_op(&ref, op, -1, &fired), 0);
    snap want = take(rn);
    char want_lines[2048], got_lines[2048];
    lines_since(rn, ev0, want_lines, sizeof want_lines);

    long k = 0;
    for (;; k++) {
      assert_true(k < 1000);
      trio t;
      trio_new(&t);
      prepare(&t, op);
      node *nd = op == OP_SEND ? &t.a : &t.c;
      int e0 = nd->n;
      snap before = take(nd);
      int rv = run_op(&t, op, k, &fired);
      if (!fired) {
        /* k is past the last allocation: done. */
        assert_int_equal(rv, 0);
        trio_free(&t);
        break;
      }
      bool retried = false;
      if (rv != 0) {
        if (rv != P2PC_ERR_NOMEM)
          fail_msg("%s, allocation %ld: %d", op_names[op], k, rv);
        snap after = take(nd);
        lines_since(nd, e0, got_lines, sizeof got_lines);
        assert_string_equal(got_lines, "");
        if (op == OP_RECV_BUFFER || op == OP_RECV_DRAIN) {
          assert_true(after.hlc >= before.hlc);
          after.hlc = before.hlc;
          after.local_stable = before.local_stable;
          after.nev = before.nev;
        }
        assert_same_snap(&before, &after);
        assert_int_equal(run_op(&t, op, -1, &fired), 0);
        retried = true;
      } else {
        /* Taken, but a delivery in the drain may have run out of memory:
         * resume it. */
        p2pc_causal_drain(nd->c, 9);
      }
      snap got = take(nd);
      lines_since(nd, e0, got_lines, sizeof got_lines);
      assert_string_equal(got_lines, want_lines);
      got.nev = want.nev;
      if (retried && (op == OP_RECV_BUFFER || op == OP_RECV_DRAIN)) {
        /* The failed call took the stamp in already. */
        assert_true(got.hlc >= want.hlc);
        got.hlc = want.hlc;
        got.local_stable = want.local_stable;
      }
      assert_same_snap(&want, &got);
      trio_free(&t);
    }
    if (k == 0)
      fail_msg("%s allocates nothing", op_names[op]);
    trio_free(&ref);
  }
}

/* Allocation failures while a core is created: no leak, no core. */
static void test_allocation_failures_in_new(void **state) {
  (void)state;
  for (long k = 0;; k++) {
    assert_true(k < 100);
    failalloc f;
    failalloc_init(&f);
    p2pc_causal *c = NULL;
    f.countdown = k;
    int rv = p2pc_causal_new(&c, "A~a", NULL, &f.a, NULL, NULL);
    bool fired = f.countdown < 0;
    f.countdown = -1;
    if (!fired) {
      assert_int_equal(rv, 0);
      p2pc_causal_free(c);
      assert_int_equal(f.live, 0);
      break;
    }
    assert_int_equal(rv, P2PC_ERR_NOMEM);
    assert_int_equal(f.live, 0);
  }
  p2pc_causal *c = NULL;
  assert_int_equal(p2pc_causal_new(&c, "not an id", NULL, NULL, NULL, NULL),
                   P2PC_ERR_INVAL);
  assert_int_equal(p2pc_causal_new(&c, NULL, NULL, NULL, NULL, NULL),
                   P2PC_ERR_INVAL);
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
      cmocka_unit_test(test_hlc_stamps),
      cmocka_unit_test(test_hlc_refuses_ahead),
      cmocka_unit_test(test_set_stable),
      cmocka_unit_test(test_entry_hops),
      cmocka_unit_test(test_stable_levels),
      cmocka_unit_test(test_peer_stable),
      cmocka_unit_test(test_ls_carried),
      cmocka_unit_test(test_ls_clamped),
      cmocka_unit_test(test_ls_prunes),
      cmocka_unit_test(test_ls_of_refused_names),
      cmocka_unit_test(test_pending_to),
      cmocka_unit_test(test_cap_msg_deps),
      cmocka_unit_test(test_cap_pending),
      cmocka_unit_test(test_cap_deps),
      cmocka_unit_test(test_buffer_full),
      cmocka_unit_test(test_buffer_byte_limit),
      cmocka_unit_test(test_cap_nodes),
      cmocka_unit_test(test_allocation_failures_are_atomic),
      cmocka_unit_test(test_allocation_failures_in_new),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
