/* SPDX-License-Identifier: MIT */
/*
 * The traffic phase: random sends and broadcasts at --rate a node, spent
 * as credit on control requests; the kill and the restart when their time
 * comes; and the causal chain rounds that make a hold-back happen, each
 * moved on as the receiver's and the relays' event logs show deliveries
 * (demo_events.h).
 *
 * Hold-back on purpose: one node (the slow node, never the one killed)
 * runs with --chaos-delay 0:1500, so each of its messages waits a random
 * 0..1.5 s before it goes out (in order on each link, not across links).
 * A causal chain round: the slow node sends several messages to a
 * receiver, then one to each of up to three relays; as soon as a relay's
 * event log shows that message delivered, the relay sends one to the
 * receiver. That message depends on everything the slow node had sent
 * before, so if it arrives before the last of the slow messages (whose
 * delay is the largest of several draws), SES must hold it back. A round
 * fails to show this only if every relay's hop is slower than the slowest
 * of the receiver's messages; over the rounds of a run that is negligible,
 * and if no message was held by the end of the traffic, rounds go on
 * (bounded) until one is.
 */
#include "demo_traffic.h"

#include <stdio.h>
#include <string.h>

#include "cJSON.h"
#include "demo_ctl.h"
#include "demo_events.h"
#include "demo_ntp.h"
#include "demo_proc.h"
#include "demo_view.h"

/* One traffic request from node i: a send to a random other node, or one
 * time in BROADCAST_ONE_IN a broadcast. Refusals are counted by cause. */
static void traffic_one(p2pc_demo *d, int i, uint64_t seq) {
  p2pc_demo_node *n = &d->n[i];
  bool bc = rnd(d) % BROADCAST_ONE_IN == 0;
  char text[96];
  cJSON *req = cJSON_CreateObject();
  snprintf(text, sizeof text, "%s from %s #%llu", bc ? "news" : "hello", n->id,
           (unsigned long long)seq);
  if (!req || !cJSON_AddStringToObject(req, "cmd", bc ? "broadcast" : "send") ||
      !cJSON_AddStringToObject(req, "text", text)) {
    cJSON_Delete(req);
    d->failed++;
    return;
  }
  /* The neighbour broadcast (one message per peer, counted in bc_peers):
   * the demo's mesh is full, and its report counts per destination. */
  if (bc && !cJSON_AddStringToObject(req, "scope", "neighbours")) {
    cJSON_Delete(req);
    d->failed++;
    return;
  }
  if (!bc) {
    int to = (int)(rnd(d) % (uint64_t)(d->o.nodes - 1));
    if (to >= i)
      to++;
    if (!cJSON_AddStringToObject(req, "to", d->n[to].id)) {
      cJSON_Delete(req);
      d->failed++;
      return;
    }
  }
  cJSON *a = p2pc__demo_call(n, req, CALL_MS);
  cJSON_Delete(req);
  if (!a) {
    d->failed++;
  } else if (p2pc__demo_ans_ok(a)) {
    if (bc) {
      d->broadcasts++;
      d->bc_peers += (uint64_t)p2pc__demo_num(a, "peers");
    } else {
      d->sends++;
    }
  } else {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(a, "error");
    const char *es = cJSON_IsString(e) ? e->valuestring : "?";
    if (strstr(es, "back-pressure"))
      d->refused_bp++;
    else if (strstr(es, "no session"))
      d->refused_nosess++;
    else {
      d->refused_other++;
      if (!d->other_error[0])
        snprintf(d->other_error, sizeof d->other_error, "%s", es);
    }
  }
  cJSON_Delete(a);
}

