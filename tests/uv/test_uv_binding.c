/* SPDX-License-Identifier: MIT */
/*
 * The libuv binding on the test's own loop (<p2pclock/uv.h>): two nodes
 * on 127.0.0.1 with kernel-chosen ports find each other, a message goes
 * from one to the other and arrives through the event callback with the
 * id the send returned, the network time reads as an interval, and after
 * close the loop has nothing left (uv_loop_close returns 0) and every
 * byte the binding allocated is freed. Then the errors: bad settings, a
 * port already taken. Waits are bounded by loop turns and by a timer on
 * the loop, never judged by the wall clock.
 */
#include <p2pclock/uv.h>
#include <signal.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c)) {                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);    \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

/* Counts what the binding and its node hold, to prove close frees all. */
typedef struct counting {
  long live;
  long total;
} counting;

static void *c_realloc(void *p, size_t n, void *ud) {
  counting *c = ud;
  if (!p && n) {
    c->live++;
    c->total++;
  }
  return realloc(p, n);
}

static void c_free(void *p, void *ud) {
  counting *c = ud;
  if (p)
    c->live--;
  free(p);
}

typedef struct app {
  const char *name;
  p2pc_uv *u;
  int peers_up;
  int delivered;
  p2pc_msgid got;
  char payload[64];
  size_t len;
  bool closed;
  int sent;          /* SENT events so far */
  int sent_flushed;  /* SENT events before the last before_output call */
  struct app *other; /* the other node (before_output order) */
  int other_sent_flushed_at_delivery;
} app;

/* settings.before_output: what an event log would flush. */
static void before_output(void *ud) {
  app *a = ud;
  a->sent_flushed = a->sent;
}

static void on_event(void *ud, p2pc_node *n, const p2pc_event *ev) {
  app *a = ud;
  CHECK(n != NULL);
  if (ev->type == P2PC_EVENT_PEER_UP) {
    a->peers_up++;
  } else if (ev->type == P2PC_EVENT_SENT) {
    a->sent++;
  } else if (ev->type == P2PC_EVENT_DELIVERED) {
    if (a->other)
      a->other_sent_flushed_at_delivery = a->other->sent_flushed;
    a->delivered++;
    a->got = ev->msg;
    CHECK(ev->len < sizeof a->payload);
    memcpy(a->payload, ev->payload, ev->len);
    a->len = ev->len;
  }
}

static void on_log(void *ud, p2pc_log_level lv, const char *text) {
  (void)ud;
  if (getenv("TEST_UV_VERBOSE") || lv == P2PC_LOG_ERROR)
    fprintf(stderr, "  log %s: %s\n", p2pc_log_level_name(lv), text);
}

static void on_closed(void *ud) {
  app *a = ud;
  /* The node is still readable here, the last time. */
  CHECK(strcmp(p2pc_node_name(p2pc_uv_node(a->u)), a->name) == 0);
  a->closed = true;
}

static bool timed_out;
static void on_timeout(uv_timer_t *t) {
  (void)t;
  timed_out = true;
}

/* Runs the loop until *flag or the watchdog; bounded in turns too. */
static bool run_until(uv_loop_t *loop, bool (*done)(void *), void *arg) {
  for (int i = 0; i < 100000 && !timed_out; i++) {
    if (done(arg))
      return true;
    uv_run(loop, UV_RUN_ONCE);
  }
  return done(arg);
}

static bool both_up(void *arg) {
  app *x = arg;
  return x[0].peers_up > 0 && x[1].peers_up > 0;
}

static bool delivered(void *arg) { return ((app *)arg)->delivered > 0; }

static bool both_closed(void *arg) {
  app *x = arg;
  return x[0].closed && x[1].closed;
}

static void settings(p2pc_uv_settings *s, const char *id, counting *c,
                     p2pc_allocator *al) {
  p2pc_uv_settings_default(s);
  s->node.id = id;
  s->node.logger = (p2pc_logger){on_log, NULL, P2PC_LOG_INFO};
  al->realloc = c_realloc;
  al->free = c_free;
  al->ud = c;
  s->node.alloc = al;
  s->listen_host = "127.0.0.1";
  s->listen_port = 0;
}

