/* SPDX-License-Identifier: MIT */
/*
 * The depth-limited minimum of local stable values (stable.h). Known
 * answers on a line and a ring (a[d] is the minimum of LS over the nodes
 * within d hops once reports have flowed for D rounds), a rise reaching
 * every node in D rounds and no sooner, the decreased flag, frozen reports
 * and their hold, refusals; then a randomized property test over random
 * graphs with reports and DATA in flight on FIFO links (the seed is printed,
 * P2PC_SEED=<u64> replays another), with a deliberately broken lead that
 * the test must catch; and the counterexample that bounds what G promises
 * for causal chains longer than D hops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failalloc.h"
#include "rng.h"
#include "stable.h"
#include "testseed.h"

#define D P2PC_STABLE_DEPTH
#define NMAX 72  /* nodes in a simulated network */
#define DEGMAX 8 /* neighbour slots per node */
#define NEVER 255

static uint64_t seed_for(const char *test, uint64_t dflt) {
  uint64_t seed = p2pc_test_seed(test, dflt);
  return seed;
}

static p2pc_stable_report flat(uint64_t v) {
  p2pc_stable_report r;
  for (int d = 0; d < D; d++)
    r.v[d] = v;
  return r;
}

/* ---- a simulated network: nodes, links, rounds ------------------------ */

typedef struct net {
  uint32_t n;
  uint32_t deg[NMAX];
  uint32_t nb[NMAX][DEGMAX]; /* node i's key k is neighbour nb[i][k] */
  bool deaf[NMAX][DEGMAX];   /* node i does not get reports from key k */
  uint64_t ls[NMAX];
  p2pc_stable *st[NMAX];
  uint8_t dist[NMAX][NMAX];
  p2pc_stable_report r[NMAX]; /* one round's reports */
} net;

static net *net_new(uint32_t n) {
  net *t = calloc(1, sizeof *t);
  assert_non_null(t);
  t->n = n;
  for (uint32_t i = 0; i < n; i++)
    assert_int_equal(p2pc_stable_new(&t->st[i], NULL, DEGMAX, UINT64_MAX), 0);
  return t;
}

static void net_free(net *t) {
  for (uint32_t i = 0; i < t->n; i++)
    p2pc_stable_free(t->st[i]);
  free(t);
}

static bool linked(const net *t, uint32_t i, uint32_t j) {
  for (uint32_t k = 0; k < t->deg[i]; k++)
    if (t->nb[i][k] == j)
      return true;
  return false;
}

static uint32_t key_of(const net *t, uint32_t i, uint32_t j) {
  for (uint32_t k = 0; k < t->deg[i]; k++)
    if (t->nb[i][k] == j)
      return k;
  fail_msg("%u is not a neighbour of %u", j, i);
  return 0;
}

static void add_edge(net *t, uint32_t i, uint32_t j) {
  assert_true(i != j && !linked(t, i, j));
  assert_true(t->deg[i] < DEGMAX && t->deg[j] < DEGMAX);
  t->nb[i][t->deg[i]++] = j;
  t->nb[j][t->deg[j]++] = i;
}

/* Hop distances by breadth-first search; NEVER if unreachable. */
static void net_distances(net *t) {
  for (uint32_t s = 0; s < t->n; s++) {
    uint32_t q[NMAX], qh = 0, qt = 0;
    memset(t->dist[s], NEVER, sizeof t->dist[s]);
    t->dist[s][s] = 0;
    q[qt++] = s;
    while (qh < qt) {
      uint32_t u = q[qh++];
      for (uint32_t k = 0; k < t->deg[u]; k++) {
        uint32_t v = t->nb[u][k];
        if (t->dist[s][v] == NEVER) {
          t->dist[s][v] = (uint8_t)(t->dist[s][u] + 1);
          q[qt++] = v;
        }
      }
    }
  }
}

static uint32_t net_diameter(const net *t) {
  uint32_t dm = 0;
  for (uint32_t i = 0; i < t->n; i++)
    for (uint32_t j = 0; j < t->n; j++)
      if (t->dist[i][j] > dm)
        dm = t->dist[i][j];
  return dm;
}

static void set_ls(net *t, uint32_t i, uint64_t v) {
  t->ls[i] = v;
  p2pc_stable_set_local(t->st[i], v);
}

