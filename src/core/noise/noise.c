/* SPDX-License-Identifier: MIT */
/*
 * The Noise handshake and transport ciphers (noise.h): the spec's
 * CipherState, SymmetricState and HandshakeState (sections 5.1-5.3) over
 * libsodium's X25519, ChaCha20-Poly1305 (IETF) and SHA256, with a small
 * token engine for the patterns of noise.h and their psk modifiers
 * (section 9). Every error path goes through fail(), which wipes the whole
 * state, so a handshake is either progressing with checked inputs or dead;
 * nothing here trusts a length it did not check against the message.
 */
#include "noise.h"

#include <sodium.h>

#include <string.h>

enum { ST_FAILED = 0, ST_ACTIVE, ST_DONE, ST_SPLIT };

/* Tokens; 0 ends a message's list. The psk tokens are not in the table:
 * the modifiers of the mask place them (psk0 first in message 0, pskN last
 * in message N - 1). */
enum { T_END = 0, T_E, T_S, T_EE, T_ES, T_SE, T_SS };

#define MAX_MSGS 3
#define MAX_TOKENS 5
#define DHLEN P2PC_NOISE_KEYLEN

typedef struct pattern_def {
  char name[3];
  uint8_t nmsgs;
  bool pre_resp_s; /* "<- s" before the handshake (NK) */
  bool init_s;     /* the initiator has a static key */
  bool resp_s;     /* the responder has a static key */
  uint8_t tokens[MAX_MSGS][MAX_TOKENS];
} pattern_def;

static const pattern_def patterns[P2PC_NOISE_BASE_COUNT] = {
    [P2PC_NOISE_BASE_NN] = {"NN", 2, false, false, false, {{T_E}, {T_E, T_EE}}},
    [P2PC_NOISE_BASE_NK] =
        {"NK", 2, true, false, true, {{T_E, T_ES}, {T_E, T_EE}}},
    [P2PC_NOISE_BASE_XX] = {"XX",
                            3,
                            false,
                            true,
                            true,
                            {{T_E}, {T_E, T_EE, T_S, T_ES}, {T_S, T_SE}}},
};

/* The public enum as a base and a psk mask. */
static const struct {
  uint8_t base, mask;
} named[P2PC_NOISE_PATTERN_COUNT] = {
    [P2PC_NOISE_NN] = {P2PC_NOISE_BASE_NN, 0},
    [P2PC_NOISE_NK] = {P2PC_NOISE_BASE_NK, 0},
    [P2PC_NOISE_XX] = {P2PC_NOISE_BASE_XX, 0},
    [P2PC_NOISE_XXPSK0] = {P2PC_NOISE_BASE_XX, 1u << 0},
    [P2PC_NOISE_XXPSK1] = {P2PC_NOISE_BASE_XX, 1u << 1},
    [P2PC_NOISE_XXPSK2] = {P2PC_NOISE_BASE_XX, 1u << 2},
    [P2PC_NOISE_XXPSK3] = {P2PC_NOISE_BASE_XX, 1u << 3},
    [P2PC_NOISE_NNPSK0] = {P2PC_NOISE_BASE_NN, 1u << 0},
    [P2PC_NOISE_NNPSK2] = {P2PC_NOISE_BASE_NN, 1u << 2},
    [P2PC_NOISE_NKPSK0] = {P2PC_NOISE_BASE_NK, 1u << 0},
    [P2PC_NOISE_NKPSK2] = {P2PC_NOISE_BASE_NK, 1u << 2},
};

static const char suite[] = "_25519_ChaChaPoly_SHA256";

/* ---- failure ------------------------------------------------------------- */

/* Every error of a handshake ends here: all of it wiped, state failed (a
 * zeroed state is a failed one). Returns err for the caller to pass on. */
static int fail(p2pc_noise_hs *hs, int err) {
  sodium_memzero(hs, sizeof *hs);
  return err;
}

/* ---- CipherState --------------------------------------------------------- */

/* The ChaChaPoly nonce of the spec: 32 bits of zeros, then n as a 64-bit
 * little-endian integer. */
static void nonce_bytes(uint8_t out[12], uint64_t n) {
  memset(out, 0, 4);
  for (int i = 0; i < 8; i++)
    out[4 + i] = (uint8_t)(n >> (8 * i));
}

