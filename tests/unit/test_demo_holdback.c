/* SPDX-License-Identifier: MIT */
/*
 * The demo's hold-back tracker (src/cli/demo_holdback.h) on event-log
 * lines shaped like a real run's (a slow sender a, a relay b, a receiver
 * c): what a held message waits for, which delivery released it, chains of
 * holds, drops, restarts, the bound on tracked holds, and lines to ignore.
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
#define BUFFER(m, f, vc)                                                       \
  "{\"node\":\"c\",\"ev\":\"buffer\",\"mono\":100,\"msg\":\"" m                \
  "\",\"from\":\"" f "\",\"waits\":{\"node\":\"c~1\",\"vc\":" vc "}}"
#define DELIVER(m, f, vc, w)                                                   \
  "{\"node\":\"c\",\"ev\":\"deliver\",\"mono\":200,\"msg\":\"" m               \
  "\",\"from\":\"" f "\",\"vc\":" vc ",\"waited_ns\":" w "}"

/* The run of the demo's causal chain, as node c logged it: a's messages
 * to c are slow, b's message (sent after b got one of a's) comes first. */
static void test_chain_known_answer(void **state) {
  (void)state;
  p2pc_holdback *hb = p2pc_holdback_new(3);
  p2pc_holdback_ev ev;
  assert_non_null(hb);
  assert_int_equal(feed(hb, 2, START("c~1"), &ev), P2PC_HOLDBACK_START);
  assert_string_equal(ev.msg, "c~1");
  /* a's 5th event is its send to c, its 7th a send to b */
  assert_int_equal(feed(hb, 0, START("a~1"), &ev), P2PC_HOLDBACK_START);
  assert_int_equal(feed(hb, 0,
                        "{\"ev\":\"send\",\"mono\":3,\"msg\":\"a~1:5\","
                        "\"to\":\"c~1\",\"vc\":{\"a~1\":5}}",
                        &ev),
                   P2PC_HOLDBACK_SEND);
  assert_int_equal(feed(hb, 0,
                        "{\"ev\":\"send\",\"mono\":4,\"msg\":\"a~1:6\","
                        "\"to\":\"b~1\",\"vc\":{\"a~1\":7}}",
                        &ev),
                   P2PC_HOLDBACK_SEND);
  assert_int_equal(feed(hb, 2,
                        "{\"node\":\"c\",\"ev\":\"send\",\"mono\":5,\"msg\":"
                        "\"c~1:1\",\"to\":\"a~1\",\"vc\":{\"c~1\":1}}",
                        &ev),
                   P2PC_HOLDBACK_SEND);
  assert_string_equal(ev.peer, "a~1");
  assert_int_equal(
      feed(hb, 2, DELIVER("a~1:1", "a~1", "{\"c~1\":2,\"a~1\":1}", "0"), &ev),
      P2PC_HOLDBACK_DELIVER);
  assert_int_equal(
      feed(hb, 2, BUFFER("b~1:1", "b~1", "{\"c~1\":1,\"a~1\":5}"), &ev),
      P2PC_HOLDBACK_HELD);
  assert_int_equal(ev.mono_ns, 100);
  assert_string_equal(ev.msg, "b~1:1");
  assert_string_equal(ev.peer, "b~1");
  assert_int_equal(ev.nwaits, 1); /* c~1 at 1 is met: only a is missing */
  assert_int_equal(ev.more_waits, 0);
  assert_string_equal(ev.waits[0].who, "a~1");
  assert_int_equal(ev.waits[0].need, 5);
  assert_int_equal(ev.waits[0].has, 1);
  assert_string_equal(ev.waits[0].msg, "a~1:5"); /* named by a's log */
  assert_int_equal(p2pc_holdback_total(hb, 2), 1);
  assert_int_equal(p2pc_holdback_now(hb, 2), 1);
  /* a:2..a:4 do not meet it yet, a:5 does */
  assert_int_equal(
      feed(hb, 2, DELIVER("a~1:4", "a~1", "{\"c~1\":3,\"a~1\":4}", "0"), &ev),
      P2PC_HOLDBACK_DELIVER);
  assert_int_equal(
      feed(hb, 2, DELIVER("a~1:5", "a~1", "{\"c~1\":4,\"a~1\":5}", "0"), &ev),
      P2PC_HOLDBACK_DELIVER);
  assert_int_equal(feed(hb, 2,
                        DELIVER("b~1:1", "b~1",
                                "{\"c~1\":5,\"a~1\":6,\"b~1\":2}", "787025023"),
                        &ev),
                   P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.msg, "b~1:1");
  assert_string_equal(ev.after, "a~1:5");
  assert_int_equal(ev.waited_ns, 787025023);
  assert_int_equal(p2pc_holdback_now(hb, 2), 0);
  assert_int_equal(p2pc_holdback_total(hb, 2), 1);
  assert_int_equal(p2pc_holdback_total(hb, 0), 0);
  /* a's 7th event went to b: a hold waiting for it cannot name it */
  assert_int_equal(
      feed(hb, 2, BUFFER("b~1:2", "b~1", "{\"a~1\":7,\"b~1\":1}"), &ev),
      P2PC_HOLDBACK_HELD);
  assert_int_equal(ev.nwaits, 1);
  assert_int_equal(ev.waits[0].need, 7);
  assert_string_equal(ev.waits[0].msg, "");
  p2pc_holdback_free(hb);
}

