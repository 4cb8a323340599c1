/* SPDX-License-Identifier: MIT */
/*
 * ses_overhead's run of one variant: each node's counting allocator, the
 * event queue (a binary heap in time order, FIFO among equal times), the
 * loop that runs the schedule to its end and checks that every message
 * was delivered and no buffer is left, and the comparison of two runs'
 * deliveries.
 */
#include "ses_overhead.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a counting allocator, one per node ---------------------------------- */

/* A header before each block keeps its size (16 bytes: max_align_t). */
#define HDR 16

static void *cnt_realloc(void *p, size_t n, void *ud) {
  counter *c = ud;
  size_t old = 0;
  unsigned char *b = p ? (unsigned char *)p - HDR : NULL;
  if (b)
    memcpy(&old, b, sizeof old);
  unsigned char *q = realloc(b, n + HDR);
  if (!q)
    return NULL;
  memcpy(q, &n, sizeof n);
  c->live = c->live - old + n;
  if (c->live > c->peak)
    c->peak = c->live;
  return q + HDR;
}

static void cnt_free(void *p, void *ud) {
  counter *c = ud;
  if (!p)
    return;
  unsigned char *b = (unsigned char *)p - HDR;
  size_t old;
  memcpy(&old, b, sizeof old);
  c->live -= old;
  free(b);
}

/* ---- events
 * ------------------------------------------------------------------ */

static bool ev_less(const event *a, const event *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void heap_push(heap *h, event e) {
  if (h->n == h->cap) {
    h->cap = h->cap ? h->cap * 2 : 256;
    h->v = xrealloc(h->v, h->cap * sizeof *h->v);
  }
  e.seq = h->seq++;
  size_t i = h->n++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!ev_less(&e, &h->v[p]))
      break;
    h->v[i] = h->v[p];
    i = p;
  }
  h->v[i] = e;
}

static event heap_pop(heap *h) {
  event top = h->v[0];
  event last = h->v[--h->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n)
      break;
    if (c + 1 < h->n && ev_less(&h->v[c + 1], &h->v[c]))
      c++;
    if (!ev_less(&h->v[c], &last))
      break;
    h->v[i] = h->v[c];
    i = c;
  }
  if (h->n)
    h->v[i] = last;
  return top;
}

/* ---- one run of one variant ---------------------------------------------- */

