/* SPDX-License-Identifier: MIT */
/*
 * The demo as a standard NTP client of its nodes' time ports: one
 * exchange with a node (its offset from the demo's real clock and the
 * delay), and a round over every running node (their median and spread),
 * once a second while the demo runs. The packets and the on-wire maths
 * are the core's (ntp.h): the demo encodes and decodes nothing itself.
 */
#include "demo_ntp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ntp.h"

int64_t p2pc__demo_real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The demo's NTP client socket on 127.0.0.1; -errno on failure. */
int p2pc__demo_ntp_open(p2pc_demo *d) {
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  d->ntp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (d->ntp_fd < 0)
    return -errno;
  if (bind(d->ntp_fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(d->ntp_fd);
    d->ntp_fd = -1;
    return -e;
  }
  return 0;
}

/*
 * One standard NTP exchange with node n's time port (its listen port): a
 * 48-byte mode-3 request whose transmit field is a random cookie (the
 * real send time stays here, as ntpprobe does), and its reply within
 * NTP_WAIT_MS: mode 4, our cookie as origin, from that port. The offset
 * (the node's network time minus the demo's real clock) and the delay
 * follow RFC 5905 §8 with user-space stamps (the delay floored at 0).
 * One node at a time, so no reply waits in the socket while another is
 * read. Replies to earlier, timed-out requests, and datagrams the core's
 * decoder rejects, are skipped. Returns 0 or -ETIMEDOUT / -errno.
 */
static int ntp_query(p2pc_demo *d, p2pc_demo_node *n) {
  uint8_t req[P2PC_NTP_HEADER_LEN], rep[P2PC_NTP_HEADER_LEN + 512];
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(n->port)};
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  d->cookie_rng ^= d->cookie_rng << 13;
  d->cookie_rng ^= d->cookie_rng >> 7;
  d->cookie_rng ^= d->cookie_rng << 17;
  uint64_t cookie = d->cookie_rng;
  /* a bare header, zero but for LI 0, version 4, mode 3 and the cookie */
  p2pc_ntp_header_put(req, &(p2pc_ntp_header){.li = P2PC_NTP_LI_NONE,
                                              .version = 4,
                                              .mode = P2PC_NTP_MODE_CLIENT,
                                              .xmt = cookie});
  int64_t t1 = p2pc__demo_real_ns();
  if (sendto(d->ntp_fd, req, sizeof req, 0, (struct sockaddr *)&to, sizeof to) <
      0)
    return -errno;
  double end = now_s() + NTP_WAIT_MS / 1000.0;
  for (;;) {
    int left = (int)((end - now_s()) * 1000) + 1;
    struct pollfd pfd = {.fd = d->ntp_fd, .events = POLLIN};
    if (left <= 0 || poll(&pfd, 1, left) <= 0) {
      if (now_s() >= end)
        return -ETIMEDOUT;
      continue; /* EINTR */
    }
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    ssize_t k = recvfrom(d->ntp_fd, rep, sizeof rep, MSG_DONTWAIT,
                         (struct sockaddr *)&from, &fl);
    int64_t t4 = p2pc__demo_real_ns();
    p2pc_ntp_header h;
    p2pc_ntp_ext ext; /* a node answers a bare request with a bare reply */
    bool has_ext;
    if (k < 0 || from.sin_port != to.sin_port ||
        p2pc_ntp_decode(rep, (size_t)k, &h, &ext, &has_ext) < 0 ||
        h.mode != P2PC_NTP_MODE_SERVER || h.org != cookie)
      continue;
    int64_t t2 = p2pc_ntp_ts_to_ns(h.rec, t1);
    int64_t t3 = p2pc_ntp_ts_to_ns(h.xmt, t1);
    n->ntp_li = h.li;
    p2pc_ntp_offset_delay(t1, t2, t3, t4, 0, &n->ntp_offset, &n->ntp_delay);
    return 0;
  }
}

int p2pc__demo_cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* One NTP round over every running node; the median and the spread of the
 * offsets of those that answered. Returns how many answered. */
int p2pc__demo_ntp_round(p2pc_demo *d) {
  int64_t offs[P2PC_DEMO_NODES_MAX];
  int k = 0;
  for (int i = 0; i < d->o.nodes; i++) {
    p2pc_demo_node *n = &d->n[i];
    n->ntp_ok = n->pid > 0 && n->state == NODE_UP && d->ntp_fd >= 0 &&
                ntp_query(d, n) == 0;
    if (n->ntp_ok)
      offs[k++] = n->ntp_offset;
  }
  d->ntp_answered = k;
  if (k == 0)
    return 0;
  qsort(offs, (size_t)k, sizeof offs[0], p2pc__demo_cmp_i64);
  d->ntp_median = k % 2 ? offs[k / 2] : (offs[k / 2 - 1] + offs[k / 2]) / 2;
  d->ntp_spread = offs[k - 1] - offs[0];
  return k;
}

/* Runs an NTP round when one is due. */
void p2pc__demo_ntp_tick(p2pc_demo *d) {
  if (now_s() < d->next_ntp)
    return;
  d->next_ntp = now_s() + NTP_EVERY_S;
  p2pc__demo_ntp_round(d);
}
