/* SPDX-License-Identifier: MIT */
/*
 * p2pclock public API: error codes, the injectable allocator and version
 * constants shared by every module. Library users include only this file;
 * the protocol core's module headers (src/core/) build on it.
 */
#ifndef P2PCLOCK_H
#define P2PCLOCK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define P2PC_VERSION_STRING "0.1.0"

/*
 * Errors. 0 is success; negative is failure. System errors are -errno
 * (only the runtime produces those); the protocol's own errors live far
 * below any errno value so the two never collide.
 */
enum {
  P2PC_OK = 0,
  P2PC_ERR_NOMEM = -10001,    /* an allocation failed */
  P2PC_ERR_PROTO = -10002,    /* malformed input from the network */
  P2PC_ERR_FULL = -10003,     /* a bounded queue, buffer or table is full */
  P2PC_ERR_TOOBIG = -10004,   /* a value exceeds a configured maximum */
  P2PC_ERR_VERSION = -10005,  /* the peer speaks another protocol version */
  P2PC_ERR_INVAL = -10006,    /* an invalid argument (e.g. a bad node ID) */
  P2PC_ERR_NOTFOUND = -10007, /* no such entry */
  P2PC_ERR_AHEAD = -10008     /* a timestamp leads this node's clock too far */
};

/* Returns a static, human-readable name for an error code (ours or
 * -errno); never NULL. */
const char *p2pc_strerror(int err);

/*
 * All core allocation goes through one of these, so tests can fail the Nth
 * allocation and embedders can use their own arena. realloc(NULL, n) must
 * behave like malloc(n); free(NULL) must be a no-op.
 */
typedef struct p2pc_allocator {
  void *(*realloc)(void *ptr, size_t size, void *ud);
  void (*free)(void *ptr, void *ud);
  void *ud;
} p2pc_allocator;

/* The libc allocator (realloc/free). */
const p2pc_allocator *p2pc_allocator_default(void);

#ifdef __cplusplus
}
#endif

#endif /* P2PCLOCK_H */
