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
 *   members.c      the peer table, liveness, re-dial
 *   views.c        the passive view, PEERS samples, SHUFFLE, promotion
 *   stream.c       the per-peer reliable stream (lseq, ACK, resend)
 *   stability.c    stability slots and STABLE frames (stable.h)
 *   swim.c         failure detection: probes, suspicion, MEMBER (swim.h)
 *   node_events.c  every event the node reports, and the causal/timesync
 *                  reports turned into events
 *   nodefmt.c      text: numbers, addresses, session IDs
 *   lograte.c      the human log, its lines limited (none held back unsaid)
 *   bcast.c        broadcast to the whole network: Plumtree's frames and
 *                  links (plumtree.h), the broadcast API
 *   ondemand.c     unicast to any node: on-demand links and records, the
 *                  lookup's answers, the negative cache
 *   dhtnode.c      finding any node's record by ID (dht.h): the table fed,
 *                  the overlay's datagrams, bootstrap and refreshes
 *   dgauth.c       secure mode: the MAC of the time socket's datagrams
 *
 * Those functions are p2pc__node_*: hidden from the shared library, and
 * in the static one under the library's prefix, clashing with nothing of
 * an application's.
 */
#ifndef P2PC_NODEINT_H
#define P2PC_NODEINT_H

#include "dht.h"
#include "event.h"
#include "node.h"
#include "noise.h"
#include "plumtree.h"
#include "rng.h"
#include "stable.h"
#include "str.h"
#include "swim.h"

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
  bool join;      /* outbound, its HELLO asked a full peer to make room */
  bool stable_rx; /* the peer's first STABLE arrived on this link */
  bool remote_od; /* the peer's HELLO said ON_DEMAND */
  bool sec;       /* speaks records (secure.c, below); here, where the
                   * runtime's pass over the links reads it */
  uint32_t peer;  /* NO_PEER until the HELLO names it */
  uint64_t opened_ns, last_rx_ns, last_ping_ns;
  p2pc_buf out; /* frames not yet handed to the kernel (the runtime's
                 * pass over the links reads its len) */
  char expect[P2PC_NODE_ID_MAX + 1];
  p2pc_wire_addr addr; /* outbound: the address dialed */
  p2pc_buf in;         /* an incomplete frame carried over between reads */
  /* The peer said why it closes (its ERROR: stopping, a session ended):
   * the peer_down reason when the link goes; NULL: "link closed". */
  const char *down_why;
  /* ANNOUNCE: n->ann_gen of the hints last sent here (0: none yet), and
   * the announcements since, sent without them (announce_to_link) */
  uint32_t ann_gen;
  uint8_t ann_same;
  /* Secure links (secure.c): whether this one speaks records; the
   * handshake while it runs (allocated), the two ciphers after it, a
   * record not yet whole, frames written before the keys, and the peer's
   * static key once authenticated (sec: above). */
  bool rs_known;
  p2pc_noise_hs *hs;
  p2pc_noise_cipher tx, rx;
  p2pc_buf cin, pend;
  uint8_t rs[P2PC_NOISE_KEYLEN];
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
  bool ondemand; /* a session on demand (see fresh, below) */
  bool inc_known;
  /* inc came in the peer's HELLO over a secure link, not second-hand (a
   * record: an insider could make one up) */
  bool inc_proved;
  uint32_t qn;
  uint64_t next_dial_ns, last_progress_ns;
  uint64_t inc;
  uint64_t used_ns; /* on demand: last used (see fresh, below) */
  swim_member m;    /* the failure detector's view (swim.c); its state and
                     * incarnation are read by the deadline scan too */
  char id[P2PC_NODE_ID_MAX + 1];
  char sesid[P2PC_ID_MAX + 1]; /* "<id>~<tag>" of the current session */
  uint32_t skey; /* its slot in n->st (this incarnation), NO_KEY if none */
  uint64_t st_delivered; /* `delivered` of our last STABLE to it */
  /* A message from it was taken since its slot's first report: its
   * report may vouch for entries we hold, so it is frozen, not dropped,
   * when the link goes (PROTOCOL.md, "Stability"). */
  bool st_data;
  p2pc_wire_addr addr;
  bool refused_full; /* its last answer was "peer table full" */
  /* what its announcements last gave the DHT (dhtnode.c), and when */
  uint16_t dht_port;
  uint64_t dht_inc, dht_ns;
  bool blocked; /* a send to it met P2PC_ERR_FULL: WRITABLE owed */
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
  /* A hole is open: frames arrived past it and its frame has not (not a
   * refused one: rx_held). The ACK goes again with every heartbeat. */
  bool rx_hole, rx_held;
  uint64_t sent, delivered_from;
  /* Ending the session by agreement (PROTOCOL.md, "Making room"). */
  bool leave_sent, leave_rcvd;
  uint64_t leave_last;     /* the peer sends no DATA after this lseq */
  uint64_t leave_until_ns; /* not agreed by then: the session goes on */
  p2pc_wire_crec next;     /* whom to link to instead ("" = nobody) */
  /* On demand (ondemand.c): a session outside the active view, linked
   * only while there is something to say; last used (sent to, heard
   * from) at used_ns. fresh: no handshake yet since the record was made,
   * so our HELLO says FRESH even with messages queued. (ondemand and
   * used_ns are at the top, with what the scans read.) */
  bool fresh;
  /* Its link closed while our own dial to it was in its handshake (two
   * crossing dials settling on ours): no peer_down unless that dial
   * fails, no second peer_up when it succeeds. */
  bool quiet_down;
  /* views.c: taken from the passive view and not linked yet (a failed
   * dial drops the record); its time port, from its address record. */
  bool promoted;
  uint16_t time_port;
  uint64_t rec_inc; /* views.c: the incarnation its record named (0: none) */
} peer;

