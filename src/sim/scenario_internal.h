/* SPDX-License-Identifier: MIT */
/*
 * The scenario parser's inside, shared by its files (scenario.h is the
 * contract): the parser's state over one line, and what each file offers
 * the others.
 *
 *   scenario_values.c  the words as values: times, rates, probabilities,
 *                      counts, node ranges; the messages FILE:LINE: ...
 *   scenario_parse.c   lines into words, the directives that set the
 *                      network, clocks and traffic; load, finish
 *   scenario_at.c      `at` lines: the run's timed events
 *   scenario_expect.c  `expect` lines: the oracles a run must satisfy
 *   scenario_judge.c   the judge: each expectation PASS, FAIL or SKIP
 */
#ifndef P2PC_SIM_SCENARIO_INTERNAL_H
#define P2PC_SIM_SCENARIO_INTERNAL_H

#include "scenario.h"

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

/* ---- scenario_values.c */

/* "FILE:LINE: message" (or "line N: ", or the bare message for the
 * flags) into p's err; returns P2PC_ERR_INVAL. */
__attribute__((format(printf, 2, 3))) int p2pc__scn_fail(parser *p,
                                                         const char *fmt, ...);
/* "<what>, got \"tok\"" (tok shown safely); returns P2PC_ERR_INVAL. */
int p2pc__scn_bad(parser *p, const char *what, const char *tok);
/* A finite decimal number at the start of t; *rest: the unit after it. */
bool p2pc__scn_number(const char *t, double *v, const char **rest);
/* A time with its unit, ns, within +-max_s; a bare number is in units of
 * `bare` ns, or refused if bare is 0 (a bare 0 is always allowed). */
bool p2pc__scn_time_in(const char *t, double max_s, bool sign_ok, double bare,
                       double *ns);
bool p2pc__scn_time_ns(const char *t, double max_s, bool sign_ok, double *ns);
bool p2pc__scn_ppm(const char *t, double max, bool sign_ok, double *out);
/* A probability: 0.01 or 1% */
bool p2pc__scn_prob(const char *t, double *out);
bool p2pc__scn_bandwidth(const char *t, double *bps);
/* A decimal integer lo..hi, digits only. */
bool p2pc__scn_uint_in(const char *t, uint64_t lo, uint64_t hi, uint64_t *out);
bool p2pc__scn_int_in(const char *t, int lo, int hi, int *out);
/* "7" or "3-9" (inclusive) as [a0, a1). */
bool p2pc__scn_node_range(const char *t, uint32_t *a0, uint32_t *a1);

/* ---- scenario_parse.c: key value pairs from tok[i] on into a link model */

int p2pc__scn_link_params(parser *p, int i, p2pc_sim_link *l);

/* ---- scenario_at.c, scenario_expect.c: the `at` and `expect` lines */

int p2pc__scn_d_at(parser *p);
int p2pc__scn_d_expect(parser *p);

#endif /* P2PC_SIM_SCENARIO_INTERNAL_H */
