/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the SES message codec and for the causal core's input
 * path. The input is one encoded SES message (the part of a DATA frame after
 * the link sequence number). A message that decodes must encode again, and
 * decoding that encoding (into a different id table) must give the same
 * message, compared by node name; a second encode/decode round must then be
 * byte-identical (the encoder's choices depend only on the message). The
 * same bytes are then offered to a fresh causal core of node "B", which may
 * accept, buffer or refuse them but must answer with one of the codes
 * causal.h allows (0, FULL, PROTO, TOOBIG, NOMEM) and must report a
 * delivery exactly when SES allows one.
 */
#include "fuzz.h"

#include "ses_check.h"

#include "buf.h"
#include "causal.h"
#include "idtab.h"
#include "wire.h"

#include <string.h>

#define IDTAB_LIMIT 32u

typedef struct observed {
  const p2pc_ses_msg *m; /* the decoded message, or NULL */
  const p2pc_idtab *ids;
  unsigned recv, buffer, deliver, dup, other;
} observed;

static void on_event(void *ud, const p2pc_causal_event *ev) {
  observed *o = ud;
  FUZZ_CHECK(ev->sender != NULL && ev->peer != NULL);
  switch (ev->kind) {
  case P2PC_CEV_RECV:
    o->recv++;
    break;
  case P2PC_CEV_BUFFER:
    FUZZ_CHECK(ev->waits_node != NULL && ev->waits_vc != NULL);
    FUZZ_CHECK(strcmp(ev->waits_node, "B") == 0);
    o->buffer++;
    break;
  case P2PC_CEV_DELIVER:
    FUZZ_CHECK(ev->vc != NULL);
    FUZZ_CHECK(ev->bytes == 0 || ev->payload != NULL);
    if (o->m) {
      /* The delivered payload is the message's, byte for byte. */
      FUZZ_CHECK(ev->n == o->m->n);
      FUZZ_CHECK(ev->bytes == o->m->payload_len);
      FUZZ_CHECK(ev->bytes == 0 ||
                 memcmp(ev->payload, o->m->payload, ev->bytes) == 0);
      FUZZ_CHECK(
          strcmp(ev->sender, p2pc_idtab_name(o->ids, o->m->sender, NULL)) == 0);
    }
    o->deliver++;
    break;
  case P2PC_CEV_DUP:
    o->dup++;
    break;
  default:
    o->other++;
    break;
  }
}

/* Offers the input to a fresh core "B". m/ids: the input decoded on its
 * own (NULL if it did not decode). */
static void offer_to_core(const uint8_t *data, size_t size,
                          const p2pc_ses_msg *m, const p2pc_idtab *ids,
                          bool with_sender) {
  const p2pc_allocator *a = p2pc_allocator_default();
  p2pc_causal_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.max_nodes = IDTAB_LIMIT;
  cfg.max_buffered = 4;
  observed o;
  memset(&o, 0, sizeof o);
  o.m = m;
  o.ids = ids;
  p2pc_causal *c = NULL;
  FUZZ_CHECK(p2pc_causal_new(&c, "B", &cfg, a, on_event, &o) == 0);

  int rv = p2pc_causal_receive(c, with_sender ? "A" : NULL, data, size, 1);
  FUZZ_CHECK(rv == 0 || rv == P2PC_ERR_FULL || rv == P2PC_ERR_PROTO ||
             rv == P2PC_ERR_TOOBIG || rv == P2PC_ERR_NOMEM);
  FUZZ_CHECK(o.other == 0 && o.dup == 0);
  if (rv != 0)
    FUZZ_CHECK(o.recv == 0 && o.buffer == 0 && o.deliver == 0);
  bool for_b = m && strcmp(p2pc_idtab_name(ids, m->dest, NULL), "B") == 0;
  bool from_a = m && strcmp(p2pc_idtab_name(ids, m->sender, NULL), "A") == 0;
  if (!m || !for_b || (with_sender && !from_a)) {
    /* Malformed on its own is malformed for the core too, and so is a
     * message for someone else or from someone else. The core's table
     * also holds "B", so a message naming IDTAB_LIMIT others overflows
     * it first. */
    FUZZ_CHECK(rv == P2PC_ERR_PROTO || rv == P2PC_ERR_TOOBIG);
  } else {
    /* Well-formed, for B (so it fits the table), from the expected sender:
     * a fresh core with an empty buffer takes it. */
    FUZZ_CHECK(rv == 0);
    /* B's clock is empty: only a message with no pair about B, or one
     * whose pair is the empty vector, can be delivered at once. */
    const p2pc_ses_pair *pb = NULL;
    for (uint32_t i = 0; i < m->ndeps; i++)
      if (strcmp(p2pc_idtab_name(ids, m->deps[i].dest, NULL), "B") == 0)
        pb = &m->deps[i];
    bool now = !pb || pb->t.n == 0;
    FUZZ_CHECK(o.recv == 1);
    FUZZ_CHECK(o.deliver == (now ? 1u : 0u));
    FUZZ_CHECK(o.buffer == (now ? 0u : 1u));
    FUZZ_CHECK(p2pc_causal_buffered(c) == (now ? 0u : 1u));
  }
  p2pc_causal_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const p2pc_allocator *a = p2pc_allocator_default();
  p2pc_idtab ids1, ids2, ids3;
  p2pc_ses_msg m1, m2, m3;
  p2pc_buf out1, out2;
  p2pc_wire_scratch scratch;
  size_t meta1 = 0, meta2 = 0;

  p2pc_idtab_init(&ids1, a, IDTAB_LIMIT);
  p2pc_idtab_init(&ids2, a, IDTAB_LIMIT);
  p2pc_idtab_init(&ids3, a, IDTAB_LIMIT);
  p2pc_ses_msg_init(&m1);
  p2pc_ses_msg_init(&m2);
  p2pc_ses_msg_init(&m3);
  p2pc_buf_init(&out1, a, 2 * size + 1024);
  p2pc_buf_init(&out2, a, 2 * size + 1024);
  memset(&scratch, 0, sizeof scratch);

  int rv = p2pc_wire_ses_get(data, size, &ids1, a, &m1);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO || rv == P2PC_ERR_FULL ||
               rv == P2PC_ERR_NOMEM);
    /* Outputs are written only on success. */
    FUZZ_CHECK(m1.ndeps == 0 && m1.deps == NULL && m1.ts.e == NULL &&
               m1.payload == NULL && m1.n == 0);
    offer_to_core(data, size, NULL, NULL, false);
    goto done;
  }
  FUZZ_CHECK((size_t)rv == size);
  /* Decoding adds nothing to the table until the commit. */
  FUZZ_CHECK(ids1.n == 0);
  FUZZ_CHECK(p2pc_wire_ses_commit(&ids1, &m1) == 0);
  FUZZ_CHECK(ids1.n >= 2);
  fuzz_check_ses_msg(&m1, &ids1, data, size);
  /* encode(decode(x)) decodes to the same message ... */
  FUZZ_CHECK(p2pc_wire_ses_put(&out1, &m1, &ids1, &scratch, a, &meta1) == 0);
  FUZZ_CHECK(meta1 + m1.payload_len <= out1.len);
  rv = p2pc_wire_ses_get(out1.data, out1.len, &ids2, a, &m2);
  FUZZ_CHECK(rv >= 0 && (size_t)rv == out1.len);
  FUZZ_CHECK(p2pc_wire_ses_commit(&ids2, &m2) == 0);
  fuzz_check_ses_msg(&m2, &ids2, out1.data, out1.len);
  FUZZ_CHECK(fuzz_ses_msg_equal(&m1, &ids1, &m2, &ids2));
  FUZZ_CHECK(fuzz_ses_msg_equal(&m2, &ids2, &m1, &ids1));

  /* ... and from then on the encoding is a fixed point. */
  FUZZ_CHECK(p2pc_wire_ses_put(&out2, &m2, &ids2, &scratch, a, &meta2) == 0);
  FUZZ_CHECK(out2.len == out1.len && meta2 == meta1);
  FUZZ_CHECK(memcmp(out2.data, out1.data, out1.len) == 0);
  rv = p2pc_wire_ses_get(out2.data, out2.len, &ids3, a, &m3);
  FUZZ_CHECK(rv >= 0 && (size_t)rv == out2.len);
  FUZZ_CHECK(p2pc_wire_ses_commit(&ids3, &m3) == 0);
  FUZZ_CHECK(fuzz_ses_msg_equal(&m1, &ids1, &m3, &ids3));

  offer_to_core(data, size, &m1, &ids1, false);
  offer_to_core(data, size, &m1, &ids1, true);

done:
  p2pc_wire_scratch_fini(&scratch, a);
  p2pc_buf_fini(&out1);
  p2pc_buf_fini(&out2);
  p2pc_ses_msg_fini(&m1, a);
  p2pc_ses_msg_fini(&m2, a);
  p2pc_ses_msg_fini(&m3, a);
  p2pc_idtab_fini(&ids1);
  p2pc_idtab_fini(&ids2);
  p2pc_idtab_fini(&ids3);
  return 0;
}
