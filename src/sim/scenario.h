/* SPDX-License-Identifier: MIT */
/*
 * Scenarios for the simulator: a small line-oriented text format that
 * fills a p2pc_sim_config (sim.h) and a list of expectations, the oracles
 * a run must satisfy. One directive a line, '#' starts a comment, words
 * are separated by blanks:
 *
 *   nodes 100
 *   duration 120s
 *   seed 7
 *   topology kregular 8        # full | kregular K | ring | clusters C
 *   mode reference             # or collaborative
 *   link delay 200us jitter 20us asym 0.3 loss 1% dup 0 reorder 0
 *        bandwidth 100Mbit heavy 0.01      (one line; any subset)
 *   slowlink delay 20ms jitter 1ms         # clusters: between clusters
 *   clocks offset 1s drift 200ppm wander 0.01ppm noise 50ns granularity 0
 *   traffic rate 1 bcast 0.1 payload 16 to neighbours   # or: to any
 *   broadcast every 1s         # network-wide, from a random live node
 *   churn 10%                  # that share joins late or leaves (0..90%)
 *   alive 10                   # nodes started at t=0, the rest JOIN later
 *   poll -3 1
 *   causal on                  # the causal oracle: on | off
 *   lifetime 60                # Δ, the causal lifetime: seconds (60, 90s,
 *                              # 2min) or inf [60]
 *   seeds members              # kregular seeds: members only | any node
 *   exclude 3                  # left out of the clock oracles (a liar)
 *   at 30s partition 0-49 50-99
 *   at 60s heal
 *   at 20s crash 0             # a node index or a range a-b (inclusive)
 *   at 25s restart 0
 *   at 10s slow 3 x10
 *   at 5s join 10-19
 *   at 0s..60s join 10-999     # one node at a time, evenly spread
 *   at 40s leave 5
 *   at 30s freeze 7 for 4s     # handles nothing (SIGSTOP); links stay up
 *   at 45s clockstep 3 +0.05s
 *   at 45s clockfreq 3 500ppm
 *   at 45s clockfreqstep 0 +50ppm   # its drift changes by +50 ppm
 *   at 50s link delay 1ms jitter 100us     # the default link changes
 *   at 30s lookup 0-99         # each looks a random node's record up
 *   at 5s lookup 0-99 of 199   # ... of a node of 199 (a node or range)
 *   expect spread < 100us after 60s         # every second from 60 s on
 *   expect spread < 100us after 22s until 40s
 *   expect tier_max <= 3 after 30s          # the clock's depth (tiers)
 *   expect error < 1ms after 30s
 *   expect converge < 20s
 *   expect causal ok | membership ok | bounds ok | lookups ok | views ok
 *   expect bounds ok after 30s    # the violations of those seconds only
 *   expect synced all | expect synced >= 90
 *   expect falseticker 3                    # at the end
 *   expect falseticker 3 after 30s until 100s   # every second in between
 *   expect expired 0 | expect expired <= 10     # expiry reports, the run
 *   expect meta_p99 <= 1024     # causal metadata bytes a message, the run
 *   expect flaps 0 | expect flaps <= N      # peer_down without a fault
 *   expect broadcast ok [grace 5s]          # exactly once to every owed node
 *   expect bcast_p99_hops <= 10 | expect bcast_latency_p99 < 50ms
 *   expect latency_p99 < 20ms               # messages, send to delivery
 *   expect false_suspicions 0 | expect false_suspicions <= N
 *   expect detect < 2s            # every failure, by the nodes tracking it
 *   expect unaddressable 0 | expect unaddressable <= N
 *   expect dgram_rate <= 3.5 after 60s   # time-port datagrams a node a s
 *   expect wake_rate <= 14 after 60s     # timer wake-ups a node a second
 *
 * Times take a unit (ns, us, ms, s, min), rates ppm, bandwidths bit, Kbit,
 * Mbit or Gbit (per second), probabilities a fraction or a percentage.
 * The command's --duration takes the same times, and plain seconds too.
 * Later lines override earlier ones, and the command's flags override the
 * file. `at T link ...` sets the fields it names; the others keep the
 * values the `link` lines above it gave. Events at the same time happen in
 * the order of the file. Node indices are checked against the final node count
 * by p2pc_scenario_finish, after the flags.
 *
 * `expect expired 0` (or `<= N`): the run's expiry reports, messages a
 * receiver dropped as older than the causal lifetime plus messages their
 * sender gave up on (p2pc_sim_result.expired_rx + expired_tx; one message
 * may count at both ends), at most N. `expect meta_p99 <= BYTES`: the
 * 99th percentile over the run of the causal metadata a message sent to
 * another node carries (p2pc_sim_result.meta_p99, to within the 8-byte
 * bins of its histogram, rounded up); SKIP when no such message was sent.
 * Both are judged at the end, also of a run the memory budget stopped.
 *
 * The overlay (sim.h has the details): `traffic ... to any` sends each
 * message to an alive node drawn among all the others (`to neighbours`,
 * the default: to a peer the sender has up); a send answered AGAIN waits
 * for the sender's RESOLVED event, one answered NOTFOUND (or RESOLVED not
 * ok) is unaddressable. `broadcast every T` (1ms..1 day; `broadcast off`)
 * sends one network-wide broadcast every T from a random alive, unfrozen
 * node. `churn P`: that share of the nodes (never node 0), drawn from the
 * seed, half starting at a random time in [5%, 50%] of the run, half
 * stopping in [30%, 90%] of it, by leave or crash. `at T freeze R for D`:
 * the nodes handle no event for D (timers, input, dials wait; TCP stays
 * up, so their peers see silence), as a SIGSTOP would.
 *
 * `expect broadcast ok [grace T]`: each broadcast sent before the end
 * minus the grace [5s] was delivered, flagged broadcast, exactly once to
 * every node other than its sender that was alive, unfrozen and not
 * cut from the sender from its send to the end minus the grace; SKIP when no
 * delivery was flagged broadcast (the nodes' broadcast is not network-wide).
 * `bcast_p99_hops`, `bcast_latency_p99`, `latency_p99`: the run's p99s
 * (latency in virtual time from the send; payload >= 16 bytes), SKIP
 * with nothing measured. A node is healthy while it is alive, unfrozen
 * and in no cut; settled when it has been healthy for 5 s. `flaps`:
 * peer_down events (reason other than "left", "stopping", "stopped":
 * links ended on purpose) between two settled nodes.
 * `false_suspicions`: member_suspect or member_down events from a settled
 * node about a settled node in its current incarnation. `detect < T`:
 * every crash or freeze lasting T declared member_down within T by every
 * node that had it up (a peer up or suspect) at the failure and stayed
 * healthy over that window (T is also the oracle's window); SKIP when no
 * failure lasted the window. `unaddressable`: sends refused as unknown
 * (NOTFOUND at once, or RESOLVED not ok after an AGAIN).
 *
 * `expect falseticker N`: node N's clock is rejected by every other alive,
 * synced node the clock oracles count (one that follows or averages it
 * in fails it; marking it a falseticker or not using it passes), and N is
 * alive and nobody's reference. Without after/until it is judged at the
 * end of the run; with them, every second from after to until. A liar
 * that comes back to the common time is taken in again, so give its lie
 * a window.
 *
 * The parser reads untrusted text: lines are bounded, every number is
 * range-checked, and it never reads past the length it was given.
 */
