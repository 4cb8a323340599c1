/* SPDX-License-Identifier: MIT */
/*
 * Stateful fuzz target for SES: two or three causal cores exchange messages
 * over a simulated network that the input controls. The input is a script:
 * its first byte configures the cores, then each operation is an opcode
 * byte plus parameter bytes (send X->Y, send to self, deliver the k-th
 * in-flight message, re-inject a copy of any message sent so far, deliver a
 * corrupted copy, offer a message with the wrong expected sender, advance
 * time, fail the N-th next allocation). At the end every message still in
 * flight is delivered.
 *
 * An independent checker, which does not trust the cores' vector clocks,
 * follows happens-before through the script's sends and the cores'
 * DELIVER events and checks causal order, exactly-once delivery, payload
 * integrity, return codes, and eventual delivery of everything once the
 * network is drained. A corrupted copy that a core accepts may be taken for
 * a genuine message (nothing authenticates messages), so after one the
 * ordering checks are switched off; crashes, leaks and return codes are
 * still checked.
 *
 * Set P2PC_FUZZ_TRACE=1 in the environment to have a replayed script
 * print its operations, their results and the cores' events.
 */
#include "fuzz.h"

#include "buf.h"
#include "causal.h"
#include "evlog.h"
#include "idtab.h"
#include "wire.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NODES 3
#define MAX_MSGS 128 /* sends per run; the checker's bitsets hold 128 */
#define MAX_FLIGHT 48
#define MAX_PAYLOAD 15
#define SET_WORDS (MAX_MSGS / 64)

static const char *const names[MAX_NODES] = {"A", "B", "C"};

typedef struct msgset {
  uint64_t w[SET_WORDS];
} msgset;

static void set_add(msgset *s, unsigned i) { s->w[i / 64] |= 1ull << (i % 64); }
static bool set_has(const msgset *s, unsigned i) {
  return (s->w[i / 64] >> (i % 64)) & 1;
}
static void set_union(msgset *d, const msgset *s) {
  for (unsigned i = 0; i < SET_WORDS; i++)
    d->w[i] |= s->w[i];
}

typedef struct msgrec {
  unsigned from, to;
  uint64_t n;     /* the sender's message number, from the SEND event */
  msgset past;    /* messages whose send happened before this send */
  uint8_t *bytes; /* the encoded SES message (NULL for a self-send) */
  size_t len;
  uint8_t plen;
  unsigned deliveries;
} msgrec;

/* A failing allocator: the Nth allocation from arming fails (once). */
typedef struct failer {
  long countdown; /* < 0: disarmed */
  bool fired;
  p2pc_allocator alloc;
} failer;

typedef struct world world;
typedef struct node {
  world *w;
  unsigned idx;
  p2pc_causal *c;
  msgset past; /* messages whose send happened before now at this node */
  uint64_t last_n;
} node;

struct world {
  unsigned nnodes;
  uint32_t max_buffered;
  node nodes[MAX_NODES];
  msgrec msgs[MAX_MSGS];
  unsigned nmsgs;
  unsigned flight[MAX_FLIGHT]; /* indices into msgs */
  unsigned nflight;
  int sending;  /* msgs index being sent, or -1 */
  bool tainted; /* a core accepted a corrupted message */
  bool starved; /* an allocation failed in a core at some point */
  unsigned long nevents;
  uint64_t now;
  failer fail;
  bool trace;
};

#define TRACE(w, ...)                                                          \
  do {                                                                         \
    if ((w)->trace)                                                            \
      fprintf(stderr, __VA_ARGS__);                                            \
  } while (0)

static void *fail_realloc(void *ptr, size_t size, void *ud) {
  failer *f = ud;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  if (f->countdown >= 0 && f->countdown-- == 0) {
    f->fired = true;
    return NULL;
  }
  return realloc(ptr, size);
}

static void fail_free(void *ptr, void *ud) {
  (void)ud;
  free(ptr);
}

static uint8_t payload_byte(unsigned msg, unsigned i) {
  return (uint8_t)(msg * 31u + i * 7u + 1u);
}

static int node_of(const char *name) {
  for (unsigned i = 0; i < MAX_NODES; i++)
    if (name && strcmp(name, names[i]) == 0)
      return (int)i;
  return -1;
}

static int find_msg(const world *w, int from, uint64_t n) {
  for (unsigned i = 0; i < w->nmsgs; i++)
    if ((int)w->msgs[i].from == from && w->msgs[i].n == n)
      return (int)i;
  return -1;
}

