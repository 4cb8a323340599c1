/* SPDX-License-Identifier: MIT */
/*
 * The sim command of sim_cmd.h. It loads the scenario, lets the flags
 * override it, runs the simulator with two callbacks (the progress bar,
 * throttled to ten redraws a wall second, and the per-second row, which
 * feeds the CSV and the judge of the expectations), then prints the
 * summary. Everything on stdout and in the CSV comes from the simulation
 * alone, printed with fixed formats, so two runs with the same seed are
 * byte-identical; what the machine adds (wall time, memory) goes to
 * stderr unless --timing asks for it on stdout.
 */
#include "sim_cmd.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p2pclock.h"
#include "scenario.h"
#include "sim.h"

#define EXIT_USAGE 2
#define REDRAW_NS 100000000ull /* the progress bar: at most 10 a second */
#define BAR_WIDTH 24

static const char sim_help[] =
    "usage: p2pclock sim [--scenario FILE] [--nodes N] [--duration T]\n"
    "                    [--seed X] [--topology T] [--mode M] [--rate R]\n"
    "                    [--csv FILE] [--quiet] [--timing]\n"
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
    "  --csv FILE       one row per virtual second: t_s, alive, synced,\n"
    "                   error p50/p99/max and spread (ns), bound\n"
    "                   violations, messages sent and delivered, causal\n"
    "                   metadata bytes a message, buffered, bytes, events\n"
    "  --quiet          no progress bar, no timing on stderr\n"
    "  --timing         wall time and peak RSS in the summary (stdout is\n"
    "                   then no longer the same from run to run)\n"
    "\n"
    "On a terminal a progress bar runs on stderr; the summary table and\n"
    "each expectation's PASS, FAIL or SKIP (it could not be judged) go to\n"
    "stdout.\n"
    "\n"
    "Exit status: 0 every expectation passed, 1 one failed (or the output\n"
    "could not be written), 2 usage or scenario error (FILE:LINE: what).\n";

typedef struct run_ctx {
  const p2pc_scenario *sc;
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
  fprintf(stderr,
          "\r\033[Ksim [%s] %3.0f%%  t %llu/%llu s  %.2fM events  "
          "wall %.1f s",
          bar, f * 100, (unsigned long long)(now_ns / 1000000000ull),
          (unsigned long long)(end_ns / 1000000000ull), (double)r.events / 1e6,
          (double)(w - c->wall0) / 1e9);
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
          "%llu,%u,%u,%.0f,%.0f,%.0f,%.0f,%u,%llu,%llu,%.2f,%llu,%llu,%llu\n",
          (unsigned long long)row->t_s, row->alive, row->synced, row->err_p50,
          row->err_p99, row->err_max, row->spread, row->bound_violations,
          (unsigned long long)row->msgs_sent,
          (unsigned long long)row->msgs_delivered, row->meta_per_msg,
          (unsigned long long)row->buffered, (unsigned long long)row->bytes,
          (unsigned long long)row->events);
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
  printf("  %-20s %llu sent, %llu delivered, %llu undeliverable\n", "messages",
         (unsigned long long)r->msgs_sent,
         (unsigned long long)r->msgs_delivered,
         (unsigned long long)r->undeliverable);
  printf("  %-20s %.2f bytes/msg\n", "causal metadata", r->meta_per_msg);
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
  printf("result: %s, %u of %u expectations passed", failed ? "FAIL" : "PASS",
         sc->nexpect - failed - skipped, sc->nexpect);
  if (skipped)
    printf(", %u skipped", skipped);
  printf("\n");
}

/* ---- the command --------------------------------------------------------- */

typedef struct sim_opts {
  const char *scenario, *csv, *nodes, *duration, *seed, *topology, *mode, *rate;
  bool quiet, timing;
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
  return -1;
}

int p2pc_cli_sim(int argc, char **argv) {
  sim_opts o;
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
  if ((status = apply_flags(&o, sc)) >= 0)
    goto out;
  if (p2pc_scenario_finish(sc, err, sizeof err)) {
    fprintf(stderr, "%s%s\n", o.scenario ? "" : "p2pclock sim: ", err);
    status = EXIT_USAGE;
    goto out;
  }
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
          "bytes,events\n",
          c->csv);
  }
  c->sc = sc;
  c->bar = !o.quiet && isatty(STDERR_FILENO);
  c->wall0 = c->last_draw = wall_ns();
  p2pc_scn_judge_init(&c->judge, sc);

  p2pc_sim_run(c->sim, on_progress, on_row, c);

  if (c->bar)
    fputs("\r\033[K", stderr);
  p2pc_scn_judge_sim(&c->judge, sc, c->sim, sc->cfg.duration_ns / 1000000000ull,
                     true);
  p2pc_sim_result r;
  p2pc_sim_result_get(c->sim, &r);
  uint32_t failed = p2pc_scn_judge_end(&c->judge, sc, &r);
  print_summary(sc, o.scenario, c, &r, failed, o.timing);
  status = failed ? EXIT_FAILURE : EXIT_SUCCESS;
  if (!o.quiet && !o.timing)
    fprintf(stderr,
            "p2pclock sim: wall %.3f s, %.2f M events/s, peak RSS %llu KiB\n",
            (double)r.wall_ns / 1e9,
            r.wall_ns ? (double)r.events / ((double)r.wall_ns / 1e3) : 0.0,
            (unsigned long long)r.peak_rss_kb);
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
