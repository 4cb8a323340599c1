/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the frame layer: the input is a byte stream as it would
 * arrive on a link. It is split into frames with p2pc_wire_frame_split (a
 * small max_frame, so TOOBIG is reachable), each split is checked against an
 * independent model of the length prefix, and each frame's body goes to the
 * decoder of its type. Every body encoding is canonical, so a body that
 * decodes must re-encode with the matching _put to exactly the same bytes;
 * every decoder must leave its outputs untouched when it fails.
 */
#include "fuzz.h"

#include "ses_check.h"

#include "buf.h"
#include "idtab.h"
#include "swimwire.h"
#include "wire.h"

#include <string.h>

#define MAX_FRAME 4096u
#define IDTAB_LIMIT 64u

/* Large tables live outside the stack frame; the target is single-threaded. */
static p2pc_wire_peer peers_out[P2PC_WIRE_MAX_PEERS];
static p2pc_wire_peer peers_before[P2PC_WIRE_MAX_PEERS];

/* What frame_split must return for p[0..len), per wire.h. */
static long expected_split(const uint8_t *p, size_t len) {
  if (len < 4)
    return 0;
  uint32_t flen = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
                  ((uint32_t)p[2] << 8) | p[3];
  if (flen == 0)
    return P2PC_ERR_PROTO;
  if (flen > MAX_FRAME)
    return P2PC_ERR_TOOBIG;
  if (len - 4 < flen)
    return 0;
  return (long)flen + 4;
}

/* out must hold exactly body[0..len). */
static void check_reencoding(const p2pc_buf *out, const uint8_t *body,
                             size_t len) {
  FUZZ_CHECK(out->len == len);
  FUZZ_CHECK(len == 0 || memcmp(out->data, body, len) == 0);
}

static void check_addr(const p2pc_wire_addr *a) {
  FUZZ_CHECK(a->family == 0 || a->family == 4 || a->family == 6);
}

static void check_id(const char *id) {
  size_t n = strnlen(id, P2PC_ID_MAX + 1);
  FUZZ_CHECK(n <= P2PC_ID_MAX);
  FUZZ_CHECK(p2pc_id_valid(id, n));
}

static void do_hello(const uint8_t *b, size_t len, p2pc_buf *out) {
  p2pc_wire_hello h, before;
  memset(&h, 0xa5, sizeof h);
  before = h;
  int rv = p2pc_wire_hello_get(b, len, &h);
  if (rv == P2PC_ERR_VERSION) {
    /* The implementation rejects a foreign version but reports it (wire.h
     * says the version is returned and is not an error: see the report).
     * Only the version may have been written, and it must be foreign. */
    FUZZ_CHECK(len >= 6);
    FUZZ_CHECK(h.version == ((uint16_t)(b[4] << 8) | b[5]));
    FUZZ_CHECK(h.version != P2PC_WIRE_VERSION);
    h.version = before.version;
    FUZZ_CHECK(memcmp(&h, &before, sizeof h) == 0);
    return;
  }
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(memcmp(&h, &before, sizeof h) == 0);
    return;
  }
  FUZZ_CHECK((size_t)rv == len);
  check_id(h.id);
  check_addr(&h.listen);
  p2pc_buf_reset(out);
  FUZZ_CHECK(p2pc_wire_hello_put(out, &h) == 0);
  check_reencoding(out, b, len);
}

static void do_error(const uint8_t *b, size_t len, p2pc_buf *out) {
  p2pc_wire_error e, before;
  memset(&e, 0xa5, sizeof e);
  before = e;
  int rv = p2pc_wire_error_get(b, len, &e);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(memcmp(&e, &before, sizeof e) == 0);
    return;
  }
  FUZZ_CHECK((size_t)rv == len);
  FUZZ_CHECK(strnlen(e.reason, sizeof e.reason) <= P2PC_WIRE_MAX_REASON);
  p2pc_buf_reset(out);
  FUZZ_CHECK(p2pc_wire_error_put(out, e.code, e.reason) == 0);
  check_reencoding(out, b, len);
}

static void do_ack(const uint8_t *b, size_t len, p2pc_buf *out) {
  uint64_t cum = 0x5a5a5a5a5a5a5a5aull;
  uint64_t beyond = 0;
  int rv = p2pc_wire_ack_get(b, len, &cum, &beyond);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(cum == 0x5a5a5a5a5a5a5a5aull);
    return;
  }
  FUZZ_CHECK((size_t)rv == len);
  p2pc_buf_reset(out);
  FUZZ_CHECK(p2pc_wire_ack_put(out, cum, beyond) == 0);
  check_reencoding(out, b, len);
}

