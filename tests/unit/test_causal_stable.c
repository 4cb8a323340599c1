/* SPDX-License-Identifier: MIT */
/*
 * Δ-SES stability (causal.h): entries' hop counts, retiring entries by the
 * global stable time, by levels and by a sender's LS, the LS values
 * messages carry (clamped, pruning, not kept for refused names), and the
 * pending count per destination.
 */
#include "causalfix.h"

/* ---- stability ------------------------------------------------------------
 */

static void test_set_stable(void **state) {
  (void)state;
  p2pc_causal_config keep = {.no_prune = true};
  node a, a2, c, c2;
  wire_msg m1, m2, v1, v2;
  node_new(&a, "A~a", NULL, A);
  node_new(&a2, "A~a", &keep, A);
  node_new(&c, "C~c", NULL, A);
  node_new(&c2, "C~c", NULL, A);
  send_msg(&a, "B~b", "m1", &m1);
  uint64_t s1 = last_ev(&a)->stamp;
  send_msg(&a, "C~c", "m2", &m2);
  uint64_t s2 = last_ev(&a)->stamp;
  send_msg(&a2, "B~b", "m1", &v1);
  send_msg(&a2, "C~c", "m2", &v2);
  assert_int_equal(p2pc_causal_pairs(a.c), 2);
  /* Entries stamped below G are stable: dropped. */
  p2pc_causal_set_stable(a.c, s1);
  assert_int_equal(p2pc_causal_pairs(a.c), 2); /* s1 is not below s1 */
  p2pc_causal_set_stable(a.c, s1 + 1);
  assert_int_equal(p2pc_causal_pairs(a.c), 1);
  assert_int_equal(stats(&a).stable_deps, 1);
  p2pc_causal_set_stable(a.c, 0); /* only raises */
  assert_int_equal(p2pc_causal_pairs(a.c), 1);
  p2pc_causal_set_stable(a.c, s2 + 1);
  assert_int_equal(p2pc_causal_pairs(a.c), 0);
  assert_int_equal(stats(&a).stable_deps, 2);
  /* With no_prune, G changes nothing. */
  p2pc_causal_set_stable(a2.c, s2 + 1);
  assert_int_equal(p2pc_causal_pairs(a2.c), 2);
  assert_int_equal(stats(&a2).stable_deps, 0);
  /* A receiver does not take in entries below its G. */
  p2pc_causal_set_stable(c.c, s1 + 1);
  assert_int_equal(arrive(&c, &v2, 0), 0);
  assert_int_equal(p2pc_causal_pairs(c.c), 0);
  assert_int_equal(arrive(&c2, &v2, 0), 0);
  assert_int_equal(p2pc_causal_pairs(c2.c), 1);
  /* Either way the same decision (delivered). */
  assert_string_equal(last(&c), "deliver A~a:2");
  assert_string_equal(last(&c2), "deliver A~a:2");
  /* Delivery reports do not prune with no_prune either, but they do end
   * the messages' pending state. */
  assert_int_equal(p2pc_causal_peer_report(a2.c, "B~b", 1, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_pairs(a2.c), 2);
  assert_int_equal(p2pc_causal_local_stable(a2.c), a2.ev[1].stamp);
  node_free(&a);
  node_free(&a2);
  node_free(&c);
  node_free(&c2);
  p2pc_buf_fini(&m1.b);
  p2pc_buf_fini(&m2.b);
  p2pc_buf_fini(&v1.b);
  p2pc_buf_fini(&v2.b);
}

/* An entry to put in a hand-made message: by name, with its hop count. */
typedef struct craft_dep {
  const char *dest, *sender;
  uint64_t n, stamp;
  uint32_t hops;
} craft_dep;

/* An LS value to put in a hand-made message: whose, by name. */
typedef struct craft_ls {
  const char *id;
  uint64_t ls;
} craft_ls;

/* Encodes a message from sender to dest carrying deps and LS values ls, as
 * a core would (the payload includes the NUL, as send_msg's do). */
static void craft_with_ls(wire_msg *w, const char *sender, const char *dest,
                          uint64_t n, uint64_t prev, uint64_t stamp,
                          const craft_dep *deps, uint32_t ndeps,
                          const craft_ls *ls, uint32_t nls) {
  p2pc_idtab ids;
  p2pc_idtab_init(&ids, A, 64);
  uint32_t id;
  p2pc_ses_dep e[8];
  p2pc_ses_ls l[8];
  assert_true(ndeps <= 8 && nls <= 8);
  p2pc_ses_msg m;
  p2pc_ses_msg_init(&m);
  assert_int_equal(p2pc_idtab_intern(&ids, sender, strlen(sender), &id), 0);
  m.sender = id;
  assert_int_equal(p2pc_idtab_intern(&ids, dest, strlen(dest), &id), 0);
  m.dest = id;
  for (uint32_t i = 0; i < ndeps; i++) {
    uint32_t d, sd;
    assert_int_equal(
        p2pc_idtab_intern(&ids, deps[i].dest, strlen(deps[i].dest), &d), 0);
    assert_int_equal(
        p2pc_idtab_intern(&ids, deps[i].sender, strlen(deps[i].sender), &sd),
        0);
    e[i] = (p2pc_ses_dep){d, sd, deps[i].n, deps[i].stamp, deps[i].hops};
  }
  m.n = n;
  m.prev = prev;
  m.stamp = stamp;
  m.deps = e;
  m.ndeps = ndeps;
  for (uint32_t i = 0; i < nls; i++) {
    assert_int_equal(p2pc_idtab_intern(&ids, ls[i].id, strlen(ls[i].id), &id),
                     0);
    l[i] = (p2pc_ses_ls){id, ls[i].ls};
  }
  m.ls = l;
  m.nls = nls;
  m.payload = (const uint8_t *)"c";
  m.payload_len = 2;
  p2pc_wire_scratch scratch = {0};
  p2pc_buf_init(&w->b, A, 1 << 16);
  assert_int_equal(p2pc_wire_ses_put(&w->b, &m, &ids, &scratch, A, NULL), 0);
  p2pc_wire_scratch_fini(&scratch, A);
  p2pc_idtab_fini(&ids);
}

static void craft(wire_msg *w, const char *sender, const char *dest, uint64_t n,
                  uint64_t prev, uint64_t stamp, const craft_dep *deps,
                  uint32_t ndeps) {
  craft_with_ls(w, sender, dest, n, prev, stamp, deps, ndeps, NULL, 0);
}

/* The hop count of the entry (dest, sender) that the encoded message w
 * carries; -1 if it carries none. */
static int carried_hops(const wire_msg *w, const char *dest,
                        const char *sender) {
  p2pc_idtab ids;
  p2pc_ses_msg m;
  p2pc_idtab_init(&ids, A, 64);
  p2pc_ses_msg_init(&m);
  assert_int_equal(p2pc_wire_ses_get(w->b.data, w->b.len, &ids, A, &m),
                   (int)w->b.len);
  assert_int_equal(p2pc_wire_ses_commit(&ids, &m), 0);
  int h = -1;
  for (uint32_t i = 0; i < m.ndeps; i++)
    if (strcmp(p2pc_idtab_name(&ids, m.deps[i].dest, NULL), dest) == 0 &&
        strcmp(p2pc_idtab_name(&ids, m.deps[i].sender, NULL), sender) == 0)
      h = (int)m.deps[i].hops;
  p2pc_ses_msg_fini(&m, A);
  p2pc_idtab_fini(&ids);
  return h;
}

/* The LS value for id that the encoded message w carries (0: none), and
 * how many it carries in all (*nls). */
static uint64_t carried_ls(const wire_msg *w, const char *id, uint32_t *nls) {
  p2pc_idtab ids;
  p2pc_ses_msg m;
  p2pc_idtab_init(&ids, A, 64);
  p2pc_ses_msg_init(&m);
  assert_int_equal(p2pc_wire_ses_get(w->b.data, w->b.len, &ids, A, &m),
                   (int)w->b.len);
  assert_int_equal(p2pc_wire_ses_commit(&ids, &m), 0);
  uint64_t v = 0;
  for (uint32_t i = 0; i < m.nls; i++)
    if (strcmp(p2pc_idtab_name(&ids, m.ls[i].id, NULL), id) == 0)
      v = m.ls[i].ls;
  if (nls)
    *nls = m.nls;
  p2pc_ses_msg_fini(&m, A);
  p2pc_idtab_fini(&ids);
  return v;
}

/* Entries carry the DATA hops they travelled: 0 from their sender, one
 * more at each node that keeps them (saturating at 255). For the same
 * message heard over two paths the shorter count stays, whichever came
 * first; a later message replaces the entry with its own count. */
static void test_entry_hops(void **state) {
  (void)state;
  node a, b, c, c2;
  wire_msg a1, x, y, z, c1, c3, a4, w, c4;
  node_new(&a, "A~a", NULL, A);
  node_new(&b, "B~b", NULL, A);
  node_new(&c, "C~c", NULL, A);
  node_new(&c2, "C~c", NULL, A);
  send_msg(&a, "D~d", "a1", &a1); /* A holds (D, A, 1) */
  send_msg(&a, "B~b", "x", &x);
  assert_int_equal(carried_hops(&x, "D~d", "A~a"), 0);
  assert_int_equal(arrive(&b, &x, 0), 0);
  send_msg(&b, "C~c", "y", &y); /* B kept it: 1 hop */
  assert_int_equal(carried_hops(&y, "D~d", "A~a"), 1);
  send_msg(&a, "C~c", "z", &z); /* straight from A: 0 */
  assert_int_equal(carried_hops(&z, "D~d", "A~a"), 0);
  /* C hears it over two hops first, then over one: 1. */
  assert_int_equal(arrive(&c, &y, 0), 0);
  assert_string_equal(last(&c), "deliver B~b:1");
  send_msg(&c, "E~e", "c1", &c1);
  assert_int_equal(carried_hops(&c1, "D~d", "A~a"), 2);
  assert_int_equal(arrive(&c, &z, 0), 0);
  assert_string_equal(last(&c), "deliver A~a:3");
  send_msg(&c, "E~e", "c3", &c3);
  assert_int_equal(carried_hops(&c3, "D~d", "A~a"), 1);
  /* C2 the other way round: still 1. */
  assert_int_equal(arrive(&c2, &z, 0), 0);
  assert_int_equal(arrive(&c2, &y, 0), 0);
  assert_int_equal(count(&c2, P2PC_CEV_DELIVER), 2);
  send_msg(&c2, "E~e", "c", &w);
  assert_int_equal(carried_hops(&w, "D~d", "A~a"), 1);
  p2pc_buf_fini(&w.b);
  /* A's next message to D, heard over B (one more hop than C's entry
   * for A:1 had): the later message wins, with its own count. */
  send_msg(&a, "D~d", "a4", &a4);
  wire_msg x2, y2;
  send_msg(&a, "B~b", "x2", &x2);
  assert_int_equal(arrive(&b, &x2, 0), 0);
  send_msg(&b, "C~c", "y2", &y2);
  assert_int_equal(carried_hops(&y2, "D~d", "A~a"), 1);
  assert_int_equal(arrive(&c, &y2, 0), 0);
  send_msg(&c, "E~e", "c4", &c4);
  assert_int_equal(carried_hops(&c4, "D~d", "A~a"), 2);
  /* The count saturates at the wire's largest. */
  node f;
  wire_msg m, fw;
  node_new(&f, "F~f", NULL, A);
  const craft_dep far[] = {{"G~g", "Q~q", 1, 50, P2PC_SES_MAX_HOPS},
                           {"H~h", "Q~q", 1, 50, P2PC_SES_MAX_HOPS - 1}};
  craft(&m, "Q~q", "F~f", 2, 0, 100, far, 2);
  assert_int_equal(arrive(&f, &m, 0), 0);
  assert_string_equal(last(&f), "deliver Q~q:2");
  send_msg(&f, "E~e", "f", &fw);
  assert_int_equal(carried_hops(&fw, "G~g", "Q~q"), P2PC_SES_MAX_HOPS);
  assert_int_equal(carried_hops(&fw, "H~h", "Q~q"), P2PC_SES_MAX_HOPS);
  wire_msg *all[] = {&a1, &x, &y, &z, &c1, &c3, &a4, &x2, &y2, &c4, &m, &fw};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    p2pc_buf_fini(&all[i]->b);
  node_free(&a);
  node_free(&b);
  node_free(&c);
  node_free(&c2);
  node_free(&f);
}

/* Stability levels: an entry that travelled h hops is stable when its
 * stamp is below levels[h]: not levels[h - 1], not levels[h + 1]. Levels
 * past nlevels count as 0; entries past the last level (32 hops) are
 * retired only otherwise. A receiver does not take in an entry stable at
 * its new hop count. */
static void test_stable_levels(void **state) {
  (void)state;
  node c;
  wire_msg m;
  node_new(&c, "C~c", NULL, A);
  /* Kept at C with 1, 5, 32 and 41 hops. */
  const craft_dep deps[] = {{"D~d", "B~b", 1, 50, 0},
                            {"E~e", "B~b", 1, 60, 4},
                            {"G~g", "B~b", 1, 70, 31},
                            {"H~h", "B~b", 1, 80, 40}};
  craft(&m, "Q~q", "C~c", 1, 0, 100, deps, 4);
  assert_int_equal(arrive(&c, &m, 0), 0);
  assert_string_equal(last(&c), "deliver Q~q:1");
  assert_int_equal(p2pc_causal_pairs(c.c), 4);
  uint64_t lv[P2PC_CAUSAL_LEVELS];
  const struct {
    uint32_t hops;
    uint64_t stamp;
  } at[] = {{1, 50}, {5, 60}, {32, 70}};
  uint32_t left = 4;
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    uint32_t h = at[i].hops;
    /* The levels beside it, however high: nothing. */
    memset(lv, 0, sizeof lv);
    lv[h - 1] = UINT64_MAX;
    if (h + 1 < P2PC_CAUSAL_LEVELS)
      lv[h + 1] = UINT64_MAX;
    p2pc_causal_set_stable_levels(c.c, lv, P2PC_CAUSAL_LEVELS);
    assert_int_equal(p2pc_causal_pairs(c.c), left);
    /* Its own level at its stamp: not below it. */
    memset(lv, 0, sizeof lv);
    lv[h] = at[i].stamp;
    p2pc_causal_set_stable_levels(c.c, lv, P2PC_CAUSAL_LEVELS);
    assert_int_equal(p2pc_causal_pairs(c.c), left);
    /* Its level, but only h levels given: the rest count as 0. */
    lv[h] = at[i].stamp + 1;
    p2pc_causal_set_stable_levels(c.c, lv, h);
    assert_int_equal(p2pc_causal_pairs(c.c), left);
    p2pc_causal_set_stable_levels(c.c, lv, h + 1);
    assert_int_equal(p2pc_causal_pairs(c.c), --left);
    assert_int_equal(stats(&c).stable_deps, 4 - left);
  }
  /* 41 hops: past every level. */
  for (uint32_t h = 0; h < P2PC_CAUSAL_LEVELS; h++)
    lv[h] = UINT64_MAX;
  p2pc_causal_set_stable_levels(c.c, lv, P2PC_CAUSAL_LEVELS);
  p2pc_causal_set_stable(c.c, UINT64_MAX);
  assert_int_equal(p2pc_causal_pairs(c.c), 1);
  /* A receiver whose levels say an entry is stable at the count it would
   * keep it with does not take it in; at another count it does. */
  node r;
  wire_msg m2;
  node_new(&r, "R~r", NULL, A);
  memset(lv, 0, sizeof lv);
  lv[1] = 1000;
  p2pc_causal_set_stable_levels(r.c, lv, 2);
  const craft_dep two[] = {{"D~d", "B~b", 1, 50, 0}, {"E~e", "B~b", 1, 60, 1}};
  craft(&m2, "Q~q", "R~r", 1, 0, 100, two, 2);
  assert_int_equal(arrive(&r, &m2, 0), 0);
  assert_string_equal(last(&r), "deliver Q~q:1");
  assert_int_equal(p2pc_causal_pairs(r.c), 1); /* (E, B) at 2 hops */
  wire_msg out;
  send_msg(&r, "S~s", "s", &out);
  assert_int_equal(carried_hops(&out, "D~d", "B~b"), -1);
  assert_int_equal(carried_hops(&out, "E~e", "B~b"), 2);
  /* With no_prune levels change nothing. */
  p2pc_causal_config keep = {.no_prune = true};
  node k;
  node_new(&k, "C~c", &keep, A);
  assert_int_equal(arrive(&k, &m, 0), 0);
  p2pc_causal_set_stable(k.c, UINT64_MAX);
  assert_int_equal(p2pc_causal_pairs(k.c), 4);
  p2pc_buf_fini(&m.b);
  p2pc_buf_fini(&m2.b);
  p2pc_buf_fini(&out.b);
  node_free(&c);
  node_free(&r);
  node_free(&k);
}

