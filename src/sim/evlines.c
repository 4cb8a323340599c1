/* SPDX-License-Identifier: MIT */
/*
 * The one place the simulator reads the nodes' event lines (EVENTS.md):
 * each line goes to the causal oracle, and the few fields the statistics
 * need (messages sent, their metadata, expiry reports, refusals) are
 * picked out of it with strstr. When the core gives typed events, this
 * file is what changes.
 */
#include "sim_internal.h"

#include <stdlib.h>
#include <string.h>

/* The string value of "key":"..." after p: its start, its length in *n;
 * NULL if absent. */
static const char *str_field(const char *p, const char *key, size_t *n) {
  const char *v = strstr(p, key);
  if (!v)
    return NULL;
  v += strlen(key);
  const char *e = strchr(v, '"');
  if (!e)
    return NULL;
  *n = (size_t)(e - v);
  return v;
}

/* A number value "key":N after p, or 0. */
static uint64_t num_field(const char *p, const char *key) {
  const char *v = strstr(p, key);
  return v ? strtoull(v + strlen(key), NULL, 10) : 0;
}

/* A `send` line: one message sent; its metadata bytes and entries into
 * the histograms, unless it is a message to self ("to" is the sender of
 * "msg"), which goes on no wire. */
static void on_send_line(p2pc_sim *s, const char *k) {
  s->res.msgs_sent++;
  s->sec_sent++;
  size_t mlen = 0, tlen = 0;
  const char *msg = str_field(k, "\"msg\":\"", &mlen);
  const char *to = str_field(k, "\"to\":\"", &tlen);
  if (!msg || !to)
    return;
  size_t slen = mlen;
  while (slen > 0 && msg[slen - 1] != ':')
    slen--;
  if (slen > 0 && slen - 1 == tlen && memcmp(msg, to, tlen) == 0)
    return; /* to self */
  uint64_t meta = num_field(k, "\"meta\":");
  uint64_t deps = num_field(k, "\"deps\":");
  p2pc__sim_hist_add(&s->meta_sec, meta);
  p2pc__sim_hist_add(&s->meta_run, meta);
  p2pc__sim_hist_add(&s->deps_sec, deps);
  p2pc__sim_hist_add(&s->deps_run, deps);
}

void p2pc__sim_on_event_line(void *ud, const char *line, size_t len) {
  p2pc_sim *s = ud;
  if (s->oracle) {
    if (!s->oracle_settling && s->now >= s->oracle_settle_ns) {
      s->oracle_settling = true;
      p2pc_evcheck_settle_mark(s->oracle);
    }
    p2pc__sim_oracle_feed(s, s->cur_node, line, len);
  }
  /* Only what the statistics need, found without parsing JSON: the lines
   * are the core's own (evlog.c), NUL-terminated, keys in a fixed order. */
  const char *k = strstr(line, "\"ev\":\"");
  if (!k)
    return;
  k += 6;
  if (strncmp(k, "send\"", 5) == 0) {
    on_send_line(s, k);
  } else if (strncmp(k, "undeliverable\"", 14) == 0) {
    s->res.undeliverable++;
    if (strstr(k, ",\"reason\":\"expired\"")) {
      /* the receiver names the sender ("from"), the sender the
       * destination ("to") */
      if (strstr(k, ",\"from\":\""))
        s->res.expired_rx++;
      else
        s->res.expired_tx++;
      s->sec_expired++;
    }
  } else if (strncmp(k, "refuse\"", 7) == 0) {
    s->res.refused_ahead++;
  }
}
