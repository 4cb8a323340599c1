/* SPDX-License-Identifier: MIT */
/*
 * What the client subcommands print: each answer as a person reads it
 * (peers as a table, tracking and sources as chronyc prints them, ...),
 * and a streamed delivery as `recv` prints it.
 */
#include "client_int.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void print_value(const cJSON *v) {
  if (cJSON_IsString(v)) {
    fputs(v->valuestring, stdout);
  } else if (cJSON_IsNumber(v) && v->valuedouble > -9007199254740992.0 &&
             v->valuedouble < 9007199254740992.0 &&
             v->valuedouble == (double)(long long)v->valuedouble) {
    printf("%.0f", v->valuedouble);
  } else if (cJSON_IsNumber(v)) {
    printf("%g", v->valuedouble);
  } else {
    char *s = cJSON_PrintUnformatted(v);
    fputs(s ? s : "?", stdout);
    free(s);
  }
}

/* Every key but "ok", one per line, values aligned. */
static void print_keys(const cJSON *ans) {
  const cJSON *it;
  int w = 0;
  cJSON_ArrayForEach(it, ans) {
    if (it->string && strcmp(it->string, "ok") != 0 &&
        (int)strlen(it->string) > w)
      w = (int)strlen(it->string);
  }
  cJSON_ArrayForEach(it, ans) {
    if (!it->string || strcmp(it->string, "ok") == 0)
      continue;
    printf("%s:%*s ", it->string, w - (int)strlen(it->string), "");
    print_value(it);
    putchar('\n');
  }
}

const char *p2pc_cli_str_field(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : "-";
}

static double num_field(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void print_peers(const cJSON *ans) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(ans, "peers"), *p;
  int wid = 2, wstate = 5, waddr = 4;
  cJSON_ArrayForEach(p, arr) {
    int a = (int)strlen(p2pc_cli_str_field(p, "id")),
        b = (int)strlen(p2pc_cli_str_field(p, "state")),
        c = (int)strlen(p2pc_cli_str_field(p, "addr"));
    wid = a > wid ? a : wid;
    wstate = b > wstate ? b : wstate;
    waddr = c > waddr ? c : waddr;
  }
  printf("%-*s  %-*s  %-*s  %7s  %8s  %9s\n", wid, "ID", wstate, "STATE", waddr,
         "ADDR", "UNACKED", "SENT", "DELIVERED");
  cJSON_ArrayForEach(p, arr) {
    printf("%-*s  %-*s  %-*s  %7.0f  %8.0f  %9.0f\n", wid,
           p2pc_cli_str_field(p, "id"), wstate, p2pc_cli_str_field(p, "state"),
           waddr, p2pc_cli_str_field(p, "addr"), num_field(p, "unacked"),
           num_field(p, "sent"), num_field(p, "delivered_from"));
  }
  if (cJSON_GetArraySize(arr) == 0)
    printf("(no peers yet)\n");
}

static bool bool_field(const cJSON *o, const char *key) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Like str_field, but a null or missing value is "". */
static const char *opt_str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}

/* ns since 1970 as UTC, to the µs: a double (as cJSON reads the exact
 * integer) holds such a value to a quarter of a µs. */
static void print_utc(double ns) {
  double us = floor(ns / 1e3 + 0.5);
  long long sec = (long long)floor(us / 1e6);
  long frac = (long)(us - (double)sec * 1e6);
  time_t t = (time_t)sec;
  struct tm tm;
  char when[40];
  if (frac < 0 || frac > 999999)
    frac = 0;
  if (!gmtime_r(&t, &tm) ||
      strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
    printf("%.0f ns\n", ns);
    return;
  }
  printf("%s.%06ldZ\n", when, frac);
}

/* Prints s right-aligned in w columns; a UTF-8 character counts as one
 * (the "µ" of the headings). */
static void print_col(const char *s, int w) {
  int cols = 0;
  for (const char *p = s; *p; p++)
    cols += ((unsigned char)*p & 0xC0) != 0x80;
  printf("%*s%s", w > cols ? w - cols : 0, "", s);
}

