/* SPDX-License-Identifier: MIT */
/*
 * The simulator (ALGORITHMS.md §E): N real p2pc_node cores (src/core, the
 * very code the libuv runtime drives, no copies, no #ifdef) under virtual
 * time. One event heap ordered by (time, sequence number), one seed with an
 * independent PRNG stream per subsystem, deterministic iteration
 * everywhere: the same configuration and seed give the same run, byte for
 * byte.
 *
 * The simulator plays the runtime's part for every node: it moves TCP bytes
 * between linked nodes through a network model (delay, jitter, asymmetry,
 * bandwidth, partitions), completes or fails dials, carries UDP datagrams
 * (delay, jitter, loss, duplication, reordering), reads each node's local
 * clock from a clock model (offset, drift, wander, steps, read noise,
 * liars), and wakes each node at its deadline. It knows true time, so its
 * oracles measure what the nodes cannot: the true error of every node's
 * network time, the pairwise disagreement, whether claimed error bounds
 * hold.
 */
#ifndef P2PC_SIM_H
#define P2PC_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define P2PC_SIM_SEC 1000000000ull
#define P2PC_SIM_MAX_NODES 100000
#define P2PC_SIM_MAX_EVENTS 4096 /* scheduled scenario events */
#define P2PC_SIM_MAX_EXCLUDE 16  /* nodes left out of the clock oracles */
#define P2PC_SIM_LIFETIME_DEFAULT_NS (60 * P2PC_SIM_SEC)
#define P2PC_SIM_LIFETIME_INF UINT64_MAX /* = P2PC_CAUSAL_LIFETIME_INF */
/* The histograms of causal metadata per message: exact bins of this many
 * bytes up to P2PC_SIM_META_HIST_MAX, then one bin for everything above
 * (whose largest value is kept exactly); entries per message: exact up to
 * P2PC_SIM_DEPS_HIST_MAX, then one bin. A p99 is the top of its bin (an
 * upper bound, at most 7 bytes over), or the exact maximum when it falls
 * in the last bin or the maximum is lower. */
#define P2PC_SIM_META_HIST_BIN 8
#define P2PC_SIM_META_HIST_MAX 65536
#define P2PC_SIM_DEPS_HIST_MAX 4096

typedef enum p2pc_sim_topology {
  P2PC_SIM_FULL,     /* everyone may link to everyone (peer exchange) */
  P2PC_SIM_KREGULAR, /* random graph, degree about k (max_peers = k) */
  P2PC_SIM_RING,     /* each node links to its two ring neighbours */
  P2PC_SIM_CLUSTERS  /* `clusters` full meshes joined by slow links */
} p2pc_sim_topology;

/* A link's (or the default's) network model. Delays in ns. */
typedef struct p2pc_sim_link {
  uint64_t delay_ns;    /* base one-way delay */
  double asym;          /* forward = delay*(1+asym), back = delay*(1-asym) */
  uint64_t jitter_ns;   /* mean of an exponential queueing delay */
  double heavy;         /* probability a jitter draw is Pareto-heavy (x10) */
  double bandwidth_bps; /* 0 = unlimited */
  double loss;          /* UDP datagram loss; for TCP: a 200 ms stall */
  double dup;           /* UDP duplication */
  double reorder;       /* UDP: extra random delay up to 2x jitter */
} p2pc_sim_link;

/* A node's clock model. */
typedef struct p2pc_sim_clock {
  double offset_s;         /* at start */
  double drift_ppm;        /* at start */
  double wander_ppm;       /* random walk: drift change per sqrt(second) */
  uint64_t noise_ns;       /* uniform read noise, +- */
  uint64_t granularity_ns; /* readings rounded down to this */
} p2pc_sim_clock;

