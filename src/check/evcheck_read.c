/* SPDX-License-Identifier: MIT */
/*
 * The first pass of the oracle (evcheck_internal.h): one event line at a
 * time (p2pc_evcheck_line), its fields validated and its facts kept — an
 * incarnation's `start` and `stop`, the sends and deliveries as records,
 * buffers, drops and duplicates as counts, `undeliverable` lines and the
 * expiry reports to judge at the end.
 */
#include "evcheck_internal.h"

#include <inttypes.h>
#include <string.h>

/* Reports a missing or mistyped field; always returns -1. */
static int bad_field(state *s, uint32_t st, const char *ev, const char *key,
                     const char *want) {
  p2pc__evcheck_input_error(s, st, s->streams[st].line,
                            "\"%s\" line without %s \"%s\"", ev, want, key);
  return -1;
}

/* The integer member key of the line being read: 1 (in *v), 0 if absent,
 * -1 if it is not an integer in range (reported). */
static int u64_field(state *s, uint32_t st, const char *ev, const cJSON *j,
                     const char *key, uint64_t *v) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);
  if (!it)
    return 0;
  const char *p =
      cJSON_IsNumber(it) ? p2pc__evcheck_raw_member(s->raw, key) : NULL;
  if (!p || !p2pc__evcheck_raw_u64(p, v))
    return bad_field(s, st, ev, key, "an unsigned 64-bit integer");
  return 1;
}

static int i64_field(state *s, uint32_t st, const char *ev, const cJSON *j,
                     const char *key, int64_t *v) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);
  if (!it)
    return 0;
  const char *p =
      cJSON_IsNumber(it) ? p2pc__evcheck_raw_member(s->raw, key) : NULL;
  if (!p || !p2pc__evcheck_raw_i64(p, v))
    return bad_field(s, st, ev, key, "a 64-bit integer");
  return 1;
}

/* The integer member key if it is one (else 0): for facts that only
 * sharpen a verdict (a broadcast's excuses), never an input error. */
static uint64_t lenient_u64(const state *s, const cJSON *j, const char *key) {
  uint64_t v = 0;
  const char *p = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, key))
                      ? p2pc__evcheck_raw_member(s->raw, key)
                      : NULL;
  return p && p2pc__evcheck_raw_u64(p, &v) ? v : 0;
}

static int64_t lenient_i64(const state *s, const cJSON *j, const char *key) {
  int64_t v = 0;
  const char *p = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, key))
                      ? p2pc__evcheck_raw_member(s->raw, key)
                      : NULL;
  return p && p2pc__evcheck_raw_i64(p, &v) ? v : 0;
}

/* The same, for a member that must be there. */
static int need_u64(state *s, uint32_t st, const char *ev, const cJSON *j,
                    const char *key, uint64_t *v) {
  int rv = u64_field(s, st, ev, j, key, v);
  return rv ? rv : bad_field(s, st, ev, key, "an unsigned 64-bit integer");
}

/* A causal identity: ID or ID~TAG (idtab.h). Returns the length of its
 * ID part, or 0 if it is not one. */
static size_t sesid_id_len(const char *p, size_t n) {
  if (!p2pc_id_valid(p, n))
    return 0;
  const char *t = memchr(p, '~', n);
  return t ? (size_t)(t - p) : n;
}

/* The incarnation of a causal identity named in a field; NONE after
 * reporting why not. */
static uint32_t sesid_field(state *s, uint32_t st, const char *ev,
                            const char *key, const char *val) {
  size_t n = strlen(val);
  unsigned long line = s->streams[st].line;
  if (!sesid_id_len(val, n)) {
    p2pc__evcheck_input_error(
        s, st, line,
        "\"%s\": \"%s\" must be a node ID or ID~TAG, got \"%.100s\"", ev, key,
        val);
    return NONE;
  }
  uint32_t i = p2pc__evcheck_intern_inc(s, val, n);
  if (i == NONE && !s->nomem)
    p2pc__evcheck_input_error(s, st, line, "more than %d incarnations",
                              MAX_INCS);
  return i;
}

