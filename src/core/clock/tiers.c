/* SPDX-License-Identifier: MIT */
/*
 * Clock synchronization, the tiers (docs/CLOCK.md, Tiers): so that the
 * reference's time reaches every node in a few hops whatever the mesh's
 * size, a node polls, beyond its neighbours, up to tier_sources nodes of
 * the lowest tier it knows of, over UDP, with no link to them.
 *
 * A node's tier is its distance from the reference through the sources it
 * follows (0: the reference, 1 + the followed source's tier otherwise).
 * Candidates are learned from the neighbours' ANNOUNCEs: the neighbour
 * itself with its tier, and its tier hints (the sources it polls, with
 * theirs). A server takes at most serve_max clients (the first that come,
 * each kept while it keeps polling); it answers everyone, but tells the
 * others they are refused, and says it is full in its ANNOUNCE and
 * replies. A full candidate counts one tier worse to a node that is not
 * its client, so tier 1 fills up, then tier 2 serves tier 3, and so on:
 * with serve_max 256 and 4 sources per node, depth 2 covers ~16,000
 * nodes and depth 3 ~4 million.
 *
 * Owns ts->tiers, and the sources' `tiered` flag (through exchange.c).
 */
#include "timesync_int.h"

#define REFUSED_HOLD (30 * SEC) /* a candidate that refused us, left alone */
#define CAND_LIFE (10 * SEC)    /* a candidate not heard of: forgotten */
#define SERVE_CAP 4096          /* serve_max, at most */

int p2pc__tiers_init(p2pc_timesync *ts) {
  uint32_t n = ts->cfg.serve_max < SERVE_CAP ? ts->cfg.serve_max : SERVE_CAP;
  const p2pc_allocator *a = ts->a;
  ts->tiers.adm_hash = a->realloc(NULL, n * sizeof(uint32_t), a->ud);
  ts->tiers.adm_mono = a->realloc(NULL, n * sizeof(uint64_t), a->ud);
  if (!ts->tiers.adm_hash || !ts->tiers.adm_mono)
    return P2PC_ERR_NOMEM;
  memset(ts->tiers.adm_hash, 0, n * sizeof(uint32_t));
  memset(ts->tiers.adm_mono, 0, n * sizeof(uint64_t));
  ts->tiers.adm_cap = n;
  return 0;
}

void p2pc__tiers_fini(p2pc_timesync *ts) {
  const p2pc_allocator *a = ts->a;
  a->free(ts->tiers.adm_hash, a->ud);
  a->free(ts->tiers.adm_mono, a->ud);
}

static bool tiered_mode(const p2pc_timesync *ts) {
  return !ts->cfg.disabled && ts->cfg.mode == P2PC_CLOCK_REFERENCE &&
         ts->cfg.tier_sources > 0;
}

uint8_t p2pc__tiers_own(const p2pc_timesync *ts) {
  if (ts->cfg.mode != P2PC_CLOCK_REFERENCE || !ts->steer.nc.synced)
    return P2PC_TIER_NONE;
  if (ts->steer.ref_taken)
    return 0;
  if (ts->steer.parent < 0)
    return P2PC_TIER_NONE;
  return ts->steer.hops < P2PC_TIER_NONE ? ts->steer.hops : P2PC_TIER_NONE;
}

/* ---- admission ------------------------------------------------------------
 */

/* A client is served while it polls at least once in this window. */
static uint64_t adm_window(const p2pc_timesync *ts) {
  uint64_t w = 4 * poll_ns(ts->cfg.poll_max);
  return w < 8ull * SEC ? 8ull * SEC : w;
}

