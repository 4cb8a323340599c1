/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) with
 * the core's own encoders, so the seeds are in the real wire format: every
 * frame type, Δ-SES messages with dependency entries in both forms (a new
 * destination, the next sender under the same one) and LS values (the
 * sender's, entry senders', some retiring entries), stamps about to expire
 * or too far ahead for the fuzzer's timed core, messages produced by real
 * causal cores, and causal_seq scripts (with the old crash reproducers
 * rewritten in the current script format as regress-*); plus a few
 * malformed inputs the encoders cannot make (truncations, an oversized
 * length prefix, a non-minimal varint); and NTP datagrams (standard
 * clients, p2pclock requests and replies). Usage: gen_corpus OUTDIR
 * (OUTDIR/<target> must exist). Run by hand when the formats change; its
 * output is checked in.
 */
#include "buf.h"
#include "causal.h"
#include "idtab.h"
#include "ntp.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *outdir;

static void die(const char *what, int rv) {
  fprintf(stderr, "gen_corpus: %s: %s\n", what, p2pc_strerror(rv));
  exit(1);
}

#define CHECK(what, expr)                                                      \
  do {                                                                         \
    int rv_ = (expr);                                                          \
    if (rv_ < 0)                                                               \
      die(what, rv_);                                                          \
  } while (0)

static void write_file(const char *target, const char *name, const uint8_t *p,
                       size_t len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
  FILE *f = fopen(path, "wb");
  if (!f || (len && fwrite(p, 1, len, f) != len) || fclose(f) != 0) {
    fprintf(stderr, "gen_corpus: cannot write %s\n", path);
    exit(1);
  }
}

/* ---- SES messages ------------------------------------------------------ */

typedef struct ses_fixture {
  p2pc_idtab ids;
  const p2pc_allocator *a;
} ses_fixture;

static uint32_t id_of(ses_fixture *fx, const char *name) {
  uint32_t id;
  CHECK("intern", p2pc_idtab_intern(&fx->ids, name, strlen(name), &id));
  return id;
}

/* One dependency entry by name (hops: 0 unless given). */
typedef struct dep_spec {
  const char *dest, *sender;
  uint64_t n, stamp;
  uint32_t hops;
} dep_spec;

/* One LS value by name. */
typedef struct ls_spec {
  const char *id;
  uint64_t ls;
} ls_spec;

/* Encodes a message with entries deps[0..ndeps) and LS values
 * ls[0..nls) (any order). Appends to out. */
static void put_ses_ls(p2pc_buf *out, const char *sender, const char *dest,
                       uint64_t n, uint64_t prev, uint64_t stamp,
                       const dep_spec *deps, uint32_t ndeps, const ls_spec *ls,
                       uint32_t nls, const char *payload) {
  ses_fixture fx;
  fx.a = p2pc_allocator_default();
  p2pc_idtab_init(&fx.ids, fx.a, 256);
  p2pc_ses_msg m;
  p2pc_ses_msg_init(&m);
  m.sender = id_of(&fx, sender);
  m.dest = id_of(&fx, dest);
  m.n = n;
  m.prev = prev;
  m.stamp = stamp;
  p2pc_ses_dep e[64];
  if (ndeps > 64)
    die("too many entries", P2PC_ERR_INVAL);
  for (uint32_t i = 0; i < ndeps; i++)
    e[i] = (p2pc_ses_dep){id_of(&fx, deps[i].dest), id_of(&fx, deps[i].sender),
                          deps[i].n, deps[i].stamp, deps[i].hops};
  m.deps = e;
  m.ndeps = ndeps;
  p2pc_ses_ls l[64];
  if (nls > 64)
    die("too many LS values", P2PC_ERR_INVAL);
  for (uint32_t i = 0; i < nls; i++)
    l[i] = (p2pc_ses_ls){id_of(&fx, ls[i].id), ls[i].ls};
  m.ls = l;
  m.nls = nls;
  m.payload = (const uint8_t *)payload;
  m.payload_len = strlen(payload);
  p2pc_wire_scratch scratch;
  memset(&scratch, 0, sizeof scratch);
  CHECK("ses_put", p2pc_wire_ses_put(out, &m, &fx.ids, &scratch, fx.a, NULL));
  p2pc_wire_scratch_fini(&scratch, fx.a);
  p2pc_idtab_fini(&fx.ids);
}

static void put_ses(p2pc_buf *out, const char *sender, const char *dest,
                    uint64_t n, uint64_t prev, uint64_t stamp,
                    const dep_spec *deps, uint32_t ndeps, const char *payload) {
  put_ses_ls(out, sender, dest, n, prev, stamp, deps, ndeps, NULL, 0, payload);
}

