/* SPDX-License-Identifier: MIT */
/*
 * The demo's hold-back tracker (src/cli/demo/demo_holdback.h) on event-log
 * lines shaped like a real run's (a slow sender a, a relay b, a receiver
 * c): what a held message waits for, which delivery released it (the
 * message it waited for, or what began the run of deliveries), chains of
 * holds, releases without a delivery (expiry, retirement), drops,
 * expiries, restarts, the bound on tracked holds, and lines to ignore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "demo_holdback.h"

static p2pc_holdback_kind feed(p2pc_holdback *hb, uint32_t node,
                               const char *line, p2pc_holdback_ev *ev) {
  return p2pc_holdback_line(hb, node, line, strlen(line), ev);
}

#define START(s)                                                               \
  "{\"node\":\"c\",\"ev\":\"start\",\"mono\":1,\"sesid\":\"" s "\"}"
#define RECV(mono, m, f)                                                       \
  "{\"node\":\"c\",\"ev\":\"recv\",\"mono\":" mono ",\"msg\":\"" m             \
  "\",\"from\":\"" f "\"}"
#define BUFFER(mono, m, f, w, unmet)                                           \
  "{\"node\":\"c\",\"ev\":\"buffer\",\"mono\":" mono ",\"msg\":\"" m           \
  "\",\"from\":\"" f "\",\"waits\":{\"msg\":\"" w "\",\"unmet\":" unmet "}}"
#define DELIVER(mono, m, f, w)                                                 \
  "{\"node\":\"c\",\"ev\":\"deliver\",\"mono\":" mono ",\"msg\":\"" m          \
  "\",\"from\":\"" f "\",\"stamp\":1,\"waited_ns\":" w "}"
#define SAMPLE(mono)                                                           \
  "{\"node\":\"c\",\"ev\":\"sample\",\"mono\":" mono ",\"peer\":\"a\"}"

/* The run of the demo's causal chain, as node c logged it: a's messages
 * to c are slow, b's message (sent after b got one of a's) comes first
 * and waits for a's; a's arrives, and its delivery releases b's. */
static void test_chain_known_answer(void **state) {
  (void)state;
  p2pc_holdback *hb = p2pc_holdback_new(3);
  p2pc_holdback_ev ev;
  assert_non_null(hb);
  assert_int_equal(feed(hb, 2, START("c~1"), &ev), P2PC_HOLDBACK_START);
  assert_string_equal(ev.msg, "c~1");
  assert_int_equal(feed(hb, 2,
                        "{\"node\":\"c\",\"ev\":\"send\",\"mono\":5,\"msg\":"
                        "\"c~1:1\",\"to\":\"a~1\",\"stamp\":1,\"deps\":0}",
                        &ev),
                   P2PC_HOLDBACK_SEND);
  assert_string_equal(ev.peer, "a~1");
  assert_int_equal(feed(hb, 2, DELIVER("90", "a~1:4", "a~1", "0"), &ev),
                   P2PC_HOLDBACK_DELIVER);
  assert_int_equal(feed(hb, 2, RECV("100", "b~1:1", "b~1"), &ev),
                   P2PC_HOLDBACK_NONE);
  assert_int_equal(
      feed(hb, 2, BUFFER("100", "b~1:1", "b~1", "a~1:5", "1"), &ev),
      P2PC_HOLDBACK_HELD);
  assert_int_equal(ev.mono_ns, 100);
  assert_string_equal(ev.msg, "b~1:1");
  assert_string_equal(ev.peer, "b~1");
  assert_string_equal(ev.waits, "a~1:5");
  assert_int_equal(ev.unmet, 1);
  assert_int_equal(p2pc_holdback_total(hb, 2), 1);
  assert_int_equal(p2pc_holdback_now(hb, 2), 1);
  assert_int_equal(feed(hb, 2, RECV("200", "a~1:5", "a~1"), &ev),
                   P2PC_HOLDBACK_NONE);
  assert_int_equal(feed(hb, 2, DELIVER("200", "a~1:5", "a~1", "0"), &ev),
                   P2PC_HOLDBACK_DELIVER);
  assert_int_equal(
      feed(hb, 2, DELIVER("200", "b~1:1", "b~1", "787025023"), &ev),
      P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.msg, "b~1:1");
  assert_string_equal(ev.after, "a~1:5");
  assert_int_equal(ev.waited_ns, 787025023);
  assert_int_equal(p2pc_holdback_now(hb, 2), 0);
  assert_int_equal(p2pc_holdback_total(hb, 2), 1);
  assert_int_equal(p2pc_holdback_total(hb, 0), 0);
  p2pc_holdback_free(hb);
}

