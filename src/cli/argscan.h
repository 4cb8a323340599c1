/* SPDX-License-Identifier: MIT */
/*
 * getopt_long held to the house rules, for every argv parser of the
 * command (the node's flags, optargs.c; the subcommands', args.c): the
 * scanner reads one word at a time and says what it is, and its caller
 * words the message. The rules:
 *   - a flag is spelled in full (getopt_long would take "--list" for
 *     --listen): an abbreviation is an unknown flag;
 *   - a value that starts with "--" must be attached ("--id=--x"), so
 *     "--id --listen" is a missing value, not an ID;
 *   - a switch given a value ("--json=x") is refused;
 *   - words that are not flags, and "--", are reported, not skipped: the
 *     caller refuses them or takes them as positional words.
 * getopt_long's state is global (optind), so a scan is not reentrant;
 * glibc restarts a scan when optind is set to 0 (p2pc__scan_restart).
 */
#ifndef P2PC_CLI_ARGSCAN_H
#define P2PC_CLI_ARGSCAN_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

/* The most rows a scanner takes. */
#define P2PC__SCAN_ROWS_MAX 64

/* One flag as the scanner knows it. */
typedef struct p2pc__scan_row {
  const char *name; /* the long flag without "--"; NULL: none (skipped) */
  int short_name;   /* a one-letter flag, or 0 */
  bool value;       /* it takes a value */
} p2pc__scan_row;

/* What the next word was. */
typedef enum p2pc__scan_kind {
  P2PC__SCAN_END,      /* no words left */
  P2PC__SCAN_FLAG,     /* rows[row], with value (NULL for a switch) */
  P2PC__SCAN_WORD,     /* word, no flag; the scan goes on past it */
  P2PC__SCAN_DASHDASH, /* "--": the words after it are av[optind..) */
  P2PC__SCAN_UNKNOWN,  /* word is "--" and no flag's full name */
  P2PC__SCAN_SHORT,    /* word is "-x" and no known one-letter flag */
  P2PC__SCAN_MISSING,  /* rows[row] without its value */
  P2PC__SCAN_NO_VALUE  /* rows[row], a switch, given "=value" */
} p2pc__scan_kind;

typedef struct p2pc__scan_item {
  p2pc__scan_kind kind;
  size_t row;        /* FLAG, MISSING, NO_VALUE */
  const char *value; /* FLAG */
  const char *word;  /* WORD, UNKNOWN, SHORT: the word as given */
} p2pc__scan_item;

typedef struct p2pc__scan {
  const p2pc__scan_row *rows;
  size_t nrows;
  struct option longopts[P2PC__SCAN_ROWS_MAX + 1];
  char shortopts[2 + 2 * P2PC__SCAN_ROWS_MAX + 1];
  int argc; /* with av[0], the name getopt skips */
  char **av;
} p2pc__scan;

/* Sets s up to scan av[1..argc) (av[0] is a name) for rows[0..nrows)
 * (at most P2PC__SCAN_ROWS_MAX; the rest are ignored). rows and av must
 * outlive the scan. */
void p2pc__scan_init(p2pc__scan *s, const p2pc__scan_row *rows, size_t nrows,
                     int argc, char **av);

/* Starts (or starts again) from av[1]. */
void p2pc__scan_restart(p2pc__scan *s);

/* Reads the next word (or, for MISSING at a flag, none: the flag after it
 * is read next). Returns its kind, which is also in it->kind. */
p2pc__scan_kind p2pc__scan_next(p2pc__scan *s, p2pc__scan_item *it);

/* The row whose full name word ("--name" or "--name=...") gives, or -1. */
long p2pc__scan_exact(const p2pc__scan *s, const char *word);

/* The index in av of the next word the scan would read. */
int p2pc__scan_index(const p2pc__scan *s);

/* argv[0..argc) with name in front (for getopt to skip), to free(); NULL
 * if out of memory. The strings are not copied (nor written to). */
char **p2pc__scan_argv(const char *name, int argc, char *const *argv);

#endif /* P2PC_CLI_ARGSCAN_H */
