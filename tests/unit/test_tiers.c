/* SPDX-License-Identifier: MIT */
/* The clock's tiers (src/core/clock/tiers.c), driven through timesync.h as
 * the node drives it: a node polls the lowest tier its neighbours' tier
 * hints name, beyond its neighbours; and a server takes serve_max clients,
 * telling the others they are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "timesync.h"

#define SEC 1000000000LL
#define T0 (1000 * SEC)          /* mono at creation */
#define L0 1700000000000000000LL /* local clock at creation */
#define ANNOUNCE (SEC / 2)

static p2pc_now at(int64_t since) {
  return (p2pc_now){.mono_ns = (uint64_t)(T0 + since), .local_ns = L0 + since};
}

static p2pc_timesync *make(const char *id, uint32_t serve_max) {
  p2pc_timesync_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.time_port = 7000;
  cfg.priority = 128;
  cfg.clock_class = 248;
  cfg.serve_max = serve_max;
  p2pc_timesync *ts = NULL;
  assert_int_equal(p2pc_timesync_new(&ts, p2pc_allocator_default(), id, 5, &cfg,
                                     1, NULL, at(0)),
                   0);
  return ts;
}

static p2pc_wire_addr ip(uint8_t last, uint16_t port) {
  return (p2pc_wire_addr){.family = 4, .addr = {10, 0, 0, last}, .port = port};
}

static void hint(p2pc_wire_announce *an, const char *id, uint8_t last,
                 uint16_t time_port, uint8_t tier, uint8_t flags) {
  p2pc_wire_tier_hint *h = &an->hints[an->nhints++];
  memset(h, 0, sizeof *h);
  strcpy(h->rec.id, id);
  h->rec.addr = ip(last, 7000);
  h->rec.time_port = time_port;
  h->tier = tier;
  h->flags = flags;
}

/* Neighbour `from` (tier `tier`) announces the active reference "r". */
static p2pc_wire_announce ann(uint64_t seq, uint8_t tier) {
  p2pc_wire_announce an;
  memset(&an, 0, sizeof an);
  an.time_port = 7000;
  an.flags = P2PC_ANNOUNCE_SYNCED | P2PC_ANNOUNCE_REF_ACTIVE;
  strcpy(an.ref, "r");
  an.ref_priority = 1;
  an.ref_class = 6;
  an.ref_seq = seq;
  an.hops = tier;
  an.tier = tier;
  return an;
}

/* Whether a request went to 10.0.0.last:port among the queued datagrams
 * (all taken). */
static bool sent_to(p2pc_timesync *ts, uint8_t last, uint16_t port) {
  bool seen = false;
  p2pc_datagram d;
  for (int i = 0; i < 256 && p2pc_timesync_pop(ts, &d); i++)
    if (d.to.family == 4 && d.to.addr[3] == last && d.to.port == port)
      seen = true;
  return seen;
}

/* Runs the node's timers from t0 to t1 (s), collecting whether a request
 * went to 10.0.0.last:port. */
static bool run_polls(p2pc_timesync *ts, int64_t t0, int64_t t1, uint8_t last,
                      uint16_t port) {
  bool seen = false;
  for (int64_t t = t0; t <= t1; t += SEC / 16) {
    p2pc_timesync_on_deadline(ts, at(t));
    seen |= sent_to(ts, last, port);
  }
  return seen;
}

