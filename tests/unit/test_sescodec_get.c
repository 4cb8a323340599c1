/* SPDX-License-Identifier: MIT */
/*
 * The SES codec (sescodec.h), decoding: every canonical-form rule (bytes
 * that differ from the encoder's are refused), truncations, provisional
 * ids for names the table does not know, and the table limit.
 */
#include "sesfix.h"

static void expect_rejected(const uint8_t *p, size_t len, const char *why) {
  p2pc_idtab ids;
  p2pc_ses_msg m;
  p2pc_idtab_init(&ids, A, 16);
  p2pc_ses_msg_init(&m);
  m.n = 77;
  int rv = p2pc_wire_ses_get(p, len, &ids, A, &m);
  if (rv != P2PC_ERR_PROTO)
    fail_msg("%s (%zu bytes): %d, not PROTO", why, len, rv);
  assert_int_equal(m.n, 77);
  assert_null(m.deps);
  assert_int_equal(ids.n, 0);
  p2pc_idtab_fini(&ids);
}

#define REJECT(why, ...)                                                       \
  do {                                                                         \
    const uint8_t x_[] = {__VA_ARGS__};                                        \
    expect_rejected(x_, sizeof x_, why);                                       \
  } while (0)

/* Every way the bytes can differ from the encoder's. The contrast case
 * first: the same shape, well-formed. */
