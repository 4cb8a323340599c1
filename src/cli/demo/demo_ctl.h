/* SPDX-License-Identifier: MIT */
/*
 * The demo's control requests to its nodes, and the status and clock
 * tracking it polls from them (demo_ctl.c).
 */
#ifndef P2PC_CLI_DEMO_CTL_H
#define P2PC_CLI_DEMO_CTL_H

#include <stdbool.h>

#include "cJSON.h"
#include "demo_state.h"

/* One request to node n (connecting if need be); its answer, owned by the
 * caller, or NULL if the node cannot be reached or did not answer within
 * timeout_ms. */
cJSON *p2pc__demo_call(p2pc_demo_node *n, cJSON *req, int timeout_ms);
/* {"cmd": cmd}, owned by the caller, or NULL if out of memory. */
cJSON *p2pc__demo_simple_req(const char *cmd);
/* The answer's "ok" is true; its number key, or 0 if none. */
bool p2pc__demo_ans_ok(const cJSON *a);
double p2pc__demo_num(const cJSON *o, const char *key);
/* Refreshes every running node's status and clock tracking. */
void p2pc__demo_poll_status(p2pc_demo *d);

#endif /* P2PC_CLI_DEMO_CTL_H */
