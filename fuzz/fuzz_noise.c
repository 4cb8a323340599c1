/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the Noise handshake and transport ciphers (noise.h). The
 * first input byte picks a pattern; the rest is one message from the
 * network. For every step of that pattern's handshake a fresh pair (with
 * fixed keys: those of the cacophony vectors, tests/vectors/) runs the
 * valid messages before it, and the side whose turn it is reads the input
 * as that step's message (so the responder and the initiator both take
 * hostile bytes at every step). A read either succeeds or fails with
 * PROTO or TOOBIG and leaves the side failed and wiped; after a last
 * message that is accepted, split still works. Then the input is fed to
 * both sides' receiving ciphers as a transport message, and it round
 * trips through a sending one.
 *
 * The seeds (fuzz/corpus/fuzz_noise/) are the valid messages of the
 * cacophony vectors, each behind its pattern's byte: the handshake
 * messages at their step and the first transport message of each way.
 */
#include "fuzz.h"

#include "noise.h"

#include <string.h>

/* The cacophony vectors' keys, prologue ("John Galt"), psk ("This is my
 * Austrian perspective!") and payloads. */
static const uint8_t prologue[] = {0x4a, 0x6f, 0x68, 0x6e, 0x20,
                                   0x47, 0x61, 0x6c, 0x74};
static const uint8_t init_s[32] = {
    0xe6, 0x1e, 0xf9, 0x91, 0x9c, 0xde, 0x45, 0xdd, 0x5f, 0x82, 0x16,
    0x64, 0x04, 0xbd, 0x08, 0xe3, 0x8b, 0xce, 0xb5, 0xdf, 0xdf, 0xde,
    0xd0, 0xa3, 0x4c, 0x8d, 0xf7, 0xed, 0x54, 0x22, 0x14, 0xd1};
static const uint8_t init_e[32] = {
    0x89, 0x3e, 0x28, 0xb9, 0xdc, 0x6c, 0xa8, 0xd6, 0x11, 0xab, 0x66,
    0x47, 0x54, 0xb8, 0xce, 0xb7, 0xba, 0xc5, 0x11, 0x73, 0x49, 0xa4,
    0x43, 0x9a, 0x6b, 0x05, 0x69, 0xda, 0x97, 0x7c, 0x46, 0x4a};
static const uint8_t resp_s[32] = {
    0x4a, 0x3a, 0xcb, 0xfd, 0xb1, 0x63, 0xde, 0xc6, 0x51, 0xdf, 0xa3,
    0x19, 0x4d, 0xec, 0xe6, 0x76, 0xd4, 0x37, 0x02, 0x9c, 0x62, 0xa4,
    0x08, 0xb4, 0xc5, 0xea, 0x91, 0x14, 0x24, 0x6e, 0x48, 0x93};
static const uint8_t resp_e[32] = {
    0xbb, 0xdb, 0x4c, 0xdb, 0xd3, 0x09, 0xf1, 0xa1, 0xf2, 0xe1, 0x45,
    0x69, 0x67, 0xfe, 0x28, 0x8c, 0xad, 0xd6, 0xf7, 0x12, 0xd6, 0x5d,
    0xc7, 0xb7, 0x79, 0x3d, 0x5e, 0x63, 0xda, 0x6b, 0x37, 0x5b};
static const uint8_t resp_pub[32] = {/* resp_s's public key */
                                     0x31, 0xe0, 0x30, 0x3f, 0xd6, 0x41, 0x8d,
                                     0x2f, 0x8c, 0x0e, 0x78, 0xb9, 0x1f, 0x22,
                                     0xe8, 0xca, 0xed, 0x0f, 0xbe, 0x48, 0x65,
                                     0x6d, 0xcf, 0x47, 0x67, 0xe4, 0x83, 0x4f,
                                     0x70, 0x1b, 0x8f, 0x62};
static const uint8_t psk[32] = {0x54, 0x68, 0x69, 0x73, 0x20, 0x69, 0x73, 0x20,
                                0x6d, 0x79, 0x20, 0x41, 0x75, 0x73, 0x74, 0x72,
                                0x69, 0x61, 0x6e, 0x20, 0x70, 0x65, 0x72, 0x73,
                                0x70, 0x65, 0x63, 0x74, 0x69, 0x76, 0x65, 0x21};
static const char *const payloads[] = {"Ludwig von Mises", "Murray Rothbard",
                                       "F. A. Hayek"};

#define MAXMSG (P2PC_NOISE_MAX_MSG + 1)

static bool is_xx(p2pc_noise_pattern p) {
  return p >= P2PC_NOISE_XX && p <= P2PC_NOISE_XXPSK3;
}
static bool is_nk(p2pc_noise_pattern p) {
  return p == P2PC_NOISE_NK || p == P2PC_NOISE_NKPSK0 || p == P2PC_NOISE_NKPSK2;
}
static unsigned msgs_of(p2pc_noise_pattern p) { return is_xx(p) ? 3 : 2; }

