/* SPDX-License-Identifier: MIT */
/*
 * Scenarios refused (test_scenario.h): every bad line with exactly the
 * "FILE:LINE: message" a user would see, bad bytes, the checks that need
 * the final node count (p2pc_scenario_finish), a file that cannot be
 * read, and random garbage, refused without undefined behaviour (run
 * under ASan/UBSan in CI; the garbage test prints its seed and honours
 * P2PC_SEED).
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

#include "rng.h"
#include "test_scenario.h"
#include <p2pclock/p2pclock.h>

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
     "R | leave R | slow R xF | freeze R for D | clockstep R +-T | clockfreq "
     "R P | clockfreqstep R +-P | link ... | lookup R [of S] (R: a node index "
     "or a range like 0-49)"},
    {"at 5s clockfreqstep 0 fast\n",
     "t.scn:1: at T clockfreqstep R +-P: a change of drift in ppm, |P| <= "
     "100000, got \"fast\""},
    {"at 5s lookup 1 2\n", "t.scn:1: usage: at T lookup R [of S]"},
    {"at 5s lookup 1 of x\n",
     "t.scn:1: at T lookup R of S: S is a node index or a range like 0-49, "
     "got \"x\""},
    {"at 5s freeze 1 5s\n",
     "t.scn:1: usage: at T freeze R for D (D: a time, like 3s)"},
    {"at 5s freeze 1 for 0s\n",
     "t.scn:1: at T freeze R for D: D must be a time >= 1ms, got \"0s\""},
    {"expect flaps 3\n", "t.scn:1: usage: expect flaps <= N (or flaps 0)"},
    {"expect detect 2s\n", "t.scn:1: usage: expect detect < T"},
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
    {"expect views fine\n", "t.scn:1: usage: expect views ok"},
    {"expect bounds fine\n",
     "t.scn:1: usage: expect bounds ok [after T] [until T]"},
    {"expect bounds ok later 3s\n",
     "t.scn:1: usage: expect bounds ok [after T] [until T]"},
    {"expect bounds ok after 5s until 2s\n",
     "t.scn:1: expect: until must come after after"},
    {"expect synced most\n",
     "t.scn:1: usage: expect synced all | expect synced >= N"},
    {"expect happiness\n",
     "t.scn:1: usage: expect spread < T [after T] [until T] | error < T ... | "
     "converge < T | causal ok | membership ok | bounds ok [after T] [until "
     "T] | lookups ok | views ok | synced all | synced >= N | falseticker N "
     "[after T] [until "
     "T] | expired 0 | expired <= N | meta_p99 <= BYTES | broadcast ok "
     "[grace T] | bcast_p99_hops <= N | bcast_latency_p99 < T | latency_p99 "
     "< T | flaps <= N | false_suspicions <= N | detect < T | unaddressable "
     "<= N | tier_max <= N ..."},
    {"expect happiness ok\n",
     "t.scn:1: expect: unknown oracle (spread, error, converge, causal, "
     "membership, bounds, lookups, views, synced, falseticker, expired, "
     "meta_p99, broadcast, bcast_p99_hops, bcast_latency_p99, latency_p99, "
     "flaps, false_suspicions, detect, unaddressable, tier_max, tier_p99, "
     "dgram_rate, wake_rate), got "
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
    {"expect tier_max < 3\n",
     "t.scn:1: usage: expect tier_max <= N [after T] [until T]"},
    {"expect tier_p99 <= 256\n",
     "t.scn:1: usage: expect tier_p99 <= N [after T] [until T]"},
    {"expect tier_max <= 3 after 9s until 9s\n",
     "t.scn:1: usage: expect tier_max <= N [after T] [until T]"},
    {"expect tier_max <= 3 soon\n",
     "t.scn:1: usage: expect tier_max <= N [after T] [until T]"},
    {"expect dgram_rate <= 3\n",
     "t.scn:1: usage: expect dgram_rate <= R after T"},
    {"expect dgram_rate < 3 after 10s\n",
     "t.scn:1: usage: expect dgram_rate <= R after T"},
    {"expect dgram_rate <= 3 until 10s\n",
     "t.scn:1: usage: expect dgram_rate <= R after T"},
    {"expect dgram_rate <= -1 after 10s\n",
     "t.scn:1: expect dgram_rate: datagrams a node a second, a number >= 0, "
     "got \"-1\""},
    {"expect dgram_rate <= 3/s after 10s\n",
     "t.scn:1: expect dgram_rate: datagrams a node a second, a number >= 0, "
     "got \"3/s\""},
    {"expect dgram_rate <= 3 after soon\n",
     "t.scn:1: expect: after and until take a time, got \"soon\""},
    {"expect dgram_rate <= 3 after 10s\nexpect dgram_rate <= 2 after 20s\n",
     "t.scn:2: expect dgram_rate: one window a scenario for dgram_rate and "
     "wake_rate"},
    {"expect wake_rate <= x after 10s\n",
     "t.scn:1: expect wake_rate: wake-ups a node a second, a number >= 0, "
     "got \"x\""},
    {"expect dgram_rate <= 3 after 10s\nexpect wake_rate <= 9 after 20s\n",
     "t.scn:2: expect wake_rate: one window a scenario for dgram_rate and "
     "wake_rate"},
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
    {"traffic to all\n",
     "t.scn:1: traffic: to must be any or neighbours, got \"all\""},
    {"broadcast every\n", "t.scn:1: usage: broadcast every T | broadcast off"},
    {"broadcast each 1s\n",
     "t.scn:1: usage: broadcast every T | broadcast off"},
    {"broadcast every 1\n", "t.scn:1: broadcast every: a time from 1ms to 1 "
                            "day, like 1s or 250ms, got \"1\""},
    {"broadcast every 10us\n", "t.scn:1: broadcast every: a time from 1ms to "
                               "1 day, like 1s or 250ms, got \"10us\""},
    {"churn\n", "t.scn:1: usage: churn P (a share of the nodes: 10% or 0.1)"},
    {"churn 95%\n", "t.scn:1: churn: a share of the nodes 0..90%, like 10% or "
                    "0.1, got \"95%\""},
    {"at 5s freeze 3\n", "t.scn:1: usage: at T freeze R for D (D: a time, "
                         "like 3s)"},
    {"at 5s freeze 3 during 2s\n",
     "t.scn:1: usage: at T freeze R for D (D: a time, like 3s)"},
    {"at 5s freeze 3 for 2\n",
     "t.scn:1: at T freeze R for D: D must be a time >= 1ms, got \"2\""},
    {"at 5s..9s freeze 3 for 2s\n",
     "t.scn:1: at: a time span T..T2 is only for crash, restart, join and "
     "leave"},
    {"expect broadcast fine\n",
     "t.scn:1: usage: expect broadcast ok [grace T]"},
    {"expect broadcast ok grace\n",
     "t.scn:1: usage: expect broadcast ok [grace T]"},
    {"expect broadcast ok grace 5\n",
     "t.scn:1: expect broadcast ok grace T: a time, like 5s, got \"5\""},
    {"expect detect <= 2s\n", "t.scn:1: usage: expect detect < T"},
    {"expect detect < 0s\n",
     "t.scn:1: expect: the limit must be a time above 0, got \"0s\""},
    {"expect bcast_latency_p99 < 5\n",
     "t.scn:1: expect: the limit must be a time above 0, got \"5\""},
    {"expect bcast_p99_hops < 10\n",
     "t.scn:1: usage: expect bcast_p99_hops <= N (or bcast_p99_hops 0)"},
    {"expect false_suspicions 1\n",
     "t.scn:1: usage: expect false_suspicions <= N (or false_suspicions 0)"},
    {"expect unaddressable <= -1\n",
     "t.scn:1: usage: expect unaddressable <= N (or unaddressable 0)"},
};

void test_bad_lines(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    p2pc_scenario *sc = scn_new();
    char err[P2PC_SCN_ERR_LEN];
    int rv = scn_parse(sc, bad_cases[i].text, err, sizeof err);
    if (rv != P2PC_ERR_INVAL || strcmp(err, bad_cases[i].msg) != 0)
      fail_msg("case %zu: got %d \"%s\", want \"%s\"", i, rv, err,
               bad_cases[i].msg);
    free(sc);
  }
}

void test_bad_bytes(void **state) {
  (void)state;
  p2pc_scenario *sc = scn_new();
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
  assert_int_equal(scn_parse(sc, "\nnodes -2\n", err, sizeof err),
                   P2PC_ERR_INVAL);
  assert_string_equal(err, "line 2: nodes must be 1..100000, got \"-2\"");
  /* long tokens are cut short in messages */
  p2pc_scenario_init(sc, 10, "t.scn");
  assert_int_equal(
      scn_parse(sc, "nodes 1234567890123456789012345678901234567890123\n", err,
                sizeof err),
      P2PC_ERR_INVAL);
  assert_string_equal(err, "t.scn:1: nodes must be 1..100000, got "
                           "\"1234567890123456789012345678901234567890...\"");
  free(sc);
}

