/* SPDX-License-Identifier: MIT */
/*
 * Stateful fuzz target for Δ-SES: two or three causal cores exchange
 * messages over a simulated network and a simulated clock that the input
 * controls. The input is a script: two configuration bytes, then
 * operations, each an opcode byte plus parameter bytes: send X->Y, send to
 * self, deliver the k-th in-flight message, re-inject a copy of any message
 * sent so far, deliver a corrupted copy, offer a message with the wrong
 * expected sender, let time pass or fail the N-th next allocation, move one
 * node's clock within its error bound, make a node's clock lie (run far
 * ahead), pass a delivery report from a destination to a sender, give a
 * node the global stable time (the same for every level, or by levels), or
 * a sender's local stable time LS as its report would, retire a node (it
 * is dead from then on), resume a drain. At the end every message still in
 * flight is delivered, letting time pass until nothing is left.
 *
 * The true time T is the script's; node i's network time is T + its offset,
 * within the error bound unless it lies. Every call into a core is preceded
 * by p2pc_causal_set_time, as causal.h asks.
 *
 * An independent checker, which does not trust the cores' entries, follows
 * happens-before through the script's sends and the cores' DELIVER events
 * and checks, for every event, that Δ-SES allows it:
 *   - DELIVER: at its destination, once, intact, never after the message
 *     was expired, written off, dropped or barred; and every message to
 *     the same node in its causal past is delivered already or can never
 *     be: expired there (by the clock: stamp + Δ <= HLC), written off,
 *     dropped, or of a sender the node retired;
 *   - BUFFER: it waits for a message to this node in its causal past that
 *     is not delivered (and not excused);
 *   - EXPIRE at the receiver: the message is Δ old on that node's HLC, or
 *     written off by a later message of its stream; EXPIRE at the sender:
 *     Δ old, or written off in a report, once; neither ever early in true
 *     time (Δ minus the clocks' error bounds and the margin) at an honest
 *     node; and a sender gives up every message it still waits for as soon
 *     as its HLC makes it Δ old;
 *   - DUP, DROP, REFUSE: only of a copy / a retired sender (or one the node
 *     forgot, of a copy older than Δ) / a stamp ahead
 *     of network time + error + margin;
 *   - every honest node's HLC stays within T + 2 error bounds + margin (a
 *     liar cannot drag it ahead); local_stable (LS) never passes a message
 *     that is pending or settling at its sender: not covered by a report
 *     its sender took (delivered, or written off and given up), not to an
 *     identity the sender retired, and not given up Δ + settle (2 s + the
 *     margin) ago on the sender's HLC; with Δ finite, once everything has
 *     settled LS is the HLC; delivery reports never claim a message that
 *     was not delivered;
 *   - the LS values a message carries: its sender's is its LS at the
 *     send; every other, for an honest node, is one that node's LS had:
 *     no message it sent below it still holds its LS back;
 *   - return codes; refused input changes nothing; at the end (with time
 *     let pass) nothing is left in flight or buffered: every message was
 *     delivered once, expired, written off or dropped.
 * The global stable time given to set_stable(_levels) is always honest:
 * no message stamped below it is unresolved at its destination, nor
 * pending or settling at its (live) sender, as the real minimum of the LS
 * values would be. A sender's LS is given to others only while that
 * sender has never lied (a lying clock settles its messages early).
 *
 * A corrupted copy that a core accepts may be taken for a genuine message
 * (nothing authenticates messages), so after one the checks that follow
 * messages are switched off; crashes, leaks and return codes are still
 * checked.
 *
 * Set P2PC_FUZZ_TRACE=1 in the environment to have a replayed script
 * print its operations, their results and the cores' events.
 *
 * This file reads the script and performs its operations; the world and
 * the checker are causal_seq.h and causal_seq_world.c.
 */
#include "causal_seq.h"

/* Script reader: past the end, every byte reads as 0 and done is set. */
typedef struct script {
  const uint8_t *p;
  size_t len, off;
} script;

static bool script_done(const script *s) { return s->off >= s->len; }
static uint8_t next_byte(script *s) {
  return s->off < s->len ? s->p[s->off++] : 0;
}

/* Tells node i the time (as causal.h asks before every input). */
static void tell_time(world *w, unsigned i) {
  node *nd = &w->nodes[i];
  if (nd->dead)
    return;
  p2pc_causal_set_time(nd->c, net_of(w, nd), (uint64_t)w->err,
                       (uint64_t)(w->T - T0));
}

