/* SPDX-License-Identifier: MIT */
/*
 * The SES codec (sescodec.h), encoding: the Δ-SES message's known answer
 * (its dictionary, its entries and their hop counts, its LS list), round
 * trips, what the encoder refuses, and allocation failures. Decoding
 * malformed input: test_sescodec_get.c.
 */
#include "sesfix.h"

#include "failalloc.h"

static void test_ses_known_answer(void **state) {
  (void)state;
  p2pc_idtab ids;
  p2pc_idtab_init(&ids, A, 16);
  /* Interned in an order unlike the dictionary's, entries unsorted: the
   * encoder's bytes depend on the names only. */
  id_of(&ids, "D");
  id_of(&ids, "B");
  p2pc_ses_dep deps[4] = {
      dep_h(&ids, "D", "B", 7, 99, 3), dep_h(&ids, "C", "D", 4, 50, 1),
      dep_h(&ids, "D", "A", 1, 95, 255), dep(&ids, "B", "C", 2, 90)};
  p2pc_ses_msg m = ses(&ids, "A", "B", 3, 1, 100, deps, 4, "hi");
  /* Given in no particular order: they go in the dictionary's. */
  p2pc_ses_ls ls[3] = {lsv(&ids, "D", 99), lsv(&ids, "A", 97),
                       lsv(&ids, "C", 40)};
  m.ls = ls;
  m.nls = 3;
  p2pc_buf b;
  size_t meta = 0;
  p2pc_buf_init(&b, A, 1024);
  assert_int_equal(put(&b, &m, &ids, &meta), 0);
  assert_int_equal(b.len, sizeof ses_want);
  assert_memory_equal(b.data, ses_want, sizeof ses_want);
  /* Metadata: everything but the payload and its length. */
  assert_int_equal(meta, sizeof ses_want - 3);
  /* Appends, and reports meta for its own message only. */
  assert_int_equal(put(&b, &m, &ids, &meta), 0);
  assert_int_equal(b.len, 2 * sizeof ses_want);
  assert_memory_equal(b.data + sizeof ses_want, ses_want, sizeof ses_want);
  assert_int_equal(meta, sizeof ses_want - 3);
  assert_int_equal(put(&b, &m, &ids, NULL), 0);

  p2pc_ses_msg got;
  p2pc_ses_msg_init(&got);
  p2pc_idtab other;
  p2pc_idtab_init(&other, A, 16);
  assert_int_equal(
      p2pc_wire_ses_get(ses_want, sizeof ses_want, &other, A, &got),
      (int)sizeof ses_want);
  assert_int_equal(p2pc_wire_ses_commit(&other, &got), 0);
  assert_same_msg(&m, &ids, &got, &other);
  assert_sorted(&got);
  assert_int_equal(got.n, 3);
  assert_int_equal(got.prev, 1);
  assert_int_equal(got.stamp, 100);
  /* The payload is borrowed from the input. */
  assert_ptr_equal(got.payload, ses_want + sizeof ses_want - 2);
  const p2pc_ses_dep *e = find_dep(&got, &other, "D", "B");
  assert_non_null(e);
  assert_int_equal(e->n, 7);
  assert_int_equal(e->stamp, 99);
  assert_int_equal(e->hops, 3);
  e = find_dep(&got, &other, "D", "A");
  assert_non_null(e);
  assert_int_equal(e->hops, P2PC_SES_MAX_HOPS);
  e = find_dep(&got, &other, "B", "C");
  assert_non_null(e);
  assert_int_equal(e->hops, 0);
  /* The LS values come in dictionary order, owned by the message. */
  assert_int_equal(got.nls, 3);
  assert_true(got.ls_owned);
  assert_string_equal(name_of(&other, got.ls[0].id), "A");
  assert_int_equal(got.ls[0].ls, 97);
  assert_string_equal(name_of(&other, got.ls[1].id), "C");
  assert_int_equal(got.ls[1].ls, 40);
  assert_string_equal(name_of(&other, got.ls[2].id), "D");
  assert_int_equal(got.ls[2].ls, 99);
  /* The hop count is part of the message: another one, other bytes. */
  deps[0].hops = 4;
  p2pc_buf_reset(&b);
  assert_int_equal(put(&b, &m, &ids, NULL), 0);
  assert_int_equal(b.len, sizeof ses_want);
  assert_int_equal(memcmp(b.data, ses_want, sizeof ses_want) != 0, 1);
  deps[0].hops = 3;
  /* So is an LS value. */
  ls[2].ls = 41;
  p2pc_buf_reset(&b);
  assert_int_equal(put(&b, &m, &ids, NULL), 0);
  assert_int_equal(b.len, sizeof ses_want);
  assert_int_equal(memcmp(b.data, ses_want, sizeof ses_want) != 0, 1);
  /* Without them, the list is one byte: its count, 0. */
  m.nls = 0;
  p2pc_buf_reset(&b);
  assert_int_equal(put(&b, &m, &ids, NULL), 0);
  assert_int_equal(b.len, sizeof ses_want - 6);
  p2pc_ses_msg_fini(&got, A);
  p2pc_buf_fini(&b);
  p2pc_idtab_fini(&ids);
  p2pc_idtab_fini(&other);
}

