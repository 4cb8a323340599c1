/* SPDX-License-Identifier: MIT */
/*
 * The hold-back tracker of demo_holdback.h: per node, its vector clock as
 * its own log shows it and the messages it holds, each with the clock
 * components its SES pair still wanted when it was held.
 */
#include "demo_holdback.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

/* Missing components kept per held message to find what released it; a
 * hold that misses more is reported without its cause. */
#define WANTS_MAX 8

typedef struct comp {
  char id[P2PC_HOLDBACK_ID_MAX + 1];
  uint64_t v;
} comp;

typedef struct held {
  char msg[P2PC_HOLDBACK_ID_MAX + 1], from[P2PC_HOLDBACK_ID_MAX + 1];
  char after[P2PC_HOLDBACK_ID_MAX + 1]; /* "" until its wants are met */
  uint32_t nwants;
  bool too_many; /* more wants than WANTS_MAX: cause unknown */
  comp wants[WANTS_MAX];
} held;

/* A send as its sender's log showed it: the message, its destination and
 * the sender's own clock component, which numbers the send event. */
typedef struct sent {
  char msg[P2PC_HOLDBACK_ID_MAX + 1], to[P2PC_HOLDBACK_ID_MAX + 1];
  uint64_t own;
} sent;

typedef struct hnode {
  char inc[P2PC_HOLDBACK_ID_MAX + 1]; /* its incarnation, "" before start */
  sent *sends;                        /* a ring, allocated on first use */
  uint32_t nsends, next_send;
  uint32_t nvc;
  comp vc[P2PC_HOLDBACK_VC_MAX];
  held *held; /* oldest first */
  uint32_t nheld, capheld;
  uint64_t total;
} hnode;

struct p2pc_holdback {
  uint32_t n;
  hnode *nodes;
  char *line; /* a NUL-terminated copy of the line being read */
};

p2pc_holdback *p2pc_holdback_new(uint32_t nodes) {
  if (nodes == 0 || nodes > P2PC_HOLDBACK_NODES_MAX)
    return NULL;
  p2pc_holdback *hb = calloc(1, sizeof *hb);
  if (!hb)
    return NULL;
  hb->n = nodes;
  hb->nodes = calloc(nodes, sizeof *hb->nodes);
  hb->line = malloc(P2PC_HOLDBACK_LINE_MAX + 1);
  if (!hb->nodes || !hb->line) {
    p2pc_holdback_free(hb);
    return NULL;
  }
  return hb;
}

void p2pc_holdback_free(p2pc_holdback *hb) {
  if (!hb)
    return;
  for (uint32_t i = 0; hb->nodes && i < hb->n; i++) {
    free(hb->nodes[i].held);
    free(hb->nodes[i].sends);
  }
  free(hb->nodes);
  free(hb->line);
  free(hb);
}

uint64_t p2pc_holdback_total(const p2pc_holdback *hb, uint32_t node) {
  return node < hb->n ? hb->nodes[node].total : 0;
}

uint32_t p2pc_holdback_now(const p2pc_holdback *hb, uint32_t node) {
  return node < hb->n ? hb->nodes[node].nheld : 0;
}

/* ---- small helpers ------------------------------------------------------ */

static bool copy_id(char *out, const cJSON *s) {
  if (!cJSON_IsString(s) || strlen(s->valuestring) > P2PC_HOLDBACK_ID_MAX)
    return false;
  strcpy(out, s->valuestring);
  return true;
}

static uint64_t get_u64(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
      v->valuedouble >= 18446744073709551616.0)
    return 0;
  return (uint64_t)v->valuedouble;
}

static uint64_t vc_get(const hnode *h, const char *id) {
  for (uint32_t i = 0; i < h->nvc; i++)
    if (strcmp(h->vc[i].id, id) == 0)
      return h->vc[i].v;
  return 0;
}

/* Raises node h's clock to at least the vector vc (a JSON object). A
 * component past P2PC_HOLDBACK_VC_MAX is not kept (it then reads as 0). */
static void vc_merge(hnode *h, const cJSON *vc) {
  const cJSON *e;
  cJSON_ArrayForEach(e, vc) {
    if (!cJSON_IsNumber(e) || !e->string ||
        strlen(e->string) > P2PC_HOLDBACK_ID_MAX || !(e->valuedouble >= 0))
      continue;
    uint64_t v = (uint64_t)e->valuedouble;
    uint32_t i = 0;
    while (i < h->nvc && strcmp(h->vc[i].id, e->string) != 0)
      i++;
    if (i == h->nvc) {
      if (h->nvc == P2PC_HOLDBACK_VC_MAX)
        continue;
      strcpy(h->vc[h->nvc].id, e->string);
      h->vc[h->nvc++].v = 0;
    }
    if (v > h->vc[i].v)
      h->vc[i].v = v;
  }
}

