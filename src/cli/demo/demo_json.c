/* SPDX-License-Identifier: MIT */
/*
 * The verdict as one JSON object on stdout (--json; its fields are
 * documented in docs/DEMO.md).
 */
#include "demo_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "demo_report.h"

static bool jnum(cJSON *o, const char *key, double v) {
  return cJSON_AddNumberToObject(o, key, v) != NULL;
}

static bool jstr(cJSON *o, const char *key, const char *v) {
  return (v ? cJSON_AddStringToObject(o, key, v)
            : cJSON_AddNullToObject(o, key)) != NULL;
}

static bool json_example(const p2pc_demo *d, cJSON *held) {
  const p2pc_demo_example *x = &d->ex;
  if (!x->set)
    return cJSON_AddNullToObject(held, "example") != NULL;
  cJSON *e = cJSON_AddObjectToObject(held, "example");
  char s1[768], s2[768], text[1540];
  p2pc__demo_example_text(d, s1, sizeof s1, s2, sizeof s2);
  snprintf(text, sizeof text, "%s %s", s1, s2);
  char from[ID_LEN];
  snprintf(from, sizeof from, "%.*s", (int)strcspn(x->held, "~:"), x->held);
  return e && jstr(e, "receiver", d->n[x->receiver].id) &&
         jstr(e, "held", x->held) && jstr(e, "from", from) &&
         jnum(e, "waited_ns", (double)x->waited_ns) &&
         jstr(e, "released_by", x->after) &&
         cJSON_AddBoolToObject(e, "chain", x->chain) &&
         jstr(e, "relay", x->chain ? d->n[x->relay].id : NULL) &&
         jstr(e, "relay_got", x->chain ? x->hint : NULL) &&
         jstr(e, "slow_first", x->chain ? x->slow_first : NULL) &&
         jstr(e, "slow_last", x->chain ? x->slow_last : NULL) &&
         jstr(e, "text", text);
}

static bool json_clocks(const p2pc_demo *d, const p2pc_demo_verdict *v,
                        cJSON *o) {
  cJSON *c = cJSON_AddObjectToObject(o, "clocks");
  bool ok = c && cJSON_AddBoolToObject(c, "ok", v->clocks_ok) &&
            cJSON_AddBoolToObject(c, "measured", d->final_done) &&
            jstr(c, "mode", d->o.clock_mode) &&
            jstr(c, "ref", d->final_done && !d->o.collab ? d->final_ref : NULL);
  if (ok && d->final_done)
    ok = jnum(c, "synced", d->final_nodes) &&
         jnum(c, "max_disagreement_ns", d->final_max) &&
         jnum(c, "median_disagreement_ns", d->final_median) &&
         jnum(c, "rounds_used", d->final_kept) &&
         jnum(c, "rounds", d->final_rounds);
  else if (ok)
    ok = cJSON_AddNullToObject(c, "synced") &&
         cJSON_AddNullToObject(c, "max_disagreement_ns") &&
         cJSON_AddNullToObject(c, "median_disagreement_ns") &&
         jnum(c, "rounds_used", d->final_kept) &&
         jnum(c, "rounds", d->final_rounds);
  return ok;
}

