/* SPDX-License-Identifier: MIT */
/*
 * Authenticated datagrams (PROTOCOL.md, "Authenticated datagrams";
 * CLOCK.md, "Authenticated exchanges"). In secure mode the datagrams of
 * the time socket that only nodes speak — NTP packets carrying p2pclock's
 * extension field, and the lookup's FINDNODE and NODES — end with a
 * 16-byte MAC over every byte before it: BLAKE2b keyed by a key derived
 * from a cluster key (crypto_kdf, context "p2pctime" for NTP, "p2pcdgrm"
 * for the lookup, so that neither kind can pass for the other). A node
 * sends under its primary key and takes any key of its ring, as its links
 * do, so a rotation (SECURITY.md) loses no datagram; an answer goes back
 * under the key its request came under (the asker, mid-rotation, may not
 * hold our primary: a node given only the new key, say, asking one that
 * still uses the old one). Ours without a valid
 * MAC are dropped and counted, never answered; a standard NTP client's
 * packet (no p2pclock field) passes as before, and so does the answer to
 * it, with the client's own RFC 8573 MAC if it asked for one (ntpauth.h).
 * In open mode nothing here runs.
 *
 * The datagrams leave room for the MAC themselves (P2PC_NTP_EXT_LEN_AUTH,
 * P2PC_DGRAM_MAX_AUTH): with it they are still at most P2PC_DATAGRAM_MAX
 * bytes, and no answer is longer than its request.
 *
 * The MAC covers the transmit timestamp too (T3, what a reply is for), so
 * a sealed reply cannot leave it to the runtime to write just before the
 * send (stamp_xmt): it is written here, from the clock reading of this
 * loop turn. The kernel's transmit stamp, reported as before, still gives
 * the interleaved exchange its exact T3 (CLOCK.md).
 */
#include "nodeint.h"

#include "dgram.h"
#include "ntp.h"

#include <sodium.h>

#define TAG 16
_Static_assert(TAG == P2PC_NTP_AUTH_LEN && TAG == P2PC_DGRAM_AUTH_LEN,
               "one MAC for both kinds");

/* The MAC of b[0..len) under ring key i's derived key. */
static void mac(const p2pc_node *n, unsigned i, bool overlay, const uint8_t *b,
                size_t len, uint8_t tag[TAG]) {
  crypto_generichash(tag, TAG, b, len, n->dg_keys[i][overlay], 32);
}

/* The index of the ring key under which b[0..len) ends with a valid MAC,
 * or -1: at most P2PC_KEYRING_MAX derivations and hashes, whatever a
 * stranger sends. */
static int verified(const p2pc_node *n, const uint8_t *b, size_t len,
                    bool overlay) {
  uint8_t tag[TAG];
  if (len < TAG)
    return -1;
  for (unsigned i = 0; i < p2pc__sec_ring_len(n); i++) {
    mac(n, i, overlay, b, len - TAG, tag);
    if (sodium_memcmp(tag, b + len - TAG, TAG) == 0)
      return (int)i;
  }
  return -1;
}

static int from_find(const p2pc_node *n, const p2pc_wire_addr *a) {
  for (int i = 0; i < P2PC_DG_FROM_MAX; i++)
    if (n->dg_from[i].addr.family && p2pc__node_addr_eq(&n->dg_from[i].addr, a))
      return i;
  return -1;
}

/* Remembers that from's datagrams come under ring key k (only a
 * non-primary key takes a new entry). */
static void from_note(p2pc_node *n, const p2pc_wire_addr *from, int k) {
  int i = from_find(n, from);
  if (i < 0 && k == 0)
    return;
  if (i < 0) {
    i = (int)(n->dg_from_next++ % P2PC_DG_FROM_MAX);
    n->dg_from[i].addr = *from;
  }
  n->dg_from[i].key = (uint8_t)k;
}

void p2pc__dgauth_ring_changed(p2pc_node *n) {
  memset(n->dg_from, 0, sizeof n->dg_from);
  sodium_memzero(n->dg_keys, sizeof n->dg_keys);
  for (unsigned i = 0; n->cfg.secure.on && i < p2pc__sec_ring_len(n); i++)
    for (unsigned o = 0; o < 2; o++)
      crypto_kdf_derive_from_key(n->dg_keys[i][o], 32, 1,
                                 o ? "p2pcdgrm" : "p2pctime",
                                 n->cfg.secure.psk[i]);
}

/* Whether d answers a request: an NTP reply (mode 4) or a NODES. */
static bool is_answer(const p2pc_datagram *d, bool overlay) {
  return overlay ? d->len > P2PC_DGRAM_MAGIC_LEN &&
                       d->data[P2PC_DGRAM_MAGIC_LEN] == P2PC_DGRAM_NODES
                 : (d->data[0] & 7) == P2PC_NTP_MODE_SERVER;
}

/* Whether an NTP packet carries p2pclock's field (a well-formed one). */
static bool carries_ext(const uint8_t *b, size_t len) {
  p2pc_ntp_header h;
  p2pc_ntp_ext e;
  bool has_ext = false;
  return p2pc_ntp_decode(b, len, &h, &e, &has_ext) == 0 && has_ext;
}

long p2pc__dgauth_open(p2pc_node *n, const p2pc_wire_addr *from,
                       const uint8_t *b, size_t len, bool overlay) {
  if (!n->cfg.secure.on)
    return (long)len;
  if (!overlay && len <= P2PC_NTP_HEADER_LEN)
    return (long)len; /* a standard client's: no field, no MAC */
  int k = verified(n, b, len, overlay);
  if (k >= 0) {
    from_note(n, from, k);
    return (long)(len - TAG);
  }
  if (!overlay && !carries_ext(b, len))
    return (long)len; /* a standard client's with other fields: as before */
  n->dg_unauth++;
  char t[200] = "time: dropped a datagram without a valid authenticator "
                "(not of this network) from ";
  size_t at = strlen(t);
  p2pc_addr_format(from, t + at, sizeof t - at);
  p2pc__node_log(n, P2PC_LOG_WARN, t);
  return -1;
}

void p2pc__dgauth_seal(const p2pc_node *n, p2pc_datagram *d, bool overlay) {
  if (!n->cfg.secure.on || (!overlay && (d->len <= P2PC_NTP_HEADER_LEN ||
                                         !carries_ext(d->data, d->len))))
    return; /* open mode; an answer to a standard client (RFC 8573 MAC
             * or none) */
  if ((size_t)d->len + TAG > sizeof d->data)
    return; /* cannot happen: the writers leave room (dropped unanswered
             * at the other end) */
  if (d->stamp_xmt) {
    p2pc_be64_write(d->data + P2PC_DATAGRAM_XMT_OFFSET,
                    p2pc_ntp_ts_from_ns(n->now.local_ns + d->xmt_corr));
    d->stamp_xmt = false;
  }
  int i = is_answer(d, overlay) ? from_find(n, &d->to) : -1;
  unsigned k = i >= 0 && n->dg_from[i].key < p2pc__sec_ring_len(n)
                   ? n->dg_from[i].key
                   : 0;
  mac(n, k, overlay, d->data, d->len, d->data + d->len);
  d->len = (uint16_t)(d->len + TAG);
}
