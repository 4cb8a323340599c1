/* SPDX-License-Identifier: MIT */
/*
 * Driving a node: what the runtime does for it, played by the simulator.
 * After every entry point into a node, its actions (dials, closes), its
 * link output and its datagrams go out, through the shared driver
 * (drive.h) into the network model, and its timer is re-armed; a node
 * starts (its configuration, its seeds by topology) and stops (cleanly or
 * by a crash); the traffic generator sends from it; its deliveries are
 * counted.
 */
#include "sim_internal.h"

#include <string.h>

/* The simulator's network as the driver's port (drive.h): a DIAL completes
 * or fails after a round trip (E_DIAL); bytes, and a close's FIN, go into
 * the connection's byte stream. */
static void port_dial(void *ud, uint32_t i, const p2pc_action *a) {
  p2pc_sim *s = ud;
  p2pc_action *cp = p2pc__sim_xrealloc(s, NULL, sizeof *cp);
  *cp = *a;
  int64_t t = p2pc__sim_node_at(s, &a->addr);
  uint64_t rtt = t >= 0 ? 2 * p2pc__sim_one_way(s, i, (uint32_t)t) : 1 * MS;
  p2pc__sim_push(s, s->now + rtt, E_DIAL, i, t >= 0 ? (uint32_t)t : UINT32_MAX,
                 cp);
}

static bool port_bytes(void *ud, uint32_t i, p2pc_link_id l, const uint8_t *p,
                       size_t len) {
  p2pc_sim *s = ud;
  int side;
  conn *c = p2pc__sim_conn_get(s, i, l, &side);
  if (!c)
    return false;
  p2pc__sim_dir_append(s, (uint32_t)(c - s->conns), side, p, len);
  return true;
}

static void port_close(void *ud, uint32_t i, p2pc_link_id l) {
  p2pc_sim *s = ud;
  int side;
  conn *c = p2pc__sim_conn_get(s, i, l, &side);
  if (!c)
    return;
  uint32_t ci = (uint32_t)(c - s->conns);
  p2pc__sim_dir_append(s, ci, side, NULL, 0); /* the FIN */
  p2pc__sim_conn_drop_end(s, ci, side);
}

static void arm_timer(p2pc_sim *s, uint32_t i) {
  snode *x = &s->nodes[i];
  if (!x->alive)
    return;
  uint64_t d = p2pc_node_next_deadline(x->n);
  if (d == UINT64_MAX)
    return;
  uint64_t t = d > MONO0 ? d - MONO0 : 0;
  if (x->slow > 1 && t > s->now)
    t = s->now + (uint64_t)((double)(t - s->now) * x->slow);
  if (t < s->now)
    t = s->now;
  if (x->timer_at != UINT64_MAX && x->timer_at <= t)
    return; /* an earlier wake-up is pending; it re-arms */
  x->timer_at = t;
  p2pc__sim_push(s, t, E_TIMER, i, 0, NULL);
}

void p2pc__sim_flush_node(p2pc_sim *s, uint32_t i) {
  snode *x = &s->nodes[i];
  if (x->alive) {
    p2pc_drive_port port = {.clock = p2pc__sim_clock(s),
                            .dial = port_dial,
                            .bytes = port_bytes,
                            .close = port_close,
                            .ud = s};
    p2pc_drive_actions(x->n, i, &port); /* a close writes its output first */
    p2pc_drive_links(x->n, i, &port);
  }
  p2pc__sim_flush_dgrams(s, i);
  arm_timer(s, i);
}

/* A member, for seeds_members: up now, or one of the nodes started at 0. */
static bool is_member(const p2pc_sim *s, uint32_t j) {
  return s->nodes[j].alive ||
         (s->cfg.initially_alive ? j < s->cfg.initially_alive : true);
}

/* What every node of the run is configured with (p2pc__sim_start_node adds who
 * it is and whom it dials). */
void p2pc__sim_node_config(const p2pc_sim_config *cf, p2pc_node_config *c) {
  memset(c, 0, sizeof *c);
  if (cf->topology == P2PC_SIM_KREGULAR || cf->topology == P2PC_SIM_RING)
    c->max_peers = cf->topology == P2PC_SIM_RING ? 2 : cf->k;
  c->time.mode =
      cf->collaborative ? P2PC_CLOCK_COLLABORATIVE : P2PC_CLOCK_REFERENCE;
  c->time.priority = 128;
  c->time.clock_class = 248;
  c->causal.lifetime_ns = cf->causal_lifetime_ns; /* 0: the core's 60 s */
  if (cf->poll_min || cf->poll_max) {
    c->time.poll_min = cf->poll_min;
    c->time.poll_max = cf->poll_max;
    c->time.poll_set = true;
  }
}

