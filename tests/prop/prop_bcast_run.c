/* SPDX-License-Identifier: MIT */
/*
 * prop_bcast's schedules (prop_bcast.h): the cores and their events, what
 * a schedule does (sends, copies, births, crashes, reports, LS values),
 * and one schedule from start to end.
 */
#include "prop_bcast.h"

/* ---- helpers ------------------------------------------------------------- */

static __attribute__((format(printf, 2, 3))) void fail(run *r, const char *fmt,
                                                       ...) {
  if (r->fail[0])
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->fail, sizeof r->fail, fmt, ap);
  va_end(ap);
}

static uint64_t below(p2pc_rng *g, uint64_t n) {
  return n ? p2pc_rng_next(g) % n : 0;
}
static bool chance(p2pc_rng *g, double p) { return p2pc_rng_unit(g) < p; }

static bool ev_before(const event *a, const event *b) {
  return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

static void push(run *r, uint64_t t, uint32_t kind, uint32_t a, uint32_t b,
                 uint64_t x) {
  r->heap = xgrow(r->heap, sizeof *r->heap, r->nheap + 1, &r->capheap);
  event e = {t, r->seq++, kind, a, b, x};
  size_t i = r->nheap++;
  while (i > 0 && ev_before(&e, &r->heap[(i - 1) / 2])) {
    r->heap[i] = r->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  r->heap[i] = e;
}

static event pop(run *r) {
  event top = r->heap[0], last = r->heap[--r->nheap];
  size_t i = 0, n = r->nheap;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n)
      break;
    if (c + 1 < n && ev_before(&r->heap[c + 1], &r->heap[c]))
      c++;
    if (!ev_before(&r->heap[c], &last))
      break;
    r->heap[i] = r->heap[c];
    i = c;
  }
  if (n)
    r->heap[i] = last;
  return top;
}

static bool payload_is(uint32_t mid, const uint8_t *p, size_t len) {
  uint8_t want[MAX_PAYLOAD];
  size_t wl = make_payload(mid, want);
  return p && len == wl && memcmp(p, want, len) == 0;
}

static uint32_t node_of(const run *r, const char *name) {
  for (uint32_t i = 0; name && i < r->p.n; i++)
    if (strcmp(name, r->s[i].name) == 0)
      return i;
  return NOBODY;
}

static uint32_t mid_of(const run *r, uint32_t k, uint64_t n) {
  const bnode *s = &r->s[k];
  return n >= 1 && n <= s->nmids ? s->mids[n - 1] : NOBODY;
}

static void add_log(run *r, uint32_t node, uint32_t mid, uint32_t kind,
                    uint64_t hlc) {
  r->log = xgrow(r->log, sizeof *r->log, r->nlog + 1, &r->caplog);
  r->log[r->nlog++] = (logrec){node, mid, kind, hlc};
}

/* ---- the cores' events --------------------------------------------------- */

