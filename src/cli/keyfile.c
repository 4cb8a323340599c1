/* SPDX-License-Identifier: MIT */
/*
 * Identity and cluster key files (keyfile.h): both kinds are one line, a
 * header and the base64 of 32 secret bytes, written and read by the same
 * two functions, write_secret and read_secret. Secrets live on the stack
 * or in sodium_malloc'd memory and are wiped before the function returns.
 */
#include "keyfile.h"
#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "p2pclock/p2pclock.h"

_Static_assert(P2PC_KEY_BYTES == crypto_sign_SEEDBYTES, "a seed");
_Static_assert(P2PC_KEY_BYTES == crypto_sign_PUBLICKEYBYTES, "a public key");
_Static_assert(P2PC_KEY_SK_BYTES == crypto_sign_SECRETKEYBYTES, "a secret");

/* A key file is 74 bytes at most (the longest header and a space, the
 * key, a newline); up to this many are read, so that a key of a wrong
 * length is told as such, and a longer file is not a key file. */
#define LINE_MAX_BYTES 256
/* A keyring file: P2PC_KEYRING_MAX lines of a cluster key. */
#define RING_LINE_BYTES (sizeof P2PC_KEY_CLUSTER_HEADER + P2PC_KEY_B64_LEN + 1)
#define FILE_MAX_BYTES 512
_Static_assert(P2PC_KEYRING_MAX *RING_LINE_BYTES < FILE_MAX_BYTES, "ring");
#define KEY_LINE_BYTES (sizeof P2PC_KEY_IDENTITY_HEADER + P2PC_KEY_B64_LEN + 1)
#define TMP_SUFFIX ".tmp-XXXXXX"

static int sodium_ready(void) { return sodium_init() < 0 ? -1 : 0; }

p2pc_cli_key *p2pc_cli_key_new(void) {
  if (sodium_ready() < 0)
    return NULL;
  p2pc_cli_key *k = sodium_malloc(sizeof *k);
  if (k)
    sodium_memzero(k, sizeof *k);
  return k;
}

void p2pc_cli_key_free(p2pc_cli_key *k) {
  if (k)
    sodium_free(k); /* wipes */
}

void p2pc_cli_key_b64(const unsigned char key[P2PC_KEY_BYTES],
                      char out[P2PC_KEY_B64_LEN + 1]) {
  sodium_bin2base64(out, P2PC_KEY_B64_LEN + 1, key, P2PC_KEY_BYTES,
                    sodium_base64_VARIANT_ORIGINAL);
}

/* Creates the missing directories of path's parent, each 0700 whatever
 * the umask. Returns 0 or -errno (err set). */
static int make_parents(const char *path, char *err, size_t n) {
  char dir[P2PC_KEY_PATH_MAX + 1];
  size_t len = strlen(path);
  memcpy(dir, path, len + 1);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir)
    return 0; /* the current directory, or / */
  *slash = '\0';
  for (char *p = dir + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char c = *p;
    *p = '\0';
    if (mkdir(dir, 0700) == 0) {
      if (chmod(dir, 0700) < 0) {
        int e = errno;
        p2pc_cli_errf(err, n, "%s: cannot set the mode of directory: %s", dir,
                      strerror(e));
        return -e;
      }
    } else if (errno != EEXIST) {
      int e = errno;
      p2pc_cli_errf(err, n, "%s: cannot create directory: %s", dir,
                    strerror(e));
      return -e;
    }
    *p = c;
    if (c == '\0')
      return 0;
  }
}

/* Syncs the directory holding path, so that the new name survives a
 * crash. Returns 0 or -errno. */
