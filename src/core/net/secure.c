/* SPDX-License-Identifier: MIT */
/*
 * Secure links (docs/PROTOCOL.md, "Secure links"): with cfg.secure.on, a
 * link speaks records — be32 length (1..65535), then that many bytes —
 * from its first byte. The first three are a Noise_XXpsk0 handshake
 * (noise.h; the cluster key is the psk, so a node without it fails on the
 * first message, before any Diffie-Hellman), then every record is a
 * ChaCha20-Poly1305 sealed piece of the frame stream of an open link, its
 * nonce the record's number in its direction. Frames written before the
 * keys exist (the HELLO) wait in the link's pend buffer.
 *
 * The psk comes from the node's keyring (SECURITY.md, "Rotating the
 * cluster key"): a dialer uses the primary, a responder tries each key it
 * holds on the first message, so that during a rotation two nodes link as
 * long as one holds the other's primary.
 *
 * The core draws no randomness: ephemeral keys come from a ChaCha20
 * stream keyed by cfg.secure.entropy (32 bytes the runtime took from the
 * kernel), one block position per key.
 */
#include "nodeint.h"

#include <sodium.h>

#define REC_MAX P2PC_NOISE_MAX_MSG
#define CHUNK (REC_MAX - P2PC_NOISE_TAGLEN)
static const char prologue[] = "p2pclock secure link, wire version 3";

/* The next ephemeral private key: ChaCha20(entropy) at block position
 * 2^32 x counter, an unused key stream per handshake. */
static void next_ephemeral(p2pc_node *n, uint8_t out[32]) {
  uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
  memset(out, 0, 32);
  crypto_stream_chacha20_ietf_xor_ic(
      out, out, 32, nonce, (uint32_t)n->sec_drbg_ctr++, n->cfg.secure.entropy);
}

static int put_record(p2pc_buf *out, const uint8_t *b, size_t len) {
  int rv = p2pc_buf_put_be32(out, (uint32_t)len);
  return rv ? rv : p2pc_buf_put(out, b, len);
}

/* Whether the next record of c is the first under a new key: every
 * 2^rekey_shift records, counted alike at both ends. */
static bool rekey_due(const p2pc_node *n, const p2pc_noise_cipher *c) {
  unsigned shift = n->cfg.secure.rekey_shift ? n->cfg.secure.rekey_shift : 20;
  return c->n && (c->n & ((1ull << shift) - 1)) == 0;
}

/* Seals plain[0..len) into records on the link's output. */
static int seal(p2pc_node *n, link *l, const uint8_t *plain, size_t len) {
  while (len) {
    size_t k = len < CHUNK ? len : CHUNK, clen = 0;
    size_t at = l->out.len;
    int rv = p2pc_buf_reserve(&l->out, 4 + k + P2PC_NOISE_TAGLEN);
    if (rv)
      return rv;
    if (rekey_due(n, &l->tx))
      (void)p2pc_noise_rekey(&l->tx);
    rv = p2pc_noise_encrypt(&l->tx, NULL, 0, plain, k, l->out.data + at + 4,
                            k + P2PC_NOISE_TAGLEN, &clen);
    if (rv)
      return rv;
    p2pc_be32_write(l->out.data + at, (uint32_t)clen);
    l->out.len = at + 4 + clen;
    plain += k;
    len -= k;
  }
  return 0;
}

/* Frames wait in pend and are sealed together when the runtime takes
 * the output (p2pc_node_link_output), or as soon as they fill a record:
 * one record, one tag and one cipher call for a burst of small frames
 * rather than one each. */
bool p2pc__sec_write(p2pc_node *n, link *l, const uint8_t *b, size_t len) {
  if (!l->sec)
    return false;
  (void)p2pc_buf_put(&l->pend, b, len); /* over its cap: lost, as a plain
                                         * link's over-full output */
  if (l->pend.len >= CHUNK)
    p2pc__sec_flush(n, l);
  return true;
}

