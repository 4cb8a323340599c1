/* SPDX-License-Identifier: MIT */
/*
 * The counting allocator of simmem.h: libc's allocator with a header in
 * front of each block that remembers its size, aligned like anything
 * malloc returns.
 */
#include "simmem.h"

#include <stdlib.h>
#include <string.h>

typedef union hdr {
  size_t size;
  max_align_t align;
} hdr;

_Static_assert(sizeof(hdr) == P2PC_SIMMEM_HDR, "the header is max_align_t");

static void *count_realloc(void *p, size_t n, void *ud) {
  return p2pc_simmem_realloc(ud, p, n);
}

static void count_free(void *p, void *ud) { p2pc_simmem_free(ud, p); }

void p2pc_simmem_init(p2pc_simmem *m) {
  memset(m, 0, sizeof *m);
  m->a.realloc = count_realloc;
  m->a.free = count_free;
  m->a.ud = m;
}

void p2pc_simmem_charge(p2pc_simmem *m, uint64_t n) {
  m->live += n;
  if (m->live > m->peak)
    m->peak = m->live;
}

void p2pc_simmem_credit(p2pc_simmem *m, uint64_t n) {
  m->live = n < m->live ? m->live - n : 0;
}

void *p2pc_simmem_realloc(p2pc_simmem *m, void *p, size_t n) {
  hdr *h = p ? (hdr *)p - 1 : NULL;
  if (n == 0) {
    p2pc_simmem_free(m, p);
    return NULL;
  }
  size_t old = h ? h->size : 0; /* read before realloc moves the block */
  hdr *q = n <= SIZE_MAX - sizeof *h ? realloc(h, sizeof *q + n) : NULL;
  if (!q) {
    m->failed++;
    return NULL; /* p, if any, is as it was */
  }
  q->size = n;
  if (!h) {
    m->blocks++;
    p2pc_simmem_charge(m, sizeof *q + n);
  } else if (n >= old) {
    p2pc_simmem_charge(m, n - old);
  } else {
    p2pc_simmem_credit(m, old - n);
  }
  return q + 1;
}

void *p2pc_simmem_alloc(p2pc_simmem *m, size_t n) {
  return p2pc_simmem_realloc(m, NULL, n ? n : 1);
}

void *p2pc_simmem_calloc(p2pc_simmem *m, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) {
    m->failed++;
    return NULL;
  }
  size_t n = count * size;
  void *p = p2pc_simmem_alloc(m, n);
  if (p)
    memset(p, 0, n);
  return p;
}

void p2pc_simmem_free(p2pc_simmem *m, void *p) {
  if (!p)
    return;
  hdr *h = (hdr *)p - 1;
  p2pc_simmem_credit(m, sizeof *h + h->size);
  m->blocks--;
  free(h);
}
