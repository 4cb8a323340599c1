/* SPDX-License-Identifier: MIT */
/*
 * The parts of `p2pclock sim` (sim_cmd.h) shared by its files:
 *
 *   sim_cmd.c         the flags over the scenario, and the command's flow
 *   sim_cmd_budget.c  the memory budget: from the flag or the machine, and
 *                     the messages when it refuses or stops a run
 *   sim_cmd_report.c  what the run prints: the progress bar, the CSV rows,
 *                     the summary table and its JSON form
 */
#ifndef P2PC_CLI_SIM_CMD_INTERNAL_H
#define P2PC_CLI_SIM_CMD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scenario.h"
#include "sim.h"

#define EXIT_USAGE 2
#define EXIT_MEMORY 3 /* refused or stopped by the memory budget */

/* The memory budget and where it came from, for the messages. */
typedef struct budget {
  uint64_t bytes;   /* 0: none */
  const char *from; /* flag, ram, rlimit_as, rlimit_data, cgroup, none */
  char why[128];    /* "--mem-limit", "half the RAM of 23.4 GiB; ..." */
} budget;

typedef struct run_ctx {
  const p2pc_scenario *sc;
  const budget *budget;
  p2pc_scn_judge judge;
  FILE *csv;
  const char *csv_path;
  p2pc_sim *sim;
  bool bar;
  uint64_t wall0, last_draw;
  double worst_spread; /* over the run, synced nodes */
} run_ctx;

/* ---- sim_cmd_budget.c */

/* "800 B", "12.3 KiB", "300 MiB", "3.91 GiB": three figures at most. */
void p2pc__simcmd_fmt_size(uint64_t b, char *out, size_t n);
/* --mem-limit's value: "0" or "unlimited" (*out = 0), or a number with a
 * unit (K, M, G, T, KiB, MiB, GiB, TiB). False on anything else. */
bool p2pc__simcmd_parse_size(const char *s, uint64_t *out);
/* The default budget, from the machine's memory and the process's limits. */
void p2pc__simcmd_machine_budget(budget *b);
void p2pc__simcmd_say_refused(const p2pc_sim_config *cf, uint64_t start_bytes,
                              const budget *b);
void p2pc__simcmd_say_stopped(const p2pc_sim_config *cf,
                              const p2pc_sim_result *r, const budget *b);

/* ---- sim_cmd_report.c */

uint64_t p2pc__simcmd_wall_ns(void);
/* p2pc_sim_run's callbacks, ud a run_ctx: the progress bar on stderr; a
 * second's row to the judge and the CSV. */
void p2pc__simcmd_on_progress(void *ud, uint64_t now_ns, uint64_t end_ns);
void p2pc__simcmd_on_row(void *ud, const p2pc_sim_second *row);
void p2pc__simcmd_csv_header(FILE *f);
void p2pc__simcmd_print_summary(const p2pc_scenario *sc, const char *path,
                                const run_ctx *c, const p2pc_sim_result *r,
                                uint32_t failed, bool timing);
/* The summary as one JSON object on one line (--json). Returns false if
 * out of memory. */
bool p2pc__simcmd_print_json(const p2pc_scenario *sc, const char *path,
                             const run_ctx *c, const p2pc_sim_result *r,
                             uint32_t failed, bool timing, uint64_t start_bytes,
                             int status);

#endif /* P2PC_CLI_SIM_CMD_INTERNAL_H */
