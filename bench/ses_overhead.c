/* SPDX-License-Identifier: MIT */
/*
 * ses_overhead: causal metadata per message and causal state per node of
 * today's SES (the frozen copy in tests/legacy, lses_*) against Δ-SES
 * (src/core/causal.h), on one schedule, in one run.
 *
 * Traffic: N in-process nodes, all-to-all: each sends a Poisson stream of
 * `rate` messages per second, each to a random other node, for `duration`
 * virtual seconds; every message arrives after a delay drawn uniformly in
 * [dmin, dmax]; clocks are off true time by up to ±err (each node its
 * own offset, err passed as the error bound). Nothing is lost or
 * duplicated. For Δ-SES the harness also carries what the runtime
 * carries: every `report` period each node sends each sender it delivered
 * from a delivery report (p2pc_causal_report_for -> peer_report, after a
 * network delay), and every `report` period the global stable time G =
 * min over nodes of p2pc_causal_local_stable is computed and applied at
 * every node `lag` later (a lower bound of the true minimum then: LS never
 * decreases).
 *
 * Variants, all on the same schedule:
 *   SES                 today's core (lses_), A.11 pruning on (its default)
 *   SES no-prune        today's core, pruning off; its pairs also give the
 *                       textbook layout (ALGORITHMS.md A.9): 8*N + pairs *
 *                       (8 + 8*N) bytes
 *   Δ-SES Δ=inf no-prune  decides as SES does (prop_causal_legacy_equivalence);
 *                         max_msg_deps raised to 65536 (its entries never
 *                         leave: N(N-1) of them pass the default 2048)
 *   Δ-SES Δ=60s reports+G    the default lifetime, reports and G
 *   Δ-SES Δ=60s reports      reports only, no G
 *   Δ-SES Δ=60s expiry only  no reports, no G: entries leave only when
 *                            implied or expired (max_msg_deps raised too)
 *   Δ-SES Δ=5s reports+G     reports and G
 *   Δ-SES Δ=5s expiry only   no reports, no G (max_msg_deps raised)
 * Figures: "meta" is the SEND event's bytes of causal metadata (all but
 * the payload and its length); "entries" the dependency entries a Δ-SES
 * message carries (SES: the pairs of V at the send); "heap" the bytes a
 * node's core holds through its allocator (a counting allocator per node:
 * exact for both cores), at the end, and the largest seen at any 1 s
 * sample; "state" p2pc_causal_state_bytes (Δ-SES's own account). Every
 * message must be delivered exactly once, at its destination, in stream
 * order; any failure aborts. Deliveries are compared with the first
 * variant's, node by node.
 *
 *   ses_overhead [--nodes N[,N...]] [--rate R] [--duration S]
 *                [--delay MIN,MAX] [--err MS] [--report MS] [--lag MS]
 *
 * Times in ms unless said. P2PC_SEED=<u64> overrides the seed. This
 * program is outside the pure core: it reads /proc and the monotonic
 * clock.
 *
 * This file: the command (options, the header, the loop over node counts)
 * and the helpers every file uses. The workload is in
 * ses_overhead_sched.c, a run in ses_overhead_run.c driving the two cores
 * through ses_overhead_drive.c, the figures in ses_overhead_report.c;
 * ses_overhead.h is what they share.
 */
#include "ses_overhead.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef P2PC_BENCH_BUILD_TYPE
#define P2PC_BENCH_BUILD_TYPE "unknown"
#endif

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("ses_overhead: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    die("out of memory (%zu bytes)", n);
  return p;
}

void *xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz ? sz : 1);
  if (!p)
    die("out of memory (%zu x %zu bytes)", n, sz);
  return p;
}

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q)
    die("out of memory (%zu bytes)", n);
  return q;
}

double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- machine info -------------------------------------------------------- */

static void read_line(const char *path, char *out, size_t cap) {
  FILE *f = fopen(path, "r");
  out[0] = '\0';
  if (!f) {
    snprintf(out, cap, "(%s: %s)", path, strerror(errno));
    return;
  }
  if (fgets(out, (int)cap, f))
    out[strcspn(out, "\n")] = '\0';
  fclose(f);
}

static void cpu_model(char *out, size_t cap) {
  char line[512];
  FILE *f = fopen("/proc/cpuinfo", "r");
  snprintf(out, cap, "unknown");
  if (!f)
    return;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      const char *p = strchr(line, ':');
      if (p) {
        p++;
        while (*p == ' ' || *p == '\t')
          p++;
        snprintf(out, cap, "%s", p);
        out[strcspn(out, "\n")] = '\0';
      }
      break;
    }
  }
  fclose(f);
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: ses_overhead [--nodes N[,N...]] [--rate R] [--duration S]\n"
          "                    [--delay MIN,MAX] [--err MS] [--report MS]\n"
          "                    [--lag MS]\n"
          "  --nodes     node counts to run (default 64)\n"
          "  --rate      messages per second per node (default 1)\n"
          "  --duration  virtual seconds of traffic (default 60)\n"
          "  --delay     network delay range in ms (default 5,50)\n"
          "  --err       clock error bound in ms (default 1)\n"
          "  --report    delivery reports and G every MS (default 500)\n"
          "  --lag       G applied MS after it is computed (default 1000)\n"
          "  P2PC_SEED=<u64> overrides the seed\n");
}

static uint64_t parse_u64(const char *what, const char *s, uint64_t lo,
                          uint64_t hi) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
    die("bad %s '%s' (want %" PRIu64 "..%" PRIu64 ")", what, s, lo, hi);
  return v;
}

