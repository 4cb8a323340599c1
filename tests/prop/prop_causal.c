/* SPDX-License-Identifier: MIT */
/*
 * Randomized property test of the Δ-SES causal core (causal.h).
 * Each schedule runs 2..16 p2pc_causal cores in one process on a virtual
 * clock and drives them from a seeded PRNG: random unicasts, broadcasts
 * and self-sends, a random delay per copy (so messages overtake each
 * other), injected duplicates, tiny buffers (receive answers
 * P2PC_ERR_FULL and the copy is offered again), small metadata caps (send
 * answers P2PC_ERR_FULL: the send is retried later or dropped), a random
 * causal lifetime Δ (50 ms .. infinite), a random clock offset per core
 * within its error bound, partitions (copies between two groups held for
 * a while), crashes (a core stops for ever, its copies in flight may or
 * may not arrive; the others retire it, and it may come back as a new
 * incarnation), delivery reports carried back to senders and a global
 * stable time G computed with a lag.
 *
 * Properties (checked after every step and at the end of each schedule):
 *   a  causal order for every delivered pair and exactly-once delivery:
 *      the independent checker (checker.h) rebuilds happens-before from
 *      the SEND/DELIVER events alone (online when nothing can be lost;
 *      else after the run, each message never delivered reported expired
 *      right after its send, so that order is checked among the
 *      delivered ones);
 *   b  every message between two cores that never crash is delivered
 *      exactly once or reported EXPIRE (by its receiver or its sender),
 *      never both delivered and expired at its receiver; a receiver
 *      expires only what is older than Δ on its HLC;
 *   c  --bounded: no receiver expires anything while every delay stays
 *      below Δ - 2 x the largest error bound (half the schedules draw
 *      delays up to that bound: their senders may give up, acknowledged
 *      too late), and no EXPIRE anywhere while every delay and every
 *      delivery report's round trip stay below it;
 *   d  nothing stays buffered once stamp + Δ <= the core's HLC;
 *   e  every SEND carries at most max_msg_deps entries, every core holds at
 *      most max_deps;
 *   f  --ahead: a core whose clock runs 10 s ahead is refused
 *      (P2PC_ERR_AHEAD) by every honest core, never pulls an honest HLC
 *      ahead, and no honest core expires honest traffic;
 *   g  --compare-prune: the same schedule with pruning (reports, G) and
 *      with no_prune gives the same delivery sequence at every core. G is
 *      min over the members of p2pc_causal_local_stable, applied after a
 *      lag (LS never decreases, so it is a lower bound then; checked); a
 *      crashed core leaves the minimum once every live core has retired
 *      it or Δ + 2 err after its crash, and G values in flight are
 *      lowered to a new incarnation's LS;
 *   h  --compare-legacy: with Δ infinite and no_prune, the same delivery
 *      sequences as the pre-Δ-SES core (tests/legacy, lses_*).
 *
 * This file holds the options and main; the harness is prop_harness.h
 * with prop_core.c (the cores and their events), prop_sched.c (what a
 * schedule does), prop_run.c (one schedule, start to end) and
 * prop_scenarios.c (the checker's self-test, directed scenarios).
 *
 *   prop_causal --scenarios
 *   prop_causal [--schedules K] [--seed BASE] [--trace]
 *               [--bounded | --ahead | --compare-prune | --compare-legacy
 *                [--legacy-retire]]
 *               [--faults drop-dest-pair|no-dedup|no-transitive|
 *                         expire-early --expect-violation]
 *
 * --scenarios runs directed scenarios of bugs the random schedules found
 * (regression tests). P2PC_SEED=<u64> replays exactly one schedule (its seed is
 * printed on failure). --expect-violation runs cores with a deliberate protocol
 * bug and succeeds only if it is caught: an ORDER violation (drop-dest-pair,
 * no-transitive), a DUPLICATE (no-dedup), or an EXPIRE under property c
 * (expire-early, which runs --bounded schedules).
 */
#include "prop_harness.h"

/* ---- main ------------------------------------------------------------------
 */

static int usage(void) {
  fprintf(stderr, "usage: prop_causal --scenarios\n"
                  "       prop_causal [--schedules K] [--seed BASE] [--trace]\n"
                  "         [--bounded | --ahead | --compare-prune |\n"
                  "          --compare-legacy [--legacy-retire]]\n"
                  "         [--faults drop-dest-pair|no-dedup|no-transitive|"
                  "expire-early\n"
                  "          --expect-violation]\n"
                  "  env P2PC_SEED=<u64> replays one schedule\n");
  return 2;
}

