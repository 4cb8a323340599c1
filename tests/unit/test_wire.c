/* SPDX-License-Identifier: MIT */
/*
 * The frame codec: known byte layouts for every frame type, frame
 * splitting (need more / too big / zero), rejection of malformed bodies
 * (truncated at every length, trailing bytes, bad IDs), the STABLE frame's
 * steps, and the SES message encoding with its dictionary and both pair
 * forms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire.h"

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
  const uint8_t want[] = {'P', '2', 'P', 'C', 0, 1,    0,   0, 1,
                          'A', 1,   2,   3,   4, 5,    6,   7, 8,
                          4,   127, 0,   0,   1, 0x23, 0x28};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  p2pc_wire_hello got;
  expect_strict(b.data, b.len, hello_fn, &got);
  assert_string_equal(got.id, "A");
  assert_true(got.incarnation == h.incarnation);
  assert_int_equal(got.listen.port, 9000);
  /* Another version is reported as such, with the version it named. */
  uint8_t v2[sizeof want];
  memcpy(v2, want, sizeof want);
  v2[5] = 2;
  got.version = 0;
  assert_int_equal(p2pc_wire_hello_get(v2, sizeof v2, &got), P2PC_ERR_VERSION);
  assert_int_equal(got.version, 2);
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
  /* The two defined flags pass; any other bit is malformed. */
  memcpy(bad, want, sizeof want);
  bad[7] = P2PC_HELLO_JOIN | P2PC_HELLO_FRESH;
  assert_int_equal(p2pc_wire_hello_get(bad, sizeof bad, &got), (int)sizeof bad);
  assert_int_equal(got.flags, P2PC_HELLO_JOIN | P2PC_HELLO_FRESH);
  bad[7] = 4;
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
                           .hops = 2};
  assert_int_equal(p2pc_wire_announce_put(&b, &an), 0);
  const uint8_t want[] = {0x23, 0x29, 0, 1,   5,    'r',  'e', 'f',
                          '-',  '1',  7, 248, 0xac, 0x02, 2};
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
  assert_int_equal(b.len, 9);
  assert_int_equal(p2pc_wire_announce_get(b.data, b.len, &got), 9);
  assert_string_equal(got.ref, "");
  /* an unknown mode or flag is refused */
  b.data[2] = 2;
  assert_int_equal(p2pc_wire_announce_get(b.data, b.len, &got), P2PC_ERR_PROTO);
  b.data[2] = 0;
  b.data[3] = 0x80;
  assert_int_equal(p2pc_wire_announce_get(b.data, b.len, &got), P2PC_ERR_PROTO);
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
      .addr = {.family = 4, .addr = {127, 0, 0, 7}, .port = 9007}};
  p2pc_buf b;
  p2pc_buf_init(&b, A, 256);
  assert_int_equal(p2pc_wire_leave_put(&b, 300, &next), 0);
  const uint8_t want[] = {0xac, 0x02, 1, 2, 'N', '7', 0, 0, 0,    0,   0,
                          0,    0,    5, 4, 127, 0,   0, 7, 0x23, 0x2f};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  leave_out o;
  expect_strict(b.data, b.len, leave_fn, &o);
  assert_true(o.last == 300);
  assert_string_equal(o.next.id, "N7");
  assert_int_equal(o.next.addr.port, 9007);
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

typedef struct horizon_out {
  uint64_t dseq, stamp;
} horizon_out;

static int horizon_fn(const uint8_t *b, size_t len, void *out) {
  horizon_out *o = out;
  return p2pc_wire_horizon_get(b, len, &o->dseq, &o->stamp);
}

