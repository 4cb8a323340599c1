/* SPDX-License-Identifier: MIT */
/*
 * The option table of `p2pclock node` (src/cli/options.c) as a whole:
 * every row is complete (help, a flag for every key, a message for every
 * value), --help and `help --keys` list every key and flag, every flag's
 * value comes back through its key (flag -> echo -> file -> same echo),
 * and a bad value of any key or flag is refused with a message naming it.
 */
#include "config_fixture.h"

static const p2pc_cli_option *rows(size_t *n) { return p2pc_cli_options(n); }

/* What f printed to a memory stream, as a string to free(). */
static char *printed(void (*f)(FILE *)) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  assert_non_null(out);
  f(out);
  assert_int_equal(fclose(out), 0);
  assert_non_null(buf);
  return buf;
}

static void test_rows_complete(void **state) {
  (void)state;
  size_t n, keys = 0, flags = 0;
  const p2pc_cli_option *t = rows(&n);
  assert_true(n > 20 && n <= P2PC_CLI_OPTIONS_MAX);
  for (size_t i = 0; i < n; i++) {
    const p2pc_cli_option *o = &t[i];
    assert_non_null(o->help);
    assert_true(strlen(o->help) > 3);
    assert_true(o->key || o->flag);
    if (o->key) {
      keys++;
      assert_non_null(o->must); /* every value can be refused by name */
      assert_ptr_equal(p2pc_cli_option_by_key(o->key), o);
      /* a key without a flag of its own is set by an existing flag */
      if (!o->flag) {
        assert_non_null(o->via);
        assert_non_null(p2pc_cli_option_by_flag(o->via));
      }
    }
    if (o->flag) {
      flags++;
      assert_ptr_equal(p2pc_cli_option_by_flag(o->flag), o);
      assert_true(strncmp(o->flag, "--", 2) != 0);
      /* a flag that takes a value shows an example of one */
      if (o->arg && o->type != P2PC_CLI_OPT_FILE)
        assert_non_null(o->example);
    }
  }
  assert_int_equal(keys, 36);
  assert_true(flags >= 35);
  assert_null(p2pc_cli_option_by_key("nodeid")); /* exact, case and all */
  assert_null(p2pc_cli_option_by_flag("list"));  /* no abbreviations */
}

/* --help names every flag with its value and every key; --keys lists one
 * line a row, six fields each. */
static void test_help_and_keys_list_all(void **state) {
  (void)state;
  size_t n;
  const p2pc_cli_option *t = rows(&n);
  char *help = printed(p2pc_cli_options_help);
  char *keys = printed(p2pc_cli_options_keys);
  char *man = printed(p2pc_cli_options_man);
  for (size_t i = 0; i < n; i++) {
    const p2pc_cli_option *o = &t[i];
    char want[96];
    if (o->flag) {
      snprintf(want, sizeof want, "--%s%s%s", o->flag, o->arg ? " " : "",
               o->arg ? o->arg : "");
      if (!strstr(help, want))
        print_error("--help lacks %s\n", want);
      assert_non_null(strstr(help, want));
      size_t w = (size_t)snprintf(want, sizeof want, "\\-\\-");
      for (const char *f = o->flag; *f && w + 3 < sizeof want; f++)
        w += (size_t)snprintf(want + w, sizeof want - w, "%s",
                              *f == '-' ? "\\-" : (char[]){*f, '\0'});
      assert_non_null(strstr(man, want));
    }
    if (o->key) {
      snprintf(want, sizeof want, "(%s", o->key);
      char other[96];
      snprintf(other, sizeof other, ", %s", o->key);
      if (!strstr(help, want) && !strstr(help, other))
        print_error("--help lacks key %s\n", o->key);
      assert_true(strstr(help, want) || strstr(help, other));
      snprintf(want, sizeof want, "\n%s\t", o->key);
      assert_non_null(strstr(keys, want));
    }
  }
  size_t lines = 0;
  for (const char *p = keys; *p; p++) {
    if (*p != '\n')
      continue;
    lines++;
  }
  assert_int_equal(lines, n + 1); /* a header, then a line a row */
  for (char *line = strtok(keys, "\n"); line; line = strtok(NULL, "\n")) {
    size_t tabs = 0;
    for (const char *p = line; *p; p++)
      tabs += *p == '\t';
    assert_int_equal(tabs, 5);
  }
  /* no line of --help is wider than a terminal */
  for (char *line = strtok(help, "\n"); line; line = strtok(NULL, "\n"))
    assert_true(strlen(line) <= 80);
  free(help);
  free(keys);
  free(man);
}

