/* SPDX-License-Identifier: MIT */
/*
 * The public sans-I/O API (<p2pclock/node.h>) as an application uses it:
 * settings from p2pc_settings_default, refused with a message naming the
 * setting when out of range; two nodes opened with p2pc_node_open and
 * joined by an in-memory connection driven only through the public calls;
 * typed events (peer up, a delivery with the id send returned, writable
 * again after back-pressure); the time interval of a node without a
 * synchronized clock; error names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <p2pclock/node.h>

#define MS 1000000ull

typedef struct app {
  const char *name;
  p2pc_node *n;
  p2pc_link_id link;
  bool linked;
  int peer_up, delivered, writable;
  p2pc_msgid last_id;
  char last_payload[64];
  char last_log[200];
} app;

static void on_event(void *ud, p2pc_node *n, const p2pc_event *ev) {
  app *a = ud;
  assert_ptr_equal(n, a->n);
  switch (ev->type) {
  case P2PC_EVENT_PEER_UP:
    a->peer_up++;
    break;
  case P2PC_EVENT_DELIVERED:
    a->delivered++;
    a->last_id = ev->msg;
    assert_true(ev->len < sizeof a->last_payload);
    memcpy(a->last_payload, ev->payload, ev->len);
    a->last_payload[ev->len] = '\0';
    break;
  case P2PC_EVENT_WRITABLE:
    a->writable++;
    break;
  default:
    break;
  }
}

static void on_log(void *ud, p2pc_log_level lv, const char *text) {
  app *a = ud;
  (void)lv;
  snprintf(a->last_log, sizeof a->last_log, "%s", text);
}

static p2pc_now at(uint64_t t) {
  return (p2pc_now){t, (int64_t)(1700000000ull * 1000000000ull + t)};
}

static void open_app(app *a, const char *name, uint16_t port, uint64_t t,
                     uint32_t max_unacked) {
  p2pc_settings s;
  p2pc_settings_default(&s);
  s.id = name;
  s.incarnation = port;
  assert_int_equal(
      p2pc_addr_parse(&s.listen, port == 1 ? "127.0.0.1:1" : "127.0.0.1:2"), 0);
  s.clock.enabled = false; /* no time socket in this test */
  s.max_unacked = max_unacked;
  s.logger.log = on_log;
  s.logger.ud = a;
  s.logger.level = P2PC_LOG_INFO;
  a->name = name;
  assert_int_equal(p2pc_node_open(&a->n, &s, on_event, a, at(t)), 0);
  assert_string_equal(p2pc_node_name(a->n), name);
}

/* Moves bytes both ways until neither has output (bounded). */
static void pump(app *x, app *y, uint64_t t) {
  for (int round = 0; round < 100; round++) {
    bool moved = false;
    app *pair[2][2] = {{x, y}, {y, x}};
    for (int k = 0; k < 2; k++) {
      app *from = pair[k][0], *to = pair[k][1];
      const uint8_t *p;
      size_t len;
      p2pc_node_link_output(from->n, from->link, &p, &len);
      if (len) {
        assert_int_equal(p2pc_node_link_input(to->n, to->link, p, len, at(t)),
                         0);
        p2pc_node_link_consume(from->n, from->link, len);
        moved = true;
      }
    }
    p2pc_node_on_deadline(x->n, at(t));
    p2pc_node_on_deadline(y->n, at(t));
    if (!moved)
      return;
  }
  fail_msg("the links did not settle");
}

static void connect_apps(app *x, app *y, uint64_t t) {
  p2pc_addr yaddr;
  assert_int_equal(p2pc_addr_parse(&yaddr, "127.0.0.1:2"), 0);
  assert_int_equal(p2pc_node_link_new(x->n, true, "", &yaddr, at(t), &x->link),
                   0);
  assert_int_equal(p2pc_node_link_new(y->n, false, "", NULL, at(t), &y->link),
                   0);
  pump(x, y, t);
}

