/* SPDX-License-Identifier: MIT */
/*
 * legacy_ses: today's SES, frozen. A self-contained copy of the causal
 * layer of src/core as of commit 9a2694a -- SES with vector clocks
 * (causal.c), its sparse vector clocks (vclock.c) and its SES message codec
 * with the per-message dictionary (the SES part of wire.c) -- with every
 * public symbol renamed from p2pc_ to lses_ (P2PC_ to LSES_).
 *
 * It is kept as the ORACLE: the equivalence property test runs the new
 * core against it schedule by schedule, and bench/ses_overhead compares
 * the two encodings in one run. DO NOT CHANGE ITS BEHAVIOUR: same bytes on
 * the wire, same delivery decisions, same events (retirement, horizons,
 * A.11 pruning and the fault switches included). Fix only what the
 * compiler or the sanitizers make necessary, and prove the bytes unchanged
 * with legacy_ses_basic.
 *
 * It depends only on the small, stable core pieces: p2pclock.h (errors,
 * allocator), buf.h (p2pc_buf, p2pc_reader, varints) and idtab.h (node-ID
 * interning); never on causal.h, vclock.h or wire.h.
 *
 * The texts below are the original headers' comments, names renamed.
 */
#ifndef LSES_LEGACY_SES_H
#define LSES_LEGACY_SES_H

#include "buf.h"
#include "idtab.h"
#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ==== vector clocks (src/core/vclock.h) ================================ */

/*
 * Sparse vector clocks keyed by interned node IDs (idtab.h). Entries are kept
 * sorted by ID with no zero values, so a missing entry means 0, equality is
 * one pass and compare/merge are one linear pass over both clocks.
 *
 * Clocks own their entry array; mutating calls take the allocator. A clock
 * never holds more than LSES_VCLOCK_MAX entries (callers bound the number of
 * node IDs anyway; this is the codec's hard limit).
 */

#define LSES_VCLOCK_MAX 65536

typedef struct lses_vc_entry {
  uint32_t id;
  uint64_t v; /* > 0 */
} lses_vc_entry;

typedef struct lses_vclock {
  lses_vc_entry *e;
  uint32_t n;
  uint32_t cap;
} lses_vclock;

typedef enum lses_vc_order {
  LSES_VC_EQUAL,
  LSES_VC_BEFORE,    /* a < b: a <= b component-wise and a != b */
  LSES_VC_AFTER,     /* a > b */
  LSES_VC_CONCURRENT /* neither */
} lses_vc_order;

void lses_vclock_init(lses_vclock *vc);
void lses_vclock_fini(lses_vclock *vc, const p2pc_allocator *a);
void lses_vclock_clear(lses_vclock *vc);

/* Entry for id, 0 if absent. */
uint64_t lses_vclock_get(const lses_vclock *vc, uint32_t id);
/* Sets entry id to v (0 removes it). 0, P2PC_ERR_FULL or P2PC_ERR_NOMEM. */
int lses_vclock_set(lses_vclock *vc, const p2pc_allocator *a, uint32_t id,
                    uint64_t v);
/* Increments entry id. 0, P2PC_ERR_FULL, P2PC_ERR_NOMEM or P2PC_ERR_TOOBIG
 * (the counter would wrap). */
int lses_vclock_tick(lses_vclock *vc, const p2pc_allocator *a, uint32_t id);
/* dst := dst max src, component-wise. On failure dst is unchanged. */
int lses_vclock_merge(lses_vclock *dst, const p2pc_allocator *a,
                      const lses_vclock *src);
/* Makes room in dst for merging src, so that a following
 * lses_vclock_merge(dst, a, src) cannot fail: lets a caller allocate
 * everything first and then commit a multi-clock update atomically. */
int lses_vclock_reserve_merge(lses_vclock *dst, const p2pc_allocator *a,
                              const lses_vclock *src);
/* dst := src. On failure dst is unchanged. */
int lses_vclock_copy(lses_vclock *dst, const p2pc_allocator *a,
                     const lses_vclock *src);

/* a <= b component-wise (missing entries are 0). */
bool lses_vclock_leq(const lses_vclock *a, const lses_vclock *b);
bool lses_vclock_eq(const lses_vclock *a, const lses_vclock *b);
lses_vc_order lses_vclock_compare(const lses_vclock *a, const lses_vclock *b);

/*
 * Compact, self-contained encoding (used in snapshots and tests; the DATA
 * frame uses a per-message dictionary instead, see lses_wire_ses_put):
 *   varint count, then count x (varint id_delta, varint value)
 * where ids ascend and id_delta is the gap from the previous id (the first
 * is the id itself). Ids here are the caller's table's ids.
 */
int lses_vclock_encode(const lses_vclock *vc, p2pc_buf *out);
/* Decodes into vc (replacing its contents). Returns bytes consumed (> 0),
 * or P2PC_ERR_PROTO (truncated, zero value, id overflow, count too big) or
 * P2PC_ERR_NOMEM; vc is unchanged on failure. id_limit bounds the ids. */
