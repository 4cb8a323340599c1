/* SPDX-License-Identifier: MIT */
/*
 * The Noise handshake (noise.h) against the published test vectors
 * (tests/vectors/noise_vectors.json, from cacophony and snow): every
 * handshake message byte for byte on both sides, the handshake hash where
 * the vector has one, then the transport messages after split. Then what
 * must fail, and leave the handshake failed: a flipped bit anywhere in any
 * handshake message, a wrong psk (at the message that first uses it),
 * every truncation, calls out of order, a low-order remote ephemeral,
 * messages over 65535 bytes or over the caller's buffer, bad arguments;
 * and the transport ciphers' nonce exhaustion, rekey and bad tags.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "noise.h"

#ifndef P2PC_NOISE_VECTORS
#error "P2PC_NOISE_VECTORS must name tests/vectors/noise_vectors.json"
#endif

#define MAXMSG 1024

/* ---- helpers ------------------------------------------------------------- */

static size_t unhex(const char *s, uint8_t *out, size_t cap) {
  size_t n = strlen(s);
  assert_true(n % 2 == 0 && n / 2 <= cap);
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
    out[i] = (uint8_t)v;
  }
  return n / 2;
}

/* A hex field of exactly 32 bytes, or NULL when the vector lacks it. */
static const uint8_t *key_field(const cJSON *v, const char *name,
                                uint8_t out[32]) {
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(v, name);
  if (!cJSON_IsString(f))
    return NULL;
  assert_int_equal(unhex(f->valuestring, out, 32), 32);
  return out;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  assert_true(n > 0);
  rewind(f);
  char *s = malloc((size_t)n + 1);
  assert_non_null(s);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  return s;
}

/* "Noise_XXpsk0+psk2_25519_ChaChaPoly_SHA256" -> base, mask. */
static void parse_name(const char *name, p2pc_noise_base *base,
                       unsigned *mask) {
  static const char *bases[] = {"NN", "NK", "XX"};
  assert_memory_equal(name, "Noise_", 6);
  const char *p = name + 6;
  int b = -1;
  for (int i = 0; i < 3; i++)
    if (strncmp(p, bases[i], 2) == 0)
      b = i;
  assert_true(b >= 0);
  p += 2;
  *mask = 0;
  while (strncmp(p, "psk", 3) == 0) {
    assert_true(p[3] >= '0' && p[3] <= '3');
    *mask |= 1u << (p[3] - '0');
    p += 4;
    if (*p == '+')
      p++;
  }
  assert_string_equal(p, "_25519_ChaChaPoly_SHA256");
  *base = (p2pc_noise_base)b;
  /* and the module builds the same name */
  char built[64];
  assert_int_equal(p2pc_noise_protocol_name(*base, *mask, built, sizeof built),
                   (int)strlen(name));
  assert_string_equal(built, name);
}

static void init_side(p2pc_noise_hs *hs, const cJSON *v, bool initiator,
                      p2pc_noise_base base, unsigned mask) {
  const char *pfx = initiator ? "init_" : "resp_";
  char field[32];
  uint8_t prologue[256], s[32], e[32], rs[32];
  uint8_t psks[P2PC_NOISE_MAX_PSKS][32];
  snprintf(field, sizeof field, "%sprologue", pfx);
  const cJSON *pro = cJSON_GetObjectItemCaseSensitive(v, field);
  size_t plen = cJSON_IsString(pro)
                    ? unhex(pro->valuestring, prologue, sizeof prologue)
                    : 0;
  snprintf(field, sizeof field, "%sstatic", pfx);
  const uint8_t *sp = key_field(v, field, s);
  snprintf(field, sizeof field, "%sephemeral", pfx);
  const uint8_t *ep = key_field(v, field, e);
  assert_non_null(ep);
  snprintf(field, sizeof field, "%sremote_static", pfx);
  const uint8_t *rsp = key_field(v, field, rs);
  snprintf(field, sizeof field, "%spsks", pfx);
  const cJSON *pk = cJSON_GetObjectItemCaseSensitive(v, field);
  size_t npsk = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, pk) {
    assert_true(npsk < P2PC_NOISE_MAX_PSKS);
    assert_int_equal(unhex(it->valuestring, psks[npsk], 32), 32);
    npsk++;
  }
  /* The vectors give the responder's remote static of XX too (it is
   * learned in the handshake, so the pattern has no use for it): only a
   * pre-message "<- s" takes one. */
  if (base != P2PC_NOISE_BASE_NK || !initiator)
    rsp = NULL;
  assert_int_equal(p2pc__noise_init_mask(hs, base, mask, initiator, prologue,
                                         plen, sp, ep, rsp, npsk ? psks : NULL,
                                         npsk),
                   0);
}

static unsigned nmsgs(p2pc_noise_base base) {
  return base == P2PC_NOISE_BASE_XX ? 3 : 2;
}

