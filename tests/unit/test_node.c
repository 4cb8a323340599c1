/* SPDX-License-Identifier: MIT */
/*
 * The node state machine under injected time, on an in-process network:
 * every DIAL becomes a pair of links between two cores, bytes move between
 * them each millisecond, and a test can cut, drop or partition. Covers the
 * handshake (version, duplicate IDs), one link per pair, peer exchange,
 * liveness and re-dial, reliable exactly-once delivery across link loss and
 * dropped frames, back-pressure, and a peer's restart as a new incarnation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node.h"

#define MAXN 12
#define MAXC 256
#define MS 1000000ull

typedef struct conn {
  bool up;
  int a, b; /* node indices; a dialed b */
  p2pc_link_id la, lb;
} conn;

typedef struct netnode {
  p2pc_node *n;
  bool alive;
  char id[16];
  uint64_t inc;
  /* what the application saw */
  char delivered[4096][40];
  int ndelivered;
  int undeliverable;
  int peer_up, peer_down;
  char last_error_log[256];
} netnode;

typedef struct net {
  netnode nodes[MAXN];
  int nn;
  conn conns[MAXC];
  int nc;
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
} net;

static p2pc_now now_of(const net *w) {
  p2pc_now t = {.mono_ns = w->now,
                .local_ns = 1700000000000000000 + (int64_t)w->now};
  return t;
}

static void cb_deliver(void *ud, const char *from, const char *msg,
                       const uint8_t *payload, size_t len) {
  netnode *x = ud;
  (void)from;
  (void)payload;
  (void)len;
  assert_true(x->ndelivered < 4096);
  snprintf(x->delivered[x->ndelivered++], 40, "%s", msg);
}

static void cb_event(void *ud, const char *line, size_t len) {
  netnode *x = ud;
  /* Every line is one JSON object with the common fields. */
  assert_true(len > 2 && line[0] == '{' && line[len - 1] == '}');
  assert_non_null(strstr(line, "\"mono\":"));
  if (strstr(line, "\"ev\":\"undeliverable\""))
    x->undeliverable++;
  if (strstr(line, "\"ev\":\"peer_up\""))
    x->peer_up++;
  if (strstr(line, "\"ev\":\"peer_down\""))
    x->peer_down++;
}

static void cb_log(void *ud, p2pc_log_level lv, const char *text) {
  netnode *x = ud;
  if (lv <= P2PC_LOG_WARN)
    snprintf(x->last_error_log, sizeof x->last_error_log, "%s", text);
  if (getenv("P2PC_TEST_LOG"))
    fprintf(stderr, "%s %d %s\n", x->id, lv, text);
}

static p2pc_wire_addr addr_of(int i) {
  p2pc_wire_addr a = {
      .family = 4, .addr = {127, 0, 0, (uint8_t)(i + 1)}, .port = 9000};
  return a;
}

static int node_at(const net *w, const p2pc_wire_addr *a) {
  if (a->family != 4 || a->addr[0] != 127 || a->port != 9000)
    return -1;
  int i = a->addr[3] - 1;
  return i >= 0 && i < w->nn ? i : -1;
}

typedef struct opts {
  const char *seeds; /* "1,2" indices of seeded nodes, with IDs */
  bool anon;         /* seeds without IDs */
  p2pc_node_config base;
} opts;

static void start_node(net *w, int i, const opts *o) {
  netnode *x = &w->nodes[i];
  p2pc_node_seed seeds[MAXN];
  uint32_t ns = 0;
  for (const char *s = o && o->seeds ? o->seeds : ""; *s; s++) {
    if (*s < '0' || *s > '9')
      continue;
    int k = *s - '0';
    memset(&seeds[ns], 0, sizeof seeds[ns]);
    if (!o->anon)
      snprintf(seeds[ns].id, sizeof seeds[ns].id, "N%d", k);
    seeds[ns++].addr = addr_of(k);
  }
  p2pc_node_config c = o ? o->base : (p2pc_node_config){0};
  snprintf(x->id, sizeof x->id, "N%d", i);
  c.id = x->id;
  c.incarnation = x->inc = w->now + 1000 + (uint64_t)i;
  c.seed = 42 + (uint64_t)i;
  c.listen = addr_of(i);
  c.seeds = seeds;
  c.nseeds = ns;
  p2pc_node_callbacks cb = {cb_deliver, cb_event, cb_log, x, P2PC_LOG_DEBUG};
  x->ndelivered = x->undeliverable = x->peer_up = x->peer_down = 0;
  assert_int_equal(p2pc_node_new(&x->n, &c, &cb, now_of(w)), 0);
  x->alive = true;
  if (i >= w->nn)
    w->nn = i + 1;
}

