/* SPDX-License-Identifier: MIT */
/*
 * The scenario format (src/sim/scenario.c): every directive lands in the
 * right field of the simulator's configuration, time spans expand into
 * evenly spread events, every bad line is refused with exactly the
 * "FILE:LINE: message" a user would see, the checks that need the final
 * node count happen in p2pc_scenario_finish, the judge turns rows and
 * results into the right verdicts, and random garbage is refused without
 * undefined behaviour (run under ASan/UBSan in CI). The garbage test
 * prints its seed and honours P2PC_SEED.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <p2pclock/p2pclock.h>
#include "scenario.h"

static p2pc_scenario *new_sc(void) {
  p2pc_scenario *sc = malloc(sizeof *sc);
  assert_non_null(sc);
  p2pc_scenario_init(sc, 10, "t.scn");
  return sc;
}

static int parse(p2pc_scenario *sc, const char *text, char *err, size_t n) {
  err[0] = '\0';
  return p2pc_scenario_parse(sc, text, strlen(text), err, n);
}

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
    "lifetime 90s\n"
    "expect falseticker 4"; /* no newline at the end */

static void test_full_example(void **state) {
  (void)state;
  p2pc_scenario *sc = new_sc();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(parse(sc, full_example, err, sizeof err), 0);
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

  assert_int_equal(sc->nexpect, 13);
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
  assert_int_equal(sc->expect[12].kind, P2PC_SCN_FALSETICKER);
  assert_int_equal(sc->expect[12].node, 4);
  assert_true(sc->expect[12].at_end);
  assert_int_equal(sc->expect[12].line, 41);
  free(sc);
}

static void test_defaults_and_overrides(void **state) {
  (void)state;
  p2pc_scenario *sc = new_sc();
  char err[P2PC_SCN_ERR_LEN];
  p2pc_sim_config d;
  p2pc_sim_config_default(&d, 10);
  assert_int_equal(parse(sc, "# nothing but a comment\n\n", err, sizeof err),
                   0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), 0);
  assert_int_equal(sc->cfg.nodes, 10);
  assert_true(sc->cfg.duration_ns == d.duration_ns);
  assert_true(sc->cfg.link.delay_ns == d.link.delay_ns);
  assert_int_equal(sc->cfg.nevents, 0);
  assert_int_equal(sc->nexpect, 0);
  assert_true(sc->cfg.causal_oracle);
  assert_true(sc->cfg.causal_lifetime_ns == 60 * P2PC_SIM_SEC);
  assert_true(d.causal_lifetime_ns == P2PC_SIM_LIFETIME_DEFAULT_NS);
  assert_int_equal(parse(sc, "lifetime inf\n", err, sizeof err), 0);
  assert_true(sc->cfg.causal_lifetime_ns == P2PC_SIM_LIFETIME_INF);
  assert_int_equal(parse(sc, "lifetime 2.5\n", err, sizeof err), 0);
  assert_true(sc->cfg.causal_lifetime_ns == 2500000000ull);
  assert_int_equal(parse(sc, "lifetime 60\n", err, sizeof err), 0);
  /* later lines win; the causal oracle's default follows the size */
  assert_int_equal(
      parse(sc, "nodes 5\nnodes 3000\nseed 1\nseed 18446744073709551615\n", err,
            sizeof err),
      0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), 0);
  assert_int_equal(sc->cfg.nodes, 3000);
  assert_true(sc->cfg.seed == UINT64_MAX);
  assert_false(sc->cfg.causal_oracle);
  assert_int_equal(parse(sc, "causal on\n", err, sizeof err), 0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), 0);
  assert_true(sc->cfg.causal_oracle);
  /* units */
  assert_int_equal(parse(sc,
                         "duration 2min\nlink delay 1500ns jitter 0.5ms "
                         "bandwidth 1Gbit\nclocks offset 250ms\n",
                         err, sizeof err),
                   0);
  assert_true(sc->cfg.duration_ns == 120 * P2PC_SIM_SEC);
  assert_true(sc->cfg.link.delay_ns == 1500);
  assert_true(sc->cfg.link.jitter_ns == 500000);
  assert_true(sc->cfg.link.bandwidth_bps == 1e9);
  assert_true(sc->cfg.offset_max_s == 0.25);
  assert_int_equal(parse(sc, "topology clusters 4\n", err, sizeof err), 0);
  assert_int_equal(sc->cfg.topology, P2PC_SIM_CLUSTERS);
  assert_int_equal(sc->cfg.clusters, 4);
  assert_int_equal(parse(sc, "topology ring\n", err, sizeof err), 0);
  assert_int_equal(sc->cfg.topology, P2PC_SIM_RING);
  free(sc);
}