typedef enum p2pc_sim_ev_kind {
  P2PC_SIM_EV_PARTITION,  /* cut nodes [a0,a1) from [b0,b1) */
  P2PC_SIM_EV_HEAL,       /* undo every cut */
  P2PC_SIM_EV_CRASH,      /* node a stops (no goodbye) */
  P2PC_SIM_EV_RESTART,    /* node a starts again: a new incarnation */
  P2PC_SIM_EV_SLOW,       /* node a handles its events x later (x = 1 off) */
  P2PC_SIM_EV_JOIN,       /* node a starts for the first time */
  P2PC_SIM_EV_LEAVE,      /* node a stops cleanly */
  P2PC_SIM_EV_CLOCK_STEP, /* node a's clock jumps by x seconds (a liar) */
  P2PC_SIM_EV_CLOCK_FREQ, /* node a's drift becomes x ppm */
  P2PC_SIM_EV_CLOCK_FREQ_STEP, /* node a's drift changes by x ppm */
  P2PC_SIM_EV_LINK,            /* the default link model becomes `link` */
  P2PC_SIM_EV_LOOKUP,          /* each alive node of [a0,a1) looks a random
                                 other node's record up (dht.h): one of
                                 [b0,b1), any if b1 is 0 */
  P2PC_SIM_EV_FREEZE           /* nodes [a0,a1) handle no event for x seconds:
                                  no input, no timer; their connections stay up
                                  and what arrives waits (SIGSTOP) */
} p2pc_sim_ev_kind;

typedef struct p2pc_sim_event {
  uint64_t at_ns;
  p2pc_sim_ev_kind kind;
  uint32_t a0, a1, b0, b1; /* node index ranges [a0,a1), [b0,b1) */
  double x;
  p2pc_sim_link link;
} p2pc_sim_event;

typedef struct p2pc_sim_config {
  uint32_t nodes;
  uint64_t duration_ns;
  uint64_t seed;
  p2pc_sim_topology topology;
  uint32_t k;              /* KREGULAR degree; also max_peers there [8] */
  uint32_t clusters;       /* CLUSTERS count [4] */
  p2pc_sim_link link;      /* default model [200 us, 20 us jitter] */
  p2pc_sim_link slow_link; /* CLUSTERS: between clusters [20 ms] */
  /* Clocks: each node's offset uniform in +-offset_max_s and drift in
   * +-drift_max_ppm (from the seed), plus the common wander/noise. */
  double offset_max_s, drift_max_ppm;
  p2pc_sim_clock clock_common;
  bool collaborative; /* clock mode [reference] */
  int8_t poll_min, poll_max;
  /* Traffic: each alive node sends at rate msgs/s (Poisson) to a random
   * peer it has up, a broadcast with probability bcast. */
  double rate, bcast;
  uint32_t payload; /* bytes [16] */
  /* Nodes that start later (JOIN events) start dead. */
  uint32_t initially_alive; /* 0 = all */
  /* KREGULAR: draw a node's random seeds only from the members, the nodes
   * up when it starts or started at t=0 (a joiner is told of members, not
   * of nodes yet to come) [false: from all nodes] */
  bool seeds_members;
  p2pc_sim_event events[P2PC_SIM_MAX_EVENTS];
  uint32_t nevents;
  /* Oracles */
  bool causal_oracle; /* on by default up to 2000 nodes (cost O(N)/msg) */
  /* Nodes the clock oracles are to leave out (error, spread, bounds,
   * convergence): a liar the scenario makes on purpose. Scenario files
   * set it (`exclude`); they are not counted in `alive` either. */
  uint32_t exclude[P2PC_SIM_MAX_EXCLUDE];
  uint32_t nexclude;
  /* The memory budget in bytes (0: none). What the run holds is counted
   * between events: every block the nodes and the simulator allocate
   * (exactly, the same on every machine: simmem.h), plus an estimate of
   * what the causal oracle, which allocates on its own, will need to give
   * its verdict. The run stops cleanly after the first event at which
   * that reaches the budget (see p2pc_sim_result.stopped), and
   * p2pc_sim_new refuses a run whose start alone needs more
   * (p2pc_sim_start_bytes). Not a scenario setting: the machine decides
   * it (the command: --mem-limit, or from the machine's memory). */
  uint64_t max_memory;
  /* Δ, the causal lifetime of every node (p2pc_causal_config.lifetime_ns):
   * a message older than this is never delivered but reported expired.
   * In ns; P2PC_SIM_LIFETIME_INF: never [60 s]. */
  uint64_t causal_lifetime_ns;
  /* Traffic to any node (`traffic ... to any`): each message goes to an
   * alive node drawn among all the others, not to a neighbour. A send the
   * node answers P2PC_ERR_AGAIN waits (at most P2PC_SIM_PENDING a node)
   * for the node's RESOLVED event about its destination: ok, it is sent
   * again; not ok, or P2PC_ERR_NOTFOUND at once, it is unaddressable. */
  bool to_any;
  /* Network-wide broadcasts: one every bcast_every_ns (0: none), each
   * from an alive, unfrozen node drawn at random. */
  uint64_t bcast_every_ns;
  /* Churn: this share (0..1) of the nodes, drawn at random (never node
   * 0), joins late or leaves during the run: half of them start at a
   * random time in [5%, 50%] of the run, the other half stop at a random
   * time in [30%, 90%] of it, cleanly or by a crash (even odds). */
  double churn;
  /* The broadcast oracle: a broadcast is owed to the nodes alive and
   * reachable from its send until duration - bcast_grace_ns [5 s]. */
  uint64_t bcast_grace_ns;
  /* The detection oracle: a crashed or frozen node is to be declared down
   * within detect_ns of its failure [10 s] by every node that had it up
   * (a peer up or suspect) at the failure and stayed healthy. */
  uint64_t detect_ns;
  /* The datagram rate: the time port's datagrams (NTP requests and
   * replies, lookups) the nodes send from dgram_after_ns on [never],
   * against the alive node-seconds over the same time. */
  uint64_t dgram_after_ns;
} p2pc_sim_config;

