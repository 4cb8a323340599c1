/* SPDX-License-Identifier: MIT */
/*
 * Randomized property test of the Δ-SES causal core (src/core/causal.h).
 * Each schedule runs 2..16 p2pc_causal cores in one process on a virtual
 * clock and drives them from a seeded PRNG: random unicasts, broadcasts
 * and self-sends, a random delay per copy (so messages overtake each
 * other), injected duplicates, tiny buffers (receive answers
 * P2PC_ERR_FULL and the copy is offered again), small metadata caps (send
 * answers P2PC_ERR_FULL: the send is retried later or dropped), a random
 * causal lifetime Δ (50 ms .. infinite), a random clock offset per core
 * within its error bound, partitions (copies between two groups held for
 * a while), crashes (a core stops for ever, its copies in flight may or
 * may not arrive; the others retire it, and it may come back as a new
 * incarnation), delivery reports carried back to senders and a global
 * stable time G computed with a lag.
 *
 * Properties (checked after every step and at the end of each schedule):
 *   a  causal order for every delivered pair and exactly-once delivery:
 *      the independent checker (checker.h) rebuilds happens-before from
 *      the SEND/DELIVER events alone (online when nothing can be lost;
 *      else after the run, each message never delivered reported expired
 *      right after its send, so that order is checked among the
 *      delivered ones);
 *   b  every message between two cores that never crash is delivered
 *      exactly once or reported EXPIRE (by its receiver or its sender),
 *      never both delivered and expired at its receiver; a receiver
 *      expires only what is older than Δ on its HLC;
 *   c  --bounded: no receiver expires anything while every delay stays
 *      below Δ - 2 x the largest error bound (half the schedules draw
 *      delays up to that bound: their senders may give up, acknowledged
 *      too late), and no EXPIRE anywhere while every delay and every
 *      delivery report's round trip stay below it;
 *   d  nothing stays buffered once stamp + Δ <= the core's HLC;
 *   e  every SEND carries at most max_msg_deps entries, every core holds at
 *      most max_deps;
 *   f  --ahead: a core whose clock runs 10 s ahead is refused
 *      (P2PC_ERR_AHEAD) by every honest core, never pulls an honest HLC
 *      ahead, and no honest core expires honest traffic;
 *   g  --compare-prune: the same schedule with pruning (reports, G) and
 *      with no_prune gives the same delivery sequence at every core. G is
 *      min over the members of p2pc_causal_local_stable, applied after a
 *      lag (LS never decreases, so it is a lower bound then; checked); a
 *      crashed core leaves the minimum once every live core has retired
 *      it or Δ + 2 err after its crash, and G values in flight are
 *      lowered to a new incarnation's LS;
 *   h  --compare-legacy: with Δ infinite and no_prune, the same delivery
 *      sequences as the pre-Δ-SES core (tests/legacy, lses_*).
 *
 *   prop_causal --scenarios
 *   prop_causal [--schedules K] [--seed BASE] [--trace]
 *               [--bounded | --ahead | --compare-prune | --compare-legacy
 *                [--legacy-retire]]
 *               [--faults drop-dest-pair|no-dedup|no-transitive|
 *                         expire-early --expect-violation]
 *
 * --scenarios runs directed scenarios of bugs the random schedules found
 * (regression tests). P2PC_SEED=<u64> replays exactly one schedule (its seed is
 * printed on failure). --expect-violation runs cores with a deliberate protocol
 * bug and succeeds only if it is caught: an ORDER violation (drop-dest-pair,
 * no-transitive), a DUPLICATE (no-dedup), or an EXPIRE under property c
 * (expire-early, which runs --bounded schedules).
 */
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

static uint64_t pick(rng *r, const uint64_t *v, size_t n) {
  return v[rng_below(r, n)];
}
#define PICK(r, arr) pick((r), (arr), sizeof(arr) / sizeof((arr)[0]))

/* Randomness for reactions to what the cores answer (re-offers, retries):
 * a hash of the schedule's seed and the event, so that the main stream,
 * and with it the schedule, is the same whatever the cores answer. */
static uint64_t hmix(uint64_t seed, uint64_t a, uint64_t b) {
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
      reports_sent;
  char fail[700];
  char fail_prop;
} run;

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

static __attribute__((format(printf, 3, 4))) void fail(run *r, char prop,
                                                       const char *fmt, ...) {
  if (r->fail[0])
    return;
  va_list ap;
  va_start(ap, fmt);
  int k = snprintf(r->fail, sizeof r->fail, "[%c] ", prop);
  vsnprintf(r->fail + k, sizeof r->fail - (size_t)k, fmt, ap);
  va_end(ap);
  r->fail_prop = prop;
}

static bool find_slot(const run *r, const char *s, uint32_t *out) {
  if (!s)
    return false;
  for (uint32_t i = 0; i < r->nslots; i++)
    if (strcmp(s, r->s[i].name) == 0) {
      *out = i;
      return true;
    }
  return false;
}

static bool honest(const run *r, uint32_t k) {
  return r->p.liar < 0 || r->s[k].base != (uint32_t)r->p.liar;
}

static const char *nm(const run *r, uint32_t k) { return r->s[k].name; }

/* Virtual ns as milliseconds, for messages. */
static double msf(uint64_t ns) { return (double)ns / 1e6; }

/* ---- the event heap, ordered by (time, sequence) ------------------------ */

static bool ev_before(const event *a, const event *b) {
  return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

static void push(run *r, event e) {
  r->heap = grow(r->heap, sizeof *r->heap, r->nheap + 1, &r->capheap);
  e.seq = r->seq++;
  size_t i = r->nheap++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!ev_before(&e, &r->heap[parent]))
      break;
    r->heap[i] = r->heap[parent];
    i = parent;
  }
  r->heap[i] = e;
}

static event pop(run *r) {
  event top = r->heap[0];
  event last = r->heap[--r->nheap];
  size_t i = 0, n = r->nheap;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n)
      break;
    if (c + 1 < n && ev_before(&r->heap[c + 1], &r->heap[c]))
      c++;
    if (!ev_before(&r->heap[c], &last))
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

static bool payload_is(const run *r, uint32_t mid, const uint8_t *p,
                       size_t len) {
  uint8_t want[MAX_PAYLOAD];
  size_t wl = make_payload(mid, r->msgs[mid].src, r->msgs[mid].dst, want);
  return p && len == wl && memcmp(p, want, len) == 0;
}

/* ---- the cores' events, from either core -------------------------------- */

typedef enum ckind {
  K_SEND,
  K_RECV,
  K_BUFFER,
  K_DELIVER,
  K_DUP,
  K_DROP,
  K_EXPIRE,
  K_REFUSE
} ckind;

typedef struct cev {
  ckind kind;
  const char *sender, *peer;
  uint64_t n, stamp, hlc;
  uint32_t deps;
  size_t bytes, meta;
  const uint8_t *payload;
  const char *reason;
  bool at_sender;
} cev;

static const char *ckind_name(ckind k) {
  static const char *const names[] = {"SEND", "RECV", "BUFFER", "DELIVER",
                                      "DUP",  "DROP", "EXPIRE", "REFUSE"};
  return k <= K_REFUSE ? names[k] : "?";
}

static void add_log(run *r, lkind kind, uint32_t node, uint32_t sender,
                    uint64_t n, uint32_t mid, bool payload_ok) {
  r->log = grow(r->log, sizeof *r->log, r->nlog + 1, &r->caplog);
  r->log[r->nlog++] = (logrec){.kind = (uint8_t)kind,
                               .payload_ok = payload_ok,
                               .node = node,
                               .sender = sender,
                               .n = n,
                               .mid = mid};
}

static uint32_t mid_of(const run *r, uint32_t sender, uint64_t n) {
  const slot *s = &r->s[sender];
  return n < s->nmids ? s->mids[n] : UINT32_MAX;
}

static void unbuffer(run *r, uint32_t me, uint32_t sender, uint64_t n) {
  slot *s = &r->s[me];
  for (size_t i = 0; i < s->nbuf; i++)
    if (s->buf[i].sender == sender && s->buf[i].n == n) {
      s->buf[i] = s->buf[--s->nbuf];
      return;
    }
}

static void on_send_event(run *r, uint32_t me, uint32_t peer, const cev *ev) {
  if (!r->in_send || me != r->send_src) {
    fail(r, 'x', "%s: SEND event outside its send call", nm(r, me));
    return;
  }
  if (peer != r->send_dst || ev->bytes != r->send_len) {
    fail(r, 'x',
         "%s: SEND event says %s:%" PRIu64 " to %s, %zu bytes; the call "
         "was to %s, %zu bytes",
         nm(r, me), ev->sender, ev->n, ev->peer, ev->bytes, nm(r, r->send_dst),
         r->send_len);
    return;
  }
  slot *s = &r->s[me];
  if (ev->n != s->nmids) {
    fail(r, 'x', "%s: SEND numbered %" PRIu64 ", expected %zu", nm(r, me),
         ev->n, s->nmids);
    return;
  }
  if (!r->legacy && ev->deps > r->p.max_msg_deps) {
    fail(r, 'e',
         "%s: SEND %s:%" PRIu64 " carries %" PRIu32
         " entries, above max_msg_deps %" PRIu32,
         nm(r, me), ev->sender, ev->n, ev->deps, r->p.max_msg_deps);
    return;
  }
  s->mids = grow(s->mids, sizeof *s->mids, s->nmids + 1, &s->capmids);
  s->mids[s->nmids++] = r->send_mid;
  r->send_events++;
  r->meta_total += ev->meta;
  r->sends_total++;
  if (ev->deps > r->deps_max)
    r->deps_max = ev->deps;
  r->msgs = grow(r->msgs, sizeof *r->msgs, r->nmsgs + 1, &r->capmsgs);
  r->msgs[r->nmsgs++] =
      (dmsg){.src = me, .dst = peer, .n = ev->n, .stamp = ev->stamp};
  add_log(r, L_SEND, me, me, ev->n, r->send_mid, true);
  if (r->ck)
    ccheck_send(r->ck, me, me, ev->n, peer, r->send_payload, r->send_len);
}

