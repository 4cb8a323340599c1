/* SPDX-License-Identifier: MIT */
/*
 * ntpprobe: an external NTP client for tests and benchmarks. It measures
 * the offset and delay (RFC 5905 §8) of one or more NTP servers from
 * outside, exactly as a standard client sees them, and never touches the
 * system clock.
 *
 *   ntpprobe [--count N] [--interval-ms M] [--timeout-ms T] [--serial]
 *            [--json] HOST:PORT...
 *
 *   --count N        rounds to run, 0 = until SIGINT/SIGTERM [1]
 *   --interval-ms M  from the start of one round to the next [1000]
 *   --timeout-ms T   how long a round waits for replies [500]
 *   --serial         query the targets one after the other (each waits for
 *                    its reply or T) instead of sending to all at once
 *   --json           one JSON object per line per round, then a summary
 *                    line (below), instead of the table
 *   HOST:PORT        an IPv4 address, a host name or [IPv6]; up to 64
 *
 * A round sends one 48-byte mode-3 request (LI 0, VN 4) to each target,
 * back to back, with a random transmit timestamp as the cookie; the real
 * send time is kept aside. Replies must be mode 4, version 3 or 4, carry
 * the cookie as origin timestamp, have non-zero receive and transmit
 * timestamps and be the first for that request; everything else is
 * counted (bad, stale, duplicate) and ignored. Stratum 0 with a
 * four-letter refid is a kiss-o'-death, reported as the error "kod:CODE";
 * stratum 0 without one (an unsynchronized server, e.g. chrony) is a sample
 * like any other, its LI (3) telling that the server is not synchronized.
 * Because all targets of a round are measured against the same local clock
 * within a few hundred microseconds, pairwise differences of their offsets
 * cancel the probe's own clock.
 *
 * T1 and T4 are CLOCK_REALTIME kernel software timestamps when the kernel
 * gives them (SO_TIMESTAMPING TX+RX, OPT_TSONLY, OPT_ID); otherwise RX
 * falls back to SO_TIMESTAMPNS, and either falls back to clock_gettime in
 * user space. The JSON says which was used ("ts": two letters, TX then RX,
 * k = kernel, u = user space).
 *
 * JSON, one line per round:
 *   {"round":1,"t_ns":<realtime at the round's start>,"targets":[
 *     {"addr":"127.0.0.1:123","offset_ns":-512,"delay_ns":8311,
 *      "stratum":1,"li":0,"refid":"LOCL","root_delay_ns":0,
 *      "root_disp_ns":15258,"ts":"kk"},
 *     {"addr":"127.0.0.1:124","error":"timeout"}]}
 * and last a line {"summary":{"rounds":N,"targets":[{"addr",...}]}} with,
 * per target, sent, answered, timeouts, errors, bad, stale, dup, and for the
 * answered ones min_delay_ns, min_delay_offset_ns (the offset measured with
 * the smallest delay), median_offset_ns and median_delay_ns (over the last
 * 65536 samples). offset = server − probe clock; errors: timeout, refused,
 * send, kod:CODE.
 *
 * Exit status: 0 if every target answered at least once, 1 if one never
 * did (or memory ran out), 2 for a usage error or a target that cannot be
 * resolved or opened.
 */
#define _DEFAULT_SOURCE /* MSG_ERRQUEUE, SO_TIMESTAMPING and friends */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define MAX_TARGETS 64
#define NTP_LEN 48
#define NTP_UNIX_OFFSET 2208988800u /* 1970 − 1900, seconds */
#define KEEP_SAMPLES 65536          /* per target, for the medians */
/* After its reply, how long a target may still wait for its TX stamp. */
#define TX_GRACE_NS 5000000
#define NS 1000000000LL

enum ts_mode { TS_USER = 0, TS_NS = 1, TS_STAMPING = 2 };

typedef struct sample {
  int64_t offset, delay;
  int64_t root_delay, root_disp;
  uint32_t refid;
  uint8_t stratum, li;
  bool tx_kernel, rx_kernel;
} sample;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static int64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static int64_t timespec_ns(const struct timespec *ts) {
  return (int64_t)ts->tv_sec * NS + ts->tv_nsec;
}

