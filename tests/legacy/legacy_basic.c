/* SPDX-License-Identifier: MIT */
/*
 * legacy_basic: the oracle (legacy_ses.h, today's SES frozen under lses_)
 * on its own, on hand-written scenarios: the classic hold-back case, exact
 * bytes of three messages (the expected hex was computed from the original
 * src/core of commit 9a2694a, and derived by hand below), duplicates,
 * retirement (of a sender whose message is lost, and of one whose message
 * waits) and horizons. Unlike legacy_equiv, this test does not need the
 * original core: it stays when the core is replaced, and says that the
 * oracle still behaves as it did.
 */
#include "legacy_ses.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                              \
    }                                                                          \
  } while (0)

#define CHECK_RC(expr, want)                                                   \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_ != (want)) {                                                       \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__,        \
              __LINE__, #expr, p2pc_strerror(rc_), p2pc_strerror(want));       \
      failures++;                                                              \
    }                                                                          \
  } while (0)

/* ---- three nodes and their event logs ------------------------------------ */

#define NODES 3
#define MAX_EVENTS 32

typedef struct rec {
  lses_causal_ev_kind kind;
  char sender[16];
  uint64_t n;
  char waits_node[16]; /* BUFFER: the pair it waits for */
  uint32_t nw, wid[8];
  uint64_t wv[8];
  uint64_t waited;  /* DELIVER */
  size_t meta;      /* SEND */
  char payload[16]; /* DELIVER, as text */
  char reason[32];  /* DROP */
} rec;

typedef struct node {
  const char *name;
  lses_causal *c;
  rec ev[MAX_EVENTS];
  int nev;
} node;

static node nodes[NODES];

static void on_event(void *ud, const lses_causal_event *ev) {
  node *nd = ud;
  if (nd->nev == MAX_EVENTS)
    abort();
  rec *x = &nd->ev[nd->nev++];
  memset(x, 0, sizeof *x);
  x->kind = ev->kind;
  snprintf(x->sender, sizeof x->sender, "%s", ev->sender);
  x->n = ev->n;
  if (ev->kind == LSES_CEV_BUFFER) {
    snprintf(x->waits_node, sizeof x->waits_node, "%s", ev->waits_node);
    for (uint32_t i = 0; i < ev->waits_vc->n && i < 8; i++) {
      x->wid[i] = ev->waits_vc->e[i].id;
      x->wv[i] = ev->waits_vc->e[i].v;
    }
    x->nw = ev->waits_vc->n;
  }
  x->waited = ev->waited_ns;
  x->meta = ev->meta;
  if (ev->kind == LSES_CEV_DELIVER && ev->payload)
    snprintf(x->payload, sizeof x->payload, "%.*s", (int)ev->bytes,
             (const char *)ev->payload);
  if (ev->reason)
    snprintf(x->reason, sizeof x->reason, "%s", ev->reason);
}

static void setup(const lses_causal_config *cfg) {
  static const char *const nm[NODES] = {"a", "b", "c"};
  for (int i = 0; i < NODES; i++) {
    memset(&nodes[i], 0, sizeof nodes[i]);
    nodes[i].name = nm[i];
    CHECK_RC(
        lses_causal_new(&nodes[i].c, nm[i], cfg, NULL, on_event, &nodes[i]), 0);
  }
}

static void teardown(void) {
  for (int i = 0; i < NODES; i++)
    lses_causal_free(nodes[i].c);
}

static void clear_events(void) {
  for (int i = 0; i < NODES; i++)
    nodes[i].nev = 0;
}

/* A message as sent: its bytes. */
typedef struct wire {
  uint8_t b[256];
  size_t len;
} wire;

static wire send(int from, int to, const char *text, uint64_t mono) {
  wire w = {0};
  p2pc_buf out;
  p2pc_buf_init(&out, p2pc_allocator_default(), sizeof w.b);
  CHECK_RC(lses_causal_send(nodes[from].c, nodes[to].name,
                            (const uint8_t *)text, strlen(text), mono, &out),
           0);
  CHECK(out.len > 0 && out.len <= sizeof w.b);
  if (out.len <= sizeof w.b) {
    memcpy(w.b, out.data, out.len);
    w.len = out.len;
  }
  p2pc_buf_fini(&out);
  return w;
}

