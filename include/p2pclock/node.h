/* SPDX-License-Identifier: MIT */
/*
 * The sans-I/O p2pclock node: one peer of the network as a pure state
 * machine. It never reads a clock, opens a socket or allocates outside the
 * allocator it is given. The caller (your event loop, or <p2pclock/uv.h>)
 *   - passes clock readings in with every call (p2pc_now);
 *   - opens TCP connections and moves their bytes: p2pc_node_link_new,
 *     p2pc_node_link_input, p2pc_node_link_output / _link_consume,
 *     p2pc_node_link_closed, and acts on p2pc_node_pop_action (dial, close);
 *   - moves the UDP time socket's datagrams: p2pc_node_time_input,
 *     p2pc_node_pop_datagram, p2pc_node_time_sent;
 *   - calls p2pc_node_on_deadline at p2pc_node_next_deadline.
 * Everything that happens is reported through one typed event callback,
 * synchronously, from inside those calls.
 *
 * Threads: a node is not thread-safe; call it from one thread at a time.
 */
#ifndef P2PCLOCK_NODE_H
#define P2PCLOCK_NODE_H

#include <stdbool.h>

#include "p2pclock.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p2pc_node p2pc_node;

/* A node ID: 1..64 bytes of [A-Za-z0-9._-]. */
#define P2PC_NODE_ID_MAX 64

/* Cluster keys a node holds at once (docs/SECURITY.md, "Rotating the
 * cluster key"): the primary, which it dials with, and the others it
 * accepts from peers during a rotation. */
#define P2PC_KEYRING_MAX 4

/*
 * A message's network-wide id: the sender's node ID, the sender's session
 * (a tag that differs on every start of the sender) and the message's
 * number in that session (from 1). Its text form, as the event log writes
 * it, is "<node>~<session in base 36>:<seq>", e.g. "a~1f3k:7".
 */
/* The longest name a causal identity may have (its "<node>~<session>"). */
#define P2PC_NAME_MAX 80

typedef struct p2pc_msgid {
  char node[P2PC_NAME_MAX + 1]; /* a node ID (at most 64), but see below */
  uint32_t session;             /* 0..2^31-1, or P2PC_SESSION_NONE */
  uint64_t seq;
} p2pc_msgid;

/* The session of a sender whose name is not "<node>~<session>" (a causal
 * identity a test core uses, or one a malformed message named): node then
 * holds the whole name and the text form is "<name>:<seq>". Every id a
 * node of the network sends has a session. */
#define P2PC_SESSION_NONE UINT32_MAX

/* Writes the text form into s; returns its length, or P2PC_ERR_TOOBIG
 * (then s is ""). A cap of P2PC_MSGID_TEXT_MAX always suffices. */
#define P2PC_MSGID_TEXT_MAX (P2PC_NAME_MAX + 1 + 20 + 1)
P2PC_EXTERN int p2pc_msgid_format(const p2pc_msgid *id, char *s, size_t cap);
/* Parses the text form. Returns 0 or P2PC_ERR_INVAL. */
P2PC_EXTERN int p2pc_msgid_parse(p2pc_msgid *id, const char *s);

/* ---- settings ------------------------------------------------------------ */

typedef enum p2pc_clock_mode {
  P2PC_CLOCK_REFERENCE = 0,    /* follow an elected reference node */
  P2PC_CLOCK_COLLABORATIVE = 1 /* converge on a common time with peers */
} p2pc_clock_mode;

/* A peer to dial at start: its address and, if known, its ID. */
typedef struct p2pc_seed {
  char id[P2PC_NODE_ID_MAX + 1]; /* "" if unknown */
  p2pc_addr addr;
} p2pc_seed;

/* A member of a closed network, as an allowlist names it
 * (docs/SECURITY.md): its node ID, its Ed25519 public key, and the roles
 * it may take (P2PC_ROLE_*). */
#define P2PC_ROLE_REFERENCE 0x01 /* may be elected the clock's reference */
typedef struct p2pc_member {
  char id[P2PC_NODE_ID_MAX + 1];
  uint8_t key[32];
  uint8_t roles;
} p2pc_member;