/* One vector: both sides through every message, byte for byte. */
static void run_vector(const cJSON *v) {
  const char *name =
      cJSON_GetObjectItemCaseSensitive(v, "protocol_name")->valuestring;
  p2pc_noise_base base;
  unsigned mask;
  parse_name(name, &base, &mask);
  p2pc_noise_hs ini, res;
  init_side(&ini, v, true, base, mask);
  init_side(&res, v, false, base, mask);
  const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(v, "messages");
  int count = cJSON_GetArraySize(msgs);
  unsigned hs_msgs = nmsgs(base);
  assert_true(count >= (int)hs_msgs);
  p2pc_noise_cipher c[2][2]; /* [side][0 send, 1 recv] */
  for (int i = 0; i < count; i++) {
    const cJSON *m = cJSON_GetArrayItem(msgs, i);
    uint8_t payload[MAXMSG], want[MAXMSG], out[MAXMSG], back[MAXMSG];
    size_t plen =
        unhex(cJSON_GetObjectItemCaseSensitive(m, "payload")->valuestring,
              payload, sizeof payload);
    size_t wlen =
        unhex(cJSON_GetObjectItemCaseSensitive(m, "ciphertext")->valuestring,
              want, sizeof want);
    size_t olen = 0, blen = 0;
    int from = i % 2; /* 0: the initiator writes */
    if ((unsigned)i < hs_msgs) {
      p2pc_noise_hs *w = from == 0 ? &ini : &res;
      p2pc_noise_hs *r = from == 0 ? &res : &ini;
      assert_int_equal(
          p2pc_noise_write(w, payload, plen, out, sizeof out, &olen), 0);
      assert_int_equal(olen, wlen);
      assert_memory_equal(out, want, wlen);
      assert_int_equal(p2pc_noise_read(r, out, olen, back, sizeof back, &blen),
                       0);
      assert_int_equal(blen, plen);
      if (plen)
        assert_memory_equal(back, payload, plen);
      if ((unsigned)i + 1 < hs_msgs) {
        assert_false(p2pc_noise_done(&ini));
        assert_false(p2pc_noise_done(&res));
        assert_null(p2pc_noise_handshake_hash(&ini));
      }
      continue;
    }
    if ((unsigned)i == hs_msgs) {
      assert_true(p2pc_noise_done(&ini));
      assert_true(p2pc_noise_done(&res));
      const uint8_t *h1 = p2pc_noise_handshake_hash(&ini);
      const uint8_t *h2 = p2pc_noise_handshake_hash(&res);
      assert_non_null(h1);
      assert_non_null(h2);
      assert_memory_equal(h1, h2, 32);
      uint8_t hh[32];
      if (key_field(v, "handshake_hash", hh))
        assert_memory_equal(h1, hh, 32);
      /* Each side knows the other's static key exactly when the pattern
       * has one, and it is the right one. */
      uint8_t s[32], pub[32];
      if (key_field(v, "resp_static", s)) {
        assert_int_equal(crypto_scalarmult_base(pub, s), 0);
        assert_non_null(p2pc_noise_remote_static(&ini));
        assert_memory_equal(p2pc_noise_remote_static(&ini), pub, 32);
      } else {
        assert_null(p2pc_noise_remote_static(&ini));
      }
      if (key_field(v, "init_static", s) && base == P2PC_NOISE_BASE_XX) {
        assert_int_equal(crypto_scalarmult_base(pub, s), 0);
        assert_memory_equal(p2pc_noise_remote_static(&res), pub, 32);
      } else {
        assert_null(p2pc_noise_remote_static(&res));
      }
      assert_int_equal(p2pc_noise_split(&ini, &c[0][0], &c[0][1]), 0);
      assert_int_equal(p2pc_noise_split(&res, &c[1][0], &c[1][1]), 0);
      /* h outlives the split; the keys do not */
      assert_memory_equal(p2pc_noise_handshake_hash(&ini), h2, 32);
      assert_int_equal(p2pc_noise_split(&ini, &c[0][0], &c[0][1]),
                       P2PC_ERR_CLOSED);
    }
    assert_int_equal(p2pc_noise_encrypt(&c[from][0], NULL, 0, payload, plen,
                                        out, sizeof out, &olen),
                     0);
    assert_int_equal(olen, wlen);
    assert_memory_equal(out, want, wlen);
    assert_int_equal(p2pc_noise_decrypt(&c[1 - from][1], NULL, 0, out, olen,
                                        back, sizeof back, &blen),
                     0);
    assert_int_equal(blen, plen);
    if (plen)
      assert_memory_equal(back, payload, plen);
  }
}

static void test_vectors(void **state) {
  (void)state;
  char *text = slurp(P2PC_NOISE_VECTORS);
  cJSON *doc = cJSON_Parse(text);
  assert_non_null(doc);
  const cJSON *vs = cJSON_GetObjectItemCaseSensitive(doc, "vectors");
  const cJSON *v;
  int n = 0, with_hash = 0;
  cJSON_ArrayForEach(v, vs) {
    print_message(
        "  %-52s (%s)\n",
        cJSON_GetObjectItemCaseSensitive(v, "protocol_name")->valuestring,
        cJSON_GetObjectItemCaseSensitive(v, "source")->valuestring);
    run_vector(v);
    n++;
    with_hash += cJSON_HasObjectItem(v, "handshake_hash");
  }
  print_message("  %d vectors passed, %d with a handshake hash\n", n,
                with_hash);
  assert_int_equal(n, 16); /* none skipped silently */
  assert_int_equal(with_hash, 8);
  cJSON_Delete(doc);
  free(text);
}

