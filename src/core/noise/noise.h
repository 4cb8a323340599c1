/* SPDX-License-Identifier: MIT */
/*
 * The Noise Protocol Framework handshake (noiseprotocol.org, revision 34,
 * 2018-07-11), the foundation of encrypted, authenticated links (issue 13).
 * One cipher suite: 25519 (X25519), ChaChaPoly (IETF ChaCha20-Poly1305,
 * nonce = 4 zero bytes then the 64-bit counter little-endian) and SHA256
 * (HASHLEN 32, BLOCKLEN 64, HMAC-SHA256 for the spec's HKDF). The
 * primitives are libsodium's; nothing here implements one. The patterns
 * are XX (the links' pattern) with its psk variants XXpsk0..XXpsk3, and NN,
 * NK, NNpsk0, NNpsk2, NKpsk0, NKpsk2 (cheap, and the published test vectors
 * cover them). The protocol name is built as the spec says, e.g.
 * "Noise_XXpsk3_25519_ChaChaPoly_SHA256". psk follows section 9: the psk
 * token is MixKeyAndHash(psk), and in a psk handshake every "e" token (sent
 * or received) also does MixKey(e.public_key).
 *
 * Pure (DESIGN.md): no allocation, no I/O, no clock and NO RANDOMNESS. The
 * caller owns the fixed-size state and injects every key: the ephemeral
 * private key (the runtime draws it with randombytes_buf for each
 * handshake; a test gives a fixed one), the static key pair's private half,
 * a pre-known remote static key (NK) and the psk. Reusing an ephemeral key
 * for two handshakes is the caller's bug and breaks Noise's security. The
 * caller also calls sodium_init() once before any of this (the core never
 * does).
 *
 * Limits: a Noise message (handshake or transport) is at most
 * P2PC_NOISE_MAX_MSG = 65535 bytes, payload, keys and tags included.
 * A cipher sends at most 2^64 - 1 messages (nonce 2^64 - 1 is reserved by
 * the spec): past that it fails with P2PC_ERR_FULL, never wraps; rekey or
 * redo the handshake long before.
 *
 * Failure: every handshake error (bad tag, short or long message, a
 * low-order or otherwise rejected remote key (X25519 with an all-zero
 * output), calls out of order, an out buffer too small) returns a negative
 * error AND leaves the handshake failed: its secrets are wiped and every
 * later call returns P2PC_ERR_CLOSED. No input, however hostile, makes a
 * call read or write out of bounds. Buffers must not overlap.
 *
 * Errors: P2PC_ERR_INVAL (a bad argument, or a call out of order),
 * P2PC_ERR_PROTO (the message is malformed or fails authentication, or a
 * DH is rejected), P2PC_ERR_TOOBIG (the message would pass 65535 bytes, or
 * the out buffer is too small), P2PC_ERR_CLOSED (the handshake failed or was
 * split), P2PC_ERR_FULL (a cipher's nonces are used up).
 */
#ifndef P2PC_NOISE_H
#define P2PC_NOISE_H

#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define P2PC_NOISE_KEYLEN 32  /* X25519 keys, ChaChaPoly keys, psks */
#define P2PC_NOISE_HASHLEN 32 /* SHA256 */
#define P2PC_NOISE_TAGLEN 16  /* Poly1305 */
#define P2PC_NOISE_MAX_MSG 65535
/* The most psk modifiers one pattern carries (psk0..psk3 of a
 * three-message pattern). */
#define P2PC_NOISE_MAX_PSKS 4

typedef enum p2pc_noise_pattern {
  P2PC_NOISE_NN = 0, /* -> e; <- e, ee */
  P2PC_NOISE_NK,     /* <- s ...; -> e, es; <- e, ee */
  P2PC_NOISE_XX,     /* -> e; <- e, ee, s, es; -> s, se */
  P2PC_NOISE_XXPSK0, /* -> psk, e; <- e, ee, s, es; -> s, se */
  P2PC_NOISE_XXPSK1, /* -> e, psk; <- e, ee, s, es; -> s, se */
  P2PC_NOISE_XXPSK2, /* -> e; <- e, ee, s, es, psk; -> s, se */
  P2PC_NOISE_XXPSK3, /* -> e; <- e, ee, s, es; -> s, se, psk */
  P2PC_NOISE_NNPSK0, /* -> psk, e; <- e, ee */
  P2PC_NOISE_NNPSK2, /* -> e; <- e, ee, psk */
  P2PC_NOISE_NKPSK0, /* <- s ...; -> psk, e, es; <- e, ee */
  P2PC_NOISE_NKPSK2, /* <- s ...; -> e, es; <- e, ee, psk */
  P2PC_NOISE_PATTERN_COUNT
} p2pc_noise_pattern;

/* The base patterns the engine knows; the psk modifiers go beside them as
 * a mask (bit n: the spec's pskN: psk0 is the first token of the first
 * message, pskN for N >= 1 the last token of the Nth message). */
