/* SPDX-License-Identifier: MIT */
/*
 * The binding's composition (<p2pclock/uv.h>): settings, open and close,
 * the calls an application makes, the log, and the count of open handles
 * that decides when a closing binding may free itself. Links, the time
 * socket, names and clocks are the other files' (uv_int.h).
 */
#include "uv_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

/* The last frames' time to leave at close (LEAVE, acks). */
#define GRACE_MS 200

/* How much of p2pc_uv_settings a caller of each version has: the fields
 * of a later version are at the end. */
static size_t settings_size(int version) {
  return version >= P2PC_UV_SETTINGS_V4   ? sizeof(p2pc_uv_settings)
         : version >= P2PC_UV_SETTINGS_V3 ? offsetof(p2pc_uv_settings, ntp_keys)
         : version >= P2PC_UV_SETTINGS_V2
             ? offsetof(p2pc_uv_settings, secure_ring)
             : offsetof(p2pc_uv_settings, secure);
}

void p2pc_uv_settings_default_versioned(int version, p2pc_uv_settings *s) {
  memset(s, 0, settings_size(version));
  p2pc_settings_default_versioned(P2PC_SETTINGS_VERSION, &s->node);
  s->listen_host = "127.0.0.1";
  s->timestamping = P2PC_UV_TS_AUTO;
}

void p2pc_uv__log(const p2pc_uv *u, p2pc_log_level lv, const char *fmt, ...) {
  if (!u->logger.log || lv > u->logger.level)
    return;
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  u->logger.log(u->logger.ud, lv, text);
}

void *p2pc_uv__alloc(const p2pc_uv *u, size_t n) {
  void *p = u->alloc->realloc(NULL, n, u->alloc->ud);
  if (p)
    memset(p, 0, n);
  return p;
}

void p2pc_uv__free(const p2pc_uv *u, void *p) {
  u->alloc->free(p, u->alloc->ud);
}

/* Every handle is closed: the owner's last look at the node, then free. */
static void finish(p2pc_uv *u) {
  if (u->on_closed)
    u->on_closed(u->closed_ud);
  p2pc_node_close(u->node);
  p2pc_uv__free(u, u->named);
  p2pc_uv__free(u, u->conns);
  p2pc_uv__free(u, u->readbuf);
  p2pc_uv__free(u, u);
}

void p2pc_uv__handle_closed(p2pc_uv *u) {
  if (--u->handles == 0 && u->quiet)
    finish(u);
}

static void on_handle_closed(uv_handle_t *h) {
  p2pc_uv__handle_closed(h->data);
}

void p2pc_uv__close_handle(p2pc_uv *u, uv_handle_t *h) {
  /* The binding is zeroed at birth: a handle never initialized has type
   * UV_UNKNOWN_HANDLE. */
  if (h->type != UV_UNKNOWN_HANDLE && !uv_is_closing(h)) {
    h->data = u;
    uv_close(h, on_handle_closed);
  }
}

/* Closes every handle without a word to the node; frees the binding once
 * they are closed (at once if there are none). */
static void teardown(p2pc_uv *u) {
  u->closing = true;
  u->quiet = true;
  p2pc_uv__cancel_lookups(u);
  p2pc_uv__close_conns(u);
  p2pc_uv__close_handle(u, (uv_handle_t *)&u->listener);
  p2pc_uv__close_handle(u, (uv_handle_t *)&u->timer);
  p2pc_uv__close_handle(u, (uv_handle_t *)&u->grace);
  p2pc_uv__close_handle(u, (uv_handle_t *)&u->flush);
  p2pc_uv__close_handle(u, (uv_handle_t *)&u->ts.retry);
  p2pc_uv__timesock_close(u);
  if (u->handles == 0)
    finish(u);
}

static void on_grace(uv_timer_t *t) { teardown(t->data); }

/* The goodbyes and the last acks go out during the grace period; then
 * every handle is closed. */
static void on_shutdown(uv_timer_t *t) {
  p2pc_uv *u = t->data;
  p2pc_node_shutdown(u->node, p2pc_uv__now(u));
  p2pc_uv__pump(u);
  uv_timer_start(&u->grace, on_grace, GRACE_MS, 0);
}

