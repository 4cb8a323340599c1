/* SPDX-License-Identifier: MIT */
/*
 * Clock synchronization: exchanges, estimation, election, steering.
 *
 * Each neighbour is a source. We poll it with NTP client requests that
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
 */
#include "timesync.h"
#include "rng.h"
#include "select.h"

#include <math.h>
#include <string.h>

#define TOKENS 256 /* datagrams whose send time we still expect */
#define CLIENTS 64 /* requesters remembered for interleaved mode */
#define QUEUE 128  /* datagrams not yet taken by the runtime */
#define REFS 32    /* references remembered (max sequence seen) */
#define SEC 1000000000LL
#define PHI 15e-6            /* NTP's frequency tolerance, per sample */
#define HOLD_RATE 1e-6       /* error growth while in holdover, beyond skew */
#define POLLTARGET 16        /* samples in the window before polling slower */
#define CANDIDATE_UPDATES 16 /* updates a follower needs to stand */
#define RELAYS 8             /* out-of-turn announcements per interval, max */
#define MAX_GRACE_HOPS 64    /* a reference's timeout grows with its hops */

typedef struct exch {
  bool valid;
  bool taken; /* its sample went into the statistics */
  uint64_t cookie;
  int64_t t1, t2, t4;
  bool t1_kernel, t4_kernel;
} exch;

typedef struct source {
  char id[P2PC_NODE_ID_MAX + 1];
  bool up;
  p2pc_wire_addr listen; /* its listen address; time port from announce */
  p2pc_wire_addr addr;   /* where requests go */
  /* announce */
  bool have_ann;
  p2pc_wire_announce ann;
  uint32_t ann_ref_hash; /* of ann.ref */
  uint64_t ann_mono;
  /* polling */
  int8_t poll;
  uint32_t burst_left;
  uint32_t since_poll_change;
  uint64_t next_poll;
  uint8_t reach;
  uint32_t polls;
  /* the request in flight */
  bool pending;
  uint64_t cookie;
  uint32_t token;
  int64_t t1;
  bool t1_kernel;
  uint64_t last_cookie; /* of the request answered last (replay check) */
  exch prev;            /* the previous completed exchange */
  /* estimates */
  p2pc_srcstats st;
  bool have_reply;
  int64_t corr3;      /* peer: network − local at its transmit */
  int64_t t3_peer;    /* ... at this peer-local time */
  double peer_freq;   /* peer's frequency correction */
  int64_t root_dist;  /* peer's error bound */
  int64_t root_delay; /* peer's root delay */
  bool synced;
  uint8_t stratum, hops;
  char ref[P2PC_NODE_ID_MAX + 1];
  bool last_interleaved, last_kernel;
  uint64_t last_sample_mono;
  bool have_sample;
  /* selection */
  const char *state;
  bool truechimer;
  double d, lambda, rate; /* of the last update */
} source;

typedef struct client {
  char id[P2PC_NODE_ID_MAX + 1];
  uint32_t hash;   /* of id, to skip most comparisons */
  uint64_t cookie; /* transmit field of the request answered last */
  int64_t tx_local;
  bool tx_kernel;
  uint64_t used_mono;
} client;

typedef struct token_slot {
  uint32_t token;
  bool is_reply;
  uint32_t idx; /* source (request) or client (reply) index */
  char id[P2PC_NODE_ID_MAX + 1];
} token_slot;

typedef struct refent {
  char id[P2PC_NODE_ID_MAX + 1];
  uint32_t hash;
  uint8_t priority, cls;
  uint64_t max_seq;
  uint64_t rose_mono; /* when max_seq last increased */
  uint8_t hops;       /* the announcer's distance from it then */
  bool active;        /* serving time, not just standing */
  bool used;
} refent;

struct p2pc_timesync {
  const p2pc_allocator *a;
  p2pc_timesync_config cfg;
  p2pc_timesync_hooks h;
  char id[P2PC_NODE_ID_MAX + 1];
  uint64_t incarnation;
  p2pc_rng rng;
  uint64_t start_mono;
  uint64_t next_check; /* election / seeding re-check */
  bool ref_taken;      /* the role of reference has been taken */
  p2pc_netclock nc;
  p2pc_timesync_counters c;
  source *src;
  uint32_t nsrc, srccap;
  uint32_t *src_hash; /* id_hash of src[i].id: lookups touch one array */
  uint64_t *src_poll; /* src[i].next_poll if up, else UINT64_MAX: the same */
  client clients[CLIENTS];
  token_slot tokens[TOKENS];
  uint32_t next_token;
  p2pc_datagram *q;
  uint32_t qhead, qn;
  refent refs[REFS];
  /* election and following */
  uint64_t my_seq;
  char ref[P2PC_NODE_ID_MAX + 1]; /* "" none */
  uint8_t ref_priority, ref_class;
  bool ref_active; /* the elected reference serves time */
  uint8_t hops;
  bool is_ref;
  /* What our last announcement on every link elected, and the relay of a
   * better reference out of turn (p2pc_timesync_announce_relay). */
  char sent_ref[P2PC_NODE_ID_MAX + 1];
  uint8_t sent_priority, sent_class;
  bool sent_active;
  bool relay_wait;     /* a better reference was heard, not yet relayed */
  uint64_t relay_next; /* mono: no relay before this (the rate limit) */
  int32_t parent;      /* source index, -1 none */
  double last_adj, skew;
  int64_t root_delay;
  uint64_t last_update_mono;
  bool ever_updated;
  uint32_t ntrue;
  /* scratch for selection */
  p2pc_interval *iv;
  p2pc_edge *edges;
  bool *tc;
  uint32_t *ividx;
  uint32_t scratch_cap;
};

/* ---- small helpers ------------------------------------------------------- */

static uint64_t rng_next(p2pc_timesync *ts) { return p2pc_rng_next(&ts->rng); }

static double rng_unit(p2pc_timesync *ts) { return p2pc_rng_unit(&ts->rng); }

/* FNV-1a: a cheap filter before strcmp in the per-packet lookups. */
static uint32_t id_hash(const char *id) {
  uint32_t h = 2166136261u;
  for (; *id; id++)
    h = (h ^ (uint8_t)*id) * 16777619u;
  return h;
}

/* A double to int64, rounded and saturated (NaN: 0): values derived from
 * what peers send must never overflow a conversion. */
static int64_t to_i64(double x) {
  if (!(x == x))
    return 0;
  if (x >= 9.2e18)
    return INT64_MAX;
  if (x <= -9.2e18)
    return INT64_MIN + 1;
  return (int64_t)llround(x);
}

