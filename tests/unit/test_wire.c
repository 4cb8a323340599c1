/* SPDX-License-Identifier: MIT */
/*
 * The frame codec (frame.h): known byte layouts for every frame type,
 * frame splitting (need more / too big / zero), rejection of malformed
 * bodies (truncated at every length, trailing bytes, bad IDs), protocol
 * version 2 and the retired type 10, and the STABLE frame's steps and
 * written-off (first, last) ranges. The SES message inside DATA frames is
 * tested in test_sescodec.c and test_sescodec_get.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "sescodec.h"

#define A p2pc_allocator_default()

static void test_frame_split(void **state) {
  (void)state;
  const uint8_t two[] = {0, 0, 0, 3, P2PC_FRAME_ACK, 0x01, 0x02,
                         0, 0, 0, 1, P2PC_FRAME_PING};
  p2pc_frame f;
  for (size_t n = 0; n < 7; n++)
    assert_int_equal(p2pc_wire_frame_split(two, n, 64, &f), 0);
  assert_int_equal(p2pc_wire_frame_split(two, sizeof two, 64, &f), 7);
  assert_int_equal(f.type, P2PC_FRAME_ACK);
  assert_int_equal(f.body_len, 2);
  assert_ptr_equal(f.body, two + 5);
  assert_int_equal(p2pc_wire_frame_split(two + 7, 5, 64, &f), 5);
  assert_int_equal(f.body_len, 0);
  const uint8_t zero[] = {0, 0, 0, 0, 9};
  assert_int_equal(p2pc_wire_frame_split(zero, 5, 64, &f), P2PC_ERR_PROTO);
  /* An oversized length is refused as soon as the prefix is read, before
   * any of the body arrives. */
  const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
  assert_int_equal(p2pc_wire_frame_split(huge, 4, 1 << 20, &f),
                   P2PC_ERR_TOOBIG);
  const uint8_t just_over[] = {0, 0, 0, 65};
  assert_int_equal(p2pc_wire_frame_split(just_over, 4, 64, &f),
                   P2PC_ERR_TOOBIG);
}

static void test_frame_begin_end(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, A, 1024);
  long at = p2pc_wire_frame_begin(&b, P2PC_FRAME_ACK);
  assert_true(at == 0);
  assert_int_equal(p2pc_wire_ack_put(&b, 300, 2), 0);
  assert_int_equal(p2pc_wire_frame_end(&b, at, 64), 0);
  const uint8_t want[] = {0, 0, 0, 4, P2PC_FRAME_ACK, 0xac, 0x02, 2};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  /* A frame longer than max_frame is taken back out. */
  at = p2pc_wire_frame_begin(&b, P2PC_FRAME_ERROR);
  assert_int_equal(p2pc_wire_error_put(&b, 3, "a long enough reason"), 0);
  assert_int_equal(p2pc_wire_frame_end(&b, at, 8), P2PC_ERR_TOOBIG);
  assert_int_equal(b.len, sizeof want);
  p2pc_buf_fini(&b);
}

/* Every strict prefix of a valid body, and the body plus one byte, must be
 * rejected. */
typedef int (*decode_fn)(const uint8_t *b, size_t len, void *out);

static void expect_strict(const uint8_t *body, size_t len, decode_fn fn,
                          void *out) {
  uint8_t more[512];
  assert_true(len < sizeof more);
  assert_int_equal(fn(body, len, out), (int)len);
  for (size_t n = 0; n < len; n++)
    assert_true(fn(body, n, out) < 0);
  memcpy(more, body, len);
  more[len] = 0;
  assert_true(fn(more, len + 1, out) < 0);
}

static int hello_fn(const uint8_t *b, size_t len, void *out) {
  return p2pc_wire_hello_get(b, len, out);
}
static int error_fn(const uint8_t *b, size_t len, void *out) {
  return p2pc_wire_error_get(b, len, out);
}
static int peers_fn(const uint8_t *b, size_t len, void *out) {
  size_t n;
  return p2pc_wire_peers_get(b, len, out, 4, &n);
}

static void test_hello(void **state) {
  (void)state;
  p2pc_wire_hello h = {
      .version = P2PC_WIRE_VERSION,
      .incarnation = 0x0102030405060708ULL,
      .listen = {.family = 4, .addr = {127, 0, 0, 1}, .port = 9000}};
  strcpy(h.id, "A");
  p2pc_buf b;
  p2pc_buf_init(&b, A, 256);
  assert_int_equal(p2pc_wire_hello_put(&b, &h), 0);
  const uint8_t want[] = {'P', '2', 'P', 'C', 0, 3,    0,   0, 1,
                          'A', 1,   2,   3,   4, 5,    6,   7, 8,
                          4,   127, 0,   0,   1, 0x23, 0x28};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  p2pc_wire_hello got;
  expect_strict(b.data, b.len, hello_fn, &got);
  assert_string_equal(got.id, "A");
  assert_true(got.incarnation == h.incarnation);
  assert_int_equal(got.listen.port, 9000);
  /* Protocol version 3 (the overlay). Another version, the retired 1
   * and 2 included, is reported as such, with the version it named. */
  assert_int_equal(P2PC_WIRE_VERSION, 3);
  assert_int_equal(got.version, 3);
  uint8_t other[sizeof want];
  memcpy(other, want, sizeof want);
  const uint16_t versions[] = {0, 1, 2, 4, 0x0102};
  for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
    other[4] = (uint8_t)(versions[i] >> 8);
    other[5] = (uint8_t)versions[i];
    got.version = 77;
    assert_int_equal(p2pc_wire_hello_get(other, sizeof other, &got),
                     P2PC_ERR_VERSION);
    assert_int_equal(got.version, versions[i]);
  }
  /* Wrong magic, bad ID characters, unknown address family. */
  uint8_t bad[sizeof want];
  memcpy(bad, want, sizeof want);
  bad[0] = 'X';
  assert_int_equal(p2pc_wire_hello_get(bad, sizeof bad, &got), P2PC_ERR_PROTO);
  memcpy(bad, want, sizeof want);
  bad[9] = ':';
  assert_int_equal(p2pc_wire_hello_get(bad, sizeof bad, &got), P2PC_ERR_PROTO);
  memcpy(bad, want, sizeof want);
  bad[18] = 5;
  assert_int_equal(p2pc_wire_hello_get(bad, sizeof bad, &got), P2PC_ERR_PROTO);
  /* The three defined flags pass; any other bit is malformed. */
  memcpy(bad, want, sizeof want);
  bad[7] = P2PC_HELLO_JOIN | P2PC_HELLO_FRESH | P2PC_HELLO_ON_DEMAND;
  assert_int_equal(p2pc_wire_hello_get(bad, sizeof bad, &got), (int)sizeof bad);
  assert_int_equal(got.flags,
                   P2PC_HELLO_JOIN | P2PC_HELLO_FRESH | P2PC_HELLO_ON_DEMAND);
  bad[7] = 8;
  assert_int_equal(p2pc_wire_hello_get(bad, sizeof bad, &got), P2PC_ERR_PROTO);
  bad[7] = 0;
  bad[6] = 1;
  assert_int_equal(p2pc_wire_hello_get(bad, sizeof bad, &got), P2PC_ERR_PROTO);
  p2pc_buf_fini(&b);
}

