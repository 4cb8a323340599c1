/* SPDX-License-Identifier: MIT */
/*
 * What happens in a prop_causal schedule (prop_harness.h): drawing its
 * parameters, sends, arrivals, delivery reports and the global stable
 * time, crashes, retirements and incarnations.
 */
#include "prop_harness.h"

/* ---- drawing a schedule ----------------------------------------------------
 */

void draw_params(run *r) {
  static const uint64_t lives[] = {50 * MS, 100 * MS, 300 * MS, SEC,
                                   5 * SEC, INF,      INF};
  static const uint64_t errs[] = {0, MS, 10 * MS, 50 * MS};
  static const uint64_t delays[] = {MS, 10 * MS, 50 * MS, 200 * MS};
  static const uint64_t gaps[] = {0, MS, 10 * MS, 50 * MS};
  static const uint64_t bcasts_x100[] = {0, 5, 15};
  static const uint64_t periods[] = {2 * MS, 20 * MS, 100 * MS};
  static const uint64_t lags[] = {0, 10 * MS, 200 * MS};
  params *p = &r->p;
  mode md = r->o->mode;
  memset(p, 0, sizeof *p);
  p->liar = -1;
  p->n = 2 + (uint32_t)rng_below(&r->g, MAX_NODES - 1);
  p->ops = 30 + (uint32_t)rng_below(&r->g, 131);
  p->nactive = p->n;
  if (rng_chance(&r->g, 0.3))
    p->nactive = 1 + (uint32_t)rng_below(&r->g, p->n);
  p->gapmax = PICK(&r->g, gaps);
  p->pbcast = (double)PICK(&r->g, bcasts_x100) / 100.0;
  p->pself = 0.03;
  p->pdup = (r->faults & P2PC_CAUSAL_FAULT_NO_DEDUP) ? 0.2 : 0.05;
  p->pstraggle = 0.05;
  p->life = PICK(&r->g, lives);
  p->maxerr = PICK(&r->g, errs);
  p->maxdelay = PICK(&r->g, delays);
  if (md == MODE_LEGACY)
    p->life = INF;
  if (md == MODE_BOUNDED || md == MODE_AHEAD) {
    /* Property c: Δ finite, err small enough to leave a budget. */
    p->life = lives[rng_below(&r->g, 5)];
    while (p->maxerr && 2 * p->maxerr + 4 * SLACK >= p->life / 2)
      p->maxerr /= 10;
    uint64_t budget = p->life - 2 * p->maxerr - SLACK;
    /* Without reports (or half the time) delays reach the bound itself
     * and only the receiver's side is judged; with them, a copy and its
     * report's round trip stay within it. */
    bool sharp = md == MODE_BOUNDED && rng_chance(&r->g, 0.5);
    p->sharp = sharp;
    p->cap = sharp ? budget : budget / 4;
    p->near_cap = rng_chance(&r->g, 0.5);
    p->maxdelay = p->cap;
    p->reports = !sharp || rng_chance(&r->g, 0.5);
    p->rep_period = budget / 8;
    p->rep_maxdelay = p->cap;
    p->pstraggle = 0;
    p->gstable = rng_chance(&r->g, 0.5);
    p->g_period = budget / 8;
    p->g_maxlag = budget / 8;
    if (md == MODE_AHEAD) {
      p->liar = (int32_t)rng_below(&r->g, p->n);
      if (p->n == 2)
        p->n = 3;
      p->nactive = p->n;
    }
  } else {
    p->reports = md == MODE_PRUNE || rng_chance(&r->g, 0.6);
    p->rep_period = PICK(&r->g, periods);
    p->rep_maxdelay = p->maxdelay;
    p->gstable = p->reports && (md == MODE_PRUNE || rng_chance(&r->g, 0.6));
    p->g_period = PICK(&r->g, periods);
    p->g_maxlag = PICK(&r->g, lags);
  }
  /* Tiny buffers and small caps make receive and send answer FULL; only
   * where a bounded delay is promised none of that may happen. */
  if (md != MODE_BOUNDED && md != MODE_AHEAD && rng_chance(&r->g, 0.25))
    p->max_buffered = 1 + (uint32_t)rng_below(&r->g, 4);
  p->max_deps = P2PC_CAUSAL_MAX_DEPS_DEFAULT;
  p->max_msg_deps = P2PC_CAUSAL_MAX_MSG_DEPS_DEFAULT;
  p->max_pending = P2PC_CAUSAL_MAX_PENDING_DEFAULT;
  if ((md == MODE_GENERAL) && p->life != INF && rng_chance(&r->g, 0.3)) {
    p->small_caps = true;
    p->max_deps = 2 + (uint32_t)rng_below(&r->g, 40);
    p->max_msg_deps = 1 + (uint32_t)rng_below(&r->g, 40);
    p->max_pending = 2 + (uint32_t)rng_below(&r->g, 40);
  }
  static const uint64_t ticks[] = {MS, 5 * MS, 20 * MS};
  p->tick = PICK(&r->g, ticks);
  uint64_t span = (uint64_t)p->ops * (p->gapmax / 2 + 1);
  if (p->tick < span / 1500)
    p->tick = span / 1500;
  /* Partitions: copies between the two sides held until it heals (in
   * bounded schedules, no longer than the bound). */
  if (rng_chance(&r->g, 0.25)) {
    static const uint64_t lens[] = {10 * MS, 100 * MS, SEC};
    p->partition = true;
    p->p0 = rng_below(&r->g, span + 1);
    p->p1 = p->p0 + 1 + rng_below(&r->g, PICK(&r->g, lens));
    p->groups = (uint32_t)rng_below(&r->g, (1u << p->n) - 2) + 1;
  }
  /* Crashes: a core stops for ever; the others may retire it (always with
   * Δ infinite: its lost messages would hold the rest back for ever), and
   * it may come back as a new incarnation. */
  bool crashes = md == MODE_GENERAL || md == MODE_PRUNE ||
                 (md == MODE_LEGACY && r->o->legacy_retire);
  if (crashes && !r->faults && rng_chance(&r->g, 0.3)) {
    p->ncrash = 1 + (uint32_t)rng_below(&r->g, MAX_CRASHES);
    p->retire = p->life == INF || md == MODE_LEGACY || rng_chance(&r->g, 0.5);
    for (uint32_t i = 0; i < p->ncrash; i++) {
      p->crash_t[i] = rng_below(&r->g, span + 1);
      p->crash_who[i] = (uint32_t)rng_below(&r->g, p->n);
      p->restart[i] = rng_chance(&r->g, 0.5);
    }
  }
  if ((md == MODE_GENERAL || md == MODE_PRUNE) && p->life != INF &&
      rng_chance(&r->g, 0.3))
    p->pnear_life = 0.2;
  p->legacy_prune = rng_chance(&r->g, 0.5);
}

