/* SPDX-License-Identifier: MIT */
/*
 * ses_overhead: causal metadata per message and causal state per node of
 * today's SES (the frozen copy in tests/legacy, lses_*) against Δ-SES
 * (src/core/causal.h), on one schedule, in one run.
 *
 * Traffic: N in-process nodes, all-to-all: each sends a Poisson stream of
 * `rate` messages per second, each to a random other node, for `duration`
 * virtual seconds; every message arrives after a delay drawn uniformly in
 * [dmin, dmax]; clocks are off true time by up to ±err (each node its
 * own offset, err passed as the error bound). Nothing is lost or
 * duplicated. For Δ-SES the harness also carries what the runtime
 * carries: every `report` period each node sends each sender it delivered
 * from a delivery report (p2pc_causal_report_for -> peer_report, after a
 * network delay), and every `report` period the global stable time G =
 * min over nodes of p2pc_causal_local_stable is computed and applied at
 * every node `lag` later (a lower bound of the true minimum then: LS never
 * decreases).
 *
 * Variants, all on the same schedule:
 *   SES                 today's core (lses_), A.11 pruning on (its default)
 *   SES no-prune        today's core, pruning off; its pairs also give the
 *                       textbook layout (ALGORITHMS.md A.9): 8*N + pairs *
 *                       (8 + 8*N) bytes
 *   Δ-SES Δ=inf no-prune  decides as SES does (prop_causal_legacy_equivalence);
 *                         max_msg_deps raised to 65536 (its entries never
 *                         leave: N(N-1) of them pass the default 2048)
 *   Δ-SES Δ=60s reports+G    the default lifetime, reports and G
 *   Δ-SES Δ=60s reports      reports only, no G
 *   Δ-SES Δ=60s expiry only  no reports, no G: entries leave only when
 *                            implied or expired (max_msg_deps raised too)
 *   Δ-SES Δ=5s reports+G     reports and G
 *   Δ-SES Δ=5s expiry only   no reports, no G (max_msg_deps raised)
 * Figures: "meta" is the SEND event's bytes of causal metadata (all but
 * the payload and its length); "entries" the dependency entries a Δ-SES
 * message carries (SES: the pairs of V at the send); "heap" the bytes a
 * node's core holds through its allocator (a counting allocator per node:
 * exact for both cores), at the end, and the largest seen at any 1 s
 * sample; "state" p2pc_causal_state_bytes (Δ-SES's own account). Every
 * message must be delivered exactly once, at its destination, in stream
 * order; any failure aborts. Deliveries are compared with the first
 * variant's, node by node.
 *
 *   ses_overhead [--nodes N[,N...]] [--rate R] [--duration S]
 *                [--delay MIN,MAX] [--err MS] [--report MS] [--lag MS]
 *
 * Times in ms unless said. P2PC_SEED=<u64> overrides the seed. This
 * program is outside the pure core: it reads /proc and the monotonic
 * clock.
 */
#include "causal.h"
#include "legacy_ses.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SEED UINT64_C(0x5e5b0e7c4d2a1f37)
#define MAX_NODES_ARG 1024u
#define MAX_NODE_LIST 8
#define MS UINT64_C(1000000)
#define SEC UINT64_C(1000000000)
#define EPOCH INT64_C(1700000000000000000)
#define PAYLOAD_LEN 8 /* the message's global index, big-endian */
#define TREND_BINS 10
#define DECODE_EVERY 8 /* cross-check every 8th Δ-SES message by decoding */
#define SAMPLE_NS SEC

#ifndef P2PC_BENCH_BUILD_TYPE
#define P2PC_BENCH_BUILD_TYPE "unknown"
#endif

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("ses_overhead: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    die("out of memory (%zu bytes)", n);
  return p;
}