static void on_event(void *ud, const p2pc_causal_event *ev) {
  const struct bctx *ctx = ud;
  run *r = ctx->r;
  uint32_t me = ctx->k;
  bnode *s = &r->s[me];
  uint32_t snd = node_of(r, ev->sender);
  if (r->o->trace)
    printf("  t=%.3f %s: %d %s:%" PRIu64 " peer %s stamp %" PRIu64
           " hlc %" PRIu64 " bc=%d deps=%" PRIu32 " waits %s:%" PRIu64 " %s\n",
           (double)r->now / 1e6, s->name, (int)ev->kind, ev->sender, ev->n,
           ev->peer ? ev->peer : "-", ev->stamp, ev->hlc, ev->broadcast,
           ev->deps, ev->waits_sender ? ev->waits_sender : "-", ev->waits_n,
           ev->reason ? ev->reason : "");
  if (snd == NOBODY) {
    fail(r, "%s: event %d names unknown sender %s", s->name, (int)ev->kind,
         ev->sender ? ev->sender : "(null)");
    return;
  }
  switch (ev->kind) {
  case P2PC_CEV_SEND: {
    if (!r->in_send || snd != me || ev->n != s->nmids + 1) {
      fail(r, "%s: unexpected SEND %s:%" PRIu64, s->name, ev->sender, ev->n);
      return;
    }
    msg *m = &r->msgs[r->send_mid];
    bool bc = m->dst == NOBODY;
    if (ev->broadcast != bc ||
        strcmp(ev->peer, bc ? P2PC_CAUSAL_ALL : r->s[m->dst].name) != 0) {
      fail(r, "%s: SEND %s:%" PRIu64 " to %s (broadcast %d)", s->name,
           ev->sender, ev->n, ev->peer, ev->broadcast);
      return;
    }
    s->mids = xgrow(s->mids, sizeof *s->mids, s->nmids + 1, &s->capmids);
    s->mids[s->nmids++] = r->send_mid;
    m->n = ev->n;
    m->stamp = ev->stamp;
    add_log(r, me, r->send_mid, L_SEND, ev->hlc);
    return;
  }
  case P2PC_CEV_DELIVER: {
    uint32_t mid = mid_of(r, snd, ev->n);
    if (mid == NOBODY) {
      fail(r, "%s: DELIVER of unknown %s:%" PRIu64, s->name, ev->sender, ev->n);
      return;
    }
    const msg *m = &r->msgs[mid];
    if (ev->broadcast != (m->dst == NOBODY) ||
        (m->dst != NOBODY && m->dst != me) ||
        !payload_is(mid, ev->payload, ev->bytes)) {
      fail(r, "%s: DELIVER %s:%" PRIu64 " is not the message sent", s->name,
           ev->sender, ev->n);
      return;
    }
    s->deliv = xgrow(s->deliv, sizeof *s->deliv, s->ndeliv + 1, &s->capdeliv);
    s->deliv[s->ndeliv++] = mid;
    add_log(r, me, mid, L_DELIVER, ev->hlc);
    return;
  }
  case P2PC_CEV_EXPIRE: {
    uint32_t mid = mid_of(r, snd, ev->n);
    if (mid == NOBODY) {
      fail(r, "%s: EXPIRE of unknown %s:%" PRIu64, s->name, ev->sender, ev->n);
      return;
    }
    msg *m = &r->msgs[mid];
    if (ev->at_sender) {
      /* A unicast not acknowledged within Δ: given up (its receiver may
       * have skipped it; judge excuses that by the receiver's clock). */
      if (snd != me || m->dst == NOBODY ||
          (r->p.life != INF && m->stamp + r->p.life > ev->hlc))
        fail(r,
             "[b] %s: give-up of %s:%" PRIu64 " stamped %" PRIu64
             " at HLC %" PRIu64,
             s->name, ev->sender, ev->n, m->stamp, ev->hlc);
      return;
    }
    r->exp_rx++;
    if (r->p.life == INF || m->stamp + r->p.life > ev->hlc)
      fail(r,
           "[b] %s: EXPIRE %s:%" PRIu64 " stamped %" PRIu64 " at HLC %" PRIu64
           ": younger than Δ",
           s->name, ev->sender, ev->n, m->stamp, ev->hlc);
    else if (r->o->mode != M_GENERAL)
      fail(r,
           "[d] %s: EXPIRE %s:%" PRIu64 " (%s) though every copy arrives "
           "in time",
           s->name, ev->sender, ev->n, ev->reason ? ev->reason : "");
    add_log(r, me, mid, L_EXPIRE, ev->hlc);
    return;
  }
  case P2PC_CEV_DROP: {
    uint32_t mid = mid_of(r, snd, ev->n);
    if (mid == NOBODY || r->msgs[mid].dst != NOBODY || !ev->reason ||
        strcmp(ev->reason, "sent before this node's birth") != 0 ||
        r->msgs[mid].stamp >= s->birth) {
      fail(r,
           "[c] %s: DROP %s:%" PRIu64 " (%s) stamped %" PRIu64
           ", birth %" PRIu64,
           s->name, ev->sender, ev->n, ev->reason ? ev->reason : "", ev->stamp,
           s->birth);
      return;
    }
    r->birth_drops++;
    return;
  }
  case P2PC_CEV_REFUSE:
    fail(r, "%s: REFUSE %s:%" PRIu64 " (%s) from an honest clock", s->name,
         ev->sender, ev->n, ev->reason ? ev->reason : "");
    return;
  case P2PC_CEV_RECV:
  case P2PC_CEV_BUFFER:
  case P2PC_CEV_DUP:
    return;
  }
}

