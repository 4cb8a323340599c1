/* SPDX-License-Identifier: MIT */
/*
 * The causal oracle of evcheck.h, in two passes. The first, line by line,
 * keeps compact records — the sends and deliveries of each incarnation, in
 * its order — and per-message facts (buffered, reported undeliverable, the
 * send's stamp and network time), and the expiry reports, because what
 * excuses a message can be logged by another node, in a stream read later.
 * The second, at the end, judges the expiry reports, feeds the records to
 * the independent causal checker in offline mode (which tolerates a
 * delivery read before its send), then decides for every message whether
 * it was delivered, excused or missing. The checker's own liveness verdict
 * is not used: it knows nothing of crashes, restarts and time.
 *
 * Stamps, HLC readings and network times are beyond 2^53, where cJSON's
 * doubles lose nanoseconds: they are read exactly from the line's text
 * (raw_member), cJSON only telling that the line is valid JSON.
 */
#include "evcheck.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "checker.h"
#include "idtab.h"

#define NONE UINT32_MAX
#define MAX_REPORTED 10 /* input errors and warnings passed on */
#define MAX_INCS 4096   /* incarnations (the core's max_nodes) */
#define MAX_STREAMS (1u << 24)
/* The checker keeps a vector per message: incarnations x messages cells. */
#define MAX_CELLS ((uint64_t)1 << 28)
#define LIFE_INF UINT64_MAX
/* A tolerance beyond any run (and far from int64 overflow). */
#define MAX_TOLERANCE_NS ((uint64_t)1 << 60)

typedef struct inc {
  char *sesid;
  char *node; /* NULL while no stream holds its log (only mentioned) */
  uint32_t stream;
  unsigned long line; /* of its start */
  uint64_t lifetime;  /* Δ of its start line, ns; LIFE_INF if infinite */
  bool stopped;
  bool superseded; /* a later start of the same node follows in its stream */
} inc;

typedef struct msgrec {
  uint32_t sender; /* incarnation */
  uint64_t n;
  uint32_t nsend;   /* send lines */
  uint32_t to;      /* destination of the first send, NONE if unsent */
  uint32_t ndeliv;  /* deliver lines anywhere */
  uint32_t at_dest; /* deliver lines at `to` */
  uint64_t stamp;   /* of the first send, if has_stamp */
  int64_t send_net; /* `net` of the first send */
  bool has_stamp;
  bool buffered;
  bool undeliverable;
  bool late;   /* first sent after the settle mark */
  bool skip;   /* left out of the order test (lost with its sender, or
                  reported expired) */
  bool waited; /* its first delivery at `to` is in the waits */
  /* expiry reports by its sender or destination: any, an honest one */
  bool expiry_reported, expiry_honest;
} msgrec;

/* An `undeliverable` line with reason "expired" (EVENTS.md), judged at
 * the end: the send it is about may be read later. */
typedef struct expiry {
  uint32_t msg;
  uint32_t inc;    /* the reporting incarnation */
  uint32_t stream; /* where the line is, for the listing */
  unsigned long line;
  bool at_sender; /* the sender's form (`to`), else the receiver's */
  uint64_t stamp, hlc;
  int64_t net;
} expiry;

typedef struct rec {
  uint32_t inc; /* the incarnation whose line it is */
  uint32_t msg;
  uint32_t to; /* sends */
  bool is_send;
  uint64_t waited_ns; /* deliveries */
} rec;

/* Where the reading of one stream is. */
typedef struct cursor {
  char *name;
  unsigned long line;
  uint32_t inc; /* the current incarnation, NONE before the first start */
  bool lost;    /* a start line was refused: the rest would only cascade */
} cursor;

struct p2pc_evcheck {
  cursor *streams;
  size_t nstreams;
  void (*diag)(void *ud, bool warning, const char *text);
  void *diag_ud;
  uint64_t limit;
  bool limit_early, too_large, settling, finished;
  char *buf; /* the line being parsed, NUL-terminated */
  size_t capbuf;
  inc *incs;
  size_t nincs, capincs;
  p2pc_idtab ids; /* sesid -> incarnation (the index into incs) */
  msgrec *msgs;
  size_t nmsgs, capmsgs;
  uint32_t *mslots; /* (sender, n) -> message + 1 */
  size_t nmslots;
  rec *recs;
  size_t nrecs, caprecs;
  uint64_t *waits; /* waited_ns of the messages that were buffered */
  size_t nwaits, capwaits;
  expiry *exps;
  size_t nexps, capexps;
  uint64_t tolerance_ns; /* for the network-time test of expiries */
  const char *raw;       /* the text of the line being read */
  bool nomem;
  uint64_t errors, warnings;
  /* counts */
  uint64_t lines, sends, self_sends, deliver_lines, dups, drops;
  uint64_t delivered, undeliverable, lost_receiver, lost_sender, unsettled;
  uint64_t expired, expiry_lines;
  uint64_t crashed, nodes;
  /* violations found here (the checker counts its own) */
  uint64_t own_missing, own_log, own_early, own_exp_delivered;
  char *listed[P2PC_EVCHECK_LISTED];
  size_t nlisted;
  ccheck *c; /* after finish */
};

typedef p2pc_evcheck state;

