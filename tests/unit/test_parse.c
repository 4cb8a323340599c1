/* SPDX-License-Identifier: MIT */
/*
 * The shared parsers of src/core/base/parse.c: integers with a range,
 * plain decimal numbers, durations with a unit and HOST:PORT, each with
 * what it must refuse (signs, blanks, hex, inf, nan, trailing text,
 * overflow and underflow).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "parse.h"

static bool u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  return p2pc_parse_u64(s, strlen(s), lo, hi, out);
}

static bool i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  return p2pc_parse_i64(s, strlen(s), lo, hi, out);
}

static void test_u64(void **state) {
  (void)state;
  uint64_t v = 7;
  assert_true(u64("0", 0, 10, &v));
  assert_int_equal(v, 0);
  assert_true(u64("65535", 1, 65535, &v));
  assert_int_equal(v, 65535);
  assert_true(u64("0009", 0, 9, &v));
  assert_int_equal(v, 9);
  assert_true(u64("18446744073709551615", 0, UINT64_MAX, &v));
  assert_true(v == UINT64_MAX);
  v = 7;
  assert_false(u64("18446744073709551616", 0, UINT64_MAX, &v));
  assert_false(u64("65536", 1, 65535, &v));
  assert_false(u64("0", 1, 65535, &v));
  assert_false(u64("", 0, 10, &v));
  assert_false(u64("+1", 0, 10, &v));
  assert_false(u64("-1", 0, 10, &v));
  assert_false(u64(" 1", 0, 10, &v));
  assert_false(u64("1x", 0, 10, &v));
  assert_false(u64("0x1", 0, 10, &v));
  assert_false(u64("5", 0, 0, &v)); /* a digit above hi itself */
  assert_int_equal(v, 7);           /* untouched on failure */
  /* a length: only s[0..len) is read */
  assert_true(p2pc_parse_u64("12:34", 2, 0, 100, &v));
  assert_int_equal(v, 12);
}

static void test_i64(void **state) {
  (void)state;
  int64_t v = 7;
  assert_true(i64("-6", -6, 10, &v));
  assert_int_equal(v, -6);
  assert_true(i64("-0", 0, 255, &v));
  assert_int_equal(v, 0);
  assert_true(i64("-9223372036854775808", INT64_MIN, 0, &v));
  assert_true(v == INT64_MIN);
  assert_true(i64("9223372036854775807", 0, INT64_MAX, &v));
  assert_true(v == INT64_MAX);
  v = 7;
  assert_false(i64("9223372036854775808", 0, INT64_MAX, &v));
  assert_false(i64("-7", -6, 10, &v));
  assert_false(i64("11", -6, 10, &v));
  assert_false(i64("--5", -6, 10, &v));
  assert_false(i64("+5", -6, 10, &v));
  assert_false(i64("-", -6, 10, &v));
  assert_false(i64("1.0", -6, 10, &v));
  assert_int_equal(v, 7);
}

static void test_double(void **state) {
  (void)state;
  double x = 7;
  assert_true(p2pc_parse_double("0.125", 0, &x));
  assert_true(x == 0.125);
  assert_true(p2pc_parse_double(".5", 0, &x));
  assert_true(x == 0.5);
  assert_true(p2pc_parse_double("5.", 0, &x));
  assert_true(x == 5);
  assert_true(p2pc_parse_double("1e-3", 0, &x));
  assert_true(x == 0.001);
  assert_true(p2pc_parse_double("-2.5", P2PC_PARSE_SIGNED, &x));
  assert_true(x == -2.5);
  assert_true(p2pc_parse_double("+60", P2PC_PARSE_PLUS, &x));
  assert_true(x == 60);
  assert_true(p2pc_parse_double("0e5", 0, &x));
  assert_true(x == 0);
  x = 7;
  assert_false(p2pc_parse_double("-2.5", 0, &x));
  assert_false(p2pc_parse_double("+5", P2PC_PARSE_SIGNED, &x));
  assert_false(p2pc_parse_double("", 0, &x));
  assert_false(p2pc_parse_double(".", 0, &x));
  assert_false(p2pc_parse_double("nan", P2PC_PARSE_SIGNED, &x));
  assert_false(p2pc_parse_double("inf", 0, &x));
  assert_false(p2pc_parse_double("-inf", P2PC_PARSE_SIGNED, &x));
  assert_false(p2pc_parse_double("0x0.8p0", 0, &x));
  assert_false(p2pc_parse_double(" 1", 0, &x));
  assert_false(p2pc_parse_double("1 ", 0, &x));
  assert_false(p2pc_parse_double("0.5s", 0, &x));
  assert_false(p2pc_parse_double("1e400", 0, &x));  /* overflow */
  assert_false(p2pc_parse_double("1e-400", 0, &x)); /* underflow to 0 */
  assert_false(p2pc_parse_double("1e-310", 0, &x)); /* subnormal */
  assert_int_equal(x, 7);
}

