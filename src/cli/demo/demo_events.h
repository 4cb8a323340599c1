/* SPDX-License-Identifier: MIT */
/*
 * The nodes' event logs, read as they grow (demo_events.c).
 */
#ifndef P2PC_CLI_DEMO_EVENTS_H
#define P2PC_CLI_DEMO_EVENTS_H

#include <stdbool.h>

#include "demo_state.h"

/* Reads what node i's event log gained since the last call (a bounded
 * amount) and takes its complete lines; last (every node stopped) reads it
 * to the end and takes a final line without its newline too. */
void p2pc__demo_tail_node(p2pc_demo *d, int i, bool last);
/* p2pc__demo_tail_node(d, i, false) for every node. */
void p2pc__demo_tail_all(p2pc_demo *d);

#endif /* P2PC_CLI_DEMO_EVENTS_H */
