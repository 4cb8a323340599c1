/* SPDX-License-Identifier: MIT */
/*
 * The words of a scenario line as values: strict, unit-bearing numbers
 * (times, rates in ppm, probabilities, bandwidths), decimal counts and
 * node ranges, each range-checked; the parsers of scenario.h that the
 * command's flags share (duration, lifetime, topology); and the messages
 * that say FILE:LINE: what, with the offending word shown safely.
 */
#include "scenario_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p2pclock/p2pclock.h>

/* ---- messages ------------------------------------------------------------ */

/* A token as it may be shown: at most 40 bytes, non-printables as '?'. */
static void shown(const char *t, char *out, size_t n) {
  size_t k = 0;
  for (; t[k] && k + 1 < n && k < 40; k++)
    out[k] = t[k] >= 0x20 && t[k] < 0x7f ? t[k] : '?';
  out[k] = '\0';
  if (t[k] && k >= 40 && n > 44)
    memcpy(out + k, "...", 4);
}

int p2pc__scn_fail(parser *p, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (!p->err || !p->errlen)
    return P2PC_ERR_INVAL;
  if (p->sc->file[0] && p->line)
    snprintf(p->err, p->errlen, "%s:%u: %s", p->sc->file, p->line, msg);
  else if (p->line)
    snprintf(p->err, p->errlen, "line %u: %s", p->line, msg);
  else /* from the flags */
    snprintf(p->err, p->errlen, "%s", msg);
  return P2PC_ERR_INVAL;
}

/* "bad <what> \"tok\"" */
int p2pc__scn_bad(parser *p, const char *what, const char *tok) {
  char s[48];
  shown(tok, s, sizeof s);
  return p2pc__scn_fail(p, "%s, got \"%s\"", what, s);
}

/* ---- numbers ------------------------------------------------------------- */

/* A finite number at the start of t; *rest gets the unit after it. */
bool p2pc__scn_number(const char *t, double *v, const char **rest) {
  char *end;
  if (!((t[0] >= '0' && t[0] <= '9') || t[0] == '-' || t[0] == '+' ||
        t[0] == '.'))
    return false; /* no "inf", "nan", leading blanks */
  errno = 0;
  double x = strtod(t, &end);
  if (end == t || errno == ERANGE || !isfinite(x))
    return false;
  for (const char *c = t; c < end; c++)
    if (*c == 'x' || *c == 'X')
      return false; /* decimal only: "0x10s" is not 16 s */
  *v = x;
  *rest = end;
  return true;
}

/* A time with its unit, in ns, within +-max_s. A bare number is in units
 * of bare ns, or refused if bare is 0 (a bare 0 is always allowed). */
bool p2pc__scn_time_in(const char *t, double max_s, bool sign_ok, double bare,
                       double *ns) {
  static const struct {
    const char *u;
    double mul;
  } units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"min", 6e10}};
  double v;
  const char *u;
  if (!p2pc__scn_number(t, &v, &u))
    return false;
  if (!sign_ok && (t[0] == '-' || v < 0))
    return false;
  double mul = -1;
  if (!*u && bare > 0)
    mul = bare;
  else if (!*u && v == 0)
    mul = 1;
  for (size_t k = 0; k < sizeof units / sizeof units[0] && mul < 0; k++)
    if (strcmp(u, units[k].u) == 0)
      mul = units[k].mul;
  if (mul < 0 || fabs(v * mul) > max_s * NS_PER_S)
    return false;
  *ns = v * mul;
  return true;
}

/* A time with its unit (a bare 0 is allowed), in ns, within +-max_s. */
bool p2pc__scn_time_ns(const char *t, double max_s, bool sign_ok, double *ns) {
  return p2pc__scn_time_in(t, max_s, sign_ok, 0, ns);
}

bool p2pc__scn_ppm(const char *t, double max, bool sign_ok, double *out) {
  double v;
  const char *u;
  if (!p2pc__scn_number(t, &v, &u) || (*u && strcmp(u, "ppm") != 0) ||
      (!*u && v != 0) || fabs(v) > max || (!sign_ok && v < 0))
    return false;
  *out = v;
  return true;
}

