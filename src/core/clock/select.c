/* SPDX-License-Identifier: MIT */
/*
 * Source selection (select.h; ALGORITHMS.md §C.4): Marzullo's sweep over
 * the sorted interval edges, and the truechimer search that widens every
 * interval until a majority agrees.
 *
 * Determinism: the edges are sorted by a total order (position, lower edge
 * before upper edge, source index), and each (source, kind) pair occurs
 * once, so any correct sort gives the same sequence; an insertion sort does
 * it for a few edges, a heap sort in place in O(n log n) without recursion
 * for more. Invalid intervals (a NaN bound,
 * lo > hi) never produce edges, so NaN never reaches a comparison.
 */
#include "select.h"

#include <math.h>
#include <stddef.h>

/* The tolerance doubles at most this many times. */
#define MAX_DOUBLINGS 64

static bool edge_less(const p2pc_edge *a, const p2pc_edge *b) {
  if (a->x != b->x)
    return a->x < b->x;
  if (a->kind != b->kind)
    return a->kind > b->kind; /* +1 (lower) first: touching intersects */
  return a->src < b->src;
}

static void sift_down(p2pc_edge *e, size_t root, size_t n) {
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= n)
      return;
    if (child + 1 < n && edge_less(&e[child], &e[child + 1]))
      child++;
    if (!edge_less(&e[root], &e[child]))
      return;
    p2pc_edge t = e[root];
    e[root] = e[child];
    e[child] = t;
    root = child;
  }
}

/* Few edges (a node's sources: tens): insertion sort, which touches each
 * edge a few times where the heap's sift walks do many swaps; many: the
 * heap sort. The order is total, so both give the same sequence. */
#define INSERTION_MAX 32

static void sort_edges(p2pc_edge *e, size_t n) {
  if (n <= INSERTION_MAX) {
    for (size_t i = 1; i < n; i++) {
      p2pc_edge t = e[i];
      size_t j = i;
      for (; j > 0 && edge_less(&t, &e[j - 1]); j--)
        e[j] = e[j - 1];
      e[j] = t;
    }
    return;
  }
  for (size_t i = n / 2; i-- > 0;)
    sift_down(e, i, n);
  for (size_t end = n; end > 1; end--) {
    p2pc_edge t = e[0];
    e[0] = e[end - 1];
    e[end - 1] = t;
    sift_down(e, 0, end - 1);
  }
}

/* lo <= hi, no NaN, and not empty at an infinity (widening [inf, inf]
 * would compute inf − inf). */
static bool interval_ok(const p2pc_interval *v) {
  return v->lo <= v->hi && v->lo < HUGE_VAL && v->hi > -HUGE_VAL;
}

/* Marzullo on the intervals widened by tol on each side. */
static uint32_t sweep(const p2pc_interval *iv, uint32_t n, double tol,
                      p2pc_edge *e, double *lo, double *hi) {
  size_t m = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (!interval_ok(&iv[i]))
      continue;
    e[m++] = (p2pc_edge){.x = iv[i].lo - tol, .src = i, .kind = 1};
    e[m++] = (p2pc_edge){.x = iv[i].hi + tol, .src = i, .kind = -1};
  }
  sort_edges(e, m);

  uint32_t count = 0, best = 0;
  double blo = 0, bhi = 0;
  for (size_t k = 0; k < m; k++) {
    if (e[k].kind < 0) {
      count--;
      continue;
    }
    count++;
    /* A lower edge is never last (its own upper edge sorts after it), and
     * when another lower edge follows, the count only grows there. */
    if (e[k + 1].kind > 0)
      continue;
    double l = e[k].x, h = e[k + 1].x;
    if (count > best || (count == best && h - l < bhi - blo)) {
      best = count;
      blo = l;
      bhi = h;
    }
  }
  *lo = blo;
  *hi = bhi;
  return best;
}

uint32_t p2pc_marzullo(const p2pc_interval *iv, uint32_t n, p2pc_edge *scratch,
                       double *lo, double *hi) {
  return sweep(iv, n, 0, scratch, lo, hi);
}

/* The median half-width of the valid intervals, or 1 ns if that is not a
 * positive finite number. Uses the edge scratch for the sort. */
static double median_half_width(const p2pc_interval *iv, uint32_t n,
                                p2pc_edge *e) {
  size_t m = 0;
  for (uint32_t i = 0; i < n; i++)
    if (interval_ok(&iv[i]))
      e[m++] = (p2pc_edge){.x = (iv[i].hi - iv[i].lo) / 2, .src = i};
  if (m == 0)
    return 1;
  for (size_t i = 0; i < m; i++) /* inf − inf */
    if (isnan(e[i].x))
      e[i].x = HUGE_VAL;
  sort_edges(e, m);
  double med = m % 2 ? e[m / 2].x : (e[m / 2 - 1].x + e[m / 2].x) / 2;
  return med > 0 && isfinite(med) ? med : 1;
}

uint32_t p2pc_select_truechimers(const p2pc_interval *iv, uint32_t n,
                                 p2pc_edge *scratch, bool *truechimer,
                                 double *tol) {
  *tol = 0;
  for (uint32_t i = 0; i < n; i++)
    truechimer[i] = false;
  if (n == 0)
    return 0;

  uint32_t majority = n / 2 + 1;
  double lo, hi, t = 0;
  uint32_t count = sweep(iv, n, 0, scratch, &lo, &hi);
  if (count < majority) {
    double t0 = median_half_width(iv, n, scratch);
    for (int k = 0; k <= MAX_DOUBLINGS && count < majority; k++) {
      t = ldexp(t0, k);
      count = sweep(iv, n, t, scratch, &lo, &hi);
    }
    if (count < majority) {
      *tol = t;
      return 0;
    }
  }

  /* The same expressions as in sweep(), so the region's own edges compare
   * equal to themselves. */
  uint32_t ntrue = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (interval_ok(&iv[i]) && iv[i].lo - t <= lo && hi <= iv[i].hi + t) {
      truechimer[i] = true;
      ntrue++;
    }
  }
  *tol = t;
  return ntrue;
}
