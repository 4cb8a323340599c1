/* SPDX-License-Identifier: MIT */
/*
 * The per-peer reliable stream (stream.c), on the harness's in-process
 * network (node_harness.h): exactly-once delivery across link loss and
 * dropped frames, a partition that heals, back-pressure, and the
 * unacknowledged queue as a ring that wraps and grows.
 */
#include "node_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frames dropped on the wire and links cut: everything still arrives,
 * exactly once. */
static void test_exactly_once_across_loss(void **state) {
  (void)state;
  net *w = net_new();
  opts lossy = {.seeds = "1", .base = {.chaos_drop = 0.2}};
  opts lossy1 = {.base = {.chaos_drop = 0.2}};
  start_node(w, 0, &lossy);
  start_node(w, 1, &lossy1);
  run(w, 50);
  char text[32];
  for (int i = 0; i < 200; i++) {
    snprintf(text, sizeof text, "m%d", i);
    send_ok(w, 0, "N1", text);
    if (i % 50 == 25) {
      /* cut the connection mid-stream */
      close_links(w);
    }
    run(w, 2);
  }
  run(w, 20000);
  assert_int_equal(w->nodes[1].ndelivered, 200);
  assert_no_duplicates(&w->nodes[1]);
  p2pc_peer_info pi;
  assert_true(p2pc_node_peer_info(w->nodes[0].n, 0, &pi));
  assert_int_equal(pi.unacked, 0);
  net_free(w);
}

/* Frames past a hole: the ACK says so, and says it again with every
 * heartbeat while the hole is open (that ACK, or the resend it asked for,
 * may be lost: the stream then waits a heartbeat, not the resend timer);
 * once the hole is filled, no more of them. */
static void test_hole_acked_again_each_heartbeat(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_link_id l;
  fake_peer(w, 0, &l);
  fake_stable(w, 0, l, 0, 0);
  seen s;
  look(w, 0, l, &s);
  p2pc_causal *x = fake_core(w, 0);
  p2pc_buf d1, d2;
  fake_data(w, 0, x, 1, "lost", &d1);
  fake_data(w, 0, x, 2, "past the hole", &d2);
  feed(w, 0, l, &d2);
  look(w, 0, l, &s);
  assert_int_equal(s.acks, 1);
  assert_int_equal(s.ack_cum, 0);
  assert_int_equal(s.ack_beyond, 1);
  for (int beat = 0; beat < 3; beat++) {
    run(w, 600); /* past a heartbeat (500 ms); nothing comes from X */
    fake_stable(w, 0, l, 0, 0); /* ... but its heartbeat */
    look(w, 0, l, &s);
    assert_int_equal(s.acks, 1);
    assert_int_equal(s.ack_cum, 0);
    assert_true(s.ack_beyond >= 1);
  }
  assert_int_equal(w->nodes[0].ndelivered, 0);
  feed(w, 0, l, &d1);
  feed(w, 0, l, &d2);
  look(w, 0, l, &s);
  assert_int_equal(s.ack_cum, 2);
  assert_int_equal(s.ack_beyond, 0);
  assert_int_equal(w->nodes[0].ndelivered, 2);
  run(w, 600);
  look(w, 0, l, &s);
  assert_int_equal(s.acks, 0);
  p2pc_buf_fini(&d1);
  p2pc_buf_fini(&d2);
  p2pc_causal_free(x);
  net_free(w);
}

/* A partition: each side keeps working; after healing, what was queued
 * arrives exactly once. */
static void test_partition_heals(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  for (int i = 1; i < 4; i++)
    start_node(w, i, &(opts){.seeds = "0"});
  run(w, 300);
  for (int i = 0; i < 4; i++)
    assert_int_equal(p2pc_node_up_count(w->nodes[i].n), 3);
  /* {0,1} | {2,3} */
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      w->cut[i][j] = (i < 2) != (j < 2);
  for (int i = 0; i < 10; i++) {
    send_ok(w, 0, "N1", "same side");
    send_ok(w, 0, "N2", "across");
    send_ok(w, 3, "N1", "across");
  }
  run(w, 8000); /* long enough to be declared down */
  assert_int_equal(count_delivered(&w->nodes[1], "N0~"), 10);
  assert_int_equal(count_delivered(&w->nodes[2], "N0~"), 0);
  assert_int_equal(p2pc_node_up_count(w->nodes[0].n), 1);
  memset(w->cut, 0, sizeof w->cut);
  run(w, 10000);
  assert_int_equal(count_delivered(&w->nodes[2], "N0~"), 10);
  assert_int_equal(count_delivered(&w->nodes[1], "N3~"), 10);
  for (int i = 0; i < 4; i++) {
    assert_no_duplicates(&w->nodes[i]);
    assert_int_equal(p2pc_node_up_count(w->nodes[i].n), 3);
  }
  net_free(w);
}

/* A peer that does not acknowledge: send fails with FULL instead of
 * growing memory. */
