/* SPDX-License-Identifier: MIT */
/*
 * The control protocol's one table (proto.h) and what reads it: request
 * validation, argument descriptions, and the payload codecs (UTF-8 check,
 * JSON string escape, base64).
 */
#include "proto.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <p2pclock/node.h>

#include "event.h"
#include "idtab.h"

/* ---- checks the table names ----------------------------------------------
 */

static bool node_id_ok(const char *s) { return p2pc_id_valid(s, strlen(s)); }

bool p2pc_ctl_event_name_valid(const char *s) {
  if (strcmp(s, "*") == 0)
    return true;
  for (int t = P2PC_EVENT_DELIVERED; t <= P2PC_EVENT_CLOCK_REJECTED; t++)
    if (p2pc_event_logged((p2pc_event_type)t) &&
        strcmp(s, p2pc_event_name((p2pc_event_type)t)) == 0)
      return true;
  return false;
}

/* ---- the table -------------------------------------------------------------
 */

#define NARGS(a) (unsigned)(sizeof(a) / sizeof((a)[0]))

/* A payload as text or base64: at most what a request line can hold. */
#define TEXT_ARG(help)                                                         \
  {                                                                            \
    "text", P2PC_CTL_STRING, P2PC_CTL_ONE_OF, 0, P2PC_CTL_REQUEST_MAX, NULL,   \
        "UTF-8 text", P2PC_CTL_CLI_REST, NULL, "TEXT...", help                 \
  }
#define B64_ARG                                                                \
  {                                                                            \
    "b64", P2PC_CTL_STRING, P2PC_CTL_ONE_OF, 0, P2PC_CTL_REQUEST_MAX,          \
        p2pc_ctl_b64_valid, "base64 (RFC 4648, padded)", P2PC_CTL_CLI_OPTION,  \
        "--b64", "DATA", "the payload as base64 instead of TEXT (any bytes)"   \
  }

static const p2pc_ctl_arg send_args[] = {
    {"to", P2PC_CTL_STRING, P2PC_CTL_REQUIRED, 1, 64, node_id_ok, "a node ID",
     P2PC_CTL_CLI_WORD, NULL, "DEST", "the destination node's ID"},
    TEXT_ARG("the message (words joined by spaces)"),
    B64_ARG,
};

static bool scope_ok(const char *s) {
  return strcmp(s, "network") == 0 || strcmp(s, "neighbours") == 0;
}

static const p2pc_ctl_arg broadcast_args[] = {
    TEXT_ARG("the message (words joined by spaces)"),
    B64_ARG,
    {"scope", P2PC_CTL_STRING, 0, 1, 16, scope_ok,
     "\"network\" or \"neighbours\"", P2PC_CTL_CLI_OPTION, "--scope", "S",
     "network (default): every node, once; neighbours: one message to each "
     "peer linked now"},
};

static const p2pc_ctl_arg simulate_args[] = {
    {"count", P2PC_CTL_INTEGER, P2PC_CTL_REQUIRED, 1, P2PC_CTL_SIMULATE_MAX,
     NULL, "a number of messages", P2PC_CTL_CLI_WORD, NULL, "N",
     "how many messages"},
};

static const p2pc_ctl_arg vclock_args[] = {
    {"step_s", P2PC_CTL_NUMBER, 0, -P2PC_CTL_VCLOCK_STEP_MAX,
     P2PC_CTL_VCLOCK_STEP_MAX, NULL, "a number of seconds", P2PC_CTL_CLI_OPTION,
     "--step", "S", "add S seconds to the virtual clock (a jump)"},
    {"drift_ppm", P2PC_CTL_NUMBER, 0, -P2PC_CTL_VCLOCK_DRIFT_MAX,
     P2PC_CTL_VCLOCK_DRIFT_MAX, NULL, "a number of ppm", P2PC_CTL_CLI_OPTION,
     "--drift", "PPM", "the virtual clock's rate error from now on"},
};

static bool keys_op_ok(const char *s) {
  return strcmp(s, "list") == 0 || strcmp(s, "install") == 0 ||
         strcmp(s, "use") == 0 || strcmp(s, "remove") == 0;
}

/* A cluster key (canonical base64 of 32 bytes) or a fingerprint (16
 * lowercase hex digits); the client reads a key file's name into the
 * former (client_cmds.c). */
static bool key_ref_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 44) {
    uint8_t k[33];
    return p2pc_ctl_b64_valid(s) && p2pc_ctl_b64_decode(s, k) == 32;
  }
  if (n != 16)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

