/* SPDX-License-Identifier: MIT */
/*
 * The demo's node processes: set up, spawned, reaped, killed, restarted
 * and stopped, always by PID (demo_proc.c).
 */
#ifndef P2PC_CLI_DEMO_PROC_H
#define P2PC_CLI_DEMO_PROC_H

#include <stdbool.h>

#include "demo_state.h"

/* Picks n distinct free ports of 127.0.0.1 (TCP and UDP) into
 * nodes[i].port; 0 or -errno. */
int p2pc__demo_pick_ports(p2pc_demo_node *nodes, int n);
/* Makes the temporary directory (sockets) and the log directory; -1 (told
 * on stderr) on failure. */
int p2pc__demo_make_dirs(p2pc_demo *d);
/* Fills node i's paths, virtual clock (from the seed) and command line. */
void p2pc__demo_setup_node(p2pc_demo *d, int i);
/* Starts node n (a `p2pclock node` process); 0 or -errno. */
int p2pc__demo_spawn_node(p2pc_demo_node *n);
/* Collects every child that ended; one that ended by itself is a
 * problem. */
void p2pc__demo_reap(p2pc_demo *d);
/* True when node n runs and answered the latest status request. */
bool p2pc__demo_ready(const p2pc_demo_node *n);
/* The victim's SIGKILL, and its restart with the same port and log. */
void p2pc__demo_kill_victim(p2pc_demo *d);
void p2pc__demo_restart_victim(p2pc_demo *d);
/* How many nodes run; the node with that id, or NULL. */
int p2pc__demo_running(const p2pc_demo *d);
p2pc_demo_node *p2pc__demo_find_node(p2pc_demo *d, const char *id);
/* Stops every running node (stop command, SIGTERM, SIGKILL, each after a
 * bounded wait) and says how on d->out. */
void p2pc__demo_stop_nodes(p2pc_demo *d);
/* Removes the nodes' sockets, and their logs if logs. */
void p2pc__demo_remove_files(p2pc_demo *d, bool logs);

#endif /* P2PC_CLI_DEMO_PROC_H */