static void *xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz ? sz : 1);
  if (!p)
    die("out of memory (%zu x %zu bytes)", n, sz);
  return p;
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q)
    die("out of memory (%zu bytes)", n);
  return q;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- PRNG: splitmix64 ---------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static uint64_t rng_below(uint64_t *s, uint64_t n) {
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

/* ---- machine info -------------------------------------------------------- */

static void read_line(const char *path, char *out, size_t cap) {
  FILE *f = fopen(path, "r");
  out[0] = '\0';
  if (!f) {
    snprintf(out, cap, "(%s: %s)", path, strerror(errno));
    return;
  }
  if (fgets(out, (int)cap, f))
    out[strcspn(out, "\n")] = '\0';
  fclose(f);
}

static void cpu_model(char *out, size_t cap) {
  char line[512];
  FILE *f = fopen("/proc/cpuinfo", "r");
  snprintf(out, cap, "unknown");
  if (!f)
    return;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      const char *p = strchr(line, ':');
      if (p) {
        p++;
        while (*p == ' ' || *p == '\t')
          p++;
        snprintf(out, cap, "%s", p);
        out[strcspn(out, "\n")] = '\0';
      }
      break;
    }
  }
  fclose(f);
}

/* ---- a counting allocator, one per node ---------------------------------- */

typedef struct counter {
  size_t live, peak;
} counter;

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

/* ---- the schedule ----------------------------------------------------------
 */

typedef struct params {
  uint32_t n;
  double rate;
  uint64_t duration, dmin, dmax, err, report, lag;
  uint64_t seed;
} params;

typedef struct sched {
  uint32_t n, m;
  uint32_t *src, *dst;
  uint64_t *t, *delay; /* send time, network delay */
  int64_t *off;        /* per node: clock offset */
} sched;

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

