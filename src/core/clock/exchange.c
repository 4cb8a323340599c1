/* SPDX-License-Identifier: MIT */
/*
 * Clock synchronization, the exchange: the sources (one a neighbour), the
 * NTP requests we send them, their replies, and the samples those give.
 *
 * Each neighbour is a source, and so is each tier source (tiers.c), a
 * node beyond the neighbours polled at the address its record gives. We
 * poll it with NTP client requests that
 * carry our extension field (ntp.h); its replies give the four timestamps
 * in *local* clock terms (the reply's extension says what it added to its
 * local clock), so each source's statistics (srcstats.h) fit a clean line:
 * peer local clock − our local clock, which nobody's steering disturbs.
 * The peer's correction (its network time − its local clock) and frequency
 * correction ride along, so the peer's *network* time relative to ours is
 *
 *   d = θ(now) + c_peer(now) − c_self(now).
 *
 * Reference mode steers c_self towards d of the neighbour with the best
 * path to the elected reference; collaborative mode towards the mean d of
 * the truechimers (select.h) among all synced neighbours and itself.
 *
 * Interleaved mode (chrony's xleave idea, our own encoding): a reply
 * carries the kernel transmit time of the *previous* reply to the same
 * requester, so the previous exchange is recomputed with four kernel
 * timestamps, and that sample is used instead of the basic one.
 *
 * Owns the sources (ts->src, nsrc, src_hash, src_poll) apart from their
 * selection fields, which steer.c writes.
 */
#include "timesync_int.h"

#define PHI 15e-6     /* NTP's frequency tolerance, per sample */
#define POLLTARGET 16 /* samples in the window before polling slower */
#define SPARE_POLLS 3 /* a spare source is polled every 3 x poll_max */

static uint64_t rng_next(p2pc_timesync *ts) { return p2pc_rng_next(&ts->rng); }

static double rng_unit(p2pc_timesync *ts) { return p2pc_rng_unit(&ts->rng); }

/* ---- sources ------------------------------------------------------------- */

source *p2pc__exchange_find(p2pc_timesync *ts, const char *id) {
  return p2pc__exchange_find_h(ts, id, id_hash(id));
}

source *p2pc__exchange_find_h(p2pc_timesync *ts, const char *id, uint32_t h) {
  for (uint32_t i = 0; i < ts->nsrc; i++)
    if (ts->src_hash[i] == h && strcmp(ts->src[i].id, id) == 0)
      return &ts->src[i];
  return NULL;
}

uint64_t p2pc__exchange_least_poll(const p2pc_timesync *ts) {
  uint64_t t = UINT64_MAX;
  for (uint32_t i = 0; i < ts->nsrc; i++)
    if (ts->src_poll[i] < t)
      t = ts->src_poll[i];
  return t;
}

/* src_poll[i] = v, and poll_min with it: a pass over the sources only
 * when the least one rises. */
static void set_poll(p2pc_timesync *ts, uint32_t i, uint64_t v) {
  uint64_t old = ts->src_poll[i];
  ts->src_poll[i] = v;
  if (v <= ts->poll_min)
    ts->poll_min = v;
  else if (old == ts->poll_min)
    ts->poll_min = p2pc__exchange_least_poll(ts);
}

/* What src_poll[] holds for s: its next poll if up. */
static uint64_t poll_of(const source *s) {
  return s->up ? s->next_poll : UINT64_MAX;
}

/* Keeps src_poll[] in step with s->up and s->next_poll. */
static void sync_poll(p2pc_timesync *ts, const source *s) {
  set_poll(ts, (uint32_t)(s - ts->src), poll_of(s));
}

static void set_addr(p2pc_timesync *ts, source *s) {
  (void)ts;
  s->addr = s->listen;
  if (s->have_ann && s->ann.time_port)
    s->addr.port = s->ann.time_port;
}