static void tell_time_all(world *w) {
  for (unsigned i = 0; i < w->nnodes; i++)
    tell_time(w, i);
}

static void do_send(world *w, unsigned from, unsigned to, uint8_t plen,
                    bool tiny_out) {
  node *nd = &w->nodes[from];
  if (w->nmsgs == MAX_MSGS || (from != to && w->nflight == MAX_FLIGHT) ||
      nd->dead)
    return;
  tell_time(w, from);
  unsigned k = w->nmsgs;
  msgrec *m = &w->msgs[k];
  memset(m, 0, sizeof *m);
  m->from = from;
  m->to = to;
  m->plen = plen;
  m->past = nd->past;
  m->t_send = w->T;
  uint8_t payload[MAX_PAYLOAD];
  for (unsigned i = 0; i < plen; i++)
    payload[i] = payload_byte(k, i);

  p2pc_buf out;
  p2pc_buf_init(&out, p2pc_allocator_default(), tiny_out ? 4 : 1u << 16);
  uint32_t nids = known_ids(nd->c);
  p2pc_causal_stats st0;
  p2pc_causal_get_stats(nd->c, &st0);
  w->nmsgs++; /* visible to the event callback */
  w->sending = (int)k;
  w->fail.fired = false;
  uint64_t ls_before = p2pc_causal_local_stable(nd->c);
  int rv = p2pc_causal_send(nd->c, names[to], payload, plen, w->T - T0, &out);
  w->sending = -1;
  if (w->fail.fired)
    w->starved = true;
  TRACE(w, "send m%u %s->%s len %u: %d\n", k, names[from], names[to], plen, rv);
  if (rv != 0) {
    /* Nothing was sent: no SEND, nothing appended, no name kept. Caps
     * refuse only when configured small, or when forged node IDs filled
     * the table. */
    FUZZ_CHECK((rv == P2PC_ERR_NOMEM && w->fail.fired) ||
               (rv == P2PC_ERR_TOOBIG && tiny_out) ||
               (rv == P2PC_ERR_FULL && (w->send_caps || w->tainted)) ||
               (rv == P2PC_ERR_INVAL && nd->retired[to]));
    FUZZ_CHECK(m->n == 0);
    FUZZ_CHECK(out.len == 0);
    /* (A full table may have been swept first: names nothing needed,
     * counted, may be gone; none was added.) */
    p2pc_causal_stats st1;
    p2pc_causal_get_stats(nd->c, &st1);
    FUZZ_CHECK(known_ids(nd->c) + (st1.forgotten - st0.forgotten) == nids);
    w->nmsgs--;
    p2pc_buf_fini(&out);
    return;
  }
  /* A retired identity is remembered Δ + settle after its retirement;
   * once forgotten, a send to it is one to an identity never heard of
   * (it waits, and is given up). */
  FUZZ_CHECK(!nd->retired[to] || !p2pc_causal_is_retired(nd->c, names[to]));
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
  check_ls_carried(w, from, m, ls_before);
  w->flight[w->nflight++] = k;
}

static void remove_flight(world *w, unsigned i) {
  memmove(w->flight + i, w->flight + i + 1,
          (w->nflight - i - 1) * sizeof *w->flight);
  w->nflight--;
}

/* Offers flight i to its destination; returns true if it was taken (or
 * lost: its destination is dead). */
