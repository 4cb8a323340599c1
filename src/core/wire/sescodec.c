/* SPDX-License-Identifier: MIT */
/*
 * The SES codec (sescodec.h, docs/PROTOCOL.md "DATA"): one causal message
 * with its dictionary of node names, its dependency entries and its LS
 * list, as a DATA frame carries it after the link sequence number. The
 * decoder validates everything before writing any output and the encoding
 * is canonical (minimal varints, sorted names and entries, no trailing
 * bytes): a decoder accepts exactly the bytes its encoder produces.
 */
#include "sescodec.h"

#include <stdlib.h>
#include <string.h>

/* Appends a sequence of puts atomically: on error, out is rolled back. */
#define PUT(expr)                                                              \
  do {                                                                         \
    if ((rv = (expr)) != 0)                                                    \
      goto err;                                                                \
  } while (0)

void p2pc_ses_msg_init(p2pc_ses_msg *m) { memset(m, 0, sizeof *m); }

void p2pc_ses_msg_fini(p2pc_ses_msg *m, const p2pc_allocator *a) {
  a->free(m->new_names, a->ud);
  a->free(m->new_lens, a->ud);
  a->free(m->deps, a->ud);
  if (m->ls_owned)
    a->free(m->ls, a->ud);
  p2pc_ses_msg_init(m);
}

/* An entry in dictionary indices, as it goes on the wire. */
struct sesdep {
  uint32_t d, s;
  uint64_t n, stamp;
  uint32_t hops;
};
typedef struct sesdep sesdep;

void p2pc_wire_scratch_fini(p2pc_wire_scratch *s, const p2pc_allocator *a) {
  a->free(s->map, a->ud);
  a->free(s->order, a->ud);
  a->free(s->deps, a->ud);
  a->free(s->work, a->ud);
  memset(s, 0, sizeof *s);
}

static int cmp_sesdep(const void *x, const void *y) {
  const sesdep *a = x, *b = y;
  if (a->d != b->d)
    return a->d < b->d ? -1 : 1;
  return a->s < b->s ? -1 : a->s > b->s;
}

/* Names in the dictionary's order: (length, bytes). */
static int cmp_name(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
  if (al != bl)
    return al < bl ? -1 : 1;
  return memcmp(a, b, al);
}

typedef struct named {
  const char *p;
  size_t len;
  uint32_t id;
} named;

static int cmp_named(const void *x, const void *y) {
  const named *a = x, *b = y;
  return cmp_name((const uint8_t *)a->p, a->len, (const uint8_t *)b->p, b->len);
}

static int cmp_dep(const void *x, const void *y) {
  const p2pc_ses_dep *a = x, *b = y;
  if (a->dest != b->dest)
    return a->dest < b->dest ? -1 : 1;
  return a->sender < b->sender ? -1 : a->sender > b->sender;
}

/* Sorts ids v[0..n) by name. */
/* The scratch's work area, at least bytes long (kept between messages:
 * no allocation per message once it has grown). */
static void *scratch_work(p2pc_wire_scratch *s, size_t bytes,
                          const p2pc_allocator *a) {
  if (s->wcap < bytes) {
    void *w = a->realloc(s->work, bytes, a->ud);
    if (!w)
      return NULL;
    s->work = w;
    s->wcap = bytes;
  }
  return s->work;
}

static int sort_by_name(uint32_t *v, uint32_t n, const p2pc_idtab *ids,
                        p2pc_wire_scratch *s, const p2pc_allocator *a) {
  if (n < 2)
    return 0;
  named *t = scratch_work(s, (size_t)n * sizeof *t, a);
  if (!t)
    return P2PC_ERR_NOMEM;
  for (uint32_t i = 0; i < n; i++) {
    t[i].id = v[i];
    t[i].p = p2pc_idtab_name(ids, v[i], &t[i].len);
  }
  qsort(t, n, sizeof *t, cmp_named);
  for (uint32_t i = 0; i < n; i++)
    v[i] = t[i].id;
  return 0;
}

