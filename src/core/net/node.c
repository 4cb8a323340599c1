/* SPDX-License-Identifier: MIT */
/*
 * The node state machine (node.h), composed: the entry points, which set
 * the time of the call and hand over to the modules (see nodeint.h for
 * which owns what), the deadline pass over links and peers, setup and
 * teardown, sending, and introspection. Decisions live in the core so
 * that the libuv runtime, the simulator and the tests all drive the same
 * code with injected time.
 */
#include "nodeint.h"

#include <sodium.h>

#include "dgram.h"

/* ---- links (link.c, members.c) ------------------------------------------ */

int p2pc_node_link_new(p2pc_node *n, bool outbound, const char *peer_id,
                       const p2pc_wire_addr *addr, p2pc_now now,
                       p2pc_link_id *out) {
  n->now = now;
  return p2pc__node_link_new(n, outbound, peer_id, addr, out);
}

void p2pc_node_dial_failed(p2pc_node *n, const p2pc_wire_addr *addr,
                           const char *peer_id, p2pc_now now) {
  n->now = now;
  p2pc__node_dial_failed(n, addr, peer_id);
}

int p2pc_node_link_input(p2pc_node *n, p2pc_link_id lid, const uint8_t *b,
                         size_t len, p2pc_now now) {
  n->now = now;
  return p2pc__node_link_input(n, lid, b, len);
}

void p2pc_node_link_closed(p2pc_node *n, p2pc_link_id lid, p2pc_now now) {
  n->now = now;
  p2pc__node_link_closed(n, lid);
}

bool p2pc_node_pop_action(p2pc_node *n, p2pc_action *a) {
  if (n->acthead == n->nacts)
    return false;
  *a = n->acts[n->acthead++];
  return true;
}

void p2pc_node_link_output(p2pc_node *n, p2pc_link_id lid, const uint8_t **p,
                           size_t *len) {
  link *l = lid < n->links_cap ? &n->links[lid] : NULL;
  /* sec first: it is in the line the pass reads anyway, pend is not */
  if (l && l->sec && l->pend.len && l->state != L_FREE)
    p2pc__sec_flush(n, l);
  if (!l || l->state == L_FREE || !l->out.len) {
    *p = NULL;
    *len = 0;
    return;
  }
  *p = l->out.data;
  *len = l->out.len;
}

void p2pc_node_link_consume(p2pc_node *n, p2pc_link_id lid, size_t len) {
  p2pc__node_link_consume(n, lid, len);
}

/* ---- time ---------------------------------------------------------------- */

void p2pc_node_on_deadline(p2pc_node *n, p2pc_now now) {
  n->now = now;
  uint64_t t = now.mono_ns;
  p2pc__node_causal_time(n); /* expiry, and a drain of what it released */
  p2pc_causal_drain(n->causal, t);
  /* Heartbeats go out together: when one link is due, every link past
   * half its interval beats too, so a node's links fall into step and
   * one wake-up (and one write per link, STABLE and ANNOUNCE together)
   * serves them all. That wake-up is the node's round: the clock puts
   * what is not urgent on it too (p2pc_timesync_set_rounds). */
  bool beat = false;
  for (uint32_t i = 0; i < n->links_hw && !beat; i++)
    beat = n->links[i].state == L_UP &&
           t - n->links[i].last_ping_ns >= p2pc__node_beat_ns(n, &n->links[i]);
  if (beat)
    p2pc_timesync_set_rounds(n->ts, t, n->cfg.heartbeat_ns);
  /* The announcement is renewed once per interval (the reference's
   * sequence number rises) and rides with every link's heartbeat: on a
   * round within half an interval of its time, so that the two share
   * the wake-up. */
  uint64_t early = beat && n->cfg.time.announce_ns == n->cfg.heartbeat_ns
                       ? n->cfg.heartbeat_ns / 2
                       : 0;
  if (t + early >= n->next_announce_ns && !n->stopping) {
    n->next_announce_ns = t + n->cfg.time.announce_ns;
    p2pc_wire_announce an;
    p2pc_timesync_announce_out(n->ts, true, now, &an);
    p2pc__node_set_announce(n, &an);
  }
  p2pc_wire_stable_rep rep; /* encoded once, for every link's heartbeat */
  if (beat) {
    p2pc__node_stable_update(n);
    p2pc__node_stable_rep(n, &rep);
  }
  for (uint32_t i = 0; i < n->links_hw; i++) {
    link *l = &n->links[i];
    if (l->state == L_HELLO && t - l->opened_ns >= n->cfg.handshake_ns) {
      p2pc__node_log(n, P2PC_LOG_WARN, "link: handshake timed out; closing");
      p2pc__node_link_close(n, i, 0, NULL);
    } else if (l->state == L_UP) {
      p2pc__node_link_due(n, i, t, beat, &rep);
    }
  }
  p2pc__node_ondemand_due(n, t);
  p2pc__swim_on_deadline(n, t);
  p2pc__node_views_due(n, t);
  p2pc__node_dials_due(n, t);
  p2pc__node_bcast_deadline(n);
  p2pc_timesync_on_deadline(n->ts, now);
  p2pc__node_relay_announce(n);
  p2pc__node_dht_deadline(n);
  p2pc__node_log_due(n);
}

