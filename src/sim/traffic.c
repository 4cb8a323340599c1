/* SPDX-License-Identifier: MIT */
/*
 * The traffic generator: each alive node sends at `rate` (Poisson) a
 * message to a neighbour it has up, or (`to any`) to an alive node drawn
 * among all the others, or a broadcast with probability `bcast`; and
 * every `bcast_every_ns` one network-wide broadcast leaves a random
 * alive, unfrozen node. A send to a node the sender cannot reach yet
 * (P2PC_ERR_AGAIN) waits, at most P2PC_SIM_PENDING a node, for the
 * node's RESOLVED event about that destination: ok, it goes again; not
 * ok, or P2PC_ERR_NOTFOUND at once, it is unaddressable (never accepted,
 * so never lost). Payloads of 16 bytes or more start with a tag (send
 * time, broadcast number) that the latency and broadcast oracles read.
 */
#include "sim_internal.h"

#include <string.h>

#define TAG_MAGIC 0x70327063u /* "p2pc" */

static void put64(uint8_t *p, uint64_t v) {
  for (int k = 0; k < 8; k++)
    p[k] = (uint8_t)(v >> (8 * k));
}

static uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int k = 0; k < 8; k++)
    v |= (uint64_t)p[k] << (8 * k);
  return v;
}

static uint32_t tag_check(uint64_t t, uint32_t bc) {
  uint64_t h = (t ^ ((uint64_t)bc << 32)) * 0x9e3779b97f4a7c15ull;
  return (uint32_t)(h >> 32) ^ TAG_MAGIC;
}

void p2pc__sim_tag_put(uint8_t *p, uint64_t t_send, uint32_t bc) {
  put64(p, t_send);
  put64(p + 8, (uint64_t)bc | (uint64_t)tag_check(t_send, bc) << 32);
}

bool p2pc__sim_tag_get(const uint8_t *p, size_t len, uint64_t *t_send,
                       uint32_t *bc) {
  if (!p || len < TAG_LEN)
    return false;
  uint64_t t = get64(p), w = get64(p + 8);
  if ((uint32_t)(w >> 32) != tag_check(t, (uint32_t)w))
    return false;
  *t_send = t;
  *bc = (uint32_t)w;
  return true;
}

/* payload: the configured bytes, random, the tag first when they fit. */
static uint32_t make_payload(p2pc_sim *s, uint8_t *payload, uint32_t bc) {
  rng *r = &s->r[R_TRAFFIC];
  uint32_t plen = s->cfg.payload < 256 ? s->cfg.payload : 255;
  for (uint32_t k = 0; k < plen; k++)
    payload[k] = (uint8_t)p2pc_rng_next(r);
  if (plen >= TAG_LEN)
    p2pc__sim_tag_put(payload, s->now, bc);
  return plen;
}

/* A broadcast from node i now: followed by the oracle when it is
 * accepted. Returns the node's answer. */
static int broadcast_from(p2pc_sim *s, uint32_t i, uint8_t *payload,
                          uint32_t plen) {
  snode *x = &s->nodes[i];
  uint32_t b = p2pc__sim_bc_sent(s, i); /* followed from now on */
  if (plen >= TAG_LEN)
    p2pc__sim_tag_put(payload, s->now, b == UINT32_MAX ? UINT32_MAX : b + 1);
  s->cur_node = i;
  int rv =
      p2pc_node_broadcast(x->n, payload, plen, p2pc__sim_now_of(s, i), NULL);
  if (rv < 0) { /* refused: nothing is owed */
    p2pc__sim_bc_void(s, b);
    s->res.sends_refused++;
  } else {
    s->res.bcasts++;
    p2pc__sim_bc_stamp(s, b, p2pc_causal_last_stamp(p2pc_node_causal(x->n)));
  }
  return rv;
}

static void unaddressable(p2pc_sim *s) {
  s->res.unaddressable++;
  s->sec_unaddr++;
}

/* Sends a tagged message from i to dest (payload: t_send's tag); an
 * AGAIN waits if there is room and `wait`. */
static void send_to(p2pc_sim *s, uint32_t i, uint32_t dest, uint8_t *payload,
                    uint32_t plen, uint64_t t_send, bool wait) {
  snode *x = &s->nodes[i];
  s->cur_node = i;
  int rv = p2pc_node_send(x->n, s->nodes[dest].id, payload, plen,
                          p2pc__sim_now_of(s, i), NULL);
  if (rv == P2PC_ERR_AGAIN) {
    if (!wait || x->npend >= P2PC_SIM_PENDING) {
      s->res.pending_dropped++;
      return;
    }
    s->res.resolve_waits++;
    s->pend[(size_t)i * P2PC_SIM_PENDING + x->npend++] =
        (pend){.dest = dest, .t_send = t_send};
  } else if (rv == P2PC_ERR_NOTFOUND) {
    unaddressable(s);
  } else if (rv < 0) {
    s->res.sends_refused++;
  }
}

/* An alive node other than i, drawn among all: a few draws, then the
 * next alive one after the last draw; UINT32_MAX if none. */
