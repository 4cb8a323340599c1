/* SPDX-License-Identifier: MIT */
/*
 * The node: one p2pclock peer as a pure state machine. It owns the links
 * (handshake, framing), the peer table (exchange, liveness, re-dial), the
 * per-peer reliable streams (sequence numbers, acks, resend, de-duplication
 * across reconnects) and the SES layer (causal.h) on top.
 *
 * Sans-I/O like the rest of the core: the runtime opens and closes TCP
 * connections, moves bytes in and out, reads the clocks once per loop turn
 * and passes them in as p2pc_now, and acts on what the node asks for:
 *   - bytes to write: p2pc_node_link_output / _link_consume (each link's
 *     frames accumulate in one buffer, so one write carries many frames);
 *   - actions: p2pc_node_pop_action (dial an address, close a link);
 *   - deliveries, event-log lines and human log lines: callbacks, called
 *     synchronously from inside the node's entry points;
 *   - a deadline: p2pc_node_next_deadline, when p2pc_node_on_deadline is due.
 */
#ifndef P2PC_NODE_H
#define P2PC_NODE_H

#include "causal.h"
#include "dht.h"
#include "timesync.h"
#include "wire.h"
#include <p2pclock/node.h>

#include <stdbool.h>
#include <stdint.h>

/* What the node reports (p2pc_node_open fills these from p2pc_settings):
 * every event, typed, and the human log. An event-log line is an event
 * rendered with p2pc_event_json, by whoever keeps the log. */
typedef struct p2pc_node_callbacks {
  /* Every event (<p2pclock/node.h>); may be NULL. */
  p2pc_event_fn typed;
  /* One human log line's text (module: text key=value), no newline. */
  void (*log)(void *ud, p2pc_log_level level, const char *text);
  void *ud;
  /* Lines above this level are not even built (0 = ERROR only). */
  p2pc_log_level log_level;
  /* log's own context (NULL: ud), for callers with a separate logger. */
  void *log_ud;
} p2pc_node_callbacks;

/* A peer the node should dial: its address and, if known, its ID. */
typedef struct p2pc_node_seed {
  char id[P2PC_NODE_ID_MAX + 1]; /* "" if unknown */
  p2pc_wire_addr addr;
} p2pc_node_seed;

/* Secure links (PROTOCOL.md, "Secure links"): off by default. With on,
 * every link is a Noise_XXpsk0 handshake then sealed records: a node that
 * holds none of the keys of psk cannot link. The runtime gives the keys. */
#define P2PC_MEMBERS_MAX 4096
typedef struct p2pc_node_secure {
  bool on;
  uint8_t static_sk[32]; /* X25519: this node's link key */
  /* The keyring (SECURITY.md, "Rotating the cluster key"): npsk cluster
   * keys (1..P2PC_KEYRING_MAX, no two alike), psk[0] the primary: this
   * node dials with it, and takes a first handshake message under any. */
  uint8_t psk[P2PC_KEYRING_MAX][32];
  uint8_t npsk;
  uint8_t entropy[32]; /* seeds the ephemeral keys: from the kernel */
  /* This node's Ed25519 secret key (libsodium's 64 bytes: the seed, then
   * the public key), whose public half the static key is derived from:
   * it signs the node's claims to the reference role. */
  uint8_t sign_sk[64];
  /* The allowlist (docs/SECURITY.md), copied by p2pc_node_new, at most
   * P2PC_MEMBERS_MAX: with nmembers > 0 only these IDs, each with its
   * key, link, and only the members with P2PC_ROLE_REFERENCE may be the
   * reference. This node must be one of them. */
  const p2pc_member *members;
  uint32_t nmembers;
  /* Each direction's key is replaced (Noise's Rekey) every 2^rekey_shift
   * records [0: 20, about a million]. */
  uint8_t rekey_shift;
} p2pc_node_secure;

