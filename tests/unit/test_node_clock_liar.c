/* SPDX-License-Identifier: MIT */
/*
 * The clock against a lying reference (docs/CLOCK.md, "Reference mode":
 * the reference is not above judgement), on the harness's in-process
 * network: a reference whose clock jumps 50 ms or 1,000 s is set aside by
 * the nodes whose other sources agree against it, and the mesh elects
 * the next candidate without being pulled towards the liar; a node that
 * restarts does not step to the liar's time; an honest reference whose
 * rate changes is never set aside (test_node_clock.c, drift step).
 */
#include "node_harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXNODES 6

static int NODES = MAXNODES; /* the mesh of this test: N0 .. N(NODES-1) */

static const char *mesh_seeds[][MAXNODES] = {
    {"12", "02", "01"}, {"12345", "02345", "01345", "01245", "01235", "01234"}};
static const int64_t off[] = {0,         300000000,  -700000000,
                              100000000, -200000000, 500000000};
static const double drift[] = {-100e-6, 50e-6, 120e-6, -30e-6, 10e-6, 80e-6};

static p2pc_tracking track(const net *w, int i) {
  p2pc_tracking t;
  p2pc_node_tracking(w->nodes[i].n, now_at(w, i), &t);
  return t;
}

static int64_t net_time(const net *w, int i) {
  return p2pc_node_network_time(w->nodes[i].n, local_at(w, i, w->now));
}

/* N0 (priority 1) is the reference; the others follow it. */
static void start_mesh(net *w, int i) {
  opts o = {.seeds = mesh_seeds[NODES == 3 ? 0 : 1][i]};
  o.base.time.mode = P2PC_CLOCK_REFERENCE;
  o.base.time.priority = i == 0 ? 1 : 128;
  o.base.time.clock_class = 248;
  w->nodes[i].clock_offset = off[i];
  w->nodes[i].clock_drift = drift[i];
  start_node(w, i, &o);
}

static void log_state(const net *w, const char *what, double pulled) {
  if (!getenv("P2PC_TEST_LOG"))
    return;
  fprintf(stderr, "%s t=%.2fs pulled %.0f ns:", what, (double)w->now / 1e9,
          pulled);
  for (int i = 1; i < NODES; i++) {
    if (!w->nodes[i].n)
      continue;
    p2pc_tracking t = track(w, i);
    p2pc_source_info si = {0};
    for (uint32_t k = 0;
         p2pc_node_source_info(w->nodes[i].n, k, now_at(w, i), &si); k++)
      if (strcmp(si.id, "N0") == 0)
        break;
    fprintf(stderr, " | N%d %s/%s f=%.0f N0 d=%.1fms e=%.1fms n=%u %s", i,
            t.ref, t.source, t.freq_ppm, si.offset_ns / 1e6, si.err_ns / 1e6,
            si.samples, si.state);
  }
  fprintf(stderr, "\n");
}

/* N0's clock jumps by `jump` ns after 20 s. Returns the worst distance,
 * while it lied, of an honest node's network time from the time N0 kept
 * before the jump (how far the liar pulled them), and the honest nodes'
 * spread at the end in *spread. */
static double liar_run(net *w, int64_t jump, double *spread) {
  for (int i = 0; i < NODES; i++)
    start_mesh(w, i);
  run(w, 20000);
  for (int i = 1; i < NODES; i++)
    assert_string_equal(track(w, i).source, "N0");
  /* the honest time: N0's network time as it would have run on */
  int64_t n0_t0 = net_time(w, 0);
  uint64_t t0 = w->now;
  w->nodes[0].clock_offset += jump;
  double pulled = 0;
  for (int k = 0; k < 120; k++) {
    run(w, 250);
    double honest = (double)n0_t0 + (double)(w->now - t0) * (1 + drift[0]);
    for (int i = 1; i < NODES; i++)
      pulled = fmax(pulled, fabs((double)net_time(w, i) - honest));
    log_state(w, "liar", pulled);
  }
  *spread = 0;
  for (int i = 1; i < NODES; i++)
    for (int j = 1; j < NODES; j++)
      *spread = fmax(*spread, fabs((double)(net_time(w, i) - net_time(w, j))));
  return pulled;
}

/* Every honest node set N0 aside (once, for `reason`), follows another
 * reference, and its network time never went back. */
