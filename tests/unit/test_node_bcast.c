/* SPDX-License-Identifier: MIT */
/*
 * Broadcast to the whole network through the node (bcast.c over
 * plumtree.c, with the causal layer's "*"): a broadcast reaches nodes that
 * are not the sender's neighbours, exactly once each, with its hops; the
 * tree prunes itself (duplicates fall once it has formed); a node that
 * crashes inside the tree is routed around by IHAVE and GRAFT; and the
 * neighbour broadcast keeps its old meaning.
 */
#include "node_harness.h"

#include "plumtree.h"

#include <stdio.h>
#include <string.h>

static void bcast_ok(net *w, int from, const char *text) {
  p2pc_msgid id;
  assert_int_equal(p2pc_node_broadcast(w->nodes[from].n, (const uint8_t *)text,
                                       strlen(text), now_at(w, from), &id),
                   0);
  assert_string_equal(id.node, w->nodes[from].id);
}

/* Whether the up links join nodes 0..n-1 but `skip` into one network. */
static bool connected(const net *w, int n, int skip) {
  bool reach[MAXN] = {0};
  int stack[MAXN], top = 0, reached = 1;
  int start = skip == 0 ? 1 : 0;
  reach[start] = true;
  stack[top++] = start;
  while (top) {
    int i = stack[--top];
    for (int j = 0; j < n; j++)
      if (j != skip && !reach[j] && linked(w, i, w->nodes[j].id)) {
        reach[j] = true;
        stack[top++] = j;
        reached++;
      }
  }
  return reached == n - (skip >= 0);
}

/* n nodes, each seeded with the one before and at most 2 peers: a line
 * (or a ring), so most pairs are not neighbours. */
static net *line(int n) {
  net *w = net_new();
  char seed[16];
  start_node(w, 0, &(opts){.base = {.max_peers = 2}});
  for (int i = 1; i < n; i++) {
    snprintf(seed, sizeof seed, "%d", i - 1);
    start_node(w, i, &(opts){.seeds = seed, .base = {.max_peers = 2}});
  }
  run(w, 3000);
  return w;
}

static void test_reaches_non_neighbours(void **state) {
  (void)state;
  net *w = line(6);
  int far = 0;
  for (int i = 1; i < 6; i++)
    far += !linked(w, 0, w->nodes[i].id);
  assert_true(far >= 2); /* N0 is not everyone's neighbour */
  bcast_ok(w, 0, "one");
  assert_int_equal(w->nodes[0].bcast_delivered, 1); /* at once, to self */
  run(w, 500);
  bcast_ok(w, 3, "two");
  bcast_ok(w, 5, "three");
  run(w, 500);
  for (int i = 0; i < 6; i++) {
    assert_int_equal(w->nodes[i].bcast_delivered, 3);
    assert_no_duplicates(&w->nodes[i]);
  }
  uint32_t hops = 0;
  for (int i = 0; i < 6; i++)
    hops = w->nodes[i].max_hops > hops ? w->nodes[i].max_hops : hops;
  assert_true(hops >= 2); /* relayed, not sent */
  net_free(w);
}

/* A full mesh of 5: the first broadcast of an origin floods (every link
 * eager, so copies come twice) and prunes nothing; its second floods and
 * prunes (the origin's tree); later ones follow the tree. */