/* splitmix64, seeded from /dev/urandom (and the clock and PID, should that
 * fail): cookies need only be unpredictable enough not to collide. */
static uint64_t rng_state;

static void seed_rng(void) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, &rng_state, sizeof rng_state) != (ssize_t)sizeof rng_state)
      rng_state = 0;
    close(fd);
  }
  rng_state ^= (uint64_t)clock_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32);
}

static uint64_t next_rand(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static uint64_t get_u64(const uint8_t *p) {
  return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

/* 64-bit NTP timestamp -> ns since 1970, in the 136-year era that puts it
 * nearest to pivot (our own clock), so 2036 is no cliff. */
static int64_t ntp_to_ns(uint64_t ts, int64_t pivot) {
  int64_t secs = (int64_t)(ts >> 32) - NTP_UNIX_OFFSET;
  int64_t frac = (int64_t)(((ts & 0xffffffffu) * 1000000000ull) >> 32);
  int64_t era = (int64_t)1 << 32;
  int64_t pivot_s = pivot / NS;
  while (secs < pivot_s - era / 2)
    secs += era;
  while (secs > pivot_s + era / 2)
    secs -= era;
  return secs * NS + frac;
}

/* 16.16 short format -> ns. */
static int64_t short_to_ns(uint32_t v) {
  return (int64_t)(v >> 16) * NS + (int64_t)(((v & 0xffffu) * NS) >> 16);
}

static void usage(FILE *f) {
  fputs("usage: ntpprobe [--count N] [--interval-ms M] [--timeout-ms T]\n"
        "                [--serial] [--json] HOST:PORT...\n"
        "  --count N        rounds, 0 = until SIGINT/SIGTERM [1]\n"
        "  --interval-ms M  round start to round start [1000]\n"
        "  --timeout-ms T   wait for replies per round [500]\n"
        "  --serial         one target at a time instead of all at once\n"
        "  --json           one JSON line per round and a summary line\n"
        "Sends NTP mode-3 requests and prints offset (server - this clock)\n"
        "and delay per target and round. Exit: 0 all targets answered,\n"
        "1 one never did, 2 usage error.\n",
        f);
}

/* Parses a non-negative decimal integer <= max. */
static bool parse_uint(const char *s, long long max, long long *out) {
  char *end;
  if (s == NULL || *s < '0' || *s > '9')
    return false;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < 0 || v > max)
    return false;
  *out = v;
  return true;
}

/* Resolves HOST:PORT or [HOST]:PORT into a connected, non-blocking UDP
 * socket. Returns it, or -1 with a message in err. */
static int open_target(const char *spec, char *err, size_t errlen) {
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

typedef struct target {
  char addr[256]; /* as given on the command line */
  int fd;
  enum ts_mode ts;
  bool tx_ts_ok;       /* TX stamps still expected (not ruled out) */
  uint32_t tx_misses;  /* consecutive replies without a TX stamp */
  uint32_t tx_next_id; /* OPT_ID of the next datagram we send */
  /* The current round. */
  bool sent, replied, have_tx, finished;
  uint64_t cookie;
  uint32_t tx_id;
  int64_t t1_user, t1_kern, t2, t3, t4; /* ns since 1970 */
  int64_t reply_mono;
  const char *err; /* this round's error, NULL if none */
  char err_buf[16];
  sample cur;
  /* Totals. */
  uint64_t n_sent, n_answered, n_timeout, n_error, n_bad, n_stale, n_dup;
  uint64_t n_tx_kernel, n_rx_kernel;
  bool have_min;
  sample min;           /* the sample with the smallest delay */
  int64_t *offs, *dels; /* rings of the last KEEP_SAMPLES */
  size_t n_kept;
} target;

/* Switches on the best timestamps the kernel offers on t->fd. */
static void enable_timestamps(target *t) {
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

static void keep_sample(target *t, const sample *s) {
  size_t i = t->n_kept % KEEP_SAMPLES;
  t->offs[i] = s->offset;
  t->dels[i] = s->delay;
  t->n_kept++;
  if (!t->have_min || s->delay < t->min.delay) {
    t->min = *s;
    t->have_min = true;
  }
}

/* A datagram from the target: validated against the request in flight
 * and, if it is the answer, kept for finish_target. Never trusts input. */
static void handle_reply(target *t, const uint8_t *b, size_t len, int64_t t4,
                         bool t4_kernel) {
  if (len < NTP_LEN) {
    t->n_bad++;
    return;
  }
  uint8_t li = b[0] >> 6, vn = (b[0] >> 3) & 7, mode = b[0] & 7;
  if (mode != 4 || vn < 3 || vn > 4) {
    t->n_bad++;
    return;
  }
  uint64_t org = get_u64(b + 24), rec = get_u64(b + 32), xmt = get_u64(b + 40);
  if (!t->sent || org != t->cookie) {
    t->n_stale++; /* a late answer to an earlier round, or forged */
    return;
  }
  if (t->replied) {
    t->n_dup++;
    return;
  }
  uint8_t stratum = b[1];
  uint32_t refid = get_u32(b + 12);
  /* Stratum 0 with a four-letter code is a kiss-o'-death (RFC 5905 §7.4);
   * without one it is an unsynchronized server (chrony answers so), whose
   * sample is still measured and reported with its LI. */
  bool kod = stratum == 0;
  char code[5];
  for (int i = 0; i < 4; i++) {
    uint8_t c = (uint8_t)(refid >> (24 - 8 * i));
    kod = kod && c >= 'A' && c <= 'Z';
    code[i] = (char)c;
  }
  code[4] = '\0';
  if (kod) {
    snprintf(t->err_buf, sizeof t->err_buf, "kod:%s", code);
    t->err = t->err_buf;
    t->replied = true;
    t->reply_mono = clock_ns(CLOCK_MONOTONIC);
    return;
  }
  if (rec == 0 || xmt == 0) {
    t->n_bad++;
    return;
  }
  t->replied = true;
  t->reply_mono = clock_ns(CLOCK_MONOTONIC);
  t->t2 = ntp_to_ns(rec, t4);
  t->t3 = ntp_to_ns(xmt, t4);
  t->t4 = t4;
  t->cur.stratum = stratum;
  t->cur.li = li;
  t->cur.refid = refid;
  t->cur.root_delay = short_to_ns(get_u32(b + 4));
  t->cur.root_disp = short_to_ns(get_u32(b + 8));
  t->cur.rx_kernel = t4_kernel;
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

static void start_round(target *t) {
  t->sent = t->replied = t->have_tx = t->finished = false;
  t->err = NULL;
  memset(&t->cur, 0, sizeof t->cur);
  /* Whatever is still queued belongs to earlier rounds: counted as stale
   * (or bad) and dropped, and a pending ICMP error is cleared. */
  read_errqueue(t);
  read_socket(t);
}

static void send_request(target *t) {
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

/* Completes the round for t if its reply is in and its TX stamp is in
 * (or no longer worth waiting for); force: the round is over. */
static void finish_target(target *t, int64_t now_mono, bool force) {
  if (t->finished)
    return;
  if (!t->replied) {
    if (force) {
      t->err = "timeout";
      t->finished = true;
    }
    return;
  }
  if (t->err != NULL) { /* kiss-o'-death */
    t->finished = true;
    return;
  }
  bool want_tx = t->ts == TS_STAMPING && t->tx_ts_ok && !t->have_tx;
  if (want_tx && !force && now_mono - t->reply_mono < TX_GRACE_NS)
    return;
  if (t->ts == TS_STAMPING) {
    if (t->have_tx)
      t->tx_misses = 0;
    else if (++t->tx_misses >= 3)
      t->tx_ts_ok = false; /* this kernel gives none: stop waiting */
  }
  int64_t t1 = t->have_tx ? t->t1_kern : t->t1_user;
  t->cur.tx_kernel = t->have_tx;
  /* RFC 5905 §8; first-order differences in integers. */
  t->cur.offset = ((t->t2 - t1) + (t->t3 - t->t4)) / 2;
  t->cur.delay = (t->t4 - t1) - (t->t3 - t->t2);
  t->finished = true;
}

/* Waits until every target in ts[0..n) is finished or the deadline (mono
 * ns) passes; then finishes the rest as timeouts. */
static void wait_round(target **ts, size_t n, int64_t deadline) {
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

/* ---- output -------------------------------------------------------------- */

static void json_string(const char *s) {
  putchar('"');
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

/* The refid as people read it: four characters up to stratum 1, else the
 * IPv4 address (or IPv6 hash) of the server's source, or of a stratum-1
 * refid that is not text. */
static void format_refid(const sample *s, char out[16]) {
  uint32_t r = s->refid;
  bool text = s->stratum <= 1;
  int k = 0;
  for (int i = 0; i < 4 && text; i++) {
    uint8_t c = (uint8_t)(r >> (24 - 8 * i));
    if (c == 0)
      break;
    if (c < 0x20 || c >= 0x7f)
      text = false; /* e.g. chrony's local reference, 127.127.1.1 */
    else
      out[k++] = (char)c;
  }
  if (text) {
    out[k] = '\0';
  } else {
    snprintf(out, 16, "%u.%u.%u.%u", r >> 24, (r >> 16) & 255u, (r >> 8) & 255u,
             r & 255u);
  }
}

static void print_round_json(uint64_t round, int64_t t_ns, target *ts,
                             size_t n) {
  printf("{\"round\":%" PRIu64 ",\"t_ns\":%" PRId64 ",\"targets\":[", round,
         t_ns);
  for (size_t i = 0; i < n; i++) {
    const target *t = &ts[i];
    printf("%s{\"addr\":", i ? "," : "");
    json_string(t->addr);
    if (t->err != NULL) {
      printf(",\"error\":");
      json_string(t->err);
      putchar('}');
      continue;
    }
    char ref[16];
    format_refid(&t->cur, ref);
    printf(",\"offset_ns\":%" PRId64 ",\"delay_ns\":%" PRId64
           ",\"stratum\":%u,\"li\":%u,\"refid\":",
           t->cur.offset, t->cur.delay, t->cur.stratum, t->cur.li);
    json_string(ref);
    printf(",\"root_delay_ns\":%" PRId64 ",\"root_disp_ns\":%" PRId64
           ",\"ts\":\"%c%c\"}",
           t->cur.root_delay, t->cur.root_disp, t->cur.tx_kernel ? 'k' : 'u',
           t->cur.rx_kernel ? 'k' : 'u');
  }
  printf("]}\n");
}

static void print_round_text(uint64_t round, int64_t t_ns, target *ts,
                             size_t n) {
  time_t secs = (time_t)(t_ns / NS);
  struct tm tm;
  char when[32];
  gmtime_r(&secs, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  printf("round %" PRIu64 "  %s.%06ldZ\n", round, when,
         (long)(t_ns % NS / 1000));
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  size_t ok = 0;
  for (size_t i = 0; i < n; i++) {
    const target *t = &ts[i];
    if (t->err != NULL) {
      printf("  %-24s %s\n", t->addr, t->err);
      continue;
    }
    char ref[16];
    format_refid(&t->cur, ref);
    printf("  %-24s offset %+14.3f us  delay %10.3f us  st %2u  li %u  %-15s"
           " %c%c\n",
           t->addr, (double)t->cur.offset / 1e3, (double)t->cur.delay / 1e3,
           t->cur.stratum, t->cur.li, ref, t->cur.tx_kernel ? 'k' : 'u',
           t->cur.rx_kernel ? 'k' : 'u');
    if (t->cur.offset < lo)
      lo = t->cur.offset;
    if (t->cur.offset > hi)
      hi = t->cur.offset;
    ok++;
  }
  if (ok >= 2)
    printf("  spread (max - min offset of %zu): %.3f us\n", ok,
           (double)(hi - lo) / 1e3);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Median of the kept ring (scratch: room for KEEP_SAMPLES). */
static int64_t median(const int64_t *ring, size_t kept, int64_t *scratch) {
  size_t n = kept < KEEP_SAMPLES ? kept : KEEP_SAMPLES;
  memcpy(scratch, ring, n * sizeof *scratch);
  qsort(scratch, n, sizeof *scratch, cmp_i64);
  return n % 2 ? scratch[n / 2] : (scratch[n / 2 - 1] + scratch[n / 2]) / 2;
}

static void print_summary(uint64_t rounds, target *ts, size_t n, bool json,
                          int64_t *scratch) {
  if (json)
    printf("{\"summary\":{\"rounds\":%" PRIu64 ",\"targets\":[", rounds);
  else
    printf("summary: %" PRIu64 " round(s); offset = server - this clock\n"
           "  %-24s %9s %13s %15s %15s %13s %s\n",
           rounds, "target", "answered", "min delay us", "offset@min us",
           "median off us", "median dl us", "timeouts/errors/bad/stale/dup");
  for (size_t i = 0; i < n; i++) {
    const target *t = &ts[i];
    if (json) {
      printf("%s{\"addr\":", i ? "," : "");
      json_string(t->addr);
      printf(",\"sent\":%" PRIu64 ",\"answered\":%" PRIu64
             ",\"timeouts\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"bad\":%" PRIu64
             ",\"stale\":%" PRIu64 ",\"dup\":%" PRIu64 ",\"tx_kernel\":%" PRIu64
             ",\"rx_kernel\":%" PRIu64,
             t->n_sent, t->n_answered, t->n_timeout, t->n_error, t->n_bad,
             t->n_stale, t->n_dup, t->n_tx_kernel, t->n_rx_kernel);
      if (t->n_kept > 0)
        printf(",\"min_delay_ns\":%" PRId64 ",\"min_delay_offset_ns\":%" PRId64
               ",\"median_offset_ns\":%" PRId64 ",\"median_delay_ns\":%" PRId64,
               t->min.delay, t->min.offset, median(t->offs, t->n_kept, scratch),
               median(t->dels, t->n_kept, scratch));
      putchar('}');
      continue;
    }
    char answered[48];
    snprintf(answered, sizeof answered, "%" PRIu64 "/%" PRIu64, t->n_answered,
             rounds);
    if (t->n_kept > 0)
      printf("  %-24s %9s %13.3f %+15.3f %+15.3f %13.3f", t->addr, answered,
             (double)t->min.delay / 1e3, (double)t->min.offset / 1e3,
             (double)median(t->offs, t->n_kept, scratch) / 1e3,
             (double)median(t->dels, t->n_kept, scratch) / 1e3);
    else
      printf("  %-24s %9s %13s %15s %15s %13s", t->addr, answered, "-", "-",
             "-", "-");
    printf(" %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "\n",
           t->n_timeout, t->n_error, t->n_bad, t->n_stale, t->n_dup);
  }
  if (json)
    printf("]}}\n");
}

/* ---- main ---------------------------------------------------------------- */

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "ntpprobe: %s%s (ntpprobe --help)\n", what, arg);
  return EXIT_USAGE;
}

int main(int argc, char **argv) {
  long long count = 1, interval_ms = 1000, timeout_ms = 500;
  bool json = false, serial = false, opts_done = false;
  const char *specs[MAX_TARGETS];
  size_t n = 0;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!opts_done && a[0] == '-' && a[1] != '\0') {
      long long *dst = NULL, max = 0, min = 0;
      if (strcmp(a, "--") == 0) {
        opts_done = true;
        continue;
      } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        usage(stdout);
        return 0;
      } else if (strcmp(a, "--json") == 0) {
        json = true;
        continue;
      } else if (strcmp(a, "--serial") == 0) {
        serial = true;
        continue;
      } else if (strcmp(a, "--count") == 0) {
        dst = &count, min = 0, max = 1000000000LL;
      } else if (strcmp(a, "--interval-ms") == 0) {
        dst = &interval_ms, min = 0, max = 3600000;
      } else if (strcmp(a, "--timeout-ms") == 0) {
        dst = &timeout_ms, min = 1, max = 60000;
      } else {
        return usage_error("unknown option ", a);
      }
      if (i + 1 >= argc)
        return usage_error("a value is missing after ", a);
      if (!parse_uint(argv[i + 1], max, dst) || *dst < min) {
        fprintf(stderr,
                "ntpprobe: %s must be an integer %lld..%lld, got '%s'\n", a,
                min, max, argv[i + 1]);
        return EXIT_USAGE;
      }
      i++;
      continue;
    }
    if (n == MAX_TARGETS)
      return usage_error("at most 64 targets; one too many: ", a);
    specs[n++] = a;
  }
  if (n == 0)
    return usage_error("no HOST:PORT given", "");

  /* From here on every exit goes through `done`, which frees it all. */
  int rc = 0;
  target *ts = calloc(n, sizeof *ts);
  int64_t *scratch = malloc(KEEP_SAMPLES * sizeof *scratch);
  if (ts == NULL || scratch == NULL)
    goto nomem;
  for (size_t i = 0; i < n; i++)
    ts[i].fd = -1;
  for (size_t i = 0; i < n; i++) {
    char err[512];
    target *t = &ts[i];
    if (strlen(specs[i]) >= sizeof t->addr) {
      rc = usage_error("target too long: ", specs[i]);
      goto done;
    }
    snprintf(t->addr, sizeof t->addr, "%s", specs[i]);
    t->fd = open_target(specs[i], err, sizeof err);
    if (t->fd < 0) {
      fprintf(stderr, "ntpprobe: %s\n", err);
      rc = EXIT_USAGE;
      goto done;
    }
    enable_timestamps(t);
    t->tx_ts_ok = true;
    t->offs = malloc(KEEP_SAMPLES * sizeof *t->offs);
    t->dels = malloc(KEEP_SAMPLES * sizeof *t->dels);
    if (t->offs == NULL || t->dels == NULL)
      goto nomem;
  }

  seed_rng();
  setvbuf(stdout, NULL, _IOLBF, 0); /* a reader sees each round at once */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  uint64_t rounds = 0;
  int64_t next = clock_ns(CLOCK_MONOTONIC);
  while (!stop_flag && (count == 0 || rounds < (uint64_t)count)) {
    if (rounds > 0) {
      next += interval_ms * 1000000LL;
      int64_t now = clock_ns(CLOCK_MONOTONIC);
      if (next < now)
        next = now; /* overran: start now, do not burst to catch up */
      struct timespec at = {(time_t)(next / NS), (long)(next % NS)};
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) ==
                 EINTR &&
             !stop_flag) {
      }
      if (stop_flag)
        break;
    }
    for (size_t i = 0; i < n; i++)
      start_round(&ts[i]);
    int64_t t_ns = clock_ns(CLOCK_REALTIME);
    target *all[MAX_TARGETS];
    for (size_t i = 0; i < n; i++)
      all[i] = &ts[i];
    if (serial) {
      for (size_t i = 0; i < n; i++) {
        send_request(&ts[i]);
        wait_round(&all[i], 1,
                   clock_ns(CLOCK_MONOTONIC) + timeout_ms * 1000000LL);
      }
    } else {
      for (size_t i = 0; i < n; i++)
        send_request(&ts[i]);
      wait_round(all, n, clock_ns(CLOCK_MONOTONIC) + timeout_ms * 1000000LL);
    }
    rounds++;
    for (size_t i = 0; i < n; i++) {
      target *t = &ts[i];
      if (t->err != NULL) {
        if (strcmp(t->err, "timeout") == 0)
          t->n_timeout++;
        else
          t->n_error++;
        continue;
      }
      t->n_answered++;
      t->n_tx_kernel += t->cur.tx_kernel;
      t->n_rx_kernel += t->cur.rx_kernel;
      keep_sample(t, &t->cur);
    }
    if (json)
      print_round_json(rounds, t_ns, ts, n);
    else
      print_round_text(rounds, t_ns, ts, n);
  }
  print_summary(rounds, ts, n, json, scratch);

  for (size_t i = 0; i < n; i++)
    if (ts[i].n_answered == 0)
      rc = 1;
  goto done;

nomem:
  fputs("ntpprobe: out of memory\n", stderr);
  rc = 1;
done:
  for (size_t i = 0; ts != NULL && i < n; i++) {
    if (ts[i].fd >= 0)
      close(ts[i].fd);
    free(ts[i].offs);
    free(ts[i].dels);
  }
  free(ts);
  free(scratch);
  return rc;
}
