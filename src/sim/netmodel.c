/* SPDX-License-Identifier: MIT */
/*
 * The network model: node addresses (10.x.y.z:9000), partitions, a link's
 * one-way delay (base, asymmetry, exponential jitter with a heavy tail),
 * TCP connections as two FIFO byte streams of timed chunks (bandwidth, a
 * stall for a lost segment, a FIN at the end), UDP datagrams (loss,
 * duplication, reordering), and the events that hand what arrives to the
 * node at the far end: a dial completing or failing, TCP bytes, a
 * datagram.
 */
#include "sim_internal.h"

#include <math.h>
#include <string.h>

p2pc_wire_addr p2pc__sim_addr_of(uint32_t i) {
  p2pc_wire_addr a = {
      .family = 4,
      .addr = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i},
      .port = 9000};
  return a;
}

int64_t p2pc__sim_node_at(const p2pc_sim *s, const p2pc_wire_addr *a) {
  if (a->family != 4 || a->addr[0] != 10 || a->port != 9000)
    return -1;
  uint32_t i =
      (uint32_t)a->addr[1] << 16 | (uint32_t)a->addr[2] << 8 | a->addr[3];
  return i < s->cfg.nodes ? (int64_t)i : -1;
}

bool p2pc__sim_blocked(const p2pc_sim *s, uint32_t i, uint32_t j) {
  for (uint32_t k = 0; k < s->ncuts; k++) {
    const cut *c = &s->cuts[k];
    bool ia = i >= c->a0 && i < c->a1, ib = i >= c->b0 && i < c->b1;
    bool ja = j >= c->a0 && j < c->a1, jb = j >= c->b0 && j < c->b1;
    if ((ia && jb) || (ib && ja))
      return true;
  }
  return false;
}

static const p2pc_sim_link *link_model(const p2pc_sim *s, uint32_t i,
                                       uint32_t j) {
  if (s->cfg.topology == P2PC_SIM_CLUSTERS &&
      s->nodes[i].cluster != s->nodes[j].cluster)
    return &s->cfg.slow_link;
  return &s->link;
}

/* One-way delay i -> j for a packet now. */
uint64_t p2pc__sim_one_way(p2pc_sim *s, uint32_t i, uint32_t j) {
  const p2pc_sim_link *m = link_model(s, i, j);
  double base = (double)m->delay_ns * (i < j ? 1 + m->asym : 1 - m->asym);
  double jit = 0;
  if (m->jitter_ns) {
    jit = rng_exp(&s->r[R_NET], (double)m->jitter_ns);
    if (m->heavy > 0 && p2pc_rng_unit(&s->r[R_NET]) < m->heavy)
      jit *= 10 / pow(1 - p2pc_rng_unit(&s->r[R_NET]), 0.5);
  }
  double d = base + jit;
  return d < 1000 ? 1000 : (uint64_t)d;
}

conn *p2pc__sim_conn_get(p2pc_sim *s, uint32_t i, p2pc_link_id l, int *side) {
  snode *x = &s->nodes[i];
  if (l >= x->nlinks || !x->conn_of[l])
    return NULL;
  conn *c = &s->conns[x->conn_of[l] - 1];
  *side = c->end[0] == i && c->link[0] == l && c->open[0] ? 0 : 1;
  return c;
}

static void dir_schedule(p2pc_sim *s, uint32_t ci, int d) {
  dir *q = &s->conns[ci].d[d];
  if (q->scheduled || !q->head)
    return;
  q->scheduled = true;
  p2pc__sim_push(s, q->head->ready, E_TCP, ci, (uint32_t)d, NULL);
}

/* The bytes of a chunk of size class cls (below CHUNK_CLASSES). */
static size_t class_size(uint8_t cls) {
  return (size_t)1 << (cls + CHUNK_MIN_SHIFT);
}

/* A chunk with room for len bytes: from the pool, else malloc'd at the
 * size of its class (a chunk larger than every class: at its own size,
 * class CHUNK_CLASSES, never pooled). */
static chunk *chunk_new(p2pc_sim *s, size_t len) {
  size_t need = sizeof(chunk) + len;
  uint8_t cls = 0;
  while (cls < CHUNK_CLASSES && class_size(cls) < need)
    cls++;
  chunk *k;
  if (cls < CHUNK_CLASSES && s->pool[cls]) {
    k = s->pool[cls];
    s->pool[cls] = k->next;
    s->pool_bytes -= class_size(cls);
  } else {
    k = p2pc__sim_xrealloc(s, NULL,
                           cls < CHUNK_CLASSES ? class_size(cls) : need);
  }
  k->cls = cls;
  return k;
}

