/* SPDX-License-Identifier: MIT */
/*
 * gen_corpus: the fuzz_frame seeds, every frame type from the wire
 * encoders (DATA frames carrying the SES seeds), and malformed frames the
 * encoders cannot make.
 */
#include "gen_corpus.h"

#include "buf.h"
#include "wire.h"

#include <stdio.h>
#include <string.h>

/* ---- frames ------------------------------------------------------------ */

static void frame_hello(p2pc_buf *b, const char *id, uint8_t family) {
  p2pc_wire_hello h;
  memset(&h, 0, sizeof h);
  h.version = P2PC_WIRE_VERSION;
  snprintf(h.id, sizeof h.id, "%s", id);
  h.incarnation = 0x0123456789abcdefull;
  h.listen.family = family;
  if (family == 4) {
    const uint8_t lo[4] = {127, 0, 0, 1};
    memcpy(h.listen.addr, lo, 4);
  } else if (family == 6) {
    h.listen.addr[15] = 1;
  }
  h.listen.port = family ? 9000 : 0;
  long st = p2pc_wire_frame_begin(b, P2PC_FRAME_HELLO);
  CHECK("begin", (int)st);
  CHECK("hello", p2pc_wire_hello_put(b, &h));
  CHECK("end", p2pc_wire_frame_end(b, st, P2PC_WIRE_MAX_FRAME_DEFAULT));
}

static void frame_error(p2pc_buf *b, uint16_t code, const char *reason) {
  long st = p2pc_wire_frame_begin(b, P2PC_FRAME_ERROR);
  CHECK("begin", (int)st);
  CHECK("error", p2pc_wire_error_put(b, code, reason));
  CHECK("end", p2pc_wire_frame_end(b, st, P2PC_WIRE_MAX_FRAME_DEFAULT));
}

static void frame_ack(p2pc_buf *b, uint64_t cum) {
  long st = p2pc_wire_frame_begin(b, P2PC_FRAME_ACK);
  CHECK("begin", (int)st);
  CHECK("ack", p2pc_wire_ack_put(b, cum, 0));
  CHECK("end", p2pc_wire_frame_end(b, st, P2PC_WIRE_MAX_FRAME_DEFAULT));
}

static void frame_ping(p2pc_buf *b, p2pc_frame_type type, uint64_t token) {
  long st = p2pc_wire_frame_begin(b, type);
  CHECK("begin", (int)st);
  CHECK("ping", p2pc_wire_ping_put(b, type, token));
  CHECK("end", p2pc_wire_frame_end(b, st, P2PC_WIRE_MAX_FRAME_DEFAULT));
}

static void frame_announce(p2pc_buf *b, const char *ref, uint64_t seq) {
  p2pc_wire_announce an = {.time_port = 9000,
                           .flags = P2PC_ANNOUNCE_SYNCED,
                           .ref_priority = 128,
                           .ref_class = 248,
                           .ref_seq = seq,
                           .hops = ref[0] ? 1 : 0,
                           .tier = ref[0] ? 1 : P2PC_TIER_NONE};
  snprintf(an.ref, sizeof an.ref, "%s", ref);
  if (ref[0]) { /* one tier hint: the reference itself */
    an.nhints = 1;
    snprintf(an.hints[0].rec.id, sizeof an.hints[0].rec.id, "%s", ref);
    an.hints[0].rec.addr =
        (p2pc_wire_addr){.family = 4, .addr = {10, 0, 0, 1}, .port = 9000};
    an.hints[0].rec.time_port = 9000;
    an.hints[0].flags = P2PC_HINT_FULL;
  }
  long st = p2pc_wire_frame_begin(b, P2PC_FRAME_ANNOUNCE);
  CHECK("begin", (int)st);
  CHECK("announce", p2pc_wire_announce_put(b, &an));
  CHECK("end", p2pc_wire_frame_end(b, st, P2PC_WIRE_MAX_FRAME_DEFAULT));
}