static void test_two_nodes(void **state) {
  (void)state;
  app a = {0}, b = {0};
  open_app(&a, "alice", 1, 0, 8192);
  open_app(&b, "bob", 2, 0, 8192);
  connect_apps(&a, &b, 1 * MS);
  assert_int_equal(a.peer_up, 1);
  assert_int_equal(b.peer_up, 1);
  p2pc_msgid id;
  assert_int_equal(
      p2pc_node_send(a.n, "bob", (const uint8_t *)"hello", 5, at(2 * MS), &id),
      0);
  assert_string_equal(id.node, "alice");
  assert_int_equal(id.session, 1);
  assert_true(id.seq >= 1);
  pump(&a, &b, 3 * MS);
  assert_int_equal(b.delivered, 1);
  assert_string_equal(b.last_payload, "hello");
  assert_string_equal(b.last_id.node, id.node);
  assert_int_equal(b.last_id.session, id.session);
  assert_true(b.last_id.seq == id.seq);
  /* A neighbour broadcast reaches alice and bob himself, ids in
   * sequence. */
  p2pc_msgid first;
  assert_int_equal(p2pc_node_broadcast_neighbours(b.n, (const uint8_t *)"all",
                                                  3, at(4 * MS), &first),
                   1);
  assert_string_equal(first.node, "bob");
  assert_int_equal(b.delivered, 2); /* its own copy, at once */
  pump(&a, &b, 5 * MS);
  assert_int_equal(a.delivered, 1);
  assert_string_equal(a.last_payload, "all");
  /* An ID nobody has: a lookup starts (AGAIN); bob never answers it
   * here (no datagrams move), so it ends at its timeouts: NOTFOUND. */
  assert_int_equal(
      p2pc_node_send(a.n, "nobody", (const uint8_t *)"x", 1, at(6 * MS), NULL),
      P2PC_ERR_AGAIN);
  for (uint64_t t = 100; t <= 3000; t += 100)
    p2pc_node_on_deadline(a.n, at(t * MS));
  assert_int_equal(p2pc_node_send(a.n, "nobody", (const uint8_t *)"x", 1,
                                  at(3001 * MS), NULL),
                   P2PC_ERR_NOTFOUND);
  p2pc_node_close(a.n);
  p2pc_node_close(b.n);
}

static void test_writable_after_full(void **state) {
  (void)state;
  app a = {0}, b = {0};
  open_app(&a, "alice", 1, 0, 4);
  open_app(&b, "bob", 2, 0, 8192);
  connect_apps(&a, &b, 1 * MS);
  int sent = 0, rv = 0;
  for (int i = 0; i < 10 && rv == 0; i++) {
    rv = p2pc_node_send(a.n, "bob", (const uint8_t *)"m", 1, at(2 * MS), NULL);
    sent += rv == 0;
  }
  assert_int_equal(rv, P2PC_ERR_FULL);
  assert_int_equal(sent, 4);
  assert_int_equal(a.writable, 0);
  pump(&a, &b, 3 * MS); /* delivered and acknowledged */
  assert_int_equal(b.delivered, 4);
  assert_int_equal(a.writable, 1);
  assert_int_equal(
      p2pc_node_send(a.n, "bob", (const uint8_t *)"m", 1, at(4 * MS), NULL), 0);
  pump(&a, &b, 5 * MS);
  assert_int_equal(a.writable, 1); /* owed once per FULL, not per ack */
  p2pc_node_close(a.n);
  p2pc_node_close(b.n);
}

static void test_settings_refused(void **state) {
  (void)state;
  app a = {0};
  p2pc_settings s;
  p2pc_settings_default(&s);
  s.logger.log = on_log;
  s.logger.ud = &a;
  p2pc_node *n = (p2pc_node *)&a; /* overwritten with NULL on failure */
  s.id = "bad id";
  assert_int_equal(p2pc_node_open(&n, &s, on_event, &a, at(0)), P2PC_ERR_INVAL);
  assert_null(n);
  assert_non_null(strstr(a.last_log, "id:"));
  s.id = "ok";
  s.suspect_ns = s.heartbeat_ns;
  assert_int_equal(p2pc_node_open(&n, &s, on_event, &a, at(0)), P2PC_ERR_INVAL);
  assert_non_null(strstr(a.last_log, "suspect_ns"));
  p2pc_settings_default(&s);
  s.id = "ok";
  s.clock.poll_min = 5;
  s.clock.poll_max = 2;
  assert_int_equal(p2pc_node_open(&n, &s, on_event, &a, at(0)), P2PC_ERR_INVAL);
  p2pc_settings_default(&s);
  s.id = "ok";
  assert_int_equal(p2pc_node_open_versioned(&n, 99, &s, on_event, &a, at(0)),
                   P2PC_ERR_INVAL);
  /* The defaults themselves are valid, and an unsynced clock has no
   * bound. */
  assert_int_equal(p2pc_node_open(&n, &s, on_event, &a, at(0)), 0);
  p2pc_time t;
  p2pc_node_time(n, at(MS), &t);
  assert_false(t.synced);
  assert_true(t.earliest_ns == INT64_MIN && t.latest_ns == INT64_MAX);
  assert_true(t.now_ns == at(MS).local_ns);
  p2pc_node_close(n);
}

static void test_error_names(void **state) {
  (void)state;
  assert_string_equal(p2pc_errname(P2PC_ERR_FULL), "P2PC_ERR_FULL");
  assert_string_equal(p2pc_errname(0), "P2PC_OK");
  assert_string_equal(p2pc_errname(-111), "ECONNREFUSED");
  assert_string_equal(p2pc_strerror(-111), "connection refused");
  assert_string_equal(p2pc_errname(-100000), "unknown");
  assert_string_equal(p2pc_strerror(-100000), "system error");
  assert_int_equal(p2pc_version(), P2PC_VERSION_NUM);
  assert_string_equal(p2pc_version_string(), P2PC_VERSION_STRING);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_nodes),
      cmocka_unit_test(test_writable_after_full),
      cmocka_unit_test(test_settings_refused),
      cmocka_unit_test(test_error_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
