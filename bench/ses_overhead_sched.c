/* SPDX-License-Identifier: MIT */
/*
 * ses_overhead's workload: the PRNG (splitmix64), the schedule of sends
 * (per node a Poisson stream to random other nodes, network delays, clock
 * offsets), and the variants run on it.
 */
#include "ses_overhead.h"

#include <stdlib.h>

/* ---- PRNG: splitmix64 ---------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0, without modulo bias. */
uint64_t rng_below(uint64_t *s, uint64_t n) {
  uint64_t lim = -n % n; /* 2^64 mod n */
  uint64_t x;
  do
    x = rng_next(s);
  while (x < lim);
  return x % n;
}

/* Uniform in (0, 1]. */
static double rng_unit(uint64_t *s) {
  return ((double)(rng_next(s) >> 11) + 1.0) * 0x1.0p-53;
}

/* ---- the schedule ----------------------------------------------------------
 */

typedef struct sendrec {
  uint64_t t;
  uint32_t src, k;
} sendrec;

static int cmp_send(const void *a, const void *b) {
  const sendrec *x = a, *y = b;
  if (x->t != y->t)
    return x->t < y->t ? -1 : 1;
  return x->src < y->src ? -1 : x->src > y->src;
}

void sched_make(sched *s, const params *p) {
  uint64_t st = p->seed ^ (UINT64_C(0x2545f4914f6cdd1d) * p->n);
  uint32_t n = p->n;
  sendrec *v = NULL;
  size_t nv = 0, cap = 0;
  for (uint32_t i = 0; i < n; i++) {
    double t = 0;
    for (uint32_t k = 0;; k++) {
      t += -__builtin_log(rng_unit(&st)) / p->rate * 1e9;
      if (t >= (double)p->duration)
        break;
      if (nv == cap) {
        cap = cap ? cap * 2 : 1024;
        v = xrealloc(v, cap * sizeof *v);
      }
      v[nv++] = (sendrec){(uint64_t)t + 1, i, k};
    }
  }
  qsort(v, nv, sizeof *v, cmp_send);
  s->n = n;
  s->m = (uint32_t)nv;
  s->src = xmalloc(nv * sizeof *s->src);
  s->dst = xmalloc(nv * sizeof *s->dst);
  s->t = xmalloc(nv * sizeof *s->t);
  s->delay = xmalloc(nv * sizeof *s->delay);
  s->off = xmalloc(n * sizeof *s->off);
  for (uint32_t i = 0; i < n; i++)
    s->off[i] = (int64_t)rng_below(&st, 2 * p->err + 1) - (int64_t)p->err;
  for (size_t i = 0; i < nv; i++) {
    uint32_t b = (uint32_t)rng_below(&st, n - 1);
    s->src[i] = v[i].src;
    s->dst[i] = b >= v[i].src ? b + 1 : b;
    s->t[i] = v[i].t;
    s->delay[i] = p->dmin + rng_below(&st, p->dmax - p->dmin + 1);
  }
  free(v);
}

void sched_free(sched *s) {
  free(s->src);
  free(s->dst);
  free(s->t);
  free(s->delay);
  free(s->off);
}

/* ---- variants
 * ---------------------------------------------------------------- */

const variant variants[] = {
    {"SES (today)", true, false, false, false, 0, 0},
    {"SES no-prune", true, true, false, false, 0, 0},
    /* Its entries never leave: at N(N-1) > 2048 (N >= 47) a send would
     * hit the default cap (FULL, back-pressure for ever). */
    {"Δ-SES Δ=inf no-prune", false, true, false, false,
     P2PC_CAUSAL_LIFETIME_INF, P2PC_SES_MAX_DEPS},
    {"Δ-SES Δ=60s reports+G", false, false, true, true, 60 * SEC, 0},
    {"Δ-SES Δ=60s reports", false, false, true, false, 60 * SEC, 0},
    /* Entries leave only when implied or 60 s old: the same (N >= 47). */
    {"Δ-SES Δ=60s expiry only", false, false, false, false, 60 * SEC,
     P2PC_SES_MAX_DEPS},
    {"Δ-SES Δ=5s reports+G", false, false, true, true, 5 * SEC, 0},
    /* Expiry alone with a short lifetime: the window of SCALING.md §1. */
    {"Δ-SES Δ=5s expiry only", false, false, false, false, 5 * SEC,
     P2PC_SES_MAX_DEPS},
};
_Static_assert(sizeof variants / sizeof variants[0] == NVARIANTS,
               "NVARIANTS: the number of variants");
