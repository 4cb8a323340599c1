/* SPDX-License-Identifier: MIT */
/*
 * What `p2pclock sim` prints: the progress bar on stderr (on a terminal,
 * at most ten redraws a wall second), the per-second CSV rows, and the
 * summary, as a table with each expectation's verdict or as one JSON
 * object (--json). Everything on stdout and in the CSV comes from the
 * simulation alone, printed with fixed formats, so two runs with the same
 * seed give the same bytes; what the machine adds (wall time, RSS) is
 * printed only with --timing.
 */
#include "sim_cmd_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cJSON.h"

#define REDRAW_NS 100000000ull /* the progress bar: at most 10 a second */
#define BAR_WIDTH 24

uint64_t p2pc__simcmd_wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- callbacks ----------------------------------------------------------- */

void p2pc__simcmd_on_progress(void *ud, uint64_t now_ns, uint64_t end_ns) {
  run_ctx *c = ud;
  if (!c->bar)
    return;
  uint64_t w = p2pc__simcmd_wall_ns();
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
  p2pc__simcmd_fmt_size(r.mem_now, mem, sizeof mem);
  if (c->budget->bytes) {
    cap[0] = '/';
    p2pc__simcmd_fmt_size(c->budget->bytes, cap + 1, sizeof cap - 1);
  }
  fprintf(stderr,
          "\r\033[Ksim [%s] %3.0f%%  t %llu/%llu s  %.2fM events  "
          "mem %s%s  wall %.1f s",
          bar, f * 100, (unsigned long long)(now_ns / 1000000000ull),
          (unsigned long long)(end_ns / 1000000000ull), (double)r.events / 1e6,
          mem, cap, (double)(w - c->wall0) / 1e9);
  fflush(stderr);
}

void p2pc__simcmd_on_row(void *ud, const p2pc_sim_second *row) {
  run_ctx *c = ud;
  p2pc_scn_judge_row(&c->judge, c->sc, row);
  p2pc_scn_judge_sim(&c->judge, c->sc, c->sim, row->t_s, false);
  if (row->spread > c->worst_spread)
    c->worst_spread = row->spread;
  if (!c->csv)
    return;
  fprintf(c->csv,
          "%llu,%u,%u,%.0f,%.0f,%.0f,%.0f,%u,%llu,%llu,%.2f,%llu,%llu,%llu,"
          "%llu,%llu,%u,%.0f,%llu,%llu,%llu,%llu,%llu,%llu,%u,%u\n",
          (unsigned long long)row->t_s, row->alive, row->synced, row->err_p50,
          row->err_p99, row->err_max, row->spread, row->bound_violations,
          (unsigned long long)row->msgs_sent,
          (unsigned long long)row->msgs_delivered, row->meta_per_msg,
          (unsigned long long)row->buffered, (unsigned long long)row->bytes,
          (unsigned long long)row->events, (unsigned long long)row->meta_p99,
          (unsigned long long)row->meta_max, row->deps_p99, row->state_mean,
          (unsigned long long)row->state_max, (unsigned long long)row->expired,
          (unsigned long long)row->lat_p99,
          (unsigned long long)row->bcast_lat_p99,
          (unsigned long long)row->hops_p99,
          (unsigned long long)row->unaddressable, row->tier_p99, row->tier_max);
  /* One row per virtual second, so a flush each is cheap, and a run that
   * is killed (or a plot that tails the file) has every row so far, whole:
   * with stdio's buffering the last few KiB, cut mid-row, would be lost. */
  fflush(c->csv);
}

/* The CSV's first line: the columns of p2pc__simcmd_on_row's rows. */
void p2pc__simcmd_csv_header(FILE *f) {
  fputs("t_s,alive,synced,err_p50_ns,err_p99_ns,err_max_ns,spread_ns,"
        "bound_violations,msgs_sent,msgs_delivered,meta_per_msg,buffered,"
        "bytes,events,meta_p99,meta_max,deps_p99,state_mean,state_max,"
        "expired,lat_p99_ns,bcast_lat_p99_ns,hops_p99,unaddressable,tier_p99,"
        "tier_max\n",
        f);
}

/* ---- the summary --------------------------------------------------------- */

/* "p50 X, p99 Y, max Z (N)" of a latency */
static void print_lat(const char *what, uint64_t n, uint64_t p50, uint64_t p99,
                      uint64_t max) {
  char a[32], b[32], m[32];
  p2pc_scn_format_ns((double)p50, a, sizeof a);
  p2pc_scn_format_ns((double)p99, b, sizeof b);
  p2pc_scn_format_ns((double)max, m, sizeof m);
  printf("  %-20s p50 %s, p99 %s, max %s (%llu deliveries)\n", what, a, b, m,
         (unsigned long long)n);
}