#define P2PC_SIM_PENDING 8 /* sends waiting for RESOLVED, a node */
/* Broadcasts the oracle follows at most (each costs 2 bits a node). */
#define P2PC_SIM_MAX_BCAST 65536
#define P2PC_SIM_MAX_EPISODES 8192 /* failures the detection oracle follows */
/* A suspicion about a node that has been alive, unfrozen and reachable
 * for less than this is excused (the news of its trouble may still be
 * going round). */
#define P2PC_SIM_SUSPECT_SETTLE_NS (5 * P2PC_SIM_SEC)

/* Defaults for n nodes (everything above). */
void p2pc_sim_config_default(p2pc_sim_config *cfg, uint32_t n);

/* One second of the run, for --csv (one row per virtual second). Its
 * counts ("this second") are of what happened since the previous row;
 * what happens at the run's last instant after its last row (timers due
 * at exactly the end) is in the result's totals only. */
typedef struct p2pc_sim_second {
  uint64_t t_s;
  uint32_t alive, synced;
  /* |network time - true time| over synced nodes, ns: p50, p99, max */
  double err_p50, err_p99, err_max;
  double spread;             /* max - min network time over synced nodes, ns */
  uint32_t bound_violations; /* synced nodes whose claimed bound is < their
                                true error against the reference */
  uint64_t msgs_sent, msgs_delivered; /* this second */
  /* Causal metadata of the messages sent this second to another node (a
   * message to self carries none and is not counted): bytes a message,
   * mean, p99 (the histogram's, see above) and max; entries a message,
   * p99. 0 when none was sent. */
  double meta_per_msg;
  uint64_t meta_p99, meta_max;
  uint32_t deps_p99;
  uint64_t buffered; /* messages held back, all nodes, now */
  uint64_t bytes;    /* TCP + UDP bytes carried this second */
  uint64_t events;   /* simulator events handled this second */
  /* Causal state (p2pc_causal_state_bytes) of the alive nodes, now: the
   * mean over them and the largest. */
  double state_mean;
  uint64_t state_max;
  /* Expiry reports this second: messages dropped by a receiver as older
   * than the causal lifetime, plus messages their sender gave up on (one
   * message can be reported at both ends). */
  uint64_t expired;
  /* This second's deliveries: latency p99 of messages and of broadcasts
   * (virtual ns), hops p99 of the deliveries flagged broadcast (0: none);
   * sends found unaddressable this second. */
  uint64_t lat_p99, bcast_lat_p99, hops_p99, unaddressable;
  /* Clock depth (reference mode): the tier of the synced nodes (hops from
   * the reference through the time sources they follow), p99 and max. */
  uint32_t tier_p99, tier_max;
} p2pc_sim_second;

typedef enum p2pc_sim_stop {
  P2PC_SIM_STOP_END,    /* it ran its whole duration */
  P2PC_SIM_STOP_BUDGET, /* what it held reached max_memory */
  P2PC_SIM_STOP_NOMEM   /* a node's allocation failed below the budget:
                           the machine gave less than that */
} p2pc_sim_stop;

