/* SPDX-License-Identifier: MIT */
/*
 * `p2pclock node` as a process (daemon.h): the loop, the signals, the
 * human log on stderr, the event log file (each event rendered once, by
 * p2pc_event_json, and written before any byte of the node leaves), the
 * lifecycle lines, and the control socket and console on top of the
 * libuv binding. Every protocol and I/O decision is the binding's.
 */
#define _GNU_SOURCE
#include "daemon.h"
#include "allowlist.h"
#include "keyfile.h"
#include "keyring.h"
#include "ntpkeys.h"

#include "console.h"
#include "event.h"
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct node_proc {
  const p2pc_daemon_options *opt;
  p2pc_member *members; /* the allowlist, until the node has it */
  uv_loop_t loop;
  p2pc_uv *u;
  p2pc_ctl_server *ctl;
  p2pc_console *con;
  uv_signal_t sigint, sigterm, sighup;
  bool signals;
  FILE *events;
  char line[2048]; /* one rendered event */
  uint64_t delivered;
  uint64_t start_mono;
  bool opening; /* an ERROR line now is why the start failed */
  bool stopping;
  bool start_logged; /* the `start` line is written */
  bool birth_logged; /* the causal layer's birth is in the log */
  int status;
  /* The cluster keyring (secure links; NULL with --open): what the node
   * runs with and its file holds (sodium_malloc'd: locked, wiped). */
  p2pc_cli_ring *ring;
} node_proc;

static const char *level_name(p2pc_log_level lv) {
  static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
  return lv <= P2PC_LOG_DEBUG ? names[lv] : "?";
}

/* "<UTC time> <node> <LEVEL> <module>: text" (docs/DESIGN.md); while the
 * node opens, an error is the one line saying why it could not. */
static void on_log(void *ud, p2pc_log_level lv, const char *text) {
  node_proc *d = ud;
  if (lv > d->opt->log_level)
    return;
  if (d->opening && lv == P2PC_LOG_ERROR) {
    fprintf(stderr, "p2pclock node: %s\n", text);
    return;
  }
  struct timespec ts;
  struct tm tm;
  char when[40];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  fprintf(stderr, "%s.%06ldZ %s %s %s\n", when, ts.tv_nsec / 1000, d->opt->id,
          level_name(lv), text);
}

