/* SPDX-License-Identifier: MIT */
/*
 * RFC 8573 AES-CMAC for NTP (ntpauth.h), on nettle's CMAC: never our own
 * AES. The contexts live on the stack and are wiped before returning
 * (they hold the expanded key).
 */
#include "ntpauth.h"

#include "buf.h"
#include "ntp.h"

#include <nettle/cmac.h>
#include <sodium.h>
#include <string.h>

_Static_assert(CMAC128_DIGEST_SIZE == P2PC_NTPAUTH_DIGEST_LEN,
               "AES-CMAC gives one AES block");

void p2pc_ntpauth_cmac(const p2pc_ntp_key *k, const uint8_t *b, size_t len,
                       uint8_t out[P2PC_NTPAUTH_DIGEST_LEN]) {
  if (k->len == 32) {
    struct cmac_aes256_ctx c;
    cmac_aes256_set_key(&c, k->key);
    cmac_aes256_update(&c, len, b);
    cmac_aes256_digest(&c, P2PC_NTPAUTH_DIGEST_LEN, out);
    sodium_memzero(&c, sizeof c);
  } else {
    struct cmac_aes128_ctx c;
    cmac_aes128_set_key(&c, k->key);
    cmac_aes128_update(&c, len, b);
    cmac_aes128_digest(&c, P2PC_NTPAUTH_DIGEST_LEN, out);
    sodium_memzero(&c, sizeof c);
  }
}

p2pc_ntpauth_verdict p2pc_ntpauth_check(const p2pc_ntp_key *keys, uint32_t n,
                                        const uint8_t *b, size_t len,
                                        uint32_t *key) {
  if (len < P2PC_NTP_HEADER_LEN + P2PC_NTPAUTH_MAC_LEN)
    return P2PC_NTPAUTH_NO_MAC;
  size_t at = len - P2PC_NTPAUTH_MAC_LEN;
  uint32_t id = p2pc_be32_read(b + at);
  uint32_t i = 0;
  while (i < n && keys[i].id != id)
    i++;
  /* Key ID 0 (a crypto-NAK's) is never a key's. */
  if (i == n || id == 0)
    return P2PC_NTPAUTH_UNKNOWN;
  uint8_t d[P2PC_NTPAUTH_DIGEST_LEN];
  p2pc_ntpauth_cmac(&keys[i], b, at, d);
  bool ok = sodium_memcmp(d, b + at + 4, sizeof d) == 0;
  sodium_memzero(d, sizeof d);
  if (!ok)
    return P2PC_NTPAUTH_BAD;
  *key = i;
  return P2PC_NTPAUTH_OK;
}

void p2pc_ntpauth_seal(const p2pc_ntp_key *k, uint8_t *b, size_t len) {
  p2pc_be32_write(b + len, k->id);
  p2pc_ntpauth_cmac(k, b, len, b + len + 4);
}

bool p2pc_ntpauth_keys_valid(const p2pc_ntp_key *keys, uint32_t n) {
  if (n > P2PC_NTP_KEYS_MAX || (n && !keys))
    return false;
  for (uint32_t i = 0; i < n; i++) {
    if (!keys[i].id || (keys[i].len != 16 && keys[i].len != 32))
      return false;
    for (uint32_t j = 0; j < i; j++)
      if (keys[j].id == keys[i].id)
        return false;
  }
  return true;
}
