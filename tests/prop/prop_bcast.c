/* SPDX-License-Identifier: MIT */
/*
 * Randomized property test of causal broadcasts (causal.h, destination
 * P2PC_CAUSAL_ALL; docs/PROTOCOL.md, "Broadcast to the whole network").
 *
 * Each schedule runs 2..10 p2pc_causal cores (no node layer) in one
 * process on a virtual clock, driven by a seeded PRNG: random unicasts and
 * broadcasts. A broadcast's encoding is handed to every other node that
 * exists, each copy with its own random delay, some copies duplicated and
 * some "relayed" (taken with expected_sender NULL over 2..4 links, later),
 * sometimes back to the sender itself: arrival order and copies are
 * arbitrary. Every core has a clock offset within its random error bound;
 * Δ is random (100 ms .. infinite); some nodes are born late (created
 * mid-run, and then handed a copy of every broadcast sent before, as a
 * tree's repair would), some crash (stop for ever; nothing more reaches
 * them). Delivery reports travel back to senders and senders' LS values to
 * random nodes, so that entries are pruned (unless the run is no_prune).
 *
 * Properties, checked by the independent checker (checker.h, fed after the
 * run with every node's SEND and DELIVER records in the order they
 * happened) and by the harness:
 *   a  causal order for every pair delivered at every node, broadcasts
 *      included; no message delivered twice at a node (checker);
 *   b  every message is delivered at every live node it is addressed to
 *      (a broadcast: every node born at or before its stamp), unless it
 *      expired there: from the moment it is older than Δ on that node's
 *      HLC it is excused there (LIVENESS) and no longer a predecessor
 *      (ORDER); so with Δ infinite, or in --bounded runs, nothing is
 *      excused but crashes (checker's LIVENESS). Every EXPIRE a receiver
 *      or a sender reports is older than Δ on its HLC (harness); a
 *      receiver's report is fed to the checker where it happened;
 *   c  no broadcast stamped before a node's birth is delivered there
 *      (checker: EXPIRED_DELIVERED; the DROP "sent before this node's
 *      birth" only for those);
 *   d  --bounded: every copy arrives within Δ - 4 x the largest error
 *      bound (or Δ is infinite): no receiver reports anything expired;
 *   e  nothing stays buffered at the end (all copies arrived; past Δ);
 *   f  --compare-prune: Δ infinite, the same schedule with pruning and with
 *      no_prune gives the same delivery sequence at every node.
 *
 *   prop_bcast [--schedules K] [--seed BASE] [--bounded | --compare-prune]
 *              [--faults bcast-met|no-birth|no-dedup --expect-violation]
 *
 * P2PC_SEED=<u64> replays one schedule (printed on failure);
 * P2PC_PROP_SCHEDULES=<K> overrides the number of schedules (longer runs).
 * --expect-violation runs cores with a deliberate bug (causal_faults.h)
 * and succeeds only if some schedule is caught: ORDER (bcast-met: entries
 * about "*" always met), EXPIRED_DELIVERED (no-birth: no birth rule on
 * arrival), DUPLICATE (no-dedup).
 */
#include "prop_bcast.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

/* ---- the verdict ------------------------------------------------------- */

static bool delivered_at(const run *r, uint32_t k, uint32_t mid) {
  const bnode *s = &r->s[k];
  for (size_t j = 0; j < s->ndeliv; j++)
    if (s->deliv[j] == mid)
      return true;
  return false;
}

/* A message node k owes: addressed to it, never delivered there. */
static bool owed(const run *r, uint32_t k, uint32_t mid) {
  const msg *m = &r->msgs[mid];
  if (m->dst == NOBODY ? k == m->src : k != m->dst)
    return false;
  return !delivered_at(r, k, mid);
}

/* Excuses, at node k whose HLC is now h, every message it owes that has
 * expired there (stamp + Δ <= h): from now on nothing delivered there
 * waits for it. */