static int sync_parent(const char *path) {
  char dir[P2PC_KEY_PATH_MAX + 1];
  size_t len = strlen(path);
  memcpy(dir, path, len + 1);
  char *slash = strrchr(dir, '/');
  if (!slash)
    memcpy(dir, ".", 2);
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  int fd = open(dir, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  int rc = fsync(fd) < 0 && errno != EINVAL ? -errno : 0;
  close(fd);
  return rc;
}

/* Writes all of buf[0..len) to fd. Returns 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    buf += w;
    len -= (size_t)w;
  }
  return 0;
}

/*
 * Writes "HEADER B64\n" (one line per secret, count of them) to path
 * atomically: a temporary file beside it
 * (mkstemp: O_CREAT | O_EXCL), fchmod 0600, fsync, then link (without
 * force: fails if path exists, even racing) or rename (with force) into
 * place, and the directory synced. The temporary file is removed on every
 * path out.
 */
static int write_secrets(const char *path, bool force, const char *header,
                         const unsigned char (*secrets)[P2PC_KEY_BYTES],
                         size_t count, char *err, size_t n) {
  size_t plen = strlen(path);
  if (plen == 0 || plen + sizeof TMP_SUFFIX > P2PC_KEY_PATH_MAX) {
    p2pc_cli_errf(err, n, "%.100s...: path too long (at most %d bytes)", path,
                  P2PC_KEY_PATH_MAX - (int)sizeof TMP_SUFFIX);
    return P2PC_ERR_INVAL;
  }
  if (path[plen - 1] == '/') {
    p2pc_cli_errf(err, n, "%s: names a directory, not a file", path);
    return P2PC_ERR_INVAL;
  }
  int rc = make_parents(path, err, n);
  if (rc < 0)
    return rc;

  char tmp[P2PC_KEY_PATH_MAX + 1];
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, TMP_SUFFIX, sizeof TMP_SUFFIX);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int e = errno;
    p2pc_cli_errf(err, n, "%s: cannot create: %s", path, strerror(e));
    return -e;
  }

  char line[FILE_MAX_BYTES + 1];
  size_t len = 0;
  for (size_t i = 0; i < count; i++) {
    int w = snprintf(line + len, sizeof line - len, "%s ", header);
    len += (size_t)w;
    sodium_bin2base64(line + len, sizeof line - len, secrets[i], P2PC_KEY_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);
    len += P2PC_KEY_B64_LEN;
    line[len++] = '\n';
  }

  const char *step = "set the mode of the temporary file";
  if (fchmod(fd, 0600) < 0) {
    rc = -errno;
    goto err;
  }
  step = "write the temporary file";
  if ((rc = write_all(fd, line, len)) < 0)
    goto err;
  step = "sync the temporary file";
  if (fsync(fd) < 0) {
    rc = -errno;
    goto err;
  }
  step = "close the temporary file";
  rc = close(fd) < 0 ? -errno : 0;
  fd = -1;
  if (rc < 0)
    goto err;
  sodium_memzero(line, sizeof line);
  if (force) {
    if (rename(tmp, path) < 0) {
      rc = -errno;
      step = "rename the temporary file into place";
      goto err;
    }
  } else {
    /* link, unlike rename, fails if path exists, even if it appeared
     * since anyone looked: no key is ever replaced without force. */
    if (link(tmp, path) < 0) {
      rc = -errno;
      step = "link the temporary file into place";
      goto err;
    }
    unlink(tmp);
  }
  rc = sync_parent(path);
  if (rc < 0) {
    p2pc_cli_errf(err, n, "%s: written, but cannot sync its directory: %s",
                  path, strerror(-rc));
    return rc;
  }
  return 0;

err:
  sodium_memzero(line, sizeof line);
  if (fd >= 0)
    close(fd);
  unlink(tmp);
  if (rc == -EEXIST)
    p2pc_cli_errf(err, n, "%s: already exists", path);
  else
    p2pc_cli_errf(err, n, "%s: cannot %s: %s", path, step, strerror(-rc));
  return rc;
}

/* The kind of key file a header names, for messages; a_kind_of with its
 * article. */
static bool is_identity(const char *header) {
  return strcmp(header, P2PC_KEY_IDENTITY_HEADER) == 0;
}
static const char *kind_of(const char *header) {
  return is_identity(header) ? "identity key" : "cluster key";
}
static const char *a_kind_of(const char *header) {
  return is_identity(header) ? "an identity key" : "a cluster key";
}

/* Decodes line[0..len), a whole file, as "HEADER B64\n" (the newline
 * optional) into secret. Returns 0 or P2PC_CLI_KEY_MALFORMED (err set;
 * nothing of the file's content is quoted, it may be a secret). */