/* ---- small helpers -------------------------------------------------------
 */

static char *dupstr(state *s, const char *str) {
  size_t len = strlen(str);
  char *p = malloc(len + 1);
  if (!p) {
    s->nomem = true;
    return NULL;
  }
  memcpy(p, str, len + 1);
  return p;
}

/* Grows *arr (of elsize elements, capacity *cap) to hold need; false if
 * out of memory. */
static bool grow(state *s, void **arr, size_t elsize, size_t need,
                 size_t *cap) {
  if (need <= *cap)
    return true;
  size_t c = *cap ? *cap : 64;
  while (c < need)
    c *= 2;
  void *p = realloc(*arr, c * elsize);
  if (!p) {
    s->nomem = true;
    return false;
  }
  *arr = p;
  *cap = c;
  return true;
}

static const char *stream_name(const state *s, uint32_t stream) {
  return s->streams[stream].name;
}

static __attribute__((format(printf, 5, 0))) void
diag(state *s, bool warning, uint32_t stream, unsigned long line,
     const char *fmt, va_list ap) {
  if (!s->diag)
    return;
  char what[512], text[1024];
  vsnprintf(what, sizeof what, fmt, ap);
  snprintf(text, sizeof text, "%s:%lu: %s", stream_name(s, stream), line, what);
  s->diag(s->diag_ud, warning, text);
}

static __attribute__((format(printf, 4, 5))) void
input_error(state *s, uint32_t stream, unsigned long line, const char *fmt,
            ...) {
  if (s->errors++ >= MAX_REPORTED)
    return;
  va_list ap;
  va_start(ap, fmt);
  diag(s, false, stream, line, fmt, ap);
  va_end(ap);
}

static __attribute__((format(printf, 4, 5))) void
input_warning(state *s, uint32_t stream, unsigned long line, const char *fmt,
              ...) {
  if (s->warnings++ >= MAX_REPORTED)
    return;
  va_list ap;
  va_start(ap, fmt);
  diag(s, true, stream, line, fmt, ap);
  va_end(ap);
}

/* Keeps one violation line for the listing (the first few). */
static __attribute__((format(printf, 2, 3))) void
list_violation(state *s, const char *fmt, ...) {
  if (s->nlisted >= P2PC_EVCHECK_LISTED)
    return;
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  char *p = dupstr(s, text);
  if (p)
    s->listed[s->nlisted++] = p;
}

