/* SPDX-License-Identifier: MIT */
/*
 * The node state machine (node.h): links, peers, reliable per-peer streams
 * and SES, composed. Decisions live here so that the libuv runtime, the
 * simulator and the tests all drive the same code with injected time.
 *
 * Reliability is per peer *session*, not per TCP connection: a session is
 * the pair (our incarnation, the peer's incarnation). DATA frames carry a
 * sequence number along the session; the receiver accepts them strictly in
 * order and acknowledges cumulatively; the sender keeps every unacknowledged
 * frame and, after a reconnect or a resend timeout, sends again everything
 * after the last acknowledged one (go-back-N). TCP already orders bytes, so
 * gaps only come from frames dropped on purpose (chaos) or from frames the
 * SES layer refused (its buffer was full): both are repaired by the resend.
 * When a peer comes back as a new incarnation, the old session ends: see
 * docs/PROTOCOL.md, "Incarnations".
 */
#include "node.h"

#include "event.h"
#include "rng.h"

#include <string.h>

#define NO_LINK UINT32_MAX
#define NO_PEER UINT32_MAX
#define NO_KEY UINT32_MAX                    /* no stability slot */
#define FULL_BACKOFF_NS (30ull * 1000000000) /* re-dial a full peer after */
/* Peer records beyond max_peers for links being handed over (a full node
 * takes a joining one in before the link it gives up is gone). */
#define JOIN_SLACK 4
#define LEAVE_TIMEOUT_NS (30ull * 1000000000)
#define MS 1000000ull
#define TAG_MAX 16

typedef enum lstate { L_FREE, L_HELLO, L_UP, L_CLOSING } lstate;

typedef struct link {
  /* what the deadline scans read, first (one cache line) */
  lstate state;
  bool outbound;
  bool join;     /* outbound, its HELLO asked a full peer to make room */
  uint32_t peer; /* NO_PEER until the HELLO names it */
  uint64_t opened_ns, last_rx_ns, last_ping_ns;
  char expect[P2PC_NODE_ID_MAX + 1];
  p2pc_wire_addr addr; /* outbound: the address dialed */
  p2pc_buf in;         /* an incomplete frame carried over between reads */
  p2pc_buf out;        /* frames not yet handed to the kernel */
  bool stable_rx;      /* the peer's first STABLE arrived on this link */
} link;

typedef struct txmsg {
  uint64_t lseq;
  uint8_t *frame; /* the whole DATA frame */
  size_t len;
  uint64_t release_ns; /* chaos delay: not written before this */
  uint64_t n;          /* the message number: its id is "<self>:<n>" */
} txmsg;

typedef struct peer {
  /* what the deadline scans read, first */
  uint32_t link;
  p2pc_peer_state state;
  bool dialing;
  bool addr_known;
  uint32_t qn;
  uint64_t next_dial_ns, last_progress_ns;
  char id[P2PC_NODE_ID_MAX + 1];
  char sesid[P2PC_ID_MAX + 1]; /* "<id>~<tag>" of the current session */
  uint64_t inc;
  bool inc_known;
  uint32_t skey; /* its slot in n->st (this incarnation), NO_KEY if none */
  uint64_t st_delivered; /* `delivered` of our last STABLE to it */
  /* A message from it was taken since its slot's first report: its
   * report may vouch for entries we hold, so it is frozen, not dropped,
   * when the link goes (PROTOCOL.md, "Stability"). */
  bool st_data;
  p2pc_wire_addr addr;
  bool refused_full; /* its last answer was "peer table full" */
  bool blocked;      /* a send to it met P2PC_ERR_FULL: WRITABLE owed */
  uint64_t backoff_ns;
  /* the session's outgoing stream */
  uint64_t tx_next;    /* next lseq to assign */
  uint64_t tx_acked;   /* the peer has everything <= this */
  uint64_t tx_written; /* written on the current link up to this */
  txmsg *q;            /* unacknowledged, ascending lseq (qn of them) */
  uint32_t qcap;
  size_t qbytes;
  uint64_t fast_for;   /* 1 + the ack of the last fast retransmit */
  uint64_t fast_at_ns; /* ... and when it was */
  /* the session's incoming stream */
  uint64_t rx_cum;
  uint64_t rx_beyond; /* frames past a hole since the last ACK */
  bool ack_due;
  uint64_t sent, delivered_from;
  /* Ending the session by agreement (PROTOCOL.md, "Making room"). */
  bool leave_sent, leave_rcvd;
  uint64_t leave_last;     /* the peer sends no DATA after this lseq */
  uint64_t leave_until_ns; /* not agreed by then: the session goes on */
  p2pc_wire_peer next;     /* whom to link to instead ("" = nobody) */
} peer;

struct p2pc_node {
  p2pc_node_config cfg;
  p2pc_node_callbacks cb;
  const p2pc_allocator *a;
  char id[P2PC_NODE_ID_MAX + 1];
  char sesid[P2PC_ID_MAX + 1];
  p2pc_causal *causal;
  p2pc_timesync *ts;
  uint64_t next_announce_ns;
  p2pc_wire_announce ann; /* sent with every heartbeat */
  p2pc_now now;           /* of the entry point running */
  p2pc_rng rng;
  link *links;
  uint32_t nlinks;
  uint32_t links_hw; /* no link at or above this index was ever used */
  peer *peers;
  uint32_t npeers;
  struct anon_seed *anon;
  uint32_t nanon;
  p2pc_action *acts;
  uint32_t nacts, acthead, capacts;
  p2pc_buf scratch;               /* one frame being built */
  char line[P2PC_EVENT_JSON_MAX]; /* the event line being rendered */
  bool ev_synced;                 /* as last reported: CLOCK_SYNCED/... */
  char ev_ref[P2PC_NODE_ID_MAX + 1];
  bool stopping;
  uint64_t undeliverable;
  uint64_t refused_ahead_logged_ns; /* rate limit of that WARN */
  /* Stability (stable.h): the levels of the network's LS minimum. Slots
   * are handed to peer incarnations; a slot whose report is frozen is not
   * reused before its hold is over (st_keys has room for that). When none
   * is free, the oldest frozen one is folded into a floor: G at that
   * moment, which is at most every value of that report, kept for the
   * hold. */
  p2pc_stable *st;
  uint32_t st_keys;
  uint64_t st_hold;
  uint64_t st_floor, st_floor_until;
};

static uint64_t node_hlc(const p2pc_node *n);
static void stable_release(p2pc_node *n, struct peer *p);
static void stable_down(p2pc_node *n, struct peer *p);
static void stable_send(p2pc_node *n, uint32_t lid);

/* ---- small helpers ------------------------------------------------------ */

/* The node's only randomness (rng.h), seeded by the runtime. */
static uint64_t rng_below(p2pc_node *n, uint64_t bound) {
  return p2pc_rng_below(&n->rng, bound);
}

static double rng_unit(p2pc_node *n) { return p2pc_rng_unit(&n->rng); }

