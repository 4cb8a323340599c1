/* SPDX-License-Identifier: MIT */
/*
 * Finding any node's address record by ID (PROTOCOL.md, "Addressing any
 * node"): a Kademlia routing table and iterative lookups over the
 * overlay's datagrams (dgram.h), as Ethereum's discv5 finds node records.
 *
 *   key       a node's 64-bit key is splitmix64's finalizer over the 64-bit
 *             FNV-1a of its ID (p2pc_dht_key): well mixed, so keys spread
 *             evenly whatever the IDs look like ("n1", "n2", ...);
 *   table     64 k-buckets by XOR distance from our key (bucket i holds
 *             the keys at distance [2^i, 2^(i+1))), k = 8 records each,
 *             least recently seen first, and one pending replacement per
 *             bucket: a full bucket takes a new contact only in place of an
 *             entry that failed to answer (Kademlia's preference for old,
 *             live contacts). Buckets are allocated when first used: about
 *             log2 N of them fill;
 *   lookups   at most P2PC_DHT_MAX_LOOKUPS at once, each a shortlist of the
 *             P2PC_DHT_SHORTLIST closest records heard of, α = 3 requests
 *             in flight to the closest not yet asked; a request unanswered
 *             after P2PC_DHT_TIMEOUT_NS fails (and its entry is marked
 *             failed in the table). A lookup ends found when a record with
 *             the target's exact ID arrives (from anyone, or the target
 *             answering itself), not found when the k closest records that
 *             did not fail have all answered, or after
 *             P2PC_DHT_MAX_QUERIES requests.
 *
 * Pure and bounded like the rest of the core: the caller passes time in,
 * moves the datagrams (p2pc_dht_pop) and collects the results
 * (p2pc_dht_pop_result). Only records with an address and a time port go
 * in the table (the others cannot be asked anything).
 */
#ifndef P2PC_DHT_H
#define P2PC_DHT_H

#include "frame.h"
#include <p2pclock/node.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define P2PC_DHT_K 8
#define P2PC_DHT_BUCKETS 64
#define P2PC_DHT_ALPHA 3
#define P2PC_DHT_MAX_LOOKUPS 32
#define P2PC_DHT_SHORTLIST 24
#define P2PC_DHT_MAX_QUERIES 48 /* requests of one lookup, at most */
#define P2PC_DHT_TIMEOUT_NS (300ull * 1000000)
#define P2PC_DHT_OUTQ 128 /* datagrams waiting to be sent, at most */
#define P2PC_DHT_CACHE 16 /* records lookups found, kept besides the table */

/* The key of a node ID. */
uint64_t p2pc_dht_key(const char *id);

typedef struct p2pc_dht p2pc_dht;

typedef struct p2pc_dht_result {
  char id[P2PC_NODE_ID_MAX + 1]; /* "" for our own lookups (refreshes) */
  bool found;
  p2pc_wire_record rec; /* if found */
  uint32_t rounds;      /* sequential request rounds it took */
  uint32_t queries;     /* requests sent */
} p2pc_dht_result;

typedef struct p2pc_dht_stats {
  uint64_t lookups;     /* lookups for an ID that ended ... */
  uint64_t found;       /* ... with the record */
  uint64_t rounds_sum;  /* over those found */
  uint64_t queries_sum; /* over all that ended */
  uint32_t rounds_max;  /* over those found */
  uint64_t refreshes;   /* our own lookups (bootstrap, refresh) ended */
  uint64_t tx, rx;      /* datagrams queued / taken in */
  uint64_t rx_malformed, rx_bogus; /* bad bytes / an answer nobody asked */
  uint64_t served;                 /* FINDNODEs answered */
  uint64_t timeouts;               /* requests unanswered */
  uint64_t tx_dropped;             /* the datagram queue was full */
  uint32_t entries;                /* records in the table now */
  uint32_t buckets;                /* buckets allocated */
  size_t bytes;                    /* memory held now */
} p2pc_dht_stats;

/* self: our record (its time port 0: we ask and answer nothing). */
int p2pc_dht_new(p2pc_dht **out, const p2pc_allocator *a,
                 const p2pc_wire_record *self, uint64_t seed);
void p2pc_dht_free(p2pc_dht *d);
/* The size of the datagrams it writes and takes (dgram.h):
 * P2PC_DATAGRAM_MAX [default], or P2PC_DGRAM_MAX_AUTH in secure mode. */
void p2pc_dht_set_datagram_max(p2pc_dht *d, size_t max);
const p2pc_wire_record *p2pc_dht_self(const p2pc_dht *d);

/* A record heard of. direct: from the node itself (it is alive now: the
 * entry becomes the most recently seen); else second-hand: it goes in only
 * where there is room, or updates a known entry to a newer incarnation. */
void p2pc_dht_learn(p2pc_dht *d, const p2pc_wire_record *rec, bool direct,
                    uint64_t now_ns);
/* The record of id, from the table or from a recent lookup. */
bool p2pc_dht_get(const p2pc_dht *d, const char *id, p2pc_wire_record *out);
/* Up to k records of the table closest to key (nearest first). */
size_t p2pc_dht_closest(const p2pc_dht *d, uint64_t key, p2pc_wire_record *out,
                        size_t k);

/* Looks id up: 1 if its record is already known (p2pc_dht_get), 0 if a
 * lookup started or is under way, P2PC_ERR_FULL if too many are, or
 * P2PC_ERR_INVAL (a bad ID, or ours). */
int p2pc_dht_find(p2pc_dht *d, const char *id, uint64_t now_ns);
/* Our own lookup for a key, to fill the table (no ID to match): key =
 * ours at bootstrap, a random key of bucket `bucket` to refresh it.
 * Returns 0 or P2PC_ERR_FULL. */
int p2pc_dht_lookup_key(p2pc_dht *d, uint64_t key, uint64_t now_ns);
/* A random key for refreshing: in a random bucket from the nearest one
 * that holds anything out to the farthest. */
uint64_t p2pc_dht_refresh_key(p2pc_dht *d);

/* An overlay datagram (p2pc_dgram_is_overlay) from `from`. */
void p2pc_dht_input(p2pc_dht *d, const p2pc_wire_addr *from, const uint8_t *b,
                    size_t len, uint64_t now_ns);
/* The next datagram to send; false when none. */
bool p2pc_dht_pop(p2pc_dht *d, p2pc_datagram *out);
/* The next lookup that ended; false when none. */
bool p2pc_dht_pop_result(p2pc_dht *d, p2pc_dht_result *r);
void p2pc_dht_on_deadline(p2pc_dht *d, uint64_t now_ns);
uint64_t p2pc_dht_next_deadline(const p2pc_dht *d);
void p2pc_dht_stats_get(const p2pc_dht *d, p2pc_dht_stats *s);

#endif /* P2PC_DHT_H */
