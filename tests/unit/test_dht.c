/* SPDX-License-Identifier: MIT */
/*
 * Finding any node's record (dht.h) and its datagrams (dgram.h): the codec
 * (layout, canonical, as many records as fit, never taken for NTP), the
 * key, the routing table (LRU buckets, the pending replacement, failed
 * entries giving way), and the lookups in a synthetic network of 2,000
 * tables passing datagrams in memory: every sampled lookup finds its
 * target within log2 N rounds, a lookup of an ID nobody has ends not found
 * after a bounded number of requests, an unanswering node only costs
 * time-outs, and the bounds hold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dgram.h"
#include "dht.h"
#include "rng.h"

#define A p2pc_allocator_default()
#define MS 1000000ull

static p2pc_wire_record rec_of(uint32_t i) {
  p2pc_wire_record r;
  memset(&r, 0, sizeof r);
  snprintf(r.id, sizeof r.id, "n%u", i);
  r.incarnation = 1000 + i;
  r.addr.family = 4;
  r.addr.addr[0] = 10;
  r.addr.addr[1] = (uint8_t)(i >> 16);
  r.addr.addr[2] = (uint8_t)(i >> 8);
  r.addr.addr[3] = (uint8_t)i;
  r.addr.port = 9000;
  r.time_port = 9000;
  return r;
}

static int index_of(const p2pc_wire_addr *a) {
  if (a->family != 4 || a->addr[0] != 10 || a->port != 9000)
    return -1;
  return a->addr[1] << 16 | a->addr[2] << 8 | a->addr[3];
}

/* ---- the codec ------------------------------------------------------------
 */

static void test_dgram_findnode(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, A, P2PC_DATAGRAM_MAX);
  p2pc_wire_record s = rec_of(7);
  assert_int_equal(p2pc_dgram_findnode_put(&b, P2PC_DATAGRAM_MAX,
                                           0x0102030405060708ull, &s,
                                           0x1112131415161718ull),
                   0);
  const uint8_t head[] = {0xFF, 'P', 3, 1, 1, 2, 3, 4, 5, 6, 7, 8, 2, 'n', '7'};
  assert_memory_equal(b.data, head, sizeof head);
  assert_true(p2pc_dgram_is_overlay(b.data, b.len));
  p2pc_dgram g;
  assert_int_equal(p2pc_dgram_get(b.data, b.len, P2PC_DATAGRAM_MAX, &g),
                   (int)b.len);
  assert_int_equal(g.type, P2PC_DGRAM_FINDNODE);
  assert_true(g.token == 0x0102030405060708ull);
  assert_true(g.target == 0x1112131415161718ull);
  assert_string_equal(g.sender.id, "n7");
  assert_int_equal(g.sender.time_port, 9000);
  /* padded with zeros to the whole datagram: no answer is longer */
  assert_int_equal(b.len, P2PC_DATAGRAM_MAX);
  /* every truncation and any non-zero padding is malformed */
  for (size_t n = 0; n < b.len; n++)
    assert_int_equal(p2pc_dgram_get(b.data, n, P2PC_DATAGRAM_MAX, &g),
                     P2PC_ERR_PROTO);
  uint8_t more[P2PC_DATAGRAM_MAX];
  memcpy(more, b.data, b.len);
  more[b.len - 1] = 1;
  assert_int_equal(p2pc_dgram_get(more, b.len, P2PC_DATAGRAM_MAX, &g),
                   P2PC_ERR_PROTO);
  more[b.len - 1] = 0;
  /* a wrong version byte, an unknown type */
  more[2] = 2;
  assert_false(p2pc_dgram_is_overlay(more, b.len));
  assert_int_equal(p2pc_dgram_get(more, b.len, P2PC_DATAGRAM_MAX, &g),
                   P2PC_ERR_PROTO);
  more[2] = 3;
  more[3] = 3;
  assert_int_equal(p2pc_dgram_get(more, b.len, P2PC_DATAGRAM_MAX, &g),
                   P2PC_ERR_PROTO);
  /* an NTP client request (version 4, mode 3) is not ours */
  const uint8_t ntp[48] = {0x23};
  assert_false(p2pc_dgram_is_overlay(ntp, sizeof ntp));
  p2pc_buf_fini(&b);
}

