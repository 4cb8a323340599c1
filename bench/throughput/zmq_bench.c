/* SPDX-License-Identifier: MIT */
/*
 * zmq_bench: the libzmq peer of bench/throughput, over tcp://127.0.0.1.
 *
 *   push/pull  one way, PUSH and PULL sockets with libzmq's defaults (one
 *              I/O thread, high-water mark 1000), as libzmq's own
 *              local_thr/remote_thr do: zmq_send from one buffer on the
 *              sender, zmq_msg_recv (checking each size) on the receiver.
 *   req/rep    ping-pong on REQ and REP sockets: the REP side sends every
 *              message back; the first COUNT/10 round trips are warm-up and
 *              not counted.
 *
 * `zmq_bench --version` prints the libzmq version in use. Command line and
 * output: peer_common.h. Receives and sends time out after 1 s so that
 * every loop comes back to check the run's deadline; the sender's linger
 * is what is left of it.
 */
#include "peer_common.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static void set_int(void *sock, int opt, int v, const char *what) {
  if (zmq_setsockopt(sock, opt, &v, sizeof v) != 0)
    peer_die("zmq_setsockopt(%s): %s", what, zmq_strerror(zmq_errno()));
}

static void *open_socket(void *ctx, int type) {
  void *s = zmq_socket(ctx, type);
  if (s == NULL)
    peer_die("zmq_socket: %s", zmq_strerror(zmq_errno()));
  set_int(s, ZMQ_RCVTIMEO, 1000, "ZMQ_RCVTIMEO");
  set_int(s, ZMQ_SNDTIMEO, 1000, "ZMQ_SNDTIMEO");
  return s;
}

/* ZMQ_BENCH_CURVE=1: CurveZMQ (RFC 26) on both ends, the peer of
 * p2pclock's secure links. Fixed test keys, the public halves derived. */
static const char server_secret[] = "0123456789abcdefghijklmnopqrstuvwxyz0123";
static const char client_secret[] = "abcdefghij0123456789klmnopqrst0123456789";

static bool curve(void) {
  const char *e = getenv("ZMQ_BENCH_CURVE");
  return e && strcmp(e, "1") == 0;
}

static void set_key(void *sock, int opt, const char *z85, const char *what) {
  if (zmq_setsockopt(sock, opt, z85, 40) != 0)
    peer_die("zmq_setsockopt(%s): %s", what, zmq_strerror(zmq_errno()));
}

static void curve_server(void *s) {
  if (!curve())
    return;
  set_int(s, ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER");
  set_key(s, ZMQ_CURVE_SECRETKEY, server_secret, "ZMQ_CURVE_SECRETKEY");
}

static void curve_client(void *s) {
  if (!curve())
    return;
  char server_public[41], client_public[41];
  if (zmq_curve_public(server_public, server_secret) != 0 ||
      zmq_curve_public(client_public, client_secret) != 0)
    peer_die("zmq_curve_public: %s (libzmq without CURVE?)",
             zmq_strerror(zmq_errno()));
  set_key(s, ZMQ_CURVE_SERVERKEY, server_public, "ZMQ_CURVE_SERVERKEY");
  set_key(s, ZMQ_CURVE_PUBLICKEY, client_public, "ZMQ_CURVE_PUBLICKEY");
  set_key(s, ZMQ_CURVE_SECRETKEY, client_secret, "ZMQ_CURVE_SECRETKEY");
}

/* Binds tcp://127.0.0.1:PORT ("*" for 0) and prints the port bound. */
static void bind_print(void *s, const struct peer_args *a) {
  char ep[64];
  curve_server(s);
  if (a->port == 0)
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:*");
  else
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", a->port);
  if (zmq_bind(s, ep) != 0)
    peer_die("zmq_bind %s: %s", ep, zmq_strerror(zmq_errno()));
  char last[256];
  size_t len = sizeof last;
  if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, last, &len) != 0)
    peer_die("ZMQ_LAST_ENDPOINT: %s", zmq_strerror(zmq_errno()));
  last[sizeof last - 1] = '\0';
  const char *colon = strrchr(last, ':');
  if (colon == NULL)
    peer_die("cannot find the port in '%s'", last);
  peer_print_port((unsigned)strtoul(colon + 1, NULL, 10));
}

static void connect_to(void *s, const struct peer_args *a) {
  char ep[64];
  curve_client(s);
  snprintf(ep, sizeof ep, "tcp://127.0.0.1:%u", a->port);
  if (zmq_connect(s, ep) != 0)
    peer_die("zmq_connect %s: %s", ep, zmq_strerror(zmq_errno()));
}

static int again(void) {
  int e = zmq_errno();
  return e == EAGAIN || e == EINTR;
}

