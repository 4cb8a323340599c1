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

int p2pc_wire_horizon_put(p2pc_buf *out, uint64_t dseq, uint64_t stamp) {
  if (stamp < dseq)
    return P2PC_ERR_INVAL;
  return put_varint2(out, dseq, stamp);
}

int p2pc_wire_horizon_get(const uint8_t *b, size_t len, uint64_t *dseq,
                          uint64_t *stamp) {
  uint64_t s, e;
  int rv = get_varint2(b, len, &s, &e);
  if (rv > 0 && e < s)
    return P2PC_ERR_PROTO; /* every send ticks the sender's own entry */
  if (rv > 0) {
    *dseq = s;
    *stamp = e;
  }
  return rv;
}

/* ---- STABLE ----------------------------------------------------------- */

static bool stable_valid(const p2pc_wire_stable *s) {
  for (int d = 1; d < P2PC_STABLE_DEPTH; d++)
    if (s->rep.v[d] > s->rep.v[d - 1])
      return false;
  if (s->nexpired > P2PC_WIRE_MAX_EXPIRED)
    return false;
  for (uint32_t i = 0; i < s->nexpired; i++)
    if (s->expired[i] <= (i ? s->expired[i - 1] : 0))
      return false;
  return true;
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
  uint64_t nsteps, level, value, nexp, prev = 0;
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
  for (uint32_t i = 0; i < tmp.nexpired; i++) {
    if (!p2pc_reader_varint(&r, &tmp.expired[i]) || tmp.expired[i] <= prev)
      return P2PC_ERR_PROTO;
    prev = tmp.expired[i];
  }
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

void p2pc_ses_msg_init(p2pc_ses_msg *m) {
  memset(m, 0, sizeof *m);
  p2pc_vclock_init(&m->ts);
}

void p2pc_ses_msg_fini(p2pc_ses_msg *m, const p2pc_allocator *a) {
  a->free(m->new_names, a->ud);
  a->free(m->new_lens, a->ud);
  p2pc_vclock_fini(&m->ts, a);
  for (uint32_t i = 0; i < m->ndeps; i++)
    p2pc_vclock_fini(&m->deps[i].t, a);
  a->free(m->deps, a->ud);
  p2pc_ses_msg_init(m);
}

const p2pc_ses_pair *p2pc_ses_msg_pair(const p2pc_ses_msg *m, uint32_t dest) {
  uint32_t lo = 0, hi = m->ndeps;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (m->deps[mid].dest < dest)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < m->ndeps && m->deps[lo].dest == dest ? &m->deps[lo] : NULL;
}

void p2pc_wire_scratch_fini(p2pc_wire_scratch *s, const p2pc_allocator *a) {
  a->free(s->vec, a->ud);
  a->free(s->map, a->ud);
  a->free(s->order, a->ud);
  memset(s, 0, sizeof *s);
}

typedef struct dict {
  p2pc_wire_scratch *s;
  uint32_t n;
} dict;

static int dict_prepare(dict *d, p2pc_wire_scratch *s, uint32_t nids,
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
    uint32_t *order = a->realloc(s->order, (size_t)nids * sizeof *order, a->ud);
    if (!order)
      return P2PC_ERR_NOMEM;
    s->order = order;
    s->ocap = nids;
  }
  d->s = s;
  d->n = 0;
  return 0;
}

static uint32_t dict_add(dict *d, uint32_t id) {
  if (!d->s->map[id]) {
    d->s->order[d->n] = id;
    d->s->map[id] = ++d->n;
  }
  return d->s->map[id] - 1;
}

static void dict_clear(dict *d) {
  for (uint32_t i = 0; i < d->n; i++)
    d->s->map[d->s->order[i]] = 0;
}

struct ientry {
  uint32_t idx;
  uint64_t v;
};
typedef struct ientry ientry;

static int cmp_ientry(const void *x, const void *y) {
  const ientry *a = x, *b = y;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int cmp_u32(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  return a < b ? -1 : a > b;
}

/*
 * The dictionary lists sender and destination first, then every other ID in
 * ascending local id. Entries taken from a clock (ascending local id) are
 * therefore in ascending dictionary index except for the (at most two)
 * entries with index 0 and 1: moving those to the front sorts the array in
 * O(n), with no comparison sort per vector.
 */
static void front_first_two(ientry *e, uint32_t n) {
  ientry lead[2];
  uint32_t nl = 0, k = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (e[i].idx < 2)
      lead[nl++] = e[i];
    else
      e[k++] = e[i];
  }
  if (!nl)
    return;
  memmove(e + nl, e, k * sizeof *e);
  if (nl == 2 && lead[0].idx > lead[1].idx) {
    ientry x = lead[0];
    lead[0] = lead[1];
    lead[1] = x;
  }
  memcpy(e, lead, nl * sizeof *e);
}