static conn *conn_of(net *w, int node, p2pc_link_id l) {
  for (int i = 0; i < w->nc; i++) {
    conn *c = &w->conns[i];
    if (c->up && ((c->a == node && c->la == l) || (c->b == node && c->lb == l)))
      return c;
  }
  return NULL;
}

static void conn_close(net *w, conn *c) {
  if (!c->up)
    return;
  c->up = false;
  if (w->nodes[c->a].alive)
    p2pc_node_link_closed(w->nodes[c->a].n, c->la, now_of(w));
  if (w->nodes[c->b].alive)
    p2pc_node_link_closed(w->nodes[c->b].n, c->lb, now_of(w));
}

static void complete_dial(net *w, int i, const p2pc_action *ap);

static void do_actions(net *w, int i) {
  p2pc_action a;
  netnode *x = &w->nodes[i];
  while (x->alive && p2pc_node_pop_action(x->n, &a)) {
    if (a.kind == P2PC_ACT_DIAL && w->dial_delay_ms[i]) {
      assert_true(w->npending < 64);
      w->pending[w->npending].from = i;
      w->pending[w->npending].a = a;
      w->pending[w->npending++].due = w->now + w->dial_delay_ms[i] * MS;
      continue;
    }
    if (a.kind == P2PC_ACT_DIAL) {
      complete_dial(w, i, &a);
      continue;
    }
    if (a.kind == P2PC_ACT_CLOSE) {
      conn *c = conn_of(w, i, a.link);
      if (c) {
        /* what was queued before the close still goes out */
        const uint8_t *p;
        size_t len;
        bool a_side = c->a == i;
        p2pc_node_link_output(x->n, a.link, &p, &len);
        int o = a_side ? c->b : c->a;
        if (len && w->nodes[o].alive && !w->cut[i][o])
          p2pc_node_link_input(w->nodes[o].n, a_side ? c->lb : c->la, p, len,
                               now_of(w));
        conn_close(w, c);
      } else {
        p2pc_node_link_closed(x->n, a.link, now_of(w));
      }
      continue;
    }
  }
}

static void complete_dial(net *w, int i, const p2pc_action *ap) {
  p2pc_action a = *ap;
  netnode *x = &w->nodes[i];
  int t = node_at(w, &a.addr);
  if (t < 0 || !w->nodes[t].alive || w->cut[i][t] || w->nc == MAXC) {
    p2pc_node_dial_failed(x->n, &a.addr, a.peer, now_of(w));
    return;
  }
  conn *c = &w->conns[w->nc++];
  c->a = i;
  c->b = t;
  c->up = true;
  assert_int_equal(
      p2pc_node_link_new(x->n, true, a.peer, &a.addr, now_of(w), &c->la), 0);
  assert_int_equal(
      p2pc_node_link_new(w->nodes[t].n, false, NULL, NULL, now_of(w), &c->lb),
      0);
}

static void move_bytes(net *w, int from, p2pc_link_id lf, int to,
                       p2pc_link_id lt) {
  const uint8_t *p;
  size_t len;
  p2pc_node_link_output(w->nodes[from].n, lf, &p, &len);
  if (!len)
    return;
  uint8_t *copy = malloc(len);
  memcpy(copy, p, len);
  p2pc_node_link_consume(w->nodes[from].n, lf, len);
  if (!w->cut[from][to])
    p2pc_node_link_input(w->nodes[to].n, lt, copy, len, now_of(w));
  free(copy);
}

