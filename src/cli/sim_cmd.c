/* SPDX-License-Identifier: MIT */
/*
 * The sim command of sim_cmd.h. It loads the scenario, lets the flags
 * override it, runs the simulator with two callbacks (the progress bar,
 * throttled to ten redraws a wall second, and the per-second row, which
 * feeds the CSV and the judge of the expectations), then prints the
 * summary (or, with --json, one JSON object). Everything on stdout and in
 * the CSV comes from the simulation alone, printed with fixed formats, so
 * two runs with the same seed are byte-identical; what the machine adds
 * (wall time, RSS) goes to stderr unless --timing asks for it on stdout.
 *
 * The flags and the command's flow are here; the memory budget is in
 * sim_cmd_budget.c, what the run prints (progress bar, CSV, summary,
 * JSON) in sim_cmd_report.c.
 */
#include "sim_cmd.h"
#include "sim_cmd_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "parse.h"
#include "scenario.h"
#include "sim.h"
#include <p2pclock/p2pclock.h>

static const char sim_about[] =
    "\n"
    "Runs N real node cores in the deterministic simulator: virtual time,\n"
    "a simulated network (delay, jitter, loss, partitions) and simulated\n"
    "clocks (offset, drift, steps), driven by one seed. The scenario file\n"
    "describes the network, the clocks, the traffic, faults at given times\n"
    "and the expectations (oracles) the run must meet; see scenarios/*.scn\n"
    "and src/sim/scenario.h for the format. Each flag overrides the file.\n"
    "\n";