static void frame_peers(p2pc_buf *b, size_t n) {
  p2pc_wire_peer peers[3];
  memset(peers, 0, sizeof peers);
  snprintf(peers[0].id, sizeof peers[0].id, "nodeB");
  peers[0].incarnation = 7;
  peers[0].addr.family = 4;
  peers[0].addr.addr[0] = 10;
  peers[0].addr.addr[3] = 2;
  peers[0].addr.port = 9001;
  snprintf(peers[1].id, sizeof peers[1].id, "nodeC");
  peers[1].incarnation = 1;
  peers[1].addr.family = 0;
  snprintf(peers[2].id, sizeof peers[2].id, "node-D_6.v6");
  peers[2].incarnation = UINT64_MAX;
  peers[2].addr.family = 6;
  peers[2].addr.addr[0] = 0xfe;
  peers[2].addr.addr[1] = 0x80;
  peers[2].addr.addr[15] = 9;
  peers[2].addr.port = 65535;
  long st = p2pc_wire_frame_begin(b, P2PC_FRAME_PEERS);
  CHECK("begin", (int)st);
  CHECK("peers", p2pc_wire_peers_put(b, peers, n));
  CHECK("end", p2pc_wire_frame_end(b, st, P2PC_WIRE_MAX_FRAME_DEFAULT));
}

static void frame_leave(p2pc_buf *b, uint64_t last, const char *next) {
  p2pc_wire_peer p;
  memset(&p, 0, sizeof p);
  snprintf(p.id, sizeof p.id, "%s", next);
  p.incarnation = 42;
  p.addr.family = 4;
  p.addr.addr[0] = 127;
  p.addr.addr[3] = 9;
  p.addr.port = 9009;
  long st = p2pc_wire_frame_begin(b, P2PC_FRAME_LEAVE);
  CHECK("begin", (int)st);
  CHECK("leave", p2pc_wire_leave_put(b, last, &p));
  CHECK("end", p2pc_wire_frame_end(b, st, P2PC_WIRE_MAX_FRAME_DEFAULT));
}

/* A SHUFFLE (or its reply) of n records named s0, s1, ... */
static void frame_shuffle(p2pc_buf *b, bool reply, uint8_t ttl, size_t n) {
  p2pc_wire_record r[P2PC_WIRE_MAX_SHUFFLE];
  memset(r, 0, sizeof r);
  for (size_t i = 0; i < n; i++) {
    snprintf(r[i].id, sizeof r[i].id, "s%zu", i);
    r[i].incarnation = 1000 + i;
    r[i].addr.family = i % 3 == 2 ? 6 : 4;
    r[i].addr.addr[0] = 10;
    r[i].addr.addr[3] = (uint8_t)i;
    r[i].addr.port = (uint16_t)(9000 + i);
    r[i].time_port = (uint16_t)(9000 + i);
  }
  long st = p2pc_wire_frame_begin(b, reply ? P2PC_FRAME_SHUFFLE_REPLY
                                           : P2PC_FRAME_SHUFFLE);
  CHECK("begin", (int)st);
  CHECK("shuffle", reply ? p2pc_wire_shuffle_reply_put(b, r, n)
                         : p2pc_wire_shuffle_put(b, ttl, r, n));
  CHECK("end", p2pc_wire_frame_end(b, st, P2PC_WIRE_MAX_FRAME_DEFAULT));
}

/* A STABLE frame: levels fall by `step` every `every` levels from top,
 * with n written-off ranges from first: [first + 3i, first + 3i + i % 2]
 * (one message, then two). */