static void test_error_ack_ping(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, A, 1024);
  assert_int_equal(p2pc_wire_error_put(&b, P2PC_WIRE_E_DUPLICATE, "dup B"), 0);
  const uint8_t want[] = {0, 2, 5, 'd', 'u', 'p', ' ', 'B'};
  assert_memory_equal(b.data, want, sizeof want);
  p2pc_wire_error e;
  expect_strict(b.data, b.len, error_fn, &e);
  assert_int_equal(e.code, P2PC_WIRE_E_DUPLICATE);
  assert_string_equal(e.reason, "dup B");
  const uint8_t nul[] = {0, 2, 1, 0};
  assert_int_equal(p2pc_wire_error_get(nul, 4, &e), P2PC_ERR_PROTO);

  uint64_t v = 0, beyond = 9;
  const uint8_t ack[] = {0x80, 0x01, 0x00};
  assert_int_equal(p2pc_wire_ack_get(ack, 3, &v, &beyond), 3);
  assert_int_equal(v, 128);
  assert_int_equal(beyond, 0);
  const uint8_t ack_padded[] = {0x80, 0x80, 0x00, 0x00};
  assert_int_equal(p2pc_wire_ack_get(ack_padded, 4, &v, &beyond),
                   P2PC_ERR_PROTO);
  assert_int_equal(p2pc_wire_ack_get(ack, 2, &v, &beyond), P2PC_ERR_PROTO);
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_ping_put(&b, P2PC_FRAME_PING, 42), 0);
  assert_int_equal(b.len, 8);
  assert_int_equal(p2pc_wire_ping_get(b.data, 8, &v), 8);
  assert_int_equal(v, 42);
  assert_int_equal(p2pc_wire_ping_get(b.data, 7, &v), P2PC_ERR_PROTO);
  p2pc_buf_fini(&b);
}

static void test_announce(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, A, 1024);
  p2pc_wire_announce an = {.time_port = 9001,
                           .mode = 0,
                           .flags = P2PC_ANNOUNCE_SYNCED,
                           .ref = "ref-1",
                           .ref_priority = 7,
                           .ref_class = 248,
                           .ref_seq = 300,
                           .hops = 2,
                           .tier = P2PC_TIER_NONE};
  assert_int_equal(p2pc_wire_announce_put(&b, &an), 0);
  const uint8_t want[] = {0x23, 0x29, 0,   1,    5,    'r', 'e', 'f', '-',
                          '1',  7,    248, 0xac, 0x02, 2,   255, 0};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  p2pc_wire_announce got;
  assert_int_equal(p2pc_wire_announce_get(b.data, b.len, &got), (int)b.len);
  assert_int_equal(got.time_port, 9001);
  assert_string_equal(got.ref, "ref-1");
  assert_int_equal(got.ref_seq, 300);
  assert_int_equal(got.hops, 2);
  /* every truncation fails, and leaves the output alone */
  for (size_t n = 0; n < b.len; n++) {
    memset(&got, 0x5a, sizeof got);
    assert_int_equal(p2pc_wire_announce_get(b.data, n, &got), P2PC_ERR_PROTO);
    assert_int_equal(got.time_port, 0x5a5a);
  }
  /* no reference: a zero-length ID */
  p2pc_buf_reset(&b);
  memset(&an, 0, sizeof an);
  assert_int_equal(p2pc_wire_announce_put(&b, &an), 0);
  assert_int_equal(b.len, 11);
  assert_int_equal(p2pc_wire_announce_get(b.data, b.len, &got), 11);
  assert_string_equal(got.ref, "");
  /* an unknown mode or flag is refused */
  b.data[2] = 2;
  assert_int_equal(p2pc_wire_announce_get(b.data, b.len, &got), P2PC_ERR_PROTO);
  b.data[2] = 0;
  b.data[3] = 0x80;
  assert_int_equal(p2pc_wire_announce_get(b.data, b.len, &got), P2PC_ERR_PROTO);
  p2pc_buf_fini(&b);
}

/* Tier hints: up to four records with a tier and a flag; more, an unknown
 * flag or a record with a signature are refused, on both sides. */