/* Appends decimal v to s (NUL-terminated, capacity cap). */
static void str_u64(char *s, size_t cap, uint64_t v) {
  char d[20];
  size_t k = 0, len = strlen(s);
  do
    d[k++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  while (k && len + 1 < cap)
    s[len++] = d[--k];
  s[len] = '\0';
}

static void str_copy(char *s, size_t cap, const char *t) {
  s[0] = '\0';
  size_t k = 0;
  while (t[k] && k + 1 < cap) {
    s[k] = t[k];
    k++;
  }
  s[k] = '\0';
}

static void str_cat(char *s, size_t cap, const char *t) {
  size_t len = strlen(s), k = strlen(t);
  if (k > cap - 1 - len)
    k = cap - 1 - len;
  memcpy(s + len, t, k);
  s[len + k] = '\0';
}

void p2pc_node_addr_format(const p2pc_wire_addr *a, char *s, size_t cap) {
  p2pc_addr_format(a, s, cap);
}

static bool addr_eq(const p2pc_wire_addr *x, const p2pc_wire_addr *y) {
  size_t n = x->family == 4 ? 4 : 16;
  return x->family == y->family && x->port == y->port &&
         (x->family == 0 || memcmp(x->addr, y->addr, n) == 0);
}

/* The incarnation tag of a causal identity: base36 of 31 bits. */
static void make_sesid(char *out, const char *id, uint64_t inc) {
  static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  char tag[TAG_MAX];
  size_t k = 0;
  uint64_t v = inc & 0x7fffffffu;
  do
    tag[k++] = b36[v % 36];
  while ((v /= 36) != 0);
  out[0] = '\0';
  str_cat(out, P2PC_ID_MAX + 1, id);
  str_cat(out, P2PC_ID_MAX + 1, "~");
  size_t len = strlen(out);
  while (k)
    out[len++] = tag[--k];
  out[len] = '\0';
}

static void logf_(p2pc_node *n, p2pc_log_level lv, const char *text) {
  if (n->cb.log && lv <= n->cb.log_level)
    n->cb.log(n->cb.log_ud ? n->cb.log_ud : n->cb.ud, lv, text);
}

/* ---- events ----------------------------------------------------------------
 */

/* Stamps ev with this call's clocks and hands it out: typed to whoever
 * takes p2pc_event, rendered (event.c, the one renderer) to whoever takes
 * event-log lines. */
static void emit(p2pc_node *n, p2pc_event *ev) {
  ev->now = n->now;
  ev->net_ns =
      n->ts ? p2pc_timesync_time(n->ts, n->now.local_ns) : n->now.local_ns;
  if (n->cb.typed)
    n->cb.typed(n->cb.ud, n, ev);
  if (n->cb.event && p2pc_event_logged(ev->type)) {
    long len = p2pc_event_json(ev, n->id, n->line, sizeof n->line);
    if (len > 0)
      n->cb.event(n->cb.ud, n->line, (size_t)len);
  }
}

static bool observed(const p2pc_node *n) { return n->cb.typed || n->cb.event; }

/* Clock-sync reports: the `sample` and `clock` records, and for
 * applications what changed: synced or not, a step, another reference. */
static void on_timesync(void *ud, const p2pc_tsev *e) {
  p2pc_node *n = ud;
  if (!observed(n))
    return;
  p2pc_event ev = {0};
  if (e->kind == P2PC_TSEV_SAMPLE) {
    ev.type = P2PC_EVENT_CLOCK_SAMPLE;
    ev.peer = e->peer;
    ev.u.sample.offset_ns = e->offset_ns;
    ev.u.sample.delay_ns = e->delay_ns;
    ev.u.sample.raw_offset_ns = e->raw_offset_ns;
    ev.u.sample.interleaved = e->interleaved;
    ev.u.sample.kernel = e->kernel;
    emit(n, &ev);
    return;
  }
  ev.type = P2PC_EVENT_CLOCK_UPDATE;
  ev.u.clock.mode = e->mode;
  ev.u.clock.ref = e->ref;
  ev.u.clock.source = e->source;
  ev.u.clock.synced = e->synced;
  ev.u.clock.offset_ns = e->corr_ns;
  ev.u.clock.freq_ppb = e->freq_ppb;
  ev.u.clock.err_ns = e->err_ns;
  ev.u.clock.adj_ns = e->adj_ns;
  ev.u.clock.step_ns = e->step_ns;
  emit(n, &ev);
  if (e->synced != n->ev_synced) {
    n->ev_synced = e->synced;
    ev.type = e->synced ? P2PC_EVENT_CLOCK_SYNCED : P2PC_EVENT_CLOCK_UNSYNCED;
    emit(n, &ev);
  }
  if (e->step_ns != 0) {
    ev.type = P2PC_EVENT_CLOCK_STEPPED;
    emit(n, &ev);
  }
  if (strcmp(e->ref, n->ev_ref) != 0) {
    str_copy(n->ev_ref, sizeof n->ev_ref, e->ref);
    ev.type = P2PC_EVENT_REFERENCE_CHANGED;
    emit(n, &ev);
  }
}

/* The SES layer's report as an event. */
static void causal_event(p2pc_node *n, const p2pc_causal_event *ce) {
  p2pc_event ev;
  p2pc_event_from_causal(&ev, ce);
  emit(n, &ev);
}

static void on_timesync_log(void *ud, p2pc_log_level lv, const char *text) {
  logf_(ud, lv, text);
}

static void tombstone(p2pc_node *n, const char *dest_sesid, uint64_t msg_n);
static void refused_ahead(p2pc_node *n, const p2pc_causal_event *ev);

/* SES reports: the event line, the human DEBUG line, the delivery. */
static void on_causal(void *ud, const p2pc_causal_event *ev) {
  p2pc_node *n = ud;
  if (observed(n))
    causal_event(n, ev);
  if (ev->kind == P2PC_CEV_EXPIRE && ev->at_sender)
    tombstone(n, ev->peer, ev->n);
  if (ev->kind == P2PC_CEV_REFUSE)
    refused_ahead(n, ev);
  if (ev->kind == P2PC_CEV_EXPIRE) {
    char t[256] = "causal: expired msg=";
    str_cat(t, sizeof t, ev->sender);
    str_cat(t, sizeof t, ":");
    str_u64(t, sizeof t, ev->n);
    str_cat(t, sizeof t, ev->at_sender ? " to=" : " from=");
    str_cat(t, sizeof t, ev->peer);
    str_cat(t, sizeof t, " reason=\"");
    str_cat(t, sizeof t, ev->reason);
    str_cat(t, sizeof t, "\"");
    logf_(n, P2PC_LOG_INFO, t);
    return;
  }
  bool debug = n->cb.log && n->cb.log_level >= P2PC_LOG_DEBUG;
  if (ev->kind == P2PC_CEV_SEND || ev->kind == P2PC_CEV_RECV ||
      ev->kind == P2PC_CEV_DUP || ev->kind == P2PC_CEV_REFUSE ||
      (ev->kind != P2PC_CEV_DELIVER && !debug))
    return; /* the hot path: nothing more to say about these */
  char msg[P2PC_ID_MAX + 24] = "";
  str_cat(msg, sizeof msg, ev->sender);
  str_cat(msg, sizeof msg, ":");
  str_u64(msg, sizeof msg, ev->n);
  /* The application sees node IDs, not incarnations. */
  char from[P2PC_NODE_ID_MAX + 1] = "";
  const char *tilde = strchr(ev->sender, '~');
  size_t flen = tilde ? (size_t)(tilde - ev->sender) : strlen(ev->sender);
  memcpy(from, ev->sender, flen);
  from[flen] = '\0';
  if (n->cb.log && n->cb.log_level >= P2PC_LOG_DEBUG &&
      (ev->kind == P2PC_CEV_DELIVER || ev->kind == P2PC_CEV_BUFFER ||
       ev->kind == P2PC_CEV_DROP)) {
    char t[256] = "causal: ";
    str_cat(t, sizeof t, p2pc_event_name(p2pc_event_causal_type(ev->kind)));
    str_cat(t, sizeof t, " msg=");
    str_cat(t, sizeof t, msg);
    if (ev->kind == P2PC_CEV_DELIVER) {
      str_cat(t, sizeof t, " waited_us=");
      str_u64(t, sizeof t, ev->waited_ns / 1000);
    } else if (ev->kind == P2PC_CEV_BUFFER) {
      str_cat(t, sizeof t, " waits_for=");
      if (ev->waits_sender) {
        str_cat(t, sizeof t, ev->waits_sender);
        str_cat(t, sizeof t, ":");
        str_u64(t, sizeof t, ev->waits_n);
      }
    } else {
      str_cat(t, sizeof t, " reason=\"");
      str_cat(t, sizeof t, ev->reason);
      str_cat(t, sizeof t, "\"");
    }
    logf_(n, P2PC_LOG_DEBUG, t);
  }
  if (ev->kind == P2PC_CEV_DELIVER && n->cb.deliver)
    n->cb.deliver(n->cb.ud, from, msg, ev->payload, ev->bytes);
}

/* ---- actions ------------------------------------------------------------- */

static void push_action(p2pc_node *n, const p2pc_action *a) {
  if (n->acthead && n->acthead == n->nacts)
    n->acthead = n->nacts = 0;
  if (n->nacts == n->capacts) {
    uint32_t cap = n->capacts ? n->capacts * 2 : 16;
    p2pc_action *x = n->a->realloc(n->acts, (size_t)cap * sizeof *x, n->a->ud);
    if (!x)
      return; /* a lost DIAL is retried by the next deadline; a lost
                 CLOSE by the liveness check */
    n->acts = x;
    n->capacts = cap;
  }
  n->acts[n->nacts++] = *a;
}

bool p2pc_node_pop_action(p2pc_node *n, p2pc_action *a) {
  if (n->acthead == n->nacts)
    return false;
  *a = n->acts[n->acthead++];
  return true;
}

/* ---- links ----------------------------------------------------------------
 */

static link *get_link(const p2pc_node *n, p2pc_link_id l) {
  return l < n->nlinks && n->links[l].state != L_FREE ? &n->links[l] : NULL;
}

/* Writes the frame in n->scratch to the link's output, unless the link's
 * output is over its cap (a peer that does not read: the liveness check
 * will close it). */
static void link_write(p2pc_node *n, link *l) {
  if (l->state == L_FREE || l->state == L_CLOSING)
    return;
  p2pc_buf_put(&l->out, n->scratch.data, n->scratch.len);
}

static void close_link(p2pc_node *n, p2pc_link_id id, uint16_t code,
                       const char *reason) {
  link *l = get_link(n, id);
  if (!l || l->state == L_CLOSING)
    return;
  if (code) {
    p2pc_buf_reset(&n->scratch);
    long at = p2pc_wire_frame_begin(&n->scratch, P2PC_FRAME_ERROR);
    if (at >= 0 && p2pc_wire_error_put(&n->scratch, code, reason) == 0 &&
        p2pc_wire_frame_end(&n->scratch, at, n->cfg.max_frame) == 0)
      link_write(n, l);
  }
  l->state = L_CLOSING;
  p2pc_action a = {.kind = P2PC_ACT_CLOSE, .link = id};
  push_action(n, &a);
}

static int frame_to_link(p2pc_node *n, p2pc_link_id id, p2pc_frame_type t,
                         const void *arg, uint64_t v) {
  link *l = get_link(n, id);
  if (!l)
    return P2PC_ERR_NOTFOUND;
  p2pc_buf_reset(&n->scratch);
  long at = p2pc_wire_frame_begin(&n->scratch, t);
  if (at < 0)
    return (int)at;
  int rv;
  switch (t) {
  case P2PC_FRAME_HELLO:
    rv = p2pc_wire_hello_put(&n->scratch, arg);
    break;
  case P2PC_FRAME_ACK:
    rv = p2pc_wire_ack_put(&n->scratch, v, *(const uint64_t *)arg);
    break;
  case P2PC_FRAME_PING:
  case P2PC_FRAME_PONG:
    rv = p2pc_wire_ping_put(&n->scratch, t, v);
    break;
  case P2PC_FRAME_ANNOUNCE:
    rv = p2pc_wire_announce_put(&n->scratch, arg);
    break;
  case P2PC_FRAME_STABLE:
    rv = p2pc_wire_stable_put(&n->scratch, arg);
    break;
  default:
    rv = P2PC_ERR_INVAL;
  }
  if (!rv)
    rv = p2pc_wire_frame_end(&n->scratch, at, n->cfg.max_frame);
  if (!rv)
    link_write(n, l);
  return rv;
}

static void send_hello(p2pc_node *n, p2pc_link_id lid, uint16_t flags) {
  p2pc_wire_hello h = {.version = P2PC_WIRE_VERSION,
                       .flags = flags,
                       .incarnation = n->cfg.incarnation,
                       .listen = n->cfg.listen};
  str_cat(h.id, sizeof h.id, n->id);
  frame_to_link(n, lid, P2PC_FRAME_HELLO, &h, 0);
}

/* ---- peers and sessions ---------------------------------------------------
 */

static uint32_t find_peer(const p2pc_node *n, const char *id) {
  for (uint32_t i = 0; i < n->npeers; i++)
    if (strcmp(n->peers[i].id, id) == 0)
      return i;
  return NO_PEER;
}

static void init_peer(p2pc_node *n, peer *p, const char *id) {
  memset(p, 0, sizeof *p);
  str_cat(p->id, sizeof p->id, id);
  p->link = NO_LINK;
  p->state = P2PC_PEER_DOWN;
  p->backoff_ns = n->cfg.redial_min_ns;
  p->tx_next = 1;
  p->skey = NO_KEY;
}

/* Finds or adds peer id while the table holds fewer than limit records
 * (max_peers, or up to JOIN_SLACK more while links are handed over). */
static uint32_t add_peer_upto(p2pc_node *n, const char *id, uint32_t limit) {
  uint32_t i = find_peer(n, id);
  if (i != NO_PEER)
    return i;
  if (n->npeers >= limit)
    return NO_PEER;
  init_peer(n, &n->peers[n->npeers], id);
  return n->npeers++;
}

static uint32_t add_peer(p2pc_node *n, const char *id) {
  return add_peer_upto(n, id, n->cfg.max_peers);
}

/* A node that wants to link to us while the table is full takes the slot
 * of a peer we only heard of and never had a session with (one that
 * refused us as full first). Without this, a table filled by peer exchange
 * locks out every later newcomer for good (found in the simulator: a
 * 200-node k-regular mesh joining over time). A table full of sessions
 * still refuses: forgetting a session the peer still holds would stall it
 * (PROTOCOL.md, "maxPeers"). */
static uint32_t add_peer_evicting(p2pc_node *n, const char *id) {
  uint32_t i = add_peer(n, id);
  if (i != NO_PEER)
    return i;
  uint32_t victim = NO_PEER;
  for (uint32_t k = 0; k < n->npeers; k++) {
    const peer *p = &n->peers[k];
    /* Never one we had a session with: it would come back expecting the
     * session to go on, and we would have forgotten it. */
    if (p->link != NO_LINK || p->dialing || p->qn || p->inc_known ||
        p->state != P2PC_PEER_DOWN)
      continue;
    if (victim == NO_PEER ||
        (p->refused_full && !n->peers[victim].refused_full))
      victim = k;
  }
  if (victim == NO_PEER)
    return NO_PEER;
  p2pc_timesync_peer_down(n->ts, n->peers[victim].id, n->now);
  init_peer(n, &n->peers[victim], id);
  return victim;
}

/* peer_up (with the address it listens on) or peer_down (with why). */
static void peer_event(p2pc_node *n, const peer *p, bool up, const char *why) {
  p2pc_event ev = {0};
  ev.type = up ? P2PC_EVENT_PEER_UP : P2PC_EVENT_PEER_DOWN;
  ev.peer = p->id;
  char as[64];
  if (up) {
    ev.u.peer.addr = p->addr;
    p2pc_addr_format(&p->addr, as, sizeof as);
  } else {
    ev.reason = why;
  }
  emit(n, &ev);
  char t[200] = "peers: ";
  str_cat(t, sizeof t, p->id);
  str_cat(t, sizeof t, up ? " up addr=" : " down reason=");
  str_cat(t, sizeof t, up ? as : why);
  logf_(n, P2PC_LOG_INFO, t);
}

static void free_queue(p2pc_node *n, peer *p) {
  for (uint32_t i = 0; i < p->qn; i++)
    n->a->free(p->q[i].frame, n->a->ud);
  p->qn = 0;
  p->qbytes = 0;
}

/*
 * The peer came back as a new incarnation: the session with the old one is
 * over. What it had not acknowledged can no longer reach it (its SES state
 * is gone), so those messages are reported undeliverable; its own messages
 * still on their way are given up on by retiring its old identity; both
 * streams start again from 1.
 */
static void end_session(p2pc_node *n, peer *p, const char *why) {
  n->undeliverable += p->qn;
  for (uint32_t i = 0; i < p->qn && observed(n); i++) {
    p2pc_event ev = {0};
    ev.type = P2PC_EVENT_UNDELIVERABLE;
    p2pc_msgid_from_session(&ev.msg, n->sesid, p->q[i].n);
    ev.peer = p->id;
    ev.outgoing = true;
    ev.reason = why;
    emit(n, &ev);
  }
  if (p->qn) {
    char t[160] = "peers: ";
    str_cat(t, sizeof t, p->id);
    str_cat(t, sizeof t, ": ");
    str_cat(t, sizeof t, why);
    str_cat(t, sizeof t, "; undelivered messages to it: ");
    str_u64(t, sizeof t, p->qn);
    logf_(n, P2PC_LOG_WARN, t);
  }
  free_queue(n, p);
  if (p->blocked) { /* the queue is empty now */
    p->blocked = false;
    p2pc_event ev = {0};
    ev.type = P2PC_EVENT_WRITABLE;
    ev.peer = p->id;
    emit(n, &ev);
  }
  stable_release(n, p); /* a new incarnation gets a slot of its own */
  if (p->inc_known)
    p2pc_causal_retire(n->causal, p->sesid, n->now.mono_ns);
  p->tx_next = 1;
  p->tx_acked = p->tx_written = 0;
  p->rx_cum = p->rx_beyond = 0;
  p->fast_for = 0;
  p->ack_due = false;
}

static void set_incarnation(p2pc_node *n, peer *p, uint64_t inc) {
  if (p->inc_known && p->inc == inc)
    return;
  if (p->inc_known)
    end_session(n, p, "peer restarted");
  p->inc = inc;
  p->inc_known = true;
  make_sesid(p->sesid, p->id, inc);
}

/* Whether anything was said on the session: then the peer must hold the
 * same numbers for it to go on. */
static bool has_session(const peer *p) {
  return p->inc_known && (p->tx_next > 1 || p->rx_cum > 0);
}

/* Being ended by agreement: no new messages (PROTOCOL.md, "Making room"). */
static bool leaving(const peer *p) { return p->leave_sent || p->leave_rcvd; }

/* The link broke or the peer never agreed: the session simply goes on. */
static void cancel_leave(peer *p) {
  p->leave_sent = p->leave_rcvd = false;
  p->leave_last = p->leave_until_ns = 0;
  memset(&p->next, 0, sizeof p->next);
}

/*
 * The peer (same incarnation) says it holds no session with us: it forgot
 * the session after ending it by agreement (a LEAVE whose last ACK did not
 * reach us before the link closed), or it dropped a record it held. Both
 * streams start again from lseq 1: our unacknowledged frames are numbered
 * again from 1 (a shorter or equal varint, rewritten in place) and sent
 * again. Any of them the peer had already taken is a duplicate its causal
 * layer drops (SES de-duplication by message number), so nothing is
 * delivered twice or lost.
 */
static void reset_session(p2pc_node *n, peer *p) {
  p->qbytes = 0;
  for (uint32_t i = 0; i < p->qn; i++) {
    txmsg *t = &p->q[i];
    uint8_t v[P2PC_VARINT_MAX];
    size_t vl = p2pc_varint_encode(v, i + 1);
    p2pc_reader r;
    uint64_t old;
    p2pc_reader_init(&r, t->frame + P2PC_WIRE_HDR, t->len - P2PC_WIRE_HDR);
    p2pc_reader_varint(&r, &old); /* our own frame: a valid varint */
    size_t ol = r.off;
    size_t tail = t->len - P2PC_WIRE_HDR - ol;
    memmove(t->frame + P2PC_WIRE_HDR + vl, t->frame + P2PC_WIRE_HDR + ol, tail);
    memcpy(t->frame + P2PC_WIRE_HDR, v, vl);
    t->len = P2PC_WIRE_HDR + vl + tail;
    p2pc_be32_write(t->frame, (uint32_t)(t->len - 4));
    t->lseq = i + 1;
    p->qbytes += t->len;
  }
  p->tx_next = (uint64_t)p->qn + 1;
  p->tx_acked = p->tx_written = 0;
  p->rx_cum = p->rx_beyond = 0;
  p->fast_for = 0;
  cancel_leave(p);
  char t[160] = "peers: ";
  str_cat(t, sizeof t, p->id);
  str_cat(t, sizeof t, " holds no session with us: starting it again");
  logf_(n, P2PC_LOG_INFO, t);
}

/* Writes the session's unwritten DATA frames whose chaos hold is over, in
 * order; stops at the first one still held (order on a link is kept). */
static void flush_peer(p2pc_node *n, peer *p) {
  link *l = p->link == NO_LINK ? NULL : get_link(n, p->link);
  if (!l || l->state != L_UP)
    return;
  /* The queue holds tx_acked + 1, tx_acked + 2, ... in order, so the first
   * frame not yet written is at tx_written - tx_acked. */
  for (uint32_t i = (uint32_t)(p->tx_written - p->tx_acked); i < p->qn; i++) {
    txmsg *t = &p->q[i];
    if (t->release_ns > n->now.mono_ns)
      break;
    if (l->out.len + t->len > n->cfg.max_link_output)
      break; /* the socket is not draining: wait for it */
    p->tx_written = t->lseq;
    if (n->cfg.chaos_drop > 0 && rng_unit(n) < n->cfg.chaos_drop)
      continue; /* lost on the wire: the resend timer repairs it */
    p2pc_buf_put(&l->out, t->frame, t->len);
  }
  if (p->ack_due) {
    p->ack_due = false;
    if (!(n->cfg.chaos_drop > 0 && rng_unit(n) < n->cfg.chaos_drop))
      frame_to_link(n, p->link, P2PC_FRAME_ACK, &p->rx_beyond, p->rx_cum);
    p->rx_beyond = 0;
    /* New deliveries: say so now, not at the next heartbeat; the sender's
     * LS, and with it everyone's pruning of its entries, waits for it. */
    uint64_t dl = 0, wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
    uint32_t nwo = 0;
    if (p->inc_known)
      p2pc_causal_report_for(n->causal, p->sesid, &dl, wo, &nwo);
    if (dl != p->st_delivered)
      stable_send(n, p->link);
  }
}

static void schedule_dial(p2pc_node *n, peer *p) {
  if (!p->addr_known || p->link != NO_LINK || p->dialing)
    return;
  /* Exponential back-off with jitter: [b/2, b), doubling up to the max. */
  uint64_t b = p->backoff_ns;
  p->next_dial_ns = n->now.mono_ns + b / 2 + rng_below(n, b / 2 + 1);
  p->backoff_ns = b * 2 > n->cfg.redial_max_ns ? n->cfg.redial_max_ns : b * 2;
}

static void peer_down(p2pc_node *n, peer *p, const char *reason) {
  bool was_up = p->state == P2PC_PEER_UP || p->state == P2PC_PEER_SUSPECT;
  p->link = NO_LINK;
  p->state = P2PC_PEER_DOWN;
  cancel_leave(p);
  if (was_up) {
    peer_event(n, p, false, reason);
    p2pc_timesync_peer_down(n->ts, p->id, n->now);
  }
  /* Its report stays counted, frozen, until it comes back or the hold
   * is over; the slot stays its own. */
  if (p->skey != NO_KEY)
    stable_down(n, p);
  if (!n->stopping)
    schedule_dial(n, p);
}

/* ---- the causal layer's clock ------------------------------------------ */

/* Gives the causal layer the network time and its error bound (an
 * unsynchronized clock has no honest bound: no stamp is refused then). */
static void causal_time(p2pc_node *n) {
  int64_t net = p2pc_timesync_time(n->ts, n->now.local_ns);
  double err = p2pc_timesync_error(n->ts, n->now.local_ns);
  uint64_t e = err < 0 || err > 1e15 ? (uint64_t)1e15 : (uint64_t)err;
  p2pc_causal_set_time(n->causal, net, e, n->now.mono_ns);
}

/* The causal layer gave up on message msg_n to dest_sesid: if it still
 * waits in the session's queue, it goes as a tombstone (lseq only), so
 * the link's numbering holds and the payload is not resent. */
static void tombstone(p2pc_node *n, const char *dest_sesid, uint64_t msg_n) {
  for (uint32_t i = 0; i < n->npeers; i++) {
    peer *p = &n->peers[i];
    if (!p->inc_known || strcmp(p->sesid, dest_sesid) != 0)
      continue;
    for (uint32_t k = 0; k < p->qn; k++) {
      txmsg *t = &p->q[k];
      if (t->n != msg_n)
        continue;
      size_t vl = p2pc_varint_encode(t->frame + P2PC_WIRE_HDR, t->lseq);
      size_t len = P2PC_WIRE_HDR + vl;
      p->qbytes -= t->len - len;
      t->len = len;
      p2pc_be32_write(t->frame, (uint32_t)(len - 4));
      return;
    }
    return;
  }
}

/* A peer's message was not taken: its stamp leads our clock by more than
 * the error bound allows. It comes again; say so at most once a second. */
static void refused_ahead(p2pc_node *n, const p2pc_causal_event *ev) {
  if (n->refused_ahead_logged_ns &&
      n->now.mono_ns - n->refused_ahead_logged_ns < 1000000000ull)
    return;
  n->refused_ahead_logged_ns = n->now.mono_ns;
  char t[256] = "causal: refused msg=";
  str_cat(t, sizeof t, ev->sender);
  str_cat(t, sizeof t, ":");
  str_u64(t, sizeof t, ev->n);
  str_cat(t, sizeof t, ": its stamp leads our clock by ");
  uint64_t lead = ev->stamp > ev->hlc ? ev->stamp - ev->hlc : 0;
  str_u64(t, sizeof t, lead / 1000000);
  str_cat(t, sizeof t,
          " ms, beyond our error bound (its clock is ahead, or "
          "ours is behind)");
  logf_(n, P2PC_LOG_WARN, t);
}

/* ---- stability (stable.h; PROTOCOL.md, "Stability") -----------------------
 */

_Static_assert(P2PC_CAUSAL_LEVELS == P2PC_STABLE_DEPTH + 1,
               "the causal layer takes every stability level");

static uint64_t node_hlc(const p2pc_node *n) {
  return p2pc_causal_hlc(n->causal);
}

static bool key_taken(const p2pc_node *n, uint32_t k) {
  for (uint32_t i = 0; i < n->npeers; i++)
    if (n->peers[i].skey == k)
      return true;
  return false;
}

/* The slot of p's current incarnation, handed out on first need. A slot
 * whose report is frozen is reused only once its hold is over; if every
 * free one is taken, a frozen one nobody holds is folded into the floor. */
static uint32_t stable_key(p2pc_node *n, peer *p) {
  if (p->skey != NO_KEY)
    return p->skey;
  for (uint32_t k = 0; k < n->st_keys; k++)
    if (p2pc_stable_slot(n->st, k) == P2PC_STABLE_EMPTY && !key_taken(n, k))
      return p->st_data = false, p->skey = k;
  uint64_t hlc = node_hlc(n);
  for (uint32_t k = 0; k < n->st_keys; k++) {
    if (p2pc_stable_slot(n->st, k) != P2PC_STABLE_FROZEN || key_taken(n, k))
      continue;
    /* G is at most every value of any report counted (a[D] <= r[D-1]). */
    uint64_t g = p2pc_stable_global(n->st);
    if (hlc >= n->st_floor_until || g < n->st_floor)
      n->st_floor = g;
    uint64_t until =
        n->st_hold > UINT64_MAX - hlc ? UINT64_MAX : hlc + n->st_hold;
    if (until > n->st_floor_until)
      n->st_floor_until = until;
    p2pc_stable_forget(n->st, k);
    return p->st_data = false, p->skey = k;
  }
  return NO_KEY; /* more live links than slots: cannot happen */
}

/* p's link is gone. Its report is frozen — it stays counted until its
 * hold is over — if a message of p's was taken since the report came:
 * that message's entries reached us over this link, and their retirement
 * by level relies on it (every chain's inequality uses the reports on its
 * own links). If none was, no chain crosses the link, and the report goes
 * at once: joins that hand links over early pin no levels. */
static void stable_down(p2pc_node *n, peer *p) {
  if (p->st_data)
    p2pc_stable_link_down(n->st, p->skey, node_hlc(n));
  else
    p2pc_stable_forget(n->st, p->skey);
}

/* p's incarnation is over, or its record goes: its report stays counted
 * (frozen) until its hold is over, and the slot is no longer p's. */
static void stable_release(p2pc_node *n, peer *p) {
  if (p->skey == NO_KEY)
    return;
  stable_down(n, p);
  p->skey = NO_KEY;
}

/* One STABLE frame on link lid: the report, and what this node delivered
 * and wrote off of the peer's stream. */
static void stable_frame(p2pc_node *n, uint32_t lid,
                         const p2pc_stable_report *rep) {
  link *l = get_link(n, lid);
  if (!l || l->state != L_UP || l->peer == NO_PEER)
    return;
  peer *p = &n->peers[l->peer];
  p2pc_wire_stable ws;
  memset(&ws, 0, sizeof ws);
  ws.rep = *rep;
  if (p->inc_known) {
    uint32_t nwo = 0;
    p2pc_causal_report_for(n->causal, p->sesid, &ws.delivered, ws.expired,
                           &nwo);
    ws.nexpired = 2 * nwo;
  }
  p->st_delivered = ws.delivered;
  frame_to_link(n, lid, P2PC_FRAME_STABLE, &ws, 0);
}

/* Sends this node's report on link lid, or on every link that is up when
 * lid is NO_LINK or a level fell since the last report (then before any
 * more DATA on any link). */
static void stable_send(p2pc_node *n, uint32_t lid) {
  bool all = lid == NO_LINK || p2pc_stable_decreased(n->st);
  p2pc_stable_report rep;
  p2pc_stable_report_out(n->st, &rep);
  for (uint32_t i = 0; i < n->links_hw; i++)
    if (n->links[i].state == L_UP && (all || i == lid))
      stable_frame(n, i, &rep);
}

/* Recomputes the levels from this node's LS and the reports held, hands
 * them to the causal layer, and reports a fall at once (on every link:
 * then true). */
static bool stable_update(p2pc_node *n) {
  uint64_t hlc = node_hlc(n);
  p2pc_stable_tick(n->st, hlc);
  p2pc_stable_refresh(n->st);
  uint64_t ls = p2pc_causal_local_stable(n->causal);
  if (hlc < n->st_floor_until && n->st_floor < ls)
    ls = n->st_floor;
  p2pc_stable_set_local(n->st, ls);
  uint64_t lv[P2PC_CAUSAL_LEVELS];
  for (uint32_t d = 0; d < P2PC_CAUSAL_LEVELS; d++)
    lv[d] = p2pc_stable_level(n->st, d);
  p2pc_causal_set_stable_levels(n->causal, lv, P2PC_CAUSAL_LEVELS);
  if (!p2pc_stable_decreased(n->st))
    return false;
  stable_send(n, NO_LINK);
  return true;
}

/* ---- sending ------------------------------------------------------------- */

static int send_to(p2pc_node *n, peer *p, const uint8_t *payload, size_t len) {
  if (!p->inc_known || leaving(p))
    return P2PC_ERR_NOTFOUND; /* no session yet, or it is being ended */
  if (p->qn >= n->cfg.max_unacked ||
      p->qbytes + len > n->cfg.max_unacked_bytes) {
    p->blocked = true;
    return P2PC_ERR_FULL;
  }
  if (p->qn == p->qcap) {
    uint32_t cap = p->qcap ? p->qcap * 2 : 16;
    txmsg *q = n->a->realloc(p->q, (size_t)cap * sizeof *q, n->a->ud);
    if (!q)
      return P2PC_ERR_NOMEM;
    p->q = q;
    p->qcap = cap;
  }
  p2pc_buf *b = &n->scratch;
  p2pc_buf_reset(b);
  long at = p2pc_wire_frame_begin(b, P2PC_FRAME_DATA);
  if (at < 0)
    return (int)at;
  causal_time(n);
  int rv = p2pc_buf_put_varint(b, p->tx_next);
  if (!rv)
    rv = p2pc_causal_send(n->causal, p->sesid, payload, len, n->now.mono_ns, b);
  if (rv)
    return rv;
  /* The SES step is done; a frame over the limit now would be a message
   * stamped but never sent, so the limit is checked against the payload up
   * front in p2pc_node_send and this cannot fail. */
  p2pc_wire_frame_end(b, at, P2PC_WIRE_MAX_FRAME_LIMIT);
  /* The queue takes the scratch buffer's storage: no allocation (and so
   * no failure) between stamping the message and queueing it. */
  txmsg *t = &p->q[p->qn];
  t->frame = b->data;
  t->len = b->len;
  p2pc_buf_init(b, n->a, b->max);
  t->lseq = p->tx_next++;
  t->n = p2pc_causal_sent(n->causal);
  uint64_t hold = 0;
  if (n->cfg.chaos_delay_max_ns)
    hold =
        n->cfg.chaos_delay_min_ns +
        rng_below(n, n->cfg.chaos_delay_max_ns - n->cfg.chaos_delay_min_ns + 1);
  t->release_ns = n->now.mono_ns + hold;
  if (p->qn && p->q[p->qn - 1].release_ns > t->release_ns)
    t->release_ns = p->q[p->qn - 1].release_ns;
  if (p->qn == 0)
    p->last_progress_ns = n->now.mono_ns;
  p->qn++;
  p->qbytes += t->len; /* the same measure on_ack takes off */
  p->sent++;
  flush_peer(n, p);
  return 0;
}

/* ---- seeds without a known ID -----------------------------------------------
 */

static peer *peer_by_addr(p2pc_node *n, const p2pc_wire_addr *addr,
                          const char *id) {
  uint32_t pi = id && *id ? find_peer(n, id) : NO_PEER;
  if (pi != NO_PEER)
    return &n->peers[pi];
  for (uint32_t i = 0; i < n->npeers; i++)
    if (n->peers[i].addr_known && addr_eq(&n->peers[i].addr, addr))
      return &n->peers[i];
  return NULL;
}

/* A configured address whose node ID we learn from its HELLO. */
typedef struct anon_seed {
  p2pc_wire_addr addr;
  bool done, dialing;
  uint64_t next_dial_ns, backoff_ns;
} anon_seed;

static anon_seed *anon_by_addr(p2pc_node *n, const p2pc_wire_addr *addr) {
  for (uint32_t i = 0; i < n->nanon; i++)
    if (addr_eq(&n->anon[i].addr, addr))
      return &n->anon[i];
  return NULL;
}

static void anon_backoff(p2pc_node *n, anon_seed *s) {
  uint64_t b = s->backoff_ns;
  s->dialing = false;
  s->next_dial_ns = n->now.mono_ns + b / 2 + rng_below(n, b / 2 + 1);
  s->backoff_ns = b * 2 > n->cfg.redial_max_ns ? n->cfg.redial_max_ns : b * 2;
}

static void anon_dials(p2pc_node *n) {
  for (uint32_t i = 0; i < n->nanon && !n->stopping; i++) {
    anon_seed *s = &n->anon[i];
    if (s->done || s->dialing || n->now.mono_ns < s->next_dial_ns)
      continue;
    /* Known under its ID by now (learned by exchange)? Then that entry
     * dials it. */
    if (peer_by_addr(n, &s->addr, NULL)) {
      s->done = true;
      continue;
    }
    /* A full table could not take whoever answers: dialing would only
     * make the other side take us for up and then be refused (it queued
     * messages for us that never came). Wait until there is room. */
    if (n->npeers >= n->cfg.max_peers) {
      s->next_dial_ns = n->now.mono_ns + n->cfg.redial_max_ns;
      continue;
    }
    p2pc_action a = {.kind = P2PC_ACT_DIAL, .addr = s->addr};
    push_action(n, &a);
    s->dialing = true;
  }
}

/* ---- the handshake --------------------------------------------------------
 */

static void send_peers(p2pc_node *n, p2pc_link_id lid, uint32_t except) {
  p2pc_wire_peer *list =
      n->a->realloc(NULL, ((size_t)n->npeers + 1) * sizeof *list, n->a->ud);
  if (!list)
    return; /* exchange is best effort; the next handshake repeats it */
  size_t k = 0;
  for (uint32_t i = 0; i < n->npeers && k < P2PC_WIRE_MAX_PEERS; i++) {
    const peer *p = &n->peers[i];
    if (i == except || !p->addr_known || !p->inc_known)
      continue;
    memset(&list[k], 0, sizeof list[k]);
    str_cat(list[k].id, sizeof list[k].id, p->id);
    list[k].incarnation = p->inc;
    list[k].addr = p->addr;
    k++;
  }
  p2pc_buf_reset(&n->scratch);
  long at = p2pc_wire_frame_begin(&n->scratch, P2PC_FRAME_PEERS);
  if (at >= 0 && p2pc_wire_peers_put(&n->scratch, list, k) == 0 &&
      p2pc_wire_frame_end(&n->scratch, at, n->cfg.max_frame) == 0) {
    link *l = get_link(n, lid);
    if (l)
      link_write(n, l);
  }
  n->a->free(list, n->a->ud);
}

/* ---- making room: ending a session by agreement ------------------------
 *
 * A full node that a joining node dials gives up one of its links to take
 * it in: it sends that peer LEAVE, naming the newcomer, and the peer links
 * to the newcomer instead (the newcomer splits an edge of the mesh, as in
 * the classic join of a random regular graph; HyParView's JOIN drops a
 * random active link the same way). Both ends stop taking new messages for
 * the session, finish what is in flight, and forget each other once each
 * has sent LEAVE, received the other's, had everything acknowledged and
 * taken everything the other sent (PROTOCOL.md, "Making room").
 */

/* Fewer than half of the peer slots linked (or being dialed to join). */
static bool needy(const p2pc_node *n) {
  uint32_t k = 0, want = n->cfg.max_peers / 2 ? n->cfg.max_peers / 2 : 1;
  for (uint32_t i = 0; i < n->links_hw; i++)
    k += n->links[i].state == L_UP ||
         (n->links[i].state == L_HELLO && n->links[i].join);
  return k < want;
}

static void send_leave(p2pc_node *n, peer *p, const p2pc_wire_peer *next) {
  link *l = p->link == NO_LINK ? NULL : get_link(n, p->link);
  if (!l || l->state != L_UP)
    return;
  p2pc_buf_reset(&n->scratch);
  long at = p2pc_wire_frame_begin(&n->scratch, P2PC_FRAME_LEAVE);
  if (at < 0 || p2pc_wire_leave_put(&n->scratch, p->tx_next - 1, next) ||
      p2pc_wire_frame_end(&n->scratch, at, n->cfg.max_frame))
    return;
  link_write(n, l);
  p->leave_sent = true;
  if (!p->leave_until_ns)
    p->leave_until_ns = n->now.mono_ns + LEAVE_TIMEOUT_NS;
}

/* Also: the peer has reported every message we sent it delivered (or
 * written off). Otherwise, once the session is forgotten, no report could
 * come, and those messages would hold this node's LS — and every node's
 * pruning — back until they are older than Δ. */
static bool leave_done(const p2pc_node *n, const peer *p) {
  return p->leave_sent && p->leave_rcvd && p->qn == 0 &&
         p->rx_cum >= p->leave_last &&
         p2pc_causal_pending_to(n->causal, p->sesid) == 0;
}

/* Drops peer record pi. Its slot goes to the node it named, if that one is
 * new to us; otherwise the last record moves into it. */
static void forget_peer(p2pc_node *n, uint32_t pi) {
  peer *p = &n->peers[pi];
  p2pc_wire_peer next = p->next;
  free_queue(n, p);
  stable_release(n, p);
  n->a->free(p->q, n->a->ud);
  p->q = NULL;
  bool adopt = next.id[0] && next.addr.family && strcmp(next.id, n->id) != 0 &&
               find_peer(n, next.id) == NO_PEER;
  uint32_t last = adopt ? NO_PEER : --n->npeers; /* moves into slot pi */
  for (uint32_t i = 0; i < n->links_hw; i++) {
    link *l = &n->links[i];
    if (l->state != L_FREE && l->peer == pi)
      l->peer = NO_PEER;
    else if (l->state != L_FREE && l->peer == last)
      l->peer = pi;
  }
  if (adopt) {
    init_peer(n, p, next.id);
    p->addr = next.addr;
    p->addr_known = true;
    p->next_dial_ns = n->now.mono_ns;
  } else if (pi != last) {
    n->peers[pi] = n->peers[last];
  }
}

static void finish_leave(p2pc_node *n, uint32_t pi) {
  peer *p = &n->peers[pi];
  flush_peer(n, p); /* our last ACK goes before the close */
  uint32_t lid = p->link;
  p->link = NO_LINK;
  close_link(n, lid, 0, NULL);
  peer_event(n, p, false, "left");
  p2pc_timesync_peer_down(n->ts, p->id, n->now);
  forget_peer(n, pi);
}

static void on_leave(p2pc_node *n, peer *p, uint64_t last,
                     const p2pc_wire_peer *next) {
  p->leave_rcvd = true;
  p->leave_last = last;
  p->next = *next;
  if (!p->leave_until_ns)
    p->leave_until_ns = n->now.mono_ns + LEAVE_TIMEOUT_NS;
  if (!p->leave_sent)
    send_leave(n, p, NULL);
  char t[200] = "peers: ";
  str_cat(t, sizeof t, p->id);
  str_cat(t, sizeof t, " ends our session to make room");
  if (next->id[0]) {
    str_cat(t, sizeof t, "; linking to ");
    str_cat(t, sizeof t, next->id);
    str_cat(t, sizeof t, " instead");
  }
  logf_(n, P2PC_LOG_INFO, t);
}

/* A full node takes a joining one in by giving up one of its links, drawn
 * at random among those up and not already being given up. */
static uint32_t make_room(p2pc_node *n, const p2pc_wire_hello *h) {
  if (n->npeers >= n->cfg.max_peers + JOIN_SLACK)
    return NO_PEER;
  uint32_t victim = NO_PEER, cand = 0;
  for (uint32_t k = 0; k < n->npeers; k++) {
    const peer *q = &n->peers[k];
    if (q->link == NO_LINK || n->links[q->link].state != L_UP ||
        !q->inc_known || leaving(q))
      continue;
    if (rng_below(n, ++cand) == 0)
      victim = k;
  }
  if (victim == NO_PEER)
    return NO_PEER;
  p2pc_wire_peer next;
  memset(&next, 0, sizeof next);
  if (h->listen.family) {
    str_cat(next.id, sizeof next.id, h->id);
    next.incarnation = h->incarnation;
    next.addr = h->listen;
  }
  peer *v = &n->peers[victim];
  send_leave(n, v, &next);
  char t[200] = "peers: table full: ending the session with ";
  str_cat(t, sizeof t, v->id);
  str_cat(t, sizeof t, " to take in ");
  str_cat(t, sizeof t, h->id);
  logf_(n, P2PC_LOG_INFO, t);
  return add_peer_upto(n, h->id, n->cfg.max_peers + JOIN_SLACK);
}

/* Which of two links to one peer survives: the one opened by the node with
 * the smaller ID, so that both ends pick the same; if one node opened both
 * (a reconnect while the old link looked alive), the newer. */
static bool keep_new_link(const p2pc_node *n, const peer *p, const link *old,
                          const link *nw) {
  bool self_smaller = strcmp(n->id, p->id) < 0;
  bool old_by_small = old->outbound == self_smaller;
  bool new_by_small = nw->outbound == self_smaller;
  if (old_by_small == new_by_small)
    return true;
  return new_by_small;
}

static int on_hello(p2pc_node *n, p2pc_link_id lid, const uint8_t *b,
                    size_t len) {
  link *l = &n->links[lid];
  p2pc_wire_hello h;
  char t[200];
  int rv = p2pc_wire_hello_get(b, len, &h);
  if (rv == P2PC_ERR_VERSION) {
    char why[120] = "unsupported protocol version ";
    str_u64(why, sizeof why, h.version);
    str_cat(why, sizeof why, ", this node speaks ");
    str_u64(why, sizeof why, P2PC_WIRE_VERSION);
    close_link(n, lid, P2PC_WIRE_E_VERSION, why);
    strcpy(t, "link: handshake refused: ");
    str_cat(t, sizeof t, why);
    logf_(n, P2PC_LOG_WARN, t);
    return P2PC_ERR_VERSION;
  }
  if (rv < 0)
    return rv;
  if (strcmp(h.id, n->id) == 0) {
    char why[140] = "node ID ";
    str_cat(why, sizeof why, h.id);
    str_cat(why, sizeof why, " is already in use by the node you dialed");
    close_link(n, lid, P2PC_WIRE_E_DUPLICATE, why);
    strcpy(t, "link: handshake refused: a peer claims this node's ID ");
    str_cat(t, sizeof t, h.id);
    logf_(n, P2PC_LOG_WARN, t);
    return P2PC_ERR_PROTO;
  }
  uint32_t pi = find_peer(n, h.id);
  /* We hold a session with it that a fresh peer would not know of (not
   * while another link of the session is up: then the HELLO is from a
   * second link dialed before the session began). */
  bool held = pi != NO_PEER && has_session(&n->peers[pi]) &&
              n->peers[pi].inc == h.incarnation;
  bool other_up = held && n->peers[pi].link != NO_LINK &&
                  n->peers[pi].link != lid &&
                  n->links[n->peers[pi].link].state == L_UP;
  if (pi == NO_PEER)
    pi = add_peer_evicting(n, h.id);
  if (pi == NO_PEER && (h.flags & P2PC_HELLO_JOIN))
    pi = make_room(n, &h);
  /* The answer of a node we dialed: it took us in already (and may have
   * queued messages for us), so refusing it now would strand them. Dials
   * in flight can outnumber the free slots; the slack takes them. */
  if (pi == NO_PEER && l->outbound)
    pi = add_peer_upto(n, h.id, n->cfg.max_peers + JOIN_SLACK);
  if (pi == NO_PEER) {
    close_link(n, lid, P2PC_WIRE_E_FULL, "peer table full (maxPeers)");
    return P2PC_ERR_FULL;
  }
  peer *p = &n->peers[pi];
  if (p->link != NO_LINK && p->link != lid) {
    link *old = &n->links[p->link];
    if (p->inc_known && p->inc == h.incarnation &&
        !keep_new_link(n, p, old, l)) {
      /* A duplicate link to a live session: this one goes, quietly (the
       * peer applies the same rule and closes the same link). */
      p->dialing = false;
      close_link(n, lid, 0, NULL);
      return 0;
    }
    uint32_t oldid = p->link;
    p->link = NO_LINK;
    close_link(n, oldid, 0, NULL);
  }
  if (h.incarnation < p->inc && p->inc_known) {
    close_link(n, lid, P2PC_WIRE_E_PROTO, "stale incarnation");
    return P2PC_ERR_PROTO;
  }
  set_incarnation(n, p, h.incarnation);
  if (held && !other_up && (h.flags & P2PC_HELLO_FRESH))
    reset_session(n, p);
  if (h.listen.family) {
    p->addr = h.listen;
    p->addr_known = true;
  }
  if (l->outbound) {
    anon_seed *s = anon_by_addr(n, &l->addr);
    if (s)
      s->done = true;
  }
  l->peer = pi;
  l->state = L_UP;
  if (!l->outbound)
    send_hello(n, lid, held ? 0 : P2PC_HELLO_FRESH);
  p->link = lid;
  p->dialing = false;
  p->state = P2PC_PEER_UP;
  p->refused_full = false;
  p->backoff_ns = n->cfg.redial_min_ns;
  /* Everything not acknowledged goes again on this link, after the peer's
   * ACK tells us where it is; until then, from the last known ack. */
  p->tx_written = p->tx_acked;
  p->last_progress_ns = n->now.mono_ns;
  p->ack_due = true;
  peer_event(n, p, true, NULL);
  if (p->addr_known)
    p2pc_timesync_peer_up(n->ts, p->id, &p->addr, n->now);
  p2pc_wire_announce an;
  p2pc_timesync_announce_out(n->ts, false, n->now, &an);
  frame_to_link(n, lid, P2PC_FRAME_ANNOUNCE, &an, 0);
  /* The link's first report goes before any DATA on it. */
  n->links[lid].stable_rx = false;
  stable_key(n, p);
  if (!stable_update(n)) /* else it went on every link, this one too */
    stable_send(n, lid);
  flush_peer(n, p);
  send_peers(n, lid, pi);
  return 0;
}

static void on_peers(p2pc_node *n, const uint8_t *b, size_t len) {
  p2pc_wire_peer *list =
      n->a->realloc(NULL, P2PC_WIRE_MAX_PEERS * sizeof *list, n->a->ud);
  size_t k = 0;
  if (!list)
    return;
  if (p2pc_wire_peers_get(b, len, list, P2PC_WIRE_MAX_PEERS, &k) > 0) {
    for (size_t i = 0; i < k; i++) {
      if (strcmp(list[i].id, n->id) == 0 || !list[i].addr.family)
        continue;
      uint32_t pi = add_peer(n, list[i].id);
      if (pi == NO_PEER)
        break; /* maxPeers: the mesh stays partial here */
      peer *p = &n->peers[pi];
      /* A newer incarnation heard of second-hand ends the old session now,
       * so nothing waits for the old one's lost messages. */
      if (p->inc_known && list[i].incarnation > p->inc && p->link == NO_LINK)
        set_incarnation(n, p, list[i].incarnation);
      if (!p->addr_known) {
        p->addr = list[i].addr;
        p->addr_known = true;
        p->next_dial_ns = n->now.mono_ns;
      }
    }
  }
  n->a->free(list, n->a->ud);
}

/* ---- input ------------------------------------------------------------------
 */

static int proto_error(p2pc_node *n, p2pc_link_id lid, const char *what) {
  char t[200] = "link: dropping a connection: ";
  str_cat(t, sizeof t, what);
  link *l = &n->links[lid];
  if (l->peer != NO_PEER) {
    str_cat(t, sizeof t, " peer=");
    str_cat(t, sizeof t, n->peers[l->peer].id);
  }
  logf_(n, P2PC_LOG_WARN, t);
  close_link(n, lid, P2PC_WIRE_E_PROTO, what);
  return P2PC_ERR_PROTO;
}

static int on_data(p2pc_node *n, peer *p, const uint8_t *b, size_t len) {
  p2pc_reader r;
  uint64_t lseq;
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &lseq))
    return P2PC_ERR_PROTO;
  /* Not before the link's first STABLE: what the message carries must be
   * covered by the peer's report (PROTOCOL.md, "Stability"). Not taken,
   * not acknowledged: it comes again. */
  const link *via = p->link == NO_LINK ? NULL : get_link(n, p->link);
  if (!via || !via->stable_rx)
    return 0;
  p->ack_due = true;
  if (lseq != p->rx_cum + 1) {
    if (lseq > p->rx_cum + 1)
      p->rx_beyond++; /* past a hole: the ack asks for a resend */
    return 0;         /* or a resend we have: the ack says where we are */
  }
  if (r.off == len) {
    /* A tombstone: a message its sender gave up on (expired). */
    p->rx_cum = lseq;
    return 0;
  }
  causal_time(n);
  int rv = p2pc_causal_receive(n->causal, p->sesid, b + r.off, len - r.off,
                               n->now.mono_ns);
  if (rv == P2PC_ERR_FULL || rv == P2PC_ERR_NOMEM || rv == P2PC_ERR_AHEAD)
    return 0; /* not taken: not acknowledged, so it comes again */
  p->rx_cum = lseq;
  p->st_data = true;
  if (rv == 0) {
    p->delivered_from++;
    return 0;
  }
  /* Malformed or unacceptable for good: acknowledged and dropped, so the
   * stream goes on (resending it would fail the same way forever). */
  char t[160] = "causal: dropped a message from ";
  str_cat(t, sizeof t, p->id);
  str_cat(t, sizeof t, ": ");
  str_cat(t, sizeof t, p2pc_strerror(rv));
  logf_(n, P2PC_LOG_WARN, t);
  return 0;
}

