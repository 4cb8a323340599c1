/* SPDX-License-Identifier: MIT */
/*
 * Network-wide stability for Δ-SES: every node learns G, a lower bound of
 * the smallest "local stable" value LS over the nodes of the network, by a
 * depth-limited minimum over the overlay. A dependency entry stamped below
 * G may be dropped: its message has been delivered or written off.
 *
 * LS_i is the lead's: an HLC value such that every message node i sent
 * stamped below it is delivered or written off (the smallest stamp among
 * its sent-but-undelivered messages, or its HLC if there are none); it only
 * grows. Each node keeps a[0..D], D = P2PC_STABLE_DEPTH:
 *
 *   a[0] = LS_i,   a[d] = min(LS_i, min over neighbours j of r_j[d-1]),
 *   G_i  = a[D],
 *
 * where r_j is the latest report from neighbour j (its a[0..D-1]). A value
 * that has travelled d hops sits at level d and falls off after D, so a
 * stale low value cannot circle the overlay for ever: once LS values stop
 * changing, every G equals the true minimum over the nodes within D hops
 * after D rounds of reports (a round: every node reports to every
 * neighbour), and a rise reaches every G within D rounds.
 *
 * The price of the depth limit: G lags the true minimum by about D report
 * intervals, whatever the overlay's size, because a[D] also holds the
 * node's own LS bounced back over D hops, each of which waited for the next
 * report, and the minimum picks the walk that waited longest. Simulated
 * with reports every 500 ms (the heartbeat): 8 s for two nodes, 16 s for 50
 * or 300. Reports sent more often, or a smaller D, shorten it in proportion.
 *
 * What G guarantees. Let a report be sent on every up link periodically and
 * at once whenever p2pc_stable_decreased() says so, always before any more
 * DATA, on the same ordered link. Then, by induction along the chain, if a
 * message from node s reached node i over a chain of h DATA hops, h <= D,
 * then a_i[h] <= LS_s from then on, so G_i <= LS_s (as long as no report on
 * the chain is dropped: see the hold below). For a chain of more than D hops
 * nothing follows from the chain itself; G_i <= LS_s then needs s's reports
 * to have reached i along some path of at most D links, which is true once
 * reports have flowed for D rounds over an overlay of diameter <= D that
 * has not changed, but not during the first rounds after a node or a link
 * appears (see tests/unit/test_stable.c, test_chain_longer_than_depth: a
 * ring of 2D + 1 nodes whose one link is slow to carry its first report).
 *
 * Links going down. A neighbour's last report is then frozen: it still
 * counts, with the node's HLC when it last heard anything from that
 * neighbour (last_heard), until hlc_now >= last_heard + hold_ns, when it is
 * dropped (hold_ns = Δ plus a margin, UINT64_MAX = never). Everything the
 * neighbour could have vouched for was sent, stamped, before the node last
 * heard from it, so it has expired by then, provided the margin covers how
 * far two nodes' HLCs can disagree (a report does not advance the
 * receiver's HLC, and the loss of coverage then travels downstream).
 *
 * Keys are the lead's neighbour slots, 0 <= key < max_neighbours. A key
 * whose report is frozen must not be given to another neighbour (nor to a
 * new incarnation of the same node, whose first report covers nothing
 * behind it) until the hold has passed: check p2pc_stable_slot(). Reusing it
 * earlier, or p2pc_stable_forget() earlier, drops coverage that an entry in
 * the node's log may still rely on.
 *
 * Pure: no clock is read; times are HLC values (uint64_t, network time in ns
 * with a logical counter in the low 16 bits) passed in by the caller. Every
 * change recomputes a[] in O(max_neighbours * D): 64 neighbours x 32 levels
 * is 2048 comparisons per report, well below the cost of decoding it.
 */
#ifndef P2PC_STABLE_H
#define P2PC_STABLE_H

#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <stdint.h>

/* Levels of the depth-limited minimum: a bound on the overlay's diameter,
 * in hops. A report carries levels 0..D-1. */
#define P2PC_STABLE_DEPTH 32
/* The most neighbour slots one instance may have. */
#define P2PC_STABLE_MAX_NEIGHBOURS 4096

typedef struct p2pc_stable p2pc_stable;

/* A node's report to its neighbours: its levels 0..D-1, non-increasing. */
typedef struct p2pc_stable_report {
  uint64_t v[P2PC_STABLE_DEPTH];
} p2pc_stable_report;

typedef enum p2pc_stable_slot_state {
  P2PC_STABLE_EMPTY = 0, /* no report counted: the key is free */
  P2PC_STABLE_LIVE = 1,  /* link up, report counted */
  P2PC_STABLE_FROZEN = 2 /* link down, report counted until the hold ends */
} p2pc_stable_slot_state;

