/* SPDX-License-Identifier: MIT */
/*
 * Δ-SES under pressure (causal.h): every cap (entries a message carries,
 * messages pending, entries held, the buffer by count and bytes, node IDs)
 * and all-or-nothing behaviour when any one allocation fails.
 */
#include "causalfix.h"

#include "failalloc.h"

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

/* A sender silent for Δ + settle, with nothing left about it, is
 * forgotten: max_nodes bounds the identities heard at once, not over the
 * core's life (it was a permanent TOOBIG past max_nodes). One new sender
 * every Δ, 100 of them, through a table of 8. */
static void test_forget_silent_senders(void **state) {
  (void)state;
  p2pc_causal_config cfg = {.max_nodes = 8, .lifetime_ns = LIFE};
  node d;
  wire_msg first;
  node_new(&d, "D~d", &cfg, A);
  int delivered = 0;
  for (int i = 0; i < 100; i++) {
    char id[16];
    snprintf(id, sizeof id, "S%d~s", i);
    int64_t t = T0 + (int64_t)i * LIFE;
    node s;
    wire_msg w;
    node_new(&s, id, &cfg, A);
    set_time(&s, t);
    set_time(&d, t);
    send_msg(&s, "D~d", "hi", &w);
    assert_int_equal(arrive(&d, &w, 0), 0);
    assert_int_equal(d.ev[d.n - 1].kind, P2PC_CEV_DELIVER);
    delivered++;
    d.n = 0;
    uint32_t nids = 0;
    while (p2pc_causal_id_name(d.c, nids))
      nids++;
    assert_true(nids <= 8);
    if (i == 0)
      first = w;
    else
      p2pc_buf_fini(&w.b);
    node_free(&s);
  }
  assert_int_equal(delivered, 100);
  assert_true(stats(&d).forgotten >= 90);
  assert_int_equal(stats(&d).delivered, 100);
  /* A late copy of the first message: older than Δ, from a sender
   * forgotten here. It may have been delivered (it was), so it is dropped,
   * neither delivered again nor reported undeliverable. */
  assert_null(strstr(p2pc_causal_id_name(d.c, 0), "S0~"));
  assert_int_equal(arrive(&d, &first, 0), 0);
  assert_string_equal(last(&d), "drop S0~s:1");
  assert_int_equal(stats(&d).delivered, 100);
  assert_int_equal(count(&d, P2PC_CEV_EXPIRE), 0);
  p2pc_buf_fini(&first.b);
  node_free(&d);
}

/* A report from a destination this core forgot (and heard from again)
 * may name what it wrote off of our stream back when we remembered it:
 * ranges above what we now remember sending it, but within what we sent,
 * are taken (and cover nothing pending); a range above our last message
 * is a lie. */
static void test_report_after_forgetting(void **state) {
  (void)state;
  node s, d;
  wire_msg w[2];
  p2pc_causal_config sweep = {.lifetime_ns = LIFE, .forget_every_tick = true};
  node_new(&s, "S~s", &sweep, A);
  node_new(&d, "D~d", &one_second, A);
  set_time(&s, T0);
  set_time(&d, T0);
  send_msg(&s, "D~d", "1", &w[0]);
  assert_int_equal(arrive(&d, &w[0], 0), 0);
  assert_int_equal(pass_report(&d, &s), 0);
  /* Δ + settle later S has forgotten D; D's next message brings it back. */
  set_time(&s, T0 + 4 * LIFE);
  set_time(&d, T0 + 4 * LIFE);
  assert_true(stats(&s).forgotten >= 1);
  send_msg(&d, "S~s", "2", &w[1]);
  assert_int_equal(arrive(&s, &w[1], 0), 0);
  uint64_t wo[2] = {1, 1};
  assert_int_equal(p2pc_causal_peer_report(s.c, "D~d", 1, wo, 1, 0), 0);
  wo[0] = wo[1] = 2;
  assert_int_equal(p2pc_causal_peer_report(s.c, "D~d", 1, wo, 1, 0),
                   P2PC_ERR_PROTO);
  assert_int_equal(p2pc_causal_pending_to(s.c, "D~d"), 0);
  node_free(&s);
  node_free(&d);
  fini_all(w, 2);
}

/* Forgetting renumbers the ids that stay: a message buffered across it
 * keeps waiting for the right one and is delivered after it. */
static void test_forget_renumbers_buffered(void **state) {
  (void)state;
  p2pc_causal_config cfg = {.lifetime_ns = LIFE, .forget_every_tick = true};
  node a, b, c, old;
  wire_msg w[3];
  node_new(&old, "O~o", &cfg, A);
  node_new(&a, "A~a", &cfg, A);
  node_new(&b, "B~b", &cfg, A);
  node_new(&c, "C~c", &cfg, A);
  /* C hears from O first: O's id comes before A's and B's. */
  set_time(&old, T0);
  set_time(&c, T0);
  send_msg(&old, "C~c", "o", &w[0]);
  assert_int_equal(arrive(&c, &w[0], 0), 0);
  p2pc_buf_fini(&w[0].b);
  /* Past settle (2.25 s, about 2.1 Δ here): O is forgotten while m3,
   * stamped now, is still younger than Δ. */
  int64_t t = T0 + 3 * LIFE;
  set_time(&a, t);
  set_time(&b, t);
  set_time(&c, t);
  send_msg(&a, "C~c", "m1", &w[0]);
  send_msg(&a, "B~b", "m2", &w[1]);
  assert_int_equal(arrive(&b, &w[1], 0), 0);
  send_msg(&b, "C~c", "m3", &w[2]); /* carries (C, A, 1) */
  assert_int_equal(arrive(&c, &w[2], 0), 0);
  assert_string_equal(last(&c), "buffer B~b:1 waits A~a:1 unmet 1");
  /* O falls silent for Δ + settle: C forgets it, and A, B, C move down. */
  uint64_t gone = stats(&c).forgotten;
  set_time(&c, t + LIFE / 2);
  assert_true(stats(&c).forgotten > gone);
  assert_int_equal(p2pc_causal_buffered(c.c), 1);
  for (uint32_t i = 0; p2pc_causal_id_name(c.c, i); i++)
    assert_null(strstr(p2pc_causal_id_name(c.c, i), "O~o"));
  assert_int_equal(arrive(&c, &w[0], 0), 0);
  assert_string_equal(back(&c, 2), "deliver A~a:1");
  assert_string_equal(last(&c), "deliver B~b:1");
  assert_int_equal(p2pc_causal_buffered(c.c), 0);
  node_free(&old);
  node_free(&a);
  node_free(&b);
  node_free(&c);
  fini_all(w, 3);
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
      cmocka_unit_test(test_cap_msg_deps),
      cmocka_unit_test(test_cap_pending),
      cmocka_unit_test(test_cap_deps),
      cmocka_unit_test(test_buffer_full),
      cmocka_unit_test(test_buffer_byte_limit),
      cmocka_unit_test(test_cap_nodes),
      cmocka_unit_test(test_forget_silent_senders),
      cmocka_unit_test(test_forget_renumbers_buffered),
      cmocka_unit_test(test_report_after_forgetting),
      cmocka_unit_test(test_allocation_failures_are_atomic),
      cmocka_unit_test(test_allocation_failures_in_new),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