int lses_vclock_decode(lses_vclock *vc, const p2pc_allocator *a,
                       const uint8_t *p, size_t len, uint32_t id_limit);

/* ==== SES messages and their codec (src/core/wire.h) ================== */

/* One (destination, vector timestamp) pair of SES's V_M. */
typedef struct lses_ses_pair {
  uint32_t dest;
  lses_vclock t;
} lses_ses_pair;

/* A causal message. Ids are interned in the owning core's idtab. */
typedef struct lses_ses_msg {
  uint32_t sender;
  uint32_t dest;
  uint64_t n;          /* sender's send counter: the id is "<sender>:<n>" */
  uint64_t dseq;       /* 1, 2, ... along the sender->dest stream */
  lses_vclock ts;      /* the message's vector timestamp tM */
  lses_ses_pair *deps; /* V_M, sorted by dest */
  uint32_t ndeps;
  uint32_t capdeps;
  const uint8_t *payload; /* borrowed (decode: from the input) */
  size_t payload_len;
  /* Decode only: node IDs the table did not know yet. They have
   * provisional ids (table size + k, in this order) until
   * lses_wire_ses_commit interns them; sender/dest name the two ends by
   * name meanwhile. All point into the decoded input. */
  const uint8_t **new_names;
  uint8_t *new_lens;
  uint32_t nnew;
  const char *sender_name, *dest_name;
  uint8_t sender_len, dest_len;
} lses_ses_msg;

void lses_ses_msg_init(lses_ses_msg *m);
void lses_ses_msg_fini(lses_ses_msg *m, const p2pc_allocator *a);
/* The pair about dest in m->deps, or NULL. */
const lses_ses_pair *lses_ses_msg_pair(const lses_ses_msg *m, uint32_t dest);

/*
 * Encodes m. *meta_bytes (if non-NULL) gets the bytes of causal metadata:
 * everything but the payload and its length. The message is written with a
 * dictionary of the node IDs it mentions; each pair's vector is written
 * either as sparse absolute values or as differences from tM, whichever is
 * shorter. scratch is a work area (kept by the caller between calls to
 * avoid an allocation per message; free it with lses_wire_scratch_fini).
 */
typedef struct lses_wire_scratch {
  struct lses_ientry *vec; /* two work vectors of vcap entries each */
  uint32_t vcap;
  uint32_t *map; /* local id -> dictionary index + 1, 0 = unset */
  uint32_t cap;
  uint32_t *order; /* dictionary index -> local id */
  uint32_t ocap;
} lses_wire_scratch;

void lses_wire_scratch_fini(lses_wire_scratch *s, const p2pc_allocator *a);

int lses_wire_ses_put(p2pc_buf *out, const lses_ses_msg *m,
                      const p2pc_idtab *ids, lses_wire_scratch *scratch,
                      const p2pc_allocator *a, size_t *meta_bytes);
/* Decodes one SES message filling all of b[0..len). Nothing is added to
 * ids: names it does not know get provisional ids (see lses_ses_msg), so a
 * message that is then refused leaves no trace. P2PC_ERR_FULL if the new
 * names would not fit under the table's limit. On success m owns its
 * vectors and borrows its payload and names from b. */
int lses_wire_ses_get(const uint8_t *b, size_t len, const p2pc_idtab *ids,
                      const p2pc_allocator *a, lses_ses_msg *m);
/* Interns m's new names, making its provisional ids real. Call it before
 * the table changes in any other way. Returns 0 or an idtab error. */
int lses_wire_ses_commit(p2pc_idtab *ids, const lses_ses_msg *m);

/* ==== causal delivery (src/core/causal.h) ============================= */

/*
 * Causal delivery of point-to-point messages with SES (Schiper-Eggli-Sandoz;
 * ALGORITHMS.md A.3-A.7). One lses_causal is one node's SES state: its vector
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

#define LSES_CAUSAL_MAX_BUFFERED_DEFAULT 4096
#define LSES_CAUSAL_MAX_BUFFERED_BYTES_DEFAULT (64u << 20)
#define LSES_CAUSAL_MAX_NODES_DEFAULT 4096

/* Deliberate protocol bugs, for proving that the checkers catch them.
 * Never set outside tests. */
enum {
  /* A.10 pitfall 1: the (dest, t) dependency is recorded from the clock
   * before the send's tick, so the first dependency on dest is vacuous */
  LSES_CAUSAL_FAULT_STAMP_BEFORE_TICK = 1u << 0,
  LSES_CAUSAL_FAULT_DROP_DEST_PAIR = 1u << 1, /* A.10 pitfall 2 */
  LSES_CAUSAL_FAULT_NO_DEDUP = 1u << 2
};

