/* SPDX-License-Identifier: MIT */
/*
 * pollnode: two p2pclock nodes in one process, driven through the
 * sans-I/O layer (<p2pclock/node.h>) by a plain poll(2) loop with our
 * own TCP sockets. No libuv: this is how to fit a node into any event
 * loop (epoll, kqueue, a game loop, an RTOS...).
 *
 * The node never touches a socket or a clock. We
 *   - give it clock readings with every call (p2pc_now);
 *   - accept and dial TCP connections and tell it (p2pc_node_link_new);
 *   - feed it the bytes we read (p2pc_node_link_input) and write the
 *     bytes it wants written (p2pc_node_link_output / _link_consume);
 *   - do what it asks (p2pc_node_pop_action: dial, close);
 *   - call it when its timer is due (p2pc_node_next_deadline).
 * Clock synchronization (a UDP socket) is switched off to keep this short.
 *
 * The run: b dials a; when the link is up b sends "ping", a answers
 * "pong", and when b has the answer both leave. Exit status 0 on success,
 * 1 if that did not happen within a deadline.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime & co. */
#include <p2pclock/node.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 8
#define DEADLINE_NS (20 * 1000000000ull) /* give up after 20 s */

typedef struct host { /* one node and its listening socket */
  const char *name;
  p2pc_node *node;
  int listen_fd;
  p2pc_addr addr; /* where it listens */
} host;

typedef struct conn { /* one TCP connection; fd -1: a free slot */
  int fd;
  host *h;         /* the node it belongs to */
  p2pc_link_id id; /* the node's name for it, once linked */
  int connecting;  /* a dial still in progress */
  p2pc_addr addr;  /* the address dialed */
  char peer[P2PC_NODE_ID_MAX + 1];
} conn;

static conn conns[MAX_CONNS];
static int done; /* b got the answer */

static p2pc_now now(void) {
  struct timespec m, r;
  clock_gettime(CLOCK_MONOTONIC, &m);
  clock_gettime(CLOCK_REALTIME, &r);
  return (p2pc_now){(uint64_t)m.tv_sec * 1000000000u + (uint64_t)m.tv_nsec,
                    (int64_t)r.tv_sec * 1000000000 + r.tv_nsec};
}

/* ---- what the nodes tell us ------------------------------------------ */

static void on_event(void *ud, p2pc_node *n, const p2pc_event *ev) {
  host *h = ud;
  if (ev->type == P2PC_EVENT_PEER_UP) {
    printf("%s: link to %s is up\n", h->name, ev->peer);
    if (strcmp(h->name, "b") == 0) /* b starts the conversation */
      p2pc_node_send(n, "a", (const uint8_t *)"ping", 4, ev->now, NULL);
  } else if (ev->type == P2PC_EVENT_DELIVERED) {
    char id[P2PC_MSGID_TEXT_MAX];
    p2pc_msgid_format(&ev->msg, id, sizeof id);
    printf("%s: delivered [%s] from %s: %.*s\n", h->name, id, ev->msg.node,
           (int)ev->len, (const char *)ev->payload);
    if (strcmp(h->name, "a") == 0) /* sending from the callback is fine */
      p2pc_node_send(n, ev->msg.node, (const uint8_t *)"pong", 4, ev->now,
                     NULL);
    else
      done = ev->len == 4 && memcmp(ev->payload, "pong", 4) == 0;
  }
}

/* ---- sockets ----------------------------------------------------------- */

static int nonblocking(int fd) {
  return fd < 0 ? -1 : fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static conn *add_conn(int fd, host *h) {
  for (int i = 0; i < MAX_CONNS; i++)
    if (conns[i].fd < 0) {
      memset(&conns[i], 0, sizeof conns[i]);
      conns[i].fd = fd;
      conns[i].h = h;
      return &conns[i];
    }
  close(fd); /* no room: refuse */
  return NULL;
}

static void drop_conn(conn *c, int tell_node) {
  close(c->fd);
  c->fd = -1;
  if (tell_node) /* the link is gone */
    p2pc_node_link_closed(c->h->node, c->id, now());
}

static struct sockaddr_in to_sockaddr(const p2pc_addr *a) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(a->port)};
  memcpy(&sa.sin_addr, a->addr, 4); /* IPv4 only, to stay short */
  return sa;
}

/* Writes what the node wants written on c, as far as the kernel takes. */
static void flush(conn *c) {
  const uint8_t *p;
  size_t len;
  p2pc_node_link_output(c->h->node, c->id, &p, &len);
  if (len == 0)
    return;
  /* MSG_NOSIGNAL: a peer that has gone is an error here, not a SIGPIPE. */
  ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
  if (n > 0)
    p2pc_node_link_consume(c->h->node, c->id, (size_t)n);
}

/* Does what the node asked for, then writes its output. */
static void serve(host *h) {
  p2pc_action a;
  while (p2pc_node_pop_action(h->node, &a)) {
    if (a.kind == P2PC_ACT_DIAL) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      struct sockaddr_in sa = to_sockaddr(&a.addr);
      conn *c = nonblocking(fd) < 0 ? NULL : add_conn(fd, h);
      if (!c || (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 &&
                 errno != EINPROGRESS)) {
        if (c)
          drop_conn(c, 0);
        p2pc_node_dial_failed(h->node, &a.addr, a.peer, now());
        continue;
      }
      c->connecting = 1; /* done when the socket becomes writable */
      c->addr = a.addr;
      memcpy(c->peer, a.peer, sizeof c->peer);
    } else { /* P2PC_ACT_CLOSE: last words out, then close */
      for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i].fd >= 0 && conns[i].h == h && !conns[i].connecting &&
            conns[i].id == a.link) {
          flush(&conns[i]);
          drop_conn(&conns[i], 1);
        }
    }
  }
  for (int i = 0; i < MAX_CONNS; i++)
    if (conns[i].fd >= 0 && conns[i].h == h && !conns[i].connecting)
      flush(&conns[i]);
}