/* The chain round and the example hear of every delivery. */
void p2pc__demo_chain_on_delivery(p2pc_demo *d, const p2pc_holdback_ev *ev) {
  p2pc_demo_chain *c = &d->ch;
  p2pc_demo_example *x = &d->ex;
  if (ev->kind == P2PC_HOLDBACK_RELEASED && ev->after[0] && !x->set) {
    /* a hold of the random traffic: the example until a chain's comes */
    *x = (p2pc_demo_example){.set = true,
                             .receiver = (int)ev->node,
                             .relay = -1,
                             .waited_ns = ev->waited_ns};
    snprintf(x->held, sizeof x->held, "%s", ev->msg);
    snprintf(x->after, sizeof x->after, "%s", ev->after);
  }
  if (!c->active)
    return;
  for (int j = 0; j < c->nrelays; j++)
    if ((int)ev->node == c->relay[j] && strcmp(ev->msg, c->hint[j]) == 0)
      c->hint_got[j] = true;
  if ((int)ev->node != d->recv)
    return;
  for (int k = 0; k < CHAIN_SLOW; k++)
    if (strcmp(ev->msg, c->slow[k]) == 0 && c->open > 0)
      c->open--;
  for (int j = 0; j < c->nrelays; j++) {
    if (strcmp(ev->msg, c->follow[j]) != 0)
      continue;
    if (c->open > 0)
      c->open--;
    if (ev->kind == P2PC_HOLDBACK_RELEASED && !c->held) {
      c->held = true;
      c->held_rounds++;
    }
    /* the example tells the round's story: only if what released the
     * relay's message was the slow link's (it may have waited for other
     * traffic as well) */
    bool by_slow = false;
    for (int k = 0; k < CHAIN_SLOW; k++)
      by_slow = by_slow || (ev->after[0] && strcmp(ev->after, c->slow[k]) == 0);
    if (ev->kind != P2PC_HOLDBACK_RELEASED || !by_slow || x->chain)
      continue;
    *x = (p2pc_demo_example){.set = true,
                             .chain = true,
                             .receiver = d->recv,
                             .relay = c->relay[j],
                             .waited_ns = ev->waited_ns};
    snprintf(x->held, sizeof x->held, "%s", ev->msg);
    snprintf(x->after, sizeof x->after, "%s", ev->after);
    snprintf(x->hint, sizeof x->hint, "%s", c->hint[j]);
    snprintf(x->slow_first, sizeof x->slow_first, "%s", c->slow[0]);
    for (int k = 0; k < CHAIN_SLOW && c->slow[k][0]; k++)
      snprintf(x->slow_last, sizeof x->slow_last, "%s", c->slow[k]);
  }
}

/* Node from sends text to node to; true with the message's id in id. */
static bool chain_send(p2pc_demo *d, int from, int to, const char *text,
                       char *id) {
  cJSON *req = cJSON_CreateObject();
  bool ok = req && cJSON_AddStringToObject(req, "cmd", "send") &&
            cJSON_AddStringToObject(req, "to", d->n[to].id) &&
            cJSON_AddStringToObject(req, "text", text);
  cJSON *a = ok ? p2pc__demo_call(&d->n[from], req, CALL_MS) : NULL;
  cJSON_Delete(req);
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(a, "msg");
  ok = a && p2pc__demo_ans_ok(a) && cJSON_IsString(m) &&
       strlen(m->valuestring) < ID_LEN;
  if (ok) {
    strcpy(id, m->valuestring);
    d->ch.sends++;
  } else {
    d->ch.refused++;
  }
  cJSON_Delete(a);
  return ok;
}

/* Starts a round when the slow node, the receiver and a relay are up:
 * CHAIN_SLOW messages over the slow link, then one to each relay (the
 * relays rotate over the other nodes). */
static void chain_start(p2pc_demo *d) {
  p2pc_demo_chain *c = &d->ch;
  if (!p2pc__demo_ready(&d->n[d->slow]) || !p2pc__demo_ready(&d->n[d->recv]))
    return;
  c->nrelays = 0;
  for (int k = 0; k < d->o.nodes && c->nrelays < CHAIN_RELAYS; k++) {
    int i = (c->next_relay + k) % d->o.nodes;
    if (i != d->slow && i != d->recv && p2pc__demo_ready(&d->n[i]))
      c->relay[c->nrelays++] = i;
  }
  if (c->nrelays == 0)
    return;
  c->next_relay = (c->relay[0] + 1) % d->o.nodes;
  memset(c->slow, 0, sizeof c->slow);
  memset(c->hint, 0, sizeof c->hint);
  memset(c->follow, 0, sizeof c->follow);
  memset(c->hint_got, 0, sizeof c->hint_got);
  memset(c->follow_sent, 0, sizeof c->follow_sent);
  c->open = 0;
  c->held = false;
  c->next_at = now_s() + 1.0; /* if this one cannot start */
  int round = c->rounds + 1;
  char text[96], names[64] = "";
  for (int k = 0; k < CHAIN_SLOW; k++) {
    snprintf(text, sizeof text, "chain %d: slow %d of %d", round, k + 1,
             CHAIN_SLOW);
    if (!chain_send(d, d->slow, d->recv, text, c->slow[k]))
      return; /* those sent are traffic like any other */
    c->open++;
  }
  for (int j = 0; j < c->nrelays; j++) {
    snprintf(text, sizeof text, "chain %d: pass it on to %s", round,
             d->n[d->recv].id);
    if (!chain_send(d, d->slow, c->relay[j], text, c->hint[j]))
      c->follow_sent[j] = true; /* nothing to pass on */
    size_t l = strlen(names);
    snprintf(names + l, sizeof names - l, "%s%s", j ? ", " : "",
             d->n[c->relay[j]].id);
  }
  c->rounds = round;
  c->active = true;
  c->started = now_s();
  if (d->tty || round == 1)
    p2pc__demo_note(
        d,
        "causal chain %d: %s sends %d messages to %s over its slow link, "
        "then one to %s",
        round, d->n[d->slow].id, CHAIN_SLOW, d->n[d->recv].id, names);
}

