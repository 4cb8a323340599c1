/* SPDX-License-Identifier: MIT */
/*
 * The causal oracle of src/check/evcheck.h, in memory: the hand-written
 * logs of `p2pclock check` (tests/system/fixtures/check) give the same
 * verdicts fed file after file, in reverse, and line by line round robin;
 * a run built line by line in true global order (as the simulator feeds
 * it) with a causal-order violation is caught, and so is a message that
 * never arrives — unless it was sent after the settle mark; the size limit,
 * a refused `start` line and stream names behave as documented.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "evcheck.h"

/* ---- feeding fixture files ----------------------------------------------
 */

#define MAX_FILES 4
#define MAX_LINES 64

typedef struct file_lines {
  char *text;
  const char *line[MAX_LINES];
  size_t len[MAX_LINES];
  unsigned flags[MAX_LINES];
  size_t n;
} file_lines;

static void load(file_lines *f, const char *path) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, fp);
  fclose(fp);
  f->text = malloc(n + 1);
  assert_non_null(f->text);
  memcpy(f->text, buf, n);
  f->n = 0;
  size_t i = 0;
  while (i < n) {
    assert_true(f->n < MAX_LINES);
    const char *nl = memchr(f->text + i, '\n', n - i);
    size_t end = nl ? (size_t)(nl - f->text) : n;
    f->line[f->n] = f->text + i; /* not NUL-terminated: the next line */
    f->len[f->n] = end - i;
    f->flags[f->n] = nl ? 0 : P2PC_EVCHECK_UNTERMINATED;
    f->n++;
    i = end + 1;
  }
}

enum { FILE_ORDER, REVERSED, ROUND_ROBIN, NORDERS };

/* Feeds the case's files (A.jsonl, B.jsonl, ... as present) in the given
 * interleaving and returns finish's status. */
static int run_case(const char *name, int order, p2pc_evcheck **out,
                    p2pc_evcheck_result *r) {
  file_lines files[MAX_FILES];
  size_t nf = 0;
  for (char c = 'A'; c < 'A' + MAX_FILES; c++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%c.jsonl", P2PC_CHECK_FIXTURES, name, c);
    FILE *fp = fopen(path, "rb");
    if (!fp)
      continue;
    fclose(fp);
    load(&files[nf++], path);
  }
  assert_true(nf > 0);
  p2pc_evcheck *ec = p2pc_evcheck_new();
  assert_non_null(ec);
  if (order == ROUND_ROBIN) {
    for (size_t k = 0;; k++) {
      bool any = false;
      for (size_t f = 0; f < nf; f++)
        if (k < files[f].n) {
          any = true;
          p2pc_evcheck_line_ex(ec, (uint32_t)f, files[f].line[k],
                               files[f].len[k], files[f].flags[k]);
        }
      if (!any)
        break;
    }
  } else {
    for (size_t i = 0; i < nf; i++) {
      size_t f = order == REVERSED ? nf - 1 - i : i;
      for (size_t k = 0; k < files[f].n; k++)
        if (p2pc_evcheck_line_ex(ec, (uint32_t)f, files[f].line[k],
                                 files[f].len[k],
                                 files[f].flags[k]) == P2PC_EVCHECK_LINE_LOST)
          break;
    }
  }
  for (size_t f = 0; f < nf; f++)
    free(files[f].text);
  int st = p2pc_evcheck_finish(ec, r);
  *out = ec;
  return st;
}

typedef struct expect {
  const char *name;
  int status;
  uint64_t violations, delivered, excused;
  int kind;           /* a kind that must be counted, -1: none */
  const char *listed; /* prefix of listed[0], or NULL */
} expect;