/* The negative cache and the RESOLVED events owed (ondemand.c). */
typedef struct od_entry {
  char id[P2PC_NODE_ID_MAX + 1];
  uint8_t kind; /* OD_FREE, OD_NEG (until until_ns), OD_OWED */
  uint64_t until_ns;
} od_entry;
#define OD_TABLE 32
#define OD_NEG_NS (10ull * 1000000000)

/* A record a lookup found (p2pc__node_resolved), kept for the send that
 * follows (PEERS records are the passive view's). */
typedef struct od_heard {
  char id[P2PC_NODE_ID_MAX + 1];
  uint64_t inc;
  p2pc_wire_addr addr;
  uint16_t time_port;
} od_heard;
#define OD_HEARD 64

/* An entry of the passive view (views.c): a node we know and do not link
 * to; sent: in our last SHUFFLE or SHUFFLE_REPLY (replaced first). */
typedef struct pentry {
  p2pc_wire_crec rec; /* compact: no signature in version 3 */
  bool sent;
} pentry;

/* A configured address whose node ID we learn from its HELLO. */
typedef struct anon_seed {
  p2pc_wire_addr addr;
  bool done, dialing;
  uint64_t next_dial_ns, backoff_ns;
} anon_seed;

/* A node ID and the static key its secure links proved (secure.c). */
#define P2PC_PINS_MAX 1024
/* Senders remembered with the non-primary key they used (dgauth.c): an
 * answer leaves in the loop turn its request came in. */
#define P2PC_DG_FROM_MAX 16
typedef struct p2pc__pin {
  char id[P2PC_NODE_ID_MAX + 1];
  uint8_t key[32];
  uint64_t used_ns; /* last linked */
} p2pc__pin;

/* A member of the allowlist, with the X25519 key its links prove. */
typedef struct p2pc__member {
  char id[P2PC_NODE_ID_MAX + 1];
  uint8_t ed[32], x[32];
  uint8_t roles;
} p2pc__member;

/* Reference claims verified lately: a relayed claim is checked once. */
#define P2PC_CLAIMS_SEEN 8
typedef struct p2pc__claim_seen {
  uint8_t digest[16]; /* BLAKE2b of what was signed and the claim */
} p2pc__claim_seen;

/* Accepted connections in their handshake, at most: from one host (its
 * own host aside), and in all (link.c). */
#define P2PC_HELLO_PER_ADDR 8
#define P2PC_HELLO_INBOUND 64

/* Addresses remembered as not answering a promotion (views.c). */
#define P2PC_ADDR_FAILED_MAX 32
#define P2PC_ADDR_FAILED_NS (60ull * 1000000000)

/* Nodes this one sent away to make room, remembered (join.c): a JOIN
 * from one of them is not taken in by ending another session. */
#define P2PC_SENT_AWAY_MAX 32
#define P2PC_SENT_AWAY_NS (10ull * 1000000000)

