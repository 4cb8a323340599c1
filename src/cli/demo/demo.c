/* SPDX-License-Identifier: MIT */
/*
 * The demo of demo.h, its phases in order: the options and the roles
 * (which node is killed, which is slow), the nodes spawned (demo_proc.h),
 * the mesh awaited, the traffic (demo_traffic.h), the network left to
 * settle, the clocks measured (demo_clocks.h), the nodes stopped, then
 * the verdict (demo_verdict.h) and its report (demo_report.h, in words;
 * demo_json.h, with --json). One thread: each phase is a loop that reaps
 * the nodes, reads their event logs, polls their status and clocks and
 * redraws the live view (the traffic's ticks every 10 ms). Every wait is
 * bounded, and the bounds are generous: on a slow machine the demo takes
 * longer, it does not fail. SIGINT or SIGTERM only sets a flag that every
 * loop checks; the nodes are then stopped in order, by PID.
 *
 * What the parts share, the run's state, is demo_state.h.
 */
#include "demo.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cJSON.h"
#include "client.h"
#include "demo_clocks.h"
#include "demo_ctl.h"
#include "demo_events.h"
#include "demo_holdback.h"
#include "demo_json.h"
#include "demo_ntp.h"
#include "demo_opts.h"
#include "demo_proc.h"
#include "demo_report.h"
#include "demo_state.h"
#include "demo_traffic.h"
#include "demo_verdict.h"
#include "demo_view.h"
#include "evcheck.h"

volatile sig_atomic_t p2pc__demo_stop_signal;

static void on_signal(int sig) { p2pc__demo_stop_signal = sig; }

/* Waits until every node sees the N-1 others. Returns 0, 1 if the bound
 * passed or a node died, -1 if interrupted. */
static int wait_mesh(p2pc_demo *d) {
  double start = now_s(), bound = MESH_BASE_S + 0.5 * d->o.nodes;
  int want = d->o.nodes - 1;
  while (!p2pc__demo_stop_signal) {
    p2pc__demo_reap(d);
    p2pc__demo_poll_status(d);
    p2pc__demo_ntp_tick(d);
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
      p2pc__demo_problem(d, "the mesh did not form within %.0f s", bound);
      return 1;
    }
    sleep_ms(100);
  }
  return -1;
}

/* True when node n has nothing in flight: nothing buffered, a link to
 * every other running node, no unacknowledged message to any of them. A
 * node that died by itself is left out: what was sent to it stays unacked
 * for good, and the checker excuses it as lost with a crashed receiver. */
static bool node_quiet(p2pc_demo *d, p2pc_demo_node *n, int alive) {
  cJSON *req = p2pc__demo_simple_req("peers");
  cJSON *a = p2pc__demo_call(n, req, CALL_MS);
  cJSON_Delete(req);
  bool quiet = a && p2pc__demo_ans_ok(a) && n->seen && n->buffered == 0 &&
               n->peers_up >= alive - 1;
  const cJSON *peers = cJSON_GetObjectItemCaseSensitive(a, "peers"), *p;
  cJSON_ArrayForEach(p, peers) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
    p2pc_demo_node *peer =
        cJSON_IsString(id) ? p2pc__demo_find_node(d, id->valuestring) : NULL;
    if (p2pc__demo_num(p, "unacked") > 0 && (!peer || peer->pid > 0))
      quiet = false;
  }
  cJSON_Delete(a);
  return quiet;
}

/* Waits (bounded) until no message is in flight, so that stopping the
 * nodes loses none. Returns 0 quiet, 1 not quiet in time, -1 interrupted. */
static int wait_quiet(p2pc_demo *d) {
  double start = now_s();
  while (!p2pc__demo_stop_signal) {
    p2pc__demo_reap(d);
    p2pc__demo_tail_all(d);
    p2pc__demo_poll_status(d);
    p2pc__demo_ntp_tick(d);
    bool all = true;
    int alive = p2pc__demo_running(d);
    for (int i = 0; i < d->o.nodes && all; i++)
      if (d->n[i].pid > 0)
        all = node_quiet(d, &d->n[i], alive);
    if (d->tty)
      p2pc__demo_draw_table(d, all ? "quiet" : "settling");
    if (all)
      return 0;
    if (now_s() - start > QUIET_S) {
      p2pc__demo_note(
          d, "still messages in flight after %.0f s; stopping anyway", QUIET_S);
      if (d->tty)
        p2pc__demo_draw_table(d, "settling");
      return 1;
    }
    sleep_ms(100);
  }
  return -1;
}

/* Sets the network up and runs it to the end of the clocks' measurement.
 * Returns 0, 1 if it could not be run (a problem says why), or 128 +
 * signal if interrupted. */
