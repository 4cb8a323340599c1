/* SPDX-License-Identifier: MIT */
/*
 * Secure links (secure.c): nodes holding the same cluster key link over a
 * Noise_XXpsk0 handshake and sealed records, and their messages cross
 * unreadable on the wire; a node without the key — or a plain node, or a
 * stranger's bytes — costs one failed handshake and never enters the
 * peer table; a record tampered with after the handshake closes the
 * link.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "dgram.h"
#include "node_harness.h"
#include "nodeint.h"
#include "ntp.h"

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
  memset(o.base.secure.psk[0], cluster, sizeof o.base.secure.psk[0]);
  o.base.secure.npsk = 1;
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

/* o's keyring: the keys filled with each byte of ring[0..n), primary
 * first. */
static void set_ring(p2pc_node_secure *sec, const uint8_t *ring, unsigned n) {
  memset(sec->psk, 0, sizeof sec->psk);
  for (unsigned i = 0; i < n; i++)
    memset(sec->psk[i], ring[i], sizeof sec->psk[i]);
  sec->npsk = (uint8_t)n;
}

static void live_ring(net *w, int i, const uint8_t *ring, unsigned n) {
  p2pc_node_secure sec = {0};
  set_ring(&sec, ring, n);
  assert_int_equal(
      p2pc_node_keyring_set(w->nodes[i].n, (const uint8_t(*)[32])sec.psk, n),
      0);
}

/* Different primaries, a key in common: they link, whichever dials. */
static void different_primaries_link_through_a_shared_key(void **state) {
  (void)state;
  net *w = net_new();
  opts a = secure_opts(7, 0, NULL), b = secure_opts(8, 1, "0");
  set_ring(&a.base.secure, (const uint8_t[]){7, 8}, 2); /* new key in use */
  set_ring(&b.base.secure, (const uint8_t[]){8, 7}, 2); /* old key in use */
  start_pair(w, &a, &b);
  send_ok(w, 1, "N0", "over a shared key");
  run(w, 200);
  assert_int_equal(count_delivered(&w->nodes[0], "N1"), 1);
  /* N0 dials too: a third node that holds N0's primary only */
  opts c = secure_opts(7, 2, "0");
  start_node(w, 2, &c);
  run(w, 1000);
  assert_true(linked(w, 2, "N0"));
  /* a node with neither key is refused at both */
  opts d = secure_opts(9, 3, "0,1");
  start_node(w, 3, &d);
  run(w, 2000);
  assert_false(linked(w, 3, "N0"));
  assert_false(linked(w, 3, "N1"));
  net_free(w);
}

/* The rotation, live on three nodes: install, use, remove; no link goes
 * down at any step, new links are made at each step, and once the old key
 * is removed a node holding only it cannot link. */
static void a_rotation_drops_no_link(void **state) {
  (void)state;
  net *w = net_new();
  opts o[3] = {secure_opts(7, 0, NULL), secure_opts(7, 1, "0"),
               secure_opts(7, 2, "0,1")};
  for (int i = 0; i < 3; i++)
    start_node(w, i, &o[i]);
  run(w, 1000);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      assert_true(i == j || linked(w, i, w->nodes[j].id));
  for (int i = 0; i < 3; i++) /* install */
    live_ring(w, i, (const uint8_t[]){7, 8}, 2);
  run(w, 200);
  live_ring(w, 0, (const uint8_t[]){8, 7}, 2); /* use, one node at a time */
  run(w, 200);
  /* a new node mid-rotation, with that phase's ring (the new key first):
   * it links to nodes that still use the old key */
  opts d = secure_opts(8, 3, "1,2");
  set_ring(&d.base.secure, (const uint8_t[]){8, 7}, 2);
  start_node(w, 3, &d);
  run(w, 1000);
  assert_true(linked(w, 3, "N1"));
  assert_true(linked(w, 3, "N2"));
  live_ring(w, 1, (const uint8_t[]){8, 7}, 2);
  live_ring(w, 2, (const uint8_t[]){8, 7}, 2);
  run(w, 200);
  for (int i = 0; i < 4; i++) /* remove */
    live_ring(w, i, (const uint8_t[]){8}, 1);
  run(w, 1000);
  for (int i = 0; i < 4; i++) {
    /* no link lost, no datagram refused (time exchanges and lookups) */
    assert_int_equal(w->nodes[i].peer_down, 0);
    p2pc_tracking t;
    p2pc_node_tracking(w->nodes[i].n, now_at(w, i), &t);
    assert_int_equal(t.c.rx_unauth, 0);
    assert_true(t.c.answered > 0);
  }
  for (int i = 0; i < 3; i++) {
    for (int j = 0; j < 3; j++)
      assert_true(i == j || linked(w, i, w->nodes[j].id));
  }
  send_ok(w, 2, "N0", "after the rotation");
  run(w, 200);
  assert_int_equal(count_delivered(&w->nodes[0], "N2"), 1);
  /* the old key alone is refused now */
  uint64_t failed = w->nodes[0].n->sec_failed;
  opts old = secure_opts(7, 4, "0");
  start_node(w, 4, &old);
  run(w, 2000);
  assert_false(linked(w, 4, "N0"));
  assert_true(w->nodes[0].n->sec_failed > failed);
  /* a restarted member links with the new key */
  crash(w, 2);
  run(w, 100);
  opts again = secure_opts(8, 2, "0,1");
  start_node(w, 2, &again);
  run(w, 2000);
  assert_true(linked(w, 2, "N0"));
  assert_true(linked(w, 2, "N1"));
  net_free(w);
}

