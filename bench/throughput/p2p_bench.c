/* SPDX-License-Identifier: MIT */
/*
 * The p2pclock peer of bench/throughput: two real nodes (the libuv binding
 * and the full core: handshake, sessions with acks, SES), speaking the same
 * command line and output as tcp_bench and zmq_bench (peer_common.h). A
 * message counts when the receiving node's SES layer delivers it, after the
 * causal delivery condition, not when its bytes arrive.
 *
 *   p2p_bench pull|rep PORT SIZE COUNT [TIMEOUT_S]   node "bench-a"
 *   p2p_bench push|req PORT SIZE COUNT [TIMEOUT_S]   node "bench-b"
 *
 * push sends as fast as back-pressure allows (P2PC_ERR_FULL: wait for acks);
 * req sends one message, waits for the echo, and times the round trip.
 */
#include "node.h"
#include "peer_common.h"

#include <inttypes.h>
#include <p2pclock/uv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bench {
  struct peer_args a;
  uv_loop_t loop;
  p2pc_uv *u;
  uv_check_t turn; /* after every loop turn's I/O: send what can go */
  uint8_t *payload;
  uint64_t done;   /* delivered (pull/rep/req) or sent (push) */
  int64_t t0;      /* first delivery (pull) */
  int64_t sent_at; /* req: the message in flight */
  bool in_flight;
  int64_t *rtts;
  size_t nrtt;
  bool finished;
  int status;
} bench;

/* Leaves politely; the loop ends when the binding is closed. */
static void finish(bench *b, int status) {
  if (!b->finished) {
    b->finished = true;
    b->status = status;
    uv_close((uv_handle_t *)&b->turn, NULL);
    p2pc_uv_close(b->u, NULL, NULL);
  }
}

static void on_delivered(bench *b, const p2pc_event *ev) {
  if (ev->len != b->a.size) {
    fprintf(stderr, "p2p_bench: a message of %zu bytes, expected %zu\n",
            ev->len, b->a.size);
    finish(b, 1);
    return;
  }
  switch (b->a.mode) {
  case PEER_PULL:
    if (b->done++ == 0)
      b->t0 = peer_now_ns();
    if (b->done == b->a.count) {
      peer_report_throughput(&b->a, peer_now_ns() - b->t0);
      finish(b, 0);
    }
    break;
  case PEER_REP:
    /* The echo is one more causal message, from the node that delivered. */
    if (p2pc_uv_send(b->u, ev->msg.node, ev->payload, ev->len, NULL) != 0) {
      fprintf(stderr, "p2p_bench: cannot answer\n");
      finish(b, 1);
    } else if (++b->done == b->a.count) {
      finish(b, 0);
    }
    break;
  case PEER_REQ:
    if (b->in_flight) {
      b->in_flight = false;
      if (b->done >= peer_rtt_warmup(&b->a))
        b->rtts[b->nrtt++] = peer_now_ns() - b->sent_at;
      if (++b->done == b->a.count) {
        peer_report_rtt(&b->a, b->rtts, b->nrtt, peer_rtt_warmup(&b->a));
        finish(b, 0);
      }
    }
    break;
  case PEER_PUSH:
    break;
  }
}

static void on_event(void *ud, p2pc_node *n, const p2pc_event *ev) {
  bench *b = ud;
  (void)n;
  if (ev->type == P2PC_EVENT_DELIVERED && !b->finished)
    on_delivered(b, ev);
}

