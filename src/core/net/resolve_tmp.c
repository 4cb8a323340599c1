/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for the lookup (the DHT) until it lands: a record is known
 * only if the peer table holds it with an address and an incarnation;
 * any other ID is not found at once. The DHT replaces this file with the
 * same three functions (nodeint.h).
 */
#include "nodeint.h"

bool p2pc__node_dht_get(p2pc_node *n, const char *id, p2pc_wire_record *out) {
  uint32_t pi = p2pc__node_peer_find(n, id);
  if (pi == NO_PEER)
    return false;
  const peer *p = &n->peers[pi];
  if (!p->addr_known || !p->inc_known)
    return false;
  memset(out, 0, sizeof *out);
  p2pc__node_str_cat(out->id, sizeof out->id, p->id);
  out->incarnation = p->inc;
  out->addr = p->addr;
  return true;
}

int p2pc__node_dht_find(p2pc_node *n, const char *id) {
  p2pc_wire_record r;
  if (p2pc__node_dht_get(n, id, &r))
    return 1;
  p2pc__node_resolved(n, id, NULL); /* no lookup: not found, now */
  return 0;
}
