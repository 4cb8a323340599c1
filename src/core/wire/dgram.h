/* SPDX-License-Identifier: MIT */
/*
 * The overlay's datagrams (PROTOCOL.md, "Addressing any node"): the
 * lookup's FINDNODE and NODES, which travel on the node's UDP time socket
 * beside NTP. They begin with a magic whose first byte, 0xFF, reads as NTP
 * version 7 mode 7, which no NTP implementation (ours included: ntp.c takes
 * versions 3 and 4 only) answers, so the node tells the two apart by the
 * first bytes and NTP never sees ours.
 *
 *   FINDNODE = magic[3]  u8 type=1  be64 token  record sender  be64 target
 *              zeros to P2PC_DATAGRAM_MAX bytes
 *   NODES    = magic[3]  u8 type=2  be64 token  record sender
 *              varint count (<= 8)  count x record
 *
 * magic = 0xFF 'P' 0x03 (the last byte: protocol version 3). A FINDNODE is
 * padded to exactly P2PC_DATAGRAM_MAX bytes so that no answer is longer
 * than its request (like NTP's answers: a forged source address gains no
 * amplification). A datagram is at most P2PC_DATAGRAM_MAX bytes: NODES carries
 * as many of its records as fit (with short node IDs all 8; with 64-byte IDs
 * and IPv6 addresses only one). Canonical like every decoder of the core: the
 * encoder's bytes are the only accepted encoding, and nothing may follow the
 * last field.
 *
 * Every function takes the datagram's size max: P2PC_DATAGRAM_MAX, or in
 * secure mode P2PC_DGRAM_MAX_AUTH, the node's MAC taking the rest
 * (PROTOCOL.md, "Authenticated datagrams"): a FINDNODE is padded to max,
 * and a NODES holds what fits in max (a record fewer, at worst).
 */
#ifndef P2PC_DGRAM_H
#define P2PC_DGRAM_H

#include "buf.h"
#include "frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define P2PC_DGRAM_MAGIC_LEN 3
#define P2PC_DGRAM_MAGIC0 0xFFu
#define P2PC_DGRAM_MAGIC1 0x50u /* 'P' */
#define P2PC_DGRAM_MAGIC2 P2PC_WIRE_VERSION
#define P2PC_DGRAM_MAX_NODES 8
/* The MAC of secure mode (16 bytes, the node's: dgauth.c), and the size
 * left for the datagram it covers. */
#define P2PC_DGRAM_AUTH_LEN 16
#define P2PC_DGRAM_MAX_AUTH (P2PC_DATAGRAM_MAX - P2PC_DGRAM_AUTH_LEN)

typedef enum p2pc_dgram_type {
  P2PC_DGRAM_FINDNODE = 1,
  P2PC_DGRAM_NODES = 2
} p2pc_dgram_type;

typedef struct p2pc_dgram {
  uint8_t type;
  uint64_t token;
  p2pc_wire_record sender;
  uint64_t target; /* FINDNODE: the key looked for */
  uint32_t count;  /* NODES: records in nodes[] */
  p2pc_wire_record nodes[P2PC_DGRAM_MAX_NODES];
} p2pc_dgram;

/* Whether b[0..len) starts with the overlay's magic (then it is ours, well
 * formed or not, and never NTP). */
bool p2pc_dgram_is_overlay(const uint8_t *b, size_t len);

/* Appends a FINDNODE, padded to max bytes. Returns 0 or a negative error
 * (nothing appended). */
int p2pc_dgram_findnode_put(p2pc_buf *out, size_t max, uint64_t token,
                            const p2pc_wire_record *sender, uint64_t target);
/* Appends a NODES with as many of recs[0..n) as fit in out's cap and in
 * max (n is cut to P2PC_DGRAM_MAX_NODES). Returns the number of records
 * written (>= 0), or a negative error (nothing appended). */
int p2pc_dgram_nodes_put(p2pc_buf *out, size_t max, uint64_t token,
                         const p2pc_wire_record *sender,
                         const p2pc_wire_record *recs, size_t n);
/* Decodes one datagram of a node whose datagrams are max bytes at most (a
 * FINDNODE exactly). Returns len (> 0), or P2PC_ERR_PROTO (malformed, d
 * untouched). */
int p2pc_dgram_get(const uint8_t *b, size_t len, size_t max, p2pc_dgram *d);

#endif /* P2PC_DGRAM_H */