static void excuse_expired(run *r, uint32_t k, uint64_t h, uint32_t **pend,
                           size_t *npend) {
  if (r->p.life == INF || h < r->p.life)
    return;
  for (size_t i = 0; i < npend[k];) {
    const msg *m = &r->msgs[pend[k][i]];
    if (m->stamp > h - r->p.life) {
      i++;
      continue;
    }
    ccheck_expire(r->ck, k, m->src, m->n);
    pend[k][i] = pend[k][--npend[k]];
  }
}

/*
 * Feeds the checker every record in order, and the excuses where they
 * arise:
 *   - an EXPIRE a receiver reported, where it did (a delivery there too,
 *     before or after, is EXPIRED_DELIVERED);
 *   - a broadcast stamped before a node's birth, right after its send
 *     (likewise);
 *   - a message a node never delivered, from the first record of that
 *     node at which it is older than Δ on its HLC (or at its end): the
 *     core skips a message that expired when it delivers a later one of
 *     the stream, and a late copy is reported EXPIRE only while the
 *     written-off range is remembered (a bounded list), else DUP;
 *   - a node that crashed: its broadcasts by ccheck_exempt, its unicasts
 *     at the very end (LIVENESS only: order is checked up to the crash).
 * Whatever a live node owes and is not excused is LIVENESS.
 */
void judge(run *r) {
  uint32_t *pend[MAXN] = {0};
  size_t npend[MAXN] = {0}, cappend[MAXN] = {0};
  r->ck = ccheck_new(r->p.n, r->names, 0);
  for (size_t i = 0; i < r->nlog; i++) {
    const logrec *l = &r->log[i];
    const msg *m = &r->msgs[l->mid];
    uint8_t pl[MAX_PAYLOAD];
    size_t len = make_payload(l->mid, pl);
    excuse_expired(r, l->node, l->hlc, pend, npend);
    if (l->kind == L_DELIVER) {
      ccheck_deliver(r->ck, l->node, m->src, m->n, pl, len);
      continue;
    }
    if (l->kind == L_EXPIRE) {
      ccheck_expire(r->ck, l->node, m->src, m->n);
      continue;
    }
    ccheck_send(r->ck, l->node, m->src, m->n,
                m->dst == NOBODY ? CCHECK_ALL : m->dst, pl, len);
    for (uint32_t k = 0; k < r->p.n; k++) {
      const bnode *s = &r->s[k];
      if (m->dst == NOBODY && k != m->src && s->born && m->stamp < s->birth)
        ccheck_expire(r->ck, k, m->src, m->n);
      else if (owed(r, k, l->mid)) {
        pend[k] = xgrow(pend[k], sizeof *pend[k], npend[k] + 1, &cappend[k]);
        pend[k][npend[k]++] = l->mid;
      }
    }
  }
  for (uint32_t k = 0; k < r->p.n; k++) {
    const bnode *s = &r->s[k];
    if (s->born)
      excuse_expired(r, k, s->dead ? s->hlc_end : p2pc_causal_hlc(s->c), pend,
                     npend);
    if (!alive(r, k)) {
      ccheck_exempt(r->ck, k);
      for (size_t i = 0; i < npend[k]; i++) {
        const msg *m = &r->msgs[pend[k][i]];
        if (m->dst == k)
          ccheck_expire(r->ck, k, m->src, m->n);
      }
    }
    free(pend[k]);
  }
  ccheck_finish(r->ck);
}

static bool same_deliveries(const run *a, const run *b, char *why,
                            size_t whylen) {
  for (uint32_t k = 0; k < a->p.n; k++) {
    const bnode *x = &a->s[k], *y = &b->s[k];
    size_t n = x->ndeliv < y->ndeliv ? x->ndeliv : y->ndeliv;
    for (size_t i = 0; i <= n; i++) {
      if (i == n && x->ndeliv == y->ndeliv)
        break;
      if (i < n && x->deliv[i] == y->deliv[i])
        continue;
      snprintf(why, whylen,
               "[f] %s: delivery %zu differs: %s with pruning, %s with "
               "no_prune (%zu and %zu deliveries)",
               x->name, i + 1,
               i < x->ndeliv ? a->s[a->msgs[x->deliv[i]].src].name : "none",
               i < y->ndeliv ? b->s[b->msgs[y->deliv[i]].src].name : "none",
               x->ndeliv, y->ndeliv);
      return false;
    }
  }
  return true;
}

