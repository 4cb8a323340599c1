/* SPDX-License-Identifier: MIT */
/*
 * The verdict in words (docs/DEMO.md): the verdict of demo_verdict.h,
 * each of its numbers on a line with what it means, the example of a
 * hold-back told as a story, the clocks' agreement, the requests; and
 * the problems that the other parts record on the way.
 */
#include "demo_report.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_view.h"

void p2pc__demo_problem(p2pc_demo *d, const char *fmt, ...) {
  va_list ap;
  if (d->nproblems == PROBLEMS_MAX)
    return;
  va_start(ap, fmt);
  vsnprintf(d->problems[d->nproblems++], sizeof d->problems[0], fmt, ap);
  va_end(ap);
}

static void check_status_text(int cst, bool nomem, char *out, size_t len) {
  if (nomem || cst == P2PC_EVCHECK_NOMEM)
    snprintf(out, len, "out of memory");
  else if (cst == P2PC_EVCHECK_BADINPUT)
    snprintf(out, len, "malformed lines in the logs (above)");
  else if (cst == P2PC_EVCHECK_EMPTY)
    snprintf(out, len, "no \"start\" line in any log");
  else if (cst == P2PC_EVCHECK_TOOLARGE)
    snprintf(out, len, "the logs are too large to check");
  else
    snprintf(out, len, "status %d", cst);
}

/* The example, in words: two sentences (a chain's), or one. */
void p2pc__demo_example_text(const p2pc_demo *d, char *s1, size_t l1, char *s2,
                             size_t l2) {
  const p2pc_demo_example *x = &d->ex;
  char held[ID_LEN], after[ID_LEN], w[32];
  p2pc__demo_show_id(d, x->held, held, sizeof held);
  p2pc__demo_show_id(d, x->after, after, sizeof after);
  p2pc__demo_fmt_ns((double)x->waited_ns, w, sizeof w);
  const char *rcv = d->n[x->receiver].id;
  if (x->chain) {
    char first[ID_LEN], last[ID_LEN], hint[ID_LEN];
    p2pc__demo_show_id(d, x->slow_first, first, sizeof first);
    p2pc__demo_show_id(d, x->slow_last, last, sizeof last);
    p2pc__demo_show_id(d, x->hint, hint, sizeof hint);
    snprintf(s1, l1,
             "%s sent %s..%s to %s over its slow link, then %s to %s, and %s "
             "arrived first;",
             d->n[d->slow].id, first, last, rcv, hint, d->n[x->relay].id, hint);
    snprintf(s2, l2,
             "%s then sent %s to %s, which got it before %s: %s held %s for "
             "%s, until %s was delivered",
             d->n[x->relay].id, held, rcv, after, rcv, held, w, after);
  } else {
    snprintf(s1, l1,
             "%s reached %s before %s, which was sent causally before it:",
             held, rcv, after);
    snprintf(s2, l2, "%s held it %s, until %s was delivered", rcv, w, after);
  }
}

