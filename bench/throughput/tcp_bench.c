/* SPDX-License-Identifier: MIT */
/*
 * tcp_bench: the raw framed TCP peer of bench/throughput. Every message is
 * a 4-byte big-endian length and SIZE payload bytes, on one TCP connection
 * over 127.0.0.1. It is the floor a messaging layer is compared with: no
 * routing, no copies beyond the socket calls, no threads.
 *
 *   push/pull  one way. The sender fills a 64 KiB buffer with as many whole
 *              frames as fit and writes it at once; the receiver reads up
 *              to 256 KiB at a time and parses every frame in it (checking
 *              each length), keeping a partial frame for the next read.
 *   req/rep    ping-pong with TCP_NODELAY: the client writes one frame and
 *              waits for the echo of the whole frame; the first COUNT/10
 *              round trips are warm-up and not counted.
 *
 * Command line and output: peer_common.h. Sockets time out after 1 s so
 * that every loop comes back to check the run's deadline.
 */
#include "peer_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define SEND_BATCH ((size_t)64 * 1024)
#define RECV_BUF ((size_t)256 * 1024)

static void set_timeouts(int fd) {
  struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
    peer_die_errno("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO)");
}

static void set_nodelay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
    peer_die_errno("setsockopt(TCP_NODELAY)");
}

static struct sockaddr_in loopback(unsigned port) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

/* Binds 127.0.0.1:PORT, prints the port, accepts one connection. */
static int listen_accept(const struct peer_args *a) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  if (lfd < 0)
    peer_die_errno("socket");
  int one = 1;
  if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    peer_die_errno("setsockopt(SO_REUSEADDR)");
  struct sockaddr_in sa = loopback(a->port);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0)
    peer_die_errno("bind 127.0.0.1:%u", a->port);
  if (listen(lfd, 1) != 0)
    peer_die_errno("listen");
  socklen_t len = sizeof sa;
  if (getsockname(lfd, (struct sockaddr *)&sa, &len) != 0)
    peer_die_errno("getsockname");
  peer_print_port(ntohs(sa.sin_port));
  for (;;) {
    struct pollfd p = {.fd = lfd, .events = POLLIN, .revents = 0};
    int ms = peer_remaining_ms(a);
    int rc = poll(&p, 1, ms > 1000 ? 1000 : ms);
    if (rc < 0 && errno != EINTR)
      peer_die_errno("poll");
    if (rc > 0)
      break;
    peer_check_deadline(a, "waiting for a connection");
  }
  int fd = accept(lfd, NULL, NULL);
  if (fd < 0)
    peer_die_errno("accept");
  close(lfd);
  set_timeouts(fd);
  return fd;
}

static int connect_to(const struct peer_args *a) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    peer_die_errno("socket");
  set_timeouts(fd);
  struct sockaddr_in sa = loopback(a->port);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    peer_die_errno("connect 127.0.0.1:%u", a->port);
  return fd;
}

static int would_block(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

static void write_all(const struct peer_args *a, int fd, const uint8_t *p,
                      size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (!would_block(errno))
        peer_die_errno("send");
      peer_check_deadline(a, "sending");
      continue;
    }
    p += w;
    n -= (size_t)w;
  }
}

/* One read of up to N bytes; 0 at end of stream. */
static size_t read_some(const struct peer_args *a, int fd, uint8_t *p,
                        size_t n) {
  for (;;) {
    ssize_t r = recv(fd, p, n, 0);
    if (r >= 0)
      return (size_t)r;
    if (!would_block(errno))
      peer_die_errno("recv");
    peer_check_deadline(a, "receiving");
  }
}

static void read_exact(const struct peer_args *a, int fd, uint8_t *p,
                       size_t n) {
  while (n > 0) {
    size_t r = read_some(a, fd, p, n);
    if (r == 0)
      peer_die("connection closed mid-frame");
    p += r;
    n -= r;
  }
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

static void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (p == NULL)
    peer_die("out of memory (%zu bytes)", n);
  return p;
}