bool p2pc__tiers_admit(p2pc_timesync *ts, const char *id, uint64_t now_mono,
                       bool *full) {
  p2pc__tiers *t = &ts->tiers;
  uint32_t h = id_hash(id) | 1; /* 0 marks a free slot */
  uint64_t w = adm_window(ts);
  uint32_t free_slot = UINT32_MAX, live = 0;
  bool mine = false;
  for (uint32_t i = 0; i < t->adm_cap; i++) {
    bool alive = t->adm_hash[i] && now_mono - t->adm_mono[i] < w;
    if (alive && t->adm_hash[i] == h) {
      t->adm_mono[i] = now_mono;
      mine = true;
    } else if (!alive && free_slot == UINT32_MAX) {
      free_slot = i;
    }
    live += alive;
  }
  if (!mine && free_slot != UINT32_MAX) {
    t->adm_hash[free_slot] = h;
    t->adm_mono[free_slot] = now_mono;
    mine = true;
    live++;
  }
  *full = live >= t->adm_cap;
  return mine;
}

static bool serving_full(const p2pc_timesync *ts, uint64_t now_mono) {
  const p2pc__tiers *t = &ts->tiers;
  uint64_t w = adm_window(ts);
  uint32_t live = 0;
  for (uint32_t i = 0; i < t->adm_cap; i++)
    live += t->adm_hash[i] && now_mono - t->adm_mono[i] < w;
  return t->adm_cap > 0 && live >= t->adm_cap;
}

/* ---- candidates -----------------------------------------------------------
 */

static tiercand *cand_find(p2pc_timesync *ts, const char *id, uint32_t h) {
  for (uint32_t i = 0; i < CANDS; i++) {
    tiercand *c = &ts->tiers.cand[i];
    if (c->used && c->hash == h && strcmp(c->id, id) == 0)
      return c;
  }
  return NULL;
}

/* The tier a candidate counts as for us (s: its source, if any): one
 * worse when it is full and we are not among its clients (a neighbour is
 * polled anyway: never). */
static uint32_t eff_tier(const tiercand *c, const source *s) {
  if (s && s->linked)
    return c->tier;
  bool ours = s && s->tiered && !s->refused;
  return (uint32_t)c->tier + (c->full && !ours ? 1 : 0);
}

/* Whether candidate slot i is a tier source we poll, remembered in
 * memo[i] (0: not looked up yet, 1: yes, 2: no) for the length of one
 * announcement (its notes change the candidates, not the sources). */
static bool cand_tiered(p2pc_timesync *ts, uint32_t i, uint8_t *memo) {
  if (!memo[i]) {
    const tiercand *k = &ts->tiers.cand[i];
    const source *s = p2pc__exchange_find_h(ts, k->id, k->hash);
    memo[i] = s && s->tiered ? 1 : 2;
  }
  return memo[i] == 1;
}

/* Notes one candidate; a new one takes a free slot, or the place of the
 * worst one that is not polled, if it is better. */
static void note(p2pc_timesync *ts, const char *id, const p2pc_wire_addr *addr,
                 uint16_t time_port, uint64_t incarnation, uint8_t tier,
                 bool full, uint32_t ref_hash, uint64_t now_mono,
                 uint8_t *memo) {
  if (tier >= P2PC_TIER_NONE || !id[0] || strcmp(id, ts->id) == 0 ||
      addr->family == 0 || !time_port)
    return;
  uint32_t h = id_hash(id);
  tiercand *c = cand_find(ts, id, h);
  if (!c) {
    tiercand *worst = NULL;
    for (uint32_t i = 0; i < CANDS && !c; i++) {
      tiercand *k = &ts->tiers.cand[i];
      if (!k->used) {
        c = k;
        break;
      }
      /* Not worse than the worst so far: whether we poll it does not
       * matter, and is not looked up. */
      if (worst &&
          !(k->tier > worst->tier ||
            (k->tier == worst->tier && k->heard_mono < worst->heard_mono)))
        continue;
      if (cand_tiered(ts, i, memo))
        continue;
      worst = k;
    }
    if (!c) {
      if (!worst || worst->tier <= tier)
        return;
      c = worst;
    }
    memset(c, 0, sizeof *c);
    c->used = true;
    copy_id(c->id, id);
    c->hash = h;
    memo[c - ts->tiers.cand] = 0;
  }
  c->addr = *addr;
  c->time_port = time_port;
  c->incarnation = incarnation;
  c->tier = tier;
  c->full = full;
  c->ref_hash = ref_hash;
  c->heard_mono = now_mono;
}