static bool deliver_flight(world *w, unsigned i) {
  unsigned k = w->flight[i];
  msgrec *m = &w->msgs[k];
  node *nd = &w->nodes[m->to];
  if (nd->dead) {
    TRACE(w, "lose m%u %s->%s: dead\n", k, names[m->from], names[m->to]);
    remove_flight(w, i);
    return true;
  }
  tell_time(w, m->to);
  snapshot sn;
  take_snapshot(w, nd->c, &sn);
  w->fail.fired = false;
  w->offering = (int)k;
  w->offered_kinds = 0;
  int rv = p2pc_causal_receive(nd->c, names[m->from], m->bytes, m->len,
                               (uint64_t)(w->T - T0));
  w->offering = -1;
  if (w->fail.fired)
    w->starved = true;
  TRACE(w, "deliver m%u %s->%s: %d\n", k, names[m->from], names[m->to], rv);
  /* Genuine bytes from the right sender are never malformed. Node IDs can
   * run out only if a core accepted a forged one. */
  FUZZ_CHECK(rv == 0 || rv == P2PC_ERR_FULL || rv == P2PC_ERR_AHEAD ||
             (rv == P2PC_ERR_NOMEM && w->fail.fired) ||
             (rv == P2PC_ERR_TOOBIG && w->tainted));
  if (rv != 0 && !w->tainted) {
    /* Not taken: nothing happened to it but a RECV (and a REFUSE). */
    unsigned allowed = 1u << P2PC_CEV_RECV;
    if (rv == P2PC_ERR_AHEAD) {
      FUZZ_CHECK(w->offered_kinds == 1u << P2PC_CEV_REFUSE);
      snapshot now;
      take_snapshot(w, nd->c, &now);
      FUZZ_CHECK(now.hlc == sn.hlc && now.nids == sn.nids &&
                 now.nbuf == sn.nbuf);
      FUZZ_CHECK(now.st.refused_ahead == sn.st.refused_ahead + 1);
      FUZZ_CHECK(now.nevents == sn.nevents + 1 || w->starved);
    }
    FUZZ_CHECK((w->offered_kinds & ~(allowed | 1u << P2PC_CEV_REFUSE)) == 0);
  }
  if (rv != 0)
    return false;
  remove_flight(w, i);
  return true;
}

static void do_wrong_sender(world *w, unsigned i, uint8_t who) {
  msgrec *m = &w->msgs[w->flight[i]];
  node *nd = &w->nodes[m->to];
  if (nd->dead)
    return;
  const char *wrong =
      who % 2 ? "Z" : names[(m->from + 1 + who / 2 % 2) % MAX_NODES];
  if (strcmp(wrong, names[m->from]) == 0)
    wrong = "Z";
  tell_time(w, m->to);
  snapshot sn;
  take_snapshot(w, nd->c, &sn);
  w->fail.fired = false;
  int rv = p2pc_causal_receive(nd->c, wrong, m->bytes, m->len,
                               (uint64_t)(w->T - T0));
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
  node *nd = &w->nodes[m->to];
  if (!m->bytes || nd->dead)
    return;
  uint8_t *copy = malloc(m->len);
  FUZZ_CHECK(copy != NULL);
  memcpy(copy, m->bytes, m->len);
  copy[pos % m->len] ^= x ? x : 0x01;
  tell_time(w, m->to);
  snapshot sn;
  take_snapshot(w, nd->c, &sn);
  /* The copy may be taken for the genuine message, or for a new one, while
   * the core handles it: the ordering checks are off from here on ... */
  bool was_tainted = w->tainted;
  w->tainted = true;
  w->fail.fired = false;
  int rv = p2pc_causal_receive(nd->c, check_sender ? names[m->from] : NULL,
                               copy, m->len, (uint64_t)(w->T - T0));
  if (w->fail.fired)
    w->starved = true;
  TRACE(w, "corrupt m%u byte %u ^ 0x%02x %s->%s: %d\n", k,
        (unsigned)(pos % m->len), x ? x : 0x01, names[m->from], names[m->to],
        rv);
  free(copy);
  FUZZ_CHECK(rv == 0 || rv == P2PC_ERR_FULL || rv == P2PC_ERR_PROTO ||
             rv == P2PC_ERR_TOOBIG || rv == P2PC_ERR_AHEAD ||
             rv == P2PC_ERR_NOMEM);
  /* ... unless the core refused it as malformed, which changes nothing. */
  if (rv == P2PC_ERR_PROTO) {
    w->tainted = was_tainted;
    check_unchanged(w, nd->c, &sn);
  }
}

/* Passes the report of `at` about sender's messages to sender, as the
 * link would (without its written-off ranges if bare), after checking
 * what it claims. */
