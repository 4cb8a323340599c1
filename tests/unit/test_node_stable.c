/* SPDX-License-Identifier: MIT */
/*
 * Stability over the links (stability.c), with a hand-made peer
 * (node_harness.h): a link's first STABLE before any DATA, delivery
 * reports raising the sender's LS, stability across a chain of links, the
 * STABLE report as the heartbeat, a link that carried no DATA leaving
 * no frozen report behind, and a low report counting for the DATA that
 * follows it at once.
 */
#include "node_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A link's first STABLE precedes its first DATA, both ways: the node's
 * own comes right after its HELLO, and DATA from a peer whose first
 * STABLE has not come yet is not taken (not acknowledged, not
 * delivered); once it has, the same DATA is, and the node's next STABLE
 * reports it delivered. */
static void test_data_waits_for_first_stable(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_link_id l;
  fake_peer(w, 0, &l);
  seen s;
  look(w, 0, l, &s);
  assert_true(s.stables >= 1);
  assert_int_equal(s.st.delivered, 0);
  assert_int_equal(s.ack_cum, 0);
  p2pc_causal *x = fake_core(w, 0);
  p2pc_buf d1, d2;
  fake_data(w, 0, x, 1, "early", &d1);
  fake_data(w, 0, x, 2, "next", &d2);
  /* Before X's first STABLE: not taken. */
  feed(w, 0, l, &d1);
  feed(w, 0, l, &d2);
  look(w, 0, l, &s);
  assert_int_equal(s.ack_cum, 0);
  assert_int_equal(w->nodes[0].ndelivered, 0);
  const p2pc_causal *c0 = p2pc_node_causal(w->nodes[0].n);
  p2pc_causal_stats st;
  p2pc_causal_get_stats(c0, &st);
  assert_int_equal(st.received, 0);
  /* X's first STABLE, then the resend: taken, acknowledged, delivered in
   * order, and reported. */
  fake_stable(w, 0, l, 0, 0);
  feed(w, 0, l, &d1);
  look(w, 0, l, &s);
  assert_int_equal(s.ack_cum, 1);
  assert_int_equal(w->nodes[0].ndelivered, 1);
  assert_string_equal(w->nodes[0].delivered[0], FAKE_SESID ":1");
  assert_true(s.stables >= 1);
  assert_int_equal(s.st.delivered, 1);
  feed(w, 0, l, &d2);
  look(w, 0, l, &s);
  assert_int_equal(s.ack_cum, 2);
  assert_int_equal(w->nodes[0].ndelivered, 2);
  assert_int_equal(s.st.delivered, 2);
  /* A new link of the same session starts over: its DATA waits for its
   * own first STABLE. */
  p2pc_node_link_closed(w->nodes[0].n, l, now_at(w, 0));
  run(w, 10);
  fake_peer(w, 0, &l);
  look(w, 0, l, &s);
  assert_true(s.stables >= 1);
  p2pc_buf d3;
  fake_data(w, 0, x, 3, "third", &d3);
  feed(w, 0, l, &d3);
  look(w, 0, l, &s);
  assert_true(s.ack_cum < 3);
  assert_int_equal(w->nodes[0].ndelivered, 2);
  fake_stable(w, 0, l, 0, 0);
  feed(w, 0, l, &d3);
  look(w, 0, l, &s);
  assert_int_equal(s.ack_cum, 3);
  assert_int_equal(w->nodes[0].ndelivered, 3);
  p2pc_buf_fini(&d1);
  p2pc_buf_fini(&d2);
  p2pc_buf_fini(&d3);
  p2pc_causal_free(x);
  net_free(w);
}

/* Delivery reports reach the sender: the node's message to X holds its LS
 * at the message's stamp and keeps the entry (X, node, 1) until X's
 * STABLE says `delivered` 1; then LS passes the stamp and the entry goes.
 * A report beyond what was sent is ignored. */