void p2pc__sec_flush(p2pc_node *n, link *l) {
  if (!l->sec || l->hs || !l->pend.len)
    return;
  (void)seal(n, l, l->pend.data, l->pend.len);
  p2pc_buf_reset(&l->pend);
}

void p2pc__sec_release(p2pc_node *n, link *l) {
  if (l->hs) {
    p2pc_noise_hs_wipe(l->hs);
    n->a->free(l->hs, n->a->ud);
    l->hs = NULL;
  }
  p2pc_noise_cipher_wipe(&l->tx);
  p2pc_noise_cipher_wipe(&l->rx);
  p2pc_buf_reset(&l->cin);
  p2pc_buf_reset(&l->pend);
  l->sec = false;
  l->rs_known = false;
}

/* The handshake failed or was refused: logged (rate-limited) and closed
 * without a word (the peer could not read one). */
static int hs_fail(p2pc_node *n, p2pc_link_id lid, const char *why) {
  char t[200] = "link: secure handshake failed: ";
  p2pc_str_cat(t, sizeof t, why);
  p2pc__node_log(n, P2PC_LOG_WARN, t);
  n->sec_failed++;
  p2pc__node_link_close(n, lid, 0, NULL);
  return P2PC_ERR_PROTO;
}

/* Writes this side's next handshake message as a record. */
static int hs_send(p2pc_node *n, p2pc_link_id lid, link *l) {
  uint8_t msg[256];
  size_t len = 0;
  if (p2pc_noise_write(l->hs, NULL, 0, msg, sizeof msg, &len) != 0)
    return hs_fail(n, lid, "could not write the handshake");
  return put_record(&l->out, msg, len) ? P2PC_ERR_NOMEM : 0;
}

static bool member_key(const p2pc_node *n, const uint8_t x[32]);

/* The handshake is done: the ciphers, and the frames that waited; with
 * an allowlist, only a member's key gets that far. */
static int hs_finish(p2pc_node *n, p2pc_link_id lid, link *l) {
  const uint8_t *rs = p2pc_noise_remote_static(l->hs);
  if (rs) {
    memcpy(l->rs, rs, sizeof l->rs);
    l->rs_known = true;
  }
  if (n->nmembers && (!rs || !member_key(n, l->rs)))
    return hs_fail(n, lid, "the peer's key is not on the allowlist");
  if (p2pc_noise_split(l->hs, &l->tx, &l->rx) != 0)
    return hs_fail(n, lid, "could not split the handshake");
  p2pc_noise_hs_wipe(l->hs);
  n->a->free(l->hs, n->a->ud);
  l->hs = NULL;
  n->sec_done++;
  p2pc__sec_flush(n, l); /* what waited for the keys */
  return 0;
}

int p2pc__sec_start(p2pc_node *n, p2pc_link_id lid, link *l) {
  if (!n->cfg.secure.on)
    return 0;
  l->sec = true;
  l->hs = n->a->realloc(NULL, sizeof *l->hs, n->a->ud);
  if (!l->hs)
    return P2PC_ERR_NOMEM;
  uint8_t e[32];
  next_ephemeral(n, e);
  int rv =
      p2pc_noise_init(l->hs, P2PC_NOISE_XXPSK0, l->outbound,
                      (const uint8_t *)prologue, sizeof prologue - 1,
                      n->cfg.secure.static_sk, e, NULL, n->cfg.secure.psk[0]);
  sodium_memzero(e, sizeof e);
  if (rv)
    return rv;
  return l->outbound ? hs_send(n, lid, l) : 0;
}

/* Reads a handshake message. A responder's first one (its psk not yet
 * mixed in) is tried under each key of the ring as it is now (a key
 * removed since the connection came is not taken), on copies of one
 * state: at most P2PC_KEYRING_MAX hashes and tag checks for a stranger's
 * bytes, no Diffie-Hellman. */
