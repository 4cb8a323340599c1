/* SPDX-License-Identifier: MIT */
/*
 * What the config tests share (test_config.c, test_config_errors.c,
 * test_options.c): a mkdtemp directory for the files they write, and the
 * path of the prototype's configs.
 */
#ifndef P2PC_TEST_CONFIG_FIXTURE_H
#define P2PC_TEST_CONFIG_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "options.h"

static char tmpdir[256];

static inline int make_tmpdir(void **state) {
  (void)state;
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/p2pc-config-XXXXXX",
           base && base[0] ? base : "/tmp");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int remove_tmpdir(void **state) {
  (void)state;
  DIR *d = opendir(tmpdir); /* a failed test may leave its file behind */
  if (d) {
    struct dirent *de;
    char path[512];
    while ((de = readdir(d)) != NULL) {
      snprintf(path, sizeof path, "%s/%s", tmpdir, de->d_name);
      if (de->d_name[0] != '.')
        unlink(path);
    }
    closedir(d);
  }
  return rmdir(tmpdir);
}

/* Writes len bytes of text to <tmpdir>/name; path gets the full name. */
static inline void write_bytes(const char *name, const char *text, size_t len,
                               char *path, size_t n) {
  snprintf(path, n, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static inline void write_text(const char *name, const char *text, char *path,
                              size_t n) {
  write_bytes(name, text, strlen(text), path, n);
}

static inline void proto_path(char *buf, size_t n, char id) {
  snprintf(buf, n, "%s/node%c.json", P2PC_CONFIG_DIR, id);
}

#endif /* P2PC_TEST_CONFIG_FIXTURE_H */
