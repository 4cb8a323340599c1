/* SPDX-License-Identifier: MIT */
/*
 * The causal oracle: the nodes' event streams fed, in memory and in true
 * global order, to the checker of `p2pclock check` (src/check/evcheck.h),
 * with the `start` and `stop` lines the runtime would write; its settle
 * mark; the estimate of its memory that the budget charges; its verdict
 * into the result.
 */
#include "sim_internal.h"

#include "event.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * The causal oracle: every node's event lines go to the checker of
 * src/check/evcheck.h (the verdict of `p2pclock check`, same code) as they
 * are written, one stream per node index across its restarts, in true
 * global order. The runtime, not the core, writes the `start` and `stop`
 * lines that delimit incarnations (src/cli/daemon.c), so the simulator
 * writes them: `start` when a node starts, `stop` when it leaves cleanly,
 * none when it crashes. The end of the run counts as a clean stop of every
 * node still up, so what was sent to them must have been delivered, except
 * what was sent in the last ORACLE_SETTLE_NS of the run, or since (1 s
 * before) a partition not healed by then: that may still be in flight.
 */
#define ORACLE_SETTLE_NS (10 * SEC)
/* The checker keeps a vector per message: past this many incarnations x
 * messages (512 MiB of vectors), it gives up rather than swap. */
#define ORACLE_MAX_CELLS ((uint64_t)1 << 27)
/*
 * The oracle allocates with libc, out of the account's sight (simmem.h),
 * so the budget charges it by estimate, from its structures (in
 * src/check: evcheck_internal.h, checker.c). Per message: its
 * records while the run goes on (a message record, a send and a delivery
 * record, a hash slot) and, for the verdict at the end, the checker's
 * copy (message info, held records, per-stream lists) and the vector it
 * keeps of each send, 4 bytes an incarnation; per pair of incarnations,
 * the checker's clocks. Arrays that grow by doubling are counted at twice
 * their use. Past ORACLE_MAX_CELLS the oracle drops its records and
 * gives up: nothing then.
 */
#define ORACLE_MSG_BYTES 512
#define ORACLE_CELL_BYTES 8

uint64_t p2pc__sim_oracle_bytes(const p2pc_sim *s) {
  uint64_t m = s->res.msgs_sent, n = s->starts;
  if (!s->oracle || m * n > ORACLE_MAX_CELLS)
    return 0;
  return m * (ORACLE_MSG_BYTES + ORACLE_CELL_BYTES * n) + 4 * n * n;
}

static void oracle_diag(void *ud, bool warning, const char *text) {
  p2pc_sim *s = ud;
  if (!warning && !s->oracle_err[0])
    snprintf(s->oracle_err, sizeof s->oracle_err, "oracle input: %s", text);
}

/* When the oracle's settle mark falls (see above). */
static uint64_t oracle_settle_at(const p2pc_sim_config *cfg) {
  uint64_t at = cfg->duration_ns > ORACLE_SETTLE_NS
                    ? cfg->duration_ns - ORACLE_SETTLE_NS
                    : 0;
  for (uint32_t k = 0; k < cfg->nevents; k++) {
    const p2pc_sim_event *e = &cfg->events[k];
    if (e->kind != P2PC_SIM_EV_PARTITION || e->at_ns >= at)
      continue;
    bool healed = false; /* by a heal after it (events run in index order
                            at equal times) and before the mark */
    for (uint32_t j = 0; j < cfg->nevents && !healed; j++) {
      const p2pc_sim_event *h = &cfg->events[j];
      healed = h->kind == P2PC_SIM_EV_HEAL && h->at_ns <= at &&
               (h->at_ns > e->at_ns || (h->at_ns == e->at_ns && j > k));
    }
    if (!healed)
      at = e->at_ns > SEC ? e->at_ns - SEC : 0;
  }
  return at;
}

/* Debugging: P2PC_SIM_EVENTS_DIR=D also writes node i's stream to
 * D/n<i>.jsonl (for `p2pclock check`). */
void p2pc__sim_oracle_feed(p2pc_sim *s, uint32_t i, const char *line,
                           size_t len) {
  p2pc_evcheck_line(s->oracle, i, line, len);
  if (!s->oracle_dump)
    return;
  char path[512];
  snprintf(path, sizeof path, "%s/%s.jsonl", s->oracle_dump, s->nodes[i].id);
  FILE *f = fopen(path, "a");
  if (f) {
    fwrite(line, 1, len, f);
    fputc('\n', f);
    fclose(f);
  }
}

