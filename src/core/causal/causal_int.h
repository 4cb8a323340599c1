/* SPDX-License-Identifier: MIT */
/*
 * Δ-SES internals shared by the files of src/core/causal (causal.h is the
 * contract): one node's state, struct p2pc_causal, and the helpers the
 * files call across. Nothing outside src/core/causal includes it.
 *
 *   causal.c     life, time, receive, delivery and the buffer, introspection
 *   deps.c       the entry table V: lookup, filtering, the merge on delivery
 *   send.c       sending (A.3): stamp, entries, LS list, the pending queue
 *   expiry.c     what the HLC ages out: sweeps, give-ups, written-off ranges
 *   retire.c     what retires entries and ids: reports, LS, levels, retirement
 */
#ifndef P2PC_CAUSAL_INT_H
#define P2PC_CAUSAL_INT_H

#include "causal.h"

#include <string.h>

/* Written-off ranges of broadcasts remembered (all senders together:
 * skipping a broadcast takes an expiry, which is rare). */
#define P2PC_CAUSAL_MAX_BCAST_WO 16

typedef struct pend {
  uint64_t n, stamp;
  bool gone; /* given up (reported); kept in LS until it has settled */
} pend;

typedef struct wo_range {
  uint64_t lo, hi; /* messages (lo, hi] of the stream are written off */
  uint64_t until;  /* remembered until the HLC reaches this */
} wo_range;