/* ---- a handshake of our own, for the negative tests ---------------------- */

static const uint8_t psk_a[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const uint8_t psk_b[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12};

static void fixed_key(uint8_t k[32], uint8_t seed) {
  for (int i = 0; i < 32; i++)
    k[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

typedef struct pair {
  p2pc_noise_hs ini, res;
  uint8_t ini_s[32], res_s[32], res_s_pub[32];
} pair;

/* Both sides of pattern pat with fixed keys; psk_res is the responder's
 * psk (psk_a on the initiator's side). */
static void pair_init(pair *p, p2pc_noise_pattern pat, const uint8_t *psk_res) {
  uint8_t ie[32], re[32];
  fixed_key(p->ini_s, 1);
  fixed_key(p->res_s, 2);
  fixed_key(ie, 3);
  fixed_key(re, 4);
  assert_int_equal(crypto_scalarmult_base(p->res_s_pub, p->res_s), 0);
  bool xx = pat >= P2PC_NOISE_XX && pat <= P2PC_NOISE_XXPSK3;
  bool nk = pat == P2PC_NOISE_NK || pat == P2PC_NOISE_NKPSK0 ||
            pat == P2PC_NOISE_NKPSK2;
  bool psk = pat >= P2PC_NOISE_XXPSK0;
  static const uint8_t prologue[] = "p2pclock test";
  assert_int_equal(p2pc_noise_init(&p->ini, pat, true, prologue,
                                   sizeof prologue, xx ? p->ini_s : NULL, ie,
                                   nk ? p->res_s_pub : NULL,
                                   psk ? psk_a : NULL),
                   0);
  assert_int_equal(p2pc_noise_init(&p->res, pat, false, prologue,
                                   sizeof prologue, xx || nk ? p->res_s : NULL,
                                   re, NULL, psk ? psk_res : NULL),
                   0);
}

static p2pc_noise_hs *writer(pair *p, unsigned i) {
  return i % 2 == 0 ? &p->ini : &p->res;
}
static p2pc_noise_hs *reader(pair *p, unsigned i) {
  return i % 2 == 0 ? &p->res : &p->ini;
}

static unsigned pattern_msgs(p2pc_noise_pattern pat) {
  return pat >= P2PC_NOISE_XX && pat <= P2PC_NOISE_XXPSK3 ? 3 : 2;
}

/* Message i's payload: empty for message 0 (so that every truncation of
 * an unencrypted first message is detectable: its length is exact). */
static size_t payload_of(unsigned i, uint8_t *buf) {
  if (i == 0)
    return 0;
  for (unsigned k = 0; k < 10 + i; k++)
    buf[k] = (uint8_t)(0x40 + i + k);
  return 10 + i;
}

/* Asserts that hs is failed: every call now answers P2PC_ERR_CLOSED. */
static void assert_dead(p2pc_noise_hs *hs) {
  uint8_t buf[MAXMSG];
  size_t n;
  p2pc_noise_cipher a, b;
  assert_true(p2pc_noise_failed(hs));
  assert_false(p2pc_noise_done(hs));
  assert_null(p2pc_noise_handshake_hash(hs));
  assert_null(p2pc_noise_remote_static(hs));
  assert_int_equal(p2pc_noise_write(hs, NULL, 0, buf, sizeof buf, &n),
                   P2PC_ERR_CLOSED);
  assert_int_equal(p2pc_noise_read(hs, buf, 48, buf, sizeof buf, &n),
                   P2PC_ERR_CLOSED);
  assert_int_equal(p2pc_noise_split(hs, &a, &b), P2PC_ERR_CLOSED);
  /* and no secret is left in it */
  static const p2pc_noise_hs zero;
  assert_memory_equal(hs, &zero, sizeof zero);
}

/* Runs messages 0..i-1 normally; returns message i as written. */
static size_t run_until(pair *p, p2pc_noise_pattern pat, unsigned i,
                        uint8_t *msg) {
  uint8_t payload[64] = {0}, back[MAXMSG];
  size_t n, b;
  (void)pat;
  for (unsigned k = 0; k <= i; k++) {
    size_t plen = payload_of(k, payload);
    assert_int_equal(
        p2pc_noise_write(writer(p, k), payload, plen, msg, MAXMSG, &n), 0);
    if (k < i)
      assert_int_equal(
          p2pc_noise_read(reader(p, k), msg, n, back, sizeof back, &b), 0);
  }
  return n;
}

/* Whether message i of pat carries a tag (a key is mixed in before its
 * payload): all but the first of NN and XX (no DH, and without a psk no
 * MixKey(e) either). */
static bool has_tag(p2pc_noise_pattern pat, unsigned i) {
  return i > 0 || (pat != P2PC_NOISE_NN && pat != P2PC_NOISE_XX);
}

/* Continues a handshake after message i was delivered as msg[0..n) and
 * returns the index of the first message whose read failed (hs_msgs if
 * none did). */
static unsigned continue_from(pair *p, unsigned hs_msgs, unsigned i,
                              const uint8_t *msg, size_t n) {
  uint8_t out[MAXMSG], back[MAXMSG], payload[64];
  size_t b, o;
  for (unsigned k = i;; k++) {
    const uint8_t *in = msg;
    size_t len = n;
    if (k > i) {
      size_t plen = payload_of(k, payload);
      int rv =
          p2pc_noise_write(writer(p, k), payload, plen, out, sizeof out, &o);
      assert_int_equal(rv, 0);
      in = out;
      len = o;
    }
    int rv = p2pc_noise_read(reader(p, k), in, len, back, sizeof back, &b);
    if (rv != 0) {
      assert_int_equal(rv, P2PC_ERR_PROTO);
      assert_dead(reader(p, k));
      return k;
    }
    if (k + 1 == hs_msgs)
      return hs_msgs;
  }
}

static const p2pc_noise_pattern all_patterns[] = {
    P2PC_NOISE_NN,     P2PC_NOISE_NK,     P2PC_NOISE_XX,     P2PC_NOISE_XXPSK0,
    P2PC_NOISE_XXPSK1, P2PC_NOISE_XXPSK2, P2PC_NOISE_XXPSK3, P2PC_NOISE_NNPSK0,
    P2PC_NOISE_NNPSK2, P2PC_NOISE_NKPSK0, P2PC_NOISE_NKPSK2};
#define NPAT (sizeof all_patterns / sizeof all_patterns[0])

/* Our own pairs complete and agree (the base for the tests below). */
static void test_own_handshakes(void **state) {
  (void)state;
  for (size_t k = 0; k < NPAT; k++) {
    pair p;
    uint8_t msg[MAXMSG];
    pair_init(&p, all_patterns[k], psk_a);
    unsigned hm = pattern_msgs(all_patterns[k]);
    size_t n = run_until(&p, all_patterns[k], 0, msg);
    assert_int_equal(continue_from(&p, hm, 0, msg, n), hm);
    assert_true(p2pc_noise_done(&p.ini));
    assert_true(p2pc_noise_done(&p.res));
    assert_memory_equal(p2pc_noise_handshake_hash(&p.ini),
                        p2pc_noise_handshake_hash(&p.res), 32);
    if (all_patterns[k] != P2PC_NOISE_NN &&
        all_patterns[k] != P2PC_NOISE_NNPSK0 &&
        all_patterns[k] != P2PC_NOISE_NNPSK2)
      assert_memory_equal(p2pc_noise_remote_static(&p.ini), p.res_s_pub, 32);
  }
}

/* A flipped bit anywhere in any handshake message fails that message's
 * read, or (when the message carries no tag: nothing authenticates it
 * yet) the next one's, which depends on the transcript hash; the side
 * that failed is dead. The handshake never completes. */
static void test_bit_flips(void **state) {
  (void)state;
  unsigned runs = 0;
  for (size_t k = 0; k < NPAT; k++) {
    p2pc_noise_pattern pat = all_patterns[k];
    unsigned hm = pattern_msgs(pat);
    for (unsigned i = 0; i < hm; i++) {
      pair p;
      uint8_t msg[MAXMSG];
      pair_init(&p, pat, psk_a);
      size_t n = run_until(&p, pat, i, msg);
      for (size_t bit = 0; bit < n * 8; bit++) {
        pair q = p; /* the state is a value: replay from here */
        uint8_t bad[MAXMSG];
        memcpy(bad, msg, n);
        bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        unsigned failed = continue_from(&q, hm, i, bad, n);
        assert_int_equal(failed, has_tag(pat, i) ? i : i + 1);
        runs++;
      }
    }
  }
  print_message("  %u flipped bits, all rejected\n", runs);
}

/* A wrong psk fails at the first message keyed by it: psk0 and psk1 in
 * message 0, psk2 in message 1, psk3 in message 2. */
static void test_wrong_psk(void **state) {
  (void)state;
  static const struct {
    p2pc_noise_pattern pat;
    unsigned fails_at;
  } cases[] = {{P2PC_NOISE_XXPSK0, 0}, {P2PC_NOISE_XXPSK1, 0},
               {P2PC_NOISE_XXPSK2, 1}, {P2PC_NOISE_XXPSK3, 2},
               {P2PC_NOISE_NNPSK0, 0}, {P2PC_NOISE_NNPSK2, 1},
               {P2PC_NOISE_NKPSK0, 0}, {P2PC_NOISE_NKPSK2, 1}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    pair p;
    uint8_t msg[MAXMSG];
    pair_init(&p, cases[k].pat, psk_b);
    size_t n = run_until(&p, cases[k].pat, 0, msg);
    assert_int_equal(continue_from(&p, pattern_msgs(cases[k].pat), 0, msg, n),
                     cases[k].fails_at);
  }
}

/* A responder given the wrong psk and then the right one before the first
 * message (the keyring's trial on a copy) completes; once the psk is
 * mixed in, or without a psk pattern, set_psk is refused. */
static void test_set_psk(void **state) {
  (void)state;
  pair p;
  uint8_t msg[MAXMSG];
  pair_init(&p, P2PC_NOISE_XXPSK0, psk_b);
  p2pc_noise_hs copy = p.res;
  size_t n = run_until(&p, P2PC_NOISE_XXPSK0, 0, msg);
  assert_int_equal(continue_from(&p, 3, 0, msg, n), 0); /* psk_b: fails */
  pair_init(&p, P2PC_NOISE_XXPSK0, psk_b);
  p.res = copy;
  assert_int_equal(p2pc_noise_set_psk(&p.res, psk_a), 0);
  n = run_until(&p, P2PC_NOISE_XXPSK0, 0, msg);
  assert_int_equal(continue_from(&p, 3, 0, msg, n), 3); /* all three */
  assert_int_equal(p2pc_noise_set_psk(&p.res, psk_a), P2PC_ERR_INVAL);
  pair_init(&p, P2PC_NOISE_XX, NULL);
  assert_int_equal(p2pc_noise_set_psk(&p.res, psk_a), P2PC_ERR_INVAL);
}

/* Every truncation of every handshake message fails its read. */
static void test_truncation(void **state) {
  (void)state;
  for (size_t k = 0; k < NPAT; k++) {
    p2pc_noise_pattern pat = all_patterns[k];
    for (unsigned i = 0; i < pattern_msgs(pat); i++) {
      pair p;
      uint8_t msg[MAXMSG], back[MAXMSG];
      size_t b;
      pair_init(&p, pat, psk_a);
      size_t n = run_until(&p, pat, i, msg);
      for (size_t len = 0; len < n; len++) {
        p2pc_noise_hs r = *reader(&p, i);
        assert_int_equal(p2pc_noise_read(&r, msg, len, back, sizeof back, &b),
                         P2PC_ERR_PROTO);
        assert_dead(&r);
      }
      /* and one byte more is a wrong payload, not an out-of-bounds read */
      if (has_tag(pat, i)) {
        p2pc_noise_hs r = *reader(&p, i);
        msg[n] = 0;
        assert_int_equal(p2pc_noise_read(&r, msg, n + 1, back, sizeof back, &b),
                         P2PC_ERR_PROTO);
      }
    }
  }
}

/* Calls out of order are refused, and kill the handshake. */
static void test_out_of_order(void **state) {
  (void)state;
  pair p;
  uint8_t msg[MAXMSG], back[MAXMSG];
  size_t n, b;
  p2pc_noise_cipher s, r;

  pair_init(&p, P2PC_NOISE_XX, NULL);
  assert_int_equal(p2pc_noise_read(&p.ini, msg, 32, back, sizeof back, &b),
                   P2PC_ERR_INVAL); /* the initiator speaks first */
  assert_dead(&p.ini);
  assert_int_equal(p2pc_noise_write(&p.res, NULL, 0, msg, sizeof msg, &n),
                   P2PC_ERR_INVAL); /* the responder listens first */
  assert_dead(&p.res);

  pair_init(&p, P2PC_NOISE_XX, NULL);
  assert_int_equal(p2pc_noise_write(&p.ini, NULL, 0, msg, sizeof msg, &n), 0);
  assert_int_equal(p2pc_noise_write(&p.ini, NULL, 0, msg, sizeof msg, &n),
                   P2PC_ERR_INVAL); /* twice in a row */
  assert_dead(&p.ini);

  pair_init(&p, P2PC_NOISE_XX, NULL);
  assert_int_equal(p2pc_noise_split(&p.ini, &s, &r), P2PC_ERR_INVAL);
  assert_dead(&p.ini); /* split before the end */

  pair_init(&p, P2PC_NOISE_NN, NULL);
  n = run_until(&p, P2PC_NOISE_NN, 0, msg);
  assert_int_equal(continue_from(&p, 2, 0, msg, n), 2);
  assert_int_equal(p2pc_noise_write(&p.ini, NULL, 0, msg, sizeof msg, &n),
                   P2PC_ERR_INVAL); /* a message after the last */
  assert_dead(&p.ini);
  assert_int_equal(p2pc_noise_split(&p.res, &s, &s),
                   P2PC_ERR_INVAL); /* one cipher for both directions */
  assert_dead(&p.res);

  /* a zeroed state is a dead one */
  p2pc_noise_hs z;
  memset(&z, 0, sizeof z);
  assert_dead(&z);
}

/* Low-order points as the peer's ephemeral: X25519 gives all zeros (or
 * libsodium refuses the point), which is a handshake failure. */
static void test_low_order_ephemeral(void **state) {
  (void)state;
  static const uint8_t low[][32] = {
      {0}, /* 0 */
      {1}, /* 1 */
      {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
       0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
       0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00}, /* 8 */
  };
  for (size_t k = 0; k < sizeof low / sizeof low[0]; k++) {
    uint8_t msg[MAXMSG], back[MAXMSG];
    size_t n, b;
    pair p;
    /* XX, the initiator: message 1's "e, ee" */
    pair_init(&p, P2PC_NOISE_XX, NULL);
    n = run_until(&p, P2PC_NOISE_XX, 1, msg);
    memcpy(msg, low[k], 32);
    assert_int_equal(p2pc_noise_read(&p.ini, msg, n, back, sizeof back, &b),
                     P2PC_ERR_PROTO);
    assert_dead(&p.ini);
    /* XX, the responder: message 0 has no DH, so "ee" fails when it
     * writes message 1 */
    pair_init(&p, P2PC_NOISE_XX, NULL);
    n = run_until(&p, P2PC_NOISE_XX, 0, msg);
    memcpy(msg, low[k], 32);
    assert_int_equal(p2pc_noise_read(&p.res, msg, n, back, sizeof back, &b), 0);
    assert_int_equal(p2pc_noise_write(&p.res, NULL, 0, msg, sizeof msg, &n),
                     P2PC_ERR_PROTO);
    assert_dead(&p.res);
    /* NK, the responder: message 0's "e, es" */
    pair_init(&p, P2PC_NOISE_NK, NULL);
    n = run_until(&p, P2PC_NOISE_NK, 0, msg);
    memcpy(msg, low[k], 32);
    assert_int_equal(p2pc_noise_read(&p.res, msg, n, back, sizeof back, &b),
                     P2PC_ERR_PROTO);
    assert_dead(&p.res);
  }
}

/* Sizes: 65535 bytes at most, and the caller's buffers are respected. */
static void test_limits(void **state) {
  (void)state;
  static uint8_t big[P2PC_NOISE_MAX_MSG + 2], out[P2PC_NOISE_MAX_MSG + 2];
  size_t n, b;
  pair p;
  /* XX message 0 is e (32) + payload: 65503 bytes fit, 65504 do not */
  pair_init(&p, P2PC_NOISE_XX, NULL);
  assert_int_equal(p2pc_noise_write(&p.ini, big, P2PC_NOISE_MAX_MSG - 32, out,
                                    sizeof out, &n),
                   0);
  assert_int_equal(n, P2PC_NOISE_MAX_MSG);
  assert_int_equal(p2pc_noise_read(&p.res, out, n, big, sizeof big, &b), 0);
  assert_int_equal(b, P2PC_NOISE_MAX_MSG - 32);
  pair_init(&p, P2PC_NOISE_XX, NULL);
  assert_int_equal(p2pc_noise_write(&p.ini, big, P2PC_NOISE_MAX_MSG - 31, out,
                                    sizeof out, &n),
                   P2PC_ERR_TOOBIG);
  assert_dead(&p.ini);
  assert_int_equal(
      p2pc_noise_read(&p.res, out, P2PC_NOISE_MAX_MSG + 1, big, sizeof big, &b),
      P2PC_ERR_TOOBIG);
  assert_dead(&p.res);
  /* the out buffer one byte short: nothing written */
  pair_init(&p, P2PC_NOISE_XX, NULL);
  memset(out, 0xAA, 64);
  assert_int_equal(p2pc_noise_write(&p.ini, big, 10, out, 41, &n),
                   P2PC_ERR_TOOBIG);
  for (int i = 0; i < 64; i++)
    assert_int_equal(out[i], 0xAA);
  assert_dead(&p.ini);
  /* the payload buffer one byte short */
  pair_init(&p, P2PC_NOISE_XX, NULL);
  assert_int_equal(p2pc_noise_write(&p.ini, big, 10, out, 42, &n), 0);
  assert_int_equal(p2pc_noise_read(&p.res, out, n, big, 9, &b),
                   P2PC_ERR_TOOBIG);
  assert_dead(&p.res);
}

/* Keys given where the pattern has no use for them, or missing where it
 * does, are refused. */
static void test_bad_init(void **state) {
  (void)state;
  uint8_t k[32], pub[32];
  p2pc_noise_hs hs;
  fixed_key(k, 9);
  assert_int_equal(crypto_scalarmult_base(pub, k), 0);
  assert_int_equal(
      p2pc_noise_init(&hs, P2PC_NOISE_XX, true, NULL, 0, k, k, NULL, psk_a),
      P2PC_ERR_INVAL); /* a psk XX never mixes in */
  assert_dead(&hs);
  assert_int_equal(
      p2pc_noise_init(&hs, P2PC_NOISE_XXPSK3, true, NULL, 0, k, k, NULL, NULL),
      P2PC_ERR_INVAL); /* no psk for XXpsk3 */
  assert_int_equal(
      p2pc_noise_init(&hs, P2PC_NOISE_XX, true, NULL, 0, NULL, k, NULL, NULL),
      P2PC_ERR_INVAL); /* no static key for XX */
  assert_int_equal(
      p2pc_noise_init(&hs, P2PC_NOISE_XX, true, NULL, 0, k, NULL, NULL, NULL),
      P2PC_ERR_INVAL); /* no ephemeral */
  assert_int_equal(
      p2pc_noise_init(&hs, P2PC_NOISE_NK, true, NULL, 0, NULL, k, NULL, NULL),
      P2PC_ERR_INVAL); /* NK without the responder's key */
  assert_int_equal(
      p2pc_noise_init(&hs, P2PC_NOISE_XX, true, NULL, 0, k, k, pub, NULL),
      P2PC_ERR_INVAL); /* XX learns it */
  assert_int_equal(
      p2pc_noise_init(&hs, P2PC_NOISE_NN, true, NULL, 0, k, k, NULL, NULL),
      P2PC_ERR_INVAL); /* NN has no static key */
  assert_int_equal(p2pc_noise_init(&hs, P2PC_NOISE_PATTERN_COUNT, true, NULL, 0,
                                   NULL, k, NULL, NULL),
                   P2PC_ERR_INVAL);
  assert_int_equal(
      p2pc_noise_init(&hs, P2PC_NOISE_NN, true, NULL, 3, NULL, k, NULL, NULL),
      P2PC_ERR_INVAL); /* a prologue length without bytes */
  assert_int_equal(
      p2pc_noise_init(&hs, P2PC_NOISE_NN, true, NULL, 0, NULL, k, NULL, NULL),
      0);
  assert_false(p2pc_noise_failed(&hs));
  char name[64];
  assert_int_equal(
      p2pc_noise_protocol_name(P2PC_NOISE_BASE_NN, 1u << 3, name, sizeof name),
      P2PC_ERR_INVAL); /* NN has no third message */
  assert_int_equal(
      p2pc_noise_protocol_name(P2PC_NOISE_BASE_XX, 1u << 3, name, 36),
      P2PC_ERR_TOOBIG);
  assert_int_equal(
      p2pc_noise_protocol_name(P2PC_NOISE_BASE_XX, 1u << 3, name, 37), 36);
  assert_string_equal(name, "Noise_XXpsk3_25519_ChaChaPoly_SHA256");
}

/* A split pair of ciphers over XXpsk3 with our keys. */
static void split_pair(p2pc_noise_cipher c[2][2]) {
  pair p;
  uint8_t msg[MAXMSG];
  pair_init(&p, P2PC_NOISE_XXPSK3, psk_a);
  size_t n = run_until(&p, P2PC_NOISE_XXPSK3, 0, msg);
  assert_int_equal(continue_from(&p, 3, 0, msg, n), 3);
  assert_int_equal(p2pc_noise_split(&p.ini, &c[0][0], &c[0][1]), 0);
  assert_int_equal(p2pc_noise_split(&p.res, &c[1][0], &c[1][1]), 0);
  /* the handshake kept no key */
  for (size_t i = 0; i < sizeof p.ini.ck; i++)
    assert_int_equal(p.ini.ck[i] | p.ini.cs.k[i] | p.ini.e_priv[i] |
                         p.ini.s_priv[i] | p.ini.psk[0][i],
                     0);
}

/* Nonce 2^64 - 1 is reserved: the last usable one works, then FULL. */
static void test_nonce_exhaustion(void **state) {
  (void)state;
  p2pc_noise_cipher c[2][2];
  uint8_t out[64], back[64];
  const uint8_t m[] = "last";
  size_t n, b;
  split_pair(c);
  p2pc_noise_set_nonce(&c[0][0], UINT64_MAX - 1);
  p2pc_noise_set_nonce(&c[1][1], UINT64_MAX - 1);
  assert_int_equal(
      p2pc_noise_encrypt(&c[0][0], NULL, 0, m, sizeof m, out, sizeof out, &n),
      0);
  assert_int_equal(
      p2pc_noise_decrypt(&c[1][1], NULL, 0, out, n, back, sizeof back, &b), 0);
  assert_memory_equal(back, m, sizeof m);
  assert_true(c[0][0].n == UINT64_MAX);
  assert_int_equal(
      p2pc_noise_encrypt(&c[0][0], NULL, 0, m, sizeof m, out, sizeof out, &n),
      P2PC_ERR_FULL);
  assert_true(c[0][0].n == UINT64_MAX); /* no wrap to 0 */
  assert_int_equal(
      p2pc_noise_decrypt(&c[1][1], NULL, 0, out, n, back, sizeof back, &b),
      P2PC_ERR_FULL);
}

/* Bad tags, associated data, sizes and rekey on the transport ciphers. */
static void test_transport(void **state) {
  (void)state;
  p2pc_noise_cipher c[2][2];
  uint8_t out[128], back[128];
  const uint8_t m[] = "hello, peer";
  const uint8_t ad[] = "link 7";
  size_t n, b;
  split_pair(c);
  /* the responder's send is the initiator's recv */
  assert_memory_equal(c[0][0].k, c[1][1].k, 32);
  assert_memory_equal(c[0][1].k, c[1][0].k, 32);
  assert_memory_not_equal(c[0][0].k, c[0][1].k, 32);

  assert_int_equal(p2pc_noise_encrypt(&c[0][0], ad, sizeof ad, m, sizeof m, out,
                                      sizeof out, &n),
                   0);
  assert_int_equal(n, sizeof m + 16);
  for (size_t bit = 0; bit < n * 8; bit++) {
    uint8_t bad[128];
    memcpy(bad, out, n);
    bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    assert_int_equal(p2pc_noise_decrypt(&c[1][1], ad, sizeof ad, bad, n, back,
                                        sizeof back, &b),
                     P2PC_ERR_PROTO);
  }
  assert_int_equal(
      p2pc_noise_decrypt(&c[1][1], NULL, 0, out, n, back, sizeof back, &b),
      P2PC_ERR_PROTO); /* other associated data */
  for (size_t len = 0; len < 16; len++)
    assert_int_equal(p2pc_noise_decrypt(&c[1][1], ad, sizeof ad, out, len, back,
                                        sizeof back, &b),
                     P2PC_ERR_PROTO);
  assert_int_equal(p2pc_noise_decrypt(&c[1][1], ad, sizeof ad, out, n, back,
                                      sizeof m - 1, &b),
                   P2PC_ERR_TOOBIG);
  /* none of that used a nonce: the real message still decrypts */
  assert_true(c[1][1].n == 0);
  assert_int_equal(p2pc_noise_decrypt(&c[1][1], ad, sizeof ad, out, n, back,
                                      sizeof back, &b),
                   0);
  assert_memory_equal(back, m, sizeof m);
  /* a replay uses the next nonce and fails */
  assert_int_equal(p2pc_noise_decrypt(&c[1][1], ad, sizeof ad, out, n, back,
                                      sizeof back, &b),
                   P2PC_ERR_PROTO);

  /* rekey: both sides in step keep talking; one side alone cannot */
  uint8_t old[32];
  memcpy(old, c[1][0].k, 32);
  assert_int_equal(p2pc_noise_rekey(&c[1][0]), 0);
  assert_memory_not_equal(old, c[1][0].k, 32);
  /* the spec's REKEY: ENCRYPT(k, 2^64 - 1, "", 32 zeros)[0..32) */
  uint8_t zeros[32] = {0}, nonce[12], want[48];
  memset(nonce, 0, 4);
  memset(nonce + 4, 0xff, 8);
  crypto_aead_chacha20poly1305_ietf_encrypt(want, NULL, zeros, 32, NULL, 0,
                                            NULL, nonce, old);
  assert_memory_equal(c[1][0].k, want, 32);
  assert_int_equal(
      p2pc_noise_encrypt(&c[1][0], NULL, 0, m, sizeof m, out, sizeof out, &n),
      0);
  assert_int_equal(
      p2pc_noise_decrypt(&c[0][1], NULL, 0, out, n, back, sizeof back, &b),
      P2PC_ERR_PROTO);
  assert_int_equal(p2pc_noise_rekey(&c[0][1]), 0);
  assert_int_equal(
      p2pc_noise_decrypt(&c[0][1], NULL, 0, out, n, back, sizeof back, &b), 0);
  assert_memory_equal(back, m, sizeof m);

  /* sizes */
  static uint8_t big[P2PC_NOISE_MAX_MSG + 16];
  assert_int_equal(p2pc_noise_encrypt(&c[0][0], NULL, 0, big,
                                      P2PC_NOISE_MAX_MSG - 15, big, sizeof big,
                                      &n),
                   P2PC_ERR_TOOBIG);
  assert_int_equal(p2pc_noise_encrypt(&c[0][0], NULL, 0, m, sizeof m, out,
                                      sizeof m + 15, &n),
                   P2PC_ERR_TOOBIG);
  assert_int_equal(p2pc_noise_decrypt(&c[1][1], NULL, 0, big,
                                      P2PC_NOISE_MAX_MSG + 1, big, sizeof big,
                                      &b),
                   P2PC_ERR_TOOBIG);
  /* a wiped cipher has no key */
  p2pc_noise_cipher_wipe(&c[0][0]);
  assert_int_equal(
      p2pc_noise_encrypt(&c[0][0], NULL, 0, m, sizeof m, out, sizeof out, &n),
      P2PC_ERR_INVAL);
  assert_int_equal(p2pc_noise_rekey(&c[0][0]), P2PC_ERR_INVAL);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors),
      cmocka_unit_test(test_own_handshakes),
      cmocka_unit_test(test_bit_flips),
      cmocka_unit_test(test_wrong_psk),
      cmocka_unit_test(test_set_psk),
      cmocka_unit_test(test_truncation),
      cmocka_unit_test(test_out_of_order),
      cmocka_unit_test(test_low_order_ephemeral),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_bad_init),
      cmocka_unit_test(test_nonce_exhaustion),
      cmocka_unit_test(test_transport),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
