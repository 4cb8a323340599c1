/* SPDX-License-Identifier: MIT */
/*
 * The independent checker's expiries (checker.h, ccheck_expire), on
 * hand-fed records, online and offline: an expired message is excused
 * from LIVENESS and stops being a predecessor (its causal successor may
 * be delivered without it, which is ORDER if it did not expire), an
 * expiry at the destination and a delivery there are EXPIRED_DELIVERED
 * in either order, a sender's expiry of a delivered message is no fault,
 * and expiries by a third node or of messages never sent are flagged.
 * Links only the checker: it runs before the causal core builds.
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

/* P0 sends m1 = P0:1 to P2 and m2 = P0:2 to P1; P1 delivers m2 and sends
 * m3 = P1:1 to P2, so m1 must come before m3 at P2. m1 never arrives;
 * with expire, P0 gives it up before P2 delivers m3. */
static ccheck *lost_predecessor(unsigned flags, bool expire) {
  ccheck *c = ccheck_new(3, names, flags);
  ccheck_send(c, P0, P0, 1, P2, NULL, 0);
  ccheck_send(c, P0, P0, 2, P1, NULL, 0);
  if (expire)
    ccheck_expire(c, P0, P0, 1);
  ccheck_deliver(c, P1, P0, 2, NULL, 0);
  ccheck_send(c, P1, P1, 1, P2, NULL, 0);
  assert_true(ccheck_ready(c, P1, 1) == expire);
  ccheck_deliver(c, P2, P1, 1, NULL, 0);
  ccheck_finish(c);
  return c;
}

static void test_expiry_excuses_and_releases(void **state) {
  (void)state;
  for (int offline = 0; offline < 2; offline++) {
    unsigned fl = offline ? CCHECK_OFFLINE : 0;
    ccheck *c = lost_predecessor(fl, true);
    assert_int_equal(ccheck_violations(c), 0);
    assert_int_equal(ccheck_expired(c), 1);
    assert_int_equal(ccheck_undelivered(c), 0);
    assert_false(ccheck_ready(c, P0, 1));
    assert_false(ccheck_delivered(c, P0, 1));
    ccheck_free(c);
    /* The same run without the expiry: ORDER, and m1 is missing. */
    c = lost_predecessor(fl, false);
    assert_int_equal(ccheck_count(c, CCHECK_ORDER), 1);
    assert_int_equal(ccheck_count(c, CCHECK_LIVENESS), 1);
    assert_int_equal(ccheck_violations(c), 2);
    assert_int_equal(ccheck_expired(c), 0);
    assert_int_equal(ccheck_undelivered(c), 1);
    ccheck_free(c);
  }
}

/* Dropped as expired by its destination, and delivered there too: a
 * violation whichever came first. */
static void test_expired_and_delivered_at_dest(void **state) {
  (void)state;
  for (int first_deliver = 0; first_deliver < 2; first_deliver++) {
    ccheck *c = ccheck_new(3, names, 0);
    ccheck_send(c, P0, P0, 1, P1, NULL, 0);
    if (first_deliver)
      ccheck_deliver(c, P1, P0, 1, NULL, 0);
    ccheck_expire(c, P1, P0, 1);
    ccheck_expire(c, P1, P0, 1); /* a second report adds nothing */
    if (!first_deliver)
      ccheck_deliver(c, P1, P0, 1, NULL, 0);
    ccheck_finish(c);
    assert_int_equal(ccheck_count(c, CCHECK_EXPIRED_DELIVERED), 1);
    assert_int_equal(ccheck_violations(c), 1);
    assert_int_equal(ccheck_expired(c), 0);
    assert_int_equal(ccheck_undelivered(c), 0);
    const char *f = ccheck_first(c);
    assert_non_null(f);
    assert_string_equal(f, first_deliver
                               ? "EXPIRED_DELIVERED: P1 reported P0:1 "
                                 "expired after delivering it"
                               : "EXPIRED_DELIVERED: P1 delivered P0:1 "
                                 "after reporting it expired");
    assert_string_equal(ccheck_kind_name(CCHECK_EXPIRED_DELIVERED),
                        "EXPIRED_DELIVERED");
    ccheck_free(c);
  }
}

/* The sender gave up on a message that got through after all (or before
 * it knew): no fault, and it counts as delivered, not expired. */
static void test_sender_expiry_of_delivered(void **state) {
  (void)state;
  for (int first_deliver = 0; first_deliver < 2; first_deliver++) {
    ccheck *c = ccheck_new(3, names, 0);
    ccheck_send(c, P0, P0, 1, P1, NULL, 0);
    if (first_deliver)
      ccheck_deliver(c, P1, P0, 1, NULL, 0);
    ccheck_expire(c, P0, P0, 1);
    if (!first_deliver)
      ccheck_deliver(c, P1, P0, 1, NULL, 0);
    ccheck_expire(c, P1, P0, 2); /* never sent */
    ccheck_expire(c, P2, P0, 1); /* not its sender nor its destination */
    ccheck_finish(c);
    assert_int_equal(ccheck_count(c, CCHECK_EXPIRED_DELIVERED), 0);
    assert_int_equal(ccheck_count(c, CCHECK_UNKNOWN), 1);
    assert_int_equal(ccheck_count(c, CCHECK_WRONG_DEST), 1);
    assert_int_equal(ccheck_violations(c), 2);
    assert_string_equal(ccheck_first_of(c, CCHECK_UNKNOWN),
                        "UNKNOWN: P1 reported P0:2 expired, which was never "
                        "sent");
    assert_string_equal(ccheck_first_of(c, CCHECK_WRONG_DEST),
                        "WRONG_DEST: P2 reported P0:1 expired, which was "
                        "sent to P1");
    assert_true(ccheck_delivered(c, P0, 1));
    assert_int_equal(ccheck_expired(c), 0);
    ccheck_free(c);
  }
}

/* Offline, an expiry read before its send waits for it (and holds back
 * its node's later records); one whose send never comes is UNKNOWN. */
static void test_offline_expiry_before_send(void **state) {
  (void)state;
  ccheck *c = ccheck_new(3, names, CCHECK_OFFLINE);
  ccheck_expire(c, P2, P0, 1);
  ccheck_deliver(c, P2, P0, 2, NULL, 0);
  ccheck_expire(c, P1, P0, 9);
  ccheck_send(c, P0, P0, 1, P2, NULL, 0);
  ccheck_send(c, P0, P0, 2, P2, NULL, 0);
  ccheck_finish(c);
  assert_int_equal(ccheck_violations(c), 1);
  assert_int_equal(ccheck_count(c, CCHECK_UNKNOWN), 1);
  assert_int_equal(ccheck_expired(c), 1);
  assert_int_equal(ccheck_undelivered(c), 0);
  ccheck_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_expiry_excuses_and_releases),
      cmocka_unit_test(test_expired_and_delivered_at_dest),
      cmocka_unit_test(test_sender_expiry_of_delivered),
      cmocka_unit_test(test_offline_expiry_before_send),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