int p2pc__sim_start_node(p2pc_sim *s, uint32_t i, char *err, size_t errlen) {
  snode *x = &s->nodes[i];
  const p2pc_sim_config *cf = &s->cfg;
  p2pc_node_seed seeds[16];
  uint32_t ns = 0;
  rng *tr = &s->r[R_TOPO];
  uint32_t n = cf->nodes;
  switch (cf->topology) {
  case P2PC_SIM_FULL:
    if (i > 0)
      seeds[ns++].addr =
          p2pc__sim_addr_of(i - 1); /* a chain; exchange does the rest */
    break;
  case P2PC_SIM_RING:
    seeds[ns++].addr = p2pc__sim_addr_of((i + 1) % n);
    seeds[ns++].addr = p2pc__sim_addr_of((i + n - 1) % n);
    break;
  case P2PC_SIM_KREGULAR:
    for (uint32_t k = 0; k < cf->k / 2 && k < 16 && n > 1; k++) {
      uint32_t j = (uint32_t)p2pc_rng_below(tr, n - 1);
      j = j >= i ? j + 1 : j;
      /* seeds_members: a few more draws for a member (a bounded count,
       * so a lone node starts with what it drew) */
      for (int t = 0; cf->seeds_members && t < 64 && !is_member(s, j); t++) {
        j = (uint32_t)p2pc_rng_below(tr, n - 1);
        j = j >= i ? j + 1 : j;
      }
      seeds[ns++].addr = p2pc__sim_addr_of(j);
    }
    break;
  case P2PC_SIM_CLUSTERS: {
    uint32_t per = (n + cf->clusters - 1) / cf->clusters;
    uint32_t base = x->cluster * per;
    if (i > base)
      seeds[ns++].addr = p2pc__sim_addr_of(i - 1);
    else if (i > 0)
      seeds[ns++].addr = p2pc__sim_addr_of(i - per); /* the cluster's bridge */
    break;
  }
  }
  for (uint32_t k = 0; k < ns; k++)
    seeds[k].id[0] = '\0';
  p2pc_node_config c;
  p2pc__sim_node_config(cf, &c);
  c.id = x->id;
  c.incarnation = MONO0 + s->now + i; /* rises across restarts */
  c.seed = p2pc_rng_next(&s->r[R_NODES]);
  c.listen = p2pc__sim_addr_of(i);
  c.alloc = &s->mem.a;
  c.seeds = seeds;
  c.nseeds = ns;
  /* The event lines feed the causal oracle and the statistics of
   * messages; without either they are not built at all (they cost a large
   * part of a big run). */
  p2pc_node_callbacks cb = {
      .typed = p2pc__sim_on_event, .ud = s, .log_level = P2PC_LOG_ERROR};
  s->cur_node = i;
  int rv = p2pc_node_new(&x->n, &c, &cb, p2pc__sim_now_of(s, i));
  if (rv) {
    snprintf(err, errlen, "node %s: %s", x->id, p2pc_strerror(rv));
    return rv;
  }
  s->starts++;
  p2pc__sim_oracle_lifecycle(s, i, "start");
  x->nlinks = (c.max_peers ? c.max_peers : 64) * 2 + 8 +
              (c.max_ondemand ? c.max_ondemand : 16); /* as node.c's */
  if (!x->conn_of) {
    x->conn_of = p2pc__sim_xcalloc(s, x->nlinks, sizeof *x->conn_of);
  } else {
    memset(x->conn_of, 0, x->nlinks * sizeof *x->conn_of);
  }
  x->alive = true;
  x->ever_started = true;
  x->gen++;
  x->timer_at = UINT64_MAX;
  x->incarnation = c.incarnation;
  x->npend = 0;
  x->frozen_until = 0;
  p2pc__sim_ov_started(s, i);
  p2pc__sim_flush_node(s, i);
  if (cf->rate > 0)
    p2pc__sim_push(s,
                   s->now + (uint64_t)rng_exp(&s->r[R_TRAFFIC], 1e9 / cf->rate),
                   E_TRAFFIC, i, 0, NULL);
  return 0;
}

void p2pc__sim_stop_node(p2pc_sim *s, uint32_t i, bool clean) {
  snode *x = &s->nodes[i];
  if (!x->alive)
    return;
  if (clean) {
    s->cur_node = i;
    p2pc_node_shutdown(x->n, p2pc__sim_now_of(s, i));
    p2pc__sim_flush_node(s, i);
  }
  /* Every connection: the far end sees it close (FIN/RST) after the
   * delay; what was in flight to the dead node is gone. */
  for (uint32_t l = 0; l < x->nlinks; l++) {
    if (!x->conn_of[l])
      continue;
    int side;
    conn *c = p2pc__sim_conn_get(s, i, l, &side);
    uint32_t ci = (uint32_t)(c - s->conns);
    p2pc__sim_dir_append(s, ci, side, NULL, 0);
    p2pc__sim_conn_drop_end(s, ci, side);
  }
  if (clean) {
    p2pc__sim_oracle_birth(s, i);
    p2pc__sim_oracle_lifecycle(s, i, "stop");
  }
  p2pc_node_free(x->n);
  x->n = NULL;
  x->alive = false;
  x->timer_at = UINT64_MAX;
  x->npend = 0;
  x->frozen_until = 0;
  p2pc__sim_ov_stopped(s, i, !clean);
}