/* A sender's LS (its own report, p2pc_causal_set_peer_stable) retires the
 * entries of its messages stamped below it, however far they travelled,
 * and only those; it only rises, and unknown ids are ignored. */
static void test_peer_stable(void **state) {
  (void)state;
  node c;
  wire_msg m, m2;
  node_new(&c, "C~c", NULL, A);
  const craft_dep deps[] = {{"D~d", "A~a", 3, 50, 0},
                            {"E~e", "A~a", 4, 60, 40},
                            {"D~d", "B~b", 1, 55, 0},
                            {"E~e", "B~b", 2, 65, 2}};
  craft(&m, "Q~q", "C~c", 1, 0, 100, deps, 4);
  assert_int_equal(arrive(&c, &m, 0), 0);
  assert_string_equal(last(&c), "deliver Q~q:1");
  assert_int_equal(p2pc_causal_pairs(c.c), 4);
  /* Unknown ids and no rise: nothing. */
  p2pc_causal_set_peer_stable(c.c, "Z~z", UINT64_MAX);
  p2pc_causal_set_peer_stable(c.c, NULL, UINT64_MAX);
  p2pc_causal_set_peer_stable(c.c, "A~a", 50);
  assert_int_equal(p2pc_causal_pairs(c.c), 4);
  /* A's LS passes its first entry, then both (the one of 41 hops too);
   * B's entries stay. */
  p2pc_causal_set_peer_stable(c.c, "A~a", 51);
  assert_int_equal(p2pc_causal_pairs(c.c), 3);
  p2pc_causal_set_peer_stable(c.c, "A~a", 61);
  assert_int_equal(p2pc_causal_pairs(c.c), 2);
  /* Filtered lazily (before the next send, or in the next delivery's
   * merge): the counter follows then. */
  assert_int_equal(stats(&c).stable_deps, 0);
  /* Only rises: a lower value later leaves it where it was; the entries
   * of A's messages it covers are not taken in again. */
  p2pc_causal_set_peer_stable(c.c, "A~a", 10);
  const craft_dep again[] = {{"F~f", "A~a", 5, 58, 0},
                             {"F~f", "B~b", 3, 58, 0}};
  craft(&m2, "Q~q", "C~c", 2, 1, 200, again, 2);
  assert_int_equal(arrive(&c, &m2, 0), 0);
  assert_string_equal(last(&c), "deliver Q~q:2");
  assert_int_equal(p2pc_causal_pairs(c.c), 3); /* (F, B) only */
  p2pc_causal_set_peer_stable(c.c, "B~b", 66);
  assert_int_equal(p2pc_causal_pairs(c.c), 0);
  /* Entries of this node's own messages are its own business. */
  wire_msg out;
  send_msg(&c, "D~d", "x", &out);
  assert_int_equal(p2pc_causal_pairs(c.c), 1);
  p2pc_causal_set_peer_stable(c.c, "D~d", UINT64_MAX);
  assert_int_equal(p2pc_causal_pairs(c.c), 1);
  /* With no_prune, nothing. */
  p2pc_causal_config keep = {.no_prune = true};
  node k;
  node_new(&k, "C~c", &keep, A);
  assert_int_equal(arrive(&k, &m, 0), 0);
  p2pc_causal_set_peer_stable(k.c, "A~a", UINT64_MAX);
  assert_int_equal(p2pc_causal_pairs(k.c), 4);
  p2pc_buf_fini(&m.b);
  p2pc_buf_fini(&m2.b);
  p2pc_buf_fini(&out.b);
  node_free(&c);
  node_free(&k);
}

