/* SPDX-License-Identifier: MIT */
/*
 * Clock synchronization, the reference election (ALGORITHMS.md §C.7,
 * BMCA-like): the references heard in neighbours' ANNOUNCEs and how alive
 * each is, the choice among them and ourselves, our own announcement, and
 * the out-of-turn relay of a better reference. In collaborative mode the
 * same election picks the node that seeds the common time.
 *
 * Owns ts->el. Reads the sources' announcements (exchange.c) and whether
 * our clock is synced (steer.c).
 */
#include "timesync_int.h"

#define CANDIDATE_UPDATES 16 /* updates a follower needs to stand */
#define RELAYS 8             /* out-of-turn announcements per interval, max */
#define MAX_GRACE_HOPS 64    /* a reference's timeout grows with its hops */
/* How long a source found lying stays set aside. Long against the
 * judgement (seconds), so a liar that keeps lying costs the mesh one
 * re-election per period, not a flap; short enough that a clock an
 * operator has fixed is taken back without a restart. */
#define DISTRUST_NS (600 * SEC)

void p2pc__election_init(p2pc_timesync *ts, p2pc_now now) {
  /* The links are coming up and each gets our announcement as it does:
   * the first relay can wait one rate-limit period. */
  ts->el.relay_next = now.mono_ns + ts->cfg.announce_ns / RELAYS;
  /* The reference's sequence numbers rise across restarts: start from
   * the incarnation (which differs, increasing, on every start). */
  ts->el.my_seq = ts->incarnation;
}

void p2pc__election_distrust(p2pc_timesync *ts, const char *id,
                             uint64_t now_mono) {
  uint32_t h = id_hash(id) | 1; /* never 0: 0 marks a free slot */
  distrust *slot = NULL;
  for (uint32_t i = 0; i < DISTRUSTED; i++) {
    distrust *d = &ts->el.distrusted[i];
    if (d->hash == h && strcmp(d->id, id) == 0) {
      slot = d;
      break;
    }
    /* a free or expired slot, else the one closest to expiry */
    if (!slot || (slot->until > now_mono && d->until < slot->until))
      slot = d;
  }
  slot->hash = h;
  slot->until = now_mono + DISTRUST_NS;
  copy_id(slot->id, id);
}

bool p2pc__election_distrusted(const p2pc_timesync *ts, const char *id,
                               uint64_t now_mono) {
  uint32_t h = id_hash(id) | 1;
  for (uint32_t i = 0; i < DISTRUSTED; i++) {
    const distrust *d = &ts->el.distrusted[i];
    if (d->hash == h && d->until > now_mono && strcmp(d->id, id) == 0)
      return true;
  }
  return false;
}

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
  for (uint32_t i = 0; i < ts->el.refs_cap; i++) {
    refent *r = &ts->el.refs[i];
    if (r->used && r->hash == h && strcmp(r->id, id) == 0)
      return r;
    if (!r->used || !oldest ||
        (oldest->used && r->rose_mono < oldest->rose_mono))
      if (!oldest || oldest->used)
        oldest = r;
  }
  if (!create)
    return NULL;
  /* Every slot allocated is used: the first one not allocated yet is the
   * one to take (the array doubles up to REFS). */
  uint32_t had = ts->el.refs_cap;
  if ((!oldest || oldest->used) &&
      p2pc_array_grow(ts->a, (void **)&ts->el.refs, &ts->el.refs_cap,
                      sizeof *ts->el.refs, 4, REFS))
    oldest = &ts->el.refs[had]; /* else the oldest used one gives way */
  if (!oldest)
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

