/* SPDX-License-Identifier: MIT */
/*
 * The UDP time socket (uv_int.h): a plain socket watched with uv_poll,
 * because uv_udp hides the control messages that carry the kernel's
 * receive and transmit timestamps (SO_TIMESTAMPING, else SO_TIMESTAMPNS,
 * else user-space readings). Every stamp goes through the node's local
 * clock (vclock.c) before the node sees it.
 */
#define _GNU_SOURCE
#include "uv_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Datagrams read per readable event, error-queue entries read per drain,
 * datagrams sent per turn. */
#define TIME_RX_BATCH 64
#define TIME_ERRQ_BATCH 64
#define TIME_TX_BATCH 4096

static const char *const ts_mode_names[] = {"user", "kernel-rx",
                                            "kernel-rx-tx"};
static const char *const ts_mode_how[] = {
    "user-space timestamps", "kernel RX timestamps (SO_TIMESTAMPNS)",
    "kernel RX and TX timestamps (SO_TIMESTAMPING)"};

const char *p2pc_uv__timesock_mode_name(const p2pc_uv *u) {
  return u->ts.fd >= 0 ? ts_mode_names[u->ts.mode] : "none";
}

const char *p2pc_uv__timesock_mode_how(const p2pc_uv *u) {
  return ts_mode_how[u->ts.mode];
}

static void put_be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

/* A v4-mapped IPv6 source (a dual-stack socket) is an IPv4 peer to the
 * core, as it is on the TCP side. */
