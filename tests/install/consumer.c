/* SPDX-License-Identifier: MIT */
/*
 * A program from outside the tree, built against the INSTALLED library
 * (ctest install_consumer: `cc consumer.c $(pkg-config --cflags --libs
 * p2pclock)`): two nodes on its own libuv loop, a message from b to a
 * received through the event callback with the id the send returned, the
 * network time read as an interval once a's clock is synchronized
 * (P2PC_EVENT_CLOCK_SYNCED), and a clean close. A timer on the
 * loop is the deadline: if it fires first, the program fails. Nothing is
 * judged by the wall clock.
 */
#include <p2pclock/uv.h>
#include <signal.h>

#include <stdio.h>
#include <string.h>

#define DEADLINE_MS 20000

typedef struct app {
  uv_loop_t loop;
  uv_timer_t deadline;
  p2pc_uv *a, *b;
  int b_up;         /* b's link to a is up */
  p2pc_msgid sent;  /* what b's send returned */
  int got;          /* deliveries at a of that message */
  int synced;       /* a's clock is synchronized */
  int closed;       /* bindings closed */
  const char *fail; /* why it failed, or NULL */
} app;

static const char text[] = "hello from outside the tree";

static void on_closed(void *ud) {
  app *x = ud;
  if (++x->closed == 2)
    uv_close((uv_handle_t *)&x->deadline, NULL);
}

/* Closing is not done from inside an event callback: the deadline timer
 * is re-armed to fire at once and closes both bindings. */
static void do_close(uv_timer_t *t) {
  app *x = t->data;
  p2pc_uv_close(x->a, on_closed, x);
  p2pc_uv_close(x->b, on_closed, x);
}

static void finish(app *x, const char *fail) {
  if (!x->fail)
    x->fail = fail;
  uv_timer_start(&x->deadline, do_close, 0, 0);
}

static void on_deadline(uv_timer_t *t) {
  app *x = t->data;
  x->fail = "deadline passed before the message arrived";
  do_close(t);
}

static void read_time(app *x) {
  p2pc_time t;
  p2pc_uv_time(x->a, &t);
  if (t.earliest_ns > t.latest_ns || t.hlc == 0) {
    finish(x, "bad time interval");
    return;
  }
  if (t.synced && !(t.earliest_ns <= t.now_ns && t.now_ns <= t.latest_ns)) {
    finish(x, "estimate outside its interval");
    return;
  }
  printf("consumer: network time %lld ns, interval [%lld, %lld], %s\n",
         (long long)t.now_ns, (long long)t.earliest_ns, (long long)t.latest_ns,
         t.synced ? "synced" : "not synced yet");
  finish(x, NULL);
}

static void on_event_a(void *ud, p2pc_node *n, const p2pc_event *ev) {
  app *x = ud;
  (void)n;
  if (ev->type == P2PC_EVENT_CLOCK_SYNCED && !x->synced) {
    x->synced = 1;
    if (x->got)
      read_time(x);
    return;
  }
  if (ev->type != P2PC_EVENT_DELIVERED)
    return;
  char id[P2PC_MSGID_TEXT_MAX];
  p2pc_msgid_format(&ev->msg, id, sizeof id);
  printf("consumer: a got %s from %s: %.*s\n", id, ev->peer, (int)ev->len,
         (const char *)ev->payload);
  if (strcmp(ev->msg.node, x->sent.node) != 0 ||
      ev->msg.session != x->sent.session || ev->msg.seq != x->sent.seq ||
      ev->len != strlen(text) || memcmp(ev->payload, text, ev->len) != 0) {
    finish(x, "delivered message differs from the one sent");
    return;
  }
  if (++x->got == 1 && x->synced)
    read_time(x);
}

static void on_event_b(void *ud, p2pc_node *n, const p2pc_event *ev) {
  app *x = ud;
  (void)n;
  if (ev->type != P2PC_EVENT_PEER_UP || strcmp(ev->peer, "a") != 0 || x->b_up)
    return;
  x->b_up = 1;
  int rv =
      p2pc_uv_send(x->b, "a", (const uint8_t *)text, strlen(text), &x->sent);
  if (rv != 0) {
    fprintf(stderr, "consumer: send: %s\n", p2pc_errname(rv));
    finish(x, "send failed");
  }
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* the program's to decide (<p2pclock/uv.h>) */
  app x;
  memset(&x, 0, sizeof x);
  printf("consumer: libp2pclock %s (compiled against %s)\n",
         p2pc_version_string(), P2PC_VERSION_STRING);
  if (p2pc_version() != P2PC_VERSION_NUM)
    return 1;
  if (uv_loop_init(&x.loop) != 0)
    return 1;

  p2pc_uv_settings s;
  p2pc_uv_settings_default(&s);
  s.node.id = "a";
  s.listen_host = "127.0.0.1";
  s.listen_port = 0; /* any free port */
  int rv = p2pc_uv_open(&x.a, &x.loop, &s, on_event_a, &x);
  if (rv != 0) {
    fprintf(stderr, "consumer: open a: %s\n", p2pc_errname(rv));
    return 1;
  }
  p2pc_uv_peer peer = {.id = "a", .host = "127.0.0.1"};
  peer.port = p2pc_uv_port(x.a);
  s.node.id = "b";
  s.peers = &peer;
  s.npeers = 1;
  rv = p2pc_uv_open(&x.b, &x.loop, &s, on_event_b, &x);
  if (rv != 0) {
    fprintf(stderr, "consumer: open b: %s\n", p2pc_errname(rv));
    return 1;
  }

  uv_timer_init(&x.loop, &x.deadline);
  x.deadline.data = &x;
  uv_timer_start(&x.deadline, on_deadline, DEADLINE_MS, 0);

  uv_run(&x.loop, UV_RUN_DEFAULT); /* until both are closed */
  if (uv_loop_close(&x.loop) != 0) {
    fprintf(stderr, "consumer: handles left on the loop\n");
    return 1;
  }
  if (x.fail || x.got != 1) {
    fprintf(stderr, "consumer: FAILED: %s\n", x.fail ? x.fail : "no message");
    return 1;
  }
  printf("consumer: OK\n");
  return 0;
}