static uint64_t earlier(uint64_t a, uint64_t b) { return a < b ? a : b; }

uint64_t p2pc_node_next_deadline(const p2pc_node *n) {
  uint64_t d = n->log.due_ns; /* a count of log lines held back */
  for (uint32_t i = 0; i < n->links_hw; i++) {
    const link *l = &n->links[i];
    if (l->state != L_UP) {
      if (l->state == L_HELLO)
        d = earlier(d, l->opened_ns + n->cfg.handshake_ns);
      continue;
    }
    const peer *p = &n->peers[l->peer];
    /* A link whose peer did not say ON_DEMAND (most): the heartbeat, and
     * no quiet allowance, what p2pc__node_beat_ns and _quiet_ns say for
     * it, without their reads (this pass runs after every call). */
    uint64_t beat = n->cfg.heartbeat_ns, quiet = 0;
    if (l->remote_od) {
      beat = p2pc__node_beat_ns(n, l);
      quiet = p2pc__node_quiet_ns(n, l);
    }
    d = earlier(d, l->last_ping_ns + beat);
    d = earlier(
        d, l->last_rx_ns + quiet +
               (p->state == P2PC_PEER_UP ? n->cfg.suspect_ns : n->cfg.dead_ns));
    if (p->qn) {
      d = earlier(d, p->last_progress_ns + n->cfg.resend_ns);
      /* A chaos hold ends: wake then. A frame already due but unwritten
       * waits for the link's output to drain, which is no deadline. */
      uint64_t k = p->tx_written - p->tx_acked; /* first unwritten */
      if (k < p->qn && txq_at(p, (uint32_t)k)->release_ns > n->now.mono_ns)
        d = earlier(d, txq_at(p, (uint32_t)k)->release_ns);
    }
  }
  for (uint32_t i = 0; i < n->npeers && !n->stopping; i++) {
    const peer *p = &n->peers[i];
    if (dial_wanted(p))
      d = earlier(d, p->next_dial_ns);
  }
  for (uint32_t i = 0; n->anon_done < n->nanon && i < n->nanon && !n->stopping;
       i++)
    if (!n->anon[i].done && !n->anon[i].dialing)
      d = earlier(d, n->anon[i].next_dial_ns);
  if (!n->stopping)
    d = earlier(d, n->next_announce_ns);
  if (p2pc__node_ondemand_owed(n))
    d = earlier(d, n->now.mono_ns);
  d = earlier(d, p2pc__node_dht_next_deadline(n));
  d = earlier(d, p2pc__swim_next_deadline(n));
  d = earlier(d, p2pc__node_bcast_next(n));
  d = earlier(d, p2pc__node_views_deadline(n));
  return earlier(d, p2pc_timesync_next_deadline(n->ts));
}
/* ---- the node ------------------------------------------------------------ */