static void test_announce_hints(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, A, 4096);
  p2pc_wire_announce an = {.time_port = 9001,
                           .flags = P2PC_ANNOUNCE_SYNCED | P2PC_ANNOUNCE_FULL,
                           .ref = "r",
                           .ref_seq = 3,
                           .hops = 2,
                           .tier = 1,
                           .nhints = 2};
  snprintf(an.hints[0].rec.id, sizeof an.hints[0].rec.id, "r");
  an.hints[0].rec.addr =
      (p2pc_wire_addr){.family = 4, .addr = {10, 0, 0, 1}, .port = 9000};
  an.hints[0].rec.time_port = 9100;
  an.hints[0].tier = 0;
  snprintf(an.hints[1].rec.id, sizeof an.hints[1].rec.id, "s-2");
  an.hints[1].rec.incarnation = 77;
  an.hints[1].tier = 1;
  an.hints[1].flags = P2PC_HINT_FULL;
  assert_int_equal(p2pc_wire_announce_put(&b, &an), 0);
  p2pc_wire_announce got;
  assert_int_equal(p2pc_wire_announce_get(b.data, b.len, &got), (int)b.len);
  assert_int_equal(got.tier, 1);
  assert_int_equal(got.flags, P2PC_ANNOUNCE_SYNCED | P2PC_ANNOUNCE_FULL);
  assert_int_equal(got.nhints, 2);
  assert_string_equal(got.hints[0].rec.id, "r");
  assert_int_equal(got.hints[0].rec.addr.port, 9000);
  assert_int_equal(got.hints[0].rec.addr.addr[3], 1);
  assert_int_equal(got.hints[0].rec.time_port, 9100);
  assert_int_equal(got.hints[1].rec.incarnation, 77);
  assert_int_equal(got.hints[1].tier, 1);
  assert_int_equal(got.hints[1].flags, P2PC_HINT_FULL);
  /* re-encoding gives the same bytes */
  p2pc_buf c;
  p2pc_buf_init(&c, A, 4096);
  assert_int_equal(p2pc_wire_announce_put(&c, &got), 0);
  assert_int_equal(c.len, b.len);
  assert_memory_equal(c.data, b.data, b.len);
  /* every truncation fails */
  for (size_t n = 0; n < b.len; n++)
    assert_int_equal(p2pc_wire_announce_get(b.data, n, &got), P2PC_ERR_PROTO);
  /* a trailing byte fails */
  p2pc_buf_put_u8(&b, 0);
  assert_int_equal(p2pc_wire_announce_get(b.data, b.len, &got), P2PC_ERR_PROTO);
  b.len--;
  /* an unknown hint flag (the last byte) fails */
  b.data[b.len - 1] = 0x02;
  assert_int_equal(p2pc_wire_announce_get(b.data, b.len, &got), P2PC_ERR_PROTO);
  /* more than four hints: refused by the encoder, and by the decoder */
  an.nhints = P2PC_ANNOUNCE_HINTS + 1;
  p2pc_buf_reset(&c);
  assert_int_equal(p2pc_wire_announce_put(&c, &an), P2PC_ERR_INVAL);
  assert_int_equal(c.len, 0);
  memset(&an, 0, sizeof an);
  assert_int_equal(p2pc_wire_announce_put(&c, &an), 0);
  c.data[c.len - 1] = P2PC_ANNOUNCE_HINTS + 1; /* the count */
  assert_int_equal(p2pc_wire_announce_get(c.data, c.len, &got), P2PC_ERR_PROTO);
  /* an unknown flag on the encoder's side */
  an.nhints = 1;
  snprintf(an.hints[0].rec.id, sizeof an.hints[0].rec.id, "x");
  an.hints[0].flags = 0x80;
  p2pc_buf_reset(&c);
  assert_int_equal(p2pc_wire_announce_put(&c, &an), P2PC_ERR_INVAL);
  assert_int_equal(c.len, 0);
  p2pc_buf_fini(&c);
  p2pc_buf_fini(&b);
}

/* P2PC_ANNOUNCE_SAME_HINTS: an announcement without its hints, which
 * says the last ones still hold; with hints it is malformed, on both
 * sides. */
static void test_announce_same_hints(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, A, 4096);
  p2pc_wire_announce an = {.time_port = 9001,
                           .flags =
                               P2PC_ANNOUNCE_SYNCED | P2PC_ANNOUNCE_SAME_HINTS,
                           .ref = "r",
                           .ref_seq = 9,
                           .hops = 1,
                           .tier = 1};
  assert_int_equal(p2pc_wire_announce_put(&b, &an), 0);
  p2pc_wire_announce got;
  assert_int_equal(p2pc_wire_announce_get(b.data, b.len, &got), (int)b.len);
  assert_int_equal(got.flags, P2PC_ANNOUNCE_SYNCED | P2PC_ANNOUNCE_SAME_HINTS);
  assert_int_equal(got.nhints, 0);
  assert_int_equal(got.ref_seq, 9);
  /* the same with one hint is twenty-odd bytes longer, and refused */
  an.nhints = 1;
  snprintf(an.hints[0].rec.id, sizeof an.hints[0].rec.id, "r");
  an.hints[0].rec.addr =
      (p2pc_wire_addr){.family = 4, .addr = {10, 0, 0, 1}, .port = 9000};
  p2pc_buf c;
  p2pc_buf_init(&c, A, 4096);
  assert_int_equal(p2pc_wire_announce_put(&c, &an), P2PC_ERR_INVAL);
  assert_int_equal(c.len, 0);
  an.flags &= (uint8_t)~P2PC_ANNOUNCE_SAME_HINTS;
  assert_int_equal(p2pc_wire_announce_put(&c, &an), 0);
  assert_true(c.len > b.len + 10);
  /* a decoder meets the flag with a hint: malformed (flags: 5th byte) */
  assert_int_equal(c.data[3], P2PC_ANNOUNCE_SYNCED);
  c.data[3] |= P2PC_ANNOUNCE_SAME_HINTS;
  assert_int_equal(p2pc_wire_announce_get(c.data, c.len, &got), P2PC_ERR_PROTO);
  /* an unknown flag still is */
  b.data[3] |= 0x10;
  assert_int_equal(p2pc_wire_announce_get(b.data, b.len, &got), P2PC_ERR_PROTO);
  p2pc_buf_fini(&c);
  p2pc_buf_fini(&b);
}

static void test_peers(void **state) {
  (void)state;
  p2pc_wire_peer in[2] = {
      {.id = "B",
       .incarnation = 7,
       .addr = {.family = 4, .addr = {127, 0, 0, 2}, .port = 9001}},
      {.id = "node-C", .incarnation = 9, .addr = {.family = 0}},
  };
  p2pc_buf b;
  p2pc_buf_init(&b, A, 1024);
  assert_int_equal(p2pc_wire_peers_put(&b, in, 2), 0);
  p2pc_wire_peer out[4];
  expect_strict(b.data, b.len, peers_fn, out);
  assert_string_equal(out[1].id, "node-C");
  assert_int_equal(out[0].addr.port, 9001);
  assert_int_equal(out[1].addr.family, 0);
  size_t n = 99;
  assert_int_equal(p2pc_wire_peers_get(b.data, b.len, out, 1, &n),
                   P2PC_ERR_TOOBIG);
  assert_int_equal(n, 99);
  p2pc_buf_fini(&b);
}

