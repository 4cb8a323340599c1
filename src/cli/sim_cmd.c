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
 * The memory budget: a run holds what its nodes hold, and their causal
 * state grows with the nodes and the rate, and with time up to the causal
 * lifetime (sooner where deliveries are known). Rather than
 * let a run take the machine's memory from everything else on it, the
 * command gives the simulator a budget (--mem-limit, or half the RAM,
 * less if the process's limits or its cgroup allow less), refuses a run
 * whose start alone exceeds it, and otherwise lets the simulator stop the
 * run cleanly where it reaches it: the rows and the summary so far are
 * kept, and the exit status (3) says the run did not finish.
 */
#include "sim_cmd.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cJSON.h"
#include <p2pclock/p2pclock.h>
#include "scenario.h"
#include "sim.h"

#define EXIT_USAGE 2
#define EXIT_MEMORY 3          /* refused or stopped by the memory budget */
#define REDRAW_NS 100000000ull /* the progress bar: at most 10 a second */
#define BAR_WIDTH 24

static const char sim_help[] =
    "usage: p2pclock sim [--scenario FILE] [--nodes N] [--duration T]\n"
    "                    [--seed X] [--topology T] [--mode M] [--rate R]\n"
    "                    [--bcast P]\n"
    "                    [--causal-lifetime S] [--csv FILE]\n"
    "                    [--mem-limit SIZE] [--json] [--quiet] [--timing]\n"
    "\n"
    "Runs N real node cores in the deterministic simulator: virtual time,\n"
    "a simulated network (delay, jitter, loss, partitions) and simulated\n"
    "clocks (offset, drift, steps), driven by one seed. The scenario file\n"
    "describes the network, the clocks, the traffic, faults at given times\n"
    "and the expectations (oracles) the run must meet; see scenarios/*.scn\n"
    "and src/sim/scenario.h for the format. Each flag overrides the file.\n"
    "\n"
    "  --scenario FILE  the scenario [none: 10 nodes, 60 s, full mesh]\n"
    "  --nodes N        1..100000\n"
    "  --duration T     virtual time, 1s..30 days: 600, 600s, 10min\n"
    "                   (units ns, us, ms, s, min as in the scenario;\n"
    "                   a plain number is seconds)\n"
    "  --seed X         0..2^64-1; the same seed gives the same output,\n"
    "                   byte for byte\n"
    "  --topology T     full, ring, kregular:K (K 2..32), clusters:C\n"
    "  --mode M         reference or collaborative (clock sync)\n"
    "  --rate R         messages a second a node, 0..10000\n"
    "  --bcast P        the share of those that are broadcasts (one send\n"
    "                   to every peer up), 0..1 [0.1]\n"
    "  --causal-lifetime S\n"
    "                   the causal lifetime of every node (causalLifetime):\n"
    "                   seconds 0.001..1000000 (60, 90s, 2min) or inf;\n"
    "                   older messages are not delivered but reported\n"
    "                   expired [60]\n"
    "  --csv FILE       one row per virtual second: t_s, alive, synced,\n"
    "                   error p50/p99/max and spread (ns), bound\n"
    "                   violations, messages sent and delivered, causal\n"
    "                   metadata bytes a message (mean), buffered, bytes,\n"
    "                   events, then meta_p99, meta_max (bytes a message),\n"
    "                   deps_p99 (entries a message): of the messages sent\n"
    "                   that second; state_mean, state_max (causal state\n"
    "                   bytes a node, over the alive nodes, now); expired\n"
    "                   (expiry reports that second)\n"
    "  --mem-limit SIZE the memory budget: 512M, 4G, 1.5G (K, M, G, T:\n"
    "                   powers of 1024; KiB, MiB, GiB, TiB too); 0 or\n"
    "                   unlimited: none [half the RAM, or less: 3/4 of\n"
    "                   the address space or data limit (ulimit -v, -d),\n"
    "                   half the cgroup's memory limit]. --max-memory is\n"
    "                   another name for it\n"
    "  --json           the summary as one JSON object on stdout instead\n"
    "                   of the table (fields below)\n"
    "  --quiet          no progress bar, no timing on stderr\n"
    "  --timing         wall time and peak RSS in the summary (stdout is\n"
    "                   then no longer the same from run to run)\n"
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
    "--json fields: scenario (null: none), seed (a string), nodes,\n"
    "nodes_at_start, topology, k (kregular only), clusters (clusters\n"
    "only), mode, duration_s, virtual_s (reached), stop (\"end\",\n"
    "\"budget\": the budget stopped it, \"nomem\": an allocation failed\n"
    "below it), events, messages {sent, delivered, undeliverable,\n"
    "sends_refused (back-pressure at a causal cap)},\n"
    "meta_bytes_per_msg (the mean of causal.meta_bytes), causal\n"
    "{lifetime_s (a number, or \"inf\"), meta_bytes {messages, mean, p99,\n"
    "max}, deps {p99, max}, state_bytes {mean, max (at the end), peak_mean,\n"
    "peak (the highest of any second)}, expired {receivers,\n"
    "senders}, refused_ahead}, causal_oracle {run, violations,\n"
    "missing, first_violation}, convergence_s (null: none),\n"
    "final_spread_ns, worst_spread_ns, max_error_ns, bound_violations,\n"
    "membership_ok, alive, synced, memory {budget_bytes (null: none),\n"
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

/* The memory budget and where it came from, for the messages. */
typedef struct budget {
  uint64_t bytes;   /* 0: none */
  const char *from; /* flag, ram, rlimit_as, rlimit_data, cgroup, none */
  char why[128];    /* "--mem-limit", "half the RAM of 23.4 GiB; ..." */
} budget;

typedef struct run_ctx {
  const p2pc_scenario *sc;
  const budget *budget;
  p2pc_scn_judge judge;
  FILE *csv;
  const char *csv_path;
  p2pc_sim *sim;
  bool bar;
  uint64_t wall0, last_draw;
  double worst_spread; /* over the run, synced nodes */
} run_ctx;

static int sim_usage(const char *what, const char *arg) {
  fprintf(stderr, "p2pclock sim: %s \"%s\" (try p2pclock sim --help)\n", what,
          arg);
  return EXIT_USAGE;
}

static uint64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (!*s || strlen(s) > 20)
    return false;
  for (const char *c = s; *c; c++)
    if (*c < '0' || *c > '9')
      return false;
  errno = 0;
  unsigned long long v = strtoull(s, NULL, 10);
  if (errno || v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

static bool parse_dbl(const char *s, double lo, double hi, double *out) {
  char *end;
  /* plain decimals, as in scenario files: no blanks, hex, inf or nan */
  if (!((*s >= '0' && *s <= '9') || *s == '.') || strpbrk(s, "xX"))
    return false;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi))
    return false;
  *out = v;
  return true;
}