/* d's message waits for b's, which waits for a's: each is released by
 * the message it waited for; e's, waiting for one that came earlier and
 * for more, by what began the run. */
static void test_chain_of_holds(void **state) {
  (void)state;
  p2pc_holdback *hb = p2pc_holdback_new(1);
  p2pc_holdback_ev ev;
  assert_non_null(hb);
  assert_int_equal(feed(hb, 0, BUFFER("1", "b~1:1", "b~1", "a~1:1", "1"), &ev),
                   P2PC_HOLDBACK_HELD);
  assert_int_equal(feed(hb, 0, BUFFER("2", "d~1:1", "d~1", "b~1:1", "2"), &ev),
                   P2PC_HOLDBACK_HELD);
  assert_int_equal(ev.unmet, 2);
  assert_int_equal(feed(hb, 0, BUFFER("3", "e~1:1", "e~1", "f~1:1", "2"), &ev),
                   P2PC_HOLDBACK_HELD);
  assert_int_equal(feed(hb, 0, DELIVER("4", "f~1:1", "f~1", "0"), &ev),
                   P2PC_HOLDBACK_DELIVER);
  assert_int_equal(feed(hb, 0, RECV("5", "a~1:1", "a~1"), &ev),
                   P2PC_HOLDBACK_NONE);
  assert_int_equal(feed(hb, 0, DELIVER("5", "a~1:1", "a~1", "0"), &ev),
                   P2PC_HOLDBACK_DELIVER);
  assert_int_equal(feed(hb, 0, DELIVER("5", "b~1:1", "b~1", "10"), &ev),
                   P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.after, "a~1:1");
  assert_int_equal(feed(hb, 0, DELIVER("5", "d~1:1", "d~1", "20"), &ev),
                   P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.after, "b~1:1");
  assert_int_equal(ev.waited_ns, 20);
  assert_int_equal(feed(hb, 0, DELIVER("5", "e~1:1", "e~1", "30"), &ev),
                   P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.after, "a~1:1"); /* f's came in another turn */
  assert_int_equal(p2pc_holdback_total(hb, 0), 3);
  assert_int_equal(p2pc_holdback_now(hb, 0), 0);
  p2pc_holdback_free(hb);
}

/* A release that begins a run (what it waited for expired, or a sender
 * was retired) has no cause, nor does the next one if it is its own
 * kind; a line between two deliveries, or another mono, ends the run. */
static void test_release_without_delivery(void **state) {
  (void)state;
  p2pc_holdback *hb = p2pc_holdback_new(1);
  p2pc_holdback_ev ev;
  assert_non_null(hb);
  assert_int_equal(feed(hb, 0, BUFFER("1", "b~1:1", "b~1", "a~1:1", "1"), &ev),
                   P2PC_HOLDBACK_HELD);
  assert_int_equal(feed(hb, 0, BUFFER("1", "b~1:2", "b~1", "a~1:1", "1"), &ev),
                   P2PC_HOLDBACK_HELD);
  assert_int_equal(feed(hb, 0, BUFFER("1", "b~1:3", "b~1", "x~1:1", "1"), &ev),
                   P2PC_HOLDBACK_HELD);
  /* a's message is given up: b's are released at Δ */
  assert_int_equal(feed(hb, 0, DELIVER("60", "b~1:1", "b~1", "59"), &ev),
                   P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.after, "");
  assert_int_equal(feed(hb, 0, DELIVER("60", "b~1:2", "b~1", "59"), &ev),
                   P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.after, "");
  /* x's delivered, then a clock sample: the run is over */
  assert_int_equal(feed(hb, 0, DELIVER("70", "x~1:1", "x~1", "0"), &ev),
                   P2PC_HOLDBACK_DELIVER);
  assert_int_equal(feed(hb, 0, SAMPLE("70"), &ev), P2PC_HOLDBACK_NONE);
  assert_int_equal(feed(hb, 0, DELIVER("70", "b~1:3", "b~1", "69"), &ev),
                   P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.after, "");
  p2pc_holdback_free(hb);
}

