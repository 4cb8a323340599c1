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

/* ,"key": */
static int put_key(p2pc_buf *out, const char *key) {
  int rv = put_str(out, ",\"");
  if (!rv)
    rv = put_str(out, key);
  if (!rv)
    rv = put_str(out, "\":");
  return rv;
}

/* ,"key":"value" */
static int put_kv_str(p2pc_buf *out, const char *key, const char *val) {
  int rv = put_key(out, key);
  if (!rv)
    rv = put_str(out, "\"");
  if (!rv)
    rv = put_str(out, val);
  if (!rv)
    rv = put_str(out, "\"");
  return rv;
}

/* ,"key":v */
static int put_kv_u64(p2pc_buf *out, const char *key, uint64_t v) {
  int rv = put_key(out, key);
  if (!rv)
    rv = p2pc_evlog_u64(out, v);
  return rv;
}

/* "<sender>:<n>" */
static int put_msg_id(p2pc_buf *out, const char *sender, uint64_t n) {
  int rv = put_str(out, "\"");
  if (!rv)
    rv = put_str(out, sender);
  if (!rv)
    rv = put_str(out, ":");
  if (!rv)
    rv = p2pc_evlog_u64(out, n);
  if (!rv)
    rv = put_str(out, "\"");
  return rv;
}

/* ,"reason":"why","stamp":S,"hlc":H (EXPIRE, REFUSE) */
static int put_clock_reason(p2pc_buf *out, const char *why,
                            const p2pc_causal_event *ev) {
  int rv = put_kv_str(out, "reason", why);
  if (!rv)
    rv = put_kv_u64(out, "stamp", ev->stamp);
  if (!rv)
    rv = put_kv_u64(out, "hlc", ev->hlc);
  return rv;
}

int p2pc_evlog_causal(p2pc_buf *out, const p2pc_causal_event *ev) {
  size_t start = out->len;
  int rv = put_key(out, "msg");
  if (!rv)
    rv = put_msg_id(out, ev->sender, ev->n);
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
      rv = put_str(out, ",\"waits\":{\"msg\":");
    if (!rv)
      rv = ev->waits_sender ? put_msg_id(out, ev->waits_sender, ev->waits_n)
                            : put_str(out, "null");
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
    if (!rv)
      rv = put_clock_reason(out, "expired", ev);
    break;
  case P2PC_CEV_REFUSE:
    if (!rv)
      rv = put_clock_reason(out, "stamp ahead", ev);
    break;
  case P2PC_CEV_RECV:
  case P2PC_CEV_DUP:
    break;
  }
  if (rv)
    out->len = start;
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