/* Moves the round on: a relay that got its message writes to the
 * receiver; the round ends once the receiver has delivered all of it (or
 * after CHAIN_GIVE_UP_S); the next starts CHAIN_GAP_S later. */
static void chain_step(p2pc_demo *d) {
  p2pc_demo_chain *c = &d->ch;
  if (d->recv < 0)
    return;
  double t = now_s();
  if (!c->active) {
    if (t >= c->next_at)
      chain_start(d);
    return;
  }
  bool done = true;
  for (int j = 0; j < c->nrelays; j++) {
    p2pc_demo_node *r = &d->n[c->relay[j]];
    if (c->follow_sent[j])
      continue;
    if (r->pid <= 0) {
      c->follow_sent[j] = true; /* killed: gone from this round */
      continue;
    }
    if (!c->hint_got[j]) {
      done = false;
      continue;
    }
    char text[ID_LEN + 48], h[ID_LEN], f[ID_LEN], s0[ID_LEN];
    snprintf(text, sizeof text, "chain %d: after %s", c->rounds, c->hint[j]);
    c->follow_sent[j] = true;
    if (!chain_send(d, c->relay[j], d->recv, text, c->follow[j]))
      continue;
    c->open++;
    if (d->tty || c->rounds == 1) {
      p2pc__demo_show_id(d, c->hint[j], h, sizeof h);
      p2pc__demo_show_id(d, c->follow[j], f, sizeof f);
      p2pc__demo_show_id(d, c->slow[CHAIN_SLOW - 1], s0, sizeof s0);
      p2pc__demo_note(d, "%s got %s and writes %s to %s: it depends on %s",
                      r->id, h, f, d->n[d->recv].id, s0);
    }
  }
  if ((done && c->open == 0) || t - c->started > CHAIN_GIVE_UP_S) {
    c->active = false;
    c->next_at = t + CHAIN_GAP_S;
  }
}

/* The traffic phase. Returns 0, or -1 if interrupted. */
int p2pc__demo_run_traffic(p2pc_demo *d) {
  double last = now_s(), next_view = 0;
  uint64_t seq = 0;
  double view_every = d->tty ? TABLE_EVERY_S : LINE_EVERY_S;
  d->t0 = now_s();
  bool extra = false; /* past the duration: chains only, until a hold */
  if (d->victim >= 0)
    p2pc__demo_note(d, "%s will be killed at %.1f s and restarted at %.1f s",
                    d->n[d->victim].id, d->kill_t, d->restart_t);
  if (d->recv >= 0)
    p2pc__demo_note(
        d,
        "%s is the slow node: each of its messages waits 0..%d ms before it "
        "goes out",
        d->n[d->slow].id, SLOW_DELAY_MS);
  else
    p2pc__demo_note(
        d, "with 2 nodes no message can arrive before one it depends on: "
           "nothing will be held back");
  while (!p2pc__demo_stop_signal) {
    double t = now_s(), dt = t - last, e = t - d->t0;
    last = t;
    p2pc__demo_reap(d);
    if (d->victim >= 0 && !d->killed && e >= d->kill_t)
      p2pc__demo_kill_victim(d);
    if (d->victim >= 0 && d->killed && !d->restarted && e >= d->restart_t)
      p2pc__demo_restart_victim(d);
    p2pc__demo_tail_all(d);
    if (e >= d->o.duration) {
      if (d->recv < 0 || d->holds > 0 || e >= d->o.duration + CHAIN_EXTRA_S)
        break;
      if (!extra)
        p2pc__demo_note(
            d,
            "no message has been held back yet: more causal chains, for at "
            "most %.0f s",
            CHAIN_EXTRA_S);
      extra = true;
    }
    p2pc__demo_ntp_tick(d);
    chain_step(d);
    for (int i = 0; i < d->o.nodes && !p2pc__demo_stop_signal && !extra; i++) {
      p2pc_demo_node *n = &d->n[i];
      if (n->pid <= 0) {
        n->credit = 0;
        continue;
      }
      /* a stall never turns into a burst: at most half a second owed */
      n->credit += d->o.rate * dt;
      if (n->credit > d->o.rate * 0.5 + 1)
        n->credit = d->o.rate * 0.5 + 1;
      while (n->credit >= 1 && !p2pc__demo_stop_signal) {
        n->credit -= 1;
        traffic_one(d, i, ++seq);
      }
    }
    if (now_s() - d->t0 >= next_view) {
      next_view = now_s() - d->t0 + view_every;
      p2pc__demo_poll_status(d);
      if (d->tty)
        p2pc__demo_draw_table(d, extra ? "more chains" : "running");
      else
        p2pc__demo_print_line(d);
    }
    sleep_ms(TICK_MS);
  }
  if (p2pc__demo_stop_signal)
    return -1;
  if (d->victim >= 0 && d->killed && !d->restarted)
    p2pc__demo_restart_victim(
        d); /* a short demo ends before the restart time */
  return 0;
}
