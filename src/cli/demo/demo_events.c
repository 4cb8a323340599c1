/* SPDX-License-Identifier: MIT */
/*
 * The nodes' event logs (EVENTS.md), read as they grow: every complete
 * line goes to the checker that gives the verdict (evcheck.h, fed as the
 * logs are read) and to the hold-back tracker (demo_holdback.h), whose
 * findings the live view narrates and the causal chains follow. A
 * restarted node appends to the same log, which stays open.
 */
#include "demo_events.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo_traffic.h"
#include "demo_view.h"
#include "evcheck.h"

static bool was_told(const p2pc_demo *d, const char *msg) {
  for (int k = 0; k < d->narrated; k++)
    if (strcmp(d->told[k], msg) == 0)
      return true;
  return false;
}

/* A node held a message back: told in the live view (without a terminal,
 * only the first NARRATED ones, so that a busy run does not scroll). */
static void on_held(p2pc_demo *d, const p2pc_holdback_ev *ev) {
  d->holds++;
  if (!d->tty) {
    if (d->narrated == NARRATED) {
      if (!d->told_more)
        p2pc__demo_note(d, "(further holds are counted, not told one by one)");
      d->told_more = true;
      return;
    }
    snprintf(d->told[d->narrated++], ID_LEN, "%s", ev->msg);
  }
  /* what it waits for: the message its buffer line names, and how many
   * more are missing */
  char m[ID_LEN], why[ID_LEN + 64] = "";
  p2pc__demo_show_id(d, ev->msg, m, sizeof m);
  if (ev->waits[0]) {
    char w[ID_LEN];
    p2pc__demo_show_id(d, ev->waits, w, sizeof w);
    snprintf(why, sizeof why, ": it waits for %s", w);
    if (ev->unmet > 1) {
      size_t l = strlen(why);
      snprintf(why + l, sizeof why - l, " and %u more", ev->unmet - 1);
    }
  }
  p2pc__demo_note(d, "%s holds %s back%s", d->n[ev->node].id, m, why);
}

/* A held message was delivered: told if its hold was. */
static void on_released(p2pc_demo *d, const p2pc_holdback_ev *ev) {
  if (!d->tty && !was_told(d, ev->msg))
    return;
  char m[ID_LEN], a[ID_LEN], w[32];
  p2pc__demo_show_id(d, ev->msg, m, sizeof m);
  p2pc__demo_show_id(d, ev->after, a, sizeof a);
  p2pc__demo_fmt_ns((double)ev->waited_ns, w, sizeof w);
  if (ev->after[0])
    p2pc__demo_note(d, "%s delivers %s after %s, right after %s",
                    d->n[ev->node].id, m, w, a);
  else
    p2pc__demo_note(d, "%s delivers %s after %s", d->n[ev->node].id, m, w);
}

static void on_line(p2pc_demo *d, int i, const char *line, size_t len) {
  p2pc_holdback_ev ev;
  switch (p2pc_holdback_line(d->hb, (uint32_t)i, line, len, &ev)) {
  case P2PC_HOLDBACK_START:
    if (!d->n[i].first_inc[0])
      snprintf(d->n[i].first_inc, ID_LEN, "%s", ev.msg);
    break;
  case P2PC_HOLDBACK_HELD:
    on_held(d, &ev);
    break;
  case P2PC_HOLDBACK_RELEASED:
    on_released(d, &ev);
    p2pc__demo_chain_on_delivery(d, &ev);
    break;
  case P2PC_HOLDBACK_DELIVER:
    p2pc__demo_chain_on_delivery(d, &ev);
    break;
  default:
    break;
  }
}

/* One complete line of node i's log: to the checker, and to the tracker
 * if it is not too long for it. */
static void take_line(p2pc_demo *d, int i, unsigned flags) {
  p2pc_demo_node *n = &d->n[i];
  const char *line = n->ev_buf ? n->ev_buf : ""; /* none yet: empty */
  if (!n->ev_lost && !d->check_nomem) {
    int lr = p2pc_evcheck_line_ex(d->ec, (uint32_t)i, line, n->ev_len, flags);
    if (lr == P2PC_EVCHECK_LINE_NOMEM)
      d->check_nomem = true;
    else if (lr == P2PC_EVCHECK_LINE_LOST)
      n->ev_lost = true;
  }
  if (n->ev_len <= P2PC_HOLDBACK_LINE_MAX)
    on_line(d, i, line, n->ev_len);
}

/* Appends len bytes to node n's line being read, up to one byte past the
 * checker's limit. False if out of memory. */
static bool line_add(p2pc_demo_node *n, const char *p, size_t len) {
  size_t room = P2PC_EVCHECK_LINE_MAX + 1 - n->ev_len;
  if (len > room)
    len = room;
  if (len == 0)
    return true;
  if (n->ev_len + len > n->ev_cap) {
    size_t cap = n->ev_cap ? n->ev_cap : 4096;
    while (cap < n->ev_len + len)
      cap *= 2;
    if (cap > P2PC_EVCHECK_LINE_MAX + 1)
      cap = P2PC_EVCHECK_LINE_MAX + 1;
    char *b = realloc(n->ev_buf, cap);
    if (!b)
      return false;
    n->ev_buf = b;
    n->ev_cap = cap;
  }
  memcpy(n->ev_buf + n->ev_len, p, len);
  n->ev_len += len;
  return true;
}

/* Reads what node i's event log gained since the last call, a bounded
 * amount at a time, and takes its complete lines. The log is opened once
 * and kept: a restarted node appends to the same file. At the end, with
 * every node stopped, last takes a final line without its newline too (a
 * killed node may leave one torn). */
void p2pc__demo_tail_node(p2pc_demo *d, int i, bool last) {
  p2pc_demo_node *n = &d->n[i];
  char chunk[TAIL_READ];
  if (n->ev_fd < 0)
    n->ev_fd = open(n->events, O_RDONLY | O_CLOEXEC);
  if (n->ev_fd < 0)
    return; /* not created yet */
  for (int reads = 0; reads < (last ? 1 << 16 : 16); reads++) {
    ssize_t k = pread(n->ev_fd, chunk, sizeof chunk, n->ev_off);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    n->ev_off += k;
    const char *p = chunk, *end = chunk + k;
    while (p < end) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      if (!line_add(n, p, (size_t)((nl ? nl : end) - p)))
        d->check_nomem = true;
      if (!nl)
        break;
      take_line(d, i, 0);
      n->ev_len = 0;
      p = nl + 1;
    }
    if ((size_t)k < sizeof chunk)
      break;
  }
  if (last && n->ev_len > 0) {
    take_line(d, i, P2PC_EVCHECK_UNTERMINATED);
    n->ev_len = 0;
  }
}

void p2pc__demo_tail_all(p2pc_demo *d) {
  for (int i = 0; i < d->o.nodes; i++)
    p2pc__demo_tail_node(d, i, false);
}
