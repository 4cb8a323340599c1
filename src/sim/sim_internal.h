/* SPDX-License-Identifier: MIT */
/*
 * The simulator's inside, shared by its files and by nothing else (sim.h
 * is the contract): the run's state (struct p2pc_sim), its event kinds,
 * the network's and the clocks' records, and what each file offers the
 * others. One concern a file:
 *
 *   engine.c          sim.h's face: create, run, free; the event loop; the
 *                     scenario's timed events; the memory account
 *   heap.c            the event heap, in (time, sequence number) order
 *   clockmodel.c      each node's local clock: offset, drift, wander, noise
 *   netmodel.c        addresses, delays, partitions, TCP byte streams and
 *                     UDP datagrams, and their arrival at a node
 *   harness.c         driving a node as the runtime does (through the
 *                     shared driver, drive.h): its output, its timer, its
 *                     start and stop, its traffic
 *   drive.c           the driver of in-memory nodes (drive.h, its own
 *                     contract): a node's port, used by harness.c and
 *                     netmodel.c, and the instant network of the node
 *                     unit tests and the clock fuzzer
 *   evlines.c         the one reader of the nodes' event lines
 *   oracle_causal.c   the causal oracle (the checker of `p2pclock check`)
 *   oracle_clock.c    the per-second row (true error, spread, bounds) and
 *                     the falseticker oracle
 *   oracle_members.c  the membership check at the end
 *   oracle_lookup.c   `at T lookup R` and the lookups' summary
 *   oracle_views.c    the views oracle (active and passive views at the end)
 *   hist.c            fixed-bin histograms of causal metadata
 *   traffic.c         the traffic generator: messages to neighbours or to
 *                     any node (waiting for RESOLVED), network-wide
 *                     broadcasts, the tag in their payload
 *   oracle_bcast.c    latency and hops histograms; the broadcast oracle
 *                     (every broadcast to every live node, exactly once)
 *   oracle_overlay.c  each node's health (alive, frozen, cut off) for the
 *                     oracles; freezes and churn; membership accuracy
 *                     (flaps, false suspicions, missed and late
 *                     detections)
 */
#ifndef P2PC_SIM_INTERNAL_H
#define P2PC_SIM_INTERNAL_H

#include "sim.h"

#include "drive.h"
#include "evcheck.h"
#include "node.h"
#include "rng.h"
#include "simmem.h"

#include <math.h>

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

static inline double rng_exp(rng *r, double mean) {
  return -mean * log(1.0 - p2pc_rng_unit(r));
}

static inline double rng_normal(rng *r) { /* Box-Muller, one of the pair */
  double u = p2pc_rng_unit(r), v = p2pc_rng_unit(r);
  return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

/* New streams go last: the others keep their numbers, and so their runs. */
enum {
  R_NET,
  R_CLOCK,
  R_TRAFFIC,
  R_NODES,
  R_TOPO,
  R_LOOKUP,
  R_CHURN,
  R_NSTREAMS
};

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
  E_WANDER,  /* clock wander tick, all nodes */
  E_BCAST,   /* a network-wide broadcast from a random node; re-arms */
  E_CHURN,   /* a: node, b: 0 join, 1 leave, 2 crash */
  E_THAW,    /* a: node, its freeze ends (if it is still that freeze) */
  E_RESOLVED /* a: node, b: destination | RESOLVED_OK: retry its sends */
} evk;

#define RESOLVED_OK 0x80000000u

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
  uint8_t cls;    /* its size class in the pool (CHUNK_CLASSES: none) */
  uint8_t data[];
} chunk;

/* Freed chunks are kept for the next writes, by size class (powers of
 * two from 2^CHUNK_MIN_SHIFT bytes), up to CHUNK_POOL_MAX bytes in all:
 * a chunk is allocated and freed for every write a node makes, and those
 * of broadcast copies (kilobytes of causal metadata) are beyond malloc's
 * fast caches. */
#define CHUNK_MIN_SHIFT 6
#define CHUNK_CLASSES 12 /* up to 128 KiB; larger ones go to malloc */
#define CHUNK_POOL_MAX (64u << 20)

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
  bool late;             /* churn: starts later (not at t = 0) */
  uint8_t npend;         /* sends waiting for RESOLVED (traffic.c) */
  uint64_t frozen_until; /* handles no event before this (0: never was) */
  uint64_t ok_since;     /* alive, unfrozen, in no cut since; UINT64_MAX:
                            not now (oracle_overlay.c) */
  uint64_t incarnation;  /* its node's, as configured */
  bool sick;             /* down or frozen, as the oracles last saw it */
  bool birth_logged;     /* this incarnation's causal birth is in its log */
} snode;

