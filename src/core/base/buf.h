/* SPDX-License-Identifier: MIT */
/*
 * Byte buffers for the wire codec: a growable output buffer with a hard cap
 * (curl's dynbuf idea: every growing buffer has a limit) and a bounds-checked
 * reader. All multi-byte integers are written explicitly, big-endian or as
 * unsigned LEB128 varints; nothing is ever cast onto a packet.
 */
#ifndef P2PC_BUF_H
#define P2PC_BUF_H

#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest LEB128 encoding of a uint64_t. */
#define P2PC_VARINT_MAX 10

typedef struct p2pc_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
  size_t max; /* hard cap on len; growing past it fails with TOOBIG */
  const p2pc_allocator *alloc;
} p2pc_buf;

/* Embeds an empty buffer that may grow to max bytes. Allocates nothing. */
void p2pc_buf_init(p2pc_buf *b, const p2pc_allocator *a, size_t max);
/* Releases the storage; the buffer is empty (and reusable) afterwards. */
void p2pc_buf_fini(p2pc_buf *b);
/* Empties the buffer, keeping its storage. */
void p2pc_buf_reset(p2pc_buf *b);
/* Makes room for n more bytes. Returns 0, P2PC_ERR_TOOBIG (past max) or
 * P2PC_ERR_NOMEM. On failure the buffer is unchanged. */
int p2pc_buf_reserve(p2pc_buf *b, size_t n);

/* Appenders. Each returns 0 or the error of p2pc_buf_reserve; on failure
 * nothing is appended. */
int p2pc_buf_put(p2pc_buf *b, const void *p, size_t n);
int p2pc_buf_put_u8(p2pc_buf *b, uint8_t v);
int p2pc_buf_put_be16(p2pc_buf *b, uint16_t v);
int p2pc_buf_put_be32(p2pc_buf *b, uint32_t v);
int p2pc_buf_put_be64(p2pc_buf *b, uint64_t v);
int p2pc_buf_put_varint(p2pc_buf *b, uint64_t v);
/* Overwrites 4 bytes at off (which must already be inside the buffer). */
void p2pc_buf_patch_be32(p2pc_buf *b, size_t off, uint32_t v);
/* Big-endian at p[0..2), p[0..4), p[0..8): fixed-size fields. */
void p2pc_be16_write(uint8_t *p, uint16_t v);
void p2pc_be32_write(uint8_t *p, uint32_t v);
void p2pc_be64_write(uint8_t *p, uint64_t v);
uint16_t p2pc_be16_read(const uint8_t *p);
uint32_t p2pc_be32_read(const uint8_t *p);
uint64_t p2pc_be64_read(const uint8_t *p);
/* Encodes v as a minimal varint at out; returns its length (1..10). */
size_t p2pc_varint_encode(uint8_t out[P2PC_VARINT_MAX], uint64_t v);

/* Number of bytes p2pc_buf_put_varint writes for v (1..10). */
size_t p2pc_varint_len(uint64_t v);

/*
 * A reader over borrowed bytes. Every getter returns false, and leaves its
 * output untouched, if the input is too short or malformed (a varint longer
 * than 10 bytes, or one that overflows 64 bits, or a non-minimal encoding).
 * After the first failure `ok` stays false, so a decoder may run a sequence
 * of gets and test `ok` once.
 */
typedef struct p2pc_reader {
  const uint8_t *p;
  size_t len;
  size_t off;
  bool ok;
} p2pc_reader;

void p2pc_reader_init(p2pc_reader *r, const uint8_t *p, size_t len);
size_t p2pc_reader_left(const p2pc_reader *r);
bool p2pc_reader_u8(p2pc_reader *r, uint8_t *v);
bool p2pc_reader_be16(p2pc_reader *r, uint16_t *v);
bool p2pc_reader_be32(p2pc_reader *r, uint32_t *v);
bool p2pc_reader_be64(p2pc_reader *r, uint64_t *v);
bool p2pc_reader_varint(p2pc_reader *r, uint64_t *v);
/* Borrows n bytes: *p points into the reader's input. */
bool p2pc_reader_bytes(p2pc_reader *r, size_t n, const uint8_t **p);

#endif /* P2PC_BUF_H */