static uint64_t hash_msg(uint32_t sender, uint64_t n) {
  uint64_t h = ((uint64_t)sender + 1) * 0x9E3779B97F4A7C15ull;
  h ^= n * 0xC2B2AE3D27D4EB4Full;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

/* A causal identity: ID or ID~TAG (idtab.h). Returns the length of its
 * ID part, or 0 if it is not one. */
static size_t sesid_id_len(const char *p, size_t n) {
  if (!p2pc_id_valid(p, n))
    return 0;
  const char *t = memchr(p, '~', n);
  return t ? (size_t)(t - p) : n;
}

/* ---- tables ---------------------------------------------------------------
 */

/* The incarnation named sesid[0..n), added (without a log) if new; NONE if
 * out of memory or too many. */
static uint32_t intern_inc(state *s, const char *sesid, size_t n) {
  uint32_t id;
  int rv = p2pc_idtab_intern(&s->ids, sesid, n, &id);
  if (rv == P2PC_ERR_NOMEM)
    s->nomem = true;
  if (rv)
    return NONE; /* validated by the callers: FULL means too many */
  if (id < s->nincs)
    return id;
  if (!grow(s, (void **)&s->incs, sizeof *s->incs, s->nincs + 1, &s->capincs))
    return NONE;
  char *copy = malloc(n + 1);
  if (!copy) {
    s->nomem = true;
    return NONE;
  }
  memcpy(copy, sesid, n);
  copy[n] = '\0';
  inc *in = &s->incs[s->nincs];
  memset(in, 0, sizeof *in);
  in->sesid = copy;
  return (uint32_t)s->nincs++;
}

/* The message sender:n, added if new; NONE if out of memory. */
static uint32_t intern_msg(state *s, uint32_t sender, uint64_t n) {
  if (s->nmslots) {
    size_t mask = s->nmslots - 1;
    for (size_t i = hash_msg(sender, n) & mask;; i = (i + 1) & mask) {
      uint32_t v = s->mslots[i];
      if (!v)
        break;
      if (s->msgs[v - 1].sender == sender && s->msgs[v - 1].n == n)
        return v - 1;
    }
  }
  if (s->nmsgs >= UINT32_MAX / 4) {
    s->nomem = true;
    return NONE;
  }
  if ((s->nmsgs + 1) * 2 > s->nmslots) {
    size_t ns = s->nmslots ? s->nmslots * 2 : 1024;
    uint32_t *slots = calloc(ns, sizeof *slots);
    if (!slots) {
      s->nomem = true;
      return NONE;
    }
    for (size_t k = 0; k < s->nmsgs; k++) {
      size_t i = hash_msg(s->msgs[k].sender, s->msgs[k].n) & (ns - 1);
      while (slots[i])
        i = (i + 1) & (ns - 1);
      slots[i] = (uint32_t)k + 1;
    }
    free(s->mslots);
    s->mslots = slots;
    s->nmslots = ns;
  }
  if (!grow(s, (void **)&s->msgs, sizeof *s->msgs, s->nmsgs + 1, &s->capmsgs))
    return NONE;
  msgrec *m = &s->msgs[s->nmsgs];
  memset(m, 0, sizeof *m);
  m->sender = sender;
  m->n = n;
  m->to = NONE;
  size_t i = hash_msg(sender, n) & (s->nmslots - 1);
  while (s->mslots[i])
    i = (i + 1) & (s->nmslots - 1);
  s->mslots[i] = (uint32_t)s->nmsgs + 1;
  return (uint32_t)s->nmsgs++;
}

static bool add_rec(state *s, uint32_t in, uint32_t msg, uint32_t to,
                    bool is_send, uint64_t waited_ns) {
  if (!grow(s, (void **)&s->recs, sizeof *s->recs, s->nrecs + 1, &s->caprecs))
    return false;
  rec *r = &s->recs[s->nrecs++];
  r->inc = in;
  r->msg = msg;
  r->to = to;
  r->is_send = is_send;
  r->waited_ns = waited_ns;
  return true;
}

/* Past an early limit: the records go at once, and later lines with them. */
static void check_limit(state *s) {
  if (!s->limit_early || s->too_large ||
      (uint64_t)s->nincs * s->nmsgs <= s->limit)
    return;
  s->too_large = true;
  free(s->recs);
  s->recs = NULL;
  s->nrecs = s->caprecs = 0;
  free(s->mslots);
  s->mslots = NULL;
  s->nmslots = 0;
  free(s->exps);
  s->exps = NULL;
  s->nexps = s->capexps = 0;
}

/* ---- reading the lines ---------------------------------------------------
 */

/* A string field, or NULL (missing or not a string). */
static const char *str_field(const cJSON *j, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Reports a missing or mistyped field; always returns -1. */
static int bad_field(state *s, uint32_t st, const char *ev, const char *key,
                     const char *want) {
  input_error(s, st, s->streams[st].line, "\"%s\" line without %s \"%s\"", ev,
              want, key);
  return -1;
}

/* ---- exact integers from the line's text --------------------------------
 */

static bool json_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *skip_json_ws(const char *p) {
  while (json_ws(*p))
    p++;
  return p;
}

/* Past the JSON value at p, in text that is valid JSON (cJSON parsed it);
 * stops at the NUL if the text ends early. */
static const char *skip_value(const char *p) {
  size_t depth = 0;
  do {
    if (*p == '"') {
      for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
          p++;
      if (*p)
        p++;
    } else if (*p == '{' || *p == '[') {
      depth++;
      p++;
    } else if (*p == '}' || *p == ']') {
      if (!depth)
        return p;
      depth--;
      p++;
    } else if (depth) {
      p++;
    } else {
      while (*p && *p != ',' && *p != '}' && *p != ']' && !json_ws(*p))
        p++;
    }
  } while (depth && *p);
  return p;
}

/* The text of the value of the first top-level member named key (written
 * without escapes) of the JSON object text p, or NULL. cJSON finds the
 * same member (the first of its name). */
static const char *raw_member(const char *p, const char *key) {
  size_t klen = strlen(key);
  p = skip_json_ws(p);
  if (*p++ != '{')
    return NULL;
  for (;;) {
    p = skip_json_ws(p);
    if (*p != '"')
      return NULL;
    const char *name = p + 1, *end = skip_value(p);
    bool match = end > name && (size_t)(end - 1 - name) == klen &&
                 memcmp(name, key, klen) == 0;
    p = skip_json_ws(end);
    if (*p != ':')
      return NULL;
    p = skip_json_ws(p + 1);
    if (match)
      return p;
    p = skip_json_ws(skip_value(p));
    if (*p++ != ',')
      return NULL;
  }
}

/* A JSON integer (no fraction, no exponent) at p that fits: true and *v. */
static bool raw_u64(const char *p, uint64_t *v) {
  uint64_t x = 0;
  const char *d = p;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (x > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
      return false;
    x = x * 10 + (uint64_t)(*p - '0');
  }
  if (p == d || (p - d > 1 && *d == '0') || *p == '.' || *p == 'e' || *p == 'E')
    return false;
  *v = x;
  return true;
}

static bool raw_i64(const char *p, int64_t *v) {
  bool neg = *p == '-';
  uint64_t x;
  if (!raw_u64(p + neg, &x) || x > (uint64_t)INT64_MAX + neg)
    return false;
  *v = neg ? (int64_t)(0 - x) : (int64_t)x;
  return true;
}

/* The integer member key of the line being read: 1 (in *v), 0 if absent,
 * -1 if it is not an integer in range (reported). */
static int u64_field(state *s, uint32_t st, const char *ev, const cJSON *j,
                     const char *key, uint64_t *v) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);
  if (!it)
    return 0;
  const char *p = cJSON_IsNumber(it) ? raw_member(s->raw, key) : NULL;
  if (!p || !raw_u64(p, v))
    return bad_field(s, st, ev, key, "an unsigned 64-bit integer");
  return 1;
}