typedef struct p2pc_stable_stats {
  uint64_t reports_in;  /* accepted by p2pc_stable_report_in */
  uint64_t refused;     /* refused as malformed (P2PC_ERR_PROTO) */
  uint64_t reports_out; /* produced by p2pc_stable_report_out */
  uint64_t freezes;     /* live reports frozen by p2pc_stable_link_down */
  uint64_t thaws;       /* frozen reports replaced by a fresh one */
  uint64_t held_out;    /* frozen reports dropped after the hold */
  uint64_t forgotten;   /* reports dropped by p2pc_stable_forget */
  uint32_t live, frozen;
} p2pc_stable_stats;

/* Creates an instance with slots for keys 0..max_neighbours-1 (at most
 * P2PC_STABLE_MAX_NEIGHBOURS; allocated as keys are first reported, so an
 * instance costs what its highest key in use needs) and the given hold. LS
 * starts at 0, so G is 0 until p2pc_stable_set_local is called; nothing has
 * been reported, so p2pc_stable_decreased() is true. Returns 0, P2PC_ERR_INVAL
 * or P2PC_ERR_NOMEM (a is the default allocator when NULL). */
int p2pc_stable_new(p2pc_stable **out, const p2pc_allocator *a,
                    uint32_t max_neighbours, uint64_t hold_ns);
/* NULL is a no-op. */
void p2pc_stable_free(p2pc_stable *s);

/* Sets LS_i and recomputes. LS is meant to only grow; a lower value is
 * taken as it is (lower is the safe direction) and may set the flag. */
void p2pc_stable_set_local(p2pc_stable *s, uint64_t ls);

/* Takes neighbour key's report, replacing its previous one, live or frozen
 * (the slot becomes live), and records hlc_now as heard from it. Returns 0,
 * P2PC_ERR_INVAL for key >= max_neighbours, P2PC_ERR_PROTO if r is not
 * non-increasing, or P2PC_ERR_NOMEM (no room for the slot); on error
 * nothing changes. */
int p2pc_stable_report_in(p2pc_stable *s, uint32_t key,
                          const p2pc_stable_report *r, uint64_t hlc_now);
/* Records that the node received something from neighbour key at its HLC
 * hlc_now; it extends a frozen report's hold too (the neighbour is alive,
 * and its first report on the new link replaces the frozen one). No-op for
 * an empty slot or a key out of range. */
void p2pc_stable_heard(p2pc_stable *s, uint32_t key, uint64_t hlc_now);
/* The link to neighbour key went down: its report is frozen, and dropped
 * at once if its hold is already over at hlc_now (as p2pc_stable_tick
 * would). No-op for an empty slot or a key out of range. */
void p2pc_stable_link_down(p2pc_stable *s, uint32_t key, uint64_t hlc_now);
/* Drops neighbour key's report, live or frozen, at once. Safe only when
 * nothing relies on it any more, which the module cannot see; the one case
 * known to be safe is a frozen report whose hold is over (what
 * p2pc_stable_tick does). Retiring the neighbour's identity is not enough:
 * the report also vouches for the nodes behind it, and the retired
 * incarnation's messages may still be in flight to nodes that have not
 * retired it. Meant for tearing down, and for tests. No-op if out of range. */
void p2pc_stable_forget(p2pc_stable *s, uint32_t key);
/* Levels fall at once (a lower report, a lower LS) but rise only here:
 * between refreshes they may be below the true levels, which is safe
 * (lower levels retire fewer entries) and keeps a report's cost O(D).
 * Run it before reading levels for pruning (the node does, each
 * heartbeat). */
void p2pc_stable_refresh(p2pc_stable *s);
/* Drops the frozen reports whose hold is over at hlc_now, and recomputes. */
void p2pc_stable_tick(p2pc_stable *s, uint64_t hlc_now);
/* The earliest HLC at which p2pc_stable_tick will drop a frozen report,
 * UINT64_MAX if none will. */
uint64_t p2pc_stable_next_deadline(const p2pc_stable *s);

/* G = a[D]: entries stamped below it are stable. 0 until LS is set. */
uint64_t p2pc_stable_global(const p2pc_stable *s);
/* a[d] for d <= P2PC_STABLE_DEPTH (beyond: G). */
uint64_t p2pc_stable_level(const p2pc_stable *s, uint32_t d);

/* Fills r with the current a[0..D-1] and clears the decreased flag. A
 * report produced while the flag was set must go on every link that is up,
 * on each before its next DATA (the flag is cleared for all of them). One
 * produced while the flag was clear may go on any subset, e.g. on a link
 * just up (its first frame) or with one link's heartbeat: it is then
 * pointwise >= the report produced before it. */
void p2pc_stable_report_out(p2pc_stable *s, p2pc_stable_report *r);
/* True if some level 0..D-1 is below its value in the last report produced
 * (or nothing was reported yet): report now, before any more DATA. */
bool p2pc_stable_decreased(const p2pc_stable *s);

/* Introspection. */
p2pc_stable_slot_state p2pc_stable_slot(const p2pc_stable *s, uint32_t key);
uint32_t p2pc_stable_live(const p2pc_stable *s);
uint32_t p2pc_stable_frozen(const p2pc_stable *s);
void p2pc_stable_get_stats(const p2pc_stable *s, p2pc_stable_stats *st);

#endif /* P2PC_STABLE_H */