static void on_deliver_event(run *r, uint32_t me, uint32_t sender,
                             const cev *ev) {
  uint32_t mid = mid_of(r, sender, ev->n);
  bool ok = mid != UINT32_MAX && payload_is(r, mid, ev->payload, ev->bytes);
  add_log(r, L_DELIVER, me, sender, ev->n, mid, ok);
  if (r->ck) {
    static const uint8_t junk[1] = {0xff};
    const uint8_t *pl = ev->payload ? ev->payload : junk;
    ccheck_deliver(r->ck, me, sender, ev->n, pl, ev->payload ? ev->bytes : 1);
  }
  slot *s = &r->s[me];
  s->deliv = grow(s->deliv, sizeof *s->deliv, s->ndeliv + 1, &s->capdeliv);
  s->deliv[s->ndeliv++] = (uint64_t)sender << 48 | ev->n;
  unbuffer(r, me, sender, ev->n);
  s->dirty[sender] = true;
  if (mid == UINT32_MAX)
    return; /* the checker reports it */
  dmsg *m = &r->msgs[mid];
  if (m->dst == me) {
    m->delivered++;
    if (m->rx_expired)
      fail(r, 'b', "%s delivered %s:%" PRIu64 " after expiring it", nm(r, me),
           nm(r, sender), ev->n);
  }
}

static void on_expire_event(run *r, uint32_t me, uint32_t sender, uint32_t peer,
                            const cev *ev) {
  uint32_t mid = mid_of(r, sender, ev->n);
  if (mid == UINT32_MAX) {
    fail(r, 'x', "%s: EXPIRE of %s:%" PRIu64 ", never sent", nm(r, me),
         ev->sender, ev->n);
    return;
  }
  dmsg *m = &r->msgs[mid];
  if (r->o->mode == MODE_BOUNDED && !(ev->at_sender && r->p.sharp)) {
    fail(r, 'c',
         "%s: EXPIRE (%s, %s) of %s:%" PRIu64 " to %s stamped %" PRIu64
         ", HLC %" PRIu64 " (age %.3f ms), though every delay stays below "
         "%.3f ms = Δ - 2 x err - slack (Δ %.3f ms, err %.3f ms)",
         nm(r, me), ev->at_sender ? "sender side" : "receiver side",
         ev->reason ? ev->reason : "?", nm(r, m->src), m->n, nm(r, m->dst),
         ev->stamp, ev->hlc, msf(ev->hlc - ev->stamp), msf(r->p.cap),
         msf(r->p.life), msf(r->p.maxerr));
    return;
  }
  if (r->o->mode == MODE_AHEAD && honest(r, m->src) && honest(r, m->dst)) {
    fail(r, 'f',
         "%s: EXPIRE (%s) of %s:%" PRIu64 " between honest cores, with a "
         "core 10 s ahead in the network",
         nm(r, me), ev->at_sender ? "sender side" : "receiver side",
         nm(r, m->src), m->n);
    return;
  }
  if (ev->at_sender) {
    if (me != m->src || peer != m->dst) {
      fail(r, 'x', "%s: sender-side EXPIRE of %s:%" PRIu64 " (to %s)",
           nm(r, me), nm(r, m->src), m->n, nm(r, m->dst));
      return;
    }
    m->tx_expired = true;
    r->expired_tx++;
    return;
  }
  if (me != m->dst) {
    fail(r, 'x', "%s: receiver-side EXPIRE of %s:%" PRIu64 ", sent to %s",
         nm(r, me), nm(r, m->src), m->n, nm(r, m->dst));
    return;
  }
  if (m->delivered)
    fail(r, 'b', "%s: EXPIRE of %s:%" PRIu64 " after delivering it", nm(r, me),
         nm(r, m->src), m->n);
  /* A copy of a message written off earlier is reported again; any other
   * receiver-side expiry must be due on this core's HLC. */
  bool again = ev->reason && strstr(ev->reason, "written off");
  if (!again && (ev->stamp != m->stamp || r->p.life == INF ||
                 ev->hlc < r->p.life || ev->stamp > ev->hlc - r->p.life))
    fail(r, 'b',
         "%s: EXPIRE of %s:%" PRIu64 " stamped %" PRIu64 " (sent %" PRIu64
         ") at HLC %" PRIu64 ": younger than Δ = %.3f ms",
         nm(r, me), nm(r, m->src), m->n, ev->stamp, m->stamp, ev->hlc,
         msf(r->p.life));
  if (!m->rx_expired) {
    m->rx_expired = true;
    r->expired_rx++;
    add_log(r, L_EXPIRE, me, m->src, m->n, mid, true);
  }
  unbuffer(r, me, sender, ev->n);
  r->s[me].dirty[sender] = true;
}

static void on_common(run *r, uint32_t me, const cev *ev) {
  uint32_t sender = 0, peer = 0;
  if (r->o->trace)
    printf("  %s %s %s:%" PRIu64 " peer=%s stamp=%" PRIu64 " deps=%" PRIu32
           "%s%s\n",
           nm(r, me), ckind_name(ev->kind), ev->sender ? ev->sender : "-",
           ev->n, ev->peer ? ev->peer : "-", ev->stamp, ev->deps,
           ev->reason ? " " : "", ev->reason ? ev->reason : "");
  if (me != r->cur) {
    fail(r, 'x', "%s reported an event during a call on %s", nm(r, me),
         nm(r, r->cur));
    return;
  }
  if (!find_slot(r, ev->sender, &sender)) {
    fail(r, 'x', "%s: %s event names unknown sender \"%s\"", nm(r, me),
         ckind_name(ev->kind), ev->sender ? ev->sender : "(null)");
    return;
  }
  if (!find_slot(r, ev->peer, &peer)) {
    fail(r, 'x', "%s: %s event names unknown peer \"%s\"", nm(r, me),
         ckind_name(ev->kind), ev->peer ? ev->peer : "(null)");
    return;
  }
  if (ev->kind != K_SEND && !(ev->kind == K_EXPIRE && ev->at_sender) &&
      peer != sender) {
    fail(r, 'x', "%s: %s of %s:%" PRIu64 " has peer %s", nm(r, me),
         ckind_name(ev->kind), ev->sender, ev->n, ev->peer);
    return;
  }
  switch (ev->kind) {
  case K_SEND:
    on_send_event(r, me, peer, ev);
    break;
  case K_DELIVER:
    on_deliver_event(r, me, sender, ev);
    break;
  case K_EXPIRE:
    on_expire_event(r, me, sender, peer, ev);
    break;
  case K_BUFFER: {
    slot *s = &r->s[me];
    s->buf = grow(s->buf, sizeof *s->buf, s->nbuf + 1, &s->capbuf);
    s->buf[s->nbuf++] = (bufrec){sender, ev->n, ev->stamp};
    break;
  }
  case K_DROP: {
    uint32_t mid = mid_of(r, sender, ev->n);
    if (!r->s[me].retired[sender])
      fail(r, 'x',
           "%s: DROP of %s:%" PRIu64 " (%s), a sender it never "
           "retired",
           nm(r, me), ev->sender, ev->n, ev->reason ? ev->reason : "?");
    if (mid != UINT32_MAX)
      r->msgs[mid].dropped = true;
    r->dropped++;
    unbuffer(r, me, sender, ev->n);
    break;
  }
  case K_REFUSE: {
    uint32_t mid = mid_of(r, sender, ev->n);
    r->refused++;
    if (mid != UINT32_MAX)
      r->msgs[mid].refused = true;
    if (honest(r, sender))
      fail(r, r->o->mode == MODE_AHEAD ? 'f' : 'b',
           "%s refused %s:%" PRIu64 " from an honest clock (stamp %" PRIu64
           ", HLC %" PRIu64 ")",
           nm(r, me), ev->sender, ev->n, ev->stamp, ev->hlc);
    break;
  }
  case K_RECV:
  case K_DUP:
    r->s[me].dirty[sender] = true;
    break;
  }
}

static void on_event_new(void *ud, const p2pc_causal_event *e) {
  const struct node_ctx *nc = ud;
  static const ckind map[] = {
      [P2PC_CEV_SEND] = K_SEND,     [P2PC_CEV_RECV] = K_RECV,
      [P2PC_CEV_BUFFER] = K_BUFFER, [P2PC_CEV_DELIVER] = K_DELIVER,
      [P2PC_CEV_DUP] = K_DUP,       [P2PC_CEV_DROP] = K_DROP,
      [P2PC_CEV_EXPIRE] = K_EXPIRE, [P2PC_CEV_REFUSE] = K_REFUSE};
  if ((unsigned)e->kind > P2PC_CEV_REFUSE) {
    fail(nc->r, 'x', "%s: unknown event kind %d", nm(nc->r, nc->idx),
         (int)e->kind);
    return;
  }
  cev c = {.kind = map[e->kind],
           .sender = e->sender,
           .peer = e->peer,
           .n = e->n,
           .stamp = e->stamp,
           .hlc = e->hlc,
           .deps = e->deps,
           .bytes = e->bytes,
           .meta = e->meta,
           .payload = e->payload,
           .reason = e->reason,
           .at_sender = e->at_sender};
  on_common(nc->r, nc->idx, &c);
}

static void on_event_legacy(void *ud, const lses_causal_event *e) {
  const struct node_ctx *nc = ud;
  static const ckind map[] = {
      [LSES_CEV_SEND] = K_SEND,     [LSES_CEV_RECV] = K_RECV,
      [LSES_CEV_BUFFER] = K_BUFFER, [LSES_CEV_DELIVER] = K_DELIVER,
      [LSES_CEV_DUP] = K_DUP,       [LSES_CEV_DROP] = K_DROP};
  if ((unsigned)e->kind > LSES_CEV_DROP) {
    fail(nc->r, 'x', "%s: unknown legacy event kind %d", nm(nc->r, nc->idx),
         (int)e->kind);
    return;
  }
  cev c = {.kind = map[e->kind],
           .sender = e->sender,
           .peer = e->peer,
           .n = e->n,
           .bytes = e->bytes,
           .meta = e->meta,
           .payload = e->payload,
           .reason = e->reason};
  on_common(nc->r, nc->idx, &c);
}

/* ---- the cores, either kind ---------------------------------------------- */

static uint64_t mono(const run *r) { return r->now; }

/* Every input to a core is preceded by its network time. */
static void feed_time(run *r, uint32_t k) {
  slot *s = &r->s[k];
  if (r->legacy)
    return;
  r->cur = k;
  p2pc_causal_set_time(s->c, EPOCH + (int64_t)r->now + s->off, s->err, mono(r));
}

static int core_new(run *r, uint32_t k) {
  slot *s = &r->s[k];
  r->ctx[k].r = r;
  r->ctx[k].idx = k;
  r->namep[k] = s->name;
  if (r->legacy) {
    lses_causal_config cfg = {.max_buffered = r->p.max_buffered,
                              .no_prune = !r->p.legacy_prune};
    return lses_causal_new(&s->l, s->name, &cfg, p2pc_allocator_default(),
                           on_event_legacy, &r->ctx[k]);
  }
  p2pc_causal_config cfg = {.max_buffered = r->p.max_buffered,
                            .lifetime_ns = r->p.life,
                            .max_deps = r->p.max_deps,
                            .max_msg_deps = r->p.max_msg_deps,
                            .max_pending = r->p.max_pending,
                            .no_prune = r->no_prune};
  int rv = p2pc_causal_new(&s->c, s->name, &cfg, p2pc_allocator_default(),
                           on_event_new, &r->ctx[k]);
  if (rv == 0 && r->faults)
    p2pc_causal_set_faults(s->c, r->faults);
  return rv;
}

