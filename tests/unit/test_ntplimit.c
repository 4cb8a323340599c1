/* SPDX-License-Identifier: MIT */
/* The rate limit of the answers to standard NTP clients
 * (src/core/clock/ntplimit.c), driven through timesync.h as the node
 * drives it, and on its own for the table's bound: a burst is answered, a
 * flood from one address gets burst + elapsed/interval answers, the leak
 * and a few KoD RATE (stratum 0, no larger than the request); other
 * addresses, loopback and our nodes' own exchanges are not limited;
 * requests with a MAC or a foreign extension field are never answered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "timesync.h"

#define SEC 1000000000LL
#define MS 1000000LL
#define T0 (1000 * SEC)          /* mono at creation */
#define L0 1700000000000000000LL /* local clock at creation */

static p2pc_now at(int64_t since) {
  return (p2pc_now){.mono_ns = (uint64_t)(T0 + since), .local_ns = L0 + since};
}

static uint64_t seed(void) {
  const char *s = getenv("P2PC_SEED");
  uint64_t v = s ? strtoull(s, NULL, 0) : 1;
  fprintf(stderr, "test_ntplimit: seed %llu (P2PC_SEED replays it)\n",
          (unsigned long long)v);
  return v;
}

/* A lone node; lim == NULL: the default limits. */
static p2pc_timesync *make(const p2pc_ntplimit_config *lim) {
  p2pc_timesync_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.time_port = 7000;
  cfg.priority = 128;
  cfg.clock_class = 248;
  if (lim)
    cfg.ntp_limit = *lim;
  p2pc_timesync *ts = NULL;
  assert_int_equal(p2pc_timesync_new(&ts, p2pc_allocator_default(), "srv", 5,
                                     &cfg, seed(), NULL, at(0)),
                   0);
  return ts;
}

static p2pc_wire_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d,
                         uint16_t port) {
  return (p2pc_wire_addr){.family = 4, .addr = {a, b, c, d}, .port = port};
}

typedef struct reply {
  bool got;
  size_t len;
  p2pc_ntp_header h;
  bool has_ext;
} reply;

/* Sends b[0..len) from `from` at t; the node's answer, if any (the queue
 * is emptied: at most one answer). */
static reply send_raw(p2pc_timesync *ts, const p2pc_wire_addr *from,
                      const uint8_t *b, size_t len, int64_t t) {
  p2pc_timesync_input(ts, from, b, len, L0 + t, false, at(t));
  reply r = {0};
  p2pc_datagram d;
  if (!p2pc_timesync_pop(ts, &d))
    return r;
  assert_false(p2pc_timesync_pop(ts, &d) && "one answer per request");
  r.got = true;
  r.len = d.len;
  assert_true(d.to.family == from->family && d.to.port == from->port &&
              memcmp(d.to.addr, from->addr, 16) == 0);
  p2pc_ntp_ext e;
  assert_int_equal(p2pc_ntp_decode(d.data, d.len, &r.h, &e, &r.has_ext), 0);
  return r;
}

/* A standard client's 48-byte request, transmit field xmt. */
static void std_request(uint8_t b[48], uint64_t xmt, int8_t poll) {
  p2pc_ntp_header h = {
      .version = 4, .mode = P2PC_NTP_MODE_CLIENT, .poll = poll, .xmt = xmt};
  p2pc_ntp_header_put(b, &h);
}

static reply send_std(p2pc_timesync *ts, const p2pc_wire_addr *from,
                      uint64_t xmt, int64_t t) {
  uint8_t b[48];
  std_request(b, xmt, 6);
  reply r = send_raw(ts, from, b, sizeof b, t);
  if (r.got) {
    assert_true(r.len <= sizeof b); /* never more than was sent */
    assert_int_equal(r.h.mode, P2PC_NTP_MODE_SERVER);
    assert_false(r.has_ext);
    assert_true(r.h.org == xmt);
  }
  return r;
}

static bool is_kod(const reply *r) { return r->got && r->h.stratum == 0; }

