/* SPDX-License-Identifier: MIT */
/*
 * The nodes' clocks, as the verdict sees them (demo_clocks.c).
 */
#ifndef P2PC_CLI_DEMO_CLOCKS_H
#define P2PC_CLI_DEMO_CLOCKS_H

#include "demo_state.h"

/* Notes the moments the clocks change (all synced, a new common
 * reference), from the latest tracking answers. */
void p2pc__demo_note_clocks(p2pc_demo *d);
/* The clocks' final measurement into d->final_*; what goes wrong is a
 * problem. Returns 0, or -1 if interrupted. */
int p2pc__demo_measure_clocks(p2pc_demo *d);

#endif /* P2PC_CLI_DEMO_CLOCKS_H */