static void test_horizon(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, A, 64);
  assert_int_equal(p2pc_wire_horizon_put(&b, 300, 70000), 0);
  const uint8_t want[] = {0xac, 0x02, 0xf0, 0xa2, 0x04};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  horizon_out o;
  expect_strict(b.data, b.len, horizon_fn, &o);
  assert_true(o.dseq == 300 && o.stamp == 70000);
  /* A fresh sender: nothing sent, clock still 0. */
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_horizon_put(&b, 0, 0), 0);
  assert_int_equal(b.len, 2);
  assert_int_equal(horizon_fn(b.data, b.len, &o), 2);
  assert_true(o.dseq == 0 && o.stamp == 0);
  /* Every send ticks the sender's component: a stamp below the dseq is
   * malformed, and leaves the outputs alone; the encoder refuses it. */
  const uint8_t low[] = {5, 4};
  o.dseq = o.stamp = 77;
  assert_int_equal(horizon_fn(low, sizeof low, &o), P2PC_ERR_PROTO);
  assert_true(o.dseq == 77 && o.stamp == 77);
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_horizon_put(&b, 5, 4), P2PC_ERR_INVAL);
  assert_int_equal(b.len, 0);
  /* Non-minimal varint. */
  const uint8_t fat[] = {0x81, 0x00, 1};
  assert_int_equal(horizon_fn(fat, sizeof fat, &o), P2PC_ERR_PROTO);
  p2pc_buf_fini(&b);
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
  /* Levels 0-2 at 1000, 3-9 at 900, 10.. at 0; three expired. */
  memset(&s, 0, sizeof s);
  s.delivered = 300;
  for (int d = 0; d < SD; d++)
    s.rep.v[d] = d < 3 ? 1000 : d < 10 ? 900 : 0;
  s.nexpired = 3;
  s.expired[0] = 5;
  s.expired[1] = 7;
  s.expired[2] = 200;
  assert_int_equal(p2pc_wire_stable_put(&b, &s), 0);
  const uint8_t want[] = {0xac, 0x02, 3,    0, 0xe8, 0x07, 3,    0x64,
                          7,    0x84, 0x07, 3, 5,    7,    0xc8, 0x01};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  memset(&o, 0x5a, sizeof o);
  expect_strict(b.data, b.len, stable_fn, &o);
  assert_memory_equal(&o, &s, sizeof o); /* expired[3..] zeroed */

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
   * list of expired messages. */
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
  /* ... one more expired number is too many for the decoder, and for the
   * encoder. */
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

  /* The encoder refuses what the decoder could never produce. */
  s.nexpired = 2;
  s.expired[0] = 9;
  s.expired[1] = 9;
  assert_int_equal(p2pc_wire_stable_put(&b, &s), P2PC_ERR_INVAL);
  s.expired[0] = 0;
  assert_int_equal(p2pc_wire_stable_put(&b, &s), P2PC_ERR_INVAL);
  s.nexpired = 0;
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
  /* Expired numbers: unsorted, repeated, zero. */
  const uint8_t unsorted[] = {0, 1, 0, 5, 2, 7, 5};
  expect_stable_rejected(unsorted, sizeof unsorted);
  const uint8_t twice[] = {0, 1, 0, 5, 2, 5, 5};
  expect_stable_rejected(twice, sizeof twice);
  const uint8_t zero[] = {0, 1, 0, 5, 1, 0};
  expect_stable_rejected(zero, sizeof zero);
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
    s.nexpired = (uint32_t)((x >> 20) % (P2PC_WIRE_MAX_EXPIRED + 1));
    uint64_t n = 0;
    for (uint32_t i = 0; i < s.nexpired; i++)
      s.expired[i] = n += 1 + ((x >> (i % 50)) & 0xffff);
    p2pc_buf_reset(&b);
    assert_int_equal(p2pc_wire_stable_put(&b, &s), 0);
    assert_int_equal(p2pc_wire_stable_get(b.data, b.len, &o), (int)b.len);
    assert_memory_equal(&o, &s, sizeof o);
  }
  p2pc_buf_fini(&b);
}

/* ---- SES messages ---------------------------------------------------- */

static uint32_t id_of(p2pc_idtab *t, const char *s) {
  uint32_t id;
  assert_int_equal(p2pc_idtab_intern(t, s, strlen(s), &id), 0);
  return id;
}

static void set(p2pc_vclock *vc, p2pc_idtab *t, const char *s, uint64_t v) {
  assert_int_equal(p2pc_vclock_set(vc, A, id_of(t, s), v), 0);
}