static void reset_source(p2pc_timesync *ts, source *s, p2pc_now now) {
  p2pc_srcstats_reset(&s->st);
  s->pending = false;
  s->prev.valid = false;
  s->have_reply = s->have_sample = false;
  s->reach = 0;
  s->poll = ts->cfg.poll_min;
  s->burst_left = ts->cfg.burst;
  s->since_poll_change = 0;
  /* the first request soon, spread so a mesh does not poll in lockstep */
  s->next_poll =
      now.mono_ns + (uint64_t)(rng_unit(ts) * (double)poll_ns(s->poll) / 4);
  sync_poll(ts, s);
}

/* A source slot for id: its own, else one given up by a source that is
 * no longer polled (so churn cannot starve the node of sources), else a
 * new one while fewer than the bound (neighbours + tier sources). */
static source *slot_for(p2pc_timesync *ts, const char *id) {
  source *s = p2pc__exchange_find(ts, id);
  if (s)
    return s;
  uint32_t cap = ts->cfg.max_sources + ts->cfg.tier_sources;
  for (uint32_t i = 0; i < ts->nsrc && ts->nsrc == cap; i++)
    if (!ts->src[i].up) {
      s = &ts->src[i];
      ts->src_hash[i] = id_hash(id);
      p2pc__steer_drop_parent(ts, (int32_t)i);
      break;
    }
  if (!s) {
    if (ts->nsrc == cap)
      return NULL; /* polled sources are bounded; the rest are not polled */
    if (ts->nsrc == ts->srccap) {
      uint32_t ncap = ts->srccap ? 2 * ts->srccap : 8;
      ncap = ncap < cap ? ncap : cap; /* a source is 3.5 KB: no more */
      uint32_t *nh = ts->a->realloc(ts->src_hash, ncap * sizeof *nh, ts->a->ud);
      if (!nh)
        return NULL;
      ts->src_hash = nh;
      uint64_t *np = ts->a->realloc(ts->src_poll, ncap * sizeof *np, ts->a->ud);
      if (!np)
        return NULL;
      ts->src_poll = np;
      source *ns = ts->a->realloc(ts->src, ncap * sizeof *ns, ts->a->ud);
      if (!ns)
        return NULL;
      ts->src = ns;
      ts->srccap = ncap;
    }
    ts->src_hash[ts->nsrc] = id_hash(id);
    ts->src_poll[ts->nsrc] = UINT64_MAX; /* for set_poll below */
    s = &ts->src[ts->nsrc++];
  }
  memset(s, 0, sizeof *s);
  copy_id(s->id, id);
  p2pc_srcstats_config sc;
  p2pc_srcstats_config_default(&sc);
  sc.precision_ns = ts->cfg.precision_ns;
  p2pc_srcstats_init(&s->st, &sc);
  s->state = "candidate";
  set_poll(ts, (uint32_t)(s - ts->src), UINT64_MAX);
  return s;
}

void p2pc__exchange_peer_up(p2pc_timesync *ts, const char *id,
                            const p2pc_wire_addr *addr, p2pc_now now) {
  source *s = p2pc__exchange_find(ts, id);
  if (!s) {
    uint32_t linked = 0;
    for (uint32_t i = 0; i < ts->nsrc; i++)
      linked += ts->src[i].linked;
    if (linked >= ts->cfg.max_sources)
      return; /* neighbours polled are bounded; the rest are not polled */
    s = slot_for(ts, id);
    if (!s)
      return;
  }
  bool was_polled = s->up;
  s->up = s->linked = true;
  s->listen = *addr;
  set_addr(ts, s);
  if (!was_polled)
    reset_source(ts, s, now); /* and src_poll */
}

bool p2pc__exchange_remote_up(p2pc_timesync *ts, const char *id,
                              const p2pc_wire_addr *listen, uint16_t time_port,
                              p2pc_now now) {
  source *s = slot_for(ts, id);
  if (!s)
    return false;
  s->tiered = true;
  if (s->up)
    return true; /* a neighbour: polled already */
  s->up = true;
  s->listen = *listen;
  s->addr = *listen;
  if (time_port)
    s->addr.port = time_port;
  reset_source(ts, s, now);
  return true;
}

void p2pc__exchange_remote_down(p2pc_timesync *ts, source *s) {
  s->tiered = false;
  s->refused = false;
  if (s->linked)
    return;
  s->up = false;
  s->pending = false;
  sync_poll(ts, s);
  p2pc__steer_drop_parent(ts, (int32_t)(s - ts->src));
}

