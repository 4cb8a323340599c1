/* SPDX-License-Identifier: MIT */
/*
 * Config resolution for `p2pclock node`: the JSON file (parsed by cJSON),
 * then the flags, then the checks that need both (required values, peers
 * that name this node). Each value has one validator shared by the file and
 * the flag that set it, so both accept exactly the same values; only the
 * way an error names its source differs (a file and a key, or a flag).
 */
#include "config.h"

#include "causal.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cJSON.h"

#if defined(__GNUC__) || defined(__clang__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* A bad value is quoted in full up to this many bytes, then cut with "...":
 * enough to recognise it, never enough to flood the terminal. */
#define VALUE_SHOWN_MAX 64
#define VALUE_BUF (VALUE_SHOWN_MAX + 4)

#define MSG_ID "must be 1..64 characters of [A-Za-z0-9._-]"
/* What is wrong with a HOST (host_problem); each reads after "HOST" or a
 * key. */
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
#define MSG_LEVEL "must be one of \"error\", \"warn\", \"info\", \"debug\""
#define MSG_MAX_PEERS "must be an integer 1..1024"
#define MSG_LIFETIME                                                           \
  "must be a number of seconds 0.001..1e6, or \"inf\" (never expire)"
#define MSG_DELAY                                                              \
  "must be \"MIN:MAX\" milliseconds with 0 <= MIN <= MAX <= 60000"
#define MSG_DROP "must be a number 0 <= P < 1"
#define MSG_EVENTS "must be a non-empty path of at most 4095 bytes"
#define MSG_CONTROL "must be a non-empty path of at most 107 bytes"
#define MSG_OFFSET "must be a number of seconds, -1e6..1e6"
#define MSG_DRIFT "must be a number of ppm, -1000..1000"
#define MSG_BOOL "must be true or false"
#define MSG_MODE "must be \"reference\" or \"collaborative\""
#define MSG_TSTAMP "must be \"auto\", \"kernel-rx\" or \"user\""
#define MSG_BYTE "must be an integer 0..255"
#define MSG_POLL "must be an integer -6..10 (log2 seconds)"
#define MSG_SLEW "must be a number of ppm, 1..100000"
#define MSG_STEP "must be a number of seconds, 0..1000"
#define HELP_HINT "(see p2pclock node --help)"

typedef struct err_out {
  char *buf;
  size_t len;
} err_out;

