/* SPDX-License-Identifier: MIT */
/*
 * The one event model and its renderer (event.c): the records of
 * EVENTS.md, one known answer per kind (and both forms of an expiry), from
 * hand-built SES reports through p2pc_event_from_causal; the node and
 * clock records; message ids and addresses as text; the `start` line's
 * lifetime; and a render that does not fit: an error and nothing
 * half-written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"

/* An HLC stamp and an HLC reading, beyond 2^53 as real ones are. */
#define STAMP 1700000000123400007ull
#define HLC 1700000060123465536ull

/* The common fields every line starts with, for node "N" at these
 * clocks. */
#define HEAD(kind)                                                             \
  "{\"node\":\"N\",\"ev\":\"" kind "\",\"mono\":5,\"local\":6,\"net\":7"

/* The line of the SES report ev, NUL-terminated in out. */
static void render(const p2pc_causal_event *ev, char *out, size_t cap) {
  p2pc_event e;
  p2pc_event_from_causal(&e, ev);
  e.now.mono_ns = 5;
  e.now.local_ns = 6;
  e.net_ns = 7;
  long len = p2pc_event_json(&e, "N", out, cap);
  assert_true(len > 0);
  assert_int_equal((size_t)len, strlen(out));
}

static p2pc_causal_event base(p2pc_causal_ev_kind kind) {
  p2pc_causal_event ev = {.kind = kind,
                          .sender = "A~k3",
                          .n = 3,
                          .peer = "A~k3",
                          .stamp = STAMP,
                          .hlc = HLC,
                          .deps = 2,
                          .waits_sender = "C~x1",
                          .waits_n = 7,
                          .bytes = 5,
                          .meta = 21,
                          .waited_ns = 250,
                          .reason = "a finer reason for the human log"};
  return ev;
}

static void test_kinds(void **state) {
  (void)state;
  static const char *const names[] = {[P2PC_CEV_SEND] = "send",
                                      [P2PC_CEV_RECV] = "recv",
                                      [P2PC_CEV_BUFFER] = "buffer",
                                      [P2PC_CEV_DELIVER] = "deliver",
                                      [P2PC_CEV_DUP] = "dup",
                                      [P2PC_CEV_DROP] = "drop",
                                      [P2PC_CEV_EXPIRE] = "undeliverable",
                                      [P2PC_CEV_REFUSE] = "refuse"};
  for (int k = P2PC_CEV_SEND; k <= P2PC_CEV_REFUSE; k++)
    assert_string_equal(
        p2pc_event_name(p2pc_event_causal_type((p2pc_causal_ev_kind)k)),
        names[k]);
  assert_string_equal(p2pc_event_name((p2pc_event_type)99), "unknown");
  /* The events for applications only have names but no log line. */
  assert_string_equal(p2pc_event_name(P2PC_EVENT_WRITABLE), "writable");
  assert_false(p2pc_event_logged(P2PC_EVENT_CLOCK_SYNCED));
  assert_true(p2pc_event_logged(P2PC_EVENT_PEER_UP));
  p2pc_event ev = {.type = P2PC_EVENT_REFERENCE_CHANGED};
  char line[64] = "x";
  assert_int_equal(p2pc_event_json(&ev, "N", line, sizeof line), 0);
  assert_string_equal(line, "");
}

