/* SPDX-License-Identifier: MIT */
/*
 * The node's public face (<p2pclock/node.h>): settings with real defaults,
 * their validation with a message naming the setting, and the calls an
 * application makes that the drivers inside the tree do not need (open,
 * close, the time interval). The rest of node.h is node.c's.
 */
#include "node.h"

#include <sodium.h>
#include <string.h>

#define MS 1000000ull

void p2pc_settings_default_versioned(int version, p2pc_settings *s) {
  (void)version; /* one version so far: every field is in it */
  memset(s, 0, sizeof *s);
  s->seed = 1;
  s->max_peers = 64;
  s->max_frame = P2PC_WIRE_MAX_FRAME_DEFAULT;
  s->heartbeat_ns = 500 * MS;
  s->suspect_ns = 2000 * MS;
  s->dead_ns = 5000 * MS;
  s->handshake_ns = 5000 * MS;
  s->redial_min_ns = 100 * MS;
  s->redial_max_ns = 5000 * MS;
  s->resend_ns = 1000 * MS;
  s->max_unacked = 8192;
  s->max_unacked_bytes = 16u << 20;
  s->max_link_output = 4u << 20;
  s->causal_lifetime_ns = P2PC_CAUSAL_LIFETIME_DEFAULT_NS;
  s->max_buffered = P2PC_CAUSAL_MAX_BUFFERED_DEFAULT;
  s->max_buffered_bytes = P2PC_CAUSAL_MAX_BUFFERED_BYTES_DEFAULT;
  /* The clock's defaults are its own (timesync.c). */
  p2pc_timesync_config tc;
  memset(&tc, 0, sizeof tc);
  p2pc_timesync_config_defaults(&tc, 0, s->heartbeat_ns);
  s->clock.enabled = true;
  s->clock.mode = P2PC_CLOCK_REFERENCE;
  s->clock.priority = 128;
  s->clock.clock_class = 248;
  s->clock.poll_min = tc.poll_min;
  s->clock.poll_max = tc.poll_max;
  s->clock.burst = tc.burst;
  s->clock.max_slew = tc.max_slew;
  s->clock.step_threshold_ns = tc.step_threshold_ns;
  s->clock.precision_ns = tc.precision_ns;
  s->clock.max_sources = tc.max_sources;
  s->clock.announce_ns = tc.announce_ns;
  s->clock.announce_timeout_ns = tc.announce_timeout_ns;
  s->clock_tier_sources = tc.tier_sources;
  s->clock_serve_max = tc.serve_max;
  s->alloc = p2pc_allocator_default();
  s->max_ondemand = 16;
  s->max_sessions = 1024;
  s->ondemand_idle_ns = 60000 * MS;
  s->probe_interval_ns = 200 * MS;
  s->probe_timeout_ns = 100 * MS;
  s->stable_idle_ns = 2000 * MS;
  s->passive_max = 32;
  s->peers_sample = 32;
  s->shuffle_interval_ns = 10000 * MS;
}

