/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the messaging peers of bench/throughput (tcp_bench,
 * zmq_bench): the command line, the wall-clock deadline every loop checks,
 * and the "port N" / "result key=value ..." lines that run.sh reads.
 *
 * Every peer has the same command line:
 *   PEER MODE PORT SIZE COUNT [TIMEOUT_S]
 * MODE is pull (one-way receiver, binds), push (one-way sender, connects),
 * rep (round-trip echo, binds) or req (round-trip client, connects). A
 * binding peer given port 0 takes an ephemeral port; it prints "port N" as
 * its first line either way. TIMEOUT_S (default 60) bounds the whole run:
 * a peer that has not finished by then exits with status 2.
 * `PEER --build-type` prints the CMake build type of the peer.
 */
#ifndef P2PC_BENCH_PEER_COMMON_H
#define P2PC_BENCH_PEER_COMMON_H

#include <stddef.h>
#include <stdint.h>

enum peer_mode { PEER_PULL, PEER_PUSH, PEER_REP, PEER_REQ };

struct peer_args {
  enum peer_mode mode;
  unsigned port;
  size_t size;
  uint64_t count;
  int64_t deadline_ns; /* absolute, CLOCK_MONOTONIC */
};

#define PEER_MAX_SIZE ((size_t)1 << 20)
#define PEER_MAX_RTT_COUNT ((uint64_t)10000000)
#define PEER_DEFAULT_TIMEOUT_S 60

/* Prints "NAME: message" to stderr and exits with status 1. */
__attribute__((format(printf, 1, 2), noreturn)) void peer_die(const char *fmt,
                                                              ...);
/* As peer_die, with ": strerror(errno)" appended. */
__attribute__((format(printf, 1, 2), noreturn)) void
peer_die_errno(const char *fmt, ...);

/* Monotonic time in nanoseconds. */
int64_t peer_now_ns(void);

/* Exits with status 2 and a message if the run's deadline has passed. */
void peer_check_deadline(const struct peer_args *a, const char *what);

/* Milliseconds left before the deadline (at least 0). */
int peer_remaining_ms(const struct peer_args *a);

/* Parses argv as described above; prints the usage and exits on error. */
void peer_parse_args(struct peer_args *a, int argc, char **argv,
                     const char *name);

/* Prints "port N" and flushes stdout. */
void peer_print_port(unsigned port);

/* One-way receiver's result: the clock starts at the first message, so
 * COUNT - 1 messages are timed over ELAPSED_NS. */
void peer_report_throughput(const struct peer_args *a, int64_t elapsed_ns);

/* Round-trip client's result over N samples (nanoseconds; sorted here). */
void peer_report_rtt(const struct peer_args *a, int64_t *samples, size_t n,
                     uint64_t warmup);

/* Round trips of COUNT that are warm-up and not counted: COUNT / 10. */
uint64_t peer_rtt_warmup(const struct peer_args *a);

#endif