static int recv_at(int at, int from, const wire *w, uint64_t mono) {
  return lses_causal_receive(nodes[at].c, nodes[from].name, w->b, w->len, mono);
}

static bool is_ev(const node *nd, int i, lses_causal_ev_kind kind,
                  const char *sender, uint64_t n) {
  return i < nd->nev && nd->ev[i].kind == kind &&
         strcmp(nd->ev[i].sender, sender) == 0 && nd->ev[i].n == n;
}

static void hex(const wire *w, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < w->len && o + 3 <= cap; i++)
    o += (size_t)snprintf(out + o, cap - o, "%02x", w->b[i]);
  out[o] = '\0';
}

static void check_hex(const wire *w, const char *want, const char *what) {
  char got[520];
  hex(w, got, sizeof got);
  if (strcmp(got, want) != 0) {
    fprintf(stderr, "%s: bytes\n  got  %s\n  want %s\n", what, got, want);
    failures++;
  }
}

/* The pair event i waits for, as "node{name=v,...}" in the node's names. */
static bool waits_str(const node *nd, int i, char *out, size_t cap) {
  if (i >= nd->nev || nd->ev[i].kind != LSES_CEV_BUFFER || nd->ev[i].nw > 8)
    return false;
  const rec *x = &nd->ev[i];
  size_t o = (size_t)snprintf(out, cap, "%s{", x->waits_node);
  for (uint32_t k = 0; k < x->nw && o < cap; k++) {
    const char *nm = lses_causal_id_name(nd->c, x->wid[k]);
    o += (size_t)snprintf(out + o, cap - o, "%s%s=%" PRIu64, k ? "," : "",
                          nm ? nm : "?", x->wv[k]);
  }
  return o < cap && (size_t)snprintf(out + o, cap - o, "}") < cap - o;
}

enum { A, B, C };

/* ---- the classic hold-back case, and the bytes --------------------------- */

/*
 * A sends m1 to C, then m2 to B; B delivers m2, then sends m3 to C. At C,
 * m3 arrives first: it must wait for m1 (its pair (C, {A:1}) says so).
 * Then m1 arrives: m1, then m3, are delivered. C then sends m4 to A and m5
 * to B; m5 carries the pair (A, tm4), written as a difference from tm5.
 *
 * The encoding (varints; the dictionary lists sender, dest, then the other
 * names in the sender's local id order; vectors are (count, then (index
 * delta, value)) over dictionary indices; a pair is (dest index << 1 |
 * delta form) and its vector):
 *   m1 a->c "m1":  n=1 dseq=1 | dict 2: "a" "c" | tM {a:1} | 0 pairs |
 *                  01 01 | 02 0161 0163 | 01 0001 | 00 | 02 6d31
 *   m2 a->b "m2":  n=2 dseq=1 | dict 3: "a" "b" "c" | tM {a:2} |
 *                  1 pair (c, {a:1}) absolute: (2 << 1 | 0) = 04, 01 0001 |
 *                  02 01 | 03 0161 0162 0163 | 01 0002 | 01 04 010001 |
 *                  02 6d32
 *   m5 c->b "m5":  C's ids: c=0, then b=1, a=2 (m3 came first, with dict
 *                  "b" "c" "a"); C's clock after m1, m3: {a:2, b:2, c:2};
 *                  tm4 = {a:2, b:2, c:3}, tm5 = {a:2, b:2, c:4}. n=2 dseq=1
 *                  | dict 3: "c" "b" "a" | tM: c(0):4 b(1):2 a(2):2 =
 *                  03 0004 0102 0102 | 1 pair (a, tm4), as differences
 *                  from tM: {c:1}, 4 bytes against 10 absolute:
 *                  (2 << 1 | 1) = 05, 01 0001 | 02 6d35
 */
