/* SPDX-License-Identifier: MIT */
/*
 * Plumtree (plumtree.h) alone, with recording hooks: new links eager, the
 * first copy delivered once and pushed on the other eager links (round +
 * 1), a duplicate pruning its link, IHAVE batching on the lazy links, a
 * GRAFT after T1 to the first announcer and after T2 to the next, GRAFT
 * answered from the cache, links going down, the cache's and the id
 * table's bounds (count and age), delivery retried when the causal layer
 * is full, re-entrant broadcasts and failed allocations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "failalloc.h"
#include "plumtree.h"
#include "rng.h"
#include "sescodec.h"

#define A p2pc_allocator_default()
#define MSEC 1000000ull

typedef struct sent {
  char kind; /* 'g'ossip, 'i'have, 'G'raft, 'p'rune */
  uint32_t link;
  uint64_t round;
  uint32_t count;
  p2pc_wire_bcast_id id0;
  uint64_t n; /* gossip: the message's number */
} sent;

typedef struct rec {
  sent s[256];
  uint32_t ns;
  uint32_t delivered;
  uint64_t last_round;
  int answer;       /* what deliver returns */
  p2pc_pt *reenter; /* deliver broadcasts this node's own message */
  uint32_t ihave_ids;
} rec;

/* A broadcast message as the causal layer writes it: dictionary (origin,
 * "*"), n, prev 0, stamp 1, no entries, no LS list, payload. Only its
 * header matters here. */
static size_t bmsg(uint8_t *out, const char *origin, uint64_t n) {
  p2pc_buf b;
  p2pc_buf_init(&b, A, 256);
  p2pc_buf_put_varint(&b, 2);
  p2pc_buf_put_u8(&b, (uint8_t)strlen(origin));
  p2pc_buf_put(&b, origin, strlen(origin));
  p2pc_buf_put_u8(&b, 1);
  p2pc_buf_put(&b, "*", 1);
  p2pc_buf_put_varint(&b, n);
  p2pc_buf_put_varint(&b, 0);
  p2pc_buf_put_varint(&b, 1);
  p2pc_buf_put_varint(&b, 0);
  p2pc_buf_put_varint(&b, 0);
  p2pc_buf_put_varint(&b, 2);
  p2pc_buf_put(&b, "hi", 2);
  size_t len = b.len;
  memcpy(out, b.data, len);
  p2pc_buf_fini(&b);
  return len;
}

static uint64_t msg_n(const uint8_t *m, size_t len) {
  const char *s, *d;
  uint8_t sl, dl;
  uint64_t n = 0;
  assert_int_equal(p2pc_wire_ses_peek(m, len, &s, &sl, &d, &dl, &n), 0);
  return n;
}

static int h_deliver(void *ud, uint32_t link, uint64_t round,
                     const uint8_t *msg, size_t len) {
  rec *r = ud;
  (void)link;
  (void)msg;
  (void)len;
  if (r->answer == 0) {
    r->delivered++;
    r->last_round = round;
  }
  if (r->reenter) {
    uint8_t m[128];
    p2pc_pt *t = r->reenter;
    r->reenter = NULL;
    size_t ml = bmsg(m, "self", 1000);
    assert_int_equal(p2pc_pt_broadcast(t, m, ml, 0), 0);
  }
  return r->answer;
}

static sent *add(rec *r, char kind, uint32_t link) {
  assert_true(r->ns < 256);
  sent *s = &r->s[r->ns++];
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->link = link;
  return s;
}

static void h_gossip(void *ud, uint32_t link, uint64_t round,
                     const uint8_t *msg, size_t len) {
  sent *s = add(ud, 'g', link);
  s->round = round;
  s->n = msg_n(msg, len);
}

static void h_ihave(void *ud, uint32_t link, const p2pc_wire_bcast_id *ids,
                    uint32_t count) {
  sent *s = add(ud, 'i', link);
  s->count = count;
  s->id0 = ids[0];
  ((rec *)ud)->ihave_ids += count;
}

static void h_graft(void *ud, uint32_t link, const p2pc_wire_bcast_id *ids,
                    uint32_t count) {
  sent *s = add(ud, 'G', link);
  s->count = count;
  if (count)
    s->id0 = ids[0];
}

static void h_prune(void *ud, uint32_t link) { add(ud, 'p', link); }

