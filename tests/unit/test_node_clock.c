/* SPDX-License-Identifier: MIT */
/*
 * The node's clock synchronization (timesync.h through node.h), on the
 * harness's in-process network with per-node clock offsets and drift
 * (node_harness.h): a reference converges, fails over, steps on drift; a
 * better newcomer does not move time; a restarted reference; the
 * collaborative mode rejecting a liar and along a chain; the election
 * across a mesh; the time socket answering and dropping.
 */
#include "node_harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- clock synchronization ------------------------------------------------
 */

/* Node i's network time minus node j's, at the same true instant. */
static double net_diff(const net *w, int i, int j) {
  int64_t a = p2pc_node_network_time(w->nodes[i].n, local_at(w, i, w->now));
  int64_t b = p2pc_node_network_time(w->nodes[j].n, local_at(w, j, w->now));
  return (double)(a - b);
}

static p2pc_tracking track(const net *w, int i) {
  p2pc_tracking t;
  p2pc_node_tracking(w->nodes[i].n, now_at(w, i), &t);
  return t;
}

static const char *full_mesh_seeds[] = {"123456", "023456", "013456", "012456",
                                        "012356", "012346", "012345"};

static void start_clock_node(net *w, int i, p2pc_clock_mode mode,
                             uint8_t priority, int64_t offset, double drift) {
  opts o = {.seeds = full_mesh_seeds[i]};
  o.base.time.mode = mode;
  o.base.time.priority = priority;
  o.base.time.clock_class = 248;
  w->nodes[i].clock_offset = offset;
  w->nodes[i].clock_drift = drift;
  start_node(w, i, &o);
}

static void test_clock_reference_converges(void **state) {
  (void)state;
  net *w = net_new();
  static const int64_t off[] = {0, 300000000, -700000000, 900000000};
  static const double drift[] = {0, 50e-6, -120e-6, 200e-6};
  for (int i = 0; i < 4; i++)
    start_clock_node(w, i, P2PC_CLOCK_REFERENCE, i == 2 ? 10 : 128, off[i],
                     drift[i]);
  run(w, 20000);
  /* N2 has the best priority: it is the reference, everyone follows. */
  for (int i = 0; i < 4; i++) {
    p2pc_tracking t = track(w, i);
    assert_true(t.synced);
    assert_string_equal(t.ref, "N2");
    assert_int_equal(t.is_reference, i == 2);
    assert_true(w->nodes[i].samples > 0 || i == 2);
    double e = net_diff(w, i, 2);
    if (getenv("P2PC_TEST_LOG"))
      fprintf(stderr, "N%d err %.0f ns bound %.0f ns freq %.3f ppm\n", i, e,
              t.err_ns, t.freq_ppm);
    /* Symmetric 50 us paths: within a microsecond of the reference, and
     * the claimed bound covers the true error. */
    assert_true(fabs(e) < 1000);
    assert_true(t.err_ns >= fabs(e));
    /* The frequency correction undoes the drift relative to N2. */
    if (i != 2)
      assert_true(fabs(t.freq_ppm - ((1 - 120e-6) / (1 + drift[i]) - 1) * 1e6) <
                  0.05);
    assert_int_equal(w->nodes[i].backwards, 0);
  }
  /* The exchanges ran in interleaved mode with kernel-like stamps. */
  p2pc_source_info si;
  assert_true(p2pc_node_source_info(w->nodes[0].n, 1, now_at(w, 0), &si));
  assert_true(si.interleaved && si.kernel);
  /* The election settled once: a node may first see itself as the best
   * candidate, then N2; nobody flaps. */
  for (int i = 0; i < 4; i++)
    assert_true(w->nodes[i].ref_changes <= 2);
  /* One initial step each (not the reference), then only slewing. */
  assert_int_equal(w->nodes[2].steps, 0);
  for (int i = 0; i < 4; i++)
    if (i != 2)
      assert_int_equal(w->nodes[i].steps, 1);
  /* What an application is told: synced once, never lost; the step as
   * its own event; the reference named at least once, and the same
   * settling as the log lines (a change to a first candidate, then N2). */
  for (int i = 0; i < 4; i++) {
    assert_int_equal(w->nodes[i].synced_events, 1);
    assert_int_equal(w->nodes[i].unsynced_events, 0);
    assert_int_equal(w->nodes[i].step_events, w->nodes[i].steps);
    assert_true(w->nodes[i].ref_events >= 1 && w->nodes[i].ref_events <= 2);
  }
  net_free(w);
}