static void test_records(void **state) {
  (void)state;
  char line[512];
  p2pc_causal_event ev = base(P2PC_CEV_SEND);
  ev.peer = "B~b2";
  render(&ev, line, sizeof line);
  assert_string_equal(line,
                      HEAD("send") ",\"msg\":\"A~k3:3\",\"to\":\"B~b2\","
                                   "\"stamp\":1700000000123400007,\"deps\":2,"
                                   "\"bytes\":5,\"meta\":21"
                                   "}");
  ev = base(P2PC_CEV_RECV);
  render(&ev, line, sizeof line);
  assert_string_equal(line, HEAD("recv") ",\"msg\":\"A~k3:3\",\"from\":\"A~k3\""
                                         "}");
  ev = base(P2PC_CEV_BUFFER);
  render(&ev, line, sizeof line);
  assert_string_equal(
      line, HEAD("buffer") ",\"msg\":\"A~k3:3\",\"from\":\"A~k3\","
                           "\"waits\":{\"msg\":\"C~x1:7\",\"unmet\":2}"
                           "}");
  ev.waits_sender = NULL;
  ev.deps = 1;
  render(&ev, line, sizeof line);
  assert_string_equal(line,
                      HEAD("buffer") ",\"msg\":\"A~k3:3\",\"from\":\"A~k3\","
                                     "\"waits\":{\"msg\":null,\"unmet\":1}"
                                     "}");
  ev = base(P2PC_CEV_DELIVER);
  render(&ev, line, sizeof line);
  assert_string_equal(
      line, HEAD("deliver") ",\"msg\":\"A~k3:3\",\"from\":\"A~k3\","
                            "\"stamp\":1700000000123400007,\"waited_ns\":250"
                            "}");
  ev = base(P2PC_CEV_DUP);
  render(&ev, line, sizeof line);
  assert_string_equal(line, HEAD("dup") ",\"msg\":\"A~k3:3\",\"from\":\"A~k3\""
                                        "}");
  ev = base(P2PC_CEV_DROP);
  ev.reason = "sender retired";
  render(&ev, line, sizeof line);
  assert_string_equal(line,
                      HEAD("drop") ",\"msg\":\"A~k3:3\",\"from\":\"A~k3\","
                                   "\"reason\":\"sender retired\""
                                   "}");
}

/* An expiry names the destination at the sender, the sender at the
 * receiver; the reason is "expired" whatever the core's text says. */
static void test_expire_and_refuse(void **state) {
  (void)state;
  char line[512];
  p2pc_causal_event ev = base(P2PC_CEV_EXPIRE);
  ev.at_sender = true;
  ev.peer = "B~b2";
  render(&ev, line, sizeof line);
  assert_string_equal(
      line, HEAD("undeliverable") ",\"msg\":\"A~k3:3\",\"to\":\"B~b2\","
                                  "\"reason\":\"expired\","
                                  "\"stamp\":1700000000123400007,"
                                  "\"hlc\":1700000060123465536"
                                  "}");
  ev.at_sender = false;
  ev.peer = "A~k3";
  render(&ev, line, sizeof line);
  assert_string_equal(
      line, HEAD("undeliverable") ",\"msg\":\"A~k3:3\",\"from\":\"A~k3\","
                                  "\"reason\":\"expired\","
                                  "\"stamp\":1700000000123400007,"
                                  "\"hlc\":1700000060123465536"
                                  "}");
  ev = base(P2PC_CEV_REFUSE);
  ev.stamp = UINT64_MAX;
  ev.hlc = 0;
  render(&ev, line, sizeof line);
  assert_string_equal(line,
                      HEAD("refuse") ",\"msg\":\"A~k3:3\",\"from\":\"A~k3\","
                                     "\"reason\":\"stamp ahead\","
                                     "\"stamp\":18446744073709551615,\"hlc\":0"
                                     "}");
}

/* The lines that delimit an incarnation: Δ on `start` (the default for
 * 0, null for never), the config as given; `stop` has neither. */
static void test_lifecycle(void **state) {
  (void)state;
  char line[P2PC_EVENT_JSON_MAX];
  p2pc_lifecycle l = {.id = "N",
                      .sesid = "N~k3",
                      .start = true,
                      .now = {5, 6},
                      .net_ns = 7,
                      .config = "{\"a\":1}"};
  assert_true(p2pc_event_lifecycle_json(&l, line, sizeof line) > 0);
  assert_string_equal(line, HEAD("start") ",\"sesid\":\"N~k3\",\"version\":"
                                          "\"" P2PC_VERSION_STRING "\","
                                          "\"lifetime_ns\":60000000000,"
                                          "\"config\":{\"a\":1}}");
  l.lifetime_ns = 5000000000ull;
  l.config = NULL;
  assert_true(p2pc_event_lifecycle_json(&l, line, sizeof line) > 0);
  assert_non_null(strstr(line, ",\"lifetime_ns\":5000000000}"));
  l.lifetime_ns = P2PC_CAUSAL_LIFETIME_INF;
  assert_true(p2pc_event_lifecycle_json(&l, line, sizeof line) > 0);
  assert_non_null(strstr(line, ",\"lifetime_ns\":null}"));
  l.birth = 1700000000000065536ull; /* known when `start` is written */
  assert_true(p2pc_event_lifecycle_json(&l, line, sizeof line) > 0);
  assert_non_null(
      strstr(line, ",\"lifetime_ns\":null,\"birth\":1700000000000065536}"));
  l.birth_line = true; /* else on a line of its own */
  assert_true(p2pc_event_lifecycle_json(&l, line, sizeof line) > 0);
  assert_string_equal(line, HEAD("birth") ",\"sesid\":\"N~k3\","
                                          "\"birth\":1700000000000065536}");
  l.birth_line = false;
  l.birth = 0;
  l.start = false;
  assert_true(p2pc_event_lifecycle_json(&l, line, sizeof line) > 0);
  assert_string_equal(line, HEAD("stop") ",\"sesid\":\"N~k3\",\"version\":"
                                         "\"" P2PC_VERSION_STRING "\"}");
}

