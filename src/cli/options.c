/* SPDX-License-Identifier: MIT */
/*
 * The table of the node's options (options.h) and what is printed from it:
 * the flag lines of --help, the machine-readable list of `help --keys` and
 * the troff of `help --man`. The rows are in the order the config echo
 * writes the keys; flags without a key sit where help lists them.
 */
#include "options.h"

#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define FIELD(f)                                                               \
  .offset = offsetof(p2pc_cli_config, f),                                      \
  .size = sizeof(((p2pc_cli_config *)0)->f)
#define NO_FIELD .offset = 0

static const char *const level_names[] = {"error", "warn", "info", "debug",
                                          NULL};
static const char *const mode_names[] = {"reference", "collaborative", NULL};
static const char *const tstamp_names[] = {"auto", "kernel-rx", "user", NULL};

_Static_assert(offsetof(p2pc_cli_config, chaos_delay_max_ms) ==
                   offsetof(p2pc_cli_config, chaos_delay_min_ms) +
                       sizeof(uint32_t),
               "RANGE_MS stores MIN and MAX side by side");
_Static_assert(sizeof(p2pc_cli_log_level) == sizeof(int32_t) &&
                   sizeof(p2pc_cli_clock_mode) == sizeof(int32_t) &&
                   sizeof(int) == sizeof(int32_t),
               "an ENUM field is stored as an int32_t");

