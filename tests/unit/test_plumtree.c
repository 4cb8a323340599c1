/* SPDX-License-Identifier: MIT */
/*
 * Plumtree (plumtree.h) alone, with recording hooks: new links eager, the
 * first copy delivered once and pushed on the other eager links (round +
 * 1), one tree per origin (a new origin floods and prunes nothing, its
 * second message prunes, a tree is forgotten after tree_ns and at the
 * table's bound), a duplicate pruning its link, IHAVE batching on the
 * lazy links, a
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
#include "testseed.h"

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

static void h_prune(void *ud, uint32_t link, const char *origin) {
  sent *s = add(ud, 'p', link);
  snprintf(s->id0.origin, sizeof s->id0.origin, "%s", origin);
}

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

/* Gives origin o a tree here with the links in `lazy` (a bit mask) lazy:
 * its messages 1 (a flood, which prunes nothing) and 2 from link `from`,
 * then copies of 2 on the lazy links, each answered by a PRUNE. The
 * record of frames and deliveries starts afresh after it. */
static void tree_with_lazy(p2pc_pt *t, rec *r, const char *o, uint32_t from,
                           uint32_t lazy) {
  uint8_t m[128];
  size_t ml = bmsg(m, o, 1);
  assert_int_equal(p2pc_pt_on_gossip(t, from, 1, m, ml, 0), 0);
  ml = bmsg(m, o, 2);
  assert_int_equal(p2pc_pt_on_gossip(t, from, 1, m, ml, 0), 0);
  for (uint32_t l = 0; l < 32; l++)
    if (lazy >> l & 1) {
      assert_int_equal(p2pc_pt_on_gossip(t, l, 1, m, ml, 0), 0);
      assert_true(p2pc_pt_lazy(t, o, l));
    }
  r->ns = 0;
  r->delivered = 0;
  r->ihave_ids = 0;
}

