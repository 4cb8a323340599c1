/* SPDX-License-Identifier: MIT */
/*
 * Fixed-bin histograms (sim.h: P2PC_SIM_META_HIST_*): the causal metadata
 * and dependency entries of the messages sent, per second and over the
 * run, in the same bounded memory whatever the run's length.
 */
#include "sim_internal.h"

#include <string.h>

void p2pc__sim_hist_add(hist *h, uint64_t v) {
  uint64_t b = v / h->width;
  h->bins[b < h->nbins ? b : h->nbins]++;
  h->n++;
  h->sum += v;
  if (v > h->max)
    h->max = v;
}

void p2pc__sim_hist_clear(hist *h) {
  if (h->n)
    memset(h->bins, 0, ((size_t)h->nbins + 1) * sizeof *h->bins);
  h->n = h->sum = h->max = 0;
}

/* The p99 by nearest rank: the top of the bin that holds the
 * ceil(0.99 n)-th smallest value, or the maximum if that is lower or the
 * value is in the last bin. 0 if empty. */
uint64_t p2pc__sim_hist_p99(const hist *h) {
  if (!h->n)
    return 0;
  uint64_t rank = (h->n * 99 + 99) / 100, cum = 0;
  for (uint32_t b = 0; b < h->nbins; b++) {
    cum += h->bins[b];
    if (cum >= rank) {
      uint64_t top = ((uint64_t)b + 1) * h->width - 1;
      return top < h->max ? top : h->max;
    }
  }
  return h->max;
}

double p2pc__sim_hist_mean(const hist *h) {
  return h->n ? (double)h->sum / (double)h->n : 0;
}