static void do_ping(uint8_t type, const uint8_t *b, size_t len, p2pc_buf *out) {
  uint64_t token = 0x5a5a5a5a5a5a5a5aull;
  int rv = p2pc_wire_ping_get(b, len, &token);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(token == 0x5a5a5a5a5a5a5a5aull);
    return;
  }
  FUZZ_CHECK((size_t)rv == len);
  p2pc_buf_reset(out);
  FUZZ_CHECK(p2pc_wire_ping_put(out, (p2pc_frame_type)type, token) == 0);
  check_reencoding(out, b, len);
}

static void do_pingreq(const uint8_t *b, size_t len, p2pc_buf *out) {
  char id[P2PC_NODE_ID_MAX + 1] = "untouched";
  uint64_t token = 0x5a5a5a5a5a5a5a5aull;
  int rv = p2pc_wire_pingreq_get(b, len, id, &token);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(token == 0x5a5a5a5a5a5a5a5aull);
    FUZZ_CHECK(strcmp(id, "untouched") == 0);
    return;
  }
  FUZZ_CHECK((size_t)rv == len);
  p2pc_buf_reset(out);
  FUZZ_CHECK(p2pc_wire_pingreq_put(out, id, token) == 0);
  check_reencoding(out, b, len);
}

static p2pc_wire_member members_out[P2PC_WIRE_MEMBER_MAX];

static void do_member(const uint8_t *b, size_t len, p2pc_buf *out) {
  size_t n = 12345;
  memset(members_out, 0xa5, sizeof members_out);
  int rv = p2pc_wire_member_get(b, len, members_out, P2PC_WIRE_MEMBER_MAX, &n);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(n == 12345);
    return;
  }
  FUZZ_CHECK((size_t)rv == len);
  FUZZ_CHECK(n >= 1 && n <= P2PC_WIRE_MEMBER_MAX);
  for (size_t i = 0; i < n; i++)
    FUZZ_CHECK(members_out[i].state >= 1 && members_out[i].state <= 3);
  p2pc_buf_reset(out);
  FUZZ_CHECK(p2pc_wire_member_put(out, members_out, n) == 0);
  check_reencoding(out, b, len);
}

static void do_announce(const uint8_t *b, size_t len, p2pc_buf *out) {
  p2pc_wire_announce an, before;
  memset(&an, 0x5a, sizeof an);
  before = an;
  int rv = p2pc_wire_announce_get(b, len, &an);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(memcmp(&an, &before, sizeof an) == 0);
    return;
  }
  FUZZ_CHECK((size_t)rv == len);
  FUZZ_CHECK(an.ref[0] == '\0' || p2pc_node_id_valid(an.ref, strlen(an.ref)));
  FUZZ_CHECK(an.nhints <= P2PC_ANNOUNCE_HINTS);
  for (uint8_t i = 0; i < an.nhints; i++)
    FUZZ_CHECK(
        p2pc_node_id_valid(an.hints[i].rec.id, strlen(an.hints[i].rec.id)) &&
        an.hints[i].rec.sig_len == 0 && !(an.hints[i].flags & ~P2PC_HINT_FULL));
  p2pc_buf_reset(out);
  FUZZ_CHECK(p2pc_wire_announce_put(out, &an) == 0);
  check_reencoding(out, b, len);
}

static void do_leave(const uint8_t *b, size_t len, p2pc_buf *out) {
  uint64_t last = 0x5a5a;
  p2pc_wire_peer next, before;
  memset(&next, 0xa5, sizeof next);
  before = next;
  int rv = p2pc_wire_leave_get(b, len, &last, &next);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(last == 0x5a5a);
    FUZZ_CHECK(memcmp(&next, &before, sizeof next) == 0);
    return;
  }
  FUZZ_CHECK((size_t)rv == len);
  FUZZ_CHECK(next.id[0] == '\0' ||
             p2pc_node_id_valid(next.id, strlen(next.id)));
  p2pc_buf_reset(out);
  FUZZ_CHECK(p2pc_wire_leave_put(out, last, &next) == 0);
  check_reencoding(out, b, len);
}