/* d's message waits for b's, which waits for a's: each is released by
 * the delivery just before it, not by the first one. */
static void test_chain_of_holds(void **state) {
  (void)state;
  p2pc_holdback *hb = p2pc_holdback_new(1);
  p2pc_holdback_ev ev;
  assert_non_null(hb);
  assert_int_equal(feed(hb, 0, BUFFER("b~1:1", "b~1", "{\"a~1\":1}"), &ev),
                   P2PC_HOLDBACK_HELD);
  assert_int_equal(
      feed(hb, 0, BUFFER("d~1:1", "d~1", "{\"a~1\":1,\"b~1\":1}"), &ev),
      P2PC_HOLDBACK_HELD);
  assert_int_equal(ev.nwaits, 2);
  assert_int_equal(
      feed(hb, 0, DELIVER("a~1:1", "a~1", "{\"a~1\":1}", "0"), &ev),
      P2PC_HOLDBACK_DELIVER);
  assert_int_equal(
      feed(hb, 0, DELIVER("b~1:1", "b~1", "{\"a~1\":1,\"b~1\":1}", "10"), &ev),
      P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.after, "a~1:1");
  assert_int_equal(
      feed(hb, 0,
           DELIVER("d~1:1", "d~1", "{\"a~1\":1,\"b~1\":1,\"d~1\":1}", "20"),
           &ev),
      P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.after, "b~1:1");
  assert_int_equal(ev.waited_ns, 20);
  assert_int_equal(p2pc_holdback_total(hb, 0), 2);
  p2pc_holdback_free(hb);
}

/* Released without its wants met (a retired sender's message never came)
 * or dropped: no cause is made up. A restart forgets the old holds and the
 * old clock. */