/* ---- driving the cores --------------------------------------------------- */

static void feed_time(run *r, uint32_t k) {
  bnode *s = &r->s[k];
  r->cur = k;
  p2pc_causal_set_time(s->c, EPOCH + (int64_t)r->now + s->off, s->err, r->now);
}

static void birth(run *r, uint32_t k) {
  bnode *s = &r->s[k];
  /* Odd seeds forget ids at every tick (never a no_prune run, so that
   * --compare-prune also holds forgetting to "no delivery changes"). */
  p2pc_causal_config cfg = {.lifetime_ns = r->p.life,
                            .no_prune = r->no_prune,
                            .forget_every_tick = !r->no_prune && (r->seed & 1)};
  r->ctx[k].r = r;
  r->ctx[k].k = k;
  if (p2pc_causal_new(&s->c, s->name, &cfg, p2pc_allocator_default(), on_event,
                      &r->ctx[k]) != 0) {
    fail(r, "%s: p2pc_causal_new failed", s->name);
    return;
  }
  if (r->o->faults)
    p2pc_causal_set_faults(s->c, r->o->faults);
  s->born = true;
  feed_time(r, k);
  s->birth = p2pc_causal_birth(s->c);
  if (!s->birth)
    fail(r, "%s: no birth after its first set_time", s->name);
}

/* A delay of one copy over `hops` links, within the cap. */
static uint64_t delay(run *r, uint32_t hops) {
  uint64_t d = 0;
  for (uint32_t i = 0; i < hops; i++)
    d += 1 + below(&r->g, r->p.hop);
  if (r->p.cap && d > r->p.cap)
    d = r->p.cap - below(&r->g, r->p.cap / 4 + 1);
  return d;
}

/* Schedules the copies of broadcast mid to node k: one, perhaps a second,
 * perhaps a relayed one (over 2..4 links). */
static void copies_to(run *r, uint32_t mid, uint32_t k, uint64_t extra) {
  push(r, r->now + extra + delay(r, 1), E_ARRIVE, k, 1, mid);
  r->copies++;
  if (chance(&r->g, r->p.pdup)) {
    push(r, r->now + extra + delay(r, 1), E_ARRIVE, k, 1, mid);
    r->dups++;
  }
  if (chance(&r->g, r->p.prelay)) {
    uint32_t hops = 2 + (uint32_t)below(&r->g, 3);
    push(r, r->now + extra + delay(r, hops), E_ARRIVE, k, hops, mid);
    r->relays++;
  }
}

