/* SPDX-License-Identifier: MIT */
/*
 * legacy_equiv: the frozen copy of today's SES (legacy_ses.h, lses_*)
 * against the original (src/core/causal.h, p2pc_causal_*), side by side.
 *
 * Each schedule (seeded, deterministic) runs N = 2..8 nodes twice over: N
 * original cores and N copies, fed the same calls in the same order. Every
 * call is made on the original, then on the copy, and must give the same
 * return code, the same events (every field: kind, sender, n, peer, clock,
 * the pair a buffered message waits for, bytes, meta, waited time, payload,
 * reason) and, for sends, the same encoded bytes. The calls: unicasts,
 * broadcasts and self-sends; deliveries of the messages in flight in a
 * random order (in some schedules they pile up in flight), some
 * duplicated, some corrupted, some offered with the wrong sender;
 * retirements; horizons given and taken; drains; and crashes: a node stops,
 * some of its messages in flight are lost, every other node retires it and
 * the live ones exchange horizons, often right after a chain of messages
 * that makes a receiver wait for the lost one. Schedules
 * draw their configuration too: pruning on or off, tiny SES buffers (FULL),
 * a small node-ID limit, the fault switches, and allocators that fail at
 * random (the same draws on both sides, so the same calls fail). At the end
 * the two sides' states must agree (stats, clocks, pairs, buffers, names,
 * retirements, horizons).
 *
 * Before the schedules, a self-test proves that the comparison can fail:
 * with pruning switched the other way in the copy only, some schedule must
 * diverge. After them, every kind of outcome (each refusal code,
 * duplicates, drops, messages released by a retirement, by a horizon, by a
 * resumed drain) must have occurred at least once, so that no branch was
 * compared vacuously.
 *
 *   legacy_equiv [--schedules K] [--seed BASE] [--trace]
 *
 * P2PC_SEED=<u64> replays one schedule. This test needs today's core: it is
 * to be deleted when src/core's causal layer is replaced; legacy_basic
 * stays.
 */
#include "causal.h"
#include "legacy_ses.h"
#include "rng.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 8
#define NGHOSTS 2 /* identities that never send: retired, horizons */
#define STEP_LIMIT 200000u
#define MAX_PAYLOAD 48
#define MAX_RETRIES 40 /* a copy refused FULL/NOMEM this often is dropped */
#define OUT_MAX (1u << 20)
#define DEFAULT_BASE UINT64_C(0x1e6acf5e5a9e1a11)

/* ---- small utilities ----------------------------------------------------- */

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "legacy_equiv: out of memory\n");
    abort();
  }
  return q;
}

typedef struct sb {
  char *p;
  size_t len, cap;
} sb;

static __attribute__((format(printf, 2, 3))) void
sb_printf(sb *s, const char *fmt, ...) {
  for (;;) {
    size_t room = s->cap - s->len;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(s->p ? s->p + s->len : NULL, room, fmt, ap);
    va_end(ap);
    if (k < 0)
      abort();
    if ((size_t)k < room) {
      s->len += (size_t)k;
      return;
    }
    size_t cap = s->cap ? s->cap : 256;
    while (cap - s->len <= (size_t)k)
      cap *= 2;
    s->p = xrealloc(s->p, cap);
    s->cap = cap;
  }
}

static void sb_reset(sb *s) {
  s->len = 0;
  if (s->p)
    s->p[0] = '\0';
}