static void assert_rejected(const net *w, const char *reason) {
  char want[80];
  snprintf(want, sizeof want, "N0 %s", reason);
  for (int i = 1; i < NODES; i++) {
    p2pc_tracking t = track(w, i);
    if (getenv("P2PC_TEST_LOG"))
      fprintf(stderr, "N%d ref %s source %s rejects %d (%s)\n", i, t.ref,
              t.source, w->nodes[i].reject_events, w->nodes[i].last_reject);
    assert_true(t.synced);
    assert_string_not_equal(t.ref, "N0");
    assert_string_not_equal(t.source, "N0");
    assert_int_equal(w->nodes[i].reject_events, 1);
    assert_string_equal(w->nodes[i].last_reject, want);
    assert_true(t.c.rejected == 1);
    assert_int_equal(w->nodes[i].backwards, 0);
  }
}

/* 50 ms: within maxChange, so the judgement by the other sources must
 * catch it. Today's code followed N0 at the slew rate (500 ppm): 5 ms
 * pulled in 10 s, and on until the mesh stood 50 ms off. */
static void test_clock_reference_liar_50ms_rejected(void **state) {
  (void)state;
  net *w = net_new();
  NODES = 6;
  double spread, pulled = liar_run(w, 50000000, &spread);
  if (getenv("P2PC_TEST_LOG"))
    fprintf(stderr, "50 ms liar: pulled %.0f ns, spread %.0f ns\n", pulled,
            spread);
  assert_rejected(w, "contradicted");
  assert_true(spread < 10000);
  assert_true(pulled < 1000000); /* under 1 ms: they held over */
  net_free(w);
}

/* 1,000 s: the judgement catches it as it does 50 ms (its rate goes
 * wild first, then its time is contradicted); today's code followed it
 * at 1.2 ms a second (frequency clamp and slew). */
static void test_clock_reference_liar_1000s_rejected(void **state) {
  (void)state;
  net *w = net_new();
  NODES = 6;
  double spread, pulled = liar_run(w, 1000 * 1000000000LL, &spread);
  if (getenv("P2PC_TEST_LOG"))
    fprintf(stderr, "1000 s liar: pulled %.0f ns, spread %.0f ns\n", pulled,
            spread);
  assert_rejected(w, "contradicted");
  assert_true(spread < 10000);
  assert_true(pulled < 1000000);
  net_free(w);
}

/* Three nodes: a follower has one other source, too few to judge the
 * reference (MIN_AGAINST 2). maxChange is what stops it: a correction of
 * 1,000 s is ignored, and after 4 of them running the reference is lost
 * and set aside. */
static void test_clock_max_change_loses_the_source(void **state) {
  (void)state;
  net *w = net_new();
  NODES = 3;
  double spread, pulled = liar_run(w, 1000 * 1000000000LL, &spread);
  if (getenv("P2PC_TEST_LOG"))
    fprintf(stderr, "1000 s liar, 3 nodes: pulled %.0f ns, spread %.0f ns\n",
            pulled, spread);
  for (int i = 1; i < NODES; i++)
    assert_true(track(w, i).c.max_change >= 4);
  assert_rejected(w, "max_change");
  assert_true(spread < 10000);
  assert_true(pulled < 1000000);
  NODES = MAXNODES;
  net_free(w);
}

/* After the mesh has set the 1,000 s liar aside, N5 restarts: its
 * election knows nothing of that, and N0 (the best priority, serving
 * time) is the first reference it hears of. It must not step to N0's
 * time, which its other sources contradict; it waits, sets N0 aside
 * itself and steps to the mesh's time. */
static void test_clock_restart_does_not_step_to_liar(void **state) {
  (void)state;
  net *w = net_new();
  NODES = 6;
  double spread;
  liar_run(w, 1000 * 1000000000LL, &spread);
  crash(w, 5);
  run(w, 3000);
  w->nodes[5].steps = w->nodes[5].backwards = 0;
  w->nodes[5].was_synced = false;
  w->nodes[5].reject_events = 0;
  start_mesh(w, 5);
  run(w, 20000);
  p2pc_tracking t = track(w, 5);
  double d = (double)(net_time(w, 5) - net_time(w, 1));
  if (getenv("P2PC_TEST_LOG"))
    fprintf(stderr, "restarted N5: ref %s, %.0f ns from N1, steps %d, %s\n",
            t.ref, d, w->nodes[5].steps, w->nodes[5].last_reject);
  assert_true(t.synced);
  assert_string_not_equal(t.ref, "N0");
  assert_true(fabs(d) < 10000);
  assert_int_equal(w->nodes[5].steps, 1);
  assert_int_equal(w->nodes[5].reject_events, 1);
  assert_string_equal(w->nodes[5].last_reject, "N0 contradicted");
  net_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clock_reference_liar_50ms_rejected),
      cmocka_unit_test(test_clock_reference_liar_1000s_rejected),
      cmocka_unit_test(test_clock_max_change_loses_the_source),
      cmocka_unit_test(test_clock_restart_does_not_step_to_liar),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
