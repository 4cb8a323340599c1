/* SPDX-License-Identifier: MIT */
/*
 * The one entry point every fuzz target defines. libFuzzer calls it in
 * fuzzing builds (P2PC_FUZZ=ON); replay_main.c calls it over the checked-in
 * corpus in ordinary builds, so the corpus runs as a regression test.
 * Targets report a broken invariant with FUZZ_CHECK, which names the check
 * and aborts, so libFuzzer and the sanitizers stop with a stack trace and
 * keep the input.
 */
#ifndef P2PC_FUZZ_H
#define P2PC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Not assert(): it must stay on in release (NDEBUG) builds. */
#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                          \
      abort();                                                                 \
    }                                                                          \
  } while (0)

#endif /* P2PC_FUZZ_H */