/* A keyring the node refuses, unchanged after. */
static void a_bad_keyring_is_refused(void **state) {
  (void)state;
  net *w = net_new();
  opts a = secure_opts(7, 0, NULL), plain = {0};
  start_node(w, 0, &a);
  start_node(w, 1, &plain);
  uint8_t k[P2PC_KEYRING_MAX + 1][32];
  for (int i = 0; i <= P2PC_KEYRING_MAX; i++)
    memset(k[i], 10 + i, 32);
  p2pc_node *n = w->nodes[0].n;
  const uint8_t(*kk)[32] = (const uint8_t(*)[32])k;
  assert_int_equal(p2pc_node_keyring_set(n, kk, 0), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_node_keyring_set(n, kk, P2PC_KEYRING_MAX + 1),
                   P2PC_ERR_INVAL);
  memcpy(k[1], k[0], 32);
  assert_int_equal(p2pc_node_keyring_set(n, kk, 2), P2PC_ERR_INVAL);
  assert_int_equal(p2pc_node_keyring_set(w->nodes[1].n, kk, 1),
                   P2PC_ERR_INVAL); /* links in clear */
  assert_int_equal(n->cfg.secure.npsk, 1);
  assert_int_equal(n->cfg.secure.psk[0][0], 7);
  assert_int_equal(p2pc_node_keyring_set(n, kk + 1, P2PC_KEYRING_MAX), 0);
  assert_int_equal(n->cfg.secure.npsk, P2PC_KEYRING_MAX);
  net_free(w);
}

/* ---- the time socket ---------------------------------------------------- */

static p2pc_tracking track(const net *w, int i) {
  p2pc_tracking t;
  p2pc_node_tracking(w->nodes[i].n, now_at(w, i), &t);
  return t;
}

/* A p2pclock request as an open node writes it (no MAC). */
static size_t plain_request(uint8_t *b, const char *id) {
  p2pc_ntp_header h = {
      .version = 4, .mode = P2PC_NTP_MODE_CLIENT, .xmt = 0x1122334455667788ull};
  p2pc_ntp_ext e = {.kind = P2PC_NTP_EXT_REQUEST};
  strcpy(e.id, id);
  p2pc_ntp_header_put(b, &h);
  assert_int_equal(p2pc_ntp_ext_put(b + 48, &e), P2PC_NTP_EXT_LEN);
  return P2PC_NTP_PACKET_MAX;
}

