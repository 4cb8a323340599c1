/* SPDX-License-Identifier: MIT */
/*
 * Stateful fuzz target for clock synchronization: two real nodes, linked
 * in memory by the shared driver (src/sim/drive.h), exchange NTP datagrams
 * over a network that the input controls (the driver's datagram hook
 * holds each one in flight for the input to decide its fate). Each operation
 * byte picks what happens to the next datagram in flight (deliver, drop,
 * duplicate, corrupt one byte, replay an old one, deliver it to the other
 * node), injects a datagram of input bytes from a stranger, advances time, or
 * makes a node's clock jump. The input's second byte also picks secure
 * mode: every datagram sealed with a MAC (dgauth.c), a corrupted one and
 * the stranger's dropped.
 *
 * Invariants: nothing crashes or leaks (sanitizers); a node never answers
 * a datagram with more bytes than it received; every datagram a node emits
 * decodes as NTP (or as the lookup's, dgram.h); and once a node is synchronized
 * its network time never goes backwards, whatever arrives.
 */
#include "fuzz.h"

#include "dgram.h"
#include "drive.h"
#include "ntp.h"

#include <stdbool.h>
#include <string.h>

#define MS 1000000ull
#define FLIGHT 32

typedef struct sim {
  p2pc_drive_net w; /* the two nodes and their link (src/sim/drive.h) */
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
  size_t stranger_len; /* a reply to the stranger is at most this long */
} sim;

static p2pc_now now_of(const sim *s, uint32_t i) {
  p2pc_now t = {.mono_ns = s->now,
                .local_ns =
                    1700000000000000000 + (int64_t)s->now + s->offset[i]};
  return t;
}

/* The driver's hooks: the clocks, dials, and each datagram's fate. */
static p2pc_now hook_now(void *ud, uint32_t i) { return now_of(ud, i); }

static int64_t hook_local(void *ud, uint32_t i) {
  return now_of(ud, i).local_ns;
}

static void hook_dial(void *ud, uint32_t i, const p2pc_action *a) {
  (void)ud, (void)i, (void)a; /* dials go nowhere: the one link stays */
}

/* Transmit stamps alternate between the kernel's and user space's. */
static bool hook_kernel(void *ud, uint32_t i) {
  const sim *s = ud;
  (void)i;
  return (s->now / MS) % 2 == 0;
}

/* Secure mode (the input's second byte says): the datagrams carry a
 * 16-byte MAC (dgauth.c) within the same bounds. */
static bool secure;

static void check_out(const p2pc_datagram *d) {
  p2pc_ntp_header h;
  p2pc_ntp_ext e;
  bool has_ext;
  if (p2pc_dgram_is_overlay(d->data, d->len)) { /* the lookup's (dgram.h) */
    static p2pc_dgram g;
    size_t len = secure ? d->len - 16u : d->len;
    FUZZ_CHECK(d->len <= P2PC_DATAGRAM_MAX && (!secure || d->len >= 16));
    FUZZ_CHECK(p2pc_dgram_get(d->data, len,
                              secure ? P2PC_DGRAM_MAX_AUTH : P2PC_DATAGRAM_MAX,
                              &g) == (int)len);
    return;
  }
  FUZZ_CHECK(d->len >= P2PC_NTP_HEADER_LEN && d->len <= P2PC_NTP_PACKET_MAX);
  FUZZ_CHECK(p2pc_ntp_decode(d->data, d->len, &h, &e, &has_ext) == 0);
}

/* What the nodes send waits in flight for the input to decide its fate;
 * replies to the stranger are checked against the size of what the
 * stranger sent. */
static p2pc_drive_fate hook_datagram(void *ud, uint32_t from, int to,
                                     const p2pc_datagram *d) {
  sim *s = ud;
  (void)from, (void)to;
  check_out(d);
  if (d->to.addr[3] == 99) { /* the stranger */
    FUZZ_CHECK(d->len <= s->stranger_len);
    return P2PC_DRIVE_DROP;
  }
  if (s->nair == FLIGHT)
    return P2PC_DRIVE_DROP;
  s->air[s->nair].to = d->to.addr[3] == 1 ? 0 : 1;
  s->air[s->nair++].d = *d;
  return P2PC_DRIVE_HELD;
}

