/* SPDX-License-Identifier: MIT */
/*
 * Sparse vector clocks keyed by interned node IDs (idtab.h). Entries are kept
 * sorted by ID with no zero values, so a missing entry means 0, equality is
 * one pass and compare/merge are one linear pass over both clocks.
 *
 * Clocks own their entry array; mutating calls take the allocator. A clock
 * never holds more than P2PC_VCLOCK_MAX entries (callers bound the number of
 * node IDs anyway; this is the codec's hard limit).
 */
#ifndef P2PC_VCLOCK_H
#define P2PC_VCLOCK_H

#include "buf.h"
#include "p2pclock.h"

#include <stdbool.h>
#include <stdint.h>

#define P2PC_VCLOCK_MAX 65536

typedef struct p2pc_vc_entry {
  uint32_t id;
  uint64_t v; /* > 0 */
} p2pc_vc_entry;

typedef struct p2pc_vclock {
  p2pc_vc_entry *e;
  uint32_t n;
  uint32_t cap;
} p2pc_vclock;

typedef enum p2pc_vc_order {
  P2PC_VC_EQUAL,
  P2PC_VC_BEFORE,    /* a < b: a <= b component-wise and a != b */
  P2PC_VC_AFTER,     /* a > b */
  P2PC_VC_CONCURRENT /* neither */
} p2pc_vc_order;

void p2pc_vclock_init(p2pc_vclock *vc);
void p2pc_vclock_fini(p2pc_vclock *vc, const p2pc_allocator *a);
void p2pc_vclock_clear(p2pc_vclock *vc);

/* Entry for id, 0 if absent. */
uint64_t p2pc_vclock_get(const p2pc_vclock *vc, uint32_t id);
/* Sets entry id to v (0 removes it). 0, P2PC_ERR_FULL or P2PC_ERR_NOMEM. */
int p2pc_vclock_set(p2pc_vclock *vc, const p2pc_allocator *a, uint32_t id,
                    uint64_t v);
/* Increments entry id. 0, P2PC_ERR_FULL, P2PC_ERR_NOMEM or P2PC_ERR_TOOBIG
 * (the counter would wrap). */
int p2pc_vclock_tick(p2pc_vclock *vc, const p2pc_allocator *a, uint32_t id);
/* dst := dst max src, component-wise. On failure dst is unchanged. */
int p2pc_vclock_merge(p2pc_vclock *dst, const p2pc_allocator *a,
                      const p2pc_vclock *src);
/* Makes room in dst for merging src, so that a following
 * p2pc_vclock_merge(dst, a, src) cannot fail: lets a caller allocate
 * everything first and then commit a multi-clock update atomically. */
int p2pc_vclock_reserve_merge(p2pc_vclock *dst, const p2pc_allocator *a,
                              const p2pc_vclock *src);
/* dst := src. On failure dst is unchanged. */
int p2pc_vclock_copy(p2pc_vclock *dst, const p2pc_allocator *a,
                     const p2pc_vclock *src);

/* a <= b component-wise (missing entries are 0). */
bool p2pc_vclock_leq(const p2pc_vclock *a, const p2pc_vclock *b);
bool p2pc_vclock_eq(const p2pc_vclock *a, const p2pc_vclock *b);
p2pc_vc_order p2pc_vclock_compare(const p2pc_vclock *a, const p2pc_vclock *b);

/*
 * Compact, self-contained encoding (used in snapshots and tests; the DATA
 * frame uses a per-message dictionary instead, see wire.h):
 *   varint count, then count x (varint id_delta, varint value)
 * where ids ascend and id_delta is the gap from the previous id (the first
 * is the id itself). Ids here are the caller's table's ids.
 */
int p2pc_vclock_encode(const p2pc_vclock *vc, p2pc_buf *out);
/* Decodes into vc (replacing its contents). Returns bytes consumed (> 0),
 * or P2PC_ERR_PROTO (truncated, zero value, id overflow, count too big) or
 * P2PC_ERR_NOMEM; vc is unchanged on failure. id_limit bounds the ids. */
int p2pc_vclock_decode(p2pc_vclock *vc, const p2pc_allocator *a,
                       const uint8_t *p, size_t len, uint32_t id_limit);

#endif /* P2PC_VCLOCK_H */