static bool wire_of_sockaddr(const struct sockaddr_storage *ss, p2pc_addr *wa) {
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
static bool sockaddr_for_time(const p2pc_uv *u, const p2pc_addr *wa,
                              struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (u->ts.family == AF_INET && wa->family == 4) {
    p2pc_uv__to_sockaddr(wa, ss);
    *len = sizeof(struct sockaddr_in);
  } else if (u->ts.family == AF_INET6 && wa->family == 6) {
    p2pc_uv__to_sockaddr(wa, ss);
    *len = sizeof(struct sockaddr_in6);
  } else if (u->ts.family == AF_INET6 && wa->family == 4) {
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
static void reset_tx_keys(p2pc_uv *u) {
  int off = TS_FLAGS_BASE, on = TS_FLAGS_BASE | SOF_TIMESTAMPING_OPT_ID;
  if (setsockopt(u->ts.fd, SOL_SOCKET, SO_TIMESTAMPING, &off, sizeof off) < 0 ||
      setsockopt(u->ts.fd, SOL_SOCKET, SO_TIMESTAMPING, &on, sizeof on) < 0)
    p2pc_uv__log(u, P2PC_LOG_WARN, "time: cannot reset SO_TIMESTAMPING: %s",
                 strerror(errno));
  u->ts.tx_key = 0;
  memset(u->ts.txmap, 0, sizeof u->ts.txmap);
}

static void remember_tx(p2pc_uv *u, uint32_t key, uint32_t token) {
  u->ts.txmap[u->ts.txmap_next].key = key;
  u->ts.txmap[u->ts.txmap_next].token = token;
  u->ts.txmap_next = (u->ts.txmap_next + 1) % P2PC_UV_TXMAP_LEN;
}

/* A kernel transmit stamp for the send numbered key. */
static void tx_stamped(p2pc_uv *u, uint32_t key, const struct timespec *ts) {
  for (uint32_t i = 0; i < P2PC_UV_TXMAP_LEN; i++) {
    if (u->ts.txmap[i].token && u->ts.txmap[i].key == key) {
      uint32_t token = u->ts.txmap[i].token;
      u->ts.txmap[i].token = 0;
      u->ts.tx_kernel++;
      p2pc_node_time_sent(
          u->node, token,
          p2pc_uv__local_of_real(&u->vc, p2pc_uv__ns_of_timespec(ts)), true,
          p2pc_uv__now(u));
      return;
    }
  }
}

/* Reads the error queue: the kernel's transmit stamps. Returns how many
 * entries it read. */
static int drain_errqueue(p2pc_uv *u) {
  int got = 0;
  if (u->ts.fd < 0)
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
    ssize_t n = recvmsg(u->ts.fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
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
      tx_stamped(u, ee.ee_data, &tss.ts[0]);
  }
  return got;
}

/* Reads what arrived (bounded; the poll is level-triggered, so what is
 * left wakes the next turn) and hands it to the core with its receive
 * time on the local clock. */
static void time_read(p2pc_uv *u) {
  for (int i = 0; i < TIME_RX_BATCH; i++) {
    union {
      char buf[CMSG_SPACE(sizeof(struct scm_timestamping)) +
               CMSG_SPACE(sizeof(struct timespec)) + 64];
      struct cmsghdr align;
    } ctl;
    struct sockaddr_storage from;
    struct iovec iov = {u->ts.buf, sizeof u->ts.buf};
    struct msghdr m = {.msg_name = &from,
                       .msg_namelen = sizeof from,
                       .msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
    ssize_t n = recvmsg(u->ts.fd, &m, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        p2pc_uv__log(u, P2PC_LOG_DEBUG, "time: recvmsg: %s", strerror(errno));
      return;
    }
    int64_t real = p2pc_uv__real_now(); /* the user-space stamp, if no better */
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
        real = p2pc_uv__ns_of_timespec(&ts[0]);
        kernel = true;
      }
    }
    p2pc_addr wa;
    if (!wire_of_sockaddr(&from, &wa))
      continue;
    if (kernel)
      u->ts.rx_kernel++;
    else
      u->ts.rx_user++;
    /* n is at most the buffer: a longer datagram comes in cut, and at
     * that length the core refuses it. */
    p2pc_node_time_input(u->node, &wa, u->ts.buf, (size_t)n,
                         p2pc_uv__local_of_real(&u->vc, real), kernel,
                         p2pc_uv__now(u));
  }
}

static void send_datagram(p2pc_uv *u, p2pc_datagram *d) {
  struct sockaddr_storage ss;
  socklen_t sl;
  if (!sockaddr_for_time(u, &d->to, &ss, &sl) || d->len > sizeof d->data) {
    u->ts.tx_errors++;
    return;
  }
  struct iovec iov = {d->data, d->len};
  struct msghdr m = {
      .msg_name = &ss, .msg_namelen = sl, .msg_iov = &iov, .msg_iovlen = 1};
  /* The user-space transmit time: read as late as possible. */
  int64_t local = p2pc_uv__local_of_real(&u->vc, p2pc_uv__real_now());
  if (d->stamp_xmt && d->len >= P2PC_NTP_XMT_OFFSET + 8)
    put_be64(d->data + P2PC_NTP_XMT_OFFSET,
             p2pc_ntp_ts_from_ns(local + d->xmt_corr));
  ssize_t n;
  do
    n = sendmsg(u->ts.fd, &m, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    u->ts.tx_errors++;
    if (u->ts.tx_errors < 10 || u->ts.tx_errors % 1000 == 0)
      p2pc_uv__log(u, P2PC_LOG_DEBUG, "time: sendmsg: %s (%llu send errors)",
                   strerror(errno), (unsigned long long)u->ts.tx_errors);
    if (u->ts.mode == P2PC_UV_TSM_KERNEL_RXTX) {
      drain_errqueue(u);
      reset_tx_keys(u);
    }
    return;
  }
  uint32_t key = u->ts.tx_key++;
  u->ts.tx_sent++;
  if (d->token) {
    u->ts.tx_timed++;
    p2pc_node_time_sent(u->node, d->token, local, false, p2pc_uv__now(u));
  }
  if (u->ts.mode == P2PC_UV_TSM_KERNEL_RXTX) {
    if (d->token)
      remember_tx(u, key, d->token);
    /* Every send is stamped (answers too): take the stamp now, on
     * loopback it is already there, rather than wake up for it. */
    drain_errqueue(u);
  }
}

/* Sends what the node queued (from the pump, once per turn). */
void p2pc_uv__timesock_flush(p2pc_uv *u) {
  p2pc_datagram d;
  bool drained = false;
  for (int i = 0; i < TIME_TX_BATCH && p2pc_node_pop_datagram(u->node, &d);
       i++) {
    if (u->ts.fd < 0)
      continue; /* no time socket: nothing can go out */
    if (!drained && u->ts.mode == P2PC_UV_TSM_KERNEL_RXTX) {
      drain_errqueue(u); /* late stamps of earlier sends first */
      drained = true;
    }
    send_datagram(u, &d);
  }
}

static void on_time_poll(uv_poll_t *h, int status, int events);

static void time_poll_start(p2pc_uv *u) {
  if (u->ts.fd >= 0 && !uv_is_closing((uv_handle_t *)&u->ts.poll))
    uv_poll_start(&u->ts.poll, UV_READABLE, on_time_poll);
}

static void on_time_retry(uv_timer_t *t) {
  p2pc_uv *u = t->data;
  time_poll_start(u);
}

static void on_time_poll(uv_poll_t *h, int status, int events) {
  p2pc_uv *u = h->data;
  if (status < 0) {
    /* libuv reports POLLERR as UV_EBADF and stops the poll. POLLERR here
     * means transmit stamps waiting on the error queue (or a pending
     * socket error): take them, then watch again. If there was nothing
     * to take, the condition is something else, and re-arming at once
     * would spin: after a few such wake-ups, wait a little. */
    u->ts.poll_errors++;
    int got = drain_errqueue(u);
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(u->ts.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl); /* clears it */
    time_read(u);
    if (got > 0 || soerr != 0 || ++u->ts.idle_errs < 3) {
      if (got > 0 || soerr != 0)
        u->ts.idle_errs = 0;
      time_poll_start(u);
    } else {
      u->ts.idle_errs = 0;
      p2pc_uv__log(u, P2PC_LOG_DEBUG, "time: socket error condition persists");
      uv_timer_start(&u->ts.retry, on_time_retry, 10, 0);
    }
  } else if (events & UV_READABLE) {
    u->ts.idle_errs = 0;
    time_read(u);
  }
  p2pc_uv__pump(u);
}

/* With the best timestamping the kernel gives (up to want). Nothing is
 * left open on failure. */
int p2pc_uv__timesock_open(p2pc_uv *u, const p2pc_addr *host, uint16_t port,
                           p2pc_uv_timestamping want) {
  p2pc_addr wa = *host;
  struct sockaddr_storage ss;
  wa.port = port;
  p2pc_uv__to_sockaddr(&wa, &ss);
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
  p2pc_addr bw;
  if (getsockname(fd, (struct sockaddr *)&bound, &sl) == 0 &&
      wire_of_sockaddr(&bound, &bw))
    port = bw.port;
  int flags = TS_FLAGS_BASE | SOF_TIMESTAMPING_OPT_ID, one = 1;
  if (want == P2PC_UV_TS_AUTO &&
      setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags) == 0)
    u->ts.mode = P2PC_UV_TSM_KERNEL_RXTX;
  else if (want <= P2PC_UV_TS_KERNEL_RX &&
           setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) == 0)
    u->ts.mode = P2PC_UV_TSM_KERNEL_RX;
  else
    u->ts.mode = P2PC_UV_TSM_USER;
  int rv = uv_poll_init(u->loop, &u->ts.poll, fd);
  if (rv < 0) {
    close(fd);
    return rv;
  }
  u->ts.poll.data = u;
  u->ts.poll_init = true;
  u->handles++;
  u->ts.fd = fd;
  u->ts.family = family;
  u->ts.port = port;
  time_poll_start(u);
  return 0;
}

static void on_poll_closed(uv_handle_t *h) {
  p2pc_uv *u = h->data;
  /* After its uv_poll is closed: the poll does not own the socket. */
  close(u->ts.fd);
  u->ts.fd = -1;
  p2pc_uv__handle_closed(u);
}

void p2pc_uv__timesock_close(p2pc_uv *u) {
  if (u->ts.poll_init && !uv_is_closing((uv_handle_t *)&u->ts.poll))
    uv_close((uv_handle_t *)&u->ts.poll, on_poll_closed);
}

void p2pc_uv_stats_get(const p2pc_uv *u, p2pc_uv_stats *st) {
  memset(st, 0, sizeof *st);
  st->timestamping = p2pc_uv__timesock_mode_name(u);
  st->time_port = u->ts.fd >= 0 ? u->ts.port : 0;
  st->rx_kernel = u->ts.rx_kernel;
  st->rx_user = u->ts.rx_user;
  st->tx_kernel = u->ts.tx_kernel;
  st->tx = u->ts.tx_sent;
  st->tx_timed = u->ts.tx_timed;
  st->tx_errors = u->ts.tx_errors;
  st->poll_errors = u->ts.poll_errors;
}
