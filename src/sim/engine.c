/* SPDX-License-Identifier: MIT */
/*
 * The simulator's engine (sim.h): creating a run (its nodes, clocks and
 * first events), the loop that pops events in virtual-time order and
 * hands each to its model, the scenario's timed events (partitions,
 * crashes, joins, clock steps, link changes), the memory account that
 * may stop a run, and the result. The models and oracles it calls are in
 * the files sim_internal.h lists.
 */
#define _GNU_SOURCE /* getrusage's ru_maxrss is POSIX; clock_gettime too */
#include "sim_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The simulator's own blocks, counted with the nodes' (simmem.h). The
 * simulator has no way to go on without them, so a refusal ends the
 * process, saying so: the budget is what keeps a run below that. */
static void *xgot(p2pc_sim *s, void *p) {
  if (!p) {
    fprintf(stderr,
            "p2pclock sim: out of memory at virtual t=%.1f s, holding %llu "
            "MiB: the machine gives less; a lower --mem-limit stops a run "
            "cleanly before that\n",
            (double)s->now / 1e9, (unsigned long long)(s->mem.live >> 20));
    abort();
  }
  return p;
}

void *p2pc__sim_xrealloc(p2pc_sim *s, void *p, size_t n) {
  return xgot(s, p2pc_simmem_realloc(&s->mem, p, n ? n : 1));
}

void *p2pc__sim_xcalloc(p2pc_sim *s, size_t count, size_t size) {
  return xgot(s, p2pc_simmem_calloc(&s->mem, count, size));
}

void p2pc__sim_xfree(p2pc_sim *s, void *p) { p2pc_simmem_free(&s->mem, p); }

/* What the run holds now, as the budget counts it, into the result. */
static uint64_t measure(p2pc_sim *s) {
  uint64_t o = p2pc__sim_oracle_bytes(s), now = s->mem.live + o;
  s->res.mem_now = now;
  if (now > s->res.mem_peak) {
    s->res.mem_peak = now;
    s->res.mem_oracle = o;
  }
  return now;
}

static void on_scen(p2pc_sim *s, const p2pc_sim_event *e) {
  char err[200];
  switch (e->kind) {
  case P2PC_SIM_EV_PARTITION:
    if (s->ncuts < 64)
      s->cuts[s->ncuts++] = (cut){e->a0, e->a1, e->b0, e->b1};
    p2pc__sim_ov_cuts_changed(s);
    if (s->oracle) /* what is sent now may wait for the heal */
      p2pc_evcheck_cut(s->oracle, true, EPOCH + (int64_t)s->now);
    break;
  case P2PC_SIM_EV_HEAL:
    s->ncuts = 0;
    p2pc__sim_ov_cuts_changed(s);
    if (s->oracle)
      p2pc_evcheck_cut(s->oracle, false, EPOCH + (int64_t)s->now);
    break;
  case P2PC_SIM_EV_FREEZE:
    for (uint32_t i = e->a0; i < e->a1 && i < s->cfg.nodes; i++)
      p2pc__sim_ov_freeze(s, i, (uint64_t)(e->x * 1e9));
    break;
  case P2PC_SIM_EV_CRASH:
  case P2PC_SIM_EV_LEAVE:
    for (uint32_t i = e->a0; i < e->a1 && i < s->cfg.nodes; i++)
      p2pc__sim_stop_node(s, i, e->kind == P2PC_SIM_EV_LEAVE);
    break;
  case P2PC_SIM_EV_RESTART:
  case P2PC_SIM_EV_JOIN:
    for (uint32_t i = e->a0; i < e->a1 && i < s->cfg.nodes; i++)
      if (!s->nodes[i].alive)
        p2pc__sim_start_node(s, i, err, sizeof err);
    break;
  case P2PC_SIM_EV_SLOW:
    for (uint32_t i = e->a0; i < e->a1 && i < s->cfg.nodes; i++)
      s->nodes[i].slow = e->x >= 1 ? e->x : 1;
    break;
  case P2PC_SIM_EV_CLOCK_STEP:
    for (uint32_t i = e->a0; i < e->a1 && i < s->cfg.nodes; i++)
      s->nodes[i].c.off0 += e->x * 1e9;
    break;
  case P2PC_SIM_EV_CLOCK_FREQ:
    for (uint32_t i = e->a0; i < e->a1 && i < s->cfg.nodes; i++) {
      p2pc__sim_clk_rebase(&s->nodes[i].c, s->now);
      s->nodes[i].c.rate = e->x * 1e-6;
    }
    break;
  case P2PC_SIM_EV_CLOCK_FREQ_STEP:
    for (uint32_t i = e->a0; i < e->a1 && i < s->cfg.nodes; i++) {
      p2pc__sim_clk_rebase(&s->nodes[i].c, s->now);
      s->nodes[i].c.rate += e->x * 1e-6;
    }
    break;
  case P2PC_SIM_EV_LINK:
    s->link = e->link;
    break;
  case P2PC_SIM_EV_LOOKUP:
    p2pc__sim_lookups(s, e->a0, e->a1, e->b0, e->b1);
    break;
  }
}