/* ---- memory -------------------------------------------------------------- */

/* "800 B", "12.3 KiB", "300 MiB", "3.91 GiB": three figures at most. */
static void fmt_size(uint64_t b, char *out, size_t n) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = (double)b;
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    u++;
  }
  if (u == 0)
    snprintf(out, n, "%llu B", (unsigned long long)b);
  else
    snprintf(out, n,
             v >= 100  ? "%.0f %s"
             : v >= 10 ? "%.1f %s"
                       : "%.2f %s",
             v, unit[u]);
}

/* --mem-limit: "0" or "unlimited" (no budget, *out = 0), or a number
 * with a unit: K, M, G, T or KiB, MiB, GiB, TiB (powers of 1024), like
 * 512M or 1.5G. A bare number other than 0 is refused: bytes or MiB? */
static bool parse_size(const char *s, uint64_t *out) {
  static const struct {
    const char *u;
    int shift;
  } units[] = {{"K", 10},   {"M", 20},   {"G", 30},   {"T", 40},
               {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
  if (strcmp(s, "0") == 0 || strcmp(s, "unlimited") == 0) {
    *out = 0;
    return true;
  }
  const char *u = s;
  int dots = 0;
  while ((*u >= '0' && *u <= '9') || (*u == '.' && !dots++))
    u++;
  if (u == s || u - s > 20 || (u == s + 1 && *s == '.'))
    return false;
  char num[24];
  memcpy(num, s, (size_t)(u - s));
  num[u - s] = '\0';
  double v = strtod(num, NULL);
  for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
    if (strcmp(u, units[k].u) != 0)
      continue;
    double b = v * (double)(1ull << units[k].shift);
    if (!(b >= 1 && b <= (double)(1ull << 50))) /* 1 byte .. 1 PiB */
      return false;
    *out = (uint64_t)b;
    return true;
  }
  return false;
}

/* A limit in bytes from a file holding one number ("max": none). */
static uint64_t read_limit(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  char line[64];
  unsigned long long v = 0;
  if (fgets(line, sizeof line, f) && line[0] >= '0' && line[0] <= '9')
    v = strtoull(line, NULL, 10);
  fclose(f);
  return v;
}

/* The process's memory cgroup limit, v2 or v1, at the mount's root (a
 * container's own) or at the process's path under it; 0: none found. */
static uint64_t cgroup_limit(void) {
  char path[512] = "", line[512];
  FILE *f = fopen("/proc/self/cgroup", "r");
  bool v1 = false;
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *p = NULL;
    if (strncmp(line, "0::", 3) == 0 && !v1)
      p = line + 3;
    else if ((p = strstr(line, ":memory:")) != NULL) {
      p += 8;
      v1 = true;
    }
    if (p && strlen(p) < sizeof path && !strstr(p, ".."))
      snprintf(path, sizeof path, "%s", p);
  }
  if (f)
    fclose(f);
  const char *root = v1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup";
  const char *file = v1 ? "memory.limit_in_bytes" : "memory.max";
  char at[1200];
  uint64_t best = 0, v;
  snprintf(at, sizeof at, "%s/%s", root, file);
  if ((v = read_limit(at)) != 0)
    best = v;
  if (path[0] && strcmp(path, "/") != 0) {
    snprintf(at, sizeof at, "%s%s/%s", root, path, file);
    if ((v = read_limit(at)) != 0 && (!best || v < best))
      best = v;
  }
  return best;
}