static const p2pc_ctl_arg keys_args[] = {
    {"op", P2PC_CTL_STRING, P2PC_CTL_REQUIRED, 1, 16, keys_op_ok,
     "list, install, use or remove", P2PC_CTL_CLI_WORD, NULL, "OP",
     "list; install KEY; use KEY; remove KEY"},
    {"key", P2PC_CTL_STRING, 0, 16, 44, key_ref_ok,
     "a cluster key (44 characters of base64) or its fingerprint (16 hex "
     "digits)",
     P2PC_CTL_CLI_WORD, NULL, "KEY",
     "a cluster key file, a key's base64, or (use, remove) its "
     "fingerprint"},
};

static const p2pc_ctl_arg subscribe_args[] = {
    {"events", P2PC_CTL_STRINGS, 0, 1, 32, p2pc_ctl_event_name_valid,
     "event names (docs/EVENTS.md's, or \"*\" for all)", P2PC_CTL_CLI_OPTION,
     "--events", "EV,...", "what to stream: EVENTS.md's names, or *"},
};

const p2pc_ctl_request p2pc_ctl_requests[] = {
    {"status", "show the node's state and counters",
     "{\"ok\":true,\"id\":ID,\"sesid\":S,\"listen\":HOST:PORT,...counters}",
     NULL, 0, false},
    {"peers", "list the node's peers",
     "{\"ok\":true,\"peers\":[{\"id\",\"state\",\"addr\",\"incarnation\","
     "\"unacked\",\"sent\",\"delivered_from\"}...]}",
     NULL, 0, false},
    {"send", "send a message to one peer", "{\"ok\":true,\"msg\":MSGID}",
     send_args, NARGS(send_args), false},
    {"broadcast", "send a message to every node of the network (itself too)",
     "{\"ok\":true,\"msg\":MSGID} (scope neighbours: also \"peers\":N)",
     broadcast_args, NARGS(broadcast_args), false},
    {"simulate", "send N messages to random peers", "{\"ok\":true,\"sent\":N}",
     simulate_args, NARGS(simulate_args), false},
    {"tracking", "show the clock synchronization state",
     "{\"ok\":true,\"mode\",\"synced\",\"ref\",\"offset_ns\",...}", NULL, 0,
     false},
    {"sources", "list the time sources",
     "{\"ok\":true,\"sources\":[{\"id\",\"addr\",\"reach\",...}...]}", NULL, 0,
     false},
    {"vclock", "step or re-rate the virtual clock (neither: show it)",
     "{\"ok\":true,\"virtual_clock\":{\"offset_s\",\"drift_ppm\"}}",
     vclock_args, NARGS(vclock_args), false},
    {"keys", "list, install, use or remove the node's cluster keys",
     "{\"ok\":true,\"keys\":[{\"fingerprint\",\"primary\"}...]}", keys_args,
     NARGS(keys_args), false},
    {"subscribe", "stream deliveries (and events) as JSON lines",
     "{\"ok\":true,\"events\":[...]}, then one line per event until closed",
     subscribe_args, NARGS(subscribe_args), true},
    {"stop", "stop the node cleanly", "{\"ok\":true}", NULL, 0, false},
};
const unsigned p2pc_ctl_nrequests = NARGS(p2pc_ctl_requests);

const p2pc_ctl_request *p2pc_ctl_find(const char *name) {
  for (unsigned i = 0; i < p2pc_ctl_nrequests; i++)
    if (strcmp(p2pc_ctl_requests[i].name, name) == 0)
      return &p2pc_ctl_requests[i];
  return NULL;
}

const p2pc_ctl_arg *p2pc_ctl_arg_find(const p2pc_ctl_request *r,
                                      const char *key) {
  for (unsigned i = 0; i < r->nargs; i++)
    if (strcmp(r->args[i].key, key) == 0)
      return &r->args[i];
  return NULL;
}

/* ---- validation ------------------------------------------------------------
 */

/* A bound as people write it: 1000, 1e6 (not 1e+06 or 1000000). */
static void format_bound(char *b, size_t cap, double x) {
  double m = fabs(x);
  int e = 0;
  if (m >= 1e6 && m == floor(m))
    while (m >= 10 && fmod(m, 10) == 0) {
      m /= 10;
      e++;
    }
  /* Room for any double (e <= 308), then cut to the caller's cap. */
  char t[64];
  if (e >= 6)
    snprintf(t, sizeof t, "%s%.15ge%d", x < 0 ? "-" : "", m, e);
  else
    snprintf(t, sizeof t, "%.15g", x);
  size_t n = strnlen(t, sizeof t);
  if (cap == 0)
    return;
  if (n >= cap)
    n = cap - 1;
  memcpy(b, t, n);
  b[n] = '\0';
}

