/* SPDX-License-Identifier: MIT */
/*
 * Causal delivery of point-to-point messages with SES (Schiper-Eggli-Sandoz;
 * ALGORITHMS.md A.3-A.7). One p2pc_causal is one node's SES state: its vector
 * clock t, its set V of (destination, timestamp) pairs, the buffer of
 * arrived-but-undeliverable messages and the per-sender de-duplication state.
 *
 * Pure: no I/O, no clock reads. Time comes in as an argument (monotonic ns,
 * used only for the "waited_ns" of deliveries). Everything that happens is
 * reported through the event callback, synchronously, in order: the send,
 * arrival, buffering and delivery records of EVENTS.md. Deliveries to the
 * application are the DELIVER events (the payload is borrowed for the call).
 *
 * The channels under SES must be reliable; they need not be FIFO and may
 * duplicate (duplicates are detected and dropped).
 */
#ifndef P2PC_CAUSAL_H
#define P2PC_CAUSAL_H

#include "buf.h"
#include "idtab.h"
#include "p2pclock.h"
#include "vclock.h"
#include "wire.h"

#include <stdbool.h>
#include <stdint.h>

#define P2PC_CAUSAL_MAX_BUFFERED_DEFAULT 4096
#define P2PC_CAUSAL_MAX_BUFFERED_BYTES_DEFAULT (64u << 20)
#define P2PC_CAUSAL_MAX_NODES_DEFAULT 4096

/* Deliberate protocol bugs, for proving that the checkers catch them.
 * Never set outside tests. */
enum {
  /* A.10 pitfall 1: the (dest, t) dependency is recorded from the clock
   * before the send's tick, so the first dependency on dest is vacuous */
  P2PC_CAUSAL_FAULT_STAMP_BEFORE_TICK = 1u << 0,
  P2PC_CAUSAL_FAULT_DROP_DEST_PAIR = 1u << 1, /* A.10 pitfall 2 */
  P2PC_CAUSAL_FAULT_NO_DEDUP = 1u << 2
};

typedef struct p2pc_causal_config {
  /* Messages that may wait in the SES buffer (0 = default). */
  uint32_t max_buffered;
  /* Payload bytes that may wait in the SES buffer (0 = default). */
  size_t max_buffered_bytes;
  /* Node IDs this core will ever learn (0 = default). */
  uint32_t max_nodes;
  /* Omit pairs that can no longer constrain their destination (A.11):
   * (P', t) is dropped once this node has delivered a message from P'
   * stamped t* >= t. On by default; see docs/PROTOCOL.md. */
  bool no_prune;
  uint32_t faults; /* P2PC_CAUSAL_FAULT_*; 0 in production */
} p2pc_causal_config;

typedef enum p2pc_causal_ev_kind {
  P2PC_CEV_SEND,    /* a message was stamped for sending (incl. to self) */
  P2PC_CEV_RECV,    /* first copy of a message arrived */
  P2PC_CEV_BUFFER,  /* SES kept it back; waits_* say for what */
  P2PC_CEV_DELIVER, /* SES delivered it to the application */
  P2PC_CEV_DUP,     /* a duplicate arrived and was dropped */
  P2PC_CEV_DROP     /* a message of a retired sender was discarded */
} p2pc_causal_ev_kind;

typedef struct p2pc_causal_event {
  p2pc_causal_ev_kind kind;
  const char *sender; /* the message id is "<sender>:<n>" */
  uint64_t n;
  const char *peer; /* SEND: destination; others: sender */
  /* SEND: the message's timestamp; DELIVER: this node's clock after
   * delivery. Ids resolve with p2pc_causal_id_name. */
  const p2pc_vclock *vc;
  const char *waits_node;      /* BUFFER: the pair it waits for ... */
  const p2pc_vclock *waits_vc; /* ... (node, vector) */
  size_t bytes;                /* payload bytes */
  size_t meta;                 /* SEND: bytes of causal metadata on wire */
  uint64_t waited_ns;          /* DELIVER: mono time spent buffered */
  const uint8_t *payload;      /* DELIVER: borrowed for the call */
  const char *reason;          /* DROP: why */
} p2pc_causal_event;

typedef void (*p2pc_causal_event_fn)(void *ud, const p2pc_causal_event *ev);

typedef struct p2pc_causal p2pc_causal;

/* Creates the SES state of node self. cfg may be NULL (defaults). The event
 * callback must not call back into this p2pc_causal. Returns 0,
 * P2PC_ERR_INVAL (bad id) or P2PC_ERR_NOMEM. */
int p2pc_causal_new(p2pc_causal **out, const char *self,
                    const p2pc_causal_config *cfg, const p2pc_allocator *a,
                    p2pc_causal_event_fn on_event, void *ud);
void p2pc_causal_free(p2pc_causal *c);

/*
 * Sends payload to dest: tick, stamp, snapshot V, then record (dest, tM)
 * (A.3). Appends the encoded SES message to out (the caller frames it).
 * A message to self is delivered at once, outside SES, and appends nothing.
 * Returns 0, P2PC_ERR_INVAL (bad dest), P2PC_ERR_FULL (too many node IDs),
 * P2PC_ERR_TOOBIG (out's cap), P2PC_ERR_NOMEM. On failure nothing was sent
 * and the state is as before.
 */
