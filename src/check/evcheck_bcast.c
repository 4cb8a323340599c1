/* SPDX-License-Identifier: MIT */
/*
 * Broadcasts in the oracle (evcheck_internal.h; EVENTS.md, "Checking a
 * run"): a `send` to "*" is a message to every incarnation. Each must
 * deliver it once (the checker's DUPLICATE), in causal order with all it
 * delivers (the checker's ORDER, fed CCHECK_ALL), unless it is not
 * addressed to it — stamped before its birth (the `birth` of its `start`
 * or `birth` line; an incarnation whose birth no line gives is owed
 * nothing) — or excused:
 *   - for ORDER, from the first of its records at which its HLC may be
 *     past the stamp + its Δ (the record's stamp, or its `net` + the
 *     tolerance): Δ-SES no longer waits for it there;
 *   - for MISSING: reported expired there (honestly); the incarnation
 *     crashed; the sender crashed or restarted; the incarnation's log ends
 *     before the stamp + the tolerance; it delivered a later message of the
 *     same sender (it skipped this one: only an expired one may be skipped,
 *     which the ORDER test holds it to); sent after the settle mark.
 * A delivery where it was not addressed is WRONG_DEST. Counted once, as
 * any message: delivered if every incarnation it is owed to delivered
 * it, else under the first excuse that applied.
 */
#include "evcheck_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* One incarnation's excuses, fed as its records go to the checker. */
struct bcast_inc {
  bool started;
  uint32_t *pend; /* rows it may yet be excused from by time, by stamp */
  uint32_t npend, pos;
  uint64_t bound; /* a lower bound of its HLC so far */
};

static bool crashed(const inc *in) { return in->node && !in->stopped; }

uint8_t *p2pc__evcheck_bcast_at(state *s, uint32_t msg, uint32_t in) {
  return &s->bst[(size_t)s->bidx[msg] * s->nincs + in];
}

/* (incarnation, sender, n) of a delivery, for B_PASSED. */
typedef struct dtrip {
  uint32_t in, sender;
  uint64_t n;
} dtrip;

static int cmp_trip(const void *a, const void *b) {
  const dtrip *x = a, *y = b;
  if (x->in != y->in)
    return x->in < y->in ? -1 : 1;
  if (x->sender != y->sender)
    return x->sender < y->sender ? -1 : 1;
  return x->n < y->n ? 1 : x->n > y->n ? -1 : 0; /* largest first */
}

/* The largest n of sender delivered at in (0: none). */
static uint64_t max_delivered(const dtrip *t, size_t nt, uint32_t in,
                              uint32_t sender) {
  size_t lo = 0, hi = nt;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t[mid].in < in || (t[mid].in == in && t[mid].sender < sender))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < nt && t[lo].in == in && t[lo].sender == sender ? t[lo].n : 0;
}

int p2pc__evcheck_bcast_prepare(state *s) {
  s->nb = 0;
  s->bidx = malloc((s->nmsgs ? s->nmsgs : 1) * sizeof *s->bidx);
  if (!s->bidx)
    goto nomem;
  for (size_t i = 0; i < s->nmsgs; i++)
    s->bidx[i] = s->msgs[i].nsend && s->msgs[i].to == TO_ALL ? s->nb++ : NONE;
  if (!s->nb)
    return 0;
  s->bst = calloc((size_t)s->nb * s->nincs, 1);
  s->binc = calloc(s->nincs, sizeof *s->binc);
  size_t nt = 0;
  for (size_t i = 0; i < s->nrecs; i++)
    nt += !s->recs[i].is_send;
  dtrip *t = malloc((nt ? nt : 1) * sizeof *t);
  if (!s->bst || !s->binc || !t) {
    free(t);
    goto nomem;
  }
  nt = 0;
  for (size_t i = 0; i < s->nrecs; i++) {
    const rec *r = &s->recs[i];
    if (r->is_send)
      continue;
    const msgrec *m = &s->msgs[r->msg];
    t[nt++] = (dtrip){r->inc, m->sender, m->n};
    if (s->bidx[r->msg] != NONE)
      *p2pc__evcheck_bcast_at(s, r->msg, r->inc) |= B_DELIVERED;
  }
  qsort(t, nt, sizeof *t, cmp_trip);
  for (size_t i = 0; i < s->nmsgs; i++) {
    if (s->bidx[i] == NONE)
      continue;
    const msgrec *m = &s->msgs[i];
    for (uint32_t x = 0; x < s->nincs; x++) {
      const inc *in = &s->incs[x];
      if (x == m->sender || !in->node)
        continue;
      uint8_t *f = p2pc__evcheck_bcast_at(s, (uint32_t)i, x);
      if (!in->has_birth || !m->has_stamp || m->stamp < in->birth)
        *f |= B_NOT_ADDRESSED;
      if (max_delivered(t, nt, x, m->sender) > m->n)
        *f |= B_PASSED;
    }
  }
  free(t);
  return 0;
nomem:
  s->nomem = true;
  return -1;
}

static uint64_t sat_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* A broadcast an incarnation may be excused from by time, and when. */
typedef struct srow {
  uint64_t due; /* stamp + Δ */
  uint32_t msg;
} srow;

static int cmp_srow(const void *a, const void *b) {
  const srow *x = a, *y = b;
  return x->due < y->due ? -1 : x->due > y->due;
}

/* The first record of incarnation x: the broadcasts not addressed to it
 * are excused at once, and those it never delivered are lined up by
 * stamp, for the time rule. */