void p2pc_ctl_arg_describe(const p2pc_ctl_arg *a, char *s, size_t cap) {
  switch (a->type) {
  case P2PC_CTL_STRING:
    snprintf(s, cap, "%s (a string of %.0f..%.0f bytes)", a->what, a->min,
             a->max);
    break;
  case P2PC_CTL_INTEGER:
    snprintf(s, cap, "%s, an integer %.0f..%.0f", a->what, a->min, a->max);
    break;
  case P2PC_CTL_NUMBER: {
    char lo[32], hi[32];
    format_bound(lo, sizeof lo, a->min);
    format_bound(hi, sizeof hi, a->max);
    snprintf(s, cap, "%s, %s..%s", a->what, lo, hi);
    break;
  }
  case P2PC_CTL_STRINGS:
    snprintf(s, cap, "an array of %.0f..%.0f %s", a->min, a->max, a->what);
    break;
  }
}

static bool string_ok(const p2pc_ctl_arg *a, const cJSON *v) {
  if (!cJSON_IsString(v))
    return false;
  size_t n = strlen(v->valuestring);
  return (double)n >= a->min && (double)n <= a->max &&
         (!a->check || a->check(v->valuestring));
}

static bool value_ok(const p2pc_ctl_arg *a, const cJSON *v) {
  switch (a->type) {
  case P2PC_CTL_STRING:
    return string_ok(a, v);
  case P2PC_CTL_INTEGER:
  case P2PC_CTL_NUMBER: {
    if (!cJSON_IsNumber(v))
      return false;
    double x = v->valuedouble;
    return isfinite(x) && x >= a->min && x <= a->max &&
           (a->type == P2PC_CTL_NUMBER || x == floor(x));
  }
  case P2PC_CTL_STRINGS: {
    if (!cJSON_IsArray(v))
      return false;
    int n = cJSON_GetArraySize(v);
    if ((double)n < a->min || (double)n > a->max)
      return false;
    const cJSON *it;
    p2pc_ctl_arg item = *a;
    item.min = 1;
    item.max = 64;
    cJSON_ArrayForEach(it, v) if (!string_ok(&item, it)) return false;
    return true;
  }
  }
  return false;
}

const p2pc_ctl_request *p2pc_ctl_validate(const cJSON *req, char *err,
                                          size_t cap) {
  const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
  if (!cJSON_IsObject(req) || !cJSON_IsString(cmd)) {
    snprintf(err, cap, "request has no \"cmd\" string");
    return NULL;
  }
  const p2pc_ctl_request *r = p2pc_ctl_find(cmd->valuestring);
  if (!r) {
    snprintf(err, cap, "unknown command: %.100s", cmd->valuestring);
    return NULL;
  }
  const cJSON *it;
  cJSON_ArrayForEach(it, req) {
    if (!it->string || strcmp(it->string, "cmd") == 0)
      continue;
    const p2pc_ctl_arg *a = p2pc_ctl_arg_find(r, it->string);
    if (!a) {
      snprintf(err, cap, "%s: unknown argument \"%.64s\"", r->name, it->string);
      return NULL;
    }
    if (!value_ok(a, it)) {
      char d[160];
      p2pc_ctl_arg_describe(a, d, sizeof d);
      snprintf(err, cap, "%s: \"%s\" must be %s", r->name, a->key, d);
      return NULL;
    }
  }
  unsigned one_of = 0, given = 0;
  char names[128] = "";
  for (unsigned i = 0; i < r->nargs; i++) {
    const p2pc_ctl_arg *a = &r->args[i];
    bool has = cJSON_GetObjectItemCaseSensitive(req, a->key) != NULL;
    if ((a->flags & P2PC_CTL_REQUIRED) && !has) {
      snprintf(err, cap, "%s needs \"%s\"", r->name, a->key);
      return NULL;
    }
    if (a->flags & P2PC_CTL_ONE_OF) {
      size_t l = strlen(names);
      snprintf(names + l, sizeof names - l, "%s\"%s\"", one_of ? " or " : "",
               a->key);
      one_of++;
      given += has;
    }
  }
  if (one_of && given != 1) {
    snprintf(err, cap, "%s needs %s%s", r->name, given ? "only one of " : "",
             names);
    return NULL;
  }
  return r;
}

/* ---- payloads --------------------------------------------------------------
 */

