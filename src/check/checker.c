/* SPDX-License-Identifier: MIT */
/*
 * The independent causal-delivery checker of checker.h. Happens-before is
 * rebuilt from the records alone: every node keeps a vector of how many
 * records of each node are in its causal past (its own count ticks on
 * every record, a DELIVER max-merges the vector saved at the SEND), and
 * send(a) happens-before send(b) iff vec(send b)[sender a] >= the index
 * of send a at its sender.
 *
 * The ORDER test needs no search: for every (destination d, sender s) the
 * messages s sent to d are kept in send order, with the length of their
 * prefix that is delivered (or expired: never to come, and not waited
 * for). Sends by one node are causally ordered, so at a delivery of m at
 * d the only candidate for "an earlier message from s to d that is still
 * missing" is the first one past that prefix; m is early iff that one's
 * send index at s is within m's causal past.
 */
#include "checker.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_MSG UINT32_MAX

typedef struct msg_info {
  uint32_t sender, dest;
  uint64_t n;
  uint32_t send_idx;    /* the send's index among its sender's records, 1.. */
  uint32_t delivered;   /* deliveries at dest so far */
  bool expired;         /* reported expired, by its sender or dest */
  bool expired_at_dest; /* ... by its destination */
  bool has_payload;
  bool bcast;    /* to CCHECK_ALL */
  uint32_t bidx; /* bcast: its row in bdel/bexp */
  size_t pay_off, pay_len;
} msg_info;

/* The messages one sender sent to one destination, in send order. */
typedef struct stream {
  uint32_t *v;
  uint32_t n, cap;
  uint32_t pfx; /* v[0..pfx) are delivered */
} stream;

typedef enum rec_kind { REC_SEND, REC_DELIVER, REC_EXPIRE } rec_kind;

/* A record held back in offline mode. */
typedef struct held_rec {
  rec_kind kind;
  uint32_t sender, dest;
  uint64_t n;
  bool has_payload;
  size_t pay_off, pay_len; /* in held_pay */
} held_rec;

typedef struct held_queue {
  held_rec *v;
  size_t head, n, cap;
} held_queue;

struct ccheck {
  uint32_t nn;
  unsigned flags;
  char **names;
  uint32_t *vc; /* nn x nn: vc[node * nn + k] */
  msg_info *msgs;
  uint32_t nmsgs, capmsgs;
  uint32_t *svec; /* nmsgs x nn: the vector at each message's send */
  uint8_t *pay;
  size_t paylen, paycap;
  uint32_t *slots; /* hash of (sender, n): msg index + 1, 0 = empty */
  uint32_t nslots;
  stream **streams; /* per destination, lazily: nn streams by sender */
  held_queue *held; /* offline mode: per node */
  uint32_t nheld;   /* nodes with a non-empty held queue */
  uint8_t *held_pay;
  size_t held_paylen, held_paycap;
  bool finished;
  uint64_t counts[CCHECK_NKINDS];
  char *first[CCHECK_NKINDS];
  int first_kind;
  uint64_t ndeliv;
  uint64_t ndelivered; /* messages delivered at their destination */
  uint64_t nexpired;   /* messages expired and not delivered */
  /* Broadcasts: per broadcast and node, deliveries there (saturating) and
   * whether that node reported it expired; per sender, its broadcasts in
   * send order; per (node, sender), the prefix of those delivered or
   * expired at the node; nodes exempt from their LIVENESS. */
  uint8_t *bdel, *bexp;
  uint32_t nb;
  size_t capb;
  stream *bcasts;
  uint32_t *bpfx;
  bool *exempt;
};

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "checker: out of memory\n");
    abort();
  }
  return q;
}

static void *xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz ? sz : 1);
  if (!p) {
    fprintf(stderr, "checker: out of memory\n");
    abort();
  }
  return p;
}

/* Grows *cap (in elements) to hold need; returns the new array. */
static void *grow(void *p, size_t elsize, size_t need, size_t *cap) {
  if (need <= *cap)
    return p;
  size_t c = *cap ? *cap : 16;
  while (c < need)
    c *= 2;
  *cap = c;
  return xrealloc(p, c * elsize);
}

/* Appends len bytes to a growable byte arena; returns where they start. */
static size_t append(uint8_t **arena, size_t *used, size_t *cap,
                     const uint8_t *p, size_t len) {
  size_t off = *used;
  *arena = grow(*arena, 1, off + len, cap);
  if (len)
    memcpy(*arena + off, p, len);
  *used = off + len;
  return off;
}

