/* SPDX-License-Identifier: MIT */
/* The NTP symmetric key file (ntpkeys.h). */
#include "ntpkeys.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "textfile.h"

static bool is(const char *w, size_t k, const char *s) {
  return k == strlen(s) && memcmp(w, s, k) == 0;
}

/* A decimal key ID 1..2^32-1. */
static bool parse_id(const char *w, size_t k, uint32_t *id) {
  if (k == 0 || k > 10)
    return false;
  uint64_t v = 0;
  for (size_t i = 0; i < k; i++) {
    if (w[i] < '0' || w[i] > '9')
      return false;
    v = v * 10 + (uint64_t)(w[i] - '0');
  }
  if (v == 0 || v > UINT32_MAX || (k > 1 && w[0] == '0'))
    return false;
  *id = (uint32_t)v;
  return true;
}

/* Parses one line (comment already cut) into *key; 1 if it holds one, 0
 * if blank, -1 (err set) if bad. */
static int parse_line(const char *path, unsigned no, const char *line,
                      size_t end, p2pc_ntp_key *key, char *err, size_t n) {
  size_t at = 0;
  const char *w;
  size_t k = p2pc_cli_word(line, end, &at, &w);
  if (k == 0)
    return 0;
  if (!parse_id(w, k, &key->id)) {
    p2pc_cli_errf(err, n,
                  "%s line %u: the key ID must be an integer 1..4294967295, "
                  "got \"%.*s\"",
                  path, no, (int)(k > 20 ? 20 : k), w);
    return -1;
  }
  k = p2pc_cli_word(line, end, &at, &w);
  if (is(w, k, "AES128"))
    key->len = 16;
  else if (is(w, k, "AES256"))
    key->len = 32;
  else {
    p2pc_cli_errf(err, n,
                  "%s line %u: key type \"%.*s\" is not allowed: RFC 8573 "
                  "takes AES128 or AES256 (AES-CMAC), not MD5, SHA1 or others",
                  path, no, (int)(k > 20 ? 20 : k), k ? w : "");
    return -1;
  }
  k = p2pc_cli_word(line, end, &at, &w);
  size_t hex = 2u * key->len;
  size_t got = 0;
  const char *stop = NULL;
  bool ok =
      k == 4 + hex && memcmp(w, "HEX:", 4) == 0 &&
      sodium_hex2bin(key->key, key->len, w + 4, hex, NULL, &got, &stop) == 0 &&
      got == key->len && stop == w + 4 + hex;
  if (!ok) {
    p2pc_cli_errf(err, n,
                  "%s line %u: an %s key must be HEX: and %zu hex digits", path,
                  no, key->len == 16 ? "AES128" : "AES256", hex);
    return -1;
  }
  k = p2pc_cli_word(line, end, &at, &w);
  if (k) {
    p2pc_cli_errf(err, n, "%s line %u: unexpected \"%.*s\" after the key", path,
                  no, (int)(k > 20 ? 20 : k), w);
    return -1;
  }
  return 1;
}

int p2pc_cli_ntpkeys_parse(const char *path, const char *text, size_t len,
                           p2pc_ntp_key keys[P2PC_NTP_KEYS_MAX], size_t *n,
                           char *err, size_t errlen) {
  size_t count = 0, off = 0;
  unsigned no = 0;
  *n = 0;
  if (len > P2PC_NTPKEYS_BYTES || memchr(text, 0, len)) {
    p2pc_cli_errf(err, errlen, "%s: %s", path,
                  len > P2PC_NTPKEYS_BYTES ? "larger than 64 KiB"
                                           : "not a text file (a NUL byte)");
    return -1;
  }
  while (off < len) {
    const char *line = text + off;
    const char *nl = memchr(line, '\n', len - off);
    size_t end = nl ? (size_t)(nl - line) : len - off;
    off += end + (nl ? 1 : 0);
    no++;
    const char *hash = memchr(line, '#', end);
    if (hash)
      end = (size_t)(hash - line);
    p2pc_ntp_key k;
    memset(&k, 0, sizeof k);
    int r = parse_line(path, no, line, end, &k, err, errlen);
    if (r == 1 && count == P2PC_NTP_KEYS_MAX) {
      p2pc_cli_errf(err, errlen, "%s line %u: more than %d keys", path, no,
                    P2PC_NTP_KEYS_MAX);
      r = -1;
    }
    for (size_t i = 0; r == 1 && i < count; i++)
      if (keys[i].id == k.id) {
        p2pc_cli_errf(err, errlen, "%s line %u: key ID %lu is given twice",
                      path, no, (unsigned long)k.id);
        r = -1;
      }
    if (r == 1)
      keys[count++] = k;
    sodium_memzero(&k, sizeof k);
    if (r < 0) {
      sodium_memzero(keys, count * sizeof *keys);
      return -1;
    }
  }
  if (!count) {
    p2pc_cli_errf(err, errlen,
                  "%s: no key (lines 'ID AES128 HEX:<32 hex digits>')", path);
    return -1;
  }
  *n = count;
  return 0;
}

int p2pc_cli_ntpkeys_load(const char *path,
                          p2pc_ntp_key keys[P2PC_NTP_KEYS_MAX], size_t *n,
                          char *err, size_t errlen) {
  *n = 0;
  char *text = NULL; /* secret: sodium_malloc'd, wiped when freed */
  size_t len = 0;
  if (p2pc_cli_textfile_read(path, P2PC_NTPKEYS_BYTES, true, &text, &len, err,
                             errlen) != 0)
    return -1;
  int rc = p2pc_cli_ntpkeys_parse(path, text, len, keys, n, err, errlen);
  p2pc_cli_textfile_free(text, true);
  return rc;
}
