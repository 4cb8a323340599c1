/* SPDX-License-Identifier: MIT */
/*
 * The key material of issue 13 (docs/SECURITY.md): a node's identity key
 * (an Ed25519 key pair, libsodium) and a network's cluster key (32 random
 * bytes), each kept in a file of one line of text:
 *
 *   p2pclock-identity-v1 ed25519 <base64 of the 32-byte seed>\n
 *   p2pclock-cluster-v1 <base64 of the 32-byte key>\n
 *
 * (base64: RFC 4648, padded, 44 characters). The public key is derived
 * from the seed (crypto_sign_seed_keypair) and shown to people as its
 * base64, 44 characters. Files are written atomically (a temporary file
 * beside the key, mode 0600 whatever the umask, synced, then linked or
 * renamed into place; missing parent directories made 0700) and read only
 * when they are safe: a regular file (a symbolic link is followed, the
 * file it names is checked), owned by the process's effective user (root
 * too), neither readable nor writable by group or others. The secret is
 * never printed; buffers that held it are wiped.
 *
 * The node uses them for secure links (--cluster-key-file, daemon.c).
 *
 * Errors: 0 is success, else negative: -EEXIST (creating without force a
 * file that exists), -ENOENT (loading a file that does not exist),
 * P2PC_CLI_KEY_UNSAFE, P2PC_CLI_KEY_MALFORMED, P2PC_ERR_INVAL (a path too
 * long, libsodium not starting), or -errno
 * of the system call that failed. Each failure also writes one line to
 * err[0..n) (no newline, no "p2pclock CMD: " prefix) that names the path.
 */
#ifndef P2PC_CLI_KEYFILE_H
#define P2PC_CLI_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <p2pclock/node.h> /* P2PC_KEYRING_MAX */

#define P2PC_KEY_BYTES 32    /* a seed, a public key, a cluster key */
#define P2PC_KEY_B64_LEN 44  /* the base64 of one, without the NUL */
#define P2PC_KEY_SK_BYTES 64 /* libsodium's Ed25519 secret key */
#define P2PC_KEY_PATH_MAX 4000
#define P2PC_KEY_ERR_LEN (P2PC_KEY_PATH_MAX + 200) /* holds any message */
#define P2PC_KEY_FP_LEN 16 /* a cluster key's fingerprint, hex digits */

#define P2PC_CLI_KEY_UNSAFE                                                    \
  (-10101)                              /* not a regular file, too open, or    \
                                           owned by another user */
#define P2PC_CLI_KEY_MALFORMED (-10102) /* not a key file of this kind */

#define P2PC_KEY_IDENTITY_HEADER "p2pclock-identity-v1 ed25519"
#define P2PC_KEY_CLUSTER_HEADER "p2pclock-cluster-v1"

/* A node's identity. Lives in memory from p2pc_cli_key_new (sodium_malloc:
 * guard pages, locked, wiped by p2pc_cli_key_free). */
typedef struct p2pc_cli_key {
  unsigned char sk[P2PC_KEY_SK_BYTES]; /* seed || public key */
  unsigned char pk[P2PC_KEY_BYTES];    /* the Ed25519 public key */
} p2pc_cli_key;

/* A zeroed key, or NULL if memory ran out or libsodium could not start. */
p2pc_cli_key *p2pc_cli_key_new(void);
/* Wipes and frees k; NULL is a no-op. */
void p2pc_cli_key_free(p2pc_cli_key *k);

/*
 * Generates an identity key into k and writes it to path. An existing
 * path (a dangling symbolic link too) is refused with -EEXIST unless
 * force, which replaces it. On failure no file is left behind (neither
 * the key nor the temporary one) and k is wiped.
 */
int p2pc_cli_key_create(const char *path, bool force, p2pc_cli_key *k,
                        char *err, size_t n);

/* Reads the identity key file path into k, after the checks above.
 * Messages: "permissions 0644 for 'PATH' are too open; chmod 600 it",
 * "PATH: not a regular file", "PATH: owned by uid U, not by this user
 * (uid V)", "PATH: not an identity key file (...)", "PATH: ...". k is
 * wiped on failure. */
