/* SPDX-License-Identifier: MIT */
/*
 * Addresses and names (uv_int.h, <p2pclock/uv.h>): literals parsed here,
 * the listen host resolved once at open, and peers configured by name,
 * which the node knows by a stand-in address and which are looked up
 * again (uv_getaddrinfo, off the loop thread) before every dial of them.
 * The node only ever sees addresses; names stay here.
 */
#include "uv_int.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

/* One lookup under way, for one DIAL of a named peer. */
struct p2pc_uv_lookup {
  uv_getaddrinfo_t req;
  p2pc_uv *u;
  uint32_t seed; /* index into u->named */
  p2pc_action a; /* the DIAL, as the node asked for it */
  struct p2pc_uv_lookup *prev, *next;
};

int p2pc_uv__parse_addr(const char *host, uint16_t port, p2pc_addr *wa,
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

bool p2pc_uv__addr_eq(const p2pc_addr *x, const p2pc_addr *y) {
  size_t n = x->family == 4 ? 4 : 16;
  return x->family == y->family && x->port == y->port &&
         (x->family == 0 || memcmp(x->addr, y->addr, n) == 0);
}

/* The wire form of a resolved address, with port. False if it is neither
 * IPv4 nor IPv6. */
static bool sockaddr_to_wire(const struct sockaddr *sa, uint16_t port,
                             p2pc_addr *wa, struct sockaddr_storage *ss) {
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
                          uint16_t port, p2pc_addr *first, p2pc_addr *wa,
                          struct sockaddr_storage *ss) {
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

int p2pc_uv__resolve_listen(p2pc_uv *u, const char *host, uint16_t port,
                            p2pc_addr *wa, struct sockaddr_storage *ss) {
  uv_getaddrinfo_t req;
  p2pc_addr first;
  int rv = uv_getaddrinfo(u->loop, &req, NULL, host, NULL, &lookup_hints);
  if (rv < 0) {
    p2pc_uv__log(u, P2PC_LOG_ERROR, "cannot resolve the listen host %s: %s",
                 host, uv_strerror(rv));
    return P2PC_ERR_NOTFOUND;
  }
  unsigned n = pick_addr(req.addrinfo, 0, port, &first, wa, ss);
  uv_freeaddrinfo(req.addrinfo);
  if (n == 0) {
    p2pc_uv__log(u, P2PC_LOG_ERROR,
                 "the listen host %s has no IPv4 or IPv6 address", host);
    return P2PC_ERR_NOTFOUND;
  }
  return 0;
}

/* The address the node knows a named peer by until it learns the node's
 * own (its HELLO): in 100::/64, the IPv6 discard-only prefix (RFC 6666),
 * so it can reach nothing, with "p2pc" and the peer's index after it. The
 * binding never dials it; a DIAL of it is a dial of the peer, by name. */
static void seed_key(uint32_t i, uint16_t port, p2pc_addr *wa) {
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

void p2pc_uv__add_peer(p2pc_uv *u, const p2pc_uv_peer *p, p2pc_addr *addr) {
  struct sockaddr_storage ps;
  if (p2pc_uv__parse_addr(p->host, p->port, addr, &ps) == 0)
    return;
  /* A name: the node gets a stand-in, every dial of it a lookup. */
  p2pc_uv_named *s = &u->named[u->nnamed];
  memcpy(s->host, p->host, strnlen(p->host, sizeof s->host - 1));
  s->port = p->port;
  memcpy(s->id, p->id, sizeof s->id);
  s->id[P2PC_NODE_ID_MAX] = '\0';
  seed_key(u->nnamed, p->port, &s->key);
  *addr = s->key;
  u->nnamed++;
}

void p2pc_uv__format_addr(const p2pc_uv *u, const p2pc_addr *a, char *s,
                          size_t cap) {
  for (uint32_t i = 0; i < u->nnamed; i++) {
    if (p2pc_uv__addr_eq(a, &u->named[i].key)) {
      snprintf(s, cap, "%s:%u", u->named[i].host, (unsigned)a->port);
      return;
    }
  }
  p2pc_addr_format(a, s, cap);
}

void p2pc_uv_format_addr(const p2pc_uv *u, const p2pc_addr *a, char *s,
                         size_t cap) {
  p2pc_uv__format_addr(u, a, s, cap);
}

void p2pc_uv__to_sockaddr(const p2pc_addr *wa, struct sockaddr_storage *ss) {
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

/* The named peer a DIAL is a dial of, or NULL: its stand-in address, its
 * ID, or the address its name last took us to (unless the DIAL names
 * another node than the peer's). A dial of that address that names a peer
 * tells a peer configured without an ID whose it is. */
static p2pc_uv_named *seed_of_dial(p2pc_uv *u, const p2pc_action *a) {
  for (uint32_t i = 0; i < u->nnamed; i++) {
    p2pc_uv_named *s = &u->named[i];
    if (p2pc_uv__addr_eq(&a->addr, &s->key) ||
        (a->peer[0] && strcmp(a->peer, s->id) == 0))
      return s;
  }
  for (uint32_t i = 0; i < u->nnamed; i++) {
    p2pc_uv_named *s = &u->named[i];
    if (s->last.family && p2pc_uv__addr_eq(&a->addr, &s->last) &&
        !(a->peer[0] && s->id[0])) {
      if (a->peer[0] && !s->id[0])
        memcpy(s->id, a->peer, sizeof s->id);
      return s;
    }
  }
  return NULL;
}

static void lookup_unlink(p2pc_uv *u, p2pc_uv_lookup *q) {
  if (q->prev)
    q->prev->next = q->next;
  else
    u->lookups = q->next;
  if (q->next)
    q->next->prev = q->prev;
}

static void lookup_failed(p2pc_uv *u, p2pc_uv_named *s, const p2pc_action *a,
                          int status) {
  /* Once per run of failures: the node retries with back-off, and every
   * retry would say the same. */
  p2pc_uv__log(u, s->failing ? P2PC_LOG_DEBUG : P2PC_LOG_WARN,
               "link: cannot resolve %s: %s; dialing it again with back-off",
               s->host, uv_strerror(status));
  s->failing = true;
  p2pc_node_dial_failed(u->node, &a->addr, a->peer, p2pc_uv__now(u));
}

static void log_resolved(p2pc_uv *u, p2pc_uv_named *s, const p2pc_addr *first) {
  char now_s[64], was_s[64];
  p2pc_addr_format(first, now_s, sizeof now_s);
  p2pc_addr_format(&s->first, was_s, sizeof was_s);
  bool moved = s->first.family && !p2pc_uv__addr_eq(first, &s->first);
  if (s->failing && moved)
    p2pc_uv__log(u, P2PC_LOG_INFO,
                 "link: %s resolves again, now to %s (was %s)", s->host, now_s,
                 was_s);
  else if (s->failing)
    p2pc_uv__log(u, P2PC_LOG_INFO, "link: %s resolves again, to %s", s->host,
                 now_s);
  else if (!s->first.family)
    p2pc_uv__log(u, P2PC_LOG_INFO, "link: %s resolves to %s", s->host, now_s);
  else if (moved)
    p2pc_uv__log(u, P2PC_LOG_INFO, "link: %s now resolves to %s (was %s)",
                 s->host, now_s, was_s);
}

static void on_lookup(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  p2pc_uv_lookup *q = req->data;
  p2pc_uv *u = q->u;
  p2pc_uv_named *s = &u->named[q->seed];
  lookup_unlink(u, q);
  if (u->closing) { /* the node is going: no more dials */
    uv_freeaddrinfo(res);
    p2pc_uv__free(u, q);
    p2pc_uv__handle_closed(u);
    return;
  }
  p2pc_addr first, wa;
  struct sockaddr_storage ss;
  unsigned n =
      status < 0 ? 0 : pick_addr(res, s->pick, s->port, &first, &wa, &ss);
  uv_freeaddrinfo(res);
  if (n == 0) {
    lookup_failed(u, s, &q->a, status < 0 ? status : UV_EAI_NODATA);
  } else {
    log_resolved(u, s, &first);
    s->failing = false;
    s->first = first;
    s->last = wa;
    char as[64];
    p2pc_addr_format(&wa, as, sizeof as);
    p2pc_uv__log(u, P2PC_LOG_DEBUG, "link: dialing %s at %s", s->host, as);
    p2pc_uv__connect(u, &q->a, &ss, q->seed + 1);
  }
  p2pc_uv__free(u, q);
  p2pc_uv__handle_closed(u); /* the lookup counted as a handle */
  p2pc_uv__pump(u);
}

void p2pc_uv__dial(p2pc_uv *u, const p2pc_action *a) {
  p2pc_uv_named *s = seed_of_dial(u, a);
  if (!s) {
    struct sockaddr_storage ss;
    p2pc_uv__to_sockaddr(&a->addr, &ss);
    p2pc_uv__connect(u, a, &ss, 0);
    return;
  }
  p2pc_uv_lookup *q = p2pc_uv__alloc(u, sizeof *q);
  if (!q) {
    p2pc_node_dial_failed(u->node, &a->addr, a->peer, p2pc_uv__now(u));
    return;
  }
  q->u = u;
  q->seed = (uint32_t)(s - u->named);
  q->a = *a;
  q->req.data = q;
  int rv =
      uv_getaddrinfo(u->loop, &q->req, on_lookup, s->host, NULL, &lookup_hints);
  if (rv < 0) {
    p2pc_uv__free(u, q);
    lookup_failed(u, s, a, rv);
    return;
  }
  u->handles++;
  q->next = u->lookups;
  if (q->next)
    q->next->prev = q;
  u->lookups = q;
}

void p2pc_uv__cancel_lookups(p2pc_uv *u) {
  /* Lookups under way end cancelled (or, if a resolver thread has one,
   * when it returns), and free themselves. */
  for (p2pc_uv_lookup *q = u->lookups; q; q = q->next)
    uv_cancel((uv_req_t *)&q->req);
}
