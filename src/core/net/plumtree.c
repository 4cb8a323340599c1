/* SPDX-License-Identifier: MIT */
/*
 * Plumtree (plumtree.h) with one tree per origin: a small table of the
 * origins heard from lately, each with its lazy links (one bit a link;
 * a link not marked lazy is eager), least recently used out first; and
 * one table of the broadcast ids this node knows — missing (announced,
 * not received), received with its bytes cached, or received and its
 * bytes dropped. The id table is a ring in arrival order (so the oldest
 * leaves first, by count and by age) indexed by an open-addressing hash
 * of (origin, n).
 */
#include "plumtree.h"
#include "types.h"

#include "sescodec.h"

#include <string.h>

enum { M_NONE, M_UP };
enum { R_MISSING, R_HAVE, R_SEEN };

#define NO_LINK_PT UINT32_MAX

typedef struct ptrec {
  uint64_t seq; /* its place in arrival order */
  uint64_t n, round;
  uint64_t at_ns;    /* first heard of */
  uint64_t timer_ns; /* missing: the next GRAFT is due (0: none) */
  uint8_t *msg;      /* received: the message, while cached */
  size_t len;
  uint32_t hash;
  uint32_t from; /* the link of the first copy; NO_LINK_PT: our own */
  uint8_t state, olen, nann;
  bool undelivered; /* the causal layer has not taken it yet */
  bool first;       /* its origin's first message here: copies prune nothing */
  char origin[P2PC_ID_MAX + 1];
  uint32_t ann_link[P2PC_PT_MAX_ANNOUNCERS]; /* missing: who announced it */
  uint64_t ann_round[P2PC_PT_MAX_ANNOUNCERS];
} ptrec;

/* An origin's tree: the links lazy for its messages. Followed in the
 * table by its bits, (max_links + 7) / 8 bytes. */
typedef struct ptorigin {
  uint64_t used;    /* the table's use count at its last message: LRU */
  uint64_t born_ns; /* its first message here; forgotten tree_ns later */
  uint32_t hash;
  uint8_t olen;
  char origin[P2PC_ID_MAX + 1];
} ptorigin;

/* An announcement due at the next flush: the id of seq, on link. */
typedef struct ptann {
  uint64_t seq;
  uint32_t link;
} ptann;

struct p2pc_pt {
  const p2pc_allocator *a;
  p2pc_pt_config cfg;
  p2pc_pt_hooks h;
  uint8_t *org; /* norg of caporg origins, ostride bytes each */
  uint32_t norg, caporg;
  size_t ostride;
  uint64_t uses;
  uint8_t *mode;  /* per link: M_* */
  uint8_t *fresh; /* per link: up since the last flush (told the backlog) */
  ptrec *rec;     /* ring of cap (a power of two) records */
  uint32_t cap;
  uint64_t head, tail; /* the records held are the seqs [head, tail) */
  uint64_t bhead;      /* no record below this holds bytes */
  uint64_t *slots;     /* hash: seq + 1, 0 = empty; nslots = 2 x cap */
  uint32_t nslots;
  ptann *ann; /* to announce at the flush: nann of capann */
  uint32_t nann, capann;
  uint64_t ann_due, retry_at;
  uint32_t ncached, nmissing, ntimers, nundelivered;
  size_t bytes;
  p2pc_pt_stats st;
};

void p2pc_pt_config_default(p2pc_pt_config *c) {
  memset(c, 0, sizeof *c);
  c->cache = P2PC_PT_CACHE_DEFAULT;
  c->cache_bytes = P2PC_PT_CACHE_BYTES_DEFAULT;
  c->max_ids = 4 * P2PC_PT_CACHE_DEFAULT;
  c->cache_ns = P2PC_PT_CACHE_NS_DEFAULT;
  c->graft_ns = P2PC_PT_GRAFT_NS_DEFAULT;
  c->graft_next_ns = P2PC_PT_GRAFT_NEXT_NS_DEFAULT;
  c->ihave_ns = P2PC_PT_IHAVE_NS_DEFAULT;
  c->retry_ns = P2PC_PT_RETRY_NS_DEFAULT;
  c->max_origins = P2PC_PT_MAX_ORIGINS_DEFAULT;
  c->tree_ns = P2PC_PT_TREE_NS_DEFAULT;
}

