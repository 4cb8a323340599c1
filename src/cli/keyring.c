/* SPDX-License-Identifier: MIT */
/*
 * The keyring's changes (keyring.h). Checked here, once, so that the
 * control socket, whatever client speaks to it, cannot leave a node
 * without a primary, with more keys than the core holds, or using a key
 * it does not hold.
 */
#include "keyring.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

bool p2pc_cli_ring_ref(const char *text, unsigned char key[P2PC_KEY_BYTES],
                       bool *is_key, char fp[P2PC_KEY_FP_LEN + 1]) {
  size_t len = strlen(text);
  if (len == P2PC_KEY_B64_LEN) {
    *is_key = true;
    return p2pc_cli_cluster_key_parse(text, key) == 0;
  }
  if (len != P2PC_KEY_FP_LEN)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!((text[i] >= '0' && text[i] <= '9') ||
          (text[i] >= 'a' && text[i] <= 'f')))
      return false;
  *is_key = false;
  memcpy(fp, text, len + 1);
  return true;
}

/* The index of the installed key that ref names, or -1 (err set). */
static int find(const p2pc_cli_ring *r, const char *ref, char *err,
                size_t ecap) {
  unsigned char key[P2PC_KEY_BYTES];
  char fp[P2PC_KEY_FP_LEN + 1], have[P2PC_KEY_FP_LEN + 1];
  bool is_key = false;
  int at = -1;
  if (!ref || !p2pc_cli_ring_ref(ref, key, &is_key, fp)) {
    snprintf(err, ecap,
             "name the key by its base64 (44 characters) or its fingerprint "
             "(16 hex digits, p2pclock keys list)");
    return -1;
  }
  if (is_key)
    p2pc_cli_key_fingerprint(key, fp);
  for (size_t i = 0; i < r->n && at < 0; i++) {
    p2pc_cli_key_fingerprint(r->keys[i], have);
    if (is_key ? sodium_memcmp(key, r->keys[i], P2PC_KEY_BYTES) == 0
               : strcmp(fp, have) == 0)
      at = (int)i;
  }
  sodium_memzero(key, sizeof key);
  if (at < 0)
    snprintf(err, ecap, "key %s is not installed (p2pclock keys list)", fp);
  return at;
}

int p2pc_cli_ring_change(p2pc_cli_ring *r, const char *op, const char *ref,
                         bool *changed, char *what, size_t wcap, char *err,
                         size_t ecap) {
  char fp[P2PC_KEY_FP_LEN + 1];
  char dummy[8];
  if (!what) {
    what = dummy;
    wcap = sizeof dummy;
  }
  *changed = false;
  what[0] = '\0';
  if (strcmp(op, "list") == 0) {
    if (ref) {
      snprintf(err, ecap, "keys list takes no key");
      return -1;
    }
    return 0;
  }
  if (strcmp(op, "install") == 0) {
    unsigned char key[P2PC_KEY_BYTES];
    bool is_key = false;
    if (!ref || !p2pc_cli_ring_ref(ref, key, &is_key, fp) || !is_key) {
      snprintf(err, ecap,
               "keys install needs a cluster key (44 characters of base64, "
               "or a cluster key file)");
      return -1;
    }
    p2pc_cli_key_fingerprint(key, fp);
    int rv = 0;
    for (size_t i = 0; i < r->n; i++)
      if (sodium_memcmp(key, r->keys[i], P2PC_KEY_BYTES) == 0)
        rv = -1;
    if (rv)
      snprintf(err, ecap, "key %s is installed already", fp);
    else if (r->n == P2PC_KEYRING_MAX) {
      snprintf(err, ecap,
               "the keyring is full (%d keys): remove one first (p2pclock "
               "keys remove)",
               P2PC_KEYRING_MAX);
      rv = -1;
    } else {
      memcpy(r->keys[r->n++], key, P2PC_KEY_BYTES);
      *changed = true;
      snprintf(what, wcap, "installed key %s", fp);
    }
    sodium_memzero(key, sizeof key);
    return rv;
  }
  bool use = strcmp(op, "use") == 0;
  if (!use && strcmp(op, "remove") != 0) {
    snprintf(err, ecap, "keys: no such operation: %.20s", op);
    return -1;
  }
  int at = find(r, ref, err, ecap);
  if (at < 0)
    return -1;
  p2pc_cli_key_fingerprint(r->keys[at], fp);
  if (use) {
    snprintf(what, wcap, "primary key now %s", fp);
    if (at == 0)
      return 0;
    unsigned char key[P2PC_KEY_BYTES];
    memcpy(key, r->keys[at], sizeof key);
    memmove(r->keys[1], r->keys[0], (size_t)at * P2PC_KEY_BYTES);
    memcpy(r->keys[0], key, sizeof key);
    sodium_memzero(key, sizeof key);
    *changed = true;
    return 0;
  }
  if (at == 0) {
    snprintf(err, ecap,
             "key %s is the primary: use another key first (p2pclock keys "
             "use)",
             fp);
    return -1;
  }
  memmove(r->keys[at], r->keys[at + 1],
          (r->n - (size_t)at - 1) * P2PC_KEY_BYTES);
  r->n--;
  sodium_memzero(r->keys[r->n], P2PC_KEY_BYTES);
  *changed = true;
  snprintf(what, wcap, "removed key %s", fp);
  return 0;
}
