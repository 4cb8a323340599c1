/* SPDX-License-Identifier: MIT */
/*
 * Shared checks on decoded Δ-SES messages for the fuzz targets: the
 * invariants every successfully decoded message must satisfy (the rules of
 * the encoding, wire.h: ids in the table, entries sorted by (dest, sender)
 * and one per pair, no entry about the message's sender or about its own
 * sender, stamps below the message's, hop counts within the wire's; LS
 * values above 0 and below the stamp, one per node, each of the message's
 * sender or of an entry's sender), and equality of two messages
 * decoded into different id tables, compared by node name since the
 * integers mean nothing outside their table.
 */
#ifndef P2PC_FUZZ_SES_CHECK_H
#define P2PC_FUZZ_SES_CHECK_H

#include "fuzz.h"

#include "idtab.h"
#include "sescodec.h"

#include <string.h>

static inline void fuzz_check_ses_msg(const p2pc_ses_msg *m,
                                      const p2pc_idtab *ids, const uint8_t *in,
                                      size_t in_len) {
  FUZZ_CHECK(m->sender < ids->n);
  FUZZ_CHECK(m->dest < ids->n);
  FUZZ_CHECK(m->sender != m->dest);
  FUZZ_CHECK(m->n > 0 && m->prev < m->n && m->stamp > 0);
  FUZZ_CHECK(m->ndeps <= m->capdeps && m->ndeps <= P2PC_SES_MAX_DEPS);
  FUZZ_CHECK(m->ndeps == 0 || m->deps != NULL);
  for (uint32_t i = 0; i < m->ndeps; i++) {
    const p2pc_ses_dep *e = &m->deps[i];
    FUZZ_CHECK(e->dest < ids->n && e->sender < ids->n);
    FUZZ_CHECK(e->dest != e->sender);
    FUZZ_CHECK(e->dest != m->sender);
    FUZZ_CHECK(e->n > 0);
    FUZZ_CHECK(e->stamp > 0 && e->stamp < m->stamp);
    FUZZ_CHECK(e->hops <= P2PC_SES_MAX_HOPS);
    if (i > 0) {
      const p2pc_ses_dep *p = &m->deps[i - 1];
      FUZZ_CHECK(p->dest < e->dest ||
                 (p->dest == e->dest && p->sender < e->sender));
    }
  }
  FUZZ_CHECK(m->nls == 0 || (m->ls != NULL && m->ls_owned));
  for (uint32_t i = 0; i < m->nls; i++) {
    const p2pc_ses_ls *l = &m->ls[i];
    FUZZ_CHECK(l->id < ids->n);
    FUZZ_CHECK(l->ls > 0 && l->ls < m->stamp);
    bool sends = l->id == m->sender;
    for (uint32_t k = 0; k < m->ndeps && !sends; k++)
      sends = m->deps[k].sender == l->id;
    FUZZ_CHECK(sends);
    for (uint32_t k = 0; k < i; k++)
      FUZZ_CHECK(m->ls[k].id != l->id);
  }
  /* The names and the payload are borrowed from the input. */
  FUZZ_CHECK(m->sender_name >= (const char *)in &&
             m->sender_name + m->sender_len <= (const char *)in + in_len);
  FUZZ_CHECK(m->dest_name >= (const char *)in &&
             m->dest_name + m->dest_len <= (const char *)in + in_len);
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

static inline bool fuzz_ses_msg_equal(const p2pc_ses_msg *a,
                                      const p2pc_idtab *ia,
                                      const p2pc_ses_msg *b,
                                      const p2pc_idtab *ib) {
  if (!fuzz_same_name(ia, a->sender, ib, b->sender) ||
      !fuzz_same_name(ia, a->dest, ib, b->dest) || a->n != b->n ||
      a->prev != b->prev || a->stamp != b->stamp || a->ndeps != b->ndeps ||
      a->payload_len != b->payload_len ||
      (a->payload_len && memcmp(a->payload, b->payload, a->payload_len) != 0))
    return false;
  /* Entries are one per (dest, sender) in both: equal sizes and every
   * entry of a found in b is equality. */
  for (uint32_t i = 0; i < a->ndeps; i++) {
    const p2pc_ses_dep *ea = &a->deps[i], *eb = NULL;
    for (uint32_t j = 0; j < b->ndeps && !eb; j++)
      if (fuzz_same_name(ia, ea->dest, ib, b->deps[j].dest) &&
          fuzz_same_name(ia, ea->sender, ib, b->deps[j].sender))
        eb = &b->deps[j];
    if (!eb || eb->n != ea->n || eb->stamp != ea->stamp || eb->hops != ea->hops)
      return false;
  }
  /* LS values likewise, one per node in both. */
  if (a->nls != b->nls)
    return false;
  for (uint32_t i = 0; i < a->nls; i++) {
    const p2pc_ses_ls *la = &a->ls[i], *lb = NULL;
    for (uint32_t j = 0; j < b->nls && !lb; j++)
      if (fuzz_same_name(ia, la->id, ib, b->ls[j].id))
        lb = &b->ls[j];
    if (!lb || lb->ls != la->ls)
      return false;
  }
  return true;
}

#endif /* P2PC_FUZZ_SES_CHECK_H */