/* Dropped (a retired sender) or expired here: out of the hold. An expiry
 * at the sender is not this node's business. A restart forgets the old
 * holds. */
static void test_drop_expire_restart(void **state) {
  (void)state;
  p2pc_holdback *hb = p2pc_holdback_new(1);
  p2pc_holdback_ev ev;
  assert_non_null(hb);
  assert_int_equal(feed(hb, 0, BUFFER("1", "b~1:1", "b~1", "a~1:3", "1"), &ev),
                   P2PC_HOLDBACK_HELD);
  assert_int_equal(feed(hb, 0, BUFFER("1", "b~1:2", "b~1", "a~1:3", "1"), &ev),
                   P2PC_HOLDBACK_HELD);
  assert_int_equal(feed(hb, 0,
                        "{\"node\":\"c\",\"ev\":\"drop\",\"mono\":3,\"msg\":"
                        "\"b~1:2\",\"from\":\"b~1\",\"reason\":\"sender "
                        "retired\"}",
                        &ev),
                   P2PC_HOLDBACK_DROPPED);
  assert_int_equal(p2pc_holdback_now(hb, 0), 1);
  assert_int_equal(
      feed(hb, 0,
           "{\"node\":\"c\",\"ev\":\"undeliverable\",\"mono\":4,\"msg\":"
           "\"c~1:9\",\"to\":\"b~1\",\"reason\":\"expired\",\"stamp\":1,"
           "\"hlc\":2}",
           &ev),
      P2PC_HOLDBACK_NONE);
  assert_int_equal(
      feed(hb, 0,
           "{\"node\":\"c\",\"ev\":\"undeliverable\",\"mono\":5,\"msg\":"
           "\"b~1:1\",\"from\":\"b~1\",\"reason\":\"expired\",\"stamp\":1,"
           "\"hlc\":2}",
           &ev),
      P2PC_HOLDBACK_EXPIRED);
  assert_string_equal(ev.msg, "b~1:1");
  assert_string_equal(ev.peer, "b~1");
  assert_int_equal(p2pc_holdback_now(hb, 0), 0);
  assert_int_equal(feed(hb, 0, BUFFER("6", "b~1:3", "b~1", "a~1:3", "1"), &ev),
                   P2PC_HOLDBACK_HELD);
  assert_int_equal(feed(hb, 0, START("c~2"), &ev), P2PC_HOLDBACK_START);
  assert_int_equal(p2pc_holdback_now(hb, 0), 0);
  assert_int_equal(p2pc_holdback_total(hb, 0), 3);
  p2pc_holdback_free(hb);
}

/* At most HELD_MAX holds are tracked: the oldest is forgotten, and its
 * release is still reported, with what began the run. */
