/* SPDX-License-Identifier: MIT */
/*
 * prop_causal's harness (prop_harness.h): the run's small helpers, the
 * event heap, payloads, the cores' events (from either core, checked and
 * logged), and driving either core (Δ-SES or the legacy one).
 */
#include "prop_harness.h"

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "prop_causal: out of memory\n");
    abort();
  }
  return q;
}

void *grow(void *p, size_t elsize, size_t need, size_t *cap) {
  if (need <= *cap)
    return p;
  size_t c = *cap ? *cap : 64;
  while (c < need)
    c *= 2;
  *cap = c;
  return xrealloc(p, c * elsize);
}

__attribute__((format(printf, 3, 4))) void fail(run *r, char prop,
                                                const char *fmt, ...) {
  if (r->fail[0])
    return;
  va_list ap;
  va_start(ap, fmt);
  int k = snprintf(r->fail, sizeof r->fail, "[%c] ", prop);
  vsnprintf(r->fail + k, sizeof r->fail - (size_t)k, fmt, ap);
  va_end(ap);
  r->fail_prop = prop;
}

static bool find_slot(const run *r, const char *s, uint32_t *out) {
  if (!s)
    return false;
  for (uint32_t i = 0; i < r->nslots; i++)
    if (strcmp(s, r->s[i].name) == 0) {
      *out = i;
      return true;
    }
  return false;
}

bool honest(const run *r, uint32_t k) {
  return r->p.liar < 0 || r->s[k].base != (uint32_t)r->p.liar;
}

const char *nm(const run *r, uint32_t k) { return r->s[k].name; }

/* Virtual ns as milliseconds, for messages. */
double msf(uint64_t ns) { return (double)ns / 1e6; }

/* ---- the event heap, ordered by (time, sequence) ------------------------ */

static bool ev_before(const event *a, const event *b) {
  return a->t != b->t ? a->t < b->t : a->seq < b->seq;
}

void push(run *r, event e) {
  r->heap = grow(r->heap, sizeof *r->heap, r->nheap + 1, &r->capheap);
  e.seq = r->seq++;
  size_t i = r->nheap++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!ev_before(&e, &r->heap[parent]))
      break;
    r->heap[i] = r->heap[parent];
    i = parent;
  }
  r->heap[i] = e;
}

