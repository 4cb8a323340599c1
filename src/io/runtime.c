/* SPDX-License-Identifier: MIT */
/*
 * The libuv runtime (runtime.h). One loop per node. Each callback reads the
 * clocks once and hands the core what happened (bytes, a new connection, a
 * timer); then pump() carries out what the core asked for: dials and
 * closes, the event-log lines (flushed before any byte leaves the process,
 * so a log never misses a send that a peer already saw), and the output of
 * every link, written with one write per link per turn however many frames
 * it holds. The core's next deadline re-arms the one timer.
 *
 * Clock sync adds a UDP time socket, a plain socket watched with uv_poll
 * because uv_udp hides the control messages that carry the kernel's
 * receive and transmit timestamps, and the node's local clock, which may
 * be virtual: every reading of it, kernel timestamps included, goes
 * through local_of_real().
 */
#define _GNU_SOURCE
#include "runtime.h"

#include "evlog.h"
#include "server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define READ_CHUNK (64 * 1024)
/* The time socket: datagrams read per readable event, error-queue entries
 * read per drain, datagrams sent per turn; a larger datagram is cut (the
 * core refuses anything over P2PC_NTP_PACKET_MAX + 64 anyway). */
#define TIME_RX_BATCH 64
#define TIME_ERRQ_BATCH 64
#define TIME_TX_BATCH 4096
#define TIME_BUF 2048
/* Datagrams whose kernel transmit stamp we still wait for. */
#define TXMAP_LEN 64
/* The virtual clock's offset stays within this many seconds. */
#define VCLOCK_OFFSET_MAX 1e6
#define VCLOCK_DRIFT_MAX 1000.0

typedef enum ts_mode {
  TS_USER,       /* user-space clock readings only */
  TS_KERNEL_RX,  /* SO_TIMESTAMPNS: kernel receive stamps */
  TS_KERNEL_RXTX /* SO_TIMESTAMPING: kernel receive and transmit stamps */
} ts_mode;

static const char *const ts_mode_names[] = {"user", "kernel-rx",
                                            "kernel-rx-tx"};

typedef struct conn conn;
typedef struct p2pc_rt rt;

/* A peer configured by host name (runtime.h): the core knows it by a
 * stand-in address, key, and every dial of it goes through the resolver. */
typedef struct named_seed {
  char host[P2PC_RT_HOST_MAX + 1];
  uint16_t port;
  char id[P2PC_NODE_ID_MAX + 1]; /* configured, or learned; "" if neither */
  p2pc_wire_addr key;            /* what the core dials it as, at first */
  p2pc_wire_addr first;          /* the last lookup's first address */
  p2pc_wire_addr last;           /* the address last dialed (family 0: none) */
  unsigned pick;                 /* which address of several to dial next */
  bool failing;                  /* the last lookup failed (logged) */
} named_seed;

/* One lookup under way, for one DIAL of a named seed. */
typedef struct lookup {
  uv_getaddrinfo_t req;
  rt *r;
  uint32_t seed; /* index into r->named */
  p2pc_action a; /* the DIAL, as the core asked for it */
  struct lookup *prev, *next;
} lookup;

struct conn {
  uv_tcp_t tcp;
  rt *r;
  p2pc_link_id link;
  bool linked; /* the core knows it */
  bool closing;
  bool writing; /* a uv_write is in flight */
  uv_write_t wreq;
  char *wbuf;
  bool outbound;
  p2pc_wire_addr addr; /* as the core knows the dial (a named seed's key) */
  char peer[P2PC_NODE_ID_MAX + 1];
  uint32_t seed; /* 1 + the named seed dialed, 0 for an address */
  uv_connect_t creq;
};

struct p2pc_rt {
  const p2pc_rt_options *opt;
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_timer_t timer;
  uv_timer_t grace;
  uv_signal_t sigint, sigterm;
  p2pc_ctl_server *ctl; /* the commands; listening iff control_path */
  uv_tty_t tty;
  bool tty_open;
  char tty_line[4096];
  size_t tty_len;
  p2pc_node *node;
  conn **conns; /* by link id */
  uint32_t nconns;
  FILE *events;
  char *readbuf;
  bool stopping;
  uint64_t start_mono;
  uint64_t delivered;
  uint64_t rng;
  int status;
  uint16_t port;
  p2pc_now now;
  int64_t now_real; /* the CLOCK_REALTIME reading now.local_ns came from */
  bool now_valid;
  bool in_turn;
  bool stop_requested;
  /* The virtual clock: local = real + vc_offset_ns + drift * (real -
   * vc_base_ns), real being CLOCK_REALTIME. */
  bool vc_on;
  int64_t vc_offset_ns;
  double vc_drift_ppm;
  int64_t vc_base_ns;
  /* The time socket (tfd -1 if none). */
  int tfd;
  int tfamily;
  uint16_t tport;
  ts_mode tsm;
  uv_poll_t tpoll;
  bool tpoll_init;
  uv_timer_t tretry;   /* re-arms the poll after a persistent error */
  unsigned tidle_errs; /* error wake-ups in a row that found nothing */
  uint32_t tx_key;     /* the kernel's OPT_ID key of the next send */
  struct {
    uint32_t key, token; /* token 0: free */
  } txmap[TXMAP_LEN];
  uint32_t txmap_next;
  uint64_t rx_kernel, rx_user, tx_kernel, tx_sent, tx_timed, tx_errors;
  uint64_t poll_errors; /* POLLERR wake-ups (late stamps, socket errors) */
  uint8_t tbuf[TIME_BUF];
  /* Peers configured by name, and their lookups under way (cancelled at
   * exit). */
  named_seed *named;
  uint32_t nnamed;
  lookup *lookups;
};

/* ---- time and logging ------------------------------------------------- */

static int64_t ns_of_timespec(const struct timespec *ts) {
  return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int64_t real_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ns_of_timespec(&ts);
}

/* The one transform from CLOCK_REALTIME to the node's local clock. The
 * drift term is computed in long double (ns since the base times a ppm
 * fits its 64-bit mantissa) and rounded once. */
static int64_t local_of_real(const rt *r, int64_t real_ns) {
  if (!r->vc_on)
    return real_ns;
  long double drift = (long double)r->vc_drift_ppm * 1e-6L *
                      (long double)(real_ns - r->vc_base_ns);
  return real_ns + r->vc_offset_ns + (int64_t)llroundl(drift);
}

/* Both clocks, and the real time the local one was derived from. */
static p2pc_now read_clocks(const rt *r, int64_t *real) {
  *real = real_now();
  p2pc_now now = {.mono_ns = uv_hrtime(), .local_ns = local_of_real(r, *real)};
  return now;
}

int64_t p2pc_rt_local_now(const p2pc_rt *r) {
  return local_of_real(r, real_now());
}

static p2pc_now now_of(rt *r);

/* The virtual clock's offset (local - real), seconds, at this turn's clock
 * reading: local_ns - offset is then exactly the real time of now. */
static double vclock_offset_s(rt *r) {
  p2pc_now now = now_of(r);
  return (double)(now.local_ns - r->now_real) / 1e9;
}