/* The SES seeds, as (name, bytes) into both fuzz_ses and DATA frames. */
typedef struct seed {
  char name[64];
  uint8_t *p;
  size_t len;
} seed;

static seed ses_seeds[32];
static size_t nses;

static void add_ses_seed(const char *name, const p2pc_buf *b) {
  seed *s = &ses_seeds[nses++];
  snprintf(s->name, sizeof s->name, "%s", name);
  s->p = malloc(b->len);
  if (!s->p)
    die("malloc", P2PC_ERR_NOMEM);
  memcpy(s->p, b->data, b->len);
  s->len = b->len;
  write_file("fuzz_ses", name, b->data, b->len);
}

/* fuzz_ses's timed core runs at 2^40 ns with error bound 0 and the
 * default margin (250 ms) and lifetime (60 s). */
#define FUZZ_NET ((uint64_t)1 << 40)

static void gen_handmade_ses(void) {
  p2pc_buf b;
  p2pc_buf_init(&b, p2pc_allocator_default(), 1 << 16);

  /* A's first message to B: no entries. */
  put_ses(&b, "A", "B", 1, 0, 1000, NULL, 0, "hello");
  add_ses_seed("ses-first", &b);

  /* Entries about others only (deliverable at B), both forms: new
   * destinations, and a second sender under one destination. */
  p2pc_buf_reset(&b);
  static const dep_spec d2[] = {{"C", "A", 1, 900, 0},
                                {"D", "C", 2, 800, 1},
                                {"D", "node-E.x_1~7", 3, 700, 7},
                                {"node-E.x_1~7", "B", 9, 999, 0}};
  put_ses(&b, "A", "B", 5, 2, 1000, d2, 4, "entries");
  add_ses_seed("ses-entries", &b);

  /* The same with LS values for the sender and every entry sender (the
   * receiver among them), none above its entries' stamps. */
  p2pc_buf_reset(&b);
  static const ls_spec l2[] = {
      {"A", 900}, {"C", 800}, {"node-E.x_1~7", 650}, {"B", 999}};
  put_ses_ls(&b, "A", "B", 5, 2, 1000, d2, 4, l2, 4, "entries and LS");
  add_ses_seed("ses-entries-ls", &b);

  /* LS values that retire entries of the same message: A's 901 passes
   * (C, A, 1, 900), C's 800 does not pass (D, C, 2, 800). */
  p2pc_buf_reset(&b);
  static const ls_spec l2b[] = {{"A", 901}, {"C", 800}, {"node-E.x_1~7", 999}};
  put_ses_ls(&b, "A", "B", 5, 2, 1000, d2, 4, l2b, 3, "LS retires");
  add_ses_seed("ses-ls-retires", &b);

  /* The sender's LS only, at its bounds: 1, and stamp - 1. */
  p2pc_buf_reset(&b);
  static const ls_spec l1a[] = {{"A", 1}};
  put_ses_ls(&b, "A", "B", 1, 0, 1000, NULL, 0, l1a, 1, "LS 1");
  add_ses_seed("ses-ls-low", &b);
  p2pc_buf_reset(&b);
  static const ls_spec l1b[] = {{"A", 999}};
  put_ses_ls(&b, "A", "B", 1, 0, 1000, NULL, 0, l1b, 1, "LS stamp - 1");
  add_ses_seed("ses-ls-high", &b);

  /* Entries about the receiver B: it must wait (for C:3, and D:1). */
  p2pc_buf_reset(&b);
  static const dep_spec d3[] = {
      {"B", "C", 3, 500, 2}, {"B", "D", 1, 400, 0}, {"C", "D", 7, 450, 1}};
  static const ls_spec l3[] = {{"C", 499}, {"D", 1}, {"A", 600}};
  put_ses_ls(&b, "A", "B", 600, 40, 700, d3, 3, l3, 3, "waits for B");
  add_ses_seed("ses-entry-for-receiver", &b);

  /* The same entries, Δ old at a fresh core's HLC (stamp + 1 - 60 s):
   * deliverable. */
  p2pc_buf_reset(&b);
  static const dep_spec d4[] = {{"B", "C", 3, 500, 0},
                                {"B", "D", 1, 40000000000, 3}};
  put_ses(&b, "A", "B", 600, 599, 100000000001, d4, 2, "entries expired");
  add_ses_seed("ses-entry-for-receiver-expired", &b);

  /* A stamp just within the timed core's reach, and one too far ahead. */
  p2pc_buf_reset(&b);
  static const dep_spec d5[] = {{"B", "C", 1, FUZZ_NET - 61000000000ull, 0}};
  put_ses(&b, "A", "B", 3, 1, FUZZ_NET + 250000000, d5, 1, "now");
  add_ses_seed("ses-stamp-now", &b);
  p2pc_buf_reset(&b);
  put_ses(&b, "A", "B", 3, 1, FUZZ_NET + 250000001, NULL, 0, "ahead");
  add_ses_seed("ses-stamp-ahead", &b);

  /* The largest numbers. */
  p2pc_buf_reset(&b);
  static const dep_spec d6[] = {{"B", "C", UINT64_MAX, 1, 255},
                                {"C", "B", 1, UINT64_MAX - 1, 255}};
  static const ls_spec l6[] = {{"A", 1}, {"B", 1}, {"C", UINT64_MAX - 1}};
  put_ses_ls(&b, "A", "B", UINT64_MAX, UINT64_MAX - 1, UINT64_MAX, d6, 2, l6, 3,
             "max");
  add_ses_seed("ses-max", &b);

  /* Many entries among many names. */
  p2pc_buf_reset(&b);
  static const char *const nm[] = {"n0", "n1", "n2",   "n3", "n4",
                                   "n5", "n6", "n7~a", "n8", "node-9"};
  dep_spec d7[64];
  uint32_t k = 0;
  for (int d = 0; d < 10 && k < 60; d++)
    for (int s2 = 0; s2 < 10 && k < 60; s2++)
      if (d != s2)
        d7[k++] = (dep_spec){nm[d], nm[s2], (uint64_t)(d * 10 + s2 + 1),
                             (uint64_t)(5000 - d * 10 - s2),
                             (uint32_t)(d * 10 + s2) * 5 % 256};
  ls_spec l7[11];
  for (int i = 0; i < 10; i++)
    l7[i] = (ls_spec){nm[i], (uint64_t)(4000 + 37 * i)};
  l7[10] = (ls_spec){"A", 4999};
  put_ses_ls(&b, "A", "B", 77, 70, 5000, d7, k, l7, 11, "many");
  add_ses_seed("ses-many-entries", &b);

  /* More names than the fuzzer's tables hold (32). */
  p2pc_buf_reset(&b);
  char many[40][8];
  for (int i = 0; i < 40; i++) {
    snprintf(many[i], sizeof many[i], "m%d", i);
    d7[i] = (dep_spec){many[i], "C", 1, 10, 0};
  }
  put_ses(&b, "A", "B", 2, 1, 20, d7, 40, "too many");
  add_ses_seed("ses-too-many-ids", &b);

  /* Entries about others near the end of the stability levels (32 hops)
   * and past them, and at the wire's largest count. */
  p2pc_buf_reset(&b);
  static const dep_spec d8[] = {{"C", "A", 1, 900, 31},
                                {"D", "C", 2, 800, 32},
                                {"E", "C", 3, 700, 254},
                                {"F", "C", 4, 600, 255}};
  put_ses(&b, "A", "B", 5, 2, 1000, d8, 4, "far");
  add_ses_seed("ses-hops", &b);

  /* Addressed to someone else. */
  p2pc_buf_reset(&b);
  put_ses(&b, "A", "C", 1, 0, 1000, NULL, 0, "not for B");
  add_ses_seed("ses-other-dest", &b);

  /* Truncated: the last byte of the payload is missing. */
  p2pc_buf_reset(&b);
  put_ses(&b, "A", "B", 5, 2, 1000, d2, 4, "entries");
  b.len--;
  add_ses_seed("ses-truncated", &b);
  p2pc_buf_fini(&b);
}