static const char M1_HEX[] = "0101"
                             "0201610163"
                             "010001"
                             "00"
                             "026d31";
static const char M2_HEX[] = "0201"
                             "03016101620163"
                             "010002"
                             "0104010001"
                             "026d32";
static const char M5_HEX[] = "0201"
                             "03016301620161"
                             "03000401020102"
                             "0105010001"
                             "026d35";

static void test_holdback_and_bytes(void) {
  char buf[64];
  setup(NULL);
  wire m1 = send(A, C, "m1", 100);
  wire m2 = send(A, B, "m2", 200);
  check_hex(&m1, M1_HEX, "m1 a->c");
  check_hex(&m2, M2_HEX, "m2 a->b");
  /* SEND's meta is everything but the payload and its length. */
  CHECK(nodes[A].nev == 2 && nodes[A].ev[0].kind == LSES_CEV_SEND &&
        nodes[A].ev[0].meta == m1.len - 3 && nodes[A].ev[1].meta == m2.len - 3);

  CHECK_RC(recv_at(B, A, &m2, 300), 0);
  CHECK(nodes[B].nev == 2 && is_ev(&nodes[B], 0, LSES_CEV_RECV, "a", 2) &&
        is_ev(&nodes[B], 1, LSES_CEV_DELIVER, "a", 2));
  wire m3 = send(B, C, "m3", 400);

  CHECK_RC(recv_at(C, B, &m3, 1000), 0);
  CHECK(nodes[C].nev == 2 && is_ev(&nodes[C], 0, LSES_CEV_RECV, "b", 1) &&
        is_ev(&nodes[C], 1, LSES_CEV_BUFFER, "b", 1));
  CHECK(waits_str(&nodes[C], 1, buf, sizeof buf) && strcmp(buf, "c{a=1}") == 0);
  CHECK(lses_causal_buffered(nodes[C].c) == 1);

  CHECK_RC(recv_at(C, A, &m1, 1700), 0);
  CHECK(nodes[C].nev == 5 && is_ev(&nodes[C], 2, LSES_CEV_RECV, "a", 1) &&
        is_ev(&nodes[C], 3, LSES_CEV_DELIVER, "a", 1) &&
        is_ev(&nodes[C], 4, LSES_CEV_DELIVER, "b", 1));
  if (nodes[C].nev == 5) {
    CHECK(strcmp(nodes[C].ev[3].payload, "m1") == 0 &&
          nodes[C].ev[3].waited == 0);
    CHECK(strcmp(nodes[C].ev[4].payload, "m3") == 0 &&
          nodes[C].ev[4].waited == 700);
  }
  CHECK(lses_causal_buffered(nodes[C].c) == 0);
  const lses_vclock *t = lses_causal_clock(nodes[C].c);
  CHECK(t->n == 3 && lses_vclock_get(t, 0) == 2 && lses_vclock_get(t, 1) == 2 &&
        lses_vclock_get(t, 2) == 2);

  send(C, A, "m4", 1800);
  wire m5 = send(C, B, "m5", 1900);
  check_hex(&m5, M5_HEX, "m5 c->b (a delta pair)");

  /* The bytes decode into what was sent, and only those bytes do. */
  p2pc_idtab ids;
  p2pc_idtab_init(&ids, p2pc_allocator_default(), 8);
  lses_ses_msg m;
  lses_ses_msg_init(&m);
  CHECK_RC(lses_wire_ses_get(m5.b, m5.len, &ids, p2pc_allocator_default(), &m),
           (int)m5.len);
  CHECK_RC(lses_wire_ses_commit(&ids, &m), 0);
  CHECK(m.n == 2 && m.dseq == 1 && m.ndeps == 1 && m.payload_len == 2 &&
        memcmp(m.payload, "m5", 2) == 0 && m.ts.n == 3);
  /* Decoded against an empty table: c=0, b=1, a=2, as at C. */
  if (m.ndeps == 1) {
    const lses_vclock *p = &m.deps[0].t;
    CHECK(m.deps[0].dest == 2 && p->n == 3 && lses_vclock_get(p, 0) == 3 &&
          lses_vclock_get(p, 1) == 2 && lses_vclock_get(p, 2) == 2);
  }
  lses_ses_msg_fini(&m, p2pc_allocator_default());
  wire longer = m5;
  longer.b[longer.len++] = 0; /* a trailing byte */
  CHECK_RC(lses_wire_ses_get(longer.b, longer.len, &ids,
                             p2pc_allocator_default(), &m),
           P2PC_ERR_PROTO);
  wire padded = {{0x82, 0x00}, 2}; /* n = 2 as a two-byte varint */
  memcpy(padded.b + 2, m5.b + 1, m5.len - 1);
  padded.len = m5.len + 1;
  CHECK_RC(lses_wire_ses_get(padded.b, padded.len, &ids,
                             p2pc_allocator_default(), &m),
           P2PC_ERR_PROTO);
  lses_ses_msg_fini(&m, p2pc_allocator_default());
  p2pc_idtab_fini(&ids);

  lses_causal_stats st;
  lses_causal_get_stats(nodes[C].c, &st);
  CHECK(st.received == 2 && st.delivered == 2 && st.buffered == 1 &&
        st.sent == 2 && st.duplicates == 0);
  teardown();
}

