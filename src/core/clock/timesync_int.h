/* SPDX-License-Identifier: MIT */
/*
 * Clock synchronization, inside (timesync.h is the outside): the state the
 * clock's modules share, and what each offers the others. Included only by
 * the five files of the timesync object:
 *
 *   timesync.c  composition: lifecycle, the public entry points, the
 *               datagram queue and send tokens, timers, introspection
 *   exchange.c  the sources: NTP requests to neighbours, their replies
 *               (interleaved mode), samples, polling
 *   election.c  the reference election (ANNOUNCE in, out and relayed)
 *   steer.c     the network clock's steering, in reference and
 *               collaborative mode
 *   ntpserve.c  answering NTP requests, ours and standard clients'
 *   tiers.c     the tiers: candidate sources learned through ANNOUNCE,
 *               the ones polled beyond the neighbours, the tier hints
 *               sent, and the admission of clients (serve_max)
 *
 * Each module owns a part of struct p2pc_timesync (el, steer, srv; the
 * sources belong to the exchange) and writes only its own part; the others
 * read it.
 */
#ifndef P2PC_TIMESYNC_INT_H
#define P2PC_TIMESYNC_INT_H

#include "num.h"
#include "rng.h"
#include "select.h"
#include "str.h"
#include "timesync.h"

#include <math.h>
#include <string.h>

#define TOKENS 256 /* datagrams whose send time we still expect */
#define CLIENTS 64 /* requesters remembered for interleaved mode */
#define QUEUE 128  /* datagrams not yet taken by the runtime */
#define REFS 32    /* references remembered (max sequence seen) */
#define SEC 1000000000LL
#define CANDS 16     /* tier candidates remembered */
#define DISTRUSTED 8 /* sources set aside (contradicted, beyond maxChange) */

typedef struct exch {
  bool valid;
  bool taken; /* its sample went into the statistics */
  uint64_t cookie;
  int64_t t1, t2, t4;
  bool t1_kernel, t4_kernel;
} exch;

typedef struct source {
  char id[P2PC_NODE_ID_MAX + 1];
  bool up;      /* polled: linked or tiered */
  bool linked;  /* a neighbour whose link is up */
  bool tiered;  /* chosen as a tier source (tiers.c), polled over UDP */
  bool refused; /* its last reply said we are beyond its serve_max */
  bool full;    /* its last reply said it serves serve_max clients */
  /* what the election and the selection read of every source, next to
   * the flags above (a source is 3.5 KB: one cache line, not four) */
  bool have_ann;
  bool have_sample;
  bool synced;
  bool truechimer;
  uint32_t ann_ref_hash; /* of ann.ref */
  const char *state;
  double d, lambda, rate; /* of the last update */
  p2pc_wire_addr listen;  /* its listen address; time port from announce */
  p2pc_wire_addr addr;    /* where requests go */
  /* announce */
  p2pc_wire_announce ann;
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
  uint8_t stratum, hops;
  char ref[P2PC_NODE_ID_MAX + 1];
  bool last_interleaved, last_kernel;
  uint64_t last_sample_mono;
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
  /* what the election's scans read first, the ID last */
  bool used;
  bool active; /* serving time, not just standing */
  uint8_t priority, cls;
  uint8_t hops; /* the announcer's distance from it when max_seq rose */
  uint32_t hash;
  uint64_t max_seq;
  uint64_t rose_mono; /* when max_seq last increased */
  char id[P2PC_NODE_ID_MAX + 1];
  /* the reference's signed claim of max_seq, relayed as it came (empty
   * on links in clear) */
  uint8_t claim_len;
  uint8_t claim[P2PC_CLAIM_LEN];
} refent;

/* A source set aside: not followed, not elected, until `until` (mono). */
typedef struct distrust {
  uint32_t hash; /* of id; 0 with until 0: a free slot */
  uint64_t until;
  char id[P2PC_NODE_ID_MAX + 1];
} distrust;

/* The election's state (election.c). */
typedef struct p2pc__election {
  /* Sources this node found lying (steer.c judges, election.c keeps):
   * a bounded table, the entry closest to expiry gives way. */
  distrust distrusted[DISTRUSTED];
  refent *refs; /* refs_cap of them, grown up to REFS */
  uint32_t refs_cap;
  uint64_t my_seq;
  char ref[P2PC_NODE_ID_MAX + 1]; /* "" none */
  uint8_t ref_priority, ref_class;
  bool ref_active; /* the elected reference serves time */
  bool is_ref;
  /* What our last announcement on every link elected, and the relay of a
   * better reference out of turn (p2pc_timesync_announce_relay). */
  char sent_ref[P2PC_NODE_ID_MAX + 1];
  uint8_t sent_priority, sent_class;
  bool sent_active;
  bool relay_wait;     /* a better reference was heard, not yet relayed */
  uint64_t relay_next; /* mono: no relay before this (the rate limit) */
} p2pc__election;