static p2pc_pt *mk(rec *r, const p2pc_pt_config *c0) {
  memset(r, 0, sizeof *r);
  p2pc_pt_config c;
  if (c0) {
    c = *c0;
  } else {
    p2pc_pt_config_default(&c);
    c.max_links = 8;
  }
  p2pc_pt_hooks h = {h_deliver, h_gossip, h_ihave, h_graft, h_prune, r};
  p2pc_pt *t;
  assert_int_equal(p2pc_pt_new(&t, A, &c, &h), 0);
  return t;
}

/* How many frames of kind went to link (UINT32_MAX: any). */
static uint32_t count(const rec *r, char kind, uint32_t link) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < r->ns; i++)
    k += r->s[i].kind == kind && (link == UINT32_MAX || r->s[i].link == link);
  return k;
}

static const sent *first(const rec *r, char kind) {
  for (uint32_t i = 0; i < r->ns; i++)
    if (r->s[i].kind == kind)
      return &r->s[i];
  return NULL;
}

static void test_broadcast_eager_then_lazy(void **state) {
  (void)state;
  rec r;
  p2pc_pt *t = mk(&r, NULL);
  uint8_t m[128];
  size_t ml = bmsg(m, "me~1", 1);
  for (uint32_t l = 0; l < 3; l++) {
    p2pc_pt_link_up(t, l);
    assert_true(p2pc_pt_eager(t, l)); /* new links start eager */
  }
  p2pc_pt_on_prune(t, 2);
  assert_true(p2pc_pt_lazy(t, 2));
  assert_int_equal(p2pc_pt_broadcast(t, m, ml, 0), 0);
  assert_int_equal(count(&r, 'g', 0), 1);
  assert_int_equal(count(&r, 'g', 1), 1);
  assert_int_equal(count(&r, 'g', 2), 0);
  assert_int_equal(first(&r, 'g')->round, 1);
  assert_int_equal(r.delivered, 0); /* the causal layer did its own */
  /* IHAVE waits for the flush, then goes to the lazy link only. */
  assert_int_equal(count(&r, 'i', UINT32_MAX), 0);
  uint64_t d = p2pc_pt_next_deadline(t);
  assert_true(d == P2PC_PT_IHAVE_NS_DEFAULT);
  p2pc_pt_on_deadline(t, d - 1);
  assert_int_equal(count(&r, 'i', UINT32_MAX), 0);
  p2pc_pt_on_deadline(t, d);
  assert_int_equal(count(&r, 'i', 2), 1);
  assert_int_equal(count(&r, 'i', UINT32_MAX), 1);
  assert_string_equal(first(&r, 'i')->id0.origin, "me~1");
  assert_int_equal(first(&r, 'i')->id0.n, 1);
  assert_int_equal(first(&r, 'i')->id0.round, 0);
  /* Not a broadcast: refused. */
  uint8_t u[128];
  size_t ul = bmsg(u, "me~1", 2);
  u[ul - 9] = (uint8_t)'x'; /* the destination "*" -> "x" */
  assert_int_equal(p2pc_pt_broadcast(t, u, ul, 0), P2PC_ERR_PROTO);
  p2pc_pt_free(t);
}

