/* SPDX-License-Identifier: MIT */
/*
 * The node's console: commands typed on a terminal (stdin), carried out by
 * the control server's handlers (src/ctl/server.h), answers on stdout.
 */
#ifndef P2PC_CLI_CONSOLE_H
#define P2PC_CLI_CONSOLE_H

#include "server.h"

#include <stdbool.h>
#include <uv.h>

typedef struct p2pc_console p2pc_console;

typedef struct p2pc_console_host {
  void *ud;
  p2pc_ctl_server *ctl;
  const char *id;
  bool (*stopping)(void *ud);
  void (*eof)(void *ud);   /* end of input: stop, as "quit" */
  void (*flush)(void *ud); /* after the commands of a read */
} p2pc_console_host;

/* Opens the console on stdin if it is a terminal, and prints the greeting
 * and the prompt. Returns 0, or a negative error (no console). */
int p2pc_console_open(p2pc_console **out, uv_loop_t *loop,
                      const p2pc_console_host *host, const char *listen_host,
                      uint16_t port);
void p2pc_console_stop_reading(p2pc_console *c);
/* Closes the terminal handle; frees the console when it is closed. NULL is
 * a no-op. */
void p2pc_console_close(p2pc_console *c);

#endif /* P2PC_CLI_CONSOLE_H */
