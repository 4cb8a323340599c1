/* SPDX-License-Identifier: MIT */
/*
 * The node's configuration as the p2pclock command resolves it: the Go
 * prototype's JSON config files, accepted unchanged, plus new optional keys,
 * then command-line flags on top. Every value is checked here so the runtime
 * only ever sees valid settings, and every failure comes back as one line
 * that names the file or flag, the key and the offending value, which the
 * command prints before exiting with status 2:
 *
 *   config/nodeA.json: "nodePort" must be an integer 1..65535, got "90x0"
 *   --listen: PORT must be an integer 1..65535, got "127.0.0.1:0"
 *
 * Every key and flag is a row of the option table (options.h, options.c),
 * which also prints them (`p2pclock node --help`, `p2pclock help --keys`).
 * In short (a key not listed is an error, so a typo is never silently
 * ignored):
 *
 *   nodeID     string, the node ID (required here or by --id)
 *   nodeIP     string, IPv4/IPv6 literal or host name [127.0.0.1]
 *   nodePort   integer 1..65535 (required here or by --listen)
 *   connectTo  array of {"nodeID" (optional), "nodeIP", "nodePort"}
 *   events     string, path of the event log, docs/EVENTS.md [none]
 *   control    string, control socket path [/tmp/p2pclock-<nodeID>.sock]
 *   logLevel   "error" | "warn" | "info" | "debug" [info]
 *   maxPeers   integer 1..1024 [64]
 *   chaosDelay string "MIN:MAX", milliseconds, MIN <= MAX <= 60000 [0:0]
 *   chaosDrop  number, 0 <= P < 1 [0]
 *
 * Clock keys (DESIGN.md "Clocks and time"). The node's local clock is
 * virtual (CLOCK_REALTIME + offset + drift) iff clockOffset or
 * clockDriftPpm is given, even as 0:
 *
 *   clockOffset   number, seconds, -1e6..1e6 [none: the real clock]
 *   clockDriftPpm number, ppm, -1000..1000 [none: the real clock]
 *   timePort      integer 1..65535, UDP port of the time socket [nodePort]
 *   timeSync      boolean, exchange time with peers and clients [true]
 *   clockMode     "reference" | "collaborative" [reference]
 *   priority      integer 0..255, reference election, lower wins [128]
 *   clockClass    integer 0..255, election after priority [248]
 *   pollMin       integer -6..10, log2 seconds [-3]
 *   pollMax       integer -6..10, log2 seconds, >= pollMin [1]
 *   maxSlewPpm    number, ppm, 1..100000 [500]
 *   stepThreshold number, seconds, 0..1000 [0.001]
 *   timestamping  "auto" | "kernel-rx" | "user": the best the kernel
 *                 offers, or a fallback forced (tests) [auto]
 *
 * Overlay keys (docs/PROTOCOL.md, "The overlay"; the defaults are the
 * library's, p2pc_settings_default):
 *
 *   maxOnDemand     integer 1..4096, links opened on demand [16]
 *   maxSessions     integer 1..1048576, sessions outside the links [1024]
 *   onDemandIdle    number, seconds 0.001..86400: an idle on-demand link
 *                   closes after [60]
 *   probeInterval   number, seconds 0.001..60: one failure-detector probe
 *                   every [0.2]
 *   probeTimeout    number, seconds 0.001..60: a probe's answer within [0.1]
 *   passiveMax      integer 1..1024, passive view entries [32]
 *   peersSample     integer 1..64, address records in one PEERS [8]
 *   shuffleInterval number, seconds 0.001..3600: one SHUFFLE every [10]
 *
 * (p2pc_settings.stable_idle_ns has no key: the node does not use it.)
 *
 * Flags (each key has one; a flag overrides the file; --check-config and
 * --help are the command's own):
 *
 *   --config FILE, --id ID, --listen HOST:PORT, --peer [ID@]HOST:PORT
 *   (repeatable; the --peer flags replace the file's connectTo),
 *   --events FILE, --control PATH, --log-level LEVEL, --max-peers N,
 *   --chaos-delay MIN:MAX, --chaos-drop P, --clock-offset S,
 *   --clock-drift PPM, --time-port N, --no-time-sync (timeSync false; the
 *   only flag without a value), --clock-mode MODE, --priority N,
 *   --clock-class N, --poll-min N, --poll-max N, --max-slew PPM,
 *   --step-threshold S, --timestamping MODE, --max-on-demand N,
 *   --max-sessions N, --on-demand-idle S, --probe-interval S,
 *   --probe-timeout S, --passive-max N, --peers-sample N,
 *   --shuffle-interval S
 *
 * A flag's value follows it ("--id A") or is attached ("--id=A"); a value
 * that starts with "--" must be attached ("--clock-offset -1" is fine). An
 * IPv6 HOST goes in brackets: "[::1]:9000".
 *
 * A HOST (nodeIP, --listen, --peer) is an IPv4 or IPv6 literal or a host
 * name: dot-separated labels of 1..63 letters, digits and '-' (RFC 1123),
 * no label starting or ending with '-', at most 253 characters, the last
 * label not all digits (so 10.0.0.256 is refused, not looked up). Only the
 * syntax is checked here; the libuv binding resolves the name (uv.h):
 * the listen host once at start, a peer's before every dial of it.
 */
