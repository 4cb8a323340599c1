/* SPDX-License-Identifier: MIT */
/*
 * The flags of `p2pclock node`, read with getopt_long from the option
 * table (options.h): first every flag's shape (known, with its value) and
 * the --config file, then the file, then the flags in order on top of it.
 *
 * getopt_long is held to the house rules by the scanner of argscan.h (a
 * flag spelled in full, a value starting with "--" attached); here every
 * word that is not a flag is refused, "--" too. Not reentrant (getopt's
 * state is global).
 */
#include "argscan.h"
#include "optvalue.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct scanner {
  const p2pc_cli_option *rows;
  size_t nrows;
  p2pc__scan_row srows[P2PC_CLI_OPTIONS_MAX];
  p2pc__scan scan;
} scanner;

static void scanner_init(scanner *s, int argc, char **av) {
  memset(s, 0, sizeof *s);
  s->rows = p2pc_cli_options(&s->nrows);
  if (s->nrows > P2PC_CLI_OPTIONS_MAX)
    s->nrows = P2PC_CLI_OPTIONS_MAX;
  for (size_t i = 0; i < s->nrows; i++)
    s->srows[i] = (p2pc__scan_row){s->rows[i].flag, s->rows[i].short_flag,
                                   s->rows[i].arg != NULL};
  p2pc__scan_init(&s->scan, s->srows, s->nrows, argc, av);
}

/* A flag's name as typed in word ("--name" or "--name=value"), made
 * printable and short enough for a message. */
static void typed_name(const char *word, char *out, size_t n) {
  const char *name = word + 2, *eq = strchr(name, '=');
  size_t len = eq ? (size_t)(eq - name) : strlen(name);
  if (len > P2PC__VALUE_SHOWN_MAX)
    len = P2PC__VALUE_SHOWN_MAX;
  if (len >= n)
    len = n - 1;
  for (size_t k = 0; k < len; k++) /* keep the message on one line */
    out[k] = (unsigned char)name[k] >= 0x20 && (unsigned char)name[k] < 0x7F
                 ? name[k]
                 : '?';
  out[len] = '\0';
}

static const char *flag_name(const void *ctx, size_t i) {
  return ((const p2pc_cli_option *)ctx)[i].flag;
}

static int unknown_flag(const scanner *s, const char *word, p2pc__err *e) {
  char given[P2PC__VALUE_SHOWN_MAX + 1];
  typed_name(word, given, sizeof given);
  const char *near = p2pc__suggest(given, flag_name, s->rows, s->nrows);
  if (near)
    p2pc__err_set(e, "--%s: unknown flag (did you mean --%s?) " P2PC__HELP_HINT,
                  given, near);
  else
    p2pc__err_set(e, "--%s: unknown flag " P2PC__HELP_HINT, given);
  return P2PC_ERR_INVAL;
}

static int unexpected(const char *word, p2pc__err *e) {
  char shown[P2PC__VALUE_BUF];
  p2pc__show_string(word, shown, sizeof shown);
  p2pc__err_set(e, "unexpected argument %s " P2PC__HELP_HINT, shown);
  return P2PC_ERR_INVAL;
}

/*
 * Reads the next flag: *row and *value (NULL for a switch) on success.
 * Returns 1 for a flag, 0 at the end, or P2PC_ERR_INVAL with a message for
 * a word that is not a valid flag (the scan may go on past it): the node
 * takes no words besides its flags, not even "--".
 */
static int next_flag(scanner *s, const p2pc_cli_option **row,
                     const char **value, p2pc__err *e) {
  p2pc__scan_item it;
  switch (p2pc__scan_next(&s->scan, &it)) {
  case P2PC__SCAN_END:
    return 0;
  case P2PC__SCAN_DASHDASH:
  case P2PC__SCAN_WORD:
  case P2PC__SCAN_SHORT:
    return unexpected(it.word, e);
  case P2PC__SCAN_UNKNOWN:
    return unknown_flag(s, it.word, e);
  case P2PC__SCAN_MISSING:
    p2pc__err_set(e, "--%s: missing value " P2PC__HELP_HINT,
                  s->rows[it.row].flag);
    return P2PC_ERR_INVAL;
  case P2PC__SCAN_NO_VALUE:
    p2pc__err_set(e, "--%s: takes no value " P2PC__HELP_HINT,
                  s->rows[it.row].flag);
    return P2PC_ERR_INVAL;
  case P2PC__SCAN_FLAG:
    break;
  }
  *row = &s->rows[it.row];
  *value = it.value;
  return 1;
}

/* The first pass: every word a known flag with its value, --config at
 * most once. A help flag anywhere wins over any error. */
static int check_shape(scanner *s, const char **file, p2pc_cli_actions *act,
                       p2pc__err *e) {
  const p2pc_cli_option *o;
  const char *v;
  int rc = 0, r;
  p2pc__scan_restart(&s->scan);
  while ((r = next_flag(s, &o, &v, rc == 0 ? e : &(p2pc__err){NULL, 0})) != 0) {
    if (r < 0) {
      rc = rc ? rc : r;
      continue;
    }
    if (o->type == P2PC_CLI_OPT_ACTION) {
      if (strcmp(o->flag, "help") == 0)
        act->help = true;
      else
        act->check_config = true;
    }
    if (o->type == P2PC_CLI_OPT_FILE && rc == 0) {
      if (*file) {
        char shown[P2PC__VALUE_BUF];
        p2pc__show_string(v, shown, sizeof shown);
        p2pc__err_set(e, "--%s: %s, got %s", o->flag, o->must, shown);
        rc = P2PC_ERR_INVAL;
      }
      *file = v;
    }
  }
  return act->help ? 0 : rc;
}

int p2pc_cli_node_args(p2pc_cli_config *cfg, int argc, const char *const *argv,
                       p2pc_cli_actions *act, char *err, size_t errlen) {
  p2pc__err e = {err, errlen};
  const char *file = NULL, *v;
  const p2pc_cli_option *o;
  bool peers_flags = false;
  scanner s;
  int rc, r;
  memset(act, 0, sizeof *act);
  p2pc_cli_config_init(cfg);
  static char name[] = "p2pclock node";
  char **av = p2pc__scan_argv(name, argc, (char *const *)argv);
  if (!av) {
    p2pc__err_set(&e, "p2pclock node: out of memory");
    return P2PC_ERR_NOMEM;
  }
  scanner_init(&s, argc + 1, av);
  if ((rc = check_shape(&s, &file, act, &e)) < 0 || act->help)
    goto out;
  if (file && (rc = p2pc__config_apply_file(cfg, file, &e)) < 0)
    goto out;
  p2pc__scan_restart(&s.scan);
  while ((r = next_flag(&s, &o, &v, &e)) != 0) {
    if ((rc = r) < 0) /* cannot happen: the first pass checked */
      goto out;
    if (o->type == P2PC_CLI_OPT_PEERS && !peers_flags) {
      cfg->npeers = 0; /* the --peer flags replace the file's connectTo */
      peers_flags = true;
    }
    if ((rc = p2pc__opt_from_flag(cfg, o, v, &e)) < 0)
      goto out;
  }
  rc = p2pc__config_finish(cfg, file, peers_flags, &e);
out:
  free(av);
  if (rc < 0)
    p2pc_cli_config_fini(cfg);
  return rc < 0 ? rc : 0;
}

int p2pc_cli_config_args(p2pc_cli_config *cfg, int argc,
                         const char *const *argv, char *err, size_t errlen) {
  p2pc_cli_actions act;
  return p2pc_cli_node_args(cfg, argc, argv, &act, err, errlen);
}