static void check_node(const ccheck *c, uint32_t node, const char *what) {
  if (node >= c->nn) {
    fprintf(stderr, "checker: %s %" PRIu32 " is not a node (0..%" PRIu32 ")\n",
            what, node, c->nn - 1);
    abort();
  }
}

static __attribute__((format(printf, 3, 4))) void
report(ccheck *c, ccheck_kind k, const char *fmt, ...) {
  c->counts[k]++;
  if (c->first[k])
    return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  size_t len = strlen(line);
  c->first[k] = xrealloc(NULL, len + 1);
  memcpy(c->first[k], line, len + 1);
  if (c->first_kind < 0)
    c->first_kind = (int)k;
}

static uint32_t hash_key(uint32_t sender, uint64_t n) {
  uint64_t h = ((uint64_t)sender + 1) * 0x9E3779B97F4A7C15ull;
  h ^= n * 0xC2B2AE3D27D4EB4Full;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return (uint32_t)h;
}

static uint32_t find_msg(const ccheck *c, uint32_t sender, uint64_t n) {
  if (!c->nslots)
    return NO_MSG;
  uint32_t mask = c->nslots - 1;
  for (uint32_t i = hash_key(sender, n) & mask;; i = (i + 1) & mask) {
    uint32_t s = c->slots[i];
    if (!s)
      return NO_MSG;
    const msg_info *m = &c->msgs[s - 1];
    if (m->sender == sender && m->n == n)
      return s - 1;
  }
}

static void insert_slot(uint32_t *slots, uint32_t nslots, const msg_info *m,
                        uint32_t idx) {
  uint32_t mask = nslots - 1;
  uint32_t i = hash_key(m->sender, m->n) & mask;
  while (slots[i])
    i = (i + 1) & mask;
  slots[i] = idx + 1;
}

static void add_to_hash(ccheck *c, uint32_t idx) {
  if ((uint64_t)(c->nmsgs + 1) * 2 > c->nslots) {
    uint32_t ns = c->nslots ? c->nslots * 2 : 1024;
    uint32_t *slots = xcalloc(ns, sizeof *slots);
    for (uint32_t i = 0; i < idx; i++)
      insert_slot(slots, ns, &c->msgs[i], i);
    free(c->slots);
    c->slots = slots;
    c->nslots = ns;
  }
  insert_slot(c->slots, c->nslots, &c->msgs[idx], idx);
}

static stream *get_stream(const ccheck *c, uint32_t dest, uint32_t sender) {
  return c->streams[dest] ? &c->streams[dest][sender] : NULL;
}

static const char *name(const ccheck *c, uint32_t node) {
  return c->names[node];
}

ccheck *ccheck_new(uint32_t nnodes, const char *const *names, unsigned flags) {
  if (nnodes == 0) {
    fprintf(stderr, "checker: no nodes\n");
    abort();
  }
  ccheck *c = xcalloc(1, sizeof *c);
  c->nn = nnodes;
  c->flags = flags;
  c->first_kind = -1;
  c->names = xcalloc(nnodes, sizeof *c->names);
  for (uint32_t i = 0; i < nnodes; i++) {
    char tmp[24];
    const char *s = names ? names[i] : NULL;
    if (!s) {
      snprintf(tmp, sizeof tmp, "#%" PRIu32, i);
      s = tmp;
    }
    size_t len = strlen(s);
    c->names[i] = xrealloc(NULL, len + 1);
    memcpy(c->names[i], s, len + 1);
  }
  c->vc = xcalloc((size_t)nnodes * nnodes, sizeof *c->vc);
  c->streams = xcalloc(nnodes, sizeof *c->streams);
  c->bcasts = xcalloc(nnodes, sizeof *c->bcasts);
  c->bpfx = xcalloc((size_t)nnodes * nnodes, sizeof *c->bpfx);
  c->exempt = xcalloc(nnodes, sizeof *c->exempt);
  if (flags & CCHECK_OFFLINE)
    c->held = xcalloc(nnodes, sizeof *c->held);
  return c;
}

