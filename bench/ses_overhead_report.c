/* SPDX-License-Identifier: MIT */
/*
 * ses_overhead's figures: the summaries of a run (mean, p99, max), the
 * result of each variant, and the tables printed for one node count.
 */
#include "ses_overhead.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- statistics ---------------------------------------------------------- */

static int cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

/* Mean, p99 (nearest rank: the ceil(0.99 n)-th smallest) and max. */
static summary summarize(uint64_t *v, size_t n) {
  summary s = {0, 0, 0};
  if (!n)
    return s;
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += (double)v[i];
  qsort(v, n, sizeof *v, cmp_u64);
  size_t rank = (size_t)((99 * (uint64_t)n + 99) / 100);
  s.mean = sum / (double)n;
  s.p99 = v[rank - 1];
  s.max = v[n - 1];
  return s;
}

void collect(result *res, const run *r, const run *first,
             const run *legacy_np) {
  const sched *s = r->s;
  uint32_t n = s->n;
  uint64_t *v = xmalloc((s->m > n ? s->m : n) * sizeof *v);
  for (uint32_t i = 0; i < s->m; i++)
    v[i] = r->meta[i];
  res->meta = summarize(v, s->m);
  for (uint32_t i = 0; i < s->m; i++)
    v[i] = r->deps[i];
  res->deps = summarize(v, s->m);
  if (legacy_np) {
    for (uint32_t i = 0; i < s->m; i++)
      v[i] = 8 * (uint64_t)n + legacy_np->deps[i] * (8 + 8 * (uint64_t)n);
    res->naive = summarize(v, s->m);
  }
  res->heap_peak = 0;
  for (uint32_t k = 0; k < n; k++) {
    v[k] = r->nodes[k].mem.live;
    if (r->nodes[k].peak_sampled > res->heap_peak)
      res->heap_peak = r->nodes[k].peak_sampled;
  }
  res->heap_end = summarize(v, n);
  if (!r->v->legacy) {
    for (uint32_t k = 0; k < n; k++)
      v[k] = p2pc_causal_state_bytes(r->nodes[k].c);
    res->state_end = summarize(v, n);
  }
  for (uint32_t b = 0; b < TREND_BINS; b++) {
    uint64_t lo = r->p->duration * b / TREND_BINS,
             hi = r->p->duration * (b + 1) / TREND_BINS;
    double sum = 0;
    uint32_t cnt = 0;
    for (uint32_t i = 0; i < s->m; i++)
      if (s->t[i] >= lo && s->t[i] < hi) {
        sum += (double)r->meta[i];
        cnt++;
      }
    res->trend[b] = cnt ? sum / cnt : 0;
  }
  res->expired = r->expired;
  res->buffered = r->buffered;
  res->g_applied = r->g_applied;
  res->reports = r->nreps;
  res->same = first == r || same_deliveries(first, r);
  res->wall = r->wall;
  free(v);
}

static void print_bytes(size_t b) {
  if (b >= 10u << 20)
    printf(" %7.1fM", (double)b / (1 << 20));
  else if (b >= 10u << 10)
    printf(" %7.1fK", (double)b / (1 << 10));
  else
    printf(" %8zu", b);
}

/* printf pads by bytes; "Δ" is two bytes in UTF-8 and one column. */
static int name_pad(const char *name, int width) {
  for (const char *q = name; (q = strstr(q, "Δ")) != NULL; q += 2)
    width++;
  return width;
}

/* The tables for one node count: figures, the trend, and the runs. */
void print_tables(const params *p, const sched *s, const result *res) {
  printf("N=%u, %u messages\n", p->n, s->m);
  printf("%-24s | %25s | %20s | %27s | %17s\n", "", "meta bytes/message",
         "entries/message", "heap bytes/node", "state bytes/node");
  printf("%-24s | %9s %7s %7s | %8s %5s %5s | %8s %8s %9s | %8s %8s\n",
         "variant", "mean", "p99", "max", "mean", "p99", "max", "mean", "max",
         "peak", "mean", "max");
  for (size_t vi = 0; vi < NVARIANTS; vi++) {
    const result *x = &res[vi];
    int pad = name_pad(variants[vi].name, 24);
    printf("%-*s | %9.1f %7" PRIu64 " %7" PRIu64 " | %8.1f %5" PRIu64
           " %5" PRIu64 " |",
           pad, variants[vi].name, x->meta.mean, x->meta.p99, x->meta.max,
           x->deps.mean, x->deps.p99, x->deps.max);
    printf(" %8.0f", x->heap_end.mean);
    print_bytes(x->heap_end.max);
    print_bytes(x->heap_peak);
    printf(" |");
    if (variants[vi].legacy)
      printf(" %8s %8s\n", "-", "-");
    else
      printf(" %8.0f %8" PRIu64 "\n", x->state_end.mean, x->state_end.max);
  }
  printf("%-24s | %9.1f %7" PRIu64 " %7" PRIu64 " |  (ALGORITHMS.md A.9, "
         "pairs of SES no-prune)\n",
         "textbook SES layout", res[1].naive.mean, res[1].naive.p99,
         res[1].naive.max);

  printf("\nmean meta bytes per tenth of the run (by send time)\n%-24s",
         "variant");
  for (uint32_t b = 0; b < TREND_BINS; b++) {
    char lab[16];
    snprintf(lab, sizeof lab, "%.0fs",
             (double)(p->duration * (b + 1) / TREND_BINS) / 1e9);
    printf(" %7s", lab);
  }
  printf("\n");
  for (size_t vi = 0; vi < NVARIANTS; vi++) {
    int pad = name_pad(variants[vi].name, 24);
    printf("%-*s", pad, variants[vi].name);
    for (uint32_t b = 0; b < TREND_BINS; b++)
      printf(" %7.0f", res[vi].trend[b]);
    printf("\n");
  }

  printf("\nruns (checks passed: every message delivered exactly once at "
         "its destination, in\nstream order, no buffer left)\n");
  printf("%-24s %9s %8s %8s %9s %8s %14s\n", "variant", "buffered", "expired",
         "reports", "G applied", "wall s", "same as SES");
  for (size_t vi = 0; vi < NVARIANTS; vi++) {
    const result *x = &res[vi];
    int pad = name_pad(variants[vi].name, 24);
    printf("%-*s %9" PRIu64 " %8" PRIu64 " %8" PRIu64 " %9" PRIu64
           " %8.3f %14s\n",
           pad, variants[vi].name, x->buffered, x->expired, x->reports,
           x->g_applied, x->wall,
           vi == 0   ? "-"
           : x->same ? "yes"
                     : "NO");
  }
  printf("\n");
}
