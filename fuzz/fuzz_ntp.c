/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the NTP codec and maths (ntp.h). The input is a datagram:
 * if it decodes, its header (and p2pclock field, if any) re-encode and
 * decode again to the same structs (a fixed point), and the header's bytes
 * come back unchanged; if it does not, nothing was written. The first 40
 * bytes, read as five big-endian int64s, also drive the timestamp
 * conversions and the on-wire maths, which are checked against 128-bit
 * reference arithmetic (the fuzz build is clang, which has __int128).
 */
#include "fuzz.h"

#include "ntp.h"

#include <string.h>

typedef __int128 i128;

#define NS 1000000000LL

static bool header_eq(const p2pc_ntp_header *a, const p2pc_ntp_header *b) {
  return a->li == b->li && a->version == b->version && a->mode == b->mode &&
         a->stratum == b->stratum && a->poll == b->poll &&
         a->precision == b->precision && a->root_delay == b->root_delay &&
         a->root_disp == b->root_disp && a->refid == b->refid &&
         a->ref == b->ref && a->org == b->org && a->rec == b->rec &&
         a->xmt == b->xmt;
}

static bool ext_eq(const p2pc_ntp_ext *a, const p2pc_ntp_ext *b) {
  return a->kind == b->kind && a->flags == b->flags &&
         strcmp(a->id, b->id) == 0 && a->rx_local == b->rx_local &&
         a->tx_corr == b->tx_corr && a->freq_ppb == b->freq_ppb &&
         a->prev_cookie == b->prev_cookie &&
         a->prev_tx_local == b->prev_tx_local &&
         a->root_dist_ns == b->root_dist_ns &&
         strcmp(a->ref_id, b->ref_id) == 0 && a->hops == b->hops;
}

static void check_id(const char *id, bool may_be_empty) {
  const char *nul = memchr(id, 0, P2PC_NODE_ID_MAX + 1);
  FUZZ_CHECK(nul != NULL);
  size_t n = (size_t)(nul - id);
  FUZZ_CHECK((may_be_empty && n == 0) || p2pc_node_id_valid(id, n));
}

static void do_decode(const uint8_t *data, size_t size) {
  p2pc_ntp_header h, h0;
  p2pc_ntp_ext e, e0;
  bool has_ext = true;
  memset(&h, 0xa5, sizeof h);
  memset(&e, 0xa5, sizeof e);
  memcpy(&h0, &h, sizeof h);
  memcpy(&e0, &e, sizeof e);
  int rv = p2pc_ntp_decode(data, size, &h, &e, &has_ext);
  /* decode_full agrees, and says what else there was: a MAC of 4..24
   * bytes, fields that with it fit after the header and ours. */
  {
    p2pc_ntp_header hf;
    p2pc_ntp_ext ef;
    bool has_ext_f = true;
    p2pc_ntp_trailer t, t0;
    memset(&t, 0xa5, sizeof t);
    memcpy(&t0, &t, sizeof t);
    FUZZ_CHECK(p2pc_ntp_decode_full(data, size, &hf, &ef, &has_ext_f, &t) ==
               rv);
    if (rv != 0) {
      FUZZ_CHECK(memcmp(&t, &t0, sizeof t) == 0);
    } else {
      FUZZ_CHECK(has_ext_f == has_ext);
      FUZZ_CHECK(t.mac_len == 0 || (t.mac_len >= 4 && t.mac_len <= 24));
      FUZZ_CHECK(P2PC_NTP_HEADER_LEN + t.mac_len + 16 * (size_t)t.fields +
                     (has_ext ? 16 : 0) <=
                 size);
      FUZZ_CHECK(t.fields || t.mac_len || has_ext ||
                 size == P2PC_NTP_HEADER_LEN);
    }
  }
  if (rv != 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(has_ext);
    FUZZ_CHECK(memcmp(&h, &h0, sizeof h) == 0);
    FUZZ_CHECK(memcmp(&e, &e0, sizeof e) == 0);
    return;
  }
  FUZZ_CHECK(size >= P2PC_NTP_HEADER_LEN);
  FUZZ_CHECK(h.version == 3 || h.version == 4);
  FUZZ_CHECK(h.li <= 3 && h.mode <= 7);
  if (!has_ext) {
    FUZZ_CHECK(memcmp(&e, &e0, sizeof e) == 0);
  } else {
    FUZZ_CHECK(size >= P2PC_NTP_HEADER_LEN + 16);
    FUZZ_CHECK(e.kind == P2PC_NTP_EXT_REQUEST || e.kind == P2PC_NTP_EXT_REPLY);
    check_id(e.id, false);
    check_id(e.ref_id, true);
    if (e.kind == P2PC_NTP_EXT_REQUEST)
      FUZZ_CHECK(e.rx_local == 0 && e.tx_corr == 0 && e.freq_ppb == 0 &&
                 e.prev_cookie == 0 && e.prev_tx_local == 0 &&
                 e.root_dist_ns == 0 && e.ref_id[0] == '\0' && e.hops == 0);
  }

  /* Re-encode: the header is canonical, the field decodes the same. */
  uint8_t out[P2PC_NTP_PACKET_MAX];
  size_t n = P2PC_NTP_HEADER_LEN;
  p2pc_ntp_header_put(out, &h);
  FUZZ_CHECK(memcmp(out, data, P2PC_NTP_HEADER_LEN) == 0);
  if (has_ext) {
    FUZZ_CHECK(p2pc_ntp_ext_put(out + n, &e) == P2PC_NTP_EXT_LEN);
    n += P2PC_NTP_EXT_LEN;
  }
  p2pc_ntp_header h2;
  p2pc_ntp_ext e2;
  bool has_ext2 = !has_ext;
  memcpy(&e2, &e0, sizeof e2);
  FUZZ_CHECK(p2pc_ntp_decode(out, n, &h2, &e2, &has_ext2) == 0);
  FUZZ_CHECK(has_ext2 == has_ext);
  FUZZ_CHECK(header_eq(&h2, &h));
  if (has_ext)
    FUZZ_CHECK(ext_eq(&e2, &e));
  else
    FUZZ_CHECK(memcmp(&e2, &e0, sizeof e2) == 0);
}

