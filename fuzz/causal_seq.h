/* SPDX-License-Identifier: MIT */
/*
 * fuzz_causal_seq's world (fuzz_causal_seq.c says what it tests): two or
 * three causal cores, the messages the script sent, the true time, and
 * the independent checker (causal_seq_world.c) that follows them.
 */
#ifndef P2PC_FUZZ_CAUSAL_SEQ_H
#define P2PC_FUZZ_CAUSAL_SEQ_H

#include "fuzz.h"

#include "buf.h"
#include "causal.h"
#include "event.h"
#include "idtab.h"
#include "wire.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 3
#define MAX_MSGS 128 /* sends per run; the checker's bitsets hold 128 */
#define MAX_FLIGHT 48
#define MAX_PAYLOAD 15
#define SET_WORDS (MAX_MSGS / 64)
#define T0 ((int64_t)0x1800000000000000) /* low 16 bits 0 */
#define MS 1000000ll
#define TICK 65536ll
/* Logical ticks an HLC may gain on its physical part in one run (one per
 * event at most). */
#define SLACK ((int64_t)1 << 20)

/* Causal identities, as a node names them ("<node>~<session>"). */
static const char *const names[MAX_NODES] = {"A~a", "B~b", "C~c"};

typedef struct msgset {
  uint64_t w[SET_WORDS];
} msgset;

static inline void set_add(msgset *s, unsigned i) {
  s->w[i / 64] |= 1ull << (i % 64);
}
static inline bool set_has(const msgset *s, unsigned i) {
  return (s->w[i / 64] >> (i % 64)) & 1;
}
static inline void set_union(msgset *d, const msgset *s) {
  for (unsigned i = 0; i < SET_WORDS; i++)
    d->w[i] |= s->w[i];
}

typedef struct msgrec {
  unsigned from, to;
  uint64_t n;     /* the sender's message number, from the SEND event */
  uint64_t stamp; /* its HLC stamp, from the SEND event */
  int64_t t_send; /* true time of the send */
  msgset past;    /* messages whose send happened before this send */
  uint8_t *bytes; /* the encoded SES message (NULL for a self-send) */
  size_t len;
  uint8_t plen;
  unsigned deliveries;
  uint64_t forgot_at;   /* its destination's forgotten count at delivery */
  bool buffered;        /* waiting in its destination's buffer */
  bool expired_rx;      /* its destination reported it expired */
  bool written_off;     /* a report of its destination covers it, undelivered */
  bool dropped;         /* its destination retired its sender */
  bool barred;          /* something was delivered that excused it */
  bool given_up;        /* its sender gave it up (EXPIRE at the sender) */
  bool acked;           /* its sender took a report that covers it */
  bool dup_undelivered; /* a copy came back DUP although never delivered */
} msgrec;

/* A failing allocator: the Nth allocation from arming fails (once). */
typedef struct failer {
  long countdown; /* < 0: disarmed */
  bool fired;
  p2pc_allocator alloc;
} failer;

typedef struct world world;
typedef struct node {
  world *w;
  unsigned idx;
  p2pc_causal *c;
  msgset past; /* messages whose send happened before now at this node */
  uint64_t last_n, last_stamp;
  int64_t offset; /* its network time is T + offset */
  bool liar_ever; /* its clock has lied: not bound by the honest checks */
  bool dead;      /* retired by someone: does nothing any more */
  bool retired[MAX_NODES];
  uint64_t dmax[MAX_NODES]; /* highest message number delivered from each */
} node;

/* What a report being passed says (for EXPIRE at the sender). */
typedef struct report_ctx {
  int dest; /* -1: none being passed */
  uint64_t wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo;
} report_ctx;

struct world {
  unsigned nnodes;
  uint32_t max_buffered;
  uint64_t life;   /* Δ */
  int64_t err;     /* every node's error bound */
  int64_t margin;  /* the ahead margin in effect */
  bool send_caps;  /* max_msg_deps, max_pending or max_deps are small */
  bool deps_cap;   /* max_deps is small */
  int64_t T;       /* true time */
  int64_t max_lie; /* the largest lie told */
  node nodes[MAX_NODES];
  msgrec msgs[MAX_MSGS];
  unsigned nmsgs;
  unsigned flight[MAX_FLIGHT]; /* indices into msgs */
  unsigned nflight;
  int sending;            /* msgs index being sent, or -1 */
  int offering;           /* msgs index being received, or -1 */
  unsigned offered_kinds; /* events about it during the receive */
  report_ctx rep;
  bool tainted; /* a core accepted a corrupted message */
  bool starved; /* an allocation failed in a core at some point */
  unsigned long nevents;
  failer fail;
  bool trace;
};

#define TRACE(w, ...)                                                          \
  do {                                                                         \
    if ((w)->trace)                                                            \
      fprintf(stderr, __VA_ARGS__);                                            \
  } while (0)

/* What must hold of a core after it refused input as malformed: nothing
 * changed (causal.h), and nothing was reported. */
typedef struct snapshot {
  p2pc_causal_stats st;
  uint32_t nbuf, nids, npairs;
  uint64_t hlc;
  unsigned long nevents;
} snapshot;

/* ---- causal_seq_world.c ------------------------------------------------- */

void *fail_realloc(void *ptr, size_t size, void *ud);
void fail_free(void *ptr, void *ud);
uint8_t payload_byte(unsigned msg, unsigned i);
int64_t net_of(const world *w, const node *nd);
/* stamp is Δ old on a clock reading hlc. */
bool clock_old(const world *w, uint64_t stamp, uint64_t hlc);
uint64_t settle_ns(const world *w);
bool holds_ls(const world *w, const msgrec *m, uint64_t hlc);
bool resolved(const msgrec *m);
void on_event(void *ud, const p2pc_causal_event *ev);
void check_world(world *w);
uint32_t known_ids(const p2pc_causal *c);
void take_snapshot(const world *w, const p2pc_causal *c, snapshot *sn);
void check_unchanged(const world *w, const p2pc_causal *c, const snapshot *sn);
void check_ls_carried(const world *w, unsigned from, const msgrec *m,
                      uint64_t ls_before);

#endif /* P2PC_FUZZ_CAUSAL_SEQ_H */