static const char sim_tail[] =
    "\n"
    "On a terminal a progress bar runs on stderr; the summary table and\n"
    "each expectation's PASS, FAIL or SKIP (it could not be judged) go to\n"
    "stdout.\n"
    "\n"
    "Memory: what the run holds is counted (every block the nodes and the\n"
    "simulator allocate, exactly, plus an estimate of what the causal\n"
    "oracle needs for its verdict). A run whose nodes alone need more\n"
    "than the budget to start is refused; otherwise the run stops at the\n"
    "first event at which it reaches the budget, says so on stderr, keeps\n"
    "the CSV rows and prints the summary and verdicts so far (what was in\n"
    "flight then is not counted missing). Causal metadata grows with the\n"
    "nodes and the rate, and with time up to the causal lifetime: fewer\n"
    "nodes, a sparser topology (kregular:8), a lower --rate or a shorter\n"
    "--causal-lifetime fit in less. Where the run stops\n"
    "depends only on the budget, so give --mem-limit for the same\n"
    "output on every machine.\n"
    "\n"
    "Causal metadata is measured on the messages sent to another node (a\n"
    "message to self carries none): bytes and dependency entries a\n"
    "message, in fixed histograms (8-byte bins to 64 KiB, entries exact to\n"
    "4096; a p99 is the top of its bin, within 7 bytes, or the exact\n"
    "maximum). Causal state is what p2pc_causal_state_bytes counts for\n"
    "each alive node, sampled every virtual second. Expiry reports are the\n"
    "`undeliverable` events with reason \"expired\": at a receiver (too old\n"
    "to deliver) or at a sender (given up); 0 is expected without\n"
    "partitions.\n"
    "\n"
    "The overlay (scenario keywords `traffic ... to any`, `broadcast every\n"
    "T`, `churn P`, `at T freeze R for D`): a send to any node that the\n"
    "node answers AGAIN waits (8 a node) for its RESOLVED event; NOTFOUND\n"
    "or RESOLVED not ok counts it unaddressable (never accepted, not\n"
    "lost). Payloads of 16 bytes or more carry a tag (send time, broadcast\n"
    "number), from which delivery latency (virtual time, p50/p99 within\n"
    "1/32) is measured; hops come from the deliveries flagged broadcast.\n"
    "`expect broadcast ok`: each broadcast delivered exactly once to every\n"
    "node alive, unfrozen and not cut from its sender from its send to the\n"
    "end minus the\n"
    "grace (5 s). A node is settled when it has been alive, unfrozen and\n"
    "in no cut for 5 s. `expect flaps`: peer_down (not \"left\",\n"
    "\"stopping\" or \"stopped\": ended on purpose) between two settled\n"
    "nodes; `expect false_suspicions`: member_suspect or\n"
    "member_down from a settled node about a settled node (its current\n"
    "incarnation); `expect detect < T`: every crash or freeze that lasts T\n"
    "declared member_down within T by every node that had it up at the\n"
    "failure and stayed healthy. The CSV adds per second lat_p99_ns,\n"
    "bcast_lat_p99_ns, hops_p99, unaddressable.\n"
    "\n"
    "--json fields: scenario (null: none), seed (a string), nodes,\n"
    "nodes_at_start, topology, k (kregular only), clusters (clusters\n"
    "only), mode, duration_s, virtual_s (reached), stop (\"end\",\n"
    "\"budget\": the budget stopped it, \"nomem\": an allocation failed\n"
    "below it), events, events_by_kind {timer, tcp, datagram, other:\n"
    "a node's wake-ups, TCP bytes and datagrams arriving, the rest},\n"
    "messages {sent, delivered, undeliverable,\n"
    "sends_refused (back-pressure at a causal cap)},\n"
    "meta_bytes_per_msg (the mean of causal.meta_bytes), causal\n"
    "{lifetime_s (a number, or \"inf\"), meta_bytes {messages, mean, p99,\n"
    "max}, deps {p99, max}, state_bytes {mean, max (at the end), peak_mean,\n"
    "peak (the highest of any second)}, expired {receivers,\n"
    "senders}, refused_ahead}, causal_oracle {run, violations,\n"
    "missing, first_violation}, convergence_s (null: none),\n"
    "final_spread_ns, worst_spread_ns, max_error_ns, tier_p99, tier_max,\n"
    "bound_violations,\n"
    "membership_ok, alive, synced, lookups {issued, found, failed,\n"
    "rounds_mean, rounds_max, requests_mean, table_records_mean,\n"
    "table_records_max, table_bytes_mean}, overlay {unaddressable,\n"
    "resolve_waits,\n"
    "pending_dropped, latency_ns {n, p50, p99, max} (messages),\n"
    "bcast_latency_ns {...}, hops {...}, broadcasts {sent, followed,\n"
    "judged, flagged_deliveries, missing, duplicates, first},\n"
    "failure_detection {member_events, member_downs, flaps, first_flap,\n"
    "false_suspicions, first_false, failures, judged, missed, slowest_ns,\n"
    "first_missed}},\n"
    "memory {budget_bytes (null: none),\n"
    "budget_from (\"flag\", \"ram\", \"rlimit_as\", \"rlimit_data\",\n"
    "\"cgroup\", \"none\"), start_bytes, peak_bytes (as the budget counts),\n"
    "counted_peak_bytes (the nodes' and simulator's blocks alone),\n"
    "oracle_bytes (the oracle's estimate at the peak)}, expectations\n"
    "[{text, line (null: from no file), verdict (PASS, FAIL, SKIP),\n"
    "detail}], passed, failed, skipped, result (PASS, FAIL, STOPPED),\n"
    "exit_status; with --timing also wall_s, peak_rss_kib. All but\n"
    "budget_bytes (when the machine sets it) and the --timing fields\n"
    "depend only on the scenario, the flags and the seed.\n"
    "\n"
    "Exit status: 0 every expectation passed, 1 one failed (or the output\n"
    "could not be written), 2 usage or scenario error (FILE:LINE: what),\n"
    "3 memory: the run was refused or stopped by the budget (or an\n"
    "allocation failed below it); the message names --mem-limit.\n";

static int sim_usage(const char *what, const char *arg) {
  return p2pc_args_usage("sim", what, arg);
}

/* ---- the command --------------------------------------------------------- */

/* The flags' values as given: checked by apply_flags, over the scenario. */
typedef struct sim_opts {
  const char *scenario, *csv, *nodes, *duration, *seed, *topology, *mode, *rate;
  const char *bcast;
  const char *mem_limit, *mem_flag; /* its value, and the flag's name */
  const char *lifetime;
  bool quiet, timing, json;
} sim_opts;

/* --mem-limit and its old name: the value, and which name gave it. */
static bool mem_flag(const p2pc_args_opt *o, const char *v, void *dst) {
  sim_opts *so = dst;
  so->mem_limit = v;
  so->mem_flag = o->name;
  return true;
}

#define S(field) offsetof(sim_opts, field)