/* The message named by the "msg" field of an ev line ("<sesid>:<n>"). */
static uint32_t msg_field(state *s, uint32_t st, const char *ev,
                          const cJSON *j) {
  const char *id = p2pc__evcheck_str_field(j, "msg");
  if (!id) {
    bad_field(s, st, ev, "msg", "a string");
    return NONE;
  }
  const char *colon = strrchr(id, ':');
  uint64_t n = 0;
  bool ok = colon && colon > id && colon[1] && colon[1] != '0' &&
            sesid_id_len(id, (size_t)(colon - id));
  for (const char *p = colon ? colon + 1 : ""; ok && *p; p++) {
    if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
      ok = false;
    else
      n = n * 10 + (uint64_t)(*p - '0');
  }
  unsigned long line = s->streams[st].line;
  if (!ok) {
    p2pc__evcheck_input_error(
        s, st, line,
        "\"%s\": \"msg\" must be \"<sesid>:<n>\" with n >= 1, got "
        "\"%.100s\"",
        ev, id);
    return NONE;
  }
  uint32_t sender = p2pc__evcheck_intern_inc(s, id, (size_t)(colon - id));
  if (sender == NONE) {
    if (!s->nomem)
      p2pc__evcheck_input_error(s, st, line, "more than %d incarnations",
                                MAX_INCS);
    return NONE;
  }
  return p2pc__evcheck_intern_msg(s, sender, n);
}

static int on_start(state *s, uint32_t st, const char *node, const cJSON *j) {
  cursor *c = &s->streams[st];
  const cJSON *sv = cJSON_GetObjectItemCaseSensitive(j, "sesid");
  const char *ses = node; /* a log without incarnations: the ID itself */
  if (sv) {
    if (!cJSON_IsString(sv))
      return bad_field(s, st, "start", "sesid", "a string");
    ses = sv->valuestring;
  }
  size_t idn = sesid_id_len(ses, strlen(ses));
  if (!idn || strlen(node) != idn || memcmp(node, ses, idn) != 0) {
    p2pc__evcheck_input_error(
        s, st, c->line,
        "\"start\": \"sesid\" must be \"%s\" or \"%s~TAG\", got "
        "\"%.100s\"",
        node, node, ses);
    return -1;
  }
  /* Δ: absent (a log from before expiry) or null means infinite */
  uint64_t life = LIFE_INF;
  const cJSON *lv = cJSON_GetObjectItemCaseSensitive(j, "lifetime_ns");
  if (lv && !cJSON_IsNull(lv) &&
      u64_field(s, st, "start", j, "lifetime_ns", &life) < 0)
    return -1;
  uint64_t birth = 0;
  int has_birth = u64_field(s, st, "start", j, "birth", &birth);
  if (has_birth < 0)
    return -1;
  uint32_t i = sesid_field(s, st, "start", "sesid", ses);
  if (i == NONE)
    return -1;
  inc *in = &s->incs[i];
  if (in->node) {
    p2pc__evcheck_input_error(
        s, st, c->line,
        "incarnation %s already started at %s:%lu (the same log "
        "given twice?)",
        ses, p2pc__evcheck_stream_name(s, in->stream), in->line);
    return -1;
  }
  if (!(in->node = p2pc__evcheck_dupstr(s, node)))
    return -1;
  in->stream = st;
  in->line = c->line;
  in->lifetime = life;
  in->birth = birth;
  in->has_birth = has_birth > 0;
  if (c->inc != NONE && strcmp(s->incs[c->inc].node, node) == 0)
    s->incs[c->inc].superseded = true;
  c->inc = i;
  return 0;
}

/* A `birth` line: the causal layer's birth, when the `start` line could
 * not say it yet. */
static int on_birth(state *s, uint32_t st, const cJSON *j) {
  uint64_t birth;
  if (need_u64(s, st, "birth", j, "birth", &birth) < 0)
    return -1;
  inc *in = &s->incs[s->streams[st].inc];
  if (in->has_birth && in->birth != birth) {
    p2pc__evcheck_input_error(s, st, s->streams[st].line,
                              "a second birth of %s (%" PRIu64 ", then %" PRIu64
                              ")",
                              in->sesid, in->birth, birth);
    return -1;
  }
  in->birth = birth;
  in->has_birth = true;
  return 0;
}

static int on_send(state *s, uint32_t st, const cJSON *j) {
  uint32_t m = msg_field(s, st, "send", j);
  if (m == NONE)
    return -1;
  const char *to = p2pc__evcheck_str_field(j, "to");
  if (!to)
    return bad_field(s, st, "send", "to", "a string");
  /* "*": a broadcast, to every incarnation */
  uint32_t d =
      strcmp(to, "*") == 0 ? TO_ALL : sesid_field(s, st, "send", "to", to);
  if (d == NONE)
    return -1;
  uint64_t stamp = 0;
  int64_t net = 0;
  int has_stamp = u64_field(s, st, "send", j, "stamp", &stamp);
  if (has_stamp < 0 || i64_field(s, st, "send", j, "net", &net) < 0)
    return -1;
  uint32_t self = s->streams[st].inc;
  msgrec *mr = &s->msgs[m];
  if (mr->nsend++ == 0) {
    mr->to = d;
    mr->late = s->settling;
    mr->cut = s->cut_open;
    mr->stamp = stamp;
    mr->has_stamp = has_stamp > 0;
    mr->send_net = net;
  }
  s->sends++;
  if (d == self)
    s->self_sends++;
  if (!p2pc__evcheck_add_rec(s, self, m, d, true, 0))
    return -1;
  p2pc__evcheck_rec_clock(s, stamp, net);
  return 0;
}