static void check_kod(const reply *r) {
  assert_int_equal(r->h.stratum, 0);
  assert_int_equal(r->h.refid, P2PC_NTP_KOD_RATE); /* "RATE" */
  assert_int_equal(r->h.li, P2PC_NTP_LI_UNSYNC);
  assert_true(r->h.poll >= P2PC_NTPLIMIT_DEF_INTERVAL);
  assert_int_equal(r->len, P2PC_NTP_HEADER_LEN);
}

static p2pc_timesync_counters counters(p2pc_timesync *ts, int64_t t) {
  p2pc_tracking tr;
  p2pc_timesync_tracking(ts, at(t), &tr);
  return tr.c;
}

/* ---- through the node's clock -------------------------------------------- */

static void test_burst_answered(void **state) {
  (void)state;
  p2pc_timesync *ts = make(NULL);
  p2pc_wire_addr c = v4(192, 0, 2, 1, 123);
  /* 8 at once: all answered, none a KoD (the node is unsynchronized:
   * stratum 16, never 0). */
  for (int i = 0; i < 8; i++) {
    reply r = send_std(ts, &c, 100 + (uint64_t)i, i * MS);
    assert_true(r.got);
    assert_int_equal(r.h.stratum, P2PC_NTP_STRATUM_UNSYNC);
  }
  p2pc_timesync_counters k = counters(ts, 0);
  assert_int_equal(k.answered_std, 8);
  assert_int_equal(k.rate_limited, 0);
  /* Then one per 8 s: a client polling every 8 s (and one polling every
   * 64 s from another port of another address) is always answered. */
  for (int i = 1; i <= 50; i++) {
    assert_true(send_std(ts, &c, 1000 + (uint64_t)i, i * 8 * SEC).got);
    p2pc_wire_addr c2 = v4(192, 0, 2, 2, (uint16_t)(40000 + i));
    assert_true(send_std(ts, &c2, 5000 + (uint64_t)i, i * 64 * SEC).got);
  }
  assert_int_equal(counters(ts, 0).rate_limited, 0);
  p2pc_timesync_free(ts);
}

/* A flood of `n` requests `gap` apart from one address (any port): what
 * it got. */
typedef struct flood_result {
  uint32_t answers, kods;
} flood_result;

static flood_result flood(p2pc_timesync *ts, const p2pc_wire_addr *from,
                          uint32_t n, int64_t gap, int64_t t0) {
  flood_result f = {0};
  for (uint32_t i = 0; i < n; i++) {
    p2pc_wire_addr a = *from;
    a.port = (uint16_t)(1024 + i % 60000); /* the port does not matter */
    reply r = send_std(ts, &a, 0xf100d000000ull + i, t0 + (int64_t)i * gap);
    if (is_kod(&r)) {
      check_kod(&r);
      f.kods++;
    } else if (r.got) {
      f.answers++;
    }
  }
  return f;
}

static void test_flood_bounded_no_leak(void **state) {
  (void)state;
  /* Without the leak the count is exact: 1,000 requests 100 ms apart
   * (99.9 s) get the burst of 8, then one at 8, 16, ... 96 s: 20. */
  p2pc_ntplimit_config lim = {.interval = 3, .burst = 8, .leak = 0};
  p2pc_timesync *ts = make(&lim);
  p2pc_wire_addr c = v4(198, 51, 100, 7, 0);
  flood_result f = flood(ts, &c, 1000, 100 * MS, 0);
  assert_int_equal(f.answers, 8 + 12);
  /* A KoD at most every 8 s: the first over the limit (0.8 s), then
   * 8.8, 16.8, ... */
  assert_true(f.kods >= 1);
  assert_true(f.kods <= 1 + 100 / 8);
  p2pc_timesync_counters k = counters(ts, 0);
  assert_int_equal(k.answered_std, f.answers);
  assert_int_equal(k.rate_kod, f.kods);
  assert_int_equal(k.rate_limited, 1000 - f.answers);
  assert_int_equal(k.rate_leaked, 0);
  assert_int_equal(k.rx, 1000);
  p2pc_timesync_free(ts);
}

