/* SPDX-License-Identifier: MIT */
/*
 * What the causal core's unit tests share (test_causal*.c): nodes that
 * record their events as lines, clock settings in whole HLC ticks, sending
 * and arrival through the codec, delivery reports, and the usual Δ.
 */
#ifndef P2PC_TEST_CAUSALFIX_H
#define P2PC_TEST_CAUSALFIX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "causal.h"

#define A p2pc_allocator_default()
#define MAXLOG 64

/* Times are whole HLC ticks (the physical part counts 65536 ns; the low
 * 16 bits are the logical counter): T0 and every TICK multiple keep
 * P2PC_HLC_PHYS(T0 + k * TICK) == T0 + k * TICK. After set_time(t) the
 * HLC is t and the next send is stamped t + 1. */
#define T0 ((int64_t)0x1800000000000000)
#define TICK 65536ll
#define LIFE (16384 * TICK) /* Δ in most tests: 2^30 ns, about a second */
#define ERR (16 * TICK)     /* every node's error bound, about a ms */
#define MS 1000000ll

/* One event as the callback saw it: a line to compare, and the fields. */
typedef struct ev_rec {
  p2pc_causal_ev_kind kind;
  char line[160];
  uint64_t n, stamp, hlc, waits_n, waited_ns;
  uint32_t deps;
  size_t bytes, meta;
  bool at_sender;
} ev_rec;

typedef struct node {
  p2pc_causal *c;
  ev_rec ev[MAXLOG];
  int n;
} node;

static const char *const kinds[] = {"send", "recv", "buffer", "deliver",
                                    "dup",  "drop", "expire", "refuse"};

static inline void on_event(void *ud, const p2pc_causal_event *ev) {
  node *nd = ud;
  assert_true(nd->n < MAXLOG);
  assert_true((unsigned)ev->kind < sizeof kinds / sizeof kinds[0]);
  assert_non_null(ev->sender);
  assert_non_null(ev->peer);
  ev_rec *r = &nd->ev[nd->n++];
  memset(r, 0, sizeof *r);
  r->kind = ev->kind;
  r->n = ev->n;
  r->stamp = ev->stamp;
  r->hlc = ev->hlc;
  r->waits_n = ev->waits_n;
  r->waited_ns = ev->waited_ns;
  r->deps = ev->deps;
  r->bytes = ev->bytes;
  r->meta = ev->meta;
  r->at_sender = ev->at_sender;
  int len = snprintf(r->line, sizeof r->line, "%s %s:%llu", kinds[ev->kind],
                     ev->sender, (unsigned long long)ev->n);
  bool to = ev->kind == P2PC_CEV_SEND || ev->at_sender;
  if (to)
    len += snprintf(r->line + len, sizeof r->line - (size_t)len, " to %s",
                    ev->peer);
  else /* events at the receiver name the sender as the peer */
    assert_string_equal(ev->peer, ev->sender);
  if (ev->kind == P2PC_CEV_BUFFER) {
    assert_non_null(ev->waits_sender);
    snprintf(r->line + len, sizeof r->line - (size_t)len,
             " waits %s:%llu unmet %u", ev->waits_sender,
             (unsigned long long)ev->waits_n, ev->deps);
  } else if (ev->kind == P2PC_CEV_EXPIRE && ev->at_sender) {
    snprintf(r->line + len, sizeof r->line - (size_t)len, " at sender");
  }
  if (ev->kind == P2PC_CEV_DROP || ev->kind == P2PC_CEV_EXPIRE ||
      ev->kind == P2PC_CEV_REFUSE)
    assert_non_null(ev->reason);
  if (ev->kind != P2PC_CEV_EXPIRE)
    assert_false(ev->at_sender);
  /* Every stamp is at or below the clock of the node that reports it,
   * but for messages refused or dropped (a retired sender's), whose stamps
   * the clock does not take in. */
  assert_true(ev->stamp <= ev->hlc || ev->kind == P2PC_CEV_REFUSE ||
              ev->kind == P2PC_CEV_DROP);
  if (ev->kind == P2PC_CEV_DELIVER) {
    assert_true(ev->bytes == 0 || ev->payload != NULL);
    if (ev->bytes)
      assert_int_equal(ev->bytes, strlen((const char *)ev->payload) + 1);
  }
}