/* libsodium is not told about empty buffers by a NULL pointer. */
static const uint8_t empty_buf[1];
static const uint8_t *nz(const uint8_t *p) { return p ? p : empty_buf; }

/* ENCRYPT(k, n, ad, plain): out gets len + 16 bytes. */
static void aead_encrypt(const uint8_t k[32], uint64_t n, const uint8_t *ad,
                         size_t adlen, const uint8_t *plain, size_t len,
                         uint8_t *out) {
  uint8_t nonce[12];
  unsigned long long clen;
  nonce_bytes(nonce, n);
  crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, nz(plain), len, nz(ad),
                                            adlen, NULL, nonce, k);
}

/* DECRYPT(k, n, ad, msg): out gets len - 16 bytes; 0 or -1 (bad tag). */
static int aead_decrypt(const uint8_t k[32], uint64_t n, const uint8_t *ad,
                        size_t adlen, const uint8_t *msg, size_t len,
                        uint8_t *out) {
  uint8_t nonce[12];
  uint8_t dummy[1];
  unsigned long long mlen;
  nonce_bytes(nonce, n);
  return crypto_aead_chacha20poly1305_ietf_decrypt(
      len > P2PC_NOISE_TAGLEN ? out : dummy, &mlen, NULL, msg, len, nz(ad),
      adlen, nonce, k);
}

/* ---- SymmetricState ------------------------------------------------------ */

static void mix_hash(p2pc_noise_hs *hs, const uint8_t *data, size_t len) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, hs->h, sizeof hs->h);
  crypto_hash_sha256_update(&st, nz(data), len);
  crypto_hash_sha256_final(&st, hs->h);
}

/* HMAC-SHA256(key, a || b). */
static void hmac(const uint8_t key[32], const uint8_t *a, size_t alen,
                 const uint8_t *b, size_t blen, uint8_t out[32]) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key, 32);
  crypto_auth_hmacsha256_update(&st, nz(a), alen);
  crypto_auth_hmacsha256_update(&st, nz(b), blen);
  crypto_auth_hmacsha256_final(&st, out);
  sodium_memzero(&st, sizeof st);
}

/* The spec's HKDF(chaining_key, ikm, num_outputs) with num_outputs 2 (o3
 * NULL) or 3. The outputs may alias ck. */
static void hkdf(const uint8_t ck[32], const uint8_t *ikm, size_t ikmlen,
                 uint8_t o1[32], uint8_t o2[32], uint8_t *o3) {
  static const uint8_t one = 1, two = 2, three = 3;
  uint8_t temp[32], t1[32], t2[32], t3[32];
  hmac(ck, ikm, ikmlen, NULL, 0, temp);
  hmac(temp, &one, 1, NULL, 0, t1);
  hmac(temp, t1, 32, &two, 1, t2);
  if (o3)
    hmac(temp, t2, 32, &three, 1, t3);
  memcpy(o1, t1, 32);
  memcpy(o2, t2, 32);
  if (o3)
    memcpy(o3, t3, 32);
  sodium_memzero(temp, sizeof temp);
  sodium_memzero(t1, sizeof t1);
  sodium_memzero(t2, sizeof t2);
  sodium_memzero(t3, sizeof t3);
}

static void init_key(p2pc_noise_cipher *c, const uint8_t k[32]) {
  memcpy(c->k, k, 32);
  c->n = 0;
  c->has_key = true;
}

static void mix_key(p2pc_noise_hs *hs, const uint8_t *ikm, size_t len) {
  uint8_t k[32];
  hkdf(hs->ck, ikm, len, hs->ck, k, NULL);
  init_key(&hs->cs, k);
  sodium_memzero(k, sizeof k);
}

static void mix_key_and_hash(p2pc_noise_hs *hs, const uint8_t ikm[32]) {
  uint8_t th[32], k[32];
  hkdf(hs->ck, ikm, 32, hs->ck, th, k);
  mix_hash(hs, th, sizeof th);
  init_key(&hs->cs, k);
  sodium_memzero(th, sizeof th);
  sodium_memzero(k, sizeof k);
}

