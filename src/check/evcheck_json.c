/* SPDX-License-Identifier: MIT */
/*
 * A line's JSON (evcheck_internal.h): parsed with cJSON, which tells that
 * it is a valid object; a torn line before a restart's `start`; and exact
 * integers from the line's text. Stamps, HLC readings and network times
 * are beyond 2^53, where cJSON's doubles lose nanoseconds: they are read
 * exactly from the text (raw_member), cJSON only telling that the line is
 * valid JSON.
 */
#include "evcheck_internal.h"

#include <string.h>

/* A string field, or NULL (missing or not a string). */
const char *p2pc__evcheck_str_field(const cJSON *j, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

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
const char *p2pc__evcheck_raw_member(const char *p, const char *key) {
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
bool p2pc__evcheck_raw_u64(const char *p, uint64_t *v) {
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

bool p2pc__evcheck_raw_i64(const char *p, int64_t *v) {
  bool neg = *p == '-';
  uint64_t x;
  if (!p2pc__evcheck_raw_u64(p + neg, &x) || x > (uint64_t)INT64_MAX + neg)
    return false;
  *v = neg ? (int64_t)(0 - x) : (int64_t)x;
  return true;
}

/* Parses buf[0..len) (buf[len] must be writable) as one JSON object. */
cJSON *p2pc__evcheck_parse_object(char *buf, size_t len) {
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
cJSON *p2pc__evcheck_torn_start(char *buf, size_t len, const char **raw) {
  static const char key[] = "{\"node\":";
  const char *last = NULL;
  for (const char *p = buf + 1; (p = strstr(p, key)) != NULL; p++)
    last = p;
  if (!last)
    return NULL;
  cJSON *j =
      p2pc__evcheck_parse_object((char *)last, len - (size_t)(last - buf));
  const char *ev = j ? p2pc__evcheck_str_field(j, "ev") : NULL;
  if (ev && strcmp(ev, "start") == 0) {
    *raw = last;
    return j;
  }
  cJSON_Delete(j);
  return NULL;
}

bool p2pc__evcheck_blank(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
      return false;
  return true;
}