static void test_first_copy_forwarded_duplicate_pruned(void **state) {
  (void)state;
  rec r;
  p2pc_pt *t = mk(&r, NULL);
  for (uint32_t l = 0; l < 4; l++)
    p2pc_pt_link_up(t, l);
  p2pc_pt_on_prune(t, 3);
  uint8_t m[128];
  size_t ml = bmsg(m, "o", 7);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 3, m, ml, 0), 0);
  assert_int_equal(r.delivered, 1);
  assert_int_equal(r.last_round, 3);
  assert_int_equal(count(&r, 'g', 0), 0); /* not back where it came from */
  assert_int_equal(count(&r, 'g', 1), 1);
  assert_int_equal(count(&r, 'g', 2), 1);
  assert_int_equal(count(&r, 'g', 3), 0);
  assert_int_equal(first(&r, 'g')->round, 4);
  uint64_t round = 0;
  assert_true(p2pc_pt_round(t, "o", 7, &round));
  assert_int_equal(round, 3);
  /* The second copy, on link 1: not delivered, link 1 pruned. */
  assert_int_equal(p2pc_pt_on_gossip(t, 1, 2, m, ml, 1), 0);
  assert_int_equal(r.delivered, 1);
  assert_int_equal(count(&r, 'p', 1), 1);
  assert_true(p2pc_pt_lazy(t, 1));
  /* A third, on the already lazy link 3: no second PRUNE needed. */
  assert_int_equal(p2pc_pt_on_gossip(t, 3, 2, m, ml, 1), 0);
  assert_int_equal(count(&r, 'p', UINT32_MAX), 1);
  p2pc_pt_stats st;
  p2pc_pt_get_stats(t, &st);
  assert_int_equal(st.received, 1);
  assert_int_equal(st.duplicates, 2);
  /* The first copy's link joins the tree even if it was lazy. */
  uint8_t m2[128];
  size_t ml2 = bmsg(m2, "o", 8);
  assert_int_equal(p2pc_pt_on_gossip(t, 3, 1, m2, ml2, 2), 0);
  assert_true(p2pc_pt_eager(t, 3));
  /* A malformed header is the caller's protocol error. */
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, 3, 2), P2PC_ERR_PROTO);
  p2pc_pt_free(t);
}

static void test_ihave_grafts_after_timeout(void **state) {
  (void)state;
  rec r;
  p2pc_pt *t = mk(&r, NULL);
  for (uint32_t l = 0; l < 3; l++) {
    p2pc_pt_link_up(t, l);
    p2pc_pt_on_prune(t, l);
  }
  p2pc_wire_bcast_id id = {"o~z", 5, 2};
  p2pc_pt_on_ihave(t, 1, &id, 1, 0);
  p2pc_pt_on_ihave(t, 2, &id, 1, 10 * MSEC);
  p2pc_pt_on_ihave(t, 1, &id, 1, 20 * MSEC); /* the same announcer again */
  assert_int_equal(p2pc_pt_next_deadline(t), P2PC_PT_GRAFT_NS_DEFAULT);
  p2pc_pt_on_deadline(t, P2PC_PT_GRAFT_NS_DEFAULT - 1);
  assert_int_equal(count(&r, 'G', UINT32_MAX), 0);
  p2pc_pt_on_deadline(t, P2PC_PT_GRAFT_NS_DEFAULT);
  assert_int_equal(count(&r, 'G', 1), 1); /* the first announcer */
  assert_true(p2pc_pt_eager(t, 1));
  assert_true(p2pc_pt_lazy(t, 2));
  assert_string_equal(first(&r, 'G')->id0.origin, "o~z");
  assert_int_equal(first(&r, 'G')->id0.n, 5);
  uint64_t t2 = P2PC_PT_GRAFT_NS_DEFAULT + P2PC_PT_GRAFT_NEXT_NS_DEFAULT;
  assert_int_equal(p2pc_pt_next_deadline(t), t2);
  p2pc_pt_on_deadline(t, t2);
  assert_int_equal(count(&r, 'G', 2), 1); /* then the next */
  assert_int_equal(count(&r, 'G', 1), 1);
  /* No announcer left: no timer. */
  p2pc_pt_on_deadline(t, t2 * 10);
  assert_int_equal(count(&r, 'G', UINT32_MAX), 2);
  /* The message comes: delivered once, and an IHAVE for it is ignored. */
  uint8_t m[128];
  size_t ml = bmsg(m, "o~z", 5);
  assert_int_equal(p2pc_pt_on_gossip(t, 2, 3, m, ml, t2 * 10), 0);
  assert_int_equal(r.delivered, 1);
  p2pc_pt_on_ihave(t, 0, &id, 1, t2 * 10);
  p2pc_pt_stats st;
  p2pc_pt_get_stats(t, &st);
  assert_int_equal(st.missing, 0);
  assert_int_equal(st.graft_sent, 2);
  p2pc_pt_free(t);
}

