/* SPDX-License-Identifier: MIT */
/*
 * ntpprobe's sockets: a target's connected UDP socket, the kernel
 * timestamps switched on for it (SO_TIMESTAMPING, else SO_TIMESTAMPNS),
 * reading replies with their RX stamps and the error queue with the TX
 * stamps, sending a round's request, and waiting out a round.
 */
#define _DEFAULT_SOURCE /* MSG_ERRQUEUE, SO_TIMESTAMPING and friends */

#include "ntpprobe.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Resolves HOST:PORT or [HOST]:PORT into a connected, non-blocking UDP
 * socket. Returns it, or -1 with a message in err. */
int open_target(const char *spec, char *err, size_t errlen) {
  char host[256];
  const char *port;
  size_t hlen;
  if (spec[0] == '[') {
    const char *close_br = strchr(spec, ']');
    if (close_br == NULL || close_br[1] != ':') {
      snprintf(err, errlen, "'%s': expected [IPV6]:PORT", spec);
      return -1;
    }
    hlen = (size_t)(close_br - spec - 1);
    port = close_br + 2;
    if (hlen == 0 || hlen >= sizeof host) {
      snprintf(err, errlen, "'%s': bad host", spec);
      return -1;
    }
    memcpy(host, spec + 1, hlen);
  } else {
    const char *colon = strrchr(spec, ':');
    if (colon == NULL || colon == spec || strchr(spec, ':') != colon) {
      snprintf(err, errlen, "'%s': expected HOST:PORT", spec);
      return -1;
    }
    hlen = (size_t)(colon - spec);
    port = colon + 1;
    if (hlen >= sizeof host) {
      snprintf(err, errlen, "'%s': host too long", spec);
      return -1;
    }
    memcpy(host, spec, hlen);
  }
  host[hlen] = '\0';
  long long pnum;
  if (!parse_uint(port, 65535, &pnum) || pnum == 0) {
    snprintf(err, errlen, "'%s': port must be 1..65535", spec);
    return -1;
  }
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) {
    snprintf(err, errlen, "'%s': %s", spec, gai_strerror(rc));
    return -1;
  }
  int fd = -1, saved = 0;
  for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                ai->ai_protocol);
    if (fd < 0) {
      saved = errno;
      continue;
    }
    /* Connected: the kernel drops datagrams from anyone else and reports
     * an ICMP port unreachable as ECONNREFUSED. */
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
      break;
    saved = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    snprintf(err, errlen, "'%s': %s", spec, strerror(saved));
  return fd;
}

/* Switches on the best timestamps the kernel offers on t->fd. */
void enable_timestamps(target *t) {
  int flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE |
              SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_TSONLY |
              SOF_TIMESTAMPING_OPT_ID;
  if (setsockopt(t->fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) ==
      0) {
    t->ts = TS_STAMPING;
    return;
  }
  int on = 1;
  if (setsockopt(t->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0) {
    t->ts = TS_NS;
    return;
  }
  t->ts = TS_USER;
}

/* Drains the error queue: the kernel's TX timestamps of our requests. */
static void read_errqueue(target *t) {
  for (;;) {
    union {
      char buf[512];
      struct cmsghdr align;
    } ctl;
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_control = ctl.buf;
    m.msg_controllen = sizeof ctl.buf;
    if (recvmsg(t->fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
      return; /* EAGAIN: empty */
    const struct scm_timestamping *stamp = NULL;
    const struct sock_extended_err *ee = NULL;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL;
         c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING)
        stamp = (const struct scm_timestamping *)(const void *)CMSG_DATA(c);
      else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
               (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))
        ee = (const struct sock_extended_err *)(const void *)CMSG_DATA(c);
    }
    if (stamp == NULL || ee == NULL || ee->ee_errno != ENOMSG ||
        ee->ee_origin != SO_EE_ORIGIN_TIMESTAMPING ||
        ee->ee_info != SCM_TSTAMP_SND)
      continue;
    if (ee->ee_data > t->tx_id && t->sent)
      t->tx_next_id = ee->ee_data + 1; /* resync: a send we did not count */
    if (!t->sent || t->have_tx || ee->ee_data != t->tx_id)
      continue;
    int64_t ns = timespec_ns(&stamp->ts[0]);
    if (ns != 0) {
      t->t1_kern = ns;
      t->have_tx = true;
    }
  }
}

