/* SPDX-License-Identifier: MIT */
/*
 * The options of `p2pclock demo` (a table read by args.h) and its --help.
 */
#include "demo_opts.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "demo.h"

#define EXIT_USAGE 2

static bool parse_clock_mode(const p2pc_args_opt *o, const char *v, void *dst) {
  p2pc_demo_opts *d = dst;
  (void)o;
  if (strcmp(v, "reference") != 0 && strcmp(v, "collaborative") != 0)
    return false;
  snprintf(d->clock_mode, sizeof d->clock_mode, "%s", v);
  d->collab = strcmp(v, "collaborative") == 0;
  return true;
}

/* A switch sets its bool; --no-kill's is the negation of .kill. */
typedef struct demo_args {
  p2pc_demo_opts o;
  bool no_kill;
} demo_args;

#define F(field) offsetof(demo_args, o.field)

static const p2pc_args_opt demo_flags[] = {
    {"nodes", "N", F(nodes), p2pc_args_integer, P2PC_DEMO_NODES_MIN,
     P2PC_DEMO_NODES_MAX, "must be an integer 2..20", "2..20 [5]"},
    {"duration", "S", F(duration), p2pc_args_number, 1, 3600,
     "must be 1..3600 seconds", "seconds of traffic, 1..3600 [20]"},
    {"rate", "R", F(rate), p2pc_args_number, 0, 1000,
     "must be 0..1000 requests/s",
     "random requests per second per node, 0..1000 [5];\n"
     "one in five is a broadcast"},
    {"clock-mode", "M", 0, parse_clock_mode, 0, 0,
     "must be reference or collaborative",
     "reference or collaborative, passed to every node\n"
     "(p2pclock node --clock-mode) [reference]"},
    {"keep-logs", "DIR", F(keep), p2pc_args_text, 0, 0, "needs a directory",
     "keep the logs in DIR (created if needed; its\n"
     "nX.events and nX.log files are replaced)\n"
     "[a temporary directory, removed after a passing run]"},
    {"no-kill", NULL, offsetof(demo_args, no_kill), NULL, 0, 0, NULL,
     "kill nobody"},
    {"json", NULL, F(json), NULL, 0, 0, NULL,
     "print the verdict as one JSON object on stdout (its\n"
     "fields: docs/DEMO.md); the live view and the verdict\n"
     "in words go to stderr"},
};

static const p2pc_args_cmd demo_cmd = {
    "demo", demo_flags, sizeof demo_flags / sizeof demo_flags[0], 0, 0};

static const char demo_about[] =
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
    "\n";

static const char demo_tail[] =
    "\n"
    "P2PC_SEED=N replays a run's choices (clocks, victim, traffic).\n"
    "Exit status: 0 when causal order held, every message was delivered\n"
    "exactly once or is excused by the kill, the clocks agree within 1 ms\n"
    "and nothing else went wrong; 1 not (or the network could not be run);\n"
    "2 usage error; 130 (143) interrupted by SIGINT (SIGTERM).\n";

static int demo_help(void) {
  p2pc_args_usage_line(stdout, &demo_cmd, NULL);
  fputs(demo_about, stdout);
  p2pc_args_help(stdout, &demo_cmd);
  fputs(demo_tail, stdout);
  return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Returns -1 to go on, else an exit status. */
int p2pc__demo_parse_opts(p2pc_demo_opts *o, int argc, char **argv) {
  demo_args d = {.o = {.nodes = 5,
                       .duration = 20,
                       .rate = 5,
                       .kill = true,
                       .clock_mode = "reference"}};
  int rc = p2pc_args_parse(&demo_cmd, argc, argv, &d, NULL);
  if (rc == P2PC_ARGS_HELP)
    return demo_help();
  if (rc < 0)
    return rc == P2PC_ARGS_NOMEM ? EXIT_FAILURE : EXIT_USAGE;
  d.o.kill = !d.no_kill;
  *o = d.o;
  return -1;
}
