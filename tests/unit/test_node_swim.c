/* SPDX-License-Identifier: MIT */
/*
 * Failure detection (swim.c, swimwire.h): Lifeguard's suspicion timeout
 * (bounds, shrinking with confirmations, stretched by the local health
 * multiplier), the PING_REQ and MEMBER codecs (round trip, rejection of
 * malformed bodies), and on the harness: a PING is answered with its
 * token, a suspicion of the node is refuted with a higher `heard`, and a
 * peer that answers nothing is suspected and told so.
 */
#include "node_harness.h"

#include "nodeint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_suspicion_timeout(void **state) {
  (void)state;
  uint64_t iv = 200 * MS;
  /* at our defaults: 1 s to 3 s */
  assert_int_equal(p2pc__swim_suspicion_ns(iv, 50, 0, 0), 3000 * MS);
  assert_int_equal(p2pc__swim_suspicion_ns(iv, 50, 0, 3), 1000 * MS);
  assert_int_equal(p2pc__swim_suspicion_ns(iv, 50, 0, 40), 1000 * MS);
  /* confirmations shrink it, never below the floor */
  for (uint32_t n = 1; n < 20000; n = n * 3 + 1) {
    uint64_t prev = UINT64_MAX;
    for (uint32_t c = 0; c <= SWIM_K + 1; c++) {
      uint64_t t = p2pc__swim_suspicion_ns(iv, n, 0, c);
      assert_true(t <= prev);
      assert_true(t >= p2pc__swim_suspicion_ns(iv, n, 0, SWIM_K));
      prev = t;
    }
    /* larger networks wait longer (log N), never less */
    assert_true(p2pc__swim_suspicion_ns(iv, n * 3 + 1, 0, 0) >=
                p2pc__swim_suspicion_ns(iv, n, 0, 0));
  }
  /* the local health multiplier stretches it: (1 + LHM) */
  for (uint32_t lhm = 0; lhm <= SWIM_LHM_MAX; lhm++)
    assert_int_equal(p2pc__swim_suspicion_ns(iv, 50, lhm, 1),
                     (1 + lhm) * p2pc__swim_suspicion_ns(iv, 50, 0, 1));
}

static void test_codecs(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, p2pc_allocator_default(), 4096);
  char id[P2PC_NODE_ID_MAX + 1];
  uint64_t tok = 0;
  assert_int_equal(p2pc_wire_pingreq_put(&b, "n7", 0x0102030405060708ull), 0);
  const uint8_t want[] = {2, 'n', '7', 1, 2, 3, 4, 5, 6, 7, 8};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  assert_int_equal(p2pc_wire_pingreq_get(b.data, b.len, id, &tok),
                   (int)sizeof want);
  assert_string_equal(id, "n7");
  assert_int_equal(tok, 0x0102030405060708ull);
  for (size_t k = 0; k < b.len; k++) /* truncated */
    assert_int_equal(p2pc_wire_pingreq_get(b.data, k, id, &tok),
                     P2PC_ERR_PROTO);
  assert_int_equal(p2pc_wire_pingreq_put(&b, "", 1), P2PC_ERR_INVAL);

  p2pc_wire_member m[3] = {{.state = 1, .id = "a", .incarnation = 9},
                           {.state = 2, .id = "bb", .heard = 300},
                           {.state = 3, .id = "c", .incarnation = 1}};
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_wire_member_put(&b, m, 3), 0);
  p2pc_wire_member got[P2PC_WIRE_MEMBER_MAX];
  size_t n = 0;
  assert_int_equal(p2pc_wire_member_get(b.data, b.len, got, 64, &n),
                   (int)b.len);
  assert_int_equal(n, 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(got[i].state, m[i].state);
    assert_string_equal(got[i].id, m[i].id);
    assert_int_equal(got[i].incarnation, m[i].incarnation);
    assert_int_equal(got[i].heard, m[i].heard);
  }
  for (size_t k = 0; k < b.len; k++)
    assert_int_equal(p2pc_wire_member_get(b.data, k, got, 64, &n),
                     P2PC_ERR_PROTO);
  uint8_t bad[64];
  memcpy(bad, b.data, b.len);
  bad[1] = 4; /* no such state */
  assert_int_equal(p2pc_wire_member_get(bad, b.len, got, 64, &n),
                   P2PC_ERR_PROTO);
  bad[1] = 0;
  assert_int_equal(p2pc_wire_member_get(bad, b.len, got, 64, &n),
                   P2PC_ERR_PROTO);
  bad[0] = 0; /* count 0 */
  assert_int_equal(p2pc_wire_member_get(bad, 1, got, 64, &n), P2PC_ERR_PROTO);
  memcpy(bad, b.data, b.len);
  bad[b.len] = 0; /* trailing */
  assert_int_equal(p2pc_wire_member_get(bad, b.len + 1, got, 64, &n),
                   P2PC_ERR_PROTO);
  assert_int_equal(p2pc_wire_member_get(b.data, b.len, got, 2, &n),
                   P2PC_ERR_PROTO); /* more than the caller takes */
  assert_int_equal(p2pc_wire_member_put(&b, m, 0), P2PC_ERR_INVAL);
  m[0].state = 0;
  assert_int_equal(p2pc_wire_member_put(&b, m, 1), P2PC_ERR_INVAL);
  p2pc_buf_fini(&b);
}