int p2pc_pt_new(p2pc_pt **out, const p2pc_allocator *a,
                const p2pc_pt_config *cfg, const p2pc_pt_hooks *hooks) {
  *out = NULL;
  if (!cfg->max_links || !cfg->cache || cfg->max_ids < cfg->cache ||
      !cfg->cache_bytes || !cfg->cache_ns || !cfg->graft_ns ||
      !cfg->graft_next_ns || !cfg->ihave_ns || !cfg->retry_ns ||
      !cfg->max_origins || !cfg->tree_ns)
    return P2PC_ERR_INVAL;
  p2pc_pt *t = a->realloc(NULL, sizeof *t, a->ud);
  if (!t)
    return P2PC_ERR_NOMEM;
  memset(t, 0, sizeof *t);
  t->a = a;
  t->cfg = *cfg;
  t->h = *hooks;
  t->ann_due = t->retry_at = UINT64_MAX;
  t->mode = a->realloc(NULL, 2 * (size_t)cfg->max_links, a->ud);
  if (!t->mode) {
    p2pc_pt_free(t);
    return P2PC_ERR_NOMEM;
  }
  memset(t->mode, M_NONE, 2 * (size_t)cfg->max_links);
  t->fresh = t->mode + cfg->max_links;
  t->ostride = (sizeof(ptorigin) + (cfg->max_links + 7) / 8 + 7) & ~(size_t)7;
  *out = t;
  return 0;
}

static ptrec *at(const p2pc_pt *t, uint64_t seq) {
  return &t->rec[seq & (t->cap - 1)];
}

/* The record of seq if it is still held. */
static ptrec *held(const p2pc_pt *t, uint64_t seq) {
  return seq >= t->head && seq < t->tail ? at(t, seq) : NULL;
}

static void drop_bytes(p2pc_pt *t, ptrec *r) {
  if (r->undelivered) {
    r->undelivered = false;
    t->nundelivered--;
    t->st.lost++;
  }
  if (r->state == R_HAVE)
    r->state = R_SEEN;
  if (!r->msg)
    return;
  t->a->free(r->msg, t->a->ud);
  t->bytes -= r->len;
  t->ncached--;
  r->msg = NULL;
  r->len = 0;
}

void p2pc_pt_free(p2pc_pt *t) {
  if (!t)
    return;
  for (uint64_t s = t->head; s < t->tail; s++)
    drop_bytes(t, at(t, s));
  t->a->free(t->rec, t->a->ud);
  t->a->free(t->slots, t->a->ud);
  t->a->free(t->mode, t->a->ud);
  t->a->free(t->ann, t->a->ud);
  t->a->free(t->org, t->a->ud);
  t->a->free(t, t->a->ud);
}

/* ---- the id table ---------------------------------------------------- */

static uint32_t hash_id(const char *o, size_t olen, uint64_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a, then n mixed in */
  for (size_t i = 0; i < olen; i++)
    h = (h ^ (uint8_t)o[i]) * 1099511628211ull;
  h ^= n * 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  return (uint32_t)(h ^ (h >> 32));
}

static ptrec *find(const p2pc_pt *t, const char *o, size_t olen, uint64_t n) {
  if (!t->nslots)
    return NULL;
  uint32_t hv = hash_id(o, olen, n), mask = t->nslots - 1;
  for (uint32_t i = hv & mask;; i = (i + 1) & mask) {
    if (!t->slots[i])
      return NULL;
    ptrec *r = at(t, t->slots[i] - 1);
    if (r->hash == hv && r->n == n && r->olen == olen &&
        memcmp(r->origin, o, olen) == 0)
      return r;
  }
}

static void slot_add(p2pc_pt *t, const ptrec *r) {
  uint32_t mask = t->nslots - 1, i = r->hash & mask;
  while (t->slots[i])
    i = (i + 1) & mask;
  t->slots[i] = r->seq + 1;
}

