/* SPDX-License-Identifier: MIT */
/*
 * The frame codec (wire.h, docs/PROTOCOL.md). Every decoder validates the
 * whole body before writing any output, and every encoding is canonical
 * (minimal varints, sorted entries, no trailing bytes), so a decoder accepts
 * exactly the bytes its encoder produces: the fuzzers check the round trip.
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

/* ---- frames --------------------------------------------------------- */

int p2pc_wire_frame_split(const uint8_t *p, size_t len, uint32_t max_frame,
                          p2pc_frame *f) {
  if (len < 4)
    return 0;
  uint32_t flen = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
                  ((uint32_t)p[2] << 8) | p[3];
  if (flen == 0)
    return P2PC_ERR_PROTO;
  if (flen > max_frame || flen > P2PC_WIRE_MAX_FRAME_LIMIT)
    return P2PC_ERR_TOOBIG;
  if (len - 4 < flen)
    return 0;
  f->type = p[4];
  f->body = p + P2PC_WIRE_HDR;
  f->body_len = flen - 1;
  return (int)(flen + 4);
}

long p2pc_wire_frame_begin(p2pc_buf *out, p2pc_frame_type type) {
  long start = (long)out->len;
  int rv = p2pc_buf_reserve(out, P2PC_WIRE_HDR);
  if (rv)
    return rv;
  p2pc_buf_put_be32(out, 0);
  p2pc_buf_put_u8(out, (uint8_t)type);
  return start;
}

int p2pc_wire_frame_end(p2pc_buf *out, long start, uint32_t max_frame) {
  size_t flen = out->len - (size_t)start - 4;
  if (flen > max_frame || flen > P2PC_WIRE_MAX_FRAME_LIMIT) {
    out->len = (size_t)start;
    return P2PC_ERR_TOOBIG;
  }
  p2pc_buf_patch_be32(out, (size_t)start, (uint32_t)flen);
  return 0;
}

/* ---- shared pieces -------------------------------------------------- */

/* Appends a sequence of puts atomically: on error, out is rolled back. */
#define PUT(expr)                                                              \
  do {                                                                         \
    if ((rv = (expr)) != 0)                                                    \
      goto err;                                                                \
  } while (0)

static int put_id(p2pc_buf *out, const char *id) {
  size_t n = strlen(id);
  if (!p2pc_node_id_valid(id, n))
    return P2PC_ERR_INVAL;
  int rv = p2pc_buf_put_u8(out, (uint8_t)n);
  return rv ? rv : p2pc_buf_put(out, id, n);
}

/* Reads a node ID into dst (P2PC_NODE_ID_MAX + 1 bytes), or fails the
 * reader. */
static bool get_id(p2pc_reader *r, char *dst) {
  uint8_t n;
  const uint8_t *p;
  if (!p2pc_reader_u8(r, &n) || !p2pc_reader_bytes(r, n, &p) ||
      !p2pc_node_id_valid((const char *)p, n)) {
    r->ok = false;
    return false;
  }
  memcpy(dst, p, n);
  dst[n] = '\0';
  return true;
}

static int put_addr(p2pc_buf *out, const p2pc_wire_addr *a) {
  int rv;
  size_t start = out->len;
  if (a->family != 0 && a->family != 4 && a->family != 6)
    return P2PC_ERR_INVAL;
  PUT(p2pc_buf_put_u8(out, a->family));
  if (a->family) {
    PUT(p2pc_buf_put(out, a->addr, a->family == 4 ? 4 : 16));
    PUT(p2pc_buf_put_be16(out, a->port));
  }
  return 0;
err:
  out->len = start;
  return rv;
}

static bool get_addr(p2pc_reader *r, p2pc_wire_addr *a) {
  const uint8_t *p;
  memset(a, 0, sizeof *a);
  if (!p2pc_reader_u8(r, &a->family))
    return false;
  if (a->family == 0)
    return true;
  if (a->family != 4 && a->family != 6) {
    r->ok = false;
    return false;
  }
  size_t n = a->family == 4 ? 4 : 16;
  if (!p2pc_reader_bytes(r, n, &p) || !p2pc_reader_be16(r, &a->port))
    return false;
  memcpy(a->addr, p, n);
  return true;
}

/* A decoder's epilogue: the body must be consumed exactly. */
static int finish(const p2pc_reader *r) {
  return r->ok && p2pc_reader_left(r) == 0 ? (int)r->len : P2PC_ERR_PROTO;
}

/* ---- HELLO, ERROR, ACK, PING/PONG, PEERS ---------------------------- */

