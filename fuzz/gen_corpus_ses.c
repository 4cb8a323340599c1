/* SPDX-License-Identifier: MIT */
/*
 * gen_corpus: the fuzz_ses seeds. Δ-SES messages made by hand with the
 * codec (dependency entries in both forms, LS values, stamps about to
 * expire or too far ahead for the fuzzer's timed core, truncations and
 * other malformed inputs the encoder cannot make), and messages produced
 * by real causal cores. Each is also kept in ses_seeds for the DATA
 * frames of gen_corpus_frame.c.
 */
#include "gen_corpus.h"

#include "buf.h"
#include "causal.h"
#include "idtab.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
seed ses_seeds[32];
size_t nses;

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

void gen_handmade_ses(void) {
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

  /* A broadcast: destination "*", with an entry about "*" and one about
   * B (both must be met at B). */
  p2pc_buf_reset(&b);
  {
    dep_spec db[2] = {{"*", "C", 3, 900, 1}, {"B", "A", 2, 950, 0}};
    put_ses(&b, "A", "*", 4, 0, 1000, db, 2, "to all");
  }
  add_ses_seed("ses-broadcast", &b);

  /* Truncated: the last byte of the payload is missing. */
  p2pc_buf_reset(&b);
  put_ses(&b, "A", "B", 5, 2, 1000, d2, 4, "entries");
  b.len--;
  add_ses_seed("ses-truncated", &b);
  p2pc_buf_fini(&b);
}

/* Messages from real cores: A and C talk to B (ALGORITHMS.md A.8). */
void gen_core_ses(void) {
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