/* Writes count, then (idx delta, value) entries; e must be in ascending
 * dictionary index (see front_first_two). */
static int put_ivec(p2pc_buf *out, const ientry *e, uint32_t n) {
  int rv;
  size_t start = out->len;
  uint32_t prev = 0;
  PUT(p2pc_buf_put_varint(out, n));
  for (uint32_t i = 0; i < n; i++) {
    PUT(p2pc_buf_put_varint(out, e[i].idx - prev));
    PUT(p2pc_buf_put_varint(out, e[i].v));
    prev = e[i].idx;
  }
  return 0;
err:
  out->len = start;
  return rv;
}

/* Size of a pair's vector as absolute values and as differences from ts;
 * the difference form is possible only when t <= ts (always true for a
 * correct SES sender, but we do not rely on it). */
static size_t ivec_size(const ientry *e, uint32_t n) {
  size_t sz = p2pc_varint_len(n);
  for (uint32_t i = 0; i < n; i++)
    sz += 2 + p2pc_varint_len(e[i].v); /* idx delta is ~1 byte */
  return sz;
}

int p2pc_wire_ses_put(p2pc_buf *out, const p2pc_ses_msg *m,
                      const p2pc_idtab *ids, p2pc_wire_scratch *scratch,
                      const p2pc_allocator *a, size_t *meta_bytes) {
  int rv;
  dict d;
  ientry *tmp = NULL, *alt = NULL;
  size_t start = out->len;
  uint32_t maxn = m->ts.n;

  for (uint32_t i = 0; i < m->ndeps; i++)
    if (m->deps[i].t.n > maxn)
      maxn = m->deps[i].t.n;
  if ((rv = dict_prepare(&d, scratch, ids->n, a)) != 0)
    return rv;
  /* Two work vectors, kept in the scratch between messages. */
  if (scratch->vcap < maxn + 1) {
    void *x =
        a->realloc(scratch->vec, 2 * ((size_t)maxn + 1) * sizeof *tmp, a->ud);
    if (!x) {
      rv = P2PC_ERR_NOMEM;
      goto err;
    }
    scratch->vec = x;
    scratch->vcap = maxn + 1;
  }
  tmp = scratch->vec;
  alt = tmp + scratch->vcap;
  /* Dictionary: sender, dest, then every other ID in ascending local id. */
  dict_add(&d, m->sender);
  dict_add(&d, m->dest);
  for (uint32_t i = 0; i < m->ts.n; i++)
    dict_add(&d, m->ts.e[i].id);
  for (uint32_t i = 0; i < m->ndeps; i++) {
    dict_add(&d, m->deps[i].dest);
    for (uint32_t k = 0; k < m->deps[i].t.n; k++)
      dict_add(&d, m->deps[i].t.e[k].id);
  }
  qsort(scratch->order + 2, d.n - 2, sizeof *scratch->order, cmp_u32);
  for (uint32_t i = 2; i < d.n; i++)
    scratch->map[scratch->order[i]] = i + 1;

  PUT(p2pc_buf_put_varint(out, m->n));
  PUT(p2pc_buf_put_varint(out, m->dseq));
  PUT(p2pc_buf_put_varint(out, d.n));
  for (uint32_t i = 0; i < d.n; i++) {
    size_t len;
    const char *nm = p2pc_idtab_name(ids, scratch->order[i], &len);
    PUT(p2pc_buf_put_u8(out, (uint8_t)len));
    PUT(p2pc_buf_put(out, nm, len));
  }
  for (uint32_t i = 0; i < m->ts.n; i++) {
    tmp[i].idx = scratch->map[m->ts.e[i].id] - 1;
    tmp[i].v = m->ts.e[i].v;
  }
  front_first_two(tmp, m->ts.n);
  PUT(put_ivec(out, tmp, m->ts.n));

  /* Pairs in ascending dictionary index of their destination. */
  ientry *order =
      a->realloc(NULL, ((size_t)m->ndeps + 1) * sizeof *order, a->ud);
  if (!order) {
    rv = P2PC_ERR_NOMEM;
    goto err;
  }
  for (uint32_t i = 0; i < m->ndeps; i++) {
    order[i].idx = scratch->map[m->deps[i].dest] - 1;
    order[i].v = i;
  }
  front_first_two(order, m->ndeps); /* deps are sorted by local dest id */
  rv = p2pc_buf_put_varint(out, m->ndeps);
  for (uint32_t i = 0; i < m->ndeps && !rv; i++) {
    const p2pc_vclock *t = &m->deps[order[i].v].t;
    uint32_t na = 0, nd = 0;
    for (uint32_t k = 0; k < t->n; k++) {
      tmp[na].idx = scratch->map[t->e[k].id] - 1;
      tmp[na++].v = t->e[k].v;
    }
    /* Differences from ts, possible only when t <= ts (always so for a
     * correct SES sender; checked rather than assumed). */
    bool delta_ok = p2pc_vclock_leq(t, &m->ts);
    for (uint32_t k = 0, j = 0; k < m->ts.n && delta_ok; k++) {
      uint64_t tv = 0;
      while (j < t->n && t->e[j].id < m->ts.e[k].id)
        j++;
      if (j < t->n && t->e[j].id == m->ts.e[k].id)
        tv = t->e[j].v;
      if (tv < m->ts.e[k].v) {
        alt[nd].idx = scratch->map[m->ts.e[k].id] - 1;
        alt[nd++].v = m->ts.e[k].v - tv;
      }
    }
    front_first_two(tmp, na);
    front_first_two(alt, nd);
    bool use_delta = delta_ok && ivec_size(alt, nd) < ivec_size(tmp, na);
    rv = p2pc_buf_put_varint(out, ((uint64_t)order[i].idx << 1) | use_delta);
    if (!rv)
      rv = use_delta ? put_ivec(out, alt, nd) : put_ivec(out, tmp, na);
  }
  a->free(order, a->ud);
  if (rv)
    goto err;
  size_t meta = out->len - start;
  PUT(p2pc_buf_put_varint(out, m->payload_len));
  PUT(p2pc_buf_put(out, m->payload, m->payload_len));
  if (meta_bytes)
    *meta_bytes = meta;
  dict_clear(&d);
  return 0;
err:
  dict_clear(&d);
  out->len = start;
  return rv;
}

