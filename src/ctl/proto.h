/* SPDX-License-Identifier: MIT */
/*
 * The control protocol, written once (as chrony's candm.h): every request
 * the control socket takes — its name, its arguments (JSON key, type,
 * range, required or not, how the command line gives it), a one-line help
 * and the shape of its answer — and the protocol's limits. The server
 * validates requests against this table (p2pc_ctl_validate); the client
 * builds its requests, usage and help from it; docs/CONTROL.md's request
 * list is checked against it (p2pc_ctl_requests, tests/system).
 *
 * Also here: the payload of a message as the protocol carries it ("text"
 * or "b64"), both ways.
 */
#ifndef P2PC_CTL_PROTO_H
#define P2PC_CTL_PROTO_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits ---------------------------------------------------------------
 */

/* A request line, newline out. A longer one closes the connection. */
#define P2PC_CTL_REQUEST_MAX (64 * 1024)
/* The client refuses an answer line longer than this. */
#define P2PC_CTL_ANSWER_MAX (16 * 1024 * 1024)
/* Bytes the node holds for one connection that the client has not read
 * yet (answers and streamed lines): past it a subscriber is cut off. */
#define P2PC_CTL_OUTPUT_MAX (4 * 1024 * 1024)
/* A delivery whose payload is longer is streamed without it
 * ("truncated":true), so that one line always fits the output bound. */
#define P2PC_CTL_STREAM_PAYLOAD_MAX (1024 * 1024)
/* Connections at once; one more is closed at once. */
#define P2PC_CTL_CLIENTS_MAX 64
/* Subscribed connections at once; one more subscribe is refused. */
#define P2PC_CTL_SUBSCRIBERS_MAX 16
/* A subscriber cut off gets this long to read what the node still holds
 * before its error line; then the connection is closed regardless. */
#define P2PC_CTL_CUTOFF_GRACE_MS 2000
/* A "send" to a node whose address is being looked up (P2PC_ERR_AGAIN)
 * is held, and sent when the lookup ends, for at most this long; then it
 * is answered with a time-out error. A connection holds one request at a
 * time and runs the requests after it only once it is answered (answers
 * and effects stay in request order), reading at most
 * P2PC_CTL_HELD_INPUT_MAX bytes of them meanwhile: so at most
 * P2PC_CTL_CLIENTS_MAX requests are held in all. */
#define P2PC_CTL_SEND_WAIT_MS 5000
#define P2PC_CTL_HELD_INPUT_MAX (P2PC_CTL_REQUEST_MAX + 4096)
/* "simulate": messages at most per request. */
#define P2PC_CTL_SIMULATE_MAX 100000
/* "vclock": bounds of a step (s) and of the drift (ppm). */
#define P2PC_CTL_VCLOCK_STEP_MAX 1e6
#define P2PC_CTL_VCLOCK_DRIFT_MAX 1000.0

/* ---- the request table ----------------------------------------------------
 */

typedef enum p2pc_ctl_type {
  P2PC_CTL_STRING,  /* min..max: its length in bytes */
  P2PC_CTL_INTEGER, /* min..max: its value */
  P2PC_CTL_NUMBER,  /* min..max: its value */
  P2PC_CTL_STRINGS  /* an array of strings; min..max: how many */
} p2pc_ctl_type;

/* How the client's command line gives an argument. */
typedef enum p2pc_ctl_cli {
  P2PC_CTL_CLI_NONE = 0, /* not at all */
  P2PC_CTL_CLI_WORD,     /* the next positional word */
  P2PC_CTL_CLI_REST,     /* every positional word left, joined by spaces */
  P2PC_CTL_CLI_OPTION    /* --flag VALUE (STRINGS: a comma-separated list) */
} p2pc_ctl_cli;

#define P2PC_CTL_REQUIRED 1u /* the request must carry it */
#define P2PC_CTL_ONE_OF 2u   /* exactly one of the request's ONE_OF args */

