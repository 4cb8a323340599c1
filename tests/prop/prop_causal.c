/* SPDX-License-Identifier: MIT */
/*
 * Randomized property test of the SES core (src/core/causal.h). Each
 * schedule runs 2..16 p2pc_causal cores in one process and drives them
 * from a seeded PRNG: random unicasts, broadcasts and self-sends, every
 * message in flight for a random virtual delay (so messages overtake each
 * other), injected duplicates, and in some schedules a tiny SES buffer so
 * that receive answers P2PC_ERR_FULL and the message must be offered again.
 * The SEND/DELIVER events the cores report are fed to the independent
 * checker (checker.h), which rebuilds happens-before without the nodes'
 * vector clocks and checks causal order, exactly-once delivery and
 * liveness.
 *
 *   prop_causal [--schedules K] [--seed BASE] [--trace]
 *               [--faults stamp-before-tick|drop-dest-pair|no-dedup
 *                --expect-violation] [--compare-prune]
 *
 * P2PC_SEED=<u64> replays exactly one schedule (its seed is printed on
 * failure). --expect-violation runs cores with a deliberate protocol bug
 * and succeeds only if the checker catches it (an ORDER violation, or a
 * DUPLICATE one for no-dedup); deadlocks do not count. --compare-prune
 * runs every schedule with and without V pruning (A.11) and requires the
 * same deliveries at every node.
 */
#include "causal.h"
#include "checker.h"
#include "rng.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_NODES 16
#define STEP_LIMIT 1000000u
#define MAX_PAYLOAD 64
#define OUT_MAX (16u << 20)

/* ---- PRNG: the core's (rng.h), stream 0 ------------------------------- */

typedef p2pc_rng rng;

static void rng_seed(rng *r, uint64_t seed) { p2pc_rng_seed(r, seed, 0); }

static uint64_t rng_next(rng *r) { return p2pc_rng_next(r); }

/* Uniform in [0, n), n > 0 (rejection: no modulo bias). */
static uint64_t rng_below(rng *r, uint64_t n) {
  uint64_t lim = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do
    x = rng_next(r);
  while (x >= lim);
  return x % n;
}

static bool rng_chance(rng *r, double p) {
  return (double)(rng_next(r) >> 11) * 0x1.0p-53 < p;
}

/* ---- options ------------------------------------------------------------ */

typedef struct options {
  uint64_t schedules;
  uint64_t base;
  bool have_replay;
  uint64_t replay;
  uint32_t faults;
  const char *fault_name;
  bool expect;
  bool compare;
  bool trace;
} options;

/* ---- one run of one schedule -------------------------------------------- */

typedef struct params {
  uint32_t n;
  uint32_t ops;
  uint32_t max_buffered; /* 0 = the core's default */
  uint32_t nactive;      /* senders are nodes 0..nactive-1 */
  uint64_t maxdelay, gapmax;
  double pbcast, pself, pdup, pstraggle;
} params;

typedef struct flight {
  uint64_t t, seq;
  uint64_t rejected_in; /* the progress epoch of its last FULL, 0 = none */
  uint32_t mid;
  uint32_t nfull; /* times this copy was refused FULL */
  bool dup;
} flight;

/* A message as the driver knows it: its encoded bytes live in pool. */
typedef struct dmsg {
  uint32_t src, dst;
  uint64_t n; /* from the SEND event */
  size_t off, len;
} dmsg;

/* One SEND or DELIVER record of a node, as the callback saw it. */
typedef struct rec {
  bool is_send;
  uint32_t sender, peer;
  uint64_t n;
  uint32_t mid; /* from the payload; UINT32_MAX if unreadable */
} rec;

typedef struct run run;

typedef struct node_ctx {
  run *r;
  uint32_t idx;
} node_ctx;

typedef enum outcome {
  OUT_OK,
  OUT_VIOLATION, /* the checker found something */
  OUT_API,       /* the core misbehaved in a way the checker does not see */
  OUT_STALL      /* no progress: livelock, or the step bound was hit */
} outcome;

struct run {
  const options *o;
  params p;
  rng g;
  uint32_t faults;
  bool no_prune;
  bool stop_any;         /* stop at the first violation of any kind */
  ccheck_kind stop_kind; /* ... else at the first of this kind */
  char names[MAX_NODES][8];
  const char *namep[MAX_NODES];
  p2pc_causal *cores[MAX_NODES];
  node_ctx ctx[MAX_NODES];
  ccheck *ck;
  p2pc_buf out;
  flight *heap;
  size_t nheap, capheap;
  uint64_t seq;
  dmsg *msgs;
  size_t nmsgs, capmsgs;
  uint8_t *pool;
  size_t poollen, poolcap;
  rec *recs[MAX_NODES];
  size_t nrecs[MAX_NODES], caprecs[MAX_NODES];
  uint64_t fulls[MAX_NODES];
  /* the send in progress */
  bool in_send;
  uint32_t send_src, send_dst;
  const uint8_t *send_payload;
  size_t send_len;
  int send_events;
  uint64_t send_n;
  uint64_t now, steps;
  uint64_t last_progress; /* virtual time of the last send or delivery */
  uint64_t epoch;         /* bumped by every send and delivery */
  size_t nrejected;       /* copies in flight FULL-rejected in this epoch */
  uint64_t dups_injected, full_total, meta_total, sends_total;
  uint64_t rejected; /* fault runs: messages the receiver refused */
  char fail[600];
};

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "prop_causal: out of memory\n");
    abort();
  }
  return q;
}

static void *grow(void *p, size_t elsize, size_t need, size_t *cap) {
  if (need <= *cap)
    return p;
  size_t c = *cap ? *cap : 64;
  while (c < need)
    c *= 2;
  *cap = c;
  return xrealloc(p, c * elsize);
}

