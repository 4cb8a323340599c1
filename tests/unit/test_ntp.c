/* SPDX-License-Identifier: MIT */
/*
 * NTP packets and maths (ntp.h): known timestamps (the Unix epoch, 2026,
 * the 2036 era change), exact ns round trips, the short and log2 formats,
 * RFC 5905 offset/delay on an asymmetric path and at the int64 limits,
 * real client requests, header and extension field round trips, and the
 * decoder's verdict on every truncation and every kind of malformed field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ntp.h"
#include "testseed.h"

#define NS 1000000000LL
#define UNIX_2026 1767225600LL    /* 2026-01-01T00:00:00Z */
#define UNIX_ERA1 2085978496LL    /* 2036-02-07T06:28:16Z: NTP era 1 begins */
#define YEAR (365LL * 86400 * NS) /* close enough for pivots */

static void assert_header_eq(const p2pc_ntp_header *a,
                             const p2pc_ntp_header *b) {
  assert_int_equal(a->li, b->li);
  assert_int_equal(a->version, b->version);
  assert_int_equal(a->mode, b->mode);
  assert_int_equal(a->stratum, b->stratum);
  assert_int_equal(a->poll, b->poll);
  assert_int_equal(a->precision, b->precision);
  assert_int_equal(a->root_delay, b->root_delay);
  assert_int_equal(a->root_disp, b->root_disp);
  assert_int_equal(a->refid, b->refid);
  assert_true(a->ref == b->ref);
  assert_true(a->org == b->org);
  assert_true(a->rec == b->rec);
  assert_true(a->xmt == b->xmt);
}

static void assert_ext_eq(const p2pc_ntp_ext *a, const p2pc_ntp_ext *b) {
  assert_int_equal(a->kind, b->kind);
  assert_int_equal(a->flags, b->flags);
  assert_string_equal(a->id, b->id);
  assert_true(a->rx_local == b->rx_local);
  assert_true(a->tx_corr == b->tx_corr);
  assert_true(a->freq_ppb == b->freq_ppb);
  assert_true(a->prev_cookie == b->prev_cookie);
  assert_true(a->prev_tx_local == b->prev_tx_local);
  assert_true(a->root_dist_ns == b->root_dist_ns);
  assert_string_equal(a->ref_id, b->ref_id);
  assert_int_equal(a->hops, b->hops);
}

static p2pc_ntp_header sample_header(void) {
  p2pc_ntp_header h;
  memset(&h, 0, sizeof h);
  h.li = P2PC_NTP_LI_NONE;
  h.version = 4;
  h.mode = P2PC_NTP_MODE_SERVER;
  h.stratum = 2;
  h.poll = 6;
  h.precision = -24;
  h.root_delay = 0x00000123;
  h.root_disp = 0x00004567;
  h.refid = 0x7f000001;
  h.ref = 0xED00378000000000ull;
  h.org = 0x0102030405060708ull;
  h.rec = 0xED0037810000000Aull;
  h.xmt = 0xED0037810000FFFFull;
  return h;
}

static p2pc_ntp_ext sample_reply(void) {
  p2pc_ntp_ext e;
  memset(&e, 0, sizeof e);
  e.kind = P2PC_NTP_EXT_REPLY;
  e.flags = P2PC_NTP_EXTF_SYNCED | P2PC_NTP_EXTF_PREV | 0x8000;
  snprintf(e.id, sizeof e.id, "node-B_1.x");
  e.rx_local = UNIX_2026 * NS + 123456789;
  e.tx_corr = -1234567;
  e.freq_ppb = INT64_MIN;
  e.prev_cookie = UINT64_MAX;
  e.prev_tx_local = -1;
  e.root_dist_ns = INT64_MAX;
  snprintf(e.ref_id, sizeof e.ref_id, "ref.A");
  e.hops = 255;
  return e;
}

/* Header + our field (+ extra bytes) into buf; returns the length. */
static size_t build(uint8_t *buf, const p2pc_ntp_header *h,
                    const p2pc_ntp_ext *e) {
  p2pc_ntp_header_put(buf, h);
  if (!e)
    return P2PC_NTP_HEADER_LEN;
  assert_int_equal(p2pc_ntp_ext_put(buf + P2PC_NTP_HEADER_LEN, e),
                   P2PC_NTP_EXT_LEN);
  return P2PC_NTP_PACKET_MAX;
}

/* Decodes b and expects rv; on failure, checks nothing was written. */
static int decode(const uint8_t *b, size_t len, p2pc_ntp_header *h,
                  p2pc_ntp_ext *e, bool *has_ext) {
  p2pc_ntp_header h0;
  p2pc_ntp_ext e0;
  memset(h, 0xa5, sizeof *h);
  memset(e, 0xa5, sizeof *e);
  memcpy(&h0, h, sizeof h0);
  memcpy(&e0, e, sizeof e0);
  *has_ext = true;
  int rv = p2pc_ntp_decode(b, len, h, e, has_ext);
  if (rv != 0) {
    assert_memory_equal(h, &h0, sizeof h0);
    assert_memory_equal(e, &e0, sizeof e0);
    assert_true(*has_ext);
  } else if (!*has_ext) {
    assert_memory_equal(e, &e0, sizeof e0);
  }
  return rv;
}

static int decode_quiet(const uint8_t *b, size_t len) {
  p2pc_ntp_header h;
  p2pc_ntp_ext e;
  bool has_ext;
  return decode(b, len, &h, &e, &has_ext);
}

/* ---- timestamps ---------------------------------------------------------- */

