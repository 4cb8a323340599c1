/* SPDX-License-Identifier: MIT */
/*
 * The NTP symmetric key file (--ntp-keys, config key ntpKeys;
 * docs/CLOCK.md, "Authentication"): chrony's key file format, restricted
 * to what RFC 8573 allows, one key a line,
 *
 *   # comment
 *   <key ID: 1..4294967295> AES128 HEX:<32 hex digits>
 *   <key ID> AES256 HEX:<64 hex digits>
 *
 * words separated by spaces or tabs; blank lines are skipped and a '#'
 * starts a comment. At most P2PC_NTP_KEYS_MAX keys (at least one) and
 * 64 KiB. MD5, SHA1 and every other type, a key not given as HEX: of the
 * type's length, a key ID out of range or given twice, an extra word:
 * refused, with the line number. The file holds secrets: it is read only
 * if it is a regular file owned by this user or by root and neither
 * readable nor writable by group or others.
 *
 * Errors: 0, or -1 with one line in err[0..n) naming the file (and the
 * line), no newline; keys[] is then wiped.
 */
#ifndef P2PC_CLI_NTPKEYS_H
#define P2PC_CLI_NTPKEYS_H

#include <stddef.h>

#include <p2pclock/node.h>

#define P2PC_NTPKEYS_BYTES (64u << 10)

/* Parses text[0..len) (named path in messages) into
 * keys[0..P2PC_NTP_KEYS_MAX) and *n. */
int p2pc_cli_ntpkeys_parse(const char *path, const char *text, size_t len,
                           p2pc_ntp_key keys[P2PC_NTP_KEYS_MAX], size_t *n,
                           char *err, size_t errlen);

/* Reads the file path (with the checks above), then as
 * p2pc_cli_ntpkeys_parse. The text read is wiped before returning. */
int p2pc_cli_ntpkeys_load(const char *path,
                          p2pc_ntp_key keys[P2PC_NTP_KEYS_MAX], size_t *n,
                          char *err, size_t errlen);

#endif /* P2PC_CLI_NTPKEYS_H */
