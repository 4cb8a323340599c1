/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the NTP symmetric key file parser (src/cli/ntpkeys.c).
 * The input is a file's text. Invariants: a file is accepted with
 * 1..P2PC_NTP_KEYS_MAX keys, each with an ID 1..2^32-1 (none twice) and
 * a 16- or 32-byte key, which the core takes as they are; a refused text
 * gives no keys and says why; the same text parses the same way twice.
 */
#include "fuzz.h"

#include "ntpauth.h"
#include "ntpkeys.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > P2PC_NTPKEYS_BYTES + 16)
    return 0;
  p2pc_ntp_key k[P2PC_NTP_KEYS_MAX], again[P2PC_NTP_KEYS_MAX];
  size_t n = 0, n2 = 0;
  char err[300] = "", err2[300] = "";
  int rv =
      p2pc_cli_ntpkeys_parse("f", (const char *)data, size, k, &n, err, 300);
  int rv2 = p2pc_cli_ntpkeys_parse("f", (const char *)data, size, again, &n2,
                                   err2, 300);
  FUZZ_CHECK(rv == rv2 && n == n2);
  if (rv != 0) {
    FUZZ_CHECK(rv == -1 && n == 0 && err[0] && strcmp(err, err2) == 0);
    return 0;
  }
  FUZZ_CHECK(n >= 1 && n <= P2PC_NTP_KEYS_MAX);
  FUZZ_CHECK(memcmp(k, again, n * sizeof *k) == 0);
  FUZZ_CHECK(p2pc_ntpauth_keys_valid(k, (uint32_t)n));
  return 0;
}