/* ---- duplicates ---------------------------------------------------------- */

static void test_duplicates(void) {
  setup(NULL);
  wire m1 = send(A, C, "m1", 0);
  wire m2 = send(A, B, "m2", 0);
  CHECK_RC(recv_at(B, A, &m2, 0), 0);
  wire m3 = send(B, C, "m3", 0);
  clear_events();
  /* m3 twice while it waits: the second copy is a duplicate. */
  CHECK_RC(recv_at(C, B, &m3, 0), 0);
  CHECK_RC(recv_at(C, B, &m3, 0), 0);
  CHECK(nodes[C].nev == 3 && is_ev(&nodes[C], 2, LSES_CEV_DUP, "b", 1));
  CHECK(lses_causal_buffered(nodes[C].c) == 1);
  /* m1, then m1 and m3 again once delivered: duplicates, dropped. */
  CHECK_RC(recv_at(C, A, &m1, 0), 0);
  clear_events();
  CHECK_RC(recv_at(C, A, &m1, 0), 0);
  CHECK_RC(recv_at(C, B, &m3, 0), 0);
  CHECK(nodes[C].nev == 2 && is_ev(&nodes[C], 0, LSES_CEV_DUP, "a", 1) &&
        is_ev(&nodes[C], 1, LSES_CEV_DUP, "b", 1));
  lses_causal_stats st;
  lses_causal_get_stats(nodes[C].c, &st);
  CHECK(st.duplicates == 3 && st.delivered == 2 && st.received == 2);
  /* Offered with the wrong sender: refused, not a duplicate. */
  CHECK_RC(recv_at(C, B, &m1, 0), P2PC_ERR_PROTO);
  teardown();

  /* With the fault switch on, a duplicate is delivered again: the switch
   * works, and the check above can fail. */
  lses_causal_config cfg = {.faults = LSES_CAUSAL_FAULT_NO_DEDUP};
  setup(&cfg);
  wire x = send(A, B, "x", 0);
  CHECK_RC(recv_at(B, A, &x, 0), 0);
  CHECK_RC(recv_at(B, A, &x, 0), 0);
  CHECK(nodes[B].nev == 4 && is_ev(&nodes[B], 3, LSES_CEV_DELIVER, "a", 1));
  teardown();
}

/* ---- retirement ---------------------------------------------------------- */