static const expect cases[] = {
    {"good", P2PC_EVCHECK_CHECKED, 0, 4, 0, -1, NULL},
    {"order", P2PC_EVCHECK_CHECKED, 1, 3, 0, P2PC_EVCHECK_ORDER,
     "ORDER: C~c1 delivered B~b1:1 before A~a1:1"},
    {"double", P2PC_EVCHECK_CHECKED, 1, 1, 0, P2PC_EVCHECK_DUPLICATE,
     "DUPLICATE: B~b1 delivered A~a1:1 again"},
    {"missing", P2PC_EVCHECK_CHECKED, 1, 1, 0, P2PC_EVCHECK_MISSING,
     "MISSING: A~a1:2 (to B~b1) was never delivered"},
    {"crashed_receiver", P2PC_EVCHECK_CHECKED, 0, 1, 1, -1, NULL},
    {"crashed_sender", P2PC_EVCHECK_CHECKED, 0, 3, 1, -1, NULL},
    {"undeliverable", P2PC_EVCHECK_CHECKED, 0, 1, 1, -1, NULL},
    {"undeliverable_false", P2PC_EVCHECK_CHECKED, 1, 0, 0, P2PC_EVCHECK_MISSING,
     "MISSING: A~a1:1 (to B~b1)"},
    {"wrong_dest", P2PC_EVCHECK_CHECKED, 2, 1, 0, P2PC_EVCHECK_WRONG_DEST,
     "WRONG_DEST: C~c1 delivered A~a1:1, which was sent to B~b1"},
    {"log_errors", P2PC_EVCHECK_CHECKED, 2, 1, 0, P2PC_EVCHECK_LOG, "LOG: "},
    {"torn", P2PC_EVCHECK_CHECKED, 0, 2, 1, -1, NULL},
    {"malformed", P2PC_EVCHECK_BADINPUT, 0, 0, 0, -1, NULL},
};

static void test_fixtures_any_interleaving(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const expect *e = &cases[i];
    for (int order = 0; order < NORDERS; order++) {
      p2pc_evcheck *ec;
      p2pc_evcheck_result r;
      int st = run_case(e->name, order, &ec, &r);
      if (st != e->status || r.violations != e->violations ||
          r.delivered != e->delivered ||
          r.undeliverable + r.lost_receiver + r.lost_sender != e->excused ||
          (e->kind >= 0 && r.by_kind[e->kind] == 0) ||
          (e->listed && (!r.nlisted || strncmp(r.listed[0], e->listed,
                                               strlen(e->listed)) != 0)))
        fail_msg("%s (interleaving %d): status %d, %llu violations, %llu "
                 "delivered; first: %s",
                 e->name, order, st, (unsigned long long)r.violations,
                 (unsigned long long)r.delivered,
                 r.nlisted ? r.listed[0] : "-");
      p2pc_evcheck_free(ec);
    }
  }
}

/* ---- runs built in memory, in true global order -------------------------
 */

typedef struct run {
  p2pc_evcheck *ec;
  uint64_t t;
} run;

static __attribute__((format(printf, 4, 5))) int
line(run *r, uint32_t stream, const char *node, const char *fmt, ...) {
  char rest[256], text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rest, sizeof rest, fmt, ap);
  va_end(ap);
  r->t++;
  int n = snprintf(text, sizeof text,
                   "{\"node\":\"%s\",\"mono\":%llu,\"local\":%llu,\"net\":%llu,"
                   "%s}#trailing bytes that are not part of the line",
                   node, (unsigned long long)r->t, (unsigned long long)r->t,
                   (unsigned long long)r->t, rest);
  size_t len = (size_t)n - strlen("#trailing bytes that are not part of the "
                                  "line");
  return p2pc_evcheck_line(r->ec, stream, text, len);
}

static void start3(run *r) {
  r->ec = p2pc_evcheck_new();
  assert_non_null(r->ec);
  assert_int_equal(line(r, 0, "A", "\"ev\":\"start\",\"sesid\":\"A~a\""), 0);
  assert_int_equal(line(r, 1, "B", "\"ev\":\"start\",\"sesid\":\"B~b\""), 0);
  assert_int_equal(line(r, 2, "C", "\"ev\":\"start\",\"sesid\":\"C~c\""), 0);
}

static void stop3(run *r) {
  line(r, 0, "A", "\"ev\":\"stop\"");
  line(r, 1, "B", "\"ev\":\"stop\"");
  line(r, 2, "C", "\"ev\":\"stop\"");
}