static bool sb_eq(const sb *a, const sb *b) {
  return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

static const char *sb_str(const sb *s) { return s->len ? s->p : ""; }

static uint64_t below(p2pc_rng *g, uint64_t n) { return p2pc_rng_below(g, n); }

static bool chance(p2pc_rng *g, double p) { return p2pc_rng_unit(g) < p; }

/* ---- allocators that fail at random -------------------------------------- */

/* One per core. The original core i and its copy get allocators seeded
 * alike; identical code makes identical calls, so the same ones fail. */
typedef struct failalloc {
  p2pc_allocator a;
  p2pc_rng g;
  double p; /* chance that an allocation fails while armed */
  bool armed;
  uint64_t fails;
} failalloc;

static void *fa_realloc(void *ptr, size_t size, void *ud) {
  failalloc *f = ud;
  if (size && f->armed && f->p > 0 && p2pc_rng_unit(&f->g) < f->p) {
    f->fails++;
    return NULL; /* ptr stays valid, as with realloc(3) */
  }
  return p2pc_allocator_default()->realloc(ptr, size, NULL);
}

static void fa_free(void *ptr, void *ud) {
  (void)ud;
  p2pc_allocator_default()->free(ptr, NULL);
}

static void fa_init(failalloc *f, uint64_t seed, double p) {
  memset(f, 0, sizeof *f);
  f->a = (p2pc_allocator){fa_realloc, fa_free, f};
  p2pc_rng_seed(&f->g, seed, 7);
  f->p = p;
}

/* ---- a schedule ---------------------------------------------------------- */

enum { SIDE_ORIG, SIDE_COPY };

typedef struct copy_in_flight {
  uint32_t mid;
  uint32_t retries;
} copy_in_flight;

typedef struct msg {
  uint32_t src, dst;
  size_t off, len;
} msg;

/* Totals over all schedules: each must be non-zero at the end. */
typedef struct totals {
  uint64_t sends, delivers, buffers, dups, drops, full, nomem, proto, toobig,
      inval, retires, horizons_taken, horizon_releases, retire_releases,
      drains_with_events, schedules, calls;
} totals;

typedef struct run run;

typedef struct ctx {
  run *r;
  uint32_t node;
  int side;
} ctx;

struct run {
  uint64_t seed;
  bool trace, mutate;
  p2pc_rng g;
  uint32_t n;
  char names[MAX_NODES + NGHOSTS][12];
  p2pc_causal *orig[MAX_NODES];
  lses_causal *copy[MAX_NODES];
  failalloc fa_orig[MAX_NODES], fa_copy[MAX_NODES];
  ctx cx[2][MAX_NODES];
  sb log[2]; /* the events of the call in progress, one side each */
  p2pc_buf out[2];
  msg *msgs;
  size_t nmsgs, capmsgs;
  uint8_t *pool;
  size_t poollen, poolcap;
  copy_in_flight *bag;
  size_t nbag, capbag;
  uint64_t now, step;
  totals t;
  /* the schedule's configuration */
  uint32_t ops, max_buffered, max_nodes, faults;
  uint32_t ops_left;
  bool no_prune, oom, retiring, crashing;
  bool crashed[MAX_NODES]; /* gone for good: retired everywhere */
  double pop; /* chance that a step is a call rather than an arrival */
  double pdup, pcorrupt, pwrong, pnull;
  char fail[2048];
};

static __attribute__((format(printf, 2, 3))) void fail(run *r, const char *fmt,
                                                       ...) {
  if (r->fail[0])
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->fail, sizeof r->fail, fmt, ap);
  va_end(ap);
}

/* ---- events, written out field by field ---------------------------------- */

static const char *kind_name(int k) {
  static const char *const nm[] = {"SEND",    "RECV", "BUFFER",
                                   "DELIVER", "DUP",  "DROP"};
  return k >= 0 && k < 6 ? nm[k] : "?";
}

#define PUT_VC(s, vc)                                                          \
  do {                                                                         \
    if (!(vc)) {                                                               \
      sb_printf((s), "-");                                                     \
      break;                                                                   \
    }                                                                          \
    sb_printf((s), "{");                                                       \
    for (uint32_t i_ = 0; i_ < (vc)->n; i_++)                                  \
      sb_printf((s), "%s%" PRIu32 ":%" PRIu64, i_ ? "," : "", (vc)->e[i_].id,  \
                (vc)->e[i_].v);                                                \
    sb_printf((s), "}");                                                       \
  } while (0)

static void put_common(sb *s, uint32_t node, int kind, const char *sender,
                       uint64_t n, const char *peer) {
  sb_printf(s, "  n%" PRIu32 " %s %s:%" PRIu64 " peer=%s", node,
            kind_name(kind), sender ? sender : "(null)", n,
            peer ? peer : "(null)");
}

static void put_tail(sb *s, const char *waits_node, size_t bytes, size_t meta,
                     uint64_t waited, const uint8_t *payload,
                     const char *reason) {
  sb_printf(s, " waits=%s bytes=%zu meta=%zu waited=%" PRIu64 " payload=",
            waits_node ? waits_node : "-", bytes, meta, waited);
  if (payload)
    for (size_t i = 0; i < bytes; i++)
      sb_printf(s, "%02x", payload[i]);
  else
    sb_printf(s, "-");
  sb_printf(s, " reason=%s\n", reason ? reason : "-");
}

static void count_event(run *r, int kind) {
  switch (kind) {
  case P2PC_CEV_SEND:
    r->t.sends++;
    break;
  case P2PC_CEV_DELIVER:
    r->t.delivers++;
    break;
  case P2PC_CEV_BUFFER:
    r->t.buffers++;
    break;
  case P2PC_CEV_DUP:
    r->t.dups++;
    break;
  case P2PC_CEV_DROP:
    r->t.drops++;
    break;
  default:
    break;
  }
}

static void on_orig(void *ud, const p2pc_causal_event *ev) {
  ctx *c = ud;
  sb *s = &c->r->log[SIDE_ORIG];
  put_common(s, c->node, (int)ev->kind, ev->sender, ev->n, ev->peer);
  sb_printf(s, " vc=");
  PUT_VC(s, ev->vc);
  sb_printf(s, " waits_vc=");
  PUT_VC(s, ev->waits_vc);
  put_tail(s, ev->waits_node, ev->bytes, ev->meta, ev->waited_ns, ev->payload,
           ev->reason);
  count_event(c->r, (int)ev->kind);
}

