/* SPDX-License-Identifier: MIT */
/*
 * The libuv runtime of one node: it owns the sockets, the timers, the
 * clocks and the files, and drives the pure core (src/core/node.h) with
 * them. It stays thin: every protocol decision is the core's.
 */
#ifndef P2PC_RUNTIME_H
#define P2PC_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node.h"

/* A host: an IPv4 or IPv6 literal, "localhost" (always 127.0.0.1, never
 * looked up, as it always was), or a host name, resolved with
 * uv_getaddrinfo (so /etc/hosts, DNS, whatever nsswitch says). The core
 * only ever sees addresses; names stay here:
 *   - listen_host is resolved once, at start (its first address is bound
 *     and is what HELLO tells peers); p2pc_rt_run fails with one line
 *     naming the host if it does not resolve;
 *   - a peer given by name is resolved again before every dial of it, off
 *     the loop thread, so a node that moved to a new address is found
 *     again. "Every dial of it" means the core's dials of that configured
 *     seed: of the seed itself, of the peer with its ID (configured, or
 *     learned when a dial of the address the name resolved to named it),
 *     and of the address the name last resolved to. When a name has
 *     several addresses, each failed connection moves the next dial on to
 *     the next one. A name that does not resolve is a failed dial (the
 *     core backs off and tries again); it is logged once, as a warning
 *     with the name and the resolver's error, until it resolves again.
 * Addresses learned by peer exchange are dialed as they are. */
#define P2PC_RT_HOST_MAX 253

typedef struct p2pc_rt_peer {
  char id[P2PC_NODE_ID_MAX + 1]; /* "" if unknown */
  char host[P2PC_RT_HOST_MAX + 1];
  uint16_t port;
} p2pc_rt_peer;

typedef struct p2pc_rt p2pc_rt;

/* An embedded application (benchmarks, tests): called from inside the loop.
 * turn runs at the end of every loop turn that did anything, so it can send
 * more once back-pressure eases. Any hook may be NULL. */
typedef struct p2pc_rt_app {
  void (*started)(p2pc_rt *rt, void *ud);
  void (*deliver)(p2pc_rt *rt, void *ud, const char *from, const char *msg,
                  const uint8_t *payload, size_t len);
  void (*turn)(p2pc_rt *rt, void *ud);
  void *ud;
} p2pc_rt_app;

typedef struct p2pc_rt_options {
  const char *id;
  const char *listen_host;
  uint16_t listen_port;
  const p2pc_rt_peer *peers;
  size_t npeers;
  const char *events_path;  /* NULL or "": no event log */
  const char *control_path; /* NULL or "": no control socket */
  p2pc_log_level log_level;
  uint32_t max_peers;
  uint64_t causal_lifetime_ns; /* Δ (0: default; P2PC_CAUSAL_LIFETIME_INF) */
  uint32_t chaos_delay_min_ms, chaos_delay_max_ms;
  double chaos_drop;
  bool console;            /* read commands from stdin (a terminal) */
  const char *config_json; /* the resolved config, for the start event */
  const p2pc_rt_app *app;  /* NULL for a plain node */
  /* Clock synchronization, handed to the core (timesync.h). The runtime
   * binds the UDP time socket on listen_host:time.time_port (0: the TCP
   * port actually bound) unless time.disabled, and tells the core the
   * port it got. */
  p2pc_timesync_config time;
  /* A virtual local clock (DESIGN.md "Clocks and time"): CLOCK_REALTIME +
   * offset + drift, applied to every reading of the local clock,
   * kernel packet timestamps included. */
  bool vclock;
  double clock_offset_s;  /* at start */
  double clock_drift_ppm; /* rate error, from start */
  /* Packet timestamps: 0 the best the kernel offers (SO_TIMESTAMPING RX
   * and TX, else SO_TIMESTAMPNS RX, else user space); 1 at most kernel RX;
   * 2 user space only. The fallbacks exist for kernels without the
   * former; forcing them lets tests run those paths here. */
  int timestamping;
} p2pc_rt_options;

/* For an embedded application, from inside its hooks. */
p2pc_node *p2pc_rt_node(p2pc_rt *rt);
p2pc_now p2pc_rt_now(p2pc_rt *rt);        /* this loop turn's clock readings */
uint16_t p2pc_rt_port(const p2pc_rt *rt); /* the port actually bound */
void p2pc_rt_stop(p2pc_rt *rt, int status);

/* Listens on port 0 picks a free port; p2pc_rt_port tells which. */

/* The node's local clock now: CLOCK_REALTIME through the virtual-clock
 * transform (the identity without a virtual clock). */
int64_t p2pc_rt_local_now(const p2pc_rt *rt);
/* Changes the virtual clock while running (tests and benchmarks: a liar's
 * jump, a drift step): step_s is added to the offset; a new drift applies
 * from now on, re-based so that the local clock stays continuous. Returns
 * 0, P2PC_ERR_INVAL without a virtual clock or for a value out of range
 * (|drift| <= 1000 ppm, the resulting |offset| <= 1e6 s). */
int p2pc_rt_vclock_adjust(p2pc_rt *rt, bool step, double step_s, bool drift,
                          double drift_ppm);

/* Runs the node until SIGINT, SIGTERM, a `stop` request or `quit`.
 * Returns 0 after a clean stop, 1 on a runtime failure (after printing one
 * line saying what failed: cannot resolve or listen on the listen host,
 * cannot open the event log...). */
int p2pc_rt_run(const p2pc_rt_options *opt);

#endif /* P2PC_RUNTIME_H */