static int i64_field(state *s, uint32_t st, const char *ev, const cJSON *j,
                     const char *key, int64_t *v) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);
  if (!it)
    return 0;
  const char *p = cJSON_IsNumber(it) ? raw_member(s->raw, key) : NULL;
  if (!p || !raw_i64(p, v))
    return bad_field(s, st, ev, key, "a 64-bit integer");
  return 1;
}

/* The same, for a member that must be there. */
static int need_u64(state *s, uint32_t st, const char *ev, const cJSON *j,
                    const char *key, uint64_t *v) {
  int rv = u64_field(s, st, ev, j, key, v);
  return rv ? rv : bad_field(s, st, ev, key, "an unsigned 64-bit integer");
}

/* The incarnation of a causal identity named in a field; NONE after
 * reporting why not. */
static uint32_t sesid_field(state *s, uint32_t st, const char *ev,
                            const char *key, const char *val) {
  size_t n = strlen(val);
  unsigned long line = s->streams[st].line;
  if (!sesid_id_len(val, n)) {
    input_error(s, st, line,
                "\"%s\": \"%s\" must be a node ID or ID~TAG, got \"%.100s\"",
                ev, key, val);
    return NONE;
  }
  uint32_t i = intern_inc(s, val, n);
  if (i == NONE && !s->nomem)
    input_error(s, st, line, "more than %d incarnations", MAX_INCS);
  return i;
}

/* The message named by the "msg" field of an ev line ("<sesid>:<n>"). */
static uint32_t msg_field(state *s, uint32_t st, const char *ev,
                          const cJSON *j) {
  const char *id = str_field(j, "msg");
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
    input_error(s, st, line,
                "\"%s\": \"msg\" must be \"<sesid>:<n>\" with n >= 1, got "
                "\"%.100s\"",
                ev, id);
    return NONE;
  }
  uint32_t sender = intern_inc(s, id, (size_t)(colon - id));
  if (sender == NONE) {
    if (!s->nomem)
      input_error(s, st, line, "more than %d incarnations", MAX_INCS);
    return NONE;
  }
  return intern_msg(s, sender, n);
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
    input_error(s, st, c->line,
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
  uint32_t i = sesid_field(s, st, "start", "sesid", ses);
  if (i == NONE)
    return -1;
  inc *in = &s->incs[i];
  if (in->node) {
    input_error(s, st, c->line,
                "incarnation %s already started at %s:%lu (the same log "
                "given twice?)",
                ses, stream_name(s, in->stream), in->line);
    return -1;
  }
  if (!(in->node = dupstr(s, node)))
    return -1;
  in->stream = st;
  in->line = c->line;
  in->lifetime = life;
  if (c->inc != NONE && strcmp(s->incs[c->inc].node, node) == 0)
    s->incs[c->inc].superseded = true;
  c->inc = i;
  return 0;
}

static int on_send(state *s, uint32_t st, const cJSON *j) {
  uint32_t m = msg_field(s, st, "send", j);
  if (m == NONE)
    return -1;
  const char *to = str_field(j, "to");
  if (!to)
    return bad_field(s, st, "send", "to", "a string");
  uint32_t d = sesid_field(s, st, "send", "to", to);
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
    mr->stamp = stamp;
    mr->has_stamp = has_stamp > 0;
    mr->send_net = net;
  }
  s->sends++;
  if (d == self)
    s->self_sends++;
  return add_rec(s, self, m, d, true, 0) ? 0 : -1;
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
  s->msgs[m].ndeliv++;
  s->deliver_lines++;
  return add_rec(s, s->streams[st].inc, m, NONE, false, waited) ? 0 : -1;
}

/* An `undeliverable` line: a message given up on, because its destination
 * restarted, or (reason "expired") because it outlived Δ: then it is one
 * of the expiry reports judged at the end. */
static int on_undeliverable(state *s, uint32_t st, const cJSON *j) {
  static const char ev[] = "undeliverable";
  uint32_t m = msg_field(s, st, ev, j);
  if (m == NONE)
    return -1;
  const char *reason = str_field(j, "reason");
  if (!reason || strcmp(reason, "expired") != 0) {
    s->msgs[m].undeliverable = true;
    return 0;
  }
  cursor *c = &s->streams[st];
  bool at_sender = !cJSON_GetObjectItemCaseSensitive(j, "from");
  if (!str_field(j, at_sender ? "to" : "from")) {
    input_error(s, st, c->line,
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
  if (!grow(s, (void **)&s->exps, sizeof *s->exps, s->nexps + 1, &s->capexps))
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
  const char *node = str_field(j, "node");
  const char *ev = str_field(j, "ev");
  if (!ev) {
    input_error(s, st, c->line, "line without a string \"ev\"");
    return -1;
  }
  if (!node)
    return bad_field(s, st, ev, "node", "a string");
  if (!p2pc_node_id_valid(node, strlen(node))) {
    input_error(s, st, c->line,
                "\"node\" must be 1..64 of [A-Za-z0-9._-], got \"%.100s\"",
                node);
    return -1;
  }
  static const char *const times[] = {"mono", "local", "net"};
  for (size_t i = 0; i < 3; i++)
    if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, times[i])))
      return bad_field(s, st, ev, times[i], "a number");

  if (strcmp(ev, "start") == 0) {
    int rv = on_start(s, st, node, j);
    c->lost = rv < 0;
    return rv;
  }
  if (c->inc == NONE) {
    input_error(s, st, c->line, "\"%s\" before the first \"start\" line", ev);
    return -1;
  }
  inc *in = &s->incs[c->inc];
  if (strcmp(node, in->node) != 0) {
    input_error(s, st, c->line,
                "a line of node \"%s\" in the log of %s (started at line %lu)",
                node, in->sesid, in->line);
    return -1;
  }
  if (in->stopped) {
    s->own_log++;
    list_violation(s, "LOG: %s:%lu: \"%.40s\" after the \"stop\" of %s",
                   stream_name(s, st), c->line, ev, in->sesid);
  }
  if (strcmp(ev, "stop") == 0) {
    in->stopped = true;
    return 0;
  }
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

