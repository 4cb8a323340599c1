/* SPDX-License-Identifier: MIT */
/*
 * JSON rendering of the causal layer's event records (evlog.h). Hand-rolled
 * because the core has no stdio; the output is small and fixed in shape.
 */
#include "evlog.h"

#include <string.h>

const char *p2pc_evlog_kind(p2pc_causal_ev_kind kind) {
  switch (kind) {
  case P2PC_CEV_SEND:
    return "send";
  case P2PC_CEV_RECV:
    return "recv";
  case P2PC_CEV_BUFFER:
    return "buffer";
  case P2PC_CEV_DELIVER:
    return "deliver";
  case P2PC_CEV_DUP:
    return "dup";
  case P2PC_CEV_DROP:
    return "drop";
  case P2PC_CEV_EXPIRE:
    return "undeliverable";
  case P2PC_CEV_REFUSE:
    return "refuse";
  }
  return "unknown";
}

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

/* "key":"value" with a leading comma. */
static int put_kv_str(p2pc_buf *out, const char *key, const char *val) {
  int rv = put_str(out, ",\"");
  if (!rv)
    rv = put_str(out, key);
  if (!rv)
    rv = put_str(out, "\":\"");
  if (!rv)
    rv = put_str(out, val);
  if (!rv)
    rv = put_str(out, "\"");
  return rv;
}

static int put_kv_u64(p2pc_buf *out, const char *key, uint64_t v) {
  int rv = put_str(out, ",\"");
  if (!rv)
    rv = put_str(out, key);
  if (!rv)
    rv = put_str(out, "\":");
  if (!rv)
    rv = p2pc_evlog_u64(out, v);
  return rv;
}

int p2pc_evlog_causal(p2pc_buf *out, const p2pc_causal *c,
                      const p2pc_causal_event *ev) {
  (void)c;
  size_t start = out->len;
  int rv = put_str(out, ",\"msg\":\"");
  if (!rv)
    rv = put_str(out, ev->sender);
  if (!rv)
    rv = put_str(out, ":");
  if (!rv)
    rv = p2pc_evlog_u64(out, ev->n);
  if (!rv)
    rv = put_str(out, "\"");
  bool to = ev->kind == P2PC_CEV_SEND ||
            (ev->kind == P2PC_CEV_EXPIRE && ev->at_sender);
  if (!rv)
    rv = put_kv_str(out, to ? "to" : "from", ev->peer);
  switch (ev->kind) {
  case P2PC_CEV_SEND:
    if (!rv)
      rv = put_kv_u64(out, "stamp", ev->stamp);
    if (!rv)
      rv = put_kv_u64(out, "deps", ev->deps);
    if (!rv)
      rv = put_kv_u64(out, "bytes", ev->bytes);
    if (!rv)
      rv = put_kv_u64(out, "meta", ev->meta);
    break;
  case P2PC_CEV_BUFFER:
    if (!rv)
      rv = put_str(out, ",\"waits\":{\"msg\":\"");
    if (!rv)
      rv = put_str(out, ev->waits_sender);
    if (!rv)
      rv = put_str(out, ":");
    if (!rv)
      rv = p2pc_evlog_u64(out, ev->waits_n);
    if (!rv)
      rv = put_str(out, "\"");
    if (!rv)
      rv = put_kv_u64(out, "unmet", ev->deps);
    if (!rv)
      rv = put_str(out, "}");
    break;
  case P2PC_CEV_DELIVER:
    if (!rv)
      rv = put_kv_u64(out, "stamp", ev->stamp);
    if (!rv)
      rv = put_kv_u64(out, "waited_ns", ev->waited_ns);
    break;
  case P2PC_CEV_DROP:
    if (!rv)
      rv = put_kv_str(out, "reason", ev->reason);
    break;
  case P2PC_CEV_EXPIRE:
  case P2PC_CEV_REFUSE:
    if (!rv)
      rv = put_kv_str(out, "reason",
                      ev->kind == P2PC_CEV_EXPIRE ? "expired" : "stamp ahead");
    if (!rv)
      rv = put_kv_u64(out, "stamp", ev->stamp);
    if (!rv)
      rv = put_kv_u64(out, "hlc", ev->hlc);
    break;
  case P2PC_CEV_RECV:
  case P2PC_CEV_DUP:
    break;
  }
  if (rv)
    out->len = start;
  return rv;
}
