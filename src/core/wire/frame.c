/* SPDX-License-Identifier: MIT */
/*
 * The frame codec (frame.h, docs/PROTOCOL.md): the frame header and the
 * link frames (HELLO, ERROR, ACK, PING/PONG, ANNOUNCE, PEERS, LEAVE,
 * STABLE, SHUFFLE, SHUFFLE_REPLY). The SES message a DATA frame carries is
 * sescodec.c's. Every decoder validates the whole body before writing any
 * output, and every encoding is canonical (minimal varints, sorted entries, no
 * trailing bytes), so a decoder accepts exactly the bytes its encoder produces:
 * the fuzzers check the round trip.
 */
#include "frame.h"

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

int p2pc_wire_id_put(p2pc_buf *out, const char *id) {
  size_t n = strnlen(id, P2PC_NODE_ID_MAX + 1);
  if (!p2pc_node_id_valid(id, n))
    return P2PC_ERR_INVAL;
  int rv = p2pc_buf_put_u8(out, (uint8_t)n);
  return rv ? rv : p2pc_buf_put(out, id, n);
}

bool p2pc_wire_id_get(p2pc_reader *r, char *dst) {
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
  PUT(p2pc_wire_id_put(out, h->id));
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
  if (tmp.flags & ~(P2PC_HELLO_JOIN | P2PC_HELLO_FRESH | P2PC_HELLO_ON_DEMAND))
    return P2PC_ERR_PROTO;
  p2pc_wire_id_get(&r, tmp.id);
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
    PUT(p2pc_wire_id_put(out, a->ref));
  } else {
    PUT(p2pc_buf_put_u8(out, 0));
  }
  PUT(p2pc_buf_put_u8(out, a->ref_priority));
  PUT(p2pc_buf_put_u8(out, a->ref_class));
  PUT(p2pc_buf_put_varint(out, a->ref_seq));
  PUT(p2pc_buf_put_u8(out, a->hops));
  PUT(p2pc_buf_put_u8(out, a->tier));
  if (a->nhints > P2PC_ANNOUNCE_HINTS ||
      (a->nhints && (a->flags & P2PC_ANNOUNCE_SAME_HINTS))) {
    rv = P2PC_ERR_INVAL;
    goto err;
  }
  PUT(p2pc_buf_put_u8(out, a->nhints));
  for (uint8_t i = 0; i < a->nhints; i++) {
    const p2pc_wire_tier_hint *h = &a->hints[i];
    if (h->flags & ~P2PC_HINT_FULL) {
      rv = P2PC_ERR_INVAL;
      goto err;
    }
    PUT(p2pc_wire_record_put(out, &h->rec));
    PUT(p2pc_buf_put_u8(out, h->tier));
    PUT(p2pc_buf_put_u8(out, h->flags));
  }
  if (a->claim_len && a->claim_len != P2PC_CLAIM_LEN) {
    rv = P2PC_ERR_INVAL;
    goto err;
  }
  if (a->claim_len) {
    PUT(p2pc_buf_put_u8(out, a->claim_len));
    PUT(p2pc_buf_put(out, a->claim, a->claim_len));
  }
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
    p2pc_wire_id_get(&r, v.ref);
  v.hops = 0;
  p2pc_reader_u8(&r, &v.ref_priority);
  p2pc_reader_u8(&r, &v.ref_class);
  p2pc_reader_varint(&r, &v.ref_seq);
  p2pc_reader_u8(&r, &v.hops);
  p2pc_reader_u8(&r, &v.tier);
  p2pc_reader_u8(&r, &v.nhints);
  if (r.ok && v.nhints > P2PC_ANNOUNCE_HINTS)
    return P2PC_ERR_PROTO;
  for (uint8_t i = 0; r.ok && i < v.nhints; i++) {
    p2pc_wire_tier_hint *h = &v.hints[i];
    p2pc_wire_record_get(&r, &h->rec);
    p2pc_reader_u8(&r, &h->tier);
    p2pc_reader_u8(&r, &h->flags);
    if (r.ok && (h->flags & ~P2PC_HINT_FULL))
      return P2PC_ERR_PROTO;
  }
  /* the claim, if the frame goes on: its length is the only one there is
   * (a 0 would be the encoding of no claim, which is no byte at all) */
  if (r.ok && p2pc_reader_left(&r) > 0) {
    p2pc_reader_u8(&r, &v.claim_len);
    if (v.claim_len != P2PC_CLAIM_LEN)
      return P2PC_ERR_PROTO;
    const uint8_t *c = NULL;
    if (p2pc_reader_bytes(&r, v.claim_len, &c))
      memcpy(v.claim, c, v.claim_len);
  }
  if (r.ok && (v.mode > 1 ||
               (v.flags & ~(P2PC_ANNOUNCE_SYNCED | P2PC_ANNOUNCE_REF_ACTIVE |
                            P2PC_ANNOUNCE_FULL | P2PC_ANNOUNCE_SAME_HINTS)) ||
               (v.nhints && (v.flags & P2PC_ANNOUNCE_SAME_HINTS))))
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
  for (size_t i = 0; i < n; i++)
    PUT(p2pc_wire_record_put(out, &peers[i]));
  return 0;