static const p2pc_args_opt sim_flags[] = {
    {"scenario", "FILE", S(scenario), NULL, 0, 0, NULL,
     "the scenario [none: 10 nodes, 60 s, full mesh]"},
    {"nodes", "N", S(nodes), NULL, 0, 0, NULL, "1..100000"},
    {"duration", "T", S(duration), NULL, 0, 0, NULL,
     "virtual time, 1s..30 days: 600, 600s, 10min\n"
     "(units ns, us, ms, s, min as in the scenario;\n"
     "a plain number is seconds)"},
    {"seed", "X", S(seed), NULL, 0, 0, NULL,
     "0..2^64-1; the same seed gives the same output,\n"
     "byte for byte"},
    {"topology", "T", S(topology), NULL, 0, 0, NULL,
     "full, ring, kregular:K (K 2..32), clusters:C"},
    {"mode", "M", S(mode), NULL, 0, 0, NULL,
     "reference or collaborative (clock sync)"},
    {"rate", "R", S(rate), NULL, 0, 0, NULL,
     "messages a second a node, 0..10000"},
    {"bcast", "P", S(bcast), NULL, 0, 0, NULL,
     "the share of those that are broadcasts (one send\n"
     "to every peer up), 0..1 [0.1]"},
    {"causal-lifetime", "S", S(lifetime), NULL, 0, 0, NULL,
     "the causal lifetime of every node (causalLifetime):\n"
     "seconds 0.001..1000000 (60, 90s, 2min) or inf;\n"
     "older messages are not delivered but reported\n"
     "expired [60]"},
    {"csv", "FILE", S(csv), NULL, 0, 0, NULL,
     "one row per virtual second: t_s, alive, synced,\n"
     "error p50/p99/max and spread (ns), bound\n"
     "violations, messages sent and delivered, causal\n"
     "metadata bytes a message (mean), buffered, bytes,\n"
     "events, then meta_p99, meta_max (bytes a message),\n"
     "deps_p99 (entries a message): of the messages sent\n"
     "that second; state_mean, state_max (causal state\n"
     "bytes a node, over the alive nodes, now); expired\n"
     "(expiry reports that second); tier_p99, tier_max\n"
     "(the clock's depth: tiers of the synced nodes)"},
    {"mem-limit", "SIZE", 0, mem_flag, 0, 0, NULL,
     "the memory budget: 512M, 4G, 1.5G (K, M, G, T:\n"
     "powers of 1024; KiB, MiB, GiB, TiB too); 0 or\n"
     "unlimited: none [half the RAM, or less: 3/4 of\n"
     "the address space or data limit (ulimit -v, -d),\n"
     "half the cgroup's memory limit]. --max-memory is\n"
     "another name for it"},
    {"max-memory", "SIZE", 0, mem_flag, 0, 0, NULL, NULL}, /* the old name */
    {"json", NULL, S(json), NULL, 0, 0, NULL,
     "the summary as one JSON object on stdout instead\n"
     "of the table (fields below)"},
    {"quiet", NULL, S(quiet), NULL, 0, 0, NULL,
     "no progress bar, no timing on stderr"},
    {"timing", NULL, S(timing), NULL, 0, 0, NULL,
     "wall time and peak RSS in the summary (stdout is\n"
     "then no longer the same from run to run)"},
};

static const p2pc_args_cmd sim_cmd = {
    "sim", sim_flags, sizeof sim_flags / sizeof sim_flags[0], 0, 0};