static void do_report(world *w, unsigned at, unsigned sender, bool bare) {
  node *x = &w->nodes[at], *s = &w->nodes[sender];
  if (x->dead || s->dead || at == sender)
    return;
  tell_time(w, at);
  tell_time(w, sender);
  uint64_t d, wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo = 99;
  p2pc_causal_report_for(x->c, names[sender], &d, wo, &nwo);
  TRACE(w, "report %s->%s: delivered %llu, %u ranges%s\n", names[at],
        names[sender], (unsigned long long)d, nwo, bare ? " (not passed)" : "");
  FUZZ_CHECK(nwo <= P2PC_CAUSAL_MAX_WRITTEN_OFF);
  for (uint32_t r = 0; r < nwo; r++) { /* [first, last] */
    FUZZ_CHECK(wo[2 * r] >= 1 && wo[2 * r] <= wo[2 * r + 1]);
    if (r > 0) /* ascending, apart (adjacent ones are merged) */
      FUZZ_CHECK(wo[2 * r - 1] + 1 < wo[2 * r]);
  }
  if (!w->tainted) {
    /* At most all it delivered of sender's stream: less while a
     * written-off range dropped at the cap holds reports back (wo_floor),
     * or once it forgot sender (what it delivered since). The claims
     * below must hold all the same. (The strict d == dmax here failed on
     * the first: an input the 30 s fuzz stage had not reached.) */
    FUZZ_CHECK(d <= x->dmax[sender]);
    for (unsigned k = 0; k < w->nmsgs; k++) {
      msgrec *m = &w->msgs[k];
      if (m->from != sender || m->to != at)
        continue;
      bool off = false;
      for (uint32_t r = 0; r < nwo; r++)
        off |= m->n >= wo[2 * r] && m->n <= wo[2 * r + 1];
      /* Written off means never delivered — or delivered before the
       * node forgot its sender, long enough ago that the sender no
       * longer holds it pending (a state made anew writes off the
       * stream below its first message). */
      if (off && m->deliveries) {
        p2pc_causal_stats st;
        p2pc_causal_get_stats(x->c, &st);
        FUZZ_CHECK(st.forgotten > m->forgot_at);
        FUZZ_CHECK(clock_old(w, m->stamp, p2pc_causal_hlc(x->c)));
      }
      if ((off || m->n <= d) && m->deliveries == 0) {
        FUZZ_CHECK(!m->buffered);
        m->written_off = true;
      }
    }
  }
  w->rep.dest = (int)at;
  w->rep.nwo = bare ? 0 : nwo;
  memcpy(w->rep.wo, wo, sizeof wo);
  int rv = p2pc_causal_peer_report(s->c, names[at], d, bare ? NULL : wo,
                                   bare ? 0 : nwo, (uint64_t)(w->T - T0));
  w->rep.dest = -1;
  FUZZ_CHECK(rv == 0 || (rv == P2PC_ERR_PROTO && w->tainted));
  if (rv != 0)
    return;
  /* What the sender is done with: everything up to `delivered`, and
   * what the ranges it was given cover once it has given it up (at once
   * if it was Δ old; otherwise it stays pending until it is). */
  for (unsigned k = 0; k < w->nmsgs; k++) {
    msgrec *m = &w->msgs[k];
    if (m->from != sender || m->to != at || !m->n)
      continue;
    bool off = false;
    for (uint32_t r = 0; r < w->rep.nwo; r++)
      off |= m->n >= wo[2 * r] && m->n <= wo[2 * r + 1];
    if (m->n <= d || (off && m->given_up))
      m->acked = true;
  }
}

/* The global stable time, honestly: below every message not yet resolved
 * at its (live) destination, below every message pending or settling at
 * its live sender (the minimum of the LS values, which the real G never
 * passes), and below anything a live node may still send. */
static uint64_t honest_stable(const world *w) {
  uint64_t g = UINT64_MAX;
  for (unsigned i = 0; i < w->nnodes; i++)
    if (!w->nodes[i].dead) {
      uint64_t h = p2pc_causal_hlc(w->nodes[i].c) + 1;
      g = h < g ? h : g;
    }
  for (unsigned k = 0; k < w->nmsgs; k++) {
    const msgrec *m = &w->msgs[k];
    if (m->from == m->to || !m->n)
      continue;
    const node *s = &w->nodes[m->from];
    bool held = !s->dead && holds_ls(w, m, p2pc_causal_hlc(s->c));
    if ((w->nodes[m->to].dead || resolved(m)) && !held)
      continue;
    g = m->stamp < g ? m->stamp : g;
  }
  return g;
}

static void do_stable(world *w, unsigned i, uint8_t back) {
  node *nd = &w->nodes[i];
  if (nd->dead || w->tainted)
    return;
  uint64_t g = honest_stable(w);
  uint64_t less = back >= 128 ? 0 : (uint64_t)back * TICK;
  g = g > less ? g - less : 0;
  TRACE(w, "stable %s: %llu\n", names[i], (unsigned long long)g);
  tell_time(w, i);
  p2pc_causal_set_stable(nd->c, g);
}

