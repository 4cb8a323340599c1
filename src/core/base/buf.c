/* SPDX-License-Identifier: MIT */
/*
 * Capped output buffers and bounds-checked readers (see buf.h). Varints are
 * unsigned LEB128 and must be minimal on input, so every value has exactly
 * one encoding and decode(encode(x)) round-trips byte for byte.
 */
#include "buf.h"

#include <string.h>

void p2pc_buf_init(p2pc_buf *b, const p2pc_allocator *a, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
  b->alloc = a;
}

void p2pc_buf_fini(p2pc_buf *b) {
  b->alloc->free(b->data, b->alloc->ud);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void p2pc_buf_reset(p2pc_buf *b) { b->len = 0; }

int p2pc_buf_reserve(p2pc_buf *b, size_t n) {
  if (n > b->max || b->len > b->max - n)
    return P2PC_ERR_TOOBIG;
  size_t need = b->len + n;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  if (cap > b->max)
    cap = b->max;
  uint8_t *p = b->alloc->realloc(b->data, cap, b->alloc->ud);
  if (!p)
    return P2PC_ERR_NOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int p2pc_buf_put(p2pc_buf *b, const void *p, size_t n) {
  int rv = p2pc_buf_reserve(b, n);
  if (rv)
    return rv;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

int p2pc_buf_put_u8(p2pc_buf *b, uint8_t v) { return p2pc_buf_put(b, &v, 1); }

int p2pc_buf_put_be16(p2pc_buf *b, uint16_t v) {
  uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  return p2pc_buf_put(b, x, 2);
}

int p2pc_buf_put_be32(p2pc_buf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                  (uint8_t)v};
  return p2pc_buf_put(b, x, 4);
}

int p2pc_buf_put_be64(p2pc_buf *b, uint64_t v) {
  int rv = p2pc_buf_put_be32(b, (uint32_t)(v >> 32));
  if (rv)
    return rv;
  rv = p2pc_buf_put_be32(b, (uint32_t)v);
  if (rv)
    b->len -= 4; /* all or nothing */
  return rv;
}

size_t p2pc_varint_encode(uint8_t out[P2PC_VARINT_MAX], uint64_t v) {
  size_t n = 0;
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    out[n++] = byte | (v ? 0x80 : 0);
  } while (v);
  return n;
}

int p2pc_buf_put_varint(p2pc_buf *b, uint64_t v) {
  /* Room for the longest (cap never exceeds max): written in place, no
   * copy of a few bytes through memcpy. */
  if (b->cap - b->len >= P2PC_VARINT_MAX) {
    b->len += p2pc_varint_encode(b->data + b->len, v);
    return 0;
  }
  uint8_t x[P2PC_VARINT_MAX];
  return p2pc_buf_put(b, x, p2pc_varint_encode(x, v));
}

void p2pc_be16_write(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

void p2pc_be32_write(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

void p2pc_be64_write(uint8_t *p, uint64_t v) {
  p2pc_be32_write(p, (uint32_t)(v >> 32));
  p2pc_be32_write(p + 4, (uint32_t)v);
}

uint16_t p2pc_be16_read(const uint8_t *p) {
  return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t p2pc_be32_read(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
         ((uint32_t)p[2] << 8) | p[3];
}

uint64_t p2pc_be64_read(const uint8_t *p) {
  return ((uint64_t)p2pc_be32_read(p) << 32) | p2pc_be32_read(p + 4);
}

void p2pc_buf_patch_be32(p2pc_buf *b, size_t off, uint32_t v) {
  p2pc_be32_write(b->data + off, v);
}

size_t p2pc_varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

void p2pc_reader_init(p2pc_reader *r, const uint8_t *p, size_t len) {
  r->p = p;
  r->len = len;
  r->off = 0;
  r->ok = true;
}

size_t p2pc_reader_left(const p2pc_reader *r) { return r->len - r->off; }

static bool need(p2pc_reader *r, size_t n) {
  if (!r->ok || r->len - r->off < n) {
    r->ok = false;
    return false;
  }
  return true;
}

bool p2pc_reader_u8(p2pc_reader *r, uint8_t *v) {
  if (!need(r, 1))
    return false;
  *v = r->p[r->off++];
  return true;
}

bool p2pc_reader_be16(p2pc_reader *r, uint16_t *v) {
  if (!need(r, 2))
    return false;
  const uint8_t *p = r->p + r->off;
  *v = (uint16_t)((p[0] << 8) | p[1]);
  r->off += 2;
  return true;
}

bool p2pc_reader_be32(p2pc_reader *r, uint32_t *v) {
  if (!need(r, 4))
    return false;
  const uint8_t *p = r->p + r->off;
  *v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
       p[3];
  r->off += 4;
  return true;
}

bool p2pc_reader_be64(p2pc_reader *r, uint64_t *v) {
  uint32_t hi = 0, lo = 0;
  if (!need(r, 8))
    return false;
  p2pc_reader_be32(r, &hi);
  p2pc_reader_be32(r, &lo);
  *v = ((uint64_t)hi << 32) | lo;
  return true;
}

bool p2pc_reader_varint(p2pc_reader *r, uint64_t *v) {
  if (!r->ok)
    return false;
  uint64_t x = 0;
  for (size_t i = 0; i < P2PC_VARINT_MAX; i++) {
    if (r->off + i >= r->len)
      break;
    uint8_t byte = r->p[r->off + i];
    /* The tenth byte may only carry the top bit of a uint64_t. */
    if (i == P2PC_VARINT_MAX - 1 && byte > 1)
      break;
    x |= (uint64_t)(byte & 0x7f) << (7 * i);
    if (!(byte & 0x80)) {
      /* Minimal encodings only: a trailing zero byte is padding. */
      if (i > 0 && byte == 0)
        break;
      r->off += i + 1;
      *v = x;
      return true;
    }
  }
  r->ok = false;
  return false;
}

bool p2pc_reader_bytes(p2pc_reader *r, size_t n, const uint8_t **p) {
  if (!need(r, n))
    return false;
  *p = r->p + r->off;
  r->off += n;
  return true;
}