/* The datagrams a secure node takes and refuses, and what it sends. */
static void datagrams_without_a_valid_mac_are_dropped(void **state) {
  (void)state;
  net *w = net_new();
  opts a = secure_opts(7, 0, NULL);
  start_node(w, 0, &a);
  p2pc_node *n = w->nodes[0].n;
  p2pc_datagram d;
  while (p2pc_node_pop_datagram(n, &d))
    ;
  p2pc_wire_addr from = {.family = 4, .addr = {127, 0, 0, 9}, .port = 7777};
  uint8_t rq[P2PC_DATAGRAM_MAX + 16];
  /* an open node's request, with and without junk where a MAC would be */
  size_t len = plain_request(rq, "N5");
  p2pc_node_time_input(n, &from, rq, len, 0, false, now_at(w, 0));
  memset(rq + len, 0x5a, 16);
  p2pc_node_time_input(n, &from, rq, len + 16, 0, false, now_at(w, 0));
  assert_false(p2pc_node_pop_datagram(n, &d));
  /* a FINDNODE without a MAC, and one with a bad one */
  p2pc_buf fb;
  p2pc_buf_init(&fb, p2pc_allocator_default(), 512);
  p2pc_wire_record self = {.id = "N5", .addr = from, .time_port = 7777};
  assert_int_equal(p2pc_dgram_findnode_put(&fb, P2PC_DGRAM_MAX_AUTH, 9, &self,
                                           p2pc_dht_key("N0")),
                   0);
  p2pc_node_time_input(n, &from, fb.data, fb.len, 0, false, now_at(w, 0));
  uint8_t fn[P2PC_DATAGRAM_MAX] = {0};
  memcpy(fn, fb.data, fb.len);
  p2pc_node_time_input(n, &from, fn, sizeof fn, 0, false, now_at(w, 0));
  p2pc_buf_reset(&fb);
  assert_int_equal(p2pc_dgram_findnode_put(&fb, P2PC_DATAGRAM_MAX, 9, &self,
                                           p2pc_dht_key("N0")),
                   0);
  p2pc_node_time_input(n, &from, fb.data, fb.len, 0, false, now_at(w, 0));
  assert_false(p2pc_node_pop_datagram(n, &d));
  assert_int_equal(track(w, 0).c.rx_unauth, 5);
  p2pc_dht_stats st;
  p2pc_dht_stats_get(p2pc_node_dht(n), &st);
  assert_int_equal(st.rx, 0); /* the lookup never saw them */
  assert_int_equal(st.entries, 0);
  assert_non_null(strstr(w->nodes[0].last_error_log, "authenticator"));
  /* a standard client is answered as before: 48 bytes, no MAC */
  uint8_t std[48] = {0x23};
  p2pc_node_time_input(n, &from, std, sizeof std, 0, false, now_at(w, 0));
  assert_true(p2pc_node_pop_datagram(n, &d));
  assert_int_equal(d.len, 48);
  assert_true(d.stamp_xmt);
  p2pc_buf_fini(&fb);
  net_free(w);
}

/* What a secure node sends: every datagram at most P2PC_DATAGRAM_MAX,
 * its MAC last (a node with another key refuses it; with the key, taken),
 * and an answer no longer than its request. */
