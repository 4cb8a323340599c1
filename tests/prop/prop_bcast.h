/* SPDX-License-Identifier: MIT */
/*
 * The harness of prop_bcast (prop_bcast.c says what it tests): one run of
 * one schedule of broadcasting causal cores on a virtual clock, and what
 * its two files share.
 */
#ifndef P2PC_PROP_BCAST_H
#define P2PC_PROP_BCAST_H

#include "causal.h"
#include "causal_faults.h"
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

#define MAXN 10
#define MAX_CRASH 2
#define MS 1000000ull
#define SEC 1000000000ull
#define INF P2PC_CAUSAL_LIFETIME_INF
#define EPOCH 1700000000000000000ll
#define OUT_MAX (1u << 20)
#define MAX_PAYLOAD 40
#define NOBODY UINT32_MAX
#define STEP_LIMIT 2000000u

typedef enum mode { M_GENERAL, M_BOUNDED, M_PRUNE } mode;

typedef struct options {
  uint64_t schedules, base, replay;
  bool have_replay, expect, trace;
  mode mode;
  uint32_t faults;
  const char *fault_name;
} options;

typedef struct params {
  uint32_t n0, n;        /* nodes at the start, in all */
  uint64_t born_t[MAXN]; /* when each is created (0: at the start) */
  uint32_t ops;
  uint64_t gap;          /* most time between two sends */
  uint64_t life, maxerr; /* Δ (or INF), the largest error bound */
  uint64_t hop;          /* most delay of one link */
  uint64_t cap;          /* > 0: no copy takes longer */
  double pbcast, pdup, prelay, pself;
  uint32_t ncrash, crash_who[MAX_CRASH];
  uint64_t crash_t[MAX_CRASH];
  bool reports, peer_ls;
  uint64_t tick;
} params;

typedef struct msg {
  uint32_t src, dst; /* dst NOBODY: a broadcast */
  uint64_t n, stamp;
  size_t off, len; /* its encoding in the pool */
} msg;

typedef struct bnode {
  char name[8];
  p2pc_causal *c;
  bool born, dead;
  int64_t off;
  uint64_t err, birth;
  uint64_t hlc_end; /* its HLC when it crashed */
  uint32_t *mids;   /* its message n -> mid at mids[n - 1] */
  size_t nmids, capmids;
  bool sent_to[MAXN]; /* it sent a unicast there: it knows that node */
  uint32_t *deliv;    /* the mids it delivered, in order */
  size_t ndeliv, capdeliv;
} bnode;

enum {
  E_OP,
  E_ARRIVE,
  E_BIRTH,
  E_CRASH,
  E_TICK,
  E_REPGEN,
  E_REP,
  E_LSGEN,
  E_LS
};

typedef struct event {
  uint64_t t, seq;
  uint32_t kind, a, b;
  uint64_t x;
} event;

typedef struct rep {
  uint64_t delivered;
  uint64_t wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo;
} rep;

enum { L_SEND, L_DELIVER, L_EXPIRE };
typedef struct logrec {
  uint32_t node, mid, kind;
  uint64_t hlc; /* the node's HLC at the record */
} logrec;

typedef struct run {
  const options *o;
  params p;
  p2pc_rng g;
  uint64_t seed;
  bool no_prune;
  bnode s[MAXN];
  const char *names[MAXN];
  struct bctx {
    struct run *r;
    uint32_t k;
  } ctx[MAXN];
  event *heap;
  size_t nheap, capheap;
  uint64_t seq, now, end_time, steps;
  uint32_t ops_left;
  msg *msgs;
  size_t nmsgs, capmsgs;
  uint8_t *pool;
  size_t poollen, poolcap;
  rep *reps;
  size_t nreps, capreps;
  logrec *log;
  size_t nlog, caplog;
  p2pc_buf out;
  uint32_t cur; /* the node being called */
  bool in_send; /* its SEND event is for this mid: */
  uint32_t send_mid;
  ccheck *ck;
  uint64_t copies, dups, relays, birth_drops, exp_rx, bcasts, pruned;
  char fail[600];
} run;

static inline void *xgrow(void *p, size_t el, size_t need, size_t *cap) {
  if (need <= *cap)
    return p;
  size_t c = *cap ? *cap : 64;
  while (c < need)
    c *= 2;
  void *q = realloc(p, c * el);
  if (!q) {
    fprintf(stderr, "prop_bcast: out of memory\n");
    abort();
  }
  *cap = c;
  return q;
}

static inline size_t make_payload(uint32_t mid, uint8_t *p) {
  uint64_t h = mid;
  size_t len = 4 + (size_t)(p2pc_splitmix64(&h) % (MAX_PAYLOAD - 4 + 1));
  for (size_t i = 0; i < len; i++)
    p[i] = (uint8_t)(i < 4 ? mid >> (8 * i) : mid * 31u + i * 7u);
  return len;
}

static inline bool alive(const run *r, uint32_t k) {
  return r->s[k].born && !r->s[k].dead;
}

/* prop_bcast_run.c: one schedule, start to end (0 ok, 1 the harness's
 * failure in r->fail, 2 the checker's violations in r->ck). */
int run_schedule(run *r, const options *o, uint64_t seed, bool no_prune);
void run_free(run *r);
/* prop_bcast.c: feeds the checker the run's records (run_schedule calls
 * it at the end). */
void judge(run *r);

#endif /* P2PC_PROP_BCAST_H */