static int core_send(run *r, uint32_t k, uint32_t dst, const uint8_t *pl,
                     size_t len) {
  r->cur = k;
  if (r->legacy)
    return lses_causal_send(r->s[k].l, nm(r, dst), pl, len, mono(r), &r->out);
  return p2pc_causal_send(r->s[k].c, nm(r, dst), pl, len, mono(r), &r->out);
}

static int core_receive(run *r, uint32_t k, uint32_t from, const uint8_t *b,
                        size_t len) {
  r->cur = k;
  if (r->legacy)
    return lses_causal_receive(r->s[k].l, nm(r, from), b, len, mono(r));
  return p2pc_causal_receive(r->s[k].c, nm(r, from), b, len, mono(r));
}

static int core_retire(run *r, uint32_t k, uint32_t who) {
  r->cur = k;
  r->s[k].retired[who] = true;
  if (r->legacy)
    return lses_causal_retire(r->s[k].l, nm(r, who), mono(r));
  return p2pc_causal_retire(r->s[k].c, nm(r, who), mono(r));
}

static uint32_t core_buffered(const run *r, uint32_t k) {
  return r->legacy ? lses_causal_buffered(r->s[k].l)
                   : p2pc_causal_buffered(r->s[k].c);
}

/* Properties d, e and f's clock, after every call on core k. */
static void check_core(run *r, uint32_t k) {
  const slot *s = &r->s[k];
  if (r->fail[0])
    return;
  uint32_t held = core_buffered(r, k);
  if (held != s->nbuf) {
    fail(r, 'd', "%s buffers %" PRIu32 " messages; its events say %zu",
         nm(r, k), held, s->nbuf);
    return;
  }
  if (r->legacy)
    return;
  uint64_t hlc = p2pc_causal_hlc(s->c);
  if (r->p.life != INF && hlc >= r->p.life)
    for (size_t i = 0; i < s->nbuf; i++)
      if (s->buf[i].stamp <= hlc - r->p.life) {
        fail(r, 'd',
             "%s still buffers %s:%" PRIu64 " stamped %" PRIu64
             " at HLC %" PRIu64 ": older than Δ = %.3f ms",
             nm(r, k), nm(r, s->buf[i].sender), s->buf[i].n, s->buf[i].stamp,
             hlc, msf(r->p.life));
        return;
      }
  uint32_t pairs = p2pc_causal_pairs(s->c);
  if (pairs > r->p.max_deps) {
    fail(r, 'e', "%s holds %" PRIu32 " entries, above max_deps %" PRIu32,
         nm(r, k), pairs, r->p.max_deps);
    return;
  }
  if (r->o->mode == MODE_AHEAD && honest(r, k) &&
      hlc > (uint64_t)EPOCH + r->now + r->p.maxerr + SLACK)
    fail(r, 'f',
         "%s's HLC %" PRIu64 " leads true time by %.3f ms: the core 10 s "
         "ahead pulled it",
         nm(r, k), hlc, msf(hlc - (uint64_t)EPOCH - r->now));
}

/* ---- drawing a schedule ----------------------------------------------------
 */

static void draw_params(run *r) {
  static const uint64_t lives[] = {50 * MS, 100 * MS, 300 * MS, SEC,
                                   5 * SEC, INF,      INF};
  static const uint64_t errs[] = {0, MS, 10 * MS, 50 * MS};
  static const uint64_t delays[] = {MS, 10 * MS, 50 * MS, 200 * MS};
  static const uint64_t gaps[] = {0, MS, 10 * MS, 50 * MS};
  static const uint64_t bcasts_x100[] = {0, 5, 15};
  static const uint64_t periods[] = {2 * MS, 20 * MS, 100 * MS};
  static const uint64_t lags[] = {0, 10 * MS, 200 * MS};
  params *p = &r->p;
  mode md = r->o->mode;
  memset(p, 0, sizeof *p);
  p->liar = -1;
  p->n = 2 + (uint32_t)rng_below(&r->g, MAX_NODES - 1);
  p->ops = 30 + (uint32_t)rng_below(&r->g, 131);
  p->nactive = p->n;
  if (rng_chance(&r->g, 0.3))
    p->nactive = 1 + (uint32_t)rng_below(&r->g, p->n);
  p->gapmax = PICK(&r->g, gaps);
  p->pbcast = (double)PICK(&r->g, bcasts_x100) / 100.0;
  p->pself = 0.03;
  p->pdup = (r->faults & P2PC_CAUSAL_FAULT_NO_DEDUP) ? 0.2 : 0.05;
  p->pstraggle = 0.05;
  p->life = PICK(&r->g, lives);
  p->maxerr = PICK(&r->g, errs);
  p->maxdelay = PICK(&r->g, delays);
  if (md == MODE_LEGACY)
    p->life = INF;
  if (md == MODE_BOUNDED || md == MODE_AHEAD) {
    /* Property c: Δ finite, err small enough to leave a budget. */
    p->life = lives[rng_below(&r->g, 5)];
    while (p->maxerr && 2 * p->maxerr + 4 * SLACK >= p->life / 2)
      p->maxerr /= 10;
    uint64_t budget = p->life - 2 * p->maxerr - SLACK;
    /* Without reports (or half the time) delays reach the bound itself
     * and only the receiver's side is judged; with them, a copy and its
     * report's round trip stay within it. */
    bool sharp = md == MODE_BOUNDED && rng_chance(&r->g, 0.5);
    p->sharp = sharp;
    p->cap = sharp ? budget : budget / 4;
    p->near_cap = rng_chance(&r->g, 0.5);
    p->maxdelay = p->cap;
    p->reports = !sharp || rng_chance(&r->g, 0.5);
    p->rep_period = budget / 8;
    p->rep_maxdelay = p->cap;
    p->pstraggle = 0;
    p->gstable = rng_chance(&r->g, 0.5);
    p->g_period = budget / 8;
    p->g_maxlag = budget / 8;
    if (md == MODE_AHEAD) {
      p->liar = (int32_t)rng_below(&r->g, p->n);
      if (p->n == 2)
        p->n = 3;
      p->nactive = p->n;
    }
  } else {
    p->reports = md == MODE_PRUNE || rng_chance(&r->g, 0.6);
    p->rep_period = PICK(&r->g, periods);
    p->rep_maxdelay = p->maxdelay;
    p->gstable = p->reports && (md == MODE_PRUNE || rng_chance(&r->g, 0.6));
    p->g_period = PICK(&r->g, periods);
    p->g_maxlag = PICK(&r->g, lags);
  }
  /* Tiny buffers and small caps make receive and send answer FULL; only
   * where a bounded delay is promised none of that may happen. */
  if (md != MODE_BOUNDED && md != MODE_AHEAD && rng_chance(&r->g, 0.25))
    p->max_buffered = 1 + (uint32_t)rng_below(&r->g, 4);
  p->max_deps = P2PC_CAUSAL_MAX_DEPS_DEFAULT;
  p->max_msg_deps = P2PC_CAUSAL_MAX_MSG_DEPS_DEFAULT;
  p->max_pending = P2PC_CAUSAL_MAX_PENDING_DEFAULT;
  if ((md == MODE_GENERAL) && p->life != INF && rng_chance(&r->g, 0.3)) {
    p->small_caps = true;
    p->max_deps = 2 + (uint32_t)rng_below(&r->g, 40);
    p->max_msg_deps = 1 + (uint32_t)rng_below(&r->g, 40);
    p->max_pending = 2 + (uint32_t)rng_below(&r->g, 40);
  }
  static const uint64_t ticks[] = {MS, 5 * MS, 20 * MS};
  p->tick = PICK(&r->g, ticks);
  uint64_t span = (uint64_t)p->ops * (p->gapmax / 2 + 1);
  if (p->tick < span / 1500)
    p->tick = span / 1500;
  /* Partitions: copies between the two sides held until it heals (in
   * bounded schedules, no longer than the bound). */
  if (rng_chance(&r->g, 0.25)) {
    static const uint64_t lens[] = {10 * MS, 100 * MS, SEC};
    p->partition = true;
    p->p0 = rng_below(&r->g, span + 1);
    p->p1 = p->p0 + 1 + rng_below(&r->g, PICK(&r->g, lens));
    p->groups = (uint32_t)rng_below(&r->g, (1u << p->n) - 2) + 1;
  }
  /* Crashes: a core stops for ever; the others may retire it (always with
   * Δ infinite: its lost messages would hold the rest back for ever), and
   * it may come back as a new incarnation. */
  bool crashes = md == MODE_GENERAL || md == MODE_PRUNE ||
                 (md == MODE_LEGACY && r->o->legacy_retire);
  if (crashes && !r->faults && rng_chance(&r->g, 0.3)) {
    p->ncrash = 1 + (uint32_t)rng_below(&r->g, MAX_CRASHES);
    p->retire = p->life == INF || md == MODE_LEGACY || rng_chance(&r->g, 0.5);
    for (uint32_t i = 0; i < p->ncrash; i++) {
      p->crash_t[i] = rng_below(&r->g, span + 1);
      p->crash_who[i] = (uint32_t)rng_below(&r->g, p->n);
      p->restart[i] = rng_chance(&r->g, 0.5);
    }
  }
  if ((md == MODE_GENERAL || md == MODE_PRUNE) && p->life != INF &&
      rng_chance(&r->g, 0.3))
    p->pnear_life = 0.2;
  p->legacy_prune = rng_chance(&r->g, 0.5);
}

/* The delay of one copy sent now from a to b. */
static uint64_t draw_delay(run *r, rng *g) {
  const params *p = &r->p;
  if (p->cap) {
    if (p->near_cap && rng_chance(g, 0.5))
      return p->cap - 1 - rng_below(g, p->cap / 8 + 1);
    return rng_below(g, p->cap);
  }
  if (p->pnear_life > 0 && rng_chance(g, p->pnear_life))
    return p->life + rng_below(g, 4 * p->maxerr + SLACK + 1) -
           (p->life < 2 * p->maxerr ? p->life : 2 * p->maxerr);
  uint64_t d = rng_below(g, p->maxdelay + 1);
  if (rng_chance(g, p->pstraggle))
    d += rng_below(g, 5 * p->maxdelay + 1);
  return d;
}