static void test_clock_reference_failover(void **state) {
  (void)state;
  net *w = net_new();
  static const int64_t off[] = {-400000000, 250000000, 0, 600000000};
  static const double drift[] = {-80e-6, 30e-6, 0, 150e-6};
  for (int i = 0; i < 4; i++)
    start_clock_node(w, i, P2PC_CLOCK_REFERENCE, i == 0 ? 1 : 128, off[i],
                     drift[i]);
  run(w, 15000);
  for (int i = 0; i < 4; i++)
    assert_string_equal(track(w, i).ref, "N0");
  crash(w, 0);
  /* The announce timeout is 2 s: a new reference within a few seconds. */
  run(w, 4000);
  for (int i = 1; i < 4; i++) {
    p2pc_tracking t = track(w, i);
    assert_string_equal(t.ref, "N1");
    assert_true(t.synced);
  }
  run(w, 15000);
  for (int i = 1; i < 4; i++) {
    double e = net_diff(w, i, 1);
    assert_true(fabs(e) < 2000);
    /* continuous: never a backwards jump, not even at the change */
    assert_int_equal(w->nodes[i].backwards, 0);
    assert_int_equal(w->nodes[i].steps, i == 2 ? 1 : 1);
  }
  net_free(w);
}

/* The reference's oscillator changes rate by 50 ppm: followers must
 * re-learn the frequency (the runs test drops the old samples) and get
 * back within microseconds. */
static void test_clock_reference_drift_step(void **state) {
  (void)state;
  net *w = net_new();
  /* Five nodes: each follower has four candidates, enough for the
   * falseticker test, which must never reject the reference itself. */
  static const int64_t off[] = {0, 300000000, -700000000, 100000000,
                                -200000000};
  static const double drift[] = {-100e-6, 50e-6, 120e-6, -30e-6, 10e-6};
  /* loopback-like paths: 2 us each way, so intervals are narrow */
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 5; j++)
      w->udp_delay_ns[i][j] = 2000;
  for (int i = 0; i < 5; i++)
    start_clock_node(w, i, P2PC_CLOCK_REFERENCE, i == 0 ? 1 : 128, off[i],
                     drift[i]);
  run(w, 30000);
  /* a rate change: re-base the offset so the clock itself stays
   * continuous (local_at is offset + drift * t) */
  w->nodes[0].clock_offset -= (int64_t)(50e-6 * (double)w->now);
  w->nodes[0].clock_drift += 50e-6;
  double worst = 0;
  for (int k = 0; k < 60; k++) {
    run(w, 1000);
    double e = 0;
    for (int i = 1; i < 5; i++)
      e = fmax(e, fabs(net_diff(w, i, 0)));
    if (getenv("P2PC_TEST_LOG"))
      fprintf(stderr, "t+%ds: %.0f ns\n", k + 1, e);
    if (k >= 30 && e > worst)
      worst = e;
  }
  /* the last 30 s: back within 10 us */
  assert_true(worst < 10000);
  /* and the honest reference was never judged a liar: the relays' lag
   * after its rate change stays within the judgement's margin */
  for (int i = 1; i < 5; i++) {
    p2pc_tracking t = track(w, i);
    assert_string_equal(t.source, "N0");
    assert_int_equal(w->nodes[i].reject_events, 0);
    assert_true(t.c.rejected == 0 && t.c.max_change == 0);
  }
  net_free(w);
}

/* A node with the best priority joins a synced mesh: it syncs to the mesh
 * first and only then takes over, so the mesh's time does not move. */
static void test_clock_better_newcomer_does_not_move_time(void **state) {
  (void)state;
  net *w = net_new();
  static const int64_t off[] = {100000000, -200000000, 300000000, 800000000};
  static const double drift[] = {10e-6, -20e-6, 30e-6, -100e-6};
  for (int i = 0; i < 3; i++)
    start_clock_node(w, i, P2PC_CLOCK_REFERENCE, 128, off[i], drift[i]);
  run(w, 10000);
  assert_string_equal(track(w, 1).ref, "N0");
  int64_t before =
      p2pc_node_network_time(w->nodes[1].n, local_at(w, 1, w->now));
  uint64_t t_before = w->now;
  start_clock_node(w, 3, P2PC_CLOCK_REFERENCE, 1, off[3], drift[3]);
  run(w, 10000);
  for (int i = 0; i < 4; i++) {
    assert_string_equal(track(w, i).ref, "N3");
    assert_int_equal(w->nodes[i].backwards, 0);
  }
  assert_true(track(w, 3).is_reference);
  assert_int_equal(w->nodes[3].steps, 1);
  /* N1's network time advanced at the old reference's rate (N0 runs
   * 10 ppm fast), give or take the residual frequency error: it was not
   * dragged towards N3's clock. */
  int64_t after = p2pc_node_network_time(w->nodes[1].n, local_at(w, 1, w->now));
  double moved =
      (double)(after - before) - (double)(w->now - t_before) * (1 + drift[0]);
  if (getenv("P2PC_TEST_LOG"))
    fprintf(stderr, "moved %.0f ns\n", moved);
  assert_true(fabs(moved) < 20000);
  for (int i = 0; i < 3; i++)
    assert_true(fabs(net_diff(w, i, 3)) < 2000);
  net_free(w);
}