static void test_ts_known_answers(void **state) {
  (void)state;
  /* 3976214400 s after 1900 = 0xED003780. */
  assert_true(p2pc_ntp_ts_from_ns(UNIX_2026 * NS) == 0xED00378000000000ull);
  assert_true(p2pc_ntp_ts_to_ns(0xED00378000000000ull, 0) == UNIX_2026 * NS);
  /* The Unix epoch is 2208988800 = 0x83AA7E80 s after the NTP epoch. */
  assert_true(p2pc_ntp_ts_from_ns(0) == 0x83AA7E8000000000ull);
  assert_true(p2pc_ntp_ts_from_ns(NS / 2) == 0x83AA7E8080000000ull);
  /* 1 ns = 4.29 units of 2^-32 s: rounds to 4. 3 ns = 12.88: 13. */
  assert_true(p2pc_ntp_ts_from_ns(1) == 0x83AA7E8000000004ull);
  assert_true(p2pc_ntp_ts_from_ns(3) == 0x83AA7E800000000Dull);
  /* Before 1970: 1 ns before the epoch is 0.99999999 s into the previous
   * second (4294967291.7 units, rounded to ...FC). */
  assert_true(p2pc_ntp_ts_from_ns(-1) == 0x83AA7E7FFFFFFFFCull);
  assert_true(p2pc_ntp_ts_to_ns(0x83AA7E7FFFFFFFFCull, 0) == -1);
  /* The NTP epoch itself, 1900-01-01. */
  assert_true(p2pc_ntp_ts_from_ns(-2208988800LL * NS) == 0);
  assert_true(p2pc_ntp_ts_to_ns(0, -70 * YEAR) == -2208988800LL * NS);
  /* The last fraction of a second rounds up to the next whole ns. */
  assert_true(p2pc_ntp_ts_to_ns(0x83AA7E80FFFFFFFFull, 0) == NS);
}

static void test_ts_era_pivot(void **state) {
  (void)state;
  /* Era 1 starts at 2036-02-07T06:28:16Z, NTP seconds 0 again. */
  assert_true(p2pc_ntp_ts_from_ns(UNIX_ERA1 * NS) == 0);
  assert_true(p2pc_ntp_ts_from_ns(UNIX_ERA1 * NS + NS) == 1ull << 32);
  assert_true(p2pc_ntp_ts_from_ns(UNIX_ERA1 * NS - 1) == 0xFFFFFFFFFFFFFFFCull);
  /* Seconds 1: 1900 (era 0) or 2036 (era 1), whichever is nearer the
   * pivot. 2000 is 36 years from 2036 and 100 from 1900. */
  int64_t pivot_2000 = 946684800LL * NS;
  int64_t pivot_1960 = -315619200LL * NS;
  int64_t pivot_2040 = 2208988800LL * NS;
  assert_true(p2pc_ntp_ts_to_ns(1ull << 32, pivot_2000) ==
              (UNIX_ERA1 + 1) * NS);
  assert_true(p2pc_ntp_ts_to_ns(1ull << 32, pivot_2040) ==
              (UNIX_ERA1 + 1) * NS);
  assert_true(p2pc_ntp_ts_to_ns(1ull << 32, pivot_1960) ==
              (UNIX_ERA1 + 1 - (1LL << 32)) * NS);
  /* The last second of era 0 seen from just after the wrap, and the first
   * of era 1 from just before. */
  assert_true(p2pc_ntp_ts_to_ns(0xFFFFFFFF00000000ull, UNIX_ERA1 * NS + NS) ==
              (UNIX_ERA1 - 1) * NS);
  assert_true(p2pc_ntp_ts_to_ns(0, UNIX_ERA1 * NS - NS) == UNIX_ERA1 * NS);
  /* 2026 read with a pivot in 2090 (64 years later) stays in era 0; with a
   * pivot in 2100 (74 years) it moves to era 1 (2162). */
  uint64_t t2026 = 0xED00378000000000ull;
  assert_true(p2pc_ntp_ts_to_ns(t2026, UNIX_2026 * NS + 64 * YEAR) ==
              UNIX_2026 * NS);
  assert_true(p2pc_ntp_ts_to_ns(t2026, UNIX_2026 * NS + 74 * YEAR) ==
              (UNIX_2026 + (1LL << 32)) * NS);
}