int p2pc_rt_vclock_adjust(p2pc_rt *r, bool step, double step_s, bool drift,
                          double drift_ppm) {
  if (!r->vc_on || (step && !(fabs(step_s) <= VCLOCK_OFFSET_MAX)) ||
      (drift && !(fabs(drift_ppm) <= VCLOCK_DRIFT_MAX)))
    return P2PC_ERR_INVAL;
  /* Re-base at now: the offset absorbs the drift so far, so a new drift
   * takes over without a jump; a step is the only jump. */
  int64_t real = real_now();
  int64_t off = local_of_real(r, real) - real;
  if (step)
    off += llround(step_s * 1e9);
  if (!(fabs((double)off) <= VCLOCK_OFFSET_MAX * 1e9))
    return P2PC_ERR_INVAL;
  r->vc_offset_ns = off;
  r->vc_base_ns = real;
  if (drift)
    r->vc_drift_ppm = drift_ppm;
  r->now_valid = false; /* the rest of this turn sees the new clock */
  return 0;
}

static const char *level_name(p2pc_log_level lv) {
  static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
  return lv <= P2PC_LOG_DEBUG ? names[lv] : "?";
}

static void logline(const rt *r, p2pc_log_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "<UTC time> <node> <LEVEL> <module>: text" (docs/DESIGN.md). */
static void logline(const rt *r, p2pc_log_level lv, const char *fmt, ...) {
  if (lv > r->opt->log_level)
    return;
  struct timespec ts;
  struct tm tm;
  char when[40];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s.%06ldZ %s %s ", when, ts.tv_nsec / 1000, r->opt->id,
          level_name(lv));
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* The clocks are read once per loop turn: the first time a callback needs
 * them; pump() ends the turn (curl's lesson: one "now" per turn). */
static p2pc_now now_of(rt *r) {
  if (!r->now_valid) {
    r->now = read_clocks(r, &r->now_real);
    r->now_valid = true;
  }
  return r->now;
}

p2pc_now p2pc_rt_now(p2pc_rt *r) { return now_of(r); }

/* ---- core callbacks --------------------------------------------------- */

static void on_deliver(void *ud, const char *from, const char *msg,
                       const uint8_t *payload, size_t len) {
  rt *r = ud;
  r->delivered++;
  const p2pc_rt_app *app = r->opt->app;
  if (app && app->deliver)
    app->deliver(r, app->ud, from, msg, payload, len);
  if (r->opt->console)
    printf("[+] %s from %s: %.*s\n", msg, from, (int)(len > 200 ? 200 : len),
           (const char *)payload);
}

static void on_event(void *ud, const char *line, size_t len) {
  rt *r = ud;
  fwrite(line, 1, len, r->events);
  fputc('\n', r->events);
}

static void on_log(void *ud, p2pc_log_level lv, const char *text) {
  logline(ud, lv, "%s", text);
}

/* ---- addresses -------------------------------------------------------- */

static int parse_addr(const char *host, uint16_t port, p2pc_wire_addr *wa,
                      struct sockaddr_storage *ss) {
  memset(wa, 0, sizeof *wa);
  memset(ss, 0, sizeof *ss);
  if (strcmp(host, "localhost") == 0)
    host = "127.0.0.1";
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
  if (uv_ip4_addr(host, port, s4) == 0) {
    wa->family = 4;
    memcpy(wa->addr, &s4->sin_addr, 4);
  } else if (uv_ip6_addr(host, port, s6) == 0) {
    wa->family = 6;
    memcpy(wa->addr, &s6->sin6_addr, 16);
  } else {
    return UV_EINVAL;
  }
  wa->port = port;
  return 0;
}

static bool wire_addr_eq(const p2pc_wire_addr *x, const p2pc_wire_addr *y) {
  size_t n = x->family == 4 ? 4 : 16;
  return x->family == y->family && x->port == y->port &&
         (x->family == 0 || memcmp(x->addr, y->addr, n) == 0);
}

/* The wire form of a resolved address, with port. False if it is neither
 * IPv4 nor IPv6. */
static bool sockaddr_to_wire(const struct sockaddr *sa, uint16_t port,
                             p2pc_wire_addr *wa, struct sockaddr_storage *ss) {
  memset(wa, 0, sizeof *wa);
  memset(ss, 0, sizeof *ss);
  if (sa->sa_family == AF_INET) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    memcpy(s4, sa, sizeof *s4);
    s4->sin_port = htons(port);
    wa->family = 4;
    memcpy(wa->addr, &s4->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    memcpy(s6, sa, sizeof *s6);
    s6->sin6_port = htons(port);
    wa->family = 6;
    memcpy(wa->addr, &s6->sin6_addr, 16);
  } else {
    return false;
  }
  wa->port = port;
  return true;
}

/* Address number pick (modulo their count) of a lookup's answer, and the
 * first one in *first. Returns how many IPv4 and IPv6 addresses it has. */
static unsigned pick_addr(const struct addrinfo *res, unsigned pick,
                          uint16_t port, p2pc_wire_addr *first,
                          p2pc_wire_addr *wa, struct sockaddr_storage *ss) {
  unsigned n = 0;
  for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
    if (ai->ai_addr && sockaddr_to_wire(ai->ai_addr, port, wa, ss) && !n++)
      *first = *wa;
  if (n == 0)
    return 0;
  unsigned k = pick % n;
  for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
    if (ai->ai_addr && sockaddr_to_wire(ai->ai_addr, port, wa, ss) && !k--)
      break;
  return n;
}

static const struct addrinfo lookup_hints = {.ai_family = AF_UNSPEC,
                                             .ai_socktype = SOCK_STREAM};

/* The listen host by name, once at start. Nothing runs on the loop yet,
 * so there is nothing this lookup could hold up: it is made synchronously
 * (uv_getaddrinfo without a callback). Returns 0, or -1 after one line. */
static int resolve_listen(rt *r, const char *host, uint16_t port,
                          p2pc_wire_addr *wa, struct sockaddr_storage *ss) {
  uv_getaddrinfo_t req;
  p2pc_wire_addr first;
  int rv = uv_getaddrinfo(&r->loop, &req, NULL, host, NULL, &lookup_hints);
  if (rv < 0) {
    fprintf(stderr, "p2pclock node: cannot resolve the listen host %s: %s\n",
            host, uv_strerror(rv));
    return -1;
  }
  unsigned n = pick_addr(req.addrinfo, 0, port, &first, wa, ss);
  uv_freeaddrinfo(req.addrinfo);
  if (n == 0) {
    fprintf(stderr,
            "p2pclock node: the listen host %s has no IPv4 or IPv6 address\n",
            host);
    return -1;
  }
  return 0;
}

/* The address the core knows a named seed by until it learns the node's
 * own (its HELLO): in 100::/64, the IPv6 discard-only prefix (RFC 6666),
 * so it can reach nothing, with "p2pc" and the seed's index after it. The
 * runtime never dials it; a DIAL of it is a dial of the seed, by name. */
static void seed_key(uint32_t i, uint16_t port, p2pc_wire_addr *wa) {
  static const uint8_t tag[4] = {'p', '2', 'p', 'c'};
  memset(wa, 0, sizeof *wa);
  wa->family = 6;
  wa->addr[0] = 0x01;
  memcpy(wa->addr + 8, tag, 4);
  wa->addr[12] = (uint8_t)(i >> 24);
  wa->addr[13] = (uint8_t)(i >> 16);
  wa->addr[14] = (uint8_t)(i >> 8);
  wa->addr[15] = (uint8_t)i;
  wa->port = port;
}

/* An address as the logs and the control socket show it; a named seed's
 * stand-in shows as its name. */
static void format_addr(const rt *r, const p2pc_wire_addr *a, char *s,
                        size_t cap) {
  for (uint32_t i = 0; i < r->nnamed; i++) {
    if (wire_addr_eq(a, &r->named[i].key)) {
      snprintf(s, cap, "%s:%u", r->named[i].host, (unsigned)a->port);
      return;
    }
  }
  p2pc_node_addr_format(a, s, cap);
}

static void wire_to_sockaddr(const p2pc_wire_addr *wa,
                             struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (wa->family == 4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(wa->port);
    memcpy(&s4->sin_addr, wa->addr, 4);
  } else {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(wa->port);
    memcpy(&s6->sin6_addr, wa->addr, 16);
  }
}

/* ---- connections ------------------------------------------------------ */

static void pump(rt *r);

static void on_conn_closed(uv_handle_t *h) {
  conn *c = h->data;
  free(c->wbuf);
  free(c);
}

static void conn_close(conn *c) {
  if (c->closing)
    return;
  c->closing = true;
  rt *r = c->r;
  if (c->linked) {
    c->linked = false;
    r->conns[c->link] = NULL;
    p2pc_node_link_closed(r->node, c->link, now_of(r));
  }
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  conn *c = h->data;
  buf->base = c->r->readbuf;
  buf->len = READ_CHUNK;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = s->data;
  rt *r = c->r;
  if (nread < 0) {
    if (nread != UV_EOF)
      logline(r, P2PC_LOG_DEBUG, "link: read: %s", uv_strerror((int)nread));
    conn_close(c);
  } else if (nread > 0 && c->linked) {
    p2pc_node_link_input(r->node, c->link, (const uint8_t *)buf->base,
                         (size_t)nread, now_of(r));
  }
  pump(r);
}

static void link_conn(rt *r, conn *c) {
  if (p2pc_node_link_new(r->node, c->outbound, c->peer,
                         c->outbound ? &c->addr : NULL, now_of(r),
                         &c->link) != 0) {
    logline(r, P2PC_LOG_WARN, "link: too many connections; refusing one");
    conn_close(c);
    return;
  }
  if (c->link >= r->nconns) {
    uint32_t n = c->link + 16;
    conn **x = realloc(r->conns, n * sizeof *x);
    if (!x) {
      p2pc_node_link_closed(r->node, c->link, now_of(r));
      conn_close(c);
      return;
    }
    memset(x + r->nconns, 0, (n - r->nconns) * sizeof *x);
    r->conns = x;
    r->nconns = n;
  }
  r->conns[c->link] = c;
  c->linked = true;
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_connect(uv_connect_t *req, int status) {
  conn *c = req->data;
  rt *r = c->r;
  if (c->closing)
    return; /* closed at exit while connecting: the close frees it */
  if (status < 0 || r->stopping) {
    if (status < 0)
      logline(r, P2PC_LOG_DEBUG, "link: dial %s%s%s failed: %s",
              c->peer[0] ? c->peer : "seed", c->seed ? " at " : "",
              c->seed ? r->named[c->seed - 1].host : "", uv_strerror(status));
    /* A name with several addresses: the next dial tries the next one. */
    if (status < 0 && c->seed)
      r->named[c->seed - 1].pick++;
    p2pc_node_dial_failed(r->node, &c->addr, c->peer, now_of(r));
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  } else {
    link_conn(r, c);
  }
  pump(r);
}

/* Opens the connection the DIAL a asked for, to the address to (a's own,
 * or what a named seed resolved to); seed is 1 + that seed, or 0. The
 * core hears of it under a's address either way. */
static void connect_to(rt *r, const p2pc_action *a,
                       const struct sockaddr_storage *to, uint32_t seed) {
  conn *c = calloc(1, sizeof *c);
  if (!c) {
    p2pc_node_dial_failed(r->node, &a->addr, a->peer, now_of(r));
    return;
  }
  c->r = r;
  c->outbound = true;
  c->addr = a->addr;
  c->seed = seed;
  memcpy(c->peer, a->peer, sizeof c->peer);
  uv_tcp_init(&r->loop, &c->tcp);
  c->tcp.data = c;
  c->creq.data = c;
  int rv = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)to,
                          on_connect);
  if (rv < 0) {
    p2pc_node_dial_failed(r->node, &a->addr, a->peer, now_of(r));
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  }
}

/* The named seed a DIAL is a dial of (runtime.h), or NULL: its stand-in
 * address, its ID, or the address its name last took us to (unless the
 * DIAL names another node than the seed's). A dial of that address that
 * names a peer tells a seed configured without an ID whose it is. */
static named_seed *seed_of_dial(rt *r, const p2pc_action *a) {
  for (uint32_t i = 0; i < r->nnamed; i++) {
    named_seed *s = &r->named[i];
    if (wire_addr_eq(&a->addr, &s->key) ||
        (a->peer[0] && strcmp(a->peer, s->id) == 0))
      return s;
  }
  for (uint32_t i = 0; i < r->nnamed; i++) {
    named_seed *s = &r->named[i];
    if (s->last.family && wire_addr_eq(&a->addr, &s->last) &&
        !(a->peer[0] && s->id[0])) {
      if (a->peer[0] && !s->id[0])
        memcpy(s->id, a->peer, sizeof s->id);
      return s;
    }
  }
  return NULL;
}

static void lookup_unlink(rt *r, lookup *q) {
  if (q->prev)
    q->prev->next = q->next;
  else
    r->lookups = q->next;
  if (q->next)
    q->next->prev = q->prev;
}

static void lookup_failed(rt *r, named_seed *s, const p2pc_action *a,
                          int status) {
  /* Once per run of failures: the core retries with back-off, and every
   * retry would say the same. */
  logline(r, s->failing ? P2PC_LOG_DEBUG : P2PC_LOG_WARN,
          "link: cannot resolve %s: %s; dialing it again with back-off",
          s->host, uv_strerror(status));
  s->failing = true;
  p2pc_node_dial_failed(r->node, &a->addr, a->peer, now_of(r));
}

static void on_lookup(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  lookup *q = req->data;
  rt *r = q->r;
  named_seed *s = &r->named[q->seed];
  lookup_unlink(r, q);
  if (r->stopping) { /* the node is going: no more dials */
    uv_freeaddrinfo(res);
    free(q);
    return;
  }
  p2pc_wire_addr first, wa;
  struct sockaddr_storage ss;
  unsigned n =
      status < 0 ? 0 : pick_addr(res, s->pick, s->port, &first, &wa, &ss);
  uv_freeaddrinfo(res);
  if (n == 0) {
    lookup_failed(r, s, &q->a, status < 0 ? status : UV_EAI_NODATA);
  } else {
    char now_s[64], was_s[64];
    p2pc_node_addr_format(&first, now_s, sizeof now_s);
    p2pc_node_addr_format(&s->first, was_s, sizeof was_s);
    bool moved = s->first.family && !wire_addr_eq(&first, &s->first);
    if (s->failing && moved)
      logline(r, P2PC_LOG_INFO, "link: %s resolves again, now to %s (was %s)",
              s->host, now_s, was_s);
    else if (s->failing)
      logline(r, P2PC_LOG_INFO, "link: %s resolves again, to %s", s->host,
              now_s);
    else if (!s->first.family)
      logline(r, P2PC_LOG_INFO, "link: %s resolves to %s", s->host, now_s);
    else if (moved)
      logline(r, P2PC_LOG_INFO, "link: %s now resolves to %s (was %s)", s->host,
              now_s, was_s);
    s->failing = false;
    s->first = first;
    s->last = wa;
    p2pc_node_addr_format(&wa, now_s, sizeof now_s);
    logline(r, P2PC_LOG_DEBUG, "link: dialing %s at %s", s->host, now_s);
    connect_to(r, &q->a, &ss, q->seed + 1);
  }
  free(q);
  pump(r);
}

/* Carries out a DIAL: at once for an address, after a lookup for a named
 * seed. */
static void dial(rt *r, const p2pc_action *a) {
  named_seed *s = seed_of_dial(r, a);
  if (!s) {
    struct sockaddr_storage ss;
    wire_to_sockaddr(&a->addr, &ss);
    connect_to(r, a, &ss, 0);
    return;
  }
  lookup *q = calloc(1, sizeof *q);
  if (!q) {
    p2pc_node_dial_failed(r->node, &a->addr, a->peer, now_of(r));
    return;
  }
  q->r = r;
  q->seed = (uint32_t)(s - r->named);
  q->a = *a;
  q->req.data = q;
  int rv = uv_getaddrinfo(&r->loop, &q->req, on_lookup, s->host, NULL,
                          &lookup_hints);
  if (rv < 0) {
    free(q);
    lookup_failed(r, s, a, rv);
    return;
  }
  q->next = r->lookups;
  if (q->next)
    q->next->prev = q;
  r->lookups = q;
}

static void on_connection(uv_stream_t *server, int status) {
  rt *r = server->data;
  if (status < 0)
    return;
  conn *c = calloc(1, sizeof *c);
  if (!c)
    return;
  c->r = r;
  uv_tcp_init(&r->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    return;
  }
  if (r->stopping) {
    conn_close(c);
    return;
  }
  link_conn(r, c);
  pump(r);
}

static void on_written(uv_write_t *req, int status) {
  conn *c = req->data;
  c->writing = false;
  if (status < 0) {
    conn_close(c);
  }
  pump(c->r);
}

/* Hands a link's pending output to the kernel: try_write first (loopback
 * usually takes it all at once), the rest by one async write. */
static void flush_conn(rt *r, conn *c) {
  if (c->writing || c->closing || !c->linked)
    return;
  const uint8_t *p;
  size_t len;
  p2pc_node_link_output(r->node, c->link, &p, &len);
  if (!len)
    return;
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == UV_EAGAIN)
    n = 0;
  if (n < 0) {
    conn_close(c);
    return;
  }
  p2pc_node_link_consume(r->node, c->link, (size_t)n);
  p2pc_node_link_output(r->node, c->link, &p, &len);
  if (!len)
    return;
  /* The core's buffer may move as it grows: write from our own copy. */
  char *copy = realloc(c->wbuf, len);
  if (!copy)
    return;
  c->wbuf = copy;
  memcpy(copy, p, len);
  p2pc_node_link_consume(r->node, c->link, len);
  b = uv_buf_init(copy, (unsigned)len);
  c->wreq.data = c;
  if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) == 0)
    c->writing = true;
  else
    conn_close(c);
}

