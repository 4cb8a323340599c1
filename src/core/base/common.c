/* SPDX-License-Identifier: MIT */
/*
 * Error names, the version and the default allocator: what every module of
 * the library shares. Kept free of stdio and of strerror(3), whose buffer
 * is shared state: -errno values are named from a table of the ones a
 * network node meets (others read "system error").
 */
#include "types.h"
#include <p2pclock/p2pclock.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

unsigned p2pc_version(void) { return P2PC_VERSION_NUM; }
const char *p2pc_version_string(void) { return P2PC_VERSION_STRING; }

typedef struct err_entry {
  int code;
  const char *name, *text;
} err_entry;

static const err_entry own_errors[] = {
    {P2PC_OK, "P2PC_OK", "success"},
    {P2PC_ERR_NOMEM, "P2PC_ERR_NOMEM", "out of memory"},
    {P2PC_ERR_PROTO, "P2PC_ERR_PROTO", "malformed protocol input"},
    {P2PC_ERR_FULL, "P2PC_ERR_FULL", "queue or table full"},
    {P2PC_ERR_TOOBIG, "P2PC_ERR_TOOBIG", "value exceeds its maximum"},
    {P2PC_ERR_VERSION, "P2PC_ERR_VERSION", "unsupported protocol version"},
    {P2PC_ERR_INVAL, "P2PC_ERR_INVAL", "invalid argument"},
    {P2PC_ERR_NOTFOUND, "P2PC_ERR_NOTFOUND", "not found"},
    {P2PC_ERR_AHEAD, "P2PC_ERR_AHEAD",
     "timestamp too far ahead of this node's clock"},
    {P2PC_ERR_CLOSED, "P2PC_ERR_CLOSED", "closing or closed"},
    {P2PC_ERR_AGAIN, "P2PC_ERR_AGAIN", "not yet: being resolved, try again"},
};

#define E(x, t)                                                                \
  { x, #x, t }
static const err_entry sys_errors[] = {
    E(EPERM, "operation not permitted"),
    E(ENOENT, "no such file or directory"),
    E(EINTR, "interrupted system call"),
    E(EIO, "input/output error"),
    E(EBADF, "bad file descriptor"),
    E(EAGAIN, "resource temporarily unavailable"),
    E(ENOMEM, "cannot allocate memory"),
    E(EACCES, "permission denied"),
    E(EEXIST, "file exists"),
    E(ENOTDIR, "not a directory"),
    E(EISDIR, "is a directory"),
    E(EINVAL, "invalid argument"),
    E(ENFILE, "too many open files in system"),
    E(EMFILE, "too many open files"),
    E(ENOSPC, "no space left on device"),
    E(EPIPE, "broken pipe"),
    E(ERANGE, "result out of range"),
    E(ENAMETOOLONG, "file name too long"),
    E(ENOSYS, "function not implemented"),
    E(ENOTSOCK, "socket operation on non-socket"),
    E(EMSGSIZE, "message too long"),
    E(EPROTONOSUPPORT, "protocol not supported"),
    E(EOPNOTSUPP, "operation not supported"),
    E(EAFNOSUPPORT, "address family not supported by protocol"),
    E(EADDRINUSE, "address already in use"),
    E(EADDRNOTAVAIL, "cannot assign requested address"),
    E(ENETDOWN, "network is down"),
    E(ENETUNREACH, "network is unreachable"),
    E(ECONNABORTED, "software caused connection abort"),
    E(ECONNRESET, "connection reset by peer"),
    E(ENOBUFS, "no buffer space available"),
    E(EISCONN, "transport endpoint is already connected"),
    E(ENOTCONN, "transport endpoint is not connected"),
    E(ETIMEDOUT, "connection timed out"),
    E(ECONNREFUSED, "connection refused"),
    E(EHOSTUNREACH, "no route to host"),
    E(EALREADY, "operation already in progress"),
    E(EINPROGRESS, "operation now in progress"),
    E(ECANCELED, "operation canceled"),
};
#undef E

static const err_entry *find_error(int err) {
  for (size_t i = 0; i < sizeof own_errors / sizeof own_errors[0]; i++)
    if (own_errors[i].code == err)
      return &own_errors[i];
  for (size_t i = 0; i < sizeof sys_errors / sizeof sys_errors[0]; i++)
    if (-sys_errors[i].code == err)
      return &sys_errors[i];
  return NULL;
}

const char *p2pc_strerror(int err) {
  const err_entry *e = find_error(err);
  if (e)
    return e->text;
  return err < 0 ? "system error" : "unknown error";
}

const char *p2pc_errname(int err) {
  const err_entry *e = find_error(err);
  return e ? e->name : "unknown";
}

const char *p2pc_log_level_name(p2pc_log_level level) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  return (unsigned)level < 4 ? names[level] : "?";
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

bool p2pc_array_grow(const p2pc_allocator *a, void **arr, uint32_t *cap,
                     size_t elsize, uint32_t first, uint32_t max) {
  if (*cap >= max)
    return false;
  uint32_t want = *cap ? (*cap > max / 2 ? max : *cap * 2) : first;
  if (want > max)
    want = max;
  uint8_t *x = a->realloc(*arr, (size_t)want * elsize, a->ud);
  if (!x)
    return false;
  memset(x + (size_t)*cap * elsize, 0, (size_t)(want - *cap) * elsize);
  *arr = x;
  *cap = want;
  return true;
}