/* A symmetric key for standard NTP clients (RFC 8573: AES-CMAC, the MAC
 * after the header; docs/CLOCK.md, "Authentication"): its key ID
 * (1..2^32-1) and an AES-128 (len 16) or AES-256 (len 32) key. At most
 * P2PC_NTP_KEYS_MAX, no ID twice. */
#define P2PC_NTP_KEYS_MAX 64
typedef struct p2pc_ntp_key {
  uint32_t id;
  uint8_t len;
  uint8_t key[32];
} p2pc_ntp_key;

/* Never: the causal lifetime that lets nothing expire. */
#define P2PC_LIFETIME_INFINITE UINT64_MAX

/*
 * Settings are versioned: a program compiled against this header passes
 * P2PC_SETTINGS_VERSION, and a newer library that added fields fills them
 * with their defaults. Always start from p2pc_settings_default(); every
 * field then holds a real value (no "0 means default").
 */
#define P2PC_SETTINGS_V1 1
#define P2PC_SETTINGS_VERSION P2PC_SETTINGS_V1

typedef struct p2pc_settings {
  /* Identity. id is required (borrowed until p2pc_node_open returns). */
  const char *id;
  uint64_t incarnation; /* must differ on every start [0: derive from seed] */
  uint64_t seed;        /* PRNG seed: jitter, back-off [1] */

  /* Links. */
  p2pc_addr listen;       /* told to peers; family 0: accept none [none] */
  const p2pc_seed *seeds; /* borrowed until p2pc_node_open returns */
  uint32_t nseeds;
  uint32_t max_peers;       /* [64] */
  uint32_t max_frame;       /* bytes, frame limit [1 MiB] */
  uint64_t heartbeat_ns;    /* [500 ms] */
  uint64_t suspect_ns;      /* silent this long: suspect [2 s] */
  uint64_t dead_ns;         /* silent this long: link closed [5 s] */
  uint64_t handshake_ns;    /* HELLO must arrive within [5 s] */
  uint64_t redial_min_ns;   /* back-off floor [100 ms] */
  uint64_t redial_max_ns;   /* back-off ceiling [5 s] */
  uint64_t resend_ns;       /* unacked data resent after [1 s] */
  uint32_t max_unacked;     /* per peer, messages [8192] */
  size_t max_unacked_bytes; /* per peer [16 MiB] */
  size_t max_link_output;   /* per link, bytes not yet written [4 MiB] */

  /* Causal delivery (SES). */
  uint64_t causal_lifetime_ns; /* Δ: a message waits at most this [60 s];
                                  P2PC_LIFETIME_INFINITE: never expires */
  uint32_t max_buffered;       /* messages waiting for delivery [4096] */
  size_t max_buffered_bytes;   /* their payload bytes [64 MiB] */

  /* Clock synchronization (docs/CLOCK.md). */
  struct {
    bool enabled;                 /* [true] */
    p2pc_clock_mode mode;         /* [P2PC_CLOCK_REFERENCE] */
    uint16_t port;                /* UDP port announced; 0: the listen port */
    uint8_t priority;             /* election: lower wins; 255 never [128] */
    uint8_t clock_class;          /* election, after priority [248] */
    int8_t poll_min, poll_max;    /* poll interval bounds, log2 s [-3, 1] */
    uint32_t burst;               /* exchanges at poll_min at start [4] */
    double max_slew;              /* slew rate bound [500e-6] */
    int64_t step_threshold_ns;    /* the initial step only above [1 ms] */
    int64_t precision_ns;         /* local clock read precision [100] */
    uint32_t max_sources;         /* neighbours polled, at most [16] */
    uint64_t announce_ns;         /* ANNOUNCE interval [heartbeat_ns] */
    uint64_t announce_timeout_ns; /* reference silent: gone [4 announces] */
  } clock;

  /* Every allocation of the node, until p2pc_node_close (borrowed: it
   * must outlive the node). [p2pc_allocator_default()] */
  const p2pc_allocator *alloc;
  /* The human log. [none] Bounded, whatever peers or strangers send:
   * lines of one shape (digits aside) pass 20 at once, then one a second;
   * all lines 200 at once, then 50 a second; debug lines are not limited.
   * What is held back is counted and said ("log: N lines of one kind held
   * back over S s (rate limit), the last: ..."), within a second or when
   * the node is closed: nothing is dropped unsaid. */
  p2pc_logger logger;

  /* Unicast to nodes that are not neighbours (docs/PROTOCOL.md,
   * "Addressing any node"). */
  uint32_t max_ondemand; /* links opened on demand, at most [16] */
  /* Sessions outside the active view [1024]; one idle for Δ + its
   * settling (or ondemand_idle_ns, if longer) is forgotten. */
  uint32_t max_sessions;
  uint64_t ondemand_idle_ns; /* an idle on-demand link closes after [60 s] */
  /* Failure detection (SWIM with Lifeguard): each probe_interval one
   * peer is probed; it must answer within probe_timeout (stretched while
   * this node looks overloaded) or others are asked to probe it. The
   * STABLE report, the heartbeat, goes on a link held on demand at both
   * ends every stable_idle (other links: every heartbeat).
   * [200 ms, 100 ms, 2 s] */
  uint64_t probe_interval_ns;
  uint64_t probe_timeout_ns;
  uint64_t stable_idle_ns;
  /* Views (HyParView): the active view is the links (max_peers); the
   * passive view holds nodes known but not linked to, kept fresh by
   * shuffles. */
  uint32_t passive_max;         /* passive view entries [32] */
  uint32_t peers_sample;        /* address records in one PEERS [32] */
  uint64_t shuffle_interval_ns; /* one SHUFFLE every, jittered [10 s] */
  /* Clock tiers (docs/CLOCK.md, Tiers): nodes of the lowest tier known
   * polled beyond the neighbours, over UDP [4, at most 16]; clients served
   * before refusing more (the FULL flag) [256, at most 4096]. */
  uint32_t clock_tier_sources;
  uint32_t clock_serve_max;
} p2pc_settings;

