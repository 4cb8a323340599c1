/* SPDX-License-Identifier: MIT */
/*
 * The options of `p2pclock demo` and its --help.
 */
#include "demo_opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

#define EXIT_USAGE 2

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
int p2pc__demo_parse_opts(p2pc_demo_opts *o, int argc, char **argv) {
  *o = (p2pc_demo_opts){.nodes = 5,
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