typedef struct p2pc_sim_result {
  uint64_t events, wall_ns;
  /* of the events: a node's timer, TCP bytes arriving, a datagram
   * arriving (the rest: dials, the scenario's, traffic, the oracles') */
  uint64_t ev_timer, ev_tcp, ev_dgram;
  /* messages sent (each copy of a broadcast, its own included), delivered
   * to the application, reported undeliverable (expired ones included);
   * sends the nodes refused (an error from p2pc_node_send or _broadcast:
   * at a causal cap, back-pressure) */
  uint64_t msgs_sent, msgs_delivered, undeliverable, sends_refused;
  uint64_t causal_violations; /* ORDER, DUPLICATE, WRONG_DEST, ...*/
  uint64_t missing;           /* never delivered and not excused */
  bool causal_checked;
  char first_violation[512];
  double conv_s; /* first second from which spread < 100 us held */
  double final_spread_ns, final_err_max_ns;
  uint32_t final_tier_p99, final_tier_max; /* p2pc_sim_second's, at the end */
  uint64_t bound_violations;
  bool membership_ok; /* at the end: the up-link graph of alive nodes is
                         connected and each has min(k, alive-1) links */
  uint32_t alive, synced;
  /* Causal metadata per message sent to another node, over the run (see
   * p2pc_sim_second): messages measured, bytes mean / p99 / max, entries
   * p99 / max. */
  uint64_t meta_msgs;
  double meta_per_msg;
  uint64_t meta_p99, meta_max;
  uint32_t deps_p99, deps_max;
  /* Causal state a node, sampled each virtual second over the alive
   * nodes (and where the budget stopped the run): the mean and the
   * largest at the last sample, the highest mean of any, and the most any
   * node held at any. */
  double state_mean, state_peak_mean;
  uint64_t state_max, state_peak;
  /* Expiry reports (undeliverable, reason "expired"): by receivers
   * (dropped as older than the lifetime) and by senders (given up, or
   * written off by the receiver's report); and messages refused because
   * their stamp led the receiver's clock too far (`refuse` events; the
   * link offers them again). */
  uint64_t expired_rx, expired_tx, refused_ahead;
  uint64_t peak_rss_kb;
  /* Memory, in bytes, as the budget counts it (p2pc_sim_config) */
  p2pc_sim_stop stop;        /* why the run ended */
  uint64_t stop_ns;          /* the virtual time it ended at */
  uint64_t mem_now;          /* held now: counted + the oracle's estimate */
  uint64_t mem_peak;         /* the most mem_now ever was, between events */
  uint64_t mem_counted_peak; /* the nodes' and simulator's blocks alone:
                                their exact peak, within events too */
  uint64_t mem_oracle;       /* the causal oracle's share, an estimate
                                (0 when it is off), at the peak */
  /* Lookups (`at T lookup R`, dht.h): issued, ended found (RESOLVED ok,
   * or known at once), ended not found or refused; rounds (mean, max) and
   * requests a lookup, over the nodes' own counts; and the routing tables
   * of the alive nodes at the end: records (mean, max) and bytes (mean). */
  uint64_t lookups, lookups_found, lookups_failed;
  double lookup_rounds_mean, lookup_requests_mean;
  uint32_t lookup_rounds_max;
  double dht_entries_mean, dht_bytes_mean;
  uint32_t dht_entries_max;
  /* Views at the end (oracle_views.c): over the alive nodes, up links
   * (the active view) min / mean / max and a histogram (the last bin
   * counts 16 and more), passive entries min / mean; views_ok: every
   * active view within maxPeers + the slack, every passive view within
   * its bound, never the node itself or a peer of its table, and at
   * least half full. */
  bool views_ok;
  uint32_t deg_min, deg_max, passive_min;
  double deg_mean, passive_mean;
  uint32_t deg_hist[17];
  /* Traffic to any node: sends refused as unknown (P2PC_ERR_NOTFOUND, or
   * RESOLVED not ok): never accepted, so not lost; sends that waited for
   * a RESOLVED (P2PC_ERR_AGAIN); sends dropped because the node's pending
   * queue was full or a retry still got AGAIN. */
  uint64_t unaddressable, resolve_waits, pending_dropped;
  /* Latency, virtual ns from the send to the delivery, of the messages
   * (unicast) and of the broadcasts (every delivery), p50/p99/max (the
   * p's to within 1/32, rounded up); hops of the deliveries flagged
   * broadcast (u.delivered.hops). Measured from a tag in the payload:
   * none with a payload under 16 bytes. */
  uint64_t lat_n, lat_p50, lat_p99, lat_max;
  uint64_t blat_n, blat_p50, blat_p99, blat_max;
  uint64_t hops_n, hops_p50, hops_p99, hops_max;
  /* The broadcast oracle: network-wide broadcasts sent, followed (the
   * first P2PC_SIM_MAX_BCAST that fit the memory), judged (sent at least
   * bcast_grace_ns before the end); deliveries flagged broadcast; owed
   * deliveries that never came; deliveries of one broadcast to one node
   * (incarnation) after the first. */
  uint64_t bcasts, bcast_tracked, bcast_judged, bcast_flagged;
  uint64_t bcast_missing, bcast_dups;
  char bcast_first[160]; /* the first missing or duplicate, or "" */
  /* Membership accuracy: MEMBER_* events seen (MEMBER_DOWN of them);
   * flaps (PEER_DOWN, reason other than "left", "stopping" or "stopped":
   * links ended on purpose, between two nodes both
   * healthy, alive, unfrozen and in no cut, for
   * P2PC_SIM_SUSPECT_SETTLE_NS); false suspicions (SUSPECT or DOWN, from
   * such a node, about such a node in its current incarnation); failures
   * (crash, freeze) followed, judged (they lasted detect_ns and ended it
   * before the end); nodes that had the failed node up at the failure,
   * stayed healthy and did not declare it down within detect_ns; the
   * slowest declaration. */
  uint64_t member_events, member_downs, flaps, false_suspicions;
  uint64_t detect_episodes, detect_judged, detect_missed, detect_max_ns;
  char first_flap[160], first_false[160], first_missed[160];
  /* Datagrams sent and timer wake-ups run from cfg.dgram_after_ns on,
   * and the alive nodes counted each virtual second from then
   * (node-seconds). */
  uint64_t dgrams_after, wakes_after, node_s_after;
} p2pc_sim_result;

