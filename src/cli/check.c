/* SPDX-License-Identifier: MIT */
/*
 * The check command of check.h, in two passes. The first reads every file
 * into compact records — the sends and deliveries of each incarnation, in
 * its order — and per-message facts (buffered, reported undeliverable),
 * because what excuses a message can be logged by another node, in a file
 * read later. The second feeds the records to the independent causal
 * checker in offline mode (which tolerates a delivery read before its
 * send), then decides for every message whether it was delivered, excused
 * or missing. The checker's own liveness verdict is not used: it knows
 * nothing of crashes and restarts.
 */
#include "check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "checker.h"
#include "idtab.h"

#define EXIT_OK 0
#define EXIT_VIOLATIONS 1
#define EXIT_BADINPUT 2

#define NONE UINT32_MAX
#define MAX_REPORTED 10 /* malformed lines and warnings printed */
#define MAX_LISTED 10   /* violations listed before the verdict */
#define MAX_INCS 4096   /* incarnations (the core's max_nodes) */
/* The checker keeps a vector per message: incarnations x messages cells. */
#define MAX_CELLS ((uint64_t)1 << 28)

static const char usage_text[] =
    "usage: p2pclock check [--json] FILE...\n"
    "\n"
    "Checks a run from its nodes' event logs (one FILE per node, every\n"
    "node of the run): causal delivery order, no duplicates, every message\n"
    "delivered once at its destination unless the sender reported it\n"
    "undeliverable or a crash excuses it. Prints a summary ending with\n"
    "`check: OK (...)` or `check: FAILED: N violations`; --json prints one\n"
    "JSON object instead.\n"
    "\n"
    "Exit status: 0 OK, 1 violations, 2 usage error or unreadable or\n"
    "malformed input.\n";

typedef struct inc {
  char *sesid;
  char *node; /* NULL while no file holds its log (only mentioned) */
  uint32_t file;
  unsigned long line; /* of its start */
  bool stopped;
  bool superseded; /* a later start of the same node follows in its file */
} inc;

typedef struct msgrec {
  uint32_t sender; /* incarnation */
  uint64_t n;
  uint32_t nsend;   /* send lines */
  uint32_t to;      /* destination of the first send, NONE if unsent */
  uint32_t ndeliv;  /* deliver lines anywhere */
  uint32_t at_dest; /* deliver lines at `to` */
  bool buffered;
  bool undeliverable;
  bool skip; /* left out of the order test (lost with its sender) */
} msgrec;

typedef struct rec {
  uint32_t inc; /* the incarnation whose line it is */
  uint32_t msg;
  uint32_t to; /* sends */
  bool is_send;
  uint64_t waited_ns; /* deliveries */
} rec;

typedef struct state {
  char *const *files;
  uint32_t nfiles;
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
  bool nomem;
  uint64_t errors, warnings;
  /* counts */
  uint64_t lines, sends, self_sends, deliver_lines, dups, drops;
  uint64_t delivered, waited, undeliverable, lost_receiver, lost_sender;
  uint64_t crashed, nodes;
  /* violations found here (the checker counts its own) */
  uint64_t own_missing, own_log;
  char *listed[MAX_LISTED];
  size_t nlisted;
} state;

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

static __attribute__((format(printf, 4, 5))) void
input_error(state *s, uint32_t file, unsigned long line, const char *fmt, ...) {
  if (s->errors++ >= MAX_REPORTED)
    return;
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  fprintf(stderr, "p2pclock check: %s:%lu: %s\n", s->files[file], line, text);
}

static __attribute__((format(printf, 4, 5))) void
input_warning(state *s, uint32_t file, unsigned long line, const char *fmt,
              ...) {
  if (s->warnings++ >= MAX_REPORTED)
    return;
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  fprintf(stderr, "p2pclock check: warning: %s:%lu: %s\n", s->files[file], line,
          text);
}