void ccheck_free(ccheck *c) {
  if (!c)
    return;
  for (uint32_t i = 0; i < c->nn; i++) {
    free(c->names[i]);
    if (c->streams[i]) {
      for (uint32_t s = 0; s < c->nn; s++)
        free(c->streams[i][s].v);
      free(c->streams[i]);
    }
    if (c->held)
      free(c->held[i].v);
    free(c->bcasts[i].v);
  }
  free(c->bcasts);
  free(c->bpfx);
  free(c->exempt);
  free(c->bdel);
  free(c->bexp);
  for (int k = 0; k < CCHECK_NKINDS; k++)
    free(c->first[k]);
  free(c->names);
  free(c->streams);
  free(c->held);
  free(c->held_pay);
  free(c->vc);
  free(c->msgs);
  free(c->svec);
  free(c->pay);
  free(c->slots);
  free(c);
}

/* Every record is an event of its node: count it. */
static void tick(ccheck *c, uint32_t node) {
  c->vc[(size_t)node * c->nn + node]++;
}

static void process_send(ccheck *c, uint32_t node, uint32_t sender, uint64_t n,
                         uint32_t dest, const void *payload, size_t len) {
  if (sender != node) {
    report(c, CCHECK_BAD_SEND,
           "BAD_SEND: %s recorded the send of %s:%" PRIu64
           " (a message id of another node)",
           name(c, node), name(c, sender), n);
    tick(c, node);
    return;
  }
  if (find_msg(c, sender, n) != NO_MSG) {
    report(c, CCHECK_BAD_SEND,
           "BAD_SEND: %s sent message id %s:%" PRIu64 " twice", name(c, node),
           name(c, sender), n);
    tick(c, node);
    return;
  }
  tick(c, node);
  if (c->nmsgs == UINT32_MAX - 1) {
    fprintf(stderr, "checker: too many messages\n");
    abort();
  }
  uint32_t idx = c->nmsgs;
  size_t cap = c->capmsgs;
  c->msgs = grow(c->msgs, sizeof *c->msgs, (size_t)idx + 1, &cap);
  if (cap != c->capmsgs) {
    c->svec = xrealloc(c->svec, cap * c->nn * sizeof *c->svec);
    c->capmsgs = (uint32_t)cap;
  }
  const uint32_t *vn = &c->vc[(size_t)node * c->nn];
  memcpy(&c->svec[(size_t)idx * c->nn], vn, c->nn * sizeof *vn);
  msg_info *m = &c->msgs[idx];
  m->sender = sender;
  m->dest = dest;
  m->n = n;
  m->send_idx = vn[node];
  m->delivered = 0;
  m->expired = m->expired_at_dest = false;
  m->has_payload = payload != NULL;
  m->bcast = dest == CCHECK_ALL;
  m->pay_len = len;
  m->pay_off = payload ? append(&c->pay, &c->paylen, &c->paycap, payload, len)
                       : c->paylen;
  c->nmsgs++;
  add_to_hash(c, idx);

  if (m->bcast) {
    m->bidx = c->nb;
    size_t bc_cap = c->capb;
    c->bdel = grow(c->bdel, c->nn, (size_t)c->nb + 1, &bc_cap);
    bc_cap = c->capb;
    c->bexp = grow(c->bexp, c->nn, (size_t)c->nb + 1, &bc_cap);
    c->capb = bc_cap;
    memset(c->bdel + (size_t)c->nb * c->nn, 0, c->nn);
    memset(c->bexp + (size_t)c->nb * c->nn, 0, c->nn);
    c->nb++;
    stream *bl = &c->bcasts[sender];
    size_t bcap = bl->cap;
    bl->v = grow(bl->v, sizeof *bl->v, (size_t)bl->n + 1, &bcap);
    bl->cap = (uint32_t)bcap;
    bl->v[bl->n++] = idx;
    return;
  }
  if (!c->streams[dest])
    c->streams[dest] = xcalloc(c->nn, sizeof **c->streams);
  stream *st = &c->streams[dest][sender];
  size_t scap = st->cap;
  st->v = grow(st->v, sizeof *st->v, (size_t)st->n + 1, &scap);
  st->cap = (uint32_t)scap;
  st->v[st->n++] = idx;
}

static bool bdone(const ccheck *c, uint32_t idx, uint32_t x) {
  size_t k = (size_t)c->msgs[idx].bidx * c->nn + x;
  return c->bdel[k] || c->bexp[k];
}

/* The first message to node x (m's destination, or any node for a
 * broadcast) that must precede m there but is not delivered, or NO_MSG:
 * a message to x, or a broadcast, whose send happens-before m's. */