static void test_broadcast_eager_then_lazy(void **state) {
  (void)state;
  rec r;
  p2pc_pt *t = mk(&r, NULL);
  uint8_t m[128];
  size_t ml = bmsg(m, "me~1", 1);
  for (uint32_t l = 0; l < 3; l++) {
    p2pc_pt_link_up(t, l);
    assert_true(p2pc_pt_eager(t, "me~1", l)); /* new links start eager */
  }
  /* No tree yet: the first broadcast floods, and a PRUNE for an origin
   * without a tree changes nothing. */
  p2pc_pt_on_prune(t, 2, "me~1", 0);
  assert_false(p2pc_pt_has_tree(t, "me~1"));
  assert_int_equal(p2pc_pt_broadcast(t, m, ml, 0), 0);
  assert_int_equal(count(&r, 'g', UINT32_MAX), 3);
  assert_true(p2pc_pt_has_tree(t, "me~1"));
  p2pc_pt_on_deadline(t, P2PC_PT_IHAVE_NS_DEFAULT); /* no lazy link */
  assert_int_equal(count(&r, 'i', UINT32_MAX), 0);
  r.ns = 0;
  p2pc_pt_on_prune(t, 2, "me~1", 0);
  assert_true(p2pc_pt_lazy(t, "me~1", 2));
  assert_true(p2pc_pt_eager(t, "other", 2)); /* one tree per origin */
  ml = bmsg(m, "me~1", 2);
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
  assert_int_equal(first(&r, 'i')->id0.n, 2);
  assert_int_equal(first(&r, 'i')->id0.round, 0);
  /* Not a broadcast: refused. */
  uint8_t u[128];
  size_t ul = bmsg(u, "me~1", 3);
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
  uint8_t m[128];
  size_t ml = bmsg(m, "o", 7);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 3, m, ml, 0), 0);
  assert_int_equal(r.delivered, 1);
  assert_int_equal(r.last_round, 3);
  assert_int_equal(count(&r, 'g', 0), 0); /* not back where it came from */
  assert_int_equal(count(&r, 'g', 1), 1);
  assert_int_equal(count(&r, 'g', 2), 1);
  assert_int_equal(count(&r, 'g', 3), 1);
  assert_int_equal(first(&r, 'g')->round, 4);
  uint64_t round = 0;
  assert_true(p2pc_pt_round(t, "o", 7, &round));
  assert_int_equal(round, 3);
  /* The origin's first message here floods: a second copy is dropped,
   * and prunes nothing. */
  assert_int_equal(p2pc_pt_on_gossip(t, 1, 2, m, ml, 1), 0);
  assert_int_equal(r.delivered, 1);
  assert_int_equal(count(&r, 'p', UINT32_MAX), 0);
  assert_true(p2pc_pt_eager(t, "o", 1));
  /* Its next message floods too (every link is still eager) ... */
  uint8_t m2[128];
  size_t ml2 = bmsg(m2, "o", 8);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 3, m2, ml2, 2), 0);
  assert_int_equal(count(&r, 'g', 1), 2);
  assert_int_equal(count(&r, 'g', 3), 2);
  /* ... and its second copies prune: link 1 leaves o's tree, once. */
  assert_int_equal(p2pc_pt_on_gossip(t, 1, 2, m2, ml2, 3), 0);
  assert_int_equal(count(&r, 'p', 1), 1);
  assert_string_equal(first(&r, 'p')->id0.origin, "o");
  assert_true(p2pc_pt_lazy(t, "o", 1));
  assert_true(p2pc_pt_eager(t, "q", 1)); /* only o's */
  assert_int_equal(p2pc_pt_on_gossip(t, 1, 2, m2, ml2, 3), 0);
  assert_int_equal(count(&r, 'p', UINT32_MAX), 1);
  p2pc_pt_stats st;
  p2pc_pt_get_stats(t, &st);
  assert_int_equal(st.received, 2);
  assert_int_equal(st.duplicates, 3);
  assert_int_equal(st.origins, 1);
  /* The first copy's link joins the tree even if it was lazy. */
  uint8_t m3[128];
  size_t ml3 = bmsg(m3, "o", 9);
  assert_int_equal(p2pc_pt_on_gossip(t, 1, 1, m3, ml3, 4), 0);
  assert_true(p2pc_pt_eager(t, "o", 1));
  /* A malformed header is the caller's protocol error. */
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, 3, 2), P2PC_ERR_PROTO);
  p2pc_pt_free(t);
}

static void test_ihave_grafts_after_timeout(void **state) {
  (void)state;
  rec r;
  p2pc_pt *t = mk(&r, NULL);
  for (uint32_t l = 0; l < 3; l++)
    p2pc_pt_link_up(t, l);
  tree_with_lazy(t, &r, "o~z", 0, 1u << 1 | 1u << 2);
  p2pc_wire_bcast_id id = {"o~z", 5, 2};
  p2pc_pt_on_ihave(t, 1, &id, 1, 0);
  p2pc_pt_on_ihave(t, 2, &id, 1, 10 * MSEC);
  p2pc_pt_on_ihave(t, 1, &id, 1, 20 * MSEC); /* the same announcer again */
  assert_int_equal(p2pc_pt_next_deadline(t), P2PC_PT_GRAFT_NS_DEFAULT);
  p2pc_pt_on_deadline(t, P2PC_PT_GRAFT_NS_DEFAULT - 1);
  assert_int_equal(count(&r, 'G', UINT32_MAX), 0);
  p2pc_pt_on_deadline(t, P2PC_PT_GRAFT_NS_DEFAULT);
  assert_int_equal(count(&r, 'G', 1), 1);  /* the first announcer */
  assert_true(p2pc_pt_eager(t, "o~z", 1)); /* joins o~z's tree */
  assert_true(p2pc_pt_lazy(t, "o~z", 2));
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
  tree_with_lazy(t, &r, "o", 0, 1u << 1);
  uint8_t m[128];
  size_t ml = bmsg(m, "o", 3);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 4, m, ml, 0), 0);
  assert_int_equal(count(&r, 'g', 1), 0);
  p2pc_wire_bcast_id ids[2] = {{"o", 3, 4}, {"o", 99, 1}};
  p2pc_pt_on_graft(t, 1, ids, 2, 1);
  assert_true(p2pc_pt_eager(t, "o", 1));
  assert_int_equal(count(&r, 'g', 1), 1); /* 99 is unknown: nothing */
  assert_int_equal(first(&r, 'g')->round, 5);
  assert_int_equal(first(&r, 'g')->n, 3);
  /* A link that is not up cannot graft. */
  p2pc_pt_on_graft(t, 5, ids, 1, 1);
  assert_false(p2pc_pt_eager(t, "o", 5));
  assert_int_equal(count(&r, 'g', UINT32_MAX), 1);
  p2pc_pt_free(t);
}

