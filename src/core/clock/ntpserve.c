/* SPDX-License-Identifier: MIT */
/*
 * Clock synchronization, the NTP server: answers NTP client requests with
 * our network time, both our neighbours' (with the extension field: our
 * local clock terms, our correction, and for interleaved mode the kernel
 * transmit time of our previous reply to the same requester) and those of
 * standard NTP clients (header only: stratum, root delay and dispersion as
 * an NTP server gives them).
 *
 * Standard clients' requests pass the rate limit per address first
 * (ntplimit.h): over it, a few get a Kiss-o'-Death RATE, the rest nothing.
 * A request whose RFC 8573 MAC verified (timesync.c) passes the same
 * limit, and its answer — a KoD too, which an authenticating client
 * ignores unsigned — carries a MAC under the same key (ntpauth.h).
 *
 * Owns ts->srv (the requesters remembered for interleaved mode, the rate
 * limit) and the answered and rate_* counters. Reads the steering's state
 * (steer.c).
 */
#include "timesync_int.h"

#include "ntpauth.h"

/* The client slots double, up to CLIENTS; the new ones are empty. */
static bool grow_clients(p2pc_timesync *ts) {
  return p2pc_array_grow(ts->a, (void **)&ts->srv.clients, &ts->srv.ncap,
                         sizeof *ts->srv.clients, 4, CLIENTS);
}