static uint64_t next_rand(uint64_t *s) {
  /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void test_ts_round_trip(void **state) {
  (void)state;
  uint64_t seed = p2pc_test_seed("test_ts_round_trip", 0x5eed);
  uint64_t s = seed;
  const int64_t lo = 0, span = 4102444800LL * NS; /* 1970..2100 */
  for (int i = 0; i < 200000; i++) {
    int64_t x = lo + (int64_t)(next_rand(&s) % (uint64_t)span);
    uint64_t ts = p2pc_ntp_ts_from_ns(x);
    int64_t back = p2pc_ntp_ts_to_ns(ts, x);
    if (back != x)
      fail_msg("x=%lld back=%lld (seed %llu)", (long long)x, (long long)back,
               (unsigned long long)seed);
    /* Any pivot within 68 years gives the same answer. */
    int64_t off = (int64_t)(next_rand(&s) % (uint64_t)(135 * YEAR)) - 67 * YEAR;
    assert_true(p2pc_ntp_ts_to_ns(ts, x + off) == x);
  }
  /* The extremes round trip exactly too (saturation is exact there). */
  const int64_t edge[] = {INT64_MIN,
                          INT64_MIN + 1,
                          INT64_MAX,
                          INT64_MAX - 1,
                          -9223372036854775807LL + 999999999,
                          0};
  for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
    assert_true(p2pc_ntp_ts_to_ns(p2pc_ntp_ts_from_ns(edge[i]), edge[i]) ==
                edge[i]);
  /* A timestamp whose nearest era is past int64 saturates. */
  assert_true(p2pc_ntp_ts_to_ns(0xFFFFFFFF00000000ull, INT64_MAX) == INT64_MAX);
  assert_true(p2pc_ntp_ts_to_ns(0, INT64_MIN) == INT64_MIN);
}

static void test_short_format(void **state) {
  (void)state;
  assert_int_equal(p2pc_ntp_short_from_ns(0), 0);
  assert_int_equal(p2pc_ntp_short_from_ns(-5), 0);
  assert_int_equal(p2pc_ntp_short_from_ns(INT64_MIN), 0);
  assert_int_equal(p2pc_ntp_short_from_ns(NS), 0x10000);
  assert_int_equal(p2pc_ntp_short_from_ns(NS / 2), 0x8000);
  /* One unit is 15258.79 ns; bounds round up. */
  assert_int_equal(p2pc_ntp_short_from_ns(1), 1);
  assert_int_equal(p2pc_ntp_short_from_ns(15258), 1);
  assert_int_equal(p2pc_ntp_short_from_ns(15259), 2);
  assert_int_equal(p2pc_ntp_short_from_ns(65535 * NS), 0xffff0000u);
  assert_int_equal(p2pc_ntp_short_from_ns(65536 * NS - 15259), 0xffffffffu);
  assert_int_equal(p2pc_ntp_short_from_ns(65536 * NS), 0xffffffffu);
  assert_int_equal(p2pc_ntp_short_from_ns(INT64_MAX), 0xffffffffu);
  assert_true(p2pc_ntp_short_to_ns(0) == 0);
  assert_true(p2pc_ntp_short_to_ns(1) == 15258);
  assert_true(p2pc_ntp_short_to_ns(0x10000) == NS);
  assert_true(p2pc_ntp_short_to_ns(0xffffffffu) == 65535999984741LL);
  for (uint64_t v = 0; v <= 0xffffffffu; v += 65521) {
    uint32_t s = (uint32_t)v;
    assert_int_equal(p2pc_ntp_short_from_ns(p2pc_ntp_short_to_ns(s)), s);
  }
  for (int64_t ns = 1; ns < 10 * NS; ns = ns * 3 + 7) {
    int64_t back = p2pc_ntp_short_to_ns(p2pc_ntp_short_from_ns(ns));
    assert_true(back >= ns && back - ns < 15259);
  }
}

static void test_log2(void **state) {
  (void)state;
  /* 2^-20 s = 953.7 ns < 1000 <= 2^-19 s = 1907.3 ns. */
  assert_int_equal(p2pc_ntp_log2_from_ns(1000), -19);
  assert_int_equal(p2pc_ntp_log2_from_ns(953), -20);
  assert_int_equal(p2pc_ntp_log2_from_ns(954), -19);
  assert_int_equal(p2pc_ntp_log2_from_ns(1907), -19);
  assert_int_equal(p2pc_ntp_log2_from_ns(1908), -18);
  assert_int_equal(p2pc_ntp_log2_from_ns(1), -29); /* 2^-29 s = 1.86 ns */
  assert_int_equal(p2pc_ntp_log2_from_ns(0), -32);
  assert_int_equal(p2pc_ntp_log2_from_ns(-1), -32);
  assert_int_equal(p2pc_ntp_log2_from_ns(INT64_MIN), -32);
  assert_int_equal(p2pc_ntp_log2_from_ns(NS), 0);
  assert_int_equal(p2pc_ntp_log2_from_ns(NS + 1), 1);
  assert_int_equal(p2pc_ntp_log2_from_ns(64 * NS), 6);
  assert_int_equal(p2pc_ntp_log2_from_ns(65 * NS), 7);
  assert_int_equal(p2pc_ntp_log2_from_ns((1LL << 30) * NS + 1), 31);
  assert_int_equal(p2pc_ntp_log2_from_ns((1LL << 31) * NS), 31);
  assert_int_equal(p2pc_ntp_log2_from_ns(INT64_MAX), 31);
}

/* ---- on-wire maths ------------------------------------------------------- */

static void test_offset_delay(void **state) {
  (void)state;
  int64_t off, del;
  /* RFC 5905 §8 on an asymmetric path. The server is 5 ms ahead of the
   * client; 10 ms out, 1 ms in the server, 30 ms back. Client sends at its
   * 1000 ms (true 1005): T2 = 1015, T3 = 1016, the reply lands at true 1046
   * = client 1041. offset = (15 + (-25)) / 2 = -5 ms: the true +5 ms minus
   * the asymmetry error (10 - 30) / 2 = -10 ms, within delay/2 = 20 ms.
   * delay = 41 - 1 = 40 ms. */
  const int64_t ms = 1000000;
  p2pc_ntp_offset_delay(1000 * ms, 1015 * ms, 1016 * ms, 1041 * ms, 0, &off,
                        &del);
  assert_true(off == -5 * ms);
  assert_true(del == 40 * ms);
  /* Symmetric (20 ms each way): the offset is exact. */
  p2pc_ntp_offset_delay(1000 * ms, 1025 * ms, 1026 * ms, 1041 * ms, 0, &off,
                        &del);
  assert_true(off == 5 * ms);
  assert_true(del == 40 * ms);
  /* Realistic magnitudes: 2026 server times, client 1.5 s behind. */
  int64_t t1 = UNIX_2026 * NS, t2 = t1 + 1500 * ms + 137, t3 = t2 + 20000;
  int64_t t4 = t1 + 340 + 20000 + 221;
  p2pc_ntp_offset_delay(t1, t2, t3, t4, 0, &off, &del);
  /* (1500000137 + (1500000137 + 20000 - 20561)) / 2 = 1499999856.5 */
  assert_true(off == 1499999856);
  assert_true(del == 561);
  /* Halving truncates toward zero, symmetric in sign. */
  p2pc_ntp_offset_delay(0, 3, 4, 0, 0, &off, &del);
  assert_true(off == 3);
  p2pc_ntp_offset_delay(0, -3, -4, 0, 0, &off, &del);
  assert_true(off == -3);
  /* A negative apparent delay (frequency error) floors at the precision. */
  p2pc_ntp_offset_delay(0, 100, 200, 90, 954, &off, &del);
  assert_true(del == 954);
  assert_true(off == 105);
  p2pc_ntp_offset_delay(0, 100, 200, 1200, 954, &off, &del);
  assert_true(del == 1100);
}

static void test_offset_delay_limits(void **state) {
  (void)state;
  int64_t off, del;
  /* T2 - T1 = 2^63 and T3 - T4 = 1 - 2^63 overflow int64, but the sum is
   * 1: offset 0 (0.5 truncated). The delay is 2^64 - 1: saturated. */
  p2pc_ntp_offset_delay(INT64_MIN, 0, 0, INT64_MAX, 0, &off, &del);
  assert_true(off == 0);
  assert_true(del == INT64_MAX);
  p2pc_ntp_offset_delay(INT64_MIN, INT64_MAX, INT64_MAX, INT64_MIN, 0, &off,
                        &del);
  assert_true(off == INT64_MAX);
  assert_true(del == 0);
  p2pc_ntp_offset_delay(INT64_MAX, INT64_MIN, INT64_MIN, INT64_MAX, 7, &off,
                        &del);
  assert_true(off == INT64_MIN);
  assert_true(del == 7);
  p2pc_ntp_offset_delay(INT64_MAX, 0, 0, INT64_MIN, INT64_MIN, &off, &del);
  assert_true(del == INT64_MIN);
  p2pc_ntp_offset_delay(INT64_MAX, 0, 0, INT64_MIN, 0, &off, &del);
  assert_true(del == 0);
  /* Exactly representable extremes are not saturated away. */
  p2pc_ntp_offset_delay(0, INT64_MAX, INT64_MAX, 0, 0, &off, &del);
  assert_true(off == INT64_MAX);
  p2pc_ntp_offset_delay(0, INT64_MIN, INT64_MIN, 0, 0, &off, &del);
  assert_true(off == INT64_MIN);
  p2pc_ntp_offset_delay(0, INT64_MIN, INT64_MIN + 1, 0, 0, &off, &del);
  assert_true(off == INT64_MIN + 1); /* -2^64 + 1 over 2, toward zero */
}

/* ---- packets ------------------------------------------------------------- */

static void test_header_round_trip(void **state) {
  (void)state;
  p2pc_ntp_header h = sample_header(), g;
  p2pc_ntp_ext e;
  bool has_ext;
  uint8_t b[P2PC_NTP_HEADER_LEN];
  p2pc_ntp_header_put(b, &h);
  const uint8_t want[16] = {0x24, 2, 6,    0xe8, 0,    0, 0x01, 0x23,
                            0,    0, 0x45, 0x67, 0x7f, 0, 0,    1};
  assert_memory_equal(b, want, sizeof want);
  assert_int_equal(b[P2PC_NTP_XMT_OFFSET], 0xED);
  assert_int_equal(b[47], 0xFF);
  assert_int_equal(decode(b, sizeof b, &g, &e, &has_ext), 0);
  assert_false(has_ext);
  assert_header_eq(&g, &h);

  /* Unsynchronised NTPv3 symmetric active, negative poll, all ones. */
  h.li = P2PC_NTP_LI_UNSYNC;
  h.version = 3;
  h.mode = P2PC_NTP_MODE_SYMACTIVE;
  h.stratum = P2PC_NTP_STRATUM_UNSYNC;
  h.poll = -128;
  h.precision = 127;
  h.root_delay = h.root_disp = h.refid = UINT32_MAX;
  h.ref = h.org = h.rec = h.xmt = UINT64_MAX;
  p2pc_ntp_header_put(b, &h);
  assert_int_equal(b[0], 0xd9);
  assert_int_equal(decode(b, sizeof b, &g, &e, &has_ext), 0);
  assert_header_eq(&g, &h);
}

static void test_client_requests(void **state) {
  (void)state;
  p2pc_ntp_header h;
  p2pc_ntp_ext e;
  bool has_ext;
  /* ntpdate / ntpdig style: LI 3 (unsynchronised), v4, client, stratum 0,
   * poll 4, precision -6, root delay and dispersion 1 s, xmt the send time
   * (here 2026-01-01T00:00:00.25Z). */
  const uint8_t ntpdate[48] = {
      0xe3, 0x00, 0x04, 0xfa, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0xed, 0x00, 0x37, 0x80, 0x40, 0x00, 0x00, 0x00};
  assert_int_equal(decode(ntpdate, sizeof ntpdate, &h, &e, &has_ext), 0);
  assert_false(has_ext);
  assert_int_equal(h.li, P2PC_NTP_LI_UNSYNC);
  assert_int_equal(h.version, 4);
  assert_int_equal(h.mode, P2PC_NTP_MODE_CLIENT);
  assert_int_equal(h.stratum, 0);
  assert_int_equal(h.poll, 4);
  assert_int_equal(h.precision, -6);
  assert_true(p2pc_ntp_short_to_ns(h.root_delay) == NS);
  assert_true(p2pc_ntp_short_to_ns(h.root_disp) == NS);
  assert_true(h.org == 0 && h.rec == 0 && h.ref == 0);
  assert_true(p2pc_ntp_ts_to_ns(h.xmt, 0) == UNIX_2026 * NS + NS / 4);

  /* The minimal SNTP request (Windows, busybox, many scripts): 0x1b = LI 0,
   * NTPv3, client, then 47 zeros. */
  uint8_t sntp[48] = {0x1b};
  assert_int_equal(decode(sntp, sizeof sntp, &h, &e, &has_ext), 0);
  assert_int_equal(h.version, 3);
  assert_int_equal(h.mode, P2PC_NTP_MODE_CLIENT);
  assert_true(h.xmt == 0);

  /* chrony-style: LI 0, v4, client, poll 6, precision -25, a random
   * transmit cookie instead of the time. */
  const uint8_t chrony[48] = {
      0x23, 0x00, 0x06, 0xe7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x3a, 0x91, 0xc4, 0x07, 0x5e, 0x22, 0xd0, 0x9b};
  assert_int_equal(decode(chrony, sizeof chrony, &h, &e, &has_ext), 0);
  assert_int_equal(h.precision, -25);
  assert_int_equal(h.poll, 6);
  assert_true(h.xmt == 0x3a91c4075e22d09bull);

  /* Versions other than 3 and 4, and short datagrams, are refused. */
  for (uint8_t v = 0; v < 8; v++) {
    sntp[0] = (uint8_t)((v << 3) | 3);
    assert_int_equal(decode_quiet(sntp, sizeof sntp),
                     v == 3 || v == 4 ? 0 : P2PC_ERR_PROTO);
  }
  assert_int_equal(decode_quiet(ntpdate, 47), P2PC_ERR_PROTO);
  assert_int_equal(decode_quiet(ntpdate, 0), P2PC_ERR_PROTO);
}

static void test_ext_round_trip(void **state) {
  (void)state;
  p2pc_ntp_header h = sample_header(), g;
  p2pc_ntp_ext e = sample_reply(), f;
  bool has_ext;
  uint8_t b[P2PC_NTP_PACKET_MAX + 64];
  size_t n = build(b, &h, &e);
  const uint8_t *x = b + P2PC_NTP_HEADER_LEN;
  const uint8_t fixed[] = {0xf5, 0xc1, 0x00, 0xc4, 'p', '2', 'p',
                           'c',  1,    2,    0x80, 3,   10,  'n'};
  assert_memory_equal(x, fixed, sizeof fixed);
  /* rx_local right after the 10-byte id; tx_corr = -1234567 after it. */
  const uint8_t tx_corr[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xed, 0x29, 0x79};
  assert_memory_equal(x + 13 + 10 + 8, tx_corr, 8);
  assert_int_equal(decode(b, n, &g, &f, &has_ext), 0);
  assert_true(has_ext);
  assert_header_eq(&g, &h);
  assert_ext_eq(&f, &e);

  /* Every value at its other extreme, the longest ID, no reference. */
  memset(e.id, 'z', P2PC_NODE_ID_MAX);
  e.id[P2PC_NODE_ID_MAX] = '\0';
  e.ref_id[0] = '\0';
  e.rx_local = INT64_MIN;
  e.tx_corr = INT64_MAX;
  e.freq_ppb = -1;
  e.prev_cookie = 0;
  e.prev_tx_local = INT64_MIN;
  e.root_dist_ns = 0;
  e.hops = 0;
  e.flags = 0;
  n = build(b, &h, &e);
  assert_int_equal(decode(b, n, &g, &f, &has_ext), 0);
  assert_ext_eq(&f, &e);
  /* ... and the longest reference too: 191 bytes of content. */
  memset(e.ref_id, '9', P2PC_NODE_ID_MAX);
  e.ref_id[P2PC_NODE_ID_MAX] = '\0';
  e.hops = 0x42;
  n = build(b, &h, &e);
  assert_int_equal(x[190], 0x42); /* hops */
  assert_int_equal(x[191], 0);
  assert_int_equal(x[189], '9');
  assert_int_equal(decode(b, n, &g, &f, &has_ext), 0);
  assert_ext_eq(&f, &e);

  /* A request carries kind, flags and id; its reply fields are not sent
   * (zeros), whatever the struct held. */
  p2pc_ntp_ext req = sample_reply();
  req.kind = P2PC_NTP_EXT_REQUEST;
  req.flags = P2PC_NTP_EXTF_SYNCED;
  snprintf(req.ref_id, sizeof req.ref_id, "bad ref ignored");
  h.mode = P2PC_NTP_MODE_CLIENT;
  n = build(b, &h, &req);
  for (size_t i = 12 + 1 + 10; i < P2PC_NTP_EXT_LEN; i++)
    assert_int_equal(x[i], 0);
  assert_int_equal(decode(b, n, &g, &f, &has_ext), 0);
  assert_true(has_ext);
  p2pc_ntp_ext want;
  memset(&want, 0, sizeof want);
  want.kind = P2PC_NTP_EXT_REQUEST;
  want.flags = P2PC_NTP_EXTF_SYNCED;
  snprintf(want.id, sizeof want.id, "%s", req.id);
  assert_ext_eq(&f, &want);
}

static void test_ext_put_rejects(void **state) {
  (void)state;
  uint8_t out[P2PC_NTP_EXT_LEN], same[P2PC_NTP_EXT_LEN];
  memset(out, 0x77, sizeof out);
  memcpy(same, out, sizeof out);
  p2pc_ntp_ext e = sample_reply();
  e.kind = 0;
  assert_int_equal(p2pc_ntp_ext_put(out, &e), P2PC_ERR_INVAL);
  e.kind = 3;
  assert_int_equal(p2pc_ntp_ext_put(out, &e), P2PC_ERR_INVAL);
  e = sample_reply();
  e.id[0] = '\0';
  assert_int_equal(p2pc_ntp_ext_put(out, &e), P2PC_ERR_INVAL);
  e = sample_reply();
  e.id[2] = '~';
  assert_int_equal(p2pc_ntp_ext_put(out, &e), P2PC_ERR_INVAL);
  e = sample_reply();
  memset(e.id, 'a', sizeof e.id); /* not terminated */
  assert_int_equal(p2pc_ntp_ext_put(out, &e), P2PC_ERR_INVAL);
  e = sample_reply();
  e.ref_id[1] = ' ';
  assert_int_equal(p2pc_ntp_ext_put(out, &e), P2PC_ERR_INVAL);
  memset(e.ref_id, 'r', sizeof e.ref_id);
  assert_int_equal(p2pc_ntp_ext_put(out, &e), P2PC_ERR_INVAL);
  assert_memory_equal(out, same, sizeof out);
}

/* Secure mode's shorter field (P2PC_NTP_EXT_LEN_AUTH, room for the MAC):
 * it decodes as the full one does; a reply whose two IDs pass 117 bytes
 * does not fit it (TOOBIG, nothing written); bad lengths are refused. */
static void test_ext_auth_len(void **state) {
  (void)state;
  uint8_t b[P2PC_NTP_PACKET_MAX];
  p2pc_ntp_header h = sample_header(), g;
  p2pc_ntp_ext e = sample_reply(), f;
  bool has_ext = false;
  assert_int_equal(P2PC_NTP_EXT_LEN_AUTH, 180);
  p2pc_ntp_header_put(b, &h);
  assert_int_equal(p2pc_ntp_ext_put_len(b + 48, P2PC_NTP_EXT_LEN_AUTH, &e),
                   P2PC_NTP_EXT_LEN_AUTH);
  assert_int_equal(
      p2pc_ntp_decode(b, 48 + P2PC_NTP_EXT_LEN_AUTH, &g, &f, &has_ext), 0);
  assert_true(has_ext);
  assert_ext_eq(&f, &e);
  /* 64 + 53 = 117 bytes of IDs fit; one more does not */
  memset(e.id, 'i', 64);
  e.id[64] = '\0';
  memset(e.ref_id, 'r', 53);
  e.ref_id[53] = '\0';
  assert_int_equal(p2pc_ntp_ext_put_len(b + 48, P2PC_NTP_EXT_LEN_AUTH, &e),
                   P2PC_NTP_EXT_LEN_AUTH);
  uint8_t keep[P2PC_NTP_PACKET_MAX];
  memcpy(keep, b, sizeof b);
  e.ref_id[53] = 'r';
  e.ref_id[54] = '\0';
  assert_int_equal(p2pc_ntp_ext_put_len(b + 48, P2PC_NTP_EXT_LEN_AUTH, &e),
                   P2PC_ERR_TOOBIG);
  assert_memory_equal(b, keep, sizeof b);
  assert_int_equal(p2pc_ntp_ext_put(b + 48, &e), P2PC_NTP_EXT_LEN);
  /* a request always fits */
  p2pc_ntp_ext rq = {.kind = P2PC_NTP_EXT_REQUEST};
  memset(rq.id, 'q', 64);
  assert_int_equal(p2pc_ntp_ext_put_len(b + 48, P2PC_NTP_EXT_LEN_AUTH, &rq),
                   P2PC_NTP_EXT_LEN_AUTH);
  assert_int_equal(p2pc_ntp_ext_put_len(b + 48, 182, &rq), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_ntp_ext_put_len(b + 48, 24, &rq), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_ntp_ext_put_len(b + 48, 200, &rq), P2PC_ERR_INVAL);
}

static void test_truncations(void **state) {
  (void)state;
  p2pc_ntp_header h = sample_header(), g;
  p2pc_ntp_ext e = sample_reply(), f;
  bool has_ext;
  uint8_t full[P2PC_NTP_PACKET_MAX];
  build(full, &h, &e);
  for (size_t len = 0; len <= sizeof full; len++) {
    /* An exactly sized copy, so a sanitizer sees any overread. */
    uint8_t *b = malloc(len ? len : 1);
    assert_non_null(b);
    memcpy(b, full, len);
    int rv = decode(b, len, &g, &f, &has_ext);
    size_t rem = len >= 48 ? len - 48 : 0;
    if (len < 48 || (rem > 0 && rem < 4) ||
        (rem > 24 && rem < P2PC_NTP_EXT_LEN)) {
      if (rv != P2PC_ERR_PROTO)
        fail_msg("len %zu: rv %d", len, rv);
    } else if (rem < P2PC_NTP_EXT_LEN) {
      /* Nothing, or 4..24 bytes taken for a legacy MAC: header only. */
      assert_int_equal(rv, 0);
      assert_false(has_ext);
      assert_header_eq(&g, &h);
    } else {
      assert_int_equal(rv, 0);
      assert_true(has_ext);
      assert_ext_eq(&f, &e);
    }
    free(b);
  }
}

/* Writes a field of type t and length n (>= 4) with body bytes fill. */
static size_t put_field(uint8_t *p, uint16_t t, size_t n, uint8_t fill) {
  memset(p, fill, n);
  p[0] = (uint8_t)(t >> 8);
  p[1] = (uint8_t)t;
  p[2] = (uint8_t)(n >> 8);
  p[3] = (uint8_t)n;
  return n;
}

static void test_bad_ext_rejected(void **state) {
  (void)state;
  p2pc_ntp_header h = sample_header();
  p2pc_ntp_ext e = sample_reply();
  uint8_t good[P2PC_NTP_PACKET_MAX], b[P2PC_NTP_PACKET_MAX];
  size_t n = build(good, &h, &e);
  uint8_t *x = b + P2PC_NTP_HEADER_LEN;
  const size_t id_at = 12, rx_at = 12 + 1 + 10;
  const size_t ref_at = rx_at + 48;
  struct {
    size_t at;
    uint8_t v;
  } bad[] = {
      {4, 'P'},          /* magic */
      {7, 0},            /* magic */
      {8, 0},            /* version */
      {8, 2},            /* version */
      {9, 0},            /* kind */
      {9, 3},            /* kind */
      {id_at, 0},        /* empty id */
      {id_at, 65},       /* id too long */
      {id_at, 200},      /* id past the field */
      {id_at + 3, '~'},  /* id character */
      {id_at + 1, 0},    /* id character (NUL) */
      {ref_at, 65},      /* ref too long */
      {ref_at, 190},     /* ref past the field */
      {ref_at + 1, '/'}, /* ref character */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memcpy(b, good, n);
    x[bad[i].at] = bad[i].v;
    if (decode_quiet(b, n) != P2PC_ERR_PROTO)
      fail_msg("case %zu (byte %zu = %u) accepted", i, bad[i].at, bad[i].v);
  }
  /* Lengths: under 16, not a multiple of 4, past the datagram. */
  const uint16_t lens[] = {0, 4, 12, 15, 197, 198, 199, 200, 0xfffc};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    memcpy(b, good, n);
    x[2] = (uint8_t)(lens[i] >> 8);
    x[3] = (uint8_t)lens[i];
    if (decode_quiet(b, n) != P2PC_ERR_PROTO)
      fail_msg("length %u accepted", lens[i]);
  }
  /* Length 192 leaves a 4-byte trailer (a MAC): fine, the content fits. */
  memcpy(b, good, n);
  x[3] = 192;
  assert_int_equal(decode_quiet(b, n), 0);
  /* A reply with no reference has 12 + 11 + 48 + 1 + 1 = 73 bytes of
   * content: a 72-byte field cuts off hops, a 76-byte one holds it. */
  e.ref_id[0] = '\0';
  build(b, &h, &e);
  x[3] = 72;
  assert_int_equal(decode_quiet(b, 48 + 72), P2PC_ERR_PROTO);
  x[3] = 76;
  assert_int_equal(decode_quiet(b, 48 + 76), 0);

  /* Two p2pclock fields: ambiguous. */
  uint8_t two[48 + 2 * P2PC_NTP_EXT_LEN];
  build(two, &h, &e);
  assert_int_equal(p2pc_ntp_ext_put(two + 48 + P2PC_NTP_EXT_LEN, &e),
                   P2PC_NTP_EXT_LEN);
  assert_int_equal(decode_quiet(two, sizeof two), P2PC_ERR_PROTO);
}

