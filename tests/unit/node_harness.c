/* SPDX-License-Identifier: MIT */
/* The node tests' harness: see node_harness.h. */
#include "node_harness.h"

#include "event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Node i's local clock at true time t: its own offset and drift. */
int64_t local_at(const net *w, int i, uint64_t t) {
  const netnode *x = &w->nodes[i];
  return 1700000000000000000 + (int64_t)t + x->clock_offset +
         (int64_t)(x->clock_drift * (double)t);
}

p2pc_now now_at(const net *w, int i) {
  p2pc_now t = {.mono_ns = w->now, .local_ns = local_at(w, i, w->now)};
  return t;
}

/* Every event, typed: what the tests count. */
static void cb_typed(void *ud, p2pc_node *n, const p2pc_event *ev) {
  netnode *x = ud;
  assert_non_null(n);
  /* Each one renders as the event log would hold it: one JSON object
   * with the common fields, for every type the log carries. */
  x->logged += p2pc_event_logged(ev->type);
  char line[P2PC_EVENT_JSON_MAX];
  long len = p2pc_event_json(ev, x->id, line, sizeof line);
  if (len > 0) {
    assert_true(line[0] == '{' && line[len - 1] == '}');
    assert_non_null(strstr(line, "\"mono\":"));
    x->lines++;
  }
  switch (ev->type) {
  case P2PC_EVENT_DELIVERED:
    assert_true(x->ndelivered < 4096);
    assert_true(p2pc_msgid_format(&ev->msg, x->delivered[x->ndelivered++], 40) >
                0);
    if (ev->u.delivered.broadcast) {
      x->bcast_delivered++;
      if (ev->u.delivered.hops > x->max_hops)
        x->max_hops = ev->u.delivered.hops;
    }
    break;
  case P2PC_EVENT_UNDELIVERABLE:
    x->undeliverable++;
    break;
  case P2PC_EVENT_PEER_UP:
    x->peer_up++;
    break;
  case P2PC_EVENT_PEER_DOWN:
    x->peer_down++;
    snprintf(x->down_reason, sizeof x->down_reason, "%s",
             ev->reason ? ev->reason : "");
    break;
  case P2PC_EVENT_RESOLVED:
    x->resolved_ok += ev->u.resolved.ok;
    x->resolved_fail += !ev->u.resolved.ok;
    break;
  case P2PC_EVENT_CLOCK_SAMPLE:
    x->samples++;
    break;
  case P2PC_EVENT_CLOCK_UPDATE:
    x->clock_events++;
    x->steps += ev->u.clock.step_ns != 0;
    break;
  case P2PC_EVENT_CLOCK_SYNCED:
    x->synced_events++;
    break;
  case P2PC_EVENT_CLOCK_UNSYNCED:
    x->unsynced_events++;
    break;
  case P2PC_EVENT_CLOCK_STEPPED:
    x->step_events++;
    break;
  case P2PC_EVENT_REFERENCE_CHANGED:
    x->ref_events++;
    break;
  case P2PC_EVENT_CLOCK_REJECTED:
    x->reject_events++;
    snprintf(x->last_reject, sizeof x->last_reject, "%s %s", ev->peer,
             ev->reason);
    break;
  default:
    break;
  }
}

static void cb_log(void *ud, p2pc_log_level lv, const char *text) {
  netnode *x = ud;
  if (lv <= P2PC_LOG_WARN)
    snprintf(x->last_error_log, sizeof x->last_error_log, "%s", text);
  if (strstr(text, "clock: reference is now"))
    x->ref_changes++;
  if (getenv("P2PC_TEST_LOG"))
    fprintf(stderr, "%s %d %s\n", x->id, lv, text);
}