/* One round: every node reports, then every node takes its neighbours'
 * reports (except on deaf keys). */
static void net_round(net *t, uint64_t hlc) {
  for (uint32_t i = 0; i < t->n; i++)
    p2pc_stable_report_out(t->st[i], &t->r[i]);
  for (uint32_t i = 0; i < t->n; i++)
    for (uint32_t k = 0; k < t->deg[i]; k++)
      if (!t->deaf[i][k])
        assert_int_equal(
            p2pc_stable_report_in(t->st[i], k, &t->r[t->nb[i][k]], hlc), 0);
  /* Rises take effect at a refresh (each heartbeat, in the node). */
  for (uint32_t i = 0; i < t->n; i++)
    p2pc_stable_refresh(t->st[i]);
}

static uint64_t min_ls(const net *t) {
  uint64_t m = UINT64_MAX;
  for (uint32_t i = 0; i < t->n; i++)
    if (t->ls[i] < m)
      m = t->ls[i];
  return m;
}

/* After D rounds with LS fixed: a_i[d] = min LS over the nodes within d
 * hops of i, at every level. */
static void check_levels_exact(const net *t) {
  for (uint32_t i = 0; i < t->n; i++) {
    for (uint32_t d = 0; d <= D; d++) {
      uint64_t m = UINT64_MAX;
      for (uint32_t j = 0; j < t->n; j++)
        if (t->dist[i][j] <= d && t->ls[j] < m)
          m = t->ls[j];
      assert_int_equal(p2pc_stable_level(t->st[i], d), m);
    }
  }
}

/* ---- known answers ------------------------------------------------------ */

static void test_new_free(void **state) {
  (void)state;
  p2pc_stable *s = NULL;
  assert_int_equal(p2pc_stable_new(&s, NULL, P2PC_STABLE_MAX_NEIGHBOURS + 1, 1),
                   P2PC_ERR_INVAL);
  assert_null(s);
  failalloc fa;
  failalloc_init(&fa);
  fa.countdown = 0;
  assert_int_equal(p2pc_stable_new(&s, &fa.a, 4, 1), P2PC_ERR_NOMEM);
  assert_null(s);
  fa.countdown = -1;
  assert_int_equal(p2pc_stable_new(&s, &fa.a, 4, 1), 0);
  assert_int_equal(fa.live, 1);
  /* LS unknown: G is 0, and nothing has been reported yet. */
  assert_int_equal(p2pc_stable_global(s), 0);
  assert_true(p2pc_stable_decreased(s));
  assert_int_equal(p2pc_stable_live(s), 0);
  assert_int_equal(p2pc_stable_frozen(s), 0);
  assert_int_equal(p2pc_stable_next_deadline(s), UINT64_MAX);
  p2pc_stable_free(s);
  assert_int_equal(fa.live, 0);
  p2pc_stable_free(NULL);
  /* No neighbours at all: G is LS. */
  assert_int_equal(p2pc_stable_new(&s, NULL, 0, 1), 0);
  p2pc_stable_set_local(s, 77);
  assert_int_equal(p2pc_stable_global(s), 77);
  p2pc_stable_report r = flat(1);
  assert_int_equal(p2pc_stable_report_in(s, 0, &r, 1), P2PC_ERR_INVAL);
  p2pc_stable_free(s);
}

/* Cold start (no reports anywhere) on a line with the minimum at one end:
 * the far end learns it in exactly diameter rounds; after D rounds every
 * level is the minimum within its radius. */
static void test_line_converges(void **state) {
  (void)state;
  const uint32_t n = 12;
  net *t = net_new(n);
  for (uint32_t i = 0; i + 1 < n; i++)
    add_edge(t, i, i + 1);
  net_distances(t);
  assert_int_equal(net_diameter(t), n - 1);
  for (uint32_t i = 0; i < n; i++)
    set_ls(t, i, 1000 + 37 * ((i * 7) % n) + 5);
  set_ls(t, 0, 400);
  for (uint32_t r = 1; r <= n - 1; r++) {
    net_round(t, r);
    /* Node i knows the minimum exactly when r >= i. */
    for (uint32_t i = 0; i < n; i++)
      assert_true((p2pc_stable_global(t->st[i]) == 400) == (r >= i));
  }
  for (uint32_t r = n; r <= D; r++)
    net_round(t, r);
  check_levels_exact(t);
  net_free(t);
}

