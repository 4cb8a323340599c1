/* SPDX-License-Identifier: MIT */
/*
 * The frame codec: everything two nodes say to each other over a link.
 * docs/PROTOCOL.md is the normative description; this header is its C face.
 *
 *   frame = length:be32  type:u8  body[length - 1]
 *
 * length counts the type byte and the body, 1 <= length <= max_frame. The
 * first frame each side sends is HELLO, which carries the magic and the
 * protocol version. Decoders borrow their input, never read past the length
 * they are given, write their outputs only on success, and return bytes
 * consumed (> 0), 0 for "need more" (frame splitting only) or a negative
 * P2PC_ERR_* for malformed input.
 */
#ifndef P2PC_WIRE_H
#define P2PC_WIRE_H

#include "buf.h"
#include "idtab.h"
#include <p2pclock/p2pclock.h>
#include "stable.h"

#include <stdbool.h>
#include <stdint.h>

#define P2PC_WIRE_VERSION 2
#define P2PC_WIRE_MAGIC 0x50325043u /* "P2PC" */
#define P2PC_WIRE_HDR 5             /* length + type */
/* Default and hard upper bound of a frame's length field. */
#define P2PC_WIRE_MAX_FRAME_DEFAULT (1u << 20)
#define P2PC_WIRE_MAX_FRAME_LIMIT (1u << 26)
#define P2PC_WIRE_MAX_PEERS 1024 /* entries in one PEERS frame */
#define P2PC_WIRE_MAX_REASON 256 /* bytes of an ERROR frame's reason */
#define P2PC_WIRE_MAX_EXPIRED 64 /* message numbers in one STABLE frame */

typedef enum p2pc_frame_type {
  P2PC_FRAME_HELLO = 1,
  P2PC_FRAME_ERROR = 2,
  P2PC_FRAME_DATA = 3,
  P2PC_FRAME_ACK = 4,
  P2PC_FRAME_PEERS = 5,
  P2PC_FRAME_PING = 6,
  P2PC_FRAME_PONG = 7,
  P2PC_FRAME_ANNOUNCE = 8,
  P2PC_FRAME_LEAVE = 9,
  /* 10 was HORIZON (protocol version 1): now an unknown type */
  P2PC_FRAME_STABLE = 11
} p2pc_frame_type;

typedef struct p2pc_frame {
  uint8_t type;
  const uint8_t *body; /* borrowed from the input */
  size_t body_len;
} p2pc_frame;

/* Splits the next frame off p[0..len). Returns bytes consumed, 0 if the
 * frame is incomplete, P2PC_ERR_TOOBIG if its length exceeds max_frame, or
 * P2PC_ERR_PROTO for a zero length. Unknown types are returned as they are:
 * whether to skip them is the caller's decision. */
int p2pc_wire_frame_split(const uint8_t *p, size_t len, uint32_t max_frame,
                          p2pc_frame *f);

/* Starts a frame of the given type in out; returns the offset to pass to
 * p2pc_wire_frame_end once the body is written, or a negative error. */
long p2pc_wire_frame_begin(p2pc_buf *out, p2pc_frame_type type);
/* Patches the frame's length. Returns 0, or P2PC_ERR_TOOBIG if the frame is
 * longer than max_frame (the frame is then removed from out). */
int p2pc_wire_frame_end(p2pc_buf *out, long start, uint32_t max_frame);

/* A node's advertised listen address (p2pclock.h): family 0 = none (the
 * node does not accept connections), 4 = IPv4, 6 = IPv6. */
typedef p2pc_addr p2pc_wire_addr;

/* HELLO: the first frame on a link, in both directions. */
typedef struct p2pc_wire_hello {
  uint16_t version;
  uint16_t flags; /* P2PC_HELLO_* */
  char id[P2PC_NODE_ID_MAX + 1];
  uint64_t incarnation; /* differs on every start of the node */
  p2pc_wire_addr listen;
} p2pc_wire_hello;

/* The sender has fewer than half its peer slots linked: a full receiver
 * makes room for it (PROTOCOL.md, "Making room"). */