/* clang-format off */
static const p2pc_cli_option table[] = {
  {.key = NULL, .flag = "config", .arg = "FILE", .type = P2PC_CLI_OPT_FILE,
   .must = "given twice", .help = "JSON config, e.g. config/nodeA.json",
   .example = "config/nodeA.json", NO_FIELD},
  {.key = "nodeID", .flag = "id", .arg = "ID", .type = P2PC_CLI_OPT_ID,
   FIELD(id), .must = "must be 1..64 characters of [A-Za-z0-9._-]",
   .help = "the node's ID, 1..64 of [A-Za-z0-9._-]; required",
   .example = "n-1.x_Y"},
  {.key = "nodeIP", .via = "listen", .type = P2PC_CLI_OPT_HOST,
   FIELD(listen_host), .must = "must be an IP address or a host name",
   .help = "the address to listen on: an IP address or a host name",
   .def = "127.0.0.1", .example = "::1"},
  {.key = "nodePort", .via = "listen", .type = P2PC_CLI_OPT_UINT,
   .lo = 1, .hi = 65535, FIELD(listen_port),
   .must = "must be an integer 1..65535",
   .help = "the TCP and UDP port to listen on; required", .example = "9000"},
  {.key = NULL, .flag = "listen", .arg = "HOST:PORT",
   .type = P2PC_CLI_OPT_LISTEN,
   .must = "must be HOST:PORT (an IPv6 HOST in brackets)",
   .help = "TCP and UDP address; PORT required; HOST an IP address (IPv6 in "
           "brackets) or a host name, resolved once at start (localhost is "
           "127.0.0.1)",
   .def = "127.0.0.1", .example = "[::1]:9100", NO_FIELD},
  {.key = "connectTo", .flag = "peer", .arg = "[ID@]HOST:PORT",
   .type = P2PC_CLI_OPT_PEERS, .flags = P2PC_CLI_OPT_REPEAT, FIELD(peers),
   .must = "must be an array of {\"nodeID\", \"nodeIP\", \"nodePort\"} "
           "objects",
   .help = "a peer to dial; repeatable; the flags replace the file's list "
           "(of {\"nodeID\", \"nodeIP\", \"nodePort\"}, nodeID optional); a "
           "host name is resolved again before every dial",
   .def = "none", .example = "B@127.0.0.1:9001"},
  {.key = "events", .flag = "events", .arg = "FILE", .type = P2PC_CLI_OPT_PATH,
   .flags = P2PC_CLI_OPT_OMIT_EMPTY, .hi = P2PC_CLI_PATH_MAX, FIELD(events),
   .must = "must be a non-empty path of at most 4095 bytes",
   .help = "append the event log, docs/EVENTS.md", .def = "none",
   .example = "ev.log"},
  {.key = "control", .flag = "control", .arg = "PATH",
   .type = P2PC_CLI_OPT_PATH, .hi = P2PC_CLI_CONTROL_MAX, FIELD(control),
   .must = "must be a non-empty path of at most 107 bytes",
   .help = "control socket", .def = "/tmp/p2pclock-<ID>.sock",
   .example = "/run/p.sock"},
  {.key = "logLevel", .flag = "log-level", .arg = "LEVEL",
   .type = P2PC_CLI_OPT_ENUM, .names = level_names, FIELD(log_level),
   .must = "must be one of \"error\", \"warn\", \"info\", \"debug\"",
   .help = "error, warn, info, debug (rate-limited but debug)", .def = "info",
   .example = "debug"},
  {.key = "maxPeers", .flag = "max-peers", .arg = "N",
   .type = P2PC_CLI_OPT_UINT, .lo = 1, .hi = P2PC_CLI_PEERS_MAX,
   FIELD(max_peers), .must = "must be an integer 1..1024", .help = "1..1024",
   .def = "64", .example = "1024"},
  {.key = "causalLifetime", .flag = "causal-lifetime", .arg = "S",
   .type = P2PC_CLI_OPT_LIFETIME, .lo = 0.001, .hi = 1e6,
   FIELD(causal_lifetime_ns),
   .must = "must be a number of seconds 0.001..1e6, or \"inf\" (never "
           "expire)",
   .help = "seconds a message may wait, or inf; older ones are reported "
           "expired",
   .def = "60", .example = "inf"},
  {.key = "chaosDelay", .flag = "chaos-delay", .arg = "MIN:MAX",
   .type = P2PC_CLI_OPT_RANGE_MS, .hi = P2PC_CLI_CHAOS_DELAY_MAX_MS,
   FIELD(chaos_delay_min_ms),
   .must = "must be \"MIN:MAX\" milliseconds with 0 <= MIN <= MAX <= 60000",
   .help = "fault injection: delay each frame by MIN..MAX ms, MAX <= 60000",
   .def = "0:0, off", .example = "5:60000"},
  {.key = "chaosDrop", .flag = "chaos-drop", .arg = "P",
   .type = P2PC_CLI_OPT_DOUBLE, .flags = P2PC_CLI_OPT_HI_OPEN, .lo = 0,
   .hi = 1, FIELD(chaos_drop), .must = "must be a number 0 <= P < 1",
   .help = "fault injection: drop each frame with probability 0 <= P < 1",
   .def = "0, off", .example = "0.25"},
  {.key = "clockOffset", .flag = "clock-offset", .arg = "S",
   .type = P2PC_CLI_OPT_DOUBLE, .flags = P2PC_CLI_OPT_VCLOCK,
   .lo = -P2PC_CLI_CLOCK_OFFSET_MAX, .hi = P2PC_CLI_CLOCK_OFFSET_MAX,
   FIELD(clock_offset_s), .must = "must be a number of seconds, -1e6..1e6",
   .help = "seconds, |S| <= 1e6", .def = "none", .example = "-0.5",
   .section = "Clocks (a virtual local clock, the real one plus an offset "
              "and a drift, iff --clock-offset or --clock-drift is given, "
              "even as 0):"},
  {.key = "clockDriftPpm", .flag = "clock-drift", .arg = "PPM",
   .type = P2PC_CLI_OPT_DOUBLE, .flags = P2PC_CLI_OPT_VCLOCK,
   .lo = -P2PC_CLI_CLOCK_DRIFT_MAX, .hi = P2PC_CLI_CLOCK_DRIFT_MAX,
   FIELD(clock_drift_ppm), .must = "must be a number of ppm, -1000..1000",
   .help = "|PPM| <= 1000", .def = "none", .example = "100"},
  {.key = "timePort", .flag = "time-port", .arg = "N",
   .type = P2PC_CLI_OPT_INT, .lo = 1, .hi = 65535, FIELD(time_port),
   .must = "must be an integer 1..65535", .help = "UDP time socket port",
   .def = "nodePort", .example = "9123"},
  {.key = "timeSync", .flag = "no-time-sync", .type = P2PC_CLI_OPT_BOOL,
   FIELD(time_sync), .must = "must be true or false",
   .help = "turn off the time exchange with peers and clients entirely "
           "(the UDP socket stays open for the overlay's lookups)",
   .def = "true"},
  {.key = "clockMode", .flag = "clock-mode", .arg = "M",
   .type = P2PC_CLI_OPT_ENUM, .names = mode_names, FIELD(clock_mode),
   .must = "must be \"reference\" or \"collaborative\"",
   .help = "reference or collaborative", .def = "reference",
   .example = "collaborative"},
  {.key = "priority", .flag = "priority", .arg = "N", .type = P2PC_CLI_OPT_INT,
   .lo = 0, .hi = 255, FIELD(priority), .must = "must be an integer 0..255",
   .help = "0..255, election: lower wins", .def = "128", .example = "1"},
  {.key = "clockClass", .flag = "clock-class", .arg = "N",
   .type = P2PC_CLI_OPT_INT, .lo = 0, .hi = 255, FIELD(clock_class),
   .must = "must be an integer 0..255", .help = "0..255, after priority",
   .def = "248", .example = "2"},
  {.key = "pollMin", .flag = "poll-min", .arg = "N", .type = P2PC_CLI_OPT_INT,
   .flags = P2PC_CLI_OPT_POLL_MIN, .lo = P2PC_CLI_POLL_MIN,
   .hi = P2PC_CLI_POLL_MAX, FIELD(poll_min),
   .must = "must be an integer -6..10 (log2 seconds)",
   .help = "-6..10, log2 seconds", .def = "-3", .example = "-6"},
  {.key = "pollMax", .flag = "poll-max", .arg = "N", .type = P2PC_CLI_OPT_INT,
   .flags = P2PC_CLI_OPT_POLL_MAX, .lo = P2PC_CLI_POLL_MIN,
   .hi = P2PC_CLI_POLL_MAX, FIELD(poll_max),
   .must = "must be an integer -6..10 (log2 seconds)",
   .help = "-6..10, >= pollMin", .def = "1", .example = "10"},
  {.key = "maxSlewPpm", .flag = "max-slew", .arg = "PPM",
   .type = P2PC_CLI_OPT_DOUBLE, .lo = 1, .hi = 100000, FIELD(max_slew_ppm),
   .must = "must be a number of ppm, 1..100000", .help = "1..100000",
   .def = "500", .example = "100000"},
  {.key = "stepThreshold", .flag = "step-threshold", .arg = "S",
   .type = P2PC_CLI_OPT_DOUBLE, .lo = 0, .hi = 1000, FIELD(step_threshold_s),
   .must = "must be a number of seconds, 0..1000",
   .help = "0..1000 s: step the network clock at start only above this",
   .def = "0.001", .example = "0"},
  {.key = "timestamping", .flag = "timestamping", .arg = "M",
   .type = P2PC_CLI_OPT_ENUM, .names = tstamp_names, FIELD(timestamping),
   .must = "must be \"auto\", \"kernel-rx\" or \"user\"",
   .help = "auto, kernel-rx or user: force a fallback (tests)",
   .def = "auto", .example = "user"},
  {.key = "maxOnDemand", .flag = "max-on-demand", .arg = "N",
   .type = P2PC_CLI_OPT_UINT, .lo = 1, .hi = 4096, FIELD(max_ondemand),
   .must = "must be an integer 1..4096",
   .help = "1..4096 links opened on demand to nodes that are not "
           "neighbours, at most",
   .def = "16", .example = "64",
   .section = "Overlay (docs/PROTOCOL.md, \"The overlay\"):"},
  {.key = "maxSessions", .flag = "max-sessions", .arg = "N",
   .type = P2PC_CLI_OPT_UINT, .lo = 1, .hi = 1048576, FIELD(max_sessions),
   .must = "must be an integer 1..1048576",
   .help = "1..1048576 sessions kept with nodes that are not neighbours; "
           "the least recently used idle one is forgotten first",
   .def = "1024", .example = "4096"},
  {.key = "onDemandIdle", .flag = "on-demand-idle", .arg = "S",
   .type = P2PC_CLI_OPT_SECONDS, .lo = 0.001, .hi = 86400,
   FIELD(ondemand_idle_ns),
   .must = "must be a number of seconds, 0.001..86400",
   .help = "0.001..86400 s: an idle on-demand link closes after this",
   .def = "60", .example = "5"},
  {.key = "probeInterval", .flag = "probe-interval", .arg = "S",
   .type = P2PC_CLI_OPT_SECONDS, .lo = 0.001, .hi = 60,
   FIELD(probe_interval_ns), .must = "must be a number of seconds, 0.001..60",
   .help = "0.001..60 s: the failure detector probes one peer every S",
   .def = "0.2", .example = "1"},
  {.key = "probeTimeout", .flag = "probe-timeout", .arg = "S",
   .type = P2PC_CLI_OPT_SECONDS, .lo = 0.001, .hi = 60,
   FIELD(probe_timeout_ns), .must = "must be a number of seconds, 0.001..60",
   .help = "0.001..60 s: a probed peer must answer within S (stretched "
           "while this node looks overloaded), or others are asked to "
           "probe it",
   .def = "0.1", .example = "0.5"},
  {.key = "passiveMax", .flag = "passive-max", .arg = "N",
   .type = P2PC_CLI_OPT_UINT, .lo = 1, .hi = 1024, FIELD(passive_max),
   .must = "must be an integer 1..1024",
   .help = "1..1024 entries of the passive view: nodes known and not "
           "linked to",
   .def = "32", .example = "128"},
  {.key = "peersSample", .flag = "peers-sample", .arg = "N",
   .type = P2PC_CLI_OPT_UINT, .lo = 1, .hi = 64, FIELD(peers_sample),
   .must = "must be an integer 1..64",
   .help = "1..64 address records in one PEERS frame", .def = "32",
   .example = "16"},
  {.key = "shuffleInterval", .flag = "shuffle-interval", .arg = "S",
   .type = P2PC_CLI_OPT_SECONDS, .lo = 0.001, .hi = 3600,
   FIELD(shuffle_interval_ns),
   .must = "must be a number of seconds, 0.001..3600",
   .help = "0.001..3600 s: one passive-view SHUFFLE every S, jittered",
   .def = "10", .example = "30"},
  {.key = "secure", .flag = "open", .type = P2PC_CLI_OPT_BOOL,
   FIELD(secure), .must = "must be true or false",
   .help = "links in clear, open to anyone (demos, tests); without it a "
           "node needs --cluster-key-file",
   .def = "true"},
  {.key = "clusterKeyFile", .flag = "cluster-key-file", .arg = "FILE",
   .type = P2PC_CLI_OPT_PATH, .flags = P2PC_CLI_OPT_OMIT_EMPTY,
   .hi = P2PC_CLI_PATH_MAX, FIELD(cluster_key_file),
   .must = "must be a non-empty path of at most 4095 bytes",
   .help = "secure links: only nodes holding this cluster key (p2pclock "
           "keygen --cluster --out FILE) can link; the file may hold up to "
           "4 keys, the first used (p2pclock keys); docs/SECURITY.md",
   .def = "none (links in clear)", .example = "/etc/p2pclock/cluster.key"},
  {.key = "key", .flag = "key", .arg = "FILE", .type = P2PC_CLI_OPT_PATH,
   .flags = P2PC_CLI_OPT_OMIT_EMPTY, .hi = P2PC_CLI_PATH_MAX, FIELD(key_file),
   .must = "must be a non-empty path of at most 4095 bytes",
   .help = "the node's identity key (with a cluster key): loaded, or created "
           "0600 on first start",
   .def = "/var/lib/p2pclock/<ID>.key (root) or ~/.local/state/p2pclock/"
          "<ID>.key",
   .example = "/var/lib/p2pclock/a.key"},
  {.key = "allowlist", .flag = "allowlist", .arg = "FILE",
   .type = P2PC_CLI_OPT_PATH, .flags = P2PC_CLI_OPT_OMIT_EMPTY,
   .hi = P2PC_CLI_PATH_MAX, FIELD(allowlist),
   .must = "must be a non-empty path of at most 4095 bytes",
   .help = "with a cluster key: only the members this file lists (lines "
           "'ID PUBLIC-KEY [reference]') link, and only those marked "
           "reference may be the clock's reference; docs/SECURITY.md",
   .def = "none (any holder of the cluster key)",
   .example = "/etc/p2pclock/allowlist"},
  {.key = "ntpKeys", .flag = "ntp-keys", .arg = "FILE",
   .type = P2PC_CLI_OPT_PATH, .flags = P2PC_CLI_OPT_OMIT_EMPTY,
   .hi = P2PC_CLI_PATH_MAX, FIELD(ntp_keys),
   .must = "must be a non-empty path of at most 4095 bytes",
   .help = "RFC 8573 symmetric keys for standard NTP clients, in chrony's "
           "key file format (lines 'ID AES128 HEX:<32 hex digits>' or "
           "AES256 with 64; mode 600): a request with a MAC under one is "
           "answered with a MAC under the same key, one with a MAC none "
           "verifies gets no answer; docs/CLOCK.md",
   .def = "none (standard clients answered unauthenticated)",
   .example = "/etc/p2pclock/ntp.keys"},
  {.key = NULL, .flag = "check-config", .type = P2PC_CLI_OPT_ACTION,
   .help = "print the resolved config as one JSON line and exit", NO_FIELD},
  {.key = NULL, .flag = "help", .short_flag = 'h',
   .type = P2PC_CLI_OPT_ACTION, .help = "print this help and exit", NO_FIELD},
};
/* clang-format on */