static void test_dgram_nodes_fit(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, A, P2PC_DATAGRAM_MAX);
  p2pc_wire_record s = rec_of(1), r[10];
  for (uint32_t i = 0; i < 10; i++)
    r[i] = rec_of(9000 + i); /* "n9000": short IDs, IPv4 */
  int k = p2pc_dgram_nodes_put(&b, P2PC_DATAGRAM_MAX, 42, &s, r, 10);
  assert_int_equal(k, P2PC_DGRAM_MAX_NODES); /* cut to 8, all fit */
  assert_true(b.len <= P2PC_DATAGRAM_MAX);
  p2pc_dgram g;
  assert_int_equal(p2pc_dgram_get(b.data, b.len, P2PC_DATAGRAM_MAX, &g),
                   (int)b.len);
  assert_int_equal(g.count, 8);
  for (uint32_t i = 0; i < 8; i++)
    assert_string_equal(g.nodes[i].id, r[i].id);
  /* re-encoding gives the same bytes (canonical) */
  p2pc_buf c;
  p2pc_buf_init(&c, A, P2PC_DATAGRAM_MAX);
  assert_int_equal(p2pc_dgram_nodes_put(&c, P2PC_DATAGRAM_MAX, g.token,
                                        &g.sender, g.nodes, g.count),
                   8);
  assert_int_equal(c.len, b.len);
  assert_memory_equal(c.data, b.data, b.len);
  /* a count above 8 is malformed */
  size_t at = b.len;
  for (uint32_t i = 0; i < 8; i++) {
    p2pc_buf_reset(&c);
    assert_int_equal(p2pc_wire_record_put(&c, &r[i]), 0);
    at -= c.len;
  }
  uint8_t x[P2PC_DATAGRAM_MAX];
  memcpy(x, b.data, b.len);
  assert_int_equal(x[at - 1], 8);
  x[at - 1] = 9;
  assert_int_equal(p2pc_dgram_get(x, b.len, P2PC_DATAGRAM_MAX, &g),
                   P2PC_ERR_PROTO);
  /* long IDs and IPv6: fewer fit, and the datagram stays in bounds */
  for (uint32_t i = 0; i < 10; i++) {
    memset(r[i].id, 'a' + (int)i, P2PC_NODE_ID_MAX);
    r[i].id[P2PC_NODE_ID_MAX] = 0;
    r[i].addr.family = 6;
  }
  s = r[9];
  p2pc_buf_reset(&b);
  k = p2pc_dgram_nodes_put(&b, P2PC_DATAGRAM_MAX, 42, &s, r, 8);
  assert_true(k >= 1 && k < 8);
  assert_true(b.len <= P2PC_DATAGRAM_MAX);
  assert_int_equal(p2pc_dgram_get(b.data, b.len, P2PC_DATAGRAM_MAX, &g),
                   (int)b.len);
  assert_int_equal((int)g.count, k);
  p2pc_buf_fini(&b);
  p2pc_buf_fini(&c);
}

/* Secure mode: the datagrams leave the MAC's 16 bytes (dgram.h). A
 * FINDNODE is padded to P2PC_DGRAM_MAX_AUTH and read only at that size;
 * a NODES of short IDs still holds all 8 records, one of 64-byte IDs over
 * IPv6 still one. */