/* Messages from real cores: A and C talk to B (ALGORITHMS.md A.8). */
static void gen_core_ses(void) {
  const p2pc_allocator *a = p2pc_allocator_default();
  p2pc_causal *A, *B, *C;
  p2pc_buf m1, m2, m3, m4;
  CHECK("new", p2pc_causal_new(&A, "A", NULL, a, NULL, NULL));
  CHECK("new", p2pc_causal_new(&B, "B", NULL, a, NULL, NULL));
  CHECK("new", p2pc_causal_new(&C, "C", NULL, a, NULL, NULL));
  p2pc_buf_init(&m1, a, 1 << 16);
  p2pc_buf_init(&m2, a, 1 << 16);
  p2pc_buf_init(&m3, a, 1 << 16);
  p2pc_buf_init(&m4, a, 1 << 16);
  const uint8_t pl[] = "payload";
  p2pc_causal_set_time(A, (int64_t)FUZZ_NET, 1000000, 0);
  p2pc_causal_set_time(C, (int64_t)FUZZ_NET, 1000000, 0);
  CHECK("send m1", p2pc_causal_send(A, "B", pl, 7, 0, &m1));
  CHECK("send m2", p2pc_causal_send(A, "C", pl, 7, 0, &m2));
  CHECK("recv m2", p2pc_causal_receive(C, "A", m2.data, m2.len, 0));
  CHECK("send m3", p2pc_causal_send(C, "B", pl, 3, 0, &m3));
  CHECK("send m4", p2pc_causal_send(A, "B", pl, 0, 0, &m4));
  add_ses_seed("core-m1-A-to-B", &m1);
  add_ses_seed("core-m3-C-to-B-waits", &m3);
  add_ses_seed("core-m4-A-to-B-fifo", &m4);
  p2pc_buf_fini(&m1);
  p2pc_buf_fini(&m2);
  p2pc_buf_fini(&m3);
  p2pc_buf_fini(&m4);
  p2pc_causal_free(A);
  p2pc_causal_free(B);
  p2pc_causal_free(C);
}

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
                           .hops = ref[0] ? 1 : 0};
  snprintf(an.ref, sizeof an.ref, "%s", ref);
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

