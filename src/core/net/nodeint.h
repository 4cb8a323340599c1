/* SPDX-License-Identifier: MIT */
/*
 * The node's internals, shared by the node's own .c files only (node.c
 * and the modules beside it); nothing outside src/core/net includes this.
 * It holds struct p2pc_node, the link and peer records, and the functions
 * each module offers the others:
 *
 *   node.c         the entry points of node.h, deadlines, setup
 *   link.c         the action queue, links, framing in and out, HELLO out
 *   frames.c       dispatch of a received frame by type
 *   join.c         the handshake's verdict, incarnations, making room, LEAVE
 *   members.c      the peer table, PEERS exchange, liveness, re-dial
 *   stream.c       the per-peer reliable stream (lseq, ACK, resend)
 *   stability.c    stability slots and STABLE frames (stable.h)
 *   node_events.c  every event the node reports, and the causal/timesync
 *                  reports turned into events
 *   nodefmt.c      text: numbers, addresses, session IDs, the human log
 *   bcast.c        broadcast to the whole network: Plumtree's frames and
 *                  links (plumtree.h), the broadcast API
 *
 * Those functions are p2pc__node_*: hidden from the shared library, and
 * in the static one under the library's prefix, clashing with nothing of
 * an application's.
 */
#ifndef P2PC_NODEINT_H
#define P2PC_NODEINT_H

#include "event.h"
#include "node.h"
#include "plumtree.h"
#include "rng.h"
#include "stable.h"

#include <string.h>

#define NO_LINK UINT32_MAX
#define NO_PEER UINT32_MAX
#define NO_KEY UINT32_MAX                    /* no stability slot */
#define FULL_BACKOFF_NS (30ull * 1000000000) /* re-dial a full peer after */
/* Peer records beyond max_peers for links being handed over (a full node
 * takes a joining one in before the link it gives up is gone). */
#define JOIN_SLACK 4
#define LEAVE_TIMEOUT_NS (30ull * 1000000000)
#define MS 1000000ull
#define TAG_MAX 16

typedef enum lstate { L_FREE, L_HELLO, L_UP, L_CLOSING } lstate;

typedef struct link {
  /* what the deadline scans read, first (one cache line) */
  lstate state;
  bool outbound;
  bool join;     /* outbound, its HELLO asked a full peer to make room */
  uint32_t peer; /* NO_PEER until the HELLO names it */
  uint64_t opened_ns, last_rx_ns, last_ping_ns;
  char expect[P2PC_NODE_ID_MAX + 1];
  p2pc_wire_addr addr; /* outbound: the address dialed */
  p2pc_buf in;         /* an incomplete frame carried over between reads */
  p2pc_buf out;        /* frames not yet handed to the kernel */
  bool stable_rx;      /* the peer's first STABLE arrived on this link */
} link;

typedef struct txmsg {
  uint64_t lseq;
  uint8_t *frame; /* the whole DATA frame */
  size_t len;
  uint64_t release_ns; /* chaos delay: not written before this */
  uint64_t n;          /* the message number: its id is "<self>:<n>" */
} txmsg;

typedef struct peer {
  /* what the deadline scans read, first */
  uint32_t link;
  p2pc_peer_state state;
  bool dialing;
  bool addr_known;
  uint32_t qn;
  uint64_t next_dial_ns, last_progress_ns;
  char id[P2PC_NODE_ID_MAX + 1];
  char sesid[P2PC_ID_MAX + 1]; /* "<id>~<tag>" of the current session */
  uint64_t inc;
  bool inc_known;
  uint32_t skey; /* its slot in n->st (this incarnation), NO_KEY if none */
  uint64_t st_delivered; /* `delivered` of our last STABLE to it */
  /* A message from it was taken since its slot's first report: its
   * report may vouch for entries we hold, so it is frozen, not dropped,
   * when the link goes (PROTOCOL.md, "Stability"). */
  bool st_data;
  p2pc_wire_addr addr;
  bool refused_full; /* its last answer was "peer table full" */
  bool blocked;      /* a send to it met P2PC_ERR_FULL: WRITABLE owed */
  uint64_t backoff_ns;
  /* the session's outgoing stream */
  uint64_t tx_next;    /* next lseq to assign */
  uint64_t tx_acked;   /* the peer has everything <= this */
  uint64_t tx_written; /* written on the current link up to this */
  /* Unacknowledged, ascending lseq: qn of them in a ring of qcap (a
   * power of two) from q[qhead]; see txq_at. */
  txmsg *q;
  uint32_t qcap, qhead;
  size_t qbytes;
  uint64_t fast_for;   /* 1 + the ack of the last fast retransmit */
  uint64_t fast_at_ns; /* ... and when it was */
  /* the session's incoming stream */
  uint64_t rx_cum;
  uint64_t rx_beyond; /* frames past a hole since the last ACK */
  bool ack_due;
  uint64_t sent, delivered_from;
  /* Ending the session by agreement (PROTOCOL.md, "Making room"). */
  bool leave_sent, leave_rcvd;
  uint64_t leave_last;     /* the peer sends no DATA after this lseq */
  uint64_t leave_until_ns; /* not agreed by then: the session goes on */
  p2pc_wire_peer next;     /* whom to link to instead ("" = nobody) */
} peer;