static int hs_read(p2pc_node *n, link *l, const uint8_t *rec, size_t len,
                   uint8_t *payload, size_t cap, size_t *plen) {
  unsigned nk = p2pc__sec_ring_len(n);
  if (l->outbound)
    return p2pc_noise_read(l->hs, rec, len, payload, cap, plen);
  p2pc_noise_hs start = *l->hs;
  if (p2pc_noise_set_psk(&start, n->cfg.secure.psk[0]) != 0) {
    p2pc_noise_hs_wipe(&start); /* not the first message: psk mixed in */
    return p2pc_noise_read(l->hs, rec, len, payload, cap, plen);
  }
  int rv = P2PC_ERR_PROTO;
  for (unsigned i = 0; i < nk && rv != 0; i++) {
    *l->hs = start;
    (void)p2pc_noise_set_psk(l->hs, n->cfg.secure.psk[i]); /* as above */
    rv = p2pc_noise_read(l->hs, rec, len, payload, cap, plen);
  }
  p2pc_noise_hs_wipe(&start);
  return rv;
}

/* One handshake record from the peer, then our answer, if any. */
static int hs_input(p2pc_node *n, p2pc_link_id lid, link *l, const uint8_t *rec,
                    size_t len) {
  uint8_t payload[64];
  size_t plen = 0;
  int rv = hs_read(n, l, rec, len, payload, sizeof payload, &plen);
  if (rv)
    return hs_fail(n, lid,
                   "the peer does not hold this network's cluster key, or "
                   "is no p2pclock node");
  if (!p2pc_noise_done(l->hs) && (rv = hs_send(n, lid, l)) != 0)
    return rv;
  return p2pc_noise_done(l->hs) ? hs_finish(n, lid, l) : 0;
}

/* One whole record from the peer: a handshake message, or sealed frames. */
static int record_input(p2pc_node *n, p2pc_link_id lid, link *l,
                        const uint8_t *rec, size_t rl) {
  if (l->hs)
    return hs_input(n, lid, l, rec, rl);
  size_t plen = 0;
  if (!n->sec_plain && !(n->sec_plain = n->a->realloc(NULL, REC_MAX, n->a->ud)))
    return P2PC_ERR_NOMEM;
  if (rekey_due(n, &l->rx))
    (void)p2pc_noise_rekey(&l->rx);
  if (p2pc_noise_decrypt(&l->rx, NULL, 0, rec, rl, n->sec_plain, REC_MAX,
                         &plen) != 0)
    return p2pc__node_proto_error(n, lid, "a record failed authentication");
  return p2pc__node_frames_input(n, lid, l, n->sec_plain, plen);
}

/* The length of the record whose header is at p, or an error. */
static int record_len(p2pc_node *n, p2pc_link_id lid, const uint8_t *p,
                      uint32_t *rl) {
  *rl = p2pc_be32_read(p);
  if (*rl == 0 || *rl > REC_MAX)
    return p2pc__node_proto_error(n, lid, "record length out of range");
  return 0;
}

/* Records are taken straight from the input; only an incomplete one is
 * kept (in cin, at most one record: a read may hold many). */