static void gen_frames(void) {
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

/* ---- causal_seq scripts ------------------------------------------------- */

/* Opcodes of fuzz_causal_seq.c (op % 16). */
enum {
  OP_SEND = 0,
  OP_SELF = 2,
  OP_DELIVER = 3,
  OP_REINJECT = 4,
  OP_CORRUPT = 5,
  OP_WRONG = 6,
  OP_TIME = 7,
  OP_JITTER = 8,
  OP_REPORT = 9,
  OP_STABLE = 10,
  OP_RETIRE = 11,
  OP_LIE = 12,
  OP_DRAIN = 13,
  OP_STABILITY = 15 /* node byte bit 7: a sender's LS; else levels */
};

/* Second configuration byte: Δ (0 infinite, 1 20 ms, 2 200 ms, 3 2 s), a
 * small cap (1 max_msg_deps 2, 2 max_pending 3, 3 max_deps 4), the error
 * bound (0, 1, 5, 20 ms) and the ahead margin (default 250 ms, 1 ns, 2 ms,
 * 30 ms). */
#define CFG1(life, cap, err, margin)                                           \
  (uint8_t)((life) | (cap) << 2 | (err) << 4 | (margin) << 6)

static void script(const char *name, const uint8_t *p, size_t len) {
  write_file("fuzz_causal_seq", name, p, len);
}

static void gen_scripts(void) {
  /* clang-format off */
  /* cfg0: bit0 three nodes, bit1 no_prune, bits2-4 max_buffered-1,
   * bits5-7 extra node IDs. A node byte: low nibble x (A=0, B=1, C=2),
   * high nibble y's offset - 1 from it; so with three nodes A->B 0x00,
   * A->C 0x10, B->C 0x01, B->A 0x11, C->A 0x02, C->B 0x12. A send's second
   * byte: payload length (low nibble); 0xf? makes the output buffer too
   * small. Time passes by (even) b1 ms; an odd b1 arms an allocation
   * failure b1 >> 1 allocations ahead. */

  /* Hold-back: A->C, A->B, B gets it, B->C; C gets B's before A's. */
  const uint8_t holdback[] = {
      0x01 | (3 << 2), CFG1(0, 0, 0, 0),
      OP_SEND,    0x10, 4,    /* m0 A -> C */
      OP_SEND,    0x00, 4,    /* m1 A -> B */
      OP_DELIVER, 1,          /* m1 arrives at B */
      OP_SEND,    0x01, 4,    /* m2 B -> C */
      OP_DELIVER, 1,          /* m2 arrives at C first: buffered */
      OP_DELIVER, 0,          /* m0 arrives: both delivered */
  };
  script("holdback", holdback, sizeof holdback);

  /* Two nodes, streams reordered: B gets A's three messages in reverse. */
  const uint8_t rev[] = {
      0x00 | (7 << 2), CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x00, 2, OP_SEND, 0x00, 3,
      OP_DELIVER, 2, OP_DELIVER, 1, OP_DELIVER, 0,
  };
  script("reverse-order", rev, sizeof rev);

  /* A buffer of one: the second early message is refused (FULL) and
   * offered again by the final drain. */
  const uint8_t full[] = {
      0x00, CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x00, 2, OP_SEND, 0x00, 3,
      OP_DELIVER, 2, OP_DELIVER, 1, OP_TIME, 0x10,
  };
  script("buffer-full", full, sizeof full);

  /* Duplicates: re-inject a message before and after it is delivered. */
  const uint8_t dup[] = {
      0x01 | (2 << 2), CFG1(0, 0, 0, 0),
      OP_SEND, 0x01, 5, OP_REINJECT, 0, OP_DELIVER, 1, OP_DELIVER, 0,
      OP_REINJECT, 0, OP_SEND, 0x02, 0, OP_DELIVER, 0,
  };
  script("duplicates", dup, sizeof dup);

  /* Self-sends: B's after it received from A, C's as its only send. */
  const uint8_t self[] = {
      0x01 | (3 << 2), CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 2, OP_DELIVER, 0, OP_SELF, 0x31, OP_SELF, 0x02,
      OP_SELF, 0x21,
  };
  script("self-sends", self, sizeof self);

  /* A wrong expected sender (another node, an unknown one) and corrupted
   * copies (the sender's name checked, the dest's name), once B knows A. */
  const uint8_t bad[] = {
      0x01 | (3 << 2), CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 6, OP_SEND, 0x00, 7, OP_DELIVER, 0,
      OP_WRONG, 0, 0, OP_WRONG, 0, 1,
      OP_CORRUPT, 0x81, 2, 0x01, OP_CORRUPT, 0x01, 4, 0x07,
      OP_DELIVER, 0,
  };
  script("corrupt-and-wrong-sender", bad, sizeof bad);

  /* Allocation failures in the middle of sends and deliveries. */
  const uint8_t oom[] = {
      0x01 | (3 << 2), CFG1(2, 0, 1, 0),
      OP_SEND, 0x00, 3, OP_TIME, 0x01, OP_SEND, 0x10, 3,
      OP_TIME, 0x03, OP_DELIVER, 0, OP_TIME, 0x05, OP_DELIVER, 0,
      OP_SEND, 0x12, 4, OP_DELIVER, 0, OP_TIME, 0x07, OP_RETIRE, 0x12,
  };
  script("alloc-failures", oom, sizeof oom);

  /* A busy three-node exchange, with pruning off. */
  const uint8_t busy[] = {
      0x03 | (4 << 2), CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x11, 2, OP_SEND, 0x02, 3,
      OP_DELIVER, 2, OP_SEND, 0x10, 4, OP_DELIVER, 0, OP_SEND, 0x01, 5,
      OP_DELIVER, 3, OP_SEND, 0x12, 6, OP_DELIVER, 1, OP_DELIVER, 0,
      OP_SEND, 0x00, 7, OP_SEND, 0x10, 8, OP_DELIVER, 1,
  };
  script("busy-no-prune", busy, sizeof busy);

  /* Expiry (Δ 20 ms, error 1 ms): A->C is late; B's message to C waits
   * for it until its entry is Δ old, then goes; A's arrives and expires. */
  const uint8_t expire[] = {
      0x01 | (3 << 2), CFG1(1, 0, 1, 0),
      OP_SEND, 0x10, 2,       /* m0 A -> C: late */
      OP_TIME, 10,
      OP_SEND, 0x00, 2,       /* m1 A -> B */
      OP_DELIVER, 1,
      OP_SEND, 0x01, 2,       /* m2 B -> C */
      OP_DELIVER, 1,          /* buffered at C */
      OP_TIME, 12,            /* m0's entry is Δ old: m2 goes */
      OP_DELIVER, 0,          /* m0 expires on arrival */
      OP_REINJECT, 0, OP_DELIVER, 0,
      OP_REPORT, 0x10, 0,     /* C's report about A reaches A */
  };
  script("expire", expire, sizeof expire);

  /* Buffered messages expire; the sender gives up; reports and written-off
   * ranges; the stream goes on. */
  const uint8_t expire2[] = {
      0x00 | (3 << 2), CFG1(1, 0, 0, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x00, 2, OP_SEND, 0x00, 3,
      OP_DELIVER, 1, OP_DELIVER, 1,   /* 2 and 3 buffered */
      OP_TIME, 30,                    /* both expire, A gives up */
      OP_REPORT, 0x00, 0,
      OP_SEND, 0x00, 4, OP_DELIVER, 1, OP_DELIVER, 0,
      OP_REPORT, 0x00, 1,
  };
  script("expire-buffered-and-reports", expire2, sizeof expire2);

  /* Stability: reports and the global stable time prune entries. */
  const uint8_t stable[] = {
      0x01 | (3 << 2), CFG1(3, 0, 1, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x10, 1, OP_SEND, 0x01, 1,
      OP_DELIVER, 0, OP_DELIVER, 0, OP_REPORT, 0x10, 0,
      OP_STABLE, 0x00, 0xff, OP_STABLE, 0x01, 0xff, OP_STABLE, 0x02, 3,
      OP_SEND, 0x12, 1, OP_DELIVER, 1, OP_DELIVER, 0,
  };
  script("stable", stable, sizeof stable);

  /* A liar: A's clock runs 1 s ahead (margin 2 ms); B refuses its stamps
   * until time catches up; C's clock jitters within its error bound. */
  const uint8_t liar[] = {
      0x01 | (3 << 2), CFG1(2, 0, 2, 2),
      OP_LIE, 0x00, 200, OP_SEND, 0x00, 1, OP_DELIVER, 0,
      OP_JITTER, 0x02, 0x80, OP_SEND, 0x02, 1, OP_SEND, 0x12, 1,
      OP_DELIVER, 1, OP_DELIVER, 0, OP_LIE, 0x00, 0, OP_TIME, 200,
      OP_DELIVER, 0,
  };
  script("liar", liar, sizeof liar);

  /* The sender gives up (Δ 20 ms) and its LS stays at the stamps while
   * they settle (2 s + the 250 ms margin): time passes in steps of 254 ms;
   * the final drain finds both expired at B. */
  const uint8_t settle[] = {
      0x00 | (3 << 2), CFG1(1, 0, 1, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x00, 2,   /* m0, m1 A -> B: late */
      OP_TIME, 30,                          /* A gives both up */
      OP_REPORT, 0x10, 0,                   /* B has nothing to say */
      OP_TIME, 254, OP_TIME, 254, OP_TIME, 254, OP_TIME, 254, OP_TIME, 254,
      OP_TIME, 254, OP_TIME, 254, OP_TIME, 254, OP_TIME, 254, OP_TIME, 254,
      OP_SEND, 0x00, 3,
      OP_STABLE, 0x01, 0xff,
  };
  script("give-up-and-settle", settle, sizeof settle);

  /* A given-up message that its destination then writes off: the report
   * takes it out of A's LS at once (no second EXPIRE). */
  const uint8_t popped[] = {
      0x00 | (3 << 2), CFG1(1, 0, 1, 0),
      OP_SEND, 0x00, 1, OP_TIME, 30,        /* m0 A -> B, given up */
      OP_DELIVER, 0,                        /* expired at B */
      OP_REPORT, 0x10, 0,                   /* B's report reaches A */
      OP_SEND, 0x00, 2, OP_DELIVER, 0, OP_REPORT, 0x10, 1,
      OP_STABLE, 0x00, 0xff,
  };
  script("given-up-then-written-off", popped, sizeof popped);

  /* Why a given-up message must settle: C's clock is 20 ms behind, A's
   * 20 ms ahead (Δ 20 ms). A gives m0 (to C) up while C would still
   * deliver it; had A's LS passed m0 then, B, told that LS, would drop
   * (C, A, 1) and C would deliver B's m2 before m0. */
  const uint8_t order[] = {
      0x01 | (3 << 2), CFG1(1, 0, 3, 0),
      OP_JITTER, 0x02, 0x80,                /* C: -20 ms */
      OP_JITTER, 0x00, 0x7f,                /* A: +19.8 ms */
      OP_SEND, 0x10, 1,                     /* m0 A -> C */
      OP_SEND, 0x00, 1,                     /* m1 A -> B */
      OP_DELIVER, 1,                        /* m1 at B */
      OP_TIME, 22,                          /* A gives m0 up */
      OP_STABILITY, 0x91, 0x00,             /* B learns A's LS */
      OP_SEND, 0x01, 1,                     /* m2 B -> C */
      OP_DELIVER, 1,                        /* m2 at C: must wait */
      OP_DELIVER, 0,                        /* m0 at C */
  };
  script("settle-keeps-order", order, sizeof order);

  /* Stability by levels and by a sender's LS: B holds (C, A, 1) at one
   * hop; levels beside it leave it; C delivers m0 and reports to A; B
   * learns A's LS and drops it. */
  const uint8_t levels[] = {
      0x01 | (3 << 2), CFG1(3, 0, 1, 0),
      OP_SEND, 0x10, 1,                     /* m0 A -> C */
      OP_SEND, 0x00, 1,                     /* m1 A -> B: carries (C, A) */
      OP_DELIVER, 1,
      OP_STABILITY, 0x01, 0x40,             /* B: level 0 only */
      OP_STABILITY, 0x01, 0x42,             /* B: level 2 only */
      OP_SEND, 0x01, 1,                     /* m2 B -> C: still carries it */
      OP_DELIVER, 0,                        /* m0 at C */
      OP_REPORT, 0x10, 0,                   /* C's report reaches A */
      OP_STABILITY, 0x91, 0x00,             /* B learns A's LS */
      OP_STABILITY, 0x02, 0x80,             /* C: levels falling */
      OP_STABILITY, 0x00, 0xc1,             /* A: from level 1 up */
      OP_STABILITY, 0x00, 0x05,             /* A: 5 levels given */
      OP_DELIVER, 0,
  };
  script("levels-and-peer-ls", levels, sizeof levels);

  /* Retirement: C dies; A retires it and gets what waited on it. */
  const uint8_t retire[] = {
      0x01 | (3 << 2), CFG1(0, 0, 0, 0),
      OP_SEND, 0x02, 1,        /* m0 C -> A: lost */
      OP_SEND, 0x12, 1,        /* m1 C -> B */
      OP_DELIVER, 1,
      OP_SEND, 0x11, 1,        /* m2 B -> A: waits for m0 */
      OP_DELIVER, 1,
      OP_RETIRE, 0x10,         /* A retires C */
      OP_DELIVER, 0, OP_DRAIN, 0x00,
  };
  script("retire", retire, sizeof retire);

  /* Caps: entries per message, messages pending, entries held. */
  const uint8_t caps[] = {
      0x01 | (3 << 2), CFG1(1, 1, 0, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x10, 1, OP_SEND, 0x00, 1,
      OP_SEND, 0x10, 1, OP_DELIVER, 0, OP_SEND, 0x01, 1,
  };
  script("cap-msg-deps", caps, sizeof caps);
  uint8_t caps2[sizeof caps];
  memcpy(caps2, caps, sizeof caps);
  caps2[1] = CFG1(1, 2, 0, 0);
  script("cap-pending", caps2, sizeof caps2);
  caps2[1] = CFG1(1, 3, 0, 0);
  script("cap-deps", caps2, sizeof caps2);

  /* The old crash reproducers, rewritten for the current format. A drain
   * that ran out of memory was resumed in a call that refused its input. */
  for (uint8_t k = 5; k < 30; k += 6) {
    const uint8_t drain[] = {
        0x00, CFG1(0, 0, 0, 0),
        OP_SEND, 0x00, 0, OP_SEND, 0x00, 15, OP_TIME, (uint8_t)(2 * k + 1),
        OP_DELIVER, 1, OP_DELIVER, 0, OP_SEND, 0x00, 7, OP_SEND, 0x00, 0,
        OP_SEND, 0x00, 1, OP_CORRUPT, 0x00, 0, 0x01,
    };
    char name[64];
    snprintf(name, sizeof name, "regress-drain-resumed-in-refused-call-%u",
             k);
    script(name, drain, sizeof drain);
  }
  /* A refused message's junk sender name stayed in the table and took the
   * id a real sender needed. */
  const uint8_t junk[] = {
      0x01, CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 0, OP_DELIVER, 0, OP_CORRUPT, 0x80, 2, 0x2d,
      OP_SEND, 0x12, 0, OP_DELIVER, 0,
  };
  script("regress-rejected-junk-id-blocks-sender", junk, sizeof junk);
  /* A self-send, then a send: the receiver refused the second. */
  const uint8_t selfsend[] = {
      0x00, CFG1(0, 0, 0, 0),
      OP_SELF, 0x00, OP_SEND, 0x00, 1, OP_DELIVER, 0,
  };
  script("regress-self-send-then-send-rejected", selfsend, sizeof selfsend);
  /* A message offered with the wrong sender interned its names. */
  const uint8_t wrong[] = {
      0x00, CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 1, OP_WRONG, 0, 1,
  };
  script("regress-wrong-sender-interns-id", wrong, sizeof wrong);
  /* A forged sender name fills a table of two: TOOBIG. */
  const uint8_t forged[] = {
      0x00, CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 0, OP_DELIVER, 0, OP_CORRUPT, 0x00, 2, 0x15,
  };
  script("regress-forged-sender-fills-id-table", forged, sizeof forged);
  /* clang-format on */
}

/* ---- NTP datagrams ------------------------------------------------------ */

static void ntp_header(p2pc_ntp_header *h, uint8_t mode) {
  memset(h, 0, sizeof *h);
  h->version = 4;
  h->mode = mode;
  h->poll = 6;
  h->precision = -24;
  if (mode == P2PC_NTP_MODE_SERVER) {
    h->stratum = 2;
    h->root_delay = p2pc_ntp_short_from_ns(1500000);
    h->root_disp = p2pc_ntp_short_from_ns(250000);
    h->refid = 0x7f000001;
    h->ref = p2pc_ntp_ts_from_ns(1767225600LL * 1000000000);
    h->org = 0x3a91c4075e22d09bull;
    h->rec = p2pc_ntp_ts_from_ns(1767225601LL * 1000000000 + 12345);
    h->xmt = p2pc_ntp_ts_from_ns(1767225601LL * 1000000000 + 33345);
  } else {
    h->li = P2PC_NTP_LI_UNSYNC;
    h->xmt = 0x3a91c4075e22d09bull;
  }
}

static void write_ntp(const char *name, const p2pc_ntp_header *h,
                      const p2pc_ntp_ext *e, size_t extra, size_t cut) {
  uint8_t b[P2PC_NTP_PACKET_MAX + 64];
  size_t n = P2PC_NTP_HEADER_LEN;
  p2pc_ntp_header_put(b, h);
  if (e) {
    CHECK("ext_put", p2pc_ntp_ext_put(b + n, e));
    n += P2PC_NTP_EXT_LEN;
  }
  memset(b + n, 0xc3, extra); /* a legacy MAC */
  n += extra;
  write_file("fuzz_ntp", name, b, n - cut);
}

static void gen_ntp(void) {
  /* Standard clients: the minimal SNTP request (v3) and ntpdate's. */
  uint8_t sntp[48] = {0x1b};
  write_file("fuzz_ntp", "client-sntp-v3", sntp, sizeof sntp);
  const uint8_t ntpdate[48] = {0xe3, 0x00, 0x04, 0xfa, 0x00,        0x01,
                               0x00, 0x00, 0x00, 0x01, [40] = 0xed, 0x00,
                               0x37, 0x80, 0x40, 0x00, 0x00,        0x00};
  write_file("fuzz_ntp", "client-ntpdate", ntpdate, sizeof ntpdate);

  p2pc_ntp_header h;
  p2pc_ntp_ext e;
  ntp_header(&h, P2PC_NTP_MODE_CLIENT);
  write_ntp("client-v4", &h, NULL, 0, 0);
  memset(&e, 0, sizeof e);
  e.kind = P2PC_NTP_EXT_REQUEST;
  e.flags = P2PC_NTP_EXTF_SYNCED;
  snprintf(e.id, sizeof e.id, "nodeA");
  write_ntp("p2pc-request", &h, &e, 0, 0);
  write_ntp("p2pc-request-mac20", &h, &e, 20, 0);

  ntp_header(&h, P2PC_NTP_MODE_SERVER);
  e.kind = P2PC_NTP_EXT_REPLY;
  e.flags = P2PC_NTP_EXTF_SYNCED | P2PC_NTP_EXTF_PREV | P2PC_NTP_EXTF_KERNEL_RX;
  snprintf(e.id, sizeof e.id, "node-B_2.x");
  e.rx_local = 1767225601LL * 1000000000 + 2345;
  e.tx_corr = -10000;
  e.freq_ppb = -12500;
  e.prev_cookie = 0x0123456789abcdefull;
  e.prev_tx_local = 1767225600LL * 1000000000 + 999999999;
  e.root_dist_ns = 812345;
  snprintf(e.ref_id, sizeof e.ref_id, "nodeA");
  e.hops = 1;
  write_ntp("p2pc-reply", &h, &e, 0, 0);
  write_ntp("p2pc-reply-mac24", &h, &e, 24, 0);
  write_ntp("p2pc-reply-truncated", &h, &e, 0, 100);
  e.ref_id[0] = '\0';
  e.hops = 0;
  e.flags = 0;
  write_ntp("p2pc-reply-noref", &h, &e, 0, 0);

  /* An unknown field before ours; a bad magic; NTPv5. */
  uint8_t b[P2PC_NTP_PACKET_MAX + 36];
  p2pc_ntp_header_put(b, &h);
  memset(b + 48, 0, 36);
  b[48 + 1] = 0x04; /* type 0x0104 */
  b[48 + 3] = 36;
  CHECK("ext_put", p2pc_ntp_ext_put(b + 48 + 36, &e));
  write_file("fuzz_ntp", "unknown-field-then-p2pc", b, sizeof b);
  b[48 + 36 + 4] = 'P';
  write_file("fuzz_ntp", "bad-magic", b, sizeof b);
  h.version = 5;
  write_ntp("bad-version", &h, NULL, 0, 0);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  outdir = argv[1];
  gen_handmade_ses();
  gen_core_ses();
  gen_frames();
  gen_scripts();
  gen_ntp();
  for (size_t i = 0; i < nses; i++)
    free(ses_seeds[i].p);
  return 0;
}