/* The delay of one copy sent now from a to b. */
static uint64_t draw_delay(run *r, rng *g) {
  const params *p = &r->p;
  if (p->cap) {
    if (p->near_cap && rng_chance(g, 0.5))
      return p->cap - 1 - rng_below(g, p->cap / 8 + 1);
    return rng_below(g, p->cap);
  }
  if (p->pnear_life > 0 && rng_chance(g, p->pnear_life))
    return p->life + rng_below(g, 4 * p->maxerr + SLACK + 1) -
           (p->life < 2 * p->maxerr ? p->life : 2 * p->maxerr);
  uint64_t d = rng_below(g, p->maxdelay + 1);
  if (rng_chance(g, p->pstraggle))
    d += rng_below(g, 5 * p->maxdelay + 1);
  return d;
}

/* Holds a copy (or report) from a to b that would arrive at t while the
 * partition separates them. */
static uint64_t partitioned(const run *r, uint32_t a, uint32_t b, uint64_t sent,
                            uint64_t t, uint64_t h) {
  const params *p = &r->p;
  if (!p->partition || t < p->p0 || t >= p->p1)
    return t;
  bool sa = p->groups >> r->s[a].base & 1, sb = p->groups >> r->s[b].base & 1;
  if (sa == sb)
    return t;
  uint64_t healed = p->p1 + h % (p->maxdelay + 1);
  if (p->cap && healed >= sent + p->cap)
    healed = sent + p->cap - 1;
  return healed > t ? healed : t;
}