/* A send waiting for RESOLVED (traffic.c) */
typedef struct pend {
  uint32_t dest;
  uint64_t t_send;
} pend;

/* A log-linear histogram (oracle_bcast.c): exact below 64, then 32 bins a
 * power of two; its percentiles are the top of their bin. */
#define LHIST_BINS (64 + 58 * 32)
typedef struct lhist {
  uint64_t n, max;
  uint64_t *bins; /* LHIST_BINS */
} lhist;

typedef struct bc_rec bc_rec;   /* oracle_bcast.c */
typedef struct episode episode; /* oracle_overlay.c */

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
  chunk *pool[CHUNK_CLASSES]; /* free chunks by size class */
  size_t pool_bytes;
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
  /* traffic.c: sends waiting for RESOLVED, P2PC_SIM_PENDING a node */
  pend *pend;
  uint64_t sec_unaddr;
  /* oracle_bcast.c: latency (messages, broadcasts) and hops, the run's
   * and this second's; the broadcasts followed */
  lhist lat_run, lat_sec, blat_run, blat_sec, hops_run, hops_sec;
  bc_rec **bc;
  uint32_t nbc, capbc, bc_words; /* bc_words: 64-bit words a bitmap */
  /* oracle_overlay.c: the failures followed */
  episode **ep;
  uint32_t nep, capep;
};

/* ---- engine.c: the simulator's own blocks, counted (simmem.h); a refusal
 * ends the process, saying so */

void *p2pc__sim_xrealloc(p2pc_sim *s, void *p, size_t n);
void *p2pc__sim_xcalloc(p2pc_sim *s, size_t count, size_t size);
void p2pc__sim_xfree(p2pc_sim *s, void *p);

/* ---- heap.c: schedules an event at t (now if t is past) */

void p2pc__sim_push(p2pc_sim *s, uint64_t t, evk kind, uint32_t a, uint32_t b,
                    void *p);
/* The earliest event, out of the heap (which must not be empty). */
ev p2pc__sim_pop(p2pc_sim *s);

/* ---- clockmodel.c */

/* Local minus true time of clock c at true time t, ns. */
double p2pc__sim_clk_off(const clk *c, uint64_t t);
/* A reading of node i's local clock at true time t (with read noise). */
int64_t p2pc__sim_local_at(p2pc_sim *s, uint32_t i, uint64_t t);
/* Starts a new segment of c at t (before its drift changes). */
void p2pc__sim_clk_rebase(clk *c, uint64_t t);
/* Node i's "now" for an entry point: monotonic and local time. */
p2pc_now p2pc__sim_now_of(p2pc_sim *s, uint32_t i);
/* The same without read noise: draws no number, for read-only queries. */
p2pc_now p2pc__sim_quiet_now(const p2pc_sim *s, uint32_t i);
/* The nodes' clocks for the driver (drive.h): p2pc__sim_now_of, and
 * p2pc__sim_local_at now. */
p2pc_drive_clock p2pc__sim_clock(p2pc_sim *s);
/* E_WANDER: every clock's drift takes a random step; re-arms itself. */
void p2pc__sim_on_wander(p2pc_sim *s);

/* ---- netmodel.c */

p2pc_wire_addr p2pc__sim_addr_of(uint32_t i);
/* The node at address a, or -1. */
int64_t p2pc__sim_node_at(const p2pc_sim *s, const p2pc_wire_addr *a);
/* Whether a partition cuts i from j. */
bool p2pc__sim_blocked(const p2pc_sim *s, uint32_t i, uint32_t j);
/* One-way delay i -> j for a packet now, ns. */
uint64_t p2pc__sim_one_way(p2pc_sim *s, uint32_t i, uint32_t j);
/* The connection of node i's link l and i's side of it, or NULL. */
conn *p2pc__sim_conn_get(p2pc_sim *s, uint32_t i, p2pc_link_id l, int *side);
/* Sends len bytes (0: the FIN) in direction d of connection ci. */
void p2pc__sim_dir_append(p2pc_sim *s, uint32_t ci, int d, const uint8_t *p,
                          size_t len);