/* One shape of human log line and its limit (lograte.c). */
#define P2PC_LOG_SHAPES 8
#define P2PC_LOG_SAMPLE 72
typedef struct p2pc__logshape {
  uint32_t hash;
  uint8_t lv; /* the most severe level held back */
  bool used;
  uint64_t tat, last_ns, held, held_since;
  char sample[P2PC_LOG_SAMPLE]; /* the last line held back, cut */
} p2pc__logshape;

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
  uint32_t ann_gen;       /* rises when ann's tier hints change (from 1) */
  p2pc_now now;           /* of the entry point running */
  p2pc_rng rng;
  link *links;
  uint32_t nlinks;    /* the table's bound (max_peers * 2 + 8 + max_ondemand) */
  uint32_t links_cap; /* links[0..links_cap) allocated: grows up to nlinks */
  uint32_t links_hw;  /* no link at or above this index was ever used */
  peer *peers;
  uint32_t npeers;
  uint32_t peers_cap; /* grows (ondemand.c) as records come, never inside
                       * a callback: up to max_peers + JOIN_SLACK +
                       * max_sessions */
  uint32_t nondemand; /* records with ondemand set */
  uint32_t cb_depth;  /* inside the application's event callback */
  od_entry *od;       /* OD_TABLE, allocated on first need */
  od_heard *heard;    /* OD_HEARD, allocated on first need */
  uint32_t nheard;
  anon_seed *anon;
  uint32_t nanon;
  uint32_t anon_done; /* of them done (anon_finish): the deadline skips
                       * them all when every one is */
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
  /* Finding any node's record (dhtnode.c): the table and the lookups, the
   * next refresh (UINT64_MAX until a neighbour is heard), and whether the
   * bootstrap (our own key's lookup) went out. */
  p2pc_dht *dht;
  uint64_t dht_refresh_ns;
  bool dht_booted;
  swim sw; /* failure detection (swim.c) */
  /* The passive view (views.c, PROTOCOL.md "Views and shuffles"): never
   * self, never a peer of the table. */
  pentry *passive;
  uint32_t npassive, passive_cap; /* passive_cap grows up to passive_max */
  uint64_t next_shuffle_ns;       /* the next SHUFFLE */
  uint64_t next_promote_ns;       /* no promotion before (after a refusal) */
  /* Promoted entries that did not answer, less those that did since: while
   * any, one promotion at a time, each after a back-off (views.c). And
   * the addresses that did not answer, refused for ADDR_FAILED_NS: a
   * record heard is no reason to dial a stranger again and again. */
  uint32_t promote_fails;
  struct {
    p2pc_wire_addr addr;
    uint64_t until_ns;
  } addr_failed[P2PC_ADDR_FAILED_MAX];
  /* The peers given up to make room for a JOIN (join.c), each until
   * SENT_AWAY_NS after its LEAVE: two needy nodes whose only link was
   * this full node once sent each other away with their JOINs, one
   * session ended every couple of milliseconds. */
  struct {
    char id[P2PC_NODE_ID_MAX + 1];
    uint64_t until_ns;
  } sent_away[P2PC_SENT_AWAY_MAX];
  /* Secure links (secure.c): the ephemeral keys drawn, a record's
   * plaintext (allocated on the first), handshakes done and failed. */
  uint64_t sec_drbg_ctr;
  /* IDs bound to the keys they linked with (allocated as they come, at
   * most P2PC_PINS_MAX: the least recently linked gives way). */
  p2pc__pin *pins;
  uint32_t npins, pins_cap;
  /* The allowlist (sorted by nothing: found by a scan), none if empty. */
  p2pc__member *members;
  uint32_t nmembers;
  uint8_t priority_cfg; /* the clock priority configured (the role aside) */
  /* Reference claims: the last ones verified, and our own last signed. */
  p2pc__claim_seen claims_seen[P2PC_CLAIMS_SEEN];
  uint32_t claims_seen_next;
  uint64_t claim_seq;
  uint8_t claim_flags, claim_prio, claim_cls;
  bool claim_made;
  uint8_t claim[P2PC_CLAIM_LEN];
  uint64_t claims_refused;
  uint8_t *sec_plain;
  uint64_t sec_done, sec_failed;
  uint64_t inbound_refused; /* connections over the handshake bounds */
  uint64_t dg_unauth;       /* datagrams without a valid MAC (dgauth.c) */
  /* The ring key the last senders' datagrams came under, if not the
   * primary (dgauth.c): the answer goes back under it, for an asker that
   * does not hold our primary yet (a rotation). Cleared when the ring
   * changes. */
  struct {
    p2pc_wire_addr addr;
    uint8_t key; /* 0: the primary (an entry that lost its use) */
  } dg_from[P2PC_DG_FROM_MAX];
  uint32_t dg_from_next;
  /* The MAC keys derived from each ring key, [0] NTP's, [1] the
   * lookup's: derived when the ring is set, not per datagram. */
  uint8_t dg_keys[P2PC_KEYRING_MAX][2][32];
  /* The human log's limits (lograte.c): per shape of line, and overall. */
  struct {
    p2pc__logshape shape[P2PC_LOG_SHAPES];
    uint64_t tat, held, held_since;
    uint64_t due_ns; /* a count held back is to be said (UINT64_MAX: none) */
    uint8_t lv;      /* the most severe level held back overall */
  } log;
};