/* Removes r's slot: backward-shift deletion keeps every probe chain
 * unbroken without tombstones. */
static void slot_del(p2pc_pt *t, const ptrec *r) {
  uint32_t mask = t->nslots - 1, i = r->hash & mask;
  while (t->slots[i] != r->seq + 1)
    i = (i + 1) & mask;
  for (uint32_t j = i;;) {
    j = (j + 1) & mask;
    if (!t->slots[j])
      break;
    uint32_t k = at(t, t->slots[j] - 1)->hash & mask;
    /* The entry at j may move to i unless its home k lies in (i, j]. */
    bool stay = i <= j ? (k > i && k <= j) : (k > i || k <= j);
    if (!stay) {
      t->slots[i] = t->slots[j];
      i = j;
    }
  }
  t->slots[i] = 0;
}

static void evict_head(p2pc_pt *t) {
  ptrec *r = at(t, t->head);
  drop_bytes(t, r);
  if (r->state == R_MISSING) {
    t->nmissing--;
    if (r->timer_ns)
      t->ntimers--;
  }
  slot_del(t, r);
  t->head++;
  if (t->bhead < t->head)
    t->bhead = t->head;
}

/* The ids and bytes that aged out leave. */
static void expire(p2pc_pt *t, uint64_t now) {
  while (t->head < t->tail && at(t, t->head)->at_ns + t->cfg.cache_ns <= now)
    evict_head(t);
}

/* Over the cache's bounds: the oldest messages' bytes go (their ids stay,
 * so later copies are still known for duplicates). */
static void trim_bytes(p2pc_pt *t) {
  while ((t->ncached > t->cfg.cache || t->bytes > t->cfg.cache_bytes) &&
         t->bhead < t->tail)
    drop_bytes(t, at(t, t->bhead++));
}

static int grow(p2pc_pt *t) {
  uint32_t cap = t->cap ? t->cap * 2 : 16;
  ptrec *rec = t->a->realloc(NULL, (size_t)cap * sizeof *rec, t->a->ud);
  uint64_t *slots =
      t->a->realloc(NULL, (size_t)cap * 2 * sizeof *slots, t->a->ud);
  if (!rec || !slots) {
    t->a->free(rec, t->a->ud);
    t->a->free(slots, t->a->ud);
    return P2PC_ERR_NOMEM;
  }
  for (uint64_t s = t->head; s < t->tail; s++)
    rec[s & (cap - 1)] = *at(t, s);
  t->a->free(t->rec, t->a->ud);
  t->a->free(t->slots, t->a->ud);
  t->rec = rec;
  t->cap = cap;
  t->slots = slots;
  t->nslots = cap * 2;
  memset(slots, 0, (size_t)t->nslots * sizeof *slots);
  for (uint64_t s = t->head; s < t->tail; s++)
    slot_add(t, at(t, s));
  return 0;
}

/* A new record (missing, nothing attached), the oldest evicted if the
 * table is at max_ids; NULL if out of memory. */
static ptrec *insert(p2pc_pt *t, const char *o, size_t olen, uint64_t n,
                     uint64_t now) {
  if (t->tail - t->head >= t->cfg.max_ids)
    evict_head(t);
  if (t->tail - t->head == t->cap && grow(t) != 0)
    return NULL;
  ptrec *r = at(t, t->tail);
  memset(r, 0, sizeof *r);
  r->seq = t->tail++;
  r->n = n;
  r->at_ns = now;
  r->hash = hash_id(o, olen, n);
  r->from = NO_LINK_PT;
  r->state = R_MISSING;
  r->olen = (uint8_t)olen;
  memcpy(r->origin, o, olen);
  slot_add(t, r);
  t->nmissing++;
  return r;
}

/* Missing -> received: its GRAFT timer and announcers go. */
static void mark_received(p2pc_pt *t, ptrec *r, uint32_t from, uint64_t round) {
  if (r->state == R_MISSING) {
    t->nmissing--;
    if (r->timer_ns)
      t->ntimers--;
  }
  r->timer_ns = 0;
  r->nann = 0;
  r->state = R_SEEN;
  r->from = from;
  r->round = round;
}

