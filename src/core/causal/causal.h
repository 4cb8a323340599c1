/* SPDX-License-Identifier: MIT */
/*
 * Causal delivery of point-to-point messages: Δ-SES (docs/PROTOCOL.md,
 * "Causal delivery"). SES (Schiper-Eggli-Sandoz; ALGORITHMS.md A.3-A.7)
 * with its (destination, vector) pairs replaced by explicit dependency
 * entries (destination, sender, message number, HLC stamp) that retire:
 *
 *   - implied: only the latest message per (destination, sender) is kept;
 *   - stable:  the destination reported it delivered (directly, through
 *              p2pc_causal_peer_report), or its stamp is below the
 *              network's global stable time (p2pc_causal_set_stable);
 *   - expired: its stamp is older than the causal lifetime Δ on this
 *              node's hybrid logical clock (HLC).
 *
 * A message is delivered once every entry it carries for this node is
 * delivered here, expired, or of a retired sender. A message older than Δ
 * is never delivered: it is dropped and reported (P2PC_CEV_EXPIRE). With
 * Δ infinite and pruning off, the decisions are those of plain SES.
 *
 * One p2pc_causal is one node's state: its HLC, its entries, the buffer of
 * arrived-but-undeliverable messages, per-sender de-duplication, and the
 * messages it sent that are not yet known delivered.
 *
 * Pure: no I/O, no clock reads. Time comes in through p2pc_causal_set_time
 * (network time and its error bound) and the mono_ns arguments (used only
 * for "waited_ns"). Everything that happens is reported through the event
 * callback, synchronously, in order. Deliveries to the application are
 * the DELIVER events (the payload is borrowed for the call).
 *
 * The channels must be reliable for messages younger than Δ; they need
 * not be FIFO and may duplicate.
 */
#ifndef P2PC_CAUSAL_H
#define P2PC_CAUSAL_H

#include "buf.h"
#include "idtab.h"
#include "sescodec.h"
#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <stdint.h>

#define P2PC_CAUSAL_MAX_BUFFERED_DEFAULT 4096
#define P2PC_CAUSAL_MAX_BUFFERED_BYTES_DEFAULT (64u << 20)
#define P2PC_CAUSAL_MAX_NODES_DEFAULT 16384
/* Δ: the causal lifetime (config key causalLifetime). */
#define P2PC_CAUSAL_LIFETIME_DEFAULT_NS 60000000000ull
#define P2PC_CAUSAL_LIFETIME_INF UINT64_MAX
/* Entries this node holds, and entries one message may carry. */
#define P2PC_CAUSAL_MAX_DEPS_DEFAULT 65536
#define P2PC_CAUSAL_MAX_MSG_DEPS_DEFAULT 2048
/* Messages sent and not yet known delivered (or expired). */
#define P2PC_CAUSAL_MAX_PENDING_DEFAULT 65536
/* A stamp may lead this node's network time by its error bound plus this
 * (the sender's own error bound: both clocks are honest within theirs). */
#define P2PC_CAUSAL_AHEAD_MARGIN_DEFAULT_NS 250000000ull
/* A message given up at stamp + Δ keeps holding this node's LS back until
 * stamp + Δ + this + the ahead margin: its destination's clock may be
 * behind ours within the bounds (PROTOCOL.md, "Why it is safe"). */
#define P2PC_CAUSAL_SETTLE_NS 2000000000ull
/* Written-off ranges remembered per sender (for reports and late copies). */
#define P2PC_CAUSAL_MAX_WRITTEN_OFF 8
/* The id table is swept for ids nothing needs any more (a sender silent
 * for Δ + settle, with nothing pending, buffered or written off; see
 * p2pc_causal_set_time) once it holds this many, then at twice what the
 * last sweep kept. */
#define P2PC_CAUSAL_FORGET_MIN 64

/* Hybrid logical clock stamps: network time in ns with the low 16 bits a
 * logical counter (Kulkarni et al., OPODIS 2014, packed into one word). */
#define P2PC_HLC_LOGICAL_BITS 16
#define P2PC_HLC_PHYS(ns) ((uint64_t)(ns) & ~(uint64_t)0xffff)

/* The destination of a broadcast: every node (docs/PROTOCOL.md, "Broadcast
 * to the whole network"). '*' is not an ID character, so it names no node
 * and no causal identity. */
#define P2PC_CAUSAL_ALL "*"

