/* SPDX-License-Identifier: MIT */
/*
 * Views (views.c, PROTOCOL.md "Views and shuffles") on the harness's
 * in-process network (node_harness.h): the passive view's invariants
 * under shuffles (bounded, never this node, never a peer of the table, no
 * duplicates), PEERS as a bounded sample, a promoted entry that does not
 * answer dropped, one refused as full kept, and replacement when full.
 */
#include "node_harness.h"
#include "nodeint.h"

#include <stdio.h>
#include <string.h>

/* Node i's passive view: at most max, not itself, nothing of its peer
 * table, no ID twice. Returns its size. */
static uint32_t check_views(const net *w, int i, uint32_t max) {
  const p2pc_node *n = w->nodes[i].n;
  uint32_t np = p2pc_node_passive_count(n);
  assert_true(np <= max);
  for (uint32_t k = 0; k < np; k++) {
    p2pc_wire_record r;
    assert_true(p2pc_node_passive_info(n, k, &r));
    assert_string_not_equal(r.id, w->nodes[i].id);
    assert_true(r.addr.family != 0);
    for (uint32_t j = 0; j < p2pc_node_peer_count(n); j++) {
      p2pc_peer_info pi;
      assert_true(p2pc_node_peer_info(n, j, &pi));
      assert_string_not_equal(r.id, pi.id);
    }
    for (uint32_t j = k + 1; j < np; j++) {
      p2pc_wire_record s;
      assert_true(p2pc_node_passive_info(n, j, &s));
      assert_string_not_equal(r.id, s.id);
    }
  }
  assert_false(p2pc_node_passive_info(n, np, &(p2pc_wire_record){0}));
  return np;
}

/* Whether the up links of the alive nodes form one component. */
static bool connected(const net *w, int nn) {
  bool got[MAXN] = {false};
  int q[MAXN], head = 0, tail = 0;
  got[0] = true;
  q[tail++] = 0;
  while (head < tail) {
    int i = q[head++];
    for (int j = 0; j < nn; j++)
      if (!got[j] && linked(w, i, w->nodes[j].id)) {
        got[j] = true;
        q[tail++] = j;
      }
  }
  return tail == nn;
}

/* Twelve nodes of at most 3 links joining through N0, passive views of 4,
 * shuffles every 200 ms: checked every 100 ms for 20 s, the invariants
 * hold; the views fill; the links stay within the table's bound and form
 * one overlay. */
static void test_passive_view_invariants(void **state) {
  (void)state;
  net *w = net_new();
  p2pc_node_config base = {
      .max_peers = 3, .passive_max = 4, .shuffle_interval_ns = 200 * MS};
  start_node(w, 0, &(opts){.base = base});
  for (int i = 1; i < MAXN; i++) {
    start_node(w, i, &(opts){.seeds = "0", .base = base});
    run(w, 50);
  }
  uint32_t changes = 0;
  char first[P2PC_NODE_ID_MAX + 1] = "";
  for (int step = 0; step < 200; step++) {
    run(w, 100);
    for (int i = 0; i < MAXN; i++) {
      check_views(w, i, 4);
      assert_true(p2pc_node_peer_count(w->nodes[i].n) <= 3 + 4);
    }
    /* shuffles keep the view moving */
    p2pc_wire_record r = {0};
    if (p2pc_node_passive_info(w->nodes[5].n, 0, &r) && strcmp(r.id, first)) {
      changes++;
      strcpy(first, r.id);
    }
  }
  for (int i = 0; i < MAXN; i++) {
    /* 11 others, at most 3 + 4 (slack) linked: at least 4 left to know */
    assert_int_equal(check_views(w, i, 4), 4);
    assert_true(p2pc_node_up_count(w->nodes[i].n) >= 1);
  }
  assert_true(connected(w, MAXN));
  assert_true(changes >= 3);
  net_free(w);
}

/* count records "<prefix><first + k>" as a PEERS frame on node i's link l,
 * at 10.0.<net>.<host + k>:9000 — or all at 10.0.<net>.<host> (one_addr);
 * nobody listens there. */
