/* SPDX-License-Identifier: MIT */
/*
 * The sources' poll times (exchange.c): the earliest poll due, which the
 * node asks for after every event, is kept as sources come up, go down,
 * are polled and give their slots up, and always equals a pass over
 * every source's src_poll[]. A randomized walk; P2PC_SEED replays it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testseed.h"
#include "timesync.h"
#include "timesync_int.h" /* src_poll[], poll_min */

#define SEC 1000000000LL
#define T0 (1000 * SEC)
#define L0 (1700000000LL * SEC)

static p2pc_now at(int64_t since) {
  return (p2pc_now){.mono_ns = (uint64_t)(T0 + since), .local_ns = L0 + since};
}

static uint64_t next_rand(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return *s >> 17;
}

/* The least of src_poll[], counted here, not by the code under test. */
static uint64_t scan(const p2pc_timesync *ts) {
  uint64_t t = UINT64_MAX;
  for (uint32_t i = 0; i < ts->nsrc; i++)
    t = ts->src_poll[i] < t ? ts->src_poll[i] : t;
  return t;
}

static void check(const p2pc_timesync *ts, uint64_t seed, int step) {
  uint64_t want = scan(ts);
  if (ts->poll_min != want || p2pc__exchange_least_poll(ts) != want)
    fail_msg("step %d: poll_min %llu, least_poll %llu, want %llu (seed %llu)",
             step, (unsigned long long)ts->poll_min,
             (unsigned long long)p2pc__exchange_least_poll(ts),
             (unsigned long long)want, (unsigned long long)seed);
  uint64_t d = p2pc_timesync_next_deadline(ts);
  assert_true(d <= want);
}

static void test_poll_min_kept(void **state) {
  (void)state;
  uint64_t seed = p2pc_test_seed("test_poll_min_kept", 0x9011);
  p2pc_timesync_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.time_port = 7000;
  cfg.priority = 128;
  cfg.clock_class = 248;
  cfg.max_sources = 6; /* fewer slots than peers: slots are given up */
  p2pc_timesync *ts = NULL;
  assert_int_equal(p2pc_timesync_new(&ts, p2pc_allocator_default(), "me", 1,
                                     &cfg, 1, NULL, at(0)),
                   0);
  assert_int_equal(ts->poll_min, UINT64_MAX);
  check(ts, seed, -1);
  uint64_t s = seed;
  int64_t t = 0;
  bool was_polled = false;
  for (int step = 0; step < 20000; step++) {
    char id[16];
    uint32_t k = (uint32_t)(next_rand(&s) % 10);
    snprintf(id, sizeof id, "n%u", k);
    p2pc_wire_addr a = {
        .family = 4, .addr = {10, 0, 0, (uint8_t)(k + 1)}, .port = 7000};
    switch (next_rand(&s) % 4) {
    case 0:
      p2pc_timesync_peer_up(ts, id, &a, at(t));
      break;
    case 1:
      p2pc_timesync_peer_down(ts, id, at(t));
      break;
    default: { /* time passes to the next deadline (or a bit) */
      uint64_t d = p2pc_timesync_next_deadline(ts);
      uint64_t now = (uint64_t)T0 + (uint64_t)t;
      uint64_t to = d > now && d - now < (uint64_t)(30 * SEC)
                        ? d
                        : now + next_rand(&s) % (uint64_t)SEC;
      t = (int64_t)(to - (uint64_t)T0);
      was_polled |= ts->poll_min <= to;
      p2pc_timesync_on_deadline(ts, at(t));
      break;
    }
    }
    check(ts, seed, step);
  }
  assert_true(was_polled); /* the walk did poll sources */
  assert_true(ts->nsrc > 0);
  p2pc_timesync_free(ts);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_poll_min_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