void p2pc__exchange_peer_down(p2pc_timesync *ts, const char *id) {
  source *s = p2pc__exchange_find(ts, id);
  if (!s)
    return;
  s->linked = false;
  s->have_ann = false;
  if (s->tiered)
    return; /* a tier source too: polled on over UDP */
  s->up = false;
  s->pending = false;
  sync_poll(ts, s);
}

void p2pc__exchange_announce(p2pc_timesync *ts, const char *id,
                             const p2pc_wire_announce *an, p2pc_now now) {
  source *s = p2pc__exchange_find(ts, id);
  if (s) {
    s->have_ann = true;
    s->ann = *an;
    s->ann_ref_hash = id_hash(an->ref);
    s->ann_mono = now.mono_ns;
    set_addr(ts, s);
  }
}

/* ---- polling ------------------------------------------------------------- */

static void send_request(p2pc_timesync *ts, source *s, uint32_t idx,
                         p2pc_now now) {
  if (s->pending) /* the last one went unanswered */
    s->pending = false;
  s->reach <<= 1;
  s->polls++;
  p2pc_datagram *d = p2pc__timesync_push(ts);
  if (!d)
    return;
  /* The transmit field is a random cookie (as chrony does): the reply
   * must echo it, and our real T1 stays here. */
  s->cookie = rng_next(ts) | 1;
  p2pc_ntp_header h = {.li = P2PC_NTP_LI_UNSYNC,
                       .version = 4,
                       .mode = P2PC_NTP_MODE_CLIENT,
                       .stratum = 0,
                       .poll = s->poll,
                       .precision = p2pc_ntp_log2_from_ns(ts->cfg.precision_ns),
                       .xmt = s->cookie};
  p2pc_ntp_header_put(d->data, &h);
  p2pc_ntp_ext e = {.kind = P2PC_NTP_EXT_REQUEST};
  copy_id(e.id, ts->id);
  size_t elen = p2pc__timesync_ext_len(ts);
  if (p2pc_ntp_ext_put_len(d->data + P2PC_NTP_HEADER_LEN, elen, &e) < 0) {
    ts->qn--; /* take the datagram back (our own ID is valid: never) */
    return;
  }
  d->len = P2PC_NTP_HEADER_LEN + elen;
  d->to = s->addr;
  s->token = p2pc__timesync_token(ts, false, idx, s->id);
  d->token = s->token;
  s->pending = true;
  s->t1 = now.local_ns; /* until the runtime reports the real send time */
  s->t1_kernel = false;
}

/* Whether s is only a spare: in reference mode, a source further from the
 * reference than the one we follow is never combined (steer.c combines
 * the parent's tier only); it is polled to stay ready for a fail-over. */
static bool spare(const p2pc_timesync *ts, const source *s) {
  if (ts->cfg.mode != P2PC_CLOCK_REFERENCE || ts->steer.parent < 0 ||
      (uint32_t)ts->steer.parent >= ts->nsrc)
    return false;
  const source *p = &ts->src[ts->steer.parent];
  return s != p && s->hops > p->hops;
}

static uint64_t next_interval(p2pc_timesync *ts, source *s) {
  uint64_t base = poll_ns(s->burst_left ? ts->cfg.poll_min : s->poll);
  /* A spare that has settled at poll_max is polled SPARE_POLLS times more
   * slowly: enough samples to take over at once (steer_usable's horizon
   * is 8 x poll_max), a third of the requests. */
  if (!s->burst_left && s->poll >= ts->cfg.poll_max && spare(ts, s)) {
    uint64_t slow = SPARE_POLLS * poll_ns(ts->cfg.poll_max);
    if (slow > base)
      base = slow;
  }
  /* ±10 % jitter */
  double j = 0.9 + 0.2 * rng_unit(ts);
  return (uint64_t)((double)base * j);
}

