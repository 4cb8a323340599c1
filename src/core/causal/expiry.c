/* SPDX-License-Identifier: MIT */
/*
 * Expiry in Δ-SES (causal.h): what the HLC makes older than the causal
 * lifetime Δ. Entries leave, buffered messages are dropped and reported,
 * messages sent and never acknowledged are given up (and stop holding LS
 * back once settled), and the per-sender written-off ranges are kept for
 * reports and late copies until their memory runs out. Three lower bounds
 * (dep_lb, buf_lb, pend_lb) keep the sweeps off the hot path: a sweep runs
 * only once the HLC has passed the oldest stamp that could have expired.
 */
#include "causal_int.h"

/* ---- written-off ranges (per sender) ---------------------------------- */

bool p2pc__causal_wo_has(const peer_state *ps, uint64_t n) {
  for (uint32_t i = 0; i < ps->nwo; i++)
    if (n > ps->wo[i].lo && n <= ps->wo[i].hi)
      return true;
  return false;
}

/* How long a written-off range is remembered: 2 Δ on this node's HLC. */
static uint64_t wo_until(const p2pc_causal *c) {
  return c->life == P2PC_CAUSAL_LIFETIME_INF ||
                 c->hlc > UINT64_MAX - 2 * c->life
             ? UINT64_MAX
             : c->hlc + 2 * c->life;
}

/* Records (lo, hi] as written off, merging with overlapping or adjacent
 * ranges; at the cap the range remembered for the shortest time goes. */
void p2pc__causal_wo_add(p2pc_causal *c, peer_state *ps, uint64_t lo,
                         uint64_t hi) {
  if (hi <= lo)
    return;
  uint64_t until = wo_until(c);
  for (uint32_t i = 0; i < ps->nwo;) {
    wo_range *r = &ps->wo[i];
    if (r->hi >= lo && r->lo <= hi) { /* overlapping or adjacent */
      lo = r->lo < lo ? r->lo : lo;
      hi = r->hi > hi ? r->hi : hi;
      *r = ps->wo[--ps->nwo];
      i = 0;
      continue;
    }
    i++;
  }
  if (ps->nwo == P2PC_CAUSAL_MAX_WRITTEN_OFF) {
    uint32_t o = 0;
    for (uint32_t i = 1; i < ps->nwo; i++)
      if (ps->wo[i].until < ps->wo[o].until)
        o = i;
    if (ps->wo_floor_until <= c->hlc || ps->wo[o].lo < ps->wo_floor)
      ps->wo_floor = ps->wo[o].lo;
    if (ps->wo[o].until > ps->wo_floor_until)
      ps->wo_floor_until = ps->wo[o].until;
    ps->wo[o] = ps->wo[--ps->nwo];
  }
  ps->wo[ps->nwo++] = (wo_range){lo, hi, until};
  if (until < c->wo_lb)
    c->wo_lb = until;
}

/* The same for broadcasts, in one list for every sender. At the cap the
 * range remembered for the shortest time goes (a late copy of it is then
 * a duplicate: never delivered either). */
bool p2pc__causal_bwo_has(const p2pc_causal *c, uint32_t sender, uint64_t n) {
  for (uint32_t i = 0; i < c->nbwo; i++)
    if (c->bwo[i].sender == sender && n > c->bwo[i].lo && n <= c->bwo[i].hi)
      return true;
  return false;
}

void p2pc__causal_bwo_add(p2pc_causal *c, uint32_t sender, uint64_t lo,
                          uint64_t hi) {
  if (hi <= lo)
    return;
  uint64_t until = wo_until(c);
  for (uint32_t i = 0; i < c->nbwo;) {
    bwo_range *r = &c->bwo[i];
    if (r->sender == sender && r->hi >= lo && r->lo <= hi) {
      lo = r->lo < lo ? r->lo : lo;
      hi = r->hi > hi ? r->hi : hi;
      *r = c->bwo[--c->nbwo];
      i = 0;
      continue;
    }
    i++;
  }
  if (c->nbwo == P2PC_CAUSAL_MAX_BCAST_WO) {
    uint32_t o = 0;
    for (uint32_t i = 1; i < c->nbwo; i++)
      if (c->bwo[i].until < c->bwo[o].until)
        o = i;
    c->bwo[o] = c->bwo[--c->nbwo];
  }
  c->bwo[c->nbwo++] = (bwo_range){sender, lo, hi, until};
  if (until < c->wo_lb)
    c->wo_lb = until;
}

/* Given up, and older than Δ + settle. */
static bool settled(const p2pc_causal *c, uint64_t stamp) {
  return c->hlc >= due(c, stamp, c->settle);
}

