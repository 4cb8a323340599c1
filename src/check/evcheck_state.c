/* SPDX-License-Identifier: MIT */
/*
 * The oracle's bookkeeping (evcheck_internal.h): the tables of
 * incarnations (by causal identity), messages (by sender and counter) and
 * records, the cursors of the streams, the early limit on their size; and
 * where input errors, warnings and the listed violations go.
 */
#include "evcheck_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *p2pc__evcheck_dupstr(state *s, const char *str) {
  size_t len = strlen(str);
  char *p = malloc(len + 1);
  if (!p) {
    s->nomem = true;
    return NULL;
  }
  memcpy(p, str, len + 1);
  return p;
}

/* Grows *arr (of elsize elements, capacity *cap) to hold need; false if
 * out of memory. */
bool p2pc__evcheck_grow(state *s, void **arr, size_t elsize, size_t need,
                        size_t *cap) {
  if (need <= *cap)
    return true;
  size_t c = *cap ? *cap : 64;
  while (c < need)
    c *= 2;
  void *p = realloc(*arr, c * elsize);
  if (!p) {
    s->nomem = true;
    return false;
  }
  *arr = p;
  *cap = c;
  return true;
}

const char *p2pc__evcheck_stream_name(const state *s, uint32_t stream) {
  return s->streams[stream].name;
}

static __attribute__((format(printf, 5, 0))) void
diag(state *s, bool warning, uint32_t stream, unsigned long line,
     const char *fmt, va_list ap) {
  if (!s->diag)
    return;
  char what[512], text[1024];
  vsnprintf(what, sizeof what, fmt, ap);
  snprintf(text, sizeof text, "%s:%lu: %s",
           p2pc__evcheck_stream_name(s, stream), line, what);
  s->diag(s->diag_ud, warning, text);
}

__attribute__((format(printf, 4, 5))) void
p2pc__evcheck_input_error(state *s, uint32_t stream, unsigned long line,
                          const char *fmt, ...) {
  if (s->errors++ >= MAX_REPORTED)
    return;
  va_list ap;
  va_start(ap, fmt);
  diag(s, false, stream, line, fmt, ap);
  va_end(ap);
}

__attribute__((format(printf, 4, 5))) void
p2pc__evcheck_input_warning(state *s, uint32_t stream, unsigned long line,
                            const char *fmt, ...) {
  if (s->warnings++ >= MAX_REPORTED)
    return;
  va_list ap;
  va_start(ap, fmt);
  diag(s, true, stream, line, fmt, ap);
  va_end(ap);
}

/* Keeps one violation line for the listing (the first few). */
__attribute__((format(printf, 2, 3))) void
p2pc__evcheck_list_violation(state *s, const char *fmt, ...) {
  if (s->nlisted >= P2PC_EVCHECK_LISTED)
    return;
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  char *p = p2pc__evcheck_dupstr(s, text);
  if (p)
    s->listed[s->nlisted++] = p;
}

