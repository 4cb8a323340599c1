/* SPDX-License-Identifier: MIT */
/*
 * ses_overhead's drivers of the two cores, today's SES (lses_) and Δ-SES
 * (p2pc_causal_): their event callbacks, which check every delivery
 * (once, at its destination, in stream order), and one function per event
 * of the run: a send, an arrival, a round of delivery reports, a report's
 * arrival, and G (the minimum local stable time).
 */
#include "ses_overhead.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static uint32_t parse_node(const run *r, const char *name) {
  char *end;
  if (!name || name[0] != 'n')
    die("unexpected node name %s", name ? name : "(null)");
  unsigned long v = strtoul(name + 1, &end, 10);
  if (*end || v >= r->s->n)
    die("unexpected node name %s", name);
  return (uint32_t)v;
}

static void on_deliver(run *r, node *nd, const char *sender, uint64_t n,
                       const uint8_t *payload, size_t bytes) {
  uint32_t snd = parse_node(r, sender);
  node *sn = &r->nodes[snd];
  if (n == 0 || n > sn->nsent)
    die("%s: n%u delivered unknown message %s:%" PRIu64, r->v->name, nd->idx,
        sender, n);
  uint32_t mi = sn->sent[n - 1];
  if (r->s->dst[mi] != nd->idx)
    die("%s: message %u for n%u delivered at n%u", r->v->name, mi,
        r->s->dst[mi], nd->idx);
  if (r->delivered[mi]++)
    die("%s: message %u delivered twice", r->v->name, mi);
  if (bytes != PAYLOAD_LEN || !payload)
    die("%s: message %u: payload of %zu bytes", r->v->name, mi, bytes);
  uint64_t tag = 0;
  for (int k = 0; k < PAYLOAD_LEN; k++)
    tag = tag << 8 | payload[k];
  if (tag != mi)
    die("%s: message %u: payload says %" PRIu64, r->v->name, mi, tag);
  if (n <= nd->last_n[snd])
    die("%s: n%u delivered %s:%" PRIu64 " after %s:%" PRIu64
        " (stream out of send order)",
        r->v->name, nd->idx, sender, n, sender, nd->last_n[snd]);
  nd->last_n[snd] = n;
  nd->dirty[snd] = true;
  if (nd->ndeliv == nd->capdeliv) {
    nd->capdeliv = nd->capdeliv ? nd->capdeliv * 2 : 64;
    nd->deliv = xrealloc(nd->deliv, nd->capdeliv * sizeof *nd->deliv);
  }
  nd->deliv[nd->ndeliv++] = mi;
  r->ndelivered++;
}

void on_event_new(void *ud, const p2pc_causal_event *ev) {
  node *nd = ud;
  run *r = nd->r;
  switch (ev->kind) {
  case P2PC_CEV_SEND:
    r->send_seen = true;
    r->send_n = ev->n;
    r->send_meta = ev->meta;
    r->send_deps = ev->deps;
    break;
  case P2PC_CEV_DELIVER:
    on_deliver(r, nd, ev->sender, ev->n, ev->payload, ev->bytes);
    break;
  case P2PC_CEV_BUFFER:
    r->buffered++;
    break;
  case P2PC_CEV_EXPIRE:
    r->expired++;
    break;
  case P2PC_CEV_DUP:
  case P2PC_CEV_DROP:
  case P2PC_CEV_REFUSE:
    die("%s: n%u: event %d for %s:%" PRIu64 " (none expected)", r->v->name,
        nd->idx, (int)ev->kind, ev->sender, ev->n);
  case P2PC_CEV_RECV:
    break;
  }
}

void on_event_legacy(void *ud, const lses_causal_event *ev) {
  node *nd = ud;
  run *r = nd->r;
  switch (ev->kind) {
  case LSES_CEV_SEND:
    r->send_seen = true;
    r->send_n = ev->n;
    r->send_meta = ev->meta;
    break;
  case LSES_CEV_DELIVER:
    on_deliver(r, nd, ev->sender, ev->n, ev->payload, ev->bytes);
    break;
  case LSES_CEV_BUFFER:
    r->buffered++;
    break;
  case LSES_CEV_DUP:
  case LSES_CEV_DROP:
    die("%s: n%u: event %d for %s:%" PRIu64 " (none expected)", r->v->name,
        nd->idx, (int)ev->kind, ev->sender, ev->n);
  case LSES_CEV_RECV:
    break;
  }
}

void feed_time(run *r, node *nd) {
  if (nd->c)
    p2pc_causal_set_time(nd->c, EPOCH + (int64_t)r->now + r->s->off[nd->idx],
                         r->p->err, r->now);
}

