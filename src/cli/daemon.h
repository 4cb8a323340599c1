/* SPDX-License-Identifier: MIT */
/*
 * `p2pclock node`: the node as a process (daemon.c) on the libuv binding
 * (<p2pclock/uv.h>): its own loop, SIGINT and SIGTERM, the console on a
 * terminal (console.c), the human log on stderr, the event log file, the
 * control socket (src/ctl) and the lifecycle lines.
 */
#ifndef P2PC_CLI_DAEMON_H
#define P2PC_CLI_DAEMON_H

#include <p2pclock/uv.h>

#include "timesync.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct p2pc_daemon_options {
  const char *id;
  const char *listen_host;
  uint16_t listen_port;
  const p2pc_uv_peer *peers;
  size_t npeers;
  const char *events_path;  /* NULL or "": no event log */
  const char *control_path; /* NULL or "": no control socket */
  p2pc_log_level log_level;
  uint32_t max_peers;          /* 0: default */
  uint64_t causal_lifetime_ns; /* Δ (0: default; P2PC_CAUSAL_LIFETIME_INF) */
  uint32_t chaos_delay_min_ms, chaos_delay_max_ms;
  double chaos_drop;
  bool console;            /* read commands from stdin (a terminal) */
  const char *config_json; /* the resolved config, for the start event */
  /* Clock synchronization (timesync.h; 0 fields: defaults). The UDP time
   * socket is bound on listen_host:time.time_port (0: the TCP port) unless
   * time.disabled. */
  p2pc_timesync_config time;
  bool vclock; /* a virtual local clock (DESIGN.md "Clocks and time") */
  double clock_offset_s;  /* at start */
  double clock_drift_ppm; /* rate error, from start */
  /* Packet timestamps: 0 auto, 1 at most kernel RX, 2 user space only. */
  int timestamping;
  /* The overlay (p2pc_settings; 0: the default). */
  uint32_t max_ondemand, max_sessions, passive_max, peers_sample;
  uint64_t ondemand_idle_ns, probe_interval_ns, probe_timeout_ns;
  uint64_t shuffle_interval_ns;
  /* Secure links (docs/SECURITY.md): a cluster key file turns them on;
   * the identity key file (NULL or "": the default path for id) is
   * loaded, or created on first start. */
  const char *cluster_key_file;
  const char *key_file;
  const char *allowlist; /* NULL or "": none (docs/SECURITY.md) */
  /* NTP symmetric keys for standard clients (ntpkeys.h; docs/CLOCK.md,
   * "Authentication"); NULL or "": none */
  const char *ntp_keys;
  bool open; /* links in clear, open to anyone: no cluster key then */
} p2pc_daemon_options;

/* Runs the node until SIGINT, SIGTERM, a `stop` request or `quit`.
 * Returns 0 after a clean stop, 1 on a runtime failure (after printing one
 * line saying what failed: cannot resolve or listen on the listen host,
 * cannot open the event log...). */
int p2pc_daemon_run(const p2pc_daemon_options *opt);

#endif /* P2PC_CLI_DAEMON_H */
