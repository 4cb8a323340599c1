/* SPDX-License-Identifier: MIT */
/*
 * NTP packets, p2pclock's extension field and the on-wire maths (ntp.h).
 * Everything here is plain integer arithmetic on values from the network or
 * the caller, so every function is total: no input, however absurd, may
 * overflow a signed type (UBSan runs on the fuzzer). Conversions between
 * signed and unsigned go through helpers whose result the standard defines.
 */
#include "ntp.h"

#include "buf.h"

#include <string.h>

#define NS_PER_S 1000000000
#define ERA_SECONDS ((int64_t)1 << 32)
/* The fixed part of our field: type, length, magic, version, kind, flags. */
#define EXT_FIXED 12

static const uint8_t ext_magic[4] = {'p', '2', 'p', 'c'};

/* ---- integer helpers ----------------------------------------------------- */

/* The int64 whose two's complement is v (the plain cast is implementation
 * defined for v > INT64_MAX). */
static int64_t i64_from_u64(uint64_t v) {
  if (v <= (uint64_t)INT64_MAX)
    return (int64_t)v;
  return -(int64_t)~v - 1;
}

static int8_t i8_from_u8(uint8_t v) {
  return v < 128 ? (int8_t)v : (int8_t)((int)v - 256);
}

/* Floor division and the matching non-negative remainder, for d > 0. */
static int64_t floor_div(int64_t n, int64_t d, int64_t *rem) {
  int64_t q = n / d, r = n % d;
  if (r < 0) {
    q--;
    r += d;
  }
  if (rem)
    *rem = r;
  return q;
}

/* s * 1e9 + ns, saturating at the int64 range (ns in 0..1e9). */
static int64_t join_ns(int64_t s, int64_t ns) {
  const int64_t max_s = INT64_MAX / NS_PER_S; /* 9223372036 */
  const int64_t min_s = INT64_MIN / NS_PER_S; /* -9223372036 */
  if (s > max_s || (s == max_s && ns > INT64_MAX - max_s * NS_PER_S))
    return INT64_MAX;
  if (s >= min_s)
    return s * NS_PER_S + ns;
  /* s < min_s: only s == min_s - 1 with a large enough ns fits. */
  if (s < min_s - 1 || ns - NS_PER_S < INT64_MIN - min_s * NS_PER_S)
    return INT64_MIN;
  return min_s * NS_PER_S + (ns - NS_PER_S);
}

/* A 128-bit two's complement value, so the on-wire sums cannot overflow
 * (no __int128: the core stays plain C11). */
typedef struct wide {
  uint64_t hi, lo;
} wide;

static wide wide_from(int64_t v) {
  wide w = {v < 0 ? UINT64_MAX : 0, (uint64_t)v};
  return w;
}

static wide wide_add(wide a, wide b) {
  wide r;
  r.lo = a.lo + b.lo;
  r.hi = a.hi + b.hi + (r.lo < a.lo);
  return r;
}

static wide wide_sub(wide a, wide b) {
  wide nb = {~b.hi, ~b.lo};
  return wide_add(a, wide_add(nb, wide_from(1)));
}

/* a / 2, truncated toward zero like C's integer division. */
static wide wide_half(wide a) {
  if (a.hi >> 63)
    a = wide_add(a, wide_from(1));
  wide r = {(a.hi >> 1) | (a.hi & (UINT64_C(1) << 63)),
            (a.lo >> 1) | (a.hi << 63)};
  return r;
}

static int64_t wide_to_i64(wide a) {
  if (a.hi == 0 && a.lo <= (uint64_t)INT64_MAX)
    return (int64_t)a.lo;
  if (a.hi == UINT64_MAX && a.lo > (uint64_t)INT64_MAX)
    return i64_from_u64(a.lo);
  return a.hi >> 63 ? INT64_MIN : INT64_MAX;
}

/* ---- timestamps ---------------------------------------------------------- */