/* Lowers the budget to bytes, which are `what` limit. */
static void budget_lower(budget *b, uint64_t bytes, const char *from,
                         const char *what, uint64_t limit) {
  if (!bytes || (b->bytes && bytes >= b->bytes))
    return;
  char sz[32];
  fmt_size(limit, sz, sizeof sz);
  b->bytes = bytes;
  b->from = from;
  snprintf(b->why, sizeof b->why, "%s %s; --mem-limit SIZE sets it", what, sz);
}

/* The default: half the RAM, and less where the process may hold less:
 * 3/4 of an address-space or data limit (the rest is for what the
 * account does not see: code, stacks, malloc's own overhead), half the
 * cgroup's limit. A cgroup "limit" of about 2^63 is no limit. */
static void machine_budget(budget *b) {
  memset(b, 0, sizeof *b);
  b->from = "none";
  snprintf(b->why, sizeof b->why, "none");
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGE_SIZE);
  uint64_t ram = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize : 0;
  budget_lower(b, ram / 2, "ram", "half the RAM of", ram);
  struct rlimit rl;
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    budget_lower(b, (uint64_t)rl.rlim_cur / 4 * 3, "rlimit_as",
                 "3/4 of the address space limit (ulimit -v) of",
                 (uint64_t)rl.rlim_cur);
  if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    budget_lower(b, (uint64_t)rl.rlim_cur / 4 * 3, "rlimit_data",
                 "3/4 of the data limit (ulimit -d) of", (uint64_t)rl.rlim_cur);
  uint64_t cg = cgroup_limit();
  if (cg && cg < ((uint64_t)1 << 60))
    budget_lower(b, cg / 2, "cgroup", "half the cgroup's memory limit of", cg);
}

/* ---- callbacks ----------------------------------------------------------- */

static void on_progress(void *ud, uint64_t now_ns, uint64_t end_ns) {
  run_ctx *c = ud;
  if (!c->bar)
    return;
  uint64_t w = wall_ns();
  if (now_ns < end_ns && w - c->last_draw < REDRAW_NS)
    return;
  c->last_draw = w;
  p2pc_sim_result r;
  p2pc_sim_result_get(c->sim, &r);
  double f = end_ns ? (double)now_ns / (double)end_ns : 1;
  if (f > 1)
    f = 1;
  char bar[BAR_WIDTH + 1];
  int full = (int)(f * BAR_WIDTH);
  for (int i = 0; i < BAR_WIDTH; i++)
    bar[i] = i < full ? '#' : '.';
  bar[BAR_WIDTH] = '\0';
  char mem[32], cap[32] = "";
  fmt_size(r.mem_now, mem, sizeof mem);
  if (c->budget->bytes) {
    cap[0] = '/';
    fmt_size(c->budget->bytes, cap + 1, sizeof cap - 1);
  }
  fprintf(stderr,
          "\r\033[Ksim [%s] %3.0f%%  t %llu/%llu s  %.2fM events  "
          "mem %s%s  wall %.1f s",
          bar, f * 100, (unsigned long long)(now_ns / 1000000000ull),
          (unsigned long long)(end_ns / 1000000000ull), (double)r.events / 1e6,
          mem, cap, (double)(w - c->wall0) / 1e9);
  fflush(stderr);
}

