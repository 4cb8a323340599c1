/* SPDX-License-Identifier: MIT */
/*
 * The causal oracle of evcheck.h: its life (new, free), its settings, and
 * finish, which gives the verdict. How it works, and which file does
 * what: evcheck_internal.h.
 */
#include "evcheck_internal.h"

#include <stdlib.h>
#include <string.h>

p2pc_evcheck *p2pc_evcheck_new(void) {
  state *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  p2pc_idtab_init(&s->ids, p2pc_allocator_default(), MAX_INCS);
  s->limit = MAX_CELLS;
  s->tolerance_ns = P2PC_EVCHECK_EXPIRY_TOLERANCE_DEFAULT_NS;
  return s;
}

void p2pc_evcheck_free(p2pc_evcheck *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->nincs; i++) {
    free(s->incs[i].sesid);
    free(s->incs[i].node);
  }
  for (size_t i = 0; i < s->nstreams; i++)
    free(s->streams[i].name);
  for (size_t i = 0; i < s->nlisted; i++)
    free(s->listed[i]);
  ccheck_free(s->c);
  free(s->streams);
  free(s->buf);
  free(s->incs);
  p2pc_idtab_fini(&s->ids);
  free(s->msgs);
  free(s->mslots);
  free(s->recs);
  p2pc__evcheck_bcast_free(s);
  free(s->waits);
  free(s->exps);
  free(s);
}

void p2pc_evcheck_set_diag(p2pc_evcheck *s,
                           void (*fn)(void *ud, bool warning, const char *text),
                           void *ud) {
  s->diag = fn;
  s->diag_ud = ud;
}

int p2pc_evcheck_name(p2pc_evcheck *s, uint32_t stream, const char *name) {
  cursor *c = p2pc__evcheck_get_stream(s, stream);
  char *copy = c ? p2pc__evcheck_dupstr(s, name) : NULL;
  if (!copy)
    return -1;
  free(c->name);
  c->name = copy;
  return 0;
}

void p2pc_evcheck_set_limit(p2pc_evcheck *s, uint64_t max_cells) {
  s->limit = max_cells;
  s->limit_early = true;
  p2pc__evcheck_check_limit(s);
}

void p2pc_evcheck_set_expiry_tolerance(p2pc_evcheck *s, uint64_t ns) {
  s->tolerance_ns = ns < MAX_TOLERANCE_NS ? ns : MAX_TOLERANCE_NS;
}

void p2pc_evcheck_count_error(p2pc_evcheck *s) { s->errors++; }

void p2pc_evcheck_settle_mark(p2pc_evcheck *s) { s->settling = true; }

void p2pc_evcheck_cut(p2pc_evcheck *s, bool open, int64_t net_ns) {
  if (open) {
    if (s->ncuts < P2PC_EVCHECK_MAX_CUTS)
      s->cut_heal[s->ncuts++] = INT64_MAX;
    s->cut_open = s->ncuts; /* the last one when out of room */
  } else if (s->cut_open) {
    s->cut_heal[s->cut_open - 1] = net_ns;
    s->cut_open = 0;
  }
}

/* Whether message m, sent during a partition, may be lost with sender or
 * receiver leaving before the partition healed and settled. */
bool p2pc__evcheck_cut_excused(const state *s, const msgrec *m, const inc *snd,
                               const inc *dst) {
  if (!m->cut)
    return false;
  int64_t heal = s->cut_heal[m->cut - 1];
  if (heal == INT64_MAX)
    return true;
  int64_t until = heal > INT64_MAX - (int64_t)P2PC_EVCHECK_CUT_SETTLE_NS
                      ? INT64_MAX
                      : heal + (int64_t)P2PC_EVCHECK_CUT_SETTLE_NS;
  return (dst && dst->last_net < until) || (snd && snd->last_net < until);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int p2pc_evcheck_finish(p2pc_evcheck *s, p2pc_evcheck_result *r) {
  int st;
  if (s->finished) {
    st = P2PC_EVCHECK_NOMEM; /* a second call: no verdict to give */
  } else if (s->nomem) {
    st = P2PC_EVCHECK_NOMEM;
  } else if (s->errors) {
    st = P2PC_EVCHECK_BADINPUT;
  } else if (s->nincs == 0) {
    st = P2PC_EVCHECK_EMPTY;
  } else if (s->too_large || (uint64_t)s->nincs * s->nmsgs > s->limit) {
    st = P2PC_EVCHECK_TOOLARGE;
  } else {
    st = P2PC_EVCHECK_CHECKED;
  }
  if (!s->finished) {
    s->finished = true;
    p2pc__evcheck_count_incs(s);
    if (st == P2PC_EVCHECK_CHECKED) {
      if (p2pc__evcheck_run_checker(s) < 0 || s->nomem)
        st = P2PC_EVCHECK_NOMEM;
      else if (s->nwaits)
        qsort(s->waits, s->nwaits, sizeof *s->waits, cmp_u64);
    }
  }
  p2pc__evcheck_fill_result(s, r);
  if (st != P2PC_EVCHECK_CHECKED) {
    /* No verdict: no violations either. */
    memset(r->by_kind, 0, sizeof r->by_kind);
    r->violations = 0;
    r->nlisted = 0;
    r->first = NULL;
  }
  return st;
}
