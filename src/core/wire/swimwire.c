/* SPDX-License-Identifier: MIT */
/*
 * The failure detector's frames (swimwire.h): PING_REQ, PING_REQ_ACK and
 * MEMBER, their encoders and their canonical decoders.
 */
#include "swimwire.h"

#include <string.h>

int p2pc_wire_pingreq_put(p2pc_buf *out, const char *target, uint64_t token) {
  size_t start = out->len;
  int rv = p2pc_wire_id_put(out, target);
  if (!rv)
    rv = p2pc_buf_put_be64(out, token);
  if (rv)
    out->len = start;
  return rv;
}

int p2pc_wire_pingreq_get(const uint8_t *b, size_t len,
                          char target[P2PC_NODE_ID_MAX + 1], uint64_t *token) {
  p2pc_reader r;
  char id[P2PC_NODE_ID_MAX + 1];
  uint64_t v = 0;
  p2pc_reader_init(&r, b, len);
  p2pc_wire_id_get(&r, id);
  p2pc_reader_be64(&r, &v);
  if (!r.ok || p2pc_reader_left(&r) != 0)
    return P2PC_ERR_PROTO;
  memcpy(target, id, strlen(id) + 1);
  *token = v;
  return (int)len;
}

int p2pc_wire_member_put(p2pc_buf *out, const p2pc_wire_member *m, size_t n) {
  size_t start = out->len;
  if (n < 1 || n > P2PC_WIRE_MEMBER_MAX)
    return P2PC_ERR_INVAL;
  int rv = p2pc_buf_put_varint(out, n);
  for (size_t i = 0; i < n && !rv; i++) {
    if (m[i].state < P2PC_MEMBER_ALIVE || m[i].state > P2PC_MEMBER_DOWN) {
      rv = P2PC_ERR_INVAL;
      break;
    }
    rv = p2pc_buf_put_u8(out, m[i].state);
    if (!rv)
      rv = p2pc_wire_id_put(out, m[i].id);
    if (!rv)
      rv = p2pc_buf_put_be64(out, m[i].incarnation);
    if (!rv)
      rv = p2pc_buf_put_varint(out, m[i].heard);
  }
  if (rv)
    out->len = start;
  return rv;
}

int p2pc_wire_member_get(const uint8_t *b, size_t len, p2pc_wire_member *m,
                         size_t max, size_t *n) {
  p2pc_reader r;
  uint64_t count = 0;
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &count) || count < 1 ||
      count > P2PC_WIRE_MEMBER_MAX || count > max)
    return P2PC_ERR_PROTO;
  /* Read all first: the outputs stay untouched on failure. */
  p2pc_reader probe = r;
  for (uint64_t i = 0; i < count && probe.ok; i++) {
    uint8_t st = 0;
    char id[P2PC_NODE_ID_MAX + 1];
    uint64_t inc = 0, heard = 0;
    p2pc_reader_u8(&probe, &st);
    p2pc_wire_id_get(&probe, id);
    p2pc_reader_be64(&probe, &inc);
    p2pc_reader_varint(&probe, &heard);
    if (st < P2PC_MEMBER_ALIVE || st > P2PC_MEMBER_DOWN)
      probe.ok = false;
  }
  if (!probe.ok || p2pc_reader_left(&probe) != 0)
    return P2PC_ERR_PROTO;
  for (uint64_t i = 0; i < count; i++) {
    p2pc_reader_u8(&r, &m[i].state);
    p2pc_wire_id_get(&r, m[i].id);
    p2pc_reader_be64(&r, &m[i].incarnation);
    p2pc_reader_varint(&r, &m[i].heard);
  }
  *n = (size_t)count;
  return (int)len;
}