static __attribute__((format(printf, 2, 3))) void fail(run *r, const char *fmt,
                                                       ...) {
  if (r->fail[0])
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->fail, sizeof r->fail, fmt, ap);
  va_end(ap);
}

static bool find_node(const run *r, const char *s, uint32_t *out) {
  if (!s)
    return false;
  for (uint32_t i = 0; i < r->p.n; i++)
    if (strcmp(s, r->names[i]) == 0) {
      *out = i;
      return true;
    }
  return false;
}

/* ---- the in-flight heap, ordered by (arrival time, sequence) ------------ */

static bool flight_before(const flight *a, const flight *b) {
  return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

static void heap_push(run *r, uint64_t t, uint32_t mid, bool dup,
                      uint64_t rejected_in, uint32_t nfull) {
  r->heap = grow(r->heap, sizeof *r->heap, r->nheap + 1, &r->capheap);
  flight f = {.t = t,
              .seq = r->seq++,
              .rejected_in = rejected_in,
              .mid = mid,
              .nfull = nfull,
              .dup = dup};
  size_t i = r->nheap++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!flight_before(&f, &r->heap[parent]))
      break;
    r->heap[i] = r->heap[parent];
    i = parent;
  }
  r->heap[i] = f;
}

static flight heap_pop(run *r) {
  flight top = r->heap[0];
  flight last = r->heap[--r->nheap];
  size_t i = 0, n = r->nheap;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n)
      break;
    if (c + 1 < n && flight_before(&r->heap[c + 1], &r->heap[c]))
      c++;
    if (!flight_before(&r->heap[c], &last))
      break;
    r->heap[i] = r->heap[c];
    i = c;
  }
  if (n)
    r->heap[i] = last;
  return top;
}

/* ---- payloads: the message's driver id, its ends, and filler ------------ */

static size_t make_payload(uint32_t mid, uint32_t src, uint32_t dst,
                           uint8_t *p) {
  uint64_t h = mid;
  size_t len = 6 + (size_t)(p2pc_splitmix64(&h) % (MAX_PAYLOAD - 6 + 1));
  p[0] = (uint8_t)mid;
  p[1] = (uint8_t)(mid >> 8);
  p[2] = (uint8_t)(mid >> 16);
  p[3] = (uint8_t)(mid >> 24);
  p[4] = (uint8_t)src;
  p[5] = (uint8_t)dst;
  for (size_t i = 6; i < len; i++)
    p[i] = (uint8_t)(mid * 31u + i * 7u + src);
  return len;
}

