/* SPDX-License-Identifier: MIT */
/* Deliberately impure code: the purity check must reject this archive. */
#include <stdio.h>
#include <time.h>

int p2pc_impure_counter;
int p2pc_impure_fixture(void);

int p2pc_impure_fixture(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  p2pc_impure_counter++;
  return printf("%ld\n", (long)ts.tv_sec);
}
