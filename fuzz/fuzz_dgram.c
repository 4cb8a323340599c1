/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the overlay's datagrams (dgram.h) and the lookup that
 * takes them (dht.h). The input is one datagram as it would arrive on the
 * time socket. The decoder is canonical: a datagram that decodes must
 * re-encode to exactly the same bytes; one that does not leaves its output
 * untouched. Then a small table takes the datagram (as from the address its
 * sender names, and from another), with a lookup under way, so FINDNODE
 * answers, NODES merges and the time-outs all run on hostile input; every
 * datagram it sends stays within the table's size (P2PC_DATAGRAM_MAX, or
 * P2PC_DGRAM_MAX_AUTH in secure mode: both are read) and decodes.
 */
#include "fuzz.h"

#include "dgram.h"
#include "dht.h"

#include <string.h>

static p2pc_wire_record rec(uint32_t i) {
  p2pc_wire_record r;
  memset(&r, 0, sizeof r);
  r.id[0] = 'n';
  r.id[1] = (char)('0' + i % 10);
  r.id[2] = (char)('0' + i / 10 % 10);
  r.incarnation = i;
  r.addr.family = 4;
  r.addr.addr[0] = 10;
  r.addr.addr[3] = (uint8_t)i;
  r.addr.port = 9000;
  r.time_port = 9000;
  return r;
}

static size_t dgmax = P2PC_DATAGRAM_MAX; /* the table's datagram size */

static void drain(p2pc_dht *d) {
  p2pc_datagram g;
  p2pc_dgram x;
  while (p2pc_dht_pop(d, &g)) {
    FUZZ_CHECK(g.len <= dgmax);
    FUZZ_CHECK(p2pc_dgram_get(g.data, g.len, dgmax, &x) == (int)g.len);
  }
  p2pc_dht_result r;
  while (p2pc_dht_pop_result(d, &r))
    ;
}

/* Decoded at max (a node's datagram size: open or secure mode), the bytes
 * are the encoder's own, or refused with g untouched. */
static int roundtrip(const uint8_t *data, size_t size, size_t max,
                     p2pc_dgram *out) {
  static p2pc_dgram g, before;
  memset(&g, 0xA5, sizeof g);
  before = g;
  int rv = p2pc_dgram_get(data, size, max, &g);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(memcmp(&g, &before, sizeof g) == 0);
    return rv;
  }
  FUZZ_CHECK(rv == (int)size && size <= max);
  FUZZ_CHECK(p2pc_dgram_is_overlay(data, size));
  p2pc_buf b;
  p2pc_buf_init(&b, p2pc_allocator_default(), P2PC_DATAGRAM_MAX);
  if (g.type == P2PC_DGRAM_FINDNODE) {
    FUZZ_CHECK(size == max);
    FUZZ_CHECK(p2pc_dgram_findnode_put(&b, max, g.token, &g.sender, g.target) ==
               0);
  } else {
    FUZZ_CHECK(g.count <= P2PC_DGRAM_MAX_NODES);
    FUZZ_CHECK(p2pc_dgram_nodes_put(&b, max, g.token, &g.sender, g.nodes,
                                    g.count) == (int)g.count);
  }
  FUZZ_CHECK(b.len == size && memcmp(b.data, data, size) == 0);
  p2pc_buf_fini(&b);
  *out = g;
  return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* read at both sizes (open mode, secure mode); the table is in one of
   * the two, the input's length's parity says which */
  static p2pc_dgram g, g_auth;
  int rv_open = roundtrip(data, size, P2PC_DATAGRAM_MAX, &g);
  int rv_auth = roundtrip(data, size, P2PC_DGRAM_MAX_AUTH, &g_auth);
  bool auth = size % 2 == 1;
  int rv = auth ? rv_auth : rv_open;
  if (auth)
    g = g_auth;
  /* a table with a lookup under way takes it */
  p2pc_dht *d;
  p2pc_wire_record self = rec(0);
  if (p2pc_dht_new(&d, p2pc_allocator_default(), &self, 1) != 0)
    return 0;
  dgmax = auth ? P2PC_DGRAM_MAX_AUTH : P2PC_DATAGRAM_MAX;
  p2pc_dht_set_datagram_max(d, dgmax);
  for (uint32_t i = 1; i < 40; i++) {
    p2pc_wire_record r = rec(i);
    p2pc_dht_learn(d, &r, i % 2 == 0, 1000);
  }
  (void)p2pc_dht_find(d, "target", 1000);
  drain(d);
  p2pc_wire_addr from = rec(7).addr;
  from.port = 9000;
  p2pc_dht_input(d, &from, data, size, 2000);
  drain(d);
  if (rv > 0) {
    from = g.sender.addr;
    from.port = g.sender.time_port;
    p2pc_dht_input(d, &from, data, size, 3000);
    drain(d);
  }
  for (uint64_t t = 1; t < 60; t++) {
    p2pc_dht_on_deadline(d, 3000 + t * P2PC_DHT_TIMEOUT_NS);
    drain(d);
  }
  p2pc_dht_stats st;
  p2pc_dht_stats_get(d, &st);
  FUZZ_CHECK(st.entries <= P2PC_DHT_BUCKETS * P2PC_DHT_K);
  p2pc_dht_free(d);
  return 0;
}