static void on_row(void *ud, const p2pc_sim_second *row) {
  run_ctx *c = ud;
  p2pc_scn_judge_row(&c->judge, c->sc, row);
  p2pc_scn_judge_sim(&c->judge, c->sc, c->sim, row->t_s, false);
  if (row->spread > c->worst_spread)
    c->worst_spread = row->spread;
  if (!c->csv)
    return;
  fprintf(c->csv,
          "%llu,%u,%u,%.0f,%.0f,%.0f,%.0f,%u,%llu,%llu,%.2f,%llu,%llu,%llu,"
          "%llu,%llu,%u,%.0f,%llu,%llu\n",
          (unsigned long long)row->t_s, row->alive, row->synced, row->err_p50,
          row->err_p99, row->err_max, row->spread, row->bound_violations,
          (unsigned long long)row->msgs_sent,
          (unsigned long long)row->msgs_delivered, row->meta_per_msg,
          (unsigned long long)row->buffered, (unsigned long long)row->bytes,
          (unsigned long long)row->events, (unsigned long long)row->meta_p99,
          (unsigned long long)row->meta_max, row->deps_p99, row->state_mean,
          (unsigned long long)row->state_max, (unsigned long long)row->expired);
  /* One row per virtual second, so a flush each is cheap, and a run that
   * is killed (or a plot that tails the file) has every row so far, whole:
   * with stdio's buffering the last few KiB, cut mid-row, would be lost. */
  fflush(c->csv);
}

/* ---- the summary --------------------------------------------------------- */

static void print_summary(const p2pc_scenario *sc, const char *path,
                          const run_ctx *c, const p2pc_sim_result *r,
                          uint32_t failed, bool timing) {
  const p2pc_sim_config *cf = &sc->cfg;
  char a[32], b[32];
  printf("p2pclock sim: %s, seed %llu\n", path ? path : "(no scenario)",
         (unsigned long long)cf->seed);
  printf("  %-20s %u", "nodes", cf->nodes);
  if (cf->initially_alive && cf->initially_alive < cf->nodes)
    printf(" (%u at start)", cf->initially_alive);
  printf("\n");
  switch (cf->topology) {
  case P2PC_SIM_FULL:
    printf("  %-20s full\n", "topology");
    break;
  case P2PC_SIM_RING:
    printf("  %-20s ring\n", "topology");
    break;
  case P2PC_SIM_KREGULAR:
    printf("  %-20s kregular, k = %u\n", "topology", cf->k);
    break;
  case P2PC_SIM_CLUSTERS:
    printf("  %-20s %u clusters\n", "topology", cf->clusters);
    break;
  }
  printf("  %-20s %s\n", "mode",
         cf->collaborative ? "collaborative" : "reference");
  printf("  %-20s %.3f s\n", "virtual duration", (double)cf->duration_ns / 1e9);
  printf("  %-20s %llu\n", "events", (unsigned long long)r->events);
  printf("  %-20s %llu sent, %llu delivered, %llu undeliverable", "messages",
         (unsigned long long)r->msgs_sent,
         (unsigned long long)r->msgs_delivered,
         (unsigned long long)r->undeliverable);
  if (r->sends_refused)
    printf("; %llu sends refused (back-pressure)",
           (unsigned long long)r->sends_refused);
  printf("\n");
  if (cf->causal_lifetime_ns == P2PC_SIM_LIFETIME_INF)
    printf("  %-20s inf\n", "causal lifetime");
  else
    printf("  %-20s %g s\n", "causal lifetime",
           (double)cf->causal_lifetime_ns / 1e9);
  printf("  %-20s %.2f bytes/msg mean, p99 %llu, max %llu (%llu to other "
         "nodes)\n",
         "causal metadata", r->meta_per_msg, (unsigned long long)r->meta_p99,
         (unsigned long long)r->meta_max, (unsigned long long)r->meta_msgs);
  printf("  %-20s p99 %u, max %u a message\n", "causal entries", r->deps_p99,
         r->deps_max);
  fmt_size((uint64_t)(r->state_mean + 0.5), a, sizeof a);
  fmt_size(r->state_max, b, sizeof b);
  printf("  %-20s %s mean, %s max a node at the end;", "causal state", a, b);
  fmt_size((uint64_t)(r->state_peak_mean + 0.5), a, sizeof a);
  fmt_size(r->state_peak, b, sizeof b);
  printf(" peak %s mean, %s max\n", a, b);
  printf("  %-20s %llu at receivers, %llu at senders; %llu refused (stamp "
         "ahead)\n",
         "expired", (unsigned long long)r->expired_rx,
         (unsigned long long)r->expired_tx,
         (unsigned long long)r->refused_ahead);
  if (r->causal_checked) {
    printf("  %-20s %llu violations, %llu missing\n", "causal oracle",
           (unsigned long long)r->causal_violations,
           (unsigned long long)r->missing);
    if (r->first_violation[0])
      printf("  %-20s %.*s\n", "first violation",
             (int)strnlen(r->first_violation, sizeof r->first_violation),
             r->first_violation);
  } else {
    printf("  %-20s not run\n", "causal oracle");
  }
  if (r->conv_s >= 0)
    printf("  %-20s %.0f s (spread < 100 us from then on)\n", "convergence",
           r->conv_s);
  else
    printf("  %-20s none (spread not < 100 us at the end)\n", "convergence");
  p2pc_scn_format_ns(r->final_spread_ns, a, sizeof a);
  p2pc_scn_format_ns(c->worst_spread, b, sizeof b);
  printf("  %-20s %s (worst second: %s)\n", "final spread", a, b);
  p2pc_scn_format_ns(r->final_err_max_ns, a, sizeof a);
  printf("  %-20s %s (final, against true time)\n", "max error", a);
  printf("  %-20s %llu\n", "bound violations",
         (unsigned long long)r->bound_violations);
  printf("  %-20s %s\n", "membership", r->membership_ok ? "ok" : "NOT ok");
  printf("  %-20s %u/%u\n", "alive/synced", r->alive, r->synced);
  if (r->stop != P2PC_SIM_STOP_END) {
    fmt_size(r->mem_now, a, sizeof a);
    if (c->budget->bytes)
      fmt_size(c->budget->bytes, b, sizeof b);
    else
      snprintf(b, sizeof b, "none");
    printf("  %-20s at %.1f s: %s\n", "stopped", (double)r->stop_ns / 1e9,
           r->stop == P2PC_SIM_STOP_BUDGET
               ? "memory reached the budget"
               : "an allocation failed below the budget");
    printf("  %-20s %s held, budget %s\n", "memory", a, b);
  }
  if (timing)
    printf("  %-20s %.3f s, peak RSS %llu KiB\n", "wall",
           (double)r->wall_ns / 1e9, (unsigned long long)r->peak_rss_kb);
  uint32_t skipped = 0;
  if (sc->nexpect) {
    printf("expectations\n");
    for (uint32_t i = 0; i < sc->nexpect; i++) {
      const p2pc_scn_verdict *v = &c->judge.v[i];
      const char *word = v->skipped ? "SKIP" : v->pass ? "PASS" : "FAIL";
      skipped += v->skipped;
      printf("  %s  %-32s %s", word, sc->expect[i].text, v->detail);
      if (sc->expect[i].line)
        printf(" (line %u)", sc->expect[i].line);
      printf("\n");
    }
  }
  if (r->stop != P2PC_SIM_STOP_END)
    printf("result: STOPPED at %.1f s of %.0f s (memory), %u of %u "
           "expectations passed so far",
           (double)r->stop_ns / 1e9, (double)cf->duration_ns / 1e9,
           sc->nexpect - failed - skipped, sc->nexpect);
  else
    printf("result: %s, %u of %u expectations passed", failed ? "FAIL" : "PASS",
           sc->nexpect - failed - skipped, sc->nexpect);
  if (skipped)
    printf(", %u skipped", skipped);
  printf("\n");
}