static int on_deliver(state *s, uint32_t st, const cJSON *j) {
  uint32_t m = msg_field(s, st, "deliver", j);
  if (m == NONE)
    return -1;
  uint64_t waited = 0;
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "waited_ns");
  if (w) {
    if (!cJSON_IsNumber(w) || w->valuedouble < 0 || w->valuedouble > 1e18)
      return bad_field(s, st, "deliver", "waited_ns", "a number of ns");
    waited = (uint64_t)w->valuedouble;
  }
  uint64_t stamp = lenient_u64(s, j, "stamp");
  int64_t net = lenient_i64(s, j, "net");
  s->msgs[m].ndeliv++;
  s->deliver_lines++;
  if (!p2pc__evcheck_add_rec(s, s->streams[st].inc, m, NONE, false, waited))
    return -1;
  p2pc__evcheck_rec_clock(s, stamp, net);
  return 0;
}

/* An `undeliverable` line: a message given up on, because its destination
 * restarted, or (reason "expired") because it outlived Δ: then it is one
 * of the expiry reports judged at the end. */
static int on_undeliverable(state *s, uint32_t st, const cJSON *j) {
  static const char ev[] = "undeliverable";
  uint32_t m = msg_field(s, st, ev, j);
  if (m == NONE)
    return -1;
  const char *reason = p2pc__evcheck_str_field(j, "reason");
  if (!reason || strcmp(reason, "expired") != 0) {
    s->msgs[m].undeliverable = true;
    return 0;
  }
  cursor *c = &s->streams[st];
  bool at_sender = !cJSON_GetObjectItemCaseSensitive(j, "from");
  if (!p2pc__evcheck_str_field(j, at_sender ? "to" : "from")) {
    p2pc__evcheck_input_error(
        s, st, c->line,
        "\"undeliverable\" (expired) line without a string \"to\" "
        "or \"from\"");
    return -1;
  }
  uint64_t stamp, hlc;
  int64_t net = 0;
  if (need_u64(s, st, ev, j, "stamp", &stamp) < 0 ||
      need_u64(s, st, ev, j, "hlc", &hlc) < 0 ||
      i64_field(s, st, ev, j, "net", &net) < 0)
    return -1;
  if (!p2pc__evcheck_grow(s, (void **)&s->exps, sizeof *s->exps, s->nexps + 1,
                          &s->capexps))
    return -1;
  s->expiry_lines++;
  s->exps[s->nexps++] = (expiry){.msg = m,
                                 .inc = c->inc,
                                 .stream = st,
                                 .line = c->line,
                                 .at_sender = at_sender,
                                 .stamp = stamp,
                                 .hlc = hlc,
                                 .net = net};
  return 0;
}