/* ---- LS values in messages ----------------------------------------------
 */

/* A message carries its sender's LS (the oldest stamp of its messages not
 * yet reported delivered, else its HLC: below the stamp either way), and
 * for each distinct sender of its entries the highest value its sender
 * has heard of; nothing for a sender it has heard nothing of. */
static void test_ls_carried(void **state) {
  (void)state;
  node a, b;
  wire_msg a1, a2, a3, a4, b1, q, b2;
  uint32_t nls;
  node_new(&a, "A~a", &one_second, A);
  node_new(&b, "B~b", &one_second, A);
  set_time(&a, T0);
  set_time(&b, T0);
  /* Nothing pending: its HLC, one below the stamp. */
  send_msg(&a, "D~d", "a1", &a1);
  uint64_t s1 = last_ev(&a)->stamp;
  assert_int_equal(s1, (uint64_t)T0 + 1);
  assert_int_equal(carried_ls(&a1, "A~a", &nls), (uint64_t)T0);
  assert_int_equal(nls, 1);
  /* a1 pending: its stamp. (D, A, 1) goes along; A sent it: one value. */
  send_msg(&a, "B~b", "a2", &a2);
  uint64_t s2 = last_ev(&a)->stamp;
  assert_int_equal(carried_ls(&a2, "A~a", &nls), s1);
  assert_int_equal(nls, 1);
  /* D reports a1 delivered: a2 is the oldest now; then B reports a2. */
  assert_int_equal(p2pc_causal_peer_report(a.c, "D~d", 1, NULL, 0, 0), 0);
  send_msg(&a, "E~e", "a3", &a3);
  assert_int_equal(carried_ls(&a3, "A~a", NULL), s2);
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 2, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_peer_report(a.c, "E~e", 3, NULL, 0, 0), 0);
  send_msg(&a, "E~e", "a4", &a4);
  assert_int_equal(carried_ls(&a4, "A~a", NULL), last_ev(&a)->stamp - 1);
  /* B takes a2: it holds (D, A, 1, s1) — A's LS s1 is not above it — and
   * passes A's LS on with it, beside its own. */
  assert_int_equal(arrive(&b, &a2, 0), 0);
  assert_int_equal(p2pc_causal_pairs(b.c), 1);
  send_msg(&b, "C~c", "b1", &b1);
  uint64_t sb1 = last_ev(&b)->stamp;
  assert_int_equal(carried_hops(&b1, "D~d", "A~a"), 1);
  assert_int_equal(carried_ls(&b1, "A~a", &nls), s1);
  assert_int_equal(carried_ls(&b1, "B~b", NULL), sb1 - 1);
  assert_int_equal(nls, 2);
  /* Q's message carries entries of P and of Q's own, and no LS at all:
   * B passes P's entry on without an LS for P, and one value per sender
   * however many of its entries it carries. */
  const craft_dep qd[] = {{"F~f", "P~p", 1, (uint64_t)T0, 0},
                          {"G~g", "A~a", 7, s2, 0},
                          {"G~g", "Q~q", 1, (uint64_t)T0, 0}};
  craft(&q, "Q~q", "B~b", 1, 0, (uint64_t)T0 + 10, qd, 3);
  assert_int_equal(carried_ls(&q, "Q~q", &nls), 0);
  assert_int_equal(nls, 0);
  assert_int_equal(arrive(&b, &q, 0), 0);
  assert_string_equal(last(&b), "deliver Q~q:1");
  send_msg(&b, "C~c", "b2", &b2);
  assert_int_equal(carried_hops(&b2, "F~f", "P~p"), 1);
  assert_int_equal(carried_hops(&b2, "G~g", "A~a"), 1);
  assert_int_equal(carried_ls(&b2, "P~p", &nls), 0);
  assert_int_equal(carried_ls(&b2, "Q~q", NULL), 0);
  assert_int_equal(carried_ls(&b2, "A~a", NULL), s1);
  /* B's own: b1 to C is pending. */
  assert_int_equal(carried_ls(&b2, "B~b", NULL), sb1);
  assert_int_equal(nls, 2);
  node_free(&a);
  node_free(&b);
  wire_msg all[] = {a1, a2, a3, a4, b1, q, b2};
  fini_all(all, 7);
}

