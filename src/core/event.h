/* SPDX-License-Identifier: MIT */
/*
 * The event model's internal side: the public p2pc_event and its renderer
 * (<p2pclock/node.h>, event.c) plus what the core's emitters need.
 */
#ifndef P2PC_EVENT_H
#define P2PC_EVENT_H

#include <p2pclock/node.h>

#include "causal.h"
#include "idtab.h"

/* A rendered event-log line is never longer than this (the longest, a
 * `clock` line with two 80-byte names, is under 500 bytes). */
#define P2PC_EVENT_JSON_MAX 1024

/* The reason of an expiry, the one UNDELIVERABLE that names a stamp. */
#define P2PC_REASON_EXPIRED "expired"

/* Whether the event log carries events of type t (the derived ones —
 * WRITABLE, CLOCK_SYNCED/UNSYNCED/STEPPED, REFERENCE_CHANGED — are for
 * applications; the log has the `clock` lines they come from). */
bool p2pc_event_logged(p2pc_event_type t);

/* The id of message seq of the causal identity sesid: "<node>~<tag>", or
 * any other name (then P2PC_SESSION_NONE). Returns 0 or P2PC_ERR_INVAL
 * (empty, or longer than P2PC_NAME_MAX). */
int p2pc_msgid_from_session(p2pc_msgid *id, const char *sesid, uint64_t seq);

/* What a driver knows of a node's `start` or `stop` line (EVENTS.md): the
 * lines that delimit an incarnation, written by whoever runs the node. */
typedef struct p2pc_lifecycle {
  const char *id, *sesid;
  bool start; /* start, else stop */
  p2pc_now now;
  int64_t net_ns;
  uint64_t lifetime_ns; /* start: Δ (P2PC_CAUSAL_LIFETIME_INF: null) */
  const char *config;   /* start: a JSON object, or NULL for none */
  /* The causal layer's birth (p2pc_causal_birth; 0: not yet, left out):
   * on `start` when known by then, else on a `birth` line of its own. */
  uint64_t birth;
  bool birth_line; /* render the `birth` line (start is ignored) */
} p2pc_lifecycle;

/* Renders the `start`, `stop` or `birth` line into s, as p2pc_event_json
 * does an event line: the length, or P2PC_ERR_TOOBIG (then s is ""). */
long p2pc_event_lifecycle_json(const p2pc_lifecycle *l, char *s, size_t cap);

/* The SES layer's report as an event (all fields set; names borrowed
 * from ce). Its names are causal identities ("<node>~<tag>"), as every
 * identity a node gives its causal layer is. */
void p2pc_event_from_causal(p2pc_event *ev, const p2pc_causal_event *ce);
p2pc_event_type p2pc_event_causal_type(p2pc_causal_ev_kind k);

#endif /* P2PC_EVENT_H */
