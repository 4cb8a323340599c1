/* SPDX-License-Identifier: MIT */
/*
 * Stateful fuzz target for clock synchronization: two real nodes, linked
 * in memory, exchange NTP datagrams over a network that the input
 * controls. Each operation byte picks what happens to the next datagram in
 * flight (deliver, drop, duplicate, corrupt one byte, replay an old one,
 * deliver it to the other node), injects a datagram of input bytes from a
 * stranger, advances time, or makes a node's clock jump.
 *
 * Invariants: nothing crashes or leaks (sanitizers); a node never answers
 * a datagram with more bytes than it received; every datagram a node emits
 * decodes as NTP; and once a node is synchronized its network time never
 * goes backwards, whatever arrives.
 */
#include "fuzz.h"

#include "node.h"
#include "ntp.h"

#include <stdbool.h>
#include <string.h>

#define MS 1000000ull
#define FLIGHT 32

typedef struct sim {
  p2pc_node *n[2];
  p2pc_link_id l[2];
  uint64_t now;
  int64_t offset[2]; /* node clocks: true time + offset */
  struct {
    int to;
    p2pc_datagram d;
  } air[FLIGHT], old;
  int nair;
  bool have_old;
  int64_t last_net[2];
  bool synced[2];
} sim;

static p2pc_now now_of(const sim *s, int i) {
  p2pc_now t = {.mono_ns = s->now,
                .local_ns =
                    1700000000000000000 + (int64_t)s->now + s->offset[i]};
  return t;
}

static p2pc_wire_addr addr_of(int i) {
  p2pc_wire_addr a = {
      .family = 4, .addr = {127, 0, 0, (uint8_t)(i + 1)}, .port = 9000};
  return a;
}

static void move_tcp(sim *s) {
  for (int round = 0; round < 4; round++)
    for (int i = 0; i < 2; i++) {
      const uint8_t *p;
      size_t len;
      p2pc_node_link_output(s->n[i], s->l[i], &p, &len);
      if (!len)
        continue;
      uint8_t *copy = malloc(len);
      FUZZ_CHECK(copy != NULL);
      memcpy(copy, p, len);
      p2pc_node_link_consume(s->n[i], s->l[i], len);
      p2pc_node_link_input(s->n[1 - i], s->l[1 - i], copy, len,
                           now_of(s, 1 - i));
      free(copy);
    }
  p2pc_action a;
  for (int i = 0; i < 2; i++)
    while (p2pc_node_pop_action(s->n[i], &a))
      ; /* dials and closes: the one link stays */
}

static void check_out(const p2pc_datagram *d) {
  p2pc_ntp_header h;
  p2pc_ntp_ext e;
  bool has_ext;
  FUZZ_CHECK(d->len >= P2PC_NTP_HEADER_LEN && d->len <= P2PC_NTP_PACKET_MAX);
  FUZZ_CHECK(p2pc_ntp_decode(d->data, d->len, &h, &e, &has_ext) == 0);
}

/* Collects what the nodes want to send; replies to strangers are checked
 * against the size of what the stranger sent. */
static void collect(sim *s, size_t stranger_len) {
  for (int i = 0; i < 2; i++) {
    p2pc_datagram d;
    while (p2pc_node_pop_datagram(s->n[i], &d)) {
      check_out(&d);
      if (d.stamp_xmt) {
        uint64_t v = p2pc_ntp_ts_from_ns(now_of(s, i).local_ns + d.xmt_corr);
        for (int k = 0; k < 8; k++)
          d.data[P2PC_NTP_XMT_OFFSET + k] = (uint8_t)(v >> (56 - 8 * k));
      }
      if (d.token)
        p2pc_node_time_sent(s->n[i], d.token, now_of(s, i).local_ns,
                            (s->now / MS) % 2 == 0, now_of(s, i));
      if (d.to.addr[3] == 99) { /* the stranger */
        FUZZ_CHECK(d.len <= stranger_len);
        continue;
      }
      if (s->nair < FLIGHT) {
        s->air[s->nair].to = d.to.addr[3] == 1 ? 0 : 1;
        s->air[s->nair++].d = d;
      }
    }
  }
}

static void deliver(sim *s, int to, const p2pc_datagram *d) {
  p2pc_wire_addr from = addr_of(1 - to);
  p2pc_node_time_input(s->n[to], &from, d->data, d->len, now_of(s, to).local_ns,
                       true, now_of(s, to));
}