static bool parse_u64(const char *s, uint64_t *v) {
  if (!s || !*s || *s == '-')
    return false;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 0);
  if (errno || *end)
    return false;
  *v = x;
  return true;
}

static uint64_t schedule_seed(uint64_t base, uint64_t i) {
  uint64_t x = base ^ (i * 0xD1B54A32D192ED03ull);
  return p2pc_splitmix64(&x);
}

static const char *mode_flag(mode m) {
  switch (m) {
  case MODE_BOUNDED:
    return " --bounded";
  case MODE_AHEAD:
    return " --ahead";
  case MODE_PRUNE:
    return " --compare-prune";
  case MODE_LEGACY:
    return " --compare-legacy";
  case MODE_GENERAL:
    break;
  }
  return "";
}

static void describe(const run *r, uint64_t seed, const options *o) {
  const params *p = &r->p;
  char life[32] = "inf";
  if (p->life != INF)
    snprintf(life, sizeof life, "%.3f ms", msf(p->life));
  printf("  schedule: cores=%" PRIu32 " (+%" PRIu32
         " incarnations) ops=%" PRIu32
         " Δ=%s maxerr=%.3f ms maxdelay=%.3f ms cap=%.3f ms "
         "max_buffered=%" PRIu32 " caps=%" PRIu32 "/%" PRIu32 "/%" PRIu32
         " reports=%d G=%d partition=%d crashes=%" PRIu32 " retire=%d "
         "liar=%" PRId32 " no_prune=%d legacy=%d; stopped at step %" PRIu64
         ", t=%.3f ms, %zu messages sent\n",
         p->n, r->nslots - p->n, p->ops, life, msf(p->maxerr), msf(p->maxdelay),
         msf(p->cap), p->max_buffered, p->max_deps, p->max_msg_deps,
         p->max_pending, p->reports, p->gstable, p->partition, p->ncrash,
         p->retire, p->liar, r->no_prune, r->legacy, r->steps, msf(r->now),
         r->nmsgs);
  printf("  replay: P2PC_SEED=%" PRIu64 " prop_causal%s%s%s%s%s --trace\n",
         seed, mode_flag(o->mode), o->legacy_retire ? " --legacy-retire" : "",
         o->fault_name ? " --faults " : "", o->fault_name ? o->fault_name : "",
         o->expect ? " --expect-violation" : "");
}

static const char *verdict(const run *r, outcome oc) {
  if (oc == OUT_VIOLATION)
    return ccheck_first(r->ck);
  return r->fail;
}

typedef struct totals {
  uint64_t msgs, dups, fulls, send_fulls, refused, exp_rx, exp_tx, dropped,
      lost, reports, g, meta, sends, deps_max, max_steps, incarnations,
      forgotten;
} totals;

static void add_totals(totals *t, const run *r) {
  t->msgs += r->nmsgs;
  t->dups += r->dups_injected;
  t->fulls += r->full_total;
  t->send_fulls += r->send_full;
  t->refused += r->refused;
  t->exp_rx += r->expired_rx;
  t->exp_tx += r->expired_tx;
  t->dropped += r->dropped;
  t->forgotten += r->forgotten;
  t->lost += r->lost;
  t->reports += r->reports_sent;
  t->g += r->g_applied;
  t->meta += r->meta_total;
  t->sends += r->sends_total;
  t->incarnations += r->nslots - r->p.n;
  if (r->deps_max > t->deps_max)
    t->deps_max = r->deps_max;
  if (r->steps > t->max_steps)
    t->max_steps = r->steps;
}

