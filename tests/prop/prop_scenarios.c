/* SPDX-License-Identifier: MIT */
/*
 * prop_causal's fixed tests (prop_harness.h): the checker's own test on a
 * hand-made example, and directed scenarios of bugs that the random
 * schedules found (regressions).
 */
#include "prop_harness.h"

/* ---- the checker's own test ---------------------------------------------- */

static int selftest_fail(const char *what) {
  fprintf(stderr, "prop_causal: checker self-test failed: %s\n", what);
  return 1;
}

/* A.8's worked example: P1 sends m1 to P2 and m2 to P3; P3 delivers m2 and
 * sends m3 to P2. At P2, m1 must come before m3. */
static void feed_example(ccheck *c, bool m3_first, bool p2_log_first) {
  static const uint8_t pl[3] = {1, 2, 3};
  enum { P1, P2, P3 };
  if (p2_log_first) { /* offline order: P2's log, then P3's, then P1's */
    if (m3_first) {
      ccheck_deliver(c, P2, P3, 1, &pl[2], 1);
      ccheck_deliver(c, P2, P1, 1, &pl[0], 1);
    } else {
      ccheck_deliver(c, P2, P1, 1, &pl[0], 1);
      ccheck_deliver(c, P2, P3, 1, &pl[2], 1);
    }
    ccheck_deliver(c, P3, P1, 2, &pl[1], 1);
    ccheck_send(c, P3, P3, 1, P2, &pl[2], 1);
    ccheck_send(c, P1, P1, 1, P2, &pl[0], 1);
    ccheck_send(c, P1, P1, 2, P3, &pl[1], 1);
    return;
  }
  ccheck_send(c, P1, P1, 1, P2, &pl[0], 1);
  ccheck_send(c, P1, P1, 2, P3, &pl[1], 1);
  ccheck_deliver(c, P3, P1, 2, &pl[1], 1);
  ccheck_send(c, P3, P3, 1, P2, &pl[2], 1);
  if (m3_first) {
    ccheck_deliver(c, P2, P3, 1, &pl[2], 1);
    ccheck_deliver(c, P2, P1, 1, &pl[0], 1);
  } else {
    ccheck_deliver(c, P2, P1, 1, &pl[0], 1);
    ccheck_deliver(c, P2, P3, 1, &pl[2], 1);
  }
}

