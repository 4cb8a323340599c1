/* SPDX-License-Identifier: MIT */
/*
 * The oracle's result (evcheck_internal.h): the counts, the percentiles
 * of the waits, the violations by kind (the checker's and the oracle's
 * own), the listing and the first violation; the names of the kinds.
 */
#include "evcheck_internal.h"

#include <string.h>

/* Nearest-rank percentile of the sorted v[0..n), n >= 1. */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned pct) {
  size_t rank = (n * pct + 99) / 100;
  return v[rank ? rank - 1 : 0];
}

/* Our kinds from the checker's (LIVENESS has no counterpart: MISSING
 * replaces it). */
static const ccheck_kind from_checker[] = {
    [P2PC_EVCHECK_ORDER] = CCHECK_ORDER,
    [P2PC_EVCHECK_DUPLICATE] = CCHECK_DUPLICATE,
    [P2PC_EVCHECK_WRONG_DEST] = CCHECK_WRONG_DEST,
    [P2PC_EVCHECK_PAYLOAD] = CCHECK_PAYLOAD,
    [P2PC_EVCHECK_UNKNOWN] = CCHECK_UNKNOWN,
    [P2PC_EVCHECK_BAD_SEND] = CCHECK_BAD_SEND};

void p2pc__evcheck_fill_result(const state *s, p2pc_evcheck_result *r) {
  memset(r, 0, sizeof *r);
  r->errors = s->errors;
  r->warnings = s->warnings;
  r->lines = s->lines;
  r->nodes = s->nodes;
  r->incarnations = s->nincs;
  r->crashed = s->crashed;
  r->msg_ids = s->nmsgs;
  r->messages = s->sends;
  r->self_sends = s->self_sends;
  r->deliver_lines = s->deliver_lines;
  r->delivered = s->delivered;
  r->dup_lines = s->dups;
  r->drop_lines = s->drops;
  r->undeliverable = s->undeliverable;
  r->lost_receiver = s->lost_receiver;
  r->lost_sender = s->lost_sender;
  r->unsettled = s->unsettled;
  r->expired = s->expired;
  r->expiry_lines = s->expiry_lines;
  if (!s->c)
    return;
  r->waited = s->nwaits;
  if (s->nwaits) {
    r->waited_p50_ns = percentile(s->waits, s->nwaits, 50);
    r->waited_p99_ns = percentile(s->waits, s->nwaits, 99);
    r->waited_max_ns = s->waits[s->nwaits - 1];
  }
  for (int k = 0; k <= P2PC_EVCHECK_BAD_SEND; k++)
    r->by_kind[k] = ccheck_count(s->c, from_checker[k]);
  r->by_kind[P2PC_EVCHECK_WRONG_DEST] += s->own_wrong_dest;
  r->by_kind[P2PC_EVCHECK_MISSING] = s->own_missing;
  r->by_kind[P2PC_EVCHECK_LOG] = s->own_log;
  r->by_kind[P2PC_EVCHECK_EXPIRED_EARLY] = s->own_early;
  r->by_kind[P2PC_EVCHECK_EXPIRED_DELIVERED] = s->own_exp_delivered;
  for (int k = 0; k < P2PC_EVCHECK_NKINDS; k++)
    r->violations += r->by_kind[k];
  /* The listing: the checker's first violation of each kind, then ours. */
  for (int k = 0; k <= P2PC_EVCHECK_BAD_SEND; k++) {
    const char *f = ccheck_first_of(s->c, from_checker[k]);
    if (f && r->nlisted < P2PC_EVCHECK_LISTED)
      r->listed[r->nlisted++] = f;
  }
  for (size_t i = 0; i < s->nlisted && r->nlisted < P2PC_EVCHECK_LISTED; i++)
    r->listed[r->nlisted++] = s->listed[i];
  const char *first = ccheck_first(s->c);
  if (first && ccheck_first_of(s->c, CCHECK_LIVENESS) == first)
    first = NULL; /* the checker's liveness verdict is not ours */
  r->first = first ? first : s->nlisted ? s->listed[0] : NULL;
}

const char *p2pc_evcheck_kind_name(p2pc_evcheck_kind k) {
  static const char *const names[P2PC_EVCHECK_NKINDS] = {
      "ORDER",         "DUPLICATE",        "WRONG_DEST", "PAYLOAD",
      "UNKNOWN",       "BAD_SEND",         "MISSING",    "LOG",
      "EXPIRED_EARLY", "EXPIRED_DELIVERED"};
  return k < P2PC_EVCHECK_NKINDS ? names[k] : "?";
}