static void pair_init(p2pc_noise_hs hs[2], p2pc_noise_pattern p) {
  bool k = p >= P2PC_NOISE_XXPSK0;
  FUZZ_CHECK(p2pc_noise_init(&hs[0], p, true, prologue, sizeof prologue,
                             is_xx(p) ? init_s : NULL, init_e,
                             is_nk(p) ? resp_pub : NULL, k ? psk : NULL) == 0);
  FUZZ_CHECK(p2pc_noise_init(&hs[1], p, false, prologue, sizeof prologue,
                             is_xx(p) || is_nk(p) ? resp_s : NULL, resp_e, NULL,
                             k ? psk : NULL) == 0);
}

/* Messages 0..step-1, valid, from one side to the other. */
static void run_valid(p2pc_noise_hs hs[2], unsigned step) {
  static uint8_t msg[MAXMSG], back[MAXMSG];
  for (unsigned i = 0; i < step; i++) {
    size_t n, b;
    const char *pl = payloads[i];
    FUZZ_CHECK(p2pc_noise_write(&hs[i % 2], (const uint8_t *)pl, strlen(pl),
                                msg, sizeof msg, &n) == 0);
    FUZZ_CHECK(p2pc_noise_read(&hs[1 - i % 2], msg, n, back, sizeof back, &b) ==
               0);
    FUZZ_CHECK(b == strlen(pl) && memcmp(back, pl, b) == 0);
  }
}

/* data as a transport message to a copy of recv; then data round trips
 * from a copy of send to another copy of recv. */
static void transport(const p2pc_noise_cipher *send,
                      const p2pc_noise_cipher *recv, const uint8_t *data,
                      size_t size) {
  static uint8_t out[MAXMSG], back[MAXMSG];
  size_t n = 0, b = 0;
  size_t adlen = size > 64 ? 64 : size;
  p2pc_noise_cipher c = *recv, e = *send, d = *recv;
  int rv = p2pc_noise_decrypt(&c, NULL, 0, data, size, out, sizeof out, &n);
  if (rv == 0) {
    FUZZ_CHECK(n + P2PC_NOISE_TAGLEN == size && c.n == recv->n + 1);
  } else {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO || rv == P2PC_ERR_TOOBIG);
    FUZZ_CHECK(c.n == recv->n); /* a bad message uses no nonce */
  }
  rv = p2pc_noise_encrypt(&e, data, adlen, data, size, out, sizeof out, &n);
  if (size + P2PC_NOISE_TAGLEN > P2PC_NOISE_MAX_MSG) {
    FUZZ_CHECK(rv == P2PC_ERR_TOOBIG);
    return;
  }
  FUZZ_CHECK(rv == 0 && n == size + P2PC_NOISE_TAGLEN);
  FUZZ_CHECK(
      p2pc_noise_decrypt(&d, data, adlen, out, n, back, sizeof back, &b) == 0);
  FUZZ_CHECK(b == size && (size == 0 || memcmp(back, data, size) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  p2pc_noise_pattern pat =
      (p2pc_noise_pattern)(data[0] % P2PC_NOISE_PATTERN_COUNT);
  data++;
  size--;
  unsigned hm = msgs_of(pat);
  static uint8_t back[MAXMSG];

  /* the input as each step's message, to the side whose turn it is */
  for (unsigned step = 0; step < hm; step++) {
    p2pc_noise_hs hs[2];
    pair_init(hs, pat);
    run_valid(hs, step);
    p2pc_noise_hs *r = &hs[1 - step % 2];
    size_t b = 0;
    memset(back, 0, 64);
    int rv = p2pc_noise_read(r, data, size, back, sizeof back, &b);
    if (rv != 0) {
      FUZZ_CHECK(rv == P2PC_ERR_PROTO || rv == P2PC_ERR_TOOBIG);
      FUZZ_CHECK(p2pc_noise_failed(r));
      static const p2pc_noise_hs zero;
      FUZZ_CHECK(memcmp(r, &zero, sizeof zero) == 0); /* wiped */
      FUZZ_CHECK(p2pc_noise_read(r, data, size, back, sizeof back, &b) ==
                 P2PC_ERR_CLOSED);
      continue;
    }
    FUZZ_CHECK(b <= size);
    if (step + 1 < hm)
      continue;
    /* a last message accepted: the reader's handshake is complete */
    FUZZ_CHECK(p2pc_noise_done(r));
    FUZZ_CHECK(p2pc_noise_handshake_hash(r) != NULL);
    p2pc_noise_cipher s, c;
    FUZZ_CHECK(p2pc_noise_split(r, &s, &c) == 0);
  }

  /* the input as a transport message to each side, after a valid
   * handshake */
  p2pc_noise_hs hs[2];
  p2pc_noise_cipher c[2][2]; /* [side][0 send, 1 recv] */
  pair_init(hs, pat);
  run_valid(hs, hm);
  FUZZ_CHECK(p2pc_noise_split(&hs[0], &c[0][0], &c[0][1]) == 0);
  FUZZ_CHECK(p2pc_noise_split(&hs[1], &c[1][0], &c[1][1]) == 0);
  transport(&c[0][0], &c[1][1], data, size); /* initiator -> responder */
  transport(&c[1][0], &c[0][1], data, size); /* responder -> initiator */
  return 0;
}
