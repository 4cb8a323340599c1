/* SPDX-License-Identifier: MIT */
/*
 * Plumtree (plumtree.h): the eager and lazy link sets, and one table of
 * the broadcast ids this node knows — missing (announced, not received),
 * received with its bytes cached, or received and its bytes dropped. The
 * table is a ring in arrival order (so the oldest leaves first, by count
 * and by age) indexed by an open-addressing hash of (origin, n).
 */
#include "plumtree.h"
#include "types.h"

#include "sescodec.h"

#include <string.h>

enum { M_NONE, M_EAGER, M_LAZY };
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
  char origin[P2PC_ID_MAX + 1];
  uint32_t ann_link[P2PC_PT_MAX_ANNOUNCERS]; /* missing: who announced it */
  uint64_t ann_round[P2PC_PT_MAX_ANNOUNCERS];
} ptrec;

struct p2pc_pt {
  const p2pc_allocator *a;
  p2pc_pt_config cfg;
  p2pc_pt_hooks h;
  uint8_t *mode;  /* per link: M_* */
  uint8_t *fresh; /* per link: up since the last flush (told the backlog) */
  ptrec *rec;     /* ring of cap (a power of two) records */
  uint32_t cap;
  uint64_t head, tail; /* the records held are the seqs [head, tail) */
  uint64_t bhead;      /* no record below this holds bytes */
  uint64_t *slots;     /* hash: seq + 1, 0 = empty; nslots = 2 x cap */
  uint32_t nslots;
  uint64_t *ann; /* seqs to announce at the flush: nann of capann */
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
  c->opt_rounds = 2;
}

int p2pc_pt_new(p2pc_pt **out, const p2pc_allocator *a,
                const p2pc_pt_config *cfg, const p2pc_pt_hooks *hooks) {
  *out = NULL;
  if (!cfg->max_links || !cfg->cache || cfg->max_ids < cfg->cache ||
      !cfg->cache_bytes || !cfg->cache_ns || !cfg->graft_ns ||
      !cfg->graft_next_ns || !cfg->ihave_ns || !cfg->retry_ns)
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

/* ---- dissemination ---------------------------------------------------- */

/* Sends link l IHAVEs for held records that it may lack (received,
 * cached, not from l): those of seqs[0..n), or if seqs is NULL the seqs
 * [from, to). */
static void announce(p2pc_pt *t, uint32_t l, const uint64_t *seqs, uint32_t n,
                     uint64_t from, uint64_t to) {
  p2pc_wire_bcast_id ids[P2PC_WIRE_MAX_BCAST_IDS];
  uint32_t k = 0;
  uint64_t total = seqs ? n : to - from;
  for (uint64_t i = 0; i < total; i++) {
    const ptrec *r = held(t, seqs ? seqs[i] : from + i);
    if (!r || r->state != R_HAVE || r->from == l)
      continue;
    memcpy(ids[k].origin, r->origin, r->olen);
    ids[k].origin[r->olen] = '\0';
    ids[k].n = r->n;
    ids[k].round = r->round;
    if (++k == P2PC_WIRE_MAX_BCAST_IDS) {
      t->h.ihave(t->h.ud, l, ids, k);
      t->st.ihave_sent++;
      t->st.ihave_ids += k;
      k = 0;
    }
  }
  if (k) {
    t->h.ihave(t->h.ud, l, ids, k);
    t->st.ihave_sent++;
    t->st.ihave_ids += k;
  }
}

/* The lazy links hear of what arrived since the last flush; a link that
 * came up since then hears of everything cached. */
static void flush_ihave(p2pc_pt *t) {
  for (uint32_t l = 0; l < t->cfg.max_links; l++) {
    if (t->fresh[l] && t->mode[l] != M_NONE)
      announce(t, l, NULL, 0, t->head, t->tail);
    else if (t->mode[l] == M_LAZY)
      announce(t, l, t->ann, t->nann, 0, 0);
    t->fresh[l] = 0;
  }
  t->nann = 0;
  t->ann_due = UINT64_MAX;
}

/* Eager push on the tree, lazy announcement on the other links. */
static void push(p2pc_pt *t, uint64_t seq, uint32_t from, uint64_t round,
                 const uint8_t *msg, size_t len, uint64_t now) {
  uint64_t next = round == UINT64_MAX ? round : round + 1;
  for (uint32_t l = 0; l < t->cfg.max_links; l++)
    if (t->mode[l] == M_EAGER && l != from) {
      t->h.gossip(t->h.ud, l, next, msg, len);
      t->st.gossip_sent++;
    }
  if (t->nann == t->capann) /* grows with the broadcast rate */
    (void)p2pc_array_grow(t->a, (void **)&t->ann, &t->capann, sizeof *t->ann, 8,
                          P2PC_PT_MAX_ANNOUNCE);
  if (t->nann == t->capann)
    flush_ihave(t); /* full (or no memory): announce now */
  if (t->nann < t->capann)
    t->ann[t->nann++] = seq;
  if (t->ann_due == UINT64_MAX)
    t->ann_due = now + t->cfg.ihave_ns;
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
  t->st.broadcasts++;
  push(t, r->seq, NO_LINK_PT, 0, msg, len, now);
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
    /* A second copy: this link is not needed in the tree. */
    t->st.duplicates++;
    if (t->mode[link] == M_EAGER) {
      t->mode[link] = M_LAZY;
      t->h.prune(t->h.ud, link);
      t->st.prune_sent++;
    }
    return 0;
  }
  if (!r && !(r = insert(t, o, olen, n, now)))
    return P2PC_ERR_NOMEM;
  mark_received(t, r, link, round);
  attach(t, r, msg, len);
  if (t->mode[link] != M_NONE)
    t->mode[link] = M_EAGER; /* the first copy's link is the tree's */
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
  push(t, seq, link, round, msg, len, now);
  trim_bytes(t);
  return 0;
}

