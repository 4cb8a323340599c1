/* SPDX-License-Identifier: MIT */
/*
 * The allowlist of a closed network (docs/SECURITY.md, "The allowlist"):
 * a text file, one member a line,
 *
 *   # comment
 *   <node ID> <public key: base64 of 32 bytes, 44 characters> [reference]
 *
 * words separated by spaces or tabs; blank lines and lines whose first
 * word starts with '#' are skipped. "reference" gives the member the
 * reference role (only such members may be elected the clock's
 * reference). At most P2PC_ALLOWLIST_MAX members and 1 MiB. An ID or a
 * key listed twice, a bad ID, a key that is not canonical base64 of 32
 * bytes or no Ed25519 public key, an unknown word: refused, with the line
 * number. The file holds no secret, but who may join depends on it: it
 * is read only if it is a regular file owned by this user or by root and
 * writable by nobody else.
 *
 * Errors: 0, or -1 with one line in err[0..n) naming the file (and the
 * line), no newline.
 */
#ifndef P2PC_CLI_ALLOWLIST_H
#define P2PC_CLI_ALLOWLIST_H

#include <stddef.h>

#include <p2pclock/node.h>

#define P2PC_ALLOWLIST_MAX 4096
#define P2PC_ALLOWLIST_BYTES (1u << 20)

/* Parses text[0..len) (named path in messages) into *out (malloc'd, the
 * caller frees; NULL when empty) and *n. */
int p2pc_cli_allowlist_parse(const char *path, const char *text, size_t len,
                             p2pc_member **out, size_t *n, char *err,
                             size_t errlen);
/* Reads and parses the file path. */
int p2pc_cli_allowlist_load(const char *path, p2pc_member **out, size_t *n,
                            char *err, size_t errlen);

#endif /* P2PC_CLI_ALLOWLIST_H */