/* Keeps one violation line for the listing (the first MAX_LISTED). */
static __attribute__((format(printf, 2, 3))) void
list_violation(state *s, const char *fmt, ...) {
  if (s->nlisted >= MAX_LISTED)
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

/* ---- reading the logs ----------------------------------------------------
 */

/* Where the reading of one file is. */
typedef struct cursor {
  uint32_t file;
  unsigned long line;
  uint32_t inc; /* the current incarnation, NONE before the first start */
  bool lost;    /* a start line was refused: the rest would only cascade */
} cursor;

/* A string field, or NULL (missing or not a string). */
static const char *str_field(const cJSON *j, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Reports a missing or mistyped field; always returns -1. */
static int bad_field(state *s, const cursor *c, const char *ev, const char *key,
                     const char *want) {
  input_error(s, c->file, c->line, "\"%s\" line without %s \"%s\"", ev, want,
              key);
  return -1;
}

/* The incarnation of a causal identity named in a field; NONE after
 * reporting why not. */
static uint32_t sesid_field(state *s, const cursor *c, const char *ev,
                            const char *key, const char *val) {
  size_t n = strlen(val);
  if (!sesid_id_len(val, n)) {
    input_error(s, c->file, c->line,
                "\"%s\": \"%s\" must be a node ID or ID~TAG, got \"%.100s\"",
                ev, key, val);
    return NONE;
  }
  uint32_t i = intern_inc(s, val, n);
  if (i == NONE && !s->nomem)
    input_error(s, c->file, c->line, "more than %d incarnations", MAX_INCS);
  return i;
}

/* The message named by the "msg" field of an ev line ("<sesid>:<n>"). */
static uint32_t msg_field(state *s, const cursor *c, const char *ev,
                          const cJSON *j) {
  const char *id = str_field(j, "msg");
  if (!id) {
    bad_field(s, c, ev, "msg", "a string");
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
  if (!ok) {
    input_error(s, c->file, c->line,
                "\"%s\": \"msg\" must be \"<sesid>:<n>\" with n >= 1, got "
                "\"%.100s\"",
                ev, id);
    return NONE;
  }
  uint32_t sender = intern_inc(s, id, (size_t)(colon - id));
  if (sender == NONE) {
    if (!s->nomem)
      input_error(s, c->file, c->line, "more than %d incarnations", MAX_INCS);
    return NONE;
  }
  return intern_msg(s, sender, n);
}

static int on_start(state *s, cursor *c, const char *node, const cJSON *j) {
  const cJSON *sv = cJSON_GetObjectItemCaseSensitive(j, "sesid");
  const char *ses = node; /* a log without incarnations: the ID itself */
  if (sv) {
    if (!cJSON_IsString(sv))
      return bad_field(s, c, "start", "sesid", "a string");
    ses = sv->valuestring;
  }
  size_t idn = sesid_id_len(ses, strlen(ses));
  if (!idn || strlen(node) != idn || memcmp(node, ses, idn) != 0) {
    input_error(s, c->file, c->line,
                "\"start\": \"sesid\" must be \"%s\" or \"%s~TAG\", got "
                "\"%.100s\"",
                node, node, ses);
    return -1;
  }
  uint32_t i = sesid_field(s, c, "start", "sesid", ses);
  if (i == NONE)
    return -1;
  inc *in = &s->incs[i];
  if (in->node) {
    input_error(s, c->file, c->line,
                "incarnation %s already started at %s:%lu (the same log "
                "given twice?)",
                ses, s->files[in->file], in->line);
    return -1;
  }
  if (!(in->node = dupstr(s, node)))
    return -1;
  in->file = c->file;
  in->line = c->line;
  if (c->inc != NONE && strcmp(s->incs[c->inc].node, node) == 0)
    s->incs[c->inc].superseded = true;
  c->inc = i;
  return 0;
}

static int on_send(state *s, cursor *c, const cJSON *j) {
  uint32_t m = msg_field(s, c, "send", j);
  if (m == NONE)
    return -1;
  const char *to = str_field(j, "to");
  if (!to)
    return bad_field(s, c, "send", "to", "a string");
  uint32_t d = sesid_field(s, c, "send", "to", to);
  if (d == NONE)
    return -1;
  msgrec *mr = &s->msgs[m];
  if (mr->nsend++ == 0)
    mr->to = d;
  s->sends++;
  if (d == c->inc)
    s->self_sends++;
  return add_rec(s, c->inc, m, d, true, 0) ? 0 : -1;
}

static int on_deliver(state *s, cursor *c, const cJSON *j) {
  uint32_t m = msg_field(s, c, "deliver", j);
  if (m == NONE)
    return -1;
  uint64_t waited = 0;
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "waited_ns");
  if (w) {
    if (!cJSON_IsNumber(w) || w->valuedouble < 0 || w->valuedouble > 1e18)
      return bad_field(s, c, "deliver", "waited_ns", "a number of ns");
    waited = (uint64_t)w->valuedouble;
  }
  s->msgs[m].ndeliv++;
  s->deliver_lines++;
  return add_rec(s, c->inc, m, NONE, false, waited) ? 0 : -1;
}

/* One parsed line of file c->file. Returns 0, or -1 after reporting. */
static int on_line(state *s, cursor *c, const cJSON *j) {
  const char *node = str_field(j, "node");
  const char *ev = str_field(j, "ev");
  if (!ev) {
    input_error(s, c->file, c->line, "line without a string \"ev\"");
    return -1;
  }
  if (!node)
    return bad_field(s, c, ev, "node", "a string");
  if (!p2pc_node_id_valid(node, strlen(node))) {
    input_error(s, c->file, c->line,
                "\"node\" must be 1..64 of [A-Za-z0-9._-], got \"%.100s\"",
                node);
    return -1;
  }
  static const char *const times[] = {"mono", "local", "net"};
  for (size_t i = 0; i < 3; i++)
    if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, times[i])))
      return bad_field(s, c, ev, times[i], "a number");

  if (strcmp(ev, "start") == 0) {
    int rv = on_start(s, c, node, j);
    c->lost = rv < 0;
    return rv;
  }
  if (c->inc == NONE) {
    input_error(s, c->file, c->line, "\"%s\" before the first \"start\" line",
                ev);
    return -1;
  }
  inc *in = &s->incs[c->inc];
  if (strcmp(node, in->node) != 0) {
    input_error(s, c->file, c->line,
                "a line of node \"%s\" in the log of %s (started at line %lu)",
                node, in->sesid, in->line);
    return -1;
  }
  if (in->stopped) {
    s->own_log++;
    list_violation(s, "LOG: %s:%lu: \"%.40s\" after the \"stop\" of %s",
                   s->files[c->file], c->line, ev, in->sesid);
  }
  if (strcmp(ev, "stop") == 0) {
    in->stopped = true;
    return 0;
  }
  if (strcmp(ev, "send") == 0)
    return on_send(s, c, j);
  if (strcmp(ev, "deliver") == 0)
    return on_deliver(s, c, j);
  bool is_buffer = strcmp(ev, "buffer") == 0;
  bool is_undeliv = strcmp(ev, "undeliverable") == 0;
  if (strcmp(ev, "dup") == 0)
    s->dups++;
  else if (strcmp(ev, "drop") == 0)
    s->drops++;
  else if (!is_buffer && !is_undeliv)
    return 0; /* recv, peer and clock events: not needed */
  uint32_t m = msg_field(s, c, ev, j);
  if (m == NONE)
    return -1;
  if (is_buffer)
    s->msgs[m].buffered = true;
  if (is_undeliv)
    s->msgs[m].undeliverable = true;
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
static cJSON *torn_start(char *buf, size_t len) {
  static const char key[] = "{\"node\":";
  const char *last = NULL;
  for (const char *p = buf + 1; (p = strstr(p, key)) != NULL; p++)
    last = p;
  if (!last)
    return NULL;
  cJSON *j = parse_object((char *)last, len - (size_t)(last - buf));
  const char *ev = j ? str_field(j, "ev") : NULL;
  if (ev && strcmp(ev, "start") == 0)
    return j;
  cJSON_Delete(j);
  return NULL;
}