void p2pc_sim_config_default(p2pc_sim_config *cfg, uint32_t n) {
  memset(cfg, 0, sizeof *cfg);
  cfg->nodes = n;
  cfg->duration_ns = 60 * SEC;
  cfg->seed = 1;
  cfg->topology = P2PC_SIM_FULL;
  cfg->k = 8;
  cfg->clusters = 4;
  cfg->link = (p2pc_sim_link){.delay_ns = 200 * US, .jitter_ns = 20 * US};
  cfg->slow_link = (p2pc_sim_link){.delay_ns = 20 * MS, .jitter_ns = 1 * MS};
  cfg->offset_max_s = 1;
  cfg->drift_max_ppm = 200;
  cfg->rate = 1;
  cfg->bcast = 0.1;
  cfg->payload = 16;
  cfg->causal_oracle = n <= 2000;
  cfg->causal_lifetime_ns = P2PC_SIM_LIFETIME_DEFAULT_NS;
  cfg->bcast_grace_ns = 5 * SEC;
  cfg->detect_ns = 10 * SEC;
  cfg->dgram_after_ns = UINT64_MAX;
}

p2pc_sim *p2pc_sim_new(const p2pc_sim_config *cfg, char *err, size_t errlen) {
  if (cfg->nodes < 1 || cfg->nodes > P2PC_SIM_MAX_NODES) {
    snprintf(err, errlen, "nodes must be 1..%d, got %u", P2PC_SIM_MAX_NODES,
             cfg->nodes);
    return NULL;
  }
  if (cfg->topology == P2PC_SIM_KREGULAR && (cfg->k < 2 || cfg->k > 32)) {
    snprintf(err, errlen, "k must be 2..32, got %u", cfg->k);
    return NULL;
  }
  if (cfg->topology == P2PC_SIM_CLUSTERS &&
      (cfg->clusters < 1 || cfg->clusters > cfg->nodes)) {
    snprintf(err, errlen, "clusters must be 1..nodes, got %u", cfg->clusters);
    return NULL;
  }
  if (cfg->nevents > P2PC_SIM_MAX_EVENTS) {
    snprintf(err, errlen, "too many events");
    return NULL;
  }
  uint64_t need = cfg->max_memory ? p2pc_sim_start_bytes(cfg) : 0;
  if (need > cfg->max_memory) {
    snprintf(err, errlen,
             "the start alone needs %llu MiB, over the memory budget of "
             "%llu MiB",
             (unsigned long long)(need >> 20),
             (unsigned long long)(cfg->max_memory >> 20));
    return NULL;
  }
  p2pc_sim *s = calloc(1, sizeof *s);
  if (!s)
    abort();
  p2pc_simmem_init(&s->mem);
  p2pc_simmem_charge(&s->mem, sizeof *s);
  s->cfg = *cfg;
  s->link = cfg->link;
  for (int k = 0; k < R_NSTREAMS; k++)
    p2pc_rng_seed(&s->r[k], cfg->seed, (uint64_t)k + 1);
  s->nodes = p2pc__sim_xcalloc(s, cfg->nodes, sizeof *s->nodes);
  uint64_t *bins = p2pc__sim_xcalloc(s, HIST_SLOTS, sizeof *bins);
  hist *hs[] = {&s->meta_sec, &s->meta_run, &s->deps_sec, &s->deps_run};
  for (int k = 0; k < 4; k++) {
    hs[k]->bins = bins;
    hs[k]->nbins = k < 2 ? META_BINS : DEPS_BINS;
    hs[k]->width = k < 2 ? P2PC_SIM_META_HIST_BIN : 1;
    bins += hs[k]->nbins + 1;
  }
  uint32_t per =
      (cfg->nodes + cfg->clusters - 1) / (cfg->clusters ? cfg->clusters : 1);
  rng *cr = &s->r[R_CLOCK];
  for (uint32_t i = 0; i < cfg->nodes; i++) {
    snode *x = &s->nodes[i];
    snprintf(x->id, sizeof x->id, "n%u", i);
    x->c.off0 = (2 * p2pc_rng_unit(cr) - 1) * cfg->offset_max_s * 1e9;
    x->c.rate = (2 * p2pc_rng_unit(cr) - 1) * cfg->drift_max_ppm * 1e-6;
    x->c.noise = (double)cfg->clock_common.noise_ns;
    x->c.gran = (double)cfg->clock_common.granularity_ns;
    x->slow = 1;
    x->timer_at = UINT64_MAX;
    x->cluster = per ? i / per : 0;
  }
  if (cfg->causal_oracle)
    p2pc__sim_oracle_new(s);
  p2pc__sim_bc_init(s);
  p2pc__sim_ov_init(s);
  if (cfg->to_any)
    s->pend = p2pc__sim_xcalloc(s, (size_t)cfg->nodes * P2PC_SIM_PENDING,
                                sizeof *s->pend);
  p2pc__sim_ov_churn_plan(s);
  uint32_t alive = cfg->initially_alive ? cfg->initially_alive : cfg->nodes;
  for (uint32_t i = 0; i < alive && i < cfg->nodes; i++)
    if (!s->nodes[i].late && p2pc__sim_start_node(s, i, err, errlen)) {
      p2pc_sim_free(s);
      return NULL;
    }
  for (uint32_t k = 0; k < cfg->nevents; k++)
    p2pc__sim_push(s, cfg->events[k].at_ns, E_SCEN, k, 0, NULL);
  p2pc__sim_push(s, SEC, E_SECOND, 0, 0, NULL);
  if (cfg->clock_common.wander_ppm > 0)
    p2pc__sim_push(s, SEC, E_WANDER, 0, 0, NULL);
  if (cfg->bcast_every_ns)
    p2pc__sim_push(s, cfg->bcast_every_ns, E_BCAST, 0, 0, NULL);
  measure(s);
  return s;
}