/* A probability: 0.01 or 1% */
bool p2pc__scn_prob(const char *t, double *out) {
  double v;
  const char *u;
  if (!p2pc__scn_number(t, &v, &u))
    return false;
  if (strcmp(u, "%") == 0)
    v /= 100;
  else if (*u)
    return false;
  if (!(v >= 0 && v <= 1))
    return false;
  *out = v;
  return true;
}

bool p2pc__scn_bandwidth(const char *t, double *bps) {
  double v;
  const char *u;
  if (!p2pc__scn_number(t, &v, &u) || v < 0)
    return false;
  static const struct {
    const char *u;
    double mul;
  } units[] = {
      {"bit", 1}, {"Kbit", 1e3}, {"kbit", 1e3}, {"Mbit", 1e6}, {"Gbit", 1e9}};
  double mul = !*u && v == 0 ? 1 : -1;
  for (size_t k = 0; k < sizeof units / sizeof units[0] && mul < 0; k++)
    if (strcmp(u, units[k].u) == 0)
      mul = units[k].mul;
  if (mul < 0 || v * mul > 1e12)
    return false;
  *bps = v * mul;
  return true;
}

/* A decimal integer lo..hi, digits only. */
bool p2pc__scn_uint_in(const char *t, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (!*t || strlen(t) > 20)
    return false;
  uint64_t v = 0;
  for (const char *c = t; *c; c++) {
    if (*c < '0' || *c > '9')
      return false;
    uint64_t d = (uint64_t)(*c - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  if (v < lo || v > hi)
    return false;
  *out = v;
  return true;
}

bool p2pc__scn_int_in(const char *t, int lo, int hi, int *out) {
  uint64_t v;
  bool neg = t[0] == '-';
  if (!p2pc__scn_uint_in(neg ? t + 1 : t, 0, 1000000, &v))
    return false;
  long x = neg ? -(long)v : (long)v;
  if (x < lo || x > hi)
    return false;
  *out = (int)x;
  return true;
}

/* "7" or "3-9" (inclusive) as [a0, a1). */
bool p2pc__scn_node_range(const char *t, uint32_t *a0, uint32_t *a1) {
  char buf[32];
  size_t n = strlen(t);
  if (n >= sizeof buf)
    return false;
  memcpy(buf, t, n + 1);
  char *dash = strchr(buf, '-');
  uint64_t lo, hi;
  if (dash)
    *dash = '\0';
  if (!p2pc__scn_uint_in(buf, 0, P2PC_SIM_MAX_NODES - 1, &lo))
    return false;
  hi = lo;
  if (dash && !p2pc__scn_uint_in(dash + 1, lo, P2PC_SIM_MAX_NODES - 1, &hi))
    return false;
  *a0 = (uint32_t)lo;
  *a1 = (uint32_t)hi + 1;
  return true;
}

bool p2pc_scenario_duration(const char *s, bool bare_s, uint64_t *ns) {
  double v;
  if (!p2pc__scn_time_in(s, MAX_TIME_S, false, bare_s ? NS_PER_S : 0, &v) ||
      v < NS_PER_S)
    return false;
  *ns = (uint64_t)v;
  return true;
}

bool p2pc_scenario_lifetime(const char *s, uint64_t *ns) {
  double v;
  if (strcmp(s, "inf") == 0) {
    *ns = P2PC_SIM_LIFETIME_INF;
    return true;
  }
  if (!p2pc__scn_time_in(s, 1e6, false, NS_PER_S, &v) || v < 1e6)
    return false;
  *ns = (uint64_t)llround(v);
  return true;
}

bool p2pc_scenario_topology(const char *s, p2pc_sim_topology *t, uint32_t *k,
                            uint32_t *clusters) {
  uint64_t n;
  if (strcmp(s, "full") == 0) {
    *t = P2PC_SIM_FULL;
  } else if (strcmp(s, "ring") == 0) {
    *t = P2PC_SIM_RING;
  } else if (strncmp(s, "kregular:", 9) == 0 &&
             p2pc__scn_uint_in(s + 9, 2, 32, &n)) {
    *t = P2PC_SIM_KREGULAR;
    *k = (uint32_t)n;
  } else if (strncmp(s, "clusters:", 9) == 0 &&
             p2pc__scn_uint_in(s + 9, 1, P2PC_SIM_MAX_NODES, &n)) {
    *t = P2PC_SIM_CLUSTERS;
    *clusters = (uint32_t)n;
  } else {
    return false;
  }
  return true;
}