static bool wants_met(const hnode *h, const held *m) {
  for (uint32_t i = 0; i < m->nwants; i++)
    if (vc_get(h, m->wants[i].id) < m->wants[i].v)
      return false;
  return true;
}

static held *find_held(hnode *h, const char *msg) {
  for (uint32_t i = 0; i < h->nheld; i++)
    if (strcmp(h->held[i].msg, msg) == 0)
      return &h->held[i];
  return NULL;
}

static void remove_held(hnode *h, held *m) {
  size_t i = (size_t)(m - h->held);
  memmove(m, m + 1, (h->nheld - i - 1) * sizeof *m);
  h->nheld--;
}

/* A new slot at the end, the oldest forgotten if the table is full; NULL
 * only if out of memory. */
static held *add_held(hnode *h) {
  if (h->nheld == P2PC_HOLDBACK_HELD_MAX)
    remove_held(h, &h->held[0]);
  if (h->nheld == h->capheld) {
    uint32_t cap = h->capheld ? h->capheld * 2 : 8;
    if (cap > P2PC_HOLDBACK_HELD_MAX)
      cap = P2PC_HOLDBACK_HELD_MAX;
    held *nh = realloc(h->held, cap * sizeof *nh);
    if (!nh)
      return NULL;
    h->held = nh;
    h->capheld = cap;
  }
  held *m = &h->held[h->nheld++];
  memset(m, 0, sizeof *m);
  return m;
}

/* Notes a send of node h: msg to `to`, numbered by the sender's own
 * component of vc (the sender's incarnation is msg up to its last ':'). */
static void note_send(hnode *h, const char *msg, const char *to,
                      const cJSON *vc) {
  const char *colon = strrchr(msg, ':');
  if (!colon)
    return;
  char self[P2PC_HOLDBACK_ID_MAX + 1];
  snprintf(self, sizeof self, "%.*s", (int)(colon - msg), msg);
  const cJSON *own = cJSON_GetObjectItemCaseSensitive(vc, self);
  if (!cJSON_IsNumber(own) || !(own->valuedouble >= 1))
    return;
  if (!h->sends) {
    h->sends = malloc(P2PC_HOLDBACK_SENDS_MAX * sizeof *h->sends);
    if (!h->sends)
      return; /* only the naming of waited-for messages suffers */
  }
  sent *e = &h->sends[h->next_send];
  h->next_send = (h->next_send + 1) % P2PC_HOLDBACK_SENDS_MAX;
  if (h->nsends < P2PC_HOLDBACK_SENDS_MAX)
    h->nsends++;
  strcpy(e->msg, msg);
  strcpy(e->to, to);
  e->own = (uint64_t)own->valuedouble;
}

/* The message that incarnation who sent to `to` as its event number own,
 * if some node's log showed it; NULL if not. */
static const char *find_send(const p2pc_holdback *hb, const char *who,
                             uint64_t own, const char *to) {
  size_t wl = strlen(who);
  for (uint32_t i = 0; i < hb->n; i++) {
    const hnode *h = &hb->nodes[i];
    for (uint32_t k = 0; k < h->nsends; k++) {
      const sent *e = &h->sends[k];
      if (e->own == own && strncmp(e->msg, who, wl) == 0 && e->msg[wl] == ':' &&
          strcmp(e->to, to) == 0)
        return e->msg;
    }
  }
  return NULL;
}

/* ---- the kinds of lines ------------------------------------------------- */

static void on_buffer(const p2pc_holdback *hb, hnode *h, const cJSON *j,
                      p2pc_holdback_ev *ev) {
  const cJSON *waits = cJSON_GetObjectItemCaseSensitive(j, "waits");
  const cJSON *vc = cJSON_GetObjectItemCaseSensitive(waits, "vc"), *e;
  h->total++;
  held *m = add_held(h);
  if (m) {
    strcpy(m->msg, ev->msg);
    strcpy(m->from, ev->peer);
  }
  cJSON_ArrayForEach(e, vc) {
    if (!cJSON_IsNumber(e) || !e->string ||
        strlen(e->string) > P2PC_HOLDBACK_ID_MAX || !(e->valuedouble >= 0))
      continue;
    uint64_t need = (uint64_t)e->valuedouble, has = vc_get(h, e->string);
    if (has >= need)
      continue;
    if (ev->nwaits < P2PC_HOLDBACK_WAITS_MAX) {
      p2pc_holdback_wait *w = &ev->waits[ev->nwaits++];
      strcpy(w->who, e->string);
      w->need = need;
      w->has = has;
      const char *sm =
          h->inc[0] ? find_send(hb, e->string, need, h->inc) : NULL;
      if (sm)
        strcpy(w->msg, sm);
    } else {
      ev->more_waits++;
    }
    if (m && m->nwants < WANTS_MAX) {
      strcpy(m->wants[m->nwants].id, e->string);
      m->wants[m->nwants++].v = need;
    } else if (m) {
      m->too_many = true;
    }
  }
  if (m && m->nwants == 0)
    m->too_many = true; /* not waiting on the clock: cause unknown */
  ev->kind = P2PC_HOLDBACK_HELD;
}