static int sim_help(void) {
  p2pc_args_usage_line(stdout, &sim_cmd, NULL);
  fputs(sim_about, stdout);
  p2pc_args_help(stdout, &sim_cmd);
  fputs(sim_tail, stdout);
  return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Returns -1 to go on, else an exit status. */
static int parse_opts(sim_opts *o, int argc, char **argv) {
  memset(o, 0, sizeof *o);
  int rc = p2pc_args_parse(&sim_cmd, argc, argv, o, NULL);
  if (rc == P2PC_ARGS_HELP)
    return sim_help();
  if (rc < 0)
    return rc == P2PC_ARGS_NOMEM ? EXIT_FAILURE : EXIT_USAGE;
  return -1;
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  return p2pc_parse_u64(s, strlen(s), lo, hi, out);
}

/* Plain decimals, as in scenario files: no sign, blanks, hex, inf or nan. */
static bool parse_dbl(const char *s, double lo, double hi, double *out) {
  double v;
  if (!p2pc_parse_double(s, 0, &v) || !(v >= lo && v <= hi))
    return false;
  *out = v;
  return true;
}

/* The flags over the file. Returns -1 to go on, else an exit status. */
static int apply_flags(const sim_opts *o, p2pc_scenario *sc) {
  p2pc_sim_config *c = &sc->cfg;
  uint64_t n;
  double x;
  if (o->nodes) {
    if (!parse_u64(o->nodes, 1, P2PC_SIM_MAX_NODES, &n))
      return sim_usage("--nodes must be an integer 1..100000, got", o->nodes);
    c->nodes = (uint32_t)n;
  }
  if (o->duration &&
      !p2pc_scenario_duration(o->duration, true, &c->duration_ns))
    return sim_usage("--duration must be a time 1s..30 days (600, 600s, "
                     "10min; no unit: seconds), got",
                     o->duration);
  if (o->seed) {
    if (!parse_u64(o->seed, 0, UINT64_MAX, &n))
      return sim_usage("--seed must be a decimal integer 0..2^64-1, got",
                       o->seed);
    c->seed = n;
  }
  if (o->topology &&
      !p2pc_scenario_topology(o->topology, &c->topology, &c->k, &c->clusters))
    return sim_usage("--topology must be full, ring, kregular:K (K 2..32) or "
                     "clusters:C, got",
                     o->topology);
  if (o->mode) {
    if (strcmp(o->mode, "reference") != 0 &&
        strcmp(o->mode, "collaborative") != 0)
      return sim_usage("--mode must be reference or collaborative, got",
                       o->mode);
    c->collaborative = o->mode[0] == 'c';
  }
  if (o->rate) {
    if (!parse_dbl(o->rate, 0, 10000, &x))
      return sim_usage("--rate must be 0..10000 messages/s, got", o->rate);
    c->rate = x;
  }
  if (o->bcast) {
    if (!parse_dbl(o->bcast, 0, 1, &x))
      return sim_usage("--bcast must be a probability 0..1, got", o->bcast);
    c->bcast = x;
  }
  if (o->lifetime &&
      !p2pc_scenario_lifetime(o->lifetime, &c->causal_lifetime_ns))
    return sim_usage("--causal-lifetime must be seconds 0.001..1000000 (60, "
                     "90s, 2min) or inf, got",
                     o->lifetime);
  return -1;
}

/* The flags' budget, or the machine's. Returns -1 to go on, else an exit
 * status. */
static int choose_budget(const sim_opts *o, budget *b) {
  if (!o->mem_limit) {
    p2pc__simcmd_machine_budget(b);
    return -1;
  }
  memset(b, 0, sizeof *b);
  if (!p2pc__simcmd_parse_size(o->mem_limit, &b->bytes)) {
    char what[160];
    snprintf(what, sizeof what,
             "--%s must be a size like 512M or 4G (K, M, G, T: powers of "
             "1024), or 0 or unlimited for none, got",
             o->mem_flag);
    return sim_usage(what, o->mem_limit);
  }
  b->from = b->bytes ? "flag" : "none";
  snprintf(b->why, sizeof b->why, "--%s", o->mem_flag);
  return -1;
}

int p2pc_cli_sim(int argc, char **argv) {
  sim_opts o;
  budget bud;
  int status = parse_opts(&o, argc, argv);
  if (status >= 0)
    return status;
  p2pc_scenario *sc = malloc(sizeof *sc);
  run_ctx *c = calloc(1, sizeof *c);
  char err[P2PC_SCN_ERR_LEN];
  if (!sc || !c) {
    fprintf(stderr, "p2pclock sim: out of memory\n");
    status = EXIT_FAILURE;
    goto out;
  }
  if (o.scenario) {
    int rv = p2pc_scenario_load(sc, o.scenario, err, sizeof err);
    if (rv) {
      fprintf(stderr, "%s\n", err);
      status = rv == P2PC_ERR_NOMEM ? EXIT_FAILURE : EXIT_USAGE;
      goto out;
    }
  } else {
    p2pc_scenario_init(sc, 10, "");
  }
  if ((status = apply_flags(&o, sc)) >= 0 ||
      (status = choose_budget(&o, &bud)) >= 0)
    goto out;
  if (p2pc_scenario_finish(sc, err, sizeof err)) {
    fprintf(stderr, "%s%s\n", o.scenario ? "" : "p2pclock sim: ", err);
    status = EXIT_USAGE;
    goto out;
  }
  /* Refused before it starts: the nodes alone would not fit. */
  uint64_t start_bytes = p2pc_sim_start_bytes(&sc->cfg);
  if (bud.bytes && start_bytes > bud.bytes) {
    p2pc__simcmd_say_refused(&sc->cfg, start_bytes, &bud);
    status = EXIT_MEMORY;
    goto out;
  }
  sc->cfg.max_memory = bud.bytes;
  c->sim = p2pc_sim_new(&sc->cfg, err, sizeof err);
  if (!c->sim) {
    fprintf(stderr, "p2pclock sim: %s%s%s\n", o.scenario ? o.scenario : "",
            o.scenario ? ": " : "", err);
    status = EXIT_USAGE;
    goto out;
  }
  if (o.csv) {
    c->csv = fopen(o.csv, "w");
    if (!c->csv) {
      fprintf(stderr, "p2pclock sim: cannot write %s: %s\n", o.csv,
              strerror(errno));
      status = EXIT_FAILURE;
      goto out;
    }
    c->csv_path = o.csv;
    p2pc__simcmd_csv_header(c->csv);
  }
  c->sc = sc;
  c->budget = &bud;
  c->bar = !o.quiet && isatty(STDERR_FILENO);
  c->wall0 = c->last_draw = p2pc__simcmd_wall_ns();
  p2pc_scn_judge_init(&c->judge, sc);

  p2pc_sim_run(c->sim, p2pc__simcmd_on_progress, p2pc__simcmd_on_row, c);

  if (c->bar)
    fputs("\r\033[K", stderr);
  p2pc_sim_result r;
  p2pc_sim_result_get(c->sim, &r);
  p2pc_scn_judge_sim(&c->judge, sc, c->sim, r.stop_ns / 1000000000ull, true);
  uint32_t failed = p2pc_scn_judge_end(&c->judge, sc, &r);
  status = r.stop != P2PC_SIM_STOP_END ? EXIT_MEMORY
           : failed                    ? EXIT_FAILURE
                                       : EXIT_SUCCESS;
  if (r.stop != P2PC_SIM_STOP_END)
    p2pc__simcmd_say_stopped(&sc->cfg, &r, &bud);
  if (!o.json) {
    p2pc__simcmd_print_summary(sc, o.scenario, c, &r, failed, o.timing);
  } else if (!p2pc__simcmd_print_json(sc, o.scenario, c, &r, failed, o.timing,
                                      start_bytes, status)) {
    fprintf(stderr, "p2pclock sim: out of memory for the JSON summary\n");
    status = EXIT_FAILURE;
  }
  if (!o.quiet && !o.timing) {
    char peak[32];
    p2pc__simcmd_fmt_size(r.mem_peak, peak, sizeof peak);
    fprintf(stderr,
            "p2pclock sim: wall %.3f s, %.2f M events/s, peak RSS %llu KiB, "
            "memory peak %s, %s pages\n",
            (double)r.wall_ns / 1e9,
            r.wall_ns ? (double)r.events / ((double)r.wall_ns / 1e3) : 0.0,
            (unsigned long long)r.peak_rss_kb, peak,
            p2pc_cli_sim_on_hugepages() ? "huge" : "small");
  }
  if (c->csv) {
    bool bad = ferror(c->csv) != 0;
    if (fclose(c->csv) != 0 || bad) {
      fprintf(stderr, "p2pclock sim: cannot write %s\n", c->csv_path);
      status = EXIT_FAILURE;
    }
    c->csv = NULL;
  }
  if (fflush(stdout) != 0) {
    fprintf(stderr, "p2pclock sim: cannot write: %s\n", strerror(errno));
    status = EXIT_FAILURE;
  }
out:
  if (c) {
    if (c->csv)
      fclose(c->csv);
    p2pc_sim_free(c->sim);
  }
  free(c);
  free(sc);
  return status;
}