static int parse_secret(const char *path, const char *header, const char *line,
                        size_t len, unsigned char secret[P2PC_KEY_BYTES],
                        char *err, size_t n) {
  size_t hlen = strlen(header);
  const char *other =
      is_identity(header) ? P2PC_KEY_CLUSTER_HEADER : P2PC_KEY_IDENTITY_HEADER;
  if (len < hlen + 1 || memcmp(line, header, hlen) != 0 || line[hlen] != ' ') {
    size_t olen = strlen(other);
    if (len > olen && memcmp(line, other, olen) == 0 && line[olen] == ' ')
      p2pc_cli_errf(err, n, "%s: %s file, not %s file", path, a_kind_of(other),
                    a_kind_of(header));
    else
      p2pc_cli_errf(err, n,
                    "%s: not a p2pclock %s file (its line must start with "
                    "\"%s \")",
                    path, kind_of(header), header);
    return P2PC_CLI_KEY_MALFORMED;
  }
  const char *tok = line + hlen + 1;
  const char *end = line + len;
  const char *t = tok;
  while (t < end && *t != ' ' && *t != '\t' && *t != '\r' && *t != '\n')
    t++;
  size_t toklen = (size_t)(t - tok);
  if (!(t == end || (*t == '\n' && t + 1 == end))) {
    p2pc_cli_errf(err, n,
                  "%s: trailing data after the key (the file must be one "
                  "line)",
                  path);
    return P2PC_CLI_KEY_MALFORMED;
  }
  unsigned char bin[LINE_MAX_BYTES];
  size_t blen = 0;
  const char *b64_end = NULL;
  int rc = 0;
  if (toklen == 0 ||
      sodium_base642bin(bin, sizeof bin, tok, toklen, NULL, &blen, &b64_end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      b64_end != t) {
    p2pc_cli_errf(err, n, "%s: the key is not valid base64", path);
    rc = P2PC_CLI_KEY_MALFORMED;
  } else if (blen != P2PC_KEY_BYTES) {
    p2pc_cli_errf(err, n, "%s: the key is %zu bytes, want %d", path, blen,
                  P2PC_KEY_BYTES);
    rc = P2PC_CLI_KEY_MALFORMED;
  } else {
    memcpy(secret, bin, P2PC_KEY_BYTES);
  }
  sodium_memzero(bin, sizeof bin);
  return rc;
}

/*
 * Reads up to cap bytes of the key file path into buf (*got of them),
 * after the safety checks of keyfile.h. The file is opened first (following a
 * symbolic link, without blocking on a FIFO) and every check is made on
 * what was opened (fstat), so that nothing can be swapped in between.
 */
static int read_file(const char *path, char *buf, size_t cap, size_t *got,
                     char *err, size_t n) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT)
      p2pc_cli_errf(err, n, "%s: no such file", path);
    else
      p2pc_cli_errf(err, n, "%s: cannot open: %s", path, strerror(e));
    return -e;
  }
  struct stat st;
  int rc = 0;
  if (fstat(fd, &st) < 0) {
    rc = -errno;
    p2pc_cli_errf(err, n, "%s: cannot stat: %s", path, strerror(-rc));
  } else if (!S_ISREG(st.st_mode)) {
    rc = P2PC_CLI_KEY_UNSAFE;
    p2pc_cli_errf(err, n, "%s: not a regular file", path);
  } else if (st.st_uid != geteuid()) {
    rc = P2PC_CLI_KEY_UNSAFE;
    p2pc_cli_errf(err, n, "%s: owned by uid %lu, not by this user (uid %lu)",
                  path, (unsigned long)st.st_uid, (unsigned long)geteuid());
  } else if ((st.st_mode & 077) != 0) {
    rc = P2PC_CLI_KEY_UNSAFE;
    p2pc_cli_errf(err, n,
                  "permissions %04o for '%s' are too open; chmod 600 it",
                  (unsigned)(st.st_mode & 07777), path);
  }
  if (rc < 0) {
    close(fd);
    return rc;
  }
  size_t len = 0;
  while (len < cap) {
    ssize_t r = read(fd, buf + len, cap - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      rc = -errno;
      p2pc_cli_errf(err, n, "%s: cannot read: %s", path, strerror(-rc));
      break;
    }
    if (r == 0)
      break;
    len += (size_t)r;
  }
  close(fd);
  *got = len;
  return rc;
}

static int read_secret(const char *path, const char *header,
                       unsigned char secret[P2PC_KEY_BYTES], char *err,
                       size_t n) {
  /* One byte more than a key file may have tells a longer one. */
  char buf[LINE_MAX_BYTES + 1];
  size_t len = 0;
  int rc = read_file(path, buf, sizeof buf, &len, err, n);
  if (rc == 0 && len > LINE_MAX_BYTES) {
    rc = P2PC_CLI_KEY_MALFORMED;
    p2pc_cli_errf(err, n,
                  "%s: too long for a key file (one line of at most %zu "
                  "bytes)",
                  path, KEY_LINE_BYTES);
  }
  if (rc == 0)
    rc = parse_secret(path, header, buf, len, secret, err, n);
  sodium_memzero(buf, sizeof buf);
  return rc;
}