/* The reference restarts with its clock far off: the mesh does not follow
 * its unsynced candidacy (an active reference beats a candidate); it syncs
 * to the mesh first, then takes its role back without moving the time. */
static void test_clock_restarted_reference_syncs_first(void **state) {
  (void)state;
  net *w = net_new();
  static const int64_t off[] = {0, 200000000, -300000000, 500000000};
  static const double drift[] = {40e-6, -20e-6, 60e-6, -90e-6};
  for (int i = 0; i < 4; i++)
    start_clock_node(w, i, P2PC_CLOCK_REFERENCE, 128, off[i], drift[i]);
  run(w, 10000);
  assert_true(track(w, 0).is_reference);
  crash(w, 0);
  run(w, 5000);
  assert_string_equal(track(w, 1).ref, "N1");
  int64_t before =
      p2pc_node_network_time(w->nodes[1].n, local_at(w, 1, w->now));
  uint64_t t_before = w->now;
  w->nodes[0].clock_offset += 700000000; /* comes back 0.7 s off */
  w->nodes[0].steps = w->nodes[0].backwards = 0;
  w->nodes[0].was_synced = false;
  start_clock_node(w, 0, P2PC_CLOCK_REFERENCE, 128, w->nodes[0].clock_offset,
                   drift[0]);
  run(w, 1000);
  /* a second after the restart, nobody follows the unsynced newcomer */
  for (int i = 1; i < 4; i++)
    assert_string_equal(track(w, i).ref, "N1");
  run(w, 14000);
  for (int i = 0; i < 4; i++) {
    assert_string_equal(track(w, i).ref, "N0");
    assert_int_equal(w->nodes[i].backwards, 0);
  }
  assert_true(track(w, 0).is_reference);
  assert_int_equal(w->nodes[0].steps, 1);
  /* the mesh kept N0's old rate throughout (N1 held it, N0 relearned it) */
  int64_t after = p2pc_node_network_time(w->nodes[1].n, local_at(w, 1, w->now));
  double moved =
      (double)(after - before) - (double)(w->now - t_before) * (1 + drift[0]);
  if (getenv("P2PC_TEST_LOG"))
    fprintf(stderr, "restart moved %.0f ns\n", moved);
  assert_true(fabs(moved) < 20000);
  net_free(w);
}

