/* SPDX-License-Identifier: MIT */
/*
 * A placeholder for p2pc__node_resolved until the on-demand links take
 * the lookup's results (they replace this file): the RESOLVED event only.
 */
#include "nodeint.h"

__attribute__((weak)) void p2pc__node_resolved(p2pc_node *n, const char *id,
                                               const p2pc_wire_record *rec) {
  p2pc_event ev = {0};
  ev.type = P2PC_EVENT_RESOLVED;
  ev.peer = id;
  ev.u.resolved.ok = rec != NULL;
  p2pc__node_emit(n, &ev);
}