#define P2PC_HELLO_JOIN 0x0001
/* The sender holds no session with the receiver: whatever the receiver
 * holds for the sender starts again from lseq 1. */
#define P2PC_HELLO_FRESH 0x0002

int p2pc_wire_hello_put(p2pc_buf *out, const p2pc_wire_hello *h);
/* Decodes a HELLO body. A wrong magic is P2PC_ERR_PROTO. A version other
 * than P2PC_WIRE_VERSION is P2PC_ERR_VERSION, and then (the one exception
 * to "outputs only on success") h->version is set, so the caller can name
 * it in its ERROR/VERSION answer; the rest of h is untouched. */
int p2pc_wire_hello_get(const uint8_t *b, size_t len, p2pc_wire_hello *h);

typedef enum p2pc_wire_errcode {
  P2PC_WIRE_E_VERSION = 1,   /* unsupported protocol version */
  P2PC_WIRE_E_DUPLICATE = 2, /* that node ID is already connected/ours */
  P2PC_WIRE_E_PROTO = 3,     /* malformed frame */
  P2PC_WIRE_E_SHUTDOWN = 4,  /* the node is stopping */
  P2PC_WIRE_E_FULL = 5       /* its peer table is full (maxPeers) */
} p2pc_wire_errcode;

/* ERROR: why the sender is about to close the link. */
typedef struct p2pc_wire_error {
  uint16_t code;
  char reason[P2PC_WIRE_MAX_REASON + 1]; /* NUL-terminated, may be empty */
} p2pc_wire_error;

int p2pc_wire_error_put(p2pc_buf *out, uint16_t code, const char *reason);
int p2pc_wire_error_get(const uint8_t *b, size_t len, p2pc_wire_error *e);

/* ACK: every DATA frame with link sequence <= cum has arrived; beyond
 * counts frames that arrived past a hole since the previous ACK (> 0 asks
 * the sender to send again from cum + 1 at once). */
int p2pc_wire_ack_put(p2pc_buf *out, uint64_t cum, uint64_t beyond);
int p2pc_wire_ack_get(const uint8_t *b, size_t len, uint64_t *cum,
                      uint64_t *beyond);

/* PING / PONG: heartbeat; PONG echoes PING's token. */
int p2pc_wire_ping_put(p2pc_buf *out, p2pc_frame_type type, uint64_t token);
int p2pc_wire_ping_get(const uint8_t *b, size_t len, uint64_t *token);

/*
 * ANNOUNCE: clock-sync state, sent on every up link at each heartbeat and
 * when it changes (PTP's Announce, ALGORITHMS.md §C.7). The sender's time
 * port and mode, whether its network time is synced, and the best
 * reference it knows: that node's election dataset (priority, class, ID),
 * the newest announce sequence number the reference issued, and the
 * sender's hops from it (0: the sender is the reference). ref "" = none.
 */
typedef struct p2pc_wire_announce {
  uint16_t time_port;
  uint8_t mode;  /* p2pc_clock_mode */
  uint8_t flags; /* P2PC_ANNOUNCE_* */
  char ref[P2PC_NODE_ID_MAX + 1];
  uint8_t ref_priority, ref_class;
  uint64_t ref_seq;
  uint8_t hops;
} p2pc_wire_announce;

#define P2PC_ANNOUNCE_SYNCED 0x01 /* the sender's network time is synced */
/* the reference has taken its role (is serving time), not just a candidate */
#define P2PC_ANNOUNCE_REF_ACTIVE 0x02

int p2pc_wire_announce_put(p2pc_buf *out, const p2pc_wire_announce *a);
int p2pc_wire_announce_get(const uint8_t *b, size_t len, p2pc_wire_announce *a);

/* PEERS: peer exchange. */
typedef struct p2pc_wire_peer {
  char id[P2PC_NODE_ID_MAX + 1];
  uint64_t incarnation;
  p2pc_wire_addr addr;
} p2pc_wire_peer;

int p2pc_wire_peers_put(p2pc_buf *out, const p2pc_wire_peer *peers, size_t n);
/* Decodes up to max entries into peers[]; *n gets the count. More than max
 * (or more than P2PC_WIRE_MAX_PEERS) entries is P2PC_ERR_TOOBIG. */