/* ---- sends -------------------------------------------------------------- */

bool alive(const run *r, uint32_t k) { return !r->s[k].dead; }

void do_send(run *r, uint32_t src, uint32_t dst, uint32_t tries) {
  uint8_t payload[MAX_PAYLOAD];
  uint32_t mid = (uint32_t)r->nmsgs;
  size_t len = make_payload(mid, src, dst, payload);
  p2pc_buf_reset(&r->out);
  r->in_send = true;
  r->send_src = src;
  r->send_dst = dst;
  r->send_payload = payload;
  r->send_len = len;
  r->send_events = 0;
  r->send_mid = mid;
  if (r->o->trace)
    printf("t=%.3f send #%" PRIu32 " %s -> %s\n", msf(r->now), mid, nm(r, src),
           nm(r, dst));
  feed_time(r, src);
  int rc = core_send(r, src, dst, payload, len);
  r->in_send = false;
  r->send_payload = NULL;
  check_core(r, src);
  if (rc == P2PC_ERR_FULL) {
    r->send_full++;
    if (!r->p.small_caps)
      fail(r, 'e', "send %s -> %s answered FULL with the default caps",
           nm(r, src), nm(r, dst));
    /* Back-pressure: retry later, or drop the intent. */
    uint64_t h = hmix(r->seed, 0x5e7d, r->now * 64 + src * 17 + tries);
    if (tries < 3 && (h & 1))
      push(r, (event){.t = r->now + 1 + (h >> 8) % (4 * r->p.maxdelay + 1),
                      .kind = E_RESEND,
                      .a = src,
                      .b = dst,
                      .tries = (uint16_t)(tries + 1)});
    return;
  }
  if (rc != 0) {
    fail(r, 'x', "send %s -> %s returned %s", nm(r, src), nm(r, dst),
         p2pc_strerror(rc));
    return;
  }
  if (r->send_events != 1 || r->nmsgs != (size_t)mid + 1) {
    fail(r, 'x', "send %s -> %s reported %d SEND events", nm(r, src),
         nm(r, dst), r->send_events);
    return;
  }
  if (src == dst) {
    if (r->out.len != 0)
      fail(r, 'x', "self-send at %s appended %zu bytes", nm(r, src),
           r->out.len);
    if (r->msgs[mid].delivered != 1)
      fail(r, 'x', "self-send at %s not delivered at once", nm(r, src));
    return;
  }
  if (r->out.len == 0) {
    fail(r, 'x', "send %s -> %s appended nothing", nm(r, src), nm(r, dst));
    return;
  }
  r->pool = grow(r->pool, 1, r->poollen + r->out.len, &r->poolcap);
  memcpy(r->pool + r->poollen, r->out.data, r->out.len);
  r->msgs[mid].off = r->poollen;
  r->msgs[mid].len = r->out.len;
  r->poollen += r->out.len;
  uint64_t t = r->now + draw_delay(r, &r->g);
  t = partitioned(r, src, dst, r->now, t, rng_next(&r->g));
  push(r, (event){.t = t, .kind = E_ARRIVE, .a = mid, .x = r->now});
  if (rng_chance(&r->g, r->p.pdup)) {
    uint64_t late = !r->p.cap && rng_chance(&r->g, 0.3)
                        ? rng_below(&r->g, 5 * r->p.maxdelay + 1)
                        : 0;
    t = r->now + draw_delay(r, &r->g) + late;
    t = partitioned(r, src, dst, r->now, t, rng_next(&r->g));
    push(r,
         (event){.t = t, .kind = E_ARRIVE, .a = mid, .dup = true, .x = r->now});
    r->dups_injected++;
  }
}

