/* SPDX-License-Identifier: MIT */
/*
 * A setting's value, checked once by its row's type and range (options.h)
 * whether it comes from the config file or from a flag, stored in the
 * config, and written back as JSON for the echo. Also the pieces of every
 * error message: the value as written, and the "did you mean" guess.
 */
#include "optvalue.h"

#include "causal.h"
#include "parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_ID "must be 1..64 characters of [A-Za-z0-9._-]"
/* What is wrong with a HOST; each reads after "HOST" or a key. */
#define MSG_HOST_EMPTY "must be an IP address or a host name, not empty"
#define MSG_HOST_CHARS                                                         \
  "must be an IP address or a host name of letters, digits, '-' and '.'"
#define MSG_HOST_V6 "with a ':' must be an IPv6 address"
#define MSG_HOST_LONG "must be at most 253 characters"
#define MSG_HOST_LABEL "must be labels of 1..63 characters between dots"
#define MSG_HOST_HYPHEN "must not start or end a label with '-'"
#define MSG_HOST_NUMERIC                                                       \
  "must be a valid IPv4 address (a host name cannot end in a label of "        \
  "digits only)"
#define MSG_PORT "must be an integer 1..65535"
#define PEER_SHAPE "{\"nodeID\", \"nodeIP\", \"nodePort\"}"

/* ---- messages ------------------------------------------------------------ */

void p2pc__err_set(p2pc__err *e, const char *fmt, ...) {
  if (!e->buf || e->len == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->buf, e->len, fmt, ap);
  va_end(ap);
}

static void shorten(const char *s, char *out, size_t n) {
  size_t len = strlen(s);
  if (len <= P2PC__VALUE_SHOWN_MAX) {
    snprintf(out, n, "%s", s);
    return;
  }
  len = P2PC__VALUE_SHOWN_MAX;
  while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
    len--; /* do not cut a UTF-8 sequence */
  snprintf(out, n, "%.*s...", (int)len, s);
}

void p2pc__show_json(const cJSON *v, char *out, size_t n) {
  char *s = cJSON_PrintUnformatted(v);
  shorten(s ? s : "(out of memory)", out, n);
  cJSON_free(s);
}

void p2pc__show_string(const char *raw, char *out, size_t n) {
  cJSON *tmp = cJSON_CreateString(raw);
  if (!tmp) {
    shorten("(out of memory)", out, n);
    return;
  }
  p2pc__show_json(tmp, out, n);
  cJSON_Delete(tmp);
}

/* Case-insensitive Levenshtein distance, or SIZE_MAX for long strings. */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  size_t row[P2PC_ID_MAX + 1];
  if (la > P2PC_ID_MAX || lb > P2PC_ID_MAX)
    return SIZE_MAX;
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost =
          tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1])
              ? 0
              : 1;
      size_t best = diag + cost;
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *p2pc__suggest(const char *s,
                          const char *(*name)(const void *ctx, size_t i),
                          const void *ctx, size_t n) {
  const char *best = NULL;
  size_t best_d = 3; /* up to two edits */
  for (size_t i = 0; i < n; i++) {
    const char *cand = name(ctx, i);
    size_t d = cand ? edit_distance(s, cand) : SIZE_MAX;
    if (d < best_d) {
      best_d = d;
      best = cand;
    }
  }
  return best;
}

/* ---- HOST ----------------------------------------------------------------
 * An IPv4 or IPv6 literal, or a host name as RFC 1123 writes them (labels
 * of 1..63 letters, digits and '-' between dots, no label starting or
 * ending with '-', 253 characters in all). The last label must not be
 * digits only (RFC 3696, 2): then a mistyped address such as 10.0.0.256 is
 * refused here, not sent to the resolver, which would read "10.1" as
 * 10.0.0.1. Names are resolved by the runtime, not here: a config is
 * checked the same wherever it is read. */