static void feed_records(net *w, int i, p2pc_link_id l, const char *prefix,
                         int first, int count, int netn, int host,
                         bool one_addr) {
  p2pc_wire_peer recs[32];
  memset(recs, 0, sizeof recs);
  for (int k = 0; k < count; k++) {
    snprintf(recs[k].id, sizeof recs[k].id, "%s%d", prefix, first + k);
    recs[k].incarnation = 1;
    recs[k].addr.family = 4;
    recs[k].addr.addr[0] = 10;
    recs[k].addr.addr[2] = (uint8_t)netn;
    recs[k].addr.addr[3] = (uint8_t)(one_addr ? host : host + k);
    recs[k].addr.port = 9000;
  }
  p2pc_buf b;
  p2pc_buf_init(&b, p2pc_allocator_default(), 8192);
  long at = p2pc_wire_frame_begin(&b, P2PC_FRAME_PEERS);
  assert_int_equal(p2pc_wire_peers_put(&b, recs, (size_t)count), 0);
  assert_int_equal(p2pc_wire_frame_end(&b, at, 8192), 0);
  feed(w, i, l, &b);
  p2pc_buf_fini(&b);
}

/* Records of nodes "<prefix><first>".., each at its own address. */
static void feed_peers(net *w, int i, p2pc_link_id l, int first, int count,
                       const char *prefix) {
  feed_records(w, i, l, prefix, first, count, 0, first, false);
}

/* The PEERS frames node i wrote on l (consumed): the largest count. */
static size_t peers_written(net *w, int i, p2pc_link_id l, int *frames) {
  const uint8_t *p;
  size_t len, most = 0;
  p2pc_node_link_output(w->nodes[i].n, l, &p, &len);
  size_t off = 0;
  *frames = 0;
  while (off < len) {
    p2pc_frame f;
    int used = p2pc_wire_frame_split(p + off, len - off, 1u << 20, &f);
    assert_true(used > 0);
    if (f.type == P2PC_FRAME_PEERS) {
      static p2pc_wire_peer out[P2PC_WIRE_MAX_PEERS];
      size_t k = 0;
      assert_true(p2pc_wire_peers_get(f.body, f.body_len, out,
                                      P2PC_WIRE_MAX_PEERS, &k) > 0);
      most = k > most ? k : most;
      ++*frames;
    }
    off += (size_t)used;
  }
  p2pc_node_link_consume(w->nodes[i].n, l, len);
  return most;
}

/* Learned records go to the passive view, not the table; a node short of
 * links promotes them, and a promoted entry whose dial fails is dropped
 * from both views. A PEERS it sends is a sample: its own record and at
 * most peers_sample in all. */
static void test_learned_records_promoted_failed_dropped(void **state) {
  (void)state;
  net *w = net_new();
  /* max_peers 40: short of links with 1, it promotes up to 20 at once */
  start_node(
      w, 0,
      &(opts){.base = {.max_peers = 40, .peers_sample = 5, .passive_max = 32}});
  p2pc_link_id l;
  fake_peer(w, 0, &l);
  feed_peers(w, 0, l, 0, 12, "gone");
  /* the node promoted them all at once (its table has room) and dials */
  assert_int_equal(p2pc_node_passive_count(w->nodes[0].n), 0);
  assert_int_equal(p2pc_node_peer_count(w->nodes[0].n), 13);
  run(w, 50);
  /* nobody answered: dropped, not re-dialed */
  assert_int_equal(p2pc_node_peer_count(w->nodes[0].n), 1);
  assert_int_equal(p2pc_node_passive_count(w->nodes[0].n), 0);
  /* Room for 3, 2 past half: low-priority promotions, as many as there is
   * room for (at most 4 in flight); the rest of what it learns waits in
   * the passive view, which keeps 8 of the 16. */
  opts small = {.base = {.max_peers = 3, .passive_max = 8, .peers_sample = 5}};
  start_node(w, 1, &small);
  p2pc_link_id l1, l2;
  fake_peer(w, 1, &l1);
  int frames = 0;
  assert_int_equal(peers_written(w, 1, l1, &frames), 1); /* its own record */
  assert_int_equal(frames, 1);
  feed_peers(w, 1, l1, 0, 16, "p");
  assert_int_equal(p2pc_node_peer_count(w->nodes[1].n), 3);
  assert_int_equal(check_views(w, 1, 8), 6); /* 8 kept, 2 promoted */
  /* One of them dials in: it is in the table now, and out of the passive
   * view. The PEERS it gets is a sample: our record and 4 of the 6, not
   * all. */
  p2pc_wire_record y;
  assert_true(p2pc_node_passive_info(w->nodes[1].n, 3, &y));
  fake_peer_as(w, 1, y.id, 7, &l2);
  assert_true(linked(w, 1, y.id));
  assert_int_equal(check_views(w, 1, 8), 6);
  assert_int_equal(peers_written(w, 1, l2, &frames), 5);
  assert_int_equal(frames, 1);
  net_free(w);
}