static void test_flood_bounded_default(void **state) {
  (void)state;
  /* The defaults (interval 3, burst 8, leak 2): 10,000 requests 10 ms
   * apart (100 s): 8 + 12 within the limit, a quarter of the rest leaked
   * (at random: 2,495 within 4 standard deviations of 43), KoDs at most
   * one per 8 s. */
  p2pc_timesync *ts = make(NULL);
  p2pc_wire_addr c = v4(203, 0, 113, 9, 0);
  uint32_t n = 10000;
  flood_result f = flood(ts, &c, n, 10 * MS, 0);
  p2pc_timesync_counters k = counters(ts, 0);
  assert_int_equal(k.answered_std, f.answers);
  assert_int_equal(k.rate_kod, f.kods);
  assert_int_equal(k.rate_limited, n - (f.answers - k.rate_leaked));
  uint32_t within = f.answers - (uint32_t)k.rate_leaked;
  assert_int_equal(within, 8 + 12);
  double over = n - within, mean = over / 4, sd = 43.3;
  assert_true(k.rate_leaked > mean - 4 * sd && k.rate_leaked < mean + 4 * sd);
  assert_true(f.kods >= 1 && f.kods <= 1 + 100 / 8);
  /* The limit holds on: a minute later the address has its burst back. */
  int64_t t = (int64_t)n * 10 * MS + 80 * SEC;
  flood_result g = flood(ts, &c, 8, MS, t);
  assert_int_equal(g.answers, 8);
  assert_int_equal(g.kods, 0);
  p2pc_timesync_free(ts);
}

static void test_other_address_unaffected(void **state) {
  (void)state;
  p2pc_ntplimit_config lim = {.interval = 3, .burst = 8, .leak = 0};
  p2pc_timesync *ts = make(&lim);
  p2pc_wire_addr bad = v4(198, 51, 100, 7, 123);
  p2pc_wire_addr good = v4(198, 51, 100, 8, 123); /* the next address */
  p2pc_wire_addr good6 = {.family = 6,
                          .addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 7},
                          .port = 123}; /* the same last byte, in v6 */
  /* 2,000 from `bad` in 2 s; amid them 8 from each of the others. */
  uint32_t bad_answers = 0, good_answers = 0;
  for (int i = 0; i < 2000; i++) {
    reply r = send_std(ts, &bad, (uint64_t)i, i * MS);
    bad_answers += r.got && !is_kod(&r);
    if (i % 250 == 0) {
      r = send_std(ts, &good, 7000 + (uint64_t)i, i * MS);
      good_answers += r.got && !is_kod(&r);
      r = send_std(ts, &good6, 9000 + (uint64_t)i, i * MS);
      good_answers += r.got && !is_kod(&r);
    }
  }
  assert_int_equal(bad_answers, 8);
  assert_int_equal(good_answers, 16);
  p2pc_timesync_counters k = counters(ts, 0);
  assert_int_equal(k.rate_limited, 2000 - 8);
  assert_int_equal(k.rate_kod, 1); /* one per 8 s */
  p2pc_timesync_free(ts);
}

static void test_loopback_not_limited(void **state) {
  (void)state;
  p2pc_timesync *ts = make(NULL);
  p2pc_wire_addr lo = v4(127, 0, 0, 1, 5000);
  p2pc_wire_addr lo6 = {.family = 6, .addr = {[15] = 1}, .port = 5000};
  flood_result f = flood(ts, &lo, 500, 10 * MS, 0);
  flood_result f6 = flood(ts, &lo6, 500, 10 * MS, 0);
  assert_int_equal(f.answers, 500);
  assert_int_equal(f6.answers, 500);
  assert_int_equal(counters(ts, 0).rate_limited, 0);
  p2pc_timesync_free(ts);
  /* ... unless asked. */
  p2pc_ntplimit_config lim = {
      .interval = 3, .burst = 8, .leak = 0, .loopback = true};
  ts = make(&lim);
  f = flood(ts, &lo, 500, 10 * MS, 0);
  assert_int_equal(f.answers, 8);
  p2pc_timesync_free(ts);
  /* ... and off is off. */
  lim = (p2pc_ntplimit_config){.burst = 8, .off = true};
  ts = make(&lim);
  p2pc_wire_addr c = v4(192, 0, 2, 1, 123);
  f = flood(ts, &c, 500, 10 * MS, 0);
  assert_int_equal(f.answers, 500);
  p2pc_timesync_free(ts);
}