/* Reads every datagram waiting on the socket. */
static void read_socket(target *t) {
  for (;;) {
    uint8_t buf[1024];
    union {
      char buf[512];
      struct cmsghdr align;
    } ctl;
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl.buf;
    m.msg_controllen = sizeof ctl.buf;
    ssize_t n = recvmsg(t->fd, &m, MSG_DONTWAIT);
    int64_t now = clock_ns(CLOCK_REALTIME);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == ECONNREFUSED && t->sent && !t->replied && !t->finished) {
        t->err = "refused"; /* ICMP port unreachable: nobody listens */
        t->finished = true;
        continue;
      }
      return;
    }
    int64_t t4 = now;
    bool kern = false;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL;
         c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level != SOL_SOCKET)
        continue;
      if (c->cmsg_type == SCM_TIMESTAMPING) {
        const struct scm_timestamping *s =
            (const struct scm_timestamping *)(const void *)CMSG_DATA(c);
        if (s->ts[0].tv_sec != 0 || s->ts[0].tv_nsec != 0) {
          t4 = timespec_ns(&s->ts[0]);
          kern = true;
        }
      } else if (c->cmsg_type == SCM_TIMESTAMPNS) {
        const struct timespec *s =
            (const struct timespec *)(const void *)CMSG_DATA(c);
        t4 = timespec_ns(s);
        kern = true;
      }
    }
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf;
    handle_reply(t, buf, len, t4, kern);
  }
}

void start_round(target *t) {
  t->sent = t->replied = t->have_tx = t->finished = false;
  t->err = NULL;
  memset(&t->cur, 0, sizeof t->cur);
  /* Whatever is still queued belongs to earlier rounds: counted as stale
   * (or bad) and dropped, and a pending ICMP error is cleared. */
  read_errqueue(t);
  read_socket(t);
}

void send_request(target *t) {
  uint8_t pkt[NTP_LEN];
  memset(pkt, 0, sizeof pkt);
  pkt[0] = (0 << 6) | (4 << 3) | 3; /* LI 0, VN 4, mode 3 (client) */
  do
    t->cookie = next_rand();
  while (t->cookie == 0);
  put_u64(pkt + 40, t->cookie);
  for (int attempt = 0; attempt < 2; attempt++) {
    t->t1_user = clock_ns(CLOCK_REALTIME);
    if (send(t->fd, pkt, sizeof pkt, 0) == (ssize_t)sizeof pkt) {
      t->sent = true;
      t->tx_id = t->tx_next_id++;
      t->n_sent++;
      return;
    }
    /* An ICMP error left over from an earlier round is reported by this
     * send: it is consumed now, so try once more. */
    if (errno != ECONNREFUSED && errno != EINTR)
      break;
  }
  t->err = errno == ECONNREFUSED ? "refused" : "send";
  t->finished = true;
}

/* Waits until every target in ts[0..n) is finished or the deadline (mono
 * ns) passes; then finishes the rest as timeouts. */
void wait_round(target **ts, size_t n, int64_t deadline) {
  for (;;) {
    int64_t now = clock_ns(CLOCK_MONOTONIC);
    bool over = now >= deadline;
    int64_t wake = deadline;
    struct pollfd pfd[MAX_TARGETS];
    target *owner[MAX_TARGETS];
    nfds_t np = 0;
    for (size_t i = 0; i < n; i++) {
      finish_target(ts[i], now, over);
      if (ts[i]->finished)
        continue;
      if (ts[i]->replied && ts[i]->reply_mono + TX_GRACE_NS < wake)
        wake = ts[i]->reply_mono + TX_GRACE_NS;
      pfd[np].fd = ts[i]->fd;
      pfd[np].events = POLLIN;
      pfd[np].revents = 0;
      owner[np++] = ts[i];
    }
    if (np == 0)
      return;
    int64_t left = wake - now;
    int ms = left <= 0 ? 0 : (int)((left + 999999) / 1000000);
    int rc = poll(pfd, np, ms);
    if (rc < 0 && errno != EINTR)
      return; /* cannot happen with valid fds; the caller times out */
    for (nfds_t i = 0; i < np && rc > 0; i++) {
      if (pfd[i].revents & POLLERR)
        read_errqueue(owner[i]);
      if (pfd[i].revents & (POLLIN | POLLERR))
        read_socket(owner[i]);
      if (pfd[i].revents & POLLIN)
        read_errqueue(owner[i]); /* the TX stamp may have come too */
    }
  }
}
