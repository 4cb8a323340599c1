/* SPDX-License-Identifier: MIT */
/*
 * The scenario format of scenario.h: a tokenizer over bounded lines, one
 * function per directive, strict unit-bearing numbers, and the judge that
 * turns the simulator's per-second rows and result into PASS or FAIL per
 * expectation. The text comes from a file a user wrote (or a fuzzer), so
 * every token is checked and every message says FILE:LINE.
 */
#include "scenario.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p2pclock/p2pclock.h>

#define MAX_TOKENS 40
#define NS_PER_S 1e9
#define MAX_TIME_S 2592000.0 /* 30 days: far beyond any run, no overflow */
#define MAX_PPM 100000.0
#define DEFAULT_NODES 10

typedef struct parser {
  p2pc_scenario *sc;
  uint32_t line;
  char *err;
  size_t errlen;
  const char *tok[MAX_TOKENS];
  int ntok;
} parser;

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

__attribute__((format(printf, 2, 3))) static int fail(parser *p,
                                                      const char *fmt, ...) {
  char msg[256];
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
static int bad(parser *p, const char *what, const char *tok) {
  char s[48];
  shown(tok, s, sizeof s);
  return fail(p, "%s, got \"%s\"", what, s);
}

/* ---- numbers ------------------------------------------------------------- */

/* A finite number at the start of t; *rest gets the unit after it. */
static bool number(const char *t, double *v, const char **rest) {
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
static bool time_in(const char *t, double max_s, bool sign_ok, double bare,
                    double *ns) {
  static const struct {
    const char *u;
    double mul;
  } units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"min", 6e10}};
  double v;
  const char *u;
  if (!number(t, &v, &u))
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
static bool time_ns(const char *t, double max_s, bool sign_ok, double *ns) {
  return time_in(t, max_s, sign_ok, 0, ns);
}

static bool ppm(const char *t, double max, bool sign_ok, double *out) {
  double v;
  const char *u;
  if (!number(t, &v, &u) || (*u && strcmp(u, "ppm") != 0) || (!*u && v != 0) ||
      fabs(v) > max || (!sign_ok && v < 0))
    return false;
  *out = v;
  return true;
}

/* A probability: 0.01 or 1% */
static bool prob(const char *t, double *out) {
  double v;
  const char *u;
  if (!number(t, &v, &u))
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

static bool bandwidth(const char *t, double *bps) {
  double v;
  const char *u;
  if (!number(t, &v, &u) || v < 0)
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
static bool uint_in(const char *t, uint64_t lo, uint64_t hi, uint64_t *out) {
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

static bool int_in(const char *t, int lo, int hi, int *out) {
  uint64_t v;
  bool neg = t[0] == '-';
  if (!uint_in(neg ? t + 1 : t, 0, 1000000, &v))
    return false;
  long x = neg ? -(long)v : (long)v;
  if (x < lo || x > hi)
    return false;
  *out = (int)x;
  return true;
}

/* "7" or "3-9" (inclusive) as [a0, a1). */
static bool node_range(const char *t, uint32_t *a0, uint32_t *a1) {
  char buf[32];
  size_t n = strlen(t);
  if (n >= sizeof buf)
    return false;
  memcpy(buf, t, n + 1);
  char *dash = strchr(buf, '-');
  uint64_t lo, hi;
  if (dash)
    *dash = '\0';
  if (!uint_in(buf, 0, P2PC_SIM_MAX_NODES - 1, &lo))
    return false;
  hi = lo;
  if (dash && !uint_in(dash + 1, lo, P2PC_SIM_MAX_NODES - 1, &hi))
    return false;
  *a0 = (uint32_t)lo;
  *a1 = (uint32_t)hi + 1;
  return true;
}

/* ---- directives ---------------------------------------------------------- */

static int need(parser *p, int at_least, int at_most, const char *usage) {
  if (p->ntok < at_least || p->ntok > at_most)
    return fail(p, "usage: %s", usage);
  return 0;
}

/* key value pairs from tok[i] on into a link model */
static int link_params(parser *p, int i, p2pc_sim_link *l) {
  if (i >= p->ntok)
    return fail(p, "link: nothing to set (delay, jitter, asym, loss, dup, "
                   "reorder, bandwidth, heavy)");
  for (; i < p->ntok; i += 2) {
    const char *k = p->tok[i], *v = i + 1 < p->ntok ? p->tok[i + 1] : NULL;
    double x;
    if (!v)
      return bad(p, "link: a value must follow", k);
    if (strcmp(k, "delay") == 0 || strcmp(k, "jitter") == 0) {
      if (!time_ns(v, 60, false, &x))
        return bad(p, "link: delay and jitter are times 0..60s", v);
      if (k[0] == 'd')
        l->delay_ns = (uint64_t)x;
      else
        l->jitter_ns = (uint64_t)x;
    } else if (strcmp(k, "asym") == 0) {
      const char *u;
      if (!number(v, &x, &u) || *u || !(x > -1 && x < 1))
        return bad(p, "link: asym must be in (-1, 1)", v);
      l->asym = x;
    } else if (strcmp(k, "loss") == 0 || strcmp(k, "dup") == 0 ||
               strcmp(k, "reorder") == 0 || strcmp(k, "heavy") == 0) {
      if (!prob(v, &x))
        return bad(p, "link: a probability must be 0..1 or 0%..100%", v);
      if (k[0] == 'l') {
        if (x >= 1)
          return bad(p, "link: loss must be below 1", v);
        l->loss = x;
      } else if (k[0] == 'd') {
        l->dup = x;
      } else if (k[0] == 'r') {
        l->reorder = x;
      } else {
        l->heavy = x;
      }
    } else if (strcmp(k, "bandwidth") == 0) {
      if (!bandwidth(v, &x))
        return bad(p,
                   "link: bandwidth must be like 100Mbit (bit, Kbit, "
                   "Mbit, Gbit), 0 = unlimited",
                   v);
      l->bandwidth_bps = x;
    } else {
      return bad(p,
                 "link: unknown parameter (delay, jitter, asym, loss, dup, "
                 "reorder, bandwidth, heavy)",
                 k);
    }
  }
  return 0;
}

static int d_clocks(parser *p) {
  p2pc_sim_config *c = &p->sc->cfg;
  if (p->ntok < 3 || p->ntok % 2 == 0)
    return fail(p, "usage: clocks [offset T] [drift P] [wander P] [noise T] "
                   "[granularity T]");
  for (int i = 1; i < p->ntok; i += 2) {
    const char *k = p->tok[i], *v = p->tok[i + 1];
    double x;
    if (strcmp(k, "offset") == 0) {
      if (!time_ns(v, 1e6, false, &x))
        return bad(p, "clocks: offset must be a time 0..1e6s", v);
      c->offset_max_s = x / NS_PER_S;
    } else if (strcmp(k, "drift") == 0) {
      if (!ppm(v, 1000, false, &x))
        return bad(p, "clocks: drift must be 0..1000ppm", v);
      c->drift_max_ppm = x;
    } else if (strcmp(k, "wander") == 0) {
      if (!ppm(v, 100, false, &x))
        return bad(p, "clocks: wander must be 0..100ppm", v);
      c->clock_common.wander_ppm = x;
    } else if (strcmp(k, "noise") == 0 || strcmp(k, "granularity") == 0) {
      if (!time_ns(v, 1, false, &x))
        return bad(p, "clocks: noise and granularity are times 0..1s", v);
      if (k[0] == 'n')
        c->clock_common.noise_ns = (uint64_t)x;
      else
        c->clock_common.granularity_ns = (uint64_t)x;
    } else {
      return bad(p,
                 "clocks: unknown parameter (offset, drift, wander, noise, "
                 "granularity)",
                 k);
    }
  }
  return 0;
}

static int d_traffic(parser *p) {
  p2pc_sim_config *c = &p->sc->cfg;
  if (p->ntok < 3 || p->ntok % 2 == 0)
    return fail(p, "usage: traffic [rate R] [bcast P] [payload N]");
  for (int i = 1; i < p->ntok; i += 2) {
    const char *k = p->tok[i], *v = p->tok[i + 1];
    double x;
    const char *u;
    uint64_t n;
    if (strcmp(k, "rate") == 0) {
      if (!number(v, &x, &u) || *u || !(x >= 0 && x <= 10000))
        return bad(p, "traffic: rate must be 0..10000 messages/s a node", v);
      c->rate = x;
    } else if (strcmp(k, "bcast") == 0) {
      if (!prob(v, &x))
        return bad(p, "traffic: bcast must be 0..1 or 0%..100%", v);
      c->bcast = x;
    } else if (strcmp(k, "payload") == 0) {
      if (!uint_in(v, 0, 255, &n))
        return bad(p, "traffic: payload must be 0..255 bytes", v);
      c->payload = (uint32_t)n;
    } else {
      return bad(p, "traffic: unknown parameter (rate, bcast, payload)", k);
    }
  }
  return 0;
}

static int d_topology(parser *p) {
  p2pc_sim_config *c = &p->sc->cfg;
  const char *t = p->ntok > 1 ? p->tok[1] : "";
  uint64_t n;
  if (strcmp(t, "full") == 0 || strcmp(t, "ring") == 0) {
    if (p->ntok != 2)
      return fail(p, "usage: topology full | ring | kregular K | clusters C");
    c->topology = t[0] == 'f' ? P2PC_SIM_FULL : P2PC_SIM_RING;
  } else if (strcmp(t, "kregular") == 0) {
    if (p->ntok != 3 || !uint_in(p->tok[2], 2, 32, &n))
      return fail(p, "usage: topology kregular K, K 2..32");
    c->topology = P2PC_SIM_KREGULAR;
    c->k = (uint32_t)n;
    p->sc->k_line = p->line;
  } else if (strcmp(t, "clusters") == 0) {
    if (p->ntok != 3 || !uint_in(p->tok[2], 1, P2PC_SIM_MAX_NODES, &n))
      return fail(p, "usage: topology clusters C, C 1..nodes");
    c->topology = P2PC_SIM_CLUSTERS;
    c->clusters = (uint32_t)n;
    p->sc->k_line = p->line;
  } else {
    return fail(p, "usage: topology full | ring | kregular K | clusters C");
  }
  return 0;
}

static int add_event(parser *p, const p2pc_sim_event *e) {
  p2pc_scenario *sc = p->sc;
  if (sc->cfg.nevents >= P2PC_SIM_MAX_EVENTS)
    return fail(p, "too many events (at most %d)", P2PC_SIM_MAX_EVENTS);
  sc->ev_line[sc->cfg.nevents] = p->line;
  sc->cfg.events[sc->cfg.nevents++] = *e;
  return 0;
}

/* at T[..T2] <what> <args> */
static int d_at(parser *p) {
  static const char usage[] =
      "usage: at T partition A B | heal | crash R | restart R | join R | "
      "leave R | slow R xF | clockstep R +-T | clockfreq R P | link ...";
  if (p->ntok < 3)
    return fail(p, "%s", usage);
  char when[48];
  snprintf(when, sizeof when, "%s", p->tok[1]);
  char *dots = strstr(when, "..");
  double t0, t1;
  if (strlen(p->tok[1]) >= sizeof when)
    return bad(p, "at: the time must be like 30s or 0s..60s", p->tok[1]);
  if (dots)
    *dots = '\0';
  if (!time_ns(when, MAX_TIME_S, false, &t0) ||
      (dots && !time_ns(dots + 2, MAX_TIME_S, false, &t1)))
    return bad(p, "at: the time must be like 30s or 0s..60s", p->tok[1]);
  if (dots && t1 < t0)
    return bad(p, "at: a time span must not end before it starts", p->tok[1]);
  const char *w = p->tok[2];
  p2pc_sim_event e;
  memset(&e, 0, sizeof e);
  e.at_ns = (uint64_t)t0;
  bool ranged = strcmp(w, "crash") == 0 || strcmp(w, "restart") == 0 ||
                strcmp(w, "join") == 0 || strcmp(w, "leave") == 0;
  if (dots && !ranged)
    return fail(p, "at: a time span T..T2 is only for crash, restart, "
                   "join and leave");
  if (strcmp(w, "partition") == 0) {
    if (p->ntok != 5 || !node_range(p->tok[3], &e.a0, &e.a1) ||
        !node_range(p->tok[4], &e.b0, &e.b1))
      return fail(p, "usage: at T partition A B (node ranges like 0-49)");
    e.kind = P2PC_SIM_EV_PARTITION;
    return add_event(p, &e);
  }
  if (strcmp(w, "heal") == 0) {
    if (p->ntok != 3)
      return fail(p, "usage: at T heal");
    e.kind = P2PC_SIM_EV_HEAL;
    return add_event(p, &e);
  }
  if (strcmp(w, "link") == 0) {
    e.kind = P2PC_SIM_EV_LINK;
    e.link = p->sc->cfg.link; /* what is not given stays as `link` says */
    int rv = link_params(p, 3, &e.link);
    return rv ? rv : add_event(p, &e);
  }
  if (p->ntok < 4 || !node_range(p->tok[3], &e.a0, &e.a1))
    return fail(p, "%s (R: a node index or a range like 0-49)", usage);
  if (ranged) {
    if (p->ntok != 4)
      return fail(p, "usage: at T %s R", w);
    e.kind = w[0] == 'c'   ? P2PC_SIM_EV_CRASH
             : w[0] == 'r' ? P2PC_SIM_EV_RESTART
             : w[0] == 'j' ? P2PC_SIM_EV_JOIN
                           : P2PC_SIM_EV_LEAVE;
    if (!dots)
      return add_event(p, &e);
    /* one node at a time, evenly over [t0, t1] */
    uint32_t m = e.a1 - e.a0, first = e.a0;
    if (m > P2PC_SIM_MAX_EVENTS - p->sc->cfg.nevents)
      return fail(p, "too many events (at most %d)", P2PC_SIM_MAX_EVENTS);
    for (uint32_t k = 0; k < m; k++) {
      e.a0 = first + k;
      e.a1 = e.a0 + 1;
      e.at_ns = (uint64_t)(m > 1 ? t0 + (t1 - t0) * k / (m - 1) : t0);
      int rv = add_event(p, &e);
      if (rv)
        return rv;
    }
    return 0;
  }
  if (p->ntok != 5)
    return fail(p, "%s", usage);
  const char *v = p->tok[4];
  double x;
  const char *u;
  if (strcmp(w, "slow") == 0) {
    if (!number(v[0] == 'x' ? v + 1 : v, &x, &u) || *u || !(x >= 1) || x > 1000)
      return bad(p, "at T slow R xF: F must be 1..1000", v);
    e.kind = P2PC_SIM_EV_SLOW;
    e.x = x;
  } else if (strcmp(w, "clockstep") == 0) {
    if (!time_ns(v, 1e6, true, &x))
      return bad(p, "at T clockstep R +-T: a signed time up to 1e6s", v);
    e.kind = P2PC_SIM_EV_CLOCK_STEP;
    e.x = x / NS_PER_S;
  } else if (strcmp(w, "clockfreq") == 0) {
    if (!ppm(v, MAX_PPM, true, &x))
      return bad(p, "at T clockfreq R P: a drift in ppm, |P| <= 100000", v);
    e.kind = P2PC_SIM_EV_CLOCK_FREQ;
    e.x = x;
  } else {
    return bad(p, "at: unknown event", w);
  }
  return add_event(p, &e);
}

static int d_expect(parser *p) {
  p2pc_scenario *sc = p->sc;
  static const char usage[] =
      "usage: expect spread < T [after T] [until T] | error < T ... | "
      "converge < T | causal ok | membership ok | bounds ok | synced all | "
      "synced >= N | falseticker N [after T] [until T] | expired 0 | "
      "expired <= N | meta_p99 <= BYTES";
  if (sc->nexpect >= P2PC_SCN_MAX_EXPECT)
    return fail(p, "too many expectations (at most %d)", P2PC_SCN_MAX_EXPECT);
  if (p->ntok < 3)
    return fail(p, "%s", usage);
  p2pc_scn_expect x;
  memset(&x, 0, sizeof x);
  x.line = p->line;
  const char *w = p->tok[1];
  double v;
  uint64_t n;
  if (strcmp(w, "spread") == 0 || strcmp(w, "error") == 0) {
    if ((p->ntok != 4 && p->ntok != 6 && p->ntok != 8) ||
        strcmp(p->tok[2], "<") != 0)
      return fail(p, "usage: expect %s < T [after T] [until T]", w);
    if (!time_ns(p->tok[3], 1e6, false, &v) || v <= 0)
      return bad(p, "expect: the limit must be a time above 0", p->tok[3]);
    x.kind = w[0] == 's' ? P2PC_SCN_SPREAD : P2PC_SCN_ERROR;
    x.limit = v;
    x.until_ns = UINT64_MAX;
    for (int i = 4; i < p->ntok; i += 2) {
      bool after = strcmp(p->tok[i], "after") == 0;
      if (!after && strcmp(p->tok[i], "until") != 0)
        return fail(p, "usage: expect %s < T [after T] [until T]", w);
      if (!time_ns(p->tok[i + 1], MAX_TIME_S, false, &v))
        return bad(p, "expect: after and until take a time", p->tok[i + 1]);
      if (after)
        x.after_ns = (uint64_t)v;
      else
        x.until_ns = (uint64_t)v;
    }
    if (x.until_ns <= x.after_ns)
      return fail(p, "expect: until must come after after");
  } else if (strcmp(w, "converge") == 0) {
    if (p->ntok != 4 || strcmp(p->tok[2], "<") != 0)
      return fail(p, "usage: expect converge < T");
    if (!time_ns(p->tok[3], MAX_TIME_S, false, &v) || v <= 0)
      return bad(p, "expect: the limit must be a time above 0", p->tok[3]);
    x.kind = P2PC_SCN_CONVERGE;
    x.limit = v / NS_PER_S;
  } else if (strcmp(w, "causal") == 0 || strcmp(w, "membership") == 0 ||
             strcmp(w, "bounds") == 0) {
    if (p->ntok != 3 || strcmp(p->tok[2], "ok") != 0)
      return fail(p, "usage: expect %s ok", w);
    x.kind = w[0] == 'c'   ? P2PC_SCN_CAUSAL
             : w[0] == 'm' ? P2PC_SCN_MEMBERSHIP
                           : P2PC_SCN_BOUNDS;
  } else if (strcmp(w, "synced") == 0) {
    x.kind = P2PC_SCN_SYNCED;
    if (p->ntok == 3 && strcmp(p->tok[2], "all") == 0) {
      x.count = 0;
    } else if (p->ntok == 4 && strcmp(p->tok[2], ">=") == 0 &&
               uint_in(p->tok[3], 1, P2PC_SIM_MAX_NODES, &n)) {
      x.count = (uint32_t)n;
    } else {
      return fail(p, "usage: expect synced all | expect synced >= N");
    }
  } else if (strcmp(w, "falseticker") == 0) {
    if ((p->ntok != 3 && p->ntok != 5 && p->ntok != 7) ||
        !uint_in(p->tok[2], 0, P2PC_SIM_MAX_NODES - 1, &n))
      return fail(p, "usage: expect falseticker N [after T] [until T] (N: a "
                     "node index)");
    x.kind = P2PC_SCN_FALSETICKER;
    x.node = (uint32_t)n;
    x.at_end = p->ntok == 3;
    x.until_ns = UINT64_MAX;
    for (int i = 3; i < p->ntok; i += 2) {
      bool after = strcmp(p->tok[i], "after") == 0;
      if (!after && strcmp(p->tok[i], "until") != 0)
        return fail(p, "usage: expect falseticker N [after T] [until T]");
      if (!time_ns(p->tok[i + 1], MAX_TIME_S, false, &v))
        return bad(p, "expect: after and until take a time", p->tok[i + 1]);
      if (after)
        x.after_ns = (uint64_t)v;
      else
        x.until_ns = (uint64_t)v;
    }
    if (x.until_ns <= x.after_ns)
      return fail(p, "expect: until must come after after");
  } else if (strcmp(w, "expired") == 0) {
    x.kind = P2PC_SCN_EXPIRED;
    if (p->ntok == 3 && strcmp(p->tok[2], "0") == 0) {
      x.limit = 0;
    } else if (p->ntok == 4 && strcmp(p->tok[2], "<=") == 0 &&
               uint_in(p->tok[3], 0, UINT32_MAX, &n)) {
      x.limit = (double)n;
    } else {
      return fail(p, "usage: expect expired 0 | expect expired <= N");
    }
  } else if (strcmp(w, "meta_p99") == 0) {
    if (p->ntok != 4 || strcmp(p->tok[2], "<=") != 0)
      return fail(p, "usage: expect meta_p99 <= BYTES");
    if (!uint_in(p->tok[3], 0, UINT32_MAX, &n))
      return bad(p, "expect meta_p99: BYTES must be an integer 0..4294967295",
                 p->tok[3]);
    x.kind = P2PC_SCN_META_P99;
    x.limit = (double)n;
  } else {
    return bad(p,
               "expect: unknown oracle (spread, error, converge, causal, "
               "membership, bounds, synced, falseticker, expired, meta_p99)",
               w);
  }
  /* the words as written, normalised to single blanks */
  size_t o = 0;
  for (int i = 1; i < p->ntok && o + 1 < sizeof x.text; i++) {
    int w2 = snprintf(x.text + o, sizeof x.text - o, "%s%s", i > 1 ? " " : "",
                      p->tok[i]);
    if (w2 < 0)
      break;
    o += (size_t)w2;
  }
  sc->expect[sc->nexpect++] = x;
  return 0;
}

static int directive(parser *p) {
  p2pc_scenario *sc = p->sc;
  p2pc_sim_config *c = &sc->cfg;
  const char *d = p->tok[0];
  uint64_t n;
  int rv;
  if (strcmp(d, "nodes") == 0) {
    if ((rv = need(p, 2, 2, "nodes N")))
      return rv;
    if (!uint_in(p->tok[1], 1, P2PC_SIM_MAX_NODES, &n))
      return bad(p, "nodes must be 1..100000", p->tok[1]);
    c->nodes = (uint32_t)n;
  } else if (strcmp(d, "duration") == 0) {
    if ((rv = need(p, 2, 2, "duration T")))
      return rv;
    if (!p2pc_scenario_duration(p->tok[1], false, &c->duration_ns))
      return bad(p, "duration must be a time 1s..30 days, like 120s",
                 p->tok[1]);
  } else if (strcmp(d, "seed") == 0) {
    if ((rv = need(p, 2, 2, "seed X")))
      return rv;
    if (!uint_in(p->tok[1], 0, UINT64_MAX, &n))
      return bad(p, "seed must be a decimal integer 0..2^64-1", p->tok[1]);
    c->seed = n;
  } else if (strcmp(d, "topology") == 0) {
    return d_topology(p);
  } else if (strcmp(d, "mode") == 0) {
    if (p->ntok != 2 || (strcmp(p->tok[1], "reference") != 0 &&
                         strcmp(p->tok[1], "collaborative") != 0))
      return fail(p, "usage: mode reference | collaborative");
    c->collaborative = p->tok[1][0] == 'c';
  } else if (strcmp(d, "link") == 0 || strcmp(d, "slowlink") == 0) {
    return link_params(p, 1, d[0] == 'l' ? &c->link : &c->slow_link);
  } else if (strcmp(d, "clocks") == 0) {
    return d_clocks(p);
  } else if (strcmp(d, "traffic") == 0) {
    return d_traffic(p);
  } else if (strcmp(d, "alive") == 0) {
    if ((rv = need(p, 2, 2, "alive N")))
      return rv;
    if (!uint_in(p->tok[1], 1, P2PC_SIM_MAX_NODES, &n))
      return bad(p, "alive must be 1..nodes", p->tok[1]);
    c->initially_alive = (uint32_t)n;
    sc->alive_line = p->line;
  } else if (strcmp(d, "poll") == 0) {
    int lo, hi;
    if (p->ntok != 3 || !int_in(p->tok[1], -6, 10, &lo) ||
        !int_in(p->tok[2], lo, 10, &hi))
      return fail(p, "usage: poll MIN MAX, -6 <= MIN <= MAX <= 10 (log2 s)");
    c->poll_min = (int8_t)lo;
    c->poll_max = (int8_t)hi;
  } else if (strcmp(d, "causal") == 0) {
    if (p->ntok != 2 ||
        (strcmp(p->tok[1], "on") != 0 && strcmp(p->tok[1], "off") != 0))
      return fail(p, "usage: causal on | off");
    sc->causal = strcmp(p->tok[1], "on") == 0;
  } else if (strcmp(d, "lifetime") == 0) {
    if ((rv = need(p, 2, 2, "lifetime S | inf")))
      return rv;
    if (!p2pc_scenario_lifetime(p->tok[1], &c->causal_lifetime_ns))
      return bad(p,
                 "lifetime must be seconds 0.001..1000000 (a plain number "
                 "or a time like 90s, 2min) or inf",
                 p->tok[1]);
  } else if (strcmp(d, "seeds") == 0) {
    if (p->ntok != 2 ||
        (strcmp(p->tok[1], "members") != 0 && strcmp(p->tok[1], "any") != 0))
      return fail(p, "usage: seeds members | any");
    c->seeds_members = p->tok[1][0] == 'm';
  } else if (strcmp(d, "exclude") == 0) {
    if (p->ntok < 2)
      return fail(p, "usage: exclude N... (node indices)");
    for (int i = 1; i < p->ntok; i++) {
      if (c->nexclude >= P2PC_SIM_MAX_EXCLUDE)
        return fail(p, "exclude: at most %d nodes", P2PC_SIM_MAX_EXCLUDE);
      if (!uint_in(p->tok[i], 0, P2PC_SIM_MAX_NODES - 1, &n))
        return bad(p, "exclude: a node index", p->tok[i]);
      c->exclude[c->nexclude++] = (uint32_t)n;
    }
    sc->exclude_line = p->line;
  } else if (strcmp(d, "at") == 0) {
    return d_at(p);
  } else if (strcmp(d, "expect") == 0) {
    return d_expect(p);
  } else {
    return bad(p, "unknown directive", d);
  }
  return 0;
}

/* ---- the public face ----------------------------------------------------- */

void p2pc_scenario_init(p2pc_scenario *sc, uint32_t n, const char *file) {
  memset(sc, 0, sizeof *sc);
  p2pc_sim_config_default(&sc->cfg, n);
  sc->causal = -1;
  snprintf(sc->file, sizeof sc->file, "%s", file ? file : "");
}

int p2pc_scenario_parse(p2pc_scenario *sc, const char *text, size_t len,
                        char *err, size_t errlen) {
  parser p = {.sc = sc, .err = err, .errlen = errlen};
  char buf[P2PC_SCN_MAX_LINE + 1];
  size_t pos = 0;
  while (pos < len) {
    p.line++;
    size_t n = 0;
    bool nul = false;
    while (pos < len && text[pos] != '\n') {
      if (text[pos] == '\0')
        nul = true;
      if (n < P2PC_SCN_MAX_LINE)
        buf[n] = text[pos];
      n++;
      pos++;
    }
    pos++; /* the newline, or past the end */
    if (nul)
      return fail(&p, "a NUL byte in the line");
    if (n > P2PC_SCN_MAX_LINE)
      return fail(&p, "line longer than %d bytes", P2PC_SCN_MAX_LINE);
    buf[n] = '\0';
    char *hash = strchr(buf, '#');
    if (hash)
      *hash = '\0';
    for (const char *c = buf; *c; c++) {
      unsigned char u = (unsigned char)*c;
      if ((u < 0x20 && u != '\t' && u != '\r') || u == 0x7f)
        return fail(&p, "a control character (0x%02x) in the line", u);
    }
    p.ntok = 0;
    for (char *c = buf; *c;) {
      if (*c == ' ' || *c == '\t' || *c == '\r') {
        *c++ = '\0';
        continue;
      }
      if (p.ntok == MAX_TOKENS)
        return fail(&p, "more than %d words on the line", MAX_TOKENS);
      p.tok[p.ntok++] = c;
      while (*c && *c != ' ' && *c != '\t' && *c != '\r')
        c++;
    }
    if (p.ntok == 0)
      continue;
    int rv = directive(&p);
    if (rv)
      return rv;
  }
  return 0;
}

int p2pc_scenario_load(p2pc_scenario *sc, const char *path, char *err,
                       size_t errlen) {
  p2pc_scenario_init(sc, DEFAULT_NODES, path);
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
    return -e;
  }
  char *text = malloc(P2PC_SCN_MAX_FILE + 1);
  if (!text) {
    fclose(f);
    snprintf(err, errlen, "%s: out of memory", path);
    return P2PC_ERR_NOMEM;
  }
  size_t len = fread(text, 1, P2PC_SCN_MAX_FILE + 1, f);
  int rv = 0;
  if (ferror(f)) {
    rv = errno ? -errno : -EIO;
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rv));
  } else if (len > P2PC_SCN_MAX_FILE) {
    rv = P2PC_ERR_INVAL;
    snprintf(err, errlen, "%s: larger than %d bytes", path, P2PC_SCN_MAX_FILE);
  } else {
    rv = p2pc_scenario_parse(sc, text, len, err, errlen);
  }
  free(text);
  fclose(f);
  return rv;
}

bool p2pc_scenario_duration(const char *s, bool bare_s, uint64_t *ns) {
  double v;
  if (!time_in(s, MAX_TIME_S, false, bare_s ? NS_PER_S : 0, &v) || v < NS_PER_S)
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
  if (!time_in(s, 1e6, false, NS_PER_S, &v) || v < 1e6)
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
  } else if (strncmp(s, "kregular:", 9) == 0 && uint_in(s + 9, 2, 32, &n)) {
    *t = P2PC_SIM_KREGULAR;
    *k = (uint32_t)n;
  } else if (strncmp(s, "clusters:", 9) == 0 &&
             uint_in(s + 9, 1, P2PC_SIM_MAX_NODES, &n)) {
    *t = P2PC_SIM_CLUSTERS;
    *clusters = (uint32_t)n;
  } else {
    return false;
  }
  return true;
}