static void on_copy(void *ud, const lses_causal_event *ev) {
  ctx *c = ud;
  sb *s = &c->r->log[SIDE_COPY];
  put_common(s, c->node, (int)ev->kind, ev->sender, ev->n, ev->peer);
  sb_printf(s, " vc=");
  PUT_VC(s, ev->vc);
  sb_printf(s, " waits_vc=");
  PUT_VC(s, ev->waits_vc);
  put_tail(s, ev->waits_node, ev->bytes, ev->meta, ev->waited_ns, ev->payload,
           ev->reason);
}

/* The two sides must have logged the same events and returned the same. */
static void compare_call(run *r, const char *what, int rc_orig, int rc_copy) {
  r->t.calls++;
  if (r->trace)
    printf("step %" PRIu64 " t=%" PRIu64 " %s -> %s\n%s", r->step, r->now, what,
           p2pc_strerror(rc_orig), sb_str(&r->log[SIDE_ORIG]));
  if (rc_orig != rc_copy)
    fail(r, "%s: original returned %s, copy %s", what, p2pc_strerror(rc_orig),
         p2pc_strerror(rc_copy));
  else if (!sb_eq(&r->log[SIDE_ORIG], &r->log[SIDE_COPY]))
    fail(r, "%s: events differ\n original:\n%s copy:\n%s", what,
         sb_str(&r->log[SIDE_ORIG]), sb_str(&r->log[SIDE_COPY]));
  switch (rc_orig) {
  case P2PC_ERR_FULL:
    r->t.full++;
    break;
  case P2PC_ERR_NOMEM:
    r->t.nomem++;
    break;
  case P2PC_ERR_PROTO:
    r->t.proto++;
    break;
  case P2PC_ERR_TOOBIG:
    r->t.toobig++;
    break;
  case P2PC_ERR_INVAL:
    r->t.inval++;
    break;
  default:
    break;
  }
  sb_reset(&r->log[SIDE_ORIG]);
  sb_reset(&r->log[SIDE_COPY]);
}

/* ---- the calls ----------------------------------------------------------- */

static void bag_push(run *r, uint32_t mid, uint32_t retries) {
  if (r->nbag == r->capbag) {
    r->capbag = r->capbag ? 2 * r->capbag : 64;
    r->bag = xrealloc(r->bag, r->capbag * sizeof *r->bag);
  }
  r->bag[r->nbag++] = (copy_in_flight){mid, retries};
}

static size_t make_payload(run *r, uint8_t *p) {
  size_t len = (size_t)below(&r->g, MAX_PAYLOAD + 1); /* 0 bytes too */
  for (size_t i = 0; i < len; i++)
    p[i] = (uint8_t)p2pc_rng_next(&r->g);
  return len;
}

static void do_send(run *r, uint32_t src, uint32_t dst) {
  uint8_t payload[MAX_PAYLOAD];
  size_t len = make_payload(r, payload);
  char what[64];
  snprintf(what, sizeof what, "send %s -> %s (%zu bytes)", r->names[src],
           r->names[dst], len);
  p2pc_buf_reset(&r->out[0]);
  p2pc_buf_reset(&r->out[1]);
  uint64_t mono = r->now * 1000;
  int ra = p2pc_causal_send(r->orig[src], r->names[dst], payload, len, mono,
                            &r->out[0]);
  int rb = lses_causal_send(r->copy[src], r->names[dst], payload, len, mono,
                            &r->out[1]);
  compare_call(r, what, ra, rb);
  if (r->fail[0])
    return;
  if (r->out[0].len != r->out[1].len ||
      (r->out[0].len &&
       memcmp(r->out[0].data, r->out[1].data, r->out[0].len) != 0)) {
    sb hx = {0};
    for (int side = 0; side < 2; side++) {
      sb_printf(&hx, side ? "\n copy:     " : " original: ");
      for (size_t i = 0; i < r->out[side].len; i++)
        sb_printf(&hx, "%02x", r->out[side].data[i]);
    }
    fail(r, "%s: encoded bytes differ\n%s", what, sb_str(&hx));
    free(hx.p);
    return;
  }
  if (ra != 0 || r->out[0].len == 0 || dst >= r->n)
    return; /* failed, to self, or to a ghost: nothing in flight */
  if (r->nmsgs == r->capmsgs) {
    r->capmsgs = r->capmsgs ? 2 * r->capmsgs : 64;
    r->msgs = xrealloc(r->msgs, r->capmsgs * sizeof *r->msgs);
  }
  while (r->poollen + r->out[0].len > r->poolcap) {
    r->poolcap = r->poolcap ? 2 * r->poolcap : 4096;
    r->pool = xrealloc(r->pool, r->poolcap);
  }
  memcpy(r->pool + r->poollen, r->out[0].data, r->out[0].len);
  r->msgs[r->nmsgs] =
      (msg){.src = src, .dst = dst, .off = r->poollen, .len = r->out[0].len};
  r->poollen += r->out[0].len;
  bag_push(r, (uint32_t)r->nmsgs, 0);
  if (chance(&r->g, r->pdup))
    bag_push(r, (uint32_t)r->nmsgs, 0);
  r->nmsgs++;
}

