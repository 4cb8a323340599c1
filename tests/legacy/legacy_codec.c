/* SPDX-License-Identifier: MIT */
/*
 * The SES message codec of the oracle (legacy_ses.h): a frozen copy of the
 * SES part of src/core/wire.c at commit 9a2694a, symbols renamed lses_.
 * Do not change its behaviour: its bytes are the reference.
 *
 * As in the original, the decoder validates the whole message before
 * writing any output, and the encoding is canonical (minimal varints,
 * sorted entries, no trailing bytes): the decoder accepts exactly the
 * bytes the encoder produces.
 */
#include "legacy_ses.h"

#include <stdlib.h>
#include <string.h>

/* Appends a sequence of puts atomically: on error, out is rolled back. */
#define PUT(expr)                                                              \
  do {                                                                         \
    if ((rv = (expr)) != 0)                                                    \
      goto err;                                                                \
  } while (0)

/* ---- SES messages ---------------------------------------------------- */

void lses_ses_msg_init(lses_ses_msg *m) {
  memset(m, 0, sizeof *m);
  lses_vclock_init(&m->ts);
}

void lses_ses_msg_fini(lses_ses_msg *m, const p2pc_allocator *a) {
  a->free(m->new_names, a->ud);
  a->free(m->new_lens, a->ud);
  lses_vclock_fini(&m->ts, a);
  for (uint32_t i = 0; i < m->ndeps; i++)
    lses_vclock_fini(&m->deps[i].t, a);
  a->free(m->deps, a->ud);
  lses_ses_msg_init(m);
}

const lses_ses_pair *lses_ses_msg_pair(const lses_ses_msg *m, uint32_t dest) {
  uint32_t lo = 0, hi = m->ndeps;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (m->deps[mid].dest < dest)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < m->ndeps && m->deps[lo].dest == dest ? &m->deps[lo] : NULL;
}

void lses_wire_scratch_fini(lses_wire_scratch *s, const p2pc_allocator *a) {
  a->free(s->vec, a->ud);
  a->free(s->map, a->ud);
  a->free(s->order, a->ud);
  memset(s, 0, sizeof *s);
}

typedef struct dict {
  lses_wire_scratch *s;
  uint32_t n;
} dict;

static int dict_prepare(dict *d, lses_wire_scratch *s, uint32_t nids,
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
    uint32_t *order = a->realloc(s->order, (size_t)nids * sizeof *order, a->ud);
    if (!order)
      return P2PC_ERR_NOMEM;
    s->order = order;
    s->ocap = nids;
  }
  d->s = s;
  d->n = 0;
  return 0;
}

static uint32_t dict_add(dict *d, uint32_t id) {
  if (!d->s->map[id]) {
    d->s->order[d->n] = id;
    d->s->map[id] = ++d->n;
  }
  return d->s->map[id] - 1;
}

static void dict_clear(dict *d) {
  for (uint32_t i = 0; i < d->n; i++)
    d->s->map[d->s->order[i]] = 0;
}

struct lses_ientry {
  uint32_t idx;
  uint64_t v;
};
typedef struct lses_ientry ientry;

static int cmp_ientry(const void *x, const void *y) {
  const ientry *a = x, *b = y;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int cmp_u32(const void *x, const void *y) {
  uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
  return a < b ? -1 : a > b;
}

/*
 * The dictionary lists sender and destination first, then every other ID in
 * ascending local id. Entries taken from a clock (ascending local id) are
 * therefore in ascending dictionary index except for the (at most two)
 * entries with index 0 and 1: moving those to the front sorts the array in
 * O(n), with no comparison sort per vector.
 */
static void front_first_two(ientry *e, uint32_t n) {
  ientry lead[2];
  uint32_t nl = 0, k = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (e[i].idx < 2)
      lead[nl++] = e[i];
    else
      e[k++] = e[i];
  }
  if (!nl)
    return;
  memmove(e + nl, e, k * sizeof *e);
  if (nl == 2 && lead[0].idx > lead[1].idx) {
    ientry x = lead[0];
    lead[0] = lead[1];
    lead[1] = x;
  }
  memcpy(e, lead, nl * sizeof *e);
}

/* Writes count, then (idx delta, value) entries; e must be in ascending
 * dictionary index (see front_first_two). */
