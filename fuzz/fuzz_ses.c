/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the Δ-SES message codec and for the causal core's input
 * path. The input is one encoded SES message (the part of a DATA frame after
 * the link sequence number).
 *
 * The codec is canonical: a message that decodes must encode again to the
 * very same bytes, and decoding those into a table that already holds other
 * names (so every id differs) must give the same message, compared by node
 * name. Whatever does not decode must leave the output untouched.
 *
 * The same bytes are then offered to fresh causal cores of node "B": one
 * without a network time, one with. Each must answer with a code causal.h
 * allows and do what Δ-SES says for a first message: refuse a stamp too
 * far ahead (REFUSE; above INT64_MAX even without a time), expire a
 * message older than Δ (EXPIRE) and report it written off, deliver one
 * whose every entry about B has expired, and buffer the others, waiting
 * for an unexpired entry's message and reporting how many there are. A
 * core that delivered it passes its other entries on in its next message,
 * each one hop further, but for those Δ old and those the message's own
 * LS values retire (stamped below their sender's LS); with them goes B's
 * own LS and, for each of their senders, the LS the message gave it.
 */
#include "fuzz.h"

#include "ses_check.h"

#include "buf.h"
#include "causal.h"
#include "idtab.h"
#include "sescodec.h"

#include <string.h>

#define IDTAB_LIMIT 32u
/* The network time of the second core: 2^40 ns (its low 16 bits are 0,
 * so it is its own HLC physical part), error bound 0. */
#define NET_NS ((int64_t)1 << 40)

typedef struct observed {
  const uint8_t *want_payload; /* what a DELIVER must hand over */
  size_t want_len;
  unsigned recv, buffer, deliver, expire, refuse, other;
  const char *waits_sender;
  uint64_t waits_n;
  uint32_t unmet;
  uint64_t n, stamp, bytes;
  char sender[P2PC_ID_MAX + 1];
} observed;

static void on_event(void *ud, const p2pc_causal_event *ev) {
  observed *o = ud;
  FUZZ_CHECK(ev->sender != NULL && ev->peer != NULL);
  if (ev->kind == P2PC_CEV_SEND) { /* check_passed_on's message */
    FUZZ_CHECK(strcmp(ev->sender, "B") == 0 && strcmp(ev->peer, "Z") == 0);
    return;
  }
  FUZZ_CHECK(strcmp(ev->sender, ev->peer) == 0);
  FUZZ_CHECK(!ev->at_sender);
  snprintf(o->sender, sizeof o->sender, "%s", ev->sender);
  o->n = ev->n;
  o->stamp = ev->stamp;
  o->bytes = ev->bytes;
  switch (ev->kind) {
  case P2PC_CEV_RECV:
    o->recv++;
    break;
  case P2PC_CEV_BUFFER:
    FUZZ_CHECK(ev->waits_sender != NULL);
    o->waits_sender = ev->waits_sender;
    o->waits_n = ev->waits_n;
    o->unmet = ev->deps;
    o->buffer++;
    break;
  case P2PC_CEV_DELIVER:
    FUZZ_CHECK(ev->bytes == 0 || ev->payload != NULL);
    /* The delivered payload is the message's, byte for byte (it is
     * borrowed for the call only). */
    FUZZ_CHECK(ev->bytes == o->want_len);
    FUZZ_CHECK(ev->bytes == 0 ||
               memcmp(ev->payload, o->want_payload, ev->bytes) == 0);
    o->deliver++;
    break;
  case P2PC_CEV_EXPIRE:
    o->expire++;
    break;
  case P2PC_CEV_REFUSE:
    o->refuse++;
    break;
  default:
    o->other++;
    break;
  }
}

static bool older_than(uint64_t stamp, uint64_t hlc, uint64_t life) {
  return hlc >= life && stamp <= hlc - life;
}

/* The LS value m carries for the node named `name` in t (0: none). */
static uint64_t ls_for(const p2pc_ses_msg *m, const p2pc_idtab *ids,
                       const p2pc_idtab *t, uint32_t name) {
  for (uint32_t i = 0; i < m->nls; i++)
    if (fuzz_same_name(ids, m->ls[i].id, t, name))
      return m->ls[i].ls;
  return 0;
}

/* Entry i is one B must meet: about B, or about "*" (every node), not of
 * B's own and not stamped before B's birth. */
static bool about_b(const p2pc_ses_dep *d, uint32_t i, const p2pc_idtab *ids,
                    uint64_t birth) {
  const char *dest = p2pc_idtab_name(ids, d[i].dest, NULL);
  if (strcmp(dest, "B") == 0)
    return true;
  return strcmp(dest, "*") == 0 &&
         strcmp(p2pc_idtab_name(ids, d[i].sender, NULL), "B") != 0 &&
         d[i].stamp >= birth;
}

/* c delivered m: its next message (to "Z") carries m's entries that are
 * not about B, not Δ old and not below their sender's LS in m, each with
 * one hop more (at most 255), and nothing else; and as LS values, B's own
 * (its HLC: it has nothing pending) and the one m gave for each sender of
 * those entries, and nothing else. */
static void check_passed_on(p2pc_causal *c, const p2pc_ses_msg *m,
                            const p2pc_idtab *ids, uint64_t hlc,
                            uint64_t life) {
  const p2pc_allocator *a = p2pc_allocator_default();
  /* Broadcasts (destination "*") pass on one entry more and keep "*"
   * entries below LS: test_causal_bcast and prop_causal_bcast hold those
   * rules; this oracle covers messages without "*". */
  if (strcmp(p2pc_idtab_name(ids, m->dest, NULL), "*") == 0)
    return;
  for (uint32_t i = 0; i < m->ndeps; i++)
    if (strcmp(p2pc_idtab_name(ids, m->deps[i].dest, NULL), "*") == 0)
      return;
  p2pc_buf out;
  p2pc_buf_init(&out, a, 1u << 24);
  int rv = p2pc_causal_send(c, "Z", (const uint8_t *)"z", 1, 2, &out);
  /* A full table of node IDs, or more entries than one message takes. */
  FUZZ_CHECK(rv == 0 || rv == P2PC_ERR_FULL || rv == P2PC_ERR_NOMEM);
  if (rv != 0) {
    p2pc_buf_fini(&out);
    return;
  }
  p2pc_idtab t;
  p2pc_ses_msg f;
  p2pc_idtab_init(&t, a, 64);
  p2pc_ses_msg_init(&f);
  FUZZ_CHECK(p2pc_wire_ses_get(out.data, out.len, &t, a, &f) == (int)out.len);
  FUZZ_CHECK(p2pc_wire_ses_commit(&t, &f) == 0);
  uint32_t kept = 0;
  for (uint32_t i = 0; i < m->ndeps; i++) {
    const p2pc_ses_dep *e = &m->deps[i];
    if (strcmp(p2pc_idtab_name(ids, e->dest, NULL), "B") == 0 ||
        older_than(e->stamp, hlc, life) ||
        e->stamp < ls_for(m, ids, ids, e->sender))
      continue;
    kept++;
    const p2pc_ses_dep *g = NULL;
    for (uint32_t j = 0; j < f.ndeps && !g; j++)
      if (fuzz_same_name(ids, e->dest, &t, f.deps[j].dest) &&
          fuzz_same_name(ids, e->sender, &t, f.deps[j].sender))
        g = &f.deps[j];
    FUZZ_CHECK(g != NULL);
    FUZZ_CHECK(g->n == e->n && g->stamp == e->stamp);
    FUZZ_CHECK(g->hops ==
               (e->hops < P2PC_SES_MAX_HOPS ? e->hops + 1 : P2PC_SES_MAX_HOPS));
  }
  FUZZ_CHECK(f.ndeps == kept);
  uint32_t nls = 0;
  for (uint32_t i = 0; i < f.nls; i++) {
    const char *who = p2pc_idtab_name(&t, f.ls[i].id, NULL);
    if (strcmp(who, "B") == 0) {
      FUZZ_CHECK(f.ls[i].ls == f.stamp - 1);
      nls++;
      continue;
    }
    /* Every other value is one m gave for a sender of an entry passed on. */
    FUZZ_CHECK(f.ls[i].ls == ls_for(m, ids, &t, f.ls[i].id));
  }
  for (uint32_t j = 0; j < f.ndeps; j++) {
    bool first = true; /* count each sender once */
    for (uint32_t k = 0; k < j; k++)
      first &= f.deps[k].sender != f.deps[j].sender;
    if (first && strcmp(p2pc_idtab_name(&t, f.deps[j].sender, NULL), "B") &&
        ls_for(m, ids, &t, f.deps[j].sender))
      nls++;
  }
  FUZZ_CHECK(f.nls == nls);
  p2pc_ses_msg_fini(&f, a);
  p2pc_idtab_fini(&t);
  p2pc_buf_fini(&out);
}

/* Offers the input to a fresh core "B" (with a network time if timed).
 * m/ids: the input decoded on its own (NULL if it did not decode). */
static void offer_to_core(const uint8_t *data, size_t size,
                          const p2pc_ses_msg *m, const p2pc_idtab *ids,
                          bool with_sender, bool timed) {
  const p2pc_allocator *a = p2pc_allocator_default();
  p2pc_causal_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.max_nodes = IDTAB_LIMIT;
  cfg.max_buffered = 4;
  observed o;
  memset(&o, 0, sizeof o);
  if (m) {
    o.want_payload = m->payload;
    o.want_len = m->payload_len;
  }
  p2pc_causal *c = NULL;
  FUZZ_CHECK(p2pc_causal_new(&c, "B", &cfg, a, on_event, &o) == 0);
  if (timed)
    p2pc_causal_set_time(c, NET_NS, 0, 0);
  uint64_t life = p2pc_causal_lifetime(c);
  uint64_t hlc0 = p2pc_causal_hlc(c);

  int rv = p2pc_causal_receive(c, with_sender ? "A" : NULL, data, size, 1);
  FUZZ_CHECK(rv == 0 || rv == P2PC_ERR_PROTO || rv == P2PC_ERR_TOOBIG ||
             rv == P2PC_ERR_AHEAD || rv == P2PC_ERR_NOMEM);
  /* A broadcast (to "*") is for B too. */
  bool bc = m && strcmp(p2pc_idtab_name(ids, m->dest, NULL), "*") == 0;
  bool for_b =
      m && (bc || strcmp(p2pc_idtab_name(ids, m->dest, NULL), "B") == 0);
  /* B's birth: its first known time (timed), else its first input (HLC
   * 0): a broadcast stamped before it is dropped, and "*" entries stamped
   * before it are met. */
  uint64_t birth = timed ? P2PC_HLC_PHYS(NET_NS) : 0;
  FUZZ_CHECK(o.other == (bc && rv == 0 && m->stamp < birth ? 1u : 0u));
  bool from_a = m && strcmp(p2pc_idtab_name(ids, m->sender, NULL), "A") == 0;
  if (!m || !for_b || (with_sender && !from_a)) {
    /* Malformed on its own is malformed for the core too, and so is a
     * message for someone else or from someone else. The core's table
     * also holds "B", so a message naming IDTAB_LIMIT others overflows
     * it first. Nothing is reported, nothing kept. */
    FUZZ_CHECK(rv == P2PC_ERR_PROTO || rv == P2PC_ERR_TOOBIG);
    FUZZ_CHECK(o.recv + o.buffer + o.deliver + o.expire + o.refuse == 0);
    FUZZ_CHECK(p2pc_causal_id_name(c, 1) == NULL);
    FUZZ_CHECK(p2pc_causal_hlc(c) == hlc0);
    p2pc_causal_free(c);
    return;
  }
  FUZZ_CHECK(strcmp(o.sender, p2pc_idtab_name(ids, m->sender, NULL)) == 0 ||
             o.recv + o.buffer + o.deliver + o.expire + o.refuse == 0);
  /* Too far ahead of the network time, or of any there can be: refused,
   * nothing kept. */
  if ((timed &&
       m->stamp > (uint64_t)NET_NS + P2PC_CAUSAL_AHEAD_MARGIN_DEFAULT_NS) ||
      m->stamp > (uint64_t)INT64_MAX) {
    FUZZ_CHECK(rv == P2PC_ERR_AHEAD);
    FUZZ_CHECK(o.refuse == 1 && o.recv + o.deliver + o.buffer == 0);
    FUZZ_CHECK(o.stamp == m->stamp && o.n == m->n);
    FUZZ_CHECK(p2pc_causal_hlc(c) == hlc0);
    FUZZ_CHECK(p2pc_causal_id_name(c, 1) == NULL);
    p2pc_causal_free(c);
    return;
  }
  /* A broadcast in B's own name: a copy of one B sent (a relay's echo) or
   * junk. This fresh core sent nothing, so it is junk: refused, nothing
   * delivered or kept (found by fuzzing: a "*" message from "B"). */
  if (bc && strcmp(p2pc_idtab_name(ids, m->sender, NULL), "B") == 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(o.recv + o.deliver + o.buffer + o.expire == 0);
    FUZZ_CHECK(p2pc_causal_buffered(c) == 0);
    p2pc_causal_free(c);
    return;
  }
  if (bc && m->stamp < birth) { /* not addressed to B: dropped */
    FUZZ_CHECK(rv == 0 && o.recv + o.deliver + o.buffer + o.expire == 0);
    FUZZ_CHECK(p2pc_causal_buffered(c) == 0);
    p2pc_causal_free(c);
    return;
  }
  /* Well-formed, for B, from the expected sender, in time: a fresh core
   * takes it, and its HLC passes the stamp (the receive rule). */
  FUZZ_CHECK(rv == 0);
  FUZZ_CHECK(o.refuse == 0);
  uint64_t hlc = (hlc0 > m->stamp ? hlc0 : m->stamp) + 1;
  FUZZ_CHECK(p2pc_causal_hlc(c) == hlc);
  if (older_than(m->stamp, hlc, life)) {
    FUZZ_CHECK(o.expire == 1 && o.recv + o.deliver + o.buffer == 0);
    FUZZ_CHECK(p2pc_causal_buffered(c) == 0);
    uint64_t d, wo[2 * P2PC_CAUSAL_MAX_WRITTEN_OFF];
    uint32_t nwo;
    p2pc_causal_report_for(c, o.sender, &d, wo, &nwo);
    if (bc) /* broadcasts are written off in a list never reported */
      FUZZ_CHECK(d == 0 && nwo == 0);
    else
      FUZZ_CHECK(d == 0 && nwo == 1 && wo[0] == m->n && wo[1] == m->n);
    p2pc_causal_free(c);
    return;
  }
  /* Its entries about B that are not Δ old: B has delivered nothing, so
   * each is unmet. */
  uint32_t unmet = 0;
  const p2pc_ses_dep *first = NULL;
  for (uint32_t i = 0; i < m->ndeps; i++)
    if (about_b(m->deps, i, ids, birth) &&
        !older_than(m->deps[i].stamp, hlc, life)) {
      unmet++;
      if (!first)
        first = &m->deps[i];
    }
  FUZZ_CHECK(o.recv == 1 && o.expire == 0);
  FUZZ_CHECK(o.deliver == (unmet ? 0u : 1u));
  FUZZ_CHECK(o.buffer == (unmet ? 1u : 0u));
  FUZZ_CHECK(p2pc_causal_buffered(c) == (unmet ? 1u : 0u));
  FUZZ_CHECK(o.n == m->n && o.stamp == m->stamp && o.bytes == m->payload_len);
  if (unmet) {
    /* It waits for one of them (the first in B's order, which need not be
     * the decoder's), and says how many. */
    FUZZ_CHECK(o.unmet == unmet);
    bool found = false;
    for (uint32_t i = 0; i < m->ndeps && !found; i++)
      found = about_b(m->deps, i, ids, birth) &&
              !older_than(m->deps[i].stamp, hlc, life) &&
              m->deps[i].n == o.waits_n &&
              strcmp(p2pc_idtab_name(ids, m->deps[i].sender, NULL),
                     o.waits_sender) == 0;
    FUZZ_CHECK(found);
  } else {
    FUZZ_CHECK(p2pc_causal_pairs(c) <= m->ndeps + bc);
    check_passed_on(c, m, ids, hlc, life);
  }
  p2pc_causal_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const p2pc_allocator *a = p2pc_allocator_default();
  p2pc_idtab ids1, ids2;
  p2pc_ses_msg m1, m2;
  p2pc_buf out1, out2;
  p2pc_wire_scratch scratch;
  size_t meta1 = 0, meta2 = 0;

  p2pc_idtab_init(&ids1, a, IDTAB_LIMIT);
  p2pc_idtab_init(&ids2, a, IDTAB_LIMIT);
  p2pc_ses_msg_init(&m1);
  p2pc_ses_msg_init(&m2);
  p2pc_buf_init(&out1, a, 2 * size + 1024);
  p2pc_buf_init(&out2, a, 2 * size + 1024);
  memset(&scratch, 0, sizeof scratch);

  int rv = p2pc_wire_ses_get(data, size, &ids1, a, &m1);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO || rv == P2PC_ERR_FULL ||
               rv == P2PC_ERR_NOMEM);
    /* Outputs are written only on success. */
    FUZZ_CHECK(m1.ndeps == 0 && m1.deps == NULL && m1.payload == NULL &&
               m1.n == 0 && m1.new_names == NULL && m1.sender_name == NULL);
    FUZZ_CHECK(ids1.n == 0);
    offer_to_core(data, size, NULL, NULL, false, false);
    goto done;
  }
  FUZZ_CHECK((size_t)rv == size);
  /* Decoding adds nothing to the table until the commit; every name is
   * new to an empty table. */
  FUZZ_CHECK(ids1.n == 0 && m1.nnew >= 2);
  FUZZ_CHECK(m1.sender == 0 && m1.dest == 1);
  FUZZ_CHECK(p2pc_wire_ses_commit(&ids1, &m1) == 0);
  FUZZ_CHECK(ids1.n == m1.nnew);
  fuzz_check_ses_msg(&m1, &ids1, data, size);

  /* encode(decode(x)) == x: the encoding is canonical. */
  FUZZ_CHECK(p2pc_wire_ses_put(&out1, &m1, &ids1, &scratch, a, &meta1) == 0);
  FUZZ_CHECK(out1.len == size && memcmp(out1.data, data, size) == 0);
  FUZZ_CHECK(meta1 + m1.payload_len < out1.len);

  /* Into a table that knows other names first (and some of the message's,
   * in another order): every id differs, nothing else does. */
  uint32_t id;
  FUZZ_CHECK(p2pc_idtab_intern(&ids2, "zz-other", 8, &id) == 0);
  for (uint32_t i = ids1.n; i-- > 0;)
    if (i % 2 == 0) {
      size_t len;
      const char *nm = p2pc_idtab_name(&ids1, i, &len);
      FUZZ_CHECK(p2pc_idtab_intern(&ids2, nm, len, &id) == 0);
    }
  uint32_t known = ids2.n, fresh = 0;
  for (uint32_t i = 0; i < ids1.n; i++) {
    size_t len;
    const char *nm = p2pc_idtab_name(&ids1, i, &len);
    fresh += p2pc_idtab_find(&ids2, nm, len, &id) != 0;
  }
  rv = p2pc_wire_ses_get(out1.data, out1.len, &ids2, a, &m2);
  if (known + fresh > IDTAB_LIMIT) {
    /* "zz-other" took the slot the last new name needed. */
    FUZZ_CHECK(rv == P2PC_ERR_FULL);
    FUZZ_CHECK(ids2.n == known && m2.deps == NULL && m2.n == 0);
  } else {
    FUZZ_CHECK(rv >= 0 && (size_t)rv == out1.len);
    FUZZ_CHECK(m2.nnew == fresh);
    FUZZ_CHECK(p2pc_wire_ses_commit(&ids2, &m2) == 0);
    FUZZ_CHECK(ids2.n == known + fresh);
    fuzz_check_ses_msg(&m2, &ids2, out1.data, out1.len);
    FUZZ_CHECK(fuzz_ses_msg_equal(&m1, &ids1, &m2, &ids2));
    FUZZ_CHECK(fuzz_ses_msg_equal(&m2, &ids2, &m1, &ids1));
    FUZZ_CHECK(p2pc_wire_ses_put(&out2, &m2, &ids2, &scratch, a, &meta2) == 0);
    FUZZ_CHECK(out2.len == out1.len && meta2 == meta1);
    FUZZ_CHECK(memcmp(out2.data, out1.data, out1.len) == 0);
  }

  offer_to_core(data, size, &m1, &ids1, false, false);
  offer_to_core(data, size, &m1, &ids1, true, false);
  offer_to_core(data, size, &m1, &ids1, false, true);

done:
  p2pc_wire_scratch_fini(&scratch, a);
  p2pc_buf_fini(&out1);
  p2pc_buf_fini(&out2);
  p2pc_ses_msg_fini(&m1, a);
  p2pc_ses_msg_fini(&m2, a);
  p2pc_idtab_fini(&ids1);
  p2pc_idtab_fini(&ids2);
  return 0;
}