/* Parses buf[0..len) (buf[len] must be writable) as one JSON object. */
static cJSON *parse_object(char *buf, size_t len) {
  buf[len] = '\0';
  const char *end = NULL;
  cJSON *j = cJSON_ParseWithLengthOpts(buf, len + 1, &end, true);
  if (j && !cJSON_IsObject(j)) {
    cJSON_Delete(j);
    j = NULL;
  }
  return j;
}

/*
 * A node killed in the middle of writing a line leaves it torn, and its
 * next incarnation appends its start line right after the torn bytes. If
 * the rest of a bad line from its last `{"node":` on is a start line,
 * returns it (the torn part is dropped with a warning); else NULL.
 */
static cJSON *torn_start(char *buf, size_t len, const char **raw) {
  static const char key[] = "{\"node\":";
  const char *last = NULL;
  for (const char *p = buf + 1; (p = strstr(p, key)) != NULL; p++)
    last = p;
  if (!last)
    return NULL;
  cJSON *j = parse_object((char *)last, len - (size_t)(last - buf));
  const char *ev = j ? str_field(j, "ev") : NULL;
  if (ev && strcmp(ev, "start") == 0) {
    *raw = last;
    return j;
  }
  cJSON_Delete(j);
  return NULL;
}

static bool blank(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
      return false;
  return true;
}

/* The cursor of stream st, added (with its default name) if new. */
static cursor *get_stream(state *s, uint32_t st) {
  if (st >= MAX_STREAMS)
    return NULL;
  if (st >= s->nstreams) {
    size_t cap = s->nstreams;
    if (!grow(s, (void **)&s->streams, sizeof *s->streams, (size_t)st + 1,
              &cap))
      return NULL;
    memset(s->streams + s->nstreams, 0,
           (cap - s->nstreams) * sizeof *s->streams);
    for (size_t i = s->nstreams; i < cap; i++)
      s->streams[i].inc = NONE;
    s->nstreams = cap;
  }
  cursor *c = &s->streams[st];
  if (!c->name) {
    char tmp[24];
    snprintf(tmp, sizeof tmp, "#%" PRIu32, st);
    c->name = dupstr(s, tmp);
    if (!c->name)
      return NULL;
  }
  return c;
}

/* ---- the verdict ---------------------------------------------------------
 */

static bool crashed(const inc *in) { return in->node && !in->stopped; }

/* Whether expiry report e of message m came when it was due: Δ of the
 * reporting incarnation after the send, on the reporter's HLC against the
 * send's stamp and on network time against the send's (less the
 * tolerance). If not, why not into why. */
static bool honest(const state *s, const expiry *e, const msgrec *m, char *why,
                   size_t n) {
  uint64_t life = s->incs[e->inc].lifetime;
  if (life == LIFE_INF) {
    snprintf(why, n, "though its causal lifetime is infinite");
    return false;
  }
  if (!m->has_stamp) {
    snprintf(why, n, "but its send line has no stamp");
    return false;
  }
  if (e->stamp != m->stamp) {
    snprintf(why, n,
             "with stamp %" PRIu64 ", but it was sent with stamp %" PRIu64,
             e->stamp, m->stamp);
    return false;
  }
  if (e->hlc < m->stamp || e->hlc - m->stamp < life) {
    snprintf(
        why, n,
        "at HLC %" PRIu64 ", %s%.3f s after its stamp (lifetime %.3f s)",
        e->hlc, e->hlc < m->stamp ? "-" : "",
        (double)(e->hlc < m->stamp ? m->stamp - e->hlc : e->hlc - m->stamp) /
            1e9,
        (double)life / 1e9);
    return false;
  }
  int64_t elapsed;
  if (__builtin_sub_overflow(e->net, m->send_net, &elapsed))
    elapsed = e->net < m->send_net ? INT64_MIN : INT64_MAX;
  /* both below 2^63: no overflow */
  int64_t need = life > (uint64_t)INT64_MAX
                     ? INT64_MAX
                     : (int64_t)life - (int64_t)s->tolerance_ns;
  if (elapsed < need) {
    snprintf(why, n,
             "at network time %.3f s after its send (lifetime %.3f s, "
             "tolerance %.3f s)",
             (double)elapsed / 1e9, (double)life / 1e9,
             (double)s->tolerance_ns / 1e9);
    return false;
  }
  return true;
}

