/* SPDX-License-Identifier: MIT */
/*
 * One prop_causal schedule, start to end (prop_harness.h): the step loop
 * and its stop rule, the checker replayed offline, and comparing the
 * deliveries of two runs of the same schedule.
 */
#include "prop_harness.h"

/* ---- one schedule ----------------------------------------------------------
 */

void run_free(run *r) {
  for (uint32_t i = 0; i < MAX_SLOTS; i++) {
    slot *s = &r->s[i];
    if (s->c)
      p2pc_causal_free(s->c);
    if (s->l)
      lses_causal_free(s->l);
    free(s->mids);
    free(s->buf);
    free(s->deliv);
  }
  ccheck_free(r->ck);
  p2pc_buf_fini(&r->out);
  free(r->heap);
  free(r->msgs);
  free(r->pool);
  free(r->reps);
  free(r->log);
  memset(r, 0, sizeof *r);
}

static bool should_stop(const run *r) {
  if (r->fail[0])
    return true;
  if (!r->ck)
    return false;
  if (!r->o->expect)
    return ccheck_violations(r->ck) > 0;
  return ccheck_count(r->ck, CCHECK_ORDER) +
         ccheck_count(r->ck, CCHECK_DUPLICATE);
}

/* The checker fed after the fact, when messages may be lost or expire:
 * every message never delivered at its destination is reported expired
 * right after its send, so order is checked among the delivered ones; the
 * receivers' EXPIREs are fed where they happened (a delivery as well is
 * EXPIRED_DELIVERED). The harness judges whether each loss was allowed. */
static ccheck *replay_checker(const run *r, unsigned flags) {
  ccheck *ck = ccheck_new(r->nslots, r->namep, flags);
  for (size_t i = 0; i < r->nlog; i++) {
    const logrec *x = &r->log[i];
    uint8_t payload[MAX_PAYLOAD];
    size_t len = 1;
    payload[0] = 0xff;
    if (x->mid != UINT32_MAX && x->payload_ok)
      len = make_payload(x->mid, r->msgs[x->mid].src, r->msgs[x->mid].dst,
                         payload);
    switch ((lkind)x->kind) {
    case L_SEND:
      ccheck_send(ck, x->node, x->sender, x->n, r->msgs[x->mid].dst, payload,
                  len);
      if (!r->msgs[x->mid].delivered)
        ccheck_expire(ck, x->node, x->sender, x->n);
      break;
    case L_DELIVER:
      ccheck_deliver(ck, x->node, x->sender, x->n, payload, len);
      break;
    case L_EXPIRE:
      ccheck_expire(ck, x->node, x->sender, x->n);
      break;
    }
  }
  ccheck_finish(ck);
  return ck;
}

static uint64_t tail_of(const params *p, uint64_t now) {
  uint64_t t = 12 * p->maxdelay + 4 * p->maxdelay + MS;
  if (p->partition && p->p1 > now)
    t += p->p1 - now + p->maxdelay;
  if (p->reports)
    t += 2 * (p->rep_period + p->rep_maxdelay);
  if (p->gstable)
    t += 2 * (p->g_period + p->g_maxlag);
  if (p->life != INF)
    t += p->life + 2 * p->maxerr + 2 * SLACK;
  return t;
}

