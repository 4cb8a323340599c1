/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the compact vector clock codec (p2pc_vclock_decode). The
 * encoding is canonical (ascending ids as minimal varint gaps, no zero
 * values), so every clock the decoder accepts must re-encode to exactly the
 * bytes it consumed. The decoder replaces a clock's contents only on
 * success, so it is run on a clock that already holds entries and the clock
 * is checked to be untouched after every failure.
 */
#include "fuzz.h"

#include "buf.h"
#include "vclock.h"

#include <string.h>

/* Small enough that the fuzzer reaches the limit; large enough for gaps. */
#define ID_LIMIT 1000u

static void check_clock(const p2pc_vclock *vc, uint32_t id_limit) {
  FUZZ_CHECK(vc->n <= vc->cap);
  FUZZ_CHECK(vc->n <= P2PC_VCLOCK_MAX);
  for (uint32_t i = 0; i < vc->n; i++) {
    FUZZ_CHECK(vc->e[i].v > 0);
    FUZZ_CHECK(vc->e[i].id < id_limit);
    if (i > 0)
      FUZZ_CHECK(vc->e[i - 1].id < vc->e[i].id);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const p2pc_allocator *a = p2pc_allocator_default();
  p2pc_vclock vc, before;
  p2pc_vclock_init(&vc);
  p2pc_vclock_init(&before);
  FUZZ_CHECK(p2pc_vclock_set(&vc, a, 3, 7) == 0);
  FUZZ_CHECK(p2pc_vclock_set(&vc, a, 900, 1) == 0);
  FUZZ_CHECK(p2pc_vclock_copy(&before, a, &vc) == 0);

  int rv = p2pc_vclock_decode(&vc, a, data, size, ID_LIMIT);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO || rv == P2PC_ERR_NOMEM);
    FUZZ_CHECK(p2pc_vclock_eq(&vc, &before));
  } else {
    FUZZ_CHECK(rv > 0 && (size_t)rv <= size);
    check_clock(&vc, ID_LIMIT);

    p2pc_buf out;
    p2pc_buf_init(&out, a, size + P2PC_VARINT_MAX);
    FUZZ_CHECK(p2pc_vclock_encode(&vc, &out) == 0);
    FUZZ_CHECK(out.len == (size_t)rv);
    FUZZ_CHECK(memcmp(out.data, data, out.len) == 0);

    /* Decoding the re-encoding gives the same clock, into an empty one. */
    p2pc_vclock again;
    p2pc_vclock_init(&again);
    FUZZ_CHECK(p2pc_vclock_decode(&again, a, out.data, out.len, ID_LIMIT) ==
               rv);
    FUZZ_CHECK(p2pc_vclock_eq(&again, &vc));
    FUZZ_CHECK(p2pc_vclock_compare(&again, &vc) == P2PC_VC_EQUAL);

    /* A tighter id limit accepts exactly the clocks whose ids fit. */
    uint32_t max_id = vc.n ? vc.e[vc.n - 1].id : 0;
    int tight = p2pc_vclock_decode(&again, a, out.data, out.len, max_id + 1);
    FUZZ_CHECK(tight == rv);
    if (max_id > 0) {
      tight = p2pc_vclock_decode(&again, a, out.data, out.len, max_id);
      FUZZ_CHECK(tight == P2PC_ERR_PROTO);
    }
    p2pc_vclock_fini(&again, a);
    p2pc_buf_fini(&out);
  }
  p2pc_vclock_fini(&vc, a);
  p2pc_vclock_fini(&before, a);
  return 0;
}