static void test_ihave_batched_per_lazy_link(void **state) {
  (void)state;
  rec r;
  p2pc_pt *t = mk(&r, NULL);
  for (uint32_t l = 0; l < 3; l++)
    p2pc_pt_link_up(t, l);
  tree_with_lazy(t, &r, "o", 0, 1u << 1 | 1u << 2);
  uint8_t m[128];
  for (uint64_t n = 3; n < 103; n++) {
    size_t ml = bmsg(m, "o", n);
    assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, 0), 0);
  }
  assert_int_equal(count(&r, 'g', UINT32_MAX), 0);
  /* another origin, new here: it floods, so nothing to announce */
  size_t ml = bmsg(m, "p", 1);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, 0), 0);
  assert_int_equal(count(&r, 'g', UINT32_MAX), 2);
  p2pc_pt_on_deadline(t, P2PC_PT_IHAVE_NS_DEFAULT);
  /* each lazy link: 100 ids in two frames (64 + 36) */
  assert_int_equal(count(&r, 'i', 1), 2);
  assert_int_equal(count(&r, 'i', 2), 2);
  assert_int_equal(r.ihave_ids, 200);
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
  /* Age: everything goes after cache_ns, and the deadline says when (no
   * link is lazy: nothing to announce). */
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
  uint64_t seed = p2pc_test_seed("test_table_model", 12345);
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

/* An origin's tree is kept tree_ns from its first message here; after
 * that its next message floods again (and prunes nothing), and the one
 * after builds the tree afresh. */
static void test_tree_forgotten_and_rebuilt(void **state) {
  (void)state;
  rec r;
  p2pc_pt_config c;
  p2pc_pt_config_default(&c);
  c.max_links = 4;
  c.tree_ns = 1000 * MSEC;
  c.cache_ns = 100000 * MSEC;
  p2pc_pt *t = mk(&r, &c);
  for (uint32_t l = 0; l < 3; l++)
    p2pc_pt_link_up(t, l);
  tree_with_lazy(t, &r, "o", 0, 1u << 2); /* at 0 */
  uint8_t m[128];
  size_t ml = bmsg(m, "o", 3);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, 999 * MSEC), 0);
  assert_int_equal(count(&r, 'g', 2), 0); /* the tree */
  assert_int_equal(count(&r, 'g', 1), 1);
  ml = bmsg(m, "o", 4);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, 1000 * MSEC), 0);
  assert_int_equal(count(&r, 'g', 2), 1); /* forgotten: a flood */
  assert_int_equal(p2pc_pt_on_gossip(t, 2, 1, m, ml, 1001 * MSEC), 0);
  assert_int_equal(count(&r, 'p', UINT32_MAX), 0); /* a first message */
  ml = bmsg(m, "o", 5);
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, 1002 * MSEC), 0);
  assert_int_equal(count(&r, 'g', 2), 2);
  assert_int_equal(p2pc_pt_on_gossip(t, 2, 1, m, ml, 1003 * MSEC), 0);
  assert_int_equal(count(&r, 'p', 2), 1); /* the tree again */
  assert_true(p2pc_pt_lazy(t, "o", 2));
  p2pc_pt_free(t);
}

