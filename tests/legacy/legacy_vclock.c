/* SPDX-License-Identifier: MIT */
/*
 * The oracle's sparse vector clocks (legacy_ses.h): a frozen copy of
 * src/core/vclock.c at commit 9a2694a, symbols renamed lses_. Do not change
 * its behaviour.
 *
 * Sorted (id, value) arrays without zeros.
 * Every operation is a linear merge-walk of two sorted arrays; mutations
 * build their result in place or in a fresh array so that a failed
 * allocation leaves the clock as it was.
 */
#include "legacy_ses.h"

#include <string.h>

void lses_vclock_init(lses_vclock *vc) {
  vc->e = NULL;
  vc->n = 0;
  vc->cap = 0;
}

void lses_vclock_fini(lses_vclock *vc, const p2pc_allocator *a) {
  a->free(vc->e, a->ud);
  lses_vclock_init(vc);
}

void lses_vclock_clear(lses_vclock *vc) { vc->n = 0; }

static int reserve(lses_vclock *vc, const p2pc_allocator *a, uint32_t n) {
  if (n <= vc->cap)
    return 0;
  if (n > LSES_VCLOCK_MAX)
    return P2PC_ERR_FULL;
  uint32_t cap = vc->cap ? vc->cap : 4;
  while (cap < n)
    cap *= 2;
  if (cap > LSES_VCLOCK_MAX)
    cap = LSES_VCLOCK_MAX;
  lses_vc_entry *e = a->realloc(vc->e, (size_t)cap * sizeof *e, a->ud);
  if (!e)
    return P2PC_ERR_NOMEM;
  vc->e = e;
  vc->cap = cap;
  return 0;
}