int checker_selftest(void) {
  static const char *const nm[3] = {"P1", "P2", "P3"};
  static const uint8_t a = 'a', b = 'b';
  ccheck *c;
  int bad = 0;

  for (int offline = 0; offline < 2; offline++) {
    unsigned fl = offline ? CCHECK_OFFLINE : 0;
    c = ccheck_new(3, nm, fl);
    feed_example(c, false, offline);
    ccheck_finish(c);
    if (ccheck_violations(c) || ccheck_deliveries(c) != 3)
      bad |= selftest_fail("A.8 in order flagged");
    ccheck_free(c);

    c = ccheck_new(3, nm, fl);
    feed_example(c, true, offline);
    ccheck_finish(c);
    const char *l = ccheck_first_of(c, CCHECK_ORDER);
    if (ccheck_count(c, CCHECK_ORDER) != 1 || ccheck_violations(c) != 1 || !l ||
        !strstr(l, "P2 delivered P3:1 before P1:1"))
      bad |= selftest_fail("A.8 with m3 first not flagged as ORDER");
    ccheck_free(c);
  }

  /* FIFO: two messages P1 -> P2, the second delivered first; ready(). */
  c = ccheck_new(3, nm, 0);
  ccheck_send(c, 0, 0, 1, 1, &a, 1);
  ccheck_send(c, 0, 0, 2, 1, &b, 1);
  if (!ccheck_ready(c, 0, 1) || ccheck_ready(c, 0, 2))
    bad |= selftest_fail("ready() wrong for a FIFO pair");
  ccheck_deliver(c, 1, 0, 2, &b, 1);
  ccheck_deliver(c, 1, 0, 1, &a, 1);
  if (ccheck_count(c, CCHECK_ORDER) != 1)
    bad |= selftest_fail("FIFO overtaking not flagged");
  if (!ccheck_delivered(c, 0, 1) || ccheck_ready(c, 0, 1))
    bad |= selftest_fail("delivered()/ready() after delivery");
  /* ... delivered again, with the wrong payload, and at the wrong node. */
  ccheck_deliver(c, 1, 0, 1, &a, 1);
  ccheck_deliver(c, 1, 0, 2, &a, 1);
  ccheck_deliver(c, 2, 0, 1, &a, 1);
  ccheck_deliver(c, 2, 1, 7, &a, 1);
  if (ccheck_count(c, CCHECK_DUPLICATE) != 2 ||
      ccheck_count(c, CCHECK_PAYLOAD) != 1 ||
      ccheck_count(c, CCHECK_WRONG_DEST) != 1 ||
      ccheck_count(c, CCHECK_UNKNOWN) != 1)
    bad |= selftest_fail("duplicate/payload/wrong-dest/unknown not flagged");
  /* A send in another's name and a reused id. */
  ccheck_send(c, 2, 0, 9, 1, NULL, 0);
  ccheck_send(c, 0, 0, 1, 2, NULL, 0);
  if (ccheck_count(c, CCHECK_BAD_SEND) != 2)
    bad |= selftest_fail("bad sends not flagged");
  ccheck_free(c);

  /* Concurrent messages may come in any order; a missing one is LIVENESS;
   * an unknown one in offline mode is found at the end. */
  c = ccheck_new(3, nm, CCHECK_OFFLINE);
  ccheck_deliver(c, 2, 1, 1, &b, 1);
  ccheck_deliver(c, 2, 0, 1, &a, 1);
  ccheck_deliver(c, 2, 0, 5, &a, 1);
  ccheck_send(c, 0, 0, 1, 2, &a, 1);
  ccheck_send(c, 0, 0, 2, 1, &a, 1);
  ccheck_send(c, 1, 1, 1, 2, &b, 1);
  ccheck_finish(c);
  if (ccheck_count(c, CCHECK_ORDER) || ccheck_count(c, CCHECK_LIVENESS) != 1 ||
      ccheck_count(c, CCHECK_UNKNOWN) != 1 || ccheck_violations(c) != 2)
    bad |= selftest_fail("concurrent/liveness/offline unknown");
  ccheck_free(c);

  /* Transitivity through a third node: P1 -> P3 (m1), P1 -> P2 (m2), P2
   * delivers m2 and sends m3 to P3; m3 before m1 at P3 is a violation. */
  c = ccheck_new(3, nm, 0);
  ccheck_send(c, 0, 0, 1, 2, &a, 1);
  ccheck_send(c, 0, 0, 2, 1, &a, 1);
  ccheck_deliver(c, 1, 0, 2, &a, 1);
  ccheck_send(c, 1, 1, 1, 2, &b, 1);
  if (ccheck_ready(c, 1, 1) || !ccheck_ready(c, 0, 1))
    bad |= selftest_fail("transitive ready()");
  ccheck_deliver(c, 2, 1, 1, &b, 1);
  ccheck_deliver(c, 2, 0, 1, &a, 1);
  ccheck_finish(c);
  if (ccheck_count(c, CCHECK_ORDER) != 1 || ccheck_violations(c) != 1)
    bad |= selftest_fail("transitive ORDER not flagged");
  ccheck_free(c);
  return bad;
}

/* ---- directed scenarios: what the random schedules found --------------- */

typedef struct sc_node {
  p2pc_causal *c;
  int64_t off;
  uint64_t err;
  char log[256]; /* "D<sender>:<n>" deliveries, "E..." expiries */
  size_t len;
} sc_node;