static int put_ivec(p2pc_buf *out, const ientry *e, uint32_t n) {
  int rv;
  size_t start = out->len;
  uint32_t prev = 0;
  PUT(p2pc_buf_put_varint(out, n));
  for (uint32_t i = 0; i < n; i++) {
    PUT(p2pc_buf_put_varint(out, e[i].idx - prev));
    PUT(p2pc_buf_put_varint(out, e[i].v));
    prev = e[i].idx;
  }
  return 0;
err:
  out->len = start;
  return rv;
}

/* Size of a pair's vector as absolute values and as differences from ts;
 * the difference form is possible only when t <= ts (always true for a
 * correct SES sender, but we do not rely on it). */
static size_t ivec_size(const ientry *e, uint32_t n) {
  size_t sz = p2pc_varint_len(n);
  for (uint32_t i = 0; i < n; i++)
    sz += 2 + p2pc_varint_len(e[i].v); /* idx delta is ~1 byte */
  return sz;
}

int lses_wire_ses_put(p2pc_buf *out, const lses_ses_msg *m,
                      const p2pc_idtab *ids, lses_wire_scratch *scratch,
                      const p2pc_allocator *a, size_t *meta_bytes) {
  int rv;
  dict d;
  ientry *tmp = NULL, *alt = NULL;
  size_t start = out->len;
  uint32_t maxn = m->ts.n;

  for (uint32_t i = 0; i < m->ndeps; i++)
    if (m->deps[i].t.n > maxn)
      maxn = m->deps[i].t.n;
  if ((rv = dict_prepare(&d, scratch, ids->n, a)) != 0)
    return rv;
  /* Two work vectors, kept in the scratch between messages. */
  if (scratch->vcap < maxn + 1) {
    void *x =
        a->realloc(scratch->vec, 2 * ((size_t)maxn + 1) * sizeof *tmp, a->ud);
    if (!x) {
      rv = P2PC_ERR_NOMEM;
      goto err;
    }
    scratch->vec = x;
    scratch->vcap = maxn + 1;
  }
  tmp = scratch->vec;
  alt = tmp + scratch->vcap;
  /* Dictionary: sender, dest, then every other ID in ascending local id. */
  dict_add(&d, m->sender);
  dict_add(&d, m->dest);
  for (uint32_t i = 0; i < m->ts.n; i++)
    dict_add(&d, m->ts.e[i].id);
  for (uint32_t i = 0; i < m->ndeps; i++) {
    dict_add(&d, m->deps[i].dest);
    for (uint32_t k = 0; k < m->deps[i].t.n; k++)
      dict_add(&d, m->deps[i].t.e[k].id);
  }
  qsort(scratch->order + 2, d.n - 2, sizeof *scratch->order, cmp_u32);
  for (uint32_t i = 2; i < d.n; i++)
    scratch->map[scratch->order[i]] = i + 1;

  PUT(p2pc_buf_put_varint(out, m->n));
  PUT(p2pc_buf_put_varint(out, m->dseq));
  PUT(p2pc_buf_put_varint(out, d.n));
  for (uint32_t i = 0; i < d.n; i++) {
    size_t len;
    const char *nm = p2pc_idtab_name(ids, scratch->order[i], &len);
    PUT(p2pc_buf_put_u8(out, (uint8_t)len));
    PUT(p2pc_buf_put(out, nm, len));
  }
  for (uint32_t i = 0; i < m->ts.n; i++) {
    tmp[i].idx = scratch->map[m->ts.e[i].id] - 1;
    tmp[i].v = m->ts.e[i].v;
  }
  front_first_two(tmp, m->ts.n);
  PUT(put_ivec(out, tmp, m->ts.n));

  /* Pairs in ascending dictionary index of their destination. */
  ientry *order =
      a->realloc(NULL, ((size_t)m->ndeps + 1) * sizeof *order, a->ud);
  if (!order) {
    rv = P2PC_ERR_NOMEM;
    goto err;
  }
  for (uint32_t i = 0; i < m->ndeps; i++) {
    order[i].idx = scratch->map[m->deps[i].dest] - 1;
    order[i].v = i;
  }
  front_first_two(order, m->ndeps); /* deps are sorted by local dest id */
  rv = p2pc_buf_put_varint(out, m->ndeps);
  for (uint32_t i = 0; i < m->ndeps && !rv; i++) {
    const lses_vclock *t = &m->deps[order[i].v].t;
    uint32_t na = 0, nd = 0;
    for (uint32_t k = 0; k < t->n; k++) {
      tmp[na].idx = scratch->map[t->e[k].id] - 1;
      tmp[na++].v = t->e[k].v;
    }
    /* Differences from ts, possible only when t <= ts (always so for a
     * correct SES sender; checked rather than assumed). */
    bool delta_ok = lses_vclock_leq(t, &m->ts);
    for (uint32_t k = 0, j = 0; k < m->ts.n && delta_ok; k++) {
      uint64_t tv = 0;
      while (j < t->n && t->e[j].id < m->ts.e[k].id)
        j++;
      if (j < t->n && t->e[j].id == m->ts.e[k].id)
        tv = t->e[j].v;
      if (tv < m->ts.e[k].v) {
        alt[nd].idx = scratch->map[m->ts.e[k].id] - 1;
        alt[nd++].v = m->ts.e[k].v - tv;
      }
    }
    front_first_two(tmp, na);
    front_first_two(alt, nd);
    bool use_delta = delta_ok && ivec_size(alt, nd) < ivec_size(tmp, na);
    rv = p2pc_buf_put_varint(out, ((uint64_t)order[i].idx << 1) | use_delta);
    if (!rv)
      rv = use_delta ? put_ivec(out, alt, nd) : put_ivec(out, tmp, na);
  }
  a->free(order, a->ud);
  if (rv)
    goto err;
  size_t meta = out->len - start;
  PUT(p2pc_buf_put_varint(out, m->payload_len));
  PUT(p2pc_buf_put(out, m->payload, m->payload_len));
  if (meta_bytes)
    *meta_bytes = meta;
  dict_clear(&d);
  return 0;
err:
  dict_clear(&d);
  out->len = start;
  return rv;
}