static void on_deliver(node *nd, const p2pc_causal_event *ev) {
  world *w = nd->w;
  FUZZ_CHECK(ev->stamp != 0);
  FUZZ_CHECK(ev->bytes == 0 || ev->payload != NULL);
  FUZZ_CHECK(ev->peer != NULL && strcmp(ev->peer, ev->sender) == 0);
  if (w->tainted)
    return;
  int from = node_of(ev->sender);
  FUZZ_CHECK(from >= 0);
  int k = find_msg(w, from, ev->n);
  FUZZ_CHECK(k >= 0);
  msgrec *m = &w->msgs[k];
  /* Delivered where it was sent, exactly once, intact. */
  FUZZ_CHECK(m->to == nd->idx);
  FUZZ_CHECK(m->deliveries == 0);
  m->deliveries++;
  FUZZ_CHECK(ev->bytes == m->plen);
  for (unsigned i = 0; i < m->plen; i++)
    FUZZ_CHECK(ev->payload[i] == payload_byte((unsigned)k, i));
  /* Causal order: every message to this node whose send happened before
   * this one's send has been delivered here already. */
  for (unsigned j = 0; j < w->nmsgs; j++)
    if (set_has(&m->past, j) && w->msgs[j].to == nd->idx)
      FUZZ_CHECK(w->msgs[j].deliveries == 1);
  set_union(&nd->past, &m->past);
  set_add(&nd->past, (unsigned)k);
}

/* The event log record of every event renders as a well-formed JSON
 * fragment naming the message. */
static void check_evlog(const p2pc_causal_event *ev) {
  p2pc_buf out;
  char want[96];
  p2pc_buf_init(&out, p2pc_allocator_default(), 1u << 16);
  FUZZ_CHECK(p2pc_evlog_causal(&out, ev) == 0);
  int n = snprintf(want, sizeof want, ",\"msg\":\"%s:%llu\"", ev->sender,
                   (unsigned long long)ev->n);
  FUZZ_CHECK(n > 0 && (size_t)n < sizeof want);
  FUZZ_CHECK(out.len >= (size_t)n && memcmp(out.data, want, (size_t)n) == 0);
  long depth = 0;
  unsigned quotes = 0;
  for (size_t i = 0; i < out.len; i++) {
    uint8_t ch = out.data[i];
    FUZZ_CHECK(ch >= 0x20 && ch < 0x7f && ch != '\\');
    quotes += ch == '"';
    depth += ch == '{' ? 1 : ch == '}' ? -1 : 0;
    FUZZ_CHECK(depth >= 0);
  }
  FUZZ_CHECK(depth == 0 && quotes % 2 == 0);
  p2pc_buf_fini(&out);
}

static void on_event(void *ud, const p2pc_causal_event *ev) {
  node *nd = ud;
  world *w = nd->w;
  w->nevents++;
  FUZZ_CHECK(ev->sender != NULL && ev->peer != NULL);
  TRACE(w, "    %s: %s %s:%llu\n", names[nd->idx], p2pc_evlog_kind(ev->kind),
        ev->sender, (unsigned long long)ev->n);
  FUZZ_CHECK(ev->n > 0);
  check_evlog(ev);
  switch (ev->kind) {
  case P2PC_CEV_SEND:
    FUZZ_CHECK(w->sending >= 0);
    FUZZ_CHECK(strcmp(ev->sender, names[nd->idx]) == 0);
    FUZZ_CHECK(strcmp(ev->peer, names[w->msgs[w->sending].to]) == 0);
    FUZZ_CHECK(ev->stamp != 0);
    FUZZ_CHECK(ev->bytes == w->msgs[w->sending].plen);
    /* Message numbers are unique per sender and grow. */
    FUZZ_CHECK(ev->n > nd->last_n);
    nd->last_n = ev->n;
    w->msgs[w->sending].n = ev->n;
    break;
  case P2PC_CEV_DELIVER:
    on_deliver(nd, ev);
    break;
  case P2PC_CEV_BUFFER:
    /* It waits for a message of a known node, and for something. */
    FUZZ_CHECK(node_of(ev->waits_sender) >= 0 && ev->waits_n > 0);
    FUZZ_CHECK(ev->deps > 0);
    FUZZ_CHECK(strcmp(ev->peer, ev->sender) == 0);
    break;
  case P2PC_CEV_RECV:
  case P2PC_CEV_DUP:
    FUZZ_CHECK(strcmp(ev->peer, ev->sender) == 0);
    break;
  default:
    FUZZ_CHECK(!"unknown event kind");
  }
}

/* Script reader: past the end, every byte reads as 0 and done is set. */
typedef struct script {
  const uint8_t *p;
  size_t len, off;
} script;