static uint64_t hash_msg(uint32_t sender, uint64_t n) {
  uint64_t h = ((uint64_t)sender + 1) * 0x9E3779B97F4A7C15ull;
  h ^= n * 0xC2B2AE3D27D4EB4Full;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

/* The incarnation named sesid[0..n), added (without a log) if new; NONE if
 * out of memory or too many. */
uint32_t p2pc__evcheck_intern_inc(state *s, const char *sesid, size_t n) {
  uint32_t id;
  int rv = p2pc_idtab_intern(&s->ids, sesid, n, &id);
  if (rv == P2PC_ERR_NOMEM)
    s->nomem = true;
  if (rv)
    return NONE; /* validated by the callers: FULL means too many */
  if (id < s->nincs)
    return id;
  if (!p2pc__evcheck_grow(s, (void **)&s->incs, sizeof *s->incs, s->nincs + 1,
                          &s->capincs))
    return NONE;
  char *copy = malloc(n + 1);
  if (!copy) {
    s->nomem = true;
    return NONE;
  }
  memcpy(copy, sesid, n);
  copy[n] = '\0';
  inc *in = &s->incs[s->nincs];
  memset(in, 0, sizeof *in);
  in->sesid = copy;
  return (uint32_t)s->nincs++;
}

/* The message sender:n, added if new; NONE if out of memory. */
uint32_t p2pc__evcheck_intern_msg(state *s, uint32_t sender, uint64_t n) {
  if (s->nmslots) {
    size_t mask = s->nmslots - 1;
    for (size_t i = hash_msg(sender, n) & mask;; i = (i + 1) & mask) {
      uint32_t v = s->mslots[i];
      if (!v)
        break;
      if (s->msgs[v - 1].sender == sender && s->msgs[v - 1].n == n)
        return v - 1;
    }
  }
  if (s->nmsgs >= UINT32_MAX / 4) {
    s->nomem = true;
    return NONE;
  }
  if ((s->nmsgs + 1) * 2 > s->nmslots) {
    size_t ns = s->nmslots ? s->nmslots * 2 : 1024;
    uint32_t *slots = calloc(ns, sizeof *slots);
    if (!slots) {
      s->nomem = true;
      return NONE;
    }
    for (size_t k = 0; k < s->nmsgs; k++) {
      size_t i = hash_msg(s->msgs[k].sender, s->msgs[k].n) & (ns - 1);
      while (slots[i])
        i = (i + 1) & (ns - 1);
      slots[i] = (uint32_t)k + 1;
    }
    free(s->mslots);
    s->mslots = slots;
    s->nmslots = ns;
  }
  if (!p2pc__evcheck_grow(s, (void **)&s->msgs, sizeof *s->msgs, s->nmsgs + 1,
                          &s->capmsgs))
    return NONE;
  msgrec *m = &s->msgs[s->nmsgs];
  memset(m, 0, sizeof *m);
  m->sender = sender;
  m->n = n;
  m->to = NONE;
  size_t i = hash_msg(sender, n) & (s->nmslots - 1);
  while (s->mslots[i])
    i = (i + 1) & (s->nmslots - 1);
  s->mslots[i] = (uint32_t)s->nmsgs + 1;
  return (uint32_t)s->nmsgs++;
}

bool p2pc__evcheck_add_rec(state *s, uint32_t in, uint32_t msg, uint32_t to,
                           bool is_send, uint64_t waited_ns) {
  if (!p2pc__evcheck_grow(s, (void **)&s->recs, sizeof *s->recs, s->nrecs + 1,
                          &s->caprecs))
    return false;
  rec *r = &s->recs[s->nrecs++];
  r->inc = in;
  r->msg = msg;
  r->to = to;
  r->is_send = is_send;
  r->waited_ns = waited_ns;
  r->stamp = 0;
  r->net = 0;
  return true;
}

void p2pc__evcheck_rec_clock(state *s, uint64_t stamp, int64_t net) {
  s->recs[s->nrecs - 1].stamp = stamp;
  s->recs[s->nrecs - 1].net = net;
}

/* Past an early limit: the records go at once, and later lines with them. */
void p2pc__evcheck_check_limit(state *s) {
  if (!s->limit_early || s->too_large ||
      (uint64_t)s->nincs * s->nmsgs <= s->limit)
    return;
  s->too_large = true;
  free(s->recs);
  s->recs = NULL;
  s->nrecs = s->caprecs = 0;
  free(s->mslots);
  s->mslots = NULL;
  s->nmslots = 0;
  free(s->exps);
  s->exps = NULL;
  s->nexps = s->capexps = 0;
}

/* The cursor of stream st, added (with its default name) if new. */
cursor *p2pc__evcheck_get_stream(state *s, uint32_t st) {
  if (st >= MAX_STREAMS)
    return NULL;
  if (st >= s->nstreams) {
    size_t cap = s->nstreams;
    if (!p2pc__evcheck_grow(s, (void **)&s->streams, sizeof *s->streams,
                            (size_t)st + 1, &cap))
      return NULL;
    memset(s->streams + s->nstreams, 0,
           (cap - s->nstreams) * sizeof *s->streams);
    for (size_t i = s->nstreams; i < cap; i++)
      s->streams[i].inc = NONE;
    s->nstreams = cap;
  }
  cursor *c = &s->streams[st];
  if (!c->name) {
    char tmp[24];
    snprintf(tmp, sizeof tmp, "#%" PRIu32, st);
    c->name = p2pc__evcheck_dupstr(s, tmp);
    if (!c->name)
      return NULL;
  }
  return c;
}