static void do_op(run *r) {
  uint32_t live[MAXN], nl = 0;
  for (uint32_t k = 0; k < r->p.n; k++)
    if (alive(r, k))
      live[nl++] = k;
  if (!nl)
    return;
  uint32_t src = live[below(&r->g, nl)];
  uint32_t dst = NOBODY;
  bool bc = chance(&r->g, r->p.pbcast);
  if (!bc) {
    uint32_t known[MAXN], nk = 0;
    for (uint32_t k = 0; k < r->p.n; k++)
      if (r->s[k].born && (k != src || chance(&r->g, r->p.pself)))
        known[nk++] = k;
    if (!nk)
      return;
    dst = known[below(&r->g, nk)];
  }
  r->msgs = xgrow(r->msgs, sizeof *r->msgs, r->nmsgs + 1, &r->capmsgs);
  uint32_t mid = (uint32_t)r->nmsgs++;
  msg *m = &r->msgs[mid];
  memset(m, 0, sizeof *m);
  m->src = src;
  m->dst = dst;
  uint8_t pl[MAX_PAYLOAD];
  size_t len = make_payload(mid, pl);
  feed_time(r, src);
  p2pc_buf_reset(&r->out);
  r->in_send = true;
  r->send_mid = mid;
  int rv = p2pc_causal_send(r->s[src].c, bc ? P2PC_CAUSAL_ALL : r->s[dst].name,
                            pl, len, r->now, &r->out);
  r->in_send = false;
  if (rv != 0) {
    fail(r, "%s: send failed (%d)", r->s[src].name, rv);
    return;
  }
  m = &r->msgs[mid];
  if (m->n == 0) {
    fail(r, "%s: send reported no SEND event", r->s[src].name);
    return;
  }
  r->pool = xgrow(r->pool, 1, r->poollen + r->out.len, &r->poolcap);
  if (r->out.len)
    memcpy(r->pool + r->poollen, r->out.data, r->out.len);
  m->off = r->poollen;
  m->len = r->out.len;
  r->poollen += r->out.len;
  if (dst == src) {
    if (m->len)
      fail(r, "%s: a message to self was encoded", r->s[src].name);
    return;
  }
  if (!bc) {
    r->s[src].sent_to[dst] = true;
    push(r, r->now + delay(r, 1), E_ARRIVE, dst, 1, mid);
    r->copies++;
    if (chance(&r->g, r->p.pdup)) {
      push(r, r->now + delay(r, 1), E_ARRIVE, dst, 1, mid);
      r->dups++;
    }
    return;
  }
  r->bcasts++;
  for (uint32_t k = 0; k < r->p.n; k++)
    if (alive(r, k) && k != src)
      copies_to(r, mid, k, 0);
  /* A relay may hand it back to its sender. */
  if (chance(&r->g, r->p.prelay))
    push(r, r->now + delay(r, 2), E_ARRIVE, src, 2, mid);
}

static void do_arrive(run *r, const event *e) {
  uint32_t k = e->a, hops = e->b;
  if (!alive(r, k))
    return;
  const msg *m = &r->msgs[e->x];
  feed_time(r, k);
  int rv;
  if (m->dst == NOBODY && (hops > 1 || (e->seq & 1)))
    rv = p2pc_causal_receive_hops(r->s[k].c, NULL, r->pool + m->off, m->len,
                                  hops, r->now);
  else
    rv = p2pc_causal_receive(r->s[k].c, r->s[m->src].name, r->pool + m->off,
                             m->len, r->now);
  if (rv != 0)
    fail(r, "%s: receive of %s:%" PRIu64 " answered %d", r->s[k].name,
         r->s[m->src].name, m->n, rv);
}

static uint32_t pick_live(run *r, uint32_t skip) {
  uint32_t live[MAXN], nl = 0;
  for (uint32_t k = 0; k < r->p.n; k++)
    if (alive(r, k) && k != skip)
      live[nl++] = k;
  return nl ? live[below(&r->g, nl)] : NOBODY;
}

/* A delivery report of a random node about a random sender, on its way
 * (if that sender knows the node: it sent it a unicast). */
static void do_repgen(run *r) {
  uint32_t x = pick_live(r, NOBODY), snd = pick_live(r, x);
  uint64_t d = delay(r, 1);
  if (x == NOBODY || snd == NOBODY || !r->s[snd].sent_to[x])
    return;
  r->reps = xgrow(r->reps, sizeof *r->reps, r->nreps + 1, &r->capreps);
  rep *p = &r->reps[r->nreps];
  p2pc_causal_report_for(r->s[x].c, r->s[snd].name, &p->delivered, p->wo,
                         &p->nwo);
  push(r, r->now + d, E_REP, snd, x, r->nreps++);
}

static void do_rep(run *r, const event *e) {
  if (!alive(r, e->a))
    return;
  const rep *p = &r->reps[e->x];
  feed_time(r, e->a);
  int rv = p2pc_causal_peer_report(r->s[e->a].c, r->s[e->b].name, p->delivered,
                                   p->wo, p->nwo, r->now);
  if (rv != 0)
    fail(r, "%s: report from %s (delivered %" PRIu64 ") answered %d",
         r->s[e->a].name, r->s[e->b].name, p->delivered, rv);
}