/* ---- the summary as JSON --------------------------------------------------
 */

static bool add_num(cJSON *o, const char *key, double v) {
  return cJSON_AddNumberToObject(o, key, v) != NULL;
}

static bool add_str(cJSON *o, const char *key, const char *v) {
  return (v ? cJSON_AddStringToObject(o, key, v)
            : cJSON_AddNullToObject(o, key)) != NULL;
}

static const char *topology_name(p2pc_sim_topology t) {
  switch (t) {
  case P2PC_SIM_FULL:
    return "full";
  case P2PC_SIM_RING:
    return "ring";
  case P2PC_SIM_KREGULAR:
    return "kregular";
  case P2PC_SIM_CLUSTERS:
    return "clusters";
  }
  return "?";
}

static const char *const stop_name[] = {"end", "budget", "nomem"};

/* The "causal" object of --json. */
static bool add_causal(cJSON *o, const p2pc_sim_config *cf,
                       const p2pc_sim_result *r) {
  cJSON *c = cJSON_AddObjectToObject(o, "causal"), *m = NULL, *d = NULL,
        *st = NULL, *ex = NULL;
  return c &&
         (cf->causal_lifetime_ns == P2PC_SIM_LIFETIME_INF
              ? add_str(c, "lifetime_s", "inf")
              : add_num(c, "lifetime_s",
                        (double)cf->causal_lifetime_ns / 1e9)) &&
         (m = cJSON_AddObjectToObject(c, "meta_bytes")) &&
         add_num(m, "messages", (double)r->meta_msgs) &&
         add_num(m, "mean", r->meta_per_msg) &&
         add_num(m, "p99", (double)r->meta_p99) &&
         add_num(m, "max", (double)r->meta_max) &&
         (d = cJSON_AddObjectToObject(c, "deps")) &&
         add_num(d, "p99", r->deps_p99) && add_num(d, "max", r->deps_max) &&
         (st = cJSON_AddObjectToObject(c, "state_bytes")) &&
         add_num(st, "mean", r->state_mean) &&
         add_num(st, "max", (double)r->state_max) &&
         add_num(st, "peak_mean", r->state_peak_mean) &&
         add_num(st, "peak", (double)r->state_peak) &&
         (ex = cJSON_AddObjectToObject(c, "expired")) &&
         add_num(ex, "receivers", (double)r->expired_rx) &&
         add_num(ex, "senders", (double)r->expired_tx) &&
         add_num(c, "refused_ahead", (double)r->refused_ahead);
}

