/* SPDX-License-Identifier: MIT */
/*
 * The tests of the scenario format (test_scenario.c runs them all as one
 * program, sim_unit_scenario), by topic:
 *
 *   test_scenario_parse.c   good scenarios: every directive lands in its
 *                           field; defaults, overrides, time spans
 *   test_scenario_values.c  the value parsers the command's flags share
 *                           (--topology, --duration, --causal-lifetime)
 *                           and the ns formatter
 *   test_scenario_errors.c  bad lines, bad bytes, checks at finish, a
 *                           missing file, random garbage: each refused
 *                           with exactly the message a user sees
 *   test_scenario_judge.c   the judge: verdicts from rows, results and a
 *                           real run (falseticker)
 */
#ifndef P2PC_TEST_SCENARIO_H
#define P2PC_TEST_SCENARIO_H

#include <stddef.h>

#include "scenario.h"

/* A scenario with the defaults for 10 nodes, from "t.scn" (free it). */
p2pc_scenario *scn_new(void);
/* p2pc_scenario_parse of a NUL-terminated text; err emptied first. */
int scn_parse(p2pc_scenario *sc, const char *text, char *err, size_t n);

void test_full_example(void **state);
void test_defaults_and_overrides(void **state);
void test_time_span(void **state);
void test_bad_lines(void **state);
void test_bad_bytes(void **state);
void test_finish_checks(void **state);
void test_topology_flag(void **state);
void test_duration_flag(void **state);
void test_load(void **state);
void test_judge(void **state);
void test_judge_views(void **state);
void test_judge_causal(void **state);
void test_judge_tiers(void **state);
void test_lifetime_flag(void **state);
void test_judge_falseticker(void **state);
void test_format_ns(void **state);
void test_garbage(void **state);
void test_overlay_keywords(void **state);

#endif /* P2PC_TEST_SCENARIO_H */