static void test_padding_not_checked(void **state) {
  (void)state;
  p2pc_ntp_header h = sample_header(), g;
  p2pc_ntp_ext e = sample_reply(), f;
  bool has_ext;
  uint8_t b[P2PC_NTP_PACKET_MAX + 8];
  size_t n = build(b, &h, &e);
  uint8_t *x = b + P2PC_NTP_HEADER_LEN;
  /* 12 + 11 + 48 + 6 + 1 = 78 bytes of content, then padding. */
  memset(x + 78, 0xee, P2PC_NTP_EXT_LEN - 78);
  assert_int_equal(decode(b, n, &g, &f, &has_ext), 0);
  assert_ext_eq(&f, &e);
  /* A request whose padding is not zero, in a 28-byte field (the least a
   * last field may be; 16 bytes of content). */
  p2pc_ntp_ext req;
  memset(&req, 0, sizeof req);
  req.kind = P2PC_NTP_EXT_REQUEST;
  snprintf(req.id, sizeof req.id, "abc");
  build(b, &h, &req);
  x[3] = 28;
  memset(x + 16, 0x55, 12);
  assert_int_equal(decode(b, 48 + 28, &g, &f, &has_ext), 0);
  assert_true(has_ext);
  assert_ext_eq(&f, &req);
  /* At 20 bytes the same field is taken for a legacy MAC. */
  x[3] = 20;
  assert_int_equal(decode(b, 48 + 20, &g, &f, &has_ext), 0);
  assert_false(has_ext);
  /* A longer field (a later layout of version 1): the content decodes. */
  build(b, &h, &e);
  x[3] = P2PC_NTP_EXT_LEN + 8;
  memset(x + P2PC_NTP_EXT_LEN, 0, 8);
  assert_int_equal(decode(b, sizeof b, &g, &f, &has_ext), 0);
  assert_ext_eq(&f, &e);
}