static uint32_t missing_predecessor(const ccheck *c, uint32_t idx, uint32_t x) {
  const msg_info *m = &c->msgs[idx];
  const uint32_t *sv = &c->svec[(size_t)idx * c->nn];
  for (uint32_t s = 0; s < c->nn; s++) {
    const stream *bl = &c->bcasts[s];
    uint32_t p = c->bpfx[(size_t)x * c->nn + s];
    if (p == bl->n)
      continue;
    uint32_t first = bl->v[p];
    uint32_t bound = s == m->sender ? m->send_idx - 1 : sv[s];
    if (first != idx && c->msgs[first].send_idx <= bound)
      return first;
  }
  if (!c->streams[x])
    return NO_MSG;
  for (uint32_t s = 0; s < c->nn; s++) {
    const stream *st = &c->streams[x][s];
    if (st->pfx == st->n)
      continue;
    uint32_t first = st->v[st->pfx];
    uint32_t bound = s == m->sender ? m->send_idx - 1 : sv[s];
    if (c->msgs[first].send_idx <= bound)
      return first;
  }
  return NO_MSG;
}

/* Moves the (dest, sender) stream's prefix past the messages that are
 * delivered or expired: none of them is missing any more. */
static void advance(ccheck *c, uint32_t dest, uint32_t sender) {
  stream *st = get_stream(c, dest, sender);
  while (st->pfx < st->n &&
         (c->msgs[st->v[st->pfx]].delivered || c->msgs[st->v[st->pfx]].expired))
    st->pfx++;
}

/* The same for sender's broadcasts at node x. */
static void advance_b(ccheck *c, uint32_t x, uint32_t sender) {
  const stream *bl = &c->bcasts[sender];
  uint32_t *p = &c->bpfx[(size_t)x * c->nn + sender];
  while (*p < bl->n && bdone(c, bl->v[*p], x))
    (*p)++;
}

static void merge_into(ccheck *c, uint32_t node, uint32_t idx) {
  uint32_t *vn = &c->vc[(size_t)node * c->nn];
  const uint32_t *sv = &c->svec[(size_t)idx * c->nn];
  for (uint32_t k = 0; k < c->nn; k++)
    if (sv[k] > vn[k])
      vn[k] = sv[k];
}

static void report_order(ccheck *c, uint32_t node, uint32_t idx,
                         uint32_t pred) {
  const msg_info *m = &c->msgs[idx], *p = &c->msgs[pred];
  report(c, CCHECK_ORDER,
         "ORDER: %s delivered %s:%" PRIu64 " before %s:%" PRIu64
         " (%s), whose send happens-before the send of %s:%" PRIu64,
         name(c, node), name(c, m->sender), m->n, name(c, p->sender), p->n,
         p->bcast ? "a broadcast" : "also sent to it", name(c, m->sender),
         m->n);
}

/* A broadcast delivered at node. */
static void deliver_bcast(ccheck *c, uint32_t node, uint32_t idx,
                          const void *payload, size_t len) {
  msg_info *m = &c->msgs[idx];
  size_t k = (size_t)m->bidx * c->nn + node;
  if (payload && m->has_payload &&
      (len != m->pay_len ||
       (len && memcmp(payload, c->pay + m->pay_off, len) != 0)))
    report(c, CCHECK_PAYLOAD,
           "PAYLOAD: %s delivered broadcast %s:%" PRIu64
           " with a payload of %zu bytes that differs from the %zu sent",
           name(c, node), name(c, m->sender), m->n, len, m->pay_len);
  if (c->bdel[k]) {
    if (c->bdel[k] < UINT8_MAX)
      c->bdel[k]++;
    report(c, CCHECK_DUPLICATE,
           "DUPLICATE: %s delivered broadcast %s:%" PRIu64 " again",
           name(c, node), name(c, m->sender), m->n);
    tick(c, node);
    return;
  }
  uint32_t pred = missing_predecessor(c, idx, node);
  if (pred != NO_MSG)
    report_order(c, node, idx, pred);
  if (c->bexp[k])
    report(c, CCHECK_EXPIRED_DELIVERED,
           "EXPIRED_DELIVERED: %s delivered broadcast %s:%" PRIu64
           " after reporting it expired",
           name(c, node), name(c, m->sender), m->n);
  c->bdel[k] = 1;
  if (!m->delivered++)
    c->ndelivered++;
  advance_b(c, node, m->sender);
  merge_into(c, node, idx);
  tick(c, node);
}