typedef struct leave_out {
  uint64_t last;
  p2pc_wire_peer next;
} leave_out;

static int leave_fn(const uint8_t *b, size_t len, void *out) {
  leave_out *o = out;
  return p2pc_wire_leave_get(b, len, &o->last, &o->next);
}

static void test_leave(void **state) {
  (void)state;
  p2pc_wire_peer next = {
      .id = "N7",
      .incarnation = 5,
      .addr = {.family = 4, .addr = {127, 0, 0, 7}, .port = 9007},
      .time_port = 0x1234};
  p2pc_buf b;
  p2pc_buf_init(&b, A, 256);
  assert_int_equal(p2pc_wire_leave_put(&b, 300, &next), 0);
  /* ... then time_port 0x1234 and an empty signature (version 3). */
  const uint8_t want[] = {0xac, 0x02, 1, 2,    'N',  '7',  0,    0,
                          0,    0,    0, 0,    0,    5,    4,    127,
                          0,    0,    7, 0x23, 0x2f, 0x12, 0x34, 0};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  leave_out o;
  expect_strict(b.data, b.len, leave_fn, &o);
  assert_true(o.last == 300);
  assert_string_equal(o.next.id, "N7");
  assert_int_equal(o.next.addr.port, 9007);
  assert_int_equal(o.next.time_port, 0x1234);
  /* A signature is not part of version 3: a non-empty one is malformed. */
  b.data[b.len - 1] = 1;
  assert_true(p2pc_buf_put_u8(&b, 0xaa) == 0);
  assert_int_equal(leave_fn(b.data, b.len, &o), P2PC_ERR_PROTO);
  /* Nobody named: an empty list, and an empty ID out. */
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_leave_put(&b, 0, NULL), 0);
  assert_int_equal(b.len, 2);
  memset(&o, 0x5a, sizeof o);
  assert_int_equal(p2pc_wire_leave_get(b.data, b.len, &o.last, &o.next), 2);
  assert_true(o.last == 0);
  assert_string_equal(o.next.id, "");
  /* Two names is malformed, and leaves the outputs alone. */
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_buf_put_varint(&b, 1), 0);
  p2pc_wire_peer two[2] = {next, next};
  assert_int_equal(p2pc_wire_peers_put(&b, two, 2), 0);
  o.last = 77;
  assert_int_equal(p2pc_wire_leave_get(b.data, b.len, &o.last, &o.next),
                   P2PC_ERR_PROTO);
  assert_true(o.last == 77);
  p2pc_buf_fini(&b);
}

typedef struct shuffle_out {
  uint8_t ttl;
  size_t n;
  p2pc_wire_record recs[P2PC_WIRE_MAX_SHUFFLE];
} shuffle_out;

static int shuffle_fn(const uint8_t *b, size_t len, void *out) {
  shuffle_out *o = out;
  return p2pc_wire_shuffle_get(b, len, &o->ttl, o->recs, &o->n);
}

static int shuffle_reply_fn(const uint8_t *b, size_t len, void *out) {
  shuffle_out *o = out;
  return p2pc_wire_shuffle_reply_get(b, len, o->recs, &o->n);
}

/* SHUFFLE: u8 ttl, varint count, records; SHUFFLE_REPLY: the same
 * without the ttl. At most 16 records; one encoding. */
static void test_shuffle(void **state) {
  (void)state;
  p2pc_wire_record r[2] = {
      {.id = "N7",
       .incarnation = 5,
       .addr = {.family = 4, .addr = {127, 0, 0, 7}, .port = 9007},
       .time_port = 0x1234},
      {.id = "x", .incarnation = 1, .addr = {.family = 0}}};
  p2pc_buf b;
  p2pc_buf_init(&b, A, 4096);
  assert_int_equal(p2pc_wire_shuffle_put(&b, 3, r, 2), 0);
  const uint8_t want[] = {3,    2,    2, 'N', '7', 0, 0, 0, 0,    0,
                          0,    0,    5, 4,   127, 0, 0, 7, 0x23, 0x2f,
                          0x12, 0x34, 0, 1,   'x', 0, 0, 0, 0,    0,
                          0,    0,    1, 0,   0,   0, 0};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  shuffle_out o;
  memset(&o, 0, sizeof o);
  expect_strict(b.data, b.len, shuffle_fn, &o);
  assert_int_equal(o.ttl, 3);
  assert_int_equal(o.n, 2);
  assert_string_equal(o.recs[0].id, "N7");
  assert_int_equal(o.recs[0].time_port, 0x1234);
  assert_string_equal(o.recs[1].id, "x");
  /* the reply: the same records without the ttl */
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_shuffle_reply_put(&b, r, 2), 0);
  assert_int_equal(b.len, sizeof want - 1);
  assert_memory_equal(b.data, want + 1, sizeof want - 1);
  memset(&o, 0, sizeof o);
  expect_strict(b.data, b.len, shuffle_reply_fn, &o);
  assert_int_equal(o.n, 2);
  /* empty lists are fine */
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_shuffle_put(&b, 0, NULL, 0), 0);
  assert_int_equal(b.len, 2);
  assert_int_equal(shuffle_fn(b.data, b.len, &o), 2);
  assert_int_equal(o.n, 0);
  /* 17 records: refused by the encoder (nothing written), malformed for
   * the decoder (outputs untouched) */
  p2pc_wire_record many[P2PC_WIRE_MAX_SHUFFLE + 1];
  for (size_t i = 0; i <= P2PC_WIRE_MAX_SHUFFLE; i++)
    many[i] = r[0];
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_shuffle_put(&b, 0, many, 17), P2PC_ERR_TOOBIG);
  assert_int_equal(p2pc_wire_shuffle_reply_put(&b, many, 17), P2PC_ERR_TOOBIG);
  assert_int_equal(b.len, 0);
  assert_int_equal(p2pc_wire_shuffle_put(&b, 0, many, 16), 0);
  b.data[1] = 17; /* the count, one more than the records that follow */
  for (size_t i = 0; i < 1; i++)
    assert_int_equal(p2pc_wire_record_put(&b, &many[i]), 0);
  o.n = 99;
  o.ttl = 42;
  assert_int_equal(shuffle_fn(b.data, b.len, &o), P2PC_ERR_PROTO);
  assert_int_equal(o.n, 99);
  assert_int_equal(o.ttl, 42);
  assert_int_equal(shuffle_reply_fn(b.data + 1, b.len - 1, &o), P2PC_ERR_PROTO);
  assert_int_equal(o.n, 99);
  /* a non-minimal count varint is not the encoder's: malformed */
  const uint8_t padded[] = {0, 0x80, 0x00};
  assert_int_equal(shuffle_fn(padded, sizeof padded, &o), P2PC_ERR_PROTO);
  p2pc_buf_fini(&b);
}