/* The summary of print_summary as one object on one line (--json). Returns
 * false if out of memory. */
static bool print_json(const p2pc_scenario *sc, const char *path,
                       const run_ctx *c, const p2pc_sim_result *r,
                       uint32_t failed, bool timing, uint64_t start_bytes,
                       int status) {
  const p2pc_sim_config *cf = &sc->cfg;
  char seed[24];
  snprintf(seed, sizeof seed, "%llu", (unsigned long long)cf->seed);
  uint32_t alive0 = cf->initially_alive && cf->initially_alive < cf->nodes
                        ? cf->initially_alive
                        : cf->nodes;
  double virt = r->stop == P2PC_SIM_STOP_END ? (double)cf->duration_ns
                                             : (double)r->stop_ns;
  cJSON *o = cJSON_CreateObject(), *m = NULL, *ora = NULL, *mem = NULL,
        *ex = NULL;
  bool ok =
      o && add_str(o, "scenario", path) && add_str(o, "seed", seed) &&
      add_num(o, "nodes", cf->nodes) && add_num(o, "nodes_at_start", alive0) &&
      add_str(o, "topology", topology_name(cf->topology)) &&
      (cf->topology != P2PC_SIM_KREGULAR || add_num(o, "k", cf->k)) &&
      (cf->topology != P2PC_SIM_CLUSTERS ||
       add_num(o, "clusters", cf->clusters)) &&
      add_str(o, "mode", cf->collaborative ? "collaborative" : "reference") &&
      add_num(o, "duration_s", (double)cf->duration_ns / 1e9) &&
      add_num(o, "virtual_s", virt / 1e9) &&
      add_str(o, "stop", stop_name[r->stop]) &&
      add_num(o, "events", (double)r->events) &&
      (m = cJSON_AddObjectToObject(o, "messages")) &&
      add_num(m, "sent", (double)r->msgs_sent) &&
      add_num(m, "delivered", (double)r->msgs_delivered) &&
      add_num(m, "undeliverable", (double)r->undeliverable) &&
      add_num(m, "sends_refused", (double)r->sends_refused) &&
      add_num(o, "meta_bytes_per_msg", r->meta_per_msg) &&
      add_causal(o, cf, r) &&
      (ora = cJSON_AddObjectToObject(o, "causal_oracle")) &&
      cJSON_AddBoolToObject(ora, "run", r->causal_checked) &&
      add_num(ora, "violations", (double)r->causal_violations) &&
      add_num(ora, "missing", (double)r->missing) &&
      add_str(ora, "first_violation",
              r->first_violation[0] ? r->first_violation : NULL) &&
      (r->conv_s >= 0 ? add_num(o, "convergence_s", r->conv_s)
                      : cJSON_AddNullToObject(o, "convergence_s") != NULL) &&
      add_num(o, "final_spread_ns", r->final_spread_ns) &&
      add_num(o, "worst_spread_ns", c->worst_spread) &&
      add_num(o, "max_error_ns", r->final_err_max_ns) &&
      add_num(o, "bound_violations", (double)r->bound_violations) &&
      cJSON_AddBoolToObject(o, "membership_ok", r->membership_ok) &&
      add_num(o, "alive", r->alive) && add_num(o, "synced", r->synced) &&
      (mem = cJSON_AddObjectToObject(o, "memory")) &&
      (c->budget->bytes ? add_num(mem, "budget_bytes", (double)c->budget->bytes)
                        : cJSON_AddNullToObject(mem, "budget_bytes") != NULL) &&
      add_str(mem, "budget_from", c->budget->from) &&
      add_num(mem, "start_bytes", (double)start_bytes) &&
      add_num(mem, "peak_bytes", (double)r->mem_peak) &&
      add_num(mem, "counted_peak_bytes", (double)r->mem_counted_peak) &&
      add_num(mem, "oracle_bytes", (double)r->mem_oracle) &&
      (ex = cJSON_AddArrayToObject(o, "expectations"));
  uint32_t skipped = 0;
  for (uint32_t i = 0; ok && i < sc->nexpect; i++) {
    const p2pc_scn_verdict *v = &c->judge.v[i];
    cJSON *e = cJSON_CreateObject();
    skipped += v->skipped;
    if (!e || !cJSON_AddItemToArray(ex, e)) {
      cJSON_Delete(e);
      ok = false;
      break;
    }
    ok = add_str(e, "text", sc->expect[i].text) &&
         (sc->expect[i].line ? add_num(e, "line", sc->expect[i].line)
                             : cJSON_AddNullToObject(e, "line") != NULL) &&
         add_str(e, "verdict",
                 v->skipped ? "SKIP"
                 : v->pass  ? "PASS"
                            : "FAIL") &&
         add_str(e, "detail", v->detail);
  }
  ok = ok && add_num(o, "passed", sc->nexpect - failed - skipped) &&
       add_num(o, "failed", failed) && add_num(o, "skipped", skipped) &&
       add_str(o, "result",
               r->stop != P2PC_SIM_STOP_END ? "STOPPED"
               : failed                     ? "FAIL"
                                            : "PASS") &&
       add_num(o, "exit_status", status) &&
       (!timing || (add_num(o, "wall_s", (double)r->wall_ns / 1e9) &&
                    add_num(o, "peak_rss_kib", (double)r->peak_rss_kb)));
  char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!text)
    return false;
  printf("%s\n", text);
  free(text);
  return true;
}