static uint32_t any_node(p2pc_sim *s, uint32_t i) {
  uint32_t n = s->cfg.nodes;
  if (n < 2)
    return UINT32_MAX;
  rng *r = &s->r[R_TRAFFIC];
  uint32_t j = 0;
  for (int t = 0; t < 8; t++) {
    j = (uint32_t)p2pc_rng_below(r, n - 1);
    j = j >= i ? j + 1 : j;
    if (s->nodes[j].alive)
      return j;
  }
  for (uint32_t k = 0; k < n; k++) {
    uint32_t c = (j + k) % n;
    if (c != i && s->nodes[c].alive)
      return c;
  }
  return UINT32_MAX;
}

void p2pc__sim_on_traffic(p2pc_sim *s, uint32_t i) {
  snode *x = &s->nodes[i];
  if (!x->alive)
    return;
  rng *r = &s->r[R_TRAFFIC];
  p2pc__sim_push(s, s->now + (uint64_t)rng_exp(r, 1e9 / s->cfg.rate), E_TRAFFIC,
                 i, 0, NULL);
  if (p2pc__sim_frozen(s, i))
    return; /* the application is frozen with its node */
  uint8_t payload[256];
  uint32_t plen = make_payload(s, payload, 0);
  s->cur_node = i;
  /* The messages sent are counted from their `send` lines (a broadcast
   * that fails part way has sent some); a send the node refuses (at a
   * causal cap: back-pressure) is counted here. */
  int rv = 0;
  if (p2pc_rng_unit(r) < s->cfg.bcast) {
    /* `bcast P`: the neighbour broadcast (one message per peer up), as
     * before; the network-wide one is `broadcast every T`. */
    rv = p2pc_node_broadcast_neighbours(x->n, payload, plen,
                                        p2pc__sim_now_of(s, i), NULL);
  } else if (s->cfg.to_any) {
    uint32_t j = any_node(s, i);
    if (j != UINT32_MAX)
      send_to(s, i, j, payload, plen, s->now, true);
  } else {
    uint32_t np = p2pc_node_peer_count(x->n), up = 0;
    p2pc_peer_info pi;
    for (uint32_t k = 0; k < np; k++)
      if (p2pc_node_peer_info(x->n, k, &pi) && pi.state == P2PC_PEER_UP)
        up++;
    if (!up)
      return;
    uint32_t pick = (uint32_t)p2pc_rng_below(r, up);
    for (uint32_t k = 0; k < np; k++) {
      if (!p2pc_node_peer_info(x->n, k, &pi) || pi.state != P2PC_PEER_UP)
        continue;
      if (pick-- == 0) {
        rv = p2pc_node_send(x->n, pi.id, payload, plen, p2pc__sim_now_of(s, i),
                            NULL);
        break;
      }
    }
  }
  if (rv < 0)
    s->res.sends_refused++;
  p2pc__sim_flush_node(s, i);
}

void p2pc__sim_on_bcast(p2pc_sim *s) {
  uint64_t every = s->cfg.bcast_every_ns;
  p2pc__sim_push(s, s->now + every, E_BCAST, 0, 0, NULL);
  uint32_t n = s->cfg.nodes, i = UINT32_MAX;
  rng *r = &s->r[R_TRAFFIC];
  uint32_t j = (uint32_t)p2pc_rng_below(r, n);
  for (uint32_t k = 0; k < n && i == UINT32_MAX; k++) {
    uint32_t c = (j + k) % n;
    if (s->nodes[c].alive && !p2pc__sim_frozen(s, c))
      i = c;
  }
  if (i == UINT32_MAX)
    return;
  uint8_t payload[256];
  uint32_t plen = make_payload(s, payload, 0);
  broadcast_from(s, i, payload, plen);
  p2pc__sim_flush_node(s, i);
}

void p2pc__sim_resolved_event(p2pc_sim *s, const p2pc_event *e) {
  uint32_t i = s->cur_node, j = p2pc__sim_node_of_id(s, e->peer);
  if (!s->pend || !s->nodes[i].npend || j == UINT32_MAX)
    return;
  p2pc__sim_push(s, s->now, E_RESOLVED, i,
                 j | (e->u.resolved.ok ? RESOLVED_OK : 0), NULL);
}

void p2pc__sim_on_resolved(p2pc_sim *s, uint32_t i, uint32_t b) {
  snode *x = &s->nodes[i];
  uint32_t dest = b & ~RESOLVED_OK;
  bool ok = (b & RESOLVED_OK) != 0;
  if (!x->alive || !s->pend || p2pc__sim_frozen(s, i))
    return; /* a restart cleared them; a frozen node gets it on thaw */
  pend *q = &s->pend[(size_t)i * P2PC_SIM_PENDING];
  /* Take this destination's out first (a retry may queue again). */
  pend mine[P2PC_SIM_PENDING];
  uint32_t nm = 0, keep = 0;
  for (uint32_t k = 0; k < x->npend; k++) {
    if (q[k].dest == dest)
      mine[nm++] = q[k];
    else
      q[keep++] = q[k];
  }
  x->npend = (uint8_t)keep;
  for (uint32_t k = 0; k < nm; k++) {
    if (!ok) {
      unaddressable(s);
      continue;
    }
    uint8_t payload[TAG_LEN + 256];
    uint32_t plen = s->cfg.payload < 256 ? s->cfg.payload : 255;
    memset(payload, 0, plen);
    if (plen >= TAG_LEN)
      p2pc__sim_tag_put(payload, mine[k].t_send, 0);
    send_to(s, i, dest, payload, plen, mine[k].t_send, false);
  }
  if (nm)
    p2pc__sim_flush_node(s, i);
}