void p2pc_sim_free(p2pc_sim *s) {
  if (!s)
    return;
  for (uint32_t i = 0; i < s->cfg.nodes; i++) {
    if (s->nodes[i].alive)
      p2pc_node_free(s->nodes[i].n);
    p2pc__sim_xfree(s, s->nodes[i].conn_of);
  }
  for (uint32_t c = 0; c < s->nconns; c++) {
    p2pc__sim_dir_clear(s, &s->conns[c].d[0]);
    p2pc__sim_dir_clear(s, &s->conns[c].d[1]);
  }
  for (size_t k = 0; k < s->nheap; k++)
    if (s->heap[k].kind == E_DIAL || s->heap[k].kind == E_DGRAM)
      p2pc__sim_xfree(s, s->heap[k].p);
  p2pc__sim_xfree(s, s->heap);
  p2pc__sim_xfree(s, s->meta_sec.bins); /* the first of the four, one block */
  p2pc__sim_xfree(s, s->nodes);
  p2pc__sim_xfree(s, s->conns);
  p2pc__sim_xfree(s, s->freeconns);
  p2pc__sim_xfree(s, s->pend);
  p2pc__sim_chunk_pool_free(s);
  p2pc__sim_bc_free(s);
  p2pc__sim_ov_free(s);
  p2pc_evcheck_free(s->oracle);
  free(s);
}

