/* SPDX-License-Identifier: MIT */
/*
 * RFC 8573 symmetric-key MACs for standard NTP clients (docs/CLOCK.md,
 * "Authentication"): after the header and any extension fields, a MAC of
 * a big-endian 32-bit key ID and the 16-byte AES-CMAC (RFC 4493) of every
 * byte before it, under the key with that ID. The cipher is nettle's
 * (pure computation: no I/O, no state outside the caller's stack); the
 * keys are the caller's (p2pc_ntp_key, <p2pclock/node.h>).
 */
#ifndef P2PC_NTPAUTH_H
#define P2PC_NTPAUTH_H

#include <p2pclock/node.h>

#include <stddef.h>
#include <stdint.h>

#define P2PC_NTPAUTH_DIGEST_LEN 16
/* The MAC after the packet: key ID + digest. */
#define P2PC_NTPAUTH_MAC_LEN (4 + P2PC_NTPAUTH_DIGEST_LEN)

/* The AES-CMAC of b[0..len) under k (k->len 16 or 32) into out. */
void p2pc_ntpauth_cmac(const p2pc_ntp_key *k, const uint8_t *b, size_t len,
                       uint8_t out[P2PC_NTPAUTH_DIGEST_LEN]);

typedef enum p2pc_ntpauth_verdict {
  P2PC_NTPAUTH_OK = 0,
  P2PC_NTPAUTH_NO_MAC = -1,  /* shorter than header + MAC */
  P2PC_NTPAUTH_UNKNOWN = -2, /* no key with the MAC's ID */
  P2PC_NTPAUTH_BAD = -3      /* the digest does not verify */
} p2pc_ntpauth_verdict;

/* Whether b[0..len) ends with a valid MAC under one of keys[0..n):
 * P2PC_NTPAUTH_OK and *key the index of that key, or why not. The digest
 * is compared in constant time; at most one CMAC is computed. */
p2pc_ntpauth_verdict p2pc_ntpauth_check(const p2pc_ntp_key *keys, uint32_t n,
                                        const uint8_t *b, size_t len,
                                        uint32_t *key);

/* Appends the MAC of b[0..len) under k at b + len (P2PC_NTPAUTH_MAC_LEN
 * bytes, which the caller has room for). */
void p2pc_ntpauth_seal(const p2pc_ntp_key *k, uint8_t *b, size_t len);

/* Whether keys[0..n) is a valid set: n <= P2PC_NTP_KEYS_MAX, every ID
 * nonzero and unlike the others, every len 16 or 32. */
bool p2pc_ntpauth_keys_valid(const p2pc_ntp_key *keys, uint32_t n);

#endif /* P2PC_NTPAUTH_H */
