/* SPDX-License-Identifier: MIT */
/*
 * The subcommands' flag parser (src/cli/args.h) on a made-up command:
 * switches and values (separate and attached), positional words gathered
 * in order, "--", the text that ends the flags (P2PC_ARGS_REST), each
 * house rule (a flag spelled in full, a value starting with "--"
 * attached, no value for a switch, no stray words) with its message,
 * --help winning over errors, a value refused by its parser, and the
 * usage line and option list made from the table.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"

typedef struct opts {
  bool json;
  int nodes;
  double rate;
  const char *name;
  const char *dir;
} opts;

static const p2pc_args_opt flags[] = {
    {"json", NULL, offsetof(opts, json), NULL, 0, 0, NULL, "as JSON"},
    {"nodes", "N", offsetof(opts, nodes), p2pc_args_integer, 2, 20,
     "must be an integer 2..20", "how many\nnodes [5]"},
    {"rate", "R", offsetof(opts, rate), p2pc_args_number, 0, 1000,
     "must be 0..1000 requests/s", "per second"},
    {"name", "NAME", offsetof(opts, name), NULL, 0, 0, NULL, "a name"},
    {"keep-logs-directory", "DIR", offsetof(opts, dir), p2pc_args_text, 0, 0,
     "needs a directory", "where"},
    {"old-name", "NAME", offsetof(opts, name), NULL, 0, 0, NULL, NULL},
};

#define NFLAGS (sizeof flags / sizeof flags[0])

static const p2pc_args_cmd plain = {"frob", flags, NFLAGS, 0, 0};
static const p2pc_args_cmd words = {"frob", flags, NFLAGS, P2PC_ARGS_WORDS, 0};
static const p2pc_args_cmd text = {"frob", flags, NFLAGS,
                                   P2PC_ARGS_WORDS | P2PC_ARGS_REST, 1};

#define MAXW 16

/* Parses the NULL-terminated words with cmd into *o (zeroed first);
 * err gets the message, w the positional words (joined by "|"). */
static int run(const p2pc_args_cmd *cmd, opts *o, char *err, char *w, ...) {
  char *argv[MAXW + 1];
  int argc = 0, n = 0;
  va_list ap;
  va_start(ap, w);
  for (char *a; argc < MAXW && (a = va_arg(ap, char *));)
    argv[argc++] = a;
  va_end(ap);
  argv[argc] = NULL;
  memset(o, 0, sizeof *o);
  int rc = p2pc_args_parse_err(cmd, argc, argv, o, &n, err, 400);
  w[0] = '\0';
  for (int i = 0; i < n; i++) {
    if (i)
      strcat(w, "|");
    strcat(w, argv[i]);
  }
  return rc;
}

static void test_values(void **state) {
  (void)state;
  opts o;
  char err[400], w[400];
  assert_int_equal(run(&plain, &o, err, w, "--json", "--nodes", "7",
                       "--rate=2.5", "--name", "-x", NULL),
                   P2PC_ARGS_OK);
  assert_true(o.json);
  assert_int_equal(o.nodes, 7);
  assert_true(o.rate == 2.5);
  assert_string_equal(o.name, "-x"); /* a value may start with one "-" */
  assert_string_equal(err, "");
  /* the last one wins; another name of the same field */
  assert_int_equal(run(&plain, &o, err, w, "--name", "a", "--old-name=b",
                       "--nodes=5.0", NULL),
                   P2PC_ARGS_OK);
  assert_string_equal(o.name, "b");
  assert_int_equal(o.nodes, 5);
  /* a value starting with "--" when attached */
  assert_int_equal(run(&plain, &o, err, w, "--name=--x", NULL), P2PC_ARGS_OK);
  assert_string_equal(o.name, "--x");
}

static void test_words(void **state) {
  (void)state;
  opts o;
  char err[400], w[400];
  assert_int_equal(run(&words, &o, err, w, "a", "--json", "-", "b", "--",
                       "--nodes", "c", NULL),
                   P2PC_ARGS_OK);
  assert_true(o.json);
  assert_int_equal(o.nodes, 0);
  assert_string_equal(w, "a|-|b|--nodes|c");
  /* the text: after one word, the next word starts the text, and every
   * word after it is text */
  assert_int_equal(run(&text, &o, err, w, "--json", "dest", "--nodes", "3",
                       "hello", "--json", "--help", NULL),
                   P2PC_ARGS_OK);
  assert_string_equal(w, "dest|hello|--json|--help");
  assert_int_equal(o.nodes, 3);
  assert_int_equal(run(&text, &o, err, w, "dest", "--name", "n", "hi", NULL),
                   P2PC_ARGS_OK);
  assert_string_equal(w, "dest|hi");
  assert_string_equal(o.name, "n");
}