static void on_ack(p2pc_node *n, peer *p, uint64_t cum, uint64_t beyond) {
  if (cum >= p->tx_next || cum < p->tx_acked)
    return;
  /* Frames arrived past a hole: send again from the hole at once (fast
   * retransmit), once per hole, rather than wait for the resend timer. */
  if (beyond && cum < p->tx_written &&
      (p->fast_for != cum + 1 ||
       n->now.mono_ns - p->fast_at_ns >= n->cfg.resend_ns / 10)) {
    /* again for the same hole only after a while: the resent frame may
     * itself be lost, but a burst of acks must not trigger a burst */
    p->fast_for = cum + 1;
    p->fast_at_ns = n->now.mono_ns;
    p->tx_written = cum;
  }
  if (cum == p->tx_acked)
    return;
  uint32_t k = 0;
  while (k < p->qn && p->q[k].lseq <= cum) {
    p->qbytes -= p->q[k].len;
    n->a->free(p->q[k].frame, n->a->ud);
    k++;
  }
  memmove(p->q, p->q + k, (p->qn - k) * sizeof *p->q);
  p->qn -= k;
  p->tx_acked = cum;
  if (p->tx_written < cum)
    p->tx_written = cum;
  p->last_progress_ns = n->now.mono_ns;
  /* Back-pressure eased: with half the room free a sender blocked on
   * this peer can go on (a margin, so it does not flap at the limit). */
  if (p->blocked && p->qn <= n->cfg.max_unacked / 2 &&
      p->qbytes <= n->cfg.max_unacked_bytes / 2) {
    p->blocked = false;
    p2pc_event ev = {0};
    ev.type = P2PC_EVENT_WRITABLE;
    ev.peer = p->id;
    emit(n, &ev);
  }
}