/* Holds a copy (or report) from a to b that would arrive at t while the
 * partition separates them. */
static uint64_t partitioned(const run *r, uint32_t a, uint32_t b, uint64_t sent,
                            uint64_t t, uint64_t h) {
  const params *p = &r->p;
  if (!p->partition || t < p->p0 || t >= p->p1)
    return t;
  bool sa = p->groups >> r->s[a].base & 1, sb = p->groups >> r->s[b].base & 1;
  if (sa == sb)
    return t;
  uint64_t healed = p->p1 + h % (p->maxdelay + 1);
  if (p->cap && healed >= sent + p->cap)
    healed = sent + p->cap - 1;
  return healed > t ? healed : t;
}

/* ---- sends -------------------------------------------------------------- */

static bool alive(const run *r, uint32_t k) { return !r->s[k].dead; }

static void do_send(run *r, uint32_t src, uint32_t dst, uint32_t tries) {
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
  r->send_mid = mid;
  if (r->o->trace)
    printf("t=%.3f send #%" PRIu32 " %s -> %s\n", msf(r->now), mid, nm(r, src),
           nm(r, dst));
  feed_time(r, src);
  int rc = core_send(r, src, dst, payload, len);
  r->in_send = false;
  r->send_payload = NULL;
  check_core(r, src);
  if (rc == P2PC_ERR_FULL) {
    r->send_full++;
    if (!r->p.small_caps)
      fail(r, 'e', "send %s -> %s answered FULL with the default caps",
           nm(r, src), nm(r, dst));
    /* Back-pressure: retry later, or drop the intent. */
    uint64_t h = hmix(r->seed, 0x5e7d, r->now * 64 + src * 17 + tries);
    if (tries < 3 && (h & 1))
      push(r, (event){.t = r->now + 1 + (h >> 8) % (4 * r->p.maxdelay + 1),
                      .kind = E_RESEND,
                      .a = src,
                      .b = dst,
                      .tries = (uint16_t)(tries + 1)});
    return;
  }
  if (rc != 0) {
    fail(r, 'x', "send %s -> %s returned %s", nm(r, src), nm(r, dst),
         p2pc_strerror(rc));
    return;
  }
  if (r->send_events != 1 || r->nmsgs != (size_t)mid + 1) {
    fail(r, 'x', "send %s -> %s reported %d SEND events", nm(r, src),
         nm(r, dst), r->send_events);
    return;
  }
  if (src == dst) {
    if (r->out.len != 0)
      fail(r, 'x', "self-send at %s appended %zu bytes", nm(r, src),
           r->out.len);
    if (r->msgs[mid].delivered != 1)
      fail(r, 'x', "self-send at %s not delivered at once", nm(r, src));
    return;
  }
  if (r->out.len == 0) {
    fail(r, 'x', "send %s -> %s appended nothing", nm(r, src), nm(r, dst));
    return;
  }
  r->pool = grow(r->pool, 1, r->poollen + r->out.len, &r->poolcap);
  memcpy(r->pool + r->poollen, r->out.data, r->out.len);
  r->msgs[mid].off = r->poollen;
  r->msgs[mid].len = r->out.len;
  r->poollen += r->out.len;
  uint64_t t = r->now + draw_delay(r, &r->g);
  t = partitioned(r, src, dst, r->now, t, rng_next(&r->g));
  push(r, (event){.t = t, .kind = E_ARRIVE, .a = mid, .x = r->now});
  if (rng_chance(&r->g, r->p.pdup)) {
    uint64_t late = !r->p.cap && rng_chance(&r->g, 0.3)
                        ? rng_below(&r->g, 5 * r->p.maxdelay + 1)
                        : 0;
    t = r->now + draw_delay(r, &r->g) + late;
    t = partitioned(r, src, dst, r->now, t, rng_next(&r->g));
    push(r,
         (event){.t = t, .kind = E_ARRIVE, .a = mid, .dup = true, .x = r->now});
    r->dups_injected++;
  }
}

/* Senders: live incarnations of the active cores. */
static void do_op(run *r) {
  uint32_t cand[MAX_SLOTS], nc = 0;
  for (uint32_t k = 0; k < r->nslots; k++)
    if (alive(r, k) && r->s[k].base < r->p.nactive)
      cand[nc++] = k;
  if (!nc)
    return;
  uint32_t src = cand[rng_below(&r->g, nc)];
  /* Destinations: everyone the sender has not retired (the dead too:
   * those copies are lost). */
  uint32_t dests[MAX_SLOTS], nd = 0;
  for (uint32_t k = 0; k < r->nslots; k++)
    if (k != src && !r->s[src].retired[k])
      dests[nd++] = k;
  double u = (double)(rng_next(&r->g) >> 11) * 0x1.0p-53;
  if (u < r->p.pself || !nd) {
    do_send(r, src, src, 0);
  } else if (u < r->p.pself + r->p.pbcast) {
    for (uint32_t i = 0; i < nd && !r->fail[0]; i++)
      do_send(r, src, dests[i], 0);
  } else {
    do_send(r, src, dests[rng_below(&r->g, nd)], 0);
  }
}

/* ---- arrivals -------------------------------------------------------------
 */

static void do_arrival(run *r, const event *f) {
  dmsg *m = &r->msgs[f->a];
  if (r->s[m->dst].dead) {
    m->lost = true;
    r->lost++;
    return;
  }
  /* A crashed sender's copies still in flight get there or not; its link
   * offers nothing again. */
  if (r->s[m->src].dead &&
      (f->tries > 0 || (hmix(r->seed, f->a, f->dup ? 7 : 3) & 1))) {
    m->lost = true;
    r->lost++;
    return;
  }
  if (r->o->trace)
    printf("t=%.3f arrive #%" PRIu32 "%s %s:%" PRIu64 " at %s\n", msf(r->now),
           f->a, f->dup ? " (dup)" : "", nm(r, m->src), m->n, nm(r, m->dst));
  feed_time(r, m->dst);
  int rc = core_receive(r, m->dst, m->src, r->pool + m->off, m->len);
  check_core(r, m->dst);
  if (rc == 0)
    return;
  uint64_t h = hmix(r->seed, f->a * 4 + f->dup, f->tries + 1);
  if (rc == P2PC_ERR_AHEAD) {
    /* Only the core 10 s ahead is refused (REFUSE checks the rest); the
     * link offers it again a few times, then gives up. */
    if (f->tries < 2) {
      event e = *f;
      e.t = r->now + 1 + h % (r->p.maxdelay + 1);
      e.tries++;
      push(r, e);
    } else {
      m->lost = true;
    }
    return;
  }
  if (rc != P2PC_ERR_FULL) {
    fail(r, 'x', "receive of %s:%" PRIu64 " at %s returned %s", nm(r, m->src),
         m->n, nm(r, m->dst), p2pc_strerror(rc));
    return;
  }
  r->s[m->dst].fulls++;
  r->full_total++;
  if (r->o->trace)
    printf("t=%.3f FULL #%" PRIu32 " at %s (buffered %" PRIu32 ")\n",
           msf(r->now), f->a, nm(r, m->dst), core_buffered(r, m->dst));
  if (!r->faults && !r->p.small_caps) {
    uint32_t limit = r->p.max_buffered ? r->p.max_buffered
                                       : P2PC_CAUSAL_MAX_BUFFERED_DEFAULT;
    uint32_t held = core_buffered(r, m->dst);
    if (held < limit)
      fail(r, 'x',
           "FULL for %s:%" PRIu64 " at %s with only %" PRIu32 " of %" PRIu32
           " messages buffered",
           nm(r, m->src), m->n, nm(r, m->dst), held, limit);
    else if (m->delivered)
      fail(r, 'x',
           "FULL for a copy of %s:%" PRIu64 " at %s, which was already "
           "delivered (a duplicate must be accepted and dropped)",
           nm(r, m->src), m->n, nm(r, m->dst));
    else if (r->ck && ccheck_ready(r->ck, m->src, m->n))
      fail(r, 'x',
           "FULL for %s:%" PRIu64 " at %s although all its causal "
           "predecessors are delivered (deliverable must be accepted)",
           nm(r, m->src), m->n, nm(r, m->dst));
  }
  /* Offered again later, backing off (what it waits for may be late). */
  uint64_t again = 1 + h % (2 * r->p.maxdelay + 2);
  again <<= f->tries < 6 ? f->tries : 6;
  event e = *f;
  e.t = r->now + again;
  if (e.tries < UINT16_MAX)
    e.tries++;
  push(r, e);
}

/* ---- delivery reports and the global stable time ------------------------- */

static void do_report_gen(run *r) {
  for (uint32_t d = 0; d < r->nslots; d++) {
    slot *sd = &r->s[d];
    if (sd->dead)
      continue;
    for (uint32_t s = 0; s < r->nslots; s++) {
      if (!sd->dirty[s] || s == d)
        continue;
      sd->dirty[s] = false;
      report rp;
      memset(&rp, 0, sizeof rp);
      p2pc_causal_report_for(sd->c, nm(r, s), &rp.delivered, rp.wo, &rp.nwo);
      if (rp.nwo > P2PC_CAUSAL_MAX_WRITTEN_OFF) {
        fail(r, 'x', "%s's report for %s has %" PRIu32 " ranges", nm(r, d),
             nm(r, s), rp.nwo);
        return;
      }
      r->reps = grow(r->reps, sizeof *r->reps, r->nreps + 1, &r->capreps);
      r->reps[r->nreps] = rp;
      /* Hashed, not drawn: reports follow deliveries, and two runs that
       * must agree (pruning and no_prune) keep one schedule of sends. */
      uint64_t h = hmix(r->seed, r->now, 0x4e9000 + d * MAX_SLOTS + s);
      uint64_t t = r->now + h % (r->p.rep_maxdelay + 1);
      t = partitioned(r, d, s, r->now, t, h >> 20);
      push(r,
           (event){.t = t, .kind = E_REPORT, .a = s, .b = d, .x = r->nreps++});
      r->reports_sent++;
    }
  }
}

static void do_report(run *r, const event *e) {
  slot *s = &r->s[e->a];
  if (s->dead)
    return;
  const report *rp = &r->reps[e->x];
  feed_time(r, e->a);
  r->cur = e->a;
  int rc = p2pc_causal_peer_report(s->c, nm(r, e->b), rp->delivered, rp->wo,
                                   rp->nwo, mono(r));
  if (rc != 0)
    fail(r, 'x', "%s: peer_report from %s (delivered %" PRIu64 ") returned %s",
         nm(r, e->a), nm(r, e->b), rp->delivered, p2pc_strerror(rc));
  check_core(r, e->a);
}