/* A configured address whose node ID we learn from its HELLO. */
typedef struct anon_seed {
  p2pc_wire_addr addr;
  bool done, dialing;
  uint64_t next_dial_ns, backoff_ns;
} anon_seed;

struct p2pc_node {
  p2pc_node_config cfg;
  p2pc_node_callbacks cb;
  const p2pc_allocator *a;
  char id[P2PC_NODE_ID_MAX + 1];
  char sesid[P2PC_ID_MAX + 1];
  p2pc_causal *causal;
  p2pc_timesync *ts;
  uint64_t next_announce_ns;
  p2pc_wire_announce ann; /* sent with every heartbeat */
  p2pc_now now;           /* of the entry point running */
  p2pc_rng rng;
  link *links;
  uint32_t nlinks;
  uint32_t links_hw; /* no link at or above this index was ever used */
  peer *peers;
  uint32_t npeers;
  anon_seed *anon;
  uint32_t nanon;
  p2pc_action *acts;
  uint32_t nacts, acthead, capacts;
  p2pc_buf scratch; /* one frame being built */
  bool ev_synced;   /* as last reported: CLOCK_SYNCED/... */
  char ev_ref[P2PC_NODE_ID_MAX + 1];
  bool stopping;
  uint64_t undeliverable;
  uint64_t refused_ahead_logged_ns; /* rate limit of that WARN */
  /* Stability (stable.h): the levels of the network's LS minimum. Slots
   * are handed to peer incarnations; a slot whose report is frozen is not
   * reused before its hold is over (st_keys has room for that). When none
   * is free, the oldest frozen one is folded into a floor: G at that
   * moment, which is at most every value of that report, kept for the
   * hold. */
  p2pc_stable *st;
  uint32_t st_keys;
  uint64_t st_hold;
  uint64_t st_floor, st_floor_until;
  /* Broadcast to the whole network (bcast.c, plumtree.h). */
  p2pc_pt *pt;
  p2pc_buf bcast_buf; /* one frame of it being built */
};

/* ---- small helpers ------------------------------------------------------ */

/* The node's only randomness (rng.h), seeded by the runtime. */
static inline uint64_t rng_below(p2pc_node *n, uint64_t bound) {
  return p2pc_rng_below(&n->rng, bound);
}

static inline double rng_unit(p2pc_node *n) { return p2pc_rng_unit(&n->rng); }

static inline uint64_t node_hlc(const p2pc_node *n) {
  return p2pc_causal_hlc(n->causal);
}

/* Whether anything was said on the session: then the peer must hold the
 * same numbers for it to go on. */
static inline bool has_session(const peer *p) {
  return p->inc_known && (p->tx_next > 1 || p->rx_cum > 0);
}

/* Being ended by agreement: no new messages (PROTOCOL.md, "Making room"). */
static inline bool leaving(const peer *p) {
  return p->leave_sent || p->leave_rcvd;
}

/* The link broke or the peer never agreed: the session simply goes on. */
static inline void cancel_leave(peer *p) {
  p->leave_sent = p->leave_rcvd = false;
  p->leave_last = p->leave_until_ns = 0;
  memset(&p->next, 0, sizeof p->next);
}

/* ---- nodefmt.c: text ----------------------------------------------------- */

