/* SPDX-License-Identifier: MIT */
/*
 * The broadcast frames (frame.h, PROTOCOL.md "Broadcast to the whole
 * network"): GOSSIP (a message pushed down the tree), IHAVE (ids
 * announced on the lazy links), GRAFT (ids asked for, joining the tree)
 * and PRUNE (leaving an origin's tree). Like every codec of the wire,
 * canonical: minimal varints, counts in range, no trailing bytes, so a decoder
 * accepts exactly what its encoder writes. The SES message inside GOSSIP is the
 * causal layer's to validate.
 */
#include "frame.h"

#include <string.h>

int p2pc_wire_gossip_put(p2pc_buf *out, uint64_t round, const uint8_t *msg,
                         size_t len) {
  if (round == 0 || len == 0)
    return P2PC_ERR_INVAL;
  size_t start = out->len;
  int rv = p2pc_buf_put_varint(out, round);
  if (!rv)
    rv = p2pc_buf_put(out, msg, len);
  if (rv)
    out->len = start;
  return rv;
}

int p2pc_wire_gossip_get(const uint8_t *b, size_t len, uint64_t *round,
                         const uint8_t **msg, size_t *msg_len) {
  p2pc_reader r;
  uint64_t v;
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &v) || v == 0 || p2pc_reader_left(&r) == 0)
    return P2PC_ERR_PROTO;
  *round = v;
  *msg = b + r.off;
  *msg_len = len - r.off;
  return (int)len;
}

int p2pc_wire_bcast_ids_put(p2pc_buf *out, const p2pc_wire_bcast_id *ids,
                            uint32_t count, uint32_t min_count) {
  if (count < min_count || count > P2PC_WIRE_MAX_BCAST_IDS)
    return P2PC_ERR_INVAL;
  for (uint32_t i = 0; i < count; i++) {
    size_t l = strnlen(ids[i].origin, P2PC_ID_MAX + 1);
    if (!p2pc_id_valid(ids[i].origin, l) || ids[i].n == 0)
      return P2PC_ERR_INVAL;
  }
  size_t start = out->len;
  int rv = p2pc_buf_put_varint(out, count);
  for (uint32_t i = 0; i < count && !rv; i++) {
    size_t l = strlen(ids[i].origin);
    rv = p2pc_buf_put_u8(out, (uint8_t)l);
    if (!rv)
      rv = p2pc_buf_put(out, ids[i].origin, l);
    if (!rv)
      rv = p2pc_buf_put_varint(out, ids[i].n);
    if (!rv)
      rv = p2pc_buf_put_varint(out, ids[i].round);
  }
  if (rv)
    out->len = start;
  return rv;
}

int p2pc_wire_bcast_ids_get(const uint8_t *b, size_t len, uint32_t min_count,
                            p2pc_wire_bcast_id *ids, uint32_t *count) {
  p2pc_reader r;
  uint64_t c;
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &c) || c < min_count ||
      c > P2PC_WIRE_MAX_BCAST_IDS)
    return P2PC_ERR_PROTO;
  /* Validate everything first: outputs only on success. */
  size_t body = r.off;
  for (uint64_t i = 0; i < c; i++) {
    uint8_t l;
    const uint8_t *p;
    uint64_t n, round;
    if (!p2pc_reader_u8(&r, &l) || !p2pc_reader_bytes(&r, l, &p) ||
        !p2pc_id_valid((const char *)p, l) || !p2pc_reader_varint(&r, &n) ||
        !p2pc_reader_varint(&r, &round) || n == 0)
      return P2PC_ERR_PROTO;
  }
  if (p2pc_reader_left(&r) != 0)
    return P2PC_ERR_PROTO;
  p2pc_reader_init(&r, b + body, len - body);
  for (uint64_t i = 0; i < c; i++) {
    uint8_t l;
    const uint8_t *p;
    p2pc_reader_u8(&r, &l);
    p2pc_reader_bytes(&r, l, &p);
    memcpy(ids[i].origin, p, l);
    ids[i].origin[l] = '\0';
    p2pc_reader_varint(&r, &ids[i].n);
    p2pc_reader_varint(&r, &ids[i].round);
  }
  *count = (uint32_t)c;
  return (int)len;
}

int p2pc_wire_prune_put(p2pc_buf *out, const char *origin) {
  size_t l = strnlen(origin, P2PC_ID_MAX + 1);
  if (!p2pc_id_valid(origin, l))
    return P2PC_ERR_INVAL;
  size_t start = out->len;
  int rv = p2pc_buf_put_u8(out, (uint8_t)l);
  if (!rv)
    rv = p2pc_buf_put(out, origin, l);
  if (rv)
    out->len = start;
  return rv;
}

int p2pc_wire_prune_get(const uint8_t *b, size_t len, char *origin) {
  p2pc_reader r;
  uint8_t l;
  const uint8_t *p;
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_u8(&r, &l) || !p2pc_reader_bytes(&r, l, &p) ||
      !p2pc_id_valid((const char *)p, l) || p2pc_reader_left(&r) != 0)
    return P2PC_ERR_PROTO;
  memcpy(origin, p, l);
  origin[l] = '\0';
  return (int)len;
}