/* A better reference was heard: tell every neighbour now rather than at
 * the next heartbeat (timesync decides when, and limits how often), and
 * keep saying it with the heartbeats. */
static void relay_announce(p2pc_node *n) {
  p2pc_wire_announce an;
  if (!p2pc_timesync_announce_relay(n->ts, n->now, &an) || n->stopping)
    return;
  n->ann = an;
  for (uint32_t i = 0; i < n->links_hw; i++)
    if (n->links[i].state == L_UP)
      frame_to_link(n, i, P2PC_FRAME_ANNOUNCE, &n->ann, 0);
}

static int on_frame(p2pc_node *n, p2pc_link_id lid, const p2pc_frame *f) {
  link *l = &n->links[lid];
  if (l->state == L_HELLO) {
    if (f->type == P2PC_FRAME_ERROR) {
      p2pc_wire_error e;
      if (p2pc_wire_error_get(f->body, f->body_len, &e) > 0) {
        char t[400] = "link: peer refused the handshake: ";
        str_cat(t, sizeof t, e.reason);
        logf_(n, P2PC_LOG_ERROR, t);
      }
      close_link(n, lid, 0, NULL);
      return P2PC_ERR_PROTO;
    }
    if (f->type != P2PC_FRAME_HELLO)
      return proto_error(n, lid, "first frame is not HELLO");
    int rv = on_hello(n, lid, f->body, f->body_len);
    if (rv == P2PC_ERR_PROTO && l->state == L_HELLO)
      return proto_error(n, lid, "malformed HELLO");
    return rv;
  }
  if (l->state != L_UP)
    return 0; /* closing: ignore the rest */
  peer *p = &n->peers[l->peer];
  uint64_t v;
  if (p->skey != NO_KEY) /* heard from: a frozen report's hold restarts */
    p2pc_stable_heard(n->st, p->skey, node_hlc(n));
  switch (f->type) {
  case P2PC_FRAME_DATA:
    if (on_data(n, p, f->body, f->body_len) < 0)
      return proto_error(n, lid, "malformed DATA");
    return 0;
  case P2PC_FRAME_ACK: {
    uint64_t beyond;
    if (p2pc_wire_ack_get(f->body, f->body_len, &v, &beyond) < 0)
      return proto_error(n, lid, "malformed ACK");
    on_ack(n, p, v, beyond);
    return 0;
  }
  case P2PC_FRAME_PEERS:
    on_peers(n, f->body, f->body_len);
    return 0;
  case P2PC_FRAME_PING:
    if (p2pc_wire_ping_get(f->body, f->body_len, &v) < 0)
      return proto_error(n, lid, "malformed PING");
    /* Not answered (and no longer sent: the STABLE report is the
     * heartbeat); any frame
     * is a sign of life, so a PONG would only double the wake-ups (a
     * third of the simulator's events at 10,000 nodes). */
    return 0;
  case P2PC_FRAME_PONG:
    return 0;
  case P2PC_FRAME_LEAVE: {
    p2pc_wire_peer next;
    if (p2pc_wire_leave_get(f->body, f->body_len, &v, &next) < 0 ||
        v >= UINT64_MAX / 2)
      return proto_error(n, lid, "malformed LEAVE");
    on_leave(n, p, v, &next);
    return 0;
  }
  case P2PC_FRAME_STABLE: {
    p2pc_wire_stable ws;
    if (p2pc_wire_stable_get(f->body, f->body_len, &ws) < 0)
      return proto_error(n, lid, "malformed STABLE");
    uint32_t k = stable_key(n, p);
    causal_time(n);
    if (k != NO_KEY &&
        p2pc_stable_report_in(n->st, k, &ws.rep, node_hlc(n)) == 0)
      l->stable_rx = true; /* its DATA is covered from now on */
    if (p->inc_known &&
        p2pc_causal_peer_report(n->causal, p->sesid, ws.delivered, ws.expired,
                                ws.nexpired / 2, n->now.mono_ns) != 0) {
      char t[160] = "causal: ignored a delivery report from ";
      str_cat(t, sizeof t, p->id);
      str_cat(t, sizeof t, ": beyond what we sent it");
      logf_(n, P2PC_LOG_WARN, t);
    }
    if (p->inc_known)
      p2pc_causal_set_peer_stable(n->causal, p->sesid, ws.rep.v[0]);
    /* A fall goes on at once, before any more DATA; rises wait for the
     * heartbeat's refresh (stable.h: lower levels are safe). */
    if (p2pc_stable_decreased(n->st))
      stable_send(n, NO_LINK);
    return 0;
  }
  case P2PC_FRAME_ANNOUNCE: {
    p2pc_wire_announce an;
    if (p2pc_wire_announce_get(f->body, f->body_len, &an) < 0)
      return proto_error(n, lid, "malformed ANNOUNCE");
    p2pc_timesync_announce_in(n->ts, p->id, &an, n->now);
    relay_announce(n);
    return 0;
  }
  case P2PC_FRAME_ERROR: {
    p2pc_wire_error e;
    if (p2pc_wire_error_get(f->body, f->body_len, &e) > 0) {
      char t[400] = "link: peer closes: ";
      str_cat(t, sizeof t, e.reason);
      logf_(n, P2PC_LOG_INFO, t);
      /* A full peer will stay full for a while: do not knock again at
       * the usual back-off (that made a dial every few hundred ms per
       * refusing peer in a large mesh with maxPeers). */
      if (e.code == P2PC_WIRE_E_FULL) {
        /* What we queued for it stays queued: dropping it would leave a
         * hole in our SES stream to it that blocks every later message;
         * when it has room, the session starts (FRESH on its side). */
        p->refused_full = true;
        if (p->backoff_ns < FULL_BACKOFF_NS)
          p->backoff_ns = FULL_BACKOFF_NS;
      }
    }
    close_link(n, lid, 0, NULL);
    return 0;
  }
  default:
    return proto_error(n, lid, "unknown frame type");
  }
}

