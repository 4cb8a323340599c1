/* SPDX-License-Identifier: MIT */
/*
 * The verdict as JSON (demo_json.c).
 */
#ifndef P2PC_CLI_DEMO_JSON_H
#define P2PC_CLI_DEMO_JSON_H

#include "demo_state.h"
#include "demo_verdict.h"

/* Prints the verdict as one JSON object on stdout, with the exit status
 * and the logs' directory (NULL: removed); -1 if out of memory or stdout
 * fails. */
int p2pc__demo_print_json(const p2pc_demo *d, const p2pc_demo_verdict *v,
                          int status, const char *logs);

#endif /* P2PC_CLI_DEMO_JSON_H */