typedef struct lses_causal_config {
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
  uint32_t faults; /* LSES_CAUSAL_FAULT_*; 0 in production */
} lses_causal_config;

typedef enum lses_causal_ev_kind {
  LSES_CEV_SEND,    /* a message was stamped for sending (incl. to self) */
  LSES_CEV_RECV,    /* first copy of a message arrived */
  LSES_CEV_BUFFER,  /* SES kept it back; waits_* say for what */
  LSES_CEV_DELIVER, /* SES delivered it to the application */
  LSES_CEV_DUP,     /* a duplicate arrived and was dropped */
  LSES_CEV_DROP     /* a message of a retired sender was discarded */
} lses_causal_ev_kind;

typedef struct lses_causal_event {
  lses_causal_ev_kind kind;
  const char *sender; /* the message id is "<sender>:<n>" */
  uint64_t n;
  const char *peer; /* SEND: destination; others: sender */
  /* SEND: the message's timestamp; DELIVER: this node's clock after
   * delivery. Ids resolve with lses_causal_id_name. */
  const lses_vclock *vc;
  const char *waits_node;      /* BUFFER: the pair it waits for ... */
  const lses_vclock *waits_vc; /* ... (node, vector) */
  size_t bytes;                /* payload bytes */
  size_t meta;                 /* SEND: bytes of causal metadata on wire */
  uint64_t waited_ns;          /* DELIVER: mono time spent buffered */
  const uint8_t *payload;      /* DELIVER: borrowed for the call */
  const char *reason;          /* DROP: why */
} lses_causal_event;

typedef void (*lses_causal_event_fn)(void *ud, const lses_causal_event *ev);

typedef struct lses_causal lses_causal;

/* Creates the SES state of node self. cfg may be NULL (defaults). The event
 * callback must not call back into this lses_causal. Returns 0,
 * P2PC_ERR_INVAL (bad id) or P2PC_ERR_NOMEM. */
int lses_causal_new(lses_causal **out, const char *self,
                    const lses_causal_config *cfg, const p2pc_allocator *a,
                    lses_causal_event_fn on_event, void *ud);
void lses_causal_free(lses_causal *c);

/*
 * Sends payload to dest: tick, stamp, snapshot V, then record (dest, tM)
 * (A.3). Appends the encoded SES message to out (the caller frames it).
 * A message to self is delivered at once, outside SES, and appends nothing.
 * Returns 0, P2PC_ERR_INVAL (bad dest), P2PC_ERR_FULL (too many node IDs),
 * P2PC_ERR_TOOBIG (out's cap), P2PC_ERR_NOMEM. On failure nothing was sent
 * and the state is as before.
 */
int lses_causal_send(lses_causal *c, const char *dest, const uint8_t *payload,
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
int lses_causal_receive(lses_causal *c, const char *expected_sender,
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
int lses_causal_retire(lses_causal *c, const char *id, uint64_t mono_ns);
bool lses_causal_is_retired(const lses_causal *c, const char *id);

/*
 * The stream horizon of this node for dest (docs/PROTOCOL.md, "Retiring an
 * identity"): *dseq = the last dseq sent to dest (0 if none), *stamp = this
 * node's own clock component now. Every message sent to dest after *dseq is
 * stamped above *stamp. Sent to dest when an identity is retired, so that
 * dest can release messages that wait for a retired identity's lost message
 * even if this node never writes to dest again. Returns 0 or P2PC_ERR_INVAL
 * (bad id, self, or a retired dest).
 */
int lses_causal_horizon(const lses_causal *c, const char *dest, uint64_t *dseq,
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
int lses_causal_take_horizon(lses_causal *c, const char *sender, uint64_t dseq,
                             uint64_t stamp, uint64_t mono_ns);

/* Resumes a drain that an allocation failure interrupted (a no-op
 * otherwise). Receives that accept a message do this themselves; a call
 * that refuses its message changes nothing, not even this. */
void lses_causal_drain(lses_causal *c, uint64_t mono_ns);

/* Introspection. */
const char *lses_causal_self(const lses_causal *c);
const lses_vclock *lses_causal_clock(const lses_causal *c);
const char *lses_causal_id_name(const lses_causal *c, uint32_t id);
uint32_t lses_causal_buffered(const lses_causal *c);
/* The number of the last message sent (its id is "<self>:<n>"). */
uint64_t lses_causal_sent(const lses_causal *c);
/* Number of pairs in V (destinations with an outstanding constraint). */
uint32_t lses_causal_pairs(const lses_causal *c);

typedef struct lses_causal_stats {
  uint64_t sent, received, delivered, buffered, duplicates, rejected_full,
      malformed, pruned_pairs, dropped_retired, horizons;
} lses_causal_stats;
void lses_causal_get_stats(const lses_causal *c, lses_causal_stats *st);

#endif /* LSES_LEGACY_SES_H */
