/* SPDX-License-Identifier: MIT */
/* The network clock: continuity, bounded slew, the one initial step, and
 * the error bound. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "netclock.h"

#define SEC 1000000000LL
#define T0 1700000000000000000LL

static void test_starts_at_local(void **state) {
  (void)state;
  p2pc_netclock c;
  p2pc_netclock_init(&c, T0, 500e-6);
  assert_int_equal(p2pc_netclock_time(&c, T0), T0);
  assert_int_equal(p2pc_netclock_time(&c, T0 + SEC), T0 + SEC);
  assert_false(c.synced);
}

static void test_step_only_while_unsynced(void **state) {
  (void)state;
  p2pc_netclock c;
  p2pc_netclock_init(&c, T0, 500e-6);
  assert_true(p2pc_netclock_step(&c, T0 + SEC, -250e6));
  assert_int_equal(p2pc_netclock_time(&c, T0 + SEC), T0 + SEC - 250000000);
  p2pc_netclock_steer(&c, T0 + SEC, 0, true, 0, 1000, 0);
  assert_true(c.synced);
  assert_false(p2pc_netclock_step(&c, T0 + 2 * SEC, 1e9));
  assert_int_equal(p2pc_netclock_time(&c, T0 + 2 * SEC),
                   T0 + 2 * SEC - 250000000);
  assert_int_equal(c.steps, 1);
}

static void test_slew_is_bounded_and_completes(void **state) {
  (void)state;
  p2pc_netclock c;
  p2pc_netclock_init(&c, T0, 500e-6);
  /* 1 ms to remove at 500 ppm takes 2 s */
  p2pc_netclock_steer(&c, T0, -1e6, true, 0, 0, 0);
  assert_int_equal(p2pc_netclock_time(&c, T0 + SEC), T0 + SEC - 500000);
  assert_true(fabs(p2pc_netclock_pending(&c, T0 + SEC) + 5e5) < 1);
  assert_int_equal(p2pc_netclock_time(&c, T0 + 2 * SEC),
                   T0 + 2 * SEC - 1000000);
  assert_int_equal(p2pc_netclock_time(&c, T0 + 5 * SEC),
                   T0 + 5 * SEC - 1000000);
  assert_true(fabs(p2pc_netclock_pending(&c, T0 + 5 * SEC)) < 1e-6);
  /* the error bound includes what is still to slew */
  assert_true(p2pc_netclock_error(&c, T0 + SEC) >= 5e5 - 1);
}

static void test_monotonic_under_any_steering(void **state) {
  (void)state;
  p2pc_netclock c;
  p2pc_netclock_init(&c, T0, 500e-6);
  p2pc_netclock_steer(&c, T0, 0, true, 0, 0, 0);
  uint64_t r = 88172645463325252ull;
  int64_t l = T0, last = p2pc_netclock_time(&c, l);
  for (int i = 0; i < 20000; i++) {
    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
    l += (int64_t)(r % 3000000) + 1; /* 1 ns .. 3 ms */
    if (r % 5 == 0) {
      /* wild estimates: ±1 s adjustments, frequencies past the clamp */
      double adj = ((double)(r >> 20 & 0xffff) / 65535.0 - 0.5) * 2e9;
      double f = ((double)(r >> 40 & 0xfff) / 4095.0 - 0.5) * 4e-3;
      p2pc_netclock_steer(&c, l, adj, (r >> 8) & 1, f, 100, 1e-6);
    }
    int64_t t = p2pc_netclock_time(&c, l);
    assert_true(t > last);
    /* continuity: never more than (1 + |freq| + slew) times the local step */
    last = t;
  }
  assert_true(fabs(c.freq) <= P2PC_NETCLOCK_MAX_FREQ);
}

static void test_hold_keeps_rate_and_grows_error(void **state) {
  (void)state;
  p2pc_netclock c;
  p2pc_netclock_init(&c, T0, 500e-6);
  p2pc_netclock_steer(&c, T0, 0, true, 100e-6, 2000, 0);
  p2pc_netclock_hold(&c, T0 + SEC, 1e-6);
  /* 100 ppm for 3 s: +300 us */
  assert_int_equal(p2pc_netclock_time(&c, T0 + 3 * SEC), T0 + 3 * SEC + 300000);
  double e = p2pc_netclock_error(&c, T0 + 3 * SEC);
  assert_true(fabs(e - (2000 + 2000)) < 1); /* 2 us + 1 ppm for 2 s */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_starts_at_local),
      cmocka_unit_test(test_step_only_while_unsynced),
      cmocka_unit_test(test_slew_is_bounded_and_completes),
      cmocka_unit_test(test_monotonic_under_any_steering),
      cmocka_unit_test(test_hold_keeps_rate_and_grows_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
