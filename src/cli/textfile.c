/* SPDX-License-Identifier: MIT */
/* The command's small text files (textfile.h). */
#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

void p2pc_cli_errf(char *err, size_t n, const char *fmt, ...) {
  if (!err || n == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, n, fmt, ap);
  va_end(ap);
}

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

size_t p2pc_cli_word(const char *line, size_t end, size_t *at, const char **w) {
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

/* Whether the file opened as fd may not be read (err then says why). */
static bool unsafe(int fd, const char *path, size_t max, bool secret, char *err,
                   size_t n) {
  struct stat st;
  if (fstat(fd, &st) < 0)
    p2pc_cli_errf(err, n, "%s: cannot stat: %s", path, strerror(errno));
  else if (!S_ISREG(st.st_mode))
    p2pc_cli_errf(err, n, "%s: not a regular file", path);
  else if (st.st_uid != geteuid() && st.st_uid != 0)
    p2pc_cli_errf(err, n, "%s: owned by uid %lu, not by this user (uid %lu)",
                  path, (unsigned long)st.st_uid, (unsigned long)geteuid());
  else if (secret && (st.st_mode & 077) != 0)
    p2pc_cli_errf(err, n,
                  "permissions %04o for '%s' are too open; chmod 600 it",
                  (unsigned)(st.st_mode & 07777), path);
  else if (!secret && (st.st_mode & 022) != 0)
    p2pc_cli_errf(err, n,
                  "%s: writable by group or others (who could change "
                  "it); chmod 644 it",
                  path);
  else if ((size_t)st.st_size > max)
    p2pc_cli_errf(err, n, "%s: larger than %zu bytes", path, max);
  else
    return false;
  return true;
}

void p2pc_cli_textfile_free(char *text, bool secret) {
  if (secret)
    sodium_free(text);
  else
    free(text);
}

int p2pc_cli_textfile_read(const char *path, size_t max, bool secret,
                           char **text, size_t *len, char *err, size_t n) {
  *text = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    p2pc_cli_errf(err, n, "%s: %s", path,
                  errno == ENOENT ? "no such file" : strerror(errno));
    return -1;
  }
  if (unsafe(fd, path, max, secret, err, n)) {
    close(fd);
    return -1;
  }
  /* one byte more than allowed tells a file that grew since fstat */
  char *buf = secret ? (sodium_init() < 0 ? NULL : sodium_malloc(max + 2))
                     : malloc(max + 2);
  size_t k = 0;
  int rc = buf ? 0 : -1;
  if (!buf)
    p2pc_cli_errf(err, n, "%s: out of memory", path);
  while (buf && k <= max) {
    ssize_t r = read(fd, buf + k, max + 1 - k);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      p2pc_cli_errf(err, n, "%s: cannot read: %s", path, strerror(errno));
      rc = -1;
    }
    if (r <= 0)
      break;
    k += (size_t)r;
  }
  close(fd);
  if (rc == 0 && k > max) {
    p2pc_cli_errf(err, n, "%s: larger than %zu bytes", path, max);
    rc = -1;
  }
  if (rc) {
    if (buf)
      p2pc_cli_textfile_free(buf, secret);
    return -1;
  }
  buf[k] = '\0';
  *text = buf;
  *len = k;
  return 0;
}