static void test_many_addresses_bounded(void **state) {
  (void)state;
  /* 100,000 addresses, one request each, 1 ms apart, amid which two
   * honest clients poll every 8 s and every 64 s: everyone answered
   * (forgotten addresses start again with a full bucket), the table
   * holds at most P2PC_NTPLIMIT_SLOTS. */
  p2pc_timesync *ts = make(NULL);
  p2pc_wire_addr h1 = v4(192, 0, 2, 1, 123), h2 = v4(192, 0, 2, 2, 123);
  uint32_t n = 100000, got = 0, honest = 0;
  for (uint32_t i = 0; i < n; i++) {
    int64_t t = (int64_t)i * MS;
    p2pc_wire_addr a =
        v4(10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 123);
    if (i % 2 == 1) { /* IPv6 too */
      a.family = 6;
      memset(a.addr, 0, 16);
      a.addr[0] = 0x20, a.addr[1] = 0x01, a.addr[2] = 0x0d, a.addr[3] = 0xb8;
      a.addr[13] = (uint8_t)(i >> 16), a.addr[14] = (uint8_t)(i >> 8);
      a.addr[15] = (uint8_t)i;
    }
    got += send_std(ts, &a, i, t).got;
    if (i % 8000 == 0)
      honest += send_std(ts, &h1, 1 + i, t).got;
    if (i % 64000 == 0)
      honest += send_std(ts, &h2, 2 + i, t).got;
  }
  assert_int_equal(got, n);
  assert_int_equal(honest, 13 + 2);
  /* A minute later, the honest client's burst as before. */
  flood_result f = flood(ts, &h1, 8, MS, (int64_t)n * MS + 60 * SEC);
  assert_int_equal(f.answers, 8);
  p2pc_timesync_counters k = counters(ts, 0);
  assert_int_equal(k.rate_limited, 0);
  p2pc_timesync_free(ts);
}

