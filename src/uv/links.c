/* SPDX-License-Identifier: MIT */
/*
 * TCP links and the pump (uv_int.h). Each callback reads the clocks once
 * and hands the node what happened (bytes, a new connection, a timer);
 * then the pump carries out what the node asked for: dials and closes,
 * and the output of every link, written with one write per link per turn
 * however many frames it holds, then the time socket's datagrams. The
 * node's next deadline re-arms the one timer.
 */
#include "uv_int.h"

#include <arpa/inet.h>

#include <string.h>

struct p2pc_uv_conn {
  uv_tcp_t tcp;
  p2pc_uv *u;
  p2pc_link_id link;
  bool linked; /* the node knows it */
  bool closing;
  bool writing; /* a uv_write is in flight */
  uv_write_t wreq;
  char *wbuf;
  size_t wcap;
  bool outbound;
  p2pc_addr addr; /* as the node knows the dial (a named peer's key) */
  char peer[P2PC_NODE_ID_MAX + 1];
  uint32_t seed; /* 1 + the named peer dialed, 0 for an address */
  uv_connect_t creq;
  p2pc_uv_conn *prev, *next; /* every connection, linked or not */
};

static void on_conn_closed(uv_handle_t *h) {
  p2pc_uv_conn *c = h->data;
  p2pc_uv *u = c->u;
  if (c->prev)
    c->prev->next = c->next;
  else
    u->all = c->next;
  if (c->next)
    c->next->prev = c->prev;
  p2pc_uv__free(u, c->wbuf);
  p2pc_uv__free(u, c);
  p2pc_uv__handle_closed(u);
}

/* Closes the connection; the node hears of it unless quiet (at close). */
static void conn_close(p2pc_uv_conn *c, bool quiet) {
  if (c->closing)
    return;
  c->closing = true;
  p2pc_uv *u = c->u;
  if (c->linked) {
    c->linked = false;
    u->conns[c->link] = NULL;
    if (!quiet)
      p2pc_node_link_closed(u->node, c->link, p2pc_uv__now(u));
  }
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static p2pc_uv_conn *conn_new(p2pc_uv *u) {
  p2pc_uv_conn *c = p2pc_uv__alloc(u, sizeof *c);
  if (!c)
    return NULL;
  c->u = u;
  uv_tcp_init(u->loop, &c->tcp);
  c->tcp.data = c;
  u->handles++;
  c->next = u->all;
  if (c->next)
    c->next->prev = c;
  u->all = c;
  return c;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  p2pc_uv_conn *c = h->data;
  buf->base = c->u->readbuf;
  buf->len = P2PC_UV_READ_CHUNK;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  p2pc_uv_conn *c = s->data;
  p2pc_uv *u = c->u;
  if (nread < 0) {
    if (nread != UV_EOF)
      p2pc_uv__log(u, P2PC_LOG_DEBUG, "link: read: %s",
                   uv_strerror((int)nread));
    conn_close(c, false);
  } else if (nread > 0 && c->linked) {
    p2pc_node_link_input(u->node, c->link, (const uint8_t *)buf->base,
                         (size_t)nread, p2pc_uv__now(u));
  }
  p2pc_uv__pump(u);
}

static void link_conn(p2pc_uv *u, p2pc_uv_conn *c) {
  if (p2pc_node_link_new(u->node, c->outbound, c->peer,
                         c->outbound || c->addr.family ? &c->addr : NULL,
                         p2pc_uv__now(u), &c->link) != 0) {
    /* (the node said why, within its log's limits) */
    p2pc_uv__log(u, P2PC_LOG_DEBUG, "link: too many connections; refusing one");
    conn_close(c, false);
    return;
  }
  if (c->link >= u->nconns) {
    uint32_t n = c->link + 16;
    p2pc_uv_conn **x = u->alloc->realloc(u->conns, n * sizeof *x, u->alloc->ud);
    if (!x) {
      p2pc_node_link_closed(u->node, c->link, p2pc_uv__now(u));
      conn_close(c, false);
      return;
    }
    memset(x + u->nconns, 0, (n - u->nconns) * sizeof *x);
    u->conns = x;
    u->nconns = n;
  }
  u->conns[c->link] = c;
  c->linked = true;
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_connect(uv_connect_t *req, int status) {
  p2pc_uv_conn *c = req->data;
  p2pc_uv *u = c->u;
  if (c->closing)
    return; /* closed at exit while connecting: the close frees it */
  if (status < 0 || u->closing) {
    if (status < 0)
      p2pc_uv__log(u, P2PC_LOG_DEBUG, "link: dial %s%s%s failed: %s",
                   c->peer[0] ? c->peer : "seed", c->seed ? " at " : "",
                   c->seed ? u->named[c->seed - 1].host : "",
                   uv_strerror(status));
    /* A name with several addresses: the next dial tries the next one. */
    if (status < 0 && c->seed)
      u->named[c->seed - 1].pick++;
    p2pc_node_dial_failed(u->node, &c->addr, c->peer, p2pc_uv__now(u));
    conn_close(c, true);
  } else {
    link_conn(u, c);
  }
  p2pc_uv__pump(u);
}

void p2pc_uv__connect(p2pc_uv *u, const p2pc_action *a,
                      const struct sockaddr_storage *to, uint32_t seed) {
  p2pc_uv_conn *c = conn_new(u);
  if (!c) {
    p2pc_node_dial_failed(u->node, &a->addr, a->peer, p2pc_uv__now(u));
    return;
  }
  c->outbound = true;
  c->addr = a->addr;
  c->seed = seed;
  memcpy(c->peer, a->peer, sizeof c->peer);
  c->creq.data = c;
  int rv = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)to,
                          on_connect);
  if (rv < 0) {
    p2pc_node_dial_failed(u->node, &a->addr, a->peer, p2pc_uv__now(u));
    conn_close(c, true);
  }
}

