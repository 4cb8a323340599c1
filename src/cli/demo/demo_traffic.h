/* SPDX-License-Identifier: MIT */
/*
 * The traffic phase and its causal chains (demo_traffic.c).
 */
#ifndef P2PC_CLI_DEMO_TRAFFIC_H
#define P2PC_CLI_DEMO_TRAFFIC_H

#include "demo_holdback.h"
#include "demo_state.h"

/* Runs the traffic for --duration seconds (and more chain rounds, bounded,
 * until a message was held back), with the kill and the restart. Returns
 * 0, or -1 if interrupted. */
int p2pc__demo_run_traffic(p2pc_demo *d);
/* A delivery read from a node's log (DELIVER or RELEASED): moves the chain
 * round on and picks the verdict's example. */
void p2pc__demo_chain_on_delivery(p2pc_demo *d, const p2pc_holdback_ev *ev);

#endif /* P2PC_CLI_DEMO_TRAFFIC_H */