static char *echo_of(int argc, const char *const *argv) {
  char err[P2PC_CLI_ERR_LEN] = "";
  p2pc_cli_config cfg;
  int rc = p2pc_cli_config_args(&cfg, argc, argv, err, sizeof err);
  if (rc != 0)
    print_error("%s\n", err);
  assert_int_equal(rc, 0);
  char *json = p2pc_cli_config_json(&cfg);
  assert_non_null(json);
  p2pc_cli_config_fini(&cfg);
  return json;
}

/* Every flag's example reaches its key in the echo, and the echo read
 * back as a file resolves to the same config. */
static void test_flags_and_keys_round_trip(void **state) {
  (void)state;
  size_t n;
  const p2pc_cli_option *t = rows(&n);
  const char *base[] = {"--id", "A", "--listen", "127.0.0.1:9000"};
  char *plain = echo_of(4, base);
  for (size_t i = 0; i < n; i++) {
    const p2pc_cli_option *o = &t[i];
    if (!o->flag || o->type == P2PC_CLI_OPT_FILE ||
        o->type == P2PC_CLI_OPT_ACTION)
      continue;
    const char *argv[] = {"--id",           "A",  "--listen",
                          "127.0.0.1:9000", NULL, NULL};
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", o->flag);
    argv[4] = flag;
    argv[5] = o->example;
    char *json = echo_of(o->arg ? 6 : 5, argv);
    if (strcmp(json, plain) == 0)
      print_error("%s %s changes nothing\n", flag, o->example);
    assert_string_not_equal(json, plain);
    char want[64];
    snprintf(want, sizeof want, "\"%s\":", o->key ? o->key : "nodeIP");
    assert_non_null(strstr(json, want));

    char path[512], err[P2PC_CLI_ERR_LEN] = "";
    p2pc_cli_config cfg;
    write_text("echo.json", json, path, sizeof path);
    assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err), 0);
    char *again = p2pc_cli_config_json(&cfg);
    assert_non_null(again);
    assert_string_equal(again, json);
    free(again);
    free(json);
    p2pc_cli_config_fini(&cfg);
    unlink(path);
  }
  free(plain);
}

/* A value no key takes (an object) is refused naming the file and the
 * key; an empty value no flag takes, naming the flag. */
static void test_bad_value_names_key(void **state) {
  (void)state;
  size_t n;
  const p2pc_cli_option *t = rows(&n);
  for (size_t i = 0; i < n; i++) {
    const p2pc_cli_option *o = &t[i];
    char path[512], text[128], err[P2PC_CLI_ERR_LEN] = "", want[600];
    p2pc_cli_config cfg;
    if (o->key) {
      snprintf(text, sizeof text, "{\"%s\":{\"bad\":1}}", o->key);
      write_text("bad.json", text, path, sizeof path);
      assert_int_equal(p2pc_cli_config_load(&cfg, path, err, sizeof err),
                       P2PC_ERR_INVAL);
      snprintf(want, sizeof want, "%s: \"%s\" must", path, o->key);
      if (strncmp(err, want, strlen(want)) != 0)
        print_error("%s: %s\n", o->key, err);
      assert_int_equal(strncmp(err, want, strlen(want)), 0);
      const char *tail = ", got {\"bad\":1}";
      assert_true(strlen(err) > strlen(tail));
      assert_string_equal(err + strlen(err) - strlen(tail), tail);
      assert_null(cfg.peers);
      unlink(path);
    }
    if (o->flag && o->arg && o->type != P2PC_CLI_OPT_FILE) {
      const char *argv[] = {"--id",           "A",  "--listen",
                            "127.0.0.1:9000", NULL, ""};
      char flag[64];
      snprintf(flag, sizeof flag, "--%s", o->flag);
      argv[4] = flag;
      assert_int_equal(p2pc_cli_config_args(&cfg, 6, argv, err, sizeof err),
                       P2PC_ERR_INVAL);
      snprintf(want, sizeof want, "--%s: ", o->flag);
      if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, "got \"\""))
        print_error("%s: %s\n", flag, err);
      assert_int_equal(strncmp(err, want, strlen(want)), 0);
      assert_non_null(strstr(err, ", got \"\""));
      assert_null(cfg.peers);
    }
  }
}

