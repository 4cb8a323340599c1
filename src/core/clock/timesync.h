/* SPDX-License-Identifier: MIT */
/*
 * Clock synchronization, the protocol half (ALGORITHMS.md §C): NTP
 * exchanges with the node's mesh neighbours over UDP (ntp.h), per-source
 * statistics (srcstats.h), selection (select.h), the network clock
 * (netclock.h), the reference election (BMCA-like, announced through the
 * mesh) and the collaborative mode. Also answers standard NTP clients.
 *
 * Owned and driven by the node (node.h): the node tells it which
 * neighbours are up and what they announce; the runtime moves datagrams.
 * Pure like the rest of the core.
 */
#ifndef P2PC_TIMESYNC_H
#define P2PC_TIMESYNC_H

#include "idtab.h"
#include "netclock.h"
#include "ntp.h"
#include "ntplimit.h"
#include "srcstats.h"
#include "types.h"
#include "wire.h"
#include <p2pclock/node.h>

#include <stdbool.h>
#include <stdint.h>

_Static_assert(P2PC_DATAGRAM_MAX == P2PC_NTP_PACKET_MAX,
               "the public datagram holds any packet the core makes");

/* p2pc_clock_mode and p2pc_datagram are part of the public API
 * (<p2pclock/node.h>). */

typedef struct p2pc_timesync_config {
  bool disabled;             /* no time exchange at all (answers nothing) */
  p2pc_clock_mode mode;      /* [reference] */
  uint16_t time_port;        /* our UDP port, announced (0: listen port) */
  uint8_t priority;          /* election: lower wins; 255 never [128] */
  uint8_t clock_class;       /* election, after priority [248] */
  int8_t poll_min, poll_max; /* poll interval bounds, log2 s [-3, 1] */
  bool poll_set;             /* poll_min/max given (else the defaults) */
  uint32_t burst;            /* exchanges at poll_min at start [4] */
  double max_slew;           /* slew rate bound [500e-6 = 500 ppm] */
  int64_t step_threshold_ns; /* the initial step only above [1 ms] */
  /* once synced, a correction beyond this is ignored, and a source
   * that asks for it 4 updates running is lost [100 ms] */
  int64_t max_change_ns;
  int64_t precision_ns;         /* local clock read precision [1000] */
  uint32_t max_sources;         /* neighbours polled, at most [16] */
  uint64_t announce_ns;         /* ANNOUNCE interval [heartbeat] */
  uint64_t announce_timeout_ns; /* reference silent this long: gone [4x] */
  uint32_t tier_sources;        /* tier sources polled beyond neighbours [4] */
  uint32_t serve_max;           /* clients served before refusing more [256] */
  /* answers to standard NTP clients, per address (ntplimit.h)
   * [interval 3, burst 8, leak 2, loopback not limited] */
  p2pc_ntplimit_config ntp_limit;
  /* Secure mode (CLOCK.md, "Authenticated exchanges"): our extension
   * field is P2PC_NTP_EXT_LEN_AUTH bytes, leaving room for the MAC the
   * node adds to it (and checks) [off] */
  bool auth;
  /* RFC 8573 symmetric keys for standard clients (CLOCK.md,
   * "Authentication"): a request whose MAC verifies under one is answered
   * with a MAC under the same key; one with a MAC under no key of these,
   * or that does not verify, gets nothing. Borrowed for
   * p2pc_timesync_new, which copies them (wiped at free); at most
   * P2PC_NTP_KEYS_MAX, IDs nonzero and unique, len 16 or 32, else
   * P2PC_ERR_INVAL. [none: every MAC is unverified] */
  const p2pc_ntp_key *ntp_keys;
  uint32_t ntp_nkeys;
} p2pc_timesync_config;

