/* SPDX-License-Identifier: MIT */
/*
 * An independent checker of causal message delivery (EVENTS.md, "Causal
 * order can be checked from this log alone"). It is fed the SEND and
 * DELIVER records of every node and rebuilds happens-before from them
 * alone: the order of records at each node plus send(m) -> deliver(m). It
 * never looks at the nodes' vector clocks; it keeps its own vector of
 * per-node record counts for every record instead.
 *
 * It verifies, for every message m (identified by its sender and the
 * sender's counter n, the "<sender>:<n>" of EVENTS.md):
 *   ORDER      if send(m1) happens-before send(m2) and both go to d, m1 is
 *              delivered at d before m2;
 *   DUPLICATE  m is delivered at most once;
 *   LIVENESS   every message is delivered (checked by ccheck_finish);
 *   WRONG_DEST m is delivered only at its destination;
 *   PAYLOAD    with the payload that was sent (if the send gave one);
 *   UNKNOWN    a delivered (or expired) message was sent by someone;
 *   BAD_SEND   a SEND record names another sender, or reuses a message id;
 *   EXPIRED_DELIVERED  a message its destination reported expired is not
 *              also delivered there (before or after the report).
 *
 * Expiry (Δ-SES, docs/PROTOCOL.md): a message may be given up by its
 * sender or dropped by its destination once it is older than the causal
 * lifetime; the harness reports that with ccheck_expire. An expired
 * message is excused from LIVENESS and, from the moment it is reported,
 * is no longer a predecessor that later deliveries must wait for (report
 * it before its causal successors are delivered). The checker knows no
 * time: whether the expiry was due is the harness's to judge (evcheck.h
 * does it from the logs).
 *
 * Broadcasts: a message sent to CCHECK_ALL is addressed to every node. It
 * is delivered at most once at each node (DUPLICATE), and at every node
 * (LIVENESS) but those that report it expired there (ccheck_expire by
 * that node: it outlived Δ there, or was stamped before the node's birth,
 * docs/PROTOCOL.md) or that are exempt (ccheck_exempt: crashed, stopped).
 * ORDER covers it at every node: a message delivered at node x whose send
 * happens-before a broadcast b's, or b's send happens-before its own, is
 * delivered at x in that order (unless the earlier one expired at x).
 *
 * Cost: O(N) time per record and N counters per message (N = nodes), so it
 * is meant for up to a few hundred nodes and ~10^5 messages per run.
 *
 * Records are normally fed in the order the events really happened (an
 * in-process test or simulator). With CCHECK_OFFLINE they may come in any
 * interleaving of the per-node logs (e.g. one log file per node read one
 * after the other): a DELIVER whose SEND has not been seen yet waits, and
 * holds back its node's later records, until the SEND shows up; one whose
 * SEND never shows up is reported as UNKNOWN by ccheck_finish. Without
 * CCHECK_OFFLINE, such a DELIVER is UNKNOWN at once.
 *
 * The checker aborts the process if memory runs out (it was written for
 * the tests; `p2pclock check` bounds what it feeds it, evcheck.h).
 *
 * It lives beside evcheck (src/check) because the shipped command uses it,
 * but it includes nothing of src/core and its library links nothing: it
 * must stay independent of the causal implementation it checks.
 */
#ifndef P2PC_CHECK_CHECKER_H
#define P2PC_CHECK_CHECKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ccheck_kind {
  CCHECK_ORDER,
  CCHECK_DUPLICATE,
  CCHECK_LIVENESS,
  CCHECK_WRONG_DEST,
  CCHECK_PAYLOAD,
  CCHECK_UNKNOWN,
  CCHECK_BAD_SEND,
  CCHECK_EXPIRED_DELIVERED,
  CCHECK_NKINDS
} ccheck_kind;

enum { CCHECK_OFFLINE = 1u << 0 };

/* The destination of a broadcast: every node. */
#define CCHECK_ALL UINT32_MAX

typedef struct ccheck ccheck;

/* A checker for nodes 0..nnodes-1 (nnodes >= 1). names[i] (copied) is used
 * in the reports; names may be NULL ("#i" then). */
ccheck *ccheck_new(uint32_t nnodes, const char *const *names, unsigned flags);
void ccheck_free(ccheck *c);

/* Node `node` recorded SEND of message sender:n to dest (a node, or
 * CCHECK_ALL for a broadcast). payload (copied)
 * is what deliveries must carry; NULL = do not compare payloads. */
void ccheck_send(ccheck *c, uint32_t node, uint32_t sender, uint64_t n,
                 uint32_t dest, const void *payload, size_t len);
/* Node `node` recorded DELIVER of message sender:n with this payload
 * (NULL = not compared). */
void ccheck_deliver(ccheck *c, uint32_t node, uint32_t sender, uint64_t n,
                    const void *payload, size_t len);
/* Node `node` reported message sender:n expired: given up by its sender
 * (node == sender) or dropped by its destination (node == its dest). It is
 * excused from LIVENESS and stops being a predecessor; if node is its
 * destination, a delivery there, earlier or later, is EXPIRED_DELIVERED.
 * A report by a node that is neither is WRONG_DEST; of a message never
 * sent, UNKNOWN (in offline mode it waits for the send, as a DELIVER
 * does). Reports after the first of a message only add the destination's
 * verdict. */
void ccheck_expire(ccheck *c, uint32_t node, uint32_t sender, uint64_t n);
/* Node `node` is not expected to deliver the broadcasts it has not
 * delivered (it crashed or stopped): excused from their LIVENESS only. */
void ccheck_exempt(ccheck *c, uint32_t node);
/* Ends the run: reports the messages neither delivered nor expired
 * (LIVENESS) and, in offline mode, deliveries and expiries whose send
 * never came (UNKNOWN). Call once; no records may follow. */
void ccheck_finish(ccheck *c);

/* True if sender:n is known, neither delivered nor expired, and every
 * message to its destination whose send happens-before its send has been
 * delivered or has expired: a correct causal layer must be able to
 * deliver it now. False for a broadcast (ccheck_ready_at). */
bool ccheck_ready(const ccheck *c, uint32_t sender, uint64_t n);
/* The same for broadcast sender:n at node x. */
bool ccheck_ready_at(const ccheck *c, uint32_t sender, uint64_t n, uint32_t x);
/* True if sender:n is known and was delivered at its destination (a
 * broadcast: at every node but its sender... see ccheck_delivered_at). */
bool ccheck_delivered(const ccheck *c, uint32_t sender, uint64_t n);
/* True if sender:n (a broadcast or not) was delivered at node x. */
bool ccheck_delivered_at(const ccheck *c, uint32_t sender, uint64_t n,
                         uint32_t x);

/* Violations found so far, per kind and in total. */
uint64_t ccheck_count(const ccheck *c, ccheck_kind k);
uint64_t ccheck_violations(const ccheck *c);
/* The first violation of kind k as one line, or NULL if none. */
const char *ccheck_first_of(const ccheck *c, ccheck_kind k);
/* The first violation of any kind, or NULL. */
const char *ccheck_first(const ccheck *c);
const char *ccheck_kind_name(ccheck_kind k);

/* Messages sent, deliveries recorded (incl. bad ones), messages sent but
 * neither delivered (yet) at their destination nor expired, and messages
 * expired and not delivered. */
uint64_t ccheck_messages(const ccheck *c);
uint64_t ccheck_deliveries(const ccheck *c);
uint64_t ccheck_undelivered(const ccheck *c);
uint64_t ccheck_expired(const ccheck *c);

#endif /* P2PC_CHECK_CHECKER_H */
