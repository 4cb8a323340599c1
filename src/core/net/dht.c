/* SPDX-License-Identifier: MIT */
/* The routing table and the lookups: see dht.h. */
#include "dht.h"

#include "dgram.h"
#include "idtab.h"
#include "num.h"
#include "rng.h"

#include <string.h>

/* Records are kept compact (frame.h: no signature in version 3). */
typedef struct entry {
  p2pc_wire_crec rec;
  uint64_t key;
  uint64_t seen_ns; /* last heard from (0: only heard of) */
  uint32_t fails;   /* requests unanswered since */
} entry;

/* e[0..n) least recently seen first; e grows up to P2PC_DHT_K. */
typedef struct bucket {
  entry *e;
  uint32_t n, cap;
  bool has_pending;
  entry pending; /* the newest contact that found the bucket full */
} bucket;

enum { C_NEW, C_ASKED, C_ANSWERED, C_FAILED };

typedef struct cand {
  p2pc_wire_crec rec;
  uint64_t dist; /* key ^ target */
  uint64_t token, sent_ns;
  uint8_t st;
  uint8_t hop; /* its round: 0 for the table's, 1 + its teller's */
} cand;

typedef struct lookup {
  char id[P2PC_NODE_ID_MAX + 1]; /* "" : a key lookup of ours */
  uint64_t target;
  bool done, found;
  p2pc_wire_crec rec;
  uint32_t rounds, queries, inflight;
  cand c[P2PC_DHT_SHORTLIST]; /* nearest first */
  uint32_t nc;
} lookup;

struct p2pc_dht {
  const p2pc_allocator *a;
  p2pc_wire_record self;
  uint64_t key;
  p2pc_rng rng;
  bucket *b[P2PC_DHT_BUCKETS];
  lookup *l[P2PC_DHT_MAX_LOOKUPS];
  p2pc_datagram *q; /* a ring of qcap, qn from qhead */
  uint32_t qcap, qn, qhead;
  /* Bit i set: l[i] holds a lookup. The passes over the lookups, after
   * every call, visit only those (in slot order, as a scan would); it sits
   * in what was padding, so the table's size is as it was. */
  uint32_t lmask;
  p2pc_wire_crec cache[P2PC_DHT_CACHE]; /* found by lookups, a ring */
  uint32_t ncache, cachenext;
  p2pc_buf out; /* one datagram being built */
  size_t dgmax; /* a datagram's size: less the MAC in secure mode */
  p2pc_dht_stats st;
};

/* The lowest set bit of m (m != 0): the first lookup slot in use. */
static int lowest(uint32_t m) { return __builtin_ctz(m); }

_Static_assert(P2PC_DHT_MAX_LOOKUPS <= 32, "lmask has a bit per lookup");

uint64_t p2pc_dht_key(const char *id) {
  uint64_t h = p2pc_fnv1a64(id, strlen(id));
  return p2pc_splitmix64(&h);
}

static int bucket_of(const p2pc_dht *d, uint64_t key) {
  uint64_t x = d->key ^ key;
  if (!x)
    return -1; /* our own key */
  int i = 63;
  while (!(x >> i))
    i--;
  return i;
}

static bool usable(const p2pc_wire_record *r) {
  return r->addr.family && r->time_port && r->id[0];
}

int p2pc_dht_new(p2pc_dht **out, const p2pc_allocator *a,
                 const p2pc_wire_record *self, uint64_t seed) {
  p2pc_dht *d = a->realloc(NULL, sizeof *d, a->ud);
  if (!d)
    return P2PC_ERR_NOMEM;
  memset(d, 0, sizeof *d);
  d->a = a;
  d->self = *self;
  d->key = p2pc_dht_key(self->id);
  p2pc_rng_seed(&d->rng, seed, 0x646874u);
  p2pc_buf_init(&d->out, a, P2PC_DATAGRAM_MAX);
  d->dgmax = P2PC_DATAGRAM_MAX;
  d->st.bytes = sizeof *d;
  *out = d;
  return 0;
}

