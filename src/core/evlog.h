/* SPDX-License-Identifier: MIT */
/*
 * The event log's message records (docs/EVENTS.md), rendered as JSON
 * without stdio. The node writes the common fields (node, ev, mono, local,
 * net) and appends these; this module owns the message-specific part so
 * that every runtime writes the same contract.
 */
#ifndef P2PC_EVLOG_H
#define P2PC_EVLOG_H

#include "buf.h"
#include "causal.h"

/* The EVENTS.md name of a causal event kind ("send", "recv", "buffer",
 * "deliver", "dup", "drop"). */
const char *p2pc_evlog_kind(p2pc_causal_ev_kind kind);

/*
 * Appends the fields of ev after the common ones, each preceded by a comma:
 *   send:    ,"msg":"A:3","to":"B","vc":{"A":3},"bytes":5,"meta":21
 *   recv:    ,"msg":"A:3","from":"A"
 *   buffer:  ,"msg":"A:3","from":"A","waits":{"node":"B","vc":{"A":2}}
 *   deliver: ,"msg":"A:3","from":"A","vc":{"A":3,"B":2},"waited_ns":0
 *   dup:     ,"msg":"A:3","from":"A"
 *   drop:    ,"msg":"A:3","from":"A","reason":"sender retired"
 * Node IDs need no escaping (idtab.h restricts their characters). Returns 0
 * or the buffer's error; on error nothing is appended.
 */
int p2pc_evlog_causal(p2pc_buf *out, const p2pc_causal *c,
                      const p2pc_causal_event *ev);

/* Appends an unsigned decimal. */
int p2pc_evlog_u64(p2pc_buf *out, uint64_t v);

#endif /* P2PC_EVLOG_H */