/* ---- the command --------------------------------------------------------- */

typedef struct sim_opts {
  const char *scenario, *csv, *nodes, *duration, *seed, *topology, *mode, *rate;
  const char *bcast;
  const char *mem_limit, *mem_flag; /* its value, and the flag's name */
  const char *lifetime;
  bool quiet, timing, json;
} sim_opts;

/* Returns -1 to go on, else an exit status. */
static int parse_opts(sim_opts *o, int argc, char **argv) {
  static const struct {
    const char *flag;
    size_t off;
  } takes[] = {
      {"--scenario", offsetof(sim_opts, scenario)},
      {"--csv", offsetof(sim_opts, csv)},
      {"--nodes", offsetof(sim_opts, nodes)},
      {"--duration", offsetof(sim_opts, duration)},
      {"--seed", offsetof(sim_opts, seed)},
      {"--topology", offsetof(sim_opts, topology)},
      {"--mode", offsetof(sim_opts, mode)},
      {"--rate", offsetof(sim_opts, rate)},
      {"--bcast", offsetof(sim_opts, bcast)},
      {"--mem-limit", offsetof(sim_opts, mem_limit)},
      {"--max-memory", offsetof(sim_opts, mem_limit)}, /* the old name */
      {"--causal-lifetime", offsetof(sim_opts, lifetime)},
  };
  memset(o, 0, sizeof *o);
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *eq = strchr(a, '=');
    size_t fl = eq ? (size_t)(eq - a) : strlen(a);
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(sim_help, stdout);
      return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    if (strcmp(a, "--quiet") == 0) {
      o->quiet = true;
      continue;
    }
    if (strcmp(a, "--timing") == 0) {
      o->timing = true;
      continue;
    }
    if (strcmp(a, "--json") == 0) {
      o->json = true;
      continue;
    }
    size_t k = 0, nt = sizeof takes / sizeof takes[0];
    while (k < nt &&
           !(strlen(takes[k].flag) == fl && strncmp(a, takes[k].flag, fl) == 0))
      k++;
    if (k == nt)
      return sim_usage(a[0] == '-' ? "unknown option" : "unexpected argument",
                       a);
    const char *v;
    if (eq)
      v = eq + 1;
    else if (i + 1 < argc)
      v = argv[++i];
    else
      return sim_usage("missing value after", a);
    *(const char **)((char *)o + takes[k].off) = v;
    if (takes[k].off == offsetof(sim_opts, mem_limit))
      o->mem_flag = takes[k].flag;
  }
  return -1;
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
    machine_budget(b);
    return -1;
  }
  memset(b, 0, sizeof *b);
  if (!parse_size(o->mem_limit, &b->bytes)) {
    char what[160];
    snprintf(what, sizeof what,
             "%s must be a size like 512M or 4G (K, M, G, T: powers of "
             "1024), or 0 or unlimited for none, got",
             o->mem_flag);
    return sim_usage(what, o->mem_limit);
  }
  b->from = b->bytes ? "flag" : "none";
  snprintf(b->why, sizeof b->why, "%s", o->mem_flag);
  return -1;
}

