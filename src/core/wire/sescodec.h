/* SPDX-License-Identifier: MIT */
/*
 * The SES codec: the causal message a DATA frame carries (docs/PROTOCOL.md,
 * "DATA"; the frame around it is frame.h's). Decoders borrow their input,
 * validate everything, write their outputs only on success and return
 * bytes consumed (> 0) or a negative P2PC_ERR_* for malformed input.
 */
#ifndef P2PC_SESCODEC_H
#define P2PC_SESCODEC_H

#include "buf.h"
#include "idtab.h"
#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * DATA: varint lseq (the link's sequence number) followed by one SES
 * message, or by nothing: a DATA frame with an empty body after lseq is a
 * tombstone, a message its sender gave up on (expired): it keeps the link's
 * numbering and is acknowledged like any other. The SES message is encoded
 * and decoded on its own, because the link layer (lseq) and the causal
 * layer (the message) are separate.
 */

/* A dependency entry of Δ-SES (docs/PROTOCOL.md, "Causal delivery"): the
 * causal past holds `sender`'s message number `n` to `dest`, stamped
 * `stamp` (HLC), and `dest` must deliver it (or write it off as expired)
 * before anything that carries this entry. Only the latest message per
 * (dest, sender) is kept: it implies the earlier ones. */
typedef struct p2pc_ses_dep {
  uint32_t dest, sender; /* interned ids */
  uint64_t n;            /* > 0 */
  uint64_t stamp;        /* > 0 */
  /* DATA hops the entry has travelled from its sender: 0 at the sender;
   * a receiver that keeps it adds 1 (saturating at P2PC_SES_MAX_HOPS). It
   * says which level of the stability report may retire it (stable.h). */
  uint32_t hops;
} p2pc_ses_dep;

#define P2PC_SES_MAX_HOPS 255

/* A value that node `id`'s LS had (docs/PROTOCOL.md, "Stability"): every
 * message it sent stamped below `ls` is delivered or written off. A
 * message carries one for its sender and for the senders of its entries,
 * so that this knowledge travels as fast as the entries it retires. */
typedef struct p2pc_ses_ls {
  uint32_t id;
  uint64_t ls; /* > 0, below the message's stamp */
} p2pc_ses_ls;

#define P2PC_SES_MAX_DEPS 65536 /* entries one message may carry */

/* A causal message. Ids are interned in the owning core's idtab. */
typedef struct p2pc_ses_msg {
  uint32_t sender;
  uint32_t dest;
  uint64_t n;         /* sender's send counter: the id is "<sender>:<n>" */
  uint64_t prev;      /* n of the sender's previous message to dest, 0: none */
  uint64_t stamp;     /* the message's HLC stamp */
  p2pc_ses_dep *deps; /* sorted by (dest, sender) */
  uint32_t ndeps;
  uint32_t capdeps;
  p2pc_ses_ls *ls; /* the sender's and entry senders' LS, by id */
  uint32_t nls;
  bool ls_owned; /* decode: ls is m's own (freed by p2pc_ses_msg_fini) */
  const uint8_t *payload; /* borrowed (decode: from the input) */
  size_t payload_len;
  /* Decode only: node IDs the table did not know yet. They have
   * provisional ids (table size + k, in this order) until
   * p2pc_wire_ses_commit interns them; sender/dest name the two ends by
   * name meanwhile. All point into the decoded input. */
  const uint8_t **new_names;
  uint8_t *new_lens;
  uint32_t nnew;
  const char *sender_name, *dest_name;
  uint8_t sender_len, dest_len;
} p2pc_ses_msg;

void p2pc_ses_msg_init(p2pc_ses_msg *m);
void p2pc_ses_msg_fini(p2pc_ses_msg *m, const p2pc_allocator *a);

/*
 * The encoding (docs/PROTOCOL.md, "DATA"):
 *   varint ndict (>= 2), ndict x (u8 len, name): [0] the sender, [1] the
 *     destination, then every other name the entries mention, once, in
 *     ascending (length, bytes) order;
 *   varint n (> 0), varint prev (< n), varint stamp (> 0);
 *   varint ndeps, then per entry, sorted by (dest index, sender index):
 *     varint dest index gap from the previous entry's (the first: absolute),
 *     varint sender index (a new dest: absolute; the same dest: the gap
 *       from the previous sender index minus 1),
 *     varint n (> 0), varint stamp - entry stamp (>= 1, < stamp),
 *     varint hops (<= P2PC_SES_MAX_HOPS);
 *     an entry's dest is never the message's sender, never its own sender;
 *   varint nls, then nls x (varint index: the first absolute, then the gap
 *     from the previous (>= 1); the message's sender or an entry's sender,
 *     varint stamp - ls (>= 1, < stamp));
 *   varint payload length, payload (the rest of the body).
 * *meta_bytes (if non-NULL) gets the bytes of causal metadata: everything
 * but the payload and its length. scratch is a work area kept by the
 * caller between calls (free it with p2pc_wire_scratch_fini).
 */
typedef struct p2pc_wire_scratch {
  uint32_t *map; /* local id -> dictionary index + 1, 0 = unset */
  uint32_t cap;
  uint32_t *order; /* dictionary index -> local id */
  uint32_t ocap;
  struct sesdep *deps; /* the entries in dictionary indices */
  uint32_t dcap;
  void *work; /* name sorting, then the LS list: reused, never shrunk */
  size_t wcap;
} p2pc_wire_scratch;

void p2pc_wire_scratch_fini(p2pc_wire_scratch *s, const p2pc_allocator *a);

int p2pc_wire_ses_put(p2pc_buf *out, const p2pc_ses_msg *m,
                      const p2pc_idtab *ids, p2pc_wire_scratch *scratch,
                      const p2pc_allocator *a, size_t *meta_bytes);
/* Decodes one SES message filling all of b[0..len). Nothing is added to
 * ids: names it does not know get provisional ids (see p2pc_ses_msg), so a
 * message that is then refused leaves no trace. P2PC_ERR_FULL if the new
 * names would not fit under the table's limit. On success m owns its
 * entries and borrows its payload and names from b. */
int p2pc_wire_ses_get(const uint8_t *b, size_t len, const p2pc_idtab *ids,
                      const p2pc_allocator *a, p2pc_ses_msg *m);
/* Interns m's new names, making its provisional ids real. Call it before
 * the table changes in any other way. Returns 0 or an idtab error. */
int p2pc_wire_ses_commit(p2pc_idtab *ids, const p2pc_ses_msg *m);

/* Reads an SES message's header without decoding it: the sender's name
 * and the destination's (borrowed from b, not NUL-terminated) and the
 * message number, the message's id for the broadcast layer. It checks
 * only what it reads (the dictionary's shape, a valid sender name, n >= 1):
 * the full validation is p2pc_wire_ses_get's. Returns 0 or P2PC_ERR_PROTO;
 * outputs only on success. */
int p2pc_wire_ses_peek(const uint8_t *b, size_t len, const char **sender,
                       uint8_t *sender_len, const char **dest,
                       uint8_t *dest_len, uint64_t *n);

#endif /* P2PC_SESCODEC_H */