static bool script_done(const script *s) { return s->off >= s->len; }
static uint8_t next_byte(script *s) {
  return s->off < s->len ? s->p[s->off++] : 0;
}

static void check_buffered(const world *w) {
  for (unsigned i = 0; i < w->nnodes; i++)
    FUZZ_CHECK(p2pc_causal_buffered(w->nodes[i].c) <= w->max_buffered);
}

/* How many node IDs a core knows. */
static uint32_t known_ids(const p2pc_causal *c) {
  uint32_t n = 0;
  while (p2pc_causal_id_name(c, n) != NULL)
    n++;
  return n;
}

/* What must hold of a core after it refused input as malformed: nothing
 * changed (causal.h), and nothing was reported. */
typedef struct snapshot {
  p2pc_causal_stats st;
  uint32_t nbuf, nids, npairs;
  unsigned long nevents;
} snapshot;

static void take_snapshot(const world *w, const p2pc_causal *c, snapshot *sn) {
  p2pc_causal_get_stats(c, &sn->st);
  sn->nbuf = p2pc_causal_buffered(c);
  sn->nids = known_ids(c);
  sn->npairs = p2pc_causal_pairs(c);
  sn->nevents = w->nevents;
}

static void check_unchanged(const world *w, const p2pc_causal *c,
                            const snapshot *sn) {
  snapshot now;
  take_snapshot(w, c, &now);
  /* Except that a core resumes, on any input, a drain of its buffer that
   * an allocation failure interrupted. */
  if (w->starved)
    return;
  FUZZ_CHECK(now.nevents == sn->nevents);
  FUZZ_CHECK(now.nbuf == sn->nbuf);
  FUZZ_CHECK(now.npairs == sn->npairs);
  FUZZ_CHECK(now.st.received == sn->st.received &&
             now.st.delivered == sn->st.delivered &&
             now.st.duplicates == sn->st.duplicates &&
             now.st.buffered == sn->st.buffered);
  FUZZ_CHECK(now.nids == sn->nids);
}

static void do_send(world *w, unsigned from, unsigned to, uint8_t plen,
                    bool tiny_out) {
  if (w->nmsgs == MAX_MSGS || (from != to && w->nflight == MAX_FLIGHT))
    return;
  node *nd = &w->nodes[from];
  unsigned k = w->nmsgs;
  msgrec *m = &w->msgs[k];
  memset(m, 0, sizeof *m);
  m->from = from;
  m->to = to;
  m->plen = plen;
  m->past = nd->past;
  uint8_t payload[MAX_PAYLOAD];
  for (unsigned i = 0; i < plen; i++)
    payload[i] = payload_byte(k, i);

  p2pc_buf out;
  p2pc_buf_init(&out, p2pc_allocator_default(), tiny_out ? 4 : 1u << 16);
  w->nmsgs++; /* visible to the event callback */
  w->sending = (int)k;
  w->fail.fired = false;
  int rv = p2pc_causal_send(nd->c, names[to], payload, plen, w->now, &out);
  w->sending = -1;
  if (w->fail.fired)
    w->starved = true;
  TRACE(w, "send m%u %s->%s len %u: %d\n", k, names[from], names[to], plen, rv);
  if (rv != 0) {
    /* Nothing was sent: no events, nothing appended. Node IDs run out
     * only if a core accepted forged ones. */
    FUZZ_CHECK((rv == P2PC_ERR_NOMEM && w->fail.fired) ||
               (rv == P2PC_ERR_TOOBIG && tiny_out) ||
               (rv == P2PC_ERR_FULL && w->tainted));
    FUZZ_CHECK(m->n == 0);
    FUZZ_CHECK(out.len == 0);
    w->nmsgs--;
    p2pc_buf_fini(&out);
    return;
  }
  FUZZ_CHECK(m->n > 0);
  set_add(&nd->past, k);
  if (from == to) {
    /* Delivered at once, outside SES; nothing goes on the wire. */
    FUZZ_CHECK(out.len == 0);
    FUZZ_CHECK(w->tainted || m->deliveries == 1);
    p2pc_buf_fini(&out);
    return;
  }
  FUZZ_CHECK(out.len > plen);
  m->bytes = out.data; /* take the buffer's storage */
  m->len = out.len;
  w->flight[w->nflight++] = k;
}

static void remove_flight(world *w, unsigned i) {
  memmove(w->flight + i, w->flight + i + 1,
          (w->nflight - i - 1) * sizeof *w->flight);
  w->nflight--;
}

