/* SPDX-License-Identifier: MIT */
/*
 * The demo of demo.h. One thread, one loop ticking every 10 ms: it reaps
 * its child nodes, carries out the kill and the restart when their time
 * comes, reads the nodes' event logs as they grow (demo_holdback.h tells
 * which message a node holds back and why), runs the causal chains,
 * spends each node's traffic credit on control requests, and polls status
 * for the live view. Nodes run in their own process group (a Ctrl-C at the
 * terminal reaches only the demo, which then stops them in order) and die
 * with the demo (PR_SET_PDEATHSIG), and every process the demo ends it ends
 * by PID.
 *
 * Hold-back on purpose: one node (the slow node, never the one killed)
 * runs with --chaos-delay 0:1500, so each of its messages waits a random
 * 0..1.5 s before it goes out (in order on each link, not across links).
 * A causal chain round: the slow node sends several messages to a
 * receiver, then one to each of up to three relays; as soon as a relay's
 * event log shows that message delivered, the relay sends one to the
 * receiver. That message depends on everything the slow node had sent
 * before, so if it arrives before the last of the slow messages (whose
 * delay is the largest of several draws), SES must hold it back. A round
 * fails to show this only if every relay's hop is slower than the slowest
 * of the receiver's messages; over the rounds of a run that is negligible,
 * and if no message was held by the end of the traffic, rounds go on
 * (bounded) until one is.
 *
 * The verdict is the causal oracle's (src/check/evcheck.h, run in-process
 * on the event logs) plus the clocks': each node runs a virtual clock (its
 * own offset and drift), and the demo, as a standard NTP client with its
 * own real clock, queries every node's time port once a second (the live
 * view shows each node's offset from the median of all) and, at the end,
 * once the killed node is back and synced again, measures how far apart
 * the nodes' network times are. Every wait is bounded, and the bounds are
 * generous: on a slow machine the demo takes longer, it does not fail.
 */
#include "demo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cJSON.h"
#include "client.h"
#include "demo_holdback.h"
#include "evcheck.h"

#define EXIT_USAGE 2
#define PATH_LEN 4096
#define SOCK_LEN 108 /* sun_path */
#define NODE_ARGS 28
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

#define NTP_LEN 48
#define NTP_UNIX_OFFSET 2208988800LL /* 1970 - 1900, seconds */

typedef enum node_state {
  NODE_STARTING, /* spawned, not answering yet */
  NODE_UP,       /* answers status */
  NODE_KILLED,   /* killed by the demo, to be restarted */
  NODE_DEAD,     /* exited without being asked to */
  NODE_STOPPED   /* exited after the demo's stop */
} node_state;

typedef struct dnode {
  char id[16]; /* "n" and an int, with room to spare */
  char events[PATH_LEN + 32], log[PATH_LEN + 32], sock[SOCK_LEN];
  char listen[32], peer[32];
  char clk_offset[32], clk_drift[32]; /* the virtual clock's flags */
  char delay[24];                     /* its --chaos-delay */
  char *argv[NODE_ARGS];
  uint16_t port;
  pid_t pid; /* 0 when not running */
  node_state state;
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
} dnode;

typedef struct demo_opts {
  int nodes;
  double duration, rate;
  const char *keep; /* --keep-logs DIR or NULL */
  bool kill;
  /* --clock-mode: "reference" or "collaborative", told to every node; in
   * collaborative mode there is no reference to wait for or show */
  char clock_mode[16];
  bool collab;
  bool json; /* --json: the verdict on stdout as JSON, the rest on stderr */
} demo_opts;

/* A causal chain round (see the top of this file). */
typedef struct chain {
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
} chain;

/* The hold-back the verdict shows as its example. */
typedef struct example {
  bool set, chain; /* chain: from a round, with its whole path known */
  int receiver, relay;
  char held[ID_LEN], after[ID_LEN], hint[ID_LEN];
  char slow_first[ID_LEN], slow_last[ID_LEN];
  uint64_t waited_ns;
} example;

typedef struct demo {
  demo_opts o;
  char self[PATH_LEN];
  char tmp[64];          /* sockets, and the logs unless --keep-logs */
  char logdir[PATH_LEN]; /* the event logs and stderr logs */
  dnode *n;
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
  chain ch;
  p2pc_holdback *hb;
  p2pc_evcheck *ec; /* the verdict's oracle, fed as the logs are read */
  bool check_nomem;
  uint64_t holds; /* `buffer` lines read, all nodes */
  int narrated;   /* holds told line by line */
  char told[NARRATED][ID_LEN];
  bool told_more;
  example ex;
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
} demo;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

/* ---- small helpers ------------------------------------------------------ */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL); /* a signal cuts it short, as wanted */
}

static uint64_t rnd(demo *d) {
  d->rng ^= d->rng << 13;
  d->rng ^= d->rng >> 7;
  d->rng ^= d->rng << 17;
  return d->rng;
}

static double elapsed(const demo *d) { return now_s() - d->t0; }

/* Records a dated event: printed at once without a terminal, else shown
 * under the live table. */
static void note(demo *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(demo *d, const char *fmt, ...) {
  char text[NOTE_LEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  double t = d->t0 > 0 ? elapsed(d) : 0;
  if (d->nevents == EVENTS_SHOWN) {
    memmove(d->events[0], d->events[1],
            sizeof d->events[0] * (EVENTS_SHOWN - 1));
    d->nevents--;
  }
  snprintf(d->events[d->nevents++], sizeof d->events[0], "%5.1f s  %s", t,
           text);
  if (!d->tty || d->table_lines == 0) {
    fprintf(d->out, "[%5.1f s] %s\n", t, text);
    fflush(d->out);
  }
}

static void problem(demo *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(demo *d, const char *fmt, ...) {
  va_list ap;
  if (d->nproblems == PROBLEMS_MAX)
    return;
  va_start(ap, fmt);
  vsnprintf(d->problems[d->nproblems++], sizeof d->problems[0], fmt, ap);
  va_end(ap);
}

/* ---- options ------------------------------------------------------------ */

static const char demo_help[] =
    "usage: p2pclock demo [--nodes N] [--duration S] [--rate R]\n"
    "                     [--clock-mode M] [--keep-logs DIR] [--no-kill]\n"
    "                     [--json]\n"
    "\n"
    "Starts N nodes (p2pclock node) on 127.0.0.1, each told only of the\n"
    "previous one; waits until every node sees the N-1 others; sends random\n"
    "messages and broadcasts through their control sockets for S seconds;\n"
    "kills one node with SIGKILL at 40 % of the time and restarts it 2 s\n"
    "later; then stops them all and checks their event logs (the checker\n"
    "of p2pclock check).\n"
    "\n"
    "Causal hold-back: one node (never the one killed) is slow: each of its\n"
    "messages waits 0..1500 ms before it goes out (--chaos-delay 0:1500;\n"
    "the others 0:50). Besides the random traffic the demo runs causal\n"
    "chains: the slow node sends a few messages to a receiver, then one to\n"
    "a relay, which, once it has it, writes to the receiver. That message\n"
    "depends on the slow ones; when it arrives first, the receiver holds it\n"
    "back until they are delivered. The live view shows each hold, what it\n"
    "waits for and what released it; the verdict counts them. With fewer\n"
    "than 3 nodes nothing can arrive early. If nothing was held back when\n"
    "the traffic ends, chains go on for at most 30 s more.\n"
    "\n"
    "Clocks: each node runs a virtual clock, off by up to 1 s and drifting\n"
    "by up to 200 ppm (from the seed). In reference mode the nodes elect a\n"
    "reference and follow it; in collaborative mode there is none: each\n"
    "steers to a weighted mean of its neighbours' network times and its\n"
    "own. Once a second the demo queries every node over NTP, as a standard\n"
    "client, and shows its offset from the median of all; at the end, with\n"
    "the restarted node synced again, it measures how far apart the nodes'\n"
    "network times are (the verdict wants them within 1 ms).\n"
    "\n"
    "  --nodes N        2..20 [5]\n"
    "  --duration S     seconds of traffic, 1..3600 [20]\n"
    "  --rate R         random requests per second per node, 0..1000 [5];\n"
    "                   one in five is a broadcast\n"
    "  --clock-mode M   reference or collaborative, passed to every node\n"
    "                   (p2pclock node --clock-mode) [reference]\n"
    "  --keep-logs DIR  keep the logs in DIR (created if needed; its\n"
    "                   nX.events and nX.log files are replaced)\n"
    "                   [a temporary directory, removed after a passing run]\n"
    "  --no-kill        kill nobody\n"
    "  --json           print the verdict as one JSON object on stdout (its\n"
    "                   fields: docs/DEMO.md); the live view and the verdict\n"
    "                   in words go to stderr\n"
    "\n"
    "P2PC_SEED=N replays a run's choices (clocks, victim, traffic).\n"
    "Exit status: 0 when causal order held, every message was delivered\n"
    "exactly once or is excused by the kill, the clocks agree within 1 ms\n"
    "and nothing else went wrong; 1 not (or the network could not be run);\n"
    "2 usage error; 130 (143) interrupted by SIGINT (SIGTERM).\n";

static int demo_usage(const char *what, const char *arg) {
  fprintf(stderr, "p2pclock demo: %s \"%s\" (try p2pclock demo --help)\n", what,
          arg);
  return EXIT_USAGE;
}

static bool parse_num(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi))
    return false;
  *out = v;
  return true;
}

/* Returns -1 to go on, else an exit status. */
static int parse_opts(demo_opts *o, int argc, char **argv) {
  *o = (demo_opts){.nodes = 5,
                   .duration = 20,
                   .rate = 5,
                   .kill = true,
                   .clock_mode = "reference"};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = NULL, *eq = strchr(a, '=');
    char flag[32];
    size_t fl = eq ? (size_t)(eq - a) : strlen(a);
    snprintf(flag, sizeof flag, "%.*s", (int)(fl < 31 ? fl : 31), a);
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(demo_help, stdout);
      return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    if (strcmp(a, "--no-kill") == 0) {
      o->kill = false;
      continue;
    }
    if (strcmp(a, "--json") == 0) {
      o->json = true;
      continue;
    }
    bool takes =
        strcmp(flag, "--nodes") == 0 || strcmp(flag, "--duration") == 0 ||
        strcmp(flag, "--rate") == 0 || strcmp(flag, "--keep-logs") == 0 ||
        strcmp(flag, "--clock-mode") == 0;
    if (!takes)
      return demo_usage(a[0] == '-' ? "unknown option" : "unexpected argument",
                        a);
    if (eq)
      v = eq + 1;
    else if (i + 1 < argc)
      v = argv[++i];
    else
      return demo_usage("missing value after", a);
    double x;
    if (strcmp(flag, "--nodes") == 0) {
      if (!parse_num(v, P2PC_DEMO_NODES_MIN, P2PC_DEMO_NODES_MAX, &x) ||
          x != (double)(int)x)
        return demo_usage("--nodes must be an integer 2..20, got", v);
      o->nodes = (int)x;
    } else if (strcmp(flag, "--duration") == 0) {
      if (!parse_num(v, 1, 3600, &x))
        return demo_usage("--duration must be 1..3600 seconds, got", v);
      o->duration = x;
    } else if (strcmp(flag, "--rate") == 0) {
      if (!parse_num(v, 0, 1000, &x))
        return demo_usage("--rate must be 0..1000 requests/s, got", v);
      o->rate = x;
    } else if (strcmp(flag, "--clock-mode") == 0) {
      if (strcmp(v, "reference") != 0 && strcmp(v, "collaborative") != 0)
        return demo_usage(
            "--clock-mode must be reference or collaborative, got", v);
      snprintf(o->clock_mode, sizeof o->clock_mode, "%s", v);
      o->collab = strcmp(v, "collaborative") == 0;
    } else {
      if (!*v)
        return demo_usage("--keep-logs needs a directory, got", v);
      o->keep = v;
    }
  }
  return -1;
}

/* ---- setting up --------------------------------------------------------- */

/* Picks n distinct free ports of 127.0.0.1, free for both TCP and UDP (a
 * node listens on both): all are held while picking, so none repeats. */
