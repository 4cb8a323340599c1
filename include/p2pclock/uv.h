/* SPDX-License-Identifier: MIT */
/*
 * A p2pclock node on the caller's libuv loop. The binding opens the TCP
 * listener, the UDP time socket (with kernel timestamps where the kernel
 * gives them) and the connections to peers, resolves host names, runs the
 * node's timers, and reports everything through one typed event callback
 * (<p2pclock/node.h>). It owns no signals, writes nothing to stdio, keeps
 * no global state and never exits the process: the loop, the process and
 * its lifetime stay the caller's. Logging goes to the logger in the
 * settings.
 *
 *   uv_loop_t loop;  uv_loop_init(&loop);
 *   p2pc_uv_settings s;  p2pc_uv_settings_default(&s);
 *   s.node.id = "a";  s.listen_port = 9000;
 *   p2pc_uv *u;
 *   if (p2pc_uv_open(&u, &loop, &s, on_event, app) == 0) {
 *     uv_run(&loop, UV_RUN_DEFAULT);  // ... p2pc_uv_close(u, done) later
 *   }
 *
 * Threads: call the binding from its loop's thread only.
 *
 * SIGPIPE: libuv writes to sockets with write(2), which raises SIGPIPE when
 * a peer has gone. The process's signals are the caller's, so the binding
 * does not touch them: a program using it ignores SIGPIPE, as every libuv
 * program does (signal(SIGPIPE, SIG_IGN) before uv_run), or it dies with
 * the first peer that leaves while it writes.
 */
#ifndef P2PCLOCK_UV_H
#define P2PCLOCK_UV_H

#include <stdbool.h>
#include <uv.h>

#include "node.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p2pc_uv p2pc_uv;

/* A host: an IPv4 or IPv6 literal, "localhost" (always 127.0.0.1, never
 * looked up), or a name resolved with uv_getaddrinfo. */
#define P2PC_UV_HOST_MAX 253

/* A peer to dial, by address or by name. A name is resolved again before
 * every dial of it (off the loop thread), so a peer that moved is found
 * again; a name with several addresses is tried address after address; a
 * name that does not resolve is a failed dial, retried with back-off and
 * logged once as a warning until it resolves again. */
typedef struct p2pc_uv_peer {
  char id[P2PC_NODE_ID_MAX + 1]; /* "" if unknown */
  char host[P2PC_UV_HOST_MAX + 1];
  uint16_t port;
} p2pc_uv_peer;

/* Packet timestamps on the time socket. */
typedef enum p2pc_uv_timestamping {
  P2PC_UV_TS_AUTO = 0,      /* the best the kernel gives: SO_TIMESTAMPING RX
                               and TX, else SO_TIMESTAMPNS RX, else user */
  P2PC_UV_TS_KERNEL_RX = 1, /* at most kernel receive stamps */
  P2PC_UV_TS_USER = 2       /* user-space clock readings only */
} p2pc_uv_timestamping;

#define P2PC_UV_SETTINGS_V1 1
#define P2PC_UV_SETTINGS_V2 2 /* adds secure */
#define P2PC_UV_SETTINGS_V3 3 /* adds secure_ring and allow */
#define P2PC_UV_SETTINGS_V4 4 /* adds ntp_keys */
#define P2PC_UV_SETTINGS_VERSION P2PC_UV_SETTINGS_V4