/* Counters of the time socket. */
typedef struct p2pc_timesync_counters {
  uint64_t rx, tx;        /* datagrams in / queued out */
  uint64_t rx_malformed;  /* not NTP, bad length, bad extension */
  uint64_t rx_mode;       /* a mode we do not serve or expect */
  uint64_t rx_unverified; /* requests with a MAC or a foreign extension
                             field (NTS...): never answered unverified */
  uint64_t rx_bad_mac;    /* with ntp_keys: an AES-CMAC-sized MAC under no
                             key of ours or that does not verify */
  uint64_t rx_bogus;      /* reply to no request of ours / wrong origin */
  uint64_t rx_replay;     /* a reply whose request was already answered */
  uint64_t answered;      /* replies to requests (ours and clients') */
  uint64_t answered_std;  /* ... of them to standard NTP clients */
  uint64_t answered_auth; /* ... of them with a MAC (ntp_keys) */
  uint64_t rate_limited;  /* standard requests over their address's limit */
  uint64_t rate_kod;      /* ... of them answered with a KoD RATE */
  uint64_t rate_leaked;   /* ... answered anyway (in answered_std too) */
  uint64_t tx_dropped;    /* the datagram queue was full */
  uint64_t filtered;      /* samples refused by the delay filter */
  uint64_t max_change;    /* corrections ignored: beyond max_change_ns */
  uint64_t rejected;      /* sources set aside (contradicted, or lost
                             to max_change): P2PC_TSEV_REJECT */
  uint64_t rx_unauth;     /* secure mode: our datagrams (extension field or
                             lookup) without a valid MAC, dropped by the node */
} p2pc_timesync_counters;

typedef struct p2pc_tracking {
  p2pc_clock_mode mode;
  bool synced;
  bool is_reference;                 /* this node is the reference */
  char ref[P2PC_NODE_ID_MAX + 1];    /* reference node, "" if none */
  char source[P2PC_NODE_ID_MAX + 1]; /* neighbour followed, "" if none */
  uint8_t stratum;                   /* as answered to NTP clients */
  uint8_t hops;                      /* from the reference */
  int64_t local_ns, net_ns;          /* now */
  double offset_ns;                  /* network time − local clock */
  double freq_ppm;                   /* frequency correction */
  double skew_ppm;                   /* its error bound */
  double err_ns;                     /* error bound of the network time */
  double pending_ns;                 /* adjustment still being slewed */
  double last_adj_ns;                /* the last estimate's correction */
  int64_t since_update_ns;           /* -1 if never updated */
  uint32_t steps, updates;
  uint32_t sources, truechimers;
  p2pc_timesync_counters c;
} p2pc_tracking;

typedef struct p2pc_source_info {
  char id[P2PC_NODE_ID_MAX + 1];
  p2pc_wire_addr addr; /* where we send requests */
  uint8_t reach;       /* shift register: 1 bit per poll, 1 = answered */
  int8_t poll;         /* current poll interval, log2 s */
  uint32_t samples;    /* in the regression window */
  bool synced;         /* the peer says its network time is synced */
  char ref[P2PC_NODE_ID_MAX + 1]; /* the reference the peer follows */
  uint8_t hops;
  double offset_ns;     /* peer's network time − ours, now */
  double raw_offset_ns; /* peer's local clock − ours, now (regression) */
  double freq_ppm;      /* peer's local clock rate − ours */
  double skew_ppm;
  int64_t delay_ns; /* newest round trip */
  int64_t min_delay_ns;
  double jitter_ns;
  double err_ns;              /* error bound of offset_ns */
  bool interleaved;           /* the newest sample used interleaved mode */
  bool kernel;                /* ... and kernel timestamps at both ends */
  const char *state;          /* selected, combined, truechimer, falseticker,
                                 candidate,
                                 unsynced, no-samples, unreachable, other-ref */
  int64_t last_sample_ago_ns; /* -1 if none */
} p2pc_source_info;

/* ---- the object the node owns -------------------------------------------- */

typedef struct p2pc_timesync p2pc_timesync;

typedef enum p2pc_tsev_kind {
  P2PC_TSEV_SAMPLE, /* an exchange with a peer completed */
  P2PC_TSEV_CLOCK,  /* the network clock estimate was updated */
  P2PC_TSEV_REJECT  /* a source was set aside (EVENTS.md `clock_reject`) */
} p2pc_tsev_kind;

/* A report for the event log (EVENTS.md `sample` and `clock`). */
typedef struct p2pc_tsev {
  p2pc_tsev_kind kind;
  /* sample */
  const char *peer;  /* sample, reject */
  int64_t offset_ns; /* peer's network time − ours (EVENTS.md); reject */
  int64_t delay_ns;
  int64_t raw_offset_ns; /* peer's local clock − ours */
  bool interleaved, kernel;
  /* clock */
  p2pc_clock_mode mode;
  const char *ref;    /* "" if none */
  const char *source; /* neighbour followed, "" if none */
  bool synced;
  double corr_ns;  /* network time − local clock */
  double freq_ppb; /* frequency correction */
  double err_ns;
  double step_ns; /* the initial step, 0 if none */
  double adj_ns;  /* the adjustment being slewed */
  /* reject: why ("contradicted", "max_change"), and of the other usable
   * sources, how many were judged and how many placed time elsewhere */
  const char *reason;
  uint32_t judged, against;
} p2pc_tsev;

