/* SPDX-License-Identifier: MIT */
/*
 * `p2pclock sim`: runs the deterministic simulator (src/sim) on a scenario
 * file (src/sim/scenario.h) with flags overriding it, shows a progress bar
 * on a terminal, prints a summary table and each expectation's verdict,
 * (or, with --json, one JSON object), and writes a per-second CSV on
 * request. stdout and the CSV depend only on the scenario, the flags and
 * the seed: the same seed gives the same bytes. Wall time and RSS go to
 * stderr (or, with --timing, to stdout). A memory budget (--mem-limit, or
 * one derived from the machine) refuses a run that cannot start within it
 * and stops one that reaches it.
 *
 *   p2pclock sim [--scenario FILE] [--nodes N] [--duration S] [--seed X]
 *                [--topology T] [--mode M] [--rate R]
 *                [--causal-lifetime S] [--csv FILE] [--mem-limit SIZE]
 *                [--json] [--quiet] [--timing]
 * (--max-memory SIZE: the old name of --mem-limit, still accepted)
 */
#ifndef P2PC_CLI_SIM_CMD_H
#define P2PC_CLI_SIM_CMD_H

#include <stdbool.h>

/* Runs the command with argv[0..argc) (the words after "sim"). Returns
 * the exit status: 0 every expectation passed, 1 one failed (or the run
 * could not be written), 2 usage or scenario error, 3 the memory budget
 * refused or stopped the run. */
int p2pc_cli_sim(int argc, char **argv);

/* Called by main with the whole argv before the command runs: the
 * simulator's memory goes on huge pages. glibc backs its heap with
 * transparent huge pages when the tunable glibc.malloc.hugetlb=1 is set,
 * and reads tunables only when a process starts, so this starts the
 * command again, once, with it set. Returns only when it does not: not
 * glibc, under a sanitizer, GLIBC_TUNABLES already set (the user's own
 * choice), P2PC_SIM_HUGEPAGES=0, transparent huge pages off in the
 * kernel, or the exec failed (the run goes on with small pages). */
void p2pc_cli_sim_hugepages(char **argv);
/* Whether this process asked glibc for huge pages (the line on stderr
 * says so). */
bool p2pc_cli_sim_on_hugepages(void);

#endif /* P2PC_CLI_SIM_CMD_H */