static void test_back_pressure(void **state) {
  (void)state;
  net *w = net_new();
  opts o = {.seeds = "1", .base = {.max_unacked = 16}};
  start_node(w, 0, &o);
  start_node(w, 1, NULL);
  run(w, 50);
  w->cut[0][1] = w->cut[1][0] = true;
  int full = 0;
  for (int i = 0; i < 40; i++) {
    int rv = p2pc_node_send(w->nodes[0].n, "N1", (const uint8_t *)"x", 1,
                            now_at(w, 0), NULL);
    if (rv == P2PC_ERR_FULL)
      full++;
    else
      assert_int_equal(rv, 0);
  }
  assert_int_equal(full, 24);
  w->cut[0][1] = w->cut[1][0] = false;
  run(w, 3000);
  assert_int_equal(w->nodes[1].ndelivered, 16);
  net_free(w);
}

/* The DATA frames node i wrote on link l since the last look, their lseqs
 * in order (then the output is consumed). Returns how many. */
static int data_lseqs(net *w, int i, p2pc_link_id l, uint64_t *out, int max) {
  const uint8_t *p;
  size_t len, off = 0;
  int k = 0;
  p2pc_node_link_output(w->nodes[i].n, l, &p, &len);
  while (off < len) {
    p2pc_frame f;
    int used = p2pc_wire_frame_split(p + off, len - off,
                                     P2PC_WIRE_MAX_FRAME_LIMIT, &f);
    assert_true(used > 0);
    if (f.type == P2PC_FRAME_DATA) {
      p2pc_reader r;
      p2pc_reader_init(&r, f.body, f.body_len);
      assert_true(k < max);
      assert_true(p2pc_reader_varint(&r, &out[k]));
      k++;
    }
    off += (size_t)used;
  }
  p2pc_node_link_consume(w->nodes[i].n, l, len);
  return k;
}

static uint32_t unacked_to(const net *w, int i, const char *peer) {
  p2pc_peer_info pi;
  for (uint32_t k = 0; p2pc_node_peer_info(w->nodes[i].n, k, &pi); k++)
    if (strcmp(pi.id, peer) == 0)
      return pi.unacked;
  fail();
  return 0;
}

/* The unacknowledged queue is a ring: an ACK moves its head, and it grows
 * (16, 32, 64) while wrapped around. Every frame keeps its place: a
 * resend after the timeout sends exactly the unacknowledged lseqs, in
 * order, and a later ACK frees them. */
static void test_unacked_ring_wraps_and_grows(void **state) {
  (void)state;
  net *w = net_new();
  start_node(w, 0, NULL);
  p2pc_link_id l;
  fake_peer(w, 0, &l);
  fake_stable(w, 0, l, 0, 0);
  uint64_t lseq[64];
  data_lseqs(w, 0, l, lseq, 64);
  for (int i = 0; i < 10; i++)
    send_ok(w, 0, "X", "early");
  assert_int_equal(data_lseqs(w, 0, l, lseq, 64), 10);
  assert_int_equal(lseq[9], 10);
  fake_ack(w, 0, l, 8); /* the head moves to the ring's 9th slot */
  assert_int_equal(unacked_to(w, 0, "X"), 2);
  for (int i = 0; i < 30; i++) /* 2 + 30: wraps, grows to 32 and 64 */
    send_ok(w, 0, "X", "late");
  assert_int_equal(unacked_to(w, 0, "X"), 32);
  int k = data_lseqs(w, 0, l, lseq, 64);
  assert_int_equal(k, 30);
  for (int i = 0; i < k; i++)
    assert_int_equal(lseq[i], 11 + (uint64_t)i);
  /* Nothing acknowledged for resend_ns: all of it again, in order. */
  run(w, 1100);
  k = data_lseqs(w, 0, l, lseq, 64);
  assert_int_equal(k, 32);
  for (int i = 0; i < k; i++)
    assert_int_equal(lseq[i], 9 + (uint64_t)i);
  /* An ACK across the wrap, then again from there. */
  fake_ack(w, 0, l, 30);
  assert_int_equal(unacked_to(w, 0, "X"), 10);
  run(w, 1100);
  k = data_lseqs(w, 0, l, lseq, 64);
  assert_int_equal(k, 10);
  for (int i = 0; i < k; i++)
    assert_int_equal(lseq[i], 31 + (uint64_t)i);
  fake_ack(w, 0, l, 40);
  assert_int_equal(unacked_to(w, 0, "X"), 0);
  send_ok(w, 0, "X", "after");
  assert_int_equal(data_lseqs(w, 0, l, lseq, 64), 1);
  assert_int_equal(lseq[0], 41);
  assert_int_equal(unacked_to(w, 0, "X"), 1);
  net_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exactly_once_across_loss),
      cmocka_unit_test(test_hole_acked_again_each_heartbeat),
      cmocka_unit_test(test_partition_heals),
      cmocka_unit_test(test_back_pressure),
      cmocka_unit_test(test_unacked_ring_wraps_and_grows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