static void test_delivery_report_raises_ls(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_link_id l;
  fake_peer(w, 0, &l);
  fake_stable(w, 0, l, 0, 0);
  seen s;
  look(w, 0, l, &s);
  const p2pc_causal *c0 = p2pc_node_causal(w->nodes[0].n);
  assert_int_equal(p2pc_causal_pairs(c0), 0);
  send_ok(w, 0, "X", "to x");
  look(w, 0, l, &s);
  assert_int_equal(s.data, 1);
  assert_int_equal(s.data_lseq, 1);
  uint64_t stamp = p2pc_causal_last_stamp(c0);
  assert_int_equal(p2pc_causal_sent(c0), 1);
  assert_int_equal(p2pc_causal_pairs(c0), 1);
  assert_int_equal(p2pc_causal_local_stable(c0), stamp);
  /* X takes it (its core delivers it) ... */
  p2pc_causal *x = fake_core(w, 0);
  assert_int_equal(p2pc_causal_receive(x, NULL, s.ses, s.ses_len, 0), 0);
  uint64_t dl = 0, wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
  uint32_t nwo = 0;
  char me[64];
  sesid_of(&w->nodes[0], me);
  p2pc_causal_report_for(x, me, &dl, wo, &nwo);
  assert_int_equal(dl, 1);
  /* ... but says nothing yet: LS and the entry stay; nor does a report
   * of something never sent count. */
  run(w, 5);
  assert_int_equal(p2pc_causal_local_stable(c0), stamp);
  fake_stable(w, 0, l, 2, 0);
  assert_int_equal(p2pc_causal_local_stable(c0), stamp);
  assert_int_equal(p2pc_causal_pairs(c0), 1);
  assert_non_null(strstr(w->nodes[0].last_error_log, "beyond what we sent"));
  /* Its STABLE with `delivered` 1. */
  fake_stable(w, 0, l, dl, 0);
  assert_true(p2pc_causal_local_stable(c0) > stamp);
  assert_int_equal(p2pc_causal_pairs(c0), 0);
  p2pc_causal_stats st;
  p2pc_causal_get_stats(c0, &st);
  assert_int_equal(st.stable_deps, 1);
  assert_int_equal(st.expired_tx, 0);
  /* The node's level 0 follows its LS in its next report. */
  run(w, 1000);
  look(w, 0, l, &s);
  assert_true(s.stables >= 1);
  assert_true(s.st.rep.v[0] > stamp);
  p2pc_causal_free(x);
  net_free(w);
}

/* Stability over real links: N0's message to N2 is held up (its link is
 * cut), and N0's message to N1 carries the entry (N2, N0, 1) to N1, which
 * keeps it while N0's LS is at that message's stamp. Once N2 delivers it
 * and reports, N0's LS rises, N0's reports carry it to N1, and N1 drops
 * the entry; N0 drops its own. */