/* Node i learns stability levels, each at most the honest global stable
 * time: the same everywhere, one level only, falling by a tick per level,
 * or from some level up (0 below). */
static void do_levels(world *w, unsigned i, uint8_t b) {
  node *nd = &w->nodes[i];
  if (nd->dead || w->tainted)
    return;
  uint64_t g = honest_stable(w), lv[P2PC_CAUSAL_LEVELS];
  uint32_t n = P2PC_CAUSAL_LEVELS, h0 = b & 31;
  for (uint32_t h = 0; h < P2PC_CAUSAL_LEVELS; h++) {
    uint64_t less = (uint64_t)h * TICK;
    switch (b >> 6) {
    case 0:
      lv[h] = g;
      n = (b & 63) % (P2PC_CAUSAL_LEVELS + 1);
      break;
    case 1:
      lv[h] = h == h0 ? g : 0;
      break;
    case 2:
      lv[h] = g > less ? g - less : 0;
      break;
    default:
      lv[h] = h >= h0 ? g : 0;
      break;
    }
  }
  TRACE(w, "levels %s: %llu, mode %u/%u, %u levels\n", names[i],
        (unsigned long long)g, b >> 6, h0, n);
  tell_time(w, i);
  p2pc_causal_set_stable_levels(nd->c, lv, n);
}

/* Node x learns sender y's LS (as y's report on their link would carry
 * it), less a few ticks. A liar's LS is not honest: it settles its
 * messages early. */
static void do_peer_stable(world *w, unsigned x, unsigned y, uint8_t b) {
  node *nx = &w->nodes[x], *ny = &w->nodes[y];
  if (x == y || nx->dead || ny->dead || ny->liar_ever || w->tainted)
    return;
  tell_time(w, y);
  uint64_t ls = p2pc_causal_local_stable(ny->c);
  uint64_t less = (uint64_t)(b & 7) * TICK;
  ls = ls > less ? ls - less : 0;
  TRACE(w, "%s learns LS of %s: %llu\n", names[x], names[y],
        (unsigned long long)ls);
  tell_time(w, x);
  p2pc_causal_set_peer_stable(nx->c, names[y], ls);
}

static void do_retire(world *w, unsigned at, unsigned who) {
  node *x = &w->nodes[at];
  if (x->dead || at == who)
    return;
  tell_time(w, at);
  TRACE(w, "%s retires %s\n", names[at], names[who]);
  /* From now on the retired node is dead: it neither sends nor receives
   * (its identity is gone for good). */
  w->nodes[who].dead = true;
  x->retired[who] = true;
  w->fail.fired = false;
  int rv = p2pc_causal_retire(x->c, names[who], (uint64_t)(w->T - T0));
  if (w->fail.fired)
    w->starved = true;
  if (rv != 0) {
    FUZZ_CHECK((rv == P2PC_ERR_NOMEM && w->fail.fired) ||
               (rv == P2PC_ERR_FULL && w->tainted));
    x->retired[who] = false;
    return;
  }
  FUZZ_CHECK(p2pc_causal_is_retired(x->c, names[who]));
  FUZZ_CHECK(p2pc_causal_retire(x->c, names[at], 0) == P2PC_ERR_INVAL);
}

/* Delivers everything still in flight, in passes, letting time pass when
 * a pass makes no progress (expiry and refused stamps need it). */
static void drain_network(world *w) {
  w->fail.countdown = -1;
  TRACE(w, "drain\n");
  for (unsigned i = 0; i < w->nnodes; i++)
    w->nodes[i].offset = 0; /* liars come back */
  int64_t step = w->max_lie + w->margin + 2 * w->err + 10 * MS;
  if (w->life != P2PC_CAUSAL_LIFETIME_INF)
    step += (int64_t)w->life;
  for (int round = 0; round < 8 && w->nflight > 0; round++) {
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
    if (w->nflight > 0) {
      w->T += step;
      TRACE(w, "time +%lld\n", (long long)step);
      tell_time_all(w);
    }
  }
  /* A delivery that ran out of memory while a core drained its buffer is
   * resumed by p2pc_causal_drain. */
  for (unsigned i = 0; i < w->nnodes; i++)
    if (!w->nodes[i].dead)
      p2pc_causal_drain(w->nodes[i].c, (uint64_t)(w->T - T0));
  check_world(w);
  /* With Δ infinite, a small entry cap may hold a message back for ever
   * (nothing expires to make room): that is back-pressure, not a bug. */
  if (w->tainted || (w->deps_cap && w->life == P2PC_CAUSAL_LIFETIME_INF))
    return;
  /* Liveness: with reliable channels and time, everything is resolved:
   * delivered exactly once, expired, written off or dropped. */
  FUZZ_CHECK(w->nflight == 0);
  for (unsigned i = 0; i < w->nmsgs; i++) {
    const msgrec *m = &w->msgs[i];
    if (w->nodes[m->to].dead)
      continue;
    FUZZ_CHECK(m->deliveries == 1 || m->expired_rx || m->dropped ||
               m->written_off || m->dup_undelivered);
    FUZZ_CHECK(!m->buffered);
  }
  for (unsigned i = 0; i < w->nnodes; i++)
    if (!w->nodes[i].dead)
      FUZZ_CHECK(p2pc_causal_buffered(w->nodes[i].c) == 0);
}