#define NROWS (sizeof table / sizeof table[0])
_Static_assert(NROWS <= P2PC_CLI_OPTIONS_MAX, "raise P2PC_CLI_OPTIONS_MAX");

const p2pc_cli_option *p2pc_cli_options(size_t *n) {
  *n = NROWS;
  return table;
}

const p2pc_cli_option *p2pc_cli_option_by_key(const char *key) {
  for (size_t i = 0; i < NROWS; i++)
    if (table[i].key && strcmp(table[i].key, key) == 0)
      return &table[i];
  return NULL;
}

const p2pc_cli_option *p2pc_cli_option_by_flag(const char *flag) {
  for (size_t i = 0; i < NROWS; i++)
    if (table[i].flag && strcmp(table[i].flag, flag) == 0)
      return &table[i];
  return NULL;
}

const char *p2pc_cli_log_level_name(p2pc_cli_log_level level) {
  if ((size_t)level < sizeof level_names / sizeof level_names[0] - 1)
    return level_names[level];
  return "info";
}

const char *p2pc_cli_clock_mode_name(p2pc_cli_clock_mode mode) {
  if ((size_t)mode < sizeof mode_names / sizeof mode_names[0] - 1)
    return mode_names[mode];
  return "reference";
}

/* ---- printing ------------------------------------------------------------ */

