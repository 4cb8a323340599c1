/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the simulator's scenario format (src/sim/scenario_*.c):
 * arbitrary bytes are parsed, then finished; the parser must never crash,
 * read out of bounds or overflow, must answer 0 or P2PC_ERR_INVAL, and on
 * an error must say where ("FILE:LINE: ..."). A scenario that parses must
 * give a configuration the simulator accepts or refuses with a message —
 * it is not run (a run is the bench's business, not the parser's).
 */
#include "fuzz.h"

#include <p2pclock/p2pclock.h>

#include "scenario.h"
#include "sim.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static p2pc_scenario sc; /* large: not on the stack */
  char err[512] = "";
  p2pc_scenario_init(&sc, 10, "fuzz.scn");
  int rv = p2pc_scenario_parse(&sc, (const char *)data, size, err, sizeof err);
  FUZZ_CHECK(rv == 0 || rv == P2PC_ERR_INVAL);
  if (rv) {
    FUZZ_CHECK(strncmp(err, "fuzz.scn:", 9) == 0);
    return 0;
  }
  rv = p2pc_scenario_finish(&sc, err, sizeof err);
  FUZZ_CHECK(rv == 0 || rv == P2PC_ERR_INVAL);
  FUZZ_CHECK(rv == 0 || err[0] != '\0');
  return 0;
}
