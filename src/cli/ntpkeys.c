/* SPDX-License-Identifier: MIT */
/* The NTP symmetric key file (ntpkeys.h). */
#include "ntpkeys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static void set_err(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (n)
    vsnprintf(err, n, fmt, ap);
  va_end(ap);
}

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* The next word of line[*at..end): its start in *w, its length returned
 * (0 at the end). */
static size_t word(const char *line, size_t end, size_t *at, const char **w) {
  while (*at < end && blank(line[*at]))
    (*at)++;
  *w = line + *at;
  size_t k = 0;
  while (*at < end && !blank(line[*at])) {
    (*at)++;
    k++;
  }
  return k;
}

static bool is(const char *w, size_t k, const char *s) {
  return k == strlen(s) && memcmp(w, s, k) == 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
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
  size_t k = word(line, end, &at, &w);
  if (k == 0)
    return 0;
  if (!parse_id(w, k, &key->id)) {
    set_err(err, n,
            "%s line %u: the key ID must be an integer 1..4294967295, "
            "got \"%.*s\"",
            path, no, (int)(k > 20 ? 20 : k), w);
    return -1;
  }
  k = word(line, end, &at, &w);
  if (is(w, k, "AES128"))
    key->len = 16;
  else if (is(w, k, "AES256"))
    key->len = 32;
  else {
    set_err(err, n,
            "%s line %u: key type \"%.*s\" is not allowed: RFC 8573 "
            "takes AES128 or AES256 (AES-CMAC), not MD5, SHA1 or others",
            path, no, (int)(k > 20 ? 20 : k), k ? w : "");
    return -1;
  }
  k = word(line, end, &at, &w);
  size_t hex = 2u * key->len;
  bool ok = k == 4 + hex && memcmp(w, "HEX:", 4) == 0;
  for (size_t i = 0; ok && i < key->len; i++) {
    int hi = hexval(w[4 + 2 * i]), lo = hexval(w[5 + 2 * i]);
    ok = hi >= 0 && lo >= 0;
    key->key[i] = ok ? (uint8_t)(hi << 4 | lo) : 0;
  }
  if (!ok) {
    set_err(err, n, "%s line %u: an %s key must be HEX: and %zu hex digits",
            path, no, key->len == 16 ? "AES128" : "AES256", hex);
    return -1;
  }
  k = word(line, end, &at, &w);
  if (k) {
    set_err(err, n, "%s line %u: unexpected \"%.*s\" after the key", path, no,
            (int)(k > 20 ? 20 : k), w);
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
    set_err(err, errlen, "%s: %s", path,
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
      set_err(err, errlen, "%s line %u: more than %d keys", path, no,
              P2PC_NTP_KEYS_MAX);
      r = -1;
    }
    for (size_t i = 0; r == 1 && i < count; i++)
      if (keys[i].id == k.id) {
        set_err(err, errlen, "%s line %u: key ID %lu is given twice", path, no,
                (unsigned long)k.id);
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
    set_err(err, errlen, "%s: no key (lines 'ID AES128 HEX:<32 hex digits>')",
            path);
    return -1;
  }
  *n = count;
  return 0;
}

int p2pc_cli_ntpkeys_load(const char *path,
                          p2pc_ntp_key keys[P2PC_NTP_KEYS_MAX], size_t *n,
                          char *err, size_t errlen) {
  *n = 0;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    set_err(err, errlen, "%s: %s", path,
            errno == ENOENT ? "no such file" : strerror(errno));
    return -1;
  }
  /* Every check on what was opened (fstat), as keyfile.c makes them. */
  struct stat st;
  bool bad = true;
  if (fstat(fd, &st) < 0)
    set_err(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
  else if (!S_ISREG(st.st_mode))
    set_err(err, errlen, "%s: not a regular file", path);
  else if (st.st_uid != geteuid() && st.st_uid != 0)
    set_err(err, errlen, "%s: owned by uid %lu, not by this user (uid %lu)",
            path, (unsigned long)st.st_uid, (unsigned long)geteuid());
  else if ((st.st_mode & 077) != 0)
    set_err(err, errlen, "permissions %04o for '%s' are too open; chmod 600 it",
            (unsigned)(st.st_mode & 07777), path);
  else if ((size_t)st.st_size > P2PC_NTPKEYS_BYTES)
    set_err(err, errlen, "%s: larger than 64 KiB", path);
  else
    bad = false;
  if (bad) {
    close(fd);
    return -1;
  }
  /* sodium_malloc: guard pages, locked, wiped by sodium_free. */
  char *buf = sodium_init() < 0 ? NULL : sodium_malloc(P2PC_NTPKEYS_BYTES + 1);
  size_t len = 0;
  int rc = 0;
  while (buf && len <= P2PC_NTPKEYS_BYTES) {
    ssize_t r = read(fd, buf + len, P2PC_NTPKEYS_BYTES + 1 - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      set_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
      rc = -1;
    }
    if (r <= 0)
      break;
    len += (size_t)r;
  }
  close(fd);
  if (!buf) {
    set_err(err, errlen, "%s: out of memory", path);
    return -1;
  }
  if (rc == 0)
    rc = p2pc_cli_ntpkeys_parse(path, buf, len, keys, n, err, errlen);
  sodium_free(buf);
  return rc;
}
