/* SPDX-License-Identifier: MIT */
/*
 * The frame codec: everything two nodes say to each other over a link.
 * docs/PROTOCOL.md is the normative description; this header is its C face
 * (the SES message inside a DATA frame is sescodec.h's).
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
#ifndef P2PC_FRAME_H
#define P2PC_FRAME_H

#include "buf.h"
#include "idtab.h"
#include "stable.h"
#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define P2PC_WIRE_VERSION 3
#define P2PC_WIRE_MAGIC 0x50325043u /* "P2PC" */
#define P2PC_WIRE_HDR 5             /* length + type */
/* Default and hard upper bound of a frame's length field. */
#define P2PC_WIRE_MAX_FRAME_DEFAULT (1u << 20)
#define P2PC_WIRE_MAX_FRAME_LIMIT (1u << 26)
#define P2PC_WIRE_MAX_PEERS 1024 /* entries in one PEERS frame */
#define P2PC_WIRE_MAX_REASON 256 /* bytes of an ERROR frame's reason */
#define P2PC_WIRE_MAX_EXPIRED 64 /* message numbers in one STABLE frame */
#define P2PC_WIRE_MAX_SHUFFLE 16 /* records in one SHUFFLE / SHUFFLE_REPLY */

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
  P2PC_FRAME_STABLE = 11,
  /* Protocol version 3: the overlay (PROTOCOL.md, "The overlay"). */
  P2PC_FRAME_PING_REQ = 12,      /* failure detection: probe a peer for me */
  P2PC_FRAME_PING_REQ_ACK = 13,  /* ... its answer */
  P2PC_FRAME_MEMBER = 14,        /* membership updates: suspect/alive/dead */
  P2PC_FRAME_SHUFFLE = 16,       /* passive view exchange */
  P2PC_FRAME_SHUFFLE_REPLY = 17, /* ... its answer */
  P2PC_FRAME_GOSSIP = 18,        /* broadcast: eager push (Plumtree) */
  P2PC_FRAME_IHAVE = 19,         /* broadcast: lazy announcement */
  P2PC_FRAME_GRAFT = 20,         /* broadcast: repair, join the tree */
  P2PC_FRAME_PRUNE = 21          /* broadcast: leave the tree */
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
/* The link is opened on demand, for a unicast to a node that is not a
 * neighbour: outside both active views (PROTOCOL.md, "Addressing any
 * node"); a full receiver takes it anyway. */
#define P2PC_HELLO_ON_DEMAND 0x0004

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
  P2PC_WIRE_E_FULL = 5,      /* its peer table is full (maxPeers) */
  P2PC_WIRE_E_CLOSED = 6     /* closed on purpose (a session ended by LEAVE):
                              * nothing failed */
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

/* A node's address record (protocol version 3): who it is, which
 * incarnation, where it listens (TCP) and its time port (UDP, also the
 * overlay's datagrams; 0: none), and a signature over the rest, empty until
 * the security issue fills it (sig_len must be 0 in version 3; the field
 * is there so the format need not change). Carried by PEERS, LEAVE,
 * SHUFFLE and the lookup datagrams. */
#define P2PC_WIRE_SIG_MAX 96
typedef struct p2pc_wire_peer {
  char id[P2PC_NODE_ID_MAX + 1];
  uint64_t incarnation;
  p2pc_wire_addr addr;
  uint16_t time_port;
  uint8_t sig_len;
  uint8_t sig[P2PC_WIRE_SIG_MAX];
} p2pc_wire_peer;
typedef p2pc_wire_peer p2pc_wire_record;

/* A record as tables keep it (the lookup's routing table, the passive
 * view, the lookups' shortlists): the record without its signature, half
 * the size. In version 3 a decoded record's sig_len is always 0, so
 * nothing is lost; when signatures come, the tables that must pass them
 * on need a place for them again. */
typedef struct p2pc_wire_crec {
  char id[P2PC_NODE_ID_MAX + 1];
  uint16_t time_port;
  uint64_t incarnation;
  p2pc_wire_addr addr;
} p2pc_wire_crec;

static inline void p2pc_wire_crec_pack(p2pc_wire_crec *c,
                                       const p2pc_wire_record *r) {
  memcpy(c->id, r->id, sizeof c->id);
  c->time_port = r->time_port;
  c->incarnation = r->incarnation;
  c->addr = r->addr;
}

/* The record of c (no signature: sig_len 0). */
static inline void p2pc_wire_crec_unpack(p2pc_wire_record *r,
                                         const p2pc_wire_crec *c) {
  memset(r, 0, sizeof *r);
  memcpy(r->id, c->id, sizeof r->id);
  r->time_port = c->time_port;
  r->incarnation = c->incarnation;
  r->addr = c->addr;
}