/* A member of G's minimum: alive, or crashed but not yet gone (retired by
 * every live core, or crashed longer ago than Δ + 2 x err: everything it
 * sent has expired everywhere). */
static bool g_member(const run *r, uint32_t k) {
  const slot *s = &r->s[k];
  if (!s->dead)
    return true;
  if (r->p.life != INF &&
      r->now >= s->t_dead + r->p.life + 2 * r->p.maxerr + 2 * SLACK)
    return false;
  for (uint32_t j = 0; j < r->nslots; j++)
    if (!r->s[j].dead && !r->s[j].retired[k])
      return true;
  return false;
}

static uint64_t g_true_min(const run *r) {
  uint64_t g = UINT64_MAX;
  for (uint32_t k = 0; k < r->nslots; k++)
    if (g_member(r, k)) {
      uint64_t ls = p2pc_causal_local_stable(r->s[k].c);
      if (ls < g)
        g = ls;
    }
  return g;
}

static void do_g_gen(run *r) {
  /* Before the minimum, every member's clock is read: LS is its HLC when
   * nothing is pending. */
  for (uint32_t k = 0; k < r->nslots; k++)
    if (!r->s[k].dead) {
      feed_time(r, k);
      check_core(r, k);
    }
  uint64_t g = g_true_min(r);
  for (uint32_t k = 0; k < r->nslots; k++)
    if (!r->s[k].dead)
      push(r, (event){.t = r->now + hmix(r->seed, r->now, 0x6000 + k) %
                                        (r->p.g_maxlag + 1),
                      .kind = E_G_APPLY,
                      .a = k,
                      .x = g});
}

static void do_g_apply(run *r, const event *e) {
  slot *s = &r->s[e->a];
  if (s->dead)
    return;
  uint64_t lb = g_true_min(r);
  if (e->x > lb) {
    fail(r, 'x', "harness: G %" PRIu64 " above the true minimum %" PRIu64, e->x,
         lb);
    return;
  }
  feed_time(r, e->a);
  r->cur = e->a;
  p2pc_causal_set_stable(s->c, e->x);
  s->g_cur = e->x;
  r->g_applied++;
  check_core(r, e->a);
}

/* ---- crashes, retirements, incarnations ---------------------------------- */

static void do_crash(run *r, uint32_t base, uint32_t ci) {
  /* The live incarnation of core `base` stops. */
  uint32_t k = UINT32_MAX;
  for (uint32_t i = 0; i < r->nslots; i++)
    if (r->s[i].base == base && !r->s[i].dead)
      k = i;
  if (k == UINT32_MAX)
    return;
  r->s[k].dead = true;
  r->s[k].t_dead = r->now;
  if (r->o->trace)
    printf("t=%.3f CRASH %s\n", msf(r->now), nm(r, k));
  if (r->p.retire)
    for (uint32_t j = 0; j < r->nslots; j++)
      if (!r->s[j].dead)
        push(r,
             (event){.t = r->now + 1 + rng_below(&r->g, 4 * r->p.maxdelay + 1),
                     .kind = E_RETIRE,
                     .a = j,
                     .b = k});
  if (!r->p.restart[ci] || r->nslots == MAX_SLOTS)
    return;
  uint32_t n = r->nslots++;
  slot *s = &r->s[n];
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "n%" PRIu32 "~%" PRIu32, base, n);
  s->base = base;
  s->off = r->s[k].off;
  s->err = r->s[k].err;
  s->mids = grow(s->mids, sizeof *s->mids, 1, &s->capmids);
  s->mids[s->nmids++] = UINT32_MAX; /* no message 0 */
  int rc = core_new(r, n);
  if (rc != 0) {
    fail(r, 'x', "new core %s: %s", s->name, p2pc_strerror(rc));
    return;
  }
  if (r->ck) {
    fail(r, 'x', "harness: an incarnation in a lossless schedule");
    return;
  }
  feed_time(r, n);
  /* It knows its previous incarnations are gone. */
  for (uint32_t j = 0; j < n; j++)
    if (r->s[j].dead && (rc = core_retire(r, n, j)) != 0) {
      fail(r, 'x', "%s retiring %s: %s", nm(r, n), nm(r, j), p2pc_strerror(rc));
      return;
    }
  /* G values in flight were computed without it: no one may apply one
   * above its LS. */
  if (!r->legacy) {
    uint64_t ls = p2pc_causal_local_stable(s->c);
    for (size_t i = 0; i < r->nheap; i++)
      if (r->heap[i].kind == E_G_APPLY && r->heap[i].x > ls)
        r->heap[i].x = ls;
    /* Nor may any core keep one: its clock may be behind the others', and
     * in a node its first report reaches a core before its first DATA
     * (PROTOCOL.md, "Stability"), lowering the levels there. Found by
     * seed 5264948513569687541: an entry of the newcomer's first message
     * was taken as stable on arrival, its stamp below an older G. */
    for (uint32_t j = 0; j < n; j++)
      if (!r->s[j].dead && r->s[j].g_cur > ls) {
        p2pc_causal_set_stable(r->s[j].c, ls);
        r->s[j].g_cur = ls;
      }
  }
  check_core(r, n);
}

static void do_retire(run *r, const event *e) {
  if (r->s[e->a].dead || r->s[e->a].retired[e->b])
    return;
  feed_time(r, e->a);
  int rc = core_retire(r, e->a, e->b);
  if (rc != 0)
    fail(r, 'x', "%s retiring %s: %s", nm(r, e->a), nm(r, e->b),
         p2pc_strerror(rc));
  check_core(r, e->a);
}

/* ---- one schedule ----------------------------------------------------------
 */

typedef enum outcome {
  OUT_OK,
  OUT_VIOLATION, /* the checker found something */
  OUT_FAIL       /* a property the harness checks (fail, fail_prop) */
} outcome;

static void run_free(run *r) {
  for (uint32_t i = 0; i < MAX_SLOTS; i++) {
    slot *s = &r->s[i];
    if (s->c)
      p2pc_causal_free(s->c);
    if (s->l)
      lses_causal_free(s->l);
    free(s->mids);
    free(s->buf);
    free(s->deliv);
  }
  ccheck_free(r->ck);
  p2pc_buf_fini(&r->out);
  free(r->heap);
  free(r->msgs);
  free(r->pool);
  free(r->reps);
  free(r->log);
  memset(r, 0, sizeof *r);
}

static bool should_stop(const run *r) {
  if (r->fail[0])
    return true;
  if (!r->ck)
    return false;
  if (!r->o->expect)
    return ccheck_violations(r->ck) > 0;
  return ccheck_count(r->ck, CCHECK_ORDER) +
         ccheck_count(r->ck, CCHECK_DUPLICATE);
}

/* The checker fed after the fact, when messages may be lost or expire:
 * every message never delivered at its destination is reported expired
 * right after its send, so order is checked among the delivered ones; the
 * receivers' EXPIREs are fed where they happened (a delivery as well is
 * EXPIRED_DELIVERED). The harness judges whether each loss was allowed. */
static ccheck *replay_checker(const run *r, unsigned flags) {
  ccheck *ck = ccheck_new(r->nslots, r->namep, flags);
  for (size_t i = 0; i < r->nlog; i++) {
    const logrec *x = &r->log[i];
    uint8_t payload[MAX_PAYLOAD];
    size_t len = 1;
    payload[0] = 0xff;
    if (x->mid != UINT32_MAX && x->payload_ok)
      len = make_payload(x->mid, r->msgs[x->mid].src, r->msgs[x->mid].dst,
                         payload);
    switch ((lkind)x->kind) {
    case L_SEND:
      ccheck_send(ck, x->node, x->sender, x->n, r->msgs[x->mid].dst, payload,
                  len);
      if (!r->msgs[x->mid].delivered)
        ccheck_expire(ck, x->node, x->sender, x->n);
      break;
    case L_DELIVER:
      ccheck_deliver(ck, x->node, x->sender, x->n, payload, len);
      break;
    case L_EXPIRE:
      ccheck_expire(ck, x->node, x->sender, x->n);
      break;
    }
  }
  ccheck_finish(ck);
  return ck;
}

static uint64_t tail_of(const params *p, uint64_t now) {
  uint64_t t = 12 * p->maxdelay + 4 * p->maxdelay + MS;
  if (p->partition && p->p1 > now)
    t += p->p1 - now + p->maxdelay;
  if (p->reports)
    t += 2 * (p->rep_period + p->rep_maxdelay);
  if (p->gstable)
    t += 2 * (p->g_period + p->g_maxlag);
  if (p->life != INF)
    t += p->life + 2 * p->maxerr + 2 * SLACK;
  return t;
}