/* The overlay's figures: traffic to any node, latency, hops, the
 * broadcast oracle, membership accuracy. */
static void print_overlay(const p2pc_sim_config *cf, const p2pc_sim_result *r) {
  if (cf->to_any || r->unaddressable || r->resolve_waits)
    printf("  %-20s %llu unaddressable, %llu waited for resolve, %llu "
           "dropped waiting\n",
           "sends to any node", (unsigned long long)r->unaddressable,
           (unsigned long long)r->resolve_waits,
           (unsigned long long)r->pending_dropped);
  if (r->lat_n)
    print_lat("message latency", r->lat_n, r->lat_p50, r->lat_p99, r->lat_max);
  if (r->blat_n)
    print_lat("broadcast latency", r->blat_n, r->blat_p50, r->blat_p99,
              r->blat_max);
  if (r->hops_n)
    printf("  %-20s p50 %llu, p99 %llu, max %llu\n", "broadcast hops",
           (unsigned long long)r->hops_p50, (unsigned long long)r->hops_p99,
           (unsigned long long)r->hops_max);
  if (r->bcasts) {
    printf("  %-20s %llu sent, %llu followed, %llu judged, %llu flagged "
           "deliveries; %llu missing, %llu duplicate\n",
           "broadcasts", (unsigned long long)r->bcasts,
           (unsigned long long)r->bcast_tracked,
           (unsigned long long)r->bcast_judged,
           (unsigned long long)r->bcast_flagged,
           (unsigned long long)r->bcast_missing,
           (unsigned long long)r->bcast_dups);
    if (r->bcast_first[0])
      printf("  %-20s %.*s\n", "first broadcast miss",
             (int)strnlen(r->bcast_first, sizeof r->bcast_first),
             r->bcast_first);
  }
  if (r->member_events || r->detect_episodes || r->flaps) {
    char a[32];
    p2pc_scn_format_ns((double)r->detect_max_ns, a, sizeof a);
    printf("  %-20s %llu member events (%llu down), %llu flaps, %llu false "
           "suspicions; %llu failures, %llu judged, slowest %s, %llu "
           "missed\n",
           "failure detection", (unsigned long long)r->member_events,
           (unsigned long long)r->member_downs, (unsigned long long)r->flaps,
           (unsigned long long)r->false_suspicions,
           (unsigned long long)r->detect_episodes,
           (unsigned long long)r->detect_judged, a,
           (unsigned long long)r->detect_missed);
    if (r->first_flap[0])
      printf("  %-20s %.*s\n", "first flap",
             (int)strnlen(r->first_flap, sizeof r->first_flap), r->first_flap);
    if (r->first_false[0])
      printf("  %-20s %.*s\n", "first false",
             (int)strnlen(r->first_false, sizeof r->first_false),
             r->first_false);
    if (r->first_missed[0])
      printf("  %-20s %.*s\n", "first missed",
             (int)strnlen(r->first_missed, sizeof r->first_missed),
             r->first_missed);
  }
}