/* ---- the time socket ---------------------------------------------------- */

static void put_be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

/* A v4-mapped IPv6 source (a dual-stack socket) is an IPv4 peer to the
 * core, as it is on the TCP side. */
static bool wire_of_sockaddr(const struct sockaddr_storage *ss,
                             p2pc_wire_addr *wa) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  memset(wa, 0, sizeof *wa);
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    wa->family = 4;
    memcpy(wa->addr, &s4->sin_addr, 4);
    wa->port = ntohs(s4->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    if (memcmp(s6->sin6_addr.s6_addr, mapped, 12) == 0) {
      wa->family = 4;
      memcpy(wa->addr, s6->sin6_addr.s6_addr + 12, 4);
    } else {
      wa->family = 6;
      memcpy(wa->addr, &s6->sin6_addr, 16);
    }
    wa->port = ntohs(s6->sin6_port);
  } else {
    return false;
  }
  return true;
}

/* Where to send to wa from our socket: an IPv4 peer of an IPv6 socket is
 * reached through its v4-mapped address. False if the families cannot
 * meet. */
static bool sockaddr_for_time(const rt *r, const p2pc_wire_addr *wa,
                              struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (r->tfamily == AF_INET && wa->family == 4) {
    wire_to_sockaddr(wa, ss);
    *len = sizeof(struct sockaddr_in);
  } else if (r->tfamily == AF_INET6 && wa->family == 6) {
    wire_to_sockaddr(wa, ss);
    *len = sizeof(struct sockaddr_in6);
  } else if (r->tfamily == AF_INET6 && wa->family == 4) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(wa->port);
    s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(s6->sin6_addr.s6_addr + 12, wa->addr, 4);
    *len = sizeof *s6;
  } else {
    return false;
  }
  return true;
}

