/* SPDX-License-Identifier: MIT */
/*
 * A counting allocator for tests (SQLite's test_vfs idea): it can fail the
 * Nth allocation from now, so a test can prove that a failed allocation
 * leaves the state as it was.
 */
#ifndef P2PC_TEST_FAILALLOC_H
#define P2PC_TEST_FAILALLOC_H

#include <stdlib.h>

#include <p2pclock/p2pclock.h>

typedef struct failalloc {
  p2pc_allocator a;
  long countdown; /* fail when it reaches 0; < 0 = never */
  long calls;
  long live;
} failalloc;

static void *failalloc_realloc(void *ptr, size_t size, void *ud) {
  failalloc *f = ud;
  if (size == 0) {
    if (ptr)
      f->live--;
    free(ptr);
    return NULL;
  }
  f->calls++;
  if (f->countdown >= 0 && f->countdown-- == 0)
    return NULL;
  void *p = realloc(ptr, size);
  if (p && !ptr)
    f->live++;
  return p;
}

static void failalloc_free(void *ptr, void *ud) {
  failalloc *f = ud;
  if (ptr)
    f->live--;
  free(ptr);
}

static inline void failalloc_init(failalloc *f) {
  f->a.realloc = failalloc_realloc;
  f->a.free = failalloc_free;
  f->a.ud = f;
  f->countdown = -1;
  f->calls = 0;
  f->live = 0;
}

#endif