static void test_ses_known_answer(void **state) {
  (void)state;
  p2pc_idtab ids;
  p2pc_idtab_init(&ids, A, 16);
  p2pc_ses_msg m;
  p2pc_ses_msg_init(&m);
  m.sender = id_of(&ids, "A");
  m.dest = id_of(&ids, "B");
  m.n = 3;
  m.dseq = 2;
  set(&m.ts, &ids, "A", 5);
  set(&m.ts, &ids, "C", 2);
  p2pc_ses_pair deps[2];
  deps[0].dest = m.dest; /* pair about B: (A=4, C=2) -> delta {A:1} */
  p2pc_vclock_init(&deps[0].t);
  set(&deps[0].t, &ids, "A", 4);
  set(&deps[0].t, &ids, "C", 2);
  deps[1].dest = id_of(&ids, "C"); /* pair about C: (A=1) -> absolute */
  p2pc_vclock_init(&deps[1].t);
  set(&deps[1].t, &ids, "A", 1);
  m.deps = deps;
  m.ndeps = 2;
  m.payload = (const uint8_t *)"hi";
  m.payload_len = 2;

  p2pc_buf b;
  p2pc_wire_scratch scratch = {0};
  size_t meta = 0;
  p2pc_buf_init(&b, A, 1024);
  assert_int_equal(p2pc_wire_ses_put(&b, &m, &ids, &scratch, A, &meta), 0);
  const uint8_t want[] = {3,
                          2, /* n, dseq */
                          3,
                          1,
                          'A',
                          1,
                          'B',
                          1,
                          'C', /* dictionary: sender, dest, C */
                          2,
                          0,
                          5,
                          2,
                          2, /* ts: idx0=5, idx2=2 */
                          2, /* two pairs */
                          (1 << 1) | 1,
                          1,
                          0,
                          1, /* about B, delta form: A is 1 less */
                          (2 << 1) | 0,
                          1,
                          0,
                          1, /* about C, absolute: A=1 */
                          2,
                          'h',
                          'i'};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  assert_int_equal(meta, sizeof want - 3);

  /* Decode in a table that has never seen these names, in another order. */
  p2pc_idtab other;
  p2pc_idtab_init(&other, A, 16);
  id_of(&other, "C");
  p2pc_ses_msg got;
  p2pc_ses_msg_init(&got);
  assert_int_equal(p2pc_wire_ses_get(b.data, b.len, &other, A, &got),
                   (int)b.len);
  /* Decoding interns nothing; the commit adds A and B (C was known). */
  assert_int_equal(other.n, 1);
  assert_int_equal(got.nnew, 2);
  assert_int_equal(p2pc_wire_ses_commit(&other, &got), 0);
  assert_int_equal(other.n, 3);
  assert_string_equal(p2pc_idtab_name(&other, got.sender, NULL), "A");
  assert_string_equal(p2pc_idtab_name(&other, got.dest, NULL), "B");
  assert_int_equal(got.n, 3);
  assert_int_equal(got.dseq, 2);
  assert_int_equal(got.ndeps, 2);
  const p2pc_ses_pair *pb = p2pc_ses_msg_pair(&got, got.dest);
  assert_non_null(pb);
  assert_int_equal(p2pc_vclock_get(&pb->t, got.sender), 4);
  assert_int_equal(p2pc_vclock_get(&pb->t, 0 /* C */), 2);
  assert_int_equal(got.payload_len, 2);
  assert_memory_equal(got.payload, "hi", 2);

  /* Every truncation is rejected; so is a trailing byte. */
  for (size_t n = 0; n < b.len; n++)
    assert_int_equal(p2pc_wire_ses_get(b.data, n, &other, A, &got),
                     P2PC_ERR_PROTO);
  assert_int_equal(got.n, 3); /* untouched by failures */
  assert_int_equal(p2pc_buf_put_u8(&b, 0), 0);
  assert_int_equal(p2pc_wire_ses_get(b.data, b.len, &other, A, &got),
                   P2PC_ERR_PROTO);

  p2pc_ses_msg_fini(&got, A);
  p2pc_vclock_fini(&m.ts, A);
  p2pc_vclock_fini(&deps[0].t, A);
  p2pc_vclock_fini(&deps[1].t, A);
  p2pc_wire_scratch_fini(&scratch, A);
  p2pc_buf_fini(&b);
  p2pc_idtab_fini(&ids);
  p2pc_idtab_fini(&other);
}