void run_variant(run *r, const sched *s, const params *p, const variant *v) {
  uint32_t n = s->n;
  memset(r, 0, sizeof *r);
  r->s = s;
  r->p = p;
  r->v = v;
  r->nodes = xcalloc(n, sizeof *r->nodes);
  r->names = xcalloc(n, sizeof *r->names);
  r->delivered = xcalloc(s->m, sizeof *r->delivered);
  r->bytes = xcalloc(s->m, sizeof *r->bytes);
  r->len = xcalloc(s->m, sizeof *r->len);
  r->meta = xcalloc(s->m, sizeof *r->meta);
  r->deps = xcalloc(s->m, sizeof *r->deps);
  for (uint32_t i = 0; i < n; i++) {
    node *nd = &r->nodes[i];
    snprintf(r->names[i], sizeof r->names[i], "n%u", i);
    nd->r = r;
    nd->idx = i;
    nd->al = (p2pc_allocator){cnt_realloc, cnt_free, &nd->mem};
    nd->last_n = xcalloc(n, sizeof *nd->last_n);
    nd->dirty = xcalloc(n, sizeof *nd->dirty);
    int rv;
    if (v->legacy) {
      lses_causal_config cfg = {.no_prune = v->no_prune};
      rv = lses_causal_new(&nd->l, r->names[i], &cfg, &nd->al, on_event_legacy,
                           nd);
    } else {
      p2pc_causal_config cfg = {.lifetime_ns = v->life,
                                .max_msg_deps = v->max_msg_deps,
                                .no_prune = v->no_prune};
      rv =
          p2pc_causal_new(&nd->c, r->names[i], &cfg, &nd->al, on_event_new, nd);
    }
    if (rv)
      die("%s: new core n%u: %s", v->name, i, p2pc_strerror(rv));
  }
  const p2pc_allocator *a = p2pc_allocator_default();
  p2pc_buf out;
  p2pc_buf_init(&out, a, P2PC_WIRE_MAX_FRAME_LIMIT);
  p2pc_idtab dec_ids; /* the decoder's own view of the node IDs */
  p2pc_idtab_init(&dec_ids, a, n + 1);
  p2pc_ses_msg dec;
  p2pc_ses_msg_init(&dec);
  heap h = {0};
  uint64_t st = p->seed ^ UINT64_C(0x7e907e90);
  uint32_t next = 0;
  if (s->m)
    heap_push(&h, (event){.t = s->t[0], .kind = EV_SEND});
  if (v->reports || v->gstable)
    heap_push(&h, (event){.t = p->report, .kind = EV_REPORT_TICK});
  heap_push(&h, (event){.t = SAMPLE_NS, .kind = EV_SAMPLE});
  uint64_t end = p->duration + p->dmax + 2 * p->report + p->lag + SEC;

  double t0 = now_s();
  while (h.n) {
    event e = heap_pop(&h);
    r->now = e.t;
    switch (e.kind) {
    case EV_SEND:
      do_send(r, next++, &h, &out, &dec_ids, &dec);
      if (next < s->m)
        heap_push(&h, (event){.t = s->t[next], .kind = EV_SEND});
      break;
    case EV_ARRIVE:
      do_arrive(r, e.a);
      break;
    case EV_REPORT_TICK:
      if (v->reports)
        do_report_tick(r, &h, &st);
      if (v->gstable)
        heap_push(
            &h,
            (event){.t = r->now + p->lag, .kind = EV_G_APPLY, .x = g_now(r)});
      if (r->now + p->report < end)
        heap_push(&h, (event){.t = r->now + p->report, .kind = EV_REPORT_TICK});
      break;
    case EV_REPORT:
      do_report(r, &e);
      break;
    case EV_G_APPLY:
      for (uint32_t k = 0; k < n; k++) {
        feed_time(r, &r->nodes[k]);
        p2pc_causal_set_stable(r->nodes[k].c, e.x);
      }
      r->g_applied++;
      break;
    case EV_SAMPLE:
      for (uint32_t k = 0; k < n; k++) {
        node *nd = &r->nodes[k];
        feed_time(r, nd); /* what has expired leaves */
        if (nd->mem.live > nd->peak_sampled)
          nd->peak_sampled = nd->mem.live;
      }
      if (r->now + SAMPLE_NS < end)
        heap_push(&h, (event){.t = r->now + SAMPLE_NS, .kind = EV_SAMPLE});
      break;
    }
  }
  r->wall = now_s() - t0;
  if (r->ndelivered != s->m)
    die("%s: %" PRIu64 " deliveries for %u messages", v->name, r->ndelivered,
        s->m);
  for (uint32_t k = 0; k < n; k++) {
    node *nd = &r->nodes[k];
    uint32_t held =
        nd->l ? lses_causal_buffered(nd->l) : p2pc_causal_buffered(nd->c);
    if (held)
      die("%s: n%u: %u messages left buffered", v->name, k, held);
  }
  free(h.v);
  p2pc_ses_msg_fini(&dec, a);
  p2pc_idtab_fini(&dec_ids);
  p2pc_buf_fini(&out);
}

void run_free(run *r) {
  for (uint32_t k = 0; k < r->s->n; k++) {
    node *nd = &r->nodes[k];
    lses_causal_free(nd->l);
    p2pc_causal_free(nd->c);
    free(nd->sent);
    free(nd->deliv);
    free(nd->last_n);
    free(nd->dirty);
  }
  free(r->nodes);
  free(r->names);
  free(r->delivered);
  free(r->bytes);
  free(r->len);
  free(r->meta);
  free(r->deps);
  free(r->reps);
}

/* The deliveries of b at every node are those of a, in the same order. */
bool same_deliveries(const run *a, const run *b) {
  for (uint32_t k = 0; k < a->s->n; k++) {
    const node *x = &a->nodes[k], *y = &b->nodes[k];
    if (x->ndeliv != y->ndeliv ||
        memcmp(x->deliv, y->deliv, x->ndeliv * sizeof *x->deliv) != 0)
      return false;
  }
  return true;
}
