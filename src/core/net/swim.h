/* SPDX-License-Identifier: MIT */
/*
 * The failure detector's state (swim.c; PROTOCOL.md, "Failure
 * detection"): SWIM's probe rounds over the node's links, indirect probes
 * through other peers, suspicion with refutation, dissemination of
 * membership updates in a bounded queue, and Lifeguard's local health
 * multiplier. Each peer record holds its member state (swim_member); the
 * node holds one swim. Included by nodeint.h only.
 */
#ifndef P2PC_SWIM_H
#define P2PC_SWIM_H

#include "swimwire.h"

#define SWIM_K 3         /* helpers of an indirect probe; confirmations */
#define SWIM_QUEUE 64    /* updates waiting to be disseminated */
#define SWIM_RELAYS 16   /* indirect probes run for others at once */
#define SWIM_FANOUT 3    /* peers a new update goes to at once */
#define SWIM_LAMBDA 3    /* retransmissions: λ·⌈log2(N+1)⌉ */
#define SWIM_LHM_MAX 8   /* Lifeguard's local health multiplier */
#define SWIM_RUMOURS 128 /* records relayed about nodes not in the table */
#define SWIM_SUSPECT_MIN                                                       \
  5                        /* the suspicion timeout's floor, in probe rounds   \
                            */
#define SWIM_SUSPECT_MAX 3 /* ... its ceiling, in floors */

/* One peer as the detector sees its current incarnation. */
typedef struct swim_member {
  uint8_t state;         /* p2pc_member_state; 0 = never said: alive */
  uint64_t inc;          /* the incarnation the state is about */
  uint64_t heard;        /* its refutation counter as last heard */
  uint64_t since_ns;     /* SUSPECT: when we began to suspect it */
  uint32_t conf[SWIM_K]; /* SUSPECT: who confirmed it (hashes of IDs) */
  uint8_t nconf;
  bool told;      /* SUSPECT/DOWN: said to it directly since */
  bool relinked;  /* ALIVE again by its link after SUSPECT/DOWN at `heard`:
                     claims at that `heard` are stale until it refutes */
  uint64_t cycle; /* the probe cycle it was last probed in */
} swim_member;

typedef struct swim_update {
  p2pc_wire_member m;
  uint32_t left; /* transmissions to go */
} swim_update;

/* The latest record relayed about a node not in the peer table: what
 * tells news from an echo, so that such records spread once. */
typedef struct swim_rumour {
  uint64_t hash; /* of the node's ID; 0 = free */
  uint64_t inc, heard;
  uint8_t state;
} swim_rumour;

/* An indirect probe run for another node. */
typedef struct swim_relay {
  char req[P2PC_NODE_ID_MAX + 1];    /* who asked ("" = slot free) */
  char target[P2PC_NODE_ID_MAX + 1]; /* whom we pinged for it */
  uint64_t req_token, token, until_ns;
} swim_relay;

typedef struct swim {
  uint64_t next_probe_ns;
  uint64_t cycle; /* probe cycles so far: each up peer once a cycle */
  /* the probe in flight */
  bool probing, indirect;
  char target[P2PC_NODE_ID_MAX + 1];
  uint64_t token, t0_ns;
  uint32_t lhm;   /* local health multiplier, 0..SWIM_LHM_MAX */
  uint64_t heard; /* ours: raised to refute a suspicion of us */
  swim_update *q; /* nq of qcap, grown up to SWIM_QUEUE */
  uint32_t nq, qcap;
  swim_relay *relay; /* SWIM_RELAYS, allocated on the first one */
  swim_rumour rumour[SWIM_RUMOURS];
  uint32_t rumour_next; /* the slot the next new rumour takes (a ring) */
  char urgent[P2PC_NODE_ID_MAX + 1]; /* probe this one next ("" = none) */
  /* counters, for tests and the status */
  uint64_t probes, acks, indirect_acks, failed, refuted;
} swim;

#endif /* P2PC_SWIM_H */
