/* SPDX-License-Identifier: MIT */
/*
 * Shared checks on decoded SES messages for the fuzz targets: structural
 * invariants every successfully decoded message must satisfy (sorted clocks
 * without zeros, ids that exist in the table, pairs sorted by destination),
 * and equality of two messages decoded into different id tables, compared
 * by node name since the integers mean nothing outside their table.
 */
#ifndef P2PC_FUZZ_SES_CHECK_H
#define P2PC_FUZZ_SES_CHECK_H

#include "fuzz.h"

#include "idtab.h"
#include "vclock.h"
#include "wire.h"

#include <string.h>

static inline void fuzz_check_clock(const p2pc_vclock *vc, uint32_t nids) {
  FUZZ_CHECK(vc->n <= vc->cap);
  FUZZ_CHECK(vc->n == 0 || vc->e != NULL);
  for (uint32_t i = 0; i < vc->n; i++) {
    FUZZ_CHECK(vc->e[i].v > 0);
    FUZZ_CHECK(vc->e[i].id < nids);
    if (i > 0)
      FUZZ_CHECK(vc->e[i - 1].id < vc->e[i].id);
  }
}

static inline void fuzz_check_ses_msg(const p2pc_ses_msg *m,
                                      const p2pc_idtab *ids, const uint8_t *in,
                                      size_t in_len) {
  FUZZ_CHECK(m->sender < ids->n);
  FUZZ_CHECK(m->dest < ids->n);
  FUZZ_CHECK(m->sender != m->dest);
  FUZZ_CHECK(m->ndeps <= m->capdeps);
  FUZZ_CHECK(m->ndeps == 0 || m->deps != NULL);
  fuzz_check_clock(&m->ts, ids->n);
  for (uint32_t i = 0; i < m->ndeps; i++) {
    FUZZ_CHECK(m->deps[i].dest < ids->n);
    if (i > 0)
      FUZZ_CHECK(m->deps[i - 1].dest < m->deps[i].dest);
    fuzz_check_clock(&m->deps[i].t, ids->n);
    FUZZ_CHECK(p2pc_ses_msg_pair(m, m->deps[i].dest) == &m->deps[i]);
  }
  /* The payload is borrowed from the input. */
  FUZZ_CHECK(m->payload_len <= in_len);
  if (m->payload_len > 0)
    FUZZ_CHECK(m->payload >= in && m->payload + m->payload_len <= in + in_len);
}

static inline bool fuzz_same_name(const p2pc_idtab *ia, uint32_t a,
                                  const p2pc_idtab *ib, uint32_t b) {
  size_t la, lb;
  const char *na = p2pc_idtab_name(ia, a, &la);
  const char *nb = p2pc_idtab_name(ib, b, &lb);
  return la == lb && memcmp(na, nb, la) == 0;
}

/* Clocks a (ids in ia) and b (ids in ib) map the same names to the same
 * values. Both are valid clocks (distinct ids), so equal sizes plus every
 * entry of a found in b is equality. */
static inline bool fuzz_clock_equal(const p2pc_vclock *a, const p2pc_idtab *ia,
                                    const p2pc_vclock *b,
                                    const p2pc_idtab *ib) {
  if (a->n != b->n)
    return false;
  for (uint32_t i = 0; i < a->n; i++) {
    bool found = false;
    for (uint32_t j = 0; j < b->n && !found; j++)
      if (fuzz_same_name(ia, a->e[i].id, ib, b->e[j].id)) {
        if (a->e[i].v != b->e[j].v)
          return false;
        found = true;
      }
    if (!found)
      return false;
  }
  return true;
}

static inline bool fuzz_ses_msg_equal(const p2pc_ses_msg *a,
                                      const p2pc_idtab *ia,
                                      const p2pc_ses_msg *b,
                                      const p2pc_idtab *ib) {
  if (!fuzz_same_name(ia, a->sender, ib, b->sender) ||
      !fuzz_same_name(ia, a->dest, ib, b->dest) || a->n != b->n ||
      a->dseq != b->dseq || a->ndeps != b->ndeps ||
      a->payload_len != b->payload_len ||
      (a->payload_len && memcmp(a->payload, b->payload, a->payload_len) != 0) ||
      !fuzz_clock_equal(&a->ts, ia, &b->ts, ib))
    return false;
  for (uint32_t i = 0; i < a->ndeps; i++) {
    const p2pc_ses_pair *pb = NULL;
    for (uint32_t j = 0; j < b->ndeps && !pb; j++)
      if (fuzz_same_name(ia, a->deps[i].dest, ib, b->deps[j].dest))
        pb = &b->deps[j];
    if (!pb || !fuzz_clock_equal(&a->deps[i].t, ia, &pb->t, ib))
      return false;
  }
  return true;
}

#endif /* P2PC_FUZZ_SES_CHECK_H */