static void test_time_span(void **state) {
  (void)state;
  p2pc_scenario *sc = new_sc();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(parse(sc,
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
  assert_int_equal(parse(sc, "at 0s..1s join 0-4000\n", err, sizeof err),
                   P2PC_ERR_INVAL);
  assert_string_equal(err, "t.scn:1: too many events (at most 4096)");
  free(sc);
}

/* ---- bad scenarios: exactly the line a user sees ------------------------- */

typedef struct bad_case {
  const char *text, *msg;
} bad_case;

static const bad_case bad_cases[] = {
    {"nodes 0\n", "t.scn:1: nodes must be 1..100000, got \"0\""},
    {"nodes 12x\n", "t.scn:1: nodes must be 1..100000, got \"12x\""},
    {"nodes\n", "t.scn:1: usage: nodes N"},
    {"\n\nfrobnicate 3\n", "t.scn:3: unknown directive, got \"frobnicate\""},
    {"duration 120\n",
     "t.scn:1: duration must be a time 1s..30 days, like 120s, got \"120\""},
    {"duration 0.5s\n",
     "t.scn:1: duration must be a time 1s..30 days, like 120s, got \"0.5s\""},
    {"duration infs\n",
     "t.scn:1: duration must be a time 1s..30 days, like 120s, got \"infs\""},
    {"duration 1e400s\n", "t.scn:1: duration must be a time 1s..30 days, like "
                          "120s, got \"1e400s\""},
    {"seed -1\n",
     "t.scn:1: seed must be a decimal integer 0..2^64-1, got \"-1\""},
    {"seed 18446744073709551616\n", "t.scn:1: seed must be a decimal integer "
                                    "0..2^64-1, got \"18446744073709551616\""},
    {"topology kregular 1\n", "t.scn:1: usage: topology kregular K, K 2..32"},
    {"topology mesh\n",
     "t.scn:1: usage: topology full | ring | kregular K | clusters C"},
    {"mode anarchy\n", "t.scn:1: usage: mode reference | collaborative"},
    {"link loss 150%\n",
     "t.scn:1: link: a probability must be 0..1 or 0%..100%, got \"150%\""},
    {"link loss 1\n", "t.scn:1: link: loss must be below 1, got \"1\""},
    {"link asym 1\n", "t.scn:1: link: asym must be in (-1, 1), got \"1\""},
    {"link delay 5\n",
     "t.scn:1: link: delay and jitter are times 0..60s, got \"5\""},
    {"link delay -5ms\n",
     "t.scn:1: link: delay and jitter are times 0..60s, got \"-5ms\""},
    {"link delay\n", "t.scn:1: link: a value must follow, got \"delay\""},
    {"link\n", "t.scn:1: link: nothing to set (delay, jitter, asym, loss, "
               "dup, reorder, bandwidth, heavy)"},
    {"link speed 3\n", "t.scn:1: link: unknown parameter (delay, jitter, "
                       "asym, loss, dup, reorder, bandwidth, heavy), got "
                       "\"speed\""},
    {"link bandwidth 10MB\n",
     "t.scn:1: link: bandwidth must be like 100Mbit (bit, Kbit, Mbit, Gbit), "
     "0 = unlimited, got \"10MB\""},
    {"clocks drift 200\n",
     "t.scn:1: clocks: drift must be 0..1000ppm, got \"200\""},
    {"clocks drift\n", "t.scn:1: usage: clocks [offset T] [drift P] [wander "
                       "P] [noise T] [granularity T]"},
    {"traffic payload 300\n",
     "t.scn:1: traffic: payload must be 0..255 bytes, got \"300\""},
    {"poll 2 1\n",
     "t.scn:1: usage: poll MIN MAX, -6 <= MIN <= MAX <= 10 (log2 s)"},
    {"at 5 crash 1\n",
     "t.scn:1: at: the time must be like 30s or 0s..60s, got \"5\""},
    {"at 5s..1s join 1\n",
     "t.scn:1: at: a time span must not end before it starts, got \"5s..1s\""},
    {"at 1s..2s heal\n", "t.scn:1: at: a time span T..T2 is only for crash, "
                         "restart, join and leave"},
    {"at 5s crash 7-3\n",
     "t.scn:1: usage: at T partition A B | heal | crash R | restart R | join "
     "R | leave R | slow R xF | clockstep R +-T | clockfreq R P | link ... "
     "(R: a node index or a range like 0-49)"},
    {"at 5s crash 1 2\n", "t.scn:1: usage: at T crash R"},
    {"at 5s explode 1 2\n", "t.scn:1: at: unknown event, got \"explode\""},
    {"at 5s slow 1 x0.5\n",
     "t.scn:1: at T slow R xF: F must be 1..1000, got \"x0.5\""},
    {"at 5s clockstep 1 50ms5\n",
     "t.scn:1: at T clockstep R +-T: a signed time up to 1e6s, got "
     "\"50ms5\""},
    {"at 5s partition 0-4\n",
     "t.scn:1: usage: at T partition A B (node ranges like 0-49)"},
    {"expect spread 100us\n",
     "t.scn:1: usage: expect spread < T [after T] [until T]"},
    {"expect spread < 0s\n",
     "t.scn:1: expect: the limit must be a time above 0, got \"0s\""},
    {"expect spread < 1ms after 9s until 9s\n",
     "t.scn:1: expect: until must come after after"},
    {"expect causal fine\n", "t.scn:1: usage: expect causal ok"},
    {"expect synced most\n",
     "t.scn:1: usage: expect synced all | expect synced >= N"},
    {"expect happiness\n",
     "t.scn:1: usage: expect spread < T [after T] [until T] | error < T ... | "
     "converge < T | causal ok | membership ok | bounds ok | synced all | "
     "synced >= N | falseticker N [after T] [until T] | expired 0 | "
     "expired <= N | meta_p99 <= BYTES"},
    {"expect happiness ok\n",
     "t.scn:1: expect: unknown oracle (spread, error, converge, causal, "
     "membership, bounds, synced, falseticker, expired, meta_p99), got "
     "\"happiness\""},
    {"expect expired 3\n",
     "t.scn:1: usage: expect expired 0 | expect expired <= N"},
    {"expect expired < 3\n",
     "t.scn:1: usage: expect expired 0 | expect expired <= N"},
    {"expect expired <= -1\n",
     "t.scn:1: usage: expect expired 0 | expect expired <= N"},
    {"expect expired 0 0\n",
     "t.scn:1: usage: expect expired 0 | expect expired <= N"},
    {"expect meta_p99 < 1024\n", "t.scn:1: usage: expect meta_p99 <= BYTES"},
    {"expect meta_p99 <= 1KiB\n",
     "t.scn:1: expect meta_p99: BYTES must be an integer 0..4294967295, got "
     "\"1KiB\""},
    {"expect meta_p99 <= 4294967296\n",
     "t.scn:1: expect meta_p99: BYTES must be an integer 0..4294967295, got "
     "\"4294967296\""},
    {"lifetime\n", "t.scn:1: usage: lifetime S | inf"},
    {"lifetime 0\n",
     "t.scn:1: lifetime must be seconds 0.001..1000000 (a plain number or a "
     "time like 90s, 2min) or inf, got \"0\""},
    {"lifetime 500us\n",
     "t.scn:1: lifetime must be seconds 0.001..1000000 (a plain number or a "
     "time like 90s, 2min) or inf, got \"500us\""},
    {"lifetime 1000001\n",
     "t.scn:1: lifetime must be seconds 0.001..1000000 (a plain number or a "
     "time like 90s, 2min) or inf, got \"1000001\""},
    {"lifetime -5\n",
     "t.scn:1: lifetime must be seconds 0.001..1000000 (a plain number or a "
     "time like 90s, 2min) or inf, got \"-5\""},
    {"lifetime infinity\n",
     "t.scn:1: lifetime must be seconds 0.001..1000000 (a plain number or a "
     "time like 90s, 2min) or inf, got \"infinity\""},
    {"expect falseticker x\n", "t.scn:1: usage: expect falseticker N [after "
                               "T] [until T] (N: a node index)"},
    {"expect falseticker -1\n", "t.scn:1: usage: expect falseticker N "
                                "[after T] [until T] (N: a node index)"},
    {"expect falseticker 100000\n", "t.scn:1: usage: expect falseticker N "
                                    "[after T] [until T] (N: a node index)"},
    {"expect falseticker 3 after\n", "t.scn:1: usage: expect falseticker N "
                                     "[after T] [until T] (N: a node index)"},
    {"expect falseticker 3 4\n", "t.scn:1: usage: expect falseticker N "
                                 "[after T] [until T] (N: a node index)"},
    {"expect falseticker 3 during 5s\n",
     "t.scn:1: usage: expect falseticker N [after T] [until T]"},
    {"expect falseticker 3 after 5\n",
     "t.scn:1: expect: after and until take a time, got \"5\""},
    {"expect falseticker 3 after 9s until 2s\n",
     "t.scn:1: expect: until must come after after"},
    {"seeds some\n", "t.scn:1: usage: seeds members | any"},
    {"exclude x\n", "t.scn:1: exclude: a node index, got \"x\""},
    {"nodes 5\x01\n", "t.scn:1: a control character (0x01) in the line"},
    {"nodes \xff\xfe\n", "t.scn:1: nodes must be 1..100000, got \"??\""},
    {"a b c d e f g h i j k l m n o p q r s t u v w x y z 1 2 3 4 5 6 7 8 9 "
     "10 11 12 13 14 15\n",
     "t.scn:1: more than 40 words on the line"},
};

static void test_bad_lines(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    p2pc_scenario *sc = new_sc();
    char err[P2PC_SCN_ERR_LEN];
    int rv = parse(sc, bad_cases[i].text, err, sizeof err);
    if (rv != P2PC_ERR_INVAL || strcmp(err, bad_cases[i].msg) != 0)
      fail_msg("case %zu: got %d \"%s\", want \"%s\"", i, rv, err,
               bad_cases[i].msg);
    free(sc);
  }
}

static void test_bad_bytes(void **state) {
  (void)state;
  p2pc_scenario *sc = new_sc();
  char err[P2PC_SCN_ERR_LEN];
  static const char nul[] = "nodes 5\nseed 1\0 2\n";
  assert_int_equal(
      p2pc_scenario_parse(sc, nul, sizeof nul - 1, err, sizeof err),
      P2PC_ERR_INVAL);
  assert_string_equal(err, "t.scn:2: a NUL byte in the line");
  /* a line of exactly the limit is fine, one byte more is not */
  char *text = malloc(P2PC_SCN_MAX_LINE + 3);
  assert_non_null(text);
  memset(text, ' ', P2PC_SCN_MAX_LINE + 2);
  memcpy(text, "nodes 5", 7);
  text[P2PC_SCN_MAX_LINE] = '\n';
  assert_int_equal(
      p2pc_scenario_parse(sc, text, P2PC_SCN_MAX_LINE + 1, err, sizeof err), 0);
  text[P2PC_SCN_MAX_LINE] = ' ';
  text[P2PC_SCN_MAX_LINE + 1] = '\n';
  assert_int_equal(
      p2pc_scenario_parse(sc, text, P2PC_SCN_MAX_LINE + 2, err, sizeof err),
      P2PC_ERR_INVAL);
  assert_string_equal(err, "t.scn:1: line longer than 512 bytes");
  free(text);
  /* without a file name, the line alone */
  p2pc_scenario_init(sc, 10, "");
  assert_int_equal(parse(sc, "\nnodes -2\n", err, sizeof err), P2PC_ERR_INVAL);
  assert_string_equal(err, "line 2: nodes must be 1..100000, got \"-2\"");
  /* long tokens are cut short in messages */
  p2pc_scenario_init(sc, 10, "t.scn");
  assert_int_equal(parse(sc,
                         "nodes 1234567890123456789012345678901234567890123\n",
                         err, sizeof err),
                   P2PC_ERR_INVAL);
  assert_string_equal(err, "t.scn:1: nodes must be 1..100000, got "
                           "\"1234567890123456789012345678901234567890...\"");
  free(sc);
}

static void test_finish_checks(void **state) {
  (void)state;
  p2pc_scenario *sc = new_sc();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(parse(sc,
                         "nodes 100\n\nat 5s crash 99\nat 6s partition "
                         "0-49 50-99\n",
                         err, sizeof err),
                   0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), 0);
  sc->cfg.nodes = 60; /* as --nodes 60 would */
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), P2PC_ERR_INVAL);
  assert_string_equal(
      err, "t.scn:3: node 99 is beyond the 60 nodes (indices 0..59)");
  p2pc_scenario_init(sc, 10, "t.scn");
  assert_int_equal(
      parse(sc, "nodes 100\nat 6s partition 0-49 50-99\n", err, sizeof err), 0);
  sc->cfg.nodes = 80;
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), P2PC_ERR_INVAL);
  assert_string_equal(
      err, "t.scn:2: node 99 is beyond the 80 nodes (indices 0..79)");

  p2pc_scenario_init(sc, 10, "t.scn");
  assert_int_equal(parse(sc, "alive 11\n", err, sizeof err), 0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), P2PC_ERR_INVAL);
  assert_string_equal(err, "t.scn:1: alive 11 is more than the 10 nodes");

  p2pc_scenario_init(sc, 10, "t.scn");
  assert_int_equal(parse(sc, "nodes 4\nexclude 1 4\n", err, sizeof err), 0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), P2PC_ERR_INVAL);
  assert_string_equal(err, "t.scn:2: exclude: node 4 is beyond the 4 nodes");

  p2pc_scenario_init(sc, 10, "t.scn");
  assert_int_equal(
      parse(sc, "nodes 7\n\nexpect falseticker 7\n", err, sizeof err), 0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), P2PC_ERR_INVAL);
  assert_string_equal(err,
                      "t.scn:3: expect falseticker: node 7 is beyond the 7 "
                      "nodes");

  /* from the flags: no line to name */
  p2pc_scenario_init(sc, 10, "");
  sc->cfg.topology = P2PC_SIM_CLUSTERS;
  sc->cfg.clusters = 11;
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), P2PC_ERR_INVAL);
  assert_string_equal(err, "11 clusters for 10 nodes");
  free(sc);
}