static void do_stable(const uint8_t *b, size_t len, p2pc_buf *out) {
  p2pc_wire_stable st, before;
  memset(&st, 0xa5, sizeof st);
  before = st;
  int rv = p2pc_wire_stable_get(b, len, &st);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(memcmp(&st, &before, sizeof st) == 0);
    return;
  }
  FUZZ_CHECK((size_t)rv == len);
  /* What stable.h's report_in and the event log may rely on. */
  for (int d = 1; d < P2PC_STABLE_DEPTH; d++)
    FUZZ_CHECK(st.rep.v[d] <= st.rep.v[d - 1]);
  /* Written-off ranges: (first, last) pairs, 1 <= first <= last < the
   * next pair's first (what p2pc_causal_peer_report takes). */
  FUZZ_CHECK(st.nexpired <= P2PC_WIRE_MAX_EXPIRED && st.nexpired % 2 == 0);
  for (uint32_t i = 0; i < P2PC_WIRE_MAX_EXPIRED; i++) {
    if (i >= st.nexpired)
      FUZZ_CHECK(st.expired[i] == 0);
    else if (i % 2 == 0)
      FUZZ_CHECK(st.expired[i] >= 1 && st.expired[i] <= st.expired[i + 1] &&
                 (i == 0 || st.expired[i] > st.expired[i - 1]));
  }
  p2pc_buf_reset(out);
  FUZZ_CHECK(p2pc_wire_stable_put(out, &st) == 0);
  check_reencoding(out, b, len);
}

static void do_peers(const uint8_t *b, size_t len, p2pc_buf *out) {
  size_t n = 0x5a5a, n2 = 0x5a5a;
  memset(peers_out, 0xa5, sizeof peers_out);
  int rv = p2pc_wire_peers_get(b, len, peers_out, P2PC_WIRE_MAX_PEERS, &n);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO || rv == P2PC_ERR_TOOBIG);
    FUZZ_CHECK(n == 0x5a5a);
    memset(peers_before, 0xa5, sizeof peers_before);
    FUZZ_CHECK(memcmp(peers_out, peers_before, sizeof peers_out) == 0);
    return;
  }
  FUZZ_CHECK((size_t)rv == len);
  FUZZ_CHECK(n <= P2PC_WIRE_MAX_PEERS);
  for (size_t i = 0; i < n; i++) {
    check_id(peers_out[i].id);
    check_addr(&peers_out[i].addr);
  }
  p2pc_buf_reset(out);
  FUZZ_CHECK(p2pc_wire_peers_put(out, peers_out, n) == 0);
  check_reencoding(out, b, len);

  /* A smaller max: the same list if it fits, TOOBIG (and nothing written)
   * if it does not. */
  size_t max = n > 0 ? n - 1 : 0;
  memcpy(peers_before, peers_out, sizeof peers_before);
  rv = p2pc_wire_peers_get(b, len, peers_out, max, &n2);
  if (n > max) {
    FUZZ_CHECK(rv == P2PC_ERR_TOOBIG);
    FUZZ_CHECK(n2 == 0x5a5a);
    FUZZ_CHECK(memcmp(peers_out, peers_before, sizeof peers_out) == 0);
  }
}

/* SHUFFLE (reply: SHUFFLE_REPLY, no ttl): at most 16 records, outputs
 * untouched on failure, canonical. */
static void do_shuffle(bool reply, const uint8_t *b, size_t len,
                       p2pc_buf *out) {
  size_t n = 0x5a5a;
  uint8_t ttl = 0x5a;
  memset(peers_out, 0xa5, sizeof peers_out);
  int rv = reply ? p2pc_wire_shuffle_reply_get(b, len, peers_out, &n)
                 : p2pc_wire_shuffle_get(b, len, &ttl, peers_out, &n);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(n == 0x5a5a && ttl == 0x5a);
    memset(peers_before, 0xa5, sizeof peers_before);
    FUZZ_CHECK(memcmp(peers_out, peers_before, sizeof peers_out) == 0);
    return;
  }
  FUZZ_CHECK((size_t)rv == len);
  FUZZ_CHECK(n <= P2PC_WIRE_MAX_SHUFFLE);
  for (size_t i = 0; i < n; i++) {
    check_id(peers_out[i].id);
    check_addr(&peers_out[i].addr);
    FUZZ_CHECK(peers_out[i].sig_len == 0);
  }
  p2pc_buf_reset(out);
  FUZZ_CHECK((reply ? p2pc_wire_shuffle_reply_put(out, peers_out, n)
                    : p2pc_wire_shuffle_put(out, ttl, peers_out, n)) == 0);
  check_reencoding(out, b, len);
}

