/* SPDX-License-Identifier: MIT */
/*
 * getopt_long held to the house rules (argscan.h): what a word is, for
 * the node's flags (optargs.c) and the subcommands' (args.c) alike.
 */
#include "argscan.h"

#include <stdlib.h>
#include <string.h>

#define LONG_BASE 256 /* getopt_long's value of row i: LONG_BASE + i */

void p2pc__scan_init(p2pc__scan *s, const p2pc__scan_row *rows, size_t nrows,
                     int argc, char **av) {
  size_t n = 0, k = 0;
  memset(s, 0, sizeof *s);
  if (nrows > P2PC__SCAN_ROWS_MAX)
    nrows = P2PC__SCAN_ROWS_MAX;
  s->rows = rows;
  s->nrows = nrows;
  s->argc = argc;
  s->av = av;
  /* "+": stop at the first word that is no flag (the caller decides);
   * ":": report a missing value as ':', and print nothing. */
  s->shortopts[k++] = '+';
  s->shortopts[k++] = ':';
  for (size_t i = 0; i < nrows; i++) {
    const p2pc__scan_row *r = &rows[i];
    if (!r->name)
      continue;
    int has_arg = r->value ? required_argument : no_argument;
    s->longopts[n++] =
        (struct option){r->name, has_arg, NULL, LONG_BASE + (int)i};
    if (r->short_name) {
      s->shortopts[k++] = (char)r->short_name;
      if (r->value)
        s->shortopts[k++] = ':';
    }
  }
}

void p2pc__scan_restart(p2pc__scan *s) {
  (void)s;
  optind = 0;
  opterr = 0;
}

int p2pc__scan_index(const p2pc__scan *s) {
  (void)s;
  return optind < 1 ? 1 : optind;
}

long p2pc__scan_exact(const p2pc__scan *s, const char *word) {
  if (strncmp(word, "--", 2) != 0)
    return -1;
  const char *name = word + 2;
  size_t len = strcspn(name, "=");
  for (size_t i = 0; i < s->nrows; i++) {
    const char *f = s->rows[i].name;
    if (f && strlen(f) == len && memcmp(f, name, len) == 0)
      return (long)i;
  }
  return -1;
}

static p2pc__scan_kind put(p2pc__scan_item *it, p2pc__scan_kind kind,
                           size_t row, const char *word) {
  it->kind = kind;
  it->row = row;
  it->word = word;
  return kind;
}

p2pc__scan_kind p2pc__scan_next(p2pc__scan *s, p2pc__scan_item *it) {
  int before = optind < 1 ? 1 : optind;
  const char *word = before < s->argc ? s->av[before] : NULL;
  int idx = -1;
  memset(it, 0, sizeof *it);
  int c = getopt_long(s->argc, s->av, s->shortopts, s->longopts, &idx);
  if (c == -1) {
    if (optind == before + 1 && word && strcmp(word, "--") == 0)
      return put(it, P2PC__SCAN_DASHDASH, 0, word); /* getopt's end */
    if (optind < s->argc) {
      const char *stray = s->av[optind++];
      return put(it, P2PC__SCAN_WORD, 0, stray);
    }
    return P2PC__SCAN_END;
  }
  if (c == ':') {
    long r = word ? p2pc__scan_exact(s, word) : -1;
    if (r < 0)
      return put(it, P2PC__SCAN_UNKNOWN, 0, word ? word : "");
    return put(it, P2PC__SCAN_MISSING, (size_t)r, word);
  }
  if (c == '?') {
    if (!word || strncmp(word, "--", 2) != 0)
      return put(it, P2PC__SCAN_SHORT, 0, word ? word : ""); /* "-x" */
    long r = p2pc__scan_exact(s, word);
    if (r >= 0 && !s->rows[r].value && strchr(word, '='))
      return put(it, P2PC__SCAN_NO_VALUE, (size_t)r, word);
    return put(it, P2PC__SCAN_UNKNOWN, 0, word);
  }
  size_t row = 0;
  if (c >= LONG_BASE) {
    row = (size_t)(c - LONG_BASE);
    if (p2pc__scan_exact(s, word) != (long)row)
      return put(it, P2PC__SCAN_UNKNOWN, 0, word); /* an abbreviation */
  } else {
    while (row < s->nrows && s->rows[row].short_name != c)
      row++;
  }
  if (s->rows[row].value && optarg == s->av[optind - 1] &&
      optind - 1 != before && strncmp(optarg, "--", 2) == 0) {
    optind--; /* the next word is a flag: read it as one */
    return put(it, P2PC__SCAN_MISSING, row, word);
  }
  put(it, P2PC__SCAN_FLAG, row, word);
  it->value = s->rows[row].value ? optarg : NULL;
  return P2PC__SCAN_FLAG;
}

char **p2pc__scan_argv(const char *name, int argc, char *const *argv) {
  char **av = calloc((size_t)argc + 2, sizeof *av);
  if (!av)
    return NULL;
  av[0] = (char *)name; /* getopt_long does not write with "+" */
  for (int i = 0; i < argc; i++)
    av[i + 1] = argv[i];
  return av;
}