static void sc_event(void *ud, const p2pc_causal_event *e) {
  sc_node *n = ud;
  if (e->kind != P2PC_CEV_DELIVER && e->kind != P2PC_CEV_EXPIRE)
    return;
  int k = snprintf(n->log + n->len, sizeof n->log - n->len, "%s%c%s:%" PRIu64,
                   n->len ? " " : "",
                   e->kind == P2PC_CEV_DELIVER ? 'D'
                   : e->at_sender              ? 'e'
                                               : 'E',
                   e->sender, e->n);
  if (k > 0 && (size_t)k < sizeof n->log - n->len)
    n->len += (size_t)k;
}

static void sc_time(sc_node *n, uint64_t t_ms) {
  p2pc_causal_set_time(n->c, EPOCH + (int64_t)(t_ms * MS) + n->off, n->err,
                       t_ms * MS);
}

static int sc_fail(const char *name, const char *what) {
  fprintf(stderr, "prop_causal: scenario %s: %s\n", name, what);
  return 1;
}

/*
 * A message given up by its sender is not stable. s (clock 40 ms ahead)
 * sends m1 to d and then m2 to x; x delivers m2 and holds the entry for
 * m1. m1 is late: at 101 ms s gives it up (its HLC says τ1 + Δ), but d's
 * clock runs 80 ms behind s's, so m1 is still young at d. If s's LS then
 * passed τ1, G would too, x would drop the entry as stable, and its m3 to
 * d would be delivered before m1 arrives (at 110 ms, younger than Δ on
 * d's HLC, and delivered): m1 -> m2 -> m3 out of order. Both ways d must
 * deliver m1 first, as with no_prune. (prop_causal_prune_equivalence found
 * it in the first Δ-SES core; given-up messages now settle before LS
 * passes them.)
 */
static int scenario_given_up_not_stable(bool no_prune) {
  const char *name = "given-up-not-stable";
  sc_node s = {.off = 40 * (int64_t)MS, .err = 50 * MS},
          x = {.off = -40 * (int64_t)MS, .err = 50 * MS},
          d = {.off = -40 * (int64_t)MS, .err = 50 * MS};
  p2pc_causal_config cfg = {.lifetime_ns = 100 * MS, .no_prune = no_prune};
  const p2pc_allocator *al = p2pc_allocator_default();
  p2pc_buf b1, b2, b3;
  p2pc_buf_init(&b1, al, 1 << 16);
  p2pc_buf_init(&b2, al, 1 << 16);
  p2pc_buf_init(&b3, al, 1 << 16);
  int bad = 0;
  if (p2pc_causal_new(&s.c, "s", &cfg, al, sc_event, &s) ||
      p2pc_causal_new(&x.c, "x", &cfg, al, sc_event, &x) ||
      p2pc_causal_new(&d.c, "d", &cfg, al, sc_event, &d)) {
    bad = sc_fail(name, "p2pc_causal_new failed");
    goto out;
  }
  static const uint8_t pl[1] = {1};
  sc_time(&s, 0);
  sc_time(&x, 0);
  sc_time(&d, 0);
  if (p2pc_causal_send(s.c, "d", pl, 1, 0, &b1) ||
      p2pc_causal_send(s.c, "x", pl, 1, 0, &b2)) {
    bad = sc_fail(name, "send failed");
    goto out;
  }
  sc_time(&x, 1);
  if (p2pc_causal_receive(x.c, "s", b2.data, b2.len, MS)) {
    bad = sc_fail(name, "x: receive of m2 failed");
    goto out;
  }
  uint64_t dl, wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo;
  p2pc_causal_report_for(x.c, "s", &dl, wo, &nwo);
  sc_time(&s, 2);
  if (p2pc_causal_peer_report(s.c, "x", dl, wo, nwo, 2 * MS)) {
    bad = sc_fail(name, "s: peer_report failed");
    goto out;
  }
  sc_time(&s, 101);
  sc_time(&x, 101);
  sc_time(&d, 101);
  uint64_t g = p2pc_causal_local_stable(s.c);
  if (p2pc_causal_local_stable(x.c) < g)
    g = p2pc_causal_local_stable(x.c);
  if (p2pc_causal_local_stable(d.c) < g)
    g = p2pc_causal_local_stable(d.c);
  p2pc_causal_set_stable(x.c, g);
  sc_time(&x, 102);
  if (p2pc_causal_send(x.c, "d", pl, 1, 102 * MS, &b3)) {
    bad = sc_fail(name, "x: send of m3 failed");
    goto out;
  }
  sc_time(&d, 103);
  if (p2pc_causal_receive(d.c, "x", b3.data, b3.len, 103 * MS)) {
    bad = sc_fail(name, "d: receive of m3 failed");
    goto out;
  }
  sc_time(&d, 110);
  if (p2pc_causal_receive(d.c, "s", b1.data, b1.len, 110 * MS)) {
    bad = sc_fail(name, "d: receive of m1 failed");
    goto out;
  }
  if (strcmp(d.log, "Ds:1 Dx:1") != 0) {
    char why[800];
    snprintf(why, sizeof why,
             "%s: d logged \"%s\", expected \"Ds:1 Dx:1\" (s logged \"%s\"; "
             "G %" PRIu64 " vs τ1 %" PRIu64 ")",
             no_prune ? "no_prune" : "pruning", d.log, s.log, g,
             (uint64_t)(EPOCH + 40 * (int64_t)MS));
    bad = sc_fail(name, why);
  }
out:
  p2pc_causal_free(s.c);
  p2pc_causal_free(x.c);
  p2pc_causal_free(d.c);
  p2pc_buf_fini(&b1);
  p2pc_buf_fini(&b2);
  p2pc_buf_fini(&b3);
  return bad;
}

