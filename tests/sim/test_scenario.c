/* SPDX-License-Identifier: MIT */
/*
 * The scenario format (src/sim/scenario_*.c): every directive lands in the
 * right field of the simulator's configuration, time spans expand into
 * evenly spread events, every bad line is refused with exactly the
 * "FILE:LINE: message" a user would see, the checks that need the final
 * node count happen in p2pc_scenario_finish, the judge turns rows and
 * results into the right verdicts, and random garbage is refused without
 * undefined behaviour (run under ASan/UBSan in CI). The garbage test
 * prints its seed and honours P2PC_SEED. test_scenario.h says which file
 * holds which tests; this one has their helpers and runs them all.
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

p2pc_scenario *scn_new(void) {
  p2pc_scenario *sc = malloc(sizeof *sc);
  assert_non_null(sc);
  p2pc_scenario_init(sc, 10, "t.scn");
  return sc;
}

int scn_parse(p2pc_scenario *sc, const char *text, char *err, size_t n) {
  err[0] = '\0';
  return p2pc_scenario_parse(sc, text, strlen(text), err, n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_example),
      cmocka_unit_test(test_defaults_and_overrides),
      cmocka_unit_test(test_time_span),
      cmocka_unit_test(test_bad_lines),
      cmocka_unit_test(test_bad_bytes),
      cmocka_unit_test(test_finish_checks),
      cmocka_unit_test(test_topology_flag),
      cmocka_unit_test(test_duration_flag),
      cmocka_unit_test(test_load),
      cmocka_unit_test(test_judge),
      cmocka_unit_test(test_judge_views),
      cmocka_unit_test(test_judge_causal),
      cmocka_unit_test(test_judge_tiers),
      cmocka_unit_test(test_lifetime_flag),
      cmocka_unit_test(test_judge_falseticker),
      cmocka_unit_test(test_format_ns),
      cmocka_unit_test(test_garbage),
      cmocka_unit_test(test_overlay_keywords),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
