/* SPDX-License-Identifier: MIT */
/*
 * The control-socket server (docs/CONTROL.md): one JSON request per line
 * on a Unix socket, one JSON answer per line, and the command handlers
 * behind it, which the node's console uses too. It runs on the caller's
 * libuv loop and reaches the node only through its host (below), so it
 * knows nothing of how the node is driven.
 */
#ifndef P2PC_CTL_SERVER_H
#define P2PC_CTL_SERVER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "node.h"

/* A cluster key's fingerprint, hex digits ("keys"). */
#define P2PC_CTL_FP_LEN 16

/* The I/O layer's view of the time socket, for "tracking". */
typedef struct p2pc_ctl_io {
  const char *timestamping; /* "user", "kernel-rx", "kernel-rx-tx", "none" */
  uint16_t time_port;       /* 0: no time socket */
  uint64_t rx_kernel, rx_user, tx_kernel, tx, tx_timed, tx_errors;
  uint64_t poll_errors;
} p2pc_ctl_io;

/* What the commands need from whoever runs the node. Every callback gets
 * ud; none may be NULL. */
typedef struct p2pc_ctl_host {
  void *ud;
  const char *id;          /* this node's ID */
  const char *listen_host; /* as configured, for "status" */
  uint64_t start_mono;     /* monotonic ns at start, for "uptime_ms" */
  p2pc_node *(*node)(void *ud);
  p2pc_now (*now)(void *ud); /* this loop turn's clock readings */
  uint16_t (*port)(void *ud);
  uint64_t (*delivered)(void *ud); /* messages delivered so far */
  /* Carries out what the node asked for during the requests just handled
   * (dials, closes, output). */
  void (*flush)(void *ud);
  /* A "stop" request: begin a polite stop. */
  void (*stop)(void *ud);
  /* An address as "peers" shows it (a peer configured by name shows as
   * its name). */
  void (*format_addr)(void *ud, const p2pc_addr *a, char *s, size_t cap);
  void (*io)(void *ud, p2pc_ctl_io *io);
  /* The virtual clock: false if there is none; else its offset (local -
   * real, s) and drift (ppm) now. */
  bool (*vclock_get)(void *ud, double *offset_s, double *drift_ppm);
  /* As p2pc_uv_vclock_adjust: 0 or P2PC_ERR_INVAL. */
  int (*vclock_adjust)(void *ud, bool step, double step_s, bool drift,
                       double drift_ppm);
  /* "keys" (docs/SECURITY.md, "Rotating the cluster key"): applies op
   * ("list", "install", "use", "remove") with key (NULL, a key's base64
   * or a fingerprint) to the node's keyring, live and in its file, and
   * gives the fingerprints of the ring now, primary first (*n of them).
   * Returns 0, or -1 with one line in err. */
  int (*keys)(void *ud, const char *op, const char *key,
              char fps[P2PC_KEYRING_MAX][P2PC_CTL_FP_LEN + 1], size_t *n,
              char *err, size_t cap);
  p2pc_logger logger; /* "time: virtual clock ..." after a vclock request */
} p2pc_ctl_host;

typedef struct p2pc_ctl_server p2pc_ctl_server;

/* A server on loop for host (copied), not listening yet; seed drives
 * "simulate"'s choice of peers. Returns 0 or P2PC_ERR_NOMEM. */
int p2pc_ctl_server_new(p2pc_ctl_server **out, uv_loop_t *loop,
                        const p2pc_ctl_host *host, uint64_t seed);
/* Listens on the Unix socket path, mode 0600 whatever the umask. A socket
 * file left by a node that is gone is replaced; a live one is refused.
 * Returns 0, or -1 with one line (no newline) in err. */
int p2pc_ctl_server_listen(p2pc_ctl_server *s, const char *path, char *err,
                           size_t cap);
/* Carries out one request; returns the answer (the caller's to delete).
 * The caller calls host->flush afterwards. */
cJSON *p2pc_ctl_server_command(p2pc_ctl_server *s, const cJSON *req);
/* An event of the node, for the subscribers (docs/CONTROL.md, subscribe):
 * call it from the node's event callback, for every event. s NULL: a
 * no-op. */
void p2pc_ctl_server_event(p2pc_ctl_server *s, const p2pc_event *ev);
/* Stops listening (removing the socket file) and closes every client;
 * frees the server once its handles are closed (the caller runs the
 * loop). NULL is a no-op. */
void p2pc_ctl_server_close(p2pc_ctl_server *s);

#endif /* P2PC_CTL_SERVER_H */
