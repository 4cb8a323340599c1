/* SPDX-License-Identifier: MIT */
/*
 * The simulator's memory account (src/sim/simmem.c) and the budget the
 * engine (src/sim/engine.c) keeps with it. The account: every block counted
 * with its header, exactly, through growth, shrinking and freeing, by the
 * p2pc_allocator interface the cores use as by the simulator's own calls;
 * the peak; an overflowing size refused and counted as a failure. The
 * budget: p2pc_sim_start_bytes is a close lower bound of what a new
 * simulation holds; p2pc_sim_new refuses a start over the budget; a run
 * stops where it reaches the budget, the same way every time, with the
 * rows so far given, a clean causal verdict over what was delivered, and
 * no more held than the budget plus one event's worth.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim.h"
#include "simmem.h"
#include <p2pclock/p2pclock.h>

#define HDR P2PC_SIMMEM_HDR
#define SEC 1000000000ull

/* ---- the account ---------------------------------------------------------
 */

static void test_counts_exactly(void **state) {
  (void)state;
  p2pc_simmem m;
  p2pc_simmem_init(&m);
  assert_int_equal(m.live, 0);
  char *a = p2pc_simmem_alloc(&m, 100);
  assert_non_null(a);
  memset(a, 'a', 100);
  assert_int_equal(m.live, 100 + HDR);
  assert_int_equal(m.blocks, 1);
  /* grows in place or moves: the contents stay, the count follows */
  a = p2pc_simmem_realloc(&m, a, 5000);
  assert_non_null(a);
  assert_int_equal(a[99], 'a');
  assert_int_equal(m.live, 5000 + HDR);
  assert_int_equal(m.peak, 5000 + HDR);
  a = p2pc_simmem_realloc(&m, a, 10);
  assert_non_null(a);
  assert_int_equal(a[9], 'a');
  assert_int_equal(m.live, 10 + HDR);
  assert_int_equal(m.peak, 5000 + HDR);
  uint64_t *z = p2pc_simmem_calloc(&m, 8, sizeof *z);
  assert_non_null(z);
  for (int i = 0; i < 8; i++)
    assert_int_equal(z[i], 0);
  assert_int_equal(m.live, 10 + 64 + 2 * HDR);
  assert_int_equal(m.blocks, 2);
  p2pc_simmem_free(&m, z);
  p2pc_simmem_free(&m, NULL);
  assert_int_equal(m.live, 10 + HDR);
  /* realloc to 0 frees */
  assert_null(p2pc_simmem_realloc(&m, a, 0));
  assert_int_equal(m.live, 0);
  assert_int_equal(m.blocks, 0);
  assert_int_equal(m.failed, 0);
  /* the owner's own bytes */
  p2pc_simmem_charge(&m, 7000);
  assert_int_equal(m.peak, 7000);
  p2pc_simmem_credit(&m, 7000);
  assert_int_equal(m.live, 0);
}

static void test_allocator_interface(void **state) {
  (void)state;
  p2pc_simmem m;
  p2pc_simmem_init(&m);
  const p2pc_allocator *a = &m.a;
  assert_ptr_equal(a->ud, &m);
  void *p = a->realloc(NULL, 300, a->ud);
  assert_non_null(p);
  assert_int_equal(m.live, 300 + HDR);
  p = a->realloc(p, 600, a->ud);
  assert_non_null(p);
  assert_int_equal(m.live, 600 + HDR);
  a->free(p, a->ud);
  a->free(NULL, a->ud);
  assert_int_equal(m.live, 0);
  assert_int_equal(m.peak, 600 + HDR);
  assert_null(a->realloc(NULL, 0, a->ud));
  assert_int_equal(m.live, 0);
}

static void test_overflow_refused(void **state) {
  (void)state;
  p2pc_simmem m;
  p2pc_simmem_init(&m);
  assert_null(p2pc_simmem_alloc(&m, SIZE_MAX - 4));
  assert_null(p2pc_simmem_calloc(&m, SIZE_MAX / 2, 4));
  char *p = p2pc_simmem_alloc(&m, 16);
  assert_non_null(p);
  assert_null(p2pc_simmem_realloc(&m, p, SIZE_MAX));
  assert_int_equal(m.failed, 3);
  assert_int_equal(m.live, 16 + HDR); /* p is as it was */
  p2pc_simmem_free(&m, p);
  assert_int_equal(m.live, 0);
}

/* ---- the budget ----------------------------------------------------------
 */

typedef struct rows {
  uint32_t n;
  uint64_t last_t;
} rows;

static void on_row(void *ud, const p2pc_sim_second *row) {
  rows *r = ud;
  r->n++;
  r->last_t = row->t_s;
}

/* 60 nodes in a full mesh sending 2 messages a second: SES metadata and
 * the oracle's records grow all along. */
static void small_cfg(p2pc_sim_config *cfg) {
  p2pc_sim_config_default(cfg, 60);
  cfg->duration_ns = 12 * SEC;
  cfg->rate = 2;
}