static void test_tree_prunes_itself(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  for (int i = 1; i < 5; i++)
    start_node(w, i, &(opts){.seeds = "0"});
  run(w, 1000);
  for (int i = 0; i < 5; i++)
    assert_int_equal(p2pc_node_up_count(w->nodes[i].n), 4);
  p2pc_pt_stats st;
  uint64_t dups0 = 0, dups1 = 0, prunes = 0;
  bcast_ok(w, 0, "flood");
  run(w, 300);
  for (int i = 0; i < 5; i++) {
    p2pc_node_bcast_stats(w->nodes[i].n, &st);
    dups0 += st.duplicates;
    prunes += st.prune_sent;
  }
  assert_true(dups0 > 0 && prunes == 0);
  bcast_ok(w, 0, "flood and prune");
  run(w, 300);
  for (int i = 0; i < 5; i++) {
    p2pc_node_bcast_stats(w->nodes[i].n, &st);
    prunes += st.prune_sent;
  }
  assert_true(prunes > 0);
  uint64_t dups2 = 0; /* two floods' worth */
  for (int i = 0; i < 5; i++) {
    p2pc_node_bcast_stats(w->nodes[i].n, &st);
    dups2 += st.duplicates;
  }
  for (int k = 0; k < 10; k++) {
    bcast_ok(w, 0, "tree");
    run(w, 300);
  }
  for (int i = 0; i < 5; i++) {
    p2pc_node_bcast_stats(w->nodes[i].n, &st);
    dups1 += st.duplicates;
    assert_int_equal(w->nodes[i].bcast_delivered, 12);
  }
  /* ten more broadcasts cost fewer duplicates than one flood did */
  assert_true(dups1 - dups2 < dups0);
  net_free(w);
}

/* A node inside the tree crashes: the next broadcasts still reach every
 * live node (through the lazy links: IHAVE, then GRAFT). */
static void test_repair_after_crash(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, &(opts){.base = {.max_peers = 4}});
  for (int i = 1; i < 8; i++)
    start_node(w, i, &(opts){.seeds = "0", .base = {.max_peers = 4}});
  run(w, 3000);
  assert_true(connected(w, 8, -1));
  for (int k = 0; k < 3; k++) {
    bcast_ok(w, 0, "before");
    run(w, 300);
  }
  /* the tree's busiest relay (not the sender) */
  int relay = 1;
  uint64_t most = 0;
  for (int i = 1; i < 8; i++) {
    p2pc_pt_stats st;
    p2pc_node_bcast_stats(w->nodes[i].n, &st);
    if (st.gossip_sent > most) {
      most = st.gossip_sent;
      relay = i;
    }
  }
  assert_true(most > 0);
  uint64_t grafts0 = 0;
  for (int i = 0; i < 8; i++) {
    p2pc_pt_stats st;
    p2pc_node_bcast_stats(w->nodes[i].n, &st);
    grafts0 += i == relay ? 0 : st.graft_sent;
  }
  crash(w, relay);
  assert_true(connected(w, 8, relay)); /* the overlay has a way around */
  bcast_ok(w, 0, "after");
  run(w, 2000);
  uint64_t grafts = 0;
  for (int i = 0; i < 8; i++) {
    if (i == relay)
      continue;
    assert_int_equal(w->nodes[i].bcast_delivered, 4);
    assert_no_duplicates(&w->nodes[i]);
    p2pc_pt_stats st;
    p2pc_node_bcast_stats(w->nodes[i].n, &st);
    grafts += st.graft_sent;
  }
  assert_true(grafts > grafts0); /* its subtree was repaired by GRAFT */
  net_free(w);
}

static void test_neighbours_broadcast(void **state) {
  (void)state;
  net *w = line(4);
  uint32_t up = p2pc_node_up_count(w->nodes[1].n);
  assert_int_equal(p2pc_node_broadcast_neighbours(w->nodes[1].n,
                                                  (const uint8_t *)"nb", 2,
                                                  now_at(w, 1), NULL),
                   (int)up);
  run(w, 300);
  int got = 0;
  for (int i = 0; i < 4; i++)
    got += count_delivered(&w->nodes[i], "N1~");
  assert_int_equal(got, (int)up + 1);
  for (int i = 0; i < 4; i++)
    assert_int_equal(w->nodes[i].bcast_delivered, 0);
  net_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reaches_non_neighbours),
      cmocka_unit_test(test_tree_prunes_itself),
      cmocka_unit_test(test_repair_after_crash),
      cmocka_unit_test(test_neighbours_broadcast),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
