/* SPDX-License-Identifier: MIT */
/* The reference election (src/core/clock/election.c), driven through
 * timesync.h as the node drives it: which reference wins, when one is
 * forgotten, who may stand, the listening period and the out-of-turn
 * relay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "timesync.h"
#include "timesync_int.h" /* p2pc__election_distrust: steer.c's verdict */

#define SEC 1000000000LL
#define MS 1000000LL
#define T0 (1000 * SEC)          /* mono at creation */
#define L0 1700000000000000000LL /* local clock at creation */
#define INCARNATION 77

/* Defaults: announce every 0.5 s, a reference silent 2 s is gone. */
#define ANNOUNCE (SEC / 2)
#define TIMEOUT (2 * SEC)

static p2pc_now at(int64_t since) {
  return (p2pc_now){.mono_ns = (uint64_t)(T0 + since), .local_ns = L0 + since};
}

static p2pc_timesync *make(const char *id, uint8_t priority) {
  p2pc_timesync_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.time_port = 7000;
  cfg.priority = priority;
  cfg.clock_class = 248;
  p2pc_timesync *ts = NULL;
  assert_int_equal(p2pc_timesync_new(&ts, p2pc_allocator_default(), id,
                                     INCARNATION, &cfg, 1, NULL, at(0)),
                   0);
  return ts;
}

static void up(p2pc_timesync *ts, const char *id, uint8_t last, int64_t t) {
  p2pc_wire_addr a = {.family = 4, .addr = {10, 0, 0, last}, .port = 7000};
  p2pc_timesync_peer_up(ts, id, &a, at(t));
}

/* Neighbour `from` announces reference `ref`. */
static void hear(p2pc_timesync *ts, const char *from, const char *ref,
                 uint8_t priority, uint8_t cls, uint64_t seq, uint8_t hops,
                 uint8_t flags, int64_t t) {
  p2pc_wire_announce an;
  memset(&an, 0, sizeof an);
  an.time_port = 7000;
  an.flags = flags;
  strcpy(an.ref, ref);
  an.ref_priority = priority;
  an.ref_class = cls;
  an.ref_seq = seq;
  an.hops = hops;
  p2pc_timesync_announce_in(ts, from, &an, at(t));
}

static p2pc_wire_announce out(p2pc_timesync *ts, bool tick, int64_t t) {
  p2pc_wire_announce an;
  p2pc_timesync_announce_out(ts, tick, at(t), &an);
  return an;
}

static void test_alone_elects_itself(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n5", 128);
  p2pc_wire_announce an = out(ts, true, 0);
  assert_string_equal(an.ref, "n5");
  assert_int_equal(an.hops, 0);
  assert_int_equal(an.ref_priority, 128);
  assert_int_equal(an.ref_class, 248);
  /* the sequence starts from the incarnation and a tick advances it */
  assert_int_equal(an.ref_seq, INCARNATION + 1);
  assert_int_equal(out(ts, true, 0).ref_seq, INCARNATION + 2);
  assert_int_equal(out(ts, false, 0).ref_seq, INCARNATION + 2);
  /* a candidate, not yet serving time */
  assert_int_equal(an.flags & P2PC_ANNOUNCE_REF_ACTIVE, 0);
  p2pc_timesync_free(ts);
}

static void test_priority_then_class_then_id(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n5", 128);
  up(ts, "n1", 1, 0);
  up(ts, "n2", 2, 0);
  up(ts, "n3", 3, 0);
  hear(ts, "n1", "n9", 100, 248, 1, 0, 0, 0);
  p2pc_wire_announce an = out(ts, true, 0);
  assert_string_equal(an.ref, "n9"); /* 100 beats our 128 */
  assert_int_equal(an.hops, 1);
  assert_int_equal(an.ref_seq, 1);
  hear(ts, "n2", "n8", 100, 6, 1, 2, 0, 0);
  assert_string_equal(out(ts, true, 0).ref, "n8"); /* same priority, class */
  hear(ts, "n3", "n7", 100, 6, 1, 4, 0, 0);
  an = out(ts, true, 0);
  assert_string_equal(an.ref, "n7"); /* a tie: the lower ID */
  assert_int_equal(an.hops, 5);      /* through n3 */
  assert_int_equal(an.ref_priority, 100);
  assert_int_equal(an.ref_class, 6);
  p2pc_timesync_free(ts);
}