int p2pc_cli_key_create(const char *path, bool force, p2pc_cli_key *k,
                        char *err, size_t n) {
  unsigned char seed[P2PC_KEY_BYTES];
  if (sodium_ready() < 0) {
    p2pc_cli_errf(err, n, "%s: libsodium could not start", path);
    return P2PC_ERR_INVAL;
  }
  randombytes_buf(seed, sizeof seed);
  crypto_sign_seed_keypair(k->pk, k->sk, seed);
  int rc =
      write_secrets(path, force, P2PC_KEY_IDENTITY_HEADER,
                    (const unsigned char(*)[P2PC_KEY_BYTES])seed, 1, err, n);
  sodium_memzero(seed, sizeof seed);
  if (rc < 0)
    sodium_memzero(k, sizeof *k);
  return rc;
}

int p2pc_cli_key_load(const char *path, p2pc_cli_key *k, char *err, size_t n) {
  unsigned char seed[P2PC_KEY_BYTES];
  if (sodium_ready() < 0) {
    p2pc_cli_errf(err, n, "%s: libsodium could not start", path);
    return P2PC_ERR_INVAL;
  }
  int rc = read_secret(path, P2PC_KEY_IDENTITY_HEADER, seed, err, n);
  if (rc == 0)
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
  else
    sodium_memzero(k, sizeof *k);
  sodium_memzero(seed, sizeof seed);
  return rc;
}

int p2pc_cli_key_load_or_create(const char *path, p2pc_cli_key *k, FILE *say,
                                char *err, size_t n) {
  int rc = p2pc_cli_key_load(path, k, err, n);
  if (rc != -ENOENT)
    return rc;
  struct stat st;
  if (lstat(path, &st) == 0) { /* a dangling symbolic link: not ours */
    p2pc_cli_errf(err, n, "%s: a symbolic link to a file that does not exist",
                  path);
    return rc;
  }
  rc = p2pc_cli_key_create(path, false, k, err, n);
  if (rc == -EEXIST) /* another process created it first: take its key */
    return p2pc_cli_key_load(path, k, err, n);
  if (rc == 0 && say) {
    char b64[P2PC_KEY_B64_LEN + 1];
    p2pc_cli_key_b64(k->pk, b64);
    fprintf(say, "p2pclock node: created identity key %s (public key %s)\n",
            path, b64);
  }
  return rc;
}

int p2pc__key_path_for(const char *id, uid_t euid, const char *xdg_state_home,
                       const char *home, char *out, size_t n, char *err,
                       size_t errn) {
  int w;
  if (euid == 0)
    w = snprintf(out, n, "/var/lib/p2pclock/%s.key", id);
  else if (xdg_state_home && xdg_state_home[0] == '/')
    w = snprintf(out, n, "%s/p2pclock/%s.key", xdg_state_home, id);
  else if (home && home[0] == '/')
    w = snprintf(out, n, "%s/.local/state/p2pclock/%s.key", home, id);
  else {
    p2pc_cli_errf(err, errn,
                  "no default key file: neither XDG_STATE_HOME nor "
                  "HOME is an absolute path (give --key FILE)");
    return P2PC_ERR_INVAL;
  }
  if (w < 0 || (size_t)w >= n || (size_t)w > P2PC_KEY_PATH_MAX) {
    p2pc_cli_errf(err, errn,
                  "the default key file of \"%s\" is too long a path", id);
    return P2PC_ERR_INVAL;
  }
  return 0;
}

int p2pc_cli_key_default_path(const char *id, char *out, size_t n, char *err,
                              size_t errn) {
  return p2pc__key_path_for(id, geteuid(), getenv("XDG_STATE_HOME"),
                            getenv("HOME"), out, n, err, errn);
}

int p2pc_cli_cluster_key_generate(unsigned char key[P2PC_KEY_BYTES]) {
  if (sodium_ready() < 0)
    return -1;
  randombytes_buf(key, P2PC_KEY_BYTES);
  return 0;
}

int p2pc_cli_cluster_key_parse(const char *text,
                               unsigned char key[P2PC_KEY_BYTES]) {
  unsigned char bin[P2PC_KEY_BYTES];
  size_t len = strlen(text), blen = 0;
  const char *end = NULL;
  int rc = P2PC_CLI_KEY_MALFORMED;
  if (len == P2PC_KEY_B64_LEN &&
      sodium_base642bin(bin, sizeof bin, text, len, NULL, &blen, &end,
                        sodium_base64_VARIANT_ORIGINAL) == 0 &&
      end == text + len && blen == P2PC_KEY_BYTES) {
    memcpy(key, bin, P2PC_KEY_BYTES);
    rc = 0;
  }
  sodium_memzero(bin, sizeof bin);
  return rc;
}

