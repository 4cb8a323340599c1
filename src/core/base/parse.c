/* SPDX-License-Identifier: MIT */
/*
 * The number, duration and HOST:PORT parsers of parse.h. strtod does the
 * decimal conversion (it rounds correctly, which a hand-written loop would
 * not); everything strtod would accept beyond plain decimals is refused
 * before it is called, and its range errors are recognised from the result
 * rather than from errno, so the core reads no global state.
 */
#include "parse.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool p2pc_parse_u64(const char *s, size_t len, uint64_t lo, uint64_t hi,
                    uint64_t *out) {
  uint64_t v = 0;
  if (len == 0)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (!is_digit(s[i]))
      return false;
    uint64_t d = (uint64_t)(s[i] - '0');
    if (d > hi || v > (hi - d) / 10)
      return false; /* above hi, and never overflowing on the way */
    v = v * 10 + d;
  }
  if (v < lo)
    return false;
  *out = v;
  return true;
}

bool p2pc_parse_i64(const char *s, size_t len, int64_t lo, int64_t hi,
                    int64_t *out) {
  bool neg = len > 0 && s[0] == '-';
  uint64_t mag, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  if (!p2pc_parse_u64(s + neg, len - neg, 0, limit, &mag))
    return false;
  int64_t v;
  if (!neg)
    v = (int64_t)mag;
  else if (mag == (uint64_t)INT64_MAX + 1)
    v = INT64_MIN;
  else
    v = -(int64_t)mag;
  if (v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

/* Whether x, which strtod made of the digits at s[0..len), is out of a
 * double's normal range: strtod returns +-HUGE_VAL on overflow and 0 or a
 * subnormal on underflow (and sets ERANGE, which we do not read). */
static bool out_of_range(double x, const char *s, size_t len) {
  if (!isfinite(x))
    return true;
  if (x != 0)
    return fabs(x) < DBL_MIN;
  for (size_t i = 0; i < len && s[i] != 'e' && s[i] != 'E'; i++)
    if (s[i] >= '1' && s[i] <= '9')
      return true; /* a non-zero mantissa that came out as 0 */
  return false;
}

bool p2pc_parse_double(const char *s, unsigned flags, double *out) {
  const char *d = s;
  if ((s[0] == '-' && (flags & P2PC_PARSE_SIGNED)) ||
      (s[0] == '+' && (flags & P2PC_PARSE_PLUS)))
    d = s + 1;
  if (!(is_digit(d[0]) || d[0] == '.'))
    return false;
  for (const char *p = d; *p; p++)
    if (!is_digit(*p) && !strchr(".eE+-", *p))
      return false;
  char *end;
  double x = strtod(s, &end);
  if (*end != '\0' || out_of_range(x, s, (size_t)(end - s)))
    return false;
  *out = x;
  return true;
}

bool p2pc_parse_number_prefix(const char *s, double *out, const char **rest) {
  char *end;
  if (!(is_digit(s[0]) || s[0] == '-' || s[0] == '+' || s[0] == '.'))
    return false; /* no "inf", "nan", leading blanks */
  double x = strtod(s, &end);
  if (end == s || out_of_range(x, s, (size_t)(end - s)))
    return false;
  for (const char *c = s; c < end; c++)
    if (*c == 'x' || *c == 'X')
      return false; /* decimal only: "0x10s" is not 16 s */
  *out = x;
  *rest = end;
  return true;
}

bool p2pc_parse_duration(const char *s, double max_s, unsigned flags,
                         double bare_ns, double *ns) {
  static const struct {
    const char *unit;
    double mul;
  } units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"min", 6e10}};
  double v;
  const char *u;
  if (!p2pc_parse_number_prefix(s, &v, &u))
    return false;
  if (!(flags & P2PC_PARSE_SIGNED) && (s[0] == '-' || v < 0))
    return false;
  double mul = -1;
  if (!*u && bare_ns > 0)
    mul = bare_ns;
  else if (!*u && v == 0)
    mul = 1;
  for (size_t k = 0; k < sizeof units / sizeof units[0] && mul < 0; k++)
    if (strcmp(u, units[k].unit) == 0)
      mul = units[k].mul;
  if (mul < 0 || fabs(v * mul) > max_s * 1e9)
    return false;
  *ns = v * mul;
  return true;
}

p2pc_hostport_err p2pc_parse_hostport(const char *s, char *host, size_t hostn,
                                      uint16_t *port) {
  const char *h = s, *colon;
  size_t hlen;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':')
      return P2PC_HOSTPORT_SHAPE;
    h = s + 1;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon)
      return P2PC_HOSTPORT_SHAPE;
    hlen = (size_t)(colon - s);
    if (memchr(s, ':', hlen))
      return P2PC_HOSTPORT_SHAPE; /* an IPv6 address without brackets */
  }
  if (hlen >= hostn)
    return P2PC_HOSTPORT_HOST_LONG;
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  if (s[0] == '[' && !memchr(host, ':', hlen))
    return P2PC_HOSTPORT_NOT_V6;
  uint64_t p;
  if (!p2pc_parse_u64(colon + 1, strlen(colon + 1), 1, 65535, &p))
    return P2PC_HOSTPORT_PORT;
  *port = (uint16_t)p;
  return P2PC_HOSTPORT_OK;
}