static void test_ses_get_rejects(void **state) {
  (void)state;
  p2pc_idtab ids;
  p2pc_ses_msg m;
  p2pc_idtab_init(&ids, A, 16);
  p2pc_ses_msg_init(&m);
  /* n 3, prev 1, stamp 9, one entry (B, C, 2, 5) with 0 hops, no LS. */
  const uint8_t ok[] = {3, 1, 'A', 1, 'B', 1, 'C', 3, 1,  9,
                        1, 1, 2,   2, 4,   0, 0,   1, 'p'};
  assert_int_equal(p2pc_wire_ses_get(ok, sizeof ok, &ids, A, &m),
                   (int)sizeof ok);
  assert_int_equal(m.ndeps, 1);
  assert_int_equal(m.deps[0].hops, 0);
  assert_int_equal(m.nls, 0);
  p2pc_ses_msg_fini(&m, A);
  /* The same with the most hops there can be. */
  const uint8_t far[] = {3, 1, 'A', 1, 'B', 1,    'C',  3, 1, 9,
                         1, 1, 2,   2, 4,   0xff, 0x01, 0, 1, 'p'};
  assert_int_equal(p2pc_wire_ses_get(far, sizeof far, &ids, A, &m),
                   (int)sizeof far);
  assert_int_equal(m.deps[0].hops, P2PC_SES_MAX_HOPS);
  p2pc_ses_msg_fini(&m, A);
  /* The same with LS values: A's 8 (index 0), C's 1 (index 0 + 2). */
  const uint8_t with_ls[] = {3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1,  1,
                             2, 2, 4,   0, 2,   0, 1,   2, 8, 1, 'p'};
  assert_int_equal(p2pc_wire_ses_get(with_ls, sizeof with_ls, &ids, A, &m),
                   (int)sizeof with_ls);
  assert_int_equal(m.nls, 2);
  assert_int_equal(m.ls[0].ls, 8);
  assert_int_equal(m.ls[1].ls, 1);
  assert_int_equal(m.ls[0].id, m.sender);
  assert_int_equal(m.ls[1].id, m.deps[0].sender);
  p2pc_ses_msg_fini(&m, A);
  /* An entry (C, B): the destination sends it, so may have its LS. */
  const uint8_t dest_ls[] = {3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9,  1,
                             2, 1, 2,   4, 0,   1, 1,   4, 1, 'p'};
  assert_int_equal(p2pc_wire_ses_get(dest_ls, sizeof dest_ls, &ids, A, &m),
                   (int)sizeof dest_ls);
  assert_int_equal(m.nls, 1);
  assert_int_equal(m.ls[0].id, m.dest);
  assert_int_equal(m.ls[0].ls, 5);
  p2pc_ses_msg_fini(&m, A);
  p2pc_idtab_fini(&ids);

  /* Dictionary. */
  REJECT("fewer than two names", 1, 1, 'A', 1, 0, 1, 0, 0, 0);
  REJECT("no names", 0, 1, 0, 1, 0, 0, 0);
  REJECT("dest == sender", 2, 1, 'A', 1, 'A', 1, 0, 1, 0, 0, 0);
  REJECT("a name twice among the others", 4, 1, 'A', 1, 'B', 1, 'C', 1, 'C', 3,
         1, 9, 2, 1, 2, 2, 4, 0, 0, 0, 2, 4, 0, 0, 1, 'p');
  REJECT("an end again among the others", 3, 1, 'A', 1, 'B', 1, 'A', 3, 1, 9, 1,
         1, 2, 2, 4, 0, 0, 1, 'p');
  REJECT("others not sorted by bytes", 4, 1, 'A', 1, 'B', 1, 'D', 1, 'C', 3, 1,
         9, 2, 1, 2, 2, 4, 0, 0, 0, 2, 4, 0, 0, 1, 'p');
  REJECT("others not sorted by length", 4, 1, 'A', 1, 'B', 2, 'C', 'C', 1, 'D',
         3, 1, 9, 2, 1, 2, 2, 4, 0, 0, 0, 2, 4, 0, 0, 1, 'p');
  REJECT("a name no entry uses", 4, 1, 'A', 1, 'B', 1, 'C', 1, 'D', 3, 1, 9, 1,
         1, 2, 2, 4, 0, 0, 1, 'p');
  REJECT("a name no entry uses, with an LS", 4, 1, 'A', 1, 'B', 1, 'C', 1, 'D',
         3, 1, 9, 1, 1, 2, 2, 4, 0, 1, 3, 1, 1, 'p');
  REJECT("a name but no entries", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 0, 0, 1,
         'p');
  REJECT("an empty name", 2, 0, 1, 'B', 1, 0, 1, 0, 0, 0);
  REJECT("a name with a bad character", 2, 1, 'A', 1, ':', 1, 0, 1, 0, 0, 0);
  REJECT("more names than the table may ever hold", 17, 1, 'A', 1, 'B', 1, 'C',
         1, 'D', 1, 'E', 1, 'F', 1, 'G', 1, 'H', 1, 'I', 1, 'J', 1, 'K', 1, 'L',
         1, 'M', 1, 'N', 1, 'O', 1, 'P', 1, 'Q', 1, 0, 1, 0, 0, 0);
  /* Message fields. */
  REJECT("n zero", 2, 1, 'A', 1, 'B', 0, 0, 1, 0, 0, 0);
  REJECT("prev == n", 2, 1, 'A', 1, 'B', 3, 3, 1, 0, 0, 0);
  REJECT("prev > n", 2, 1, 'A', 1, 'B', 3, 4, 1, 0, 0, 0);
  REJECT("stamp zero", 2, 1, 'A', 1, 'B', 1, 0, 0, 0, 0, 0);
  REJECT("non-minimal varint", 2, 1, 'A', 1, 'B', 0x81, 0x00, 0, 1, 0, 0, 0);
  /* Entries. */
  REJECT("entry dest == message sender", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1,
         0, 2, 2, 4, 0, 0, 1, 'p');
  REJECT("entry dest == entry sender", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 2,
         2, 2, 4, 0, 0, 1, 'p');
  REJECT("entry n zero", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1, 2, 0, 4, 0,
         0, 1, 'p');
  REJECT("entry stamp == stamp (difference 0)", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1,
         9, 1, 1, 2, 2, 0, 0, 0, 1, 'p');
  REJECT("entry stamp zero (difference == stamp)", 3, 1, 'A', 1, 'B', 1, 'C', 3,
         1, 9, 1, 1, 2, 2, 9, 0, 0, 1, 'p');
  REJECT("entry stamp below zero", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1, 2,
         2, 10, 0, 0, 1, 'p');
  REJECT("dest index out of range", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 3, 2,
         2, 4, 0, 0, 1, 'p');
  REJECT("sender index out of range", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1,
         3, 2, 4, 0, 0, 1, 'p');
  REJECT("same dest, sender gap past the end", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1,
         9, 2, 1, 2, 2, 4, 0, 0, 1, 2, 4, 0, 0, 1, 'p');
  REJECT("more entries than bytes", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 9, 1, 2,
         2, 4, 0, 0, 1, 'p');
  REJECT("hops above 255", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1, 2, 2, 4,
         0x80, 0x02, 0, 1, 'p');
  REJECT("hops far above 255", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1, 2, 2,
         4, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 1, 'p');
  REJECT("hops not minimal", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1, 2, 2, 4,
         0x80, 0x00, 0, 1, 'p');
  REJECT("an entry without hops (protocol version 1)", 3, 1, 'A', 1, 'B', 1,
         'C', 3, 1, 9, 1, 1, 2, 2, 4, 1, 'p');
  /* LS values (the contrast: with_ls and dest_ls above). */
  REJECT("no LS count (before LS values)", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9,
         1, 1, 2, 2, 4, 0, 1, 'p');
  REJECT("no LS count, no payload", 2, 1, 'A', 1, 'B', 1, 0, 1, 0);
  REJECT("LS count > names", 2, 1, 'A', 1, 'B', 1, 0, 5, 0, 3, 0, 1, 1, 1, 1, 1,
         0);
  REJECT("LS count above the values", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1,
         2, 2, 4, 0, 3, 0, 1, 2, 8, 1, 'p');
  REJECT("the destination's LS, it sends no entry", 3, 1, 'A', 1, 'B', 1, 'C',
         3, 1, 9, 1, 1, 2, 2, 4, 0, 1, 1, 1, 1, 'p');
  REJECT("an entry destination's LS", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 2,
         1, 2, 4, 0, 1, 2, 1, 1, 'p');
  REJECT("LS index out of range", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1, 2,
         2, 4, 0, 1, 3, 1, 1, 'p');
  REJECT("LS index far out of range", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1,
         2, 2, 4, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 1, 'p');
  REJECT("LS index gap past the end", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1,
         2, 2, 4, 0, 2, 0, 1, 3, 1, 1, 'p');
  REJECT("LS index twice (gap 0)", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1, 2,
         2, 4, 0, 2, 2, 1, 0, 2, 1, 'p');
  REJECT("the sender's LS twice (gap 0)", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1,
         1, 2, 2, 4, 0, 2, 0, 1, 0, 1, 1, 'p');
  REJECT("LS indices descending (as a wrapped gap)", 3, 1, 'A', 1, 'B', 1, 'C',
         3, 1, 9, 1, 1, 2, 2, 4, 0, 2, 2, 1, 0xfe, 0xff, 0xff, 0xff, 0x0f, 8, 1,
         'p');
  REJECT("LS == stamp (difference 0)", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1,
         2, 2, 4, 0, 1, 0, 0, 1, 'p');
  REJECT("LS 0 (difference == stamp)", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1,
         2, 2, 4, 0, 1, 0, 9, 1, 'p');
  REJECT("LS below zero", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1, 2, 2, 4, 0,
         1, 2, 10, 1, 'p');
  REJECT("LS index not minimal", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1, 2, 2,
         4, 0, 1, 0x80, 0x00, 1, 1, 'p');
  REJECT("LS difference not minimal", 3, 1, 'A', 1, 'B', 1, 'C', 3, 1, 9, 1, 1,
         2, 2, 4, 0, 1, 0, 0x81, 0x00, 1, 'p');
  REJECT("LS value without its difference", 2, 1, 'A', 1, 'B', 1, 0, 5, 0, 1,
         0);
  /* Payload. */
  REJECT("payload longer than the rest", 2, 1, 'A', 1, 'B', 1, 0, 1, 0, 0, 2,
         'x');
  REJECT("trailing byte", 2, 1, 'A', 1, 'B', 1, 0, 1, 0, 0, 1, 'x', 'y');
  REJECT("no payload length", 2, 1, 'A', 1, 'B', 1, 0, 1, 0, 0);
}