static void logline(node_proc *d, p2pc_log_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logline(node_proc *d, p2pc_log_level lv, const char *fmt, ...) {
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  on_log(d, lv, text);
}

/* settings.before_output: the event lines so far reach the file before
 * the binding writes to any peer. */
static void flush_events(void *ud) {
  node_proc *d = ud;
  if (d->events)
    fflush(d->events);
}

static void log_birth(node_proc *d);

static void on_event(void *ud, p2pc_node *n, const p2pc_event *ev) {
  node_proc *d = ud;
  (void)n;
  log_birth(d); /* before the first line that may depend on it */
  if (ev->type == P2PC_EVENT_DELIVERED) {
    d->delivered++;
    if (d->opt->console) {
      char msg[P2PC_MSGID_TEXT_MAX];
      p2pc_msgid_format(&ev->msg, msg, sizeof msg);
      printf("[+] %s from %s: %.*s\n", msg, ev->msg.node,
             (int)(ev->len > 200 ? 200 : ev->len), (const char *)ev->payload);
    }
  }
  /* The control socket's subscribers (docs/CONTROL.md, subscribe). */
  p2pc_ctl_server_event(d->ctl, ev);
  if (!d->events)
    return;
  long len = p2pc_event_json(ev, d->opt->id, d->line, sizeof d->line);
  if (len > 0) {
    d->line[len] = '\n';
    fwrite(d->line, 1, (size_t)len + 1, d->events);
  }
}

/* A `start`, `stop` or `birth` line (EVENTS.md). The causal layer's
 * birth goes on `start` if it is known by then, else on a `birth` line
 * written as soon as it is (before the next event line or `stop`). */
static void write_lifecycle(node_proc *d, const char *ev) {
  if (!d->events)
    return;
  p2pc_node *n = p2pc_uv_node(d->u);
  const p2pc_causal *cz = p2pc_node_causal(n);
  bool birth = strcmp(ev, "birth") == 0;
  p2pc_lifecycle l = {.id = d->opt->id,
                      .sesid = p2pc_causal_self(cz),
                      .start = strcmp(ev, "start") == 0,
                      .now = p2pc_uv_now(d->u),
                      .lifetime_ns = p2pc_causal_lifetime(cz),
                      .config = birth ? NULL : d->opt->config_json,
                      .birth = p2pc_causal_birth(cz),
                      .birth_line = birth};
  if (l.start || birth)
    d->birth_logged = l.birth != 0;
  d->start_logged |= l.start;
  l.net_ns = p2pc_node_network_time(n, l.now.local_ns);
  size_t cap = (l.config ? strlen(l.config) : 0) + P2PC_EVENT_JSON_MAX;
  char *line = malloc(cap);
  long len = line ? p2pc_event_lifecycle_json(&l, line, cap) : -1;
  if (len > 0) {
    line[len] = '\n';
    fwrite(line, 1, (size_t)len + 1, d->events);
  }
  free(line);
  fflush(d->events);
}

static void log_birth(node_proc *d) {
  if (d->events && d->start_logged && !d->birth_logged && d->u &&
      p2pc_causal_birth(p2pc_node_causal(p2pc_uv_node(d->u))))
    write_lifecycle(d, "birth");
}

/* ---- stopping ------------------------------------------------------------ */

static void on_signal_closed(uv_handle_t *h) { (void)h; }

/* The binding has closed: the last line, then the daemon's own handles;
 * the loop ends when they are closed. */
static void on_closed(void *ud) {
  node_proc *d = ud;
  log_birth(d);
  write_lifecycle(d, "stop");
  p2pc_ctl_server_close(d->ctl); /* removes the socket file */
  d->ctl = NULL;
  p2pc_console_close(d->con);
  d->con = NULL;
  if (d->signals) {
    uv_close((uv_handle_t *)&d->sigint, on_signal_closed);
    uv_close((uv_handle_t *)&d->sigterm, on_signal_closed);
    uv_close((uv_handle_t *)&d->sighup, on_signal_closed);
  }
}

static void begin_stop(node_proc *d) {
  if (d->stopping)
    return;
  d->stopping = true;
  logline(d, P2PC_LOG_INFO, "node: stopping");
  p2pc_console_stop_reading(d->con);
  /* LEAVE to every link, the last frames out, then closed. */
  p2pc_uv_close(d->u, on_closed, d);
}

static void on_signal(uv_signal_t *s, int signum) {
  node_proc *d = s->data;
  logline(d, P2PC_LOG_INFO, "node: %s received", strsignal(signum));
  begin_stop(d);
}

/* SIGHUP: the allowlist file read again and given to the node (a member
 * added links at once; one removed is cut off). A bad file changes
 * nothing; both are logged. */
static void on_reload(uv_signal_t *s, int signum) {
  (void)signum;
  node_proc *d = s->data;
  const char *path = d->opt->allowlist;
  if (d->stopping)
    return;
  if (!path || !*path) {
    logline(d, P2PC_LOG_INFO,
            "node: SIGHUP: nothing to reload (no --allowlist)");
    return;
  }
  char err[300];
  p2pc_member *m = NULL;
  size_t n = 0;
  if (p2pc_cli_allowlist_load(path, &m, &n, err, sizeof err) != 0) {
    logline(d, P2PC_LOG_ERROR, "node: SIGHUP: allowlist not reloaded: %s", err);
    return;
  }
  int rv = p2pc_uv_set_allowlist(d->u, m, n);
  free(m);
  if (rv)
    logline(d, P2PC_LOG_ERROR,
            "node: SIGHUP: allowlist %s not taken (%s); the old one stays",
            path, p2pc_errname(rv));
  else
    logline(d, P2PC_LOG_INFO,
            "node: SIGHUP: allowlist %s reloaded: %zu members", path, n);
}

/* ---- the control server's and the console's host ------------------------ */

static p2pc_node *host_node(void *ud) {
  return p2pc_uv_node(((node_proc *)ud)->u);
}
static p2pc_now host_now(void *ud) { return p2pc_uv_now(((node_proc *)ud)->u); }
static uint16_t host_port(void *ud) {
  return p2pc_uv_port(((node_proc *)ud)->u);
}
static uint64_t host_delivered(void *ud) {
  return ((node_proc *)ud)->delivered;
}
static bool host_stopping(void *ud) { return ((node_proc *)ud)->stopping; }
static void host_stop(void *ud) { begin_stop(ud); }

static void host_flush(void *ud) {
  node_proc *d = ud;
  if (!d->stopping)
    p2pc_uv_flush(d->u);
}

static void host_format_addr(void *ud, const p2pc_addr *a, char *s,
                             size_t cap) {
  p2pc_uv_format_addr(((node_proc *)ud)->u, a, s, cap);
}

static void host_io(void *ud, p2pc_ctl_io *io) {
  p2pc_uv_stats st;
  p2pc_uv_stats_get(((node_proc *)ud)->u, &st);
  io->timestamping = st.timestamping;
  io->time_port = st.time_port;
  io->rx_kernel = st.rx_kernel;
  io->rx_user = st.rx_user;
  io->tx_kernel = st.tx_kernel;
  io->tx = st.tx;
  io->tx_timed = st.tx_timed;
  io->tx_errors = st.tx_errors;
  io->poll_errors = st.poll_errors;
}

static bool host_vclock_get(void *ud, double *offset_s, double *drift_ppm) {
  return p2pc_uv_vclock_get(((node_proc *)ud)->u, offset_s, drift_ppm);
}

static int host_vclock_adjust(void *ud, bool step, double step_s, bool drift,
                              double drift_ppm) {
  return p2pc_uv_vclock_adjust(((node_proc *)ud)->u, step, step_s, drift,
                               drift_ppm);
}

/* "keys": the change checked (keyring.c), written to the file, then
 * given to the running node; the ring is the new one only if both
 * happened. The file first: a node whose file could not be written keeps
 * running with what the file says, so a restart changes nothing. */
static int host_keys(void *ud, const char *op, const char *key,
                     char fps[P2PC_KEYRING_MAX][P2PC_CTL_FP_LEN + 1], size_t *n,
                     char *err, size_t cap) {
  node_proc *d = ud;
  const char *path = d->opt->cluster_key_file;
  *n = 0;
  if (!d->ring) {
    snprintf(err, cap, "this node has no cluster key (it runs --open)");
    return -1;
  }
  p2pc_cli_ring *next = sodium_malloc(sizeof *next);
  if (!next) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  memcpy(next, d->ring, sizeof *next);
  bool changed = false;
  char what[80], e[P2PC_KEY_ERR_LEN];
  int rv = p2pc_cli_ring_change(next, op, key, &changed, what, sizeof what, err,
                                cap);
  if (rv == 0 && changed &&
      p2pc_cli_keyring_write(path, true, next->keys, next->n, e, sizeof e)) {
    snprintf(err, cap, "nothing changed: %s", e);
    rv = -1;
  }
  if (rv == 0 && changed &&
      p2pc_uv_keyring_set(d->u, (const uint8_t(*)[32])next->keys, next->n)) {
    /* Not expected (the ring was checked): put the file back. */
    (void)p2pc_cli_keyring_write(path, true, d->ring->keys, d->ring->n, e,
                                 sizeof e);
    snprintf(err, cap, "the node refused the keyring; nothing changed");
    rv = -1;
  }
  if (rv == 0 && changed) {
    memcpy(d->ring, next, sizeof *next);
    logline(d, P2PC_LOG_INFO, "keys: %s (%zu keys in %s)", what, d->ring->n,
            path);
  }
  sodium_free(next);
  if (rv == 0) {
    for (size_t i = 0; i < d->ring->n; i++)
      p2pc_cli_key_fingerprint(d->ring->keys[i], fps[i]);
    *n = d->ring->n;
  }
  return rv;
}

/* ---- start --------------------------------------------------------------- */

static void settings_of(node_proc *d, p2pc_uv_settings *s) {
  const p2pc_daemon_options *o = d->opt;
  p2pc_uv_settings_default(s);
  s->node.id = o->id;
  /* Differs on every start; drives jitter and back-off. */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  s->node.seed = ((uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec) ^
                 ((uint64_t)getpid() << 32) ^ 1;
  if (o->max_peers)
    s->node.max_peers = o->max_peers;
  if (o->causal_lifetime_ns)
    s->node.causal_lifetime_ns = o->causal_lifetime_ns;
/* 0: the default (p2pc_settings_default) stays. */
#define SET(f)                                                                 \
  do {                                                                         \
    if (o->f)                                                                  \
      s->node.f = o->f;                                                        \
  } while (0)
  SET(max_ondemand);
  SET(max_sessions);
  SET(ondemand_idle_ns);
  SET(probe_interval_ns);
  SET(probe_timeout_ns);
  SET(passive_max);
  SET(peers_sample);
  SET(shuffle_interval_ns);
#undef SET
  const p2pc_timesync_config *t = &o->time;
  s->node.clock.enabled = !t->disabled;
  s->node.clock.mode = t->mode;
  s->node.clock.port = t->time_port;
  s->node.clock.priority = t->priority;
  s->node.clock.clock_class = t->clock_class;
  if (t->poll_set) {
    s->node.clock.poll_min = t->poll_min;
    s->node.clock.poll_max = t->poll_max;
  }
  if (t->max_slew > 0)
    s->node.clock.max_slew = t->max_slew;
  if (t->step_threshold_ns)
    s->node.clock.step_threshold_ns = t->step_threshold_ns;
  s->node.logger = (p2pc_logger){on_log, d, o->log_level};
  s->before_output.fn = flush_events;
  s->before_output.ud = d;
  s->listen_host = o->listen_host;
  s->listen_port = o->listen_port;
  s->peers = o->peers;
  s->npeers = o->npeers;
  s->timestamping = (p2pc_uv_timestamping)o->timestamping;
  s->vclock.enabled = o->vclock;
  s->vclock.offset_s = o->clock_offset_s;
  s->vclock.drift_ppm = o->clock_drift_ppm;
  s->chaos.delay_min_ns = (uint64_t)o->chaos_delay_min_ms * 1000000;
  s->chaos.delay_max_ns = (uint64_t)o->chaos_delay_max_ms * 1000000;
  s->chaos.drop = o->chaos_drop;
}

static int start_control(node_proc *d, uint64_t seed) {
  p2pc_ctl_host host = {
      .ud = d,
      .id = d->opt->id,
      .listen_host = d->opt->listen_host,
      .start_mono = d->start_mono,
      .node = host_node,
      .now = host_now,
      .port = host_port,
      .delivered = host_delivered,
      .flush = host_flush,
      .stop = host_stop,
      .format_addr = host_format_addr,
      .io = host_io,
      .vclock_get = host_vclock_get,
      .vclock_adjust = host_vclock_adjust,
      .keys = host_keys,
      .logger = {on_log, d, d->opt->log_level},
  };
  if (p2pc_ctl_server_new(&d->ctl, &d->loop, &host, seed) != 0) {
    fprintf(stderr, "p2pclock node: out of memory\n");
    return -1;
  }
  char err[400];
  const char *path = d->opt->control_path;
  if (path && *path &&
      p2pc_ctl_server_listen(d->ctl, path, err, sizeof err) != 0) {
    fprintf(stderr, "p2pclock node: %s\n", err);
    return -1;
  }
  return 0;
}

static void start_console(node_proc *d) {
  if (!d->opt->console)
    return;
  p2pc_console_host ch = {d,         d->ctl,    d->opt->id, host_stopping,
                          host_stop, host_flush};
  p2pc_console_open(&d->con, &d->loop, &ch, d->opt->listen_host,
                    p2pc_uv_port(d->u));
}

/* The allowlist (docs/SECURITY.md): read, and this node must be on it
 * with its key. 0, or -1 after one line on stderr. */
static int allowlist_settings(node_proc *d, p2pc_uv_settings *s,
                              const unsigned char pk[P2PC_KEY_BYTES],
                              const char *pub) {
  const char *path = d->opt->allowlist;
  char err[300];
  size_t n = 0;
  if (p2pc_cli_allowlist_load(path, &d->members, &n, err, sizeof err) != 0) {
    fprintf(stderr, "p2pclock node: allowlist: %s\n", err);
    return -1;
  }
  const p2pc_member *me = NULL;
  for (size_t i = 0; i < n && !me; i++)
    if (strcmp(d->members[i].id, d->opt->id) == 0)
      me = &d->members[i];
  if (!me || memcmp(me->key, pk, P2PC_KEY_BYTES) != 0) {
    fprintf(stderr,
            "p2pclock node: allowlist %s: this node is %s; add the line "
            "'%s %s' (with 'reference' if it may be the clock's "
            "reference) on every node\n",
            path, me ? "listed with another key" : "not on it", d->opt->id,
            pub);
    free(d->members);
    d->members = NULL;
    return -1;
  }
  size_t refs = 0;
  for (size_t i = 0; i < n; i++)
    refs += (d->members[i].roles & P2PC_ROLE_REFERENCE) != 0;
  s->allow.members = d->members;
  s->allow.n = n;
  logline(d, P2PC_LOG_INFO,
          "node: allowlist %s: %zu members, %zu may be the reference%s", path,
          n, refs,
          me->roles & P2PC_ROLE_REFERENCE
              ? ""
              : " (not this node: it never stands)");
  return 0;
}

/* Secure links (docs/SECURITY.md): with a cluster key file, the node's
 * identity key is loaded (or created on first start: said on stderr) and
 * both go to the binding. 0, or -1 after one line on stderr. */
static int secure_settings(node_proc *d, p2pc_uv_settings *s) {
  const p2pc_daemon_options *o = d->opt;
  bool have = o->cluster_key_file && *o->cluster_key_file;
  bool listed = o->allowlist && *o->allowlist;
  if (o->open && listed) {
    fprintf(stderr, "p2pclock node: --allowlist needs secure links "
                    "(--cluster-key-file), not --open\n");
    return -1;
  }
  if (o->open && have) {
    fprintf(stderr, "p2pclock node: --open and --cluster-key-file exclude "
                    "each other: a network is open or closed\n");
    return -1;
  }
  if (o->open)
    return 0; /* said once the node is up (start) */
  if (!have) {
    fprintf(stderr,
            "p2pclock node: no cluster key: a network is closed to strangers "
            "by default; give --cluster-key-file FILE (p2pclock keygen "
            "--cluster --out FILE, the same file on every node), or --open "
            "for links in clear, open to anyone\n");
    return -1;
  }
  char err[P2PC_KEY_ERR_LEN], path[P2PC_KEY_PATH_MAX + 1];
  d->ring = sodium_init() < 0 ? NULL : sodium_malloc(sizeof *d->ring);
  if (!d->ring) {
    fprintf(stderr, "p2pclock node: out of memory\n");
    return -1;
  }
  if (p2pc_cli_keyring_load(o->cluster_key_file, d->ring->keys, &d->ring->n,
                            err, sizeof err) != 0) {
    fprintf(stderr, "p2pclock node: cluster key: %s\n", err);
    return -1;
  }
  memcpy(s->secure.cluster_key, d->ring->keys[0], sizeof s->secure.cluster_key);
  for (size_t i = 1; i < d->ring->n; i++)
    memcpy(s->secure_ring.keys[i - 1], d->ring->keys[i],
           sizeof s->secure_ring.keys[0]);
  s->secure_ring.n = (uint8_t)(d->ring->n - 1);
  char fp[P2PC_KEY_FP_LEN + 1];
  p2pc_cli_key_fingerprint(d->ring->keys[0], fp);
  if (o->key_file && *o->key_file)
    snprintf(path, sizeof path, "%s", o->key_file);
  else if (p2pc_cli_key_default_path(o->id, path, sizeof path, err,
                                     sizeof err) != 0) {
    fprintf(stderr, "p2pclock node: identity key: %s (give --key FILE)\n", err);
    return -1;
  }
  p2pc_cli_key *k = p2pc_cli_key_new();
  if (!k || p2pc_cli_key_load_or_create(path, k, stderr, err, sizeof err)) {
    fprintf(stderr, "p2pclock node: identity key: %s\n",
            k ? err : "out of memory");
    p2pc_cli_key_free(k);
    return -1;
  }
  memcpy(s->secure.identity, k->sk, sizeof s->secure.identity); /* seed */
  char pub[P2PC_KEY_B64_LEN + 1];
  p2pc_cli_key_b64(k->pk, pub);
  unsigned char pk[P2PC_KEY_BYTES];
  memcpy(pk, k->pk, sizeof pk);
  p2pc_cli_key_free(k);
  if (listed && allowlist_settings(d, s, pk, pub) != 0)
    return -1;
  s->secure.on = true;
  logline(d, P2PC_LOG_INFO,
          "node: secure links (cluster key %s: %zu key%s, primary %s), "
          "identity %s (public key %s)",
          o->cluster_key_file, d->ring->n, d->ring->n == 1 ? "" : "s", fp, path,
          pub);
  return 0;
}

/* NTP symmetric keys (docs/CLOCK.md, "Authentication"): read into *keys
 * (sodium_malloc: locked, wiped at sodium_free; the caller frees it once
 * the node has its copy) and given to the binding. 0, or -1 after one
 * line on stderr. */
static int ntp_key_settings(node_proc *d, p2pc_uv_settings *s,
                            p2pc_ntp_key **keys) {
  const char *path = d->opt->ntp_keys;
  *keys = NULL;
  if (!path || !*path)
    return 0;
  char err[P2PC_KEY_ERR_LEN];
  size_t n = 0;
  *keys = sodium_init() < 0 ? NULL
                            : sodium_malloc(P2PC_NTP_KEYS_MAX * sizeof **keys);
  if (!*keys) {
    fprintf(stderr, "p2pclock node: out of memory\n");
    return -1;
  }
  if (p2pc_cli_ntpkeys_load(path, *keys, &n, err, sizeof err) != 0) {
    fprintf(stderr, "p2pclock node: NTP keys: %s\n", err);
    return -1;
  }
  s->ntp_keys.keys = *keys;
  s->ntp_keys.n = n;
  char ids[80] = "";
  size_t at = 0;
  for (size_t i = 0; i < n && at < sizeof ids - 12; i++)
    at += (size_t)snprintf(ids + at, sizeof ids - at, "%s%lu", i ? "," : "",
                           (unsigned long)(*keys)[i].id);
  logline(d, P2PC_LOG_INFO,
          "node: NTP symmetric keys (RFC 8573) for standard clients: %zu "
          "from %s, key IDs %s%s",
          n, path, ids, at >= sizeof ids - 12 && n > 1 ? "..." : "");
  return 0;
}

/* Opens what the node needs; 0, or -1 after one line on stderr. */
static int start(node_proc *d, uint64_t *seed) {
  const p2pc_daemon_options *opt = d->opt;
  if (opt->events_path && *opt->events_path) {
    d->events = fopen(opt->events_path, "a");
    if (!d->events) {
      fprintf(stderr, "p2pclock node: cannot open event log %s: %s\n",
              opt->events_path, strerror(errno));
      return -1;
    }
    /* Buffered, and flushed before the binding writes anything to a peer
     * (before_output): the log never misses a send a peer already saw,
     * at one write per burst of events, not one per line. */
    setvbuf(d->events, NULL, _IOFBF, 1u << 16);
  }
  p2pc_uv_settings s;
  settings_of(d, &s);
  *seed = s.node.seed;
  p2pc_ntp_key *ntp_keys = NULL;
  if (secure_settings(d, &s) != 0 || ntp_key_settings(d, &s, &ntp_keys) != 0) {
    sodium_memzero(&s.secure, sizeof s.secure);
    sodium_memzero(&s.secure_ring, sizeof s.secure_ring);
    if (ntp_keys)
      sodium_free(ntp_keys); /* wipes */
    return -1;
  }
  d->opening = true;
  int rv = p2pc_uv_open(&d->u, &d->loop, &s, on_event, d);
  d->opening = false;
  if (ntp_keys)
    sodium_free(ntp_keys); /* wipes; the node has its copy */
  sodium_memzero(&s.secure, sizeof s.secure);
  sodium_memzero(&s.secure_ring, sizeof s.secure_ring);
  free(d->members); /* copied by the node */
  d->members = NULL;
  if (rv == 0 && d->opt->open)
    logline(d, P2PC_LOG_WARN,
            "node: links in clear, open to anyone (--open): any process "
            "that reaches this port can join, read and speak for others");
  return rv == 0 ? 0 : -1;
}

int p2pc_daemon_run(const p2pc_daemon_options *opt) {
  node_proc *d = calloc(1, sizeof *d);
  if (!d) {
    fprintf(stderr, "p2pclock node: out of memory\n");
    return 1;
  }
  d->opt = opt;
  d->status = 1;
  uv_loop_init(&d->loop);
  signal(SIGPIPE, SIG_IGN);
  d->start_mono = uv_hrtime();
  uint64_t seed = 1;
  if (start(d, &seed) == 0) {
    if (start_control(d, seed) == 0) {
      uv_signal_init(&d->loop, &d->sigint);
      uv_signal_init(&d->loop, &d->sigterm);
      d->sigint.data = d->sigterm.data = d;
      uv_signal_start(&d->sigint, on_signal, SIGINT);
      uv_signal_start(&d->sigterm, on_signal, SIGTERM);
      uv_signal_init(&d->loop, &d->sighup);
      d->sighup.data = d;
      uv_signal_start(&d->sighup, on_reload, SIGHUP);
      d->signals = true;
      start_console(d);
      write_lifecycle(d, "start");
      d->status = 0;
    } else {
      p2pc_ctl_server_close(d->ctl);
      d->ctl = NULL;
      d->stopping = true;
      p2pc_uv_close(d->u, NULL, NULL);
    }
  }
  /* Until the binding and everything else is closed (a failed start:
   * until what it opened is). */
  uv_run(&d->loop, UV_RUN_DEFAULT);
  uv_loop_close(&d->loop);
  if (d->events)
    fclose(d->events);
  int status = d->status;
  if (d->ring)
    sodium_free(d->ring); /* wipes */
  free(d);
  return status;
}