typedef struct p2pc_node_config {
  const char *id;
  uint64_t incarnation; /* differs on every start; from the runtime */
  uint64_t seed;        /* PRNG seed (jitter, chaos) */
  p2pc_wire_addr listen;
  const p2pc_node_seed *seeds;
  uint32_t nseeds;
  uint32_t max_peers;       /* default 64 */
  uint32_t max_frame;       /* default P2PC_WIRE_MAX_FRAME_DEFAULT */
  uint64_t heartbeat_ns;    /* default 500 ms */
  uint64_t suspect_ns;      /* silent this long: suspect (default 2 s) */
  uint64_t dead_ns;         /* silent this long: link closed (5 s) */
  uint64_t handshake_ns;    /* HELLO must arrive within (default 5 s) */
  uint64_t redial_min_ns;   /* back-off floor (default 100 ms) */
  uint64_t redial_max_ns;   /* back-off ceiling (default 5 s) */
  uint64_t resend_ns;       /* unacked data resent after (default 1 s) */
  uint32_t max_unacked;     /* per peer, messages (default 8192) */
  size_t max_unacked_bytes; /* per peer (default 16 MiB) */
  size_t max_link_output;   /* per link, bytes not yet written (4 MiB) */
  /* Fault injection, off by default: each outgoing DATA frame is held
   * uniformly in [min, max] ns (order on a link is kept), and DATA and ACK
   * frames are dropped with probability chaos_drop. */
  uint64_t chaos_delay_min_ns, chaos_delay_max_ns;
  double chaos_drop;
  p2pc_causal_config causal;
  p2pc_timesync_config time; /* clock synchronization (timesync.h) */
  /* Every allocation of the node and its modules, until p2pc_node_free
   * (borrowed: it must outlive the node); NULL: p2pc_allocator_default. */
  const p2pc_allocator *alloc;
  uint32_t max_ondemand;     /* on-demand links (default 16) */
  uint32_t max_sessions;     /* records outside the active view (1024) */
  uint64_t ondemand_idle_ns; /* idle on-demand link closed after (60 s) */
  /* Failure detection (PROTOCOL.md, "Failure detection"): one peer probed
   * each probe_interval (default 200 ms), answered within probe_timeout
   * (100 ms, times 1 + the local health multiplier); the STABLE report,
   * the heartbeat, goes on a link held on demand at both ends every
   * stable_idle (2 s; other links: every heartbeat). */
  uint64_t probe_interval_ns, probe_timeout_ns, stable_idle_ns;
  /* Views (PROTOCOL.md, "Views and shuffles"). */
  uint32_t passive_max;         /* passive view entries (default 32) */
  uint32_t peers_sample;        /* records in one PEERS (default 8) */
  uint64_t shuffle_interval_ns; /* SHUFFLE every (jittered; default 10 s) */
  p2pc_node_secure secure;      /* [off] */
} p2pc_node_config;

/* p2pc_node_open (settings) with secure links: sec NULL or off is
 * p2pc_node_open itself; and with ntp_keys[0..n_ntp_keys), the NTP
 * symmetric keys for standard clients (timesync.h; borrowed for the
 * call). For the runtimes (src/uv) until the public settings carry the
 * keys. */
int p2pc__node_open_secure(p2pc_node **out, const p2pc_settings *s,
                           const p2pc_node_secure *sec,
                           const p2pc_ntp_key *ntp_keys, uint32_t n_ntp_keys,
                           p2pc_event_fn on_event, void *ud, p2pc_now now);

/* Replaces the allowlist of a node started with one (docs/SECURITY.md):
 * the same rules as at start (this node on it, with its key); links of
 * nodes no longer listed with their key are closed, and the node's own
 * reference role follows the new list. 0, or P2PC_ERR_INVAL (logged:
 * the list is bad, or the node has none), P2PC_ERR_NOMEM; the old list
 * stays on failure. */
int p2pc__node_set_members(p2pc_node *n, const p2pc_member *m, uint32_t k,
                           p2pc_now now);