static uint32_t payload_mid(const uint8_t *p, size_t len) {
  if (!p || len < 6)
    return UINT32_MAX;
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static void add_rec(run *r, uint32_t node, const rec *x) {
  r->recs[node] =
      grow(r->recs[node], sizeof *x, r->nrecs[node] + 1, &r->caprecs[node]);
  r->recs[node][r->nrecs[node]++] = *x;
}

/* ---- the cores' event callback ------------------------------------------ */

static const char *kind_name(p2pc_causal_ev_kind k) {
  switch (k) {
  case P2PC_CEV_SEND:
    return "SEND";
  case P2PC_CEV_RECV:
    return "RECV";
  case P2PC_CEV_BUFFER:
    return "BUFFER";
  case P2PC_CEV_DELIVER:
    return "DELIVER";
  case P2PC_CEV_DUP:
    return "DUP";
  case P2PC_CEV_DROP:
    return "DROP";
  case P2PC_CEV_EXPIRE:
    return "EXPIRE";
  case P2PC_CEV_REFUSE:
    return "REFUSE";
  }
  return "?";
}

static void on_event(void *ud, const p2pc_causal_event *ev) {
  node_ctx *nc = ud;
  run *r = nc->r;
  uint32_t me = nc->idx, sender = 0, peer = 0;
  if (r->o->trace) {
    char waits[160] = "";
    if (ev->kind == P2PC_CEV_BUFFER && ev->waits_sender)
      snprintf(waits, sizeof waits, " waits=%s:%" PRIu64, ev->waits_sender,
               ev->waits_n);
    printf("  t=%" PRIu64 " %s %s %s:%" PRIu64 " peer=%s bytes=%zu%s\n", r->now,
           r->names[me], kind_name(ev->kind),
           ev->sender ? ev->sender : "(null)", ev->n,
           ev->peer ? ev->peer : "(null)", ev->bytes, waits);
  }
  if (!find_node(r, ev->sender, &sender)) {
    fail(r, "%s: %s event names unknown sender \"%s\"", r->names[me],
         kind_name(ev->kind), ev->sender ? ev->sender : "(null)");
    return;
  }
  if (!find_node(r, ev->peer, &peer)) {
    fail(r, "%s: %s event names unknown peer \"%s\"", r->names[me],
         kind_name(ev->kind), ev->peer ? ev->peer : "(null)");
    return;
  }
  switch (ev->kind) {
  case P2PC_CEV_SEND: {
    if (!r->in_send || me != r->send_src) {
      fail(r, "%s: SEND event outside its p2pc_causal_send", r->names[me]);
      return;
    }
    if (sender != me || peer != r->send_dst || ev->bytes != r->send_len) {
      fail(r,
           "%s: SEND event says %s:%" PRIu64 " to %s, %zu bytes; the call "
           "was to %s, %zu bytes",
           r->names[me], ev->sender, ev->n, ev->peer, ev->bytes,
           r->names[r->send_dst], r->send_len);
      return;
    }
    r->send_events++;
    r->send_n = ev->n;
    r->meta_total += ev->meta;
    r->sends_total++;
    ccheck_send(r->ck, me, sender, ev->n, peer, r->send_payload, r->send_len);
    rec x = {.is_send = true,
             .sender = sender,
             .peer = peer,
             .n = ev->n,
             .mid = payload_mid(r->send_payload, r->send_len)};
    add_rec(r, me, &x);
    break;
  }
  case P2PC_CEV_DELIVER: {
    if (peer != sender) {
      fail(r, "%s: DELIVER of %s:%" PRIu64 " has peer %s", r->names[me],
           ev->sender, ev->n, ev->peer);
      return;
    }
    if (ev->bytes && !ev->payload) {
      fail(r, "%s: DELIVER of %s:%" PRIu64 " without its payload", r->names[me],
           ev->sender, ev->n);
      return;
    }
    static const uint8_t none[1];
    const uint8_t *pl = ev->payload ? ev->payload : none;
    ccheck_deliver(r->ck, me, sender, ev->n, pl, ev->bytes);
    r->last_progress = r->now;
    r->epoch++;
    r->nrejected = 0;
    rec x = {.is_send = false,
             .sender = sender,
             .peer = sender,
             .n = ev->n,
             .mid = payload_mid(ev->payload, ev->bytes)};
    add_rec(r, me, &x);
    break;
  }
  case P2PC_CEV_RECV:
  case P2PC_CEV_BUFFER:
  case P2PC_CEV_DUP:
    break;
  default:
    fail(r, "%s: unknown event kind %d", r->names[me], (int)ev->kind);
  }
}

/* ---- driving a schedule -------------------------------------------------- */

static void draw_params(run *r, bool compare) {
  static const uint64_t delays[] = {1, 20, 200, 1000};
  static const uint64_t gaps[] = {0, 5, 50, 300};
  static const double bcasts[] = {0.0, 0.05, 0.15};
  params *p = &r->p;
  p->n = 2 + (uint32_t)rng_below(&r->g, MAX_NODES - 1);
  p->ops = 30 + (uint32_t)rng_below(&r->g, 131);
  p->max_buffered = 0;
  if (rng_chance(&r->g, 0.25)) {
    uint32_t tiny = 1 + (uint32_t)rng_below(&r->g, 4);
    if (!compare)
      p->max_buffered = tiny;
  }
  p->maxdelay = delays[rng_below(&r->g, 4)];
  p->gapmax = gaps[rng_below(&r->g, 4)];
  p->pbcast = bcasts[rng_below(&r->g, 3)];
  p->pself = 0.03;
  p->pdup = (r->faults & P2PC_CAUSAL_FAULT_NO_DEDUP) ? 0.2 : 0.05;
  p->pstraggle = 0.05;
  p->nactive = p->n;
  if (rng_chance(&r->g, 0.3))
    p->nactive = 1 + (uint32_t)rng_below(&r->g, p->n);
}

static uint64_t draw_delay(run *r) {
  uint64_t d = rng_below(&r->g, r->p.maxdelay + 1);
  if (rng_chance(&r->g, r->p.pstraggle))
    d += rng_below(&r->g, 5 * r->p.maxdelay + 1);
  return d;
}

static void do_send(run *r, uint32_t src, uint32_t dst) {
  uint8_t payload[MAX_PAYLOAD];
  uint32_t mid = (uint32_t)r->nmsgs;
  size_t len = make_payload(mid, src, dst, payload);
  p2pc_buf_reset(&r->out);
  r->in_send = true;
  r->send_src = src;
  r->send_dst = dst;
  r->send_payload = payload;
  r->send_len = len;
  r->send_events = 0;
  if (r->o->trace)
    printf("t=%" PRIu64 " send #%" PRIu32 " %s -> %s\n", r->now, mid,
           r->names[src], r->names[dst]);
  int rc = p2pc_causal_send(r->cores[src], r->names[dst], payload, len,
                            r->now * 1000, &r->out);
  r->in_send = false;
  r->send_payload = NULL;
  if (rc != 0) {
    fail(r, "p2pc_causal_send %s -> %s returned %s", r->names[src],
         r->names[dst], p2pc_strerror(rc));
    return;
  }
  if (r->send_events != 1) {
    fail(r, "p2pc_causal_send %s -> %s reported %d SEND events", r->names[src],
         r->names[dst], r->send_events);
    return;
  }
  if (src == dst) {
    if (r->out.len != 0)
      fail(r, "self-send at %s appended %zu bytes", r->names[src], r->out.len);
    r->nmsgs++; /* keeps mids aligned; never put in flight */
    r->msgs = grow(r->msgs, sizeof *r->msgs, r->nmsgs, &r->capmsgs);
    r->msgs[mid] = (dmsg){.src = src, .dst = dst, .n = r->send_n};
    return;
  }
  if (r->out.len == 0) {
    fail(r, "p2pc_causal_send %s -> %s appended nothing", r->names[src],
         r->names[dst]);
    return;
  }
  r->msgs = grow(r->msgs, sizeof *r->msgs, r->nmsgs + 1, &r->capmsgs);
  r->pool = grow(r->pool, 1, r->poollen + r->out.len, &r->poolcap);
  memcpy(r->pool + r->poollen, r->out.data, r->out.len);
  r->msgs[mid] = (dmsg){.src = src,
                        .dst = dst,
                        .n = r->send_n,
                        .off = r->poollen,
                        .len = r->out.len};
  r->poollen += r->out.len;
  r->nmsgs++;
  heap_push(r, r->now + draw_delay(r), mid, false, 0, 0);
  if (rng_chance(&r->g, r->p.pdup)) {
    uint64_t late =
        rng_chance(&r->g, 0.3) ? rng_below(&r->g, 5 * r->p.maxdelay + 1) : 0;
    heap_push(r, r->now + draw_delay(r) + late, mid, true, 0, 0);
    r->dups_injected++;
  }
}

static void do_op(run *r) {
  uint32_t src = (uint32_t)rng_below(&r->g, r->p.nactive);
  double u = (double)(rng_next(&r->g) >> 11) * 0x1.0p-53;
  if (u < r->p.pself) {
    do_send(r, src, src);
  } else if (u < r->p.pself + r->p.pbcast) {
    for (uint32_t d = 0; d < r->p.n && !r->fail[0]; d++)
      if (d != src)
        do_send(r, src, d);
  } else {
    uint32_t dst = (uint32_t)rng_below(&r->g, r->p.n - 1);
    if (dst >= src)
      dst++;
    do_send(r, src, dst);
  }
}

static void do_arrival(run *r, const flight *f) {
  const dmsg *m = &r->msgs[f->mid];
  if (r->o->trace)
    printf("t=%" PRIu64 " arrive #%" PRIu32 "%s %s:%" PRIu64 " at %s\n", r->now,
           f->mid, f->dup ? " (dup)" : "", r->names[m->src], m->n,
           r->names[m->dst]);
  int rc = p2pc_causal_receive(r->cores[m->dst], r->names[m->src],
                               r->pool + m->off, m->len, r->now * 1000);
  if (rc == 0)
    return;
  if (rc != P2PC_ERR_FULL) {
    if (r->faults) {
      /* A deliberately broken sender may write what the decoder rejects
       * (STAMP_BEFORE_TICK: an empty first stamp). It is lost, which can
       * only cost liveness; the run goes on looking for the violation. */
      r->rejected++;
      if (r->o->trace)
        printf("t=%" PRIu64 " REJECTED #%" PRIu32 " at %s: %s\n", r->now,
               f->mid, r->names[m->dst], p2pc_strerror(rc));
      return;
    }
    fail(r, "p2pc_causal_receive of %s:%" PRIu64 " at %s returned %s",
         r->names[m->src], m->n, r->names[m->dst], p2pc_strerror(rc));
    return;
  }
  r->fulls[m->dst]++;
  r->full_total++;
  if (r->o->trace)
    printf("t=%" PRIu64 " FULL #%" PRIu32 " at %s (buffered %" PRIu32 ")\n",
           r->now, f->mid, r->names[m->dst],
           p2pc_causal_buffered(r->cores[m->dst]));
  if (r->faults == 0) {
    uint32_t limit = r->p.max_buffered ? r->p.max_buffered
                                       : P2PC_CAUSAL_MAX_BUFFERED_DEFAULT;
    uint32_t held = p2pc_causal_buffered(r->cores[m->dst]);
    if (r->o->compare)
      fail(r, "FULL for %s:%" PRIu64 " at %s with the default buffer",
           r->names[m->src], m->n, r->names[m->dst]);
    else if (held < limit)
      fail(r,
           "FULL for %s:%" PRIu64 " at %s with only %" PRIu32 " of %" PRIu32
           " messages buffered",
           r->names[m->src], m->n, r->names[m->dst], held, limit);
    else if (ccheck_delivered(r->ck, m->src, m->n))
      fail(r,
           "FULL for a copy of %s:%" PRIu64 " at %s, which was already "
           "delivered (a duplicate must be accepted and dropped)",
           r->names[m->src], m->n, r->names[m->dst]);
    else if (ccheck_ready(r->ck, m->src, m->n))
      fail(r,
           "FULL for %s:%" PRIu64 " at %s although all its causal "
           "predecessors are delivered (deliverable must be accepted)",
           r->names[m->src], m->n, r->names[m->dst]);
  }
  uint64_t again = 1 + rng_below(&r->g, 2 * r->p.maxdelay + 2);
  /* A broken core may never take it: back off so a livelocked fault run
   * ends quickly. A correct core must not need this (see run_schedule). */
  if (r->faults)
    again <<= f->nfull < 10 ? f->nfull : 10;
  heap_push(r, r->now + again, f->mid, f->dup, r->epoch, f->nfull + 1);
  r->nrejected++;
}

static bool should_stop(const run *r) {
  if (r->fail[0])
    return true;
  return r->stop_any ? ccheck_violations(r->ck) > 0
                     : ccheck_count(r->ck, r->stop_kind) > 0;
}

static void run_free(run *r) {
  for (uint32_t i = 0; i < MAX_NODES; i++) {
    p2pc_causal_free(r->cores[i]);
    free(r->recs[i]);
  }
  ccheck_free(r->ck);
  p2pc_buf_fini(&r->out);
  free(r->heap);
  free(r->msgs);
  free(r->pool);
  memset(r, 0, sizeof *r);
}

/* Runs the schedule of seed; r is left holding its results (run_free). */
static outcome run_schedule(run *r, const options *o, uint64_t seed,
                            bool no_prune) {
  memset(r, 0, sizeof *r);
  r->o = o;
  r->faults = o->faults;
  r->no_prune = no_prune;
  if (o->expect) {
    r->stop_any = false;
    r->stop_kind = (o->faults & P2PC_CAUSAL_FAULT_NO_DEDUP) ? CCHECK_DUPLICATE
                                                            : CCHECK_ORDER;
  } else {
    r->stop_any = true;
  }
  rng_seed(&r->g, seed);
  draw_params(r, o->compare);
  /* Pruning (A.11) drops a vacuous pair such as the (dest, {}) of a
   * stamp-before-tick first send at once, hiding the bug: broken cores
   * run both ways. */
  if (o->faults)
    r->no_prune = no_prune = rng_chance(&r->g, 0.5);
  const params *p = &r->p;
  if (o->trace)
    printf("schedule seed=%" PRIu64 " nodes=%" PRIu32 " ops=%" PRIu32
           " max_buffered=%" PRIu32 " maxdelay=%" PRIu64 " gapmax=%" PRIu64
           " pbcast=%.2f nactive=%" PRIu32 " no_prune=%d\n",
           seed, p->n, p->ops, p->max_buffered, p->maxdelay, p->gapmax,
           p->pbcast, p->nactive, (int)no_prune);
  for (uint32_t i = 0; i < p->n; i++) {
    snprintf(r->names[i], sizeof r->names[i], "n%" PRIu32, i);
    r->namep[i] = r->names[i];
  }
  r->ck = ccheck_new(p->n, r->namep, 0);
  p2pc_buf_init(&r->out, p2pc_allocator_default(), OUT_MAX);
  p2pc_causal_config cfg = {.max_buffered = p->max_buffered,
                            .no_prune = no_prune,
                            .faults = o->faults};
  for (uint32_t i = 0; i < p->n; i++) {
    r->ctx[i] = (node_ctx){.r = r, .idx = i};
    int rc = p2pc_causal_new(&r->cores[i], r->names[i], &cfg,
                             p2pc_allocator_default(), on_event, &r->ctx[i]);
    if (rc != 0) {
      fail(r, "p2pc_causal_new(%s) returned %s", r->names[i],
           p2pc_strerror(rc));
      return OUT_API;
    }
  }

  uint64_t stall = 16 * p->maxdelay + 16;
  uint32_t ops_left = p->ops;
  uint64_t next_send = rng_below(&r->g, p->gapmax + 1);
  while (ops_left || r->nheap) {
    if (++r->steps > STEP_LIMIT) {
      fail(r, "no end after %u steps (%zu messages still in flight)",
           STEP_LIMIT, r->nheap);
      return OUT_STALL;
    }
    /* Livelock. The causally oldest undelivered message is always
     * deliverable, so a correct core delivers something within the
     * longest time one copy stays in flight (11 x maxdelay + 1, or
     * 2 x maxdelay + 2 after a FULL) of the last progress; and once every
     * copy in flight was refused FULL since the last progress, that
     * oldest message was refused although it was deliverable. */
    if ((r->now - r->last_progress > stall ||
         (!ops_left && r->nheap && r->nrejected == r->nheap)) &&
        ccheck_undelivered(r->ck) > 0) {
      fail(r,
           "livelock: nothing delivered for %" PRIu64 " ticks; %" PRIu64
           " messages undelivered, %zu copies in flight, %" PRIu64
           " FULL rejections",
           r->now - r->last_progress, ccheck_undelivered(r->ck), r->nheap,
           r->full_total);
      return OUT_STALL;
    }
    if (ops_left && (!r->nheap || next_send <= r->heap[0].t)) {
      r->now = next_send;
      r->last_progress = r->now;
      r->epoch++;
      r->nrejected = 0;
      do_op(r);
      ops_left--;
      next_send = r->now + rng_below(&r->g, p->gapmax + 1);
    } else {
      flight f = heap_pop(r);
      if (f.rejected_in == r->epoch)
        r->nrejected--;
      r->now = f.t;
      do_arrival(r, &f);
    }
    if (should_stop(r))
      break;
  }
  if (r->fail[0])
    return OUT_API;
  if (ccheck_violations(r->ck))
    return OUT_VIOLATION;
  ccheck_finish(r->ck);
  if (ccheck_violations(r->ck))
    return OUT_VIOLATION;
  if (r->faults)
    return OUT_OK;
  for (uint32_t i = 0; i < p->n; i++) {
    uint32_t held = p2pc_causal_buffered(r->cores[i]);
    p2pc_causal_stats st;
    p2pc_causal_get_stats(r->cores[i], &st);
    if (held)
      fail(r,
           "%s still buffers %" PRIu32 " messages after all were "
           "delivered",
           r->names[i], held);
    else if (st.rejected_full != r->fulls[i])
      fail(r,
           "%s: stats.rejected_full=%" PRIu64 " but receive returned "
           "FULL %" PRIu64 " times",
           r->names[i], st.rejected_full, r->fulls[i]);
  }
  return r->fail[0] ? OUT_API : OUT_OK;
}

/* Re-checks a finished clean run with an offline checker fed one node's
 * whole log after another (in reverse node order, so most deliveries come
 * before their sends): it must reach the same verdict. */
static bool recheck_offline(const run *r, char *why, size_t whylen) {
  ccheck *ck = ccheck_new(r->p.n, r->namep, CCHECK_OFFLINE);
  for (uint32_t k = r->p.n; k-- > 0;)
    for (size_t i = 0; i < r->nrecs[k]; i++) {
      const rec *x = &r->recs[k][i];
      uint8_t payload[MAX_PAYLOAD];
      size_t len = 0;
      if (x->mid != UINT32_MAX && x->mid < r->nmsgs)
        len = make_payload(x->mid, r->msgs[x->mid].src, r->msgs[x->mid].dst,
                           payload);
      if (x->is_send)
        ccheck_send(ck, k, x->sender, x->n, x->peer, payload, len);
      else
        ccheck_deliver(ck, k, x->sender, x->n, payload, len);
    }
  ccheck_finish(ck);
  bool ok = ccheck_violations(ck) == ccheck_violations(r->ck) &&
            ccheck_deliveries(ck) == ccheck_deliveries(r->ck) &&
            ccheck_messages(ck) == ccheck_messages(r->ck);
  if (!ok)
    snprintf(why, whylen,
             "offline re-check disagrees: %" PRIu64 " violations (%s), %" PRIu64
             " deliveries vs online %" PRIu64 ", %" PRIu64,
             ccheck_violations(ck), ccheck_first(ck) ? ccheck_first(ck) : "-",
             ccheck_deliveries(ck), ccheck_violations(r->ck),
             ccheck_deliveries(r->ck));
  ccheck_free(ck);
  return ok;
}

/* The per-node delivery sequences of two runs must be identical. */
static bool same_deliveries(const run *a, const run *b, char *why,
                            size_t whylen) {
  for (uint32_t k = 0; k < a->p.n; k++) {
    size_t i = 0, j = 0, pos = 0;
    for (;;) {
      while (i < a->nrecs[k] && a->recs[k][i].is_send)
        i++;
      while (j < b->nrecs[k] && b->recs[k][j].is_send)
        j++;
      bool ea = i == a->nrecs[k], eb = j == b->nrecs[k];
      if (ea && eb)
        break;
      if (ea || eb || a->recs[k][i].sender != b->recs[k][j].sender ||
          a->recs[k][i].n != b->recs[k][j].n) {
        char sa[40] = "(end)", sb[40] = "(end)";
        if (!ea)
          snprintf(sa, sizeof sa, "%s:%" PRIu64, a->names[a->recs[k][i].sender],
                   a->recs[k][i].n);
        if (!eb)
          snprintf(sb, sizeof sb, "%s:%" PRIu64, b->names[b->recs[k][j].sender],
                   b->recs[k][j].n);
        snprintf(why, whylen,
                 "delivery #%zu at %s differs: %s with pruning, %s with "
                 "no_prune",
                 pos + 1, a->names[k], sa, sb);
        return false;
      }
      i++;
      j++;
      pos++;
    }
  }
  return true;
}

/* ---- the checker's own test ---------------------------------------------- */

static int selftest_fail(const char *what) {
  fprintf(stderr, "prop_causal: checker self-test failed: %s\n", what);
  return 1;
}

/* A.8's worked example: P1 sends m1 to P2 and m2 to P3; P3 delivers m2 and
 * sends m3 to P2. At P2, m1 must come before m3. */
static void feed_example(ccheck *c, bool m3_first, bool p2_log_first) {
  static const uint8_t pl[3] = {1, 2, 3};
  enum { P1, P2, P3 };
  if (p2_log_first) { /* offline order: P2's log, then P3's, then P1's */
    if (m3_first) {
      ccheck_deliver(c, P2, P3, 1, &pl[2], 1);
      ccheck_deliver(c, P2, P1, 1, &pl[0], 1);
    } else {
      ccheck_deliver(c, P2, P1, 1, &pl[0], 1);
      ccheck_deliver(c, P2, P3, 1, &pl[2], 1);
    }
    ccheck_deliver(c, P3, P1, 2, &pl[1], 1);
    ccheck_send(c, P3, P3, 1, P2, &pl[2], 1);
    ccheck_send(c, P1, P1, 1, P2, &pl[0], 1);
    ccheck_send(c, P1, P1, 2, P3, &pl[1], 1);
    return;
  }
  ccheck_send(c, P1, P1, 1, P2, &pl[0], 1);
  ccheck_send(c, P1, P1, 2, P3, &pl[1], 1);
  ccheck_deliver(c, P3, P1, 2, &pl[1], 1);
  ccheck_send(c, P3, P3, 1, P2, &pl[2], 1);
  if (m3_first) {
    ccheck_deliver(c, P2, P3, 1, &pl[2], 1);
    ccheck_deliver(c, P2, P1, 1, &pl[0], 1);
  } else {
    ccheck_deliver(c, P2, P1, 1, &pl[0], 1);
    ccheck_deliver(c, P2, P3, 1, &pl[2], 1);
  }
}

static int checker_selftest(void) {
  static const char *const nm[3] = {"P1", "P2", "P3"};
  static const uint8_t a = 'a', b = 'b';
  ccheck *c;
  int bad = 0;

  for (int offline = 0; offline < 2; offline++) {
    unsigned fl = offline ? CCHECK_OFFLINE : 0;
    c = ccheck_new(3, nm, fl);
    feed_example(c, false, offline);
    ccheck_finish(c);
    if (ccheck_violations(c) || ccheck_deliveries(c) != 3)
      bad |= selftest_fail("A.8 in order flagged");
    ccheck_free(c);

    c = ccheck_new(3, nm, fl);
    feed_example(c, true, offline);
    ccheck_finish(c);
    const char *l = ccheck_first_of(c, CCHECK_ORDER);
    if (ccheck_count(c, CCHECK_ORDER) != 1 || ccheck_violations(c) != 1 || !l ||
        !strstr(l, "P2 delivered P3:1 before P1:1"))
      bad |= selftest_fail("A.8 with m3 first not flagged as ORDER");
    ccheck_free(c);
  }

  /* FIFO: two messages P1 -> P2, the second delivered first; ready(). */
  c = ccheck_new(3, nm, 0);
  ccheck_send(c, 0, 0, 1, 1, &a, 1);
  ccheck_send(c, 0, 0, 2, 1, &b, 1);
  if (!ccheck_ready(c, 0, 1) || ccheck_ready(c, 0, 2))
    bad |= selftest_fail("ready() wrong for a FIFO pair");
  ccheck_deliver(c, 1, 0, 2, &b, 1);
  ccheck_deliver(c, 1, 0, 1, &a, 1);
  if (ccheck_count(c, CCHECK_ORDER) != 1)
    bad |= selftest_fail("FIFO overtaking not flagged");
  if (!ccheck_delivered(c, 0, 1) || ccheck_ready(c, 0, 1))
    bad |= selftest_fail("delivered()/ready() after delivery");
  /* ... delivered again, with the wrong payload, and at the wrong node. */
  ccheck_deliver(c, 1, 0, 1, &a, 1);
  ccheck_deliver(c, 1, 0, 2, &a, 1);
  ccheck_deliver(c, 2, 0, 1, &a, 1);
  ccheck_deliver(c, 2, 1, 7, &a, 1);
  if (ccheck_count(c, CCHECK_DUPLICATE) != 2 ||
      ccheck_count(c, CCHECK_PAYLOAD) != 1 ||
      ccheck_count(c, CCHECK_WRONG_DEST) != 1 ||
      ccheck_count(c, CCHECK_UNKNOWN) != 1)
    bad |= selftest_fail("duplicate/payload/wrong-dest/unknown not flagged");
  /* A send in another's name and a reused id. */
  ccheck_send(c, 2, 0, 9, 1, NULL, 0);
  ccheck_send(c, 0, 0, 1, 2, NULL, 0);
  if (ccheck_count(c, CCHECK_BAD_SEND) != 2)
    bad |= selftest_fail("bad sends not flagged");
  ccheck_free(c);

  /* Concurrent messages may come in any order; a missing one is LIVENESS;
   * an unknown one in offline mode is found at the end. */
  c = ccheck_new(3, nm, CCHECK_OFFLINE);
  ccheck_deliver(c, 2, 1, 1, &b, 1);
  ccheck_deliver(c, 2, 0, 1, &a, 1);
  ccheck_deliver(c, 2, 0, 5, &a, 1);
  ccheck_send(c, 0, 0, 1, 2, &a, 1);
  ccheck_send(c, 0, 0, 2, 1, &a, 1);
  ccheck_send(c, 1, 1, 1, 2, &b, 1);
  ccheck_finish(c);
  if (ccheck_count(c, CCHECK_ORDER) || ccheck_count(c, CCHECK_LIVENESS) != 1 ||
      ccheck_count(c, CCHECK_UNKNOWN) != 1 || ccheck_violations(c) != 2)
    bad |= selftest_fail("concurrent/liveness/offline unknown");
  ccheck_free(c);

  /* Transitivity through a third node: P1 -> P3 (m1), P1 -> P2 (m2), P2
   * delivers m2 and sends m3 to P3; m3 before m1 at P3 is a violation. */
  c = ccheck_new(3, nm, 0);
  ccheck_send(c, 0, 0, 1, 2, &a, 1);
  ccheck_send(c, 0, 0, 2, 1, &a, 1);
  ccheck_deliver(c, 1, 0, 2, &a, 1);
  ccheck_send(c, 1, 1, 1, 2, &b, 1);
  if (ccheck_ready(c, 1, 1) || !ccheck_ready(c, 0, 1))
    bad |= selftest_fail("transitive ready()");
  ccheck_deliver(c, 2, 1, 1, &b, 1);
  ccheck_deliver(c, 2, 0, 1, &a, 1);
  ccheck_finish(c);
  if (ccheck_count(c, CCHECK_ORDER) != 1 || ccheck_violations(c) != 1)
    bad |= selftest_fail("transitive ORDER not flagged");
  ccheck_free(c);
  return bad;
}

/* ---- main ------------------------------------------------------------ */

static int usage(void) {
  fprintf(stderr,
          "usage: prop_causal [--schedules K] [--seed BASE] [--trace]\n"
          "         [--faults stamp-before-tick|drop-dest-pair|no-dedup]\n"
          "         [--expect-violation] [--compare-prune]\n"
          "  env P2PC_SEED=<u64> replays one schedule\n");
  return 2;
}

static bool parse_u64(const char *s, uint64_t *v) {
  if (!s || !*s || *s == '-')
    return false;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 0);
  if (errno || *end)
    return false;
  *v = x;
  return true;
}