/* One parsed line of stream st. Returns 0, or -1 after reporting. */
static int on_line(state *s, uint32_t st, const cJSON *j) {
  cursor *c = &s->streams[st];
  const char *node = p2pc__evcheck_str_field(j, "node");
  const char *ev = p2pc__evcheck_str_field(j, "ev");
  if (!ev) {
    p2pc__evcheck_input_error(s, st, c->line, "line without a string \"ev\"");
    return -1;
  }
  if (!node)
    return bad_field(s, st, ev, "node", "a string");
  if (!p2pc_node_id_valid(node, strlen(node))) {
    p2pc__evcheck_input_error(
        s, st, c->line,
        "\"node\" must be 1..64 of [A-Za-z0-9._-], got \"%.100s\"", node);
    return -1;
  }
  static const char *const times[] = {"mono", "local", "net"};
  for (size_t i = 0; i < 3; i++)
    if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, times[i])))
      return bad_field(s, st, ev, times[i], "a number");

  int64_t net = lenient_i64(s, j, "net");
  if (strcmp(ev, "start") == 0) {
    int rv = on_start(s, st, node, j);
    c->lost = rv < 0;
    if (rv == 0)
      s->incs[c->inc].last_net = net;
    return rv;
  }
  if (c->inc == NONE) {
    p2pc__evcheck_input_error(s, st, c->line,
                              "\"%s\" before the first \"start\" line", ev);
    return -1;
  }
  inc *in = &s->incs[c->inc];
  if (strcmp(node, in->node) != 0) {
    p2pc__evcheck_input_error(
        s, st, c->line,
        "a line of node \"%s\" in the log of %s (started at line %lu)", node,
        in->sesid, in->line);
    return -1;
  }
  if (in->stopped) {
    s->own_log++;
    p2pc__evcheck_list_violation(
        s, "LOG: %s:%lu: \"%.40s\" after the \"stop\" of %s",
        p2pc__evcheck_stream_name(s, st), c->line, ev, in->sesid);
  }
  in->last_net = net;
  if (strcmp(ev, "stop") == 0) {
    in->stopped = true;
    return 0;
  }
  if (strcmp(ev, "birth") == 0)
    return on_birth(s, st, j);
  if (strcmp(ev, "send") == 0)
    return on_send(s, st, j);
  if (strcmp(ev, "deliver") == 0)
    return on_deliver(s, st, j);
  if (strcmp(ev, "undeliverable") == 0)
    return on_undeliverable(s, st, j);
  bool is_buffer = strcmp(ev, "buffer") == 0;
  if (strcmp(ev, "dup") == 0)
    s->dups++;
  else if (strcmp(ev, "drop") == 0)
    s->drops++;
  else if (!is_buffer)
    return 0; /* recv, refuse, peer and clock events: not needed */
  uint32_t m = msg_field(s, st, ev, j);
  if (m == NONE)
    return -1;
  if (is_buffer)
    s->msgs[m].buffered = true;
  return 0;
}

int p2pc_evcheck_line(p2pc_evcheck *s, uint32_t stream, const char *line,
                      size_t len) {
  return p2pc_evcheck_line_ex(s, stream, line, len, 0);
}

int p2pc_evcheck_line_ex(p2pc_evcheck *s, uint32_t stream, const char *line,
                         size_t len, unsigned flags) {
  if (s->finished || s->nomem)
    return P2PC_EVCHECK_LINE_NOMEM;
  cursor *c = p2pc__evcheck_get_stream(s, stream);
  if (!c)
    return P2PC_EVCHECK_LINE_NOMEM; /* or a stream out of range */
  if (c->lost)
    return P2PC_EVCHECK_LINE_LOST;
  c->line++;
  s->lines++;
  if (s->too_large)
    return P2PC_EVCHECK_LINE_OK; /* no verdict any more: not even parsed */
  int rv = P2PC_EVCHECK_LINE_OK;
  if (len > P2PC_EVCHECK_LINE_MAX) {
    p2pc__evcheck_input_error(s, stream, c->line, "line longer than %d bytes",
                              P2PC_EVCHECK_LINE_MAX);
    rv = P2PC_EVCHECK_LINE_BAD;
  } else if (memchr(line, '\0', len)) {
    p2pc__evcheck_input_error(s, stream, c->line, "NUL byte in a line");
    rv = P2PC_EVCHECK_LINE_BAD;
  } else if (!p2pc__evcheck_blank(line, len)) {
    if (!p2pc__evcheck_grow(s, (void **)&s->buf, 1, len + 1, &s->capbuf))
      return P2PC_EVCHECK_LINE_NOMEM;
    memcpy(s->buf, line, len);
    s->raw = s->buf;
    cJSON *j = p2pc__evcheck_parse_object(s->buf, len);
    if (!j && (j = p2pc__evcheck_torn_start(s->buf, len, &s->raw)) != NULL)
      p2pc__evcheck_input_warning(
          s, stream, c->line, "torn line before a restart's \"start\" skipped");
    if (j) {
      if (on_line(s, stream, j) < 0)
        rv = P2PC_EVCHECK_LINE_BAD;
      cJSON_Delete(j);
      p2pc__evcheck_check_limit(s);
    } else if (flags & P2PC_EVCHECK_UNTERMINATED) {
      p2pc__evcheck_input_warning(
          s, stream, c->line,
          "torn last line skipped (the node killed while "
          "writing it?)");
    } else {
      p2pc__evcheck_input_error(s, stream, c->line, "not a JSON object");
      rv = P2PC_EVCHECK_LINE_BAD;
    }
  }
  if (s->nomem)
    return P2PC_EVCHECK_LINE_NOMEM;
  return c->lost ? P2PC_EVCHECK_LINE_LOST : rv;
}