static int64_t sat(i128 v) {
  return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v;
}

static i128 abs128(i128 v) { return v < 0 ? -v : v; }

static void do_timestamps(int64_t x, int64_t y) {
  /* ns -> NTP -> ns is exact for every int64, with the value as pivot. */
  uint64_t ts = p2pc_ntp_ts_from_ns(x);
  FUZZ_CHECK(p2pc_ntp_ts_to_ns(ts, x) == x);
  /* The NTP value is the ns value in units of 2^-32 s, modulo 2^64,
   * rounded to nearest. */
  i128 exact = ((i128)x + (i128)P2PC_NTP_UNIX_OFFSET * NS) * ((i128)1 << 32);
  i128 q = exact / NS, r = exact % NS;
  if (r < 0) {
    q--;
    r += NS;
  }
  FUZZ_CHECK(ts == (uint64_t)q + (r * 2 >= NS ? 1 : 0));

  /* Any NTP value read near a pivot lands within 2^31 s of it, and maps
   * back to within 3 units (the ns rounding is coarser than 2^-32 s). */
  uint64_t t = (uint64_t)y;
  int64_t back = p2pc_ntp_ts_to_ns(t, x);
  if (back != INT64_MAX && back != INT64_MIN) {
    FUZZ_CHECK(abs128((i128)back - x) <= ((i128)1 << 31) * NS + NS);
    uint64_t again = p2pc_ntp_ts_from_ns(back);
    uint64_t d = again - t;
    FUZZ_CHECK(d <= 3 || -d <= 3);
  }

  /* Short format: exact back and forth from the wire side; from the ns
   * side the bound never shrinks and grows by less than one unit. */
  uint32_t s = (uint32_t)y;
  FUZZ_CHECK(p2pc_ntp_short_from_ns(p2pc_ntp_short_to_ns(s)) == s);
  uint32_t sx = p2pc_ntp_short_from_ns(x);
  if (x <= 0) {
    FUZZ_CHECK(sx == 0);
  } else if (sx != UINT32_MAX) {
    int64_t ns = p2pc_ntp_short_to_ns(sx);
    FUZZ_CHECK(ns >= x && ns - x < 15259);
  } else {
    FUZZ_CHECK((i128)x * 65536 > (i128)0xfffffffeLL * NS);
  }

  /* log2: the smallest k with 2^k s >= x, clamped to [-32, 31]. */
  int k = p2pc_ntp_log2_from_ns(x);
  FUZZ_CHECK(k >= -32 && k <= 31);
  if (x <= 0) {
    FUZZ_CHECK(k == -32);
  } else {
    /* Compare x * 2^32 with 1e9 * 2^(k + 32). */
    i128 lhs = (i128)x << 32;
    if (k < 31)
      FUZZ_CHECK(((i128)NS << (k + 32)) >= lhs);
    if (k > -32)
      FUZZ_CHECK(((i128)NS << (k + 31)) < lhs);
  }
}

static void do_offset_delay(int64_t t1, int64_t t2, int64_t t3, int64_t t4,
                            int64_t prec) {
  int64_t off, del;
  p2pc_ntp_offset_delay(t1, t2, t3, t4, prec, &off, &del);
  i128 sum = ((i128)t2 - t1) + ((i128)t3 - t4);
  FUZZ_CHECK(off == sat(sum / 2)); /* C's / truncates toward zero */
  int64_t d = sat(((i128)t4 - t1) - ((i128)t3 - t2));
  FUZZ_CHECK(del == (d < prec ? prec : d));
}

static int64_t load_i64(const uint8_t *data, size_t size, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; i++)
    v = (v << 8) | (at + i < size ? data[at + i] : 0);
  return (int64_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  do_decode(data, size);
  int64_t v[5];
  for (size_t i = 0; i < 5; i++)
    v[i] = load_i64(data, size, 8 * i);
  do_timestamps(v[0], v[1]);
  do_timestamps(v[4], v[3]);
  do_offset_delay(v[0], v[1], v[2], v[3], v[4]);
  /* Nearby times, the usual case: small differences on a large base
   * (added modulo 2^64 so the target itself cannot overflow). */
  uint64_t base = (uint64_t)v[0];
  do_offset_delay(v[0], (int64_t)(base + (uint64_t)(int64_t)(int32_t)v[1]),
                  (int64_t)(base + (uint64_t)(int64_t)(int32_t)v[2]),
                  (int64_t)(base + (uint64_t)(int64_t)(int32_t)v[3]),
                  (int16_t)v[4]);
  return 0;
}