/* One line of the verdict: a label, a value, what it means. */
static void vline(const p2pc_demo *d, const char *label, const char *value,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void vline(const p2pc_demo *d, const char *label, const char *value,
                  const char *fmt, ...) {
  char text[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  fprintf(d->out, "  %-22s %6s  %s\n", label, value, text);
}

static void print_clocks(const p2pc_demo *d) {
  char a[32], b[32];
  if (!d->final_done) {
    vline(d, "clocks", "NOT",
          "MEASURED: not all synced%s (see the problems "
          "below) (BAD)",
          d->o.collab ? " (collaborative)" : " to one reference");
    return;
  }
  bool ok = d->final_max < CLOCK_AGREE_NS;
  double olo = 0, ohi = 0, dlo = 0, dhi = 0;
  for (int i = 0; i < d->o.nodes; i++) {
    double o = atof(d->n[i].clk_offset), r = atof(d->n[i].clk_drift);
    olo = i == 0 || o < olo ? o : olo;
    ohi = i == 0 || o > ohi ? o : ohi;
    dlo = i == 0 || r < dlo ? r : dlo;
    dhi = i == 0 || r > dhi ? r : dhi;
  }
  char how[64], cnt[16];
  if (d->o.collab)
    snprintf(how, sizeof how, "collaborative");
  else
    snprintf(how, sizeof how, "all following %s", d->final_ref);
  snprintf(cnt, sizeof cnt, "%d/%d", d->final_nodes, d->o.nodes);
  vline(d, "clocks synced", cnt,
        "%s, from virtual clocks %+.3f..%+.3f s off, %+.0f..%+.0f ppm", how,
        olo, ohi, dlo, dhi);
  p2pc__demo_fmt_ns(d->final_max, a, sizeof a);
  p2pc__demo_fmt_ns(d->final_median, b, sizeof b);
  vline(d, "clock disagreement", a,
        "at most, between any two nodes' network times over NTP (median %s, "
        "%d rounds%s); want < 1 ms: %s",
        b, d->final_kept, d->victim >= 0 ? ", after the restart" : "",
        ok ? "good" : "BAD");
}

void p2pc__demo_print_verdict(const p2pc_demo *d, const p2pc_demo_verdict *v) {
  const p2pc_evcheck_result *r = &v->r;
  char num[32], why[256] = "";
  fprintf(d->out, "\n");
  if (strcmp(v->word, "UNKNOWN") == 0) {
    check_status_text(v->check_status, d->check_nomem, why, sizeof why);
    fprintf(d->out,
            "verdict: UNKNOWN: the checker could not judge the logs: "
            "%s\n",
            why);
    print_clocks(d);
    return;
  }
  if (v->ok) {
    fprintf(d->out, "verdict: OK: causal order held, every message was "
                    "delivered exactly once or is excused by the kill, and "
                    "the clocks agree within 1 ms\n");
  } else {
    size_t l = 0;
#define WHY(...)                                                               \
  l += (size_t)snprintf(why + l, l < sizeof why ? sizeof why - l : 0,          \
                        __VA_ARGS__)
    if (v->order)
      WHY("; %" PRIu64 " causal order violation(s)", v->order);
    if (v->twice)
      WHY("; %" PRIu64 " delivered twice", v->twice);
    if (v->missing)
      WHY("; %" PRIu64 " never delivered", v->missing);
    if (v->other)
      WHY("; %" PRIu64 " other violation(s)", v->other);
    if (!v->clocks_ok)
      WHY("; the clocks %s",
          d->final_done ? "disagree by 1 ms or more" : "were not measured");
    if (d->nproblems)
      WHY("; %d p2pc__demo_problem(s), below", d->nproblems);
#undef WHY
    fprintf(d->out, "verdict: FAILED: %s\n", why[0] ? why + 2 : "?");
  }
  snprintf(num, sizeof num, "%" PRIu64, r->messages);
  vline(d, "messages sent", num,
        "%" PRIu64 " of them to the sender itself (a broadcast reaches its "
        "sender too)",
        r->self_sends);
  snprintf(num, sizeof num, "%" PRIu64, r->delivered - v->twice);
  vline(d, "delivered exactly once", num, "at their destination%s",
        v->twice ? "" : ", none twice (good)");
  if (v->twice) {
    snprintf(num, sizeof num, "%" PRIu64, v->twice);
    vline(d, "DELIVERED TWICE", num, "a message delivered again (BAD)");
  }
  if (v->order == 0) {
    vline(d, "causal order", "held",
          "no node delivered a message before one it depends on (good)");
  } else {
    snprintf(num, sizeof num, "%" PRIu64, v->order);
    vline(d, "CAUSAL ORDER VIOLATED", num,
          "times a message was delivered before one it depends on (BAD)");
  }
  snprintf(num, sizeof num, "%" PRIu64, r->waited);
  if (r->waited > 0) {
    char a[32], b[32], c[32];
    p2pc__demo_fmt_ns((double)r->waited_p50_ns, a, sizeof a);
    p2pc__demo_fmt_ns((double)r->waited_p99_ns, b, sizeof b);
    p2pc__demo_fmt_ns((double)r->waited_max_ns, c, sizeof c);
    vline(d, "held back", num,
          "arrived before a message they depend on, and waited for it: "
          "median %s, p99 %s, max %s",
          a, b, c);
    if (d->ex.set) {
      char s1[768], s2[768];
      p2pc__demo_example_text(d, s1, sizeof s1, s2, sizeof s2);
      fprintf(d->out, "    e.g. %s\n         %s\n", s1, s2);
    }
  } else if (d->recv < 0) {
    vline(d, "held back", "none",
          "with 2 nodes each hears from one sender over one ordered link, "
          "so nothing arrives early (try --nodes 3)");
  } else {
    vline(d, "held back", "none",
          "no message arrived before one it depends on in this run (the "
          "slow link's delays were all short)");
  }
  if (d->recv >= 0) {
    snprintf(num, sizeof num, "%d", d->ch.rounds);
    vline(d, "causal chains", num,
          "rounds %s -> relay -> %s; in %d of them %s held a relay's "
          "message back",
          d->n[d->slow].id, d->n[d->recv].id, d->ch.held_rounds,
          d->n[d->recv].id);
  }
  snprintf(num, sizeof num, "%" PRIu64, r->undeliverable);
  if (d->victim >= 0) {
    const char *vid = d->n[d->victim].id;
    vline(d, "reported undeliverable", num,
          "sent to %s but not acknowledged before its restart; the senders "
          "told their applications: expected with a kill, not loss",
          vid);
    char label[40];
    snprintf(label, sizeof label, "lost with killed %s", vid);
    snprintf(num, sizeof num, "%" PRIu64, v->lost);
    vline(d, label, num,
          "were inside %s when it was killed: %" PRIu64 " received, not yet "
          "delivered; %" PRIu64 " sent, not yet out (a crash loses these)",
          vid, r->lost_receiver, r->lost_sender);
  } else {
    vline(d, "reported undeliverable", num,
          "sent to a node that restarted before acknowledging them%s",
          r->undeliverable ? "" : " (none: nobody was killed)");
    snprintf(num, sizeof num, "%" PRIu64, v->lost);
    vline(d, "lost with a crash", num, "were inside a node that died%s",
          v->lost ? "" : " (none: nobody was killed)");
  }
  if (r->expired) {
    snprintf(num, sizeof num, "%" PRIu64, r->expired);
    vline(d, "expired", num,
          "older than the causal lifetime before they could be delivered, "
          "and given up on in time: not loss");
  }
  snprintf(num, sizeof num, "%" PRIu64, v->missing);
  vline(d, "never delivered", num, "lost without such an excuse%s",
        v->missing ? " (BAD)" : " (good)");
  if (v->other) {
    for (int k = 0; k < P2PC_EVCHECK_NKINDS; k++) {
      if (k == P2PC_EVCHECK_ORDER || k == P2PC_EVCHECK_DUPLICATE ||
          k == P2PC_EVCHECK_MISSING || r->by_kind[k] == 0)
        continue;
      snprintf(num, sizeof num, "%" PRIu64, r->by_kind[k]);
      vline(d, p2pc_evcheck_kind_name((p2pc_evcheck_kind)k), num,
            "violations of this kind (p2pclock check --help) (BAD)");
    }
  }
  for (uint32_t i = 0; i < r->nlisted; i++)
    fprintf(d->out, "    %s\n", r->listed[i]);
  print_clocks(d);
  char req[32];
  snprintf(req, sizeof req, "%llu",
           (unsigned long long)(d->sends + d->broadcasts + d->ch.sends));
  vline(d, "requests", req,
        "%llu sends, %llu broadcasts, %llu chain sends; refused: %llu "
        "back-pressure, %llu no session (peer down), %llu other%s%s%s; %llu "
        "unanswered",
        (unsigned long long)d->sends, (unsigned long long)d->broadcasts,
        (unsigned long long)d->ch.sends, (unsigned long long)d->refused_bp,
        (unsigned long long)d->refused_nosess,
        (unsigned long long)(d->refused_other + d->ch.refused),
        d->other_error[0] ? " (\"" : "", d->other_error,
        d->other_error[0] ? "\")" : "", (unsigned long long)d->failed);
}

void p2pc__demo_print_problems(const p2pc_demo *d) {
  for (int i = 0; i < d->nproblems; i++)
    fprintf(d->out, "%s %s\n", i == 0 ? "\nproblems:" : "         ",
            d->problems[i]);
}