/* A value at or above the stamp goes out as stamp - 1 (the wire takes
 * nothing higher). Only a node that keeps entries (no_prune) and heard an
 * LS from ahead of its own clock — here in a message of a retired sender,
 * whose stamp does not enter the HLC — can hold one. */
static void test_ls_clamped(void **state) {
  (void)state;
  p2pc_causal_config keep = {.no_prune = true, .lifetime_ns = LIFE};
  node b;
  wire_msg x, r, b1;
  node_new(&b, "B~b", &keep, A);
  set_time(&b, T0);
  const craft_dep xd[] = {{"D~d", "A~a", 1, (uint64_t)T0 - 5 * TICK, 0}};
  craft(&x, "X~x", "B~b", 1, 0, (uint64_t)T0 - TICK, xd, 1);
  assert_int_equal(arrive(&b, &x, 0), 0);
  assert_int_equal(p2pc_causal_pairs(b.c), 1);
  assert_int_equal(p2pc_causal_retire(b.c, "R~r", 0), 0);
  uint64_t ahead = (uint64_t)T0 + ERR; /* within the bound: not refused */
  const craft_dep rd[] = {{"E~e", "A~a", 2, (uint64_t)T0, 0}};
  const craft_ls rl[] = {{"A~a", ahead - 1}};
  craft_with_ls(&r, "R~r", "B~b", 1, 0, ahead, rd, 1, rl, 1);
  assert_int_equal(arrive(&b, &r, 0), 0);
  assert_string_equal(last(&b), "drop R~r:1");
  assert_true(p2pc_causal_hlc(b.c) < ahead - 1);
  assert_int_equal(p2pc_causal_pairs(b.c), 1); /* no_prune: kept */
  send_msg(&b, "C~c", "b1", &b1);
  uint64_t st = last_ev(&b)->stamp;
  assert_true(st <= ahead - 1);
  assert_int_equal(carried_hops(&b1, "D~d", "A~a"), 1);
  assert_int_equal(carried_ls(&b1, "A~a", NULL), st - 1);
  node_free(&b);
  wire_msg all[] = {x, r, b1};
  fini_all(all, 3);
}

