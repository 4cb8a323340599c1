/* SPDX-License-Identifier: MIT */
/*
 * What the SES codec's tests share (test_sescodec.c, test_sescodec_get.c):
 * messages built by node name, the encoder with a scratch of its own,
 * comparisons by name, the known-answer bytes and the round trip.
 */
#ifndef P2PC_TEST_SESFIX_H
#define P2PC_TEST_SESFIX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sescodec.h"

#define A p2pc_allocator_default()

static inline uint32_t id_of(p2pc_idtab *t, const char *s) {
  uint32_t id;
  assert_int_equal(p2pc_idtab_intern(t, s, strlen(s), &id), 0);
  return id;
}

static inline const char *name_of(const p2pc_idtab *t, uint32_t id) {
  assert_true(id < t->n);
  return p2pc_idtab_name(t, id, NULL);
}

static inline p2pc_ses_dep dep_h(p2pc_idtab *t, const char *dest,
                                 const char *sender, uint64_t n, uint64_t stamp,
                                 uint32_t hops) {
  return (p2pc_ses_dep){id_of(t, dest), id_of(t, sender), n, stamp, hops};
}

static inline p2pc_ses_dep dep(p2pc_idtab *t, const char *dest,
                               const char *sender, uint64_t n, uint64_t stamp) {
  return dep_h(t, dest, sender, n, stamp, 0);
}

static inline p2pc_ses_ls lsv(p2pc_idtab *t, const char *id, uint64_t ls) {
  return (p2pc_ses_ls){id_of(t, id), ls};
}

/* A message from sender to dest in table t, borrowing deps. */
static inline p2pc_ses_msg ses(p2pc_idtab *t, const char *sender,
                               const char *dest, uint64_t n, uint64_t prev,
                               uint64_t stamp, p2pc_ses_dep *deps,
                               uint32_t ndeps, const char *payload) {
  p2pc_ses_msg m;
  p2pc_ses_msg_init(&m);
  m.sender = id_of(t, sender);
  m.dest = id_of(t, dest);
  m.n = n;
  m.prev = prev;
  m.stamp = stamp;
  m.deps = deps;
  m.ndeps = ndeps;
  m.payload = (const uint8_t *)payload;
  m.payload_len = payload ? strlen(payload) : 0;
  return m;
}

static inline int put(p2pc_buf *b, const p2pc_ses_msg *m, const p2pc_idtab *t,
                      size_t *meta) {
  p2pc_wire_scratch scratch = {0};
  int rv = p2pc_wire_ses_put(b, m, t, &scratch, A, meta);
  p2pc_wire_scratch_fini(&scratch, A);
  return rv;
}

/* The entry of m about (dest, sender), by name; NULL if none. */
static inline const p2pc_ses_dep *find_dep(const p2pc_ses_msg *m,
                                           const p2pc_idtab *t,
                                           const char *dest,
                                           const char *sender) {
  for (uint32_t i = 0; i < m->ndeps; i++)
    if (strcmp(name_of(t, m->deps[i].dest), dest) == 0 &&
        strcmp(name_of(t, m->deps[i].sender), sender) == 0)
      return &m->deps[i];
  return NULL;
}

/* a (ids in ta) and b (ids in tb) are the same message, by node name. */
static inline void assert_same_msg(const p2pc_ses_msg *a, const p2pc_idtab *ta,
                                   const p2pc_ses_msg *b,
                                   const p2pc_idtab *tb) {
  assert_string_equal(name_of(ta, a->sender), name_of(tb, b->sender));
  assert_string_equal(name_of(ta, a->dest), name_of(tb, b->dest));
  assert_int_equal(a->n, b->n);
  assert_int_equal(a->prev, b->prev);
  assert_int_equal(a->stamp, b->stamp);
  assert_int_equal(a->ndeps, b->ndeps);
  for (uint32_t i = 0; i < a->ndeps; i++) {
    const p2pc_ses_dep *e = find_dep(b, tb, name_of(ta, a->deps[i].dest),
                                     name_of(ta, a->deps[i].sender));
    assert_non_null(e);
    assert_int_equal(e->n, a->deps[i].n);
    assert_int_equal(e->stamp, a->deps[i].stamp);
    assert_int_equal(e->hops, a->deps[i].hops);
  }
  assert_int_equal(a->nls, b->nls);
  for (uint32_t i = 0; i < a->nls; i++) {
    uint32_t j = 0;
    while (j < b->nls &&
           strcmp(name_of(tb, b->ls[j].id), name_of(ta, a->ls[i].id)) != 0)
      j++;
    assert_true(j < b->nls);
    assert_int_equal(b->ls[j].ls, a->ls[i].ls);
  }
  assert_int_equal(a->payload_len, b->payload_len);
  if (a->payload_len)
    assert_memory_equal(a->payload, b->payload, a->payload_len);
}

