/* SPDX-License-Identifier: MIT */
/*
 * The demo's requests to its nodes over their control sockets (client.h),
 * and the status and clock tracking it polls from every node for the live
 * view and the phases.
 */
#include "demo_ctl.h"

#include <stdio.h>
#include <string.h>

#include "demo_clocks.h"

/* One request to node n; returns its answer (ok true or false) or NULL if
 * the node cannot be reached or did not answer in time. */
cJSON *p2pc__demo_call(p2pc_demo_node *n, cJSON *req, int timeout_ms) {
  cJSON *ans = NULL;
  if (!req || n->pid <= 0)
    return NULL;
  if (n->ctl.fd < 0 && p2pc_ctl_connect(&n->ctl, n->sock, RECONNECT_MS) < 0)
    return NULL;
  if (p2pc_ctl_call_json(&n->ctl, req, &ans, timeout_ms) < 0)
    return NULL;
  return ans;
}

cJSON *p2pc__demo_simple_req(const char *cmd) {
  cJSON *r = cJSON_CreateObject();
  if (r && !cJSON_AddStringToObject(r, "cmd", cmd)) {
    cJSON_Delete(r);
    r = NULL;
  }
  return r;
}

bool p2pc__demo_ans_ok(const cJSON *a) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "ok"));
}

double p2pc__demo_num(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Refreshes every running node's status and clock tracking. */
void p2pc__demo_poll_status(p2pc_demo *d) {
  cJSON *req = p2pc__demo_simple_req("status"),
        *treq = p2pc__demo_simple_req("tracking");
  for (int i = 0; i < d->o.nodes; i++) {
    p2pc_demo_node *n = &d->n[i];
    if (n->pid <= 0 || n->state == NODE_STOPPED)
      continue;
    cJSON *a = p2pc__demo_call(n, req, CALL_MS);
    if (a && p2pc__demo_ans_ok(a)) {
      n->seen = true;
      n->state = NODE_UP;
      n->peers_up = (int)p2pc__demo_num(a, "peers_up");
      n->sent = p2pc__demo_num(a, "sent");
      n->delivered = p2pc__demo_num(a, "delivered");
      n->buffered = p2pc__demo_num(a, "buffered");
    } else if (n->state == NODE_UP) {
      n->seen = false; /* no answer this time */
    }
    cJSON_Delete(a);
    a = n->pid > 0 ? p2pc__demo_call(n, treq, CALL_MS) : NULL;
    n->clk_seen = a && p2pc__demo_ans_ok(a);
    if (n->clk_seen) {
      const cJSON *ref = cJSON_GetObjectItemCaseSensitive(a, "ref");
      const cJSON *mode = cJSON_GetObjectItemCaseSensitive(a, "mode");
      n->mode_ok = cJSON_IsString(mode) &&
                   strcmp(mode->valuestring, d->o.clock_mode) == 0;
      n->synced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "synced"));
      n->is_ref =
          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "reference"));
      snprintf(n->ref, sizeof n->ref, "%s",
               cJSON_IsString(ref) ? ref->valuestring : "");
      n->truechimers = (int)p2pc__demo_num(a, "truechimers");
      n->err_ns = p2pc__demo_num(a, "err_ns");
    }
    cJSON_Delete(a);
  }
  cJSON_Delete(req);
  cJSON_Delete(treq);
  p2pc__demo_note_clocks(d);
}
