/* SPDX-License-Identifier: MIT */
/*
 * The node's events: every event it reports goes through p2pc__node_emit here,
 * typed (p2pc_event) and, for the event log, rendered by event.c. It also holds
 * the hooks through which the clock sync (timesync.h) and the causal layer
 * (causal.h) report: their event lines, their human log lines, and the
 * deliveries to the application.
 */
#include "nodeint.h"

#include "event.h"

/* Stamps ev with this call's clocks and hands it out. */
void p2pc__node_emit(p2pc_node *n, p2pc_event *ev) {
  if (!n->cb.typed)
    return;
  ev->now = n->now;
  ev->net_ns =
      n->ts ? p2pc_timesync_time(n->ts, n->now.local_ns) : n->now.local_ns;
  n->cb_depth++; /* the peer table may not move meanwhile (ondemand.c) */
  n->cb.typed(n->cb.ud, n, ev);
  n->cb_depth--;
}

/* Nobody listens: no event is even built. */
static bool observed(const p2pc_node *n) { return n->cb.typed != NULL; }

/* Clock-sync reports: the `sample` and `clock` records, and for
 * applications what changed: synced or not, a step, another reference. */
void p2pc__node_ev_timesync(void *ud, const p2pc_tsev *e) {
  p2pc_node *n = ud;
  if (!observed(n))
    return;
  p2pc_event ev = {0};
  if (e->kind == P2PC_TSEV_SAMPLE) {
    ev.type = P2PC_EVENT_CLOCK_SAMPLE;
    ev.peer = e->peer;
    ev.u.sample.offset_ns = e->offset_ns;
    ev.u.sample.delay_ns = e->delay_ns;
    ev.u.sample.raw_offset_ns = e->raw_offset_ns;
    ev.u.sample.interleaved = e->interleaved;
    ev.u.sample.kernel = e->kernel;
    p2pc__node_emit(n, &ev);
    return;
  }
  if (e->kind == P2PC_TSEV_REJECT) {
    ev.type = P2PC_EVENT_CLOCK_REJECTED;
    ev.peer = e->peer;
    ev.reason = e->reason;
    ev.u.reject.offset_ns = e->offset_ns;
    ev.u.reject.judged = e->judged;
    ev.u.reject.against = e->against;
    p2pc__node_emit(n, &ev);
    return;
  }
  ev.type = P2PC_EVENT_CLOCK_UPDATE;
  ev.u.clock.mode = e->mode;
  ev.u.clock.ref = e->ref;
  ev.u.clock.source = e->source;
  ev.u.clock.synced = e->synced;
  ev.u.clock.offset_ns = e->corr_ns;
  ev.u.clock.freq_ppb = e->freq_ppb;
  ev.u.clock.err_ns = e->err_ns;
  ev.u.clock.adj_ns = e->adj_ns;
  ev.u.clock.step_ns = e->step_ns;
  p2pc__node_emit(n, &ev);
  if (e->synced != n->ev_synced) {
    n->ev_synced = e->synced;
    ev.type = e->synced ? P2PC_EVENT_CLOCK_SYNCED : P2PC_EVENT_CLOCK_UNSYNCED;
    p2pc__node_emit(n, &ev);
  }
  if (e->step_ns != 0) {
    ev.type = P2PC_EVENT_CLOCK_STEPPED;
    p2pc__node_emit(n, &ev);
  }
  if (strcmp(e->ref, n->ev_ref) != 0) {
    size_t k = strnlen(e->ref, P2PC_NODE_ID_MAX);
    memcpy(n->ev_ref, e->ref, k);
    n->ev_ref[k] = '\0';
    ev.type = P2PC_EVENT_REFERENCE_CHANGED;
    p2pc__node_emit(n, &ev);
  }
}

void p2pc__node_ev_timesync_log(void *ud, p2pc_log_level lv, const char *text) {
  p2pc__node_log(ud, lv, text);
}

/* A peer's message was not taken: its stamp leads our clock by more than
 * the error bound allows. It comes again; say so at most once a second. */
static void refused_ahead(p2pc_node *n, const p2pc_causal_event *ev) {
  if (n->refused_ahead_logged_ns &&
      n->now.mono_ns - n->refused_ahead_logged_ns < 1000000000ull)
    return;
  n->refused_ahead_logged_ns = n->now.mono_ns;
  char t[256] = "causal: refused msg=";
  p2pc_str_cat(t, sizeof t, ev->sender);
  p2pc_str_cat(t, sizeof t, ":");
  p2pc_str_u64(t, sizeof t, ev->n);
  p2pc_str_cat(t, sizeof t, ": its stamp leads our clock by ");
  uint64_t lead = ev->stamp > ev->hlc ? ev->stamp - ev->hlc : 0;
  p2pc_str_u64(t, sizeof t, lead / 1000000);
  p2pc_str_cat(t, sizeof t,
               " ms, beyond our error bound (its clock is ahead, or "
               "ours is behind)");
  p2pc__node_log(n, P2PC_LOG_WARN, t);
}