/* Decoded entries come sorted by (dest, sender) in the decoding table's
 * ids, one per pair: what the core's merge expects. */
static inline void assert_sorted(const p2pc_ses_msg *m) {
  for (uint32_t i = 1; i < m->ndeps; i++) {
    const p2pc_ses_dep *x = &m->deps[i - 1], *y = &m->deps[i];
    assert_true(x->dest < y->dest ||
                (x->dest == y->dest && x->sender < y->sender));
  }
  for (uint32_t i = 0; i < m->nls; i++)
    for (uint32_t j = 0; j < i; j++)
      assert_int_not_equal(m->ls[i].id, m->ls[j].id);
  assert_true(m->ls_owned || m->nls == 0);
}

/* The known answer: every field, both entry forms (a new destination, and
 * the gap to the previous sender under the same destination), hop counts
 * of one and two bytes, and LS values (the sender's and two entry
 * senders', by dictionary index: the first absolute, then gaps). */
static const uint8_t ses_want[] = {
    4, 1,   'A', 1,  'B',  1,    'C', 1, 'D', /* dictionary: A B C D */
    3, 1,   100,                              /* n, prev, stamp */
    4,                                        /* entries */
    1, 2,   2,   10, 0,          /* (B, C, 2, 90), 0 hops: dest 0+1, sender 2 */
    1, 3,   4,   50, 1,          /* (C, D, 4, 50), 1 hop: dest 1+1, sender 3 */
    1, 0,   1,   5,  0xff, 0x01, /* (D, A, 1, 95), 255 hops: dest 2+1 */
    0, 0,   7,   1,  3,          /* (D, B, 7, 99), 3 hops: sender 0+1+0 */
    3,                           /* LS values */
    0, 3,                        /* A: 97, index 0 */
    2, 60,                       /* C: 40, index 0+2 */
    1, 1,                        /* D: 99, index 2+1 */
    2, 'h', 'i'};

/* encode -> decode (into a fresh table) -> encode is byte-identical, and
 * the decoded message is the original. */
static inline void round_trip(const p2pc_ses_msg *m, const p2pc_idtab *ids,
                              size_t want_len) {
  p2pc_buf b1, b2;
  size_t meta1 = 0, meta2 = 0;
  p2pc_buf_init(&b1, A, 1 << 20);
  p2pc_buf_init(&b2, A, 1 << 20);
  assert_int_equal(put(&b1, m, ids, &meta1), 0);
  if (want_len)
    assert_int_equal(b1.len, want_len);
  assert_int_equal(meta1 + p2pc_varint_len(m->payload_len) + m->payload_len,
                   b1.len);
  p2pc_idtab t;
  p2pc_idtab_init(&t, A, ids->limit);
  p2pc_ses_msg got;
  p2pc_ses_msg_init(&got);
  assert_int_equal(p2pc_wire_ses_get(b1.data, b1.len, &t, A, &got),
                   (int)b1.len);
  assert_int_equal(t.n, 0);
  assert_int_equal(p2pc_wire_ses_commit(&t, &got), 0);
  assert_same_msg(m, ids, &got, &t);
  assert_sorted(&got);
  assert_int_equal(put(&b2, &got, &t, &meta2), 0);
  assert_int_equal(b2.len, b1.len);
  assert_memory_equal(b2.data, b1.data, b1.len);
  assert_int_equal(meta2, meta1);
  /* A second decode into the same table interns nothing new. */
  p2pc_ses_msg again;
  p2pc_ses_msg_init(&again);
  assert_int_equal(p2pc_wire_ses_get(b2.data, b2.len, &t, A, &again),
                   (int)b2.len);
  assert_int_equal(again.nnew, 0);
  assert_int_equal(again.sender, got.sender);
  assert_int_equal(again.dest, got.dest);
  p2pc_ses_msg_fini(&again, A);
  p2pc_ses_msg_fini(&got, A);
  p2pc_idtab_fini(&t);
  p2pc_buf_fini(&b1);
  p2pc_buf_fini(&b2);
}

#endif /* P2PC_TEST_SESFIX_H */
