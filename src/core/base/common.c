/* SPDX-License-Identifier: MIT */
/*
 * Error names and the default allocator: the two things every module of the
 * core shares. Kept free of stdio and of strerror(3), whose buffer is shared
 * state; the runtime names -errno values itself.
 */
#include "p2pclock.h"

#include <stdlib.h>

const char *p2pc_strerror(int err) {
  switch (err) {
  case P2PC_OK:
    return "success";
  case P2PC_ERR_NOMEM:
    return "out of memory";
  case P2PC_ERR_PROTO:
    return "malformed protocol input";
  case P2PC_ERR_FULL:
    return "queue or table full";
  case P2PC_ERR_TOOBIG:
    return "value exceeds its maximum";
  case P2PC_ERR_VERSION:
    return "unsupported protocol version";
  case P2PC_ERR_INVAL:
    return "invalid argument";
  case P2PC_ERR_NOTFOUND:
    return "not found";
  case P2PC_ERR_AHEAD:
    return "timestamp too far ahead of this node's clock";
  default:
    return err < 0 ? "system error" : "unknown error";
  }
}

static void *libc_realloc(void *ptr, size_t size, void *ud) {
  (void)ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, size);
}

static void libc_free(void *ptr, void *ud) {
  (void)ud;
  free(ptr);
}

static const p2pc_allocator libc_allocator = {libc_realloc, libc_free, NULL};

const p2pc_allocator *p2pc_allocator_default(void) { return &libc_allocator; }
