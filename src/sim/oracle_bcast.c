/* SPDX-License-Identifier: MIT */
/*
 * Latency, hops and the broadcast oracle. Every delivery whose payload
 * carries the traffic generator's tag (traffic.c) gives a latency, the
 * virtual time from its send: messages and broadcasts apart; a delivery
 * flagged broadcast gives its hops (u.delivered.hops). The oracle follows
 * each network-wide broadcast (at most P2PC_SIM_MAX_BCAST, and no more
 * than BC_BYTES_MAX of records): two bitmaps of one bit a node, the nodes
 * it was delivered to (flagged broadcast, in the node's current
 * incarnation) and the nodes it is not owed to: its sender, every node
 * that was down or frozen at its send or turned so before the end minus
 * the grace, and every node a partition cut from its sender in that
 * time; and, judged at the end, every node born after its stamp (the
 * birth rule, PROTOCOL.md: the HLC at a node's first input, in its
 * current incarnation, above the broadcast's HLC stamp: not addressed to
 * it; with clocks not yet synchronised that can be a node that started,
 * in true time, before the send). At the end each broadcast sent before that
 * point must have reached every other node exactly once: a missing
 * delivery and a second one both fail it. Its memory is the simulator's,
 * counted by the budget (simmem.h): 2 bits a node a broadcast, 2.5 KB at
 * 10,000 nodes.
 */
#include "sim_internal.h"

#include <stdio.h>
#include <string.h>

#define BC_BYTES_MAX (64ull << 20)

struct bc_rec {
  uint64_t t0;
  uint64_t stamp; /* its HLC stamp (0: unknown, owed by every node) */
  uint32_t sender;
  bool voided;     /* the node refused it: nothing owed */
  uint64_t bits[]; /* bc_words delivered, then bc_words not owed */
};

/* ---- histograms ---------------------------------------------------------- */

static uint32_t lbin(uint64_t v) {
  if (v < 64)
    return (uint32_t)v;
  uint32_t e = 63u - (uint32_t)__builtin_clzll(v);
  uint32_t m = (uint32_t)(v >> (e - 5)) & 31u;
  return 64 + (e - 6) * 32 + m;
}

static uint64_t ltop(uint32_t b) {
  if (b < 64)
    return b;
  uint32_t e = (b - 64) / 32 + 6, m = (b - 64) % 32;
  uint64_t w = 1ull << (e - 5);
  return (uint64_t)(32 + m) * w + (w - 1);
}

void p2pc__sim_lhist_add(lhist *h, uint64_t v) {
  h->bins[lbin(v)]++;
  h->n++;
  if (v > h->max)
    h->max = v;
}

uint64_t p2pc__sim_lhist_q(const lhist *h, double q) {
  if (!h->n)
    return 0;
  uint64_t rank = (uint64_t)(q * (double)h->n);
  if ((double)rank < q * (double)h->n)
    rank++;
  if (rank < 1)
    rank = 1;
  uint64_t c = 0;
  for (uint32_t b = 0; b < LHIST_BINS; b++) {
    c += h->bins[b];
    if (c >= rank) {
      uint64_t t = ltop(b);
      return t < h->max ? t : h->max;
    }
  }
  return h->max;
}

static void lclear(lhist *h) {
  memset(h->bins, 0, LHIST_BINS * sizeof *h->bins);
  h->n = h->max = 0;
}

void p2pc__sim_bc_init(p2pc_sim *s) {
  lhist *hs[] = {&s->lat_run,  &s->lat_sec,  &s->blat_run,
                 &s->blat_sec, &s->hops_run, &s->hops_sec};
  uint64_t *bins = p2pc__sim_xcalloc(s, 6 * LHIST_BINS, sizeof *bins);
  for (int k = 0; k < 6; k++)
    hs[k]->bins = bins + (size_t)k * LHIST_BINS;
  s->bc_words = (s->cfg.nodes + 63) / 64;
}

void p2pc__sim_bc_free(p2pc_sim *s) {
  for (uint32_t b = 0; b < s->nbc; b++)
    p2pc__sim_xfree(s, s->bc[b]);
  p2pc__sim_xfree(s, s->bc);
  p2pc__sim_xfree(s, s->lat_run.bins); /* the first of the six, one block */
  s->bc = NULL;
  s->nbc = s->capbc = 0;
}