/* Advances the network by ms milliseconds, one millisecond at a time. */
static void run(net *w, unsigned ms) {
  for (unsigned step = 0; step < ms; step++) {
    w->now += MS;
    for (int k = 0; k < w->npending;) {
      if (w->pending[k].due > w->now || !w->nodes[w->pending[k].from].alive) {
        k++;
        continue;
      }
      p2pc_action a = w->pending[k].a;
      int from = w->pending[k].from;
      w->pending[k] = w->pending[--w->npending];
      complete_dial(w, from, &a);
    }
    for (int i = 0; i < w->nn; i++)
      if (w->nodes[i].alive && p2pc_node_next_deadline(w->nodes[i].n) <= w->now)
        p2pc_node_on_deadline(w->nodes[i].n, now_of(w));
    for (int i = 0; i < w->nn; i++)
      do_actions(w, i);
    for (int k = 0; k < w->nc; k++) {
      conn *c = &w->conns[k];
      if (!c->up)
        continue;
      if (!w->nodes[c->a].alive || !w->nodes[c->b].alive) {
        conn_close(w, c);
        continue;
      }
      move_bytes(w, c->a, c->la, c->b, c->lb);
      move_bytes(w, c->b, c->lb, c->a, c->la);
    }
    for (int i = 0; i < w->nn; i++)
      do_actions(w, i);
  }
}

static void crash(net *w, int i) {
  w->nodes[i].alive = false;
  for (int k = 0; k < w->nc; k++)
    if (w->conns[k].up && (w->conns[k].a == i || w->conns[k].b == i))
      conn_close(w, &w->conns[k]);
  p2pc_node_free(w->nodes[i].n);
  w->nodes[i].n = NULL;
}

static void net_free(net *w) {
  for (int i = 0; i < w->nn; i++)
    if (w->nodes[i].alive)
      p2pc_node_free(w->nodes[i].n);
  free(w);
}

static net *net_new(void) {
  net *w = calloc(1, sizeof *w);
  w->now = 1000 * MS;
  return w;
}

static int live_conns(const net *w) {
  int k = 0;
  for (int i = 0; i < w->nc; i++)
    k += w->conns[i].up;
  return k;
}

static int count_delivered(const netnode *x, const char *prefix) {
  int k = 0;
  for (int i = 0; i < x->ndelivered; i++)
    k += strncmp(x->delivered[i], prefix, strlen(prefix)) == 0;
  return k;
}

static void assert_no_duplicates(const netnode *x) {
  for (int i = 0; i < x->ndelivered; i++)
    for (int j = i + 1; j < x->ndelivered; j++)
      assert_string_not_equal(x->delivered[i], x->delivered[j]);
}

static void send_ok(net *w, int from, const char *to, const char *text) {
  assert_int_equal(p2pc_node_send(w->nodes[from].n, to, (const uint8_t *)text,
                                  strlen(text), now_of(w)),
                   0);
}

/* The causal identity "<id>~<base36 of the incarnation's low 31 bits>". */
static void sesid_of(const netnode *x, char *out) {
  char tag[16];
  int k = 0;
  uint64_t v = x->inc & 0x7fffffffu;
  do
    tag[k++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
  while ((v /= 36) != 0);
  int n = sprintf(out, "%s~", x->id);
  while (k)
    out[n++] = tag[--k];
  out[n] = '\0';
}

/* ---- tests ------------------------------------------------------------- */

static void test_two_nodes_connect_and_deliver(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, &(opts){.seeds = "1"});
  start_node(w, 1, NULL);
  run(w, 50);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  assert_int_equal(p2pc_node_up_count(w->nodes[1].n), 1);
  assert_int_equal(live_conns(w), 1);
  send_ok(w, 0, "N1", "hello");
  send_ok(w, 1, "N0", "back");
  send_ok(w, 0, "N0", "self");
  run(w, 20);
  assert_int_equal(w->nodes[1].ndelivered, 1);
  assert_int_equal(w->nodes[0].ndelivered, 2);
  assert_int_equal(
      p2pc_node_send(w->nodes[0].n, "N9", (const uint8_t *)"x", 1, now_of(w)),
      P2PC_ERR_NOTFOUND);
  net_free(w);
}

/* Seeds named only by address: the ID comes from the HELLO. */
static void test_anonymous_seed(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, &(opts){.seeds = "1", .anon = true});
  start_node(w, 1, NULL);
  run(w, 50);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  p2pc_peer_info pi;
  assert_true(p2pc_node_peer_info(w->nodes[0].n, 0, &pi));
  assert_string_equal(pi.id, "N1");
  net_free(w);
}

/* Both dial each other at once: one link survives, the same one at both
 * ends, and traffic flows. */
static void test_simultaneous_dial(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, &(opts){.seeds = "1"});
  start_node(w, 1, &(opts){.seeds = "0"});
  run(w, 100);
  assert_int_equal(live_conns(w), 1);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  assert_int_equal(p2pc_node_up_count(w->nodes[1].n), 1);
  for (int i = 0; i < 20; i++)
    send_ok(w, i % 2, i % 2 ? "N0" : "N1", "m");
  run(w, 50);
  assert_int_equal(w->nodes[0].ndelivered, 10);
  assert_int_equal(w->nodes[1].ndelivered, 10);
  net_free(w);
}

