/* SPDX-License-Identifier: MIT */
/*
 * The flags of the subcommands (check, demo, sim and the client
 * commands), from one table a command: each row a long flag, its value's
 * name (or none: a switch), where it goes in the command's struct, how
 * the value is checked, and its help. One parser reads them all, by the
 * house rules of argscan.h (as `p2pclock node`'s flags): a flag spelled in
 * full, a value that starts with "--" attached, --help (or -h) anywhere
 * wins over any error. The errors, one line on stderr:
 *
 *   p2pclock CMD: unknown option "--x" (try p2pclock CMD --help)
 *   p2pclock CMD: --flag: missing value (try p2pclock CMD --help)
 *   p2pclock CMD: --flag: takes no value (try p2pclock CMD --help)
 *   p2pclock CMD: unexpected argument "x" (try p2pclock CMD --help)
 *   p2pclock CMD: --flag MUST, got "v" (try p2pclock CMD --help)
 *
 * The usage line and the option list of --help are made from the table.
 */
#ifndef P2PC_CLI_ARGS_H
#define P2PC_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define P2PC_ARGS_EXIT_USAGE 2

typedef struct p2pc_args_opt p2pc_args_opt;

/* Checks the value v of o and stores it in dst, the command's struct (the
 * parsers below write the field at o->offset). Returns false if v is not
 * valid: the parser says "--NAME MUST, got "v"". */
typedef bool (*p2pc_args_parse_fn)(const p2pc_args_opt *o, const char *v,
                                   void *dst);

struct p2pc_args_opt {
  const char *name;    /* the long flag, without "--" */
  const char *metavar; /* its value as help names it ("N"); NULL: a switch */
  /* Its field in the command's struct: a bool for a switch (set true);
   * for a value without parse, a const char * (the text as given; the
   * last one given wins); else what parse writes there. */
  size_t offset;
  p2pc_args_parse_fn parse;
  double lo, hi;    /* the range, for the parsers below */
  const char *must; /* what the value must be: "must be an integer 2..20" */
  /* Its lines in the option list ('\n' starts another); NULL: another
   * name of a flag listed (neither listed nor in the usage line). */
  const char *help;
};

/* Flags of a command. */
#define P2PC_ARGS_WORDS 1u /* takes positional words; "--" ends the flags */
#define P2PC_ARGS_REST 2u  /* after rest_after words, every word is one */

typedef struct p2pc_args_cmd {
  const char *name; /* as messages name it: "p2pclock NAME: ..." */
  const p2pc_args_opt *opts;
  size_t nopts; /* at most P2PC__SCAN_ROWS_MAX - 1 */
  unsigned flags;
  unsigned rest_after; /* P2PC_ARGS_REST */
} p2pc_args_cmd;

/* What p2pc_args_parse found. */
#define P2PC_ARGS_OK 0
#define P2PC_ARGS_HELP 1     /* --help or -h: print the command's help */
#define P2PC_ARGS_USAGE (-1) /* a usage error, told */
#define P2PC_ARGS_NOMEM (-2) /* out of memory, told */

/*
 * Reads argv[0..argc) (the words after the command's name) by cmd's table
 * into dst: every flag's field, in order. The positional words (with
 * P2PC_ARGS_WORDS) are gathered at argv[0..*nwords), in order (nwords
 * may be NULL for a command without). Prints the error, if any, on stderr
 * and returns P2PC_ARGS_*. The fields of flags not given are left alone:
 * set the defaults before.
 */
int p2pc_args_parse(const p2pc_args_cmd *cmd, int argc, char **argv, void *dst,
                    int *nwords);

/* As p2pc_args_parse, but the error goes to err[0..n) (no newline), not to
 * stderr. */
int p2pc_args_parse_err(const p2pc_args_cmd *cmd, int argc, char **argv,
                        void *dst, int *nwords, char *err, size_t n);

/* "p2pclock CMD: WHAT "ARG" (try p2pclock CMD --help)" on stderr (without
 * ARG when it is NULL; ARG quoted as JSON, cut if long). Returns
 * P2PC_ARGS_EXIT_USAGE, the exit status of a usage error. */
int p2pc_args_usage(const char *cmd, const char *what, const char *arg);

/* "usage: p2pclock NAME [--flag V] ... TAIL\n", wrapped at 76 columns
 * (TAIL: the positional words, or NULL). */
void p2pc_args_usage_line(FILE *out, const p2pc_args_cmd *cmd,
                          const char *tail);

/* The option list: "  --flag V         help" a row, the help from the
 * 20th column (on the next line after a long flag). */
void p2pc_args_help(FILE *out, const p2pc_args_cmd *cmd);

/* One line of such a list: head (a flag or a word) and its help lines. */
void p2pc_args_help_line(FILE *out, const char *head, const char *help);

/* Writes " word" at column *col (updated), or word on a new line after
 * indent blanks if it would pass 76 columns: running text of unbreakable
 * pieces. */
void p2pc_args_wrap_word(FILE *out, const char *word, size_t indent,
                         size_t *col);

/* Parsers for the table: a number lo..hi (a double field), an integer
 * lo..hi (an int field; "5", "5.0" and "5e0" alike), a non-empty text (a
 * const char * field). Numbers are decimal (p2pc_parse_double), with an
 * optional sign. */
bool p2pc_args_number(const p2pc_args_opt *o, const char *v, void *dst);
bool p2pc_args_integer(const p2pc_args_opt *o, const char *v, void *dst);
bool p2pc_args_text(const p2pc_args_opt *o, const char *v, void *dst);

#endif /* P2PC_CLI_ARGS_H */