void p2pc__tiers_heard(p2pc_timesync *ts, const char *id,
                       const p2pc_wire_announce *an, p2pc_now now) {
  if (!tiered_mode(ts) || !an->ref[0])
    return;
  uint32_t rh = id_hash(an->ref);
  uint8_t memo[CANDS] = {0};
  const source *s = p2pc__exchange_find(ts, id);
  if (s && s->linked)
    note(ts, id, &s->listen, an->time_port, 0, an->tier,
         (an->flags & P2PC_ANNOUNCE_FULL) != 0, rh, now.mono_ns, memo);
  /* The sender's hints as it sent them last: nothing new to note (they
   * come again, refreshing their candidates, within CAND_LIFE). */
  if (an->flags & P2PC_ANNOUNCE_SAME_HINTS)
    return;
  bool names_us = false;
  for (uint8_t i = 0; i < an->nhints && i < P2PC_ANNOUNCE_HINTS; i++)
    names_us |= strcmp(an->hints[i].rec.id, ts->id) == 0;
  tiercand *self = cand_find(ts, id, id_hash(id));
  if (self)
    self->our_client = names_us;
  for (uint8_t i = 0; i < an->nhints && i < P2PC_ANNOUNCE_HINTS; i++) {
    const p2pc_wire_tier_hint *hn = &an->hints[i];
    /* what a client of ours says of us is no news; and a hint must not
     * refresh what we learned first-hand (a source we poll) */
    const source *hs = p2pc__exchange_find(ts, hn->rec.id);
    if (hs && hs->up && hs->have_reply)
      continue;
    note(ts, hn->rec.id, &hn->rec.addr, hn->rec.time_port, hn->rec.incarnation,
         hn->tier, (hn->flags & P2PC_HINT_FULL) != 0, rh, now.mono_ns, memo);
  }
}

/* What our sources' replies say of them is first-hand: their tier (the
 * hops they report) and whether they are full. */
static void refresh_from_sources(p2pc_timesync *ts, uint64_t now_mono) {
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    source *s = &ts->src[i];
    if (!s->up || !s->have_reply)
      continue;
    tiercand *c = cand_find(ts, s->id, ts->src_hash[i]);
    if (!c)
      continue;
    c->tier =
        s->synced && strcmp(s->ref, ts->el.ref) == 0 ? s->hops : P2PC_TIER_NONE;
    c->full = s->full;
    if (s->refused && !s->linked)
      c->refused_until = now_mono + REFUSED_HOLD;
    if (now_mono - s->last_sample_mono < CAND_LIFE)
      c->heard_mono = now_mono;
  }
}

/* The order among candidates of the same effective tier: the ones we poll
 * first (no churn: a server that fills up keeps its clients), then the
 * ones not full, then a hash of both IDs, so that the
 * nodes spread over the candidates instead of all taking the same. */
static uint32_t spread_key(const p2pc_timesync *ts, const tiercand *c) {
  return c->hash ^ (id_hash(ts->id) * 0x9e3779b9u);
}

/* A candidate as the pick sorts it: with whether we poll it as a tier
 * source, looked up once before the sort (the sources do not change
 * while it runs). */
typedef struct picked {
  const tiercand *c;
  bool tiered;
} picked;

static bool before(const p2pc_timesync *ts, const picked *pa,
                   const picked *pb) {
  const tiercand *a = pa->c, *b = pb->c;
  bool ta = pa->tiered, tb = pb->tiered;
  if (ta != tb)
    return ta;
  if (a->full != b->full)
    return !a->full;
  return spread_key(ts, a) < spread_key(ts, b);
}