static void attach(p2pc_pt *t, ptrec *r, const uint8_t *msg, size_t len) {
  uint8_t *m = t->a->realloc(NULL, len, t->a->ud);
  if (!m)
    return; /* forwarded all the same; it cannot answer a GRAFT */
  memcpy(m, msg, len);
  if (r->seq < t->bhead)
    t->bhead = r->seq; /* announced long ago, received now */
  r->msg = m;
  r->len = len;
  r->state = R_HAVE;
  t->ncached++;
  t->bytes += len;
}

/* ---- the origins' trees ---------------------------------------------- */

static ptorigin *org_at(const p2pc_pt *t, uint32_t i) {
  return (ptorigin *)(void *)(t->org + (size_t)i * t->ostride);
}

static bool is_lazy(const ptorigin *e, uint32_t l) {
  return e && (((const uint8_t *)(e + 1))[l / 8] >> (l % 8)) & 1;
}

static void set_lazy(ptorigin *e, uint32_t l, bool lazy) {
  if (!e)
    return;
  uint8_t *bits = (uint8_t *)(e + 1);
  if (lazy)
    bits[l / 8] |= (uint8_t)(1u << (l % 8));
  else
    bits[l / 8] &= (uint8_t) ~(1u << (l % 8));
}

/* The entry of origin o (its age not considered), or NULL. */
static ptorigin *org_find(const p2pc_pt *t, const char *o, size_t olen) {
  uint32_t h = hash_id(o, olen, 0);
  for (uint32_t i = 0; i < t->norg; i++) {
    ptorigin *e = org_at(t, i);
    if (e->hash == h && e->olen == olen && memcmp(e->origin, o, olen) == 0)
      return e;
  }
  return NULL;
}

static void org_drop(p2pc_pt *t, ptorigin *e) {
  ptorigin *last = org_at(t, --t->norg);
  if (e != last)
    memcpy(e, last, t->ostride);
}

/* The tree of origin o, or NULL if it has none here: never heard of, or
 * its tree is tree_ns old (forgotten now: its next message floods and
 * builds it afresh). */
static ptorigin *org_get(p2pc_pt *t, const char *o, size_t olen, uint64_t now) {
  ptorigin *e = org_find(t, o, olen);
  if (e && now - e->born_ns >= t->cfg.tree_ns) {
    org_drop(t, e);
    e = NULL;
  }
  return e;
}

/* A new tree for o, every link eager; the least recently used origin
 * makes room at max_origins. NULL if out of memory (its messages flood). */
static ptorigin *org_new(p2pc_pt *t, const char *o, size_t olen, uint64_t now) {
  if (t->norg == t->caporg)
    (void)p2pc_array_grow(t->a, (void **)&t->org, &t->caporg, t->ostride, 4,
                          t->cfg.max_origins);
  if (t->norg == t->caporg) {
    if (!t->norg)
      return NULL;
    ptorigin *lru = org_at(t, 0);
    for (uint32_t i = 1; i < t->norg; i++)
      if (org_at(t, i)->used < lru->used)
        lru = org_at(t, i);
    org_drop(t, lru);
  }
  ptorigin *e = org_at(t, t->norg++);
  memset(e, 0, t->ostride);
  e->used = ++t->uses;
  e->born_ns = now;
  e->hash = hash_id(o, olen, 0);
  e->olen = (uint8_t)olen;
  memcpy(e->origin, o, olen);
  return e;
}

/* Link l joins o's tree (if o has one here: otherwise every link is). */
static void org_eager(p2pc_pt *t, const char *o, size_t olen, uint32_t l,
                      uint64_t now) {
  set_lazy(org_get(t, o, olen, now), l, false);
}

/* ---- dissemination ---------------------------------------------------- */

/* IHAVEs under construction for one link: 64 ids a frame. */
typedef struct idbatch {
  p2pc_wire_bcast_id ids[P2PC_WIRE_MAX_BCAST_IDS];
  uint32_t k;
} idbatch;

static void batch_send(p2pc_pt *t, uint32_t l, idbatch *b) {
  if (!b->k)
    return;
  t->h.ihave(t->h.ud, l, b->ids, b->k);
  t->st.ihave_sent++;
  t->st.ihave_ids += b->k;
  b->k = 0;
}

