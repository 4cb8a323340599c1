/* SPDX-License-Identifier: MIT */
/*
 * The hold-back tracker of demo_holdback.h: per node, the messages it
 * holds, each with the message it waits for, and the run of deliveries in
 * progress (see the header: what released a message).
 */
#include "demo_holdback.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

typedef struct held {
  char msg[P2PC_HOLDBACK_ID_MAX + 1];
  char waits[P2PC_HOLDBACK_ID_MAX + 1]; /* "" if the line named none */
  uint64_t waits_run; /* the run in which `waits` was delivered, 0: none */
} held;

typedef struct hnode {
  held *held; /* oldest first */
  uint32_t nheld, capheld;
  uint64_t total;
  /* The run of deliveries in progress: its number (0: none), its mono,
   * and its first delivery if that was not a release ("" otherwise). */
  uint64_t run, runs, run_mono;
  char trigger[P2PC_HOLDBACK_ID_MAX + 1];
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
  for (uint32_t i = 0; hb->nodes && i < hb->n; i++)
    free(hb->nodes[i].held);
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

/* ---- the kinds of lines ------------------------------------------------- */

static void on_buffer(hnode *h, const cJSON *j, p2pc_holdback_ev *ev) {
  const cJSON *waits = cJSON_GetObjectItemCaseSensitive(j, "waits");
  if (!copy_id(ev->waits, cJSON_GetObjectItemCaseSensitive(waits, "msg")))
    ev->waits[0] = '\0';
  uint64_t unmet = get_u64(waits, "unmet");
  ev->unmet = unmet > UINT32_MAX ? UINT32_MAX : (uint32_t)unmet;
  h->total++;
  held *m = add_held(h);
  if (m) {
    strcpy(m->msg, ev->msg);
    strcpy(m->waits, ev->waits);
  }
  ev->kind = P2PC_HOLDBACK_HELD;
}

static void on_deliver(hnode *h, const cJSON *j, p2pc_holdback_ev *ev) {
  ev->waited_ns = get_u64(j, "waited_ns");
  held *m = find_held(h, ev->msg);
  /* the lines of a turn share their mono: a delivery in the same turn
   * right after another continues its run */
  if (!h->run || h->run_mono != ev->mono_ns) {
    h->run = ++h->runs;
    h->run_mono = ev->mono_ns;
    /* the first delivery of a run released the rest, unless it was
     * released itself (by an expiry or a retirement) */
    bool released = m || ev->waited_ns > 0;
    strcpy(h->trigger, released ? "" : ev->msg);
  }
  if (m) {
    strcpy(ev->after, m->waits_run == h->run ? m->waits : h->trigger);
    remove_held(h, m);
    ev->kind = P2PC_HOLDBACK_RELEASED;
  } else if (ev->waited_ns > 0) {
    /* held, but forgotten: the run may still tell what released it */
    strcpy(ev->after, h->trigger);
    ev->kind = P2PC_HOLDBACK_RELEASED;
  } else {
    ev->kind = P2PC_HOLDBACK_DELIVER;
  }
  /* This delivery may be what a held message waits for. */
  for (uint32_t i = 0; i < h->nheld; i++)
    if (strcmp(h->held[i].waits, ev->msg) == 0)
      h->held[i].waits_run = h->run;
}

static bool is_deliver_line(const char *line) {
  return strstr(line, "\"ev\":\"deliver\"") != NULL;
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
  hnode *h = &hb->nodes[node];
  /* any other line ends a run of deliveries */
  if (!is_deliver_line(hb->line))
    h->run = 0;
  /* Most lines are clock samples: skip them unparsed. */
  static const char *const kinds[] = {
      "\"ev\":\"send\"", "\"ev\":\"deliver\"", "\"ev\":\"buffer\"",
      "\"ev\":\"drop\"", "\"ev\":\"start\"",   "\"ev\":\"undeliverable\""};
  bool wanted = false;
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && !wanted; k++)
    wanted = strstr(hb->line, kinds[k]) != NULL;
  if (!wanted)
    return ev->kind;
  cJSON *j = cJSON_Parse(hb->line);
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "ev");
  if (!cJSON_IsObject(j) || !cJSON_IsString(kind)) {
    h->run = 0;
    goto out;
  }
  const char *k = kind->valuestring;
  if (strcmp(k, "deliver") != 0)
    h->run = 0;
  ev->mono_ns = get_u64(j, "mono");
  if (strcmp(k, "start") == 0) {
    /* a new incarnation: what the old one held is gone with it */
    h->nheld = 0;
    copy_id(ev->msg, cJSON_GetObjectItemCaseSensitive(j, "sesid"));
    ev->kind = P2PC_HOLDBACK_START;
    goto out;
  }
  bool is_send = strcmp(k, "send") == 0;
  bool expiry = strcmp(k, "undeliverable") == 0;
  if (expiry && !cJSON_GetObjectItemCaseSensitive(j, "from"))
    goto out; /* the sender's: nothing held here */
  if (!copy_id(ev->msg, cJSON_GetObjectItemCaseSensitive(j, "msg")) ||
      !copy_id(ev->peer,
               cJSON_GetObjectItemCaseSensitive(j, is_send ? "to" : "from"))) {
    h->run = 0;
    goto out;
  }
  if (is_send) {
    ev->kind = P2PC_HOLDBACK_SEND;
  } else if (strcmp(k, "buffer") == 0) {
    on_buffer(h, j, ev);
  } else if (strcmp(k, "deliver") == 0) {
    on_deliver(h, j, ev);
  } else {
    held *m = find_held(h, ev->msg);
    if (m)
      remove_held(h, m);
    ev->kind = expiry ? P2PC_HOLDBACK_EXPIRED : P2PC_HOLDBACK_DROPPED;
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