P2PC_EXTERN void p2pc_settings_default_versioned(int version, p2pc_settings *s);
#define p2pc_settings_default(S)                                               \
  p2pc_settings_default_versioned(P2PC_SETTINGS_VERSION, (S))

/* ---- events -------------------------------------------------------------- */

typedef enum p2pc_event_type {
  /* What applications act on. */
  P2PC_EVENT_DELIVERED = 1,     /* a message for this node, in causal order */
  P2PC_EVENT_PEER_UP,           /* a link to a peer is up */
  P2PC_EVENT_PEER_DOWN,         /* ... and down (reason) */
  P2PC_EVENT_UNDELIVERABLE,     /* a message given up on (reason) */
  P2PC_EVENT_WRITABLE,          /* sends to peer may go on after FULL */
  P2PC_EVENT_CLOCK_SYNCED,      /* the clock became synchronized */
  P2PC_EVENT_CLOCK_UNSYNCED,    /* ... and lost it */
  P2PC_EVENT_CLOCK_STEPPED,     /* the network time jumped (step_ns) */
  P2PC_EVENT_REFERENCE_CHANGED, /* another reference is followed */
  /* The detail the event log records (docs/EVENTS.md), for observers. */
  P2PC_EVENT_SENT,         /* a message left (to, stamp, deps, bytes, meta) */
  P2PC_EVENT_RECEIVED,     /* a message arrived, not yet delivered */
  P2PC_EVENT_BUFFERED,     /* ... and waits (waits_for, unmet) */
  P2PC_EVENT_DUPLICATE,    /* a message seen before, dropped */
  P2PC_EVENT_DROPPED,      /* a message dropped (reason) */
  P2PC_EVENT_REFUSED,      /* a message refused for now (reason) */
  P2PC_EVENT_CLOCK_SAMPLE, /* one time exchange with a peer measured */
  P2PC_EVENT_CLOCK_UPDATE, /* the clock's estimate was updated */
  /* The overlay (docs/PROTOCOL.md, "The overlay"). */
  P2PC_EVENT_MEMBER_SUSPECT, /* peer is suspected of having failed */
  P2PC_EVENT_MEMBER_ALIVE,   /* ... and refuted it: it is alive */
  P2PC_EVENT_MEMBER_DOWN,    /* peer declared failed (reason) */
  P2PC_EVENT_RESOLVED,       /* a lookup of peer ended (u.resolved.ok) */
  /* The clock set a source aside (reason, u.reject): it lied. */
  P2PC_EVENT_CLOCK_REJECTED
} p2pc_event_type;

