/* SPDX-License-Identifier: MIT */
/*
 * The node's half of the lookup (dht.h): our own record, the table fed
 * with every record the node sees, the overlay's datagrams beside NTP's on
 * the time socket, the bootstrap (a lookup of our own key as soon as the
 * first neighbour is heard, and again a second later), the refreshes (a
 * random bucket's key every minute, jittered), and the lookups' results
 * handed to p2pc__node_resolved.
 */
#include "nodeint.h"

#include "dgram.h"

#define DHT_BOOT_DELAY_NS (1000 * MS) /* first self-lookup to the second */
/* A neighbour's record is refreshed from its announcements this often
 * (they come every heartbeat: learning each cost a bucket scan). */
#define DHT_NEIGHBOUR_NS (10000 * MS)
#define DHT_REFRESH_NS (60000 * MS) /* a random bucket's refresh, every */
#define DHT_REFRESH_JITTER_NS (15000 * MS)

int p2pc__node_dht_init(p2pc_node *n) {
  p2pc_wire_record self;
  memset(&self, 0, sizeof self);
  p2pc_str_cat(self.id, sizeof self.id, n->id);
  self.incarnation = n->cfg.incarnation;
  self.addr = n->cfg.listen;
  /* Reachable by datagram on the time socket (open with clock sync off
   * too: it carries the lookup), unless the node takes no connections. */
  self.time_port = !self.addr.family ? 0 : n->cfg.time.time_port;
  n->dht_refresh_ns = UINT64_MAX;
  return p2pc_dht_new(&n->dht, n->a, &self, n->cfg.seed ^ n->cfg.incarnation);
}

void p2pc__node_dht_free(p2pc_node *n) { p2pc_dht_free(n->dht); }

/* Hands out the lookups that ended. */
static void results(p2pc_node *n) {
  p2pc_dht_result r;
  while (p2pc_dht_pop_result(n->dht, &r))
    if (r.id[0])
      p2pc__node_resolved(n, r.id, r.found ? &r.rec : NULL);
}

/* The first neighbour heard: our own key's lookup goes at once. Each
 * node it asks learns our record from the request, and it ends at the
 * nodes closest to our key, where any lookup of us ends: we are findable
 * a few round trips after our first link. (It went a second later, so a
 * send to a node that had just joined was answered "not known", and the
 * answer cached for 10 s: 3 of 1,260 sends in the 100-node run, 452 of
 * 29,787 at 10,000 simulated nodes.) It goes again a second later, from
 * a fuller table (at a network's start, every table is near empty). */
static void heard(p2pc_node *n, const p2pc_wire_record *rec, bool direct) {
  p2pc_dht_learn(n->dht, rec, direct, n->now.mono_ns);
  if (direct && n->dht_refresh_ns == UINT64_MAX &&
      p2pc_dht_self(n->dht)->time_port && !n->stopping) {
    (void)p2pc_dht_lookup_key(n->dht, p2pc_dht_key(n->id), n->now.mono_ns);
    n->dht_refresh_ns = n->now.mono_ns + DHT_BOOT_DELAY_NS;
  }
}

void p2pc__node_dht_learn(p2pc_node *n, const p2pc_wire_record *rec) {
  heard(n, rec, false);
}

void p2pc__node_dht_neighbour(p2pc_node *n, peer *p, uint16_t time_port) {
  if (!p->addr_known || !p->inc_known || !time_port)
    return;
  /* Every announcement is a sign of life, but the table needs one now
   * and then: the record itself, or a new one, goes in at once. */
  uint64_t t = n->now.mono_ns;
  if (p->dht_port == time_port && p->dht_inc == p->inc && /* 0: never */
      t - p->dht_ns < DHT_NEIGHBOUR_NS)
    return;
  p->dht_ns = t;
  p->dht_port = time_port;
  p->dht_inc = p->inc;
  p2pc_wire_record r;
  memset(&r, 0, sizeof r);
  p2pc_str_cat(r.id, sizeof r.id, p->id);
  r.incarnation = p->inc;
  r.addr = p->addr;
  r.time_port = time_port;
  heard(n, &r, true);
}

int p2pc__node_dht_find(p2pc_node *n, const char *id) {
  int rv = p2pc_dht_find(n->dht, id, n->now.mono_ns);
  results(n); /* nothing to ask: it ended at once */
  return rv;
}

bool p2pc__node_dht_get(p2pc_node *n, const char *id, p2pc_wire_record *out) {
  return p2pc_dht_get(n->dht, id, out);
}

void p2pc__node_dht_input(p2pc_node *n, const p2pc_wire_addr *from,
                          const uint8_t *b, size_t len) {
  p2pc_dht_input(n->dht, from, b, len, n->now.mono_ns);
  results(n);
}

void p2pc__node_dht_deadline(p2pc_node *n) {
  uint64_t t = n->now.mono_ns;
  p2pc_dht_on_deadline(n->dht, t);
  if (t >= n->dht_refresh_ns && !n->stopping) {
    /* the first time our own key (Kademlia's bootstrap), then a random
     * bucket's; a full lookup table just skips this one */
    uint64_t key =
        n->dht_booted ? p2pc_dht_refresh_key(n->dht) : p2pc_dht_key(n->id);
    (void)p2pc_dht_lookup_key(n->dht, key, t);
    n->dht_booted = true;
    n->dht_refresh_ns = t + DHT_REFRESH_NS - DHT_REFRESH_JITTER_NS +
                        rng_below(n, 2 * DHT_REFRESH_JITTER_NS);
  }
  results(n);
}

uint64_t p2pc__node_dht_next_deadline(const p2pc_node *n) {
  uint64_t d = p2pc_dht_next_deadline(n->dht);
  return n->stopping || n->dht_refresh_ns > d ? d : n->dht_refresh_ns;
}

int p2pc_node_lookup(p2pc_node *n, const char *id, p2pc_now now) {
  n->now = now;
  return p2pc__node_dht_find(n, id);
}

const p2pc_dht *p2pc_node_dht(const p2pc_node *n) { return n->dht; }