/* Offers bytes b to node dst on both sides; returns the common code. */
static int offer(run *r, uint32_t dst, const char *expected, const uint8_t *b,
                 size_t len, const char *what) {
  uint64_t mono = r->now * 1000;
  int ra = p2pc_causal_receive(r->orig[dst], expected, b, len, mono);
  int rb = lses_causal_receive(r->copy[dst], expected, b, len, mono);
  compare_call(r, what, ra, rb);
  return ra;
}

static void do_drain(run *r, uint32_t node) {
  char what[48];
  snprintf(what, sizeof what, "drain at %s", r->names[node]);
  uint64_t mono = r->now * 1000;
  p2pc_causal_drain(r->orig[node], mono);
  lses_causal_drain(r->copy[node], mono);
  if (r->log[SIDE_ORIG].len)
    r->t.drains_with_events++;
  compare_call(r, what, 0, 0);
}

/* The copy at bag[k] arrives. */
static void arrive(run *r, size_t k) {
  copy_in_flight c = r->bag[k];
  r->bag[k] = r->bag[--r->nbag];
  const msg *m = &r->msgs[c.mid];
  const uint8_t *b = r->pool + m->off;
  char what[96];

  if (chance(&r->g, r->pcorrupt)) {
    /* An extra, damaged copy: a flipped byte, or cut short. The real copy
     * goes back in flight. */
    uint8_t bad[4096];
    size_t len = m->len < sizeof bad ? m->len : sizeof bad;
    memcpy(bad, b, len);
    if (chance(&r->g, 0.5) && len > 1) {
      len = 1 + (size_t)below(&r->g, len - 1);
    } else {
      size_t at = (size_t)below(&r->g, len);
      bad[at] ^= (uint8_t)(1u << below(&r->g, 8));
    }
    snprintf(what, sizeof what, "corrupted copy of message #%" PRIu32 " at %s",
             c.mid, r->names[m->dst]);
    offer(r, m->dst, chance(&r->g, 0.5) ? r->names[m->src] : NULL, bad, len,
          what);
    bag_push(r, c.mid, c.retries);
    return;
  }
  const char *expected = r->names[m->src];
  bool wrong = false;
  if (chance(&r->g, r->pwrong)) {
    uint32_t other = (uint32_t)below(&r->g, r->n + NGHOSTS);
    if (other != m->src) {
      expected = r->names[other];
      wrong = true;
    }
  } else if (chance(&r->g, r->pnull)) {
    expected = NULL;
  }
  snprintf(what, sizeof what, "arrival of message #%" PRIu32 " %s -> %s%s",
           c.mid, r->names[m->src], r->names[m->dst],
           wrong ? " (wrong sender)" : "");
  int rc = offer(r, m->dst, expected, b, m->len, what);
  /* An allocation failure may have cut a drain short: resume it, now and
   * then with allocations that cannot fail. */
  if (r->oom && !r->fail[0]) {
    bool sure = chance(&r->g, 0.5);
    r->fa_orig[m->dst].armed = r->fa_copy[m->dst].armed = !sure;
    do_drain(r, m->dst);
    r->fa_orig[m->dst].armed = r->fa_copy[m->dst].armed = true;
  }
  if (wrong || ((rc == P2PC_ERR_FULL || rc == P2PC_ERR_NOMEM) &&
                c.retries < MAX_RETRIES))
    bag_push(r, c.mid, c.retries + !wrong);
}

static void do_arrival(run *r) { arrive(r, (size_t)below(&r->g, r->nbag)); }

/* s gives d its horizon; d takes it in as given, or (alter) now and then
 * stale, ahead or malformed (stamp below dseq). */
static void horizon_pair(run *r, uint32_t s, uint32_t d, bool alter) {
  uint64_t da = 0, sa = 0, db = 0, sbv = 0;
  int ra = p2pc_causal_horizon(r->orig[s], r->names[d], &da, &sa);
  int rb = lses_causal_horizon(r->copy[s], r->names[d], &db, &sbv);
  char what[96];
  snprintf(what, sizeof what, "horizon of %s for %s", r->names[s], r->names[d]);
  compare_call(r, what, ra, rb);
  if (r->fail[0] || ra != 0)
    return;
  if (da != db || sa != sbv) {
    fail(r,
         "%s: original (%" PRIu64 ", %" PRIu64 "), copy (%" PRIu64 ", %" PRIu64
         ")",
         what, da, sa, db, sbv);
    return;
  }
  if (d >= r->n)
    return;
  uint64_t dseq = da, stamp = sa;
  switch (alter ? below(&r->g, 7) : 6) {
  case 0:
    dseq += below(&r->g, 3);
    stamp += below(&r->g, 3);
    break;
  case 1:
    dseq = dseq ? dseq - 1 : 0;
    break;
  case 2:
    stamp = dseq ? dseq - 1 : 0;
    break;
  case 3:
    stamp = dseq; /* well-formed, but below what was delivered (a liar) */
    break;
  default:
    break;
  }
  snprintf(what, sizeof what,
           "take_horizon (%" PRIu64 ", %" PRIu64 ") of %s at %s", dseq, stamp,
           r->names[s], r->names[d]);
  uint64_t mono = r->now * 1000;
  ra = p2pc_causal_take_horizon(r->orig[d], r->names[s], dseq, stamp, mono);
  rb = lses_causal_take_horizon(r->copy[d], r->names[s], dseq, stamp, mono);
  if (r->log[SIDE_ORIG].len)
    r->t.horizon_releases++;
  compare_call(r, what, ra, rb);
  if (ra == 0)
    r->t.horizons_taken++;
}