static void test_retired(void) {
  /* A's m1 to C is lost; m3 waits for it. Retiring A gives up on m1: m3 is
   * delivered, and m1, if it turns up after all, is dropped. */
  setup(NULL);
  wire m1 = send(A, C, "m1", 0);
  wire m2 = send(A, B, "m2", 0);
  CHECK_RC(recv_at(B, A, &m2, 0), 0);
  wire m3 = send(B, C, "m3", 0);
  CHECK_RC(recv_at(C, B, &m3, 10), 0);
  CHECK(lses_causal_buffered(nodes[C].c) == 1);
  clear_events();
  CHECK_RC(lses_causal_retire(nodes[C].c, "a", 50), 0);
  CHECK(nodes[C].nev == 1 && is_ev(&nodes[C], 0, LSES_CEV_DELIVER, "b", 1));
  CHECK(nodes[C].nev == 1 && nodes[C].ev[0].waited == 40);
  CHECK(lses_causal_is_retired(nodes[C].c, "a") &&
        !lses_causal_is_retired(nodes[C].c, "b"));
  clear_events();
  CHECK_RC(recv_at(C, A, &m1, 60), 0);
  CHECK(nodes[C].nev == 1 && is_ev(&nodes[C], 0, LSES_CEV_DROP, "a", 1) &&
        strcmp(nodes[C].ev[0].reason, "sender retired") == 0);
  p2pc_buf out;
  p2pc_buf_init(&out, p2pc_allocator_default(), 256);
  CHECK_RC(lses_causal_send(nodes[C].c, "a", (const uint8_t *)"z", 1, 0, &out),
           P2PC_ERR_INVAL);
  CHECK(out.len == 0);
  p2pc_buf_fini(&out);
  CHECK_RC(lses_causal_retire(nodes[C].c, "c", 0), P2PC_ERR_INVAL);
  lses_causal_stats st;
  lses_causal_get_stats(nodes[C].c, &st);
  CHECK(st.dropped_retired == 1 && st.delivered == 1);
  teardown();

  /* A message of the retired sender that waits in the buffer is dropped
   * at the retirement. */
  setup(NULL);
  send(A, C, "p1", 0); /* lost */
  wire p2 = send(A, C, "p2", 0);
  CHECK_RC(recv_at(C, A, &p2, 0), 0);
  CHECK(lses_causal_buffered(nodes[C].c) == 1);
  clear_events();
  CHECK_RC(lses_causal_retire(nodes[C].c, "a", 0), 0);
  CHECK(nodes[C].nev == 1 && is_ev(&nodes[C], 0, LSES_CEV_DROP, "a", 2));
  CHECK(lses_causal_buffered(nodes[C].c) == 0);
  teardown();
}

/* ---- horizons ------------------------------------------------------------ */

static void test_horizon(void) {
  setup(NULL);
  wire m1 = send(A, C, "m1", 0);
  send(A, B, "m2", 0);
  send(A, C, "m3", 0);
  uint64_t dseq = 99, stamp = 99;
  CHECK_RC(lses_causal_horizon(nodes[A].c, "c", &dseq, &stamp), 0);
  CHECK(dseq == 2 && stamp == 3);
  CHECK_RC(lses_causal_horizon(nodes[A].c, "b", &dseq, &stamp), 0);
  CHECK(dseq == 1 && stamp == 3);
  CHECK_RC(lses_causal_horizon(nodes[A].c, "nobody", &dseq, &stamp), 0);
  CHECK(dseq == 0 && stamp == 3);
  CHECK_RC(lses_causal_horizon(nodes[A].c, "a", &dseq, &stamp), P2PC_ERR_INVAL);
  CHECK_RC(recv_at(C, A, &m1, 0), 0);
  CHECK_RC(lses_causal_take_horizon(nodes[C].c, "a", 2, 1, 0), P2PC_ERR_PROTO);
  CHECK_RC(lses_causal_take_horizon(nodes[C].c, "c", 2, 3, 0), P2PC_ERR_INVAL);
  CHECK_RC(lses_causal_take_horizon(nodes[C].c, "a", 2, 3, 0), 0);
  lses_causal_stats st;
  lses_causal_get_stats(nodes[C].c, &st);
  CHECK(st.horizons == 1);
  teardown();
}

int main(void) {
  test_holdback_and_bytes();
  test_duplicates();
  test_retired();
  test_horizon();
  if (failures) {
    fprintf(stderr, "legacy_basic: %d checks failed\n", failures);
    return 1;
  }
  printf("legacy_basic: all checks passed\n");
  return 0;
}