static void test_two_nodes(void) {
  uv_loop_t loop;
  CHECK(uv_loop_init(&loop) == 0);
  counting cnt = {0};
  p2pc_allocator al;
  app x[2] = {{.name = "uv-a"}, {.name = "uv-b"}};

  x[0].other = &x[1];
  x[1].other = &x[0];
  p2pc_uv_settings sa, sb;
  settings(&sa, "uv-a", &cnt, &al);
  sa.before_output.fn = before_output;
  sa.before_output.ud = &x[0];
  CHECK(p2pc_uv_open(&x[0].u, &loop, &sa, on_event, &x[0]) == 0);
  uint16_t pa = p2pc_uv_port(x[0].u);
  CHECK(pa != 0);

  p2pc_uv_peer peer = {.port = pa};
  strcpy(peer.id, "uv-a");
  strcpy(peer.host, "127.0.0.1");
  settings(&sb, "uv-b", &cnt, &al);
  sb.peers = &peer;
  sb.npeers = 1;
  sb.before_output.fn = before_output;
  sb.before_output.ud = &x[1];
  CHECK(p2pc_uv_open(&x[1].u, &loop, &sb, on_event, &x[1]) == 0);
  CHECK(p2pc_uv_port(x[1].u) != 0 && p2pc_uv_port(x[1].u) != pa);
  CHECK(strcmp(p2pc_node_name(p2pc_uv_node(x[1].u)), "uv-b") == 0);

  uv_timer_t watchdog;
  uv_timer_init(&loop, &watchdog);
  uv_timer_start(&watchdog, on_timeout, 20000, 0);
  uv_unref((uv_handle_t *)&watchdog);

  CHECK(run_until(&loop, both_up, x));

  static const char text[] = "hello over uv";
  p2pc_msgid id;
  CHECK(p2pc_uv_send(x[1].u, "uv-a", (const uint8_t *)text, strlen(text),
                     &id) == 0);
  CHECK(strcmp(id.node, "uv-b") == 0 && id.seq >= 1);
  CHECK(run_until(&loop, delivered, &x[0]));
  CHECK(x[0].delivered == 1);
  /* b's SENT event had been "flushed" before its DATA reached a. */
  CHECK(x[1].sent >= 1 && x[0].other_sent_flushed_at_delivery >= 1);
  CHECK(strcmp(x[0].got.node, id.node) == 0);
  CHECK(x[0].got.session == id.session && x[0].got.seq == id.seq);
  CHECK(x[0].len == strlen(text) && memcmp(x[0].payload, text, x[0].len) == 0);
  CHECK(x[1].delivered == 0);

  for (int i = 0; i < 2; i++) {
    p2pc_time t;
    p2pc_uv_time(x[i].u, &t);
    if (t.synced)
      CHECK(t.earliest_ns <= t.now_ns && t.now_ns <= t.latest_ns &&
            t.earliest_ns > INT64_MIN && t.latest_ns < INT64_MAX);
    else
      CHECK(t.earliest_ns == INT64_MIN && t.latest_ns == INT64_MAX);
    CHECK(t.hlc != 0);
    p2pc_now now = p2pc_uv_now(x[i].u);
    CHECK(now.mono_ns != 0 && now.local_ns != 0);
  }
  /* Links in clear: no keyring to change. */
  const uint8_t ring1[1][32] = {{1}};
  CHECK(p2pc_uv_keyring_set(x[0].u, ring1, 1) == P2PC_ERR_INVAL);
  /* No virtual clock here. */
  double off, drift;
  CHECK(!p2pc_uv_vclock_get(x[0].u, &off, &drift));
  CHECK(p2pc_uv_vclock_adjust(x[0].u, true, 1.0, false, 0) == P2PC_ERR_INVAL);

  p2pc_uv_close(x[0].u, on_closed, &x[0]);
  p2pc_uv_close(x[1].u, on_closed, &x[1]);
  CHECK(p2pc_uv_send(x[1].u, "uv-a", (const uint8_t *)"x", 1, NULL) ==
        P2PC_ERR_CLOSED);
  CHECK(run_until(&loop, both_closed, x));
  uv_close((uv_handle_t *)&watchdog, NULL);
  /* Nothing of the binding is left on the loop. */
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&loop) == 0);
  CHECK(cnt.total > 0);
  CHECK(cnt.live == 0);
  CHECK(!timed_out);
}

static void test_errors(void) {
  uv_loop_t loop;
  CHECK(uv_loop_init(&loop) == 0);
  counting cnt = {0};
  p2pc_allocator al;
  app a = {.name = "uv-e"};
  p2pc_uv_settings s;
  p2pc_uv *u = NULL;

  settings(&s, "bad id!", &cnt, &al);
  CHECK(p2pc_uv_open(&u, &loop, &s, on_event, &a) == P2PC_ERR_INVAL);
  CHECK(u == NULL);
  settings(&s, "uv-e", &cnt, &al);
  s.vclock.enabled = true;
  s.vclock.drift_ppm = 5000;
  CHECK(p2pc_uv_open(&u, &loop, &s, on_event, &a) == P2PC_ERR_INVAL);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);

  /* A port already taken: -EADDRINUSE, and nothing left behind. */
  settings(&s, "uv-e", &cnt, &al);
  s.node.clock.enabled = false;
  p2pc_uv *first = NULL;
  CHECK(p2pc_uv_open(&first, &loop, &s, on_event, &a) == 0);
  settings(&s, "uv-f", &cnt, &al);
  s.listen_port = p2pc_uv_port(first);
  int rv = p2pc_uv_open(&u, &loop, &s, on_event, &a);
  CHECK(rv == -EADDRINUSE);
  CHECK(strcmp(p2pc_errname(rv), "EADDRINUSE") == 0);
  CHECK(u == NULL);

  /* A virtual clock: readable and adjustable. */
  settings(&s, "uv-v", &cnt, &al);
  s.node.clock.enabled = false;
  s.vclock.enabled = true;
  s.vclock.offset_s = 2.5;
  CHECK(p2pc_uv_open(&u, &loop, &s, on_event, &a) == 0);
  double off = 0, drift = 1;
  CHECK(p2pc_uv_vclock_get(u, &off, &drift));
  CHECK(off > 2.4 && off < 2.6 && drift == 0);
  CHECK(p2pc_uv_vclock_adjust(u, true, -1.0, true, 10) == 0);
  CHECK(p2pc_uv_vclock_get(u, &off, &drift));
  CHECK(off > 1.4 && off < 1.6 && drift == 10);
  CHECK(p2pc_uv_vclock_adjust(u, false, 0, true, 2000) == P2PC_ERR_INVAL);

  a.u = first;
  p2pc_uv_close(first, NULL, NULL);
  p2pc_uv_close(u, NULL, NULL);
  p2pc_uv_close(u, NULL, NULL); /* a second close is a no-op */
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&loop) == 0);
  CHECK(cnt.live == 0);
}