/* Offers flight i to its destination; returns true if it was taken. */
static bool deliver_flight(world *w, unsigned i) {
  msgrec *m = &w->msgs[w->flight[i]];
  node *nd = &w->nodes[m->to];
  snapshot sn;
  take_snapshot(w, nd->c, &sn);
  w->fail.fired = false;
  int rv = p2pc_causal_receive(nd->c, names[m->from], m->bytes, m->len, w->now);
  if (w->fail.fired)
    w->starved = true;
  TRACE(w, "deliver m%u %s->%s: %d\n", w->flight[i], names[m->from],
        names[m->to], rv);
  check_buffered(w);
  if (rv == P2PC_ERR_FULL) {
    /* Not accepted: no events, nothing buffered, nothing delivered. */
    snapshot now;
    take_snapshot(w, nd->c, &now);
    FUZZ_CHECK(now.nevents == sn.nevents && now.nbuf == sn.nbuf &&
               now.st.delivered == sn.st.delivered);
  }
  /* Genuine bytes from the right sender are never malformed. Node IDs can
   * run out only if a core accepted a forged one. */
  FUZZ_CHECK(rv == 0 || rv == P2PC_ERR_FULL ||
             (rv == P2PC_ERR_NOMEM && w->fail.fired) ||
             (rv == P2PC_ERR_TOOBIG && w->tainted));
  if (rv != 0)
    return false;
  remove_flight(w, i);
  return true;
}

static void do_wrong_sender(world *w, unsigned i, uint8_t who) {
  msgrec *m = &w->msgs[w->flight[i]];
  node *nd = &w->nodes[m->to];
  const char *wrong =
      who % 2 ? "Z" : names[(m->from + 1 + who / 2 % 2) % MAX_NODES];
  if (strcmp(wrong, names[m->from]) == 0)
    wrong = "Z";
  snapshot sn;
  take_snapshot(w, nd->c, &sn);
  w->fail.fired = false;
  int rv = p2pc_causal_receive(nd->c, wrong, m->bytes, m->len, w->now);
  if (w->fail.fired)
    w->starved = true;
  TRACE(w, "offer m%u %s->%s as from %s: %d\n", w->flight[i], names[m->from],
        names[m->to], wrong, rv);
  /* Refused, and nothing changed but the count of malformed input. (If
   * forged node IDs filled the core's table, it may not even decode.) */
  FUZZ_CHECK(rv == P2PC_ERR_PROTO || (rv == P2PC_ERR_NOMEM && w->fail.fired) ||
             (rv == P2PC_ERR_TOOBIG && w->tainted));
  if (rv == P2PC_ERR_PROTO)
    check_unchanged(w, nd->c, &sn);
}

static void do_corrupt(world *w, unsigned k, uint8_t pos, uint8_t x,
                       bool check_sender) {
  msgrec *m = &w->msgs[k];
  if (!m->bytes)
    return;
  uint8_t *copy = malloc(m->len);
  FUZZ_CHECK(copy != NULL);
  memcpy(copy, m->bytes, m->len);
  copy[pos % m->len] ^= x ? x : 0x01;
  node *nd = &w->nodes[m->to];
  snapshot sn;
  take_snapshot(w, nd->c, &sn);
  /* The copy may be taken for the genuine message, or for a new one, while
   * the core handles it: the ordering checks are off from here on ... */
  bool was_tainted = w->tainted;
  w->tainted = true;
  w->fail.fired = false;
  int rv = p2pc_causal_receive(nd->c, check_sender ? names[m->from] : NULL,
                               copy, m->len, w->now);
  if (w->fail.fired)
    w->starved = true;
  TRACE(w, "corrupt m%u byte %u ^ 0x%02x %s->%s: %d\n", k,
        (unsigned)(pos % m->len), x ? x : 0x01, names[m->from], names[m->to],
        rv);
  free(copy);
  check_buffered(w);
  FUZZ_CHECK(rv == 0 || rv == P2PC_ERR_FULL || rv == P2PC_ERR_PROTO ||
             rv == P2PC_ERR_TOOBIG || rv == P2PC_ERR_NOMEM);
  /* ... unless the core refused it, which changes nothing. */
  if (rv != 0)
    w->tainted = was_tainted;
  if (rv == P2PC_ERR_PROTO)
    check_unchanged(w, nd->c, &sn);
}

/* Delivers everything still in flight, in passes, until nothing is left or
 * a pass makes no progress. */
