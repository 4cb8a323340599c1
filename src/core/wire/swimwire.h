/* SPDX-License-Identifier: MIT */
/*
 * The failure detector's frames (PROTOCOL.md, "Failure detection"):
 *
 *   PING_REQ (12)      `id target`, `be64 token`: probe target for me
 *   PING_REQ_ACK (13)  `id target`, `be64 token`: target answered
 *   MEMBER (14)        `varint count (1..64)`, count x (`u8 state`
 *                      1 alive | 2 suspect | 3 down, `id node`,
 *                      `be64 incarnation`, `varint heard`)
 *
 * PING and PONG (6, 7) are frame.h's. Every decoder is canonical: the
 * bytes its encoder writes are the only ones it takes; on failure it
 * returns P2PC_ERR_PROTO and leaves its outputs untouched.
 */
#ifndef P2PC_SWIMWIRE_H
#define P2PC_SWIMWIRE_H

#include "frame.h"

#define P2PC_WIRE_MEMBER_MAX 64

typedef enum p2pc_member_state {
  P2PC_MEMBER_ALIVE = 1,
  P2PC_MEMBER_SUSPECT = 2,
  P2PC_MEMBER_DOWN = 3
} p2pc_member_state;

typedef struct p2pc_wire_member {
  uint8_t state; /* p2pc_member_state */
  char id[P2PC_NODE_ID_MAX + 1];
  uint64_t incarnation;
  uint64_t heard;
} p2pc_wire_member;

/* PING_REQ and PING_REQ_ACK share a body. */
int p2pc_wire_pingreq_put(p2pc_buf *out, const char *target, uint64_t token);
int p2pc_wire_pingreq_get(const uint8_t *b, size_t len,
                          char target[P2PC_NODE_ID_MAX + 1], uint64_t *token);

int p2pc_wire_member_put(p2pc_buf *out, const p2pc_wire_member *m, size_t n);
/* Up to max records into m; *n gets the count. */
int p2pc_wire_member_get(const uint8_t *b, size_t len, p2pc_wire_member *m,
                         size_t max, size_t *n);

#endif /* P2PC_SWIMWIRE_H */
