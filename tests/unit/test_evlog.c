/* SPDX-License-Identifier: MIT */
/*
 * The event records of EVENTS.md as the core renders them: one known
 * answer per kind (and both forms of an expiry), from hand-built events,
 * the `start` line's lifetime, and a render that does not fit: an error
 * and nothing half-written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "evlog.h"

#define A p2pc_allocator_default()

/* An HLC stamp and an HLC reading, beyond 2^53 as real ones are. */
#define STAMP 1700000000123400007ull
#define HLC 1700000060123465536ull

/* "<kind>" followed by the record of ev, NUL-terminated in out. */
static void render(const p2pc_causal_event *ev, char *out, size_t cap) {
  p2pc_buf b;
  p2pc_buf_init(&b, A, cap - 1);
  const char *k = p2pc_evlog_kind(ev->kind);
  assert_int_equal(p2pc_buf_put(&b, k, strlen(k)), 0);
  assert_int_equal(p2pc_evlog_causal(&b, ev), 0);
  memcpy(out, b.data, b.len);
  out[b.len] = '\0';
  p2pc_buf_fini(&b);
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
    assert_string_equal(p2pc_evlog_kind((p2pc_causal_ev_kind)k), names[k]);
  assert_string_equal(p2pc_evlog_kind((p2pc_causal_ev_kind)99), "unknown");
}

static void test_records(void **state) {
  (void)state;
  char line[512];
  p2pc_causal_event ev = base(P2PC_CEV_SEND);
  ev.peer = "B~b2";
  render(&ev, line, sizeof line);
  assert_string_equal(line, "send,\"msg\":\"A~k3:3\",\"to\":\"B~b2\","
                            "\"stamp\":1700000000123400007,\"deps\":2,"
                            "\"bytes\":5,\"meta\":21");
  ev = base(P2PC_CEV_RECV);
  render(&ev, line, sizeof line);
  assert_string_equal(line, "recv,\"msg\":\"A~k3:3\",\"from\":\"A~k3\"");
  ev = base(P2PC_CEV_BUFFER);
  render(&ev, line, sizeof line);
  assert_string_equal(line, "buffer,\"msg\":\"A~k3:3\",\"from\":\"A~k3\","
                            "\"waits\":{\"msg\":\"C~x1:7\",\"unmet\":2}");
  ev.waits_sender = NULL;
  ev.deps = 1;
  render(&ev, line, sizeof line);
  assert_string_equal(line, "buffer,\"msg\":\"A~k3:3\",\"from\":\"A~k3\","
                            "\"waits\":{\"msg\":null,\"unmet\":1}");
  ev = base(P2PC_CEV_DELIVER);
  render(&ev, line, sizeof line);
  assert_string_equal(line, "deliver,\"msg\":\"A~k3:3\",\"from\":\"A~k3\","
                            "\"stamp\":1700000000123400007,\"waited_ns\":250");
  ev = base(P2PC_CEV_DUP);
  render(&ev, line, sizeof line);
  assert_string_equal(line, "dup,\"msg\":\"A~k3:3\",\"from\":\"A~k3\"");
  ev = base(P2PC_CEV_DROP);
  ev.reason = "sender retired";
  render(&ev, line, sizeof line);
  assert_string_equal(line, "drop,\"msg\":\"A~k3:3\",\"from\":\"A~k3\","
                            "\"reason\":\"sender retired\"");
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
  assert_string_equal(line, "undeliverable,\"msg\":\"A~k3:3\",\"to\":\"B~b2\","
                            "\"reason\":\"expired\","
                            "\"stamp\":1700000000123400007,"
                            "\"hlc\":1700000060123465536");
  ev.at_sender = false;
  ev.peer = "A~k3";
  render(&ev, line, sizeof line);
  assert_string_equal(line,
                      "undeliverable,\"msg\":\"A~k3:3\",\"from\":\"A~k3\","
                      "\"reason\":\"expired\","
                      "\"stamp\":1700000000123400007,"
                      "\"hlc\":1700000060123465536");
  ev = base(P2PC_CEV_REFUSE);
  ev.stamp = UINT64_MAX;
  ev.hlc = 0;
  render(&ev, line, sizeof line);
  assert_string_equal(line, "refuse,\"msg\":\"A~k3:3\",\"from\":\"A~k3\","
                            "\"reason\":\"stamp ahead\","
                            "\"stamp\":18446744073709551615,\"hlc\":0");
}

static void test_lifetime(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, A, 256);
  assert_int_equal(p2pc_evlog_lifetime(&b, 0), 0);
  assert_int_equal(p2pc_evlog_lifetime(&b, 5000000000ull), 0);
  assert_int_equal(p2pc_evlog_lifetime(&b, P2PC_CAUSAL_LIFETIME_INF), 0);
  static const char want[] = ",\"lifetime_ns\":60000000000"
                             ",\"lifetime_ns\":5000000000"
                             ",\"lifetime_ns\":null";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, strlen(want));
  p2pc_buf_fini(&b);
}

static void test_u64_and_failure(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, A, 64);
  assert_int_equal(p2pc_evlog_u64(&b, 0), 0);
  assert_int_equal(p2pc_buf_put_u8(&b, ' '), 0);
  assert_int_equal(p2pc_evlog_u64(&b, UINT64_MAX), 0);
  assert_int_equal(b.len, 22);
  assert_memory_equal(b.data, "0 18446744073709551615", 22);
  p2pc_buf_fini(&b);
  /* Too small a buffer: an error, and nothing half-written, at every
   * size short of the whole record. */
  for (p2pc_causal_ev_kind k = P2PC_CEV_SEND; k <= P2PC_CEV_REFUSE; k++) {
    p2pc_causal_event ev = base(k);
    p2pc_buf whole;
    p2pc_buf_init(&whole, A, 1024);
    assert_int_equal(p2pc_evlog_causal(&whole, &ev), 0);
    for (size_t cap = 0; cap < whole.len; cap++) {
      p2pc_buf tiny;
      p2pc_buf_init(&tiny, A, cap);
      assert_int_equal(p2pc_evlog_causal(&tiny, &ev), P2PC_ERR_TOOBIG);
      assert_int_equal(tiny.len, 0);
      p2pc_buf_fini(&tiny);
    }
    p2pc_buf_fini(&whole);
  }
  p2pc_buf tiny;
  p2pc_buf_init(&tiny, A, 16); /* ,"lifetime_ns":null is 19 */
  assert_int_equal(p2pc_evlog_lifetime(&tiny, P2PC_CAUSAL_LIFETIME_INF),
                   P2PC_ERR_TOOBIG);
  assert_int_equal(tiny.len, 0);
  p2pc_buf_fini(&tiny);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kinds),
      cmocka_unit_test(test_records),
      cmocka_unit_test(test_expire_and_refuse),
      cmocka_unit_test(test_lifetime),
      cmocka_unit_test(test_u64_and_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
