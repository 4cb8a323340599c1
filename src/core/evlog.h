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

/* The EVENTS.md name of a causal event kind: "send", "recv", "buffer",
 * "deliver", "dup", "drop", "undeliverable" (EXPIRE), "refuse". */
const char *p2pc_evlog_kind(p2pc_causal_ev_kind kind);

/*
 * Appends the fields of ev after the common ones, each preceded by a comma
 * (S = ev->stamp, H = ev->hlc, K = ev->deps):
 *   send:    ,"msg":"A:3","to":"B","stamp":S,"deps":K,"bytes":5,"meta":21
 *   recv:    ,"msg":"A:3","from":"A"
 *   buffer:  ,"msg":"A:3","from":"A","waits":{"msg":"C:7","unmet":K}
 *   deliver: ,"msg":"A:3","from":"A","stamp":S,"waited_ns":0
 *   dup:     ,"msg":"A:3","from":"A"
 *   drop:    ,"msg":"A:3","from":"A","reason":"sender retired"
 *   EXPIRE at the sender (ev->at_sender), kind "undeliverable":
 *            ,"msg":"A:3","to":"B","reason":"expired","stamp":S,"hlc":H
 *   EXPIRE at the receiver, kind "undeliverable":
 *            ,"msg":"A:3","from":"A","reason":"expired","stamp":S,"hlc":H
 *   refuse:  ,"msg":"A:3","from":"A","reason":"stamp ahead","stamp":S,"hlc":H
 * The names come from the event itself (sender, peer, waits_sender); a
 * BUFFER without waits_sender writes "msg":null. The reason of EXPIRE and
 * REFUSE is the fixed word above, whatever ev->reason says (that is for
 * the human log); DROP writes ev->reason. Node IDs need no escaping
 * (idtab.h restricts their characters). Returns 0 or the buffer's error;
 * on error nothing is appended.
 */
int p2pc_evlog_causal(p2pc_buf *out, const p2pc_causal_event *ev);

/* Appends the `start` line's ,"lifetime_ns":N — the causal lifetime Δ in
 * ns, 0 meaning P2PC_CAUSAL_LIFETIME_DEFAULT_NS — or ,"lifetime_ns":null
 * for P2PC_CAUSAL_LIFETIME_INF. Returns 0 or the buffer's error; on error
 * nothing is appended. */
int p2pc_evlog_lifetime(p2pc_buf *out, uint64_t lifetime_ns);

/* Appends an unsigned decimal. */
int p2pc_evlog_u64(p2pc_buf *out, uint64_t v);

#endif /* P2PC_EVLOG_H */