/* `chronyc tracking`, one fact a line. */
static void print_tracking(const cJSON *a) {
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "counters");
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(a, "stamps");
  const cJSON *vc = cJSON_GetObjectItemCaseSensitive(a, "virtual_clock");
  const char *ref = opt_str(a, "ref"), *src = opt_str(a, "source");
  double since = num_field(a, "since_update_ns");
  printf("Mode            : %s%s\n", p2pc_cli_str_field(a, "mode"),
         bool_field(a, "reference") ? " (this node is the reference)" : "");
  printf("Reference       : %s\n", ref[0] ? ref : "(none)");
  if (src[0])
    printf("Source          : %s (%.0f hop(s) from the reference)\n", src,
           num_field(a, "hops"));
  else
    printf("Source          : (none)\n");
  printf("Synced          : %s\n", bool_field(a, "synced") ? "yes" : "no");
  printf("Stratum         : %.0f\n", num_field(a, "stratum"));
  printf("Local clock     : ");
  print_utc(num_field(a, "local_ns"));
  printf("Network time    : ");
  print_utc(num_field(a, "net_ns"));
  printf("Offset          : %+.3f µs (network time - local clock)\n",
         num_field(a, "offset_ns") / 1e3);
  printf("Last adjustment : %+.3f µs\n", num_field(a, "last_adj_ns") / 1e3);
  printf("Pending slew    : %+.3f µs\n", num_field(a, "pending_ns") / 1e3);
  printf("Frequency       : %+.3f ppm\n", num_field(a, "freq_ppm"));
  printf("Skew            : %.3f ppm\n", num_field(a, "skew_ppm"));
  printf("Error bound     : %.3f µs\n", num_field(a, "err_ns") / 1e3);
  if (since < 0)
    printf("Last update     : never\n");
  else
    printf("Last update     : %.3f s ago\n", since / 1e9);
  printf("Updates         : %.0f (%.0f step(s))\n", num_field(a, "updates"),
         num_field(a, "steps"));
  printf("Sources         : %.0f (%.0f truechimer(s))\n",
         num_field(a, "sources"), num_field(a, "truechimers"));
  if (num_field(a, "time_port") > 0)
    printf("Timestamping    : %s (UDP port %.0f)\n",
           p2pc_cli_str_field(a, "timestamping"), num_field(a, "time_port"));
  else
    printf("Timestamping    : %s (no time socket)\n",
           p2pc_cli_str_field(a, "timestamping"));
  if (cJSON_IsObject(vc))
    printf("Virtual clock   : offset %+.9f s, drift %+.3f ppm\n",
           num_field(vc, "offset_s"), num_field(vc, "drift_ppm"));
  else
    printf("Virtual clock   : none (the real clock)\n");
  printf("Packets         : rx %.0f, tx %.0f, answered %.0f (%.0f to NTP "
         "clients, %.0f with a MAC)\n",
         num_field(c, "rx"), num_field(c, "tx"), num_field(c, "answered"),
         num_field(c, "answered_std"), num_field(c, "answered_auth"));
  printf("Rate limited    : %.0f NTP client request(s): %.0f KoD RATE, %.0f "
         "answered anyway\n",
         num_field(c, "rate_limited"), num_field(c, "rate_kod"),
         num_field(c, "rate_leaked"));
  printf("Refused         : malformed %.0f, mode %.0f, unverified %.0f, "
         "bad MAC %.0f, unauthenticated %.0f, bogus %.0f, replay %.0f, "
         "filtered %.0f, queue full %.0f\n",
         num_field(c, "rx_malformed"), num_field(c, "rx_mode"),
         num_field(c, "rx_unverified"), num_field(c, "rx_bad_mac"),
         num_field(c, "rx_unauth"), num_field(c, "rx_bogus"),
         num_field(c, "rx_replay"), num_field(c, "filtered"),
         num_field(c, "tx_dropped"));
  printf("Liars           : %.0f source(s) set aside, %.0f correction(s) "
         "beyond maxChange ignored\n",
         num_field(c, "rejected"), num_field(c, "max_change"));
  printf("Stamps          : rx %.0f kernel, %.0f user; tx %.0f kernel of "
         "%.0f timed (%.0f sent, %.0f send error(s))\n",
         num_field(st, "rx_kernel"), num_field(st, "rx_user"),
         num_field(st, "tx_kernel"), num_field(st, "tx_timed"),
         num_field(st, "tx"), num_field(st, "tx_errors"));
}

static char state_mark(const char *state) {
  static const struct {
    const char *name;
    char mark;
  } marks[] = {{"selected", '*'},    {"truechimer", '+'}, {"candidate", '-'},
               {"falseticker", 'x'}, {"unsynced", '?'},   {"no-samples", '?'},
               {"unreachable", '.'}, {"other-ref", '~'}};
  for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
    if (strcmp(state, marks[i].name) == 0)
      return marks[i].mark;
  return ' ';
}

static const char sources_legend[] =
    "  .-- State: * selected, + truechimer, - candidate, x falseticker,\n"
    " /           ? unsynced or no samples, . unreachable, ~ other reference\n"
    "| .-- Newest sample: I interleaved, K kernel timestamps, U user-space\n"
    "| |   Poll: log2 s; Reach: the last 8 polls, octal; Samp: in the\n"
    "| |   regression; Offset: its network time - ours, +/- Error; Freq:\n"
    "| |   its local clock's rate - ours; Last: age of its newest sample\n"
    "| |\n";