/* Senders: live incarnations of the active cores. */
void do_op(run *r) {
  uint32_t cand[MAX_SLOTS], nc = 0;
  for (uint32_t k = 0; k < r->nslots; k++)
    if (alive(r, k) && r->s[k].base < r->p.nactive)
      cand[nc++] = k;
  if (!nc)
    return;
  uint32_t src = cand[rng_below(&r->g, nc)];
  /* Destinations: everyone the sender has not retired (the dead too:
   * those copies are lost). */
  uint32_t dests[MAX_SLOTS], nd = 0;
  for (uint32_t k = 0; k < r->nslots; k++)
    if (k != src && !r->s[src].retired[k])
      dests[nd++] = k;
  double u = (double)(rng_next(&r->g) >> 11) * 0x1.0p-53;
  if (u < r->p.pself || !nd) {
    do_send(r, src, src, 0);
  } else if (u < r->p.pself + r->p.pbcast) {
    for (uint32_t i = 0; i < nd && !r->fail[0]; i++)
      do_send(r, src, dests[i], 0);
  } else {
    do_send(r, src, dests[rng_below(&r->g, nd)], 0);
  }
}

/* ---- arrivals -------------------------------------------------------------
 */

void do_arrival(run *r, const event *f) {
  dmsg *m = &r->msgs[f->a];
  if (r->s[m->dst].dead) {
    m->lost = true;
    r->lost++;
    return;
  }
  /* A crashed sender's copies still in flight get there or not; its link
   * offers nothing again. */
  if (r->s[m->src].dead &&
      (f->tries > 0 || (hmix(r->seed, f->a, f->dup ? 7 : 3) & 1))) {
    m->lost = true;
    r->lost++;
    return;
  }
  if (r->o->trace)
    printf("t=%.3f arrive #%" PRIu32 "%s %s:%" PRIu64 " at %s\n", msf(r->now),
           f->a, f->dup ? " (dup)" : "", nm(r, m->src), m->n, nm(r, m->dst));
  feed_time(r, m->dst);
  int rc = core_receive(r, m->dst, m->src, r->pool + m->off, m->len);
  check_core(r, m->dst);
  if (rc == 0)
    return;
  uint64_t h = hmix(r->seed, f->a * 4 + f->dup, f->tries + 1);
  if (rc == P2PC_ERR_AHEAD) {
    /* Only the core 10 s ahead is refused (REFUSE checks the rest); the
     * link offers it again a few times, then gives up. */
    if (f->tries < 2) {
      event e = *f;
      e.t = r->now + 1 + h % (r->p.maxdelay + 1);
      e.tries++;
      push(r, e);
    } else {
      m->lost = true;
    }
    return;
  }
  if (rc != P2PC_ERR_FULL) {
    fail(r, 'x', "receive of %s:%" PRIu64 " at %s returned %s", nm(r, m->src),
         m->n, nm(r, m->dst), p2pc_strerror(rc));
    return;
  }
  r->s[m->dst].fulls++;
  r->full_total++;
  if (r->o->trace)
    printf("t=%.3f FULL #%" PRIu32 " at %s (buffered %" PRIu32 ")\n",
           msf(r->now), f->a, nm(r, m->dst), core_buffered(r, m->dst));
  if (!r->faults && !r->p.small_caps) {
    uint32_t limit = r->p.max_buffered ? r->p.max_buffered
                                       : P2PC_CAUSAL_MAX_BUFFERED_DEFAULT;
    uint32_t held = core_buffered(r, m->dst);
    if (held < limit)
      fail(r, 'x',
           "FULL for %s:%" PRIu64 " at %s with only %" PRIu32 " of %" PRIu32
           " messages buffered",
           nm(r, m->src), m->n, nm(r, m->dst), held, limit);
    else if (m->delivered)
      fail(r, 'x',
           "FULL for a copy of %s:%" PRIu64 " at %s, which was already "
           "delivered (a duplicate must be accepted and dropped)",
           nm(r, m->src), m->n, nm(r, m->dst));
    else if (r->ck && ccheck_ready(r->ck, m->src, m->n))
      fail(r, 'x',
           "FULL for %s:%" PRIu64 " at %s although all its causal "
           "predecessors are delivered (deliverable must be accepted)",
           nm(r, m->src), m->n, nm(r, m->dst));
  }
  /* Offered again later, backing off (what it waits for may be late). */
  uint64_t again = 1 + h % (2 * r->p.maxdelay + 2);
  again <<= f->tries < 6 ? f->tries : 6;
  event e = *f;
  e.t = r->now + again;
  if (e.tries < UINT16_MAX)
    e.tries++;
  push(r, e);
}