int p2pc__sec_input(p2pc_node *n, p2pc_link_id lid, link *l, const uint8_t *b,
                    size_t len) {
  int rv = 0;
  uint32_t rl = 0;
  if (l->cin.len) { /* finish the record carried over */
    size_t k = l->cin.len < 4 ? 4 - l->cin.len : 0;
    k = k < len ? k : len;
    (void)p2pc_buf_put(&l->cin, b, k); /* within its bound: < 4 bytes */
    b += k;
    len -= k;
    if (l->cin.len < 4)
      return 0;
    if ((rv = record_len(n, lid, l->cin.data, &rl)) != 0) {
      p2pc_buf_reset(&l->cin);
      return rv;
    }
    k = 4 + (size_t)rl - l->cin.len;
    k = k < len ? k : len;
    if (p2pc_buf_put(&l->cin, b, k) != 0)
      return p2pc__node_proto_error(n, lid, "out of memory for a record");
    b += k;
    len -= k;
    if (l->cin.len < 4 + (size_t)rl)
      return 0;
    rv = record_input(n, lid, l, l->cin.data + 4, rl);
    p2pc_buf_reset(&l->cin);
  }
  while (rv >= 0 && len >= 4 && l->state != L_CLOSING && l->state != L_FREE) {
    if ((rv = record_len(n, lid, b, &rl)) != 0)
      break;
    if (len - 4 < rl)
      break;
    rv = record_input(n, lid, l, b + 4, rl);
    b += 4 + (size_t)rl;
    len -= 4 + (size_t)rl;
  }
  if (rv >= 0 && len && l->state != L_CLOSING && l->state != L_FREE &&
      p2pc_buf_put(&l->cin, b, len) != 0)
    rv = p2pc__node_proto_error(n, lid, "out of memory for a record");
  return rv < 0 ? rv : 0;
}

/* ---- the keyring -------------------------------------------------------- */

int p2pc_node_keyring_set(p2pc_node *n, const uint8_t (*keys)[32],
                          uint32_t nkeys) {
  if (!n->cfg.secure.on || !keys || nkeys == 0 || nkeys > P2PC_KEYRING_MAX)
    return P2PC_ERR_INVAL;
  for (uint32_t i = 0; i < nkeys; i++)
    for (uint32_t j = i + 1; j < nkeys; j++)
      if (sodium_memcmp(keys[i], keys[j], 32) == 0)
        return P2PC_ERR_INVAL;
  /* Links up hold their own session keys, and a handshake under way its
   * own copy of its psk: neither notices. */
  sodium_memzero(n->cfg.secure.psk, sizeof n->cfg.secure.psk);
  memcpy(n->cfg.secure.psk, keys, (size_t)nkeys * 32);
  n->cfg.secure.npsk = (uint8_t)nkeys;
  p2pc__dgauth_ring_changed(n);
  p2pc__node_log(n, P2PC_LOG_INFO, "link: cluster keyring changed");
  return 0;
}

/* ---- identities bound to keys ------------------------------------------ */

/* The pin of id, or NULL. */
static p2pc__pin *pin_find(const p2pc_node *n, const char *id) {
  for (uint32_t i = 0; i < n->npins; i++)
    if (strcmp(n->pins[i].id, id) == 0)
      return &n->pins[i];
  return NULL;
}

/* The member of list[0..k) named id, or NULL. */
static const p2pc__member *in_list(const p2pc__member *list, uint32_t k,
                                   const char *id) {
  for (uint32_t i = 0; i < k; i++)
    if (strcmp(list[i].id, id) == 0)
      return &list[i];
  return NULL;
}

/* Whether a member of list[0..k) links with X25519 key x. */
static bool key_in_list(const p2pc__member *list, uint32_t k,
                        const uint8_t x[32]) {
  for (uint32_t i = 0; i < k; i++)
    if (sodium_memcmp(list[i].x, x, 32) == 0)
      return true;
  return false;
}

static const p2pc__member *member_find(const p2pc_node *n, const char *id) {
  return in_list(n->members, n->nmembers, id);
}

static bool member_key(const p2pc_node *n, const uint8_t x[32]) {
  return key_in_list(n->members, n->nmembers, x);
}

const char *p2pc__sec_id_refused(const p2pc_node *n, const char *id,
                                 const link *l) {
  if (!l->sec || !l->rs_known)
    return NULL;
  if (n->nmembers) {
    const p2pc__member *m = member_find(n, id);
    return m && sodium_memcmp(m->x, l->rs, 32) == 0
               ? NULL
               : "is not on the allowlist with this key";
  }
  const p2pc__pin *p = pin_find(n, id);
  return !p || sodium_memcmp(p->key, l->rs, sizeof p->key) == 0
             ? NULL
             : "is bound to another key here";
}

