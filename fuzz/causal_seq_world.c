/* SPDX-License-Identifier: MIT */
/*
 * fuzz_causal_seq's world and its independent checker (causal_seq.h): the
 * failing allocator, what the true time and the clocks allow, every core
 * event checked against happens-before as the script's sends and the
 * DELIVER events define it, and the invariants that hold between
 * operations (fuzz_causal_seq.c lists them).
 */
#include "causal_seq.h"

static const char *const kind_names[] = {"send", "recv", "buffer", "deliver",
                                         "dup",  "drop", "expire", "refuse"};

void *fail_realloc(void *ptr, size_t size, void *ud) {
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

void fail_free(void *ptr, void *ud) {
  (void)ud;
  free(ptr);
}

uint8_t payload_byte(unsigned msg, unsigned i) {
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

int64_t net_of(const world *w, const node *nd) { return w->T + nd->offset; }

/* stamp is Δ old on a clock reading hlc. */
bool clock_old(const world *w, uint64_t stamp, uint64_t hlc) {
  return w->life != P2PC_CAUSAL_LIFETIME_INF && hlc >= w->life &&
         stamp <= hlc - w->life;
}

/* How long after Δ a given-up message still holds its sender's LS back. */
uint64_t settle_ns(const world *w) {
  return P2PC_CAUSAL_SETTLE_NS + (uint64_t)w->margin;
}

/* Message m still holds its sender's LS back, its sender's HLC reading
 * hlc: it is pending (no report covered it, its destination is not
 * retired there) and not given up Δ + settle ago. */
bool holds_ls(const world *w, const msgrec *m, uint64_t hlc) {
  if (m->from == m->to || !m->n || m->acked || w->nodes[m->from].retired[m->to])
    return false;
  if (!m->given_up)
    return true;
  uint64_t extra = w->life + settle_ns(w);
  return m->stamp > UINT64_MAX - extra || hlc < m->stamp + extra;
}

/* An honest node's HLC is within T + 2 error bounds + margin (+ its
 * logical ticks), so what it finds Δ old was sent at least Δ - 3 error
 * bounds - margin ago in true time. */
static void check_not_early(const world *w, const node *nd, unsigned k) {
  if (nd->liar_ever)
    return;
  int64_t age = w->T - w->msgs[k].t_send;
  FUZZ_CHECK(age + 3 * w->err + w->margin + TICK + SLACK >= (int64_t)w->life);
}

bool resolved(const msgrec *m) {
  return m->deliveries > 0 || m->expired_rx || m->written_off || m->dropped;
}

/* m was not delivered at nd, and nd may deliver something after it: fine
 * only if nd can never deliver it (and then it never must). */
static bool excused(const world *w, const node *nd, unsigned j, uint64_t hlc) {
  const msgrec *m = &w->msgs[j];
  if (m->expired_rx || m->written_off || m->dropped || m->barred ||
      nd->retired[m->from] || m->n <= nd->dmax[m->from])
    return true;
  if (clock_old(w, m->stamp, hlc)) {
    check_not_early(w, nd, j);
    return true;
  }
  return false;
}

static void on_deliver(node *nd, const p2pc_causal_event *ev) {
  world *w = nd->w;
  FUZZ_CHECK(ev->bytes == 0 || ev->payload != NULL);
  if (w->tainted)
    return;
  int from = node_of(ev->sender);
  FUZZ_CHECK(from >= 0);
  int k = find_msg(w, from, ev->n);
  FUZZ_CHECK(k >= 0);
  msgrec *m = &w->msgs[k];
  /* Delivered where it was sent, exactly once, intact, and never after it
   * was given up here. */
  FUZZ_CHECK(m->to == nd->idx);
  FUZZ_CHECK(m->deliveries == 0);
  FUZZ_CHECK(!m->expired_rx && !m->written_off && !m->dropped && !m->barred);
  FUZZ_CHECK(m->from == nd->idx || !nd->retired[m->from]);
  FUZZ_CHECK(ev->stamp == m->stamp);
  FUZZ_CHECK(ev->bytes == m->plen);
  for (unsigned i = 0; i < m->plen; i++)
    FUZZ_CHECK(ev->payload[i] == payload_byte((unsigned)k, i));
  /* Causal order: every message to this node whose send happened before
   * this one's send is delivered here already, or never will be. */
  for (unsigned j = 0; j < w->nmsgs; j++) {
    msgrec *p = &w->msgs[j];
    if (!set_has(&m->past, j) || p->to != nd->idx || p->deliveries > 0)
      continue;
    FUZZ_CHECK(excused(w, nd, j, ev->hlc));
    p->barred = true;
  }
  m->deliveries++;
  p2pc_causal_stats st;
  p2pc_causal_get_stats(nd->c, &st);
  m->forgot_at = st.forgotten;
  m->buffered = false;
  if (m->n > nd->dmax[m->from])
    nd->dmax[m->from] = m->n;
  set_union(&nd->past, &m->past);
  set_add(&nd->past, (unsigned)k);
}

/* The event log line of every event (event.c, the one renderer) is
 * well-formed JSON naming the message. */
static void check_evlog(const p2pc_causal_event *ev) {
  char line[P2PC_EVENT_JSON_MAX], want[96];
  p2pc_event e;
  p2pc_event_from_causal(&e, ev);
  long len = p2pc_event_json(&e, "A", line, sizeof line);
  FUZZ_CHECK(len > 0);
  int n = snprintf(want, sizeof want, ",\"msg\":\"%s:%llu\"", ev->sender,
                   (unsigned long long)ev->n);
  FUZZ_CHECK(n > 0 && (size_t)n < sizeof want);
  FUZZ_CHECK(strstr(line, want) != NULL);
  long depth = 0;
  unsigned quotes = 0;
  for (long i = 0; i < len; i++) {
    uint8_t ch = (uint8_t)line[i];
    FUZZ_CHECK(ch >= 0x20 && ch < 0x7f && ch != '\\');
    quotes += ch == '"';
    depth += ch == '{' ? 1 : ch == '}' ? -1 : 0;
    FUZZ_CHECK(depth >= 0);
  }
  FUZZ_CHECK(depth == 0 && quotes % 2 == 0);
}

/* An event at a receiver about message k (-1 if not a known message). */
static int rx_msg(node *nd, const p2pc_causal_event *ev) {
  world *w = nd->w;
  FUZZ_CHECK(strcmp(ev->peer, ev->sender) == 0);
  int from = node_of(ev->sender);
  int k = from >= 0 ? find_msg(w, from, ev->n) : -1;
  if (w->tainted)
    return k;
  FUZZ_CHECK(k >= 0);
  FUZZ_CHECK(w->msgs[k].to == nd->idx);
  FUZZ_CHECK(ev->stamp == w->msgs[k].stamp);
  if (k == w->offering)
    w->offered_kinds |= 1u << ev->kind;
  return k;
}

void on_event(void *ud, const p2pc_causal_event *ev) {
  node *nd = ud;
  world *w = nd->w;
  w->nevents++;
  FUZZ_CHECK(!nd->dead);
  FUZZ_CHECK(ev->sender != NULL && ev->peer != NULL);
  FUZZ_CHECK((unsigned)ev->kind < sizeof kind_names / sizeof kind_names[0]);
  TRACE(w, "    %s: %s %s:%llu%s stamp %llu hlc %llu\n", names[nd->idx],
        kind_names[ev->kind], ev->sender, (unsigned long long)ev->n,
        ev->at_sender ? " (at sender)" : "", (unsigned long long)ev->stamp,
        (unsigned long long)ev->hlc);
  FUZZ_CHECK(ev->n > 0);
  FUZZ_CHECK(ev->hlc == p2pc_causal_hlc(nd->c));
  FUZZ_CHECK(ev->kind == P2PC_CEV_EXPIRE || !ev->at_sender);
  check_evlog(ev);
  int k;
  switch (ev->kind) {
  case P2PC_CEV_SEND: {
    FUZZ_CHECK(w->sending >= 0);
    msgrec *m = &w->msgs[w->sending];
    FUZZ_CHECK(strcmp(ev->sender, names[nd->idx]) == 0);
    FUZZ_CHECK(strcmp(ev->peer, names[m->to]) == 0);
    FUZZ_CHECK(ev->bytes == m->plen);
    /* Message numbers and stamps grow; the HLC is at the stamp, never
     * behind the network time. */
    FUZZ_CHECK(ev->n > nd->last_n);
    FUZZ_CHECK(ev->stamp > nd->last_stamp);
    FUZZ_CHECK(ev->hlc == ev->stamp);
    FUZZ_CHECK(ev->stamp > P2PC_HLC_PHYS(net_of(w, nd)));
    nd->last_n = ev->n;
    nd->last_stamp = ev->stamp;
    m->n = ev->n;
    m->stamp = ev->stamp;
    break;
  }
  case P2PC_CEV_DELIVER:
    FUZZ_CHECK(strcmp(ev->peer, ev->sender) == 0);
    if (!w->tainted && w->offering >= 0 &&
        node_of(ev->sender) == (int)w->msgs[w->offering].from &&
        ev->n == w->msgs[w->offering].n)
      w->offered_kinds |= 1u << ev->kind;
    on_deliver(nd, ev);
    break;
  case P2PC_CEV_RECV:
    k = rx_msg(nd, ev);
    if (k >= 0 && !w->tainted)
      FUZZ_CHECK(w->msgs[k].deliveries == 0 && !w->msgs[k].buffered);
    break;
  case P2PC_CEV_BUFFER: {
    k = rx_msg(nd, ev);
    FUZZ_CHECK(ev->waits_sender != NULL);
    if (w->tainted)
      break;
    msgrec *m = &w->msgs[k];
    FUZZ_CHECK(m->deliveries == 0 && !m->buffered && !m->barred);
    FUZZ_CHECK(ev->deps >= 1);
    /* It waits for a message to this node in its causal past, not
     * delivered and not excused. */
    int j = find_msg(w, node_of(ev->waits_sender), ev->waits_n);
    FUZZ_CHECK(j >= 0);
    FUZZ_CHECK(set_has(&m->past, (unsigned)j));
    FUZZ_CHECK(w->msgs[j].to == nd->idx);
    FUZZ_CHECK(w->msgs[j].deliveries == 0);
    FUZZ_CHECK(!nd->retired[w->msgs[j].from]);
    FUZZ_CHECK(!clock_old(w, w->msgs[j].stamp, ev->hlc));
    m->buffered = true;
    break;
  }
  case P2PC_CEV_DUP:
    k = rx_msg(nd, ev);
    if (!w->tainted) {
      msgrec *m = &w->msgs[k];
      FUZZ_CHECK(m->deliveries > 0 || m->buffered || m->n <= nd->dmax[m->from]);
      if (m->deliveries == 0 && !m->buffered)
        m->dup_undelivered = true;
    }
    break;
  case P2PC_CEV_DROP:
    k = rx_msg(nd, ev);
    FUZZ_CHECK(ev->reason != NULL);
    if (!w->tainted) {
      msgrec *m = &w->msgs[k];
      /* (Also a late copy of one delivered before the retirement.) Or a
       * copy older than Δ from a sender the node forgot, which may have
       * been delivered before. */
      FUZZ_CHECK(nd->retired[m->from] || (strstr(ev->reason, "forgotten") &&
                                          clock_old(w, m->stamp, ev->hlc)));
      if (m->deliveries == 0)
        m->dropped = true;
      m->buffered = false;
    }
    break;
  case P2PC_CEV_EXPIRE:
    FUZZ_CHECK(ev->reason != NULL);
    if (ev->at_sender) {
      /* The sender gives it up: Δ old on its clock, or written off in
       * the report being passed. */
      FUZZ_CHECK(strcmp(ev->sender, names[nd->idx]) == 0);
      int to = node_of(ev->peer);
      FUZZ_CHECK(to >= 0 && to != (int)nd->idx);
      k = find_msg(w, (int)nd->idx, ev->n);
      FUZZ_CHECK(k >= 0);
      msgrec *m = &w->msgs[k];
      FUZZ_CHECK((int)m->to == to);
      FUZZ_CHECK(ev->stamp == m->stamp);
      FUZZ_CHECK(!m->given_up);
      bool reported = false;
      if (w->rep.dest == to)
        for (uint32_t r = 0; r < w->rep.nwo; r++)
          reported |= m->n >= w->rep.wo[2 * r] && m->n <= w->rep.wo[2 * r + 1];
      if (!reported) {
        FUZZ_CHECK(clock_old(w, m->stamp, ev->hlc));
        check_not_early(w, nd, (unsigned)k);
      }
      m->given_up = true;
      break;
    }
    k = rx_msg(nd, ev);
    if (!w->tainted) {
      msgrec *m = &w->msgs[k];
      FUZZ_CHECK(m->deliveries == 0);
      if (!(m->n <= nd->dmax[m->from] || m->expired_rx || m->written_off)) {
        FUZZ_CHECK(clock_old(w, m->stamp, ev->hlc));
        check_not_early(w, nd, (unsigned)k);
      }
      m->expired_rx = true;
      m->buffered = false;
    }
    break;
  case P2PC_CEV_REFUSE:
    k = rx_msg(nd, ev);
    FUZZ_CHECK(ev->reason != NULL);
    /* Only the message being offered, and only a stamp ahead of network
     * time + error bound + margin. */
    FUZZ_CHECK(w->tainted || k == w->offering);
    FUZZ_CHECK(ev->stamp > P2PC_HLC_PHYS(net_of(w, nd)) + (uint64_t)w->err +
                               (uint64_t)w->margin);
    break;
  default:
    FUZZ_CHECK(!"unknown event kind");
  }
}

/* The invariants that hold between operations. */
void check_world(world *w) {
  for (unsigned i = 0; i < w->nnodes; i++) {
    node *nd = &w->nodes[i];
    if (nd->dead)
      continue;
    FUZZ_CHECK(p2pc_causal_buffered(nd->c) <= w->max_buffered);
    uint64_t hlc = p2pc_causal_hlc(nd->c);
    /* A liar cannot drag an honest clock ahead. */
    if (!nd->liar_ever)
      FUZZ_CHECK(hlc <= (uint64_t)(w->T + 2 * w->err + w->margin + SLACK));
    if (w->tainted)
      continue;
    /* Local stable time: never past a message pending or settling here
     * (so everything sent below it is known delivered or written off at
     * its destination, to an identity this node retired, or given up long
     * enough ago for its destination to have expired it too). */
    uint64_t ls = p2pc_causal_local_stable(nd->c);
    FUZZ_CHECK(ls <= hlc);
    for (unsigned k = 0; k < w->nmsgs; k++) {
      const msgrec *m = &w->msgs[k];
      if (m->from != i || m->to == i || !m->n)
        continue;
      if (holds_ls(w, m, hlc))
        FUZZ_CHECK(ls <= m->stamp);
      if (m->stamp < ls)
        FUZZ_CHECK(m->deliveries > 0 || m->written_off || m->given_up ||
                   nd->retired[m->to]);
      /* Given up as soon as it is Δ old (the HLC may be one tick past
       * the last sweep: a send stamps after it). */
      if (!m->acked && !nd->retired[m->to] && !m->given_up)
        FUZZ_CHECK(hlc == 0 || !clock_old(w, m->stamp, hlc - 1));
    }
    /* Buffered here means buffered for the checker too. */
    uint32_t nb = 0;
    for (unsigned k = 0; k < w->nmsgs; k++)
      nb += w->msgs[k].to == i && w->msgs[k].buffered;
    FUZZ_CHECK(nb == p2pc_causal_buffered(nd->c));
  }
}

/* How many node IDs a core knows. */
uint32_t known_ids(const p2pc_causal *c) {
  uint32_t n = 0;
  while (p2pc_causal_id_name(c, n) != NULL)
    n++;
  return n;
}

void take_snapshot(const world *w, const p2pc_causal *c, snapshot *sn) {
  p2pc_causal_get_stats(c, &sn->st);
  sn->nbuf = p2pc_causal_buffered(c);
  sn->nids = known_ids(c);
  sn->npairs = p2pc_causal_pairs(c);
  sn->hlc = p2pc_causal_hlc(c);
  sn->nevents = w->nevents;
}

void check_unchanged(const world *w, const p2pc_causal *c, const snapshot *sn) {
  snapshot now;
  take_snapshot(w, c, &now);
  /* Except that a core resumes, on any input, a drain of its buffer that
   * an allocation failure interrupted. */
  if (w->starved)
    return;
  FUZZ_CHECK(now.nevents == sn->nevents);
  FUZZ_CHECK(now.nbuf == sn->nbuf);
  FUZZ_CHECK(now.npairs == sn->npairs);
  FUZZ_CHECK(now.hlc == sn->hlc);
  FUZZ_CHECK(now.st.received == sn->st.received &&
             now.st.delivered == sn->st.delivered &&
             now.st.duplicates == sn->st.duplicates &&
             now.st.buffered == sn->st.buffered);
  /* No name kept; a sweep the full table asked for may have forgotten
   * names nothing needed (counted). */
  FUZZ_CHECK(now.nids + (now.st.forgotten - sn->st.forgotten) == sn->nids);
}

/* The LS values message m (just sent by `from`, whose LS was ls_before)
 * carries. A liar's LS is not honest (it settles its messages early): the
 * values for a node that has lied are left alone. */
void check_ls_carried(const world *w, unsigned from, const msgrec *m,
                      uint64_t ls_before) {
  if (w->tainted)
    return;
  const p2pc_allocator *a = p2pc_allocator_default();
  p2pc_idtab t;
  p2pc_ses_msg f;
  p2pc_idtab_init(&t, a, 64);
  p2pc_ses_msg_init(&f);
  FUZZ_CHECK(p2pc_wire_ses_get(m->bytes, m->len, &t, a, &f) == (int)m->len);
  FUZZ_CHECK(p2pc_wire_ses_commit(&t, &f) == 0);
  bool own = false;
  for (uint32_t i = 0; i < f.nls; i++) {
    int who = node_of(p2pc_idtab_name(&t, f.ls[i].id, NULL));
    uint64_t v = f.ls[i].ls;
    FUZZ_CHECK(who >= 0 && v < m->stamp);
    if (who == (int)from) {
      own = true;
      FUZZ_CHECK(v == (ls_before < m->stamp ? ls_before : m->stamp - 1));
      continue;
    }
    const node *s = &w->nodes[who];
    if (s->liar_ever)
      continue;
    uint64_t hlc = p2pc_causal_hlc(s->c);
    for (unsigned k = 0; k < w->nmsgs; k++) {
      const msgrec *mk = &w->msgs[k];
      if ((int)mk->from == who && mk->to != mk->from && mk->n && mk->stamp < v)
        FUZZ_CHECK(!holds_ls(w, mk, hlc));
    }
  }
  FUZZ_CHECK(own == (ls_before != 0));
  p2pc_ses_msg_fini(&f, a);
  p2pc_idtab_fini(&t);
}
