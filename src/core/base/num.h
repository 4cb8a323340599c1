/* SPDX-License-Identifier: MIT */
/*
 * Two small number helpers every layer of the core needs, kept in one
 * place: a double to int64 rounded and saturated, and the FNV-1a hash
 * (32 and 64 bits).
 */
#ifndef P2PC_NUM_H
#define P2PC_NUM_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* x rounded to the nearest integer (halves away from zero), saturated at
 * ±9.2e18; NaN is 0. Values derived from what peers send must never
 * overflow a conversion. */
static inline int64_t p2pc_round_i64(double x) {
  if (!(x == x))
    return 0;
  if (x >= 9.2e18)
    return INT64_MAX;
  if (x <= -9.2e18)
    return INT64_MIN + 1;
  return (int64_t)llround(x);
}

/* FNV-1a: its start, one byte's step, and over len bytes. */
#define P2PC_FNV1A_BASIS 2166136261u
static inline uint32_t p2pc_fnv1a_step(uint32_t h, uint8_t b) {
  return (h ^ b) * 16777619u;
}
static inline uint32_t p2pc_fnv1a(const char *p, size_t len) {
  uint32_t h = P2PC_FNV1A_BASIS;
  for (size_t i = 0; i < len; i++)
    h = p2pc_fnv1a_step(h, (uint8_t)p[i]);
  return h;
}

/* FNV-1a, 64 bits, over len bytes. */
static inline uint64_t p2pc_fnv1a64(const char *p, size_t len) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < len; i++)
    h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
  return h;
}

#endif /* P2PC_NUM_H */
