/* SPDX-License-Identifier: MIT */
/* Small types every part of the core shares: the clock readings the
 * runtime passes in, and log levels. */
#ifndef P2PC_TYPES_H
#define P2PC_TYPES_H

#include <stdint.h>

typedef struct p2pc_now {
  uint64_t mono_ns; /* monotonic: timers only */
  int64_t local_ns; /* the node's local clock, ns since the Unix epoch */
} p2pc_now;

typedef enum p2pc_log_level {
  P2PC_LOG_ERROR,
  P2PC_LOG_WARN,
  P2PC_LOG_INFO,
  P2PC_LOG_DEBUG
} p2pc_log_level;

#endif /* P2PC_TYPES_H */
