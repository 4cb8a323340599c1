/* SPDX-License-Identifier: MIT */
/*
 * Source selection: Marzullo's sweep on known answers (the classic example,
 * touching intervals, the smallest-region and leftmost tie-breaks, invalid
 * intervals), its determinism and its count against a brute force over
 * random sets in random orders; then the truechimer search (a far liar
 * among 7, a liar among sources that only agree after widening, n = 0, 1,
 * 2), and a liar caught end to end: simulated NTP sources through srcstats
 * into selection.
 *
 * The random parts use a local xorshift64*: the seed is printed and
 * P2PC_SEED=<u64> replays another.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "select.h"
#include "srcstats.h"
#include "testseed.h"

#define NMAX 64
#define US 1000.0
#define MS 1000000.0
#define SEC 1000000000.0

static uint64_t seed_for(const char *test, uint64_t dflt) {
  uint64_t seed = p2pc_test_seed(test, dflt);
  return seed ? seed : 1;
}

static uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1dull;
}

static double uniform(uint64_t *s) {
  return ((double)(xorshift(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(uint64_t *s) {
  double u = uniform(s), v = uniform(s);
  return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static uint32_t marz(const p2pc_interval *iv, uint32_t n, double *lo,
                     double *hi) {
  p2pc_edge scratch[2 * NMAX];
  assert_true(n <= NMAX);
  return p2pc_marzullo(iv, n, scratch, lo, hi);
}

static uint32_t truechimers(const p2pc_interval *iv, uint32_t n, bool *tc,
                            double *tol) {
  p2pc_edge scratch[2 * NMAX];
  assert_true(n <= NMAX);
  return p2pc_select_truechimers(iv, n, scratch, tc, tol);
}

/* ---- Marzullo ----------------------------------------------------------- */

static void test_marzullo_classic(void **state) {
  (void)state;
  double lo, hi;
  /* Marzullo's (and RFC 5905's) textbook case. */
  p2pc_interval a[] = {{8, 12}, {11, 13}, {10, 12}};
  assert_int_equal(marz(a, 3, &lo, &hi), 3);
  assert_true(lo == 11 && hi == 12);
  /* Two agree, the third is off by itself. */
  p2pc_interval b[] = {{8, 9}, {10, 12}, {11, 13}};
  assert_int_equal(marz(b, 3, &lo, &hi), 2);
  assert_true(lo == 11 && hi == 12);
  /* Nested: the innermost. */
  p2pc_interval c[] = {{0, 100}, {10, 90}, {40, 50}, {45, 60}};
  assert_int_equal(marz(c, 4, &lo, &hi), 4);
  assert_true(lo == 45 && hi == 50);
  /* One interval is its own region; none is none. */
  assert_int_equal(marz(a, 1, &lo, &hi), 1);
  assert_true(lo == 8 && hi == 12);
  assert_int_equal(marz(a, 0, &lo, &hi), 0);
  assert_true(lo == 0 && hi == 0);
  /* Degenerate points. */
  p2pc_interval d[] = {{5, 5}, {5, 5}, {4, 6}};
  assert_int_equal(marz(d, 3, &lo, &hi), 3);
  assert_true(lo == 5 && hi == 5);
}

static void test_marzullo_touching(void **state) {
  (void)state;
  double lo, hi;
  /* A lower edge sorts before an upper edge at the same position: closed
   * intervals that touch do intersect, in a single point. */
  p2pc_interval a[] = {{0, 1}, {1, 2}};
  assert_int_equal(marz(a, 2, &lo, &hi), 2);
  assert_true(lo == 1 && hi == 1);
  p2pc_interval b[] = {{1, 2}, {0, 1}, {1, 3}};
  assert_int_equal(marz(b, 3, &lo, &hi), 3);
  assert_true(lo == 1 && hi == 1);
  /* Touching at both ends of a middle one. */
  p2pc_interval c[] = {{0, 1}, {1, 2}, {2, 3}};
  assert_int_equal(marz(c, 3, &lo, &hi), 2);
  assert_true(lo == 1 && hi == 1); /* both points are width 0: leftmost */
}

