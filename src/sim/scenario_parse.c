/* SPDX-License-Identifier: MIT */
/*
 * The scenario format of scenario.h, line by line: a tokenizer over
 * bounded lines of untrusted text, one function per directive (nodes,
 * duration, topology, link, clocks, traffic, ...; `at` and `expect` lines
 * have files of their own), reading a file, and the checks that only the
 * final configuration allows (after the command's flags).
 */
#include "scenario_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p2pclock/p2pclock.h>

/* ---- directives ---------------------------------------------------------- */

static int need(parser *p, int at_least, int at_most, const char *usage) {
  if (p->ntok < at_least || p->ntok > at_most)
    return p2pc__scn_fail(p, "usage: %s", usage);
  return 0;
}

/* key value pairs from tok[i] on into a link model */
int p2pc__scn_link_params(parser *p, int i, p2pc_sim_link *l) {
  if (i >= p->ntok)
    return p2pc__scn_fail(
        p, "link: nothing to set (delay, jitter, asym, loss, dup, "
           "reorder, bandwidth, heavy)");
  for (; i < p->ntok; i += 2) {
    const char *k = p->tok[i], *v = i + 1 < p->ntok ? p->tok[i + 1] : NULL;
    double x;
    if (!v)
      return p2pc__scn_bad(p, "link: a value must follow", k);
    if (strcmp(k, "delay") == 0 || strcmp(k, "jitter") == 0) {
      if (!p2pc__scn_time_ns(v, 60, false, &x))
        return p2pc__scn_bad(p, "link: delay and jitter are times 0..60s", v);
      if (k[0] == 'd')
        l->delay_ns = (uint64_t)x;
      else
        l->jitter_ns = (uint64_t)x;
    } else if (strcmp(k, "asym") == 0) {
      const char *u;
      if (!p2pc__scn_number(v, &x, &u) || *u || !(x > -1 && x < 1))
        return p2pc__scn_bad(p, "link: asym must be in (-1, 1)", v);
      l->asym = x;
    } else if (strcmp(k, "loss") == 0 || strcmp(k, "dup") == 0 ||
               strcmp(k, "reorder") == 0 || strcmp(k, "heavy") == 0) {
      if (!p2pc__scn_prob(v, &x))
        return p2pc__scn_bad(p, "link: a probability must be 0..1 or 0%..100%",
                             v);
      if (k[0] == 'l') {
        if (x >= 1)
          return p2pc__scn_bad(p, "link: loss must be below 1", v);
        l->loss = x;
      } else if (k[0] == 'd') {
        l->dup = x;
      } else if (k[0] == 'r') {
        l->reorder = x;
      } else {
        l->heavy = x;
      }
    } else if (strcmp(k, "bandwidth") == 0) {
      if (!p2pc__scn_bandwidth(v, &x))
        return p2pc__scn_bad(p,
                             "link: bandwidth must be like 100Mbit (bit, Kbit, "
                             "Mbit, Gbit), 0 = unlimited",
                             v);
      l->bandwidth_bps = x;
    } else {
      return p2pc__scn_bad(
          p,
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
    return p2pc__scn_fail(
        p, "usage: clocks [offset T] [drift P] [wander P] [noise T] "
           "[granularity T]");
  for (int i = 1; i < p->ntok; i += 2) {
    const char *k = p->tok[i], *v = p->tok[i + 1];
    double x;
    if (strcmp(k, "offset") == 0) {
      if (!p2pc__scn_time_ns(v, 1e6, false, &x))
        return p2pc__scn_bad(p, "clocks: offset must be a time 0..1e6s", v);
      c->offset_max_s = x / NS_PER_S;
    } else if (strcmp(k, "drift") == 0) {
      if (!p2pc__scn_ppm(v, 1000, false, &x))
        return p2pc__scn_bad(p, "clocks: drift must be 0..1000ppm", v);
      c->drift_max_ppm = x;
    } else if (strcmp(k, "wander") == 0) {
      if (!p2pc__scn_ppm(v, 100, false, &x))
        return p2pc__scn_bad(p, "clocks: wander must be 0..100ppm", v);
      c->clock_common.wander_ppm = x;
    } else if (strcmp(k, "noise") == 0 || strcmp(k, "granularity") == 0) {
      if (!p2pc__scn_time_ns(v, 1, false, &x))
        return p2pc__scn_bad(p, "clocks: noise and granularity are times 0..1s",
                             v);
      if (k[0] == 'n')
        c->clock_common.noise_ns = (uint64_t)x;
      else
        c->clock_common.granularity_ns = (uint64_t)x;
    } else {
      return p2pc__scn_bad(
          p,
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
    return p2pc__scn_fail(
        p, "usage: traffic [rate R] [bcast P] [payload N] [to any|peers]");
  for (int i = 1; i < p->ntok; i += 2) {
    const char *k = p->tok[i], *v = p->tok[i + 1];
    double x;
    const char *u;
    uint64_t n;
    if (strcmp(k, "rate") == 0) {
      if (!p2pc__scn_number(v, &x, &u) || *u || !(x >= 0 && x <= 10000))
        return p2pc__scn_bad(
            p, "traffic: rate must be 0..10000 messages/s a node", v);
      c->rate = x;
    } else if (strcmp(k, "bcast") == 0) {
      if (!p2pc__scn_prob(v, &x))
        return p2pc__scn_bad(p, "traffic: bcast must be 0..1 or 0%..100%", v);
      c->bcast = x;
    } else if (strcmp(k, "payload") == 0) {
      if (!p2pc__scn_uint_in(v, 0, 255, &n))
        return p2pc__scn_bad(p, "traffic: payload must be 0..255 bytes", v);
      c->payload = (uint32_t)n;
    } else if (strcmp(k, "to") == 0) {
      if (strcmp(v, "any") != 0 && strcmp(v, "peers") != 0)
        return p2pc__scn_bad(p, "traffic: to must be any or peers", v);
      c->to_any = strcmp(v, "any") == 0;
    } else {
      return p2pc__scn_bad(
          p, "traffic: unknown parameter (rate, bcast, payload, to)", k);
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
      return p2pc__scn_fail(
          p, "usage: topology full | ring | kregular K | clusters C");
    c->topology = t[0] == 'f' ? P2PC_SIM_FULL : P2PC_SIM_RING;
  } else if (strcmp(t, "kregular") == 0) {
    if (p->ntok != 3 || !p2pc__scn_uint_in(p->tok[2], 2, 32, &n))
      return p2pc__scn_fail(p, "usage: topology kregular K, K 2..32");
    c->topology = P2PC_SIM_KREGULAR;
    c->k = (uint32_t)n;
    p->sc->k_line = p->line;
  } else if (strcmp(t, "clusters") == 0) {
    if (p->ntok != 3 ||
        !p2pc__scn_uint_in(p->tok[2], 1, P2PC_SIM_MAX_NODES, &n))
      return p2pc__scn_fail(p, "usage: topology clusters C, C 1..nodes");
    c->topology = P2PC_SIM_CLUSTERS;
    c->clusters = (uint32_t)n;
    p->sc->k_line = p->line;
  } else {
    return p2pc__scn_fail(
        p, "usage: topology full | ring | kregular K | clusters C");
  }
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
    if (!p2pc__scn_uint_in(p->tok[1], 1, P2PC_SIM_MAX_NODES, &n))
      return p2pc__scn_bad(p, "nodes must be 1..100000", p->tok[1]);
    c->nodes = (uint32_t)n;
  } else if (strcmp(d, "duration") == 0) {
    if ((rv = need(p, 2, 2, "duration T")))
      return rv;
    if (!p2pc_scenario_duration(p->tok[1], false, &c->duration_ns))
      return p2pc__scn_bad(p, "duration must be a time 1s..30 days, like 120s",
                           p->tok[1]);
  } else if (strcmp(d, "seed") == 0) {
    if ((rv = need(p, 2, 2, "seed X")))
      return rv;
    if (!p2pc__scn_uint_in(p->tok[1], 0, UINT64_MAX, &n))
      return p2pc__scn_bad(p, "seed must be a decimal integer 0..2^64-1",
                           p->tok[1]);
    c->seed = n;
  } else if (strcmp(d, "topology") == 0) {
    return d_topology(p);
  } else if (strcmp(d, "mode") == 0) {
    if (p->ntok != 2 || (strcmp(p->tok[1], "reference") != 0 &&
                         strcmp(p->tok[1], "collaborative") != 0))
      return p2pc__scn_fail(p, "usage: mode reference | collaborative");
    c->collaborative = p->tok[1][0] == 'c';
  } else if (strcmp(d, "link") == 0 || strcmp(d, "slowlink") == 0) {
    return p2pc__scn_link_params(p, 1, d[0] == 'l' ? &c->link : &c->slow_link);
  } else if (strcmp(d, "clocks") == 0) {
    return d_clocks(p);
  } else if (strcmp(d, "traffic") == 0) {
    return d_traffic(p);
  } else if (strcmp(d, "alive") == 0) {
    if ((rv = need(p, 2, 2, "alive N")))
      return rv;
    if (!p2pc__scn_uint_in(p->tok[1], 1, P2PC_SIM_MAX_NODES, &n))
      return p2pc__scn_bad(p, "alive must be 1..nodes", p->tok[1]);
    c->initially_alive = (uint32_t)n;
    sc->alive_line = p->line;
  } else if (strcmp(d, "poll") == 0) {
    int lo, hi;
    if (p->ntok != 3 || !p2pc__scn_int_in(p->tok[1], -6, 10, &lo) ||
        !p2pc__scn_int_in(p->tok[2], lo, 10, &hi))
      return p2pc__scn_fail(
          p, "usage: poll MIN MAX, -6 <= MIN <= MAX <= 10 (log2 s)");
    c->poll_min = (int8_t)lo;
    c->poll_max = (int8_t)hi;
  } else if (strcmp(d, "causal") == 0) {
    if (p->ntok != 2 ||
        (strcmp(p->tok[1], "on") != 0 && strcmp(p->tok[1], "off") != 0))
      return p2pc__scn_fail(p, "usage: causal on | off");
    sc->causal = strcmp(p->tok[1], "on") == 0;
  } else if (strcmp(d, "lifetime") == 0) {
    if ((rv = need(p, 2, 2, "lifetime S | inf")))
      return rv;
    if (!p2pc_scenario_lifetime(p->tok[1], &c->causal_lifetime_ns))
      return p2pc__scn_bad(
          p,
          "lifetime must be seconds 0.001..1000000 (a plain number "
          "or a time like 90s, 2min) or inf",
          p->tok[1]);
  } else if (strcmp(d, "seeds") == 0) {
    if (p->ntok != 2 ||
        (strcmp(p->tok[1], "members") != 0 && strcmp(p->tok[1], "any") != 0))
      return p2pc__scn_fail(p, "usage: seeds members | any");
    c->seeds_members = p->tok[1][0] == 'm';
  } else if (strcmp(d, "exclude") == 0) {
    if (p->ntok < 2)
      return p2pc__scn_fail(p, "usage: exclude N... (node indices)");
    for (int i = 1; i < p->ntok; i++) {
      if (c->nexclude >= P2PC_SIM_MAX_EXCLUDE)
        return p2pc__scn_fail(p, "exclude: at most %d nodes",
                              P2PC_SIM_MAX_EXCLUDE);
      if (!p2pc__scn_uint_in(p->tok[i], 0, P2PC_SIM_MAX_NODES - 1, &n))
        return p2pc__scn_bad(p, "exclude: a node index", p->tok[i]);
      c->exclude[c->nexclude++] = (uint32_t)n;
    }
    sc->exclude_line = p->line;
  } else if (strcmp(d, "at") == 0) {
    return p2pc__scn_d_at(p);
  } else if (strcmp(d, "expect") == 0) {
    return p2pc__scn_d_expect(p);
  } else {
    return p2pc__scn_bad(p, "unknown directive", d);
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
      return p2pc__scn_fail(&p, "a NUL byte in the line");
    if (n > P2PC_SCN_MAX_LINE)
      return p2pc__scn_fail(&p, "line longer than %d bytes", P2PC_SCN_MAX_LINE);
    buf[n] = '\0';
    char *hash = strchr(buf, '#');
    if (hash)
      *hash = '\0';
    for (const char *c = buf; *c; c++) {
      unsigned char u = (unsigned char)*c;
      if ((u < 0x20 && u != '\t' && u != '\r') || u == 0x7f)
        return p2pc__scn_fail(&p, "a control character (0x%02x) in the line",
                              u);
    }
    p.ntok = 0;
    for (char *c = buf; *c;) {
      if (*c == ' ' || *c == '\t' || *c == '\r') {
        *c++ = '\0';
        continue;
      }
      if (p.ntok == MAX_TOKENS)
        return p2pc__scn_fail(&p, "more than %d words on the line", MAX_TOKENS);
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
      return p2pc__scn_fail(&p,
                            "node %u is beyond the %u nodes (indices 0..%u)",
                            hi - 1, c->nodes, c->nodes - 1);
    }
  }
  for (uint32_t i = 0; i < c->nexclude; i++)
    if (c->exclude[i] >= c->nodes) {
      p.line = sc->exclude_line;
      return p2pc__scn_fail(&p, "exclude: node %u is beyond the %u nodes",
                            c->exclude[i], c->nodes);
    }
  for (uint32_t i = 0; i < sc->nexpect; i++)
    if (sc->expect[i].kind == P2PC_SCN_FALSETICKER &&
        sc->expect[i].node >= c->nodes) {
      p.line = sc->expect[i].line;
      return p2pc__scn_fail(
          &p, "expect falseticker: node %u is beyond the %u nodes",
          sc->expect[i].node, c->nodes);
    }
  if (c->initially_alive > c->nodes) {
    p.line = sc->alive_line;
    return p2pc__scn_fail(&p, "alive %u is more than the %u nodes",
                          c->initially_alive, c->nodes);
  }
  if (c->topology == P2PC_SIM_CLUSTERS && c->clusters > c->nodes) {
    p.line = sc->k_line;
    return p2pc__scn_fail(&p, "%u clusters for %u nodes", c->clusters,
                          c->nodes);
  }
  return 0;
}