/* Replaces the keyring of a node with secure links (p2pc_node_secure's
 * psk and npsk: keys[0] the primary) while it runs. Links up keep their
 * session keys; handshakes already started keep the key they began with;
 * later ones use the new ring. Returns 0, or P2PC_ERR_INVAL (links in
 * clear, nkeys out of 1..P2PC_KEYRING_MAX, or two keys alike: nothing
 * changed). */
int p2pc_node_keyring_set(p2pc_node *n, const uint8_t (*keys)[32],
                          uint32_t nkeys);

/* Creates a node. Returns 0, P2PC_ERR_INVAL (bad id or config) or
 * P2PC_ERR_NOMEM. */
int p2pc_node_new(p2pc_node **out, const p2pc_node_config *cfg,
                  const p2pc_node_callbacks *cb, p2pc_now now);
void p2pc_node_free(p2pc_node *n);
/* Fault injection (the config's chaos_* fields) on a node opened with
 * p2pc_node_open, before its first link. Returns 0 or P2PC_ERR_INVAL. */
int p2pc_node_set_chaos(p2pc_node *n, uint64_t delay_min_ns,
                        uint64_t delay_max_ns, double drop);

/* A TCP connection was established: outbound (we dialed addr; peer is
 * whom the DIAL named, or "") or inbound (accepted; addr may be NULL). The
 * node queues its HELLO. Returns 0 and the link's id, or P2PC_ERR_FULL (too
 * many links: the runtime closes the connection). */
int p2pc_node_link_new(p2pc_node *n, bool outbound, const char *peer,
                       const p2pc_wire_addr *addr, p2pc_now now,
                       p2pc_link_id *out);
/* A dial failed (no link was created): re-dial later with back-off. */
void p2pc_node_dial_failed(p2pc_node *n, const p2pc_wire_addr *addr,
                           const char *peer, p2pc_now now);
/* Bytes arrived on a link. Returns 0, or a negative error after which the
 * node has asked to close the link (malformed input: the link is dropped,
 * the node carries on). */
int p2pc_node_link_input(p2pc_node *n, p2pc_link_id l, const uint8_t *b,
                         size_t len, p2pc_now now);
/* The connection is gone (EOF, error, or after a CLOSE action). */
void p2pc_node_link_closed(p2pc_node *n, p2pc_link_id l, p2pc_now now);
/* The bytes waiting to be written on l (NULL/0 if none); valid until the
 * next call on the node. On a secure link the frames written since the
 * last call are sealed now, together. */
void p2pc_node_link_output(p2pc_node *n, p2pc_link_id l, const uint8_t **p,
                           size_t *len);
/* The first len bytes of the output have been handed to the kernel. */
void p2pc_node_link_consume(p2pc_node *n, p2pc_link_id l, size_t len);

/* Runs what is due: heartbeats, liveness, re-dials, resends, chaos
 * releases. */
void p2pc_node_on_deadline(p2pc_node *n, p2pc_now now);
/* The monotonic time at which on_deadline should next run. */
uint64_t p2pc_node_next_deadline(const p2pc_node *n);
/* Next action for the runtime; false when there is none. */
bool p2pc_node_pop_action(p2pc_node *n, p2pc_action *a);

/* p2pc_node_send, p2pc_node_broadcast(_neighbours): <p2pclock/node.h>. */

/* Asks every link to close (ERROR shutdown); the runtime then closes. */
void p2pc_node_shutdown(p2pc_node *n, p2pc_now now);

/* Introspection for status commands and tests. */
typedef enum p2pc_peer_state {
  P2PC_PEER_DOWN,    /* no link; re-dial pending if the address is known */
  P2PC_PEER_DIALING, /* a DIAL is out or a handshake is in progress */
  P2PC_PEER_UP,      /* handshake done, heard from recently */
  P2PC_PEER_SUSPECT  /* up, but silent for suspect_ns */
} p2pc_peer_state;