static void send(run *r, uint32_t st, const char *node, const char *msg,
                 const char *to) {
  assert_int_equal(line(r, st, node,
                        "\"ev\":\"send\",\"msg\":\"%s\",\"to\":\"%s\"", msg,
                        to),
                   0);
}

static void deliver(run *r, uint32_t st, const char *node, const char *msg) {
  assert_int_equal(line(r, st, node,
                        "\"ev\":\"deliver\",\"msg\":\"%s\",\"waited_ns\":0",
                        msg),
                   0);
}

/* A -> C, A -> B; B delivers, then B -> C; C delivers B's first. */
static void test_order_violation_caught(void **state) {
  (void)state;
  run r = {0};
  start3(&r);
  send(&r, 0, "A", "A~a:1", "C~c");
  send(&r, 0, "A", "A~a:2", "B~b");
  deliver(&r, 1, "B", "A~a:2");
  send(&r, 1, "B", "B~b:1", "C~c");
  deliver(&r, 2, "C", "B~b:1");
  deliver(&r, 2, "C", "A~a:1");
  stop3(&r);
  p2pc_evcheck_result res;
  assert_int_equal(p2pc_evcheck_finish(r.ec, &res), P2PC_EVCHECK_CHECKED);
  assert_int_equal(res.violations, 1);
  assert_int_equal(res.by_kind[P2PC_EVCHECK_ORDER], 1);
  assert_int_equal(res.delivered, 3);
  assert_non_null(res.first);
  assert_string_equal(res.first,
                      "ORDER: C~c delivered B~b:1 before A~a:1 (also sent "
                      "to C~c), whose send happens-before the send of B~b:1");
  p2pc_evcheck_free(r.ec);
}

/* The same run in the right order is clean. */
static void test_causal_run_clean(void **state) {
  (void)state;
  run r = {0};
  start3(&r);
  send(&r, 0, "A", "A~a:1", "C~c");
  send(&r, 0, "A", "A~a:2", "B~b");
  deliver(&r, 1, "B", "A~a:2");
  send(&r, 1, "B", "B~b:1", "C~c");
  deliver(&r, 2, "C", "A~a:1");
  deliver(&r, 2, "C", "B~b:1");
  stop3(&r);
  p2pc_evcheck_result res;
  assert_int_equal(p2pc_evcheck_finish(r.ec, &res), P2PC_EVCHECK_CHECKED);
  assert_int_equal(res.violations, 0);
  assert_int_equal(res.messages, 3);
  assert_int_equal(res.delivered, 3);
  assert_null(res.first);
  assert_int_equal(res.lines, 12);
  assert_int_equal(res.nodes, 3);
  p2pc_evcheck_free(r.ec);
}

/* A message never delivered is MISSING, unless sent after the mark. */
static void test_missing_and_settle_mark(void **state) {
  (void)state;
  for (int mark = 0; mark < 2; mark++) {
    run r = {0};
    start3(&r);
    send(&r, 0, "A", "A~a:1", "B~b");
    deliver(&r, 1, "B", "A~a:1");
    if (mark)
      p2pc_evcheck_settle_mark(r.ec);
    send(&r, 0, "A", "A~a:2", "B~b");
    stop3(&r);
    p2pc_evcheck_result res;
    assert_int_equal(p2pc_evcheck_finish(r.ec, &res), P2PC_EVCHECK_CHECKED);
    assert_int_equal(res.violations, mark ? 0 : 1);
    assert_int_equal(res.by_kind[P2PC_EVCHECK_MISSING], mark ? 0 : 1);
    assert_int_equal(res.unsettled, mark ? 1 : 0);
    if (!mark)
      assert_string_equal(res.first,
                          "MISSING: A~a:2 (to B~b) was never delivered");
    p2pc_evcheck_free(r.ec);
  }
}