/* Judges the expiry reports (needs every send, and at_dest): each one is
 * fine, or one violation — LOG (not by the message's sender or
 * destination, or of a message no log sent), EXPIRED_DELIVERED (by the
 * destination, which delivered it) or EXPIRED_EARLY (not yet due). */
static void judge_expiries(state *s) {
  for (size_t i = 0; i < s->nexps; i++) {
    const expiry *e = &s->exps[i];
    msgrec *m = &s->msgs[e->msg];
    const char *by = s->incs[e->inc].sesid, *snd = s->incs[m->sender].sesid;
    const char *file = stream_name(s, e->stream);
    if (!m->nsend) {
      s->own_log++;
      list_violation(s,
                     "LOG: %s:%lu: %s reported %s:%" PRIu64
                     " expired, but no log has its send",
                     file, e->line, by, snd, m->n);
      continue;
    }
    uint32_t want = e->at_sender ? m->sender : m->to;
    if (e->inc != want) {
      s->own_log++;
      list_violation(s,
                     "LOG: %s:%lu: %s reported %s:%" PRIu64
                     " expired as its %s, which is %s",
                     file, e->line, by, snd, m->n,
                     e->at_sender ? "sender" : "destination",
                     s->incs[want].sesid);
      continue;
    }
    m->expiry_reported = true;
    if (!e->at_sender && m->at_dest) {
      s->own_exp_delivered++;
      list_violation(s,
                     "EXPIRED_DELIVERED: %s:%lu: %s reported %s:%" PRIu64
                     " expired, and delivered it",
                     file, e->line, by, snd, m->n);
      continue;
    }
    char why[200];
    if (!honest(s, e, m, why, sizeof why)) {
      s->own_early++;
      list_violation(
          s, "EXPIRED_EARLY: %s:%lu: %s reported %s:%" PRIu64 " expired %s",
          file, e->line, by, snd, m->n, why);
      continue;
    }
    m->expiry_honest = true;
  }
}

/* Feeds the records to the checker; fills the counts and the waits. */
static int run_checker(state *s) {
  const char **names = malloc(s->nincs * sizeof *names);
  if (!names) {
    s->nomem = true;
    return -1;
  }
  for (size_t i = 0; i < s->nincs; i++)
    names[i] = s->incs[i].sesid;
  ccheck *c = ccheck_new((uint32_t)s->nincs, names, CCHECK_OFFLINE);
  free(names);
  s->c = c;

  for (size_t i = 0; i < s->nrecs; i++) {
    const rec *r = &s->recs[i];
    msgrec *m = &s->msgs[r->msg];
    if (!r->is_send && m->to != NONE && r->inc == m->to)
      m->at_dest++;
  }
  judge_expiries(s);
  /* A message never delivered anywhere whose sender crashed or restarted
   * may have died with it; SES then releases its causal successors by
   * design (PROTOCOL.md, "Retiring an identity"), so it is not a
   * predecessor that must come first. Nor is one reported expired: Δ-SES
   * releases its successors once it is older than Δ (an early report is
   * EXPIRED_EARLY, not ORDER). */
  for (size_t i = 0; i < s->nmsgs; i++) {
    msgrec *m = &s->msgs[i];
    const inc *snd = &s->incs[m->sender];
    m->skip = m->ndeliv == 0 &&
              (crashed(snd) || snd->superseded || m->expiry_reported);
  }
  for (size_t i = 0; i < s->nrecs; i++) {
    const rec *r = &s->recs[i];
    msgrec *m = &s->msgs[r->msg];
    if (r->is_send) {
      if (!m->skip)
        ccheck_send(c, r->inc, m->sender, m->n, r->to, NULL, 0);
      continue;
    }
    ccheck_deliver(c, r->inc, m->sender, m->n, NULL, 0);
    if (m->to != NONE && r->inc == m->to && !m->waited && m->buffered) {
      m->waited = true;
      if (!grow(s, (void **)&s->waits, sizeof *s->waits, s->nwaits + 1,
                &s->capwaits))
        return -1;
      s->waits[s->nwaits++] = r->waited_ns;
    }
  }
  ccheck_finish(c);

  for (size_t i = 0; i < s->nmsgs; i++) {
    const msgrec *m = &s->msgs[i];
    if (!m->nsend)
      continue; /* a delivery of it is the checker's UNKNOWN */
    const inc *snd = &s->incs[m->sender], *dst = &s->incs[m->to];
    if (m->at_dest) {
      s->delivered++;
    } else if (m->expiry_honest) {
      s->expired++;
    } else if (m->undeliverable && (dst->superseded || crashed(dst))) {
      s->undeliverable++;
    } else if (crashed(dst)) {
      s->lost_receiver++;
    } else if (crashed(snd) || snd->superseded) {
      s->lost_sender++;
    } else if (m->expiry_reported) {
      /* reported expired too early: that is its violation */
    } else if (!dst->node) {
      s->own_log++;
      list_violation(s,
                     "LOG: %s:%" PRIu64 " was sent to %s, whose log is "
                     "not among the files",
                     snd->sesid, m->n, dst->sesid);
    } else if (m->late) {
      s->unsettled++;
    } else {
      s->own_missing++;
      list_violation(s, "MISSING: %s:%" PRIu64 " (to %s) was never delivered%s",
                     snd->sesid, m->n, dst->sesid,
                     m->undeliverable ? " (reported undeliverable, but its "
                                        "destination never restarted)"
                                      : "");
    }
  }
  return 0;
}