int p2pc_wire_hello_put(p2pc_buf *out, const p2pc_wire_hello *h) {
  int rv;
  size_t start = out->len;
  PUT(p2pc_buf_put_be32(out, P2PC_WIRE_MAGIC));
  PUT(p2pc_buf_put_be16(out, h->version));
  PUT(p2pc_buf_put_be16(out, h->flags));
  PUT(put_id(out, h->id));
  PUT(p2pc_buf_put_be64(out, h->incarnation));
  PUT(put_addr(out, &h->listen));
  return 0;
err:
  out->len = start;
  return rv;
}

int p2pc_wire_hello_get(const uint8_t *b, size_t len, p2pc_wire_hello *h) {
  p2pc_reader r;
  uint32_t magic;
  uint16_t version;
  p2pc_wire_hello tmp;
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_be32(&r, &magic) || magic != P2PC_WIRE_MAGIC ||
      !p2pc_reader_be16(&r, &version))
    return P2PC_ERR_PROTO;
  if (version != P2PC_WIRE_VERSION) {
    h->version = version;
    return P2PC_ERR_VERSION;
  }
  memset(&tmp, 0, sizeof tmp);
  tmp.version = version;
  p2pc_reader_be16(&r, &tmp.flags);
  if (tmp.flags & ~(P2PC_HELLO_JOIN | P2PC_HELLO_FRESH))
    return P2PC_ERR_PROTO;
  get_id(&r, tmp.id);
  p2pc_reader_be64(&r, &tmp.incarnation);
  get_addr(&r, &tmp.listen);
  int rv = finish(&r);
  if (rv > 0)
    *h = tmp;
  return rv;
}

int p2pc_wire_error_put(p2pc_buf *out, uint16_t code, const char *reason) {
  int rv;
  size_t start = out->len;
  size_t n = reason ? strlen(reason) : 0;
  if (n > P2PC_WIRE_MAX_REASON)
    n = P2PC_WIRE_MAX_REASON; /* a reason is advice; cut, don't fail */
  PUT(p2pc_buf_put_be16(out, code));
  PUT(p2pc_buf_put_varint(out, n));
  PUT(p2pc_buf_put(out, reason, n));
  return 0;
err:
  out->len = start;
  return rv;
}

int p2pc_wire_error_get(const uint8_t *b, size_t len, p2pc_wire_error *e) {
  p2pc_reader r;
  uint16_t code;
  uint64_t n;
  const uint8_t *p;
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_be16(&r, &code) || !p2pc_reader_varint(&r, &n) ||
      n > P2PC_WIRE_MAX_REASON || !p2pc_reader_bytes(&r, (size_t)n, &p) ||
      memchr(p, 0, (size_t)n))
    return P2PC_ERR_PROTO;
  int rv = finish(&r);
  if (rv > 0) {
    e->code = code;
    memcpy(e->reason, p, (size_t)n);
    e->reason[n] = '\0';
  }
  return rv;
}

/* A body of two varints (ACK, HORIZON). */
static int put_varint2(p2pc_buf *out, uint64_t x, uint64_t y) {
  size_t start = out->len;
  int rv = p2pc_buf_put_varint(out, x);
  if (!rv)
    rv = p2pc_buf_put_varint(out, y);
  if (rv)
    out->len = start;
  return rv;
}

static int get_varint2(const uint8_t *b, size_t len, uint64_t *x, uint64_t *y) {
  p2pc_reader r;
  uint64_t v = 0, w = 0;
  p2pc_reader_init(&r, b, len);
  p2pc_reader_varint(&r, &v);
  p2pc_reader_varint(&r, &w);
  int rv = finish(&r);
  if (rv > 0) {
    *x = v;
    *y = w;
  }
  return rv;
}

int p2pc_wire_ack_put(p2pc_buf *out, uint64_t cum, uint64_t beyond) {
  return put_varint2(out, cum, beyond);
}

int p2pc_wire_ack_get(const uint8_t *b, size_t len, uint64_t *cum,
                      uint64_t *beyond) {
  return get_varint2(b, len, cum, beyond);
}

int p2pc_wire_announce_put(p2pc_buf *out, const p2pc_wire_announce *a) {
  int rv;
  size_t start = out->len;
  PUT(p2pc_buf_put_be16(out, a->time_port));
  PUT(p2pc_buf_put_u8(out, a->mode));
  PUT(p2pc_buf_put_u8(out, a->flags));
  if (a->ref[0]) {
    PUT(put_id(out, a->ref));
  } else {
    PUT(p2pc_buf_put_u8(out, 0));
  }
  PUT(p2pc_buf_put_u8(out, a->ref_priority));
  PUT(p2pc_buf_put_u8(out, a->ref_class));
  PUT(p2pc_buf_put_varint(out, a->ref_seq));
  PUT(p2pc_buf_put_u8(out, a->hops));
  return 0;
err:
  out->len = start;
  return rv;
}