/* Binds id to X25519 key x (the least recently used pin gives way when
 * the table is full). */
static void pin_key(p2pc_node *n, const char *id, const uint8_t x[32]) {
  p2pc__pin *p = pin_find(n, id);
  if (!p && n->npins < P2PC_PINS_MAX) {
    if (n->npins == n->pins_cap &&
        !p2pc_array_grow(n->a, (void **)&n->pins, &n->pins_cap, sizeof *n->pins,
                         8, P2PC_PINS_MAX))
      return; /* out of memory: not remembered */
    p = &n->pins[n->npins++];
  } else if (!p) { /* full: the one heard of longest ago gives way */
    p = &n->pins[0];
    for (uint32_t i = 1; i < n->npins; i++)
      if (n->pins[i].used_ns < p->used_ns)
        p = &n->pins[i];
  }
  memset(p->id, 0, sizeof p->id);
  p2pc_str_cat(p->id, sizeof p->id, id);
  memcpy(p->key, x, sizeof p->key);
  p->used_ns = n->now.mono_ns;
}

void p2pc__sec_pin(p2pc_node *n, const char *id, const link *l) {
  if (l->sec && l->rs_known && !n->nmembers)
    pin_key(n, id, l->rs);
}

/* ---- the allowlist ------------------------------------------------------ */

static int init_fail(p2pc_node *n, const char *what, const char *id) {
  char t[200] = "node: bad allowlist: ";
  p2pc_str_cat(t, sizeof t, what);
  if (id) {
    p2pc_str_cat(t, sizeof t, ": ");
    p2pc_str_cat(t, sizeof t, id);
  }
  p2pc__node_log(n, P2PC_LOG_ERROR, t);
  return P2PC_ERR_INVAL;
}

/* Checks and copies members in[0..k) into a new list *out: this node
 * (id, and the public half of sign_sk) must be on it; *role gets whether
 * it may be the reference. 0, or P2PC_ERR_INVAL (logged), P2PC_ERR_NOMEM. */
static int members_make(p2pc_node *n, const p2pc_member *in, uint32_t k,
                        const uint8_t sign_sk[64], p2pc__member **out,
                        bool *role) {
  *out = NULL;
  if (k > P2PC_MEMBERS_MAX)
    return init_fail(n, "more than 4096 members", NULL);
  p2pc__member *list = n->a->realloc(NULL, k * sizeof *list, n->a->ud);
  if (!list)
    return P2PC_ERR_NOMEM;
  const char *bad = NULL, *who = NULL;
  bool me = false;
  for (uint32_t i = 0; i < k && !bad; i++) {
    p2pc__member *m = &list[i];
    size_t len = strnlen(in[i].id, sizeof in[i].id);
    if (len == sizeof in[i].id || !p2pc_node_id_valid(in[i].id, len)) {
      bad = "a member's ID is not a valid node ID";
      break;
    }
    memset(m, 0, sizeof *m);
    memcpy(m->id, in[i].id, len);
    memcpy(m->ed, in[i].key, 32);
    m->roles = in[i].roles;
    who = m->id;
    if (in_list(list, i, m->id))
      bad = "an ID is listed twice";
    else if (crypto_sign_ed25519_pk_to_curve25519(m->x, m->ed) != 0)
      bad = "a member's key is no Ed25519 public key";
    else if (key_in_list(list, i, m->x))
      bad = "a key is listed twice";
    else if (strcmp(m->id, n->id) == 0) {
      if (sodium_memcmp(m->ed, sign_sk + 32, 32) != 0)
        bad = "this node is listed with another key";
      me = true;
      *role = (m->roles & P2PC_ROLE_REFERENCE) != 0;
    }
  }
  if (!bad && !me) {
    bad = "this node is not on it";
    who = n->id;
  }
  if (bad) {
    int rv = init_fail(n, bad, who); /* (who may point into list) */
    n->a->free(list, n->a->ud);
    return rv;
  }
  *out = list;
  return 0;
}