/* A node ID (`u8 len`, then its bytes): appended (P2PC_ERR_INVAL if it is
 * not a valid ID) / read into dst (P2PC_NODE_ID_MAX + 1 bytes; false, and
 * the reader failed, if malformed). */
int p2pc_wire_id_put(p2pc_buf *out, const char *id);
bool p2pc_wire_id_get(p2pc_reader *r, char *dst);

/* One record, appended / read (r advanced; false if malformed). */
int p2pc_wire_record_put(p2pc_buf *out, const p2pc_wire_record *rec);
bool p2pc_wire_record_get(p2pc_reader *r, p2pc_wire_record *rec);

/*
 * ANNOUNCE: clock-sync state, sent on every up link at each heartbeat and
 * when it changes (PTP's Announce, ALGORITHMS.md §C.7). The sender's time
 * port and mode, whether its network time is synced, and the best
 * reference it knows: that node's election dataset (priority, class, ID),
 * the newest announce sequence number the reference issued, and the
 * sender's hops from it (0: the sender is the reference). ref "" = none.
 * Then the sender's tier and its tier hints (docs/CLOCK.md, Tiers), or
 * none and P2PC_ANNOUNCE_SAME_HINTS: the hints it sent last on this link
 * still hold (a flag with hints is malformed).
 *
 * A tier hint (docs/CLOCK.md, Tiers): a time source the sender knows,
 * with its tier (hops to the reference through time sources) and whether
 * it serves as many clients as it takes (P2PC_HINT_FULL). rec.time_port
 * is where its NTP requests go; rec.incarnation may be 0 (unknown). */
typedef struct p2pc_wire_tier_hint {
  p2pc_wire_record rec;
  uint8_t tier;
  uint8_t flags; /* P2PC_HINT_* */
} p2pc_wire_tier_hint;

#define P2PC_HINT_FULL 0x01
#define P2PC_ANNOUNCE_HINTS 4 /* tier hints in one ANNOUNCE, at most */
#define P2PC_TIER_NONE 255    /* not synchronized through time sources */
#define P2PC_CLAIM_LEN 96     /* an Ed25519 public key and a signature */

typedef struct p2pc_wire_announce {
  uint16_t time_port;
  uint8_t mode;  /* p2pc_clock_mode */
  uint8_t flags; /* P2PC_ANNOUNCE_* */
  char ref[P2PC_NODE_ID_MAX + 1];
  uint8_t ref_priority, ref_class;
  uint64_t ref_seq;
  uint8_t hops;
  /* Tiers: the sender's own tier (P2PC_TIER_NONE: none), and up to
   * P2PC_ANNOUNCE_HINTS of its time sources. */
  uint8_t tier;
  uint8_t nhints;
  p2pc_wire_tier_hint hints[P2PC_ANNOUNCE_HINTS];
  /* The reference's signed claim (secure links; docs/PROTOCOL.md,
   * "Signed reference claims"): its Ed25519 public key, then its signature
   * of (ref, ref_priority, ref_class, ref_seq, REF_ACTIVE), relayed as it
   * is. claim_len 0 (none, the frame ends after the hints) or
   * P2PC_CLAIM_LEN. */
  uint8_t claim_len;
  uint8_t claim[P2PC_CLAIM_LEN];
} p2pc_wire_announce;

#define P2PC_ANNOUNCE_SYNCED 0x01 /* the sender's network time is synced */
/* the reference has taken its role (is serving time), not just a candidate */
#define P2PC_ANNOUNCE_REF_ACTIVE 0x02
/* the sender serves as many time clients as it takes (serve_max) */
#define P2PC_ANNOUNCE_FULL 0x04
/* the sender's tier hints are those of its last ANNOUNCE on this link
 * that carried them (nhints is then 0): they are sent again only when
 * they change, and every P2PC_ANNOUNCE_HINTS_EVERY announcements */
#define P2PC_ANNOUNCE_SAME_HINTS 0x08
#define P2PC_ANNOUNCE_HINTS_EVERY 8

int p2pc_wire_announce_put(p2pc_buf *out, const p2pc_wire_announce *a);
int p2pc_wire_announce_get(const uint8_t *b, size_t len, p2pc_wire_announce *a);

/* PEERS: peer exchange. */
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

/* SHUFFLE: a passive-view exchange (PROTOCOL.md, "Views and shuffles"):
 *   u8 ttl, varint count (<= P2PC_WIRE_MAX_SHUFFLE), count records;
 * SHUFFLE_REPLY: varint count (<= P2PC_WIRE_MAX_SHUFFLE), count records.
 * recs[] has room for P2PC_WIRE_MAX_SHUFFLE; more is P2PC_ERR_TOOBIG on
 * encoding and P2PC_ERR_PROTO on decoding. */
