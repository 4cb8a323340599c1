/* SPDX-License-Identifier: MIT */
/*
 * The demo of demo.h. One thread, one loop ticking every 10 ms: it reaps
 * its child nodes, carries out the kill and the restart when their time
 * comes, spends each node's traffic credit on control requests, and polls
 * status for the live table. Nodes run in their own process group (a
 * Ctrl-C at the terminal reaches only the demo, which then stops them in
 * order) and die with the demo (PR_SET_PDEATHSIG), and every process the
 * demo ends it ends by PID. The verdict is the checker's: check.c runs
 * in-process on the event logs, its JSON summary captured and reworded,
 * plus the clocks': each node runs a virtual clock (its own offset and
 * drift), and the demo, as a standard NTP client with its own real clock,
 * queries every node's time port once a second (the live table shows each
 * node's offset from the median of all) and, at the end, once the killed
 * node is back and synced again, measures how far apart the nodes' network
 * times are.
 */
#include "demo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include "check.h"
#include "client.h"

#define EXIT_USAGE 2
#define PATH_LEN 4096
#define SOCK_LEN 108 /* sun_path */
#define NODE_ARGS 28

#define TICK_MS 10
#define TABLE_EVERY_S 0.5   /* live table on a terminal */
#define LINE_EVERY_S 2.0    /* progress line otherwise */
#define CALL_MS 1000        /* one control request of the demo */
#define RECONNECT_MS 300    /* reconnecting to a node's control socket */
#define MESH_BASE_S 10.0    /* waiting for the mesh: this + 0.5 s a node */
#define QUIET_S 15.0        /* waiting for in-flight messages to settle */
#define STOP_CMD_S 5.0      /* after the stop command, before SIGTERM */
#define STOP_TERM_S 3.0     /* after SIGTERM, before SIGKILL */
#define STOP_KILL_S 2.0     /* after SIGKILL */
#define RESTART_AFTER_S 2.0 /* the killed node is down this long */
#define KILL_AT 0.4         /* of the duration */
#define BROADCAST_ONE_IN 5  /* requests that are broadcasts */
#define EVENTS_SHOWN 3      /* latest events on the live table */
#define PROBLEMS_MAX 8

/* The clocks */
#define CLOCK_OFFSET_MAX_S 1.0   /* virtual clock offsets: +-this */
#define CLOCK_DRIFT_MAX_PPM 200  /* virtual clock drifts: +-this */
#define NTP_EVERY_S 1.0          /* one NTP round over the nodes */
#define NTP_WAIT_MS 100          /* for one node's NTP reply */
#define CLOCK_SYNC_S 20.0        /* waiting for every clock to be synced */
#define CLOCK_HOLD_S 2.0         /* synced this long before measuring */
#define FINAL_ROUNDS 20          /* the final measurement: rounds ... */
#define FINAL_EVERY_MS 100       /* ... this far apart */
#define FINAL_SLACK_NS 50000     /* rounds kept: delays <= 3 x least + this */
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
  char id[12];
  char events[PATH_LEN + 32], log[PATH_LEN + 32], sock[SOCK_LEN];
  char listen[32], peer[32];
  char clk_offset[32], clk_drift[32]; /* the virtual clock's flags */
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
} demo_opts;

