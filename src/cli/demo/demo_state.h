/* SPDX-License-Identifier: MIT */
/*
 * What the parts of `p2pclock demo` (src/cli/demo/) share: the bounds and
 * timings of a run, each node as the demo sees it (its process, its
 * control socket, its latest status, clock and NTP answers, its event log
 * being read), the causal chain round, and the run's state. Private to
 * src/cli/demo/; the command's entry point is demo.h.
 *
 * The run is single-threaded: every part takes the run by pointer and
 * none keeps state of its own, but for the stop flag that the signal
 * handler sets.
 */
#ifndef P2PC_CLI_DEMO_STATE_H
#define P2PC_CLI_DEMO_STATE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "client.h"
#include "demo.h"
#include "demo_holdback.h"
#include "demo_opts.h"
#include "evcheck.h"

#define PATH_LEN 4096
#define SOCK_LEN 108 /* sun_path */
#define NODE_ARGS 32
#define ID_LEN (P2PC_HOLDBACK_ID_MAX + 1)

#define TICK_MS 10
#define TABLE_EVERY_S 0.5   /* live table on a terminal */
#define LINE_EVERY_S 2.0    /* progress line otherwise */
#define CALL_MS 1000        /* one control request of the demo */
#define RECONNECT_MS 300    /* reconnecting to a node's control socket */
#define MESH_BASE_S 30.0    /* waiting for the mesh: this + 0.5 s a node */
#define QUIET_S 60.0        /* waiting for in-flight messages to settle */
#define STOP_CMD_S 10.0     /* after the stop command, before SIGTERM */
#define STOP_TERM_S 3.0     /* after SIGTERM, before SIGKILL */
#define STOP_KILL_S 2.0     /* after SIGKILL */
#define RESTART_AFTER_S 2.0 /* the killed node is down this long */
#define KILL_AT 0.4         /* of the duration */
#define BROADCAST_ONE_IN 5  /* requests that are broadcasts */
#define EVENTS_SHOWN 5      /* latest events on the live table */
#define NOTE_LEN 160        /* one event's text */
#define PROBLEMS_MAX 8

/* Hold-back on purpose (the causal chains) */
#define SLOW_DELAY_MS 1500 /* the slow node holds each message 0..this */
#define OTHER_DELAY_MS 50  /* every other node: 0..this */
#define CHAIN_SLOW 5       /* a round's messages over the slow link */
#define CHAIN_RELAYS 3     /* relays a round goes through, at most */
#define CHAIN_GAP_S 0.2    /* between rounds */
#define CHAIN_GIVE_UP_S (SLOW_DELAY_MS / 1000.0 + 3.0) /* a round's bound */
#define CHAIN_EXTRA_S 30.0 /* more rounds if nothing was held back yet */
#define NARRATED 3         /* holds told line by line without a terminal */
#define TAIL_READ 65536    /* bytes read from one log per read */

/* The clocks */
#define CLOCK_OFFSET_MAX_S 1.0   /* virtual clock offsets: +-this */
#define CLOCK_DRIFT_MAX_PPM 200  /* virtual clock drifts: +-this */
#define NTP_EVERY_S 1.0          /* one NTP round over the nodes */
#define NTP_WAIT_MS 100          /* for one node's NTP reply */
#define CLOCK_SYNC_S 60.0        /* waiting for every clock to be synced */
#define CLOCK_HOLD_S 2.0         /* synced this long before measuring */
#define FINAL_ROUNDS 20          /* the final measurement: rounds ... */
#define FINAL_BATCHES 5          /* ... of up to this many batches ... */
#define FINAL_EVERY_MS 100       /* ... this far apart */
#define FINAL_SLACK_NS 50000     /* rounds kept: delays <= 3 x least + this */
#define FINAL_KEEP 7             /* rounds kept, at least */
#define CLOCK_AGREE_NS 1000000.0 /* the verdict wants them within 1 ms */

typedef enum p2pc_demo_node_state {
  NODE_STARTING, /* spawned, not answering yet */
  NODE_UP,       /* answers status */
  NODE_KILLED,   /* killed by the demo, to be restarted */
  NODE_DEAD,     /* exited without being asked to */
  NODE_STOPPED   /* exited after the demo's stop */
} p2pc_demo_node_state;

typedef struct p2pc_demo_node {
  char id[16]; /* "n" and an int, with room to spare */
  char events[PATH_LEN + 32], log[PATH_LEN + 32], sock[SOCK_LEN];
  char listen[32], peer[32];
  char clk_offset[32], clk_drift[32]; /* the virtual clock's flags */
  char delay[24];                     /* its --chaos-delay */
  char key[SOCK_LEN];                 /* its identity key file */
  char *argv[NODE_ARGS];
  uint16_t port;
  pid_t pid; /* 0 when not running */
  p2pc_demo_node_state state;
  p2pc_ctl ctl;
  double credit; /* traffic requests owed */
  /* the latest status answer */
  bool seen;
  int peers_up;
  double sent, delivered, buffered;
  /* the latest tracking answer */
  bool clk_seen, synced, is_ref;
  bool mode_ok; /* it runs the demo's clock mode */
  char ref[40];
  int truechimers;
  double err_ns;
  /* the latest NTP round: network time - the demo's real clock */
  bool ntp_ok;
  int ntp_li;
  int64_t ntp_offset, ntp_delay;
  char exit_text[64]; /* how it ended, if it did by itself */
  /* its event log, read as it grows: bytes read so far, and the start of
   * a line not complete yet (at most P2PC_EVCHECK_LINE_MAX + 1 bytes: the
   * checker takes a longer one as too long) */
  int ev_fd;
  off_t ev_off;
  char *ev_buf;
  size_t ev_len, ev_cap;
  bool ev_lost;           /* the checker ignores the rest of this log */
  char first_inc[ID_LEN]; /* its first incarnation: shown without its tag */
} p2pc_demo_node;