/* The EVENTS.md name of the type ("deliver", "peer_up", ...), or the
 * snake-case name of the type for those the log does not carry
 * ("writable", "clock_synced", ...). */
P2PC_EXTERN const char *p2pc_event_name(p2pc_event_type t);

/*
 * One event. Which fields mean something depends on type; pointers are
 * borrowed for the callback (copy what you keep).
 */
typedef struct p2pc_event {
  p2pc_event_type type;
  p2pc_now now;   /* the readings of the call that produced it */
  int64_t net_ns; /* the network time then */
  /* Messages (DELIVERED ... REFUSED, UNDELIVERABLE): its id, the other
   * end (the sender for one received, the destination for one sent), its
   * HLC stamp and the payload (DELIVERED only). */
  p2pc_msgid msg;
  const char *peer; /* also PEER_UP/DOWN, WRITABLE, CLOCK_SAMPLE/REJECTED */
  bool outgoing;    /* UNDELIVERABLE: a message this node sent */
  uint64_t stamp;   /* HLC stamp of the message */
  uint64_t hlc;     /* this node's HLC at the event */
  const uint8_t *payload;
  size_t len;
  /* PEER_DOWN, UNDELIVERABLE, DROPPED, REFUSED: why, one short phrase
   * ("peer restarted", "expired", "left", ...). */
  const char *reason;
  union {
    struct {
      uint64_t waited_ns; /* from arrival to delivery */
      bool broadcast;     /* sent to the whole network */
      uint32_t hops;      /* overlay hops it travelled (broadcast) */
    } delivered;
    struct {
      bool ok; /* RESOLVED: peer was found (sends to it may go on) */
    } resolved;
    struct {
      uint64_t incarnation; /* MEMBER_*: the member's incarnation */
      uint64_t heard;       /* ... and its refutation counter */
    } member;
    struct {
      p2pc_addr addr; /* PEER_UP: the address it listens on */
    } peer;
    struct {
      uint32_t deps; /* dependency entries it carries */
      size_t meta;   /* metadata bytes */
    } sent;
    struct {
      bool known; /* whether a message it waits for is named */
      p2pc_msgid waits_for;
      uint32_t unmet; /* entries not yet met */
    } buffered;
    struct {
      int64_t offset_ns, delay_ns, raw_offset_ns;
      bool interleaved, kernel;
    } sample;
    struct {
      int64_t offset_ns; /* its network time − this node's */
      uint32_t judged;   /* other usable sources that judged it */
      uint32_t against;  /* ... of them placing time elsewhere */
    } reject;            /* CLOCK_REJECTED */
    /* CLOCK_UPDATE, CLOCK_SYNCED/UNSYNCED/STEPPED, REFERENCE_CHANGED */
    struct {
      p2pc_clock_mode mode;
      const char *ref;    /* reference followed, NULL if none */
      const char *source; /* neighbour followed, "" if none */
      bool synced;
      double offset_ns, freq_ppb, err_ns, adj_ns, step_ns;
    } clock;
  } u;
} p2pc_event;

/* Called synchronously from inside the node's calls. It may call
 * p2pc_node_send / _broadcast; it must not close the node. */
typedef void (*p2pc_event_fn)(void *ud, p2pc_node *node, const p2pc_event *ev);

/* Renders ev as one line of the event log (docs/EVENTS.md, no newline)
 * for node `id` into s. Returns the length, 0 for a type the log does not
 * carry (WRITABLE, CLOCK_SYNCED, ...), or P2PC_ERR_TOOBIG if cap is too
 * small (then s holds ""). */
P2PC_EXTERN long p2pc_event_json(const p2pc_event *ev, const char *id, char *s,
                                 size_t cap);

/* ---- the node ------------------------------------------------------------ */

/* Creates a node from settings (P2PC_SETTINGS_VERSION). Returns 0,
 * P2PC_ERR_INVAL (a bad id or setting; the logger says which) or
 * P2PC_ERR_NOMEM. */
P2PC_EXTERN int p2pc_node_open_versioned(p2pc_node **out, int version,
                                         const p2pc_settings *s,
                                         p2pc_event_fn on_event, void *ud,
                                         p2pc_now now);
#define p2pc_node_open(OUT, S, FN, UD, NOW)                                    \
  p2pc_node_open_versioned((OUT), P2PC_SETTINGS_VERSION, (S), (FN), (UD), (NOW))
