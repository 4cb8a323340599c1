/* SPDX-License-Identifier: MIT */
/*
 * Vector clocks: known answers for get/set/tick, merge, the order relation
 * (<=, <, concurrent) and the compact encoding, plus interning of node IDs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "failalloc.h"
#include "idtab.h"
#include "vclock.h"

#define A p2pc_allocator_default()

/* Builds a clock from "id=value" pairs given as a flat list, 0-terminated
 * by a negative id. */
static p2pc_vclock mk(const int *kv) {
  p2pc_vclock vc;
  p2pc_vclock_init(&vc);
  for (; kv[0] >= 0; kv += 2)
    assert_int_equal(p2pc_vclock_set(&vc, A, (uint32_t)kv[0], (uint64_t)kv[1]),
                     0);
  return vc;
}

static void test_sparse_get_set_tick(void **state) {
  (void)state;
  p2pc_vclock vc;
  p2pc_vclock_init(&vc);
  assert_int_equal(p2pc_vclock_get(&vc, 7), 0);
  assert_int_equal(p2pc_vclock_tick(&vc, A, 7), 0);
  assert_int_equal(p2pc_vclock_tick(&vc, A, 2), 0);
  assert_int_equal(p2pc_vclock_tick(&vc, A, 7), 0);
  assert_int_equal(vc.n, 2);
  assert_int_equal(vc.e[0].id, 2); /* sorted */
  assert_int_equal(vc.e[1].v, 2);
  assert_int_equal(p2pc_vclock_set(&vc, A, 2, 0), 0); /* zero = absent */
  assert_int_equal(vc.n, 1);
  assert_int_equal(p2pc_vclock_get(&vc, 2), 0);
  assert_int_equal(p2pc_vclock_set(&vc, A, 5, UINT64_MAX), 0);
  assert_int_equal(p2pc_vclock_tick(&vc, A, 5), P2PC_ERR_TOOBIG);
  p2pc_vclock_fini(&vc, A);
}

static void test_merge_is_componentwise_max(void **state) {
  (void)state;
  p2pc_vclock a = mk((int[]){1, 3, 4, 1, 9, 2, -1});
  p2pc_vclock b = mk((int[]){0, 5, 4, 7, 8, 1, 9, 1, -1});
  assert_int_equal(p2pc_vclock_merge(&a, A, &b), 0);
  p2pc_vclock want = mk((int[]){0, 5, 1, 3, 4, 7, 8, 1, 9, 2, -1});
  assert_true(p2pc_vclock_eq(&a, &want));
  /* Merging into itself or with an empty clock changes nothing. */
  p2pc_vclock empty;
  p2pc_vclock_init(&empty);
  assert_int_equal(p2pc_vclock_merge(&a, A, &empty), 0);
  assert_true(p2pc_vclock_eq(&a, &want));
  assert_int_equal(p2pc_vclock_merge(&empty, A, &a), 0);
  assert_true(p2pc_vclock_eq(&empty, &want));
  p2pc_vclock_fini(&a, A);
  p2pc_vclock_fini(&b, A);
  p2pc_vclock_fini(&want, A);
  p2pc_vclock_fini(&empty, A);
}

static void test_order(void **state) {
  (void)state;
  p2pc_vclock a = mk((int[]){0, 1, 1, 2, -1});
  p2pc_vclock b = mk((int[]){0, 1, 1, 3, -1});
  p2pc_vclock c = mk((int[]){0, 2, -1});
  p2pc_vclock z;
  p2pc_vclock_init(&z);
  assert_true(p2pc_vclock_leq(&a, &b));
  assert_false(p2pc_vclock_leq(&b, &a));
  assert_true(p2pc_vclock_leq(&z, &a)); /* missing = 0 */
  assert_int_equal(p2pc_vclock_compare(&a, &b), P2PC_VC_BEFORE);
  assert_int_equal(p2pc_vclock_compare(&b, &a), P2PC_VC_AFTER);
  assert_int_equal(p2pc_vclock_compare(&a, &a), P2PC_VC_EQUAL);
  assert_int_equal(p2pc_vclock_compare(&a, &c), P2PC_VC_CONCURRENT);
  assert_int_equal(p2pc_vclock_compare(&z, &z), P2PC_VC_EQUAL);
  /* An id only b has makes a <= b but not b <= a. */
  p2pc_vclock d = mk((int[]){0, 1, 1, 2, 5, 1, -1});
  assert_int_equal(p2pc_vclock_compare(&a, &d), P2PC_VC_BEFORE);
  p2pc_vclock_fini(&a, A);
  p2pc_vclock_fini(&b, A);
  p2pc_vclock_fini(&c, A);
  p2pc_vclock_fini(&d, A);
}