/* A source set aside as a liar (steer.c judges) is passed over by the
 * election for 10 minutes, then taken back; the table holds 8, the one
 * closest to expiry giving way. */
static void test_distrusted_reference_passed_over(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n5", 128);
  up(ts, "n1", 1, 0);
  up(ts, "n2", 2, 0);
  hear(ts, "n1", "n0", 1, 248, 1, 1, P2PC_ANNOUNCE_REF_ACTIVE, 0);
  hear(ts, "n2", "n2", 100, 248, 1, 0, P2PC_ANNOUNCE_REF_ACTIVE, 0);
  assert_string_equal(out(ts, true, 0).ref, "n0");
  p2pc__election_distrust(ts, "n0", at(0).mono_ns);
  assert_string_equal(out(ts, true, 0).ref, "n2"); /* the next candidate */
  /* still announced, still alive, still set aside 9 minutes on */
  int64_t t = 0;
  for (uint64_t seq = 2; t < 540 * SEC; seq++) {
    t += ANNOUNCE;
    hear(ts, "n1", "n0", 1, 248, seq, 1, P2PC_ANNOUNCE_REF_ACTIVE, t);
    hear(ts, "n2", "n2", 100, 248, seq, 0, P2PC_ANNOUNCE_REF_ACTIVE, t);
  }
  assert_string_equal(out(ts, true, t).ref, "n2");
  assert_true(p2pc__election_distrusted(ts, "n0", at(t).mono_ns));
  assert_false(p2pc__election_distrusted(ts, "n0", at(600 * SEC).mono_ns));
  /* bounded: 8 more, each later, push the oldest (n0) out */
  char id[8];
  for (int k = 0; k < DISTRUSTED; k++) {
    id[0] = 'x', id[1] = (char)('0' + k), id[2] = '\0';
    p2pc__election_distrust(ts, id, at(t + k).mono_ns);
  }
  assert_false(p2pc__election_distrusted(ts, "n0", at(t + 9).mono_ns));
  for (int k = 0; k < DISTRUSTED; k++) {
    id[0] = 'x', id[1] = (char)('0' + k), id[2] = '\0';
    assert_true(p2pc__election_distrusted(ts, id, at(t + 9).mono_ns));
  }
  p2pc_timesync_free(ts);
}

/* A reference serving time beats a better dataset that merely stands. */
static void test_active_beats_candidate(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n5", 128);
  up(ts, "n1", 1, 0);
  up(ts, "n2", 2, 0);
  hear(ts, "n1", "n1", 200, 248, 1, 0, P2PC_ANNOUNCE_REF_ACTIVE, 0);
  hear(ts, "n2", "n0", 1, 0, 1, 0, 0, 0);
  p2pc_wire_announce an = out(ts, true, 0);
  assert_string_equal(an.ref, "n1");
  assert_int_equal(an.flags & P2PC_ANNOUNCE_REF_ACTIVE,
                   P2PC_ANNOUNCE_REF_ACTIVE);
  p2pc_timesync_free(ts);
}

static void test_priority_255_never_stands(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n5", 255);
  assert_string_equal(out(ts, true, 0).ref, "");
  up(ts, "n1", 1, 0);
  hear(ts, "n1", "n1", 255, 0, 1, 0, 0, 0);
  assert_string_equal(out(ts, true, 0).ref, "");
  hear(ts, "n1", "n1", 254, 0, 2, 0, 0, 0);
  assert_string_equal(out(ts, true, 0).ref, "n1");
  p2pc_timesync_free(ts);
}

/* A newcomer to a synced mesh syncs before it stands, however good its
 * dataset: it would pull the mesh towards its own clock. */
static void test_newcomer_defers_to_synced_mesh(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n0", 1);
  up(ts, "n1", 1, 0);
  hear(ts, "n1", "n1", 200, 248, 1, 0, 0, 0);
  assert_string_equal(out(ts, true, 0).ref, "n0"); /* nobody synced */
  hear(ts, "n1", "n1", 200, 248, 2, 0, P2PC_ANNOUNCE_SYNCED, 0);
  assert_string_equal(out(ts, true, 0).ref, "n1");
  p2pc_timesync_free(ts);
}

/* Only a reference an up neighbour still announces is elected. */
static void test_forgotten_with_its_neighbour(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n5", 128);
  up(ts, "n1", 1, 0);
  hear(ts, "n1", "n9", 100, 248, 1, 0, 0, 0);
  assert_string_equal(out(ts, true, 0).ref, "n9");
  p2pc_timesync_peer_down(ts, "n1", at(MS));
  assert_string_equal(out(ts, true, MS).ref, "n5");
  p2pc_timesync_free(ts);
}