typedef struct demo {
  demo_opts o;
  char self[PATH_LEN];
  char tmp[64];          /* sockets, and the logs unless --keep-logs */
  char logdir[PATH_LEN]; /* the event logs and stderr logs */
  dnode *n;
  double t0; /* monotonic seconds at the start of the traffic */
  bool tty;
  uint64_t rng;
  int victim; /* index of the node to kill, -1 for none */
  double kill_t, restart_t;
  bool killed, restarted;
  int table_lines; /* lines of the live table on screen */
  int width;       /* of the terminal */
  char events[EVENTS_SHOWN][112];
  int nevents;
  /* what went wrong besides the verdict: a node that died by itself, a
   * mesh that never formed, a node that ignored the stop command */
  char problems[PROBLEMS_MAX][160];
  int nproblems;
  /* traffic counters */
  uint64_t sends, broadcasts, bc_peers, refused_bp, refused_nosess,
      refused_other, failed;
  char other_error[160];
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
  char text[96];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  double t = d->t0 > 0 ? elapsed(d) : 0;
  if (d->nevents == EVENTS_SHOWN) {
    memmove(d->events[0], d->events[1], sizeof d->events[0] * 2);
    d->nevents--;
  }
  snprintf(d->events[d->nevents++], sizeof d->events[0], "%5.1f s  %s", t,
           text);
  if (!d->tty || d->table_lines == 0) {
    printf("[%5.1f s] %s\n", t, text);
    fflush(stdout);
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
    "\n"
    "Starts N nodes (p2pclock node) on 127.0.0.1, each told only of the\n"
    "previous one, with a chaos delay of 0..50 ms on every frame; waits\n"
    "until every node sees the N-1 others; sends random messages and\n"
    "broadcasts through their control sockets for S seconds; kills one\n"
    "node with SIGKILL at 40 % of the time and restarts it 2 s later; then\n"
    "stops them all and checks their event logs (p2pclock check).\n"
    "Each node runs a virtual clock, off by up to 1 s and drifting by up to\n"
    "200 ppm (from the seed). In reference mode the nodes elect a reference\n"
    "and follow it; in collaborative mode there is none: each steers to a\n"
    "weighted mean of its neighbours' network times and its own.\n"
    "Once a second the demo queries every node over NTP, as a standard\n"
    "client, and shows its offset from the median of all; at the end, with\n"
    "the restarted node synced again, it measures how far apart the nodes'\n"
    "network times are (the verdict wants them within 1 ms).\n"
    "\n"
    "  --nodes N        2..20 [5]\n"
    "  --duration S     seconds of traffic, 1..3600 [20]\n"
    "  --rate R         requests per second per node, 0..1000 [5]; one in\n"
    "                   five is a broadcast\n"
    "  --clock-mode M   reference or collaborative, passed to every node\n"
    "                   (p2pclock node --clock-mode) [reference]\n"
    "  --keep-logs DIR  keep the logs in DIR (created if needed; its\n"
    "                   nX.events and nX.log files are replaced)\n"
    "                   [a temporary directory, removed after a passing run]\n"
    "  --no-kill        kill nobody\n"
    "\n"
    "Exit status: 0 the checker's verdict is OK and the clocks agree, 1\n"
    "not (or the network could not be run), 2 usage error, 130\n"
    "interrupted.\n";

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
  n->argv[k++] = "--chaos-delay";
  n->argv[k++] = "0:50";
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
  printf("\r\033[K%.*s\n", d->width - 1, text);
  d->table_lines++;
}

static void draw_table(demo *d, const char *phase) {
  struct winsize ws;
  d->width = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20
                 ? ws.ws_col
                 : 80;
  if (d->table_lines > 0)
    printf("\033[%dA", d->table_lines);
  d->table_lines = 0;
  tline(d, "p2pclock demo: %s, %.1f s of %.0f s, %d nodes, %g msgs/s each",
        phase, d->t0 > 0 ? elapsed(d) : 0.0, d->o.duration, d->o.nodes,
        d->o.rate);
  /* collaborative mode has no reference: TRUECH, the truechimers each
   * node selected among its neighbours and itself, takes its column */
  tline(d, "%-4s %-7s %5s %7s %9s %4s  %-4s %-6s %11s %9s", "NODE", "STATE",
        "PEERS", "SENT", "DELIVERED", "BUF", "SYNC",
        d->o.collab ? "TRUECH" : "REF", "NTP-OFFSET", "ERR");
  for (int i = 0; i < d->o.nodes; i++) {
    const dnode *n = &d->n[i];
    char peers[16], ref[48], off[24], err[24];
    clock_cells(d, n, ref, sizeof ref, off, sizeof off, err, sizeof err);
    if (n->seen && n->pid > 0) {
      snprintf(peers, sizeof peers, "%d/%d", n->peers_up, d->o.nodes - 1);
      tline(d, "%-4s %-7s %5s %7.0f %9.0f %4.0f  %-4s %-6s %11s %9s", n->id,
            state_name(n), peers, n->sent, n->delivered, n->buffered,
            !n->clk_seen ? "-"
            : n->synced  ? "yes"
                         : "no",
            ref, off, err);
    } else {
      tline(d, "%-4s %-7s %5s %7s %9s %4s  %-4s %-6s %11s %9s", n->id,
            state_name(n), "-", "-", "-", "-", "-", "-", off, "-");
    }
  }
  tline(d, "requests: %llu sends, %llu broadcasts, %llu refused, %llu failed",
        (unsigned long long)d->sends, (unsigned long long)d->broadcasts,
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
  fflush(stdout);
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
  printf("[%5.1f s] nodes up %d/%d, links up %d/%d, sent %.0f, delivered "
         "%.0f, buffered %.0f; requests %llu, refused %llu\n",
         elapsed(d), up, d->o.nodes, peers, d->o.nodes * (d->o.nodes - 1), sent,
         deliv, buf, (unsigned long long)requests_done(d),
         (unsigned long long)(d->refused_bp + d->refused_nosess +
                              d->refused_other));
  /* the clocks: each node's sync state, reference (collaborative: its
   * truechimers) and NTP offset */
  printf("          clocks:");
  for (int i = 0; i < d->o.nodes; i++) {
    const dnode *n = &d->n[i];
    char ref[48], off[24], err[24];
    clock_cells(d, n, ref, sizeof ref, off, sizeof off, err, sizeof err);
    if (n->pid <= 0)
      printf(" %s down;", n->id);
    else if (d->o.collab && n->clk_seen && n->synced)
      printf(" %s synced %s truechimers %s;", n->id, ref, off);
    else
      printf(" %s %s %s %s;", n->id,
             n->clk_seen && n->synced ? "synced" : "unsynced", ref, off);
  }
  if (d->ntp_answered > 0) {
    char spread[24];
    fmt_sns((double)d->ntp_spread, spread, sizeof spread);
    printf(" spread %s\n", spread + 1);
  } else {
    printf(" no NTP answer yet\n");
  }
  fflush(stdout);
}

/* Leaves the live table where it is and goes on below it. */
static void end_table(demo *d) { d->table_lines = 0; }

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
      printf("all %d nodes see their %d peers after %.1f s\n", d->o.nodes, want,
             now_s() - start);
      return 0;
    }
    if (now_s() - start > bound) {
      printf("p2pclock demo: the mesh did not form within %.0f s:", bound);
      for (int i = 0; i < d->o.nodes; i++)
        printf(" %s %d/%d%s", d->n[i].id, d->n[i].peers_up, want,
               d->n[i].seen ? "" : " (no answer)");
      printf("\n");
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
  if (d->victim >= 0)
    note(d, "%s will be killed at %.1f s and restarted at %.1f s",
         d->n[d->victim].id, d->kill_t, d->restart_t);
  while (!stop_signal) {
    double t = now_s(), dt = t - last, e = t - d->t0;
    last = t;
    reap(d);
    if (d->victim >= 0 && !d->killed && e >= d->kill_t)
      kill_victim(d);
    if (d->victim >= 0 && d->killed && !d->restarted && e >= d->restart_t)
      restart_victim(d);
    if (e >= d->o.duration)
      break;
    ntp_tick(d);
    for (int i = 0; i < d->o.nodes && !stop_signal; i++) {
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
        draw_table(d, "running");
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

/*
 * The clocks' final exam, before the nodes stop: waits (bounded) until
 * every running node, the restarted one included, is synced (in reference
 * mode to one reference) and has stayed so for CLOCK_HOLD_S, then queries
 * them all
 * over NTP FINAL_ROUNDS times and keeps the rounds where every node
 * answered with a delay near its least (a late reply only measures the
 * scheduler). The disagreement of a round is its largest offset minus its
 * smallest. Problems go to the verdict. Returns 0, or -1 if interrupted.
 */
static int measure_clocks(demo *d) {
  double start = now_s(), held = -1;
  char ref[40] = "", held_ref[40] = "";
  while (!stop_signal) {
    reap(d);
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
  int idx[P2PC_DEMO_NODES_MAX], m = 0;
  for (int i = 0; i < d->o.nodes; i++)
    if (d->n[i].pid > 0)
      idx[m++] = i;
  int64_t off[FINAL_ROUNDS][P2PC_DEMO_NODES_MAX];
  int64_t del[FINAL_ROUNDS][P2PC_DEMO_NODES_MAX];
  bool full[FINAL_ROUNDS];
  int rounds = 0;
  for (; rounds < FINAL_ROUNDS && !stop_signal; rounds++) {
    double t = now_s();
    ntp_round(d);
    full[rounds] = true;
    for (int k = 0; k < m; k++) {
      const dnode *n = &d->n[idx[k]];
      full[rounds] = full[rounds] && n->ntp_ok;
      off[rounds][k] = n->ntp_offset;
      del[rounds][k] = n->ntp_delay;
    }
    if (d->tty)
      draw_table(d, "measuring the clocks");
    int left = (int)((t + FINAL_EVERY_MS / 1000.0 - now_s()) * 1000);
    if (left > 0)
      sleep_ms(left);
  }
  if (stop_signal)
    return -1;
  int64_t mind[P2PC_DEMO_NODES_MAX];
  for (int k = 0; k < m; k++) {
    mind[k] = INT64_MAX;
    for (int r = 0; r < rounds; r++)
      if (full[r] && del[r][k] < mind[k])
        mind[k] = del[r][k];
  }
  int64_t spread[FINAL_ROUNDS];
  int kept = 0;
  for (int r = 0; r < rounds; r++) {
    bool use = full[r];
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int k = 0; k < m && use; k++) {
      use = del[r][k] <= 3 * mind[k] + FINAL_SLACK_NS;
      lo = off[r][k] < lo ? off[r][k] : lo;
      hi = off[r][k] > hi ? off[r][k] : hi;
    }
    if (use)
      spread[kept++] = hi - lo;
  }
  d->final_done = true;
  d->final_rounds = rounds;
  d->final_kept = kept;
  d->final_nodes = m;
  snprintf(d->final_ref, sizeof d->final_ref, "%s", ref);
  if (kept < (rounds + 2) / 3) {
    problem(d,
            "only %d of %d NTP rounds were usable for the final clock "
            "measurement",
            kept, rounds);
    d->final_done = false;
    return 0;
  }
  qsort(spread, (size_t)kept, sizeof spread[0], cmp_i64);
  d->final_median = kept % 2
                        ? (double)spread[kept / 2]
                        : (double)(spread[kept / 2 - 1] + spread[kept / 2]) / 2;
  d->final_max = (double)spread[kept - 1];
  if (d->final_max >= CLOCK_AGREE_NS) {
    char a[32];
    fmt_ns(d->final_max, a, sizeof a);
    problem(d,
            "the nodes' network times disagree by up to %s over NTP "
            "(want < 1 ms)",
            a);
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
  printf("stopped %d node(s): %d by the stop command", n0, n0 - termed);
  if (termed)
    printf(", %d more by SIGTERM", termed - killed);
  if (killed)
    printf(", %d by SIGKILL", killed);
  if (asked < n0)
    printf(" (%d did not answer the stop command)", n0 - asked);
  printf("\n");
  if (termed)
    problem(d, "%d node(s) did not stop on the stop command", termed);
}

/* ---- the verdict -------------------------------------------------------- */

/* Runs check.c in-process on the event logs with --json, its stdout
 * captured in a file of the log directory; returns its exit status and
 * the parsed summary in *out (NULL if none). */
static int run_check(demo *d, cJSON **out) {
  char path[PATH_LEN + 16];
  char **argv = calloc((size_t)d->o.nodes + 2, sizeof *argv);
  *out = NULL;
  if (!argv)
    return EXIT_FAILURE;
  argv[0] = "--json";
  for (int i = 0; i < d->o.nodes; i++)
    argv[i + 1] = d->n[i].events;
  snprintf(path, sizeof path, "%s/check.json", d->logdir);
  fflush(stdout);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  int saved = dup(STDOUT_FILENO);
  if (fd < 0 || saved < 0 || dup2(fd, STDOUT_FILENO) < 0) {
    fprintf(stderr, "p2pclock demo: cannot capture the checker's output: %s\n",
            strerror(errno));
    if (fd >= 0)
      close(fd);
    if (saved >= 0)
      close(saved);
    free(argv);
    return EXIT_FAILURE;
  }
  int rc = p2pc_cli_check(d->o.nodes + 1, argv);
  fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  free(argv);
  char buf[64 * 1024];
  ssize_t k = pread(fd, buf, sizeof buf - 1, 0);
  close(fd);
  if (!d->o.keep)
    unlink(path);
  if (k > 0) {
    buf[k] = '\0';
    cJSON *j = cJSON_Parse(buf);
    if (cJSON_IsObject(j))
      *out = j;
    else
      cJSON_Delete(j);
  }
  return rc;
}

static double by_kind(const cJSON *j, const char *kind) {
  return num(cJSON_GetObjectItemCaseSensitive(j, "by_kind"), kind);
}

/* The clocks' part of the verdict; true when they agree within 1 ms. */
static bool print_clocks(const demo *d) {
  char a[32], b[32];
  if (!d->final_done) {
    printf("  clocks                   NOT MEASURED: not all synced%s (see "
           "the problems below)\n",
           d->o.collab ? " (collaborative)" : " to one reference");
    return false;
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
  char how[64];
  if (d->o.collab)
    snprintf(how, sizeof how, "collaborative");
  else
    snprintf(how, sizeof how, "all following %s", d->final_ref);
  printf("  clocks                   %d/%d synced, %s (virtual clocks "
         "%+.3f..%+.3f s, %+.0f..%+.0f ppm)\n",
         d->final_nodes, d->o.nodes, how, olo, ohi, dlo, dhi);
  fmt_ns(d->final_max, a, sizeof a);
  fmt_ns(d->final_median, b, sizeof b);
  printf("  max pairwise disagreement measured over NTP: %s%s (median %s; %d "
         "of %d rounds %d ms apart%s)\n",
         a, ok ? "" : " > 1 ms", b, d->final_kept, d->final_rounds,
         FINAL_EVERY_MS,
         d->victim >= 0 ? ", after the restarted node resynced" : "");
  return ok;
}

/* Prints the verdict; returns true when it is OK. */
static bool print_verdict(demo *d, int rc, const cJSON *j) {
  if (!j) {
    printf("verdict: UNKNOWN: the checker could not check the logs (exit "
           "%d, see above)\n",
           rc);
    print_clocks(d);
    return false;
  }
  bool ok = rc == 0 && ans_ok(j);
  bool clocks_ok = d->final_done && d->final_max < CLOCK_AGREE_NS;
  double order = by_kind(j, "ORDER"), dup = by_kind(j, "DUPLICATE");
  double viol = num(j, "violations");
  printf("\n");
  if (ok && clocks_ok)
    printf("verdict: OK\n");
  else if (ok)
    printf("verdict: FAILED: the clocks (below)\n");
  else
    printf("verdict: FAILED: %.0f violation(s)\n", viol);
  printf("  messages sent            %.0f (%.0f to self) from %llu send and "
         "%llu broadcast requests\n",
         num(j, "messages"), num(j, "self_sends"), (unsigned long long)d->sends,
         (unsigned long long)d->broadcasts);
  printf("  delivered exactly once   %.0f%s\n", num(j, "delivered") - dup,
         dup > 0 ? "" : " (no duplicates)");
  if (dup > 0)
    printf("  DELIVERED TWICE          %.0f\n", dup);
  if (order == 0)
    printf("  causal order             held at every node\n");
  else
    printf("  causal order             VIOLATED %.0f time(s)\n", order);
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "waited_ns");
  if (num(j, "waited") > 0) {
    char a[32], b[32], c[32];
    fmt_ns(num(w, "p50"), a, sizeof a);
    fmt_ns(num(w, "p99"), b, sizeof b);
    fmt_ns(num(w, "max"), c, sizeof c);
    printf("  had to wait (buffered)   %.0f: p50 %s, p99 %s, max %s\n",
           num(j, "waited"), a, b, c);
  } else {
    printf("  had to wait (buffered)   none\n");
  }
  double lost = num(j, "lost_crashed_receiver") + num(j, "lost_crashed_sender");
  if (d->victim >= 0)
    printf("  lost with killed %-7s %.0f (%.0f to it, %.0f not yet out of "
           "it)\n",
           d->n[d->victim].id, lost, num(j, "lost_crashed_receiver"),
           num(j, "lost_crashed_sender"));
  else
    printf("  lost with a crashed node %.0f\n", lost);
  printf("  reported undeliverable   %.0f\n", num(j, "undeliverable"));
  double missing = by_kind(j, "MISSING");
  if (missing > 0)
    printf("  MISSING (never arrived)  %.0f\n", missing);
  const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(j, "by_kind"), *k;
  if (!ok) {
    cJSON_ArrayForEach(k, kinds) {
      if (cJSON_IsNumber(k) && k->valuedouble > 0 &&
          strcmp(k->string, "ORDER") != 0 &&
          strcmp(k->string, "DUPLICATE") != 0 &&
          strcmp(k->string, "MISSING") != 0)
        printf("  %-24s %.0f\n", k->string, k->valuedouble);
    }
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "first_violations");
    cJSON_ArrayForEach(k, list) {
      if (cJSON_IsString(k))
        printf("    %s\n", k->valuestring);
    }
  }
  print_clocks(d);
  printf("  refused requests         %llu back-pressure, %llu no session "
         "(peer down), %llu other%s%s%s; %llu failed\n",
         (unsigned long long)d->refused_bp,
         (unsigned long long)d->refused_nosess,
         (unsigned long long)d->refused_other, d->other_error[0] ? " (\"" : "",
         d->other_error, d->other_error[0] ? "\")" : "",
         (unsigned long long)d->failed);
  return ok && clocks_ok;
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
  char path[PATH_LEN + 16];
  snprintf(path, sizeof path, "%s/check.json", d->tmp);
  unlink(path);
}

static int run(demo *d) {
  int rv = pick_ports(d->n, d->o.nodes);
  if (rv < 0) {
    fprintf(stderr, "p2pclock demo: cannot find free ports on 127.0.0.1: %s\n",
            strerror(-rv));
    return EXIT_FAILURE;
  }
  for (int i = 0; i < d->o.nodes; i++)
    setup_node(d, i);
  printf("p2pclock demo: %d nodes on 127.0.0.1 (ports %u..), logs in %s\n",
         d->o.nodes, d->n[0].port, d->logdir);
  printf("virtual clocks (offset, drift; clock mode %s):", d->o.clock_mode);
  for (int i = 0; i < d->o.nodes; i++)
    printf("%s %s %+.3f s %+.0f ppm", i ? "," : "", d->n[i].id,
           atof(d->n[i].clk_offset), atof(d->n[i].clk_drift));
  printf("\n");
  rv = ntp_open(d);
  if (rv < 0) {
    fprintf(stderr,
            "p2pclock demo: cannot open a UDP socket on 127.0.0.1: "
            "%s\n",
            strerror(-rv));
    return EXIT_FAILURE;
  }
  for (int i = 0; i < d->o.nodes; i++) {
    rv = spawn_node(&d->n[i]);
    if (rv < 0) {
      fprintf(stderr, "p2pclock demo: cannot start %s: %s\n", d->n[i].id,
              strerror(-rv));
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

int p2pc_cli_demo(int argc, char **argv) {
  demo d;
  memset(&d, 0, sizeof d);
  int status = parse_opts(&d.o, argc, argv);
  if (status >= 0)
    return status;
  ssize_t k = readlink("/proc/self/exe", d.self, sizeof d.self - 1);
  if (k <= 0 || (size_t)k >= sizeof d.self - 1) {
    fprintf(stderr, "p2pclock demo: cannot find my own executable: %s\n",
            k < 0 ? strerror(errno) : "path too long");
    return EXIT_FAILURE;
  }
  d.self[k] = '\0';
  d.n = calloc((size_t)d.o.nodes, sizeof *d.n);
  if (!d.n) {
    fprintf(stderr, "p2pclock demo: out of memory\n");
    return EXIT_FAILURE;
  }
  if (make_dirs(&d) < 0) {
    if (d.tmp[0])
      rmdir(d.tmp);
    free(d.n);
    return EXIT_FAILURE;
  }
  d.tty = isatty(STDOUT_FILENO);
  d.ntp_fd = -1;
  d.cookie_rng = ((uint64_t)real_ns() ^ (uint64_t)getpid() << 40) | 1;
  const char *seed = getenv("P2PC_SEED");
  d.rng = seed && *seed
              ? strtoull(seed, NULL, 0)
              : (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid() << 32;
  if (d.rng == 0)
    d.rng = 1;
  uint64_t seed_used = d.rng;
  d.victim = -1;
  if (d.o.kill) {
    /* n1 has no --peer: restarted, it waits for the others to redial */
    d.victim = (int)(rnd(&d) % (uint64_t)d.o.nodes);
    d.kill_t = KILL_AT * d.o.duration;
    d.restart_t = d.kill_t + RESTART_AFTER_S;
  }

  struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term, old_pipe,
                   ign = {.sa_handler = SIG_IGN};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGPIPE, &ign, &old_pipe);

  printf("p2pclock demo: seed %llu (P2PC_SEED=%llu replays the choices)\n",
         (unsigned long long)seed_used, (unsigned long long)seed_used);
  status = run(&d);
  end_table(&d);
  stop_nodes(&d);
  bool ok = false;
  if (status == 0 && !stop_signal) {
    cJSON *j = NULL;
    printf("checking the event logs (p2pclock check %s/n1..n%d.events)\n",
           d.logdir, d.o.nodes);
    int rc = run_check(&d, &j);
    ok = print_verdict(&d, rc, j);
    cJSON_Delete(j);
    status = ok && d.nproblems == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
  } else if (stop_signal) {
    status = 128 + stop_signal;
    printf("p2pclock demo: interrupted; every node stopped\n");
  }

  for (int i = 0; i < d.nproblems; i++)
    printf("%s %s\n", i == 0 ? "\nproblems:" : "         ", d.problems[i]);
  /* The logs of a failed run are kept even in the temporary directory:
   * they are what tells why. */
  bool keep_tmp = !d.o.keep && status == EXIT_FAILURE;
  remove_files(&d, !d.o.keep && !keep_tmp);
  if (!keep_tmp && rmdir(d.tmp) < 0 && errno != ENOENT)
    fprintf(stderr, "p2pclock demo: cannot remove %s: %s\n", d.tmp,
            strerror(errno));
  if (d.o.keep || keep_tmp)
    printf("logs kept in %s\n", d.logdir);
  else
    printf("logs removed (--keep-logs DIR keeps them)\n");
  for (int i = 0; i < d.o.nodes; i++)
    p2pc_ctl_close(&d.n[i].ctl);
  if (d.ntp_fd >= 0)
    close(d.ntp_fd);
  free(d.n);
  fflush(stdout);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  sigaction(SIGPIPE, &old_pipe, NULL);
  return status;
}
