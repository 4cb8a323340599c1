/* SPDX-License-Identifier: MIT */
/*
 * The check command of check.h: reads each file, line by line, into the
 * causal oracle of src/check/evcheck.h (one stream per file), and prints
 * its verdict.
 */
#include "check.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cJSON.h"
#include "evcheck.h"
#include "parse.h"

#define EXIT_OK 0
#define EXIT_VIOLATIONS 1
#define EXIT_BADINPUT 2

#define MAX_REPORTED 10 /* malformed lines and warnings printed */

_Static_assert(P2PC_CHECK_LINE_MAX == P2PC_EVCHECK_LINE_MAX,
               "check.h and evcheck.h bound lines alike");

/* Seconds of tolerance, at most a million. */
#define TOLERANCE_MAX_S 1e6

typedef struct check_opts {
  bool json;
  uint64_t tolerance_ns; /* --expiry-tolerance */
} check_opts;

static bool parse_tolerance(const p2pc_args_opt *o, const char *v, void *dst);

static const p2pc_args_opt check_flags[] = {
    {"json", NULL, offsetof(check_opts, json), NULL, 0, 0, NULL,
     "print one JSON object instead of the summary"},
    {"expiry-tolerance", "SECONDS", offsetof(check_opts, tolerance_ns),
     parse_tolerance, 0, TOLERANCE_MAX_S,
     "must be a number of seconds 0..1000000",
     "how far past its due time, by network time, an expiry may\n"
     "be reported, 0..1000000 [1]"},
};

static const p2pc_args_cmd check_cmd = {
    "check", check_flags, sizeof check_flags / sizeof check_flags[0],
    P2PC_ARGS_WORDS, 0};

static const char about[] =
    "\n"
    "Checks a run from its nodes' event logs (one FILE per node, every\n"
    "node of the run): causal delivery order, no duplicates, every message\n"
    "delivered once at its destination unless it expired, the sender\n"
    "reported it undeliverable or a crash excuses it. An expiry must be\n"
    "due: the causal lifetime after the send, by the reporter's HLC and by\n"
    "network time, the latter within --expiry-tolerance (default 1 s). A\n"
    "message reported expired by its destination must not be delivered\n"
    "there. Prints a summary ending with `check: OK (...)` or\n"
    "`check: FAILED: N violations`; --json prints one JSON object instead.\n"
    "FILE - is stdin; the words after \"--\" are files.\n"
    "\n";

static const char exit_text[] =
    "\n"
    "Exit status: 0 OK, 1 violations, 2 usage error or unreadable or\n"
    "malformed input.\n";

static int print_help(void) {
  p2pc_args_usage_line(stdout, &check_cmd, "FILE...");
  fputs(about, stdout);
  p2pc_args_help(stdout, &check_cmd);
  fputs(exit_text, stdout);
  return fflush(stdout) == 0 ? EXIT_OK : EXIT_BADINPUT;
}

static void on_diag(void *ud, bool warning, const char *text) {
  (void)ud;
  fprintf(stderr, "p2pclock check: %s%s\n", warning ? "warning: " : "", text);
}

/* Reads file number fi into ec. Returns 0, or -1 if it could not be read
 * or memory ran out (lines with errors are counted by ec and reading goes
 * on). */
static int read_file(p2pc_evcheck *ec, const char *path, uint32_t fi,
                     char *buf) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  if (!f) {
    fprintf(stderr, "p2pclock check: %s: cannot open: %s\n", path,
            strerror(errno));
    p2pc_evcheck_count_error(ec);
    return -1;
  }
  int rv = 0;
  for (;;) {
    size_t len = 0;
    int ch;
    /* One byte past the limit tells the oracle the line is too long. */
    while ((ch = getc(f)) != EOF && ch != '\n')
      if (len <= P2PC_CHECK_LINE_MAX)
        buf[len++] = (char)ch;
    bool newline = ch == '\n';
    if (ch == EOF && ferror(f)) {
      fprintf(stderr, "p2pclock check: %s: cannot read: %s\n", path,
              strerror(errno));
      p2pc_evcheck_count_error(ec);
      rv = -1;
      break;
    }
    if (ch == EOF && len == 0)
      break;
    int lr = p2pc_evcheck_line_ex(ec, fi, buf, len,
                                  newline ? 0 : P2PC_EVCHECK_UNTERMINATED);
    if (lr == P2PC_EVCHECK_LINE_NOMEM) {
      rv = -1;
      break;
    }
    if (!newline)
      break;
    if (lr == P2PC_EVCHECK_LINE_LOST) {
      fprintf(stderr, "p2pclock check: %s: the rest of the file skipped\n",
              path);
      break;
    }
  }
  if (f != stdin)
    fclose(f);
  else
    clearerr(stdin);
  return rv;
}