/* Each loop turn: check the deadline; the senders send what they can. */
static void on_turn(uv_check_t *h) {
  bench *b = h->data;
  if (b->finished)
    return;
  if (peer_now_ns() > b->a.deadline_ns) {
    p2pc_peer_info pi = {0};
    bool have = p2pc_node_peer_info(p2pc_uv_node(b->u), 0, &pi);
    fprintf(stderr,
            "p2p_bench: timed out after %" PRIu64 " of %" PRIu64
            " messages (peer %s: %" PRIu64 " unacknowledged)\n",
            b->done, b->a.count, have ? "known" : "unknown",
            have ? (uint64_t)pi.unacked : 0);
    finish(b, 2);
    return;
  }
  if (b->a.mode == PEER_PUSH) {
    while (b->done < b->a.count) {
      int rv = p2pc_uv_send(b->u, "bench-a", b->payload, b->a.size, NULL);
      if (rv == P2PC_ERR_FULL || rv == P2PC_ERR_NOTFOUND)
        break; /* wait for acks, or for the session */
      if (rv != 0) {
        fprintf(stderr, "p2p_bench: send: %s\n", p2pc_strerror(rv));
        finish(b, 1);
        return;
      }
      b->done++;
    }
    /* Done once the receiver has acknowledged everything. */
    p2pc_peer_info pi;
    if (b->done == b->a.count &&
        p2pc_node_peer_info(p2pc_uv_node(b->u), 0, &pi) && pi.unacked == 0)
      finish(b, 0);
  } else if (b->a.mode == PEER_REQ && !b->in_flight) {
    b->sent_at = peer_now_ns();
    if (p2pc_uv_send(b->u, "bench-a", b->payload, b->a.size, NULL) == 0)
      b->in_flight = true;
  }
}

static void on_log(void *ud, p2pc_log_level lv, const char *text) {
  (void)ud;
  fprintf(stderr, "p2p_bench: %s: %s\n", p2pc_log_level_name(lv), text);
}

int main(int argc, char **argv) {
  /* The other peer may close while we write: an error, not SIGPIPE (the
   * binding leaves the process's signals to the program). */
  signal(SIGPIPE, SIG_IGN);
  bench b = {0};
  peer_parse_args(&b.a, argc, argv, "p2p_bench");
  b.payload = calloc(1, b.a.size);
  if (b.a.mode == PEER_REQ)
    b.rtts = calloc((size_t)b.a.count, sizeof *b.rtts);
  if (!b.payload || (b.a.mode == PEER_REQ && !b.rtts))
    peer_die("out of memory");
  for (size_t i = 0; i < b.a.size; i++)
    b.payload[i] = (uint8_t)('a' + i % 26);
  bool server = b.a.mode == PEER_PULL || b.a.mode == PEER_REP;
  p2pc_uv_peer peer = {.port = (uint16_t)b.a.port};
  strcpy(peer.id, "bench-a");
  strcpy(peer.host, "127.0.0.1");
  p2pc_uv_settings s;
  p2pc_uv_settings_default(&s);
  s.node.id = server ? "bench-a" : "bench-b";
  s.node.max_peers = 4;
  s.node.logger = (p2pc_logger){
      on_log, NULL, getenv("P2P_BENCH_DEBUG") ? P2PC_LOG_DEBUG : P2PC_LOG_WARN};
  s.listen_host = "127.0.0.1";
  s.listen_port = server ? (uint16_t)b.a.port : 0;
  s.peers = server ? NULL : &peer;
  s.npeers = server ? 0 : 1;
  /* P2P_BENCH_SECURE=1: secure links (a cluster key, an identity each),
   * the peer of libzmq's CURVE. */
  const char *sec = getenv("P2P_BENCH_SECURE");
  if (sec && strcmp(sec, "1") == 0) {
    s.secure.on = true;
    memset(s.secure.cluster_key, 0x5a, sizeof s.secure.cluster_key);
    memset(s.secure.identity, server ? 0x11 : 0x22, sizeof s.secure.identity);
  }
  uv_loop_init(&b.loop);
  int rc = p2pc_uv_open(&b.u, &b.loop, &s, on_event, &b);
  if (rc == 0) {
    if (server)
      peer_print_port(p2pc_uv_port(b.u));
    uv_check_init(&b.loop, &b.turn);
    b.turn.data = &b;
    uv_check_start(&b.turn, on_turn);
  }
  uv_run(&b.loop, UV_RUN_DEFAULT);
  uv_loop_close(&b.loop);
  free(b.payload);
  free(b.rtts);
  return rc == 0 ? b.status : 1;
}
