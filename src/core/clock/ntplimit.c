/* SPDX-License-Identifier: MIT */
/*
 * Rate limiting of the answers to standard NTP clients (ntplimit.h): a
 * bounded, set-associative table of client addresses, each with a token
 * bucket kept as one "theoretical arrival time" (the generic cell rate
 * algorithm, the same bucket in one number).
 */
#include "ntplimit.h"
#include "types.h"

#include <string.h>

#define SEC 1000000000ull
#define SETS (P2PC_NTPLIMIT_SLOTS / P2PC_NTPLIMIT_WAYS)

_Static_assert(SETS *P2PC_NTPLIMIT_WAYS == P2PC_NTPLIMIT_SLOTS &&
                   (SETS & (SETS - 1)) == 0,
               "the table is whole sets, a power of two of them");

struct p2pc_ntplimit_rec {
  uint8_t family; /* 0: free */
  uint8_t addr[16];
  /* The bucket: a request at t is within the limit if tat - t, once
   * raised to at least 0, leaves room for one more interval below
   * burst intervals; it then moves tat one interval on. */
  uint64_t tat;
  uint64_t seen;     /* mono of its last request (for replacement) */
  uint64_t kod_next; /* mono: no KoD before this */
};

void p2pc_ntplimit_config_defaults(p2pc_ntplimit_config *cfg) {
  if (!cfg->burst) {
    cfg->burst = P2PC_NTPLIMIT_DEF_BURST;
    cfg->interval = P2PC_NTPLIMIT_DEF_INTERVAL;
    cfg->leak = P2PC_NTPLIMIT_DEF_LEAK;
  }
  if (cfg->interval < -10)
    cfg->interval = -10;
  if (cfg->interval > 12)
    cfg->interval = 12;
  if (cfg->leak > 4)
    cfg->leak = 4;
}

void p2pc_ntplimit_init(p2pc_ntplimit *l, const p2pc_allocator *a,
                        const p2pc_ntplimit_config *cfg, uint64_t seed,
                        uint64_t stream) {
  memset(l, 0, sizeof *l);
  l->cfg = *cfg;
  p2pc_ntplimit_config_defaults(&l->cfg);
  l->a = a;
  l->interval_ns =
      l->cfg.interval >= 0 ? SEC << l->cfg.interval : SEC >> -l->cfg.interval;
  p2pc_rng_seed(&l->rng, seed, stream);
  l->key = p2pc_rng_next(&l->rng);
}

void p2pc_ntplimit_fini(p2pc_ntplimit *l) {
  if (l->recs)
    l->a->free(l->recs, l->a->ud);
  l->recs = NULL;
}

static uint64_t read64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

/* The record of addr (family, 16 bytes zero-padded), found or taken. */
static p2pc_ntplimit_rec *find(p2pc_ntplimit *l, uint8_t family,
                               const uint8_t addr[16], uint64_t now) {
  uint64_t x = l->key ^ read64(addr) ^ family;
  uint64_t h = p2pc_splitmix64(&x);
  x = h ^ read64(addr + 8);
  h = p2pc_splitmix64(&x);
  p2pc_ntplimit_rec *set = l->recs + (h & (SETS - 1)) * P2PC_NTPLIMIT_WAYS;
  p2pc_ntplimit_rec *victim = NULL;
  for (uint32_t i = 0; i < P2PC_NTPLIMIT_WAYS; i++) {
    p2pc_ntplimit_rec *r = &set[i];
    if (r->family == family && memcmp(r->addr, addr, 16) == 0)
      return r;
    if (!victim || (victim->family && (!r->family || r->seen < victim->seen)))
      victim = r;
  }
  if (victim->family)
    l->replaced++;
  victim->family = family;
  memcpy(victim->addr, addr, 16);
  victim->tat = now; /* a full bucket */
  victim->kod_next = now;
  return victim;
}

p2pc_ntplimit_verdict p2pc_ntplimit_check(p2pc_ntplimit *l,
                                          const p2pc_addr *from,
                                          uint64_t now_mono) {
  if (l->cfg.off || (from->family != 4 && from->family != 6) ||
      (!l->cfg.loopback && p2pc_addr_loopback(from)))
    return P2PC_NTPLIMIT_PASS;
  if (!l->recs) {
    size_t n = sizeof *l->recs * P2PC_NTPLIMIT_SLOTS;
    l->recs = l->a->realloc(NULL, n, l->a->ud);
    if (!l->recs)
      return P2PC_NTPLIMIT_PASS;
    memset(l->recs, 0, n);
  }
  uint8_t key[16] = {0};
  memcpy(key, from->addr, from->family == 4 ? 4 : 16);
  p2pc_ntplimit_rec *r = find(l, from->family, key, now_mono);
  r->seen = now_mono;
  if (r->tat < now_mono)
    r->tat = now_mono;
  uint64_t ahead = r->tat - now_mono; /* what the bucket lacks, in time */
  if (ahead + l->interval_ns <= (uint64_t)l->cfg.burst * l->interval_ns) {
    r->tat += l->interval_ns;
    return P2PC_NTPLIMIT_PASS;
  }
  /* Over the limit. The leak takes nothing from the bucket: it is the
   * share a forged flood cannot take from the address's owner. */
  if (l->cfg.leak && (p2pc_rng_next(&l->rng) & ((1u << l->cfg.leak) - 1)) == 0)
    return P2PC_NTPLIMIT_LEAK;
  if (now_mono >= r->kod_next) {
    r->kod_next = now_mono + l->interval_ns;
    return P2PC_NTPLIMIT_KOD;
  }
  return P2PC_NTPLIMIT_DROP;
}

uint32_t p2pc_ntplimit_count(const p2pc_ntplimit *l) {
  uint32_t n = 0;
  if (l->recs)
    for (uint32_t i = 0; i < P2PC_NTPLIMIT_SLOTS; i++)
      n += l->recs[i].family != 0;
  return n;
}