void start_node(net *w, int i, const opts *o) {
  netnode *x = &w->nodes[i];
  p2pc_node_seed seeds[MAXN];
  uint32_t ns = 0;
  for (const char *s = o && o->seeds ? o->seeds : ""; *s; s++) {
    /* 0-9, then a, b for nodes 10 and 11 */
    int k = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' ? *s - 'a' + 10 : -1;
    if (k < 0 || k >= MAXN)
      continue;
    memset(&seeds[ns], 0, sizeof seeds[ns]);
    if (!o->anon)
      snprintf(seeds[ns].id, sizeof seeds[ns].id, "N%d", k);
    seeds[ns++].addr = p2pc_drive_addr((uint32_t)k);
  }
  p2pc_node_config c = o ? o->base : (p2pc_node_config){0};
  snprintf(x->id, sizeof x->id, "N%d", i);
  c.id = x->id;
  c.incarnation = x->inc = o && o->inc ? o->inc : w->now + 1000 + (uint64_t)i;
  c.seed = 42 + (uint64_t)i;
  c.listen = p2pc_drive_addr((uint32_t)i);
  c.seeds = seeds;
  c.nseeds = ns;
  p2pc_node_callbacks cb = {cb_typed, cb_log, x, P2PC_LOG_DEBUG, NULL};

  x->ndelivered = x->undeliverable = x->peer_up = x->peer_down = 0;
  x->lines = x->logged = 0;
  assert_int_equal(p2pc_node_new(&x->n, &c, &cb, now_at(w, i)), 0);
  x->alive = true;
  p2pc_drive_net_add(&w->d, (uint32_t)i, x->n);
}

void close_links(net *w) {
  for (uint32_t k = 0; k < w->d.nc; k++)
    p2pc_drive_net_close(&w->d, &w->d.conns[k]);
}

/* The driver's hooks: the clocks, partitions, a dial's delay, and each
 * datagram's flight. */
static p2pc_now hook_now(void *ud, uint32_t i) { return now_at(ud, (int)i); }

static int64_t hook_local(void *ud, uint32_t i) {
  const net *w = ud;
  return local_at(w, (int)i, w->now);
}

static bool hook_cut(void *ud, uint32_t i, uint32_t j) {
  const net *w = ud;
  return w->cut[i][j];
}

static void hook_dial(void *ud, uint32_t i, const p2pc_action *a) {
  net *w = ud;
  if (w->dial_delay_ms[i]) {
    assert_true(w->npending < 64);
    w->pending[w->npending].from = (int)i;
    w->pending[w->npending].a = *a;
    w->pending[w->npending++].due = w->now + w->dial_delay_ms[i] * MS;
    return;
  }
  assert_true(p2pc_drive_net_connect(&w->d, i, a) >= 0);
}

/* Datagrams: each leaves at the current step, stamped with the sender's
 * clock (as the runtime does with a kernel transmit stamp), and arrives
 * after the pair's one-way delay, received with the receiver's clock at
 * the exact arrival time (a kernel receive stamp). */
static p2pc_drive_fate hook_datagram(void *ud, uint32_t i, int t,
                                     const p2pc_datagram *d) {
  net *w = ud;
  if (t < 0 || w->nair == AIR_MAX || w->cut[i][t]) {
    w->udp_lost++;
    return P2PC_DRIVE_DROP;
  }
  uint64_t delay = w->udp_delay_ns[i][t] ? w->udp_delay_ns[i][t] : 50000;
  w->air[w->nair].from = (int)i;
  w->air[w->nair].to = t;
  w->air[w->nair].arrive = w->now + delay;
  w->air[w->nair++].d = *d;
  return P2PC_DRIVE_HELD;
}

/* The datagrams whose time has come. */
static void land_datagrams(net *w) {
  for (int k = 0; k < w->nair;) {
    if (w->air[k].arrive > w->now) {
      k++;
      continue;
    }
    int to = w->air[k].to, from = w->air[k].from;
    p2pc_datagram d = w->air[k].d;
    uint64_t at = w->air[k].arrive;
    w->air[k] = w->air[--w->nair];
    p2pc_drive_net_deliver(&w->d, (uint32_t)to, (uint32_t)from, &d,
                           local_at(w, to, at));
  }
}