/* ---- main ---------------------------------------------------------------- */

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

static int usage(void) {
  fprintf(stderr, "usage: prop_bcast [--schedules K] [--seed BASE]\n"
                  "         [--bounded | --compare-prune] [--trace]\n"
                  "         [--faults bcast-met|no-birth|no-dedup "
                  "--expect-violation]\n"
                  "  env P2PC_SEED=<u64> replays one schedule,\n"
                  "  P2PC_PROP_SCHEDULES=<K> sets the number of schedules\n");
  return 2;
}

static void describe(const run *r) {
  const params *p = &r->p;
  char life[32] = "inf";
  if (p->life != INF)
    snprintf(life, sizeof life, "%.0f ms", (double)p->life / 1e6);
  printf("  schedule: nodes=%" PRIu32 " (%" PRIu32 " born late) ops=%" PRIu32
         " Δ=%s maxerr=%.3f ms hop=%.3f ms cap=%.3f ms pbcast=%.2f "
         "crashes=%" PRIu32 " reports=%d ls=%d no_prune=%d; %zu messages, "
         "t=%.3f ms\n",
         p->n, p->n - p->n0, p->ops, life, (double)p->maxerr / 1e6,
         (double)p->hop / 1e6, (double)p->cap / 1e6, p->pbcast, p->ncrash,
         p->reports, p->peer_ls, r->no_prune, r->nmsgs, (double)r->now / 1e6);
}