static void frame_stable(p2pc_buf *b, uint64_t delivered, uint64_t top,
                         uint64_t step, int every, uint32_t n, uint64_t first) {
  p2pc_wire_stable s;
  memset(&s, 0, sizeof s);
  s.delivered = delivered;
  for (int d = 0; d < P2PC_STABLE_DEPTH; d++)
    s.rep.v[d] = top - (uint64_t)(every ? d / every : 0) * step;
  s.nexpired = 2 * n;
  for (uint32_t i = 0; i < n; i++) {
    s.expired[2 * i] = first + 3 * (uint64_t)i;
    s.expired[2 * i + 1] = first + 3 * (uint64_t)i + i % 2;
  }
  long st = p2pc_wire_frame_begin(b, P2PC_FRAME_STABLE);
  CHECK("begin", (int)st);
  CHECK("stable", p2pc_wire_stable_put(b, &s));
  CHECK("end", p2pc_wire_frame_end(b, st, P2PC_WIRE_MAX_FRAME_DEFAULT));
}

static void frame_data(p2pc_buf *b, uint64_t lseq, const seed *s) {
  long st = p2pc_wire_frame_begin(b, P2PC_FRAME_DATA);
  CHECK("begin", (int)st);
  CHECK("lseq", p2pc_buf_put_varint(b, lseq));
  CHECK("ses", p2pc_buf_put(b, s->p, s->len));
  CHECK("end", p2pc_wire_frame_end(b, st, P2PC_WIRE_MAX_FRAME_DEFAULT));
}

static void emit_frame(p2pc_buf *b, const char *name) {
  write_file("fuzz_frame", name, b->data, b->len);
  p2pc_buf_reset(b);
}