uint64_t p2pc_ntp_ts_from_ns(int64_t unix_ns) {
  int64_t r;
  int64_t s = floor_div(unix_ns, NS_PER_S, &r);
  /* r < 2^30, so r * 2^32 < 2^62; the sum cannot reach 2^32 (r <= 1e9-1). */
  uint64_t frac = ((uint64_t)r * ERA_SECONDS + NS_PER_S / 2) / NS_PER_S;
  /* s is within ±9.3e9, so adding the epoch offset cannot overflow; the
   * era is dropped by taking the seconds modulo 2^32. */
  uint64_t sec = (uint64_t)(s + (int64_t)P2PC_NTP_UNIX_OFFSET) & 0xffffffffu;
  return (sec << 32) + frac;
}

int64_t p2pc_ntp_ts_to_ns(uint64_t ts, int64_t pivot_ns) {
  int64_t base_s = (int64_t)(ts >> 32) - (int64_t)P2PC_NTP_UNIX_OFFSET;
  int64_t frac_ns =
      (int64_t)(((ts & 0xffffffffu) * NS_PER_S + ERA_SECONDS / 2) >> 32);
  int64_t pivot_s = floor_div(pivot_ns, NS_PER_S, NULL);
  /* The era that lands nearest the pivot: |d| < 2^34, no overflow. */
  int64_t era =
      floor_div(pivot_s - base_s + ERA_SECONDS / 2, ERA_SECONDS, NULL);
  return join_ns(base_s + era * ERA_SECONDS, frac_ns);
}

uint32_t p2pc_ntp_short_from_ns(int64_t ns) {
  if (ns <= 0)
    return 0;
  /* 65536 s is past the largest short value. */
  if (ns >= (int64_t)65536 * NS_PER_S)
    return UINT32_MAX;
  /* Rounded up: these fields carry error bounds, which must not shrink. */
  uint64_t q = ((uint64_t)ns * 65536 + NS_PER_S - 1) / NS_PER_S;
  return q > UINT32_MAX ? UINT32_MAX : (uint32_t)q;
}

int64_t p2pc_ntp_short_to_ns(uint32_t s) {
  /* Rounded down, so short_from_ns(short_to_ns(s)) == s. */
  return (int64_t)(((uint64_t)s * NS_PER_S) >> 16);
}

int8_t p2pc_ntp_log2_from_ns(int64_t ns) {
  if (ns <= 0)
    return -32;
  if (ns <= NS_PER_S) {
    /* The largest m with ns * 2^m <= 1 s gives k = -m; ns * 2^32 < 2^62. */
    int m = 32;
    while (m > 0 && ((uint64_t)ns << m) > (uint64_t)NS_PER_S)
      m--;
    return (int8_t)-m;
  }
  int k = 1;
  while (k < 31 && ((uint64_t)NS_PER_S << k) < (uint64_t)ns)
    k++;
  return (int8_t)k;
}

/* ---- packets ------------------------------------------------------------- */

void p2pc_ntp_header_put(uint8_t out[P2PC_NTP_HEADER_LEN],
                         const p2pc_ntp_header *h) {
  out[0] = (uint8_t)(((h->li & 3u) << 6) | ((h->version & 7u) << 3) |
                     (h->mode & 7u));
  out[1] = h->stratum;
  out[2] = (uint8_t)h->poll;
  out[3] = (uint8_t)h->precision;
  p2pc_be32_write(out + 4, h->root_delay);
  p2pc_be32_write(out + 8, h->root_disp);
  p2pc_be32_write(out + 12, h->refid);
  p2pc_be64_write(out + 16, h->ref);
  p2pc_be64_write(out + 24, h->org);
  p2pc_be64_write(out + 32, h->rec);
  p2pc_be64_write(out + P2PC_NTP_XMT_OFFSET, h->xmt);
}

static void get_header(const uint8_t *b, p2pc_ntp_header *h) {
  h->li = b[0] >> 6;
  h->version = (b[0] >> 3) & 7u;
  h->mode = b[0] & 7u;
  h->stratum = b[1];
  h->poll = i8_from_u8(b[2]);
  h->precision = i8_from_u8(b[3]);
  h->root_delay = p2pc_be32_read(b + 4);
  h->root_disp = p2pc_be32_read(b + 8);
  h->refid = p2pc_be32_read(b + 12);
  h->ref = p2pc_be64_read(b + 16);
  h->org = p2pc_be64_read(b + 24);
  h->rec = p2pc_be64_read(b + 32);
  h->xmt = p2pc_be64_read(b + P2PC_NTP_XMT_OFFSET);
}

