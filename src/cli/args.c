/* SPDX-License-Identifier: MIT */
/*
 * The subcommands' flags (args.h): two passes of the house scanner
 * (argscan.h) over a command's table, the first for the shape (and
 * --help, which wins), the second for the values; the messages; and the
 * usage line and option list made from the table.
 */
#include "args.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "argscan.h"
#include "optvalue.h"
#include "parse.h"

#define ERR_MAX 512
#define HELP_COLUMN 19 /* where the help starts: "  " + 16 + " " */
#define WRAP 76

typedef struct parser {
  const p2pc_args_cmd *cmd;
  p2pc__scan_row rows[P2PC__SCAN_ROWS_MAX];
  size_t nrows; /* the table's, then --help */
  p2pc__scan scan;
  char *err;
  size_t errlen;
} parser;

P2PC__PRINTF_LIKE(2, 3)
static int say(parser *p, const char *fmt, ...) {
  char what[ERR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (p->errlen)
    snprintf(p->err, p->errlen, "p2pclock %s: %s (try p2pclock %s --help)",
             p->cmd->name, what, p->cmd->name);
  return P2PC_ARGS_USAGE;
}

static const char *opt_name(const void *ctx, size_t i) {
  return ((const p2pc_args_opt *)ctx)[i].name;
}

static int unknown(parser *p, const char *word) {
  char shown[P2PC__VALUE_BUF], typed[P2PC__VALUE_SHOWN_MAX + 1];
  p2pc__show_string(word, shown, sizeof shown);
  const char *near = NULL;
  if (strncmp(word, "--", 2) == 0) {
    size_t len = strcspn(word + 2, "=");
    snprintf(typed, sizeof typed, "%.*s", (int)len, word + 2);
    near = p2pc__suggest(typed, opt_name, p->cmd->opts, p->cmd->nopts);
  }
  if (near)
    return say(p, "unknown option %s (did you mean --%s?)", shown, near);
  return say(p, "unknown option %s", shown);
}

static int unexpected(parser *p, const char *word) {
  char shown[P2PC__VALUE_BUF];
  p2pc__show_string(word, shown, sizeof shown);
  return say(p, "unexpected argument %s", shown);
}

/* Stores the value of row o (or sets its switch). */
static int store(parser *p, const p2pc_args_opt *o, const char *v, void *dst) {
  char *field = (char *)dst + o->offset;
  if (!o->metavar) {
    *(bool *)(void *)field = true;
    return P2PC_ARGS_OK;
  }
  if (!o->parse) {
    *(const char **)(void *)field = v;
    return P2PC_ARGS_OK;
  }
  if (o->parse(o, v, dst))
    return P2PC_ARGS_OK;
  char shown[P2PC__VALUE_BUF];
  p2pc__show_string(v, shown, sizeof shown);
  return say(p, "--%s %s, got %s", o->name, o->must ? o->must : "is invalid",
             shown);
}

/* The words after the scan's position, all positional. */
static void take_rest(parser *p, char **argv, int *n) {
  for (int i = p2pc__scan_index(&p->scan); i < p->scan.argc; i++)
    argv[(*n)++] = p->scan.av[i];
}

/*
 * One pass. With dst NULL, the first: the shape, the first error in
 * p->err (help still looked for: *help). Else the second: the values into
 * dst, the words into argv.
 */
static int pass(parser *p, char **argv, void *dst, int *nwords, bool *help) {
  const p2pc_args_cmd *c = p->cmd;
  bool words = c->flags & P2PC_ARGS_WORDS;
  int rc = P2PC_ARGS_OK, r = P2PC_ARGS_OK, n = 0;
  p2pc__scan_item it;
  p2pc__scan_restart(&p->scan);
  while (p2pc__scan_next(&p->scan, &it) != P2PC__SCAN_END) {
    switch (it.kind) {
    case P2PC__SCAN_FLAG:
      if (it.row == c->nopts)
        *help = true;
      else if (dst)
        r = store(p, &c->opts[it.row], it.value, dst);
      break;
    case P2PC__SCAN_WORD:
      if (!words) {
        r = unexpected(p, it.word);
        break;
      }
      argv[n++] = (char *)it.word;
      if ((c->flags & P2PC_ARGS_REST) && (unsigned)n > c->rest_after) {
        take_rest(p, argv, &n);
        goto out;
      }
      break;
    case P2PC__SCAN_DASHDASH:
      if (!words) {
        r = unexpected(p, it.word);
        break;
      }
      take_rest(p, argv, &n);
      goto out;
    case P2PC__SCAN_UNKNOWN:
    case P2PC__SCAN_SHORT:
      r = unknown(p, it.word);
      break;
    case P2PC__SCAN_MISSING:
      r = say(p, "--%s: missing value", p->rows[it.row].name);
      break;
    case P2PC__SCAN_NO_VALUE:
      r = say(p, "--%s: takes no value", p->rows[it.row].name);
      break;
    case P2PC__SCAN_END:
      break;
    }
    if (r < 0 && rc == P2PC_ARGS_OK) {
      rc = r;
      p->errlen = 0; /* keep the first message */
    }
    if (rc < 0 && dst)
      return rc;
  }
out:
  if (nwords)
    *nwords = n;
  return rc;
}

int p2pc_args_parse_err(const p2pc_args_cmd *cmd, int argc, char **argv,
                        void *dst, int *nwords, char *err, size_t n) {
  parser p = {.cmd = cmd, .err = err, .errlen = n};
  bool help = false;
  if (n)
    err[0] = '\0';
  if (nwords)
    *nwords = 0;
  if (cmd->nopts >= P2PC__SCAN_ROWS_MAX) {
    if (n)
      snprintf(err, n, "p2pclock %s: too many options", cmd->name);
    return P2PC_ARGS_USAGE;
  }
  for (size_t i = 0; i < cmd->nopts; i++)
    p.rows[i] =
        (p2pc__scan_row){cmd->opts[i].name, 0, cmd->opts[i].metavar != NULL};
  p.rows[cmd->nopts] = (p2pc__scan_row){"help", 'h', false};
  p.nrows = cmd->nopts + 1;
  char **av = p2pc__scan_argv(cmd->name, argc, argv);
  if (!av) {
    if (n)
      snprintf(err, n, "p2pclock %s: out of memory", cmd->name);
    return P2PC_ARGS_NOMEM;
  }
  p2pc__scan_init(&p.scan, p.rows, p.nrows, argc + 1, av);
  /* The shape first, argv left as it is (the words are gathered in the
   * second pass); --help anywhere before the words wins. */
  char **scratch = calloc((size_t)argc + 1, sizeof *scratch);
  int rc = scratch ? pass(&p, scratch, NULL, NULL, &help) : P2PC_ARGS_NOMEM;
  free(scratch);
  if (rc == P2PC_ARGS_NOMEM && n)
    snprintf(err, n, "p2pclock %s: out of memory", cmd->name);
  if (help && rc != P2PC_ARGS_NOMEM) {
    if (n)
      err[0] = '\0';
    rc = P2PC_ARGS_HELP;
  } else if (rc == P2PC_ARGS_OK) {
    rc = pass(&p, argv, dst, nwords, &help);
  }
  free(av);
  return rc;
}

int p2pc_args_parse(const p2pc_args_cmd *cmd, int argc, char **argv, void *dst,
                    int *nwords) {
  char err[ERR_MAX + 128];
  int rc = p2pc_args_parse_err(cmd, argc, argv, dst, nwords, err, sizeof err);
  if (rc < 0)
    fprintf(stderr, "%s\n", err);
  return rc;
}

int p2pc_args_usage(const char *cmd, const char *what, const char *arg) {
  if (arg) {
    char shown[P2PC__VALUE_BUF];
    p2pc__show_string(arg, shown, sizeof shown);
    fprintf(stderr, "p2pclock %s: %s %s (try p2pclock %s --help)\n", cmd, what,
            shown, cmd);
  } else {
    fprintf(stderr, "p2pclock %s: %s (try p2pclock %s --help)\n", cmd, what,
            cmd);
  }
  return P2PC_ARGS_EXIT_USAGE;
}

/* ---- help ------------------------------------------------------------------
 */

void p2pc_args_wrap_word(FILE *out, const char *word, size_t indent,
                         size_t *col) {
  size_t len = strlen(word);
  if (*col > indent && *col + 1 + len > WRAP) {
    fprintf(out, "\n%*s", (int)indent, "");
    *col = indent;
  } else {
    fputc(' ', out);
    (*col)++;
  }
  fputs(word, out);
  *col += len;
}

void p2pc_args_usage_line(FILE *out, const p2pc_args_cmd *cmd,
                          const char *tail) {
  char item[128];
  int head = fprintf(out, "usage: p2pclock %s", cmd->name);
  size_t col = head > 0 ? (size_t)head : 0, indent = col + 1;
  for (size_t i = 0; i < cmd->nopts; i++) {
    const p2pc_args_opt *o = &cmd->opts[i];
    if (!o->help)
      continue;
    if (o->metavar)
      snprintf(item, sizeof item, "[--%s %s]", o->name, o->metavar);
    else
      snprintf(item, sizeof item, "[--%s]", o->name);
    p2pc_args_wrap_word(out, item, indent, &col);
  }
  if (tail)
    p2pc_args_wrap_word(out, tail, indent, &col);
  fputc('\n', out);
}

void p2pc_args_help_line(FILE *out, const char *head, const char *help) {
  size_t len = strlen(head);
  if (len + 3 > HELP_COLUMN)
    fprintf(out, "  %s\n%*s", head, HELP_COLUMN, "");
  else
    fprintf(out, "  %-*s ", HELP_COLUMN - 3, head);
  if (!*help)
    fputc('\n', out);
  for (const char *p = help; *p;) {
    size_t n = strcspn(p, "\n");
    fprintf(out, "%.*s\n", (int)n, p);
    p += n;
    if (*p == '\n' && *++p)
      fprintf(out, "%*s", HELP_COLUMN, "");
  }
}

void p2pc_args_help(FILE *out, const p2pc_args_cmd *cmd) {
  char head[128];
  for (size_t i = 0; i < cmd->nopts; i++) {
    const p2pc_args_opt *o = &cmd->opts[i];
    if (!o->help)
      continue;
    if (o->metavar)
      snprintf(head, sizeof head, "--%s %s", o->name, o->metavar);
    else
      snprintf(head, sizeof head, "--%s", o->name);
    p2pc_args_help_line(out, head, o->help);
  }
}

/* ---- parsers
 * -----------------------------------------------------------------
 */

static bool number(const p2pc_args_opt *o, const char *v, double *x) {
  return p2pc_parse_double(v, P2PC_PARSE_SIGNED | P2PC_PARSE_PLUS, x) &&
         *x >= o->lo && *x <= o->hi;
}

bool p2pc_args_number(const p2pc_args_opt *o, const char *v, void *dst) {
  double x;
  if (!number(o, v, &x))
    return false;
  *(double *)(void *)((char *)dst + o->offset) = x;
  return true;
}

bool p2pc_args_integer(const p2pc_args_opt *o, const char *v, void *dst) {
  double x;
  if (!number(o, v, &x) || x < INT32_MIN || x > INT32_MAX ||
      x != (double)(int)x)
    return false;
  *(int *)(void *)((char *)dst + o->offset) = (int)x;
  return true;
}

bool p2pc_args_text(const p2pc_args_opt *o, const char *v, void *dst) {
  if (!*v)
    return false;
  *(const char **)(void *)((char *)dst + o->offset) = v;
  return true;
}