void p2pc__sim_dir_clear(p2pc_sim *s, dir *q);
/* A chunk back to the pool (or to malloc past CHUNK_POOL_MAX); the pool
 * freed, at the end of a run. */
void p2pc__sim_chunk_free(p2pc_sim *s, chunk *k);
void p2pc__sim_chunk_pool_free(p2pc_sim *s);
/* End `side` of connection ci loses its link. */
void p2pc__sim_conn_drop_end(p2pc_sim *s, uint32_t ci, int side);
/* Node i's datagrams onto the network. */
void p2pc__sim_flush_dgrams(p2pc_sim *s, uint32_t i);
/* E_DIAL, E_TCP, E_DGRAM: what arrives, handed to the node. */
void p2pc__sim_on_dial(p2pc_sim *s, uint32_t i, uint32_t t, p2pc_action *a);
void p2pc__sim_on_tcp(p2pc_sim *s, uint32_t ci, int d);
void p2pc__sim_on_dgram(p2pc_sim *s, uint32_t to, uint32_t from,
                        p2pc_datagram *d);

/* ---- harness.c */

/* After an entry point into node i: its actions, output and timer. */
void p2pc__sim_flush_node(p2pc_sim *s, uint32_t i);
/* oracle_lookup.c: `at T lookup R`, the RESOLVED events, the summary. */
/* Each alive node of [a0,a1) looks up a random other alive node of
 * [b0,b1) (any node if b1 is 0). */
void p2pc__sim_lookups(p2pc_sim *s, uint32_t a0, uint32_t a1, uint32_t b0,
                       uint32_t b1);
void p2pc__sim_lookup_resolved(p2pc_sim *s, const p2pc_event *e);
void p2pc__sim_lookup_summary(p2pc_sim *s);
/* What every node of the run is configured with. */
void p2pc__sim_node_config(const p2pc_sim_config *cf, p2pc_node_config *c);
int p2pc__sim_start_node(p2pc_sim *s, uint32_t i, char *err, size_t errlen);
void p2pc__sim_stop_node(p2pc_sim *s, uint32_t i, bool clean);
/* E_TRAFFIC: node i sends a message or a broadcast; re-arms itself. */
void p2pc__sim_on_traffic(p2pc_sim *s, uint32_t i);

/* ---- evlines.c: a node's event callback (p2pc_node_callbacks.event) */

void p2pc__sim_on_event(void *ud, p2pc_node *n, const p2pc_event *e);

/* ---- oracle_causal.c */

void p2pc__sim_oracle_new(p2pc_sim *s);
/* The oracle's share of what the run holds, an estimate, bytes. */
uint64_t p2pc__sim_oracle_bytes(const p2pc_sim *s);
/* One event line of node i, to the oracle. */
void p2pc__sim_oracle_feed(p2pc_sim *s, uint32_t i, const char *line,
                           size_t len);
/* The `start` or `stop` line of node i, as the runtime writes it. */
void p2pc__sim_oracle_lifecycle(p2pc_sim *s, uint32_t i, const char *what);
/* Node i's `birth` line, once its causal layer is born (if `start` could
 * not say it). */
void p2pc__sim_oracle_birth(p2pc_sim *s, uint32_t i);
/* The verdict into the result; frees the oracle. */
void p2pc__sim_oracle_finish(p2pc_sim *s, bool clean);

/* ---- oracle_clock.c */

/* E_SECOND: the second's row, into the result and to per_second. scratch
 * holds one double a node. */
void p2pc__sim_on_second(p2pc_sim *s,
                         void (*per_second)(void *, const p2pc_sim_second *),
                         void *ud, double *scratch);
/* The causal state of the alive nodes: mean and largest, into the result. */
void p2pc__sim_sample_state(p2pc_sim *s, double *mean, uint64_t *max);

/* ---- oracle_members.c */

bool p2pc__sim_membership_ok(p2pc_sim *s);
/* The views oracle (oracle_views.c): fills res.views_ok and the figures. */
void p2pc__sim_views(p2pc_sim *s);

/* ---- traffic.c */

/* E_BCAST: a network-wide broadcast from a random live node; re-arms. */
void p2pc__sim_on_bcast(p2pc_sim *s);
/* E_RESOLVED: node i's sends waiting for dest, sent again or given up. */
void p2pc__sim_on_resolved(p2pc_sim *s, uint32_t i, uint32_t b);
/* A RESOLVED event of node cur_node (from evlines.c): schedules the
 * above, outside the node's call. */
