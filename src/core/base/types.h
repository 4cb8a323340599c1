/* SPDX-License-Identifier: MIT */
/* Small types every part of the core shares: the clock readings the
 * runtime passes in, and log levels, both part of the public API. */
#ifndef P2PC_TYPES_H
#define P2PC_TYPES_H

#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Grows the array *arr of *cap elements of elsize bytes: doubling, from
 * `first` when empty, never past max; the new elements are zeroed.
 * Returns false (and changes nothing) if *cap is max already or the
 * allocator fails: every table the core grows keeps its bound this way. */
bool p2pc_array_grow(const p2pc_allocator *a, void **arr, uint32_t *cap,
                     size_t elsize, uint32_t first, uint32_t max);

/* Whether a is the host's own: 127.0.0.0/8 or ::1. */
bool p2pc_addr_loopback(const p2pc_addr *a);

#endif /* P2PC_TYPES_H */