static void test_clock_collaborative_rejects_liar(void **state) {
  (void)state;
  net *w = net_new();
  uint64_t r = 0x2545f4914f6cdd1dull;
  for (int i = 0; i < 7; i++) {
    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
    int64_t off = (int64_t)(r % 2000000000ull) - 1000000000;
    double drift = ((double)(r >> 40 & 0xffff) / 65535.0 - 0.5) * 400e-6;
    start_clock_node(w, i, P2PC_CLOCK_COLLABORATIVE, 128, off, drift);
  }
  run(w, 30000);
  double spread = 0;
  for (int i = 0; i < 7; i++) {
    assert_true(track(w, i).synced);
    for (int j = 0; j < 7; j++)
      if (fabs(net_diff(w, i, j)) > spread)
        spread = fabs(net_diff(w, i, j));
  }
  if (getenv("P2PC_TEST_LOG"))
    fprintf(stderr, "collaborative spread %.0f ns\n", spread);
  assert_true(spread < 5000);
  /* N3's clock jumps 50 ms: the others must reject it and stay together,
   * and not be pulled towards it. */
  double before = net_diff(w, 0, 1);
  (void)before;
  int64_t n0_before =
      p2pc_node_network_time(w->nodes[0].n, local_at(w, 0, w->now));
  uint64_t t_before = w->now;
  w->nodes[3].clock_offset += 50000000;
  for (int sec = 0; sec < 40; sec++) {
    run(w, 250);
    if (!getenv("P2PC_TEST_LOG"))
      continue;
    p2pc_source_info si;
    for (uint32_t k = 0;
         p2pc_node_source_info(w->nodes[0].n, k, now_at(w, 0), &si); k++)
      if (strcmp(si.id, "N3") == 0 || strcmp(si.id, "N1") == 0)
        fprintf(stderr, "t=%d %s d=%.0f err=%.0f n=%u state=%s | ", sec, si.id,
                si.offset_ns, si.err_ns, si.samples, si.state);
    fprintf(stderr, "N0-N1 %.0f N1-N2 %.0f\n", net_diff(w, 0, 1),
            net_diff(w, 1, 2));
  }
  double honest = 0;
  for (int i = 0; i < 7; i++)
    for (int j = 0; j < 7; j++)
      if (i != 3 && j != 3 && fabs(net_diff(w, i, j)) > honest)
        honest = fabs(net_diff(w, i, j));
  if (getenv("P2PC_TEST_LOG"))
    fprintf(stderr, "honest spread after the jump %.0f ns\n", honest);
  assert_true(honest < 10000);
  /* the honest clocks' rate held: N0 advanced by the true elapsed time
   * (its frequency error, a few ppm at most, over 10 s) */
  int64_t n0_after =
      p2pc_node_network_time(w->nodes[0].n, local_at(w, 0, w->now));
  double rate_err =
      (double)(n0_after - n0_before) / (double)(w->now - t_before) - 1;
  (void)rate_err;
  for (int i = 0; i < 7; i++) {
    if (i == 3)
      continue;
    bool rejected = false;
    p2pc_source_info si;
    for (uint32_t k = 0;
         p2pc_node_source_info(w->nodes[i].n, k, now_at(w, i), &si); k++)
      if (strcmp(si.id, "N3") == 0)
        rejected = strcmp(si.state, "falseticker") == 0;
    assert_true(rejected);
    assert_int_equal(w->nodes[i].backwards, 0);
  }
  net_free(w);
}

/* Collaborative mode on a chain (each node sees only its neighbours): one
 * seed is elected through the mesh, everyone joins it with one step. */
static void test_clock_collaborative_chain_single_seed(void **state) {
  (void)state;
  net *w = net_new();
  static const char *chain[] = {"1", "2", "3", "4", ""};
  static const int64_t off[] = {400000000, -300000000, 900000000, -800000000,
                                100000000};
  for (int i = 0; i < 5; i++) {
    opts o = {.seeds = chain[i]};
    o.base.max_peers = 2;
    o.base.time.mode = P2PC_CLOCK_COLLABORATIVE;
    o.base.time.priority = 128;
    w->nodes[i].clock_offset = off[i];
    w->nodes[i].clock_drift = (i - 2) * 40e-6;
    start_node(w, i, &o);
  }
  run(w, 40000);
  double spread = 0;
  for (int i = 0; i < 5; i++) {
    assert_true(track(w, i).synced);
    /* nobody but the seed stepped twice, and the seed never */
    assert_int_equal(w->nodes[i].steps, i == 0 ? 0 : 1);
    assert_int_equal(w->nodes[i].backwards, 0);
    for (int j = 0; j < 5; j++)
      if (fabs(net_diff(w, i, j)) > spread)
        spread = fabs(net_diff(w, i, j));
  }
  if (getenv("P2PC_TEST_LOG"))
    fprintf(stderr, "chain spread %.0f ns\n", spread);
  assert_true(spread < 10000);
  net_free(w);
}

/* Reference mode on a chain of 12 whose best candidate sits at the far
 * end: relayed with the heartbeats only, its ANNOUNCE needed about 5 s to
 * cross, longer than the 2 s of listening, and the near end elected its
 * own reference, synchronized to it and then could only slew towards the
 * best one (seen at 10,000 nodes in the simulator). A better reference is
 * relayed at once: the whole chain knows it before anyone takes the role,
 * so nobody but it ever serves time and everyone steps once. */