/* A causal chain round (demo_traffic.c tells how it makes a hold-back). */
typedef struct p2pc_demo_chain {
  int rounds; /* started */
  bool active;
  double started, next_at;
  int nrelays, next_relay;
  int relay[CHAIN_RELAYS];
  char slow[CHAIN_SLOW][ID_LEN]; /* the slow node's messages to the receiver */
  char hint[CHAIN_RELAYS][ID_LEN];   /* ... then to each relay */
  char follow[CHAIN_RELAYS][ID_LEN]; /* each relay's to the receiver */
  bool hint_got[CHAIN_RELAYS], follow_sent[CHAIN_RELAYS];
  int open;  /* the round's messages the receiver has not delivered yet */
  bool held; /* the receiver held a relay's message back this round */
  int held_rounds;
  uint64_t sends, refused; /* over all rounds */
} p2pc_demo_chain;

/* The hold-back the verdict shows as its example. */
typedef struct p2pc_demo_example {
  bool set, chain; /* chain: from a round, with its whole path known */
  int receiver, relay;
  char held[ID_LEN], after[ID_LEN], hint[ID_LEN];
  char slow_first[ID_LEN], slow_last[ID_LEN];
  uint64_t waited_ns;
} p2pc_demo_example;

typedef struct p2pc_demo {
  p2pc_demo_opts o;
  char self[PATH_LEN];
  char tmp[64];          /* sockets, and the logs unless --keep-logs */
  char cluster_key[96];  /* the demo network's cluster key file, in tmp */
  char logdir[PATH_LEN]; /* the event logs and stderr logs */
  p2pc_demo_node *n;
  double t0; /* monotonic seconds at the start of the traffic */
  FILE *out; /* the live view and the human verdict */
  bool tty;  /* out is a terminal: a live table */
  uint64_t seed;
  uint64_t rng;
  int victim; /* index of the node to kill, -1 for none */
  double kill_t, restart_t;
  bool killed, restarted;
  int table_lines; /* lines of the live table on screen */
  int width;       /* of the terminal */
  char events[EVENTS_SHOWN][NOTE_LEN + 16];
  int nevents;
  /* what went wrong besides the verdict: a node that died by itself, a
   * mesh that never formed, a node that ignored the stop command */
  char problems[PROBLEMS_MAX][256];
  int nproblems;
  /* traffic counters */
  uint64_t sends, broadcasts, bc_peers, refused_bp, refused_nosess,
      refused_other, failed;
  char other_error[160];
  /* hold-back: the slow node and the chains' receiver (-1 with fewer than
   * three nodes), the event logs' reader, what the live view told */
  int slow, recv;
  p2pc_demo_chain ch;
  p2pc_holdback *hb;
  p2pc_evcheck *ec; /* the verdict's oracle, fed as the logs are read */
  bool check_nomem;
  uint64_t holds; /* `buffer` lines read, all nodes */
  int narrated;   /* holds told line by line */
  char told[NARRATED][ID_LEN];
  bool told_more;
  p2pc_demo_example ex;
  /* the clocks, as the demo sees them from outside over NTP */
  int ntp_fd;
  uint64_t cookie_rng; /* NTP cookies: not from rng, which replays */
  double next_ntp;
  int ntp_answered;     /* nodes answering in the latest round */
  int64_t ntp_median;   /* their median offset from the real clock */
  int64_t ntp_spread;   /* max - min of their offsets */
  char common_ref[40];  /* the reference all synced nodes agree on */
  bool all_synced_seen; /* noted the first time every clock is synced */
  bool all_synced_now;  /* every running clock synced, at the last poll */
  /* the final measurement */
  bool final_done;
  int final_rounds, final_kept, final_nodes;
  double final_median, final_max;
  char final_ref[40];
} p2pc_demo;

/* The signal that asked the demo to stop (SIGINT or SIGTERM), 0 if none:
 * every loop of the demo checks it. Set by the handler in demo.c. */
extern volatile sig_atomic_t p2pc__demo_stop_signal;

/* ---- small helpers ------------------------------------------------------ */

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL); /* a signal cuts it short, as wanted */
}

static inline uint64_t rnd(p2pc_demo *d) {
  d->rng ^= d->rng << 13;
  d->rng ^= d->rng >> 7;
  d->rng ^= d->rng << 17;
  return d->rng;
}

static inline double elapsed(const p2pc_demo *d) { return now_s() - d->t0; }

#endif /* P2PC_CLI_DEMO_STATE_H */