/* Requests asking for authentication the node cannot give. */
static void test_unverified_unanswered(void **state) {
  (void)state;
  p2pc_timesync *ts = make(NULL);
  p2pc_wire_addr c = v4(192, 0, 2, 1, 123);
  p2pc_wire_addr lo = v4(127, 0, 0, 1, 123);
  uint8_t b[512];
  size_t sizes[] = {
      48 + 4 + 16, /* MD5 MAC */
      48 + 4 + 20, /* SHA1 MAC */
      48 + 4,      /* crypto-NAK */
      48 + 4 + 8,  /* DES-CBC MAC (NTPv3) */
  };
  uint32_t sent = 0;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    std_request(b, 77 + i, 6);
    memset(b + 48, 0x5c, sizes[i] - 48);
    b[48] = 0, b[49] = 0, b[50] = 0; /* key id: 0 for the crypto-NAK */
    b[51] = sizes[i] == 48 + 4 ? 0 : (uint8_t)(i + 1);
    assert_false(send_raw(ts, &c, b, sizes[i], 0).got);
    assert_false(send_raw(ts, &lo, b, sizes[i], 0).got);
    b[0] = (b[0] & 0xC7) | (3 << 3); /* NTPv3 */
    assert_false(send_raw(ts, &c, b, sizes[i], 0).got);
    sent += 3;
  }
  /* NTS (RFC 8915): Unique Identifier (36), Cookie (104), Authenticator
   * (40) after the header. */
  std_request(b, 99, 6);
  size_t n = 48;
  uint16_t types[] = {0x0104, 0x0204, 0x0404};
  size_t lens[] = {36, 104, 40};
  for (int k = 0; k < 3; k++) {
    memset(b + n, 0x42, lens[k]);
    b[n] = (uint8_t)(types[k] >> 8), b[n + 1] = (uint8_t)types[k];
    b[n + 2] = 0, b[n + 3] = (uint8_t)lens[k];
    n += lens[k];
  }
  assert_false(send_raw(ts, &c, b, n, 0).got);
  /* Any field not ours, 28 bytes. */
  std_request(b, 98, 6);
  memset(b + 48, 0, 28);
  b[48] = 0x20, b[49] = 0x05, b[51] = 28;
  assert_false(send_raw(ts, &c, b, 48 + 28, 0).got);
  /* Our nodes' request, with a MAC added. */
  std_request(b, 97, 6);
  p2pc_ntp_ext e = {.kind = P2PC_NTP_EXT_REQUEST};
  strcpy(e.id, "peer");
  assert_int_equal(p2pc_ntp_ext_put(b + 48, &e), P2PC_NTP_EXT_LEN);
  memset(b + P2PC_NTP_PACKET_MAX, 0x11, 20);
  assert_false(send_raw(ts, &c, b, P2PC_NTP_PACKET_MAX + 20, 0).got);
  sent += 3;
  p2pc_timesync_counters k = counters(ts, 0);
  assert_int_equal(k.rx_unverified, sent);
  assert_int_equal(k.answered, 0);
  assert_int_equal(k.rate_limited, 0); /* dropped before the limit */
  /* The same address's plain requests are still answered (a burst). */
  assert_true(send_std(ts, &c, 5, 0).got);
  /* ... and our nodes' without the MAC. */
  reply r = send_raw(ts, &c, b, P2PC_NTP_PACKET_MAX, 0);
  assert_true(r.got && r.has_ext);
  p2pc_timesync_free(ts);
}

/* Our nodes' exchanges: a neighbour polling at 8 a second from the same
 * address as a flooding standard client is answered every time. */
static void test_peer_exchanges_unlimited(void **state) {
  (void)state;
  p2pc_timesync *ts = make(NULL);
  p2pc_wire_addr peer = v4(10, 0, 0, 2, 7000);
  p2pc_wire_addr std = v4(10, 0, 0, 2, 123);
  uint8_t b[P2PC_NTP_PACKET_MAX];
  p2pc_ntp_ext e = {.kind = P2PC_NTP_EXT_REQUEST};
  strcpy(e.id, "peer");
  uint32_t answered = 0, n = 2000;
  for (uint32_t i = 0; i < n; i++) {
    int64_t t = (int64_t)i * 125 * MS;
    std_request(b, 0xabc00000ull + i, -3);
    assert_int_equal(p2pc_ntp_ext_put(b + 48, &e), P2PC_NTP_EXT_LEN);
    reply r = send_raw(ts, &peer, b, sizeof b, t);
    if (r.got && r.has_ext && r.h.stratum != 0 && r.len == sizeof b)
      answered++;
    send_std(ts, &std, i, t);
    send_std(ts, &std, i + n, t + MS);
  }
  assert_int_equal(answered, n);
  p2pc_timesync_counters k = counters(ts, 0);
  assert_int_equal(k.answered - k.answered_std, n);
  assert_true(k.rate_limited > n); /* the standard flood was limited */
  p2pc_timesync_free(ts);
}

/* ---- the table on its own ------------------------------------------------ */

typedef struct counting {
  size_t allocs, live;
} counting;

static void *count_realloc(void *p, size_t n, void *ud) {
  counting *c = ud;
  if (!p) {
    c->allocs++;
    c->live++;
  }
  return realloc(p, n);
}

static void count_free(void *p, void *ud) {
  counting *c = ud;
  if (p)
    c->live--;
  free(p);
}

