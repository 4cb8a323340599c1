/* SPDX-License-Identifier: MIT */
/*
 * Text for the node's log lines and identities: decimal and hex appenders
 * (no stdio in the core), addresses as the event log prints them, the
 * session ID of an incarnation (the human log itself: lograte.c).
 */
#include "nodeint.h"

/* Appends decimal v to s (NUL-terminated, capacity cap). */
bool p2pc__node_addr_eq(const p2pc_wire_addr *x, const p2pc_wire_addr *y) {
  size_t n = x->family == 4 ? 4 : 16;
  return x->family == y->family && x->port == y->port &&
         (x->family == 0 || memcmp(x->addr, y->addr, n) == 0);
}

/* The incarnation tag of a causal identity: base36 of 31 bits. */
void p2pc__node_make_sesid(char *out, const char *id, uint64_t inc) {
  static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  char tag[TAG_MAX];
  size_t k = 0;
  uint64_t v = inc & 0x7fffffffu;
  do
    tag[k++] = b36[v % 36];
  while ((v /= 36) != 0);
  out[0] = '\0';
  p2pc_str_cat(out, P2PC_ID_MAX + 1, id);
  p2pc_str_cat(out, P2PC_ID_MAX + 1, "~");
  size_t len = strlen(out);
  while (k)
    out[len++] = tag[--k];
  out[len] = '\0';
}