typedef struct p2pc_sim p2pc_sim;

/* The falseticker oracle: how the other nodes treat one node's clock. The
 * judges are the alive, synced nodes other than it that the clock oracles
 * count (not excluded). A judge uses the node's clock if the node is its
 * reference or the neighbour it follows, or if its source entry for the
 * node is selected or truechimer (counted into the average); otherwise it
 * rejects it: marks it a falseticker, or has it as a source it does not
 * use, or not at all. */
typedef struct p2pc_sim_falseticker {
  bool alive;          /* the node itself */
  uint32_t judges;     /* alive, synced, not excluded, not the node */
  uint32_t rejecting;  /* judges that do not use its clock */
  uint32_t marked;     /* ... of them, those that mark it a falseticker */
  uint32_t followers;  /* alive nodes (any) whose reference it is */
  uint32_t first_user; /* the lowest judge using it, UINT32_MAX: none */
} p2pc_sim_falseticker;

/* What the run of cfg needs at least, in bytes as the budget counts
 * them, before its first event: the simulator's tables and the nodes alive
 * at the start as p2pc_node_new leaves them (measured on one real node).
 * Links, messages and the oracle's records come on top as the run goes. */
uint64_t p2pc_sim_start_bytes(const p2pc_sim_config *cfg);

/* Creates the simulation (nodes, links, clocks; nothing runs yet).
 * Returns NULL with a message in err on a bad configuration, or when
 * p2pc_sim_start_bytes is over cfg->max_memory. */
p2pc_sim *p2pc_sim_new(const p2pc_sim_config *cfg, char *err, size_t errlen);
void p2pc_sim_free(p2pc_sim *s);

/* Runs until duration, or until memory stops it (the result's stop says
 * why; the rows so far were all given). progress, if
 * set, is called about every virtual second; per_second, if set, gets
 * each second's row. */
void p2pc_sim_run(p2pc_sim *s,
                  void (*progress)(void *ud, uint64_t now_ns, uint64_t end_ns),
                  void (*per_second)(void *ud, const p2pc_sim_second *row),
                  void *ud);
void p2pc_sim_result_get(const p2pc_sim *s, p2pc_sim_result *r);

/* Fills f for node i at the current virtual time (also from within the
 * per_second callback). It only reads: the run goes on exactly as it
 * would without the call. Returns false if i is not a node. */
bool p2pc_sim_falseticker_get(const p2pc_sim *s, uint32_t i,
                              p2pc_sim_falseticker *f);

#endif /* P2PC_SIM_H */
