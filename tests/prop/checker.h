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
 *   UNKNOWN    a delivered message was sent by someone;
 *   BAD_SEND   a SEND record names another sender, or reuses a message id.
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
 * The checker aborts the process if memory runs out (it is test code).
 */
#ifndef P2PC_TESTS_CHECKER_H
#define P2PC_TESTS_CHECKER_H

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
  CCHECK_NKINDS
} ccheck_kind;

enum { CCHECK_OFFLINE = 1u << 0 };

typedef struct ccheck ccheck;

/* A checker for nodes 0..nnodes-1 (nnodes >= 1). names[i] (copied) is used
 * in the reports; names may be NULL ("#i" then). */
ccheck *ccheck_new(uint32_t nnodes, const char *const *names, unsigned flags);
void ccheck_free(ccheck *c);

/* Node `node` recorded SEND of message sender:n to dest. payload (copied)
 * is what deliveries must carry; NULL = do not compare payloads. */
void ccheck_send(ccheck *c, uint32_t node, uint32_t sender, uint64_t n,
                 uint32_t dest, const void *payload, size_t len);
/* Node `node` recorded DELIVER of message sender:n with this payload
 * (NULL = not compared). */
void ccheck_deliver(ccheck *c, uint32_t node, uint32_t sender, uint64_t n,
                    const void *payload, size_t len);
/* Ends the run: reports the messages never delivered (LIVENESS) and, in
 * offline mode, deliveries whose send never came (UNKNOWN). Call once;
 * no records may follow. */
void ccheck_finish(ccheck *c);

/* True if sender:n is known, not yet delivered, and every message to its
 * destination whose send happens-before its send has been delivered: a
 * correct causal layer must be able to deliver it now. */
bool ccheck_ready(const ccheck *c, uint32_t sender, uint64_t n);
/* True if sender:n is known and was delivered at its destination. */
bool ccheck_delivered(const ccheck *c, uint32_t sender, uint64_t n);

/* Violations found so far, per kind and in total. */
uint64_t ccheck_count(const ccheck *c, ccheck_kind k);
uint64_t ccheck_violations(const ccheck *c);
/* The first violation of kind k as one line, or NULL if none. */
const char *ccheck_first_of(const ccheck *c, ccheck_kind k);
/* The first violation of any kind, or NULL. */
const char *ccheck_first(const ccheck *c);
const char *ccheck_kind_name(ccheck_kind k);

/* Messages sent, deliveries recorded (incl. bad ones), and messages sent
 * but not delivered (yet) at their destination. */
uint64_t ccheck_messages(const ccheck *c);
uint64_t ccheck_deliveries(const ccheck *c);
uint64_t ccheck_undelivered(const ccheck *c);

#endif /* P2PC_TESTS_CHECKER_H */
