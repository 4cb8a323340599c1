/* SPDX-License-Identifier: MIT */
/*
 * The causal verdicts of the oracle (evcheck_internal.h): the records fed
 * to the independent checker (checker.h), which judges order, duplicates,
 * destinations and unknown messages; then every message delivered,
 * excused (expired, undeliverable, lost with a crashed receiver or
 * sender, unsettled) or MISSING.
 */
#include "evcheck_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static bool crashed(const inc *in) { return in->node && !in->stopped; }

/* Feeds the records to the checker; fills the counts and the waits. */
int p2pc__evcheck_run_checker(state *s) {
  const char **names = malloc(s->nincs * sizeof *names);
  if (!names) {
    s->nomem = true;
    return -1;
  }
  for (size_t i = 0; i < s->nincs; i++)
    names[i] = s->incs[i].sesid;
  ccheck *c = ccheck_new((uint32_t)s->nincs, names, CCHECK_OFFLINE);
  free(names);
  s->c = c;

  for (size_t i = 0; i < s->nrecs; i++) {
    const rec *r = &s->recs[i];
    msgrec *m = &s->msgs[r->msg];
    if (!r->is_send && m->to != NONE && r->inc == m->to)
      m->at_dest++;
  }
  if (p2pc__evcheck_bcast_prepare(s) < 0)
    return -1;
  p2pc__evcheck_judge_expiries(s);
  /* A message never delivered anywhere whose sender crashed or restarted
   * may have died with it; SES then releases its causal successors by
   * design (PROTOCOL.md, "Retiring an identity"), so it is not a
   * predecessor that must come first. Nor is one reported expired: Δ-SES
   * releases its successors once it is older than Δ (an early report is
   * EXPIRED_EARLY, not ORDER). */
  for (size_t i = 0; i < s->nmsgs; i++) {
    msgrec *m = &s->msgs[i];
    const inc *snd = &s->incs[m->sender];
    m->skip = m->ndeliv == 0 &&
              (crashed(snd) || snd->superseded || m->expiry_reported);
  }
  for (size_t i = 0; i < s->nrecs; i++) {
    const rec *r = &s->recs[i];
    msgrec *m = &s->msgs[r->msg];
    /* what this incarnation need not wait for from now on */
    if (p2pc__evcheck_bcast_excuse(s, r->inc, r) < 0)
      return -1;
    if (r->is_send) {
      if (!m->skip)
        ccheck_send(c, r->inc, m->sender, m->n,
                    r->to == TO_ALL ? CCHECK_ALL : r->to, NULL, 0);
      continue;
    }
    ccheck_deliver(c, r->inc, m->sender, m->n, NULL, 0);
    if (m->to != NONE && r->inc == m->to && !m->waited && m->buffered) {
      m->waited = true;
      if (!p2pc__evcheck_grow(s, (void **)&s->waits, sizeof *s->waits,
                              s->nwaits + 1, &s->capwaits))
        return -1;
      s->waits[s->nwaits++] = r->waited_ns;
    }
  }
  ccheck_finish(c);

  for (size_t i = 0; i < s->nmsgs; i++) {
    const msgrec *m = &s->msgs[i];
    if (!m->nsend || m->to == TO_ALL)
      continue; /* a delivery of it is the checker's UNKNOWN; broadcasts
                   are judged at every incarnation below */
    const inc *snd = &s->incs[m->sender], *dst = &s->incs[m->to];
    if (m->at_dest) {
      s->delivered++;
    } else if (m->expiry_honest) {
      s->expired++;
    } else if (m->undeliverable && (dst->superseded || crashed(dst))) {
      s->undeliverable++;
    } else if (crashed(dst)) {
      s->lost_receiver++;
    } else if (crashed(snd) || snd->superseded) {
      s->lost_sender++;
    } else if (m->expiry_reported) {
      /* reported expired too early: that is its violation */
    } else if (!dst->node) {
      s->own_log++;
      p2pc__evcheck_list_violation(s,
                                   "LOG: %s:%" PRIu64
                                   " was sent to %s, whose log is "
                                   "not among the files",
                                   snd->sesid, m->n, dst->sesid);
    } else if (m->late || p2pc__evcheck_cut_excused(s, m, snd, dst)) {
      s->unsettled++;
    } else {
      s->own_missing++;
      p2pc__evcheck_list_violation(
          s, "MISSING: %s:%" PRIu64 " (to %s) was never delivered%s",
          snd->sesid, m->n, dst->sesid,
          m->undeliverable ? " (reported undeliverable, but its "
                             "destination never restarted)"
                           : "");
    }
  }
  p2pc__evcheck_bcast_verdicts(s);
  return 0;
}

/* The counts that need no verdict. */
void p2pc__evcheck_count_incs(state *s) {
  s->crashed = s->nodes = 0;
  for (size_t i = 0; i < s->nincs; i++)
    if (crashed(&s->incs[i]))
      s->crashed++;
  /* Distinct node IDs with a log. */
  for (size_t i = 0; i < s->nincs; i++) {
    const char *node = s->incs[i].node;
    bool seen = !node;
    for (size_t k = 0; k < i && !seen; k++)
      seen = s->incs[k].node && strcmp(s->incs[k].node, node) == 0;
    if (!seen)
      s->nodes++;
  }
}