static void sched_make(sched *s, const params *p) {
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

static void sched_free(sched *s) {
  free(s->src);
  free(s->dst);
  free(s->t);
  free(s->delay);
  free(s->off);
}

/* ---- variants
 * ---------------------------------------------------------------- */

typedef struct variant {
  const char *name;
  bool legacy, no_prune, reports, gstable;
  uint64_t life;
  uint32_t max_msg_deps; /* 0: the default */
} variant;

static const variant variants[] = {
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
#define NVARIANTS (sizeof variants / sizeof variants[0])

/* ---- events
 * ------------------------------------------------------------------ */

enum { EV_SEND, EV_ARRIVE, EV_REPORT_TICK, EV_REPORT, EV_G_APPLY, EV_SAMPLE };

typedef struct event {
  uint64_t t, seq;
  uint32_t kind, a, b;
  uint64_t x;
} event;

typedef struct heap {
  event *v;
  size_t n, cap;
  uint64_t seq;
} heap;

static bool ev_less(const event *a, const event *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void heap_push(heap *h, event e) {
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

typedef struct run run;

typedef struct node {
  run *r;
  uint32_t idx;
  p2pc_causal *c;
  lses_causal *l;
  counter mem;
  p2pc_allocator al;
  uint32_t *sent; /* its n-th message (from 1) -> message index */
  uint32_t nsent, capsent;
  uint32_t *deliv; /* message indices in delivery order */
  uint32_t ndeliv, capdeliv;
  uint64_t *last_n; /* per sender: last n delivered (stream order) */
  bool *dirty;      /* per sender: a report is owed */
  size_t peak_sampled;
} node;

typedef struct report {
  uint64_t delivered;
  uint64_t wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo;
} report;

struct run {
  const sched *s;
  const params *p;
  const variant *v;
  node *nodes;
  char (*names)[16];
  uint64_t now;
  uint8_t *delivered; /* per message */
  uint64_t ndelivered, expired, buffered;
  report *reps;
  size_t nreps, capreps;
  uint8_t **bytes; /* per message in flight */
  size_t *len;
  /* the send in progress */
  bool send_seen;
  uint64_t send_n;
  size_t send_meta;
  uint32_t send_deps;
  /* results per message */
  size_t *meta;
  uint32_t *deps;
  uint64_t g_applied;
  double wall;
};

static uint32_t parse_node(const run *r, const char *name) {
  char *end;
  if (!name || name[0] != 'n')
    die("unexpected node name %s", name ? name : "(null)");
  unsigned long v = strtoul(name + 1, &end, 10);
  if (*end || v >= r->s->n)
    die("unexpected node name %s", name);
  return (uint32_t)v;
}

static void on_deliver(run *r, node *nd, const char *sender, uint64_t n,
                       const uint8_t *payload, size_t bytes) {
  uint32_t snd = parse_node(r, sender);
  node *sn = &r->nodes[snd];
  if (n == 0 || n > sn->nsent)
    die("%s: n%u delivered unknown message %s:%" PRIu64, r->v->name, nd->idx,
        sender, n);
  uint32_t mi = sn->sent[n - 1];
  if (r->s->dst[mi] != nd->idx)
    die("%s: message %u for n%u delivered at n%u", r->v->name, mi,
        r->s->dst[mi], nd->idx);
  if (r->delivered[mi]++)
    die("%s: message %u delivered twice", r->v->name, mi);
  if (bytes != PAYLOAD_LEN || !payload)
    die("%s: message %u: payload of %zu bytes", r->v->name, mi, bytes);
  uint64_t tag = 0;
  for (int k = 0; k < PAYLOAD_LEN; k++)
    tag = tag << 8 | payload[k];
  if (tag != mi)
    die("%s: message %u: payload says %" PRIu64, r->v->name, mi, tag);
  if (n <= nd->last_n[snd])
    die("%s: n%u delivered %s:%" PRIu64 " after %s:%" PRIu64
        " (stream out of send order)",
        r->v->name, nd->idx, sender, n, sender, nd->last_n[snd]);
  nd->last_n[snd] = n;
  nd->dirty[snd] = true;
  if (nd->ndeliv == nd->capdeliv) {
    nd->capdeliv = nd->capdeliv ? nd->capdeliv * 2 : 64;
    nd->deliv = xrealloc(nd->deliv, nd->capdeliv * sizeof *nd->deliv);
  }
  nd->deliv[nd->ndeliv++] = mi;
  r->ndelivered++;
}

static void on_event_new(void *ud, const p2pc_causal_event *ev) {
  node *nd = ud;
  run *r = nd->r;
  switch (ev->kind) {
  case P2PC_CEV_SEND:
    r->send_seen = true;
    r->send_n = ev->n;
    r->send_meta = ev->meta;
    r->send_deps = ev->deps;
    break;
  case P2PC_CEV_DELIVER:
    on_deliver(r, nd, ev->sender, ev->n, ev->payload, ev->bytes);
    break;
  case P2PC_CEV_BUFFER:
    r->buffered++;
    break;
  case P2PC_CEV_EXPIRE:
    r->expired++;
    break;
  case P2PC_CEV_DUP:
  case P2PC_CEV_DROP:
  case P2PC_CEV_REFUSE:
    die("%s: n%u: event %d for %s:%" PRIu64 " (none expected)", r->v->name,
        nd->idx, (int)ev->kind, ev->sender, ev->n);
  case P2PC_CEV_RECV:
    break;
  }
}

static void on_event_legacy(void *ud, const lses_causal_event *ev) {
  node *nd = ud;
  run *r = nd->r;
  switch (ev->kind) {
  case LSES_CEV_SEND:
    r->send_seen = true;
    r->send_n = ev->n;
    r->send_meta = ev->meta;
    break;
  case LSES_CEV_DELIVER:
    on_deliver(r, nd, ev->sender, ev->n, ev->payload, ev->bytes);
    break;
  case LSES_CEV_BUFFER:
    r->buffered++;
    break;
  case LSES_CEV_DUP:
  case LSES_CEV_DROP:
    die("%s: n%u: event %d for %s:%" PRIu64 " (none expected)", r->v->name,
        nd->idx, (int)ev->kind, ev->sender, ev->n);
  case LSES_CEV_RECV:
    break;
  }
}

static void feed_time(run *r, node *nd) {
  if (nd->c)
    p2pc_causal_set_time(nd->c, EPOCH + (int64_t)r->now + r->s->off[nd->idx],
                         r->p->err, r->now);
}

static void do_send(run *r, uint32_t i, heap *h, p2pc_buf *out,
                    p2pc_idtab *dec_ids, p2pc_ses_msg *dec) {
  const sched *s = r->s;
  node *nd = &r->nodes[s->src[i]];
  uint8_t payload[PAYLOAD_LEN];
  for (int k = 0; k < PAYLOAD_LEN; k++)
    payload[k] = (uint8_t)((uint64_t)i >> (8 * (PAYLOAD_LEN - 1 - k)));
  if (nd->nsent == nd->capsent) {
    nd->capsent = nd->capsent ? nd->capsent * 2 : 16;
    nd->sent = xrealloc(nd->sent, nd->capsent * sizeof *nd->sent);
  }
  nd->sent[nd->nsent++] = i;
  p2pc_buf_reset(out);
  r->send_seen = false;
  int rv;
  if (nd->l) {
    r->deps[i] = lses_causal_pairs(nd->l);
    rv = lses_causal_send(nd->l, r->names[s->dst[i]], payload, PAYLOAD_LEN,
                          r->now, out);
  } else {
    feed_time(r, nd);
    rv = p2pc_causal_send(nd->c, r->names[s->dst[i]], payload, PAYLOAD_LEN,
                          r->now, out);
  }
  if (rv)
    die("%s: n%u: send of message %u: %s", r->v->name, nd->idx, i,
        p2pc_strerror(rv));
  if (!r->send_seen || r->send_n != nd->nsent)
    die("%s: n%u: message %u: no SEND event, or a wrong id", r->v->name,
        nd->idx, i);
  r->meta[i] = r->send_meta;
  if (nd->c)
    r->deps[i] = r->send_deps;
  if (r->meta[i] + 1 + PAYLOAD_LEN != out->len)
    die("%s: message %u: meta %zu + payload != %zu bytes", r->v->name, i,
        r->meta[i], out->len);
  if (nd->c && i % DECODE_EVERY == 0) {
    const p2pc_allocator *a = p2pc_allocator_default();
    rv = p2pc_wire_ses_get(out->data, out->len, dec_ids, a, dec);
    if (rv < 0 || (rv = p2pc_wire_ses_commit(dec_ids, dec)) != 0)
      die("%s: message %u: cannot decode what was sent: %s", r->v->name, i,
          p2pc_strerror(rv));
    if (dec->ndeps != r->deps[i])
      die("%s: message %u: %u entries on the wire, %u expected", r->v->name, i,
          dec->ndeps, r->deps[i]);
  }
  r->bytes[i] = xmalloc(out->len);
  memcpy(r->bytes[i], out->data, out->len);
  r->len[i] = out->len;
  heap_push(h, (event){.t = r->now + s->delay[i], .kind = EV_ARRIVE, .a = i});
}

static void do_arrive(run *r, uint32_t i) {
  const sched *s = r->s;
  node *nd = &r->nodes[s->dst[i]];
  int rv;
  if (nd->l) {
    rv = lses_causal_receive(nd->l, r->names[s->src[i]], r->bytes[i], r->len[i],
                             r->now);
  } else {
    feed_time(r, nd);
    rv = p2pc_causal_receive(nd->c, r->names[s->src[i]], r->bytes[i], r->len[i],
                             r->now);
  }
  if (rv)
    die("%s: n%u: receive of message %u: %s", r->v->name, nd->idx, i,
        p2pc_strerror(rv));
  free(r->bytes[i]);
  r->bytes[i] = NULL;
}

/* Every node reports to each sender it delivered from since its last
 * report; the report travels like a message. */
static void do_report_tick(run *r, heap *h, uint64_t *st) {
  uint32_t n = r->s->n;
  for (uint32_t d = 0; d < n; d++) {
    node *nd = &r->nodes[d];
    for (uint32_t s = 0; s < n; s++) {
      if (!nd->dirty[s])
        continue;
      nd->dirty[s] = false;
      if (r->nreps == r->capreps) {
        r->capreps = r->capreps ? r->capreps * 2 : 256;
        r->reps = xrealloc(r->reps, r->capreps * sizeof *r->reps);
      }
      report *rp = &r->reps[r->nreps];
      p2pc_causal_report_for(nd->c, r->names[s], &rp->delivered, rp->wo,
                             &rp->nwo);
      uint64_t delay = r->p->dmin + rng_below(st, r->p->dmax - r->p->dmin + 1);
      heap_push(h, (event){.t = r->now + delay,
                           .kind = EV_REPORT,
                           .a = s,
                           .b = d,
                           .x = r->nreps++});
    }
  }
}

static void do_report(run *r, const event *e) {
  node *nd = &r->nodes[e->a];
  const report *rp = &r->reps[e->x];
  feed_time(r, nd);
  int rv = p2pc_causal_peer_report(nd->c, r->names[e->b], rp->delivered, rp->wo,
                                   rp->nwo, r->now);
  if (rv)
    die("%s: n%u: peer_report from n%u: %s", r->v->name, e->a, e->b,
        p2pc_strerror(rv));
}

static uint64_t g_now(run *r) {
  uint64_t g = UINT64_MAX;
  for (uint32_t k = 0; k < r->s->n; k++) {
    feed_time(r, &r->nodes[k]);
    uint64_t ls = p2pc_causal_local_stable(r->nodes[k].c);
    if (ls < g)
      g = ls;
  }
  return g;
}

static void run_variant(run *r, const sched *s, const params *p,
                        const variant *v) {
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

static void run_free(run *r) {
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
static bool same_deliveries(const run *a, const run *b) {
  for (uint32_t k = 0; k < a->s->n; k++) {
    const node *x = &a->nodes[k], *y = &b->nodes[k];
    if (x->ndeliv != y->ndeliv ||
        memcmp(x->deliv, y->deliv, x->ndeliv * sizeof *x->deliv) != 0)
      return false;
  }
  return true;
}

/* ---- statistics ---------------------------------------------------------- */

typedef struct summary {
  double mean;
  uint64_t p99, max;
} summary;

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

typedef struct result {
  summary meta, deps, naive, heap_end, state_end;
  size_t heap_peak;
  double trend[TREND_BINS];
  uint64_t expired, buffered, g_applied, reports;
  bool same;
  double wall;
} result;

static void collect(result *res, const run *r, const run *first,
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

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: ses_overhead [--nodes N[,N...]] [--rate R] [--duration S]\n"
          "                    [--delay MIN,MAX] [--err MS] [--report MS]\n"
          "                    [--lag MS]\n"
          "  --nodes     node counts to run (default 64)\n"
          "  --rate      messages per second per node (default 1)\n"
          "  --duration  virtual seconds of traffic (default 60)\n"
          "  --delay     network delay range in ms (default 5,50)\n"
          "  --err       clock error bound in ms (default 1)\n"
          "  --report    delivery reports and G every MS (default 500)\n"
          "  --lag       G applied MS after it is computed (default 1000)\n"
          "  P2PC_SEED=<u64> overrides the seed\n");
}

static uint64_t parse_u64(const char *what, const char *s, uint64_t lo,
                          uint64_t hi) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
    die("bad %s '%s' (want %" PRIu64 "..%" PRIu64 ")", what, s, lo, hi);
  return v;
}

int main(int argc, char **argv) {
  uint32_t nodes[MAX_NODE_LIST];
  size_t nnodes = 0;
  params p = {.rate = 1.0,
              .duration = 60 * SEC,
              .dmin = 5 * MS,
              .dmax = 50 * MS,
              .err = 1 * MS,
              .report = 500 * MS,
              .lag = 1000 * MS,
              .seed = DEFAULT_SEED};
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      usage(stderr);
      die("%s: missing or unknown option", o);
    }
    const char *v = argv[++i];
    if (!strcmp(o, "--nodes")) {
      char tmp[256];
      snprintf(tmp, sizeof tmp, "%s", v);
      for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok;
           tok = strtok_r(NULL, ",", &save)) {
        if (nnodes == MAX_NODE_LIST)
          die("at most %d node counts", MAX_NODE_LIST);
        nodes[nnodes++] =
            (uint32_t)parse_u64("node count", tok, 2, MAX_NODES_ARG);
      }
    } else if (!strcmp(o, "--rate")) {
      char *end;
      p.rate = strtod(v, &end);
      if (*end || !(p.rate > 0 && p.rate <= 1000))
        die("bad rate '%s' (want (0, 1000])", v);
    } else if (!strcmp(o, "--duration")) {
      p.duration = parse_u64("duration", v, 1, 3600) * SEC;
    } else if (!strcmp(o, "--delay")) {
      char tmp[64];
      snprintf(tmp, sizeof tmp, "%s", v);
      char *comma = strchr(tmp, ',');
      if (!comma)
        die("bad delay range '%s' (want MIN,MAX)", v);
      *comma = '\0';
      p.dmin = parse_u64("delay", tmp, 0, 60000) * MS;
      p.dmax = parse_u64("delay", comma + 1, 0, 60000) * MS;
      if (p.dmax < p.dmin)
        die("bad delay range '%s'", v);
    } else if (!strcmp(o, "--err")) {
      p.err = parse_u64("error bound", v, 0, 200) * MS;
    } else if (!strcmp(o, "--report")) {
      p.report = parse_u64("report period", v, 1, 60000) * MS;
    } else if (!strcmp(o, "--lag")) {
      p.lag = parse_u64("G lag", v, 0, 60000) * MS;
    } else {
      usage(stderr);
      die("unknown option %s", o);
    }
  }
  if (!nnodes)
    nodes[nnodes++] = 64;
  const char *env = getenv("P2PC_SEED");
  if (env && *env)
    p.seed = parse_u64("P2PC_SEED", env, 0, UINT64_MAX);

  char cpu[256], load0[128], load1[128];
  cpu_model(cpu, sizeof cpu);
  read_line("/proc/loadavg", load0, sizeof load0);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

  printf("ses_overhead: causal metadata and state, today's SES (frozen copy, "
         "tests/legacy) against Δ-SES\n");
  printf("machine:  nproc %ld, %s\n", ncpu, cpu);
  printf("build:    %s, %s\n", P2PC_BENCH_BUILD_TYPE, __VERSION__);
  printf("load avg before: %s\n", load0);
  printf("seed:     %" PRIu64 " (0x%016" PRIx64 ")%s\n", p.seed, p.seed,
         env && *env ? " from P2PC_SEED" : " (default; P2PC_SEED overrides)");
  printf("traffic:  all-to-all, each node a Poisson stream of %.2f msg/s to "
         "random other nodes\n"
         "          for %.0f virtual s; delays uniform in [%.0f, %.0f] ms; "
         "clocks within ±%.1f ms\n",
         p.rate, (double)p.duration / 1e9, (double)p.dmin / 1e6,
         (double)p.dmax / 1e6, (double)p.err / 1e6);
  printf("Δ-SES:    delivery reports every %.0f ms (a network delay each); "
         "G = min LS every %.0f ms,\n"
         "          applied %.0f ms later\n",
         (double)p.report / 1e6, (double)p.report / 1e6, (double)p.lag / 1e6);
  printf("figures:  meta = causal metadata bytes of a message (all but the "
         "payload and its length);\n"
         "          entries = Δ-SES entries it carries (SES: pairs of V at "
         "the send); heap = bytes\n"
         "          a node's core holds (counting allocator; end of run, "
         "and the largest 1 s sample);\n"
         "          state = p2pc_causal_state_bytes at the end; p99 = "
         "nearest rank\n\n");
  fflush(stdout);

  double t_all = now_s();
  for (size_t k = 0; k < nnodes; k++) {
    p.n = nodes[k];
    sched s;
    sched_make(&s, &p);
    result res[NVARIANTS];
    static run runs[NVARIANTS];
    fprintf(stderr, "N=%u: %u messages:", p.n, s.m);
    for (size_t vi = 0; vi < NVARIANTS; vi++) {
      run_variant(&runs[vi], &s, &p, &variants[vi]);
      fprintf(stderr, " %.2fs", runs[vi].wall);
    }
    fprintf(stderr, "\n");
    for (size_t vi = 0; vi < NVARIANTS; vi++)
      collect(&res[vi], &runs[vi], &runs[0], vi == 1 ? &runs[1] : NULL);

    printf("N=%u, %u messages\n", p.n, s.m);
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
               (double)(p.duration * (b + 1) / TREND_BINS) / 1e9);
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
    for (size_t vi = 0; vi < NVARIANTS; vi++)
      run_free(&runs[vi]);
    sched_free(&s);
  }
  read_line("/proc/loadavg", load1, sizeof load1);
  printf("total wall time %.2f s (every %uth Δ-SES message was also decoded "
         "again)\n",
         now_s() - t_all, DECODE_EVERY);
  printf("load avg after:  %s\n", load1);
  return 0;
}