#ifndef P2PC_CLI_CONFIG_H
#define P2PC_CLI_CONFIG_H

#include "idtab.h" /* P2PC_ID_MAX */
#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define P2PC_CLI_PEERS_MAX 1024  /* configured peers, and maxPeers */
#define P2PC_CLI_HOST_MAX 253    /* a host name, RFC 1123 */
#define P2PC_CLI_PATH_MAX 4095   /* the events path */
#define P2PC_CLI_CONTROL_MAX 107 /* sun_path is 108 bytes with its NUL */
#define P2PC_CLI_CHAOS_DELAY_MAX_MS 60000
#define P2PC_CLI_FILE_MAX (1024 * 1024) /* a larger config file is refused */
#define P2PC_CLI_DEFAULT_HOST "127.0.0.1"
#define P2PC_CLI_CLOCK_OFFSET_MAX 1e6   /* seconds, either sign */
#define P2PC_CLI_CLOCK_DRIFT_MAX 1000.0 /* ppm, either sign */
#define P2PC_CLI_POLL_MIN -6            /* log2 seconds */
#define P2PC_CLI_POLL_MAX 10
#define P2PC_CLI_ERR_LEN 1024 /* a buffer this size holds any message */

typedef enum p2pc_cli_log_level {
  P2PC_CLI_LOG_ERROR,
  P2PC_CLI_LOG_WARN,
  P2PC_CLI_LOG_INFO,
  P2PC_CLI_LOG_DEBUG
} p2pc_cli_log_level;

typedef enum p2pc_cli_clock_mode {
  P2PC_CLI_CLOCK_REFERENCE,
  P2PC_CLI_CLOCK_COLLABORATIVE
} p2pc_cli_clock_mode;

typedef struct p2pc_cli_peer {
  char id[P2PC_ID_MAX + 1]; /* "" if not configured (learned on connect) */
  char host[P2PC_CLI_HOST_MAX + 1]; /* as written: IP literal or name */
  uint16_t port;
} p2pc_cli_peer;