static void fmt_ns(char *out, size_t n, uint64_t ns) {
  if (ns < 1000)
    snprintf(out, n, "%" PRIu64 " ns", ns);
  else if (ns < 1000000)
    snprintf(out, n, "%.1f us", (double)ns / 1e3);
  else if (ns < 1000000000)
    snprintf(out, n, "%.1f ms", (double)ns / 1e6);
  else
    snprintf(out, n, "%.2f s", (double)ns / 1e9);
}

static void print_human(uint32_t nfiles, const p2pc_evcheck_result *r) {
  printf("check: %" PRIu32 " logs, %" PRIu64 " nodes, %" PRIu64
         " incarnations (%" PRIu64 " crashed), %" PRIu64 " lines\n",
         nfiles, r->nodes, r->incarnations, r->crashed, r->lines);
  printf("check: %" PRIu64 " messages sent (%" PRIu64 " to self), %" PRIu64
         " delivered",
         r->messages, r->self_sends, r->delivered);
  if (r->waited) {
    char a[32], b[32], m[32];
    fmt_ns(a, sizeof a, r->waited_p50_ns);
    fmt_ns(b, sizeof b, r->waited_p99_ns);
    fmt_ns(m, sizeof m, r->waited_max_ns);
    printf("; %" PRIu64 " waited in a buffer: p50 %s, p99 %s, max %s\n",
           r->waited, a, b, m);
  } else {
    printf("; none waited in a buffer\n");
  }
  printf("check: %" PRIu64 " duplicates dropped, %" PRIu64 " drops, %" PRIu64
         " undeliverable, %" PRIu64 " lost with a crashed receiver, %" PRIu64
         " lost with a crashed or restarted sender, %" PRIu64
         " expired (%" PRIu64 " expiry reports)\n",
         r->dup_lines, r->drop_lines, r->undeliverable, r->lost_receiver,
         r->lost_sender, r->expired, r->expiry_lines);
  if (r->violations == 0) {
    printf("check: OK (%" PRIu64 " messages, %" PRIu64 " delivered, %" PRIu64
           " excused)\n",
           r->messages, r->delivered,
           r->undeliverable + r->lost_receiver + r->lost_sender + r->expired);
    return;
  }
  for (uint32_t i = 0; i < r->nlisted; i++)
    printf("  %s\n", r->listed[i]);
  printf("check: FAILED: %" PRIu64 " violations\n", r->violations);
}

static bool add_num(cJSON *o, const char *key, double v) {
  return cJSON_AddNumberToObject(o, key, v) != NULL;
}

static int print_json(uint32_t nfiles, const p2pc_evcheck_result *r) {
  cJSON *o = cJSON_CreateObject();
  cJSON *w = NULL, *kinds = NULL, *list = NULL;
  bool ok = o && cJSON_AddBoolToObject(o, "ok", r->violations == 0) &&
            add_num(o, "files", nfiles) &&
            add_num(o, "nodes", (double)r->nodes) &&
            add_num(o, "incarnations", (double)r->incarnations) &&
            add_num(o, "crashed", (double)r->crashed) &&
            add_num(o, "lines", (double)r->lines) &&
            add_num(o, "messages", (double)r->messages) &&
            add_num(o, "self_sends", (double)r->self_sends) &&
            add_num(o, "delivered", (double)r->delivered) &&
            add_num(o, "waited", (double)r->waited) &&
            (w = cJSON_AddObjectToObject(o, "waited_ns")) &&
            add_num(w, "p50", (double)r->waited_p50_ns) &&
            add_num(w, "p99", (double)r->waited_p99_ns) &&
            add_num(w, "max", (double)r->waited_max_ns) &&
            add_num(o, "duplicates", (double)r->dup_lines) &&
            add_num(o, "drops", (double)r->drop_lines) &&
            add_num(o, "undeliverable", (double)r->undeliverable) &&
            add_num(o, "lost_crashed_receiver", (double)r->lost_receiver) &&
            add_num(o, "lost_crashed_sender", (double)r->lost_sender) &&
            add_num(o, "expired", (double)r->expired) &&
            add_num(o, "expiry_reports", (double)r->expiry_lines) &&
            add_num(o, "violations", (double)r->violations) &&
            (kinds = cJSON_AddObjectToObject(o, "by_kind")) &&
            (list = cJSON_AddArrayToObject(o, "first_violations")) &&
            add_num(o, "warnings", (double)r->warnings);
  for (int k = 0; ok && k < P2PC_EVCHECK_NKINDS; k++)
    ok = add_num(kinds, p2pc_evcheck_kind_name((p2pc_evcheck_kind)k),
                 (double)r->by_kind[k]);
  for (uint32_t i = 0; ok && i < r->nlisted; i++) {
    cJSON *str = cJSON_CreateString(r->listed[i]);
    ok = str && cJSON_AddItemToArray(list, str);
  }
  char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!text)
    return -1;
  printf("%s\n", text);
  free(text);
  return 0;
}