#define DEF(field, v)                                                          \
  do {                                                                         \
    if (!c->field)                                                             \
      c->field = (v);                                                          \
  } while (0)

int p2pc_node_new(p2pc_node **out, const p2pc_node_config *cfg,
                  const p2pc_node_callbacks *cb, p2pc_now now) {
  const p2pc_allocator *a =
      cfg && cfg->alloc ? cfg->alloc : p2pc_allocator_default();
  if (!cfg || !cfg->id || !p2pc_node_id_valid(cfg->id, strlen(cfg->id)) ||
      cfg->chaos_delay_min_ns > cfg->chaos_delay_max_ns ||
      cfg->chaos_drop < 0 || cfg->chaos_drop >= 1 ||
      (cfg->secure.on && cfg->secure.npsk > P2PC_KEYRING_MAX))
    return P2PC_ERR_INVAL;
  p2pc_node *n = a->realloc(NULL, sizeof *n, a->ud);
  if (!n)
    return P2PC_ERR_NOMEM;
  memset(n, 0, sizeof *n);
  n->a = a;
  n->log.due_ns = UINT64_MAX;
  n->cfg = *cfg;
  p2pc_node_config *c = &n->cfg;
  /* The defaults live once, in p2pc_settings_default (api.c). */
  p2pc_settings d;
  p2pc_settings_default(&d);
  DEF(max_peers, d.max_peers);
  DEF(max_frame, d.max_frame);
  DEF(heartbeat_ns, d.heartbeat_ns);
  DEF(suspect_ns, d.suspect_ns);
  DEF(dead_ns, d.dead_ns);
  DEF(handshake_ns, d.handshake_ns);
  DEF(redial_min_ns, d.redial_min_ns);
  DEF(redial_max_ns, d.redial_max_ns);
  DEF(resend_ns, d.resend_ns);
  DEF(max_unacked, d.max_unacked);
  DEF(max_unacked_bytes, d.max_unacked_bytes);
  DEF(max_link_output, d.max_link_output);
  DEF(max_ondemand, d.max_ondemand);
  DEF(max_sessions, d.max_sessions);
  DEF(ondemand_idle_ns, d.ondemand_idle_ns);
  DEF(probe_interval_ns, d.probe_interval_ns);
  DEF(probe_timeout_ns, d.probe_timeout_ns);
  DEF(stable_idle_ns, d.stable_idle_ns);
  DEF(passive_max, d.passive_max);
  DEF(peers_sample, d.peers_sample);
  DEF(shuffle_interval_ns, d.shuffle_interval_ns);
  if (c->max_frame > P2PC_WIRE_MAX_FRAME_LIMIT)
    c->max_frame = P2PC_WIRE_MAX_FRAME_LIMIT;
  c->seeds = NULL; /* copied below */
  if (cb)
    n->cb = *cb;
  n->now = now;
  p2pc_str_cat(n->id, sizeof n->id, cfg->id);
  p2pc__node_make_sesid(n->sesid, n->id, cfg->incarnation);
  p2pc_rng_seed(&n->rng, cfg->seed ^ cfg->incarnation, 0);
  /* The buffers p2pc_node_free finishes are set before a failed
   * allocation can send us there (they allocate nothing yet). */
  p2pc_buf_init(&n->scratch, a, P2PC_WIRE_MAX_FRAME_LIMIT);
  p2pc_buf_init(&n->bcast_buf, a, P2PC_WIRE_MAX_FRAME_LIMIT);
  /* The link table's bound; it grows as links open (link.c). */
  n->nlinks = c->max_peers * 2 + 8 + c->max_ondemand;
  /* The peer table grows as records come (p2pc__node_peers_reserve). */
  n->anon = cfg->nseeds ? a->realloc(NULL, cfg->nseeds * sizeof *n->anon, a->ud)
                        : NULL;
  int rv = P2PC_ERR_NOMEM;
  if ((cfg->nseeds && !n->anon) || p2pc__node_views_init(n))
    goto err;
  rv = p2pc_causal_new(&n->causal, n->sesid, &c->causal, a,
                       p2pc__node_ev_causal, n);
  if (rv)
    goto err;
  /* Slots for every peer's incarnation, with room for frozen ones. */
  n->st_keys = c->max_peers * 4 + 64;
  if (n->st_keys < n->nlinks + 64) /* every link's, and frozen ones */
    n->st_keys = n->nlinks + 64;
  if (n->st_keys > P2PC_STABLE_MAX_NEIGHBOURS)
    n->st_keys = P2PC_STABLE_MAX_NEIGHBOURS;
  uint64_t life = p2pc_causal_lifetime(n->causal);
  n->st_hold = life == P2PC_CAUSAL_LIFETIME_INF
                   ? UINT64_MAX
                   : life + 2000 * MS + P2PC_CAUSAL_AHEAD_MARGIN_DEFAULT_NS;
  rv = p2pc_stable_new(&n->st, a, n->st_keys, n->st_hold);
  if (rv)
    goto err;
  rv = p2pc__node_bcast_new(n);
  if (rv)
    goto err;
  p2pc_timesync_config_defaults(&c->time, c->listen.port, c->heartbeat_ns);
  /* Secure mode: our datagrams leave room for their MAC (dgauth.c). */
  c->time.auth = c->secure.on;
  rv = p2pc__sec_init(n, c); /* may take the reference role away */
  if (rv)
    goto err;
  p2pc__dgauth_ring_changed(n); /* the datagrams' MAC keys */
  p2pc_timesync_hooks th = {.event = p2pc__node_ev_timesync,
                            .log = p2pc__node_ev_timesync_log,
                            .ud = n};
  rv = p2pc_timesync_new(&n->ts, a, n->id, cfg->incarnation, &c->time,
                         cfg->seed ^ 0x74696d65u, &th, now);
  c->time.ntp_keys = NULL; /* borrowed for the call: the clock has its copy */
  c->time.ntp_nkeys = 0;
  if (rv)
    goto err;
  rv = p2pc__node_dht_init(n);
  if (rv)
    goto err;
  if (c->secure.on)
    p2pc_dht_set_datagram_max(n->dht, P2PC_DGRAM_MAX_AUTH);
  n->next_announce_ns = now.mono_ns + c->time.announce_ns;
  p2pc__swim_init(n);
  p2pc_wire_announce an;
  p2pc_timesync_announce_out(n->ts, false, now, &an);
  p2pc__node_set_announce(n, &an);
  for (uint32_t i = 0; i < cfg->nseeds; i++) {
    const p2pc_node_seed *s = &cfg->seeds[i];
    if (s->id[0] && strcmp(s->id, n->id) == 0)
      continue; /* ourselves, as a full-mesh config lists everyone */
    if (s->id[0]) {
      rv = P2PC_ERR_INVAL;
      if (!p2pc_node_id_valid(s->id, strlen(s->id)))
        goto err;
      uint32_t pi = p2pc__node_peer_add(n, s->id);
      if (pi == NO_PEER)
        continue;
      n->peers[pi].addr = s->addr;
      n->peers[pi].addr_known = true;
      n->peers[pi].next_dial_ns = now.mono_ns;
    } else {
      anon_seed *x = &n->anon[n->nanon++];
      memset(x, 0, sizeof *x);
      x->addr = s->addr;
      x->next_dial_ns = now.mono_ns;
      x->backoff_ns = c->redial_min_ns;
    }
  }
  *out = n;
  return 0;
err:
  p2pc_node_free(n);
  return rv;
}