static void test_marzullo_ties(void **state) {
  (void)state;
  double lo, hi;
  /* Two regions backed by 2 sources: [2, 4] (width 2) and [11, 12]
   * (width 1): the smaller wins though it is to the right. */
  p2pc_interval a[] = {{0, 4}, {2, 6}, {10, 20}, {11, 12}};
  assert_int_equal(marz(a, 4, &lo, &hi), 2);
  assert_true(lo == 11 && hi == 12);
  /* Equal widths: the leftmost, whatever the input order. */
  p2pc_interval b[] = {{12, 15}, {10, 13}, {2, 5}, {0, 3}};
  assert_int_equal(marz(b, 4, &lo, &hi), 2);
  assert_true(lo == 2 && hi == 3);
  /* More sources beat a smaller region. */
  p2pc_interval c[] = {{0, 10}, {1, 9}, {2, 8}, {20, 20.5}, {20.2, 21}};
  assert_int_equal(marz(c, 5, &lo, &hi), 3);
  assert_true(lo == 2 && hi == 8);
}

static void test_marzullo_invalid(void **state) {
  (void)state;
  double lo, hi;
  /* NaN bounds, lo > hi and empty intervals at an infinity count for
   * nothing; infinite valid intervals count. */
  p2pc_interval a[] = {{NAN, 1},
                       {5, 4},
                       {0, NAN},
                       {HUGE_VAL, HUGE_VAL},
                       {-HUGE_VAL, -HUGE_VAL},
                       {1, 2},
                       {-HUGE_VAL, HUGE_VAL}};
  assert_int_equal(marz(a, 7, &lo, &hi), 2);
  assert_true(lo == 1 && hi == 2);
  bool tc[7];
  double tol;
  /* Majority of 7 is 4: the two valid ones can never make it. */
  assert_int_equal(truechimers(a, 7, tc, &tol), 0);
  for (int i = 0; i < 7; i++)
    assert_false(tc[i]);
}

/* The largest number of intervals sharing a point, by brute force: the
 * maximum is reached at some lower edge. */
static uint32_t brute_count(const p2pc_interval *iv, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t c = 0;
    for (uint32_t j = 0; j < n; j++)
      c += iv[j].lo <= iv[i].lo && iv[i].lo <= iv[j].hi;
    if (c > best)
      best = c;
  }
  return best;
}

/* Random sets with many shared edges (small integer grid), each checked
 * against the brute force and re-run in a shuffled order: same count, same
 * region, bit for bit. */
static void test_marzullo_random(void **state) {
  (void)state;
  uint64_t rng = seed_for("marzullo_random", 0x3a7);
  for (int round = 0; round < 2000; round++) {
    uint32_t n = 1 + (uint32_t)(xorshift(&rng) % 40);
    p2pc_interval iv[NMAX], sh[NMAX];
    for (uint32_t i = 0; i < n; i++) {
      double a = (double)(xorshift(&rng) % 20),
             b = (double)(xorshift(&rng) % 8);
      iv[i] = (p2pc_interval){a, a + b};
    }
    double lo, hi, lo2, hi2;
    uint32_t c = marz(iv, n, &lo, &hi);
    if (c != brute_count(iv, n))
      fail_msg("round %d: count %u, brute force %u", round, c,
               brute_count(iv, n));
    /* The region lies inside exactly c intervals, and is bounded by a lower
     * and an upper edge. */
    uint32_t inside = 0;
    bool lo_edge = false, hi_edge = false;
    for (uint32_t i = 0; i < n; i++) {
      inside += iv[i].lo <= lo && hi <= iv[i].hi;
      lo_edge |= iv[i].lo == lo;
      hi_edge |= iv[i].hi == hi;
    }
    assert_int_equal(inside, c);
    assert_true(lo_edge && hi_edge && lo <= hi);
    memcpy(sh, iv, n * sizeof *iv);
    for (uint32_t i = n; i > 1; i--) {
      uint32_t j = (uint32_t)(xorshift(&rng) % i);
      p2pc_interval t = sh[i - 1];
      sh[i - 1] = sh[j];
      sh[j] = t;
    }
    assert_int_equal(marz(sh, n, &lo2, &hi2), c);
    assert_true(lo2 == lo && hi2 == hi);
  }
}

/* The edges left in scratch are in the header's order (position, lower
 * before upper, source), for edge counts on both sides of the sort's switch
 * from insertion sort to heap sort, with many ties. */