/* ---- the broadcasts ------------------------------------------------------ */

static size_t rec_size(const p2pc_sim *s) {
  return sizeof(bc_rec) + 2 * (size_t)s->bc_words * sizeof(uint64_t);
}

static bool bit(const uint64_t *w, uint32_t i) {
  return (w[i / 64] >> (i % 64)) & 1;
}

static void set_bit(uint64_t *w, uint32_t i) { w[i / 64] |= 1ull << (i % 64); }

/* Node j, in the incarnation it runs now, was born after the stamp: the
 * broadcast is not addressed to it (it drops a copy, "sent before this
 * node's birth"). Its birth is the HLC at its first input (0: none yet,
 * nothing is addressed to it). */
static bool born_after(const p2pc_sim *s, uint32_t j, uint64_t stamp) {
  const snode *x = &s->nodes[j];
  if (!stamp || !x->alive || !x->n)
    return false;
  uint64_t b = p2pc_causal_birth(p2pc_node_causal(x->n));
  return b == 0 || b > stamp;
}

/* The end of the window in which a node's trouble excuses it. */
static uint64_t owed_until(const p2pc_sim *s) {
  uint64_t end = s->cfg.duration_ns, g = s->cfg.bcast_grace_ns;
  return end > g ? end - g : 0;
}

uint32_t p2pc__sim_bc_sent(p2pc_sim *s, uint32_t i) {
  size_t sz = rec_size(s);
  if (s->nbc >= P2PC_SIM_MAX_BCAST ||
      (uint64_t)(s->nbc + 1) * sz > BC_BYTES_MAX)
    return UINT32_MAX;
  if (s->nbc == s->capbc) {
    uint32_t cap = s->capbc ? 2 * s->capbc : 64;
    s->bc = p2pc__sim_xrealloc(s, s->bc, cap * sizeof *s->bc);
    s->capbc = cap;
  }
  bc_rec *r = p2pc__sim_xcalloc(s, 1, sz);
  r->t0 = s->now;
  r->sender = i;
  uint64_t *not_owed = r->bits + s->bc_words;
  for (uint32_t j = 0; j < s->cfg.nodes; j++)
    if (s->nodes[j].sick || (s->ncuts && p2pc__sim_blocked(s, i, j)))
      set_bit(not_owed, j);
  set_bit(not_owed, i);
  s->bc[s->nbc] = r;
  s->res.bcast_tracked++;
  return s->nbc++;
}

void p2pc__sim_bc_stamp(p2pc_sim *s, uint32_t b, uint64_t stamp) {
  if (b < s->nbc)
    s->bc[b]->stamp = stamp;
}

void p2pc__sim_bc_void(p2pc_sim *s, uint32_t b) {
  if (b < s->nbc) {
    s->bc[b]->voided = true;
    s->res.bcast_tracked--;
  }
}

void p2pc__sim_bc_node_bad(p2pc_sim *s, uint32_t i, bool restart) {
  if (i >= s->cfg.nodes)
    return;
  bool owed = s->now <= owed_until(s);
  for (uint32_t b = 0; b < s->nbc; b++) {
    bc_rec *r = s->bc[b];
    if (owed)
      set_bit(r->bits + s->bc_words, i);
    if (restart) /* a new incarnation: its deliveries start afresh */
      r->bits[i / 64] &= ~(1ull << (i % 64));
  }
}

void p2pc__sim_bc_cut(p2pc_sim *s) {
  if (!s->ncuts || s->now > owed_until(s))
    return;
  for (uint32_t b = 0; b < s->nbc; b++) {
    bc_rec *r = s->bc[b];
    for (uint32_t j = 0; j < s->cfg.nodes; j++)
      if (p2pc__sim_blocked(s, r->sender, j))
        set_bit(r->bits + s->bc_words, j);
  }
}