static uint64_t schedule_seed(uint64_t base, uint64_t i) {
  uint64_t x = base ^ (i * 0xD1B54A32D192ED03ull);
  return p2pc_splitmix64(&x);
}

static void describe(const run *r, uint64_t seed, const options *o) {
  const params *p = &r->p;
  printf("  schedule: nodes=%" PRIu32 " ops=%" PRIu32 " max_buffered=%" PRIu32
         " maxdelay=%" PRIu64 " gapmax=%" PRIu64 " pbcast=%.2f nactive=%" PRIu32
         " no_prune=%d; stopped at step %" PRIu64 ", t=%" PRIu64
         ", %zu messages sent\n",
         p->n, p->ops, p->max_buffered, p->maxdelay, p->gapmax, p->pbcast,
         p->nactive, (int)r->no_prune, r->steps, r->now, r->nmsgs);
  printf("  replay: P2PC_SEED=%" PRIu64 " prop_causal%s%s%s%s --trace\n", seed,
         o->fault_name ? " --faults " : "", o->fault_name ? o->fault_name : "",
         o->expect ? " --expect-violation" : "",
         o->compare ? " --compare-prune" : "");
}

int main(int argc, char **argv) {
  options o = {.schedules = 2000};
  bool have_base = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--schedules") == 0 && i + 1 < argc) {
      if (!parse_u64(argv[++i], &o.schedules) || o.schedules == 0)
        return usage();
    } else if (strcmp(a, "--seed") == 0 && i + 1 < argc) {
      if (!parse_u64(argv[++i], &o.base))
        return usage();
      have_base = true;
    } else if (strcmp(a, "--faults") == 0 && i + 1 < argc) {
      o.fault_name = argv[++i];
      if (strcmp(o.fault_name, "stamp-before-tick") == 0)
        o.faults = P2PC_CAUSAL_FAULT_STAMP_BEFORE_TICK;
      else if (strcmp(o.fault_name, "drop-dest-pair") == 0)
        o.faults = P2PC_CAUSAL_FAULT_DROP_DEST_PAIR;
      else if (strcmp(o.fault_name, "no-dedup") == 0)
        o.faults = P2PC_CAUSAL_FAULT_NO_DEDUP;
      else
        return usage();
    } else if (strcmp(a, "--expect-violation") == 0) {
      o.expect = true;
    } else if (strcmp(a, "--compare-prune") == 0) {
      o.compare = true;
    } else if (strcmp(a, "--trace") == 0) {
      o.trace = true;
    } else {
      return usage();
    }
  }
  if (o.expect != (o.faults != 0) || (o.compare && o.faults)) {
    fprintf(stderr, "prop_causal: --faults needs --expect-violation (and "
                    "vice versa); --compare-prune runs without faults\n");
    return 2;
  }
  const char *env = getenv("P2PC_SEED");
  if (env && *env) {
    if (!parse_u64(env, &o.replay)) {
      fprintf(stderr, "prop_causal: bad P2PC_SEED \"%s\"\n", env);
      return 2;
    }
    o.have_replay = true;
  }
  if (!have_base) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    x ^= (uint64_t)getpid() << 32;
    o.base = p2pc_splitmix64(&x);
  }

  if (checker_selftest())
    return 1;

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint64_t count = o.have_replay ? 1 : o.schedules;
  if (o.have_replay)
    printf("prop_causal: replaying schedule seed %" PRIu64 "%s%s\n", o.replay,
           o.fault_name ? " with fault " : "",
           o.fault_name ? o.fault_name : "");
  else
    printf("prop_causal: base seed %" PRIu64 " (rerun with --seed %" PRIu64
           "), %" PRIu64 " schedules%s%s%s\n",
           o.base, o.base, count, o.fault_name ? ", fault " : "",
           o.fault_name ? o.fault_name : "",
           o.compare ? ", pruning vs no_prune" : "");
  fflush(stdout);

  uint64_t msgs = 0, dups = 0, fulls = 0, liveness = 0, stalls = 0;
  uint64_t rejected = 0;
  uint64_t meta[2] = {0, 0}, sends[2] = {0, 0}, max_steps = 0;
  int status = o.expect ? 1 : 0;
  uint64_t done = 0;
  static run ra, rb;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t seed = o.have_replay ? o.replay : schedule_seed(o.base, i);
    outcome oa = run_schedule(&ra, &o, seed, false);
    done++;
    msgs += ra.nmsgs;
    dups += ra.dups_injected;
    fulls += ra.full_total;
    rejected += ra.rejected;
    meta[0] += ra.meta_total;
    sends[0] += ra.sends_total;
    if (ra.steps > max_steps)
      max_steps = ra.steps;
    if (o.expect) {
      ccheck_kind want = (o.faults & P2PC_CAUSAL_FAULT_NO_DEDUP)
                             ? CCHECK_DUPLICATE
                             : CCHECK_ORDER;
      if (ccheck_count(ra.ck, want)) {
        printf("prop_causal: fault %s caught in schedule %" PRIu64
               " (seed %" PRIu64 "): %s\n",
               o.fault_name, i, seed, ccheck_first_of(ra.ck, want));
        describe(&ra, seed, &o);
        status = 0;
        run_free(&ra);
        break;
      }
      if (oa == OUT_API) {
        printf("prop_causal: schedule %" PRIu64 " (seed %" PRIu64
               ") with fault %s: %s\n",
               i, seed, o.fault_name, ra.fail);
        describe(&ra, seed, &o);
        status = 2;
        run_free(&ra);
        break;
      }
      if (oa == OUT_STALL)
        stalls++;
      else if (ccheck_count(ra.ck, CCHECK_LIVENESS))
        liveness++;
      run_free(&ra);
      continue;
    }
    if (oa != OUT_OK) {
      printf("prop_causal: FAIL in schedule %" PRIu64 " (seed %" PRIu64
             "%s): %s\n",
             i, seed, o.compare ? ", with pruning" : "",
             oa == OUT_VIOLATION ? ccheck_first(ra.ck) : ra.fail);
      if (oa == OUT_VIOLATION)
        for (int k = 0; k < CCHECK_NKINDS; k++)
          if (ccheck_count(ra.ck, (ccheck_kind)k))
            printf("  %s: %" PRIu64 "\n", ccheck_kind_name((ccheck_kind)k),
                   ccheck_count(ra.ck, (ccheck_kind)k));
      describe(&ra, seed, &o);
      status = 1;
      run_free(&ra);
      break;
    }
    char why[600];
    if ((i % 8 == 0 || o.have_replay) &&
        !recheck_offline(&ra, why, sizeof why)) {
      printf("prop_causal: FAIL in schedule %" PRIu64 " (seed %" PRIu64
             "): %s\n",
             i, seed, why);
      describe(&ra, seed, &o);
      status = 1;
      run_free(&ra);
      break;
    }
    if (o.compare) {
      outcome ob = run_schedule(&rb, &o, seed, true);
      meta[1] += rb.meta_total;
      sends[1] += rb.sends_total;
      if (ob != OUT_OK) {
        printf("prop_causal: FAIL in schedule %" PRIu64 " (seed %" PRIu64
               ", no_prune): %s\n",
               i, seed, ob == OUT_VIOLATION ? ccheck_first(rb.ck) : rb.fail);
        describe(&rb, seed, &o);
        status = 1;
      } else if (!same_deliveries(&ra, &rb, why, sizeof why)) {
        printf("prop_causal: FAIL in schedule %" PRIu64 " (seed %" PRIu64
               "): %s\n",
               i, seed, why);
        describe(&ra, seed, &o);
        status = 1;
      }
      run_free(&rb);
    }
    run_free(&ra);
    if (status)
      break;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) +
                (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  printf("prop_causal: %" PRIu64 " schedules, %" PRIu64 " messages, %" PRIu64
         " duplicates injected, %" PRIu64 " FULL rejections, max %" PRIu64
         " steps, %.2f s\n",
         done, msgs, dups, fulls, max_steps, secs);
  if (sends[0])
    printf("prop_causal: causal metadata %.1f bytes/message%s",
           (double)meta[0] / (double)sends[0],
           o.compare ? " with pruning" : "");
  if (o.compare && sends[1])
    printf(", %.1f without", (double)meta[1] / (double)sends[1]);
  if (sends[0])
    printf("\n");
  if (o.faults)
    printf("prop_causal: %" PRIu64 " messages refused by receivers as "
           "malformed (fault runs only)\n",
           rejected);
  if (o.expect && status == 1)
    printf("prop_causal: fault %s NOT caught in %" PRIu64 " schedules (%" PRIu64
           " ended with undelivered messages, %" PRIu64 " stalled)\n",
           o.fault_name, done, liveness, stalls);
  if (status == 2)
    status = 1;
  return status;
}