static void test_other_fields_and_mac(void **state) {
  (void)state;
  p2pc_ntp_header h = sample_header(), g;
  p2pc_ntp_ext e = sample_reply(), f;
  bool has_ext;
  uint8_t b[512];
  uint8_t ours[P2PC_NTP_EXT_LEN];
  assert_int_equal(p2pc_ntp_ext_put(ours, &e), P2PC_NTP_EXT_LEN);
  p2pc_ntp_header_put(b, &h);

  /* An unknown field (NTS-style unique identifier, type 0x0104), then
   * ours, then another unknown one, then a 20-byte MAC. */
  size_t n = 48;
  n += put_field(b + n, 0x0104, 36, 0xab);
  memcpy(b + n, ours, sizeof ours);
  n += sizeof ours;
  n += put_field(b + n, 0x0204, 16, 0x00);
  memset(b + n, 0xcd, 20);
  n += 20;
  assert_int_equal(decode(b, n, &g, &f, &has_ext), 0);
  assert_true(has_ext);
  assert_header_eq(&g, &h);
  assert_ext_eq(&f, &e);
  /* Without the MAC, and with a 24-byte one. */
  assert_int_equal(decode(b, n - 20, &g, &f, &has_ext), 0);
  assert_true(has_ext);
  memset(b + n, 0xcd, 4);
  assert_int_equal(decode(b, n + 4, &g, &f, &has_ext), 0);
  assert_true(has_ext);
  /* 25 trailing bytes cannot be a MAC; 1..3 cannot be anything. */
  assert_int_equal(decode_quiet(b, n + 5), P2PC_ERR_PROTO);
  assert_int_equal(decode_quiet(b, 48 + 36 + P2PC_NTP_EXT_LEN + 3),
                   P2PC_ERR_PROTO);
  /* The 16-byte field and 3 more bytes: 19 bytes, taken for a MAC (a last
   * field must be 28 bytes or more, RFC 7822 §7.5). */
  assert_int_equal(decode_quiet(b, n - 20 + 3), 0);

  /* Only unknown fields: header only. A type with our value's bytes
   * swapped is just another unknown type. */
  n = 48;
  n += put_field(b + n, 0xC1F5, 28, 0x11);
  n += put_field(b + n, 0x0000, 16, 0x00);
  assert_int_equal(decode(b, n, &g, &f, &has_ext), 0);
  assert_false(has_ext);

  /* Bare header + MAC of every legacy size (NTPv3 DES 12, MD5 20, SHA1
   * 24, crypto-NAK 4). */
  for (size_t mac = 0; mac <= 30; mac++) {
    memset(b + 48, 0x5a, mac);
    int want = mac == 0 || (mac >= 4 && mac <= 24) ? 0 : P2PC_ERR_PROTO;
    assert_int_equal(decode_quiet(b, 48 + mac), want);
  }
}

