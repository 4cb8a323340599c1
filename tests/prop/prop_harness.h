/* SPDX-License-Identifier: MIT */
/*
 * The harness of prop_causal (prop_causal.c says what it tests): one run
 * of one schedule of N cores on a virtual clock, its parameters, its
 * events and its log, and the functions its files share.
 */
#ifndef P2PC_PROP_HARNESS_H
#define P2PC_PROP_HARNESS_H

#include "causal.h"
#include "causal_faults.h"
#include "checker.h"
#include "legacy_ses.h"
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
#define MAX_CRASHES 2
#define MAX_SLOTS (MAX_NODES + MAX_CRASHES) /* incarnations */
#define STEP_LIMIT 4000000u
#define MAX_PAYLOAD 64
#define OUT_MAX (16u << 20)
#define MS 1000000ull
#define SEC 1000000000ull
#define INF P2PC_CAUSAL_LIFETIME_INF
/* Virtual time 0 is this network time (ns since the epoch, late 2023). */
#define EPOCH 1700000000000000000ll
#define LIAR_LEAD (10 * SEC)
/* Slack for the HLC's 16-bit granule and logical ticks. */
#define SLACK (2 * MS)

/* ---- PRNG: the core's (rng.h) ------------------------------------------- */

typedef p2pc_rng rng;

static inline uint64_t rng_next(rng *r) { return p2pc_rng_next(r); }

/* Uniform in [0, n), n > 0 (rejection: no modulo bias). */
static inline uint64_t rng_below(rng *r, uint64_t n) {
  uint64_t lim = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do
    x = rng_next(r);
  while (x >= lim);
  return x % n;
}

static inline bool rng_chance(rng *r, double p) {
  return (double)(rng_next(r) >> 11) * 0x1.0p-53 < p;
}

static inline uint64_t pick(rng *r, const uint64_t *v, size_t n) {
  return v[rng_below(r, n)];
}
#define PICK(r, arr) pick((r), (arr), sizeof(arr) / sizeof((arr)[0]))

/* Randomness for reactions to what the cores answer (re-offers, retries):
 * a hash of the schedule's seed and the event, so that the main stream,
 * and with it the schedule, is the same whatever the cores answer. */
static inline uint64_t hmix(uint64_t seed, uint64_t a, uint64_t b) {
  uint64_t x = seed ^ (a * 0x9E3779B97F4A7C15ull) ^ (b * 0xC2B2AE3D27D4EB4Full);
  p2pc_splitmix64(&x);
  return p2pc_splitmix64(&x);
}

/* ---- options ------------------------------------------------------------ */

typedef enum mode {
  MODE_GENERAL,
  MODE_BOUNDED, /* property c */
  MODE_AHEAD,   /* property f */
  MODE_PRUNE,   /* property g */
  MODE_LEGACY   /* property h */
} mode;

typedef struct options {
  uint64_t schedules;
  uint64_t base;
  bool have_replay;
  uint64_t replay;
  mode mode;
  uint32_t faults;
  const char *fault_name;
  bool expect;
  bool legacy_retire;
  bool trace;
} options;

/* ---- one run of one schedule -------------------------------------------- */

typedef struct params {
  uint32_t n;       /* initial cores */
  uint32_t nactive; /* senders: incarnations of cores 0..nactive-1 */
  uint32_t ops;
  uint64_t life;   /* Δ, ns or INF */
  uint64_t maxerr; /* the largest honest error bound */
  uint64_t maxdelay, gapmax, tick;
  /* > 0: every copy (and report) arrives within this of its send */
  uint64_t cap;
  bool near_cap; /* draw delays close to the cap */
  /* cap is Δ - 2 err itself: the receivers may not expire anything, the
   * senders may give up (their acknowledgements come too late) */
  bool sharp;
  /* some copies take about Δ (± 2 err): late at a fast clock, in time at
   * a slow one */
  double pnear_life;
  double pbcast, pself, pdup, pstraggle;
  uint32_t max_buffered, max_deps, max_msg_deps, max_pending;
  bool small_caps;
  bool reports;
  uint64_t rep_period, rep_maxdelay;
  bool gstable;
  uint64_t g_period, g_maxlag;
  bool partition;
  uint64_t p0, p1;
  uint32_t groups; /* bit i: core i is on side 1 */
  uint32_t ncrash;
  uint64_t crash_t[MAX_CRASHES];
  uint32_t crash_who[MAX_CRASHES];
  bool restart[MAX_CRASHES];
  bool retire;
  int32_t liar; /* core index, or -1 */
  bool legacy_prune;
} params;

/* A message as the driver knows it. */
typedef struct dmsg {
  uint32_t src, dst;
  uint64_t n, stamp;
  size_t off, len; /* its encoded bytes in pool */
  uint32_t delivered;
  bool rx_expired, tx_expired, dropped, lost, refused;
} dmsg;

typedef struct bufrec {
  uint32_t sender;
  uint64_t n, stamp;
} bufrec;