#define TS_FLAGS_BASE                                                          \
  (SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_TX_SOFTWARE |               \
   SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_TSONLY)

/* Turns OPT_ID off and on again: the kernel then numbers the next send 0.
 * After a failed send nobody can tell whether the kernel used up a key,
 * so the count restarts rather than drift and pin stamps on the wrong
 * datagrams. */
static void reset_tx_keys(rt *r) {
  int off = TS_FLAGS_BASE, on = TS_FLAGS_BASE | SOF_TIMESTAMPING_OPT_ID;
  if (setsockopt(r->tfd, SOL_SOCKET, SO_TIMESTAMPING, &off, sizeof off) < 0 ||
      setsockopt(r->tfd, SOL_SOCKET, SO_TIMESTAMPING, &on, sizeof on) < 0)
    logline(r, P2PC_LOG_WARN, "time: cannot reset SO_TIMESTAMPING: %s",
            strerror(errno));
  r->tx_key = 0;
  memset(r->txmap, 0, sizeof r->txmap);
}

static void remember_tx(rt *r, uint32_t key, uint32_t token) {
  r->txmap[r->txmap_next].key = key;
  r->txmap[r->txmap_next].token = token;
  r->txmap_next = (r->txmap_next + 1) % TXMAP_LEN;
}

/* A kernel transmit stamp for the send numbered key. */
static void tx_stamped(rt *r, uint32_t key, const struct timespec *ts) {
  for (uint32_t i = 0; i < TXMAP_LEN; i++) {
    if (r->txmap[i].token && r->txmap[i].key == key) {
      uint32_t token = r->txmap[i].token;
      r->txmap[i].token = 0;
      r->tx_kernel++;
      p2pc_node_time_sent(r->node, token, local_of_real(r, ns_of_timespec(ts)),
                          true, now_of(r));
      return;
    }
  }
}

/* Reads the error queue: the kernel's transmit stamps. Returns how many
 * entries it read. */