/* A sender's LS, on its way to a random node. */
static void do_lsgen(run *r) {
  uint32_t snd = pick_live(r, NOBODY), y = pick_live(r, snd);
  uint64_t d = delay(r, 1);
  if (snd == NOBODY || y == NOBODY)
    return;
  push(r, r->now + d, E_LS, y, snd, p2pc_causal_local_stable(r->s[snd].c));
}

static void do_ls(run *r, const event *e) {
  if (!alive(r, e->a))
    return;
  feed_time(r, e->a);
  p2pc_causal_set_peer_stable(r->s[e->a].c, r->s[e->b].name, e->x);
}

static void do_birth(run *r, uint32_t k) {
  birth(r, k);
  /* A repair brings it every broadcast sent before. */
  for (size_t mid = 0; mid < r->nmsgs; mid++)
    if (r->msgs[mid].dst == NOBODY && r->msgs[mid].src != k)
      copies_to(r, (uint32_t)mid, k, 0);
}

/* ---- one schedule -------------------------------------------------------- */

static void draw_params(run *r) {
  params *p = &r->p;
  p2pc_rng *g = &r->g;
  static const uint64_t lives[] = {INF,      INF,     100 * MS,
                                   300 * MS, 1 * SEC, 5 * SEC};
  static const uint64_t errs[] = {0, 100000, 1 * MS, 5 * MS};
  static const uint64_t hops[] = {1 * MS, 10 * MS, 50 * MS, 200 * MS};
  memset(p, 0, sizeof *p);
  p->n0 = 2 + (uint32_t)below(g, 6);
  p->n = p->n0 + (uint32_t)below(g, 4);
  if (p->n > MAXN)
    p->n = MAXN;
  p->ops = 20 + (uint32_t)below(g, 200);
  p->gap = 1 + below(g, 20 * MS);
  p->life = r->o->mode == M_PRUNE ? INF : lives[below(g, 6)];
  p->maxerr = errs[below(g, 4)];
  p->hop = hops[below(g, 4)];
  if (r->o->mode == M_BOUNDED && p->life != INF) {
    p->cap = p->life - 4 * p->maxerr - 4 * MS;
    if (p->hop * 4 > p->cap)
      p->hop = p->cap / 4;
  }
  p->pbcast = 0.2 + 0.6 * p2pc_rng_unit(g);
  p->pdup = 0.3 * p2pc_rng_unit(g);
  p->prelay = 0.5 * p2pc_rng_unit(g);
  p->pself = 0.05;
  uint64_t span = p->ops * p->gap / 2;
  for (uint32_t k = p->n0; k < p->n; k++)
    p->born_t[k] = 1 + below(g, span + 1);
  p->ncrash = (uint32_t)below(g, MAX_CRASH + 1);
  for (uint32_t i = 0; i < p->ncrash; i++) {
    p->crash_who[i] = (uint32_t)below(g, p->n);
    p->crash_t[i] = p->born_t[p->crash_who[i]] + 1 + below(g, span + 1);
  }
  p->reports = chance(g, 0.7);
  p->peer_ls = chance(g, 0.7);
  p->tick = 1 * MS + below(g, 20 * MS);
}

void run_free(run *r) {
  for (uint32_t k = 0; k < MAXN; k++) {
    p2pc_causal_free(r->s[k].c);
    free(r->s[k].mids);
    free(r->s[k].deliv);
  }
  free(r->heap);
  free(r->msgs);
  free(r->pool);
  free(r->reps);
  free(r->log);
  p2pc_buf_fini(&r->out);
  if (r->ck)
    ccheck_free(r->ck);
  memset(r, 0, sizeof *r);
}