/* The keys a flag sets, as help writes them: "nodeIP, nodePort", or
 * "timeSync false" for a switch. */
static void flag_keys(const p2pc_cli_option *o, char *out, size_t n) {
  size_t len = 0;
  out[0] = '\0';
  if (o->key)
    len += (size_t)snprintf(out, n, "%s%s", o->key,
                            o->type == P2PC_CLI_OPT_BOOL ? " false" : "");
  for (size_t i = 0; i < NROWS && len < n; i++)
    if (table[i].via && strcmp(table[i].via, o->flag) == 0)
      len += (size_t)snprintf(out + len, n - len, "%s%s", len ? ", " : "",
                              table[i].key);
}

/* Writes text as words filling lines of width columns, each line after the
 * first indented by indent spaces (the first is already there). */
static void wrap(FILE *out, const char *text, size_t indent, size_t width) {
  size_t col = 0;
  const char *p = text;
  while (*p) {
    size_t w = strcspn(p, " ");
    if (col > 0 && col + 1 + w > width) {
      fprintf(out, "\n%*s", (int)indent, "");
      col = 0;
    } else if (col > 0) {
      fputc(' ', out);
      col++;
    }
    fprintf(out, "%.*s", (int)w, p);
    col += w;
    p += w;
    p += strspn(p, " ");
  }
  fputc('\n', out);
}