int main(int argc, char **argv) {
  options o = {.schedules = 1000, .mode = M_GENERAL};
  bool have_base = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--schedules") == 0 && i + 1 < argc) {
      if (!parse_u64(argv[++i], &o.schedules) || !o.schedules)
        return usage();
    } else if (strcmp(a, "--seed") == 0 && i + 1 < argc) {
      if (!parse_u64(argv[++i], &o.base))
        return usage();
      have_base = true;
    } else if (strcmp(a, "--bounded") == 0) {
      o.mode = M_BOUNDED;
    } else if (strcmp(a, "--compare-prune") == 0) {
      o.mode = M_PRUNE;
    } else if (strcmp(a, "--faults") == 0 && i + 1 < argc) {
      o.fault_name = argv[++i];
      if (strcmp(o.fault_name, "bcast-met") == 0)
        o.faults = P2PC_CAUSAL_FAULT_BCAST_MET;
      else if (strcmp(o.fault_name, "no-birth") == 0)
        o.faults = P2PC_CAUSAL_FAULT_NO_BIRTH;
      else if (strcmp(o.fault_name, "no-dedup") == 0)
        o.faults = P2PC_CAUSAL_FAULT_NO_DEDUP;
      else
        return usage();
    } else if (strcmp(a, "--trace") == 0) {
      o.trace = true;
    } else if (strcmp(a, "--expect-violation") == 0) {
      o.expect = true;
    } else {
      return usage();
    }
  }
  if (o.expect != (o.faults != 0))
    return usage();
  const char *env = getenv("P2PC_PROP_SCHEDULES");
  if (env && *env && (!parse_u64(env, &o.schedules) || !o.schedules))
    return usage();
  env = getenv("P2PC_SEED");
  if (env && *env) {
    if (!parse_u64(env, &o.replay))
      return usage();
    o.have_replay = true;
  }
  if (!have_base) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    x ^= (uint64_t)getpid() << 32;
    o.base = p2pc_splitmix64(&x);
  }
  uint64_t count = o.have_replay ? 1 : o.schedules;
  printf("prop_bcast: base seed %" PRIu64 ", %" PRIu64 " schedules%s%s%s\n",
         o.base, count,
         o.mode == M_BOUNDED ? " --bounded"
         : o.mode == M_PRUNE ? " --compare-prune"
                             : "",
         o.fault_name ? ", fault " : "", o.fault_name ? o.fault_name : "");
  static run ra, rb;
  uint64_t msgs = 0, bcasts = 0, copies = 0, dups = 0, relays = 0, drops = 0,
           exp_rx = 0, pruned = 0;
  int status = o.expect ? 1 : 0;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t x = o.base ^ (i * 0xD1B54A32D192ED03ull);
    uint64_t seed = o.have_replay ? o.replay : p2pc_splitmix64(&x);
    bool np = o.mode == M_GENERAL && (seed & 3) == 0;
    int oc = run_schedule(&ra, &o, seed, np);
    msgs += ra.nmsgs;
    bcasts += ra.bcasts;
    copies += ra.copies;
    dups += ra.dups;
    relays += ra.relays;
    drops += ra.birth_drops;
    exp_rx += ra.exp_rx;
    pruned += ra.pruned;
    const char *why = oc == 1 ? ra.fail : oc == 2 ? ccheck_first(ra.ck) : NULL;
    if (o.expect) {
      ccheck_kind want = o.faults == P2PC_CAUSAL_FAULT_BCAST_MET ? CCHECK_ORDER
                         : o.faults == P2PC_CAUSAL_FAULT_NO_BIRTH
                             ? CCHECK_EXPIRED_DELIVERED
                             : CCHECK_DUPLICATE;
      if (oc == 2 && ccheck_count(ra.ck, want)) {
        printf("prop_bcast: fault %s caught in schedule %" PRIu64
               " (seed %" PRIu64 "): %s\n",
               o.fault_name, i, seed, ccheck_first_of(ra.ck, want));
        describe(&ra);
        status = 0;
        run_free(&ra);
        break;
      }
      run_free(&ra);
      continue;
    }
    char buf[700];
    if (!why && o.mode == M_PRUNE) {
      int ob = run_schedule(&rb, &o, seed, true);
      if (ob)
        why = ob == 1 ? rb.fail : ccheck_first(rb.ck);
      else if (!same_deliveries(&ra, &rb, buf, sizeof buf))
        why = buf;
      if (why) {
        snprintf(buf, sizeof buf, "%s", why);
        why = buf;
      }
      run_free(&rb);
    }
    if (why) {
      printf("prop_bcast: FAIL in schedule %" PRIu64 " (seed %" PRIu64
             "): %s\n",
             i, seed, why);
      if (oc == 2)
        for (int k = 0; k < CCHECK_NKINDS; k++)
          if (ccheck_count(ra.ck, (ccheck_kind)k))
            printf("  %s: %" PRIu64 "\n", ccheck_kind_name((ccheck_kind)k),
                   ccheck_count(ra.ck, (ccheck_kind)k));
      describe(&ra);
      printf("  replay: P2PC_SEED=%" PRIu64 " prop_bcast%s\n", seed,
             o.mode == M_BOUNDED ? " --bounded"
             : o.mode == M_PRUNE ? " --compare-prune"
                                 : "");
      status = 1;
      run_free(&ra);
      break;
    }
    run_free(&ra);
  }
  printf("prop_bcast: %" PRIu64 " messages (%" PRIu64 " broadcasts), %" PRIu64
         " copies + %" PRIu64 " duplicates + %" PRIu64 " relayed; %" PRIu64
         " dropped as before birth, %" PRIu64 " expired at receivers, %" PRIu64
         " entries pruned as stable\n",
         msgs, bcasts, copies, dups, relays, drops, exp_rx, pruned);
  if (o.expect && status)
    printf("prop_bcast: fault %s NOT caught\n", o.fault_name);
  return status;
}