/* The length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF), or 0. */
static size_t utf8_seq(const uint8_t *p, size_t left) {
  uint8_t c = p[0];
  size_t n;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (left < n)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = cp << 6 | (p[i] & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

bool p2pc_ctl_payload_is_text(const uint8_t *p, size_t len) {
  for (size_t i = 0; i < len;) {
    if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
      return false;
    size_t n = utf8_seq(p + i, len - i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void p2pc_ctl_b64_encode(const uint8_t *p, size_t len, char *s) {
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    *s++ = b64_alphabet[v >> 18];
    *s++ = b64_alphabet[v >> 12 & 63];
    *s++ = b64_alphabet[v >> 6 & 63];
    *s++ = b64_alphabet[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)p[i] << 16;
    *s++ = b64_alphabet[v >> 18];
    *s++ = b64_alphabet[v >> 12 & 63];
    *s++ = '=';
    *s++ = '=';
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
    *s++ = b64_alphabet[v >> 18];
    *s++ = b64_alphabet[v >> 12 & 63];
    *s++ = b64_alphabet[v >> 6 & 63];
    *s++ = '=';
  }
  *s = '\0';
}

static int b64_value(char c) {
  const char *e = c ? strchr(b64_alphabet, c) : NULL;
  return e ? (int)(e - b64_alphabet) : -1;
}

long p2pc_ctl_b64_decode(const char *s, uint8_t *out) {
  size_t n = strlen(s), o = 0;
  if (n % 4)
    return -1;
  for (size_t i = 0; i < n; i += 4) {
    bool last = i + 4 == n;
    int pad =
        last ? (s[i + 3] == '=') + (s[i + 2] == '=' && s[i + 3] == '=') : 0;
    int v[4];
    for (int k = 0; k < 4 - pad; k++)
      if ((v[k] = b64_value(s[i + (size_t)k])) < 0)
        return -1;
    for (int k = 4 - pad; k < 4; k++)
      v[k] = 0;
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                 (uint32_t)v[2] << 6 | (uint32_t)v[3];
    /* Canonical: the bits padding leaves over are zero. */
    if ((pad == 1 && (w & 0xFF)) || (pad == 2 && (w & 0xFFFF)))
      return -1;
    out[o++] = (uint8_t)(w >> 16);
    if (pad < 2)
      out[o++] = (uint8_t)(w >> 8);
    if (pad < 1)
      out[o++] = (uint8_t)w;
  }
  return (long)o;
}

bool p2pc_ctl_b64_valid(const char *s) {
  size_t n = strlen(s);
  if (n % 4)
    return false;
  /* Decode in blocks so no buffer of the whole is needed. */
  for (size_t i = 0; i < n; i += 4) {
    char q[5];
    uint8_t o[3];
    memcpy(q, s + i, 4);
    q[4] = '\0';
    if (i + 4 < n && (q[2] == '=' || q[3] == '='))
      return false;
    if (p2pc_ctl_b64_decode(q, o) < 0)
      return false;
  }
  return true;
}

long p2pc_ctl_payload_field(const uint8_t *p, size_t len, char *s, size_t cap) {
  size_t o = 0;
  if (len > P2PC_CTL_STREAM_PAYLOAD_MAX) {
    static const char t[] = ",\"truncated\":true";
    if (cap < sizeof t)
      return -1;
    memcpy(s, t, sizeof t);
    return (long)(sizeof t - 1);
  }
  if (cap < P2PC_CTL_PAYLOAD_FIELD_MAX(len))
    return -1;
  if (!p2pc_ctl_payload_is_text(p, len)) {
    memcpy(s, ",\"b64\":\"", 8);
    p2pc_ctl_b64_encode(p, len, s + 8);
    o = 8 + P2PC_CTL_B64_LEN(len);
  } else {
    memcpy(s, ",\"text\":\"", 9);
    o = 9;
    for (size_t i = 0; i < len; i++) {
      uint8_t c = p[i];
      if (c == '"' || c == '\\') {
        s[o++] = '\\';
        s[o++] = (char)c;
      } else if (c == '\n') {
        s[o++] = '\\';
        s[o++] = 'n';
      } else if (c == '\t') {
        s[o++] = '\\';
        s[o++] = 't';
      } else if (c == '\r') {
        s[o++] = '\\';
        s[o++] = 'r';
      } else { /* is_text let no other control character through */
        s[o++] = (char)c;
      }
    }
  }
  s[o++] = '"';
  s[o] = '\0';
  return (long)o;
}

bool p2pc_ctl_has_nul_escape(const char *line, size_t len) {
  for (size_t i = 0; i + 1 < len; i++) {
    if (line[i] != '\\')
      continue;
    if (line[i + 1] == 'u' && i + 5 < len &&
        memcmp(line + i + 2, "0000", 4) == 0)
      return true;
    i++; /* the escaped character */
  }
  return false;
}
