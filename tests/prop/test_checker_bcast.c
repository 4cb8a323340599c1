/* SPDX-License-Identifier: MIT */
/*
 * The independent checker's broadcasts (checker.h, CCHECK_ALL), on
 * hand-fed records, online and offline: a broadcast is a message to every
 * node; it must be delivered once at each (DUPLICATE, LIVENESS, excused by
 * an expiry reported by that node or by ccheck_exempt), and in causal
 * order with everything else delivered there (ORDER), both ways: after
 * what happens-before its send, before what its delivery happens-before.
 * Links only the checker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "checker.h"

static const char *const names[3] = {"P0", "P1", "P2"};
enum { P0, P1, P2 };

enum variant {
  GOOD,          /* every rule kept */
  LATE_BCAST,    /* P2 delivers m (after b causally) before b */
  TWICE,         /* P1 delivers b twice */
  NEVER,         /* P2 never delivers b */
  NEVER_EXPIRED, /* ... and reports it expired (or before its birth) */
  NEVER_EXEMPT,  /* ... and is exempt (crashed) */
  EXPIRED_DELIV  /* P2 reports b expired, then delivers it */
};

/* P0 broadcasts b = P0:1 (and delivers it itself); P1 delivers b and
 * sends m = P1:1 to P2; P2 must deliver b before m. */
static ccheck *run(unsigned flags, enum variant v) {
  ccheck *c = ccheck_new(3, names, flags);
  ccheck_send(c, P0, P0, 1, CCHECK_ALL, "b", 1);
  ccheck_deliver(c, P0, P0, 1, "b", 1);
  ccheck_deliver(c, P1, P0, 1, "b", 1);
  if (v == TWICE)
    ccheck_deliver(c, P1, P0, 1, "b", 1);
  ccheck_send(c, P1, P1, 1, P2, NULL, 0);
  if (v == NEVER_EXPIRED || v == EXPIRED_DELIV)
    ccheck_expire(c, P2, P0, 1);
  if (v == NEVER_EXEMPT)
    ccheck_exempt(c, P2);
  if (!(flags & CCHECK_OFFLINE))
    assert_true(ccheck_ready(c, P1, 1) ==
                (v == NEVER_EXPIRED || v == EXPIRED_DELIV));
  if (v == GOOD || v == TWICE || v == EXPIRED_DELIV) {
    if (!(flags & CCHECK_OFFLINE))
      assert_true(ccheck_ready_at(c, P0, 1, P2) == (v != EXPIRED_DELIV));
    ccheck_deliver(c, P2, P0, 1, "b", 1);
  }
  ccheck_deliver(c, P2, P1, 1, NULL, 0);
  if (v == LATE_BCAST)
    ccheck_deliver(c, P2, P0, 1, "b", 1);
  ccheck_finish(c);
  return c;
}

static void test_broadcast_rules(void **state) {
  (void)state;
  for (int offline = 0; offline < 2; offline++) {
    unsigned fl = offline ? CCHECK_OFFLINE : 0;
    ccheck *c = run(fl, GOOD);
    assert_int_equal(ccheck_violations(c), 0);
    assert_true(ccheck_delivered_at(c, P0, 1, P2));
    assert_true(ccheck_delivered_at(c, P1, 1, P2));
    assert_false(ccheck_delivered_at(c, P1, 1, P0));
    ccheck_free(c);

    c = run(fl, LATE_BCAST);
    assert_int_equal(ccheck_count(c, CCHECK_ORDER), 1);
    assert_int_equal(ccheck_violations(c), 1);
    ccheck_free(c);

    c = run(fl, TWICE);
    assert_int_equal(ccheck_count(c, CCHECK_DUPLICATE), 1);
    assert_int_equal(ccheck_violations(c), 1);
    ccheck_free(c);

    /* m delivered without b: ORDER, and b is missing at P2. */
    c = run(fl, NEVER);
    assert_int_equal(ccheck_count(c, CCHECK_ORDER), 1);
    assert_int_equal(ccheck_count(c, CCHECK_LIVENESS), 1);
    assert_int_equal(ccheck_violations(c), 2);
    ccheck_free(c);

    c = run(fl, NEVER_EXPIRED);
    assert_int_equal(ccheck_violations(c), 0);
    ccheck_free(c);

    /* Exempt excuses LIVENESS, not ORDER. */
    c = run(fl, NEVER_EXEMPT);
    assert_int_equal(ccheck_count(c, CCHECK_ORDER), 1);
    assert_int_equal(ccheck_count(c, CCHECK_LIVENESS), 0);
    ccheck_free(c);

    c = run(fl, EXPIRED_DELIV);
    assert_int_equal(ccheck_count(c, CCHECK_EXPIRED_DELIVERED), 1);
    assert_int_equal(ccheck_violations(c), 1);
    ccheck_free(c);
  }
}

/* P0 sends u = P0:1 to P2, then broadcasts b = P0:2: P2 must deliver u
 * first (b's send happens after u's). A broadcast nobody delivers but its
 * sender is missing at every other node. */
static void test_broadcast_after_unicast(void **state) {
  (void)state;
  for (int bad = 0; bad < 2; bad++) {
    ccheck *c = ccheck_new(3, names, 0);
    ccheck_send(c, P0, P0, 1, P2, NULL, 0);
    ccheck_send(c, P0, P0, 2, CCHECK_ALL, NULL, 0);
    ccheck_deliver(c, P0, P0, 2, NULL, 0);
    ccheck_deliver(c, P1, P0, 2, NULL, 0);
    if (!bad)
      ccheck_deliver(c, P2, P0, 1, NULL, 0);
    ccheck_deliver(c, P2, P0, 2, NULL, 0);
    if (bad)
      ccheck_deliver(c, P2, P0, 1, NULL, 0);
    ccheck_finish(c);
    assert_int_equal(ccheck_count(c, CCHECK_ORDER), bad ? 1 : 0);
    assert_int_equal(ccheck_violations(c), bad ? 1 : 0);
    ccheck_free(c);
  }
  ccheck *c = ccheck_new(3, names, 0);
  ccheck_send(c, P1, P1, 1, CCHECK_ALL, NULL, 0);
  ccheck_deliver(c, P1, P1, 1, NULL, 0);
  ccheck_finish(c);
  assert_int_equal(ccheck_count(c, CCHECK_LIVENESS), 2);
  assert_non_null(ccheck_first_of(c, CCHECK_LIVENESS));
  ccheck_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_broadcast_rules),
      cmocka_unit_test(test_broadcast_after_unicast),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