static int run(p2pc_demo *d) {
  int rv = p2pc__demo_pick_ports(d->n, d->o.nodes);
  if (rv < 0) {
    p2pc__demo_problem(d, "cannot find free ports on 127.0.0.1: %s",
                       strerror(-rv));
    return EXIT_FAILURE;
  }
  for (int i = 0; i < d->o.nodes; i++)
    p2pc__demo_setup_node(d, i);
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
  rv = p2pc__demo_ntp_open(d);
  if (rv < 0) {
    p2pc__demo_problem(d, "cannot open a UDP socket on 127.0.0.1: %s",
                       strerror(-rv));
    return EXIT_FAILURE;
  }
  for (int i = 0; i < d->o.nodes; i++) {
    rv = p2pc__demo_spawn_node(&d->n[i]);
    if (rv < 0) {
      p2pc__demo_problem(d, "cannot start %s: %s", d->n[i].id, strerror(-rv));
      return EXIT_FAILURE;
    }
  }
  rv = wait_mesh(d);
  if (rv != 0)
    return rv < 0 ? 128 + p2pc__demo_stop_signal : EXIT_FAILURE;
  rv = p2pc__demo_run_traffic(d);
  if (d->tty)
    p2pc__demo_draw_table(d, rv < 0 ? "interrupted" : "traffic done");
  if (rv < 0)
    return 128 + p2pc__demo_stop_signal;
  rv = wait_quiet(d);
  if (rv < 0)
    return 128 + p2pc__demo_stop_signal;
  if (p2pc__demo_measure_clocks(d) < 0)
    return 128 + p2pc__demo_stop_signal;
  if (!d->tty)
    p2pc__demo_print_line(d);
  p2pc__demo_end_table(d);
  return 0;
}

/* The roles: the victim from the seed; the slow node and the chains'
 * receiver the first and the last of the others (never the victim, whose
 * crash would take the slow messages or the holds with it). */
static void pick_roles(p2pc_demo *d) {
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

static int alloc_all(p2pc_demo *d) {
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

static void free_all(p2pc_demo *d) {
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
  p2pc_demo d;
  memset(&d, 0, sizeof d);
  d.ntp_fd = -1;
  int status = p2pc__demo_parse_opts(&d.o, argc, argv);
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
  if (p2pc__demo_make_dirs(&d) < 0) {
    if (d.cluster_key[0])
      unlink(d.cluster_key);
    if (d.tmp[0])
      rmdir(d.tmp);
    free_all(&d);
    return EXIT_FAILURE;
  }
  d.tty = isatty(fileno(d.out));
  d.cookie_rng =
      ((uint64_t)p2pc__demo_real_ns() ^ (uint64_t)getpid() << 40) | 1;
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
  p2pc__demo_end_table(&d);
  p2pc__demo_stop_nodes(&d);
  /* the logs' last lines, then the checker's verdict on all of them */
  for (int i = 0; i < d.o.nodes; i++)
    p2pc__demo_tail_node(&d, i, true);
  if (ran && !p2pc__demo_stop_signal)
    fprintf(d.out,
            "checked the event logs (%s/n1..n%d.events) with the "
            "checker of p2pclock check\n",
            d.logdir, d.o.nodes);
  p2pc_demo_verdict v = p2pc__demo_verdict(&d, ran);
  if (p2pc__demo_stop_signal) {
    status = 128 + p2pc__demo_stop_signal;
    fprintf(d.out, "p2pclock demo: interrupted; every node stopped\n");
  } else {
    if (ran)
      p2pc__demo_print_verdict(&d, &v);
    status = v.ok ? EXIT_SUCCESS : EXIT_FAILURE;
  }
  p2pc__demo_print_problems(&d);
  /* The logs of a failed run are kept even in the temporary directory:
   * they are what tells why. */
  bool keep_tmp = !d.o.keep && status == EXIT_FAILURE;
  p2pc__demo_remove_files(&d, !d.o.keep && !keep_tmp);
  if (!keep_tmp && rmdir(d.tmp) < 0 && errno != ENOENT)
    fprintf(stderr, "p2pclock demo: cannot remove %s: %s\n", d.tmp,
            strerror(errno));
  bool kept = d.o.keep || keep_tmp;
  if (kept)
    fprintf(d.out, "logs kept in %s\n", d.logdir);
  else
    fprintf(d.out, "logs removed (--keep-logs DIR keeps them)\n");
  fflush(d.out);
  if (d.o.json &&
      p2pc__demo_print_json(&d, &v, status, kept ? d.logdir : NULL) < 0) {
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
