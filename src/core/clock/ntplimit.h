/* SPDX-License-Identifier: MIT */
/*
 * Rate limiting of the answers to standard NTP clients, per client IP
 * address (never per port), after chrony's `ratelimit` directive: a token
 * bucket per address lets a client have `burst` answers at once and then
 * one per 2^interval seconds; of its requests over that limit, 1 in
 * 2^leak (at random) is answered anyway, so that a flood sent with a
 * victim's forged source address cannot cut the victim off entirely; of
 * the rest, at most one per address and 2^interval seconds is answered
 * with a Kiss-o'-Death RATE (the caller builds it), and the others are
 * dropped. Loopback clients (127.0.0.0/8, ::1) are not limited unless
 * asked: they are the host's own, and no one off the host can forge them.
 *
 * The addresses are remembered in a fixed table of P2PC_NTPLIMIT_SLOTS
 * records, P2PC_NTPLIMIT_WAYS per set picked by a keyed hash of the
 * address; an address not in its set takes a free record or the least
 * recently seen one (a forgotten address starts again with a full
 * bucket). So a packet costs at most P2PC_NTPLIMIT_WAYS comparisons and
 * the table never grows, whatever the number of addresses. It is
 * allocated on the first request it judges.
 *
 * Pure: time comes in as mono ns, randomness from the caller's seed.
 */
#ifndef P2PC_NTPLIMIT_H
#define P2PC_NTPLIMIT_H

#include "rng.h"
#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <stdint.h>

#define P2PC_NTPLIMIT_SLOTS 1024 /* addresses remembered */
#define P2PC_NTPLIMIT_WAYS 8     /* ... in sets of this many */

/* The defaults are chrony's `ratelimit` defaults. */
#define P2PC_NTPLIMIT_DEF_INTERVAL                                             \
  3                               /* log2 s: one answer per 8 s on average     \
                                   */
#define P2PC_NTPLIMIT_DEF_BURST 8 /* answers at once */
#define P2PC_NTPLIMIT_DEF_LEAK 2  /* 1 in 4 of the limited ones answered */

typedef struct p2pc_ntplimit_config {
  bool off;        /* no limit at all */
  bool loopback;   /* limit loopback clients too [false] */
  int8_t interval; /* log2 s, -4..12 [3] */
  uint8_t burst;   /* 1..255 [8]; 0: all fields take their defaults */
  uint8_t leak;    /* 0..4, 0 = none [2] */
} p2pc_ntplimit_config;

typedef enum p2pc_ntplimit_verdict {
  P2PC_NTPLIMIT_PASS, /* within the limit: answer */
  P2PC_NTPLIMIT_LEAK, /* over it, but answer anyway (the leak) */
  P2PC_NTPLIMIT_KOD,  /* over it: answer with a KoD RATE */
  P2PC_NTPLIMIT_DROP  /* over it: no answer */
} p2pc_ntplimit_verdict;

typedef struct p2pc_ntplimit_rec p2pc_ntplimit_rec;

typedef struct p2pc_ntplimit {
  p2pc_ntplimit_config cfg;
  const p2pc_allocator *a;
  p2pc_ntplimit_rec *recs; /* P2PC_NTPLIMIT_SLOTS, NULL until first use */
  uint64_t interval_ns;
  uint64_t key;      /* of the hash, so no one can aim at one set */
  p2pc_rng rng;      /* for the leak */
  uint64_t replaced; /* records given to another address */
} p2pc_ntplimit;

/* Fills unset fields of cfg (burst 0: all of them) with the defaults and
 * clamps the others into range. */
void p2pc_ntplimit_config_defaults(p2pc_ntplimit_config *cfg);
/* Embedded: nothing is allocated yet; seed and stream seed the hash key
 * and the leak. */
void p2pc_ntplimit_init(p2pc_ntplimit *l, const p2pc_allocator *a,
                        const p2pc_ntplimit_config *cfg, uint64_t seed,
                        uint64_t stream);
void p2pc_ntplimit_fini(p2pc_ntplimit *l);
/* Judges a request from `from` (its port is ignored) at now_mono. If the
 * table cannot be allocated, every request passes (as without a limit). */
p2pc_ntplimit_verdict
p2pc_ntplimit_check(p2pc_ntplimit *l, const p2pc_addr *from, uint64_t now_mono);
/* Addresses remembered now (at most P2PC_NTPLIMIT_SLOTS). */
uint32_t p2pc_ntplimit_count(const p2pc_ntplimit *l);

#endif /* P2PC_NTPLIMIT_H */