int p2pc__sec_init(p2pc_node *n, p2pc_node_config *c) {
  const p2pc_member *in = c->secure.members;
  uint32_t k = c->secure.nmembers;
  c->secure.members = NULL; /* borrowed: not kept */
  c->secure.nmembers = 0;
  n->priority_cfg = c->time.priority;
  if (!k)
    return 0;
  if (!c->secure.on)
    return init_fail(n, "an allowlist needs secure links", NULL);
  bool role = false;
  int rv = members_make(n, in, k, c->secure.sign_sk, &n->members, &role);
  if (rv)
    return rv;
  n->nmembers = k;
  if (!role)
    c->time.priority = 255; /* never stands */
  return 0;
}

int p2pc__node_set_members(p2pc_node *n, const p2pc_member *in, uint32_t k,
                           p2pc_now now) {
  if (!n->cfg.secure.on || !n->nmembers || !k)
    return P2PC_ERR_INVAL; /* a list is given, or taken away, at start */
  n->now = now;
  bool role = false;
  p2pc__member *list = NULL;
  int rv = members_make(n, in, k, n->cfg.secure.sign_sk, &list, &role);
  if (rv)
    return rv;
  n->a->free(n->members, n->a->ud);
  n->members = list;
  n->nmembers = k;
  memset(n->claims_seen, 0, sizeof n->claims_seen); /* roles may differ */
  p2pc_timesync_set_priority(n->ts, role ? n->priority_cfg : 255);
  /* links of members no longer listed, or listed with another key, go */
  for (uint32_t i = 0; i < n->links_hw; i++) {
    link *l = &n->links[i];
    if ((l->state != L_UP && l->state != L_HELLO) || !l->sec || !l->rs_known)
      continue;
    const char *id = l->peer != NO_PEER ? n->peers[l->peer].id : NULL;
    bool ok = id ? !p2pc__sec_id_refused(n, id, l) : member_key(n, l->rs);
    if (ok)
      continue;
    char t[160] = "link: ";
    p2pc_str_cat(t, sizeof t, id ? id : "a peer");
    p2pc_str_cat(t, sizeof t, " is no longer on the allowlist: closed");
    p2pc__node_log(n, P2PC_LOG_WARN, t);
    p2pc__node_link_close(n, i, P2PC_WIRE_E_DUPLICATE,
                          "removed from the allowlist");
  }
  return 0;
}

/* ---- signed reference claims ------------------------------------------- */

/* The bytes a reference signs: a context, then its ID, election dataset,
 * sequence number and whether it serves time. */
static size_t claim_msg(const p2pc_wire_announce *an, uint8_t *b) {
  static const char ctx[] = "p2pclock reference claim v1";
  size_t k = sizeof ctx, len = strlen(an->ref);
  memcpy(b, ctx, sizeof ctx); /* with its NUL */
  b[k++] = (uint8_t)len;
  memcpy(b + k, an->ref, len);
  k += len;
  b[k++] = an->ref_priority;
  b[k++] = an->ref_class;
  p2pc_be64_write(b + k, an->ref_seq);
  k += 8;
  b[k++] = (an->flags & P2PC_ANNOUNCE_REF_ACTIVE) ? 1 : 0;
  return k;
}
#define CLAIM_MSG_MAX (28 + 1 + P2PC_NODE_ID_MAX + 2 + 8 + 1)