void p2pc_dht_set_datagram_max(p2pc_dht *d, size_t max) {
  if (max <= P2PC_DATAGRAM_MAX)
    d->dgmax = max;
}

void p2pc_dht_free(p2pc_dht *d) {
  if (!d)
    return;
  for (int i = 0; i < P2PC_DHT_BUCKETS; i++) {
    if (d->b[i])
      d->a->free(d->b[i]->e, d->a->ud);
    d->a->free(d->b[i], d->a->ud);
  }
  for (int i = 0; i < P2PC_DHT_MAX_LOOKUPS; i++)
    d->a->free(d->l[i], d->a->ud);
  d->a->free(d->q, d->a->ud);
  p2pc_buf_fini(&d->out);
  d->a->free(d, d->a->ud);
}

const p2pc_wire_record *p2pc_dht_self(const p2pc_dht *d) { return &d->self; }

/* ---- the table ------------------------------------------------------------
 */

static entry *find_entry(const p2pc_dht *d, const char *id, uint64_t key,
                         bucket **bo) {
  int bi = bucket_of(d, key);
  bucket *b = bi >= 0 ? d->b[bi] : NULL;
  if (bo)
    *bo = b;
  for (uint32_t i = 0; b && i < b->n; i++)
    if (b->e[i].key == key && strcmp(b->e[i].rec.id, id) == 0)
      return &b->e[i];
  return NULL;
}

/* Entry i of b moves to the most recently seen end. */
static void to_back(bucket *b, uint32_t i) {
  entry e = b->e[i];
  memmove(&b->e[i], &b->e[i + 1], (b->n - 1 - i) * sizeof e);
  b->e[b->n - 1] = e;
}

static void remove_at(bucket *b, uint32_t i) {
  memmove(&b->e[i], &b->e[i + 1], (b->n - 1 - i) * sizeof b->e[0]);
  b->n--;
}

void p2pc_dht_learn(p2pc_dht *d, const p2pc_wire_record *rec, bool direct,
                    uint64_t now_ns) {
  if (!usable(rec) || strcmp(rec->id, d->self.id) == 0)
    return;
  uint64_t key = p2pc_dht_key(rec->id);
  int bi = bucket_of(d, key);
  if (bi < 0)
    return; /* a node whose key is ours cannot be placed */
  bucket *b;
  entry *e = find_entry(d, rec->id, key, &b);
  if (e) {
    if (rec->incarnation >= e->rec.incarnation)
      p2pc_wire_crec_pack(&e->rec, rec);
    if (direct) {
      e->seen_ns = now_ns;
      e->fails = 0;
      to_back(b, (uint32_t)(e - b->e));
    }
    return;
  }
  if (!b) {
    b = d->a->realloc(NULL, sizeof *b, d->a->ud);
    if (!b)
      return; /* best effort: a table without this bucket still works */
    memset(b, 0, sizeof *b);
    d->b[bi] = b;
    d->st.buckets++;
    d->st.bytes += sizeof *b;
  }
  entry ne = {.key = key, .seen_ns = direct ? now_ns : 0};
  p2pc_wire_crec_pack(&ne.rec, rec);
  if (b->n < P2PC_DHT_K && b->n == b->cap) {
    uint32_t cap = b->cap ? b->cap * 2 : 2;
    cap = cap < P2PC_DHT_K ? cap : P2PC_DHT_K;
    entry *x = d->a->realloc(b->e, cap * sizeof *x, d->a->ud);
    if (!x)
      return; /* best effort, as above */
    d->st.bytes += (cap - b->cap) * sizeof *x;
    b->e = x;
    b->cap = cap;
  }
  if (b->n < P2PC_DHT_K) {
    if (direct) {
      b->e[b->n++] = ne;
    } else { /* heard of only: the least recently seen */
      memmove(&b->e[1], &b->e[0], b->n * sizeof ne);
      b->e[0] = ne;
      b->n++;
    }
    d->st.entries++;
    return;
  }
  if (!direct)
    return;
  /* Full: the entry that failed most (the least recently seen of those)
   * gives way; if none failed, the contact waits as the pending one. */
  uint32_t worst = P2PC_DHT_K;
  for (uint32_t i = 0; i < b->n; i++)
    if (b->e[i].fails &&
        (worst == P2PC_DHT_K || b->e[i].fails > b->e[worst].fails))
      worst = i;
  if (worst < P2PC_DHT_K) {
    remove_at(b, worst);
    b->e[b->n++] = ne;
    return;
  }
  b->pending = ne;
  b->has_pending = true;
}

