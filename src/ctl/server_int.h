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
  unsigned handles; /* open: pipe and timer */
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

/* commands.c: a validated request other than subscribe. */
cJSON *p2pc_ctl_run(p2pc_ctl_server *s, const p2pc_ctl_request *r,
                    const cJSON *req);

#endif /* P2PC_CTL_SERVER_INT_H */
