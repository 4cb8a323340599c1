/* SPDX-License-Identifier: MIT */
/*
 * The causal oracle of src/check/evcheck.h, in memory: the hand-written
 * logs of `p2pclock check` (tests/system/fixtures/check) give the same
 * verdicts fed file after file, in reverse, and line by line round robin;
 * a run built line by line in true global order (as the simulator feeds
 * it) with a causal-order violation is caught, and so is a message that
 * never arrives — unless it was sent after the settle mark; the size limit,
 * a refused `start` line and stream names behave as documented. Expiry
 * reports: honest ones excuse and release successors from the ORDER
 * test, early ones (by HLC, by network time past the tolerance, with Δ
 * infinite or unknown, with the wrong stamp) are EXPIRED_EARLY, and the
 * test is exact beyond 2^53.
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
    {"expired", P2PC_EVCHECK_CHECKED, 0, 2, 1, -1, NULL},
    {"expired_early", P2PC_EVCHECK_CHECKED, 1, 2, 0, P2PC_EVCHECK_EXPIRED_EARLY,
     "EXPIRED_EARLY: #0:4: A~a1 reported A~a1:1 expired at HLC "
     "1700000018100000000, 15.100 s after its stamp (lifetime 60.000 s)"},
    {"expired_delivered", P2PC_EVCHECK_CHECKED, 1, 1, 0,
     P2PC_EVCHECK_EXPIRED_DELIVERED,
     "EXPIRED_DELIVERED: #1:4: B~b1 reported A~a1:1 expired, and delivered "
     "it"},
    {"expired_sender_delivered", P2PC_EVCHECK_CHECKED, 0, 1, 0, -1, NULL},
    {"expired_infinite", P2PC_EVCHECK_CHECKED, 1, 0, 0,
     P2PC_EVCHECK_EXPIRED_EARLY,
     "EXPIRED_EARLY: #0:3: A~a1 reported A~a1:1 expired though its causal "
     "lifetime is infinite"},
    {"expired_skew", P2PC_EVCHECK_CHECKED, 0, 0, 1, -1, NULL},
    /* Broadcasts ("to":"*"): each counted once, as any message. */
    {"bcast_good", P2PC_EVCHECK_CHECKED, 0, 3, 0, -1, NULL},
    {"bcast_order", P2PC_EVCHECK_CHECKED, 1, 3, 0, P2PC_EVCHECK_ORDER,
     "ORDER: C~c1 delivered B~b1:1 before A~a1:1"},
    {"bcast_early", P2PC_EVCHECK_CHECKED, 1, 3, 0, P2PC_EVCHECK_ORDER,
     "ORDER: C~c1 delivered B~b1:2 before A~a1:1 (a broadcast)"},
    {"bcast_twice", P2PC_EVCHECK_CHECKED, 1, 3, 0, P2PC_EVCHECK_DUPLICATE,
     "DUPLICATE: B~b1 delivered broadcast A~a1:1 again"},
    {"bcast_missing", P2PC_EVCHECK_CHECKED, 1, 2, 0, P2PC_EVCHECK_MISSING,
     "MISSING: broadcast B~b1:2 was never delivered at C~c1"},
    {"bcast_before_birth", P2PC_EVCHECK_CHECKED, 1, 3, 0,
     P2PC_EVCHECK_WRONG_DEST,
     "WRONG_DEST: broadcast A~a1:1 (stamp 1700000002000000000) was "
     "delivered at D~d1, born after it"},
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
          r.undeliverable + r.lost_receiver + r.lost_sender + r.expired !=
              e->excused ||
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

/* A message sent while a partition stood, to a node that stopped cleanly
 * before the heal (+ its settle time): unsettled, not MISSING. Without the
 * partition, or when the node stopped well after the heal, it is MISSING. */