static int check_files(p2pc_evcheck *ec, char *const *files, uint32_t nfiles,
                       bool json) {
  char *buf = malloc(P2PC_CHECK_LINE_MAX + 1);
  if (!buf) {
    fprintf(stderr, "p2pclock check: out of memory\n");
    return EXIT_BADINPUT;
  }
  bool nomem = false;
  for (uint32_t i = 0; i < nfiles && !nomem; i++) {
    if (p2pc_evcheck_name(ec, i, files[i]) < 0)
      nomem = true;
    else
      read_file(ec, files[i], i, buf);
  }
  free(buf);
  p2pc_evcheck_result r;
  int st = p2pc_evcheck_finish(ec, &r);
  if (nomem || st == P2PC_EVCHECK_NOMEM) {
    fprintf(stderr, "p2pclock check: out of memory\n");
    return EXIT_BADINPUT;
  }
  if (st == P2PC_EVCHECK_BADINPUT) {
    if (r.errors > MAX_REPORTED)
      fprintf(stderr, "p2pclock check: ... %" PRIu64 " errors in all\n",
              r.errors);
    fprintf(stderr, "p2pclock check: bad input, nothing checked\n");
    return EXIT_BADINPUT;
  }
  if (st == P2PC_EVCHECK_EMPTY) {
    fprintf(stderr, "p2pclock check: no \"start\" line in any file\n");
    return EXIT_BADINPUT;
  }
  if (st == P2PC_EVCHECK_TOOLARGE) {
    fprintf(stderr,
            "p2pclock check: too large to check (%" PRIu64
            " incarnations x %" PRIu64 " messages)\n",
            r.incarnations, r.msg_ids);
    return EXIT_BADINPUT;
  }
  if (json) {
    if (print_json(nfiles, &r) < 0) {
      fprintf(stderr, "p2pclock check: out of memory\n");
      return EXIT_BADINPUT;
    }
  } else {
    print_human(nfiles, &r);
  }
  if (fflush(stdout) != 0) {
    fprintf(stderr, "p2pclock check: cannot write: %s\n", strerror(errno));
    return EXIT_BADINPUT;
  }
  return r.violations ? EXIT_VIOLATIONS : EXIT_OK;
}

/* SECONDS of --expiry-tolerance into ns; false if it is not a number of
 * seconds in [0, TOLERANCE_MAX_S]. */
static bool parse_tolerance(const p2pc_args_opt *o, const char *v, void *dst) {
  double x;
  if (!p2pc_parse_double(v, P2PC_PARSE_SIGNED | P2PC_PARSE_PLUS, &x) ||
      x < o->lo || x > o->hi)
    return false;
  ((check_opts *)dst)->tolerance_ns = (uint64_t)llround(x * 1e9);
  return true;
}

int p2pc_cli_check(int argc, char **argv) {
  check_opts o = {.tolerance_ns = P2PC_EVCHECK_EXPIRY_TOLERANCE_DEFAULT_NS};
  int nfiles = 0;
  /* Options may come before or after the files, up to a "--". The files
   * are gathered at the front of argv. */
  int rc = p2pc_args_parse(&check_cmd, argc, argv, &o, &nfiles);
  if (rc == P2PC_ARGS_HELP)
    return print_help();
  if (rc < 0)
    return EXIT_BADINPUT;
  if (nfiles == 0)
    return p2pc_args_usage("check", "no log files given", NULL);
  p2pc_evcheck *ec = p2pc_evcheck_new();
  if (!ec) {
    fprintf(stderr, "p2pclock check: out of memory\n");
    return EXIT_BADINPUT;
  }
  p2pc_evcheck_set_diag(ec, on_diag, NULL);
  p2pc_evcheck_set_expiry_tolerance(ec, o.tolerance_ns);
  int rv = check_files(ec, argv, (uint32_t)nfiles, o.json);
  p2pc_evcheck_free(ec);
  return rv;
}
