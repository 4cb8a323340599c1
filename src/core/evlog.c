/* SPDX-License-Identifier: MIT */
/*
 * The `start` line's part the core owns (evlog.h); every event line comes
 * from event.c.
 */
#include "evlog.h"

#include <string.h>

static int put_str(p2pc_buf *out, const char *s) {
  return p2pc_buf_put(out, s, strlen(s));
}

int p2pc_evlog_u64(p2pc_buf *out, uint64_t v) {
  char digits[20];
  size_t n = 0;
  do {
    digits[sizeof digits - 1 - n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return p2pc_buf_put(out, digits + sizeof digits - n, n);
}

/* ,"key": */
static int put_key(p2pc_buf *out, const char *key) {
  int rv = put_str(out, ",\"");
  if (!rv)
    rv = put_str(out, key);
  if (!rv)
    rv = put_str(out, "\":");
  return rv;
}

int p2pc_evlog_lifetime(p2pc_buf *out, uint64_t lifetime_ns) {
  size_t start = out->len;
  int rv = put_key(out, "lifetime_ns");
  if (!rv && lifetime_ns == P2PC_CAUSAL_LIFETIME_INF)
    rv = put_str(out, "null");
  else if (!rv)
    rv = p2pc_evlog_u64(out, lifetime_ns ? lifetime_ns
                                         : P2PC_CAUSAL_LIFETIME_DEFAULT_NS);
  if (rv)
    out->len = start;
  return rv;
}