static void run_push(const struct peer_args *a) {
  int fd = connect_to(a);
  size_t frame = 4 + a->size;
  size_t cap = frame > SEND_BATCH ? frame : SEND_BATCH;
  uint64_t per_batch = cap / frame;
  uint8_t *out = xmalloc(cap);
  uint8_t *payload = xmalloc(a->size);
  memset(payload, 0xa5, a->size);
  uint64_t sent = 0;
  while (sent < a->count) {
    peer_check_deadline(a, "sending");
    uint64_t k = a->count - sent < per_batch ? a->count - sent : per_batch;
    uint8_t *p = out;
    for (uint64_t i = 0; i < k; i++) {
      put_be32(p, (uint32_t)a->size);
      memcpy(p + 4, payload, a->size);
      p += frame;
    }
    write_all(a, fd, out, (size_t)(p - out));
    sent += k;
  }
  /* Half-close, then wait for the receiver to close once it has it all. */
  if (shutdown(fd, SHUT_WR) != 0)
    peer_die_errno("shutdown");
  uint8_t sink[64];
  while (read_some(a, fd, sink, sizeof sink) > 0) {
  }
  close(fd);
  free(out);
  free(payload);
}

static void run_pull(const struct peer_args *a) {
  int fd = listen_accept(a);
  size_t frame = 4 + a->size;
  size_t cap = 2 * frame > RECV_BUF ? 2 * frame : RECV_BUF;
  uint8_t *buf = xmalloc(cap);
  size_t have = 0;
  uint64_t got = 0;
  int64_t t0 = 0;
  while (got < a->count) {
    peer_check_deadline(a, "receiving");
    size_t r = read_some(a, fd, buf + have, cap - have);
    if (r == 0)
      peer_die("sender closed after %llu of %llu messages",
               (unsigned long long)got, (unsigned long long)a->count);
    have += r;
    size_t off = 0;
    while (have - off >= 4) {
      uint32_t len = get_be32(buf + off);
      if (len != a->size)
        peer_die("frame of %u bytes, expected %zu", (unsigned)len, a->size);
      if (have - off < 4 + (size_t)len)
        break;
      if (got == 0)
        t0 = peer_now_ns();
      off += 4 + (size_t)len;
      got++;
    }
    memmove(buf, buf + off, have - off);
    have -= off;
  }
  int64_t t1 = peer_now_ns();
  if (have != 0)
    peer_die("%zu bytes after the last message", have);
  peer_report_throughput(a, t1 - t0);
  close(fd);
  free(buf);
}

static void run_rep(const struct peer_args *a) {
  int fd = listen_accept(a);
  set_nodelay(fd);
  size_t frame = 4 + a->size;
  uint8_t *buf = xmalloc(frame);
  for (uint64_t i = 0; i < a->count; i++) {
    read_exact(a, fd, buf, frame);
    if (get_be32(buf) != a->size)
      peer_die("frame of %u bytes, expected %zu", (unsigned)get_be32(buf),
               a->size);
    write_all(a, fd, buf, frame);
  }
  close(fd);
  free(buf);
}

static void run_req(const struct peer_args *a) {
  int fd = connect_to(a);
  set_nodelay(fd);
  size_t frame = 4 + a->size;
  uint8_t *out = xmalloc(frame);
  uint8_t *in = xmalloc(frame);
  put_be32(out, (uint32_t)a->size);
  memset(out + 4, 0x5a, a->size);
  uint64_t warmup = peer_rtt_warmup(a);
  int64_t *samples = xmalloc((size_t)(a->count - warmup) * sizeof *samples);
  size_t n = 0;
  for (uint64_t i = 0; i < a->count; i++) {
    peer_check_deadline(a, "in round trips");
    int64_t t0 = peer_now_ns();
    write_all(a, fd, out, frame);
    read_exact(a, fd, in, frame);
    int64_t t1 = peer_now_ns();
    if (memcmp(in, out, frame) != 0)
      peer_die("echo differs from the request");
    if (i >= warmup)
      samples[n++] = t1 - t0;
  }
  close(fd);
  peer_report_rtt(a, samples, n, warmup);
  free(samples);
  free(in);
  free(out);
}

int main(int argc, char **argv) {
  struct peer_args a;
  peer_parse_args(&a, argc, argv, "tcp_bench");
  switch (a.mode) {
  case PEER_PULL:
    run_pull(&a);
    break;
  case PEER_PUSH:
    run_push(&a);
    break;
  case PEER_REP:
    run_rep(&a);
    break;
  case PEER_REQ:
    run_req(&a);
    break;
  }
  return 0;
}