#define HELP_COL 25 /* where the description starts */
#define HELP_WIDTH 76

void p2pc_cli_options_help(FILE *out) {
  for (size_t i = 0; i < NROWS; i++) {
    const p2pc_cli_option *o = &table[i];
    char head[64], keys[96], text[512];
    if (!o->flag)
      continue;
    if (o->section)
      wrap(out, o->section, 0, HELP_WIDTH);
    if (o->short_flag)
      snprintf(head, sizeof head, "-%c, --%s", o->short_flag, o->flag);
    else
      snprintf(head, sizeof head, "--%s%s%s", o->flag, o->arg ? " " : "",
               o->arg ? o->arg : "");
    flag_keys(o, keys, sizeof keys);
    snprintf(text, sizeof text, "%s%s%s%s%s%s%s", keys[0] ? "(" : "", keys,
             keys[0] ? ") " : "", o->help, o->def ? " [" : "",
             o->def ? o->def : "", o->def ? "]" : "");
    if (strlen(head) + 3 > HELP_COL)
      fprintf(out, "  %s\n%*s", head, HELP_COL, "");
    else
      fprintf(out, "  %-*s", HELP_COL - 2, head);
    wrap(out, text, HELP_COL, HELP_WIDTH - HELP_COL);
  }
}

static const char *const type_names[] = {
    [P2PC_CLI_OPT_ID] = "id",
    [P2PC_CLI_OPT_HOST] = "host",
    [P2PC_CLI_OPT_UINT] = "uint",
    [P2PC_CLI_OPT_INT] = "int",
    [P2PC_CLI_OPT_DOUBLE] = "number",
    [P2PC_CLI_OPT_BOOL] = "bool",
    [P2PC_CLI_OPT_ENUM] = "enum",
    [P2PC_CLI_OPT_PATH] = "path",
    [P2PC_CLI_OPT_LIFETIME] = "seconds",
    [P2PC_CLI_OPT_SECONDS] = "seconds",
    [P2PC_CLI_OPT_RANGE_MS] = "range-ms",
    [P2PC_CLI_OPT_PEERS] = "peers",
    [P2PC_CLI_OPT_LISTEN] = "host:port",
    [P2PC_CLI_OPT_FILE] = "file",
    [P2PC_CLI_OPT_ACTION] = "action",
};