static int drain_errqueue(rt *r) {
  int got = 0;
  if (r->tfd < 0)
    return 0;
  while (got < TIME_ERRQ_BATCH) {
    union {
      char buf[CMSG_SPACE(sizeof(struct scm_timestamping)) +
               CMSG_SPACE(sizeof(struct sock_extended_err) +
                          sizeof(struct sockaddr_in6)) +
               64];
      struct cmsghdr align;
    } ctl;
    char data[64];
    struct iovec iov = {data, sizeof data};
    struct msghdr m = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
    ssize_t n = recvmsg(r->tfd, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break; /* EAGAIN: empty */
    }
    got++;
    struct scm_timestamping tss;
    struct sock_extended_err ee;
    bool have_ts = false, have_ee = false;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING &&
          c->cmsg_len >= CMSG_LEN(sizeof tss)) {
        memcpy(&tss, CMSG_DATA(c), sizeof tss);
        have_ts = true;
      } else if (((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                  (c->cmsg_level == SOL_IPV6 &&
                   c->cmsg_type == IPV6_RECVERR)) &&
                 c->cmsg_len >= CMSG_LEN(sizeof ee)) {
        memcpy(&ee, CMSG_DATA(c), sizeof ee);
        have_ee = true;
      }
    }
    if (have_ts && have_ee && ee.ee_errno == ENOMSG &&
        ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING &&
        ee.ee_info == SCM_TSTAMP_SND && (tss.ts[0].tv_sec || tss.ts[0].tv_nsec))
      tx_stamped(r, ee.ee_data, &tss.ts[0]);
  }
  return got;
}

/* Reads what arrived (bounded; the poll is level-triggered, so what is
 * left wakes the next turn) and hands it to the core with its receive
 * time on the local clock. */
static void time_read(rt *r) {
  for (int i = 0; i < TIME_RX_BATCH; i++) {
    union {
      char buf[CMSG_SPACE(sizeof(struct scm_timestamping)) +
               CMSG_SPACE(sizeof(struct timespec)) + 64];
      struct cmsghdr align;
    } ctl;
    struct sockaddr_storage from;
    struct iovec iov = {r->tbuf, sizeof r->tbuf};
    struct msghdr m = {.msg_name = &from,
                       .msg_namelen = sizeof from,
                       .msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
    ssize_t n = recvmsg(r->tfd, &m, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        logline(r, P2PC_LOG_DEBUG, "time: recvmsg: %s", strerror(errno));
      return;
    }
    int64_t real = real_now(); /* the user-space stamp, if no better */
    bool kernel = false;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      struct timespec ts[3];
      if (c->cmsg_level != SOL_SOCKET)
        continue;
      if (c->cmsg_type == SCM_TIMESTAMPING &&
          c->cmsg_len >= CMSG_LEN(sizeof ts)) {
        memcpy(ts, CMSG_DATA(c), sizeof ts); /* ts[0]: the software stamp */
      } else if (c->cmsg_type == SCM_TIMESTAMPNS &&
                 c->cmsg_len >= CMSG_LEN(sizeof ts[0])) {
        memcpy(ts, CMSG_DATA(c), sizeof ts[0]);
      } else {
        continue;
      }
      if (ts[0].tv_sec || ts[0].tv_nsec) {
        real = ns_of_timespec(&ts[0]);
        kernel = true;
      }
    }
    p2pc_wire_addr wa;
    if (!wire_of_sockaddr(&from, &wa))
      continue;
    if (kernel)
      r->rx_kernel++;
    else
      r->rx_user++;
    /* n is at most the buffer: a longer datagram comes in cut, and at
     * that length the core refuses it. */
    p2pc_node_time_input(r->node, &wa, r->tbuf, (size_t)n,
                         local_of_real(r, real), kernel, now_of(r));
  }
}

static void send_datagram(rt *r, p2pc_datagram *d) {
  struct sockaddr_storage ss;
  socklen_t sl;
  if (!sockaddr_for_time(r, &d->to, &ss, &sl) || d->len > sizeof d->data) {
    r->tx_errors++;
    return;
  }
  struct iovec iov = {d->data, d->len};
  struct msghdr m = {
      .msg_name = &ss, .msg_namelen = sl, .msg_iov = &iov, .msg_iovlen = 1};
  /* The user-space transmit time: read as late as possible. */
  int64_t local = local_of_real(r, real_now());
  if (d->stamp_xmt && d->len >= P2PC_NTP_XMT_OFFSET + 8)
    put_be64(d->data + P2PC_NTP_XMT_OFFSET,
             p2pc_ntp_ts_from_ns(local + d->xmt_corr));
  ssize_t n;
  do
    n = sendmsg(r->tfd, &m, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    r->tx_errors++;
    if (r->tx_errors < 10 || r->tx_errors % 1000 == 0)
      logline(r, P2PC_LOG_DEBUG, "time: sendmsg: %s (%llu send errors)",
              strerror(errno), (unsigned long long)r->tx_errors);
    if (r->tsm == TS_KERNEL_RXTX) {
      drain_errqueue(r);
      reset_tx_keys(r);
    }
    return;
  }
  uint32_t key = r->tx_key++;
  r->tx_sent++;
  if (d->token) {
    r->tx_timed++;
    p2pc_node_time_sent(r->node, d->token, local, false, now_of(r));
  }
  if (r->tsm == TS_KERNEL_RXTX) {
    if (d->token)
      remember_tx(r, key, d->token);
    /* Every send is stamped (answers too): take the stamp now, on
     * loopback it is already there, rather than wake up for it. */
    drain_errqueue(r);
  }
}

/* Sends what the core queued (from pump, once per turn). */
static void time_flush(rt *r) {
  p2pc_datagram d;
  bool drained = false;
  for (int i = 0; i < TIME_TX_BATCH && p2pc_node_pop_datagram(r->node, &d);
       i++) {
    if (r->tfd < 0)
      continue; /* no time socket: nothing can go out */
    if (!drained && r->tsm == TS_KERNEL_RXTX) {
      drain_errqueue(r); /* late stamps of earlier sends first */
      drained = true;
    }
    send_datagram(r, &d);
  }
}

static void on_time_poll(uv_poll_t *h, int status, int events);

static void time_poll_start(rt *r) {
  if (r->tfd >= 0 && !uv_is_closing((uv_handle_t *)&r->tpoll))
    uv_poll_start(&r->tpoll, UV_READABLE, on_time_poll);
}

static void on_time_retry(uv_timer_t *t) {
  rt *r = t->data;
  time_poll_start(r);
}

static void on_time_poll(uv_poll_t *h, int status, int events) {
  rt *r = h->data;
  if (status < 0) {
    /* libuv reports POLLERR as UV_EBADF and stops the poll. POLLERR here
     * means transmit stamps waiting on the error queue (or a pending
     * socket error): take them, then watch again. If there was nothing
     * to take, the condition is something else, and re-arming at once
     * would spin: after a few such wake-ups, wait a little. */
    r->poll_errors++;
    int got = drain_errqueue(r);
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(r->tfd, SOL_SOCKET, SO_ERROR, &soerr, &sl); /* clears it */
    time_read(r);
    if (got > 0 || soerr != 0 || ++r->tidle_errs < 3) {
      if (got > 0 || soerr != 0)
        r->tidle_errs = 0;
      time_poll_start(r);
    } else {
      r->tidle_errs = 0;
      logline(r, P2PC_LOG_DEBUG, "time: socket error condition persists");
      uv_timer_start(&r->tretry, on_time_retry, 10, 0);
    }
  } else if (events & UV_READABLE) {
    r->tidle_errs = 0;
    time_read(r);
  }
  pump(r);
}