static void feed_frame(net *w, int i, p2pc_link_id l, p2pc_frame_type t,
                       const p2pc_wire_member *m, uint64_t token) {
  p2pc_buf b;
  p2pc_buf_init(&b, p2pc_allocator_default(), 4096);
  long at = p2pc_wire_frame_begin(&b, t);
  if (t == P2PC_FRAME_MEMBER)
    assert_int_equal(p2pc_wire_member_put(&b, m, 1), 0);
  else
    assert_int_equal(p2pc_wire_ping_put(&b, t, token), 0);
  assert_int_equal(p2pc_wire_frame_end(&b, at, 4096), 0);
  feed(w, i, l, &b);
  p2pc_buf_fini(&b);
}

/* What node i wrote on l (not consumed): PONG tokens and MEMBER records. */
typedef struct out {
  int pings, pongs, members;
  uint64_t pong_token;
  p2pc_wire_member last[P2PC_WIRE_MEMBER_MAX];
  size_t nlast;
} out;

static void scan(net *w, int i, p2pc_link_id l, out *o) {
  const uint8_t *p;
  size_t len, off = 0;
  memset(o, 0, sizeof *o);
  p2pc_node_link_output(w->nodes[i].n, l, &p, &len);
  while (off < len) {
    p2pc_frame f;
    int used = p2pc_wire_frame_split(p + off, len - off,
                                     P2PC_WIRE_MAX_FRAME_LIMIT, &f);
    assert_true(used > 0);
    if (f.type == P2PC_FRAME_PONG) {
      o->pongs++;
      assert_true(p2pc_wire_ping_get(f.body, f.body_len, &o->pong_token) > 0);
    } else if (f.type == P2PC_FRAME_PING) {
      o->pings++;
    } else if (f.type == P2PC_FRAME_MEMBER) {
      o->members++;
      assert_true(p2pc_wire_member_get(f.body, f.body_len, o->last,
                                       P2PC_WIRE_MEMBER_MAX, &o->nlast) > 0);
    }
    off += (size_t)used;
  }
}

static void test_ping_and_refutation(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_link_id l;
  fake_peer(w, 0, &l);
  feed_frame(w, 0, l, P2PC_FRAME_PING, NULL, 0xabcdef);
  out o;
  scan(w, 0, l, &o);
  assert_int_equal(o.pongs, 1);
  assert_int_equal(o.pong_token, 0xabcdef);
  /* X says node 0 is suspect (its incarnation, heard 0): it refutes */
  p2pc_wire_member m = {.state = P2PC_MEMBER_SUSPECT,
                        .incarnation = w->nodes[0].inc};
  strcpy(m.id, w->nodes[0].id);
  feed_frame(w, 0, l, P2PC_FRAME_MEMBER, &m, 0);
  scan(w, 0, l, &o);
  assert_true(o.members >= 1);
  assert_int_equal(o.last[0].state, P2PC_MEMBER_ALIVE);
  assert_string_equal(o.last[0].id, w->nodes[0].id);
  assert_int_equal(o.last[0].heard, 1);
  /* an older incarnation's suspicion is not about this node */
  m.incarnation = w->nodes[0].inc - 1;
  m.heard = 7;
  feed_frame(w, 0, l, P2PC_FRAME_PING, NULL, 1); /* a PONG, nothing else */
  feed_frame(w, 0, l, P2PC_FRAME_MEMBER, &m, 0);
  scan(w, 0, l, &o);
  assert_int_equal(o.last[0].heard, 1);
  net_free(w);
}

/* X answers nothing: probed, then suspected, and X hears of it. */
static void test_silent_peer_suspected(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_link_id l;
  fake_peer(w, 0, &l);
  run(w, 1000);
  out o;
  scan(w, 0, l, &o);
  assert_true(o.pings >= 1);
  bool told = false;
  for (size_t k = 0; k < o.nlast; k++)
    told |= o.last[k].state == P2PC_MEMBER_SUSPECT &&
            strcmp(o.last[k].id, "X") == 0 && o.last[k].incarnation == 5;
  assert_true(told);
  net_free(w);
}

