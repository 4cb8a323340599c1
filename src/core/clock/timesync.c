/* SPDX-License-Identifier: MIT */
/*
 * Clock synchronization, the composition (timesync.h): the object's
 * lifecycle, the entry points the node calls, the datagram queue and send
 * tokens both the exchange and the NTP server use, the timers, and the
 * introspection. The work is done by the modules (timesync_int.h):
 * exchange.c (sources, requests, replies, samples), election.c (the
 * reference), steer.c (the network clock) and ntpserve.c (answering NTP
 * requests).
 */
#include "timesync_int.h"

#include "ntpauth.h"

#include <sodium.h>

void p2pc__timesync_say(p2pc_timesync *ts, p2pc_log_level lv, const char *a,
                        const char *b, const char *c) {
  if (!ts->h.log)
    return;
  char t[256];
  size_t n = 0;
  const char *parts[] = {a, b, c};
  for (int i = 0; i < 3; i++)
    for (const char *p = parts[i]; p && *p && n + 1 < sizeof t; p++)
      t[n++] = *p;
  t[n] = '\0';
  ts->h.log(ts->h.ud, lv, t);
}

/* ---- lifecycle ----------------------------------------------------------- */

void p2pc_timesync_config_defaults(p2pc_timesync_config *cfg,
                                   uint16_t listen_port,
                                   uint64_t heartbeat_ns) {
  if (!cfg->time_port)
    cfg->time_port = listen_port;
  if (!cfg->poll_set) {
    cfg->poll_min = -3;
    cfg->poll_max = 1;
  }
  cfg->poll_set = true;
  if (cfg->poll_min < -10)
    cfg->poll_min = -10;
  if (cfg->poll_max > 17)
    cfg->poll_max = 17;
  if (cfg->poll_max < cfg->poll_min)
    cfg->poll_max = cfg->poll_min;
  if (!cfg->burst)
    cfg->burst = 4;
  if (!(cfg->max_slew > 0))
    cfg->max_slew = 500e-6;
  if (!cfg->step_threshold_ns)
    cfg->step_threshold_ns = 1000000;
  if (!cfg->max_change_ns)
    cfg->max_change_ns = 100000000;
  if (!cfg->precision_ns)
    cfg->precision_ns = 100;
  if (!cfg->max_sources)
    cfg->max_sources = 16;
  if (!cfg->announce_ns)
    cfg->announce_ns = heartbeat_ns ? heartbeat_ns : SEC / 2;
  if (!cfg->announce_timeout_ns)
    cfg->announce_timeout_ns = 4 * cfg->announce_ns;
  if (!cfg->tier_sources)
    cfg->tier_sources = 4;
  if (cfg->tier_sources > 16)
    cfg->tier_sources = 16;
  if (!cfg->serve_max)
    cfg->serve_max = 256;
  if (cfg->serve_max > 4096)
    cfg->serve_max = 4096;
  p2pc_ntplimit_config_defaults(&cfg->ntp_limit);
}

int p2pc_timesync_new(p2pc_timesync **out, const p2pc_allocator *a,
                      const char *id, uint64_t incarnation,
                      const p2pc_timesync_config *cfg, uint64_t seed,
                      const p2pc_timesync_hooks *hooks, p2pc_now now) {
  if (!p2pc_ntpauth_keys_valid(cfg->ntp_keys, cfg->ntp_nkeys))
    return P2PC_ERR_INVAL;
  p2pc_timesync *ts = a->realloc(NULL, sizeof *ts, a->ud);
  if (!ts)
    return P2PC_ERR_NOMEM;
  memset(ts, 0, sizeof *ts);
  ts->a = a;
  ts->poll_min = UINT64_MAX;
  ts->cfg = *cfg;
  ts->cfg.ntp_keys = NULL; /* borrowed: ours are srv.keys */
  ts->cfg.ntp_nkeys = 0;
  if (cfg->ntp_nkeys) {
    size_t sz = cfg->ntp_nkeys * sizeof *ts->srv.keys;
    ts->srv.keys = a->realloc(NULL, sz, a->ud);
    if (!ts->srv.keys) {
      a->free(ts, a->ud);
      return P2PC_ERR_NOMEM;
    }
    memcpy(ts->srv.keys, cfg->ntp_keys, sz);
    ts->srv.nkeys = cfg->ntp_nkeys;
  }
  p2pc_timesync_config_defaults(&ts->cfg, cfg->time_port, 0);
  if (hooks)
    ts->h = *hooks;
  copy_id(ts->id, id);
  ts->incarnation = incarnation;
  p2pc_rng_seed(&ts->rng, seed, incarnation);
  /* its own stream: the node's draws stay what they were */
  p2pc_ntplimit_init(&ts->srv.limit, a, &ts->cfg.ntp_limit, seed, ~incarnation);
  ts->start_mono = now.mono_ns;
  ts->next_check = now.mono_ns + ts->cfg.announce_ns;
  ts->next_token = 1;
  p2pc__election_init(ts, now);
  p2pc__steer_init(ts, now);
  if (p2pc__tiers_init(ts) < 0) {
    p2pc_timesync_free(ts);
    return P2PC_ERR_NOMEM;
  }
  *out = ts;
  return 0;
}