static void test_table_bounded(void **state) {
  (void)state;
  counting cn = {0};
  p2pc_allocator a = {count_realloc, count_free, &cn};
  p2pc_ntplimit_config cfg = {0};
  p2pc_ntplimit l;
  p2pc_ntplimit_init(&l, &a, &cfg, seed(), 1);
  assert_int_equal(cn.allocs, 0); /* nothing until used */
  assert_int_equal(p2pc_ntplimit_count(&l), 0);
  p2pc_addr x = {.family = 4, .addr = {10, 0, 0, 0}};
  uint32_t most = 0;
  for (uint32_t i = 0; i < 100000; i++) {
    x.addr[1] = (uint8_t)(i >> 16), x.addr[2] = (uint8_t)(i >> 8);
    x.addr[3] = (uint8_t)i;
    assert_int_equal(p2pc_ntplimit_check(&l, &x, (uint64_t)i * MS),
                     P2PC_NTPLIMIT_PASS);
    uint32_t c = p2pc_ntplimit_count(&l);
    if (c > most)
      most = c;
    if (i % 997 == 0)
      assert_true(c <= P2PC_NTPLIMIT_SLOTS);
  }
  assert_true(most <= P2PC_NTPLIMIT_SLOTS);
  /* Nearly full: an address goes into its own set of 8, so a few sets
   * may still have a free way when others are full. */
  assert_true(p2pc_ntplimit_count(&l) > P2PC_NTPLIMIT_SLOTS * 9 / 10);
  assert_int_equal(cn.allocs, 1);
  assert_true(l.replaced > 100000 - P2PC_NTPLIMIT_SLOTS - 1);
  p2pc_ntplimit_fini(&l);
  assert_int_equal(cn.live, 0);
}

/* The least recently seen of a set goes first: an address seen often
 * stays remembered (and limited) through a flood of new ones. */
static void test_recent_kept(void **state) {
  (void)state;
  p2pc_ntplimit_config cfg = {.interval = 3, .burst = 8, .leak = 0};
  p2pc_ntplimit l;
  p2pc_ntplimit_init(&l, p2pc_allocator_default(), &cfg, seed(), 1);
  p2pc_addr bad = {.family = 4, .addr = {192, 0, 2, 66}};
  uint64_t t = 0;
  for (int i = 0; i < 8; i++)
    assert_int_equal(p2pc_ntplimit_check(&l, &bad, t), P2PC_NTPLIMIT_PASS);
  assert_int_equal(p2pc_ntplimit_check(&l, &bad, t), P2PC_NTPLIMIT_KOD);
  assert_int_equal(p2pc_ntplimit_check(&l, &bad, t), P2PC_NTPLIMIT_DROP);
  /* 5,000 new addresses, 1 ms apart, with `bad` in between every 10:
   * it is never forgotten (it would get a fresh burst: PASS). */
  p2pc_addr x = {.family = 4, .addr = {10, 9, 0, 0}};
  uint32_t passed = 0;
  for (uint32_t i = 0; i < 5000; i++) {
    t += MS;
    x.addr[2] = (uint8_t)(i >> 8), x.addr[3] = (uint8_t)i;
    p2pc_ntplimit_check(&l, &x, t);
    if (i % 10 == 0)
      passed += p2pc_ntplimit_check(&l, &bad, t) == P2PC_NTPLIMIT_PASS;
  }
  assert_int_equal(passed, 0); /* 5 s: no token back yet */
  p2pc_ntplimit_fini(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_burst_answered),
      cmocka_unit_test(test_flood_bounded_no_leak),
      cmocka_unit_test(test_flood_bounded_default),
      cmocka_unit_test(test_other_address_unaffected),
      cmocka_unit_test(test_loopback_not_limited),
      cmocka_unit_test(test_many_addresses_bounded),
      cmocka_unit_test(test_unverified_unanswered),
      cmocka_unit_test(test_peer_exchanges_unlimited),
      cmocka_unit_test(test_table_bounded),
      cmocka_unit_test(test_recent_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
