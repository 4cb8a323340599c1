/* SPDX-License-Identifier: MIT */
/* Small types every part of the core shares: the clock readings the
 * runtime passes in, and log levels, both part of the public API. */
#ifndef P2PC_TYPES_H
#define P2PC_TYPES_H

#include <p2pclock/p2pclock.h>

#endif /* P2PC_TYPES_H */