static void test_gossip_cancels_graft(void **state) {
  (void)state;
  rec r;
  p2pc_pt *t = mk(&r, NULL);
  p2pc_pt_link_up(t, 0);
  p2pc_pt_link_up(t, 1);
  p2pc_wire_bcast_id id = {"o", 1, 1};
  p2pc_pt_on_ihave(t, 1, &id, 1, 0);
  uint8_t m[128];
  size_t ml = bmsg(m, "o", 1);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, 50 * MSEC), 0);
  p2pc_pt_on_deadline(t, 1000 * MSEC);
  assert_int_equal(count(&r, 'G', UINT32_MAX), 0);
  assert_int_equal(r.delivered, 1);
  /* IHAVE from a link that is down is ignored. */
  p2pc_pt_link_down(t, 1);
  p2pc_wire_bcast_id id2 = {"o", 2, 1};
  p2pc_pt_on_ihave(t, 1, &id2, 1, 1000 * MSEC);
  p2pc_pt_stats st;
  p2pc_pt_get_stats(t, &st);
  assert_int_equal(st.missing, 0);
  /* An announcer whose link went down before the timer is skipped. */
  p2pc_pt_link_up(t, 1);
  p2pc_pt_on_ihave(t, 1, &id2, 1, 1000 * MSEC);
  p2pc_pt_link_down(t, 1);
  p2pc_pt_on_deadline(t, 2000 * MSEC);
  assert_int_equal(count(&r, 'G', UINT32_MAX), 0);
  p2pc_pt_free(t);
}

static void test_graft_answered_from_cache(void **state) {
  (void)state;
  rec r;
  p2pc_pt *t = mk(&r, NULL);
  p2pc_pt_link_up(t, 0);
  p2pc_pt_link_up(t, 1);
  p2pc_pt_on_prune(t, 1);
  uint8_t m[128];
  size_t ml = bmsg(m, "o", 3);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 4, m, ml, 0), 0);
  assert_int_equal(count(&r, 'g', 1), 0);
  p2pc_wire_bcast_id ids[2] = {{"o", 3, 4}, {"o", 99, 1}};
  p2pc_pt_on_graft(t, 1, ids, 2, 1);
  assert_true(p2pc_pt_eager(t, 1));
  assert_int_equal(count(&r, 'g', 1), 1); /* 99 is unknown: nothing */
  assert_int_equal(first(&r, 'g')->round, 5);
  assert_int_equal(first(&r, 'g')->n, 3);
  /* A link that is not up cannot graft. */
  p2pc_pt_on_graft(t, 5, ids, 1, 1);
  assert_false(p2pc_pt_eager(t, 5));
  assert_int_equal(count(&r, 'g', UINT32_MAX), 1);
  p2pc_pt_free(t);
}

static void test_ihave_batched_per_lazy_link(void **state) {
  (void)state;
  rec r;
  p2pc_pt *t = mk(&r, NULL);
  for (uint32_t l = 0; l < 3; l++) {
    p2pc_pt_link_up(t, l);
    p2pc_pt_on_prune(t, l);
  }
  p2pc_pt_on_graft(t, 0, NULL, 0, 0); /* link 0 eager */
  uint8_t m[128];
  for (uint64_t n = 1; n <= 100; n++) {
    size_t ml = bmsg(m, "o", n);
    /* half arrive from lazy link 1: not announced back to it */
    uint32_t from = n % 2 ? 0 : 1;
    assert_int_equal(p2pc_pt_on_gossip(t, from, 1, m, ml, 0), 0);
  }
  /* the first copies from link 1 made it eager (the tree's); pruned */
  assert_true(p2pc_pt_eager(t, 1));
  p2pc_pt_on_prune(t, 1);
  p2pc_pt_on_deadline(t, P2PC_PT_IHAVE_NS_DEFAULT);
  /* link 2: 100 ids in two frames (64 + 36); link 1: the 50 from 0 */
  assert_int_equal(count(&r, 'i', 2), 2);
  assert_int_equal(count(&r, 'i', 1), 1);
  assert_int_equal(r.ihave_ids, 150);
  assert_int_equal(count(&r, 'i', 0), 0);
  p2pc_pt_free(t);
}