/* The steering's state (steer.c): the network clock and what follows it. */
typedef struct p2pc__steer {
  p2pc_netclock nc;
  bool ref_taken; /* the role of reference has been taken */
  int32_t parent; /* source index, -1 none */
  uint8_t hops;   /* from the reference */
  double last_adj, skew;
  int64_t root_delay;
  uint64_t last_update_mono;
  bool ever_updated;
  uint32_t ntrue;
  uint32_t ncombined; /* sources in the last update (reference mode) */
  /* Judging the source stepped or steered to (the reference, or any
   * source before the first sync): who is suspect, for how many
   * consecutive updates; and consecutive corrections beyond maxChange. */
  char suspect[P2PC_NODE_ID_MAX + 1];
  uint32_t strikes;
  uint32_t jump_holds; /* updates running held: the reference leapt */
  uint32_t big_changes;
  /* scratch for selection */
  p2pc_interval *iv;
  p2pc_edge *edges;
  bool *tc;
  uint32_t *ividx;
  uint32_t scratch_cap;
} p2pc__steer;

/* A candidate time source learned through ANNOUNCE (tiers.c). */
typedef struct tiercand {
  bool used;
  char id[P2PC_NODE_ID_MAX + 1];
  uint32_t hash;
  uint32_t ref_hash;   /* of the reference its tier is counted from */
  p2pc_wire_addr addr; /* listen address; requests go to time_port */
  uint16_t time_port;
  uint64_t incarnation;
  uint8_t tier;
  bool full;
  bool our_client;        /* it names us among its sources */
  uint64_t heard_mono;    /* last heard of */
  uint64_t refused_until; /* mono: it refused us, leave it until then */
} tiercand;

/* The tiers' state (tiers.c). */
typedef struct p2pc__tiers {
  tiercand cand[CANDS];
  /* admission: the clients served, one slot each (serve_max) */
  uint32_t *adm_hash;
  uint64_t *adm_mono;
  uint32_t adm_cap;
} p2pc__tiers;

/* The NTP server's state (ntpserve.c). */
typedef struct p2pc__ntpserve {
  client *clients; /* ncap of them, grown up to CLIENTS */
  uint32_t ncap;
  p2pc_ntplimit limit; /* of the answers to standard clients */
  p2pc_ntp_key *keys;  /* cfg.ntp_keys, copied; wiped at free */
  uint32_t nkeys;
} p2pc__ntpserve;

struct p2pc_timesync {
  const p2pc_allocator *a;
  p2pc_timesync_config cfg;
  p2pc_timesync_hooks h;
  char id[P2PC_NODE_ID_MAX + 1];
  uint64_t incarnation;
  p2pc_rng rng;
  uint64_t start_mono;
  uint64_t next_check;         /* election / seeding re-check */
  uint64_t round_at, round_ns; /* the node's rounds (set_rounds) */
  p2pc_timesync_counters c;
  /* the sources (exchange.c) */
  source *src;
  uint32_t nsrc, srccap;
  uint32_t *src_hash; /* id_hash of src[i].id: lookups touch one array */
  uint64_t *src_poll; /* src[i].next_poll if up, else UINT64_MAX: the same */
  uint64_t poll_min;  /* the least of src_poll[] (UINT64_MAX: none), asked
                         for after every event: kept, not scanned for */
  /* the datagram queue and send tokens (timesync.c) */
  token_slot *tokens; /* TOKENS of them, allocated with the first */
  uint32_t next_token;
  p2pc_datagram *q; /* a ring of qcap (grown up to QUEUE) */
  uint32_t qhead, qn, qcap;
  p2pc__election el;
  p2pc__steer steer;
  p2pc__ntpserve srv;
  p2pc__tiers tiers;
};

/* ---- small helpers -------------------------------------------------------
 */

/* FNV-1a: a cheap filter before strcmp in the per-packet lookups. */
static inline uint32_t id_hash(const char *id) {
  return p2pc_fnv1a(id, strlen(id));
}

/* A double to int64, rounded and saturated (num.h). */
static inline int64_t to_i64(double x) { return p2pc_round_i64(x); }