typedef struct peer_state {
  /* As a destination of this node's messages. */
  uint64_t tx_last_n; /* our last message to it (the next one's prev) */
  pend *pq;           /* sent, not known delivered: ascending n */
  uint32_t pq_head, pq_n, pq_cap;
  /* As a sender to this node. */
  uint64_t rx_last_n; /* its stream up to here is delivered/written off */
  uint64_t ls_known;  /* a value its LS had: its entries below are stable */
  /* forgot_last when this state was made: a state made once ids had been
   * forgotten here may be one forgotten, and a message of its stamped at
   * or before this may have been delivered here under that state (older
   * than Δ by now: a late copy of it is dropped, never called written
   * off). Every message stamped after it that is below rx_last_n and not
   * delivered since is written off (its write-off may be claimed for the
   * older ones too: they have long left the sender's pending set). */
  uint64_t forgot_before;
  bool in_active; /* listed in active */
  wo_range wo[P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo;
  /* A range dropped at the cap takes what it knew with it: until
   * wo_floor_until, reports claim nothing above wo_floor delivered, so the
   * sender gives those messages up itself instead of taking them for
   * delivered (they would be reported nowhere). */
  uint64_t wo_floor, wo_floor_until;
  bool retired;
  /* Its broadcasts up to here are delivered or written off here (those
   * written off: the node's bwo list). */
  uint64_t bc_last;
  /* The newest stamp of a message it sent that was taken here, or of one
   * sent to it; for a retired id, the HLC at its retirement. Its state
   * may be forgotten once this is older than Δ + settle (retire.c). */
  uint64_t last;
} peer_state;

/* Broadcasts of `sender` in (lo, hi] were skipped here as expired: a later
 * copy is reported again, never delivered. Never reported to anyone. */
typedef struct bwo_range {
  uint32_t sender;
  uint64_t lo, hi, until;
} bwo_range;

typedef struct held {
  p2pc_ses_msg m; /* payload points at payload_copy */
  uint8_t *payload_copy;
  uint64_t since_ns;
  uint32_t hops; /* links it travelled (its entries count that many) */
} held;

struct p2pc_causal {
  const p2pc_allocator *a;
  p2pc_causal_config cfg;
  uint64_t life; /* Δ as used for expiry decisions */
  p2pc_idtab ids;
  uint32_t self;
  uint64_t nsent, last_stamp;
  /* The id of "*" (UINT32_MAX until it is interned: the first broadcast
   * sent or received), and this node's birth (causal.h). */
  uint32_t all;
  bool born;
  uint64_t birth;
  bwo_range bwo[P2PC_CAUSAL_MAX_BCAST_WO];
  uint32_t nbwo;
  /* Clock. */
  uint64_t hlc, pt, err;
  bool time_known;
#ifdef P2PC_TEST_FAULTS
  uint32_t faults; /* causal_faults.h; in the padding: sizeof unchanged */
#endif
  uint64_t lv[P2PC_CAUSAL_LEVELS]; /* stability levels (by hops) */
  /* Entries, sorted by (dest, sender); V2 is the merge's spare. */
  p2pc_ses_dep *V, *V2;
  uint32_t nV, capV, capV2;
  uint64_t dep_lb;   /* no entry is stamped below this */
  peer_state *peers; /* indexed by interned id */
  uint32_t npeers;
  /* Destinations with messages pending (LS is the oldest of their first
   * ones), and per-send work areas, all sized to npeers. */
  uint32_t *active;
  uint32_t nactive;
  p2pc_ses_ls *lsbuf;
  uint8_t *seen;
  uint32_t npending;
  /* pend_lb: no pending message needs attention before the HLC reaches it
   * (its give-up at stamp + Δ, or, once given up, its settling). */
  uint64_t pend_lb, wo_lb;
  uint64_t settle; /* how long a given-up message still holds LS back */
  held *buf;       /* arrival order */
  uint32_t nbuf, capbuf;
  size_t buf_bytes;
  uint64_t buf_lb;
  bool drain_pending; /* a drain stopped early (full or out of memory) */
  /* Ids are forgotten (retire.c) when the table reaches compact_at;
   * forgot_last is the newest `last` of any id forgotten: a message
   * stamped at or before it may have been delivered here before. */
  uint32_t compact_at;
  uint64_t forgot_last;
  /* Stability knowledge rose since the entries were last filtered: they
   * are filtered before the next send (where their number matters), not
   * on every report and message (that would cost O(entries) each). */
  bool prune_due;
  p2pc_wire_scratch scratch;
  p2pc_causal_stats st;
  p2pc_causal_event_fn on_event;
  void *ud;
};

static inline void *xalloc(const p2pc_allocator *a, size_t n) {
  return a->realloc(NULL, n, a->ud);
}

static inline const char *name_of(const p2pc_causal *c, uint32_t id) {
  return p2pc_idtab_name(&c->ids, id, NULL);
}

static inline void emit(p2pc_causal *c, p2pc_causal_event *ev) {
  ev->hlc = c->hlc;
  if (c->on_event)
    c->on_event(c->ud, ev);
}

static inline bool is_all(const p2pc_causal *c, uint32_t id) {
  return id == c->all;
}

/* Fixes the birth at the first input (the HLC then). */
static inline void born(p2pc_causal *c) {
  if (!c->born) {
    c->born = true;
    c->birth = c->hlc;
  }
}

/* Stamped at or before hlc - Δ. */
static inline bool expired(const p2pc_causal *c, uint64_t stamp) {
  return c->life != P2PC_CAUSAL_LIFETIME_INF && c->hlc >= c->life &&
         stamp <= c->hlc - c->life;
}

/* The HLC at which a message stamped stamp is Δ + extra old (saturating). */
static inline uint64_t due(const p2pc_causal *c, uint64_t stamp,
                           uint64_t extra) {
  if (c->life == P2PC_CAUSAL_LIFETIME_INF ||
      stamp > UINT64_MAX - c->life - extra)
    return UINT64_MAX;
  return stamp + c->life + extra;
}

/* ---- causal.c ----------------------------------------------------------- */

/* Grows the per-peer table to cover every interned id. */
int p2pc__causal_sync_peers(p2pc_causal *c);
/* Removes buffered message i (its memory goes). */
void p2pc__causal_drop_held(p2pc_causal *c, uint32_t i);
/* Learns the id of "*" once it is interned. */
void p2pc__causal_find_all(p2pc_causal *c);
/* Delivers every buffered message that has become deliverable (A.6). */
void p2pc__causal_drain_buf(p2pc_causal *c, uint64_t mono_ns);

/* ---- deps.c ------------------------------------------------------------- */

/* Index in V of the entry (dest, sender), or where it would go. */
uint32_t p2pc__causal_dep_index(const p2pc_causal *c, uint32_t dest,
                                uint32_t sender);
/* Grows *v to hold need entries. */
int p2pc__causal_reserve_v(p2pc_ses_dep **v, uint32_t *cap, uint32_t need,
                           const p2pc_allocator *a);
/* Removes the entries drop() picks, counting them in *counter. */
void p2pc__causal_filter_deps(p2pc_causal *c,
                              bool (*drop)(const p2pc_causal *,
                                           const p2pc_ses_dep *),
                              uint64_t *counter);
bool p2pc__causal_dep_expired(const p2pc_causal *c, const p2pc_ses_dep *e);
bool p2pc__causal_dep_stable(const p2pc_causal *c, const p2pc_ses_dep *e);
/* Merges m's entries into V as delivering m does (all-or-nothing). */
int p2pc__causal_merge(p2pc_causal *c, const p2pc_ses_msg *m,
                       uint32_t link_hops, const p2pc_ses_dep *extra);

/* ---- send.c ------------------------------------------------------------- */

/* Destinations whose pending queue emptied leave the active list. */
void p2pc__causal_trim_active(p2pc_causal *c);

/* ---- retire.c ----------------------------------------------------------- */

/* Forgets every id nothing here needs any more (retire.c): the table and
 * the per-id state shrink to what is live, ids are renumbered in order.
 * Returns how many went. */
uint32_t p2pc__causal_forget(p2pc_causal *c);
/* Forgets at the table's growth mark (a tick's check). */
static inline void p2pc__causal_maybe_forget(p2pc_causal *c) {
  if (c->ids.n >= c->compact_at || c->cfg.forget_every_tick)
    p2pc__causal_forget(c);
}

/* ---- expiry.c ----------------------------------------------------------- */

bool p2pc__causal_wo_has(const peer_state *ps, uint64_t n);
void p2pc__causal_wo_add(p2pc_causal *c, peer_state *ps, uint64_t lo,
                         uint64_t hi);
bool p2pc__causal_bwo_has(const p2pc_causal *c, uint32_t sender, uint64_t n);
void p2pc__causal_bwo_add(p2pc_causal *c, uint32_t sender, uint64_t lo,
                          uint64_t hi);
/* Reports pending message p to dest as given up (EXPIRE at the sender). */
void p2pc__causal_give_up(p2pc_causal *c, uint32_t dest, const pend *p,
                          const char *why);
/* Everything the HLC has made older than Δ. */
void p2pc__causal_sweep(p2pc_causal *c);

#endif /* P2PC_CAUSAL_INT_H */