/* Collects what the nodes want to send. */
static void collect(sim *s, size_t stranger_len) {
  s->stranger_len = stranger_len;
  p2pc_drive_net_datagrams(&s->w);
}

static void move_tcp(sim *s) { (void)p2pc_drive_net_pump(&s->w, 4); }

static void deliver(sim *s, int to, const p2pc_datagram *d) {
  p2pc_drive_net_deliver(&s->w, (uint32_t)to, (uint32_t)(1 - to), d,
                         now_of(s, (uint32_t)to).local_ns);
}

static void check_clocks(sim *s) {
  for (uint32_t i = 0; i < 2; i++) {
    int64_t net = p2pc_node_network_time(s->w.node[i], now_of(s, i).local_ns);
    if (s->synced[i])
      FUZZ_CHECK(net >= s->last_net[i]);
    s->last_net[i] = net;
    p2pc_tracking t;
    p2pc_node_tracking(s->w.node[i], now_of(s, i), &t);
    s->synced[i] = t.synced;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sim s;
  memset(&s, 0, sizeof s);
  s.now = 1000 * MS;
  s.offset[1] = size ? (int64_t)data[0] * 3000000 - 384000000 : 0;
  p2pc_drive_net_ops ops = {.clock = {hook_now, hook_local, &s},
                            .dial = hook_dial,
                            .datagram = hook_datagram,
                            .kernel_tx = hook_kernel,
                            .ud = &s};
  p2pc_drive_net_init(&s.w, &ops);
  for (uint32_t i = 0; i < 2; i++) {
    char id[2] = {(char)('a' + i), '\0'};
    p2pc_node_config c;
    memset(&c, 0, sizeof c);
    c.id = id;
    c.incarnation = 1000 + (uint64_t)i;
    c.seed = 7;
    c.listen = p2pc_drive_addr(i);
    c.time.mode = size > 1 && (data[1] & 1) ? P2PC_CLOCK_COLLABORATIVE
                                            : P2PC_CLOCK_REFERENCE;
    c.time.priority = (uint8_t)(i * 100);
    secure = size > 1 && (data[1] & 2);
    if (secure) {
      c.secure.on = true;
      memset(c.secure.psk[0], 0x42, sizeof c.secure.psk[0]);
      c.secure.npsk = 1;
      for (int k = 0; k < 32; k++) {
        c.secure.static_sk[k] = (uint8_t)(i * 29 + (uint32_t)k);
        c.secure.entropy[k] = (uint8_t)(i * 7 + (uint32_t)k * 5);
      }
    }
    p2pc_node *n;
    FUZZ_CHECK(p2pc_node_new(&n, &c, NULL, now_of(&s, i)) == 0);
    p2pc_drive_net_add(&s.w, i, n);
  }
  p2pc_action dial = {.kind = P2PC_ACT_DIAL, .addr = p2pc_drive_addr(1)};
  strcpy(dial.peer, "b");
  FUZZ_CHECK(p2pc_drive_net_connect(&s.w, 0, &dial) == 0);
  move_tcp(&s);

  size_t i = size > 2 ? 2 : size;
  while (i < size) {
    uint8_t op = data[i++];
    switch (op % 8) {
    case 0: /* time passes: timers run, both ways on TCP */
      s.now += (uint64_t)(op / 8 + 1) * 20 * MS;
      p2pc_drive_net_deadlines(&s.w, true); /* due or not */
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
      uint32_t to = (op / 8) & 1;
      p2pc_node_time_input(s.w.node[to], &from, data + i, len,
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
    p2pc_node_free(s.w.node[k]);
  return 0;
}
