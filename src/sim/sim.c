/* SPDX-License-Identifier: MIT */
/*
 * The simulator's engine: an event heap over virtual time driving real
 * p2pc_node cores. See sim.h.
 */
#define _GNU_SOURCE /* getrusage's ru_maxrss is POSIX; clock_gettime too */
#include "sim.h"

#include "evcheck.h"
#include "evlog.h"
#include "node.h"
#include "ntp.h"
#include "rng.h"
#include "simmem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define SEC P2PC_SIM_SEC
#define MS 1000000ull
#define US 1000ull
/* Local clocks count from here (ns since the Unix epoch). */
#define EPOCH 1800000000000000000LL
/* Monotonic clocks start here, so that 0 never means "now". */
#define MONO0 (1000 * SEC)
#define RETRY_NS (100 * MS) /* a cut link re-tries its head chunk */
#define STALL_NS (200 * MS) /* a "lost" TCP segment costs a retransmit */

/* ---- PRNG: rng.h's xoshiro256**, one stream per subsystem --------------- */

typedef p2pc_rng rng;

static double rng_exp(rng *r, double mean) {
  return -mean * log(1.0 - p2pc_rng_unit(r));
}

static double rng_normal(rng *r) { /* Box-Muller, one of the pair */
  double u = p2pc_rng_unit(r), v = p2pc_rng_unit(r);
  return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

enum { R_NET, R_CLOCK, R_TRAFFIC, R_NODES, R_TOPO, R_NSTREAMS };

_Static_assert(P2PC_SIM_LIFETIME_INF == P2PC_CAUSAL_LIFETIME_INF,
               "sim.h's infinite lifetime is the causal core's");

/* ---- histograms (sim.h: P2PC_SIM_META_HIST_*) ---------------------------
 * Fixed bins, so that a run of any length measures its messages in the
 * same bounded memory: nbins exact bins `width` wide, then one for
 * everything above, whose largest value is `max`. */

typedef struct hist {
  uint64_t *bins; /* nbins + 1 */
  uint32_t nbins, width;
  uint64_t n, sum, max;
} hist;

static void hist_add(hist *h, uint64_t v) {
  uint64_t b = v / h->width;
  h->bins[b < h->nbins ? b : h->nbins]++;
  h->n++;
  h->sum += v;
  if (v > h->max)
    h->max = v;
}

static void hist_clear(hist *h) {
  if (h->n)
    memset(h->bins, 0, ((size_t)h->nbins + 1) * sizeof *h->bins);
  h->n = h->sum = h->max = 0;
}

/* The p99 by nearest rank: the top of the bin that holds the
 * ceil(0.99 n)-th smallest value, or the maximum if that is lower or the
 * value is in the last bin. 0 if empty. */
static uint64_t hist_p99(const hist *h) {
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

static double hist_mean(const hist *h) {
  return h->n ? (double)h->sum / (double)h->n : 0;
}

#define META_BINS (P2PC_SIM_META_HIST_MAX / P2PC_SIM_META_HIST_BIN)
#define DEPS_BINS P2PC_SIM_DEPS_HIST_MAX
/* The four histograms' bins, in one block. */
#define HIST_SLOTS (2 * (META_BINS + 1) + 2 * (DEPS_BINS + 1))

/* ---- events ---------------------------------------------------------------
 */

typedef enum evk {
  E_TIMER,   /* a: node */
  E_TCP,     /* a: conn, b: direction (0: a->b) */
  E_DIAL,    /* a: node, b: target, p: the action */
  E_DGRAM,   /* a: to, b: from, p: the datagram */
  E_SCEN,    /* a: index into cfg.events */
  E_TRAFFIC, /* a: node */
  E_SECOND,  /* the oracles' tick */
  E_WANDER   /* clock wander tick, all nodes */
} evk;

typedef struct ev {
  uint64_t t, seq;
  uint32_t kind, a, b, gen;
  void *p;
} ev;

/* ---- network --------------------------------------------------------------
 */

typedef struct chunk {
  struct chunk *next;
  uint64_t ready; /* arrival time at the far end */
  uint32_t len;   /* 0: FIN (the far end sees the connection close) */
  uint8_t data[];
} chunk;

typedef struct dir {
  chunk *head, *tail;
  uint64_t busy_until;  /* serialization on the sender's side */
  uint64_t last_arrive; /* FIFO: no chunk overtakes another */
  bool scheduled;
} dir;

typedef struct conn {
  uint32_t end[2];      /* node indices: end[0] dialed end[1] */
  p2pc_link_id link[2]; /* each end's link id */
  bool open[2];         /* that end still has its link */
  dir d[2];             /* d[0]: end[0] -> end[1] */
  uint32_t gen[2];      /* incarnation of each end when opened */
  bool slow;            /* CLUSTERS: crosses clusters */
} conn;

typedef struct clk {
  uint64_t t0; /* true time of the segment's start */
  double off0; /* local − true at t0, ns */
  double rate; /* drift, dimensionless */
  double wander, noise, gran;
} clk;

typedef struct snode {
  p2pc_node *n;
  bool alive;
  uint32_t gen; /* incarnations so far */
  char id[16];
  clk c;
  uint64_t timer_at; /* the pending E_TIMER's time, UINT64_MAX: none */
  uint32_t *conn_of; /* link id -> conn index + 1 (0: none) */
  uint32_t nlinks;
  double slow; /* handling delay factor (1 = normal) */
  uint32_t cluster;
  uint64_t sent, delivered;
  bool ever_started;
} snode;

typedef struct cut {
  uint32_t a0, a1, b0, b1;
} cut;

struct p2pc_sim {
  p2pc_sim_config cfg;
  p2pc_simmem mem; /* every block of the nodes and the simulator */
  uint64_t starts; /* incarnations started, for the oracle's estimate */
  rng r[R_NSTREAMS];
  uint64_t now, seq;
  ev *heap;
  size_t nheap, capheap;
  snode *nodes;
  conn *conns;
  uint32_t nconns, capconns;
  uint32_t *freeconns;
  uint32_t nfree;
  cut cuts[64];
  uint32_t ncuts;
  p2pc_sim_link link;
  /* per second */
  p2pc_sim_second cur;
  uint64_t sec_sent, sec_deliv, sec_bytes, sec_expired;
  uint64_t events_at_sec;
  /* causal metadata of the messages sent: this second, and the run */
  hist meta_sec, meta_run, deps_sec, deps_run;
  /* results */
  p2pc_sim_result res;
  uint64_t conv_from; /* spread < 100 us since this second (0: not) */
  bool conv_held;
  uint32_t cur_node; /* the node whose callback is running */
  /* the causal oracle (NULL: off) */
  p2pc_evcheck *oracle;
  uint64_t oracle_settle_ns; /* sends from then on may stay in flight */
  bool oracle_settling;
  char oracle_err[256];    /* its first input error */
  const char *oracle_dump; /* P2PC_SIM_EVENTS_DIR */
};

/* ---- memory ---------------------------------------------------------------
 */

/* The simulator's own blocks, counted with the nodes' (simmem.h). The
 * simulator has no way to go on without them, so a refusal ends the
 * process, saying so: the budget is what keeps a run below that. */
static void *xgot(p2pc_sim *s, void *p) {
  if (!p) {
    fprintf(stderr,
            "p2pclock sim: out of memory at virtual t=%.1f s, holding %llu "
            "MiB: the machine gives less; a lower --mem-limit stops a run "
            "cleanly before that\n",
            (double)s->now / 1e9, (unsigned long long)(s->mem.live >> 20));
    abort();
  }
  return p;
}

static void *xrealloc(p2pc_sim *s, void *p, size_t n) {
  return xgot(s, p2pc_simmem_realloc(&s->mem, p, n ? n : 1));
}

static void *xcalloc(p2pc_sim *s, size_t count, size_t size) {
  return xgot(s, p2pc_simmem_calloc(&s->mem, count, size));
}

static void xfree(p2pc_sim *s, void *p) { p2pc_simmem_free(&s->mem, p); }

/* ---- heap ---------------------------------------------------------------- */

static bool ev_less(const ev *x, const ev *y) {
  return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

static void push(p2pc_sim *s, uint64_t t, evk kind, uint32_t a, uint32_t b,
                 void *p) {
  if (s->nheap == s->capheap) {
    size_t cap = s->capheap ? 2 * s->capheap : 1024;
    s->heap = xrealloc(s, s->heap, cap * sizeof *s->heap);
    s->capheap = cap;
  }
  ev e = {.t = t < s->now ? s->now : t,
          .seq = s->seq++,
          .kind = kind,
          .a = a,
          .b = b,
          .p = p};
  if (kind == E_TIMER || kind == E_TRAFFIC)
    e.gen = s->nodes[a].gen;
  size_t i = s->nheap++;
  while (i > 0) {
    size_t up = (i - 1) / 2;
    if (!ev_less(&e, &s->heap[up]))
      break;
    s->heap[i] = s->heap[up];
    i = up;
  }
  s->heap[i] = e;
}

static ev pop(p2pc_sim *s) {
  ev top = s->heap[0], last = s->heap[--s->nheap];
  size_t i = 0, n = s->nheap;
  for (;;) {
    size_t l = 2 * i + 1, m = i;
    const ev *best = &last;
    if (l < n && ev_less(&s->heap[l], best)) {
      m = l;
      best = &s->heap[l];
    }
    if (l + 1 < n && ev_less(&s->heap[l + 1], best))
      m = l + 1;
    if (m == i)
      break;
    s->heap[i] = s->heap[m];
    i = m;
  }
  if (n)
    s->heap[i] = last;
  return top;
}

/* ---- clocks ---------------------------------------------------------------
 */

static double clk_off(const clk *c, uint64_t t) {
  return c->off0 + c->rate * (double)(t - c->t0);
}

/* A reading of node i's local clock at true time t. */
static int64_t local_at(p2pc_sim *s, uint32_t i, uint64_t t) {
  clk *c = &s->nodes[i].c;
  double v = (double)t + clk_off(c, t);
  if (c->noise > 0)
    v += (2 * p2pc_rng_unit(&s->r[R_CLOCK]) - 1) * c->noise;
  int64_t l = EPOCH + (int64_t)llround(v);
  if (c->gran > 1)
    l -= l % (int64_t)c->gran;
  return l;
}

static void clk_rebase(clk *c, uint64_t t) {
  c->off0 = clk_off(c, t);
  c->t0 = t;
}

static p2pc_now now_of(p2pc_sim *s, uint32_t i) {
  p2pc_now n = {.mono_ns = MONO0 + s->now, .local_ns = local_at(s, i, s->now)};
  return n;
}

/* ---- addresses ------------------------------------------------------------
 */

static p2pc_wire_addr addr_of(uint32_t i) {
  p2pc_wire_addr a = {
      .family = 4,
      .addr = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i},
      .port = 9000};
  return a;
}

static int64_t node_at(const p2pc_sim *s, const p2pc_wire_addr *a) {
  if (a->family != 4 || a->addr[0] != 10 || a->port != 9000)
    return -1;
  uint32_t i =
      (uint32_t)a->addr[1] << 16 | (uint32_t)a->addr[2] << 8 | a->addr[3];
  return i < s->cfg.nodes ? (int64_t)i : -1;
}

static bool blocked(const p2pc_sim *s, uint32_t i, uint32_t j) {
  for (uint32_t k = 0; k < s->ncuts; k++) {
    const cut *c = &s->cuts[k];
    bool ia = i >= c->a0 && i < c->a1, ib = i >= c->b0 && i < c->b1;
    bool ja = j >= c->a0 && j < c->a1, jb = j >= c->b0 && j < c->b1;
    if ((ia && jb) || (ib && ja))
      return true;
  }
  return false;
}

static const p2pc_sim_link *link_model(const p2pc_sim *s, uint32_t i,
                                       uint32_t j) {
  if (s->cfg.topology == P2PC_SIM_CLUSTERS &&
      s->nodes[i].cluster != s->nodes[j].cluster)
    return &s->cfg.slow_link;
  return &s->link;
}

/* One-way delay i -> j for a packet now. */
static uint64_t one_way(p2pc_sim *s, uint32_t i, uint32_t j) {
  const p2pc_sim_link *m = link_model(s, i, j);
  double base = (double)m->delay_ns * (i < j ? 1 + m->asym : 1 - m->asym);
  double jit = 0;
  if (m->jitter_ns) {
    jit = rng_exp(&s->r[R_NET], (double)m->jitter_ns);
    if (m->heavy > 0 && p2pc_rng_unit(&s->r[R_NET]) < m->heavy)
      jit *= 10 / pow(1 - p2pc_rng_unit(&s->r[R_NET]), 0.5);
  }
  double d = base + jit;
  return d < 1000 ? 1000 : (uint64_t)d;
}

/* ---- driving a node: everything the runtime does after an entry point ---- */

static void flush_node(p2pc_sim *s, uint32_t i);

static conn *conn_get(p2pc_sim *s, uint32_t i, p2pc_link_id l, int *side) {
  snode *x = &s->nodes[i];
  if (l >= x->nlinks || !x->conn_of[l])
    return NULL;
  conn *c = &s->conns[x->conn_of[l] - 1];
  *side = c->end[0] == i && c->link[0] == l && c->open[0] ? 0 : 1;
  return c;
}

static void dir_schedule(p2pc_sim *s, uint32_t ci, int d) {
  dir *q = &s->conns[ci].d[d];
  if (q->scheduled || !q->head)
    return;
  q->scheduled = true;
  push(s, q->head->ready, E_TCP, ci, (uint32_t)d, NULL);
}

static void dir_append(p2pc_sim *s, uint32_t ci, int d, const uint8_t *p,
                       size_t len) {
  conn *c = &s->conns[ci];
  dir *q = &c->d[d];
  uint32_t from = c->end[d], to = c->end[1 - d];
  const p2pc_sim_link *m = link_model(s, from, to);
  chunk *k = xrealloc(s, NULL, sizeof *k + len);
  k->next = NULL;
  k->len = (uint32_t)len;
  if (len)
    memcpy(k->data, p, len);
  uint64_t start = s->now > q->busy_until ? s->now : q->busy_until;
  if (m->bandwidth_bps > 0)
    start += (uint64_t)((double)len * 8e9 / m->bandwidth_bps);
  q->busy_until = start;
  uint64_t at = start + one_way(s, from, to);
  if (m->loss > 0 && p2pc_rng_unit(&s->r[R_NET]) < m->loss)
    at += STALL_NS; /* TCP recovers a lost segment late, never out of order */
  if (at < q->last_arrive)
    at = q->last_arrive;
  q->last_arrive = at;
  k->ready = at;
  if (q->tail)
    q->tail->next = k;
  else
    q->head = k;
  q->tail = k;
  s->sec_bytes += len;
  dir_schedule(s, ci, d);
}

static void dir_clear(p2pc_sim *s, dir *q) {
  for (chunk *k = q->head, *nx; k; k = nx) {
    nx = k->next;
    xfree(s, k);
  }
  q->head = q->tail = NULL;
}

static void conn_release(p2pc_sim *s, uint32_t ci) {
  conn *c = &s->conns[ci];
  if (c->open[0] || c->open[1] || c->d[0].scheduled || c->d[1].scheduled)
    return;
  dir_clear(s, &c->d[0]);
  dir_clear(s, &c->d[1]);
  c->end[0] = c->end[1] = UINT32_MAX;
  s->freeconns[s->nfree++] = ci;
}

/* End `side` of conn ci loses its link (it closed it, or it died). */
static void conn_drop_end(p2pc_sim *s, uint32_t ci, int side) {
  conn *c = &s->conns[ci];
  if (!c->open[side])
    return;
  c->open[side] = false;
  snode *x = &s->nodes[c->end[side]];
  if (c->link[side] < x->nlinks)
    x->conn_of[c->link[side]] = 0;
}

static void do_actions(p2pc_sim *s, uint32_t i) {
  snode *x = &s->nodes[i];
  p2pc_action a;
  while (x->alive && p2pc_node_pop_action(x->n, &a)) {
    if (a.kind == P2PC_ACT_DIAL) {
      p2pc_action *cp = xrealloc(s, NULL, sizeof *cp);
      *cp = a;
      int64_t t = node_at(s, &a.addr);
      uint64_t rtt = t >= 0 ? 2 * one_way(s, i, (uint32_t)t) : 1 * MS;
      push(s, s->now + rtt, E_DIAL, i, t >= 0 ? (uint32_t)t : UINT32_MAX, cp);
    } else {
      int side;
      conn *c = conn_get(s, i, a.link, &side);
      if (!c) {
        p2pc_node_link_closed(x->n, a.link, now_of(s, i));
        continue;
      }
      uint32_t ci = (uint32_t)(c - s->conns);
      /* write what is pending, then the FIN */
      const uint8_t *p;
      size_t len;
      p2pc_node_link_output(x->n, a.link, &p, &len);
      if (len) {
        dir_append(s, ci, side, p, len);
        p2pc_node_link_consume(x->n, a.link, len);
      }
      dir_append(s, ci, side, NULL, 0);
      p2pc_link_id l = a.link;
      conn_drop_end(s, ci, side);
      p2pc_node_link_closed(x->n, l, now_of(s, i));
    }
  }
}

static void flush_links(p2pc_sim *s, uint32_t i) {
  snode *x = &s->nodes[i];
  uint32_t span = p2pc_node_link_span(x->n);
  for (uint32_t l = 0; l < span && l < x->nlinks && x->alive; l++) {
    if (!x->conn_of[l])
      continue;
    const uint8_t *p;
    size_t len;
    p2pc_node_link_output(x->n, l, &p, &len);
    if (!len)
      continue;
    int side;
    conn *c = conn_get(s, i, l, &side);
    dir_append(s, (uint32_t)(c - s->conns), side, p, len);
    p2pc_node_link_consume(x->n, l, len);
  }
}

static void flush_dgrams(p2pc_sim *s, uint32_t i) {
  snode *x = &s->nodes[i];
  p2pc_datagram d;
  while (x->alive && p2pc_node_pop_datagram(x->n, &d)) {
    int64_t tx = local_at(s, i, s->now);
    if (d.stamp_xmt) {
      uint64_t v = p2pc_ntp_ts_from_ns(tx + d.xmt_corr);
      for (int k = 0; k < 8; k++)
        d.data[P2PC_NTP_XMT_OFFSET + k] = (uint8_t)(v >> (56 - 8 * k));
    }
    if (d.token)
      p2pc_node_time_sent(x->n, d.token, tx, true, now_of(s, i));
    int64_t t = node_at(s, &d.to);
    s->sec_bytes += d.len;
    if (t < 0 || blocked(s, i, (uint32_t)t))
      continue;
    const p2pc_sim_link *m = link_model(s, i, (uint32_t)t);
    if (m->loss > 0 && p2pc_rng_unit(&s->r[R_NET]) < m->loss)
      continue;
    int copies = m->dup > 0 && p2pc_rng_unit(&s->r[R_NET]) < m->dup ? 2 : 1;
    for (int k = 0; k < copies; k++) {
      p2pc_datagram *cp = xrealloc(s, NULL, sizeof *cp);
      *cp = d;
      uint64_t at = s->now + one_way(s, i, (uint32_t)t);
      if (m->reorder > 0 && p2pc_rng_unit(&s->r[R_NET]) < m->reorder)
        at +=
            (uint64_t)(2 * p2pc_rng_unit(&s->r[R_NET]) * (double)m->jitter_ns);
      push(s, at, E_DGRAM, (uint32_t)t, i, cp);
    }
  }
}

static void arm_timer(p2pc_sim *s, uint32_t i) {
  snode *x = &s->nodes[i];
  if (!x->alive)
    return;
  uint64_t d = p2pc_node_next_deadline(x->n);
  if (d == UINT64_MAX)
    return;
  uint64_t t = d > MONO0 ? d - MONO0 : 0;
  if (x->slow > 1 && t > s->now)
    t = s->now + (uint64_t)((double)(t - s->now) * x->slow);
  if (t < s->now)
    t = s->now;
  if (x->timer_at != UINT64_MAX && x->timer_at <= t)
    return; /* an earlier wake-up is pending; it re-arms */
  x->timer_at = t;
  push(s, t, E_TIMER, i, 0, NULL);
}

static void flush_node(p2pc_sim *s, uint32_t i) {
  do_actions(s, i); /* closes write their link's output first */
  flush_links(s, i);
  flush_dgrams(s, i);
  arm_timer(s, i);
}

/* ---- node lifecycle -------------------------------------------------------
 */

/*
 * The causal oracle: every node's event lines go to the checker of
 * src/check/evcheck.h (the verdict of `p2pclock check`, same code) as they
 * are written, one stream per node index across its restarts, in true
 * global order. The runtime, not the core, writes the `start` and `stop`
 * lines that delimit incarnations (src/io/runtime.c), so the simulator
 * writes them: `start` when a node starts, `stop` when it leaves cleanly,
 * none when it crashes. The end of the run counts as a clean stop of every
 * node still up, so what was sent to them must have been delivered, except
 * what was sent in the last ORACLE_SETTLE_NS of the run, or since (1 s
 * before) a partition not healed by then: that may still be in flight.
 */
#define ORACLE_SETTLE_NS (10 * SEC)
/* The checker keeps a vector per message: past this many incarnations x
 * messages (512 MiB of vectors), it gives up rather than swap. */
#define ORACLE_MAX_CELLS ((uint64_t)1 << 27)
/*
 * The oracle allocates with libc, out of the account's sight (simmem.h),
 * so the budget charges it by estimate, from its structures (in
 * src/check: evcheck_internal.h, checker.c). Per message: its
 * records while the run goes on (a message record, a send and a delivery
 * record, a hash slot) and, for the verdict at the end, the checker's
 * copy (message info, held records, per-stream lists) and the vector it
 * keeps of each send, 4 bytes an incarnation; per pair of incarnations,
 * the checker's clocks. Arrays that grow by doubling are counted at twice
 * their use. Past ORACLE_MAX_CELLS the oracle drops its records and
 * gives up: nothing then.
 */
#define ORACLE_MSG_BYTES 512
#define ORACLE_CELL_BYTES 8

static uint64_t oracle_bytes(const p2pc_sim *s) {
  uint64_t m = s->res.msgs_sent, n = s->starts;
  if (!s->oracle || m * n > ORACLE_MAX_CELLS)
    return 0;
  return m * (ORACLE_MSG_BYTES + ORACLE_CELL_BYTES * n) + 4 * n * n;
}

/* What the run holds now, as the budget counts it, into the result. */
static uint64_t measure(p2pc_sim *s) {
  uint64_t o = oracle_bytes(s), now = s->mem.live + o;
  s->res.mem_now = now;
  if (now > s->res.mem_peak) {
    s->res.mem_peak = now;
    s->res.mem_oracle = o;
  }
  return now;
}

static void oracle_diag(void *ud, bool warning, const char *text) {
  p2pc_sim *s = ud;
  if (!warning && !s->oracle_err[0])
    snprintf(s->oracle_err, sizeof s->oracle_err, "oracle input: %s", text);
}

/* When the oracle's settle mark falls (see above). */
static uint64_t oracle_settle_at(const p2pc_sim_config *cfg) {
  uint64_t at = cfg->duration_ns > ORACLE_SETTLE_NS
                    ? cfg->duration_ns - ORACLE_SETTLE_NS
                    : 0;
  for (uint32_t k = 0; k < cfg->nevents; k++) {
    const p2pc_sim_event *e = &cfg->events[k];
    if (e->kind != P2PC_SIM_EV_PARTITION || e->at_ns >= at)
      continue;
    bool healed = false; /* by a heal after it (events run in index order
                            at equal times) and before the mark */
    for (uint32_t j = 0; j < cfg->nevents && !healed; j++) {
      const p2pc_sim_event *h = &cfg->events[j];
      healed = h->kind == P2PC_SIM_EV_HEAL && h->at_ns <= at &&
               (h->at_ns > e->at_ns || (h->at_ns == e->at_ns && j > k));
    }
    if (!healed)
      at = e->at_ns > SEC ? e->at_ns - SEC : 0;
  }
  return at;
}

/* Debugging: P2PC_SIM_EVENTS_DIR=D also writes node i's stream to
 * D/n<i>.jsonl (for `p2pclock check`). */
static void oracle_feed(p2pc_sim *s, uint32_t i, const char *line, size_t len) {
  p2pc_evcheck_line(s->oracle, i, line, len);
  if (!s->oracle_dump)
    return;
  char path[512];
  snprintf(path, sizeof path, "%s/%s.jsonl", s->oracle_dump, s->nodes[i].id);
  FILE *f = fopen(path, "a");
  if (f) {
    fwrite(line, 1, len, f);
    fputc('\n', f);
    fclose(f);
  }
}

/* A `start` or `stop` line of node i, as the runtime writes them. */
static void oracle_lifecycle(p2pc_sim *s, uint32_t i, const char *what) {
  if (!s->oracle)
    return;
  snode *x = &s->nodes[i];
  /* The local clock without its read noise: the oracle draws no random
   * numbers, so that it leaves the run as it is. */
  const clk *c = &x->c;
  int64_t local = EPOCH + (int64_t)llround((double)s->now + clk_off(c, s->now));
  if (c->gran > 1)
    local -= local % (int64_t)c->gran;
  int64_t net = p2pc_node_network_time(x->n, local);
  char cfg[160] = "";
  if (strcmp(what, "start") == 0) {
    /* Δ, as the runtime writes it (evlog.h) */
    p2pc_buf life;
    p2pc_buf_init(&life, p2pc_allocator_default(), 64);
    if (p2pc_evlog_lifetime(&life,
                            p2pc_causal_lifetime(p2pc_node_causal(x->n))) != 0)
      life.len = 0;
    snprintf(cfg, sizeof cfg,
             "%.*s,\"config\":{\"sim\":{\"node\":%u,\"seed\":\"%llu\"}}",
             (int)life.len, life.data ? (const char *)life.data : "", i,
             (unsigned long long)s->cfg.seed);
    p2pc_buf_fini(&life);
  }
  char line[512];
  int n = snprintf(
      line, sizeof line,
      "{\"node\":\"%s\",\"ev\":\"%s\",\"mono\":%llu,\"local\":%lld,"
      "\"net\":%lld,\"sesid\":\"%s\",\"version\":\"%s\"%s}",
      x->id, what, (unsigned long long)(MONO0 + s->now),
      (long long)(local > 0 ? local : 0), (long long)(net > 0 ? net : 0),
      p2pc_causal_self(p2pc_node_causal(x->n)), P2PC_VERSION_STRING, cfg);
  if (n > 0 && (size_t)n < sizeof line)
    oracle_feed(s, i, line, (size_t)n);
}

/* The verdict, into the results; the oracle is done with. A run that
 * ends at its duration stops its nodes cleanly, so what was sent to them
 * must have been delivered (but for the settle mark); one that memory cut
 * short ends like a crash of every node: what was still in flight is
 * excused, not missing, and only the order of what was delivered is
 * judged. */
static void oracle_finish(p2pc_sim *s, bool clean) {
  for (uint32_t i = 0; i < s->cfg.nodes && clean; i++)
    if (s->nodes[i].alive)
      oracle_lifecycle(s, i, "stop");
  p2pc_evcheck_result r;
  int st = p2pc_evcheck_finish(s->oracle, &r);
  p2pc_sim_result *res = &s->res;
  res->causal_checked = st == P2PC_EVCHECK_CHECKED;
  res->causal_violations = res->missing = 0;
  res->first_violation[0] = '\0';
  if (st == P2PC_EVCHECK_CHECKED) {
    res->missing = r.by_kind[P2PC_EVCHECK_MISSING];
    res->causal_violations = r.violations - res->missing;
    if (r.first)
      snprintf(res->first_violation, sizeof res->first_violation, "%s",
               r.first);
    /* Every delivery to the application is logged, and only those. */
    if (r.deliver_lines != res->msgs_delivered) {
      if (!res->causal_violations++ && !r.first)
        snprintf(res->first_violation, sizeof res->first_violation,
                 "EVENTS: %llu deliveries to the application, %llu "
                 "\"deliver\" lines",
                 (unsigned long long)res->msgs_delivered,
                 (unsigned long long)r.deliver_lines);
    }
  } else if (st == P2PC_EVCHECK_BADINPUT) {
    snprintf(res->first_violation, sizeof res->first_violation, "%s",
             s->oracle_err);
  } else {
    snprintf(res->first_violation, sizeof res->first_violation,
             "oracle: %s (%llu incarnations, %llu messages)",
             st == P2PC_EVCHECK_TOOLARGE ? "too large to check"
             : st == P2PC_EVCHECK_EMPTY  ? "no node started"
                                         : "out of memory",
             (unsigned long long)r.incarnations, (unsigned long long)r.msg_ids);
  }
  if (getenv("P2PC_SIM_ORACLE"))
    fprintf(
        stderr,
        "oracle: status %d, %llu lines, %llu incarnations (%llu "
        "crashed), %llu messages, %llu delivered, excused: %llu "
        "undeliverable, %llu lost with receiver, %llu lost with sender, "
        "%llu unsettled; %llu violations (%llu missing)%s%s\n",
        st, (unsigned long long)r.lines, (unsigned long long)r.incarnations,
        (unsigned long long)r.crashed, (unsigned long long)r.messages,
        (unsigned long long)r.delivered, (unsigned long long)r.undeliverable,
        (unsigned long long)r.lost_receiver, (unsigned long long)r.lost_sender,
        (unsigned long long)r.unsettled, (unsigned long long)r.violations,
        (unsigned long long)r.by_kind[P2PC_EVCHECK_MISSING],
        res->first_violation[0] ? "; first: " : "", res->first_violation);
  p2pc_evcheck_free(s->oracle);
  s->oracle = NULL;
}

static void cb_deliver(void *ud, const char *from, const char *msg,
                       const uint8_t *payload, size_t len) {
  p2pc_sim *s = ud;
  (void)from, (void)msg, (void)payload, (void)len;
  s->nodes[s->cur_node].delivered++;
  s->sec_deliv++;
  s->res.msgs_delivered++;
}

/* The string value of "key":"..." after p: its start, its length in *n;
 * NULL if absent. */
static const char *str_field(const char *p, const char *key, size_t *n) {
  const char *v = strstr(p, key);
  if (!v)
    return NULL;
  v += strlen(key);
  const char *e = strchr(v, '"');
  if (!e)
    return NULL;
  *n = (size_t)(e - v);
  return v;
}

/* A number value "key":N after p, or 0. */
static uint64_t num_field(const char *p, const char *key) {
  const char *v = strstr(p, key);
  return v ? strtoull(v + strlen(key), NULL, 10) : 0;
}

/* A `send` line: one message sent; its metadata bytes and entries into
 * the histograms, unless it is a message to self ("to" is the sender of
 * "msg"), which goes on no wire. */
static void on_send_line(p2pc_sim *s, const char *k) {
  s->res.msgs_sent++;
  s->sec_sent++;
  size_t mlen = 0, tlen = 0;
  const char *msg = str_field(k, "\"msg\":\"", &mlen);
  const char *to = str_field(k, "\"to\":\"", &tlen);
  if (!msg || !to)
    return;
  size_t slen = mlen;
  while (slen > 0 && msg[slen - 1] != ':')
    slen--;
  if (slen > 0 && slen - 1 == tlen && memcmp(msg, to, tlen) == 0)
    return; /* to self */
  uint64_t meta = num_field(k, "\"meta\":");
  uint64_t deps = num_field(k, "\"deps\":");
  hist_add(&s->meta_sec, meta);
  hist_add(&s->meta_run, meta);
  hist_add(&s->deps_sec, deps);
  hist_add(&s->deps_run, deps);
}

static void cb_event(void *ud, const char *line, size_t len) {
  p2pc_sim *s = ud;
  if (s->oracle) {
    if (!s->oracle_settling && s->now >= s->oracle_settle_ns) {
      s->oracle_settling = true;
      p2pc_evcheck_settle_mark(s->oracle);
    }
    oracle_feed(s, s->cur_node, line, len);
  }
  /* Only what the statistics need, found without parsing JSON: the lines
   * are the core's own (evlog.c), NUL-terminated, keys in a fixed order. */
  const char *k = strstr(line, "\"ev\":\"");
  if (!k)
    return;
  k += 6;
  if (strncmp(k, "send\"", 5) == 0) {
    on_send_line(s, k);
  } else if (strncmp(k, "undeliverable\"", 14) == 0) {
    s->res.undeliverable++;
    if (strstr(k, ",\"reason\":\"expired\"")) {
      /* the receiver names the sender ("from"), the sender the
       * destination ("to") */
      if (strstr(k, ",\"from\":\""))
        s->res.expired_rx++;
      else
        s->res.expired_tx++;
      s->sec_expired++;
    }
  } else if (strncmp(k, "refuse\"", 7) == 0) {
    s->res.refused_ahead++;
  }
}

/* A member, for seeds_members: up now, or one of the nodes started at 0. */
static bool is_member(const p2pc_sim *s, uint32_t j) {
  return s->nodes[j].alive ||
         (s->cfg.initially_alive ? j < s->cfg.initially_alive : true);
}

/* What every node of the run is configured with (start_node adds who it
 * is and whom it dials). */
static void node_config(const p2pc_sim_config *cf, p2pc_node_config *c) {
  memset(c, 0, sizeof *c);
  if (cf->topology == P2PC_SIM_KREGULAR || cf->topology == P2PC_SIM_RING)
    c->max_peers = cf->topology == P2PC_SIM_RING ? 2 : cf->k;
  c->time.mode =
      cf->collaborative ? P2PC_CLOCK_COLLABORATIVE : P2PC_CLOCK_REFERENCE;
  c->time.priority = 128;
  c->time.clock_class = 248;
  c->causal.lifetime_ns = cf->causal_lifetime_ns; /* 0: the core's 60 s */
  if (cf->poll_min || cf->poll_max) {
    c->time.poll_min = cf->poll_min;
    c->time.poll_max = cf->poll_max;
    c->time.poll_set = true;
  }
}

static int start_node(p2pc_sim *s, uint32_t i, char *err, size_t errlen) {
  snode *x = &s->nodes[i];
  const p2pc_sim_config *cf = &s->cfg;
  p2pc_node_seed seeds[16];
  uint32_t ns = 0;
  rng *tr = &s->r[R_TOPO];
  uint32_t n = cf->nodes;
  switch (cf->topology) {
  case P2PC_SIM_FULL:
    if (i > 0)
      seeds[ns++].addr = addr_of(i - 1); /* a chain; exchange does the rest */
    break;
  case P2PC_SIM_RING:
    seeds[ns++].addr = addr_of((i + 1) % n);
    seeds[ns++].addr = addr_of((i + n - 1) % n);
    break;
  case P2PC_SIM_KREGULAR:
    for (uint32_t k = 0; k < cf->k / 2 && k < 16 && n > 1; k++) {
      uint32_t j = (uint32_t)p2pc_rng_below(tr, n - 1);
      j = j >= i ? j + 1 : j;
      /* seeds_members: a few more draws for a member (a bounded count,
       * so a lone node starts with what it drew) */
      for (int t = 0; cf->seeds_members && t < 64 && !is_member(s, j); t++) {
        j = (uint32_t)p2pc_rng_below(tr, n - 1);
        j = j >= i ? j + 1 : j;
      }
      seeds[ns++].addr = addr_of(j);
    }
    break;
  case P2PC_SIM_CLUSTERS: {
    uint32_t per = (n + cf->clusters - 1) / cf->clusters;
    uint32_t base = x->cluster * per;
    if (i > base)
      seeds[ns++].addr = addr_of(i - 1);
    else if (i > 0)
      seeds[ns++].addr = addr_of(i - per); /* the cluster's bridge */
    break;
  }
  }
  for (uint32_t k = 0; k < ns; k++)
    seeds[k].id[0] = '\0';
  p2pc_node_config c;
  node_config(cf, &c);
  c.id = x->id;
  c.incarnation = MONO0 + s->now + i; /* rises across restarts */
  c.seed = p2pc_rng_next(&s->r[R_NODES]);
  c.listen = addr_of(i);
  c.alloc = &s->mem.a;
  c.seeds = seeds;
  c.nseeds = ns;
  /* The event lines feed the causal oracle and the statistics of
   * messages; without either they are not built at all (they cost a large
   * part of a big run). */
  p2pc_node_callbacks cb = {.deliver = cb_deliver,
                            .event =
                                cf->rate > 0 || s->oracle ? cb_event : NULL,
                            .log = NULL,
                            .ud = s,
                            .log_level = P2PC_LOG_ERROR};
  s->cur_node = i;
  int rv = p2pc_node_new(&x->n, &c, &cb, now_of(s, i));
  if (rv) {
    snprintf(err, errlen, "node %s: %s", x->id, p2pc_strerror(rv));
    return rv;
  }
  s->starts++;
  oracle_lifecycle(s, i, "start");
  x->nlinks = (c.max_peers ? c.max_peers : 64) * 2 + 8;
  if (!x->conn_of) {
    x->conn_of = xcalloc(s, x->nlinks, sizeof *x->conn_of);
  } else {
    memset(x->conn_of, 0, x->nlinks * sizeof *x->conn_of);
  }
  x->alive = true;
  x->ever_started = true;
  x->gen++;
  x->timer_at = UINT64_MAX;
  flush_node(s, i);
  if (cf->rate > 0)
    push(s, s->now + (uint64_t)rng_exp(&s->r[R_TRAFFIC], 1e9 / cf->rate),
         E_TRAFFIC, i, 0, NULL);
  return 0;
}

static void stop_node(p2pc_sim *s, uint32_t i, bool clean) {
  snode *x = &s->nodes[i];
  if (!x->alive)
    return;
  if (clean) {
    s->cur_node = i;
    p2pc_node_shutdown(x->n, now_of(s, i));
    flush_node(s, i);
  }
  /* Every connection: the far end sees it close (FIN/RST) after the
   * delay; what was in flight to the dead node is gone. */
  for (uint32_t l = 0; l < x->nlinks; l++) {
    if (!x->conn_of[l])
      continue;
    int side;
    conn *c = conn_get(s, i, l, &side);
    uint32_t ci = (uint32_t)(c - s->conns);
    dir_append(s, ci, side, NULL, 0);
    conn_drop_end(s, ci, side);
  }
  if (clean)
    oracle_lifecycle(s, i, "stop");
  p2pc_node_free(x->n);
  x->n = NULL;
  x->alive = false;
  x->timer_at = UINT64_MAX;
}

/* ---- event handlers -------------------------------------------------------
 */

static uint32_t conn_new(p2pc_sim *s) {
  if (s->nfree)
    return s->freeconns[--s->nfree];
  if (s->nconns == s->capconns) {
    uint32_t cap = s->capconns ? 2 * s->capconns : 1024;
    s->conns = xrealloc(s, s->conns, cap * sizeof *s->conns);
    s->freeconns = xrealloc(s, s->freeconns, cap * sizeof *s->freeconns);
    s->capconns = cap;
  }
  return s->nconns++;
}

static void on_dial(p2pc_sim *s, uint32_t i, uint32_t t, p2pc_action *a) {
  snode *x = &s->nodes[i];
  if (!x->alive)
    return;
  s->cur_node = i;
  if (t == UINT32_MAX || !s->nodes[t].alive || blocked(s, i, t)) {
    p2pc_node_dial_failed(x->n, &a->addr, a->peer, now_of(s, i));
    flush_node(s, i);
    return;
  }
  uint32_t ci = conn_new(s);
  conn *c = &s->conns[ci];
  memset(c, 0, sizeof *c);
  c->end[0] = i;
  c->end[1] = t;
  p2pc_link_id la, lb;
  if (p2pc_node_link_new(x->n, true, a->peer, &a->addr, now_of(s, i), &la)) {
    p2pc_node_dial_failed(x->n, &a->addr, a->peer, now_of(s, i));
    c->end[0] = c->end[1] = UINT32_MAX;
    s->freeconns[s->nfree++] = ci;
    flush_node(s, i);
    return;
  }
  c->link[0] = la;
  c->open[0] = true;
  x->conn_of[la] = ci + 1;
  s->cur_node = t;
  if (p2pc_node_link_new(s->nodes[t].n, false, NULL, NULL, now_of(s, t), &lb)) {
    /* the far end refuses: the dialer sees it close */
    dir_append(s, ci, 1, NULL, 0);
  } else {
    c->link[1] = lb;
    c->open[1] = true;
    s->nodes[t].conn_of[lb] = ci + 1;
    flush_node(s, t);
  }
  s->cur_node = i;
  flush_node(s, i);
}

static void on_tcp(p2pc_sim *s, uint32_t ci, int d) {
  conn *c = &s->conns[ci];
  dir *q = &c->d[d];
  q->scheduled = false;
  chunk *k = q->head;
  if (!k) {
    conn_release(s, ci);
    return;
  }
  uint32_t from = c->end[d], to = c->end[1 - d];
  if (k->len && blocked(s, from, to)) { /* stalled until the cut heals */
    k->ready = s->now + RETRY_NS;
    dir_schedule(s, ci, d);
    return;
  }
  q->head = k->next;
  if (!q->head)
    q->tail = NULL;
  int side = 1 - d;
  if (c->open[side] && s->nodes[to].alive) {
    snode *x = &s->nodes[to];
    s->cur_node = to;
    if (k->len == 0) {
      p2pc_link_id l = c->link[side];
      conn_drop_end(s, ci, side);
      p2pc_node_link_closed(x->n, l, now_of(s, to));
    } else if (p2pc_node_link_input(x->n, c->link[side], k->data, k->len,
                                    now_of(s, to)) < 0) {
      /* the node asked to close: do_actions will */
    }
    flush_node(s, to);
  }
  xfree(s, k);
  dir_schedule(s, ci, d);
  conn_release(s, ci);
}

static void on_dgram(p2pc_sim *s, uint32_t to, uint32_t from,
                     p2pc_datagram *d) {
  snode *x = &s->nodes[to];
  if (x->alive) {
    s->cur_node = to;
    p2pc_wire_addr fa = addr_of(from);
    p2pc_node_time_input(x->n, &fa, d->data, d->len, local_at(s, to, s->now),
                         true, now_of(s, to));
    flush_node(s, to);
  }
  xfree(s, d);
}

static void on_traffic(p2pc_sim *s, uint32_t i) {
  snode *x = &s->nodes[i];
  if (!x->alive)
    return;
  rng *r = &s->r[R_TRAFFIC];
  push(s, s->now + (uint64_t)rng_exp(r, 1e9 / s->cfg.rate), E_TRAFFIC, i, 0,
       NULL);
  uint8_t payload[256];
  uint32_t plen = s->cfg.payload < sizeof payload ? s->cfg.payload : 255;
  for (uint32_t k = 0; k < plen; k++)
    payload[k] = (uint8_t)p2pc_rng_next(r);
  s->cur_node = i;
  /* The messages sent are counted from their `send` lines (a broadcast
   * that fails part way has sent some); a send the node refuses (at a
   * causal cap: back-pressure) is counted here. */
  int rv = 0;
  if (p2pc_rng_unit(r) < s->cfg.bcast) {
    rv = p2pc_node_broadcast(x->n, payload, plen, now_of(s, i), NULL);
  } else {
    uint32_t np = p2pc_node_peer_count(x->n), up = 0;
    p2pc_peer_info pi;
    for (uint32_t k = 0; k < np; k++)
      if (p2pc_node_peer_info(x->n, k, &pi) && pi.state == P2PC_PEER_UP)
        up++;
    if (!up)
      return;
    uint32_t pick = (uint32_t)p2pc_rng_below(r, up);
    for (uint32_t k = 0; k < np; k++) {
      if (!p2pc_node_peer_info(x->n, k, &pi) || pi.state != P2PC_PEER_UP)
        continue;
      if (pick-- == 0) {
        rv = p2pc_node_send(x->n, pi.id, payload, plen, now_of(s, i), NULL);
        break;
      }
    }
  }
  if (rv < 0)
    s->res.sends_refused++;
  flush_node(s, i);
}

static void on_scen(p2pc_sim *s, const p2pc_sim_event *e) {
  char err[200];
  switch (e->kind) {
  case P2PC_SIM_EV_PARTITION:
    if (s->ncuts < 64)
      s->cuts[s->ncuts++] = (cut){e->a0, e->a1, e->b0, e->b1};
    break;
  case P2PC_SIM_EV_HEAL:
    s->ncuts = 0;
    break;
  case P2PC_SIM_EV_CRASH:
  case P2PC_SIM_EV_LEAVE:
    for (uint32_t i = e->a0; i < e->a1 && i < s->cfg.nodes; i++)
      stop_node(s, i, e->kind == P2PC_SIM_EV_LEAVE);
    break;
  case P2PC_SIM_EV_RESTART:
  case P2PC_SIM_EV_JOIN:
    for (uint32_t i = e->a0; i < e->a1 && i < s->cfg.nodes; i++)
      if (!s->nodes[i].alive)
        start_node(s, i, err, sizeof err);
    break;
  case P2PC_SIM_EV_SLOW:
    for (uint32_t i = e->a0; i < e->a1 && i < s->cfg.nodes; i++)
      s->nodes[i].slow = e->x >= 1 ? e->x : 1;
    break;
  case P2PC_SIM_EV_CLOCK_STEP:
    for (uint32_t i = e->a0; i < e->a1 && i < s->cfg.nodes; i++)
      s->nodes[i].c.off0 += e->x * 1e9;
    break;
  case P2PC_SIM_EV_CLOCK_FREQ:
    for (uint32_t i = e->a0; i < e->a1 && i < s->cfg.nodes; i++) {
      clk_rebase(&s->nodes[i].c, s->now);
      s->nodes[i].c.rate = e->x * 1e-6;
    }
    break;
  case P2PC_SIM_EV_LINK:
    s->link = e->link;
    break;
  }
}

static void on_wander(p2pc_sim *s) {
  double w = s->cfg.clock_common.wander_ppm;
  for (uint32_t i = 0; i < s->cfg.nodes; i++) {
    clk *c = &s->nodes[i].c;
    clk_rebase(c, s->now);
    c->rate += w * 1e-6 * rng_normal(&s->r[R_CLOCK]);
  }
  push(s, s->now + SEC, E_WANDER, 0, 0, NULL);
}

/* ---- oracles ---------------------------------------------------------------
 */

/* The clock oracles leave out the nodes the scenario lies with on
 * purpose (`exclude`): a liar is not expected to agree. */
static bool excluded(const p2pc_sim *s, uint32_t i) {
  for (uint32_t k = 0; k < s->cfg.nexclude; k++)
    if (s->cfg.exclude[k] == i)
      return true;
  return false;
}

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The causal state of every alive node (a liar's too): the mean and the
 * largest, into the result (its last and its peaks) too. */
static void sample_state(p2pc_sim *s, double *mean, uint64_t *max) {
  uint64_t sum = 0;
  uint32_t n = 0;
  *max = 0;
  for (uint32_t i = 0; i < s->cfg.nodes; i++) {
    snode *x = &s->nodes[i];
    if (!x->alive)
      continue;
    uint64_t b = p2pc_causal_state_bytes(p2pc_node_causal(x->n));
    sum += b;
    n++;
    if (b > *max)
      *max = b;
  }
  *mean = n ? (double)sum / n : 0;
  s->res.state_mean = *mean;
  s->res.state_max = *max;
  if (*mean > s->res.state_peak_mean)
    s->res.state_peak_mean = *mean;
  if (*max > s->res.state_peak)
    s->res.state_peak = *max;
}

static void on_second(p2pc_sim *s,
                      void (*per_second)(void *, const p2pc_sim_second *),
                      void *ud, double *scratch) {
  p2pc_sim_second *row = &s->cur;
  memset(row, 0, sizeof *row);
  row->t_s = s->now / SEC;
  uint32_t m = 0;
  double lo = 0, hi = 0;
  int64_t ref_net = 0;
  const char *ref_id = "";
  bool have_ref = false;
  /* the reference's network time, for the bound check */
  for (uint32_t i = 0; i < s->cfg.nodes && !s->cfg.collaborative; i++) {
    snode *x = &s->nodes[i];
    if (!x->alive)
      continue;
    p2pc_tracking t;
    p2pc_node_tracking(x->n, now_of(s, i), &t);
    if (t.is_reference) {
      ref_net = p2pc_node_network_time(x->n, local_at(s, i, s->now));
      ref_id = x->id;
      have_ref = true;
      break;
    }
  }
  sample_state(s, &row->state_mean, &row->state_max);
  for (uint32_t i = 0; i < s->cfg.nodes; i++) {
    snode *x = &s->nodes[i];
    if (!x->alive || excluded(s, i))
      continue;
    row->alive++;
    p2pc_tracking t;
    p2pc_node_tracking(x->n, now_of(s, i), &t);
    row->buffered += p2pc_causal_buffered(p2pc_node_causal(x->n));
    if (!t.synced)
      continue;
    row->synced++;
    int64_t net = p2pc_node_network_time(x->n, local_at(s, i, s->now));
    double err = (double)(net - EPOCH - (int64_t)s->now);
    scratch[m++] = fabs(err);
    if (m == 1 || err < lo)
      lo = err;
    if (m == 1 || err > hi)
      hi = err;
    /* A node's bound is about its own reference: while an election is
     * still spreading, a node may follow another one (or none). */
    if (have_ref && !t.is_reference && strcmp(t.ref, ref_id) == 0) {
      /* The bound is the node's claim about its distance from the
       * reference; 1 us of slack for the sampling instant. */
      double d = fabs((double)(net - ref_net));
      if (d > t.err_ns + 1000)
        row->bound_violations++;
    }
  }
  if (m) {
    qsort(scratch, m, sizeof *scratch, cmp_dbl);
    row->err_p50 = scratch[m / 2];
    row->err_p99 = scratch[(m * 99) / 100 < m ? (m * 99) / 100 : m - 1];
    row->err_max = scratch[m - 1];
    row->spread = hi - lo;
  }
  row->msgs_sent = s->sec_sent;
  row->msgs_delivered = s->sec_deliv;
  row->meta_per_msg = hist_mean(&s->meta_sec);
  row->meta_p99 = hist_p99(&s->meta_sec);
  row->meta_max = s->meta_sec.max;
  row->deps_p99 = (uint32_t)hist_p99(&s->deps_sec);
  hist_clear(&s->meta_sec);
  hist_clear(&s->deps_sec);
  row->expired = s->sec_expired;
  row->bytes = s->sec_bytes;
  row->events = s->seq - s->events_at_sec;
  s->events_at_sec = s->seq;
  s->sec_sent = s->sec_deliv = s->sec_expired = 0;
  s->sec_bytes = 0;
  s->res.bound_violations += row->bound_violations;
  bool good = m >= 2 && m == row->alive && row->spread < 100000;
  if (good && !s->conv_held) {
    s->conv_held = true;
    s->conv_from = s->now;
  } else if (!good) {
    s->conv_held = false;
  }
  s->res.final_spread_ns = row->spread;
  s->res.final_err_max_ns = row->err_max;
  s->res.alive = row->alive;
  s->res.synced = row->synced;
  if (per_second)
    per_second(ud, row);
}

/* A node's "now" for the oracles' read-only queries: the clock without its
 * read noise, whose draw would take a number from the run's clock stream
 * and so change the run just because somebody looked. */
static p2pc_now quiet_now(const p2pc_sim *s, uint32_t i) {
  const clk *c = &s->nodes[i].c;
  int64_t l = EPOCH + (int64_t)llround((double)s->now + clk_off(c, s->now));
  if (c->gran > 1)
    l -= l % (int64_t)c->gran;
  p2pc_now n = {.mono_ns = MONO0 + s->now, .local_ns = l};
  return n;
}

/* Whether judge j takes node i's clock in: i is its reference or the
 * neighbour it follows, or its source entry for i is selected or counted
 * into the average (truechimer). *marked: the entry says falseticker. */
static bool uses_clock_of(const p2pc_sim *s, uint32_t j, const char *id,
                          const p2pc_tracking *t, bool *marked) {
  const p2pc_node *n = s->nodes[j].n;
  *marked = false;
  if (strcmp(t->ref, id) == 0 || strcmp(t->source, id) == 0)
    return true;
  p2pc_now now = quiet_now(s, j);
  uint32_t m = p2pc_node_source_count(n);
  for (uint32_t k = 0; k < m; k++) {
    p2pc_source_info si;
    if (!p2pc_node_source_info(n, k, now, &si) || strcmp(si.id, id) != 0)
      continue;
    *marked = strcmp(si.state, "falseticker") == 0;
    return strcmp(si.state, "selected") == 0 ||
           strcmp(si.state, "truechimer") == 0;
  }
  return false;
}

bool p2pc_sim_falseticker_get(const p2pc_sim *s, uint32_t i,
                              p2pc_sim_falseticker *f) {
  if (i >= s->cfg.nodes)
    return false;
  memset(f, 0, sizeof *f);
  f->first_user = UINT32_MAX;
  f->alive = s->nodes[i].alive;
  const char *id = s->nodes[i].id;
  for (uint32_t j = 0; j < s->cfg.nodes; j++) {
    const snode *x = &s->nodes[j];
    if (j == i || !x->alive)
      continue;
    p2pc_tracking t;
    p2pc_node_tracking(x->n, quiet_now(s, j), &t);
    if (strcmp(t.ref, id) == 0)
      f->followers++;
    if (!t.synced || excluded(s, j))
      continue;
    f->judges++;
    bool marked;
    if (uses_clock_of(s, j, id, &t, &marked)) {
      if (f->first_user == UINT32_MAX)
        f->first_user = j;
    } else {
      f->rejecting++;
      f->marked += marked;
    }
  }
  return true;
}

static bool membership_ok(p2pc_sim *s) {
  uint32_t n = s->cfg.nodes, alive = 0, first = UINT32_MAX;
  uint32_t *q = xrealloc(s, NULL, n * sizeof *q);
  bool *seen = xcalloc(s, n, sizeof *seen);
  for (uint32_t i = 0; i < n; i++)
    if (s->nodes[i].alive) {
      alive++;
      if (first == UINT32_MAX)
        first = i;
    }
  bool ok = true;
  uint32_t want = s->cfg.topology == P2PC_SIM_RING ? 2 : s->cfg.k;
  /* A full mesh while it fits in the peer tables (maxPeers 64); past that
   * the tables hold a random partial mesh whose degrees can fall short
   * where a link was handed to a joining node that filled up meanwhile
   * (PROTOCOL.md, "Making room"): connected, and at least half full. */
  if (s->cfg.topology == P2PC_SIM_FULL || s->cfg.topology == P2PC_SIM_CLUSTERS)
    want = alive - 1 <= 64 ? alive - 1 : 32;
  if (want > alive - 1)
    want = alive ? alive - 1 : 0;
  uint32_t head = 0, tail = 0, reached = 0;
  if (first != UINT32_MAX) {
    q[tail++] = first;
    seen[first] = true;
  }
  while (head < tail) {
    uint32_t i = q[head++];
    reached++;
    snode *x = &s->nodes[i];
    uint32_t up = 0;
    for (uint32_t l = 0; l < x->nlinks; l++) {
      if (!x->conn_of[l])
        continue;
      conn *c = &s->conns[x->conn_of[l] - 1];
      uint32_t j = c->end[0] == i ? c->end[1] : c->end[0];
      if (j >= n || !s->nodes[j].alive || !c->open[0] || !c->open[1])
        continue;
      up++;
      if (!seen[j]) {
        seen[j] = true;
        q[tail++] = j;
      }
    }
    /* a k-regular graph is random: some nodes end with fewer than k */
    if (s->cfg.topology != P2PC_SIM_KREGULAR && up < want)
      ok = false;
  }
  if (reached != alive)
    ok = false;
  xfree(s, q);
  xfree(s, seen);
  return ok;
}

/* ---- the public face ------------------------------------------------------
 */

void p2pc_sim_config_default(p2pc_sim_config *cfg, uint32_t n) {
  memset(cfg, 0, sizeof *cfg);
  cfg->nodes = n;
  cfg->duration_ns = 60 * SEC;
  cfg->seed = 1;
  cfg->topology = P2PC_SIM_FULL;
  cfg->k = 8;
  cfg->clusters = 4;
  cfg->link = (p2pc_sim_link){.delay_ns = 200 * US, .jitter_ns = 20 * US};
  cfg->slow_link = (p2pc_sim_link){.delay_ns = 20 * MS, .jitter_ns = 1 * MS};
  cfg->offset_max_s = 1;
  cfg->drift_max_ppm = 200;
  cfg->rate = 1;
  cfg->bcast = 0.1;
  cfg->payload = 16;
  cfg->causal_oracle = n <= 2000;
  cfg->causal_lifetime_ns = P2PC_SIM_LIFETIME_DEFAULT_NS;
}

p2pc_sim *p2pc_sim_new(const p2pc_sim_config *cfg, char *err, size_t errlen) {
  if (cfg->nodes < 1 || cfg->nodes > P2PC_SIM_MAX_NODES) {
    snprintf(err, errlen, "nodes must be 1..%d, got %u", P2PC_SIM_MAX_NODES,
             cfg->nodes);
    return NULL;
  }
  if (cfg->topology == P2PC_SIM_KREGULAR && (cfg->k < 2 || cfg->k > 32)) {
    snprintf(err, errlen, "k must be 2..32, got %u", cfg->k);
    return NULL;
  }
  if (cfg->topology == P2PC_SIM_CLUSTERS &&
      (cfg->clusters < 1 || cfg->clusters > cfg->nodes)) {
    snprintf(err, errlen, "clusters must be 1..nodes, got %u", cfg->clusters);
    return NULL;
  }
  if (cfg->nevents > P2PC_SIM_MAX_EVENTS) {
    snprintf(err, errlen, "too many events");
    return NULL;
  }
  uint64_t need = cfg->max_memory ? p2pc_sim_start_bytes(cfg) : 0;
  if (need > cfg->max_memory) {
    snprintf(err, errlen,
             "the start alone needs %llu MiB, over the memory budget of "
             "%llu MiB",
             (unsigned long long)(need >> 20),
             (unsigned long long)(cfg->max_memory >> 20));
    return NULL;
  }
  p2pc_sim *s = calloc(1, sizeof *s);
  if (!s)
    abort();
  p2pc_simmem_init(&s->mem);
  p2pc_simmem_charge(&s->mem, sizeof *s);
  s->cfg = *cfg;
  s->link = cfg->link;
  for (int k = 0; k < R_NSTREAMS; k++)
    p2pc_rng_seed(&s->r[k], cfg->seed, (uint64_t)k + 1);
  s->nodes = xcalloc(s, cfg->nodes, sizeof *s->nodes);
  uint64_t *bins = xcalloc(s, HIST_SLOTS, sizeof *bins);
  hist *hs[] = {&s->meta_sec, &s->meta_run, &s->deps_sec, &s->deps_run};
  for (int k = 0; k < 4; k++) {
    hs[k]->bins = bins;
    hs[k]->nbins = k < 2 ? META_BINS : DEPS_BINS;
    hs[k]->width = k < 2 ? P2PC_SIM_META_HIST_BIN : 1;
    bins += hs[k]->nbins + 1;
  }
  uint32_t per =
      (cfg->nodes + cfg->clusters - 1) / (cfg->clusters ? cfg->clusters : 1);
  rng *cr = &s->r[R_CLOCK];
  for (uint32_t i = 0; i < cfg->nodes; i++) {
    snode *x = &s->nodes[i];
    snprintf(x->id, sizeof x->id, "n%u", i);
    x->c.off0 = (2 * p2pc_rng_unit(cr) - 1) * cfg->offset_max_s * 1e9;
    x->c.rate = (2 * p2pc_rng_unit(cr) - 1) * cfg->drift_max_ppm * 1e-6;
    x->c.noise = (double)cfg->clock_common.noise_ns;
    x->c.gran = (double)cfg->clock_common.granularity_ns;
    x->slow = 1;
    x->timer_at = UINT64_MAX;
    x->cluster = per ? i / per : 0;
  }
  if (cfg->causal_oracle) {
    s->oracle = p2pc_evcheck_new();
    if (!s->oracle)
      abort();
    p2pc_evcheck_set_diag(s->oracle, oracle_diag, s);
    p2pc_evcheck_set_limit(s->oracle, ORACLE_MAX_CELLS);
    for (uint32_t i = 0; i < cfg->nodes; i++)
      if (p2pc_evcheck_name(s->oracle, i, s->nodes[i].id) < 0)
        abort();
    s->oracle_settle_ns = oracle_settle_at(cfg);
    s->oracle_dump = getenv("P2PC_SIM_EVENTS_DIR");
  }
  uint32_t alive = cfg->initially_alive ? cfg->initially_alive : cfg->nodes;
  for (uint32_t i = 0; i < alive && i < cfg->nodes; i++)
    if (start_node(s, i, err, errlen)) {
      p2pc_sim_free(s);
      return NULL;
    }
  for (uint32_t k = 0; k < cfg->nevents; k++)
    push(s, cfg->events[k].at_ns, E_SCEN, k, 0, NULL);
  push(s, SEC, E_SECOND, 0, 0, NULL);
  if (cfg->clock_common.wander_ppm > 0)
    push(s, SEC, E_WANDER, 0, 0, NULL);
  measure(s);
  return s;
}

void p2pc_sim_free(p2pc_sim *s) {
  if (!s)
    return;
  for (uint32_t i = 0; i < s->cfg.nodes; i++) {
    if (s->nodes[i].alive)
      p2pc_node_free(s->nodes[i].n);
    xfree(s, s->nodes[i].conn_of);
  }
  for (uint32_t c = 0; c < s->nconns; c++) {
    dir_clear(s, &s->conns[c].d[0]);
    dir_clear(s, &s->conns[c].d[1]);
  }
  for (size_t k = 0; k < s->nheap; k++)
    if (s->heap[k].kind == E_DIAL || s->heap[k].kind == E_DGRAM)
      xfree(s, s->heap[k].p);
  xfree(s, s->heap);
  xfree(s, s->meta_sec.bins); /* the first of the four, one block */
  xfree(s, s->nodes);
  xfree(s, s->conns);
  xfree(s, s->freeconns);
  p2pc_evcheck_free(s->oracle);
  free(s);
}

/* After each event: what the run holds, and whether it must stop there. A
 * node's allocation that failed stops it too: the core went on without
 * that block (it handles a refusal), but the run is no longer the one the
 * seed describes. */
static bool account(p2pc_sim *s) {
  uint64_t now = measure(s);
  if (s->mem.failed)
    s->res.stop = P2PC_SIM_STOP_NOMEM;
  else if (s->cfg.max_memory && now >= s->cfg.max_memory)
    s->res.stop = P2PC_SIM_STOP_BUDGET;
  return s->res.stop != P2PC_SIM_STOP_END;
}

uint64_t p2pc_sim_start_bytes(const p2pc_sim_config *cfg) {
  if (cfg->nodes < 1 || cfg->nodes > P2PC_SIM_MAX_NODES)
    return 0;
  uint64_t alive = cfg->initially_alive && cfg->initially_alive < cfg->nodes
                       ? cfg->initially_alive
                       : cfg->nodes;
  /* One node as start_node makes them, with the most seeds a topology
   * gives one (they are copied). */
  p2pc_simmem m;
  p2pc_simmem_init(&m);
  p2pc_node_config c;
  node_config(cfg, &c);
  p2pc_node_seed seeds[16];
  memset(seeds, 0, sizeof seeds);
  for (uint32_t k = 0; k < 16; k++)
    seeds[k].addr = addr_of(k + 1);
  c.id = "n0";
  c.incarnation = MONO0;
  c.listen = addr_of(0);
  c.alloc = &m.a;
  c.seeds = seeds;
  c.nseeds = cfg->topology == P2PC_SIM_KREGULAR
                 ? (cfg->k / 2 < 16 ? cfg->k / 2 : 16)
             : cfg->topology == P2PC_SIM_RING ? 2
                                              : 1;
  p2pc_node *n = NULL;
  p2pc_now now = {.mono_ns = MONO0, .local_ns = EPOCH};
  uint64_t node = 0;
  if (p2pc_node_new(&n, &c, NULL, now) == 0) {
    node = m.live;
    p2pc_node_free(n);
  }
  uint64_t nlinks = (c.max_peers ? c.max_peers : 64) * 2 + 8;
  node += P2PC_SIMMEM_HDR + nlinks * sizeof(uint32_t); /* its conn_of */
  uint64_t total = sizeof(p2pc_sim) + P2PC_SIMMEM_HDR +
                   (uint64_t)cfg->nodes * sizeof(snode) + alive * node +
                   P2PC_SIMMEM_HDR + HIST_SLOTS * sizeof(uint64_t);
  if (cfg->causal_oracle) /* the checker's clocks, at the end */
    total += 4 * alive * alive;
  return total;
}

static uint64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

void p2pc_sim_run(p2pc_sim *s,
                  void (*progress)(void *ud, uint64_t now_ns, uint64_t end_ns),
                  void (*per_second)(void *ud, const p2pc_sim_second *row),
                  void *ud) {
  uint64_t w0 = wall_ns();
  double *scratch = xrealloc(s, NULL, s->cfg.nodes * sizeof *scratch);
  uint64_t end = s->cfg.duration_ns;
  while (s->nheap && s->heap[0].t <= end) {
    ev e = pop(s);
    s->now = e.t;
    s->res.events++;
    switch ((evk)e.kind) {
    case E_TIMER: {
      snode *x = &s->nodes[e.a];
      if (!x->alive || e.gen != x->gen || x->timer_at != e.t)
        break;
      x->timer_at = UINT64_MAX;
      s->cur_node = e.a;
      p2pc_node_on_deadline(x->n, now_of(s, e.a));
      flush_node(s, e.a);
      break;
    }
    case E_TCP:
      on_tcp(s, e.a, (int)e.b);
      break;
    case E_DIAL:
      on_dial(s, e.a, e.b, e.p);
      xfree(s, e.p);
      break;
    case E_DGRAM:
      on_dgram(s, e.a, e.b, e.p);
      break;
    case E_SCEN:
      on_scen(s, &s->cfg.events[e.a]);
      break;
    case E_TRAFFIC:
      if (e.gen == s->nodes[e.a].gen)
        on_traffic(s, e.a);
      break;
    case E_SECOND:
      on_second(s, per_second, ud, scratch);
      if (progress)
        progress(ud, s->now, end);
      push(s, s->now + SEC, E_SECOND, 0, 0, NULL);
      break;
    case E_WANDER:
      on_wander(s);
      break;
    }
    if (account(s))
      break;
  }
  if (s->res.stop == P2PC_SIM_STOP_END) {
    s->now = end;
  } else { /* the state where it stopped, between seconds */
    double mean;
    uint64_t max;
    sample_state(s, &mean, &max);
  }
  s->res.stop_ns = s->now;
  xfree(s, scratch);
  if (s->oracle)
    oracle_finish(s, s->res.stop == P2PC_SIM_STOP_END);
  s->res.wall_ns = wall_ns() - w0;
  s->res.conv_s = s->conv_held ? (double)s->conv_from / 1e9 : -1;
  s->res.membership_ok = membership_ok(s);
  s->res.meta_msgs = s->meta_run.n;
  s->res.meta_per_msg = hist_mean(&s->meta_run);
  s->res.meta_p99 = hist_p99(&s->meta_run);
  s->res.meta_max = s->meta_run.max;
  s->res.deps_p99 = (uint32_t)hist_p99(&s->deps_run);
  s->res.deps_max = (uint32_t)s->deps_run.max;
  s->res.mem_counted_peak = s->mem.peak;
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    s->res.peak_rss_kb = (uint64_t)ru.ru_maxrss;
}

void p2pc_sim_result_get(const p2pc_sim *s, p2pc_sim_result *r) { *r = s->res; }
