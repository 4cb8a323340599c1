/* SPDX-License-Identifier: MIT */
/* RFC 8573 symmetric keys for standard NTP clients
 * (src/core/wire/ntpauth.c, and their use by the NTP server through
 * timesync.h as the node drives it): nettle's AES-CMAC against RFC 4493's
 * vectors (and SP 800-38B's for AES-256); a request with a good MAC is
 * answered with a MAC that verifies, under the same key ID, over the
 * answer; a bad MAC, an unknown key ID, a truncated or SHA1-sized MAC gets
 * nothing and is counted; the rate limit still applies, its KoD signed;
 * without keys nothing changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ntpauth.h"
#include "timesync.h"

#define SEC 1000000000LL
#define MS 1000000LL
#define T0 (1000 * SEC)
#define L0 1700000000000000000LL

static void unhex(const char *h, uint8_t *out, size_t n) {
  assert_int_equal(strlen(h), 2 * n);
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
    out[i] = (uint8_t)v;
  }
}

/* RFC 4493 §4 (AES-128) and NIST SP 800-38B D.3 (AES-256). */
static void test_cmac_vectors(void **state) {
  (void)state;
  static const char msg[] = "6bc1bee22e409f96e93d7e117393172a"
                            "ae2d8a571e03ac9c9eb76fac45af8e51"
                            "30c81c46a35ce411e5fbc1191a0a52ef"
                            "f69f2445df4f9b17ad2b417be66c3710";
  uint8_t m[64];
  unhex(msg, m, sizeof m);
  p2pc_ntp_key k = {.id = 1, .len = 16};
  unhex("2b7e151628aed2a6abf7158809cf4f3c", k.key, 16);
  struct {
    size_t len;
    const char *mac;
  } v[] = {{0, "bb1d6929e95937287fa37d129b756746"},
           {16, "070a16b46b4d4144f79bdd9dd04a287c"},
           {40, "dfa66747de9ae63030ca32611497c827"},
           {64, "51f0bebf7e3b9d92fc49741779363cfe"}};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    uint8_t want[16], got[16];
    unhex(v[i].mac, want, 16);
    p2pc_ntpauth_cmac(&k, m, v[i].len, got);
    assert_memory_equal(got, want, 16);
  }
  p2pc_ntp_key k256 = {.id = 2, .len = 32};
  unhex("603deb1015ca71be2b73aef0857d7781"
        "1f352c073b6108d72d9810a30914dff4",
        k256.key, 32);
  uint8_t want[16], got[16];
  unhex("028962f61b7bf89efc6b551f4667d983", want, 16);
  p2pc_ntpauth_cmac(&k256, m, 0, got);
  assert_memory_equal(got, want, 16);
  unhex("28a7023f452e8f82bd4bf28d8c37c35c", want, 16);
  p2pc_ntpauth_cmac(&k256, m, 16, got);
  assert_memory_equal(got, want, 16);
}

static const p2pc_ntp_key keys[] = {
    {.id = 1, .len = 16, .key = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}},
    {.id = 0xfffffffeu, .len = 32, .key = {0xaa, 0xbb, [31] = 0xcc}},
};

static void test_keys_valid(void **state) {
  (void)state;
  p2pc_ntp_key k[P2PC_NTP_KEYS_MAX + 1];
  memset(k, 0, sizeof k);
  for (uint32_t i = 0; i <= P2PC_NTP_KEYS_MAX; i++)
    k[i] = (p2pc_ntp_key){.id = i + 1, .len = 16};
  assert_true(p2pc_ntpauth_keys_valid(NULL, 0));
  assert_true(p2pc_ntpauth_keys_valid(keys, 2));
  assert_true(p2pc_ntpauth_keys_valid(k, P2PC_NTP_KEYS_MAX));
  assert_false(p2pc_ntpauth_keys_valid(k, P2PC_NTP_KEYS_MAX + 1));
  k[3].id = 2; /* twice */
  assert_false(p2pc_ntpauth_keys_valid(k, 4));
  k[3].id = 0;
  assert_false(p2pc_ntpauth_keys_valid(k, 4));
  k[3].id = 4, k[3].len = 20; /* SHA1-sized */
  assert_false(p2pc_ntpauth_keys_valid(k, 4));
}

static p2pc_now at(int64_t since) {
  return (p2pc_now){.mono_ns = (uint64_t)(T0 + since), .local_ns = L0 + since};
}