int p2pc_node_set_chaos(p2pc_node *n, uint64_t delay_min_ns,
                        uint64_t delay_max_ns, double drop) {
  if (delay_min_ns > delay_max_ns || !(drop >= 0 && drop < 1))
    return P2PC_ERR_INVAL;
  n->cfg.chaos_delay_min_ns = delay_min_ns;
  n->cfg.chaos_delay_max_ns = delay_max_ns;
  n->cfg.chaos_drop = drop;
  return 0;
}

void p2pc_node_free(p2pc_node *n) {
  if (!n)
    return;
  p2pc__node_log_flush(n); /* nothing held back goes unsaid */
  const p2pc_allocator *a = n->a;
  for (uint32_t i = 0; i < n->links_cap; i++) {
    p2pc_buf_fini(&n->links[i].in);
    p2pc_buf_fini(&n->links[i].out);
    p2pc__sec_release(n, &n->links[i]);
    p2pc_buf_fini(&n->links[i].cin);
    p2pc_buf_fini(&n->links[i].pend);
  }
  for (uint32_t i = 0; i < n->npeers; i++) {
    p2pc__node_free_queue(n, &n->peers[i]);
    a->free(n->peers[i].q, a->ud);
  }
  a->free(n->links, a->ud);
  a->free(n->peers, a->ud);
  a->free(n->anon, a->ud);
  a->free(n->acts, a->ud);
  p2pc__node_ondemand_free(n);
  p2pc__node_views_free(n);
  p2pc_buf_fini(&n->scratch);
  a->free(n->sec_plain, a->ud);
  a->free(n->pins, a->ud);
  a->free(n->members, a->ud);
  sodium_memzero(&n->cfg.secure, sizeof n->cfg.secure);
  sodium_memzero(n->dg_keys, sizeof n->dg_keys);
  p2pc_causal_free(n->causal);
  p2pc_stable_free(n->st);
  p2pc__node_bcast_free(n);
  p2pc_timesync_free(n->ts);
  p2pc__node_dht_free(n);
  p2pc__swim_free(n);
  a->free(n, a->ud);
}