/* After each event: what the run holds, and whether it must stop there. A
 * node's allocation that failed stops it too: the core went on without
 * that block (it handles a refusal), but the run is no longer the one the
 * seed describes. */
static bool account(p2pc_sim *s) {
  uint64_t now = measure(s);
  if (s->mem.failed)
    s->res.stop = P2PC_SIM_STOP_NOMEM;
  else if (s->cfg.max_memory && now >= s->cfg.max_memory)
    s->res.stop = P2PC_SIM_STOP_BUDGET;
  return s->res.stop != P2PC_SIM_STOP_END;
}

/* What arrives at a frozen node waits for its thaw (a datagram, a dial
 * from or to it, a RESOLVED): the event goes back into the heap at that
 * time, after those already there for it. TCP bytes wait in their
 * connection (netmodel.c), timers in E_TIMER. */
static bool defer_frozen(p2pc_sim *s, const ev *e) {
  uint32_t who = UINT32_MAX;
  if (e->kind == E_DGRAM || e->kind == E_RESOLVED)
    who = e->a;
  else if (e->kind == E_DIAL)
    who = p2pc__sim_frozen(s, e->a) ? e->a : e->b;
  if (who >= s->cfg.nodes || !p2pc__sim_frozen(s, who))
    return false;
  p2pc__sim_push(s, s->nodes[who].frozen_until, (evk)e->kind, e->a, e->b, e->p);
  return true;
}

uint64_t p2pc_sim_start_bytes(const p2pc_sim_config *cfg) {
  if (cfg->nodes < 1 || cfg->nodes > P2PC_SIM_MAX_NODES)
    return 0;
  uint64_t alive = cfg->initially_alive && cfg->initially_alive < cfg->nodes
                       ? cfg->initially_alive
                       : cfg->nodes;
  /* One node as p2pc__sim_start_node makes them, with the most seeds a topology
   * gives one (they are copied). */
  p2pc_simmem m;
  p2pc_simmem_init(&m);
  p2pc_node_config c;
  p2pc__sim_node_config(cfg, &c);
  p2pc_node_seed seeds[16];
  memset(seeds, 0, sizeof seeds);
  for (uint32_t k = 0; k < 16; k++)
    seeds[k].addr = p2pc__sim_addr_of(k + 1);
  c.id = "n0";
  c.incarnation = MONO0;
  c.listen = p2pc__sim_addr_of(0);
  c.alloc = &m.a;
  c.seeds = seeds;
  c.nseeds = cfg->topology == P2PC_SIM_KREGULAR
                 ? (cfg->k / 2 < 16 ? cfg->k / 2 : 16)
             : cfg->topology == P2PC_SIM_RING ? 2
                                              : 1;
  p2pc_node *n = NULL;
  p2pc_now now = {.mono_ns = MONO0, .local_ns = EPOCH};
  uint64_t node = 0;
  if (p2pc_node_new(&n, &c, NULL, now) == 0) {
    node = m.live;
    p2pc_node_free(n);
  }
  uint64_t nlinks = (c.max_peers ? c.max_peers : 64) * 2 + 8 +
                    (c.max_ondemand ? c.max_ondemand : 16);
  node += P2PC_SIMMEM_HDR + nlinks * sizeof(uint32_t); /* its conn_of */
  uint64_t total = sizeof(p2pc_sim) + P2PC_SIMMEM_HDR +
                   (uint64_t)cfg->nodes * sizeof(snode) + alive * node +
                   P2PC_SIMMEM_HDR + HIST_SLOTS * sizeof(uint64_t);
  if (cfg->causal_oracle) /* the checker's clocks, at the end */
    total += 4 * alive * alive;
  return total;
}

static uint64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