static void test_ring_converges(void **state) {
  (void)state;
  const uint32_t n = 13; /* diameter 6 */
  net *t = net_new(n);
  for (uint32_t i = 0; i < n; i++)
    add_edge(t, i, (i + 1) % n);
  net_distances(t);
  assert_int_equal(net_diameter(t), 6);
  for (uint32_t i = 0; i < n; i++)
    set_ls(t, i, 5000 - 100 * i); /* minimum at node 12 */
  for (uint32_t r = 1; r <= 6; r++) {
    net_round(t, r);
    for (uint32_t i = 0; i < n; i++)
      assert_true((p2pc_stable_global(t->st[i]) == min_ls(t)) ==
                  (t->dist[i][12] <= r));
  }
  for (uint32_t r = 7; r <= D; r++)
    net_round(t, r);
  check_levels_exact(t);
  net_free(t);
}

/* A rise at the node holding the minimum: on a ring the old value keeps
 * coming back along walks that bounce, but only for D rounds. */
static void test_rise_no_echo(void **state) {
  (void)state;
  const uint32_t n = 8;
  net *t = net_new(n);
  for (uint32_t i = 0; i < n; i++)
    add_edge(t, i, (i + 1) % n);
  net_distances(t);
  for (uint32_t i = 0; i < n; i++)
    set_ls(t, i, 100 + i);
  set_ls(t, 0, 10);
  for (uint32_t r = 1; r <= D + 1; r++)
    net_round(t, r);
  for (uint32_t i = 0; i < n; i++)
    assert_int_equal(p2pc_stable_global(t->st[i]), 10);
  set_ls(t, 0, 200);
  for (uint32_t r = 1; r < D; r++) {
    net_round(t, 100 + r);
    uint32_t old = 0;
    for (uint32_t i = 0; i < n; i++)
      old += p2pc_stable_global(t->st[i]) == 10;
    assert_true(old > 0); /* a stale 10 still somewhere at level D */
  }
  net_round(t, 100 + D);
  for (uint32_t i = 0; i < n; i++)
    assert_int_equal(p2pc_stable_global(t->st[i]), 101);
  check_levels_exact(t);
  net_free(t);
}

static void test_decreased_flag(void **state) {
  (void)state;
  p2pc_stable *s;
  p2pc_stable_report r, in;
  assert_int_equal(p2pc_stable_new(&s, NULL, 2, 1000), 0);
  p2pc_stable_set_local(s, 100);
  assert_true(p2pc_stable_decreased(s)); /* never reported */
  p2pc_stable_report_out(s, &r);
  assert_false(p2pc_stable_decreased(s));
  for (int d = 0; d < D; d++)
    assert_int_equal(r.v[d], 100);
  /* A neighbour below us: levels 1.. fall. */
  in = flat(50);
  assert_int_equal(p2pc_stable_report_in(s, 0, &in, 1), 0);
  assert_true(p2pc_stable_decreased(s));
  assert_int_equal(p2pc_stable_level(s, 0), 100);
  assert_int_equal(p2pc_stable_level(s, 1), 50);
  assert_int_equal(p2pc_stable_global(s), 50);
  p2pc_stable_report_out(s, &r);
  assert_false(p2pc_stable_decreased(s));
  assert_int_equal(r.v[0], 100);
  assert_int_equal(r.v[D - 1], 50);
  /* Rises never set it. */
  in = flat(70);
  assert_int_equal(p2pc_stable_report_in(s, 0, &in, 2), 0);
  assert_false(p2pc_stable_decreased(s));
  p2pc_stable_set_local(s, 300);
  assert_false(p2pc_stable_decreased(s));
  assert_int_equal(p2pc_stable_global(s), 70);
  /* A fall that stays above the last report does not either: what the
   * neighbours hold is still <= every level. */
  p2pc_stable_report_out(s, &r); /* 300, 70, ..., 70 */
  in = flat(90);
  assert_int_equal(p2pc_stable_report_in(s, 1, &in, 3), 0);
  assert_false(p2pc_stable_decreased(s));
  in = flat(60);
  assert_int_equal(p2pc_stable_report_in(s, 1, &in, 4), 0);
  assert_true(p2pc_stable_decreased(s));
  /* ... and the flag is exact once refreshed: back above the last
   * report, cleared (a rise waits for the refresh). */
  in = flat(80);
  assert_int_equal(p2pc_stable_report_in(s, 1, &in, 5), 0);
  p2pc_stable_refresh(s);
  assert_false(p2pc_stable_decreased(s));
  /* A fall at level D alone (G) is not reported, so it does not count. */
  in = flat(300);
  in.v[D - 1] = 5;
  assert_int_equal(p2pc_stable_report_in(s, 1, &in, 6), 0);
  assert_int_equal(p2pc_stable_global(s), 5);
  assert_false(p2pc_stable_decreased(s));
  /* A lower LS is taken (the safe direction) and reported. */
  p2pc_stable_set_local(s, 250);
  assert_true(p2pc_stable_decreased(s));
  assert_int_equal(p2pc_stable_level(s, 0), 250);
  p2pc_stable_free(s);
}