/* A receiver takes the LS values a message carries, whatever becomes of
 * the message: an entry of sender S stamped below S's LS is stable and
 * leaves, whoever brought the value — S itself or any other node — and
 * entries that arrive later below it are not taken in. A value only
 * raises what is known; one equal to an entry's stamp does not retire
 * it. */
static void test_ls_prunes(void **state) {
  (void)state;
  node c;
  wire_msg m[8];
  int nm = 0;
  node_new(&c, "C~c", NULL, A);
  const craft_dep d0[] = {{"D~d", "S~s", 3, 50, 0},
                          {"E~e", "S~s", 4, 60, 0},
                          {"D~d", "T~t", 1, 55, 0},
                          {"E~e", "U~u", 1, 70, 0}};
  craft(&m[nm], "Q~q", "C~c", 1, 0, 100, d0, 4);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_int_equal(p2pc_causal_pairs(c.c), 4);
  /* R (anyone) carries S's LS 51 with an older entry of S's: (D, S, 3)
   * leaves, (E, S, 4) stays, and the entry it brings is not taken in. */
  const craft_dep d1[] = {{"F~f", "S~s", 1, 40, 0}};
  const craft_ls l1[] = {{"S~s", 51}};
  craft_with_ls(&m[nm], "R~r", "C~c", 1, 0, 110, d1, 1, l1, 1);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_string_equal(last(&c), "deliver R~r:1");
  assert_int_equal(p2pc_causal_pairs(c.c), 3);
  assert_int_equal(stats(&c).stable_deps, 1);
  /* 60 is not below 60: (E, S, 4) stays; 61 retires it. */
  const craft_ls l2[] = {{"S~s", 60}};
  craft_with_ls(&m[nm], "R~r", "C~c", 2, 1, 120, d1, 1, l2, 1);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_int_equal(p2pc_causal_pairs(c.c), 3);
  const craft_ls l3[] = {{"S~s", 61}};
  craft_with_ls(&m[nm], "R~r", "C~c", 3, 2, 130, d1, 1, l3, 1);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_int_equal(p2pc_causal_pairs(c.c), 2);
  /* Only rises: a lower value later leaves 61 where it was; an entry of
   * S stamped 58 that comes with it is not taken in; one at 61 is. */
  const craft_dep d4[] = {{"G~g", "S~s", 5, 58, 0}, {"H~h", "S~s", 6, 61, 0}};
  const craft_ls l4[] = {{"S~s", 10}};
  craft_with_ls(&m[nm], "R~r", "C~c", 4, 3, 140, d4, 2, l4, 1);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_string_equal(last(&c), "deliver R~r:4");
  assert_int_equal(p2pc_causal_pairs(c.c), 3); /* (D,T) (E,U) (H,S) */
  /* A message's own sender's LS: T says 56, its (D, T, 1) leaves. */
  const craft_ls l5[] = {{"T~t", 56}};
  craft_with_ls(&m[nm], "T~t", "C~c", 1, 0, 150, NULL, 0, l5, 1);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_string_equal(last(&c), "deliver T~t:1");
  assert_int_equal(p2pc_causal_pairs(c.c), 2);
  /* A copy of a message already delivered still teaches: a duplicate of
   * T:1 with U's LS 71 retires (E, U, 1). */
  const craft_dep d6[] = {{"E~e", "U~u", 1, 70, 0}};
  const craft_ls l6[] = {{"U~u", 71}};
  craft_with_ls(&m[nm], "T~t", "C~c", 1, 0, 150, d6, 1, l6, 1);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_string_equal(last(&c), "dup T~t:1");
  assert_int_equal(p2pc_causal_pairs(c.c), 1); /* (H, S, 6) */
  /* So does one that must wait: R's 6th (5 is missing) carries S's 62. */
  const craft_dep d7[] = {{"C~c", "R~r", 5, 155, 0}, {"H~h", "S~s", 6, 61, 0}};
  const craft_ls l7[] = {{"R~r", 154}, {"S~s", 62}};
  craft_with_ls(&m[nm], "R~r", "C~c", 6, 5, 160, d7, 2, l7, 2);
  assert_int_equal(arrive(&c, &m[nm++], 0), 0);
  assert_string_equal(last(&c), "buffer R~r:6 waits R~r:5 unmet 1");
  assert_int_equal(p2pc_causal_pairs(c.c), 0);
  /* (the stable_deps counter follows at the next filter: pruning by LS
   * values is lazy, before a send or inside a delivery's merge) */
  /* With no_prune the values are taken, and nothing leaves. */
  p2pc_causal_config keep = {.no_prune = true};
  node k;
  node_new(&k, "C~c", &keep, A);
  assert_int_equal(arrive(&k, &m[0], 0), 0);
  for (int i = 1; i < nm; i++)
    arrive(&k, &m[i], 0);
  assert_true(p2pc_causal_pairs(k.c) >= 4);
  assert_int_equal(stats(&k).stable_deps, 0);
  node_free(&k);
  node_free(&c);
  fini_all(m, nm);
}