/* A request to id went unanswered: its entry is marked failed, and the
 * bucket's pending contact takes its place. */
static void entry_failed(p2pc_dht *d, const char *id) {
  bucket *b;
  entry *e = find_entry(d, id, p2pc_dht_key(id), &b);
  if (!e)
    return;
  e->fails++;
  if (b->has_pending) {
    remove_at(b, (uint32_t)(e - b->e));
    b->e[b->n++] = b->pending;
    b->has_pending = false;
  }
}

bool p2pc_dht_get(const p2pc_dht *d, const char *id, p2pc_wire_record *out) {
  const entry *e = find_entry(d, id, p2pc_dht_key(id), NULL);
  if (e) {
    p2pc_wire_crec_unpack(out, &e->rec);
    return true;
  }
  for (uint32_t i = 0; i < d->ncache; i++)
    if (strcmp(d->cache[i].id, id) == 0) {
      p2pc_wire_crec_unpack(out, &d->cache[i]);
      return true;
    }
  return false;
}

size_t p2pc_dht_closest(const p2pc_dht *d, uint64_t key, p2pc_wire_record *out,
                        size_t k) {
  const entry *best[P2PC_DHT_SHORTLIST];
  size_t n = 0;
  if (k > P2PC_DHT_SHORTLIST)
    k = P2PC_DHT_SHORTLIST;
  for (int bi = 0; bi < P2PC_DHT_BUCKETS; bi++) {
    const bucket *b = d->b[bi];
    for (uint32_t i = 0; b && i < b->n; i++) {
      const entry *e = &b->e[i];
      uint64_t x = e->key ^ key;
      size_t at = n;
      while (at > 0 && (best[at - 1]->key ^ key) > x)
        at--;
      if (at >= k)
        continue;
      if (n < k)
        n++;
      memmove(&best[at + 1], &best[at], (n - 1 - at) * sizeof best[0]);
      best[at] = e;
    }
  }
  for (size_t i = 0; i < n; i++)
    p2pc_wire_crec_unpack(&out[i], &best[i]->rec);
  return n;
}

/* ---- datagrams out ---------------------------------------------------------
 */

static void queue_out(p2pc_dht *d, const p2pc_wire_addr *to, uint16_t port) {
  if (d->qn == d->qcap) {
    uint32_t cap = d->qcap ? d->qcap * 2 : 8;
    p2pc_datagram *q = cap <= P2PC_DHT_OUTQ
                           ? d->a->realloc(NULL, cap * sizeof *q, d->a->ud)
                           : NULL;
    if (!q) {
      d->st.tx_dropped++;
      return;
    }
    for (uint32_t i = 0; i < d->qn; i++)
      q[i] = d->q[(d->qhead + i) % d->qcap];
    d->a->free(d->q, d->a->ud);
    d->st.bytes += (cap - d->qcap) * sizeof *q;
    d->q = q;
    d->qcap = cap;
    d->qhead = 0;
  }
  p2pc_datagram *g = &d->q[(d->qhead + d->qn++) % d->qcap];
  memset(g, 0, sizeof *g);
  g->to = *to;
  g->to.port = port;
  memcpy(g->data, d->out.data, d->out.len);
  g->len = (uint16_t)d->out.len;
  d->st.tx++;
}