/* Every truncation of a valid message is malformed, and so is every byte
 * added at the end; none is read past. */
static void test_ses_truncations(void **state) {
  (void)state;
  for (size_t n = 0; n < sizeof ses_want; n++) {
    uint8_t *cut = test_malloc(n ? n : 1); /* exact size: ASan sees overreads */
    memcpy(cut, ses_want, n);
    expect_rejected(cut, n, "truncated");
    test_free(cut);
  }
  uint8_t more[sizeof ses_want + 1];
  memcpy(more, ses_want, sizeof ses_want);
  for (int x = 0; x < 256; x += 51) {
    more[sizeof ses_want] = (uint8_t)x;
    expect_rejected(more, sizeof more, "trailing");
  }
}

/* Names the table does not know get provisional ids (table size + k, in
 * dictionary order) and enter it only on commit; known names keep their
 * ids. */
static void test_ses_provisional_ids(void **state) {
  (void)state;
  p2pc_idtab t;
  p2pc_idtab_init(&t, A, 16);
  uint32_t c = id_of(&t, "C"), q = id_of(&t, "Q");
  p2pc_ses_msg m;
  p2pc_ses_msg_init(&m);
  assert_int_equal(p2pc_wire_ses_get(ses_want, sizeof ses_want, &t, A, &m),
                   (int)sizeof ses_want);
  assert_int_equal(t.n, 2); /* nothing interned yet */
  assert_int_equal(m.nnew, 3);
  /* A, B, D in dictionary order: ids 2, 3, 4. */
  assert_int_equal(m.sender, 2);
  assert_int_equal(m.dest, 3);
  assert_int_equal(m.sender_len, 1);
  assert_memory_equal(m.sender_name, "A", 1);
  assert_memory_equal(m.dest_name, "B", 1);
  assert_memory_equal(m.new_names[2], "D", 1);
  assert_int_equal(m.new_lens[2], 1);
  /* Entries use the provisional ids and come sorted by them. */
  assert_int_equal(m.ndeps, 4);
  assert_sorted(&m);
  assert_int_equal(m.deps[0].dest, c);
  assert_int_equal(m.deps[0].sender, 4);
  assert_int_equal(m.deps[1].dest, 3);
  assert_int_equal(m.deps[1].sender, c);
  /* So do the LS values, in dictionary order: A, C, D. */
  assert_int_equal(m.nls, 3);
  assert_int_equal(m.ls[0].id, 2);
  assert_int_equal(m.ls[1].id, c);
  assert_int_equal(m.ls[2].id, 4);
  /* The commit makes them real, in that order. */
  assert_int_equal(p2pc_wire_ses_commit(&t, &m), 0);
  assert_int_equal(t.n, 5);
  assert_string_equal(p2pc_idtab_name(&t, 2, NULL), "A");
  assert_string_equal(p2pc_idtab_name(&t, 3, NULL), "B");
  assert_string_equal(p2pc_idtab_name(&t, 4, NULL), "D");
  assert_string_equal(p2pc_idtab_name(&t, q, NULL), "Q");
  /* A refused message is rolled back by truncating the table. */
  p2pc_idtab_truncate(&t, 2);
  uint32_t x;
  assert_int_equal(p2pc_idtab_find(&t, "A", 1, &x), P2PC_ERR_NOTFOUND);
  p2pc_ses_msg_fini(&m, A);
  p2pc_idtab_fini(&t);
}