static void test_cache_bounds(void **state) {
  (void)state;
  rec r;
  p2pc_pt_config c;
  p2pc_pt_config_default(&c);
  c.max_links = 4;
  c.cache = 4;
  c.max_ids = 8;
  c.cache_ns = 1000 * MSEC;
  p2pc_pt *t = mk(&r, &c);
  p2pc_pt_link_up(t, 0);
  p2pc_pt_link_up(t, 1);
  uint8_t m[128];
  size_t ml = 0;
  for (uint64_t n = 1; n <= 20; n++) {
    ml = bmsg(m, "o", n);
    assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, n * MSEC), 0);
    p2pc_pt_stats st;
    p2pc_pt_get_stats(t, &st);
    assert_true(st.cached <= 4);
    assert_true(st.ids <= 8);
    assert_int_equal(st.bytes, st.cached * ml);
  }
  uint64_t round;
  assert_false(p2pc_pt_round(t, "o", 12, &round)); /* forgotten */
  assert_true(p2pc_pt_round(t, "o", 13, &round));  /* remembered ... */
  uint32_t before = count(&r, 'g', 1);
  p2pc_wire_bcast_id old = {"o", 13, 1}, recent = {"o", 20, 1};
  p2pc_pt_on_graft(t, 1, &old, 1, 30 * MSEC); /* ... but its bytes are gone */
  assert_int_equal(count(&r, 'g', 1), before);
  p2pc_pt_on_graft(t, 1, &recent, 1, 30 * MSEC);
  assert_int_equal(count(&r, 'g', 1), before + 1);
  /* A copy of a remembered id is a duplicate, bytes or not. */
  ml = bmsg(m, "o", 13);
  assert_int_equal(p2pc_pt_on_gossip(t, 1, 1, m, ml, 30 * MSEC), 0);
  assert_int_equal(r.delivered, 20);
  /* Age: everything goes after cache_ns, and the deadline says when
   * (once the announcements are flushed). */
  assert_int_equal(p2pc_pt_next_deadline(t),
                   1 * MSEC + P2PC_PT_IHAVE_NS_DEFAULT);
  p2pc_pt_on_deadline(t, 1 * MSEC + P2PC_PT_IHAVE_NS_DEFAULT);
  assert_int_equal(p2pc_pt_next_deadline(t), 13 * MSEC + 1000 * MSEC);
  p2pc_pt_on_deadline(t, 2000 * MSEC);
  p2pc_pt_stats st;
  p2pc_pt_get_stats(t, &st);
  assert_int_equal(st.ids, 0);
  assert_int_equal(st.cached, 0);
  assert_int_equal(st.bytes, 0);
  assert_int_equal(p2pc_pt_next_deadline(t), UINT64_MAX);
  p2pc_pt_free(t);
}

static void test_full_causal_layer_retried(void **state) {
  (void)state;
  rec r;
  p2pc_pt *t = mk(&r, NULL);
  p2pc_pt_link_up(t, 0);
  p2pc_pt_link_up(t, 1);
  uint8_t m[128];
  size_t ml = bmsg(m, "o", 1);
  r.answer = P2PC_ERR_FULL;
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 2, m, ml, 0), 0);
  assert_int_equal(r.delivered, 0);
  assert_int_equal(count(&r, 'g', 1), 1); /* forwarded all the same */
  /* A copy now is a duplicate, even though it is not delivered yet. */
  assert_int_equal(p2pc_pt_on_gossip(t, 1, 2, m, ml, 1), 0);
  p2pc_pt_on_deadline(t, P2PC_PT_RETRY_NS_DEFAULT);
  assert_int_equal(r.delivered, 0);
  r.answer = 0;
  p2pc_pt_on_deadline(t, 2 * P2PC_PT_RETRY_NS_DEFAULT);
  assert_int_equal(r.delivered, 1);
  assert_int_equal(r.last_round, 2);
  p2pc_pt_on_deadline(t, 3 * P2PC_PT_RETRY_NS_DEFAULT);
  assert_int_equal(r.delivered, 1);
  p2pc_pt_stats st;
  p2pc_pt_get_stats(t, &st);
  assert_int_equal(st.retries, 2);
  assert_int_equal(st.cached, 1); /* still there for GRAFTs */
  /* Malformed for the causal layer: dropped, not forwarded. */
  r.answer = P2PC_ERR_PROTO;
  uint32_t g = count(&r, 'g', UINT32_MAX);
  ml = bmsg(m, "o", 2);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 2, m, ml, 4), 0);
  assert_int_equal(count(&r, 'g', UINT32_MAX), g);
  p2pc_pt_get_stats(t, &st);
  assert_int_equal(st.malformed, 1);
  p2pc_pt_free(t);
}