typedef struct p2pc_cli_config {
  char id[P2PC_ID_MAX + 1];
  char listen_host[P2PC_CLI_HOST_MAX + 1];
  uint16_t listen_port;
  p2pc_cli_peer *peers; /* npeers entries, owned; at most PEERS_MAX */
  size_t npeers;
  size_t peers_cap;
  char events[P2PC_CLI_PATH_MAX + 1]; /* "" = no event log */
  char control[P2PC_CLI_CONTROL_MAX + 1];
  p2pc_cli_log_level log_level;
  uint32_t max_peers;
  /* causalLifetime: Δ in ns, or P2PC_CAUSAL_LIFETIME_INF ("inf") */
  uint64_t causal_lifetime_ns;
  uint32_t chaos_delay_min_ms; /* 0..0 = no injected delay */
  uint32_t chaos_delay_max_ms;
  double chaos_drop; /* probability of dropping a frame; 0 = never */
  /* Clocks. */
  bool vclock;            /* clockOffset or clockDriftPpm given */
  double clock_offset_s;  /* the virtual clock's offset at start */
  double clock_drift_ppm; /* ... and its rate error */
  uint16_t time_port;     /* resolved: nodePort unless set */
  bool time_sync;
  p2pc_cli_clock_mode clock_mode;
  uint8_t priority, clock_class;
  int8_t poll_min, poll_max;
  double max_slew_ppm;
  double step_threshold_s;
  int timestamping; /* 0 auto, 1 kernel-rx, 2 user */
  /* The overlay (docs/PROTOCOL.md, "The overlay"; p2pc_settings). */
  uint32_t max_ondemand, max_sessions;
  uint64_t ondemand_idle_ns;
  uint64_t probe_interval_ns, probe_timeout_ns;
  uint32_t passive_max, peers_sample;
  uint64_t shuffle_interval_ns;
  /* Secure links (docs/SECURITY.md): on unless --open ("secure": false),
   * with the cluster key file (required then) and the identity key file
   * ("" = the default path). */
  bool secure;
  char cluster_key_file[P2PC_CLI_PATH_MAX + 1];
  char key_file[P2PC_CLI_PATH_MAX + 1];
  char allowlist[P2PC_CLI_PATH_MAX + 1]; /* "" = none */
  char ntp_keys[P2PC_CLI_PATH_MAX + 1];  /* "" = none (ntpkeys.h) */
  /* Where pollMin and pollMax were last set (0 default, 1 the file, 2 a
   * flag): the pollMin <= pollMax error names the right one. */
  uint8_t poll_min_src, poll_max_src;
} p2pc_cli_config;

/* Embeds the defaults: no ID, no port, no peers, host 127.0.0.1, no event
 * log, no control path yet, info, maxPeers 64, no chaos, the real clock,
 * time sync on in reference mode with the defaults listed above. */
void p2pc_cli_config_init(p2pc_cli_config *cfg);

/*
 * Resolves a config from the JSON file at path alone: init, read, check
 * every key, then check that the required values are there and fill in the
 * defaults that depend on others (the control path). Returns 0, or writes a
 * one-line message (no newline) to err[0..errlen) and returns P2PC_ERR_INVAL
 * (bad content), -errno (cannot open or read) or P2PC_ERR_NOMEM. On failure
 * *cfg owns nothing; p2pc_cli_config_fini on it is still safe.
 */
int p2pc_cli_config_load(p2pc_cli_config *cfg, const char *path, char *err,
                         size_t errlen);

/*
 * Resolves a config from the `p2pclock node` flags argv[0..argc) (no
 * program or command name): init, load the --config file first wherever it
 * appears, then apply the other flags in order, then check as _load does.
 * An unknown flag, a missing value or a stray argument is an error too.
 * Returns and fails like p2pc_cli_config_load.
 */
int p2pc_cli_config_args(p2pc_cli_config *cfg, int argc,
                         const char *const *argv, char *err, size_t errlen);

/* What the flags of `p2pclock node` ask for besides a config. */
typedef struct p2pc_cli_actions {
  bool help;         /* --help or -h, anywhere: print the usage */
  bool check_config; /* --check-config: print the resolved config */
} p2pc_cli_actions;

/*
 * p2pc_cli_config_args for the command itself: also takes --help / -h and
 * --check-config, reported in *act. With help asked for, returns 0 at once
 * (even if other flags are bad) with cfg initialised and owning nothing.
 */
int p2pc_cli_node_args(p2pc_cli_config *cfg, int argc, const char *const *argv,
                       p2pc_cli_actions *act, char *err, size_t errlen);

/* Frees what cfg owns; cfg may then be loaded again. */
void p2pc_cli_config_fini(p2pc_cli_config *cfg);

/* Writes the default control socket path of node id to buf[0..n):
 * "/tmp/p2pclock-<id>.sock". A valid ID always fits in
 * P2PC_CLI_CONTROL_MAX + 1 bytes. */
void p2pc_cli_control_default(char *buf, size_t n, const char *id);

/* "error", "warn", "info" or "debug". */
const char *p2pc_cli_log_level_name(p2pc_cli_log_level level);
/* "reference" or "collaborative". */
const char *p2pc_cli_clock_mode_name(p2pc_cli_clock_mode mode);

/*
 * Renders a resolved config as one line of JSON with the config file's keys
 * (so the output is itself a valid config file). Returns a string to
 * release with free(), or NULL if out of memory.
 */
char *p2pc_cli_config_json(const p2pc_cli_config *cfg);

#endif /* P2PC_CLI_CONFIG_H */