/* EncryptAndHash: out gets len (+ 16 with a key) bytes. The nonce cannot
 * run out within a handshake (a few messages after each MixKey), but the
 * check costs nothing. */
static int encrypt_and_hash(p2pc_noise_hs *hs, const uint8_t *plain, size_t len,
                            uint8_t *out, size_t *out_len) {
  size_t n = len;
  if (hs->cs.has_key) {
    if (hs->cs.n == UINT64_MAX)
      return P2PC_ERR_FULL;
    aead_encrypt(hs->cs.k, hs->cs.n++, hs->h, sizeof hs->h, plain, len, out);
    n += P2PC_NOISE_TAGLEN;
  } else if (len > 0) {
    memcpy(out, plain, len);
  }
  mix_hash(hs, out, n);
  *out_len = n;
  return 0;
}

/* DecryptAndHash of msg[0..len): out gets len (- 16 with a key) bytes. */
static int decrypt_and_hash(p2pc_noise_hs *hs, const uint8_t *msg, size_t len,
                            uint8_t *out) {
  if (hs->cs.has_key) {
    if (len < P2PC_NOISE_TAGLEN)
      return P2PC_ERR_PROTO;
    if (hs->cs.n == UINT64_MAX)
      return P2PC_ERR_FULL;
    if (aead_decrypt(hs->cs.k, hs->cs.n, hs->h, sizeof hs->h, msg, len, out) !=
        0)
      return P2PC_ERR_PROTO;
    hs->cs.n++;
  } else if (len > 0) {
    memcpy(out, msg, len);
  }
  mix_hash(hs, msg, len);
  return 0;
}

/* ---- HandshakeState ------------------------------------------------------ */

/* MixKey(DH(priv, pub)). libsodium's X25519 refuses low-order points and an
 * all-zero result (-1): a handshake failure, as the spec allows. */
static int mix_dh(p2pc_noise_hs *hs, const uint8_t priv[32],
                  const uint8_t pub[32]) {
  uint8_t shared[32];
  if (crypto_scalarmult(shared, priv, pub) != 0) {
    sodium_memzero(shared, sizeof shared);
    return P2PC_ERR_PROTO;
  }
  mix_key(hs, shared, sizeof shared);
  sodium_memzero(shared, sizeof shared);
  return 0;
}

static int token_dh(p2pc_noise_hs *hs, uint8_t t) {
  bool ini = hs->initiator;
  switch (t) {
  case T_EE:
    return mix_dh(hs, hs->e_priv, hs->re);
  case T_ES:
    return ini ? mix_dh(hs, hs->e_priv, hs->rs)
               : mix_dh(hs, hs->s_priv, hs->re);
  case T_SE:
    return ini ? mix_dh(hs, hs->s_priv, hs->re)
               : mix_dh(hs, hs->e_priv, hs->rs);
  case T_SS:
    return mix_dh(hs, hs->s_priv, hs->rs);
  default:
    return P2PC_ERR_INVAL; /* our bug: a token without a DH */
  }
}

static void mix_psk(p2pc_noise_hs *hs) {
  mix_key_and_hash(hs, hs->psk[hs->psk_next]);
  sodium_memzero(hs->psk[hs->psk_next], 32);
  hs->psk_next++;
}

static bool psk_before(const p2pc_noise_hs *hs, unsigned m) {
  return m == 0 && (hs->psk_mask & 1u);
}
static bool psk_after(const p2pc_noise_hs *hs, unsigned m) {
  return (hs->psk_mask >> (m + 1)) & 1u;
}

/* The length message m will have with a payload of len bytes (len is at
 * most P2PC_NOISE_MAX_MSG, so nothing overflows). */
static size_t message_len(const p2pc_noise_hs *hs, unsigned m, size_t len) {
  const uint8_t *tok = patterns[hs->base].tokens[m];
  bool has_key = hs->cs.has_key || psk_before(hs, m);
  size_t n = 0;
  for (int i = 0; i < MAX_TOKENS && tok[i] != T_END; i++) {
    if (tok[i] == T_E) {
      n += DHLEN;
      if (hs->psk_mask)
        has_key = true;
    } else if (tok[i] == T_S) {
      n += DHLEN + (has_key ? P2PC_NOISE_TAGLEN : 0);
    } else {
      has_key = true;
    }
  }
  if (psk_after(hs, m))
    has_key = true;
  return n + len + (has_key ? P2PC_NOISE_TAGLEN : 0);
}