/* A crashed receiver (no stop) excuses; a second delivery does not. */
static void test_crash_excuse_and_duplicate(void **state) {
  (void)state;
  run r = {0};
  start3(&r);
  send(&r, 0, "A", "A~a:1", "B~b");
  send(&r, 0, "A", "A~a:2", "C~c");
  deliver(&r, 2, "C", "A~a:2");
  deliver(&r, 2, "C", "A~a:2");
  line(&r, 0, "A", "\"ev\":\"stop\"");
  line(&r, 2, "C", "\"ev\":\"stop\"");
  p2pc_evcheck_result res;
  assert_int_equal(p2pc_evcheck_finish(r.ec, &res), P2PC_EVCHECK_CHECKED);
  assert_int_equal(res.crashed, 1);
  assert_int_equal(res.lost_receiver, 1);
  assert_int_equal(res.violations, 1);
  assert_int_equal(res.by_kind[P2PC_EVCHECK_DUPLICATE], 1);
  p2pc_evcheck_free(r.ec);
}

static void test_limit(void **state) {
  (void)state;
  run r = {0};
  start3(&r);
  p2pc_evcheck_set_limit(r.ec, 5); /* 3 incarnations x 2 messages > 5 */
  send(&r, 0, "A", "A~a:1", "B~b");
  send(&r, 0, "A", "A~a:2", "B~b");
  send(&r, 0, "A", "A~a:3", "B~b");
  stop3(&r);
  p2pc_evcheck_result res;
  assert_int_equal(p2pc_evcheck_finish(r.ec, &res), P2PC_EVCHECK_TOOLARGE);
  assert_int_equal(res.violations, 0);
  assert_null(res.first);
  p2pc_evcheck_free(r.ec);
}

typedef struct diags {
  int errors, warnings;
  char first[256];
} diags;

static void on_diag(void *ud, bool warning, const char *text) {
  diags *d = ud;
  if (warning) {
    d->warnings++;
    return;
  }
  if (!d->errors++)
    snprintf(d->first, sizeof d->first, "%s", text);
}

/* A refused start loses the rest of its stream; reports name the stream. */
static void test_lost_stream_and_names(void **state) {
  (void)state;
  run r = {0};
  r.ec = p2pc_evcheck_new();
  assert_non_null(r.ec);
  diags d = {0};
  p2pc_evcheck_set_diag(r.ec, on_diag, &d);
  assert_int_equal(p2pc_evcheck_name(r.ec, 7, "A.jsonl"), 0);
  assert_int_equal(line(&r, 7, "A", "\"ev\":\"start\",\"sesid\":\"B~x\""),
                   P2PC_EVCHECK_LINE_LOST);
  assert_int_equal(line(&r, 7, "A", "\"ev\":\"stop\""), P2PC_EVCHECK_LINE_LOST);
  assert_int_equal(line(&r, 3, "C", "\"ev\":\"start\",\"sesid\":\"C~c\""), 0);
  assert_int_equal(line(&r, 3, "C", "\"ev\":\"send\""), P2PC_EVCHECK_LINE_BAD);
  assert_int_equal(p2pc_evcheck_line(r.ec, 3, "{\"torn", 6),
                   P2PC_EVCHECK_LINE_BAD);
  assert_int_equal(
      p2pc_evcheck_line_ex(r.ec, 3, "{\"torn", 6, P2PC_EVCHECK_UNTERMINATED),
      P2PC_EVCHECK_LINE_OK);
  assert_int_equal(d.errors, 3);
  assert_int_equal(d.warnings, 1);
  assert_string_equal(d.first, "A.jsonl:1: \"start\": \"sesid\" must be \"A\" "
                               "or \"A~TAG\", got \"B~x\"");
  p2pc_evcheck_result res;
  assert_int_equal(p2pc_evcheck_finish(r.ec, &res), P2PC_EVCHECK_BADINPUT);
  assert_int_equal(res.errors, 3);
  assert_int_equal(res.warnings, 1);
  p2pc_evcheck_free(r.ec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixtures_any_interleaving),
      cmocka_unit_test(test_order_violation_caught),
      cmocka_unit_test(test_causal_run_clean),
      cmocka_unit_test(test_missing_and_settle_mark),
      cmocka_unit_test(test_crash_excuse_and_duplicate),
      cmocka_unit_test(test_limit),
      cmocka_unit_test(test_lost_stream_and_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