static void do_horizon(run *r) {
  uint32_t s = (uint32_t)below(&r->g, r->n);
  horizon_pair(r, s, (uint32_t)below(&r->g, r->n + NGHOSTS), true);
}

/* Node x is gone for good (restarted without its state, say): some of its
 * messages in flight are lost, every other node retires it, and the live
 * nodes exchange their horizons, as the runtime does. */
static void crash(run *r, uint32_t x, double ploss) {
  r->crashed[x] = true;
  for (size_t k = 0; k < r->nbag;) {
    if (r->msgs[r->bag[k].mid].src == x && chance(&r->g, ploss))
      r->bag[k] = r->bag[--r->nbag];
    else
      k++;
  }
  uint64_t mono = r->now * 1000;
  for (uint32_t y = 0; y < r->n && !r->fail[0]; y++) {
    if (y == x)
      continue;
    char what[64];
    snprintf(what, sizeof what, "retire crashed %s at %s", r->names[x],
             r->names[y]);
    int ra = p2pc_causal_retire(r->orig[y], r->names[x], mono);
    int rb = lses_causal_retire(r->copy[y], r->names[x], mono);
    if (strstr(sb_str(&r->log[SIDE_ORIG]), " DELIVER "))
      r->t.retire_releases++;
    compare_call(r, what, ra, rb);
    if (ra == 0)
      r->t.retires++;
  }
  for (uint32_t a = 0; a < r->n; a++)
    for (uint32_t b = 0; b < r->n && !r->fail[0]; b++)
      if (a != b && !r->crashed[a] && !r->crashed[b] && chance(&r->g, 0.7))
        horizon_pair(r, a, b, true);
  /* Often the traffic stops soon after: then only the horizons can
   * release what waits for the crashed node's lost messages. */
  if (chance(&r->g, 0.5) && r->ops_left > 3)
    r->ops_left = (uint32_t)below(&r->g, 4);
}

static void do_crash(run *r) {
  uint32_t live = 0, x;
  for (uint32_t i = 0; i < r->n; i++)
    live += !r->crashed[i];
  if (live < 3)
    return;
  do
    x = (uint32_t)below(&r->g, r->n);
  while (r->crashed[x]);
  crash(r, x, 0.5);
}

/* Sends src -> dst and, if it went in flight, delivers it at once. */
static void send_now(run *r, uint32_t src, uint32_t dst) {
  size_t before = r->nmsgs;
  do_send(r, src, dst);
  if (r->nmsgs == before || r->fail[0])
    return;
  for (size_t k = r->nbag; k-- > 0;)
    if (r->bag[k].mid == before) {
      arrive(r, k);
      return;
    }
}

/* The pattern that needs the retirement machinery: k -> x (delivered),
 * x -> d (in flight), x -> j (delivered), j -> d (delivered: it waits at d
 * for x's message, which carries what x knew of k). If x then crashes (at
 * once, half of the time) and its message to d is lost, d must give up on it
 * (retirement) and learn from k's stream or k's horizon that nothing else of
 * k's is missing. */
static void do_chain(run *r) {
  uint32_t pick[4], np = 0;
  for (uint32_t tries = 0; tries < 32 && np < 4; tries++) {
    uint32_t v = (uint32_t)below(&r->g, r->n);
    bool dup = r->crashed[v];
    for (uint32_t i = 0; i < np; i++)
      dup |= pick[i] == v;
    if (!dup)
      pick[np++] = v;
  }
  if (np < 4)
    return;
  uint32_t k = pick[0], x = pick[1], j = pick[2], d = pick[3];
  send_now(r, k, x);
  do_send(r, x, d);
  send_now(r, x, j);
  send_now(r, j, d);
  if (chance(&r->g, 0.5))
    crash(r, x, 1.0);
}

static void do_retire(run *r) {
  uint32_t at = (uint32_t)below(&r->g, r->n);
  uint32_t who = (uint32_t)below(&r->g, r->n + NGHOSTS); /* self: INVAL */
  char what[64];
  snprintf(what, sizeof what, "retire %s at %s", r->names[who], r->names[at]);
  uint64_t mono = r->now * 1000;
  int ra = p2pc_causal_retire(r->orig[at], r->names[who], mono);
  int rb = lses_causal_retire(r->copy[at], r->names[who], mono);
  if (strstr(sb_str(&r->log[SIDE_ORIG]), " DELIVER "))
    r->t.retire_releases++;
  compare_call(r, what, ra, rb);
  if (ra == 0)
    r->t.retires++;
}