/* ---- small helpers ------------------------------------------------------ */

/* The node's only randomness (rng.h), seeded by the runtime. */
static inline uint64_t rng_below(p2pc_node *n, uint64_t bound) {
  return p2pc_rng_below(&n->rng, bound);
}

/* A back-off of b, jittered: drawn from [b/2, b]. */
static inline uint64_t rng_jitter(p2pc_node *n, uint64_t b) {
  return b / 2 + rng_below(n, b / 2 + 1);
}

static inline double rng_unit(p2pc_node *n) { return p2pc_rng_unit(&n->rng); }

static inline uint64_t node_hlc(const p2pc_node *n) {
  return p2pc_causal_hlc(n->causal);
}

/* Whether anything was said on the session: then the peer must hold the
 * same numbers for it to go on. */
static inline bool has_session(const peer *p) {
  return p->inc_known && !p->fresh && (p->tx_next > 1 || p->rx_cum > 0);
}

/* Records of the active view (the on-demand ones do not count). */
static inline uint32_t active_peers(const p2pc_node *n) {
  return n->npeers - n->nondemand;
}

/* Whether p is to be dialed when its back-off is over: an on-demand peer
 * only while it has something to send. */
static inline bool dial_wanted(const peer *p) {
  return p->addr_known && p->link == NO_LINK && !p->dialing &&
         (!p->ondemand || p->qn > 0);
}

/* A seed known only by address is done with (its node is known by ID);
 * done is never cleared. */