/* Adds the id of held record seq, if l may lack it (received, cached,
 * not from l). */
static void batch_add(p2pc_pt *t, uint32_t l, idbatch *b, uint64_t seq) {
  const ptrec *r = held(t, seq);
  if (!r || r->state != R_HAVE || r->from == l)
    return;
  memcpy(b->ids[b->k].origin, r->origin, r->olen);
  b->ids[b->k].origin[r->olen] = '\0';
  b->ids[b->k].n = r->n;
  b->ids[b->k].round = r->round;
  if (++b->k == P2PC_WIRE_MAX_BCAST_IDS)
    batch_send(t, l, b);
}

/* The links lazy for what arrived since the last flush hear of it; a link
 * that came up since then hears of everything cached. */
static void flush_ihave(p2pc_pt *t) {
  idbatch b;
  b.k = 0;
  for (uint32_t l = 0; l < t->cfg.max_links; l++) {
    if (t->mode[l] == M_NONE) {
      t->fresh[l] = 0;
      continue;
    }
    if (t->fresh[l]) {
      for (uint64_t s = t->head; s < t->tail; s++)
        batch_add(t, l, &b, s);
    } else {
      for (uint32_t i = 0; i < t->nann; i++)
        if (t->ann[i].link == l)
          batch_add(t, l, &b, t->ann[i].seq);
    }
    batch_send(t, l, &b);
    t->fresh[l] = 0;
  }
  t->nann = 0;
  t->ann_due = UINT64_MAX;
}

/* Queues the id of seq for an IHAVE on link l at the next flush. */
static void queue_ihave(p2pc_pt *t, uint64_t seq, uint32_t l, uint64_t now) {
  if (t->nann == t->capann) /* grows with the broadcast rate */
    (void)p2pc_array_grow(t->a, (void **)&t->ann, &t->capann, sizeof *t->ann, 8,
                          P2PC_PT_MAX_ANNOUNCE);
  if (t->nann == t->capann)
    flush_ihave(t); /* full (or no memory): announce now */
  if (t->nann < t->capann) {
    t->ann[t->nann].seq = seq;
    t->ann[t->nann++].link = l;
  }
  if (t->ann_due == UINT64_MAX)
    t->ann_due = now + t->cfg.ihave_ns;
}

/* Eager push on origin o's tree, lazy announcement on its other links. A
 * new origin (no tree here) has every link eager: its message floods. */
static void push(p2pc_pt *t, uint64_t seq, const char *o, size_t olen,
                 uint32_t from, uint64_t round, const uint8_t *msg, size_t len,
                 uint64_t now) {
  uint64_t next = round == UINT64_MAX ? round : round + 1;
  const ptorigin *e = org_get(t, o, olen, now);
  for (uint32_t l = 0; l < t->cfg.max_links; l++) {
    if (t->mode[l] == M_NONE || l == from)
      continue;
    if (is_lazy(e, l)) {
      queue_ihave(t, seq, l, now);
    } else {
      t->h.gossip(t->h.ud, l, next, msg, len);
      t->st.gossip_sent++;
    }
  }
}

/* Reads the id of a broadcast message. */
static int peek_id(const uint8_t *msg, size_t len, const char **o,
                   uint8_t *olen, uint64_t *n) {
  const char *dest;
  uint8_t dlen;
  if (p2pc_wire_ses_peek(msg, len, o, olen, &dest, &dlen, n) != 0 ||
      dlen != strlen(P2PC_BCAST_DEST) ||
      memcmp(dest, P2PC_BCAST_DEST, dlen) != 0)
    return P2PC_ERR_PROTO;
  return 0;
}

/* The first copy of r came from link: its origin's tree (a new one, every
 * link eager, if the origin has none here: then r is its first message,
 * whose copies prune nothing) takes link in. */