void p2pc__sim_chunk_free(p2pc_sim *s, chunk *k) {
  size_t size = k->cls < CHUNK_CLASSES ? class_size(k->cls) : SIZE_MAX;
  if (size > CHUNK_POOL_MAX - s->pool_bytes) {
    p2pc__sim_xfree(s, k);
    return;
  }
  k->next = s->pool[k->cls];
  s->pool[k->cls] = k;
  s->pool_bytes += size;
}

void p2pc__sim_chunk_pool_free(p2pc_sim *s) {
  for (uint8_t c = 0; c < CHUNK_CLASSES; c++)
    for (chunk *k = s->pool[c], *nx; k; k = nx) {
      nx = k->next;
      p2pc__sim_xfree(s, k);
    }
  memset(s->pool, 0, sizeof s->pool);
  s->pool_bytes = 0;
}

void p2pc__sim_dir_append(p2pc_sim *s, uint32_t ci, int d, const uint8_t *p,
                          size_t len) {
  conn *c = &s->conns[ci];
  dir *q = &c->d[d];
  uint32_t from = c->end[d], to = c->end[1 - d];
  const p2pc_sim_link *m = link_model(s, from, to);
  chunk *k = chunk_new(s, len);
  k->next = NULL;
  k->len = (uint32_t)len;
  if (len)
    memcpy(k->data, p, len);
  uint64_t start = s->now > q->busy_until ? s->now : q->busy_until;
  if (m->bandwidth_bps > 0)
    start += (uint64_t)((double)len * 8e9 / m->bandwidth_bps);
  q->busy_until = start;
  uint64_t at = start + p2pc__sim_one_way(s, from, to);
  if (m->loss > 0 && p2pc_rng_unit(&s->r[R_NET]) < m->loss)
    at += STALL_NS; /* TCP recovers a lost segment late, never out of order */
  if (at < q->last_arrive)
    at = q->last_arrive;
  q->last_arrive = at;
  k->ready = at;
  if (q->tail)
    q->tail->next = k;
  else
    q->head = k;
  q->tail = k;
  s->sec_bytes += len;
  dir_schedule(s, ci, d);
}

void p2pc__sim_dir_clear(p2pc_sim *s, dir *q) {
  for (chunk *k = q->head, *nx; k; k = nx) {
    nx = k->next;
    p2pc__sim_chunk_free(s, k);
  }
  q->head = q->tail = NULL;
}

static void conn_release(p2pc_sim *s, uint32_t ci) {
  conn *c = &s->conns[ci];
  if (c->open[0] || c->open[1] || c->d[0].scheduled || c->d[1].scheduled)
    return;
  p2pc__sim_dir_clear(s, &c->d[0]);
  p2pc__sim_dir_clear(s, &c->d[1]);
  c->end[0] = c->end[1] = UINT32_MAX;
  s->freeconns[s->nfree++] = ci;
}

/* End `side` of conn ci loses its link (it closed it, or it died). */
void p2pc__sim_conn_drop_end(p2pc_sim *s, uint32_t ci, int side) {
  conn *c = &s->conns[ci];
  if (!c->open[side])
    return;
  c->open[side] = false;
  snode *x = &s->nodes[c->end[side]];
  if (c->link[side] < x->nlinks)
    x->conn_of[c->link[side]] = 0;
}

void p2pc__sim_flush_dgrams(p2pc_sim *s, uint32_t i) {
  snode *x = &s->nodes[i];
  p2pc_datagram d;
  p2pc_drive_clock dc = p2pc__sim_clock(s);
  while (x->alive && p2pc_drive_pop_datagram(x->n, i, &dc, true, &d)) {
    int64_t t = p2pc__sim_node_at(s, &d.to);
    s->sec_bytes += d.len;
    if (s->now >= s->cfg.dgram_after_ns)
      s->res.dgrams_after++;
    if (t < 0 || p2pc__sim_blocked(s, i, (uint32_t)t))
      continue;
    const p2pc_sim_link *m = link_model(s, i, (uint32_t)t);
    if (m->loss > 0 && p2pc_rng_unit(&s->r[R_NET]) < m->loss)
      continue;
    int copies = m->dup > 0 && p2pc_rng_unit(&s->r[R_NET]) < m->dup ? 2 : 1;
    for (int k = 0; k < copies; k++) {
      p2pc_datagram *cp = p2pc__sim_xrealloc(s, NULL, sizeof *cp);
      *cp = d;
      uint64_t at = s->now + p2pc__sim_one_way(s, i, (uint32_t)t);
      if (m->reorder > 0 && p2pc_rng_unit(&s->r[R_NET]) < m->reorder)
        at +=
            (uint64_t)(2 * p2pc_rng_unit(&s->r[R_NET]) * (double)m->jitter_ns);
      p2pc__sim_push(s, at, E_DGRAM, (uint32_t)t, i, cp);
    }
  }
}