static void test_stability_flows_over_links(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  for (int i = 1; i < 3; i++)
    start_node(w, i, &(opts){.seeds = "0"});
  run(w, 500);
  for (int i = 0; i < 3; i++)
    assert_int_equal(p2pc_node_up_count(w->nodes[i].n), 2);
  const p2pc_causal *c0 = p2pc_node_causal(w->nodes[0].n);
  const p2pc_causal *c1 = p2pc_node_causal(w->nodes[1].n);
  w->cut[0][2] = w->cut[2][0] = true;
  send_ok(w, 0, "N2", "held up");
  uint64_t stamp = p2pc_causal_last_stamp(c0);
  send_ok(w, 0, "N1", "carries it");
  run(w, 50);
  assert_int_equal(count_delivered(&w->nodes[1], "N0~"), 1);
  assert_int_equal(count_delivered(&w->nodes[2], "N0~"), 0);
  assert_int_equal(p2pc_causal_pairs(c1), 1);
  /* N1's own report about N0's message is in: N0 keeps only (N2, N0). */
  assert_int_equal(p2pc_causal_pairs(c0), 1);
  assert_int_equal(p2pc_causal_local_stable(c0), stamp);
  run(w, 600); /* heartbeats: reports, but none passes the stamp */
  assert_int_equal(p2pc_causal_pairs(c1), 1);
  assert_int_equal(p2pc_causal_local_stable(c0), stamp);
  w->cut[0][2] = w->cut[2][0] = false;
  run(w, 3000); /* the resend, N2's report, N0's next reports */
  assert_int_equal(count_delivered(&w->nodes[2], "N0~"), 1);
  assert_true(p2pc_causal_local_stable(c0) > stamp);
  assert_int_equal(p2pc_causal_pairs(c0), 0);
  assert_int_equal(p2pc_causal_pairs(c1), 0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(w->nodes[i].undeliverable, 0);
  net_free(w);
}

/* The STABLE report is the heartbeat: one per interval on every link, with
 * the ANNOUNCE, and no PING; a peer whose only frames are its reports is
 * alive. A PING (an older node's heartbeat) is taken and not answered.
 * Silence, by contrast, makes a peer suspect, then down. */
static void test_heartbeat_is_stable(void **state) {
  (void)state;
  net *w = net_new();
  /* X answers no PING, but any frame is a sign of life: with a probe
   * timeout past its 500 ms reports, the failure detector's probes of it
   * all succeed (swim.c). */
  opts slowprobe = {.base = {.probe_timeout_ns = 600 * MS}};
  start_node(w, 0, &slowprobe);
  p2pc_link_id l;
  fake_peer(w, 0, &l);
  fake_stable(w, 0, l, 0, 0);
  seen s;
  look(w, 0, l, &s);
  int stables = 0, pings = 0, pongs = 0, anns = 0;
  for (int k = 0; k < 12; k++) { /* 6 s: past suspect (2 s) and dead (5 s) */
    run(w, 500);
    fake_stable(w, 0, l, 0, 0);
    look(w, 0, l, &s);
    stables += s.stables;
    pings += s.pings;
    pongs += s.pongs;
    anns += s.announces;
  }
  assert_true(pings >= 1); /* the failure detector's probes */
  assert_int_equal(pongs, 0);
  assert_true(stables >= 11 && stables <= 13); /* one per 500 ms */
  assert_true(anns >= 11);
  p2pc_peer_info pi;
  assert_true(p2pc_node_peer_info(w->nodes[0].n, 0, &pi));
  assert_string_equal(pi.id, "X");
  assert_int_equal(pi.state, P2PC_PEER_UP);
  /* A PING: answered (PONG), no harm. */
  p2pc_buf b;
  p2pc_buf_init(&b, p2pc_allocator_default(), 64);
  long at = p2pc_wire_frame_begin(&b, P2PC_FRAME_PING);
  assert_int_equal(p2pc_wire_ping_put(&b, P2PC_FRAME_PING, 77), 0);
  assert_int_equal(p2pc_wire_frame_end(&b, at, 64), 0);
  feed(w, 0, l, &b);
  p2pc_buf_fini(&b);
  look(w, 0, l, &s);
  assert_int_equal(s.pongs, 1);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  /* Silent from now on: suspect, then down. */
  run(w, 2500);
  assert_true(p2pc_node_peer_info(w->nodes[0].n, 0, &pi));
  assert_int_equal(pi.state, P2PC_PEER_SUSPECT);
  run(w, 3000);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 0);
  net_free(w);
}

/* N0's level 1 as its last STABLE to the fake peer on ly says, after ms
 * more milliseconds during which that peer reports `value` every 250 ms. */
static uint64_t level1_after(net *w, p2pc_link_id ly, unsigned ms,
                             uint64_t value) {
  seen s;
  uint64_t v = 0;
  for (unsigned t = 0; t < ms; t += 250) {
    run(w, 250);
    fake_stable(w, 0, ly, 0, value);
    look(w, 0, ly, &s);
    if (s.stables)
      v = s.st.rep.v[1];
  }
  assert_true(v != 0);
  return v;
}

/* A link's report stays counted (frozen) when the link goes only if a
 * message of the peer's was taken over it: then entries it brought rely on
 * it. X reports a low value, Y a high one; N0's level 1 is X's. When X's
 * link drops having carried no DATA, its report goes at once, and level 1
 * rises at the next refresh; when it carried one, the report is frozen and
 * level 1 stays where X put it. */
static void test_link_without_data_not_frozen(void **state) {
  (void)state;
  const uint64_t low = 1000, high = 1ull << 62;
  for (int with_data = 0; with_data < 2; with_data++) {
    net *w = net_new();
    start_node(w, 0, NULL);
    p2pc_link_id lx, ly;
    fake_peer(w, 0, &lx);
    fake_stable(w, 0, lx, 0, low);
    fake_peer_as(w, 0, "Y", 6, &ly);
    fake_stable(w, 0, ly, 0, high);
    p2pc_causal *x = NULL;
    if (with_data) {
      p2pc_buf d;
      x = fake_core(w, 0);
      fake_data(w, 0, x, 1, "from x", &d);
      feed(w, 0, lx, &d);
      p2pc_buf_fini(&d);
      assert_int_equal(count_delivered(&w->nodes[0], FAKE_SESID ":"), 1);
    }
    assert_int_equal(level1_after(w, ly, 1000, high), low);
    p2pc_node_link_closed(w->nodes[0].n, lx, now_at(w, 0));
    assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
    uint64_t v1 = level1_after(w, ly, 1000, high);
    if (with_data) {
      assert_int_equal(v1, low);
    } else {
      assert_true(v1 > low);
      assert_true(v1 <=
                  p2pc_causal_local_stable(p2pc_node_causal(w->nodes[0].n)));
    }
    p2pc_causal_free(x);
    net_free(w);
  }
}

