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

typedef struct p2pc_rt_peer {
  char id[P2PC_NODE_ID_MAX + 1]; /* "" if unknown */
  char host[64];
  uint16_t port;
} p2pc_rt_peer;

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
  uint32_t chaos_delay_min_ms, chaos_delay_max_ms;
  double chaos_drop;
  bool console;            /* read commands from stdin (a terminal) */
  const char *config_json; /* the resolved config, for the start event */
} p2pc_rt_options;

/* Runs the node until SIGINT, SIGTERM, a `stop` request or `quit`.
 * Returns 0 after a clean stop, 1 on a runtime failure (after printing one
 * line saying what failed: cannot listen, cannot open the event log...). */
int p2pc_rt_run(const p2pc_rt_options *opt);

#endif /* P2PC_RUNTIME_H */