static bool blank(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
      return false;
  return true;
}

/* Reads file number fi. Returns 0, or -1 if it could not be read (lines
 * with errors are counted in s->errors and reading goes on). */
static int read_file(state *s, uint32_t fi, char *buf) {
  const char *path = s->files[fi];
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  if (!f) {
    fprintf(stderr, "p2pclock check: %s: cannot open: %s\n", path,
            strerror(errno));
    s->errors++;
    return -1;
  }
  cursor c = {.file = fi, .line = 0, .inc = NONE};
  int rv = 0;
  for (;;) {
    size_t len = 0;
    bool too_long = false, nul = false, newline = false;
    int ch;
    while ((ch = getc(f)) != EOF && ch != '\n') {
      if (ch == '\0')
        nul = true;
      if (len < P2PC_CHECK_LINE_MAX)
        buf[len++] = (char)ch;
      else
        too_long = true;
    }
    newline = ch == '\n';
    if (ch == EOF && ferror(f)) {
      fprintf(stderr, "p2pclock check: %s: cannot read: %s\n", path,
              strerror(errno));
      s->errors++;
      rv = -1;
      break;
    }
    if (ch == EOF && len == 0 && !too_long)
      break;
    c.line++;
    s->lines++;
    if (too_long) {
      input_error(s, fi, c.line, "line longer than %d bytes",
                  P2PC_CHECK_LINE_MAX);
    } else if (nul) {
      input_error(s, fi, c.line, "NUL byte in a line");
    } else if (!blank(buf, len)) {
      cJSON *j = parse_object(buf, len);
      if (!j && (j = torn_start(buf, len)) != NULL)
        input_warning(s, fi, c.line,
                      "torn line before a restart's \"start\" skipped");
      if (j) {
        on_line(s, &c, j);
        cJSON_Delete(j);
      } else if (!newline) {
        input_warning(s, fi, c.line,
                      "torn last line skipped (the node killed while "
                      "writing it?)");
      } else {
        input_error(s, fi, c.line, "not a JSON object");
      }
    }
    if (s->nomem || !newline)
      break;
    if (c.lost) {
      fprintf(stderr, "p2pclock check: %s: the rest of the file skipped\n",
              path);
      break;
    }
  }
  if (f != stdin)
    fclose(f);
  else
    clearerr(stdin);
  return rv;
}