/* A reference is alive while its sequence number rises; repeating the
 * same number does not keep it; the timeout grows with its hops. */
static void test_silent_reference_times_out(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n5", 128);
  up(ts, "n1", 1, 0);
  hear(ts, "n1", "n9", 100, 248, 10, 1, 0, 0);
  hear(ts, "n1", "n9", 100, 248, 10, 1, 0, TIMEOUT);
  int64_t grace = TIMEOUT + 1 * ANNOUNCE; /* hops 1 */
  assert_string_equal(out(ts, false, grace - 1).ref, "n9");
  assert_string_equal(out(ts, false, grace).ref, "n5");
  /* it rises again: alive again */
  hear(ts, "n1", "n9", 100, 248, 11, 1, 0, grace);
  assert_string_equal(out(ts, false, grace).ref, "n9");
  /* further away, more grace */
  hear(ts, "n1", "n9", 100, 248, 12, 4, 0, 10 * SEC);
  int64_t far = TIMEOUT + 4 * ANNOUNCE;
  assert_string_equal(out(ts, false, 10 * SEC + far - 1).ref, "n9");
  assert_string_equal(out(ts, false, 10 * SEC + far).ref, "n5");
  p2pc_timesync_free(ts);
}

/* A lone candidate takes the role (announces itself active) only after
 * listening for one announce timeout. */
static void test_takes_the_role_after_listening(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n5", 128);
  p2pc_tracking tr;
  for (int64_t t = ANNOUNCE; t < TIMEOUT; t += ANNOUNCE) {
    p2pc_timesync_on_deadline(ts, at(t));
    p2pc_timesync_tracking(ts, at(t), &tr);
    assert_false(tr.is_reference);
    assert_int_equal(out(ts, true, t).flags & P2PC_ANNOUNCE_REF_ACTIVE, 0);
  }
  p2pc_timesync_on_deadline(ts, at(TIMEOUT));
  p2pc_timesync_tracking(ts, at(TIMEOUT), &tr);
  assert_true(tr.is_reference);
  assert_true(tr.synced);
  assert_string_equal(tr.ref, "n5");
  assert_int_equal(out(ts, true, TIMEOUT).flags & P2PC_ANNOUNCE_REF_ACTIVE,
                   P2PC_ANNOUNCE_REF_ACTIVE);
  p2pc_timesync_free(ts);
}

/* A better reference than our last announcement named is relayed out of
 * turn, once, within the rate limit; a worse one waits for the tick. */
static void test_relay_better_only(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n5", 128);
  up(ts, "n1", 1, 0);
  up(ts, "n2", 2, 0);
  assert_string_equal(out(ts, true, 0).ref, "n5");
  p2pc_wire_announce an;
  assert_false(p2pc_timesync_announce_relay(ts, at(0), &an)); /* nothing */
  hear(ts, "n1", "n9", 100, 248, 1, 0, 0, MS);
  /* the first relay waits one rate-limit period after the start */
  int64_t limit = ANNOUNCE / 8;
  assert_false(p2pc_timesync_announce_relay(ts, at(MS), &an));
  assert_true(p2pc_timesync_next_deadline(ts) <= (uint64_t)(T0 + limit));
  assert_true(p2pc_timesync_announce_relay(ts, at(limit), &an));
  assert_string_equal(an.ref, "n9");
  assert_int_equal(an.hops, 1);
  assert_false(p2pc_timesync_announce_relay(ts, at(limit), &an));
  /* the same again, or a worse one: nothing out of turn */
  hear(ts, "n1", "n9", 100, 248, 2, 0, 0, 2 * limit);
  hear(ts, "n2", "n8", 120, 248, 1, 0, 0, 2 * limit);
  assert_false(p2pc_timesync_announce_relay(ts, at(2 * limit), &an));
  /* a better one: relayed at once, the limit allowing */
  hear(ts, "n2", "n7", 50, 248, 1, 0, 0, 2 * limit + MS);
  assert_true(p2pc_timesync_announce_relay(ts, at(2 * limit + MS), &an));
  assert_string_equal(an.ref, "n7");
  /* a better one still, within the limit of that relay: held back, and
   * due at the next deadline */
  hear(ts, "n2", "n6", 40, 248, 1, 0, 0, 2 * limit + 2 * MS);
  assert_false(p2pc_timesync_announce_relay(ts, at(2 * limit + 2 * MS), &an));
  assert_true(p2pc_timesync_next_deadline(ts) <=
              (uint64_t)(T0 + 3 * limit + MS));
  assert_false(p2pc_timesync_announce_relay(ts, at(3 * limit), &an));
  assert_true(p2pc_timesync_announce_relay(ts, at(3 * limit + MS), &an));
  assert_string_equal(an.ref, "n6");

  p2pc_timesync_free(ts);
}