static void copy_id(char *dst, const char *src) {
  size_t n = strlen(src);
  if (n > P2PC_NODE_ID_MAX)
    n = P2PC_NODE_ID_MAX;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static void say(p2pc_timesync *ts, p2pc_log_level lv, const char *a,
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

static uint64_t poll_ns(int8_t poll) {
  return poll >= 0 ? (uint64_t)SEC << poll : (uint64_t)SEC >> -poll;
}

static double corr_now(const p2pc_timesync *ts, int64_t local) {
  return p2pc_netclock_corr(&ts->nc, local);
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
  if (!cfg->precision_ns)
    cfg->precision_ns = 100;
  if (!cfg->max_sources)
    cfg->max_sources = 16;
  if (!cfg->announce_ns)
    cfg->announce_ns = heartbeat_ns ? heartbeat_ns : SEC / 2;
  if (!cfg->announce_timeout_ns)
    cfg->announce_timeout_ns = 4 * cfg->announce_ns;
}

int p2pc_timesync_new(p2pc_timesync **out, const p2pc_allocator *a,
                      const char *id, uint64_t incarnation,
                      const p2pc_timesync_config *cfg, uint64_t seed,
                      const p2pc_timesync_hooks *hooks, p2pc_now now) {
  p2pc_timesync *ts = a->realloc(NULL, sizeof *ts, a->ud);
  if (!ts)
    return P2PC_ERR_NOMEM;
  memset(ts, 0, sizeof *ts);
  ts->q = a->realloc(NULL, QUEUE * sizeof *ts->q, a->ud);
  if (!ts->q) {
    a->free(ts, a->ud);
    return P2PC_ERR_NOMEM;
  }
  ts->a = a;
  ts->cfg = *cfg;
  p2pc_timesync_config_defaults(&ts->cfg, cfg->time_port, 0);
  if (hooks)
    ts->h = *hooks;
  copy_id(ts->id, id);
  ts->incarnation = incarnation;
  p2pc_rng_seed(&ts->rng, seed, incarnation);
  ts->start_mono = now.mono_ns;
  ts->next_check = now.mono_ns + ts->cfg.announce_ns;
  /* The links are coming up and each gets our announcement as it does:
   * the first relay can wait one rate-limit period. */
  ts->relay_next = now.mono_ns + ts->cfg.announce_ns / RELAYS;
  ts->parent = -1;
  ts->next_token = 1;
  /* The reference's sequence numbers rise across restarts: start from
   * the incarnation (which differs, increasing, on every start). */
  ts->my_seq = incarnation;
  p2pc_netclock_init(&ts->nc, now.local_ns, ts->cfg.max_slew);
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
  a->free(ts->iv, a->ud);
  a->free(ts->edges, a->ud);
  a->free(ts->tc, a->ud);
  a->free(ts->ividx, a->ud);
  a->free(ts, a->ud);
}

/* ---- sources ------------------------------------------------------------- */

static source *find_src(p2pc_timesync *ts, const char *id) {
  uint32_t h = id_hash(id);
  for (uint32_t i = 0; i < ts->nsrc; i++)
    if (ts->src_hash[i] == h && strcmp(ts->src[i].id, id) == 0)
      return &ts->src[i];
  return NULL;
}

/* Keeps src_poll[] in step with s->up and s->next_poll. */
static void sync_poll(p2pc_timesync *ts, const source *s) {
  ts->src_poll[s - ts->src] = s->up ? s->next_poll : UINT64_MAX;
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

void p2pc_timesync_peer_up(p2pc_timesync *ts, const char *id,
                           const p2pc_wire_addr *addr, p2pc_now now) {
  if (ts->cfg.disabled)
    return;
  source *s = find_src(ts, id);
  if (!s) {
    /* Polled sources are bounded: a neighbour that is gone gives its
     * slot to a new one (else churn would starve the node of sources). */
    for (uint32_t i = 0; i < ts->nsrc && ts->nsrc == ts->cfg.max_sources; i++)
      if (!ts->src[i].up) {
        s = &ts->src[i];
        memset(s, 0, sizeof *s);
        copy_id(s->id, id);
        ts->src_hash[i] = id_hash(id);
        p2pc_srcstats_config sc;
        p2pc_srcstats_config_default(&sc);
        sc.precision_ns = ts->cfg.precision_ns;
        p2pc_srcstats_init(&s->st, &sc);
        s->state = "candidate";
        if (ts->parent == (int32_t)i)
          ts->parent = -1;
        break;
      }
  }
  if (!s) {
    if (ts->nsrc == ts->cfg.max_sources)
      return; /* polled sources are bounded; the rest are not polled */
    if (ts->nsrc == ts->srccap) {
      uint32_t cap = ts->srccap ? 2 * ts->srccap : 8;
      uint32_t *nh = ts->a->realloc(ts->src_hash, cap * sizeof *nh, ts->a->ud);
      if (!nh)
        return;
      ts->src_hash = nh;
      uint64_t *np = ts->a->realloc(ts->src_poll, cap * sizeof *np, ts->a->ud);
      if (!np)
        return;
      ts->src_poll = np;
      source *ns = ts->a->realloc(ts->src, cap * sizeof *ns, ts->a->ud);
      if (!ns)
        return;
      ts->src = ns;
      ts->srccap = cap;
    }
    ts->src_hash[ts->nsrc] = id_hash(id);
    s = &ts->src[ts->nsrc++];
    memset(s, 0, sizeof *s);
    copy_id(s->id, id);
    p2pc_srcstats_config sc;
    p2pc_srcstats_config_default(&sc);
    sc.precision_ns = ts->cfg.precision_ns;
    p2pc_srcstats_init(&s->st, &sc);
    s->state = "candidate";
  }
  s->up = true;
  s->listen = *addr;
  set_addr(ts, s);
  reset_source(ts, s, now); /* and src_poll */
}

void p2pc_timesync_peer_down(p2pc_timesync *ts, const char *id, p2pc_now now) {
  (void)now;
  source *s = find_src(ts, id);
  if (!s)
    return;
  s->up = false;
  s->pending = false;
  s->have_ann = false;
  sync_poll(ts, s);
}

/* ---- election (ALGORITHMS.md §C.7) -------------------------------------- */

/* <0 if dataset (p1, c1, id1) is better than (p2, c2, id2). */
static int dscmp(uint8_t p1, uint8_t c1, const char *id1, uint8_t p2,
                 uint8_t c2, const char *id2) {
  if (p1 != p2)
    return p1 < p2 ? -1 : 1;
  if (c1 != c2)
    return c1 < c2 ? -1 : 1;
  return strcmp(id1, id2);
}

/* Whether candidate 1 ranks before candidate 2 in the election: one that
 * serves time beats one that merely stands, then the dataset decides. */
static bool ranks_before(bool act1, uint8_t p1, uint8_t c1, const char *id1,
                         bool act2, uint8_t p2, uint8_t c2, const char *id2) {
  if (act1 != act2)
    return act1;
  return dscmp(p1, c1, id1, p2, c2, id2) < 0;
}

static refent *ref_entry(p2pc_timesync *ts, const char *id, bool create,
                         uint64_t now_mono) {
  refent *oldest = NULL;
  uint32_t h = id_hash(id);
  for (uint32_t i = 0; i < REFS; i++) {
    refent *r = &ts->refs[i];
    if (r->used && r->hash == h && strcmp(r->id, id) == 0)
      return r;
    if (!r->used || !oldest ||
        (oldest->used && r->rose_mono < oldest->rose_mono))
      if (!oldest || oldest->used)
        oldest = r;
  }
  if (!create || !oldest)
    return NULL;
  memset(oldest, 0, sizeof *oldest);
  oldest->used = true;
  copy_id(oldest->id, id);
  oldest->hash = h;
  oldest->rose_mono = now_mono;
  return oldest;
}

/* A reference is alive while its sequence number keeps rising. Relayed
 * with the heartbeats, a number waits up to one announce interval at each
 * relay, but a better reference is relayed at once
 * (p2pc_timesync_announce_relay) and brings the newest number with it:
 * the next rise then comes along the heartbeats, up to (relays x
 * interval) later. The timeout allows that, so that an out-of-turn relay
 * does not make the reference look dead. A neighbour of the reference
 * hears every number first-hand: its timeout is the plain one. */
static bool ref_alive(const p2pc_timesync *ts, const refent *r,
                      uint64_t now_mono) {
  uint64_t hops = r->hops < MAX_GRACE_HOPS ? r->hops : MAX_GRACE_HOPS;
  return r->used && now_mono - r->rose_mono < ts->cfg.announce_timeout_ns +
                                                  hops * ts->cfg.announce_ns;
}

void p2pc_timesync_announce_in(p2pc_timesync *ts, const char *id,
                               const p2pc_wire_announce *an, p2pc_now now) {
  if (ts->cfg.disabled)
    return;
  source *s = find_src(ts, id);
  if (s) {
    s->have_ann = true;
    s->ann = *an;
    s->ann_ref_hash = id_hash(an->ref);
    s->ann_mono = now.mono_ns;
    set_addr(ts, s);
  }
  if (!an->ref[0] || strcmp(an->ref, ts->id) == 0)
    return;
  refent *r = ref_entry(ts, an->ref, true, now.mono_ns);
  if (r && an->ref_seq > r->max_seq) {
    r->max_seq = an->ref_seq;
    r->rose_mono = now.mono_ns;
    r->priority = an->ref_priority;
    r->cls = an->ref_class;
    r->active = (an->flags & P2PC_ANNOUNCE_REF_ACTIVE) != 0;
    r->hops = an->hops;
  }
  /* A reference better than the one we last announced may change our
   * election: the relay decides (a cheap test first, as every heartbeat
   * brings an ANNOUNCE from every neighbour). */
  if (!ts->sent_ref[0] ||
      ranks_before((an->flags & P2PC_ANNOUNCE_REF_ACTIVE) != 0,
                   an->ref_priority, an->ref_class, an->ref, ts->sent_active,
                   ts->sent_priority, ts->sent_class, ts->sent_ref))
    ts->relay_wait = true;
}

/* Whether we may stand as the reference: eligible by priority, and either
 * synced already or in a mesh where nobody is synced yet. A newcomer to a
 * synced mesh first syncs to it, so that if it then wins the election the
 * mesh's time does not move. */
static bool self_candidate(const p2pc_timesync *ts) {
  if (ts->cfg.priority == 255)
    return false;
  /* Synced, and long enough to have learned the mesh's rate, which it
   * keeps when it takes over. */
  if (ts->ref_taken || (ts->nc.synced && ts->nc.updates >= CANDIDATE_UPDATES))
    return true;
  for (uint32_t i = 0; i < ts->nsrc; i++)
    if (ts->src[i].up && ts->src[i].have_ann &&
        (ts->src[i].ann.flags & P2PC_ANNOUNCE_SYNCED))
      return false;
  return true;
}

/* The role is taken only after listening for one announce timeout (PTP's
 * LISTENING state), so a starting mesh learns every candidate first. */
static bool listened(const p2pc_timesync *ts, uint64_t now_mono) {
  return now_mono - ts->start_mono >= ts->cfg.announce_timeout_ns;
}

/* Whether we would serve time at once if elected: we do, or we are synced
 * to the mesh and know its rate (a candidate that may preempt). */
static bool self_active(const p2pc_timesync *ts) {
  return ts->ref_taken ||
         (ts->nc.synced && ts->nc.updates >= CANDIDATE_UPDATES);
}

/* Picks the reference: the best alive dataset, ourselves included. Active
 * references (serving time) beat mere candidates whatever their datasets,
 * so a node that restarts, or joins, cannot pull a synced mesh towards
 * its unsynced clock by announcing itself; it syncs first, and then, if
 * its dataset is better, it takes over with the mesh's time. */
static void elect(p2pc_timesync *ts, uint64_t now_mono) {
  const char *best = NULL;
  uint8_t bp = 0, bc = 0;
  bool bactive = false;
  if (self_candidate(ts)) {
    best = ts->id;
    bp = ts->cfg.priority;
    bc = ts->cfg.clock_class;
    bactive = self_active(ts);
  }
  for (uint32_t i = 0; i < REFS; i++) {
    const refent *r = &ts->refs[i];
    if (!ref_alive(ts, r, now_mono) || r->priority == 255)
      continue;
    /* only references some up neighbour still announces */
    bool heard = false;
    for (uint32_t k = 0; k < ts->nsrc && !heard; k++)
      heard = ts->src[k].up && ts->src[k].have_ann &&
              ts->src[k].ann_ref_hash == r->hash &&
              strcmp(ts->src[k].ann.ref, r->id) == 0;
    if (!heard)
      continue;
    bool better = !best || ranks_before(r->active, r->priority, r->cls, r->id,
                                        bactive, bp, bc, best);
    if (better) {
      best = r->id;
      bp = r->priority;
      bc = r->cls;
      bactive = r->active;
    }
  }
  bool was_ref = ts->is_ref;
  char old[P2PC_NODE_ID_MAX + 1];
  copy_id(old, ts->ref);
  if (!best) {
    ts->ref[0] = '\0';
    ts->is_ref = false;
    ts->ref_active = false;
  } else {
    copy_id(ts->ref, best);
    ts->ref_priority = bp;
    ts->ref_class = bc;
    ts->ref_active = bactive;
    ts->is_ref = strcmp(best, ts->id) == 0;
  }
  if (strcmp(old, ts->ref) != 0)
    say(ts,
        ts->cfg.mode == P2PC_CLOCK_REFERENCE ? P2PC_LOG_INFO : P2PC_LOG_DEBUG,
        ts->cfg.mode == P2PC_CLOCK_REFERENCE ? "clock: reference is now "
                                             : "clock: seed candidate is now ",
        ts->ref[0] ? ts->ref : "(none)", ts->is_ref ? " (this node)" : "");
  if (ts->is_ref && !was_ref)
    ts->parent = -1;
}

/* Remembers what the announcement every link gets elects. */
static void note_sent(p2pc_timesync *ts) {
  copy_id(ts->sent_ref, ts->ref);
  ts->sent_priority = ts->ref_priority;
  ts->sent_class = ts->ref_class;
  ts->sent_active = ts->ref_active;
}

void p2pc_timesync_announce_out(p2pc_timesync *ts, bool tick, p2pc_now now,
                                p2pc_wire_announce *an) {
  memset(an, 0, sizeof *an);
  an->time_port = ts->cfg.time_port;
  an->mode = (uint8_t)ts->cfg.mode;
  an->flags = ts->nc.synced ? P2PC_ANNOUNCE_SYNCED : 0;
  if (ts->cfg.disabled)
    return;
  elect(ts, now.mono_ns);
  if (tick)
    note_sent(ts); /* this one goes on every link */
  if (!ts->ref[0])
    return;
  copy_id(an->ref, ts->ref);
  an->ref_priority = ts->ref_priority;
  an->ref_class = ts->ref_class;
  if (ts->is_ref) {
    if (tick)
      ts->my_seq++;
    an->ref_seq = ts->my_seq;
    an->hops = 0;
    if (ts->ref_taken ||
        (ts->cfg.mode == P2PC_CLOCK_COLLABORATIVE && ts->nc.synced))
      an->flags |= P2PC_ANNOUNCE_REF_ACTIVE;
    return;
  }
  const refent *r = ref_entry(ts, ts->ref, false, now.mono_ns);
  an->ref_seq = r ? r->max_seq : 0;
  if (r && r->active)
    an->flags |= P2PC_ANNOUNCE_REF_ACTIVE;
  uint8_t hops = 255;
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    const source *s = &ts->src[i];
    if (s->up && s->have_ann && strcmp(s->ann.ref, ts->ref) == 0 &&
        s->ann.hops < hops)
      hops = s->ann.hops;
  }
  an->hops = hops < 254 ? (uint8_t)(hops + 1) : 255;
}

/* Relaying at once is what lets the election cover the mesh within the
 * listening period: at one relay per heartbeat the best candidate needs
 * (diameter x heartbeat) to reach the far side, 3 s across 10,000 nodes,
 * and nodes that have not heard of it by then take the role and have
 * their followers synchronized to them (docs/CLOCK.md, Listening). Only a
 * better reference is relayed (a worse one, after a timeout, waits for
 * the heartbeat): during a start a node's choice only improves, so each
 * node relays a handful of times. The rate limit bounds what flapping
 * announcements could cost. */
bool p2pc_timesync_announce_relay(p2pc_timesync *ts, p2pc_now now,
                                  p2pc_wire_announce *an) {
  if (ts->cfg.disabled || !ts->relay_wait || now.mono_ns < ts->relay_next)
    return false;
  ts->relay_wait = false;
  elect(ts, now.mono_ns);
  if (!ts->ref[0] ||
      (ts->sent_ref[0] &&
       !ranks_before(ts->ref_active, ts->ref_priority, ts->ref_class, ts->ref,
                     ts->sent_active, ts->sent_priority, ts->sent_class,
                     ts->sent_ref)))
    return false;
  ts->relay_next = now.mono_ns + ts->cfg.announce_ns / RELAYS;
  /* like a tick that does not advance our own sequence number */
  p2pc_timesync_announce_out(ts, false, now, an);
  note_sent(ts);
  return true;
}

/* ---- the datagram queue and tokens -------------------------------------- */

static p2pc_datagram *q_push(p2pc_timesync *ts) {
  if (ts->qn == QUEUE) {
    ts->c.tx_dropped++;
    return NULL;
  }
  p2pc_datagram *d = &ts->q[(ts->qhead + ts->qn++) % QUEUE];
  memset(d, 0, sizeof *d);
  ts->c.tx++;
  return d;
}

bool p2pc_timesync_pop(p2pc_timesync *ts, p2pc_datagram *d) {
  if (!ts->qn)
    return false;
  *d = ts->q[ts->qhead];
  ts->qhead = (ts->qhead + 1) % QUEUE;
  ts->qn--;
  return true;
}

static uint32_t new_token(p2pc_timesync *ts, bool is_reply, uint32_t idx,
                          const char *id) {
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
  token_slot *s = &ts->tokens[token % TOKENS];
  if (!token || s->token != token)
    return;
  if (s->is_reply) {
    client *c = &ts->clients[s->idx % CLIENTS];
    if (strcmp(c->id, s->id) != 0)
      return;
    if (kernel || !c->tx_kernel) {
      c->tx_local = local;
      c->tx_kernel = kernel;
    }
    return;
  }
  source *src = s->idx < ts->nsrc ? &ts->src[s->idx] : NULL;
  if (!src || strcmp(src->id, s->id) != 0 || src->token != token)
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

/* ---- polling ------------------------------------------------------------- */

static void send_request(p2pc_timesync *ts, source *s, uint32_t idx,
                         p2pc_now now) {
  if (s->pending) /* the last one went unanswered */
    s->pending = false;
  s->reach <<= 1;
  s->polls++;
  p2pc_datagram *d = q_push(ts);
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
  if (p2pc_ntp_ext_put(d->data + P2PC_NTP_HEADER_LEN, &e) < 0) {
    ts->qn--;
    return;
  }
  d->len = P2PC_NTP_PACKET_MAX;
  d->to = s->addr;
  s->token = new_token(ts, false, idx, s->id);
  d->token = s->token;
  s->pending = true;
  s->t1 = now.local_ns; /* until the runtime reports the real send time */
  s->t1_kernel = false;
}

static uint64_t next_interval(p2pc_timesync *ts, source *s) {
  uint64_t base = poll_ns(s->burst_left ? ts->cfg.poll_min : s->poll);
  /* ±10 % jitter */
  double j = 0.9 + 0.2 * rng_unit(ts);
  return (uint64_t)((double)base * j);
}

static void poll_sources(p2pc_timesync *ts, p2pc_now now) {
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    if (now.mono_ns < ts->src_poll[i])
      continue; /* down, or not yet due */
    source *s = &ts->src[i];
    if (s->addr.family == 0)
      continue;
    send_request(ts, s, i, now);
    if (s->burst_left)
      s->burst_left--;
    s->next_poll = now.mono_ns + next_interval(ts, s);
    sync_poll(ts, s);
  }
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

/* ---- estimation and steering ---------------------------------------------
 */

static bool usable(const p2pc_timesync *ts, const source *s, uint64_t mono) {
  if (!s->up || !s->have_sample || !s->have_reply || !s->synced)
    return false;
  uint64_t horizon = 8 * poll_ns(ts->cfg.poll_max);
  if (horizon < 10ull * SEC)
    horizon = 10ull * SEC;
  return mono - s->last_sample_mono < horizon;
}

/* Whether a source may take part in this update; if not, its state says
 * why. same_ref: it must follow our reference (reference mode). */
static bool gate(const p2pc_timesync *ts, source *s, uint64_t mono,
                 bool same_ref) {
  s->truechimer = false;
  if (!s->up)
    s->state = "unreachable";
  else if (!s->have_sample)
    s->state = "no-samples";
  else if (!s->synced)
    s->state = "unsynced";
  else if (same_ref && (!ts->ref[0] || strcmp(s->ref, ts->ref) != 0 ||
                        !s->have_ann || strcmp(s->ann.ref, ts->ref) != 0))
    s->state = "other-ref";
  else if (!usable(ts, s, mono))
    s->state = "stale";
  else
    return true;
  return false;
}

/* Fills s->d (peer network − ours), s->lambda (error of d) and s->rate
 * (peer network rate relative to our local clock, minus 1) at local. */
static void source_view(const p2pc_timesync *ts, source *s, int64_t local) {
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

static void emit_clock(p2pc_timesync *ts, int64_t local, double step,
                       double adj, const char *src) {
  if (!ts->h.event)
    return;
  p2pc_tsev ev = {.kind = P2PC_TSEV_CLOCK,
                  .mode = ts->cfg.mode,
                  .ref = ts->cfg.mode == P2PC_CLOCK_REFERENCE ? ts->ref : "",
                  .source = src,
                  .synced = ts->nc.synced,
                  .corr_ns = corr_now(ts, local),
                  .freq_ppb = ts->nc.freq * 1e9,
                  .err_ns = p2pc_netclock_error(&ts->nc, local),
                  .step_ns = step,
                  .adj_ns = adj};
  ts->h.event(ts->h.ud, &ev);
}

static bool ensure_scratch(p2pc_timesync *ts, uint32_t n) {
  if (n <= ts->scratch_cap)
    return true;
  uint32_t cap = n < 16 ? 16 : 2 * n;
  const p2pc_allocator *a = ts->a;
  p2pc_interval *iv = a->realloc(ts->iv, cap * sizeof *iv, a->ud);
  if (iv)
    ts->iv = iv;
  p2pc_edge *ed = a->realloc(ts->edges, 2 * cap * sizeof *ed, a->ud);
  if (ed)
    ts->edges = ed;
  bool *tc = a->realloc(ts->tc, cap * sizeof *tc, a->ud);
  if (tc)
    ts->tc = tc;
  uint32_t *ix = a->realloc(ts->ividx, cap * sizeof *ix, a->ud);
  if (ix)
    ts->ividx = ix;
  if (!iv || !ed || !tc || !ix)
    return false;
  ts->scratch_cap = cap;
  return true;
}

/* Applies a target: d is where our network time should move (peer network
 * minus ours), f the frequency correction to take, err its error. */
static void steer(p2pc_timesync *ts, int64_t local, double d, double f,
                  double err, double skew, const char *src) {
  double step = 0;
  if (!ts->nc.synced && fabs(d) > (double)ts->cfg.step_threshold_ns) {
    if (p2pc_netclock_step(&ts->nc, local, d)) {
      step = d;
      d = 0;
      say(ts, P2PC_LOG_INFO, "clock: initial step towards ", src, "");
    }
  }
  p2pc_netclock_steer(&ts->nc, local, d, true, f, err, skew + 1e-7);
  ts->last_adj = d;
  ts->skew = skew;
  ts->ever_updated = true;
  emit_clock(ts, local, step, d, src);
}

static void update_reference(p2pc_timesync *ts, p2pc_now now) {
  int64_t local = now.local_ns;
  elect(ts, now.mono_ns);
  if (ts->is_ref) {
    for (uint32_t i = 0; i < ts->nsrc; i++)
      ts->src[i].state = ts->src[i].up ? "candidate" : "unreachable";
    if (!ts->ref_taken && listened(ts, now.mono_ns)) {
      ts->ref_taken = true;
      /* Take the role where our network time stands: keep freq and
       * whatever is still being slewed, so there is no jump. */
      p2pc_netclock_steer(&ts->nc, local, 0, false, ts->nc.freq, 0, 0);
      ts->parent = -1;
      ts->root_delay = 0;
      ts->ever_updated = true;
      ts->last_update_mono = now.mono_ns;
      emit_clock(ts, local, 0, 0, "");
    }
    ts->hops = 0;
    return;
  }
  ts->ref_taken = false;
  /* Candidates: usable sources that follow our reference; the fewest
   * hops first, then the shortest distance. */
  uint32_t m = 0;
  if (!ensure_scratch(ts, ts->nsrc + 1))
    return;
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    source *s = &ts->src[i];
    if (!gate(ts, s, now.mono_ns, true))
      continue;
    source_view(ts, s, local);
    s->state = "candidate";
    /* The reference defines the time: it is never a falseticker, even
     * when every relay disagrees with it (they lag it after its clock
     * changed). The intersection judges the relays only. */
    if (strcmp(s->id, ts->ref) == 0) {
      s->truechimer = true;
      continue;
    }
    ts->iv[m] = (p2pc_interval){s->d - s->lambda, s->d + s->lambda};
    ts->ividx[m++] = i;
  }
  ts->ntrue = m;
  if (m >= 3) {
    double tol;
    ts->ntrue = p2pc_select_truechimers(ts->iv, m, ts->edges, ts->tc, &tol);
    for (uint32_t k = 0; k < m; k++) {
      source *s = &ts->src[ts->ividx[k]];
      s->truechimer = ts->tc[k];
      if (!ts->tc[k])
        s->state = "falseticker";
    }
  } else {
    for (uint32_t k = 0; k < m; k++)
      ts->src[ts->ividx[k]].truechimer = true;
  }
  int32_t best = -1;
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    source *s = &ts->src[i];
    if (!s->truechimer)
      continue;
    if (best < 0) {
      best = (int32_t)i;
    } else {
      source *b = &ts->src[best];
      double ds = s->lambda + (double)p2pc_srcstats_est(&s->st)->min_delay / 2;
      double db = b->lambda + (double)p2pc_srcstats_est(&b->st)->min_delay / 2;
      if (s->ann.hops < b->ann.hops || (s->ann.hops == b->ann.hops && ds < db))
        best = (int32_t)i;
    }
  }
  /* Hysteresis: keep the current parent unless the new one has fewer hops
   * or is clearly closer. */
  if (best >= 0 && ts->parent >= 0 && ts->parent != best &&
      (uint32_t)ts->parent < ts->nsrc && ts->src[ts->parent].truechimer) {
    source *cur = &ts->src[ts->parent], *nb = &ts->src[best];
    if (cur->ann.hops <= nb->ann.hops && nb->lambda > 0.5 * cur->lambda)
      best = ts->parent;
  }
  if (best < 0) {
    if (ts->parent >= 0)
      say(ts, P2PC_LOG_WARN, "clock: no source to follow; holdover", "", "");
    ts->parent = -1;
    p2pc_netclock_hold(&ts->nc, local, ts->skew + HOLD_RATE);
    return;
  }
  if (best != ts->parent)
    say(ts, P2PC_LOG_INFO, "clock: following ", ts->src[best].id, "");
  ts->parent = best;
  source *p = &ts->src[best];
  p->state = "selected";
  const p2pc_srcest *e = p2pc_srcstats_est(&p->st);
  double f = (1.0 + e->freq) * (1.0 + p->peer_freq) - 1.0;
  ts->hops = p->ann.hops < 254 ? (uint8_t)(p->ann.hops + 1) : 255;
  ts->root_delay = p->root_delay + e->min_delay;
  ts->last_update_mono = now.mono_ns;
  steer(ts, local, p->d, f, p->lambda, e->skew, p->id);
}

static void update_collaborative(p2pc_timesync *ts, p2pc_now now) {
  int64_t local = now.local_ns;
  if (!ensure_scratch(ts, ts->nsrc + 1))
    return;
  uint32_t m = 0;
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    source *s = &ts->src[i];
    if (!gate(ts, s, now.mono_ns, false))
      continue;
    source_view(ts, s, local);
    ts->iv[m] = (p2pc_interval){s->d - s->lambda, s->d + s->lambda};
    ts->ividx[m++] = i;
    s->state = "candidate";
  }
  if (!ts->nc.synced && m == 0) {
    /* Nobody is synced yet: one node seeds the common time and the others
     * join it. The seed is elected through the mesh exactly as a reference
     * is (ANNOUNCE, best dataset, after listening), so a mesh that is not
     * a full one still gets a single seed. */
    elect(ts, now.mono_ns);
    if (ts->is_ref && listened(ts, now.mono_ns)) {
      p2pc_netclock_steer(&ts->nc, local, 0, false, ts->nc.freq, 0, 0);
      ts->ever_updated = true;
      ts->last_update_mono = now.mono_ns;
      say(ts, P2PC_LOG_INFO, "clock: seeding the common time", "", "");
      emit_clock(ts, local, 0, 0, "");
    }
    return;
  }
  if (m == 0) {
    if (ts->nc.synced)
      p2pc_netclock_hold(&ts->nc, local, ts->skew + HOLD_RATE);
    return;
  }
  /* Ourselves as one more source, d = 0, as wide as the median peer. */
  double lam[64];
  uint32_t nl = 0;
  for (uint32_t k = 0; k < m && nl < 64; k++)
    lam[nl++] = ts->src[ts->ividx[k]].lambda;
  for (uint32_t i = 1; i < nl; i++)
    for (uint32_t j = i; j > 0 && lam[j - 1] > lam[j]; j--) {
      double t = lam[j];
      lam[j] = lam[j - 1];
      lam[j - 1] = t;
    }
  double self_lambda = lam[nl / 2];
  bool self_in = ts->nc.synced;
  uint32_t n = m;
  if (self_in) {
    ts->iv[n] = (p2pc_interval){-self_lambda, self_lambda};
    ts->ividx[n++] = UINT32_MAX;
  }
  double tol = 0;
  if (n >= 3) {
    p2pc_select_truechimers(ts->iv, n, ts->edges, ts->tc, &tol);
  } else {
    for (uint32_t k = 0; k < n; k++)
      ts->tc[k] = true;
  }
  /* Inverse-variance weights: a source whose estimate is shaky (a jump
   * still inside its window, few samples) counts for little even while
   * its wide interval keeps it among the truechimers. */
  double sum_d = 0, sum_f = 0, sum_l = 0, sum_w = 0;
  uint32_t cnt = 0;
  for (uint32_t k = 0; k < n; k++) {
    bool t = ts->tc[k];
    if (ts->ividx[k] == UINT32_MAX) {
      if (t) {
        double wt = 1.0 / (self_lambda * self_lambda + 1.0);
        sum_f += wt * ts->nc.freq;
        sum_l += wt * self_lambda;
        sum_w += wt;
        cnt++;
      }
      continue;
    }
    source *s = &ts->src[ts->ividx[k]];
    s->truechimer = t;
    s->state = t ? "truechimer" : "falseticker";
    if (t) {
      double wt = 1.0 / (s->lambda * s->lambda + 1.0);
      sum_d += wt * s->d;
      sum_f += wt * s->rate;
      sum_l += wt * s->lambda;
      sum_w += wt;
      cnt++;
    }
  }
  ts->ntrue = cnt;
  if (!cnt || !(sum_w > 0))
    return;
  double adj = sum_d / sum_w, f = sum_f / sum_w;
  double spread = 0, skew = 0;
  for (uint32_t k = 0; k < n; k++) {
    if (!ts->tc[k])
      continue;
    double dk = ts->ividx[k] == UINT32_MAX ? 0 : ts->src[ts->ividx[k]].d;
    if (fabs(dk - adj) > spread)
      spread = fabs(dk - adj);
    if (ts->ividx[k] != UINT32_MAX) {
      double sk = p2pc_srcstats_est(&ts->src[ts->ividx[k]].st)->skew;
      if (sk > skew)
        skew = sk;
    }
  }
  ts->hops = 0;
  ts->root_delay = 0;
  ts->last_update_mono = now.mono_ns;
  steer(ts, local, adj, f, spread + sum_l / sum_w, skew, "");
}

static void update_clock(p2pc_timesync *ts, p2pc_now now) {
  if (ts->cfg.mode == P2PC_CLOCK_REFERENCE)
    update_reference(ts, now);
  else
    update_collaborative(ts, now);
}

/* ---- input --------------------------------------------------------------- */

static void answer(p2pc_timesync *ts, const p2pc_wire_addr *from,
                   const p2pc_ntp_header *rq, const p2pc_ntp_ext *rqe,
                   bool has_ext, size_t rqlen, int64_t rx_local, bool rx_kernel,
                   p2pc_now now) {
  size_t need = P2PC_NTP_HEADER_LEN + (has_ext ? P2PC_NTP_EXT_LEN : 0);
  if (rqlen < need) /* never answer with more than was sent */
    has_ext = false;
  p2pc_datagram *d = q_push(ts);
  if (!d)
    return;
  int64_t local = now.local_ns;
  double corr = corr_now(ts, local);
  bool synced = ts->nc.synced;
  double err = p2pc_netclock_error(&ts->nc, local);
  uint8_t stratum = P2PC_NTP_STRATUM_UNSYNC;
  uint32_t refid = 0x50325043; /* "P2PC" */
  if (synced) {
    if (ts->cfg.mode == P2PC_CLOCK_REFERENCE && !ts->ref_taken)
      stratum = ts->hops < 14 ? (uint8_t)(ts->hops + 1) : 15;
    else
      stratum = 1;
    if (ts->cfg.mode == P2PC_CLOCK_REFERENCE && !ts->ref_taken &&
        ts->parent >= 0) {
      const p2pc_wire_addr *pa = &ts->src[ts->parent].addr;
      if (pa->family == 4)
        refid = (uint32_t)pa->addr[0] << 24 | (uint32_t)pa->addr[1] << 16 |
                (uint32_t)pa->addr[2] << 8 | pa->addr[3];
    }
  }
  int64_t root_disp = to_i64(err) - ts->root_delay / 2;
  if (root_disp < ts->cfg.precision_ns)
    root_disp = ts->cfg.precision_ns;
  int64_t lu = local - (int64_t)(now.mono_ns - ts->last_update_mono);
  p2pc_ntp_header h = {
      .li = synced ? P2PC_NTP_LI_NONE : P2PC_NTP_LI_UNSYNC,
      .version = rq->version,
      .mode = P2PC_NTP_MODE_SERVER,
      .stratum = stratum,
      .poll = rq->poll,
      .precision = p2pc_ntp_log2_from_ns(ts->cfg.precision_ns),
      .root_delay = p2pc_ntp_short_from_ns(ts->root_delay),
      .root_disp = p2pc_ntp_short_from_ns(root_disp),
      .refid = refid,
      .ref = ts->ever_updated
                 ? p2pc_ntp_ts_from_ns(p2pc_netclock_time(&ts->nc, lu))
                 : 0,
      .org = rq->xmt,
      .rec = p2pc_ntp_ts_from_ns(p2pc_netclock_time(&ts->nc, rx_local)),
      .xmt = 0};
  p2pc_ntp_header_put(d->data, &h);
  d->len = P2PC_NTP_HEADER_LEN;
  d->to = *from;
  d->stamp_xmt = true;
  d->xmt_corr = to_i64(corr);
  ts->c.answered++;
  if (!has_ext) {
    ts->c.answered_std++;
    return;
  }
  p2pc_ntp_ext e = {.kind = P2PC_NTP_EXT_REPLY,
                    .flags =
                        (uint16_t)((synced ? P2PC_NTP_EXTF_SYNCED : 0) |
                                   (rx_kernel ? P2PC_NTP_EXTF_KERNEL_RX : 0)),
                    .rx_local = rx_local,
                    .tx_corr = d->xmt_corr,
                    .freq_ppb = to_i64(ts->nc.freq * 1e9),
                    .root_dist_ns = to_i64(err),
                    .hops = ts->hops};
  copy_id(e.id, ts->id);
  if (ts->cfg.mode == P2PC_CLOCK_REFERENCE)
    copy_id(e.ref_id, ts->ref);
  /* Interleaved: the kernel transmit time of our previous reply to this
   * requester, identified by the cookie of the request it answered. */
  uint32_t slot = CLIENTS, oldest = 0, hid = id_hash(rqe->id);
  for (uint32_t i = 0; i < CLIENTS; i++) {
    if (ts->clients[i].hash == hid && strcmp(ts->clients[i].id, rqe->id) == 0) {
      slot = i;
      break;
    }
    if (ts->clients[i].used_mono < ts->clients[oldest].used_mono)
      oldest = i;
  }
  if (slot < CLIENTS) {
    client *c = &ts->clients[slot];
    if (c->tx_kernel && c->cookie != rq->xmt) {
      e.flags |= P2PC_NTP_EXTF_PREV;
      e.prev_cookie = c->cookie;
      e.prev_tx_local = c->tx_local;
    }
  } else {
    slot = oldest;
    memset(&ts->clients[slot], 0, sizeof ts->clients[slot]);
    copy_id(ts->clients[slot].id, rqe->id);
    ts->clients[slot].hash = hid;
  }
  client *c = &ts->clients[slot];
  c->cookie = rq->xmt;
  c->tx_kernel = false;
  c->tx_local = 0;
  c->used_mono = now.mono_ns;
  if (p2pc_ntp_ext_put(d->data + P2PC_NTP_HEADER_LEN, &e) < 0)
    return; /* our own ID is valid; cannot happen, answer without it */
  d->len = P2PC_NTP_PACKET_MAX;
  d->token = new_token(ts, true, slot, c->id);
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
    source_view(ts, s, t4);
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

static void on_reply(p2pc_timesync *ts, const p2pc_ntp_header *h,
                     const p2pc_ntp_ext *e, bool has_ext, int64_t rx_local,
                     bool rx_kernel, p2pc_now now) {
  source *s =
      has_ext && e->kind == P2PC_NTP_EXT_REPLY ? find_src(ts, e->id) : NULL;
  if (!s || !s->up) {
    ts->c.rx_bogus++;
    return;
  }
  if (!s->pending || h->org != s->cookie) {
    if (h->org == s->last_cookie || h->org == s->prev.cookie)
      ts->c.rx_replay++;
    else
      ts->c.rx_bogus++;
    return;
  }
  /* What the peer says about itself must be sane, or the reply is not
   * used: a root distance within NTP's 16 s MAXDISP, a frequency within
   * the clamp, a correction within ~11 days. */
  if (e->root_dist_ns < 0 || e->root_dist_ns > 16 * SEC ||
      e->freq_ppb > 1000000 || e->freq_ppb < -1000000 ||
      e->tx_corr > 1000000 * SEC || e->tx_corr < -1000000 * SEC) {
    ts->c.rx_bogus++;
    return;
  }
  s->pending = false;
  s->last_cookie = s->cookie;
  s->reach |= 1;
  int64_t t3net = p2pc_ntp_ts_to_ns(h->xmt, rx_local);
  int64_t t1 = s->t1, t2 = e->rx_local, t3 = t3net - e->tx_corr, t4 = rx_local;
  /* Sanity: the server cannot have answered before asking or after we
   * heard the answer, on its own clock's time scale. */
  if (t4 < t1 || t3 < t2) {
    ts->c.rx_bogus++;
    return;
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
  update_clock(ts, now);
}

void p2pc_timesync_input(p2pc_timesync *ts, const p2pc_wire_addr *from,
                         const uint8_t *b, size_t len, int64_t rx_local,
                         bool rx_kernel, p2pc_now now) {
  ts->c.rx++;
  p2pc_ntp_header h;
  p2pc_ntp_ext e;
  bool has_ext = false;
  if (len > P2PC_NTP_PACKET_MAX + 512 ||
      p2pc_ntp_decode(b, len, &h, &e, &has_ext) < 0) {
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
    answer(ts, from, &h, &e, has_ext, len, rx_local, rx_kernel, now);
  } else if (h.mode == P2PC_NTP_MODE_SERVER) {
    on_reply(ts, &h, &e, has_ext, rx_local, rx_kernel, now);
  } else {
    ts->c.rx_mode++;
  }
}

/* ---- timers -------------------------------------------------------------- */

void p2pc_timesync_on_deadline(p2pc_timesync *ts, p2pc_now now) {
  if (ts->cfg.disabled)
    return;
  poll_sources(ts, now);
  if (now.mono_ns < ts->next_check)
    return;
  ts->next_check = now.mono_ns + ts->cfg.announce_ns;
  /* The election runs on time too: a reference that goes silent is
   * replaced without waiting for a sample. */
  if (ts->cfg.mode == P2PC_CLOCK_REFERENCE) {
    bool was_ref = ts->is_ref;
    char old[P2PC_NODE_ID_MAX + 1];
    copy_id(old, ts->ref);
    elect(ts, now.mono_ns);
    bool parent_lost =
        ts->parent >= 0 && !usable(ts, &ts->src[ts->parent], now.mono_ns);
    if (ts->is_ref != was_ref || strcmp(old, ts->ref) != 0 || parent_lost ||
        (ts->is_ref && !ts->ref_taken))
      update_clock(ts, now);
  } else if (!ts->nc.synced) {
    update_collaborative(ts, now);
  }
}

uint64_t p2pc_timesync_next_deadline(const p2pc_timesync *ts) {
  uint64_t t = UINT64_MAX;
  if (ts->cfg.disabled)
    return t;
  for (uint32_t i = 0; i < ts->nsrc; i++)
    if (ts->src_poll[i] < t)
      t = ts->src_poll[i];
  /* re-check the election and seeding at the announce pace */
  if (ts->next_check < t)
    t = ts->next_check;
  /* a relay held back by the rate limit */
  if (ts->relay_wait && ts->relay_next < t)
    t = ts->relay_next;
  return t;
}

/* ---- introspection ------------------------------------------------------- */

int64_t p2pc_timesync_time(const p2pc_timesync *ts, int64_t local) {
  return p2pc_netclock_time(&ts->nc, local);
}

double p2pc_timesync_error(const p2pc_timesync *ts, int64_t local) {
  return ts->nc.synced ? p2pc_netclock_error(&ts->nc, local) : -1;
}

void p2pc_timesync_tracking(const p2pc_timesync *ts, p2pc_now now,
                            p2pc_tracking *t) {
  memset(t, 0, sizeof *t);
  int64_t local = now.local_ns;
  t->mode = ts->cfg.mode;
  t->synced = ts->nc.synced;
  t->is_reference = ts->cfg.mode == P2PC_CLOCK_REFERENCE && ts->ref_taken;
  if (ts->cfg.mode == P2PC_CLOCK_REFERENCE)
    copy_id(t->ref, ts->ref);
  if (ts->parent >= 0 && (uint32_t)ts->parent < ts->nsrc && !t->is_reference &&
      ts->cfg.mode == P2PC_CLOCK_REFERENCE)
    copy_id(t->source, ts->src[ts->parent].id);
  t->hops = ts->hops;
  t->stratum = !ts->nc.synced ? P2PC_NTP_STRATUM_UNSYNC
               : (ts->cfg.mode == P2PC_CLOCK_REFERENCE && !ts->ref_taken)
                   ? (uint8_t)(ts->hops < 14 ? ts->hops + 1 : 15)
                   : 1;
  t->local_ns = local;
  t->net_ns = p2pc_netclock_time(&ts->nc, local);
  t->offset_ns = corr_now(ts, local);
  t->freq_ppm = ts->nc.freq * 1e6;
  t->skew_ppm = ts->skew * 1e6;
  t->err_ns = p2pc_netclock_error(&ts->nc, local);
  t->pending_ns = p2pc_netclock_pending(&ts->nc, local);
  t->last_adj_ns = ts->last_adj;
  t->since_update_ns =
      ts->ever_updated ? (int64_t)(now.mono_ns - ts->last_update_mono) : -1;
  t->steps = ts->nc.steps;
  t->updates = ts->nc.updates;
  t->sources = ts->nsrc;
  t->truechimers = ts->ntrue;
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
    source_view(ts, &s, now.local_ns);
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
