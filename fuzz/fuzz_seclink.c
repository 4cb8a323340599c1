/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for secure links (src/core/net/secure.c): two nodes holding
 * one cluster key (the responder's second of two: its keyring) link over
 * a real handshake while the input decides how
 * the bytes between them are cut into reads (records and frames arrive
 * split anywhere) and whether one bit of them flips on the way; then the
 * rest of the input goes, as it is, to the responder's link and to a
 * fresh link of a third party. Invariants: nothing crashes or reads out
 * of bounds (the sanitizers); with no bit flipped both ends link; a
 * flipped bit or a stranger's bytes never link anything (no peer enters
 * the table through them).
 */
#include "fuzz.h"

#include "nodeint.h"

#include <string.h>

typedef struct input {
  const uint8_t *p;
  size_t left;
} input;

static uint8_t take(input *in) {
  if (!in->left)
    return 0;
  in->left--;
  return *in->p++;
}

static p2pc_node *make(const char *id, uint16_t port, uint8_t who) {
  p2pc_node_config c;
  memset(&c, 0, sizeof c);
  c.id = id;
  c.incarnation = 1000 + who;
  c.seed = who;
  c.listen.family = 4;
  c.listen.addr[0] = 127;
  c.listen.addr[3] = 1;
  c.listen.port = port;
  c.secure.on = true;
  /* A dials with 0x42; B, the responder, holds a keyring whose primary
   * is another key: the first message is tried under each (secure.c). */
  memset(c.secure.psk[0], who == 2 ? 0x43 : 0x42, sizeof c.secure.psk[0]);
  memset(c.secure.psk[1], 0x42, sizeof c.secure.psk[1]);
  c.secure.npsk = who == 2 ? 2 : 1;
  for (int k = 0; k < 32; k++) {
    c.secure.static_sk[k] = (uint8_t)(who * 29 + k);
    c.secure.entropy[k] = (uint8_t)(who * 7 + k * 5);
  }
  p2pc_node *n = NULL;
  p2pc_now now = {1000000000ull, 1700000000000000000ll};
  FUZZ_CHECK(p2pc_node_new(&n, &c, NULL, now) == 0);
  return n;
}

/* Moves what `from` has for link lf into `to`'s link lt, in reads whose
 * sizes the input picks, one bit flipped if it says so. */
static bool carry(p2pc_node *from, p2pc_link_id lf, p2pc_node *to,
                  p2pc_link_id lt, input *in, bool *flipped, p2pc_now now) {
  const uint8_t *p;
  size_t len;
  p2pc_node_link_output(from, lf, &p, &len);
  if (!len)
    return false;
  static uint8_t buf[1 << 18]; /* a read may hold many records */
  size_t off = 0;
  while (off < len) {
    uint8_t c = take(in);
    size_t k = c == 0xff ? len - off : 1u + c % 200u; /* all, or a little */
    if (k > len - off)
      k = len - off;
    if (k > sizeof buf)
      k = sizeof buf;
    memcpy(buf, p + off, k);
    uint8_t f = take(in);
    if (f == 0xA5 && !*flipped) {
      buf[take(in) % k] ^= (uint8_t)(1u << (take(in) % 8));
      *flipped = true;
    }
    (void)p2pc_node_link_input(to, lt, buf, k, now);
    off += k;
  }
  p2pc_node_link_consume(from, lf, len);
  return true;
}

static bool linked_to(const p2pc_node *n, const char *id) {
  uint32_t pi = p2pc__node_peer_find(n, id);
  return pi != NO_PEER && n->peers[pi].link != NO_LINK &&
         n->links[n->peers[pi].link].state == L_UP;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  input in = {data, size};
  p2pc_now now = {1000000000ull, 1700000000000000000ll};
  p2pc_node *a = make("A", 9001, 1), *b = make("B", 9002, 2);
  p2pc_link_id la, lb;
  p2pc_wire_addr addr_b = {.family = 4, .addr = {127, 0, 0, 1}, .port = 9002};
  FUZZ_CHECK(p2pc_node_link_new(a, true, "B", &addr_b, now, &la) == 0);
  FUZZ_CHECK(p2pc_node_link_new(b, false, NULL, NULL, now, &lb) == 0);
  bool flipped = false;
  unsigned msgs = take(&in) % 32; /* up to 124 each way: sizes of reads vary */
  for (int round = 0; round < 8; round++) {
    bool moved = carry(a, la, b, lb, &in, &flipped, now);
    moved |= carry(b, lb, a, la, &in, &flipped, now);
    if (!moved)
      break;
  }
  if (!flipped) {
    FUZZ_CHECK(linked_to(a, "B") && linked_to(b, "A"));
    FUZZ_CHECK(a->sec_done == 1 && b->sec_done == 1);
  }
  /* Messages both ways, as many as the input's first byte says, so that
   * reads can hold many records and frames can span them; with nothing
   * flipped, every one is delivered. */
  static uint8_t payload[700];
  for (unsigned k = 0; k < msgs * 4; k++) {
    (void)p2pc_node_send(a, "B", payload, 1 + (k * 37) % sizeof payload, now,
                         NULL);
    (void)p2pc_node_send(b, "A", payload, 1 + (k * 53) % sizeof payload, now,
                         NULL);
  }
  for (int round = 0; round < 16; round++) {
    bool moved = carry(a, la, b, lb, &in, &flipped, now);
    moved |= carry(b, lb, a, la, &in, &flipped, now);
    if (!moved)
      break;
  }
  if (!flipped)
    FUZZ_CHECK(linked_to(a, "B") && linked_to(b, "A"));
  /* The rest, as it is: on the open link (records of junk), and from a
   * stranger on a fresh accepted link. */
  uint32_t peers_b = b->npeers;
  if (in.left) {
    (void)p2pc_node_link_input(b, lb, in.p, in.left, now);
    p2pc_link_id ls;
    if (p2pc_node_link_new(b, false, NULL, NULL, now, &ls) == 0)
      (void)p2pc_node_link_input(b, ls, in.p, in.left, now);
  }
  FUZZ_CHECK(b->npeers <= peers_b);
  p2pc_node_free(a);
  p2pc_node_free(b);
  return 0;
}