static void took_first(p2pc_pt *t, ptrec *r, const char *o, size_t olen,
                       uint32_t link, uint64_t now) {
  ptorigin *e = org_get(t, o, olen, now);
  r->first = !e;
  if (!e && !(e = org_new(t, o, olen, now)))
    return;
  e->used = ++t->uses;
  if (link != NO_LINK_PT)
    set_lazy(e, link, false);
}

int p2pc_pt_broadcast(p2pc_pt *t, const uint8_t *msg, size_t len,
                      uint64_t now) {
  const char *o;
  uint8_t olen;
  uint64_t n;
  if (peek_id(msg, len, &o, &olen, &n) != 0)
    return P2PC_ERR_PROTO;
  expire(t, now);
  if (find(t, o, olen, n))
    return 0; /* already disseminated */
  ptrec *r = insert(t, o, olen, n, now);
  if (!r)
    return P2PC_ERR_NOMEM;
  mark_received(t, r, NO_LINK_PT, 0);
  attach(t, r, msg, len);
  took_first(t, r, o, olen, NO_LINK_PT, now);
  t->st.broadcasts++;
  push(t, r->seq, o, olen, NO_LINK_PT, 0, msg, len, now);
  trim_bytes(t);
  return 0;
}

static bool retry_later(int rv) {
  return rv == P2PC_ERR_FULL || rv == P2PC_ERR_AHEAD || rv == P2PC_ERR_NOMEM;
}

int p2pc_pt_on_gossip(p2pc_pt *t, uint32_t link, uint64_t round,
                      const uint8_t *msg, size_t len, uint64_t now) {
  const char *o;
  uint8_t olen;
  uint64_t n;
  if (link >= t->cfg.max_links || peek_id(msg, len, &o, &olen, &n) != 0)
    return P2PC_ERR_PROTO;
  expire(t, now);
  ptrec *r = find(t, o, olen, n);
  if (r && r->state != R_MISSING) {
    /* A second copy: this link is not needed in the origin's tree —
     * unless this is the origin's first message here, which floods: most
     * origins are heard from once, and pruning their floods would cost a
     * PRUNE per copy for nothing. Its next message builds the tree. */
    t->st.duplicates++;
    ptorigin *e = r->first ? NULL : org_get(t, o, olen, now);
    if (e && t->mode[link] != M_NONE && !is_lazy(e, link)) {
      set_lazy(e, link, true);
      t->h.prune(t->h.ud, link, e->origin);
      t->st.prune_sent++;
    }
    return 0;
  }
  if (!r && !(r = insert(t, o, olen, n, now)))
    return P2PC_ERR_NOMEM;
  mark_received(t, r, link, round);
  attach(t, r, msg, len);
  took_first(t, r, o, olen, link, now); /* the first copy's link: the tree's */
  uint64_t seq = r->seq;
  /* The hook may re-enter (an application that broadcasts from its
   * delivery callback): the record is looked up again after it. */
  int rv = t->h.deliver(t->h.ud, link, round, msg, len);
  r = held(t, seq);
  if (rv != 0 && !retry_later(rv)) {
    t->st.malformed++;
    if (r)
      drop_bytes(t, r); /* known, so copies are dropped; not announced */
    return 0;
  }
  t->st.received++;
  if (rv != 0) {
    /* Dissemination does not wait for delivery: forwarded now, offered
     * to the causal layer again from the cache. */
    if (r && r->msg) {
      r->undelivered = true;
      t->nundelivered++;
      if (t->retry_at == UINT64_MAX)
        t->retry_at = now + t->cfg.retry_ns;
    } else {
      t->st.lost++;
    }
  }
  push(t, seq, o, olen, link, round, msg, len, now);
  trim_bytes(t);
  return 0;
}