/* The counts that need no verdict. */
static void count_incs(state *s) {
  s->crashed = s->nodes = 0;
  for (size_t i = 0; i < s->nincs; i++)
    if (crashed(&s->incs[i]))
      s->crashed++;
  /* Distinct node IDs with a log. */
  for (size_t i = 0; i < s->nincs; i++) {
    const char *node = s->incs[i].node;
    bool seen = !node;
    for (size_t k = 0; k < i && !seen; k++)
      seen = s->incs[k].node && strcmp(s->incs[k].node, node) == 0;
    if (!seen)
      s->nodes++;
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted v[0..n), n >= 1. */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned pct) {
  size_t rank = (n * pct + 99) / 100;
  return v[rank ? rank - 1 : 0];
}

/* Our kinds from the checker's (LIVENESS has no counterpart: MISSING
 * replaces it). */
static const ccheck_kind from_checker[] = {
    [P2PC_EVCHECK_ORDER] = CCHECK_ORDER,
    [P2PC_EVCHECK_DUPLICATE] = CCHECK_DUPLICATE,
    [P2PC_EVCHECK_WRONG_DEST] = CCHECK_WRONG_DEST,
    [P2PC_EVCHECK_PAYLOAD] = CCHECK_PAYLOAD,
    [P2PC_EVCHECK_UNKNOWN] = CCHECK_UNKNOWN,
    [P2PC_EVCHECK_BAD_SEND] = CCHECK_BAD_SEND};

static void fill_result(const state *s, p2pc_evcheck_result *r) {
  memset(r, 0, sizeof *r);
  r->errors = s->errors;
  r->warnings = s->warnings;
  r->lines = s->lines;
  r->nodes = s->nodes;
  r->incarnations = s->nincs;
  r->crashed = s->crashed;
  r->msg_ids = s->nmsgs;
  r->messages = s->sends;
  r->self_sends = s->self_sends;
  r->deliver_lines = s->deliver_lines;
  r->delivered = s->delivered;
  r->dup_lines = s->dups;
  r->drop_lines = s->drops;
  r->undeliverable = s->undeliverable;
  r->lost_receiver = s->lost_receiver;
  r->lost_sender = s->lost_sender;
  r->unsettled = s->unsettled;
  r->expired = s->expired;
  r->expiry_lines = s->expiry_lines;
  if (!s->c)
    return;
  r->waited = s->nwaits;
  if (s->nwaits) {
    r->waited_p50_ns = percentile(s->waits, s->nwaits, 50);
    r->waited_p99_ns = percentile(s->waits, s->nwaits, 99);
    r->waited_max_ns = s->waits[s->nwaits - 1];
  }
  for (int k = 0; k <= P2PC_EVCHECK_BAD_SEND; k++)
    r->by_kind[k] = ccheck_count(s->c, from_checker[k]);
  r->by_kind[P2PC_EVCHECK_MISSING] = s->own_missing;
  r->by_kind[P2PC_EVCHECK_LOG] = s->own_log;
  r->by_kind[P2PC_EVCHECK_EXPIRED_EARLY] = s->own_early;
  r->by_kind[P2PC_EVCHECK_EXPIRED_DELIVERED] = s->own_exp_delivered;
  for (int k = 0; k < P2PC_EVCHECK_NKINDS; k++)
    r->violations += r->by_kind[k];
  /* The listing: the checker's first violation of each kind, then ours. */
  for (int k = 0; k <= P2PC_EVCHECK_BAD_SEND; k++) {
    const char *f = ccheck_first_of(s->c, from_checker[k]);
    if (f && r->nlisted < P2PC_EVCHECK_LISTED)
      r->listed[r->nlisted++] = f;
  }
  for (size_t i = 0; i < s->nlisted && r->nlisted < P2PC_EVCHECK_LISTED; i++)
    r->listed[r->nlisted++] = s->listed[i];
  const char *first = ccheck_first(s->c);
  if (first && ccheck_first_of(s->c, CCHECK_LIVENESS) == first)
    first = NULL; /* the checker's liveness verdict is not ours */
  r->first = first ? first : s->nlisted ? s->listed[0] : NULL;
}

/* ---- the API --------------------------------------------------------------
 */

p2pc_evcheck *p2pc_evcheck_new(void) {
  state *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  p2pc_idtab_init(&s->ids, p2pc_allocator_default(), MAX_INCS);
  s->limit = MAX_CELLS;
  s->tolerance_ns = P2PC_EVCHECK_EXPIRY_TOLERANCE_DEFAULT_NS;
  return s;
}

void p2pc_evcheck_free(p2pc_evcheck *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->nincs; i++) {
    free(s->incs[i].sesid);
    free(s->incs[i].node);
  }
  for (size_t i = 0; i < s->nstreams; i++)
    free(s->streams[i].name);
  for (size_t i = 0; i < s->nlisted; i++)
    free(s->listed[i]);
  ccheck_free(s->c);
  free(s->streams);
  free(s->buf);
  free(s->incs);
  p2pc_idtab_fini(&s->ids);
  free(s->msgs);
  free(s->mslots);
  free(s->recs);
  free(s->waits);
  free(s->exps);
  free(s);
}

