/* SPDX-License-Identifier: MIT */
/*
 * The event log (EVENTS.md): every line the node writes goes through this
 * file, and no other file of the node builds JSON. It also holds the hooks
 * through which the clock sync (timesync.h) and the causal layer (causal.h)
 * report: their event lines, their human log lines, and the deliveries to
 * the application.
 */
#include "nodeint.h"

#include "evlog.h"

/* Starts {"node":..,"ev":..,"mono":..,"local":..,"net":.. in n->line. */
static bool ev_begin(p2pc_node *n, const char *ev) {
  p2pc_buf *b = &n->line;
  p2pc_buf_reset(b);
  const char *parts[] = {"{\"node\":\"", n->id, "\",\"ev\":\"", ev,
                         "\",\"mono\":"};
  int rv = 0;
  for (size_t i = 0; i < 5 && !rv; i++)
    rv = p2pc_buf_put(b, parts[i], strlen(parts[i]));
  if (!rv)
    rv = p2pc_evlog_u64(b, n->now.mono_ns);
  if (!rv)
    rv = p2pc_buf_put(b, ",\"local\":", 9);
  /* Local time is before 1970 only with a broken clock: print 0 then. */
  uint64_t local = n->now.local_ns > 0 ? (uint64_t)n->now.local_ns : 0;
  if (!rv)
    rv = p2pc_evlog_u64(b, local);
  if (!rv)
    rv = p2pc_buf_put(b, ",\"net\":", 7);
  int64_t net =
      n->ts ? p2pc_timesync_time(n->ts, n->now.local_ns) : n->now.local_ns;
  if (!rv)
    rv = p2pc_evlog_u64(b, net > 0 ? (uint64_t)net : 0);
  return rv == 0;
}

static void ev_str(p2pc_node *n, const char *key, const char *val) {
  p2pc_buf *b = &n->line;
  p2pc_buf_put(b, ",\"", 2);
  p2pc_buf_put(b, key, strlen(key));
  p2pc_buf_put(b, "\":\"", 3);
  p2pc_buf_put(b, val, strlen(val));
  p2pc_buf_put(b, "\"", 1);
}

static void ev_end(p2pc_node *n) {
  /* NUL-terminated for the callback's convenience; len excludes it. */
  if (p2pc_buf_put(&n->line, "}", 2) == 0 && n->cb.event)
    n->cb.event(n->cb.ud, (const char *)n->line.data, n->line.len - 1);
}

static void ev_raw(p2pc_node *n, const char *key, const char *val) {
  p2pc_buf *b = &n->line;
  p2pc_buf_put(b, ",\"", 2);
  p2pc_buf_put(b, key, strlen(key));
  p2pc_buf_put(b, "\":", 2);
  p2pc_buf_put(b, val, strlen(val));
}

