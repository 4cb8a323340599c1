/* SPDX-License-Identifier: MIT */
/*
 * The simulator's event heap: a 4-ary min-heap over (virtual time,
 * sequence number), so that events at the same time run in the order
 * they were scheduled, the same on every run. The order is total, so the
 * heap's shape does not change which event comes next; four children a
 * node halve the levels a pop walks down (and their cache misses, at
 * millions of events pending).
 */
#include "sim_internal.h"

static bool ev_less(const ev *x, const ev *y) {
  return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

void p2pc__sim_push(p2pc_sim *s, uint64_t t, evk kind, uint32_t a, uint32_t b,
                    void *p) {
  if (s->nheap == s->capheap) {
    size_t cap = s->capheap ? 2 * s->capheap : 1024;
    s->heap = p2pc__sim_xrealloc(s, s->heap, cap * sizeof *s->heap);
    s->capheap = cap;
  }
  ev e = {.t = t < s->now ? s->now : t,
          .seq = s->seq++,
          .kind = kind,
          .a = a,
          .b = b,
          .p = p};
  if (kind == E_TIMER || kind == E_TRAFFIC)
    e.gen = s->nodes[a].gen;
  size_t i = s->nheap++;
  while (i > 0) {
    size_t up = (i - 1) / 4;
    if (!ev_less(&e, &s->heap[up]))
      break;
    s->heap[i] = s->heap[up];
    i = up;
  }
  s->heap[i] = e;
}

ev p2pc__sim_pop(p2pc_sim *s) {
  ev top = s->heap[0], last = s->heap[--s->nheap];
  size_t i = 0, n = s->nheap;
  for (;;) {
    size_t c = 4 * i + 1, m = i;
    const ev *best = &last;
    for (size_t k = c; k < c + 4 && k < n; k++)
      if (ev_less(&s->heap[k], best)) {
        m = k;
        best = &s->heap[k];
      }
    if (m == i)
      break;
    s->heap[i] = s->heap[m];
    i = m;
  }
  if (n)
    s->heap[i] = last;
  return top;
}
