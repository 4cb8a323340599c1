/* SPDX-License-Identifier: MIT */
/*
 * Node-ID interning. Node IDs are strings on the wire and in logs; inside a
 * core they are small integers handed out in order of first sight, so vector
 * clocks compare and merge as sorted integer arrays. Each core owns one
 * table; the integers mean nothing outside it.
 *
 * A node ID is 1..64 bytes of [A-Za-z0-9._-]: safe in JSON, in file names
 * and in a message id "<sender>:<n>" without escaping. The causal layer's
 * identities are node IDs, or a node ID with its incarnation, "<id>~<tag>"
 * ('~' never occurs in a node ID, so the two cannot collide); the table
 * holds either kind, up to P2PC_ID_MAX bytes, and the name "*" (the
 * causal layer's broadcast destination, which is neither).
 */
#ifndef P2PC_IDTAB_H
#define P2PC_IDTAB_H

#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define P2PC_NODE_ID_MAX 64
#define P2PC_ID_MAX 80

typedef struct p2pc_idtab {
  const p2pc_allocator *alloc;
  char *names;     /* n slots of P2PC_ID_MAX + 1 bytes, NUL-terminated */
  uint8_t *lens;   /* length of each name */
  uint32_t *slots; /* open-addressing hash: id + 1, 0 = empty */
  uint32_t n;      /* IDs interned */
  uint32_t cap;    /* names/lens capacity */
  uint32_t nslots; /* power of two, >= 2 * cap */
  uint32_t limit;  /* at most this many IDs; interning more fails */
} p2pc_idtab;

/* True if p[0..len) is a valid node ID. */
bool p2pc_node_id_valid(const char *p, size_t len);
/* True if p[0..len) is a valid causal identity: a node ID, or one followed
 * by '~' and 1..15 more ID characters (at most P2PC_ID_MAX bytes). */
bool p2pc_id_valid(const char *p, size_t len);

/* Embeds an empty table holding at most limit IDs (limit >= 1). */
void p2pc_idtab_init(p2pc_idtab *t, const p2pc_allocator *a, uint32_t limit);
void p2pc_idtab_fini(p2pc_idtab *t);

/* Finds or adds name p[0..len). Returns 0 and sets *id, or P2PC_ERR_INVAL
 * (not a valid ID), P2PC_ERR_FULL (limit reached), P2PC_ERR_NOMEM. */
int p2pc_idtab_intern(p2pc_idtab *t, const char *p, size_t len, uint32_t *id);
/* Returns 0 and sets *id, or P2PC_ERR_NOTFOUND. */
int p2pc_idtab_find(const p2pc_idtab *t, const char *p, size_t len,
                    uint32_t *id);
/* Forgets every ID interned after the table held n of them (a rollback of
 * a refused message's names). */
void p2pc_idtab_truncate(p2pc_idtab *t, uint32_t n);
/* The NUL-terminated name of an interned id; *len gets its length if
 * non-NULL. id must be < t->n. */
const char *p2pc_idtab_name(const p2pc_idtab *t, uint32_t id, size_t *len);

#endif /* P2PC_IDTAB_H */