int p2pc_wire_peers_get(const uint8_t *b, size_t len, p2pc_wire_peer *peers,
                        size_t max, size_t *n);

/* LEAVE: the sender ends the session by agreement; it sends no DATA after
 * lseq `last`, and names at most one node to link to instead (next->id ""
 * when none). */
int p2pc_wire_leave_put(p2pc_buf *out, uint64_t last,
                        const p2pc_wire_peer *next);
int p2pc_wire_leave_get(const uint8_t *b, size_t len, uint64_t *last,
                        p2pc_wire_peer *next);

/*
 * STABLE: what the sender knows of stability (stable.h), for the receiver.
 *   delivered  the highest message number n of the receiver's messages to
 *              the sender such that the sender has delivered or written off
 *              every one up to it (0 = none);
 *   rep        the sender's report, levels 0..P2PC_STABLE_DEPTH-1;
 *   expired    ranges of the receiver's stream that the sender wrote off
 *              (expired), as nexpired/2 (first, last) pairs of message
 *              numbers: 1 <= first <= last < the next pair's first (what
 *              the receiver reports as expired at its destination).
 * The report travels as steps, one per level where the value changes:
 * varint nsteps (1..D), then varint 0 and the value of level 0, then
 * nsteps - 1 times (varint level gap >= 1, varint decrease >= 1). A level
 * takes the value of the last step at or below it; every step's level is
 * below D and no value goes below 0. Then varint nexpired (<= 64) and the
 * pairs. There is one encoding of each frame: a step that changes nothing
 * is malformed.
 */
typedef struct p2pc_wire_stable {
  uint64_t delivered;
  p2pc_stable_report rep;
  uint32_t nexpired;
  uint64_t expired[P2PC_WIRE_MAX_EXPIRED];
} p2pc_wire_stable;

/* Appends the body. P2PC_ERR_INVAL (nothing appended) if rep increases
 * somewhere or the ranges are not as above. */
int p2pc_wire_stable_put(p2pc_buf *out, const p2pc_wire_stable *s);
/* Decodes a body; the expired[] past nexpired are zeroed. */
int p2pc_wire_stable_get(const uint8_t *b, size_t len, p2pc_wire_stable *s);

/*
 * DATA: varint lseq (the link's sequence number) followed by one SES
 * message, or by nothing: a DATA frame with an empty body after lseq is a
 * tombstone, a message its sender gave up on (expired): it keeps the link's
 * numbering and is acknowledged like any other. The SES message is encoded
 * and decoded on its own, because the link layer (lseq) and the causal
 * layer (the message) are separate.
 */

/* A dependency entry of Δ-SES (docs/PROTOCOL.md, "Causal delivery"): the
 * causal past holds `sender`'s message number `n` to `dest`, stamped
 * `stamp` (HLC), and `dest` must deliver it (or write it off as expired)
 * before anything that carries this entry. Only the latest message per
 * (dest, sender) is kept: it implies the earlier ones. */
typedef struct p2pc_ses_dep {
  uint32_t dest, sender; /* interned ids */
  uint64_t n;            /* > 0 */
  uint64_t stamp;        /* > 0 */
  /* DATA hops the entry has travelled from its sender: 0 at the sender;
   * a receiver that keeps it adds 1 (saturating at P2PC_SES_MAX_HOPS). It
   * says which level of the stability report may retire it (stable.h). */
  uint32_t hops;
} p2pc_ses_dep;

#define P2PC_SES_MAX_HOPS 255

/* A value that node `id`'s LS had (docs/PROTOCOL.md, "Stability"): every
 * message it sent stamped below `ls` is delivered or written off. A
 * message carries one for its sender and for the senders of its entries,
 * so that this knowledge travels as fast as the entries it retires. */
typedef struct p2pc_ses_ls {
  uint32_t id;
  uint64_t ls; /* > 0, below the message's stamp */
} p2pc_ses_ls;

#define P2PC_SES_MAX_DEPS 65536 /* entries one message may carry */