/* After the last message: the secrets that split does not need go now. */
static void finish(p2pc_noise_hs *hs) {
  sodium_memzero(hs->s_priv, sizeof hs->s_priv);
  sodium_memzero(hs->e_priv, sizeof hs->e_priv);
  sodium_memzero(hs->psk, sizeof hs->psk);
  sodium_memzero(&hs->cs, sizeof hs->cs);
  hs->state = ST_DONE;
}

int p2pc_noise_protocol_name(p2pc_noise_base base, unsigned psk_mask,
                             char *name, size_t cap) {
  if ((unsigned)base >= P2PC_NOISE_BASE_COUNT ||
      psk_mask >> (patterns[base].nmsgs + 1) != 0)
    return P2PC_ERR_INVAL;
  char buf[64];
  size_t n = 0;
  memcpy(buf, "Noise_", 6);
  n = 6;
  memcpy(buf + n, patterns[base].name, 2);
  n += 2;
  bool first = true;
  for (unsigned i = 0; i < P2PC_NOISE_MAX_PSKS; i++) {
    if (!((psk_mask >> i) & 1u))
      continue;
    if (!first)
      buf[n++] = '+';
    memcpy(buf + n, "psk", 3);
    n += 3;
    buf[n++] = (char)('0' + i);
    first = false;
  }
  memcpy(buf + n, suite, sizeof suite - 1);
  n += sizeof suite - 1;
  if (n + 1 > cap)
    return P2PC_ERR_TOOBIG;
  memcpy(name, buf, n);
  name[n] = '\0';
  return (int)n;
}

int p2pc__noise_init_mask(p2pc_noise_hs *hs, p2pc_noise_base base,
                          unsigned psk_mask, bool initiator,
                          const uint8_t *prologue, size_t prologue_len,
                          const uint8_t *s_priv, const uint8_t *e_priv,
                          const uint8_t *rs_pub,
                          const uint8_t (*psks)[P2PC_NOISE_KEYLEN],
                          size_t npsk) {
  if (!hs)
    return P2PC_ERR_INVAL;
  sodium_memzero(hs, sizeof *hs);
  char name[64];
  int nlen = p2pc_noise_protocol_name(base, psk_mask, name, sizeof name);
  if (nlen < 0)
    return fail(hs, nlen);
  const pattern_def *p = &patterns[base];
  bool want_s = initiator ? p->init_s : p->resp_s;
  bool want_rs = initiator && p->pre_resp_s;
  size_t want_psks = 0;
  for (unsigned i = 0; i < P2PC_NOISE_MAX_PSKS; i++)
    want_psks += (psk_mask >> i) & 1u;
  if (!e_priv || (s_priv != NULL) != want_s || (rs_pub != NULL) != want_rs ||
      npsk != want_psks || (npsk > 0 && !psks) ||
      (prologue_len > 0 && !prologue))
    return fail(hs, P2PC_ERR_INVAL);

  hs->base = (uint8_t)base;
  hs->psk_mask = (uint8_t)psk_mask;
  hs->initiator = initiator;
  memcpy(hs->e_priv, e_priv, 32);
  if (crypto_scalarmult_base(hs->e_pub, hs->e_priv) != 0)
    return fail(hs, P2PC_ERR_INVAL);
  if (want_s) {
    memcpy(hs->s_priv, s_priv, 32);
    if (crypto_scalarmult_base(hs->s_pub, hs->s_priv) != 0)
      return fail(hs, P2PC_ERR_INVAL);
  }
  if (want_rs) {
    memcpy(hs->rs, rs_pub, 32);
    hs->has_rs = true;
  }
  for (size_t i = 0; i < npsk; i++)
    memcpy(hs->psk[i], psks[i], 32);

  /* InitializeSymmetric: a name longer than HASHLEN is hashed (all of
   * ours are: "Noise_NN_25519_ChaChaPoly_SHA256" has 33 bytes). */
  if ((size_t)nlen <= sizeof hs->h)
    memcpy(hs->h, name, (size_t)nlen);
  else
    crypto_hash_sha256(hs->h, (const uint8_t *)name, (size_t)nlen);
  memcpy(hs->ck, hs->h, sizeof hs->ck);
  mix_hash(hs, prologue, prologue_len);
  /* The pre-message "<- s": the responder's static key, known to both.
   * (A pre-message "e" would also MixKey in psk mode; no pattern here
   * has one.) */
  if (p->pre_resp_s)
    mix_hash(hs, initiator ? hs->rs : hs->s_pub, 32);
  hs->state = ST_ACTIVE;
  return 0;
}