void p2pc_uv__on_connection(uv_stream_t *server, int status) {
  p2pc_uv *u = server->data;
  if (status < 0)
    return;
  p2pc_uv_conn *c = conn_new(u);
  if (!c)
    return;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || u->closing) {
    conn_close(c, true);
    return;
  }
  /* The caller's address: the node bounds handshakes per address. */
  struct sockaddr_storage ss;
  int sl = (int)sizeof ss;
  memset(&c->addr, 0, sizeof c->addr);
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET) {
      const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
      c->addr.family = 4;
      memcpy(c->addr.addr, &s4->sin_addr, 4);
      c->addr.port = ntohs(s4->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
      c->addr.family = 6;
      memcpy(c->addr.addr, &s6->sin6_addr, 16);
      c->addr.port = ntohs(s6->sin6_port);
    }
  }
  link_conn(u, c);
  p2pc_uv__pump(u);
}

static void on_written(uv_write_t *req, int status) {
  p2pc_uv_conn *c = req->data;
  c->writing = false;
  if (c->closing)
    return; /* cancelled by the close */
  if (status < 0)
    conn_close(c, false);
  p2pc_uv__pump(c->u);
}

/* Hands a link's pending output to the kernel: try_write first (loopback
 * usually takes it all at once), the rest by one async write. */
static void flush_conn(p2pc_uv *u, p2pc_uv_conn *c) {
  if (c->writing || c->closing || !c->linked)
    return;
  const uint8_t *p;
  size_t len;
  p2pc_node_link_output(u->node, c->link, &p, &len);
  if (!len)
    return;
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == UV_EAGAIN)
    n = 0;
  if (n < 0) {
    conn_close(c, false);
    return;
  }
  p2pc_node_link_consume(u->node, c->link, (size_t)n);
  p2pc_node_link_output(u->node, c->link, &p, &len);
  if (!len)
    return;
  /* The node's buffer may move as it grows: write from our own copy. */
  if (len > c->wcap) {
    char *copy = u->alloc->realloc(c->wbuf, len, u->alloc->ud);
    if (!copy)
      return;
    c->wbuf = copy;
    c->wcap = len;
  }
  memcpy(c->wbuf, p, len);
  p2pc_node_link_consume(u->node, c->link, len);
  b = uv_buf_init(c->wbuf, (unsigned)len);
  c->wreq.data = c;
  if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) == 0)
    c->writing = true;
  else
    conn_close(c, false);
}

static void on_timer(uv_timer_t *t) {
  p2pc_uv *u = t->data;
  p2pc_node_on_deadline(u->node, p2pc_uv__now(u));
  p2pc_uv__pump(u);
}

static void pump_once(p2pc_uv *u) {
  /* What the events so far told the program is made durable first
   * (settings.before_output): the writes below may be acted on at once. */
  if (u->before_output)
    u->before_output(u->before_output_ud);
  u->dirty = false;
  p2pc_action a;
  while (p2pc_node_pop_action(u->node, &a)) {
    if (a.kind == P2PC_ACT_DIAL) {
      if (!u->closing)
        p2pc_uv__dial(u, &a);
      else
        p2pc_node_dial_failed(u->node, &a.addr, a.peer, p2pc_uv__now(u));
    } else if (a.link < u->nconns && u->conns[a.link]) {
      p2pc_uv_conn *c = u->conns[a.link];
      flush_conn(u, c); /* a last ERROR frame, if any */
      conn_close(c, false);
    } else {
      p2pc_node_link_closed(u->node, a.link, p2pc_uv__now(u));
    }
  }
  for (uint32_t i = 0; i < u->nconns; i++)
    if (u->conns[i])
      flush_conn(u, u->conns[i]);
  p2pc_uv__timesock_flush(u);
}

void p2pc_uv__pump(p2pc_uv *u) {
  if (!u->node || u->in_pump || u->quiet)
    return; /* not open yet or closed; or a callback inside the pump sent */
  u->in_pump = true;
  /* An event callback may send while the pump runs: go round again, a
   * few times at most (what is left waits for the next turn's flush). */
  for (int round = 0; round < 4 && (round == 0 || u->dirty); round++)
    pump_once(u);
  u->in_pump = false;
  u->now_valid = false; /* the turn is over */
  if (uv_is_closing((uv_handle_t *)&u->timer))
    return;
  /* At least 1 ms: libuv (1.44) runs a timer re-armed with 0 again in the
   * same pass, before any I/O, so a deadline already due would spin. */
  uint64_t d = p2pc_node_next_deadline(u->node), now = uv_hrtime();
  uint64_t ms = d == UINT64_MAX ? 1000
                : d <= now      ? 0
                                : (d - now + 999999) / 1000000;
  if (ms < 1)
    ms = 1;
  if (ms > 1000)
    ms = 1000;
  uv_timer_start(&u->timer, on_timer, ms, 0);
}

void p2pc_uv__close_conns(p2pc_uv *u) {
  for (p2pc_uv_conn *c = u->all; c; c = c->next)
    conn_close(c, true);
}