void p2pc_evcheck_set_diag(p2pc_evcheck *s,
                           void (*fn)(void *ud, bool warning, const char *text),
                           void *ud) {
  s->diag = fn;
  s->diag_ud = ud;
}

int p2pc_evcheck_name(p2pc_evcheck *s, uint32_t stream, const char *name) {
  cursor *c = get_stream(s, stream);
  char *copy = c ? dupstr(s, name) : NULL;
  if (!copy)
    return -1;
  free(c->name);
  c->name = copy;
  return 0;
}

void p2pc_evcheck_set_limit(p2pc_evcheck *s, uint64_t max_cells) {
  s->limit = max_cells;
  s->limit_early = true;
  check_limit(s);
}

void p2pc_evcheck_set_expiry_tolerance(p2pc_evcheck *s, uint64_t ns) {
  s->tolerance_ns = ns < MAX_TOLERANCE_NS ? ns : MAX_TOLERANCE_NS;
}

void p2pc_evcheck_count_error(p2pc_evcheck *s) { s->errors++; }

void p2pc_evcheck_settle_mark(p2pc_evcheck *s) { s->settling = true; }

int p2pc_evcheck_line(p2pc_evcheck *s, uint32_t stream, const char *line,
                      size_t len) {
  return p2pc_evcheck_line_ex(s, stream, line, len, 0);
}

int p2pc_evcheck_line_ex(p2pc_evcheck *s, uint32_t stream, const char *line,
                         size_t len, unsigned flags) {
  if (s->finished || s->nomem)
    return P2PC_EVCHECK_LINE_NOMEM;
  cursor *c = get_stream(s, stream);
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
    input_error(s, stream, c->line, "line longer than %d bytes",
                P2PC_EVCHECK_LINE_MAX);
    rv = P2PC_EVCHECK_LINE_BAD;
  } else if (memchr(line, '\0', len)) {
    input_error(s, stream, c->line, "NUL byte in a line");
    rv = P2PC_EVCHECK_LINE_BAD;
  } else if (!blank(line, len)) {
    if (!grow(s, (void **)&s->buf, 1, len + 1, &s->capbuf))
      return P2PC_EVCHECK_LINE_NOMEM;
    memcpy(s->buf, line, len);
    s->raw = s->buf;
    cJSON *j = parse_object(s->buf, len);
    if (!j && (j = torn_start(s->buf, len, &s->raw)) != NULL)
      input_warning(s, stream, c->line,
                    "torn line before a restart's \"start\" skipped");
    if (j) {
      if (on_line(s, stream, j) < 0)
        rv = P2PC_EVCHECK_LINE_BAD;
      cJSON_Delete(j);
      check_limit(s);
    } else if (flags & P2PC_EVCHECK_UNTERMINATED) {
      input_warning(s, stream, c->line,
                    "torn last line skipped (the node killed while "
                    "writing it?)");
    } else {
      input_error(s, stream, c->line, "not a JSON object");
      rv = P2PC_EVCHECK_LINE_BAD;
    }
  }
  if (s->nomem)
    return P2PC_EVCHECK_LINE_NOMEM;
  return c->lost ? P2PC_EVCHECK_LINE_LOST : rv;
}

int p2pc_evcheck_finish(p2pc_evcheck *s, p2pc_evcheck_result *r) {
  int st;
  if (s->finished) {
    st = P2PC_EVCHECK_NOMEM; /* a second call: no verdict to give */
  } else if (s->nomem) {
    st = P2PC_EVCHECK_NOMEM;
  } else if (s->errors) {
    st = P2PC_EVCHECK_BADINPUT;
  } else if (s->nincs == 0) {
    st = P2PC_EVCHECK_EMPTY;
  } else if (s->too_large || (uint64_t)s->nincs * s->nmsgs > s->limit) {
    st = P2PC_EVCHECK_TOOLARGE;
  } else {
    st = P2PC_EVCHECK_CHECKED;
  }
  if (!s->finished) {
    s->finished = true;
    count_incs(s);
    if (st == P2PC_EVCHECK_CHECKED) {
      if (run_checker(s) < 0 || s->nomem)
        st = P2PC_EVCHECK_NOMEM;
      else if (s->nwaits)
        qsort(s->waits, s->nwaits, sizeof *s->waits, cmp_u64);
    }
  }
  fill_result(s, r);
  if (st != P2PC_EVCHECK_CHECKED) {
    /* No verdict: no violations either. */
    memset(r->by_kind, 0, sizeof r->by_kind);
    r->violations = 0;
    r->nlisted = 0;
    r->first = NULL;
  }
  return st;
}

const char *p2pc_evcheck_kind_name(p2pc_evcheck_kind k) {
  static const char *const names[P2PC_EVCHECK_NKINDS] = {
      "ORDER",         "DUPLICATE",        "WRONG_DEST", "PAYLOAD",
      "UNKNOWN",       "BAD_SEND",         "MISSING",    "LOG",
      "EXPIRED_EARLY", "EXPIRED_DELIVERED"};
  return k < P2PC_EVCHECK_NKINDS ? names[k] : "?";
}