static void test_drop_retire_restart(void **state) {
  (void)state;
  p2pc_holdback *hb = p2pc_holdback_new(1);
  p2pc_holdback_ev ev;
  assert_non_null(hb);
  assert_int_equal(feed(hb, 0, BUFFER("b~1:1", "b~1", "{\"a~1\":3}"), &ev),
                   P2PC_HOLDBACK_HELD);
  assert_int_equal(
      feed(hb, 0, DELIVER("b~1:1", "b~1", "{\"a~1\":1,\"b~1\":1}", "2000"),
           &ev),
      P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.after, "");
  assert_int_equal(feed(hb, 0, BUFFER("b~1:2", "b~1", "{\"a~1\":3}"), &ev),
                   P2PC_HOLDBACK_HELD);
  assert_int_equal(feed(hb, 0,
                        "{\"node\":\"c\",\"ev\":\"drop\",\"mono\":3,\"msg\":"
                        "\"b~1:2\",\"from\":\"b~1\",\"reason\":\"sender "
                        "retired\"}",
                        &ev),
                   P2PC_HOLDBACK_DROPPED);
  assert_int_equal(p2pc_holdback_now(hb, 0), 0);
  assert_int_equal(
      feed(hb, 0, DELIVER("a~1:9", "a~1", "{\"a~1\":9}", "0"), &ev),
      P2PC_HOLDBACK_DELIVER);
  assert_int_equal(feed(hb, 0, BUFFER("b~1:3", "b~1", "{\"a~1\":3}"), &ev),
                   P2PC_HOLDBACK_HELD);
  assert_int_equal(ev.nwaits, 0); /* the clock is past it already */
  assert_int_equal(feed(hb, 0, START("c~2"), &ev), P2PC_HOLDBACK_START);
  assert_int_equal(p2pc_holdback_now(hb, 0), 0);
  assert_int_equal(feed(hb, 0, BUFFER("b~1:4", "b~1", "{\"a~1\":3}"), &ev),
                   P2PC_HOLDBACK_HELD);
  assert_int_equal(ev.nwaits, 1);
  assert_int_equal(ev.waits[0].has, 0); /* the new incarnation's clock */
  assert_int_equal(p2pc_holdback_total(hb, 0), 4);
  p2pc_holdback_free(hb);
}

/* At most HELD_MAX holds are tracked: the oldest is forgotten, and its
 * release is still reported, without a cause. */
static void test_bounded(void **state) {
  (void)state;
  p2pc_holdback *hb = p2pc_holdback_new(1);
  p2pc_holdback_ev ev;
  char line[512];
  assert_non_null(hb);
  for (int i = 1; i <= P2PC_HOLDBACK_HELD_MAX + 1; i++) {
    snprintf(line, sizeof line,
             "{\"ev\":\"buffer\",\"mono\":1,\"msg\":\"b~1:%d\",\"from\":"
             "\"b~1\",\"waits\":{\"node\":\"c\",\"vc\":{\"a~1\":1}}}",
             i);
    assert_int_equal(feed(hb, 0, line, &ev), P2PC_HOLDBACK_HELD);
  }
  assert_int_equal(p2pc_holdback_now(hb, 0), P2PC_HOLDBACK_HELD_MAX);
  assert_int_equal(p2pc_holdback_total(hb, 0), P2PC_HOLDBACK_HELD_MAX + 1);
  assert_int_equal(
      feed(hb, 0, DELIVER("a~1:1", "a~1", "{\"a~1\":1}", "0"), &ev),
      P2PC_HOLDBACK_DELIVER);
  assert_int_equal(
      feed(hb, 0, DELIVER("b~1:1", "b~1", "{\"a~1\":1,\"b~1\":1}", "7"), &ev),
      P2PC_HOLDBACK_RELEASED);
  assert_string_equal(ev.after, ""); /* forgotten */
  assert_int_equal(
      feed(hb, 0, DELIVER("b~1:2", "b~1", "{\"a~1\":1,\"b~1\":2}", "7"), &ev),
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
  assert_int_equal(feed(hb, 0,
                        "{\"ev\":\"sample\",\"peer\":\"a\",\"offset_ns\":1,"
                        "\"delay_ns\":2}",
                        &ev),
                   P2PC_HOLDBACK_NONE);
  /* a record without its msg, or with a msg that is not a string */
  assert_int_equal(feed(hb, 0, "{\"ev\":\"deliver\",\"from\":\"a\"}", &ev),
                   P2PC_HOLDBACK_NONE);
  assert_int_equal(
      feed(hb, 0, "{\"ev\":\"buffer\",\"msg\":3,\"from\":\"a\"}", &ev),
      P2PC_HOLDBACK_NONE);
  assert_int_equal(feed(hb, 2, BUFFER("b~1:1", "b~1", "{}"), &ev),
                   P2PC_HOLDBACK_NONE); /* no such node */
  memset(big, ' ', sizeof big);
  memcpy(big, BUFFER("b~1:1", "b~1", "{}"),
         strlen(BUFFER("b~1:1", "b~1", "{}")));
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
      cmocka_unit_test(test_drop_retire_restart),
      cmocka_unit_test(test_bounded),
      cmocka_unit_test(test_ignored),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