static inline void anon_finish(p2pc_node *n, anon_seed *s) {
  if (!s->done) {
    s->done = true;
    n->anon_done++;
  }
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

/* Text is built with p2pc_str_cat / p2pc_str_u64 (str.h). */
bool p2pc__node_addr_eq(const p2pc_wire_addr *x, const p2pc_wire_addr *y);
/* "<id>~<tag>": the causal identity of incarnation inc of id. */
void p2pc__node_make_sesid(char *out, const char *id, uint64_t inc);
/* The number of keys in the ring (node.h, p2pc_node_secure: npsk 0 is
 * psk[0] alone, for callers that predate the ring). */
static inline unsigned p2pc__sec_ring_len(const p2pc_node *n) {
  unsigned k = n->cfg.secure.npsk;
  return k == 0 ? 1 : k > P2PC_KEYRING_MAX ? P2PC_KEYRING_MAX : k;
}

/* ---- dgauth.c: authenticated datagrams --------------------------------- */

/* The ring is set (at start, and on each change): the MAC keys derived
 * again, and which ring key each recent sender used forgotten. */
void p2pc__dgauth_ring_changed(p2pc_node *n);

/* A datagram of the time socket (overlay: the lookup's, else NTP) in
 * secure mode: the length of what to pass on (its MAC checked and cut
 * off; a standard NTP client's as it is), or -1: dropped, counted and
 * logged (rate-limited). In open mode: len. */
long p2pc__dgauth_open(p2pc_node *n, const p2pc_wire_addr *from,
                       const uint8_t *b, size_t len, bool overlay);
/* A datagram about to leave, in secure mode: its MAC appended (the
 * transmit timestamp written first, if the runtime was to). */
void p2pc__dgauth_seal(const p2pc_node *n, p2pc_datagram *d, bool overlay);

/* ---- secure.c: secure links -------------------------------------------- */

/* Starts the handshake on a new link (nothing without cfg.secure.on; the
 * dialer writes the first message). */
int p2pc__sec_start(p2pc_node *n, p2pc_link_id lid, link *l);
/* Bytes from a secure link's peer: records, then the frames they carry. */
int p2pc__sec_input(p2pc_node *n, p2pc_link_id lid, link *l, const uint8_t *b,
                    size_t len);
/* Frame bytes for a secure link: sealed, or held until the keys exist.
 * False if the link is not secure (the caller writes them as they are). */
bool p2pc__sec_write(p2pc_node *n, link *l, const uint8_t *b, size_t len);
/* Whether a HELLO naming id may be taken on secure link l: its ID was
 * never linked here with another key (trust on first use; unknown IDs
 * and plain links pass). p2pc__sec_pin binds id to l's key once its
 * HELLO is taken. */
/* Why a HELLO naming id may not be taken on secure link l, or NULL: with
 * an allowlist, id must be on it with l's key; without, id must never
 * have linked here with another key (trust on first use; unknown IDs and
 * plain links pass). p2pc__sec_pin binds id to l's key once its HELLO is
 * taken. */
const char *p2pc__sec_id_refused(const p2pc_node *n, const char *id,
                                 const link *l);
void p2pc__sec_pin(p2pc_node *n, const char *id, const link *l);
/* The allowlist and this node's role (p2pc_node_new, before the clock is
 * made: a member without the reference role never stands). 0, or
 * P2PC_ERR_INVAL (logged) / P2PC_ERR_NOMEM. */
int p2pc__sec_init(p2pc_node *n, p2pc_node_config *c);
/* Reference claims (PROTOCOL.md, "Signed reference claims"): our own
 * announcement as the reference gets our signature; a received one
 * whose claim does not hold (no claim, a bad signature, a key not bound
 * to the reference's ID, a member without the role) loses its reference
 * (an announcement of none). Nothing on plain links. */
void p2pc__sec_claim_sign(p2pc_node *n, p2pc_wire_announce *an);
void p2pc__sec_claim_check(p2pc_node *n, p2pc_wire_announce *an);
/* Seals the frames a secure link holds (nothing on a plain link, or in
 * the handshake). */
void p2pc__sec_flush(p2pc_node *n, link *l);
/* The bytes queued on a link: its output, and frames not yet sealed. */
static inline size_t p2pc__link_queued(const link *l) {
  return l->out.len + l->pend.len;
}
/* A link's secure state goes (keys wiped) when it is freed. */
void p2pc__sec_release(p2pc_node *n, link *l);
/* Frame bytes onto a link's output: sealed on a secure link (link.c;
 * every write to a link's output goes through it). */
void p2pc__node_link_put(p2pc_node *n, link *l, const uint8_t *b, size_t len);
/* The frames of a link's plaintext stream (link.c). */
int p2pc__node_frames_input(p2pc_node *n, p2pc_link_id lid, link *l,
                            const uint8_t *b, size_t len);

/* One human log line, if its level is wanted and within the limits
 * (lograte.c); p2pc__node_log_due says the counts held back for a second
 * (from on_deadline), p2pc__node_log_flush all of them (when freed). */
void p2pc__node_log(p2pc_node *n, p2pc_log_level lv, const char *text);
void p2pc__node_log_due(p2pc_node *n);
void p2pc__node_log_flush(p2pc_node *n);

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
/* The node's announcement becomes an (its hints' generation rises if they
 * changed), and goes to link i: with its tier hints if they changed since
 * the link last had them, or every P2PC_ANNOUNCE_HINTS_EVERY; otherwise
 * without, flagged P2PC_ANNOUNCE_SAME_HINTS. */
void p2pc__node_set_announce(p2pc_node *n, p2pc_wire_announce *an);
void p2pc__node_announce_to_link(p2pc_node *n, uint32_t i);

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
/* Drops peer record pi (the last one moves into its slot). */
void p2pc__node_forget_peer(p2pc_node *n, uint32_t pi);

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
void p2pc__node_dial_failed(p2pc_node *n, const p2pc_wire_addr *addr,
                            const char *peer_id);
/* The heartbeat of a link both ends hold on demand, whose heartbeat is the
 * STABLE report alone (it carries no clock announcement): stable_idle, at
 * least heartbeat. p2pc__node_beat_ns: a link's interval (heartbeat on
 * every other). */
static inline uint64_t p2pc__node_od_beat_ns(const p2pc_node *n) {
  return n->cfg.stable_idle_ns > n->cfg.heartbeat_ns ? n->cfg.stable_idle_ns
                                                     : n->cfg.heartbeat_ns;
}
static inline uint64_t p2pc__node_beat_ns(const p2pc_node *n, const link *l) {
  bool slow = l->remote_od && l->peer != NO_PEER && n->peers[l->peer].ondemand;
  return slow ? p2pc__node_od_beat_ns(n) : n->cfg.heartbeat_ns;
}
/* The silence a link's peer is allowed past suspect_ns and dead_ns: a
 * peer that said it holds the link on demand may beat that slowly. */
static inline uint64_t p2pc__node_quiet_ns(const p2pc_node *n, const link *l) {
  uint64_t b = p2pc__node_od_beat_ns(n);
  return l->remote_od && b > n->cfg.heartbeat_ns ? b : 0;
}
/* Link i is up: it died, went quiet, owes a heartbeat (rep, if beat), a
 * LEAVE was not agreed, or its unacknowledged data is due again. */
void p2pc__node_link_due(p2pc_node *n, uint32_t i, uint64_t t, bool beat,
                         const p2pc_wire_stable_rep *rep);
/* Dials whatever is due: known peers, then seeds without an ID. */
void p2pc__node_dials_due(p2pc_node *n, uint64_t t);

/* ---- ondemand.c: any node by ID (the lookup: dhtnode.c) --------------- */

/* A lookup ended: rec, or NULL if no node has this ID (called by
 * dhtnode.c, perhaps from inside p2pc__node_dht_find). */
void p2pc__node_resolved(p2pc_node *n, const char *id,
                         const p2pc_wire_record *rec);
/* p2pc_node_send to a node without a session in the table. */
int p2pc__node_ondemand_send(p2pc_node *n, const char *dest,
                             const uint8_t *payload, size_t len);
/* Room for one more record in the array (false: out of memory, or inside
 * a callback where the array may not move). */
bool p2pc__node_peers_reserve(p2pc_node *n);
/* Whether an on-demand dial of p may go now (room under max_ondemand,
 * made by closing the least recently used idle link if need be). */
bool p2pc__node_ondemand_may_dial(p2pc_node *n, peer *p);
/* An inbound on-demand link is taken: room under the cap if possible. */
void p2pc__node_ondemand_accepted(p2pc_node *n, peer *p);
/* A new on-demand record for id (evicting an idle one at max_sessions),
 * or NO_PEER. */
uint32_t p2pc__node_ondemand_add(p2pc_node *n, const char *id);
/* p, a record of the active view, turned our HELLO away as full: with
 * messages queued for it, it leaves the active view and is dialed on
 * demand (a full node takes that), else they would wait for good. */
void p2pc__node_ondemand_refused(p2pc_node *n, peer *p);
/* A HELLO without ON_DEMAND from an on-demand peer: into the active view
 * if it has room. */
void p2pc__node_ondemand_promote(p2pc_node *n, peer *p);
/* Each deadline: idle links closed, owed RESOLVED events, growth. */
void p2pc__node_ondemand_due(p2pc_node *n, uint64_t t);
bool p2pc__node_ondemand_owed(const p2pc_node *n);
void p2pc__node_ondemand_free(p2pc_node *n);
/* ---- views.c: the passive view, samples, shuffles ------------------------ */

int p2pc__node_views_init(p2pc_node *n);
void p2pc__node_views_free(p2pc_node *n);
/* id joined the peer table: it leaves the passive view. */
void p2pc__node_views_forget(p2pc_node *n, const char *id);
/* p leaves the peer table (its slot is about to be reused): its record
 * goes to the passive view. */
void p2pc__node_views_demote(p2pc_node *n, const peer *p);
/* The passive view's record of id, if it holds one. */
bool p2pc__node_views_get(const p2pc_node *n, const char *id,
                          p2pc_wire_record *out);
/* PEERS: our record and a sample of both views, to link lid's peer
 * (table index except). */
void p2pc__node_send_peers(p2pc_node *n, p2pc_link_id lid, uint32_t except);
void p2pc__node_on_peers(p2pc_node *n, const uint8_t *b, size_t len);
int p2pc__node_on_shuffle(p2pc_node *n, p2pc_link_id lid, const uint8_t *b,
                          size_t len);
int p2pc__node_on_shuffle_reply(p2pc_node *n, const uint8_t *b, size_t len);
/* A dial of peer id failed before its handshake: true if it was a
 * promoted passive entry, now dropped (nothing to re-dial). */
bool p2pc__node_views_dial_failed(p2pc_node *n, const char *id);
/* Whether addr did not answer a promotion within P2PC_ADDR_FAILED_NS: no
 * record at it is taken, no LEAVE's referral to it adopted. */
bool p2pc__node_addr_failed(const p2pc_node *n, const p2pc_wire_addr *addr);
/* A promoted entry (passive, or a LEAVE's referral) linked: one failure
 * less to pace promotions by. */
void p2pc__node_views_promoted_up(p2pc_node *n);
/* Peer id refused our dial as full: a promoted entry goes back to the
 * passive view, and the next promotion waits. */
void p2pc__node_views_refused(p2pc_node *n, const char *id);
/* Whether a dial to p (NULL: unknown) asks for room (HELLO JOIN): when
 * needy; for a promoted passive entry only when no link is up (HyParView's
 * high-priority NEIGHBOR), else a full node may refuse it. */
bool p2pc__node_views_join(const p2pc_node *n, const peer *p);
/* The shuffle and the promotions that are due; when they next are. */
void p2pc__node_views_due(p2pc_node *n, uint64_t t);
uint64_t p2pc__node_views_deadline(const p2pc_node *n);

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
/* A STABLE frame's arguments for p2pc__node_frame_to_link: the report,
 * encoded once for every link, and what is the link's own. */
typedef struct stable_out {
  const p2pc_wire_stable_rep *rep;
  uint64_t delivered;
  uint32_t nexpired;
  uint64_t expired[P2PC_WIRE_MAX_EXPIRED];
} stable_out;
void p2pc__node_stable_rep(p2pc_node *n, p2pc_wire_stable_rep *rep);
void p2pc__node_stable_frame(p2pc_node *n, uint32_t lid,
                             const p2pc_wire_stable_rep *rep);
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
/* ---- dhtnode.c: finding any node's record ------------------------------ */

int p2pc__node_dht_init(p2pc_node *n);
void p2pc__node_dht_free(p2pc_node *n);
/* A record heard of second-hand (PEERS, LEAVE, SHUFFLE): into the table
 * where there is room (records without a time port are ignored). */
void p2pc__node_dht_learn(p2pc_node *n, const p2pc_wire_record *rec);
/* A neighbour announced its time port: heard from directly. */
void p2pc__node_dht_neighbour(p2pc_node *n, peer *p, uint16_t time_port);
/* Looks the record of id up: 0 (a lookup started, or one is under way:
 * p2pc__node_resolved follows), 1 (known now: p2pc__node_dht_get),
 * P2PC_ERR_FULL (too many lookups) or P2PC_ERR_INVAL (a bad ID, ours). */
int p2pc__node_dht_find(p2pc_node *n, const char *id);
bool p2pc__node_dht_get(p2pc_node *n, const char *id, p2pc_wire_record *out);
void p2pc__node_dht_input(p2pc_node *n, const p2pc_wire_addr *from,
                          const uint8_t *b, size_t len);
void p2pc__node_dht_deadline(p2pc_node *n);
uint64_t p2pc__node_dht_next_deadline(const p2pc_node *n);
/* ---- swim.c: failure detection ------------------------------------------ */

void p2pc__swim_init(p2pc_node *n);
void p2pc__swim_free(p2pc_node *n);
void p2pc__swim_on_deadline(p2pc_node *n, uint64_t t);
uint64_t p2pc__swim_next_deadline(const p2pc_node *n);
/* Any frame from p arrived: it is alive. */
void p2pc__swim_heard(p2pc_node *n, peer *p);
/* PING, PONG, PING_REQ, PING_REQ_ACK, MEMBER from p on lid. */
int p2pc__swim_frame(p2pc_node *n, p2pc_link_id lid, peer *p,
                     const p2pc_frame *f);
/* p's HELLO was accepted on a link now up. */
void p2pc__swim_link_up(p2pc_node *n, peer *p);
/* Lifeguard's suspicion timeout: from SWIM_SUSPECT_MAX floors down to the
 * floor (SWIM_SUSPECT_MIN rounds, more for large N) as confirmations come,
 * all times (1 + lhm). */
uint64_t p2pc__swim_suspicion_ns(uint64_t interval_ns, uint32_t members,
                                 uint32_t lhm, uint32_t confirmations);

#endif /* P2PC_NODEINT_H */
