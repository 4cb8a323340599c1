/* SPDX-License-Identifier: MIT */
/*
 * A node's cluster keyring as the command holds it (docs/SECURITY.md,
 * "Rotating the cluster key"): 1..P2PC_KEYRING_MAX keys, the first the
 * primary, and the changes `p2pclock keys` asks for — install a key, use
 * one (make it the primary), remove one — each checked against the rules
 * of a rotation. Pure: the file (keyfile.h) and the running node
 * (p2pc_uv_keyring_set) are the caller's. Keys are named by their
 * fingerprint (keyfile.h) in every message; a key is never printed.
 */
#ifndef P2PC_CLI_KEYRING_H
#define P2PC_CLI_KEYRING_H

#include <stdbool.h>
#include <stddef.h>

#include "keyfile.h"

typedef struct p2pc_cli_ring {
  unsigned char keys[P2PC_KEYRING_MAX][P2PC_KEY_BYTES];
  size_t n;
} p2pc_cli_ring;

/* What a key reference names: a key (its base64, 44 characters) or a
 * fingerprint (16 hex digits). Returns true and fills key (a key given)
 * or fp (a fingerprint given, key untouched), false if it is neither. */
bool p2pc_cli_ring_ref(const char *text, unsigned char key[P2PC_KEY_BYTES],
                       bool *is_key, char fp[P2PC_KEY_FP_LEN + 1]);

/*
 * Applies op to r: "install" (ref a key: added last; refused if it is
 * installed already or the ring is full), "use" (ref a key or a
 * fingerprint of an installed key: it becomes the primary, the others
 * keep their order), "remove" (ref an installed key that is not the
 * primary), "list" (nothing changes; ref must be NULL). Returns 0, or -1
 * with one line in err and r unchanged. *changed says whether r changed
 * (using the primary again, say, does not). what (if not NULL) gets
 * "installed key FP" and the like, for the log.
 */
int p2pc_cli_ring_change(p2pc_cli_ring *r, const char *op, const char *ref,
                         bool *changed, char *what, size_t wcap, char *err,
                         size_t ecap);

#endif /* P2PC_CLI_KEYRING_H */