/* Appends decimal v / text t to s (NUL-terminated, capacity cap). */
void p2pc__node_str_u64(char *s, size_t cap, uint64_t v);
void p2pc__node_str_cat(char *s, size_t cap, const char *t);
bool p2pc__node_addr_eq(const p2pc_wire_addr *x, const p2pc_wire_addr *y);
/* "<id>~<tag>": the causal identity of incarnation inc of id. */
void p2pc__node_make_sesid(char *out, const char *id, uint64_t inc);
/* One human log line, if its level is wanted. */
void p2pc__node_log(p2pc_node *n, p2pc_log_level lv, const char *text);

/* ---- node_events.c: the event log and the layers' reports --------------- */

/* `peer_up` / `peer_down` (ev) for p with one more field, and its INFO
 * line. */
void p2pc__node_ev_peer(p2pc_node *n, const peer *p, bool up, const char *why);
void p2pc__node_ev_writable(p2pc_node *n, peer *p);
void p2pc__node_emit(p2pc_node *n, p2pc_event *ev);
/* `undeliverable`: our message msg_n to peer `to` will never arrive. */
void p2pc__node_ev_undeliverable(p2pc_node *n, const char *to, uint64_t msg_n,
                                 const char *why);
/* The hooks of timesync.h and causal.h: their reports become event lines,
 * log lines and deliveries. */
void p2pc__node_ev_timesync(void *ud, const p2pc_tsev *e);
void p2pc__node_ev_timesync_log(void *ud, p2pc_log_level lv, const char *text);
void p2pc__node_ev_causal(void *ud, const p2pc_causal_event *ev);

/* ---- link.c: actions, links, framing ----------------------------------- */

void p2pc__node_push_action(p2pc_node *n, const p2pc_action *a);
link *p2pc__node_link_get(const p2pc_node *n, p2pc_link_id l);
/* Writes the frame in n->scratch to l's output (not if it is closing). */
void p2pc__node_link_write(p2pc_node *n, link *l);
/* Asks the runtime to close link id, after an ERROR frame if code != 0. */
void p2pc__node_link_close(p2pc_node *n, p2pc_link_id id, uint16_t code,
                           const char *reason);
/* Builds one frame of type t (arg/v as the type needs) and writes it. */
int p2pc__node_frame_to_link(p2pc_node *n, p2pc_link_id id, p2pc_frame_type t,
                             const void *arg, uint64_t v);
void p2pc__node_send_hello(p2pc_node *n, p2pc_link_id lid, uint16_t flags);
/* Logs and closes a link that broke the protocol; P2PC_ERR_PROTO. */
int p2pc__node_proto_error(p2pc_node *n, p2pc_link_id lid, const char *what);
int p2pc__node_link_input(p2pc_node *n, p2pc_link_id lid, const uint8_t *b,
                          size_t len);
int p2pc__node_link_new(p2pc_node *n, bool outbound, const char *peer_id,
                        const p2pc_wire_addr *addr, p2pc_link_id *out);
void p2pc__node_link_closed(p2pc_node *n, p2pc_link_id lid);
void p2pc__node_link_consume(p2pc_node *n, p2pc_link_id lid, size_t len);

/* ---- frames.c ------------------------------------------------------------ */

/* One complete frame that arrived on link lid. */
int p2pc__node_on_frame(p2pc_node *n, p2pc_link_id lid, const p2pc_frame *f);
/* Passes a better clock reference on to every link (timesync decides). */
void p2pc__node_relay_announce(p2pc_node *n);

/* ---- join.c ------------------------------------------------------------ */

int p2pc__node_on_hello(p2pc_node *n, p2pc_link_id lid, const uint8_t *b,
                        size_t len);
void p2pc__node_set_incarnation(p2pc_node *n, peer *p, uint64_t inc);
/* Fewer than half of the peer slots linked: HELLOs ask for room. */
bool p2pc__node_needy(const p2pc_node *n);
void p2pc__node_on_leave(p2pc_node *n, peer *p, uint64_t last,
                         const p2pc_wire_peer *next);
bool p2pc__node_leave_done(const p2pc_node *n, const peer *p);
void p2pc__node_finish_leave(p2pc_node *n, uint32_t pi);

/* ---- members.c --------------------------------------------------------- */

