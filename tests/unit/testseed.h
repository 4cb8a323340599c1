/* SPDX-License-Identifier: MIT */
/*
 * The seed of a randomized test: P2PC_SEED if set (decimal, or 0x hex),
 * else the test's own default; printed, so that a failure can be replayed.
 */
#ifndef P2PC_TESTSEED_H
#define P2PC_TESTSEED_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline uint64_t p2pc_test_seed(const char *test, uint64_t dflt) {
  const char *env = getenv("P2PC_SEED");
  uint64_t seed = env && *env ? strtoull(env, NULL, 0) : dflt;
  printf("%s: P2PC_SEED=%llu\n", test, (unsigned long long)seed);
  return seed;
}

#endif