typedef struct p2pc_uv_settings {
  /* The node's settings. node.listen is set by the binding (from
   * listen_host and the port it got); node.seeds, if any, are dialed
   * besides peers. node.incarnation 0: the local clock at open. */
  p2pc_settings node;
  /* Where to listen (TCP, and UDP for time unless node.clock.port says
   * otherwise): a host as above, resolved once at open and bound at its
   * first address [127.0.0.1], and a port (0: any free port, see
   * p2pc_uv_port) [0]. */
  const char *listen_host;
  uint16_t listen_port;
  /* Peers to dial (borrowed until p2pc_uv_open returns). [none] */
  const p2pc_uv_peer *peers;
  size_t npeers;
  p2pc_uv_timestamping timestamping; /* [P2PC_UV_TS_AUTO] */
  /* A virtual local clock, for tests and experiments: CLOCK_REALTIME +
   * offset + drift, applied to every reading of the node's local clock,
   * kernel packet stamps included. [off] */
  struct {
    bool enabled;
    double offset_s;  /* at open, |offset| <= 1e6 */
    double drift_ppm; /* rate error from open, |drift| <= 1000 */
  } vclock;
  /* Fault injection, for tests [off]: each outgoing DATA frame is held
   * uniformly in [delay_min_ns, delay_max_ns] (order on a link is kept),
   * and DATA and ACK frames are dropped with probability drop (< 1). */
  struct {
    uint64_t delay_min_ns, delay_max_ns;
    double drop;
  } chaos;
  /* Called before the binding hands the node's output to the kernel, so
   * that what a program learned from events is made durable before peers
   * can act on it: an event log flushed here never misses a send a peer
   * already received, with one write per burst instead of per line.
   * [none] */
  struct {
    void (*fn)(void *ud);
    void *ud;
  } before_output;
  /* Secure links (docs/PROTOCOL.md, "Secure links"; docs/SECURITY.md;
   * since P2PC_UV_SETTINGS_V2): every link authenticated and encrypted
   * (Noise_XXpsk0, ChaCha20-Poly1305), and only nodes holding cluster_key
   * can link. identity is the node's Ed25519 seed (its key file's); the
   * link key is derived from it; the binding draws the ephemeral keys'
   * entropy from the kernel. Both are copied at open and wiped. [off] */
  struct {
    bool on;
    uint8_t identity[32];
    uint8_t cluster_key[32];
  } secure;
  /* The other cluster keys of the node's keyring (docs/SECURITY.md,
   * "Rotating the cluster key"; since P2PC_UV_SETTINGS_V3): with
   * secure.on, a peer's first handshake message is taken under
   * secure.cluster_key (the primary, which this node dials with) or any
   * of these n keys (0..P2PC_KEYRING_MAX - 1, each unlike the others).
   * Copied at open and wiped. [none] */
  struct {
    uint8_t keys[P2PC_KEYRING_MAX - 1][32];
    uint8_t n;
  } secure_ring;
  /* The allowlist of a closed network (docs/SECURITY.md; since
   * P2PC_UV_SETTINGS_V3; needs secure.on): with n > 0 only these members
   * link, each proving its key, and only those with P2PC_ROLE_REFERENCE
   * may be the clock's reference; this node must be one of them (its ID
   * and the public key of secure.identity). Borrowed until
   * p2pc_uv_open returns; at most 4,096. [none] */
  struct {
    const p2pc_member *members;
    size_t n;
  } allow;
  /* RFC 8573 symmetric keys for standard NTP clients (docs/CLOCK.md,
   * "Authentication"; since P2PC_UV_SETTINGS_V4), open or secure mode
   * alike: a request with an AES-CMAC under one of these keys is answered
   * with one under the same key; a request with a MAC none verifies gets
   * no answer. At most P2PC_NTP_KEYS_MAX, no ID twice. Copied at open
   * (wiped when the node is closed); the caller wipes its own. [none] */
  struct {
    const p2pc_ntp_key *keys;
    size_t n;
  } ntp_keys;
} p2pc_uv_settings;

P2PC_EXTERN void p2pc_uv_settings_default_versioned(int version,
                                                    p2pc_uv_settings *s);
#define p2pc_uv_settings_default(S)                                            \
  p2pc_uv_settings_default_versioned(P2PC_UV_SETTINGS_VERSION, (S))

/*
 * Opens a node on loop: resolves and binds the listen address (TCP and
 * the UDP time socket), creates the node, starts dialing the peers. The
 * event callback gets the p2pc_node of the binding (p2pc_uv_node). Returns
 * 0, or a negative error with a name (p2pc_errname): -errno from the
 * system (-EADDRINUSE: the port is taken), P2PC_ERR_NOTFOUND (the listen
 * host does not resolve), P2PC_ERR_INVAL (a bad setting), P2PC_ERR_NOMEM. On
 * failure the logger got one P2PC_LOG_ERROR line saying what failed, and
 * nothing is left on the loop once it has run (the binding's handles
 * close themselves).
 */
P2PC_EXTERN int p2pc_uv_open_versioned(p2pc_uv **out, uv_loop_t *loop,
                                       int version, const p2pc_uv_settings *s,
                                       p2pc_event_fn on_event, void *ud);
#define p2pc_uv_open(OUT, LOOP, S, FN, UD)                                     \
  p2pc_uv_open_versioned((OUT), (LOOP), P2PC_UV_SETTINGS_VERSION, (S), (FN),   \
                         (UD))

/* Leaves politely at the loop's next turn (every link is told, LEAVE; it
 * may be called from inside the event callback), lets the last frames go
 * out (~200 ms), closes every handle of the binding, then calls on_closed
 * (may be NULL; p2pc_uv_node, _now and _time still work inside it) and
 * frees the binding: run the loop until then. Events still come while the
 * links go down; sends fail with P2PC_ERR_CLOSED. A second call is a
 * no-op. */
P2PC_EXTERN void p2pc_uv_close(p2pc_uv *u, void (*on_closed)(void *ud),
                               void *ud);