bool p2pc_dht_pop(p2pc_dht *d, p2pc_datagram *out) {
  if (!d->qn)
    return false;
  *out = d->q[d->qhead];
  d->qhead = (d->qhead + 1) % d->qcap;
  d->qn--;
  return true;
}

/* ---- lookups ------------------------------------------------------------- */

static void add_cand(lookup *l, const p2pc_dht *d, const p2pc_wire_record *r,
                     uint8_t hop) {
  if (!usable(r) || strcmp(r->id, d->self.id) == 0)
    return;
  for (uint32_t i = 0; i < l->nc; i++)
    if (strcmp(l->c[i].rec.id, r->id) == 0)
      return;
  uint64_t dist = p2pc_dht_key(r->id) ^ l->target;
  uint32_t at = l->nc;
  while (at > 0 && l->c[at - 1].dist > dist)
    at--;
  if (at >= P2PC_DHT_SHORTLIST)
    return;
  if (l->nc == P2PC_DHT_SHORTLIST) { /* the farthest gives way */
    if (l->c[l->nc - 1].st == C_ASKED)
      l->inflight--;
    l->nc--;
  }
  memmove(&l->c[at + 1], &l->c[at], (l->nc - at) * sizeof l->c[0]);
  cand *c = &l->c[at];
  memset(c, 0, sizeof *c);
  p2pc_wire_crec_pack(&c->rec, r);
  c->dist = dist;
  c->hop = hop;
  l->nc++;
}

static void finish(p2pc_dht *d, lookup *l, const p2pc_wire_record *rec) {
  l->done = true;
  if (rec) {
    l->found = true;
    p2pc_wire_crec_pack(&l->rec, rec);
    d->cache[d->cachenext] = l->rec;
    d->cachenext = (d->cachenext + 1) % P2PC_DHT_CACHE;
    if (d->ncache < P2PC_DHT_CACHE)
      d->ncache++;
  }
}

/* Sends what the lookup may, or ends it when nothing is left to ask. */
static void pump(p2pc_dht *d, lookup *l, uint64_t now_ns) {
  if (l->done)
    return;
  bool open = false; /* a request to one of the k nearest may still go */
  uint32_t seen = 0;
  for (uint32_t i = 0; i < l->nc && seen < P2PC_DHT_K; i++) {
    cand *c = &l->c[i];
    if (c->st == C_FAILED)
      continue;
    seen++;
    if (c->st != C_NEW)
      continue;
    if (l->inflight >= P2PC_DHT_ALPHA || l->queries >= P2PC_DHT_MAX_QUERIES) {
      open = l->queries < P2PC_DHT_MAX_QUERIES;
      continue;
    }
    p2pc_buf_reset(&d->out);
    c->token = p2pc_rng_next(&d->rng) | 1; /* 0 is no token */
    if (p2pc_dgram_findnode_put(&d->out, d->dgmax, c->token, &d->self,
                                l->target) != 0) {
      c->st = C_FAILED; /* cannot happen: a record always fits */
      continue;
    }
    queue_out(d, &c->rec.addr, c->rec.time_port);
    c->st = C_ASKED;
    c->sent_ns = now_ns;
    l->inflight++;
    l->queries++;
    if ((uint32_t)c->hop + 1 > l->rounds)
      l->rounds = (uint32_t)c->hop + 1;
  }
  if (!open && l->inflight == 0)
    finish(d, l, NULL);
}