/* ---- delivery reports and the global stable time ------------------------- */

void do_report_gen(run *r) {
  for (uint32_t d = 0; d < r->nslots; d++) {
    slot *sd = &r->s[d];
    if (sd->dead)
      continue;
    for (uint32_t s = 0; s < r->nslots; s++) {
      if (!sd->dirty[s] || s == d)
        continue;
      sd->dirty[s] = false;
      report rp;
      memset(&rp, 0, sizeof rp);
      p2pc_causal_report_for(sd->c, nm(r, s), &rp.delivered, rp.wo, &rp.nwo);
      if (rp.nwo > P2PC_CAUSAL_MAX_WRITTEN_OFF) {
        fail(r, 'x', "%s's report for %s has %" PRIu32 " ranges", nm(r, d),
             nm(r, s), rp.nwo);
        return;
      }
      r->reps = grow(r->reps, sizeof *r->reps, r->nreps + 1, &r->capreps);
      r->reps[r->nreps] = rp;
      /* Hashed, not drawn: reports follow deliveries, and two runs that
       * must agree (pruning and no_prune) keep one schedule of sends. */
      uint64_t h = hmix(r->seed, r->now, 0x4e9000 + d * MAX_SLOTS + s);
      uint64_t t = r->now + h % (r->p.rep_maxdelay + 1);
      t = partitioned(r, d, s, r->now, t, h >> 20);
      push(r,
           (event){.t = t, .kind = E_REPORT, .a = s, .b = d, .x = r->nreps++});
      r->reports_sent++;
    }
  }
}

void do_report(run *r, const event *e) {
  slot *s = &r->s[e->a];
  if (s->dead)
    return;
  const report *rp = &r->reps[e->x];
  feed_time(r, e->a);
  r->cur = e->a;
  int rc = p2pc_causal_peer_report(s->c, nm(r, e->b), rp->delivered, rp->wo,
                                   rp->nwo, mono(r));
  if (rc != 0)
    fail(r, 'x', "%s: peer_report from %s (delivered %" PRIu64 ") returned %s",
         nm(r, e->a), nm(r, e->b), rp->delivered, p2pc_strerror(rc));
  check_core(r, e->a);
}

/* A member of G's minimum: alive, or crashed but not yet gone (retired by
 * every live core, or crashed longer ago than Δ + 2 x err: everything it
 * sent has expired everywhere). */
static bool g_member(const run *r, uint32_t k) {
  const slot *s = &r->s[k];
  if (!s->dead)
    return true;
  if (r->p.life != INF &&
      r->now >= s->t_dead + r->p.life + 2 * r->p.maxerr + 2 * SLACK)
    return false;
  for (uint32_t j = 0; j < r->nslots; j++)
    if (!r->s[j].dead && !r->s[j].retired[k])
      return true;
  return false;
}

static uint64_t g_true_min(const run *r) {
  uint64_t g = UINT64_MAX;
  for (uint32_t k = 0; k < r->nslots; k++)
    if (g_member(r, k)) {
      uint64_t ls = p2pc_causal_local_stable(r->s[k].c);
      if (ls < g)
        g = ls;
    }
  return g;
}

void do_g_gen(run *r) {
  /* Before the minimum, every member's clock is read: LS is its HLC when
   * nothing is pending. */
  for (uint32_t k = 0; k < r->nslots; k++)
    if (!r->s[k].dead) {
      feed_time(r, k);
      check_core(r, k);
    }
  uint64_t g = g_true_min(r);
  for (uint32_t k = 0; k < r->nslots; k++)
    if (!r->s[k].dead)
      push(r, (event){.t = r->now + hmix(r->seed, r->now, 0x6000 + k) %
                                        (r->p.g_maxlag + 1),
                      .kind = E_G_APPLY,
                      .a = k,
                      .x = g});
}

