/* SPDX-License-Identifier: MIT */
/*
 * The one place the simulator takes the nodes' events (p2pc_event): the
 * statistics read their typed fields (messages sent and delivered, their
 * metadata, expiry reports, refusals), and the causal oracle gets each
 * event as the line the event log would hold.
 */
#include "sim_internal.h"

#include "event.h"

#include <string.h>

/* A message sent: its metadata bytes and entries into the histograms,
 * unless it is a message to self (sent to its own sender's identity),
 * which goes on no wire. */
static void on_sent(p2pc_sim *s, const p2pc_event *e) {
  s->res.msgs_sent++;
  s->sec_sent++;
  char id[P2PC_MSGID_TEXT_MAX];
  int len = p2pc_msgid_format(&e->msg, id, sizeof id);
  const char *colon = len > 0 ? strrchr(id, ':') : NULL;
  if (colon && e->peer && strlen(e->peer) == (size_t)(colon - id) &&
      memcmp(e->peer, id, (size_t)(colon - id)) == 0)
    return; /* to self */
  uint64_t meta = e->u.sent.meta, deps = e->u.sent.deps;
  p2pc__sim_hist_add(&s->meta_sec, meta);
  p2pc__sim_hist_add(&s->meta_run, meta);
  p2pc__sim_hist_add(&s->deps_sec, deps);
  p2pc__sim_hist_add(&s->deps_run, deps);
}

void p2pc__sim_on_event(void *ud, p2pc_node *n, const p2pc_event *e) {
  p2pc_sim *s = ud;
  (void)n;
  if (s->oracle && p2pc_event_logged(e->type)) {
    if (!s->oracle_settling && s->now >= s->oracle_settle_ns) {
      s->oracle_settling = true;
      p2pc_evcheck_settle_mark(s->oracle);
    }
    /* The oracle is evcheck, the checker of event logs: it reads the
     * lines the log would hold. */
    p2pc__sim_oracle_birth(s, s->cur_node); /* before lines that need it */
    char line[P2PC_EVENT_JSON_MAX];
    long len = p2pc_event_json(e, s->nodes[s->cur_node].id, line, sizeof line);
    if (len > 0)
      p2pc__sim_oracle_feed(s, s->cur_node, line, (size_t)len);
  }
  switch (e->type) {
  case P2PC_EVENT_SENT:
    on_sent(s, e);
    break;
  case P2PC_EVENT_DELIVERED:
    s->nodes[s->cur_node].delivered++;
    s->sec_deliv++;
    s->res.msgs_delivered++;
    break;
  case P2PC_EVENT_UNDELIVERABLE:
    s->res.undeliverable++;
    if (e->reason && strcmp(e->reason, P2PC_REASON_EXPIRED) == 0) {
      /* at the receiver, or at the sender (outgoing) */
      if (e->outgoing)
        s->res.expired_tx++;
      else
        s->res.expired_rx++;
      s->sec_expired++;
    }
    break;
  case P2PC_EVENT_REFUSED:
    s->res.refused_ahead++;
    break;
  case P2PC_EVENT_RESOLVED:
    p2pc__sim_lookup_resolved(s, e);
    break;
  default:
    break;
  }
}