/* Type 10 was HORIZON (protocol version 1) and has no codec any more:
 * the splitter hands it over like any unknown type (the link layer then
 * closes the link: test_node's test_retired_frame_type). */
static void test_type_10_is_unknown(void **state) {
  (void)state;
  const uint8_t f10[] = {0,    0,    0, 6, 10, 0xac, 0x02,           0xf0,
                         0xa2, 0x04, 0, 0, 0,  1,    P2PC_FRAME_PING};
  p2pc_frame f;
  assert_int_equal(p2pc_wire_frame_split(f10, sizeof f10, 64, &f), 10);
  assert_int_equal(f.type, 10);
  assert_int_equal(f.body_len, 5);
  assert_ptr_equal(f.body, f10 + 5);
  /* The frame after it splits as usual. */
  assert_int_equal(p2pc_wire_frame_split(f10 + 10, 5, 64, &f), 5);
  assert_int_equal(f.type, P2PC_FRAME_PING);
  /* STABLE is 11, not 10. */
  assert_int_equal(P2PC_FRAME_STABLE, 11);
  assert_int_equal(P2PC_FRAME_LEAVE, 9);
}

/* ---- STABLE ----------------------------------------------------------- */

#define SD P2PC_STABLE_DEPTH

static int stable_fn(const uint8_t *b, size_t len, void *out) {
  return p2pc_wire_stable_get(b, len, out);
}

/* Decodes p, expecting P2PC_ERR_PROTO and the output untouched. */
static void expect_stable_rejected(const uint8_t *p, size_t len) {
  p2pc_wire_stable o, before;
  memset(&o, 0x5a, sizeof o);
  before = o;
  assert_int_equal(p2pc_wire_stable_get(p, len, &o), P2PC_ERR_PROTO);
  assert_memory_equal(&o, &before, sizeof o);
}