/* New names that would take the table past its limit: FULL (the core's
 * TOOBIG), nothing written, nothing interned; at exactly the limit they
 * fit. */
static void test_ses_table_limit(void **state) {
  (void)state;
  p2pc_idtab t;
  p2pc_ses_msg m;
  p2pc_ses_msg_init(&m);
  p2pc_idtab_init(&t, A, 4);
  id_of(&t, "X");
  m.n = 77;
  /* 1 known + 4 new > 4. */
  assert_int_equal(p2pc_wire_ses_get(ses_want, sizeof ses_want, &t, A, &m),
                   P2PC_ERR_FULL);
  assert_int_equal(m.n, 77);
  assert_int_equal(t.n, 1);
  /* Known names do not count: with C and D known, A and B fit. */
  id_of(&t, "C");
  id_of(&t, "D");
  assert_int_equal(p2pc_wire_ses_get(ses_want, sizeof ses_want, &t, A, &m),
                   P2PC_ERR_FULL); /* 3 + 2 > 4 */
  p2pc_idtab_fini(&t);
  p2pc_idtab_init(&t, A, 4);
  id_of(&t, "C");
  id_of(&t, "D");
  assert_int_equal(p2pc_wire_ses_get(ses_want, sizeof ses_want, &t, A, &m),
                   (int)sizeof ses_want);
  assert_int_equal(m.nnew, 2);
  assert_int_equal(p2pc_wire_ses_commit(&t, &m), 0);
  assert_int_equal(t.n, 4);
  p2pc_ses_msg_fini(&m, A);
  p2pc_idtab_fini(&t);
  /* An empty table of limit 4 takes all four. */
  p2pc_idtab_init(&t, A, 4);
  assert_int_equal(p2pc_wire_ses_get(ses_want, sizeof ses_want, &t, A, &m),
                   (int)sizeof ses_want);
  assert_int_equal(m.nnew, 4);
  p2pc_ses_msg_fini(&m, A);
  p2pc_idtab_fini(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ses_get_rejects),
      cmocka_unit_test(test_ses_truncations),
      cmocka_unit_test(test_ses_provisional_ids),
      cmocka_unit_test(test_ses_table_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