static void test_partition_excuses_a_node_that_left(void **state) {
  (void)state;
  for (int k = 0; k < 3; k++) { /* 0: no cut; 1: left before; 2: after */
    run r = {0};
    start3(&r);
    if (k)
      p2pc_evcheck_cut(r.ec, true, (int64_t)r.t);
    send(&r, 0, "A", "A~a:1", "B~b");
    if (k == 1)
      line(&r, 1, "B", "\"ev\":\"stop\"");
    /* the heal (net times here are the line counter) */
    if (k)
      p2pc_evcheck_cut(r.ec, false, (int64_t)r.t);
    if (k == 2) { /* B's log goes on past heal + settle */
      r.t += P2PC_EVCHECK_CUT_SETTLE_NS + 1;
      line(&r, 1, "B", "\"ev\":\"stop\"");
    }
    line(&r, 0, "A", "\"ev\":\"stop\"");
    line(&r, 2, "C", "\"ev\":\"stop\"");
    if (k == 0)
      line(&r, 1, "B", "\"ev\":\"stop\"");
    p2pc_evcheck_result res;
    assert_int_equal(p2pc_evcheck_finish(r.ec, &res), P2PC_EVCHECK_CHECKED);
    assert_int_equal(res.by_kind[P2PC_EVCHECK_MISSING], k == 1 ? 0 : 1);
    assert_int_equal(res.unsettled, k == 1 ? 1 : 0);
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

/* ---- expiry reports, in memory ------------------------------------------
 */

#define T0 1700000000000000000ull /* net at the send; beyond 2^53 */
#define SEC 1000000000ull
#define LIFE (60 * SEC)

/* One line of node at network time net (mono and local alike). */
static __attribute__((format(printf, 5, 6))) int
line_at(run *r, uint32_t stream, const char *node, uint64_t net,
        const char *fmt, ...) {
  char rest[256], text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rest, sizeof rest, fmt, ap);
  va_end(ap);
  snprintf(text, sizeof text,
           "{\"node\":\"%s\",\"mono\":%llu,\"local\":%llu,\"net\":%llu,%s}",
           node, (unsigned long long)(net - T0 + SEC), (unsigned long long)net,
           (unsigned long long)net, rest);
  return p2pc_evcheck_line(r->ec, stream, text, strlen(text));
}

/* A and B with lifetime field life ("" for none). */
static void start2(run *r, const char *life) {
  r->ec = p2pc_evcheck_new();
  assert_non_null(r->ec);
  assert_int_equal(line_at(r, 0, "A", T0 - SEC,
                           "\"ev\":\"start\",\"sesid\":\"A~a\"%s", life),
                   0);
  assert_int_equal(line_at(r, 1, "B", T0 - SEC,
                           "\"ev\":\"start\",\"sesid\":\"B~b\"%s", life),
                   0);
}

/* A sends A~a:1 to B at T0, stamped T0 + 7 (a logical count). */
static void send_a1(run *r) {
  assert_int_equal(line_at(r, 0, "A", T0,
                           "\"ev\":\"send\",\"msg\":\"A~a:1\",\"to\":"
                           "\"B~b\",\"stamp\":%llu",
                           (unsigned long long)(T0 + 7)),
                   0);
}

/* B (from) or A (to) reports A~a:1 expired at net, with stamp and hlc. */
static void expire_a1(run *r, bool at_sender, uint64_t net, uint64_t stamp,
                      uint64_t hlc) {
  assert_int_equal(
      line_at(r, at_sender ? 0 : 1, at_sender ? "A" : "B", net,
              "\"ev\":\"undeliverable\",\"msg\":\"A~a:1\",\"%s\":\"%s\","
              "\"reason\":\"expired\",\"stamp\":%llu,\"hlc\":%llu",
              at_sender ? "to" : "from", at_sender ? "B~b" : "A~a",
              (unsigned long long)stamp, (unsigned long long)hlc),
      0);
}

static void stop2(run *r, uint64_t net) {
  line_at(r, 0, "A", net, "\"ev\":\"stop\"");
  line_at(r, 1, "B", net, "\"ev\":\"stop\"");
}

static int finish(run *r, p2pc_evcheck_result *res) {
  int st = p2pc_evcheck_finish(r->ec, res);
  assert_int_equal(st, P2PC_EVCHECK_CHECKED);
  return (int)res->violations;
}

#define LIFE_FIELD ",\"lifetime_ns\":60000000000"

/* Exact to the nanosecond beyond 2^53: Δ less 1 ns on the HLC is early,
 * Δ is due; the same for each side. */
static void test_expiry_exact(void **state) {
  (void)state;
  for (int at_sender = 0; at_sender < 2; at_sender++)
    for (int due = 0; due < 2; due++) {
      run r = {0};
      p2pc_evcheck_result res;
      start2(&r, LIFE_FIELD);
      send_a1(&r);
      expire_a1(&r, at_sender, T0 + LIFE, T0 + 7,
                T0 + 7 + LIFE - (due ? 0 : 1));
      stop2(&r, T0 + 2 * LIFE);
      assert_int_equal(finish(&r, &res), due ? 0 : 1);
      assert_int_equal(res.by_kind[P2PC_EVCHECK_EXPIRED_EARLY], due ? 0 : 1);
      assert_int_equal(res.expired, due ? 1 : 0);
      assert_int_equal(res.expiry_lines, 1);
      assert_int_equal(res.by_kind[P2PC_EVCHECK_MISSING], 0);
      if (!due)
        assert_string_equal(
            res.first, at_sender
                           ? "EXPIRED_EARLY: #0:3: A~a reported A~a:1 expired "
                             "at HLC 1700000060000000006, 60.000 s after its "
                             "stamp (lifetime 60.000 s)"
                           : "EXPIRED_EARLY: #1:2: B~b reported A~a:1 expired "
                             "at HLC 1700000060000000006, 60.000 s after its "
                             "stamp (lifetime 60.000 s)");
      p2pc_evcheck_free(r.ec);
    }
}

/* Network time 0.5 s short of send.net + Δ: within the default tolerance
 * of 1 s, not within 0.4 s. */
static void test_expiry_tolerance(void **state) {
  (void)state;
  for (int tight = 0; tight < 2; tight++) {
    run r = {0};
    p2pc_evcheck_result res;
    start2(&r, LIFE_FIELD);
    if (tight)
      p2pc_evcheck_set_expiry_tolerance(r.ec, 400000000);
    send_a1(&r);
    expire_a1(&r, false, T0 + LIFE - SEC / 2, T0 + 7, T0 + 7 + LIFE);
    stop2(&r, T0 + 2 * LIFE);
    assert_int_equal(finish(&r, &res), tight);
    if (tight)
      assert_string_equal(res.first,
                          "EXPIRED_EARLY: #1:2: B~b reported A~a:1 expired at "
                          "network time 59.500 s after its send (lifetime "
                          "60.000 s, tolerance 0.400 s)");
    else
      assert_int_equal(res.expired, 1);
    p2pc_evcheck_free(r.ec);
  }
}

/* Not due whatever the clocks say: Δ infinite (null, or no lifetime_ns
 * at all: a log from before expiry), a stamp that is not the send's, a
 * send without a stamp. */
static void test_expiry_never_due(void **state) {
  (void)state;
  static const char *const lifes[] = {",\"lifetime_ns\":null", "", LIFE_FIELD,
                                      LIFE_FIELD};
  static const char *const why[] = {
      "though its causal lifetime is infinite",
      "though its causal lifetime is infinite",
      ("with stamp 1700000000000000006, but it was sent with stamp "
       "1700000000000000007"),
      "but its send line has no stamp"};
  for (int k = 0; k < 4; k++) {
    run r = {0};
    p2pc_evcheck_result res;
    start2(&r, lifes[k]);
    if (k == 3)
      assert_int_equal(line_at(&r, 0, "A", T0,
                               "\"ev\":\"send\",\"msg\":\"A~a:1\",\"to\":"
                               "\"B~b\""),
                       0);
    else
      send_a1(&r);
    expire_a1(&r, true, T0 + 2 * LIFE, T0 + 7 - (k == 2), T0 + 2 * LIFE);
    stop2(&r, T0 + 3 * LIFE);
    assert_int_equal(finish(&r, &res), 1);
    assert_int_equal(res.by_kind[P2PC_EVCHECK_EXPIRED_EARLY], 1);
    char want[256];
    snprintf(want, sizeof want,
             "EXPIRED_EARLY: #0:3: A~a reported A~a:1 "
             "expired %s",
             why[k]);
    assert_string_equal(res.first, want);
    p2pc_evcheck_free(r.ec);
  }
}

/* A -> B (lost), A -> C; C delivers, C -> B; B delivers C's. Without an
 * expiry report that is ORDER and MISSING; with an honest one, clean. */
static void test_expiry_releases_successors(void **state) {
  (void)state;
  for (int report = 0; report < 2; report++) {
    run r = {0};
    p2pc_evcheck_result res;
    start2(&r, LIFE_FIELD);
    assert_int_equal(line_at(&r, 2, "C", T0 - SEC,
                             "\"ev\":\"start\",\"sesid\":\"C~c\"" LIFE_FIELD),
                     0);
    send_a1(&r);
    line_at(&r, 0, "A", T0 + 1,
            "\"ev\":\"send\",\"msg\":\"A~a:2\",\"to\":\"C~c\",\"stamp\":1");
    line_at(&r, 2, "C", T0 + 2, "\"ev\":\"deliver\",\"msg\":\"A~a:2\"");
    line_at(&r, 2, "C", T0 + 3,
            "\"ev\":\"send\",\"msg\":\"C~c:1\",\"to\":\"B~b\",\"stamp\":3");
    if (report)
      expire_a1(&r, true, T0 + LIFE, T0 + 7, T0 + 7 + LIFE);
    line_at(&r, 1, "B", T0 + LIFE, "\"ev\":\"deliver\",\"msg\":\"C~c:1\"");
    stop2(&r, T0 + 2 * LIFE);
    line_at(&r, 2, "C", T0 + 2 * LIFE, "\"ev\":\"stop\"");
    assert_int_equal(finish(&r, &res), report ? 0 : 2);
    assert_int_equal(res.by_kind[P2PC_EVCHECK_ORDER], report ? 0 : 1);
    assert_int_equal(res.by_kind[P2PC_EVCHECK_MISSING], report ? 0 : 1);
    assert_int_equal(res.expired, report ? 1 : 0);
    assert_int_equal(res.delivered, 2);
    p2pc_evcheck_free(r.ec);
  }
}

/* Reports by the wrong incarnation, or of a message no log sent, are LOG
 * and excuse nothing. */
static void test_expiry_wrong_reporter(void **state) {
  (void)state;
  run r = {0};
  p2pc_evcheck_result res;
  start2(&r, LIFE_FIELD);
  send_a1(&r);
  /* B reports it in the sender's form, A in the receiver's */
  assert_int_equal(line_at(&r, 1, "B", T0 + 2 * LIFE,
                           "\"ev\":\"undeliverable\",\"msg\":\"A~a:1\","
                           "\"to\":\"B~b\",\"reason\":\"expired\","
                           "\"stamp\":1,\"hlc\":1"),
                   0);
  assert_int_equal(line_at(&r, 0, "A", T0 + 2 * LIFE,
                           "\"ev\":\"undeliverable\",\"msg\":\"A~a:1\","
                           "\"from\":\"A~a\",\"reason\":\"expired\","
                           "\"stamp\":1,\"hlc\":1"),
                   0);
  assert_int_equal(line_at(&r, 1, "B", T0 + 2 * LIFE,
                           "\"ev\":\"undeliverable\",\"msg\":\"A~a:9\","
                           "\"from\":\"A~a\",\"reason\":\"expired\","
                           "\"stamp\":1,\"hlc\":1"),
                   0);
  stop2(&r, T0 + 3 * LIFE);
  assert_int_equal(finish(&r, &res), 4);
  assert_int_equal(res.by_kind[P2PC_EVCHECK_LOG], 3);
  assert_int_equal(res.by_kind[P2PC_EVCHECK_MISSING], 1);
  assert_int_equal(res.nlisted, 4);
  assert_string_equal(res.listed[0], "LOG: #1:2: B~b reported A~a:1 expired "
                                     "as its sender, which is A~a");
  assert_string_equal(res.listed[1], "LOG: #0:3: A~a reported A~a:1 expired "
                                     "as its destination, which is B~b");
  assert_string_equal(res.listed[2], "LOG: #1:3: B~b reported A~a:9 expired, "
                                     "but no log has its send");
  p2pc_evcheck_free(r.ec);
}

/* Malformed expiry and lifetime fields are input errors. */
static void test_expiry_bad_input(void **state) {
  (void)state;
  static const char *const bad_start[] = {
      ",\"lifetime_ns\":\"60 s\"", ",\"lifetime_ns\":-1",
      ",\"lifetime_ns\":6e10", ",\"lifetime_ns\":18446744073709551616"};
  for (size_t k = 0; k < sizeof bad_start / sizeof bad_start[0]; k++) {
    run r = {0};
    r.ec = p2pc_evcheck_new();
    assert_int_equal(line_at(&r, 0, "A", T0,
                             "\"ev\":\"start\",\"sesid\":\"A~a\"%s",
                             bad_start[k]),
                     P2PC_EVCHECK_LINE_LOST);
    p2pc_evcheck_free(r.ec);
  }
  static const char *const bad_line[] = {
      /* no stamp; a stamp with a fraction; no hlc; neither to nor from */
      "\"ev\":\"undeliverable\",\"msg\":\"A~a:1\",\"to\":\"B~b\","
      "\"reason\":\"expired\",\"hlc\":5",
      "\"ev\":\"undeliverable\",\"msg\":\"A~a:1\",\"to\":\"B~b\","
      "\"reason\":\"expired\",\"stamp\":1.5,\"hlc\":5",
      "\"ev\":\"undeliverable\",\"msg\":\"A~a:1\",\"to\":\"B~b\","
      "\"reason\":\"expired\",\"stamp\":1",
      "\"ev\":\"undeliverable\",\"msg\":\"A~a:1\","
      "\"reason\":\"expired\",\"stamp\":1,\"hlc\":5",
      /* a send with a negative stamp */
      "\"ev\":\"send\",\"msg\":\"A~a:2\",\"to\":\"B~b\",\"stamp\":-3"};
  for (size_t k = 0; k < sizeof bad_line / sizeof bad_line[0]; k++) {
    run r = {0};
    start2(&r, LIFE_FIELD);
    send_a1(&r);
    assert_int_equal(line_at(&r, 0, "A", T0 + LIFE, "%s", bad_line[k]),
                     P2PC_EVCHECK_LINE_BAD);
    p2pc_evcheck_result res;
    assert_int_equal(p2pc_evcheck_finish(r.ec, &res), P2PC_EVCHECK_BADINPUT);
    p2pc_evcheck_free(r.ec);
  }
  /* Another reason is the old `undeliverable`: nothing more is read. */
  run r = {0};
  start2(&r, LIFE_FIELD);
  send_a1(&r);
  assert_int_equal(line_at(&r, 0, "A", T0 + 1,
                           "\"ev\":\"undeliverable\",\"msg\":\"A~a:1\","
                           "\"to\":\"B\",\"reason\":\"peer restarted\""),
                   0);
  p2pc_evcheck_free(r.ec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixtures_any_interleaving),
      cmocka_unit_test(test_order_violation_caught),
      cmocka_unit_test(test_causal_run_clean),
      cmocka_unit_test(test_missing_and_settle_mark),
      cmocka_unit_test(test_partition_excuses_a_node_that_left),
      cmocka_unit_test(test_crash_excuse_and_duplicate),
      cmocka_unit_test(test_limit),
      cmocka_unit_test(test_lost_stream_and_names),
      cmocka_unit_test(test_expiry_exact),
      cmocka_unit_test(test_expiry_tolerance),
      cmocka_unit_test(test_expiry_never_due),
      cmocka_unit_test(test_expiry_releases_successors),
      cmocka_unit_test(test_expiry_wrong_reporter),
      cmocka_unit_test(test_expiry_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