#ifndef P2PC_SIM_SCENARIO_H
#define P2PC_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#define P2PC_SCN_MAX_LINE 512       /* bytes, without the newline */
#define P2PC_SCN_MAX_FILE (1 << 20) /* bytes */
#define P2PC_SCN_MAX_EXPECT 32
#define P2PC_SCN_ERR_LEN 768

typedef enum p2pc_scn_expect_kind {
  P2PC_SCN_SPREAD,      /* each second in [after, until): spread < limit ns */
  P2PC_SCN_ERROR,       /* each second in [after, until): err_max < limit */
  P2PC_SCN_CONVERGE,    /* the engine's convergence time < limit s */
  P2PC_SCN_CAUSAL,      /* causal oracle ran: no violation, nothing missing */
  P2PC_SCN_MEMBERSHIP,  /* the engine's membership check at the end */
  P2PC_SCN_BOUNDS,      /* no claimed error bound violated, ever */
  P2PC_SCN_VIEWS,       /* at the end: the views oracle (views_ok) */
  P2PC_SCN_SYNCED,      /* at the end: synced == alive, or >= count */
  P2PC_SCN_FALSETICKER, /* node's clock rejected by every other synced node
                           (p2pc_sim_falseticker), at the end, or each
                           second in [after, until) if at_end is false */
  P2PC_SCN_EXPIRED,     /* expiry reports (receivers + senders) <= limit */
  P2PC_SCN_META_P99,    /* the run's p99 of causal metadata bytes per
                           message sent to another node <= limit */
  P2PC_SCN_LOOKUPS,     /* lookups were issued, and every one found its
                           node's record */
  P2PC_SCN_FLAPS,       /* peer_down without a fault <= limit */
  P2PC_SCN_BCAST,       /* every broadcast to every owed node, once */
  P2PC_SCN_BCAST_HOPS,  /* the run's p99 of broadcast hops <= limit */
  P2PC_SCN_BCAST_LAT,   /* the run's p99 of broadcast latency < limit ns */
  P2PC_SCN_LATENCY,     /* the run's p99 of message latency < limit ns */
  P2PC_SCN_FALSE_SUSP,  /* false suspicions <= limit */
  P2PC_SCN_DETECT,      /* every failure declared down by all < limit s */
  P2PC_SCN_UNADDR,      /* unaddressable sends <= limit */
  P2PC_SCN_TIER_MAX,    /* each second in [after, until): the deepest
                           synced node's tier <= limit */
  P2PC_SCN_TIER_P99,    /* ... the p99 of the synced nodes' tiers */
  P2PC_SCN_DGRAM_RATE,  /* datagrams a node sends a second, from after to
                           the end (cfg.dgram_after_ns) <= limit */
  P2PC_SCN_WAKE_RATE    /* a node's wake-ups (timer events that ran its
                           deadline) a second, the same window <= limit */
} p2pc_scn_expect_kind;