static void test_duration(void **state) {
  (void)state;
  double ns = 7;
  assert_true(p2pc_parse_duration("1.5s", 10, 0, 0, &ns));
  assert_true(ns == 1.5e9);
  assert_true(p2pc_parse_duration("250ms", 10, 0, 0, &ns));
  assert_true(ns == 250e6);
  assert_true(p2pc_parse_duration("20us", 10, 0, 0, &ns));
  assert_true(ns == 20e3);
  assert_true(p2pc_parse_duration("5ns", 10, 0, 0, &ns));
  assert_true(ns == 5);
  assert_true(p2pc_parse_duration("2min", 200, 0, 0, &ns));
  assert_true(ns == 120e9);
  assert_true(p2pc_parse_duration("0", 10, 0, 0, &ns)); /* a bare 0 */
  assert_true(ns == 0);
  assert_true(p2pc_parse_duration("3", 10, 0, 1e9, &ns)); /* bare seconds */
  assert_true(ns == 3e9);
  assert_true(p2pc_parse_duration("-1ms", 10, P2PC_PARSE_SIGNED, 0, &ns));
  assert_true(ns == -1e6);
  ns = 7;
  assert_false(p2pc_parse_duration("3", 10, 0, 0, &ns)); /* which unit? */
  assert_false(p2pc_parse_duration("-1ms", 10, 0, 0, &ns));
  assert_false(p2pc_parse_duration("11s", 10, 0, 0, &ns));
  assert_false(p2pc_parse_duration("1h", 10, 0, 0, &ns));
  assert_false(p2pc_parse_duration("0x10s", 100, 0, 0, &ns));
  assert_false(p2pc_parse_duration("infs", 10, 0, 0, &ns));
  assert_false(p2pc_parse_duration("s", 10, 0, 0, &ns));
  assert_false(p2pc_parse_duration(" 1s", 10, 0, 0, &ns));
  assert_true(ns == 7);
  const char *rest = NULL;
  assert_true(p2pc_parse_number_prefix("1.5ppm", &ns, &rest));
  assert_true(ns == 1.5);
  assert_string_equal(rest, "ppm");
}

static void test_hostport(void **state) {
  (void)state;
  char host[16];
  uint16_t port = 0;
  assert_int_equal(
      p2pc_parse_hostport("127.0.0.1:9000", host, sizeof host, &port),
      P2PC_HOSTPORT_OK);
  assert_string_equal(host, "127.0.0.1");
  assert_int_equal(port, 9000);
  assert_int_equal(p2pc_parse_hostport("[::1]:1", host, sizeof host, &port),
                   P2PC_HOSTPORT_OK);
  assert_string_equal(host, "::1");
  assert_int_equal(port, 1);
  assert_int_equal(p2pc_parse_hostport(":9", host, sizeof host, &port),
                   P2PC_HOSTPORT_OK); /* an empty HOST is the caller's */
  assert_string_equal(host, "");
  assert_int_equal(p2pc_parse_hostport("9000", host, sizeof host, &port),
                   P2PC_HOSTPORT_SHAPE);
  assert_int_equal(p2pc_parse_hostport("::1:9000", host, sizeof host, &port),
                   P2PC_HOSTPORT_SHAPE);
  assert_int_equal(p2pc_parse_hostport("[::1:9000", host, sizeof host, &port),
                   P2PC_HOSTPORT_SHAPE);
  assert_int_equal(p2pc_parse_hostport("[::1]9000", host, sizeof host, &port),
                   P2PC_HOSTPORT_SHAPE);
  assert_int_equal(p2pc_parse_hostport("[a.b]:1", host, sizeof host, &port),
                   P2PC_HOSTPORT_NOT_V6);
  assert_int_equal(
      p2pc_parse_hostport("a-very-long-host-name:1", host, sizeof host, &port),
      P2PC_HOSTPORT_HOST_LONG);
  assert_int_equal(p2pc_parse_hostport("h:0", host, sizeof host, &port),
                   P2PC_HOSTPORT_PORT);
  assert_string_equal(host, "h"); /* written: a bad HOST is blamed first */
  assert_int_equal(p2pc_parse_hostport("h:65536", host, sizeof host, &port),
                   P2PC_HOSTPORT_PORT);
  assert_int_equal(p2pc_parse_hostport("h:+9", host, sizeof host, &port),
                   P2PC_HOSTPORT_PORT);
  assert_int_equal(p2pc_parse_hostport("h:", host, sizeof host, &port),
                   P2PC_HOSTPORT_PORT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_u64),      cmocka_unit_test(test_i64),
      cmocka_unit_test(test_double),   cmocka_unit_test(test_duration),
      cmocka_unit_test(test_hostport),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