/* ---- the verdict ---------------------------------------------------------
 */

static bool crashed(const inc *in) { return in->node && !in->stopped; }

/* Feeds the records to the checker; fills the counts and the waits. */
static int run_checker(state *s, ccheck **out) {
  const char **names = malloc(s->nincs * sizeof *names);
  if (!names) {
    s->nomem = true;
    return -1;
  }
  for (size_t i = 0; i < s->nincs; i++)
    names[i] = s->incs[i].sesid;
  ccheck *c = ccheck_new((uint32_t)s->nincs, names, CCHECK_OFFLINE);
  free(names);
  *out = c;

  /* A message never delivered anywhere whose sender crashed or restarted
   * may have died with it; SES then releases its causal successors by
   * design (PROTOCOL.md, "Retiring an identity"), so it is not a
   * predecessor that must come first. */
  for (size_t i = 0; i < s->nmsgs; i++) {
    msgrec *m = &s->msgs[i];
    const inc *snd = &s->incs[m->sender];
    m->skip = m->ndeliv == 0 && (crashed(snd) || snd->superseded);
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
    if (m->to != NONE && r->inc == m->to && m->at_dest++ == 0 && m->buffered) {
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
    } else if (m->undeliverable && (dst->superseded || crashed(dst))) {
      s->undeliverable++;
    } else if (crashed(dst)) {
      s->lost_receiver++;
    } else if (crashed(snd) || snd->superseded) {
      s->lost_sender++;
    } else if (!dst->node) {
      s->own_log++;
      list_violation(s,
                     "LOG: %s:%" PRIu64 " was sent to %s, whose log is "
                     "not among the files",
                     snd->sesid, m->n, dst->sesid);
    } else {
      s->own_missing++;
      list_violation(s, "MISSING: %s:%" PRIu64 " (to %s) was never delivered%s",
                     snd->sesid, m->n, dst->sesid,
                     m->undeliverable ? " (reported undeliverable, but its "
                                        "destination never restarted)"
                                      : "");
    }
  }
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
  return 0;
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

static void fmt_ns(char *out, size_t n, uint64_t ns) {
  if (ns < 1000)
    snprintf(out, n, "%" PRIu64 " ns", ns);
  else if (ns < 1000000)
    snprintf(out, n, "%.1f us", (double)ns / 1e3);
  else if (ns < 1000000000)
    snprintf(out, n, "%.1f ms", (double)ns / 1e6);
  else
    snprintf(out, n, "%.2f s", (double)ns / 1e9);
}

/* The violations the checker counted (its LIVENESS is replaced by ours). */
static uint64_t checker_violations(const ccheck *c) {
  uint64_t t = 0;
  for (int k = 0; k < CCHECK_NKINDS; k++)
    if (k != CCHECK_LIVENESS)
      t += ccheck_count(c, (ccheck_kind)k);
  return t;
}

/* The listing: the checker's first violation of each kind, then ours. */
static size_t collect_listed(const state *s, const ccheck *c,
                             const char **out) {
  size_t n = 0;
  for (int k = 0; k < CCHECK_NKINDS && n < MAX_LISTED; k++)
    if (k != CCHECK_LIVENESS && ccheck_first_of(c, (ccheck_kind)k))
      out[n++] = ccheck_first_of(c, (ccheck_kind)k);
  for (size_t i = 0; i < s->nlisted && n < MAX_LISTED; i++)
    out[n++] = s->listed[i];
  return n;
}

static void print_human(const state *s, const ccheck *c, uint64_t total,
                        uint64_t p50, uint64_t p99, uint64_t pmax) {
  printf("check: %" PRIu32 " logs, %" PRIu64
         " nodes, %zu incarnations (%" PRIu64 " crashed), %" PRIu64 " lines\n",
         s->nfiles, s->nodes, s->nincs, s->crashed, s->lines);
  printf("check: %" PRIu64 " messages sent (%" PRIu64 " to self), %" PRIu64
         " delivered",
         s->sends, s->self_sends, s->delivered);
  if (s->nwaits) {
    char a[32], b[32], m[32];
    fmt_ns(a, sizeof a, p50);
    fmt_ns(b, sizeof b, p99);
    fmt_ns(m, sizeof m, pmax);
    printf("; %zu waited in a buffer: p50 %s, p99 %s, max %s\n", s->nwaits, a,
           b, m);
  } else {
    printf("; none waited in a buffer\n");
  }
  printf("check: %" PRIu64 " duplicates dropped, %" PRIu64 " drops, %" PRIu64
         " undeliverable, %" PRIu64 " lost with a crashed receiver, %" PRIu64
         " lost with a crashed or restarted sender\n",
         s->dups, s->drops, s->undeliverable, s->lost_receiver, s->lost_sender);
  if (total == 0) {
    printf("check: OK (%" PRIu64 " messages, %" PRIu64 " delivered, %" PRIu64
           " excused)\n",
           s->sends, s->delivered,
           s->undeliverable + s->lost_receiver + s->lost_sender);
    return;
  }
  const char *listed[MAX_LISTED];
  size_t n = collect_listed(s, c, listed);
  for (size_t i = 0; i < n; i++)
    printf("  %s\n", listed[i]);
  printf("check: FAILED: %" PRIu64 " violations\n", total);
}

static bool add_num(cJSON *o, const char *key, double v) {
  return cJSON_AddNumberToObject(o, key, v) != NULL;
}

static int print_json(const state *s, const ccheck *c, uint64_t total,
                      uint64_t p50, uint64_t p99, uint64_t pmax) {
  cJSON *o = cJSON_CreateObject();
  cJSON *w = NULL, *kinds = NULL, *list = NULL;
  bool ok = o && cJSON_AddBoolToObject(o, "ok", total == 0) &&
            add_num(o, "files", s->nfiles) && add_num(o, "nodes", s->nodes) &&
            add_num(o, "incarnations", (double)s->nincs) &&
            add_num(o, "crashed", s->crashed) &&
            add_num(o, "lines", s->lines) && add_num(o, "messages", s->sends) &&
            add_num(o, "self_sends", s->self_sends) &&
            add_num(o, "delivered", s->delivered) &&
            add_num(o, "waited", (double)s->nwaits) &&
            (w = cJSON_AddObjectToObject(o, "waited_ns")) &&
            add_num(w, "p50", (double)p50) && add_num(w, "p99", (double)p99) &&
            add_num(w, "max", (double)pmax) &&
            add_num(o, "duplicates", s->dups) &&
            add_num(o, "drops", s->drops) &&
            add_num(o, "undeliverable", s->undeliverable) &&
            add_num(o, "lost_crashed_receiver", s->lost_receiver) &&
            add_num(o, "lost_crashed_sender", s->lost_sender) &&
            add_num(o, "violations", (double)total) &&
            (kinds = cJSON_AddObjectToObject(o, "by_kind")) &&
            (list = cJSON_AddArrayToObject(o, "first_violations")) &&
            add_num(o, "warnings", s->warnings);
  for (int k = 0; ok && k < CCHECK_NKINDS; k++)
    if (k != CCHECK_LIVENESS)
      ok = add_num(kinds, ccheck_kind_name((ccheck_kind)k),
                   (double)ccheck_count(c, (ccheck_kind)k));
  ok = ok && add_num(kinds, "MISSING", s->own_missing) &&
       add_num(kinds, "LOG", s->own_log);
  const char *listed[MAX_LISTED];
  size_t n = ok ? collect_listed(s, c, listed) : 0;
  for (size_t i = 0; ok && i < n; i++) {
    cJSON *str = cJSON_CreateString(listed[i]);
    ok = str && cJSON_AddItemToArray(list, str);
  }
  char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!text)
    return -1;
  printf("%s\n", text);
  free(text);
  return 0;
}