static void do_op(run *r) {
  uint32_t src = (uint32_t)below(&r->g, r->n);
  double u = p2pc_rng_unit(&r->g);
  if (r->crashing && u < 0.02) {
    do_crash(r);
  } else if (r->crashing && u < 0.06) {
    do_chain(r);
  } else if (r->crashed[src]) {
    do_drain(r, src); /* a crashed node sends nothing */
  } else if (r->retiring && u < 0.03) {
    do_retire(r);
  } else if (u < 0.07) {
    do_horizon(r);
  } else if (u < 0.09) {
    do_drain(r, src);
  } else if (u < 0.12) {
    do_send(r, src, src);
  } else if (u < 0.20) {
    for (uint32_t d = 0; d < r->n && !r->fail[0]; d++)
      if (d != src)
        do_send(r, src, d);
  } else if (u < 0.22) {
    do_send(r, src, r->n + (uint32_t)below(&r->g, NGHOSTS)); /* a ghost */
  } else {
    uint32_t dst = (uint32_t)below(&r->g, r->n - 1);
    do_send(r, src, dst >= src ? dst + 1 : dst);
  }
}

/* ---- the final states ---------------------------------------------------- */

static void compare_states(run *r) {
  for (uint32_t i = 0; i < r->n && !r->fail[0]; i++) {
    const p2pc_causal *a = r->orig[i];
    const lses_causal *b = r->copy[i];
    p2pc_causal_stats sa;
    lses_causal_stats sbs;
    p2pc_causal_get_stats(a, &sa);
    lses_causal_get_stats(b, &sbs);
    const uint64_t va[] = {sa.sent,      sa.received,     sa.delivered,
                           sa.buffered,  sa.duplicates,   sa.rejected_full,
                           sa.malformed, sa.pruned_pairs, sa.dropped_retired,
                           sa.horizons};
    const uint64_t vb[] = {sbs.sent,      sbs.received,     sbs.delivered,
                           sbs.buffered,  sbs.duplicates,   sbs.rejected_full,
                           sbs.malformed, sbs.pruned_pairs, sbs.dropped_retired,
                           sbs.horizons};
    for (size_t k = 0; k < sizeof va / sizeof va[0]; k++)
      if (va[k] != vb[k])
        fail(r,
             "%s: statistic #%zu is %" PRIu64 " in the original, %" PRIu64
             " in the copy",
             r->names[i], k, va[k], vb[k]);
    if (p2pc_causal_buffered(a) != lses_causal_buffered(b) ||
        p2pc_causal_sent(a) != lses_causal_sent(b) ||
        p2pc_causal_pairs(a) != lses_causal_pairs(b) ||
        strcmp(p2pc_causal_self(a), lses_causal_self(b)) != 0)
      fail(r, "%s: buffered/sent/pairs/self differ", r->names[i]);
    sb ca = {0}, cb = {0};
    PUT_VC(&ca, p2pc_causal_clock(a));
    PUT_VC(&cb, lses_causal_clock(b));
    if (!sb_eq(&ca, &cb))
      fail(r, "%s: clocks differ: %s vs %s", r->names[i], sb_str(&ca),
           sb_str(&cb));
    free(ca.p);
    free(cb.p);
    for (uint32_t id = 0; id < 64; id++) {
      const char *x = p2pc_causal_id_name(a, id),
                 *y = lses_causal_id_name(b, id);
      if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0)) {
        fail(r, "%s: id %" PRIu32 " is %s in the original, %s in the copy",
             r->names[i], id, x ? x : "(none)", y ? y : "(none)");
        break;
      }
      if (!x)
        break;
    }
    for (uint32_t k = 0; k < r->n + NGHOSTS; k++) {
      if (p2pc_causal_is_retired(a, r->names[k]) !=
          lses_causal_is_retired(b, r->names[k]))
        fail(r, "%s: is_retired(%s) differs", r->names[i], r->names[k]);
      uint64_t d1 = 0, s1 = 0, d2 = 0, s2 = 0;
      int r1 = p2pc_causal_horizon(a, r->names[k], &d1, &s1);
      int r2 = lses_causal_horizon(b, r->names[k], &d2, &s2);
      if (r1 != r2 || d1 != d2 || s1 != s2)
        fail(r, "%s: horizon for %s differs", r->names[i], r->names[k]);
    }
  }
}

/* ---- one schedule -------------------------------------------------------- */

static void run_free(run *r) {
  for (uint32_t i = 0; i < MAX_NODES; i++) {
    p2pc_causal_free(r->orig[i]);
    lses_causal_free(r->copy[i]);
  }
  for (int s = 0; s < 2; s++) {
    free(r->log[s].p);
    p2pc_buf_fini(&r->out[s]);
  }
  free(r->msgs);
  free(r->pool);
  free(r->bag);
  totals t = r->t;
  memset(r, 0, sizeof *r);
  r->t = t;
}

