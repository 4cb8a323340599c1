/* SPDX-License-Identifier: MIT */
/*
 * Inside the command's option handling (options.h): the one place a value
 * is checked, from the config file (cJSON) or from a flag's text, and
 * written back as JSON; and the pieces every error message is made of.
 * Shared by config.c (the file), optargs.c (the flags) and options.c.
 */
#ifndef P2PC_CLI_OPTVALUE_H
#define P2PC_CLI_OPTVALUE_H

#include "config.h"
#include "options.h"

#include <stdbool.h>
#include <stddef.h>

#include "cJSON.h"

#if defined(__GNUC__) || defined(__clang__)
#define P2PC__PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define P2PC__PRINTF_LIKE(f, a)
#endif

/* A bad value is quoted in full up to this many bytes, then cut with "...":
 * enough to recognise it, never enough to flood the terminal. */
#define P2PC__VALUE_SHOWN_MAX 64
#define P2PC__VALUE_BUF (P2PC__VALUE_SHOWN_MAX + 4)

#define P2PC__HELP_HINT "(see p2pclock node --help)"

/* Where an error message goes: buf[0..len), or nowhere if len is 0. */
typedef struct p2pc__err {
  char *buf;
  size_t len;
} p2pc__err;

void p2pc__err_set(p2pc__err *e, const char *fmt, ...) P2PC__PRINTF_LIKE(2, 3);

/* A value as JSON (strings quoted, control characters escaped, so a
 * message stays on one line), cut at VALUE_SHOWN_MAX bytes. */
void p2pc__show_json(const cJSON *v, char *out, size_t n);
void p2pc__show_string(const char *raw, char *out, size_t n);

/* The closest of n names, name(ctx, i) for i < n (NULL: no name), to s if
 * it is close enough to be a typo (two edits, case aside); else NULL. */
const char *p2pc__suggest(const char *s,
                          const char *(*name)(const void *ctx, size_t i),
                          const void *ctx, size_t n);

/* Why s is no HOST (config.h), or NULL if it is one. */
const char *p2pc__host_problem(const char *s);

/*
 * Checks the file's value v of o's key and stores it in cfg; on failure
 * writes "<path>: "<key>" must be ..., got <v>" (or the message of the
 * connectTo entry at fault) and returns P2PC_ERR_INVAL or P2PC_ERR_NOMEM.
 */
int p2pc__opt_from_json(p2pc_cli_config *cfg, const p2pc_cli_option *o,
                        const cJSON *v, const char *path, p2pc__err *e);

/* Checks the flag's value v (NULL for a switch) and stores it in cfg; on
 * failure writes "--<flag>: must be ..., got "<v>"" and returns as above. */
int p2pc__opt_from_flag(p2pc_cli_config *cfg, const p2pc_cli_option *o,
                        const char *v, p2pc__err *e);

/* Adds o's key with cfg's value to the JSON object obj (nothing for a row
 * without a key, or one the echo leaves out). Returns false if out of
 * memory. */
bool p2pc__opt_to_json(const p2pc_cli_config *cfg, const p2pc_cli_option *o,
                       cJSON *obj);

/* config.c's steps, for optargs.c: applies the JSON file at path on top of
 * cfg; then, with everything read, checks what needs the whole config
 * (required values, peers, pollMin <= pollMax) and fills in the defaults
 * that depend on others. file is the config file, or NULL if none;
 * peers_flags tells whether --peer gave the peers. */
int p2pc__config_apply_file(p2pc_cli_config *cfg, const char *path,
                            p2pc__err *e);
int p2pc__config_finish(p2pc_cli_config *cfg, const char *file,
                        bool peers_flags, p2pc__err *e);

#endif /* P2PC_CLI_OPTVALUE_H */
