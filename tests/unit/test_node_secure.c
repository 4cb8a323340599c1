/* SPDX-License-Identifier: MIT */
/*
 * Secure links (secure.c): nodes holding the same cluster key link over a
 * Noise_XXpsk0 handshake and sealed records, and their messages cross
 * unreadable on the wire; a node without the key — or a plain node, or a
 * stranger's bytes — costs one failed handshake and never enters the
 * peer table; a record tampered with after the handshake closes the
 * link.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "node_harness.h"
#include "nodeint.h"

/* The Ed25519 key pair of `who` (made from a seed of its own), whose
 * X25519 half a node's links prove. */
static void identity(uint8_t who, uint8_t pk[32], uint8_t sk[64]) {
  uint8_t seed[32];
  for (int k = 0; k < 32; k++)
    seed[k] = (uint8_t)(who * 31 + k * 7 + 1);
  assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
}

static opts secure_opts(uint8_t cluster, uint8_t who, const char *seeds) {
  opts o = {.seeds = seeds};
  o.base.secure.on = true;
  memset(o.base.secure.psk, cluster, sizeof o.base.secure.psk);
  uint8_t pk[32];
  identity(who, pk, o.base.secure.sign_sk);
  assert_int_equal(crypto_sign_ed25519_sk_to_curve25519(o.base.secure.static_sk,
                                                        o.base.secure.sign_sk),
                   0);
  for (int k = 0; k < 32; k++)
    o.base.secure.entropy[k] = (uint8_t)(who * 17 + k * 3 + 5);
  return o;
}

/* An allowlist entry: node ID `id` with the key of `who`. */
static p2pc_member member(const char *id, uint8_t who, uint8_t roles) {
  p2pc_member m;
  memset(&m, 0, sizeof m);
  snprintf(m.id, sizeof m.id, "%s", id);
  uint8_t sk[64];
  identity(who, m.key, sk);
  m.roles = roles;
  return m;
}

/* Whether any link of node i has s in the bytes it has not written yet. */
static bool output_has(net *w, int i, const char *s) {
  p2pc_node *n = w->nodes[i].n;
  for (uint32_t l = 0; l < n->links_hw; l++) {
    const uint8_t *p;
    size_t len;
    p2pc_node_link_output(n, l, &p, &len);
    for (size_t k = 0; k + strlen(s) <= len; k++)
      if (memcmp(p + k, s, strlen(s)) == 0)
        return true;
  }
  return false;
}

/* Nodes 0 and 1 (1 dialing 0) with options a and b, linked both ways. */
static void start_pair(net *w, const opts *a, const opts *b) {
  start_node(w, 0, a);
  start_node(w, 1, b);
  run(w, 500);
  assert_true(linked(w, 0, "N1"));
  assert_true(linked(w, 1, "N0"));
}

/* The link of node n to peer id. */
static uint32_t link_to(const p2pc_node *n, const char *id) {
  return n->peers[p2pc__node_peer_find(n, id)].link;
}