/* Sends payload to node dest (reliably, in causal order), to every node
 * of the network (self included), or to every neighbour and to self: as
 * p2pc_node_send / p2pc_node_broadcast / p2pc_node_broadcast_neighbours,
 * with this loop turn's clocks. The output is written before the loop
 * next waits for I/O (one write per link however many sends). dest may be
 * any node: one whose record is being looked up answers P2PC_ERR_AGAIN,
 * and the caller sends again on the P2PC_EVENT_RESOLVED for dest (ok; if
 * not ok, or if none comes within a few seconds, no node with that ID is
 * known). */
/* Replaces the allowlist of a node opened with one (settings allow):
 * the same rules as at open; the links of nodes no longer listed with
 * their key are closed at once, and the node's own reference role
 * follows the new list. The members are copied. 0, or P2PC_ERR_INVAL
 * (logged: a bad list, this node not on it, or a node opened without
 * one), P2PC_ERR_NOMEM, P2PC_ERR_CLOSED; the old list stays on failure. */
P2PC_EXTERN int p2pc_uv_set_allowlist(p2pc_uv *u, const p2pc_member *members,
                                      size_t n);
P2PC_EXTERN int p2pc_uv_send(p2pc_uv *u, const char *dest,
                             const uint8_t *payload, size_t len,
                             p2pc_msgid *id);
P2PC_EXTERN int p2pc_uv_broadcast(p2pc_uv *u, const uint8_t *payload,
                                  size_t len, p2pc_msgid *id);
P2PC_EXTERN int p2pc_uv_broadcast_neighbours(p2pc_uv *u, const uint8_t *payload,
                                             size_t len, p2pc_msgid *first);

/* Carries out now what the node asked for: after calls made on
 * p2pc_uv_node that change it (p2pc_node_send...), writes their output. */
P2PC_EXTERN void p2pc_uv_flush(p2pc_uv *u);

/* The network time now, as an interval (p2pc_node_time). */
P2PC_EXTERN void p2pc_uv_time(p2pc_uv *u, p2pc_time *t);
/* The node, for the sans-I/O API's calls (p2pc_node_name...): give it no
 * input of your own (the binding does), and call p2pc_uv_flush after a
 * call that makes it send. */
P2PC_EXTERN p2pc_node *p2pc_uv_node(p2pc_uv *u);
/* This loop turn's clock readings (the node's local clock, virtual if
 * configured). */
P2PC_EXTERN p2pc_now p2pc_uv_now(p2pc_uv *u);
/* The TCP port actually bound. */
P2PC_EXTERN uint16_t p2pc_uv_port(const p2pc_uv *u);

/* An address as the binding shows it: a peer configured by name shows as
 * "name:port", others as p2pc_addr_format does. */
P2PC_EXTERN void p2pc_uv_format_addr(const p2pc_uv *u, const p2pc_addr *a,
                                     char *s, size_t cap);

/* What the time socket really got. */
typedef struct p2pc_uv_stats {
  /* "user", "kernel-rx", "kernel-rx-tx"; "none" without a time socket */
  const char *timestamping;
  uint16_t time_port;          /* 0: no time socket */
  uint64_t rx_kernel, rx_user; /* datagrams received, by stamp */
  uint64_t tx, tx_timed;       /* sent; of them, timed exchanges */
  uint64_t tx_kernel;          /* kernel transmit stamps taken */
  uint64_t tx_errors;          /* sends that failed */
  uint64_t poll_errors;        /* error wake-ups (late stamps, errors) */
} p2pc_uv_stats;
P2PC_EXTERN void p2pc_uv_stats_get(const p2pc_uv *u, p2pc_uv_stats *st);

/* Changes the virtual clock while running: step_s is added to the offset;
 * a new drift applies from now on, re-based so the local clock stays
 * continuous. Returns 0, P2PC_ERR_INVAL without a virtual clock or for a
 * value out of range (|drift| <= 1000 ppm, resulting |offset| <= 1e6 s). */
P2PC_EXTERN int p2pc_uv_vclock_adjust(p2pc_uv *u, bool step, double step_s,
                                      bool drift, double drift_ppm);
/* Replaces the node's cluster keyring while it runs (secure links only):
 * keys[0] the primary, which new links dialed from now on use, then the
 * others it accepts; 1..P2PC_KEYRING_MAX keys, no two alike. Links up are
 * not touched. The keys are copied. Returns 0, or P2PC_ERR_INVAL (links in
 * clear, a bad count, two keys alike: nothing changed). */
P2PC_EXTERN int p2pc_uv_keyring_set(p2pc_uv *u, const uint8_t (*keys)[32],
                                    size_t nkeys);
/* The virtual clock now: false if there is none, else its offset (local -
 * real, seconds) and drift (ppm). */
P2PC_EXTERN bool p2pc_uv_vclock_get(p2pc_uv *u, double *offset_s,
                                    double *drift_ppm);

#ifdef __cplusplus
}
#endif

#endif /* P2PCLOCK_UV_H */