/* Secure links with a keyring (settings V3): b holds only the key that a
 * has besides its primary, dials a, and links; a's ring changes live
 * (bad rings refused), and a fifth key at open is refused. */
static void test_secure_ring(void) {
  uv_loop_t loop;
  CHECK(uv_loop_init(&loop) == 0);
  counting cnt = {0};
  p2pc_allocator al;
  app x[2] = {{.name = "uv-r"}, {.name = "uv-s"}};
  x[0].other = &x[1];
  x[1].other = &x[0];
  p2pc_uv_settings sa, sb;
  settings(&sa, "uv-r", &cnt, &al);
  sa.secure.on = true;
  memset(sa.secure.identity, 0x11, 32);
  memset(sa.secure.cluster_key, 0xA1, 32);
  memset(sa.secure_ring.keys[0], 0xB2, 32);
  sa.secure_ring.n = 1;
  CHECK(p2pc_uv_open(&x[0].u, &loop, &sa, on_event, &x[0]) == 0);
  p2pc_uv_peer peer = {.port = p2pc_uv_port(x[0].u)};
  strcpy(peer.id, "uv-r");
  strcpy(peer.host, "127.0.0.1");
  settings(&sb, "uv-s", &cnt, &al);
  sb.secure.on = true;
  memset(sb.secure.identity, 0x22, 32);
  memset(sb.secure.cluster_key, 0xB2, 32);
  sb.peers = &peer;
  sb.npeers = 1;
  CHECK(p2pc_uv_open(&x[1].u, &loop, &sb, on_event, &x[1]) == 0);
  uv_timer_t watchdog;
  uv_timer_init(&loop, &watchdog);
  uv_timer_start(&watchdog, on_timeout, 20000, 0);
  uv_unref((uv_handle_t *)&watchdog);
  CHECK(run_until(&loop, both_up, x));

  uint8_t ring[P2PC_KEYRING_MAX + 1][32];
  for (int i = 0; i <= P2PC_KEYRING_MAX; i++)
    memset(ring[i], 0xC0 + i, 32);
  CHECK(p2pc_uv_keyring_set(x[0].u, (const uint8_t(*)[32])ring, 0) ==
        P2PC_ERR_INVAL);
  CHECK(p2pc_uv_keyring_set(x[0].u, (const uint8_t(*)[32])ring,
                            P2PC_KEYRING_MAX + 1) == P2PC_ERR_INVAL);
  memcpy(ring[1], ring[0], 32);
  CHECK(p2pc_uv_keyring_set(x[0].u, (const uint8_t(*)[32])ring, 2) ==
        P2PC_ERR_INVAL);
  memset(ring[1], 0xB2, 32);
  CHECK(p2pc_uv_keyring_set(x[0].u, (const uint8_t(*)[32])ring, 2) == 0);
  /* the link stays up through it */
  static const char text[] = "after the change";
  CHECK(p2pc_uv_send(x[1].u, "uv-r", (const uint8_t *)text, strlen(text),
                     NULL) == 0);
  CHECK(run_until(&loop, delivered, &x[0]));

  p2pc_uv_close(x[0].u, on_closed, &x[0]);
  p2pc_uv_close(x[1].u, on_closed, &x[1]);
  CHECK(run_until(&loop, both_closed, x));
  /* a fifth key at open: refused */
  p2pc_uv *u = NULL;
  sa.secure_ring.n = P2PC_KEYRING_MAX;
  CHECK(p2pc_uv_open(&u, &loop, &sa, on_event, &x[0]) == P2PC_ERR_INVAL);
  CHECK(u == NULL);
  uv_close((uv_handle_t *)&watchdog, NULL);
  CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
  CHECK(uv_loop_close(&loop) == 0);
  CHECK(cnt.live == 0);
  CHECK(!timed_out);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* the program's to decide (<p2pclock/uv.h>) */
  test_two_nodes();
  test_errors();
  test_secure_ring();
  printf("test_uv_binding: ok\n");
  return 0;
}