static int scratch_grow(p2pc_wire_scratch *s, uint32_t nids, uint32_t ndeps,
                        const p2pc_allocator *a) {
  if (s->cap < nids) {
    uint32_t *map = a->realloc(s->map, (size_t)nids * sizeof *map, a->ud);
    if (!map)
      return P2PC_ERR_NOMEM;
    memset(map + s->cap, 0, (size_t)(nids - s->cap) * sizeof *map);
    s->map = map;
    s->cap = nids;
  }
  if (s->ocap < nids) {
    uint32_t *o = a->realloc(s->order, (size_t)nids * sizeof *o, a->ud);
    if (!o)
      return P2PC_ERR_NOMEM;
    s->order = o;
    s->ocap = nids;
  }
  if (s->dcap < ndeps) {
    sesdep *d = a->realloc(s->deps, (size_t)ndeps * sizeof *d, a->ud);
    if (!d)
      return P2PC_ERR_NOMEM;
    s->deps = d;
    s->dcap = ndeps;
  }
  return 0;
}

typedef struct lsidx {
  uint32_t idx;
  uint64_t ls;
} lsidx;

static int cmp_lsidx(const void *x, const void *y) {
  const lsidx *a = x, *b = y;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Writes m's LS list in dictionary order. map: local id -> index + 1. */
static int put_ls(p2pc_buf *out, const p2pc_ses_msg *m, const uint32_t *map,
                  uint32_t nids, const sesdep *sd, uint32_t nd,
                  p2pc_wire_scratch *s, const p2pc_allocator *a) {
  size_t start = out->len;
  int rv = P2PC_ERR_NOMEM;
  /* One work block: the list, then a flag per dictionary index. */
  lsidx *t = scratch_work(s, (size_t)m->nls * sizeof *t + nd, a);
  if (!t)
    return rv;
  uint8_t *sender = (uint8_t *)(t + m->nls);
  memset(sender, 0, nd);
  sender[0] = 1;
  for (uint32_t i = 0; i < m->ndeps; i++)
    sender[sd[i].s] = 1;
  rv = P2PC_ERR_INVAL;
  for (uint32_t i = 0; i < m->nls; i++) {
    const p2pc_ses_ls *l = &m->ls[i];
    if (l->id >= nids || l->ls == 0 || l->ls >= m->stamp || !map[l->id] ||
        !sender[map[l->id] - 1])
      goto err;
    t[i] = (lsidx){map[l->id] - 1, l->ls};
  }
  qsort(t, m->nls, sizeof *t, cmp_lsidx);
  for (uint32_t i = 1; i < m->nls; i++)
    if (t[i].idx == t[i - 1].idx)
      goto err;
  PUT(p2pc_buf_put_varint(out, m->nls));
  for (uint32_t i = 0; i < m->nls; i++) {
    PUT(p2pc_buf_put_varint(out, i ? t[i].idx - t[i - 1].idx : t[i].idx));
    PUT(p2pc_buf_put_varint(out, m->stamp - t[i].ls));
  }
  return 0;
err:
  out->len = start;
  return rv;
}

/* "*": the broadcast destination. It may be the message's destination or
 * an entry's, never a sender. */
static bool star_name(const uint8_t *p, size_t len) {
  return len == 1 && p[0] == '*';
}

static bool is_star(const p2pc_idtab *ids, uint32_t id) {
  size_t len;
  const char *nm = p2pc_idtab_name(ids, id, &len);
  return nm && star_name((const uint8_t *)nm, len);
}

int p2pc_wire_ses_put(p2pc_buf *out, const p2pc_ses_msg *m,
                      const p2pc_idtab *ids, p2pc_wire_scratch *scratch,
                      const p2pc_allocator *a, size_t *meta_bytes) {
  size_t start = out->len;
  int rv;
  if (m->sender == m->dest || m->sender >= ids->n || m->dest >= ids->n ||
      m->n == 0 || m->prev >= m->n || m->stamp == 0 ||
      m->ndeps > P2PC_SES_MAX_DEPS || (!m->payload && m->payload_len) ||
      (!m->ls && m->nls) || is_star(ids, m->sender))
    return P2PC_ERR_INVAL;
  if ((rv = scratch_grow(scratch, ids->n, m->ndeps, a)) != 0)
    return rv;
  uint32_t *map = scratch->map, *order = scratch->order;
  /* The dictionary: sender, dest, then the others by name. */
  uint32_t nd = 0;
  order[nd++] = m->sender;
  map[m->sender] = nd;
  order[nd++] = m->dest;
  map[m->dest] = nd;
  for (uint32_t i = 0; i < m->ndeps; i++) {
    const p2pc_ses_dep *e = &m->deps[i];
    if (e->dest >= ids->n || e->sender >= ids->n || e->dest == e->sender ||
        e->dest == m->sender || e->n == 0 || e->stamp == 0 ||
        e->stamp >= m->stamp || e->hops > P2PC_SES_MAX_HOPS ||
        is_star(ids, e->sender)) {
      rv = P2PC_ERR_INVAL;
      goto done;
    }
    if (!map[e->dest]) {
      order[nd++] = e->dest;
      map[e->dest] = nd;
    }
    if (!map[e->sender]) {
      order[nd++] = e->sender;
      map[e->sender] = nd;
    }
  }
  if ((rv = sort_by_name(order + 2, nd - 2, ids, scratch, a)) != 0)
    goto done;
  for (uint32_t i = 2; i < nd; i++)
    map[order[i]] = i + 1;
  sesdep *sd = scratch->deps;
  for (uint32_t i = 0; i < m->ndeps; i++)
    sd[i] = (sesdep){map[m->deps[i].dest] - 1, map[m->deps[i].sender] - 1,
                     m->deps[i].n, m->deps[i].stamp, m->deps[i].hops};
  if (m->ndeps > 1)
    qsort(sd, m->ndeps, sizeof *sd, cmp_sesdep);
  for (uint32_t i = 1; i < m->ndeps; i++)
    if (sd[i].d == sd[i - 1].d && sd[i].s == sd[i - 1].s) {
      rv = P2PC_ERR_INVAL; /* one entry per (dest, sender) */
      goto done;
    }
  PUT(p2pc_buf_put_varint(out, nd));
  for (uint32_t i = 0; i < nd; i++) {
    size_t len;
    const char *nm = p2pc_idtab_name(ids, order[i], &len);
    PUT(p2pc_buf_put_u8(out, (uint8_t)len));
    PUT(p2pc_buf_put(out, nm, len));
  }
  PUT(p2pc_buf_put_varint(out, m->n));
  PUT(p2pc_buf_put_varint(out, m->prev));
  PUT(p2pc_buf_put_varint(out, m->stamp));
  PUT(p2pc_buf_put_varint(out, m->ndeps));
  for (uint32_t i = 0; i < m->ndeps; i++) {
    bool same = i > 0 && sd[i].d == sd[i - 1].d;
    PUT(p2pc_buf_put_varint(out, i == 0 ? sd[i].d : sd[i].d - sd[i - 1].d));
    PUT(p2pc_buf_put_varint(out, same ? sd[i].s - sd[i - 1].s - 1 : sd[i].s));
    PUT(p2pc_buf_put_varint(out, sd[i].n));
    PUT(p2pc_buf_put_varint(out, m->stamp - sd[i].stamp));
    PUT(p2pc_buf_put_varint(out, sd[i].hops));
  }
  /* LS values: by dictionary index, each the sender's or an entry
   * sender's. A list put_ls refuses leaves nothing of the message. */
  if (m->nls) {
    PUT(put_ls(out, m, map, ids->n, sd, nd, scratch, a));
  } else {
    PUT(p2pc_buf_put_varint(out, 0));
  }
  size_t meta = out->len - start;
  PUT(p2pc_buf_put_varint(out, m->payload_len));
  if (m->payload_len)
    PUT(p2pc_buf_put(out, m->payload, m->payload_len));
  if (meta_bytes)
    *meta_bytes = meta;
  rv = 0;
  goto done;
err:
  out->len = start;
done:
  for (uint32_t i = 0; i < nd; i++)
    map[order[i]] = 0;
  return rv;
}

int p2pc_wire_ses_commit(p2pc_idtab *ids, const p2pc_ses_msg *m) {
  for (uint32_t k = 0; k < m->nnew; k++) {
    uint32_t id;
    int rv = p2pc_idtab_intern(ids, (const char *)m->new_names[k],
                               m->new_lens[k], &id);
    if (rv)
      return rv;
  }
  return 0;
}

int p2pc_wire_ses_get(const uint8_t *b, size_t len, const p2pc_idtab *ids,
                      const p2pc_allocator *a, p2pc_ses_msg *m) {
  p2pc_reader r;
  uint64_t ndict, n, prev, stamp, ndeps, plen;
  uint32_t *local = NULL;
  uint8_t *mark = NULL;
  p2pc_ses_msg tmp;
  int rv = P2PC_ERR_PROTO;

  p2pc_ses_msg_init(&tmp);
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &ndict) || ndict < 2 || ndict > ids->limit ||
      ndict * 2 > p2pc_reader_left(&r))
    return P2PC_ERR_PROTO;
  /* Pass 1: valid names, the others ascending (so no repeats among them),
   * and the two ends distinct from each other and from the rest. "*" is
   * a name here but no sender: never dict[0], never an entry's sender. */
  size_t dict_off = r.off;
  uint64_t star = ndict;
  const uint8_t *prevp = NULL, *ends[2] = {0};
  uint8_t prevl = 0, endl[2] = {0};
  for (uint64_t i = 0; i < ndict; i++) {
    uint8_t l;
    const uint8_t *p;
    if (!p2pc_reader_u8(&r, &l) || !p2pc_reader_bytes(&r, l, &p))
      return P2PC_ERR_PROTO;
    if (i > 0 && star_name(p, l))
      star = i;
    else if (!p2pc_id_valid((const char *)p, l))
      return P2PC_ERR_PROTO;
    if (i < 2) {
      ends[i] = p;
      endl[i] = l;
      continue;
    }
    if (prevp && cmp_name(prevp, prevl, p, l) >= 0)
      return P2PC_ERR_PROTO;
    if (cmp_name(ends[0], endl[0], p, l) == 0 ||
        cmp_name(ends[1], endl[1], p, l) == 0)
      return P2PC_ERR_PROTO;
    prevp = p;
    prevl = l;
  }
  if (cmp_name(ends[0], endl[0], ends[1], endl[1]) == 0)
    return P2PC_ERR_PROTO; /* sender == dest */
  size_t after_dict = r.off;
  if (!p2pc_reader_varint(&r, &n) || !p2pc_reader_varint(&r, &prev) ||
      !p2pc_reader_varint(&r, &stamp) || !p2pc_reader_varint(&r, &ndeps) ||
      n == 0 || prev >= n || stamp == 0 || ndeps > P2PC_SES_MAX_DEPS ||
      ndeps * 5 > p2pc_reader_left(&r))
    return P2PC_ERR_PROTO;

  local = a->realloc(NULL, (size_t)ndict * sizeof *local, a->ud);
  if (!local)
    return P2PC_ERR_NOMEM;
  /* Pass 2: known names get their ids, new ones provisional ids after the
   * table's end; nothing is interned until the caller commits. */
  p2pc_reader_init(&r, b + dict_off, after_dict - dict_off);
  for (uint64_t i = 0; i < ndict; i++) {
    uint8_t l;
    const uint8_t *p;
    p2pc_reader_u8(&r, &l);
    p2pc_reader_bytes(&r, l, &p);
    if (i < 2) {
      *(i == 0 ? &tmp.sender_name : &tmp.dest_name) = (const char *)p;
      *(i == 0 ? &tmp.sender_len : &tmp.dest_len) = l;
    }
    if (p2pc_idtab_find(ids, (const char *)p, l, &local[i]) == 0)
      continue;
    if (!tmp.new_names) {
      tmp.new_names = a->realloc(NULL, ndict * sizeof *tmp.new_names, a->ud);
      tmp.new_lens = a->realloc(NULL, ndict, a->ud);
      if (!tmp.new_names || !tmp.new_lens) {
        rv = P2PC_ERR_NOMEM;
        goto out;
      }
    }
    if (ids->n + (uint64_t)tmp.nnew >= ids->limit) {
      rv = P2PC_ERR_FULL;
      goto out;
    }
    local[i] = ids->n + tmp.nnew;
    tmp.new_names[tmp.nnew] = p;
    tmp.new_lens[tmp.nnew++] = l;
  }
  p2pc_reader_init(&r, b, len);
  r.off = after_dict;
  p2pc_reader_varint(&r, &n);
  p2pc_reader_varint(&r, &prev);
  p2pc_reader_varint(&r, &stamp);
  p2pc_reader_varint(&r, &ndeps);
  if (ndeps) {
    tmp.deps = a->realloc(NULL, (size_t)ndeps * sizeof *tmp.deps, a->ud);
    if (!tmp.deps) {
      rv = P2PC_ERR_NOMEM;
      goto out;
    }
    tmp.capdeps = (uint32_t)ndeps;
  }
  /* Every name past the two ends must be mentioned by some entry: mark[]
   * bit 1 = mentioned, bit 2 = an entry's sender. */
  mark = a->realloc(NULL, (size_t)ndict, a->ud);
  if (!mark) {
    rv = P2PC_ERR_NOMEM;
    goto out;
  }
  memset(mark, 0, (size_t)ndict);
  mark[0] = 3;
  uint64_t d = 0, s = 0;
  rv = P2PC_ERR_PROTO;
  for (uint64_t i = 0; i < ndeps; i++) {
    uint64_t dg, sv, en, sd, hp;
    if (!p2pc_reader_varint(&r, &dg) || !p2pc_reader_varint(&r, &sv) ||
        !p2pc_reader_varint(&r, &en) || !p2pc_reader_varint(&r, &sd) ||
        !p2pc_reader_varint(&r, &hp) || hp > P2PC_SES_MAX_HOPS)
      goto out;
    if (i > 0 && dg == 0) {
      if (sv >= ndict - s - 1)
        goto out;
      s = s + 1 + sv;
    } else {
      if (dg >= ndict - d)
        goto out;
      d += dg;
      s = sv;
    }
    if (s >= ndict || d == 0 || d == s || s == star || en == 0 || sd == 0 ||
        sd >= stamp)
      goto out;
    tmp.deps[i] =
        (p2pc_ses_dep){local[d], local[s], en, stamp - sd, (uint32_t)hp};
    tmp.ndeps++;
    mark[d] |= 1;
    mark[s] |= 3;
  }
  /* The dictionary lists exactly the names used. */
  for (uint64_t i = 2; i < ndict; i++)
    if (!mark[i])
      goto out;
  uint64_t nls;
  if (!p2pc_reader_varint(&r, &nls) || nls > ndict)
    goto out;
  if (nls) {
    tmp.ls = a->realloc(NULL, (size_t)nls * sizeof *tmp.ls, a->ud);
    if (!tmp.ls) {
      rv = P2PC_ERR_NOMEM;
      goto out;
    }
    tmp.ls_owned = true;
  }
  for (uint64_t i = 0, idx = 0; i < nls; i++) {
    uint64_t g, dl;
    if (!p2pc_reader_varint(&r, &g) || !p2pc_reader_varint(&r, &dl) ||
        (i && g == 0) || g >= ndict - idx || dl == 0 || dl >= stamp)
      goto out;
    idx += g;
    if (!(mark[idx] & 2))
      goto out;
    tmp.ls[tmp.nls++] = (p2pc_ses_ls){local[idx], stamp - dl};
  }
  const uint8_t *payload;
  if (!p2pc_reader_varint(&r, &plen) || plen != p2pc_reader_left(&r) ||
      !p2pc_reader_bytes(&r, (size_t)plen, &payload))
    goto out;
  /* The encoder sorts by dictionary index; the core wants (dest, sender)
   * in its own ids. */
  if (tmp.ndeps > 1)
    qsort(tmp.deps, tmp.ndeps, sizeof *tmp.deps, cmp_dep);
  tmp.sender = local[0];
  tmp.dest = local[1];
  tmp.n = n;
  tmp.prev = prev;
  tmp.stamp = stamp;
  tmp.payload = payload;
  tmp.payload_len = (size_t)plen;
  p2pc_ses_msg_fini(m, a);
  *m = tmp;
  p2pc_ses_msg_init(&tmp);
  rv = (int)len;