typedef struct slot {
  char name[16];
  uint32_t base; /* the core index it is an incarnation of */
  bool dead;
  uint64_t g_cur; /* the G last applied to it (0: none) */
  uint64_t t_dead;
  int64_t off;
  uint64_t err;
  p2pc_causal *c;
  lses_causal *l;
  uint32_t *mids; /* message number -> mid */
  size_t nmids, capmids;
  bufrec *buf; /* what its BUFFER events say it holds */
  size_t nbuf, capbuf;
  bool retired[MAX_SLOTS]; /* it has retired slot k */
  bool dirty[MAX_SLOTS];   /* it owes slot k a delivery report */
  uint64_t *deliv;         /* its DELIVER records: sender slot << 48 | n */
  size_t ndeliv, capdeliv;
  uint64_t fulls;
} slot;

typedef enum ekind {
  E_OP,
  E_ARRIVE,
  E_RESEND,
  E_TICK,
  E_REPORT_GEN,
  E_REPORT,
  E_G_GEN,
  E_G_APPLY,
  E_CRASH,
  E_RETIRE
} ekind;

typedef struct event {
  uint64_t t, seq;
  uint8_t kind;
  bool dup;
  uint16_t tries;
  uint32_t a, b;
  uint64_t x;
} event;

typedef struct report {
  uint64_t delivered;
  uint64_t wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo;
} report;

/* One record for the checker, in the order the events happened. */
typedef enum lkind { L_SEND, L_DELIVER, L_EXPIRE } lkind;
typedef struct logrec {
  uint8_t kind;
  bool payload_ok;
  uint32_t node, sender;
  uint64_t n;
  uint32_t mid; /* UINT32_MAX: unknown */
} logrec;

/* Property letters for failures: 'a'..'h' as above, 'x' the API. */
typedef struct run {
  const options *o;
  params p;
  rng g;
  uint64_t seed;
  uint32_t faults;
  bool no_prune;
  bool legacy;   /* cores are lses_* */
  bool lossless; /* Δ infinite, nothing lost: the checker runs online */
  uint32_t nslots;
  slot s[MAX_SLOTS];
  const char *namep[MAX_SLOTS];
  struct node_ctx {
    struct run *r;
    uint32_t idx;
  } ctx[MAX_SLOTS];
  ccheck *ck; /* online (lossless) checker */
  p2pc_buf out;
  event *heap;
  size_t nheap, capheap;
  uint64_t seq;
  dmsg *msgs;
  size_t nmsgs, capmsgs;
  uint8_t *pool;
  size_t poollen, poolcap;
  report *reps;
  size_t nreps, capreps;
  logrec *log;
  size_t nlog, caplog;
  /* the send in progress */
  bool in_send;
  uint32_t send_src, send_dst;
  const uint8_t *send_payload;
  size_t send_len;
  int send_events;
  uint32_t send_mid;
  /* the call in progress (for the event callback) */
  uint32_t cur;
  uint64_t now, steps, end_time;
  uint32_t ops_left;
  uint64_t dups_injected, full_total, send_full, refused, expired_rx,
      expired_tx, dropped, lost, meta_total, sends_total, deps_max, g_applied,
      reports_sent, forgotten;
  char fail[700];
  char fail_prop;
} run;

typedef enum outcome {
  OUT_OK,
  OUT_VIOLATION, /* the checker found something */
  OUT_FAIL       /* a property the harness checks (fail, fail_prop) */
} outcome;

/* ---- prop_core.c: helpers, heap, payloads, the cores and their events */

void *grow(void *p, size_t elsize, size_t need, size_t *cap);
__attribute__((format(printf, 3, 4))) void fail(run *r, char prop,
                                                const char *fmt, ...);
bool honest(const run *r, uint32_t k);
const char *nm(const run *r, uint32_t k);
double msf(uint64_t ns);
void push(run *r, event e);
event pop(run *r);
size_t make_payload(uint32_t mid, uint32_t src, uint32_t dst, uint8_t *p);
uint64_t mono(const run *r);
void feed_time(run *r, uint32_t k);
int core_new(run *r, uint32_t k);
int core_send(run *r, uint32_t k, uint32_t dst, const uint8_t *pl, size_t len);
int core_receive(run *r, uint32_t k, uint32_t from, const uint8_t *b,
                 size_t len);
int core_retire(run *r, uint32_t k, uint32_t who);
uint32_t core_buffered(const run *r, uint32_t k);
void check_core(run *r, uint32_t k);

/* ---- prop_sched.c: parameters, sends, arrivals, reports, G, crashes */

void draw_params(run *r);
bool alive(const run *r, uint32_t k);
void do_send(run *r, uint32_t src, uint32_t dst, uint32_t tries);
void do_op(run *r);
void do_arrival(run *r, const event *f);
void do_report_gen(run *r);
void do_report(run *r, const event *e);
void do_g_gen(run *r);
void do_g_apply(run *r, const event *e);
void do_crash(run *r, uint32_t base, uint32_t ci);
void do_retire(run *r, const event *e);

/* ---- prop_run.c: one schedule, start to end; comparing two runs */

void run_free(run *r);
outcome run_schedule(run *r, const options *o, uint64_t seed, bool no_prune,
                     bool legacy);
bool recheck_offline(const run *r, char *why, size_t whylen);
bool same_deliveries(const run *a, const run *b, const char *what_a,
                     const char *what_b, char *why, size_t whylen);

/* ---- prop_scenarios.c: the checker's own test, directed scenarios */

int checker_selftest(void);
int run_scenarios(void);

#endif /* P2PC_PROP_HARNESS_H */
