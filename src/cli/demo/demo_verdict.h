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
 * findings; the human text and the JSON both come from this. */
typedef struct p2pc_demo_verdict {
  const char *word; /* OK, FAILED, UNKNOWN, NOT_RUN, INTERRUPTED */
  bool ok;          /* the exit status is 0 */
  bool checked;     /* the checker gave a verdict: r below is valid */
  bool clocks_ok;
  uint64_t order, twice, missing, other; /* violations by kind */
  uint64_t lost;                         /* with the killed node */
} p2pc_demo_verdict;

/* The verdict from the checker's status cst and result *r (valid when cst
 * is P2PC_EVCHECK_CHECKED) and the demo's own findings; ran is false when
 * the network could not be run to its end. */
void p2pc__demo_judge(const p2pc_demo *d, bool ran, int cst,
                      const p2pc_evcheck_result *r, p2pc_demo_verdict *v);

#endif /* P2PC_CLI_DEMO_VERDICT_H */