void p2pc__sec_claim_sign(p2pc_node *n, p2pc_wire_announce *an) {
  if (!n->cfg.secure.on || an->hops != 0 || strcmp(an->ref, n->id) != 0)
    return; /* (a relayed claim goes as it came) */
  uint8_t flags = an->flags & P2PC_ANNOUNCE_REF_ACTIVE;
  if (!n->claim_made || n->claim_seq != an->ref_seq ||
      n->claim_flags != flags || n->claim_prio != an->ref_priority ||
      n->claim_cls != an->ref_class) {
    uint8_t m[CLAIM_MSG_MAX];
    size_t k = claim_msg(an, m);
    memcpy(n->claim, n->cfg.secure.sign_sk + 32, 32);
    crypto_sign_detached(n->claim + 32, NULL, m, k, n->cfg.secure.sign_sk);
    n->claim_seq = an->ref_seq;
    n->claim_flags = flags;
    n->claim_prio = an->ref_priority;
    n->claim_cls = an->ref_class;
    n->claim_made = true;
  }
  an->claim_len = P2PC_CLAIM_LEN;
  memcpy(an->claim, n->claim, P2PC_CLAIM_LEN);
}

/* Why an's claim does not hold, or NULL. */
static const char *claim_refused(p2pc_node *n, const p2pc_wire_announce *an) {
  if (an->claim_len != P2PC_CLAIM_LEN)
    return "carries no signed claim";
  const uint8_t *pk = an->claim, *sig = an->claim + 32;
  uint8_t m[CLAIM_MSG_MAX], digest[16];
  size_t k = claim_msg(an, m);
  /* what was signed, and by whom with what: a claim seen again (every
   * neighbour relays it) is not verified again */
  crypto_generichash_state h;
  crypto_generichash_init(&h, NULL, 0, sizeof digest);
  crypto_generichash_update(&h, m, k);
  crypto_generichash_update(&h, an->claim, P2PC_CLAIM_LEN);
  crypto_generichash_final(&h, digest, sizeof digest);
  for (uint32_t i = 0; i < P2PC_CLAIMS_SEEN; i++)
    if (memcmp(n->claims_seen[i].digest, digest, sizeof digest) == 0)
      return NULL;
  uint8_t x[32];
  if (crypto_sign_ed25519_pk_to_curve25519(x, pk) != 0)
    return "is signed by no Ed25519 key";
  if (n->nmembers) {
    const p2pc__member *mb = member_find(n, an->ref);
    if (!mb || sodium_memcmp(mb->ed, pk, 32) != 0)
      return "is not signed by its key on the allowlist";
    if (!(mb->roles & P2PC_ROLE_REFERENCE))
      return "is by a member the allowlist does not give the reference role";
  } else {
    const p2pc__pin *p = pin_find(n, an->ref);
    if (p && sodium_memcmp(p->key, x, 32) != 0)
      return "is signed by another key than its ID is bound to here";
  }
  if (crypto_sign_verify_detached(sig, m, k, pk) != 0)
    return "has a bad signature";
  if (!n->nmembers)
    pin_key(n, an->ref, x); /* first use binds, as a link does */
  memcpy(n->claims_seen[n->claims_seen_next++ % P2PC_CLAIMS_SEEN].digest,
         digest, sizeof digest);
  return NULL;
}

void p2pc__sec_claim_check(p2pc_node *n, p2pc_wire_announce *an) {
  if (!n->cfg.secure.on || !an->ref[0] || strcmp(an->ref, n->id) == 0)
    return;
  const char *why = claim_refused(n, an);
  if (!why)
    return;
  n->claims_refused++;
  char t[240] = "clock: a claim to the reference role for ";
  p2pc_str_cat(t, sizeof t, an->ref);
  p2pc_str_cat(t, sizeof t, " ");
  p2pc_str_cat(t, sizeof t, why);
  p2pc_str_cat(t, sizeof t, ": not followed");
  p2pc__node_log(n, P2PC_LOG_WARN, t);
  an->ref[0] = '\0';
  an->ref_priority = an->ref_class = 0;
  an->ref_seq = 0;
  an->hops = 255;
  an->flags &= (uint8_t)~P2PC_ANNOUNCE_REF_ACTIVE;
  an->claim_len = 0;
}