static void test_polls_the_hinted_low_tier(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n5", 0);
  p2pc_wire_addr a1 = ip(1, 7000), a2 = ip(2, 7000);
  p2pc_timesync_peer_up(ts, "n1", &a1, at(0));
  p2pc_timesync_peer_up(ts, "n2", &a2, at(0));
  assert_int_equal(p2pc_timesync_source_count(ts), 2);
  /* n1 is tier 1 and polls the reference "r" (tier 0, time port 7100);
   * n2 is tier 2 and names a tier-1 node "x" */
  for (int k = 0; k < 8; k++) {
    int64_t t = k * ANNOUNCE;
    p2pc_wire_announce an = ann((uint64_t)k + 1, 1);
    hint(&an, "r", 99, 7100, 0, 0);
    p2pc_timesync_announce_in(ts, "n1", &an, at(t));
    an = ann((uint64_t)k + 1, 2);
    hint(&an, "x", 50, 7200, 1, 0);
    p2pc_timesync_announce_in(ts, "n2", &an, at(t));
  }
  /* polled beyond the neighbours: the reference, at its time port; not x,
   * whose tier is worse */
  bool polled = run_polls(ts, 0, 4 * SEC, 99, 7100);
  assert_true(polled);
  assert_int_equal(p2pc_timesync_source_count(ts), 3);
  p2pc_source_info si;
  assert_true(p2pc_timesync_source_info(ts, 2, at(4 * SEC), &si));
  assert_string_equal(si.id, "r");
  assert_int_equal(si.addr.port, 7100);
  assert_false(run_polls(ts, 4 * SEC, 6 * SEC, 50, 7200));
  /* the reference is forgotten (n1 names it no more, nobody answers):
   * after 10 s without news it is polled no more */
  for (int k = 0; k < 40; k++) {
    int64_t t = 6 * SEC + k * ANNOUNCE;
    p2pc_wire_announce an = ann((uint64_t)k + 20, 1);
    p2pc_timesync_announce_in(ts, "n1", &an, at(t));
    p2pc_timesync_on_deadline(ts, at(t));
    sent_to(ts, 0, 0);
  }
  assert_false(run_polls(ts, 26 * SEC, 28 * SEC, 99, 7100));
  p2pc_timesync_free(ts);
}

/* Hints that come once, then announcements flagged SAME_HINTS: the hinted
 * source stays a candidate as long as the hints come again within its
 * life (10 s), and a SAME_HINTS announcement neither forgets nor
 * refreshes it. */
static void same_hints_run(bool refresh, bool *polled_late) {
  p2pc_timesync *ts = make("n5", 0);
  p2pc_wire_addr a1 = ip(1, 7000);
  p2pc_timesync_peer_up(ts, "n1", &a1, at(0));
  *polled_late = false;
  for (int k = 0; k < 48; k++) { /* 24 s */
    int64_t t = k * ANNOUNCE;
    p2pc_wire_announce an = ann((uint64_t)k + 1, 1);
    if (k == 0 || (refresh && k % P2PC_ANNOUNCE_HINTS_EVERY == 0))
      hint(&an, "r", 99, 7100, 0, 0);
    else
      an.flags |= P2PC_ANNOUNCE_SAME_HINTS;
    p2pc_timesync_announce_in(ts, "n1", &an, at(t));
    /* r never answers: only the hints keep it; polled at 20-24 s? */
    bool late = run_polls(ts, t, t + ANNOUNCE - SEC / 16, 99, 7100);
    if (k >= 40)
      *polled_late |= late;
  }
  p2pc_timesync_free(ts);
}

static void test_same_hints_keep_and_age(void **state) {
  (void)state;
  bool polled;
  same_hints_run(true, &polled);
  assert_true(polled); /* refreshed every 8 announcements (4 s) */
  same_hints_run(false, &polled);
  assert_false(polled); /* hints once, 16 s ago: forgotten */
}

/* A client request with our extension, from `id`, and whether the reply
 * says it is refused (and the server full). */
static void ask_at(p2pc_timesync *ts, const char *id, p2pc_wire_addr from,
                   int64_t t, bool *refused, bool *full) {
  uint8_t b[P2PC_NTP_PACKET_MAX];
  memset(b, 0, sizeof b);
  p2pc_ntp_header h = {.li = P2PC_NTP_LI_UNSYNC,
                       .version = 4,
                       .mode = P2PC_NTP_MODE_CLIENT,
                       .xmt = 0x1234567};
  p2pc_ntp_header_put(b, &h);
  p2pc_ntp_ext e = {.kind = P2PC_NTP_EXT_REQUEST};
  strcpy(e.id, id);
  assert_int_equal(p2pc_ntp_ext_put(b + P2PC_NTP_HEADER_LEN, &e),
                   P2PC_NTP_EXT_LEN);
  p2pc_timesync_input(ts, &from, b, sizeof b, L0 + t, false, at(t));
  p2pc_datagram d;
  assert_true(p2pc_timesync_pop(ts, &d));
  p2pc_ntp_header rh;
  p2pc_ntp_ext re;
  bool has_ext = false;
  assert_true(p2pc_ntp_decode(d.data, d.len, &rh, &re, &has_ext) >= 0);
  assert_true(has_ext);
  assert_int_equal(re.kind, P2PC_NTP_EXT_REPLY);
  *refused = (re.flags & P2PC_NTP_EXTF_REFUSED) != 0;
  *full = (re.flags & P2PC_NTP_EXTF_FULL) != 0;
}