static void test_frozen_hold(void **state) {
  (void)state;
  p2pc_stable *s;
  p2pc_stable_report in = flat(10);
  p2pc_stable_stats st;
  assert_int_equal(p2pc_stable_new(&s, NULL, 3, 1000), 0);
  p2pc_stable_set_local(s, 100);
  assert_int_equal(p2pc_stable_report_in(s, 1, &in, 500), 0);
  assert_int_equal(p2pc_stable_slot(s, 1), P2PC_STABLE_LIVE);
  assert_int_equal(p2pc_stable_global(s), 10);
  /* Live reports have no deadline, whatever the time. */
  p2pc_stable_tick(s, UINT64_MAX);
  assert_int_equal(p2pc_stable_global(s), 10);
  p2pc_stable_heard(s, 1, 600);
  p2pc_stable_link_down(s, 1, 900);
  assert_int_equal(p2pc_stable_slot(s, 1), P2PC_STABLE_FROZEN);
  assert_int_equal(p2pc_stable_live(s), 0);
  assert_int_equal(p2pc_stable_frozen(s), 1);
  assert_int_equal(p2pc_stable_global(s), 10); /* still counted */
  assert_int_equal(p2pc_stable_next_deadline(s), 1600);
  /* Hearing from it (say its HELLO on a new link) extends the hold. */
  p2pc_stable_heard(s, 1, 800);
  assert_int_equal(p2pc_stable_next_deadline(s), 1800);
  p2pc_stable_heard(s, 1, 700); /* never backwards */
  assert_int_equal(p2pc_stable_next_deadline(s), 1800);
  p2pc_stable_tick(s, 1799);
  assert_int_equal(p2pc_stable_global(s), 10);
  p2pc_stable_tick(s, 1800);
  assert_int_equal(p2pc_stable_slot(s, 1), P2PC_STABLE_EMPTY);
  assert_int_equal(p2pc_stable_global(s), 100);
  assert_int_equal(p2pc_stable_frozen(s), 0);
  assert_int_equal(p2pc_stable_next_deadline(s), UINT64_MAX);
  /* Down after the hold is already over: dropped at once. */
  assert_int_equal(p2pc_stable_report_in(s, 2, &in, 2000), 0);
  p2pc_stable_link_down(s, 2, 3000);
  assert_int_equal(p2pc_stable_slot(s, 2), P2PC_STABLE_EMPTY);
  assert_int_equal(p2pc_stable_global(s), 100);
  p2pc_stable_get_stats(s, &st);
  assert_int_equal(st.freezes, 2);
  assert_int_equal(st.held_out, 2);
  assert_int_equal(st.reports_in, 2);
  /* Empty slots: heard, down and forget do nothing. */
  p2pc_stable_heard(s, 0, 5000);
  p2pc_stable_link_down(s, 0, 5000);
  p2pc_stable_forget(s, 0);
  assert_int_equal(p2pc_stable_slot(s, 0), P2PC_STABLE_EMPTY);
  p2pc_stable_free(s);

  /* A hold that never ends, and one that would end past 2^64. */
  assert_int_equal(p2pc_stable_new(&s, NULL, 1, UINT64_MAX), 0);
  p2pc_stable_set_local(s, 100);
  assert_int_equal(p2pc_stable_report_in(s, 0, &in, 1), 0);
  p2pc_stable_link_down(s, 0, UINT64_MAX);
  p2pc_stable_tick(s, UINT64_MAX);
  assert_int_equal(p2pc_stable_global(s), 10);
  assert_int_equal(p2pc_stable_next_deadline(s), UINT64_MAX);
  p2pc_stable_free(s);
  assert_int_equal(p2pc_stable_new(&s, NULL, 1, 1000), 0);
  assert_int_equal(p2pc_stable_report_in(s, 0, &in, UINT64_MAX - 10), 0);
  p2pc_stable_link_down(s, 0, UINT64_MAX);
  assert_int_equal(p2pc_stable_slot(s, 0), P2PC_STABLE_FROZEN);
  assert_int_equal(p2pc_stable_next_deadline(s), UINT64_MAX);
  p2pc_stable_free(s);
}