void p2pc_timesync_free(p2pc_timesync *ts) {
  if (!ts)
    return;
  const p2pc_allocator *a = ts->a;
  a->free(ts->src, a->ud);
  a->free(ts->src_hash, a->ud);
  a->free(ts->src_poll, a->ud);
  a->free(ts->q, a->ud);
  a->free(ts->tokens, a->ud);
  a->free(ts->el.refs, a->ud);
  a->free(ts->srv.clients, a->ud);
  if (ts->srv.keys) {
    sodium_memzero(ts->srv.keys, ts->srv.nkeys * sizeof *ts->srv.keys);
    a->free(ts->srv.keys, a->ud);
  }
  p2pc_ntplimit_fini(&ts->srv.limit);
  p2pc__steer_fini(ts);
  p2pc__tiers_fini(ts);
  a->free(ts, a->ud);
}

/* ---- the mesh ------------------------------------------------------------ */

void p2pc_timesync_peer_up(p2pc_timesync *ts, const char *id,
                           const p2pc_wire_addr *addr, p2pc_now now) {
  if (ts->cfg.disabled)
    return;
  p2pc__exchange_peer_up(ts, id, addr, now);
}

void p2pc_timesync_peer_down(p2pc_timesync *ts, const char *id, p2pc_now now) {
  (void)now;
  p2pc__exchange_peer_down(ts, id);
}

void p2pc_timesync_set_priority(p2pc_timesync *ts, uint8_t priority) {
  ts->cfg.priority = priority;
}

void p2pc_timesync_announce_in(p2pc_timesync *ts, const char *id,
                               const p2pc_wire_announce *an, p2pc_now now) {
  if (ts->cfg.disabled)
    return;
  p2pc__exchange_announce(ts, id, an, now);
  p2pc__election_heard(ts, an, now);
  p2pc__tiers_heard(ts, id, an, now);
}

void p2pc_timesync_announce_out(p2pc_timesync *ts, bool tick, p2pc_now now,
                                p2pc_wire_announce *an) {
  p2pc__election_announce(ts, tick, now, an);
}

bool p2pc_timesync_announce_relay(p2pc_timesync *ts, p2pc_now now,
                                  p2pc_wire_announce *an) {
  return p2pc__election_relay(ts, now, an);
}

/* ---- the datagram queue and tokens -------------------------------------- */

/* The ring grows by doubling up to QUEUE, laid out from 0 again. */
static bool queue_grow(p2pc_timesync *ts) {
  uint32_t cap = ts->qcap ? ts->qcap * 2 : 4;
  if (cap > QUEUE)
    cap = QUEUE;
  p2pc_datagram *q = ts->a->realloc(NULL, cap * sizeof *q, ts->a->ud);
  if (!q)
    return false;
  for (uint32_t i = 0; i < ts->qn; i++)
    q[i] = ts->q[(ts->qhead + i) % ts->qcap];
  ts->a->free(ts->q, ts->a->ud);
  ts->q = q;
  ts->qcap = cap;
  ts->qhead = 0;
  return true;
}

p2pc_datagram *p2pc__timesync_push(p2pc_timesync *ts) {
  if (ts->qn == QUEUE || (ts->qn == ts->qcap && !queue_grow(ts))) {
    ts->c.tx_dropped++;
    return NULL;
  }
  p2pc_datagram *d = &ts->q[(ts->qhead + ts->qn++) % ts->qcap];
  memset(d, 0, sizeof *d);
  ts->c.tx++;
  return d;
}

bool p2pc_timesync_pop(p2pc_timesync *ts, p2pc_datagram *d) {
  if (!ts->qn)
    return false;
  *d = ts->q[ts->qhead];
  ts->qhead = (ts->qhead + 1) % ts->qcap;
  ts->qn--;
  return true;
}

uint32_t p2pc__timesync_token(p2pc_timesync *ts, bool is_reply, uint32_t idx,
                              const char *id) {
  if (!ts->tokens) {
    ts->tokens = ts->a->realloc(NULL, TOKENS * sizeof *ts->tokens, ts->a->ud);
    if (!ts->tokens)
      return 0; /* out of memory: no send time reported back */
    memset(ts->tokens, 0, TOKENS * sizeof *ts->tokens);
  }
  uint32_t t = ts->next_token++;
  if (!ts->next_token)
    ts->next_token = 1;
  token_slot *s = &ts->tokens[t % TOKENS];
  s->token = t;
  s->is_reply = is_reply;
  s->idx = idx;
  copy_id(s->id, id);
  return t;
}