void p2pc__election_heard(p2pc_timesync *ts, const p2pc_wire_announce *an,
                          p2pc_now now) {
  if (!an->ref[0] || strcmp(an->ref, ts->id) == 0)
    return;
  refent *r = ref_entry(ts, an->ref, true, now.mono_ns);
  /* Checked against time as well as order: a number that has not risen
   * for FORGET is forgotten, and the next one heard, lower or not, is
   * where the count starts again — without a rise: it takes a higher one
   * to make the reference alive. By then no node still relays a stale
   * number (each gives a silent reference up within the timeout and its
   * grace, half of FORGET), so a stale number cannot revive a dead
   * reference; and one number too large (an ANNOUNCE made up, a relay's
   * bug, a reference whose clock went back between two starts) does not
   * make every later number of the real reference look stale for ever. */
  uint64_t forget =
      2 * (ts->cfg.announce_timeout_ns + MAX_GRACE_HOPS * ts->cfg.announce_ns);
  if (r && an->ref_seq < r->max_seq && now.mono_ns - r->rose_mono >= forget)
    r->max_seq = an->ref_seq;
  if (r && an->ref_seq > r->max_seq) {
    r->max_seq = an->ref_seq;
    r->rose_mono = now.mono_ns;
    r->priority = an->ref_priority;
    r->cls = an->ref_class;
    r->active = (an->flags & P2PC_ANNOUNCE_REF_ACTIVE) != 0;
    r->hops = an->hops;
    r->claim_len = an->claim_len;
    memcpy(r->claim, an->claim, an->claim_len);
  }
  /* A reference better than the one we last announced may change our
   * election: the relay decides (a cheap test first, as every heartbeat
   * brings an ANNOUNCE from every neighbour). */
  if (!ts->el.sent_ref[0] ||
      ranks_before((an->flags & P2PC_ANNOUNCE_REF_ACTIVE) != 0,
                   an->ref_priority, an->ref_class, an->ref, ts->el.sent_active,
                   ts->el.sent_priority, ts->el.sent_class, ts->el.sent_ref))
    ts->el.relay_wait = true;
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
  if (ts->steer.ref_taken ||
      (ts->steer.nc.synced && ts->steer.nc.updates >= CANDIDATE_UPDATES))
    return true;
  for (uint32_t i = 0; i < ts->nsrc; i++)
    if (ts->src[i].up && ts->src[i].have_ann &&
        (ts->src[i].ann.flags & P2PC_ANNOUNCE_SYNCED))
      return false;
  return true;
}

/* The role is taken only after listening for one announce timeout (PTP's
 * LISTENING state), so a starting mesh learns every candidate first. */
bool p2pc__election_listened(const p2pc_timesync *ts, uint64_t now_mono) {
  return now_mono - ts->start_mono >= ts->cfg.announce_timeout_ns;
}

/* Whether we would serve time at once if elected: we do, or we are synced
 * to the mesh and know its rate (a candidate that may preempt). */
static bool self_active(const p2pc_timesync *ts) {
  return ts->steer.ref_taken ||
         (ts->steer.nc.synced && ts->steer.nc.updates >= CANDIDATE_UPDATES);
}

/* Picks the reference: the best alive dataset, ourselves included. Active
 * references (serving time) beat mere candidates whatever their datasets,
 * so a node that restarts, or joins, cannot pull a synced mesh towards
 * its unsynced clock by announcing itself; it syncs first, and then, if
 * its dataset is better, it takes over with the mesh's time. */
void p2pc__election_run(p2pc_timesync *ts, uint64_t now_mono) {
  const char *best = NULL;
  uint8_t bp = 0, bc = 0;
  bool bactive = false;
  if (self_candidate(ts)) {
    best = ts->id;
    bp = ts->cfg.priority;
    bc = ts->cfg.clock_class;
    bactive = self_active(ts);
  }
  for (uint32_t i = 0; i < ts->el.refs_cap; i++) {
    const refent *r = &ts->el.refs[i];
    if (!ref_alive(ts, r, now_mono) || r->priority == 255 ||
        p2pc__election_distrusted(ts, r->id, now_mono))
      continue;
    /* Only a better one needs the scan of the sources below (the
     * ranking is the cheaper test, and neither has effects). */
    if (best && !ranks_before(r->active, r->priority, r->cls, r->id, bactive,
                              bp, bc, best))
      continue;
    /* only references some up neighbour still announces */
    bool heard = false;
    for (uint32_t k = 0; k < ts->nsrc && !heard; k++)
      heard = ts->src[k].up && ts->src[k].have_ann &&
              ts->src[k].ann_ref_hash == r->hash &&
              strcmp(ts->src[k].ann.ref, r->id) == 0;
    if (!heard)
      continue;
    best = r->id;
    bp = r->priority;
    bc = r->cls;
    bactive = r->active;
  }
  bool was_ref = ts->el.is_ref;
  char old[P2PC_NODE_ID_MAX + 1];
  copy_id(old, ts->el.ref);
  if (!best) {
    ts->el.ref[0] = '\0';
    ts->el.is_ref = false;
    ts->el.ref_active = false;
  } else {
    copy_id(ts->el.ref, best);
    ts->el.ref_priority = bp;
    ts->el.ref_class = bc;
    ts->el.ref_active = bactive;
    ts->el.is_ref = strcmp(best, ts->id) == 0;
  }
  if (strcmp(old, ts->el.ref) != 0)
    p2pc__timesync_say(
        ts,
        ts->cfg.mode == P2PC_CLOCK_REFERENCE ? P2PC_LOG_INFO : P2PC_LOG_DEBUG,
        ts->cfg.mode == P2PC_CLOCK_REFERENCE ? "clock: reference is now "
                                             : "clock: seed candidate is now ",
        ts->el.ref[0] ? ts->el.ref : "(none)",
        ts->el.is_ref ? " (this node)" : "");
  if (ts->el.is_ref && !was_ref)
    p2pc__steer_drop_parent(ts, -1);
}

