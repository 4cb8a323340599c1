/* SPDX-License-Identifier: MIT */
/*
 * ntpprobe's NTP side: the clocks it reads, the request cookies, the
 * packet's big-endian fields and timestamp formats, the checks a reply
 * must pass (handle_reply) and a round's offset and delay from T1..T4
 * (finish_target, RFC 5905 §8). No sockets here: ntpprobe_sock.c.
 */
#define _DEFAULT_SOURCE /* MSG_ERRQUEUE, SO_TIMESTAMPING and friends */

#include "ntpprobe.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

int64_t timespec_ns(const struct timespec *ts) {
  return (int64_t)ts->tv_sec * NS + ts->tv_nsec;
}

/* splitmix64, seeded from /dev/urandom (and the clock and PID, should that
 * fail): cookies need only be unpredictable enough not to collide. */
static uint64_t rng_state;

void seed_rng(void) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, &rng_state, sizeof rng_state) != (ssize_t)sizeof rng_state)
      rng_state = 0;
    close(fd);
  }
  rng_state ^= (uint64_t)clock_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32);
}

uint64_t next_rand(void) {
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

void put_u64(uint8_t *p, uint64_t v) {
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

/* A datagram from the target: validated against the request in flight
 * and, if it is the answer, kept for finish_target. Never trusts input. */
void handle_reply(target *t, const uint8_t *b, size_t len, int64_t t4,
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

/* Completes the round for t if its reply is in and its TX stamp is in
 * (or no longer worth waiting for); force: the round is over. */
void finish_target(target *t, int64_t now_mono, bool force) {
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