int p2pc_scenario_finish(p2pc_scenario *sc, char *err, size_t errlen) {
  p2pc_sim_config *c = &sc->cfg;
  parser p = {.sc = sc, .err = err, .errlen = errlen};
  if (sc->causal >= 0)
    c->causal_oracle = sc->causal == 1;
  else
    c->causal_oracle = c->nodes <= 2000; /* sim.h's default */
  for (uint32_t i = 0; i < c->nevents; i++) {
    const p2pc_sim_event *e = &c->events[i];
    uint32_t hi = e->a1 > e->b1 ? e->a1 : e->b1;
    bool nodes = e->kind != P2PC_SIM_EV_HEAL && e->kind != P2PC_SIM_EV_LINK;
    if (nodes && hi > c->nodes) {
      p.line = sc->ev_line[i];
      return fail(&p, "node %u is beyond the %u nodes (indices 0..%u)", hi - 1,
                  c->nodes, c->nodes - 1);
    }
  }
  for (uint32_t i = 0; i < c->nexclude; i++)
    if (c->exclude[i] >= c->nodes) {
      p.line = sc->exclude_line;
      return fail(&p, "exclude: node %u is beyond the %u nodes", c->exclude[i],
                  c->nodes);
    }
  for (uint32_t i = 0; i < sc->nexpect; i++)
    if (sc->expect[i].kind == P2PC_SCN_FALSETICKER &&
        sc->expect[i].node >= c->nodes) {
      p.line = sc->expect[i].line;
      return fail(&p, "expect falseticker: node %u is beyond the %u nodes",
                  sc->expect[i].node, c->nodes);
    }
  if (c->initially_alive > c->nodes) {
    p.line = sc->alive_line;
    return fail(&p, "alive %u is more than the %u nodes", c->initially_alive,
                c->nodes);
  }
  if (c->topology == P2PC_SIM_CLUSTERS && c->clusters > c->nodes) {
    p.line = sc->k_line;
    return fail(&p, "%u clusters for %u nodes", c->clusters, c->nodes);
  }
  return 0;
}