static void a_sealed_exchange_is_taken_and_answered(void **state) {
  (void)state;
  net *w = net_new();
  opts a = secure_opts(7, 0, NULL), b = secure_opts(7, 1, "0"),
       c = secure_opts(8, 2, NULL);
  start_node(w, 2, &c); /* another network, not linked */
  start_pair(w, &a, &b);
  run(w, 3000);
  p2pc_tracking t0 = track(w, 0), t1 = track(w, 1);
  assert_true(t0.c.answered > 0 && t1.c.answered > 0);
  assert_int_equal(t0.c.rx_unauth + t1.c.rx_unauth, 0);
  /* a request as N1 writes one, sealed as PROTOCOL.md says: the field
   * at P2PC_NTP_EXT_LEN_AUTH bytes, then BLAKE2b-128 keyed by
   * crypto_kdf(cluster key, 1, "p2pctime") over all before it */
  p2pc_node *n0 = w->nodes[0].n, *n2 = w->nodes[2].n;
  uint8_t rq[P2PC_DATAGRAM_MAX];
  p2pc_ntp_header h = {
      .version = 4, .mode = P2PC_NTP_MODE_CLIENT, .xmt = 0x1122334455667789ull};
  p2pc_ntp_ext e = {.kind = P2PC_NTP_EXT_REQUEST, .id = "N1"};
  p2pc_ntp_header_put(rq, &h);
  assert_int_equal(p2pc_ntp_ext_put_len(rq + 48, P2PC_NTP_EXT_LEN_AUTH, &e),
                   P2PC_NTP_EXT_LEN_AUTH);
  size_t rql = 48 + P2PC_NTP_EXT_LEN_AUTH + 16;
  assert_int_equal(rql, P2PC_DATAGRAM_MAX);
  uint8_t psk[32], k[32];
  memset(psk, 7, sizeof psk);
  crypto_kdf_derive_from_key(k, sizeof k, 1, "p2pctime", psk);
  crypto_generichash(rq + rql - 16, 16, rq, rql - 16, k, sizeof k);
  bool has_ext;
  p2pc_wire_addr from = p2pc_drive_addr(1);
  p2pc_datagram d;
  while (p2pc_node_pop_datagram(n2, &d))
    ;
  uint64_t before = track(w, 2).c.rx_unauth;
  p2pc_node_time_input(n2, &from, rq, rql, 0, false, now_at(w, 2));
  assert_false(p2pc_node_pop_datagram(n2, &d));
  assert_int_equal(track(w, 2).c.rx_unauth, before + 1);
  /* N0 answers it (a replay gets an answer any client could get) */
  while (p2pc_node_pop_datagram(n0, &d))
    ;
  p2pc_node_time_input(n0, &from, rq, rql, local_at(w, 0, w->now), true,
                       now_at(w, 0));
  assert_true(p2pc_node_pop_datagram(n0, &d));
  assert_true(d.len <= rql);
  assert_int_equal(d.len, P2PC_DATAGRAM_MAX);
  assert_false(d.stamp_xmt); /* T3 written before the MAC */
  assert_int_equal(p2pc_ntp_decode(d.data, d.len - 16u, &h, &e, &has_ext), 0);
  assert_true(has_ext && e.kind == P2PC_NTP_EXT_REPLY);
  assert_true(h.xmt != 0);
  /* one bit flipped anywhere: refused */
  uint8_t bad[P2PC_DATAGRAM_MAX];
  memcpy(bad, rq, rql);
  bad[P2PC_DATAGRAM_XMT_OFFSET] ^= 1;
  uint64_t u0 = track(w, 0).c.rx_unauth;
  p2pc_node_time_input(n0, &from, bad, rql, 0, false, now_at(w, 0));
  assert_false(p2pc_node_pop_datagram(n0, &d));
  assert_int_equal(track(w, 0).c.rx_unauth, u0 + 1);
  net_free(w);
}

/* The MAC (BLAKE2b-128 keyed by crypto_kdf(key, 1, ctx)) of b[0..len)
 * under the cluster key filled with byte c. */
static void mac_of(uint8_t c, const char *ctx, const uint8_t *b, size_t len,
                   uint8_t tag[16]) {
  uint8_t psk[32], k[32];
  memset(psk, c, sizeof psk);
  crypto_kdf_derive_from_key(k, sizeof k, 1, ctx, psk);
  crypto_generichash(tag, 16, b, len, k, sizeof k);
}

/* An answer goes back under the key its request came under: a node whose
 * primary is still the old key answers an asker that holds only the new
 * one (as a link's responder does), and asks under its primary. */
static void an_answer_goes_back_under_the_askers_key(void **state) {
  (void)state;
  net *w = net_new();
  opts a = secure_opts(7, 0, NULL);
  set_ring(&a.base.secure, (const uint8_t[]){7, 8}, 2);
  start_node(w, 0, &a);
  p2pc_node *n = w->nodes[0].n;
  p2pc_datagram d;
  while (p2pc_node_pop_datagram(n, &d))
    ;
  uint8_t rq[P2PC_DATAGRAM_MAX];
  p2pc_ntp_header h = {.version = 4, .mode = P2PC_NTP_MODE_CLIENT, .xmt = 0x99};
  p2pc_ntp_ext e = {.kind = P2PC_NTP_EXT_REQUEST, .id = "N9"};
  p2pc_ntp_header_put(rq, &h);
  assert_int_equal(p2pc_ntp_ext_put_len(rq + 48, P2PC_NTP_EXT_LEN_AUTH, &e),
                   P2PC_NTP_EXT_LEN_AUTH);
  mac_of(8, "p2pctime", rq, sizeof rq - 16, rq + sizeof rq - 16);
  p2pc_wire_addr from = {.family = 4, .addr = {127, 0, 0, 9}, .port = 7000};
  uint8_t tag[16];
  for (int round = 0; round < 2; round++) {
    p2pc_node_time_input(n, &from, rq, sizeof rq, local_at(w, 0, w->now), false,
                         now_at(w, 0));
    assert_true(p2pc_node_pop_datagram(n, &d));
    assert_int_equal(d.len, P2PC_DATAGRAM_MAX);
    mac_of(8, "p2pctime", d.data, d.len - 16u, tag);
    assert_memory_equal(tag, d.data + d.len - 16, 16); /* the asker's */
    mac_of(7, "p2pctime", d.data, d.len - 16u, tag);
    assert_memory_not_equal(tag, d.data + d.len - 16, 16);
    /* after a change of the ring the node forgets, and answers under
     * its primary (now 8 too: the same here) */
    live_ring(w, 0, (const uint8_t[]){8, 7}, 2);
  }
  /* the same request under the old key: answered under it */
  mac_of(7, "p2pctime", rq, sizeof rq - 16, rq + sizeof rq - 16);
  p2pc_node_time_input(n, &from, rq, sizeof rq, local_at(w, 0, w->now), false,
                       now_at(w, 0));
  assert_true(p2pc_node_pop_datagram(n, &d));
  mac_of(7, "p2pctime", d.data, d.len - 16u, tag);
  assert_memory_equal(tag, d.data + d.len - 16, 16);
  assert_int_equal(track(w, 0).c.rx_unauth, 0);
  net_free(w);
}

