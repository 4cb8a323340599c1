/* SPDX-License-Identifier: MIT */
/*
 * Good scenarios (test_scenario.h): every directive of the full example
 * lands in the right field, the defaults and later lines overriding
 * earlier ones, time spans expanding into evenly spread events.
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

/* ---- good scenarios ------------------------------------------------------ */

static const char full_example[] =
    "# every directive once\n"
    "nodes 100\n"
    "duration 120s\n"
    "seed 7\n"
    "topology kregular 8          # a comment after a directive\n"
    "mode collaborative\n"
    "link delay 200us jitter 20us asym 0.3 loss 1% dup 0.002 reorder 0 "
    "bandwidth 100Mbit heavy 0.01\n"
    "slowlink delay 20ms jitter 1ms\n"
    "clocks offset 1s drift 200ppm wander 0.01ppm noise 50ns granularity 0\n"
    "traffic rate 1 bcast 0.1 payload 16\n"
    "\n"
    "   \t\n"
    "alive 90\r\n"
    "poll -3 1\n"
    "causal off\n"
    "seeds members\n"
    "exclude 3 4\n"
    "at 30s partition 0-49 50-99\n"
    "at 60s heal\n"
    "at 20s crash 0\n"
    "at 25s restart 0\n"
    "at 10s slow 3 x10\n"
    "at 5s join 90-99\n"
    "at 40s leave 5\n"
    "at 45s clockstep 3 -0.05s\n"
    "at 45s clockfreq 3 500ppm\n"
    "at 50s link delay 1ms jitter 100us\n"
    "expect spread < 100us after 60s\n"
    "expect error < 2ms after 1min until 100s\n"
    "expect causal ok\n"
    "expect membership ok\n"
    "expect bounds ok\n"
    "expect synced all\n"
    "expect synced >= 95\n"
    "expect converge < 20s\n"
    "expect falseticker 3 after 30s until 1min\n"
    "expect expired 0\n"
    "expect expired <= 12\n"
    "expect meta_p99 <= 1024\n"
    "expect dgram_rate <= 3.5 after 40s\n"
    "lifetime 90s\n"
    "expect falseticker 4"; /* no newline at the end */