void do_send(run *r, uint32_t i, heap *h, p2pc_buf *out, p2pc_idtab *dec_ids,
             p2pc_ses_msg *dec) {
  const sched *s = r->s;
  node *nd = &r->nodes[s->src[i]];
  uint8_t payload[PAYLOAD_LEN];
  for (int k = 0; k < PAYLOAD_LEN; k++)
    payload[k] = (uint8_t)((uint64_t)i >> (8 * (PAYLOAD_LEN - 1 - k)));
  if (nd->nsent == nd->capsent) {
    nd->capsent = nd->capsent ? nd->capsent * 2 : 16;
    nd->sent = xrealloc(nd->sent, nd->capsent * sizeof *nd->sent);
  }
  nd->sent[nd->nsent++] = i;
  p2pc_buf_reset(out);
  r->send_seen = false;
  int rv;
  if (nd->l) {
    r->deps[i] = lses_causal_pairs(nd->l);
    rv = lses_causal_send(nd->l, r->names[s->dst[i]], payload, PAYLOAD_LEN,
                          r->now, out);
  } else {
    feed_time(r, nd);
    rv = p2pc_causal_send(nd->c, r->names[s->dst[i]], payload, PAYLOAD_LEN,
                          r->now, out);
  }
  if (rv)
    die("%s: n%u: send of message %u: %s", r->v->name, nd->idx, i,
        p2pc_strerror(rv));
  if (!r->send_seen || r->send_n != nd->nsent)
    die("%s: n%u: message %u: no SEND event, or a wrong id", r->v->name,
        nd->idx, i);
  r->meta[i] = r->send_meta;
  if (nd->c)
    r->deps[i] = r->send_deps;
  if (r->meta[i] + 1 + PAYLOAD_LEN != out->len)
    die("%s: message %u: meta %zu + payload != %zu bytes", r->v->name, i,
        r->meta[i], out->len);
  if (nd->c && i % DECODE_EVERY == 0) {
    const p2pc_allocator *a = p2pc_allocator_default();
    rv = p2pc_wire_ses_get(out->data, out->len, dec_ids, a, dec);
    if (rv < 0 || (rv = p2pc_wire_ses_commit(dec_ids, dec)) != 0)
      die("%s: message %u: cannot decode what was sent: %s", r->v->name, i,
          p2pc_strerror(rv));
    if (dec->ndeps != r->deps[i])
      die("%s: message %u: %u entries on the wire, %u expected", r->v->name, i,
          dec->ndeps, r->deps[i]);
  }
  r->bytes[i] = xmalloc(out->len);
  memcpy(r->bytes[i], out->data, out->len);
  r->len[i] = out->len;
  heap_push(h, (event){.t = r->now + s->delay[i], .kind = EV_ARRIVE, .a = i});
}

void do_arrive(run *r, uint32_t i) {
  const sched *s = r->s;
  node *nd = &r->nodes[s->dst[i]];
  int rv;
  if (nd->l) {
    rv = lses_causal_receive(nd->l, r->names[s->src[i]], r->bytes[i], r->len[i],
                             r->now);
  } else {
    feed_time(r, nd);
    rv = p2pc_causal_receive(nd->c, r->names[s->src[i]], r->bytes[i], r->len[i],
                             r->now);
  }
  if (rv)
    die("%s: n%u: receive of message %u: %s", r->v->name, nd->idx, i,
        p2pc_strerror(rv));
  free(r->bytes[i]);
  r->bytes[i] = NULL;
}

/* Every node reports to each sender it delivered from since its last
 * report; the report travels like a message. */
void do_report_tick(run *r, heap *h, uint64_t *st) {
  uint32_t n = r->s->n;
  for (uint32_t d = 0; d < n; d++) {
    node *nd = &r->nodes[d];
    for (uint32_t s = 0; s < n; s++) {
      if (!nd->dirty[s])
        continue;
      nd->dirty[s] = false;
      if (r->nreps == r->capreps) {
        r->capreps = r->capreps ? r->capreps * 2 : 256;
        r->reps = xrealloc(r->reps, r->capreps * sizeof *r->reps);
      }
      report *rp = &r->reps[r->nreps];
      p2pc_causal_report_for(nd->c, r->names[s], &rp->delivered, rp->wo,
                             &rp->nwo);
      uint64_t delay = r->p->dmin + rng_below(st, r->p->dmax - r->p->dmin + 1);
      heap_push(h, (event){.t = r->now + delay,
                           .kind = EV_REPORT,
                           .a = s,
                           .b = d,
                           .x = r->nreps++});
    }
  }
}

void do_report(run *r, const event *e) {
  node *nd = &r->nodes[e->a];
  const report *rp = &r->reps[e->x];
  feed_time(r, nd);
  int rv = p2pc_causal_peer_report(nd->c, r->names[e->b], rp->delivered, rp->wo,
                                   rp->nwo, r->now);
  if (rv)
    die("%s: n%u: peer_report from n%u: %s", r->v->name, e->a, e->b,
        p2pc_strerror(rv));
}

uint64_t g_now(run *r) {
  uint64_t g = UINT64_MAX;
  for (uint32_t k = 0; k < r->s->n; k++) {
    feed_time(r, &r->nodes[k]);
    uint64_t ls = p2pc_causal_local_stable(r->nodes[k].c);
    if (ls < g)
      g = ls;
  }
  return g;
}
