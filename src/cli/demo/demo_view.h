/* SPDX-License-Identifier: MIT */
/*
 * What the demo shows while it runs, on d->out (demo_view.c).
 */
#ifndef P2PC_CLI_DEMO_VIEW_H
#define P2PC_CLI_DEMO_VIEW_H

#include <stddef.h>

#include "demo_state.h"

/* Records a dated event: printed at once without a terminal, else shown
 * under the live table. */
void p2pc__demo_note(p2pc_demo *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The live table (on a terminal), redrawn in place; phase says what the
 * demo is doing. */
void p2pc__demo_draw_table(p2pc_demo *d, const char *phase);
/* Leaves the live table where it is and goes on below it. */
void p2pc__demo_end_table(p2pc_demo *d);
/* The progress line (without a terminal): counters and clocks. */
void p2pc__demo_print_line(p2pc_demo *d);
/* ns as "312 ns", "1.5 us", "2.3 ms", "1.20 s"; with a sign and more
 * digits: "+12.3 us", "-1.234 ms", "+0.532 s". */
void p2pc__demo_fmt_ns(double ns, char *out, size_t len);
void p2pc__demo_fmt_sns(double ns, char *out, size_t len);
/* A message id as the demo shows it: of a node's first incarnation
 * without its tag ("n2:7"), of a later one in full ("n2~k3x9:7"). */
void p2pc__demo_show_id(const p2pc_demo *d, const char *id, char *out,
                        size_t len);

#endif /* P2PC_CLI_DEMO_VIEW_H */