void p2pc__sim_resolved_event(p2pc_sim *s, const p2pc_event *e);
/* The 16-byte tag at the start of a payload: send time, broadcast number
 * + 1 (0: a message). false if p holds no tag. */
void p2pc__sim_tag_put(uint8_t *p, uint64_t t_send, uint32_t bc);
bool p2pc__sim_tag_get(const uint8_t *p, size_t len, uint64_t *t_send,
                       uint32_t *bc);
#define TAG_LEN 16

/* ---- oracle_bcast.c */

void p2pc__sim_bc_init(p2pc_sim *s);
void p2pc__sim_bc_free(p2pc_sim *s);
/* A broadcast sent by node i now: its number (+1 goes in the tag), or
 * UINT32_MAX when it is not followed. */
uint32_t p2pc__sim_bc_sent(p2pc_sim *s, uint32_t i);
/* Broadcast b was accepted with this HLC stamp: the nodes born after it
 * do not owe it (the birth rule). */
void p2pc__sim_bc_stamp(p2pc_sim *s, uint32_t b, uint64_t stamp);
/* Broadcast b (from p2pc__sim_bc_sent) was refused: nothing is owed. */
void p2pc__sim_bc_void(p2pc_sim *s, uint32_t b);
/* A DELIVERED event of node cur_node. */
void p2pc__sim_bc_delivered(p2pc_sim *s, const p2pc_event *e);
/* Node i's health turned bad (stopped, frozen, cut off) or it starts a
 * new incarnation (restart: true): it owes nothing to the broadcasts
 * open now. */
void p2pc__sim_bc_node_bad(p2pc_sim *s, uint32_t i, bool restart);
/* A partition began: the nodes cut from a broadcast's sender owe it
 * nothing. */
void p2pc__sim_bc_cut(p2pc_sim *s);
/* The verdict into the result (at the end). */
void p2pc__sim_bc_finish(p2pc_sim *s);
/* The second's p99s into row; clears the second's histograms. */
void p2pc__sim_bc_second(p2pc_sim *s, p2pc_sim_second *row);
void p2pc__sim_lhist_add(lhist *h, uint64_t v);
uint64_t p2pc__sim_lhist_q(const lhist *h, double q);

/* ---- oracle_overlay.c */

void p2pc__sim_ov_init(p2pc_sim *s);
void p2pc__sim_ov_free(p2pc_sim *s);
/* Node i's health changes: started (up) or stopped (crash: no goodbye);
 * every cut (partition or heal). */
void p2pc__sim_ov_started(p2pc_sim *s, uint32_t i);
void p2pc__sim_ov_stopped(p2pc_sim *s, uint32_t i, bool crash);
void p2pc__sim_ov_cuts_changed(p2pc_sim *s);
/* Freezes node i for d ns; E_THAW ends it. */
void p2pc__sim_ov_freeze(p2pc_sim *s, uint32_t i, uint64_t d);
void p2pc__sim_ov_thaw(p2pc_sim *s, uint32_t i);
static inline bool p2pc__sim_frozen(const p2pc_sim *s, uint32_t i) {
  return s->nodes[i].frozen_until > s->now;
}
/* Churn: marks the late starters and schedules every E_CHURN. */
void p2pc__sim_ov_churn_plan(p2pc_sim *s);
/* A MEMBER_* event of node cur_node. */
void p2pc__sim_ov_member(p2pc_sim *s, const p2pc_event *e);
/* A PEER_DOWN event of node cur_node: a flap when both ends were healthy
 * for P2PC_SIM_SUSPECT_SETTLE_NS and the peer did not leave. */
void p2pc__sim_ov_peer_down(p2pc_sim *s, const p2pc_event *e);
/* The detection verdict into the result (at the end). */
void p2pc__sim_ov_finish(p2pc_sim *s);
/* Node index of an id "nK", or UINT32_MAX. */
uint32_t p2pc__sim_node_of_id(const p2pc_sim *s, const char *id);

/* ---- hist.c */

void p2pc__sim_hist_add(hist *h, uint64_t v);
void p2pc__sim_hist_clear(hist *h);
/* The p99 by nearest rank, as sim.h says; 0 if empty. */
uint64_t p2pc__sim_hist_p99(const hist *h);
double p2pc__sim_hist_mean(const hist *h);

#endif /* P2PC_SIM_INTERNAL_H */
