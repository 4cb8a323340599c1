/* SPDX-License-Identifier: MIT */
/*
 * The event records of EVENTS.md as the core renders them: one known
 * answer per kind, taken from a real SES exchange (meta = 11 bytes: n, dseq,
 * a two-name dictionary, a one-entry ts, no pairs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "evlog.h"

#define A p2pc_allocator_default()

typedef struct rec {
  p2pc_causal *c;
  char lines[8][256];
  int n;
} rec;

static void on_event(void *ud, const p2pc_causal_event *ev) {
  rec *r = ud;
  p2pc_buf b;
  p2pc_buf_init(&b, A, 255);
  assert_int_equal(p2pc_buf_put(&b, p2pc_evlog_kind(ev->kind),
                                strlen(p2pc_evlog_kind(ev->kind))),
                   0);
  assert_int_equal(p2pc_evlog_causal(&b, r->c, ev), 0);
  assert_true(r->n < 8);
  memcpy(r->lines[r->n], b.data, b.len);
  r->lines[r->n++][b.len] = '\0';
  p2pc_buf_fini(&b);
}

static void test_records(void **state) {
  (void)state;
  rec a = {0}, b = {0};
  p2pc_buf w1, w2;
  assert_int_equal(p2pc_causal_new(&a.c, "A", NULL, A, on_event, &a), 0);
  assert_int_equal(p2pc_causal_new(&b.c, "B", NULL, A, on_event, &b), 0);
  p2pc_buf_init(&w1, A, 4096);
  p2pc_buf_init(&w2, A, 4096);
  assert_int_equal(
      p2pc_causal_send(a.c, "B", (const uint8_t *)"hello", 5, 0, &w1), 0);
  assert_int_equal(p2pc_causal_send(a.c, "B", (const uint8_t *)"x", 1, 0, &w2),
                   0);
  assert_string_equal(a.lines[0], "send,\"msg\":\"A:1\",\"to\":\"B\","
                                  "\"vc\":{\"A\":1},\"bytes\":5,\"meta\":11");
  assert_int_equal(p2pc_causal_receive(b.c, "A", w2.data, w2.len, 100), 0);
  assert_int_equal(p2pc_causal_receive(b.c, "A", w1.data, w1.len, 350), 0);
  assert_int_equal(p2pc_causal_receive(b.c, "A", w1.data, w1.len, 400), 0);
  assert_int_equal(b.n, 6);
  assert_string_equal(b.lines[0], "recv,\"msg\":\"A:2\",\"from\":\"A\"");
  assert_string_equal(b.lines[1],
                      "buffer,\"msg\":\"A:2\",\"from\":\"A\","
                      "\"waits\":{\"node\":\"B\",\"vc\":{\"A\":1}}");
  assert_string_equal(b.lines[3], "deliver,\"msg\":\"A:1\",\"from\":\"A\","
                                  "\"vc\":{\"B\":1,\"A\":1},\"waited_ns\":0");
  assert_string_equal(b.lines[4], "deliver,\"msg\":\"A:2\",\"from\":\"A\","
                                  "\"vc\":{\"B\":2,\"A\":2},"
                                  "\"waited_ns\":250");
  assert_string_equal(b.lines[5], "dup,\"msg\":\"A:1\",\"from\":\"A\"");
  p2pc_causal_free(a.c);
  p2pc_causal_free(b.c);
  p2pc_buf_fini(&w1);
  p2pc_buf_fini(&w2);
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
  /* Too small a buffer: an error, and nothing half-written. */
  rec a = {0};
  p2pc_buf w, tiny;
  assert_int_equal(p2pc_causal_new(&a.c, "A", NULL, A, NULL, NULL), 0);
  p2pc_buf_init(&w, A, 4096);
  p2pc_buf_init(&tiny, A, 12);
  assert_int_equal(p2pc_causal_send(a.c, "B", (const uint8_t *)"x", 1, 0, &w),
                   0);
  p2pc_causal_event ev = {.kind = P2PC_CEV_SEND,
                          .sender = "A",
                          .n = 1,
                          .peer = "B",
                          .vc = p2pc_causal_clock(a.c)};
  assert_int_equal(p2pc_evlog_causal(&tiny, a.c, &ev), P2PC_ERR_TOOBIG);
  assert_int_equal(tiny.len, 0);
  p2pc_causal_free(a.c);
  p2pc_buf_fini(&w);
  p2pc_buf_fini(&tiny);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_records),
      cmocka_unit_test(test_u64_and_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