typedef struct p2pc_scn_expect {
  p2pc_scn_expect_kind kind;
  double limit;      /* SPREAD, ERROR, BCAST_LAT, LATENCY: ns; CONVERGE,
                        DETECT: s; EXPIRED, FLAPS, FALSE_SUSP, UNADDR: a
                        count;
                        META_P99: bytes; BCAST_HOPS: hops */
  uint64_t after_ns; /* SPREAD, ERROR: the seconds t, after <= t < until */
  uint64_t until_ns; /* UINT64_MAX: to the end */
  uint32_t count;    /* SYNCED: at least this many; 0 = all alive */
  uint32_t node;     /* FALSETICKER: the liar's index */
  bool at_end;       /* FALSETICKER: no after/until was given */
  uint32_t line;     /* where it was written, 0: not from a file */
  char text[96];     /* normalised, for the summary */
} p2pc_scn_expect;

typedef struct p2pc_scenario {
  p2pc_sim_config cfg;
  p2pc_scn_expect expect[P2PC_SCN_MAX_EXPECT];
  uint32_t nexpect;
  int causal;     /* `causal on|off`: 1, 0; -1: the default for the size */
  char file[256]; /* for messages: "FILE:LINE: ..." */
  uint32_t ev_line[P2PC_SIM_MAX_EVENTS]; /* where cfg.events[i] came from */
  uint32_t alive_line, k_line, exclude_line;
} p2pc_scenario;