static void test_numbers_and_failure(void **state) {
  (void)state;
  /* Numbers at both ends of their range. */
  char line[P2PC_EVENT_JSON_MAX];
  p2pc_lifecycle l = {.id = "N",
                      .sesid = "N~k3",
                      .start = true,
                      .now = {0, 0},
                      .lifetime_ns = UINT64_MAX - 1};
  long len = p2pc_event_lifecycle_json(&l, line, sizeof line);
  assert_true(len > 0);
  assert_non_null(strstr(line, "\"mono\":0,\"local\":0,\"net\":0,"));
  assert_non_null(strstr(line, "\"lifetime_ns\":18446744073709551614}"));
  for (size_t cap = 0; cap <= (size_t)len; cap++) {
    char tiny[P2PC_EVENT_JSON_MAX] = "x";
    assert_int_equal(p2pc_event_lifecycle_json(&l, tiny, cap), P2PC_ERR_TOOBIG);
    if (cap)
      assert_string_equal(tiny, "");
  }
  /* Too small a buffer: an error, and nothing half-written, at every
   * size short of the whole line. */
  for (p2pc_causal_ev_kind k = P2PC_CEV_SEND; k <= P2PC_CEV_REFUSE; k++) {
    p2pc_causal_event ev = base(k);
    p2pc_event e;
    p2pc_event_from_causal(&e, &ev);
    char whole[P2PC_EVENT_JSON_MAX];
    long elen = p2pc_event_json(&e, "N", whole, sizeof whole);
    assert_true(elen > 0);
    for (size_t cap = 0; cap <= (size_t)elen; cap++) {
      char tiny[P2PC_EVENT_JSON_MAX];
      tiny[0] = 'x';
      assert_int_equal(p2pc_event_json(&e, "N", tiny, cap), P2PC_ERR_TOOBIG);
      if (cap)
        assert_string_equal(tiny, "");
    }
  }
}