static outcome run_schedule(run *r, const options *o, uint64_t seed,
                            bool no_prune, bool legacy) {
  memset(r, 0, sizeof *r);
  r->o = o;
  r->seed = seed;
  r->faults = o->faults;
  r->no_prune = no_prune;
  r->legacy = legacy;
  p2pc_rng_seed(&r->g, seed, 0);
  draw_params(r);
  params *p = &r->p;
  if (legacy || o->mode == MODE_LEGACY) {
    p->reports = p->gstable = false;
    r->no_prune = true;
  }
  r->lossless = p->life == INF && !p->ncrash && p->liar < 0;
  if (o->trace)
    printf("schedule seed=%" PRIu64 " nodes=%" PRIu32 " ops=%" PRIu32
           " life=%.3f ms maxerr=%.3f ms maxdelay=%.3f ms cap=%.3f ms "
           "max_buffered=%" PRIu32 " caps=%" PRIu32 "/%" PRIu32 "/%" PRIu32
           " reports=%d G=%d partition=%d crashes=%" PRIu32 " liar=%" PRId32
           " no_prune=%d legacy=%d\n",
           seed, p->n, p->ops, p->life == INF ? -1.0 : msf(p->life),
           msf(p->maxerr), msf(p->maxdelay), msf(p->cap), p->max_buffered,
           p->max_deps, p->max_msg_deps, p->max_pending, p->reports, p->gstable,
           p->partition, p->ncrash, p->liar, r->no_prune, legacy);
  p2pc_buf_init(&r->out, p2pc_allocator_default(), OUT_MAX);
  r->nslots = p->n;
  for (uint32_t i = 0; i < p->n; i++) {
    slot *s = &r->s[i];
    snprintf(s->name, sizeof s->name, "n%" PRIu32, i);
    s->base = i;
    s->err = p->maxerr ? rng_below(&r->g, p->maxerr + 1) : 0;
    if (rng_chance(&r->g, 0.5)) /* at an end of the bound */
      s->off = rng_chance(&r->g, 0.5) ? (int64_t)s->err : -(int64_t)s->err;
    else
      s->off = (int64_t)rng_below(&r->g, 2 * s->err + 1) - (int64_t)s->err;
    if ((int32_t)i == p->liar) {
      s->off = (int64_t)LIAR_LEAD;
      s->err = MS;
    }
    s->mids = grow(s->mids, sizeof *s->mids, 1, &s->capmids);
    s->mids[s->nmids++] = UINT32_MAX; /* messages are numbered from 1 */
    int rc = core_new(r, i);
    if (rc != 0) {
      fail(r, 'x', "new core %s: %s", s->name, p2pc_strerror(rc));
      return OUT_FAIL;
    }
  }
  if (r->lossless)
    r->ck = ccheck_new(r->nslots, r->namep, 0);
  for (uint32_t i = 0; i < p->n; i++)
    feed_time(r, i);

  push(r, (event){.t = rng_below(&r->g, p->gapmax + 1), .kind = E_OP});
  push(r, (event){.t = p->tick, .kind = E_TICK});
  if (p->reports)
    push(r, (event){.t = p->rep_period, .kind = E_REPORT_GEN});
  if (p->gstable)
    push(r, (event){.t = p->g_period, .kind = E_G_GEN});
  for (uint32_t i = 0; i < p->ncrash; i++)
    push(r, (event){.t = p->crash_t[i],
                    .kind = E_CRASH,
                    .a = p->crash_who[i],
                    .b = i});
  r->ops_left = p->ops;
  r->end_time = UINT64_MAX;
  while (r->nheap) {
    if (++r->steps > STEP_LIMIT) {
      fail(r, 'x', "no end after %u steps (%zu events pending)", STEP_LIMIT,
           r->nheap);
      break;
    }
    event e = pop(r);
    if (e.t > r->now)
      r->now = e.t;
    bool more = r->now < r->end_time;
    switch ((ekind)e.kind) {
    case E_OP:
      do_op(r);
      if (--r->ops_left)
        push(r, (event){.t = r->now + rng_below(&r->g, p->gapmax + 1),
                        .kind = E_OP});
      else
        r->end_time = r->now + tail_of(p, r->now);
      break;
    case E_RESEND:
      if (alive(r, e.a) && !r->s[e.a].retired[e.b])
        do_send(r, e.a, e.b, e.tries);
      break;
    case E_ARRIVE:
      do_arrival(r, &e);
      break;
    case E_TICK:
      for (uint32_t k = 0; k < r->nslots && !r->fail[0]; k++)
        if (alive(r, k)) {
          feed_time(r, k);
          check_core(r, k);
        }
      if (more)
        push(r, (event){.t = r->now + p->tick, .kind = E_TICK});
      break;
    case E_REPORT_GEN:
      do_report_gen(r);
      if (more)
        push(r, (event){.t = r->now + p->rep_period, .kind = E_REPORT_GEN});
      break;
    case E_REPORT:
      do_report(r, &e);
      break;
    case E_G_GEN:
      do_g_gen(r);
      if (more)
        push(r, (event){.t = r->now + p->g_period, .kind = E_G_GEN});
      break;
    case E_G_APPLY:
      do_g_apply(r, &e);
      break;
    case E_CRASH:
      do_crash(r, e.a, e.b);
      break;
    case E_RETIRE:
      do_retire(r, &e);
      break;
    }
    if (should_stop(r))
      break;
  }
  if (!r->fail[0] && !(r->ck && ccheck_violations(r->ck))) {
    /* The end: long enough for everything older than Δ to be swept. */
    uint64_t end = r->end_time == UINT64_MAX ? r->now : r->end_time;
    r->now = (r->now > end ? r->now : end) +
             (p->life == INF ? 1 : p->life + 2 * p->maxerr + 2 * SLACK);
    for (uint32_t k = 0; k < r->nslots && !r->fail[0]; k++)
      if (alive(r, k)) {
        feed_time(r, k);
        check_core(r, k);
      }
  }
  /* a: the checker. */
  if (r->ck) {
    if (!ccheck_violations(r->ck) && !r->fail[0])
      ccheck_finish(r->ck);
  } else {
    r->ck = replay_checker(r, 0);
  }
  if (ccheck_violations(r->ck))
    return OUT_VIOLATION;
  if (r->fail[0])
    return OUT_FAIL;
  if (r->faults)
    return OUT_OK;
  /* b: nothing left waiting; every message between cores that never
   * crashed delivered exactly once (the checker) or reported expired. */
  for (uint32_t k = 0; k < r->nslots; k++)
    if (alive(r, k) && core_buffered(r, k)) {
      fail(r, 'b', "%s still buffers %" PRIu32 " messages at the end", nm(r, k),
           core_buffered(r, k));
      return OUT_FAIL;
    }
  for (size_t i = 0; i < r->nmsgs; i++) {
    const dmsg *m = &r->msgs[i];
    if (m->delivered || m->rx_expired || m->tx_expired)
      continue;
    if (r->s[m->src].dead || r->s[m->dst].dead ||
        (!honest(r, m->src) && m->refused))
      continue;
    fail(r, 'b',
         "%s:%" PRIu64 " (to %s) was neither delivered nor reported expired "
         "(dropped %d, lost %d)",
         nm(r, m->src), m->n, nm(r, m->dst), m->dropped, m->lost);
    return OUT_FAIL;
  }
  if (r->o->mode == MODE_AHEAD) {
    /* f: every message of the core ahead to another was refused. */
    for (size_t i = 0; i < r->nmsgs; i++)
      if (!honest(r, r->msgs[i].src) && r->msgs[i].src != r->msgs[i].dst &&
          !r->msgs[i].refused)
        fail(r, 'f',
             "%s:%" PRIu64 " from the core 10 s ahead was never refused",
             nm(r, r->msgs[i].src), r->msgs[i].n);
  }
  for (uint32_t k = 0; k < r->nslots && !r->legacy; k++) {
    p2pc_causal_stats st;
    p2pc_causal_get_stats(r->s[k].c, &st);
    if (st.rejected_full != r->s[k].fulls)
      fail(r, 'x',
           "%s: stats.rejected_full=%" PRIu64 " but receive returned FULL "
           "%" PRIu64 " times",
           nm(r, k), st.rejected_full, r->s[k].fulls);
  }
  return r->fail[0] ? OUT_FAIL : OUT_OK;
}

/* Re-checks a lossless run with an offline checker fed one node's whole
 * log after another (in reverse node order, so most deliveries come before
 * their sends): it must reach the same verdict. */
