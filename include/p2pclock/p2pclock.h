/* SPDX-License-Identifier: MIT */
/*
 * libp2pclock: version, errors, allocator, logger and clock readings —
 * what every part of the library shares. Applications include
 * <p2pclock/node.h> (the sans-I/O node) or <p2pclock/uv.h> (the node on a
 * libuv loop), which include this file.
 *
 * Conventions of the whole API: 0 is success and a negative value an error
 * with a name (p2pc_errname); times are nanoseconds in 64-bit integers
 * (monotonic ones unsigned, wall-clock ones signed since the Unix epoch);
 * strings passed in are borrowed for the call, strings handed out are
 * valid until the next call on the same object unless said otherwise.
 */
#ifndef P2PCLOCK_P2PCLOCK_H
#define P2PCLOCK_P2PCLOCK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exported symbols: the library is built with -fvisibility=hidden, so only
 * what this API declares with P2PC_EXTERN is visible to applications. */
#if defined(__GNUC__) || defined(__clang__)
#define P2PC_EXTERN __attribute__((visibility("default")))
#else
#define P2PC_EXTERN
#endif

#define P2PC_VERSION_MAJOR 0
#define P2PC_VERSION_MINOR 2
#define P2PC_VERSION_PATCH 0
#define P2PC_VERSION_STRING "0.2.0"
/* (major << 16) | (minor << 8) | patch, for compile-time comparisons. */
#define P2PC_VERSION_NUM                                                       \
  ((P2PC_VERSION_MAJOR << 16) | (P2PC_VERSION_MINOR << 8) | P2PC_VERSION_PATCH)

/* The version of the library actually linked, as P2PC_VERSION_NUM. */
P2PC_EXTERN unsigned p2pc_version(void);
P2PC_EXTERN const char *p2pc_version_string(void);

/*
 * Errors. 0 is success; negative is failure. System errors are -errno
 * (only the I/O layers produce those); the protocol's own errors live far
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
  P2PC_ERR_AHEAD = -10008,    /* a timestamp leads this node's clock too far */
  P2PC_ERR_CLOSED = -10009,   /* the object is closing or closed */
  P2PC_ERR_AGAIN = -10010     /* not yet: being resolved, try again later */
};

/* A short description of an error code (ours or -errno); never NULL. */
P2PC_EXTERN const char *p2pc_strerror(int err);
/* The error's name: "P2PC_ERR_FULL", or for -errno the errno macro's name
 * ("ECONNREFUSED"), "P2PC_OK" for 0, "unknown" otherwise; never NULL. */
P2PC_EXTERN const char *p2pc_errname(int err);

/*
 * All allocation goes through one of these, so tests can fail the Nth
 * allocation and embedders can use their own arena. realloc(NULL, n) must
 * behave like malloc(n); free(NULL) must be a no-op.
 */
typedef struct p2pc_allocator {
  void *(*realloc)(void *ptr, size_t size, void *ud);
  void (*free)(void *ptr, void *ud);
  void *ud;
} p2pc_allocator;

/* The libc allocator (realloc/free). */
P2PC_EXTERN const p2pc_allocator *p2pc_allocator_default(void);

typedef enum p2pc_log_level {
  P2PC_LOG_ERROR,
  P2PC_LOG_WARN,
  P2PC_LOG_INFO,
  P2PC_LOG_DEBUG
} p2pc_log_level;

/* The human log: one line's text ("module: text key=value", no newline),
 * borrowed for the call. Lines above `level` are not even built. */
typedef struct p2pc_logger {
  void (*log)(void *ud, p2pc_log_level level, const char *text);
  void *ud;
  p2pc_log_level level;
} p2pc_logger;

/* "error", "warn", "info", "debug". */
P2PC_EXTERN const char *p2pc_log_level_name(p2pc_log_level level);

/* The clock readings the caller passes into the sans-I/O node with every
 * input: a monotonic clock for timers, and the node's local wall clock. */
typedef struct p2pc_now {
  uint64_t mono_ns; /* monotonic: timers only */
  int64_t local_ns; /* the node's local clock, ns since the Unix epoch */
} p2pc_now;

/* A node's network address: family 0 = none, 4 = IPv4, 6 = IPv6; addr
 * holds 4 or 16 bytes in network order; port in host order. */
typedef struct p2pc_addr {
  uint8_t family;
  uint8_t addr[16];
  uint16_t port;
} p2pc_addr;

/* Parses "127.0.0.1:9000" or "[::1]:9000" (literals only; names are the
 * I/O layer's business). Returns 0 or P2PC_ERR_INVAL. */
P2PC_EXTERN int p2pc_addr_parse(p2pc_addr *a, const char *s);
/* Writes "127.0.0.1:9000", "[0:0:0:0:0:0:0:1]:9000" (uncompressed) or "-"
 * (family 0) into s (cap >= 48 always suffices). */
P2PC_EXTERN void p2pc_addr_format(const p2pc_addr *a, char *s, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* P2PCLOCK_P2PCLOCK_H */