typedef enum p2pc_noise_base {
  P2PC_NOISE_BASE_NN = 0,
  P2PC_NOISE_BASE_NK,
  P2PC_NOISE_BASE_XX,
  P2PC_NOISE_BASE_COUNT
} p2pc_noise_base;

/* A CipherState after the handshake: one direction of a link. Embedded by
 * the caller; all zero is "no key" (every call then fails with
 * P2PC_ERR_INVAL). */
typedef struct p2pc_noise_cipher {
  uint8_t k[P2PC_NOISE_KEYLEN];
  uint64_t n; /* the next nonce; 2^64 - 1 is never used */
  bool has_key;
} p2pc_noise_cipher;

/* The HandshakeState, with its SymmetricState and CipherState. Caller
 * owned, fixed size, no pointers: copy it, embed it, zero it. The fields
 * are private to noise.c. */
typedef struct p2pc_noise_hs {
  p2pc_noise_cipher cs;
  uint8_t ck[P2PC_NOISE_HASHLEN];
  uint8_t h[P2PC_NOISE_HASHLEN];
  uint8_t s_priv[P2PC_NOISE_KEYLEN], s_pub[P2PC_NOISE_KEYLEN];
  uint8_t e_priv[P2PC_NOISE_KEYLEN], e_pub[P2PC_NOISE_KEYLEN];
  uint8_t rs[P2PC_NOISE_KEYLEN], re[P2PC_NOISE_KEYLEN];
  uint8_t psk[P2PC_NOISE_MAX_PSKS][P2PC_NOISE_KEYLEN];
  uint8_t base;     /* p2pc_noise_base */
  uint8_t psk_mask; /* bit n: pskN */
  uint8_t psk_next; /* the psk the next psk token mixes in */
  uint8_t msg;      /* the next handshake message, from 0 */
  uint8_t state;    /* private: active, done, split, failed */
  bool initiator;
  bool has_rs, has_re;
} p2pc_noise_hs;

/* Starts a handshake as the initiator or the responder. Every key is
 * copied; the arguments are borrowed for the call only.
 *   prologue      bound into the handshake hash; both sides must give the
 *                 same bytes (NULL with 0 for none)
 *   s_priv        this side's static private key: required exactly when
 *                 the pattern sends or pre-knows this side's "s" (XX: both;
 *                 NK: the responder), NULL otherwise
 *   e_priv        this side's ephemeral private key: always required,
 *                 fresh and random for each handshake (injected: the core
 *                 draws no randomness)
 *   rs_pub        the remote static public key when the pattern pre-knows
 *                 it (NK: the initiator), NULL otherwise
 *   psk           the 32-byte pre-shared key of a pskN pattern, NULL
 *                 otherwise
 * A key given where the pattern has no use for it is an error, not
 * ignored: a psk the caller believes in but the pattern never mixes in
 * would be a silent loss of authentication. Returns 0 or P2PC_ERR_INVAL
 * (then hs is failed). */
int p2pc_noise_init(p2pc_noise_hs *hs, p2pc_noise_pattern pat, bool initiator,
                    const uint8_t *prologue, size_t prologue_len,
                    const uint8_t *s_priv, const uint8_t *e_priv,
                    const uint8_t *rs_pub, const uint8_t *psk);

/* The same for any psk modifier set on a base pattern ("XXpsk0+psk2"):
 * psk_mask bit n is pskN (n <= the base's message count), psks[i] the
 * 32-byte key of the i-th modifier in ascending order, npsk the number of
 * bits set. For the multi-psk test vectors; links use p2pc_noise_init. */
int p2pc__noise_init_mask(p2pc_noise_hs *hs, p2pc_noise_base base,
                          unsigned psk_mask, bool initiator,
                          const uint8_t *prologue, size_t prologue_len,
                          const uint8_t *s_priv, const uint8_t *e_priv,
                          const uint8_t *rs_pub,
                          const uint8_t (*psks)[P2PC_NOISE_KEYLEN],
                          size_t npsk);

/* Writes the protocol name ("Noise_XXpsk3_25519_ChaChaPoly_SHA256") of a
 * base and psk mask into name[0..cap), NUL-terminated. Returns its length,
 * or P2PC_ERR_INVAL (a bad base or mask) or P2PC_ERR_TOOBIG (cap too
 * small). */
int p2pc_noise_protocol_name(p2pc_noise_base base, unsigned psk_mask,
                             char *name, size_t cap);

/* Writes this side's next handshake message, carrying payload[0..len)
 * (encrypted once a key is mixed in), into out[0..cap); *out_len is its
 * length. Returns 0, or: P2PC_ERR_INVAL (not this side's turn, or the
 * handshake is done), P2PC_ERR_TOOBIG (the message would pass 65535 bytes
 * or cap; nothing is written), P2PC_ERR_PROTO (a DH rejected: the peer's
 * ephemeral, read earlier without a DH, e.g. in XX's first message, is a
 * low-order point),
 * P2PC_ERR_CLOSED (the handshake had failed). Any error fails the
 * handshake. */
