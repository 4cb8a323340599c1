/* SPDX-License-Identifier: MIT */
/*
 * Source selection: Marzullo's intersection (RFC 5905 §11.2.1 and
 * TigerBeetle's marzullo.zig, ALGORITHMS.md §C.4): the smallest interval
 * consistent with the largest number of sources, with a fully specified,
 * deterministic order; and the truechimer selection built on it.
 *
 * Pure, allocation-free: the caller passes scratch space.
 */
#ifndef P2PC_SELECT_H
#define P2PC_SELECT_H

#include <stdbool.h>
#include <stdint.h>

/* A source's correctness interval [lo, hi] (lo <= hi), ns. */
typedef struct p2pc_interval {
  double lo, hi;
} p2pc_interval;

/* One edge of an interval, for the sweep (scratch only). */
typedef struct p2pc_edge {
  double x;
  uint32_t src;
  int8_t kind; /* +1 lower edge, -1 upper edge */
} p2pc_edge;

/*
 * Marzullo: sorts the 2n edges into scratch (which holds 2n entries) by
 * position, a lower edge before an upper edge at the same position (so
 * touching intervals intersect), then by source index; sweeps for the
 * largest number of overlapping intervals, and among the regions with that
 * count takes the smallest (ties: the leftmost). Returns the count and the
 * region in *lo, *hi (0, 0 when the count is 0). An invalid interval (a NaN
 * bound, lo > hi, or [+inf, +inf] / [-inf, -inf]) counts for nothing.
 * O(n log n), no allocation; the result depends only on the set of
 * intervals and their indices, never on the sort's internals.
 */
uint32_t p2pc_marzullo(const p2pc_interval *iv, uint32_t n, p2pc_edge *scratch,
                       double *lo, double *hi);

/*
 * Truechimers: the sources that agree, as a majority, on one region.
 * Runs Marzullo on the intervals; while fewer than a majority (> n/2, for
 * every n: 1 of 1, 2 of 2, 2 of 3, ...) overlap, widens every interval on
 * both sides by a tolerance that starts at the median half-width of the
 * valid intervals (1 ns if that is 0) and doubles (at most 64 times), so
 * sources that start far apart still find their majority and a lone outlier
 * stays outside it. Marks truechimer[i] for each interval that contains the
 * region (both widened by the tolerance used) and returns their number;
 * *tol gets the tolerance that was needed (0 if none). So n == 2 with no
 * overlap widens until the two touch: both are truechimers, and the caller
 * can average them. If even the last tolerance finds no majority (invalid
 * intervals, or sources ~2^64 half-widths apart) it returns 0, marks none
 * and *tol is that last tolerance. n == 0: 0, *tol 0. scratch holds 2n
 * entries.
 */
uint32_t p2pc_select_truechimers(const p2pc_interval *iv, uint32_t n,
                                 p2pc_edge *scratch, bool *truechimer,
                                 double *tol);

#endif /* P2PC_SELECT_H */