void p2pc__simcmd_print_summary(const p2pc_scenario *sc, const char *path,
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
  p2pc__simcmd_fmt_size((uint64_t)(r->state_mean + 0.5), a, sizeof a);
  p2pc__simcmd_fmt_size(r->state_max, b, sizeof b);
  printf("  %-20s %s mean, %s max a node at the end;", "causal state", a, b);
  p2pc__simcmd_fmt_size((uint64_t)(r->state_peak_mean + 0.5), a, sizeof a);
  p2pc__simcmd_fmt_size(r->state_peak, b, sizeof b);
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
  if (!sc->cfg.collaborative)
    printf("  %-20s p99 %u, max %u (final; tiers from the reference)\n",
           "clock depth", r->final_tier_p99, r->final_tier_max);
  printf("  %-20s %llu\n", "bound violations",
         (unsigned long long)r->bound_violations);
  printf("  %-20s %s\n", "membership", r->membership_ok ? "ok" : "NOT ok");
  print_overlay(cf, r);
  printf("  %-20s %u/%u\n", "alive/synced", r->alive, r->synced);
  if (r->lookups)
    printf("  %-20s %llu/%llu found, rounds mean %.2f max %u, %.1f requests "
           "a lookup\n",
           "lookups", (unsigned long long)r->lookups_found,
           (unsigned long long)r->lookups, r->lookup_rounds_mean,
           r->lookup_rounds_max, r->lookup_requests_mean);
  printf("  %-20s %.1f records mean, %u max, %.1f KiB mean\n", "lookup tables",
         r->dht_entries_mean, r->dht_entries_max, r->dht_bytes_mean / 1024);
  if (r->stop != P2PC_SIM_STOP_END) {
    p2pc__simcmd_fmt_size(r->mem_now, a, sizeof a);
    if (c->budget->bytes)
      p2pc__simcmd_fmt_size(c->budget->bytes, b, sizeof b);
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

/* The "overlay" object of --json. */
static bool add_overlay(cJSON *o, const p2pc_sim_result *r) {
  cJSON *v = cJSON_AddObjectToObject(o, "overlay"), *l = NULL, *bl = NULL,
        *h = NULL, *b = NULL, *f = NULL;
  return v && add_num(v, "unaddressable", (double)r->unaddressable) &&
         add_num(v, "resolve_waits", (double)r->resolve_waits) &&
         add_num(v, "pending_dropped", (double)r->pending_dropped) &&
         (l = cJSON_AddObjectToObject(v, "latency_ns")) &&
         add_num(l, "n", (double)r->lat_n) &&
         add_num(l, "p50", (double)r->lat_p50) &&
         add_num(l, "p99", (double)r->lat_p99) &&
         add_num(l, "max", (double)r->lat_max) &&
         (bl = cJSON_AddObjectToObject(v, "bcast_latency_ns")) &&
         add_num(bl, "n", (double)r->blat_n) &&
         add_num(bl, "p50", (double)r->blat_p50) &&
         add_num(bl, "p99", (double)r->blat_p99) &&
         add_num(bl, "max", (double)r->blat_max) &&
         (h = cJSON_AddObjectToObject(v, "hops")) &&
         add_num(h, "n", (double)r->hops_n) &&
         add_num(h, "p50", (double)r->hops_p50) &&
         add_num(h, "p99", (double)r->hops_p99) &&
         add_num(h, "max", (double)r->hops_max) &&
         (b = cJSON_AddObjectToObject(v, "broadcasts")) &&
         add_num(b, "sent", (double)r->bcasts) &&
         add_num(b, "followed", (double)r->bcast_tracked) &&
         add_num(b, "judged", (double)r->bcast_judged) &&
         add_num(b, "flagged_deliveries", (double)r->bcast_flagged) &&
         add_num(b, "missing", (double)r->bcast_missing) &&
         add_num(b, "duplicates", (double)r->bcast_dups) &&
         add_str(b, "first", r->bcast_first[0] ? r->bcast_first : NULL) &&
         (f = cJSON_AddObjectToObject(v, "failure_detection")) &&
         add_num(f, "member_events", (double)r->member_events) &&
         add_num(f, "member_downs", (double)r->member_downs) &&
         add_num(f, "flaps", (double)r->flaps) &&
         add_str(f, "first_flap", r->first_flap[0] ? r->first_flap : NULL) &&
         add_num(f, "false_suspicions", (double)r->false_suspicions) &&
         add_str(f, "first_false", r->first_false[0] ? r->first_false : NULL) &&
         add_num(f, "failures", (double)r->detect_episodes) &&
         add_num(f, "judged", (double)r->detect_judged) &&
         add_num(f, "missed", (double)r->detect_missed) &&
         add_num(f, "slowest_ns", (double)r->detect_max_ns) &&
         add_str(f, "first_missed",
                 r->first_missed[0] ? r->first_missed : NULL);
}

/* The summary of p2pc__simcmd_print_summary as one object on one line (--json).
 * Returns false if out of memory. */
bool p2pc__simcmd_print_json(const p2pc_scenario *sc, const char *path,
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
        *lk = NULL, *ex = NULL;
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
      (m = cJSON_AddObjectToObject(o, "events_by_kind")) &&
      add_num(m, "timer", (double)r->ev_timer) &&
      add_num(m, "tcp", (double)r->ev_tcp) &&
      add_num(m, "datagram", (double)r->ev_dgram) &&
      add_num(m, "other",
              (double)(r->events - r->ev_timer - r->ev_tcp - r->ev_dgram)) &&
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
      add_num(o, "tier_p99", r->final_tier_p99) &&
      add_num(o, "tier_max", r->final_tier_max) &&
      add_num(o, "bound_violations", (double)r->bound_violations) &&
      cJSON_AddBoolToObject(o, "membership_ok", r->membership_ok) &&
      add_num(o, "alive", r->alive) && add_num(o, "synced", r->synced) &&
      (lk = cJSON_AddObjectToObject(o, "lookups")) &&
      add_num(lk, "issued", (double)r->lookups) &&
      add_num(lk, "found", (double)r->lookups_found) &&
      add_num(lk, "failed", (double)r->lookups_failed) &&
      add_num(lk, "rounds_mean", r->lookup_rounds_mean) &&
      add_num(lk, "rounds_max", r->lookup_rounds_max) &&
      add_num(lk, "requests_mean", r->lookup_requests_mean) &&
      add_num(lk, "table_records_mean", r->dht_entries_mean) &&
      add_num(lk, "table_records_max", r->dht_entries_max) &&
      add_num(lk, "table_bytes_mean", r->dht_bytes_mean) && add_overlay(o, r) &&
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