int p2pc_node_link_input(p2pc_node *n, p2pc_link_id lid, const uint8_t *b,
                         size_t len, p2pc_now now) {
  n->now = now;
  link *l = get_link(n, lid);
  if (!l)
    return P2PC_ERR_NOTFOUND;
  if (l->state == L_CLOSING)
    return 0;
  l->last_rx_ns = now.mono_ns;
  if (l->peer != NO_PEER && n->peers[l->peer].state == P2PC_PEER_SUSPECT)
    n->peers[l->peer].state = P2PC_PEER_UP;
  /* Parse straight from the input; keep only an incomplete tail. */
  const uint8_t *p = b;
  size_t left = len;
  bool from_in = l->in.len > 0;
  if (from_in) {
    if (p2pc_buf_put(&l->in, b, len) != 0)
      return proto_error(n, lid, "frame longer than the maximum");
    p = l->in.data;
    left = l->in.len;
  }
  int rv = 0;
  while (left && l->state != L_CLOSING) {
    p2pc_frame f;
    int used = p2pc_wire_frame_split(p, left, n->cfg.max_frame, &f);
    if (used == 0)
      break;
    if (used == P2PC_ERR_TOOBIG) {
      rv = proto_error(n, lid, "frame length over the maximum");
      break;
    }
    if (used < 0) {
      rv = proto_error(n, lid, "zero frame length");
      break;
    }
    rv = on_frame(n, lid, &f);
    p += used;
    left -= (size_t)used;
    if (rv < 0)
      break;
  }
  if (l->state == L_CLOSING || !left) {
    p2pc_buf_reset(&l->in);
  } else if (from_in) {
    memmove(l->in.data, p, left);
    l->in.len = left;
  } else if (p2pc_buf_put(&l->in, p, left) != 0) {
    rv = proto_error(n, lid, "frame longer than the maximum");
  }
  if (l->peer != NO_PEER && l->state == L_UP) {
    flush_peer(n, &n->peers[l->peer]); /* the ACK, batched per read */
    if (leave_done(n, &n->peers[l->peer]))
      finish_leave(n, l->peer);
  }
  return rv < 0 ? rv : 0;
}