static void test_stable(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_wire_stable s, o;
  p2pc_buf_init(&b, A, 4096);
  /* Levels 0-2 at 1000, 3-9 at 900, 10.. at 0; written off: 5 to 7, and
   * 200 alone (inclusive (first, last) pairs). */
  memset(&s, 0, sizeof s);
  s.delivered = 300;
  for (int d = 0; d < SD; d++)
    s.rep.v[d] = d < 3 ? 1000 : d < 10 ? 900 : 0;
  s.nexpired = 4;
  s.expired[0] = 5;
  s.expired[1] = 7;
  s.expired[2] = 200;
  s.expired[3] = 200;
  assert_int_equal(p2pc_wire_stable_put(&b, &s), 0);
  const uint8_t want[] = {0xac, 0x02, 3, 0, 0xe8, 0x07, 3,    0x64, 7,
                          0x84, 0x07, 4, 5, 7,    0xc8, 0x01, 0xc8, 0x01};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  memset(&o, 0x5a, sizeof o);
  expect_strict(b.data, b.len, stable_fn, &o);
  assert_memory_equal(&o, &s, sizeof o); /* expired[4..] zeroed */

  /* One value everywhere is one step; nothing delivered, none expired. */
  memset(&s, 0, sizeof s);
  for (int d = 0; d < SD; d++)
    s.rep.v[d] = UINT64_MAX;
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_stable_put(&b, &s), 0);
  assert_int_equal(b.len, 1 + 1 + 1 + 10 + 1);
  assert_int_equal(stable_fn(b.data, b.len, &o), (int)b.len);
  assert_memory_equal(&o, &s, sizeof o);
  /* A change at every level: D steps, the most there can be; and the full
   * list of written-off ranges (32 pairs). */
  for (int d = 0; d < SD; d++)
    s.rep.v[d] = (uint64_t)(SD - d) * 1000003;
  s.nexpired = P2PC_WIRE_MAX_EXPIRED;
  for (uint32_t i = 0; i < s.nexpired; i++)
    s.expired[i] = 1 + 3 * (uint64_t)i;
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_stable_put(&b, &s), 0);
  assert_int_equal(b.data[1], SD);
  assert_int_equal(stable_fn(b.data, b.len, &o), (int)b.len);
  assert_memory_equal(&o, &s, sizeof o);
  /* ... one more number is too many for the decoder (1..65), and for the
   * encoder; 1..64 is 32 ranges of two. */
  s.nexpired = 0;
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_stable_put(&b, &s), 0);
  b.len--; /* nexpired = 0 */
  assert_int_equal(p2pc_buf_put_varint(&b, P2PC_WIRE_MAX_EXPIRED + 1), 0);
  for (uint64_t i = 1; i <= P2PC_WIRE_MAX_EXPIRED + 1; i++)
    assert_int_equal(p2pc_buf_put_varint(&b, i), 0);
  expect_stable_rejected(b.data, b.len);
  b.data[b.len - P2PC_WIRE_MAX_EXPIRED - 2] = P2PC_WIRE_MAX_EXPIRED;
  assert_int_equal(stable_fn(b.data, b.len - 1, &o), (int)b.len - 1);
  assert_int_equal(o.nexpired, P2PC_WIRE_MAX_EXPIRED);
  p2pc_buf_reset(&b);
  s.nexpired = P2PC_WIRE_MAX_EXPIRED + 1;
  assert_int_equal(p2pc_wire_stable_put(&b, &s), P2PC_ERR_INVAL);
  assert_int_equal(b.len, 0);

  /* The encoder refuses what the decoder could never produce: a pair with
   * first > last or first 0, an odd count, pairs that overlap or are out
   * of order, a report that rises. */
  static const struct {
    uint32_t n;
    uint64_t e[4];
    bool ok;
  } ranges[] = {
      {2, {9, 9}, true},        {2, {1, UINT64_MAX}, true},
      {4, {1, 4, 5, 6}, true},  {2, {9, 8}, false},
      {2, {0, 3}, false},       {2, {0, 0}, false},
      {1, {5}, false},          {3, {1, 2, 3}, false},
      {4, {1, 5, 5, 6}, false}, {4, {1, 5, 3, 6}, false},
      {4, {7, 8, 1, 2}, false}, {4, {1, 2, 3, 2}, false},
  };
  for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
    memset(&s, 0, sizeof s);
    s.nexpired = ranges[i].n;
    memcpy(s.expired, ranges[i].e, sizeof ranges[i].e);
    for (uint32_t k = ranges[i].n; k < 4; k++)
      s.expired[k] = 0;
    p2pc_buf_reset(&b);
    int rv = p2pc_wire_stable_put(&b, &s);
    if (!ranges[i].ok) {
      assert_int_equal(rv, P2PC_ERR_INVAL);
      assert_int_equal(b.len, 0);
      continue;
    }
    assert_int_equal(rv, 0);
    assert_int_equal(stable_fn(b.data, b.len, &o), (int)b.len);
    assert_memory_equal(&o, &s, sizeof o);
  }
  p2pc_buf_reset(&b);
  memset(&s, 0, sizeof s);
  s.rep.v[SD - 1] = s.rep.v[SD - 2] + 1;
  assert_int_equal(p2pc_wire_stable_put(&b, &s), P2PC_ERR_INVAL);
  assert_int_equal(b.len, 0);

  /* A step to the last level is fine; one past it is not. */
  const uint8_t last[] = {0, 2, 0, 5, SD - 1, 1, 0};
  assert_int_equal(stable_fn(last, sizeof last, &o), (int)sizeof last);
  assert_true(o.rep.v[SD - 2] == 5 && o.rep.v[SD - 1] == 4);
  const uint8_t past[] = {0, 2, 0, 5, SD, 1, 0};
  expect_stable_rejected(past, sizeof past);
  const uint8_t past2[] = {0, 3, 0, 5, 20, 1, 12, 1, 0};
  expect_stable_rejected(past2, sizeof past2);
  /* No steps, too many steps, a first step off level 0. */
  const uint8_t none[] = {0, 0, 0, 5, 0};
  expect_stable_rejected(none, sizeof none);
  const uint8_t many[] = {0, SD + 1, 0, 5, 0};
  expect_stable_rejected(many, sizeof many);
  const uint8_t off0[] = {0, 1, 1, 5, 0};
  expect_stable_rejected(off0, sizeof off0);
  /* Steps that change nothing, or go below 0. */
  const uint8_t gap0[] = {0, 2, 0, 5, 0, 1, 0};
  expect_stable_rejected(gap0, sizeof gap0);
  const uint8_t dec0[] = {0, 2, 0, 5, 1, 0, 0};
  expect_stable_rejected(dec0, sizeof dec0);
  const uint8_t below[] = {0, 2, 0, 5, 1, 6, 0};
  expect_stable_rejected(below, sizeof below);
  const uint8_t to0[] = {0, 2, 0, 5, 1, 5, 0};
  assert_int_equal(stable_fn(to0, sizeof to0, &o), (int)sizeof to0);
  assert_true(o.rep.v[0] == 5 && o.rep.v[1] == 0 && o.rep.v[SD - 1] == 0);
  /* Fewer steps than announced. */
  const uint8_t short_[] = {0, 3, 0, 5, 1, 1, 0};
  expect_stable_rejected(short_, sizeof short_);
  /* Written-off ranges: a single message (first == last) and two ranges
   * that touch are fine; first > last, first 0, an odd count, ranges that
   * overlap or go back are not. */
  const uint8_t one[] = {0, 1, 0, 5, 2, 5, 5};
  assert_int_equal(stable_fn(one, sizeof one, &o), (int)sizeof one);
  assert_true(o.nexpired == 2 && o.expired[0] == 5 && o.expired[1] == 5);
  const uint8_t touch[] = {0, 1, 0, 5, 4, 1, 4, 5, 6};
  assert_int_equal(stable_fn(touch, sizeof touch, &o), (int)sizeof touch);
  assert_int_equal(o.nexpired, 4);
  const uint8_t backwards[] = {0, 1, 0, 5, 2, 7, 5};
  expect_stable_rejected(backwards, sizeof backwards);
  const uint8_t zero[] = {0, 1, 0, 5, 2, 0, 3};
  expect_stable_rejected(zero, sizeof zero);
  const uint8_t odd1[] = {0, 1, 0, 5, 1, 5};
  expect_stable_rejected(odd1, sizeof odd1);
  const uint8_t odd3[] = {0, 1, 0, 5, 3, 1, 2, 3};
  expect_stable_rejected(odd3, sizeof odd3);
  const uint8_t overlap[] = {0, 1, 0, 5, 4, 1, 5, 5, 6};
  expect_stable_rejected(overlap, sizeof overlap);
  const uint8_t inside[] = {0, 1, 0, 5, 4, 1, 5, 3, 6};
  expect_stable_rejected(inside, sizeof inside);
  const uint8_t unsorted[] = {0, 1, 0, 5, 4, 7, 8, 1, 2};
  expect_stable_rejected(unsorted, sizeof unsorted);
  /* Non-minimal varints, anywhere. */
  const uint8_t fat_value[] = {0, 1, 0, 0x85, 0x00, 0};
  expect_stable_rejected(fat_value, sizeof fat_value);
  const uint8_t fat_delivered[] = {0x80, 0x00, 1, 0, 5, 0};
  expect_stable_rejected(fat_delivered, sizeof fat_delivered);
  p2pc_buf_fini(&b);
}

