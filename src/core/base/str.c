/* SPDX-License-Identifier: MIT */
/* Log lines without printf (str.h). */
#include "str.h"

#include <string.h>

void p2pc_str_u64(char *s, size_t cap, uint64_t v) {
  char d[20];
  size_t k = 0, len = strlen(s);
  do
    d[k++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  while (k && len + 1 < cap)
    s[len++] = d[--k];
  s[len] = '\0';
}

void p2pc_str_i64(char *s, size_t cap, int64_t v) {
  if (v < 0)
    p2pc_str_cat(s, cap, "-");
  p2pc_str_u64(s, cap, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

void p2pc_str_cat(char *s, size_t cap, const char *t) {
  size_t len = strlen(s), k = strlen(t);
  if (k > cap - 1 - len)
    k = cap - 1 - len;
  memcpy(s + len, t, k);
  s[len + k] = '\0';
}