/* Reads an index vector into e[0..*n) (dict indices), checking indices are
 * strictly ascending and below ndict and values non-zero. */
static bool get_ivec(p2pc_reader *r, uint32_t ndict, ientry *e, uint32_t *n) {
  uint64_t count, idx = 0;
  if (!p2pc_reader_varint(r, &count) || count > ndict) {
    r->ok = false;
    return false;
  }
  for (uint64_t i = 0; i < count; i++) {
    uint64_t dlt, v;
    if (!p2pc_reader_varint(r, &dlt) || !p2pc_reader_varint(r, &v) ||
        (i > 0 && dlt == 0) || dlt >= ndict || idx + dlt >= ndict || v == 0) {
      r->ok = false;
      return false;
    }
    idx += dlt;
    e[i].idx = (uint32_t)idx;
    e[i].v = v;
  }
  *n = (uint32_t)count;
  return true;
}

static int cmp_entry_id(const void *x, const void *y) {
  const p2pc_vc_entry *a = x, *b = y;
  return a->id < b->id ? -1 : a->id > b->id;
}

/* Dictionary index -> local id, and the dictionary ranked by local id, so
 * that a dense vector is put in local-id order by one sweep instead of a
 * comparison sort (the sender's and the receiver's id orders differ). */
typedef struct remap {
  const uint32_t *local; /* dict index -> local id */
  uint32_t *rank;        /* dict index -> position in local-id order */
  uint32_t *bylocal;     /* position -> local id */
  uint64_t *slot;        /* position -> value; all zero between uses */
  uint32_t ndict;
} remap;

/* Converts dict-indexed entries to a clock of local ids. */
static int ivec_to_clock(const remap *rm, const ientry *e, uint32_t n,
                         p2pc_vclock *vc, const p2pc_allocator *a) {
  p2pc_vclock_clear(vc);
  if (n == 0)
    return 0;
  p2pc_vc_entry *x = a->realloc(vc->e, (size_t)n * sizeof *x, a->ud);
  if (!x)
    return P2PC_ERR_NOMEM;
  vc->e = x;
  vc->cap = n;
  if ((uint64_t)n * 8 < rm->ndict) {
    /* Sparse: sorting n entries beats sweeping the dictionary. */
    for (uint32_t i = 0; i < n; i++) {
      x[i].id = rm->local[e[i].idx];
      x[i].v = e[i].v;
    }
    qsort(x, n, sizeof *x, cmp_entry_id);
  } else {
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
      rm->slot[rm->rank[e[i].idx]] = e[i].v;
    for (uint32_t pos = 0; pos < rm->ndict && k < n; pos++) {
      if (rm->slot[pos]) {
        x[k].id = rm->bylocal[pos];
        x[k++].v = rm->slot[pos];
        rm->slot[pos] = 0;
      }
    }
  }
  vc->n = n;
  return 0;
}