/* The records the node and the clock write. */
static void test_node_and_clock_records(void **state) {
  (void)state;
  char line[P2PC_EVENT_JSON_MAX];
  p2pc_event ev = {
      .type = P2PC_EVENT_PEER_UP, .now = {5, 6}, .net_ns = 7, .peer = "B"};
  assert_int_equal(p2pc_addr_parse(&ev.u.peer.addr, "127.0.0.2:9001"), 0);
  assert_true(p2pc_event_json(&ev, "N", line, sizeof line) > 0);
  assert_string_equal(line, HEAD("peer_up") ",\"peer\":\"B\","
                                            "\"addr\":\"127.0.0.2:9001\"}");
  ev.type = P2PC_EVENT_PEER_DOWN;
  ev.reason = "silent";
  assert_true(p2pc_event_json(&ev, "N", line, sizeof line) > 0);
  assert_string_equal(line, HEAD("peer_down") ",\"peer\":\"B\","
                                              "\"reason\":\"silent\"}");
  /* A session's end: no stamp, unlike an expiry. */
  ev.type = P2PC_EVENT_UNDELIVERABLE;
  ev.outgoing = true;
  ev.reason = "peer restarted";
  assert_int_equal(p2pc_msgid_parse(&ev.msg, "N~z:12"), 0);
  assert_true(p2pc_event_json(&ev, "N", line, sizeof line) > 0);
  assert_string_equal(line, HEAD("undeliverable") ",\"msg\":\"N~z:12\","
                                                  "\"to\":\"B\","
                                                  "\"reason\":\"peer "
                                                  "restarted\"}");
  p2pc_event s = {
      .type = P2PC_EVENT_CLOCK_SAMPLE, .now = {5, 6}, .net_ns = 7, .peer = "B"};
  s.u.sample.offset_ns = -12;
  s.u.sample.delay_ns = 300;
  s.u.sample.raw_offset_ns = 4;
  s.u.sample.kernel = true;
  assert_true(p2pc_event_json(&s, "N", line, sizeof line) > 0);
  assert_string_equal(line,
                      HEAD("sample") ",\"peer\":\"B\",\"offset_ns\":-12,"
                                     "\"delay_ns\":300,\"raw_offset_ns\":4,"
                                     "\"interleaved\":false,\"kernel\":true}");
  p2pc_event r = {.type = P2PC_EVENT_CLOCK_REJECTED,
                  .now = {5, 6},
                  .net_ns = 7,
                  .peer = "R",
                  .reason = "contradicted"};
  r.u.reject.offset_ns = 50000000;
  r.u.reject.judged = 5;
  r.u.reject.against = 4;
  assert_string_equal(p2pc_event_name(r.type), "clock_reject");
  assert_true(p2pc_event_json(&r, "N", line, sizeof line) > 0);
  assert_string_equal(line, HEAD("clock_reject") ",\"peer\":\"R\","
                                                 "\"reason\":\"contradicted\","
                                                 "\"offset_ns\":50000000,"
                                                 "\"judged\":5,\"against\":4}");
  p2pc_event c = {.type = P2PC_EVENT_CLOCK_UPDATE, .now = {5, 6}, .net_ns = 7};
  c.u.clock.mode = P2PC_CLOCK_COLLABORATIVE;
  c.u.clock.ref = "";
  c.u.clock.source = "B";
  c.u.clock.synced = true;
  c.u.clock.offset_ns = -2.5;
  c.u.clock.freq_ppb = 1234.4;
  c.u.clock.err_ns = 99.5;
  assert_true(p2pc_event_json(&c, "N", line, sizeof line) > 0);
  assert_string_equal(line, HEAD("clock") ",\"mode\":\"collaborative\","
                                          "\"ref\":null,\"source\":\"B\","
                                          "\"synced\":true,\"offset_ns\":-3,"
                                          "\"freq_ppb\":1234,\"err_ns\":100,"
                                          "\"adj_ns\":0}");
  c.u.clock.mode = P2PC_CLOCK_REFERENCE;
  c.u.clock.ref = "R";
  c.u.clock.step_ns = 1e12;
  c.now.local_ns = -1; /* a broken clock: 0 */
  c.net_ns = -1;
  assert_true(p2pc_event_json(&c, "N", line, sizeof line) > 0);
  assert_string_equal(line, "{\"node\":\"N\",\"ev\":\"clock\",\"mono\":5,"
                            "\"local\":0,\"net\":0,\"mode\":\"reference\","
                            "\"ref\":\"R\",\"source\":\"B\",\"synced\":true,"
                            "\"offset_ns\":-3,\"freq_ppb\":1234,\"err_ns\":100,"
                            "\"adj_ns\":0,\"step_ns\":1000000000000}");
}