static p2pc_timesync *make(const p2pc_ntp_key *k, uint32_t n) {
  p2pc_timesync_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.time_port = 7000;
  cfg.priority = 128;
  cfg.clock_class = 248;
  cfg.ntp_keys = k;
  cfg.ntp_nkeys = n;
  p2pc_timesync *ts = NULL;
  assert_int_equal(p2pc_timesync_new(&ts, p2pc_allocator_default(), "srv", 5,
                                     &cfg, 1, NULL, at(0)),
                   0);
  return ts;
}

static p2pc_wire_addr v4(uint8_t d) {
  return (p2pc_wire_addr){.family = 4, .addr = {192, 0, 2, d}, .port = 123};
}

/* A standard request, with a MAC under k (len 48 + 20) if k. */
static size_t request(uint8_t b[128], uint64_t xmt, const p2pc_ntp_key *k) {
  p2pc_ntp_header h = {
      .version = 4, .mode = P2PC_NTP_MODE_CLIENT, .poll = 6, .xmt = xmt};
  p2pc_ntp_header_put(b, &h);
  if (!k)
    return 48;
  p2pc_ntpauth_seal(k, b, 48);
  return 48 + P2PC_NTPAUTH_MAC_LEN;
}

typedef struct answer {
  bool got;
  p2pc_datagram d;
  p2pc_ntp_header h;
} answer;

static answer send_raw(p2pc_timesync *ts, const p2pc_wire_addr *from,
                       const uint8_t *b, size_t len, int64_t t) {
  p2pc_timesync_input(ts, from, b, len, L0 + t, false, at(t));
  answer a = {0};
  if (!p2pc_timesync_pop(ts, &a.d))
    return a;
  a.got = true;
  assert_true(a.d.len <= len); /* never more than was sent */
  p2pc_ntp_ext e;
  bool has_ext;
  assert_int_equal(p2pc_ntp_decode(a.d.data, a.d.len, &a.h, &e, &has_ext), 0);
  assert_false(has_ext);
  return a;
}

static p2pc_timesync_counters counters(p2pc_timesync *ts) {
  p2pc_tracking t;
  p2pc_timesync_tracking(ts, at(0), &t);
  return t.c;
}

/* Whether the answer ends with a MAC under key ID id that verifies. */
static bool signed_by(const answer *a, uint32_t id) {
  uint32_t k = 99;
  if (a->d.len != 48 + P2PC_NTPAUTH_MAC_LEN ||
      p2pc_ntpauth_check(keys, 2, a->d.data, a->d.len, &k) != P2PC_NTPAUTH_OK)
    return false;
  return keys[k].id == id;
}

static void test_good_mac_answered_signed(void **state) {
  (void)state;
  p2pc_timesync *ts = make(keys, 2);
  p2pc_wire_addr c = v4(1);
  uint8_t b[128];
  for (int i = 0; i < 2; i++) {
    size_t n = request(b, 0x1234 + (uint64_t)i, &keys[i]);
    answer a = send_raw(ts, &c, b, n, 0);
    assert_true(a.got);
    assert_int_equal(a.h.mode, P2PC_NTP_MODE_SERVER);
    assert_true(a.h.org == 0x1234 + (uint64_t)i);
    assert_true(signed_by(&a, keys[i].id));
    /* T3 is written by the core (it is under the MAC), not the runtime. */
    assert_false(a.d.stamp_xmt);
    assert_true(a.h.xmt == p2pc_ntp_ts_from_ns(L0 + a.d.xmt_corr));
    /* One bit changed anywhere and it no longer verifies. */
    a.d.data[45] ^= 1;
    assert_false(signed_by(&a, keys[i].id));
  }
  p2pc_timesync_counters k = counters(ts);
  assert_int_equal(k.answered_std, 2);
  assert_int_equal(k.answered_auth, 2);
  assert_int_equal(k.rx_bad_mac, 0);
  /* Unsigned requests are still answered, unsigned. */
  size_t n = request(b, 7, NULL);
  answer a = send_raw(ts, &c, b, n, 0);
  assert_true(a.got && a.d.len == 48 && a.d.stamp_xmt);
  assert_int_equal(counters(ts).answered_auth, 2);
  p2pc_timesync_free(ts);
}