/* Advances the network by ms milliseconds, one millisecond at a time. */
void run(net *w, unsigned ms) {
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
      assert_true(p2pc_drive_net_connect(&w->d, (uint32_t)from, &a) >= 0);
    }
    /* deadlines, actions, bytes, actions, datagrams */
    p2pc_drive_net_step(&w->d);
    land_datagrams(w);
    for (int i = 0; i < (int)w->d.nn; i++) {
      netnode *x = &w->nodes[i];
      if (!x->alive)
        continue;
      int64_t nt = p2pc_node_network_time(x->n, local_at(w, i, w->now));
      if (x->was_synced && nt <= x->last_net)
        x->backwards++;
      x->last_net = nt;
      p2pc_tracking tr;
      p2pc_node_tracking(x->n, now_at(w, i), &tr);
      x->was_synced = tr.synced;
    }
  }
}

void crash(net *w, int i) {
  w->nodes[i].alive = false;
  p2pc_node_free(p2pc_drive_net_remove(&w->d, (uint32_t)i));
  w->nodes[i].n = NULL;
}

void net_free(net *w) {
  for (int i = 0; i < (int)w->d.nn; i++) {
    /* One event model: every typed event the log carries was rendered
     * as one line, and nothing else was. */
    assert_int_equal(w->nodes[i].lines, w->nodes[i].logged);
    if (w->nodes[i].alive)
      p2pc_node_free(w->nodes[i].n);
  }
  free(w->air);
  free(w);
}

net *net_new(void) {
  net *w = calloc(1, sizeof *w);
  w->air = calloc(AIR_MAX, sizeof *w->air);
  w->now = 1000 * MS;
  p2pc_drive_net_ops ops = {.clock = {hook_now, hook_local, w},
                            .cut = hook_cut,
                            .dial = hook_dial,
                            .datagram = hook_datagram,
                            .ud = w};
  p2pc_drive_net_init(&w->d, &ops);
  return w;
}

int live_conns(const net *w) { return (int)p2pc_drive_net_live(&w->d); }

int count_delivered(const netnode *x, const char *prefix) {
  int k = 0;
  for (int i = 0; i < x->ndelivered; i++)
    k += strncmp(x->delivered[i], prefix, strlen(prefix)) == 0;
  return k;
}

void assert_no_duplicates(const netnode *x) {
  for (int i = 0; i < x->ndelivered; i++)
    for (int j = i + 1; j < x->ndelivered; j++)
      assert_string_not_equal(x->delivered[i], x->delivered[j]);
}

void send_ok(net *w, int from, const char *to, const char *text) {
  assert_int_equal(p2pc_node_send(w->nodes[from].n, to, (const uint8_t *)text,
                                  strlen(text), now_at(w, from), NULL),
                   0);
}