/* An LS value in a message that is not taken (a full buffer) stays only
 * for names the node knew: the message's new names leave the table again,
 * and what it said of them must not stay behind with their ids for the
 * next names to get them. */
static void test_ls_of_refused_names(void **state) {
  (void)state;
  p2pc_causal_config cfg = {.max_buffered_bytes = 1};
  node c;
  wire_msg s2, w1;
  node_new(&c, "C~c", &cfg, A);
  /* S's second message, its first missing: it must wait, and cannot. It
   * says S's LS is 5000. */
  const craft_dep sd[] = {{"C~c", "S~s", 1, 90, 0}};
  const craft_ls sl[] = {{"S~s", 5000}};
  craft_with_ls(&s2, "S~s", "C~c", 2, 1, 6000, sd, 1, sl, 1);
  assert_int_equal(arrive(&c, &s2, 0), P2PC_ERR_FULL);
  assert_null(p2pc_causal_id_name(c.c, 1));
  /* W is the next new name: it gets S's id, and none of S's LS. Its entry
   * (X, W, 1, 100) is held. */
  const craft_dep wd[] = {{"X~x", "W~w", 1, 100, 0}};
  const craft_ls wl[] = {{"W~w", 100}};
  craft_with_ls(&w1, "W~w", "C~c", 2, 0, 200, wd, 1, wl, 1);
  assert_int_equal(arrive(&c, &w1, 0), 0);
  assert_string_equal(p2pc_causal_id_name(c.c, 1), "W~w");
  assert_string_equal(last(&c), "deliver W~w:2");
  assert_int_equal(p2pc_causal_pairs(c.c), 1);
  assert_int_equal(stats(&c).stable_deps, 0);
  node_free(&c);
  p2pc_buf_fini(&s2.b);
  p2pc_buf_fini(&w1.b);
}