/* The same neighbour back on a new link: its frozen report counts until
 * its first fresh one, which replaces it whatever its values. */
static void test_fresh_replaces_frozen(void **state) {
  (void)state;
  p2pc_stable *s;
  p2pc_stable_report in = flat(10);
  p2pc_stable_stats st;
  assert_int_equal(p2pc_stable_new(&s, NULL, 2, 1000), 0);
  p2pc_stable_set_local(s, 100);
  assert_int_equal(p2pc_stable_report_in(s, 0, &in, 1), 0);
  p2pc_stable_link_down(s, 0, 2);
  p2pc_stable_heard(s, 0, 3); /* its HELLO */
  assert_int_equal(p2pc_stable_global(s), 10);
  in = flat(60);
  assert_int_equal(p2pc_stable_report_in(s, 0, &in, 4), 0);
  assert_int_equal(p2pc_stable_slot(s, 0), P2PC_STABLE_LIVE);
  assert_int_equal(p2pc_stable_global(s), 10); /* a rise waits ... */
  p2pc_stable_refresh(s);
  assert_int_equal(p2pc_stable_global(s), 60); /* ... for the refresh */
  assert_int_equal(p2pc_stable_live(s), 1);
  assert_int_equal(p2pc_stable_frozen(s), 0);
  /* Live now: the old hold no longer applies. */
  p2pc_stable_tick(s, 1004);
  assert_int_equal(p2pc_stable_global(s), 60);
  p2pc_stable_get_stats(s, &st);
  assert_int_equal(st.thaws, 1);
  assert_int_equal(st.freezes, 1);
  assert_int_equal(st.held_out, 0);
  /* forget drops live reports as well. */
  p2pc_stable_forget(s, 0);
  assert_int_equal(p2pc_stable_global(s), 100);
  p2pc_stable_get_stats(s, &st);
  assert_int_equal(st.forgotten, 1);
  assert_int_equal(st.live, 0);
  p2pc_stable_free(s);
}

static void test_refusals(void **state) {
  (void)state;
  p2pc_stable *s;
  p2pc_stable_report in = flat(40);
  p2pc_stable_stats st;
  assert_int_equal(p2pc_stable_new(&s, NULL, 2, 1000), 0);
  p2pc_stable_set_local(s, 100);
  assert_int_equal(p2pc_stable_report_in(s, 0, &in, 1), 0);
  /* A level above the one before it, anywhere: refused, nothing changes. */
  for (int d = 1; d < D; d++) {
    p2pc_stable_report bad = flat(30);
    bad.v[d] = 31;
    assert_int_equal(p2pc_stable_report_in(s, 0, &bad, 2), P2PC_ERR_PROTO);
    assert_int_equal(p2pc_stable_report_in(s, 1, &bad, 2), P2PC_ERR_PROTO);
  }
  assert_int_equal(p2pc_stable_global(s), 40);
  assert_int_equal(p2pc_stable_slot(s, 1), P2PC_STABLE_EMPTY);
  /* Keys out of range. */
  assert_int_equal(p2pc_stable_report_in(s, 2, &in, 2), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_stable_report_in(s, UINT32_MAX, &in, 2),
                   P2PC_ERR_INVAL);
  p2pc_stable_heard(s, 2, 9);
  p2pc_stable_link_down(s, 2, 9);
  p2pc_stable_forget(s, 2);
  assert_int_equal(p2pc_stable_slot(s, 2), P2PC_STABLE_EMPTY);
  p2pc_stable_get_stats(s, &st);
  assert_int_equal(st.refused, 2 * (D - 1));
  assert_int_equal(st.reports_in, 1);
  assert_int_equal(st.live, 1);
  /* Equal neighbours and the extremes are fine. */
  in = flat(UINT64_MAX);
  in.v[D - 1] = 0;
  assert_int_equal(p2pc_stable_report_in(s, 1, &in, 3), 0);
  assert_int_equal(p2pc_stable_global(s), 0);
  assert_int_equal(p2pc_stable_level(s, D - 1), 40);
  p2pc_stable_free(s);
}