static void expect_err(const p2pc_args_cmd *cmd, const char *msg, const char *a,
                       const char *b) {
  opts o;
  char err[400], w[400];
  assert_int_equal(run(cmd, &o, err, w, a, b, NULL), P2PC_ARGS_USAGE);
  assert_string_equal(err, msg);
}

#define HINT " (try p2pclock frob --help)"

static void test_errors(void **state) {
  (void)state;
  expect_err(&plain, "p2pclock frob: unknown option \"--frob\"" HINT, "--frob",
             NULL);
  expect_err(&plain,
             "p2pclock frob: unknown option \"--node\" (did you mean "
             "--nodes?)" HINT,
             "--node", "3"); /* no abbreviations */
  expect_err(&plain, "p2pclock frob: unknown option \"-x\"" HINT, "-x", NULL);
  expect_err(&plain, "p2pclock frob: --nodes: missing value" HINT, "--nodes",
             NULL);
  expect_err(&plain, "p2pclock frob: --name: missing value" HINT, "--name",
             "--json");
  expect_err(&plain, "p2pclock frob: --json: takes no value" HINT, "--json=1",
             NULL);
  expect_err(&plain, "p2pclock frob: unexpected argument \"x\"" HINT, "x",
             NULL);
  expect_err(&plain, "p2pclock frob: unexpected argument \"--\"" HINT, "--",
             NULL);
  expect_err(&plain,
             "p2pclock frob: --nodes must be an integer 2..20, got \"1\"" HINT,
             "--nodes", "1");
  expect_err(
      &plain,
      "p2pclock frob: --nodes must be an integer 2..20, got \"2.5\"" HINT,
      "--nodes=2.5", NULL);
  expect_err(
      &plain,
      "p2pclock frob: --rate must be 0..1000 requests/s, got \"nan\"" HINT,
      "--rate", "nan");
  expect_err(
      &plain,
      "p2pclock frob: --rate must be 0..1000 requests/s, got \"0x10\"" HINT,
      "--rate", "0x10");
  expect_err(&plain,
             "p2pclock frob: --keep-logs-directory needs a directory, got "
             "\"\"" HINT,
             "--keep-logs-directory=", NULL);
  /* the first error of several */
  expect_err(&plain, "p2pclock frob: unknown option \"--a\"" HINT, "--a",
             "--b");
}

static void test_help_wins(void **state) {
  (void)state;
  opts o;
  char err[400], w[400];
  assert_int_equal(run(&plain, &o, err, w, "--frob", "x", "--help", NULL),
                   P2PC_ARGS_HELP);
  assert_string_equal(err, "");
  assert_int_equal(run(&plain, &o, err, w, "--nodes", "99", "-h", NULL),
                   P2PC_ARGS_HELP);
  assert_int_equal(o.nodes, 0); /* nothing stored */
  /* after "--" it is a word */
  assert_int_equal(run(&words, &o, err, w, "--", "--help", NULL), P2PC_ARGS_OK);
  assert_string_equal(w, "--help");
}

static void test_help_text(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  assert_non_null(out);
  p2pc_args_usage_line(out, &words, "FILE...");
  p2pc_args_help(out, &words);
  p2pc_args_help_line(out, "DEST", "the destination");
  assert_int_equal(fclose(out), 0);
  assert_string_equal(
      buf,
      "usage: p2pclock frob [--json] [--nodes N] [--rate R] [--name NAME]\n"
      "                     [--keep-logs-directory DIR] FILE...\n"
      "  --json           as JSON\n"
      "  --nodes N        how many\n"
      "                   nodes [5]\n"
      "  --rate R         per second\n"
      "  --name NAME      a name\n"
      "  --keep-logs-directory DIR\n"
      "                   where\n"
      "  DEST             the destination\n");
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values),    cmocka_unit_test(test_words),
      cmocka_unit_test(test_errors),    cmocka_unit_test(test_help_wins),
      cmocka_unit_test(test_help_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