void test_full_example(void **state) {
  (void)state;
  p2pc_scenario *sc = scn_new();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(scn_parse(sc, full_example, err, sizeof err), 0);
  assert_string_equal(err, "");
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), 0);
  const p2pc_sim_config *c = &sc->cfg;
  assert_int_equal(c->nodes, 100);
  assert_true(c->duration_ns == 120 * P2PC_SIM_SEC);
  assert_true(c->seed == 7);
  assert_int_equal(c->topology, P2PC_SIM_KREGULAR);
  assert_int_equal(c->k, 8);
  assert_true(c->collaborative);
  assert_true(c->link.delay_ns == 200000);
  assert_true(c->link.jitter_ns == 20000);
  assert_true(c->link.asym == 0.3);
  assert_true(c->link.loss == 0.01);
  assert_true(c->link.dup == 0.002);
  assert_true(c->link.reorder == 0);
  assert_true(c->link.bandwidth_bps == 100e6);
  assert_true(c->link.heavy == 0.01);
  assert_true(c->slow_link.delay_ns == 20000000);
  assert_true(c->slow_link.jitter_ns == 1000000);
  assert_true(c->offset_max_s == 1);
  assert_true(c->drift_max_ppm == 200);
  assert_true(c->clock_common.wander_ppm == 0.01);
  assert_true(c->clock_common.noise_ns == 50);
  assert_true(c->clock_common.granularity_ns == 0);
  assert_true(c->rate == 1);
  assert_true(c->bcast == 0.1);
  assert_int_equal(c->payload, 16);
  assert_int_equal(c->initially_alive, 90);
  assert_int_equal(c->poll_min, -3);
  assert_int_equal(c->poll_max, 1);
  assert_false(c->causal_oracle); /* `causal off` beats the default */
  assert_true(c->seeds_members);
  assert_int_equal(c->nexclude, 2);
  assert_int_equal(c->exclude[0], 3);
  assert_int_equal(c->exclude[1], 4);

  assert_int_equal(c->nevents, 10);
  const p2pc_sim_event *e = c->events;
  assert_int_equal(e[0].kind, P2PC_SIM_EV_PARTITION);
  assert_true(e[0].at_ns == 30 * P2PC_SIM_SEC);
  assert_int_equal(e[0].a0, 0);
  assert_int_equal(e[0].a1, 50);
  assert_int_equal(e[0].b0, 50);
  assert_int_equal(e[0].b1, 100);
  assert_int_equal(e[1].kind, P2PC_SIM_EV_HEAL);
  assert_int_equal(e[2].kind, P2PC_SIM_EV_CRASH);
  assert_int_equal(e[2].a0, 0);
  assert_int_equal(e[2].a1, 1);
  assert_int_equal(e[3].kind, P2PC_SIM_EV_RESTART);
  assert_int_equal(e[4].kind, P2PC_SIM_EV_SLOW);
  assert_true(e[4].x == 10);
  assert_int_equal(e[4].a0, 3);
  assert_int_equal(e[5].kind, P2PC_SIM_EV_JOIN);
  assert_int_equal(e[5].a0, 90);
  assert_int_equal(e[5].a1, 100);
  assert_int_equal(e[6].kind, P2PC_SIM_EV_LEAVE);
  assert_int_equal(e[7].kind, P2PC_SIM_EV_CLOCK_STEP);
  assert_true(e[7].x == -0.05);
  assert_int_equal(e[8].kind, P2PC_SIM_EV_CLOCK_FREQ);
  assert_true(e[8].x == 500);
  assert_int_equal(e[9].kind, P2PC_SIM_EV_LINK);
  assert_true(e[9].link.delay_ns == 1000000);
  assert_true(e[9].link.jitter_ns == 100000);
  assert_true(e[9].link.asym == 0.3); /* the rest as `link` said */
  assert_true(e[9].link.loss == 0.01);

  assert_int_equal(sc->nexpect, 14);
  assert_int_equal(sc->expect[0].kind, P2PC_SCN_SPREAD);
  assert_true(sc->expect[0].limit == 100000);
  assert_true(sc->expect[0].after_ns == 60 * P2PC_SIM_SEC);
  assert_true(sc->expect[0].until_ns == UINT64_MAX);
  assert_int_equal(sc->expect[0].line, 28);
  assert_string_equal(sc->expect[0].text, "spread < 100us after 60s");
  assert_int_equal(sc->expect[1].kind, P2PC_SCN_ERROR);
  assert_true(sc->expect[1].limit == 2e6);
  assert_true(sc->expect[1].after_ns == 60 * P2PC_SIM_SEC);
  assert_true(sc->expect[1].until_ns == 100 * P2PC_SIM_SEC);
  assert_int_equal(sc->expect[2].kind, P2PC_SCN_CAUSAL);
  assert_int_equal(sc->expect[3].kind, P2PC_SCN_MEMBERSHIP);
  assert_int_equal(sc->expect[4].kind, P2PC_SCN_BOUNDS);
  assert_int_equal(sc->expect[5].kind, P2PC_SCN_SYNCED);
  assert_int_equal(sc->expect[5].count, 0);
  assert_int_equal(sc->expect[6].count, 95);
  assert_int_equal(sc->expect[7].kind, P2PC_SCN_CONVERGE);
  assert_true(sc->expect[7].limit == 20);
  assert_int_equal(sc->expect[7].line, 35);
  assert_int_equal(sc->expect[8].kind, P2PC_SCN_FALSETICKER);
  assert_int_equal(sc->expect[8].node, 3);
  assert_false(sc->expect[8].at_end);
  assert_true(sc->expect[8].after_ns == 30 * P2PC_SIM_SEC);
  assert_true(sc->expect[8].until_ns == 60 * P2PC_SIM_SEC);
  assert_string_equal(sc->expect[8].text, "falseticker 3 after 30s until 1min");
  assert_int_equal(sc->expect[9].kind, P2PC_SCN_EXPIRED);
  assert_true(sc->expect[9].limit == 0);
  assert_string_equal(sc->expect[9].text, "expired 0");
  assert_int_equal(sc->expect[10].kind, P2PC_SCN_EXPIRED);
  assert_true(sc->expect[10].limit == 12);
  assert_string_equal(sc->expect[10].text, "expired <= 12");
  assert_int_equal(sc->expect[11].kind, P2PC_SCN_META_P99);
  assert_true(sc->expect[11].limit == 1024);
  assert_string_equal(sc->expect[11].text, "meta_p99 <= 1024");
  assert_true(c->causal_lifetime_ns == 90 * P2PC_SIM_SEC);
  assert_int_equal(sc->expect[12].kind, P2PC_SCN_DGRAM_RATE);
  assert_true(sc->expect[12].limit == 3.5);
  assert_true(sc->expect[12].after_ns == 40 * P2PC_SIM_SEC);
  assert_true(c->dgram_after_ns == 40 * P2PC_SIM_SEC); /* the window */
  assert_int_equal(sc->expect[13].kind, P2PC_SCN_FALSETICKER);
  assert_int_equal(sc->expect[13].node, 4);
  assert_true(sc->expect[13].at_end);
  assert_int_equal(sc->expect[13].line, 42);
  free(sc);
}

