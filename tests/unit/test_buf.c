/* SPDX-License-Identifier: MIT */
/*
 * Known-answer tests for the byte buffer and reader: big-endian layout,
 * LEB128 varints (minimal only), the hard cap, and the reader's refusal to
 * read past its input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "types.h"

static void test_be_layout(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, p2pc_allocator_default(), 64);
  assert_int_equal(p2pc_buf_put_be16(&b, 0x0102), 0);
  assert_int_equal(p2pc_buf_put_be32(&b, 0x03040506), 0);
  assert_int_equal(p2pc_buf_put_be64(&b, 0x0708090a0b0c0d0eULL), 0);
  const uint8_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);

  p2pc_reader r;
  uint16_t v16;
  uint32_t v32;
  uint64_t v64;
  p2pc_reader_init(&r, b.data, b.len);
  assert_true(p2pc_reader_be16(&r, &v16));
  assert_true(p2pc_reader_be32(&r, &v32));
  assert_true(p2pc_reader_be64(&r, &v64));
  assert_int_equal(v16, 0x0102);
  assert_int_equal(v32, 0x03040506);
  assert_true(v64 == 0x0708090a0b0c0d0eULL);
  assert_int_equal(p2pc_reader_left(&r), 0);
  assert_false(p2pc_reader_u8(&r, (uint8_t *)&v16));
  assert_false(r.ok);
  p2pc_buf_fini(&b);
}

/* The fixed-field writers and readers: the same layout as the buffer's,
 * and each read undoes its write. */
static void test_be_fixed_fields(void **state) {
  (void)state;
  uint8_t p[8];
  p2pc_be16_write(p, 0x0102);
  assert_int_equal(p[0], 1);
  assert_int_equal(p[1], 2);
  assert_int_equal(p2pc_be16_read(p), 0x0102);
  p2pc_be32_write(p, 0x01020304u);
  assert_memory_equal(p, "\x01\x02\x03\x04", 4);
  assert_int_equal(p2pc_be32_read(p), 0x01020304u);
  p2pc_be64_write(p, 0x0102030405060708ull);
  assert_memory_equal(p, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  assert_true(p2pc_be64_read(p) == 0x0102030405060708ull);
  p2pc_be64_write(p, UINT64_MAX);
  assert_true(p2pc_be64_read(p) == UINT64_MAX);
}

static void test_varint_known_answers(void **state) {
  (void)state;
  struct {
    uint64_t v;
    uint8_t enc[10];
    size_t n;
  } kat[] = {
      {0, {0x00}, 1},
      {1, {0x01}, 1},
      {127, {0x7f}, 1},
      {128, {0x80, 0x01}, 2},
      {300, {0xac, 0x02}, 2},
      {16384, {0x80, 0x80, 0x01}, 3},
      {UINT64_MAX,
       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
       10},
  };
  for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
    p2pc_buf b;
    p2pc_buf_init(&b, p2pc_allocator_default(), 16);
    assert_int_equal(p2pc_buf_put_varint(&b, kat[i].v), 0);
    assert_int_equal(b.len, kat[i].n);
    assert_int_equal(p2pc_varint_len(kat[i].v), kat[i].n);
    assert_memory_equal(b.data, kat[i].enc, kat[i].n);
    p2pc_reader r;
    uint64_t v = 12345;
    p2pc_reader_init(&r, kat[i].enc, kat[i].n);
    assert_true(p2pc_reader_varint(&r, &v));
    assert_true(v == kat[i].v);
    p2pc_buf_fini(&b);
  }
}

static void test_varint_rejects_malformed(void **state) {
  (void)state;
  const uint8_t truncated[] = {0x80};
  const uint8_t padded[] = {0x81, 0x00}; /* 1, non-minimal */
  const uint8_t overflow[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0xff, 0x02};
  const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                            0x80, 0x80, 0x80, 0x80, 0x01};
  const struct {
    const uint8_t *p;
    size_t n;
  } bad[] = {{truncated, sizeof truncated},
             {padded, sizeof padded},
             {overflow, sizeof overflow},
             {eleven, sizeof eleven}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    p2pc_reader r;
    uint64_t v = 77;
    p2pc_reader_init(&r, bad[i].p, bad[i].n);
    assert_false(p2pc_reader_varint(&r, &v));
    assert_int_equal(v, 77); /* untouched on failure */
    assert_false(r.ok);
  }
}

static void test_cap_is_hard(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, p2pc_allocator_default(), 5);
  assert_int_equal(p2pc_buf_put_be32(&b, 1), 0);
  assert_int_equal(p2pc_buf_put_be16(&b, 1), P2PC_ERR_TOOBIG);
  assert_int_equal(b.len, 4); /* nothing appended */
  assert_int_equal(p2pc_buf_put_be64(&b, 1), P2PC_ERR_TOOBIG);
  assert_int_equal(b.len, 4);
  assert_int_equal(p2pc_buf_put_u8(&b, 9), 0);
  assert_int_equal(b.len, 5);
  p2pc_buf_fini(&b);
}

static void test_reader_bytes_bounds(void **state) {
  (void)state;
  const uint8_t in[] = {1, 2, 3};
  const uint8_t *p = NULL;
  p2pc_reader r;
  p2pc_reader_init(&r, in, sizeof in);
  assert_false(p2pc_reader_bytes(&r, 4, &p));
  assert_null(p);
  p2pc_reader_init(&r, in, sizeof in);
  assert_true(p2pc_reader_bytes(&r, 3, &p));
  assert_ptr_equal(p, in);
  assert_false(p2pc_reader_bytes(&r, 1, &p));
}

/* p2pc_array_grow: doubling from `first`, never past max, new slots
 * zeroed, the old ones kept; at max it refuses and changes nothing. */
static void test_array_grow(void **state) {
  (void)state;
  const p2pc_allocator *a = p2pc_allocator_default();
  uint32_t *v = NULL, cap = 0;
  assert_true(p2pc_array_grow(a, (void **)&v, &cap, sizeof *v, 4, 10));
  assert_int_equal(cap, 4);
  for (uint32_t i = 0; i < cap; i++)
    assert_int_equal(v[i], 0);
  v[3] = 7;
  assert_true(p2pc_array_grow(a, (void **)&v, &cap, sizeof *v, 4, 10));
  assert_int_equal(cap, 8);
  assert_int_equal(v[3], 7);
  assert_int_equal(v[7], 0);
  assert_true(p2pc_array_grow(a, (void **)&v, &cap, sizeof *v, 4, 10));
  assert_int_equal(cap, 10); /* capped */
  uint32_t *before = v;
  assert_false(p2pc_array_grow(a, (void **)&v, &cap, sizeof *v, 4, 10));
  assert_int_equal(cap, 10);
  assert_ptr_equal(v, before);
  a->free(v, a->ud);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_be_layout),
      cmocka_unit_test(test_array_grow),
      cmocka_unit_test(test_be_fixed_fields),
      cmocka_unit_test(test_varint_known_answers),
      cmocka_unit_test(test_varint_rejects_malformed),
      cmocka_unit_test(test_cap_is_hard),
      cmocka_unit_test(test_reader_bytes_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
