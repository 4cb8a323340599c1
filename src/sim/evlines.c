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

/* The node index of a node ID "n<i>", or UINT32_MAX. */
static uint32_t node_of(const p2pc_sim *s, const char *id) {
  if (!id || id[0] != 'n' || !id[1])
    return UINT32_MAX;
  uint64_t v = 0;
  for (const char *c = id + 1; *c; c++) {
    if (*c < '0' || *c > '9' || v > s->cfg.nodes)
      return UINT32_MAX;
    v = v * 10 + (uint64_t)(*c - '0');
  }
  return v < s->cfg.nodes ? (uint32_t)v : UINT32_MAX;
}

/* Alive, and neither frozen, stopped nor cut off lately: nothing may take
 * it for failed, nor may it take others for failed. */
static bool calm(const p2pc_sim *s, uint32_t i) {
  const snode *x = &s->nodes[i];
  return x->alive && s->now >= x->calm_after && !sim_frozen(s, i) &&
         s->ncuts == 0 && s->now >= s->calm_net;
}

void p2pc__sim_freeze(p2pc_sim *s, uint32_t i, uint64_t until) {
  snode *x = &s->nodes[i];
  if (!x->alive)
    return;
  x->frozen_until = until;
  x->calm_after = until + P2PC_SIM_FAULT_GRACE_NS;
  if (s->nfrz >= SIM_FREEZES)
    return;
  freeze_rec *f = &s->frz[s->nfrz++];
  memset(f, 0, sizeof *f);
  f->node = i;
  f->at = s->now;
  f->want = p2pc__sim_xcalloc(s, s->cfg.nodes, sizeof *f->want);
  for (uint32_t k = 0; k < s->cfg.nodes; k++) {
    if (k == i || !s->nodes[k].alive)
      continue;
    p2pc_peer_info pi;
    uint32_t np = p2pc_node_peer_count(s->nodes[k].n);
    for (uint32_t q = 0; q < np; q++)
      if (p2pc_node_peer_info(s->nodes[k].n, q, &pi) &&
          strcmp(pi.id, x->id) == 0 &&
          (pi.state == P2PC_PEER_UP || pi.state == P2PC_PEER_SUSPECT)) {
        f->want[k] = true;
        f->nwant++;
      }
  }
}

void p2pc__sim_freeze_finish(p2pc_sim *s) {
  s->res.freezes = s->nfrz;
  for (uint32_t k = 0; k < s->nfrz; k++) {
    const freeze_rec *f = &s->frz[k];
    s->res.detect_missed += f->nwant - f->got;
    if (f->worst > s->res.detect_ns)
      s->res.detect_ns = f->worst;
  }
}

static void on_membership(p2pc_sim *s, const p2pc_event *e) {
  uint32_t i = s->cur_node, j = node_of(s, e->peer);
  if (j == UINT32_MAX)
    return;
  bool wrong = calm(s, i) && calm(s, j);
  if (e->type == P2PC_EVENT_PEER_DOWN) {
    if (wrong && !(e->reason && strcmp(e->reason, "left") == 0))
      s->res.flaps++;
    return;
  }
  if (wrong)
    s->res.false_suspicions++;
  if (e->type != P2PC_EVENT_MEMBER_DOWN)
    return;
  for (uint32_t k = 0; k < s->nfrz; k++) {
    freeze_rec *f = &s->frz[k];
    if (f->node != j || s->now < f->at || !f->want[i])
      continue;
    f->want[i] = false;
    f->got++;
    if (s->now - f->at > f->worst)
      f->worst = s->now - f->at;
  }
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
  case P2PC_EVENT_PEER_DOWN:
  case P2PC_EVENT_MEMBER_SUSPECT:
  case P2PC_EVENT_MEMBER_DOWN:
    on_membership(s, e);
    break;
  default:
    break;
  }
}
