/* SPDX-License-Identifier: MIT */
/*
 * The demo's verdict: the checker's result on the event logs and the
 * demo's own findings (the clocks' measurement, its problems), as one
 * value that the report prints in words or as JSON.
 */
#include "demo_verdict.h"

#include <string.h>

/* The verdict from the checker's status cst and result *r (valid when cst
 * is P2PC_EVCHECK_CHECKED) and the demo's own findings. */
static void judge(const p2pc_demo *d, bool ran, int cst,
                  const p2pc_evcheck_result *r, p2pc_demo_verdict *v) {
  *v = (p2pc_demo_verdict){.word = "NOT_RUN"};
  v->clocks_ok = d->final_done && d->final_max < CLOCK_AGREE_NS;
  if (p2pc__demo_stop_signal) {
    v->word = "INTERRUPTED";
    return;
  }
  if (!ran)
    return;
  v->checked = cst == P2PC_EVCHECK_CHECKED && !d->check_nomem;
  if (!v->checked) {
    v->word = "UNKNOWN";
    return;
  }
  v->order = r->by_kind[P2PC_EVCHECK_ORDER];
  v->twice = r->by_kind[P2PC_EVCHECK_DUPLICATE];
  v->missing = r->by_kind[P2PC_EVCHECK_MISSING];
  v->other = r->violations - v->order - v->twice - v->missing;
  v->lost = r->lost_receiver + r->lost_sender;
  v->ok = r->violations == 0 && v->clocks_ok && d->nproblems == 0;
  v->word = v->ok ? "OK" : "FAILED";
}

p2pc_demo_verdict p2pc__demo_verdict(p2pc_demo *d, bool ran) {
  p2pc_evcheck_result r;
  memset(&r, 0, sizeof r);
  int cst = P2PC_EVCHECK_EMPTY;
  if (ran && !p2pc__demo_stop_signal)
    cst = p2pc_evcheck_finish(d->ec, &r);
  p2pc_demo_verdict v;
  judge(d, ran, cst, &r, &v);
  v.check_status = cst;
  v.r = r;
  return v;
}
