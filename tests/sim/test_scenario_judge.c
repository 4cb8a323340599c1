/* SPDX-License-Identifier: MIT */
/*
 * The judge of the expectations (test_scenario.h): verdicts from
 * per-second rows and results, SKIP where a thing could not be judged,
 * and the falseticker oracle against a real run of the simulator.
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

/* ---- the judge ----------------------------------------------------------- */

/* expired and meta_p99, judged from the result */
void test_judge_causal(void **state) {
  (void)state;
  p2pc_scenario *sc = scn_new();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(scn_parse(sc,
                             "expect expired 0\n"
                             "expect expired <= 5\n"
                             "expect meta_p99 <= 1024\n",
                             err, sizeof err),
                   0);
  p2pc_scn_judge j;
  p2pc_sim_result r;
  memset(&r, 0, sizeof r);
  /* nothing sent: no expiry, and no metadata to judge */
  p2pc_scn_judge_init(&j, sc);
  assert_int_equal(p2pc_scn_judge_end(&j, sc, &r), 0);
  assert_true(j.v[0].pass && j.v[1].pass);
  assert_true(j.v[2].pass && j.v[2].skipped);
  assert_string_equal(j.v[2].detail, "no message sent to another node");
  /* at the limits: pass */
  r.expired_rx = 0;
  r.meta_msgs = 100;
  r.meta_p99 = 1024;
  r.meta_max = 2000;
  r.meta_per_msg = 500.4;
  p2pc_scn_judge_init(&j, sc);
  assert_int_equal(p2pc_scn_judge_end(&j, sc, &r), 0);
  assert_false(j.v[2].skipped);
  assert_string_equal(j.v[0].detail, "0 at receivers, 0 at senders");
  assert_string_equal(j.v[2].detail,
                      "p99 1024 B (mean 500, max 2000; 100 messages)");
  /* one over each: fail; both ends count */
  r.expired_rx = 2;
  r.expired_tx = 4;
  r.meta_p99 = 1025;
  p2pc_scn_judge_init(&j, sc);
  assert_int_equal(p2pc_scn_judge_end(&j, sc, &r), 3);
  assert_true(j.v[1].measured == 6);
  assert_string_equal(j.v[1].detail, "2 at receivers, 4 at senders");
  r.expired_tx = 3;
  p2pc_scn_judge_init(&j, sc);
  assert_int_equal(p2pc_scn_judge_end(&j, sc, &r), 2);
  assert_true(j.v[1].pass);
  free(sc);
}

/* The views oracle's verdict is the engine's views_ok, with its figures. */
void test_judge_views(void **state) {
  (void)state;
  p2pc_scenario *sc = scn_new();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(scn_parse(sc, "expect views ok\n", err, sizeof err), 0);
  p2pc_scn_judge j;
  p2pc_scn_judge_init(&j, sc);
  p2pc_sim_result r;
  memset(&r, 0, sizeof r);
  r.views_ok = false;
  r.deg_min = 1;
  r.deg_max = 13;
  r.deg_mean = 7.25;
  r.passive_min = 3;
  r.passive_mean = 30;
  assert_int_equal(p2pc_scn_judge_end(&j, sc, &r), 1);
  assert_false(j.v[0].pass);
  assert_string_equal(j.v[0].detail,
                      "NOT as expected; links min 1 mean 7.2 max 13; "
                      "passive min 3 mean 30.0");
  r.views_ok = true;
  p2pc_scn_judge_init(&j, sc);
  assert_int_equal(p2pc_scn_judge_end(&j, sc, &r), 0);
  assert_true(j.v[0].pass);
  free(sc);
}