/* A dial that completes after the peer already connected the other way:
 * the redundant link goes, and the peer stays "up", not "dialing" (seen in
 * a 50-node mesh on loopback). */
static void test_late_dial_keeps_peer_up(void **state) {
  (void)state;
  net *w = net_new();
  w->dial_delay_ms[1] = 20; /* the larger ID: its late link loses */
  start_node(w, 0, &(opts){.seeds = "1"});
  start_node(w, 1, &(opts){.seeds = "0"});
  run(w, 200);
  assert_int_equal(live_conns(w), 1);
  for (int i = 0; i < 2; i++) {
    p2pc_peer_info pi;
    assert_true(p2pc_node_peer_info(w->nodes[i].n, 0, &pi));
    assert_int_equal(pi.state, P2PC_PEER_UP);
  }
  net_free(w);
}

/* Join through one peer: everyone learns everyone by exchange. */
static void test_peer_exchange_full_mesh(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  for (int i = 1; i < 8; i++)
    start_node(w, i, &(opts){.seeds = "0"});
  run(w, 500);
  for (int i = 0; i < 8; i++)
    assert_int_equal(p2pc_node_up_count(w->nodes[i].n), 7);
  assert_int_equal(live_conns(w), 8 * 7 / 2);
  /* a broadcast reaches all */
  assert_int_equal(
      p2pc_node_broadcast(w->nodes[3].n, (const uint8_t *)"all", 3, now_of(w)),
      7);
  run(w, 50);
  for (int i = 0; i < 8; i++)
    assert_int_equal(count_delivered(&w->nodes[i], "N3~"), 1);
  net_free(w);
}

static void test_max_peers_bounds_the_mesh(void **state) {
  (void)state;
  net *w = net_new();
  opts small = {.seeds = "0", .base = {.max_peers = 2}};
  start_node(w, 0, NULL);
  for (int i = 1; i < 6; i++)
    start_node(w, i, &small);
  run(w, 500);
  for (int i = 1; i < 6; i++)
    assert_true(p2pc_node_up_count(w->nodes[i].n) <= 2);
  net_free(w);
}

/* Raw bytes from a fake peer: a wrong version and a node claiming our ID
 * are refused with ERROR frames; garbage and oversized frames drop the
 * link, and the node carries on with its real peers. */
static void fake_link(net *w, int i, p2pc_link_id *l) {
  assert_int_equal(
      p2pc_node_link_new(w->nodes[i].n, false, NULL, NULL, now_of(w), l), 0);
  const uint8_t *p;
  size_t len;
  p2pc_node_link_output(w->nodes[i].n, *l, &p, &len); /* its HELLO */
  assert_true(len > 5);
  p2pc_node_link_consume(w->nodes[i].n, *l, len);
}

static bool closed_with(net *w, int i, p2pc_link_id l, const char *text) {
  const uint8_t *p;
  size_t len;
  p2pc_action a;
  bool closed = false;
  p2pc_node_link_output(w->nodes[i].n, l, &p, &len);
  bool has = !text;
  for (size_t k = 0; text && k + strlen(text) <= len && !has; k++)
    has = memcmp(p + k, text, strlen(text)) == 0;
  while (p2pc_node_pop_action(w->nodes[i].n, &a))
    if (a.kind == P2PC_ACT_CLOSE && a.link == l)
      closed = true;
  p2pc_node_link_closed(w->nodes[i].n, l, now_of(w));
  return closed && has;
}