/* Messages to a destination not yet reported delivered or written off:
 * the count falls with its reports, holds a given-up message until it has
 * settled, and is 0 for a name never sent to, or retired. */
static void test_pending_to(void **state) {
  (void)state;
  node a;
  p2pc_buf out;
  node_new(&a, "A~a", &one_second, A);
  p2pc_buf_init(&out, A, 1 << 16);
  set_time(&a, T0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(
        p2pc_causal_send(a.c, "B~b", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_int_equal(
      p2pc_causal_send(a.c, "C~c", (const uint8_t *)"x", 2, 0, &out), 0);
  uint64_t sc = last_ev(&a)->stamp;
  assert_int_equal(
      p2pc_causal_send(a.c, "A~a", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "B~b"), 3);
  assert_int_equal(p2pc_causal_pending_to(a.c, "C~c"), 1);
  assert_int_equal(p2pc_causal_pending_to(a.c, "A~a"), 0); /* self */
  assert_int_equal(p2pc_causal_pending_to(a.c, "Z~z"), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "not an id"), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, NULL), 0);
  /* B: two delivered, then the third. */
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 2, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "B~b"), 1);
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 1, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "B~b"), 1);
  assert_int_equal(p2pc_causal_peer_report(a.c, "B~b", 3, NULL, 0, 0), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "B~b"), 0);
  /* C's is given up at Δ, but counts until it has settled. */
  set_time(&a, T0 + LIFE + TICK);
  assert_string_equal(last(&a), "expire A~a:4 to C~c at sender");
  assert_int_equal(p2pc_causal_pending_to(a.c, "C~c"), 1);
  set_time(&a, (int64_t)sc + LIFE + SETTLE - 1);
  assert_int_equal(p2pc_causal_pending_to(a.c, "C~c"), 1);
  set_time(&a, (int64_t)sc + LIFE + SETTLE + TICK);
  assert_int_equal(p2pc_causal_pending_to(a.c, "C~c"), 0);
  /* One to D written off there (once Δ old here): out at once. */
  assert_int_equal(
      p2pc_causal_send(a.c, "D~d", (const uint8_t *)"x", 2, 0, &out), 0);
  uint64_t nd = p2pc_causal_sent(a.c);
  uint64_t wo[2] = {nd, nd};
  assert_int_equal(p2pc_causal_peer_report(a.c, "D~d", 0, wo, 1, 0), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "D~d"), 1);
  set_time(&a, (int64_t)last_ev(&a)->stamp + LIFE + TICK);
  assert_int_equal(p2pc_causal_pending_to(a.c, "D~d"), 1);
  assert_int_equal(p2pc_causal_peer_report(a.c, "D~d", 0, wo, 1, 0), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "D~d"), 0);
  /* Retired: its messages leave the count. */
  for (int i = 0; i < 2; i++)
    assert_int_equal(
        p2pc_causal_send(a.c, "E~e", (const uint8_t *)"x", 2, 0, &out), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "E~e"), 2);
  assert_int_equal(p2pc_causal_retire(a.c, "E~e", 0), 0);
  assert_int_equal(p2pc_causal_pending_to(a.c, "E~e"), 0);
  p2pc_buf_fini(&out);
  node_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_set_stable),
      cmocka_unit_test(test_entry_hops),
      cmocka_unit_test(test_stable_levels),
      cmocka_unit_test(test_peer_stable),
      cmocka_unit_test(test_ls_carried),
      cmocka_unit_test(test_ls_clamped),
      cmocka_unit_test(test_ls_prunes),
      cmocka_unit_test(test_ls_of_refused_names),
      cmocka_unit_test(test_pending_to),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