static int pick_ports(dnode *nodes, int n) {
  int fds[2 * P2PC_DEMO_NODES_MAX];
  int nfds = 0, rv = 0;
  for (int i = 0; i < n && rv == 0; i++) {
    int tries = 0;
    for (;;) {
      struct sockaddr_in sa = {.sin_family = AF_INET};
      socklen_t sl = sizeof sa;
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      int t = socket(AF_INET, SOCK_STREAM, 0);
      if (t < 0 || bind(t, (struct sockaddr *)&sa, sizeof sa) < 0 ||
          getsockname(t, (struct sockaddr *)&sa, &sl) < 0) {
        rv = -errno;
        if (t >= 0)
          close(t);
        break;
      }
      int u = socket(AF_INET, SOCK_DGRAM, 0);
      if (u >= 0 && bind(u, (struct sockaddr *)&sa, sizeof sa) == 0) {
        fds[nfds++] = t;
        fds[nfds++] = u;
        nodes[i].port = ntohs(sa.sin_port);
        break;
      }
      rv = -errno;
      if (u >= 0)
        close(u);
      close(t);
      if (++tries == 50)
        break;
      rv = 0;
    }
  }
  for (int i = 0; i < nfds; i++)
    close(fds[i]);
  return rv;
}

static int make_dirs(demo *d) {
  snprintf(d->tmp, sizeof d->tmp, "/tmp/p2pclock-demo-XXXXXX");
  if (!mkdtemp(d->tmp)) {
    fprintf(stderr, "p2pclock demo: cannot make a directory in /tmp: %s\n",
            strerror(errno));
    return -1;
  }
  if (!d->o.keep) {
    snprintf(d->logdir, sizeof d->logdir, "%s", d->tmp);
    return 0;
  }
  struct stat st;
  if (mkdir(d->o.keep, 0755) < 0 && errno != EEXIST) {
    fprintf(stderr, "p2pclock demo: --keep-logs: cannot make %s: %s\n",
            d->o.keep, strerror(errno));
    return -1;
  }
  if (stat(d->o.keep, &st) < 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "p2pclock demo: --keep-logs: %s is not a directory\n",
            d->o.keep);
    return -1;
  }
  if (strlen(d->o.keep) > PATH_LEN - 32) {
    fprintf(stderr, "p2pclock demo: --keep-logs: path too long: %s\n",
            d->o.keep);
    return -1;
  }
  snprintf(d->logdir, sizeof d->logdir, "%s", d->o.keep);
  return 0;
}

static void setup_node(demo *d, int i) {
  dnode *n = &d->n[i];
  /* uniform in [-max, max], with the seed: a replay has the same clocks */
  double u = (double)(rnd(d) >> 11) / 9007199254740992.0;
  double v = (double)(rnd(d) >> 11) / 9007199254740992.0;
  snprintf(n->clk_offset, sizeof n->clk_offset, "%.6f",
           (2 * u - 1) * CLOCK_OFFSET_MAX_S);
  snprintf(n->clk_drift, sizeof n->clk_drift, "%.3f",
           (2 * v - 1) * CLOCK_DRIFT_MAX_PPM);
  snprintf(n->id, sizeof n->id, "n%d", i + 1);
  snprintf(n->events, sizeof n->events, "%s/%s.events", d->logdir, n->id);
  snprintf(n->log, sizeof n->log, "%s/%s.log", d->logdir, n->id);
  snprintf(n->sock, sizeof n->sock, "%s/%s.sock", d->tmp, n->id);
  snprintf(n->listen, sizeof n->listen, "127.0.0.1:%u", n->port);
  p2pc_ctl_init(&n->ctl);
  /* an earlier demo's files in --keep-logs DIR would be appended to */
  unlink(n->events);
  unlink(n->log);
  int k = 0;
  n->argv[k++] = d->self;
  n->argv[k++] = "node";
  n->argv[k++] = "--id";
  n->argv[k++] = n->id;
  n->argv[k++] = "--listen";
  n->argv[k++] = n->listen;
  if (i > 0) {
    snprintf(n->peer, sizeof n->peer, "127.0.0.1:%u", d->n[i - 1].port);
    n->argv[k++] = "--peer";
    n->argv[k++] = n->peer;
  }
  n->argv[k++] = "--events";
  n->argv[k++] = n->events;
  n->argv[k++] = "--control";
  n->argv[k++] = n->sock;
  snprintf(n->delay, sizeof n->delay, "0:%d",
           i == d->slow && d->recv >= 0 ? SLOW_DELAY_MS : OTHER_DELAY_MS);
  n->argv[k++] = "--chaos-delay";
  n->argv[k++] = n->delay;
  n->argv[k++] = "--clock-offset";
  n->argv[k++] = n->clk_offset;
  n->argv[k++] = "--clock-drift";
  n->argv[k++] = n->clk_drift;
  n->argv[k++] = "--clock-mode";
  n->argv[k++] = d->o.clock_mode;
  n->argv[k] = NULL;
}

/* Starts node n: own process group, dies with the demo, stdin and stdout
 * on /dev/null, stderr appended to its log. Everything the child needs is
 * ready before fork: it only makes async-signal-safe calls. */
static int spawn_node(dnode *n) {
  pid_t parent = getpid();
  sigset_t none;
  sigemptyset(&none);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    return -errno;
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
      _exit(127);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigaction(SIGPIPE, &dfl, NULL);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int in = open("/dev/null", O_RDONLY);
    int out = open("/dev/null", O_WRONLY);
    int err = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
        dup2(err, 2) < 0)
      _exit(127);
    execv(n->argv[0], n->argv);
    _exit(127);
  }
  n->pid = pid;
  n->state = NODE_STARTING;
  n->seen = false;
  n->clk_seen = n->synced = n->is_ref = n->ntp_ok = false;
  n->credit = 0;
  p2pc_ctl_close(&n->ctl);
  return 0;
}

static void describe_exit(int st, char *out, size_t len) {
  if (WIFEXITED(st))
    snprintf(out, len, "exit status %d", WEXITSTATUS(st));
  else if (WIFSIGNALED(st))
    snprintf(out, len, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
  else
    snprintf(out, len, "status 0x%x", (unsigned)st);
}

/* Collects every child that ended; a node that ended by itself is an
 * anomaly the verdict reports. */
static void reap(demo *d) {
  for (int i = 0; i < d->o.nodes; i++) {
    dnode *n = &d->n[i];
    int st;
    if (n->pid <= 0 || waitpid(n->pid, &st, WNOHANG) != n->pid)
      continue;
    n->pid = 0;
    p2pc_ctl_close(&n->ctl);
    if (n->state == NODE_KILLED || n->state == NODE_STOPPED)
      continue;
    describe_exit(st, n->exit_text, sizeof n->exit_text);
    n->state = NODE_DEAD;
    problem(d, "%s exited by itself: %s (see %s)", n->id, n->exit_text, n->log);
    note(d, "%s exited by itself: %s", n->id, n->exit_text);
  }
}

/* ---- talking to nodes --------------------------------------------------- */

/* One request to node n; returns its answer (ok true or false) or NULL if
 * the node cannot be reached or did not answer in time. */
static cJSON *call(dnode *n, cJSON *req, int timeout_ms) {
  cJSON *ans = NULL;
  if (!req || n->pid <= 0)
    return NULL;
  if (n->ctl.fd < 0 && p2pc_ctl_connect(&n->ctl, n->sock, RECONNECT_MS) < 0)
    return NULL;
  if (p2pc_ctl_call_json(&n->ctl, req, &ans, timeout_ms) < 0)
    return NULL;
  return ans;
}

static cJSON *simple_req(const char *cmd) {
  cJSON *r = cJSON_CreateObject();
  if (r && !cJSON_AddStringToObject(r, "cmd", cmd)) {
    cJSON_Delete(r);
    r = NULL;
  }
  return r;
}

static bool ans_ok(const cJSON *a) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "ok"));
}

static double num(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Notes the moments the clocks change: in reference mode every running
 * clock synced for the first time, and a new reference that all synced
 * nodes agree on; in collaborative mode, which has no reference, every
 * running clock synced again (after the restart too). */
static void note_clocks(demo *d) {
  int running = 0, synced = 0;
  const char *ref = NULL;
  bool agree = true;
  for (int i = 0; i < d->o.nodes; i++) {
    const dnode *n = &d->n[i];
    if (n->pid <= 0)
      continue;
    running++;
    if (!n->clk_seen || !n->synced || (!d->o.collab && !n->ref[0]))
      continue;
    synced++;
    if (d->o.collab)
      continue;
    if (!ref)
      ref = n->ref;
    else if (strcmp(ref, n->ref) != 0)
      agree = false;
  }
  bool all = synced == running && running > 0;
  if (d->o.collab) {
    /* a node killed while all are synced leaves the others all synced:
     * only a change from not all synced is news */
    if (all && !d->all_synced_now)
      note(d, "all %d clocks synced (collaborative)", synced);
    d->all_synced_now = all;
    return;
  }
  if (all && !d->all_synced_seen) {
    d->all_synced_seen = true;
    note(d, "every clock is synced");
  }
  if (ref && agree && all && strcmp(ref, d->common_ref) != 0) {
    note(d, "all %d synced clocks follow %s", synced, ref);
    snprintf(d->common_ref, sizeof d->common_ref, "%s", ref);
  }
}

/* Refreshes every running node's status and clock tracking. */
static void poll_status(demo *d) {
  cJSON *req = simple_req("status"), *treq = simple_req("tracking");
  for (int i = 0; i < d->o.nodes; i++) {
    dnode *n = &d->n[i];
    if (n->pid <= 0 || n->state == NODE_STOPPED)
      continue;
    cJSON *a = call(n, req, CALL_MS);
    if (a && ans_ok(a)) {
      n->seen = true;
      n->state = NODE_UP;
      n->peers_up = (int)num(a, "peers_up");
      n->sent = num(a, "sent");
      n->delivered = num(a, "delivered");
      n->buffered = num(a, "buffered");
    } else if (n->state == NODE_UP) {
      n->seen = false; /* no answer this time */
    }
    cJSON_Delete(a);
    a = n->pid > 0 ? call(n, treq, CALL_MS) : NULL;
    n->clk_seen = a && ans_ok(a);
    if (n->clk_seen) {
      const cJSON *ref = cJSON_GetObjectItemCaseSensitive(a, "ref");
      const cJSON *mode = cJSON_GetObjectItemCaseSensitive(a, "mode");
      n->mode_ok = cJSON_IsString(mode) &&
                   strcmp(mode->valuestring, d->o.clock_mode) == 0;
      n->synced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "synced"));
      n->is_ref =
          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "reference"));
      snprintf(n->ref, sizeof n->ref, "%s",
               cJSON_IsString(ref) ? ref->valuestring : "");
      n->truechimers = (int)num(a, "truechimers");
      n->err_ns = num(a, "err_ns");
    }
    cJSON_Delete(a);
  }
  cJSON_Delete(req);
  cJSON_Delete(treq);
  note_clocks(d);
}

/* ---- the clocks, over NTP ------------------------------------------------ */

static int64_t real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t get_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

/* A 64-bit NTP timestamp -> ns since the Unix epoch, in the NTP era that
 * puts it within 68 years of pivot_ns. */
static int64_t ntp_to_ns(uint64_t ts, int64_t pivot_ns) {
  int64_t pivot_s = pivot_ns / 1000000000;
  uint32_t sec = (uint32_t)(ts >> 32);
  int32_t ds = (int32_t)(sec - (uint32_t)(pivot_s + NTP_UNIX_OFFSET));
  int64_t frac = (int64_t)(((ts & 0xffffffffu) * 1000000000u) >> 32);
  return (pivot_s + ds) * 1000000000 + frac;
}