static void test_topology_flag(void **state) {
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
static void test_duration_flag(void **state) {
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

static void test_load(void **state) {
  (void)state;
  p2pc_scenario *sc = new_sc();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(
      p2pc_scenario_load(sc, "/nonexistent/x.scn", err, sizeof err), -ENOENT);
  assert_string_equal(err, "/nonexistent/x.scn: cannot open: No such file or "
                           "directory");
  free(sc);
}

/* ---- the judge ----------------------------------------------------------- */

/* expired and meta_p99, judged from the result */
static void test_judge_causal(void **state) {
  (void)state;
  p2pc_scenario *sc = new_sc();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(parse(sc,
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

/* The lifetime's values, as the `lifetime` line and --causal-lifetime
 * take them. */
static void test_lifetime_flag(void **state) {
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

static void test_judge(void **state) {
  (void)state;
  p2pc_scenario *sc = new_sc();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(parse(sc,
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

static void test_judge_falseticker(void **state) {
  (void)state;
  p2pc_scenario *sc = new_sc();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(parse(sc,
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

static void test_format_ns(void **state) {
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

/* ---- garbage ------------------------------------------------------------- */

static uint64_t rnd(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Random bytes, and random splices of valid words: never a crash, and
 * every refusal names the file. */
static void test_garbage(void **state) {
  (void)state;
  const char *env = getenv("P2PC_SEED");
  uint64_t seed = env ? strtoull(env, NULL, 0) : 20261124;
  printf("test_garbage: P2PC_SEED=%llu\n", (unsigned long long)seed);
  static const char *words[] = {
      "nodes",     "duration",  "seed",       "topology", "kregular",
      "mode",      "link",      "delay",      "jitter",   "loss",
      "asym",      "bandwidth", "at",         "expect",   "spread",
      "<",         "after",     "until",      "join",     "crash",
      "partition", "0-9",       "1s",         "..",       "0s..5s",
      "100us",     "1%",        "-",          "x10",      "+0.05s",
      "ppm",       "500ppm",    "1e308",      "-0",       "#",
      "\t",        " ",         "\n",         "\r",       "9999999999",
      "clocks",    "offset",    "traffic",    "rate",     "exclude",
      "seeds",     "members",   "falseticker"};
  uint64_t x = seed;
  p2pc_scenario *sc = new_sc();
  char *buf = malloc(4096);
  assert_non_null(buf);
  for (int iter = 0; iter < 3000; iter++) {
    size_t len = 0, want = rnd(&x) % 4000;
    bool bytes = iter % 3 == 0;
    while (len < want) {
      if (bytes) {
        buf[len++] = (char)rnd(&x);
      } else {
        const char *w = words[rnd(&x) % (sizeof words / sizeof words[0])];
        size_t wl = strlen(w);
        if (len + wl + 1 > want)
          break;
        memcpy(buf + len, w, wl);
        len += wl;
        buf[len++] = rnd(&x) % 4 ? ' ' : '\n';
      }
    }
    p2pc_scenario_init(sc, 10, "g.scn");
    char err[P2PC_SCN_ERR_LEN] = "";
    int rv = p2pc_scenario_parse(sc, buf, len, err, sizeof err);
    if (rv == 0)
      rv = p2pc_scenario_finish(sc, err, sizeof err);
    if (rv != 0) {
      assert_int_equal(rv, P2PC_ERR_INVAL);
      assert_true(strncmp(err, "g.scn:", 6) == 0 || !strchr(err, ':'));
    }
    assert_true(sc->cfg.nevents <= P2PC_SIM_MAX_EVENTS);
    assert_true(sc->nexpect <= P2PC_SCN_MAX_EXPECT);
  }
  free(buf);
  free(sc);
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
      cmocka_unit_test(test_judge_causal),
      cmocka_unit_test(test_lifetime_flag),
      cmocka_unit_test(test_judge_falseticker),
      cmocka_unit_test(test_format_ns),
      cmocka_unit_test(test_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