static void test_reentrant_broadcast(void **state) {
  (void)state;
  rec r;
  p2pc_pt_config c;
  p2pc_pt_config_default(&c);
  c.max_links = 4;
  c.cache = 2;
  c.max_ids = 2; /* the nested broadcast evicts the outer record */
  p2pc_pt *t = mk(&r, &c);
  p2pc_pt_link_up(t, 0);
  p2pc_pt_link_up(t, 1);
  uint8_t m[128];
  size_t ml = bmsg(m, "o", 1);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, 0), 0);
  ml = bmsg(m, "o", 2);
  r.reenter = t;
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, 0), 0);
  /* o:2 to link 1, then self:1000 to both */
  assert_int_equal(count(&r, 'g', UINT32_MAX), 1 + 1 + 2);
  /* the same under retries */
  r.answer = P2PC_ERR_FULL;
  ml = bmsg(m, "o", 3);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, 0), 0);
  r.answer = 0;
  r.reenter = t;
  p2pc_pt_on_deadline(t, P2PC_PT_RETRY_NS_DEFAULT);
  p2pc_pt_stats st;
  p2pc_pt_get_stats(t, &st);
  assert_true(st.ids <= 2);
  assert_true(st.cached <= 2);
  p2pc_pt_free(t);
}

/* The hash table under random churn agrees with a model: a window of the
 * last max_ids ids. */
static void test_table_model(void **state) {
  (void)state;
  const char *env = getenv("P2PC_SEED");
  uint64_t seed = env ? strtoull(env, NULL, 10) : 12345;
  printf("seed %llu\n", (unsigned long long)seed);
  p2pc_rng g;
  p2pc_rng_seed(&g, seed, 0);
  rec r;
  p2pc_pt_config c;
  p2pc_pt_config_default(&c);
  c.max_links = 2;
  c.cache = 37;
  c.max_ids = 100;
  p2pc_pt *t = mk(&r, &c);
  p2pc_pt_link_up(t, 0);
  uint64_t seen[1000];
  char o[8];
  uint8_t m[128];
  for (uint32_t i = 0; i < 1000; i++) {
    /* a fresh id, sometimes a copy of a recent one */
    uint64_t n = i && p2pc_rng_below(&g, 4) == 0
                     ? seen[i - 1 - p2pc_rng_below(&g, i < 50 ? i : 50)]
                     : 10000 + i;
    seen[i] = n;
    snprintf(o, sizeof o, "o%u", (unsigned)(n % 7));
    size_t ml = bmsg(m, o, n);
    assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, 0), 0);
  }
  p2pc_pt_stats st;
  p2pc_pt_get_stats(t, &st);
  assert_int_equal(st.received + st.duplicates, 1000);
  assert_int_equal(st.ids, 100);
  assert_int_equal(st.cached, 37);
  /* the last 100 distinct ids are known */
  uint32_t known = 0;
  for (uint32_t i = 0; i < 1000; i++) {
    uint64_t rd;
    snprintf(o, sizeof o, "o%u", (unsigned)(seen[i] % 7));
    known += seen[i] == 10000 + i && p2pc_pt_round(t, o, seen[i], &rd);
  }
  assert_int_equal(known, 100);
  p2pc_pt_free(t);
}

static void test_allocation_failures(void **state) {
  (void)state;
  for (long k = 0; k < 40; k++) {
    failalloc f;
    failalloc_init(&f);
    f.countdown = k;
    rec r;
    memset(&r, 0, sizeof r);
    p2pc_pt_config c;
    p2pc_pt_config_default(&c);
    c.max_links = 2;
    p2pc_pt_hooks h = {h_deliver, h_gossip, h_ihave, h_graft, h_prune, &r};
    p2pc_pt *t = NULL;
    if (p2pc_pt_new(&t, &f.a, &c, &h) != 0) {
      assert_null(t);
      continue;
    }
    p2pc_pt_link_up(t, 0);
    p2pc_pt_link_up(t, 1);
    uint8_t m[128];
    for (uint64_t n = 1; n <= 40; n++) {
      size_t ml = bmsg(m, "o", n);
      int rv = p2pc_pt_on_gossip(t, 0, 1, m, ml, 0);
      assert_true(rv == 0 || rv == P2PC_ERR_NOMEM);
    }
    p2pc_pt_free(t);
    assert_int_equal(f.live, 0);
  }
}