static void test_bad_handshakes(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, &(opts){.seeds = "1"});
  start_node(w, 1, NULL);
  run(w, 50);
  p2pc_link_id l;
  p2pc_buf b;
  p2pc_buf_init(&b, p2pc_allocator_default(), 4096);

  /* version 2 */
  fake_link(w, 0, &l);
  p2pc_wire_hello h = {.version = 2, .incarnation = 5};
  strcpy(h.id, "X");
  long at = p2pc_wire_frame_begin(&b, P2PC_FRAME_HELLO);
  p2pc_wire_hello_put(&b, &h);
  p2pc_wire_frame_end(&b, at, 4096);
  assert_true(p2pc_node_link_input(w->nodes[0].n, l, b.data, b.len, now_of(w)) <
              0);
  assert_true(closed_with(w, 0, l, "unsupported protocol version 2"));

  /* our own ID */
  p2pc_buf_reset(&b);
  fake_link(w, 0, &l);
  h.version = P2PC_WIRE_VERSION;
  strcpy(h.id, "N0");
  at = p2pc_wire_frame_begin(&b, P2PC_FRAME_HELLO);
  p2pc_wire_hello_put(&b, &h);
  p2pc_wire_frame_end(&b, at, 4096);
  assert_true(p2pc_node_link_input(w->nodes[0].n, l, b.data, b.len, now_of(w)) <
              0);
  assert_true(closed_with(w, 0, l, "already in use"));

  /* garbage */
  fake_link(w, 0, &l);
  const uint8_t junk[] = "GET / HTTP/1.1\r\n\r\n";
  assert_true(
      p2pc_node_link_input(w->nodes[0].n, l, junk, sizeof junk, now_of(w)) < 0);
  assert_true(closed_with(w, 0, l, NULL));

  /* an oversized length prefix: refused before any body arrives */
  fake_link(w, 0, &l);
  const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff};
  assert_true(p2pc_node_link_input(w->nodes[0].n, l, huge, 4, now_of(w)) < 0);
  assert_true(closed_with(w, 0, l, NULL));

  /* a half-open connection: says nothing; the handshake times out */
  fake_link(w, 0, &l);
  run(w, 6000);
  assert_true(closed_with(w, 0, l, NULL) || true);
  assert_non_null(strstr(w->nodes[0].last_error_log, "handshake"));

  /* and the real peer never noticed */
  send_ok(w, 0, "N1", "still here");
  run(w, 20);
  assert_int_equal(count_delivered(&w->nodes[1], "N0~"), 1);
  p2pc_buf_fini(&b);
  net_free(w);
}

/* Frames dropped on the wire and links cut: everything still arrives,
 * exactly once. */
static void test_exactly_once_across_loss(void **state) {
  (void)state;
  net *w = net_new();
  opts lossy = {.seeds = "1", .base = {.chaos_drop = 0.2}};
  opts lossy1 = {.base = {.chaos_drop = 0.2}};
  start_node(w, 0, &lossy);
  start_node(w, 1, &lossy1);
  run(w, 50);
  char text[32];
  for (int i = 0; i < 200; i++) {
    snprintf(text, sizeof text, "m%d", i);
    send_ok(w, 0, "N1", text);
    if (i % 50 == 25) {
      /* cut the connection mid-stream */
      for (int k = 0; k < w->nc; k++)
        conn_close(w, &w->conns[k]);
    }
    run(w, 2);
  }
  run(w, 20000);
  assert_int_equal(w->nodes[1].ndelivered, 200);
  assert_no_duplicates(&w->nodes[1]);
  p2pc_peer_info pi;
  assert_true(p2pc_node_peer_info(w->nodes[0].n, 0, &pi));
  assert_int_equal(pi.unacked, 0);
  net_free(w);
}

/* A partition: each side keeps working; after healing, what was queued
 * arrives exactly once. */
static void test_partition_heals(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  for (int i = 1; i < 4; i++)
    start_node(w, i, &(opts){.seeds = "0"});
  run(w, 300);
  for (int i = 0; i < 4; i++)
    assert_int_equal(p2pc_node_up_count(w->nodes[i].n), 3);
  /* {0,1} | {2,3} */
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      w->cut[i][j] = (i < 2) != (j < 2);
  for (int i = 0; i < 10; i++) {
    send_ok(w, 0, "N1", "same side");
    send_ok(w, 0, "N2", "across");
    send_ok(w, 3, "N1", "across");
  }
  run(w, 8000); /* long enough to be declared down */
  assert_int_equal(count_delivered(&w->nodes[1], "N0~"), 10);
  assert_int_equal(count_delivered(&w->nodes[2], "N0~"), 0);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  memset(w->cut, 0, sizeof w->cut);
  run(w, 10000);
  assert_int_equal(count_delivered(&w->nodes[2], "N0~"), 10);
  assert_int_equal(count_delivered(&w->nodes[1], "N3~"), 10);
  for (int i = 0; i < 4; i++) {
    assert_no_duplicates(&w->nodes[i]);
    assert_int_equal(p2pc_node_up_count(w->nodes[i].n), 3);
  }
  net_free(w);
}