static p2pc_sim_result run(const p2pc_sim_config *cfg, rows *rw) {
  char err[256];
  p2pc_sim *s = p2pc_sim_new(cfg, err, sizeof err);
  assert_non_null(s);
  memset(rw, 0, sizeof *rw);
  p2pc_sim_run(s, NULL, on_row, rw);
  p2pc_sim_result r;
  p2pc_sim_result_get(s, &r);
  p2pc_sim_free(s);
  return r;
}

static void test_start_bytes(void **state) {
  (void)state;
  static const p2pc_sim_topology topo[] = {P2PC_SIM_FULL, P2PC_SIM_KREGULAR,
                                           P2PC_SIM_RING};
  for (int k = 0; k < 3; k++) {
    p2pc_sim_config *cfg = malloc(sizeof *cfg);
    assert_non_null(cfg);
    p2pc_sim_config_default(cfg, 200);
    cfg->topology = topo[k];
    uint64_t est = p2pc_sim_start_bytes(cfg);
    char err[256];
    p2pc_sim *s = p2pc_sim_new(cfg, err, sizeof err);
    assert_non_null(s);
    p2pc_sim_result r;
    p2pc_sim_result_get(s, &r);
    /* what the new simulation holds: no less than the estimate, which
     * misses only the first actions of the nodes (their dials) */
    printf("topology %d: start estimate %llu, held %llu\n", k,
           (unsigned long long)est, (unsigned long long)r.mem_now);
    assert_true(est > 200 * 1024);
    assert_true(r.mem_now >= est);
    assert_true(r.mem_now <= est + est / 4);
    p2pc_sim_free(s);
    /* over the budget by a byte: refused, saying why */
    cfg->max_memory = est - 1;
    assert_null(p2pc_sim_new(cfg, err, sizeof err));
    assert_non_null(strstr(err, "over the memory budget"));
    cfg->max_memory = est;
    s = p2pc_sim_new(cfg, err, sizeof err);
    assert_non_null(s);
    p2pc_sim_free(s);
    free(cfg);
  }
  p2pc_sim_config cfg;
  p2pc_sim_config_default(&cfg, 0);
  assert_int_equal(p2pc_sim_start_bytes(&cfg), 0);
}

static void test_budget_stops_the_run(void **state) {
  (void)state;
  p2pc_sim_config *cfg = malloc(sizeof *cfg);
  assert_non_null(cfg);
  small_cfg(cfg);
  rows rw;
  p2pc_sim_result full = run(cfg, &rw);
  assert_int_equal(full.stop, P2PC_SIM_STOP_END);
  assert_int_equal(full.stop_ns, cfg->duration_ns);
  assert_int_equal(rw.n, 12);
  assert_true(full.causal_checked);
  assert_true(full.mem_oracle > 0);
  assert_true(full.mem_peak > full.mem_counted_peak);
  uint64_t start = p2pc_sim_start_bytes(cfg);
  printf("unbounded: start %llu, peak %llu (counted %llu, oracle %llu)\n",
         (unsigned long long)start, (unsigned long long)full.mem_peak,
         (unsigned long long)full.mem_counted_peak,
         (unsigned long long)full.mem_oracle);
  assert_true(full.mem_peak > start + start / 2); /* it does grow */

  /* halfway between: stopped there, twice at the same event */
  cfg->max_memory = start + (full.mem_peak - start) / 2;
  rows rw1, rw2;
  p2pc_sim_result a = run(cfg, &rw1), b = run(cfg, &rw2);
  printf("budget %llu: stopped at %.3f s, peak %llu (counted %llu)\n",
         (unsigned long long)cfg->max_memory, (double)a.stop_ns / 1e9,
         (unsigned long long)a.mem_peak,
         (unsigned long long)a.mem_counted_peak);
  assert_int_equal(a.stop, P2PC_SIM_STOP_BUDGET);
  assert_true(a.stop_ns > 0 && a.stop_ns < cfg->duration_ns);
  assert_true(a.events < full.events);
  assert_int_equal(a.stop_ns, b.stop_ns);
  assert_int_equal(a.events, b.events);
  assert_int_equal(a.mem_peak, b.mem_peak);
  /* reached, and by no more than one event's allocations */
  assert_true(a.mem_peak >= cfg->max_memory);
  assert_true(a.mem_now >= cfg->max_memory);
  assert_true(a.mem_counted_peak + a.mem_oracle <=
              cfg->max_memory + (1u << 20));
  /* every second before the stop had its row, and none after */
  assert_int_equal(rw1.n, a.stop_ns / SEC);
  assert_int_equal(rw1.last_t, a.stop_ns / SEC);
  /* what was delivered was in causal order; what was in flight is not
   * missing */
  assert_true(a.causal_checked);
  assert_int_equal(a.causal_violations, 0);
  assert_int_equal(a.missing, 0);
  assert_true(a.msgs_delivered > 0);
  free(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_counts_exactly),
      cmocka_unit_test(test_allocator_interface),
      cmocka_unit_test(test_overflow_refused),
      cmocka_unit_test(test_start_bytes),
      cmocka_unit_test(test_budget_stops_the_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