err:
  out->len = start;
  return rv;
}

int p2pc_wire_record_put(p2pc_buf *out, const p2pc_wire_record *rec) {
  int rv;
  size_t start = out->len;
  if (rec->sig_len > P2PC_WIRE_SIG_MAX)
    return P2PC_ERR_INVAL;
  PUT(p2pc_wire_id_put(out, rec->id));
  PUT(p2pc_buf_put_be64(out, rec->incarnation));
  PUT(put_addr(out, &rec->addr));
  PUT(p2pc_buf_put_be16(out, rec->time_port));
  PUT(p2pc_buf_put_varint(out, rec->sig_len));
  PUT(p2pc_buf_put(out, rec->sig, rec->sig_len));
  return 0;
err:
  out->len = start;
  return rv;
}

/* Version 3 carries no signature yet: a non-empty one is malformed, so
 * that when signatures come, an old node cannot mistake one for nothing. */
bool p2pc_wire_record_get(p2pc_reader *r, p2pc_wire_record *rec) {
  uint64_t sl = 0;
  p2pc_wire_id_get(r, rec->id);
  p2pc_reader_be64(r, &rec->incarnation);
  get_addr(r, &rec->addr);
  p2pc_reader_be16(r, &rec->time_port);
  if (!p2pc_reader_varint(r, &sl) || sl != 0)
    r->ok = false;
  rec->sig_len = 0;
  return r->ok;
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

int p2pc_wire_stable_rep_encode(p2pc_wire_stable_rep *r,
                                const p2pc_stable_report *rep) {
  const uint64_t *v = rep->v;
  r->len = 0;
  for (int d = 1; d < P2PC_STABLE_DEPTH; d++)
    if (v[d] > v[d - 1])
      return P2PC_ERR_INVAL;
  uint8_t nsteps = 1;
  for (int d = 1; d < P2PC_STABLE_DEPTH; d++)
    nsteps += v[d] != v[d - 1];
  _Static_assert(P2PC_STABLE_DEPTH < 0x80, "nsteps and gaps take one byte");
  uint8_t *p = r->b;
  *p++ = nsteps;
  *p++ = 0;
  p += p2pc_varint_encode(p, v[0]);
  for (int d = 1, last = 0; d < P2PC_STABLE_DEPTH; d++) {
    if (v[d] == v[d - 1])
      continue;
    *p++ = (uint8_t)(d - last);
    p += p2pc_varint_encode(p, v[d - 1] - v[d]);
    last = d;
  }
  r->len = (size_t)(p - r->b);
  return 0;
}

int p2pc_wire_stable_put_rep(p2pc_buf *out, uint64_t delivered,
                             const p2pc_wire_stable_rep *r,
                             const uint64_t *expired, uint32_t nexpired) {
  int rv;
  size_t start = out->len;
  if (!r->len || !ranges_valid(expired, nexpired))
    return P2PC_ERR_INVAL;
  PUT(p2pc_buf_put_varint(out, delivered));
  PUT(p2pc_buf_put(out, r->b, r->len));
  PUT(p2pc_buf_put_varint(out, nexpired));
  for (uint32_t i = 0; i < nexpired; i++)
    PUT(p2pc_buf_put_varint(out, expired[i]));
  return 0;
err:
  out->len = start;
  return rv;
}

int p2pc_wire_stable_put(p2pc_buf *out, const p2pc_wire_stable *s) {
  p2pc_wire_stable_rep r;
  if (p2pc_wire_stable_rep_encode(&r, &s->rep) != 0)
    return P2PC_ERR_INVAL;
  return p2pc_wire_stable_put_rep(out, s->delivered, &r, s->expired,
                                  s->nexpired);
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
    if (!p2pc_wire_record_get(&r, &tmp))
      break;
  }
  int rv = finish(&r);
  if (rv < 0)
    return rv;
  p2pc_reader_init(&r, b + body, len - body);
  for (uint64_t i = 0; i < count; i++)
    (void)p2pc_wire_record_get(&r, &peers[i]);
  *n = (size_t)count;
  return rv;
}