/* Opens the time socket on host:port with the best timestamping the
 * kernel gives. Returns 0, or -errno (nothing left open). */
static int open_time_socket(rt *r, const p2pc_wire_addr *host, uint16_t port) {
  p2pc_wire_addr wa = *host;
  struct sockaddr_storage ss;
  wa.port = port;
  wire_to_sockaddr(&wa, &ss);
  int family = wa.family == 4 ? AF_INET : AF_INET6;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  socklen_t sl = family == AF_INET ? sizeof(struct sockaddr_in)
                                   : sizeof(struct sockaddr_in6);
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  struct sockaddr_storage bound;
  sl = sizeof bound;
  p2pc_wire_addr bw;
  if (getsockname(fd, (struct sockaddr *)&bound, &sl) == 0 &&
      wire_of_sockaddr(&bound, &bw))
    port = bw.port;
  int flags = TS_FLAGS_BASE | SOF_TIMESTAMPING_OPT_ID, one = 1;
  int want = r->opt->timestamping;
  if (want == 0 &&
      setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) == 0)
    r->tsm = TS_KERNEL_RXTX;
  else if (want <= 1 &&
           setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) == 0)
    r->tsm = TS_KERNEL_RX;
  else
    r->tsm = TS_USER;
  int rv = uv_poll_init(&r->loop, &r->tpoll, fd);
  if (rv < 0) {
    close(fd);
    return rv;
  }
  r->tpoll.data = r;
  r->tpoll_init = true;
  r->tfd = fd;
  r->tfamily = family;
  r->tport = port;
  time_poll_start(r);
  return 0;
}

/* ---- the pump ----------------------------------------------------------- */

static void on_timer(uv_timer_t *t);
static void begin_stop(rt *r);

static void pump(rt *r) {
  p2pc_action a;
  const p2pc_rt_app *app = r->opt->app;
  if (app && app->turn && !r->in_turn && !r->stopping) {
    r->in_turn = true; /* a send inside the hook must not recurse here */
    app->turn(r, app->ud);
    r->in_turn = false;
  }
  if (r->stop_requested && !r->stopping)
    begin_stop(r);
  while (p2pc_node_pop_action(r->node, &a)) {
    if (a.kind == P2PC_ACT_DIAL) {
      if (!r->stopping)
        dial(r, &a);
      else
        p2pc_node_dial_failed(r->node, &a.addr, a.peer, now_of(r));
    } else if (a.link < r->nconns && r->conns[a.link]) {
      conn *c = r->conns[a.link];
      flush_conn(r, c); /* a last ERROR frame, if any */
      conn_close(c);
    } else {
      p2pc_node_link_closed(r->node, a.link, now_of(r));
    }
  }
  if (r->events)
    fflush(r->events);
  for (uint32_t i = 0; i < r->nconns; i++)
    if (r->conns[i])
      flush_conn(r, r->conns[i]);
  time_flush(r);
  if (r->events)
    fflush(r->events);  /* what the sends logged */
  r->now_valid = false; /* the turn is over */
  /* At least 1 ms: libuv (1.44) runs a timer re-armed with 0 again in the
   * same pass, before any I/O, so a deadline already due would spin. */
  uint64_t d = p2pc_node_next_deadline(r->node), now = uv_hrtime();
  uint64_t ms = d == UINT64_MAX ? 1000
                : d <= now      ? 0
                                : (d - now + 999999) / 1000000;
  if (ms < 1)
    ms = 1;
  if (ms > 1000)
    ms = 1000;
  uv_timer_start(&r->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t) {
  rt *r = t->data;
  p2pc_node_on_deadline(r->node, now_of(r));
  pump(r);
}

/* ---- the control server's host (src/ctl/server.h) ----------------------- */

static void begin_stop(rt *r);

static p2pc_node *host_node(void *ud) { return ((rt *)ud)->node; }
static p2pc_now host_now(void *ud) { return now_of(ud); }
static uint16_t host_port(void *ud) { return ((rt *)ud)->port; }
static uint64_t host_delivered(void *ud) { return ((rt *)ud)->delivered; }
static void host_flush(void *ud) { pump(ud); }
static void host_stop(void *ud) { begin_stop(ud); }

static void host_format_addr(void *ud, const p2pc_addr *a, char *s,
                             size_t cap) {
  format_addr(ud, a, s, cap);
}

static void host_io(void *ud, p2pc_ctl_io *io) {
  rt *r = ud;
  io->timestamping = r->tfd >= 0 ? ts_mode_names[r->tsm] : "none";
  io->time_port = r->tfd >= 0 ? r->tport : 0;
  io->rx_kernel = r->rx_kernel;
  io->rx_user = r->rx_user;
  io->tx_kernel = r->tx_kernel;
  io->tx = r->tx_sent;
  io->tx_timed = r->tx_timed;
  io->tx_errors = r->tx_errors;
  io->poll_errors = r->poll_errors;
}

static bool host_vclock_get(void *ud, double *offset_s, double *drift_ppm) {
  rt *r = ud;
  if (!r->vc_on)
    return false;
  *offset_s = vclock_offset_s(r);
  *drift_ppm = r->vc_drift_ppm;
  return true;
}

static int host_vclock_adjust(void *ud, bool step, double step_s, bool drift,
                              double drift_ppm) {
  return p2pc_rt_vclock_adjust(ud, step, step_s, drift, drift_ppm);
}

/* ---- the console ------------------------------------------------------------
 */

static const char console_help[] =
    "commands:\n"
    "  help                 this list\n"
    "  status               this node's counters\n"
    "  peers                the peer table\n"
    "  tracking             the clock synchronization state\n"
    "  sources              the time sources\n"
    "  send ID TEXT         send TEXT to node ID\n"
    "  broadcast TEXT       send TEXT to every peer (and to self)\n"
    "  simulate N           N messages to random peers\n"
    "  quit                 stop the node\n";

static void console_line(rt *r, char *line) {
  char *cmd = strtok(line, " \t");
  if (!cmd)
    return;
  char *rest = strtok(NULL, "");
  cJSON *req = cJSON_CreateObject();
  if (strcmp(cmd, "help") == 0) {
    fputs(console_help, stdout);
    cJSON_Delete(req);
    return;
  }
  if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0)
    cmd = "stop";
  cJSON_AddStringToObject(req, "cmd", cmd);
  if (strcmp(cmd, "send") == 0 && rest) {
    char *to = strtok(rest, " \t");
    char *text = strtok(NULL, "");
    if (to)
      cJSON_AddStringToObject(req, "to", to);
    if (text)
      cJSON_AddStringToObject(req, "text", text);
  } else if (strcmp(cmd, "broadcast") == 0 && rest) {
    cJSON_AddStringToObject(req, "text", rest);
  } else if (strcmp(cmd, "simulate") == 0 && rest) {
    cJSON_AddNumberToObject(req, "count", atof(rest));
  }
  cJSON *ans = p2pc_ctl_server_command(r->ctl, req);
  cJSON_Delete(req);
  const cJSON *ok = cJSON_GetObjectItemCaseSensitive(ans, "ok");
  if (!cJSON_IsTrue(ok)) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(ans, "error");
    printf("error: %s\n", cJSON_IsString(e) ? e->valuestring : "?");
  } else if (strcmp(cmd, "peers") == 0) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(ans, "peers");
    const cJSON *p;
    printf("%-12s %-8s %-22s %8s %8s\n", "ID", "STATE", "ADDR", "SENT",
           "DELIVERED");
    cJSON_ArrayForEach(p, arr) {
      printf("%-12s %-8s %-22s %8.0f %8.0f\n",
             cJSON_GetObjectItem(p, "id")->valuestring,
             cJSON_GetObjectItem(p, "state")->valuestring,
             cJSON_GetObjectItem(p, "addr")->valuestring,
             cJSON_GetObjectItem(p, "sent")->valuedouble,
             cJSON_GetObjectItem(p, "delivered_from")->valuedouble);
    }
  } else {
    char *s = cJSON_PrintUnformatted(ans);
    if (s)
      printf("%s\n", s);
    free(s);
  }
  fflush(stdout);
  cJSON_Delete(ans);
}