/* The first setting out of range, or NULL. */
static const char *invalid_setting(const p2pc_settings *s) {
  if (!s->id || !p2pc_node_id_valid(s->id, strlen(s->id)))
    return "id: 1..64 bytes of [A-Za-z0-9._-]";
  if (s->listen.family != 0 && s->listen.family != 4 && s->listen.family != 6)
    return "listen: family must be 0, 4 or 6";
  if (s->nseeds && !s->seeds)
    return "seeds: NULL with nseeds > 0";
  if (s->max_peers < 1 || s->max_peers > 4096)
    return "max_peers: 1..4096";
  if (s->max_frame < 1024 || s->max_frame > P2PC_WIRE_MAX_FRAME_LIMIT)
    return "max_frame: 1 KiB..16 MiB";
  if (!s->heartbeat_ns || !s->handshake_ns || !s->resend_ns ||
      !s->redial_min_ns)
    return "heartbeat_ns, handshake_ns, resend_ns, redial_min_ns: > 0";
  if (s->suspect_ns <= s->heartbeat_ns || s->dead_ns <= s->suspect_ns)
    return "heartbeat_ns < suspect_ns < dead_ns";
  if (!s->probe_interval_ns || !s->probe_timeout_ns || !s->stable_idle_ns)
    return "probe_interval_ns, probe_timeout_ns, stable_idle_ns: > 0";
  if (s->redial_max_ns < s->redial_min_ns)
    return "redial_max_ns: >= redial_min_ns";
  if (!s->max_unacked || !s->max_unacked_bytes || !s->max_link_output)
    return "max_unacked, max_unacked_bytes, max_link_output: > 0";
  if (!s->causal_lifetime_ns)
    return "causal_lifetime_ns: > 0 (P2PC_LIFETIME_INFINITE for never)";
  if (!s->max_buffered || !s->max_buffered_bytes)
    return "max_buffered, max_buffered_bytes: > 0";
  if (s->clock.mode != P2PC_CLOCK_REFERENCE &&
      s->clock.mode != P2PC_CLOCK_COLLABORATIVE)
    return "clock.mode: reference or collaborative";
  if (s->clock.poll_min < -10 || s->clock.poll_max > 17 ||
      s->clock.poll_min > s->clock.poll_max)
    return "clock.poll_min <= clock.poll_max, both in -10..17";
  if (!s->clock.burst || !s->clock.max_sources)
    return "clock.burst, clock.max_sources: > 0";
  if (!(s->clock.max_slew > 0 && s->clock.max_slew <= 0.1))
    return "clock.max_slew: (0, 0.1]";
  if (s->clock.step_threshold_ns <= 0 || s->clock.precision_ns <= 0)
    return "clock.step_threshold_ns, clock.precision_ns: > 0";
  if (!s->clock.announce_ns ||
      s->clock.announce_timeout_ns <= s->clock.announce_ns)
    return "clock.announce_ns > 0, clock.announce_timeout_ns > it";
  if (!s->max_ondemand || s->max_ondemand > 4096 || !s->max_sessions ||
      s->max_sessions > 1u << 20 || !s->ondemand_idle_ns)
    return "max_ondemand: 1..4096, max_sessions: 1..2^20, ondemand_idle_ns: "
           "> 0";
  if (s->passive_max < 1 || s->passive_max > 1024)
    return "passive_max: 1..1024";
  if (s->peers_sample < 1 || s->peers_sample > 64)
    return "peers_sample: 1..64";
  if (!s->shuffle_interval_ns)
    return "shuffle_interval_ns: > 0";
  return NULL;
}

int p2pc_node_open_versioned(p2pc_node **out, int version,
                             const p2pc_settings *s, p2pc_event_fn on_event,
                             void *ud, p2pc_now now) {
  *out = NULL;
  if (version < P2PC_SETTINGS_V1 || version > P2PC_SETTINGS_VERSION) {
    if (s && s->logger.log)
      s->logger.log(s->logger.ud, P2PC_LOG_ERROR,
                    "node: settings of an unknown version");
    return P2PC_ERR_INVAL;
  }
  return p2pc__node_open_secure(out, s, NULL, NULL, 0, on_event, ud, now);
}