void test_finish_checks(void **state) {
  (void)state;
  p2pc_scenario *sc = scn_new();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(scn_parse(sc,
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
      scn_parse(sc, "nodes 100\nat 6s partition 0-49 50-99\n", err, sizeof err),
      0);
  sc->cfg.nodes = 80;
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), P2PC_ERR_INVAL);
  assert_string_equal(
      err, "t.scn:2: node 99 is beyond the 80 nodes (indices 0..79)");

  p2pc_scenario_init(sc, 10, "t.scn");
  assert_int_equal(scn_parse(sc, "alive 11\n", err, sizeof err), 0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), P2PC_ERR_INVAL);
  assert_string_equal(err, "t.scn:1: alive 11 is more than the 10 nodes");

  p2pc_scenario_init(sc, 10, "t.scn");
  assert_int_equal(scn_parse(sc, "nodes 4\nexclude 1 4\n", err, sizeof err), 0);
  assert_int_equal(p2pc_scenario_finish(sc, err, sizeof err), P2PC_ERR_INVAL);
  assert_string_equal(err, "t.scn:2: exclude: node 4 is beyond the 4 nodes");

  p2pc_scenario_init(sc, 10, "t.scn");
  assert_int_equal(
      scn_parse(sc, "nodes 7\n\nexpect falseticker 7\n", err, sizeof err), 0);
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