/*
 * Every message is given up on time. s sends m1 and, 10 ms later, m2 to
 * d; neither is ever acknowledged. At Δ s gives m1 up, and m2 at its own
 * Δ, 10 ms later: a given-up message that still holds LS back (it
 * settles for seconds) must not hold back the give-up of the next
 * (prop_causal found that in ac33a35; be08717 fixed it).
 */
static int scenario_given_up_on_time(void) {
  const char *name = "given-up-on-time";
  sc_node s = {.off = 0, .err = MS};
  p2pc_causal_config cfg = {.lifetime_ns = 100 * MS};
  const p2pc_allocator *al = p2pc_allocator_default();
  p2pc_buf b;
  p2pc_buf_init(&b, al, 1 << 16);
  int bad = 0;
  if (p2pc_causal_new(&s.c, "s", &cfg, al, sc_event, &s)) {
    bad = sc_fail(name, "p2pc_causal_new failed");
    goto out;
  }
  static const uint8_t pl[1] = {1};
  sc_time(&s, 1);
  if (p2pc_causal_send(s.c, "d", pl, 1, MS, &b)) {
    bad = sc_fail(name, "send of m1 failed");
    goto out;
  }
  sc_time(&s, 11);
  p2pc_buf_reset(&b);
  if (p2pc_causal_send(s.c, "d", pl, 1, 11 * MS, &b)) {
    bad = sc_fail(name, "send of m2 failed");
    goto out;
  }
  sc_time(&s, 105);
  sc_time(&s, 115);
  sc_time(&s, 200);
  if (strcmp(s.log, "es:1 es:2") != 0) {
    char why[400];
    snprintf(why, sizeof why,
             "at 200 ms s logged \"%s\", expected \"es:1 es:2\" (both "
             "given up at Δ = 100 ms)",
             s.log);
    bad = sc_fail(name, why);
  }
out:
  p2pc_causal_free(s.c);
  p2pc_buf_fini(&b);
  return bad;
}