int main(int argc, char **argv) {
  options o = {.schedules = 2000, .mode = MODE_GENERAL};
  bool have_base = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--schedules") == 0 && i + 1 < argc) {
      if (!parse_u64(argv[++i], &o.schedules) || o.schedules == 0)
        return usage();
    } else if (strcmp(a, "--seed") == 0 && i + 1 < argc) {
      if (!parse_u64(argv[++i], &o.base))
        return usage();
      have_base = true;
    } else if (strcmp(a, "--faults") == 0 && i + 1 < argc) {
      o.fault_name = argv[++i];
      if (strcmp(o.fault_name, "drop-dest-pair") == 0)
        o.faults = P2PC_CAUSAL_FAULT_DROP_DEST_PAIR;
      else if (strcmp(o.fault_name, "no-dedup") == 0)
        o.faults = P2PC_CAUSAL_FAULT_NO_DEDUP;
      else if (strcmp(o.fault_name, "no-transitive") == 0)
        o.faults = P2PC_CAUSAL_FAULT_NO_TRANSITIVE;
      else if (strcmp(o.fault_name, "expire-early") == 0)
        o.faults = P2PC_CAUSAL_FAULT_EXPIRE_EARLY;
      else
        return usage();
    } else if (strcmp(a, "--expect-violation") == 0) {
      o.expect = true;
    } else if (strcmp(a, "--bounded") == 0) {
      o.mode = MODE_BOUNDED;
    } else if (strcmp(a, "--ahead") == 0) {
      o.mode = MODE_AHEAD;
    } else if (strcmp(a, "--compare-prune") == 0) {
      o.mode = MODE_PRUNE;
    } else if (strcmp(a, "--compare-legacy") == 0) {
      o.mode = MODE_LEGACY;
    } else if (strcmp(a, "--legacy-retire") == 0) {
      o.legacy_retire = true;
    } else if (strcmp(a, "--trace") == 0) {
      o.trace = true;
    } else if (strcmp(a, "--scenarios") == 0) {
      return run_scenarios();
    } else {
      return usage();
    }
  }
  if (o.faults == P2PC_CAUSAL_FAULT_EXPIRE_EARLY)
    o.mode = MODE_BOUNDED; /* caught by property c */
  if (o.expect != (o.faults != 0) ||
      (o.faults && o.mode != MODE_GENERAL && o.mode != MODE_BOUNDED) ||
      (o.legacy_retire && o.mode != MODE_LEGACY)) {
    fprintf(stderr, "prop_causal: --faults needs --expect-violation (and "
                    "vice versa) and runs without --ahead/--compare-*; "
                    "--legacy-retire goes with --compare-legacy\n");
    return 2;
  }
  const char *env = getenv("P2PC_SEED");
  if (env && *env) {
    if (!parse_u64(env, &o.replay)) {
      fprintf(stderr, "prop_causal: bad P2PC_SEED \"%s\"\n", env);
      return 2;
    }
    o.have_replay = true;
  }
  if (!have_base) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    x ^= (uint64_t)getpid() << 32;
    o.base = p2pc_splitmix64(&x);
  }

  if (checker_selftest())
    return 1;

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint64_t count = o.have_replay ? 1 : o.schedules;
  if (o.have_replay)
    printf("prop_causal: replaying schedule seed %" PRIu64 "%s%s%s\n", o.replay,
           mode_flag(o.mode), o.fault_name ? " with fault " : "",
           o.fault_name ? o.fault_name : "");
  else
    printf("prop_causal: base seed %" PRIu64 " (rerun with --seed %" PRIu64
           "), %" PRIu64 " schedules%s%s%s\n",
           o.base, o.base, count, mode_flag(o.mode),
           o.fault_name ? ", fault " : "", o.fault_name ? o.fault_name : "");
  fflush(stdout);

  totals ta, tb;
  memset(&ta, 0, sizeof ta);
  memset(&tb, 0, sizeof tb);
  uint64_t other = 0, lossless = 0, done = 0;
  int status = o.expect ? 1 : 0;
  static run ra, rb;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t seed = o.have_replay ? o.replay : schedule_seed(o.base, i);
    /* General schedules run one in four with no_prune. */
    bool np = o.mode == MODE_LEGACY ||
              (o.mode == MODE_GENERAL && (hmix(seed, 1, 2) & 3) == 0);
    outcome oa = run_schedule(&ra, &o, seed, np, false);
    done++;
    add_totals(&ta, &ra);
    lossless += ra.lossless;
    if (o.expect) {
      bool caught =
          o.faults == P2PC_CAUSAL_FAULT_EXPIRE_EARLY
              ? oa == OUT_FAIL && ra.fail_prop == 'c'
              : ccheck_count(ra.ck, o.faults == P2PC_CAUSAL_FAULT_NO_DEDUP
                                        ? CCHECK_DUPLICATE
                                        : CCHECK_ORDER) > 0;
      if (caught) {
        printf("prop_causal: fault %s caught in schedule %" PRIu64
               " (seed %" PRIu64 "): %s\n",
               o.fault_name, i, seed, verdict(&ra, oa));
        describe(&ra, seed, &o);
        status = 0;
        run_free(&ra);
        break;
      }
      if (oa != OUT_OK)
        other++;
      run_free(&ra);
      continue;
    }
    if (oa != OUT_OK) {
      printf("prop_causal: FAIL in schedule %" PRIu64 " (seed %" PRIu64
             "%s): %s\n",
             i, seed,
             o.mode == MODE_PRUNE    ? ", with pruning"
             : o.mode == MODE_LEGACY ? ", Δ-SES"
                                     : "",
             verdict(&ra, oa));
      if (oa == OUT_VIOLATION)
        for (int k = 0; k < CCHECK_NKINDS; k++)
          if (ccheck_count(ra.ck, (ccheck_kind)k))
            printf("  %s: %" PRIu64 "\n", ccheck_kind_name((ccheck_kind)k),
                   ccheck_count(ra.ck, (ccheck_kind)k));
      describe(&ra, seed, &o);
      status = 1;
      run_free(&ra);
      break;
    }
    char why[700];
    if (ra.lossless && (i % 8 == 0 || o.have_replay) &&
        !recheck_offline(&ra, why, sizeof why)) {
      printf("prop_causal: FAIL in schedule %" PRIu64 " (seed %" PRIu64
             "): %s\n",
             i, seed, why);
      describe(&ra, seed, &o);
      status = 1;
      run_free(&ra);
      break;
    }
    if (o.mode == MODE_PRUNE || o.mode == MODE_LEGACY) {
      bool leg = o.mode == MODE_LEGACY;
      outcome ob = run_schedule(&rb, &o, seed, true, leg);
      add_totals(&tb, &rb);
      if (ob != OUT_OK) {
        printf("prop_causal: FAIL in schedule %" PRIu64 " (seed %" PRIu64
               ", %s): %s\n",
               i, seed, leg ? "legacy SES" : "no_prune", verdict(&rb, ob));
        describe(&rb, seed, &o);
        status = 1;
      } else if (!same_deliveries(&ra, &rb, leg ? "with Δ-SES" : "with pruning",
                                  leg ? "with legacy SES" : "with no_prune",
                                  why, sizeof why)) {
        printf("prop_causal: FAIL in schedule %" PRIu64 " (seed %" PRIu64
               "): [%c] %s\n",
               i, seed, leg ? 'h' : 'g', why);
        describe(&ra, seed, &o);
        status = 1;
      }
      run_free(&rb);
    }
    run_free(&ra);
    if (status)
      break;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) +
                (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  printf("prop_causal: %" PRIu64 " schedules (%" PRIu64 " lossless), %" PRIu64
         " messages, %" PRIu64 " duplicates injected, %" PRIu64
         " FULL receives, %" PRIu64 " FULL sends, %" PRIu64 " refused ahead, "
         "%" PRIu64 " incarnations, max %" PRIu64 " steps, %.2f s\n",
         done, lossless, ta.msgs, ta.dups, ta.fulls, ta.send_fulls, ta.refused,
         ta.incarnations, ta.max_steps, secs);
  printf("prop_causal: expired %" PRIu64 " at receivers, %" PRIu64
         " at senders; %" PRIu64 " dropped (retired), %" PRIu64
         " copies lost; %" PRIu64 " reports, %" PRIu64 " G applied; %" PRIu64
         " ids forgotten\n",
         ta.exp_rx, ta.exp_tx, ta.dropped, ta.lost, ta.reports, ta.g,
         ta.forgotten);
  if (ta.sends)
    printf("prop_causal: causal metadata %.1f bytes/message, at most %" PRIu64
           " entries%s",
           (double)ta.meta / (double)ta.sends, ta.deps_max,
           o.mode == MODE_PRUNE ? " with pruning" : "");
  if (o.mode == MODE_PRUNE && tb.sends)
    printf("; %.1f bytes, %" PRIu64 " entries with no_prune",
           (double)tb.meta / (double)tb.sends, tb.deps_max);
  if (o.mode == MODE_LEGACY && tb.sends)
    printf("; legacy SES %.1f bytes/message",
           (double)tb.meta / (double)tb.sends);
  if (ta.sends)
    printf("\n");
  if (o.expect && status == 1)
    printf("prop_causal: fault %s NOT caught in %" PRIu64 " schedules (%" PRIu64
           " failed otherwise)\n",
           o.fault_name, done, other);
  /* Half the schedules forget ids at every tick: over many, some must
   * have forgotten something, or forgetting went untested. */
  if (status == 0 && !o.expect && o.mode != MODE_LEGACY && done >= 200 &&
      ta.forgotten == 0) {
    printf("prop_causal: FAIL: no id was forgotten in %" PRIu64 " schedules\n",
           done);
    status = 1;
  }
  return status;
}