typedef struct p2pc_timesync_hooks {
  void (*event)(void *ud, const p2pc_tsev *e);
  void (*log)(void *ud, p2pc_log_level lv, const char *text);
  void *ud;
} p2pc_timesync_hooks;

/* Fills unset (zero) fields of cfg with defaults; heartbeat_ns is the
 * node's, for the announce interval. */
void p2pc_timesync_config_defaults(p2pc_timesync_config *cfg,
                                   uint16_t listen_port, uint64_t heartbeat_ns);
int p2pc_timesync_new(p2pc_timesync **out, const p2pc_allocator *a,
                      const char *id, uint64_t incarnation,
                      const p2pc_timesync_config *cfg, uint64_t seed,
                      const p2pc_timesync_hooks *hooks, p2pc_now now);
void p2pc_timesync_free(p2pc_timesync *ts);

/* The mesh: a neighbour's link came up (addr: its listen address) or went
 * down, and what it announces. */
/* The election priority from now on (255: never stands), as when the
 * allowlist gives or takes the reference role. */
void p2pc_timesync_set_priority(p2pc_timesync *ts, uint8_t priority);
void p2pc_timesync_peer_up(p2pc_timesync *ts, const char *id,
                           const p2pc_wire_addr *addr, p2pc_now now);
void p2pc_timesync_peer_down(p2pc_timesync *ts, const char *id, p2pc_now now);
void p2pc_timesync_announce_in(p2pc_timesync *ts, const char *id,
                               const p2pc_wire_announce *a, p2pc_now now);
/* Our announcement: `tick` once per announce interval (the reference
 * advances its sequence number), or just the current state. */
void p2pc_timesync_announce_out(p2pc_timesync *ts, bool tick, p2pc_now now,
                                p2pc_wire_announce *a);
/* Out of turn: true when a better reference than the one our last
 * announcement (a `tick`) elected has been heard; fills *a, which the
 * caller sends on every link at once and then sends with its heartbeats.
 * At most 8 an announce interval: a relay held back by that limit comes
 * due at p2pc_timesync_next_deadline. */
bool p2pc_timesync_announce_relay(p2pc_timesync *ts, p2pc_now now,
                                  p2pc_wire_announce *a);

void p2pc_timesync_input(p2pc_timesync *ts, const p2pc_wire_addr *from,
                         const uint8_t *b, size_t len, int64_t rx_local,
                         bool rx_kernel, p2pc_now now);
bool p2pc_timesync_pop(p2pc_timesync *ts, p2pc_datagram *d);
void p2pc_timesync_sent(p2pc_timesync *ts, uint32_t token, int64_t local,
                        bool kernel);
void p2pc_timesync_on_deadline(p2pc_timesync *ts, p2pc_now now);
uint64_t p2pc_timesync_next_deadline(const p2pc_timesync *ts);
/* The node's rounds: it wakes at `at` and every `period` after (its
 * heartbeats). What is not urgent here — the election's re-check, and
 * polls of sources polled at least two periods apart — is moved onto the
 * nearest round, so that one wake-up serves it and the heartbeats
 * (CLOCK.md, "Rounds"). period 0: none (each on its own time). */
void p2pc_timesync_set_rounds(p2pc_timesync *ts, uint64_t at, uint64_t period);

int64_t p2pc_timesync_time(const p2pc_timesync *ts, int64_t local);
/* The error bound of p2pc_timesync_time (ns), or -1 while the network
 * time is not synchronized (it has no honest bound then). */
double p2pc_timesync_error(const p2pc_timesync *ts, int64_t local);
void p2pc_timesync_tracking(const p2pc_timesync *ts, p2pc_now now,
                            p2pc_tracking *t);
uint32_t p2pc_timesync_source_count(const p2pc_timesync *ts);
bool p2pc_timesync_source_info(const p2pc_timesync *ts, uint32_t i,
                               p2pc_now now, p2pc_source_info *si);

#endif /* P2PC_TIMESYNC_H */