/* ---- link lifecycle --------------------------------------------------------
 */

int p2pc_node_link_new(p2pc_node *n, bool outbound, const char *peer_id,
                       const p2pc_wire_addr *addr, p2pc_now now,
                       p2pc_link_id *out) {
  n->now = now;
  uint32_t i = 0;
  while (i < n->nlinks && n->links[i].state != L_FREE)
    i++;
  if (i == n->nlinks)
    return P2PC_ERR_FULL;
  if (i >= n->links_hw)
    n->links_hw = i + 1;
  link *l = &n->links[i];
  l->state = L_HELLO;
  l->outbound = outbound;
  l->peer = NO_PEER;
  l->expect[0] = '\0';
  memset(&l->addr, 0, sizeof l->addr);
  if (addr)
    l->addr = *addr;
  if (peer_id)
    str_cat(l->expect, sizeof l->expect, peer_id);
  p2pc_buf_reset(&l->in);
  p2pc_buf_reset(&l->out);
  l->opened_ns = l->last_rx_ns = l->last_ping_ns = now.mono_ns;
  /* The dialer speaks first; the listener answers with its own HELLO only
   * once it has accepted the dialer's (send_hello in on_hello), so a
   * refusal is an ERROR alone and the dialer never takes the peer for up
   * (a HELLO followed by "peer table full" made the dialer queue messages
   * that could never arrive: found by the simulator's causal oracle). */
  l->join = false;
  if (outbound) {
    const peer *p = NULL;
    uint32_t pi = peer_id && *peer_id ? find_peer(n, peer_id) : NO_PEER;
    if (pi != NO_PEER)
      p = &n->peers[pi];
    else if (addr)
      p = peer_by_addr(n, addr, NULL);
    uint16_t flags = p && has_session(p) ? 0 : P2PC_HELLO_FRESH;
    if (needy(n)) {
      flags |= P2PC_HELLO_JOIN;
      l->join = true;
    }
    send_hello(n, i, flags);
  }
  if (outbound && peer_id && *peer_id) {
    uint32_t pi = find_peer(n, peer_id);
    if (pi != NO_PEER && n->peers[pi].link == NO_LINK)
      n->peers[pi].state = P2PC_PEER_DIALING;
  }
  *out = i;
  return 0;
}