/* ---- randomized: reports and DATA in flight on FIFO links -------------- */

enum { ITEM_REPORT, ITEM_DATA };
#define QMAX 6

typedef struct item {
  uint8_t kind;
  p2pc_stable_report r;
  uint8_t hops[NMAX]; /* DATA: the sender's hops[] when it sent */
} item;

typedef struct sim {
  net *t;
  p2pc_rng rng;
  item q[NMAX][DEGMAX][QMAX]; /* FIFO of the link from i to nb[i][k] */
  uint32_t qhead[NMAX][DEGMAX], qlen[NMAX][DEGMAX];
  /* hops[y][s]: the fewest DATA hops over which something of s's reached
   * y (NEVER: nothing yet); hops[y][y] = 0. */
  uint8_t hops[NMAX][NMAX];
  uint64_t hlc;
  bool broken_lead; /* sends DATA without the report it owes first */
  uint64_t violations;
} sim;

static void deliver(sim *S, uint32_t i, uint32_t k) {
  net *t = S->t;
  uint32_t j = t->nb[i][k];
  item *it = &S->q[i][k][S->qhead[i][k]];
  S->qhead[i][k] = (S->qhead[i][k] + 1) % QMAX;
  S->qlen[i][k]--;
  if (it->kind == ITEM_REPORT) {
    assert_int_equal(
        p2pc_stable_report_in(t->st[j], key_of(t, j, i), &it->r, S->hlc), 0);
    return;
  }
  p2pc_stable_heard(t->st[j], key_of(t, j, i), S->hlc);
  for (uint32_t s = 0; s < t->n; s++)
    if (it->hops[s] < NEVER - 1 && it->hops[s] + 1 < S->hops[j][s])
      S->hops[j][s] = (uint8_t)(it->hops[s] + 1);
}

/* Appends to the link from i to key k; a full link first delivers. */
static item *enqueue(sim *S, uint32_t i, uint32_t k) {
  if (S->qlen[i][k] == QMAX)
    deliver(S, i, k);
  item *it = &S->q[i][k][(S->qhead[i][k] + S->qlen[i][k]) % QMAX];
  S->qlen[i][k]++;
  return it;
}

static void emit_report(sim *S, uint32_t i) {
  p2pc_stable_report r;
  p2pc_stable_refresh(S->t->st[i]); /* the heartbeat refreshes, then reports */
  p2pc_stable_report_out(S->t->st[i], &r);
  for (uint32_t k = 0; k < S->t->deg[i]; k++) {
    item *it = enqueue(S, i, k);
    it->kind = ITEM_REPORT;
    it->r = r;
  }
}

static void send_data(sim *S, uint32_t i, uint32_t k) {
  if (p2pc_stable_decreased(S->t->st[i]) && !S->broken_lead)
    emit_report(S, i);
  item *it = enqueue(S, i, k);
  it->kind = ITEM_DATA;
  memcpy(it->hops, S->hops[i], sizeof it->hops);
}

static void flush(sim *S) {
  for (uint32_t i = 0; i < S->t->n; i++)
    for (uint32_t k = 0; k < S->t->deg[i]; k++)
      while (S->qlen[i][k])
        deliver(S, i, k);
}

static void sim_round(sim *S) {
  for (uint32_t i = 0; i < S->t->n; i++)
    emit_report(S, i);
  flush(S);
  for (uint32_t i = 0; i < S->t->n; i++)
    p2pc_stable_refresh(S->t->st[i]);
}

/* A connected random graph on n nodes, degrees <= DEGMAX: a random tree,
 * then random extra edges. Its diameter is below n <= 24 < D. */