void test_defaults_and_overrides(void **state) {
  (void)state;
  p2pc_scenario *sc = scn_new();
  char err[P2PC_SCN_ERR_LEN];
  p2pc_sim_config d;
  p2pc_sim_config_default(&d, 10);
  assert_int_equal(
      scn_parse(sc, "# nothing but a comment\n\n", err, sizeof err), 0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), 0);
  assert_int_equal(sc->cfg.nodes, 10);
  assert_true(sc->cfg.duration_ns == d.duration_ns);
  assert_true(sc->cfg.link.delay_ns == d.link.delay_ns);
  assert_int_equal(sc->cfg.nevents, 0);
  assert_int_equal(sc->nexpect, 0);
  assert_true(sc->cfg.causal_oracle);
  assert_true(sc->cfg.causal_lifetime_ns == 60 * P2PC_SIM_SEC);
  assert_true(d.causal_lifetime_ns == P2PC_SIM_LIFETIME_DEFAULT_NS);
  assert_int_equal(scn_parse(sc, "lifetime inf\n", err, sizeof err), 0);
  assert_true(sc->cfg.causal_lifetime_ns == P2PC_SIM_LIFETIME_INF);
  assert_int_equal(scn_parse(sc, "lifetime 2.5\n", err, sizeof err), 0);
  assert_true(sc->cfg.causal_lifetime_ns == 2500000000ull);
  assert_int_equal(scn_parse(sc, "lifetime 60\n", err, sizeof err), 0);
  /* later lines win; the causal oracle's default follows the size */
  assert_int_equal(
      scn_parse(sc, "nodes 5\nnodes 3000\nseed 1\nseed 18446744073709551615\n",
                err, sizeof err),
      0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), 0);
  assert_int_equal(sc->cfg.nodes, 3000);
  assert_true(sc->cfg.seed == UINT64_MAX);
  assert_false(sc->cfg.causal_oracle);
  assert_int_equal(scn_parse(sc, "causal on\n", err, sizeof err), 0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), 0);
  assert_true(sc->cfg.causal_oracle);
  /* units */
  assert_int_equal(scn_parse(sc,
                             "duration 2min\nlink delay 1500ns jitter 0.5ms "
                             "bandwidth 1Gbit\nclocks offset 250ms\n",
                             err, sizeof err),
                   0);
  assert_true(sc->cfg.duration_ns == 120 * P2PC_SIM_SEC);
  assert_true(sc->cfg.link.delay_ns == 1500);
  assert_true(sc->cfg.link.jitter_ns == 500000);
  assert_true(sc->cfg.link.bandwidth_bps == 1e9);
  assert_true(sc->cfg.offset_max_s == 0.25);
  assert_int_equal(scn_parse(sc, "topology clusters 4\n", err, sizeof err), 0);
  assert_int_equal(sc->cfg.topology, P2PC_SIM_CLUSTERS);
  assert_int_equal(sc->cfg.clusters, 4);
  assert_int_equal(scn_parse(sc, "topology ring\n", err, sizeof err), 0);
  assert_int_equal(sc->cfg.topology, P2PC_SIM_RING);
  free(sc);
}

void test_time_span(void **state) {
  (void)state;
  p2pc_scenario *sc = scn_new();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(scn_parse(sc,
                             "nodes 1000\nalive 10\nat 0s..60s join 10-999\n"
                             "at 5s..5s crash 3-4\nat 7s..9s leave 5\n",
                             err, sizeof err),
                   0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), 0);
  const p2pc_sim_config *c = &sc->cfg;
  assert_int_equal(c->nevents, 990 + 2 + 1);
  for (uint32_t k = 0; k < 990; k++) {
    assert_int_equal(c->events[k].kind, P2PC_SIM_EV_JOIN);
    assert_int_equal(c->events[k].a0, 10 + k);
    assert_int_equal(c->events[k].a1, 11 + k);
    assert_int_equal(sc->ev_line[k], 3);
    if (k)
      assert_true(c->events[k].at_ns >= c->events[k - 1].at_ns);
  }
  assert_true(c->events[0].at_ns == 0);
  assert_true(c->events[989].at_ns == 60 * P2PC_SIM_SEC);
  assert_true(c->events[990].at_ns == 5 * P2PC_SIM_SEC);
  assert_true(c->events[991].at_ns == 5 * P2PC_SIM_SEC);
  assert_int_equal(c->events[991].a0, 4);
  assert_true(c->events[992].at_ns == 7 * P2PC_SIM_SEC); /* one node */
  /* more than the engine can hold */
  assert_int_equal(scn_parse(sc, "at 0s..1s join 0-4000\n", err, sizeof err),
                   P2PC_ERR_INVAL);
  assert_string_equal(err, "t.scn:1: too many events (at most 4096)");
  free(sc);
}

