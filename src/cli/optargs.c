/* SPDX-License-Identifier: MIT */
/*
 * The flags of `p2pclock node`, read with getopt_long from the option
 * table (options.h): first every flag's shape (known, with its value) and
 * the --config file, then the file, then the flags in order on top of it.
 *
 * getopt_long is held to the rules the command has always had: a flag is
 * spelled in full (getopt_long would take "--list" for --listen); a value
 * that starts with "--" must be attached ("--id=--x"), so "--id --listen"
 * is a missing value, not an ID; words that are not flags are refused.
 * Its state is global (optind), so this is not reentrant; glibc restarts
 * a scan when optind is set to 0.
 */
#include "optvalue.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ROWS_MAX P2PC_CLI_OPTIONS_MAX
#define LONG_BASE 256      /* getopt_long's value of row i: LONG_BASE + i */
#define SHORT_OPTS_MAX 160 /* "+:" and "x:" for every row */

typedef struct scanner {
  const p2pc_cli_option *rows;
  size_t nrows;
  struct option longopts[ROWS_MAX + 1];
  char shortopts[SHORT_OPTS_MAX];
  int argc; /* with av[0], the name getopt skips */
  char **av;
} scanner;

static void scanner_init(scanner *s, int argc, char **av) {
  size_t n = 0, k = 0;
  memset(s, 0, sizeof *s);
  s->rows = p2pc_cli_options(&s->nrows);
  s->argc = argc;
  s->av = av;
  /* "+": stop at the first word that is no flag (it is an error here);
   * ":": report a missing value as ':', and print nothing. */
  s->shortopts[k++] = '+';
  s->shortopts[k++] = ':';
  for (size_t i = 0; i < s->nrows && n < ROWS_MAX; i++) {
    const p2pc_cli_option *o = &s->rows[i];
    if (!o->flag)
      continue;
    int has_arg = o->arg ? required_argument : no_argument;
    s->longopts[n++] =
        (struct option){o->flag, has_arg, NULL, LONG_BASE + (int)i};
    if (o->short_flag && k + 3 < SHORT_OPTS_MAX) {
      s->shortopts[k++] = (char)o->short_flag;
      if (o->arg)
        s->shortopts[k++] = ':';
    }
  }
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

/* The row word names exactly ("--name" or "--name=..."), or NULL. */
static const p2pc_cli_option *exact_row(const scanner *s, const char *word) {
  if (strncmp(word, "--", 2) != 0)
    return NULL;
  const char *name = word + 2;
  size_t len = strcspn(name, "=");
  for (size_t i = 0; i < s->nrows; i++) {
    const char *f = s->rows[i].flag;
    if (f && strlen(f) == len && memcmp(f, name, len) == 0)
      return &s->rows[i];
  }
  return NULL;
}

/*
 * Reads the next flag: *row and *value (NULL for a switch) on success.
 * Returns 1 for a flag, 0 at the end, or P2PC_ERR_INVAL with a message for
 * a word that is not a valid flag (the scan may go on past it).
 */
static int next_flag(scanner *s, const p2pc_cli_option **row,
                     const char **value, p2pc__err *e) {
  int before = optind < 1 ? 1 : optind;
  const char *word = before < s->argc ? s->av[before] : NULL;
  int idx = -1;
  int c = getopt_long(s->argc, s->av, s->shortopts, s->longopts, &idx);
  if (c == -1) {
    if (optind == before + 1 && word && strcmp(word, "--") == 0)
      return unexpected(word, e); /* getopt's end of flags: not ours */
    if (optind < s->argc) {
      const char *stray = s->av[optind++];
      return unexpected(stray, e);
    }
    return 0;
  }
  if (c == ':') {
    const p2pc_cli_option *o = exact_row(s, word);
    if (!o)
      return unknown_flag(s, word, e);
    p2pc__err_set(e, "--%s: missing value " P2PC__HELP_HINT, o->flag);
    return P2PC_ERR_INVAL;
  }
  if (c == '?') {
    if (!word || strncmp(word, "--", 2) != 0)
      return unexpected(word ? word : "", e); /* "-x" */
    const p2pc_cli_option *o = exact_row(s, word);
    if (o && !o->arg && strchr(word, '=')) {
      p2pc__err_set(e, "--%s: takes no value " P2PC__HELP_HINT, o->flag);
      return P2PC_ERR_INVAL;
    }
    return unknown_flag(s, word, e);
  }
  const p2pc_cli_option *o = NULL;
  if (c >= LONG_BASE) {
    o = &s->rows[c - LONG_BASE];
    if (exact_row(s, word) != o)
      return unknown_flag(s, word, e); /* an abbreviation */
  } else {
    for (size_t i = 0; i < s->nrows && !o; i++)
      if (s->rows[i].short_flag == c)
        o = &s->rows[i];
  }
  if (o->arg && optarg == s->av[optind - 1] && optind - 1 != before &&
      strncmp(optarg, "--", 2) == 0) {
    optind--; /* the next word is a flag: read it as one */
    p2pc__err_set(e, "--%s: missing value " P2PC__HELP_HINT, o->flag);
    return P2PC_ERR_INVAL;
  }
  *row = o;
  *value = o->arg ? optarg : NULL;
  return 1;
}

/* argv[0..argc) with the name getopt skips in front; free() it. */
static char **with_name(int argc, const char *const *argv) {
  static char name[] = "p2pclock node";
  char **av = calloc((size_t)argc + 2, sizeof *av);
  if (!av)
    return NULL;
  av[0] = name;
  for (int i = 0; i < argc; i++)
    av[i + 1] = (char *)argv[i]; /* getopt_long does not write with "+" */
  return av;
}

/* The first pass: every word a known flag with its value, --config at
 * most once. A help flag anywhere wins over any error. */
static int check_shape(scanner *s, const char **file, p2pc_cli_actions *act,
                       p2pc__err *e) {
  const p2pc_cli_option *o;
  const char *v;
  int rc = 0, r;
  optind = 0;
  opterr = 0;
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
  char **av = with_name(argc, argv);
  if (!av) {
    p2pc__err_set(&e, "p2pclock node: out of memory");
    return P2PC_ERR_NOMEM;
  }
  scanner_init(&s, argc + 1, av);
  if ((rc = check_shape(&s, &file, act, &e)) < 0 || act->help)
    goto out;
  if (file && (rc = p2pc__config_apply_file(cfg, file, &e)) < 0)
    goto out;
  optind = 0;
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