static void test_dgram_auth_size(void **state) {
  (void)state;
  p2pc_buf b;
  p2pc_buf_init(&b, A, P2PC_DATAGRAM_MAX);
  p2pc_wire_record s = rec_of(1), r[8];
  p2pc_dgram g;
  assert_int_equal(p2pc_dgram_findnode_put(&b, P2PC_DGRAM_MAX_AUTH, 7, &s, 99),
                   0);
  assert_int_equal(b.len, P2PC_DGRAM_MAX_AUTH);
  assert_int_equal(p2pc_dgram_get(b.data, b.len, P2PC_DGRAM_MAX_AUTH, &g),
                   (int)b.len);
  assert_int_equal(p2pc_dgram_get(b.data, b.len, P2PC_DATAGRAM_MAX, &g),
                   P2PC_ERR_PROTO);
  assert_int_equal(
      p2pc_dgram_findnode_put(&b, P2PC_DATAGRAM_MAX + 1, 7, &s, 99),
      P2PC_ERR_INVAL);
  for (uint32_t i = 0; i < 8; i++)
    r[i] = rec_of(9000 + i);
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_dgram_nodes_put(&b, P2PC_DGRAM_MAX_AUTH, 42, &s, r, 8),
                   8);
  assert_true(b.len <= P2PC_DGRAM_MAX_AUTH);
  for (uint32_t i = 0; i < 8; i++) {
    memset(r[i].id, 'a' + (int)i, P2PC_NODE_ID_MAX);
    r[i].id[P2PC_NODE_ID_MAX] = 0;
    r[i].addr.family = 6;
  }
  s = r[7];
  p2pc_buf_reset(&b);
  int k = p2pc_dgram_nodes_put(&b, P2PC_DGRAM_MAX_AUTH, 42, &s, r, 8);
  assert_true(k >= 1);
  assert_true(b.len <= P2PC_DGRAM_MAX_AUTH);
  assert_int_equal(p2pc_dgram_get(b.data, b.len, P2PC_DGRAM_MAX_AUTH, &g),
                   (int)b.len);
  p2pc_buf_reset(&b);
  assert_int_equal(p2pc_dgram_findnode_put(&b, P2PC_DGRAM_MAX_AUTH, 7, &s, 99),
                   0);
  p2pc_buf_fini(&b);
}

/* ---- the key and the table ----------------------------------------------- */

static void test_key(void **state) {
  (void)state;
  /* splitmix64's finalizer after FNV-1a 64: fixed values (a change of
   * the hash is a protocol change) */
  assert_true(p2pc_dht_key("n1") == p2pc_dht_key("n1"));
  assert_true(p2pc_dht_key("n1") != p2pc_dht_key("n2"));
  /* well mixed: IDs one character apart differ in about half the bits */
  int bits = 0;
  for (uint32_t i = 0; i < 100; i++) {
    char a[16], b[16];
    snprintf(a, sizeof a, "n%u", i);
    snprintf(b, sizeof b, "n%u", i + 1);
    bits += __builtin_popcountll(p2pc_dht_key(a) ^ p2pc_dht_key(b));
  }
  assert_true(bits > 100 * 24 && bits < 100 * 40);
}

static p2pc_dht *mk(uint32_t i) {
  p2pc_dht *d;
  p2pc_wire_record s = rec_of(i);
  assert_int_equal(p2pc_dht_new(&d, A, &s, 1234 + i), 0);
  return d;
}

/* IDs whose keys fall in bucket 63 of n0's table (the farthest half). */
static uint32_t far_ids(uint32_t *out, uint32_t want) {
  uint64_t k0 = p2pc_dht_key("n0");
  uint32_t n = 0;
  for (uint32_t i = 1; n < want && i < 100000; i++) {
    char id[16];
    snprintf(id, sizeof id, "n%u", i);
    if ((p2pc_dht_key(id) ^ k0) >> 63)
      out[n++] = i;
  }
  return n;
}