void p2pc_node_dial_failed(p2pc_node *n, const p2pc_wire_addr *addr,
                           const char *peer_id, p2pc_now now) {
  n->now = now;
  if (!peer_id || !*peer_id) {
    anon_seed *s = anon_by_addr(n, addr);
    if (s)
      anon_backoff(n, s);
    return;
  }
  peer *p = peer_by_addr(n, addr, peer_id);
  if (!p)
    return;
  p->dialing = false;
  if (p->link == NO_LINK) {
    p->state = P2PC_PEER_DOWN;
    schedule_dial(n, p);
  }
}

void p2pc_node_link_closed(p2pc_node *n, p2pc_link_id lid, p2pc_now now) {
  n->now = now;
  link *l = get_link(n, lid);
  if (!l)
    return;
  uint32_t pi = l->peer;
  /* A dial that never finished its handshake: back off that address. */
  if (pi == NO_PEER && l->outbound && l->expect[0]) {
    uint32_t e = find_peer(n, l->expect);
    if (e != NO_PEER && n->peers[e].link == NO_LINK) {
      n->peers[e].dialing = false;
      n->peers[e].state = P2PC_PEER_DOWN;
      schedule_dial(n, &n->peers[e]);
    }
  } else if (pi == NO_PEER && l->outbound) {
    anon_seed *s = anon_by_addr(n, &l->addr);
    if (s && !s->done)
      anon_backoff(n, s);
  }
  l->state = L_FREE;
  p2pc_buf_reset(&l->in);
  p2pc_buf_reset(&l->out);
  if (pi != NO_PEER && n->peers[pi].link == lid)
    peer_down(n, &n->peers[pi], "link closed");
}

void p2pc_node_link_output(const p2pc_node *n, p2pc_link_id lid,
                           const uint8_t **p, size_t *len) {
  const link *l = lid < n->nlinks ? &n->links[lid] : NULL;
  if (!l || l->state == L_FREE || !l->out.len) {
    *p = NULL;
    *len = 0;
    return;
  }
  *p = l->out.data;
  *len = l->out.len;
}

void p2pc_node_link_consume(p2pc_node *n, p2pc_link_id lid, size_t len) {
  link *l = lid < n->nlinks ? &n->links[lid] : NULL;
  if (!l || l->state == L_FREE)
    return;
  if (len >= l->out.len) {
    l->out.len = 0;
  } else {
    memmove(l->out.data, l->out.data + len, l->out.len - len);
    l->out.len -= len;
  }
  /* Room again: frames held back by a full output may go now. */
  if (l->peer != NO_PEER && l->state == L_UP)
    flush_peer(n, &n->peers[l->peer]);
}

/* ---- time -------------------------------------------------------------------
 */

void p2pc_node_on_deadline(p2pc_node *n, p2pc_now now) {
  n->now = now;
  uint64_t t = now.mono_ns;
  causal_time(n); /* expiry, and a drain of what it released */
  p2pc_causal_drain(n->causal, t);
  /* The announcement is renewed once per interval (the reference's
   * sequence number rises) and rides with every link's heartbeat. */
  if (t >= n->next_announce_ns && !n->stopping) {
    n->next_announce_ns = t + n->cfg.time.announce_ns;
    p2pc_timesync_announce_out(n->ts, true, now, &n->ann);
  }
  /* Heartbeats go out together: when one link is due, every link past
   * half its interval beats too, so a node's links fall into step and
   * one wake-up (and one write per link, STABLE and ANNOUNCE together)
   * serves them all. */
  bool beat = false;
  for (uint32_t i = 0; i < n->links_hw && !beat; i++)
    beat = n->links[i].state == L_UP &&
           t - n->links[i].last_ping_ns >= n->cfg.heartbeat_ns;
  p2pc_stable_report rep;
  if (beat) {
    stable_update(n);
    p2pc_stable_report_out(n->st, &rep);
  }
  for (uint32_t i = 0; i < n->links_hw; i++) {
    link *l = &n->links[i];
    if (l->state == L_HELLO && t - l->opened_ns >= n->cfg.handshake_ns) {
      logf_(n, P2PC_LOG_WARN, "link: handshake timed out; closing");
      close_link(n, i, 0, NULL);
    } else if (l->state == L_UP) {
      peer *p = &n->peers[l->peer];
      uint64_t silent = t - l->last_rx_ns;
      if (silent >= n->cfg.dead_ns) {
        close_link(n, i, 0, NULL);
        p->link = NO_LINK;
        peer_down(n, p, "silent");
        continue;
      }
      if (silent >= n->cfg.suspect_ns && p->state == P2PC_PEER_UP) {
        p->state = P2PC_PEER_SUSPECT;
        char m[120] = "peers: ";
        str_cat(m, sizeof m, p->id);
        str_cat(m, sizeof m, " suspect (silent)");
        logf_(n, P2PC_LOG_INFO, m);
      }
      if (beat && t - l->last_ping_ns >= n->cfg.heartbeat_ns / 2) {
        l->last_ping_ns = t;
        /* The report is the heartbeat: any frame is a sign of life, so
         * no PING goes with it. */
        stable_frame(n, i, &rep);
        frame_to_link(n, i, P2PC_FRAME_ANNOUNCE, &n->ann, 0);
      }
      if (leaving(p) && t >= p->leave_until_ns) {
        char m[120] = "peers: ";
        str_cat(m, sizeof m, p->id);
        str_cat(m, sizeof m, " did not agree to end our session; it goes on");
        logf_(n, P2PC_LOG_INFO, m);
        cancel_leave(p);
      }
      /* Nothing acknowledged for a while: send it all again. */
      if (p->qn && t - p->last_progress_ns >= n->cfg.resend_ns) {
        p->tx_written = p->tx_acked;
        p->last_progress_ns = t;
      }
      flush_peer(n, p);
    }
  }
  for (uint32_t i = 0; i < n->npeers && !n->stopping; i++) {
    peer *p = &n->peers[i];
    if (p->addr_known && p->link == NO_LINK && !p->dialing &&
        t >= p->next_dial_ns) {
      p2pc_action a = {.kind = P2PC_ACT_DIAL, .addr = p->addr};
      str_cat(a.peer, sizeof a.peer, p->id);
      push_action(n, &a);
      p->dialing = true;
      p->state = P2PC_PEER_DIALING;
    }
  }
  anon_dials(n);
  p2pc_timesync_on_deadline(n->ts, now);
  relay_announce(n);
}

static uint64_t earlier(uint64_t a, uint64_t b) { return a < b ? a : b; }

uint64_t p2pc_node_next_deadline(const p2pc_node *n) {
  uint64_t d = UINT64_MAX;
  for (uint32_t i = 0; i < n->links_hw; i++) {
    const link *l = &n->links[i];
    if (l->state == L_HELLO)
      d = earlier(d, l->opened_ns + n->cfg.handshake_ns);
    if (l->state != L_UP)
      continue;
    const peer *p = &n->peers[l->peer];
    d = earlier(d, l->last_ping_ns + n->cfg.heartbeat_ns);
    d = earlier(d, l->last_rx_ns + (p->state == P2PC_PEER_UP ? n->cfg.suspect_ns
                                                             : n->cfg.dead_ns));
    if (p->qn) {
      d = earlier(d, p->last_progress_ns + n->cfg.resend_ns);
      /* A chaos hold ends: wake then. A frame already due but unwritten
       * waits for the link's output to drain, which is no deadline. */
      uint64_t k = p->tx_written - p->tx_acked; /* first unwritten */
      if (k < p->qn && p->q[k].release_ns > n->now.mono_ns)
        d = earlier(d, p->q[k].release_ns);
    }
  }
  for (uint32_t i = 0; i < n->npeers && !n->stopping; i++) {
    const peer *p = &n->peers[i];
    if (p->addr_known && p->link == NO_LINK && !p->dialing)
      d = earlier(d, p->next_dial_ns);
  }
  for (uint32_t i = 0; i < n->nanon && !n->stopping; i++)
    if (!n->anon[i].done && !n->anon[i].dialing)
      d = earlier(d, n->anon[i].next_dial_ns);
  if (!n->stopping)
    d = earlier(d, n->next_announce_ns);
  return earlier(d, p2pc_timesync_next_deadline(n->ts));
}
/* ---- the node
 * ---------------------------------------------------------------- */

#define DEF(field, v)                                                          \
  do {                                                                         \
    if (!c->field)                                                             \
      c->field = (v);                                                          \
  } while (0)

