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
 *
 * This file: the command line and the rounds. The NTP packets and the
 * clock arithmetic are in ntpprobe_ntp.c, the socket and its kernel
 * timestamps in ntpprobe_sock.c, the statistics and output in
 * ntpprobe_report.c; ntpprobe.h is what they share.
 */
#define _DEFAULT_SOURCE /* MSG_ERRQUEUE, SO_TIMESTAMPING and friends */

#include "ntpprobe.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
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
bool parse_uint(const char *s, long long max, long long *out) {
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