void p2pc_uv_close(p2pc_uv *u, void (*on_closed)(void *ud), void *ud) {
  if (!u || u->closing)
    return;
  u->closing = true;
  u->on_closed = on_closed;
  u->closed_ud = ud;
  /* Not now: the caller may be inside an event callback, inside the
   * node. At the loop's next turn. */
  uv_timer_start(&u->grace, on_shutdown, 0, 0);
}

/* Before the loop waits: write what sends made outside the binding's own
 * callbacks (the application's timers, other handles). */
static void on_prepare(uv_prepare_t *p) {
  p2pc_uv *u = p->data;
  if (u->dirty)
    p2pc_uv__pump(u);
}

static void on_node_event(void *ud, p2pc_node *n, const p2pc_event *ev) {
  p2pc_uv *u = ud;
  if (u->on_event)
    u->on_event(u->ud, n, ev);
}

static void on_first(uv_timer_t *t) {
  p2pc_uv *u = t->data;
  p2pc_node_on_deadline(u->node, p2pc_uv__now(u));
  p2pc_uv__pump(u);
}

/* Binds the TCP listener on ss; the port it got goes to u->port. */
static int listen_tcp(p2pc_uv *u, const p2pc_uv_settings *s,
                      const struct sockaddr_storage *ss) {
  uv_tcp_init(u->loop, &u->listener);
  u->listener.data = u;
  u->handles++;
  int rv = uv_tcp_bind(&u->listener, (const struct sockaddr *)ss, 0);
  if (rv == 0)
    rv = uv_listen((uv_stream_t *)&u->listener, 128, p2pc_uv__on_connection);
  if (rv < 0) {
    p2pc_uv__log(u, P2PC_LOG_ERROR, "cannot listen on %s:%u: %s",
                 s->listen_host, s->listen_port, uv_strerror(rv));
    return rv;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  u->port = s->listen_port;
  if (uv_tcp_getsockname(&u->listener, (struct sockaddr *)&bound, &blen) == 0)
    u->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  return 0;
}

/* The time socket, also the overlay's datagrams (the lookup), so it opens
 * with clock sync off too (the node then answers no NTP request on it).
 * Its port defaults to the TCP port; an application that let the kernel
 * pick the TCP port takes any free UDP port if that one is taken. */
static int open_time(p2pc_uv *u, const p2pc_uv_settings *s,
                     const p2pc_addr *listen) {
  uv_timer_init(u->loop, &u->ts.retry);
  u->ts.retry.data = u;
  u->handles++;
  uint16_t tp = s->node.clock.port ? s->node.clock.port : u->port;
  int rv = p2pc_uv__timesock_open(u, listen, tp, s->timestamping);
  if (rv == -EADDRINUSE && !s->node.clock.port && !s->listen_port)
    rv = p2pc_uv__timesock_open(u, listen, 0, s->timestamping);
  if (rv < 0) {
    bool v6 = listen->family == 6;
    p2pc_uv__log(
        u, P2PC_LOG_ERROR, "cannot bind the time socket on %s%s%s:%u/udp: %s",
        v6 ? "[" : "", s->listen_host, v6 ? "]" : "", tp, strerror(-rv));
  }
  return rv;
}

static void log_start(p2pc_uv *u, const p2pc_uv_settings *s, bool named,
                      const p2pc_addr *listen, size_t npeers) {
  char bound_s[64] = "", named_s[32] = "";
  if (named) {
    char as[48];
    p2pc_addr_format(listen, as, sizeof as);
    snprintf(bound_s, sizeof bound_s, " (%s)", as);
  }
  if (u->nnamed)
    snprintf(named_s, sizeof named_s, " (%u by name)", (unsigned)u->nnamed);
  p2pc_uv__log(u, P2PC_LOG_INFO,
               "node: %s listening on %s:%u%s, %zu peer(s) configured%s",
               p2pc_causal_self(p2pc_node_causal(u->node)), s->listen_host,
               u->port, bound_s, npeers, named_s);
  char vc[96] = "local clock CLOCK_REALTIME";
  if (u->vc.on)
    snprintf(vc, sizeof vc,
             "virtual local clock offset %+.9f s drift %+.3f ppm",
             (double)u->vc.offset_ns / 1e9, u->vc.drift_ppm);
  if (u->ts.fd < 0) {
    p2pc_uv__log(u, P2PC_LOG_INFO, "time: synchronization disabled; %s", vc);
    return;
  }
  bool v6 = u->ts.family == AF_INET6;
  p2pc_uv__log(u, P2PC_LOG_INFO, "time: socket %s%s%s:%u/udp, %s, mode %s; %s",
               v6 ? "[" : "", s->listen_host, v6 ? "]" : "", u->ts.port,
               p2pc_uv__timesock_mode_how(u),
               p2pc_clock_mode_name(s->node.clock.mode), vc);
}

static bool settings_ok(const p2pc_uv_settings *s) {
  return s->listen_host &&
         strnlen(s->listen_host, P2PC_UV_HOST_MAX + 1) <= P2PC_UV_HOST_MAX &&
         (s->npeers == 0 || s->peers) &&
         (unsigned)s->timestamping <= P2PC_UV_TS_USER &&
         (!s->vclock.enabled || (fabs(s->vclock.offset_s) <= 1e6 &&
                                 fabs(s->vclock.drift_ppm) <= 1000)) &&
         s->chaos.delay_min_ns <= s->chaos.delay_max_ns && s->chaos.drop >= 0 &&
         s->chaos.drop < 1;
}

/* The core's keys for secure links: the X25519 link key derived from the
 * Ed25519 identity seed, the cluster key, and 32 bytes of the kernel's
 * randomness for the ephemeral keys. */
static int secure_keys(p2pc_uv *u, const p2pc_uv_settings *s,
                       p2pc_node_secure *sec) {
  if (!u->secure && u->allow && s->allow.n) {
    p2pc_uv__log(u, P2PC_LOG_ERROR,
                 "an allowlist needs secure links (secure.on)");
    return P2PC_ERR_INVAL;
  }
  if (!u->secure)
    return 0;
  if (u->ring_more > P2PC_KEYRING_MAX - 1) {
    p2pc_uv__log(u, P2PC_LOG_ERROR,
                 "cannot set up secure links: secure_ring.n is over %d",
                 P2PC_KEYRING_MAX - 1);
    return P2PC_ERR_INVAL;
  }
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  int rv = sodium_init() < 0 ? P2PC_ERR_INVAL : 0;
  if (!rv && crypto_sign_seed_keypair(pk, sk, s->secure.identity) != 0)
    rv = P2PC_ERR_INVAL;
  if (!rv && crypto_sign_ed25519_sk_to_curve25519(sec->static_sk, sk) != 0)
    rv = P2PC_ERR_INVAL;
  if (!rv)
    memcpy(sec->sign_sk, sk, sizeof sec->sign_sk);
  sodium_memzero(sk, sizeof sk);
  if (!rv && getrandom(sec->entropy, sizeof sec->entropy, 0) !=
                 (ssize_t)sizeof sec->entropy)
    rv = -EIO;
  if (rv) {
    p2pc_uv__log(u, P2PC_LOG_ERROR, "cannot set up secure links: %s",
                 rv == -EIO ? "no randomness from the kernel"
                            : "libsodium failed");
    sodium_memzero(sec, sizeof *sec);
    return rv;
  }
  memcpy(sec->psk[0], s->secure.cluster_key, sizeof sec->psk[0]);
  sec->npsk = 1;
  for (unsigned i = 0; i < u->ring_more; i++)
    memcpy(sec->psk[sec->npsk++], s->secure_ring.keys[i], sizeof sec->psk[0]);
  for (unsigned i = 0; i < sec->npsk; i++)
    for (unsigned j = i + 1; j < sec->npsk; j++)
      if (sodium_memcmp(sec->psk[i], sec->psk[j], sizeof sec->psk[0]) == 0) {
        p2pc_uv__log(u, P2PC_LOG_ERROR,
                     "cannot set up secure links: a cluster key is given "
                     "twice in the keyring");
        sodium_memzero(sec, sizeof *sec);
        return P2PC_ERR_INVAL;
      }
  if (u->allow && s->allow.n) {
    if (s->allow.n > P2PC_MEMBERS_MAX) {
      p2pc_uv__log(u, P2PC_LOG_ERROR, "an allowlist of %zu members: at most %d",
                   s->allow.n, P2PC_MEMBERS_MAX);
      sodium_memzero(sec, sizeof *sec);
      return P2PC_ERR_INVAL;
    }
    sec->members = s->allow.members;
    sec->nmembers = (uint32_t)s->allow.n;
  }
  sec->on = true;
  return 0;
}

/* The node's seeds: the settings' own, then the peers (a name gets a
 * stand-in address), then the node. */
static int open_node(p2pc_uv *u, const p2pc_uv_settings *s,
                     const p2pc_addr *listen, p2pc_now now) {
  size_t nseeds = s->node.nseeds + s->npeers;
  p2pc_seed *seeds = p2pc_uv__alloc(u, (nseeds + 1) * sizeof *seeds);
  if (!seeds)
    return P2PC_ERR_NOMEM;
  if (s->node.nseeds)
    memcpy(seeds, s->node.seeds, s->node.nseeds * sizeof *seeds);
  for (size_t i = 0; i < s->npeers; i++) {
    p2pc_seed *d = &seeds[s->node.nseeds + i];
    memcpy(d->id, s->peers[i].id, sizeof d->id);
    d->id[P2PC_NODE_ID_MAX] = '\0';
    p2pc_uv__add_peer(u, &s->peers[i], &d->addr);
  }
  p2pc_settings ns = s->node;
  ns.listen = *listen;
  ns.seeds = seeds;
  ns.nseeds = (uint32_t)nseeds;
  ns.alloc = u->alloc;
  if (u->ts.fd >= 0)
    ns.clock.port = u->ts.port;
  p2pc_node_secure sec = {0};
  int rv = secure_keys(u, s, &sec);
  if (rv == 0)
    rv = p2pc__node_open_secure(&u->node, &ns, &sec, u->ntp_keys, u->ntp_nkeys,
                                on_node_event, u, now);
  sodium_memzero(&sec, sizeof sec);
  p2pc_uv__free(u, seeds);
  if (rv == 0 && (s->chaos.delay_max_ns || s->chaos.drop > 0))
    rv = p2pc_node_set_chaos(u->node, s->chaos.delay_min_ns,
                             s->chaos.delay_max_ns, s->chaos.drop);
  if (rv < 0)
    p2pc_uv__log(u, P2PC_LOG_ERROR, "cannot create the node: %s",
                 p2pc_strerror(rv));
  return rv;
}

static int open_all(p2pc_uv *u, const p2pc_uv_settings *s) {
  p2pc_now now = p2pc_uv__now(u);
  p2pc_addr listen;
  struct sockaddr_storage ss;
  bool named =
      p2pc_uv__parse_addr(s->listen_host, s->listen_port, &listen, &ss) != 0;
  int rv = 0;
  if (named)
    rv = p2pc_uv__resolve_listen(u, s->listen_host, s->listen_port, &listen,
                                 &ss);
  if (rv == 0)
    rv = listen_tcp(u, s, &ss);
  if (rv < 0)
    return rv;
  listen.port = u->port;
  rv = open_time(u, s, &listen);
  if (rv == 0)
    rv = open_node(u, s, &listen, now);
  if (rv < 0)
    return rv;
  uv_timer_init(u->loop, &u->timer);
  uv_timer_init(u->loop, &u->grace);
  uv_prepare_init(u->loop, &u->flush);
  u->timer.data = u->grace.data = u->flush.data = u;
  u->handles += 3;
  uv_prepare_start(&u->flush, on_prepare);
  log_start(u, s, named, &listen, s->node.nseeds + s->npeers);
  /* The first deadline at the loop's first turn: nothing is reported
   * before the caller has the binding. */
  uv_timer_start(&u->timer, on_first, 0, 0);
  return 0;
}

int p2pc_uv_open_versioned(p2pc_uv **out, uv_loop_t *loop, int version,
                           const p2pc_uv_settings *s, p2pc_event_fn on_event,
                           void *ud) {
  *out = NULL;
  if (version < P2PC_UV_SETTINGS_V1 || version > P2PC_UV_SETTINGS_VERSION ||
      !loop || !s || !settings_ok(s)) {
    if (s && s->node.logger.log)
      s->node.logger.log(s->node.logger.ud, P2PC_LOG_ERROR,
                         "bad binding settings (version, listen_host, "
                         "peers, timestamping, vclock or chaos)");
    return P2PC_ERR_INVAL;
  }
  const p2pc_allocator *a =
      s->node.alloc ? s->node.alloc : p2pc_allocator_default();
  p2pc_uv *u = a->realloc(NULL, sizeof *u, a->ud);
  if (!u)
    return P2PC_ERR_NOMEM;
  memset(u, 0, sizeof *u);
  u->alloc = a;
  u->loop = loop;
  u->on_event = on_event;
  u->ud = ud;
  u->logger = s->node.logger;
  u->before_output = s->before_output.fn;
  u->before_output_ud = s->before_output.ud;
  u->secure = version >= P2PC_UV_SETTINGS_V2 && s->secure.on;
  u->allow = version >= P2PC_UV_SETTINGS_V3;
  u->ring_more =
      u->secure && version >= P2PC_UV_SETTINGS_V3 ? s->secure_ring.n : 0;
  if (u->ring_more > P2PC_KEYRING_MAX - 1)
    u->ring_more = P2PC_KEYRING_MAX; /* refused by secure_keys */
  if (version >= P2PC_UV_SETTINGS_V4) {
    if (s->ntp_keys.n > P2PC_NTP_KEYS_MAX) {
      if (s->node.logger.log)
        s->node.logger.log(s->node.logger.ud, P2PC_LOG_ERROR,
                           "bad binding settings: more than 64 NTP keys");
      a->free(u, a->ud);
      return P2PC_ERR_INVAL;
    }
    u->ntp_keys = s->ntp_keys.keys; /* borrowed until open returns */
    u->ntp_nkeys = (uint32_t)s->ntp_keys.n;
  }
  u->ts.fd = -1;
  memcpy(u->listen_host, s->listen_host, strlen(s->listen_host));
  p2pc_uv__vclock_init(&u->vc, s->vclock.enabled, s->vclock.offset_s,
                       s->vclock.drift_ppm);
  u->readbuf = p2pc_uv__alloc(u, P2PC_UV_READ_CHUNK);
  u->named = p2pc_uv__alloc(u, (s->npeers + 1) * sizeof *u->named);
  int rv = u->readbuf && u->named ? open_all(u, s) : P2PC_ERR_NOMEM;
  u->ntp_keys = NULL; /* the node has its copy */
  u->ntp_nkeys = 0;
  if (rv < 0) {
    teardown(u); /* frees u once its handles are closed */
    return rv;
  }
  *out = u;
  return 0;
}

int p2pc_uv_set_allowlist(p2pc_uv *u, const p2pc_member *members, size_t n) {
  if (u->closing)
    return P2PC_ERR_CLOSED;
  if (n > P2PC_MEMBERS_MAX)
    return P2PC_ERR_INVAL;
  u->dirty = true;
  return p2pc__node_set_members(u->node, members, (uint32_t)n, p2pc_uv__now(u));
}

int p2pc_uv_send(p2pc_uv *u, const char *dest, const uint8_t *payload,
                 size_t len, p2pc_msgid *id) {
  if (u->closing)
    return P2PC_ERR_CLOSED;
  u->dirty = true;
  return p2pc_node_send(u->node, dest, payload, len, p2pc_uv__now(u), id);
}

int p2pc_uv_broadcast(p2pc_uv *u, const uint8_t *payload, size_t len,
                      p2pc_msgid *id) {
  if (u->closing)
    return P2PC_ERR_CLOSED;
  u->dirty = true;
  return p2pc_node_broadcast(u->node, payload, len, p2pc_uv__now(u), id);
}

int p2pc_uv_broadcast_neighbours(p2pc_uv *u, const uint8_t *payload, size_t len,
                                 p2pc_msgid *first) {
  if (u->closing)
    return P2PC_ERR_CLOSED;
  u->dirty = true;
  return p2pc_node_broadcast_neighbours(u->node, payload, len, p2pc_uv__now(u),
                                        first);
}

int p2pc_uv_keyring_set(p2pc_uv *u, const uint8_t (*keys)[32], size_t nkeys) {
  if (u->closing || !u->secure || nkeys > P2PC_KEYRING_MAX)
    return P2PC_ERR_INVAL;
  return p2pc_node_keyring_set(u->node, keys, (uint32_t)nkeys);
}

void p2pc_uv_flush(p2pc_uv *u) { p2pc_uv__pump(u); }

void p2pc_uv_time(p2pc_uv *u, p2pc_time *t) {
  p2pc_node_time(u->node, p2pc_uv__now(u), t);
}

p2pc_node *p2pc_uv_node(p2pc_uv *u) { return u->node; }

uint16_t p2pc_uv_port(const p2pc_uv *u) { return u->port; }