static inline void copy_id(char *dst, const char *src) {
  size_t n = strlen(src);
  if (n > P2PC_NODE_ID_MAX)
    n = P2PC_NODE_ID_MAX;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* t moved to the nearest of the node's rounds (p2pc_timesync_set_rounds)
 * after now, if it has rounds. */
static inline uint64_t near_round(const p2pc_timesync *ts, uint64_t now,
                                  uint64_t t) {
  uint64_t p = ts->round_ns;
  if (!p || t < ts->round_at)
    return t;
  uint64_t r = ts->round_at + (t - ts->round_at + p / 2) / p * p;
  return r > now ? r : r + p;
}

/* A poll due at t: on the nearest round if t is two rounds away or more
 * (a faster poll keeps its own time). */
static inline uint64_t on_round(const p2pc_timesync *ts, uint64_t now,
                                uint64_t t) {
  return t >= now + 2 * ts->round_ns ? near_round(ts, now, t) : t;
}

static inline uint64_t poll_ns(int8_t poll) {
  return poll >= 0 ? (uint64_t)SEC << poll : (uint64_t)SEC >> -poll;
}

static inline double corr_now(const p2pc_timesync *ts, int64_t local) {
  return p2pc_netclock_corr(&ts->steer.nc, local);
}

/* ---- timesync.c ----------------------------------------------------------
 */

/* Logs a + b + c through the hooks (truncated to 255 bytes). */
void p2pc__timesync_say(p2pc_timesync *ts, p2pc_log_level lv, const char *a,
                        const char *b, const char *c);
/* A zeroed datagram at the tail of the queue, counted as sent; NULL (and
 * counted as dropped) when the queue is full. */
p2pc_datagram *p2pc__timesync_push(p2pc_timesync *ts);
/* Our extension field's length: room for the node's MAC in secure mode
 * (cfg.auth). */
static inline size_t p2pc__timesync_ext_len(const p2pc_timesync *ts) {
  return ts->cfg.auth ? P2PC_NTP_EXT_LEN_AUTH : P2PC_NTP_EXT_LEN;
}
/* A token for a datagram whose send time is wanted back: a request to
 * source idx, or a reply to client slot idx; id checks the slot is still
 * the same one when p2pc_timesync_sent reports it. */
uint32_t p2pc__timesync_token(p2pc_timesync *ts, bool is_reply, uint32_t idx,
                              const char *id);

/* ---- exchange.c ----------------------------------------------------------
 */

/* The source of a neighbour, or NULL. */
source *p2pc__exchange_find(p2pc_timesync *ts, const char *id);
/* ... with id's id_hash known (a candidate's, a client's) */
source *p2pc__exchange_find_h(p2pc_timesync *ts, const char *id, uint32_t h);
/* The least of src_poll[] by a pass over the sources (what poll_min
 * keeps: the earliest poll due, UINT64_MAX if none is polled). */
uint64_t p2pc__exchange_least_poll(const p2pc_timesync *ts);
void p2pc__exchange_peer_up(p2pc_timesync *ts, const char *id,
                            const p2pc_wire_addr *addr, p2pc_now now);
void p2pc__exchange_peer_down(p2pc_timesync *ts, const char *id);
/* Keeps what neighbour id announces (its reference, time port). */
void p2pc__exchange_announce(p2pc_timesync *ts, const char *id,
                             const p2pc_wire_announce *an, p2pc_now now);
/* Sends the requests that are due. */
void p2pc__exchange_poll(p2pc_timesync *ts, p2pc_now now);
/* A reply from a neighbour; true if it gave a new estimate (the clock
 * should be updated), false if it was refused (counted). */
bool p2pc__exchange_reply(p2pc_timesync *ts, const p2pc_ntp_header *h,
                          const p2pc_ntp_ext *e, bool has_ext, int64_t rx_local,
                          bool rx_kernel, p2pc_now now);
/* The send time of request token of source idx. */
void p2pc__exchange_sent(p2pc_timesync *ts, uint32_t idx, const char *id,
                         uint32_t token, int64_t local, bool kernel);
/* Fills s->d (peer network − ours), s->lambda (error of d) and s->rate
 * (peer network rate relative to our local clock, minus 1) at local. */
void p2pc__exchange_view(const p2pc_timesync *ts, source *s, int64_t local);

/* ---- election.c ----------------------------------------------------------
 */

void p2pc__election_init(p2pc_timesync *ts, p2pc_now now);
/* Notes a neighbour's ANNOUNCE: the reference's sequence number, and
 * whether a relay may be due. */
void p2pc__election_heard(p2pc_timesync *ts, const p2pc_wire_announce *an,
                          p2pc_now now);
/* Elects the reference (el.ref, el.is_ref) among the alive ones. */
void p2pc__election_run(p2pc_timesync *ts, uint64_t now_mono);
/* Sets source id aside for DISTRUST_NS: no source of ours follows it and
 * the election passes over it. */
void p2pc__election_distrust(p2pc_timesync *ts, const char *id,
                             uint64_t now_mono);
/* Whether id is set aside (p2pc__election_distrust) at now_mono. */
bool p2pc__election_distrusted(const p2pc_timesync *ts, const char *id,
                               uint64_t now_mono);
/* Whether the listening period since the start is over. */
bool p2pc__election_listened(const p2pc_timesync *ts, uint64_t now_mono);
/* p2pc_timesync_announce_out and p2pc_timesync_announce_relay. */
void p2pc__election_announce(p2pc_timesync *ts, bool tick, p2pc_now now,
                             p2pc_wire_announce *an);
bool p2pc__election_relay(p2pc_timesync *ts, p2pc_now now,
                          p2pc_wire_announce *an);

/* ---- steer.c -------------------------------------------------------------
 */

void p2pc__steer_init(p2pc_timesync *ts, p2pc_now now);
void p2pc__steer_fini(p2pc_timesync *ts);
/* The parent is source idx no longer (its slot is reused), or at all
 * (idx < 0: this node became the reference). */
void p2pc__steer_drop_parent(p2pc_timesync *ts, int32_t idx);
/* Whether a source's samples are recent enough to steer by. */
bool p2pc__steer_usable(const p2pc_timesync *ts, const source *s,
                        uint64_t mono);
/* Updates the network clock from the sources, in the configured mode. */
void p2pc__steer_update(p2pc_timesync *ts, p2pc_now now);

/* ---- ntpserve.c ----------------------------------------------------------
 */

/* Answers an NTP client request (ours, with the extension, or a standard
 * client's). key: the index in srv.keys of the key the request's MAC
 * verified under, whose MAC the answer carries, or -1 (none). */
void p2pc__ntpserve_answer(p2pc_timesync *ts, const p2pc_wire_addr *from,
                           const p2pc_ntp_header *rq, const p2pc_ntp_ext *rqe,
                           bool has_ext, size_t rqlen, int64_t rx_local,
                           bool rx_kernel, int key, p2pc_now now);
/* The send time of the reply to client slot idx. */
void p2pc__ntpserve_sent(p2pc_timesync *ts, uint32_t idx, const char *id,
                         int64_t local, bool kernel);

/* ---- exchange.c, for the tiers -------------------------------------------
 */

/* Polls node id at listen's address, port time_port, beyond the
 * neighbours (a tier source); false if no slot is free. */
bool p2pc__exchange_remote_up(p2pc_timesync *ts, const char *id,
                              const p2pc_wire_addr *listen, uint16_t time_port,
                              p2pc_now now);
/* Polls it no more (unless it is a neighbour). */
void p2pc__exchange_remote_down(p2pc_timesync *ts, source *s);

/* ---- tiers.c -------------------------------------------------------------
 */

int p2pc__tiers_init(p2pc_timesync *ts);
void p2pc__tiers_fini(p2pc_timesync *ts);
/* Notes the candidates neighbour id's ANNOUNCE names: itself, and its
 * tier hints. */
void p2pc__tiers_heard(p2pc_timesync *ts, const char *id,
                       const p2pc_wire_announce *an, p2pc_now now);
/* Chooses the tier sources among the candidates (each announce
 * interval). */
void p2pc__tiers_pick(p2pc_timesync *ts, p2pc_now now);
/* Our tier, the FULL flag and our tier hints, into an ANNOUNCE. */
void p2pc__tiers_announce(p2pc_timesync *ts, p2pc_now now,
                          p2pc_wire_announce *an);
/* Our tier: 0 for the serving reference, 1 + the followed sources' tier,
 * P2PC_TIER_NONE when not synchronized through sources. */
uint8_t p2pc__tiers_own(const p2pc_timesync *ts);
/* Admission of a client (id) that sent a request with our extension:
 * true if it is one of the serve_max served; *full: no slot is free. */
bool p2pc__tiers_admit(p2pc_timesync *ts, const char *id, uint64_t now_mono,
                       bool *full);

#endif /* P2PC_TIMESYNC_INT_H */