/* `chronyc sources -v`: a legend, then one aligned row per source. */
static void print_sources(const cJSON *ans) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(ans, "sources"), *p;
  int wid = 2, waddr = 7;
  cJSON_ArrayForEach(p, arr) {
    int a = (int)strlen(p2pc_cli_str_field(p, "id")),
        b = (int)strlen(p2pc_cli_str_field(p, "addr"));
    wid = a > wid ? a : wid;
    waddr = b > waddr ? b : waddr;
  }
  fputs(sources_legend, stdout);
  printf("MS %-*s  %-*s", wid, "ID", waddr, "Address");
  static const struct {
    const char *head;
    int w;
  } cols[] = {{"Poll", 4},      {"Reach", 5},      {"Samp", 4},
              {"Hops", 4},      {"Offset µs", 13}, {"Error µs", 11},
              {"Delay µs", 11}, {"Jitter µs", 10}, {"Freq ppm", 10},
              {"Skew ppm", 9},  {"Last s", 7},     {"State", 0}};
  for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
    putchar(' ');
    if (cols[i].w)
      print_col(cols[i].head, cols[i].w);
    else
      printf(" %s", cols[i].head);
  }
  putchar('\n');
  printf("%.*s\n", 3 + wid + 2 + waddr + 110,
         "========================================================"
         "========================================================"
         "========================================================");
  cJSON_ArrayForEach(p, arr) {
    const char *state = p2pc_cli_str_field(p, "state");
    char kind = bool_field(p, "interleaved") ? 'I'
                : bool_field(p, "kernel")    ? 'K'
                                             : 'U';
    double ago = num_field(p, "last_sample_ago_ns");
    char last[24] = "-";
    if (ago >= 0)
      snprintf(last, sizeof last, "%.1f", ago / 1e9);
    printf("%c%c %-*s  %-*s %4.0f  %4o %4.0f %4.0f %+13.3f %11.3f %11.3f "
           "%10.3f %+10.3f %9.3f %7s  %s\n",
           state_mark(state), kind, wid, p2pc_cli_str_field(p, "id"), waddr,
           p2pc_cli_str_field(p, "addr"), num_field(p, "poll"),
           (unsigned)num_field(p, "reach"), num_field(p, "samples"),
           num_field(p, "hops"), num_field(p, "offset_ns") / 1e3,
           num_field(p, "err_ns") / 1e3, num_field(p, "delay_ns") / 1e3,
           num_field(p, "jitter_ns") / 1e3, num_field(p, "freq_ppm"),
           num_field(p, "skew_ppm"), last, state);
  }
  if (cJSON_GetArraySize(arr) == 0)
    printf("(no sources yet)\n");
}

static void print_vclock(const cJSON *ans) {
  const cJSON *vc = cJSON_GetObjectItemCaseSensitive(ans, "virtual_clock");
  printf("virtual clock: offset %+.9f s, drift %+.3f ppm\n",
         num_field(vc, "offset_s"), num_field(vc, "drift_ppm"));
}

/* The keyring: one line a key, its fingerprint, the primary marked. */
static void print_keyring(const cJSON *ans) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(ans, "keys"), *k;
  cJSON_ArrayForEach(k, arr) {
    printf("%s%s\n", p2pc_cli_str_field(k, "fingerprint"),
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(k, "primary"))
               ? " primary"
               : "");
  }
}

void p2pc_cli_print_answer(const char *name, const cJSON *ans) {
  if (strcmp(name, "peers") == 0) {
    print_peers(ans);
  } else if (strcmp(name, "tracking") == 0) {
    print_tracking(ans);
  } else if (strcmp(name, "sources") == 0) {
    print_sources(ans);
  } else if (strcmp(name, "vclock") == 0) {
    print_vclock(ans);
  } else if (strcmp(name, "send") == 0) {
    printf("sent %s\n", p2pc_cli_str_field(ans, "msg"));
  } else if (strcmp(name, "broadcast") == 0) {
    if (cJSON_GetObjectItemCaseSensitive(ans, "peers"))
      printf("broadcast %s to %.0f peer(s) and to the node itself\n",
             p2pc_cli_str_field(ans, "msg"), num_field(ans, "peers"));
    else
      printf("broadcast %s to the whole network\n",
             p2pc_cli_str_field(ans, "msg"));
  } else if (strcmp(name, "simulate") == 0) {
    printf("sent %.0f message(s) to random peers\n", num_field(ans, "sent"));
  } else if (strcmp(name, "stop") == 0) {
    printf("the node is stopping\n");
  } else if (strcmp(name, "keys") == 0) {
    print_keyring(ans);
  } else {
    print_keys(ans);
  }
}

void p2pc_cli_print_delivery(const cJSON *ev) {
  const char *msg = p2pc_cli_str_field(ev, "msg");
  const cJSON *text = cJSON_GetObjectItemCaseSensitive(ev, "text");
  const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(ev, "b64");
  /* The sender: the node of the message id "<node>~<session>:<seq>". */
  const char *tilde = strchr(msg, '~');
  int nlen = tilde ? (int)(tilde - msg) : (int)strlen(msg);
  printf("%.*s %s ", nlen, msg, msg);
  if (cJSON_IsString(text)) {
    for (const char *p = text->valuestring; *p; p++) {
      if (*p == '\n')
        fputs("\\n", stdout);
      else if (*p == '\t')
        fputs("\\t", stdout);
      else if (*p == '\r')
        fputs("\\r", stdout);
      else if (*p == '\\')
        fputs("\\\\", stdout);
      else
        putchar(*p);
    }
  } else if (cJSON_IsString(b64)) {
    printf("b64:%s", b64->valuestring);
  } else {
    fputs("(payload too long to stream)", stdout);
  }
  putchar('\n');
}