void p2pc__exchange_poll(p2pc_timesync *ts, p2pc_now now) {
  bool polled = false;
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    if (now.mono_ns < ts->src_poll[i])
      continue; /* down, or not yet due */
    source *s = &ts->src[i];
    if (s->addr.family == 0)
      continue;
    send_request(ts, s, i, now);
    if (s->burst_left)
      s->burst_left--;
    s->next_poll =
        on_round(ts, now.mono_ns, now.mono_ns + next_interval(ts, s));
    ts->src_poll[i] = poll_of(s); /* poll_min below */
    polled = true;
  }
  /* Polls rise together on a round: one pass for them all, and none when
   * nothing was due (a wake-up for something else). */
  if (polled)
    ts->poll_min = p2pc__exchange_least_poll(ts);
}

static void adapt_poll(p2pc_timesync *ts, source *s) {
  const p2pc_srcest *e = p2pc_srcstats_est(&s->st);
  s->since_poll_change++;
  if (e->dropped && s->poll > ts->cfg.poll_min) {
    s->poll--;
    s->since_poll_change = 0;
  } else if (e->n >= POLLTARGET && s->since_poll_change >= POLLTARGET / 2 &&
             s->poll < ts->cfg.poll_max) {
    s->poll++;
    s->since_poll_change = 0;
  }
}

/* The runtime reports when a request left (its T1). */
void p2pc__exchange_sent(p2pc_timesync *ts, uint32_t idx, const char *id,
                         uint32_t token, int64_t local, bool kernel) {
  source *src = idx < ts->nsrc ? &ts->src[idx] : NULL;
  if (!src || strcmp(src->id, id) != 0 || src->token != token)
    return;
  if (src->pending) {
    if (kernel || !src->t1_kernel) {
      src->t1 = local;
      src->t1_kernel = kernel;
    }
  } else if (src->prev.valid && kernel && !src->prev.t1_kernel) {
    /* the reply came before the kernel's stamp: keep it for interleaving */
    src->prev.t1 = local;
    src->prev.t1_kernel = true;
  }
}

/* ---- samples and replies ------------------------------------------------- */

/* Fills s->d (peer network − ours), s->lambda (error of d) and s->rate
 * (peer network rate relative to our local clock, minus 1) at local. */
void p2pc__exchange_view(const p2pc_timesync *ts, source *s, int64_t local) {
  const p2pc_srcest *e = p2pc_srcstats_est(&s->st);
  double theta = p2pc_srcest_offset_at(e, local);
  double peer_local = (double)local + theta;
  double cpeer =
      (double)s->corr3 + s->peer_freq * (peer_local - (double)s->t3_peer);
  s->d = theta + cpeer - corr_now(ts, local);
  /* In reference mode the peer's own distance to the reference adds up
   * along the path; in collaborative mode there is no root to be far
   * from, and adding peers' bounds to each other would only ratchet them
   * up, so a source's interval is its measurement error alone. */
  s->lambda = p2pc_srcest_error_at(e, local);
  if (ts->cfg.mode == P2PC_CLOCK_REFERENCE)
    s->lambda += (double)s->root_dist;
  s->rate = (1.0 + e->freq) * (1.0 + s->peer_freq) - 1.0;
}

static void take_sample(p2pc_timesync *ts, source *s, int64_t t1, int64_t t2,
                        int64_t t3, int64_t t4, bool interleaved, bool kernel) {
  int64_t off, del;
  p2pc_ntp_offset_delay(t1, t2, t3, t4, ts->cfg.precision_ns, &off, &del);
  p2pc_sample x = {.t = t1 + (t4 - t1) / 2,
                   .offset = off,
                   .delay = del,
                   .disp = 2 * ts->cfg.precision_ns +
                           (int64_t)(PHI * (double)(t4 - t1))};
  if (!p2pc_srcstats_add(&s->st, &x)) {
    ts->c.filtered++;
    return;
  }
  s->have_sample = true;
  s->last_interleaved = interleaved;
  s->last_kernel = kernel;
  if (ts->h.event) {
    p2pc__exchange_view(ts, s, t4);
    p2pc_tsev ev = {.kind = P2PC_TSEV_SAMPLE,
                    .peer = s->id,
                    .offset_ns = to_i64(s->d),
                    .delay_ns = del,
                    .raw_offset_ns = off,
                    .interleaved = interleaved,
                    .kernel = kernel};
    ts->h.event(ts->h.ud, &ev);
  }
}