/* With Δ finite, every message a node sent is covered by a report or
 * given up within Δ, and settled Δ + settle after its stamp: let that
 * time pass on every clock (past the highest HLC: a clock may lead true
 * time), and LS is the HLC everywhere (nothing holds it back for ever). */
static void settle_all(world *w) {
  if (w->life == P2PC_CAUSAL_LIFETIME_INF)
    return;
  w->fail.countdown = -1;
  int64_t top = w->T;
  for (unsigned i = 0; i < w->nnodes; i++) {
    int64_t h = (int64_t)p2pc_causal_hlc(w->nodes[i].c);
    if (!w->nodes[i].dead && h > top)
      top = h;
  }
  for (unsigned i = 0; i < w->nnodes; i++)
    w->nodes[i].offset = 0;
  w->T = top + (int64_t)(w->life + settle_ns(w)) + 2 * TICK;
  TRACE(w, "settle\n");
  tell_time_all(w);
  check_world(w);
  for (unsigned i = 0; i < w->nnodes; i++) {
    const node *nd = &w->nodes[i];
    if (!nd->dead)
      FUZZ_CHECK(p2pc_causal_local_stable(nd->c) == p2pc_causal_hlc(nd->c));
  }
}

static const uint64_t lifetimes[4] = {P2PC_CAUSAL_LIFETIME_INF, 20 * MS,
                                      200 * MS, 2000 * MS};
