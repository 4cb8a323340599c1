/* SPDX-License-Identifier: MIT */
/*
 * Between the client subcommands (client_cmds.c) and their printing
 * (client_print.c).
 */
#ifndef P2PC_CLI_CLIENT_INT_H
#define P2PC_CLI_CLIENT_INT_H

#include "client.h"

/* The answer of request `name` as a person reads it, on stdout. */
void p2pc_cli_print_answer(const char *name, const cJSON *ans);

/* One streamed deliver line as `recv` prints it: "FROM MSGID PAYLOAD",
 * the payload's control characters escaped (\n, \t, \r, \\), bytes that
 * are not text as "b64:DATA". */
void p2pc_cli_print_delivery(const cJSON *ev);

/* A string field, or "-". */
const char *p2pc_cli_str_field(const cJSON *o, const char *key);

#endif /* P2PC_CLI_CLIENT_INT_H */