/* One sequence number too large (an ANNOUNCE made up, or a reference
 * whose clock went back between starts) stops the real reference's
 * numbers from rising — but only until it is forgotten, 2 x (timeout +
 * 64 announce intervals) after its last rise; a stale number heard
 * again and again does not revive a silent reference. */
static void test_poisoned_sequence_is_forgotten(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n5", 128);
  up(ts, "n1", 1, 0);
  const int64_t forget = 2 * (TIMEOUT + 64 * ANNOUNCE);
  hear(ts, "n1", "n9", 100, 248, 10, 1, 0, 0);
  hear(ts, "n1", "n9", 100, 248, 1ull << 62, 1, 0, MS);
  int64_t t = 0;
  uint64_t seq = 11;
  bool back = false, gone = false;
  for (t = ANNOUNCE; t < forget + 4 * SEC; t += ANNOUNCE) {
    hear(ts, "n1", "n9", 100, 248, seq++, 1, 0, t);
    bool n9 = strcmp(out(ts, false, t).ref, "n9") == 0;
    if (!n9 && t < forget)
      gone = true;
    if (n9 && gone && !back) {
      back = true;
      /* not before the poison is forgotten, and soon after */
      assert_true(t >= forget);
      assert_true(t <= forget + 2 * ANNOUNCE);
    }
  }
  assert_true(gone); /* the poison did take it for a while */
  assert_true(back);
  /* it goes silent: its last number keeps coming round, stale */
  int64_t last = t;
  for (; t < last + 3 * forget; t += ANNOUNCE)
    hear(ts, "n1", "n9", 100, 248, seq - 1, 1, 0, t);
  assert_string_equal(out(ts, false, t).ref, "n5");
  p2pc_timesync_free(ts);
}

/* A reference's signed claim is relayed as it came with the number. */
static void test_claim_relayed_with_its_number(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n5", 128);
  up(ts, "n1", 1, 0);
  p2pc_wire_announce an;
  memset(&an, 0, sizeof an);
  an.time_port = 7000;
  strcpy(an.ref, "n9");
  an.ref_priority = 100;
  an.ref_class = 248;
  an.ref_seq = 10;
  an.hops = 1;
  an.claim_len = P2PC_CLAIM_LEN;
  memset(an.claim, 0xab, sizeof an.claim);
  p2pc_timesync_announce_in(ts, "n1", &an, at(0));
  p2pc_wire_announce o = out(ts, false, 0);
  assert_string_equal(o.ref, "n9");
  assert_int_equal(o.ref_seq, 10);
  assert_int_equal(o.claim_len, P2PC_CLAIM_LEN);
  assert_memory_equal(o.claim, an.claim, sizeof an.claim);
  /* a lower number (another path, late) changes nothing */
  an.ref_seq = 9;
  memset(an.claim, 0xcd, sizeof an.claim);
  p2pc_timesync_announce_in(ts, "n1", &an, at(MS));
  o = out(ts, false, MS);
  assert_int_equal(o.ref_seq, 10);
  assert_int_equal(o.claim[0], 0xab);
  p2pc_timesync_free(ts);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alone_elects_itself),
      cmocka_unit_test(test_priority_then_class_then_id),
      cmocka_unit_test(test_active_beats_candidate),
      cmocka_unit_test(test_priority_255_never_stands),
      cmocka_unit_test(test_newcomer_defers_to_synced_mesh),
      cmocka_unit_test(test_forgotten_with_its_neighbour),
      cmocka_unit_test(test_silent_reference_times_out),
      cmocka_unit_test(test_takes_the_role_after_listening),
      cmocka_unit_test(test_relay_better_only),
      cmocka_unit_test(test_poisoned_sequence_is_forgotten),
      cmocka_unit_test(test_claim_relayed_with_its_number),
      cmocka_unit_test(test_distrusted_reference_passed_over),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
