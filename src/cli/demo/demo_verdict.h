/* SPDX-License-Identifier: MIT */
/*
 * The demo's verdict (demo_verdict.c).
 */
#ifndef P2PC_CLI_DEMO_VERDICT_H
#define P2PC_CLI_DEMO_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "demo_state.h"
#include "evcheck.h"

/* Where the verdict stands, from the checker's result and the demo's own
 * findings: all the report needs besides the run's counters; the human
 * text and the JSON both come from this. */
typedef struct p2pc_demo_verdict {
  const char *word; /* OK, FAILED, UNKNOWN, NOT_RUN, INTERRUPTED */
  bool ok;          /* the exit status is 0 */
  bool checked;     /* the checker gave a verdict: r below is valid */
  bool clocks_ok;
  uint64_t order, twice, missing, other; /* violations by kind */
  uint64_t lost;                         /* with the killed node */
  /* the checker's status (p2pc_evcheck_finish; P2PC_EVCHECK_EMPTY when it
   * was not asked) and its result (zero unless checked) */
  int check_status;
  p2pc_evcheck_result r;
} p2pc_demo_verdict;

/* The verdict on a run that ended: when it ran to its end (ran) and was
 * not interrupted, the checker's verdict on the event logs read so far
 * (p2pc_evcheck_finish: the caller has read them to their end), with the
 * clocks' measurement and the problems met; else NOT_RUN or INTERRUPTED. */
p2pc_demo_verdict p2pc__demo_verdict(p2pc_demo *d, bool ran);

#endif /* P2PC_CLI_DEMO_VERDICT_H */
