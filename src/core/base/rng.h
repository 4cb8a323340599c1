/* SPDX-License-Identifier: MIT */
/*
 * xoshiro256** (Blackman & Vigna), seeded through splitmix64: the one PRNG
 * of the node, its clock sync and the simulator. Its state is the
 * caller's (the core has no globals), and every draw is deterministic
 * given the seed, which is what the simulator's "same seed, same bytes"
 * rests on. Independent streams of one seed differ by `stream`.
 */
#ifndef P2PC_RNG_H
#define P2PC_RNG_H

#include <stdint.h>

typedef struct p2pc_rng {
  uint64_t s[4];
} p2pc_rng;

static inline uint64_t p2pc_splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static inline void p2pc_rng_seed(p2pc_rng *r, uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
  for (int i = 0; i < 4; i++)
    r->s[i] = p2pc_splitmix64(&x);
}

static inline uint64_t p2pc_rotl64(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static inline uint64_t p2pc_rng_next(p2pc_rng *r) {
  uint64_t *s = r->s;
  uint64_t out = p2pc_rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = p2pc_rotl64(s[3], 45);
  return out;
}

/* [0, bound); 0 when bound is 0. (The modulo's bias is below 2^-40 for
 * the bounds used here.) */
static inline uint64_t p2pc_rng_below(p2pc_rng *r, uint64_t bound) {
  return bound ? p2pc_rng_next(r) % bound : 0;
}

/* [0, 1), 53 bits. */
static inline double p2pc_rng_unit(p2pc_rng *r) {
  return (double)(p2pc_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