/* A MEMBER frame with record r from the fake peer on l. */
static void tell(net *w, int i, p2pc_link_id l, uint8_t state, const char *id,
                 uint64_t inc, uint64_t heard) {
  p2pc_wire_member m = {.state = state, .incarnation = inc, .heard = heard};
  strcpy(m.id, id);
  feed_frame(w, i, l, P2PC_FRAME_MEMBER, &m, 0);
}

/* Whether node i wrote on l a record (state, id, heard). */
static bool wrote(net *w, int i, p2pc_link_id l, uint8_t state, const char *id,
                  uint64_t heard) {
  const uint8_t *p;
  size_t len, off = 0;
  p2pc_node_link_output(w->nodes[i].n, l, &p, &len);
  while (off < len) {
    p2pc_frame f;
    int used = p2pc_wire_frame_split(p + off, len - off,
                                     P2PC_WIRE_MAX_FRAME_LIMIT, &f);
    assert_true(used > 0);
    p2pc_wire_member m[P2PC_WIRE_MEMBER_MAX];
    size_t k = 0;
    if (f.type == P2PC_FRAME_MEMBER)
      assert_true(p2pc_wire_member_get(f.body, f.body_len, m,
                                       P2PC_WIRE_MEMBER_MAX, &k) > 0);
    for (size_t j = 0; j < k; j++)
      if (m[j].state == state && strcmp(m[j].id, id) == 0 &&
          m[j].heard == heard)
        return true;
    off += (size_t)used;
  }
  return false;
}

/* Forgets what node i wrote on l so far. */
static void drain(net *w, int i, p2pc_link_id l) {
  const uint8_t *p;
  size_t len;
  p2pc_node_link_output(w->nodes[i].n, l, &p, &len);
  p2pc_node_link_consume(w->nodes[i].n, l, len);
}

static peer *peer_of(net *w, int i, const char *id) {
  uint32_t pi = p2pc__node_peer_find(w->nodes[i].n, id);
  assert_int_not_equal(pi, NO_PEER);
  return &w->nodes[i].n->peers[pi];
}

/* The node that spreads a claim about this node hears the refutation
 * directly (not only the random peers the refutation goes to), and a
 * claim refuted already is answered with the current ALIVE. */
static void test_refutation_answers_the_claimant(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  const char *ids[] = {"A", "B", "C", "D", "E", "F", "G", "H"};
  p2pc_link_id l[8];
  for (int k = 0; k < 8; k++)
    fake_peer_as(w, 0, ids[k], 5, &l[k]);
  const char *me = w->nodes[0].id;
  uint64_t inc = w->nodes[0].inc;
  for (int k = 0; k < 8; k++) /* start clean: nothing written yet */
    drain(w, 0, l[k]);
  tell(w, 0, l[7], P2PC_MEMBER_DOWN, me, inc, 0);
  assert_int_equal(w->nodes[0].n->sw.heard, 1);
  assert_true(wrote(w, 0, l[7], P2PC_MEMBER_ALIVE, me, 1));
  /* G still spreads the old suspicion: it hears heard=1, nothing rises */
  drain(w, 0, l[6]);
  tell(w, 0, l[6], P2PC_MEMBER_SUSPECT, me, inc, 0);
  assert_int_equal(w->nodes[0].n->sw.heard, 1);
  assert_true(wrote(w, 0, l[6], P2PC_MEMBER_ALIVE, me, 1));
  net_free(w);
}

/* A member held DOWN whose link comes back is alive here; the DOWN that
 * still circulates at the same `heard` does not take it down again, and
 * its refutation (a higher `heard`) is taken. */
static void test_relinked_member_ignores_stale_down(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_link_id lx, ly, lz;
  fake_peer_as(w, 0, "X", 5, &lx);
  fake_peer_as(w, 0, "Y", 6, &ly);
  fake_peer_as(w, 0, "Z", 7, &lz);
  tell(w, 0, ly, P2PC_MEMBER_DOWN, "X", 5, 0);
  peer *x = peer_of(w, 0, "X");
  assert_int_equal(x->m.state, P2PC_MEMBER_DOWN);
  assert_int_equal(x->link, NO_LINK);
  fake_peer_as(w, 0, "X", 5, &lx); /* X is back, same incarnation */
  x = peer_of(w, 0, "X");
  assert_int_equal(x->m.state, P2PC_MEMBER_ALIVE);
  assert_true(wrote(w, 0, lx, P2PC_MEMBER_DOWN, "X", 0)); /* X hears it */
  int downs = w->nodes[0].peer_down;
  tell(w, 0, lz, P2PC_MEMBER_DOWN, "X", 5, 0);    /* stale news */
  tell(w, 0, lz, P2PC_MEMBER_SUSPECT, "X", 5, 0); /* as stale */
  x = peer_of(w, 0, "X");
  assert_int_equal(x->m.state, P2PC_MEMBER_ALIVE);
  assert_int_not_equal(x->link, NO_LINK);
  assert_int_equal(w->nodes[0].peer_down, downs);
  tell(w, 0, lx, P2PC_MEMBER_ALIVE, "X", 5, 1); /* X refutes */
  assert_int_equal(x->m.heard, 1);
  /* a new suspicion after the refutation counts again */
  tell(w, 0, lz, P2PC_MEMBER_SUSPECT, "X", 5, 1);
  assert_int_equal(x->m.state, P2PC_MEMBER_SUSPECT);
  net_free(w);
}

