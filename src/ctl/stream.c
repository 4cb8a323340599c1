/* SPDX-License-Identifier: MIT */
/*
 * Subscriptions: a connection that sent {"cmd":"subscribe"} becomes a
 * stream of JSON lines, one per event it asked for — docs/EVENTS.md's
 * lines (p2pc_event_json, the one renderer), a deliver line also carrying
 * the payload ("text" or "b64", proto.h). The node's events come in
 * through p2pc_ctl_server_event; each subscriber's output is bounded
 * (server.c cuts off one that falls behind).
 */
#include "server_int.h"

#include <stdlib.h>
#include <string.h>

#include "event.h"

#define ALL_TYPES 32u /* event types are below this (bits of a uint32_t) */

static uint32_t type_bit(p2pc_event_type t) {
  return (unsigned)t < ALL_TYPES ? 1u << (unsigned)t : 0;
}

/* The bits of the event names (validated by the table), or of every
 * logged type for "*". */
static uint32_t events_mask(const cJSON *names) {
  uint32_t m = 0;
  const cJSON *it;
  if (!names)
    return type_bit(P2PC_EVENT_DELIVERED);
  cJSON_ArrayForEach(it, names) {
    for (int t = P2PC_EVENT_DELIVERED; t <= P2PC_EVENT_CLOCK_REJECTED; t++) {
      p2pc_event_type ty = (p2pc_event_type)t;
      if (p2pc_event_logged(ty) &&
          (strcmp(it->valuestring, "*") == 0 ||
           strcmp(it->valuestring, p2pc_event_name(ty)) == 0))
        m |= type_bit(ty);
    }
  }
  return m;
}

void p2pc_ctl_subscribe(p2pc_ctl_server *s, ctl_client *cc, const cJSON *req) {
  if (s->nsubscribers >= P2PC_CTL_SUBSCRIBERS_MAX) {
    p2pc_ctl_answer(cc, p2pc_ctl_err("subscribe: too many subscribers (the "
                                     "node takes 16)",
                                     NULL));
    return;
  }
  uint32_t m = events_mask(cJSON_GetObjectItemCaseSensitive(req, "events"));
  cJSON *o = cJSON_CreateObject();
  cJSON *arr = NULL;
  if (o && cJSON_AddBoolToObject(o, "ok", 1))
    arr = cJSON_AddArrayToObject(o, "events");
  if (!arr) {
    cJSON_Delete(o);
    p2pc_ctl_answer(cc, NULL);
    return;
  }
  for (int t = P2PC_EVENT_DELIVERED; t <= P2PC_EVENT_CLOCK_REJECTED; t++)
    if (m & type_bit((p2pc_event_type)t))
      cJSON_AddItemToArray(
          arr, cJSON_CreateString(p2pc_event_name((p2pc_event_type)t)));
  p2pc_ctl_answer(cc, o);
  if (cc->closing || cc->cut)
    return;
  cc->subscribed = true;
  cc->events = m;
  s->nsubscribers++;
}

static bool wants(const ctl_client *cc, uint32_t bit) {
  return cc->subscribed && !cc->cut && !cc->closing && (cc->events & bit);
}

void p2pc_ctl_server_event(p2pc_ctl_server *s, const p2pc_event *ev) {
  if (s && s->nheld && ev->type == P2PC_EVENT_RESOLVED && ev->peer)
    p2pc_ctl_held_resolved(s, ev->peer, ev->u.resolved.ok);
  if (!s || s->nsubscribers == 0)
    return;
  uint32_t bit = type_bit(ev->type);
  bool any = false;
  for (ctl_client *cc = s->clients; cc && !any; cc = cc->next)
    any = wants(cc, bit);
  if (!any)
    return;
  char head[P2PC_EVENT_JSON_MAX + 1];
  long n = p2pc_event_json(ev, s->h.id, head, sizeof head - 1);
  if (n <= 0)
    return;
  char *line = head, *big = NULL;
  size_t len = (size_t)n;
  if (ev->type == P2PC_EVENT_DELIVERED) {
    /* The log's line, the payload's field before its closing brace. */
    size_t cap = len + P2PC_CTL_PAYLOAD_FIELD_MAX(ev->len) + 2;
    big = malloc(cap);
    if (!big)
      return;
    memcpy(big, head, len - 1);
    long k = p2pc_ctl_payload_field(ev->payload, ev->len, big + len - 1,
                                    cap - (len - 1));
    if (k < 0) {
      free(big);
      return;
    }
    len = len - 1 + (size_t)k;
    big[len++] = '}';
    line = big;
  }
  line[len++] = '\n';
  for (ctl_client *cc = s->clients; cc; cc = cc->next)
    if (wants(cc, bit))
      p2pc_ctl_out(cc, line, len);
  free(big);
}
