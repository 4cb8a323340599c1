/* SPDX-License-Identifier: MIT */
/*
 * `p2pclock demo`: the README's first command. It starts a small network
 * of real `p2pclock node` processes on 127.0.0.1 (a chain of --peer links,
 * so peer exchange has to build the mesh), drives random unicast and
 * broadcast traffic through their control sockets, kills one node with
 * SIGKILL part-way and restarts it, shows the nodes' counters live, then
 * stops them and gives a verdict from their event logs (the checker of
 * `p2pclock check`, run in-process): exactly once, causal order, how many
 * messages were held back and for how long, what was lost with the killed
 * node, each number explained in words (docs/DEMO.md).
 *
 * Causal hold-back is made to happen: one node, never the one killed, is
 * slow (each of its messages waits 0..1.5 s: --chaos-delay 0:1500; the
 * others 0:50), and causal chain rounds (slow node -> relay -> receiver)
 * make a relay's message reach the receiver before the slow messages it
 * depends on. The live view tells each hold: what it waits for and which
 * delivery released it.
 *
 * Each node runs a virtual clock (an offset up to +-1 s and a drift up to
 * +-200 ppm, from the seed) in the clock mode of --clock-mode (CLOCK.md),
 * given to every node: reference (the default; they elect one and follow
 * it) or collaborative (no reference; each steers to a weighted mean of its
 * neighbours). The demo queries every node's NTP time port once a second
 * as a standard client and shows, live, each node's sync state, reference
 * (collaborative: its number of truechimers), error bound and offset from
 * the median of all; at the end, once every clock is synced (in reference
 * mode to one reference) and the restarted node has resynced, the verdict
 * gives the largest disagreement between the nodes' network times
 * measured over NTP (it must be < 1 ms in either mode).
 *
 *   p2pclock demo [--nodes N] [--duration S] [--rate R]
 *                 [--clock-mode reference|collaborative] [--keep-logs DIR]
 *                 [--no-kill] [--json]
 *
 * --json prints the verdict as one JSON object on stdout (docs/DEMO.md);
 * the live view and the verdict in words then go to stderr. Every wait is
 * bounded; SIGINT or SIGTERM stops the nodes cleanly and ends the demo
 * with status 130 (143).
 */
#ifndef P2PC_CLI_DEMO_H
#define P2PC_CLI_DEMO_H

#define P2PC_DEMO_NODES_MIN 2
#define P2PC_DEMO_NODES_MAX 20

/* Runs the demo with its arguments argv[0..argc) (the words after "demo").
 * Returns the exit status: 0 when the checker's verdict is OK (causal
 * order, exactly once or excused by the kill), the clocks agree and
 * nothing else went wrong, 1 when not or the network could not be run, 2
 * on a usage error, 128 + signal when interrupted. */
int p2pc_cli_demo(int argc, char **argv);

#endif /* P2PC_CLI_DEMO_H */