static void ask(p2pc_timesync *ts, const char *id, uint8_t last, int64_t t,
                bool *refused, bool *full) {
  ask_at(ts, id, ip(last, 7000), t, refused, full);
}

/* By default a server takes 256 clients: with 4 sources a node, the
 * reference's time reaches 16,000 nodes in two hops (CLOCK.md,
 * Admission; 64 left 10,000 nodes three hops deep, twice the spread). */
static void test_serves_256_clients_by_default(void **state) {
  (void)state;
  p2pc_timesync *ts = make("s", 0);
  bool refused = true, full = true;
  for (int k = 0; k < 257; k++) {
    char id[16];
    snprintf(id, sizeof id, "c%d", k);
    p2pc_wire_addr a = {.family = 4,
                        .addr = {10, 1, (uint8_t)(k >> 8), (uint8_t)k},
                        .port = 7000};
    ask_at(ts, id, a, k * 1000000, &refused, &full);
    assert_int_equal(refused, k >= 256);
    assert_int_equal(full, k >= 255);
  }
  p2pc_timesync_free(ts);
}

static void test_serves_serve_max_clients(void **state) {
  (void)state;
  p2pc_timesync *ts = make("s", 2);
  bool refused, full;
  ask(ts, "c1", 1, 0, &refused, &full);
  assert_false(refused);
  assert_false(full);
  p2pc_wire_announce an;
  p2pc_timesync_announce_out(ts, false, at(0), &an);
  assert_int_equal(an.flags & P2PC_ANNOUNCE_FULL, 0);
  ask(ts, "c2", 2, SEC, &refused, &full);
  assert_false(refused);
  assert_true(full); /* no place left */
  ask(ts, "c3", 3, 2 * SEC, &refused, &full);
  assert_true(refused);
  assert_true(full);
  /* a client keeps its place while it polls, and is answered all the same
   * when refused */
  ask(ts, "c1", 1, 3 * SEC, &refused, &full);
  assert_false(refused);
  p2pc_timesync_announce_out(ts, false, at(3 * SEC), &an);
  assert_int_equal(an.flags & P2PC_ANNOUNCE_FULL, P2PC_ANNOUNCE_FULL);
  /* c2 silent for 8 s: its place goes to c3 */
  ask(ts, "c3", 3, 10 * SEC, &refused, &full);
  assert_false(refused);
  ask(ts, "c2", 2, 10 * SEC, &refused, &full);
  assert_true(refused);
  p2pc_timesync_free(ts);
}

/* Hints counted from another reference are not taken, nor hints naming
 * ourselves. */
static void test_other_reference_not_taken(void **state) {
  (void)state;
  p2pc_timesync *ts = make("n5", 0);
  p2pc_wire_addr a1 = ip(1, 7000), a2 = ip(2, 7000);
  p2pc_timesync_peer_up(ts, "n1", &a1, at(0));
  p2pc_timesync_peer_up(ts, "n2", &a2, at(0));
  for (int k = 0; k < 8; k++) {
    int64_t t = k * ANNOUNCE;
    p2pc_wire_announce an = ann((uint64_t)k + 1, 1);
    hint(&an, "n5", 5, 7000, 0, 0); /* ourselves */
    p2pc_timesync_announce_in(ts, "n1", &an, at(t));
    an = ann((uint64_t)k + 1, 1);
    strcpy(an.ref, "q"); /* a worse reference, which we do not follow */
    an.ref_priority = 200;
    hint(&an, "y", 60, 7300, 0, 0);
    p2pc_timesync_announce_in(ts, "n2", &an, at(t));
  }
  assert_false(run_polls(ts, 0, 4 * SEC, 60, 7300));
  assert_false(run_polls(ts, 4 * SEC, 5 * SEC, 5, 7000));
  assert_int_equal(p2pc_timesync_source_count(ts), 2);
  p2pc_timesync_free(ts);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_polls_the_hinted_low_tier),
      cmocka_unit_test(test_serves_serve_max_clients),
      cmocka_unit_test(test_serves_256_clients_by_default),
      cmocka_unit_test(test_other_reference_not_taken),
      cmocka_unit_test(test_same_hints_keep_and_age),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