int p2pc_wire_announce_get(const uint8_t *b, size_t len,
                           p2pc_wire_announce *a) {
  p2pc_reader r;
  p2pc_wire_announce v;
  memset(&v, 0, sizeof v);
  p2pc_reader_init(&r, b, len);
  p2pc_reader_be16(&r, &v.time_port);
  p2pc_reader_u8(&r, &v.mode);
  p2pc_reader_u8(&r, &v.flags);
  if (r.ok && p2pc_reader_left(&r) > 0 && r.p[r.off] == 0)
    p2pc_reader_u8(&r, &v.hops); /* no reference: skip the 0 length */
  else
    get_id(&r, v.ref);
  v.hops = 0;
  p2pc_reader_u8(&r, &v.ref_priority);
  p2pc_reader_u8(&r, &v.ref_class);
  p2pc_reader_varint(&r, &v.ref_seq);
  p2pc_reader_u8(&r, &v.hops);
  if (r.ok && (v.mode > 1 ||
               (v.flags & ~(P2PC_ANNOUNCE_SYNCED | P2PC_ANNOUNCE_REF_ACTIVE))))
    return P2PC_ERR_PROTO;
  int rv = finish(&r);
  if (rv > 0)
    *a = v;
  return rv;
}

int p2pc_wire_ping_put(p2pc_buf *out, p2pc_frame_type type, uint64_t token) {
  (void)type; /* PING and PONG share a body; the type is in the header */
  return p2pc_buf_put_be64(out, token);
}

int p2pc_wire_ping_get(const uint8_t *b, size_t len, uint64_t *token) {
  p2pc_reader r;
  uint64_t v = 0;
  p2pc_reader_init(&r, b, len);
  p2pc_reader_be64(&r, &v);
  int rv = finish(&r);
  if (rv > 0)
    *token = v;
  return rv;
}

int p2pc_wire_peers_put(p2pc_buf *out, const p2pc_wire_peer *peers, size_t n) {
  int rv;
  size_t start = out->len;
  if (n > P2PC_WIRE_MAX_PEERS)
    return P2PC_ERR_TOOBIG;
  PUT(p2pc_buf_put_varint(out, n));
  for (size_t i = 0; i < n; i++) {
    PUT(put_id(out, peers[i].id));
    PUT(p2pc_buf_put_be64(out, peers[i].incarnation));
    PUT(put_addr(out, &peers[i].addr));
  }
  return 0;
err:
  out->len = start;
  return rv;
}

int p2pc_wire_leave_put(p2pc_buf *out, uint64_t last,
                        const p2pc_wire_peer *next) {
  size_t start = out->len;
  int rv = p2pc_buf_put_varint(out, last);
  if (!rv)
    rv = p2pc_wire_peers_put(out, next, next && next->id[0] ? 1 : 0);
  if (rv)
    out->len = start;
  return rv;
}

int p2pc_wire_leave_get(const uint8_t *b, size_t len, uint64_t *last,
                        p2pc_wire_peer *next) {
  p2pc_reader r;
  uint64_t v;
  p2pc_wire_peer tmp;
  size_t k = 0;
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &v))
    return P2PC_ERR_PROTO;
  int rv = p2pc_wire_peers_get(b + r.off, len - r.off, &tmp, 1, &k);
  if (rv < 0)
    return rv == P2PC_ERR_TOOBIG ? P2PC_ERR_PROTO : rv;
  if (!k)
    memset(&tmp, 0, sizeof tmp);
  *last = v;
  *next = tmp;
  return (int)len;
}

/* ---- STABLE ----------------------------------------------------------- */

/* Written-off ranges: (first, last) pairs, 1 <= first <= last < the next
 * pair's first. */
static bool ranges_valid(const uint64_t *e, uint64_t n) {
  if (n % 2 || n > P2PC_WIRE_MAX_EXPIRED)
    return false;
  for (uint64_t i = 0; i < n; i += 2)
    if (e[i] == 0 || e[i] > e[i + 1] || (i && e[i] <= e[i - 1]))
      return false;
  return true;
}

static bool stable_valid(const p2pc_wire_stable *s) {
  for (int d = 1; d < P2PC_STABLE_DEPTH; d++)
    if (s->rep.v[d] > s->rep.v[d - 1])
      return false;
  return ranges_valid(s->expired, s->nexpired);
}

