/* SPDX-License-Identifier: MIT */
/*
 * The one event model (p2pc_event, <p2pclock/node.h>) and its one renderer
 * for the event log (docs/EVENTS.md). The node, the libuv binding, the
 * simulator, the control socket's subscribers and the tests all take
 * their lines from here, so the log has one writer. Hand-rolled JSON into
 * a fixed buffer: the core has no stdio, and a line's shape is fixed.
 */
#include "event.h"
#include "num.h"

#include <string.h>

_Static_assert(P2PC_NAME_MAX == P2PC_ID_MAX,
               "a message id holds any name the causal layer takes");

/* ---- message ids ----------------------------------------------------------
 */

static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

int p2pc_msgid_format(const p2pc_msgid *id, char *s, size_t cap) {
  char t[P2PC_MSGID_TEXT_MAX];
  size_t len = strnlen(id->node, P2PC_NAME_MAX);
  memcpy(t, id->node, len);
  char d[20];
  size_t k = 0;
  uint64_t v = id->session;
  if (id->session != P2PC_SESSION_NONE) {
    t[len++] = '~';
    do
      d[k++] = b36[v % 36];
    while ((v /= 36) != 0);
    while (k)
      t[len++] = d[--k];
  }
  t[len++] = ':';
  v = id->seq;
  do
    d[k++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  while (k)
    t[len++] = d[--k];
  if (len + 1 > cap) {
    if (cap)
      s[0] = '\0';
    return P2PC_ERR_TOOBIG;
  }
  memcpy(s, t, len);
  s[len] = '\0';
  return (int)len;
}

static int digit36(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 10;
  return -1;
}

/* Whether s[0..len) is "<node>~<tag>", a node ID and a canonical base-36
 * session: then its parts. */
static bool session_form(const char *s, size_t len, size_t *nlen,
                         uint32_t *session) {
  const char *tilde = memchr(s, '~', len);
  if (!tilde || tilde == s || (size_t)(tilde - s) > P2PC_NODE_ID_MAX)
    return false;
  const char *tag = tilde + 1, *end = s + len;
  if (tag == end || end - tag > 6)
    return false;
  uint64_t v = 0;
  for (const char *p = tag; p < end; p++) {
    int d = digit36(*p);
    if (d < 0 || (p == tag && d == 0 && end - tag > 1))
      return false;
    v = v * 36 + (uint64_t)d;
  }
  if (v > 0x7fffffffu)
    return false;
  *nlen = (size_t)(tilde - s);
  *session = (uint32_t)v;
  return true;
}

/* A causal identity into id->node and id->session: its parts when it has
 * the session form, else the whole name with P2PC_SESSION_NONE (one text,
 * one id: a name of the session form never goes without a session). */
static int parse_session(p2pc_msgid *id, const char *s, size_t len) {
  size_t nlen;
  uint32_t session;
  if (!session_form(s, len, &nlen, &session)) {
    if (len == 0 || len > P2PC_NAME_MAX)
      return P2PC_ERR_INVAL;
    nlen = len;
    session = P2PC_SESSION_NONE;
  }
  memcpy(id->node, s, nlen);
  id->node[nlen] = '\0';
  id->session = session;
  return 0;
}

int p2pc_msgid_from_session(p2pc_msgid *id, const char *sesid, uint64_t seq) {
  int rv = parse_session(id, sesid, strnlen(sesid, P2PC_NAME_MAX + 1));
  if (rv == 0)
    id->seq = seq;
  return rv;
}

int p2pc_msgid_parse(p2pc_msgid *id, const char *s) {
  size_t len = strnlen(s, P2PC_MSGID_TEXT_MAX);
  const char *colon = NULL;
  for (size_t i = 0; i < len; i++)
    if (s[i] == ':')
      colon = s + i;
  if (!colon || len == P2PC_MSGID_TEXT_MAX)
    return P2PC_ERR_INVAL;
  p2pc_msgid t;
  if (parse_session(&t, s, (size_t)(colon - s)) != 0)
    return P2PC_ERR_INVAL;
  const char *p = colon + 1, *end = s + len;
  if (p == end || end - p > 20 || (*p == '0' && end - p > 1))
    return P2PC_ERR_INVAL;
  uint64_t v = 0;
  for (; p < end; p++) {
    if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
      return P2PC_ERR_INVAL;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  t.seq = v;
  *id = t;
  return 0;
}

/* ---- names ------------------------------------------------------------------
 */

const char *p2pc_event_name(p2pc_event_type t) {
  switch (t) {
  case P2PC_EVENT_DELIVERED:
    return "deliver";
  case P2PC_EVENT_PEER_UP:
    return "peer_up";
  case P2PC_EVENT_PEER_DOWN:
    return "peer_down";
  case P2PC_EVENT_UNDELIVERABLE:
    return "undeliverable";
  case P2PC_EVENT_WRITABLE:
    return "writable";
  case P2PC_EVENT_CLOCK_SYNCED:
    return "clock_synced";
  case P2PC_EVENT_CLOCK_UNSYNCED:
    return "clock_unsynced";
  case P2PC_EVENT_CLOCK_STEPPED:
    return "clock_stepped";
  case P2PC_EVENT_REFERENCE_CHANGED:
    return "reference_changed";
  case P2PC_EVENT_SENT:
    return "send";
  case P2PC_EVENT_RECEIVED:
    return "recv";
  case P2PC_EVENT_BUFFERED:
    return "buffer";
  case P2PC_EVENT_DUPLICATE:
    return "dup";
  case P2PC_EVENT_DROPPED:
    return "drop";
  case P2PC_EVENT_REFUSED:
    return "refuse";
  case P2PC_EVENT_CLOCK_SAMPLE:
    return "sample";
  case P2PC_EVENT_CLOCK_UPDATE:
    return "clock";
  case P2PC_EVENT_MEMBER_SUSPECT:
    return "member_suspect";
  case P2PC_EVENT_MEMBER_ALIVE:
    return "member_alive";
  case P2PC_EVENT_MEMBER_DOWN:
    return "member_down";
  case P2PC_EVENT_RESOLVED:
    return "resolved";
  case P2PC_EVENT_CLOCK_REJECTED:
    return "clock_reject";
  }
  return "unknown";
}

bool p2pc_event_logged(p2pc_event_type t) {
  switch (t) {
  case P2PC_EVENT_WRITABLE:
  case P2PC_EVENT_CLOCK_SYNCED:
  case P2PC_EVENT_CLOCK_UNSYNCED:
  case P2PC_EVENT_CLOCK_STEPPED:
  case P2PC_EVENT_REFERENCE_CHANGED:
    return false;
  default:
    return true;
  }
}

/* ---- from the SES layer -------------------------------------------------- */

static const p2pc_event_type causal_types[] = {
    [P2PC_CEV_SEND] = P2PC_EVENT_SENT,
    [P2PC_CEV_RECV] = P2PC_EVENT_RECEIVED,
    [P2PC_CEV_BUFFER] = P2PC_EVENT_BUFFERED,
    [P2PC_CEV_DELIVER] = P2PC_EVENT_DELIVERED,
    [P2PC_CEV_DUP] = P2PC_EVENT_DUPLICATE,
    [P2PC_CEV_DROP] = P2PC_EVENT_DROPPED,
    [P2PC_CEV_EXPIRE] = P2PC_EVENT_UNDELIVERABLE,
    [P2PC_CEV_REFUSE] = P2PC_EVENT_REFUSED};

p2pc_event_type p2pc_event_causal_type(p2pc_causal_ev_kind k) {
  return (unsigned)k < sizeof causal_types / sizeof causal_types[0]
             ? causal_types[k]
             : P2PC_EVENT_DROPPED;
}

void p2pc_event_from_causal(p2pc_event *out, const p2pc_causal_event *ce) {
  p2pc_event ev = {0};
  ev.type = p2pc_event_causal_type(ce->kind);
  p2pc_msgid_from_session(&ev.msg, ce->sender, ce->n);
  ev.peer = ce->peer;
  ev.outgoing = ce->kind == P2PC_CEV_EXPIRE && ce->at_sender;
  ev.stamp = ce->stamp;
  ev.hlc = ce->hlc;
  ev.len = ce->bytes;
  switch (ce->kind) {
  case P2PC_CEV_SEND:
    ev.u.sent.deps = ce->deps;
    ev.u.sent.meta = ce->meta;
    break;
  case P2PC_CEV_BUFFER:
    ev.u.buffered.known =
        ce->waits_sender &&
        p2pc_msgid_from_session(&ev.u.buffered.waits_for, ce->waits_sender,
                                ce->waits_n) == 0;
    ev.u.buffered.unmet = ce->deps;
    break;
  case P2PC_CEV_DELIVER:
    ev.payload = ce->payload;
    ev.u.delivered.waited_ns = ce->waited_ns;
    ev.u.delivered.broadcast = ce->broadcast;
    break;
  case P2PC_CEV_DROP:
    ev.reason = ce->reason;
    break;
  case P2PC_CEV_EXPIRE:
    /* The log's reason is the fixed word; ce->reason is the human log's. */
    ev.reason = P2PC_REASON_EXPIRED;
    break;
  case P2PC_CEV_REFUSE:
    ev.reason = "stamp ahead";
    break;
  case P2PC_CEV_RECV:
  case P2PC_CEV_DUP:
    break;
  }
  *out = ev;
}

/* ---- the writer ---------------------------------------------------------- */

typedef struct sink {
  char *s;
  size_t cap, len;
  bool over;
} sink;

static void put(sink *k, const char *p, size_t n) {
  if (k->over || n > k->cap - k->len) {
    k->over = true;
    return;
  }
  memcpy(k->s + k->len, p, n);
  k->len += n;
}

static void puts_(sink *k, const char *p) { put(k, p, strlen(p)); }

static void put_u64(sink *k, uint64_t v) {
  char d[20];
  size_t n = 0;
  do
    d[sizeof d - 1 - n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  put(k, d + sizeof d - n, n);
}

static void put_i64(sink *k, int64_t v) {
  if (v < 0) {
    puts_(k, "-");
    put_u64(k, (uint64_t)0 - (uint64_t)v);
  } else {
    put_u64(k, (uint64_t)v);
  }
}

static void key(sink *k, const char *name) {
  puts_(k, ",\"");
  puts_(k, name);
  puts_(k, "\":");
}

static void kv_str(sink *k, const char *name, const char *v) {
  key(k, name);
  puts_(k, "\"");
  puts_(k, v ? v : "");
  puts_(k, "\"");
}

static void kv_u64(sink *k, const char *name, uint64_t v) {
  key(k, name);
  put_u64(k, v);
}

static void kv_i64(sink *k, const char *name, int64_t v) {
  key(k, name);
  put_i64(k, v);
}

static void kv_bool(sink *k, const char *name, bool v) {
  key(k, name);
  puts_(k, v ? "true" : "false");
}

static void put_msgid(sink *k, const p2pc_msgid *id) {
  char t[P2PC_MSGID_TEXT_MAX];
  if (p2pc_msgid_format(id, t, sizeof t) < 0) {
    k->over = true;
    return;
  }
  puts_(k, "\"");
  puts_(k, t);
  puts_(k, "\"");
}

static void clock_fields(sink *k, const p2pc_event *ev) {
  static const char *const modes[] = {"reference", "collaborative"};
  kv_str(k, "mode", modes[ev->u.clock.mode == P2PC_CLOCK_COLLABORATIVE]);
  if (ev->u.clock.ref && ev->u.clock.ref[0]) {
    kv_str(k, "ref", ev->u.clock.ref);
  } else {
    key(k, "ref");
    puts_(k, "null");
  }
  kv_str(k, "source", ev->u.clock.source);
  kv_bool(k, "synced", ev->u.clock.synced);
  kv_i64(k, "offset_ns", p2pc_round_i64(ev->u.clock.offset_ns));
  kv_i64(k, "freq_ppb", p2pc_round_i64(ev->u.clock.freq_ppb));
  kv_i64(k, "err_ns", p2pc_round_i64(ev->u.clock.err_ns));
  kv_i64(k, "adj_ns", p2pc_round_i64(ev->u.clock.adj_ns));
  if (ev->u.clock.step_ns != 0)
    kv_i64(k, "step_ns", p2pc_round_i64(ev->u.clock.step_ns));
}

/* The fields after the common ones (EVENTS.md, one section per line). */
static void body(sink *k, const p2pc_event *ev) {
  switch (ev->type) {
  case P2PC_EVENT_PEER_UP: {
    char as[64];
    p2pc_addr_format(&ev->u.peer.addr, as, sizeof as);
    kv_str(k, "peer", ev->peer);
    kv_str(k, "addr", as);
    return;
  }
  case P2PC_EVENT_PEER_DOWN:
    kv_str(k, "peer", ev->peer);
    kv_str(k, "reason", ev->reason);
    return;
  case P2PC_EVENT_CLOCK_SAMPLE:
    kv_str(k, "peer", ev->peer);
    kv_i64(k, "offset_ns", ev->u.sample.offset_ns);
    kv_i64(k, "delay_ns", ev->u.sample.delay_ns);
    kv_i64(k, "raw_offset_ns", ev->u.sample.raw_offset_ns);
    kv_bool(k, "interleaved", ev->u.sample.interleaved);
    kv_bool(k, "kernel", ev->u.sample.kernel);
    return;
  case P2PC_EVENT_CLOCK_UPDATE:
    clock_fields(k, ev);
    return;
  case P2PC_EVENT_CLOCK_REJECTED:
    kv_str(k, "peer", ev->peer);
    kv_str(k, "reason", ev->reason);
    kv_i64(k, "offset_ns", ev->u.reject.offset_ns);
    kv_u64(k, "judged", ev->u.reject.judged);
    kv_u64(k, "against", ev->u.reject.against);
    return;
  case P2PC_EVENT_MEMBER_SUSPECT:
  case P2PC_EVENT_MEMBER_ALIVE:
  case P2PC_EVENT_MEMBER_DOWN:
    kv_str(k, "peer", ev->peer);
    kv_u64(k, "incarnation", ev->u.member.incarnation);
    kv_u64(k, "heard", ev->u.member.heard);
    if (ev->type == P2PC_EVENT_MEMBER_DOWN)
      kv_str(k, "reason", ev->reason);
    return;
  case P2PC_EVENT_RESOLVED:
    kv_str(k, "peer", ev->peer);
    kv_bool(k, "ok", ev->u.resolved.ok);
    return;
  default:
    break;
  }
  /* The message records. */
  key(k, "msg");
  put_msgid(k, &ev->msg);
  bool to = ev->type == P2PC_EVENT_SENT ||
            (ev->type == P2PC_EVENT_UNDELIVERABLE && ev->outgoing);
  kv_str(k, to ? "to" : "from", ev->peer);
  switch (ev->type) {
  case P2PC_EVENT_SENT:
    kv_u64(k, "stamp", ev->stamp);
    kv_u64(k, "deps", ev->u.sent.deps);
    kv_u64(k, "bytes", ev->len);
    kv_u64(k, "meta", ev->u.sent.meta);
    break;
  case P2PC_EVENT_BUFFERED:
    puts_(k, ",\"waits\":{\"msg\":");
    if (ev->u.buffered.known)
      put_msgid(k, &ev->u.buffered.waits_for);
    else
      puts_(k, "null");
    kv_u64(k, "unmet", ev->u.buffered.unmet);
    puts_(k, "}");
    break;
  case P2PC_EVENT_DELIVERED:
    kv_u64(k, "stamp", ev->stamp);
    kv_u64(k, "waited_ns", ev->u.delivered.waited_ns);
    if (ev->u.delivered.broadcast) { /* a message to "*": every node */
      kv_bool(k, "bcast", true);
      kv_u64(k, "hops", ev->u.delivered.hops);
    }
    break;
  case P2PC_EVENT_DROPPED:
    kv_str(k, "reason", ev->reason);
    break;
  case P2PC_EVENT_UNDELIVERABLE:
    kv_str(k, "reason", ev->reason);
    /* An expiry says against which clock it was judged. */
    if (ev->reason && strcmp(ev->reason, P2PC_REASON_EXPIRED) == 0) {
      kv_u64(k, "stamp", ev->stamp);
      kv_u64(k, "hlc", ev->hlc);
    }
    break;
  case P2PC_EVENT_REFUSED:
    kv_str(k, "reason", ev->reason);
    kv_u64(k, "stamp", ev->stamp);
    kv_u64(k, "hlc", ev->hlc);
    break;
  default:
    break;
  }
}

/* {"node":..,"ev":..,"mono":..,"local":..,"net":.. — every line's start. */
static void head(sink *k, const char *id, const char *ev, p2pc_now now,
                 int64_t net_ns) {
  puts_(k, "{\"node\":\"");
  puts_(k, id);
  puts_(k, "\",\"ev\":\"");
  puts_(k, ev);
  puts_(k, "\",\"mono\":");
  put_u64(k, now.mono_ns);
  /* Times before 1970 only come from a broken clock: printed as 0. */
  puts_(k, ",\"local\":");
  put_u64(k, now.local_ns > 0 ? (uint64_t)now.local_ns : 0);
  puts_(k, ",\"net\":");
  put_u64(k, net_ns > 0 ? (uint64_t)net_ns : 0);
}

/* Closes the line: its length, or TOOBIG and "" if it did not fit. */
static long finish(sink *k) {
  puts_(k, "}");
  if (k->over) {
    k->s[0] = '\0'; /* callers pass cap > 0 */
    return P2PC_ERR_TOOBIG;
  }
  k->s[k->len] = '\0';
  return (long)k->len;
}

long p2pc_event_json(const p2pc_event *ev, const char *id, char *s,
                     size_t cap) {
  if (cap)
    s[0] = '\0';
  if (!p2pc_event_logged(ev->type))
    return 0;
  sink k = {s, cap ? cap - 1 : 0, 0, cap == 0};
  head(&k, id, p2pc_event_name(ev->type), ev->now, ev->net_ns);
  body(&k, ev);
  return cap ? finish(&k) : P2PC_ERR_TOOBIG;
}

long p2pc_event_lifecycle_json(const p2pc_lifecycle *l, char *s, size_t cap) {
  if (cap)
    s[0] = '\0';
  sink k = {s, cap ? cap - 1 : 0, 0, cap == 0};
  head(&k, l->id,
       l->birth_line ? "birth"
       : l->start    ? "start"
                     : "stop",
       l->now, l->net_ns);
  kv_str(&k, "sesid", l->sesid);
  if (l->birth_line) {
    /* who is owed which broadcasts (EVENTS.md, `birth`) */
    key(&k, "birth");
    put_u64(&k, l->birth);
    return cap ? finish(&k) : P2PC_ERR_TOOBIG;
  }
  kv_str(&k, "version", P2PC_VERSION_STRING);
  if (l->start) {
    /* Δ, so that `p2pclock check` can tell an honest expiry */
    key(&k, "lifetime_ns");
    if (l->lifetime_ns == P2PC_CAUSAL_LIFETIME_INF)
      puts_(&k, "null");
    else
      put_u64(&k, l->lifetime_ns ? l->lifetime_ns
                                 : P2PC_CAUSAL_LIFETIME_DEFAULT_NS);
    if (l->birth) {
      key(&k, "birth");
      put_u64(&k, l->birth);
    }
    if (l->config) {
      key(&k, "config");
      puts_(&k, l->config);
    }
  }
  return cap ? finish(&k) : P2PC_ERR_TOOBIG;
}
