/* SPDX-License-Identifier: MIT */
/*
 * The demo as an NTP client of its nodes (demo_ntp.c).
 */
#ifndef P2PC_CLI_DEMO_NTP_H
#define P2PC_CLI_DEMO_NTP_H

#include <stdint.h>

#include "demo_state.h"

/* The real clock (CLOCK_REALTIME), ns since the Unix epoch. */
int64_t p2pc__demo_real_ns(void);
/* Opens d->ntp_fd, a UDP socket on 127.0.0.1; 0 or -errno. */
int p2pc__demo_ntp_open(p2pc_demo *d);
/* One NTP round over every running node: each node's ntp_* fields, and
 * d->ntp_answered, _median and _spread. Returns how many answered. */
int p2pc__demo_ntp_round(p2pc_demo *d);
/* Runs an NTP round when one is due (one a second). */
void p2pc__demo_ntp_tick(p2pc_demo *d);
/* qsort's comparison of int64_t. */
int p2pc__demo_cmp_i64(const void *a, const void *b);

#endif /* P2PC_CLI_DEMO_NTP_H */
