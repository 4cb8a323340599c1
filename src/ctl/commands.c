/* SPDX-License-Identifier: MIT */
/*
 * The control requests' handlers (proto.h's table says what each takes;
 * requests reach here validated): status, peers, send, broadcast,
 * simulate, tracking, sources, vclock, stop. The node's console runs them
 * too, through p2pc_ctl_server_command.
 */
#include "server_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static p2pc_node *node_of(p2pc_ctl_server *s) { return s->h.node(s->h.ud); }

static p2pc_now now_of(p2pc_ctl_server *s) { return s->h.now(s->h.ud); }

static void logline(p2pc_ctl_server *s, p2pc_log_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logline(p2pc_ctl_server *s, p2pc_log_level lv, const char *fmt,
                    ...) {
  if (!s->h.logger.log || lv > s->h.logger.level)
    return;
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  s->h.logger.log(s->h.logger.ud, lv, text);
}

/* ---- the handlers ---------------------------------------------------------
 */

cJSON *p2pc_ctl_held_error(const char *to, bool notfound) {
  char msg[200];
  if (notfound)
    snprintf(msg, sizeof msg, "no node with ID %s is known", to);
  else
    snprintf(msg, sizeof msg,
             "timed out: the lookup of node %s did not end within %d s; "
             "try again later",
             to, P2PC_CTL_SEND_WAIT_MS / 1000);
  return p2pc_ctl_err(msg, NULL);
}

static const char *send_error(int rv) {
  switch (rv) {
  case P2PC_ERR_NOTFOUND:
    return "no node with that ID is known (or its session is being ended)";
  case P2PC_ERR_AGAIN: /* the console's: the control socket waits */
    return "that node's address is being looked up; try again";
  case P2PC_ERR_FULL:
    return "back-pressure: too much unacknowledged data for that peer, or "
           "the causal layer's caps (entries per message, messages not yet "
           "known delivered) are reached; try again later";
  case P2PC_ERR_TOOBIG:
    return "message too big";
  default:
    return p2pc_strerror(rv);
  }
}

static int simulate(p2pc_ctl_server *s, int count) {
  int sent = 0;
  p2pc_node *n = node_of(s);
  uint32_t np = p2pc_node_peer_count(n);
  for (int i = 0; i < count && np; i++) {
    p2pc_peer_info pi;
    uint32_t k = (uint32_t)p2pc_rng_below(&s->rng, np);
    if (!p2pc_node_peer_info(n, k, &pi) || pi.incarnation == 0)
      continue;
    char text[96];
    snprintf(text, sizeof text, "Hello from %s (%d)", s->h.id, i + 1);
    if (p2pc_node_send(n, pi.id, (const uint8_t *)text, strlen(text), now_of(s),
                       NULL) == 0)
      sent++;
  }
  return sent;
}

/* An int64 printed exactly: ns since 1970 do not fit a double's 53 bits. */
static void add_i64(cJSON *o, const char *key, int64_t v) {
  char b[24];
  snprintf(b, sizeof b, "%lld", (long long)v);
  cJSON_AddRawToObject(o, key, b);
}

static void add_str_or_null(cJSON *o, const char *key, const char *s) {
  if (s && s[0])
    cJSON_AddStringToObject(o, key, s);
  else
    cJSON_AddNullToObject(o, key);
}

static void add_vclock(p2pc_ctl_server *s, cJSON *o) {
  double off, drift;
  if (!s->h.vclock_get(s->h.ud, &off, &drift)) {
    cJSON_AddNullToObject(o, "virtual_clock");
    return;
  }
  cJSON *v = cJSON_AddObjectToObject(o, "virtual_clock");
  cJSON_AddNumberToObject(v, "offset_s", off);
  cJSON_AddNumberToObject(v, "drift_ppm", drift);
}

static void add_tracking(p2pc_ctl_server *s, cJSON *o) {
  p2pc_tracking t;
  p2pc_node_tracking(node_of(s), now_of(s), &t);
  cJSON_AddStringToObject(o, "mode", p2pc_clock_mode_name(t.mode));
  cJSON_AddBoolToObject(o, "synced", t.synced);
  cJSON_AddBoolToObject(o, "reference", t.is_reference);
  add_str_or_null(o, "ref", t.ref);
  add_str_or_null(o, "source", t.source);
  cJSON_AddNumberToObject(o, "stratum", t.stratum);
  cJSON_AddNumberToObject(o, "hops", t.hops);
  add_i64(o, "local_ns", t.local_ns);
  add_i64(o, "net_ns", t.net_ns);
  cJSON_AddNumberToObject(o, "offset_ns", t.offset_ns);
  cJSON_AddNumberToObject(o, "freq_ppm", t.freq_ppm);
  cJSON_AddNumberToObject(o, "skew_ppm", t.skew_ppm);
  cJSON_AddNumberToObject(o, "err_ns", t.err_ns);
  cJSON_AddNumberToObject(o, "pending_ns", t.pending_ns);
  cJSON_AddNumberToObject(o, "last_adj_ns", t.last_adj_ns);
  add_i64(o, "since_update_ns", t.since_update_ns);
  cJSON_AddNumberToObject(o, "steps", t.steps);
  cJSON_AddNumberToObject(o, "updates", t.updates);
  cJSON_AddNumberToObject(o, "sources", t.sources);
  cJSON_AddNumberToObject(o, "truechimers", t.truechimers);
  cJSON *c = cJSON_AddObjectToObject(o, "counters");
  cJSON_AddNumberToObject(c, "rx", (double)t.c.rx);
  cJSON_AddNumberToObject(c, "tx", (double)t.c.tx);
  cJSON_AddNumberToObject(c, "rx_malformed", (double)t.c.rx_malformed);
  cJSON_AddNumberToObject(c, "rx_mode", (double)t.c.rx_mode);
  cJSON_AddNumberToObject(c, "rx_unverified", (double)t.c.rx_unverified);
  cJSON_AddNumberToObject(c, "rx_unauth", (double)t.c.rx_unauth);
  cJSON_AddNumberToObject(c, "rx_bad_mac", (double)t.c.rx_bad_mac);
  cJSON_AddNumberToObject(c, "rx_bogus", (double)t.c.rx_bogus);
  cJSON_AddNumberToObject(c, "rx_replay", (double)t.c.rx_replay);
  cJSON_AddNumberToObject(c, "answered", (double)t.c.answered);
  cJSON_AddNumberToObject(c, "answered_std", (double)t.c.answered_std);
  cJSON_AddNumberToObject(c, "answered_auth", (double)t.c.answered_auth);
  cJSON_AddNumberToObject(c, "rate_limited", (double)t.c.rate_limited);
  cJSON_AddNumberToObject(c, "rate_kod", (double)t.c.rate_kod);
  cJSON_AddNumberToObject(c, "rate_leaked", (double)t.c.rate_leaked);
  cJSON_AddNumberToObject(c, "tx_dropped", (double)t.c.tx_dropped);
  cJSON_AddNumberToObject(c, "filtered", (double)t.c.filtered);
  cJSON_AddNumberToObject(c, "max_change", (double)t.c.max_change);
  cJSON_AddNumberToObject(c, "rejected", (double)t.c.rejected);
  p2pc_ctl_io io;
  memset(&io, 0, sizeof io);
  s->h.io(s->h.ud, &io);
  cJSON_AddStringToObject(o, "timestamping",
                          io.timestamping ? io.timestamping : "none");
  cJSON_AddNumberToObject(o, "time_port", io.time_port);
  /* The runtime's own view of the socket: which stamps it really got. */
  cJSON *st = cJSON_AddObjectToObject(o, "stamps");
  cJSON_AddNumberToObject(st, "rx_kernel", (double)io.rx_kernel);
  cJSON_AddNumberToObject(st, "rx_user", (double)io.rx_user);
  cJSON_AddNumberToObject(st, "tx_kernel", (double)io.tx_kernel);
  cJSON_AddNumberToObject(st, "tx", (double)io.tx);
  cJSON_AddNumberToObject(st, "tx_timed", (double)io.tx_timed);
  cJSON_AddNumberToObject(st, "tx_errors", (double)io.tx_errors);
  cJSON_AddNumberToObject(st, "poll_errors", (double)io.poll_errors);
  add_vclock(s, o);
}

static void add_sources(p2pc_ctl_server *s, cJSON *o) {
  cJSON *arr = cJSON_AddArrayToObject(o, "sources");
  p2pc_node *n = node_of(s);
  uint32_t cnt = p2pc_node_source_count(n);
  for (uint32_t i = 0; i < cnt; i++) {
    p2pc_source_info si;
    if (!p2pc_node_source_info(n, i, now_of(s), &si))
      continue;
    cJSON *p = cJSON_CreateObject();
    char as[80];
    p2pc_addr_format(&si.addr, as, sizeof as);
    cJSON_AddStringToObject(p, "id", si.id);
    cJSON_AddStringToObject(p, "addr", as);
    cJSON_AddNumberToObject(p, "reach", si.reach);
    cJSON_AddNumberToObject(p, "poll", si.poll);
    cJSON_AddNumberToObject(p, "samples", si.samples);
    cJSON_AddBoolToObject(p, "synced", si.synced);
    add_str_or_null(p, "ref", si.ref);
    cJSON_AddNumberToObject(p, "hops", si.hops);
    cJSON_AddNumberToObject(p, "offset_ns", si.offset_ns);
    cJSON_AddNumberToObject(p, "raw_offset_ns", si.raw_offset_ns);
    cJSON_AddNumberToObject(p, "freq_ppm", si.freq_ppm);
    cJSON_AddNumberToObject(p, "skew_ppm", si.skew_ppm);
    add_i64(p, "delay_ns", si.delay_ns);
    add_i64(p, "min_delay_ns", si.min_delay_ns);
    cJSON_AddNumberToObject(p, "jitter_ns", si.jitter_ns);
    cJSON_AddNumberToObject(p, "err_ns", si.err_ns);
    cJSON_AddBoolToObject(p, "interleaved", si.interleaved);
    cJSON_AddBoolToObject(p, "kernel", si.kernel);
    cJSON_AddStringToObject(p, "state", si.state ? si.state : "?");
    add_i64(p, "last_sample_ago_ns", si.last_sample_ago_ns);
    cJSON_AddItemToArray(arr, p);
  }
}

/* {"cmd":"vclock","step_s":X,"drift_ppm":Y}: NULL and the answer filled,
 * or the error text. */
static const char *vclock_command(p2pc_ctl_server *s, const cJSON *req,
                                  cJSON *o) {
  const cJSON *step = cJSON_GetObjectItemCaseSensitive(req, "step_s");
  const cJSON *drift = cJSON_GetObjectItemCaseSensitive(req, "drift_ppm");
  double off, drift_ppm;
  if (!s->h.vclock_get(s->h.ud, &off, &drift_ppm))
    return "this node has no virtual clock (start it with --clock-offset "
           "or --clock-drift)";
  /* The ranges: the table's (proto.c). */
  if (s->h.vclock_adjust(s->h.ud, step != NULL, step ? step->valuedouble : 0,
                         drift != NULL, drift ? drift->valuedouble : 0) < 0)
    return "vclock: the offset would leave -1e6..1e6 s";
  char what[64] = "";
  if (step)
    snprintf(what, sizeof what, "stepped by %+.9f s, ", step->valuedouble);
  if (step || drift) {
    s->h.vclock_get(s->h.ud, &off, &drift_ppm);
    logline(s, P2PC_LOG_INFO,
            "time: virtual clock %soffset now %+.9f s, drift %+.3f ppm", what,
            off, drift_ppm);
  }
  add_vclock(s, o);
  return NULL;
}

/* {"cmd":"keys","op":OP,"key":K}: NULL and the ring in the answer, or
 * the error (in err). Never a key in the answer: fingerprints. */
static const char *keys_command(p2pc_ctl_server *s, const cJSON *req, cJSON *o,
                                char *err, size_t cap) {
  const cJSON *op = cJSON_GetObjectItemCaseSensitive(req, "op");
  const cJSON *key = cJSON_GetObjectItemCaseSensitive(req, "key");
  char fps[P2PC_KEYRING_MAX][P2PC_CTL_FP_LEN + 1];
  size_t n = 0;
  if (s->h.keys(s->h.ud, op->valuestring, key ? key->valuestring : NULL, fps,
                &n, err, cap) != 0)
    return err;
  cJSON *arr = cJSON_AddArrayToObject(o, "keys");
  for (size_t i = 0; arr && i < n; i++) {
    cJSON *k = cJSON_CreateObject();
    cJSON_AddStringToObject(k, "fingerprint", fps[i]);
    cJSON_AddBoolToObject(k, "primary", i == 0);
    cJSON_AddItemToArray(arr, k);
  }
  return NULL;
}

static void add_status(p2pc_ctl_server *s, cJSON *o) {
  p2pc_causal_stats st;
  p2pc_node *n = node_of(s);
  const p2pc_causal *cz = p2pc_node_causal(n);
  p2pc_causal_get_stats(cz, &st);
  char listen[300];
  snprintf(listen, sizeof listen, "%s:%u", s->h.listen_host,
           s->h.port(s->h.ud));
  cJSON_AddStringToObject(o, "id", s->h.id);
  cJSON_AddStringToObject(o, "sesid", p2pc_causal_self(cz));
  cJSON_AddStringToObject(o, "listen", listen);
  cJSON_AddStringToObject(o, "version", P2PC_VERSION_STRING);
  cJSON_AddNumberToObject(o, "uptime_ms",
                          (double)((uv_hrtime() - s->h.start_mono) / 1000000));
  cJSON_AddNumberToObject(o, "peers_known", p2pc_node_peer_count(n));
  cJSON_AddNumberToObject(o, "peers_up", p2pc_node_up_count(n));
  /* the passive view: nodes known and not linked to (PROTOCOL.md) */
  cJSON_AddNumberToObject(o, "peers_passive", p2pc_node_passive_count(n));
  cJSON_AddNumberToObject(o, "sent", (double)st.sent);
  cJSON_AddNumberToObject(o, "delivered", (double)s->h.delivered(s->h.ud));
  cJSON_AddNumberToObject(o, "buffered", p2pc_causal_buffered(cz));
  cJSON_AddNumberToObject(o, "duplicates", (double)st.duplicates);
  cJSON_AddNumberToObject(o, "undeliverable",
                          (double)p2pc_node_undeliverable(n));
  /* The causal layer's state and retirement counters (CONTROL.md). */
  cJSON_AddNumberToObject(o, "entries", p2pc_causal_pairs(cz));
  cJSON_AddNumberToObject(o, "entries_max", st.deps_max);
  cJSON_AddNumberToObject(o, "causal_bytes",
                          (double)p2pc_causal_state_bytes(cz));
  cJSON_AddNumberToObject(o, "expired_tx", (double)st.expired_tx);
  cJSON_AddNumberToObject(o, "expired_rx", (double)st.expired_rx);
  cJSON_AddNumberToObject(o, "expired_deps", (double)st.expired_deps);
  cJSON_AddNumberToObject(o, "stable_deps", (double)st.stable_deps);
  cJSON_AddNumberToObject(o, "subscribers", s->nsubscribers);
}

static void add_peers(p2pc_ctl_server *s, cJSON *o) {
  p2pc_node *n = node_of(s);
  cJSON *arr = cJSON_AddArrayToObject(o, "peers");
  for (uint32_t i = 0; i < p2pc_node_peer_count(n); i++) {
    p2pc_peer_info pi;
    if (!p2pc_node_peer_info(n, i, &pi))
      continue;
    cJSON *p = cJSON_CreateObject();
    char as[300], inc[24];
    s->h.format_addr(s->h.ud, &pi.addr, as, sizeof as);
    snprintf(inc, sizeof inc, "%llu", (unsigned long long)pi.incarnation);
    cJSON_AddStringToObject(p, "id", pi.id);
    cJSON_AddStringToObject(p, "state", p2pc_peer_state_name(pi.state));
    cJSON_AddStringToObject(p, "addr", as);
    cJSON_AddStringToObject(p, "incarnation", inc);
    cJSON_AddNumberToObject(p, "unacked", pi.unacked);
    cJSON_AddNumberToObject(p, "sent", (double)pi.sent);
    cJSON_AddNumberToObject(p, "delivered_from", (double)pi.delivered_from);
    cJSON_AddItemToArray(arr, p);
  }
}

/* send / broadcast: NULL and the answer filled, or the error reply; a
 * send answered P2PC_ERR_AGAIN with again not NULL: NULL and *again. */
static cJSON *send_command(p2pc_ctl_server *s, const cJSON *req, bool bc,
                           cJSON *o, bool *again) {
  const cJSON *to = cJSON_GetObjectItemCaseSensitive(req, "to");
  const cJSON *text = cJSON_GetObjectItemCaseSensitive(req, "text");
  const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(req, "b64");
  /* The table made sure of "to" (send) and of one of text and b64. */
  const uint8_t *p;
  size_t len;
  uint8_t *bytes = NULL;
  if (cJSON_IsString(text)) {
    p = (const uint8_t *)text->valuestring;
    len = strlen(text->valuestring);
  } else {
    bytes = malloc(strlen(b64->valuestring) / 4 * 3 + 1);
    long n = bytes ? p2pc_ctl_b64_decode(b64->valuestring, bytes) : -1;
    if (n < 0) {
      free(bytes);
      return p2pc_ctl_err("", bytes ? "bad base64" : "out of memory");
    }
    p = bytes;
    len = (size_t)n;
  }
  p2pc_node *n = node_of(s);
  p2pc_msgid id;
  const cJSON *scope = cJSON_GetObjectItemCaseSensitive(req, "scope");
  bool nb = bc && cJSON_IsString(scope) &&
            strcmp(scope->valuestring, "neighbours") == 0;
  int rv = nb   ? p2pc_node_broadcast_neighbours(n, p, len, now_of(s), &id)
           : bc ? p2pc_node_broadcast(n, p, len, now_of(s), &id)
                : p2pc_node_send(n, to->valuestring, p, len, now_of(s), &id);
  free(bytes);
  if (rv == P2PC_ERR_AGAIN && again) {
    *again = true;
    return NULL;
  }
  if (rv == P2PC_ERR_NOTFOUND && !bc) {
    char msg[160];
    snprintf(msg, sizeof msg,
             "no node with ID %s is known (or its session "
             "is being ended)",
             to->valuestring);
    return p2pc_ctl_err(msg, NULL);
  }
  if (rv < 0)
    return p2pc_ctl_err("", send_error(rv));
  if (nb)
    cJSON_AddNumberToObject(o, "peers", rv);
  char msg[P2PC_MSGID_TEXT_MAX];
  if (p2pc_msgid_format(&id, msg, sizeof msg) > 0)
    cJSON_AddStringToObject(o, "msg", msg);
  return NULL;
}

cJSON *p2pc_ctl_run(p2pc_ctl_server *s, const p2pc_ctl_request *r,
                    const cJSON *req, bool *again) {
  const char *name = r->name;
  cJSON *o = cJSON_CreateObject();
  cJSON *err = NULL;
  if (!o)
    return NULL;
  cJSON_AddBoolToObject(o, "ok", 1);
  if (strcmp(name, "status") == 0) {
    add_status(s, o);
  } else if (strcmp(name, "peers") == 0) {
    add_peers(s, o);
  } else if (strcmp(name, "send") == 0 || strcmp(name, "broadcast") == 0) {
    err = send_command(s, req, name[0] == 'b', o, again);
    if (!err && again && *again) {
      cJSON_Delete(o);
      return NULL;
    }
  } else if (strcmp(name, "simulate") == 0) {
    const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(req, "count");
    cJSON_AddNumberToObject(o, "sent", simulate(s, (int)cnt->valuedouble));
  } else if (strcmp(name, "tracking") == 0) {
    add_tracking(s, o);
  } else if (strcmp(name, "sources") == 0) {
    add_sources(s, o);
  } else if (strcmp(name, "vclock") == 0) {
    const char *e = vclock_command(s, req, o);
    if (e)
      err = p2pc_ctl_err(e, NULL);
  } else if (strcmp(name, "keys") == 0) {
    char e[300];
    if (keys_command(s, req, o, e, sizeof e))
      err = p2pc_ctl_err(e, NULL);
  } else if (strcmp(name, "stop") == 0) {
    s->h.stop(s->h.ud);
  } else {
    err = p2pc_ctl_err(name, ": only on the control socket");
  }
  if (err) {
    cJSON_Delete(o);
    return err;
  }
  return o;
}

cJSON *p2pc_ctl_server_command(p2pc_ctl_server *s, const cJSON *req) {
  char e[300];
  const p2pc_ctl_request *r = p2pc_ctl_validate(req, e, sizeof e);
  if (!r)
    return p2pc_ctl_err(e, NULL);
  return p2pc_ctl_run(s, r, req, NULL);
}