int p2pc_cli_key_load(const char *path, p2pc_cli_key *k, char *err, size_t n);

/*
 * What a node does on start: loads path, or if it does not exist creates
 * it and says so on say (unless NULL): "p2pclock node: created identity
 * key PATH (public key B64)". Two processes racing on one path end up
 * with the same key.
 */
int p2pc_cli_key_load_or_create(const char *path, p2pc_cli_key *k, FILE *say,
                                char *err, size_t n);

/* The base64 of a 32-byte key (public, or cluster) into out, NUL ended. */
void p2pc_cli_key_b64(const unsigned char key[P2PC_KEY_BYTES],
                      char out[P2PC_KEY_B64_LEN + 1]);

/*
 * The default identity key file of node id into out[0..n):
 * /var/lib/p2pclock/ID.key for root, else
 * $XDG_STATE_HOME/p2pclock/ID.key ($XDG_STATE_HOME if set to an absolute
 * path, else $HOME/.local/state). Returns 0, or P2PC_ERR_INVAL (with
 * err) if HOME is needed and not an absolute path or the path is too
 * long.
 */
int p2pc_cli_key_default_path(const char *id, char *out, size_t n, char *err,
                              size_t errn);
/* The same for the given effective uid and environment values (NULL:
 * unset). */
int p2pc__key_path_for(const char *id, uid_t euid, const char *xdg_state_home,
                       const char *home, char *out, size_t n, char *err,
                       size_t errn);

/* 32 random bytes into key. Returns 0, or -1 if libsodium could not
 * start. */
int p2pc_cli_cluster_key_generate(unsigned char key[P2PC_KEY_BYTES]);

/* A cluster key given as text (a config value): exactly 44 characters
 * of base64 for 32 bytes. Returns 0, or P2PC_CLI_KEY_MALFORMED (key
 * untouched). */
int p2pc_cli_cluster_key_parse(const char *text,
                               unsigned char key[P2PC_KEY_BYTES]);

/* Writes key to a cluster key file, as p2pc_cli_key_create writes. */
int p2pc_cli_cluster_key_write(const char *path, bool force,
                               const unsigned char key[P2PC_KEY_BYTES],
                               char *err, size_t n);

/* Reads a cluster key file, with the checks of p2pc_cli_key_load; key is
 * wiped on failure. */
int p2pc_cli_cluster_key_load(const char *path,
                              unsigned char key[P2PC_KEY_BYTES], char *err,
                              size_t n);

/*
 * A keyring (docs/SECURITY.md, "Rotating the cluster key"): a cluster key
 * file of 1..P2PC_KEYRING_MAX lines, each as a cluster key file's one
 * line ("p2pclock-cluster-v1 B64\n", the last newline optional), no two
 * keys alike; the first is the primary. A file of one line is a keyring
 * of one key, so every cluster key file is one. Loading: the checks of
 * p2pc_cli_key_load, messages naming "PATH line N" past the first line;
 * keys wiped on failure, *count the number of keys on success.
 */
int p2pc_cli_keyring_load(const char *path,
                          unsigned char keys[P2PC_KEYRING_MAX][P2PC_KEY_BYTES],
                          size_t *count, char *err, size_t n);
/* Writes count (1..P2PC_KEYRING_MAX) keys as p2pc_cli_key_create writes a
 * file: temporary file, 0600, synced, then linked (or with force renamed)
 * into place. */
int p2pc_cli_keyring_write(const char *path, bool force,
                           const unsigned char (*keys)[P2PC_KEY_BYTES],
                           size_t count, char *err, size_t n);

/* A cluster key's fingerprint, to name it without showing it: the first
 * 8 bytes of BLAKE2b-256 keyed by "p2pclock cluster key fingerprint", as
 * 16 hex digits. One-way: it tells keys apart, it gives nothing of one. */
void p2pc_cli_key_fingerprint(const unsigned char key[P2PC_KEY_BYTES],
                              char out[P2PC_KEY_FP_LEN + 1]);

#endif /* P2PC_CLI_KEYFILE_H */