static void test_marzullo_edge_order(void **state) {
  (void)state;
  uint64_t rng = seed_for("marzullo_edge_order", 0x5e1);
  for (uint32_t n = 1; n <= NMAX; n++) {
    p2pc_interval iv[NMAX];
    p2pc_edge e[2 * NMAX];
    for (uint32_t i = 0; i < n; i++) {
      double a = (double)(xorshift(&rng) % 6), b = (double)(xorshift(&rng) % 3);
      iv[i] = (p2pc_interval){a, a + b};
    }
    double lo, hi;
    (void)p2pc_marzullo(iv, n, e, &lo, &hi);
    for (uint32_t k = 1; k < 2 * n; k++) {
      const p2pc_edge *a = &e[k - 1], *b = &e[k];
      bool ok = a->x < b->x ||
                (a->x == b->x && (a->kind > b->kind ||
                                  (a->kind == b->kind && a->src < b->src)));
      if (!ok)
        fail_msg("n %u: edge %u out of order", n, k);
    }
  }
}

/* ---- truechimers -------------------------------------------------------- */

/* 7 sources, 6 agree within ±1 ms and one is 50 ms off: no widening is
 * needed and the liar alone is out. */
static void test_truechimers_far_liar(void **state) {
  (void)state;
  p2pc_interval iv[7];
  for (int i = 0; i < 6; i++)
    iv[i] = (p2pc_interval){(i - 3) * 0.2 * MS - 2 * MS,
                            (i - 3) * 0.2 * MS + 2 * MS};
  iv[6] = (p2pc_interval){48 * MS, 52 * MS};
  bool tc[7];
  double tol = -1;
  assert_int_equal(truechimers(iv, 7, tc, &tol), 6);
  assert_true(tol == 0);
  for (int i = 0; i < 6; i++)
    assert_true(tc[i]);
  assert_false(tc[6]);
  /* The liar's position in the input does not matter. */
  p2pc_interval t = iv[0];
  iv[0] = iv[6];
  iv[6] = t;
  assert_int_equal(truechimers(iv, 7, tc, &tol), 6);
  assert_false(tc[0]);
  assert_true(tc[6]);
}

/* 7 honest sources spread evenly over ±0.9 s with ±0.1 s intervals (no two
 * overlap) and a liar at +10 s: majority is 5 of 8. The tolerance starts at
 * the median half-width, 0.1 s, and doubles: at 0.2 s three touch, at 0.4 s
 * four; at 0.8 s every interval is ±0.9 s wide and all 7 honest ones meet
 * at 0, while the liar, [9.1, 10.9] s at that width, stays out. */
static void test_truechimers_widening(void **state) {
  (void)state;
  p2pc_interval iv[8];
  for (int i = 0; i < 7; i++) {
    double c = (i - 3) * 300 * MS; /* exact in binary */
    iv[i] = (p2pc_interval){c - 100 * MS, c + 100 * MS};
  }
  iv[7] = (p2pc_interval){9900 * MS, 10100 * MS};
  bool tc[8];
  double tol;
  assert_int_equal(truechimers(iv, 8, tc, &tol), 7);
  assert_true(tol == 800 * MS);
  assert_false(tc[7]);
  for (int i = 0; i < 7; i++)
    assert_true(tc[i]);
  /* Without the liar, 4 of 7 is a majority: 0.4 s is enough, and of the
   * four equally small regions the leftmost wins: sources 0..3 share
   * [−0.5, −0.4] s. */
  assert_int_equal(truechimers(iv, 7, tc, &tol), 4);
  assert_true(tol == 400 * MS);
  for (int i = 0; i < 7; i++)
    assert_true(tc[i] == (i <= 3));
}

