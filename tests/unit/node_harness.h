/* SPDX-License-Identifier: MIT */
/*
 * The unit tests' harness for the node (test_node*.c): node cores under
 * injected time on the shared driver's instant network (src/sim/drive.h).
 * Every DIAL becomes a pair of links between two cores (after a delay, if
 * the test sets one), bytes move between them each millisecond, datagrams
 * fly with a per-pair delay, and a test can cut, drop, partition or
 * crash. A hand-made peer ("X", incarnation 5) can also speak raw
 * frames (HELLO, ACK, LEAVE, STABLE, DATA) to one node, and `look` reads
 * back what the node wrote on a link.
 */
#ifndef P2PC_NODE_HARNESS_H
#define P2PC_NODE_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "drive.h"
#include "node.h"

#define MAXN 12
#define MAXC 256
#define MS 1000000ull

typedef struct netnode {
  p2pc_node *n;
  bool alive;
  char id[16];
  uint64_t inc;
  /* what the application saw */
  char delivered[4096][40];
  int ndelivered;
  int bcast_delivered; /* deliveries of broadcasts (to the network) */
  uint32_t max_hops;   /* ... and the most overlay hops one came */
  int undeliverable;
  int peer_up, peer_down;
  char down_reason[32];           /* the last peer_down's reason */
  int resolved_ok, resolved_fail; /* RESOLVED events */
  char last_error_log[256];
  /* clock sync: the node's clock model and what it reported */
  int64_t clock_offset;
  double clock_drift;
  int samples, clock_events, steps;
  /* typed events for applications (p2pclock/node.h) */
  int synced_events, unsynced_events, ref_events, step_events;
  int reject_events;    /* CLOCK_REJECTED */
  char last_reject[80]; /* its peer and reason, "N0 contradicted" */
  /* event-log lines rendered, and typed events the log carries: equal */
  int lines, logged;
  int64_t last_net;
  int ref_changes; /* "clock: reference is now" log lines */
  bool was_synced;
  int backwards; /* network time went back while synced */
} netnode;

typedef struct net {
  netnode nodes[MAXN];
  /* the nodes' links, actions and datagrams: the shared driver's
   * instant network (src/sim/drive.h), on the hooks below */
  p2pc_drive_net d;
  uint64_t now;
  bool cut[MAXN][MAXN];         /* partition: dials fail, bytes vanish */
  unsigned dial_delay_ms[MAXN]; /* a node's dials complete this late */
  struct {
    int from;
    p2pc_action a;
    uint64_t due;
  } pending[64];
  int npending;
  int version_override; /* not used by the nodes themselves */
  /* UDP: datagrams in flight, and one-way delays (default 50 us) */
  struct {
    int from, to;
    uint64_t arrive;
    p2pc_datagram d;
  } * air;
  int nair;
  uint64_t udp_delay_ns[MAXN][MAXN]; /* 0 = default */
  uint64_t udp_lost;
} net;

#define AIR_MAX 4096

typedef struct opts {
  const char *seeds; /* "1,2" indices of seeded nodes, with IDs */
  bool anon;         /* seeds without IDs */
  uint64_t inc;      /* the incarnation; 0: a new one */
  p2pc_node_config base;
} opts;

/* The fake peer "X", incarnation 5: its causal identity. */
#define FAKE_SESID "X~5"

/* What node i wrote on link l since the last look (then consumed). */
typedef struct seen {
  int acks, stables, data, pings, pongs, leaves, announces, errors;
  uint16_t error_code; /* the last ERROR's */
  uint64_t ack_cum;    /* the highest ACK */
  uint64_t ack_beyond; /* the last ACK's `beyond` */
  p2pc_wire_stable st; /* the last STABLE */
  uint64_t data_lseq;  /* the last DATA's */
  uint64_t ping_token; /* the last PING's */
  uint8_t ses[1024];   /* and its SES message */
  size_t ses_len;
} seen;

/* ---- the network -------------------------------------------------------- */

/* Node i's local clock at true time t; its p2pc_now at the current step. */
int64_t local_at(const net *w, int i, uint64_t t);
p2pc_now now_at(const net *w, int i);
/* Starts node i ("N<i>") with options o (NULL: no seeds, defaults). */
void start_node(net *w, int i, const opts *o);
/* Every connection closes (each end sees it): a cut mid-stream. */
void close_links(net *w);
/* Advances the network by ms milliseconds, one millisecond at a time. */
void run(net *w, unsigned ms);
/* Node i stops at once: its links close, its core is freed. */
void crash(net *w, int i);
void net_free(net *w);
net *net_new(void);
/* Reading the outcome. */
int live_conns(const net *w);
int count_delivered(const netnode *x, const char *prefix);
void assert_no_duplicates(const netnode *x);
void send_ok(net *w, int from, const char *to, const char *text);
void sesid_of(const netnode *x, char *out);
bool linked(const net *w, int i, const char *peer);

/* ---- a hand-made peer: HELLO, ACK, LEAVE, STABLE, DATA ------------------ */

/* An accepted link on node i (no HELLO yet); whether node i closed l with
 * `text` in its output (NULL: any), then l is closed. */
void fake_link(net *w, int i, p2pc_link_id *l);
bool closed_with(net *w, int i, p2pc_link_id l, const char *text);
/* Bytes b in on node i's link l; X (or `id`, incarnation inc) dials i. */
void feed(net *w, int i, p2pc_link_id l, const p2pc_buf *b);
/* A fake peer dials node i with HELLO h: an accepted link that has taken
 * it (node i may have closed it again, as its answer says). */
void fake_hello(net *w, int i, const p2pc_wire_hello *h, p2pc_link_id *l);
void fake_peer_as(net *w, int i, const char *id, uint64_t inc, p2pc_link_id *l);
void fake_peer(net *w, int i, p2pc_link_id *l);
/* Frames from the fake peer: ACK (cum), LEAVE (last), STABLE, ERROR. */
void fake_ack(net *w, int i, p2pc_link_id l, uint64_t cum);
void fake_leave(net *w, int i, p2pc_link_id l, uint64_t last);
void fake_stable(net *w, int i, p2pc_link_id l, uint64_t delivered,
                 uint64_t value);
/* A PONG (token) from the fake peer. */
void fake_pong(net *w, int i, p2pc_link_id l, uint64_t token);
/* An ERROR frame (code, reason) from the fake peer, before its close. */
void fake_error(net *w, int i, p2pc_link_id l, uint16_t code,
                const char *reason);
/* What node i wrote on l since the last look (consumed). */
void look(net *w, int i, p2pc_link_id l, seen *s);
/* X's causal core, and a DATA frame (lseq) from core x to node i. */
p2pc_causal *fake_core(net *w, int i);
void fake_data(net *w, int i, p2pc_causal *x, uint64_t lseq, const char *text,
               p2pc_buf *frame);

#endif /* P2PC_NODE_HARNESS_H */