static void check_clocks(sim *s) {
  for (int i = 0; i < 2; i++) {
    int64_t net = p2pc_node_network_time(s->n[i], now_of(s, i).local_ns);
    if (s->synced[i])
      FUZZ_CHECK(net >= s->last_net[i]);
    s->last_net[i] = net;
    p2pc_tracking t;
    p2pc_node_tracking(s->n[i], now_of(s, i), &t);
    s->synced[i] = t.synced;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sim s;
  memset(&s, 0, sizeof s);
  s.now = 1000 * MS;
  s.offset[1] = size ? (int64_t)data[0] * 3000000 - 384000000 : 0;
  for (int i = 0; i < 2; i++) {
    char id[2] = {(char)('a' + i), '\0'};
    p2pc_node_config c;
    memset(&c, 0, sizeof c);
    c.id = id;
    c.incarnation = 1000 + (uint64_t)i;
    c.seed = 7;
    c.listen = addr_of(i);
    c.time.mode = size > 1 && (data[1] & 1) ? P2PC_CLOCK_COLLABORATIVE
                                            : P2PC_CLOCK_REFERENCE;
    c.time.priority = (uint8_t)(i * 100);
    FUZZ_CHECK(p2pc_node_new(&s.n[i], &c, NULL, now_of(&s, i)) == 0);
  }
  p2pc_wire_addr b_addr = addr_of(1);
  FUZZ_CHECK(p2pc_node_link_new(s.n[0], true, "b", &b_addr, now_of(&s, 0),
                                &s.l[0]) == 0);
  FUZZ_CHECK(p2pc_node_link_new(s.n[1], false, NULL, NULL, now_of(&s, 1),
                                &s.l[1]) == 0);
  move_tcp(&s);

  size_t i = size > 2 ? 2 : size;
  while (i < size) {
    uint8_t op = data[i++];
    switch (op % 8) {
    case 0: /* time passes: timers run, both ways on TCP */
      s.now += (uint64_t)(op / 8 + 1) * 20 * MS;
      for (int k = 0; k < 2; k++)
        p2pc_node_on_deadline(s.n[k], now_of(&s, k));
      move_tcp(&s);
      collect(&s, 0);
      break;
    case 1: /* deliver the oldest datagram in flight */
    case 2:
      if (s.nair) {
        s.old = s.air[0];
        s.have_old = true;
        deliver(&s, s.air[0].to, &s.air[0].d);
        memmove(s.air, s.air + 1, (size_t)--s.nair * sizeof s.air[0]);
        collect(&s, 0);
      }
      break;
    case 3: /* drop it */
      if (s.nair)
        memmove(s.air, s.air + 1, (size_t)--s.nair * sizeof s.air[0]);
      break;
    case 4: /* corrupt one byte of it, then deliver */
      if (s.nair && i + 1 < size) {
        p2pc_datagram d = s.air[0].d;
        d.data[data[i] % d.len] ^= data[i + 1];
        i += 2;
        deliver(&s, s.air[0].to, &d);
        collect(&s, 0);
      }
      break;
    case 5: /* replay the last delivered one, possibly to the other node */
      if (s.have_old) {
        deliver(&s, (op / 8) & 1 ? 1 - s.old.to : s.old.to, &s.old.d);
        collect(&s, 0);
      }
      break;
    case 6: { /* a stranger sends input bytes */
      size_t len = i < size ? data[i++] : 0;
      if (len > size - i)
        len = size - i;
      p2pc_wire_addr from = {.family = 4, .addr = {127, 0, 0, 99}, .port = 123};
      int to = (op / 8) & 1;
      p2pc_node_time_input(s.n[to], &from, data + i, len,
                           now_of(&s, to).local_ns, false, now_of(&s, to));
      i += len;
      collect(&s, len);
      break;
    }
    case 7: /* a node's clock jumps (its network time with it: skip one
             * monotonicity check) */
      s.offset[(op / 8) & 1] += ((int64_t)(op / 16) - 8) * 1000000;
      s.synced[(op / 8) & 1] = false;
      break;
    }
    if (op % 8 != 7)
      check_clocks(&s);
  }
  for (int k = 0; k < 2; k++)
    p2pc_node_free(s.n[k]);
  return 0;
}