event pop(run *r) {
  event top = r->heap[0];
  event last = r->heap[--r->nheap];
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

/* ---- payloads: the message's driver id, its ends, and filler ------------ */

size_t make_payload(uint32_t mid, uint32_t src, uint32_t dst, uint8_t *p) {
  uint64_t h = mid;
  size_t len = 6 + (size_t)(p2pc_splitmix64(&h) % (MAX_PAYLOAD - 6 + 1));
  p[0] = (uint8_t)mid;
  p[1] = (uint8_t)(mid >> 8);
  p[2] = (uint8_t)(mid >> 16);
  p[3] = (uint8_t)(mid >> 24);
  p[4] = (uint8_t)src;
  p[5] = (uint8_t)dst;
  for (size_t i = 6; i < len; i++)
    p[i] = (uint8_t)(mid * 31u + i * 7u + src);
  return len;
}

static bool payload_is(const run *r, uint32_t mid, const uint8_t *p,
                       size_t len) {
  uint8_t want[MAX_PAYLOAD];
  size_t wl = make_payload(mid, r->msgs[mid].src, r->msgs[mid].dst, want);
  return p && len == wl && memcmp(p, want, len) == 0;
}

/* ---- the cores' events, from either core -------------------------------- */

typedef enum ckind {
  K_SEND,
  K_RECV,
  K_BUFFER,
  K_DELIVER,
  K_DUP,
  K_DROP,
  K_EXPIRE,
  K_REFUSE
} ckind;

typedef struct cev {
  ckind kind;
  const char *sender, *peer;
  uint64_t n, stamp, hlc;
  uint32_t deps;
  size_t bytes, meta;
  const uint8_t *payload;
  const char *reason;
  bool at_sender;
} cev;

static const char *ckind_name(ckind k) {
  static const char *const names[] = {"SEND", "RECV", "BUFFER", "DELIVER",
                                      "DUP",  "DROP", "EXPIRE", "REFUSE"};
  return k <= K_REFUSE ? names[k] : "?";
}

static void add_log(run *r, lkind kind, uint32_t node, uint32_t sender,
                    uint64_t n, uint32_t mid, bool payload_ok) {
  r->log = grow(r->log, sizeof *r->log, r->nlog + 1, &r->caplog);
  r->log[r->nlog++] = (logrec){.kind = (uint8_t)kind,
                               .payload_ok = payload_ok,
                               .node = node,
                               .sender = sender,
                               .n = n,
                               .mid = mid};
}

static uint32_t mid_of(const run *r, uint32_t sender, uint64_t n) {
  const slot *s = &r->s[sender];
  return n < s->nmids ? s->mids[n] : UINT32_MAX;
}

static void unbuffer(run *r, uint32_t me, uint32_t sender, uint64_t n) {
  slot *s = &r->s[me];
  for (size_t i = 0; i < s->nbuf; i++)
    if (s->buf[i].sender == sender && s->buf[i].n == n) {
      s->buf[i] = s->buf[--s->nbuf];
      return;
    }
}

static void on_send_event(run *r, uint32_t me, uint32_t peer, const cev *ev) {
  if (!r->in_send || me != r->send_src) {
    fail(r, 'x', "%s: SEND event outside its send call", nm(r, me));
    return;
  }
  if (peer != r->send_dst || ev->bytes != r->send_len) {
    fail(r, 'x',
         "%s: SEND event says %s:%" PRIu64 " to %s, %zu bytes; the call "
         "was to %s, %zu bytes",
         nm(r, me), ev->sender, ev->n, ev->peer, ev->bytes, nm(r, r->send_dst),
         r->send_len);
    return;
  }
  slot *s = &r->s[me];
  if (ev->n != s->nmids) {
    fail(r, 'x', "%s: SEND numbered %" PRIu64 ", expected %zu", nm(r, me),
         ev->n, s->nmids);
    return;
  }
  if (!r->legacy && ev->deps > r->p.max_msg_deps) {
    fail(r, 'e',
         "%s: SEND %s:%" PRIu64 " carries %" PRIu32
         " entries, above max_msg_deps %" PRIu32,
         nm(r, me), ev->sender, ev->n, ev->deps, r->p.max_msg_deps);
    return;
  }
  s->mids = grow(s->mids, sizeof *s->mids, s->nmids + 1, &s->capmids);
  s->mids[s->nmids++] = r->send_mid;
  r->send_events++;
  r->meta_total += ev->meta;
  r->sends_total++;
  if (ev->deps > r->deps_max)
    r->deps_max = ev->deps;
  r->msgs = grow(r->msgs, sizeof *r->msgs, r->nmsgs + 1, &r->capmsgs);
  r->msgs[r->nmsgs++] =
      (dmsg){.src = me, .dst = peer, .n = ev->n, .stamp = ev->stamp};
  add_log(r, L_SEND, me, me, ev->n, r->send_mid, true);
  if (r->ck)
    ccheck_send(r->ck, me, me, ev->n, peer, r->send_payload, r->send_len);
}

static void on_deliver_event(run *r, uint32_t me, uint32_t sender,
                             const cev *ev) {
  uint32_t mid = mid_of(r, sender, ev->n);
  bool ok = mid != UINT32_MAX && payload_is(r, mid, ev->payload, ev->bytes);
  add_log(r, L_DELIVER, me, sender, ev->n, mid, ok);
  if (r->ck) {
    static const uint8_t junk[1] = {0xff};
    const uint8_t *pl = ev->payload ? ev->payload : junk;
    ccheck_deliver(r->ck, me, sender, ev->n, pl, ev->payload ? ev->bytes : 1);
  }
  slot *s = &r->s[me];
  s->deliv = grow(s->deliv, sizeof *s->deliv, s->ndeliv + 1, &s->capdeliv);
  s->deliv[s->ndeliv++] = (uint64_t)sender << 48 | ev->n;
  unbuffer(r, me, sender, ev->n);
  s->dirty[sender] = true;
  if (mid == UINT32_MAX)
    return; /* the checker reports it */
  dmsg *m = &r->msgs[mid];
  if (m->dst == me) {
    m->delivered++;
    if (m->rx_expired)
      fail(r, 'b', "%s delivered %s:%" PRIu64 " after expiring it", nm(r, me),
           nm(r, sender), ev->n);
  }
}

static void on_expire_event(run *r, uint32_t me, uint32_t sender, uint32_t peer,
                            const cev *ev) {
  uint32_t mid = mid_of(r, sender, ev->n);
  if (mid == UINT32_MAX) {
    fail(r, 'x', "%s: EXPIRE of %s:%" PRIu64 ", never sent", nm(r, me),
         ev->sender, ev->n);
    return;
  }
  dmsg *m = &r->msgs[mid];
  if (r->o->mode == MODE_BOUNDED && !(ev->at_sender && r->p.sharp)) {
    fail(r, 'c',
         "%s: EXPIRE (%s, %s) of %s:%" PRIu64 " to %s stamped %" PRIu64
         ", HLC %" PRIu64 " (age %.3f ms), though every delay stays below "
         "%.3f ms = Δ - 2 x err - slack (Δ %.3f ms, err %.3f ms)",
         nm(r, me), ev->at_sender ? "sender side" : "receiver side",
         ev->reason ? ev->reason : "?", nm(r, m->src), m->n, nm(r, m->dst),
         ev->stamp, ev->hlc, msf(ev->hlc - ev->stamp), msf(r->p.cap),
         msf(r->p.life), msf(r->p.maxerr));
    return;
  }
  if (r->o->mode == MODE_AHEAD && honest(r, m->src) && honest(r, m->dst)) {
    fail(r, 'f',
         "%s: EXPIRE (%s) of %s:%" PRIu64 " between honest cores, with a "
         "core 10 s ahead in the network",
         nm(r, me), ev->at_sender ? "sender side" : "receiver side",
         nm(r, m->src), m->n);
    return;
  }
  if (ev->at_sender) {
    if (me != m->src || peer != m->dst) {
      fail(r, 'x', "%s: sender-side EXPIRE of %s:%" PRIu64 " (to %s)",
           nm(r, me), nm(r, m->src), m->n, nm(r, m->dst));
      return;
    }
    m->tx_expired = true;
    r->expired_tx++;
    return;
  }
  if (me != m->dst) {
    fail(r, 'x', "%s: receiver-side EXPIRE of %s:%" PRIu64 ", sent to %s",
         nm(r, me), nm(r, m->src), m->n, nm(r, m->dst));
    return;
  }
  if (m->delivered)
    fail(r, 'b', "%s: EXPIRE of %s:%" PRIu64 " after delivering it", nm(r, me),
         nm(r, m->src), m->n);
  /* A copy of a message written off earlier is reported again; any other
   * receiver-side expiry must be due on this core's HLC. */
  bool again = ev->reason && strstr(ev->reason, "written off");
  if (!again && (ev->stamp != m->stamp || r->p.life == INF ||
                 ev->hlc < r->p.life || ev->stamp > ev->hlc - r->p.life))
    fail(r, 'b',
         "%s: EXPIRE of %s:%" PRIu64 " stamped %" PRIu64 " (sent %" PRIu64
         ") at HLC %" PRIu64 ": younger than Δ = %.3f ms",
         nm(r, me), nm(r, m->src), m->n, ev->stamp, m->stamp, ev->hlc,
         msf(r->p.life));
  if (!m->rx_expired) {
    m->rx_expired = true;
    r->expired_rx++;
    add_log(r, L_EXPIRE, me, m->src, m->n, mid, true);
  }
  unbuffer(r, me, sender, ev->n);
  r->s[me].dirty[sender] = true;
}

/* Half the schedules forget ids at every tick (the sweep's trigger is
 * otherwise too high for a few cores to reach); a no_prune run never does,
 * so --compare-prune also holds forgetting to "no delivery changes". */
static bool forgets(const run *r) {
  return !r->no_prune && (hmix(r->seed, 0xf0, 0x67e7) & 1);
}

static void on_common(run *r, uint32_t me, const cev *ev) {
  uint32_t sender = 0, peer = 0;
  if (r->o->trace)
    printf("  %s %s %s:%" PRIu64 " peer=%s stamp=%" PRIu64 " deps=%" PRIu32
           "%s%s\n",
           nm(r, me), ckind_name(ev->kind), ev->sender ? ev->sender : "-",
           ev->n, ev->peer ? ev->peer : "-", ev->stamp, ev->deps,
           ev->reason ? " " : "", ev->reason ? ev->reason : "");
  if (me != r->cur) {
    fail(r, 'x', "%s reported an event during a call on %s", nm(r, me),
         nm(r, r->cur));
    return;
  }
  if (!find_slot(r, ev->sender, &sender)) {
    fail(r, 'x', "%s: %s event names unknown sender \"%s\"", nm(r, me),
         ckind_name(ev->kind), ev->sender ? ev->sender : "(null)");
    return;
  }
  if (!find_slot(r, ev->peer, &peer)) {
    fail(r, 'x', "%s: %s event names unknown peer \"%s\"", nm(r, me),
         ckind_name(ev->kind), ev->peer ? ev->peer : "(null)");
    return;
  }
  if (ev->kind != K_SEND && !(ev->kind == K_EXPIRE && ev->at_sender) &&
      peer != sender) {
    fail(r, 'x', "%s: %s of %s:%" PRIu64 " has peer %s", nm(r, me),
         ckind_name(ev->kind), ev->sender, ev->n, ev->peer);
    return;
  }
  switch (ev->kind) {
  case K_SEND:
    on_send_event(r, me, peer, ev);
    break;
  case K_DELIVER:
    on_deliver_event(r, me, sender, ev);
    break;
  case K_EXPIRE:
    on_expire_event(r, me, sender, peer, ev);
    break;
  case K_BUFFER: {
    slot *s = &r->s[me];
    s->buf = grow(s->buf, sizeof *s->buf, s->nbuf + 1, &s->capbuf);
    s->buf[s->nbuf++] = (bufrec){sender, ev->n, ev->stamp};
    break;
  }
  case K_DROP: {
    uint32_t mid = mid_of(r, sender, ev->n);
    /* A core that forgot a sender drops a copy older than Δ on its HLC
     * (it may have been delivered: it must not be called undeliverable). */
    bool forgot = ev->reason && strstr(ev->reason, "forgotten") && forgets(r) &&
                  r->p.life != P2PC_CAUSAL_LIFETIME_INF &&
                  ev->stamp + r->p.life <= ev->hlc;
    if (!r->s[me].retired[sender] && !forgot)
      fail(r, 'x',
           "%s: DROP of %s:%" PRIu64 " (%s), a sender it never "
           "retired",
           nm(r, me), ev->sender, ev->n, ev->reason ? ev->reason : "?");
    if (mid != UINT32_MAX)
      r->msgs[mid].dropped = true;
    r->dropped++;
    unbuffer(r, me, sender, ev->n);
    break;
  }
  case K_REFUSE: {
    uint32_t mid = mid_of(r, sender, ev->n);
    r->refused++;
    if (mid != UINT32_MAX)
      r->msgs[mid].refused = true;
    if (honest(r, sender))
      fail(r, r->o->mode == MODE_AHEAD ? 'f' : 'b',
           "%s refused %s:%" PRIu64 " from an honest clock (stamp %" PRIu64
           ", HLC %" PRIu64 ")",
           nm(r, me), ev->sender, ev->n, ev->stamp, ev->hlc);
    break;
  }
  case K_RECV:
  case K_DUP:
    r->s[me].dirty[sender] = true;
    break;
  }
}

static void on_event_new(void *ud, const p2pc_causal_event *e) {
  const struct node_ctx *nc = ud;
  static const ckind map[] = {
      [P2PC_CEV_SEND] = K_SEND,     [P2PC_CEV_RECV] = K_RECV,
      [P2PC_CEV_BUFFER] = K_BUFFER, [P2PC_CEV_DELIVER] = K_DELIVER,
      [P2PC_CEV_DUP] = K_DUP,       [P2PC_CEV_DROP] = K_DROP,
      [P2PC_CEV_EXPIRE] = K_EXPIRE, [P2PC_CEV_REFUSE] = K_REFUSE};
  if ((unsigned)e->kind > P2PC_CEV_REFUSE) {
    fail(nc->r, 'x', "%s: unknown event kind %d", nm(nc->r, nc->idx),
         (int)e->kind);
    return;
  }
  cev c = {.kind = map[e->kind],
           .sender = e->sender,
           .peer = e->peer,
           .n = e->n,
           .stamp = e->stamp,
           .hlc = e->hlc,
           .deps = e->deps,
           .bytes = e->bytes,
           .meta = e->meta,
           .payload = e->payload,
           .reason = e->reason,
           .at_sender = e->at_sender};
  on_common(nc->r, nc->idx, &c);
}

static void on_event_legacy(void *ud, const lses_causal_event *e) {
  const struct node_ctx *nc = ud;
  static const ckind map[] = {
      [LSES_CEV_SEND] = K_SEND,     [LSES_CEV_RECV] = K_RECV,
      [LSES_CEV_BUFFER] = K_BUFFER, [LSES_CEV_DELIVER] = K_DELIVER,
      [LSES_CEV_DUP] = K_DUP,       [LSES_CEV_DROP] = K_DROP};
  if ((unsigned)e->kind > LSES_CEV_DROP) {
    fail(nc->r, 'x', "%s: unknown legacy event kind %d", nm(nc->r, nc->idx),
         (int)e->kind);
    return;
  }
  cev c = {.kind = map[e->kind],
           .sender = e->sender,
           .peer = e->peer,
           .n = e->n,
           .bytes = e->bytes,
           .meta = e->meta,
           .payload = e->payload,
           .reason = e->reason};
  on_common(nc->r, nc->idx, &c);
}

/* ---- the cores, either kind ---------------------------------------------- */

uint64_t mono(const run *r) { return r->now; }

/* Every input to a core is preceded by its network time. */
void feed_time(run *r, uint32_t k) {
  slot *s = &r->s[k];
  if (r->legacy)
    return;
  r->cur = k;
  p2pc_causal_set_time(s->c, EPOCH + (int64_t)r->now + s->off, s->err, mono(r));
}

int core_new(run *r, uint32_t k) {
  slot *s = &r->s[k];
  r->ctx[k].r = r;
  r->ctx[k].idx = k;
  r->namep[k] = s->name;
  if (r->legacy) {
    lses_causal_config cfg = {.max_buffered = r->p.max_buffered,
                              .no_prune = !r->p.legacy_prune};
    return lses_causal_new(&s->l, s->name, &cfg, p2pc_allocator_default(),
                           on_event_legacy, &r->ctx[k]);
  }
  p2pc_causal_config cfg = {.max_buffered = r->p.max_buffered,
                            .lifetime_ns = r->p.life,
                            .max_deps = r->p.max_deps,
                            .max_msg_deps = r->p.max_msg_deps,
                            .max_pending = r->p.max_pending,
                            .no_prune = r->no_prune,
                            .forget_every_tick = forgets(r)};
  int rv = p2pc_causal_new(&s->c, s->name, &cfg, p2pc_allocator_default(),
                           on_event_new, &r->ctx[k]);
  if (rv == 0 && r->faults)
    p2pc_causal_set_faults(s->c, r->faults);
  return rv;
}

int core_send(run *r, uint32_t k, uint32_t dst, const uint8_t *pl, size_t len) {
  r->cur = k;
  if (r->legacy)
    return lses_causal_send(r->s[k].l, nm(r, dst), pl, len, mono(r), &r->out);
  return p2pc_causal_send(r->s[k].c, nm(r, dst), pl, len, mono(r), &r->out);
}

int core_receive(run *r, uint32_t k, uint32_t from, const uint8_t *b,
                 size_t len) {
  r->cur = k;
  if (r->legacy)
    return lses_causal_receive(r->s[k].l, nm(r, from), b, len, mono(r));
  return p2pc_causal_receive(r->s[k].c, nm(r, from), b, len, mono(r));
}

int core_retire(run *r, uint32_t k, uint32_t who) {
  r->cur = k;
  r->s[k].retired[who] = true;
  if (r->legacy)
    return lses_causal_retire(r->s[k].l, nm(r, who), mono(r));
  return p2pc_causal_retire(r->s[k].c, nm(r, who), mono(r));
}

uint32_t core_buffered(const run *r, uint32_t k) {
  return r->legacy ? lses_causal_buffered(r->s[k].l)
                   : p2pc_causal_buffered(r->s[k].c);
}

/* Properties d, e and f's clock, after every call on core k. */
void check_core(run *r, uint32_t k) {
  const slot *s = &r->s[k];
  if (r->fail[0])
    return;
  uint32_t held = core_buffered(r, k);
  if (held != s->nbuf) {
    fail(r, 'd', "%s buffers %" PRIu32 " messages; its events say %zu",
         nm(r, k), held, s->nbuf);
    return;
  }
  if (r->legacy)
    return;
  uint64_t hlc = p2pc_causal_hlc(s->c);
  if (r->p.life != INF && hlc >= r->p.life)
    for (size_t i = 0; i < s->nbuf; i++)
      if (s->buf[i].stamp <= hlc - r->p.life) {
        fail(r, 'd',
             "%s still buffers %s:%" PRIu64 " stamped %" PRIu64
             " at HLC %" PRIu64 ": older than Δ = %.3f ms",
             nm(r, k), nm(r, s->buf[i].sender), s->buf[i].n, s->buf[i].stamp,
             hlc, msf(r->p.life));
        return;
      }
  uint32_t pairs = p2pc_causal_pairs(s->c);
  if (pairs > r->p.max_deps) {
    fail(r, 'e', "%s holds %" PRIu32 " entries, above max_deps %" PRIu32,
         nm(r, k), pairs, r->p.max_deps);
    return;
  }
  if (r->o->mode == MODE_AHEAD && honest(r, k) &&
      hlc > (uint64_t)EPOCH + r->now + r->p.maxerr + SLACK)
    fail(r, 'f',
         "%s's HLC %" PRIu64 " leads true time by %.3f ms: the core 10 s "
         "ahead pulled it",
         nm(r, k), hlc, msf(hlc - (uint64_t)EPOCH - r->now));
}