typedef struct p2pc_peer_info {
  char id[P2PC_NODE_ID_MAX + 1];
  p2pc_peer_state state;
  p2pc_wire_addr addr;
  uint64_t incarnation;
  uint32_t unacked; /* messages waiting for the peer's ack */
  uint64_t sent, delivered_from;
  bool ondemand; /* a link on demand, outside the active view */
} p2pc_peer_info;

uint32_t p2pc_node_peer_count(const p2pc_node *n);
/* Every link id the node has handed out is below this (ids are reused
 * lowest first), so a runtime scanning its links can stop there. */
uint32_t p2pc_node_link_span(const p2pc_node *n);
/* The first link id at or above `from` with output waiting (what
 * p2pc_node_link_output would hand over, frames of a secure link not yet
 * sealed included), or UINT32_MAX if none: a runtime passing over its
 * links after every call visits only these, in the same order as a scan
 * of [0, span) would. */
p2pc_link_id p2pc_node_next_output_link(const p2pc_node *n, p2pc_link_id from);
bool p2pc_node_peer_info(const p2pc_node *n, uint32_t i, p2pc_peer_info *pi);
uint32_t p2pc_node_up_count(const p2pc_node *n);
/* The passive view: nodes known and not linked to (views.c). */
uint32_t p2pc_node_passive_count(const p2pc_node *n);
bool p2pc_node_passive_info(const p2pc_node *n, uint32_t i,
                            p2pc_wire_record *rec);
/* Messages given up on because their peer restarted (see PROTOCOL.md). */
uint64_t p2pc_node_undeliverable(const p2pc_node *n);
const p2pc_causal *p2pc_node_causal(const p2pc_node *n);
/* The broadcast layer's counters (plumtree.h). */
struct p2pc_pt_stats;
void p2pc_node_bcast_stats(const p2pc_node *n, struct p2pc_pt_stats *st);
const char *p2pc_peer_state_name(p2pc_peer_state s);

/* ---- clock synchronization (timesync.h) ---------------------------------- */

/* A datagram arrived on the time socket from `from`; rx_local_ns is the
 * local clock at arrival (the kernel's receive stamp if rx_kernel, passed
 * through the same virtual-clock transform as every reading). Malformed,
 * unexpected and replayed datagrams are counted and dropped. */
void p2pc_node_time_input(p2pc_node *n, const p2pc_wire_addr *from,
                          const uint8_t *b, size_t len, int64_t rx_local_ns,
                          bool rx_kernel, p2pc_now now);
/* Next datagram to send; false when there is none. */
bool p2pc_node_pop_datagram(p2pc_node *n, p2pc_datagram *d);
/* Datagram `token` left at local time local_ns: a user-space reading taken
 * just before the send (kernel false), then possibly the kernel's transmit
 * stamp (kernel true), which supersedes it. Unknown tokens are ignored. */
void p2pc_node_time_sent(p2pc_node *n, uint32_t token, int64_t local_ns,
                         bool kernel, p2pc_now now);
/* Network time at local clock reading local_ns. */
int64_t p2pc_node_network_time(const p2pc_node *n, int64_t local_ns);
void p2pc_node_tracking(const p2pc_node *n, p2pc_now now, p2pc_tracking *t);
uint32_t p2pc_node_source_count(const p2pc_node *n);
bool p2pc_node_source_info(const p2pc_node *n, uint32_t i, p2pc_now now,
                           p2pc_source_info *si);
const char *p2pc_clock_mode_name(p2pc_clock_mode m);

/* ---- finding any node's record (dht.h) ------------------------------------
 */

/* Starts a lookup of id's address record: 0 (started or under way; a
 * RESOLVED event follows), 1 (already known), P2PC_ERR_FULL or
 * P2PC_ERR_INVAL. For the simulator and tests; `send` will use it. */
int p2pc_node_lookup(p2pc_node *n, const char *id, p2pc_now now);
/* The node's table and lookups, for introspection (p2pc_dht_stats_get). */
const p2pc_dht *p2pc_node_dht(const p2pc_node *n);

#endif /* P2PC_NODE_H */
