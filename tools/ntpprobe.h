/* SPDX-License-Identifier: MIT */
/*
 * ntpprobe's shared parts: its limits, a sample, a target (its socket,
 * the round in flight and its totals), and the functions the files of
 * ntpprobe (ntpprobe.c, the command line and the rounds; ntpprobe_ntp.c,
 * the packets and the clock arithmetic; ntpprobe_sock.c, the socket and
 * its kernel timestamps; ntpprobe_report.c, the statistics and output)
 * offer one another. It links no p2pclock code, deliberately: it measures
 * servers from outside, as any standard client does.
 */
#ifndef NTPPROBE_H
#define NTPPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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

/* ntpprobe.c: the command line. */
bool parse_uint(const char *s, long long max, long long *out);

/* ntpprobe_ntp.c: clocks, cookies, the packet's fields, a reply's checks
 * and a round's offset and delay. */
int64_t clock_ns(clockid_t id);
int64_t timespec_ns(const struct timespec *ts);
void seed_rng(void);
uint64_t next_rand(void);
void put_u64(uint8_t *p, uint64_t v);
void handle_reply(target *t, const uint8_t *b, size_t len, int64_t t4,
                  bool t4_kernel);
void finish_target(target *t, int64_t now_mono, bool force);

/* ntpprobe_sock.c: the target's socket, its timestamps, a round's sends
 * and its wait. */
int open_target(const char *spec, char *err, size_t errlen);
void enable_timestamps(target *t);
void start_round(target *t);
void send_request(target *t);
void wait_round(target **ts, size_t n, int64_t deadline);

/* ntpprobe_report.c: the kept samples and what is printed. */
void keep_sample(target *t, const sample *s);
void print_round_json(uint64_t round, int64_t t_ns, target *ts, size_t n);
void print_round_text(uint64_t round, int64_t t_ns, target *ts, size_t n);
void print_summary(uint64_t rounds, target *ts, size_t n, bool json,
                   int64_t *scratch);

#endif