static void process_deliver(ccheck *c, uint32_t node, uint32_t sender,
                            uint64_t n, const void *payload, size_t len) {
  c->ndeliv++;
  uint32_t idx = find_msg(c, sender, n);
  if (idx == NO_MSG) {
    report(c, CCHECK_UNKNOWN,
           "UNKNOWN: %s delivered %s:%" PRIu64 ", which was never sent",
           name(c, node), name(c, sender), n);
    tick(c, node);
    return;
  }
  msg_info *m = &c->msgs[idx];
  if (m->bcast) {
    deliver_bcast(c, node, idx, payload, len);
    return;
  }
  if (m->dest != node) {
    report(c, CCHECK_WRONG_DEST,
           "WRONG_DEST: %s delivered %s:%" PRIu64 ", which was sent to %s",
           name(c, node), name(c, sender), n, name(c, m->dest));
    merge_into(c, node, idx);
    tick(c, node);
    return;
  }
  if (payload && m->has_payload &&
      (len != m->pay_len ||
       (len && memcmp(payload, c->pay + m->pay_off, len) != 0)))
    report(c, CCHECK_PAYLOAD,
           "PAYLOAD: %s delivered %s:%" PRIu64
           " with a payload of %zu bytes that differs from the %zu sent",
           name(c, node), name(c, sender), n, len, m->pay_len);
  if (m->delivered) {
    m->delivered++;
    report(c, CCHECK_DUPLICATE,
           "DUPLICATE: %s delivered %s:%" PRIu64 " again (delivery #%" PRIu32
           ")",
           name(c, node), name(c, sender), n, m->delivered);
    tick(c, node);
    return;
  }
  uint32_t pred = missing_predecessor(c, idx, node);
  if (pred != NO_MSG) {
    const msg_info *p = &c->msgs[pred];
    report(
        c, CCHECK_ORDER,
        "ORDER: %s delivered %s:%" PRIu64 " before %s:%" PRIu64
        " (also sent to %s), whose send happens-before the send of %s:%" PRIu64,
        name(c, node), name(c, sender), n, name(c, p->sender), p->n,
        name(c, node), name(c, sender), n);
  }
  if (m->expired_at_dest)
    report(c, CCHECK_EXPIRED_DELIVERED,
           "EXPIRED_DELIVERED: %s delivered %s:%" PRIu64
           " after reporting it expired",
           name(c, node), name(c, sender), n);
  if (m->expired)
    c->nexpired--; /* given up by its sender, but it got through */
  m->delivered = 1;
  c->ndelivered++;
  advance(c, m->dest, sender);
  merge_into(c, node, idx);
  tick(c, node);
}

static void process_expire(ccheck *c, uint32_t node, uint32_t sender,
                           uint64_t n) {
  uint32_t idx = find_msg(c, sender, n);
  if (idx == NO_MSG) {
    report(c, CCHECK_UNKNOWN,
           "UNKNOWN: %s reported %s:%" PRIu64 " expired, which was never sent",
           name(c, node), name(c, sender), n);
    return;
  }
  msg_info *m = &c->msgs[idx];
  if (m->bcast) { /* it will not be delivered at node */
    size_t k = (size_t)m->bidx * c->nn + node;
    if (!c->bexp[k] && c->bdel[k])
      report(c, CCHECK_EXPIRED_DELIVERED,
             "EXPIRED_DELIVERED: %s reported broadcast %s:%" PRIu64
             " expired after delivering it",
             name(c, node), name(c, sender), n);
    c->bexp[k] = 1;
    advance_b(c, node, sender);
    return;
  }
  if (node != m->sender && node != m->dest) {
    report(c, CCHECK_WRONG_DEST,
           "WRONG_DEST: %s reported %s:%" PRIu64
           " expired, which was sent to %s",
           name(c, node), name(c, sender), n, name(c, m->dest));
    return;
  }
  if (node == m->dest && !m->expired_at_dest) {
    m->expired_at_dest = true;
    if (m->delivered)
      report(c, CCHECK_EXPIRED_DELIVERED,
             "EXPIRED_DELIVERED: %s reported %s:%" PRIu64
             " expired after delivering it",
             name(c, node), name(c, sender), n);
  }
  if (m->expired)
    return;
  m->expired = true;
  if (!m->delivered)
    c->nexpired++;
  advance(c, m->dest, sender);
}

/* ---- offline mode: per-node queues of held-back records ---------------- */

