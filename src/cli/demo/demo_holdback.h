/* SPDX-License-Identifier: MIT */
/*
 * The demo's hold-back tracker: fed the lines of the nodes' event logs
 * (EVENTS.md), each node's lines in that node's order, it tells which
 * message a node holds back (a `buffer` line) and what it waits for, and,
 * once that message is delivered, how long it waited and which delivery
 * released it. It trusts the nodes' lines: it explains, it does not judge;
 * the verdict is the checker's (evcheck.h).
 *
 * What a held message waits for: its `buffer` line names one message it
 * waits for (`waits.msg`) and how many of its dependencies are unmet
 * (`waits.unmet`). What released it: SES drains its buffer right after a
 * delivery, in the same turn (the lines of one turn carry one `mono`), so
 * a held message delivered in a run of deliveries — consecutive `deliver`
 * lines of one node with one `mono` — was released by that run: by the
 * message it waited for, if that was delivered in the run, else by the
 * run's first delivery, if that was not itself a release. A message
 * released otherwise (what it waited for expired, or its sender's old
 * incarnation was retired after a restart, PROTOCOL.md) has no such
 * delivery.
 *
 * Memory is bounded: per node at most P2PC_HOLDBACK_HELD_MAX held messages
 * are tracked (past that the oldest is forgotten: its release is then
 * reported without its cause); longer ids and lines are ignored.
 */
#ifndef P2PC_CLI_DEMO_HOLDBACK_H
#define P2PC_CLI_DEMO_HOLDBACK_H

#include <stddef.h>
#include <stdint.h>

#define P2PC_HOLDBACK_ID_MAX 111     /* chars of an id: "n1~ab3x9:12" */
#define P2PC_HOLDBACK_LINE_MAX 65536 /* a longer line is ignored */
#define P2PC_HOLDBACK_HELD_MAX 128   /* held messages tracked per node */
#define P2PC_HOLDBACK_NODES_MAX 1024

typedef enum p2pc_holdback_kind {
  P2PC_HOLDBACK_NONE,     /* a line of no interest here, or not JSON */
  P2PC_HOLDBACK_START,    /* a (re)start: msg is the new incarnation */
  P2PC_HOLDBACK_SEND,     /* msg sent to peer */
  P2PC_HOLDBACK_DELIVER,  /* msg from peer delivered, not held before */
  P2PC_HOLDBACK_HELD,     /* msg from peer held back: see waits */
  P2PC_HOLDBACK_RELEASED, /* msg from peer delivered after being held */
  P2PC_HOLDBACK_DROPPED,  /* msg from peer dropped from the hold */
  P2PC_HOLDBACK_EXPIRED   /* msg from peer dropped as older than Δ (held
                             or not) */
} p2pc_holdback_kind;

typedef struct p2pc_holdback_ev {
  p2pc_holdback_kind kind;
  uint32_t node;                       /* whose log the line is from */
  uint64_t mono_ns;                    /* the line's `mono` */
  char msg[P2PC_HOLDBACK_ID_MAX + 1];  /* message id (START: incarnation) */
  char peer[P2PC_HOLDBACK_ID_MAX + 1]; /* `from`, or `to` for SEND */
  /* HELD: the message it waits for ("" if the line names none) and how
   * many dependencies are unmet (that one included) */
  char waits[P2PC_HOLDBACK_ID_MAX + 1];
  uint32_t unmet;
  /* RELEASED: its `waited_ns`, and the message whose delivery released
   * it ("" if unknown: released by an expiry or a retirement, or
   * forgotten) */
  uint64_t waited_ns;
  char after[P2PC_HOLDBACK_ID_MAX + 1];
} p2pc_holdback_ev;

typedef struct p2pc_holdback p2pc_holdback;

/* A tracker for the logs of nodes 0..nodes-1 (1..P2PC_HOLDBACK_NODES_MAX),
 * or NULL if out of memory or nodes is out of range. */
p2pc_holdback *p2pc_holdback_new(uint32_t nodes);
void p2pc_holdback_free(p2pc_holdback *hb); /* NULL is a no-op */

/* Takes one line of node's log (len bytes, no newline; need not be
 * NUL-terminated), fills *ev and returns ev->kind. A line that is not JSON,
 * lacks a field this needs, or comes from a node out of range is NONE. */
p2pc_holdback_kind p2pc_holdback_line(p2pc_holdback *hb, uint32_t node,
                                      const char *line, size_t len,
                                      p2pc_holdback_ev *ev);

/* Messages node has held back so far (every `buffer` line), and those it
 * holds now (held, not yet delivered, dropped or expired, by its current
 * incarnation); 0 for a node out of range. */
uint64_t p2pc_holdback_total(const p2pc_holdback *hb, uint32_t node);
uint32_t p2pc_holdback_now(const p2pc_holdback *hb, uint32_t node);

#endif /* P2PC_CLI_DEMO_HOLDBACK_H */