void p2pc_timesync_sent(p2pc_timesync *ts, uint32_t token, int64_t local,
                        bool kernel) {
  if (!token || !ts->tokens)
    return;
  token_slot *s = &ts->tokens[token % TOKENS];
  if (s->token != token)
    return;
  if (s->is_reply)
    p2pc__ntpserve_sent(ts, s->idx, s->id, local, kernel);
  else
    p2pc__exchange_sent(ts, s->idx, s->id, token, local, kernel);
}

/* ---- input --------------------------------------------------------------- */

void p2pc_timesync_input(p2pc_timesync *ts, const p2pc_wire_addr *from,
                         const uint8_t *b, size_t len, int64_t rx_local,
                         bool rx_kernel, p2pc_now now) {
  ts->c.rx++;
  p2pc_ntp_header h;
  p2pc_ntp_ext e;
  p2pc_ntp_trailer tr;
  bool has_ext = false;
  if (len > P2PC_NTP_PACKET_MAX + 512 ||
      p2pc_ntp_decode_full(b, len, &h, &e, &has_ext, &tr) < 0) {
    ts->c.rx_malformed++;
    return;
  }
  if (ts->cfg.disabled) {
    ts->c.rx_mode++;
    return;
  }
  if (h.mode == P2PC_NTP_MODE_CLIENT) {
    if (has_ext && e.kind != P2PC_NTP_EXT_REQUEST) {
      ts->c.rx_mode++;
      return;
    }
    /* A MAC (a crypto-NAK too) or a field we do not know (NTS's) asks
     * for an answer we cannot authenticate: like chrony with no key for
     * it, we send none at all, rather than one the client would have to
     * recognise as unauthenticated. Our nodes' requests carry neither.
     * With symmetric keys (RFC 8573), a standard request's AES-CMAC-sized
     * MAC (key ID + 16 bytes) is checked: under one of our keys, it is
     * answered with a MAC under the same key; otherwise not at all. */
    int key = -1;
    bool cmac = tr.mac_len == P2PC_NTPAUTH_MAC_LEN && !has_ext && ts->srv.nkeys;
    if (tr.fields || (tr.mac_len && !cmac)) {
      ts->c.rx_unverified++;
      return;
    }
    if (cmac) {
      uint32_t k;
      if (p2pc_ntpauth_check(ts->srv.keys, ts->srv.nkeys, b, len, &k) !=
          P2PC_NTPAUTH_OK) {
        ts->c.rx_bad_mac++;
        return;
      }
      key = (int)k;
    }
    p2pc__ntpserve_answer(ts, from, &h, &e, has_ext, len, rx_local, rx_kernel,
                          key, now);
  } else if (h.mode == P2PC_NTP_MODE_SERVER) {
    if (p2pc__exchange_reply(ts, &h, &e, has_ext, rx_local, rx_kernel, now))
      p2pc__steer_update(ts, now);
  } else {
    ts->c.rx_mode++;
  }
}

/* ---- timers -------------------------------------------------------------- */

void p2pc_timesync_on_deadline(p2pc_timesync *ts, p2pc_now now) {
  if (ts->cfg.disabled)
    return;
  p2pc__exchange_poll(ts, now);
  if (now.mono_ns < ts->next_check)
    return;
  ts->next_check = now.mono_ns + ts->cfg.announce_ns;
  if (ts->cfg.announce_ns >= ts->round_ns) /* not rounded past its pace */
    ts->next_check = near_round(ts, now.mono_ns, ts->next_check);
  /* The election runs on time too: a reference that goes silent is
   * replaced without waiting for a sample. */
  if (ts->cfg.mode == P2PC_CLOCK_REFERENCE) {
    bool was_ref = ts->el.is_ref;
    char old[P2PC_NODE_ID_MAX + 1];
    copy_id(old, ts->el.ref);
    p2pc__election_run(ts, now.mono_ns);
    p2pc__tiers_pick(ts, now);
    bool parent_lost =
        ts->steer.parent >= 0 &&
        !p2pc__steer_usable(ts, &ts->src[ts->steer.parent], now.mono_ns);
    if (ts->el.is_ref != was_ref || strcmp(old, ts->el.ref) != 0 ||
        parent_lost || (ts->el.is_ref && !ts->steer.ref_taken))
      p2pc__steer_update(ts, now);
  } else if (!ts->steer.nc.synced) {
    p2pc__steer_update(ts, now); /* collaborative: the seeding */
  }
}