int p2pc_wire_stable_put(p2pc_buf *out, const p2pc_wire_stable *s) {
  int rv;
  size_t start = out->len;
  if (!stable_valid(s))
    return P2PC_ERR_INVAL;
  const uint64_t *v = s->rep.v;
  uint64_t nsteps = 1;
  for (int d = 1; d < P2PC_STABLE_DEPTH; d++)
    nsteps += v[d] != v[d - 1];
  PUT(p2pc_buf_put_varint(out, s->delivered));
  PUT(p2pc_buf_put_varint(out, nsteps));
  PUT(p2pc_buf_put_varint(out, 0));
  PUT(p2pc_buf_put_varint(out, v[0]));
  for (int d = 1, last = 0; d < P2PC_STABLE_DEPTH; d++) {
    if (v[d] == v[d - 1])
      continue;
    PUT(p2pc_buf_put_varint(out, (uint64_t)(d - last)));
    PUT(p2pc_buf_put_varint(out, v[d - 1] - v[d]));
    last = d;
  }
  PUT(p2pc_buf_put_varint(out, s->nexpired));
  for (uint32_t i = 0; i < s->nexpired; i++)
    PUT(p2pc_buf_put_varint(out, s->expired[i]));
  return 0;
err:
  out->len = start;
  return rv;
}

int p2pc_wire_stable_get(const uint8_t *b, size_t len, p2pc_wire_stable *s) {
  p2pc_reader r;
  p2pc_wire_stable tmp;
  uint64_t nsteps, level, value, nexp;
  memset(&tmp, 0, sizeof tmp);
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &tmp.delivered) ||
      !p2pc_reader_varint(&r, &nsteps) || nsteps == 0 ||
      nsteps > P2PC_STABLE_DEPTH || !p2pc_reader_varint(&r, &level) ||
      level != 0 || !p2pc_reader_varint(&r, &value))
    return P2PC_ERR_PROTO;
  tmp.rep.v[0] = value;
  for (uint64_t i = 1; i < nsteps; i++) {
    uint64_t gap, dec;
    /* Each step moves up at least one level and down at least by one,
     * stays below level D and above 0: one encoding per report. */
    if (!p2pc_reader_varint(&r, &gap) || !p2pc_reader_varint(&r, &dec) ||
        gap == 0 || gap >= P2PC_STABLE_DEPTH - level || dec == 0 || dec > value)
      return P2PC_ERR_PROTO;
    for (uint64_t d = level + 1; d < level + gap; d++)
      tmp.rep.v[d] = value;
    level += gap;
    value -= dec;
    tmp.rep.v[level] = value;
  }
  for (uint64_t d = level + 1; d < P2PC_STABLE_DEPTH; d++)
    tmp.rep.v[d] = value;
  if (!p2pc_reader_varint(&r, &nexp) || nexp > P2PC_WIRE_MAX_EXPIRED)
    return P2PC_ERR_PROTO;
  tmp.nexpired = (uint32_t)nexp;
  for (uint32_t i = 0; i < tmp.nexpired; i++)
    if (!p2pc_reader_varint(&r, &tmp.expired[i]))
      return P2PC_ERR_PROTO;
  if (!ranges_valid(tmp.expired, nexp))
    return P2PC_ERR_PROTO;
  int rv = finish(&r);
  if (rv > 0)
    *s = tmp;
  return rv;
}

int p2pc_wire_peers_get(const uint8_t *b, size_t len, p2pc_wire_peer *peers,
                        size_t max, size_t *n) {
  p2pc_reader r;
  uint64_t count;
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &count))
    return P2PC_ERR_PROTO;
  if (count > P2PC_WIRE_MAX_PEERS || count > max)
    return P2PC_ERR_TOOBIG;
  /* Validate into a local first so peers[] is written only on success. */
  size_t body = r.off;
  for (uint64_t i = 0; i < count; i++) {
    p2pc_wire_peer tmp;
    get_id(&r, tmp.id);
    p2pc_reader_be64(&r, &tmp.incarnation);
    get_addr(&r, &tmp.addr);
  }
  int rv = finish(&r);
  if (rv < 0)
    return rv;
  p2pc_reader_init(&r, b + body, len - body);
  for (uint64_t i = 0; i < count; i++) {
    get_id(&r, peers[i].id);
    p2pc_reader_be64(&r, &peers[i].incarnation);
    get_addr(&r, &peers[i].addr);
  }
  *n = (size_t)count;
  return rv;
}

/* ---- SES messages ---------------------------------------------------- */

void p2pc_ses_msg_init(p2pc_ses_msg *m) { memset(m, 0, sizeof *m); }

void p2pc_ses_msg_fini(p2pc_ses_msg *m, const p2pc_allocator *a) {
  a->free(m->new_names, a->ud);
  a->free(m->new_lens, a->ud);
  a->free(m->deps, a->ud);
  if (m->ls_owned)
    a->free(m->ls, a->ud);
  p2pc_ses_msg_init(m);
}