/* A link that comes up hears of every cached message (a node that joins
 * or returns after a cut GRAFTs what it missed). */
static void test_new_link_told_the_backlog(void **state) {
  (void)state;
  rec r;
  p2pc_pt *t = mk(&r, NULL);
  p2pc_pt_link_up(t, 0);
  assert_int_equal(p2pc_pt_next_deadline(t), UINT64_MAX); /* nothing held */
  uint8_t m[128];
  for (uint64_t n = 1; n <= 3; n++) {
    size_t ml = bmsg(m, "o", n);
    assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, 0), 0);
  }
  p2pc_pt_on_deadline(t, P2PC_PT_IHAVE_NS_DEFAULT); /* nobody lazy */
  assert_int_equal(count(&r, 'i', UINT32_MAX), 0);
  p2pc_pt_link_up(t, 1);
  assert_int_equal(p2pc_pt_next_deadline(t), 0); /* at once */
  p2pc_pt_on_deadline(t, P2PC_PT_IHAVE_NS_DEFAULT + 1);
  assert_int_equal(count(&r, 'i', 1), 1);
  assert_int_equal(count(&r, 'i', 0), 0); /* they came from 0 */
  assert_int_equal(r.ihave_ids, 3);
  /* once */
  p2pc_pt_on_deadline(t, 10 * P2PC_PT_IHAVE_NS_DEFAULT);
  assert_int_equal(count(&r, 'i', UINT32_MAX), 1);
  p2pc_pt_free(t);
}

/* Plumtree 3.7: an IHAVE that shows a path more than opt_rounds shorter
 * moves the tree onto it: an empty GRAFT there, a PRUNE to the copy's
 * link; once per message. */
static void test_tree_moves_to_shorter_path(void **state) {
  (void)state;
  rec r;
  p2pc_pt_config c;
  p2pc_pt_config_default(&c);
  c.max_links = 4;
  c.opt_rounds = 3;
  p2pc_pt *t = mk(&r, &c);
  for (uint32_t l = 0; l < 3; l++)
    p2pc_pt_link_up(t, l);
  p2pc_pt_on_prune(t, 1);
  p2pc_pt_on_prune(t, 2);
  uint8_t m[128];
  size_t ml = bmsg(m, "o", 1);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 9, m, ml, 0), 0);
  p2pc_wire_bcast_id close = {"o", 1, 5}, closer = {"o", 1, 2};
  p2pc_pt_on_ihave(t, 1, &close, 1, 1); /* 6 vs 9: not enough */
  assert_int_equal(count(&r, 'G', UINT32_MAX), 0);
  p2pc_pt_on_ihave(t, 2, &closer, 1, 1); /* 3 vs 9 */
  assert_int_equal(count(&r, 'G', 2), 1);
  assert_int_equal(first(&r, 'G')->count, 0);
  assert_int_equal(count(&r, 'p', 0), 1);
  assert_true(p2pc_pt_eager(t, 2));
  assert_true(p2pc_pt_lazy(t, 0));
  uint64_t round;
  assert_true(p2pc_pt_round(t, "o", 1, &round));
  assert_int_equal(round, 3);
  p2pc_pt_on_ihave(t, 1, &closer, 1, 2); /* now 3 vs 3 */
  assert_int_equal(count(&r, 'G', UINT32_MAX), 1);
  p2pc_pt_stats st;
  p2pc_pt_get_stats(t, &st);
  assert_int_equal(st.optimised, 1);
  p2pc_pt_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_broadcast_eager_then_lazy),
      cmocka_unit_test(test_first_copy_forwarded_duplicate_pruned),
      cmocka_unit_test(test_ihave_grafts_after_timeout),
      cmocka_unit_test(test_gossip_cancels_graft),
      cmocka_unit_test(test_graft_answered_from_cache),
      cmocka_unit_test(test_ihave_batched_per_lazy_link),
      cmocka_unit_test(test_cache_bounds),
      cmocka_unit_test(test_full_causal_layer_retried),
      cmocka_unit_test(test_reentrant_broadcast),
      cmocka_unit_test(test_table_model),
      cmocka_unit_test(test_allocation_failures),
      cmocka_unit_test(test_new_link_told_the_backlog),
      cmocka_unit_test(test_tree_moves_to_shorter_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