static void test_bounded(void **state) {
  (void)state;
  p2pc_holdback *hb = p2pc_holdback_new(1);
  p2pc_holdback_ev ev;
  char line[512];
  assert_non_null(hb);
  for (int i = 1; i <= P2PC_HOLDBACK_HELD_MAX + 1; i++) {
    snprintf(line, sizeof line,
             "{\"ev\":\"buffer\",\"mono\":1,\"msg\":\"b~1:%d\",\"from\":"
             "\"b~1\",\"waits\":{\"msg\":\"a~1:1\",\"unmet\":1}}",
             i);
    assert_int_equal(feed(hb, 0, line, &ev), P2PC_HOLDBACK_HELD);
  }
  assert_int_equal(p2pc_holdback_now(hb, 0), P2PC_HOLDBACK_HELD_MAX);
  assert_int_equal(p2pc_holdback_total(hb, 0), P2PC_HOLDBACK_HELD_MAX + 1);
  assert_int_equal(feed(hb, 0, DELIVER("9", "x~1:1", "x~1", "0"), &ev),
                   P2PC_HOLDBACK_DELIVER);
  assert_int_equal(feed(hb, 0, DELIVER("9", "b~1:1", "b~1", "7"), &ev),
                   P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.after, "x~1:1"); /* forgotten: the run's first */
  assert_int_equal(feed(hb, 0, DELIVER("9", "a~1:1", "a~1", "0"), &ev),
                   P2PC_HOLDBACK_DELIVER);
  assert_int_equal(feed(hb, 0, DELIVER("9", "b~1:2", "b~1", "7"), &ev),
                   P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.after, "a~1:1");
  assert_int_equal(p2pc_holdback_now(hb, 0), P2PC_HOLDBACK_HELD_MAX - 1);
  p2pc_holdback_free(hb);
}

static void test_ignored(void **state) {
  (void)state;
  p2pc_holdback *hb = p2pc_holdback_new(2);
  p2pc_holdback_ev ev;
  static char big[P2PC_HOLDBACK_LINE_MAX + 2];
  assert_non_null(hb);
  assert_null(p2pc_holdback_new(0));
  assert_null(p2pc_holdback_new(P2PC_HOLDBACK_NODES_MAX + 1));
  assert_int_equal(feed(hb, 0, "", &ev), P2PC_HOLDBACK_NONE);
  assert_int_equal(feed(hb, 0, "not json \"ev\":\"send\"", &ev),
                   P2PC_HOLDBACK_NONE);
  assert_int_equal(feed(hb, 0, SAMPLE("1"), &ev), P2PC_HOLDBACK_NONE);
  /* a record without its msg, or with a msg that is not a string */
  assert_int_equal(feed(hb, 0, "{\"ev\":\"deliver\",\"from\":\"a\"}", &ev),
                   P2PC_HOLDBACK_NONE);
  assert_int_equal(
      feed(hb, 0, "{\"ev\":\"buffer\",\"msg\":3,\"from\":\"a\"}", &ev),
      P2PC_HOLDBACK_NONE);
  /* a buffer line that names nothing it waits for is still a hold */
  assert_int_equal(
      feed(hb, 1, "{\"ev\":\"buffer\",\"msg\":\"b~1:9\",\"from\":\"b~1\"}",
           &ev),
      P2PC_HOLDBACK_HELD);
  assert_string_equal(ev.waits, "");
  assert_int_equal(ev.unmet, 0);
  assert_int_equal(feed(hb, 2, BUFFER("1", "b~1:1", "b~1", "a~1:1", "1"), &ev),
                   P2PC_HOLDBACK_NONE); /* no such node */
  memset(big, ' ', sizeof big);
  memcpy(big, BUFFER("1", "b~1:1", "b~1", "a~1:1", "1"),
         strlen(BUFFER("1", "b~1:1", "b~1", "a~1:1", "1")));
  assert_int_equal(p2pc_holdback_line(hb, 0, big, sizeof big, &ev),
                   P2PC_HOLDBACK_NONE);
  assert_int_equal(p2pc_holdback_total(hb, 0), 0);
  assert_int_equal(p2pc_holdback_total(hb, 7), 0);
  p2pc_holdback_free(hb);
  p2pc_holdback_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chain_known_answer),
      cmocka_unit_test(test_chain_of_holds),
      cmocka_unit_test(test_release_without_delivery),
      cmocka_unit_test(test_drop_expire_restart),
      cmocka_unit_test(test_bounded),
      cmocka_unit_test(test_ignored),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