/* An entry in dictionary indices, as it goes on the wire. */
struct sesdep {
  uint32_t d, s;
  uint64_t n, stamp;
  uint32_t hops;
};
typedef struct sesdep sesdep;

void p2pc_wire_scratch_fini(p2pc_wire_scratch *s, const p2pc_allocator *a) {
  a->free(s->map, a->ud);
  a->free(s->order, a->ud);
  a->free(s->deps, a->ud);
  a->free(s->work, a->ud);
  memset(s, 0, sizeof *s);
}

static int cmp_sesdep(const void *x, const void *y) {
  const sesdep *a = x, *b = y;
  if (a->d != b->d)
    return a->d < b->d ? -1 : 1;
  return a->s < b->s ? -1 : a->s > b->s;
}

/* Names in the dictionary's order: (length, bytes). */
static int cmp_name(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
  if (al != bl)
    return al < bl ? -1 : 1;
  return memcmp(a, b, al);
}

typedef struct named {
  const char *p;
  size_t len;
  uint32_t id;
} named;

static int cmp_named(const void *x, const void *y) {
  const named *a = x, *b = y;
  return cmp_name((const uint8_t *)a->p, a->len, (const uint8_t *)b->p, b->len);
}

static int cmp_dep(const void *x, const void *y) {
  const p2pc_ses_dep *a = x, *b = y;
  if (a->dest != b->dest)
    return a->dest < b->dest ? -1 : 1;
  return a->sender < b->sender ? -1 : a->sender > b->sender;
}

/* Sorts ids v[0..n) by name. */
/* The scratch's work area, at least bytes long (kept between messages:
 * no allocation per message once it has grown). */
static void *scratch_work(p2pc_wire_scratch *s, size_t bytes,
                          const p2pc_allocator *a) {
  if (s->wcap < bytes) {
    void *w = a->realloc(s->work, bytes, a->ud);
    if (!w)
      return NULL;
    s->work = w;
    s->wcap = bytes;
  }
  return s->work;
}

static int sort_by_name(uint32_t *v, uint32_t n, const p2pc_idtab *ids,
                        p2pc_wire_scratch *s, const p2pc_allocator *a) {
  if (n < 2)
    return 0;
  named *t = scratch_work(s, (size_t)n * sizeof *t, a);
  if (!t)
    return P2PC_ERR_NOMEM;
  for (uint32_t i = 0; i < n; i++) {
    t[i].id = v[i];
    t[i].p = p2pc_idtab_name(ids, v[i], &t[i].len);
  }
  qsort(t, n, sizeof *t, cmp_named);
  for (uint32_t i = 0; i < n; i++)
    v[i] = t[i].id;
  return 0;
}

static int scratch_grow(p2pc_wire_scratch *s, uint32_t nids, uint32_t ndeps,
                        const p2pc_allocator *a) {
  if (s->cap < nids) {
    uint32_t *map = a->realloc(s->map, (size_t)nids * sizeof *map, a->ud);
    if (!map)
      return P2PC_ERR_NOMEM;
    memset(map + s->cap, 0, (size_t)(nids - s->cap) * sizeof *map);
    s->map = map;
    s->cap = nids;
  }
  if (s->ocap < nids) {
    uint32_t *o = a->realloc(s->order, (size_t)nids * sizeof *o, a->ud);
    if (!o)
      return P2PC_ERR_NOMEM;
    s->order = o;
    s->ocap = nids;
  }
  if (s->dcap < ndeps) {
    sesdep *d = a->realloc(s->deps, (size_t)ndeps * sizeof *d, a->ud);
    if (!d)
      return P2PC_ERR_NOMEM;
    s->deps = d;
    s->dcap = ndeps;
  }
  return 0;
}

typedef struct lsidx {
  uint32_t idx;
  uint64_t ls;
} lsidx;