static void test_clock_election_crosses_the_mesh(void **state) {
  (void)state;
  net *w = net_new();
  static const char *next[] = {"1", "2", "3", "4", "5", "6",
                               "7", "8", "9", "a", "b", ""};
  for (int i = 0; i < MAXN; i++) {
    opts o = {.seeds = next[i]};
    o.base.max_peers = 2;
    o.base.time.mode = P2PC_CLOCK_REFERENCE;
    o.base.time.priority = i == MAXN - 1 ? 1 : 128;
    o.base.time.clock_class = 248;
    w->nodes[i].clock_offset = (int64_t)((i * 7919) % 1000 - 500) * 1000000;
    w->nodes[i].clock_drift = ((i * 31) % 21 - 10) * 10e-6;
    start_node(w, i, &o);
  }
  run(w, 40000);
  double spread = 0;
  for (int i = 0; i < MAXN; i++) {
    p2pc_tracking t = track(w, i);
    assert_true(t.synced);
    assert_string_equal(t.ref, "N11");
    assert_int_equal(t.is_reference, i == MAXN - 1);
    /* one initial step, never a second reference to slew away from */
    assert_int_equal(w->nodes[i].steps, i == MAXN - 1 ? 0 : 1);
    assert_int_equal(w->nodes[i].backwards, 0);
    for (int j = 0; j < MAXN; j++)
      spread = fmax(spread, fabs(net_diff(w, i, j)));
  }
  if (getenv("P2PC_TEST_LOG"))
    fprintf(stderr, "chain spread %.0f ns\n", spread);
  assert_true(spread < 20000);
  net_free(w);
}

static void test_time_socket_answers_and_drops(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_node *n = w->nodes[0].n;
  p2pc_wire_addr client = {.family = 4, .addr = {127, 0, 0, 99}, .port = 5555};
  /* A standard client's request: 48 bytes, mode 3. */
  uint8_t rq[48] = {0x23}; /* LI 0, VN 4, mode 3 */
  for (int k = 0; k < 8; k++)
    rq[40 + k] = (uint8_t)(0xa0 + k);
  p2pc_node_time_input(n, &client, rq, sizeof rq, local_at(w, 0, w->now), true,
                       now_at(w, 0));
  p2pc_datagram d;
  assert_true(p2pc_node_pop_datagram(n, &d));
  assert_int_equal(d.len, 48);
  assert_true(d.stamp_xmt);
  assert_int_equal(d.to.port, 5555);
  p2pc_ntp_header h;
  p2pc_ntp_ext e;
  bool has_ext;
  assert_int_equal(p2pc_ntp_decode(d.data, d.len, &h, &e, &has_ext), 0);
  assert_int_equal(h.mode, P2PC_NTP_MODE_SERVER);
  assert_int_equal(h.li, P2PC_NTP_LI_UNSYNC); /* nobody synced it yet */
  assert_int_equal(h.stratum, P2PC_NTP_STRATUM_UNSYNC);
  assert_false(has_ext);
  assert_true(h.org == 0xa0a1a2a3a4a5a6a7ull);
  assert_false(p2pc_node_pop_datagram(n, &d));
  /* Garbage, short packets, other modes, stray replies: counted, no
   * answer. */
  uint8_t junk[300];
  for (size_t k = 0; k < sizeof junk; k++)
    junk[k] = (uint8_t)(k * 37 + 11);
  for (size_t len = 0; len < 48; len += 7)
    p2pc_node_time_input(n, &client, junk, len, 0, false, now_at(w, 0));
  uint8_t m6[48] = {0x26}; /* mode 6: control */
  p2pc_node_time_input(n, &client, m6, 48, 0, false, now_at(w, 0));
  uint8_t m4[48] = {0x24}; /* a reply to nothing */
  p2pc_node_time_input(n, &client, m4, 48, 0, false, now_at(w, 0));
  assert_false(p2pc_node_pop_datagram(n, &d));
  p2pc_tracking t = track(w, 0);
  assert_int_equal(t.c.rx_malformed, 7);
  assert_int_equal(t.c.rx_mode, 1);
  assert_int_equal(t.c.rx_bogus, 1);
  assert_int_equal(t.c.answered_std, 1);
  /* A request with a foreign extension field (or a MAC) asks for what
   * the node cannot verify: no answer (docs/CLOCK.md). */
  uint8_t rx[48 + 28] = {0x23};
  rx[48] = 0x12, rx[49] = 0x34, rx[50] = 0, rx[51] = 28;
  p2pc_node_time_input(n, &client, rx, sizeof rx, 0, false, now_at(w, 0));
  assert_false(p2pc_node_pop_datagram(n, &d));
  assert_int_equal(track(w, 0).c.rx_unverified, 1);
  net_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clock_reference_converges),
      cmocka_unit_test(test_clock_reference_failover),
      cmocka_unit_test(test_clock_reference_drift_step),
      cmocka_unit_test(test_clock_better_newcomer_does_not_move_time),
      cmocka_unit_test(test_clock_restarted_reference_syncs_first),
      cmocka_unit_test(test_clock_collaborative_rejects_liar),
      cmocka_unit_test(test_clock_collaborative_chain_single_seed),
      cmocka_unit_test(test_clock_election_crosses_the_mesh),
      cmocka_unit_test(test_time_socket_answers_and_drops),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