void p2pc__ntpserve_answer(p2pc_timesync *ts, const p2pc_wire_addr *from,
                           const p2pc_ntp_header *rq, const p2pc_ntp_ext *rqe,
                           bool has_ext, size_t rqlen, int64_t rx_local,
                           bool rx_kernel, int key, p2pc_now now) {
  size_t elen = p2pc__timesync_ext_len(ts);
  size_t need = P2PC_NTP_HEADER_LEN + (has_ext ? elen : 0);
  if (rqlen < need) /* never answer with more than was sent */
    has_ext = false;
  /* The limit is for standard clients (a header-only answer); our
   * nodes' exchanges, polled at up to 8 a second, are never limited. */
  bool kod = false;
  if (!has_ext) {
    p2pc_ntplimit_verdict v =
        p2pc_ntplimit_check(&ts->srv.limit, from, now.mono_ns);
    if (v != P2PC_NTPLIMIT_PASS)
      ts->c.rate_limited++;
    if (v == P2PC_NTPLIMIT_DROP)
      return;
    kod = v == P2PC_NTPLIMIT_KOD;
    if (v == P2PC_NTPLIMIT_LEAK)
      ts->c.rate_leaked++;
  }
  p2pc_datagram *d = p2pc__timesync_push(ts);
  if (!d)
    return;
  int64_t local = now.local_ns;
  double corr = corr_now(ts, local);
  bool synced = ts->steer.nc.synced;
  double err = p2pc_netclock_error(&ts->steer.nc, local);
  uint8_t stratum = P2PC_NTP_STRATUM_UNSYNC;
  uint32_t refid = 0x50325043; /* "P2PC" */
  if (synced) {
    if (ts->cfg.mode == P2PC_CLOCK_REFERENCE && !ts->steer.ref_taken)
      stratum = ts->steer.hops < 14 ? (uint8_t)(ts->steer.hops + 1) : 15;
    else
      stratum = 1;
    if (ts->cfg.mode == P2PC_CLOCK_REFERENCE && !ts->steer.ref_taken &&
        ts->steer.parent >= 0) {
      const p2pc_wire_addr *pa = &ts->src[ts->steer.parent].addr;
      if (pa->family == 4)
        refid = (uint32_t)pa->addr[0] << 24 | (uint32_t)pa->addr[1] << 16 |
                (uint32_t)pa->addr[2] << 8 | pa->addr[3];
    }
  }
  int64_t root_disp = to_i64(err) - ts->steer.root_delay / 2;
  if (root_disp < ts->cfg.precision_ns)
    root_disp = ts->cfg.precision_ns;
  int64_t lu = local - (int64_t)(now.mono_ns - ts->steer.last_update_mono);
  p2pc_ntp_header h = {
      .li = synced ? P2PC_NTP_LI_NONE : P2PC_NTP_LI_UNSYNC,
      .version = rq->version,
      .mode = P2PC_NTP_MODE_SERVER,
      .stratum = stratum,
      .poll = rq->poll,
      .precision = p2pc_ntp_log2_from_ns(ts->cfg.precision_ns),
      .root_delay = p2pc_ntp_short_from_ns(ts->steer.root_delay),
      .root_disp = p2pc_ntp_short_from_ns(root_disp),
      .refid = refid,
      .ref = ts->steer.ever_updated
                 ? p2pc_ntp_ts_from_ns(p2pc_netclock_time(&ts->steer.nc, lu))
                 : 0,
      .org = rq->xmt,
      .rec = p2pc_ntp_ts_from_ns(p2pc_netclock_time(&ts->steer.nc, rx_local)),
      .xmt = 0};
  if (kod) {
    /* Kiss-o'-Death RATE (RFC 5905 §7.4) as chrony sends it: the answer
     * with stratum 0, the code for refid, LI 3, and a poll interval no
     * shorter than the limit's. 48 bytes, as short as any request. */
    h.li = P2PC_NTP_LI_UNSYNC;
    h.stratum = 0;
    h.refid = P2PC_NTP_KOD_RATE;
    if (h.poll < ts->srv.limit.cfg.interval)
      h.poll = ts->srv.limit.cfg.interval;
  }
  p2pc_ntp_header_put(d->data, &h);
  d->len = P2PC_NTP_HEADER_LEN;
  d->to = *from;
  d->stamp_xmt = true;
  d->xmt_corr = to_i64(corr);
  if (key >= 0) {
    /* The MAC covers T3, so it is written here from this turn's clock
     * reading (as dgauth.c does), not by the runtime just before the
     * send. The request held header + MAC: the answer is no longer. */
    p2pc_be64_write(d->data + P2PC_NTP_XMT_OFFSET,
                    p2pc_ntp_ts_from_ns(local + d->xmt_corr));
    d->stamp_xmt = false;
    p2pc_ntpauth_seal(&ts->srv.keys[key], d->data, P2PC_NTP_HEADER_LEN);
    d->len = P2PC_NTP_HEADER_LEN + P2PC_NTPAUTH_MAC_LEN;
  }
  if (kod) {
    ts->c.rate_kod++;
    return;
  }
  ts->c.answered++;
  if (!has_ext) {
    ts->c.answered_std++;
    if (key >= 0)
      ts->c.answered_auth++;
    return;
  }
  p2pc_ntp_ext e = {.kind = P2PC_NTP_EXT_REPLY,
                    .flags =
                        (uint16_t)((synced ? P2PC_NTP_EXTF_SYNCED : 0) |
                                   (rx_kernel ? P2PC_NTP_EXTF_KERNEL_RX : 0)),
                    .rx_local = rx_local,
                    .tx_corr = d->xmt_corr,
                    .freq_ppb = to_i64(ts->steer.nc.freq * 1e9),
                    .root_dist_ns = to_i64(err),
                    .hops = ts->steer.hops};
  copy_id(e.id, ts->id);
  bool full = false;
  if (!p2pc__tiers_admit(ts, rqe->id, now.mono_ns, &full))
    e.flags |= P2PC_NTP_EXTF_REFUSED;
  if (full)
    e.flags |= P2PC_NTP_EXTF_FULL;
  if (ts->cfg.mode == P2PC_CLOCK_REFERENCE)
    copy_id(e.ref_id, ts->el.ref);
  /* Interleaved: the kernel transmit time of our previous reply to this
   * requester, identified by the cookie of the request it answered. */
  uint32_t slot = CLIENTS, oldest = 0, hid = id_hash(rqe->id);
  for (uint32_t i = 0; i < ts->srv.ncap; i++) {
    if (ts->srv.clients[i].hash == hid &&
        strcmp(ts->srv.clients[i].id, rqe->id) == 0) {
      slot = i;
      break;
    }
    if (ts->srv.clients[i].used_mono < ts->srv.clients[oldest].used_mono)
      oldest = i;
  }
  if (slot < CLIENTS) {
    client *c = &ts->srv.clients[slot];
    if (c->tx_kernel && c->cookie != rq->xmt) {
      e.flags |= P2PC_NTP_EXTF_PREV;
      e.prev_cookie = c->cookie;
      e.prev_tx_local = c->tx_local;
    }
  } else {
    slot = oldest;
    /* The slots not allocated yet are empty (used_mono 0): the oldest
     * of all is the first of them unless an allocated one is as old. */
    uint32_t had = ts->srv.ncap;
    if (had < CLIENTS && (!had || ts->srv.clients[oldest].used_mono > 0) &&
        grow_clients(ts))
      slot = had;
    if (!ts->srv.ncap) { /* out of memory: an answer without interleaving */
      if (p2pc_ntp_ext_put_len(d->data + P2PC_NTP_HEADER_LEN, elen, &e) >= 0)
        d->len = P2PC_NTP_HEADER_LEN + elen;
      return;
    }
    memset(&ts->srv.clients[slot], 0, sizeof ts->srv.clients[slot]);
    copy_id(ts->srv.clients[slot].id, rqe->id);
    ts->srv.clients[slot].hash = hid;
  }
  client *c = &ts->srv.clients[slot];
  c->cookie = rq->xmt;
  c->tx_kernel = false;
  c->tx_local = 0;
  c->used_mono = now.mono_ns;
  /* Our own ID is valid; only IDs too long for an authenticated field
   * (ntp.h) fail: answered without it, which the requester drops. */
  if (p2pc_ntp_ext_put_len(d->data + P2PC_NTP_HEADER_LEN, elen, &e) < 0)
    return;
  d->len = P2PC_NTP_HEADER_LEN + elen;
  d->token = p2pc__timesync_token(ts, true, slot, c->id);
}

void p2pc__ntpserve_sent(p2pc_timesync *ts, uint32_t idx, const char *id,
                         int64_t local, bool kernel) {
  if (idx >= ts->srv.ncap)
    return;
  client *c = &ts->srv.clients[idx];
  if (strcmp(c->id, id) != 0)
    return;
  if (kernel || !c->tx_kernel) {
    c->tx_local = local;
    c->tx_kernel = kernel;
  }
}