/* The id of the message just sent (p2pc_causal_sent). */
static void sent_id(const p2pc_node *n, p2pc_msgid *id) {
  if (!id)
    return;
  memcpy(id->node, n->id, strlen(n->id) + 1);
  id->session = (uint32_t)(n->cfg.incarnation & 0x7fffffffu);
  id->seq = p2pc_causal_sent(n->causal);
}

static int send_one(p2pc_node *n, const char *dest, const uint8_t *payload,
                    size_t len) {
  if (strcmp(dest, n->id) == 0) {
    p2pc_buf_reset(&n->scratch);
    p2pc__node_causal_time(n);
    return p2pc_causal_send(n->causal, n->sesid, payload, len, n->now.mono_ns,
                            &n->scratch);
  }
  uint32_t pi = p2pc__node_peer_find(n, dest);
  if (pi == NO_PEER || !n->peers[pi].inc_known)
    return p2pc__node_ondemand_send(n, dest, payload, len);
  return p2pc__node_stream_send(n, &n->peers[pi], payload, len);
}

int p2pc_node_send(p2pc_node *n, const char *dest, const uint8_t *payload,
                   size_t len, p2pc_now now, p2pc_msgid *id) {
  n->now = now;
  if (!dest || (!payload && len))
    return P2PC_ERR_INVAL;
  /* Room for the SES metadata too: a quarter of the frame at least. */
  if (len > n->cfg.max_frame - n->cfg.max_frame / 4)
    return P2PC_ERR_TOOBIG;
  int rv = send_one(n, dest, payload, len);
  if (rv == 0)
    sent_id(n, id);
  return rv;
}

const char *p2pc_node_name(const p2pc_node *n) { return n->id; }

void p2pc_node_shutdown(p2pc_node *n, p2pc_now now) {
  n->now = now;
  n->stopping = true;
  for (uint32_t i = 0; i < n->links_hw; i++)
    if (n->links[i].state == L_UP || n->links[i].state == L_HELLO)
      p2pc__node_link_close(n, i, P2PC_WIRE_E_SHUTDOWN, "node stopping");
}

/* ---- introspection ------------------------------------------------------- */

uint32_t p2pc_node_peer_count(const p2pc_node *n) { return n->npeers; }

uint32_t p2pc_node_link_span(const p2pc_node *n) { return n->links_hw; }