int p2pc_node_new(p2pc_node **out, const p2pc_node_config *cfg,
                  const p2pc_node_callbacks *cb, p2pc_now now) {
  const p2pc_allocator *a =
      cfg && cfg->alloc ? cfg->alloc : p2pc_allocator_default();
  if (!cfg || !cfg->id || !p2pc_node_id_valid(cfg->id, strlen(cfg->id)) ||
      cfg->chaos_delay_min_ns > cfg->chaos_delay_max_ns ||
      cfg->chaos_drop < 0 || cfg->chaos_drop >= 1)
    return P2PC_ERR_INVAL;
  p2pc_node *n = a->realloc(NULL, sizeof *n, a->ud);
  if (!n)
    return P2PC_ERR_NOMEM;
  memset(n, 0, sizeof *n);
  n->a = a;
  n->cfg = *cfg;
  p2pc_node_config *c = &n->cfg;
  DEF(max_peers, 64);
  DEF(max_frame, P2PC_WIRE_MAX_FRAME_DEFAULT);
  DEF(heartbeat_ns, 500 * MS);
  DEF(suspect_ns, 2000 * MS);
  DEF(dead_ns, 5000 * MS);
  DEF(handshake_ns, 5000 * MS);
  DEF(redial_min_ns, 100 * MS);
  DEF(redial_max_ns, 5000 * MS);
  DEF(resend_ns, 1000 * MS);
  DEF(max_unacked, 8192);
  DEF(max_unacked_bytes, 16u << 20);
  DEF(max_link_output, 4u << 20);
  if (c->max_frame > P2PC_WIRE_MAX_FRAME_LIMIT)
    c->max_frame = P2PC_WIRE_MAX_FRAME_LIMIT;
  c->seeds = NULL; /* copied below */
  if (cb)
    n->cb = *cb;
  n->now = now;
  str_cat(n->id, sizeof n->id, cfg->id);
  make_sesid(n->sesid, n->id, cfg->incarnation);
  p2pc_rng_seed(&n->rng, cfg->seed ^ cfg->incarnation, 0);
  /* The buffers p2pc_node_free finishes are set before a failed
   * allocation can send us there (they allocate nothing yet). */
  p2pc_buf_init(&n->scratch, a, P2PC_WIRE_MAX_FRAME_LIMIT);
  n->nlinks = c->max_peers * 2 + 8;
  n->links = a->realloc(NULL, (size_t)n->nlinks * sizeof *n->links, a->ud);
  for (uint32_t i = 0; n->links && i < n->nlinks; i++) {
    n->links[i].state = L_FREE;
    p2pc_buf_init(&n->links[i].in, a, c->max_frame + P2PC_WIRE_HDR);
    p2pc_buf_init(&n->links[i].out, a, c->max_link_output + c->max_frame);
  }
  n->peers = a->realloc(
      NULL, ((size_t)c->max_peers + JOIN_SLACK) * sizeof *n->peers, a->ud);
  n->anon = cfg->nseeds ? a->realloc(NULL, cfg->nseeds * sizeof *n->anon, a->ud)
                        : NULL;
  int rv = P2PC_ERR_NOMEM;
  if (!n->links || !n->peers || (cfg->nseeds && !n->anon))
    goto err;
  rv = p2pc_causal_new(&n->causal, n->sesid, &c->causal, a, on_causal, n);
  if (rv)
    goto err;
  /* Slots for every peer's incarnation, with room for frozen ones. */
  n->st_keys = c->max_peers * 4 + 64;
  if (n->st_keys > P2PC_STABLE_MAX_NEIGHBOURS)
    n->st_keys = P2PC_STABLE_MAX_NEIGHBOURS;
  uint64_t life = p2pc_causal_lifetime(n->causal);
  n->st_hold = life == P2PC_CAUSAL_LIFETIME_INF
                   ? UINT64_MAX
                   : life + 2000 * MS + P2PC_CAUSAL_AHEAD_MARGIN_DEFAULT_NS;
  rv = p2pc_stable_new(&n->st, a, n->st_keys, n->st_hold);
  if (rv)
    goto err;
  p2pc_timesync_config_defaults(&c->time, c->listen.port, c->heartbeat_ns);
  p2pc_timesync_hooks th = {
      .event = on_timesync, .log = on_timesync_log, .ud = n};
  rv = p2pc_timesync_new(&n->ts, a, n->id, cfg->incarnation, &c->time,
                         cfg->seed ^ 0x74696d65u, &th, now);
  if (rv)
    goto err;
  n->next_announce_ns = now.mono_ns + c->time.announce_ns;
  p2pc_timesync_announce_out(n->ts, false, now, &n->ann);
  for (uint32_t i = 0; i < cfg->nseeds; i++) {
    const p2pc_node_seed *s = &cfg->seeds[i];
    if (s->id[0] && strcmp(s->id, n->id) == 0)
      continue; /* ourselves, as a full-mesh config lists everyone */
    if (s->id[0]) {
      rv = P2PC_ERR_INVAL;
      if (!p2pc_node_id_valid(s->id, strlen(s->id)))
        goto err;
      uint32_t pi = add_peer(n, s->id);
      if (pi == NO_PEER)
        continue;
      n->peers[pi].addr = s->addr;
      n->peers[pi].addr_known = true;
      n->peers[pi].next_dial_ns = now.mono_ns;
    } else {
      anon_seed *x = &n->anon[n->nanon++];
      memset(x, 0, sizeof *x);
      x->addr = s->addr;
      x->next_dial_ns = now.mono_ns;
      x->backoff_ns = c->redial_min_ns;
    }
  }
  *out = n;
  return 0;
err:
  p2pc_node_free(n);
  return rv;
}

int p2pc_node_set_chaos(p2pc_node *n, uint64_t delay_min_ns,
                        uint64_t delay_max_ns, double drop) {
  if (delay_min_ns > delay_max_ns || !(drop >= 0 && drop < 1))
    return P2PC_ERR_INVAL;
  n->cfg.chaos_delay_min_ns = delay_min_ns;
  n->cfg.chaos_delay_max_ns = delay_max_ns;
  n->cfg.chaos_drop = drop;
  return 0;
}

void p2pc_node_free(p2pc_node *n) {
  if (!n)
    return;
  const p2pc_allocator *a = n->a;
  if (n->links)
    for (uint32_t i = 0; i < n->nlinks; i++) {
      p2pc_buf_fini(&n->links[i].in);
      p2pc_buf_fini(&n->links[i].out);
    }
  for (uint32_t i = 0; i < n->npeers; i++) {
    free_queue(n, &n->peers[i]);
    a->free(n->peers[i].q, a->ud);
  }
  a->free(n->links, a->ud);
  a->free(n->peers, a->ud);
  a->free(n->anon, a->ud);
  a->free(n->acts, a->ud);
  p2pc_buf_fini(&n->scratch);
  p2pc_causal_free(n->causal);
  p2pc_stable_free(n->st);
  p2pc_timesync_free(n->ts);
  a->free(n, a->ud);
}

/* The id of the message just sent (p2pc_causal_sent). */
static void sent_id(const p2pc_node *n, p2pc_msgid *id) {
  if (!id)
    return;
  memcpy(id->node, n->id, strlen(n->id) + 1);
  id->session = (uint32_t)(n->cfg.incarnation & 0x7fffffffu);
  id->seq = p2pc_causal_sent(n->causal);
}

static int send_one(p2pc_node *n, const char *dest, const uint8_t *payload,
                    size_t len) {
  if (strcmp(dest, n->id) == 0) {
    p2pc_buf_reset(&n->scratch);
    causal_time(n);
    return p2pc_causal_send(n->causal, n->sesid, payload, len, n->now.mono_ns,
                            &n->scratch);
  }
  uint32_t pi = find_peer(n, dest);
  if (pi == NO_PEER)
    return P2PC_ERR_NOTFOUND;
  return send_to(n, &n->peers[pi], payload, len);
}

int p2pc_node_send(p2pc_node *n, const char *dest, const uint8_t *payload,
                   size_t len, p2pc_now now, p2pc_msgid *id) {
  n->now = now;
  if (!dest || (!payload && len))
    return P2PC_ERR_INVAL;
  /* Room for the SES metadata too: a quarter of the frame at least. */
  if (len > n->cfg.max_frame - n->cfg.max_frame / 4)
    return P2PC_ERR_TOOBIG;
  int rv = send_one(n, dest, payload, len);
  if (rv == 0)
    sent_id(n, id);
  return rv;
}

int p2pc_node_broadcast(p2pc_node *n, const uint8_t *payload, size_t len,
                        p2pc_now now, p2pc_msgid *first) {
  int rv = p2pc_node_send(n, n->id, payload, len, now, first);
  if (rv)
    return rv;
  int count = 0;
  for (uint32_t i = 0; i < n->npeers; i++) {
    /* The peers connected now. A broadcast queued for a peer that is down
     * waits for it; if that peer never takes it (it turned us away as
     * full, or only ever flapped), everything that causally follows the
     * broadcast is held back at that peer for good (found by the
     * simulator's causal oracle in a 100-node k-regular mesh). */
    const peer *q = &n->peers[i];
    if (!q->inc_known || q->refused_full || leaving(q) ||
        (q->state != P2PC_PEER_UP && q->state != P2PC_PEER_SUSPECT))
      continue;
    rv = send_to(n, &n->peers[i], payload, len);
    if (rv)
      return rv;
    count++;
  }
  return count;
}

void p2pc_node_shutdown(p2pc_node *n, p2pc_now now) {
  n->now = now;
  n->stopping = true;
  for (uint32_t i = 0; i < n->links_hw; i++)
    if (n->links[i].state == L_UP || n->links[i].state == L_HELLO)
      close_link(n, i, P2PC_WIRE_E_SHUTDOWN, "node stopping");
}

/* ---- introspection
 * ------------------------------------------------------------ */

uint32_t p2pc_node_peer_count(const p2pc_node *n) { return n->npeers; }

uint32_t p2pc_node_link_span(const p2pc_node *n) { return n->links_hw; }

bool p2pc_node_peer_info(const p2pc_node *n, uint32_t i, p2pc_peer_info *pi) {
  if (i >= n->npeers)
    return false;
  const peer *p = &n->peers[i];
  memset(pi, 0, sizeof *pi);
  str_cat(pi->id, sizeof pi->id, p->id);
  pi->state = p->state;
  pi->addr = p->addr;
  pi->incarnation = p->inc;
  pi->unacked = p->qn;
  pi->sent = p->sent;
  pi->delivered_from = p->delivered_from;
  return true;
}

uint32_t p2pc_node_up_count(const p2pc_node *n) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < n->npeers; i++)
    k += n->peers[i].state == P2PC_PEER_UP ||
         n->peers[i].state == P2PC_PEER_SUSPECT;
  return k;
}

const char *p2pc_node_name(const p2pc_node *n) { return n->id; }

uint64_t p2pc_node_undeliverable(const p2pc_node *n) {
  return n->undeliverable;
}

const p2pc_causal *p2pc_node_causal(const p2pc_node *n) { return n->causal; }

const char *p2pc_peer_state_name(p2pc_peer_state s) {
  switch (s) {
  case P2PC_PEER_DOWN:
    return "down";
  case P2PC_PEER_DIALING:
    return "dialing";
  case P2PC_PEER_UP:
    return "up";
  case P2PC_PEER_SUSPECT:
    return "suspect";
  }
  return "?";
}

/* ---- clock synchronization ---------------------------------------------- */

void p2pc_node_time_input(p2pc_node *n, const p2pc_wire_addr *from,
                          const uint8_t *b, size_t len, int64_t rx_local_ns,
                          bool rx_kernel, p2pc_now now) {
  n->now = now;
  p2pc_timesync_input(n->ts, from, b, len, rx_local_ns, rx_kernel, now);
}

bool p2pc_node_pop_datagram(p2pc_node *n, p2pc_datagram *d) {
  return p2pc_timesync_pop(n->ts, d);
}

void p2pc_node_time_sent(p2pc_node *n, uint32_t token, int64_t local_ns,
                         bool kernel, p2pc_now now) {
  n->now = now;
  p2pc_timesync_sent(n->ts, token, local_ns, kernel);
}

int64_t p2pc_node_network_time(const p2pc_node *n, int64_t local_ns) {
  return p2pc_timesync_time(n->ts, local_ns);
}

void p2pc_node_tracking(const p2pc_node *n, p2pc_now now, p2pc_tracking *t) {
  p2pc_timesync_tracking(n->ts, now, t);
}

uint32_t p2pc_node_source_count(const p2pc_node *n) {
  return p2pc_timesync_source_count(n->ts);
}

bool p2pc_node_source_info(const p2pc_node *n, uint32_t i, p2pc_now now,
                           p2pc_source_info *si) {
  return p2pc_timesync_source_info(n->ts, i, now, si);
}

const char *p2pc_clock_mode_name(p2pc_clock_mode m) {
  return m == P2PC_CLOCK_COLLABORATIVE ? "collaborative" : "reference";
}