/* The causal identity "<id>~<base36 of the incarnation's low 31 bits>". */
void sesid_of(const netnode *x, char *out) {
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

bool linked(const net *w, int i, const char *peer) {
  p2pc_peer_info pi;
  for (uint32_t k = 0; p2pc_node_peer_info(w->nodes[i].n, k, &pi); k++)
    if (strcmp(pi.id, peer) == 0)
      return pi.state == P2PC_PEER_UP || pi.state == P2PC_PEER_SUSPECT;
  return false;
}

/* An accepted link on node i, before the dialer's HELLO. */
void fake_link(net *w, int i, p2pc_link_id *l) {
  assert_int_equal(
      p2pc_node_link_new(w->nodes[i].n, false, NULL, NULL, now_at(w, i), l), 0);
  const uint8_t *p;
  size_t len;
  /* An accepted connection: the node waits for the dialer's HELLO and
   * says nothing before it (it answers only a HELLO it accepts). */
  p2pc_node_link_output(w->nodes[i].n, *l, &p, &len);
  assert_int_equal(len, 0);
}

bool closed_with(net *w, int i, p2pc_link_id l, const char *text) {
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
  p2pc_node_link_closed(w->nodes[i].n, l, now_at(w, i));
  return closed && has;
}

void feed(net *w, int i, p2pc_link_id l, const p2pc_buf *b) {
  assert_int_equal(
      p2pc_node_link_input(w->nodes[i].n, l, b->data, b->len, now_at(w, i)), 0);
}

/* The fake frames' common ends: a buffer with a frame of type begun (at),
 * and the frame closed, fed to node i on link l, the buffer released. */
static long frame_open(p2pc_buf *b, p2pc_frame_type type) {
  p2pc_buf_init(b, p2pc_allocator_default(), 4096);
  return p2pc_wire_frame_begin(b, type);
}

static void frame_feed(net *w, int i, p2pc_link_id l, p2pc_buf *b, long at) {
  assert_int_equal(p2pc_wire_frame_end(b, at, 4096), 0);
  feed(w, i, l, b);
  p2pc_buf_fini(b);
}

void fake_hello(net *w, int i, const p2pc_wire_hello *h, p2pc_link_id *l) {
  fake_link(w, i, l);
  p2pc_buf b;
  long at = frame_open(&b, P2PC_FRAME_HELLO);
  assert_int_equal(p2pc_wire_hello_put(&b, h), 0);
  frame_feed(w, i, *l, &b, at);
}

/* A fake peer `id` of incarnation inc dials node i: an accepted link that
 * has taken its HELLO. */
void fake_peer_as(net *w, int i, const char *id, uint64_t inc,
                  p2pc_link_id *l) {
  p2pc_wire_hello h = {.version = P2PC_WIRE_VERSION, .incarnation = inc};
  strcpy(h.id, id);
  fake_hello(w, i, &h, l);
}

/* X dials node i. */
void fake_peer(net *w, int i, p2pc_link_id *l) {
  fake_peer_as(w, i, "X", 5, l);
}

/* An ACK frame (cum, nothing beyond) from a fake peer. */
void fake_ack(net *w, int i, p2pc_link_id l, uint64_t cum) {
  p2pc_buf b;
  long at = frame_open(&b, P2PC_FRAME_ACK);
  assert_int_equal(p2pc_wire_ack_put(&b, cum, 0), 0);
  frame_feed(w, i, l, &b, at);
}

/* A LEAVE frame from a fake peer: no DATA after lseq last, nobody named. */
void fake_leave(net *w, int i, p2pc_link_id l, uint64_t last) {
  p2pc_buf b;
  p2pc_wire_peer none;
  memset(&none, 0, sizeof none);
  long at = frame_open(&b, P2PC_FRAME_LEAVE);
  assert_int_equal(p2pc_wire_leave_put(&b, last, &none), 0);
  frame_feed(w, i, l, &b, at);
}

/* A STABLE frame from X: `delivered` of node i's stream, every level at
 * value, no written-off ranges. */
void fake_stable(net *w, int i, p2pc_link_id l, uint64_t delivered,
                 uint64_t value) {
  p2pc_buf b;
  p2pc_wire_stable ws;
  memset(&ws, 0, sizeof ws);
  ws.delivered = delivered;
  for (int d = 0; d < P2PC_STABLE_DEPTH; d++)
    ws.rep.v[d] = value;
  long at = frame_open(&b, P2PC_FRAME_STABLE);
  assert_int_equal(p2pc_wire_stable_put(&b, &ws), 0);
  frame_feed(w, i, l, &b, at);
}

void fake_pong(net *w, int i, p2pc_link_id l, uint64_t token) {
  p2pc_buf b;
  long at = frame_open(&b, P2PC_FRAME_PONG);
  assert_int_equal(p2pc_wire_ping_put(&b, P2PC_FRAME_PONG, token), 0);
  frame_feed(w, i, l, &b, at);
}

void fake_error(net *w, int i, p2pc_link_id l, uint16_t code,
                const char *reason) {
  p2pc_buf b;
  long at = frame_open(&b, P2PC_FRAME_ERROR);
  assert_int_equal(p2pc_wire_error_put(&b, code, reason), 0);
  frame_feed(w, i, l, &b, at);
}

void look(net *w, int i, p2pc_link_id l, seen *s) {
  const uint8_t *p;
  size_t len, off = 0;
  memset(s, 0, sizeof *s);
  p2pc_node_link_output(w->nodes[i].n, l, &p, &len);
  while (off < len) {
    p2pc_frame f;
    int used = p2pc_wire_frame_split(p + off, len - off,
                                     P2PC_WIRE_MAX_FRAME_LIMIT, &f);
    assert_true(used > 0);
    if (f.type == P2PC_FRAME_ACK) {
      uint64_t cum, beyond;
      assert_true(p2pc_wire_ack_get(f.body, f.body_len, &cum, &beyond) > 0);
      s->acks++;
      s->ack_beyond = beyond;
      if (cum > s->ack_cum)
        s->ack_cum = cum;
    } else if (f.type == P2PC_FRAME_STABLE) {
      assert_true(p2pc_wire_stable_get(f.body, f.body_len, &s->st) > 0);
      s->stables++;
    } else if (f.type == P2PC_FRAME_DATA) {
      p2pc_reader r;
      p2pc_reader_init(&r, f.body, f.body_len);
      assert_true(p2pc_reader_varint(&r, &s->data_lseq));
      s->ses_len = f.body_len - r.off;
      assert_true(s->ses_len <= sizeof s->ses);
      memcpy(s->ses, f.body + r.off, s->ses_len);
      s->data++;
    } else if (f.type == P2PC_FRAME_PING) {
      assert_true(p2pc_wire_ping_get(f.body, f.body_len, &s->ping_token) > 0);
      s->pings++;
    } else if (f.type == P2PC_FRAME_PONG) {
      s->pongs++;
    } else if (f.type == P2PC_FRAME_LEAVE) {
      s->leaves++;
    } else if (f.type == P2PC_FRAME_ANNOUNCE) {
      s->announces++;
    } else if (f.type == P2PC_FRAME_ERROR) {
      p2pc_wire_error e;
      assert_true(p2pc_wire_error_get(f.body, f.body_len, &e) > 0);
      s->errors++;
      s->error_code = e.code;
    }
    off += (size_t)used;
  }
  p2pc_node_link_consume(w->nodes[i].n, l, len);
}

/* A fake peer's causal core (its causal identity sesid), on node i's
 * network time. */
static p2pc_causal *fake_core_as(net *w, int i, const char *sesid) {
  p2pc_causal *x;
  assert_int_equal(p2pc_causal_new(&x, sesid, NULL, NULL, NULL, NULL), 0);
  int64_t t = p2pc_node_network_time(w->nodes[i].n, local_at(w, i, w->now));
  p2pc_causal_set_time(x, t, 0, 0);
  return x;
}

/* X's. */
p2pc_causal *fake_core(net *w, int i) { return fake_core_as(w, i, FAKE_SESID); }

/* A DATA frame with lseq from core x to node i. */
void fake_data(net *w, int i, p2pc_causal *x, uint64_t lseq, const char *text,
               p2pc_buf *frame) {
  char dest[64];
  sesid_of(&w->nodes[i], dest);
  p2pc_buf_init(frame, p2pc_allocator_default(), 4096);
  long at = p2pc_wire_frame_begin(frame, P2PC_FRAME_DATA);
  assert_int_equal(p2pc_buf_put_varint(frame, lseq), 0);
  assert_int_equal(
      p2pc_causal_send(x, dest, (const uint8_t *)text, strlen(text), 0, frame),
      0);
  assert_int_equal(p2pc_wire_frame_end(frame, at, 4096), 0);
}