void p2pc_pt_on_ihave(p2pc_pt *t, uint32_t link, const p2pc_wire_bcast_id *ids,
                      uint32_t count, uint64_t now) {
  if (link >= t->cfg.max_links || t->mode[link] == M_NONE)
    return;
  expire(t, now);
  for (uint32_t i = 0; i < count; i++) {
    size_t olen = strnlen(ids[i].origin, P2PC_ID_MAX + 1);
    if (olen == 0 || olen > P2PC_ID_MAX)
      continue;
    ptrec *r = find(t, ids[i].origin, olen, ids[i].n);
    if (r && r->state != R_MISSING)
      continue; /* we have it */
    if (!r) {
      if (t->nmissing >= P2PC_PT_MAX_MISSING ||
          !(r = insert(t, ids[i].origin, olen, ids[i].n, now)))
        continue;
    }
    bool known = false;
    for (uint32_t k = 0; k < r->nann; k++)
      known |= r->ann_link[k] == link;
    if (!known && r->nann < P2PC_PT_MAX_ANNOUNCERS) {
      r->ann_link[r->nann] = link;
      r->ann_round[r->nann++] = ids[i].round;
    }
    if (!r->timer_ns) {
      r->timer_ns = now + t->cfg.graft_ns;
      t->ntimers++;
    }
  }
}

void p2pc_pt_on_graft(p2pc_pt *t, uint32_t link, const p2pc_wire_bcast_id *ids,
                      uint32_t count, uint64_t now) {
  if (link >= t->cfg.max_links || t->mode[link] == M_NONE)
    return;
  expire(t, now);
  for (uint32_t i = 0; i < count; i++) {
    size_t olen = strnlen(ids[i].origin, P2PC_ID_MAX + 1);
    if (olen == 0 || olen > P2PC_ID_MAX)
      continue;
    org_eager(t, ids[i].origin, olen, link, now);
    const ptrec *r = find(t, ids[i].origin, olen, ids[i].n);
    if (!r || !r->msg)
      continue; /* gone from the cache: another announcer may have it */
    uint64_t next = r->round == UINT64_MAX ? r->round : r->round + 1;
    t->h.gossip(t->h.ud, link, next, r->msg, r->len);
    t->st.gossip_sent++;
    t->st.grafted++;
  }
}

void p2pc_pt_on_prune(p2pc_pt *t, uint32_t link, const char *origin,
                      uint64_t now) {
  size_t olen = strnlen(origin, P2PC_ID_MAX + 1);
  if (link < t->cfg.max_links && t->mode[link] != M_NONE && olen &&
      olen <= P2PC_ID_MAX)
    set_lazy(org_get(t, origin, olen, now), link, true);
}

void p2pc_pt_link_up(p2pc_pt *t, uint32_t link) {
  if (link >= t->cfg.max_links)
    return;
  t->mode[link] = M_UP; /* eager in every origin's tree */
  for (uint32_t i = 0; i < t->norg; i++)
    set_lazy(org_at(t, i), link, false);
  if (t->ncached) {
    t->fresh[link] = 1;
    t->ann_due = 0; /* at the next deadline */
  }
}

void p2pc_pt_link_down(p2pc_pt *t, uint32_t link) {
  if (link < t->cfg.max_links)
    t->mode[link] = t->fresh[link] = M_NONE;
}

bool p2pc_pt_eager(const p2pc_pt *t, const char *origin, uint32_t link) {
  return link < t->cfg.max_links && t->mode[link] != M_NONE &&
         !is_lazy(org_find(t, origin, strnlen(origin, P2PC_ID_MAX + 1)), link);
}

bool p2pc_pt_lazy(const p2pc_pt *t, const char *origin, uint32_t link) {
  return link < t->cfg.max_links && t->mode[link] != M_NONE &&
         is_lazy(org_find(t, origin, strnlen(origin, P2PC_ID_MAX + 1)), link);
}

bool p2pc_pt_has_tree(const p2pc_pt *t, const char *origin) {
  return org_find(t, origin, strnlen(origin, P2PC_ID_MAX + 1)) != NULL;
}

/* The tree did not bring r in time: ask the next announcer whose link is
 * still up, and make that link eager in r's origin's tree. */