typedef struct p2pc_ctl_arg {
  const char *key; /* JSON key */
  p2pc_ctl_type type;
  unsigned flags;
  double min, max;
  /* STRING, and each item of STRINGS: NULL or whether s is acceptable. */
  bool (*check)(const char *s);
  const char *what; /* what it is, for errors: "a node ID" */
  p2pc_ctl_cli cli;
  const char *flag;    /* P2PC_CTL_CLI_OPTION: "--step" */
  const char *metavar; /* "DEST", "S" */
  const char *help;    /* one line */
} p2pc_ctl_arg;

/* The answer: one line, then (stream) lines until the connection ends. */
typedef struct p2pc_ctl_request {
  const char *name;
  const char *help;  /* one line */
  const char *reply; /* the answer's shape, one line */
  const p2pc_ctl_arg *args;
  unsigned nargs;
  bool stream;
} p2pc_ctl_request;

extern const p2pc_ctl_request p2pc_ctl_requests[];
extern const unsigned p2pc_ctl_nrequests;

/* The entry of name, or NULL. */
const p2pc_ctl_request *p2pc_ctl_find(const char *name);

/* The argument key of r, or NULL. */
const p2pc_ctl_arg *p2pc_ctl_arg_find(const p2pc_ctl_request *r,
                                      const char *key);

/*
 * Checks req ({"cmd":NAME,...}) against its entry: every key known, every
 * value of its type and in range, the required ones and exactly one of
 * the ONE_OF ones present. Returns the entry, or NULL with one line in err
 * ("send: \"to\" must be a node ID (1..64 bytes)").
 */
const p2pc_ctl_request *p2pc_ctl_validate(const cJSON *req, char *err,
                                          size_t cap);

/* The argument's constraint in words, for errors and help:
 * "an integer 1..100000", "a node ID (1..64 bytes)". */
void p2pc_ctl_arg_describe(const p2pc_ctl_arg *a, char *s, size_t cap);

/* ---- payloads --------------------------------------------------------------
 */

/*
 * A message's payload travels as "text" (a JSON string: the bytes are its
 * UTF-8) or "b64" (standard base64, with padding). A delivery is streamed
 * as "text" iff its payload is valid UTF-8 without control characters
 * other than tab, newline and carriage return; else as "b64". Either way
 * the bytes come back exactly.
 */
bool p2pc_ctl_payload_is_text(const uint8_t *p, size_t len);

/* The base64 of len bytes is this long (no NUL). */
#define P2PC_CTL_B64_LEN(len) ((((len) + 2) / 3) * 4)
/* Writes the base64 of p into s (P2PC_CTL_B64_LEN(len) + 1 bytes, NUL
 * ended). */
void p2pc_ctl_b64_encode(const uint8_t *p, size_t len, char *s);
/* Decodes the canonical base64 s (padding required, no whitespace, the
 * unused bits zero) into out (at least strlen(s) / 4 * 3 bytes). Returns
 * the length, or -1 if s is not canonical base64. */
long p2pc_ctl_b64_decode(const char *s, uint8_t *out);
/* Whether s is canonical base64 (for the table). */
bool p2pc_ctl_b64_valid(const char *s);

/*
 * Appends to s (cap bytes, NUL kept) the payload's field:
 *   ,"text":"..."   or   ,"b64":"..."   or   ,"truncated":true
 * (the last for one over P2PC_CTL_STREAM_PAYLOAD_MAX). Returns the length
 * written, or -1 if cap is too small (see P2PC_CTL_PAYLOAD_FIELD_MAX).
 */
long p2pc_ctl_payload_field(const uint8_t *p, size_t len, char *s, size_t cap);
/* Room enough for p2pc_ctl_payload_field on len bytes (NUL included). */
#define P2PC_CTL_PAYLOAD_FIELD_MAX(len) (2 * (len) + (len) / 3 + 32)

/* Whether a request line holds the escape \u0000 in a string: cJSON would
 * cut the string there, so the server refuses it (send NUL bytes as b64). */
bool p2pc_ctl_has_nul_escape(const char *line, size_t len);

/* Event names a subscribe takes: p2pc_event_name of a type, or "*". */
bool p2pc_ctl_event_name_valid(const char *s);

#endif /* P2PC_CTL_PROTO_H */