/* ---- the judge ----------------------------------------------------------- */

void p2pc_scn_format_ns(double ns, char *s, size_t n) {
  double a = fabs(ns);
  if (a < 1e3)
    snprintf(s, n, "%.0f ns", ns);
  else if (a < 1e6)
    snprintf(s, n, "%.1f us", ns / 1e3);
  else if (a < 1e9)
    snprintf(s, n, "%.2f ms", ns / 1e6);
  else
    snprintf(s, n, "%.3f s", ns / 1e9);
}

void p2pc_scn_judge_init(p2pc_scn_judge *j, const p2pc_scenario *sc) {
  memset(j, 0, sizeof *j);
  j->n = sc->nexpect;
}

void p2pc_scn_judge_row(p2pc_scn_judge *j, const p2pc_scenario *sc,
                        const p2pc_sim_second *row) {
  for (uint32_t i = 0; i < j->n; i++) {
    const p2pc_scn_expect *x = &sc->expect[i];
    p2pc_scn_verdict *v = &j->v[i];
    if (x->kind != P2PC_SCN_SPREAD && x->kind != P2PC_SCN_ERROR)
      continue;
    double t = (double)row->t_s * NS_PER_S;
    if (t < (double)x->after_ns || t >= (double)x->until_ns)
      continue;
    double m = x->kind == P2PC_SCN_SPREAD ? row->spread : row->err_max;
    if (!v->seen || m > v->measured)
      v->measured = m;
    v->seen = true;
  }
}

