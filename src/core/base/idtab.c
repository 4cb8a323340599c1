/* SPDX-License-Identifier: MIT */
/*
 * Node-ID interning (idtab.h): an append-only array of names plus an
 * open-addressing hash (FNV-1a, linear probing). IDs are never removed, so
 * an interned integer stays valid for the table's life; the limit keeps a
 * peer from growing the table without bound.
 */
#include "idtab.h"
#include "num.h"

#include <string.h>

#define SLOT_SIZE (P2PC_ID_MAX + 1)

static bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool p2pc_node_id_valid(const char *p, size_t len) {
  if (!p || len == 0 || len > P2PC_NODE_ID_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!id_char(p[i]))
      return false;
  return true;
}

bool p2pc_id_valid(const char *p, size_t len) {
  if (!p || len == 0 || len > P2PC_ID_MAX)
    return false;
  const char *tilde = memchr(p, '~', len);
  if (!tilde)
    return p2pc_node_id_valid(p, len);
  size_t head = (size_t)(tilde - p), tail = len - head - 1;
  if (!p2pc_node_id_valid(p, head) || tail == 0 || tail > 15)
    return false;
  for (size_t i = 0; i < tail; i++)
    if (!id_char(tilde[1 + i]))
      return false;
  return true;
}

/* The table also holds "*", the broadcast destination of the causal
 * layer: it is no ID, and only the SES codec and the causal core use it. */
static bool name_ok(const char *p, size_t len) {
  return (len == 1 && p && p[0] == '*') || p2pc_id_valid(p, len);
}

void p2pc_idtab_init(p2pc_idtab *t, const p2pc_allocator *a, uint32_t limit) {
  memset(t, 0, sizeof *t);
  t->alloc = a;
  t->limit = limit ? limit : 1;
}

void p2pc_idtab_fini(p2pc_idtab *t) {
  t->alloc->free(t->names, t->alloc->ud);
  t->alloc->free(t->lens, t->alloc->ud);
  t->alloc->free(t->slots, t->alloc->ud);
  t->names = NULL;
  t->lens = NULL;
  t->slots = NULL;
  t->n = t->cap = t->nslots = 0;
}

static uint32_t hash_id(const char *p, size_t len) {
  return p2pc_fnv1a(p, len);
}

/* The slot holding name p, or the empty slot where it would go. */
static uint32_t probe(const p2pc_idtab *t, const char *p, size_t len) {
  uint32_t mask = t->nslots - 1;
  uint32_t i = hash_id(p, len) & mask;
  for (;;) {
    uint32_t s = t->slots[i];
    if (s == 0)
      return i;
    if (t->lens[s - 1] == len &&
        memcmp(t->names + (size_t)(s - 1) * SLOT_SIZE, p, len) == 0)
      return i;
    i = (i + 1) & mask;
  }
}

int p2pc_idtab_find(const p2pc_idtab *t, const char *p, size_t len,
                    uint32_t *id) {
  /* Only valid names are interned, so an invalid one matches none: it
   * needs no check of its characters here, only of its length. */
  if (t->n == 0 || !p || len == 0 || len > P2PC_ID_MAX)
    return P2PC_ERR_NOTFOUND;
  uint32_t s = t->slots[probe(t, p, len)];
  if (s == 0)
    return P2PC_ERR_NOTFOUND;
  *id = s - 1;
  return 0;
}

static int grow(p2pc_idtab *t) {
  const p2pc_allocator *a = t->alloc;
  uint32_t cap = t->cap ? t->cap * 2 : 16;
  if (cap > t->limit)
    cap = t->limit;
  uint32_t nslots = 32;
  while (nslots < 2 * cap)
    nslots *= 2;
  char *names = a->realloc(t->names, (size_t)cap * SLOT_SIZE, a->ud);
  if (!names)
    return P2PC_ERR_NOMEM;
  t->names = names;
  uint8_t *lens = a->realloc(t->lens, cap, a->ud);
  if (!lens)
    return P2PC_ERR_NOMEM;
  t->lens = lens;
  uint32_t *slots = a->realloc(NULL, (size_t)nslots * sizeof *slots, a->ud);
  if (!slots)
    return P2PC_ERR_NOMEM;
  memset(slots, 0, (size_t)nslots * sizeof *slots);
  a->free(t->slots, a->ud);
  t->slots = slots;
  t->nslots = nslots;
  t->cap = cap;
  for (uint32_t id = 0; id < t->n; id++) {
    const char *nm = t->names + (size_t)id * SLOT_SIZE;
    t->slots[probe(t, nm, t->lens[id])] = id + 1;
  }
  return 0;
}

int p2pc_idtab_intern(p2pc_idtab *t, const char *p, size_t len, uint32_t *id) {
  if (!name_ok(p, len))
    return P2PC_ERR_INVAL;
  if (t->n > 0) {
    uint32_t s = t->slots[probe(t, p, len)];
    if (s) {
      *id = s - 1;
      return 0;
    }
  }
  if (t->n == t->limit)
    return P2PC_ERR_FULL;
  if (t->n == t->cap) {
    int rv = grow(t);
    if (rv)
      return rv;
  }
  uint32_t nid = t->n++;
  char *dst = t->names + (size_t)nid * SLOT_SIZE;
  memcpy(dst, p, len);
  dst[len] = '\0';
  t->lens[nid] = (uint8_t)len;
  t->slots[probe(t, p, len)] = nid + 1;
  *id = nid;
  return 0;
}

void p2pc_idtab_truncate(p2pc_idtab *t, uint32_t n) {
  if (n >= t->n)
    return;
  /* Linear probing has no cheap delete: rebuild the hash (rare path). */
  t->n = n;
  memset(t->slots, 0, (size_t)t->nslots * sizeof *t->slots);
  for (uint32_t id = 0; id < t->n; id++) {
    const char *nm = t->names + (size_t)id * SLOT_SIZE;
    t->slots[probe(t, nm, t->lens[id])] = id + 1;
  }
}

const char *p2pc_idtab_name(const p2pc_idtab *t, uint32_t id, size_t *len) {
  if (len)
    *len = t->lens[id];
  return t->names + (size_t)id * SLOT_SIZE;
}