out:
  p2pc_ses_msg_fini(&tmp, a);
  a->free(local, a->ud);
  a->free(mark, a->ud);
  return rv;
}

int p2pc_wire_ses_peek(const uint8_t *b, size_t len, const char **sender,
                       uint8_t *sender_len, const char **dest,
                       uint8_t *dest_len, uint64_t *n) {
  p2pc_reader r;
  uint64_t ndict, num;
  const uint8_t *ends[2] = {0};
  uint8_t endl[2] = {0};
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &ndict) || ndict < 2 ||
      ndict * 2 > p2pc_reader_left(&r))
    return P2PC_ERR_PROTO;
  for (uint64_t i = 0; i < ndict; i++) {
    uint8_t l;
    const uint8_t *p;
    if (!p2pc_reader_u8(&r, &l) || l == 0 || !p2pc_reader_bytes(&r, l, &p))
      return P2PC_ERR_PROTO;
    if (i < 2) {
      ends[i] = p;
      endl[i] = l;
    }
  }
  if (!p2pc_id_valid((const char *)ends[0], endl[0]) ||
      !p2pc_reader_varint(&r, &num) || num == 0)
    return P2PC_ERR_PROTO;
  *sender = (const char *)ends[0];
  *sender_len = endl[0];
  *dest = (const char *)ends[1];
  *dest_len = endl[1];
  *n = num;
  return 0;
}