/* Runs schedule seed; true if both sides agreed throughout. With mutate,
 * the copy runs with pruning switched the other way (the self-test). */
static bool run_schedule(run *r, uint64_t seed, bool trace, bool mutate) {
  totals keep = r->t;
  memset(r, 0, sizeof *r);
  r->t = keep;
  r->seed = seed;
  r->trace = trace;
  r->mutate = mutate;
  p2pc_rng_seed(&r->g, seed, 0);
  r->n = 2 + (uint32_t)below(&r->g, MAX_NODES - 1);
  r->ops = 20 + (uint32_t)below(&r->g, 131);
  r->no_prune = chance(&r->g, 0.3);
  r->max_buffered = chance(&r->g, 0.25) ? 1 + (uint32_t)below(&r->g, 4) : 0;
  r->max_nodes = chance(&r->g, 0.08) ? 1 + (uint32_t)below(&r->g, r->n) : 0;
  r->faults = chance(&r->g, 0.1) ? 1 + (uint32_t)below(&r->g, 7) : 0;
  r->oom = chance(&r->g, 0.15);
  r->retiring = chance(&r->g, 0.3);
  r->crashing = chance(&r->g, 0.25);
  /* Above 0.5, messages pile up in flight: long overtakes, deep buffers. */
  r->pop = (const double[]){0.35, 0.55, 0.75}[below(&r->g, 3)];
  r->pdup = chance(&r->g, 0.5) ? 0.1 : 0.02;
  r->pcorrupt = chance(&r->g, 0.3) ? 0.03 : 0;
  r->pwrong = 0.01;
  r->pnull = 0.1;
  double pfail = r->oom ? 0.005 + 0.06 * p2pc_rng_unit(&r->g) : 0;
  for (uint32_t i = 0; i < r->n; i++)
    snprintf(r->names[i], sizeof r->names[i], "n%" PRIu32, i);
  /* The ghosts (a node's previous incarnations, say) come after them. */
  for (uint32_t k = 0; k < NGHOSTS; k++)
    snprintf(r->names[r->n + k], sizeof r->names[0], "g%" PRIu32 "~old", k);
  if (trace)
    printf("schedule seed=%" PRIu64 " nodes=%" PRIu32 " ops=%" PRIu32
           " no_prune=%d max_buffered=%" PRIu32 " max_nodes=%" PRIu32
           " faults=%" PRIu32 " oom=%d retiring=%d crashing=%d\n",
           seed, r->n, r->ops, (int)r->no_prune, r->max_buffered, r->max_nodes,
           r->faults, (int)r->oom, (int)r->retiring, (int)r->crashing);

  for (int s = 0; s < 2; s++)
    p2pc_buf_init(&r->out[s], p2pc_allocator_default(), OUT_MAX);
  p2pc_causal_config ca = {.max_buffered = r->max_buffered,
                           .max_nodes = r->max_nodes,
                           .no_prune = r->no_prune,
                           .faults = r->faults};
  lses_causal_config cb = {.max_buffered = r->max_buffered,
                           .max_nodes = r->max_nodes,
                           .no_prune = mutate ? !r->no_prune : r->no_prune,
                           .faults = r->faults};
  for (uint32_t i = 0; i < r->n; i++) {
    uint64_t aseed = seed ^ (0x9e3779b97f4a7c15ull * (i + 1));
    fa_init(&r->fa_orig[i], aseed, pfail);
    fa_init(&r->fa_copy[i], aseed, pfail);
    r->cx[SIDE_ORIG][i] = (ctx){r, i, SIDE_ORIG};
    r->cx[SIDE_COPY][i] = (ctx){r, i, SIDE_COPY};
    int ra = p2pc_causal_new(&r->orig[i], r->names[i], &ca, &r->fa_orig[i].a,
                             on_orig, &r->cx[SIDE_ORIG][i]);
    int rb = lses_causal_new(&r->copy[i], r->names[i], &cb, &r->fa_copy[i].a,
                             on_copy, &r->cx[SIDE_COPY][i]);
    if (ra || rb) {
      fail(r, "creating %s: %s / %s", r->names[i], p2pc_strerror(ra),
           p2pc_strerror(rb));
      return false;
    }
    r->fa_orig[i].armed = r->fa_copy[i].armed = true;
  }

  r->ops_left = r->ops;
  while ((r->ops_left || r->nbag) && !r->fail[0] && r->step < STEP_LIMIT) {
    r->step++;
    r->now += below(&r->g, 20);
    if (r->ops_left && (!r->nbag || chance(&r->g, r->pop))) {
      r->ops_left--;
      do_op(r);
    } else {
      do_arrival(r);
    }
  }
  /* After a crash, a last round of horizons (traffic has stopped). */
  for (uint32_t a = 0; a < r->n && r->crashing; a++)
    for (uint32_t b = 0; b < r->n && !r->fail[0]; b++)
      if (a != b && !r->crashed[a] && !r->crashed[b])
        horizon_pair(r, a, b, false);
  /* Whatever an allocation failure left pending, then the final states. */
  for (uint32_t i = 0; i < r->n && !r->fail[0]; i++) {
    r->fa_orig[i].armed = r->fa_copy[i].armed = false;
    do_drain(r, i);
  }
  if (!r->fail[0])
    compare_states(r);
  for (uint32_t i = 0; i < r->n && !r->fail[0]; i++)
    if (r->fa_orig[i].fails != r->fa_copy[i].fails)
      fail(r,
           "%s: %" PRIu64 " allocations failed in the original, %" PRIu64
           " in the copy",
           r->names[i], r->fa_orig[i].fails, r->fa_copy[i].fails);
  r->t.schedules++;
  return !r->fail[0];
}