/* Sets sc to the defaults of p2pc_sim_config_default for n nodes, with no
 * expectations. file names the source in messages ("" if none). */
void p2pc_scenario_init(p2pc_scenario *sc, uint32_t n, const char *file);

/* Parses len bytes of scenario text into sc (on top of what it holds).
 * Returns 0, or P2PC_ERR_INVAL with "FILE:LINE: message" in err. The text
 * need not be NUL-terminated; a NUL byte in it is an error. */
int p2pc_scenario_parse(p2pc_scenario *sc, const char *text, size_t len,
                        char *err, size_t errlen);

/* Reads and parses the file at path (at most P2PC_SCN_MAX_FILE bytes):
 * p2pc_scenario_init for 10 nodes, then p2pc_scenario_parse. Returns 0,
 * P2PC_ERR_INVAL, or -errno when the file cannot be read; err says what
 * and where. */
int p2pc_scenario_load(p2pc_scenario *sc, const char *path, char *err,
                       size_t errlen);

/* Parses a run's duration as the `duration` line does: a time 1s..30 days
 * with its unit (120s, 10min, 1500ms). bare_s: a number without a unit is
 * seconds (the command's --duration 600); otherwise it is refused. Writes
 * *ns only on success; returns false on anything else. */
bool p2pc_scenario_duration(const char *s, bool bare_s, uint64_t *ns);

/* Parses a causal lifetime as the `lifetime` line and the command's
 * --causal-lifetime do: seconds 0.001..1e6, a plain number or a time with
 * its unit (90s, 2min, 500ms), or "inf" (P2PC_SIM_LIFETIME_INF). Writes
 * *ns only on success. */
bool p2pc_scenario_lifetime(const char *s, uint64_t *ns);

/* Parses a --topology value: full, ring, kregular:K, clusters:C. Returns
 * false on anything else. */
bool p2pc_scenario_topology(const char *s, p2pc_sim_topology *t, uint32_t *k,
                            uint32_t *clusters);

/* Completes sc once the flags are in: the causal oracle's default for the
 * final node count, then what only the final configuration can tell:
 * node ranges within the node count, alive <= nodes. Returns 0 or
 * P2PC_ERR_INVAL with "FILE:LINE: message" in err. */
int p2pc_scenario_finish(p2pc_scenario *sc, char *err, size_t errlen);

/* Judging the expectations: fed every per-second row, then the result. */
typedef struct p2pc_scn_verdict {
  bool pass;
  bool skipped;    /* could not be judged (CAUSAL: the oracle did not run) */
  bool seen;       /* SPREAD, ERROR: some second in [after, until) */
  double measured; /* the worst value seen / the value judged */
  char detail[96]; /* e.g. "max 12.3 us over 30 s" */
} p2pc_scn_verdict;

typedef struct p2pc_scn_judge {
  p2pc_scn_verdict v[P2PC_SCN_MAX_EXPECT];
  uint32_t n;
} p2pc_scn_judge;

void p2pc_scn_judge_init(p2pc_scn_judge *j, const p2pc_scenario *sc);
void p2pc_scn_judge_row(p2pc_scn_judge *j, const p2pc_scenario *sc,
                        const p2pc_sim_second *row);
/* Feeds the oracles that need the nodes' own view (FALSETICKER) from the
 * simulator s: call it after each row (t_s: the row's second, end false)
 * and once after the run (end true). It only reads s. */
void p2pc_scn_judge_sim(p2pc_scn_judge *j, const p2pc_scenario *sc,
                        const p2pc_sim *s, uint64_t t_s, bool end);
/* Judges the rest from the result; returns the number of failures. */
uint32_t p2pc_scn_judge_end(p2pc_scn_judge *j, const p2pc_scenario *sc,
                            const p2pc_sim_result *r);

/* "1.5 ms", "120 us", "800 ns": ns, three significant figures. */
void p2pc_scn_format_ns(double ns, char *s, size_t n);

#endif /* P2PC_SIM_SCENARIO_H */
