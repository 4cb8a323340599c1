/* SPDX-License-Identifier: MIT */
/*
 * The demo's node processes: their ports, directories and command lines,
 * spawning them (own process group, dying with the demo through
 * PR_SET_PDEATHSIG), reaping them, the kill and the restart, stopping
 * them all (stop command, then SIGTERM, then SIGKILL, each after a bounded
 * wait) and removing their files. Every process the demo ends it ends by
 * PID.
 */
#include "demo_proc.h"
#include "keyfile.h"

#include <sodium.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cJSON.h"
#include "demo_ctl.h"
#include "demo_report.h"
#include "demo_view.h"

/* Picks n distinct free ports of 127.0.0.1, free for both TCP and UDP (a
 * node listens on both): all are held while picking, so none repeats. */
int p2pc__demo_pick_ports(p2pc_demo_node *nodes, int n) {
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

int p2pc__demo_make_dirs(p2pc_demo *d) {
  snprintf(d->tmp, sizeof d->tmp, "/tmp/p2pclock-demo-XXXXXX");
  if (!mkdtemp(d->tmp)) {
    fprintf(stderr, "p2pclock demo: cannot make a directory in /tmp: %s\n",
            strerror(errno));
    return -1;
  }
  /* The demo's network is closed, as any: a cluster key of its own. */
  unsigned char key[P2PC_KEY_BYTES];
  char err[P2PC_KEY_ERR_LEN];
  snprintf(d->cluster_key, sizeof d->cluster_key, "%s/cluster.key", d->tmp);
  int krv = p2pc_cli_cluster_key_generate(key);
  if (krv == 0)
    krv =
        p2pc_cli_cluster_key_write(d->cluster_key, false, key, err, sizeof err);
  else
    snprintf(err, sizeof err, "libsodium did not start");
  sodium_memzero(key, sizeof key);
  if (krv != 0) {
    fprintf(stderr, "p2pclock demo: cannot make a cluster key: %s\n", err);
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

void p2pc__demo_setup_node(p2pc_demo *d, int i) {
  p2pc_demo_node *n = &d->n[i];
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
  snprintf(n->key, sizeof n->key, "%s/%s.key", d->tmp, n->id);
  n->argv[k++] = "--cluster-key-file";
  n->argv[k++] = d->cluster_key;
  n->argv[k++] = "--key";
  n->argv[k++] = n->key;
  n->argv[k] = NULL;
}

/* Starts node n: own process group, dies with the demo, stdin and stdout
 * on /dev/null, stderr appended to its log. Everything the child needs is
 * ready before fork: it only makes async-signal-safe calls. */
int p2pc__demo_spawn_node(p2pc_demo_node *n) {
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
void p2pc__demo_reap(p2pc_demo *d) {
  for (int i = 0; i < d->o.nodes; i++) {
    p2pc_demo_node *n = &d->n[i];
    int st;
    if (n->pid <= 0 || waitpid(n->pid, &st, WNOHANG) != n->pid)
      continue;
    n->pid = 0;
    p2pc_ctl_close(&n->ctl);
    if (n->state == NODE_KILLED || n->state == NODE_STOPPED)
      continue;
    describe_exit(st, n->exit_text, sizeof n->exit_text);
    n->state = NODE_DEAD;
    p2pc__demo_problem(d, "%s exited by itself: %s (see %s)", n->id,
                       n->exit_text, n->log);
    p2pc__demo_note(d, "%s exited by itself: %s", n->id, n->exit_text);
  }
}

bool p2pc__demo_ready(const p2pc_demo_node *n) {
  return n->pid > 0 && n->state == NODE_UP && n->seen;
}

void p2pc__demo_kill_victim(p2pc_demo *d) {
  p2pc_demo_node *n = &d->n[d->victim];
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
  p2pc__demo_note(d, "killed %s with SIGKILL", n->id);
}

void p2pc__demo_restart_victim(p2pc_demo *d) {
  p2pc_demo_node *n = &d->n[d->victim];
  d->restarted = true;
  if (n->pid > 0 || n->state != NODE_KILLED)
    return;
  int rv = p2pc__demo_spawn_node(n);
  if (rv < 0) {
    n->state = NODE_DEAD;
    p2pc__demo_problem(d, "cannot restart %s: %s", n->id, strerror(-rv));
    p2pc__demo_note(d, "cannot restart %s: %s", n->id, strerror(-rv));
    return;
  }
  p2pc__demo_note(d, "restarted %s (same port, same event log)", n->id);
}

int p2pc__demo_running(const p2pc_demo *d) {
  int k = 0;
  for (int i = 0; i < d->o.nodes; i++)
    k += d->n[i].pid > 0;
  return k;
}

p2pc_demo_node *p2pc__demo_find_node(p2pc_demo *d, const char *id) {
  for (int i = 0; i < d->o.nodes; i++)
    if (strcmp(d->n[i].id, id) == 0)
      return &d->n[i];
  return NULL;
}

static void wait_exit(p2pc_demo *d, double seconds) {
  double end = now_s() + seconds;
  while (p2pc__demo_running(d) > 0 && now_s() < end) {
    p2pc__demo_reap(d);
    if (p2pc__demo_running(d) > 0)
      sleep_ms(20);
  }
}

static void signal_all(p2pc_demo *d, int sig) {
  for (int i = 0; i < d->o.nodes; i++)
    if (d->n[i].pid > 0)
      kill(d->n[i].pid, sig);
}

/* Stops every running node: the stop command, then SIGTERM, then SIGKILL,
 * each after a bounded wait, always by PID. Signals are not watched here:
 * an interrupted demo must still stop its nodes. */
void p2pc__demo_stop_nodes(p2pc_demo *d) {
  cJSON *req = p2pc__demo_simple_req("stop");
  int asked = 0, n0 = p2pc__demo_running(d);
  for (int i = 0; i < d->o.nodes; i++) {
    p2pc_demo_node *n = &d->n[i];
    if (n->pid <= 0)
      continue;
    if (n->state != NODE_DEAD)
      n->state = NODE_STOPPED;
    cJSON *a = p2pc__demo_call(n, req, CALL_MS);
    asked += a && p2pc__demo_ans_ok(a);
    cJSON_Delete(a);
    p2pc_ctl_close(&n->ctl);
  }
  cJSON_Delete(req);
  wait_exit(d, STOP_CMD_S);
  int termed = p2pc__demo_running(d);
  if (termed) {
    signal_all(d, SIGTERM);
    wait_exit(d, STOP_TERM_S);
  }
  int killed = p2pc__demo_running(d);
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
    p2pc__demo_problem(d, "%d node(s) did not stop on the stop command",
                       termed);
}

void p2pc__demo_remove_files(p2pc_demo *d, bool logs) {
  if (d->cluster_key[0])
    unlink(d->cluster_key);
  for (int i = 0; i < d->o.nodes; i++) {
    unlink(d->n[i].sock);
    if (d->n[i].key[0])
      unlink(d->n[i].key);
    if (logs) {
      unlink(d->n[i].events);
      unlink(d->n[i].log);
    }
  }
}