/* At most max_origins trees; the least recently used goes first. */
static void test_origins_bounded_lru(void **state) {
  (void)state;
  rec r;
  p2pc_pt_config c;
  p2pc_pt_config_default(&c);
  c.max_links = 2;
  c.max_origins = 4;
  p2pc_pt *t = mk(&r, &c);
  p2pc_pt_link_up(t, 0);
  p2pc_pt_link_up(t, 1);
  uint8_t m[128];
  char o[8];
  for (uint32_t i = 0; i < 4; i++) {
    snprintf(o, sizeof o, "o%u", (unsigned)i);
    size_t ml = bmsg(m, o, 1);
    assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, i), 0);
  }
  size_t ml = bmsg(m, "o0", 2); /* o0 used again: o1 is the oldest */
  assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, 5), 0);
  for (uint32_t i = 4; i < 6; i++) {
    snprintf(o, sizeof o, "o%u", (unsigned)i);
    ml = bmsg(m, o, 1);
    assert_int_equal(p2pc_pt_on_gossip(t, 0, 1, m, ml, 10 + i), 0);
    p2pc_pt_stats st;
    p2pc_pt_get_stats(t, &st);
    assert_int_equal(st.origins, 4);
  }
  assert_true(p2pc_pt_has_tree(t, "o0"));
  assert_false(p2pc_pt_has_tree(t, "o1"));
  assert_false(p2pc_pt_has_tree(t, "o2"));
  assert_true(p2pc_pt_has_tree(t, "o3"));
  assert_true(p2pc_pt_has_tree(t, "o5"));
  assert_int_equal(r.delivered, 7);
  p2pc_pt_free(t);
}

/* A link that comes up (again) is eager in every tree. */
static void test_link_up_eager_in_every_tree(void **state) {
  (void)state;
  rec r;
  p2pc_pt *t = mk(&r, NULL);
  for (uint32_t l = 0; l < 3; l++)
    p2pc_pt_link_up(t, l);
  tree_with_lazy(t, &r, "a", 0, 1u << 2);
  tree_with_lazy(t, &r, "b", 1, 1u << 2);
  assert_true(p2pc_pt_lazy(t, "a", 2));
  assert_true(p2pc_pt_lazy(t, "b", 2));
  p2pc_pt_link_down(t, 2);
  assert_false(p2pc_pt_lazy(t, "a", 2));
  assert_false(p2pc_pt_eager(t, "a", 2));
  p2pc_pt_link_up(t, 2);
  assert_true(p2pc_pt_eager(t, "a", 2));
  assert_true(p2pc_pt_eager(t, "b", 2));
  p2pc_pt_free(t);
}

/* ---- a small network of Plumtree instances ---------------------------- */

#define NN 48
#define NL 12
#define NEV 8192

typedef struct nev {
  uint64_t at, seq;
  uint32_t to, link;
  char kind;
  uint64_t round;
  uint8_t msg[64];
  size_t len;
  p2pc_wire_bcast_id ids[4];
  uint32_t count;
} nev;

typedef struct nnode {
  p2pc_pt *t;
  uint32_t deg, peer[NL], plink[NL];
  uint32_t got[4][4]; /* deliveries of message n of origin k */
  struct nnet *w;
  uint32_t self;
} nnode;

typedef struct nnet {
  nnode nd[NN];
  nev ev[NEV];
  uint32_t nev;
  uint64_t now, seq;
  uint64_t gossip, prune, ihave, graft;
} nnet;

static nev *nsend(nnode *x, uint32_t link, char kind) {
  nnet *w = x->w;
  assert_true(link < x->deg && w->nev < NEV);
  nev *e = &w->ev[w->nev++];
  memset(e, 0, sizeof *e);
  e->at = w->now + 1 * MSEC; /* every link: 1 ms, in order */
  e->seq = w->seq++;
  e->to = x->peer[link];
  e->link = x->plink[link];
  e->kind = kind;
  return e;
}