static void expect_ses_rejected(const uint8_t *p, size_t len) {
  p2pc_idtab ids;
  p2pc_ses_msg m;
  p2pc_idtab_init(&ids, A, 16);
  p2pc_ses_msg_init(&m);
  assert_int_equal(p2pc_wire_ses_get(p, len, &ids, A, &m), P2PC_ERR_PROTO);
  p2pc_idtab_fini(&ids);
}

static void test_ses_rejects(void **state) {
  (void)state;
  /* sender == dest */
  const uint8_t self[] = {1, 1, 2, 1, 'A', 1, 'A', 1, 0, 1, 0, 0};
  expect_ses_rejected(self, sizeof self);
  /* a name twice in the dictionary */
  const uint8_t twice[] = {1, 1, 3, 1, 'A', 1, 'B', 1, 'A', 1, 0, 1, 0, 0};
  expect_ses_rejected(twice, sizeof twice);
  /* ts lacks the sender's send (ts[A] = 0 < n) */
  const uint8_t no_tick[] = {1, 1, 2, 1, 'A', 1, 'B', 1, 1, 1, 0, 0};
  expect_ses_rejected(no_tick, sizeof no_tick);
  /* a pair about the sender itself */
  const uint8_t about_self[] = {1, 1, 2, 1, 'A', 1, 'B', 1,
                                0, 1, 1, 0, 1,   0, 1,   0};
  expect_ses_rejected(about_self, sizeof about_self);
  /* delta larger than ts */
  const uint8_t neg[] = {1, 1, 2, 1, 'A', 1, 'B', 1, 0, 1, 1, 3, 1, 0, 2, 0};
  expect_ses_rejected(neg, sizeof neg);
  /* delta on an index ts lacks */
  const uint8_t absent[] = {1, 1, 2, 1, 'A', 1, 'B', 1, 0, 1, 1, 3, 1, 1, 1, 0};
  expect_ses_rejected(absent, sizeof absent);
  /* dictionary index out of range */
  const uint8_t range[] = {1, 1, 2, 1, 'A', 1, 'B', 1, 2, 1, 0, 0};
  expect_ses_rejected(range, sizeof range);
  /* a valid minimal message, for contrast */
  const uint8_t ok[] = {1, 1, 2, 1, 'A', 1, 'B', 1, 0, 1, 0, 0};
  p2pc_idtab ids;
  p2pc_ses_msg m;
  p2pc_idtab_init(&ids, A, 16);
  p2pc_ses_msg_init(&m);
  assert_int_equal(p2pc_wire_ses_get(ok, sizeof ok, &ids, A, &m),
                   (int)sizeof ok);
  p2pc_ses_msg_fini(&m, A);
  /* more node IDs than the table may hold */
  p2pc_idtab tiny;
  p2pc_idtab_init(&tiny, A, 1);
  assert_int_equal(p2pc_wire_ses_get(ok, sizeof ok, &tiny, A, &m),
                   P2PC_ERR_PROTO);
  p2pc_idtab_fini(&tiny);
  p2pc_idtab_fini(&ids);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frame_split),
      cmocka_unit_test(test_frame_begin_end),
      cmocka_unit_test(test_hello),
      cmocka_unit_test(test_error_ack_ping),
      cmocka_unit_test(test_announce),
      cmocka_unit_test(test_peers),
      cmocka_unit_test(test_leave),
      cmocka_unit_test(test_horizon),
      cmocka_unit_test(test_stable),
      cmocka_unit_test(test_stable_round_trip),
      cmocka_unit_test(test_ses_known_answer),
      cmocka_unit_test(test_ses_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