int p2pc_wire_shuffle_put(p2pc_buf *out, uint8_t ttl,
                          const p2pc_wire_record *recs, size_t n);
int p2pc_wire_shuffle_get(const uint8_t *b, size_t len, uint8_t *ttl,
                          p2pc_wire_record *recs, size_t *n);
int p2pc_wire_shuffle_reply_put(p2pc_buf *out, const p2pc_wire_record *recs,
                                size_t n);
int p2pc_wire_shuffle_reply_get(const uint8_t *b, size_t len,
                                p2pc_wire_record *recs, size_t *n);

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

/* The report part of a STABLE body (nsteps and the steps), encoded once a
 * round and copied into every link's frame: only delivered and the
 * ranges differ from link to link. nsteps and the gaps are below 2^7. */
#define P2PC_WIRE_STABLE_REP_MAX                                               \
  (2 + P2PC_VARINT_MAX + (P2PC_STABLE_DEPTH - 1) * (1 + P2PC_VARINT_MAX))
typedef struct p2pc_wire_stable_rep {
  size_t len; /* 0: not encodable (the report increases somewhere) */
  uint8_t b[P2PC_WIRE_STABLE_REP_MAX];
} p2pc_wire_stable_rep;

/* Encodes rep into r. P2PC_ERR_INVAL (r->len = 0) if rep increases
 * somewhere. */
int p2pc_wire_stable_rep_encode(p2pc_wire_stable_rep *r,
                                const p2pc_stable_report *rep);
/* Appends the body of delivered, the report r encoded and the ranges:
 * the same bytes p2pc_wire_stable_put writes for the same values.
 * P2PC_ERR_INVAL (nothing appended) if r is empty or the ranges are not
 * as above. */
int p2pc_wire_stable_put_rep(p2pc_buf *out, uint64_t delivered,
                             const p2pc_wire_stable_rep *r,
                             const uint64_t *expired, uint32_t nexpired);
/* Decodes a body; the expired[] past nexpired are zeroed. */
int p2pc_wire_stable_get(const uint8_t *b, size_t len, p2pc_wire_stable *s);

/*
 * Broadcast dissemination (Plumtree; PROTOCOL.md, "Broadcast to the whole
 * network"); the codecs are frame_bcast.c's.
 *   GOSSIP: varint round (overlay hops so far, >= 1), then one SES message
 *           (sescodec.h) filling the rest of the body (at least 1 byte);
 *   IHAVE, GRAFT: varint count (1..P2PC_WIRE_MAX_BCAST_IDS),
 *           count x (sesid origin, varint n >= 1, varint round);
 *   PRUNE:  sesid origin: the link leaves that origin's tree.
 * A message's broadcast id is (origin, n): its sender's causal identity
 * and number, read from the SES header (p2pc_wire_ses_peek).
 */
#define P2PC_WIRE_MAX_BCAST_IDS 64

typedef struct p2pc_wire_bcast_id {
  char origin[P2PC_ID_MAX + 1]; /* a causal identity (p2pc_id_valid) */
  uint64_t n;                   /* >= 1 */
  uint64_t round;               /* hops of the copy the sender holds */
} p2pc_wire_bcast_id;

/* GOSSIP: msg[0..len) is the SES message (len >= 1). */
int p2pc_wire_gossip_put(p2pc_buf *out, uint64_t round, const uint8_t *msg,
                         size_t len);
/* *msg borrows from b. */
int p2pc_wire_gossip_get(const uint8_t *b, size_t len, uint64_t *round,
                         const uint8_t **msg, size_t *msg_len);
/* IHAVE and GRAFT share one layout; min_count is 1 for both (0 accepts
 * an empty list, which no frame uses now). P2PC_ERR_INVAL (nothing
 * appended) for a count outside min_count..64 or a bad id. */
int p2pc_wire_bcast_ids_put(p2pc_buf *out, const p2pc_wire_bcast_id *ids,
                            uint32_t count, uint32_t min_count);
/* ids must hold P2PC_WIRE_MAX_BCAST_IDS entries; *count gets the count. */
int p2pc_wire_bcast_ids_get(const uint8_t *b, size_t len, uint32_t min_count,
                            p2pc_wire_bcast_id *ids, uint32_t *count);
/* PRUNE: the origin (a causal identity, p2pc_id_valid) whose tree the
 * link leaves. put: P2PC_ERR_INVAL (nothing appended) for a bad id. get:
 * origin holds P2PC_ID_MAX + 1 bytes, untouched unless it succeeds. */
int p2pc_wire_prune_put(p2pc_buf *out, const char *origin);
int p2pc_wire_prune_get(const uint8_t *b, size_t len, char *origin);

#endif /* P2PC_FRAME_H */
