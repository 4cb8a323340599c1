/* SPDX-License-Identifier: MIT */
/*
 * The verdict in words, and the problems met on the way (demo_report.c).
 */
#ifndef P2PC_CLI_DEMO_REPORT_H
#define P2PC_CLI_DEMO_REPORT_H

#include <stddef.h>

#include "demo_state.h"
#include "demo_verdict.h"

/* Records what went wrong besides the verdict (at most PROBLEMS_MAX); the
 * report lists them at the end and they fail the verdict. */
void p2pc__demo_problem(p2pc_demo *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints the verdict in words on d->out, from the verdict and the run's
 * counters. */
void p2pc__demo_print_verdict(const p2pc_demo *d, const p2pc_demo_verdict *v);
/* Prints the problems recorded, if any, on d->out. */
void p2pc__demo_print_problems(const p2pc_demo *d);
/* The verdict's example of a hold-back, in words: two sentences (a
 * chain's), or one and its end. */
void p2pc__demo_example_text(const p2pc_demo *d, char *s1, size_t l1, char *s2,
                             size_t l2);

#endif /* P2PC_CLI_DEMO_REPORT_H */