static void state_fini(state *s) {
  for (size_t i = 0; i < s->nincs; i++) {
    free(s->incs[i].sesid);
    free(s->incs[i].node);
  }
  for (size_t i = 0; i < s->nlisted; i++)
    free(s->listed[i]);
  free(s->incs);
  p2pc_idtab_fini(&s->ids);
  free(s->msgs);
  free(s->mslots);
  free(s->recs);
  free(s->waits);
}

static int check_files(state *s, bool json) {
  char *buf = malloc(P2PC_CHECK_LINE_MAX + 1);
  if (!buf) {
    fprintf(stderr, "p2pclock check: out of memory\n");
    return EXIT_BADINPUT;
  }
  for (uint32_t i = 0; i < s->nfiles && !s->nomem; i++)
    read_file(s, i, buf);
  free(buf);
  if (s->nomem) {
    fprintf(stderr, "p2pclock check: out of memory\n");
    return EXIT_BADINPUT;
  }
  if (s->errors) {
    if (s->errors > MAX_REPORTED)
      fprintf(stderr, "p2pclock check: ... %" PRIu64 " errors in all\n",
              s->errors);
    fprintf(stderr, "p2pclock check: bad input, nothing checked\n");
    return EXIT_BADINPUT;
  }
  if (s->nincs == 0) {
    fprintf(stderr, "p2pclock check: no \"start\" line in any file\n");
    return EXIT_BADINPUT;
  }
  if ((uint64_t)s->nincs * s->nmsgs > MAX_CELLS) {
    fprintf(stderr,
            "p2pclock check: too large to check (%zu incarnations x %zu "
            "messages)\n",
            s->nincs, s->nmsgs);
    return EXIT_BADINPUT;
  }
  ccheck *c = NULL;
  int rv = run_checker(s, &c);
  uint64_t total = checker_violations(c) + s->own_missing + s->own_log;
  uint64_t p50 = 0, p99 = 0, pmax = 0;
  if (rv == 0 && s->nwaits) {
    qsort(s->waits, s->nwaits, sizeof *s->waits, cmp_u64);
    p50 = percentile(s->waits, s->nwaits, 50);
    p99 = percentile(s->waits, s->nwaits, 99);
    pmax = s->waits[s->nwaits - 1];
  }
  if (rv == 0 && s->nomem)
    rv = -1;
  if (rv == 0) {
    if (json)
      rv = print_json(s, c, total, p50, p99, pmax);
    else
      print_human(s, c, total, p50, p99, pmax);
  }
  ccheck_free(c);
  if (rv < 0) {
    fprintf(stderr, "p2pclock check: out of memory\n");
    return EXIT_BADINPUT;
  }
  if (fflush(stdout) != 0) {
    fprintf(stderr, "p2pclock check: cannot write: %s\n", strerror(errno));
    return EXIT_BADINPUT;
  }
  return total ? EXIT_VIOLATIONS : EXIT_OK;
}

