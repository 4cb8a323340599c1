/* SPDX-License-Identifier: MIT */
/*
 * The cost of one secure-link handshake (docs/PROTOCOL.md, "Secure
 * links"): both ends of a Noise_XXpsk0_25519_ChaChaPoly_SHA256 handshake
 * run in this process, COUNT times, with the keys a link uses; prints the
 * process CPU time per handshake (both ends together) and per end.
 *
 *   hs_bench [COUNT]   (default 2000)
 */
#include "noise.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void step(p2pc_noise_hs *w, p2pc_noise_hs *r) {
  uint8_t msg[256], pl[64];
  size_t len = 0, plen = 0;
  if (p2pc_noise_write(w, NULL, 0, msg, sizeof msg, &len) != 0 ||
      p2pc_noise_read(r, msg, len, pl, sizeof pl, &plen) != 0) {
    fprintf(stderr, "hs_bench: handshake failed\n");
    exit(1);
  }
}

int main(int argc, char **argv) {
  long count = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
  if (count < 1 || sodium_init() < 0) {
    fprintf(stderr, "usage: hs_bench [COUNT >= 1]\n");
    return 2;
  }
  uint8_t si[32], sr[32], psk[32], ei[32], er[32];
  randombytes_buf(si, sizeof si);
  randombytes_buf(sr, sizeof sr);
  randombytes_buf(psk, sizeof psk);
  static const char prologue[] = "p2pclock secure link, wire version 3";
  double t0 = cpu_s();
  for (long k = 0; k < count; k++) {
    p2pc_noise_hs i, r;
    p2pc_noise_cipher it, ir, rt, rr;
    randombytes_buf(ei, sizeof ei);
    randombytes_buf(er, sizeof er);
    if (p2pc_noise_init(&i, P2PC_NOISE_XXPSK0, true, (const uint8_t *)prologue,
                        sizeof prologue - 1, si, ei, NULL, psk) != 0 ||
        p2pc_noise_init(&r, P2PC_NOISE_XXPSK0, false, (const uint8_t *)prologue,
                        sizeof prologue - 1, sr, er, NULL, psk) != 0) {
      fprintf(stderr, "hs_bench: init failed\n");
      return 1;
    }
    step(&i, &r);
    step(&r, &i);
    step(&i, &r);
    if (p2pc_noise_split(&i, &it, &ir) != 0 ||
        p2pc_noise_split(&r, &rt, &rr) != 0 ||
        memcmp(it.k, rr.k, sizeof it.k) != 0) {
      fprintf(stderr, "hs_bench: split failed\n");
      return 1;
    }
  }
  double us = (cpu_s() - t0) / (double)count * 1e6;
  printf("result handshakes=%ld us_per_handshake=%.1f us_per_end=%.1f\n", count,
         us, us / 2);
  return 0;
}