static bool recheck_offline(const run *r, char *why, size_t whylen) {
  ccheck *ck = ccheck_new(r->nslots, r->namep, CCHECK_OFFLINE);
  for (uint32_t k = r->nslots; k-- > 0;)
    for (size_t i = 0; i < r->nlog; i++) {
      const logrec *x = &r->log[i];
      if (x->node != k)
        continue;
      uint8_t payload[MAX_PAYLOAD];
      size_t len = 1;
      payload[0] = 0xff;
      if (x->mid != UINT32_MAX && x->payload_ok)
        len = make_payload(x->mid, r->msgs[x->mid].src, r->msgs[x->mid].dst,
                           payload);
      if (x->kind == L_SEND)
        ccheck_send(ck, k, x->sender, x->n, r->msgs[x->mid].dst, payload, len);
      else if (x->kind == L_DELIVER)
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

/* The per-core delivery sequences of two runs of one schedule. */
static bool same_deliveries(const run *a, const run *b, const char *what_a,
                            const char *what_b, char *why, size_t whylen) {
  if (a->nslots != b->nslots || a->nmsgs != b->nmsgs) {
    snprintf(why, whylen,
             "the runs diverged: %" PRIu32
             " cores and %zu messages %s, %" PRIu32 " and %zu %s",
             a->nslots, a->nmsgs, what_a, b->nslots, b->nmsgs, what_b);
    return false;
  }
  for (uint32_t k = 0; k < a->nslots; k++) {
    const slot *sa = &a->s[k], *sb = &b->s[k];
    size_t n = sa->ndeliv > sb->ndeliv ? sa->ndeliv : sb->ndeliv;
    for (size_t i = 0; i < n; i++) {
      bool ea = i >= sa->ndeliv, eb = i >= sb->ndeliv;
      if (!ea && !eb && sa->deliv[i] == sb->deliv[i])
        continue;
      char xa[48] = "(end)", xb[48] = "(end)";
      if (!ea)
        snprintf(xa, sizeof xa, "%s:%" PRIu64, a->s[sa->deliv[i] >> 48].name,
                 (uint64_t)(sa->deliv[i] & 0xffffffffffffu));
      if (!eb)
        snprintf(xb, sizeof xb, "%s:%" PRIu64, b->s[sb->deliv[i] >> 48].name,
                 (uint64_t)(sb->deliv[i] & 0xffffffffffffu));
      snprintf(why, whylen, "delivery #%zu at %s differs: %s %s, %s %s", i + 1,
               sa->name, xa, what_a, xb, what_b);
      return false;
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

/* ---- directed scenarios: what the random schedules found --------------- */

typedef struct sc_node {
  p2pc_causal *c;
  int64_t off;
  uint64_t err;
  char log[256]; /* "D<sender>:<n>" deliveries, "E..." expiries */
  size_t len;
} sc_node;

static void sc_event(void *ud, const p2pc_causal_event *e) {
  sc_node *n = ud;
  if (e->kind != P2PC_CEV_DELIVER && e->kind != P2PC_CEV_EXPIRE)
    return;
  int k = snprintf(n->log + n->len, sizeof n->log - n->len, "%s%c%s:%" PRIu64,
                   n->len ? " " : "",
                   e->kind == P2PC_CEV_DELIVER ? 'D'
                   : e->at_sender              ? 'e'
                                               : 'E',
                   e->sender, e->n);
  if (k > 0 && (size_t)k < sizeof n->log - n->len)
    n->len += (size_t)k;
}

static void sc_time(sc_node *n, uint64_t t_ms) {
  p2pc_causal_set_time(n->c, EPOCH + (int64_t)(t_ms * MS) + n->off, n->err,
                       t_ms * MS);
}

static int sc_fail(const char *name, const char *what) {
  fprintf(stderr, "prop_causal: scenario %s: %s\n", name, what);
  return 1;
}

/*
 * A message given up by its sender is not stable. s (clock 40 ms ahead)
 * sends m1 to d and then m2 to x; x delivers m2 and holds the entry for
 * m1. m1 is late: at 101 ms s gives it up (its HLC says τ1 + Δ), but d's
 * clock runs 80 ms behind s's, so m1 is still young at d. If s's LS then
 * passed τ1, G would too, x would drop the entry as stable, and its m3 to
 * d would be delivered before m1 arrives (at 110 ms, younger than Δ on
 * d's HLC, and delivered): m1 -> m2 -> m3 out of order. Both ways d must
 * deliver m1 first, as with no_prune. (prop_causal_prune_equivalence found
 * it in the first Δ-SES core; given-up messages now settle before LS
 * passes them.)
 */
static int scenario_given_up_not_stable(bool no_prune) {
  const char *name = "given-up-not-stable";
  sc_node s = {.off = 40 * (int64_t)MS, .err = 50 * MS},
          x = {.off = -40 * (int64_t)MS, .err = 50 * MS},
          d = {.off = -40 * (int64_t)MS, .err = 50 * MS};
  p2pc_causal_config cfg = {.lifetime_ns = 100 * MS, .no_prune = no_prune};
  const p2pc_allocator *al = p2pc_allocator_default();
  p2pc_buf b1, b2, b3;
  p2pc_buf_init(&b1, al, 1 << 16);
  p2pc_buf_init(&b2, al, 1 << 16);
  p2pc_buf_init(&b3, al, 1 << 16);
  int bad = 0;
  if (p2pc_causal_new(&s.c, "s", &cfg, al, sc_event, &s) ||
      p2pc_causal_new(&x.c, "x", &cfg, al, sc_event, &x) ||
      p2pc_causal_new(&d.c, "d", &cfg, al, sc_event, &d)) {
    bad = sc_fail(name, "p2pc_causal_new failed");
    goto out;
  }
  static const uint8_t pl[1] = {1};
  sc_time(&s, 0);
  sc_time(&x, 0);
  sc_time(&d, 0);
  if (p2pc_causal_send(s.c, "d", pl, 1, 0, &b1) ||
      p2pc_causal_send(s.c, "x", pl, 1, 0, &b2)) {
    bad = sc_fail(name, "send failed");
    goto out;
  }
  sc_time(&x, 1);
  if (p2pc_causal_receive(x.c, "s", b2.data, b2.len, MS)) {
    bad = sc_fail(name, "x: receive of m2 failed");
    goto out;
  }
  uint64_t dl, wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo;
  p2pc_causal_report_for(x.c, "s", &dl, wo, &nwo);
  sc_time(&s, 2);
  if (p2pc_causal_peer_report(s.c, "x", dl, wo, nwo, 2 * MS)) {
    bad = sc_fail(name, "s: peer_report failed");
    goto out;
  }
  sc_time(&s, 101);
  sc_time(&x, 101);
  sc_time(&d, 101);
  uint64_t g = p2pc_causal_local_stable(s.c);
  if (p2pc_causal_local_stable(x.c) < g)
    g = p2pc_causal_local_stable(x.c);
  if (p2pc_causal_local_stable(d.c) < g)
    g = p2pc_causal_local_stable(d.c);
  p2pc_causal_set_stable(x.c, g);
  sc_time(&x, 102);
  if (p2pc_causal_send(x.c, "d", pl, 1, 102 * MS, &b3)) {
    bad = sc_fail(name, "x: send of m3 failed");
    goto out;
  }
  sc_time(&d, 103);
  if (p2pc_causal_receive(d.c, "x", b3.data, b3.len, 103 * MS)) {
    bad = sc_fail(name, "d: receive of m3 failed");
    goto out;
  }
  sc_time(&d, 110);
  if (p2pc_causal_receive(d.c, "s", b1.data, b1.len, 110 * MS)) {
    bad = sc_fail(name, "d: receive of m1 failed");
    goto out;
  }
  if (strcmp(d.log, "Ds:1 Dx:1") != 0) {
    char why[800];
    snprintf(why, sizeof why,
             "%s: d logged \"%s\", expected \"Ds:1 Dx:1\" (s logged \"%s\"; "
             "G %" PRIu64 " vs τ1 %" PRIu64 ")",
             no_prune ? "no_prune" : "pruning", d.log, s.log, g,
             (uint64_t)(EPOCH + 40 * (int64_t)MS));
    bad = sc_fail(name, why);
  }
out:
  p2pc_causal_free(s.c);
  p2pc_causal_free(x.c);
  p2pc_causal_free(d.c);
  p2pc_buf_fini(&b1);
  p2pc_buf_fini(&b2);
  p2pc_buf_fini(&b3);
  return bad;
}

/*
 * Every message is given up on time. s sends m1 and, 10 ms later, m2 to
 * d; neither is ever acknowledged. At Δ s gives m1 up, and m2 at its own
 * Δ, 10 ms later: a given-up message that still holds LS back (it
 * settles for seconds) must not hold back the give-up of the next
 * (prop_causal found that in ac33a35; be08717 fixed it).
 */
static int scenario_given_up_on_time(void) {
  const char *name = "given-up-on-time";
  sc_node s = {.off = 0, .err = MS};
  p2pc_causal_config cfg = {.lifetime_ns = 100 * MS};
  const p2pc_allocator *al = p2pc_allocator_default();
  p2pc_buf b;
  p2pc_buf_init(&b, al, 1 << 16);
  int bad = 0;
  if (p2pc_causal_new(&s.c, "s", &cfg, al, sc_event, &s)) {
    bad = sc_fail(name, "p2pc_causal_new failed");
    goto out;
  }
  static const uint8_t pl[1] = {1};
  sc_time(&s, 1);
  if (p2pc_causal_send(s.c, "d", pl, 1, MS, &b)) {
    bad = sc_fail(name, "send of m1 failed");
    goto out;
  }
  sc_time(&s, 11);
  p2pc_buf_reset(&b);
  if (p2pc_causal_send(s.c, "d", pl, 1, 11 * MS, &b)) {
    bad = sc_fail(name, "send of m2 failed");
    goto out;
  }
  sc_time(&s, 105);
  sc_time(&s, 115);
  sc_time(&s, 200);
  if (strcmp(s.log, "es:1 es:2") != 0) {
    char why[400];
    snprintf(why, sizeof why,
             "at 200 ms s logged \"%s\", expected \"es:1 es:2\" (both "
             "given up at Δ = 100 ms)",
             s.log);
    bad = sc_fail(name, why);
  }
out:
  p2pc_causal_free(s.c);
  p2pc_buf_fini(&b);
  return bad;
}

/*
 * A write-off is never lost. s sends m1..m21 to d, 1 ms apart; the even
 * ones are lost on the way, each odd one reaches d just after the entry
 * for its predecessor expired there (d's clock is 40 ms ahead), so d
 * delivers it and writes the even one off: ten ranges that do not touch,
 * two more than d remembers. d's report then reaches s before s has given
 * anything up. Every even message must end reported expired at s (written
 * off, or given up at Δ): none may pass for delivered.
 */
static int scenario_write_off_kept(void) {
  const char *name = "write-off-kept";
  sc_node s = {.off = 0, .err = 50 * MS},
          d = {.off = 40 * (int64_t)MS, .err = 50 * MS};
  p2pc_causal_config cfg = {.lifetime_ns = 100 * MS};
  const p2pc_allocator *al = p2pc_allocator_default();
  enum { M = 21 };
  p2pc_buf b[M + 1];
  for (int i = 0; i <= M; i++)
    p2pc_buf_init(&b[i], al, 1 << 16);
  int bad = 0;
  if (p2pc_causal_new(&s.c, "s", &cfg, al, sc_event, &s) ||
      p2pc_causal_new(&d.c, "d", &cfg, al, sc_event, &d)) {
    bad = sc_fail(name, "p2pc_causal_new failed");
    goto out;
  }
  static const uint8_t pl[1] = {1};
  sc_time(&d, 0);
  for (int i = 1; i <= M; i++) {
    sc_time(&s, (uint64_t)i);
    if (p2pc_causal_send(s.c, "d", pl, 1, (uint64_t)i * MS, &b[i])) {
      bad = sc_fail(name, "send failed");
      goto out;
    }
  }
  /* m1 at once; m(2k+1) at 2k + 60.5 ms: d's HLC is then 2k + 100.5 ms,
   * past τ(2k) + Δ and short of τ(2k+1) + Δ. */
  for (int i = 1; i <= M; i += 2) {
    uint64_t t = i == 1 ? 2 * MS : (uint64_t)(i - 1) * MS + 60500000u;
    p2pc_causal_set_time(d.c, EPOCH + (int64_t)t + d.off, d.err, t);
    if (p2pc_causal_receive(d.c, "s", b[i].data, b[i].len, t)) {
      bad = sc_fail(name, "d: receive failed");
      goto out;
    }
  }
  uint64_t dl, wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo;
  sc_time(&d, 81);
  p2pc_causal_report_for(d.c, "s", &dl, wo, &nwo);
  sc_time(&s, 82);
  if (p2pc_causal_peer_report(s.c, "d", dl, wo, nwo, 82 * MS)) {
    bad = sc_fail(name, "s: peer_report failed");
    goto out;
  }
  sc_time(&s, 500);
  char want[24];
  for (int i = 2; i <= M && !bad; i += 2) {
    snprintf(want, sizeof want, "es:%d", i);
    const char *p = s.log;
    bool found = false;
    size_t wl = strlen(want);
    while ((p = strstr(p, want)) != NULL) {
      if (p[wl] == ' ' || p[wl] == '\0')
        found = true;
      p += wl;
    }
    if (!found) {
      char why[900];
      snprintf(why, sizeof why,
               "s:%d was written off at d but never reported expired (d "
               "logged \"%s\", reported delivered %" PRIu64 " and %" PRIu32
               " ranges; s logged \"%s\")",
               i, d.log, dl, nwo, s.log);
      bad = sc_fail(name, why);
    }
  }
out:
  p2pc_causal_free(s.c);
  p2pc_causal_free(d.c);
  for (int i = 0; i <= M; i++)
    p2pc_buf_fini(&b[i]);
  return bad;
}

static int run_scenarios(void) {
  int bad = 0;
  bad |= scenario_given_up_not_stable(true);
  bad |= scenario_given_up_not_stable(false);
  bad |= scenario_given_up_on_time();
  bad |= scenario_write_off_kept();
  if (!bad)
    printf("prop_causal: directed scenarios pass\n");
  return bad;
}

/* ---- main ------------------------------------------------------------------
 */

static int usage(void) {
  fprintf(stderr, "usage: prop_causal --scenarios\n"
                  "       prop_causal [--schedules K] [--seed BASE] [--trace]\n"
                  "         [--bounded | --ahead | --compare-prune |\n"
                  "          --compare-legacy [--legacy-retire]]\n"
                  "         [--faults drop-dest-pair|no-dedup|no-transitive|"
                  "expire-early\n"
                  "          --expect-violation]\n"
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

static const char *mode_flag(mode m) {
  switch (m) {
  case MODE_BOUNDED:
    return " --bounded";
  case MODE_AHEAD:
    return " --ahead";
  case MODE_PRUNE:
    return " --compare-prune";
  case MODE_LEGACY:
    return " --compare-legacy";
  case MODE_GENERAL:
    break;
  }
  return "";
}

static void describe(const run *r, uint64_t seed, const options *o) {
  const params *p = &r->p;
  char life[32] = "inf";
  if (p->life != INF)
    snprintf(life, sizeof life, "%.3f ms", msf(p->life));
  printf("  schedule: cores=%" PRIu32 " (+%" PRIu32
         " incarnations) ops=%" PRIu32
         " Δ=%s maxerr=%.3f ms maxdelay=%.3f ms cap=%.3f ms "
         "max_buffered=%" PRIu32 " caps=%" PRIu32 "/%" PRIu32 "/%" PRIu32
         " reports=%d G=%d partition=%d crashes=%" PRIu32 " retire=%d "
         "liar=%" PRId32 " no_prune=%d legacy=%d; stopped at step %" PRIu64
         ", t=%.3f ms, %zu messages sent\n",
         p->n, r->nslots - p->n, p->ops, life, msf(p->maxerr), msf(p->maxdelay),
         msf(p->cap), p->max_buffered, p->max_deps, p->max_msg_deps,
         p->max_pending, p->reports, p->gstable, p->partition, p->ncrash,
         p->retire, p->liar, r->no_prune, r->legacy, r->steps, msf(r->now),
         r->nmsgs);
  printf("  replay: P2PC_SEED=%" PRIu64 " prop_causal%s%s%s%s%s --trace\n",
         seed, mode_flag(o->mode), o->legacy_retire ? " --legacy-retire" : "",
         o->fault_name ? " --faults " : "", o->fault_name ? o->fault_name : "",
         o->expect ? " --expect-violation" : "");
}

static const char *verdict(const run *r, outcome oc) {
  if (oc == OUT_VIOLATION)
    return ccheck_first(r->ck);
  return r->fail;
}

typedef struct totals {
  uint64_t msgs, dups, fulls, send_fulls, refused, exp_rx, exp_tx, dropped,
      lost, reports, g, meta, sends, deps_max, max_steps, incarnations;
} totals;

static void add_totals(totals *t, const run *r) {
  t->msgs += r->nmsgs;
  t->dups += r->dups_injected;
  t->fulls += r->full_total;
  t->send_fulls += r->send_full;
  t->refused += r->refused;
  t->exp_rx += r->expired_rx;
  t->exp_tx += r->expired_tx;
  t->dropped += r->dropped;
  t->lost += r->lost;
  t->reports += r->reports_sent;
  t->g += r->g_applied;
  t->meta += r->meta_total;
  t->sends += r->sends_total;
  t->incarnations += r->nslots - r->p.n;
  if (r->deps_max > t->deps_max)
    t->deps_max = r->deps_max;
  if (r->steps > t->max_steps)
    t->max_steps = r->steps;
}

int main(int argc, char **argv) {
  options o = {.schedules = 2000, .mode = MODE_GENERAL};
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
      if (strcmp(o.fault_name, "drop-dest-pair") == 0)
        o.faults = P2PC_CAUSAL_FAULT_DROP_DEST_PAIR;
      else if (strcmp(o.fault_name, "no-dedup") == 0)
        o.faults = P2PC_CAUSAL_FAULT_NO_DEDUP;
      else if (strcmp(o.fault_name, "no-transitive") == 0)
        o.faults = P2PC_CAUSAL_FAULT_NO_TRANSITIVE;
      else if (strcmp(o.fault_name, "expire-early") == 0)
        o.faults = P2PC_CAUSAL_FAULT_EXPIRE_EARLY;
      else
        return usage();
    } else if (strcmp(a, "--expect-violation") == 0) {
      o.expect = true;
    } else if (strcmp(a, "--bounded") == 0) {
      o.mode = MODE_BOUNDED;
    } else if (strcmp(a, "--ahead") == 0) {
      o.mode = MODE_AHEAD;
    } else if (strcmp(a, "--compare-prune") == 0) {
      o.mode = MODE_PRUNE;
    } else if (strcmp(a, "--compare-legacy") == 0) {
      o.mode = MODE_LEGACY;
    } else if (strcmp(a, "--legacy-retire") == 0) {
      o.legacy_retire = true;
    } else if (strcmp(a, "--trace") == 0) {
      o.trace = true;
    } else if (strcmp(a, "--scenarios") == 0) {
      return run_scenarios();
    } else {
      return usage();
    }
  }
  if (o.faults == P2PC_CAUSAL_FAULT_EXPIRE_EARLY)
    o.mode = MODE_BOUNDED; /* caught by property c */
  if (o.expect != (o.faults != 0) ||
      (o.faults && o.mode != MODE_GENERAL && o.mode != MODE_BOUNDED) ||
      (o.legacy_retire && o.mode != MODE_LEGACY)) {
    fprintf(stderr, "prop_causal: --faults needs --expect-violation (and "
                    "vice versa) and runs without --ahead/--compare-*; "
                    "--legacy-retire goes with --compare-legacy\n");
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
    printf("prop_causal: replaying schedule seed %" PRIu64 "%s%s%s\n", o.replay,
           mode_flag(o.mode), o.fault_name ? " with fault " : "",
           o.fault_name ? o.fault_name : "");
  else
    printf("prop_causal: base seed %" PRIu64 " (rerun with --seed %" PRIu64
           "), %" PRIu64 " schedules%s%s%s\n",
           o.base, o.base, count, mode_flag(o.mode),
           o.fault_name ? ", fault " : "", o.fault_name ? o.fault_name : "");
  fflush(stdout);

  totals ta, tb;
  memset(&ta, 0, sizeof ta);
  memset(&tb, 0, sizeof tb);
  uint64_t other = 0, lossless = 0, done = 0;
  int status = o.expect ? 1 : 0;
  static run ra, rb;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t seed = o.have_replay ? o.replay : schedule_seed(o.base, i);
    /* General schedules run one in four with no_prune. */
    bool np = o.mode == MODE_LEGACY ||
              (o.mode == MODE_GENERAL && (hmix(seed, 1, 2) & 3) == 0);
    outcome oa = run_schedule(&ra, &o, seed, np, false);
    done++;
    add_totals(&ta, &ra);
    lossless += ra.lossless;
    if (o.expect) {
      bool caught =
          o.faults == P2PC_CAUSAL_FAULT_EXPIRE_EARLY
              ? oa == OUT_FAIL && ra.fail_prop == 'c'
              : ccheck_count(ra.ck, o.faults == P2PC_CAUSAL_FAULT_NO_DEDUP
                                        ? CCHECK_DUPLICATE
                                        : CCHECK_ORDER) > 0;
      if (caught) {
        printf("prop_causal: fault %s caught in schedule %" PRIu64
               " (seed %" PRIu64 "): %s\n",
               o.fault_name, i, seed, verdict(&ra, oa));
        describe(&ra, seed, &o);
        status = 0;
        run_free(&ra);
        break;
      }
      if (oa != OUT_OK)
        other++;
      run_free(&ra);
      continue;
    }
    if (oa != OUT_OK) {
      printf("prop_causal: FAIL in schedule %" PRIu64 " (seed %" PRIu64
             "%s): %s\n",
             i, seed,
             o.mode == MODE_PRUNE    ? ", with pruning"
             : o.mode == MODE_LEGACY ? ", Δ-SES"
                                     : "",
             verdict(&ra, oa));
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
    char why[700];
    if (ra.lossless && (i % 8 == 0 || o.have_replay) &&
        !recheck_offline(&ra, why, sizeof why)) {
      printf("prop_causal: FAIL in schedule %" PRIu64 " (seed %" PRIu64
             "): %s\n",
             i, seed, why);
      describe(&ra, seed, &o);
      status = 1;
      run_free(&ra);
      break;
    }
    if (o.mode == MODE_PRUNE || o.mode == MODE_LEGACY) {
      bool leg = o.mode == MODE_LEGACY;
      outcome ob = run_schedule(&rb, &o, seed, true, leg);
      add_totals(&tb, &rb);
      if (ob != OUT_OK) {
        printf("prop_causal: FAIL in schedule %" PRIu64 " (seed %" PRIu64
               ", %s): %s\n",
               i, seed, leg ? "legacy SES" : "no_prune", verdict(&rb, ob));
        describe(&rb, seed, &o);
        status = 1;
      } else if (!same_deliveries(&ra, &rb, leg ? "with Δ-SES" : "with pruning",
                                  leg ? "with legacy SES" : "with no_prune",
                                  why, sizeof why)) {
        printf("prop_causal: FAIL in schedule %" PRIu64 " (seed %" PRIu64
               "): [%c] %s\n",
               i, seed, leg ? 'h' : 'g', why);
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
  printf("prop_causal: %" PRIu64 " schedules (%" PRIu64 " lossless), %" PRIu64
         " messages, %" PRIu64 " duplicates injected, %" PRIu64
         " FULL receives, %" PRIu64 " FULL sends, %" PRIu64 " refused ahead, "
         "%" PRIu64 " incarnations, max %" PRIu64 " steps, %.2f s\n",
         done, lossless, ta.msgs, ta.dups, ta.fulls, ta.send_fulls, ta.refused,
         ta.incarnations, ta.max_steps, secs);
  printf("prop_causal: expired %" PRIu64 " at receivers, %" PRIu64
         " at senders; %" PRIu64 " dropped (retired), %" PRIu64
         " copies lost; %" PRIu64 " reports, %" PRIu64 " G applied\n",
         ta.exp_rx, ta.exp_tx, ta.dropped, ta.lost, ta.reports, ta.g);
  if (ta.sends)
    printf("prop_causal: causal metadata %.1f bytes/message, at most %" PRIu64
           " entries%s",
           (double)ta.meta / (double)ta.sends, ta.deps_max,
           o.mode == MODE_PRUNE ? " with pruning" : "");
  if (o.mode == MODE_PRUNE && tb.sends)
    printf("; %.1f bytes, %" PRIu64 " entries with no_prune",
           (double)tb.meta / (double)tb.sends, tb.deps_max);
  if (o.mode == MODE_LEGACY && tb.sends)
    printf("; legacy SES %.1f bytes/message",
           (double)tb.meta / (double)tb.sends);
  if (ta.sends)
    printf("\n");
  if (o.expect && status == 1)
    printf("prop_causal: fault %s NOT caught in %" PRIu64 " schedules (%" PRIu64
           " failed otherwise)\n",
           o.fault_name, done, other);
  return status;
}