static int cmp_pair(const void *x, const void *y) {
  const p2pc_ses_pair *a = x, *b = y;
  return a->dest < b->dest ? -1 : a->dest > b->dest;
}

typedef struct newname {
  const uint8_t *p;
  uint8_t len;
} newname;

static int cmp_newname(const void *x, const void *y) {
  const newname *a = x, *b = y;
  if (a->len != b->len)
    return a->len < b->len ? -1 : 1;
  return memcmp(a->p, b->p, a->len);
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
  uint64_t n, dseq, ndict, npairs, plen;
  const uint8_t *names[2] = {0};
  uint8_t nlen[2] = {0};
  uint32_t *local = NULL;
  ientry *ts = NULL, *e = NULL;
  void *work = NULL;
  remap rm = {0};
  p2pc_ses_msg tmp;
  int rv = P2PC_ERR_PROTO;

  p2pc_ses_msg_init(&tmp);
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &n) || !p2pc_reader_varint(&r, &dseq) ||
      !p2pc_reader_varint(&r, &ndict) || n == 0 || dseq == 0 || ndict < 2 ||
      ndict > ids->limit || ndict * 2 > p2pc_reader_left(&r))
    return P2PC_ERR_PROTO;

  /* Pass 1: the dictionary must be valid and free of repeats before
   * anything is interned (a repeat would alias two indices). */
  size_t dict_off = r.off;
  for (uint64_t i = 0; i < ndict; i++) {
    uint8_t l;
    const uint8_t *p;
    if (!p2pc_reader_u8(&r, &l) || !p2pc_reader_bytes(&r, l, &p) ||
        !p2pc_id_valid((const char *)p, l))
      return P2PC_ERR_PROTO;
    if (i < 2) {
      names[i] = p;
      nlen[i] = l;
    }
  }
  if (nlen[0] == nlen[1] && memcmp(names[0], names[1], nlen[0]) == 0)
    return P2PC_ERR_PROTO; /* sender == dest */
  size_t after_dict = r.off;

  /* The six work arrays in one block (one allocation per message, not
   * six): 8-byte members first, so every array stays aligned. */
  size_t nd = (size_t)ndict;
  work = a->realloc(
      NULL, nd * (2 * sizeof(ientry) + sizeof(uint64_t) + 3 * sizeof(uint32_t)),
      a->ud);
  if (work) {
    ts = (ientry *)work;
    e = ts + nd;
    rm.slot = (uint64_t *)(e + nd);
    local = (uint32_t *)(rm.slot + nd);
    rm.rank = local + nd;
    rm.bylocal = rm.rank + nd;
  }
  if (!work) {
    rv = P2PC_ERR_NOMEM;
    goto out;
  }
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
  /* Two new names alike would get two provisional ids: look for them. */
  if (tmp.nnew > 1) {
    newname *nn = a->realloc(NULL, tmp.nnew * sizeof *nn, a->ud);
    if (!nn) {
      rv = P2PC_ERR_NOMEM;
      goto out;
    }
    for (uint32_t k = 0; k < tmp.nnew; k++)
      nn[k] = (newname){tmp.new_names[k], tmp.new_lens[k]};
    qsort(nn, tmp.nnew, sizeof *nn, cmp_newname);
    bool twice = false;
    for (uint32_t k = 1; k < tmp.nnew; k++)
      twice |= cmp_newname(&nn[k - 1], &nn[k]) == 0;
    a->free(nn, a->ud);
    if (twice) {
      rv = P2PC_ERR_PROTO;
      goto out;
    }
  }
  /* Rank the dictionary by local id (ts is free as the work area here); a
   * name listed twice would alias two indices and shows up as neighbours. */
  for (uint64_t i = 0; i < ndict; i++)
    ts[i] = (ientry){local[i], i};
  qsort(ts, ndict, sizeof *ts, cmp_ientry);
  for (uint64_t i = 0; i < ndict; i++) {
    if (i > 0 && ts[i].idx == ts[i - 1].idx) {
      rv = P2PC_ERR_PROTO;
      goto out;
    }
    rm.bylocal[i] = ts[i].idx;
    rm.rank[ts[i].v] = (uint32_t)i;
  }
  memset(rm.slot, 0, (size_t)ndict * sizeof *rm.slot);
  rm.local = local;
  rm.ndict = (uint32_t)ndict;
  rv = P2PC_ERR_PROTO;
  p2pc_reader_init(&r, b, len);
  r.off = after_dict;

  uint32_t nts;
  if (!get_ivec(&r, (uint32_t)ndict, ts, &nts) || nts == 0)
    goto out;
  if ((rv = ivec_to_clock(&rm, ts, nts, &tmp.ts, a)) != 0)
    goto out;
  rv = P2PC_ERR_PROTO;
  /* The send ticked the sender's entry, so it is at least n. */
  if (p2pc_vclock_get(&tmp.ts, local[0]) < n)
    goto out;

  if (!p2pc_reader_varint(&r, &npairs) || npairs > ndict - 1)
    goto out;
  if (npairs) {
    tmp.deps = a->realloc(NULL, (size_t)npairs * sizeof *tmp.deps, a->ud);
    if (!tmp.deps) {
      rv = P2PC_ERR_NOMEM;
      goto out;
    }
    tmp.capdeps = (uint32_t)npairs;
  }
  uint64_t prev_dest = 0;
  for (uint64_t i = 0; i < npairs; i++) {
    uint64_t hdr;
    uint32_t ne;
    if (!p2pc_reader_varint(&r, &hdr))
      goto out;
    uint64_t di = hdr >> 1;
    bool delta = hdr & 1;
    /* Ascending, not the sender (V never holds a pair about its owner). */
    if (di >= ndict || di == 0 || (i > 0 && di <= prev_dest))
      goto out;
    prev_dest = di;
    p2pc_vclock_init(&tmp.deps[i].t);
    if (!get_ivec(&r, (uint32_t)ndict, e, &ne))
      goto out;
    if (delta) {
      /* Entries are ts[idx] - value; absent entries equal ts. Every idx
       * must be in ts and the value at most ts there. */
      uint32_t k = 0, out_n = 0;
      ientry *full = a->realloc(NULL, ((size_t)nts + 1) * sizeof *full, a->ud);
      if (!full) {
        rv = P2PC_ERR_NOMEM;
        goto out;
      }
      bool bad = false;
      for (uint32_t j = 0; j < nts; j++) {
        uint64_t v = ts[j].v;
        if (k < ne && e[k].idx == ts[j].idx) {
          if (e[k].v > v)
            bad = true;
          v -= e[k].v;
          k++;
        } else if (k < ne && e[k].idx < ts[j].idx) {
          bad = true; /* an index that ts lacks */
        }
        if (v)
          full[out_n++] = (ientry){ts[j].idx, v};
      }
      if (k != ne)
        bad = true;
      if (!bad)
        rv = ivec_to_clock(&rm, full, out_n, &tmp.deps[i].t, a);
      a->free(full, a->ud);
      if (bad || rv) {
        if (!rv || bad)
          rv = P2PC_ERR_PROTO;
        p2pc_vclock_fini(&tmp.deps[i].t, a);
        goto out;
      }
    } else {
      if ((rv = ivec_to_clock(&rm, e, ne, &tmp.deps[i].t, a)) != 0) {
        p2pc_vclock_fini(&tmp.deps[i].t, a);
        goto out;
      }
    }
    rv = P2PC_ERR_PROTO;
    tmp.deps[i].dest = local[di];
    tmp.ndeps++;
  }
  const uint8_t *payload;
  if (!p2pc_reader_varint(&r, &plen) || plen != p2pc_reader_left(&r) ||
      !p2pc_reader_bytes(&r, (size_t)plen, &payload))
    goto out;
  if (tmp.ndeps) /* qsort(NULL, 0, ...) is undefined behaviour */
    qsort(tmp.deps, tmp.ndeps, sizeof *tmp.deps, cmp_pair);
  tmp.sender = local[0];
  tmp.dest = local[1];
  tmp.n = n;
  tmp.dseq = dseq;
  tmp.payload = payload;
  tmp.payload_len = (size_t)plen;
  p2pc_ses_msg_fini(m, a);
  *m = tmp;
  p2pc_ses_msg_init(&tmp);
  rv = (int)len;
out:
  p2pc_ses_msg_fini(&tmp, a);
  a->free(work, a->ud);
  return rv;
}