static void on_tty_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  static char chunk[1024];
  (void)h;
  buf->base = chunk;
  buf->len = sizeof chunk;
}

static void on_tty_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  rt *r = s->data;
  if (nread < 0) {
    begin_stop(r); /* end of input: stop, as "quit" */
    pump(r);
    return;
  }
  for (ssize_t i = 0; i < nread; i++) {
    char ch = buf->base[i];
    if (ch == '\n' || r->tty_len == sizeof r->tty_line - 1) {
      r->tty_line[r->tty_len] = '\0';
      r->tty_len = 0;
      console_line(r, r->tty_line);
      if (!r->stopping) {
        printf("%s> ", r->opt->id);
        fflush(stdout);
      }
    } else {
      r->tty_line[r->tty_len++] = ch;
    }
  }
  pump(r);
}

/* ---- start and stop
 * ------------------------------------------------------------ */

/* Closes every handle left at exit, freeing what each one carries. */
static void close_walk(uv_handle_t *h, void *arg) {
  rt *r = arg;
  if (uv_is_closing(h))
    return;
  if (h->type == UV_TCP && h != (uv_handle_t *)&r->listener) {
    conn *c = h->data;
    if (c->linked) {
      c->linked = false;
      r->conns[c->link] = NULL;
    }
    c->closing = true;
    uv_close(h, on_conn_closed);
  } else {
    uv_close(h, NULL);
  }
}

static void on_grace(uv_timer_t *t) {
  rt *r = t->data;
  uv_stop(&r->loop);
}

p2pc_node *p2pc_rt_node(p2pc_rt *r) { return r->node; }

uint16_t p2pc_rt_port(const p2pc_rt *r) { return r->port; }

static void begin_stop(rt *r);

void p2pc_rt_stop(p2pc_rt *r, int status) {
  /* Deferred to the end of the turn: the hook may run inside the core. */
  r->status = status;
  r->stop_requested = true;
}

static void begin_stop(rt *r) {
  if (r->stopping)
    return;
  r->stopping = true;
  logline(r, P2PC_LOG_INFO, "node: stopping");
  p2pc_node_shutdown(r->node, now_of(r));
  if (r->tty_open)
    uv_read_stop((uv_stream_t *)&r->tty);
  /* Let the ERROR frames and the last acks go out, then end the loop. */
  uv_timer_start(&r->grace, on_grace, 200, 0);
}

static void on_signal(uv_signal_t *s, int signum) {
  rt *r = s->data;
  logline(r, P2PC_LOG_INFO, "node: %s received", strsignal(signum));
  begin_stop(r);
  pump(r);
}

static void write_lifecycle(rt *r, const char *ev) {
  if (!r->events)
    return;
  p2pc_now now = now_of(r);
  fprintf(r->events,
          "{\"node\":\"%s\",\"ev\":\"%s\",\"mono\":%llu,\"local\":%lld,"
          "\"net\":%lld,\"sesid\":\"%s\",\"version\":\"%s\"",
          r->opt->id, ev, (unsigned long long)now.mono_ns,
          (long long)now.local_ns,
          (long long)p2pc_node_network_time(r->node, now.local_ns),
          p2pc_causal_self(p2pc_node_causal(r->node)), P2PC_VERSION_STRING);
  if (strcmp(ev, "start") == 0) {
    /* Δ, so that `p2pclock check` can tell an honest expiry */
    p2pc_buf life;
    p2pc_buf_init(&life, p2pc_allocator_default(), 64);
    if (p2pc_evlog_lifetime(
            &life, p2pc_causal_lifetime(p2pc_node_causal(r->node))) == 0)
      fwrite(life.data, 1, life.len, r->events);
    p2pc_buf_fini(&life);
    if (r->opt->config_json)
      fprintf(r->events, ",\"config\":%s", r->opt->config_json);
  }
  fputs("}\n", r->events);
  fflush(r->events);
}

static const char *const ts_mode_how[] = {
    "user-space timestamps", "kernel RX timestamps (SO_TIMESTAMPNS)",
    "kernel RX and TX timestamps (SO_TIMESTAMPING)"};

static void log_time_setup(rt *r) {
  char vc[96] = "local clock CLOCK_REALTIME";
  if (r->vc_on)
    snprintf(vc, sizeof vc,
             "virtual local clock offset %+.9f s drift %+.3f ppm",
             (double)r->vc_offset_ns / 1e9, r->vc_drift_ppm);
  if (r->tfd < 0) {
    logline(r, P2PC_LOG_INFO, "time: synchronization disabled; %s", vc);
    return;
  }
  bool v6 = r->tfamily == AF_INET6;
  logline(r, P2PC_LOG_INFO, "time: socket %s%s%s:%u/udp, %s, mode %s; %s",
          v6 ? "[" : "", r->opt->listen_host, v6 ? "]" : "", r->tport,
          ts_mode_how[r->tsm], p2pc_clock_mode_name(r->opt->time.mode), vc);
}