static int cmp_lsidx(const void *x, const void *y) {
  const lsidx *a = x, *b = y;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Writes m's LS list in dictionary order. map: local id -> index + 1. */
static int put_ls(p2pc_buf *out, const p2pc_ses_msg *m, const uint32_t *map,
                  uint32_t nids, const sesdep *sd, uint32_t nd,
                  p2pc_wire_scratch *s, const p2pc_allocator *a) {
  size_t start = out->len;
  int rv = P2PC_ERR_NOMEM;
  /* One work block: the list, then a flag per dictionary index. */
  lsidx *t = scratch_work(s, (size_t)m->nls * sizeof *t + nd, a);
  if (!t)
    return rv;
  uint8_t *sender = (uint8_t *)(t + m->nls);
  memset(sender, 0, nd);
  sender[0] = 1;
  for (uint32_t i = 0; i < m->ndeps; i++)
    sender[sd[i].s] = 1;
  rv = P2PC_ERR_INVAL;
  for (uint32_t i = 0; i < m->nls; i++) {
    const p2pc_ses_ls *l = &m->ls[i];
    if (l->id >= nids || l->ls == 0 || l->ls >= m->stamp || !map[l->id] ||
        !sender[map[l->id] - 1])
      goto err;
    t[i] = (lsidx){map[l->id] - 1, l->ls};
  }
  qsort(t, m->nls, sizeof *t, cmp_lsidx);
  for (uint32_t i = 1; i < m->nls; i++)
    if (t[i].idx == t[i - 1].idx)
      goto err;
  PUT(p2pc_buf_put_varint(out, m->nls));
  for (uint32_t i = 0; i < m->nls; i++) {
    PUT(p2pc_buf_put_varint(out, i ? t[i].idx - t[i - 1].idx : t[i].idx));
    PUT(p2pc_buf_put_varint(out, m->stamp - t[i].ls));
  }
  return 0;
err:
  out->len = start;
  return rv;
}

int p2pc_wire_ses_put(p2pc_buf *out, const p2pc_ses_msg *m,
                      const p2pc_idtab *ids, p2pc_wire_scratch *scratch,
                      const p2pc_allocator *a, size_t *meta_bytes) {
  size_t start = out->len;
  int rv;
  if (m->sender == m->dest || m->sender >= ids->n || m->dest >= ids->n ||
      m->n == 0 || m->prev >= m->n || m->stamp == 0 ||
      m->ndeps > P2PC_SES_MAX_DEPS || (!m->payload && m->payload_len) ||
      (!m->ls && m->nls))
    return P2PC_ERR_INVAL;
  if ((rv = scratch_grow(scratch, ids->n, m->ndeps, a)) != 0)
    return rv;
  uint32_t *map = scratch->map, *order = scratch->order;
  /* The dictionary: sender, dest, then the others by name. */
  uint32_t nd = 0;
  order[nd++] = m->sender;
  map[m->sender] = nd;
  order[nd++] = m->dest;
  map[m->dest] = nd;
  for (uint32_t i = 0; i < m->ndeps; i++) {
    const p2pc_ses_dep *e = &m->deps[i];
    if (e->dest >= ids->n || e->sender >= ids->n || e->dest == e->sender ||
        e->dest == m->sender || e->n == 0 || e->stamp == 0 ||
        e->stamp >= m->stamp || e->hops > P2PC_SES_MAX_HOPS) {
      rv = P2PC_ERR_INVAL;
      goto done;
    }
    if (!map[e->dest]) {
      order[nd++] = e->dest;
      map[e->dest] = nd;
    }
    if (!map[e->sender]) {
      order[nd++] = e->sender;
      map[e->sender] = nd;
    }
  }
  if ((rv = sort_by_name(order + 2, nd - 2, ids, scratch, a)) != 0)
    goto done;
  for (uint32_t i = 2; i < nd; i++)
    map[order[i]] = i + 1;
  sesdep *sd = scratch->deps;
  for (uint32_t i = 0; i < m->ndeps; i++)
    sd[i] = (sesdep){map[m->deps[i].dest] - 1, map[m->deps[i].sender] - 1,
                     m->deps[i].n, m->deps[i].stamp, m->deps[i].hops};
  if (m->ndeps > 1)
    qsort(sd, m->ndeps, sizeof *sd, cmp_sesdep);
  for (uint32_t i = 1; i < m->ndeps; i++)
    if (sd[i].d == sd[i - 1].d && sd[i].s == sd[i - 1].s) {
      rv = P2PC_ERR_INVAL; /* one entry per (dest, sender) */
      goto done;
    }
  PUT(p2pc_buf_put_varint(out, nd));
  for (uint32_t i = 0; i < nd; i++) {
    size_t len;
    const char *nm = p2pc_idtab_name(ids, order[i], &len);
    PUT(p2pc_buf_put_u8(out, (uint8_t)len));
    PUT(p2pc_buf_put(out, nm, len));
  }
  PUT(p2pc_buf_put_varint(out, m->n));
  PUT(p2pc_buf_put_varint(out, m->prev));
  PUT(p2pc_buf_put_varint(out, m->stamp));
  PUT(p2pc_buf_put_varint(out, m->ndeps));
  for (uint32_t i = 0; i < m->ndeps; i++) {
    bool same = i > 0 && sd[i].d == sd[i - 1].d;
    PUT(p2pc_buf_put_varint(out, i == 0 ? sd[i].d : sd[i].d - sd[i - 1].d));
    PUT(p2pc_buf_put_varint(out, same ? sd[i].s - sd[i - 1].s - 1 : sd[i].s));
    PUT(p2pc_buf_put_varint(out, sd[i].n));
    PUT(p2pc_buf_put_varint(out, m->stamp - sd[i].stamp));
    PUT(p2pc_buf_put_varint(out, sd[i].hops));
  }
  /* LS values: by dictionary index, each the sender's or an entry
   * sender's. A list put_ls refuses leaves nothing of the message. */
  if (m->nls) {
    PUT(put_ls(out, m, map, ids->n, sd, nd, scratch, a));
  } else {
    PUT(p2pc_buf_put_varint(out, 0));
  }
  size_t meta = out->len - start;
  PUT(p2pc_buf_put_varint(out, m->payload_len));
  if (m->payload_len)
    PUT(p2pc_buf_put(out, m->payload, m->payload_len));
  if (meta_bytes)
    *meta_bytes = meta;
  rv = 0;
  goto done;
err:
  out->len = start;
done:
  for (uint32_t i = 0; i < nd; i++)
    map[order[i]] = 0;
  return rv;
}

int p2pc_wire_ses_commit(p2pc_idtab *ids, const p2pc_ses_msg *m) {
  for (uint32_t k = 0; k < m->nnew; k++) {
    uint32_t id;
    int rv = p2pc_idtab_intern(ids, (const char *)m->new_names[k],
                               m->new_lens[k], &id);
    if (rv)
      return rv;
  }
  return 0;
}

int p2pc_wire_ses_get(const uint8_t *b, size_t len, const p2pc_idtab *ids,
                      const p2pc_allocator *a, p2pc_ses_msg *m) {
  p2pc_reader r;
  uint64_t ndict, n, prev, stamp, ndeps, plen;
  uint32_t *local = NULL;
  uint8_t *mark = NULL;
  p2pc_ses_msg tmp;
  int rv = P2PC_ERR_PROTO;

  p2pc_ses_msg_init(&tmp);
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &ndict) || ndict < 2 || ndict > ids->limit ||
      ndict * 2 > p2pc_reader_left(&r))
    return P2PC_ERR_PROTO;
  /* Pass 1: valid names, the others ascending (so no repeats among them),
   * and the two ends distinct from each other and from the rest. */
  size_t dict_off = r.off;
  const uint8_t *prevp = NULL, *ends[2] = {0};
  uint8_t prevl = 0, endl[2] = {0};
  for (uint64_t i = 0; i < ndict; i++) {
    uint8_t l;
    const uint8_t *p;
    if (!p2pc_reader_u8(&r, &l) || !p2pc_reader_bytes(&r, l, &p) ||
        !p2pc_id_valid((const char *)p, l))
      return P2PC_ERR_PROTO;
    if (i < 2) {
      ends[i] = p;
      endl[i] = l;
      continue;
    }
    if (prevp && cmp_name(prevp, prevl, p, l) >= 0)
      return P2PC_ERR_PROTO;
    if (cmp_name(ends[0], endl[0], p, l) == 0 ||
        cmp_name(ends[1], endl[1], p, l) == 0)
      return P2PC_ERR_PROTO;
    prevp = p;
    prevl = l;
  }
  if (cmp_name(ends[0], endl[0], ends[1], endl[1]) == 0)
    return P2PC_ERR_PROTO; /* sender == dest */
  size_t after_dict = r.off;
  if (!p2pc_reader_varint(&r, &n) || !p2pc_reader_varint(&r, &prev) ||
      !p2pc_reader_varint(&r, &stamp) || !p2pc_reader_varint(&r, &ndeps) ||
      n == 0 || prev >= n || stamp == 0 || ndeps > P2PC_SES_MAX_DEPS ||
      ndeps * 5 > p2pc_reader_left(&r))
    return P2PC_ERR_PROTO;

  local = a->realloc(NULL, (size_t)ndict * sizeof *local, a->ud);
  if (!local)
    return P2PC_ERR_NOMEM;
  /* Pass 2: known names get their ids, new ones provisional ids after the
   * table's end; nothing is interned until the caller commits. */
  p2pc_reader_init(&r, b + dict_off, after_dict - dict_off);
  for (uint64_t i = 0; i < ndict; i++) {
    uint8_t l;
    const uint8_t *p;
    p2pc_reader_u8(&r, &l);
    p2pc_reader_bytes(&r, l, &p);
    if (i < 2) {
      *(i == 0 ? &tmp.sender_name : &tmp.dest_name) = (const char *)p;
      *(i == 0 ? &tmp.sender_len : &tmp.dest_len) = l;
    }
    if (p2pc_idtab_find(ids, (const char *)p, l, &local[i]) == 0)
      continue;
    if (!tmp.new_names) {
      tmp.new_names = a->realloc(NULL, ndict * sizeof *tmp.new_names, a->ud);
      tmp.new_lens = a->realloc(NULL, ndict, a->ud);
      if (!tmp.new_names || !tmp.new_lens) {
        rv = P2PC_ERR_NOMEM;
        goto out;
      }
    }
    if (ids->n + (uint64_t)tmp.nnew >= ids->limit) {
      rv = P2PC_ERR_FULL;
      goto out;
    }
    local[i] = ids->n + tmp.nnew;
    tmp.new_names[tmp.nnew] = p;
    tmp.new_lens[tmp.nnew++] = l;
  }
  p2pc_reader_init(&r, b, len);
  r.off = after_dict;
  p2pc_reader_varint(&r, &n);
  p2pc_reader_varint(&r, &prev);
  p2pc_reader_varint(&r, &stamp);
  p2pc_reader_varint(&r, &ndeps);
  if (ndeps) {
    tmp.deps = a->realloc(NULL, (size_t)ndeps * sizeof *tmp.deps, a->ud);
    if (!tmp.deps) {
      rv = P2PC_ERR_NOMEM;
      goto out;
    }
    tmp.capdeps = (uint32_t)ndeps;
  }
  /* Every name past the two ends must be mentioned by some entry: mark[]
   * bit 1 = mentioned, bit 2 = an entry's sender. */
  mark = a->realloc(NULL, (size_t)ndict, a->ud);
  if (!mark) {
    rv = P2PC_ERR_NOMEM;
    goto out;
  }
  memset(mark, 0, (size_t)ndict);
  mark[0] = 3;
  uint64_t d = 0, s = 0;
  rv = P2PC_ERR_PROTO;
  for (uint64_t i = 0; i < ndeps; i++) {
    uint64_t dg, sv, en, sd, hp;
    if (!p2pc_reader_varint(&r, &dg) || !p2pc_reader_varint(&r, &sv) ||
        !p2pc_reader_varint(&r, &en) || !p2pc_reader_varint(&r, &sd) ||
        !p2pc_reader_varint(&r, &hp) || hp > P2PC_SES_MAX_HOPS)
      goto out;
    if (i > 0 && dg == 0) {
      if (sv >= ndict - s - 1)
        goto out;
      s = s + 1 + sv;
    } else {
      if (dg >= ndict - d)
        goto out;
      d += dg;
      s = sv;
    }
    if (s >= ndict || d == 0 || d == s || en == 0 || sd == 0 || sd >= stamp)
      goto out;
    tmp.deps[i] =
        (p2pc_ses_dep){local[d], local[s], en, stamp - sd, (uint32_t)hp};
    tmp.ndeps++;
    mark[d] |= 1;
    mark[s] |= 3;
  }
  /* The dictionary lists exactly the names used. */
  for (uint64_t i = 2; i < ndict; i++)
    if (!mark[i])
      goto out;
  uint64_t nls;
  if (!p2pc_reader_varint(&r, &nls) || nls > ndict)
    goto out;
  if (nls) {
    tmp.ls = a->realloc(NULL, (size_t)nls * sizeof *tmp.ls, a->ud);
    if (!tmp.ls) {
      rv = P2PC_ERR_NOMEM;
      goto out;
    }
    tmp.ls_owned = true;
  }
  for (uint64_t i = 0, idx = 0; i < nls; i++) {
    uint64_t g, dl;
    if (!p2pc_reader_varint(&r, &g) || !p2pc_reader_varint(&r, &dl) ||
        (i && g == 0) || g >= ndict - idx || dl == 0 || dl >= stamp)
      goto out;
    idx += g;
    if (!(mark[idx] & 2))
      goto out;
    tmp.ls[tmp.nls++] = (p2pc_ses_ls){local[idx], stamp - dl};
  }
  const uint8_t *payload;
  if (!p2pc_reader_varint(&r, &plen) || plen != p2pc_reader_left(&r) ||
      !p2pc_reader_bytes(&r, (size_t)plen, &payload))
    goto out;
  /* The encoder sorts by dictionary index; the core wants (dest, sender)
   * in its own ids. */
  if (tmp.ndeps > 1)
    qsort(tmp.deps, tmp.ndeps, sizeof *tmp.deps, cmp_dep);
  tmp.sender = local[0];
  tmp.dest = local[1];
  tmp.n = n;
  tmp.prev = prev;
  tmp.stamp = stamp;
  tmp.payload = payload;
  tmp.payload_len = (size_t)plen;
  p2pc_ses_msg_fini(m, a);
  *m = tmp;
  p2pc_ses_msg_init(&tmp);
  rv = (int)len;
out:
  p2pc_ses_msg_fini(&tmp, a);
  a->free(local, a->ud);
  a->free(mark, a->ud);
  return rv;
}