static void on_deliver(hnode *h, const cJSON *j, p2pc_holdback_ev *ev) {
  vc_merge(h, cJSON_GetObjectItemCaseSensitive(j, "vc"));
  ev->waited_ns = get_u64(j, "waited_ns");
  held *m = find_held(h, ev->msg);
  if (m) {
    strcpy(ev->after, m->after);
    remove_held(h, m);
    ev->kind = P2PC_HOLDBACK_RELEASED;
  } else {
    ev->kind =
        ev->waited_ns > 0 ? P2PC_HOLDBACK_RELEASED : P2PC_HOLDBACK_DELIVER;
  }
  /* This delivery may be the one a held message waited for (a message
   * released just now may itself be one). */
  for (uint32_t i = 0; i < h->nheld; i++) {
    held *o = &h->held[i];
    if (!o->after[0] && !o->too_many && wants_met(h, o))
      strcpy(o->after, ev->msg);
  }
}

p2pc_holdback_kind p2pc_holdback_line(p2pc_holdback *hb, uint32_t node,
                                      const char *line, size_t len,
                                      p2pc_holdback_ev *ev) {
  memset(ev, 0, sizeof *ev);
  ev->kind = P2PC_HOLDBACK_NONE;
  ev->node = node;
  if (node >= hb->n || len > P2PC_HOLDBACK_LINE_MAX)
    return ev->kind;
  memcpy(hb->line, line, len);
  hb->line[len] = '\0';
  /* Most lines are clock samples: skip them unparsed. */
  static const char *const kinds[] = {"\"ev\":\"send\"", "\"ev\":\"deliver\"",
                                      "\"ev\":\"buffer\"", "\"ev\":\"drop\"",
                                      "\"ev\":\"start\""};
  bool wanted = false;
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && !wanted; k++)
    wanted = strstr(hb->line, kinds[k]) != NULL;
  if (!wanted)
    return ev->kind;
  cJSON *j = cJSON_Parse(hb->line);
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "ev");
  if (!cJSON_IsObject(j) || !cJSON_IsString(kind))
    goto out;
  hnode *h = &hb->nodes[node];
  const char *k = kind->valuestring;
  ev->mono_ns = get_u64(j, "mono");
  if (strcmp(k, "start") == 0) {
    /* a new incarnation: a fresh clock, and what the old one held is
     * gone with it */
    h->nvc = 0;
    h->nheld = 0;
    copy_id(ev->msg, cJSON_GetObjectItemCaseSensitive(j, "sesid"));
    strcpy(h->inc, ev->msg);
    ev->kind = P2PC_HOLDBACK_START;
    goto out;
  }
  bool is_send = strcmp(k, "send") == 0;
  if (!copy_id(ev->msg, cJSON_GetObjectItemCaseSensitive(j, "msg")) ||
      !copy_id(ev->peer,
               cJSON_GetObjectItemCaseSensitive(j, is_send ? "to" : "from")))
    goto out;
  if (is_send) {
    const cJSON *vc = cJSON_GetObjectItemCaseSensitive(j, "vc");
    vc_merge(h, vc);
    note_send(h, ev->msg, ev->peer, vc);
    ev->kind = P2PC_HOLDBACK_SEND;
  } else if (strcmp(k, "buffer") == 0) {
    on_buffer(hb, h, j, ev);
  } else if (strcmp(k, "deliver") == 0) {
    on_deliver(h, j, ev);
  } else if (strcmp(k, "drop") == 0) {
    held *m = find_held(h, ev->msg);
    if (m)
      remove_held(h, m);
    ev->kind = P2PC_HOLDBACK_DROPPED;
  }
out:
  cJSON_Delete(j);
  if (ev->kind == P2PC_HOLDBACK_NONE) {
    unsigned keep = ev->node;
    memset(ev, 0, sizeof *ev);
    ev->node = keep;
  }
  return ev->kind;
}