/* Random reports and lists: the decoder gives back exactly what was
 * encoded. */
static void test_stable_round_trip(void **state) {
  (void)state;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  p2pc_buf b;
  p2pc_buf_init(&b, A, 4096);
  for (int trial = 0; trial < 2000; trial++) {
    p2pc_wire_stable s, o;
    memset(&s, 0, sizeof s);
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    s.delivered = x >> (x & 63);
    uint64_t v = x ^ (x << 7);
    for (int d = 0; d < SD; d++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      if ((x >> 60) < 5) /* change here, by a random amount */
        v -= (x >> 8) % (v / 2 + 1) + (v > 0);
      s.rep.v[d] = v;
    }
    /* Pairs: a range may be one message (last == first); the next one
     * starts past it. */
    s.nexpired = 2 * (uint32_t)((x >> 20) % (P2PC_WIRE_MAX_EXPIRED / 2 + 1));
    uint64_t n = 0;
    for (uint32_t i = 0; i < s.nexpired; i++) {
      uint64_t r = x >> (i % 50);
      s.expired[i] = n += i % 2 && (r & 0x10000) ? 0 : 1 + (r & 0xffff);
    }
    p2pc_buf_reset(&b);
    assert_int_equal(p2pc_wire_stable_put(&b, &s), 0);
    assert_int_equal(p2pc_wire_stable_get(b.data, b.len, &o), (int)b.len);
    assert_memory_equal(&o, &s, sizeof o);
    /* The report encoded once, the rest per link: the same bytes. */
    p2pc_wire_stable_rep r;
    assert_int_equal(p2pc_wire_stable_rep_encode(&r, &s.rep), 0);
    assert_true(r.len > 0 && r.len <= P2PC_WIRE_STABLE_REP_MAX);
    size_t len = b.len;
    assert_int_equal(
        p2pc_wire_stable_put_rep(&b, s.delivered, &r, s.expired, s.nexpired),
        0);
    assert_int_equal(b.len, 2 * len);
    assert_memory_equal(b.data + len, b.data, len);
  }
  p2pc_buf_fini(&b);
}

/* The report encoded alone: the longest fits, one that rises anywhere is
 * refused, and put_rep appends nothing for an empty report or bad
 * ranges. */
static void test_stable_rep(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, A, 4096);
  p2pc_stable_report rep;
  p2pc_wire_stable_rep r;
  for (int d = 0; d < SD; d++) /* every level a step, every value long */
    rep.v[d] = UINT64_MAX - (uint64_t)d * (UINT64_MAX / SD);
  assert_int_equal(p2pc_wire_stable_rep_encode(&r, &rep), 0);
  assert_true(r.len <= P2PC_WIRE_STABLE_REP_MAX);
  assert_int_equal(r.b[0], SD); /* nsteps */
  uint64_t e[2] = {3, 5};
  assert_int_equal(p2pc_wire_stable_put_rep(&b, 7, &r, e, 2), 0);
  p2pc_wire_stable o;
  assert_int_equal(p2pc_wire_stable_get(b.data, b.len, &o), (int)b.len);
  assert_memory_equal(o.rep.v, rep.v, sizeof rep.v);
  assert_int_equal(o.delivered, 7);
  assert_int_equal(o.nexpired, 2);
  assert_int_equal(o.expired[1], 5);
  /* A level above the one below it: nothing to send. */
  for (int d = 1; d < SD; d++) {
    p2pc_stable_report up = rep;
    up.v[d] = up.v[d - 1] + (d == 1 ? 0 : 1);
    if (d == 1) {
      up.v[0] = 5;
      up.v[1] = 6;
    }
    assert_int_equal(p2pc_wire_stable_rep_encode(&r, &up), P2PC_ERR_INVAL);
    assert_int_equal(r.len, 0);
    p2pc_buf_reset(&b);
    assert_int_equal(p2pc_wire_stable_put_rep(&b, 7, &r, e, 0), P2PC_ERR_INVAL);
    assert_int_equal(b.len, 0);
  }
  /* One level: nsteps 1, level 0, the value. */
  memset(&rep, 0, sizeof rep);
  assert_int_equal(p2pc_wire_stable_rep_encode(&r, &rep), 0);
  assert_int_equal(r.len, 3);
  const uint64_t bad[2] = {5, 3}; /* first > last */
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_stable_put_rep(&b, 1, &r, bad, 2), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_wire_stable_put_rep(&b, 1, &r, e, 1), P2PC_ERR_INVAL);
  assert_int_equal(b.len, 0);
  p2pc_buf_fini(&b);
}

/* GOSSIP, IHAVE/GRAFT, PRUNE: known bytes, every truncation, trailing
 * bytes, counts out of range, non-minimal varints; the SES header peek. */