static void test_table_bucket(void **state) {
  (void)state;
  p2pc_dht *d = mk(0);
  uint32_t ids[12];
  assert_int_equal(far_ids(ids, 12), 12);
  for (uint32_t i = 0; i < 12; i++) {
    p2pc_wire_record r = rec_of(ids[i]);
    p2pc_dht_learn(d, &r, true, 1000 + i);
  }
  p2pc_dht_stats st;
  p2pc_dht_stats_get(d, &st);
  assert_int_equal(st.entries, P2PC_DHT_K); /* old live contacts stay */
  assert_int_equal(st.buckets, 1);
  p2pc_wire_record got;
  assert_true(p2pc_dht_get(d, rec_of(ids[0]).id, &got));
  assert_false(p2pc_dht_get(d, rec_of(ids[9]).id, &got));
  /* a newer incarnation replaces the record, an older one does not */
  p2pc_wire_record r = rec_of(ids[1]);
  r.incarnation += 5;
  p2pc_dht_learn(d, &r, false, 2000);
  r.incarnation -= 10;
  p2pc_dht_learn(d, &r, false, 2001);
  assert_true(p2pc_dht_get(d, r.id, &got));
  assert_true(got.incarnation == rec_of(ids[1]).incarnation + 5);
  /* unusable records go nowhere */
  r = rec_of(ids[10]);
  r.time_port = 0;
  p2pc_dht_learn(d, &r, true, 3000);
  p2pc_dht_stats_get(d, &st);
  assert_int_equal(st.entries, P2PC_DHT_K);
  /* a lookup of ids[11] (its bucket is full): the pending contact is
   * ids[11], whoever fails to answer gives way to it */
  assert_int_equal(p2pc_dht_find(d, "n0", 0), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_dht_find(d, rec_of(ids[11]).id, 5000), 0);
  p2pc_datagram g;
  uint32_t sent = 0;
  while (p2pc_dht_pop(d, &g))
    sent++;
  assert_int_equal(sent, P2PC_DHT_ALPHA);
  p2pc_dht_on_deadline(d, 5000 + P2PC_DHT_TIMEOUT_NS);
  p2pc_dht_stats_get(d, &st);
  assert_int_equal(st.timeouts, P2PC_DHT_ALPHA);
  assert_int_equal(st.entries, P2PC_DHT_K);
  /* the pending one (ids[11], the newest) replaced the first that failed */
  assert_true(p2pc_dht_get(d, rec_of(ids[11]).id, &got));
  /* nobody ever answers: the lookup ends, not found, in bounded steps */
  p2pc_dht_result res;
  bool ended = false;
  for (int t = 2; t < 100 && !ended; t++) {
    while (p2pc_dht_pop(d, &g))
      ;
    p2pc_dht_on_deadline(d, 5000 + (uint64_t)t * P2PC_DHT_TIMEOUT_NS);
    ended = p2pc_dht_pop_result(d, &res);
  }
  assert_true(ended);
  p2pc_dht_free(d);
}

/* ---- a synthetic network --------------------------------------------------
 */

#define NN 2000
#define QMAX 65536

typedef struct msg {
  uint32_t to;
  p2pc_wire_addr from;
  p2pc_datagram d;
} msg;

typedef struct net {
  p2pc_dht *n[NN];
  bool dead[NN];
  msg *q;
  uint32_t qh, qn;
  uint64_t now;
  uint64_t delivered;
} net;

static void collect(net *w, uint32_t i) {
  p2pc_datagram d;
  while (p2pc_dht_pop(w->n[i], &d)) {
    int t = index_of(&d.to);
    assert_true(t >= 0 && t < NN);
    assert_true(d.len <= P2PC_DATAGRAM_MAX);
    if (w->dead[t])
      continue;
    assert_true(w->qn < QMAX);
    msg *m = &w->q[(w->qh + w->qn++) % QMAX];
    m->to = (uint32_t)t;
    m->from = rec_of(i).addr;
    m->d = d;
  }
}