/* A connection became readable, writable or failed. */
static void on_conn(conn *c, short revents) {
  host *h = c->h;
  if (c->connecting) { /* the dial's outcome */
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    c->connecting = 0;
    if (err != 0 ||
        p2pc_node_link_new(h->node, 1, c->peer, &c->addr, now(), &c->id) != 0) {
      drop_conn(c, 0);
      p2pc_node_dial_failed(h->node, &c->addr, c->peer, now());
    }
    return;
  }
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    uint8_t buf[4096];
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n > 0)
      p2pc_node_link_input(h->node, c->id, buf, (size_t)n, now());
    else if (n == 0 || errno != EAGAIN)
      drop_conn(c, 1); /* closed by the peer, or broken */
  }
}

static void on_listen(host *h) {
  int fd = accept(h->listen_fd, NULL, NULL);
  conn *c = nonblocking(fd) < 0 ? NULL : add_conn(fd, h);
  if (c && p2pc_node_link_new(h->node, 0, NULL, NULL, now(), &c->id) != 0)
    drop_conn(c, 0);
}

/* A listening socket on 127.0.0.1 with a port the kernel picks. */
static int listen_any(host *h) {
  struct sockaddr_in sa = {.sin_family = AF_INET};
  socklen_t len = sizeof sa;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  h->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  if (nonblocking(h->listen_fd) < 0 ||
      bind(h->listen_fd, (struct sockaddr *)&sa, len) ||
      listen(h->listen_fd, 8) ||
      getsockname(h->listen_fd, (struct sockaddr *)&sa, &len))
    return -1;
  h->addr = (p2pc_addr){.family = 4, .port = ntohs(sa.sin_port)};
  memcpy(h->addr.addr, &sa.sin_addr, 4);
  return 0;
}

static int open_node(host *h, const p2pc_seed *seed) {
  p2pc_settings s;
  p2pc_settings_default(&s);
  s.id = h->name;
  s.incarnation = (uint64_t)now().local_ns; /* differs on every start */
  s.listen = h->addr;                       /* what peers are told */
  s.seeds = seed;
  s.nseeds = seed ? 1 : 0;
  s.clock.enabled = 0; /* no UDP time socket in this example */
  return p2pc_node_open(&h->node, &s, on_event, h, now());
}

/* ---- the loop ----------------------------------------------------------- */

int main(void) {
  host hosts[2] = {{.name = "a"}, {.name = "b"}};
  for (int i = 0; i < MAX_CONNS; i++)
    conns[i].fd = -1;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (listen_any(&hosts[0]) || listen_any(&hosts[1])) {
    perror("pollnode: listen");
    return 1;
  }
  p2pc_seed seed = {.id = "a", .addr = hosts[0].addr}; /* b knows a */
  if (open_node(&hosts[0], NULL) || open_node(&hosts[1], &seed)) {
    fprintf(stderr, "pollnode: cannot open the nodes\n");
    return 1;
  }
  uint64_t give_up = now().mono_ns + DEADLINE_NS;

  while (!done && now().mono_ns < give_up) {
    for (int i = 0; i < 2; i++)
      serve(&hosts[i]);
    /* What to wait for: new connections, data, dials completing, room
     * to write what is left. */
    struct pollfd pfd[2 + MAX_CONNS];
    conn *who[2 + MAX_CONNS];
    int n = 0;
    for (int i = 0; i < 2; i++, n++)
      pfd[n] = (struct pollfd){.fd = hosts[i].listen_fd, .events = POLLIN};
    for (int i = 0; i < MAX_CONNS; i++)
      if (conns[i].fd >= 0) {
        const uint8_t *p;
        size_t left = 0;
        if (!conns[i].connecting)
          p2pc_node_link_output(conns[i].h->node, conns[i].id, &p, &left);
        who[n] = &conns[i];
        pfd[n++] = (struct pollfd){
            .fd = conns[i].fd,
            .events =
                conns[i].connecting ? POLLOUT : POLLIN | (left ? POLLOUT : 0)};
      }
    /* ... and at most until the earlier of the nodes' timers. */
    uint64_t t = now().mono_ns, next = t + 1000000000u;
    for (int i = 0; i < 2; i++) {
      uint64_t d = p2pc_node_next_deadline(hosts[i].node);
      next = d < next ? d : next;
    }
    poll(pfd, (nfds_t)n, next > t ? (int)((next - t) / 1000000u) : 0);

    for (int i = 0; i < 2; i++) {
      if (p2pc_node_next_deadline(hosts[i].node) <= now().mono_ns)
        p2pc_node_on_deadline(hosts[i].node, now());
      if (pfd[i].revents & POLLIN)
        on_listen(&hosts[i]);
    }
    for (int i = 2; i < n; i++)
      if (pfd[i].revents && who[i]->fd == pfd[i].fd)
        on_conn(who[i], pfd[i].revents);
  }

  /* Leave politely, then close everything. */
  for (int i = 0; i < 2; i++) {
    p2pc_node_shutdown(hosts[i].node, now());
    serve(&hosts[i]);
  }
  for (int i = 0; i < MAX_CONNS; i++)
    if (conns[i].fd >= 0)
      close(conns[i].fd);
  for (int i = 0; i < 2; i++) {
    close(hosts[i].listen_fd);
    p2pc_node_close(hosts[i].node);
  }
  printf("pollnode: %s\n", done ? "OK" : "FAILED: no answer in time");
  return done ? 0 : 1;
}