static uint32_t conn_new(p2pc_sim *s) {
  if (s->nfree)
    return s->freeconns[--s->nfree];
  if (s->nconns == s->capconns) {
    uint32_t cap = s->capconns ? 2 * s->capconns : 1024;
    s->conns = p2pc__sim_xrealloc(s, s->conns, cap * sizeof *s->conns);
    s->freeconns =
        p2pc__sim_xrealloc(s, s->freeconns, cap * sizeof *s->freeconns);
    s->capconns = cap;
  }
  return s->nconns++;
}

void p2pc__sim_on_dial(p2pc_sim *s, uint32_t i, uint32_t t, p2pc_action *a) {
  snode *x = &s->nodes[i];
  if (!x->alive)
    return;
  s->cur_node = i;
  if (t == UINT32_MAX || !s->nodes[t].alive || p2pc__sim_blocked(s, i, t)) {
    p2pc_node_dial_failed(x->n, &a->addr, a->peer, p2pc__sim_now_of(s, i));
    p2pc__sim_flush_node(s, i);
    return;
  }
  uint32_t ci = conn_new(s);
  conn *c = &s->conns[ci];
  memset(c, 0, sizeof *c);
  c->end[0] = i;
  c->end[1] = t;
  p2pc_link_id la, lb;
  if (p2pc_node_link_new(x->n, true, a->peer, &a->addr, p2pc__sim_now_of(s, i),
                         &la)) {
    p2pc_node_dial_failed(x->n, &a->addr, a->peer, p2pc__sim_now_of(s, i));
    c->end[0] = c->end[1] = UINT32_MAX;
    s->freeconns[s->nfree++] = ci;
    p2pc__sim_flush_node(s, i);
    return;
  }
  c->link[0] = la;
  c->open[0] = true;
  x->conn_of[la] = ci + 1;
  s->cur_node = t;
  if (p2pc_node_link_new(s->nodes[t].n, false, NULL, NULL,
                         p2pc__sim_now_of(s, t), &lb)) {
    /* the far end refuses: the dialer sees it close */
    p2pc__sim_dir_append(s, ci, 1, NULL, 0);
  } else {
    c->link[1] = lb;
    c->open[1] = true;
    s->nodes[t].conn_of[lb] = ci + 1;
    p2pc__sim_flush_node(s, t);
  }
  s->cur_node = i;
  p2pc__sim_flush_node(s, i);
}

void p2pc__sim_on_tcp(p2pc_sim *s, uint32_t ci, int d) {
  conn *c = &s->conns[ci];
  dir *q = &c->d[d];
  q->scheduled = false;
  chunk *k = q->head;
  if (!k) {
    conn_release(s, ci);
    return;
  }
  uint32_t from = c->end[d], to = c->end[1 - d];
  if (to < s->cfg.nodes && p2pc__sim_frozen(s, to) && c->open[1 - d]) {
    /* a frozen node reads nothing: it waits in the connection */
    q->scheduled = true;
    p2pc__sim_push(s, s->nodes[to].frozen_until, E_TCP, ci, (uint32_t)d, NULL);
    return;
  }
  if (k->len &&
      p2pc__sim_blocked(s, from, to)) { /* stalled until the cut heals */
    k->ready = s->now + RETRY_NS;
    dir_schedule(s, ci, d);
    return;
  }
  q->head = k->next;
  if (!q->head)
    q->tail = NULL;
  int side = 1 - d;
  if (c->open[side] && s->nodes[to].alive) {
    snode *x = &s->nodes[to];
    s->cur_node = to;
    if (k->len == 0) {
      p2pc_link_id l = c->link[side];
      p2pc__sim_conn_drop_end(s, ci, side);
      p2pc_node_link_closed(x->n, l, p2pc__sim_now_of(s, to));
    } else if (p2pc_node_link_input(x->n, c->link[side], k->data, k->len,
                                    p2pc__sim_now_of(s, to)) < 0) {
      /* the node asked to close: do_actions will */
    }
    p2pc__sim_flush_node(s, to);
  }
  p2pc__sim_chunk_free(s, k);
  dir_schedule(s, ci, d);
  conn_release(s, ci);
}

void p2pc__sim_on_dgram(p2pc_sim *s, uint32_t to, uint32_t from,
                        p2pc_datagram *d) {
  snode *x = &s->nodes[to];
  if (x->alive) {
    s->cur_node = to;
    p2pc_wire_addr fa = p2pc__sim_addr_of(from);
    p2pc_drive_clock dc = p2pc__sim_clock(s);
    p2pc_drive_datagram_in(x->n, to, &dc, &fa, d, NULL);
    p2pc__sim_flush_node(s, to);
  }
  p2pc__sim_xfree(s, d);
}