/* Index of the first entry with id >= id. */
static uint32_t lower_bound(const lses_vclock *vc, uint32_t id) {
  uint32_t lo = 0, hi = vc->n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (vc->e[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

uint64_t lses_vclock_get(const lses_vclock *vc, uint32_t id) {
  uint32_t i = lower_bound(vc, id);
  return i < vc->n && vc->e[i].id == id ? vc->e[i].v : 0;
}

int lses_vclock_set(lses_vclock *vc, const p2pc_allocator *a, uint32_t id,
                    uint64_t v) {
  uint32_t i = lower_bound(vc, id);
  bool present = i < vc->n && vc->e[i].id == id;
  if (present) {
    if (v) {
      vc->e[i].v = v;
    } else {
      memmove(vc->e + i, vc->e + i + 1, (vc->n - i - 1) * sizeof *vc->e);
      vc->n--;
    }
    return 0;
  }
  if (!v)
    return 0;
  int rv = reserve(vc, a, vc->n + 1);
  if (rv)
    return rv;
  memmove(vc->e + i + 1, vc->e + i, (vc->n - i) * sizeof *vc->e);
  vc->e[i].id = id;
  vc->e[i].v = v;
  vc->n++;
  return 0;
}

int lses_vclock_tick(lses_vclock *vc, const p2pc_allocator *a, uint32_t id) {
  uint64_t v = lses_vclock_get(vc, id);
  if (v == UINT64_MAX)
    return P2PC_ERR_TOOBIG;
  return lses_vclock_set(vc, a, id, v + 1);
}

int lses_vclock_copy(lses_vclock *dst, const p2pc_allocator *a,
                     const lses_vclock *src) {
  if (dst == src)
    return 0;
  int rv = reserve(dst, a, src->n);
  if (rv)
    return rv;
  if (src->n)
    memcpy(dst->e, src->e, src->n * sizeof *src->e);
  dst->n = src->n;
  return 0;
}

static uint32_t union_size(const lses_vclock *dst, const lses_vclock *src) {
  uint32_t i = 0, j = 0, n = 0;
  while (i < dst->n || j < src->n) {
    if (j == src->n || (i < dst->n && dst->e[i].id < src->e[j].id))
      i++;
    else if (i == dst->n || src->e[j].id < dst->e[i].id)
      j++;
    else
      i++, j++;
    n++;
  }
  return n;
}

int lses_vclock_reserve_merge(lses_vclock *dst, const p2pc_allocator *a,
                              const lses_vclock *src) {
  return reserve(dst, a, union_size(dst, src));
}

int lses_vclock_merge(lses_vclock *dst, const p2pc_allocator *a,
                      const lses_vclock *src) {
  /* Merge backwards in place so no scratch array is needed and dst is
   * untouched if the reserve fails. */
  uint32_t n = union_size(dst, src), i, j;
  int rv = reserve(dst, a, n);
  if (rv)
    return rv;
  i = dst->n;
  j = src->n;
  uint32_t k = n;
  while (j > 0) {
    const lses_vc_entry *s = &src->e[j - 1];
    if (i > 0 && dst->e[i - 1].id > s->id) {
      dst->e[--k] = dst->e[--i];
    } else if (i > 0 && dst->e[i - 1].id == s->id) {
      lses_vc_entry x = dst->e[--i];
      if (s->v > x.v)
        x.v = s->v;
      dst->e[--k] = x;
      j--;
    } else {
      dst->e[--k] = *s;
      j--;
    }
  }
  /* The remaining dst->e[0..i) are already in place (k == i). */
  dst->n = n;
  return 0;
}

bool lses_vclock_leq(const lses_vclock *a, const lses_vclock *b) {
  uint32_t j = 0;
  for (uint32_t i = 0; i < a->n; i++) {
    while (j < b->n && b->e[j].id < a->e[i].id)
      j++;
    if (j == b->n || b->e[j].id != a->e[i].id || b->e[j].v < a->e[i].v)
      return false;
  }
  return true;
}

bool lses_vclock_eq(const lses_vclock *a, const lses_vclock *b) {
  if (a->n != b->n)
    return false;
  /* Field by field: the entry struct has padding, so no memcmp. */
  for (uint32_t i = 0; i < a->n; i++)
    if (a->e[i].id != b->e[i].id || a->e[i].v != b->e[i].v)
      return false;
  return true;
}

lses_vc_order lses_vclock_compare(const lses_vclock *a, const lses_vclock *b) {
  bool le = lses_vclock_leq(a, b), ge = lses_vclock_leq(b, a);
  if (le && ge)
    return LSES_VC_EQUAL;
  if (le)
    return LSES_VC_BEFORE;
  if (ge)
    return LSES_VC_AFTER;
  return LSES_VC_CONCURRENT;
}

int lses_vclock_encode(const lses_vclock *vc, p2pc_buf *out) {
  size_t start = out->len;
  int rv = p2pc_buf_put_varint(out, vc->n);
  uint32_t prev = 0;
  for (uint32_t i = 0; i < vc->n && !rv; i++) {
    rv = p2pc_buf_put_varint(out, vc->e[i].id - prev);
    if (!rv)
      rv = p2pc_buf_put_varint(out, vc->e[i].v);
    prev = vc->e[i].id;
  }
  if (rv)
    out->len = start;
  return rv;
}

int lses_vclock_decode(lses_vclock *vc, const p2pc_allocator *a,
                       const uint8_t *p, size_t len, uint32_t id_limit) {
  p2pc_reader r;
  uint64_t count;
  p2pc_reader_init(&r, p, len);
  if (!p2pc_reader_varint(&r, &count) || count > LSES_VCLOCK_MAX ||
      count > id_limit || count * 2 > p2pc_reader_left(&r))
    return P2PC_ERR_PROTO;
  /* Validate fully before touching vc. */
  size_t body = r.off;
  uint64_t id = 0;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t d, v;
    if (!p2pc_reader_varint(&r, &d) || !p2pc_reader_varint(&r, &v))
      return P2PC_ERR_PROTO;
    if ((i > 0 && d == 0) || v == 0 || d >= id_limit || id + d >= id_limit)
      return P2PC_ERR_PROTO;
    id += d;
  }
  lses_vclock tmp;
  lses_vclock_init(&tmp);
  int rv = reserve(&tmp, a, (uint32_t)count);
  if (rv)
    return rv;
  p2pc_reader_init(&r, p + body, len - body);
  id = 0;
  for (uint64_t i = 0; i < count; i++) {
    uint64_t d, v;
    p2pc_reader_varint(&r, &d);
    p2pc_reader_varint(&r, &v);
    id += d;
    tmp.e[i].id = (uint32_t)id;
    tmp.e[i].v = v;
  }
  tmp.n = (uint32_t)count;
  lses_vclock_fini(vc, a);
  *vc = tmp;
  return (int)(body + r.off);
}
