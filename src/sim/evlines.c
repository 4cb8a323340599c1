/* SPDX-License-Identifier: MIT */
/*
 * The one place the simulator takes the nodes' events (p2pc_event): the
 * statistics read their typed fields (messages sent and delivered, their
 * metadata, expiry reports, refusals), the membership accuracy reads the
 * peer and member events, and the causal oracle gets each event as the
 * line the event log would hold.
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

/* The lines the causal oracle reads (evcheck: messages sent, delivered,
 * buffered, duplicate, dropped, undeliverable; start and stop come from
 * p2pc__sim_oracle_lifecycle). The others (clock samples and updates,
 * peers, receptions, refusals, members) it only checks for form, which
 * lines rendered here always have: leaving them out (unless the lines
 * are dumped, P2PC_SIM_EVENTS_DIR) spares rendering and parsing them,
 * a tenth of a run's time at 2,000 nodes, and changes no verdict. */
static bool oracle_reads(p2pc_event_type t) {
  switch (t) {
  case P2PC_EVENT_SENT:
  case P2PC_EVENT_DELIVERED:
  case P2PC_EVENT_UNDELIVERABLE:
  case P2PC_EVENT_BUFFERED:
  case P2PC_EVENT_DUPLICATE:
  case P2PC_EVENT_DROPPED:
    return true;
  default:
    return false;
  }
}

void p2pc__sim_on_event(void *ud, p2pc_node *n, const p2pc_event *e) {
  p2pc_sim *s = ud;
  (void)n;
  if (s->oracle && p2pc_event_logged(e->type) &&
      (s->oracle_dump || oracle_reads(e->type))) {
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
    p2pc__sim_bc_delivered(s, e);
    break;
  case P2PC_EVENT_MEMBER_SUSPECT:
  case P2PC_EVENT_MEMBER_ALIVE:
  case P2PC_EVENT_MEMBER_DOWN:
    p2pc__sim_ov_member(s, e);
    break;
  case P2PC_EVENT_RESOLVED: /* a lookup's, or a send's that waits */
    p2pc__sim_lookup_resolved(s, e);
    p2pc__sim_resolved_event(s, e);
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
  case P2PC_EVENT_PEER_DOWN:
    p2pc__sim_ov_peer_down(s, e);
    break;
  default:
    break;
  }
}
