/* SPDX-License-Identifier: MIT */
/*
 * The control server's insides, shared by its three files: server.c (the
 * socket, connections, their bounded output), commands.c (the request
 * handlers) and stream.c (subscriptions: the event fan-out).
 */
#ifndef P2PC_CTL_SERVER_INT_H
#define P2PC_CTL_SERVER_INT_H

#include "proto.h"
#include "rng.h"
#include "server.h"

typedef struct ctl_client {
  uv_pipe_t pipe;
  uv_timer_t grace; /* runs while a cut-off connection drains */
  p2pc_ctl_server *s;
  char *line; /* the request being read: [0, len) of P2PC_CTL_REQUEST_MAX */
  size_t len;
  /* Output: lines not yet handed to libuv (pend) and the one write in
   * flight (fly). Unsent bytes stay under P2PC_CTL_OUTPUT_MAX. */
  char *pend, *fly;
  size_t pend_len, pend_cap, fly_len, fly_cap;
  uv_write_t wreq;
  bool writing;
  bool subscribed;
  uint32_t events; /* subscribed: bit t set for event type t */
  bool cut;        /* cut off: the error line is queued, then close */
  bool closing;
  /* A "send" held while its destination is looked up (proto.h,
   * P2PC_CTL_SEND_WAIT_MS): the request, its destination, when it gives
   * up (uv_now, ms) and what the lookup said (HELD_*). The timer runs
   * until then, or fires at once when the lookup ends. Meanwhile the
   * input read is kept in rest (bounded: reading stops when it is full)
   * and run once the held request is answered. */
  cJSON *held;
  const char *held_to; /* in held */
  uint64_t held_until;
  int held_state;
  uv_timer_t hold;
  char *rest;
  size_t rest_len;
  bool reading;     /* uv_read_start is on */
  unsigned handles; /* open: pipe and two timers */
  struct ctl_client *prev, *next;
} ctl_client;

struct p2pc_ctl_server {
  p2pc_ctl_host h;
  uv_loop_t *loop;
  uv_pipe_t pipe;
  bool listening;
  bool closing;
  char *path;       /* the socket file, removed at close */
  p2pc_rng rng;     /* `simulate`: which peers get the messages */
  unsigned handles; /* open handles: the listener and every client's */
  unsigned nclients, nsubscribers;
  unsigned nheld; /* connections holding a send */
  ctl_client *clients;
  char chunk[4096]; /* every read lands here before it is split in lines */
};

/* server.c: queues one line (newline included) for cc; a connection that
 * would hold more than P2PC_CTL_OUTPUT_MAX unsent bytes is cut off. */
void p2pc_ctl_out(ctl_client *cc, const char *line, size_t len);
/* An answer object as one line (deleting it). */
void p2pc_ctl_answer(ctl_client *cc, cJSON *ans);
/* {"ok":false,"error":"<prefix><detail>"} */
cJSON *p2pc_ctl_err(const char *prefix, const char *detail);

/* stream.c: carries out a validated subscribe on cc (answers it). */
void p2pc_ctl_subscribe(p2pc_ctl_server *s, ctl_client *cc, const cJSON *req);

/* What a held send's lookup said: nothing yet, found, not found. */
enum { HELD_WAIT, HELD_FOUND, HELD_NOTFOUND };

/* server.c: the lookup of id ended (the RESOLVED event): the sends held
 * for it go on (or fail) at the loop's next turn. */
void p2pc_ctl_held_resolved(p2pc_ctl_server *s, const char *id, bool ok);

/* commands.c: a validated request other than subscribe. With again not
 * NULL, a send to a node being looked up (P2PC_ERR_AGAIN) returns NULL
 * and sets *again (nothing was sent); else it is answered as an error. */
cJSON *p2pc_ctl_run(p2pc_ctl_server *s, const p2pc_ctl_request *r,
                    const cJSON *req, bool *again);
/* The answer to a held send that cannot go: its lookup found no node
 * (notfound) or did not end in time. */
cJSON *p2pc_ctl_held_error(const char *to, bool notfound);

#endif /* P2PC_CTL_SERVER_INT_H */