static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

void p2pc_cli_options_keys(FILE *out) {
  fputs("# key\tflag\ttype\tmust\tdefault\thelp\n", out);
  for (size_t i = 0; i < NROWS; i++) {
    const p2pc_cli_option *o = &table[i];
    char flag[64];
    if (o->flag)
      snprintf(flag, sizeof flag, "--%s%s%s", o->flag, o->arg ? " " : "",
               o->arg ? o->arg : "");
    else
      snprintf(flag, sizeof flag, "(--%s)", o->via);
    fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\n", or_dash(o->key), flag,
            type_names[o->type],
            o->type == P2PC_CLI_OPT_FILE ? "-" : or_dash(o->must),
            or_dash(o->def), o->help);
  }
}

/* s as troff text: '-' and '\' escaped, a leading '.' or '\'' guarded. */
static void troff(FILE *out, const char *s) {
  if (*s == '.' || *s == '\'')
    fputs("\\&", out);
  for (; *s; s++) {
    if (*s == '-')
      fputs("\\-", out);
    else if (*s == '\\')
      fputs("\\e", out);
    else
      fputc(*s, out);
  }
}

void p2pc_cli_options_man(FILE *out) {
  for (size_t i = 0; i < NROWS; i++) {
    const p2pc_cli_option *o = &table[i];
    char keys[96];
    if (!o->flag)
      continue;
    if (o->section) {
      fputs(".PP\n", out);
      troff(out, o->section);
      fputc('\n', out);
    }
    fputs(".TP\n", out);
    if (o->short_flag)
      fprintf(out, "\\fB\\-%c\\fR, ", o->short_flag);
    fputs("\\fB\\-\\-", out);
    troff(out, o->flag);
    fputs("\\fR", out);
    if (o->arg) {
      fputs(" \\fI", out);
      troff(out, o->arg);
      fputs("\\fR", out);
    }
    fputc('\n', out);
    flag_keys(o, keys, sizeof keys);
    if (keys[0]) {
      fputs(strchr(keys, ',') ? "(config keys " : "(config key ", out);
      troff(out, keys);
      fputs(") ", out);
    }
    troff(out, o->help);
    if (o->def) {
      fputs(o->help[strlen(o->help) - 1] == '.' ? " Default: " : ". Default: ",
            out);
      troff(out, o->def);
      fputc('.', out);
    }
    fputc('\n', out);
  }
}
