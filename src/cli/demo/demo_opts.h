/* SPDX-License-Identifier: MIT */
/*
 * The options of `p2pclock demo` (demo.h tells what each does; --help says
 * it to the user).
 */
#ifndef P2PC_CLI_DEMO_OPTS_H
#define P2PC_CLI_DEMO_OPTS_H

#include <stdbool.h>

typedef struct p2pc_demo_opts {
  int nodes;
  double duration, rate;
  const char *keep; /* --keep-logs DIR or NULL */
  bool kill;
  /* --clock-mode: "reference" or "collaborative", told to every node; in
   * collaborative mode there is no reference to wait for or show */
  char clock_mode[16];
  bool collab;
  bool json; /* --json: the verdict on stdout as JSON, the rest on stderr */
} p2pc_demo_opts;

/* Parses the words after "demo" into *o (defaults for those not given).
 * Returns -1 to go on, else the exit status: 0 after --help (printed on
 * stdout), 2 after a usage error (told on stderr). */
int p2pc__demo_parse_opts(p2pc_demo_opts *o, int argc, char **argv);

#endif /* P2PC_CLI_DEMO_OPTS_H */