/* Sets *len to the length of the NUL-terminated ID in id; false if it is
 * not terminated within the array or not a valid ID ("" is valid only if
 * may_be_empty). */
static bool id_length(const char id[P2PC_NODE_ID_MAX + 1], bool may_be_empty,
                      size_t *len) {
  const char *nul = memchr(id, 0, P2PC_NODE_ID_MAX + 1);
  if (!nul)
    return false;
  *len = (size_t)(nul - id);
  return (may_be_empty && *len == 0) || p2pc_node_id_valid(id, *len);
}

int p2pc_ntp_ext_put(uint8_t out[P2PC_NTP_EXT_LEN], const p2pc_ntp_ext *e) {
  return p2pc_ntp_ext_put_len(out, P2PC_NTP_EXT_LEN, e);
}

int p2pc_ntp_ext_put_len(uint8_t *out, size_t len, const p2pc_ntp_ext *e) {
  size_t id_len, ref_len = 0;
  bool reply = e->kind == P2PC_NTP_EXT_REPLY;
  if (e->kind != P2PC_NTP_EXT_REQUEST && !reply)
    return P2PC_ERR_INVAL;
  if (!id_length(e->id, false, &id_len) ||
      (reply && !id_length(e->ref_id, true, &ref_len)) || len % 4 || len < 28 ||
      len > P2PC_NTP_EXT_LEN)
    return P2PC_ERR_INVAL;
  if (EXT_FIXED + 1 + id_len + (reply ? 48 + 1 + ref_len + 1 : 0) > len)
    return P2PC_ERR_TOOBIG;

  memset(out, 0, len);
  p2pc_be16_write(out, P2PC_NTP_EXT_TYPE);
  p2pc_be16_write(out + 2, (uint16_t)len);
  memcpy(out + 4, ext_magic, sizeof ext_magic);
  out[8] = P2PC_NTP_EXT_VERSION;
  out[9] = e->kind;
  p2pc_be16_write(out + 10, e->flags);
  uint8_t *p = out + EXT_FIXED;
  *p++ = (uint8_t)id_len;
  memcpy(p, e->id, id_len);
  p += id_len;
  if (reply) {
    /* 12 + 65 + 48 + 65 + 1 = 191 bytes at most: fits in 196 (checked
     * above for a shorter field). */
    p2pc_be64_write(p, (uint64_t)e->rx_local);
    p2pc_be64_write(p + 8, (uint64_t)e->tx_corr);
    p2pc_be64_write(p + 16, (uint64_t)e->freq_ppb);
    p2pc_be64_write(p + 24, e->prev_cookie);
    p2pc_be64_write(p + 32, (uint64_t)e->prev_tx_local);
    p2pc_be64_write(p + 40, (uint64_t)e->root_dist_ns);
    p += 48;
    *p++ = (uint8_t)ref_len;
    memcpy(p, e->ref_id, ref_len);
    p += ref_len;
    *p = e->hops;
  }
  return (int)len;
}

/* Reads an ID of 0 (if may_be_empty) or 1..64 valid characters into dst,
 * NUL-terminated, or fails the reader. */
static bool get_id(p2pc_reader *r, char dst[P2PC_NODE_ID_MAX + 1],
                   bool may_be_empty) {
  uint8_t n;
  const uint8_t *p;
  if (!p2pc_reader_u8(r, &n) || !p2pc_reader_bytes(r, n, &p) ||
      !((may_be_empty && n == 0) || p2pc_node_id_valid((const char *)p, n))) {
    r->ok = false;
    return false;
  }
  memcpy(dst, p, n);
  dst[n] = '\0';
  return true;
}

static bool get_i64(p2pc_reader *r, int64_t *v) {
  uint64_t u;
  if (!p2pc_reader_be64(r, &u))
    return false;
  *v = i64_from_u64(u);
  return true;
}

/* Decodes the p2pclock field f[0..len) (type and length already checked).
 * Any field length that holds the content is accepted and the padding is
 * not inspected, so a later, longer layout of version 1 still decodes. */