/* The checker's part; its counts are null when it gave no verdict. */
static bool json_checked(const p2pc_demo *d, const p2pc_demo_verdict *v,
                         cJSON *o) {
  const p2pc_evcheck_result *r = &v->r;
  cJSON *held = NULL, *lost = NULL, *list = NULL;
  if (!v->checked) {
    static const char *const keys[] = {
        "messages",         "to_self",          "delivered",
        "delivered_twice",  "order_violations", "never_delivered",
        "other_violations", "undeliverable",    "expired",
        "lost_with_killed", "held_back"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
      if (!cJSON_AddNullToObject(o, keys[k]))
        return false;
    return cJSON_AddArrayToObject(o, "first_violations") != NULL;
  }
  bool ok = jnum(o, "messages", (double)r->messages) &&
            jnum(o, "to_self", (double)r->self_sends) &&
            jnum(o, "delivered", (double)(r->delivered - v->twice)) &&
            jnum(o, "delivered_twice", (double)v->twice) &&
            jnum(o, "order_violations", (double)v->order) &&
            jnum(o, "never_delivered", (double)v->missing) &&
            jnum(o, "other_violations", (double)v->other) &&
            jnum(o, "undeliverable", (double)r->undeliverable) &&
            jnum(o, "expired", (double)r->expired) &&
            (lost = cJSON_AddObjectToObject(o, "lost_with_killed")) &&
            jnum(lost, "received_not_delivered", (double)r->lost_receiver) &&
            jnum(lost, "sent_not_out", (double)r->lost_sender) &&
            (held = cJSON_AddObjectToObject(o, "held_back")) &&
            jnum(held, "count", (double)r->waited) &&
            jnum(held, "median_ns", (double)r->waited_p50_ns) &&
            jnum(held, "p99_ns", (double)r->waited_p99_ns) &&
            jnum(held, "max_ns", (double)r->waited_max_ns) &&
            json_example(d, held) &&
            (list = cJSON_AddArrayToObject(o, "first_violations"));
  for (uint32_t i = 0; ok && i < r->nlisted; i++) {
    cJSON *str = cJSON_CreateString(r->listed[i]);
    ok = str && cJSON_AddItemToArray(list, str);
  }
  return ok;
}

/* Prints the verdict as one JSON object on stdout; -1 if out of memory or
 * stdout fails. */
int p2pc__demo_print_json(const p2pc_demo *d, const p2pc_demo_verdict *v,
                          int status, const char *logs) {
  char seed[24];
  snprintf(seed, sizeof seed, "%" PRIu64, d->seed);
  cJSON *o = cJSON_CreateObject(), *chains = NULL, *req = NULL, *probs = NULL;
  bool ok =
      o && cJSON_AddBoolToObject(o, "ok", v->ok) &&
      jstr(o, "verdict", v->word) && jnum(o, "exit_status", status) &&
      jstr(o, "seed", seed) && jnum(o, "nodes", d->o.nodes) &&
      jnum(o, "duration_s", d->o.duration) && jnum(o, "rate", d->o.rate) &&
      jstr(o, "killed", d->victim >= 0 ? d->n[d->victim].id : NULL) &&
      jstr(o, "slow_node", d->recv >= 0 ? d->n[d->slow].id : NULL) &&
      jnum(o, "slow_delay_ms", d->recv >= 0 ? SLOW_DELAY_MS : OTHER_DELAY_MS) &&
      jnum(o, "other_delay_ms", OTHER_DELAY_MS) &&
      (chains = cJSON_AddObjectToObject(o, "chains")) &&
      jstr(chains, "receiver", d->recv >= 0 ? d->n[d->recv].id : NULL) &&
      jnum(chains, "rounds", d->ch.rounds) &&
      jnum(chains, "held", d->ch.held_rounds) &&
      jnum(chains, "sends", (double)d->ch.sends) &&
      cJSON_AddBoolToObject(o, "checked", v->checked) &&
      json_checked(d, v, o) && json_clocks(d, v, o) &&
      (req = cJSON_AddObjectToObject(o, "requests")) &&
      jnum(req, "sends", (double)d->sends) &&
      jnum(req, "broadcasts", (double)d->broadcasts) &&
      jnum(req, "refused_back_pressure", (double)d->refused_bp) &&
      jnum(req, "refused_no_session", (double)d->refused_nosess) &&
      jnum(req, "refused_other", (double)(d->refused_other + d->ch.refused)) &&
      jnum(req, "unanswered", (double)d->failed) &&
      (probs = cJSON_AddArrayToObject(o, "problems")) && jstr(o, "logs", logs);
  for (int i = 0; ok && i < d->nproblems; i++) {
    cJSON *str = cJSON_CreateString(d->problems[i]);
    ok = str && cJSON_AddItemToArray(probs, str);
  }
  char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!text)
    return -1;
  int rv = printf("%s\n", text) < 0 || fflush(stdout) != 0 ? -1 : 0;
  free(text);
  return rv;
}