int p2pc_rt_run(const p2pc_rt_options *opt) {
  rt *r = calloc(1, sizeof *r);
  p2pc_node_seed *seeds = calloc(opt->npeers + 1, sizeof *seeds);
  named_seed *named = calloc(opt->npeers + 1, sizeof *named);
  int status = 1;
  if (!r || !seeds || !named) {
    fprintf(stderr, "p2pclock node: out of memory\n");
    free(r);
    free(seeds);
    free(named);
    return 1;
  }
  r->named = named;
  r->opt = opt;
  r->tfd = -1;
  if (opt->vclock) {
    r->vc_on = true;
    r->vc_base_ns = real_now();
    r->vc_offset_ns = llround(opt->clock_offset_s * 1e9);
    r->vc_drift_ppm = opt->clock_drift_ppm;
  }
  r->readbuf = malloc(READ_CHUNK);
  uv_loop_init(&r->loop);
  signal(SIGPIPE, SIG_IGN);
  p2pc_now now = now_of(r);
  r->start_mono = now.mono_ns;
  r->rng = (uint64_t)now.local_ns ^ ((uint64_t)getpid() << 32) ^ 1;

  p2pc_wire_addr listen;
  struct sockaddr_storage ss;
  bool listen_named =
      parse_addr(opt->listen_host, opt->listen_port, &listen, &ss) != 0;
  if (listen_named &&
      resolve_listen(r, opt->listen_host, opt->listen_port, &listen, &ss) != 0)
    goto out_loop;
  for (size_t i = 0; i < opt->npeers; i++) {
    const p2pc_rt_peer *p = &opt->peers[i];
    struct sockaddr_storage ps;
    memcpy(seeds[i].id, p->id, sizeof seeds[i].id);
    if (parse_addr(p->host, p->port, &seeds[i].addr, &ps) == 0)
      continue;
    /* A name: the core gets a stand-in, every dial of it a lookup. */
    named_seed *s = &r->named[r->nnamed];
    snprintf(s->host, sizeof s->host, "%s", p->host);
    s->port = p->port;
    memcpy(s->id, p->id, sizeof s->id);
    seed_key(r->nnamed, p->port, &s->key);
    seeds[i].addr = s->key;
    r->nnamed++;
  }
  if (opt->events_path && *opt->events_path) {
    r->events = fopen(opt->events_path, "a");
    if (!r->events) {
      fprintf(stderr, "p2pclock node: cannot open event log %s: %s\n",
              opt->events_path, strerror(errno));
      goto out;
    }
  }
  uv_tcp_init(&r->loop, &r->listener);
  r->listener.data = r;
  int rv = uv_tcp_bind(&r->listener, (struct sockaddr *)&ss, 0);
  if (rv == 0)
    rv = uv_listen((uv_stream_t *)&r->listener, 128, on_connection);
  if (rv < 0) {
    fprintf(stderr, "p2pclock node: cannot listen on %s:%u: %s\n",
            opt->listen_host, opt->listen_port, uv_strerror(rv));
    goto out_loop;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  if (uv_tcp_getsockname(&r->listener, (struct sockaddr *)&bound, &blen) == 0)
    listen.port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  r->port = listen.port;
  uv_timer_init(&r->loop, &r->tretry);
  r->tretry.data = r;
  if (!opt->time.disabled) {
    /* The time port defaults to the TCP port; an application that let the
     * kernel pick the TCP port takes any free UDP port if that one is
     * taken. */
    uint16_t tp = opt->time.time_port ? opt->time.time_port : r->port;
    rv = open_time_socket(r, &listen, tp);
    if (rv == -EADDRINUSE && !opt->time.time_port && !opt->listen_port)
      rv = open_time_socket(r, &listen, 0);
    if (rv < 0) {
      bool v6 = listen.family == 6;
      fprintf(stderr,
              "p2pclock node: cannot bind the time socket on %s%s%s:%u/udp: "
              "%s\n",
              v6 ? "[" : "", opt->listen_host, v6 ? "]" : "", tp,
              strerror(-rv));
      goto out_loop;
    }
  }
  p2pc_node_config nc = {
      .id = opt->id,
      .incarnation = (uint64_t)now.local_ns,
      .seed = r->rng,
      .listen = listen,
      .seeds = seeds,
      .nseeds = (uint32_t)opt->npeers,
      .max_peers = opt->max_peers,
      .chaos_delay_min_ns = (uint64_t)opt->chaos_delay_min_ms * 1000000,
      .chaos_delay_max_ns = (uint64_t)opt->chaos_delay_max_ms * 1000000,
      .chaos_drop = opt->chaos_drop,
      .causal = {.lifetime_ns = opt->causal_lifetime_ns},
      .time = opt->time,
  };
  if (r->tfd >= 0)
    nc.time.time_port = r->tport;
  /* No event log: the core then builds no event lines at all. */
  p2pc_node_callbacks cb = {on_deliver, r->events ? on_event : NULL, on_log, r,
                            opt->log_level, NULL, NULL};
  if (p2pc_node_new(&r->node, &nc, &cb, now) != 0) {
    fprintf(stderr, "p2pclock node: cannot create the node\n");
    goto out_loop;
  }

  p2pc_ctl_host host = {
      .ud = r,
      .id = opt->id,
      .listen_host = opt->listen_host,
      .start_mono = r->start_mono,
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
      .logger = {on_log, r, opt->log_level},
  };
  if (p2pc_ctl_server_new(&r->ctl, &r->loop, &host, r->rng) != 0) {
    fprintf(stderr, "p2pclock node: out of memory\n");
    goto out_loop;
  }
  char err[400];
  if (opt->control_path && *opt->control_path &&
      p2pc_ctl_server_listen(r->ctl, opt->control_path, err, sizeof err) != 0) {
    fprintf(stderr, "p2pclock node: %s\n", err);
    goto out_loop;
  }
  uv_timer_init(&r->loop, &r->timer);
  r->timer.data = r;
  uv_timer_init(&r->loop, &r->grace);
  r->grace.data = r;
  uv_signal_init(&r->loop, &r->sigint);
  uv_signal_init(&r->loop, &r->sigterm);
  r->sigint.data = r->sigterm.data = r;
  uv_signal_start(&r->sigint, on_signal, SIGINT);
  uv_signal_start(&r->sigterm, on_signal, SIGTERM);
  if (opt->console && uv_tty_init(&r->loop, &r->tty, 0, 1) == 0) {
    r->tty.data = r;
    r->tty_open = true;
    uv_read_start((uv_stream_t *)&r->tty, on_tty_alloc, on_tty_read);
    printf("p2pclock node %s on %s:%u; type 'help' for commands\n%s> ", opt->id,
           opt->listen_host, r->port, opt->id);
    fflush(stdout);
  }
  write_lifecycle(r, "start");
  if (opt->app && opt->app->started)
    opt->app->started(r, opt->app->ud);
  char bound_s[64] = "";
  if (listen_named) {
    char as[48];
    p2pc_node_addr_format(&listen, as, sizeof as);
    snprintf(bound_s, sizeof bound_s, " (%s)", as);
  }
  char named_s[32] = "";
  if (r->nnamed)
    snprintf(named_s, sizeof named_s, " (%u by name)", (unsigned)r->nnamed);
  logline(r, P2PC_LOG_INFO,
          "node: %s listening on %s:%u%s, %zu peer(s) configured%s",
          p2pc_causal_self(p2pc_node_causal(r->node)), opt->listen_host,
          r->port, bound_s, opt->npeers, named_s);
  log_time_setup(r);
  p2pc_node_on_deadline(r->node, now_of(r));
  pump(r);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  write_lifecycle(r, "stop");
  status = r->status;

out_loop:
  p2pc_ctl_server_close(r->ctl); /* removes the socket file */
  /* Lookups still under way end cancelled (or, if a resolver thread has
   * one, when it returns) in the run below, and free themselves. */
  r->stopping = true;
  for (lookup *q = r->lookups; q; q = q->next)
    uv_cancel((uv_req_t *)&q->req);
  uv_walk(&r->loop, close_walk, r);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  uv_loop_close(&r->loop);
  if (r->tfd >= 0)
    close(r->tfd); /* after its uv_poll is closed: the poll does not own it */
out:
  if (r->events)
    fclose(r->events);
  p2pc_node_free(r->node);
  free(r->conns);
  free(r->readbuf);
  free(seeds);
  free(r->named);
  free(r);
  return status;
}
