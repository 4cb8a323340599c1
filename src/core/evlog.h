/* SPDX-License-Identifier: MIT */
/*
 * What the I/O layers add to the `start` line of the event log
 * (docs/EVENTS.md); every event line itself comes from event.c.
 */
#ifndef P2PC_EVLOG_H
#define P2PC_EVLOG_H

#include "buf.h"
#include "causal.h"

/* Appends the `start` line's ,"lifetime_ns":N — the causal lifetime Δ in
 * ns, 0 meaning P2PC_CAUSAL_LIFETIME_DEFAULT_NS — or ,"lifetime_ns":null
 * for P2PC_CAUSAL_LIFETIME_INF. Returns 0 or the buffer's error; on error
 * nothing is appended. */
int p2pc_evlog_lifetime(p2pc_buf *out, uint64_t lifetime_ns);

/* Appends an unsigned decimal. */
int p2pc_evlog_u64(p2pc_buf *out, uint64_t v);

#endif /* P2PC_EVLOG_H */