typedef struct p2pc_causal_config {
  /* Messages that may wait in the buffer (0 = default). */
  uint32_t max_buffered;
  /* Payload bytes that may wait in the buffer (0 = default). */
  size_t max_buffered_bytes;
  /* Node IDs this core holds at once (0 = default). An id is forgotten
   * once nothing here needs it (P2PC_CAUSAL_FORGET_MIN), so this bounds
   * the identities heard within about Δ, not over the core's life. */
  uint32_t max_nodes;
  /* Δ in ns (0 = default 60 s; P2PC_CAUSAL_LIFETIME_INF = never). */
  uint64_t lifetime_ns;
  /* Hard caps (0 = default): entries held, entries per message, messages
   * sent and not yet known delivered. At a cap, send answers
   * P2PC_ERR_FULL and a receive that would exceed it is not taken. */
  uint32_t max_deps;
  uint32_t max_msg_deps;
  uint32_t max_pending;
  /* Allowed lead of a stamp over network time + error bound (0 =
   * default). */
  uint64_t ahead_margin_ns;
  /* Keep entries until implied or expired: no pruning by delivery
   * reports or by the global stable time. It must change no decision
   * (a property test holds the two side by side). */
  bool no_prune;
  /* For tests: sweep the id table for ids nothing needs at every
   * p2pc_causal_set_time, not at P2PC_CAUSAL_FORGET_MIN and doublings
   * (costs O(state) a call). It must change no delivery. */
  bool forget_every_tick;
} p2pc_causal_config;

typedef enum p2pc_causal_ev_kind {
  P2PC_CEV_SEND,    /* a message was stamped for sending (incl. to self) */
  P2PC_CEV_RECV,    /* first copy of a message arrived */
  P2PC_CEV_BUFFER,  /* it must wait; waits_* say for what */
  P2PC_CEV_DELIVER, /* delivered to the application */
  P2PC_CEV_DUP,     /* a duplicate arrived and was dropped */
  P2PC_CEV_DROP,    /* a message of a retired sender was discarded */
  P2PC_CEV_EXPIRE,  /* older than Δ: dropped (receiver) or given up (sender) */
  P2PC_CEV_REFUSE   /* its stamp is too far ahead of this node's clock */
} p2pc_causal_ev_kind;

typedef struct p2pc_causal_event {
  p2pc_causal_ev_kind kind;
  const char *sender; /* the message id is "<sender>:<n>" */
  uint64_t n;
  /* SEND, EXPIRE at the sender: destination; others: sender */
  const char *peer;
  uint64_t stamp; /* the message's HLC stamp (0 if unknown) */
  uint64_t hlc;   /* this node's HLC at the event */
  uint32_t deps;  /* SEND: entries carried; BUFFER: entries still unmet */
  /* BUFFER: one message it waits for, "<waits_sender>:<waits_n>" */
  const char *waits_sender;
  uint64_t waits_n;
  size_t bytes;           /* payload bytes */
  size_t meta;            /* SEND: bytes of causal metadata on the wire */
  uint64_t waited_ns;     /* DELIVER: mono time spent buffered */
  const uint8_t *payload; /* DELIVER: borrowed for the call */
  const char *reason;     /* DROP, EXPIRE, REFUSE: why */
  bool at_sender;         /* EXPIRE: reported by the message's sender */
  bool broadcast;         /* the message is a broadcast (destination "*") */
} p2pc_causal_event;

typedef void (*p2pc_causal_event_fn)(void *ud, const p2pc_causal_event *ev);

typedef struct p2pc_causal p2pc_causal;

/* Creates the state of node self. cfg may be NULL (defaults). The event
 * callback must not call back into this p2pc_causal. Returns 0,
 * P2PC_ERR_INVAL (bad id or config) or P2PC_ERR_NOMEM. */
int p2pc_causal_new(p2pc_causal **out, const char *self,
                    const p2pc_causal_config *cfg, const p2pc_allocator *a,
                    p2pc_causal_event_fn on_event, void *ud);
void p2pc_causal_free(p2pc_causal *c);

/*
 * The node's network time (ns since the Unix epoch) and its error bound
 * (ns). The HLC never runs behind it. Entries and buffered messages that
 * this makes older than Δ expire now (EXPIRE events), messages sent that
 * are older than Δ and not known delivered are given up (EXPIRE with
 * at_sender), and the buffer is drained. Ids nothing needs any more are
 * forgotten (P2PC_CAUSAL_FORGET_MIN). Call it before every other call
 * that takes input, and from a timer.
 */
void p2pc_causal_set_time(p2pc_causal *c, int64_t net_ns, uint64_t err_ns,
                          uint64_t mono_ns);