static int start_inc(state *s, uint32_t x) {
  struct bcast_inc *b = &s->binc[x];
  const inc *in = &s->incs[x];
  b->started = true;
  size_t n = 0;
  for (size_t i = 0; i < s->nmsgs; i++) {
    if (s->bidx[i] == NONE || s->msgs[i].skip || s->msgs[i].sender == x)
      continue;
    const msgrec *m = &s->msgs[i];
    uint8_t f = *p2pc__evcheck_bcast_at(s, (uint32_t)i, x);
    if ((f & B_NOT_ADDRESSED) && !(f & B_DELIVERED))
      ccheck_expire(s->c, x, m->sender, m->n);
    else if (!(f & (B_NOT_ADDRESSED | B_DELIVERED)) && m->has_stamp &&
             in->lifetime != LIFE_INF)
      n++;
  }
  if (!n)
    return 0;
  srow *v = malloc(n * sizeof *v);
  b->pend = malloc(n * sizeof *b->pend);
  if (!v || !b->pend) {
    free(v);
    s->nomem = true;
    return -1;
  }
  n = 0;
  for (size_t i = 0; i < s->nmsgs; i++) {
    if (s->bidx[i] == NONE || s->msgs[i].skip || s->msgs[i].sender == x)
      continue;
    const msgrec *m = &s->msgs[i];
    uint8_t f = *p2pc__evcheck_bcast_at(s, (uint32_t)i, x);
    if (!(f & (B_NOT_ADDRESSED | B_DELIVERED)) && m->has_stamp &&
        in->lifetime != LIFE_INF)
      v[n++] = (srow){sat_add(m->stamp, in->lifetime), (uint32_t)i};
  }
  qsort(v, n, sizeof *v, cmp_srow);
  for (size_t i = 0; i < n; i++)
    b->pend[i] = v[i].msg;
  b->npend = (uint32_t)n;
  free(v);
  return 0;
}

int p2pc__evcheck_bcast_excuse(state *s, uint32_t x, const rec *r) {
  if (!s->nb)
    return 0;
  struct bcast_inc *b = &s->binc[x];
  if (!b->started && start_inc(s, x) < 0)
    return -1;
  if (b->pos == b->npend)
    return 0;
  if (r->stamp > b->bound)
    b->bound = r->stamp;
  if (r->net > 0 && sat_add((uint64_t)r->net, s->tolerance_ns) > b->bound)
    b->bound = sat_add((uint64_t)r->net, s->tolerance_ns);
  uint64_t life = s->incs[x].lifetime;
  while (b->pos < b->npend) {
    const msgrec *m = &s->msgs[b->pend[b->pos]];
    if (sat_add(m->stamp, life) > b->bound)
      break;
    ccheck_expire(s->c, x, m->sender, m->n);
    b->pos++;
  }
  return 0;
}

void p2pc__evcheck_bcast_verdicts(state *s) {
  for (size_t i = 0; i < s->nmsgs && s->nb; i++) {
    if (s->bidx[i] == NONE)
      continue;
    const msgrec *m = &s->msgs[i];
    const inc *snd = &s->incs[m->sender];
    /* its network time: the stamp's physical part, or the send's net */
    int64_t t = m->has_stamp && m->stamp <= (uint64_t)INT64_MAX
                    ? (int64_t)(m->stamp & ~(uint64_t)0xffff)
                    : m->send_net;
    /* One verdict a broadcast: delivered if every incarnation it is owed
     * to delivered it, else counted under the first excuse that applied
     * (in incarnation order), else (MISSING somewhere) its violations. */
    uint64_t *cat = NULL;
    bool missing = false;
    for (uint32_t x = 0; x < s->nincs; x++) {
      const inc *in = &s->incs[x];
      if (!in->node)
        continue;
      uint8_t f = *p2pc__evcheck_bcast_at(s, (uint32_t)i, x);
      uint64_t *why = NULL;
      if (f & B_DELIVERED) {
        if ((f & B_NOT_ADDRESSED) && in->has_birth && m->has_stamp) {
          s->own_wrong_dest++;
          p2pc__evcheck_list_violation(
              s,
              "WRONG_DEST: broadcast %s:%" PRIu64 " (stamp %" PRIu64
              ") was delivered at %s, born after it (birth %" PRIu64 ")",
              snd->sesid, m->n, m->stamp, in->sesid, in->birth);
        }
        continue;
      }
      if (f & B_NOT_ADDRESSED)
        continue;
      if (f & B_EXP_HONEST) {
        why = &s->expired;
      } else if (crashed(in)) {
        why = &s->lost_receiver;
      } else if (crashed(snd) || snd->superseded) {
        why = &s->lost_sender;
      } else if (f & B_EXP_REPORTED) {
        /* reported expired too early: that is its violation */
        missing = true;
      } else if (in->last_net < (t > INT64_MAX - (int64_t)s->tolerance_ns
                                     ? INT64_MAX
                                     : t + (int64_t)s->tolerance_ns)) {
        /* its log ends before the broadcast could reach it: not owed */
      } else if (f & B_PASSED) {
        why = &s->expired; /* skipped there as expired */
      } else if (m->late || p2pc__evcheck_cut_excused(s, m, snd, in)) {
        why = &s->unsettled;
      } else {
        missing = true;
        s->own_missing++;
        p2pc__evcheck_list_violation(
            s, "MISSING: broadcast %s:%" PRIu64 " was never delivered at %s",
            snd->sesid, m->n, in->sesid);
      }
      if (why && !cat)
        cat = why;
    }
    if (missing)
      continue;
    if (cat)
      (*cat)++;
    else
      s->delivered++;
  }
}

void p2pc__evcheck_bcast_free(state *s) {
  for (size_t i = 0; s->binc && i < s->nincs; i++)
    free(s->binc[i].pend);
  free(s->binc);
  free(s->bst);
  free(s->bidx);
  s->binc = NULL;
  s->bst = NULL;
  s->bidx = NULL;
}