void gen_frames(void) {
  p2pc_buf b;
  p2pc_buf_init(&b, p2pc_allocator_default(), 1 << 20);

  frame_hello(&b, "A", 4);
  emit_frame(&b, "hello-v4");
  frame_hello(&b, "node-with.long_name-0123456789", 6);
  emit_frame(&b, "hello-v6");
  frame_hello(&b, "B", 0);
  emit_frame(&b, "hello-noaddr");
  frame_error(&b, P2PC_WIRE_E_VERSION, "unsupported protocol version 2");
  emit_frame(&b, "error-version");
  frame_error(&b, P2PC_WIRE_E_SHUTDOWN, "");
  emit_frame(&b, "error-empty");
  frame_ack(&b, 0);
  emit_frame(&b, "ack-0");
  frame_ack(&b, UINT64_MAX);
  emit_frame(&b, "ack-max");
  frame_ping(&b, P2PC_FRAME_PING, 0x1122334455667788ull);
  emit_frame(&b, "ping");
  frame_ping(&b, P2PC_FRAME_PONG, 42);
  emit_frame(&b, "pong");
  frame_announce(&b, "A", 1800000000000000001ull);
  emit_frame(&b, "announce");
  frame_announce(&b, "", 0);
  emit_frame(&b, "announce-none");
  frame_peers(&b, 0);
  emit_frame(&b, "peers-empty");
  frame_leave(&b, 0, "");
  emit_frame(&b, "leave-bare");
  frame_leave(&b, 12345, "joiner-7");
  emit_frame(&b, "leave-next");
  frame_peers(&b, 3);
  emit_frame(&b, "peers-3");
  frame_shuffle(&b, false, 0, 8);
  emit_frame(&b, "shuffle-8");
  frame_shuffle(&b, false, 5, P2PC_WIRE_MAX_SHUFFLE);
  emit_frame(&b, "shuffle-max");
  frame_shuffle(&b, true, 0, 0);
  emit_frame(&b, "shuffle-reply-empty");
  frame_shuffle(&b, true, 0, 7);
  emit_frame(&b, "shuffle-reply-7");
  /* HLC values: network time in ns, a logical counter in the low 16 bits. */
  frame_stable(&b, 0, 1800000000000000000ull, 0, 0, 0, 0);
  emit_frame(&b, "stable-flat");
  frame_stable(&b, 4321, 1800000000123456789ull, 65536 * 1000, 3, 5, 17);
  emit_frame(&b, "stable-steps");
  frame_stable(&b, UINT64_MAX, UINT64_MAX, 1, 1, P2PC_WIRE_MAX_EXPIRED / 2, 1);
  emit_frame(&b, "stable-max");
  for (size_t i = 0; i < nses; i++) {
    char name[80];
    frame_data(&b, i + 1, &ses_seeds[i]);
    snprintf(name, sizeof name, "data-%.63s", ses_seeds[i].name);
    emit_frame(&b, name);
  }

  /* A whole link conversation in one stream. */
  frame_hello(&b, "A", 4);
  frame_peers(&b, 2);
  frame_data(&b, 1, &ses_seeds[0]);
  frame_data(&b, 2, &ses_seeds[2]);
  frame_ack(&b, 7);
  frame_ping(&b, P2PC_FRAME_PING, 1);
  frame_ping(&b, P2PC_FRAME_PONG, 1);
  frame_error(&b, P2PC_WIRE_E_PROTO, "bye");
  emit_frame(&b, "stream-all-types");

  /* Malformed: a frame cut short, then a good one, then a truncated one. */
  frame_ack(&b, 300);
  frame_hello(&b, "C", 6);
  b.len -= 3;
  emit_frame(&b, "stream-truncated");

  /* An unknown type, then a ping: unknown frames are skipped. */
  {
    long st = p2pc_wire_frame_begin(&b, (p2pc_frame_type)99);
    CHECK("begin", (int)st);
    CHECK("body", p2pc_buf_put(&b, "??", 2));
    CHECK("end", p2pc_wire_frame_end(&b, st, 64));
    frame_ping(&b, P2PC_FRAME_PING, 5);
    emit_frame(&b, "unknown-type");
  }

  /* Length prefixes the split must reject: past the fuzzer's max_frame
   * (4096), past the hard limit, and zero. */
  const uint8_t big[] = {0x00, 0x00, 0x10, 0x01, P2PC_FRAME_PING, 0, 0, 0};
  write_file("fuzz_frame", "oversized-length", big, sizeof big);
  const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, P2PC_FRAME_DATA};
  write_file("fuzz_frame", "huge-length", huge, sizeof huge);
  const uint8_t zero[] = {0x00, 0x00, 0x00, 0x00, P2PC_FRAME_ACK};
  write_file("fuzz_frame", "zero-length", zero, sizeof zero);
  /* An ACK whose varint is not minimal (0 written as 0x80 0x00). */
  const uint8_t nonmin[] = {0x00, 0x00, 0x00, 0x03, P2PC_FRAME_ACK, 0x80, 0x00};
  write_file("fuzz_frame", "ack-nonminimal", nonmin, sizeof nonmin);
  /* Type 10 was HORIZON (version 1): an unknown type now. */
  const uint8_t horizon[] = {0x00, 0x00, 0x00, 0x06, 10,
                             0xac, 0x02, 0xf0, 0xa2, 0x04,
                             0x00, 0x00, 0x00, 0x01, P2PC_FRAME_PING};
  write_file("fuzz_frame", "retired-type-10", horizon, sizeof horizon);
  /* STABLE lists that are not (first, last) pairs: an odd count (the
   * version-1 list of numbers), and first > last. */
  const uint8_t odd[] = {0x00, 0x00, 0x00, 0x09, P2PC_FRAME_STABLE, 0, 1, 0, 5,
                         3,    4,    6,    8};
  write_file("fuzz_frame", "stable-odd-list", odd, sizeof odd);
  const uint8_t back[] = {0x00, 0x00, 0x00, 0x08, P2PC_FRAME_STABLE, 0, 1, 0,
                          5,    2,    7,    5};
  write_file("fuzz_frame", "stable-range-backwards", back, sizeof back);
  /* A STABLE report with a step that changes nothing (level gap 0). */
  const uint8_t gap0[] = {0x00, 0x00, 0x00, 0x08, P2PC_FRAME_STABLE, 0, 2, 0,
                          5,    0,    1,    0};
  write_file("fuzz_frame", "stable-gap0", gap0, sizeof gap0);
  p2pc_buf_fini(&b);
}