static lookup *lookup_new(p2pc_dht *d, const char *id, uint64_t target) {
  int slot = -1;
  for (int i = 0; i < P2PC_DHT_MAX_LOOKUPS && slot < 0; i++)
    if (!d->l[i])
      slot = i;
  if (slot < 0)
    return NULL;
  lookup *l = d->a->realloc(NULL, sizeof *l, d->a->ud);
  if (!l)
    return NULL;
  memset(l, 0, sizeof *l);
  memcpy(l->id, id, strlen(id) + 1);
  l->target = target;
  d->l[slot] = l;
  d->lmask |= 1u << slot;
  d->st.bytes += sizeof *l;
  p2pc_wire_record near[P2PC_DHT_K];
  size_t k = p2pc_dht_closest(d, target, near, P2PC_DHT_K);
  for (size_t i = 0; i < k; i++)
    add_cand(l, d, &near[i], 0);
  return l;
}

int p2pc_dht_find(p2pc_dht *d, const char *id, uint64_t now_ns) {
  if (!id || !p2pc_node_id_valid(id, strlen(id)) || strcmp(id, d->self.id) == 0)
    return P2PC_ERR_INVAL;
  p2pc_wire_record r;
  if (p2pc_dht_get(d, id, &r))
    return 1;
  for (int i = 0; i < P2PC_DHT_MAX_LOOKUPS; i++)
    if (d->l[i] && strcmp(d->l[i]->id, id) == 0)
      return 0;
  lookup *l = lookup_new(d, id, p2pc_dht_key(id));
  if (!l)
    return P2PC_ERR_FULL;
  pump(d, l, now_ns);
  return 0;
}

int p2pc_dht_lookup_key(p2pc_dht *d, uint64_t key, uint64_t now_ns) {
  lookup *l = lookup_new(d, "", key);
  if (!l)
    return P2PC_ERR_FULL;
  pump(d, l, now_ns);
  return 0;
}

uint64_t p2pc_dht_refresh_key(p2pc_dht *d) {
  int lo = 0;
  while (lo < 63 && !(d->b[lo] && d->b[lo]->n))
    lo++;
  int bi = lo + (int)p2pc_rng_below(&d->rng, (uint64_t)(64 - lo));
  uint64_t low = bi ? p2pc_rng_next(&d->rng) & ((1ull << bi) - 1) : 0;
  return d->key ^ ((1ull << bi) | low);
}

bool p2pc_dht_pop_result(p2pc_dht *d, p2pc_dht_result *r) {
  for (uint32_t m = d->lmask; m; m &= m - 1) {
    int i = lowest(m);
    lookup *l = d->l[i]; /* in lmask: held */
    if (!l->done)
      continue;
    memset(r, 0, sizeof *r);
    memcpy(r->id, l->id, sizeof r->id);
    r->found = l->found;
    if (l->found)
      p2pc_wire_crec_unpack(&r->rec, &l->rec);
    r->rounds = l->rounds;
    r->queries = l->queries;
    if (l->id[0]) {
      d->st.lookups++;
      d->st.queries_sum += l->queries;
      if (l->found) {
        d->st.found++;
        d->st.rounds_sum += l->rounds;
        if (l->rounds > d->st.rounds_max)
          d->st.rounds_max = l->rounds;
      }
    } else {
      d->st.refreshes++;
    }
    d->a->free(l, d->a->ud);
    d->l[i] = NULL;
    d->lmask &= ~(1u << i);
    d->st.bytes -= sizeof *l;
    return true;
  }
  return false;
}

/* ---- datagrams in -------------------------------------------------------- */

static void serve(p2pc_dht *d, const p2pc_wire_addr *from,
                  const p2pc_dgram *g) {
  p2pc_wire_record near[P2PC_DHT_K + 1];
  size_t k = p2pc_dht_closest(d, g->target, near, P2PC_DHT_K + 1);
  size_t w = 0; /* the asker need not hear of itself */
  for (size_t i = 0; i < k && w < P2PC_DHT_K; i++)
    if (strcmp(near[i].id, g->sender.id) != 0)
      near[w++] = near[i];
  p2pc_buf_reset(&d->out);
  if (p2pc_dgram_nodes_put(&d->out, d->dgmax, g->token, &d->self, near, w) < 0)
    return;
  queue_out(d, from, from->port);
  d->st.served++;
}