/* The demo's NTP client socket on 127.0.0.1; -errno on failure. */
static int ntp_open(demo *d) {
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  d->ntp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (d->ntp_fd < 0)
    return -errno;
  if (bind(d->ntp_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(d->ntp_fd);
    d->ntp_fd = -1;
    return -e;
  }
  return 0;
}

/*
 * One standard NTP exchange with node n's time port (its listen port): a
 * 48-byte mode-3 request whose transmit field is a random cookie (the
 * real send time stays here, as ntpprobe does), and its reply within
 * NTP_WAIT_MS: mode 4, our cookie as origin, from that port. The offset
 * (the node's network time minus the demo's real clock) and the delay
 * follow RFC 5905 §8 with user-space stamps; one node at a time, so no
 * reply waits in the socket while another is read. Replies to earlier,
 * timed-out requests are skipped. Returns 0 or -ETIMEDOUT / -errno.
 */
static int ntp_query(demo *d, dnode *n) {
  uint8_t req[NTP_LEN] = {0}, rep[NTP_LEN + 512];
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(n->port)};
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  d->cookie_rng ^= d->cookie_rng << 13;
  d->cookie_rng ^= d->cookie_rng >> 7;
  d->cookie_rng ^= d->cookie_rng << 17;
  uint64_t cookie = d->cookie_rng;
  req[0] = 0 << 6 | 4 << 3 | 3; /* LI 0, version 4, mode 3 (client) */
  for (int i = 0; i < 8; i++)
    req[40 + i] = (uint8_t)(cookie >> (56 - 8 * i));
  int64_t t1 = real_ns();
  if (sendto(d->ntp_fd, req, sizeof req, 0, (struct sockaddr *)&to, sizeof to) <
      0)
    return -errno;
  double end = now_s() + NTP_WAIT_MS / 1000.0;
  for (;;) {
    int left = (int)((end - now_s()) * 1000) + 1;
    struct pollfd pfd = {.fd = d->ntp_fd, .events = POLLIN};
    if (left <= 0 || poll(&pfd, 1, left) <= 0) {
      if (now_s() >= end)
        return -ETIMEDOUT;
      continue; /* EINTR */
    }
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t k = recvfrom(d->ntp_fd, rep, sizeof rep, MSG_DONTWAIT,
                         (struct sockaddr *)&from, &fl);
    int64_t t4 = real_ns();
    if (k < NTP_LEN || from.sin_port != to.sin_port || (rep[0] & 7) != 4 ||
        get_be64(rep + 24) != cookie)
      continue;
    int64_t t2 = ntp_to_ns(get_be64(rep + 32), t1);
    int64_t t3 = ntp_to_ns(get_be64(rep + 40), t1);
    n->ntp_li = rep[0] >> 6;
    n->ntp_offset = ((t2 - t1) + (t3 - t4)) / 2;
    n->ntp_delay = (t4 - t1) - (t3 - t2);
    return 0;
  }
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* One NTP round over every running node; the median and the spread of the
 * offsets of those that answered. Returns how many answered. */
static int ntp_round(demo *d) {
  int64_t offs[P2PC_DEMO_NODES_MAX];
  int k = 0;
  for (int i = 0; i < d->o.nodes; i++) {
    dnode *n = &d->n[i];
    n->ntp_ok = n->pid > 0 && n->state == NODE_UP && d->ntp_fd >= 0 &&
                ntp_query(d, n) == 0;
    if (n->ntp_ok)
      offs[k++] = n->ntp_offset;
  }
  d->ntp_answered = k;
  if (k == 0)
    return 0;
  qsort(offs, (size_t)k, sizeof offs[0], cmp_i64);
  d->ntp_median = k % 2 ? offs[k / 2] : (offs[k / 2 - 1] + offs[k / 2]) / 2;
  d->ntp_spread = offs[k - 1] - offs[0];
  return k;
}

/* Runs an NTP round when one is due. */
static void ntp_tick(demo *d) {
  if (now_s() < d->next_ntp)
    return;
  d->next_ntp = now_s() + NTP_EVERY_S;
  ntp_round(d);
}

/* One traffic request from node i: a send to a random other node, or one
 * time in BROADCAST_ONE_IN a broadcast. Refusals are counted by cause. */
static void traffic_one(demo *d, int i, uint64_t seq) {
  dnode *n = &d->n[i];
  bool bc = rnd(d) % BROADCAST_ONE_IN == 0;
  char text[96];
  cJSON *req = cJSON_CreateObject();
  snprintf(text, sizeof text, "%s from %s #%llu", bc ? "news" : "hello", n->id,
           (unsigned long long)seq);
  if (!req || !cJSON_AddStringToObject(req, "cmd", bc ? "broadcast" : "send") ||
      !cJSON_AddStringToObject(req, "text", text)) {
    cJSON_Delete(req);
    d->failed++;
    return;
  }
  if (!bc) {
    int to = (int)(rnd(d) % (uint64_t)(d->o.nodes - 1));
    if (to >= i)
      to++;
    if (!cJSON_AddStringToObject(req, "to", d->n[to].id)) {
      cJSON_Delete(req);
      d->failed++;
      return;
    }
  }
  cJSON *a = call(n, req, CALL_MS);
  cJSON_Delete(req);
  if (!a) {
    d->failed++;
  } else if (ans_ok(a)) {
    if (bc) {
      d->broadcasts++;
      d->bc_peers += (uint64_t)num(a, "peers");
    } else {
      d->sends++;
    }
  } else {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(a, "error");
    const char *es = cJSON_IsString(e) ? e->valuestring : "?";
    if (strstr(es, "back-pressure"))
      d->refused_bp++;
    else if (strstr(es, "no session"))
      d->refused_nosess++;
    else {
      d->refused_other++;
      if (!d->other_error[0])
        snprintf(d->other_error, sizeof d->other_error, "%s", es);
    }
  }
  cJSON_Delete(a);
}

/* ---- the live view ------------------------------------------------------ */

static void fmt_ns(double ns, char *out, size_t len) {
  if (ns < 1e3)
    snprintf(out, len, "%.0f ns", ns);
  else if (ns < 1e6)
    snprintf(out, len, "%.1f us", ns / 1e3);
  else if (ns < 1e9)
    snprintf(out, len, "%.1f ms", ns / 1e6);
  else
    snprintf(out, len, "%.2f s", ns / 1e9);
}

/* ns with a sign and a unit: "+12.3 us", "-1.234 ms", "+0.532 s". */
static void fmt_sns(double ns, char *out, size_t len) {
  double a = ns < 0 ? -ns : ns;
  char sign = ns < 0 ? '-' : '+';
  if (a < 1e3)
    snprintf(out, len, "%c%.0f ns", sign, a);
  else if (a < 1e6)
    snprintf(out, len, "%c%.1f us", sign, a / 1e3);
  else if (a < 1e9)
    snprintf(out, len, "%c%.3f ms", sign, a / 1e6);
  else
    snprintf(out, len, "%c%.3f s", sign, a / 1e9);
}

/* A node's clock cells: its reference (with * when it is the reference),
 * or in collaborative mode, which has none, how many truechimers it
 * selected; its NTP offset from the median of all nodes, its error bound. */
static void clock_cells(const demo *d, const dnode *n, char *ref, size_t rl,
                        char *off, size_t ol, char *err, size_t el) {
  if (d->o.collab && n->clk_seen && n->synced)
    snprintf(ref, rl, "%d", n->truechimers);
  else if (d->o.collab)
    snprintf(ref, rl, "-");
  else
    snprintf(ref, rl, "%s%s", n->clk_seen && n->ref[0] ? n->ref : "-",
             n->clk_seen && n->is_ref ? "*" : "");
  if (n->ntp_ok && n->pid > 0)
    fmt_sns((double)(n->ntp_offset - d->ntp_median), off, ol);
  else
    snprintf(off, ol, "-");
  if (n->clk_seen && n->synced) {
    fmt_sns(n->err_ns, err, el);
    memmove(err, err + 1, strlen(err)); /* a bound: no sign */
  } else {
    snprintf(err, el, "-");
  }
}

static const char *state_name(const dnode *n) {
  switch (n->state) {
  case NODE_STARTING:
    return "start";
  case NODE_UP:
    return n->seen ? "up" : "up?";
  case NODE_KILLED:
    return "down";
  case NODE_DEAD:
    return "dead";
  case NODE_STOPPED:
    return "stopped";
  }
  return "?";
}

static uint64_t requests_done(const demo *d) {
  return d->sends + d->broadcasts + d->refused_bp + d->refused_nosess +
         d->refused_other + d->failed;
}

/* One line of the live table, cut to the terminal's width: a line that
 * wrapped would throw off the cursor movement of the next redraw. */
static void tline(demo *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tline(demo *d, const char *fmt, ...) {
  char text[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  fprintf(d->out, "\r\033[K%.*s\n", d->width - 1, text);
  d->table_lines++;
}

static void draw_table(demo *d, const char *phase) {
  struct winsize ws;
  d->width = ioctl(fileno(d->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20
                 ? ws.ws_col
                 : 80;
  if (d->table_lines > 0)
    fprintf(d->out, "\033[%dA", d->table_lines);
  d->table_lines = 0;
  tline(d, "p2pclock demo: %s, %.1f s of %.0f s, %d nodes, %g msgs/s each",
        phase, d->t0 > 0 ? elapsed(d) : 0.0, d->o.duration, d->o.nodes,
        d->o.rate);
  /* collaborative mode has no reference: TRUECH, the truechimers each
   * node selected among its neighbours and itself, takes its column */
  tline(d, "%-4s %-7s %5s %6s %9s %4s %4s  %-4s %-6s %10s %8s", "NODE", "STATE",
        "PEERS", "SENT", "DELIVERED", "BUF", "HELD", "SYNC",
        d->o.collab ? "TRUECH" : "REF", "NTP-OFFS", "ERR");
  for (int i = 0; i < d->o.nodes; i++) {
    const dnode *n = &d->n[i];
    char peers[16], ref[48], off[24], err[24];
    clock_cells(d, n, ref, sizeof ref, off, sizeof off, err, sizeof err);
    if (n->seen && n->pid > 0) {
      snprintf(peers, sizeof peers, "%d/%d", n->peers_up, d->o.nodes - 1);
      tline(d,
            "%-4s %-7s %5s %6.0f %9.0f %4.0f %4" PRIu64 "  %-4s %-6s %10s %8s",
            n->id, state_name(n), peers, n->sent, n->delivered, n->buffered,
            p2pc_holdback_total(d->hb, (uint32_t)i),
            !n->clk_seen ? "-"
            : n->synced  ? "yes"
                         : "no",
            ref, off, err);
    } else {
      tline(d, "%-4s %-7s %5s %6s %9s %4s %4" PRIu64 "  %-4s %-6s %10s %8s",
            n->id, state_name(n), "-", "-", "-", "-",
            p2pc_holdback_total(d->hb, (uint32_t)i), "-", "-", off, "-");
    }
  }
  if (d->recv >= 0)
    tline(d, "BUF held back now, HELD so far; %s is slow (0..%d ms a message)",
          d->n[d->slow].id, SLOW_DELAY_MS);
  tline(d,
        "requests: %llu sends, %llu broadcasts, %llu chain sends, %llu "
        "refused, %llu unanswered",
        (unsigned long long)d->sends, (unsigned long long)d->broadcasts,
        (unsigned long long)d->ch.sends,
        (unsigned long long)(d->refused_bp + d->refused_nosess +
                             d->refused_other),
        (unsigned long long)d->failed);
  char spread[24], net[24];
  fmt_sns((double)d->ntp_spread, spread, sizeof spread);
  fmt_sns((double)d->ntp_median, net, sizeof net);
  if (d->ntp_answered > 0)
    tline(d, "NTP: %d nodes answer; network time = demo's clock %s; spread %s",
          d->ntp_answered, net, spread + (spread[0] == '+'));
  else
    tline(d, "NTP: no node answers yet");
  for (int k = 0; k < EVENTS_SHOWN; k++)
    tline(d, "%s%s", k == 0 ? "events: " : "        ",
          k < d->nevents ? d->events[k] : (k == 0 ? "none yet" : ""));
  fflush(d->out);
}

static void print_line(demo *d) {
  int up = 0, peers = 0;
  double sent = 0, deliv = 0, buf = 0;
  for (int i = 0; i < d->o.nodes; i++) {
    const dnode *n = &d->n[i];
    if (n->pid > 0 && n->seen) {
      up++;
      peers += n->peers_up;
      sent += n->sent;
      deliv += n->delivered;
      buf += n->buffered;
    }
  }
  fprintf(d->out,
          "[%5.1f s] nodes up %d/%d, links up %d/%d, sent %.0f, delivered "
          "%.0f, held back so far %" PRIu64 " (%.0f now); requests %llu, "
          "refused %llu\n",
          elapsed(d), up, d->o.nodes, peers, d->o.nodes * (d->o.nodes - 1),
          sent, deliv, d->holds, buf, (unsigned long long)requests_done(d),
          (unsigned long long)(d->refused_bp + d->refused_nosess +
                               d->refused_other));
  /* the clocks: each node's sync state, reference (collaborative: its
   * truechimers) and NTP offset */
  fprintf(d->out, "          clocks:");
  for (int i = 0; i < d->o.nodes; i++) {
    const dnode *n = &d->n[i];
    char ref[48], off[24], err[24];
    clock_cells(d, n, ref, sizeof ref, off, sizeof off, err, sizeof err);
    if (n->pid <= 0)
      fprintf(d->out, " %s down;", n->id);
    else if (d->o.collab && n->clk_seen && n->synced)
      fprintf(d->out, " %s synced %s truechimers %s;", n->id, ref, off);
    else
      fprintf(d->out, " %s %s %s %s;", n->id,
              n->clk_seen && n->synced ? "synced" : "unsynced", ref, off);
  }
  if (d->ntp_answered > 0) {
    char spread[24];
    fmt_sns((double)d->ntp_spread, spread, sizeof spread);
    fprintf(d->out, " spread %s\n", spread + 1);
  } else {
    fprintf(d->out, " no NTP answer yet\n");
  }
  fflush(d->out);
}

/* Leaves the live table where it is and goes on below it. */
static void end_table(demo *d) { d->table_lines = 0; }

/* ---- the event logs, read as they grow ---------------------------------- */

/* An id as the live view shows it: of a node's first incarnation without
 * its tag ("n2:7", "n2"), of a later one in full ("n2~k3x9:7"). */
static void show_id(const demo *d, const char *id, char *out, size_t len) {
  const char *tilde = strchr(id, '~');
  if (tilde) {
    const char *colon = strchr(tilde, ':');
    size_t inc = colon ? (size_t)(colon - id) : strlen(id);
    for (int i = 0; i < d->o.nodes; i++) {
      const dnode *n = &d->n[i];
      if (strlen(n->first_inc) == inc && strncmp(n->first_inc, id, inc) == 0) {
        snprintf(out, len, "%s%s", n->id, colon ? colon : "");
        return;
      }
    }
  }
  snprintf(out, len, "%s", id);
}

static bool ready(const dnode *n) {
  return n->pid > 0 && n->state == NODE_UP && n->seen;
}

static bool was_told(const demo *d, const char *msg) {
  for (int k = 0; k < d->narrated; k++)
    if (strcmp(d->told[k], msg) == 0)
      return true;
  return false;
}

/* A node held a message back: told in the live view (without a terminal,
 * only the first NARRATED ones, so that a busy run does not scroll). */
static void on_held(demo *d, const p2pc_holdback_ev *ev) {
  d->holds++;
  if (!d->tty) {
    if (d->narrated == NARRATED) {
      if (!d->told_more)
        note(d, "(further holds are counted, not told one by one)");
      d->told_more = true;
      return;
    }
    snprintf(d->told[d->narrated++], ID_LEN, "%s", ev->msg);
  }
  /* what it waits for: the message its buffer line names, and how many
   * more are missing */
  char m[ID_LEN], why[ID_LEN + 64] = "";
  show_id(d, ev->msg, m, sizeof m);
  if (ev->waits[0]) {
    char w[ID_LEN];
    show_id(d, ev->waits, w, sizeof w);
    snprintf(why, sizeof why, ": it waits for %s", w);
    if (ev->unmet > 1) {
      size_t l = strlen(why);
      snprintf(why + l, sizeof why - l, " and %u more", ev->unmet - 1);
    }
  }
  note(d, "%s holds %s back%s", d->n[ev->node].id, m, why);
}

/* A held message was delivered: told if its hold was. */
static void on_released(demo *d, const p2pc_holdback_ev *ev) {
  if (!d->tty && !was_told(d, ev->msg))
    return;
  char m[ID_LEN], a[ID_LEN], w[32];
  show_id(d, ev->msg, m, sizeof m);
  show_id(d, ev->after, a, sizeof a);
  fmt_ns((double)ev->waited_ns, w, sizeof w);
  if (ev->after[0])
    note(d, "%s delivers %s after %s, right after %s", d->n[ev->node].id, m, w,
         a);
  else
    note(d, "%s delivers %s after %s", d->n[ev->node].id, m, w);
}

/* The chain round and the example hear of every delivery. */
static void chain_on_delivery(demo *d, const p2pc_holdback_ev *ev) {
  chain *c = &d->ch;
  example *x = &d->ex;
  if (ev->kind == P2PC_HOLDBACK_RELEASED && ev->after[0] && !x->set) {
    /* a hold of the random traffic: the example until a chain's comes */
    *x = (example){.set = true,
                   .receiver = (int)ev->node,
                   .relay = -1,
                   .waited_ns = ev->waited_ns};
    snprintf(x->held, sizeof x->held, "%s", ev->msg);
    snprintf(x->after, sizeof x->after, "%s", ev->after);
  }
  if (!c->active)
    return;
  for (int j = 0; j < c->nrelays; j++)
    if ((int)ev->node == c->relay[j] && strcmp(ev->msg, c->hint[j]) == 0)
      c->hint_got[j] = true;
  if ((int)ev->node != d->recv)
    return;
  for (int k = 0; k < CHAIN_SLOW; k++)
    if (strcmp(ev->msg, c->slow[k]) == 0 && c->open > 0)
      c->open--;
  for (int j = 0; j < c->nrelays; j++) {
    if (strcmp(ev->msg, c->follow[j]) != 0)
      continue;
    if (c->open > 0)
      c->open--;
    if (ev->kind == P2PC_HOLDBACK_RELEASED && !c->held) {
      c->held = true;
      c->held_rounds++;
    }
    /* the example tells the round's story: only if what released the
     * relay's message was the slow link's (it may have waited for other
     * traffic as well) */
    bool by_slow = false;
    for (int k = 0; k < CHAIN_SLOW; k++)
      by_slow = by_slow || (ev->after[0] && strcmp(ev->after, c->slow[k]) == 0);
    if (ev->kind != P2PC_HOLDBACK_RELEASED || !by_slow || x->chain)
      continue;
    *x = (example){.set = true,
                   .chain = true,
                   .receiver = d->recv,
                   .relay = c->relay[j],
                   .waited_ns = ev->waited_ns};
    snprintf(x->held, sizeof x->held, "%s", ev->msg);
    snprintf(x->after, sizeof x->after, "%s", ev->after);
    snprintf(x->hint, sizeof x->hint, "%s", c->hint[j]);
    snprintf(x->slow_first, sizeof x->slow_first, "%s", c->slow[0]);
    for (int k = 0; k < CHAIN_SLOW && c->slow[k][0]; k++)
      snprintf(x->slow_last, sizeof x->slow_last, "%s", c->slow[k]);
  }
}

static void on_line(demo *d, int i, const char *line, size_t len) {
  p2pc_holdback_ev ev;
  switch (p2pc_holdback_line(d->hb, (uint32_t)i, line, len, &ev)) {
  case P2PC_HOLDBACK_START:
    if (!d->n[i].first_inc[0])
      snprintf(d->n[i].first_inc, ID_LEN, "%s", ev.msg);
    break;
  case P2PC_HOLDBACK_HELD:
    on_held(d, &ev);
    break;
  case P2PC_HOLDBACK_RELEASED:
    on_released(d, &ev);
    chain_on_delivery(d, &ev);
    break;
  case P2PC_HOLDBACK_DELIVER:
    chain_on_delivery(d, &ev);
    break;
  default:
    break;
  }
}

/* One complete line of node i's log: to the checker, and to the tracker
 * if it is not too long for it. */
static void take_line(demo *d, int i, unsigned flags) {
  dnode *n = &d->n[i];
  const char *line = n->ev_buf ? n->ev_buf : ""; /* none yet: empty */
  if (!n->ev_lost && !d->check_nomem) {
    int lr = p2pc_evcheck_line_ex(d->ec, (uint32_t)i, line, n->ev_len, flags);
    if (lr == P2PC_EVCHECK_LINE_NOMEM)
      d->check_nomem = true;
    else if (lr == P2PC_EVCHECK_LINE_LOST)
      n->ev_lost = true;
  }
  if (n->ev_len <= P2PC_HOLDBACK_LINE_MAX)
    on_line(d, i, line, n->ev_len);
}

/* Appends len bytes to node n's line being read, up to one byte past the
 * checker's limit. False if out of memory. */
static bool line_add(dnode *n, const char *p, size_t len) {
  size_t room = P2PC_EVCHECK_LINE_MAX + 1 - n->ev_len;
  if (len > room)
    len = room;
  if (len == 0)
    return true;
  if (n->ev_len + len > n->ev_cap) {
    size_t cap = n->ev_cap ? n->ev_cap : 4096;
    while (cap < n->ev_len + len)
      cap *= 2;
    if (cap > P2PC_EVCHECK_LINE_MAX + 1)
      cap = P2PC_EVCHECK_LINE_MAX + 1;
    char *b = realloc(n->ev_buf, cap);
    if (!b)
      return false;
    n->ev_buf = b;
    n->ev_cap = cap;
  }
  memcpy(n->ev_buf + n->ev_len, p, len);
  n->ev_len += len;
  return true;
}

/* Reads what node i's event log gained since the last call, a bounded
 * amount at a time, and takes its complete lines. The log is opened once
 * and kept: a restarted node appends to the same file. At the end, with
 * every node stopped, last takes a final line without its newline too (a
 * killed node may leave one torn). */
static void tail_node(demo *d, int i, bool last) {
  dnode *n = &d->n[i];
  char chunk[TAIL_READ];
  if (n->ev_fd < 0)
    n->ev_fd = open(n->events, O_RDONLY | O_CLOEXEC);
  if (n->ev_fd < 0)
    return; /* not created yet */
  for (int reads = 0; reads < (last ? 1 << 16 : 16); reads++) {
    ssize_t k = pread(n->ev_fd, chunk, sizeof chunk, n->ev_off);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    n->ev_off += k;
    const char *p = chunk, *end = chunk + k;
    while (p < end) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      if (!line_add(n, p, (size_t)((nl ? nl : end) - p)))
        d->check_nomem = true;
      if (!nl)
        break;
      take_line(d, i, 0);
      n->ev_len = 0;
      p = nl + 1;
    }
    if ((size_t)k < sizeof chunk)
      break;
  }
  if (last && n->ev_len > 0) {
    take_line(d, i, P2PC_EVCHECK_UNTERMINATED);
    n->ev_len = 0;
  }
}

static void tail_all(demo *d) {
  for (int i = 0; i < d->o.nodes; i++)
    tail_node(d, i, false);
}

/* ---- the causal chains -------------------------------------------------- */

/* Node from sends text to node to; true with the message's id in id. */
static bool chain_send(demo *d, int from, int to, const char *text, char *id) {
  cJSON *req = cJSON_CreateObject();
  bool ok = req && cJSON_AddStringToObject(req, "cmd", "send") &&
            cJSON_AddStringToObject(req, "to", d->n[to].id) &&
            cJSON_AddStringToObject(req, "text", text);
  cJSON *a = ok ? call(&d->n[from], req, CALL_MS) : NULL;
  cJSON_Delete(req);
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(a, "msg");
  ok = a && ans_ok(a) && cJSON_IsString(m) && strlen(m->valuestring) < ID_LEN;
  if (ok) {
    strcpy(id, m->valuestring);
    d->ch.sends++;
  } else {
    d->ch.refused++;
  }
  cJSON_Delete(a);
  return ok;
}

/* Starts a round when the slow node, the receiver and a relay are up:
 * CHAIN_SLOW messages over the slow link, then one to each relay (the
 * relays rotate over the other nodes). */
static void chain_start(demo *d) {
  chain *c = &d->ch;
  if (!ready(&d->n[d->slow]) || !ready(&d->n[d->recv]))
    return;
  c->nrelays = 0;
  for (int k = 0; k < d->o.nodes && c->nrelays < CHAIN_RELAYS; k++) {
    int i = (c->next_relay + k) % d->o.nodes;
    if (i != d->slow && i != d->recv && ready(&d->n[i]))
      c->relay[c->nrelays++] = i;
  }
  if (c->nrelays == 0)
    return;
  c->next_relay = (c->relay[0] + 1) % d->o.nodes;
  memset(c->slow, 0, sizeof c->slow);
  memset(c->hint, 0, sizeof c->hint);
  memset(c->follow, 0, sizeof c->follow);
  memset(c->hint_got, 0, sizeof c->hint_got);
  memset(c->follow_sent, 0, sizeof c->follow_sent);
  c->open = 0;
  c->held = false;
  c->next_at = now_s() + 1.0; /* if this one cannot start */
  int round = c->rounds + 1;
  char text[96], names[64] = "";
  for (int k = 0; k < CHAIN_SLOW; k++) {
    snprintf(text, sizeof text, "chain %d: slow %d of %d", round, k + 1,
             CHAIN_SLOW);
    if (!chain_send(d, d->slow, d->recv, text, c->slow[k]))
      return; /* those sent are traffic like any other */
    c->open++;
  }
  for (int j = 0; j < c->nrelays; j++) {
    snprintf(text, sizeof text, "chain %d: pass it on to %s", round,
             d->n[d->recv].id);
    if (!chain_send(d, d->slow, c->relay[j], text, c->hint[j]))
      c->follow_sent[j] = true; /* nothing to pass on */
    size_t l = strlen(names);
    snprintf(names + l, sizeof names - l, "%s%s", j ? ", " : "",
             d->n[c->relay[j]].id);
  }
  c->rounds = round;
  c->active = true;
  c->started = now_s();
  if (d->tty || round == 1)
    note(d,
         "causal chain %d: %s sends %d messages to %s over its slow link, "
         "then one to %s",
         round, d->n[d->slow].id, CHAIN_SLOW, d->n[d->recv].id, names);
}

/* Moves the round on: a relay that got its message writes to the
 * receiver; the round ends once the receiver has delivered all of it (or
 * after CHAIN_GIVE_UP_S); the next starts CHAIN_GAP_S later. */
static void chain_step(demo *d) {
  chain *c = &d->ch;
  if (d->recv < 0)
    return;
  double t = now_s();
  if (!c->active) {
    if (t >= c->next_at)
      chain_start(d);
    return;
  }
  bool done = true;
  for (int j = 0; j < c->nrelays; j++) {
    dnode *r = &d->n[c->relay[j]];
    if (c->follow_sent[j])
      continue;
    if (r->pid <= 0) {
      c->follow_sent[j] = true; /* killed: gone from this round */
      continue;
    }
    if (!c->hint_got[j]) {
      done = false;
      continue;
    }
    char text[ID_LEN + 48], h[ID_LEN], f[ID_LEN], s0[ID_LEN];
    snprintf(text, sizeof text, "chain %d: after %s", c->rounds, c->hint[j]);
    c->follow_sent[j] = true;
    if (!chain_send(d, c->relay[j], d->recv, text, c->follow[j]))
      continue;
    c->open++;
    if (d->tty || c->rounds == 1) {
      show_id(d, c->hint[j], h, sizeof h);
      show_id(d, c->follow[j], f, sizeof f);
      show_id(d, c->slow[CHAIN_SLOW - 1], s0, sizeof s0);
      note(d, "%s got %s and writes %s to %s: it depends on %s", r->id, h, f,
           d->n[d->recv].id, s0);
    }
  }
  if ((done && c->open == 0) || t - c->started > CHAIN_GIVE_UP_S) {
    c->active = false;
    c->next_at = t + CHAIN_GAP_S;
  }
}

/* ---- phases ------------------------------------------------------------- */

/* Waits until every node sees the N-1 others. Returns 0, 1 if the bound
 * passed or a node died, -1 if interrupted. */
static int wait_mesh(demo *d) {
  double start = now_s(), bound = MESH_BASE_S + 0.5 * d->o.nodes;
  int want = d->o.nodes - 1;
  while (!stop_signal) {
    reap(d);
    poll_status(d);
    ntp_tick(d);
    int done = 0;
    for (int i = 0; i < d->o.nodes; i++) {
      if (d->n[i].state == NODE_DEAD)
        return 1;
      done += d->n[i].seen && d->n[i].peers_up >= want;
    }
    if (done == d->o.nodes) {
      fprintf(d->out, "all %d nodes see their %d peers after %.1f s\n",
              d->o.nodes, want, now_s() - start);
      return 0;
    }
    if (now_s() - start > bound) {
      fprintf(d->out,
              "p2pclock demo: the mesh did not form within %.0f s:", bound);
      for (int i = 0; i < d->o.nodes; i++)
        fprintf(d->out, " %s %d/%d%s", d->n[i].id, d->n[i].peers_up, want,
                d->n[i].seen ? "" : " (no answer)");
      fprintf(d->out, "\n");
      problem(d, "the mesh did not form within %.0f s", bound);
      return 1;
    }
    sleep_ms(100);
  }
  return -1;
}

static void kill_victim(demo *d) {
  dnode *n = &d->n[d->victim];
  d->killed = true;
  if (n->pid <= 0)
    return;
  n->state = NODE_KILLED;
  kill(n->pid, SIGKILL);
  for (int k = 0; k < 200; k++) { /* SIGKILL is prompt: 2 s at most */
    int st;
    if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
      n->pid = 0;
      break;
    }
    sleep_ms(10);
  }
  p2pc_ctl_close(&n->ctl);
  n->seen = false;
  n->clk_seen = n->synced = n->is_ref = n->ntp_ok = false;
  note(d, "killed %s with SIGKILL", n->id);
}

static void restart_victim(demo *d) {
  dnode *n = &d->n[d->victim];
  d->restarted = true;
  if (n->pid > 0 || n->state != NODE_KILLED)
    return;
  int rv = spawn_node(n);
  if (rv < 0) {
    n->state = NODE_DEAD;
    problem(d, "cannot restart %s: %s", n->id, strerror(-rv));
    note(d, "cannot restart %s: %s", n->id, strerror(-rv));
    return;
  }
  note(d, "restarted %s (same port, same event log)", n->id);
}

/* The traffic phase. Returns 0, or -1 if interrupted. */
static int run_traffic(demo *d) {
  double last = now_s(), next_view = 0;
  uint64_t seq = 0;
  double view_every = d->tty ? TABLE_EVERY_S : LINE_EVERY_S;
  d->t0 = now_s();
  bool extra = false; /* past the duration: chains only, until a hold */
  if (d->victim >= 0)
    note(d, "%s will be killed at %.1f s and restarted at %.1f s",
         d->n[d->victim].id, d->kill_t, d->restart_t);
  if (d->recv >= 0)
    note(d,
         "%s is the slow node: each of its messages waits 0..%d ms before it "
         "goes out",
         d->n[d->slow].id, SLOW_DELAY_MS);
  else
    note(d, "with 2 nodes no message can arrive before one it depends on: "
            "nothing will be held back");
  while (!stop_signal) {
    double t = now_s(), dt = t - last, e = t - d->t0;
    last = t;
    reap(d);
    if (d->victim >= 0 && !d->killed && e >= d->kill_t)
      kill_victim(d);
    if (d->victim >= 0 && d->killed && !d->restarted && e >= d->restart_t)
      restart_victim(d);
    tail_all(d);
    if (e >= d->o.duration) {
      if (d->recv < 0 || d->holds > 0 || e >= d->o.duration + CHAIN_EXTRA_S)
        break;
      if (!extra)
        note(d,
             "no message has been held back yet: more causal chains, for at "
             "most %.0f s",
             CHAIN_EXTRA_S);
      extra = true;
    }
    ntp_tick(d);
    chain_step(d);
    for (int i = 0; i < d->o.nodes && !stop_signal && !extra; i++) {
      dnode *n = &d->n[i];
      if (n->pid <= 0) {
        n->credit = 0;
        continue;
      }
      /* a stall never turns into a burst: at most half a second owed */
      n->credit += d->o.rate * dt;
      if (n->credit > d->o.rate * 0.5 + 1)
        n->credit = d->o.rate * 0.5 + 1;
      while (n->credit >= 1 && !stop_signal) {
        n->credit -= 1;
        traffic_one(d, i, ++seq);
      }
    }
    if (now_s() - d->t0 >= next_view) {
      next_view = now_s() - d->t0 + view_every;
      poll_status(d);
      if (d->tty)
        draw_table(d, extra ? "more chains" : "running");
      else
        print_line(d);
    }
    sleep_ms(TICK_MS);
  }
  if (stop_signal)
    return -1;
  if (d->victim >= 0 && d->killed && !d->restarted)
    restart_victim(d); /* a short demo ends before the restart time */
  return 0;
}

static int running(const demo *d) {
  int k = 0;
  for (int i = 0; i < d->o.nodes; i++)
    k += d->n[i].pid > 0;
  return k;
}

static dnode *find_node(demo *d, const char *id) {
  for (int i = 0; i < d->o.nodes; i++)
    if (strcmp(d->n[i].id, id) == 0)
      return &d->n[i];
  return NULL;
}

/* True when node n has nothing in flight: nothing buffered, a link to
 * every other running node, no unacknowledged message to any of them. A
 * node that died by itself is left out: what was sent to it stays unacked
 * for good, and the checker excuses it as lost with a crashed receiver. */
static bool node_quiet(demo *d, dnode *n, int alive) {
  cJSON *req = simple_req("peers");
  cJSON *a = call(n, req, CALL_MS);
  cJSON_Delete(req);
  bool quiet =
      a && ans_ok(a) && n->seen && n->buffered == 0 && n->peers_up >= alive - 1;
  const cJSON *peers = cJSON_GetObjectItemCaseSensitive(a, "peers"), *p;
  cJSON_ArrayForEach(p, peers) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
    dnode *peer = cJSON_IsString(id) ? find_node(d, id->valuestring) : NULL;
    if (num(p, "unacked") > 0 && (!peer || peer->pid > 0))
      quiet = false;
  }
  cJSON_Delete(a);
  return quiet;
}

/* Waits (bounded) until no message is in flight, so that stopping the
 * nodes loses none. Returns 0 quiet, 1 not quiet in time, -1 interrupted. */
static int wait_quiet(demo *d) {
  double start = now_s();
  while (!stop_signal) {
    reap(d);
    tail_all(d);
    poll_status(d);
    ntp_tick(d);
    bool all = true;
    int alive = running(d);
    for (int i = 0; i < d->o.nodes && all; i++)
      if (d->n[i].pid > 0)
        all = node_quiet(d, &d->n[i], alive);
    if (d->tty)
      draw_table(d, all ? "quiet" : "settling");
    if (all)
      return 0;
    if (now_s() - start > QUIET_S) {
      note(d, "still messages in flight after %.0f s; stopping anyway",
           QUIET_S);
      if (d->tty)
        draw_table(d, "settling");
      return 1;
    }
    sleep_ms(100);
  }
  return -1;
}

/* True when every running node answers, runs the demo's clock mode, is
 * synced and answered the latest NTP round with LI 0 (synchronized), and,
 * in reference mode, every one follows the same reference, which is one of
 * them and knows it; the reference in ref ("" in collaborative mode, which
 * has none). */
static bool clocks_settled(demo *d, char *ref, size_t rl) {
  const char *r = NULL;
  int running = 0;
  for (int i = 0; i < d->o.nodes; i++) {
    const dnode *n = &d->n[i];
    if (n->pid <= 0)
      continue;
    running++;
    if (!n->clk_seen || !n->mode_ok || !n->synced || !n->ntp_ok ||
        n->ntp_li != 0)
      return false;
    if (d->o.collab)
      continue;
    if (!n->ref[0])
      return false;
    if (!r)
      r = n->ref;
    else if (strcmp(r, n->ref) != 0)
      return false;
  }
  if (d->o.collab) {
    if (rl > 0)
      ref[0] = '\0';
    return running >= 2;
  }
  const dnode *rn = r ? find_node(d, r) : NULL;
  if (running < 2 || !rn || rn->pid <= 0 || !rn->is_ref)
    return false;
  snprintf(ref, rl, "%s", r);
  return true;
}

/* The NTP rounds of the final measurement. */
#define FINAL_MAX (FINAL_ROUNDS * FINAL_BATCHES)
typedef struct final_rounds {
  int m, idx[P2PC_DEMO_NODES_MAX]; /* the nodes measured */
  int rounds;
  int64_t off[FINAL_MAX][P2PC_DEMO_NODES_MAX];
  int64_t del[FINAL_MAX][P2PC_DEMO_NODES_MAX];
  bool full[FINAL_MAX]; /* every node answered */
} final_rounds;

/* The disagreements (largest offset minus smallest) of the rounds where
 * every node answered with a delay near its least: a late reply measures
 * the scheduler, not the clocks. Returns how many, sorted, in spread. */
static int keep_rounds(const final_rounds *f, int64_t *spread) {
  int64_t mind[P2PC_DEMO_NODES_MAX];
  for (int k = 0; k < f->m; k++) {
    mind[k] = INT64_MAX;
    for (int r = 0; r < f->rounds; r++)
      if (f->full[r] && f->del[r][k] < mind[k])
        mind[k] = f->del[r][k];
  }
  int kept = 0;
  for (int r = 0; r < f->rounds; r++) {
    bool use = f->full[r];
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int k = 0; k < f->m && use; k++) {
      use = f->del[r][k] <= 3 * mind[k] + FINAL_SLACK_NS;
      lo = f->off[r][k] < lo ? f->off[r][k] : lo;
      hi = f->off[r][k] > hi ? f->off[r][k] : hi;
    }
    if (use)
      spread[kept++] = hi - lo;
  }
  qsort(spread, (size_t)kept, sizeof spread[0], cmp_i64);
  return kept;
}

/*
 * The clocks' final exam, before the nodes stop: waits (bounded) until
 * every running node, the restarted one included, is synced (in reference
 * mode to one reference) and has stayed so for CLOCK_HOLD_S, then queries
 * them all over NTP in batches of FINAL_ROUNDS rounds until FINAL_KEEP
 * rounds are usable (keep_rounds; a busy machine needs more batches, up to
 * FINAL_BATCHES). Problems go to the verdict. Returns 0, or -1 if
 * interrupted.
 */
static int measure_clocks(demo *d) {
  double start = now_s(), held = -1;
  char ref[40] = "", held_ref[40] = "";
  while (!stop_signal) {
    reap(d);
    tail_all(d);
    poll_status(d);
    ntp_round(d);
    bool ok = clocks_settled(d, ref, sizeof ref);
    if (d->tty)
      draw_table(d, ok ? "clocks settling" : "clocks syncing");
    if (!ok) {
      held = -1;
    } else if (held < 0 || strcmp(ref, held_ref) != 0) {
      /* (a restarted reference takes its role back once synced) */
      held = now_s();
      snprintf(held_ref, sizeof held_ref, "%s", ref);
    }
    if (held >= 0 && now_s() - held >= CLOCK_HOLD_S)
      break;
    if (now_s() - start > CLOCK_SYNC_S) {
      const char *how = d->o.collab ? "(collaborative)" : "to one reference";
      note(d, "the clocks did not all sync %s in %.0f s", how, CLOCK_SYNC_S);
      problem(d, "the clocks did not all sync %s within %.0f s", how,
              CLOCK_SYNC_S);
      return 0;
    }
    sleep_ms(200);
  }
  if (stop_signal)
    return -1;
  final_rounds *f = calloc(1, sizeof *f);
  int64_t *spread = calloc(FINAL_MAX, sizeof *spread);
  if (!f || !spread) {
    free(f);
    free(spread);
    problem(d, "out of memory for the final clock measurement");
    return 0;
  }
  for (int i = 0; i < d->o.nodes; i++)
    if (d->n[i].pid > 0)
      f->idx[f->m++] = i;
  int kept = 0;
  while (f->rounds < FINAL_MAX && kept < FINAL_KEEP && !stop_signal) {
    double t = now_s();
    int r = f->rounds++;
    ntp_round(d);
    f->full[r] = true;
    for (int k = 0; k < f->m; k++) {
      const dnode *n = &d->n[f->idx[k]];
      f->full[r] = f->full[r] && n->ntp_ok;
      f->off[r][k] = n->ntp_offset;
      f->del[r][k] = n->ntp_delay;
    }
    if (d->tty)
      draw_table(d, "measuring the clocks");
    if (f->rounds % FINAL_ROUNDS == 0)
      kept = keep_rounds(f, spread);
    int left = (int)((t + FINAL_EVERY_MS / 1000.0 - now_s()) * 1000);
    if (left > 0)
      sleep_ms(left);
  }
  int rounds = f->rounds;
  kept = keep_rounds(f, spread);
  d->final_rounds = rounds;
  d->final_kept = kept;
  d->final_nodes = f->m;
  free(f);
  if (stop_signal) {
    free(spread);
    return -1;
  }
  snprintf(d->final_ref, sizeof d->final_ref, "%s", ref);
  if (kept < 3) {
    problem(d,
            "only %d of %d NTP rounds were usable for the final clock "
            "measurement",
            kept, rounds);
    free(spread);
    return 0;
  }
  d->final_done = true;
  d->final_median = kept % 2
                        ? (double)spread[kept / 2]
                        : (double)(spread[kept / 2 - 1] + spread[kept / 2]) / 2;
  d->final_max = (double)spread[kept - 1];
  free(spread);
  if (d->final_max >= CLOCK_AGREE_NS) {
    /* name the node furthest from the others in the latest round, with
     * the error bound it claims itself (a node still slewing says so) */
    const dnode *far = NULL;
    double far_off = 0;
    for (int i = 0; i < d->o.nodes; i++) {
      const dnode *n = &d->n[i];
      double o = (double)(n->ntp_offset - d->ntp_median);
      if (n->pid > 0 && n->ntp_ok && (!far || fabs(o) > fabs(far_off))) {
        far = n;
        far_off = o;
      }
    }
    char a2[32], o2[32] = "?", e2[32] = "?";
    fmt_ns(d->final_max, a2, sizeof a2);
    if (far) {
      fmt_sns(far_off, o2, sizeof o2);
      fmt_ns(far->err_ns, e2, sizeof e2);
    }
    problem(d,
            "the nodes' network times disagree by up to %s over NTP (want "
            "< 1 ms); furthest off: %s, %s from the median, its own error "
            "bound %s",
            a2, far ? far->id : "?", o2, e2);
  }
  return 0;
}

static void wait_exit(demo *d, double seconds) {
  double end = now_s() + seconds;
  while (running(d) > 0 && now_s() < end) {
    reap(d);
    if (running(d) > 0)
      sleep_ms(20);
  }
}

static void signal_all(demo *d, int sig) {
  for (int i = 0; i < d->o.nodes; i++)
    if (d->n[i].pid > 0)
      kill(d->n[i].pid, sig);
}

/* Stops every running node: the stop command, then SIGTERM, then SIGKILL,
 * each after a bounded wait, always by PID. Signals are not watched here:
 * an interrupted demo must still stop its nodes. */
static void stop_nodes(demo *d) {
  cJSON *req = simple_req("stop");
  int asked = 0, n0 = running(d);
  for (int i = 0; i < d->o.nodes; i++) {
    dnode *n = &d->n[i];
    if (n->pid <= 0)
      continue;
    if (n->state != NODE_DEAD)
      n->state = NODE_STOPPED;
    cJSON *a = call(n, req, CALL_MS);
    asked += a && ans_ok(a);
    cJSON_Delete(a);
    p2pc_ctl_close(&n->ctl);
  }
  cJSON_Delete(req);
  wait_exit(d, STOP_CMD_S);
  int termed = running(d);
  if (termed) {
    signal_all(d, SIGTERM);
    wait_exit(d, STOP_TERM_S);
  }
  int killed = running(d);
  if (killed) {
    signal_all(d, SIGKILL);
    wait_exit(d, STOP_KILL_S);
  }
  fprintf(d->out, "stopped %d node(s): %d by the stop command", n0,
          n0 - termed);
  if (termed)
    fprintf(d->out, ", %d more by SIGTERM", termed - killed);
  if (killed)
    fprintf(d->out, ", %d by SIGKILL", killed);
  if (asked < n0)
    fprintf(d->out, " (%d did not answer the stop command)", n0 - asked);
  fprintf(d->out, "\n");
  if (termed)
    problem(d, "%d node(s) did not stop on the stop command", termed);
}

/* ---- the verdict -------------------------------------------------------- */

/* Where the verdict stands, from the checker's result and the demo's own
 * findings; the human text and the JSON both come from this. */
typedef struct verdict {
  const char *word; /* OK, FAILED, UNKNOWN, NOT_RUN, INTERRUPTED */
  bool ok;          /* the exit status is 0 */
  bool checked;     /* the checker gave a verdict: r below is valid */
  bool clocks_ok;
  uint64_t order, twice, missing, other; /* violations by kind */
  uint64_t lost;                         /* with the killed node */
} verdict;

static void judge(const demo *d, bool ran, int cst,
                  const p2pc_evcheck_result *r, verdict *v) {
  *v = (verdict){.word = "NOT_RUN"};
  v->clocks_ok = d->final_done && d->final_max < CLOCK_AGREE_NS;
  if (stop_signal) {
    v->word = "INTERRUPTED";
    return;
  }
  if (!ran)
    return;
  v->checked = cst == P2PC_EVCHECK_CHECKED && !d->check_nomem;
  if (!v->checked) {
    v->word = "UNKNOWN";
    return;
  }
  v->order = r->by_kind[P2PC_EVCHECK_ORDER];
  v->twice = r->by_kind[P2PC_EVCHECK_DUPLICATE];
  v->missing = r->by_kind[P2PC_EVCHECK_MISSING];
  v->other = r->violations - v->order - v->twice - v->missing;
  v->lost = r->lost_receiver + r->lost_sender;
  v->ok = r->violations == 0 && v->clocks_ok && d->nproblems == 0;
  v->word = v->ok ? "OK" : "FAILED";
}

static void check_status_text(int cst, bool nomem, char *out, size_t len) {
  if (nomem || cst == P2PC_EVCHECK_NOMEM)
    snprintf(out, len, "out of memory");
  else if (cst == P2PC_EVCHECK_BADINPUT)
    snprintf(out, len, "malformed lines in the logs (above)");
  else if (cst == P2PC_EVCHECK_EMPTY)
    snprintf(out, len, "no \"start\" line in any log");
  else if (cst == P2PC_EVCHECK_TOOLARGE)
    snprintf(out, len, "the logs are too large to check");
  else
    snprintf(out, len, "status %d", cst);
}

/* The example, in words: two sentences (a chain's), or one. */
static void example_text(const demo *d, char *s1, size_t l1, char *s2,
                         size_t l2) {
  const example *x = &d->ex;
  char held[ID_LEN], after[ID_LEN], w[32];
  show_id(d, x->held, held, sizeof held);
  show_id(d, x->after, after, sizeof after);
  fmt_ns((double)x->waited_ns, w, sizeof w);
  const char *rcv = d->n[x->receiver].id;
  if (x->chain) {
    char first[ID_LEN], last[ID_LEN], hint[ID_LEN];
    show_id(d, x->slow_first, first, sizeof first);
    show_id(d, x->slow_last, last, sizeof last);
    show_id(d, x->hint, hint, sizeof hint);
    snprintf(s1, l1,
             "%s sent %s..%s to %s over its slow link, then %s to %s, and %s "
             "arrived first;",
             d->n[d->slow].id, first, last, rcv, hint, d->n[x->relay].id, hint);
    snprintf(s2, l2,
             "%s then sent %s to %s, which got it before %s: %s held %s for "
             "%s, until %s was delivered",
             d->n[x->relay].id, held, rcv, after, rcv, held, w, after);
  } else {
    snprintf(s1, l1,
             "%s reached %s before %s, which was sent causally before it:",
             held, rcv, after);
    snprintf(s2, l2, "%s held it %s, until %s was delivered", rcv, w, after);
  }
}

/* One line of the verdict: a label, a value, what it means. */
static void vline(const demo *d, const char *label, const char *value,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void vline(const demo *d, const char *label, const char *value,
                  const char *fmt, ...) {
  char text[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  fprintf(d->out, "  %-22s %6s  %s\n", label, value, text);
}

static void print_clocks(const demo *d) {
  char a[32], b[32];
  if (!d->final_done) {
    vline(d, "clocks", "NOT",
          "MEASURED: not all synced%s (see the problems "
          "below) (BAD)",
          d->o.collab ? " (collaborative)" : " to one reference");
    return;
  }
  bool ok = d->final_max < CLOCK_AGREE_NS;
  double olo = 0, ohi = 0, dlo = 0, dhi = 0;
  for (int i = 0; i < d->o.nodes; i++) {
    double o = atof(d->n[i].clk_offset), r = atof(d->n[i].clk_drift);
    olo = i == 0 || o < olo ? o : olo;
    ohi = i == 0 || o > ohi ? o : ohi;
    dlo = i == 0 || r < dlo ? r : dlo;
    dhi = i == 0 || r > dhi ? r : dhi;
  }
  char how[64], cnt[16];
  if (d->o.collab)
    snprintf(how, sizeof how, "collaborative");
  else
    snprintf(how, sizeof how, "all following %s", d->final_ref);
  snprintf(cnt, sizeof cnt, "%d/%d", d->final_nodes, d->o.nodes);
  vline(d, "clocks synced", cnt,
        "%s, from virtual clocks %+.3f..%+.3f s off, %+.0f..%+.0f ppm", how,
        olo, ohi, dlo, dhi);
  fmt_ns(d->final_max, a, sizeof a);
  fmt_ns(d->final_median, b, sizeof b);
  vline(d, "clock disagreement", a,
        "at most, between any two nodes' network times over NTP (median %s, "
        "%d rounds%s); want < 1 ms: %s",
        b, d->final_kept, d->victim >= 0 ? ", after the restart" : "",
        ok ? "good" : "BAD");
}

static void print_verdict(const demo *d, const verdict *v,
                          const p2pc_evcheck_result *r, int cst) {
  char num[32], why[256] = "";
  fprintf(d->out, "\n");
  if (strcmp(v->word, "UNKNOWN") == 0) {
    check_status_text(cst, d->check_nomem, why, sizeof why);
    fprintf(d->out,
            "verdict: UNKNOWN: the checker could not judge the logs: "
            "%s\n",
            why);
    print_clocks(d);
    return;
  }
  if (v->ok) {
    fprintf(d->out, "verdict: OK: causal order held, every message was "
                    "delivered exactly once or is excused by the kill, and "
                    "the clocks agree within 1 ms\n");
  } else {
    size_t l = 0;
#define WHY(...)                                                               \
  l += (size_t)snprintf(why + l, l < sizeof why ? sizeof why - l : 0,          \
                        __VA_ARGS__)
    if (v->order)
      WHY("; %" PRIu64 " causal order violation(s)", v->order);
    if (v->twice)
      WHY("; %" PRIu64 " delivered twice", v->twice);
    if (v->missing)
      WHY("; %" PRIu64 " never delivered", v->missing);
    if (v->other)
      WHY("; %" PRIu64 " other violation(s)", v->other);
    if (!v->clocks_ok)
      WHY("; the clocks %s",
          d->final_done ? "disagree by 1 ms or more" : "were not measured");
    if (d->nproblems)
      WHY("; %d problem(s), below", d->nproblems);
#undef WHY
    fprintf(d->out, "verdict: FAILED: %s\n", why[0] ? why + 2 : "?");
  }
  snprintf(num, sizeof num, "%" PRIu64, r->messages);
  vline(d, "messages sent", num,
        "%" PRIu64 " of them to the sender itself (a broadcast reaches its "
        "sender too)",
        r->self_sends);
  snprintf(num, sizeof num, "%" PRIu64, r->delivered - v->twice);
  vline(d, "delivered exactly once", num, "at their destination%s",
        v->twice ? "" : ", none twice (good)");
  if (v->twice) {
    snprintf(num, sizeof num, "%" PRIu64, v->twice);
    vline(d, "DELIVERED TWICE", num, "a message delivered again (BAD)");
  }
  if (v->order == 0) {
    vline(d, "causal order", "held",
          "no node delivered a message before one it depends on (good)");
  } else {
    snprintf(num, sizeof num, "%" PRIu64, v->order);
    vline(d, "CAUSAL ORDER VIOLATED", num,
          "times a message was delivered before one it depends on (BAD)");
  }
  snprintf(num, sizeof num, "%" PRIu64, r->waited);
  if (r->waited > 0) {
    char a[32], b[32], c[32];
    fmt_ns((double)r->waited_p50_ns, a, sizeof a);
    fmt_ns((double)r->waited_p99_ns, b, sizeof b);
    fmt_ns((double)r->waited_max_ns, c, sizeof c);
    vline(d, "held back", num,
          "arrived before a message they depend on, and waited for it: "
          "median %s, p99 %s, max %s",
          a, b, c);
    if (d->ex.set) {
      char s1[768], s2[768];
      example_text(d, s1, sizeof s1, s2, sizeof s2);
      fprintf(d->out, "    e.g. %s\n         %s\n", s1, s2);
    }
  } else if (d->recv < 0) {
    vline(d, "held back", "none",
          "with 2 nodes each hears from one sender over one ordered link, "
          "so nothing arrives early (try --nodes 3)");
  } else {
    vline(d, "held back", "none",
          "no message arrived before one it depends on in this run (the "
          "slow link's delays were all short)");
  }
  if (d->recv >= 0) {
    snprintf(num, sizeof num, "%d", d->ch.rounds);
    vline(d, "causal chains", num,
          "rounds %s -> relay -> %s; in %d of them %s held a relay's "
          "message back",
          d->n[d->slow].id, d->n[d->recv].id, d->ch.held_rounds,
          d->n[d->recv].id);
  }
  snprintf(num, sizeof num, "%" PRIu64, r->undeliverable);
  if (d->victim >= 0) {
    const char *vid = d->n[d->victim].id;
    vline(d, "reported undeliverable", num,
          "sent to %s but not acknowledged before its restart; the senders "
          "told their applications: expected with a kill, not loss",
          vid);
    char label[40];
    snprintf(label, sizeof label, "lost with killed %s", vid);
    snprintf(num, sizeof num, "%" PRIu64, v->lost);
    vline(d, label, num,
          "were inside %s when it was killed: %" PRIu64 " received, not yet "
          "delivered; %" PRIu64 " sent, not yet out (a crash loses these)",
          vid, r->lost_receiver, r->lost_sender);
  } else {
    vline(d, "reported undeliverable", num,
          "sent to a node that restarted before acknowledging them%s",
          r->undeliverable ? "" : " (none: nobody was killed)");
    snprintf(num, sizeof num, "%" PRIu64, v->lost);
    vline(d, "lost with a crash", num, "were inside a node that died%s",
          v->lost ? "" : " (none: nobody was killed)");
  }
  if (r->expired) {
    snprintf(num, sizeof num, "%" PRIu64, r->expired);
    vline(d, "expired", num,
          "older than the causal lifetime before they could be delivered, "
          "and given up on in time: not loss");
  }
  snprintf(num, sizeof num, "%" PRIu64, v->missing);
  vline(d, "never delivered", num, "lost without such an excuse%s",
        v->missing ? " (BAD)" : " (good)");
  if (v->other) {
    for (int k = 0; k < P2PC_EVCHECK_NKINDS; k++) {
      if (k == P2PC_EVCHECK_ORDER || k == P2PC_EVCHECK_DUPLICATE ||
          k == P2PC_EVCHECK_MISSING || r->by_kind[k] == 0)
        continue;
      snprintf(num, sizeof num, "%" PRIu64, r->by_kind[k]);
      vline(d, p2pc_evcheck_kind_name((p2pc_evcheck_kind)k), num,
            "violations of this kind (p2pclock check --help) (BAD)");
    }
  }
  for (uint32_t i = 0; i < r->nlisted; i++)
    fprintf(d->out, "    %s\n", r->listed[i]);
  print_clocks(d);
  char req[32];
  snprintf(req, sizeof req, "%llu",
           (unsigned long long)(d->sends + d->broadcasts + d->ch.sends));
  vline(d, "requests", req,
        "%llu sends, %llu broadcasts, %llu chain sends; refused: %llu "
        "back-pressure, %llu no session (peer down), %llu other%s%s%s; %llu "
        "unanswered",
        (unsigned long long)d->sends, (unsigned long long)d->broadcasts,
        (unsigned long long)d->ch.sends, (unsigned long long)d->refused_bp,
        (unsigned long long)d->refused_nosess,
        (unsigned long long)(d->refused_other + d->ch.refused),
        d->other_error[0] ? " (\"" : "", d->other_error,
        d->other_error[0] ? "\")" : "", (unsigned long long)d->failed);
}

/* ---- the verdict as JSON (docs/DEMO.md) --------------------------------- */

static bool jnum(cJSON *o, const char *key, double v) {
  return cJSON_AddNumberToObject(o, key, v) != NULL;
}

static bool jstr(cJSON *o, const char *key, const char *v) {
  return (v ? cJSON_AddStringToObject(o, key, v)
            : cJSON_AddNullToObject(o, key)) != NULL;
}

static bool json_example(const demo *d, cJSON *held) {
  const example *x = &d->ex;
  if (!x->set)
    return cJSON_AddNullToObject(held, "example") != NULL;
  cJSON *e = cJSON_AddObjectToObject(held, "example");
  char s1[768], s2[768], text[1540];
  example_text(d, s1, sizeof s1, s2, sizeof s2);
  snprintf(text, sizeof text, "%s %s", s1, s2);
  char from[ID_LEN];
  snprintf(from, sizeof from, "%.*s", (int)strcspn(x->held, "~:"), x->held);
  return e && jstr(e, "receiver", d->n[x->receiver].id) &&
         jstr(e, "held", x->held) && jstr(e, "from", from) &&
         jnum(e, "waited_ns", (double)x->waited_ns) &&
         jstr(e, "released_by", x->after) &&
         cJSON_AddBoolToObject(e, "chain", x->chain) &&
         jstr(e, "relay", x->chain ? d->n[x->relay].id : NULL) &&
         jstr(e, "relay_got", x->chain ? x->hint : NULL) &&
         jstr(e, "slow_first", x->chain ? x->slow_first : NULL) &&
         jstr(e, "slow_last", x->chain ? x->slow_last : NULL) &&
         jstr(e, "text", text);
}

static bool json_clocks(const demo *d, const verdict *v, cJSON *o) {
  cJSON *c = cJSON_AddObjectToObject(o, "clocks");
  bool ok = c && cJSON_AddBoolToObject(c, "ok", v->clocks_ok) &&
            cJSON_AddBoolToObject(c, "measured", d->final_done) &&
            jstr(c, "mode", d->o.clock_mode) &&
            jstr(c, "ref", d->final_done && !d->o.collab ? d->final_ref : NULL);
  if (ok && d->final_done)
    ok = jnum(c, "synced", d->final_nodes) &&
         jnum(c, "max_disagreement_ns", d->final_max) &&
         jnum(c, "median_disagreement_ns", d->final_median) &&
         jnum(c, "rounds_used", d->final_kept) &&
         jnum(c, "rounds", d->final_rounds);
  else if (ok)
    ok = cJSON_AddNullToObject(c, "synced") &&
         cJSON_AddNullToObject(c, "max_disagreement_ns") &&
         cJSON_AddNullToObject(c, "median_disagreement_ns") &&
         jnum(c, "rounds_used", d->final_kept) &&
         jnum(c, "rounds", d->final_rounds);
  return ok;
}

/* The checker's part; its counts are null when it gave no verdict. */
static bool json_checked(const demo *d, const verdict *v,
                         const p2pc_evcheck_result *r, cJSON *o) {
  cJSON *held = NULL, *lost = NULL, *list = NULL;
  if (!v->checked) {
    static const char *const keys[] = {
        "messages",         "to_self",          "delivered",
        "delivered_twice",  "order_violations", "never_delivered",
        "other_violations", "undeliverable",    "expired",
        "lost_with_killed", "held_back"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
      if (!cJSON_AddNullToObject(o, keys[k]))
        return false;
    return cJSON_AddArrayToObject(o, "first_violations") != NULL;
  }
  bool ok = jnum(o, "messages", (double)r->messages) &&
            jnum(o, "to_self", (double)r->self_sends) &&
            jnum(o, "delivered", (double)(r->delivered - v->twice)) &&
            jnum(o, "delivered_twice", (double)v->twice) &&
            jnum(o, "order_violations", (double)v->order) &&
            jnum(o, "never_delivered", (double)v->missing) &&
            jnum(o, "other_violations", (double)v->other) &&
            jnum(o, "undeliverable", (double)r->undeliverable) &&
            jnum(o, "expired", (double)r->expired) &&
            (lost = cJSON_AddObjectToObject(o, "lost_with_killed")) &&
            jnum(lost, "received_not_delivered", (double)r->lost_receiver) &&
            jnum(lost, "sent_not_out", (double)r->lost_sender) &&
            (held = cJSON_AddObjectToObject(o, "held_back")) &&
            jnum(held, "count", (double)r->waited) &&
            jnum(held, "median_ns", (double)r->waited_p50_ns) &&
            jnum(held, "p99_ns", (double)r->waited_p99_ns) &&
            jnum(held, "max_ns", (double)r->waited_max_ns) &&
            json_example(d, held) &&
            (list = cJSON_AddArrayToObject(o, "first_violations"));
  for (uint32_t i = 0; ok && i < r->nlisted; i++) {
    cJSON *str = cJSON_CreateString(r->listed[i]);
    ok = str && cJSON_AddItemToArray(list, str);
  }
  return ok;
}

/* Prints the verdict as one JSON object on stdout; -1 if out of memory or
 * stdout fails. */
static int print_json(const demo *d, const verdict *v,
                      const p2pc_evcheck_result *r, int status,
                      const char *logs) {
  char seed[24];
  snprintf(seed, sizeof seed, "%" PRIu64, d->seed);
  cJSON *o = cJSON_CreateObject(), *chains = NULL, *req = NULL, *probs = NULL;
  bool ok =
      o && cJSON_AddBoolToObject(o, "ok", v->ok) &&
      jstr(o, "verdict", v->word) && jnum(o, "exit_status", status) &&
      jstr(o, "seed", seed) && jnum(o, "nodes", d->o.nodes) &&
      jnum(o, "duration_s", d->o.duration) && jnum(o, "rate", d->o.rate) &&
      jstr(o, "killed", d->victim >= 0 ? d->n[d->victim].id : NULL) &&
      jstr(o, "slow_node", d->recv >= 0 ? d->n[d->slow].id : NULL) &&
      jnum(o, "slow_delay_ms", d->recv >= 0 ? SLOW_DELAY_MS : OTHER_DELAY_MS) &&
      jnum(o, "other_delay_ms", OTHER_DELAY_MS) &&
      (chains = cJSON_AddObjectToObject(o, "chains")) &&
      jstr(chains, "receiver", d->recv >= 0 ? d->n[d->recv].id : NULL) &&
      jnum(chains, "rounds", d->ch.rounds) &&
      jnum(chains, "held", d->ch.held_rounds) &&
      jnum(chains, "sends", (double)d->ch.sends) &&
      cJSON_AddBoolToObject(o, "checked", v->checked) &&
      json_checked(d, v, r, o) && json_clocks(d, v, o) &&
      (req = cJSON_AddObjectToObject(o, "requests")) &&
      jnum(req, "sends", (double)d->sends) &&
      jnum(req, "broadcasts", (double)d->broadcasts) &&
      jnum(req, "refused_back_pressure", (double)d->refused_bp) &&
      jnum(req, "refused_no_session", (double)d->refused_nosess) &&
      jnum(req, "refused_other", (double)(d->refused_other + d->ch.refused)) &&
      jnum(req, "unanswered", (double)d->failed) &&
      (probs = cJSON_AddArrayToObject(o, "problems")) && jstr(o, "logs", logs);
  for (int i = 0; ok && i < d->nproblems; i++) {
    cJSON *str = cJSON_CreateString(d->problems[i]);
    ok = str && cJSON_AddItemToArray(probs, str);
  }
  char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!text)
    return -1;
  int rv = printf("%s\n", text) < 0 || fflush(stdout) != 0 ? -1 : 0;
  free(text);
  return rv;
}

/* ---- the whole run ------------------------------------------------------ */

static void remove_files(demo *d, bool logs) {
  for (int i = 0; i < d->o.nodes; i++) {
    unlink(d->n[i].sock);
    if (logs) {
      unlink(d->n[i].events);
      unlink(d->n[i].log);
    }
  }
}

/* Sets the network up and runs it to the end of the clocks' measurement.
 * Returns 0, 1 if it could not be run (a problem says why), or 128 +
 * signal if interrupted. */
static int run(demo *d) {
  int rv = pick_ports(d->n, d->o.nodes);
  if (rv < 0) {
    problem(d, "cannot find free ports on 127.0.0.1: %s", strerror(-rv));
    return EXIT_FAILURE;
  }
  for (int i = 0; i < d->o.nodes; i++)
    setup_node(d, i);
  fprintf(d->out,
          "p2pclock demo: %d nodes on 127.0.0.1 (ports %u..), logs in "
          "%s\n",
          d->o.nodes, d->n[0].port, d->logdir);
  fprintf(d->out,
          "virtual clocks (offset, drift; clock mode %s):", d->o.clock_mode);
  for (int i = 0; i < d->o.nodes; i++)
    fprintf(d->out, "%s %s %+.3f s %+.0f ppm", i ? "," : "", d->n[i].id,
            atof(d->n[i].clk_offset), atof(d->n[i].clk_drift));
  fprintf(d->out, "\n");
  for (int i = 0; i < d->o.nodes; i++)
    if (p2pc_evcheck_name(d->ec, (uint32_t)i, d->n[i].events) < 0)
      d->check_nomem = true;
  rv = ntp_open(d);
  if (rv < 0) {
    problem(d, "cannot open a UDP socket on 127.0.0.1: %s", strerror(-rv));
    return EXIT_FAILURE;
  }
  for (int i = 0; i < d->o.nodes; i++) {
    rv = spawn_node(&d->n[i]);
    if (rv < 0) {
      problem(d, "cannot start %s: %s", d->n[i].id, strerror(-rv));
      return EXIT_FAILURE;
    }
  }
  rv = wait_mesh(d);
  if (rv != 0)
    return rv < 0 ? 128 + stop_signal : EXIT_FAILURE;
  rv = run_traffic(d);
  if (d->tty)
    draw_table(d, rv < 0 ? "interrupted" : "traffic done");
  if (rv < 0)
    return 128 + stop_signal;
  rv = wait_quiet(d);
  if (rv < 0)
    return 128 + stop_signal;
  if (measure_clocks(d) < 0)
    return 128 + stop_signal;
  if (!d->tty)
    print_line(d);
  end_table(d);
  return 0;
}

/* The roles: the victim from the seed; the slow node and the chains'
 * receiver the first and the last of the others (never the victim, whose
 * crash would take the slow messages or the holds with it). */
static void pick_roles(demo *d) {
  d->victim = -1;
  d->slow = d->recv = -1;
  if (d->o.kill) {
    /* n1 has no --peer: restarted, it waits for the others to redial */
    d->victim = (int)(rnd(d) % (uint64_t)d->o.nodes);
    d->kill_t = KILL_AT * d->o.duration;
    d->restart_t = d->kill_t + RESTART_AFTER_S;
  }
  for (int i = 0; i < d->o.nodes; i++) {
    if (i == d->victim)
      continue;
    if (d->slow < 0)
      d->slow = i;
    else
      d->recv = i;
  }
  if (d->o.nodes < 3)
    d->recv = -1; /* no relay: no chain */
}

static void on_check_diag(void *ud, bool warning, const char *text) {
  (void)ud;
  fprintf(stderr, "p2pclock demo: check: %s%s\n", warning ? "warning: " : "",
          text);
}

static int alloc_all(demo *d) {
  d->n = calloc((size_t)d->o.nodes, sizeof *d->n);
  d->hb = p2pc_holdback_new((uint32_t)d->o.nodes);
  d->ec = p2pc_evcheck_new();
  if (!d->n || !d->hb || !d->ec)
    return -1;
  p2pc_evcheck_set_diag(d->ec, on_check_diag, NULL);
  for (int i = 0; i < d->o.nodes; i++)
    d->n[i].ev_fd = -1;
  return 0;
}

static void free_all(demo *d) {
  for (int i = 0; d->n && i < d->o.nodes; i++) {
    p2pc_ctl_close(&d->n[i].ctl);
    if (d->n[i].ev_fd >= 0)
      close(d->n[i].ev_fd);
    free(d->n[i].ev_buf);
  }
  if (d->ntp_fd >= 0)
    close(d->ntp_fd);
  free(d->n);
  p2pc_holdback_free(d->hb);
  p2pc_evcheck_free(d->ec);
}

int p2pc_cli_demo(int argc, char **argv) {
  demo d;
  memset(&d, 0, sizeof d);
  d.ntp_fd = -1;
  int status = parse_opts(&d.o, argc, argv);
  if (status >= 0)
    return status;
  d.out = d.o.json ? stderr : stdout;
  ssize_t k = readlink("/proc/self/exe", d.self, sizeof d.self - 1);
  if (k <= 0 || (size_t)k >= sizeof d.self - 1) {
    fprintf(stderr, "p2pclock demo: cannot find my own executable: %s\n",
            k < 0 ? strerror(errno) : "path too long");
    return EXIT_FAILURE;
  }
  d.self[k] = '\0';
  if (alloc_all(&d) < 0) {
    fprintf(stderr, "p2pclock demo: out of memory\n");
    free_all(&d);
    return EXIT_FAILURE;
  }
  if (make_dirs(&d) < 0) {
    if (d.tmp[0])
      rmdir(d.tmp);
    free_all(&d);
    return EXIT_FAILURE;
  }
  d.tty = isatty(fileno(d.out));
  d.cookie_rng = ((uint64_t)real_ns() ^ (uint64_t)getpid() << 40) | 1;
  const char *seed = getenv("P2PC_SEED");
  d.rng = seed && *seed
              ? strtoull(seed, NULL, 0)
              : (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid() << 32;
  if (d.rng == 0)
    d.rng = 1;
  d.seed = d.rng;
  pick_roles(&d);

  struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term, old_pipe,
                   ign = {.sa_handler = SIG_IGN};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGPIPE, &ign, &old_pipe);

  fprintf(d.out,
          "p2pclock demo: seed %" PRIu64 " (P2PC_SEED=%" PRIu64
          " replays the choices)\n",
          d.seed, d.seed);
  status = run(&d);
  bool ran = status == 0;
  end_table(&d);
  stop_nodes(&d);
  /* the logs' last lines, then the checker's verdict on all of them */
  for (int i = 0; i < d.o.nodes; i++)
    tail_node(&d, i, true);
  p2pc_evcheck_result r;
  memset(&r, 0, sizeof r);
  int cst = P2PC_EVCHECK_EMPTY;
  if (ran && !stop_signal) {
    fprintf(d.out,
            "checked the event logs (%s/n1..n%d.events) with the "
            "checker of p2pclock check\n",
            d.logdir, d.o.nodes);
    cst = p2pc_evcheck_finish(d.ec, &r);
  }
  verdict v;
  judge(&d, ran, cst, &r, &v);
  if (stop_signal) {
    status = 128 + stop_signal;
    fprintf(d.out, "p2pclock demo: interrupted; every node stopped\n");
  } else {
    if (ran)
      print_verdict(&d, &v, &r, cst);
    status = v.ok ? EXIT_SUCCESS : EXIT_FAILURE;
  }
  for (int i = 0; i < d.nproblems; i++)
    fprintf(d.out, "%s %s\n", i == 0 ? "\nproblems:" : "         ",
            d.problems[i]);
  /* The logs of a failed run are kept even in the temporary directory:
   * they are what tells why. */
  bool keep_tmp = !d.o.keep && status == EXIT_FAILURE;
  remove_files(&d, !d.o.keep && !keep_tmp);
  if (!keep_tmp && rmdir(d.tmp) < 0 && errno != ENOENT)
    fprintf(stderr, "p2pclock demo: cannot remove %s: %s\n", d.tmp,
            strerror(errno));
  bool kept = d.o.keep || keep_tmp;
  if (kept)
    fprintf(d.out, "logs kept in %s\n", d.logdir);
  else
    fprintf(d.out, "logs removed (--keep-logs DIR keeps them)\n");
  fflush(d.out);
  if (d.o.json && print_json(&d, &v, &r, status, kept ? d.logdir : NULL) < 0) {
    fprintf(stderr, "p2pclock demo: cannot write the JSON verdict: %s\n",
            errno ? strerror(errno) : "out of memory");
    if (status == EXIT_SUCCESS)
      status = EXIT_FAILURE;
  }
  free_all(&d);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
  return status;
}