void do_g_apply(run *r, const event *e) {
  slot *s = &r->s[e->a];
  if (s->dead)
    return;
  uint64_t lb = g_true_min(r);
  if (e->x > lb) {
    fail(r, 'x', "harness: G %" PRIu64 " above the true minimum %" PRIu64, e->x,
         lb);
    return;
  }
  feed_time(r, e->a);
  r->cur = e->a;
  p2pc_causal_set_stable(s->c, e->x);
  s->g_cur = e->x;
  r->g_applied++;
  check_core(r, e->a);
}

/* ---- crashes, retirements, incarnations ---------------------------------- */

void do_crash(run *r, uint32_t base, uint32_t ci) {
  /* The live incarnation of core `base` stops. */
  uint32_t k = UINT32_MAX;
  for (uint32_t i = 0; i < r->nslots; i++)
    if (r->s[i].base == base && !r->s[i].dead)
      k = i;
  if (k == UINT32_MAX)
    return;
  r->s[k].dead = true;
  r->s[k].t_dead = r->now;
  if (r->o->trace)
    printf("t=%.3f CRASH %s\n", msf(r->now), nm(r, k));
  if (r->p.retire)
    for (uint32_t j = 0; j < r->nslots; j++)
      if (!r->s[j].dead)
        push(r,
             (event){.t = r->now + 1 + rng_below(&r->g, 4 * r->p.maxdelay + 1),
                     .kind = E_RETIRE,
                     .a = j,
                     .b = k});
  if (!r->p.restart[ci] || r->nslots == MAX_SLOTS)
    return;
  uint32_t n = r->nslots++;
  slot *s = &r->s[n];
  memset(s, 0, sizeof *s);
  snprintf(s->name, sizeof s->name, "n%" PRIu32 "~%" PRIu32, base, n);
  s->base = base;
  s->off = r->s[k].off;
  s->err = r->s[k].err;
  s->mids = grow(s->mids, sizeof *s->mids, 1, &s->capmids);
  s->mids[s->nmids++] = UINT32_MAX; /* no message 0 */
  int rc = core_new(r, n);
  if (rc != 0) {
    fail(r, 'x', "new core %s: %s", s->name, p2pc_strerror(rc));
    return;
  }
  if (r->ck) {
    fail(r, 'x', "harness: an incarnation in a lossless schedule");
    return;
  }
  feed_time(r, n);
  /* It knows its previous incarnations are gone. */
  for (uint32_t j = 0; j < n; j++)
    if (r->s[j].dead && (rc = core_retire(r, n, j)) != 0) {
      fail(r, 'x', "%s retiring %s: %s", nm(r, n), nm(r, j), p2pc_strerror(rc));
      return;
    }
  /* G values in flight were computed without it: no one may apply one
   * above its LS. */
  if (!r->legacy) {
    uint64_t ls = p2pc_causal_local_stable(s->c);
    for (size_t i = 0; i < r->nheap; i++)
      if (r->heap[i].kind == E_G_APPLY && r->heap[i].x > ls)
        r->heap[i].x = ls;
    /* Nor may any core keep one: its clock may be behind the others', and
     * in a node its first report reaches a core before its first DATA
     * (PROTOCOL.md, "Stability"), lowering the levels there. Found by
     * seed 5264948513569687541: an entry of the newcomer's first message
     * was taken as stable on arrival, its stamp below an older G. */
    for (uint32_t j = 0; j < n; j++)
      if (!r->s[j].dead && r->s[j].g_cur > ls) {
        p2pc_causal_set_stable(r->s[j].c, ls);
        r->s[j].g_cur = ls;
      }
  }
  check_core(r, n);
}

void do_retire(run *r, const event *e) {
  if (r->s[e->a].dead || r->s[e->a].retired[e->b])
    return;
  feed_time(r, e->a);
  int rc = core_retire(r, e->a, e->b);
  if (rc != 0)
    fail(r, 'x', "%s retiring %s: %s", nm(r, e->a), nm(r, e->b),
         p2pc_strerror(rc));
  check_core(r, e->a);
}