static void answered(p2pc_dht *d, const p2pc_dgram *g, uint64_t now_ns) {
  for (int i = 0; i < P2PC_DHT_MAX_LOOKUPS; i++) {
    lookup *l = d->l[i];
    for (uint32_t j = 0; l && !l->done && j < l->nc; j++) {
      cand *c = &l->c[j];
      if (c->st != C_ASKED || c->token != g->token ||
          strcmp(c->rec.id, g->sender.id) != 0)
        continue;
      c->st = C_ANSWERED;
      l->inflight--;
      uint8_t hop = c->hop < 254 ? (uint8_t)(c->hop + 1) : c->hop;
      if (l->id[0] && strcmp(g->sender.id, l->id) == 0) {
        finish(d, l, &g->sender);
        return;
      }
      for (uint32_t k = 0; k < g->count; k++)
        if (l->id[0] && strcmp(g->nodes[k].id, l->id) == 0) {
          finish(d, l, &g->nodes[k]);
          return;
        }
      for (uint32_t k = 0; k < g->count; k++)
        add_cand(l, d, &g->nodes[k], hop);
      pump(d, l, now_ns);
      return;
    }
  }
  d->st.rx_bogus++;
}

void p2pc_dht_input(p2pc_dht *d, const p2pc_wire_addr *from, const uint8_t *b,
                    size_t len, uint64_t now_ns) {
  p2pc_dgram g;
  d->st.rx++;
  if (p2pc_dgram_get(b, len, d->dgmax, &g) < 0) {
    d->st.rx_malformed++;
    return;
  }
  if (!d->self.time_port || strcmp(g.sender.id, d->self.id) == 0)
    return; /* we take no part; or a reflection of our own */
  /* The sender is learned as alive only where it says it is: a record
   * whose address is not the datagram's source goes nowhere (it may be
   * behind a translation, or lying). */
  bool here =
      from && g.sender.addr.family == from->family &&
      g.sender.time_port == from->port &&
      memcmp(g.sender.addr.addr, from->addr, from->family == 4 ? 4 : 16) == 0;
  if (here)
    p2pc_dht_learn(d, &g.sender, true, now_ns);
  if (g.type == P2PC_DGRAM_FINDNODE) {
    if (from)
      serve(d, from, &g);
  } else {
    answered(d, &g, now_ns);
  }
}

/* ---- time ---------------------------------------------------------------- */

void p2pc_dht_on_deadline(p2pc_dht *d, uint64_t now_ns) {
  for (uint32_t m = d->lmask; m; m &= m - 1) {
    lookup *l = d->l[lowest(m)];
    if (l->done)
      continue;
    for (uint32_t j = 0; j < l->nc; j++) {
      cand *c = &l->c[j];
      if (c->st != C_ASKED || now_ns - c->sent_ns < P2PC_DHT_TIMEOUT_NS)
        continue;
      c->st = C_FAILED;
      l->inflight--;
      d->st.timeouts++;
      entry_failed(d, c->rec.id);
    }
    pump(d, l, now_ns);
  }
}

uint64_t p2pc_dht_next_deadline(const p2pc_dht *d) {
  uint64_t t = UINT64_MAX;
  for (uint32_t m = d->lmask; m; m &= m - 1) {
    const lookup *l = d->l[lowest(m)];
    if (l->done) /* a result: the caller pops it after each call */
      continue;
    for (uint32_t j = 0; j < l->nc; j++)
      if (l->c[j].st == C_ASKED && l->c[j].sent_ns + P2PC_DHT_TIMEOUT_NS < t)
        t = l->c[j].sent_ns + P2PC_DHT_TIMEOUT_NS;
  }
  return t;
}

void p2pc_dht_stats_get(const p2pc_dht *d, p2pc_dht_stats *s) { *s = d->st; }