p2pc_link_id p2pc_node_next_output_link(const p2pc_node *n, p2pc_link_id from) {
  /* The fields read are in the link's first cache line, pend aside (read
   * only for a secure link). */
  for (uint32_t i = from; i < n->links_hw; i++) {
    const link *l = &n->links[i];
    if (l->state != L_FREE && (l->out.len || (l->sec && l->pend.len)))
      return i;
  }
  return UINT32_MAX;
}

bool p2pc_node_peer_info(const p2pc_node *n, uint32_t i, p2pc_peer_info *pi) {
  if (i >= n->npeers)
    return false;
  const peer *p = &n->peers[i];
  memset(pi, 0, sizeof *pi);
  p2pc_str_cat(pi->id, sizeof pi->id, p->id);
  pi->state = p->state;
  pi->addr = p->addr;
  pi->incarnation = p->inc;
  pi->unacked = p->qn;
  pi->sent = p->sent;
  pi->delivered_from = p->delivered_from;
  pi->ondemand = p->ondemand;
  return true;
}

uint32_t p2pc_node_up_count(const p2pc_node *n) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < n->npeers; i++)
    k += !n->peers[i].ondemand && (n->peers[i].state == P2PC_PEER_UP ||
                                   n->peers[i].state == P2PC_PEER_SUSPECT);
  return k;
}

uint64_t p2pc_node_undeliverable(const p2pc_node *n) {
  return n->undeliverable;
}

const p2pc_causal *p2pc_node_causal(const p2pc_node *n) { return n->causal; }

const char *p2pc_peer_state_name(p2pc_peer_state s) {
  switch (s) {
  case P2PC_PEER_DOWN:
    return "down";
  case P2PC_PEER_DIALING:
    return "dialing";
  case P2PC_PEER_UP:
    return "up";
  case P2PC_PEER_SUSPECT:
    return "suspect";
  }
  return "?";
}

/* ---- clock synchronization (timesync.h) --------------------------------- */

void p2pc_node_time_input(p2pc_node *n, const p2pc_wire_addr *from,
                          const uint8_t *b, size_t len, int64_t rx_local_ns,
                          bool rx_kernel, p2pc_now now) {
  n->now = now;
  /* The overlay's datagrams share the socket; NTP never sees them. */
  bool overlay = p2pc_dgram_is_overlay(b, len);
  long k = p2pc__dgauth_open(n, from, b, len, overlay);
  if (k < 0)
    return;
  if (overlay)
    p2pc__node_dht_input(n, from, b, (size_t)k);
  else
    p2pc_timesync_input(n->ts, from, b, (size_t)k, rx_local_ns, rx_kernel, now);
}

bool p2pc_node_pop_datagram(p2pc_node *n, p2pc_datagram *d) {
  bool ntp = p2pc_timesync_pop(n->ts, d);
  if (!ntp && !p2pc_dht_pop(n->dht, d))
    return false;
  p2pc__dgauth_seal(n, d, !ntp);
  return true;
}

void p2pc_node_time_sent(p2pc_node *n, uint32_t token, int64_t local_ns,
                         bool kernel, p2pc_now now) {
  n->now = now;
  p2pc_timesync_sent(n->ts, token, local_ns, kernel);
}

int64_t p2pc_node_network_time(const p2pc_node *n, int64_t local_ns) {
  return p2pc_timesync_time(n->ts, local_ns);
}

void p2pc_node_tracking(const p2pc_node *n, p2pc_now now, p2pc_tracking *t) {
  p2pc_timesync_tracking(n->ts, now, t);
  t->c.rx_unauth = n->dg_unauth;
}

uint32_t p2pc_node_source_count(const p2pc_node *n) {
  return p2pc_timesync_source_count(n->ts);
}

bool p2pc_node_source_info(const p2pc_node *n, uint32_t i, p2pc_now now,
                           p2pc_source_info *si) {
  return p2pc_timesync_source_info(n->ts, i, now, si);
}

const char *p2pc_clock_mode_name(p2pc_clock_mode m) {
  return m == P2PC_CLOCK_COLLABORATIVE ? "collaborative" : "reference";
}