int p2pc_causal_send(p2pc_causal *c, const char *dest, const uint8_t *payload,
                     size_t len, uint64_t mono_ns, p2pc_buf *out);

/*
 * Takes one encoded SES message that arrived (from expected_sender, if
 * non-NULL). Drops duplicates; delivers it if A.4 allows, else buffers it;
 * then drains the buffer to a fix-point (A.6). Returns:
 *   0               accepted (delivered, buffered, or a dropped duplicate);
 *   P2PC_ERR_FULL   not accepted: it must wait and the buffer is full. The
 *                   caller must offer it again later (the link layer does
 *                   not acknowledge it, so the sender resends). A message
 *                   that is deliverable is always accepted, so the oldest
 *                   missing message always gets through: no deadlock;
 *   P2PC_ERR_PROTO  malformed, addressed to another node, or from someone
 *                   other than expected_sender; nothing changed;
 *   P2PC_ERR_TOOBIG it names more node IDs than max_nodes allows (a
 *                   permanent refusal: offering it again will not help);
 *   P2PC_ERR_NOMEM.
 */
int p2pc_causal_receive(p2pc_causal *c, const char *expected_sender,
                        const uint8_t *b, size_t len, uint64_t mono_ns);

/*
 * Retires the causal identity id: a process that is gone for good (a node's
 * previous incarnation, after the node restarted without its state). Its
 * messages that are buffered here are discarded (DROP events) and later ones
 * are dropped on arrival; pairs about it leave V; and pairs that this node
 * checks ignore its clock component from now on. A pair that waits for one
 * of its lost messages may also hold components of live senders that only
 * that message would have brought; such a component is also met once that
 * sender's next message to us has arrived stamped above it. Together these
 * give up on exactly the messages it sent that never got here: everything
 * that depends on messages from live senders is still held back
 * (docs/PROTOCOL.md, "Retiring an identity"). Sending to a
 * retired identity fails with P2PC_ERR_INVAL. Returns 0, P2PC_ERR_INVAL (bad
 * id or self) or P2PC_ERR_FULL/NOMEM (the id could not be recorded).
 */
int p2pc_causal_retire(p2pc_causal *c, const char *id, uint64_t mono_ns);
bool p2pc_causal_is_retired(const p2pc_causal *c, const char *id);

/*
 * The stream horizon of this node for dest (docs/PROTOCOL.md, "Retiring an
 * identity"): *dseq = the last dseq sent to dest (0 if none), *stamp = this
 * node's own clock component now. Every message sent to dest after *dseq is
 * stamped above *stamp. Sent to dest when an identity is retired, so that
 * dest can release messages that wait for a retired identity's lost message
 * even if this node never writes to dest again. Returns 0 or P2PC_ERR_INVAL
 * (bad id, self, or a retired dest).
 */
int p2pc_causal_horizon(const p2pc_causal *c, const char *dest, uint64_t *dseq,
                        uint64_t *stamp);

/*
 * Takes in sender's stream horizon (dseq, stamp) for this node. Once every
 * message of sender's stream up to dseq has been delivered, all that sender
 * sent us up to its event `stamp` has been, so a pair that waits for a
 * retired identity's lost message has its sender component met up to
 * `stamp` (like an arrived next message stamped stamp + 1); until then the
 * horizon is kept (the latest one ahead of the stream), then the buffer is
 * drained. Used only on the retirement path: without a retirement no
 * decision changes. A horizon of a retired sender is ignored. Returns 0,
 * P2PC_ERR_PROTO (stamp < dseq, or below a stamp already delivered from a
 * message up to dseq), P2PC_ERR_INVAL (bad id, self), P2PC_ERR_FULL (too
 * many node IDs) or P2PC_ERR_NOMEM; on failure nothing changed.
 */
int p2pc_causal_take_horizon(p2pc_causal *c, const char *sender, uint64_t dseq,
                             uint64_t stamp, uint64_t mono_ns);

/* Resumes a drain that an allocation failure interrupted (a no-op
 * otherwise). Receives that accept a message do this themselves; a call
 * that refuses its message changes nothing, not even this. */
void p2pc_causal_drain(p2pc_causal *c, uint64_t mono_ns);

/* Introspection. */
const char *p2pc_causal_self(const p2pc_causal *c);
const p2pc_vclock *p2pc_causal_clock(const p2pc_causal *c);
const char *p2pc_causal_id_name(const p2pc_causal *c, uint32_t id);
uint32_t p2pc_causal_buffered(const p2pc_causal *c);
/* The number of the last message sent (its id is "<self>:<n>"). */
uint64_t p2pc_causal_sent(const p2pc_causal *c);
/* Number of pairs in V (destinations with an outstanding constraint). */
uint32_t p2pc_causal_pairs(const p2pc_causal *c);

typedef struct p2pc_causal_stats {
  uint64_t sent, received, delivered, buffered, duplicates, rejected_full,
      malformed, pruned_pairs, dropped_retired, horizons;
} p2pc_causal_stats;
void p2pc_causal_get_stats(const p2pc_causal *c, p2pc_causal_stats *st);

#endif /* P2PC_CAUSAL_H */
