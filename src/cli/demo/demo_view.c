/* SPDX-License-Identifier: MIT */
/*
 * What the demo shows while it runs: on a terminal a live table redrawn in
 * place (each node's state, counters and clock, the traffic, the latest
 * events under it); otherwise a progress line every 2 s and each event on
 * a line of its own. Also how the demo writes durations and message ids.
 */
#include "demo_view.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "demo_holdback.h"

/* Records a dated event: printed at once without a terminal, else shown
 * under the live table. */
void p2pc__demo_note(p2pc_demo *d, const char *fmt, ...) {
  char text[NOTE_LEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  double t = d->t0 > 0 ? elapsed(d) : 0;
  if (d->nevents == EVENTS_SHOWN) {
    memmove(d->events[0], d->events[1],
            sizeof d->events[0] * (EVENTS_SHOWN - 1));
    d->nevents--;
  }
  snprintf(d->events[d->nevents++], sizeof d->events[0], "%5.1f s  %s", t,
           text);
  if (!d->tty || d->table_lines == 0) {
    fprintf(d->out, "[%5.1f s] %s\n", t, text);
    fflush(d->out);
  }
}

void p2pc__demo_fmt_ns(double ns, char *out, size_t len) {
  if (ns < 1e3)
    snprintf(out, len, "%.0f ns", ns);
  else if (ns < 1e6)
    snprintf(out, len, "%.1f us", ns / 1e3);
  else if (ns < 1e9)
    snprintf(out, len, "%.1f ms", ns / 1e6);
  else
    snprintf(out, len, "%.2f s", ns / 1e9);
}

/* ns with a sign and a unit: "+12.3 us", "-1.234 ms", "+0.532 s". */
void p2pc__demo_fmt_sns(double ns, char *out, size_t len) {
  double a = ns < 0 ? -ns : ns;
  char sign = ns < 0 ? '-' : '+';
  if (a < 1e3)
    snprintf(out, len, "%c%.0f ns", sign, a);
  else if (a < 1e6)
    snprintf(out, len, "%c%.1f us", sign, a / 1e3);
  else if (a < 1e9)
    snprintf(out, len, "%c%.3f ms", sign, a / 1e6);
  else
    snprintf(out, len, "%c%.3f s", sign, a / 1e9);
}

/* A node's clock cells: its reference (with * when it is the reference),
 * or in collaborative mode, which has none, how many truechimers it
 * selected; its NTP offset from the median of all nodes, its error bound. */
static void clock_cells(const p2pc_demo *d, const p2pc_demo_node *n, char *ref,
                        size_t rl, char *off, size_t ol, char *err, size_t el) {
  if (d->o.collab && n->clk_seen && n->synced)
    snprintf(ref, rl, "%d", n->truechimers);
  else if (d->o.collab)
    snprintf(ref, rl, "-");
  else
    snprintf(ref, rl, "%s%s", n->clk_seen && n->ref[0] ? n->ref : "-",
             n->clk_seen && n->is_ref ? "*" : "");
  if (n->ntp_ok && n->pid > 0)
    p2pc__demo_fmt_sns((double)(n->ntp_offset - d->ntp_median), off, ol);
  else
    snprintf(off, ol, "-");
  if (n->clk_seen && n->synced) {
    p2pc__demo_fmt_sns(n->err_ns, err, el);
    memmove(err, err + 1, strlen(err)); /* a bound: no sign */
  } else {
    snprintf(err, el, "-");
  }
}

static const char *state_name(const p2pc_demo_node *n) {
  switch (n->state) {
  case NODE_STARTING:
    return "start";
  case NODE_UP:
    return n->seen ? "up" : "up?";
  case NODE_KILLED:
    return "down";
  case NODE_DEAD:
    return "dead";
  case NODE_STOPPED:
    return "stopped";
  }
  return "?";
}

static uint64_t requests_done(const p2pc_demo *d) {
  return d->sends + d->broadcasts + d->refused_bp + d->refused_nosess +
         d->refused_other + d->failed;
}

/* One line of the live table, cut to the terminal's width: a line that
 * wrapped would throw off the cursor movement of the next redraw. */
static void tline(p2pc_demo *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tline(p2pc_demo *d, const char *fmt, ...) {
  char text[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  fprintf(d->out, "\r\033[K%.*s\n", d->width - 1, text);
  d->table_lines++;
}

void p2pc__demo_draw_table(p2pc_demo *d, const char *phase) {
  struct winsize ws;
  d->width = ioctl(fileno(d->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20
                 ? ws.ws_col
                 : 80;
  if (d->table_lines > 0)
    fprintf(d->out, "\033[%dA", d->table_lines);
  d->table_lines = 0;
  tline(d, "p2pclock demo: %s, %.1f s of %.0f s, %d nodes, %g msgs/s each",
        phase, d->t0 > 0 ? elapsed(d) : 0.0, d->o.duration, d->o.nodes,
        d->o.rate);
  /* collaborative mode has no reference: TRUECH, the truechimers each
   * node selected among its neighbours and itself, takes its column */
  tline(d, "%-4s %-7s %5s %6s %9s %4s %4s  %-4s %-6s %10s %8s", "NODE", "STATE",
        "PEERS", "SENT", "DELIVERED", "BUF", "HELD", "SYNC",
        d->o.collab ? "TRUECH" : "REF", "NTP-OFFS", "ERR");
  for (int i = 0; i < d->o.nodes; i++) {
    const p2pc_demo_node *n = &d->n[i];
    char peers[16], ref[48], off[24], err[24];
    clock_cells(d, n, ref, sizeof ref, off, sizeof off, err, sizeof err);
    if (n->seen && n->pid > 0) {
      snprintf(peers, sizeof peers, "%d/%d", n->peers_up, d->o.nodes - 1);
      tline(d,
            "%-4s %-7s %5s %6.0f %9.0f %4.0f %4" PRIu64 "  %-4s %-6s %10s %8s",
            n->id, state_name(n), peers, n->sent, n->delivered, n->buffered,
            p2pc_holdback_total(d->hb, (uint32_t)i),
            !n->clk_seen ? "-"
            : n->synced  ? "yes"
                         : "no",
            ref, off, err);
    } else {
      tline(d, "%-4s %-7s %5s %6s %9s %4s %4" PRIu64 "  %-4s %-6s %10s %8s",
            n->id, state_name(n), "-", "-", "-", "-",
            p2pc_holdback_total(d->hb, (uint32_t)i), "-", "-", off, "-");
    }
  }
  if (d->recv >= 0)
    tline(d, "BUF held back now, HELD so far; %s is slow (0..%d ms a message)",
          d->n[d->slow].id, SLOW_DELAY_MS);
  tline(d,
        "requests: %llu sends, %llu broadcasts, %llu chain sends, %llu "
        "refused, %llu unanswered",
        (unsigned long long)d->sends, (unsigned long long)d->broadcasts,
        (unsigned long long)d->ch.sends,
        (unsigned long long)(d->refused_bp + d->refused_nosess +
                             d->refused_other),
        (unsigned long long)d->failed);
  char spread[24], net[24];
  p2pc__demo_fmt_sns((double)d->ntp_spread, spread, sizeof spread);
  p2pc__demo_fmt_sns((double)d->ntp_median, net, sizeof net);
  if (d->ntp_answered > 0)
    tline(d, "NTP: %d nodes answer; network time = demo's clock %s; spread %s",
          d->ntp_answered, net, spread + (spread[0] == '+'));
  else
    tline(d, "NTP: no node answers yet");
  for (int k = 0; k < EVENTS_SHOWN; k++)
    tline(d, "%s%s", k == 0 ? "events: " : "        ",
          k < d->nevents ? d->events[k] : (k == 0 ? "none yet" : ""));
  fflush(d->out);
}

void p2pc__demo_print_line(p2pc_demo *d) {
  int up = 0, peers = 0;
  double sent = 0, deliv = 0, buf = 0;
  for (int i = 0; i < d->o.nodes; i++) {
    const p2pc_demo_node *n = &d->n[i];
    if (n->pid > 0 && n->seen) {
      up++;
      peers += n->peers_up;
      sent += n->sent;
      deliv += n->delivered;
      buf += n->buffered;
    }
  }
  fprintf(d->out,
          "[%5.1f s] nodes up %d/%d, links up %d/%d, sent %.0f, delivered "
          "%.0f, held back so far %" PRIu64 " (%.0f now); requests %llu, "
          "refused %llu\n",
          elapsed(d), up, d->o.nodes, peers, d->o.nodes * (d->o.nodes - 1),
          sent, deliv, d->holds, buf, (unsigned long long)requests_done(d),
          (unsigned long long)(d->refused_bp + d->refused_nosess +
                               d->refused_other));
  /* the clocks: each node's sync state, reference (collaborative: its
   * truechimers) and NTP offset */
  fprintf(d->out, "          clocks:");
  for (int i = 0; i < d->o.nodes; i++) {
    const p2pc_demo_node *n = &d->n[i];
    char ref[48], off[24], err[24];
    clock_cells(d, n, ref, sizeof ref, off, sizeof off, err, sizeof err);
    if (n->pid <= 0)
      fprintf(d->out, " %s down;", n->id);
    else if (d->o.collab && n->clk_seen && n->synced)
      fprintf(d->out, " %s synced %s truechimers %s;", n->id, ref, off);
    else
      fprintf(d->out, " %s %s %s %s;", n->id,
              n->clk_seen && n->synced ? "synced" : "unsynced", ref, off);
  }
  if (d->ntp_answered > 0) {
    char spread[24];
    p2pc__demo_fmt_sns((double)d->ntp_spread, spread, sizeof spread);
    fprintf(d->out, " spread %s\n", spread + 1);
  } else {
    fprintf(d->out, " no NTP answer yet\n");
  }
  fflush(d->out);
}

/* Leaves the live table where it is and goes on below it. */
void p2pc__demo_end_table(p2pc_demo *d) { d->table_lines = 0; }

/* An id as the live view shows it: of a node's first incarnation without
 * its tag ("n2:7", "n2"), of a later one in full ("n2~k3x9:7"). */
void p2pc__demo_show_id(const p2pc_demo *d, const char *id, char *out,
                        size_t len) {
  const char *tilde = strchr(id, '~');
  if (tilde) {
    const char *colon = strchr(tilde, ':');
    size_t inc = colon ? (size_t)(colon - id) : strlen(id);
    for (int i = 0; i < d->o.nodes; i++) {
      const p2pc_demo_node *n = &d->n[i];
      if (strlen(n->first_inc) == inc && strncmp(n->first_inc, id, inc) == 0) {
        snprintf(out, len, "%s%s", n->id, colon ? colon : "");
        return;
      }
    }
  }
  snprintf(out, len, "%s", id);
}
