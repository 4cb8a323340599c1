/* SPDX-License-Identifier: MIT */
/*
 * The control-socket client (docs/CONTROL.md): a bounded connection that
 * sends one JSON request line and reads one JSON answer line (and, after
 * a subscribe, the lines that follow), used by the client subcommands —
 * one per request of the protocol's table (src/ctl/proto.c), with its
 * arguments as words and options, plus `recv` and `watch` on subscribe:
 *
 *   p2pclock status|peers|tracking|sources|stop [--control PATH | --id ID]
 *            [--json]
 *   p2pclock send      [...] DEST TEXT... | DEST --b64 DATA
 *   p2pclock recv      [...]                 (deliveries, as they come)
 *   p2pclock watch     [...] [--events EV,...] (events, JSON lines)
 *   ...                (p2pclock help COMMAND)
 *
 * and by `p2pclock demo`, which drives its nodes through the same calls.
 * Every wait is bounded: connecting by P2PC_CTL_CONNECT_MS, an answer by
 * the caller's timeout (the subcommands use P2PC_CTL_ANSWER_MS); only a
 * stream's lines are awaited without end (until a signal).
 */
#ifndef P2PC_CLI_CLIENT_H
#define P2PC_CLI_CLIENT_H

#include <stddef.h>
#include <stdio.h>

#include "cJSON.h"
#include "proto.h" /* the limits: P2PC_CTL_REQUEST_MAX, _ANSWER_MAX */

#define P2PC_CTL_CONNECT_MS 2000
/* Above P2PC_CTL_SEND_WAIT_MS: a send held while its destination is
 * looked up gets its answer, even the time-out error, in time. */
#define P2PC_CTL_ANSWER_MS (P2PC_CTL_SEND_WAIT_MS + 3000)

/* One open connection to a node's control socket. */
typedef struct p2pc_ctl {
  int fd;    /* -1 when closed */
  char *buf; /* bytes read and not yet returned: [0, len) of cap */
  size_t len, cap;
} p2pc_ctl;

/* Embeds a closed connection. */
void p2pc_ctl_init(p2pc_ctl *c);

/* Connects to the Unix stream socket at path within timeout_ms. Returns 0,
 * or -errno (-ENAMETOOLONG for a path that does not fit sun_path,
 * -ETIMEDOUT, -ENOENT and -ECONNREFUSED when no node listens there). */
int p2pc_ctl_connect(p2pc_ctl *c, const char *path, int timeout_ms);

/*
 * Sends request (one JSON object, no newline) and reads the answer line
 * within timeout_ms. On success returns 0 and sets *answer to the line,
 * newline out, to release with free(). Fails with -EMSGSIZE (request over
 * P2PC_CTL_REQUEST_MAX or answer over P2PC_CTL_ANSWER_MAX), -ETIMEDOUT,
 * -ECONNRESET (the node closed the connection without answering),
 * -ENOMEM or another -errno; after a failure the connection is closed,
 * since a late answer would be taken for the next one.
 */
int p2pc_ctl_call(p2pc_ctl *c, const char *request, char **answer,
                  int timeout_ms);

/* Reads the next line (a stream's, after a subscribe) within timeout_ms
 * (< 0: no limit); *line as p2pc_ctl_call's answer. Fails with
 * -ECONNRESET at the end of the stream, -EINTR when a signal came, or as
 * p2pc_ctl_call; the connection stays open (close it). */
int p2pc_ctl_read_line(p2pc_ctl *c, char **line, int timeout_ms);

/* As p2pc_ctl_call with cJSON on both sides: *answer is a parsed object
 * to release with cJSON_Delete. An answer that is not a JSON object fails
 * with -EBADMSG (and closes the connection). */
int p2pc_ctl_call_json(p2pc_ctl *c, const cJSON *request, cJSON **answer,
                       int timeout_ms);

/* Closes the connection (if open) and frees its buffer; c may be connected
 * again. */
void p2pc_ctl_close(p2pc_ctl *c);

/*
 * Runs the client subcommand name (a request of the table, or "recv" or
 * "watch") with its arguments argv[0..argc) (the words after the command
 * name); prints the answer (a stream's lines until SIGINT, SIGTERM or its
 * end) and returns the exit status: 0 ok, 1 the node cannot be reached,
 * did not answer, answered {"ok":false} or cut the stream off, 2 usage
 * error.
 */
int p2pc_cli_client(const char *name, int argc, char **argv);

/* Whether name is a client subcommand; its one-line summary. */
const char *p2pc_cli_client_summary(const char *name);

/* The i-th client subcommand (the table's requests, then recv and watch),
 * or NULL past the last: for the command list of `p2pclock --help`. */
const char *p2pc_cli_client_name(size_t i);

/* The paragraph of `p2pclock --help` on the client commands: their common
 * options and each one's arguments, from the table. */
void p2pc_cli_client_usage(FILE *out);

#endif /* P2PC_CLI_CLIENT_H */
