/* SPDX-License-Identifier: MIT */
/*
 * Depth-limited minimum of the nodes' local stable values (stable.h). The
 * slots are allocated as keys are first reported (a key beyond them is an
 * empty slot), doubling up to max. Every change that can
 * move a level recomputes all of them from LS and the slots, so there is
 * no incremental state to get wrong; the cost is noted in stable.h.
 */
#include "stable.h"

#include <string.h>

#define D P2PC_STABLE_DEPTH

typedef struct slot {
  uint64_t v[D]; /* the neighbour's report */
  uint64_t last_heard;
  uint8_t state; /* p2pc_stable_slot_state */
} slot;

struct p2pc_stable {
  const p2pc_allocator *a;
  uint32_t max;
  uint32_t cap; /* slots[0..cap) allocated, cap <= max */
  uint64_t hold;
  uint64_t local;
  uint64_t lv[D + 1]; /* a[0..D] */
  uint64_t out[D];    /* the last report produced; UINT64_MAX before any */
  bool decreased;
  /* Some value rose or left: lv may be below the true levels (which is
   * safe: lower levels retire less) until p2pc_stable_refresh. Falls are
   * applied at once, so `decreased` is always exact. */
  bool dirty;
  p2pc_stable_stats st;
  slot *slots;
};

int p2pc_stable_new(p2pc_stable **out, const p2pc_allocator *a,
                    uint32_t max_neighbours, uint64_t hold_ns) {
  if (!a)
    a = p2pc_allocator_default();
  if (max_neighbours > P2PC_STABLE_MAX_NEIGHBOURS)
    return P2PC_ERR_INVAL;
  p2pc_stable *s = a->realloc(NULL, sizeof *s, a->ud);
  if (!s)
    return P2PC_ERR_NOMEM;
  memset(s, 0, sizeof *s);
  s->a = a;
  s->max = max_neighbours;
  s->hold = hold_ns;
  for (int d = 0; d < D; d++)
    s->out[d] = UINT64_MAX;
  s->decreased = true; /* LS 0 < "nothing reported" */
  *out = s;
  return 0;
}

void p2pc_stable_free(p2pc_stable *s) {
  if (!s)
    return;
  s->a->free(s->slots, s->a->ud);
  s->a->free(s, s->a->ud);
}

/* Slots up to key allocated (new ones empty); false if out of memory. */
static bool reserve(p2pc_stable *s, uint32_t key) {
  if (key < s->cap)
    return true;
  uint32_t cap = s->cap ? s->cap : 4;
  while (cap <= key)
    cap *= 2;
  if (cap > s->max)
    cap = s->max;
  slot *ns = s->a->realloc(s->slots, (size_t)cap * sizeof *ns, s->a->ud);
  if (!ns)
    return false;
  memset(ns + s->cap, 0, (size_t)(cap - s->cap) * sizeof *ns);
  s->slots = ns;
  s->cap = cap;
  return true;
}

/* a[d] = min(LS, min over slots of v[d-1]). Reports are non-increasing, so
 * the column minima are, and so is a. The flag compares the reported levels
 * with the last report: it is exact, not sticky, since what matters when
 * DATA goes is only that each neighbour's copy is <= the levels now. */
static void recompute(p2pc_stable *s) {
  uint64_t m[D];
  for (int d = 0; d < D; d++)
    m[d] = UINT64_MAX;
  for (uint32_t k = 0; k < s->cap; k++) {
    const slot *sl = &s->slots[k];
    if (sl->state == P2PC_STABLE_EMPTY)
      continue;
    for (int d = 0; d < D; d++)
      if (sl->v[d] < m[d])
        m[d] = sl->v[d];
  }
  s->lv[0] = s->local;
  for (int d = 1; d <= D; d++)
    s->lv[d] = m[d - 1] < s->local ? m[d - 1] : s->local;
  s->decreased = false;
  for (int d = 0; d < D; d++)
    if (s->lv[d] < s->out[d])
      s->decreased = true;
}

/* Applies a value v at levels d0.. (a report's v[d] counts at d + 1): a
 * fall takes effect at once, exactly. */
static void lower(p2pc_stable *s, int d, uint64_t v) {
  if (v < s->lv[d]) {
    s->lv[d] = v;
    if (d < D && v < s->out[d])
      s->decreased = true;
  }
}

void p2pc_stable_set_local(p2pc_stable *s, uint64_t ls) {
  if (ls > s->local)
    s->dirty = true;
  s->local = ls;
  if (s->dirty) {
    recompute(s);
    s->dirty = false;
    return;
  }
  for (int d = 0; d <= D; d++)
    lower(s, d, ls);
}

void p2pc_stable_refresh(p2pc_stable *s) {
  if (s->dirty)
    recompute(s);
  s->dirty = false;
}

static void drop(p2pc_stable *s, slot *sl) {
  if (sl->state == P2PC_STABLE_LIVE)
    s->st.live--;
  else if (sl->state == P2PC_STABLE_FROZEN)
    s->st.frozen--;
  memset(sl, 0, sizeof *sl);
}