static void test_ses_round_trips(void **state) {
  (void)state;
  p2pc_idtab ids;
  p2pc_idtab_init(&ids, A, 256);
  /* No entries, no payload: the smallest message. */
  p2pc_ses_msg m = ses(&ids, "A", "B", 1, 0, 1, NULL, 0, NULL);
  const uint8_t tiny[] = {2, 1, 'A', 1, 'B', 1, 0, 1, 0, 0, 0};
  round_trip(&m, &ids, sizeof tiny);
  p2pc_buf b;
  p2pc_buf_init(&b, A, 64);
  assert_int_equal(put(&b, &m, &ids, NULL), 0);
  assert_memory_equal(b.data, tiny, sizeof tiny);
  /* With the sender's LS only: it needs no entry. */
  p2pc_ses_ls own = lsv(&ids, "A", 4);
  m = ses(&ids, "A", "B", 1, 0, 5, NULL, 0, NULL);
  m.ls = &own;
  m.nls = 1;
  const uint8_t tiny_ls[] = {2, 1, 'A', 1, 'B', 1, 0, 5, 0, 1, 0, 1, 0};
  round_trip(&m, &ids, sizeof tiny_ls);
  p2pc_buf_reset(&b);
  assert_int_equal(put(&b, &m, &ids, NULL), 0);
  assert_memory_equal(b.data, tiny_ls, sizeof tiny_ls);
  p2pc_buf_fini(&b);
  /* Large numbers: every varint at its widest. */
  p2pc_ses_dep big[2] = {
      dep_h(&ids, "B", "C~x", UINT64_MAX, 1, P2PC_SES_MAX_HOPS),
      dep(&ids, "C~x", "B", 1, UINT64_MAX - 1),
  };
  m = ses(&ids, "A", "B", UINT64_MAX, UINT64_MAX - 1, UINT64_MAX, big, 2,
          "payload");
  round_trip(&m, &ids, 0);
  /* LS values of every width, for the sender, an entry sender that is
   * the destination, and another. */
  p2pc_ses_ls wide[3] = {lsv(&ids, "A", 1), lsv(&ids, "B", UINT64_MAX - 1),
                         lsv(&ids, "C~x", 1u << 20)};
  m.ls = wide;
  m.nls = 3;
  round_trip(&m, &ids, 0);
  /* Identities with incarnations and names of every length: the dictionary
   * is sorted by (length, bytes), so "Z" < "ab" < "node-10" < "node-9x". */
  p2pc_ses_dep mixed[4] = {
      dep(&ids, "node-9x", "ab", 3, 30),
      dep(&ids, "node-10", "Z", 4, 40),
      dep(&ids, "ab", "node-10", 5, 50),
      dep(&ids, "node-9x", "Z", 6, 60),
  };
  m = ses(&ids, "zz~1", "B", 9, 8, 1000, mixed, 4, "x");
  round_trip(&m, &ids, 0);
  p2pc_ses_ls some[3] = {lsv(&ids, "node-10", 7), lsv(&ids, "zz~1", 999),
                         lsv(&ids, "Z", 5)};
  m.ls = some;
  m.nls = 3;
  round_trip(&m, &ids, 0);
  p2pc_buf_init(&b, A, 1024);
  assert_int_equal(put(&b, &m, &ids, NULL), 0);
  const uint8_t dict[] = {6,   4,   'z', 'z', '~', '1', 1,   'B', 1,   'Z',
                          2,   'a', 'b', 7,   'n', 'o', 'd', 'e', '-', '1',
                          '0', 7,   'n', 'o', 'd', 'e', '-', '9', 'x'};
  assert_memory_equal(b.data, dict, sizeof dict);
  p2pc_buf_fini(&b);
  /* Many entries: every pair of 40 names but the forbidden ones. */
  char nm[40][8];
  for (int i = 0; i < 40; i++) {
    snprintf(nm[i], sizeof nm[i], "n%d", i);
    id_of(&ids, nm[i]);
  }
  static p2pc_ses_dep many[40 * 40];
  uint32_t k = 0;
  for (int d = 0; d < 40; d++)
    for (int s = 0; s < 40; s++)
      if (d != s && d != 7) /* n7 sends the message */
        many[k++] = dep_h(&ids, nm[d], nm[s], (uint64_t)(d * 40 + s + 1),
                          (uint64_t)(1000000 - d * 40 - s),
                          (uint32_t)(d * 40 + s) % (P2PC_SES_MAX_HOPS + 1));
  m = ses(&ids, nm[7], nm[3], 100, 0, 1000000, many, k, "many");
  assert_true(k > 1000);
  round_trip(&m, &ids, 0);
  /* Every one of them sends an entry: each may have its LS there. */
  p2pc_ses_ls all[40];
  for (int i = 0; i < 40; i++)
    all[i] = lsv(&ids, nm[39 - i], (uint64_t)(1000 + i * 997));
  m.ls = all;
  m.nls = 40;
  round_trip(&m, &ids, 0);
  p2pc_idtab_fini(&ids);
}