static void do_data(const uint8_t *b, size_t len, p2pc_buf *out) {
  const p2pc_allocator *a = p2pc_allocator_default();
  p2pc_reader r;
  uint64_t lseq;
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &lseq))
    return;
  const uint8_t *ses = b + r.off;
  size_t ses_len = p2pc_reader_left(&r);

  p2pc_idtab ids;
  p2pc_ses_msg m;
  p2pc_idtab_init(&ids, a, IDTAB_LIMIT);
  p2pc_ses_msg_init(&m);
  int rv = p2pc_wire_ses_get(ses, ses_len, &ids, a, &m);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO || rv == P2PC_ERR_FULL ||
               rv == P2PC_ERR_NOMEM);
    FUZZ_CHECK(m.ndeps == 0 && m.deps == NULL && m.n == 0 &&
               m.payload == NULL && m.new_names == NULL);
  } else {
    FUZZ_CHECK((size_t)rv == ses_len);
    FUZZ_CHECK(p2pc_wire_ses_commit(&ids, &m) == 0);
    fuzz_check_ses_msg(&m, &ids, ses, ses_len);
    /* The message must encode again (fuzz_ses checks the round trip). */
    p2pc_wire_scratch scratch;
    size_t meta = 0;
    memset(&scratch, 0, sizeof scratch);
    p2pc_buf_reset(out);
    FUZZ_CHECK(p2pc_wire_ses_put(out, &m, &ids, &scratch, a, &meta) == 0);
    FUZZ_CHECK(meta + m.payload_len <= out->len);
    /* The encoding is canonical: the same bytes. */
    FUZZ_CHECK(out->len == ses_len && memcmp(out->data, ses, ses_len) == 0);
    p2pc_wire_scratch_fini(&scratch, a);
  }
  p2pc_ses_msg_fini(&m, a);
  p2pc_idtab_fini(&ids);
}

/* GOSSIP, IHAVE/GRAFT, PRUNE (frame_bcast.c); the SES header peek on the
 * message GOSSIP carries. */
static void do_gossip(const uint8_t *b, size_t len, p2pc_buf *out) {
  uint64_t round = 0xa5a5;
  const uint8_t *msg = NULL;
  size_t mlen = 77;
  int rv = p2pc_wire_gossip_get(b, len, &round, &msg, &mlen);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(round == 0xa5a5 && msg == NULL && mlen == 77);
    return;
  }
  FUZZ_CHECK((size_t)rv == len && round >= 1 && mlen >= 1);
  FUZZ_CHECK(msg > b && msg + mlen == b + len);
  p2pc_buf_reset(out);
  FUZZ_CHECK(p2pc_wire_gossip_put(out, round, msg, mlen) == 0);
  check_reencoding(out, b, len);
  const char *s = NULL, *d = NULL;
  uint8_t sl = 0, dl = 0;
  uint64_t n = 0;
  if (p2pc_wire_ses_peek(msg, mlen, &s, &sl, &d, &dl, &n) == 0) {
    FUZZ_CHECK(p2pc_id_valid(s, sl) && dl >= 1 && n >= 1);
    FUZZ_CHECK(s > (const char *)msg && d + dl <= (const char *)msg + mlen);
  } else {
    FUZZ_CHECK(s == NULL && d == NULL && n == 0);
  }
}

static p2pc_wire_bcast_id bids[P2PC_WIRE_MAX_BCAST_IDS];
static p2pc_wire_bcast_id bids_before[P2PC_WIRE_MAX_BCAST_IDS];

static void do_bcast_ids(const uint8_t *b, size_t len, uint32_t min,
                         p2pc_buf *out) {
  memset(bids, 0x5a, sizeof bids);
  memcpy(bids_before, bids, sizeof bids);
  uint32_t count = 999;
  int rv = p2pc_wire_bcast_ids_get(b, len, min, bids, &count);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO && count == 999);
    FUZZ_CHECK(memcmp(bids, bids_before, sizeof bids) == 0);
    return;
  }
  FUZZ_CHECK((size_t)rv == len);
  FUZZ_CHECK(count >= min && count <= P2PC_WIRE_MAX_BCAST_IDS);
  for (uint32_t i = 0; i < count; i++) {
    check_id(bids[i].origin);
    FUZZ_CHECK(bids[i].n >= 1);
  }
  p2pc_buf_reset(out);
  FUZZ_CHECK(p2pc_wire_bcast_ids_put(out, bids, count, min) == 0);
  check_reencoding(out, b, len);
}

/* PRUNE: the origin whose tree the link leaves; canonical, and the
 * output untouched on failure. */