int p2pc_cli_check(int argc, char **argv) {
  bool json = false, options = true;
  int nfiles = 0;
  /* Options may come before or after the files, up to a "--". The files
   * are gathered at the front of argv. */
  for (int i = 0; i < argc; i++) {
    char *a = argv[i];
    if (options && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
      fputs(usage_text, stdout);
      return fflush(stdout) == 0 ? EXIT_OK : EXIT_BADINPUT;
    }
    if (options && strcmp(a, "--json") == 0) {
      json = true;
    } else if (options && strcmp(a, "--") == 0) {
      options = false;
    } else if (options && a[0] == '-' && a[1]) {
      fprintf(stderr,
              "p2pclock check: unknown option \"%s\" (try p2pclock check "
              "--help)\n",
              a);
      return EXIT_BADINPUT;
    } else {
      argv[nfiles++] = a;
    }
  }
  if (nfiles == 0) {
    fprintf(stderr, "p2pclock check: no log files given (try p2pclock check "
                    "--help)\n");
    return EXIT_BADINPUT;
  }
  state s;
  memset(&s, 0, sizeof s);
  p2pc_idtab_init(&s.ids, p2pc_allocator_default(), MAX_INCS);
  s.files = argv;
  s.nfiles = (uint32_t)nfiles;
  int rv = check_files(&s, json);
  state_fini(&s);
  return rv;
}