void p2pc__tiers_pick(p2pc_timesync *ts, p2pc_now now) {
  if (!tiered_mode(ts))
    return;
  uint64_t mono = now.mono_ns;
  refresh_from_sources(ts, mono);
  uint32_t rh = ts->el.ref[0] ? id_hash(ts->el.ref) : 0;
  /* Eligible candidates: of our reference, with a tier, heard of lately,
   * not refusing us, not our own client. */
  picked el[CANDS];
  uint32_t eff[CANDS];
  uint32_t ne = 0, best = UINT32_MAX;
  for (uint32_t i = 0; i < CANDS; i++) {
    tiercand *c = &ts->tiers.cand[i];
    if (!c->used)
      continue;
    if (mono > c->heard_mono && mono - c->heard_mono > CAND_LIFE) {
      c->used = false;
      continue;
    }
    if (!ts->el.ref[0] || ts->el.is_ref || c->ref_hash != rh ||
        c->tier >= P2PC_TIER_NONE || c->our_client ||
        (c->refused_until && mono < c->refused_until))
      continue;
    const source *s = p2pc__exchange_find_h(ts, c->id, c->hash);
    el[ne].c = c;
    el[ne].tiered = s && s->tiered;
    eff[ne] = eff_tier(c, s);
    if (eff[ne] < best)
      best = eff[ne];
    ne++;
  }
  /* The chosen: the candidates of the best effective tier, at most
   * tier_sources; all of one tier, so none is of a tier we would reach
   * through another (no source of our own tier or worse). */
  picked pk[CANDS];
  uint32_t np = 0;
  for (uint32_t k = 0; k < ne; k++)
    if (eff[k] == best)
      pk[np++] = el[k];
  for (uint32_t i = 1; i < np; i++)
    for (uint32_t j = i; j > 0 && before(ts, &pk[j], &pk[j - 1]); j--) {
      picked t = pk[j];
      pk[j] = pk[j - 1];
      pk[j - 1] = t;
    }
  const tiercand *pick[CANDS];
  for (uint32_t k = 0; k < np; k++)
    pick[k] = pk[k].c;
  if (np > ts->cfg.tier_sources)
    np = ts->cfg.tier_sources;
  /* Drop the tier sources not chosen, then take the chosen. */
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    source *s = &ts->src[i];
    if (!s->tiered)
      continue;
    bool keep = false;
    for (uint32_t k = 0; k < np && !keep; k++)
      keep = strcmp(pick[k]->id, s->id) == 0;
    if (!keep)
      p2pc__exchange_remote_down(ts, s);
  }
  for (uint32_t k = 0; k < np; k++) {
    const source *s = p2pc__exchange_find(ts, pick[k]->id);
    if (s && s->tiered)
      continue;
    p2pc__exchange_remote_up(ts, pick[k]->id, &pick[k]->addr,
                             pick[k]->time_port, now);
  }
}

/* ---- our announcement ---------------------------------------------------- */

void p2pc__tiers_announce(p2pc_timesync *ts, p2pc_now now,
                          p2pc_wire_announce *an) {
  an->tier = p2pc__tiers_own(ts);
  an->nhints = 0;
  if (!tiered_mode(ts))
    return;
  if (serving_full(ts, now.mono_ns))
    an->flags |= P2PC_ANNOUNCE_FULL;
  if (an->tier >= P2PC_TIER_NONE)
    return;
  /* Our hints: the sources of the tier we follow (the parent's), which
   * are the ones a node near us would want too. */
  int32_t par = ts->steer.parent;
  if (par < 0 || (uint32_t)par >= ts->nsrc)
    return;
  uint8_t want = ts->src[par].hops;
  for (uint32_t i = 0; i < ts->nsrc && an->nhints < P2PC_ANNOUNCE_HINTS; i++) {
    const source *s = &ts->src[i];
    if (!s->up || !s->have_reply || !s->synced || s->hops != want ||
        strcmp(s->ref, ts->el.ref) != 0 || s->listen.family == 0 ||
        s->addr.port == 0)
      continue;
    p2pc_wire_tier_hint *h = &an->hints[an->nhints++];
    memset(h, 0, sizeof *h);
    copy_id(h->rec.id, s->id);
    h->rec.addr = s->listen;
    h->rec.time_port = s->addr.port;
    h->tier = s->hops;
    h->flags = s->full ? P2PC_HINT_FULL : 0;
  }
}