static int n_deliver(void *ud, uint32_t link, uint64_t round,
                     const uint8_t *msg, size_t len) {
  nnode *x = ud;
  const char *s, *d;
  uint8_t sl, dl;
  uint64_t n;
  (void)link;
  (void)round;
  assert_int_equal(p2pc_wire_ses_peek(msg, len, &s, &sl, &d, &dl, &n), 0);
  assert_true(n < 4 && s[1] - '0' < 4);
  x->got[s[1] - '0'][n]++;
  return 0;
}

static void n_gossip(void *ud, uint32_t link, uint64_t round,
                     const uint8_t *msg, size_t len) {
  nev *e = nsend(ud, link, 'g');
  assert_true(len <= sizeof e->msg);
  e->round = round;
  memcpy(e->msg, msg, len);
  e->len = len;
  ((nnode *)ud)->w->gossip++;
}

static void n_ids(void *ud, uint32_t link, const p2pc_wire_bcast_id *ids,
                  uint32_t count, char kind) {
  nev *e = nsend(ud, link, kind);
  assert_true(count >= 1 && count <= 4);
  memcpy(e->ids, ids, count * sizeof *ids);
  e->count = count;
}

static void n_ihave(void *ud, uint32_t link, const p2pc_wire_bcast_id *ids,
                    uint32_t count) {
  n_ids(ud, link, ids, count, 'i');
  ((nnode *)ud)->w->ihave++;
}

static void n_graft(void *ud, uint32_t link, const p2pc_wire_bcast_id *ids,
                    uint32_t count) {
  n_ids(ud, link, ids, count, 'G');
  ((nnode *)ud)->w->graft++;
}

static void n_prune(void *ud, uint32_t link, const char *origin) {
  nev *e = nsend(ud, link, 'p');
  snprintf(e->ids[0].origin, sizeof e->ids[0].origin, "%s", origin);
  ((nnode *)ud)->w->prune++;
}

/* Runs the frames and the deadlines (up to `until`) in time order. */
static void nrun(nnet *w, uint64_t until) {
  for (uint32_t steps = 0; steps < 1000000; steps++) {
    uint64_t dl = UINT64_MAX;
    for (uint32_t i = 0; i < NN; i++) {
      uint64_t d = p2pc_pt_next_deadline(w->nd[i].t);
      dl = d < dl ? d : dl;
    }
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < w->nev; i++)
      if (best == UINT32_MAX || w->ev[i].at < w->ev[best].at ||
          (w->ev[i].at == w->ev[best].at && w->ev[i].seq < w->ev[best].seq))
        best = i;
    uint64_t at = best == UINT32_MAX ? UINT64_MAX : w->ev[best].at;
    if (dl < at && dl <= until) {
      w->now = dl > w->now ? dl : w->now;
      for (uint32_t i = 0; i < NN; i++)
        if (p2pc_pt_next_deadline(w->nd[i].t) <= w->now)
          p2pc_pt_on_deadline(w->nd[i].t, w->now);
      continue;
    }
    if (at > until)
      return;
    nev e = w->ev[best];
    w->ev[best] = w->ev[--w->nev];
    w->now = e.at;
    p2pc_pt *t = w->nd[e.to].t;
    if (e.kind == 'g')
      assert_int_equal(
          p2pc_pt_on_gossip(t, e.link, e.round, e.msg, e.len, w->now), 0);
    else if (e.kind == 'i')
      p2pc_pt_on_ihave(t, e.link, e.ids, e.count, w->now);
    else if (e.kind == 'G')
      p2pc_pt_on_graft(t, e.link, e.ids, e.count, w->now);
    else
      p2pc_pt_on_prune(t, e.link, e.ids[0].origin, w->now);
  }
  fail_msg("the network did not settle");
}

static void nlink(nnet *w, uint32_t a, uint32_t b) {
  nnode *x = &w->nd[a], *y = &w->nd[b];
  for (uint32_t i = 0; i < x->deg; i++)
    if (x->peer[i] == b)
      return;
  if (a == b || x->deg == NL || y->deg == NL)
    return;
  x->peer[x->deg] = b;
  y->peer[y->deg] = a;
  x->plink[x->deg] = y->deg;
  y->plink[y->deg] = x->deg;
  p2pc_pt_link_up(x->t, x->deg++);
  p2pc_pt_link_up(y->t, y->deg++);
}

