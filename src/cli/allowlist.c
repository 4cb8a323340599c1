/* SPDX-License-Identifier: MIT */
/* The allowlist file (allowlist.h). */
#include "allowlist.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "idtab.h"
#include "textfile.h"

#define KEY_B64 44

/* A public key: canonical padded base64 of 32 bytes that is an Ed25519
 * point. */
static bool parse_key(const char *w, size_t k, uint8_t key[32]) {
  if (k != KEY_B64)
    return false;
  size_t bin = 0;
  const char *end = NULL;
  if (sodium_base642bin(key, 32, w, k, NULL, &bin, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      bin != 32 || end != w + k)
    return false;
  char again[KEY_B64 + 1];
  sodium_bin2base64(again, sizeof again, key, 32,
                    sodium_base64_VARIANT_ORIGINAL);
  uint8_t x[32];
  return memcmp(again, w, k) == 0 &&
         crypto_sign_ed25519_pk_to_curve25519(x, key) == 0;
}

/* One line; *m is filled if it names a member (returns 1), 0 if it is
 * blank or a comment, -1 with err. */
static int parse_line(const char *path, unsigned no, const char *line,
                      size_t end, p2pc_member *m, char *err, size_t n) {
  size_t at = 0;
  const char *w;
  size_t k = p2pc_cli_word(line, end, &at, &w);
  if (k == 0 || w[0] == '#')
    return 0;
  memset(m, 0, sizeof *m);
  if (k > P2PC_NODE_ID_MAX || !p2pc_node_id_valid(w, k)) {
    p2pc_cli_errf(err, n, "%s:%u: '%.*s' is not a valid node ID", path, no,
                  (int)(k > 64 ? 64 : k), w);
    return -1;
  }
  memcpy(m->id, w, k);
  k = p2pc_cli_word(line, end, &at, &w);
  if (k == 0) {
    p2pc_cli_errf(err, n,
                  "%s:%u: %s has no public key (want: ID PUBLIC-KEY "
                  "[reference])",
                  path, no, m->id);
    return -1;
  }
  if (!parse_key(w, k, m->key)) {
    p2pc_cli_errf(err, n,
                  "%s:%u: the key of %s is not a public key (44 characters of "
                  "base64, as p2pclock keygen --show prints)",
                  path, no, m->id);
    return -1;
  }
  while ((k = p2pc_cli_word(line, end, &at, &w)) != 0) {
    if (w[0] == '#')
      break; /* a comment to the end of the line */
    if (k == 9 && memcmp(w, "reference", 9) == 0) {
      m->roles |= P2PC_ROLE_REFERENCE;
      continue;
    }
    p2pc_cli_errf(err, n,
                  "%s:%u: unknown word '%.*s' (the only role is "
                  "'reference')",
                  path, no, (int)(k > 32 ? 32 : k), w);
    return -1;
  }
  return 1;
}

int p2pc_cli_allowlist_parse(const char *path, const char *text, size_t len,
                             p2pc_member **out, size_t *n, char *err,
                             size_t errlen) {
  *out = NULL;
  *n = 0;
  if (sodium_init() < 0) {
    p2pc_cli_errf(err, errlen, "%s: libsodium does not start", path);
    return -1;
  }
  if (len > P2PC_ALLOWLIST_BYTES) {
    p2pc_cli_errf(err, errlen, "%s: larger than 1 MiB", path);
    return -1;
  }
  p2pc_member *list = NULL;
  size_t count = 0, cap = 0;
  unsigned no = 0;
  for (size_t at = 0; at < len;) {
    size_t end = at;
    while (end < len && text[end] != '\n')
      end++;
    no++;
    size_t stop = end;
    if (stop > at && text[stop - 1] == '\r')
      stop--; /* CRLF */
    for (size_t i = at; i < stop; i++)
      if (text[i] == '\0' || (text[i] < ' ' && text[i] != '\t')) {
        p2pc_cli_errf(err, errlen, "%s:%u: a control character", path, no);
        free(list);
        return -1;
      }
    p2pc_member m;
    int rv = parse_line(path, no, text + at, stop - at, &m, err, errlen);
    at = end + 1;
    if (rv < 0) {
      free(list);
      return -1;
    }
    if (rv == 0)
      continue;
    for (size_t i = 0; i < count; i++)
      if (strcmp(list[i].id, m.id) == 0 ||
          memcmp(list[i].key, m.key, sizeof m.key) == 0) {
        p2pc_cli_errf(err, errlen,
                      "%s:%u: %s listed twice (one key, one ID, one "
                      "line)",
                      path, no,
                      strcmp(list[i].id, m.id) == 0 ? "this ID is"
                                                    : "this key is");
        free(list);
        return -1;
      }
    if (count == P2PC_ALLOWLIST_MAX) {
      p2pc_cli_errf(err, errlen, "%s:%u: more than %d members", path, no,
                    P2PC_ALLOWLIST_MAX);
      free(list);
      return -1;
    }
    if (count == cap) {
      size_t nc = cap ? cap * 2 : 16;
      p2pc_member *g = realloc(list, nc * sizeof *g);
      if (!g) {
        p2pc_cli_errf(err, errlen, "%s: out of memory", path);
        free(list);
        return -1;
      }
      list = g;
      cap = nc;
    }
    list[count++] = m;
  }
  if (!count) {
    p2pc_cli_errf(err, errlen,
                  "%s: no member (want lines: ID PUBLIC-KEY "
                  "[reference])",
                  path);
    free(list);
    return -1;
  }
  *out = list;
  *n = count;
  return 0;
}

int p2pc_cli_allowlist_load(const char *path, p2pc_member **out, size_t *n,
                            char *err, size_t errlen) {
  *out = NULL;
  *n = 0;
  char *text = NULL;
  size_t len = 0;
  if (p2pc_cli_textfile_read(path, P2PC_ALLOWLIST_BYTES, false, &text, &len,
                             err, errlen) != 0)
    return -1;
  int rc = p2pc_cli_allowlist_parse(path, text, len, out, n, err, errlen);
  p2pc_cli_textfile_free(text, false);
  return rc;
}
