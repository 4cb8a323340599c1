/* SPDX-License-Identifier: MIT */
/*
 * The node's human log is bounded (lograte.c): lines of one shape pass 20
 * at once then one a second, all lines 200 at once then 50 a second, and
 * every line held back is counted and said — the lines written plus the
 * counts said always add up to the lines the node meant to write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_harness.h"
#include "nodeint.h"

#define S_NS 1000000000ull

typedef struct capture {
  int lines;       /* ordinary lines written */
  int summaries;   /* "log: N ... held back" lines */
  uint64_t held;   /* the sum of their N */
  int worst_level; /* the most severe level of a summary */
  char last_summary[256];
} capture;

static capture cap;

static void cap_log(void *ud, p2pc_log_level lv, const char *text) {
  (void)ud;
  unsigned long long k;
  if (sscanf(text, "log: %llu line", &k) == 1 && strstr(text, "held back")) {
    cap.summaries++;
    cap.held += k;
    if ((int)lv < cap.worst_level)
      cap.worst_level = (int)lv;
    snprintf(cap.last_summary, sizeof cap.last_summary, "%s", text);
    return;
  }
  cap.lines++;
}

static p2pc_node *logged_node(net *w) {
  memset(w, 0, sizeof *w);
  memset(&cap, 0, sizeof cap);
  cap.worst_level = 99;
  start_node(w, 0, NULL);
  p2pc_node *n = w->nodes[0].n;
  n->cb.log = cap_log;
  n->cb.log_ud = NULL;
  n->cb.log_level = P2PC_LOG_DEBUG;
  return n;
}

static void at(p2pc_node *n, uint64_t t) {
  n->now.mono_ns = t;
  n->now.local_ns = (int64_t)t;
}

/* Runs the node's deadline whenever it falls at or before t. */
static void wake_until(p2pc_node *n, uint64_t t) {
  uint64_t d;
  while ((d = n->log.due_ns) <= t) {
    at(n, d);
    p2pc__node_log_due(n);
  }
  at(n, t);
}

static void one_shape_flood(void **state) {
  (void)state;
  net w;
  p2pc_node *n = logged_node(&w);
  uint64_t t0 = 1000 * S_NS;
  at(n, t0);
  char line[64];
  for (int i = 0; i < 1000; i++) { /* numbers differ, the shape does not */
    snprintf(line, sizeof line, "link: bad frame from 127.0.0.1:%d", 1000 + i);
    p2pc__node_log(n, P2PC_LOG_WARN, line);
  }
  assert_int_equal(cap.lines, 20);
  assert_int_equal(cap.summaries, 0);
  /* The node asks to be woken within a second to say the count. */
  assert_true(p2pc_node_next_deadline(n) <= t0 + S_NS);
  wake_until(n, t0 + S_NS);
  assert_int_equal(cap.summaries, 1);
  assert_int_equal(cap.held, 980);
  assert_int_equal(cap.worst_level, P2PC_LOG_WARN);
  assert_non_null(strstr(cap.last_summary, "127.0.0.1:1999"));
  assert_int_equal(n->log.due_ns, UINT64_MAX);
  p2pc_node_free(n);
}

static void sustained_flood_adds_up(void **state) {
  (void)state;
  net w;
  p2pc_node *n = logged_node(&w);
  uint64_t t = 5 * S_NS;
  int sent = 0;
  /* 1,000 lines a second for 30 s, as a stranger's bad frames might come */
  for (int i = 0; i < 30000; i++, t += S_NS / 1000) {
    wake_until(n, t);
    p2pc__node_log(n, P2PC_LOG_INFO, "link: peer 7 sent garbage; closing");
    sent++;
  }
  wake_until(n, t + 2 * S_NS);
  assert_int_equal(cap.lines + (int)cap.held, sent);
  /* 20 at once, then about one a second */
  assert_in_range(cap.lines, 20 + 28, 20 + 31);
  assert_in_range(cap.summaries, 28, 32);
  p2pc_node_free(n);
}

static void many_shapes_hit_the_overall_limit(void **state) {
  (void)state;
  net w;
  p2pc_node *n = logged_node(&w);
  at(n, 10 * S_NS);
  char line[64];
  static const char *const words[] = {"alpha", "bravo", "charlie", "delta",
                                      "echo",  "fox",   "golf",    "hotel",
                                      "india", "juliet"};
  int sent = 0;
  for (int i = 0; i < 300; i++, sent++) { /* ten shapes, 30 lines each */
    snprintf(line, sizeof line, "peer %s says %d", words[i % 10], i);
    p2pc__node_log(n, P2PC_LOG_WARN, line);
  }
  assert_true(cap.lines <= 200);
  p2pc_node_free(n); /* freeing says every count still held */
  assert_int_equal(cap.lines + (int)cap.held, sent);
  assert_true(cap.held >= 100);
}

static void debug_lines_are_not_limited(void **state) {
  (void)state;
  net w;
  p2pc_node *n = logged_node(&w);
  at(n, 3 * S_NS);
  for (int i = 0; i < 500; i++)
    p2pc__node_log(n, P2PC_LOG_DEBUG, "swim: probe sent");
  assert_int_equal(cap.lines, 500);
  assert_int_equal(cap.summaries, 0);
  assert_int_equal(n->log.due_ns, UINT64_MAX);
  p2pc_node_free(n);
}

static void a_quiet_log_passes_everything(void **state) {
  (void)state;
  net w;
  p2pc_node *n = logged_node(&w);
  uint64_t t = 3 * S_NS;
  char line[64];
  /* a line of each of 40 kinds every 2 s for a minute: under both limits */
  int sent = 0;
  for (int round = 0; round < 30; round++, t += 2 * S_NS) {
    wake_until(n, t);
    for (int k = 0; k < 40; k++, sent++) {
      snprintf(line, sizeof line, "peers: node-%c%c up", 'a' + k % 26,
               'a' + k / 26);
      p2pc__node_log(n, P2PC_LOG_INFO, line);
    }
  }
  assert_int_equal(cap.lines, sent);
  assert_int_equal(cap.summaries, 0);
  p2pc_node_free(n);
}

static void a_slot_taken_says_its_count(void **state) {
  (void)state;
  net w;
  p2pc_node *n = logged_node(&w);
  at(n, 7 * S_NS);
  char line[64];
  int sent = 0;
  /* nine shapes (one more than there are slots), 25 lines each, in turn */
  for (int k = 0; k < 9; k++)
    for (int i = 0; i < 25; i++, sent++) {
      snprintf(line, sizeof line, "%c-kind line", 'a' + k);
      p2pc__node_log(n, P2PC_LOG_WARN, line);
    }
  /* the ninth took the first shape's slot: that count was said then */
  assert_int_equal(cap.summaries, 1);
  assert_int_equal(cap.held, 5);
  p2pc_node_free(n);
  assert_int_equal(cap.lines + (int)cap.held, sent);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(one_shape_flood),
      cmocka_unit_test(sustained_flood_adds_up),
      cmocka_unit_test(many_shapes_hit_the_overall_limit),
      cmocka_unit_test(debug_lines_are_not_limited),
      cmocka_unit_test(a_quiet_log_passes_everything),
      cmocka_unit_test(a_slot_taken_says_its_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