/* tier_max and tier_p99: the worst second of the window, <= the limit */
void test_judge_tiers(void **state) {
  (void)state;
  p2pc_scenario *sc = scn_new();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(scn_parse(sc,
                             "expect tier_max <= 3 after 3s\n"
                             "expect tier_p99 <= 2 after 3s\n"
                             "expect tier_max <= 2\n"
                             "expect tier_max <= 9 after 10s\n",
                             err, sizeof err),
                   0);
  assert_int_equal(sc->expect[0].kind, P2PC_SCN_TIER_MAX);
  assert_int_equal(sc->expect[1].kind, P2PC_SCN_TIER_P99);
  assert_string_equal(sc->expect[0].text, "tier_max <= 3 after 3s");
  p2pc_scn_judge j;
  p2pc_scn_judge_init(&j, sc);
  /* seconds 1..5: deep (7) at 2 s, then max 3, p99 2 */
  for (uint64_t t = 1; t <= 5; t++) {
    p2pc_sim_second row;
    memset(&row, 0, sizeof row);
    row.t_s = t;
    row.tier_max = t == 2 ? 7 : 3;
    row.tier_p99 = t == 2 ? 6 : 2;
    p2pc_scn_judge_row(&j, sc, &row);
  }
  p2pc_sim_result r;
  memset(&r, 0, sizeof r);
  assert_int_equal(p2pc_scn_judge_end(&j, sc, &r), 2);
  assert_true(j.v[0].pass && j.v[0].measured == 3);
  assert_true(j.v[1].pass && j.v[1].measured == 2);
  assert_false(j.v[2].pass); /* 7 at 2 s */
  assert_string_equal(j.v[2].detail, "worst 7");
  assert_false(j.v[3].pass); /* no second in the window */
  assert_string_equal(j.v[3].detail, "no second in its window");
  free(sc);
}

void test_judge(void **state) {
  (void)state;
  p2pc_scenario *sc = scn_new();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(scn_parse(sc,
                             "expect spread < 100us after 3s\n"
                             "expect spread < 100us until 3s\n"
                             "expect error < 1ms after 2s until 4s\n"
                             "expect spread < 1us after 100s\n"
                             "expect converge < 5s\n"
                             "expect causal ok\n"
                             "expect membership ok\n"
                             "expect bounds ok\n"
                             "expect synced all\n"
                             "expect synced >= 3\n",
                             err, sizeof err),
                   0);
  p2pc_scn_judge j;
  p2pc_scn_judge_init(&j, sc);
  /* seconds 1..5: spread 500 us at 2 s, err 2 ms at 4 s */
  for (uint64_t t = 1; t <= 5; t++) {
    p2pc_sim_second row;
    memset(&row, 0, sizeof row);
    row.t_s = t;
    row.spread = t == 2 ? 500000 : 50000;
    row.err_max = t == 4 ? 2e6 : 1e5;
    p2pc_scn_judge_row(&j, sc, &row);
  }
  p2pc_sim_result r;
  memset(&r, 0, sizeof r);
  r.conv_s = 3;
  r.causal_checked = false;
  r.membership_ok = true;
  r.bound_violations = 2;
  r.alive = 4;
  r.synced = 3;
  assert_int_equal(p2pc_scn_judge_end(&j, sc, &r), 4);
  assert_true(j.v[0].pass); /* 3..5: 50 us */
  assert_true(j.v[0].measured == 50000);
  assert_false(j.v[1].pass); /* 1..2: 500 us at 2 s */
  assert_true(j.v[1].measured == 500000);
  assert_string_equal(j.v[1].detail, "worst 500.0 us");
  assert_true(j.v[2].pass); /* 2 and 3 s: the 2 ms at 4 s is out */
  assert_true(j.v[2].measured == 1e5);
  assert_false(j.v[3].pass); /* no second in the window */
  assert_false(j.v[3].seen);
  assert_string_equal(j.v[3].detail, "no second in its window");
  assert_true(j.v[4].pass);
  assert_true(j.v[5].pass && j.v[5].skipped); /* the oracle did not run */
  assert_true(j.v[6].pass);
  assert_false(j.v[7].pass);
  assert_false(j.v[8].pass); /* 3 of 4 */
  assert_true(j.v[9].pass);  /* >= 3 */

  /* and the other way round */
  p2pc_scn_judge_init(&j, sc);
  r.conv_s = -1;
  r.causal_checked = true;
  r.missing = 1;
  r.bound_violations = 0;
  r.synced = 4;
  r.membership_ok = false;
  assert_int_equal(p2pc_scn_judge_end(&j, sc, &r), 7); /* no rows at all */
  for (int i = 0; i < 4; i++)
    assert_false(j.v[i].pass || j.v[i].seen);
  assert_false(j.v[4].pass);
  assert_string_equal(j.v[4].detail, "not converged at the end");
  assert_false(j.v[5].pass || j.v[5].skipped);
  assert_string_equal(j.v[5].detail, "0 violations, 1 missing");
  assert_false(j.v[6].pass);
  assert_true(j.v[7].pass);
  assert_true(j.v[8].pass);
  free(sc);
}

