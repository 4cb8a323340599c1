/* SPDX-License-Identifier: MIT */
/*
 * What the files of ses_overhead share: its constants, the parameters and
 * the schedule (ses_overhead_sched.c, with the variants), a run of one
 * variant with its nodes and event queue (ses_overhead_run.c, driving the
 * two cores through ses_overhead_drive.c), and the results and tables
 * (ses_overhead_report.c). ses_overhead.c has the command and the helpers
 * below that every file uses.
 */
#ifndef SES_OVERHEAD_H
#define SES_OVERHEAD_H

#include "causal.h"
#include "legacy_ses.h"
#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* ses_overhead.c: the process's helpers; die and x* exit on failure. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
double now_s(void);

/* ---- the schedule and the variants (ses_overhead_sched.c) ---------------- */

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

typedef struct variant {
  const char *name;
  bool legacy, no_prune, reports, gstable;
  uint64_t life;
  uint32_t max_msg_deps; /* 0: the default */
} variant;

#define NVARIANTS 8
extern const variant variants[NVARIANTS];

uint64_t rng_below(uint64_t *s, uint64_t n);
void sched_make(sched *s, const params *p);
void sched_free(sched *s);

/* ---- one run of one variant (ses_overhead_run.c) ------------------------- */

typedef struct counter {
  size_t live, peak;
} counter;

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

void heap_push(heap *h, event e);
void run_variant(run *r, const sched *s, const params *p, const variant *v);
void run_free(run *r);
bool same_deliveries(const run *a, const run *b);

/* ---- the two cores' drivers (ses_overhead_drive.c) ----------------------- */

void on_event_new(void *ud, const p2pc_causal_event *ev);
void on_event_legacy(void *ud, const lses_causal_event *ev);
void feed_time(run *r, node *nd);
void do_send(run *r, uint32_t i, heap *h, p2pc_buf *out, p2pc_idtab *dec_ids,
             p2pc_ses_msg *dec);
void do_arrive(run *r, uint32_t i);
void do_report_tick(run *r, heap *h, uint64_t *st);
void do_report(run *r, const event *e);
uint64_t g_now(run *r);

/* ---- statistics and tables (ses_overhead_report.c) ----------------------- */

typedef struct summary {
  double mean;
  uint64_t p99, max;
} summary;

typedef struct result {
  summary meta, deps, naive, heap_end, state_end;
  size_t heap_peak;
  double trend[TREND_BINS];
  uint64_t expired, buffered, g_applied, reports;
  bool same;
  double wall;
} result;

void collect(result *res, const run *r, const run *first, const run *legacy_np);
void print_tables(const params *p, const sched *s, const result *res);

#endif