static void send_buf(void *s, const struct peer_args *a, const void *buf) {
  while (zmq_send(s, buf, a->size, 0) < 0) {
    if (!again())
      peer_die("zmq_send: %s", zmq_strerror(zmq_errno()));
    peer_check_deadline(a, "sending");
  }
}

static void recv_msg(void *s, const struct peer_args *a, zmq_msg_t *m) {
  int rc;
  while ((rc = zmq_msg_recv(m, s, 0)) < 0) {
    if (!again())
      peer_die("zmq_msg_recv: %s", zmq_strerror(zmq_errno()));
    peer_check_deadline(a, "receiving");
  }
  if ((size_t)rc != a->size)
    peer_die("message of %d bytes, expected %zu", rc, a->size);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (p == NULL)
    peer_die("out of memory (%zu bytes)", n);
  return p;
}

static void run_pull(void *ctx, const struct peer_args *a) {
  void *s = open_socket(ctx, ZMQ_PULL);
  bind_print(s, a);
  zmq_msg_t m;
  zmq_msg_init(&m);
  int64_t t0 = 0;
  for (uint64_t i = 0; i < a->count; i++) {
    recv_msg(s, a, &m);
    if (i == 0)
      t0 = peer_now_ns();
  }
  int64_t t1 = peer_now_ns();
  zmq_msg_close(&m);
  peer_report_throughput(a, t1 - t0);
  set_int(s, ZMQ_LINGER, 0, "ZMQ_LINGER");
  zmq_close(s);
}

static void run_push(void *ctx, const struct peer_args *a) {
  void *s = open_socket(ctx, ZMQ_PUSH);
  connect_to(s, a);
  uint8_t *buf = xmalloc(a->size);
  memset(buf, 0xa5, a->size);
  for (uint64_t i = 0; i < a->count; i++)
    send_buf(s, a, buf);
  /* zmq_ctx_term waits up to the linger for the queue to drain. */
  set_int(s, ZMQ_LINGER, peer_remaining_ms(a), "ZMQ_LINGER");
  zmq_close(s);
  free(buf);
}

static void run_rep(void *ctx, const struct peer_args *a) {
  void *s = open_socket(ctx, ZMQ_REP);
  bind_print(s, a);
  zmq_msg_t m;
  zmq_msg_init(&m);
  for (uint64_t i = 0; i < a->count; i++) {
    recv_msg(s, a, &m);
    while (zmq_msg_send(&m, s, 0) < 0) {
      if (!again())
        peer_die("zmq_msg_send: %s", zmq_strerror(zmq_errno()));
      peer_check_deadline(a, "sending");
    }
  }
  zmq_msg_close(&m);
  /* Let the last reply go out before the context ends. */
  set_int(s, ZMQ_LINGER, peer_remaining_ms(a), "ZMQ_LINGER");
  zmq_close(s);
}

static void run_req(void *ctx, const struct peer_args *a) {
  void *s = open_socket(ctx, ZMQ_REQ);
  connect_to(s, a);
  uint8_t *out = xmalloc(a->size);
  memset(out, 0x5a, a->size);
  uint64_t warmup = peer_rtt_warmup(a);
  int64_t *samples = xmalloc((size_t)(a->count - warmup) * sizeof *samples);
  size_t n = 0;
  zmq_msg_t m;
  zmq_msg_init(&m);
  for (uint64_t i = 0; i < a->count; i++) {
    int64_t t0 = peer_now_ns();
    send_buf(s, a, out);
    recv_msg(s, a, &m);
    int64_t t1 = peer_now_ns();
    if (memcmp(zmq_msg_data(&m), out, a->size) != 0)
      peer_die("echo differs from the request");
    if (i >= warmup)
      samples[n++] = t1 - t0;
  }
  zmq_msg_close(&m);
  set_int(s, ZMQ_LINGER, 0, "ZMQ_LINGER");
  zmq_close(s);
  peer_report_rtt(a, samples, n, warmup);
  free(samples);
  free(out);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    printf("libzmq %d.%d.%d\n", major, minor, patch);
    return 0;
  }
  struct peer_args a;
  peer_parse_args(&a, argc, argv, "zmq_bench");
  void *ctx = zmq_ctx_new();
  if (ctx == NULL)
    peer_die("zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
  switch (a.mode) {
  case PEER_PULL:
    run_pull(ctx, &a);
    break;
  case PEER_PUSH:
    run_push(ctx, &a);
    break;
  case PEER_REP:
    run_rep(ctx, &a);
    break;
  case PEER_REQ:
    run_req(ctx, &a);
    break;
  }
  zmq_ctx_term(ctx);
  return 0;
}