/* Plumtree §3.7: a message we have was announced on link after fewer
 * rounds than our copy took, by more than opt_rounds: the tree moves onto
 * that link (an empty GRAFT) and off the copy's (PRUNE). */
static void shorter_path(p2pc_pt *t, ptrec *r, uint32_t link, uint64_t round) {
  if (!t->cfg.opt_rounds || r->from == NO_LINK_PT || r->from == link ||
      round >= r->round || r->round - round <= 1 + (uint64_t)t->cfg.opt_rounds)
    return;
  if (t->mode[link] != M_EAGER) {
    t->mode[link] = M_EAGER;
    t->h.graft(t->h.ud, link, NULL, 0);
    t->st.graft_sent++;
  }
  if (t->mode[r->from] == M_EAGER) {
    t->mode[r->from] = M_LAZY;
    t->h.prune(t->h.ud, r->from);
    t->st.prune_sent++;
  }
  r->from = link; /* once per message and path */
  r->round = round + 1;
  t->st.optimised++;
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
    if (r && r->state != R_MISSING) {
      shorter_path(t, r, link, ids[i].round);
      continue; /* we have it */
    }
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
  t->mode[link] = M_EAGER;
  for (uint32_t i = 0; i < count; i++) {
    size_t olen = strnlen(ids[i].origin, P2PC_ID_MAX + 1);
    const ptrec *r = find(t, ids[i].origin, olen, ids[i].n);
    if (!r || !r->msg)
      continue; /* gone from the cache: another announcer may have it */
    uint64_t next = r->round == UINT64_MAX ? r->round : r->round + 1;
    t->h.gossip(t->h.ud, link, next, r->msg, r->len);
    t->st.gossip_sent++;
    t->st.grafted++;
  }
}

void p2pc_pt_on_prune(p2pc_pt *t, uint32_t link) {
  if (link < t->cfg.max_links && t->mode[link] != M_NONE)
    t->mode[link] = M_LAZY;
}

void p2pc_pt_link_up(p2pc_pt *t, uint32_t link) {
  if (link >= t->cfg.max_links)
    return;
  t->mode[link] = M_EAGER;
  if (t->ncached) {
    t->fresh[link] = 1;
    t->ann_due = 0; /* at the next deadline */
  }
}

void p2pc_pt_link_down(p2pc_pt *t, uint32_t link) {
  if (link < t->cfg.max_links)
    t->mode[link] = t->fresh[link] = M_NONE;
}

bool p2pc_pt_eager(const p2pc_pt *t, uint32_t link) {
  return link < t->cfg.max_links && t->mode[link] == M_EAGER;
}

bool p2pc_pt_lazy(const p2pc_pt *t, uint32_t link) {
  return link < t->cfg.max_links && t->mode[link] == M_LAZY;
}

/* The tree did not bring r in time: ask the next announcer whose link is
 * still up, and make that link eager. */
static void graft_next(p2pc_pt *t, ptrec *r, uint64_t now) {
  while (r->nann) {
    uint32_t l = r->ann_link[0];
    uint64_t round = r->ann_round[0];
    r->nann--;
    memmove(r->ann_link, r->ann_link + 1, r->nann * sizeof *r->ann_link);
    memmove(r->ann_round, r->ann_round + 1, r->nann * sizeof *r->ann_round);
    if (t->mode[l] == M_NONE)
      continue;
    t->mode[l] = M_EAGER;
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
  for (uint64_t s = t->head; s < t->tail && t->ntimers; s++) {
    const ptrec *r = at(t, s);
    if (r->state == R_MISSING && r->timer_ns)
      d = earlier(d, r->timer_ns);
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
  st->bytes = t->bytes;
}