static void graft_next(p2pc_pt *t, ptrec *r, uint64_t now) {
  while (r->nann) {
    uint32_t l = r->ann_link[0];
    uint64_t round = r->ann_round[0];
    r->nann--;
    memmove(r->ann_link, r->ann_link + 1, r->nann * sizeof *r->ann_link);
    memmove(r->ann_round, r->ann_round + 1, r->nann * sizeof *r->ann_round);
    if (t->mode[l] == M_NONE)
      continue;
    org_eager(t, r->origin, r->olen, l, now);
    p2pc_wire_bcast_id id;
    memcpy(id.origin, r->origin, r->olen);
    id.origin[r->olen] = '\0';
    id.n = r->n;
    id.round = round;
    t->h.graft(t->h.ud, l, &id, 1);
    t->st.graft_sent++;
    break;
  }
  if (r->nann) {
    r->timer_ns = now + t->cfg.graft_next_ns;
  } else {
    r->timer_ns = 0; /* a later IHAVE starts it again */
    t->ntimers--;
  }
}

/* Offers the messages the causal layer could not take yet again. The
 * bytes are detached during the call: a re-entering broadcast may evict
 * or trim the record meanwhile. */
static void retry(p2pc_pt *t, uint64_t now) {
  uint64_t end = t->tail;
  for (uint64_t s = t->head; s < end && t->nundelivered; s++) {
    ptrec *r = held(t, s);
    if (!r || !r->undelivered || !r->msg)
      continue;
    uint8_t *m = r->msg;
    size_t len = r->len;
    r->msg = NULL;
    r->len = 0;
    r->undelivered = false;
    t->nundelivered--;
    t->ncached--;
    t->bytes -= len;
    t->st.retries++;
    int rv = t->h.deliver(t->h.ud, NO_LINK_PT, r->round, m, len);
    r = held(t, s);
    bool keep = r && r->state == R_HAVE && !r->msg; /* not evicted */
    if (rv != 0 && !retry_later(rv)) {
      t->st.malformed++;
      keep = false;
    }
    if (!keep) {
      if (r && r->state == R_HAVE && !r->msg)
        r->state = R_SEEN;
      if (retry_later(rv))
        t->st.lost++;
      t->a->free(m, t->a->ud);
      continue;
    }
    r->msg = m; /* cached again, for GRAFTs (and another try) */
    r->len = len;
    t->ncached++;
    t->bytes += len;
    if (retry_later(rv)) {
      r->undelivered = true;
      t->nundelivered++;
    }
  }
  t->retry_at = t->nundelivered ? now + t->cfg.retry_ns : UINT64_MAX;
}

void p2pc_pt_on_deadline(p2pc_pt *t, uint64_t now) {
  expire(t, now);
  for (uint64_t s = t->head; s < t->tail && t->ntimers; s++) {
    ptrec *r = at(t, s);
    if (r->state == R_MISSING && r->timer_ns && r->timer_ns <= now)
      graft_next(t, r, now);
  }
  if (t->ann_due <= now)
    flush_ihave(t);
  if (t->retry_at <= now)
    retry(t, now);
  trim_bytes(t);
}

static uint64_t earlier(uint64_t a, uint64_t b) { return a < b ? a : b; }

uint64_t p2pc_pt_next_deadline(const p2pc_pt *t) {
  uint64_t d = earlier(t->ann_due, t->retry_at);
  if (t->head < t->tail)
    d = earlier(d, at(t, t->head)->at_ns + t->cfg.cache_ns);
  /* ntimers counts the missing records with a timer, most often recent
   * ones: the scan goes from the newest and stops at the last of them. */
  uint32_t left = t->ntimers;
  for (uint64_t s = t->tail; s > t->head && left; s--) {
    const ptrec *r = at(t, s - 1);
    if (r->state == R_MISSING && r->timer_ns) {
      d = earlier(d, r->timer_ns);
      left--;
    }
  }
  return d;
}

bool p2pc_pt_round(const p2pc_pt *t, const char *origin, uint64_t n,
                   uint64_t *round) {
  const ptrec *r = find(t, origin, strnlen(origin, P2PC_ID_MAX + 1), n);
  if (!r || r->state == R_MISSING)
    return false;
  *round = r->round;
  return true;
}

void p2pc_pt_get_stats(const p2pc_pt *t, p2pc_pt_stats *st) {
  *st = t->st;
  st->ids = (uint32_t)(t->tail - t->head);
  st->cached = t->ncached;
  st->missing = t->nmissing;
  st->origins = t->norg;
  st->bytes = t->bytes;
}