int p2pc_stable_report_in(p2pc_stable *s, uint32_t key,
                          const p2pc_stable_report *r, uint64_t hlc_now) {
  if (key >= s->max)
    return P2PC_ERR_INVAL;
  for (int d = 1; d < D; d++) {
    if (r->v[d] > r->v[d - 1]) {
      s->st.refused++;
      return P2PC_ERR_PROTO;
    }
  }
  if (!reserve(s, key))
    return P2PC_ERR_NOMEM;
  slot *sl = &s->slots[key];
  bool was_counted = sl->state != P2PC_STABLE_EMPTY;
  if (sl->state == P2PC_STABLE_FROZEN) {
    s->st.frozen--;
    s->st.thaws++;
  }
  if (sl->state != P2PC_STABLE_LIVE) {
    s->st.live++;
    sl->last_heard = hlc_now;
  }
  sl->state = P2PC_STABLE_LIVE;
  /* A value that rose can only raise levels: that waits for a refresh
   * (until then the levels stay lower, which is safe). Falls apply now. */
  for (int d = 0; d < D; d++)
    if (r->v[d] > sl->v[d] && was_counted)
      s->dirty = true;
  memcpy(sl->v, r->v, sizeof sl->v);
  if (hlc_now > sl->last_heard)
    sl->last_heard = hlc_now;
  s->st.reports_in++;
  for (int d = 0; d < D; d++)
    lower(s, d + 1, r->v[d]);
  return 0;
}

void p2pc_stable_heard(p2pc_stable *s, uint32_t key, uint64_t hlc_now) {
  if (key >= s->cap || s->slots[key].state == P2PC_STABLE_EMPTY)
    return;
  if (hlc_now > s->slots[key].last_heard)
    s->slots[key].last_heard = hlc_now;
}

/* A frozen report's hold is over at now. A sum past UINT64_MAX is a time
 * that never comes (and hold UINT64_MAX means never). */
static bool hold_over(const p2pc_stable *s, const slot *sl, uint64_t now) {
  return s->hold <= UINT64_MAX - sl->last_heard &&
         now >= sl->last_heard + s->hold;
}

void p2pc_stable_link_down(p2pc_stable *s, uint32_t key, uint64_t hlc_now) {
  if (key >= s->cap)
    return;
  slot *sl = &s->slots[key];
  if (sl->state == P2PC_STABLE_LIVE) {
    sl->state = P2PC_STABLE_FROZEN;
    s->st.live--;
    s->st.frozen++;
    s->st.freezes++;
  }
  /* Freezing alone moves no level: the report still counts. */
  if (sl->state == P2PC_STABLE_FROZEN && hold_over(s, sl, hlc_now)) {
    drop(s, sl);
    s->st.held_out++;
    recompute(s);
  }
}

void p2pc_stable_forget(p2pc_stable *s, uint32_t key) {
  if (key >= s->cap || s->slots[key].state == P2PC_STABLE_EMPTY)
    return;
  drop(s, &s->slots[key]);
  s->st.forgotten++;
  recompute(s);
}

void p2pc_stable_tick(p2pc_stable *s, uint64_t hlc_now) {
  bool changed = false;
  for (uint32_t k = 0; k < s->cap; k++) {
    slot *sl = &s->slots[k];
    if (sl->state == P2PC_STABLE_FROZEN && hold_over(s, sl, hlc_now)) {
      drop(s, sl);
      s->st.held_out++;
      changed = true;
    }
  }
  if (changed)
    recompute(s);
}

uint64_t p2pc_stable_next_deadline(const p2pc_stable *s) {
  uint64_t t = UINT64_MAX;
  for (uint32_t k = 0; k < s->cap; k++) {
    const slot *sl = &s->slots[k];
    if (sl->state == P2PC_STABLE_FROZEN &&
        s->hold <= UINT64_MAX - sl->last_heard && sl->last_heard + s->hold < t)
      t = sl->last_heard + s->hold;
  }
  return t;
}

uint64_t p2pc_stable_global(const p2pc_stable *s) { return s->lv[D]; }

uint64_t p2pc_stable_level(const p2pc_stable *s, uint32_t d) {
  return s->lv[d < D ? d : D];
}

void p2pc_stable_report_out(p2pc_stable *s, p2pc_stable_report *r) {
  memcpy(r->v, s->lv, sizeof r->v);
  memcpy(s->out, s->lv, sizeof s->out);
  s->decreased = false;
  s->st.reports_out++;
}

bool p2pc_stable_decreased(const p2pc_stable *s) { return s->decreased; }

p2pc_stable_slot_state p2pc_stable_slot(const p2pc_stable *s, uint32_t key) {
  return key < s->cap ? (p2pc_stable_slot_state)s->slots[key].state
                      : P2PC_STABLE_EMPTY;
}

uint32_t p2pc_stable_live(const p2pc_stable *s) { return s->st.live; }

uint32_t p2pc_stable_frozen(const p2pc_stable *s) { return s->st.frozen; }

void p2pc_stable_get_stats(const p2pc_stable *s, p2pc_stable_stats *st) {
  *st = s->st;
}