/* Delivers until nothing moves, then lets time-outs fire; bounded. */
static void run(net *w, uint32_t steps) {
  for (uint32_t s = 0; s < steps; s++) {
    for (uint32_t i = 0; i < NN; i++)
      collect(w, i);
    if (!w->qn) {
      bool busy = false;
      for (uint32_t i = 0; i < NN && !busy; i++)
        busy = p2pc_dht_next_deadline(w->n[i]) != UINT64_MAX;
      if (!busy)
        return;
      w->now += P2PC_DHT_TIMEOUT_NS;
      for (uint32_t i = 0; i < NN; i++)
        p2pc_dht_on_deadline(w->n[i], w->now);
      continue;
    }
    w->now += 1 * MS;
    while (w->qn) {
      msg m = w->q[w->qh];
      w->qh = (w->qh + 1) % QMAX;
      w->qn--;
      p2pc_dht_input(w->n[m.to], &m.from, m.d.data, m.d.len, w->now);
      w->delivered++;
      collect(w, m.to);
    }
  }
  fail_msg("the network did not settle");
}

static net *net_new(void) {
  net *w = calloc(1, sizeof *w);
  assert_non_null(w);
  w->q = malloc(QMAX * sizeof *w->q);
  assert_non_null(w->q);
  w->now = 1000 * MS;
  p2pc_rng r;
  p2pc_rng_seed(&r, 99, 0);
  for (uint32_t i = 0; i < NN; i++)
    w->n[i] = mk(i);
  /* each node knows 8 others (its mesh links), both ways */
  for (uint32_t i = 0; i < NN; i++)
    for (int k = 0; k < 4; k++) {
      uint32_t j = (uint32_t)p2pc_rng_below(&r, NN);
      if (j == i)
        continue;
      p2pc_wire_record a = rec_of(i), b = rec_of(j);
      p2pc_dht_learn(w->n[i], &b, true, w->now);
      p2pc_dht_learn(w->n[j], &a, true, w->now);
    }
  /* the bootstrap: each looks its own key up */
  for (uint32_t i = 0; i < NN; i++) {
    char id[16];
    snprintf(id, sizeof id, "n%u", i);
    assert_int_equal(p2pc_dht_lookup_key(w->n[i], p2pc_dht_key(id), w->now), 0);
  }
  run(w, 1000);
  p2pc_dht_result res;
  for (uint32_t i = 0; i < NN; i++) {
    assert_true(p2pc_dht_pop_result(w->n[i], &res));
    assert_string_equal(res.id, "");
    assert_false(p2pc_dht_pop_result(w->n[i], &res));
  }
  return w;
}

static void net_free(net *w) {
  for (uint32_t i = 0; i < NN; i++)
    p2pc_dht_free(w->n[i]);
  free(w->q);
  free(w);
}