void p2pc_timesync_set_rounds(p2pc_timesync *ts, uint64_t at, uint64_t period) {
  ts->round_at = at;
  ts->round_ns = period;
}

uint64_t p2pc_timesync_next_deadline(const p2pc_timesync *ts) {
  uint64_t t = UINT64_MAX;
  if (ts->cfg.disabled)
    return t;
  t = ts->poll_min; /* kept by exchange.c */
  /* re-check the election and seeding at the announce pace */
  if (ts->next_check < t)
    t = ts->next_check;
  /* a relay held back by the rate limit */
  if (ts->el.relay_wait && ts->el.relay_next < t)
    t = ts->el.relay_next;
  return t;
}

/* ---- introspection ------------------------------------------------------- */

int64_t p2pc_timesync_time(const p2pc_timesync *ts, int64_t local) {
  return p2pc_netclock_time(&ts->steer.nc, local);
}

double p2pc_timesync_error(const p2pc_timesync *ts, int64_t local) {
  return ts->steer.nc.synced ? p2pc_netclock_error(&ts->steer.nc, local) : -1;
}

void p2pc_timesync_tracking(const p2pc_timesync *ts, p2pc_now now,
                            p2pc_tracking *t) {
  memset(t, 0, sizeof *t);
  int64_t local = now.local_ns;
  t->mode = ts->cfg.mode;
  t->synced = ts->steer.nc.synced;
  t->is_reference = ts->cfg.mode == P2PC_CLOCK_REFERENCE && ts->steer.ref_taken;
  if (ts->cfg.mode == P2PC_CLOCK_REFERENCE)
    copy_id(t->ref, ts->el.ref);
  if (ts->steer.parent >= 0 && (uint32_t)ts->steer.parent < ts->nsrc &&
      !t->is_reference && ts->cfg.mode == P2PC_CLOCK_REFERENCE)
    copy_id(t->source, ts->src[ts->steer.parent].id);
  t->hops = ts->steer.hops;
  t->stratum = !ts->steer.nc.synced ? P2PC_NTP_STRATUM_UNSYNC
               : (ts->cfg.mode == P2PC_CLOCK_REFERENCE && !ts->steer.ref_taken)
                   ? (uint8_t)(ts->steer.hops < 14 ? ts->steer.hops + 1 : 15)
                   : 1;
  t->local_ns = local;
  t->net_ns = p2pc_netclock_time(&ts->steer.nc, local);
  t->offset_ns = corr_now(ts, local);
  t->freq_ppm = ts->steer.nc.freq * 1e6;
  t->skew_ppm = ts->steer.skew * 1e6;
  t->err_ns = p2pc_netclock_error(&ts->steer.nc, local);
  t->pending_ns = p2pc_netclock_pending(&ts->steer.nc, local);
  t->last_adj_ns = ts->steer.last_adj;
  t->since_update_ns = ts->steer.ever_updated
                           ? (int64_t)(now.mono_ns - ts->steer.last_update_mono)
                           : -1;
  t->steps = ts->steer.nc.steps;
  t->updates = ts->steer.nc.updates;
  t->sources = ts->nsrc;
  t->truechimers = ts->steer.ntrue;
  t->c = ts->c;
}

uint32_t p2pc_timesync_source_count(const p2pc_timesync *ts) {
  return ts->nsrc;
}

bool p2pc_timesync_source_info(const p2pc_timesync *ts, uint32_t i,
                               p2pc_now now, p2pc_source_info *si) {
  if (i >= ts->nsrc)
    return false;
  source s = ts->src[i]; /* a copy: the view is computed, not stored */
  memset(si, 0, sizeof *si);
  copy_id(si->id, s.id);
  si->addr = s.addr;
  si->reach = s.reach;
  si->poll = s.poll;
  const p2pc_srcest *e = p2pc_srcstats_est(&s.st);
  si->samples = e->n;
  si->synced = s.synced;
  copy_id(si->ref, s.ref);
  si->hops = s.hops;
  si->state = s.up ? (s.state ? s.state : "candidate") : "unreachable";
  si->interleaved = s.last_interleaved;
  si->kernel = s.last_kernel;
  si->last_sample_ago_ns =
      s.have_sample ? (int64_t)(now.mono_ns - s.last_sample_mono) : -1;
  if (s.have_sample && s.have_reply) {
    p2pc__exchange_view(ts, &s, now.local_ns);
    si->offset_ns = s.d;
    si->raw_offset_ns = p2pc_srcest_offset_at(e, now.local_ns);
    si->freq_ppm = e->freq * 1e6;
    si->skew_ppm = e->skew * 1e6;
    si->delay_ns = e->last_delay;
    si->min_delay_ns = e->min_delay;
    si->jitter_ns = e->jitter;
    si->err_ns = s.lambda;
  }
  return true;
}