static void ev_i64(p2pc_node *n, const char *key, int64_t v) {
  char t[24] = "";
  if (v < 0)
    node_str_cat(t, sizeof t, "-");
  node_str_u64(t, sizeof t, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
  ev_raw(n, key, t);
}

static int64_t round_i64(double x) {
  if (!(x == x))
    return 0;
  if (x > 9e18)
    return INT64_MAX;
  if (x < -9e18)
    return INT64_MIN + 1;
  return (int64_t)(x < 0 ? x - 0.5 : x + 0.5);
}

/* Clock-sync reports: `sample` and `clock` event lines (EVENTS.md). */
void node_ev_timesync(void *ud, const p2pc_tsev *e) {
  p2pc_node *n = ud;
  if (!n->cb.event)
    return;
  if (e->kind == P2PC_TSEV_SAMPLE) {
    if (!ev_begin(n, "sample"))
      return;
    ev_str(n, "peer", e->peer);
    ev_i64(n, "offset_ns", e->offset_ns);
    ev_i64(n, "delay_ns", e->delay_ns);
    ev_i64(n, "raw_offset_ns", e->raw_offset_ns);
    ev_raw(n, "interleaved", e->interleaved ? "true" : "false");
    ev_raw(n, "kernel", e->kernel ? "true" : "false");
  } else {
    if (!ev_begin(n, "clock"))
      return;
    ev_str(n, "mode", p2pc_clock_mode_name(e->mode));
    if (e->ref[0])
      ev_str(n, "ref", e->ref);
    else
      ev_raw(n, "ref", "null");
    ev_str(n, "source", e->source);
    ev_raw(n, "synced", e->synced ? "true" : "false");
    ev_i64(n, "offset_ns", round_i64(e->corr_ns));
    ev_i64(n, "freq_ppb", round_i64(e->freq_ppb));
    ev_i64(n, "err_ns", round_i64(e->err_ns));
    ev_i64(n, "adj_ns", round_i64(e->adj_ns));
    if (e->step_ns != 0)
      ev_i64(n, "step_ns", round_i64(e->step_ns));
  }
  ev_end(n);
}

void node_ev_timesync_log(void *ud, p2pc_log_level lv, const char *text) {
  node_log(ud, lv, text);
}

/* A peer's message was not taken: its stamp leads our clock by more than
 * the error bound allows. It comes again; say so at most once a second. */
static void refused_ahead(p2pc_node *n, const p2pc_causal_event *ev) {
  if (n->refused_ahead_logged_ns &&
      n->now.mono_ns - n->refused_ahead_logged_ns < 1000000000ull)
    return;
  n->refused_ahead_logged_ns = n->now.mono_ns;
  char t[256] = "causal: refused msg=";
  node_str_cat(t, sizeof t, ev->sender);
  node_str_cat(t, sizeof t, ":");
  node_str_u64(t, sizeof t, ev->n);
  node_str_cat(t, sizeof t, ": its stamp leads our clock by ");
  uint64_t lead = ev->stamp > ev->hlc ? ev->stamp - ev->hlc : 0;
  node_str_u64(t, sizeof t, lead / 1000000);
  node_str_cat(t, sizeof t,
               " ms, beyond our error bound (its clock is ahead, or "
               "ours is behind)");
  node_log(n, P2PC_LOG_WARN, t);
}

/* SES reports: the event line, the human DEBUG line, the delivery. */
void node_ev_causal(void *ud, const p2pc_causal_event *ev) {
  p2pc_node *n = ud;
  if (n->cb.event && ev_begin(n, p2pc_evlog_kind(ev->kind)) &&
      p2pc_evlog_causal(&n->line, ev) == 0)
    ev_end(n);
  if (ev->kind == P2PC_CEV_EXPIRE && ev->at_sender)
    node_stream_tombstone(n, ev->peer, ev->n);
  if (ev->kind == P2PC_CEV_REFUSE)
    refused_ahead(n, ev);
  if (ev->kind == P2PC_CEV_EXPIRE) {
    char t[256] = "causal: expired msg=";
    node_str_cat(t, sizeof t, ev->sender);
    node_str_cat(t, sizeof t, ":");
    node_str_u64(t, sizeof t, ev->n);
    node_str_cat(t, sizeof t, ev->at_sender ? " to=" : " from=");
    node_str_cat(t, sizeof t, ev->peer);
    node_str_cat(t, sizeof t, " reason=\"");
    node_str_cat(t, sizeof t, ev->reason);
    node_str_cat(t, sizeof t, "\"");
    node_log(n, P2PC_LOG_INFO, t);
    return;
  }
  bool debug = n->cb.log && n->cb.log_level >= P2PC_LOG_DEBUG;
  if (ev->kind == P2PC_CEV_SEND || ev->kind == P2PC_CEV_RECV ||
      ev->kind == P2PC_CEV_DUP || ev->kind == P2PC_CEV_REFUSE ||
      (ev->kind != P2PC_CEV_DELIVER && !debug))
    return; /* the hot path: nothing more to say about these */
  char msg[P2PC_ID_MAX + 24] = "";
  node_str_cat(msg, sizeof msg, ev->sender);
  node_str_cat(msg, sizeof msg, ":");
  node_str_u64(msg, sizeof msg, ev->n);
  /* The application sees node IDs, not incarnations. */
  char from[P2PC_NODE_ID_MAX + 1] = "";
  const char *tilde = strchr(ev->sender, '~');
  size_t flen = tilde ? (size_t)(tilde - ev->sender) : strlen(ev->sender);
  memcpy(from, ev->sender, flen);
  from[flen] = '\0';
  if (n->cb.log && n->cb.log_level >= P2PC_LOG_DEBUG &&
      (ev->kind == P2PC_CEV_DELIVER || ev->kind == P2PC_CEV_BUFFER ||
       ev->kind == P2PC_CEV_DROP)) {
    char t[256] = "causal: ";
    node_str_cat(t, sizeof t, p2pc_evlog_kind(ev->kind));
    node_str_cat(t, sizeof t, " msg=");
    node_str_cat(t, sizeof t, msg);
    if (ev->kind == P2PC_CEV_DELIVER) {
      node_str_cat(t, sizeof t, " waited_us=");
      node_str_u64(t, sizeof t, ev->waited_ns / 1000);
    } else if (ev->kind == P2PC_CEV_BUFFER) {
      node_str_cat(t, sizeof t, " waits_for=");
      if (ev->waits_sender) {
        node_str_cat(t, sizeof t, ev->waits_sender);
        node_str_cat(t, sizeof t, ":");
        node_str_u64(t, sizeof t, ev->waits_n);
      }
    } else {
      node_str_cat(t, sizeof t, " reason=\"");
      node_str_cat(t, sizeof t, ev->reason);
      node_str_cat(t, sizeof t, "\"");
    }
    node_log(n, P2PC_LOG_DEBUG, t);
  }
  if (ev->kind == P2PC_CEV_DELIVER && n->cb.deliver)
    n->cb.deliver(n->cb.ud, from, msg, ev->payload, ev->bytes);
}

void node_ev_peer(p2pc_node *n, const peer *p, const char *ev, const char *key,
                  const char *val) {
  if (n->cb.event && ev_begin(n, ev)) {
    ev_str(n, "peer", p->id);
    ev_str(n, key, val);
    ev_end(n);
  }
  char t[200] = "peers: ";
  node_str_cat(t, sizeof t, p->id);
  node_str_cat(t, sizeof t, strcmp(ev, "peer_up") == 0 ? " up " : " down ");
  node_str_cat(t, sizeof t, key);
  node_str_cat(t, sizeof t, "=");
  node_str_cat(t, sizeof t, val);
  node_log(n, P2PC_LOG_INFO, t);
}

/* Our message msg_n to `to` can no longer arrive: the peer restarted. */
void node_ev_undeliverable(p2pc_node *n, const char *to, uint64_t msg_n,
                           const char *why) {
  if (n->cb.event && ev_begin(n, "undeliverable")) {
    char msg[P2PC_ID_MAX + 24] = "";
    node_str_cat(msg, sizeof msg, n->sesid);
    node_str_cat(msg, sizeof msg, ":");
    node_str_u64(msg, sizeof msg, msg_n);
    ev_str(n, "msg", msg);
    ev_str(n, "to", to);
    ev_str(n, "reason", why);
    ev_end(n);
  }
}
