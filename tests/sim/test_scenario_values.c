/* SPDX-License-Identifier: MIT */
/*
 * The value parsers the command's flags share with the scenario lines
 * (test_scenario.h): --topology, --duration, --causal-lifetime; and the
 * formatter of times in ns the summaries use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_scenario.h"
#include <p2pclock/p2pclock.h>

void test_topology_flag(void **state) {
  (void)state;
  p2pc_sim_topology t = P2PC_SIM_FULL;
  uint32_t k = 0, c = 0;
  assert_true(p2pc_scenario_topology("ring", &t, &k, &c));
  assert_int_equal(t, P2PC_SIM_RING);
  assert_true(p2pc_scenario_topology("kregular:12", &t, &k, &c));
  assert_int_equal(t, P2PC_SIM_KREGULAR);
  assert_int_equal(k, 12);
  assert_true(p2pc_scenario_topology("clusters:3", &t, &k, &c));
  assert_int_equal(t, P2PC_SIM_CLUSTERS);
  assert_int_equal(c, 3);
  assert_true(p2pc_scenario_topology("full", &t, &k, &c));
  assert_int_equal(t, P2PC_SIM_FULL);
  assert_false(p2pc_scenario_topology("kregular:", &t, &k, &c));
  assert_false(p2pc_scenario_topology("kregular:33", &t, &k, &c));
  assert_false(p2pc_scenario_topology("kregular 8", &t, &k, &c));
  assert_false(p2pc_scenario_topology("clusters:0", &t, &k, &c));
  assert_false(p2pc_scenario_topology("", &t, &k, &c));
}

/* The command's --duration: the file's units, and plain seconds too. */
void test_duration_flag(void **state) {
  (void)state;
  static const struct {
    const char *s;
    bool bare_s;
    uint64_t ns; /* 0: refused */
  } cases[] = {
      {"600s", true, 600 * P2PC_SIM_SEC},
      {"600", true, 600 * P2PC_SIM_SEC},
      {"10min", true, 600 * P2PC_SIM_SEC},
      {"1500ms", true, 1500000000},
      {"1.5", true, 1500000000},
      {"43200min", true, 2592000 * P2PC_SIM_SEC},
      {"2592000", true, 2592000 * P2PC_SIM_SEC},
      {"600", false, 0}, /* the file wants a unit */
      {"600s", false, 600 * P2PC_SIM_SEC},
      {"0", true, 0},
      {"0s", true, 0},
      {"999ms", true, 0},
      {"2592001", true, 0},
      {"43201min", true, 0},
      {"-5s", true, 0},
      {"5x", true, 0},
      {"5 s", true, 0},
      {" 5", true, 0},
      {"", true, 0},
      {"inf", true, 0},
      {"nan", true, 0},
      {"1e400", true, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint64_t ns = 42;
    bool ok = p2pc_scenario_duration(cases[i].s, cases[i].bare_s, &ns);
    if (ok != (cases[i].ns != 0) || ns != (ok ? cases[i].ns : 42))
      fail_msg("case %zu \"%s\": got %d, %llu ns", i, cases[i].s, ok,
               (unsigned long long)ns);
  }
}

/* The lifetime's values, as the `lifetime` line and --causal-lifetime
 * take them. */
void test_lifetime_flag(void **state) {
  (void)state;
  static const struct {
    const char *s;
    uint64_t ns; /* 0: refused */
  } cases[] = {
      {"60", 60 * P2PC_SIM_SEC},
      {"60s", 60 * P2PC_SIM_SEC},
      {"2min", 120 * P2PC_SIM_SEC},
      {"0.001", 1000000},
      {"1ms", 1000000},
      {"1000000", 1000000 * P2PC_SIM_SEC},
      {"inf", P2PC_SIM_LIFETIME_INF},
      {"0", 0},
      {"0.0009", 0},
      {"999us", 0},
      {"1000001", 0},
      {"-1", 0},
      {"Inf", 0},
      {"nan", 0},
      {"", 0},
      {" 5", 0},
      {"5x", 0},
      {"0x10", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint64_t ns = 42;
    bool ok = p2pc_scenario_lifetime(cases[i].s, &ns);
    if (ok != (cases[i].ns != 0) || ns != (ok ? cases[i].ns : 42))
      fail_msg("case %zu \"%s\": got %d, %llu ns", i, cases[i].s, ok,
               (unsigned long long)ns);
  }
}

void test_format_ns(void **state) {
  (void)state;
  char s[32];
  p2pc_scn_format_ns(999, s, sizeof s);
  assert_string_equal(s, "999 ns");
  p2pc_scn_format_ns(12345, s, sizeof s);
  assert_string_equal(s, "12.3 us");
  p2pc_scn_format_ns(2.5e6, s, sizeof s);
  assert_string_equal(s, "2.50 ms");
  p2pc_scn_format_ns(1.99e9, s, sizeof s);
  assert_string_equal(s, "1.990 s");
}