int p2pc_noise_init(p2pc_noise_hs *hs, p2pc_noise_pattern pat, bool initiator,
                    const uint8_t *prologue, size_t prologue_len,
                    const uint8_t *s_priv, const uint8_t *e_priv,
                    const uint8_t *rs_pub, const uint8_t *psk) {
  if (!hs)
    return P2PC_ERR_INVAL;
  if ((unsigned)pat >= P2PC_NOISE_PATTERN_COUNT) {
    sodium_memzero(hs, sizeof *hs);
    return P2PC_ERR_INVAL;
  }
  unsigned mask = named[pat].mask;
  /* A psk with a pattern that has none (or none with one that needs it)
   * fails in init_mask: npsk counts what was given. */
  return p2pc__noise_init_mask(
      hs, (p2pc_noise_base)named[pat].base, mask, initiator, prologue,
      prologue_len, s_priv, e_priv, rs_pub,
      (const uint8_t(*)[P2PC_NOISE_KEYLEN])psk, psk ? 1 : 0);
}

int p2pc_noise_set_psk(p2pc_noise_hs *hs, const uint8_t psk[32]) {
  unsigned npsk = 0;
  for (unsigned m = hs ? hs->psk_mask : 0; m; m >>= 1)
    npsk += m & 1u;
  if (!hs || !psk || hs->state != ST_ACTIVE || hs->psk_next >= npsk)
    return P2PC_ERR_INVAL;
  memcpy(hs->psk[hs->psk_next], psk, P2PC_NOISE_KEYLEN);
  return 0;
}

/* An "e" token, either side's key: MixHash, and with a psk MixKey too
 * (the spec's section 9). */
static void mix_e(p2pc_noise_hs *hs, const uint8_t pub[DHLEN]) {
  mix_hash(hs, pub, DHLEN);
  if (hs->psk_mask)
    mix_key(hs, pub, DHLEN);
}

/* A message written or read: the next one's turn, or the end. */
static void message_done(p2pc_noise_hs *hs) {
  hs->msg++;
  if (hs->msg == patterns[hs->base].nmsgs)
    finish(hs);
}

/* Whether it is this side's turn to write (or, with !writing, to read). */
static int check_turn(p2pc_noise_hs *hs, bool writing) {
  if (hs->state == ST_FAILED || hs->state == ST_SPLIT)
    return P2PC_ERR_CLOSED;
  if (hs->state != ST_ACTIVE)
    return fail(hs, P2PC_ERR_INVAL); /* done: no more messages */
  bool mine = (hs->msg % 2 == 0) == hs->initiator;
  if (mine != writing)
    return fail(hs, P2PC_ERR_INVAL);
  return 0;
}

/* The checks a message write and read share: the turn, the buffers
 * (in[0..len) and out[0..cap), *out_len), the size. */
static int begin(p2pc_noise_hs *hs, bool writing, const uint8_t *in, size_t len,
                 const uint8_t *out, size_t cap, const size_t *out_len) {
  if (!hs)
    return P2PC_ERR_INVAL;
  int rv = check_turn(hs, writing);
  if (rv != 0)
    return rv;
  if (!out_len || (len > 0 && !in) || (cap > 0 && !out))
    return fail(hs, P2PC_ERR_INVAL);
  if (len > P2PC_NOISE_MAX_MSG)
    return fail(hs, P2PC_ERR_TOOBIG);
  return 0;
}