/* The falseticker oracle against a real run: three honest nodes, so
 * naming any of them fails, at the end and in a window; a window the run
 * never reaches and an end nobody looked at are failures too. */
typedef struct judged_run {
  p2pc_scn_judge j;
  const p2pc_scenario *sc;
  p2pc_sim *sim;
} judged_run;

static void judged_row(void *ud, const p2pc_sim_second *row) {
  judged_run *jr = ud;
  p2pc_scn_judge_row(&jr->j, jr->sc, row);
  p2pc_scn_judge_sim(&jr->j, jr->sc, jr->sim, row->t_s, false);
}

void test_judge_falseticker(void **state) {
  (void)state;
  p2pc_scenario *sc = scn_new();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(scn_parse(sc,
                             "nodes 3\nduration 20s\nmode collaborative\n"
                             "expect falseticker 1\n"
                             "expect falseticker 2 after 10s until 15s\n"
                             "expect falseticker 0 after 100s\n",
                             err, sizeof err),
                   0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), 0);
  judged_run *jr = calloc(1, sizeof *jr);
  assert_non_null(jr);
  jr->sc = sc;
  jr->sim = p2pc_sim_new(&sc->cfg, err, sizeof err);
  assert_non_null(jr->sim);
  p2pc_sim_falseticker f;
  assert_false(p2pc_sim_falseticker_get(jr->sim, 3, &f));
  p2pc_scn_judge_init(&jr->j, sc);
  p2pc_sim_run(jr->sim, NULL, judged_row, jr);
  p2pc_sim_result r;
  p2pc_sim_result_get(jr->sim, &r);
  /* before anybody looked at the end */
  p2pc_scn_judge *early = malloc(sizeof *early);
  assert_non_null(early);
  *early = jr->j;
  assert_int_equal(p2pc_scn_judge_end(early, sc, &r), 3);
  assert_false(early->v[0].seen);
  assert_string_equal(early->v[0].detail,
                      "not judged (no look at the nodes at the end)");
  free(early);
  /* and after */
  p2pc_scn_judge_sim(&jr->j, sc, jr->sim, 20, true);
  assert_int_equal(p2pc_scn_judge_end(&jr->j, sc, &r), 3);
  assert_true(p2pc_sim_falseticker_get(jr->sim, 1, &f));
  assert_true(f.alive);
  assert_int_equal(f.judges, 2);
  assert_int_equal(f.rejecting, 0);
  assert_int_equal(f.followers, 0); /* collaborative: no reference */
  assert_int_equal(f.first_user, 0);
  assert_true(jr->j.v[0].seen && !jr->j.v[0].pass);
  assert_string_equal(jr->j.v[0].detail, "n1 used by 2 of 2 synced nodes "
                                         "(n0 first)");
  assert_false(jr->j.v[1].pass);
  assert_true(jr->j.v[1].measured == 5); /* 10..14 s */
  assert_string_equal(jr->j.v[1].detail, "at 10 s: n2 used by 2 of 2 synced "
                                         "nodes (n0 first); 5 s in all");
  assert_false(jr->j.v[2].pass || jr->j.v[2].seen);
  assert_string_equal(jr->j.v[2].detail, "no second in its window");
  p2pc_sim_free(jr->sim);
  free(jr);
  free(sc);
}