/* A `start` or `stop` line of node i, as the runtime writes them. */
void p2pc__sim_oracle_lifecycle(p2pc_sim *s, uint32_t i, const char *what) {
  if (!s->oracle)
    return;
  snode *x = &s->nodes[i];
  /* The local clock without its read noise: the oracle draws no random
   * numbers, so that it leaves the run as it is. */
  const clk *c = &x->c;
  int64_t local =
      EPOCH + (int64_t)llround((double)s->now + p2pc__sim_clk_off(c, s->now));
  if (c->gran > 1)
    local -= local % (int64_t)c->gran;
  int64_t net = p2pc_node_network_time(x->n, local);
  char cfg[96];
  snprintf(cfg, sizeof cfg, "{\"sim\":{\"node\":%u,\"seed\":\"%llu\"}}", i,
           (unsigned long long)s->cfg.seed);
  bool birth = strcmp(what, "birth") == 0;
  p2pc_lifecycle l = {.id = x->id,
                      .sesid = p2pc_causal_self(p2pc_node_causal(x->n)),
                      .start = strcmp(what, "start") == 0,
                      .birth = p2pc_causal_birth(p2pc_node_causal(x->n)),
                      .birth_line = birth,
                      .now = {MONO0 + s->now, local},
                      .net_ns = net,
                      .lifetime_ns =
                          p2pc_causal_lifetime(p2pc_node_causal(x->n)),
                      .config = cfg};
  if (l.start || birth)
    x->birth_logged = l.birth != 0;
  char line[512];
  long n = p2pc_event_lifecycle_json(&l, line, sizeof line);
  if (n > 0 && (size_t)n < sizeof line)
    p2pc__sim_oracle_feed(s, i, line, (size_t)n);
}

void p2pc__sim_oracle_birth(p2pc_sim *s, uint32_t i) {
  snode *x = &s->nodes[i];
  if (s->oracle && x->n && !x->birth_logged &&
      p2pc_causal_birth(p2pc_node_causal(x->n)))
    p2pc__sim_oracle_lifecycle(s, i, "birth");
}

/* The verdict, into the results; the oracle is done with. A run that
 * ends at its duration stops its nodes cleanly, so what was sent to them
 * must have been delivered (but for the settle mark); one that memory cut
 * short ends like a crash of every node: what was still in flight is
 * excused, not missing, and only the order of what was delivered is
 * judged. */
void p2pc__sim_oracle_finish(p2pc_sim *s, bool clean) {
  for (uint32_t i = 0; i < s->cfg.nodes && clean; i++)
    if (s->nodes[i].alive) {
      p2pc__sim_oracle_birth(s, i);
      p2pc__sim_oracle_lifecycle(s, i, "stop");
    }
  p2pc_evcheck_result r;
  int st = p2pc_evcheck_finish(s->oracle, &r);
  p2pc_sim_result *res = &s->res;
  res->causal_checked = st == P2PC_EVCHECK_CHECKED;
  res->causal_violations = res->missing = 0;
  res->first_violation[0] = '\0';
  if (st == P2PC_EVCHECK_CHECKED) {
    res->missing = r.by_kind[P2PC_EVCHECK_MISSING];
    res->causal_violations = r.violations - res->missing;
    if (r.first)
      snprintf(res->first_violation, sizeof res->first_violation, "%s",
               r.first);
    /* Every delivery to the application is logged, and only those. */
    if (r.deliver_lines != res->msgs_delivered) {
      if (!res->causal_violations++ && !r.first)
        snprintf(res->first_violation, sizeof res->first_violation,
                 "EVENTS: %llu deliveries to the application, %llu "
                 "\"deliver\" lines",
                 (unsigned long long)res->msgs_delivered,
                 (unsigned long long)r.deliver_lines);
    }
  } else if (st == P2PC_EVCHECK_BADINPUT) {
    snprintf(res->first_violation, sizeof res->first_violation, "%s",
             s->oracle_err);
  } else {
    snprintf(res->first_violation, sizeof res->first_violation,
             "oracle: %s (%llu incarnations, %llu messages)",
             st == P2PC_EVCHECK_TOOLARGE ? "too large to check"
             : st == P2PC_EVCHECK_EMPTY  ? "no node started"
                                         : "out of memory",
             (unsigned long long)r.incarnations, (unsigned long long)r.msg_ids);
  }
  if (getenv("P2PC_SIM_ORACLE"))
    fprintf(
        stderr,
        "oracle: status %d, %llu lines, %llu incarnations (%llu "
        "crashed), %llu messages, %llu delivered, excused: %llu "
        "undeliverable, %llu lost with receiver, %llu lost with sender, "
        "%llu unsettled; %llu violations (%llu missing)%s%s\n",
        st, (unsigned long long)r.lines, (unsigned long long)r.incarnations,
        (unsigned long long)r.crashed, (unsigned long long)r.messages,
        (unsigned long long)r.delivered, (unsigned long long)r.undeliverable,
        (unsigned long long)r.lost_receiver, (unsigned long long)r.lost_sender,
        (unsigned long long)r.unsettled, (unsigned long long)r.violations,
        (unsigned long long)r.by_kind[P2PC_EVCHECK_MISSING],
        res->first_violation[0] ? "; first: " : "", res->first_violation);
  p2pc_evcheck_free(s->oracle);
  s->oracle = NULL;
}

/* The oracle of a new run (cfg.causal_oracle): one stream a node index,
 * named by the node's id. */
void p2pc__sim_oracle_new(p2pc_sim *s) {
  const p2pc_sim_config *cfg = &s->cfg;
  s->oracle = p2pc_evcheck_new();
  if (!s->oracle)
    abort();
  p2pc_evcheck_set_diag(s->oracle, oracle_diag, s);
  p2pc_evcheck_set_limit(s->oracle, ORACLE_MAX_CELLS);
  for (uint32_t i = 0; i < cfg->nodes; i++)
    if (p2pc_evcheck_name(s->oracle, i, s->nodes[i].id) < 0)
      abort();
  s->oracle_settle_ns = oracle_settle_at(cfg);
  s->oracle_dump = getenv("P2PC_SIM_EVENTS_DIR");
}