/* The rule the trees rest on, in random networks with equal link delays:
 * a new origin's first message floods, prunes nothing, and reaches every
 * node once along a shortest path (its hops are the BFS distance); its
 * second floods and prunes; from the third, one copy a node (N - 1
 * GOSSIPs) along the same shortest paths, the other links lazy. */
static void test_net_new_origin_shortest_paths(void **state) {
  (void)state;
  uint64_t seed = p2pc_test_seed("test_net_new_origin_shortest_paths", 777);
  p2pc_rng g;
  p2pc_rng_seed(&g, seed, 0);
  for (uint32_t trial = 0; trial < 8; trial++) {
    nnet *w = calloc(1, sizeof *w);
    assert_non_null(w);
    p2pc_pt_config c;
    p2pc_pt_config_default(&c);
    c.max_links = NL;
    for (uint32_t i = 0; i < NN; i++) {
      w->nd[i].w = w;
      w->nd[i].self = i;
      p2pc_pt_hooks h = {n_deliver, n_gossip, n_ihave,
                         n_graft,   n_prune,  &w->nd[i]};
      assert_int_equal(p2pc_pt_new(&w->nd[i].t, A, &c, &h), 0);
    }
    /* a ring and random chords: connected, degree 2..NL */
    for (uint32_t i = 0; i < NN; i++)
      nlink(w, i, (i + 1) % NN);
    for (uint32_t k = 0; k < NN * (1 + trial % 3); k++)
      nlink(w, (uint32_t)p2pc_rng_below(&g, NN),
            (uint32_t)p2pc_rng_below(&g, NN));
    for (uint32_t k = 0; k < 4; k++) {
      uint32_t o = (uint32_t)p2pc_rng_below(&g, NN);
      char origin[8];
      snprintf(origin, sizeof origin, "o%u", (unsigned)k);
      /* BFS distances from o */
      uint32_t dist[NN], q[NN], qh = 0, qt = 0;
      for (uint32_t i = 0; i < NN; i++)
        dist[i] = UINT32_MAX;
      dist[o] = 0;
      q[qt++] = o;
      while (qh < qt) {
        uint32_t v = q[qh++];
        for (uint32_t j = 0; j < w->nd[v].deg; j++)
          if (dist[w->nd[v].peer[j]] == UINT32_MAX) {
            dist[w->nd[v].peer[j]] = dist[v] + 1;
            q[qt++] = w->nd[v].peer[j];
          }
      }
      assert_int_equal(qt, NN);
      for (uint64_t n = 1; n <= 3; n++) {
        uint64_t g0 = w->gossip, p0 = w->prune;
        uint8_t m[64];
        size_t ml = bmsg(m, origin, n);
        w->now += 1000 * MSEC;
        assert_int_equal(p2pc_pt_broadcast(w->nd[o].t, m, ml, w->now), 0);
        w->nd[o].got[k][n]++; /* the causal layer's, at the sender */
        nrun(w, w->now + 500 * MSEC);
        for (uint32_t i = 0; i < NN; i++) {
          assert_int_equal(w->nd[i].got[k][n], 1); /* exactly once */
          uint64_t round = 0;
          assert_true(p2pc_pt_round(w->nd[i].t, origin, n, &round));
          assert_int_equal(round, dist[i]); /* a shortest path */
        }
        if (n == 1)
          assert_int_equal(w->prune - p0, 0);
        if (n == 2)
          assert_true(w->prune > p0);
        if (n == 3)
          assert_int_equal(w->gossip - g0, NN - 1); /* a tree */
      }
    }
    for (uint32_t i = 0; i < NN; i++)
      p2pc_pt_free(w->nd[i].t);
    free(w);
  }
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
      cmocka_unit_test(test_tree_forgotten_and_rebuilt),
      cmocka_unit_test(test_origins_bounded_lru),
      cmocka_unit_test(test_link_up_eager_in_every_tree),
      cmocka_unit_test(test_net_new_origin_shortest_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