outcome run_schedule(run *r, const options *o, uint64_t seed, bool no_prune,
                     bool legacy) {
  memset(r, 0, sizeof *r);
  r->o = o;
  r->seed = seed;
  r->faults = o->faults;
  r->no_prune = no_prune;
  r->legacy = legacy;
  p2pc_rng_seed(&r->g, seed, 0);
  draw_params(r);
  params *p = &r->p;
  if (legacy || o->mode == MODE_LEGACY) {
    p->reports = p->gstable = false;
    r->no_prune = true;
  }
  r->lossless = p->life == INF && !p->ncrash && p->liar < 0;
  if (o->trace)
    printf("schedule seed=%" PRIu64 " nodes=%" PRIu32 " ops=%" PRIu32
           " life=%.3f ms maxerr=%.3f ms maxdelay=%.3f ms cap=%.3f ms "
           "max_buffered=%" PRIu32 " caps=%" PRIu32 "/%" PRIu32 "/%" PRIu32
           " reports=%d G=%d partition=%d crashes=%" PRIu32 " liar=%" PRId32
           " no_prune=%d legacy=%d\n",
           seed, p->n, p->ops, p->life == INF ? -1.0 : msf(p->life),
           msf(p->maxerr), msf(p->maxdelay), msf(p->cap), p->max_buffered,
           p->max_deps, p->max_msg_deps, p->max_pending, p->reports, p->gstable,
           p->partition, p->ncrash, p->liar, r->no_prune, legacy);
  p2pc_buf_init(&r->out, p2pc_allocator_default(), OUT_MAX);
  r->nslots = p->n;
  for (uint32_t i = 0; i < p->n; i++) {
    slot *s = &r->s[i];
    snprintf(s->name, sizeof s->name, "n%" PRIu32, i);
    s->base = i;
    s->err = p->maxerr ? rng_below(&r->g, p->maxerr + 1) : 0;
    if (rng_chance(&r->g, 0.5)) /* at an end of the bound */
      s->off = rng_chance(&r->g, 0.5) ? (int64_t)s->err : -(int64_t)s->err;
    else
      s->off = (int64_t)rng_below(&r->g, 2 * s->err + 1) - (int64_t)s->err;
    if ((int32_t)i == p->liar) {
      s->off = (int64_t)LIAR_LEAD;
      s->err = MS;
    }
    s->mids = grow(s->mids, sizeof *s->mids, 1, &s->capmids);
    s->mids[s->nmids++] = UINT32_MAX; /* messages are numbered from 1 */
    int rc = core_new(r, i);
    if (rc != 0) {
      fail(r, 'x', "new core %s: %s", s->name, p2pc_strerror(rc));
      return OUT_FAIL;
    }
  }
  if (r->lossless)
    r->ck = ccheck_new(r->nslots, r->namep, 0);
  for (uint32_t i = 0; i < p->n; i++)
    feed_time(r, i);

  push(r, (event){.t = rng_below(&r->g, p->gapmax + 1), .kind = E_OP});
  push(r, (event){.t = p->tick, .kind = E_TICK});
  if (p->reports)
    push(r, (event){.t = p->rep_period, .kind = E_REPORT_GEN});
  if (p->gstable)
    push(r, (event){.t = p->g_period, .kind = E_G_GEN});
  for (uint32_t i = 0; i < p->ncrash; i++)
    push(r, (event){.t = p->crash_t[i],
                    .kind = E_CRASH,
                    .a = p->crash_who[i],
                    .b = i});
  r->ops_left = p->ops;
  r->end_time = UINT64_MAX;
  while (r->nheap) {
    if (++r->steps > STEP_LIMIT) {
      fail(r, 'x', "no end after %u steps (%zu events pending)", STEP_LIMIT,
           r->nheap);
      break;
    }
    event e = pop(r);
    if (e.t > r->now)
      r->now = e.t;
    bool more = r->now < r->end_time;
    switch ((ekind)e.kind) {
    case E_OP:
      do_op(r);
      if (--r->ops_left)
        push(r, (event){.t = r->now + rng_below(&r->g, p->gapmax + 1),
                        .kind = E_OP});
      else
        r->end_time = r->now + tail_of(p, r->now);
      break;
    case E_RESEND:
      if (alive(r, e.a) && !r->s[e.a].retired[e.b])
        do_send(r, e.a, e.b, e.tries);
      break;
    case E_ARRIVE:
      do_arrival(r, &e);
      break;
    case E_TICK:
      for (uint32_t k = 0; k < r->nslots && !r->fail[0]; k++)
        if (alive(r, k)) {
          feed_time(r, k);
          check_core(r, k);
        }
      if (more)
        push(r, (event){.t = r->now + p->tick, .kind = E_TICK});
      break;
    case E_REPORT_GEN:
      do_report_gen(r);
      if (more)
        push(r, (event){.t = r->now + p->rep_period, .kind = E_REPORT_GEN});
      break;
    case E_REPORT:
      do_report(r, &e);
      break;
    case E_G_GEN:
      do_g_gen(r);
      if (more)
        push(r, (event){.t = r->now + p->g_period, .kind = E_G_GEN});
      break;
    case E_G_APPLY:
      do_g_apply(r, &e);
      break;
    case E_CRASH:
      do_crash(r, e.a, e.b);
      break;
    case E_RETIRE:
      do_retire(r, &e);
      break;
    }
    if (should_stop(r))
      break;
  }
  if (!r->fail[0] && !(r->ck && ccheck_violations(r->ck))) {
    /* The end: long enough for everything older than Δ to be swept. */
    uint64_t end = r->end_time == UINT64_MAX ? r->now : r->end_time;
    r->now = (r->now > end ? r->now : end) +
             (p->life == INF ? 1 : p->life + 2 * p->maxerr + 2 * SLACK);
    for (uint32_t k = 0; k < r->nslots && !r->fail[0]; k++)
      if (alive(r, k)) {
        feed_time(r, k);
        check_core(r, k);
      }
  }
  /* a: the checker. */
  if (r->ck) {
    if (!ccheck_violations(r->ck) && !r->fail[0])
      ccheck_finish(r->ck);
  } else {
    r->ck = replay_checker(r, 0);
  }
  if (ccheck_violations(r->ck))
    return OUT_VIOLATION;
  if (r->fail[0])
    return OUT_FAIL;
  if (r->faults)
    return OUT_OK;
  /* b: nothing left waiting; every message between cores that never
   * crashed delivered exactly once (the checker) or reported expired. */
  for (uint32_t k = 0; k < r->nslots; k++)
    if (alive(r, k) && core_buffered(r, k)) {
      fail(r, 'b', "%s still buffers %" PRIu32 " messages at the end", nm(r, k),
           core_buffered(r, k));
      return OUT_FAIL;
    }
  for (size_t i = 0; i < r->nmsgs; i++) {
    const dmsg *m = &r->msgs[i];
    if (m->delivered || m->rx_expired || m->tx_expired)
      continue;
    if (r->s[m->src].dead || r->s[m->dst].dead ||
        (!honest(r, m->src) && m->refused))
      continue;
    fail(r, 'b',
         "%s:%" PRIu64 " (to %s) was neither delivered nor reported expired "
         "(dropped %d, lost %d)",
         nm(r, m->src), m->n, nm(r, m->dst), m->dropped, m->lost);
    return OUT_FAIL;
  }
  if (r->o->mode == MODE_AHEAD) {
    /* f: every message of the core ahead to another was refused. */
    for (size_t i = 0; i < r->nmsgs; i++)
      if (!honest(r, r->msgs[i].src) && r->msgs[i].src != r->msgs[i].dst &&
          !r->msgs[i].refused)
        fail(r, 'f',
             "%s:%" PRIu64 " from the core 10 s ahead was never refused",
             nm(r, r->msgs[i].src), r->msgs[i].n);
  }
  for (uint32_t k = 0; k < r->nslots && !r->legacy; k++) {
    p2pc_causal_stats st;
    p2pc_causal_get_stats(r->s[k].c, &st);
    r->forgotten += st.forgotten;
    if (st.rejected_full != r->s[k].fulls)
      fail(r, 'x',
           "%s: stats.rejected_full=%" PRIu64 " but receive returned FULL "
           "%" PRIu64 " times",
           nm(r, k), st.rejected_full, r->s[k].fulls);
  }
  return r->fail[0] ? OUT_FAIL : OUT_OK;
}