uint32_t p2pc__node_peer_find(const p2pc_node *n, const char *id);
void p2pc__node_peer_init(p2pc_node *n, peer *p, const char *id);
uint32_t p2pc__node_peer_add_upto(p2pc_node *n, const char *id, uint32_t limit);
uint32_t p2pc__node_peer_add(p2pc_node *n, const char *id);
uint32_t p2pc__node_peer_add_evicting(p2pc_node *n, const char *id);
peer *p2pc__node_peer_by_addr(p2pc_node *n, const p2pc_wire_addr *addr,
                              const char *id);
void p2pc__node_peer_down(p2pc_node *n, peer *p, const char *reason);
void p2pc__node_schedule_dial(p2pc_node *n, peer *p);
anon_seed *p2pc__node_anon_by_addr(p2pc_node *n, const p2pc_wire_addr *addr);
void p2pc__node_anon_backoff(p2pc_node *n, anon_seed *s);
void p2pc__node_send_peers(p2pc_node *n, p2pc_link_id lid, uint32_t except);
void p2pc__node_on_peers(p2pc_node *n, const uint8_t *b, size_t len);
void p2pc__node_dial_failed(p2pc_node *n, const p2pc_wire_addr *addr,
                            const char *peer_id);
/* Link i is up: it died, went quiet, owes a heartbeat (rep, if beat), a
 * LEAVE was not agreed, or its unacknowledged data is due again. */
void p2pc__node_link_due(p2pc_node *n, uint32_t i, uint64_t t, bool beat,
                         const p2pc_stable_report *rep);
/* Dials whatever is due: known peers, then seeds without an ID. */
void p2pc__node_dials_due(p2pc_node *n, uint64_t t);

/* ---- stream.c ---------------------------------------------------------- */

/* The unacknowledged frame i of p's queue (0 = the oldest, i < qn). */
static inline txmsg *txq_at(const peer *p, uint32_t i) {
  return &p->q[(p->qhead + i) & (p->qcap - 1)];
}
void p2pc__node_causal_time(p2pc_node *n);
void p2pc__node_free_queue(p2pc_node *n, peer *p);
void p2pc__node_stream_restart(p2pc_node *n, peer *p);
void p2pc__node_stream_flush(p2pc_node *n, peer *p);
void p2pc__node_stream_tombstone(p2pc_node *n, const char *dest_sesid,
                                 uint64_t msg_n);
int p2pc__node_stream_send(p2pc_node *n, peer *p, const uint8_t *payload,
                           size_t len);
int p2pc__node_stream_data(p2pc_node *n, peer *p, const uint8_t *b, size_t len);
void p2pc__node_stream_ack(p2pc_node *n, peer *p, uint64_t cum,
                           uint64_t beyond);

/* ---- stability.c ------------------------------------------------------- */

uint32_t p2pc__node_stable_key(p2pc_node *n, peer *p);
void p2pc__node_stable_down(p2pc_node *n, peer *p);
void p2pc__node_stable_release(p2pc_node *n, peer *p);
void p2pc__node_stable_frame(p2pc_node *n, uint32_t lid,
                             const p2pc_stable_report *rep);
void p2pc__node_stable_send(p2pc_node *n, uint32_t lid);
bool p2pc__node_stable_update(p2pc_node *n);
/* A STABLE frame from p arrived on l. */
void p2pc__node_stable_in(p2pc_node *n, link *l, peer *p,
                          const p2pc_wire_stable *ws);

/* ---- bcast.c ----------------------------------------------------------- */

int p2pc__node_bcast_new(p2pc_node *n);
void p2pc__node_bcast_free(p2pc_node *n);
/* Link lid came up (it joins the tree) or is gone. */
void p2pc__node_bcast_link(p2pc_node *n, uint32_t lid, bool up);
/* A GOSSIP, IHAVE, GRAFT or PRUNE frame arrived on lid (up). */
int p2pc__node_bcast_frame(p2pc_node *n, uint32_t lid, const p2pc_frame *f);
void p2pc__node_bcast_deadline(p2pc_node *n);
uint64_t p2pc__node_bcast_next(const p2pc_node *n);
/* Fills e's broadcast fields for a delivery of a broadcast. */
void p2pc__node_bcast_event(const p2pc_node *n, const p2pc_causal_event *ce,
                            p2pc_event *e);

#endif /* P2PC_NODEINT_H */