/* What the encoder refuses: a message the decoder would call malformed.
 * Nothing is appended. */
static void test_ses_put_rejects(void **state) {
  (void)state;
  p2pc_idtab ids;
  p2pc_idtab_init(&ids, A, 16);
  p2pc_buf b;
  p2pc_buf_init(&b, A, 1024);
  const struct {
    const char *sender, *dest;
    uint64_t n, prev, stamp;
    const char *ed, *es;
    uint64_t en, estamp;
    const char *why;
  } bad[] = {
      {"A", "A", 1, 0, 5, NULL, NULL, 0, 0, "dest == sender"},
      {"A", "B", 0, 0, 5, NULL, NULL, 0, 0, "n zero"},
      {"A", "B", 2, 2, 5, NULL, NULL, 0, 0, "prev >= n"},
      {"A", "B", 1, 0, 0, NULL, NULL, 0, 0, "stamp zero"},
      {"A", "B", 1, 0, 5, "A", "C", 1, 1, "entry dest == message sender"},
      {"A", "B", 1, 0, 5, "C", "C", 1, 1, "entry dest == entry sender"},
      {"A", "B", 1, 0, 5, "C", "D", 0, 1, "entry n zero"},
      {"A", "B", 1, 0, 5, "C", "D", 1, 0, "entry stamp zero"},
      {"A", "B", 1, 0, 5, "C", "D", 1, 5, "entry stamp == stamp"},
      {"A", "B", 1, 0, 5, "C", "D", 1, 6, "entry stamp > stamp"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    p2pc_ses_dep e;
    uint32_t ne = 0;
    if (bad[i].ed) {
      e = dep(&ids, bad[i].ed, bad[i].es, bad[i].en, bad[i].estamp);
      ne = 1;
    }
    p2pc_ses_msg m = ses(&ids, bad[i].sender, bad[i].dest, bad[i].n,
                         bad[i].prev, bad[i].stamp, &e, ne, "p");
    int rv = put(&b, &m, &ids, NULL);
    if (rv != P2PC_ERR_INVAL)
      fail_msg("%s: %d, not INVAL", bad[i].why, rv);
    assert_int_equal(b.len, 0);
  }
  /* Two entries for one (dest, sender). */
  p2pc_ses_dep twice[2] = {dep(&ids, "C", "D", 1, 1),
                           dep(&ids, "C", "D", 2, 2)};
  p2pc_ses_msg m = ses(&ids, "A", "B", 1, 0, 5, twice, 2, NULL);
  assert_int_equal(put(&b, &m, &ids, NULL), P2PC_ERR_INVAL);
  /* A hop count past the most the wire carries. */
  p2pc_ses_dep far = dep_h(&ids, "C", "D", 1, 1, P2PC_SES_MAX_HOPS + 1);
  m = ses(&ids, "A", "B", 1, 0, 5, &far, 1, NULL);
  assert_int_equal(put(&b, &m, &ids, NULL), P2PC_ERR_INVAL);
  far.hops = UINT32_MAX;
  assert_int_equal(put(&b, &m, &ids, NULL), P2PC_ERR_INVAL);
  assert_int_equal(b.len, 0);
  /* An id the table does not hold. */
  p2pc_ses_dep ghost = {ids.n, 0, 1, 1, 0};
  m = ses(&ids, "A", "B", 1, 0, 5, &ghost, 1, NULL);
  assert_int_equal(put(&b, &m, &ids, NULL), P2PC_ERR_INVAL);
  assert_int_equal(b.len, 0);
  /* And what it accepts: an entry about the message's own destination,
   * and one whose sender is the message's sender or destination. */
  p2pc_ses_dep fine[3] = {dep(&ids, "B", "C", 1, 1), dep(&ids, "C", "A", 1, 2),
                          dep(&ids, "C", "B", 1, 3)};
  m = ses(&ids, "A", "B", 1, 0, 5, fine, 3, NULL);
  assert_int_equal(put(&b, &m, &ids, NULL), 0);
  /* A buffer too small for the message: TOOBIG, and nothing left in it. */
  p2pc_buf small;
  p2pc_buf_init(&small, A, 8);
  assert_int_equal(put(&small, &m, &ids, NULL), P2PC_ERR_TOOBIG);
  assert_int_equal(small.len, 0);
  p2pc_buf_fini(&small);
  p2pc_buf_fini(&b);
  p2pc_idtab_fini(&ids);
}

/* The LS list's rules, on the encoder's side: each value is above 0 and
 * below the stamp, and names the message's sender or an entry's sender,
 * once. A list it refuses leaves nothing of the message in out, even
 * after other bytes. */
static void test_ses_put_rejects_ls(void **state) {
  (void)state;
  p2pc_idtab ids;
  p2pc_idtab_init(&ids, A, 16);
  id_of(&ids, "E"); /* in the table, not in the message */
  /* A -> B at 10; entries (B, C) and (C, D): C and D send entries, B and
   * C receive them. */
  p2pc_ses_dep deps[2] = {dep(&ids, "B", "C", 1, 3), dep(&ids, "C", "D", 2, 4)};
  const struct {
    const char *id;
    uint64_t ls;
    const char *id2;
    uint64_t ls2;
    const char *why;
  } bad[] = {
      {"A", 0, NULL, 0, "the sender's LS 0"},
      {"C", 0, NULL, 0, "an entry sender's LS 0"},
      {"A", 10, NULL, 0, "LS == stamp"},
      {"D", 11, NULL, 0, "LS > stamp"},
      {"C", UINT64_MAX, NULL, 0, "LS far above the stamp"},
      {"B", 5, NULL, 0, "the destination, which sends no entry"},
      {"E", 5, NULL, 0, "a node the message does not name"},
      {"A", 5, "A", 5, "the sender twice, same value"},
      {"C", 5, "C", 6, "an entry sender twice"},
      {"A", 5, "B", 6, "a good one, then the destination"},
  };
  p2pc_buf b;
  p2pc_buf_init(&b, A, 1024);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    p2pc_ses_ls ls[2] = {lsv(&ids, bad[i].id, bad[i].ls)};
    uint32_t nls = 1;
    if (bad[i].id2)
      ls[nls++] = lsv(&ids, bad[i].id2, bad[i].ls2);
    p2pc_ses_msg m = ses(&ids, "A", "B", 1, 0, 10, deps, 2, "p");
    m.ls = ls;
    m.nls = nls;
    for (int prefix = 0; prefix < 2; prefix++) {
      p2pc_buf_reset(&b);
      if (prefix)
        assert_int_equal(p2pc_buf_put_u8(&b, 0xee), 0);
      int rv = put(&b, &m, &ids, NULL);
      if (rv != P2PC_ERR_INVAL)
        fail_msg("%s: %d, not INVAL", bad[i].why, rv);
      assert_int_equal(b.len, (size_t)prefix);
    }
  }
  /* An id outside the table; a count without a list. */
  p2pc_buf_reset(&b);
  p2pc_ses_ls ghost = {ids.n, 5};
  p2pc_ses_msg m = ses(&ids, "A", "B", 1, 0, 10, deps, 2, "p");
  m.ls = &ghost;
  m.nls = 1;
  assert_int_equal(put(&b, &m, &ids, NULL), P2PC_ERR_INVAL);
  ghost.id = UINT32_MAX;
  assert_int_equal(put(&b, &m, &ids, NULL), P2PC_ERR_INVAL);
  m.ls = NULL;
  assert_int_equal(put(&b, &m, &ids, NULL), P2PC_ERR_INVAL);
  assert_int_equal(b.len, 0);
  /* What it accepts: the bounds themselves, every sender at once; the
   * destination once it sends an entry. */
  p2pc_ses_ls good[3] = {lsv(&ids, "A", 9), lsv(&ids, "C", 1),
                         lsv(&ids, "D", 9)};
  m.ls = good;
  m.nls = 3;
  assert_int_equal(put(&b, &m, &ids, NULL), 0);
  p2pc_ses_dep with_b[3] = {deps[0], deps[1], dep(&ids, "D", "B", 1, 2)};
  p2pc_ses_ls of_b = lsv(&ids, "B", 2);
  m = ses(&ids, "A", "B", 1, 0, 10, with_b, 3, "p");
  m.ls = &of_b;
  m.nls = 1;
  assert_int_equal(put(&b, &m, &ids, NULL), 0);
  p2pc_buf_fini(&b);
  p2pc_idtab_fini(&ids);
}