int run_schedule(run *r, const options *o, uint64_t seed, bool no_prune) {
  memset(r, 0, sizeof *r);
  r->o = o;
  r->seed = seed;
  r->no_prune = no_prune;
  p2pc_rng_seed(&r->g, seed, 0);
  draw_params(r);
  p2pc_buf_init(&r->out, p2pc_allocator_default(), OUT_MAX);
  for (uint32_t k = 0; k < r->p.n; k++) {
    bnode *s = &r->s[k];
    snprintf(s->name, sizeof s->name, "n%" PRIu32, k);
    r->names[k] = s->name;
    s->err = r->p.maxerr ? below(&r->g, r->p.maxerr + 1) : 0;
    s->off =
        s->err ? (int64_t)below(&r->g, 2 * s->err + 1) - (int64_t)s->err : 0;
  }
  for (uint32_t k = 0; k < r->p.n0; k++)
    birth(r, k);
  for (uint32_t k = r->p.n0; k < r->p.n; k++)
    push(r, r->p.born_t[k], E_BIRTH, k, 0, 0);
  for (uint32_t i = 0; i < r->p.ncrash; i++)
    push(r, r->p.crash_t[i], E_CRASH, r->p.crash_who[i], 0, 0);
  r->ops_left = r->p.ops;
  push(r, 1 + below(&r->g, r->p.gap), E_OP, 0, 0, 0);
  push(r, r->p.tick, E_TICK, 0, 0, 0);
  if (r->p.reports)
    push(r, below(&r->g, 10 * MS), E_REPGEN, 0, 0, 0);
  if (r->p.peer_ls)
    push(r, below(&r->g, 10 * MS), E_LSGEN, 0, 0, 0);
  r->end_time = UINT64_MAX;
  while (r->nheap && !r->fail[0]) {
    if (++r->steps > STEP_LIMIT) {
      fail(r, "step limit");
      break;
    }
    event e = pop(r);
    r->now = e.t;
    switch (e.kind) {
    case E_OP:
      do_op(r);
      if (--r->ops_left)
        push(r, r->now + 1 + below(&r->g, r->p.gap), E_OP, 0, 0, 0);
      else
        r->end_time = r->now + 5 * r->p.hop + 4 * r->p.maxerr +
                      (r->p.life == INF ? 0 : r->p.life + 3 * SEC);
      break;
    case E_ARRIVE:
      do_arrive(r, &e);
      break;
    case E_BIRTH:
      do_birth(r, e.a);
      break;
    case E_CRASH:
      r->s[e.a].dead = r->s[e.a].born;
      if (r->s[e.a].born)
        r->s[e.a].hlc_end = p2pc_causal_hlc(r->s[e.a].c);
      if (!r->s[e.a].born)
        push(r, r->now + r->p.tick, E_CRASH, e.a, 0, 0);
      break;
    case E_TICK:
      for (uint32_t k = 0; k < r->p.n; k++)
        if (alive(r, k))
          feed_time(r, k);
      if (r->now < r->end_time)
        push(r, r->now + r->p.tick, E_TICK, 0, 0, 0);
      break;
    case E_REPGEN:
      do_repgen(r);
      if (r->ops_left)
        push(r, r->now + 1 + below(&r->g, 10 * MS), E_REPGEN, 0, 0, 0);
      break;
    case E_REP:
      do_rep(r, &e);
      break;
    case E_LSGEN:
      do_lsgen(r);
      if (r->ops_left)
        push(r, r->now + 1 + below(&r->g, 10 * MS), E_LSGEN, 0, 0, 0);
      break;
    case E_LS:
      do_ls(r, &e);
      break;
    }
  }
  if (r->fail[0])
    return 1;
  for (uint32_t k = 0; k < r->p.n; k++) {
    if (!alive(r, k))
      continue;
    feed_time(r, k);
    if (p2pc_causal_buffered(r->s[k].c))
      fail(r, "[e] %s: %" PRIu32 " messages still buffered at the end",
           r->s[k].name, p2pc_causal_buffered(r->s[k].c));
    p2pc_causal_stats st;
    p2pc_causal_get_stats(r->s[k].c, &st);
    r->pruned += st.stable_deps;
  }
  if (r->fail[0])
    return 1;
  judge(r);
  return ccheck_violations(r->ck) ? 2 : 0;
}