/*
 * Sends payload to dest: stamp (HLC), snapshot the entries, record (dest,
 * self, n, stamp). Appends the encoded message to out (the caller frames
 * it). A message to self is delivered at once and appends nothing.
 * A broadcast (dest P2PC_CAUSAL_ALL) is numbered and stamped like any
 * message, appended to out (the caller disseminates it to every node, as
 * it is: relays forward these bytes), delivered to self at once (SEND with
 * peer "*", then DELIVER, both with broadcast set), and then recorded as
 * the entry ("*", self, n, stamp). It is never pending: no node reports
 * it, and it does not hold this node's LS back.
 * Returns 0, P2PC_ERR_INVAL (bad or retired dest), P2PC_ERR_FULL (a cap:
 * too many node IDs, entries or messages in flight: back-pressure),
 * P2PC_ERR_TOOBIG (out's cap), P2PC_ERR_NOMEM. On failure nothing was sent
 * and the state is as before (but that a full id table is swept first:
 * ids nothing needed may be gone, counted in stats.forgotten).
 */
int p2pc_causal_send(p2pc_causal *c, const char *dest, const uint8_t *payload,
                     size_t len, uint64_t mono_ns, p2pc_buf *out);

/*
 * Takes one encoded message that arrived (from expected_sender, if
 * non-NULL). Drops duplicates and messages older than Δ (EXPIRE); delivers
 * it if its entries for this node are met, else buffers it; then drains
 * the buffer. Returns:
 *   0               accepted (delivered, buffered, expired or a duplicate);
 *   P2PC_ERR_FULL   not accepted now: the buffer or the entry table is
 *                   full. Offer it again later (the link layer does not
 *                   acknowledge it);
 *   P2PC_ERR_AHEAD  not accepted now: its stamp leads this node's network
 *                   time by more than the error bound + margin, or is above
 *                   INT64_MAX, which no network time reaches (REFUSE);
 *   P2PC_ERR_PROTO  malformed, addressed to another node, or from someone
 *                   other than expected_sender; nothing changed;
 *   P2PC_ERR_TOOBIG it names more node IDs than max_nodes allows, even
 *                   once every id nothing needs is forgotten;
 * A message refused leaves no name in the table (a full table may have
 * been swept first: ids nothing needed, counted in stats.forgotten).
 *   P2PC_ERR_NOMEM.
 */
int p2pc_causal_receive(p2pc_causal *c, const char *expected_sender,
                        const uint8_t *b, size_t len, uint64_t mono_ns);

/*
 * The same for a message that travelled `link_hops` (>= 1) links to get
 * here: a broadcast forwarded unchanged by relays. Pass expected_sender
 * NULL for a broadcast (its relay is not its sender). The entries it
 * carries count link_hops more hops (not 1), so that the stability levels
 * judge them soundly: each of those links must, like a DATA link, carry
 * its stability report before the message (docs/PROTOCOL.md, "Stability");
 * where that is not so, pass P2PC_SES_MAX_HOPS (its entries then retire
 * only by reports, LS values and expiry). A broadcast is taken exactly
 * once: copies are DUP events; one stamped before this node's birth
 * (p2pc_causal_birth) is not addressed to it: DROP, reason "sent before
 * this node's birth".
 */
int p2pc_causal_receive_hops(p2pc_causal *c, const char *expected_sender,
                             const uint8_t *b, size_t len, uint32_t link_hops,
                             uint64_t mono_ns);

/* True if sender:n arrived here already: delivered, buffered or written
 * off (a relay need not ask for it again). Sender self: sent here. */
bool p2pc_causal_has(const p2pc_causal *c, const char *sender, uint64_t n);

/* This node's birth: the HLC at its first input (the first set_time with
 * a known network time, or the first send or receive before that). A
 * broadcast stamped below it is not addressed to this node: it is never
 * delivered here, and entries about it are met (PROTOCOL.md, "Broadcast
 * to the whole network"). 0 until then. */
uint64_t p2pc_causal_birth(const p2pc_causal *c);

/*
 * What dest reported about this node's messages to it: every message up
 * to `delivered` is delivered there or written off, and the ranges
 * [first, last] in wo[0..2*nwo) (ascending) were written off (expired). The
 * messages covered leave the pending set (written-off ones with an EXPIRE
 * event at_sender) and their entries are dropped (unless no_prune).
 * Returns 0, P2PC_ERR_INVAL (bad id) or P2PC_ERR_PROTO (delivered beyond
 * the last message this node sent: a destination may report our
 * broadcasts, which share the numbers, also one it was sent nothing else).
 */
int p2pc_causal_peer_report(p2pc_causal *c, const char *dest,
                            uint64_t delivered, const uint64_t *wo,
                            uint32_t nwo, uint64_t mono_ns);

/* What this node reports to sender: see p2pc_causal_peer_report. wo gets
 * up to P2PC_CAUSAL_MAX_WRITTEN_OFF ranges (2 values each). A range it had
 * to forget at that cap keeps `delivered` below it for 2Δ: the sender
 * then gives those messages up itself rather than take them for
 * delivered. */