/* SES reports: the event line, the human DEBUG line, the delivery. */
void p2pc__node_ev_causal(void *ud, const p2pc_causal_event *ev) {
  p2pc_node *n = ud;
  if (observed(n)) {
    p2pc_event e;
    p2pc_event_from_causal(&e, ev);
    p2pc__node_bcast_event(n, ev, &e);
    p2pc__node_emit(n, &e);
  }
  if (ev->kind == P2PC_CEV_EXPIRE && ev->at_sender)
    p2pc__node_stream_tombstone(n, ev->peer, ev->n);
  if (ev->kind == P2PC_CEV_REFUSE)
    refused_ahead(n, ev);
  if (ev->kind == P2PC_CEV_EXPIRE) {
    char t[256] = "causal: expired msg=";
    p2pc_str_cat(t, sizeof t, ev->sender);
    p2pc_str_cat(t, sizeof t, ":");
    p2pc_str_u64(t, sizeof t, ev->n);
    p2pc_str_cat(t, sizeof t, ev->at_sender ? " to=" : " from=");
    p2pc_str_cat(t, sizeof t, ev->peer);
    p2pc_str_cat(t, sizeof t, " reason=\"");
    p2pc_str_cat(t, sizeof t, ev->reason);
    p2pc_str_cat(t, sizeof t, "\"");
    p2pc__node_log(n, P2PC_LOG_INFO, t);
    return;
  }
  /* The human DEBUG line of a delivery, a hold-back or a drop. */
  if (!n->cb.log || n->cb.log_level < P2PC_LOG_DEBUG ||
      (ev->kind != P2PC_CEV_DELIVER && ev->kind != P2PC_CEV_BUFFER &&
       ev->kind != P2PC_CEV_DROP))
    return; /* the hot path: nothing more to say */
  char t[256] = "causal: ";
  p2pc_str_cat(t, sizeof t, p2pc_event_name(p2pc_event_causal_type(ev->kind)));
  p2pc_str_cat(t, sizeof t, " msg=");
  p2pc_str_cat(t, sizeof t, ev->sender);
  p2pc_str_cat(t, sizeof t, ":");
  p2pc_str_u64(t, sizeof t, ev->n);
  {
    if (ev->kind == P2PC_CEV_DELIVER) {
      p2pc_str_cat(t, sizeof t, " waited_us=");
      p2pc_str_u64(t, sizeof t, ev->waited_ns / 1000);
    } else if (ev->kind == P2PC_CEV_BUFFER) {
      p2pc_str_cat(t, sizeof t, " waits_for=");
      if (ev->waits_sender) {
        p2pc_str_cat(t, sizeof t, ev->waits_sender);
        p2pc_str_cat(t, sizeof t, ":");
        p2pc_str_u64(t, sizeof t, ev->waits_n);
      }
    } else {
      p2pc_str_cat(t, sizeof t, " reason=\"");
      p2pc_str_cat(t, sizeof t, ev->reason);
      p2pc_str_cat(t, sizeof t, "\"");
    }
    p2pc__node_log(n, P2PC_LOG_DEBUG, t);
  }
}

/* peer_up (with the address it listens on) or peer_down (with why). */
void p2pc__node_ev_peer(p2pc_node *n, const peer *p, bool up, const char *why) {
  if (p->ondemand) { /* outside the active view: no event */
    char t[200] = "peers: on-demand link to ";
    p2pc_str_cat(t, sizeof t, p->id);
    p2pc_str_cat(t, sizeof t, up ? " up" : " closed reason=");
    p2pc_str_cat(t, sizeof t, up ? "" : why);
    p2pc__node_log(n, P2PC_LOG_DEBUG, t);
    return;
  }
  p2pc_event ev = {0};
  ev.type = up ? P2PC_EVENT_PEER_UP : P2PC_EVENT_PEER_DOWN;
  ev.peer = p->id;
  char as[64];
  if (up) {
    ev.u.peer.addr = p->addr;
    p2pc_addr_format(&p->addr, as, sizeof as);
  } else {
    ev.reason = why;
  }
  p2pc__node_emit(n, &ev);
  char t[200] = "peers: ";
  p2pc_str_cat(t, sizeof t, p->id);
  p2pc_str_cat(t, sizeof t, up ? " up addr=" : " down reason=");
  p2pc_str_cat(t, sizeof t, up ? as : why);
  p2pc__node_log(n, P2PC_LOG_INFO, t);
}

/* Our message msg_n to `to` can no longer arrive: the peer restarted. */
void p2pc__node_ev_undeliverable(p2pc_node *n, const char *to, uint64_t msg_n,
                                 const char *why) {
  if (!observed(n))
    return;
  p2pc_event ev = {0};
  ev.type = P2PC_EVENT_UNDELIVERABLE;
  p2pc_msgid_from_session(&ev.msg, n->sesid, msg_n);
  ev.peer = to;
  ev.outgoing = true;
  ev.reason = why;
  p2pc__node_emit(n, &ev);
}

/* Sends to p may go on: a send met P2PC_ERR_FULL, and now its queue has
 * room again (or was emptied by the end of the session). */
void p2pc__node_ev_writable(p2pc_node *n, peer *p) {
  p->blocked = false;
  p2pc_event ev = {0};
  ev.type = P2PC_EVENT_WRITABLE;
  ev.peer = p->id;
  p2pc__node_emit(n, &ev);
}
