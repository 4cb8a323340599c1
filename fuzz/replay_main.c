/* SPDX-License-Identifier: MIT */
/*
 * Replay driver for the fuzz targets in ordinary (non-libFuzzer) builds: runs
 * LLVMFuzzerTestOneInput once on every file named on the command line and on
 * every regular file inside every directory named there (not recursively,
 * in name order so runs are reproducible). This turns each checked-in corpus,
 * crash reproducers included, into a ctest regression test. Exits 1 if a
 * path cannot be read or if no input ran at all.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  uint8_t *data = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      size_t ncap = cap ? cap * 2 : 4096;
      uint8_t *p = realloc(data, ncap);
      if (!p) {
        fprintf(stderr, "replay: %s: out of memory\n", path);
        free(data);
        fclose(f);
        return -1;
      }
      data = p;
      cap = ncap;
    }
    size_t got = fread(data + len, 1, cap - len, f);
    len += got;
    if (got == 0)
      break;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    fprintf(stderr, "replay: %s: read error\n", path);
    free(data);
    return -1;
  }
  /* Like libFuzzer: an exactly sized heap copy, so ASan sees overreads. */
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) {
    free(data);
    return -1;
  }
  if (len)
    memcpy(copy, data, len);
  free(data);
  /* Named before it runs, so a crash shows which input it was. */
  fprintf(stderr, "Running: %s\n", path);
  LLVMFuzzerTestOneInput(copy, len);
  free(copy);
  return 0;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in dir; returns the count or -1. */
static long run_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  long rv = 0;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      char **p = realloc(names, ncap * sizeof *p);
      if (!p) {
        rv = -1;
        break;
      }
      names = p;
      cap = ncap;
    }
    size_t plen = strlen(dir) + 1 + strlen(de->d_name) + 1;
    names[n] = malloc(plen);
    if (!names[n]) {
      rv = -1;
      break;
    }
    snprintf(names[n], plen, "%s/%s", dir, de->d_name);
    n++;
  }
  closedir(d);
  if (rv == 0 && n > 0)
    qsort(names, n, sizeof *names, cmp_names);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (rv >= 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
      if (run_file(names[i]) == 0)
        rv++;
      else
        rv = -1;
    }
    free(names[i]);
  }
  free(names);
  return rv;
}

int main(int argc, char **argv) {
  long total = 0;
  int failed = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
      failed = 1;
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      long n = run_dir(argv[i]);
      if (n < 0)
        failed = 1;
      else
        total += n;
    } else if (run_file(argv[i]) == 0) {
      total++;
    } else {
      failed = 1;
    }
  }
  printf("replay: %ld input%s ran\n", total, total == 1 ? "" : "s");
  if (total == 0)
    fprintf(stderr, "replay: no inputs (usage: %s FILE|DIR...)\n", argv[0]);
  return failed || total == 0 ? 1 : 0;
}