static void random_graph(net *t, p2pc_rng *rng) {
  for (uint32_t i = 1; i < t->n; i++) {
    uint32_t j;
    do
      j = (uint32_t)p2pc_rng_below(rng, i);
    while (t->deg[j] >= DEGMAX - 1);
    add_edge(t, i, j);
  }
  uint32_t extra = (uint32_t)p2pc_rng_below(rng, t->n + 1);
  for (uint32_t e = 0; e < extra; e++) {
    uint32_t i = (uint32_t)p2pc_rng_below(rng, t->n);
    uint32_t j = (uint32_t)p2pc_rng_below(rng, t->n);
    if (i != j && !linked(t, i, j) && t->deg[i] < DEGMAX && t->deg[j] < DEGMAX)
      add_edge(t, i, j);
  }
  net_distances(t);
  assert_true(net_diameter(t) < D);
}

/* One random step: a rise, a heartbeat, a delivery or a DATA. */
static void random_step(sim *S) {
  net *t = S->t;
  uint32_t i = (uint32_t)p2pc_rng_below(&S->rng, t->n);
  uint64_t c = p2pc_rng_below(&S->rng, 100);
  S->hlc++;
  if (c < 20) {
    set_ls(t, i, t->ls[i] + p2pc_rng_below(&S->rng, 50));
  } else if (c < 40) {
    emit_report(S, i);
  } else if (c < 80) {
    uint32_t k = (uint32_t)p2pc_rng_below(&S->rng, t->deg[i]);
    if (S->qlen[i][k])
      deliver(S, i, k);
  } else {
    send_data(S, i, (uint32_t)p2pc_rng_below(&S->rng, t->deg[i]));
  }
}

/* What G promises, from a cold start: something of s's reached y over at
 * most D DATA hops => G_y <= LS_s now. Counts violations. */
static void check_hops(sim *S) {
  net *t = S->t;
  for (uint32_t y = 0; y < t->n; y++) {
    uint64_t g = p2pc_stable_global(t->st[y]);
    for (uint32_t d = 1; d <= D; d++)
      assert_true(p2pc_stable_level(t->st[y], d) <=
                  p2pc_stable_level(t->st[y], d - 1));
    for (uint32_t s = 0; s < t->n; s++)
      if (S->hops[y][s] <= D && g > t->ls[s])
        S->violations++;
  }
}

/* One random network through three phases. Returns the violations of the
 * cold-start promise (phase 1); phases 2 and 3 assert. */
static uint64_t run_network(uint64_t seed, uint64_t trial, bool broken) {
  sim *S = calloc(1, sizeof *S);
  assert_non_null(S);
  p2pc_rng_seed(&S->rng, seed, trial);
  uint32_t n = 2 + (uint32_t)p2pc_rng_below(&S->rng, 23);
  net *t = net_new(n);
  S->t = t;
  S->broken_lead = broken;
  random_graph(t, &S->rng);
  memset(S->hops, NEVER, sizeof S->hops);
  uint64_t floor_ls = UINT64_MAX;
  for (uint32_t i = 0; i < n; i++) {
    S->hops[i][i] = 0;
    set_ls(t, i, 1000 + p2pc_rng_below(&S->rng, 1000));
    if (t->ls[i] < floor_ls)
      floor_ls = t->ls[i];
  }
  /* 1. Cold start: reports, rises and DATA in any interleaving. */
  for (int step = 0; step < 1500; step++) {
    random_step(S);
    check_hops(S);
  }
  for (uint32_t y = 0; y < n; y++) /* G is a past LS: never below all */
    assert_true(p2pc_stable_global(t->st[y]) >= floor_ls);
  uint64_t v = S->violations;
  if (broken) {
    flush(S);
    net_free(t);
    free(S);
    return v;
  }
  /* 2. Once reports have flowed D rounds, every node covers every node:
   * G_y <= min LS whatever is in flight (values only rise). */
  flush(S);
  for (int r = 0; r <= D; r++)
    sim_round(S);
  for (int step = 0; step < 1500; step++) {
    random_step(S);
    uint64_t m = min_ls(t);
    for (uint32_t y = 0; y < n; y++)
      assert_true(p2pc_stable_global(t->st[y]) <= m);
  }
  /* 3. Quiet again: D rounds later G is the minimum everywhere, and every
   * level the minimum within its radius (no echo of old values). */
  flush(S);
  for (int r = 0; r < D; r++)
    sim_round(S);
  for (uint32_t y = 0; y < n; y++)
    assert_int_equal(p2pc_stable_global(t->st[y]), min_ls(t));
  check_levels_exact(t);
  net_free(t);
  free(S);
  return v;
}