bool p2pc__exchange_reply(p2pc_timesync *ts, const p2pc_ntp_header *h,
                          const p2pc_ntp_ext *e, bool has_ext, int64_t rx_local,
                          bool rx_kernel, p2pc_now now) {
  source *s = has_ext && e->kind == P2PC_NTP_EXT_REPLY
                  ? p2pc__exchange_find(ts, e->id)
                  : NULL;
  if (!s || !s->up) {
    ts->c.rx_bogus++;
    return false;
  }
  if (!s->pending || h->org != s->cookie) {
    if (h->org == s->last_cookie || h->org == s->prev.cookie)
      ts->c.rx_replay++;
    else
      ts->c.rx_bogus++;
    return false;
  }
  /* What the peer says about itself must be sane, or the reply is not
   * used: a root distance within NTP's 16 s MAXDISP, a frequency within
   * the clamp, a correction within ~11 days. */
  if (e->root_dist_ns < 0 || e->root_dist_ns > 16 * SEC ||
      e->freq_ppb > 1000000 || e->freq_ppb < -1000000 ||
      e->tx_corr > 1000000 * SEC || e->tx_corr < -1000000 * SEC) {
    ts->c.rx_bogus++;
    return false;
  }
  s->pending = false;
  s->last_cookie = s->cookie;
  s->reach |= 1;
  s->refused = (e->flags & P2PC_NTP_EXTF_REFUSED) != 0;
  s->full = (e->flags & P2PC_NTP_EXTF_FULL) != 0;
  int64_t t3net = p2pc_ntp_ts_to_ns(h->xmt, rx_local);
  int64_t t1 = s->t1, t2 = e->rx_local, t3 = t3net - e->tx_corr, t4 = rx_local;
  /* Sanity: the server cannot have answered before asking or after we
   * heard the answer, on its own clock's time scale. */
  if (t4 < t1 || t3 < t2) {
    ts->c.rx_bogus++;
    return false;
  }
  s->have_reply = true;
  s->corr3 = e->tx_corr;
  s->t3_peer = t3;
  s->peer_freq = (double)e->freq_ppb * 1e-9;
  s->root_dist = e->root_dist_ns > 0 ? e->root_dist_ns : 0;
  s->root_delay = p2pc_ntp_short_to_ns(h->root_delay);
  s->synced = (e->flags & P2PC_NTP_EXTF_SYNCED) != 0;
  s->stratum = h->stratum;
  s->hops = e->hops;
  copy_id(s->ref, e->ref_id);
  s->last_sample_mono = now.mono_ns;
  bool kernel_now =
      s->t1_kernel && rx_kernel && (e->flags & P2PC_NTP_EXTF_KERNEL_RX);
  bool prev_ok = (e->flags & P2PC_NTP_EXTF_PREV) && s->prev.valid &&
                 e->prev_cookie == s->prev.cookie && s->prev.t1_kernel &&
                 s->prev.t4_kernel;
  /* Each exchange gives one sample: the interleaved one (the previous
   * exchange, with the server's kernel transmit stamp) when the server
   * sent it, else this exchange's basic one. When interleaving works, this
   * exchange waits for the next reply; when the previous exchange already
   * gave its basic sample (the first interleaved reply), it gives none. */
  bool taken = false;
  if (prev_ok) {
    if (!s->prev.taken)
      take_sample(ts, s, s->prev.t1, s->prev.t2, e->prev_tx_local, s->prev.t4,
                  true, true);
  } else {
    take_sample(ts, s, t1, t2, t3, t4, false, kernel_now);
    taken = true;
  }
  s->prev =
      (exch){.valid = true,
             .taken = taken,
             .cookie = s->cookie,
             .t1 = t1,
             .t2 = t2,
             .t4 = t4,
             .t1_kernel = s->t1_kernel,
             .t4_kernel = rx_kernel && (e->flags & P2PC_NTP_EXTF_KERNEL_RX)};
  adapt_poll(ts, s);
  return true;
}