/* Frees the node and everything it holds (no goodbye is sent: for a
 * polite exit call p2pc_node_shutdown first and flush the links). */
P2PC_EXTERN void p2pc_node_close(p2pc_node *n);

/* This node's ID. */
P2PC_EXTERN const char *p2pc_node_name(const p2pc_node *n);

/* Sends payload to the node dest, reliably and in causal order (a
 * self-send is delivered at once). dest may be any node of the network:
 * one that is not a neighbour gets a link opened on demand (at most
 * max_ondemand of them, the least recently used idle one closed first)
 * once its address record is known. On success *id (if not NULL) is the
 * message's id. Returns 0,
 *   P2PC_ERR_AGAIN: dest's record is being looked up; nothing was sent:
 *     send again after P2PC_EVENT_RESOLVED for dest (u.resolved.ok; if
 *     false, no node has that ID);
 *   P2PC_ERR_NOTFOUND: no node with this ID is known (the answer stays
 *     so for 10 s after a lookup found nothing), or its session is being
 *     ended (PROTOCOL.md, "Making room");
 *   P2PC_ERR_FULL: back-pressure: too much unacknowledged data for dest
 *     (a P2PC_EVENT_WRITABLE for dest says when to try again), or no room
 *     for another session (max_sessions, none idle) or lookup;
 *   P2PC_ERR_TOOBIG (payload over the frame limit), P2PC_ERR_INVAL,
 *   P2PC_ERR_NOMEM. */
P2PC_EXTERN int p2pc_node_send(p2pc_node *n, const char *dest,
                               const uint8_t *payload, size_t len, p2pc_now now,
                               p2pc_msgid *id);
/* Broadcasts payload to the whole network: one causal message to every
 * node (this one included, at once), disseminated over the overlay
 * (Plumtree: PROTOCOL.md, "Broadcast to the whole network") and delivered
 * exactly once at every node, in causal order. *id (if not NULL) is the
 * message's id. Returns 0, P2PC_ERR_FULL (back-pressure: the causal
 * layer's caps), P2PC_ERR_TOOBIG, P2PC_ERR_INVAL, P2PC_ERR_NOMEM. */
P2PC_EXTERN int p2pc_node_broadcast(p2pc_node *n, const uint8_t *payload,
                                    size_t len, p2pc_now now, p2pc_msgid *id);
/* Sends to every neighbour (peer with a link up) and delivers to self,
 * one unicast message per destination: the broadcast of protocol version
 * 2. Returns the number of peers it went to, or the first error (sends
 * before it stand). *first (if not NULL) is the id of the first message:
 * the others follow it in seq. */
P2PC_EXTERN int p2pc_node_broadcast_neighbours(p2pc_node *n,
                                               const uint8_t *payload,
                                               size_t len, p2pc_now now,
                                               p2pc_msgid *first);

/*
 * The network time as an interval, as TrueTime gives it: the true network
 * time at local clock reading local_ns is within [earliest, latest]
 * (latest - earliest = 2 x error bound). synced says whether the bound
 * comes from a synchronized clock; without it the interval is the local
 * clock with an unbounded error (earliest = INT64_MIN, latest = INT64_MAX).
 * hlc is the node's hybrid logical clock (network ns, low 16 bits a
 * logical counter), the stamp the next message would be ordered after.
 */
typedef struct p2pc_time {
  int64_t now_ns; /* the best estimate */
  int64_t earliest_ns, latest_ns;
  bool synced;
  uint64_t hlc;
} p2pc_time;
P2PC_EXTERN void p2pc_node_time(const p2pc_node *n, p2pc_now now, p2pc_time *t);

/* ---- driving it: links --------------------------------------------------- */

typedef uint32_t p2pc_link_id;

typedef enum p2pc_action_kind {
  P2PC_ACT_DIAL, /* open a TCP connection to addr; then p2pc_node_link_new */
  P2PC_ACT_CLOSE /* close the link (after writing its pending output) */
} p2pc_action_kind;

typedef struct p2pc_action {
  p2pc_action_kind kind;
  p2pc_link_id link;               /* CLOSE */
  p2pc_addr addr;                  /* DIAL */
  char peer[P2PC_NODE_ID_MAX + 1]; /* DIAL: whom we expect, "" if unknown */
} p2pc_action;