void p2pc_sim_run(p2pc_sim *s,
                  void (*progress)(void *ud, uint64_t now_ns, uint64_t end_ns),
                  void (*per_second)(void *ud, const p2pc_sim_second *row),
                  void *ud) {
  uint64_t w0 = wall_ns();
  char err[200];
  double *scratch = p2pc__sim_xrealloc(s, NULL, s->cfg.nodes * sizeof *scratch);
  uint64_t end = s->cfg.duration_ns;
  while (s->nheap && s->heap[0].t <= end) {
    ev e = p2pc__sim_pop(s);
    s->now = e.t;
    s->res.events++;
    if (defer_frozen(s, &e))
      continue;
    switch ((evk)e.kind) {
    case E_TIMER: {
      snode *x = &s->nodes[e.a];
      s->res.ev_timer++;
      if (!x->alive || e.gen != x->gen || x->timer_at != e.t)
        break;
      if (p2pc__sim_frozen(s, e.a)) { /* it fires when the node thaws */
        x->timer_at = x->frozen_until;
        p2pc__sim_push(s, x->frozen_until, E_TIMER, e.a, 0, NULL);
        break;
      }
      x->timer_at = UINT64_MAX;
      if (s->now >= s->cfg.dgram_after_ns)
        s->res.wakes_after++;
      s->cur_node = e.a;
      p2pc_node_on_deadline(x->n, p2pc__sim_now_of(s, e.a));
      p2pc__sim_flush_node(s, e.a);
      break;
    }
    case E_TCP:
      s->res.ev_tcp++;
      p2pc__sim_on_tcp(s, e.a, (int)e.b);
      break;
    case E_DIAL:
      p2pc__sim_on_dial(s, e.a, e.b, e.p);
      p2pc__sim_xfree(s, e.p);
      break;
    case E_DGRAM:
      s->res.ev_dgram++;
      p2pc__sim_on_dgram(s, e.a, e.b, e.p);
      break;
    case E_SCEN:
      on_scen(s, &s->cfg.events[e.a]);
      break;
    case E_TRAFFIC:
      if (e.gen == s->nodes[e.a].gen)
        p2pc__sim_on_traffic(s, e.a);
      break;
    case E_SECOND:
      p2pc__sim_on_second(s, per_second, ud, scratch);
      if (progress)
        progress(ud, s->now, end);
      p2pc__sim_push(s, s->now + SEC, E_SECOND, 0, 0, NULL);
      break;
    case E_WANDER:
      p2pc__sim_on_wander(s);
      break;
    case E_BCAST:
      p2pc__sim_on_bcast(s);
      break;
    case E_CHURN:
      if (e.b == 0 && !s->nodes[e.a].alive)
        p2pc__sim_start_node(s, e.a, err, sizeof err);
      else if (e.b != 0)
        p2pc__sim_stop_node(s, e.a, e.b == 1);
      break;
    case E_THAW:
      p2pc__sim_ov_thaw(s, e.a);
      break;
    case E_RESOLVED:
      p2pc__sim_on_resolved(s, e.a, e.b);
      break;
    }
    if (account(s))
      break;
  }
  if (s->res.stop == P2PC_SIM_STOP_END) {
    s->now = end;
  } else { /* the state where it stopped, between seconds */
    double mean;
    uint64_t max;
    p2pc__sim_sample_state(s, &mean, &max);
  }
  s->res.stop_ns = s->now;
  p2pc__sim_xfree(s, scratch);
  if (s->oracle)
    p2pc__sim_oracle_finish(s, s->res.stop == P2PC_SIM_STOP_END);
  p2pc__sim_bc_finish(s);
  p2pc__sim_ov_finish(s);
  s->res.wall_ns = wall_ns() - w0;
  s->res.conv_s = s->conv_held ? (double)s->conv_from / 1e9 : -1;
  s->res.membership_ok = p2pc__sim_membership_ok(s);
  p2pc__sim_lookup_summary(s);
  p2pc__sim_views(s);
  s->res.meta_msgs = s->meta_run.n;
  s->res.meta_per_msg = p2pc__sim_hist_mean(&s->meta_run);
  s->res.meta_p99 = p2pc__sim_hist_p99(&s->meta_run);
  s->res.meta_max = s->meta_run.max;
  s->res.deps_p99 = (uint32_t)p2pc__sim_hist_p99(&s->deps_run);
  s->res.deps_max = (uint32_t)s->deps_run.max;
  s->res.mem_counted_peak = s->mem.peak;
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    s->res.peak_rss_kb = (uint64_t)ru.ru_maxrss;
}

void p2pc_sim_result_get(const p2pc_sim *s, p2pc_sim_result *r) { *r = s->res; }