static bool get_ext(const uint8_t *f, size_t len, p2pc_ntp_ext *e) {
  p2pc_reader r;
  const uint8_t *magic;
  uint8_t version;
  memset(e, 0, sizeof *e);
  p2pc_reader_init(&r, f + 4, len - 4);
  if (!p2pc_reader_bytes(&r, sizeof ext_magic, &magic) ||
      memcmp(magic, ext_magic, sizeof ext_magic) != 0 ||
      !p2pc_reader_u8(&r, &version) || version != P2PC_NTP_EXT_VERSION ||
      !p2pc_reader_u8(&r, &e->kind) || !p2pc_reader_be16(&r, &e->flags) ||
      !get_id(&r, e->id, false))
    return false;
  if (e->kind == P2PC_NTP_EXT_REQUEST)
    return true; /* the rest is padding */
  if (e->kind != P2PC_NTP_EXT_REPLY)
    return false;
  get_i64(&r, &e->rx_local);
  get_i64(&r, &e->tx_corr);
  get_i64(&r, &e->freq_ppb);
  p2pc_reader_be64(&r, &e->prev_cookie);
  get_i64(&r, &e->prev_tx_local);
  get_i64(&r, &e->root_dist_ns);
  get_id(&r, e->ref_id, true);
  p2pc_reader_u8(&r, &e->hops);
  return r.ok;
}

/* The longest trailer taken for a legacy MAC rather than an extension field
 * (RFC 7822 §7.5: key id + a 128- or 160-bit digest). */
#define MAC_MAX 24
#define MAC_MIN 4
#define EXT_MIN 16

int p2pc_ntp_decode(const uint8_t *b, size_t len, p2pc_ntp_header *h,
                    p2pc_ntp_ext *e, bool *has_ext) {
  p2pc_ntp_trailer t;
  return p2pc_ntp_decode_full(b, len, h, e, has_ext, &t);
}

int p2pc_ntp_decode_full(const uint8_t *b, size_t len, p2pc_ntp_header *h,
                         p2pc_ntp_ext *e, bool *has_ext, p2pc_ntp_trailer *t) {
  p2pc_ntp_header hh;
  p2pc_ntp_ext ee;
  p2pc_ntp_trailer tt = {0};
  bool found = false;
  if (len < P2PC_NTP_HEADER_LEN)
    return P2PC_ERR_PROTO;
  get_header(b, &hh);
  if (hh.version != 3 && hh.version != 4)
    return P2PC_ERR_PROTO;

  /* Fields until only a MAC (or nothing) can remain: a field is at least
   * 16 bytes, so a longer trailer must start with one. */
  size_t off = P2PC_NTP_HEADER_LEN;
  while (len - off > MAC_MAX) {
    uint16_t type = p2pc_be16_read(b + off);
    size_t flen = p2pc_be16_read(b + off + 2);
    if (flen < EXT_MIN || flen % 4 != 0 || flen > len - off)
      return P2PC_ERR_PROTO;
    if (type == P2PC_NTP_EXT_TYPE) {
      /* Two of ours would be ambiguous. */
      if (found || !get_ext(b + off, flen, &ee))
        return P2PC_ERR_PROTO;
      found = true;
    } else {
      tt.fields++; /* NTS's among others (RFC 8915 §5.7) */
    }
    off += flen;
  }
  if (len - off != 0 && len - off < MAC_MIN)
    return P2PC_ERR_PROTO;
  tt.mac_len = (uint8_t)(len - off);

  memcpy(h, &hh, sizeof hh);
  if (found)
    memcpy(e, &ee, sizeof ee);
  *has_ext = found;
  *t = tt;
  return 0;
}

/* ---- on-wire maths ------------------------------------------------------- */

void p2pc_ntp_offset_delay(int64_t t1, int64_t t2, int64_t t3, int64_t t4,
                           int64_t precision_ns, int64_t *offset,
                           int64_t *delay) {
  wide w1 = wide_from(t1), w2 = wide_from(t2);
  wide w3 = wide_from(t3), w4 = wide_from(t4);
  *offset =
      wide_to_i64(wide_half(wide_add(wide_sub(w2, w1), wide_sub(w3, w4))));
  int64_t d = wide_to_i64(wide_sub(wide_sub(w4, w1), wide_sub(w3, w2)));
  *delay = d < precision_ns ? precision_ns : d;
}