/* A causal message. Ids are interned in the owning core's idtab. */
typedef struct p2pc_ses_msg {
  uint32_t sender;
  uint32_t dest;
  uint64_t n;         /* sender's send counter: the id is "<sender>:<n>" */
  uint64_t prev;      /* n of the sender's previous message to dest, 0: none */
  uint64_t stamp;     /* the message's HLC stamp */
  p2pc_ses_dep *deps; /* sorted by (dest, sender) */
  uint32_t ndeps;
  uint32_t capdeps;
  p2pc_ses_ls *ls; /* the sender's and entry senders' LS, by id */
  uint32_t nls;
  bool ls_owned; /* decode: ls is m's own (freed by p2pc_ses_msg_fini) */
  const uint8_t *payload; /* borrowed (decode: from the input) */
  size_t payload_len;
  /* Decode only: node IDs the table did not know yet. They have
   * provisional ids (table size + k, in this order) until
   * p2pc_wire_ses_commit interns them; sender/dest name the two ends by
   * name meanwhile. All point into the decoded input. */
  const uint8_t **new_names;
  uint8_t *new_lens;
  uint32_t nnew;
  const char *sender_name, *dest_name;
  uint8_t sender_len, dest_len;
} p2pc_ses_msg;

void p2pc_ses_msg_init(p2pc_ses_msg *m);
void p2pc_ses_msg_fini(p2pc_ses_msg *m, const p2pc_allocator *a);

/*
 * The encoding (docs/PROTOCOL.md, "DATA"):
 *   varint ndict (>= 2), ndict x (u8 len, name): [0] the sender, [1] the
 *     destination, then every other name the entries mention, once, in
 *     ascending (length, bytes) order;
 *   varint n (> 0), varint prev (< n), varint stamp (> 0);
 *   varint ndeps, then per entry, sorted by (dest index, sender index):
 *     varint dest index gap from the previous entry's (the first: absolute),
 *     varint sender index (a new dest: absolute; the same dest: the gap
 *       from the previous sender index minus 1),
 *     varint n (> 0), varint stamp - entry stamp (>= 1, < stamp),
 *     varint hops (<= P2PC_SES_MAX_HOPS);
 *     an entry's dest is never the message's sender, never its own sender;
 *   varint nls, then nls x (varint index: the first absolute, then the gap
 *     from the previous (>= 1); the message's sender or an entry's sender,
 *     varint stamp - ls (>= 1, < stamp));
 *   varint payload length, payload (the rest of the body).
 * *meta_bytes (if non-NULL) gets the bytes of causal metadata: everything
 * but the payload and its length. scratch is a work area kept by the
 * caller between calls (free it with p2pc_wire_scratch_fini).
 */
typedef struct p2pc_wire_scratch {
  uint32_t *map; /* local id -> dictionary index + 1, 0 = unset */
  uint32_t cap;
  uint32_t *order; /* dictionary index -> local id */
  uint32_t ocap;
  struct sesdep *deps; /* the entries in dictionary indices */
  uint32_t dcap;
  void *work; /* name sorting, then the LS list: reused, never shrunk */
  size_t wcap;
} p2pc_wire_scratch;

void p2pc_wire_scratch_fini(p2pc_wire_scratch *s, const p2pc_allocator *a);

int p2pc_wire_ses_put(p2pc_buf *out, const p2pc_ses_msg *m,
                      const p2pc_idtab *ids, p2pc_wire_scratch *scratch,
                      const p2pc_allocator *a, size_t *meta_bytes);
/* Decodes one SES message filling all of b[0..len). Nothing is added to
 * ids: names it does not know get provisional ids (see p2pc_ses_msg), so a
 * message that is then refused leaves no trace. P2PC_ERR_FULL if the new
 * names would not fit under the table's limit. On success m owns its
 * entries and borrows its payload and names from b. */
int p2pc_wire_ses_get(const uint8_t *b, size_t len, const p2pc_idtab *ids,
                      const p2pc_allocator *a, p2pc_ses_msg *m);
/* Interns m's new names, making its provisional ids real. Call it before
 * the table changes in any other way. Returns 0 or an idtab error. */
int p2pc_wire_ses_commit(p2pc_idtab *ids, const p2pc_ses_msg *m);

#endif /* P2PC_WIRE_H */