/* One look at how the others treat x->node's clock: true if they all
 * reject it; why in s either way. */
static bool judge_liar(const p2pc_sim *sim, uint32_t node, char *s, size_t n) {
  p2pc_sim_falseticker f;
  if (!p2pc_sim_falseticker_get(sim, node, &f)) {
    snprintf(s, n, "n%u is not a node", node);
    return false;
  }
  if (!f.alive) {
    snprintf(s, n, "n%u is not alive", node);
    return false;
  }
  if (f.followers) {
    snprintf(s, n, "n%u is the reference of %u nodes", node, f.followers);
    return false;
  }
  if (!f.judges) {
    snprintf(s, n, "no synced node to judge n%u", node);
    return false;
  }
  if (f.rejecting < f.judges) {
    snprintf(s, n, "n%u used by %u of %u synced nodes (n%u first)", node,
             f.judges - f.rejecting, f.judges, f.first_user);
    return false;
  }
  snprintf(s, n, "n%u rejected by %u of %u synced nodes, %u as falseticker",
           node, f.rejecting, f.judges, f.marked);
  return true;
}

void p2pc_scn_judge_sim(p2pc_scn_judge *j, const p2pc_scenario *sc,
                        const p2pc_sim *s, uint64_t t_s, bool end) {
  for (uint32_t i = 0; i < j->n; i++) {
    const p2pc_scn_expect *x = &sc->expect[i];
    p2pc_scn_verdict *v = &j->v[i];
    if (x->kind != P2PC_SCN_FALSETICKER || x->at_end != end)
      continue;
    double t = (double)t_s * NS_PER_S;
    if (!end && (t < (double)x->after_ns || t >= (double)x->until_ns))
      continue;
    char why[80];
    bool ok = judge_liar(s, x->node, why, sizeof why);
    v->seen = true;
    if (end) { /* measured: 1 if the end fails */
      v->measured = !ok;
      snprintf(v->detail, sizeof v->detail, "%s", why);
    } else if (!ok) { /* measured: the failing seconds; the first says why */
      if (v->measured == 0)
        snprintf(v->detail, sizeof v->detail, "at %llu s: %s",
                 (unsigned long long)t_s, why);
      v->measured++;
    } else if (v->measured == 0) {
      snprintf(v->detail, sizeof v->detail, "%s, at %llu s", why,
               (unsigned long long)t_s);
    }
  }
}