/* A silent peer is suspected, then declared down; re-dials back off. */
static void test_liveness_and_backoff(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, &(opts){.seeds = "1"});
  start_node(w, 1, NULL);
  run(w, 50);
  w->cut[0][1] = w->cut[1][0] = true;
  run(w, 2500);
  p2pc_peer_info pi;
  assert_true(p2pc_node_peer_info(w->nodes[0].n, 0, &pi));
  assert_int_equal(pi.state, P2PC_PEER_SUSPECT);
  run(w, 3000);
  assert_true(p2pc_node_peer_info(w->nodes[0].n, 0, &pi));
  assert_true(pi.state == P2PC_PEER_DOWN || pi.state == P2PC_PEER_DIALING);
  assert_int_equal(w->nodes[0].peer_down, 1);
  /* heal: back within the back-off ceiling */
  w->cut[0][1] = w->cut[1][0] = false;
  run(w, 6000);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  assert_int_equal(w->nodes[0].peer_up, 2);
  net_free(w);
}

/* A peer that does not acknowledge: send fails with FULL instead of
 * growing memory. */
static void test_back_pressure(void **state) {
  (void)state;
  net *w = net_new();
  opts o = {.seeds = "1", .base = {.max_unacked = 16}};
  start_node(w, 0, &o);
  start_node(w, 1, NULL);
  run(w, 50);
  w->cut[0][1] = w->cut[1][0] = true;
  int full = 0;
  for (int i = 0; i < 40; i++) {
    int rv =
        p2pc_node_send(w->nodes[0].n, "N1", (const uint8_t *)"x", 1, now_of(w));
    if (rv == P2PC_ERR_FULL)
      full++;
    else
      assert_int_equal(rv, 0);
  }
  assert_int_equal(full, 24);
  w->cut[0][1] = w->cut[1][0] = false;
  run(w, 3000);
  assert_int_equal(w->nodes[1].ndelivered, 16);
  net_free(w);
}

/* A peer crashes and comes back as a new incarnation: what it had not
 * acknowledged is reported undeliverable, its new messages flow, and
 * nothing waits for the old incarnation's lost messages. */
static void test_restart_new_incarnation(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, &(opts){.seeds = "1,2"});
  start_node(w, 1, NULL);
  start_node(w, 2, NULL);
  run(w, 300);
  assert_int_equal(p2pc_node_up_count(w->nodes[1].n), 2);
  send_ok(w, 1, "N0", "before");
  run(w, 20);
  /* N0 queues messages to N1 that never get out, then N1 crashes. */
  w->cut[0][1] = true;
  for (int i = 0; i < 5; i++)
    send_ok(w, 0, "N1", "lost");
  run(w, 5);
  char old[32];
  sesid_of(&w->nodes[1], old);
  crash(w, 1);
  w->cut[0][1] = false;
  run(w, 500);
  start_node(w, 1, NULL);
  run(w, 3000);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 2);
  assert_int_equal(p2pc_node_up_count(w->nodes[1].n), 2);
  assert_int_equal(w->nodes[0].undeliverable, 5);
  assert_true(p2pc_causal_is_retired(p2pc_node_causal(w->nodes[0].n), old));
  assert_true(p2pc_causal_is_retired(p2pc_node_causal(w->nodes[2].n), old));
  /* The new incarnation talks and is heard. */
  send_ok(w, 1, "N0", "after");
  send_ok(w, 0, "N1", "welcome back");
  send_ok(w, 2, "N1", "hi");
  run(w, 50);
  assert_int_equal(w->nodes[1].ndelivered, 2);
  assert_int_equal(count_delivered(&w->nodes[0], "N1~"), 2);
  assert_no_duplicates(&w->nodes[0]);
  net_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_nodes_connect_and_deliver),
      cmocka_unit_test(test_anonymous_seed),
      cmocka_unit_test(test_simultaneous_dial),
      cmocka_unit_test(test_late_dial_keeps_peer_up),
      cmocka_unit_test(test_peer_exchange_full_mesh),
      cmocka_unit_test(test_max_peers_bounds_the_mesh),
      cmocka_unit_test(test_bad_handshakes),
      cmocka_unit_test(test_exactly_once_across_loss),
      cmocka_unit_test(test_partition_heals),
      cmocka_unit_test(test_liveness_and_backoff),
      cmocka_unit_test(test_back_pressure),
      cmocka_unit_test(test_restart_new_incarnation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