/* Reads an index vector into e[0..*n) (dict indices), checking indices are
 * strictly ascending and below ndict and values non-zero. */
static bool get_ivec(p2pc_reader *r, uint32_t ndict, ientry *e, uint32_t *n) {
  uint64_t count, idx = 0;
  if (!p2pc_reader_varint(r, &count) || count > ndict) {
    r->ok = false;
    return false;
  }
  for (uint64_t i = 0; i < count; i++) {
    uint64_t dlt, v;
    if (!p2pc_reader_varint(r, &dlt) || !p2pc_reader_varint(r, &v) ||
        (i > 0 && dlt == 0) || dlt >= ndict || idx + dlt >= ndict || v == 0) {
      r->ok = false;
      return false;
    }
    idx += dlt;
    e[i].idx = (uint32_t)idx;
    e[i].v = v;
  }
  *n = (uint32_t)count;
  return true;
}

static int cmp_entry_id(const void *x, const void *y) {
  const lses_vc_entry *a = x, *b = y;
  return a->id < b->id ? -1 : a->id > b->id;
}

/* Dictionary index -> local id, and the dictionary ranked by local id, so
 * that a dense vector is put in local-id order by one sweep instead of a
 * comparison sort (the sender's and the receiver's id orders differ). */
typedef struct remap {
  const uint32_t *local; /* dict index -> local id */
  uint32_t *rank;        /* dict index -> position in local-id order */
  uint32_t *bylocal;     /* position -> local id */
  uint64_t *slot;        /* position -> value; all zero between uses */
  uint32_t ndict;
} remap;

/* Converts dict-indexed entries to a clock of local ids. */
static int ivec_to_clock(const remap *rm, const ientry *e, uint32_t n,
                         lses_vclock *vc, const p2pc_allocator *a) {
  lses_vclock_clear(vc);
  if (n == 0)
    return 0;
  lses_vc_entry *x = a->realloc(vc->e, (size_t)n * sizeof *x, a->ud);
  if (!x)
    return P2PC_ERR_NOMEM;
  vc->e = x;
  vc->cap = n;
  if ((uint64_t)n * 8 < rm->ndict) {
    /* Sparse: sorting n entries beats sweeping the dictionary. */
    for (uint32_t i = 0; i < n; i++) {
      x[i].id = rm->local[e[i].idx];
      x[i].v = e[i].v;
    }
    qsort(x, n, sizeof *x, cmp_entry_id);
  } else {
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
      rm->slot[rm->rank[e[i].idx]] = e[i].v;
    for (uint32_t pos = 0; pos < rm->ndict && k < n; pos++) {
      if (rm->slot[pos]) {
        x[k].id = rm->bylocal[pos];
        x[k++].v = rm->slot[pos];
        rm->slot[pos] = 0;
      }
    }
  }
  vc->n = n;
  return 0;
}

static int cmp_pair(const void *x, const void *y) {
  const lses_ses_pair *a = x, *b = y;
  return a->dest < b->dest ? -1 : a->dest > b->dest;
}