static void hold(ccheck *c, uint32_t node, rec_kind kind, uint32_t sender,
                 uint64_t n, uint32_t dest, const void *payload, size_t len) {
  held_queue *q = &c->held[node];
  if (q->head == q->n) {
    q->head = q->n = 0;
    c->nheld++;
  }
  q->v = grow(q->v, sizeof *q->v, q->n + 1, &q->cap);
  held_rec *r = &q->v[q->n++];
  r->kind = kind;
  r->sender = sender;
  r->dest = dest;
  r->n = n;
  r->has_payload = payload != NULL;
  r->pay_len = len;
  r->pay_off = payload ? append(&c->held_pay, &c->held_paylen, &c->held_paycap,
                                payload, len)
                       : c->held_paylen;
}

/* Processes node's held records while they can be; force processes the
 * first one even if its send is unknown. Returns records processed. */
static size_t drain_held(ccheck *c, uint32_t node, bool force) {
  held_queue *q = &c->held[node];
  size_t done = 0;
  while (q->head < q->n) {
    const held_rec *r = &q->v[q->head];
    const void *p = r->has_payload ? c->held_pay + r->pay_off : NULL;
    if (r->kind == REC_SEND) {
      process_send(c, node, r->sender, r->n, r->dest, p, r->pay_len);
    } else {
      if (!force && find_msg(c, r->sender, r->n) == NO_MSG)
        break;
      if (r->kind == REC_DELIVER)
        process_deliver(c, node, r->sender, r->n, p, r->pay_len);
      else
        process_expire(c, node, r->sender, r->n);
    }
    force = false;
    q->head++;
    done++;
  }
  if (done && q->head == q->n)
    c->nheld--;
  return done;
}

static void wake_held(ccheck *c) {
  bool progress = true;
  while (progress && c->nheld) {
    progress = false;
    for (uint32_t i = 0; i < c->nn; i++)
      if (c->held[i].head < c->held[i].n && drain_held(c, i, false))
        progress = true;
  }
}

static bool has_held(const ccheck *c, uint32_t node) {
  return c->held && c->held[node].head < c->held[node].n;
}

/* ---- the API ------------------------------------------------------------ */

void ccheck_send(ccheck *c, uint32_t node, uint32_t sender, uint64_t n,
                 uint32_t dest, const void *payload, size_t len) {
  check_node(c, node, "node");
  check_node(c, sender, "sender");
  if (dest != CCHECK_ALL)
    check_node(c, dest, "dest");
  if (c->finished) {
    fprintf(stderr, "checker: record after ccheck_finish\n");
    abort();
  }
  if (has_held(c, node)) {
    hold(c, node, REC_SEND, sender, n, dest, payload, len);
    return;
  }
  process_send(c, node, sender, n, dest, payload, len);
  if (c->held && c->nheld)
    wake_held(c);
}

void ccheck_deliver(ccheck *c, uint32_t node, uint32_t sender, uint64_t n,
                    const void *payload, size_t len) {
  check_node(c, node, "node");
  check_node(c, sender, "sender");
  if (c->finished) {
    fprintf(stderr, "checker: record after ccheck_finish\n");
    abort();
  }
  if (c->held && (has_held(c, node) || find_msg(c, sender, n) == NO_MSG)) {
    hold(c, node, REC_DELIVER, sender, n, 0, payload, len);
    return;
  }
  process_deliver(c, node, sender, n, payload, len);
}

void ccheck_expire(ccheck *c, uint32_t node, uint32_t sender, uint64_t n) {
  check_node(c, node, "node");
  check_node(c, sender, "sender");
  if (c->finished) {
    fprintf(stderr, "checker: record after ccheck_finish\n");
    abort();
  }
  if (c->held && (has_held(c, node) || find_msg(c, sender, n) == NO_MSG)) {
    hold(c, node, REC_EXPIRE, sender, n, 0, NULL, 0);
    return;
  }
  process_expire(c, node, sender, n);
}