void p2pc__sim_bc_delivered(p2pc_sim *s, const p2pc_event *e) {
  uint64_t t;
  uint32_t tag;
  bool flagged = e->u.delivered.broadcast;
  uint32_t i = s->cur_node;
  if (flagged) {
    s->res.bcast_flagged++;
    p2pc__sim_lhist_add(&s->hops_run, e->u.delivered.hops);
    p2pc__sim_lhist_add(&s->hops_sec, e->u.delivered.hops);
  }
  if (!p2pc__sim_tag_get(e->payload, e->len, &t, &tag))
    return;
  uint64_t lat = s->now > t ? s->now - t : 0;
  if (tag == 0) {
    p2pc__sim_lhist_add(&s->lat_run, lat);
    p2pc__sim_lhist_add(&s->lat_sec, lat);
    return;
  }
  p2pc__sim_lhist_add(&s->blat_run, lat);
  p2pc__sim_lhist_add(&s->blat_sec, lat);
  if (!flagged || tag == UINT32_MAX || tag - 1 >= s->nbc)
    return;
  bc_rec *r = s->bc[tag - 1];
  if (!bit(r->bits, i)) {
    set_bit(r->bits, i);
    return;
  }
  if (!s->res.bcast_dups++)
    snprintf(s->res.bcast_first, sizeof s->res.bcast_first,
             "broadcast %u from n%u at %.3f s delivered twice to n%u (at "
             "%.3f s)",
             tag - 1, r->sender, (double)r->t0 / 1e9, i, (double)s->now / 1e9);
}

void p2pc__sim_bc_finish(p2pc_sim *s) {
  uint64_t until = owed_until(s);
  if (s->res.stop != P2PC_SIM_STOP_END) /* stopped early: up to there */
    until = s->now > s->cfg.bcast_grace_ns ? s->now - s->cfg.bcast_grace_ns : 0;
  for (uint32_t b = 0; b < s->nbc; b++) {
    const bc_rec *r = s->bc[b];
    if (r->voided || r->t0 > until)
      continue;
    s->res.bcast_judged++;
    const uint64_t *got = r->bits, *not_owed = r->bits + s->bc_words;
    for (uint32_t w = 0; w < s->bc_words; w++) {
      uint64_t miss = ~got[w] & ~not_owed[w];
      if (w == s->bc_words - 1 && s->cfg.nodes % 64)
        miss &= (1ull << (s->cfg.nodes % 64)) - 1;
      for (uint64_t m = miss; m; m &= m - 1) {
        uint32_t j = w * 64 + (uint32_t)__builtin_ctzll(m);
        if (born_after(s, j, r->stamp))
          miss &= ~(1ull << (j % 64));
      }
      if (!miss)
        continue;
      if (!s->res.bcast_missing && !s->res.bcast_first[0])
        snprintf(s->res.bcast_first, sizeof s->res.bcast_first,
                 "broadcast %u from n%u at %.3f s never delivered to n%u", b,
                 r->sender, (double)r->t0 / 1e9,
                 w * 64 + (uint32_t)__builtin_ctzll(miss));
      s->res.bcast_missing += (uint64_t)__builtin_popcountll(miss);
    }
  }
  lhist *run[] = {&s->lat_run, &s->blat_run, &s->hops_run};
  uint64_t *out[][4] = {
      {&s->res.lat_n, &s->res.lat_p50, &s->res.lat_p99, &s->res.lat_max},
      {&s->res.blat_n, &s->res.blat_p50, &s->res.blat_p99, &s->res.blat_max},
      {&s->res.hops_n, &s->res.hops_p50, &s->res.hops_p99, &s->res.hops_max}};
  for (int k = 0; k < 3; k++) {
    *out[k][0] = run[k]->n;
    *out[k][1] = p2pc__sim_lhist_q(run[k], 0.5);
    *out[k][2] = p2pc__sim_lhist_q(run[k], 0.99);
    *out[k][3] = run[k]->max;
  }
}

void p2pc__sim_bc_second(p2pc_sim *s, p2pc_sim_second *row) {
  row->lat_p99 = p2pc__sim_lhist_q(&s->lat_sec, 0.99);
  row->bcast_lat_p99 = p2pc__sim_lhist_q(&s->blat_sec, 0.99);
  row->hops_p99 = p2pc__sim_lhist_q(&s->hops_sec, 0.99);
  row->unaddressable = s->sec_unaddr;
  s->sec_unaddr = 0;
  lclear(&s->lat_sec);
  lclear(&s->blat_sec);
  lclear(&s->hops_sec);
}