int p2pc_noise_write(p2pc_noise_hs *hs, const uint8_t *payload, size_t len,
                     uint8_t *out, size_t cap, size_t *out_len);

/* Reads the peer's next handshake message msg[0..len) and writes its
 * payload into payload_out[0..cap); *payload_len is its length. Returns 0,
 * or: P2PC_ERR_PROTO (truncated, bad tag, a rejected key, bytes a key
 * cannot be), P2PC_ERR_TOOBIG (len over 65535, or the payload over cap),
 * P2PC_ERR_INVAL (not the peer's turn, or done), P2PC_ERR_CLOSED. Any
 * error fails the handshake; payload_out's contents are then unspecified
 * (never partly decrypted plaintext: the tag is checked first). */
int p2pc_noise_read(p2pc_noise_hs *hs, const uint8_t *msg, size_t len,
                    uint8_t *payload_out, size_t cap, size_t *payload_len);

/* Replaces the psk the handshake's next psk token will mix in, before
 * that token: a responder that holds several keys tries each on a copy
 * of one state (the cost of one init, not one per key). Returns 0, or
 * P2PC_ERR_INVAL (no psk left to mix in, the handshake not active; hs is
 * unchanged). */
int p2pc_noise_set_psk(p2pc_noise_hs *hs, const uint8_t psk[32]);

/* Whether every handshake message has been written or read (and
 * p2pc_noise_split may be called). */
bool p2pc_noise_done(const p2pc_noise_hs *hs);
/* Whether the handshake failed (every call but this fails then). */
bool p2pc_noise_failed(const p2pc_noise_hs *hs);
/* The peer's static public key (32 bytes) once it is known (pre-known, or
 * received and authenticated), else NULL. Stays readable after split. */
const uint8_t *p2pc_noise_remote_static(const p2pc_noise_hs *hs);
/* The handshake hash h (32 bytes) once the handshake is done, else NULL:
 * the transcript both sides agree on, for channel binding (e.g. signing it
 * with an identity key). Stays readable after split; not secret. */
const uint8_t *p2pc_noise_handshake_hash(const p2pc_noise_hs *hs);

/* Splits a done handshake into this side's two ciphers: send for what it
 * writes, recv for what it reads (the spec's c1 is the initiator's send
 * and the responder's recv). Wipes every secret of hs (keys, ck, psks);
 * only h and the remote static key stay. Returns 0, P2PC_ERR_INVAL (not
 * done; hs then fails) or P2PC_ERR_CLOSED. */
int p2pc_noise_split(p2pc_noise_hs *hs, p2pc_noise_cipher *send,
                     p2pc_noise_cipher *recv);

/* Encrypts one transport message: plain[0..len) with associated data
 * ad[0..adlen) into out[0..cap), len + 16 bytes (*out_len). Returns 0,
 * P2PC_ERR_TOOBIG (over 65535 bytes or cap; nothing written, the nonce
 * unused), P2PC_ERR_FULL (nonces used up) or P2PC_ERR_INVAL (no key). */
int p2pc_noise_encrypt(p2pc_noise_cipher *c, const uint8_t *ad, size_t adlen,
                       const uint8_t *plain, size_t len, uint8_t *out,
                       size_t cap, size_t *out_len);
/* Decrypts one transport message msg[0..len) into out[0..cap), len - 16
 * bytes (*out_len). Returns 0, P2PC_ERR_PROTO (shorter than a tag, or the
 * tag fails: as the spec says the nonce is then not used up, but the caller
 * should drop the link), P2PC_ERR_TOOBIG (len over 65535, or cap too
 * small), P2PC_ERR_FULL, P2PC_ERR_INVAL. */
int p2pc_noise_decrypt(p2pc_noise_cipher *c, const uint8_t *ad, size_t adlen,
                       const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                       size_t *out_len);
/* The spec's Rekey(): k = the first 32 bytes of ENCRYPT(k, 2^64 - 1, "",
 * 32 zeros); the nonce counter is kept. Both sides must rekey at the same
 * message. Returns 0 or P2PC_ERR_INVAL (no key). */
int p2pc_noise_rekey(p2pc_noise_cipher *c);
/* Sets the next nonce (the spec's SetNonce; for tests and for transports
 * that carry the nonce). */
void p2pc_noise_set_nonce(p2pc_noise_cipher *c, uint64_t n);
/* Wipes a cipher (sodium_memzero); it has no key afterwards. */
void p2pc_noise_cipher_wipe(p2pc_noise_cipher *c);
/* Wipes a handshake state entirely, h included; it is failed afterwards. */
void p2pc_noise_hs_wipe(p2pc_noise_hs *hs);

#endif /* P2PC_NOISE_H */