/* The overlay's keywords: traffic to any node, network-wide broadcasts,
 * churn, freezes, and their expectations with their windows. */
void test_overlay_keywords(void **state) {
  (void)state;
  p2pc_scenario *sc = scn_new();
  char err[P2PC_SCN_ERR_LEN];
  const p2pc_sim_config *c = &sc->cfg;
  assert_false(c->to_any);
  assert_true(c->bcast_every_ns == 0 && c->churn == 0);
  assert_true(c->bcast_grace_ns == 5 * P2PC_SIM_SEC);
  assert_true(c->detect_ns == 10 * P2PC_SIM_SEC);
  assert_int_equal(scn_parse(sc,
                             "nodes 20\n"
                             "traffic rate 0.05 to any bcast 0\n"
                             "broadcast every 250ms\n"
                             "churn 10%\n"
                             "at 30s freeze 3-4 for 2.5s\n"
                             "expect broadcast ok grace 8s\n"
                             "expect bcast_p99_hops <= 10\n"
                             "expect bcast_latency_p99 < 50ms\n"
                             "expect latency_p99 < 20ms\n"
                             "expect false_suspicions 0\n"
                             "expect false_suspicions <= 3\n"
                             "expect detect < 2s\n"
                             "expect unaddressable 0\n",
                             err, sizeof err),
                   0);
  assert_string_equal(err, "");
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), 0);
  assert_true(c->to_any);
  assert_true(c->rate == 0.05);
  assert_true(c->bcast_every_ns == 250 * 1000000ull);
  assert_true(c->churn == 0.1);
  assert_int_equal(c->nevents, 1);
  assert_int_equal(c->events[0].kind, P2PC_SIM_EV_FREEZE);
  assert_int_equal(c->events[0].a0, 3);
  assert_int_equal(c->events[0].a1, 5);
  assert_true(c->events[0].x == 2.5);
  assert_true(c->bcast_grace_ns == 8 * P2PC_SIM_SEC);
  assert_true(c->detect_ns == 2 * P2PC_SIM_SEC);
  static const p2pc_scn_expect_kind kinds[] = {
      P2PC_SCN_BCAST,   P2PC_SCN_BCAST_HOPS, P2PC_SCN_BCAST_LAT,
      P2PC_SCN_LATENCY, P2PC_SCN_FALSE_SUSP, P2PC_SCN_FALSE_SUSP,
      P2PC_SCN_DETECT,  P2PC_SCN_UNADDR};
  static const double limits[] = {0, 10, 50e6, 20e6, 0, 3, 2, 0};
  assert_int_equal(sc->nexpect, 8);
  for (uint32_t i = 0; i < 8; i++) {
    assert_int_equal(sc->expect[i].kind, kinds[i]);
    assert_true(sc->expect[i].limit == limits[i]);
  }
  assert_string_equal(sc->expect[0].text, "broadcast ok grace 8s");
  /* back to neighbours, broadcasts off */
  assert_int_equal(scn_parse(sc,
                             "traffic to neighbours\nbroadcast off\nchurn 0\n",
                             err, sizeof err),
                   0);
  assert_false(c->to_any);
  assert_true(c->bcast_every_ns == 0 && c->churn == 0);
  /* a freeze beyond the nodes is caught at finish */
  assert_int_equal(scn_parse(sc, "at 1s freeze 25 for 1s\n", err, sizeof err),
                   0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), P2PC_ERR_INVAL);
  assert_string_equal(
      err, "t.scn:1: node 25 is beyond the 20 nodes (indices 0..19)");
  free(sc);
  /* lookups of one node (or a range), and a target beyond the nodes */
  sc = scn_new();
  assert_int_equal(
      scn_parse(sc, "nodes 20\nat 1s lookup 0-9 of 19\n", err, sizeof err), 0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), 0);
  assert_int_equal(sc->cfg.events[0].kind, P2PC_SIM_EV_LOOKUP);
  assert_int_equal(sc->cfg.events[0].a1, 10);
  assert_int_equal(sc->cfg.events[0].b0, 19);
  assert_int_equal(sc->cfg.events[0].b1, 20);
  assert_int_equal(scn_parse(sc, "at 1s lookup 0 of 20\n", err, sizeof err), 0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), P2PC_ERR_INVAL);
  assert_string_equal(
      err, "t.scn:1: node 20 is beyond the 20 nodes (indices 0..19)");
  free(sc);
}