/* ---- SHUFFLE, SHUFFLE_REPLY ------------------------------------------- */

static int put_records(p2pc_buf *out, const p2pc_wire_record *recs, size_t n) {
  int rv;
  size_t start = out->len;
  if (n > P2PC_WIRE_MAX_SHUFFLE)
    return P2PC_ERR_TOOBIG;
  PUT(p2pc_buf_put_varint(out, n));
  for (size_t i = 0; i < n; i++)
    PUT(p2pc_wire_record_put(out, &recs[i]));
  return 0;
err:
  out->len = start;
  return rv;
}

/* The records from r to the end of the body, into tmp; count and the
 * reader's state say whether they were well formed. */
static bool get_records(p2pc_reader *r, p2pc_wire_record *tmp, size_t *n) {
  uint64_t count;
  if (!p2pc_reader_varint(r, &count) || count > P2PC_WIRE_MAX_SHUFFLE) {
    r->ok = false;
    return false;
  }
  for (uint64_t i = 0; i < count; i++)
    if (!p2pc_wire_record_get(r, &tmp[i]))
      return false;
  *n = (size_t)count;
  return r->ok;
}

int p2pc_wire_shuffle_put(p2pc_buf *out, uint8_t ttl,
                          const p2pc_wire_record *recs, size_t n) {
  size_t start = out->len;
  if (n > P2PC_WIRE_MAX_SHUFFLE)
    return P2PC_ERR_TOOBIG;
  int rv = p2pc_buf_put_u8(out, ttl);
  if (!rv)
    rv = put_records(out, recs, n);
  if (rv)
    out->len = start;
  return rv;
}

int p2pc_wire_shuffle_get(const uint8_t *b, size_t len, uint8_t *ttl,
                          p2pc_wire_record *recs, size_t *n) {
  p2pc_reader r;
  p2pc_wire_record tmp[P2PC_WIRE_MAX_SHUFFLE];
  uint8_t t = 0;
  size_t k = 0;
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_u8(&r, &t) || !get_records(&r, tmp, &k))
    return P2PC_ERR_PROTO;
  int rv = finish(&r);
  if (rv > 0) {
    *ttl = t;
    memcpy(recs, tmp, k * sizeof *tmp);
    *n = k;
  }
  return rv;
}

int p2pc_wire_shuffle_reply_put(p2pc_buf *out, const p2pc_wire_record *recs,
                                size_t n) {
  return put_records(out, recs, n);
}

int p2pc_wire_shuffle_reply_get(const uint8_t *b, size_t len,
                                p2pc_wire_record *recs, size_t *n) {
  p2pc_reader r;
  p2pc_wire_record tmp[P2PC_WIRE_MAX_SHUFFLE];
  size_t k = 0;
  p2pc_reader_init(&r, b, len);
  if (!get_records(&r, tmp, &k))
    return P2PC_ERR_PROTO;
  int rv = finish(&r);
  if (rv > 0) {
    memcpy(recs, tmp, k * sizeof *tmp);
    *n = k;
  }
  return rv;
}