static void same_cluster_key_links_and_delivers(void **state) {
  (void)state;
  net *w = net_new();
  opts a = secure_opts(7, 0, NULL), b = secure_opts(7, 1, "0");
  start_pair(w, &a, &b);
  assert_int_equal(w->nodes[0].n->sec_done, 1);
  assert_int_equal(w->nodes[1].n->sec_done, 1);
  /* the text is sealed before it reaches the wire */
  send_ok(w, 1, "N0", "attack at dawn");
  assert_false(output_has(w, 1, "attack at dawn"));
  run(w, 200);
  assert_int_equal(count_delivered(&w->nodes[0], "N1"), 1);
  send_ok(w, 0, "N1", "and back");
  run(w, 200);
  assert_int_equal(count_delivered(&w->nodes[1], "N0"), 1);
  /* a burst: reads of many records, frames across them */
  char big[600];
  memset(big, 'b', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  for (int k = 0; k < 400; k++)
    send_ok(w, 1, "N0", big);
  run(w, 1000);
  assert_int_equal(count_delivered(&w->nodes[0], "N1"), 401);
  /* a plain node's message does cross in clear: the check above can fail */
  opts p = {.seeds = "3"};
  start_node(w, 3, NULL);
  start_node(w, 2, &p);
  run(w, 500);
  assert_true(linked(w, 2, "N3"));
  send_ok(w, 2, "N3", "in the clear");
  assert_true(output_has(w, 2, "in the clear"));
  net_free(w);
}

static void another_key_or_a_plain_node_never_links(void **state) {
  (void)state;
  net *w = net_new();
  opts a = secure_opts(7, 0, NULL), other = secure_opts(8, 1, "0");
  opts plain = {.seeds = "0"};
  start_node(w, 0, &a);
  start_node(w, 1, &other); /* another network's key */
  start_node(w, 2, &plain); /* no key at all */
  run(w, 3000);
  assert_false(linked(w, 0, "N1"));
  assert_false(linked(w, 1, "N0"));
  assert_false(linked(w, 0, "N2"));
  assert_false(linked(w, 2, "N0"));
  /* neither ever entered N0's table */
  assert_int_equal(p2pc_node_peer_count(w->nodes[0].n), 0);
  assert_true(w->nodes[0].n->sec_failed >= 1);
  assert_int_equal(w->nodes[0].n->sec_done, 0);
  net_free(w);
}

static void a_strangers_bytes_cost_one_handshake(void **state) {
  (void)state;
  net *w = net_new();
  opts a = secure_opts(7, 0, NULL);
  start_node(w, 0, &a);
  p2pc_link_id l;
  fake_link(w, 0, &l);
  /* a record the size of a first handshake message, of junk */
  uint8_t junk[52] = {0, 0, 0, 48};
  for (int k = 4; k < 52; k++)
    junk[k] = (uint8_t)(k * 13);
  p2pc_node_link_input(w->nodes[0].n, l, junk, sizeof junk, now_at(w, 0));
  assert_true(closed_with(w, 0, l, NULL));
  assert_int_equal(w->nodes[0].n->sec_failed, 1);
  assert_int_equal(p2pc_node_peer_count(w->nodes[0].n), 0);
  /* a record longer than any may be: closed at its length */
  fake_link(w, 0, &l);
  uint8_t big[4] = {0, 1, 0, 0}; /* 65,536 */
  p2pc_node_link_input(w->nodes[0].n, l, big, sizeof big, now_at(w, 0));
  assert_true(closed_with(w, 0, l, NULL));
  net_free(w);
}

static void a_tampered_record_closes_the_link(void **state) {
  (void)state;
  net *w = net_new();
  opts a = secure_opts(7, 0, NULL), b = secure_opts(7, 1, "0");
  start_pair(w, &a, &b);
  p2pc_node *n = w->nodes[0].n;
  uint32_t lid = link_to(n, "N1");
  uint8_t rec[4 + 40] = {0, 0, 0, 40};
  for (int k = 4; k < 44; k++)
    rec[k] = (uint8_t)k;
  p2pc_node_link_input(n, lid, rec, sizeof rec, now_at(w, 0));
  assert_int_equal(n->links[lid].state, L_CLOSING);
  assert_non_null(strstr(w->nodes[0].last_error_log, "failed authentication"));
  /* the two link again, over a new handshake */
  run(w, 3000);
  assert_true(linked(w, 0, "N1"));
  assert_true(n->sec_done >= 2);
  net_free(w);
}

/* An ID is bound to the key it linked with: another key claiming it is
 * refused (the identity takeover of issue 13, from a holder of the
 * cluster key), the same key after a restart is taken. */
static void an_id_is_bound_to_its_key(void **state) {
  (void)state;
  net *w = net_new();
  opts a = secure_opts(7, 0, NULL), b = secure_opts(7, 1, "0");
  opts impostor = secure_opts(7, 9, "0"); /* same cluster key, other key */
  start_pair(w, &a, &b);
  crash(w, 1);
  run(w, 100);
  start_node(w, 1, &impostor); /* "N1" again, with another key */
  run(w, 3000);
  assert_false(linked(w, 0, "N1"));
  assert_non_null(
      strstr(w->nodes[0].last_error_log, "another identity key than it"));
  crash(w, 1);
  run(w, 100);
  start_node(w, 1, &b); /* the real N1, restarted */
  run(w, 3000);
  assert_true(linked(w, 0, "N1"));
  net_free(w);
}

/* Keys are replaced every 2^rekey_shift records, alike at both ends: 60
 * messages each way cross many rekeys; two ends that disagree on when
 * break at the first. */
static void keys_are_replaced_as_records_go(void **state) {
  (void)state;
  net *w = net_new();
  opts a = secure_opts(7, 0, NULL), b = secure_opts(7, 1, "0");
  a.base.secure.rekey_shift = b.base.secure.rekey_shift = 2;
  start_pair(w, &a, &b);
  char text[32];
  for (int k = 0; k < 60; k++) {
    snprintf(text, sizeof text, "m%d", k);
    send_ok(w, 0, "N1", text);
    send_ok(w, 1, "N0", text);
    run(w, 5);
  }
  run(w, 500);
  assert_int_equal(count_delivered(&w->nodes[1], "N0"), 60);
  assert_int_equal(count_delivered(&w->nodes[0], "N1"), 60);
  p2pc_node *n = w->nodes[0].n;
  assert_true(n->links[link_to(n, "N1")].tx.n > 16);
  net_free(w);

  w = net_new();
  a.base.secure.rekey_shift = 2;
  b.base.secure.rekey_shift = 3;
  start_node(w, 0, &a);
  start_node(w, 1, &b);
  run(w, 2000);
  assert_non_null(strstr(w->nodes[0].last_error_log, "failed authentication"));
  net_free(w);
}

/* Accepted connections in their handshake are bounded: 8 from one host,
 * 64 in all (its own host's aside from the first bound); a stranger's
 * half-open connections never cost more, and the slots come back once
 * the handshake deadline has closed them. */
static void half_open_connections_are_bounded(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_node *n = w->nodes[0].n;
  p2pc_link_id ids[80];
  int nids = 0;
  p2pc_wire_addr a = {.family = 4, .addr = {10, 0, 0, 5}};
  for (int k = 0; k < 12; k++) {
    a.port = (uint16_t)(40000 + k);
    p2pc_link_id l;
    int rv = p2pc_node_link_new(n, false, NULL, &a, now_at(w, 0), &l);
    if (k < 8) {
      assert_int_equal(rv, 0);
      ids[nids++] = l;
    } else {
      assert_int_equal(rv, P2PC_ERR_FULL);
    }
  }
  assert_int_equal(n->inbound_refused, 4);
  /* another host is not held back by the first */
  a.addr[3] = 6;
  p2pc_link_id l;
  assert_int_equal(p2pc_node_link_new(n, false, NULL, &a, now_at(w, 0), &l), 0);
  ids[nids++] = l;
  /* the node's own host: only the bound on all of them */
  p2pc_wire_addr lo = {.family = 4, .addr = {127, 0, 0, 1}};
  int taken = 0;
  for (int k = 0; k < 70; k++) {
    lo.port = (uint16_t)(50000 + k);
    if (p2pc_node_link_new(n, false, NULL, &lo, now_at(w, 0), &l) == 0) {
      ids[nids++] = l;
      taken++;
    }
  }
  assert_int_equal(taken, 64 - 9);
  /* the handshake deadline closes them all; the slots come back */
  run(w, 6000);
  p2pc_action act;
  while (p2pc_node_pop_action(n, &act))
    ;
  for (int k = 0; k < nids; k++)
    p2pc_node_link_closed(n, ids[k], now_at(w, 0));
  a.addr[3] = 5;
  a.port = 41000;
  assert_int_equal(p2pc_node_link_new(n, false, NULL, &a, now_at(w, 0), &l), 0);
  net_free(w);
}

/* With an allowlist only its members link, each with its own key: a
 * holder of the cluster key whose key is not listed fails its
 * handshake; a member's key under another member's ID is refused at the
 * HELLO. */
static void the_allowlist_admits_only_its_members(void **state) {
  (void)state;
  net *w = net_new();
  p2pc_member list[] = {member("N0", 0, 0), member("N1", 1, 0),
                        member("N2", 2, 0)};
  opts a = secure_opts(7, 0, NULL), b = secure_opts(7, 1, "0");
  a.base.secure.members = b.base.secure.members = list;
  a.base.secure.nmembers = b.base.secure.nmembers = 3;
  start_pair(w, &a, &b);
  /* N2 with N1's key: a member's key, under another member's ID */
  opts thief = secure_opts(7, 1, "0");
  start_node(w, 2, &thief);
  run(w, 2000);
  assert_false(linked(w, 0, "N2"));
  assert_non_null(strstr(w->nodes[0].last_error_log,
                         "with a key the allowlist does not give it"));
  /* N3: the cluster key, but a key nobody listed */
  uint64_t failed = w->nodes[0].n->sec_failed;
  opts stranger = secure_opts(7, 3, "0");
  start_node(w, 3, &stranger);
  run(w, 2000);
  assert_false(linked(w, 0, "N3"));
  assert_true(w->nodes[0].n->sec_failed > failed);
  assert_non_null(strstr(w->nodes[0].last_error_log, "not on the allowlist"));
  assert_int_equal(p2pc_node_peer_count(w->nodes[0].n), 1);
  assert_true(linked(w, 0, "N1"));
  net_free(w);
}

/* A bad allowlist is refused at open, said in the log: this node not on
 * it, or listed with another key; an ID twice; no secure links. */
static void a_bad_allowlist_is_refused(void **state) {
  (void)state;
  net *w = net_new();
  p2pc_node_config c = secure_opts(7, 0, NULL).base;
  c.id = "N0";
  c.listen = p2pc_drive_addr(0);
  p2pc_node *n = NULL;
  p2pc_member others[] = {member("N1", 1, 0)};
  c.secure.members = others;
  c.secure.nmembers = 1;
  assert_int_equal(p2pc_node_new(&n, &c, NULL, now_at(w, 0)), P2PC_ERR_INVAL);
  p2pc_member wrong[] = {member("N0", 5, 0)};
  c.secure.members = wrong;
  assert_int_equal(p2pc_node_new(&n, &c, NULL, now_at(w, 0)), P2PC_ERR_INVAL);
  p2pc_member twice[] = {member("N0", 0, 0), member("N0", 1, 0)};
  c.secure.members = twice;
  c.secure.nmembers = 2;
  assert_int_equal(p2pc_node_new(&n, &c, NULL, now_at(w, 0)), P2PC_ERR_INVAL);
  p2pc_member ok[] = {member("N0", 0, 0)};
  c.secure.members = ok;
  c.secure.nmembers = 1;
  assert_int_equal(p2pc_node_new(&n, &c, NULL, now_at(w, 0)), 0);
  p2pc_node_free(n);
  c.secure.on = false;
  assert_int_equal(p2pc_node_new(&n, &c, NULL, now_at(w, 0)), P2PC_ERR_INVAL);
  net_free(w);
}

static p2pc_tracking tracking(const net *w, int i) {
  p2pc_tracking t;
  p2pc_node_tracking(w->nodes[i].n, now_at(w, i), &t);
  return t;
}

/* Only members given the reference role may be elected: N0 has the best
 * priority but not the role, so the mesh follows N1 — and without the
 * allowlist the same mesh follows N0 (the check can fail). The
 * reference's signed claims are what the others follow. */
static void only_a_member_with_the_role_is_the_reference(void **state) {
  (void)state;
  static const char *seeds[] = {"12", "02", "01"};
  for (int with = 0; with < 2; with++) {
    net *w = net_new();
    p2pc_member list[] = {member("N0", 0, 0),
                          member("N1", 1, P2PC_ROLE_REFERENCE),
                          member("N2", 2, P2PC_ROLE_REFERENCE)};
    for (int i = 0; i < 3; i++) {
      opts o = secure_opts(7, (uint8_t)i, seeds[i]);
      o.base.time.priority = i == 0 ? 10 : 128;
      o.base.time.clock_class = 248;
      if (with) {
        o.base.secure.members = list;
        o.base.secure.nmembers = 3;
      }
      w->nodes[i].clock_offset = (int64_t)i * 300000000;
      start_node(w, i, &o);
    }
    run(w, 12000);
    for (int i = 0; i < 3; i++) {
      p2pc_tracking t = tracking(w, i);
      assert_string_equal(t.ref, with ? "N1" : "N0");
      assert_true(t.synced);
      assert_int_equal(w->nodes[i].n->claims_refused, 0);
    }
    net_free(w);
  }
}

/* A received claim to the reference role holds only if signed, by the
 * key its ID is bound to, over what it says: a claim without a signature,
 * one whose number was raised (the poisoned election of issue 13), one
 * copied under another ID, or one signed by another key than the ID
 * first used loses its reference; a good one, relayed again, stands. */
static void a_claim_is_checked(void **state) {
  (void)state;
  net *w = net_new();
  opts a = secure_opts(7, 0, NULL);
  start_node(w, 0, &a);
  p2pc_node *n = w->nodes[0].n;
  opts r = secure_opts(7, 4, NULL), liar = secure_opts(7, 5, NULL);
  p2pc_wire_announce good;
  memset(&good, 0, sizeof good);
  strcpy(good.ref, "N4");
  good.ref_priority = 3;
  good.ref_class = 248;
  good.ref_seq = 1000;
  good.flags = P2PC_ANNOUNCE_REF_ACTIVE;
  /* signed as node N4 would (its own announcement, hops 0) */
  p2pc_node *n4 = NULL;
  p2pc_node_config c4 = r.base;
  c4.id = "N4";
  c4.listen = p2pc_drive_addr(4);
  assert_int_equal(p2pc_node_new(&n4, &c4, NULL, now_at(w, 0)), 0);
  p2pc__sec_claim_sign(n4, &good);
  assert_int_equal(good.claim_len, P2PC_CLAIM_LEN);
  p2pc_wire_announce an = good;
  an.hops = 2; /* relayed */
  p2pc__sec_claim_check(n, &an);
  assert_string_equal(an.ref, "N4");
  an = good;
  p2pc__sec_claim_check(n, &an); /* seen before: not verified again */
  assert_string_equal(an.ref, "N4");
  assert_int_equal(n->claims_refused, 0);
  /* no claim */
  an = good;
  an.claim_len = 0;
  p2pc__sec_claim_check(n, &an);
  assert_string_equal(an.ref, "");
  assert_int_equal(an.ref_seq, 0);
  /* its number raised */
  an = good;
  an.ref_seq = 1ull << 62;
  p2pc__sec_claim_check(n, &an);
  assert_string_equal(an.ref, "");
  /* its priority lowered, its active flag set */
  an = good;
  an.ref_priority = 0;
  p2pc__sec_claim_check(n, &an);
  assert_string_equal(an.ref, "");
  /* the same claim under another ID */
  an = good;
  strcpy(an.ref, "N5");
  p2pc__sec_claim_check(n, &an);
  assert_string_equal(an.ref, "");
  /* N4 signed by another key: N4 is bound to the first one now */
  p2pc_node *n5 = NULL;
  p2pc_node_config c5 = liar.base;
  c5.id = "N4";
  c5.listen = p2pc_drive_addr(5);
  assert_int_equal(p2pc_node_new(&n5, &c5, NULL, now_at(w, 0)), 0);
  an = good;
  an.ref_seq = 2000;
  p2pc__sec_claim_sign(n5, &an);
  assert_int_equal(an.claim_len, P2PC_CLAIM_LEN);
  p2pc__sec_claim_check(n, &an);
  assert_string_equal(an.ref, "");
  assert_int_equal(n->claims_refused, 5);
  assert_non_null(strstr(w->nodes[0].last_error_log, "not followed"));
  /* N4's own next number stands */
  an = good;
  an.ref_seq = 1001;
  p2pc__sec_claim_sign(n4, &an);
  p2pc__sec_claim_check(n, &an);
  assert_string_equal(an.ref, "N4");
  p2pc_node_free(n4);
  p2pc_node_free(n5);
  net_free(w);
}

/* The allowlist replaced while running: a member removed is cut off at
 * once and cannot link again; a list without this node is refused and
 * the old one stays. */
static void a_member_removed_is_cut_off(void **state) {
  (void)state;
  net *w = net_new();
  p2pc_member list[] = {member("N0", 0, 0), member("N1", 1, 0),
                        member("N2", 2, 0)};
  for (int i = 0; i < 3; i++) {
    opts o = secure_opts(7, (uint8_t)i, i ? "0" : NULL);
    o.base.secure.members = list;
    o.base.secure.nmembers = 3;
    start_node(w, i, &o);
  }
  run(w, 1000);
  assert_true(linked(w, 0, "N1"));
  assert_true(linked(w, 0, "N2"));
  p2pc_node *n = w->nodes[0].n;
  p2pc_member without_me[] = {member("N1", 1, 0), member("N2", 2, 0)};
  assert_int_equal(p2pc__node_set_members(n, without_me, 2, now_at(w, 0)),
                   P2PC_ERR_INVAL);
  assert_int_equal(n->nmembers, 3);
  p2pc_member fewer[] = {member("N0", 0, 0), member("N1", 1, 0)};
  assert_int_equal(p2pc__node_set_members(n, fewer, 2, now_at(w, 0)), 0);
  assert_non_null(
      strstr(w->nodes[0].last_error_log, "N2 is no longer on the allowlist"));
  run(w, 5000); /* N2 keeps dialing */
  assert_false(linked(w, 0, "N2"));
  assert_true(linked(w, 0, "N1"));
  /* back on the list, back in */
  assert_int_equal(p2pc__node_set_members(n, list, 3, now_at(w, 0)), 0);
  run(w, 8000);
  assert_true(linked(w, 0, "N2"));
  net_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(same_cluster_key_links_and_delivers),
      cmocka_unit_test(another_key_or_a_plain_node_never_links),
      cmocka_unit_test(a_strangers_bytes_cost_one_handshake),
      cmocka_unit_test(a_tampered_record_closes_the_link),
      cmocka_unit_test(an_id_is_bound_to_its_key),
      cmocka_unit_test(keys_are_replaced_as_records_go),
      cmocka_unit_test(half_open_connections_are_bounded),
      cmocka_unit_test(the_allowlist_admits_only_its_members),
      cmocka_unit_test(a_bad_allowlist_is_refused),
      cmocka_unit_test(only_a_member_with_the_role_is_the_reference),
      cmocka_unit_test(a_claim_is_checked),
      cmocka_unit_test(a_member_removed_is_cut_off),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