int p2pc__node_open_secure(p2pc_node **out, const p2pc_settings *s,
                           const p2pc_node_secure *sec,
                           const p2pc_ntp_key *ntp_keys, uint32_t n_ntp_keys,
                           p2pc_event_fn on_event, void *ud, p2pc_now now) {
  *out = NULL;
  const char *bad = invalid_setting(s);
  if (bad) {
    if (s->logger.log) {
      char t[160] = "node: bad setting ";
      size_t k = strlen(t);
      for (size_t i = 0; bad[i] && k + 1 < sizeof t; i++)
        t[k++] = bad[i];
      t[k] = '\0';
      s->logger.log(s->logger.ud, P2PC_LOG_ERROR, t);
    }
    return P2PC_ERR_INVAL;
  }
  p2pc_node_config c = {0};
  c.id = s->id;
  /* An incarnation must differ on every start: the local clock at open
   * does, unless the caller has a better one. */
  c.incarnation = s->incarnation ? s->incarnation : (uint64_t)now.local_ns;
  c.seed = s->seed;
  c.listen = s->listen;
  c.seeds = (const p2pc_node_seed *)s->seeds;
  c.nseeds = s->nseeds;
  c.max_peers = s->max_peers;
  c.max_frame = s->max_frame;
  c.heartbeat_ns = s->heartbeat_ns;
  c.suspect_ns = s->suspect_ns;
  c.dead_ns = s->dead_ns;
  c.handshake_ns = s->handshake_ns;
  c.redial_min_ns = s->redial_min_ns;
  c.redial_max_ns = s->redial_max_ns;
  c.resend_ns = s->resend_ns;
  c.max_unacked = s->max_unacked;
  c.max_unacked_bytes = s->max_unacked_bytes;
  c.max_link_output = s->max_link_output;
  c.probe_interval_ns = s->probe_interval_ns;
  c.probe_timeout_ns = s->probe_timeout_ns;
  c.stable_idle_ns = s->stable_idle_ns;
  c.causal.lifetime_ns = s->causal_lifetime_ns == P2PC_LIFETIME_INFINITE
                             ? P2PC_CAUSAL_LIFETIME_INF
                             : s->causal_lifetime_ns;
  c.causal.max_buffered = s->max_buffered;
  c.causal.max_buffered_bytes = s->max_buffered_bytes;
  c.time.disabled = !s->clock.enabled;
  c.time.mode = s->clock.mode;
  c.time.time_port = s->clock.port;
  c.time.priority = s->clock.priority;
  c.time.clock_class = s->clock.clock_class;
  c.time.poll_min = s->clock.poll_min;
  c.time.poll_max = s->clock.poll_max;
  c.time.poll_set = true;
  c.time.burst = s->clock.burst;
  c.time.max_slew = s->clock.max_slew;
  c.time.step_threshold_ns = s->clock.step_threshold_ns;
  c.time.precision_ns = s->clock.precision_ns;
  c.time.max_sources = s->clock.max_sources;
  c.time.announce_ns = s->clock.announce_ns;
  c.time.announce_timeout_ns = s->clock.announce_timeout_ns;
  c.time.tier_sources = s->clock_tier_sources;
  c.time.serve_max = s->clock_serve_max;
  c.time.ntp_keys = ntp_keys;
  c.time.ntp_nkeys = n_ntp_keys;
  c.alloc = s->alloc;
  c.max_ondemand = s->max_ondemand;
  c.max_sessions = s->max_sessions;
  c.ondemand_idle_ns = s->ondemand_idle_ns;
  c.passive_max = s->passive_max;
  c.peers_sample = s->peers_sample;
  c.shuffle_interval_ns = s->shuffle_interval_ns;
  if (sec && sec->on)
    c.secure = *sec;
  p2pc_node_callbacks cb = {0};
  cb.log = s->logger.log;
  cb.ud = ud;
  cb.log_level = s->logger.level;
  cb.typed = on_event;
  cb.log_ud = s->logger.ud;
  int rv = p2pc_node_new(out, &c, &cb, now);
  sodium_memzero(&c.secure, sizeof c.secure);
  return rv;
}

void p2pc_node_close(p2pc_node *n) { p2pc_node_free(n); }

void p2pc_node_time(const p2pc_node *n, p2pc_now now, p2pc_time *t) {
  p2pc_tracking tr;
  p2pc_node_tracking(n, now, &tr);
  memset(t, 0, sizeof *t);
  t->now_ns = p2pc_node_network_time(n, now.local_ns);
  t->synced = tr.synced;
  t->hlc = p2pc_causal_hlc(p2pc_node_causal(n));
  if (!tr.synced || !(tr.err_ns >= 0) || tr.err_ns > 9e18) {
    t->earliest_ns = INT64_MIN;
    t->latest_ns = INT64_MAX;
    return;
  }
  /* Rounded outwards: the interval must contain the true time. */
  int64_t e = (int64_t)tr.err_ns + 1;
  t->earliest_ns = t->now_ns > INT64_MIN + e ? t->now_ns - e : INT64_MIN;
  t->latest_ns = t->now_ns < INT64_MAX - e ? t->now_ns + e : INT64_MAX;
}