void p2pc__causal_give_up(p2pc_causal *c, uint32_t dest, const pend *p,
                          const char *why) {
  c->st.expired_tx++;
  p2pc_causal_event ev = {.kind = P2PC_CEV_EXPIRE,
                          .sender = name_of(c, c->self),
                          .n = p->n,
                          .peer = name_of(c, dest),
                          .stamp = p->stamp,
                          .reason = why,
                          .at_sender = true};
  emit(c, &ev);
}

/* ---- sweeps ------------------------------------------------------------- */

/* Everything the HLC has made older than Δ: entries, buffered messages
 * (dropped and reported), messages sent and never acknowledged (given up),
 * and written-off ranges past their memory. */
void p2pc__causal_sweep(p2pc_causal *c) {
  if (c->life == P2PC_CAUSAL_LIFETIME_INF)
    return;
  if (expired(c, c->dep_lb))
    p2pc__causal_filter_deps(c, p2pc__causal_dep_expired, &c->st.expired_deps);
  if (expired(c, c->buf_lb)) {
    uint64_t lb = UINT64_MAX;
    for (uint32_t i = 0; i < c->nbuf;) {
      held *h = &c->buf[i];
      if (!expired(c, h->m.stamp)) {
        if (h->m.stamp < lb)
          lb = h->m.stamp;
        i++;
        continue;
      }
      peer_state *ps = &c->peers[h->m.sender];
      bool bc = is_all(c, h->m.dest);
      if (bc)
        p2pc__causal_bwo_add(c, h->m.sender, h->m.n - 1, h->m.n);
      else
        p2pc__causal_wo_add(c, ps, h->m.n - 1, h->m.n);
      c->st.expired_rx++;
      p2pc_causal_event ev = {.kind = P2PC_CEV_EXPIRE,
                              .sender = name_of(c, h->m.sender),
                              .n = h->m.n,
                              .peer = name_of(c, h->m.sender),
                              .stamp = h->m.stamp,
                              .bytes = h->m.payload_len,
                              .reason = "waited longer than the causal "
                                        "lifetime",
                              .broadcast = bc};
      emit(c, &ev);
      p2pc__causal_drop_held(c, i);
    }
    c->buf_lb = lb;
  }
  if (c->hlc >= c->pend_lb) {
    /* Messages older than Δ are given up (reported) at once, but leave the
     * pending set — and so stop holding LS back — only once they have
     * settled: older than Δ + settle here, so that their destination, whose
     * clock may be behind ours within the bounds, finds them expired too
     * before anything that no longer carries their entry reaches it. */
    uint64_t lb = UINT64_MAX;
    for (uint32_t d = 0; d < c->npeers; d++) {
      peer_state *ps = &c->peers[d];
      for (uint32_t i = 0; i < ps->pq_n; i++) {
        pend *p = &ps->pq[ps->pq_head + i];
        if (p->gone)
          continue;
        if (!expired(c, p->stamp)) {
          /* The next give-up here, which need not wait for the settling
           * of those given up before it. */
          if (due(c, p->stamp, 0) < lb)
            lb = due(c, p->stamp, 0);
          break;
        }
        p->gone = true;
        p2pc__causal_give_up(c, d, p,
                             "not acknowledged within the causal lifetime");
      }
      while (ps->pq_n && ps->pq[ps->pq_head].gone &&
             settled(c, ps->pq[ps->pq_head].stamp)) {
        ps->pq_head++;
        ps->pq_n--;
        c->npending--;
      }
      if (ps->pq_n && ps->pq[ps->pq_head].gone &&
          due(c, ps->pq[ps->pq_head].stamp, c->settle) < lb)
        lb = due(c, ps->pq[ps->pq_head].stamp, c->settle);
    }
    c->pend_lb = lb;
  }
  if (c->hlc >= c->wo_lb) {
    uint64_t lb = UINT64_MAX;
    for (uint32_t d = 0; d < c->npeers; d++) {
      peer_state *ps = &c->peers[d];
      for (uint32_t i = 0; i < ps->nwo;) {
        if (ps->wo[i].until <= c->hlc) {
          ps->wo[i] = ps->wo[--ps->nwo];
          continue;
        }
        if (ps->wo[i].until < lb)
          lb = ps->wo[i].until;
        i++;
      }
    }
    for (uint32_t i = 0; i < c->nbwo;) {
      if (c->bwo[i].until <= c->hlc) {
        c->bwo[i] = c->bwo[--c->nbwo];
        continue;
      }
      if (c->bwo[i].until < lb)
        lb = c->bwo[i].until;
      i++;
    }
    c->wo_lb = lb;
  }
}