int p2pc_cli_cluster_key_write(const char *path, bool force,
                               const unsigned char key[P2PC_KEY_BYTES],
                               char *err, size_t n) {
  if (sodium_ready() < 0) {
    p2pc_cli_errf(err, n, "%s: libsodium could not start", path);
    return P2PC_ERR_INVAL;
  }
  return write_secrets(path, force, P2PC_KEY_CLUSTER_HEADER,
                       (const unsigned char(*)[P2PC_KEY_BYTES])key, 1, err, n);
}

int p2pc_cli_cluster_key_load(const char *path,
                              unsigned char key[P2PC_KEY_BYTES], char *err,
                              size_t n) {
  if (sodium_ready() < 0) {
    p2pc_cli_errf(err, n, "%s: libsodium could not start", path);
    return P2PC_ERR_INVAL;
  }
  int rc = read_secret(path, P2PC_KEY_CLUSTER_HEADER, key, err, n);
  if (rc < 0)
    sodium_memzero(key, P2PC_KEY_BYTES);
  return rc;
}

/* ---- keyrings ------------------------------------------------------------ */

int p2pc_cli_keyring_load(const char *path,
                          unsigned char keys[P2PC_KEYRING_MAX][P2PC_KEY_BYTES],
                          size_t *count, char *err, size_t n) {
  *count = 0;
  if (sodium_ready() < 0) {
    p2pc_cli_errf(err, n, "%s: libsodium could not start", path);
    return P2PC_ERR_INVAL;
  }
  char buf[FILE_MAX_BYTES + 1];
  size_t len = 0, at = 0, k = 0;
  int rc = read_file(path, buf, sizeof buf, &len, err, n);
  if (rc == 0 && len > FILE_MAX_BYTES) {
    rc = P2PC_CLI_KEY_MALFORMED;
    p2pc_cli_errf(
        err, n,
        "%s: too long for a cluster key file (at most %d lines of %zu "
        "bytes)",
        path, P2PC_KEYRING_MAX, RING_LINE_BYTES);
  }
  while (rc == 0 && (at < len || k == 0)) {
    const char *nl = memchr(buf + at, '\n', len - at);
    size_t end = nl ? (size_t)(nl - buf) + 1 : len;
    char where[P2PC_KEY_PATH_MAX + 32];
    if (k == 0)
      snprintf(where, sizeof where, "%s", path);
    else
      snprintf(where, sizeof where, "%s line %zu", path, k + 1);
    if (k == P2PC_KEYRING_MAX) {
      rc = P2PC_CLI_KEY_MALFORMED;
      p2pc_cli_errf(err, n, "%s: more than %d keys (the most a node holds)",
                    where, P2PC_KEYRING_MAX);
      break;
    }
    rc = parse_secret(where, P2PC_KEY_CLUSTER_HEADER, buf + at, end - at,
                      keys[k], err, n);
    for (size_t j = 0; rc == 0 && j < k; j++)
      if (sodium_memcmp(keys[j], keys[k], P2PC_KEY_BYTES) == 0) {
        rc = P2PC_CLI_KEY_MALFORMED;
        p2pc_cli_errf(err, n, "%s: the same key as line %zu", where, j + 1);
      }
    k++;
    at = end;
  }
  sodium_memzero(buf, sizeof buf);
  if (rc < 0)
    sodium_memzero(keys, P2PC_KEYRING_MAX * P2PC_KEY_BYTES);
  else
    *count = k;
  return rc;
}

int p2pc_cli_keyring_write(const char *path, bool force,
                           const unsigned char (*keys)[P2PC_KEY_BYTES],
                           size_t count, char *err, size_t n) {
  if (count == 0 || count > P2PC_KEYRING_MAX) {
    p2pc_cli_errf(err, n, "%s: a keyring holds 1..%d keys, not %zu", path,
                  P2PC_KEYRING_MAX, count);
    return P2PC_ERR_INVAL;
  }
  if (sodium_ready() < 0) {
    p2pc_cli_errf(err, n, "%s: libsodium could not start", path);
    return P2PC_ERR_INVAL;
  }
  return write_secrets(path, force, P2PC_KEY_CLUSTER_HEADER, keys, count, err,
                       n);
}

void p2pc_cli_key_fingerprint(const unsigned char key[P2PC_KEY_BYTES],
                              char out[P2PC_KEY_FP_LEN + 1]) {
  static const char ctx[] = "p2pclock cluster key fingerprint";
  unsigned char h[crypto_generichash_BYTES];
  crypto_generichash(h, sizeof h, key, P2PC_KEY_BYTES,
                     (const unsigned char *)ctx, sizeof ctx - 1);
  sodium_bin2hex(out, P2PC_KEY_FP_LEN + 1, h, P2PC_KEY_FP_LEN / 2);
}