int p2pc_noise_write(p2pc_noise_hs *hs, const uint8_t *payload, size_t len,
                     uint8_t *out, size_t cap, size_t *out_len) {
  int rv = begin(hs, true, payload, len, out, cap, out_len);
  if (rv != 0)
    return rv;
  unsigned m = hs->msg;
  size_t total = message_len(hs, m, len);
  if (total > P2PC_NOISE_MAX_MSG || total > cap)
    return fail(hs, P2PC_ERR_TOOBIG);

  size_t pos = 0, n;
  if (psk_before(hs, m))
    mix_psk(hs);
  const uint8_t *tok = patterns[hs->base].tokens[m];
  for (int i = 0; i < MAX_TOKENS && tok[i] != T_END; i++) {
    switch (tok[i]) {
    case T_E:
      memcpy(out + pos, hs->e_pub, DHLEN);
      pos += DHLEN;
      mix_e(hs, hs->e_pub);
      break;
    case T_S:
      rv = encrypt_and_hash(hs, hs->s_pub, DHLEN, out + pos, &n);
      if (rv != 0)
        return fail(hs, rv);
      pos += n;
      break;
    default:
      rv = token_dh(hs, tok[i]);
      if (rv != 0)
        return fail(hs, rv);
    }
  }
  if (psk_after(hs, m))
    mix_psk(hs);
  rv = encrypt_and_hash(hs, payload, len, out + pos, &n);
  if (rv != 0)
    return fail(hs, rv);
  pos += n;
  if (pos != total) /* our bug: message_len disagrees with the tokens */
    return fail(hs, P2PC_ERR_INVAL);
  *out_len = pos;
  message_done(hs);
  return 0;
}

int p2pc_noise_read(p2pc_noise_hs *hs, const uint8_t *msg, size_t len,
                    uint8_t *payload_out, size_t cap, size_t *payload_len) {
  int rv = begin(hs, false, msg, len, payload_out, cap, payload_len);
  if (rv != 0)
    return rv;
  unsigned m = hs->msg;
  size_t pos = 0;
  if (psk_before(hs, m))
    mix_psk(hs);
  const uint8_t *tok = patterns[hs->base].tokens[m];
  for (int i = 0; i < MAX_TOKENS && tok[i] != T_END; i++) {
    switch (tok[i]) {
    case T_E:
      if (len - pos < DHLEN)
        return fail(hs, P2PC_ERR_PROTO);
      memcpy(hs->re, msg + pos, DHLEN);
      hs->has_re = true;
      pos += DHLEN;
      mix_e(hs, hs->re);
      break;
    case T_S: {
      size_t n = DHLEN + (hs->cs.has_key ? P2PC_NOISE_TAGLEN : 0);
      uint8_t rs[DHLEN];
      if (len - pos < n)
        return fail(hs, P2PC_ERR_PROTO);
      rv = decrypt_and_hash(hs, msg + pos, n, rs);
      if (rv != 0)
        return fail(hs, rv);
      memcpy(hs->rs, rs, DHLEN);
      hs->has_rs = true;
      pos += n;
      break;
    }
    default:
      rv = token_dh(hs, tok[i]);
      if (rv != 0)
        return fail(hs, rv);
    }
  }
  if (psk_after(hs, m))
    mix_psk(hs);
  size_t rest = len - pos;
  size_t plain = rest;
  if (hs->cs.has_key) {
    if (rest < P2PC_NOISE_TAGLEN)
      return fail(hs, P2PC_ERR_PROTO);
    plain = rest - P2PC_NOISE_TAGLEN;
  }
  if (plain > cap)
    return fail(hs, P2PC_ERR_TOOBIG);
  rv = decrypt_and_hash(hs, msg + pos, rest, payload_out);
  if (rv != 0)
    return fail(hs, rv);
  *payload_len = plain;
  message_done(hs);
  return 0;
}

bool p2pc_noise_done(const p2pc_noise_hs *hs) {
  return hs && hs->state == ST_DONE;
}

bool p2pc_noise_failed(const p2pc_noise_hs *hs) {
  return !hs || hs->state == ST_FAILED;
}

const uint8_t *p2pc_noise_remote_static(const p2pc_noise_hs *hs) {
  if (!hs || hs->state == ST_FAILED || !hs->has_rs)
    return NULL;
  return hs->rs;
}

const uint8_t *p2pc_noise_handshake_hash(const p2pc_noise_hs *hs) {
  if (!hs || (hs->state != ST_DONE && hs->state != ST_SPLIT))
    return NULL;
  return hs->h;
}