static inline void node_new(node *nd, const char *id,
                            const p2pc_causal_config *cfg,
                            const p2pc_allocator *a) {
  memset(nd, 0, sizeof *nd);
  assert_int_equal(p2pc_causal_new(&nd->c, id, cfg, a, on_event, nd), 0);
}

static inline void node_free(node *nd) { p2pc_causal_free(nd->c); }

static inline const ev_rec *last_ev(const node *nd) {
  assert_true(nd->n > 0);
  return &nd->ev[nd->n - 1];
}

static inline const char *last(const node *nd) {
  return nd->n ? nd->ev[nd->n - 1].line : "";
}

/* The i-th event from the end: 1 is the last. */
static inline const char *back(const node *nd, int i) {
  assert_true(i >= 1 && i <= nd->n);
  return nd->ev[nd->n - i].line;
}

static inline int count(const node *nd, p2pc_causal_ev_kind k) {
  int n = 0;
  for (int i = 0; i < nd->n; i++)
    n += nd->ev[i].kind == k;
  return n;
}

static inline void set_time(node *nd, int64_t t) {
  p2pc_causal_set_time(nd->c, t, ERR, (uint64_t)(t - T0));
}

/* A message in flight: its encoded bytes. Payloads include the NUL so the
 * callback can check lengths. */
typedef struct wire_msg {
  p2pc_buf b;
} wire_msg;

static inline void send_msg(node *from, const char *to, const char *text,
                            wire_msg *w) {
  p2pc_buf_init(&w->b, A, 1 << 20);
  assert_int_equal(p2pc_causal_send(from->c, to, (const uint8_t *)text,
                                    strlen(text) + 1, 0, &w->b),
                   0);
  assert_true(w->b.len > 0);
}

static inline int arrive(node *at, const wire_msg *w, uint64_t mono) {
  return p2pc_causal_receive(at->c, NULL, w->b.data, w->b.len, mono);
}

static inline void fini_all(wire_msg *w, int n) {
  for (int i = 0; i < n; i++)
    p2pc_buf_fini(&w[i].b);
}

/* What the delivery report of `at` says about sender, as "d=2 wo=[1,1]":
 * written-off ranges are inclusive (first, last) pairs, as STABLE carries
 * them (1 <= first <= last < the next first). */
static inline void report(const node *at, const char *sender, char *out,
                          size_t cap) {
  uint64_t d, wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo = 99;
  p2pc_causal_report_for(at->c, sender, &d, wo, &nwo);
  assert_true(nwo <= P2PC_CAUSAL_MAX_WRITTEN_OFF);
  int len = snprintf(out, cap, "d=%llu wo=", (unsigned long long)d);
  for (uint32_t i = 0; i < nwo; i++) {
    assert_true(wo[2 * i] >= 1 && wo[2 * i] <= wo[2 * i + 1]);
    if (i)
      assert_true(wo[2 * i] > wo[2 * i - 1]);
    len += snprintf(out + len, cap - (size_t)len, "%s[%llu,%llu]", i ? "," : "",
                    (unsigned long long)wo[2 * i],
                    (unsigned long long)wo[2 * i + 1]);
  }
}

static inline void expect_report(const node *at, const char *sender,
                                 const char *want) {
  char got[256];
  report(at, sender, got, sizeof got);
  assert_string_equal(got, want);
}

/* Passes at's report about sender to sender's core, as the link would. */
static inline int pass_report(const node *at, node *sender) {
  uint64_t d, wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo;
  p2pc_causal_report_for(at->c, p2pc_causal_self(sender->c), &d, wo, &nwo);
  return p2pc_causal_peer_report(sender->c, p2pc_causal_self(at->c), d, wo, nwo,
                                 0);
}

static inline p2pc_causal_stats stats(const node *nd) {
  p2pc_causal_stats st;
  p2pc_causal_get_stats(nd->c, &st);
  return st;
}

/* Δ of about a second, every other setting the default. */
static const p2pc_causal_config one_second = {.lifetime_ns = LIFE};

/* How long a given-up message still holds LS back (with the default
 * margin). */
#define SETTLE                                                                 \
  ((int64_t)P2PC_CAUSAL_SETTLE_NS +                                            \
   (int64_t)P2PC_CAUSAL_AHEAD_MARGIN_DEFAULT_NS)

#endif /* P2PC_TEST_CAUSALFIX_H */