static void test_msgid_text(void **state) {
  (void)state;
  p2pc_msgid id = {.node = "node-7", .session = 0x7fffffffu, .seq = UINT64_MAX};
  char t[P2PC_MSGID_TEXT_MAX];
  int len = p2pc_msgid_format(&id, t, sizeof t);
  assert_string_equal(t, "node-7~zik0zj:18446744073709551615");
  assert_int_equal(len, (int)strlen(t));
  p2pc_msgid back;
  assert_int_equal(p2pc_msgid_parse(&back, t), 0);
  assert_string_equal(back.node, "node-7");
  assert_int_equal(back.session, 0x7fffffffu);
  assert_true(back.seq == UINT64_MAX);
  assert_int_equal(p2pc_msgid_format(&id, t, 10), P2PC_ERR_TOOBIG);
  assert_string_equal(t, "");
  /* No id at all: no ":<seq>", a seq not in canonical decimal. */
  static const char *const bad[] = {
      "",       "a", "a~b", "a~b:", "a~b:01", "a~b:18446744073709551616",
      "a~b:1x", ":1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(p2pc_msgid_parse(&back, bad[i]), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_msgid_from_session(&back, "A~k3", 9), 0);
  assert_string_equal(back.node, "A");
  assert_int_equal(back.session, 3 + 36 * 20);
  /* A name outside any session: the whole name, "<name>:<seq>", both
   * ways; a tag that is not canonical base 36 makes one of those, so
   * each text is one id and each id one text. */
  assert_int_equal(p2pc_msgid_from_session(&back, "Aza", 9), 0);
  assert_int_equal(back.session, P2PC_SESSION_NONE);
  assert_int_equal(p2pc_msgid_format(&back, t, sizeof t), 5);
  assert_string_equal(t, "Aza:9");
  static const char *const nosession[] = {"a:1",         "~b:1",   "a~:1",
                                          "a~0b:1",      "a~B:1",  "a~zik0zk:1",
                                          "a~1234567:1", "a~b~c:1"};
  for (size_t i = 0; i < sizeof nosession / sizeof nosession[0]; i++) {
    assert_int_equal(p2pc_msgid_parse(&back, nosession[i]), 0);
    assert_int_equal(back.session, P2PC_SESSION_NONE);
    assert_true(p2pc_msgid_format(&back, t, sizeof t) > 0);
    assert_string_equal(t, nosession[i]);
  }
  assert_int_equal(p2pc_msgid_from_session(&back, "A~Z", 2), 0);
  assert_string_equal(back.node, "A~Z");
  assert_int_equal(p2pc_msgid_from_session(&back, "", 9), P2PC_ERR_INVAL);
  /* 80 bytes is a name's limit; 81 is none. */
  static const char n80[] = "0123456789012345678901234567890123456789"
                            "0123456789012345678901234567890123456789";
  assert_int_equal(p2pc_msgid_from_session(&back, n80, 1), 0);
  assert_true(p2pc_msgid_format(&back, t, sizeof t) == 82);
  static const char n81[] = "0123456789012345678901234567890123456789"
                            "01234567890123456789012345678901234567890";
  assert_int_equal(p2pc_msgid_from_session(&back, n81, 9), P2PC_ERR_INVAL);
}

static void test_addr_text(void **state) {
  (void)state;
  p2pc_addr a;
  char t[64];
  assert_int_equal(p2pc_addr_parse(&a, "10.1.2.3:65535"), 0);
  p2pc_addr_format(&a, t, sizeof t);
  assert_string_equal(t, "10.1.2.3:65535");
  assert_int_equal(p2pc_addr_parse(&a, "[::1]:9000"), 0);
  assert_int_equal(a.family, 6);
  p2pc_addr_format(&a, t, sizeof t);
  assert_string_equal(t, "[0:0:0:0:0:0:0:1]:9000");
  assert_int_equal(p2pc_addr_parse(&a, "[fe80::1:2]:1"), 0);
  assert_int_equal(a.addr[0], 0xfe);
  assert_int_equal(a.addr[15], 2);
  assert_int_equal(p2pc_addr_parse(&a, "[1:2:3:4:5:6:7:8]:2"), 0);
  p2pc_addr_format(&a, t, sizeof t);
  assert_string_equal(t, "[1:2:3:4:5:6:7:8]:2");
  p2pc_addr none = {0};
  p2pc_addr_format(&none, t, sizeof t);
  assert_string_equal(t, "-");
  p2pc_addr_format(&a, t, 4); /* cut, still terminated */
  assert_string_equal(t, "[1:");
  static const char *const bad[] = {"",
                                    "1.2.3.4",
                                    "1.2.3:9",
                                    "1.2.3.256:9",
                                    "1.2.3.4:65536",
                                    "01.2.3.4:9",
                                    "1.2.3.4:",
                                    "[::1]",
                                    "[::1]9",
                                    "[1::2::3]:9",
                                    "[12345::]:9",
                                    "[1:2:3:4:5:6:7:8:9]:9",
                                    "host:9",
                                    "1.2.3.4:9x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(p2pc_addr_parse(&a, bad[i]), P2PC_ERR_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kinds),
      cmocka_unit_test(test_records),
      cmocka_unit_test(test_expire_and_refuse),
      cmocka_unit_test(test_lifecycle),
      cmocka_unit_test(test_numbers_and_failure),
      cmocka_unit_test(test_node_and_clock_records),
      cmocka_unit_test(test_msgid_text),
      cmocka_unit_test(test_addr_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