/* What would fit in less: "fewer nodes, a sparser topology (--topology
 * kregular:8) or a lower --rate", of what applies to cfg. */
static void advice(const p2pc_sim_config *cf, bool rate, char *out, size_t n) {
  bool dense =
      cf->topology == P2PC_SIM_FULL || cf->topology == P2PC_SIM_CLUSTERS;
  rate = rate && cf->rate > 0;
  snprintf(out, n, "fewer nodes%s%s%s",
           dense && rate ? ", "
           : dense       ? " or "
                         : "",
           dense ? "a sparser topology (--topology kregular:8)" : "",
           rate ? " or a lower --rate" : "");
}

/* The one line on stderr that says why a run ended early, and how to fit
 * it in. */
static void say_stopped(const p2pc_sim_config *cf, const p2pc_sim_result *r,
                        const budget *b) {
  char held[32], cap[32], meta[80] = "";
  fmt_size(r->mem_now, held, sizeof held);
  fmt_size(b->bytes, cap, sizeof cap);
  if (r->stop == P2PC_SIM_STOP_NOMEM) {
    fprintf(stderr,
            "p2pclock sim: stopped at virtual t=%.1f s: an allocation failed "
            "while the run held %s, below the budget of %s (%s): the "
            "machine gives less; a lower --mem-limit stops such a run "
            "cleanly\n",
            (double)r->stop_ns / 1e9, held, b->bytes ? cap : "none", b->why);
    return;
  }
  if (r->msgs_sent) {
    char m[32];
    fmt_size((uint64_t)r->meta_per_msg, m, sizeof m);
    snprintf(meta, sizeof meta, "; causal metadata averaged %s a message", m);
  }
  char fit[128];
  advice(cf, true, fit, sizeof fit);
  fprintf(stderr,
          "p2pclock sim: stopped at virtual t=%.1f s: memory %s reached the "
          "budget of %s (%s)%s: %s fit in less\n",
          (double)r->stop_ns / 1e9, held, cap, b->why, meta, fit);
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
    char need[32], per[32], cap[32], fit[128];
    uint32_t alive =
        sc->cfg.initially_alive && sc->cfg.initially_alive < sc->cfg.nodes
            ? sc->cfg.initially_alive
            : sc->cfg.nodes;
    fmt_size(start_bytes, need, sizeof need);
    fmt_size(start_bytes / alive, per, sizeof per);
    fmt_size(bud.bytes, cap, sizeof cap);
    advice(&sc->cfg, false, fit, sizeof fit);
    fprintf(stderr,
            "p2pclock sim: %u nodes need at least %s to start (%s a node), "
            "over the memory budget of %s (%s): %s fit in less\n",
            alive, need, per, cap, bud.why, fit);
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
    fputs("t_s,alive,synced,err_p50_ns,err_p99_ns,err_max_ns,spread_ns,"
          "bound_violations,msgs_sent,msgs_delivered,meta_per_msg,buffered,"
          "bytes,events,meta_p99,meta_max,deps_p99,state_mean,state_max,"
          "expired\n",
          c->csv);
  }
  c->sc = sc;
  c->budget = &bud;
  c->bar = !o.quiet && isatty(STDERR_FILENO);
  c->wall0 = c->last_draw = wall_ns();
  p2pc_scn_judge_init(&c->judge, sc);

  p2pc_sim_run(c->sim, on_progress, on_row, c);

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
    say_stopped(&sc->cfg, &r, &bud);
  if (!o.json) {
    print_summary(sc, o.scenario, c, &r, failed, o.timing);
  } else if (!print_json(sc, o.scenario, c, &r, failed, o.timing, start_bytes,
                         status)) {
    fprintf(stderr, "p2pclock sim: out of memory for the JSON summary\n");
    status = EXIT_FAILURE;
  }
  if (!o.quiet && !o.timing) {
    char peak[32];
    fmt_size(r.mem_peak, peak, sizeof peak);
    fprintf(stderr,
            "p2pclock sim: wall %.3f s, %.2f M events/s, peak RSS %llu KiB, "
            "memory peak %s\n",
            (double)r.wall_ns / 1e9,
            r.wall_ns ? (double)r.events / ((double)r.wall_ns / 1e3) : 0.0,
            (unsigned long long)r.peak_rss_kb, peak);
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