/* Every allocation the codec makes may fail: the encoder then appends
 * nothing, the decoder leaves its output alone; neither leaks. */
static void test_ses_allocation_failures(void **state) {
  (void)state;
  p2pc_idtab ids;
  p2pc_idtab_init(&ids, A, 16);
  p2pc_ses_dep deps[4] = {
      dep_h(&ids, "D", "B", 7, 99, 3), dep_h(&ids, "C", "D", 4, 50, 1),
      dep_h(&ids, "D", "A", 1, 95, 255), dep(&ids, "B", "C", 2, 90)};
  p2pc_ses_ls ls[3] = {lsv(&ids, "D", 99), lsv(&ids, "A", 97),
                       lsv(&ids, "C", 40)};
  p2pc_ses_msg m = ses(&ids, "A", "B", 3, 1, 100, deps, 4, "hi");
  m.ls = ls;
  m.nls = 3;
  p2pc_buf b;
  p2pc_buf_init(&b, A, 1024);
  long k;
  for (k = 0;; k++) {
    assert_true(k < 100);
    failalloc f;
    failalloc_init(&f);
    p2pc_wire_scratch scratch = {0};
    p2pc_buf_reset(&b);
    f.countdown = k;
    int rv = p2pc_wire_ses_put(&b, &m, &ids, &scratch, &f.a, NULL);
    bool fired = f.countdown < 0;
    p2pc_wire_scratch_fini(&scratch, &f.a);
    assert_int_equal(f.live, 0);
    if (!fired) {
      assert_int_equal(rv, 0);
      assert_int_equal(b.len, sizeof ses_want);
      assert_memory_equal(b.data, ses_want, sizeof ses_want);
      break;
    }
    assert_int_equal(rv, P2PC_ERR_NOMEM);
    assert_int_equal(b.len, 0);
  }
  assert_true(k > 0);
  p2pc_idtab other;
  p2pc_idtab_init(&other, A, 16);
  for (k = 0;; k++) {
    assert_true(k < 100);
    failalloc f;
    failalloc_init(&f);
    p2pc_ses_msg got;
    p2pc_ses_msg_init(&got);
    got.n = 77;
    f.countdown = k;
    int rv = p2pc_wire_ses_get(ses_want, sizeof ses_want, &other, &f.a, &got);
    bool fired = f.countdown < 0;
    if (!fired) {
      assert_int_equal(rv, (int)sizeof ses_want);
      assert_int_equal(got.nls, 3);
      p2pc_ses_msg_fini(&got, &f.a);
      assert_int_equal(f.live, 0);
      break;
    }
    assert_int_equal(rv, P2PC_ERR_NOMEM);
    assert_int_equal(got.n, 77);
    assert_null(got.deps);
    assert_null(got.ls);
    assert_int_equal(f.live, 0);
  }
  assert_true(k > 0);
  assert_int_equal(other.n, 0);
  p2pc_idtab_fini(&other);
  p2pc_buf_fini(&b);
  p2pc_idtab_fini(&ids);
}

/* Decoded into a fresh table of limit 16: must be refused as malformed,
 * without touching the output. */

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ses_known_answer),
      cmocka_unit_test(test_ses_round_trips),
      cmocka_unit_test(test_ses_put_rejects),
      cmocka_unit_test(test_ses_put_rejects_ls),
      cmocka_unit_test(test_ses_allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