/* A promoted entry refused as full goes back to the passive view; the
 * node is not linked to it. */
static void test_refused_entry_stays_passive(void **state) {
  (void)state;
  net *w = net_new();
  /* N1 and N2 hold each other, one link each: full */
  opts one = {.base = {.max_peers = 1}};
  start_node(w, 1, &one);
  start_node(w, 2, &(opts){.seeds = "1", .base = {.max_peers = 1}});
  run(w, 200);
  assert_true(linked(w, 1, "N2"));
  /* N0 (3 slots) links to X, then hears of N1 */
  start_node(w, 0, &(opts){.base = {.max_peers = 3}});
  p2pc_link_id l;
  fake_peer(w, 0, &l);
  p2pc_wire_peer r = {.id = "N1", .incarnation = w->nodes[1].inc};
  r.addr.family = 4;
  r.addr.addr[0] = 127;
  r.addr.addr[3] = 2;
  r.addr.port = 9000;
  p2pc_buf b;
  p2pc_buf_init(&b, p2pc_allocator_default(), 4096);
  long at = p2pc_wire_frame_begin(&b, P2PC_FRAME_PEERS);
  assert_int_equal(p2pc_wire_peers_put(&b, &r, 1), 0);
  assert_int_equal(p2pc_wire_frame_end(&b, at, 4096), 0);
  feed(w, 0, l, &b);
  p2pc_buf_fini(&b);
  run(w, 300);
  /* N0 has a link: its dial to N1 was low priority, and N1 refused */
  assert_false(linked(w, 0, "N1"));
  assert_true(linked(w, 1, "N2"));
  assert_int_equal(check_views(w, 0, 32), 1);
  p2pc_wire_record got;
  assert_true(p2pc_node_passive_info(w->nodes[0].n, 0, &got));
  assert_string_equal(got.id, "N1");
  net_free(w);
}

/* count records of made-up nodes "fake<serial>".., all at 10.0.<net>.1
 * (one_addr) or each at its own. */
static void feed_fakes(net *w, int i, p2pc_link_id l, int serial, int count,
                       int netn, bool one_addr) {
  feed_records(w, i, l, "fake", serial, count, netn, 1, one_addr);
}

/* A stranger's PEERS frames do not make the node a reflector (issue 13):
 * many IDs at one address are one record; an address that did not answer
 * is not taken again for a minute; and once promoted entries fail, the
 * node promotes one at a time, after a back-off, so frames full of fresh
 * made-up addresses get a few dials, not one each. */
static void test_made_up_records_are_not_dialed_again_and_again(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, &(opts){.base = {.max_peers = 40, .passive_max = 32}});
  p2pc_node *n = w->nodes[0].n;
  p2pc_link_id l;
  fake_peer(w, 0, &l);
  /* 20 IDs at one address: one record, one promotion */
  feed_fakes(w, 0, l, 0, 20, 0, true);
  assert_int_equal(p2pc_node_peer_count(n), 2);
  assert_int_equal(p2pc_node_passive_count(n), 0);
  run(w, 50); /* nobody there: dropped, its address remembered */
  assert_int_equal(p2pc_node_peer_count(n), 1);
  assert_int_equal(n->promote_fails, 1);
  feed_fakes(w, 0, l, 100, 20, 0, true); /* the same address, new IDs */
  assert_int_equal(p2pc_node_peer_count(n), 1);
  assert_int_equal(p2pc_node_passive_count(n), 0);
  /* 10 s of frames of 20 fresh addresses every 200 ms: 1,000 records */
  int serial = 1000;
  for (int f = 0; f < 50; f++, serial += 20) {
    feed_fakes(w, 0, l, serial, 20, 1 + f, false);
    run(w, 200);
  }
  /* one at a time after a failure, each after a doubling pause (from
   * 100 ms to 5 s): about 8 dials in 10 s, not 1,000 */
  assert_true(n->promote_fails >= 4);
  assert_true(n->promote_fails <= 12);
  /* the peer that sent them all is still linked */
  assert_true(linked(w, 0, "X"));
  net_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_passive_view_invariants),
      cmocka_unit_test(test_learned_records_promoted_failed_dropped),
      cmocka_unit_test(test_refused_entry_stays_passive),
      cmocka_unit_test(test_made_up_records_are_not_dialed_again_and_again),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