static void test_lookups(void **state) {
  (void)state;
  net *w = net_new();
  uint64_t entries = 0, bytes = 0;
  uint32_t emax = 0;
  for (uint32_t i = 0; i < NN; i++) {
    p2pc_dht_stats st;
    p2pc_dht_stats_get(w->n[i], &st);
    entries += st.entries;
    bytes += st.bytes;
    if (st.entries > emax)
      emax = st.entries;
  }
  /* about k log2 N records each; 64 k at most */
  assert_true(emax <= P2PC_DHT_BUCKETS * P2PC_DHT_K);
  /* the bootstrap filled them well past the 8 links */
  assert_true(entries / NN >= 3 * P2PC_DHT_K);
  p2pc_rng r;
  p2pc_rng_seed(&r, 7, 0);
  uint32_t found = 0, rounds_max = 0, queries = 0, direct = 0;
  uint64_t rounds = 0;
  const uint32_t samples = 300;
  for (uint32_t s = 0; s < samples; s++) {
    uint32_t a = (uint32_t)p2pc_rng_below(&r, NN);
    uint32_t b = (uint32_t)p2pc_rng_below(&r, NN);
    if (a == b)
      b = (b + 1) % NN;
    p2pc_wire_record t = rec_of(b), got;
    int rv = p2pc_dht_find(w->n[a], t.id, w->now);
    assert_true(rv == 0 || rv == 1);
    if (rv == 1) {
      assert_true(p2pc_dht_get(w->n[a], t.id, &got));
      direct++;
      found++;
      continue;
    }
    run(w, 200);
    p2pc_dht_result res;
    assert_true(p2pc_dht_pop_result(w->n[a], &res));
    assert_string_equal(res.id, t.id);
    assert_true(res.found);
    assert_memory_equal(&res.rec, &t, sizeof t);
    assert_true(p2pc_dht_get(w->n[a], t.id, &got)); /* kept */
    found++;
    rounds += res.rounds;
    queries += res.queries;
    if (res.rounds > rounds_max)
      rounds_max = res.rounds;
  }
  assert_int_equal(found, samples);
  assert_true(rounds_max <= 11); /* log2 2000 */
  print_message("dht: %u nodes, %u/%u lookups found (%u known at once), "
                "rounds mean %.2f max %u, requests mean %.1f; table mean "
                "%.1f max %u records, %.1f KiB\n",
                NN, found, samples, direct, (double)rounds / (samples - direct),
                rounds_max, (double)queries / (samples - direct),
                (double)entries / NN, emax, (double)bytes / NN / 1024);
  /* an ID nobody has: not found, after a bounded number of requests */
  p2pc_dht_stats before, after;
  p2pc_dht_stats_get(w->n[5], &before);
  assert_int_equal(p2pc_dht_find(w->n[5], "nobody", w->now), 0);
  assert_int_equal(p2pc_dht_find(w->n[5], "nobody", w->now), 0); /* joined */
  run(w, 200);
  p2pc_dht_result res;
  assert_true(p2pc_dht_pop_result(w->n[5], &res));
  assert_false(res.found);
  assert_true(res.queries <= P2PC_DHT_MAX_QUERIES);
  assert_false(p2pc_dht_pop_result(w->n[5], &res));
  p2pc_dht_stats_get(w->n[5], &after);
  assert_true(after.tx - before.tx <= P2PC_DHT_MAX_QUERIES);
  /* dead nodes only cost time-outs: a quarter of the network stops
   * answering, lookups of the living still succeed */
  for (uint32_t i = 0; i < NN; i += 4)
    w->dead[i] = true;
  uint32_t ok = 0;
  for (uint32_t s = 0; s < 50; s++) {
    uint32_t a = 1 + 4 * (uint32_t)p2pc_rng_below(&r, NN / 4);
    uint32_t b = 2 + 4 * (uint32_t)p2pc_rng_below(&r, NN / 4);
    p2pc_wire_record t = rec_of(b);
    int rv = p2pc_dht_find(w->n[a], t.id, w->now);
    if (rv == 1) {
      ok++;
      continue;
    }
    run(w, 400);
    assert_true(p2pc_dht_pop_result(w->n[a], &res));
    ok += res.found;
  }
  assert_true(ok >= 48);
  /* bounds: at most P2PC_DHT_MAX_LOOKUPS at once */
  for (uint32_t i = 0; i < P2PC_DHT_MAX_LOOKUPS; i++) {
    char id[16];
    snprintf(id, sizeof id, "x%u", i);
    assert_int_equal(p2pc_dht_find(w->n[1], id, w->now), 0);
  }
  assert_int_equal(p2pc_dht_find(w->n[1], "x999", w->now), P2PC_ERR_FULL);
  run(w, 400);
  uint32_t ended = 0;
  while (p2pc_dht_pop_result(w->n[1], &res))
    ended++;
  assert_int_equal(ended, P2PC_DHT_MAX_LOOKUPS);
  net_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dgram_findnode),
      cmocka_unit_test(test_dgram_nodes_fit),
      cmocka_unit_test(test_dgram_auth_size),
      cmocka_unit_test(test_key),
      cmocka_unit_test(test_table_bucket),
      cmocka_unit_test(test_lookups),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