static void test_random_networks(void **state) {
  (void)state;
  uint64_t seed = seed_for("test_random_networks", 20240611);
  for (uint64_t trial = 0; trial < 60; trial++) {
    uint64_t v = run_network(seed, trial, false);
    if (v)
      fail_msg("trial %llu: %llu violations of G_y <= LS_s within D hops",
               (unsigned long long)trial, (unsigned long long)v);
  }
}

/* The checker has teeth: a lead that sends DATA before the report it owes
 * breaks the promise (fixed seed: this is about the checker, not luck). */
static void test_random_networks_broken_lead(void **state) {
  (void)state;
  uint64_t total = 0;
  for (uint64_t trial = 0; trial < 60 && !total; trial++)
    total += run_network(7, trial, true);
  assert_true(total > 0);
}

/* ---- the limit: causal chains longer than D hops ------------------------ */

/*
 * A ring of 2D + 1 nodes (diameter D). Node 0 has a message m pending at
 * stamp 1000 to node 1, so LS_0 = 1000, and the link 0 -> 1 is up but slow:
 * 0's first report (and m behind it) has not reached node 1, which is then
 * "absent" at node 1. Every other node has nothing pending; its LS is 2000.
 * A DATA chain 0 -> 2D -> 2D-1 -> ... -> 2 carries m's entry to node 2 over
 * 2D - 1 hops, every one of them after the sender's report, as the rules
 * ask. Node 2 reaches node 0 in 2 hops, but only through node 1, which
 * knows nothing of 0; the other way is 2D - 1 > D hops. So G_2 rises to
 * 2000 > stamp(m) while m is undelivered: node 2 may drop m's entry, then
 * write to node 1 without it, and node 1 delivers that before m.
 */
static void test_chain_longer_than_depth(void **state) {
  (void)state;
  const uint32_t n = 2 * D + 1;
  net *t = net_new(n);
  for (uint32_t i = 0; i < n; i++)
    add_edge(t, i, (i + 1) % n);
  net_distances(t);
  assert_int_equal(net_diameter(t), D);
  for (uint32_t i = 0; i < n; i++)
    set_ls(t, i, 2000);
  set_ls(t, 0, 1000);
  t->deaf[1][key_of(t, 1, 0)] = true;
  /* The chain moves one hop per round, right after that round's reports. */
  uint32_t at = 0, hops = 0;
  for (uint32_t r = 1; r <= 2 * D - 1; r++) {
    net_round(t, r);
    at = (at + n - 1) % n;
    hops++;
  }
  assert_int_equal(at, 2);
  assert_true(hops > D);
  assert_int_equal(p2pc_stable_global(t->st[2]), 2000); /* > LS_0 */
  /* The nodes within D hops of 0 along links that carry reports do hold
   * LS_0; the next one does not. */
  assert_int_equal(p2pc_stable_global(t->st[n - D]), 1000);
  assert_int_equal(p2pc_stable_global(t->st[n - D - 1]), 2000);
  /* Once 0's report crosses the slow link, node 1 falls, reports at once,
   * and node 2 is covered a round later. */
  t->deaf[1][key_of(t, 1, 0)] = false;
  net_round(t, 100);
  assert_true(p2pc_stable_decreased(t->st[1]));
  net_round(t, 101);
  assert_int_equal(p2pc_stable_global(t->st[2]), 1000);
  net_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_free),
      cmocka_unit_test(test_line_converges),
      cmocka_unit_test(test_ring_converges),
      cmocka_unit_test(test_rise_no_echo),
      cmocka_unit_test(test_decreased_flag),
      cmocka_unit_test(test_frozen_hold),
      cmocka_unit_test(test_fresh_replaces_frozen),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_random_networks),
      cmocka_unit_test(test_random_networks_broken_lead),
      cmocka_unit_test(test_chain_longer_than_depth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
