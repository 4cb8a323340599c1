/* SPDX-License-Identifier: MIT */
/* The overlay's datagrams: see dgram.h. */
#include "dgram.h"

#include <p2pclock/node.h>

#include <string.h>

bool p2pc_dgram_is_overlay(const uint8_t *b, size_t len) {
  return len >= P2PC_DGRAM_MAGIC_LEN && b[0] == P2PC_DGRAM_MAGIC0 &&
         b[1] == P2PC_DGRAM_MAGIC1 && b[2] == P2PC_DGRAM_MAGIC2;
}

static int put_head(p2pc_buf *out, uint8_t type, uint64_t token,
                    const p2pc_wire_record *sender) {
  const uint8_t magic[P2PC_DGRAM_MAGIC_LEN] = {
      P2PC_DGRAM_MAGIC0, P2PC_DGRAM_MAGIC1, P2PC_DGRAM_MAGIC2};
  int rv = p2pc_buf_put(out, magic, sizeof magic);
  if (!rv)
    rv = p2pc_buf_put_u8(out, type);
  if (!rv)
    rv = p2pc_buf_put_be64(out, token);
  if (!rv)
    rv = p2pc_wire_record_put(out, sender);
  return rv;
}

int p2pc_dgram_findnode_put(p2pc_buf *out, size_t max, uint64_t token,
                            const p2pc_wire_record *sender, uint64_t target) {
  size_t start = out->len;
  if (max > P2PC_DATAGRAM_MAX)
    return P2PC_ERR_INVAL;
  int rv = put_head(out, P2PC_DGRAM_FINDNODE, token, sender);
  if (!rv)
    rv = p2pc_buf_put_be64(out, target);
  if (!rv && out->len - start > max)
    rv = P2PC_ERR_TOOBIG;
  /* padded to the whole datagram: no answer is ever longer (a forged
   * source address gains nothing by it) */
  if (!rv)
    rv = p2pc_buf_reserve(out, max - (out->len - start));
  if (!rv) {
    size_t pad = max - (out->len - start);
    memset(out->data + out->len, 0, pad);
    out->len += pad;
  }
  if (rv)
    out->len = start;
  return rv;
}

int p2pc_dgram_nodes_put(p2pc_buf *out, size_t max, uint64_t token,
                         const p2pc_wire_record *sender,
                         const p2pc_wire_record *recs, size_t n) {
  size_t start = out->len;
  if (max > P2PC_DATAGRAM_MAX)
    return P2PC_ERR_INVAL;
  int rv = put_head(out, P2PC_DGRAM_NODES, token, sender);
  if (!rv)
    rv = p2pc_buf_put_u8(out, 0); /* the count (<= 8: one varint byte) */
  if (!rv && out->len - start > max)
    rv = P2PC_ERR_TOOBIG;
  if (rv) {
    out->len = start;
    return rv;
  }
  size_t at = out->len - 1, k = 0;
  if (n > P2PC_DGRAM_MAX_NODES)
    n = P2PC_DGRAM_MAX_NODES;
  for (; k < n; k++) {
    size_t before = out->len;
    if (p2pc_wire_record_put(out, &recs[k]) != 0)
      break; /* out's cap: it did not fit */
    if (out->len - start > max) {
      out->len = before;
      break;
    }
  }
  out->data[at] = (uint8_t)k;
  return (int)k;
}

int p2pc_dgram_get(const uint8_t *b, size_t len, size_t max, p2pc_dgram *d) {
  p2pc_reader r;
  const uint8_t *magic;
  uint64_t count = 0;
  p2pc_dgram v; /* written to d only on success */
  if (len > max || max > P2PC_DATAGRAM_MAX || !p2pc_dgram_is_overlay(b, len))
    return P2PC_ERR_PROTO;
  memset(&v, 0, sizeof v);
  p2pc_reader_init(&r, b, len);
  p2pc_reader_bytes(&r, P2PC_DGRAM_MAGIC_LEN, &magic);
  if (!p2pc_reader_u8(&r, &v.type) ||
      (v.type != P2PC_DGRAM_FINDNODE && v.type != P2PC_DGRAM_NODES))
    return P2PC_ERR_PROTO;
  p2pc_reader_be64(&r, &v.token);
  p2pc_wire_record_get(&r, &v.sender);
  if (v.type == P2PC_DGRAM_FINDNODE) {
    p2pc_reader_be64(&r, &v.target);
    if (len != max)
      return P2PC_ERR_PROTO;
    while (r.ok && p2pc_reader_left(&r) && b[r.off] == 0)
      r.off++; /* the padding: zeros */
  } else {
    if (!p2pc_reader_varint(&r, &count) || count > P2PC_DGRAM_MAX_NODES)
      return P2PC_ERR_PROTO;
    v.count = (uint32_t)count;
    for (uint32_t i = 0; i < v.count && r.ok; i++)
      p2pc_wire_record_get(&r, &v.nodes[i]);
  }
  if (!r.ok || p2pc_reader_left(&r) != 0)
    return P2PC_ERR_PROTO;
  *d = v;
  return (int)len;
}