/* A TCP connection was established: outbound (we dialed addr; peer is
 * whom the DIAL named, or "") or inbound (accepted; addr may be NULL).
 * Returns 0 and the link's id, or P2PC_ERR_FULL (close the connection). */
P2PC_EXTERN int p2pc_node_link_new(p2pc_node *n, bool outbound,
                                   const char *peer, const p2pc_addr *addr,
                                   p2pc_now now, p2pc_link_id *out);
/* A dial failed (no link was created): re-dial later with back-off. */
P2PC_EXTERN void p2pc_node_dial_failed(p2pc_node *n, const p2pc_addr *addr,
                                       const char *peer, p2pc_now now);
/* Bytes arrived on a link. Returns 0, or a negative error after which the
 * node has asked to close the link. */
P2PC_EXTERN int p2pc_node_link_input(p2pc_node *n, p2pc_link_id l,
                                     const uint8_t *b, size_t len,
                                     p2pc_now now);
/* The connection is gone (EOF, error, or after a CLOSE action). */
P2PC_EXTERN void p2pc_node_link_closed(p2pc_node *n, p2pc_link_id l,
                                       p2pc_now now);
/* The bytes waiting to be written on l (NULL/0 if none); valid until the
 * next call on the node. On a secure link the frames written since the
 * last call are sealed now, together. */
P2PC_EXTERN void p2pc_node_link_output(p2pc_node *n, p2pc_link_id l,
                                       const uint8_t **p, size_t *len);
/* The first len bytes of the output have been handed to the kernel. */
P2PC_EXTERN void p2pc_node_link_consume(p2pc_node *n, p2pc_link_id l,
                                        size_t len);
/* Every link id handed out is below this (ids are reused lowest first). */
P2PC_EXTERN uint32_t p2pc_node_link_span(const p2pc_node *n);
/* Next action; false when there is none. */
P2PC_EXTERN bool p2pc_node_pop_action(p2pc_node *n, p2pc_action *a);

/* Runs what is due: heartbeats, liveness, re-dials, resends. */
P2PC_EXTERN void p2pc_node_on_deadline(p2pc_node *n, p2pc_now now);
/* The monotonic time at which on_deadline should next run. */
P2PC_EXTERN uint64_t p2pc_node_next_deadline(const p2pc_node *n);
/* Asks every link to close (LEAVE); then close the links and the node. */
P2PC_EXTERN void p2pc_node_shutdown(p2pc_node *n, p2pc_now now);

/* ---- driving it: the time socket ----------------------------------------- */

#define P2PC_DATAGRAM_MAX 244 /* an NTP header and p2pclock's extension */
#define P2PC_DATAGRAM_XMT_OFFSET 40

/* A datagram to send from the UDP time socket. */
typedef struct p2pc_datagram {
  p2pc_addr to;
  uint8_t data[P2PC_DATAGRAM_MAX];
  uint16_t len;
  /* If stamp_xmt: just before sending, write the NTP timestamp of (local
   * clock now + xmt_corr) at P2PC_DATAGRAM_XMT_OFFSET. */
  bool stamp_xmt;
  int64_t xmt_corr;
  /* If token != 0: report when it left with p2pc_node_time_sent. */
  uint32_t token;
} p2pc_datagram;

/* A datagram arrived on the time socket; rx_local_ns is the local clock
 * at arrival (the kernel's stamp if rx_kernel). */
P2PC_EXTERN void p2pc_node_time_input(p2pc_node *n, const p2pc_addr *from,
                                      const uint8_t *b, size_t len,
                                      int64_t rx_local_ns, bool rx_kernel,
                                      p2pc_now now);
/* Next datagram to send; false when there is none. */
P2PC_EXTERN bool p2pc_node_pop_datagram(p2pc_node *n, p2pc_datagram *d);
/* Datagram `token` left at local time local_ns (user-space reading, then
 * possibly the kernel's transmit stamp, which supersedes it). */
P2PC_EXTERN void p2pc_node_time_sent(p2pc_node *n, uint32_t token,
                                     int64_t local_ns, bool kernel,
                                     p2pc_now now);

#ifdef __cplusplus
}
#endif

#endif /* P2PCLOCK_NODE_H */