/* Remembers what the announcement every link gets elects. */
static void note_sent(p2pc_timesync *ts) {
  copy_id(ts->el.sent_ref, ts->el.ref);
  ts->el.sent_priority = ts->el.ref_priority;
  ts->el.sent_class = ts->el.ref_class;
  ts->el.sent_active = ts->el.ref_active;
}

static void announce(p2pc_timesync *ts, bool tick, p2pc_now now,
                     p2pc_wire_announce *an) {
  memset(an, 0, sizeof *an);
  an->time_port = ts->cfg.time_port;
  an->mode = (uint8_t)ts->cfg.mode;
  an->flags = ts->steer.nc.synced ? P2PC_ANNOUNCE_SYNCED : 0;
  if (ts->cfg.disabled)
    return;
  p2pc__election_run(ts, now.mono_ns);
  if (tick)
    note_sent(ts); /* this one goes on every link */
  if (!ts->el.ref[0])
    return;
  copy_id(an->ref, ts->el.ref);
  an->ref_priority = ts->el.ref_priority;
  an->ref_class = ts->el.ref_class;
  if (ts->el.is_ref) {
    if (tick)
      ts->el.my_seq++;
    an->ref_seq = ts->el.my_seq;
    an->hops = 0;
    if (ts->steer.ref_taken ||
        (ts->cfg.mode == P2PC_CLOCK_COLLABORATIVE && ts->steer.nc.synced))
      an->flags |= P2PC_ANNOUNCE_REF_ACTIVE;
    return;
  }
  const refent *r = ref_entry(ts, ts->el.ref, false, now.mono_ns);
  an->ref_seq = r ? r->max_seq : 0;
  if (r && r->active)
    an->flags |= P2PC_ANNOUNCE_REF_ACTIVE;
  if (r && r->claim_len) {
    an->claim_len = r->claim_len;
    memcpy(an->claim, r->claim, r->claim_len);
  }
  uint8_t hops = 255;
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    const source *s = &ts->src[i];
    if (s->up && s->have_ann && strcmp(s->ann.ref, ts->el.ref) == 0 &&
        s->ann.hops < hops)
      hops = s->ann.hops;
  }
  an->hops = hops < 254 ? (uint8_t)(hops + 1) : 255;
}

void p2pc__election_announce(p2pc_timesync *ts, bool tick, p2pc_now now,
                             p2pc_wire_announce *an) {
  announce(ts, tick, now, an);
  p2pc__tiers_announce(ts, now, an);
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
bool p2pc__election_relay(p2pc_timesync *ts, p2pc_now now,
                          p2pc_wire_announce *an) {
  if (ts->cfg.disabled || !ts->el.relay_wait || now.mono_ns < ts->el.relay_next)
    return false;
  ts->el.relay_wait = false;
  p2pc__election_run(ts, now.mono_ns);
  if (!ts->el.ref[0] ||
      (ts->el.sent_ref[0] &&
       !ranks_before(ts->el.ref_active, ts->el.ref_priority, ts->el.ref_class,
                     ts->el.ref, ts->el.sent_active, ts->el.sent_priority,
                     ts->el.sent_class, ts->el.sent_ref)))
    return false;
  ts->el.relay_next = now.mono_ns + ts->cfg.announce_ns / RELAYS;
  /* like a tick that does not advance our own sequence number */
  p2pc__election_announce(ts, false, now, an);
  note_sent(ts);
  return true;
}