int p2pc_noise_split(p2pc_noise_hs *hs, p2pc_noise_cipher *send,
                     p2pc_noise_cipher *recv) {
  if (!hs)
    return P2PC_ERR_INVAL;
  if (hs->state == ST_FAILED || hs->state == ST_SPLIT)
    return P2PC_ERR_CLOSED;
  if (hs->state != ST_DONE || !send || !recv || send == recv)
    return fail(hs, P2PC_ERR_INVAL);
  uint8_t k1[32], k2[32];
  hkdf(hs->ck, NULL, 0, k1, k2, NULL);
  memset(send, 0, sizeof *send);
  memset(recv, 0, sizeof *recv);
  init_key(send, hs->initiator ? k1 : k2);
  init_key(recv, hs->initiator ? k2 : k1);
  sodium_memzero(k1, sizeof k1);
  sodium_memzero(k2, sizeof k2);
  /* Only the public results stay: h and the remote static key. */
  uint8_t h[32], rs[32];
  bool has_rs = hs->has_rs;
  memcpy(h, hs->h, sizeof h);
  memcpy(rs, hs->rs, sizeof rs);
  sodium_memzero(hs, sizeof *hs);
  memcpy(hs->h, h, sizeof h);
  memcpy(hs->rs, rs, sizeof rs);
  hs->has_rs = has_rs;
  hs->state = ST_SPLIT;
  return 0;
}

/* ---- transport ----------------------------------------------------------- */

int p2pc_noise_encrypt(p2pc_noise_cipher *c, const uint8_t *ad, size_t adlen,
                       const uint8_t *plain, size_t len, uint8_t *out,
                       size_t cap, size_t *out_len) {
  if (!c || !c->has_key || !out_len || (adlen > 0 && !ad) ||
      (len > 0 && !plain) || !out)
    return P2PC_ERR_INVAL;
  if (len > P2PC_NOISE_MAX_MSG - P2PC_NOISE_TAGLEN ||
      len + P2PC_NOISE_TAGLEN > cap)
    return P2PC_ERR_TOOBIG;
  if (c->n == UINT64_MAX)
    return P2PC_ERR_FULL;
  aead_encrypt(c->k, c->n++, ad, adlen, plain, len, out);
  *out_len = len + P2PC_NOISE_TAGLEN;
  return 0;
}

int p2pc_noise_decrypt(p2pc_noise_cipher *c, const uint8_t *ad, size_t adlen,
                       const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                       size_t *out_len) {
  if (!c || !c->has_key || !out_len || (adlen > 0 && !ad) ||
      (len > 0 && !msg) || (cap > 0 && !out))
    return P2PC_ERR_INVAL;
  if (len > P2PC_NOISE_MAX_MSG)
    return P2PC_ERR_TOOBIG;
  if (len < P2PC_NOISE_TAGLEN)
    return P2PC_ERR_PROTO;
  if (len - P2PC_NOISE_TAGLEN > cap)
    return P2PC_ERR_TOOBIG;
  if (c->n == UINT64_MAX)
    return P2PC_ERR_FULL;
  if (aead_decrypt(c->k, c->n, ad, adlen, msg, len, out) != 0)
    return P2PC_ERR_PROTO;
  c->n++;
  *out_len = len - P2PC_NOISE_TAGLEN;
  return 0;
}

int p2pc_noise_rekey(p2pc_noise_cipher *c) {
  if (!c || !c->has_key)
    return P2PC_ERR_INVAL;
  static const uint8_t zeros[32];
  uint8_t out[32 + P2PC_NOISE_TAGLEN];
  aead_encrypt(c->k, UINT64_MAX, NULL, 0, zeros, sizeof zeros, out);
  memcpy(c->k, out, 32);
  sodium_memzero(out, sizeof out);
  return 0;
}

void p2pc_noise_set_nonce(p2pc_noise_cipher *c, uint64_t n) {
  if (c)
    c->n = n;
}

void p2pc_noise_cipher_wipe(p2pc_noise_cipher *c) {
  if (c)
    sodium_memzero(c, sizeof *c);
}

void p2pc_noise_hs_wipe(p2pc_noise_hs *hs) {
  if (hs)
    sodium_memzero(hs, sizeof *hs);
}