void ccheck_finish(ccheck *c) {
  if (c->finished)
    return;
  c->finished = true;
  if (c->held) {
    wake_held(c);
    while (c->nheld) {
      /* Everyone left waits for a send that never came: the first such
       * delivery (or expiry) is UNKNOWN; go on with what it held back. */
      for (uint32_t i = 0; i < c->nn; i++)
        if (has_held(c, i)) {
          drain_held(c, i, true);
          break;
        }
      wake_held(c);
    }
  }
  uint64_t missing = 0;
  uint32_t first = NO_MSG;
  for (uint32_t i = 0; i < c->nmsgs; i++) {
    if (!c->msgs[i].bcast)
      continue;
    for (uint32_t x = 0; x < c->nn; x++)
      if (!c->exempt[x] && !bdone(c, i, x)) {
        missing++;
        if (missing == 1)
          report(c, CCHECK_LIVENESS,
                 "LIVENESS: broadcast %s:%" PRIu64 " was never delivered at %s",
                 name(c, c->msgs[i].sender), c->msgs[i].n, name(c, x));
        else
          c->counts[CCHECK_LIVENESS]++;
      }
  }
  missing = 0;
  for (uint32_t i = 0; i < c->nmsgs; i++)
    if (!c->msgs[i].bcast && !c->msgs[i].delivered && !c->msgs[i].expired) {
      if (first == NO_MSG)
        first = i;
      missing++;
    }
  if (missing) {
    const msg_info *m = &c->msgs[first];
    report(c, CCHECK_LIVENESS,
           "LIVENESS: %s:%" PRIu64 " (to %s) was never delivered; %" PRIu64
           " of %" PRIu32 " messages undelivered and not expired",
           name(c, m->sender), m->n, name(c, m->dest), missing, c->nmsgs);
    c->counts[CCHECK_LIVENESS] += missing - 1;
  }
}

bool ccheck_ready(const ccheck *c, uint32_t sender, uint64_t n) {
  uint32_t idx = find_msg(c, sender, n);
  if (idx == NO_MSG || c->msgs[idx].bcast || c->msgs[idx].delivered ||
      c->msgs[idx].expired)
    return false;
  return missing_predecessor(c, idx, c->msgs[idx].dest) == NO_MSG;
}

bool ccheck_ready_at(const ccheck *c, uint32_t sender, uint64_t n, uint32_t x) {
  uint32_t idx = find_msg(c, sender, n);
  if (idx == NO_MSG || x >= c->nn || !c->msgs[idx].bcast || bdone(c, idx, x))
    return false;
  return missing_predecessor(c, idx, x) == NO_MSG;
}

bool ccheck_delivered_at(const ccheck *c, uint32_t sender, uint64_t n,
                         uint32_t x) {
  uint32_t idx = find_msg(c, sender, n);
  if (idx == NO_MSG || x >= c->nn)
    return false;
  if (c->msgs[idx].bcast)
    return c->bdel[(size_t)c->msgs[idx].bidx * c->nn + x] > 0;
  return c->msgs[idx].dest == x && c->msgs[idx].delivered > 0;
}

void ccheck_exempt(ccheck *c, uint32_t node) {
  check_node(c, node, "node");
  c->exempt[node] = true;
}

bool ccheck_delivered(const ccheck *c, uint32_t sender, uint64_t n) {
  uint32_t idx = find_msg(c, sender, n);
  return idx != NO_MSG && c->msgs[idx].delivered > 0;
}

uint64_t ccheck_count(const ccheck *c, ccheck_kind k) {
  return k < CCHECK_NKINDS ? c->counts[k] : 0;
}

uint64_t ccheck_violations(const ccheck *c) {
  uint64_t t = 0;
  for (int k = 0; k < CCHECK_NKINDS; k++)
    t += c->counts[k];
  return t;
}

const char *ccheck_first_of(const ccheck *c, ccheck_kind k) {
  return k < CCHECK_NKINDS ? c->first[k] : NULL;
}

const char *ccheck_first(const ccheck *c) {
  return c->first_kind < 0 ? NULL : c->first[c->first_kind];
}

const char *ccheck_kind_name(ccheck_kind k) {
  static const char *const names[CCHECK_NKINDS] = {
      "ORDER",   "DUPLICATE", "LIVENESS", "WRONG_DEST",
      "PAYLOAD", "UNKNOWN",   "BAD_SEND", "EXPIRED_DELIVERED"};
  return k < CCHECK_NKINDS ? names[k] : "?";
}

uint64_t ccheck_messages(const ccheck *c) { return c->nmsgs; }

uint64_t ccheck_deliveries(const ccheck *c) { return c->ndeliv; }

uint64_t ccheck_undelivered(const ccheck *c) {
  return c->nmsgs - c->ndelivered - c->nexpired;
}

uint64_t ccheck_expired(const ccheck *c) { return c->nexpired; }
