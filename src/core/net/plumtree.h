/* SPDX-License-Identifier: MIT */
/*
 * Broadcast dissemination: Plumtree (Leitão, Pereira, Rodrigues, SRDS
 * 2007; PROTOCOL.md, "Broadcast to the whole network") with one tree per
 * origin. Over the node's up links, a message is pushed eagerly (GOSSIP)
 * on the links of its origin's spanning tree and announced lazily (IHAVE,
 * batched) on the others. An origin with no tree here (never heard of,
 * forgotten, or its tree older than tree_ns) has every link eager: its
 * message floods, and its copies' first paths are shortest paths from
 * it. The first message of an origin floods and prunes nothing (most
 * origins are heard from once); from its second, a node that receives a
 * copy twice prunes the second link out of the origin's tree (PRUNE with
 * the origin: it becomes lazy for that origin); one that hears of a
 * message it lacks waits a while for the tree to bring it, then asks an
 * announcer (GRAFT), which joins that link to the tree. Each tree thus
 * forms from the first copies' paths, repairs itself when a link or node
 * fails, and is built afresh every tree_ns.
 *
 * Pure state: no I/O and no clock reads. Links are the caller's ids
 * (below max_links); frames go out through the hooks, which the node
 * encodes (frame.h) and writes; a message goes to the causal layer
 * through the deliver hook. Everything is bounded: the ids remembered
 * (max_ids, for at most cache_ns), the messages whose bytes are kept
 * (cache, cache_bytes), the ids waiting for a GRAFT and the announcements
 * waiting for a flush.
 *
 * A message's id is (origin, n), read from its SES header
 * (p2pc_wire_ses_peek); its destination must be P2PC_BCAST_DEST.
 */
#ifndef P2PC_PLUMTREE_H
#define P2PC_PLUMTREE_H

#include "frame.h"
#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <stdint.h>

/* The destination of a broadcast, as the causal layer names it
 * (P2PC_CAUSAL_ALL, causal.h). */
#define P2PC_BCAST_DEST "*"

#define P2PC_PT_CACHE_DEFAULT 4096
#define P2PC_PT_CACHE_BYTES_DEFAULT (64u << 20)
#define P2PC_PT_CACHE_NS_DEFAULT 30000000000ull /* 30 s */
#define P2PC_PT_GRAFT_NS_DEFAULT 100000000ull   /* T1: 100 ms */
#define P2PC_PT_GRAFT_NEXT_NS_DEFAULT 50000000ull
#define P2PC_PT_IHAVE_NS_DEFAULT 50000000ull /* IHAVE batching */
#define P2PC_PT_RETRY_NS_DEFAULT 100000000ull
/* Announcers remembered per missing message. */
#define P2PC_PT_MAX_ANNOUNCERS 8
/* Missing messages waiting for their GRAFT at once. */
#define P2PC_PT_MAX_MISSING 1024
/* Announcements (an id on a link) at the next flush (a full list
 * flushes at once). */
#define P2PC_PT_MAX_ANNOUNCE 1024
/* Origins with a tree at once (least recently used out first), and how
 * long a tree is kept before the origin's next message floods again. */
#define P2PC_PT_MAX_ORIGINS_DEFAULT 64
#define P2PC_PT_TREE_NS_DEFAULT 30000000000ull /* 30 s */

typedef struct p2pc_pt_config {
  uint32_t max_links;     /* link ids are below this (required) */
  uint32_t cache;         /* messages whose bytes are kept [4096] */
  size_t cache_bytes;     /* ... and their bytes [64 MiB] */
  uint32_t max_ids;       /* ids remembered (duplicates) [4 x cache] */
  uint64_t cache_ns;      /* an id and its bytes are kept this long [30 s];
                             the caller keeps it within the causal lifetime */
  uint64_t graft_ns;      /* T1: an IHAVE waits this for the tree [100 ms] */
  uint64_t graft_next_ns; /* T2: then the next announcer [50 ms] */
  uint64_t ihave_ns;      /* announcements are flushed this often [50 ms] */
  uint64_t retry_ns;      /* a message the causal layer could not take yet
                             is offered again this often [100 ms] */
  uint32_t max_origins;   /* origins with a tree at once [64] */
  uint64_t tree_ns;       /* an origin's tree is built afresh (its next
                             message floods) this long after its first
                             message here [30 s] */
} p2pc_pt_config;

/* Fills cfg with the defaults (max_links 0: the caller sets it). */
void p2pc_pt_config_default(p2pc_pt_config *cfg);