uint32_t p2pc_scn_judge_end(p2pc_scn_judge *j, const p2pc_scenario *sc,
                            const p2pc_sim_result *r) {
  uint32_t failed = 0;
  char a[32];
  for (uint32_t i = 0; i < j->n; i++) {
    const p2pc_scn_expect *x = &sc->expect[i];
    p2pc_scn_verdict *v = &j->v[i];
    switch (x->kind) {
    case P2PC_SCN_SPREAD:
    case P2PC_SCN_ERROR:
      v->pass = v->seen && v->measured < x->limit;
      p2pc_scn_format_ns(v->measured, a, sizeof a);
      if (v->seen)
        snprintf(v->detail, sizeof v->detail, "worst %s", a);
      else
        snprintf(v->detail, sizeof v->detail, "no second in its window");
      break;
    case P2PC_SCN_CONVERGE:
      v->measured = r->conv_s;
      v->pass = r->conv_s >= 0 && r->conv_s < x->limit;
      if (r->conv_s >= 0)
        snprintf(v->detail, sizeof v->detail, "converged at %.0f s", r->conv_s);
      else
        snprintf(v->detail, sizeof v->detail, "not converged at the end");
      break;
    case P2PC_SCN_CAUSAL:
      if (!r->causal_checked) {
        v->skipped = true;
        v->pass = true;
        snprintf(v->detail, sizeof v->detail, "the causal oracle did not run");
        break;
      }
      v->measured = (double)(r->causal_violations + r->missing);
      v->pass = r->causal_violations == 0 && r->missing == 0;
      snprintf(v->detail, sizeof v->detail, "%llu violations, %llu missing",
               (unsigned long long)r->causal_violations,
               (unsigned long long)r->missing);
      break;
    case P2PC_SCN_MEMBERSHIP:
      v->pass = r->membership_ok;
      snprintf(v->detail, sizeof v->detail, "%s",
               r->membership_ok ? "connected, links as expected"
                                : "disconnected or short of links");
      break;
    case P2PC_SCN_BOUNDS:
      v->measured = (double)r->bound_violations;
      v->pass = r->bound_violations == 0;
      snprintf(v->detail, sizeof v->detail, "%llu violations",
               (unsigned long long)r->bound_violations);
      break;
    case P2PC_SCN_SYNCED:
      v->measured = r->synced;
      v->pass = x->count ? r->synced >= x->count
                         : r->alive > 0 && r->synced == r->alive;
      snprintf(v->detail, sizeof v->detail, "%u of %u alive synced", r->synced,
               r->alive);
      break;
    case P2PC_SCN_EXPIRED:
      v->measured = (double)(r->expired_rx + r->expired_tx);
      v->pass = v->measured <= x->limit;
      snprintf(
          v->detail, sizeof v->detail, "%llu at receivers, %llu at senders",
          (unsigned long long)r->expired_rx, (unsigned long long)r->expired_tx);
      break;
    case P2PC_SCN_META_P99:
      if (!r->meta_msgs) {
        v->skipped = true;
        v->pass = true;
        snprintf(v->detail, sizeof v->detail,
                 "no message sent to another node");
        break;
      }
      v->measured = (double)r->meta_p99;
      v->pass = v->measured <= x->limit;
      snprintf(v->detail, sizeof v->detail,
               "p99 %llu B (mean %.0f, max %llu; %llu messages)",
               (unsigned long long)r->meta_p99, r->meta_per_msg,
               (unsigned long long)r->meta_max,
               (unsigned long long)r->meta_msgs);
      break;
    case P2PC_SCN_FALSETICKER:
      v->pass = v->seen && v->measured == 0;
      if (!v->seen)
        snprintf(v->detail, sizeof v->detail, "%s",
                 x->at_end ? "not judged (no look at the nodes at the end)"
                           : "no second in its window");
      else if (!x->at_end && v->measured > 1)
        snprintf(v->detail + strlen(v->detail),
                 sizeof v->detail - strlen(v->detail), "; %.0f s in all",
                 v->measured);
      break;
    }
    if (!v->pass)
      failed++;
  }
  return failed;
}