/* A report that lowers the levels counts for the DATA behind it at once,
 * not from the next refresh. N0's levels have risen well past τ (its
 * neighbour Y reports high); X, whose LS is held at τ by its message to Z
 * (not yet delivered), links now (a link on demand, say) and sends N0 a
 * message carrying the entry (Z, X, 1, τ). Its first STABLE says τ, so N0
 * must keep the entry: Z has not delivered X:1. Judged by the levels of
 * the last refresh, it was dropped as stable, and N0's own later messages
 * to Z could be delivered before X:1 (found by the simulator's causal
 * oracle: anycast200, ORDER). */
static void test_low_report_counts_at_once(void **state) {
  (void)state;
  const uint64_t high = 1ull << 62;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_causal *x = fake_core(w, 0);
  p2pc_buf z;
  p2pc_buf_init(&z, p2pc_allocator_default(), 4096);
  assert_int_equal(p2pc_causal_send(x, "Z~7", (const uint8_t *)"z", 1, 0, &z),
                   0);
  p2pc_buf_fini(&z);
  uint64_t tau = p2pc_causal_last_stamp(x);
  assert_int_equal(p2pc_causal_local_stable(x), tau);
  p2pc_link_id lx, ly;
  fake_peer_as(w, 0, "Y", 6, &ly);
  fake_stable(w, 0, ly, 0, high);
  assert_true(level1_after(w, ly, 2000, high) > tau);
  fake_peer(w, 0, &lx);
  fake_stable(w, 0, lx, 0, tau);
  const p2pc_causal *c0 = p2pc_node_causal(w->nodes[0].n);
  p2pc_causal_stats st0, st1;
  p2pc_causal_get_stats(c0, &st0);
  uint32_t pairs = p2pc_causal_pairs(c0);
  p2pc_buf d;
  fake_data(w, 0, x, 1, "after z", &d);
  feed(w, 0, lx, &d);
  p2pc_buf_fini(&d);
  assert_int_equal(count_delivered(&w->nodes[0], FAKE_SESID ":"), 1);
  p2pc_causal_get_stats(c0, &st1);
  assert_int_equal(st1.stable_deps, st0.stable_deps);
  assert_int_equal(p2pc_causal_pairs(c0), pairs + 1); /* (Z, X, 1) */
  /* and it stays through the refreshes while X's LS stays at τ */
  for (int k = 0; k < 8; k++) {
    run(w, 250);
    fake_stable(w, 0, lx, 0, tau);
    fake_stable(w, 0, ly, 0, high);
  }
  assert_int_equal(p2pc_causal_pairs(c0), pairs + 1);
  p2pc_causal_free(x);
  net_free(w);
}

/* A node that delivered our broadcasts through the tree links to us (on
 * demand, say) and its first report counts them: true, though we never
 * sent it a message of its own, so it is taken without a warning (it was
 * refused as "beyond what we sent it"). One beyond our last message is
 * still refused. */
static void test_report_of_broadcasts_on_new_link(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_node *n0 = w->nodes[0].n;
  for (int k = 0; k < 2; k++)
    assert_int_equal(
        p2pc_node_broadcast(n0, (const uint8_t *)"b", 1, now_at(w, 0), NULL),
        0);
  run(w, 10);
  uint64_t sent = p2pc_causal_sent(p2pc_node_causal(n0));
  assert_int_equal(sent, 2);
  w->nodes[0].last_error_log[0] = '\0';
  p2pc_link_id lx, ly;
  fake_peer(w, 0, &lx);
  fake_stable(w, 0, lx, sent, 0);
  assert_string_equal(w->nodes[0].last_error_log, "");
  fake_peer_as(w, 0, "Y", 6, &ly);
  fake_stable(w, 0, ly, sent + 1, 0);
  assert_non_null(strstr(w->nodes[0].last_error_log, "beyond what we sent"));
  net_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_data_waits_for_first_stable),
      cmocka_unit_test(test_delivery_report_raises_ls),
      cmocka_unit_test(test_stability_flows_over_links),
      cmocka_unit_test(test_heartbeat_is_stable),
      cmocka_unit_test(test_link_without_data_not_frozen),
      cmocka_unit_test(test_low_report_counts_at_once),
      cmocka_unit_test(test_report_of_broadcasts_on_new_link),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