static void test_bcast_frames(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, A, 4096);
  const uint8_t msg[] = {2, 3, 'a', '~', 'z', 1, '*', 9, 0, 1, 0, 0, 0};
  assert_int_equal(p2pc_wire_gossip_put(&b, 300, msg, sizeof msg), 0);
  assert_int_equal(b.len, 2 + sizeof msg);
  assert_int_equal(b.data[0], 0xac);
  assert_int_equal(b.data[1], 0x02);
  uint64_t round;
  const uint8_t *m;
  size_t ml;
  assert_int_equal(p2pc_wire_gossip_get(b.data, b.len, &round, &m, &ml),
                   (int)b.len);
  assert_int_equal(round, 300);
  assert_int_equal(ml, sizeof msg);
  assert_memory_equal(m, msg, sizeof msg);
  /* the peek reads the id */
  const char *s, *d;
  uint8_t sl, dl;
  uint64_t n;
  assert_int_equal(p2pc_wire_ses_peek(m, ml, &s, &sl, &d, &dl, &n), 0);
  assert_int_equal(sl, 3);
  assert_memory_equal(s, "a~z", 3);
  assert_int_equal(dl, 1);
  assert_int_equal(d[0], '*');
  assert_int_equal(n, 9);
  for (size_t k = 0; k < 8; k++) /* cut inside the header */
    assert_int_equal(p2pc_wire_ses_peek(m, k, &s, &sl, &d, &dl, &n),
                     P2PC_ERR_PROTO);
  const uint8_t bad_n[] = {2, 1, 'a', 1, '*', 0};
  assert_int_equal(
      p2pc_wire_ses_peek(bad_n, sizeof bad_n, &s, &sl, &d, &dl, &n),
      P2PC_ERR_PROTO);
  /* round 0, an empty message, a non-minimal round */
  const uint8_t r0[] = {0, 1}, empty[] = {1}, nonmin[] = {0x81, 0x00, 1};
  assert_int_equal(p2pc_wire_gossip_get(r0, 2, &round, &m, &ml),
                   P2PC_ERR_PROTO);
  assert_int_equal(p2pc_wire_gossip_get(empty, 1, &round, &m, &ml),
                   P2PC_ERR_PROTO);
  assert_int_equal(p2pc_wire_gossip_get(nonmin, 3, &round, &m, &ml),
                   P2PC_ERR_PROTO);
  assert_int_equal(p2pc_wire_gossip_put(&b, 0, msg, 1), P2PC_ERR_INVAL);

  p2pc_wire_bcast_id ids[P2PC_WIRE_MAX_BCAST_IDS + 1] = {{"a~z", 9, 2},
                                                         {"b", 130, 0}};
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_bcast_ids_put(&b, ids, 2, 1), 0);
  const uint8_t want[] = {2, 3, 'a', '~', 'z', 9, 2, 1, 'b', 0x82, 0x01, 0};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  p2pc_wire_bcast_id got[P2PC_WIRE_MAX_BCAST_IDS];
  uint32_t count = 0;
  assert_int_equal(p2pc_wire_bcast_ids_get(want, sizeof want, 1, got, &count),
                   (int)sizeof want);
  assert_int_equal(count, 2);
  assert_string_equal(got[0].origin, "a~z");
  assert_int_equal(got[1].n, 130);
  for (size_t k = 0; k < sizeof want; k++)
    assert_int_equal(p2pc_wire_bcast_ids_get(want, k, 1, got, &count),
                     P2PC_ERR_PROTO);
  uint8_t longer[sizeof want + 1];
  memcpy(longer, want, sizeof want);
  longer[sizeof want] = 0;
  assert_int_equal(
      p2pc_wire_bcast_ids_get(longer, sizeof longer, 1, got, &count),
      P2PC_ERR_PROTO);
  const uint8_t zero[] = {0}, n0[] = {1, 1, 'b', 0, 0},
                badid[] = {1, 1, '/', 1, 0};
  assert_int_equal(p2pc_wire_bcast_ids_get(zero, 1, 1, got, &count),
                   P2PC_ERR_PROTO);
  assert_int_equal(p2pc_wire_bcast_ids_get(n0, sizeof n0, 1, got, &count),
                   P2PC_ERR_PROTO);
  assert_int_equal(p2pc_wire_bcast_ids_get(badid, sizeof badid, 1, got, &count),
                   P2PC_ERR_PROTO);
  /* 64 ids at most */
  for (int i = 0; i <= P2PC_WIRE_MAX_BCAST_IDS; i++)
    ids[i] = ids[0];
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_bcast_ids_put(&b, ids, 65, 0), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_wire_bcast_ids_put(&b, ids, 0, 1), P2PC_ERR_INVAL);
  assert_int_equal(b.len, 0);
  assert_int_equal(p2pc_wire_bcast_ids_put(&b, ids, 64, 1), 0);
  assert_int_equal(p2pc_wire_bcast_ids_get(b.data, b.len, 1, got, &count),
                   (int)b.len);
  assert_int_equal(count, 64);
  b.data[0] = 65;
  assert_int_equal(p2pc_wire_bcast_ids_get(b.data, b.len, 1, got, &count),
                   P2PC_ERR_PROTO);
  /* PRUNE: the origin whose tree the link leaves */
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_prune_put(&b, "a~z"), 0);
  const uint8_t pr[] = {3, 'a', '~', 'z'};
  assert_int_equal(b.len, sizeof pr);
  assert_memory_equal(b.data, pr, sizeof pr);
  char origin[P2PC_ID_MAX + 1] = "untouched";
  assert_int_equal(p2pc_wire_prune_get(pr, sizeof pr, origin), (int)sizeof pr);
  assert_string_equal(origin, "a~z");
  for (size_t k = 0; k < sizeof pr; k++) {
    memcpy(origin, "untouched", 10);
    assert_int_equal(p2pc_wire_prune_get(pr, k, origin), P2PC_ERR_PROTO);
    assert_string_equal(origin, "untouched");
  }
  const uint8_t pr_long[] = {3, 'a', '~', 'z', 0}, pr_empty[] = {0},
                pr_bad[] = {1, '/'};
  assert_int_equal(p2pc_wire_prune_get(pr_long, sizeof pr_long, origin),
                   P2PC_ERR_PROTO);
  assert_int_equal(p2pc_wire_prune_get(pr_empty, sizeof pr_empty, origin),
                   P2PC_ERR_PROTO);
  assert_int_equal(p2pc_wire_prune_get(pr_bad, sizeof pr_bad, origin),
                   P2PC_ERR_PROTO);
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_prune_put(&b, ""), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_wire_prune_put(&b, "a/b"), P2PC_ERR_INVAL);
  assert_int_equal(b.len, 0);
  p2pc_buf_fini(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frame_split),
      cmocka_unit_test(test_frame_begin_end),
      cmocka_unit_test(test_hello),
      cmocka_unit_test(test_error_ack_ping),
      cmocka_unit_test(test_announce),
      cmocka_unit_test(test_announce_hints),
      cmocka_unit_test(test_announce_same_hints),
      cmocka_unit_test(test_peers),
      cmocka_unit_test(test_shuffle),
      cmocka_unit_test(test_leave),
      cmocka_unit_test(test_type_10_is_unknown),
      cmocka_unit_test(test_stable),
      cmocka_unit_test(test_stable_round_trip),
      cmocka_unit_test(test_stable_rep),
      cmocka_unit_test(test_bcast_frames),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
