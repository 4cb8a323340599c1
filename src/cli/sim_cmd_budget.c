/* SPDX-License-Identifier: MIT */
/*
 * The memory budget of `p2pclock sim`.
 *
 * A run holds what its nodes hold, and their causal state grows with the
 * nodes and the rate, and with time up to the causal lifetime (sooner
 * where deliveries are known). Rather than let a run take the machine's
 * memory from everything else on it, the command gives the simulator a
 * budget (--mem-limit, or half the RAM, less if the process's limits or
 * its cgroup allow less), refuses a run whose start alone exceeds it, and
 * otherwise lets the simulator stop the run cleanly where it reaches it:
 * the rows and the summary so far are kept, and the exit status (3) says
 * the run did not finish.
 *
 * Huge pages. A large run touches gigabytes of small blocks in no order
 * (an event for node 17 is followed by one for node 9,402), so with 4 KiB
 * pages nearly every access misses the TLB as well as the cache. Backing
 * the heap with 2 MiB pages changes no byte of the output and takes
 * 8-9 % off the CPU time of 1,000-2,000 nodes with traffic, more the
 * larger the run (bench/sim_scale).
 */
#include "sim_cmd_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sim_cmd.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define P2PC_SAN_MALLOC 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define P2PC_SAN_MALLOC 1
#endif
/* glibc's own malloc, the one the tunable speaks to */
#if defined(__GLIBC__) && !defined(P2PC_SAN_MALLOC)
#define P2PC_GLIBC_MALLOC 1
#endif

#ifdef P2PC_GLIBC_MALLOC
/* Whether the kernel gives transparent huge pages to a region that asks
 * ("[always]" or "[madvise]"; not "[never]" or no such file). */
static bool thp_available(void) {
  FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (!f)
    return false;
  char line[128] = "";
  bool ok = fgets(line, sizeof line, f) && !strstr(line, "[never]") &&
            (strstr(line, "[always]") || strstr(line, "[madvise]"));
  fclose(f);
  return ok;
}
#endif

bool p2pc_cli_sim_on_hugepages(void) {
#ifdef P2PC_GLIBC_MALLOC
  const char *t = getenv("GLIBC_TUNABLES");
  return t && strstr(t, "glibc.malloc.hugetlb=1") && thp_available();
#else
  return false;
#endif
}

void p2pc_cli_sim_hugepages(char **argv) {
#ifdef P2PC_GLIBC_MALLOC
  const char *want = getenv("P2PC_SIM_HUGEPAGES");
  if (getenv("GLIBC_TUNABLES") || (want && strcmp(want, "0") == 0) ||
      !thp_available())
    return;
  /* Once: the new process sees GLIBC_TUNABLES set and goes on. */
  if (setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 0) != 0)
    return;
  fflush(NULL);
  execv("/proc/self/exe", argv);
  unsetenv("GLIBC_TUNABLES"); /* the exec failed: on with small pages */
#else
  (void)argv;
#endif
}

/* "800 B", "12.3 KiB", "300 MiB", "3.91 GiB": three figures at most. */
void p2pc__simcmd_fmt_size(uint64_t b, char *out, size_t n) {
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
bool p2pc__simcmd_parse_size(const char *s, uint64_t *out) {
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
  p2pc__simcmd_fmt_size(limit, sz, sizeof sz);
  b->bytes = bytes;
  b->from = from;
  snprintf(b->why, sizeof b->why, "%s %s; --mem-limit SIZE sets it", what, sz);
}

/* The default: half the RAM, and less where the process may hold less:
 * 3/4 of an address-space or data limit (the rest is for what the
 * account does not see: code, stacks, malloc's own overhead), half the
 * cgroup's limit. A cgroup "limit" of about 2^63 is no limit. */
void p2pc__simcmd_machine_budget(budget *b) {
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
void p2pc__simcmd_say_stopped(const p2pc_sim_config *cf,
                              const p2pc_sim_result *r, const budget *b) {
  char held[32], cap[32], meta[80] = "";
  p2pc__simcmd_fmt_size(r->mem_now, held, sizeof held);
  p2pc__simcmd_fmt_size(b->bytes, cap, sizeof cap);
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
    p2pc__simcmd_fmt_size((uint64_t)r->meta_per_msg, m, sizeof m);
    snprintf(meta, sizeof meta, "; causal metadata averaged %s a message", m);
  }
  char fit[128];
  advice(cf, true, fit, sizeof fit);
  fprintf(stderr,
          "p2pclock sim: stopped at virtual t=%.1f s: memory %s reached the "
          "budget of %s (%s)%s: %s fit in less\n",
          (double)r->stop_ns / 1e9, held, cap, b->why, meta, fit);
}

/* The one line on stderr that says why a run is refused before it starts
 * (its nodes alone need more than the budget), and how to fit it in. */
void p2pc__simcmd_say_refused(const p2pc_sim_config *cf, uint64_t start_bytes,
                              const budget *b) {
  char need[32], per[32], cap[32], fit[128];
  uint32_t alive = cf->initially_alive && cf->initially_alive < cf->nodes
                       ? cf->initially_alive
                       : cf->nodes;
  p2pc__simcmd_fmt_size(start_bytes, need, sizeof need);
  p2pc__simcmd_fmt_size(start_bytes / alive, per, sizeof per);
  p2pc__simcmd_fmt_size(b->bytes, cap, sizeof cap);
  advice(cf, false, fit, sizeof fit);
  fprintf(stderr,
          "p2pclock sim: %u nodes need at least %s to start (%s a node), "
          "over the memory budget of %s (%s): %s fit in less\n",
          alive, need, per, cap, b->why, fit);
}