int main(int argc, char **argv) {
  uint32_t nodes[MAX_NODE_LIST];
  size_t nnodes = 0;
  params p = {.rate = 1.0,
              .duration = 60 * SEC,
              .dmin = 5 * MS,
              .dmax = 50 * MS,
              .err = 1 * MS,
              .report = 500 * MS,
              .lag = 1000 * MS,
              .seed = DEFAULT_SEED};
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      usage(stderr);
      die("%s: missing or unknown option", o);
    }
    const char *v = argv[++i];
    if (!strcmp(o, "--nodes")) {
      char tmp[256];
      snprintf(tmp, sizeof tmp, "%s", v);
      for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok;
           tok = strtok_r(NULL, ",", &save)) {
        if (nnodes == MAX_NODE_LIST)
          die("at most %d node counts", MAX_NODE_LIST);
        nodes[nnodes++] =
            (uint32_t)parse_u64("node count", tok, 2, MAX_NODES_ARG);
      }
    } else if (!strcmp(o, "--rate")) {
      char *end;
      p.rate = strtod(v, &end);
      if (*end || !(p.rate > 0 && p.rate <= 1000))
        die("bad rate '%s' (want (0, 1000])", v);
    } else if (!strcmp(o, "--duration")) {
      p.duration = parse_u64("duration", v, 1, 3600) * SEC;
    } else if (!strcmp(o, "--delay")) {
      char tmp[64];
      snprintf(tmp, sizeof tmp, "%s", v);
      char *comma = strchr(tmp, ',');
      if (!comma)
        die("bad delay range '%s' (want MIN,MAX)", v);
      *comma = '\0';
      p.dmin = parse_u64("delay", tmp, 0, 60000) * MS;
      p.dmax = parse_u64("delay", comma + 1, 0, 60000) * MS;
      if (p.dmax < p.dmin)
        die("bad delay range '%s'", v);
    } else if (!strcmp(o, "--err")) {
      p.err = parse_u64("error bound", v, 0, 200) * MS;
    } else if (!strcmp(o, "--report")) {
      p.report = parse_u64("report period", v, 1, 60000) * MS;
    } else if (!strcmp(o, "--lag")) {
      p.lag = parse_u64("G lag", v, 0, 60000) * MS;
    } else {
      usage(stderr);
      die("unknown option %s", o);
    }
  }
  if (!nnodes)
    nodes[nnodes++] = 64;
  const char *env = getenv("P2PC_SEED");
  if (env && *env)
    p.seed = parse_u64("P2PC_SEED", env, 0, UINT64_MAX);

  char cpu[256], load0[128], load1[128];
  cpu_model(cpu, sizeof cpu);
  read_line("/proc/loadavg", load0, sizeof load0);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

  printf("ses_overhead: causal metadata and state, today's SES (frozen copy, "
         "tests/legacy) against Δ-SES\n");
  printf("machine:  nproc %ld, %s\n", ncpu, cpu);
  printf("build:    %s, %s\n", P2PC_BENCH_BUILD_TYPE, __VERSION__);
  printf("load avg before: %s\n", load0);
  printf("seed:     %" PRIu64 " (0x%016" PRIx64 ")%s\n", p.seed, p.seed,
         env && *env ? " from P2PC_SEED" : " (default; P2PC_SEED overrides)");
  printf("traffic:  all-to-all, each node a Poisson stream of %.2f msg/s to "
         "random other nodes\n"
         "          for %.0f virtual s; delays uniform in [%.0f, %.0f] ms; "
         "clocks within ±%.1f ms\n",
         p.rate, (double)p.duration / 1e9, (double)p.dmin / 1e6,
         (double)p.dmax / 1e6, (double)p.err / 1e6);
  printf("Δ-SES:    delivery reports every %.0f ms (a network delay each); "
         "G = min LS every %.0f ms,\n"
         "          applied %.0f ms later\n",
         (double)p.report / 1e6, (double)p.report / 1e6, (double)p.lag / 1e6);
  printf("figures:  meta = causal metadata bytes of a message (all but the "
         "payload and its length);\n"
         "          entries = Δ-SES entries it carries (SES: pairs of V at "
         "the send); heap = bytes\n"
         "          a node's core holds (counting allocator; end of run, "
         "and the largest 1 s sample);\n"
         "          state = p2pc_causal_state_bytes at the end; p99 = "
         "nearest rank\n\n");
  fflush(stdout);

  double t_all = now_s();
  for (size_t k = 0; k < nnodes; k++) {
    p.n = nodes[k];
    sched s;
    sched_make(&s, &p);
    result res[NVARIANTS];
    static run runs[NVARIANTS];
    fprintf(stderr, "N=%u: %u messages:", p.n, s.m);
    for (size_t vi = 0; vi < NVARIANTS; vi++) {
      run_variant(&runs[vi], &s, &p, &variants[vi]);
      fprintf(stderr, " %.2fs", runs[vi].wall);
    }
    fprintf(stderr, "\n");
    for (size_t vi = 0; vi < NVARIANTS; vi++)
      collect(&res[vi], &runs[vi], &runs[0], vi == 1 ? &runs[1] : NULL);

    print_tables(&p, &s, res);
    for (size_t vi = 0; vi < NVARIANTS; vi++)
      run_free(&runs[vi]);
    sched_free(&s);
  }
  read_line("/proc/loadavg", load1, sizeof load1);
  printf("total wall time %.2f s (every %uth Δ-SES message was also decoded "
         "again)\n",
         now_s() - t_all, DECODE_EVERY);
  printf("load avg after:  %s\n", load1);
  return 0;
}