const char *p2pc__host_problem(const char *s) {
  unsigned char addr[16];
  if (inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1)
    return NULL;
  if (!s[0])
    return MSG_HOST_EMPTY;
  if (strchr(s, ':'))
    return MSG_HOST_V6;
  if (strlen(s) > P2PC_CLI_HOST_MAX)
    return MSG_HOST_LONG;
  size_t label = 0;
  bool digits = true; /* the current label is digits only */
  for (const char *p = s;; p++) {
    char ch = *p;
    if (ch == '.' || ch == '\0') {
      if (label == 0)
        return MSG_HOST_LABEL;
      if (p[-1] == '-')
        return MSG_HOST_HYPHEN;
      if (ch == '\0')
        break;
      label = 0;
      digits = true;
      continue;
    }
    bool digit = ch >= '0' && ch <= '9';
    if (!digit && !(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
        ch != '-')
      return MSG_HOST_CHARS;
    if (label == 0 && ch == '-')
      return MSG_HOST_HYPHEN;
    if (++label > 63)
      return MSG_HOST_LABEL;
    digits = digits && digit;
  }
  return digits ? MSG_HOST_NUMERIC : NULL;
}

/* "[ID@]HOST:PORT" or "HOST:PORT" (shape) into host and *port; NULL, or
 * what is wrong (in msg if it must be composed). */
static const char *split_hostport(const char *s, const char *shape, char *host,
                                  size_t hostn, uint16_t *port, char *msg,
                                  size_t msgn) {
  p2pc_hostport_err rc = p2pc_parse_hostport(s, host, hostn, port);
  switch (rc) {
  case P2PC_HOSTPORT_OK:
  case P2PC_HOSTPORT_PORT:
    break;
  case P2PC_HOSTPORT_SHAPE:
    snprintf(msg, msgn, "must be %s (an IPv6 HOST in brackets)", shape);
    return msg;
  case P2PC_HOSTPORT_HOST_LONG:
    return "HOST " MSG_HOST_LONG;
  case P2PC_HOSTPORT_NOT_V6:
    return "HOST in brackets must be an IPv6 address";
  }
  const char *why = p2pc__host_problem(host); /* a bad HOST first */
  if (why) {
    snprintf(msg, msgn, "HOST %s", why);
    return msg;
  }
  return rc == P2PC_HOSTPORT_PORT ? "PORT " MSG_PORT : NULL;
}

/* ---- fields -------------------------------------------------------------- */

static void *field(p2pc_cli_config *cfg, const p2pc_cli_option *o) {
  return (char *)cfg + o->offset;
}

static const void *cfield(const p2pc_cli_config *cfg,
                          const p2pc_cli_option *o) {
  return (const char *)cfg + o->offset;
}

/* An integer field of 1, 2 or 4 bytes (enums and int are 4), signed iff
 * its range goes below 0 or it holds an enum's index. */
static bool int_signed(const p2pc_cli_option *o) {
  return o->lo < 0 || o->type == P2PC_CLI_OPT_ENUM;
}

static void store_int(p2pc_cli_config *cfg, const p2pc_cli_option *o,
                      int64_t v) {
  void *f = field(cfg, o);
  bool s = int_signed(o);
  if (o->size == 1 && s)
    *(int8_t *)f = (int8_t)v;
  else if (o->size == 1)
    *(uint8_t *)f = (uint8_t)v;
  else if (o->size == 2)
    *(uint16_t *)f = (uint16_t)v;
  else if (s)
    *(int32_t *)f = (int32_t)v;
  else
    *(uint32_t *)f = (uint32_t)v;
}

static int64_t load_int(const p2pc_cli_config *cfg, const p2pc_cli_option *o) {
  const void *f = cfield(cfg, o);
  bool s = int_signed(o);
  if (o->size == 1 && s)
    return *(const int8_t *)f;
  if (o->size == 1)
    return *(const uint8_t *)f;
  if (o->size == 2)
    return *(const uint16_t *)f;
  if (s)
    return *(const int32_t *)f;
  return *(const uint32_t *)f;
}

static void copy_str(p2pc_cli_config *cfg, const p2pc_cli_option *o,
                     const char *s) {
  snprintf(field(cfg, o), o->size, "%s", s);
}

static int find_name(const p2pc_cli_option *o, const char *s) {
  for (int i = 0; o->names[i]; i++)
    if (strcmp(s, o->names[i]) == 0)
      return i;
  return -1;
}

static bool range_ok(const p2pc_cli_option *o, double x) {
  if (o->flags & P2PC_CLI_OPT_HI_OPEN)
    return x >= o->lo && x < o->hi;
  return x >= o->lo && x <= o->hi;
}

static bool path_ok(const p2pc_cli_option *o, const char *s) {
  size_t len = strlen(s);
  return len > 0 && len <= (size_t)o->hi;
}

/* "MIN:MAX" with 0 <= MIN <= MAX <= hi, into the row's two fields. */
static bool parse_range_ms(p2pc_cli_config *cfg, const p2pc_cli_option *o,
                           const char *s) {
  const char *colon = strchr(s, ':');
  uint64_t lo, hi;
  if (!colon ||
      !p2pc_parse_u64(s, (size_t)(colon - s), 0, (uint64_t)o->hi, &lo) ||
      !p2pc_parse_u64(colon + 1, strlen(colon + 1), 0, (uint64_t)o->hi, &hi) ||
      lo > hi)
    return false;
  uint32_t v[2] = {(uint32_t)lo, (uint32_t)hi};
  memcpy(field(cfg, o), v, sizeof v);
  return true;
}

static void store_seconds(p2pc_cli_config *cfg, const p2pc_cli_option *o,
                          double s) {
  uint64_t ns = (uint64_t)(s * 1e9 + 0.5);
  memcpy(field(cfg, o), &ns, sizeof ns);
}

static void store_lifetime(p2pc_cli_config *cfg, const p2pc_cli_option *o,
                           double s) {
  uint64_t ns = s < 0 ? P2PC_CAUSAL_LIFETIME_INF : (uint64_t)(s * 1e9 + 0.5);
  memcpy(field(cfg, o), &ns, sizeof ns);
}

/* Book-keeping after any value is stored; src 1 is the file, 2 a flag. */
static void stored(p2pc_cli_config *cfg, const p2pc_cli_option *o,
                   uint8_t src) {
  if (o->flags & P2PC_CLI_OPT_VCLOCK)
    cfg->vclock = true;
  if (o->flags & P2PC_CLI_OPT_POLL_MIN)
    cfg->poll_min_src = src;
  if (o->flags & P2PC_CLI_OPT_POLL_MAX)
    cfg->poll_max_src = src;
}

static int add_peer(p2pc_cli_config *cfg, const p2pc_cli_peer *p) {
  if (cfg->npeers == cfg->peers_cap) {
    size_t cap = cfg->peers_cap ? cfg->peers_cap * 2 : 16;
    if (cap > P2PC_CLI_PEERS_MAX)
      cap = P2PC_CLI_PEERS_MAX;
    if (cap <= cfg->npeers)
      return P2PC_ERR_FULL;
    p2pc_cli_peer *np = realloc(cfg->peers, cap * sizeof *np);
    if (!np)
      return P2PC_ERR_NOMEM;
    cfg->peers = np;
    cfg->peers_cap = cap;
  }
  cfg->peers[cfg->npeers++] = *p;
  return 0;
}

/* ---- from the config file ------------------------------------------------ */

static int bad_key(const char *path, const char *key, const char *what,
                   const cJSON *v, p2pc__err *e) {
  char shown[P2PC__VALUE_BUF];
  p2pc__show_json(v, shown, sizeof shown);
  p2pc__err_set(e, "%s: \"%s\" %s, got %s", path, key, what, shown);
  return P2PC_ERR_INVAL;
}

static const char *str_value(const cJSON *v) {
  return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* An integral JSON number in lo..hi: 9000 and 9e3, not 9000.5 or "9000". */
static bool int_value(const cJSON *v, double lo, double hi, int64_t *out) {
  if (!cJSON_IsNumber(v))
    return false;
  double d = v->valuedouble;
  if (!(d >= lo && d <= hi) || floor(d) != d)
    return false;
  *out = (int64_t)d;
  return true;
}

static const char *const peer_keys[] = {"nodeID", "nodeIP", "nodePort"};

static const char *peer_key(const void *ctx, size_t i) {
  (void)ctx;
  return peer_keys[i];
}

static int peer_from_json(p2pc_cli_config *cfg, const char *path, int i,
                          const cJSON *obj, p2pc__err *e) {
  const char *const *keys = peer_keys;
  char key[64];
  p2pc_cli_peer p;
  bool seen[3] = {false, false, false};
  memset(&p, 0, sizeof p);
  snprintf(key, sizeof key, "connectTo[%d]", i);
  if (!cJSON_IsObject(obj))
    return bad_key(path, key, "must be an object " PEER_SHAPE, obj, e);
  for (const cJSON *v = obj->child; v; v = v->next) {
    size_t k = 0;
    while (k < 3 && strcmp(v->string, keys[k]) != 0)
      k++;
    snprintf(key, sizeof key, "connectTo[%d].%.*s", i, 32, v->string);
    if (k == 3) {
      const char *near = p2pc__suggest(v->string, peer_key, NULL, 3);
      char shown[P2PC__VALUE_BUF];
      p2pc__show_string(v->string, shown, sizeof shown);
      if (near)
        p2pc__err_set(e,
                      "%s: \"connectTo[%d]\" has unknown key %s (did you "
                      "mean \"%s\"?)",
                      path, i, shown, near);
      else
        p2pc__err_set(e, "%s: \"connectTo[%d]\" has unknown key %s", path, i,
                      shown);
      return P2PC_ERR_INVAL;
    }
    if (seen[k]) {
      p2pc__err_set(e, "%s: \"%s\" appears twice", path, key);
      return P2PC_ERR_INVAL;
    }
    seen[k] = true;
    const char *s = str_value(v);
    const char *why;
    int64_t port;
    if (k == 0) {
      if (!s || !p2pc_id_valid(s, strlen(s)))
        return bad_key(path, key, MSG_ID, v, e);
      snprintf(p.id, sizeof p.id, "%s", s);
    } else if (k == 1) {
      if ((why = s ? p2pc__host_problem(s) : MSG_HOST_CHARS) != NULL)
        return bad_key(path, key, why, v, e);
      snprintf(p.host, sizeof p.host, "%s", s);
    } else {
      if (!int_value(v, 1, 65535, &port))
        return bad_key(path, key, MSG_PORT, v, e);
      p.port = (uint16_t)port;
    }
  }
  for (size_t k = 1; k < 3; k++) {
    if (!seen[k]) {
      p2pc__err_set(e, "%s: \"connectTo[%d].%s\" is required", path, i,
                    keys[k]);
      return P2PC_ERR_INVAL;
    }
  }
  return add_peer(cfg, &p);
}

static int peers_from_json(p2pc_cli_config *cfg, const p2pc_cli_option *o,
                           const cJSON *v, const char *path, p2pc__err *e) {
  if (!cJSON_IsArray(v))
    return bad_key(path, o->key, "must be an array of " PEER_SHAPE " objects",
                   v, e);
  int n = cJSON_GetArraySize(v);
  if (n > P2PC_CLI_PEERS_MAX) {
    p2pc__err_set(e, "%s: \"%s\" must have at most %d entries, got %d", path,
                  o->key, P2PC_CLI_PEERS_MAX, n);
    return P2PC_ERR_INVAL;
  }
  int i = 0;
  for (const cJSON *it = v->child; it; it = it->next, i++) {
    int rc = peer_from_json(cfg, path, i, it, e);
    if (rc < 0) {
      if (rc == P2PC_ERR_NOMEM)
        p2pc__err_set(e, "%s: out of memory", path);
      return rc;
    }
  }
  return 0;
}

int p2pc__opt_from_json(p2pc_cli_config *cfg, const p2pc_cli_option *o,
                        const cJSON *v, const char *path, p2pc__err *e) {
  const char *s = str_value(v);
  const char *what = o->must;
  int64_t n;
  int k;
  switch (o->type) {
  case P2PC_CLI_OPT_ID:
    if (!s || !p2pc_id_valid(s, strlen(s)))
      return bad_key(path, o->key, what, v, e);
    copy_str(cfg, o, s);
    break;
  case P2PC_CLI_OPT_HOST:
    if ((what = s ? p2pc__host_problem(s) : MSG_HOST_CHARS) != NULL)
      return bad_key(path, o->key, what, v, e);
    copy_str(cfg, o, s);
    break;
  case P2PC_CLI_OPT_UINT:
  case P2PC_CLI_OPT_INT:
    if (!int_value(v, o->lo, o->hi, &n))
      return bad_key(path, o->key, what, v, e);
    store_int(cfg, o, n);
    break;
  case P2PC_CLI_OPT_DOUBLE:
    if (!cJSON_IsNumber(v) || !range_ok(o, v->valuedouble))
      return bad_key(path, o->key, what, v, e);
    memcpy(field(cfg, o), &v->valuedouble, sizeof(double));
    break;
  case P2PC_CLI_OPT_BOOL:
    if (!cJSON_IsBool(v))
      return bad_key(path, o->key, what, v, e);
    *(bool *)field(cfg, o) = cJSON_IsTrue(v);
    break;
  case P2PC_CLI_OPT_ENUM:
    if (!s || (k = find_name(o, s)) < 0)
      return bad_key(path, o->key, what, v, e);
    store_int(cfg, o, k);
    break;
  case P2PC_CLI_OPT_PATH:
    if (!s || !path_ok(o, s))
      return bad_key(path, o->key, what, v, e);
    copy_str(cfg, o, s);
    break;
  case P2PC_CLI_OPT_LIFETIME:
    if (s && strcmp(s, "inf") == 0)
      store_lifetime(cfg, o, -1);
    else if (cJSON_IsNumber(v) && range_ok(o, v->valuedouble))
      store_lifetime(cfg, o, v->valuedouble);
    else
      return bad_key(path, o->key, what, v, e);
    break;
  case P2PC_CLI_OPT_SECONDS:
    if (!cJSON_IsNumber(v) || !range_ok(o, v->valuedouble))
      return bad_key(path, o->key, what, v, e);
    store_seconds(cfg, o, v->valuedouble);
    break;
  case P2PC_CLI_OPT_RANGE_MS:
    if (!s || !parse_range_ms(cfg, o, s))
      return bad_key(path, o->key, what, v, e);
    break;
  case P2PC_CLI_OPT_PEERS:
    return peers_from_json(cfg, o, v, path, e);
  case P2PC_CLI_OPT_LISTEN: /* flags only: no key */
  case P2PC_CLI_OPT_FILE:
  case P2PC_CLI_OPT_ACTION:
    return bad_key(path, o->key ? o->key : "?", "is not a setting", v, e);
  }
  stored(cfg, o, 1);
  return 0;
}

/* ---- from a flag --------------------------------------------------------- */

static int bad_flag(const p2pc_cli_option *o, const char *what,
                    const char *value, p2pc__err *e) {
  char shown[P2PC__VALUE_BUF];
  p2pc__show_string(value, shown, sizeof shown);
  p2pc__err_set(e, "--%s: %s, got %s", o->flag, what, shown);
  return P2PC_ERR_INVAL;
}

static int peer_from_flag(p2pc_cli_config *cfg, const p2pc_cli_option *o,
                          const char *v, p2pc__err *e) {
  p2pc_cli_peer p;
  memset(&p, 0, sizeof p);
  const char *at = strchr(v, '@'), *addr = v;
  if (at) {
    size_t idlen = (size_t)(at - v);
    if (!p2pc_id_valid(v, idlen))
      return bad_flag(o, "ID " MSG_ID, v, e);
    memcpy(p.id, v, idlen);
    p.id[idlen] = '\0';
    addr = at + 1;
  }
  char msg[160];
  const char *what = split_hostport(addr, o->arg, p.host, sizeof p.host,
                                    &p.port, msg, sizeof msg);
  if (what)
    return bad_flag(o, what, v, e);
  if (cfg->npeers >= P2PC_CLI_PEERS_MAX) {
    p2pc__err_set(e, "--%s: given more than %d times", o->flag,
                  P2PC_CLI_PEERS_MAX);
    return P2PC_ERR_INVAL;
  }
  int rc = add_peer(cfg, &p);
  if (rc < 0)
    p2pc__err_set(e, "--%s: out of memory", o->flag);
  return rc;
}

static int listen_from_flag(p2pc_cli_config *cfg, const p2pc_cli_option *o,
                            const char *v, p2pc__err *e) {
  char host[P2PC_CLI_HOST_MAX + 1], msg[160];
  uint16_t port;
  const char *what =
      split_hostport(v, o->arg, host, sizeof host, &port, msg, sizeof msg);
  if (what)
    return bad_flag(o, what, v, e);
  memcpy(cfg->listen_host, host, sizeof host);
  cfg->listen_port = port;
  return 0;
}

int p2pc__opt_from_flag(p2pc_cli_config *cfg, const p2pc_cli_option *o,
                        const char *v, p2pc__err *e) {
  uint64_t u;
  int64_t n;
  double x;
  int k;
  switch (o->type) {
  case P2PC_CLI_OPT_ID:
    if (!p2pc_id_valid(v, strlen(v)))
      return bad_flag(o, o->must, v, e);
    copy_str(cfg, o, v);
    break;
  case P2PC_CLI_OPT_UINT:
    if (!p2pc_parse_u64(v, strlen(v), (uint64_t)o->lo, (uint64_t)o->hi, &u))
      return bad_flag(o, o->must, v, e);
    store_int(cfg, o, (int64_t)u);
    break;
  case P2PC_CLI_OPT_INT:
    if (!p2pc_parse_i64(v, strlen(v), (int64_t)o->lo, (int64_t)o->hi, &n))
      return bad_flag(o, o->must, v, e);
    store_int(cfg, o, n);
    break;
  case P2PC_CLI_OPT_DOUBLE:
    if (!p2pc_parse_double(v, o->lo < 0 ? P2PC_PARSE_SIGNED : 0, &x) ||
        !range_ok(o, x))
      return bad_flag(o, o->must, v, e);
    memcpy(field(cfg, o), &x, sizeof x);
    break;
  case P2PC_CLI_OPT_BOOL: /* the switch: --no-time-sync */
    *(bool *)field(cfg, o) = false;
    break;
  case P2PC_CLI_OPT_ENUM:
    if ((k = find_name(o, v)) < 0)
      return bad_flag(o, o->must, v, e);
    store_int(cfg, o, k);
    break;
  case P2PC_CLI_OPT_PATH:
    if (!path_ok(o, v))
      return bad_flag(o, o->must, v, e);
    copy_str(cfg, o, v);
    break;
  case P2PC_CLI_OPT_LIFETIME:
    if (strcmp(v, "inf") == 0)
      store_lifetime(cfg, o, -1);
    else if (p2pc_parse_double(v, P2PC_PARSE_PLUS, &x) && range_ok(o, x))
      store_lifetime(cfg, o, x);
    else
      return bad_flag(o, o->must, v, e);
    break;
  case P2PC_CLI_OPT_SECONDS:
    if (!p2pc_parse_double(v, P2PC_PARSE_PLUS, &x) || !range_ok(o, x))
      return bad_flag(o, o->must, v, e);
    store_seconds(cfg, o, x);
    break;
  case P2PC_CLI_OPT_RANGE_MS:
    if (!parse_range_ms(cfg, o, v))
      return bad_flag(o, o->must, v, e);
    break;
  case P2PC_CLI_OPT_PEERS:
    return peer_from_flag(cfg, o, v, e);
  case P2PC_CLI_OPT_LISTEN:
    return listen_from_flag(cfg, o, v, e);
  case P2PC_CLI_OPT_HOST: /* keys only: no flag */
  case P2PC_CLI_OPT_FILE: /* the parser's own */
  case P2PC_CLI_OPT_ACTION:
    return 0;
  }
  stored(cfg, o, 2);
  return 0;
}

/* ---- the echo ------------------------------------------------------------ */

static bool add_peer_json(cJSON *arr, const p2pc_cli_peer *p) {
  cJSON *o = cJSON_CreateObject();
  if (!o || !cJSON_AddItemToArray(arr, o)) {
    cJSON_Delete(o);
    return false;
  }
  return (!p->id[0] || cJSON_AddStringToObject(o, "nodeID", p->id)) &&
         cJSON_AddStringToObject(o, "nodeIP", p->host) &&
         cJSON_AddNumberToObject(o, "nodePort", p->port);
}

bool p2pc__opt_to_json(const p2pc_cli_config *cfg, const p2pc_cli_option *o,
                       cJSON *obj) {
  const char *key = o->key;
  const void *f = cfield(cfg, o);
  if (!key || ((o->flags & P2PC_CLI_OPT_VCLOCK) && !cfg->vclock))
    return true;
  switch (o->type) {
  case P2PC_CLI_OPT_ID:
  case P2PC_CLI_OPT_HOST:
  case P2PC_CLI_OPT_PATH:
    if ((o->flags & P2PC_CLI_OPT_OMIT_EMPTY) && !*(const char *)f)
      return true;
    return cJSON_AddStringToObject(obj, key, f) != NULL;
  case P2PC_CLI_OPT_UINT:
  case P2PC_CLI_OPT_INT:
    return cJSON_AddNumberToObject(obj, key, (double)load_int(cfg, o)) != NULL;
  case P2PC_CLI_OPT_DOUBLE:
    return cJSON_AddNumberToObject(obj, key, *(const double *)f) != NULL;
  case P2PC_CLI_OPT_BOOL:
    return cJSON_AddBoolToObject(obj, key, *(const bool *)f) != NULL;
  case P2PC_CLI_OPT_ENUM: {
    int64_t i = load_int(cfg, o);
    int n = 0;
    while (o->names[n])
      n++;
    return cJSON_AddStringToObject(obj, key, o->names[i >= 0 && i < n ? i : 0]);
  }
  case P2PC_CLI_OPT_LIFETIME: {
    uint64_t ns;
    memcpy(&ns, f, sizeof ns);
    if (ns == P2PC_CAUSAL_LIFETIME_INF)
      return cJSON_AddStringToObject(obj, key, "inf") != NULL;
    return cJSON_AddNumberToObject(obj, key, (double)ns / 1e9) != NULL;
  }
  case P2PC_CLI_OPT_SECONDS: {
    uint64_t ns;
    memcpy(&ns, f, sizeof ns);
    return cJSON_AddNumberToObject(obj, key, (double)ns / 1e9) != NULL;
  }
  case P2PC_CLI_OPT_RANGE_MS: {
    uint32_t v[2];
    char text[32];
    memcpy(v, f, sizeof v);
    snprintf(text, sizeof text, "%u:%u", (unsigned)v[0], (unsigned)v[1]);
    return cJSON_AddStringToObject(obj, key, text) != NULL;
  }
  case P2PC_CLI_OPT_PEERS: {
    cJSON *arr = cJSON_AddArrayToObject(obj, key);
    for (size_t i = 0; arr && i < cfg->npeers; i++)
      if (!add_peer_json(arr, &cfg->peers[i]))
        return false;
    return arr != NULL;
  }
  case P2PC_CLI_OPT_LISTEN:
  case P2PC_CLI_OPT_FILE:
  case P2PC_CLI_OPT_ACTION:
    break;
  }
  return true;
}