static void test_bad_mac_unanswered(void **state) {
  (void)state;
  p2pc_timesync *ts = make(keys, 2);
  p2pc_wire_addr c = v4(2);
  uint8_t b[128];
  /* A digest with one bit wrong; the packet changed under the MAC. */
  size_t n = request(b, 1, &keys[0]);
  b[n - 1] ^= 0x80;
  assert_false(send_raw(ts, &c, b, n, 0).got);
  n = request(b, 2, &keys[0]);
  b[40] ^= 1;
  assert_false(send_raw(ts, &c, b, n, 0).got);
  /* An unknown key ID (a key of ours with another ID), key ID 0. */
  p2pc_ntp_key other = keys[0];
  other.id = 2;
  n = request(b, 3, &other);
  assert_false(send_raw(ts, &c, b, n, 0).got);
  other.id = 0;
  n = request(b, 4, &other);
  assert_false(send_raw(ts, &c, b, n, 0).got);
  /* The right key ID under another key (an MD5 MAC is this size too). */
  other = keys[0];
  other.key[0] ^= 1;
  n = request(b, 5, &other);
  assert_false(send_raw(ts, &c, b, n, 0).got);
  p2pc_timesync_counters k = counters(ts);
  assert_int_equal(k.rx_bad_mac, 5);
  /* Truncated (a 4-byte crypto-NAK up to 19 bytes) or SHA1-sized (24):
   * not a MAC we verify, unverified as without keys. */
  size_t sizes[] = {4, 8, 12, 16, 24};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    n = request(b, 10 + i, &keys[0]);
    n = 48 + sizes[i];
    memset(b + 68, 0x5c, sizeof b - 68);
    assert_false(send_raw(ts, &c, b, n, 0).got);
  }
  k = counters(ts);
  assert_int_equal(k.rx_bad_mac, 5);
  assert_int_equal(k.rx_unverified, 5);
  assert_int_equal(k.answered, 0);
  assert_int_equal(k.rate_limited, 0); /* dropped before the limit */
  p2pc_timesync_free(ts);
}

/* Without keys, a good MAC is one more MAC the node cannot verify. */
static void test_no_keys_unchanged(void **state) {
  (void)state;
  p2pc_timesync *ts = make(NULL, 0);
  p2pc_wire_addr c = v4(3);
  uint8_t b[128];
  size_t n = request(b, 1, &keys[0]);
  assert_false(send_raw(ts, &c, b, n, 0).got);
  n = request(b, 2, NULL);
  answer a = send_raw(ts, &c, b, n, 0);
  assert_true(a.got && a.d.len == 48 && a.d.stamp_xmt);
  p2pc_timesync_counters k = counters(ts);
  assert_int_equal(k.rx_unverified, 1);
  assert_int_equal(k.rx_bad_mac, 0);
  assert_int_equal(k.answered_auth, 0);
  assert_int_equal(k.answered_std, 1);
  p2pc_timesync_free(ts);
}

/* The rate limit applies to authenticated clients; the KoD is signed. */
static void test_limit_kod_signed(void **state) {
  (void)state;
  p2pc_timesync *ts = make(keys, 2);
  p2pc_wire_addr c = v4(4);
  uint8_t b[128];
  int answers = 0, kods = 0;
  for (int i = 0; i < 40; i++) {
    size_t n = request(b, 100 + (uint64_t)i, &keys[1]);
    answer a = send_raw(ts, &c, b, n, i * MS);
    if (!a.got)
      continue;
    assert_true(signed_by(&a, keys[1].id));
    if (a.h.stratum == 0) {
      assert_int_equal(a.h.refid, P2PC_NTP_KOD_RATE);
      kods++;
    } else {
      answers++;
    }
  }
  assert_int_equal(kods, 1);
  assert_true(answers >= 8 && answers < 40);
  p2pc_timesync_counters k = counters(ts);
  assert_int_equal(k.rate_kod, 1);
  assert_int_equal(k.answered_auth, (uint64_t)answers);
  assert_true(k.rate_limited == 40 - 8);
  p2pc_timesync_free(ts);
}

static void test_invalid_keys_refused(void **state) {
  (void)state;
  p2pc_ntp_key twice[2] = {keys[0], keys[0]};
  p2pc_timesync_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.ntp_keys = twice;
  cfg.ntp_nkeys = 2;
  p2pc_timesync *ts = NULL;
  assert_int_equal(p2pc_timesync_new(&ts, p2pc_allocator_default(), "srv", 5,
                                     &cfg, 1, NULL, at(0)),
                   P2PC_ERR_INVAL);
  assert_null(ts);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cmac_vectors),
      cmocka_unit_test(test_keys_valid),
      cmocka_unit_test(test_good_mac_answered_signed),
      cmocka_unit_test(test_bad_mac_unanswered),
      cmocka_unit_test(test_no_keys_unchanged),
      cmocka_unit_test(test_limit_kod_signed),
      cmocka_unit_test(test_invalid_keys_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