static void test_encoding_known_answer(void **state) {
  (void)state;
  p2pc_vclock a = mk((int[]){2, 1, 3, 300, 10, 5, -1});
  p2pc_buf b;
  p2pc_buf_init(&b, A, 64);
  assert_int_equal(p2pc_vclock_encode(&a, &b), 0);
  /* count 3; (2,1) (1,300) (7,5): id gaps, LEB128 values */
  const uint8_t want[] = {3, 2, 1, 1, 0xac, 0x02, 7, 5};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  p2pc_vclock back;
  p2pc_vclock_init(&back);
  assert_int_equal(p2pc_vclock_decode(&back, A, b.data, b.len, 16),
                   (int)sizeof want);
  assert_true(p2pc_vclock_eq(&a, &back));
  /* An id at or past the limit, a zero value, a repeated id: rejected,
   * and the destination is untouched. */
  const uint8_t past_limit[] = {1, 16, 1};
  const uint8_t zero[] = {1, 2, 0};
  const uint8_t repeat[] = {2, 2, 1, 0, 1};
  const uint8_t truncated[] = {3, 2, 1};
  assert_int_equal(p2pc_vclock_decode(&back, A, past_limit, 3, 16),
                   P2PC_ERR_PROTO);
  assert_int_equal(p2pc_vclock_decode(&back, A, zero, 3, 16), P2PC_ERR_PROTO);
  assert_int_equal(p2pc_vclock_decode(&back, A, repeat, 5, 16), P2PC_ERR_PROTO);
  assert_int_equal(p2pc_vclock_decode(&back, A, truncated, 3, 16),
                   P2PC_ERR_PROTO);
  assert_true(p2pc_vclock_eq(&a, &back));
  p2pc_vclock_fini(&a, A);
  p2pc_vclock_fini(&back, A);
  p2pc_buf_fini(&b);
}

static void test_merge_failure_leaves_clock(void **state) {
  (void)state;
  failalloc f;
  failalloc_init(&f);
  p2pc_vclock a, b;
  p2pc_vclock_init(&a);
  p2pc_vclock_init(&b);
  for (uint32_t i = 0; i < 4; i++)
    assert_int_equal(p2pc_vclock_set(&a, &f.a, i * 2, i + 1), 0);
  for (uint32_t i = 0; i < 40; i++)
    assert_int_equal(p2pc_vclock_set(&b, &f.a, i * 2 + 1, 9), 0);
  p2pc_vclock before;
  p2pc_vclock_init(&before);
  assert_int_equal(p2pc_vclock_copy(&before, &f.a, &a), 0);
  f.countdown = 0;
  assert_int_equal(p2pc_vclock_merge(&a, &f.a, &b), P2PC_ERR_NOMEM);
  assert_true(p2pc_vclock_eq(&a, &before));
  f.countdown = -1;
  assert_int_equal(p2pc_vclock_merge(&a, &f.a, &b), 0);
  assert_int_equal(a.n, 44);
  p2pc_vclock_fini(&a, &f.a);
  p2pc_vclock_fini(&b, &f.a);
  p2pc_vclock_fini(&before, &f.a);
  assert_int_equal(f.live, 0);
}

static void test_idtab(void **state) {
  (void)state;
  p2pc_idtab t;
  uint32_t id, id2;
  p2pc_idtab_init(&t, A, 100);
  assert_true(p2pc_id_valid("node-1.a_B", 10));
  assert_false(p2pc_id_valid("a:b", 3));
  assert_false(p2pc_id_valid("a b", 3));
  assert_false(p2pc_id_valid("", 0));
  char long_id[P2PC_ID_MAX + 1];
  memset(long_id, 'x', sizeof long_id);
  assert_true(p2pc_node_id_valid(long_id, P2PC_NODE_ID_MAX));
  assert_false(p2pc_node_id_valid(long_id, P2PC_NODE_ID_MAX + 1));
  /* Causal identities: a node ID, optionally "~" and an incarnation tag. */
  assert_true(p2pc_id_valid("A~k3x9", 6));
  assert_false(p2pc_node_id_valid("A~k3x9", 6));
  assert_false(p2pc_id_valid("A~", 2));
  assert_false(p2pc_id_valid("~k3", 3));
  assert_false(p2pc_id_valid("A~b~c", 5));
  assert_false(p2pc_id_valid("A~0123456789abcdef", 18)); /* tag > 15 */
  memcpy(long_id + P2PC_NODE_ID_MAX, "~0123456789abcde", 16);
  assert_true(p2pc_id_valid(long_id, P2PC_ID_MAX));
  assert_int_equal(p2pc_idtab_intern(&t, "a:b", 3, &id), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_idtab_find(&t, "A", 1, &id), P2PC_ERR_NOTFOUND);
  /* Many names, to force growth and rehashing; ids are dense, stable. */
  for (uint32_t i = 0; i < 100; i++) {
    char nm[16];
    size_t n = 0;
    uint32_t v = i;
    nm[n++] = 'n';
    do
      nm[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    assert_int_equal(p2pc_idtab_intern(&t, nm, n, &id), 0);
    assert_int_equal(id, i);
    assert_int_equal(p2pc_idtab_intern(&t, nm, n, &id2), 0);
    assert_int_equal(id2, i);
    size_t len;
    assert_string_equal(p2pc_idtab_name(&t, id, &len), (nm[n] = 0, nm));
    assert_int_equal(len, n);
  }
  /* (digits are written least significant first: 57 is "n75") */
  assert_int_equal(p2pc_idtab_find(&t, "n75", 3, &id), 0);
  assert_int_equal(id, 57);
  assert_int_equal(p2pc_idtab_intern(&t, "one-too-many", 12, &id),
                   P2PC_ERR_FULL);
  p2pc_idtab_fini(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sparse_get_set_tick),
      cmocka_unit_test(test_merge_is_componentwise_max),
      cmocka_unit_test(test_order),
      cmocka_unit_test(test_encoding_known_answer),
      cmocka_unit_test(test_merge_failure_leaves_clock),
      cmocka_unit_test(test_idtab),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
