/* SPDX-License-Identifier: MIT */
/*
 * Deliberate protocol bugs in the causal core, for proving that the
 * property tests' checkers catch them (tests/prop, prop_causal_catches_*).
 *
 * Test-only. The code behind them is compiled only with P2PC_TEST_FAULTS,
 * into the p2pclock_core_faults archive that tests/prop links; the
 * production p2pclock_core has none of it, and a program that calls
 * p2pc_causal_set_faults against it does not link.
 */
#ifndef P2PC_CAUSAL_FAULTS_H
#define P2PC_CAUSAL_FAULTS_H

#include "causal.h"

#include <stdint.h>

enum {
  /* A.10 pitfall 2: a message does not carry the entries about its own
   * destination (what the destination must deliver first). */
  P2PC_CAUSAL_FAULT_DROP_DEST_PAIR = 1u << 1,
  P2PC_CAUSAL_FAULT_NO_DEDUP = 1u << 2,
  /* Partisan's shortcut: a delivered message's entries are not merged, so
   * only direct (sender -> destination) order is kept. */
  P2PC_CAUSAL_FAULT_NO_TRANSITIVE = 1u << 3,
  /* Entries and messages expire at Δ/4: too early for the honest bound. */
  P2PC_CAUSAL_FAULT_EXPIRE_EARLY = 1u << 4,
  /* Every entry about "*" is met: broadcasts are not waited for. */
  P2PC_CAUSAL_FAULT_BCAST_MET = 1u << 5,
  /* No birth rule on arrival: a broadcast stamped before this node's
   * birth is taken like any other. */
  P2PC_CAUSAL_FAULT_NO_BIRTH = 1u << 6
};

/* Breaks c on purpose (P2PC_CAUSAL_FAULT_* bits). Call it right after
 * p2pc_causal_new, before any other call. */
void p2pc_causal_set_faults(p2pc_causal *c, uint32_t faults);

#endif /* P2PC_CAUSAL_FAULTS_H */