/* Re-checks a lossless run with an offline checker fed one node's whole
 * log after another (in reverse node order, so most deliveries come before
 * their sends): it must reach the same verdict. */
bool recheck_offline(const run *r, char *why, size_t whylen) {
  ccheck *ck = ccheck_new(r->nslots, r->namep, CCHECK_OFFLINE);
  for (uint32_t k = r->nslots; k-- > 0;)
    for (size_t i = 0; i < r->nlog; i++) {
      const logrec *x = &r->log[i];
      if (x->node != k)
        continue;
      uint8_t payload[MAX_PAYLOAD];
      size_t len = 1;
      payload[0] = 0xff;
      if (x->mid != UINT32_MAX && x->payload_ok)
        len = make_payload(x->mid, r->msgs[x->mid].src, r->msgs[x->mid].dst,
                           payload);
      if (x->kind == L_SEND)
        ccheck_send(ck, k, x->sender, x->n, r->msgs[x->mid].dst, payload, len);
      else if (x->kind == L_DELIVER)
        ccheck_deliver(ck, k, x->sender, x->n, payload, len);
    }
  ccheck_finish(ck);
  bool ok = ccheck_violations(ck) == ccheck_violations(r->ck) &&
            ccheck_deliveries(ck) == ccheck_deliveries(r->ck) &&
            ccheck_messages(ck) == ccheck_messages(r->ck);
  if (!ok)
    snprintf(why, whylen,
             "offline re-check disagrees: %" PRIu64 " violations (%s), %" PRIu64
             " deliveries vs online %" PRIu64 ", %" PRIu64,
             ccheck_violations(ck), ccheck_first(ck) ? ccheck_first(ck) : "-",
             ccheck_deliveries(ck), ccheck_violations(r->ck),
             ccheck_deliveries(r->ck));
  ccheck_free(ck);
  return ok;
}

/* The per-core delivery sequences of two runs of one schedule. */
bool same_deliveries(const run *a, const run *b, const char *what_a,
                     const char *what_b, char *why, size_t whylen) {
  if (a->nslots != b->nslots || a->nmsgs != b->nmsgs) {
    snprintf(why, whylen,
             "the runs diverged: %" PRIu32
             " cores and %zu messages %s, %" PRIu32 " and %zu %s",
             a->nslots, a->nmsgs, what_a, b->nslots, b->nmsgs, what_b);
    return false;
  }
  for (uint32_t k = 0; k < a->nslots; k++) {
    const slot *sa = &a->s[k], *sb = &b->s[k];
    size_t n = sa->ndeliv > sb->ndeliv ? sa->ndeliv : sb->ndeliv;
    for (size_t i = 0; i < n; i++) {
      bool ea = i >= sa->ndeliv, eb = i >= sb->ndeliv;
      if (!ea && !eb && sa->deliv[i] == sb->deliv[i])
        continue;
      char xa[48] = "(end)", xb[48] = "(end)";
      if (!ea)
        snprintf(xa, sizeof xa, "%s:%" PRIu64, a->s[sa->deliv[i] >> 48].name,
                 (uint64_t)(sa->deliv[i] & 0xffffffffffffu));
      if (!eb)
        snprintf(xb, sizeof xb, "%s:%" PRIu64, b->s[sb->deliv[i] >> 48].name,
                 (uint64_t)(sb->deliv[i] & 0xffffffffffffu));
      snprintf(why, whylen, "delivery #%zu at %s differs: %s %s, %s %s", i + 1,
               sa->name, xa, what_a, xb, what_b);
      return false;
    }
  }
  return true;
}
