/* SPDX-License-Identifier: MIT */
/*
 * The shared part of the bench/throughput peers (peer_common.h): argument
 * parsing, deadlines, and the lines run.sh parses. Outside the pure core:
 * stdio, clocks and exit are fine here.
 */
#include "peer_common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef P2PC_BENCH_BUILD_TYPE
#define P2PC_BENCH_BUILD_TYPE "unknown"
#endif

static const char *peer_name = "peer";

void peer_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", peer_name);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

void peer_die_errno(const char *fmt, ...) {
  int err = errno;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", peer_name);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, ": %s\n", strerror(err));
  va_end(ap);
  exit(1);
}

int64_t peer_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void peer_check_deadline(const struct peer_args *a, const char *what) {
  if (peer_now_ns() < a->deadline_ns)
    return;
  fprintf(stderr, "%s: timeout while %s\n", peer_name, what);
  exit(2);
}

int peer_remaining_ms(const struct peer_args *a) {
  int64_t left = a->deadline_ns - peer_now_ns();
  if (left <= 0)
    return 0;
  return (int)(left / 1000000);
}

static void usage(void) {
  fprintf(stderr,
          "usage: %s pull|push|rep|req PORT SIZE COUNT [TIMEOUT_S]\n"
          "  pull  one-way receiver: binds 127.0.0.1:PORT (0: any), prints\n"
          "        msgs/s and MB/s once COUNT messages of SIZE bytes came\n"
          "  push  one-way sender: connects to 127.0.0.1:PORT\n"
          "  rep   round-trip echo: binds 127.0.0.1:PORT (0: any)\n"
          "  req   round-trip client: connects, prints p50/p99/mean in us\n"
          "A binding mode prints \"port N\" first. TIMEOUT_S (default %d)\n"
          "bounds the run; on timeout the exit status is 2.\n"
          "%s --build-type prints the CMake build type it was built with.\n",
          peer_name, PEER_DEFAULT_TIMEOUT_S, peer_name);
  exit(1);
}

static uint64_t parse_u64(const char *s, uint64_t min, uint64_t max,
                          const char *what) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min ||
      v > max)
    peer_die("bad %s '%s' (want %" PRIu64 "..%" PRIu64 ")", what, s, min, max);
  return (uint64_t)v;
}

void peer_parse_args(struct peer_args *a, int argc, char **argv,
                     const char *name) {
  peer_name = name;
  if (argc == 2 && strcmp(argv[1], "--build-type") == 0) {
    printf("%s\n", P2PC_BENCH_BUILD_TYPE);
    exit(0);
  }
  if (argc < 5 || argc > 6)
    usage();
  if (strcmp(argv[1], "pull") == 0)
    a->mode = PEER_PULL;
  else if (strcmp(argv[1], "push") == 0)
    a->mode = PEER_PUSH;
  else if (strcmp(argv[1], "rep") == 0)
    a->mode = PEER_REP;
  else if (strcmp(argv[1], "req") == 0)
    a->mode = PEER_REQ;
  else
    usage();
  int connects = a->mode == PEER_PUSH || a->mode == PEER_REQ;
  a->port = (unsigned)parse_u64(argv[2], connects ? 1 : 0, 65535, "port");
  a->size = (size_t)parse_u64(argv[3], 1, PEER_MAX_SIZE, "size");
  uint64_t max_count =
      a->mode == PEER_REQ ? PEER_MAX_RTT_COUNT : (uint64_t)1 << 40;
  a->count = parse_u64(argv[4], 2, max_count, "count");
  uint64_t timeout_s = PEER_DEFAULT_TIMEOUT_S;
  if (argc == 6)
    timeout_s = parse_u64(argv[5], 1, 3600, "timeout");
  a->deadline_ns = peer_now_ns() + (int64_t)timeout_s * 1000000000;
}

void peer_print_port(unsigned port) {
  printf("port %u\n", port);
  fflush(stdout);
}

void peer_report_throughput(const struct peer_args *a, int64_t elapsed_ns) {
  double secs = (double)elapsed_ns / 1e9;
  if (secs <= 0)
    secs = 1e-9;
  double msgs = (double)(a->count - 1);
  printf("result msgs=%" PRIu64 " size=%zu seconds=%.6f msgs_per_s=%.0f"
         " mb_per_s=%.1f\n",
         a->count, a->size, secs, msgs / secs,
         msgs * (double)a->size / secs / 1e6);
  fflush(stdout);
}

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return (a > b) - (a < b);
}

/* Nearest-rank percentile of sorted S[0..N). */
static double pct_us(const int64_t *s, size_t n, double p) {
  size_t rank = (size_t)(p * (double)n + 0.999999);
  if (rank < 1)
    rank = 1;
  if (rank > n)
    rank = n;
  return (double)s[rank - 1] / 1e3;
}

void peer_report_rtt(const struct peer_args *a, int64_t *samples, size_t n,
                     uint64_t warmup) {
  if (n == 0)
    peer_die("no round trips measured");
  qsort(samples, n, sizeof *samples, cmp_i64);
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += (double)samples[i];
  printf("result rtts=%zu warmup=%" PRIu64 " size=%zu p50_us=%.2f"
         " p99_us=%.2f mean_us=%.2f min_us=%.2f max_us=%.2f\n",
         n, warmup, a->size, pct_us(samples, n, 0.50), pct_us(samples, n, 0.99),
         sum / (double)n / 1e3, (double)samples[0] / 1e3,
         (double)samples[n - 1] / 1e3);
  fflush(stdout);
}

uint64_t peer_rtt_warmup(const struct peer_args *a) { return a->count / 10; }
