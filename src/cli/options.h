/* SPDX-License-Identifier: MIT */
/*
 * The node's options, once: one table row per setting of `p2pclock node`,
 * holding its config-file key, its flag, its type and range, its default
 * and its help. The same rows drive reading the config file (config.c),
 * the flags (optargs.c, getopt_long), `p2pclock node --help`, the resolved
 * config echo (--check-config and the `start` event) and the lists a man
 * page is made from (`p2pclock help --keys`, `p2pclock help --man`). A
 * value is validated in one place, by its row's type and range
 * (optvalue.c), whether it came from the file or from a flag.
 *
 * To add a setting: a field in p2pc_cli_config (config.h), a row here in
 * options.c, its default in p2pc_cli_config_init, and the runtime option
 * it feeds in main.c. Its help, flag, echo and checks follow from the row.
 */
#ifndef P2PC_CLI_OPTIONS_H
#define P2PC_CLI_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

/* How a row's value is written, checked and stored. */
typedef enum p2pc_cli_opt_type {
  P2PC_CLI_OPT_ID,       /* a node ID, 1..64 of [A-Za-z0-9._-] */
  P2PC_CLI_OPT_HOST,     /* an IP literal or a host name (config.h) */
  P2PC_CLI_OPT_UINT,     /* an integer lo..hi; the flag: digits only */
  P2PC_CLI_OPT_INT,      /* an integer lo..hi; the flag may carry a "-" */
  P2PC_CLI_OPT_DOUBLE,   /* a number lo..hi (or lo..hi-, HI_OPEN) */
  P2PC_CLI_OPT_BOOL,     /* true/false; the flag is a switch to false */
  P2PC_CLI_OPT_ENUM,     /* one of the row's names */
  P2PC_CLI_OPT_PATH,     /* a non-empty path of at most hi bytes */
  P2PC_CLI_OPT_LIFETIME, /* seconds lo..hi, or "inf"; stored in ns */
  P2PC_CLI_OPT_SECONDS,  /* seconds lo..hi; stored in ns (a uint64_t) */
  P2PC_CLI_OPT_RANGE_MS, /* "MIN:MAX" milliseconds, MIN <= MAX <= hi */
  P2PC_CLI_OPT_PEERS,    /* connectTo objects / --peer [ID@]HOST:PORT */
  P2PC_CLI_OPT_LISTEN,   /* --listen HOST:PORT: sets nodeIP and nodePort */
  P2PC_CLI_OPT_FILE,     /* --config FILE, read before the other flags */
  P2PC_CLI_OPT_ACTION    /* --check-config, --help: what to do, no value */
} p2pc_cli_opt_type;

/* Row flags. */
#define P2PC_CLI_OPT_HI_OPEN 0x01u /* DOUBLE: the range is [lo, hi) */
#define P2PC_CLI_OPT_VCLOCK                                                    \
  0x02u                               /* setting it turns the virtual clock    \
                                         on; echoed only when it is on */
#define P2PC_CLI_OPT_OMIT_EMPTY 0x04u /* PATH: not echoed when empty */
#define P2PC_CLI_OPT_REPEAT 0x08u     /* the flag may be given many times */
#define P2PC_CLI_OPT_POLL_MIN 0x10u   /* records where pollMin was set */
#define P2PC_CLI_OPT_POLL_MAX 0x20u   /* ... and pollMax (the order check) */

typedef struct p2pc_cli_option {
  const char *key;  /* config-file key; NULL: a flag only */
  const char *flag; /* long flag without "--"; NULL: set by the flag `via` */
  const char *via;  /* a key without a flag: the flag that sets it */
  int short_flag;   /* a one-letter flag, or 0 */
  const char *arg;  /* the flag's value as help names it; NULL: a switch */
  p2pc_cli_opt_type type;
  unsigned flags;
  double lo, hi;            /* the range (UINT, INT, DOUBLE, ...) or size */
  const char *const *names; /* ENUM: the choices, NULL-terminated */
  size_t offset, size;      /* the field in p2pc_cli_config */
  const char *must;         /* what a value must be, as errors say it */
  const char *help;         /* one line: what the setting does */
  const char *def;          /* the default, as help shows it; NULL: none */
  const char *example;      /* a valid value, as the flag takes it */
  const char *section;      /* a heading help prints before the row */
} p2pc_cli_option;

/* The most rows the table may have (the parsers size their arrays). */
#define P2PC_CLI_OPTIONS_MAX 64

/* The table, *n rows, in the order of the config echo. */
const p2pc_cli_option *p2pc_cli_options(size_t *n);

/* The row of a config-file key, or of a long flag (without "--"); NULL if
 * there is none. */
const p2pc_cli_option *p2pc_cli_option_by_key(const char *key);
const p2pc_cli_option *p2pc_cli_option_by_flag(const char *flag);

/* The lines of `p2pclock node --help` that list the flags: one per flag,
 * "  --flag ARG   (keys) help [default]", wrapped at 76 columns. */
void p2pc_cli_options_help(FILE *out);

/*
 * The table as a machine-readable list, one row a line, tab-separated:
 *   key  flag  type  range  default  help
 * with "-" for an empty field (`p2pclock help --keys`; the first line is
 * a "#" header naming the columns).
 */
void p2pc_cli_options_keys(FILE *out);

/* The table as troff for the man page's OPTIONS section (.TP entries,
 * `p2pclock help --man`). */
void p2pc_cli_options_man(FILE *out);

#endif /* P2PC_CLI_OPTIONS_H */