/* ---- main ---------------------------------------------------------------- */

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

static int usage(void) {
  fprintf(stderr, "usage: legacy_equiv [--schedules K] [--seed BASE] "
                  "[--trace]\n  env P2PC_SEED=<u64> replays one schedule\n");
  return 2;
}

int main(int argc, char **argv) {
  uint64_t count = 1000, base = DEFAULT_BASE, replay = 0;
  bool trace = false, have_replay = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--schedules") == 0 && i + 1 < argc) {
      if (!parse_u64(argv[++i], &count) || count == 0 || count > 1000000)
        return usage();
    } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      if (!parse_u64(argv[++i], &base))
        return usage();
    } else if (strcmp(argv[i], "--trace") == 0) {
      trace = true;
    } else {
      return usage();
    }
  }
  const char *env = getenv("P2PC_SEED");
  if (env && *env) {
    if (!parse_u64(env, &replay)) {
      fprintf(stderr, "legacy_equiv: bad P2PC_SEED \"%s\"\n", env);
      return 2;
    }
    have_replay = true;
  }
  static run r;

  /* Self-test: the comparison must see a copy that prunes differently. */
  bool caught = false;
  for (uint64_t i = 0; i < 64 && !caught; i++) {
    uint64_t seed = schedule_seed(base ^ 0x5e1f7e57ull, i);
    caught = !run_schedule(&r, seed, false, true);
    if (caught)
      printf("legacy_equiv: self-test: pruning switched in the copy is "
             "caught in schedule %" PRIu64 ": %.*s\n",
             i, (int)strcspn(r.fail, "\n"), r.fail);
    run_free(&r);
  }
  if (!caught) {
    printf("legacy_equiv: FAIL: self-test: a copy with pruning switched was "
           "not told apart in 64 schedules\n");
    return 1;
  }
  memset(&r.t, 0, sizeof r.t);

  if (have_replay)
    count = 1;
  printf("legacy_equiv: base seed %" PRIu64 ", %" PRIu64 " schedules\n", base,
         count);
  for (uint64_t i = 0; i < count; i++) {
    uint64_t seed = have_replay ? replay : schedule_seed(base, i);
    if (!run_schedule(&r, seed, trace, false)) {
      printf("legacy_equiv: FAIL in schedule %" PRIu64 " (seed %" PRIu64
             ", step %" PRIu64 "): %s\n  replay: P2PC_SEED=%" PRIu64
             " legacy_equiv --trace\n",
             i, seed, r.step, r.fail, seed);
      run_free(&r);
      return 1;
    }
    run_free(&r);
  }
  const totals *t = &r.t;
  printf("legacy_equiv: %" PRIu64 " schedules, %" PRIu64
         " calls compared, all alike: %" PRIu64 " sends, %" PRIu64
         " deliveries, %" PRIu64 " buffered, %" PRIu64 " duplicates, %" PRIu64
         " drops (retired), %" PRIu64 " retirements (%" PRIu64
         " released messages), %" PRIu64 " horizons taken (%" PRIu64
         " released messages), %" PRIu64
         " drains that delivered; refusals: %" PRIu64 " FULL, %" PRIu64
         " NOMEM, %" PRIu64 " PROTO, %" PRIu64 " TOOBIG, %" PRIu64 " INVAL\n",
         t->schedules, t->calls, t->sends, t->delivers, t->buffers, t->dups,
         t->drops, t->retires, t->retire_releases, t->horizons_taken,
         t->horizon_releases, t->drains_with_events, t->full, t->nomem,
         t->proto, t->toobig, t->inval);
  if (!have_replay && count >= 500 &&
      (!t->sends || !t->delivers || !t->buffers || !t->dups || !t->drops ||
       !t->retires || !t->retire_releases || !t->horizons_taken ||
       !t->horizon_releases || !t->drains_with_events || !t->full ||
       !t->nomem || !t->proto || !t->toobig || !t->inval)) {
    printf("legacy_equiv: FAIL: some outcome never occurred, so its "
           "comparison was vacuous\n");
    return 1;
  }
  return 0;
}