void test_load(void **state) {
  (void)state;
  p2pc_scenario *sc = scn_new();
  char err[P2PC_SCN_ERR_LEN];
  assert_int_equal(
      p2pc_scenario_load(sc, "/nonexistent/x.scn", err, sizeof err), -ENOENT);
  assert_string_equal(err, "/nonexistent/x.scn: cannot open: No such file or "
                           "directory");
  free(sc);
}

/* ---- garbage ------------------------------------------------------------- */

/* Random bytes, and random splices of valid words: never a crash, and
 * every refusal names the file. The draws: rng.h's splitmix64. */
void test_garbage(void **state) {
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
  p2pc_scenario *sc = scn_new();
  char *buf = malloc(4096);
  assert_non_null(buf);
  for (int iter = 0; iter < 3000; iter++) {
    size_t len = 0, want = p2pc_splitmix64(&x) % 4000;
    bool bytes = iter % 3 == 0;
    while (len < want) {
      if (bytes) {
        buf[len++] = (char)p2pc_splitmix64(&x);
      } else {
        const char *w =
            words[p2pc_splitmix64(&x) % (sizeof words / sizeof words[0])];
        size_t wl = strlen(w);
        if (len + wl + 1 > want)
          break;
        memcpy(buf + len, w, wl);
        len += wl;
        buf[len++] = p2pc_splitmix64(&x) % 4 ? ' ' : '\n';
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