typedef struct newname {
  const uint8_t *p;
  uint8_t len;
} newname;

static int cmp_newname(const void *x, const void *y) {
  const newname *a = x, *b = y;
  if (a->len != b->len)
    return a->len < b->len ? -1 : 1;
  return memcmp(a->p, b->p, a->len);
}

int lses_wire_ses_commit(p2pc_idtab *ids, const lses_ses_msg *m) {
  for (uint32_t k = 0; k < m->nnew; k++) {
    uint32_t id;
    int rv = p2pc_idtab_intern(ids, (const char *)m->new_names[k],
                               m->new_lens[k], &id);
    if (rv)
      return rv;
  }
  return 0;
}

int lses_wire_ses_get(const uint8_t *b, size_t len, const p2pc_idtab *ids,
                      const p2pc_allocator *a, lses_ses_msg *m) {
  p2pc_reader r;
  uint64_t n, dseq, ndict, npairs, plen;
  const uint8_t *names[2] = {0};
  uint8_t nlen[2] = {0};
  uint32_t *local = NULL;
  ientry *ts = NULL, *e = NULL;
  void *work = NULL;
  remap rm = {0};
  lses_ses_msg tmp;
  int rv = P2PC_ERR_PROTO;

  lses_ses_msg_init(&tmp);
  p2pc_reader_init(&r, b, len);
  if (!p2pc_reader_varint(&r, &n) || !p2pc_reader_varint(&r, &dseq) ||
      !p2pc_reader_varint(&r, &ndict) || n == 0 || dseq == 0 || ndict < 2 ||
      ndict > ids->limit || ndict * 2 > p2pc_reader_left(&r))
    return P2PC_ERR_PROTO;

  /* Pass 1: the dictionary must be valid and free of repeats before
   * anything is interned (a repeat would alias two indices). */
  size_t dict_off = r.off;
  for (uint64_t i = 0; i < ndict; i++) {
    uint8_t l;
    const uint8_t *p;
    if (!p2pc_reader_u8(&r, &l) || !p2pc_reader_bytes(&r, l, &p) ||
        !p2pc_id_valid((const char *)p, l))
      return P2PC_ERR_PROTO;
    if (i < 2) {
      names[i] = p;
      nlen[i] = l;
    }
  }
  if (nlen[0] == nlen[1] && memcmp(names[0], names[1], nlen[0]) == 0)
    return P2PC_ERR_PROTO; /* sender == dest */
  size_t after_dict = r.off;

  /* The six work arrays in one block (one allocation per message, not
   * six): 8-byte members first, so every array stays aligned. */
  size_t nd = (size_t)ndict;
  work = a->realloc(
      NULL, nd * (2 * sizeof(ientry) + sizeof(uint64_t) + 3 * sizeof(uint32_t)),
      a->ud);
  if (work) {
    ts = (ientry *)work;
    e = ts + nd;
    rm.slot = (uint64_t *)(e + nd);
    local = (uint32_t *)(rm.slot + nd);
    rm.rank = local + nd;
    rm.bylocal = rm.rank + nd;
  }
  if (!work) {
    rv = P2PC_ERR_NOMEM;
    goto out;
  }
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
  /* Two new names alike would get two provisional ids: look for them. */
  if (tmp.nnew > 1) {
    newname *nn = a->realloc(NULL, tmp.nnew * sizeof *nn, a->ud);
    if (!nn) {
      rv = P2PC_ERR_NOMEM;
      goto out;
    }
    for (uint32_t k = 0; k < tmp.nnew; k++)
      nn[k] = (newname){tmp.new_names[k], tmp.new_lens[k]};
    qsort(nn, tmp.nnew, sizeof *nn, cmp_newname);
    bool twice = false;
    for (uint32_t k = 1; k < tmp.nnew; k++)
      twice |= cmp_newname(&nn[k - 1], &nn[k]) == 0;
    a->free(nn, a->ud);
    if (twice) {
      rv = P2PC_ERR_PROTO;
      goto out;
    }
  }
  /* Rank the dictionary by local id (ts is free as the work area here); a
   * name listed twice would alias two indices and shows up as neighbours. */
  for (uint64_t i = 0; i < ndict; i++)
    ts[i] = (ientry){local[i], i};
  qsort(ts, ndict, sizeof *ts, cmp_ientry);
  for (uint64_t i = 0; i < ndict; i++) {
    if (i > 0 && ts[i].idx == ts[i - 1].idx) {
      rv = P2PC_ERR_PROTO;
      goto out;
    }
    rm.bylocal[i] = ts[i].idx;
    rm.rank[ts[i].v] = (uint32_t)i;
  }
  memset(rm.slot, 0, (size_t)ndict * sizeof *rm.slot);
  rm.local = local;
  rm.ndict = (uint32_t)ndict;
  rv = P2PC_ERR_PROTO;
  p2pc_reader_init(&r, b, len);
  r.off = after_dict;

  uint32_t nts;
  if (!get_ivec(&r, (uint32_t)ndict, ts, &nts) || nts == 0)
    goto out;
  if ((rv = ivec_to_clock(&rm, ts, nts, &tmp.ts, a)) != 0)
    goto out;
  rv = P2PC_ERR_PROTO;
  /* The send ticked the sender's entry, so it is at least n. */
  if (lses_vclock_get(&tmp.ts, local[0]) < n)
    goto out;

  if (!p2pc_reader_varint(&r, &npairs) || npairs > ndict - 1)
    goto out;
  if (npairs) {
    tmp.deps = a->realloc(NULL, (size_t)npairs * sizeof *tmp.deps, a->ud);
    if (!tmp.deps) {
      rv = P2PC_ERR_NOMEM;
      goto out;
    }
    tmp.capdeps = (uint32_t)npairs;
  }
  uint64_t prev_dest = 0;
  for (uint64_t i = 0; i < npairs; i++) {
    uint64_t hdr;
    uint32_t ne;
    if (!p2pc_reader_varint(&r, &hdr))
      goto out;
    uint64_t di = hdr >> 1;
    bool delta = hdr & 1;
    /* Ascending, not the sender (V never holds a pair about its owner). */
    if (di >= ndict || di == 0 || (i > 0 && di <= prev_dest))
      goto out;
    prev_dest = di;
    lses_vclock_init(&tmp.deps[i].t);
    if (!get_ivec(&r, (uint32_t)ndict, e, &ne))
      goto out;
    if (delta) {
      /* Entries are ts[idx] - value; absent entries equal ts. Every idx
       * must be in ts and the value at most ts there. */
      uint32_t k = 0, out_n = 0;
      ientry *full = a->realloc(NULL, ((size_t)nts + 1) * sizeof *full, a->ud);
      if (!full) {
        rv = P2PC_ERR_NOMEM;
        goto out;
      }
      bool bad = false;
      for (uint32_t j = 0; j < nts; j++) {
        uint64_t v = ts[j].v;
        if (k < ne && e[k].idx == ts[j].idx) {
          if (e[k].v > v)
            bad = true;
          v -= e[k].v;
          k++;
        } else if (k < ne && e[k].idx < ts[j].idx) {
          bad = true; /* an index that ts lacks */
        }
        if (v)
          full[out_n++] = (ientry){ts[j].idx, v};
      }
      if (k != ne)
        bad = true;
      if (!bad)
        rv = ivec_to_clock(&rm, full, out_n, &tmp.deps[i].t, a);
      a->free(full, a->ud);
      if (bad || rv) {
        if (!rv || bad)
          rv = P2PC_ERR_PROTO;
        lses_vclock_fini(&tmp.deps[i].t, a);
        goto out;
      }
    } else {
      if ((rv = ivec_to_clock(&rm, e, ne, &tmp.deps[i].t, a)) != 0) {
        lses_vclock_fini(&tmp.deps[i].t, a);
        goto out;
      }
    }
    rv = P2PC_ERR_PROTO;
    tmp.deps[i].dest = local[di];
    tmp.ndeps++;
  }
  const uint8_t *payload;
  if (!p2pc_reader_varint(&r, &plen) || plen != p2pc_reader_left(&r) ||
      !p2pc_reader_bytes(&r, (size_t)plen, &payload))
    goto out;
  if (tmp.ndeps) /* qsort(NULL, 0, ...) is undefined behaviour */
    qsort(tmp.deps, tmp.ndeps, sizeof *tmp.deps, cmp_pair);
  tmp.sender = local[0];
  tmp.dest = local[1];
  tmp.n = n;
  tmp.dseq = dseq;
  tmp.payload = payload;
  tmp.payload_len = (size_t)plen;
  lses_ses_msg_fini(m, a);
  *m = tmp;
  lses_ses_msg_init(&tmp);
  rv = (int)len;
out:
  lses_ses_msg_fini(&tmp, a);
  a->free(work, a->ud);
  return rv;
}