static void test_truechimers_small_n(void **state) {
  (void)state;
  bool tc[3];
  double tol = -1;
  assert_int_equal(truechimers(NULL, 0, tc, &tol), 0);
  assert_true(tol == 0);

  p2pc_interval one[] = {{5, 7}};
  assert_int_equal(truechimers(one, 1, tc, &tol), 1);
  assert_true(tc[0] && tol == 0);

  p2pc_interval two[] = {{0, 1}, {0.5, 2}};
  assert_int_equal(truechimers(two, 2, tc, &tol), 2);
  assert_true(tc[0] && tc[1] && tol == 0);

  /* Disjoint pair: a majority of 2 means both, so the intervals widen
   * (0.5, 1, 2) until they touch at 3; both are truechimers and the
   * combination can average them. */
  p2pc_interval apart[] = {{0, 1}, {5, 6}};
  assert_int_equal(truechimers(apart, 2, tc, &tol), 2);
  assert_true(tc[0] && tc[1]);
  assert_true(tol == 2);

  /* Zero widths: the tolerance starts at 1 ns. */
  p2pc_interval points[] = {{0, 0}, {10, 10}};
  assert_int_equal(truechimers(points, 2, tc, &tol), 2);
  assert_true(tol == 8);

  /* Three, one far: 2 of 3 is a majority, no widening. */
  p2pc_interval three[] = {{0, 2}, {1, 3}, {100, 102}};
  assert_int_equal(truechimers(three, 3, tc, &tol), 2);
  assert_true(tc[0] && tc[1] && !tc[2] && tol == 0);

  /* A pair too far apart for 64 doublings of 1 ns (1.8e19 ns) never
   * agrees. */
  p2pc_interval never[] = {{0, 0}, {1e30, 1e30}};
  assert_int_equal(truechimers(never, 2, tc, &tol), 0);
  assert_false(tc[0] || tc[1]);
  assert_true(tol == ldexp(1, 64));
}

/* ---- end to end: srcstats into selection -------------------------------- */

/* Five neighbours answer NTP requests every second over LAN-like paths
 * (50 us each way + half-normal 5 us jitter); four have the true offset
 * +250 ms, one is 3 ms off (a falseticker whose clock is wrong, not its
 * path). Each source's interval is its estimate ± error_at. After 30 s the
 * four honest intervals (~±55 us, mostly min_delay/2) share a region that
 * contains the truth, and the liar is excluded without any widening. */
static void test_liar_end_to_end(void **state) {
  (void)state;
  uint64_t rng = seed_for("liar_end_to_end", 0x11a2);
  const double truth = 250 * MS;
  const double lie[5] = {0, 0, 3 * MS, 0, 0};
  p2pc_srcstats st[5];
  for (int k = 0; k < 5; k++)
    p2pc_srcstats_init(&st[k], NULL);
  const int64_t epoch = 1700000000LL * 1000000000LL;
  for (int i = 0; i < 30; i++) {
    for (int k = 0; k < 5; k++) {
      int64_t t1 = epoch + i * 1000000000LL + k * 1000000LL;
      double fwd = 50 * US + fabs(gauss(&rng)) * 5 * US;
      double back = 50 * US + fabs(gauss(&rng)) * 5 * US;
      double theta = truth + lie[k];
      p2pc_sample x = {.t = t1 + (int64_t)llround((fwd + back) / 2),
                       .offset = (int64_t)llround(theta + (fwd - back) / 2),
                       .delay = (int64_t)llround(fwd + back),
                       .disp = 2000};
      p2pc_srcstats_add(&st[k], &x);
    }
  }
  int64_t now = epoch + 30 * 1000000000LL;
  p2pc_interval iv[5];
  for (int k = 0; k < 5; k++) {
    const p2pc_srcest *e = p2pc_srcstats_est(&st[k]);
    double off = p2pc_srcest_offset_at(e, now);
    double err = p2pc_srcest_error_at(e, now);
    iv[k] = (p2pc_interval){off - err, off + err};
    /* Every honest bound covers the truth; the liar's cannot. */
    assert_true((fabs(off - truth) <= err) == (lie[k] == 0));
  }
  bool tc[5];
  double tol;
  assert_int_equal(truechimers(iv, 5, tc, &tol), 4);
  assert_true(tol == 0);
  for (int k = 0; k < 5; k++)
    assert_true(tc[k] == (lie[k] == 0));
  double lo, hi;
  assert_int_equal(marz(iv, 5, &lo, &hi), 4);
  assert_true(lo <= truth && truth <= hi);
  printf("liar_end_to_end: region [%+.0f, %+.0f] ns around the truth, "
         "liar at %+.0f ns\n",
         lo - truth, hi - truth, iv[2].lo - truth);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_marzullo_classic),
      cmocka_unit_test(test_marzullo_touching),
      cmocka_unit_test(test_marzullo_ties),
      cmocka_unit_test(test_marzullo_invalid),
      cmocka_unit_test(test_marzullo_random),
      cmocka_unit_test(test_marzullo_edge_order),
      cmocka_unit_test(test_truechimers_far_liar),
      cmocka_unit_test(test_truechimers_widening),
      cmocka_unit_test(test_truechimers_small_n),
      cmocka_unit_test(test_liar_end_to_end),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