/* A claim older than what the node holds (a lower `heard`) is dropped and
 * answered with what it holds, so the refutation reaches the node that
 * still spreads the stale DOWN. */
static void test_stale_claim_answered(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_link_id lx, ly, lz;
  fake_peer_as(w, 0, "X", 5, &lx);
  fake_peer_as(w, 0, "Y", 6, &ly);
  fake_peer_as(w, 0, "Z", 7, &lz);
  tell(w, 0, ly, P2PC_MEMBER_ALIVE, "X", 5, 2);
  peer *x = peer_of(w, 0, "X");
  assert_int_equal(x->m.heard, 2);
  drain(w, 0, lz);
  int downs = w->nodes[0].peer_down;
  tell(w, 0, lz, P2PC_MEMBER_DOWN, "X", 5, 1);
  assert_int_equal(x->m.state, P2PC_MEMBER_ALIVE);
  assert_int_equal(w->nodes[0].peer_down, downs);
  assert_true(wrote(w, 0, lz, P2PC_MEMBER_ALIVE, "X", 2));
  net_free(w);
}

/* A record about a node not in the peer table is relayed once (the
 * neighbours of a node in partial views hear each other's suspicion this
 * way), not echoed again, and relayed again when it is news (DOWN over
 * SUSPECT at the same `heard`). */
static void test_untracked_records_relayed_once(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_link_id ly, lz;
  fake_peer_as(w, 0, "Y", 6, &ly);
  fake_peer_as(w, 0, "Z", 7, &lz);
  assert_int_equal(p2pc__node_peer_find(w->nodes[0].n, "Q"), NO_PEER);
  drain(w, 0, lz);
  tell(w, 0, ly, P2PC_MEMBER_SUSPECT, "Q", 9, 0);
  assert_true(wrote(w, 0, lz, P2PC_MEMBER_SUSPECT, "Q", 0));
  drain(w, 0, lz);
  w->nodes[0].n->sw.nq = 0;                       /* its sends done */
  tell(w, 0, ly, P2PC_MEMBER_SUSPECT, "Q", 9, 0); /* an echo */
  assert_false(wrote(w, 0, lz, P2PC_MEMBER_SUSPECT, "Q", 0));
  assert_int_equal(w->nodes[0].n->sw.nq, 0);
  tell(w, 0, ly, P2PC_MEMBER_ALIVE, "Q", 8, 3); /* an older incarnation */
  assert_int_equal(w->nodes[0].n->sw.nq, 0);
  tell(w, 0, ly, P2PC_MEMBER_DOWN, "Q", 9, 0);
  assert_true(wrote(w, 0, lz, P2PC_MEMBER_DOWN, "Q", 0));
  assert_int_equal(p2pc__node_peer_find(w->nodes[0].n, "Q"), NO_PEER);
  net_free(w);
}

/* A neighbour suspected by another node is probed at once, out of turn
 * (our next probe not due for 150 ms). */
static void test_suspected_neighbour_probed_at_once(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_link_id lx, ly;
  fake_peer_as(w, 0, "X", 5, &lx);
  fake_peer_as(w, 0, "Y", 6, &ly);
  p2pc_node *n = w->nodes[0].n;
  n->sw.probing = false;
  n->sw.next_probe_ns = n->now.mono_ns + 150 * MS;
  drain(w, 0, lx);
  tell(w, 0, ly, P2PC_MEMBER_SUSPECT, "X", 5, 0);
  assert_int_equal(peer_of(w, 0, "X")->m.state, P2PC_MEMBER_SUSPECT);
  run(w, 1);
  out o;
  scan(w, 0, lx, &o);
  assert_int_equal(o.pings, 1);
  assert_string_equal(n->sw.target, "X");
  net_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_suspicion_timeout),
      cmocka_unit_test(test_codecs),
      cmocka_unit_test(test_ping_and_refutation),
      cmocka_unit_test(test_silent_peer_suspected),
      cmocka_unit_test(test_refutation_answers_the_claimant),
      cmocka_unit_test(test_relinked_member_ignores_stale_down),
      cmocka_unit_test(test_stale_claim_answered),
      cmocka_unit_test(test_untracked_records_relayed_once),
      cmocka_unit_test(test_suspected_neighbour_probed_at_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