static void set_err(err_out *e, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void set_err(err_out *e, const char *fmt, ...) {
  if (!e->buf || e->len == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->buf, e->len, fmt, ap);
  va_end(ap);
}

/* ---- values as written ---------------------------------------------------
 * A bad value is shown as JSON: strings in quotes with control characters
 * escaped, so the message stays on one line whatever the input was. */

static void shorten(const char *s, char *out, size_t n) {
  size_t len = strlen(s);
  if (len <= VALUE_SHOWN_MAX) {
    snprintf(out, n, "%s", s);
    return;
  }
  len = VALUE_SHOWN_MAX;
  while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
    len--; /* do not cut a UTF-8 sequence */
  snprintf(out, n, "%.*s...", (int)len, s);
}

static void show_json(const cJSON *v, char *out, size_t n) {
  char *s = cJSON_PrintUnformatted(v);
  shorten(s ? s : "(out of memory)", out, n);
  cJSON_free(s);
}

static void show_string(const char *raw, char *out, size_t n) {
  cJSON *tmp = cJSON_CreateString(raw);
  if (!tmp) {
    shorten("(out of memory)", out, n);
    return;
  }
  show_json(tmp, out, n);
  cJSON_Delete(tmp);
}

/* ---- typo suggestions ---------------------------------------------------- */

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

/* The closest of names[0..n) to s if it is close enough to be a typo. */
static const char *suggest(const char *s, const char *const *names, size_t n) {
  const char *best = NULL;
  size_t best_d = 3; /* up to two edits */
  for (size_t i = 0; i < n; i++) {
    size_t d = edit_distance(s, names[i]);
    if (d < best_d) {
      best_d = d;
      best = names[i];
    }
  }
  return best;
}

/* ---- validators shared by file keys and flags ---------------------------- */

static bool id_ok(const char *s) { return p2pc_id_valid(s, strlen(s)); }

/* Why s is no HOST, or NULL if it is one: an IPv4 or IPv6 literal, or a
 * host name as RFC 1123 writes them (labels of 1..63 letters, digits and
 * '-' between dots, no label starting or ending with '-', 253 characters
 * in all). The last label must not be digits only (RFC 3696, 2): then a
 * mistyped address such as 10.0.0.256 is refused here, not sent to the
 * resolver, which would read "10.1" as 10.0.0.1. Names are resolved by the
 * runtime, not here: a config is checked the same wherever it is read. */
static const char *host_problem(const char *s) {
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

/* A decimal integer 0..max written with digits only (no sign, no spaces). */
static bool parse_uint(const char *s, size_t len, uint32_t max, uint32_t *out) {
  uint32_t v = 0;
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    uint32_t d = (uint32_t)(s[i] - '0');
    if (v > (max - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

static bool parse_port(const char *s, uint16_t *out) {
  uint32_t v;
  if (!parse_uint(s, strlen(s), 65535, &v) || v == 0)
    return false;
  *out = (uint16_t)v;
  return true;
}

static bool parse_delay(const char *s, uint32_t *min, uint32_t *max) {
  const char *colon = strchr(s, ':');
  uint32_t lo, hi;
  if (!colon ||
      !parse_uint(s, (size_t)(colon - s), P2PC_CLI_CHAOS_DELAY_MAX_MS, &lo) ||
      !parse_uint(colon + 1, strlen(colon + 1), P2PC_CLI_CHAOS_DELAY_MAX_MS,
                  &hi) ||
      lo > hi)
    return false;
  *min = lo;
  *max = hi;
  return true;
}

static bool drop_ok(double p) { return p >= 0.0 && p < 1.0; }

/* A plain decimal number, negative only if signed: no "inf", "nan", hex,
 * "+" or surrounding spaces. */
static bool parse_real(const char *s, bool signed_ok, double *out) {
  const char *d = signed_ok && s[0] == '-' ? s + 1 : s;
  if (!(isdigit((unsigned char)d[0]) || d[0] == '.'))
    return false;
  for (const char *p = d; *p; p++)
    if (!isdigit((unsigned char)*p) && !strchr(".eE+-", *p))
      return false;
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  if (*end != '\0' || errno != 0 || !isfinite(x))
    return false;
  *out = x;
  return true;
}

static bool parse_drop(const char *s, double *out) {
  double p;
  if (!parse_real(s, false, &p) || !drop_ok(p))
    return false;
  *out = p;
  return true;
}

/* A decimal integer lo..hi, digits with an optional "-". */
static bool parse_int(const char *s, int lo, int hi, int *out) {
  bool neg = s[0] == '-';
  uint32_t v;
  if (!parse_uint(s + neg, strlen(s + neg), 1000000, &v))
    return false;
  long x = neg ? -(long)v : (long)v;
  if (x < lo || x > hi)
    return false;
  *out = (int)x;
  return true;
}

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static bool parse_level(const char *s, p2pc_cli_log_level *out) {
  for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
    if (strcmp(s, level_names[i]) == 0) {
      *out = (p2pc_cli_log_level)i;
      return true;
    }
  }
  return false;
}

static bool path_ok(const char *s, size_t max) {
  size_t len = strlen(s);
  return len > 0 && len <= max;
}

static bool copy_if(bool ok, char *dst, size_t n, const char *s) {
  if (ok)
    snprintf(dst, n, "%s", s);
  return ok;
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

/* ---- the config file ----------------------------------------------------- */

typedef struct file_ctx {
  const char *path;
  err_out *e;
} file_ctx;

static int bad_key(file_ctx *c, const char *key, const char *what,
                   const cJSON *v) {
  char shown[VALUE_BUF];
  show_json(v, shown, sizeof shown);
  set_err(c->e, "%s: \"%s\" %s, got %s", c->path, key, what, shown);
  return P2PC_ERR_INVAL;
}

static const char *str_value(const cJSON *v) {
  return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* An integral JSON number in lo..hi: 9000 and 9e3, not 9000.5 or "9000". */
static bool int_value(const cJSON *v, double lo, double hi, uint32_t *out) {
  if (!cJSON_IsNumber(v))
    return false;
  double d = v->valuedouble;
  if (!(d >= lo && d <= hi) || (double)(uint32_t)d != d)
    return false;
  *out = (uint32_t)d;
  return true;
}

static int file_id(p2pc_cli_config *cfg, file_ctx *c, const char *key,
                   const cJSON *v) {
  const char *s = str_value(v);
  if (!s || !copy_if(id_ok(s), cfg->id, sizeof cfg->id, s))
    return bad_key(c, key, MSG_ID, v);
  return 0;
}

/* A HOST from the file into dst[0..n), or the message about it. */
static int file_host_value(file_ctx *c, const char *key, const cJSON *v,
                           char *dst, size_t n) {
  const char *s = str_value(v);
  const char *why = s ? host_problem(s) : MSG_HOST_CHARS;
  if (why)
    return bad_key(c, key, why, v);
  snprintf(dst, n, "%s", s);
  return 0;
}

static int file_host(p2pc_cli_config *cfg, file_ctx *c, const char *key,
                     const cJSON *v) {
  return file_host_value(c, key, v, cfg->listen_host, sizeof cfg->listen_host);
}

static int file_port(p2pc_cli_config *cfg, file_ctx *c, const char *key,
                     const cJSON *v) {
  uint32_t port;
  if (!int_value(v, 1, 65535, &port))
    return bad_key(c, key, MSG_PORT, v);
  cfg->listen_port = (uint16_t)port;
  return 0;
}

#define PEER_SHAPE "{\"nodeID\", \"nodeIP\", \"nodePort\"}"

static int file_peer(p2pc_cli_config *cfg, file_ctx *c, int i,
                     const cJSON *obj) {
  static const char *const keys[] = {"nodeID", "nodeIP", "nodePort"};
  char key[64];
  p2pc_cli_peer p;
  bool seen[3] = {false, false, false};
  memset(&p, 0, sizeof p);
  snprintf(key, sizeof key, "connectTo[%d]", i);
  if (!cJSON_IsObject(obj))
    return bad_key(c, key, "must be an object " PEER_SHAPE, obj);
  for (const cJSON *v = obj->child; v; v = v->next) {
    size_t k = 0;
    while (k < 3 && strcmp(v->string, keys[k]) != 0)
      k++;
    snprintf(key, sizeof key, "connectTo[%d].%.*s", i, 32, v->string);
    if (k == 3) {
      const char *near = suggest(v->string, keys, 3);
      char shown[VALUE_BUF];
      show_string(v->string, shown, sizeof shown);
      if (near)
        set_err(c->e,
                "%s: \"connectTo[%d]\" has unknown key %s (did you "
                "mean \"%s\"?)",
                c->path, i, shown, near);
      else
        set_err(c->e, "%s: \"connectTo[%d]\" has unknown key %s", c->path, i,
                shown);
      return P2PC_ERR_INVAL;
    }
    if (seen[k]) {
      set_err(c->e, "%s: \"%s\" appears twice", c->path, key);
      return P2PC_ERR_INVAL;
    }
    seen[k] = true;
    const char *s = str_value(v);
    uint32_t port;
    if (k == 0 && (!s || !copy_if(id_ok(s), p.id, sizeof p.id, s)))
      return bad_key(c, key, MSG_ID, v);
    if (k == 1 && file_host_value(c, key, v, p.host, sizeof p.host) < 0)
      return P2PC_ERR_INVAL;
    if (k == 2) {
      if (!int_value(v, 1, 65535, &port))
        return bad_key(c, key, MSG_PORT, v);
      p.port = (uint16_t)port;
    }
  }
  for (size_t k = 1; k < 3; k++) {
    if (!seen[k]) {
      set_err(c->e, "%s: \"connectTo[%d].%s\" is required", c->path, i,
              keys[k]);
      return P2PC_ERR_INVAL;
    }
  }
  return add_peer(cfg, &p);
}

static int file_peers(p2pc_cli_config *cfg, file_ctx *c, const char *key,
                      const cJSON *v) {
  if (!cJSON_IsArray(v))
    return bad_key(c, key, "must be an array of " PEER_SHAPE " objects", v);
  int n = cJSON_GetArraySize(v);
  if (n > P2PC_CLI_PEERS_MAX) {
    set_err(c->e, "%s: \"%s\" must have at most %d entries, got %d", c->path,
            key, P2PC_CLI_PEERS_MAX, n);
    return P2PC_ERR_INVAL;
  }
  int i = 0;
  for (const cJSON *it = v->child; it; it = it->next, i++) {
    int rc = file_peer(cfg, c, i, it);
    if (rc < 0) {
      if (rc == P2PC_ERR_NOMEM)
        set_err(c->e, "%s: out of memory", c->path);
      return rc;
    }
  }
  return 0;
}

static int file_events(p2pc_cli_config *cfg, file_ctx *c, const char *key,
                       const cJSON *v) {
  const char *s = str_value(v);
  if (!s || !copy_if(path_ok(s, P2PC_CLI_PATH_MAX), cfg->events,
                     sizeof cfg->events, s))
    return bad_key(c, key, MSG_EVENTS, v);
  return 0;
}

static int file_control(p2pc_cli_config *cfg, file_ctx *c, const char *key,
                        const cJSON *v) {
  const char *s = str_value(v);
  if (!s || !copy_if(path_ok(s, P2PC_CLI_CONTROL_MAX), cfg->control,
                     sizeof cfg->control, s))
    return bad_key(c, key, MSG_CONTROL, v);
  return 0;
}

static int file_level(p2pc_cli_config *cfg, file_ctx *c, const char *key,
                      const cJSON *v) {
  const char *s = str_value(v);
  if (!s || !parse_level(s, &cfg->log_level))
    return bad_key(c, key, MSG_LEVEL, v);
  return 0;
}

static int file_max_peers(p2pc_cli_config *cfg, file_ctx *c, const char *key,
                          const cJSON *v) {
  if (!int_value(v, 1, P2PC_CLI_PEERS_MAX, &cfg->max_peers))
    return bad_key(c, key, MSG_MAX_PEERS, v);
  return 0;
}

/* causalLifetime: seconds (0.001..1e6) or "inf". */
static bool lifetime_ok(double s) { return s >= 0.001 && s <= 1e6; }

static int file_lifetime(p2pc_cli_config *cfg, file_ctx *c, const char *key,
                         const cJSON *v) {
  const char *s = str_value(v);
  if (s && strcmp(s, "inf") == 0) {
    cfg->causal_lifetime_ns = P2PC_CAUSAL_LIFETIME_INF;
    return 0;
  }
  if (!cJSON_IsNumber(v) || !lifetime_ok(v->valuedouble))
    return bad_key(c, key, MSG_LIFETIME, v);
  cfg->causal_lifetime_ns = (uint64_t)(v->valuedouble * 1e9 + 0.5);
  return 0;
}

static int file_delay(p2pc_cli_config *cfg, file_ctx *c, const char *key,
                      const cJSON *v) {
  const char *s = str_value(v);
  if (!s || !parse_delay(s, &cfg->chaos_delay_min_ms, &cfg->chaos_delay_max_ms))
    return bad_key(c, key, MSG_DELAY, v);
  return 0;
}

static int file_drop(p2pc_cli_config *cfg, file_ctx *c, const char *key,
                     const cJSON *v) {
  if (!cJSON_IsNumber(v) || !drop_ok(v->valuedouble))
    return bad_key(c, key, MSG_DROP, v);
  cfg->chaos_drop = v->valuedouble;
  return 0;
}

/* ---- clock keys ----------------------------------------------------------
 * One table for the file key and the flag of each clock setting, so both
 * take the same values and say the same thing when they refuse one. */

typedef enum clock_kind { K_REAL, K_INT, K_BOOL, K_MODE, K_TSTAMP } clock_kind;

typedef enum clock_id {
  C_OFFSET,
  C_DRIFT,
  C_TIME_PORT,
  C_TIME_SYNC,
  C_MODE,
  C_PRIORITY,
  C_CLASS,
  C_POLL_MIN,
  C_POLL_MAX,
  C_SLEW,
  C_STEP,
  C_TSTAMP
} clock_id;

static const struct clock_key {
  const char *key, *flag;
  clock_kind kind;
  double lo, hi;
  const char *msg;
} clock_keys[] = {
    [C_OFFSET] = {"clockOffset", "clock-offset", K_REAL,
                  -P2PC_CLI_CLOCK_OFFSET_MAX, P2PC_CLI_CLOCK_OFFSET_MAX,
                  MSG_OFFSET},
    [C_DRIFT] = {"clockDriftPpm", "clock-drift", K_REAL,
                 -P2PC_CLI_CLOCK_DRIFT_MAX, P2PC_CLI_CLOCK_DRIFT_MAX,
                 MSG_DRIFT},
    [C_TIME_PORT] = {"timePort", "time-port", K_INT, 1, 65535, MSG_PORT},
    [C_TIME_SYNC] = {"timeSync", "no-time-sync", K_BOOL, 0, 1, MSG_BOOL},
    [C_MODE] = {"clockMode", "clock-mode", K_MODE, 0, 1, MSG_MODE},
    [C_PRIORITY] = {"priority", "priority", K_INT, 0, 255, MSG_BYTE},
    [C_CLASS] = {"clockClass", "clock-class", K_INT, 0, 255, MSG_BYTE},
    [C_POLL_MIN] = {"pollMin", "poll-min", K_INT, P2PC_CLI_POLL_MIN,
                    P2PC_CLI_POLL_MAX, MSG_POLL},
    [C_POLL_MAX] = {"pollMax", "poll-max", K_INT, P2PC_CLI_POLL_MIN,
                    P2PC_CLI_POLL_MAX, MSG_POLL},
    [C_SLEW] = {"maxSlewPpm", "max-slew", K_REAL, 1, 100000, MSG_SLEW},
    [C_STEP] = {"stepThreshold", "step-threshold", K_REAL, 0, 1000, MSG_STEP},
    [C_TSTAMP] = {"timestamping", "timestamping", K_TSTAMP, 0, 2, MSG_TSTAMP},
};

#define NCLOCK (sizeof clock_keys / sizeof clock_keys[0])

static const char *const mode_names[] = {"reference", "collaborative"};

static const char *const tstamp_names[] = {"auto", "kernel-rx", "user"};

static bool parse_tstamp(const char *s, int *out) {
  for (int i = 0; i < 3; i++) {
    if (strcmp(s, tstamp_names[i]) == 0) {
      *out = i;
      return true;
    }
  }
  return false;
}

static bool parse_mode(const char *s, p2pc_cli_clock_mode *out) {
  for (size_t i = 0; i < sizeof mode_names / sizeof mode_names[0]; i++) {
    if (strcmp(s, mode_names[i]) == 0) {
      *out = (p2pc_cli_clock_mode)i;
      return true;
    }
  }
  return false;
}

/* Stores a checked value; src is 1 for the file, 2 for a flag. */
static void store_clock(p2pc_cli_config *cfg, clock_id id, double x,
                        uint8_t src) {
  switch (id) {
  case C_OFFSET:
    cfg->clock_offset_s = x;
    cfg->vclock = true;
    break;
  case C_DRIFT:
    cfg->clock_drift_ppm = x;
    cfg->vclock = true;
    break;
  case C_TIME_PORT:
    cfg->time_port = (uint16_t)x;
    break;
  case C_TIME_SYNC:
    cfg->time_sync = x != 0;
    break;
  case C_MODE:
    cfg->clock_mode = (p2pc_cli_clock_mode)x;
    break;
  case C_PRIORITY:
    cfg->priority = (uint8_t)x;
    break;
  case C_CLASS:
    cfg->clock_class = (uint8_t)x;
    break;
  case C_POLL_MIN:
    cfg->poll_min = (int8_t)x;
    cfg->poll_min_src = src;
    break;
  case C_POLL_MAX:
    cfg->poll_max = (int8_t)x;
    cfg->poll_max_src = src;
    break;
  case C_SLEW:
    cfg->max_slew_ppm = x;
    break;
  case C_STEP:
    cfg->step_threshold_s = x;
    break;
  case C_TSTAMP:
    cfg->timestamping = (int)x;
    break;
  }
}

static int file_clock(p2pc_cli_config *cfg, file_ctx *c, const char *key,
                      const cJSON *v) {
  size_t id = 0;
  while (id < NCLOCK && strcmp(clock_keys[id].key, key) != 0)
    id++;
  assert(id < NCLOCK); /* only the table's keys are routed here */
  const struct clock_key *k = &clock_keys[id];
  double x = 0;
  int n = 0;
  bool ok = false;
  p2pc_cli_clock_mode mode = P2PC_CLI_CLOCK_REFERENCE;
  switch (k->kind) {
  case K_REAL:
    ok =
        cJSON_IsNumber(v) && v->valuedouble >= k->lo && v->valuedouble <= k->hi;
    x = v->valuedouble;
    break;
  case K_INT:
    ok = cJSON_IsNumber(v) && v->valuedouble >= k->lo &&
         v->valuedouble <= k->hi && floor(v->valuedouble) == v->valuedouble;
    x = v->valuedouble;
    break;
  case K_BOOL:
    ok = cJSON_IsBool(v);
    x = cJSON_IsTrue(v);
    break;
  case K_MODE:
    ok = str_value(v) && parse_mode(v->valuestring, &mode);
    x = ok ? (double)mode : 0;
    break;
  case K_TSTAMP:
    ok = str_value(v) && parse_tstamp(v->valuestring, &n);
    x = ok ? n : 0;
    break;
  }
  if (!ok)
    return bad_key(c, key, k->msg, v);
  store_clock(cfg, (clock_id)id, x, 1);
  return 0;
}

typedef int (*file_key_fn)(p2pc_cli_config *cfg, file_ctx *c, const char *key,
                           const cJSON *v);

/* Two parallel tables, so the names alone can feed suggest(). */
static const char *const file_key_names[] = {
    "nodeID",        "nodeIP",       "nodePort",      "connectTo",
    "events",        "control",      "logLevel",      "maxPeers",
    "chaosDelay",    "chaosDrop",    "clockOffset",   "clockDriftPpm",
    "timePort",      "timeSync",     "clockMode",     "priority",
    "clockClass",    "pollMin",      "pollMax",       "maxSlewPpm",
    "stepThreshold", "timestamping", "causalLifetime"};
static const file_key_fn file_key_fns[] = {
    file_id,      file_host,  file_port,      file_peers, file_events,
    file_control, file_level, file_max_peers, file_delay, file_drop,
    file_clock,   file_clock, file_clock,     file_clock, file_clock,
    file_clock,   file_clock, file_clock,     file_clock, file_clock,
    file_clock,   file_clock, file_lifetime};

#define NKEYS (sizeof file_key_names / sizeof file_key_names[0])

/* Reads the whole file, NUL-terminated, refusing more than FILE_MAX bytes. */
static int read_file(const char *path, char **out, size_t *outlen, err_out *e) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    int er = errno;
    set_err(e, "%s: cannot open: %s", path, strerror(er));
    return er ? -er : P2PC_ERR_INVAL;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  int rc = 0;
  if (!buf)
    goto nomem;
  for (;;) {
    if (len + 1 == cap) {
      if (cap > P2PC_CLI_FILE_MAX) {
        set_err(e, "%s: file is larger than %d bytes", path, P2PC_CLI_FILE_MAX);
        rc = P2PC_ERR_INVAL;
        goto err;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb)
        goto nomem;
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + len, 1, cap - 1 - len, f);
    len += got;
    if (got == 0) {
      if (ferror(f)) {
        int er = errno;
        set_err(e, "%s: cannot read: %s", path, strerror(er));
        rc = er ? -er : P2PC_ERR_INVAL;
        goto err;
      }
      break;
    }
  }
  if (len > P2PC_CLI_FILE_MAX) {
    set_err(e, "%s: file is larger than %d bytes", path, P2PC_CLI_FILE_MAX);
    rc = P2PC_ERR_INVAL;
    goto err;
  }
  fclose(f);
  buf[len] = '\0';
  *out = buf;
  *outlen = len;
  return 0;
nomem:
  set_err(e, "%s: out of memory", path);
  rc = P2PC_ERR_NOMEM;
err:
  free(buf);
  fclose(f);
  return rc;
}

/* Names where text[0..len) stops being JSON: a line and a byte column.
 * cJSON's error position can be one past the offending byte, and for a
 * truncated file it is the end; either way the last byte that is not
 * white space is the best place to point at. */
static int bad_json(const char *path, const char *text, size_t len, size_t pos,
                    err_out *e) {
  int line = 1, col = 1;
  if (pos >= len) {
    while (len > 0 && strchr(" \t\r\n", text[len - 1]))
      len--;
    pos = len ? len - 1 : 0;
  }
  for (size_t i = 0; i < pos; i++) {
    if (text[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  set_err(e, "%s: invalid JSON at line %d, column %d", path, line, col);
  return P2PC_ERR_INVAL;
}

/* Applies the file at path on top of cfg. */
static int apply_file(p2pc_cli_config *cfg, const char *path, err_out *e) {
  char *text = NULL;
  size_t len = 0;
  int rc = read_file(path, &text, &len, e);
  if (rc < 0)
    return rc;
  file_ctx c = {path, e};
  cJSON *root = NULL;
  size_t skip = 0;
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    skip = 3; /* a UTF-8 byte order mark, as some editors write */
  const char *nul = memchr(text, '\0', len);
  if (nul) {
    rc =
        bad_json(path, text + skip, len - skip, (size_t)(nul - text) - skip, e);
    goto out;
  }
  if (strspn(text + skip, " \t\r\n") == len - skip) {
    set_err(e, "%s: file is empty, expected a JSON object", path);
    rc = P2PC_ERR_INVAL;
    goto out;
  }
  const char *end = NULL;
  /* Length includes the NUL so cJSON can check nothing follows the value. */
  root = cJSON_ParseWithLengthOpts(text + skip, len - skip + 1, &end, 1);
  if (!root) {
    if (!end)
      end = text + skip;
    rc =
        bad_json(path, text + skip, len - skip, (size_t)(end - text) - skip, e);
    goto out;
  }
  if (!cJSON_IsObject(root)) {
    char shown[VALUE_BUF];
    show_json(root, shown, sizeof shown);
    set_err(e, "%s: must hold a JSON object, got %s", path, shown);
    rc = P2PC_ERR_INVAL;
    goto out;
  }
  /* The first failure wins; every known key is looked at once, so a file
   * of many keys fails at its first unknown or repeated one. */
  bool seen[NKEYS] = {false};
  for (const cJSON *v = root->child; v; v = v->next) {
    size_t k = 0;
    while (k < NKEYS && strcmp(v->string, file_key_names[k]) != 0)
      k++;
    if (k == NKEYS) {
      const char *near = suggest(v->string, file_key_names, NKEYS);
      char shown[VALUE_BUF];
      show_string(v->string, shown, sizeof shown);
      if (near)
        set_err(e, "%s: unknown key %s (did you mean \"%s\"?)", path, shown,
                near);
      else
        set_err(e, "%s: unknown key %s", path, shown);
      rc = P2PC_ERR_INVAL;
      goto out;
    }
    if (seen[k]) {
      set_err(e, "%s: \"%s\" appears twice", path, file_key_names[k]);
      rc = P2PC_ERR_INVAL;
      goto out;
    }
    seen[k] = true;
    rc = file_key_fns[k](cfg, &c, file_key_names[k], v);
    if (rc < 0)
      goto out;
  }
  rc = 0;
out:
  cJSON_Delete(root);
  free(text);
  return rc;
}

/* ---- flags --------------------------------------------------------------- */

static int bad_flag(err_out *e, const char *flag, const char *what,
                    const char *value) {
  char shown[VALUE_BUF];
  show_string(value, shown, sizeof shown);
  set_err(e, "--%s: %s, got %s", flag, what, shown);
  return P2PC_ERR_INVAL;
}

/* Splits "HOST:PORT" or "[IPV6]:PORT". Returns NULL, or the message
 * saying what is wrong (shape is how the flag's value is described). */
static const char *split_hostport(const char *s, const char *shape, char *host,
                                  size_t hostn, uint16_t *port, char *msg,
                                  size_t msgn) {
  const char *h = s, *colon;
  size_t hlen;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':')
      goto bad_shape;
    h = s + 1;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon)
      goto bad_shape;
    hlen = (size_t)(colon - s);
    if (memchr(s, ':', hlen))
      goto bad_shape; /* an IPv6 address without brackets */
  }
  if (hlen >= hostn)
    return "HOST " MSG_HOST_LONG;
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  if (s[0] == '[' && !strchr(host, ':'))
    return "HOST in brackets must be an IPv6 address";
  const char *why = host_problem(host);
  if (why) {
    snprintf(msg, msgn, "HOST %s", why);
    return msg;
  }
  if (!parse_port(colon + 1, port))
    return "PORT " MSG_PORT;
  return NULL;
bad_shape:
  snprintf(msg, msgn, "must be %s (an IPv6 HOST in brackets)", shape);
  return msg;
}

static int flag_id(p2pc_cli_config *cfg, const char *flag, const char *v,
                   err_out *e) {
  if (!copy_if(id_ok(v), cfg->id, sizeof cfg->id, v))
    return bad_flag(e, flag, MSG_ID, v);
  return 0;
}

static int flag_listen(p2pc_cli_config *cfg, const char *flag, const char *v,
                       err_out *e) {
  char host[P2PC_CLI_HOST_MAX + 1], msg[160];
  uint16_t port;
  const char *what =
      split_hostport(v, "HOST:PORT", host, sizeof host, &port, msg, sizeof msg);
  if (what)
    return bad_flag(e, flag, what, v);
  memcpy(cfg->listen_host, host, sizeof host);
  cfg->listen_port = port;
  return 0;
}

static int flag_peer(p2pc_cli_config *cfg, const char *flag, const char *v,
                     err_out *e) {
  p2pc_cli_peer p;
  memset(&p, 0, sizeof p);
  const char *at = strchr(v, '@'), *addr = v;
  if (at) {
    size_t idlen = (size_t)(at - v);
    if (!p2pc_id_valid(v, idlen))
      return bad_flag(e, flag, "ID " MSG_ID, v);
    memcpy(p.id, v, idlen);
    p.id[idlen] = '\0';
    addr = at + 1;
  }
  char msg[160];
  const char *what = split_hostport(addr, "[ID@]HOST:PORT", p.host,
                                    sizeof p.host, &p.port, msg, sizeof msg);
  if (what)
    return bad_flag(e, flag, what, v);
  if (cfg->npeers >= P2PC_CLI_PEERS_MAX) {
    set_err(e, "--%s: given more than %d times", flag, P2PC_CLI_PEERS_MAX);
    return P2PC_ERR_INVAL;
  }
  int rc = add_peer(cfg, &p);
  if (rc < 0)
    set_err(e, "--%s: out of memory", flag);
  return rc;
}

static int flag_events(p2pc_cli_config *cfg, const char *flag, const char *v,
                       err_out *e) {
  if (!copy_if(path_ok(v, P2PC_CLI_PATH_MAX), cfg->events, sizeof cfg->events,
               v))
    return bad_flag(e, flag, MSG_EVENTS, v);
  return 0;
}

static int flag_control(p2pc_cli_config *cfg, const char *flag, const char *v,
                        err_out *e) {
  if (!copy_if(path_ok(v, P2PC_CLI_CONTROL_MAX), cfg->control,
               sizeof cfg->control, v))
    return bad_flag(e, flag, MSG_CONTROL, v);
  return 0;
}

static int flag_level(p2pc_cli_config *cfg, const char *flag, const char *v,
                      err_out *e) {
  if (!parse_level(v, &cfg->log_level))
    return bad_flag(e, flag, MSG_LEVEL, v);
  return 0;
}

static int flag_max_peers(p2pc_cli_config *cfg, const char *flag, const char *v,
                          err_out *e) {
  uint32_t n;
  if (!parse_uint(v, strlen(v), P2PC_CLI_PEERS_MAX, &n) || n == 0)
    return bad_flag(e, flag, MSG_MAX_PEERS, v);
  cfg->max_peers = n;
  return 0;
}

static int flag_lifetime(p2pc_cli_config *cfg, const char *flag, const char *v,
                         err_out *e) {
  if (strcmp(v, "inf") == 0) {
    cfg->causal_lifetime_ns = P2PC_CAUSAL_LIFETIME_INF;
    return 0;
  }
  char *end = NULL;
  errno = 0;
  double x = strtod(v, &end);
  if (!*v || errno || !end || *end || !lifetime_ok(x))
    return bad_flag(e, flag, MSG_LIFETIME, v);
  cfg->causal_lifetime_ns = (uint64_t)(x * 1e9 + 0.5);
  return 0;
}

static int flag_delay(p2pc_cli_config *cfg, const char *flag, const char *v,
                      err_out *e) {
  if (!parse_delay(v, &cfg->chaos_delay_min_ms, &cfg->chaos_delay_max_ms))
    return bad_flag(e, flag, MSG_DELAY, v);
  return 0;
}

static int flag_drop(p2pc_cli_config *cfg, const char *flag, const char *v,
                     err_out *e) {
  if (!parse_drop(v, &cfg->chaos_drop))
    return bad_flag(e, flag, MSG_DROP, v);
  return 0;
}

static int flag_clock(p2pc_cli_config *cfg, const char *flag, const char *v,
                      err_out *e) {
  size_t id = 0;
  while (id < NCLOCK && strcmp(clock_keys[id].flag, flag) != 0)
    id++;
  assert(id < NCLOCK); /* only the table's flags are routed here */
  const struct clock_key *k = &clock_keys[id];
  double x = 0;
  int n = 0;
  bool ok = false;
  p2pc_cli_clock_mode mode = P2PC_CLI_CLOCK_REFERENCE;
  switch (k->kind) {
  case K_REAL:
    ok = parse_real(v, k->lo < 0, &x) && x >= k->lo && x <= k->hi;
    break;
  case K_INT:
    ok = parse_int(v, (int)k->lo, (int)k->hi, &n);
    x = n;
    break;
  case K_BOOL: /* --no-time-sync, the one switch: no value */
    ok = true;
    x = 0;
    break;
  case K_MODE:
    ok = parse_mode(v, &mode);
    x = ok ? (double)mode : 0;
    break;
  case K_TSTAMP:
    ok = parse_tstamp(v, &n);
    x = ok ? n : 0;
    break;
  }
  if (!ok)
    return bad_flag(e, flag, k->msg, v);
  store_clock(cfg, (clock_id)id, x, 2);
  return 0;
}

typedef int (*flag_fn)(p2pc_cli_config *cfg, const char *flag, const char *v,
                       err_out *e);

/* Every flag takes exactly one value but the switch --no-time-sync (main.c
 * relies on it to find its own flags among these, asking
 * p2pc_cli_flag_is_switch). --config is handled before the others. */
static const char *const flag_names[] = {
    "config",         "id",           "listen",         "peer",
    "events",         "control",      "log-level",      "max-peers",
    "chaos-delay",    "chaos-drop",   "clock-offset",   "clock-drift",
    "time-port",      "no-time-sync", "clock-mode",     "priority",
    "clock-class",    "poll-min",     "poll-max",       "max-slew",
    "step-threshold", "timestamping", "causal-lifetime"};
static const flag_fn flag_fns[] = {
    NULL,         flag_id,    flag_listen,    flag_peer,  flag_events,
    flag_control, flag_level, flag_max_peers, flag_delay, flag_drop,
    flag_clock,   flag_clock, flag_clock,     flag_clock, flag_clock,
    flag_clock,   flag_clock, flag_clock,     flag_clock, flag_clock,
    flag_clock,   flag_clock, flag_lifetime};

#define NFLAGS (sizeof flag_names / sizeof flag_names[0])
#define FLAG_CONFIG 0
#define FLAG_PEER 3
#define FLAG_NO_TIME_SYNC 13

/* Reads the flag at argv[*i] and its value, advancing *i past both. Returns
 * the flag's index, or -1 with a message. */
static int next_flag(int argc, const char *const *argv, int *i,
                     const char **value, err_out *e) {
  const char *a = argv[*i];
  if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
    char shown[VALUE_BUF];
    show_string(a, shown, sizeof shown);
    set_err(e, "unexpected argument %s " HELP_HINT, shown);
    return -1;
  }
  const char *name = a + 2, *eq = strchr(name, '=');
  size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
  size_t f = 0;
  while (f < NFLAGS && !(strlen(flag_names[f]) == nlen &&
                         memcmp(flag_names[f], name, nlen) == 0))
    f++;
  if (f == NFLAGS) {
    char given[VALUE_SHOWN_MAX + 1];
    size_t glen = nlen < VALUE_SHOWN_MAX ? nlen : VALUE_SHOWN_MAX;
    for (size_t k = 0; k < glen; k++) /* keep the message on one line */
      given[k] = isprint((unsigned char)name[k]) ? name[k] : '?';
    given[glen] = '\0';
    const char *near = suggest(given, flag_names, NFLAGS);
    if (near)
      set_err(e, "--%s: unknown flag (did you mean --%s?) " HELP_HINT, given,
              near);
    else
      set_err(e, "--%s: unknown flag " HELP_HINT, given);
    return -1;
  }
  if (f == FLAG_NO_TIME_SYNC) {
    if (eq) {
      set_err(e, "--%s: takes no value " HELP_HINT, flag_names[f]);
      return -1;
    }
    *value = NULL;
  } else if (eq) {
    *value = eq + 1;
  } else if (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0) {
    *value = argv[++*i];
  } else {
    set_err(e, "--%s: missing value " HELP_HINT, flag_names[f]);
    return -1;
  }
  ++*i;
  return (int)f;
}

/* ---- checks that need the whole config ----------------------------------- */

/* A peer as --peer would take it: [ID@]HOST:PORT, IPv6 in brackets. */
static void show_peer(const p2pc_cli_peer *p, bool with_id, char *out,
                      size_t n) {
  bool v6 = strchr(p->host, ':') != NULL;
  bool id = with_id && p->id[0];
  snprintf(out, n, "%s%s%s%s%s:%u", id ? p->id : "", id ? "@" : "",
           v6 ? "[" : "", p->host, v6 ? "]" : "", (unsigned)p->port);
}

/* A peer that conflicts with this node or an earlier peer; what is about
 * its ID or its address. */
static int bad_peer(const char *file, bool from_flags, size_t i, bool id,
                    const char *what, const p2pc_cli_peer *p, err_out *e) {
  char shown[P2PC_ID_MAX + P2PC_CLI_HOST_MAX + 16];
  show_peer(p, from_flags, shown, sizeof shown);
  if (from_flags)
    set_err(e, "--peer: %s, got \"%s\"", what, shown);
  else if (id)
    set_err(e, "%s: \"connectTo[%zu].nodeID\" %s, got \"%s\"", file, i, what,
            p->id);
  else
    set_err(e, "%s: \"connectTo[%zu]\" %s, got \"%s\"", file, i, what, shown);
  return P2PC_ERR_INVAL;
}

/* pollMin > pollMax: blames a flag before the file (the flag is what the
 * user typed last), and pollMin before pollMax. */
static int bad_poll_order(const p2pc_cli_config *cfg, const char *file,
                          err_out *e) {
  bool blame_min = cfg->poll_min_src == 2 ||
                   (cfg->poll_max_src != 2 && cfg->poll_min_src == 1);
  uint8_t src = blame_min ? cfg->poll_min_src : cfg->poll_max_src;
  const char *what =
      blame_min ? "must not exceed pollMax" : "must not be below pollMin";
  int other = blame_min ? cfg->poll_max : cfg->poll_min;
  int got = blame_min ? cfg->poll_min : cfg->poll_max;
  if (src == 2 || !file)
    set_err(e, "--%s: %s (%d), got \"%d\"", blame_min ? "poll-min" : "poll-max",
            what, other, got);
  else
    set_err(e, "%s: \"%s\" %s (%d), got %d", file,
            blame_min ? "pollMin" : "pollMax", what, other, got);
  return P2PC_ERR_INVAL;
}

static int finish(p2pc_cli_config *cfg, const char *file, bool peers_flags,
                  err_out *e) {
  if (!cfg->id[0]) {
    if (file)
      set_err(e, "%s: \"nodeID\" is required (or give --id)", file);
    else
      set_err(e, "--id is required (or --config FILE with \"nodeID\")");
    return P2PC_ERR_INVAL;
  }
  if (!cfg->listen_port) {
    if (file)
      set_err(e, "%s: \"nodePort\" is required (or give --listen HOST:PORT)",
              file);
    else
      set_err(e, "--listen HOST:PORT is required (or --config FILE with "
                 "\"nodePort\")");
    return P2PC_ERR_INVAL;
  }
  if (!cfg->control[0])
    p2pc_cli_control_default(cfg->control, sizeof cfg->control, cfg->id);
  if (!cfg->time_port)
    cfg->time_port = cfg->listen_port;
  if (cfg->poll_min > cfg->poll_max)
    return bad_poll_order(cfg, file, e);
  if (cfg->npeers > cfg->max_peers) {
    if (peers_flags)
      set_err(e, "--peer: given %zu times, more than maxPeers %u", cfg->npeers,
              (unsigned)cfg->max_peers);
    else
      set_err(e, "%s: \"connectTo\" has %zu entries, more than maxPeers %u",
              file, cfg->npeers, (unsigned)cfg->max_peers);
    return P2PC_ERR_INVAL;
  }
  for (size_t i = 0; i < cfg->npeers; i++) {
    const p2pc_cli_peer *p = &cfg->peers[i];
    if (p->id[0] && strcmp(p->id, cfg->id) == 0)
      return bad_peer(file, peers_flags, i, true, "is this node's own ID", p,
                      e);
    if (p->port == cfg->listen_port &&
        strcasecmp(p->host, cfg->listen_host) == 0)
      return bad_peer(file, peers_flags, i, false, "is this node's own address",
                      p, e);
    for (size_t j = 0; j < i; j++) {
      const p2pc_cli_peer *q = &cfg->peers[j];
      if (p->id[0] && strcmp(p->id, q->id) == 0)
        return bad_peer(file, peers_flags, i, true,
                        "repeats the ID of an earlier peer", p, e);
      if (p->port == q->port && strcasecmp(p->host, q->host) == 0)
        return bad_peer(file, peers_flags, i, false,
                        "repeats the address of an earlier peer", p, e);
    }
  }
  return 0;
}

/* ---- public -------------------------------------------------------------- */

void p2pc_cli_config_init(p2pc_cli_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  snprintf(cfg->listen_host, sizeof cfg->listen_host, "%s",
           P2PC_CLI_DEFAULT_HOST);
  cfg->log_level = P2PC_CLI_LOG_INFO;
  cfg->max_peers = P2PC_CLI_MAX_PEERS_DEFAULT;
  cfg->causal_lifetime_ns = P2PC_CAUSAL_LIFETIME_DEFAULT_NS;
  cfg->time_sync = true;
  cfg->clock_mode = P2PC_CLI_CLOCK_REFERENCE;
  cfg->priority = 128;
  cfg->clock_class = 248;
  cfg->poll_min = -3;
  cfg->poll_max = 1;
  cfg->max_slew_ppm = 500;
  cfg->step_threshold_s = 0.001;
}

bool p2pc_cli_flag_is_switch(const char *arg) {
  return strcmp(arg, "--no-time-sync") == 0;
}

void p2pc_cli_config_fini(p2pc_cli_config *cfg) {
  free(cfg->peers);
  cfg->peers = NULL;
  cfg->npeers = 0;
  cfg->peers_cap = 0;
}

int p2pc_cli_config_load(p2pc_cli_config *cfg, const char *path, char *err,
                         size_t errlen) {
  err_out e = {err, errlen};
  p2pc_cli_config_init(cfg);
  int rc = apply_file(cfg, path, &e);
  if (rc == 0)
    rc = finish(cfg, path, false, &e);
  if (rc < 0)
    p2pc_cli_config_fini(cfg);
  return rc;
}

int p2pc_cli_config_args(p2pc_cli_config *cfg, int argc,
                         const char *const *argv, char *err, size_t errlen) {
  err_out e = {err, errlen};
  const char *file = NULL, *value;
  bool peers_flags = false;
  int rc = 0, f;
  p2pc_cli_config_init(cfg);
  /* First pass: check the shape of every flag, find --config. */
  for (int i = 0; i < argc;) {
    if ((f = next_flag(argc, argv, &i, &value, &e)) < 0)
      return P2PC_ERR_INVAL;
    if (f == FLAG_CONFIG) {
      if (file)
        return bad_flag(&e, "config", "given twice", value);
      file = value;
    }
  }
  if (file && (rc = apply_file(cfg, file, &e)) < 0)
    goto err;
  for (int i = 0; i < argc;) {
    if ((f = next_flag(argc, argv, &i, &value, &e)) < 0) {
      rc = P2PC_ERR_INVAL; /* cannot happen: the first pass checked */
      goto err;
    }
    if (f == FLAG_CONFIG)
      continue;
    if (f == FLAG_PEER && !peers_flags) {
      cfg->npeers = 0; /* the --peer flags replace the file's connectTo */
      peers_flags = true;
    }
    if ((rc = flag_fns[f](cfg, flag_names[f], value, &e)) < 0)
      goto err;
  }
  if ((rc = finish(cfg, file, peers_flags, &e)) < 0)
    goto err;
  return 0;
err:
  p2pc_cli_config_fini(cfg);
  return rc;
}

void p2pc_cli_control_default(char *buf, size_t n, const char *id) {
  snprintf(buf, n, "/tmp/p2pclock-%s.sock", id);
}

const char *p2pc_cli_log_level_name(p2pc_cli_log_level level) {
  if ((size_t)level < sizeof level_names / sizeof level_names[0])
    return level_names[level];
  return "info";
}

const char *p2pc_cli_clock_mode_name(p2pc_cli_clock_mode mode) {
  if ((size_t)mode < sizeof mode_names / sizeof mode_names[0])
    return mode_names[mode];
  return "reference";
}

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

char *p2pc_cli_config_json(const p2pc_cli_config *cfg) {
  char delay[32];
  char *out = NULL;
  cJSON *o = cJSON_CreateObject(), *peers;
  snprintf(delay, sizeof delay, "%u:%u", (unsigned)cfg->chaos_delay_min_ms,
           (unsigned)cfg->chaos_delay_max_ms);
  bool ok = o && cJSON_AddStringToObject(o, "nodeID", cfg->id) &&
            cJSON_AddStringToObject(o, "nodeIP", cfg->listen_host) &&
            cJSON_AddNumberToObject(o, "nodePort", cfg->listen_port) &&
            (peers = cJSON_AddArrayToObject(o, "connectTo"));
  for (size_t i = 0; ok && i < cfg->npeers; i++)
    ok = add_peer_json(peers, &cfg->peers[i]);
  ok = ok &&
       (!cfg->events[0] || cJSON_AddStringToObject(o, "events", cfg->events)) &&
       cJSON_AddStringToObject(o, "control", cfg->control) &&
       cJSON_AddStringToObject(o, "logLevel",
                               p2pc_cli_log_level_name(cfg->log_level)) &&
       cJSON_AddNumberToObject(o, "maxPeers", cfg->max_peers) &&
       (cfg->causal_lifetime_ns == P2PC_CAUSAL_LIFETIME_INF
            ? cJSON_AddStringToObject(o, "causalLifetime", "inf") != NULL
            : cJSON_AddNumberToObject(o, "causalLifetime",
                                      (double)cfg->causal_lifetime_ns / 1e9) !=
                  NULL) &&
       cJSON_AddStringToObject(o, "chaosDelay", delay) &&
       cJSON_AddNumberToObject(o, "chaosDrop", cfg->chaos_drop);
  /* The virtual clock's keys only if it is on: their presence is the
   * switch. */
  ok = ok &&
       (!cfg->vclock ||
        (cJSON_AddNumberToObject(o, "clockOffset", cfg->clock_offset_s) &&
         cJSON_AddNumberToObject(o, "clockDriftPpm", cfg->clock_drift_ppm))) &&
       cJSON_AddNumberToObject(o, "timePort", cfg->time_port) &&
       cJSON_AddBoolToObject(o, "timeSync", cfg->time_sync) &&
       cJSON_AddStringToObject(o, "clockMode",
                               p2pc_cli_clock_mode_name(cfg->clock_mode)) &&
       cJSON_AddNumberToObject(o, "priority", cfg->priority) &&
       cJSON_AddNumberToObject(o, "clockClass", cfg->clock_class) &&
       cJSON_AddNumberToObject(o, "pollMin", cfg->poll_min) &&
       cJSON_AddNumberToObject(o, "pollMax", cfg->poll_max) &&
       cJSON_AddNumberToObject(o, "maxSlewPpm", cfg->max_slew_ppm) &&
       cJSON_AddNumberToObject(o, "stepThreshold", cfg->step_threshold_s) &&
       cJSON_AddStringToObject(o, "timestamping",
                               tstamp_names[cfg->timestamping]);
  if (ok)
    out = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return out;
}