/* decode_full says what else a datagram carries: the fields not ours and
 * the MAC's length, what a server must not answer unverified. */
static void test_trailer_counted(void **state) {
  (void)state;
  p2pc_ntp_header h = sample_header(), g;
  p2pc_ntp_ext e = sample_reply(), f;
  bool has_ext;
  p2pc_ntp_trailer t;
  uint8_t b[512];
  p2pc_ntp_header_put(b, &h);
  struct {
    size_t fields[3]; /* lengths of foreign fields, 0 ends */
    bool ours;
    size_t mac;
  } cases[] = {
      {{0}, false, 0},
      {{0}, false, 4},
      {{0}, false, 20},
      {{0}, false, 24},
      {{0}, true, 0},
      {{0}, true, 20},
      {{28}, false, 0},
      {{16}, true, 0},
      {{36, 104, 40}, false, 0},
      {{36, 104, 40}, false, 24},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = 48;
    uint32_t nf = 0;
    for (int k = 0; k < 3 && cases[i].fields[k]; k++, nf++)
      n += put_field(b + n, (uint16_t)(0x0104 + 0x100 * k), cases[i].fields[k],
                     0x77);
    if (cases[i].ours) {
      assert_int_equal(p2pc_ntp_ext_put(b + n, &e), P2PC_NTP_EXT_LEN);
      n += P2PC_NTP_EXT_LEN;
    }
    memset(b + n, 0x3c, cases[i].mac);
    n += cases[i].mac;
    memset(&t, 0xa5, sizeof t);
    assert_int_equal(p2pc_ntp_decode_full(b, n, &g, &f, &has_ext, &t), 0);
    assert_int_equal(has_ext, cases[i].ours);
    assert_int_equal(t.fields, nf);
    assert_int_equal(t.mac_len, cases[i].mac);
  }
  /* Malformed: nothing written. */
  memset(&t, 0xa5, sizeof t);
  p2pc_ntp_trailer t0 = t;
  assert_int_equal(p2pc_ntp_decode_full(b, 48 + 2, &g, &f, &has_ext, &t),
                   P2PC_ERR_PROTO);
  assert_memory_equal(&t, &t0, sizeof t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_trailer_counted),
      cmocka_unit_test(test_ts_known_answers),
      cmocka_unit_test(test_ts_era_pivot),
      cmocka_unit_test(test_ts_round_trip),
      cmocka_unit_test(test_short_format),
      cmocka_unit_test(test_log2),
      cmocka_unit_test(test_offset_delay),
      cmocka_unit_test(test_offset_delay_limits),
      cmocka_unit_test(test_header_round_trip),
      cmocka_unit_test(test_client_requests),
      cmocka_unit_test(test_ext_round_trip),
      cmocka_unit_test(test_ext_put_rejects),
      cmocka_unit_test(test_ext_auth_len),
      cmocka_unit_test(test_truncations),
      cmocka_unit_test(test_bad_ext_rejected),
      cmocka_unit_test(test_padding_not_checked),
      cmocka_unit_test(test_other_fields_and_mac),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