/*
 * A write-off is never lost. s sends m1..m21 to d, 1 ms apart; the even
 * ones are lost on the way, each odd one reaches d just after the entry
 * for its predecessor expired there (d's clock is 40 ms ahead), so d
 * delivers it and writes the even one off: ten ranges that do not touch,
 * two more than d remembers. d's report then reaches s before s has given
 * anything up. Every even message must end reported expired at s (written
 * off, or given up at Δ): none may pass for delivered.
 */
static int scenario_write_off_kept(void) {
  const char *name = "write-off-kept";
  sc_node s = {.off = 0, .err = 50 * MS},
          d = {.off = 40 * (int64_t)MS, .err = 50 * MS};
  p2pc_causal_config cfg = {.lifetime_ns = 100 * MS};
  const p2pc_allocator *al = p2pc_allocator_default();
  enum { M = 21 };
  p2pc_buf b[M + 1];
  for (int i = 0; i <= M; i++)
    p2pc_buf_init(&b[i], al, 1 << 16);
  int bad = 0;
  if (p2pc_causal_new(&s.c, "s", &cfg, al, sc_event, &s) ||
      p2pc_causal_new(&d.c, "d", &cfg, al, sc_event, &d)) {
    bad = sc_fail(name, "p2pc_causal_new failed");
    goto out;
  }
  static const uint8_t pl[1] = {1};
  sc_time(&d, 0);
  for (int i = 1; i <= M; i++) {
    sc_time(&s, (uint64_t)i);
    if (p2pc_causal_send(s.c, "d", pl, 1, (uint64_t)i * MS, &b[i])) {
      bad = sc_fail(name, "send failed");
      goto out;
    }
  }
  /* m1 at once; m(2k+1) at 2k + 60.5 ms: d's HLC is then 2k + 100.5 ms,
   * past τ(2k) + Δ and short of τ(2k+1) + Δ. */
  for (int i = 1; i <= M; i += 2) {
    uint64_t t = i == 1 ? 2 * MS : (uint64_t)(i - 1) * MS + 60500000u;
    p2pc_causal_set_time(d.c, EPOCH + (int64_t)t + d.off, d.err, t);
    if (p2pc_causal_receive(d.c, "s", b[i].data, b[i].len, t)) {
      bad = sc_fail(name, "d: receive failed");
      goto out;
    }
  }
  uint64_t dl, wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo;
  sc_time(&d, 81);
  p2pc_causal_report_for(d.c, "s", &dl, wo, &nwo);
  sc_time(&s, 82);
  if (p2pc_causal_peer_report(s.c, "d", dl, wo, nwo, 82 * MS)) {
    bad = sc_fail(name, "s: peer_report failed");
    goto out;
  }
  sc_time(&s, 500);
  char want[24];
  for (int i = 2; i <= M && !bad; i += 2) {
    snprintf(want, sizeof want, "es:%d", i);
    const char *p = s.log;
    bool found = false;
    size_t wl = strlen(want);
    while ((p = strstr(p, want)) != NULL) {
      if (p[wl] == ' ' || p[wl] == '\0')
        found = true;
      p += wl;
    }
    if (!found) {
      char why[900];
      snprintf(why, sizeof why,
               "s:%d was written off at d but never reported expired (d "
               "logged \"%s\", reported delivered %" PRIu64 " and %" PRIu32
               " ranges; s logged \"%s\")",
               i, d.log, dl, nwo, s.log);
      bad = sc_fail(name, why);
    }
  }
out:
  p2pc_causal_free(s.c);
  p2pc_causal_free(d.c);
  for (int i = 0; i <= M; i++)
    p2pc_buf_fini(&b[i]);
  return bad;
}

int run_scenarios(void) {
  int bad = 0;
  bad |= scenario_given_up_not_stable(true);
  bad |= scenario_given_up_not_stable(false);
  bad |= scenario_given_up_on_time();
  bad |= scenario_write_off_kept();
  if (!bad)
    printf("prop_causal: directed scenarios pass\n");
  return bad;
}