static void do_prune(const uint8_t *b, size_t len, p2pc_buf *out) {
  char origin[P2PC_ID_MAX + 1], before[P2PC_ID_MAX + 1];
  memset(origin, 0x5a, sizeof origin);
  memcpy(before, origin, sizeof origin);
  int rv = p2pc_wire_prune_get(b, len, origin);
  if (rv < 0) {
    FUZZ_CHECK(rv == P2PC_ERR_PROTO);
    FUZZ_CHECK(memcmp(origin, before, sizeof origin) == 0);
    return;
  }
  FUZZ_CHECK((size_t)rv == len);
  check_id(origin);
  p2pc_buf_reset(out);
  FUZZ_CHECK(p2pc_wire_prune_put(out, origin) == 0);
  check_reencoding(out, b, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const p2pc_allocator *a = p2pc_allocator_default();
  p2pc_buf out;
  p2pc_buf_init(&out, a, 2 * MAX_FRAME + 64);

  size_t off = 0;
  for (;;) {
    p2pc_frame f, before;
    memset(&f, 0xa5, sizeof f);
    before = f;
    long want = expected_split(data + off, size - off);
    int rv = p2pc_wire_frame_split(data + off, size - off, MAX_FRAME, &f);
    FUZZ_CHECK(rv == want);
    if (rv <= 0) {
      FUZZ_CHECK(memcmp(&f, &before, sizeof f) == 0);
      break;
    }
    FUZZ_CHECK((size_t)rv <= size - off);
    FUZZ_CHECK(f.body == data + off + P2PC_WIRE_HDR);
    FUZZ_CHECK(f.body_len + P2PC_WIRE_HDR == (size_t)rv);
    FUZZ_CHECK(f.type == data[off + 4]);

    switch (f.type) {
    case P2PC_FRAME_HELLO:
      do_hello(f.body, f.body_len, &out);
      break;
    case P2PC_FRAME_ERROR:
      do_error(f.body, f.body_len, &out);
      break;
    case P2PC_FRAME_DATA:
      do_data(f.body, f.body_len, &out);
      break;
    case P2PC_FRAME_ACK:
      do_ack(f.body, f.body_len, &out);
      break;
    case P2PC_FRAME_PEERS:
      do_peers(f.body, f.body_len, &out);
      break;
    case P2PC_FRAME_PING:
    case P2PC_FRAME_PONG:
      do_ping(f.type, f.body, f.body_len, &out);
      break;
    case P2PC_FRAME_ANNOUNCE:
      do_announce(f.body, f.body_len, &out);
      break;
    case P2PC_FRAME_PING_REQ:
    case P2PC_FRAME_PING_REQ_ACK:
      do_pingreq(f.body, f.body_len, &out);
      break;
    case P2PC_FRAME_MEMBER:
      do_member(f.body, f.body_len, &out);
      break;
    case P2PC_FRAME_LEAVE:
      do_leave(f.body, f.body_len, &out);
      break;
    case P2PC_FRAME_STABLE:
      do_stable(f.body, f.body_len, &out);
      break;
    case P2PC_FRAME_GOSSIP:
      do_gossip(f.body, f.body_len, &out);
      break;
    case P2PC_FRAME_IHAVE:
    case P2PC_FRAME_GRAFT:
      do_bcast_ids(f.body, f.body_len, 1, &out);
      break;
    case P2PC_FRAME_PRUNE:
      do_prune(f.body, f.body_len, &out);
      break;
    case P2PC_FRAME_SHUFFLE:
    case P2PC_FRAME_SHUFFLE_REPLY:
      do_shuffle(f.type == P2PC_FRAME_SHUFFLE_REPLY, f.body, f.body_len, &out);
      break;
    default:
      break; /* unknown types are skipped by the caller */
    }
    off += (size_t)rv;
  }

  /* The frame builder round-trips too: rebuild the first frame's envelope
   * around its body and split it again. */
  if (size >= P2PC_WIRE_HDR) {
    p2pc_frame f;
    if (p2pc_wire_frame_split(data, size, MAX_FRAME, &f) > 0) {
      p2pc_buf_reset(&out);
      long start = p2pc_wire_frame_begin(&out, (p2pc_frame_type)f.type);
      FUZZ_CHECK(start == 0);
      FUZZ_CHECK(p2pc_buf_put(&out, f.body, f.body_len) == 0);
      FUZZ_CHECK(p2pc_wire_frame_end(&out, start, MAX_FRAME) == 0);
      FUZZ_CHECK(out.len == f.body_len + P2PC_WIRE_HDR);
      FUZZ_CHECK(memcmp(out.data, data, out.len) == 0);
      /* One byte less of room: the frame no longer fits. */
      if (f.body_len > 0) {
        FUZZ_CHECK(p2pc_wire_frame_end(&out, start, (uint32_t)f.body_len) ==
                   P2PC_ERR_TOOBIG);
        FUZZ_CHECK(out.len == 0);
      }
    }
  }
  p2pc_buf_fini(&out);
  return 0;
}