static const int64_t errs[4] = {0, 1 * MS, 5 * MS, 20 * MS};
static const int64_t margins[4] = {0, 1, 2 * MS, 30 * MS};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static world w; /* large; zeroed below */
  script s = {data, size, 0};
  memset(&w, 0, sizeof w);
  w.sending = -1;
  w.offering = -1;
  w.rep.dest = -1;
  w.fail.countdown = -1;
  w.fail.alloc.realloc = fail_realloc;
  w.fail.alloc.free = fail_free;
  w.fail.alloc.ud = &w.fail;
  w.trace = getenv("P2PC_FUZZ_TRACE") != NULL;
  w.T = T0;

  /* cfg0: bit0 three nodes, bit1 no_prune, bits2-4 max_buffered - 1,
   * bits5-7 extra node IDs. cfg1: bits0-1 Δ, bits2-3 a small cap, bits4-5
   * the error bound, bits6-7 the ahead margin. */
  uint8_t cfg0 = next_byte(&s), cfg1 = next_byte(&s);
  p2pc_causal_config cfg;
  memset(&cfg, 0, sizeof cfg);
  w.nnodes = 2 + (cfg0 & 1);
  cfg.no_prune = (cfg0 & 2) != 0;
  cfg.max_buffered = w.max_buffered = 1 + ((cfg0 >> 2) & 7);
  /* Small enough that junk node IDs could exhaust it. */
  cfg.max_nodes = w.nnodes + ((cfg0 >> 5) & 7);
  cfg.lifetime_ns = w.life = lifetimes[cfg1 & 3];
  /* Half the inputs with an odd count of extra IDs sweep the ID table at
   * every tick; the others when it is full (max_nodes is small). */
  cfg.forget_every_tick = !cfg.no_prune && ((cfg0 >> 5) & 1);
  switch ((cfg1 >> 2) & 3) {
  case 1:
    cfg.max_msg_deps = 2;
    break;
  case 2:
    cfg.max_pending = 3;
    break;
  case 3:
    cfg.max_deps = 4;
    w.deps_cap = true;
    break;
  }
  w.send_caps = ((cfg1 >> 2) & 3) != 0;
  w.err = errs[(cfg1 >> 4) & 3];
  cfg.ahead_margin_ns = (uint64_t)margins[cfg1 >> 6];
  w.margin = cfg.ahead_margin_ns ? (int64_t)cfg.ahead_margin_ns
                                 : (int64_t)P2PC_CAUSAL_AHEAD_MARGIN_DEFAULT_NS;
  TRACE(&w,
        "%u nodes, %s, buffer %u, ids %u, life %llu, err %lld, margin "
        "%lld, caps %u\n",
        w.nnodes, cfg.no_prune ? "no prune" : "prune", cfg.max_buffered,
        cfg.max_nodes, (unsigned long long)w.life, (long long)w.err,
        (long long)w.margin, (cfg1 >> 2) & 3);
  for (unsigned i = 0; i < w.nnodes; i++) {
    w.nodes[i].w = &w;
    w.nodes[i].idx = i;
    FUZZ_CHECK(p2pc_causal_new(&w.nodes[i].c, names[i], &cfg, &w.fail.alloc,
                               on_event, &w.nodes[i]) == 0);
  }
  tell_time_all(&w);

  while (!script_done(&s)) {
    uint8_t op = next_byte(&s);
    uint8_t b1 = next_byte(&s);
    unsigned x = (b1 & 0x0f) % w.nnodes;
    unsigned y = (x + 1 + (b1 >> 4) % (w.nnodes - 1)) % w.nnodes;
    switch (op % 16) {
    case 0:
    case 1: { /* send x -> y */
      uint8_t b2 = next_byte(&s);
      do_send(&w, x, y, b2 % (MAX_PAYLOAD + 1), (b2 & 0xf0) == 0xf0);
      break;
    }
    case 2: /* send to self */
      do_send(&w, x, x, (b1 >> 4) % (MAX_PAYLOAD + 1), false);
      break;
    case 3:
    case 14: /* deliver the k-th message in flight */
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
      uint8_t pos = next_byte(&s), xb = next_byte(&s);
      if (w.nmsgs)
        do_corrupt(&w, b1 % w.nmsgs, pos, xb, (b1 & 0x80) != 0);
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
        w.T += (int64_t)b1 * MS;
        TRACE(&w, "time +%u ms\n", b1);
        tell_time_all(&w);
      }
      break;
    case 8: { /* node x's clock moves within its error bound */
      int8_t f = (int8_t)next_byte(&s);
      w.nodes[x].offset = w.err * f / 128;
      TRACE(&w, "%s offset %lld\n", names[x], (long long)w.nodes[x].offset);
      tell_time(&w, x);
      break;
    }
    case 9: /* y's delivery report about x's messages reaches x */
      do_report(&w, y, x, (next_byte(&s) & 1) != 0);
      break;
    case 10: /* node x learns the global stable time */
      do_stable(&w, x, next_byte(&s));
      break;
    case 11: /* x retires y, which is dead from now on */
      do_retire(&w, x, y);
      break;
    case 12: { /* node x's clock lies (0: stops lying) */
      uint8_t b2 = next_byte(&s);
      w.nodes[x].offset = (int64_t)b2 * 5 * MS;
      if (b2) {
        w.nodes[x].liar_ever = true;
        if (w.nodes[x].offset > w.max_lie)
          w.max_lie = w.nodes[x].offset;
      }
      TRACE(&w, "%s lies by %lld\n", names[x], (long long)w.nodes[x].offset);
      tell_time(&w, x);
      break;
    }
    case 13: /* resume x's drain */
      if (!w.nodes[x].dead)
        p2pc_causal_drain(w.nodes[x].c, (uint64_t)(w.T - T0));
      break;
    case 15: { /* x learns stability levels, or y's LS */
      uint8_t b2 = next_byte(&s);
      if (b1 & 0x80)
        do_peer_stable(&w, x, y, b2);
      else
        do_levels(&w, x, b2);
      break;
    }
    }
    check_world(&w);
  }
  drain_network(&w);
  settle_all(&w);

  for (unsigned i = 0; i < w.nnodes; i++)
    p2pc_causal_free(w.nodes[i].c);
  for (unsigned i = 0; i < w.nmsgs; i++)
    free(w.msgs[i].bytes);
  return 0;
}