/* A default help shows as a number is the one the config starts from
 * (p2pc_cli_config_init: p2pc_settings_default's, the one source). */
static void test_defaults_shown_are_the_library_s(void **state) {
  (void)state;
  size_t n, checked = 0;
  const p2pc_cli_option *t = rows(&n);
  const char *base[] = {"--id", "A", "--listen", "127.0.0.1:9000"};
  char *plain = echo_of(4, base);
  for (size_t i = 0; i < n; i++) {
    const p2pc_cli_option *o = &t[i];
    char *end, want[80];
    if (!o->key || !o->def)
      continue;
    double d = strtod(o->def, &end);
    if (end == o->def || *end)
      continue; /* not a number: "none", "0:0, off", "nodePort" */
    snprintf(want, sizeof want, "\"%s\":", o->key);
    const char *at = strstr(plain, want);
    assert_non_null(at);
    double v = strtod(at + strlen(want), &end);
    if (end == at + strlen(want) || v != d)
      print_error("%s: help says [%s], the config starts from %s\n", o->key,
                  o->def, at);
    assert_true(end != at + strlen(want) && v == d);
    checked++;
  }
  assert_true(checked >= 16);
  free(plain);
}

/* The flags getopt_long would bend are held to the command's rules. */
static void test_getopt_rules(void **state) {
  (void)state;
  char err[P2PC_CLI_ERR_LEN] = "";
  p2pc_cli_config cfg;
  p2pc_cli_actions act;
  const char *abbrev[] = {"--id", "A", "--list", "127.0.0.1:1"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 4, abbrev, err, sizeof err),
                   P2PC_ERR_INVAL);
  assert_string_equal(err, "--list: unknown flag (did you mean --listen?) "
                           "(see p2pclock node --help)");
  const char *dashes[] = {"--id", "A", "--", "--listen", "127.0.0.1:1"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 5, dashes, err, sizeof err),
                   P2PC_ERR_INVAL);
  assert_string_equal(err,
                      "unexpected argument \"--\" (see p2pclock node --help)");
  const char *shortf[] = {"-x"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 1, shortf, err, sizeof err),
                   P2PC_ERR_INVAL);
  assert_string_equal(err,
                      "unexpected argument \"-x\" (see p2pclock node --help)");
  /* an attached value may start with "--"; help anywhere wins */
  const char *attached[] = {"--id", "A", "--listen", "127.0.0.1:1",
                            "--events=--x"};
  assert_int_equal(p2pc_cli_config_args(&cfg, 5, attached, err, sizeof err), 0);
  assert_string_equal(cfg.events, "--x");
  p2pc_cli_config_fini(&cfg);
  const char *help[] = {"--verbose", "--id", "-h"};
  assert_int_equal(p2pc_cli_node_args(&cfg, 3, help, &act, err, sizeof err),
                   P2PC_ERR_INVAL);
  const char *help2[] = {"--verbose", "--id", "--help", "--check-config"};
  assert_int_equal(p2pc_cli_node_args(&cfg, 4, help2, &act, err, sizeof err),
                   0);
  assert_true(act.help);
  assert_true(act.check_config);
  assert_null(cfg.peers);
  const char *check[] = {"--check-config", "--id", "A", "--listen",
                         "127.0.0.1:1"};
  assert_int_equal(p2pc_cli_node_args(&cfg, 5, check, &act, err, sizeof err),
                   0);
  assert_false(act.help);
  assert_true(act.check_config);
  assert_string_equal(cfg.id, "A");
  p2pc_cli_config_fini(&cfg);
  const char *twice[] = {"--id", "A", "--check-config=1"};
  assert_int_equal(p2pc_cli_node_args(&cfg, 3, twice, &act, err, sizeof err),
                   P2PC_ERR_INVAL);
  assert_string_equal(
      err, "--check-config: takes no value (see p2pclock node --help)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rows_complete),
      cmocka_unit_test(test_help_and_keys_list_all),
      cmocka_unit_test(test_flags_and_keys_round_trip),
      cmocka_unit_test(test_bad_value_names_key),
      cmocka_unit_test(test_getopt_rules),
      cmocka_unit_test(test_defaults_shown_are_the_library_s),
  };
  return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