/* Secure nodes sync their clocks and look IDs up over sealed datagrams,
 * during a rotation too (the primary to send, any key to take). */
static void a_secure_mesh_syncs_and_looks_up(void **state) {
  (void)state;
  net *w = net_new();
  static const int64_t off[] = {0, 300000000, -700000000, 900000000};
  static const char *seeds[] = {NULL, "0", "1", "2"};
  for (int i = 0; i < 4; i++) {
    opts o = secure_opts(7, (uint8_t)i, seeds[i]);
    o.base.time.priority = i == 2 ? 10 : 128;
    o.base.time.clock_class = 248;
    o.base.max_peers = 2;
    w->nodes[i].clock_offset = off[i];
    start_node(w, i, &o);
  }
  run(w, 5000);
  /* a rotation half done: N0 and N1 send under the new key */
  for (int i = 0; i < 4; i++)
    live_ring(w, i, (const uint8_t[]){7, 8}, 2);
  live_ring(w, 0, (const uint8_t[]){8, 7}, 2);
  live_ring(w, 1, (const uint8_t[]){8, 7}, 2);
  run(w, 15000);
  for (int i = 0; i < 4; i++) {
    p2pc_tracking t = track(w, i);
    assert_true(t.synced);
    assert_string_equal(t.ref, "N2");
    assert_int_equal(t.c.rx_unauth, 0);
    int64_t a = p2pc_node_network_time(w->nodes[i].n, local_at(w, i, w->now));
    int64_t b = p2pc_node_network_time(w->nodes[2].n, local_at(w, 2, w->now));
    assert_true(fabs((double)(a - b)) < 1000);
    assert_true(w->nodes[i].samples > 0 || i == 2);
  }
  /* the lookup: N0 looks N3 up; the table's bootstrap and refreshes ran
   * over the lookup's sealed datagrams */
  int rv = p2pc_node_lookup(w->nodes[0].n, "N3", now_at(w, 0));
  assert_true(rv == 0 || rv == 1);
  run(w, 2000);
  p2pc_wire_record rec;
  assert_true(p2pc_dht_get(p2pc_node_dht(w->nodes[0].n), "N3", &rec) ||
              w->nodes[0].resolved_ok > 0);
  uint64_t served = 0;
  for (int i = 0; i < 4; i++) {
    p2pc_dht_stats st;
    p2pc_dht_stats_get(p2pc_node_dht(w->nodes[i].n), &st);
    served += st.served;
    assert_int_equal(st.rx_malformed, 0);
  }
  assert_true(served > 0); /* FINDNODEs were taken and answered */
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
      cmocka_unit_test(different_primaries_link_through_a_shared_key),
      cmocka_unit_test(a_rotation_drops_no_link),
      cmocka_unit_test(a_bad_keyring_is_refused),
      cmocka_unit_test(datagrams_without_a_valid_mac_are_dropped),
      cmocka_unit_test(a_sealed_exchange_is_taken_and_answered),
      cmocka_unit_test(a_secure_mesh_syncs_and_looks_up),
      cmocka_unit_test(an_answer_goes_back_under_the_askers_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
