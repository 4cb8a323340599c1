/* SPDX-License-Identifier: MIT */
/*
 * ntpprobe's statistics and output: the samples kept per target (the
 * ring for the medians, the minimum-delay sample), a round as a JSON
 * line or as a table, and the summary at the end.
 */
#define _DEFAULT_SOURCE /* MSG_ERRQUEUE, SO_TIMESTAMPING and friends */

#include "ntpprobe.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void keep_sample(target *t, const sample *s) {
  size_t i = t->n_kept % KEEP_SAMPLES;
  t->offs[i] = s->offset;
  t->dels[i] = s->delay;
  t->n_kept++;
  if (!t->have_min || s->delay < t->min.delay) {
    t->min = *s;
    t->have_min = true;
  }
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

/* The refid as people read it: four characters up to stratum 1, else the
 * IPv4 address (or IPv6 hash) of the server's source, or of a stratum-1
 * refid that is not text. */
static void format_refid(const sample *s, char out[16]) {
  uint32_t r = s->refid;
  bool text = s->stratum <= 1;
  int k = 0;
  for (int i = 0; i < 4 && text; i++) {
    uint8_t c = (uint8_t)(r >> (24 - 8 * i));
    if (c == 0)
      break;
    if (c < 0x20 || c >= 0x7f)
      text = false; /* e.g. chrony's local reference, 127.127.1.1 */
    else
      out[k++] = (char)c;
  }
  if (text) {
    out[k] = '\0';
  } else {
    snprintf(out, 16, "%u.%u.%u.%u", r >> 24, (r >> 16) & 255u, (r >> 8) & 255u,
             r & 255u);
  }
}

void print_round_json(uint64_t round, int64_t t_ns, target *ts, size_t n) {
  printf("{\"round\":%" PRIu64 ",\"t_ns\":%" PRId64 ",\"targets\":[", round,
         t_ns);
  for (size_t i = 0; i < n; i++) {
    const target *t = &ts[i];
    printf("%s{\"addr\":", i ? "," : "");
    json_string(t->addr);
    if (t->err != NULL) {
      printf(",\"error\":");
      json_string(t->err);
      putchar('}');
      continue;
    }
    char ref[16];
    format_refid(&t->cur, ref);
    printf(",\"offset_ns\":%" PRId64 ",\"delay_ns\":%" PRId64
           ",\"stratum\":%u,\"li\":%u,\"refid\":",
           t->cur.offset, t->cur.delay, t->cur.stratum, t->cur.li);
    json_string(ref);
    printf(",\"root_delay_ns\":%" PRId64 ",\"root_disp_ns\":%" PRId64
           ",\"ts\":\"%c%c\"}",
           t->cur.root_delay, t->cur.root_disp, t->cur.tx_kernel ? 'k' : 'u',
           t->cur.rx_kernel ? 'k' : 'u');
  }
  printf("]}\n");
}

void print_round_text(uint64_t round, int64_t t_ns, target *ts, size_t n) {
  time_t secs = (time_t)(t_ns / NS);
  struct tm tm;
  char when[32];
  gmtime_r(&secs, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  printf("round %" PRIu64 "  %s.%06ldZ\n", round, when,
         (long)(t_ns % NS / 1000));
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  size_t ok = 0;
  for (size_t i = 0; i < n; i++) {
    const target *t = &ts[i];
    if (t->err != NULL) {
      printf("  %-24s %s\n", t->addr, t->err);
      continue;
    }
    char ref[16];
    format_refid(&t->cur, ref);
    printf("  %-24s offset %+14.3f us  delay %10.3f us  st %2u  li %u  %-15s"
           " %c%c\n",
           t->addr, (double)t->cur.offset / 1e3, (double)t->cur.delay / 1e3,
           t->cur.stratum, t->cur.li, ref, t->cur.tx_kernel ? 'k' : 'u',
           t->cur.rx_kernel ? 'k' : 'u');
    if (t->cur.offset < lo)
      lo = t->cur.offset;
    if (t->cur.offset > hi)
      hi = t->cur.offset;
    ok++;
  }
  if (ok >= 2)
    printf("  spread (max - min offset of %zu): %.3f us\n", ok,
           (double)(hi - lo) / 1e3);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Median of the kept ring (scratch: room for KEEP_SAMPLES). */
static int64_t median(const int64_t *ring, size_t kept, int64_t *scratch) {
  size_t n = kept < KEEP_SAMPLES ? kept : KEEP_SAMPLES;
  memcpy(scratch, ring, n * sizeof *scratch);
  qsort(scratch, n, sizeof *scratch, cmp_i64);
  return n % 2 ? scratch[n / 2] : (scratch[n / 2 - 1] + scratch[n / 2]) / 2;
}

void print_summary(uint64_t rounds, target *ts, size_t n, bool json,
                   int64_t *scratch) {
  if (json)
    printf("{\"summary\":{\"rounds\":%" PRIu64 ",\"targets\":[", rounds);
  else
    printf("summary: %" PRIu64 " round(s); offset = server - this clock\n"
           "  %-24s %9s %13s %15s %15s %13s %s\n",
           rounds, "target", "answered", "min delay us", "offset@min us",
           "median off us", "median dl us", "timeouts/errors/bad/stale/dup");
  for (size_t i = 0; i < n; i++) {
    const target *t = &ts[i];
    if (json) {
      printf("%s{\"addr\":", i ? "," : "");
      json_string(t->addr);
      printf(",\"sent\":%" PRIu64 ",\"answered\":%" PRIu64
             ",\"timeouts\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"bad\":%" PRIu64
             ",\"stale\":%" PRIu64 ",\"dup\":%" PRIu64 ",\"tx_kernel\":%" PRIu64
             ",\"rx_kernel\":%" PRIu64,
             t->n_sent, t->n_answered, t->n_timeout, t->n_error, t->n_bad,
             t->n_stale, t->n_dup, t->n_tx_kernel, t->n_rx_kernel);
      if (t->n_kept > 0)
        printf(",\"min_delay_ns\":%" PRId64 ",\"min_delay_offset_ns\":%" PRId64
               ",\"median_offset_ns\":%" PRId64 ",\"median_delay_ns\":%" PRId64,
               t->min.delay, t->min.offset, median(t->offs, t->n_kept, scratch),
               median(t->dels, t->n_kept, scratch));
      putchar('}');
      continue;
    }
    char answered[48];
    snprintf(answered, sizeof answered, "%" PRIu64 "/%" PRIu64, t->n_answered,
             rounds);
    if (t->n_kept > 0)
      printf("  %-24s %9s %13.3f %+15.3f %+15.3f %13.3f", t->addr, answered,
             (double)t->min.delay / 1e3, (double)t->min.offset / 1e3,
             (double)median(t->offs, t->n_kept, scratch) / 1e3,
             (double)median(t->dels, t->n_kept, scratch) / 1e3);
    else
      printf("  %-24s %9s %13s %15s %15s %13s", t->addr, answered, "-", "-",
             "-", "-");
    printf(" %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "\n",
           t->n_timeout, t->n_error, t->n_bad, t->n_stale, t->n_dup);
  }
  if (json)
    printf("]}}\n");
}