typedef struct p2pc_pt_hooks {
  /* Hands a message to the causal layer: it came from link (UINT32_MAX:
   * offered again) after `round` hops. Returns 0 (taken: delivered,
   * buffered, a duplicate or expired), P2PC_ERR_FULL, P2PC_ERR_AHEAD or
   * P2PC_ERR_NOMEM (not taken now: offered again later), or another
   * negative error (malformed: dropped and not forwarded). */
  int (*deliver)(void *ud, uint32_t link, uint64_t round, const uint8_t *msg,
                 size_t len);
  /* Frames to send on a link. */
  void (*gossip)(void *ud, uint32_t link, uint64_t round, const uint8_t *msg,
                 size_t len);
  void (*ihave)(void *ud, uint32_t link, const p2pc_wire_bcast_id *ids,
                uint32_t count);
  void (*graft)(void *ud, uint32_t link, const p2pc_wire_bcast_id *ids,
                uint32_t count);
  void (*prune)(void *ud, uint32_t link, const char *origin);
  void *ud;
} p2pc_pt_hooks;

typedef struct p2pc_pt p2pc_pt;

/* Returns 0, P2PC_ERR_INVAL (max_links 0) or P2PC_ERR_NOMEM. */
int p2pc_pt_new(p2pc_pt **out, const p2pc_allocator *a,
                const p2pc_pt_config *cfg, const p2pc_pt_hooks *hooks);
void p2pc_pt_free(p2pc_pt *t);

/* A link came up (it starts eager in every tree, and is told with IHAVEs
 * of every message cached, so that a node that joins or comes back after
 * a cut GRAFTs what it missed) or went down (it leaves every tree). */
void p2pc_pt_link_up(p2pc_pt *t, uint32_t link);
void p2pc_pt_link_down(p2pc_pt *t, uint32_t link);
/* Whether link is up and eager / up and lazy for origin's messages (an
 * origin with no tree here: every up link is eager). */
bool p2pc_pt_eager(const p2pc_pt *t, const char *origin, uint32_t link);
bool p2pc_pt_lazy(const p2pc_pt *t, const char *origin, uint32_t link);
/* Whether origin has a tree here (its age not considered). */
bool p2pc_pt_has_tree(const p2pc_pt *t, const char *origin);

/* This node's own broadcast msg (already delivered to self by the
 * causal layer): pushed to every eager link, announced to the lazy ones.
 * Returns 0, P2PC_ERR_PROTO (not a broadcast message), P2PC_ERR_NOMEM. */
int p2pc_pt_broadcast(p2pc_pt *t, const uint8_t *msg, size_t len,
                      uint64_t now_ns);
/* A GOSSIP frame from link. The first copy is delivered and forwarded
 * (round + 1) on every other link eager for its origin, announced on the
 * lazy ones, and its link joins the origin's tree; a later copy prunes
 * its link from that tree (not for the origin's first message here: it
 * floods). Returns 0, or
 * P2PC_ERR_PROTO (the SES header is malformed or not a broadcast's: the
 * caller drops the link) — a message the causal layer finds malformed is
 * dropped (not forwarded) and counted, not an error here. */
int p2pc_pt_on_gossip(p2pc_pt *t, uint32_t link, uint64_t round,
                      const uint8_t *msg, size_t len, uint64_t now_ns);
/* IHAVE, GRAFT, PRUNE frames from link. A GRAFT joins link to the trees
 * of the origins it names, a PRUNE takes it out of origin's. */
void p2pc_pt_on_ihave(p2pc_pt *t, uint32_t link, const p2pc_wire_bcast_id *ids,
                      uint32_t count, uint64_t now_ns);
void p2pc_pt_on_graft(p2pc_pt *t, uint32_t link, const p2pc_wire_bcast_id *ids,
                      uint32_t count, uint64_t now_ns);
void p2pc_pt_on_prune(p2pc_pt *t, uint32_t link, const char *origin,
                      uint64_t now_ns);

/* Runs what is due: GRAFTs for messages still missing, the IHAVE flush,
 * deliveries offered again, and the ids and bytes that aged out. */
void p2pc_pt_on_deadline(p2pc_pt *t, uint64_t now_ns);
/* When on_deadline is next due (UINT64_MAX: nothing pending). */
uint64_t p2pc_pt_next_deadline(const p2pc_pt *t);

/* The round (hops) of the copy of (origin, n) this node took, if it
 * remembers the message. */
bool p2pc_pt_round(const p2pc_pt *t, const char *origin, uint64_t n,
                   uint64_t *round);

typedef struct p2pc_pt_stats {
  uint64_t broadcasts; /* own messages disseminated */
  uint64_t received;   /* first copies taken (GOSSIP) */
  uint64_t duplicates; /* later copies (each cost a PRUNE if eager) */
  uint64_t malformed;  /* refused by the causal layer for good */
  uint64_t gossip_sent, ihave_sent, graft_sent, prune_sent;
  uint64_t ihave_ids; /* ids announced */
  uint64_t grafted;   /* messages sent in answer to a GRAFT */
  uint64_t retries;   /* deliveries offered again */
  uint64_t lost;      /* not taken by the causal layer before eviction */
  uint32_t ids, cached, missing, origins; /* held now */
  size_t bytes;
} p2pc_pt_stats;
void p2pc_pt_get_stats(const p2pc_pt *t, p2pc_pt_stats *st);

#endif /* P2PC_PLUMTREE_H */