void p2pc_causal_report_for(const p2pc_causal *c, const char *sender,
                            uint64_t *delivered, uint64_t *wo, uint32_t *nwo);

/* Messages sent to dest not yet reported delivered or written off. */
uint32_t p2pc_causal_pending_to(const p2pc_causal *c, const char *dest);
/* LS: every message this node sent stamped below it is delivered (or
 * written off) at its destination; its HLC if nothing is pending. */
uint64_t p2pc_causal_local_stable(const p2pc_causal *c);
/* The network's stability levels (stable.h): an entry that has travelled
 * h DATA hops and is stamped below levels[h] is stable (its message is
 * delivered or written off); nlevels <= P2PC_CAUSAL_LEVELS, and entries
 * that travelled further are retired only by other means. Ignored with
 * no_prune. */
#define P2PC_CAUSAL_LEVELS 33
void p2pc_causal_set_stable_levels(p2pc_causal *c, const uint64_t *levels,
                                   uint32_t nlevels);
/* The same, but a level only falls: for a report that came in between
 * two refreshes (it may lower levels, never raise them; the DATA that
 * follows it is judged by them). */
void p2pc_causal_lower_stable_levels(p2pc_causal *c, const uint64_t *levels,
                                     uint32_t nlevels);
/* The same with one value g for every level: g must be at most every
 * node's LS (a global stable time). */
void p2pc_causal_set_stable(p2pc_causal *c, uint64_t g);
/* A value that sender's LS had at some time (level 0 of its report, from
 * its own link): entries of its messages stamped below it are stable,
 * however far they travelled. Only raises. Ignored for an unknown id or
 * with no_prune. */
void p2pc_causal_set_peer_stable(p2pc_causal *c, const char *sender,
                                 uint64_t ls);

/*
 * Retires the causal identity id: a process that is gone for good (a
 * node's previous incarnation). Its buffered messages are discarded (DROP)
 * and later ones are dropped on arrival; entries about messages to it
 * leave; entries about messages from it are met from now on. Messages
 * pending to it leave the pending set silently (the caller reports them).
 * The retirement is remembered Δ + settle (then every message of it sent
 * before is older than Δ): after that the id may be forgotten, and a send
 * to it is one to an identity never heard of (it waits and is given up),
 * not P2PC_ERR_INVAL.
 * Returns 0, P2PC_ERR_INVAL (bad id or self) or P2PC_ERR_FULL/NOMEM.
 */
int p2pc_causal_retire(p2pc_causal *c, const char *id, uint64_t mono_ns);
bool p2pc_causal_is_retired(const p2pc_causal *c, const char *id);

/* Resumes a drain that a full table or an allocation failure interrupted
 * (a no-op otherwise). */
void p2pc_causal_drain(p2pc_causal *c, uint64_t mono_ns);

/* Introspection. */
const char *p2pc_causal_self(const p2pc_causal *c);
const char *p2pc_causal_id_name(const p2pc_causal *c, uint32_t id);
uint32_t p2pc_causal_buffered(const p2pc_causal *c);
/* The number of the last message sent (its id is "<self>:<n>"). */
uint64_t p2pc_causal_sent(const p2pc_causal *c);
/* The stamp of the last message sent. */
uint64_t p2pc_causal_last_stamp(const p2pc_causal *c);
uint64_t p2pc_causal_hlc(const p2pc_causal *c);
uint64_t p2pc_causal_lifetime(const p2pc_causal *c);
/* Entries held now. */
uint32_t p2pc_causal_pairs(const p2pc_causal *c);
/* Bytes of causal state held (entries, pending, buffer headers, tables). */
size_t p2pc_causal_state_bytes(const p2pc_causal *c);

typedef struct p2pc_causal_stats {
  uint64_t sent, received, delivered, buffered, duplicates, rejected_full,
      malformed, pruned_pairs, dropped_retired;
  uint64_t expired_rx;    /* messages dropped here as older than Δ */
  uint64_t expired_tx;    /* own messages given up or written off */
  uint64_t expired_deps;  /* entries dropped as older than Δ */
  uint64_t stable_deps;   /* entries dropped as stable */
  uint64_t refused_ahead; /* messages refused: stamp too far ahead */
  uint64_t full_deps;     /* sends or receives refused at an entry cap */
  uint32_t deps_max;      /* most entries ever held */
  uint64_t forgotten;     /* ids forgotten: silent, nothing left about them */
} p2pc_causal_stats;
void p2pc_causal_get_stats(const p2pc_causal *c, p2pc_causal_stats *st);

#endif /* P2PC_CAUSAL_H */
