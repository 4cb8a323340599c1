/* SPDX-License-Identifier: MIT */
/*
 * The p2pclock peer of bench/throughput: two real nodes (the libuv runtime
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
#include "peer_common.h"
#include "runtime.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bench {
  struct peer_args a;
  uint8_t *payload;
  uint64_t done;   /* delivered (pull/rep/req) or sent (push) */
  int64_t t0;      /* first delivery (pull) */
  int64_t sent_at; /* req: the message in flight */
  bool in_flight;
  int64_t *rtts;
  size_t nrtt;
  bool finished;
} bench;

static void finish(p2pc_rt *rt, bench *b, int status) {
  if (!b->finished) {
    b->finished = true;
    p2pc_rt_stop(rt, status);
  }
}

static void on_started(p2pc_rt *rt, void *ud) {
  bench *b = ud;
  if (b->a.mode == PEER_PULL || b->a.mode == PEER_REP)
    peer_print_port(p2pc_rt_port(rt));
}

static void on_deliver(p2pc_rt *rt, void *ud, const char *from, const char *msg,
                       const uint8_t *p, size_t len) {
  bench *b = ud;
  (void)msg;
  if (len != b->a.size) {
    fprintf(stderr, "p2p_bench: a message of %zu bytes, expected %zu\n", len,
            b->a.size);
    finish(rt, b, 1);
    return;
  }
  switch (b->a.mode) {
  case PEER_PULL:
    if (b->done++ == 0)
      b->t0 = peer_now_ns();
    if (b->done == b->a.count) {
      peer_report_throughput(&b->a, peer_now_ns() - b->t0);
      finish(rt, b, 0);
    }
    break;
  case PEER_REP:
    /* The echo is one more causal message, from the node that delivered. */
    if (p2pc_node_send(p2pc_rt_node(rt), from, p, len, p2pc_rt_now(rt), NULL) != 0) {
      fprintf(stderr, "p2p_bench: cannot answer\n");
      finish(rt, b, 1);
    } else if (++b->done == b->a.count) {
      finish(rt, b, 0);
    }
    break;
  case PEER_REQ:
    if (b->in_flight) {
      b->in_flight = false;
      if (b->done >= peer_rtt_warmup(&b->a))
        b->rtts[b->nrtt++] = peer_now_ns() - b->sent_at;
      if (++b->done == b->a.count) {
        peer_report_rtt(&b->a, b->rtts, b->nrtt, peer_rtt_warmup(&b->a));
        finish(rt, b, 0);
      }
    }
    break;
  case PEER_PUSH:
    break;
  }
}

/* Each loop turn: check the deadline; the senders send what they can. */
static void on_turn(p2pc_rt *rt, void *ud) {
  bench *b = ud;
  if (b->finished)
    return;
  if (peer_now_ns() > b->a.deadline_ns) {
    fprintf(stderr,
            "p2p_bench: timed out after %" PRIu64 " of %" PRIu64 " messages\n",
            b->done, b->a.count);
    finish(rt, b, 2);
    return;
  }
  p2pc_node *n = p2pc_rt_node(rt);
  if (b->a.mode == PEER_PUSH) {
    while (b->done < b->a.count) {
      int rv =
          p2pc_node_send(n, "bench-a", b->payload, b->a.size, p2pc_rt_now(rt), NULL);
      if (rv == P2PC_ERR_FULL || rv == P2PC_ERR_NOTFOUND)
        break; /* wait for acks, or for the session */
      if (rv != 0) {
        fprintf(stderr, "p2p_bench: send: %s\n", p2pc_strerror(rv));
        finish(rt, b, 1);
        return;
      }
      b->done++;
    }
    /* Done once the receiver has acknowledged everything. */
    p2pc_peer_info pi;
    if (b->done == b->a.count && p2pc_node_peer_info(n, 0, &pi) &&
        pi.unacked == 0)
      finish(rt, b, 0);
  } else if (b->a.mode == PEER_REQ && !b->in_flight) {
    b->sent_at = peer_now_ns();
    if (p2pc_node_send(n, "bench-a", b->payload, b->a.size, p2pc_rt_now(rt), NULL) ==
        0)
      b->in_flight = true;
  }
}

int main(int argc, char **argv) {
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
  p2pc_rt_peer peer = {.port = (uint16_t)b.a.port};
  strcpy(peer.id, "bench-a");
  strcpy(peer.host, "127.0.0.1");
  p2pc_rt_app app = {on_started, on_deliver, on_turn, &b};
  p2pc_rt_options opt = {
      .id = server ? "bench-a" : "bench-b",
      .listen_host = "127.0.0.1",
      .listen_port = server ? (uint16_t)b.a.port : 0,
      .peers = server ? NULL : &peer,
      .npeers = server ? 0 : 1,
      .log_level = getenv("P2P_BENCH_DEBUG") ? P2PC_LOG_DEBUG : P2PC_LOG_WARN,
      .max_peers = 4,
      .app = &app,
  };
  int rc = p2pc_rt_run(&opt);
  free(b.payload);
  free(b.rtts);
  return rc;
}