static void drain_network(world *w) {
  w->fail.countdown = -1;
  TRACE(w, "drain\n");
  bool progress = true;
  while (w->nflight > 0 && progress) {
    progress = false;
    for (unsigned i = 0; i < w->nflight;) {
      if (deliver_flight(w, i))
        progress = true;
      else
        i++;
    }
  }
  if (w->tainted)
    return;
  /* Liveness: with reliable channels everything gets delivered, exactly
   * once (SES never deadlocks, and a full buffer never refuses the message
   * everyone waits for). */
  FUZZ_CHECK(w->nflight == 0);
  /* A delivery that ran out of memory while a core drained its buffer is
   * retried on that core's next input: give each core one (malformed). */
  if (w->starved) {
    static const uint8_t nothing[1];
    for (unsigned i = 0; i < w->nnodes; i++)
      FUZZ_CHECK(p2pc_causal_receive(w->nodes[i].c, NULL, nothing, 0, w->now) ==
                 P2PC_ERR_PROTO);
  }
  for (unsigned i = 0; i < w->nmsgs; i++)
    FUZZ_CHECK(w->msgs[i].deliveries == 1);
  for (unsigned i = 0; i < w->nnodes; i++)
    FUZZ_CHECK(p2pc_causal_buffered(w->nodes[i].c) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static world w; /* large; zeroed below */
  script s = {data, size, 0};
  memset(&w, 0, sizeof w);
  w.sending = -1;
  w.fail.countdown = -1;
  w.fail.alloc.realloc = fail_realloc;
  w.fail.alloc.free = fail_free;
  w.fail.alloc.ud = &w.fail;
  w.trace = getenv("P2PC_FUZZ_TRACE") != NULL;

  uint8_t cfgb = next_byte(&s);
  p2pc_causal_config cfg;
  memset(&cfg, 0, sizeof cfg);
  w.nnodes = 2 + (cfgb & 1);
  cfg.no_prune = (cfgb & 2) != 0;
  cfg.max_buffered = w.max_buffered = 1 + ((cfgb >> 2) & 7);
  /* Small enough that junk node IDs could exhaust it. */
  cfg.max_nodes = w.nnodes + ((cfgb >> 5) & 7);
  for (unsigned i = 0; i < w.nnodes; i++) {
    w.nodes[i].w = &w;
    w.nodes[i].idx = i;
    FUZZ_CHECK(p2pc_causal_new(&w.nodes[i].c, names[i], &cfg, &w.fail.alloc,
                               on_event, &w.nodes[i]) == 0);
  }

  while (!script_done(&s)) {
    uint8_t op = next_byte(&s);
    uint8_t b1 = next_byte(&s);
    switch (op % 8) {
    case 0:
    case 1: { /* send from -> to (another node) */
      uint8_t b2 = next_byte(&s);
      unsigned from = (b1 & 0x0f) % w.nnodes;
      unsigned to = (from + 1 + (b1 >> 4) % (w.nnodes - 1)) % w.nnodes;
      do_send(&w, from, to, b2 % (MAX_PAYLOAD + 1), (b2 & 0xf0) == 0xf0);
      break;
    }
    case 2: /* send to self */
      do_send(&w, (b1 & 0x0f) % w.nnodes, (b1 & 0x0f) % w.nnodes,
              (b1 >> 4) % (MAX_PAYLOAD + 1), false);
      break;
    case 3: /* deliver the k-th message in flight */
      if (w.nflight)
        deliver_flight(&w, b1 % w.nflight);
      break;
    case 4: /* re-inject a copy of any message sent so far */
      if (w.nmsgs && w.nflight < MAX_FLIGHT) {
        unsigned k = b1 % w.nmsgs;
        if (w.msgs[k].bytes)
          w.flight[w.nflight++] = k;
      }
      break;
    case 5: { /* deliver a corrupted copy of any message sent so far */
      uint8_t pos = next_byte(&s), x = next_byte(&s);
      if (w.nmsgs)
        do_corrupt(&w, b1 % w.nmsgs, pos, x, (b1 & 0x80) != 0);
      break;
    }
    case 6: /* offer an in-flight message with the wrong sender */
      if (w.nflight)
        do_wrong_sender(&w, b1 % w.nflight, next_byte(&s));
      break;
    case 7: /* time passes, or arm an allocation failure */
      if (b1 & 1) {
        w.fail.countdown = b1 >> 1;
        TRACE(&w, "fail allocation %d from now\n", b1 >> 1);
      } else {
        w.now += (uint64_t)b1 * 1000000u;
      }
      break;
    }
  }
  drain_network(&w);

  for (unsigned i = 0; i < w.nnodes; i++)
    p2pc_causal_free(w.nodes[i].c);
  for (unsigned i = 0; i < w.nmsgs; i++)
    free(w.msgs[i].bytes);
  return 0;
}
