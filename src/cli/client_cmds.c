/* SPDX-License-Identifier: MIT */
/*
 * The client subcommands: one per request of the control protocol's
 * table (src/ctl/proto.c), whose entries say which words and options a
 * command takes, their help, and how they become the request; plus
 * `recv` and `watch`, which subscribe and print the stream until a
 * signal or its end. Nothing about a request is written here, but for
 * one reading: `keys install FILE` sends the key of a cluster key file.
 */
#include "client_int.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "config.h"
#include "idtab.h"
#include "keyring.h"
#include "parse.h"

#include <sodium.h>

#define EXIT_USAGE 2
#define MAX_OPTS 8 /* option arguments of one request */

typedef enum cmd_mode { MODE_REQUEST, MODE_RECV, MODE_WATCH } cmd_mode;

typedef struct client_cmd {
  const char *name;
  const p2pc_ctl_request *req;
  cmd_mode mode;
  const char *summary;
} client_cmd;

static bool find_cmd(const char *name, client_cmd *c) {
  c->name = name;
  if (strcmp(name, "recv") == 0 || strcmp(name, "watch") == 0) {
    c->req = p2pc_ctl_find("subscribe");
    c->mode = name[0] == 'r' ? MODE_RECV : MODE_WATCH;
    c->summary = c->mode == MODE_RECV
                     ? "print the messages a node delivers, as they come"
                     : "print a node's events (JSON lines), as they come";
    return c->req != NULL;
  }
  c->req = p2pc_ctl_find(name);
  c->mode = MODE_REQUEST;
  c->summary = c->req ? c->req->help : NULL;
  return c->req && !c->req->stream;
}

const char *p2pc_cli_client_summary(const char *name) {
  client_cmd c;
  return find_cmd(name, &c) ? c.summary : NULL;
}

const char *p2pc_cli_client_name(size_t i) {
  for (unsigned k = 0; k < p2pc_ctl_nrequests; k++)
    if (!p2pc_ctl_requests[k].stream && i-- == 0)
      return p2pc_ctl_requests[k].name;
  return i == 0 ? "recv" : i == 1 ? "watch" : NULL;
}

/* Whether the command line gives a (recv streams deliveries only). */
static bool offered(const client_cmd *c, const p2pc_ctl_arg *a) {
  return a->cli != P2PC_CTL_CLI_NONE &&
         !(c->mode == MODE_RECV && strcmp(a->key, "events") == 0);
}

/* How errors and help name a: its flag or its metavar. */
static const char *label(const p2pc_ctl_arg *a) {
  return a->cli == P2PC_CTL_CLI_OPTION ? a->flag : a->metavar;
}

/* ---- usage and help ------------------------------------------------------ */

static int usage(const char *name, const char *what, const char *arg) {
  return p2pc_args_usage(name, what, arg);
}

/* The command's arguments as its usage line gives them, from the table:
 * " DEST (TEXT... | --b64 DATA)" (cut to fit n bytes). */
static void synopsis(const client_cmd *c, char *s, size_t n) {
  const p2pc_ctl_request *r = c->req;
  size_t l = 0;
  bool group = false;
#define ADD(...)                                                               \
  (l += (size_t)snprintf(s + l, l < n ? n - l : 0, __VA_ARGS__),               \
   l = l < n ? l : n - 1)
  s[0] = '\0';
  for (unsigned i = 0; i < r->nargs; i++) {
    const p2pc_ctl_arg *a = &r->args[i];
    if (!offered(c, a))
      continue;
    bool one_of = a->flags & P2PC_CTL_ONE_OF;
    if (one_of)
      ADD(group ? " | " : " (");
    else
      ADD(" %s", (a->flags & P2PC_CTL_REQUIRED) ? "" : "[");
    if (a->cli == P2PC_CTL_CLI_OPTION)
      ADD("%s %s", a->flag, a->metavar);
    else
      ADD("%s", a->metavar);
    if (!one_of && !(a->flags & P2PC_CTL_REQUIRED))
      ADD("]");
    if (one_of &&
        (i + 1 == r->nargs || !(r->args[i + 1].flags & P2PC_CTL_ONE_OF)))
      ADD(")");
    group = one_of;
  }
#undef ADD
}

static void print_help(const client_cmd *c) {
  const p2pc_ctl_request *r = c->req;
  char syn[256];
  synopsis(c, syn, sizeof syn);
  printf("usage: p2pclock %s [--control PATH | --id ID] [--json]%s\n%s.\n",
         c->name, syn, c->summary);
  p2pc_args_help_line(stdout, "--control PATH", "the node's control socket");
  p2pc_args_help_line(stdout, "--id ID",
                      "the node's default control socket, "
                      "/tmp/p2pclock-ID.sock");
  if (c->mode == MODE_WATCH)
    p2pc_args_help_line(stdout, "--json", "(the lines are JSON already)");
  else if (c->mode == MODE_RECV)
    p2pc_args_help_line(stdout, "--json",
                        "print each delivery as the node streams it\n"
                        "(docs/CONTROL.md) instead of FROM MSGID TEXT");
  else
    p2pc_args_help_line(stdout, "--json",
                        "print the node's answer as it came (one JSON "
                        "line)");
  for (unsigned i = 0; i < r->nargs; i++) {
    const p2pc_ctl_arg *a = &r->args[i];
    if (!offered(c, a))
      continue;
    char head[64], d[160] = "", text[256];
    if (a->cli == P2PC_CTL_CLI_OPTION)
      snprintf(head, sizeof head, "%s %s", a->flag, a->metavar);
    else
      snprintf(head, sizeof head, "%s", a->metavar);
    if (a->type == P2PC_CTL_INTEGER || a->type == P2PC_CTL_NUMBER)
      p2pc_ctl_arg_describe(a, d, sizeof d);
    snprintf(text, sizeof text, "%s%s%s%s", a->help, d[0] ? "\n(" : "", d,
             d[0] ? ")" : "");
    p2pc_args_help_line(stdout, head, text);
  }
  if (c->mode == MODE_WATCH)
    printf("Without --events: every event (*).\n");
  if (c->mode != MODE_REQUEST)
    printf("Runs until Ctrl-C (exit 0), the node stopping (exit 0) or the\n"
           "node cutting the stream off, as it does a reader too slow for\n"
           "it (exit 1, with its reason).\n");
  printf("Words after \"--\"%s are never read as options.\n"
         "Exit status: 0 ok, 1 node unreachable or request refused, 2 "
         "usage.\n",
         p2pc_ctl_arg_find(r, "text") ? " (and in the text)" : "");
}

/* The words of text, wrapped (args.h). */
static void prose(FILE *out, const char *text, size_t *col) {
  char word[64];
  while (*text) {
    size_t n = strcspn(text, " ");
    snprintf(word, sizeof word, "%.*s", (int)n, text);
    if (n)
      p2pc_args_wrap_word(out, word, 0, col);
    text += n + (text[n] == ' ');
  }
}

/* Whether name is a client command with arguments: its synopsis. */
static bool with_args(const char *name, char *syn, size_t n) {
  client_cmd c;
  if (!find_cmd(name, &c))
    return false;
  synopsis(&c, syn, n);
  return syn[0] != '\0';
}

void p2pc_cli_client_usage(FILE *out) {
  const char *name;
  char syn[256], item[300];
  size_t col = (size_t)fprintf(out, "Client commands take");
  prose(out,
        "--control PATH (the node's control socket) or --id ID "
        "(/tmp/p2pclock-ID.sock), and --json; their arguments:",
        &col);
  size_t left = 0;
  for (size_t i = 0; (name = p2pc_cli_client_name(i)); i++)
    left += with_args(name, syn, sizeof syn);
  for (size_t i = 0; (name = p2pc_cli_client_name(i)); i++) {
    if (!with_args(name, syn, sizeof syn))
      continue;
    snprintf(item, sizeof item, "%s%s%s", name, syn, --left ? "," : ".");
    p2pc_args_wrap_word(out, item, 0, &col);
  }
  prose(out, "p2pclock help COMMAND: its options.", &col);
  fputc('\n', out);
}

/* ---- the command line ------------------------------------------------------
 */

#define NFLAGS (3 + MAX_OPTS)

typedef struct client_args {
  const client_cmd *cmd;
  const char *control; /* --control PATH */
  const char *id;      /* --id ID */
  bool json;
  const char *opt[MAX_OPTS]; /* the option arguments' values, by index */
  char **pos;                /* the positional words */
  int npos;
} client_args;

/* The command's flags (args.h): --control, --id, --json, then the
 * request's options from the table, each value kept as given (checked
 * with the request, by the table). */
static size_t client_flags(const client_cmd *c, p2pc_args_opt *f,
                           unsigned *words, bool *text) {
  const p2pc_ctl_request *r = c->req;
  size_t n = 0;
  f[n++] = (p2pc_args_opt){.name = "control",
                           .metavar = "PATH",
                           .offset = offsetof(client_args, control),
                           .help = "-"};
  f[n++] = (p2pc_args_opt){.name = "id",
                           .metavar = "ID",
                           .offset = offsetof(client_args, id),
                           .help = "-"};
  f[n++] = (p2pc_args_opt){
      .name = "json", .offset = offsetof(client_args, json), .help = "-"};
  *words = 0;
  *text = false;
  for (unsigned k = 0; k < r->nargs; k++) {
    const p2pc_ctl_arg *a = &r->args[k];
    *text |= a->cli == P2PC_CTL_CLI_REST;
    *words += a->cli == P2PC_CTL_CLI_WORD;
    if (a->cli != P2PC_CTL_CLI_OPTION || !offered(c, a) || k >= MAX_OPTS)
      continue;
    f[n++] = (p2pc_args_opt){.name = a->flag + 2, /* without "--" */
                             .metavar = a->metavar,
                             .offset = offsetof(client_args, opt) +
                                       k * sizeof(const char *),
                             .help = a->help};
  }
  return n;
}

/* Returns 0, or an exit status (help printed: 0 is returned through
 * *done). A command with free text: once the text starts (after the
 * single words before it), every word is text. */
static int parse_args(client_args *ca, int argc, char **argv, bool *done) {
  const char *name = ca->cmd->name;
  p2pc_args_opt f[NFLAGS];
  p2pc_args_cmd cmd = {.name = name, .opts = f, .flags = P2PC_ARGS_WORDS};
  bool text;
  cmd.nopts = client_flags(ca->cmd, f, &cmd.rest_after, &text);
  if (text)
    cmd.flags |= P2PC_ARGS_REST;
  *done = false;
  int rc = p2pc_args_parse(&cmd, argc, argv, ca, &ca->npos);
  ca->pos = argv;
  if (rc == P2PC_ARGS_HELP) {
    print_help(ca->cmd);
    *done = true;
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
  }
  if (rc < 0)
    return rc == P2PC_ARGS_NOMEM ? EXIT_FAILURE : EXIT_USAGE;
  if (ca->control && ca->id)
    return usage(name, "give --control PATH or --id ID, not both", NULL);
  if (!ca->control && !ca->id)
    return usage(name, "which node? give --control PATH or --id ID", NULL);
  if (ca->id && !p2pc_id_valid(ca->id, strlen(ca->id)))
    return usage(name, "--id must be 1..64 characters of [A-Za-z0-9._-], got",
                 ca->id);
  if (ca->control &&
      (ca->control[0] == '\0' || strlen(ca->control) > P2PC_CLI_CONTROL_MAX))
    return usage(name,
                 "--control must be a non-empty path of at most 107 bytes, "
                 "got",
                 ca->control);
  return 0;
}

/* A finite decimal number, the whole word (the shared parsers); an
 * integer: digits only, signed. */
static bool parse_number(const char *s, bool integer, double *out) {
  if (!integer)
    return p2pc_parse_double(s, P2PC_PARSE_SIGNED | P2PC_PARSE_PLUS, out);
  int64_t v;
  if (!p2pc_parse_i64(s, strlen(s), -((int64_t)1 << 53), (int64_t)1 << 53, &v))
    return false;
  *out = (double)v;
  return true;
}

/* Adds a's value (the word or words as given) to req; 0, or an exit
 * status after saying why. */
static int add_value(const client_cmd *c, const p2pc_ctl_arg *a, const char *v,
                     cJSON *req) {
  char d[160];
  p2pc_ctl_arg_describe(a, d, sizeof d);
  switch (a->type) {
  case P2PC_CTL_STRING:
    if (strlen(v) > P2PC_CTL_REQUEST_MAX) {
      char what[80];
      snprintf(what, sizeof what, "%s is longer than a request may be (64 KiB)",
               label(a));
      return usage(c->name, what, NULL);
    }
    return cJSON_AddStringToObject(req, a->key, v) ? 0 : EXIT_FAILURE;
  case P2PC_CTL_INTEGER:
  case P2PC_CTL_NUMBER: {
    double x;
    if (!parse_number(v, a->type == P2PC_CTL_INTEGER, &x) || x < a->min ||
        x > a->max) {
      char what[240];
      snprintf(what, sizeof what, "%s must be %s, got", label(a), d);
      return usage(c->name, what, v);
    }
    return cJSON_AddNumberToObject(req, a->key, x) ? 0 : EXIT_FAILURE;
  }
  case P2PC_CTL_STRINGS: {
    cJSON *arr = cJSON_AddArrayToObject(req, a->key);
    const char *p = v;
    while (arr) {
      size_t n = strcspn(p, ",");
      cJSON *it = cJSON_CreateString("");
      char *word = malloc(n + 1);
      if (!it || !word) {
        cJSON_Delete(it);
        free(word);
        return EXIT_FAILURE;
      }
      memcpy(word, p, n);
      word[n] = '\0';
      cJSON_SetValuestring(it, word);
      free(word);
      cJSON_AddItemToArray(arr, it);
      if (p[n] == '\0')
        break;
      p += n + 1;
    }
    return arr ? 0 : EXIT_FAILURE;
  }
  }
  return EXIT_FAILURE;
}

/* keys' KEY: a word that is neither a key nor a fingerprint names a
 * cluster key file (checked as the node checks it), whose first key goes
 * into the request: a key need not be on a command line, where ps shows
 * it. *v then points at b64. 0, or an exit status after saying why. */
static int key_file_word(const client_cmd *c, const p2pc_ctl_arg *a,
                         const char **v, char b64[P2PC_KEY_B64_LEN + 1]) {
  unsigned char k[P2PC_KEY_BYTES];
  char fp[P2PC_KEY_FP_LEN + 1], err[P2PC_KEY_ERR_LEN];
  bool is_key;
  if (strcmp(c->req->name, "keys") != 0 || strcmp(a->key, "key") != 0 ||
      p2pc_cli_ring_ref(*v, k, &is_key, fp))
    return 0;
  p2pc_cli_ring *r = sodium_init() < 0 ? NULL : sodium_malloc(sizeof *r);
  if (!r)
    return EXIT_FAILURE;
  int rv = p2pc_cli_keyring_load(*v, r->keys, &r->n, err, sizeof err);
  if (rv == 0) {
    p2pc_cli_key_b64(r->keys[0], b64);
    *v = b64;
  } else {
    fprintf(stderr, "p2pclock %s: %s\n", c->name, err);
  }
  sodium_free(r);
  sodium_memzero(k, sizeof k);
  return rv == 0 ? 0 : EXIT_USAGE;
}

/* The words from pos[from] on, joined by spaces (to free). */
static char *join(char **pos, int from, int n) {
  size_t len = 1;
  for (int i = from; i < n; i++)
    len += strlen(pos[i]) + 1;
  char *j = malloc(len), *p = j;
  if (!j)
    return NULL;
  for (int i = from; i < n; i++) {
    if (p != j)
      *p++ = ' ';
    size_t k = strlen(pos[i]);
    memcpy(p, pos[i], k);
    p += k;
  }
  *p = '\0';
  return j;
}

/* The request for the command line, or NULL after saying why (*status
 * set). */
static cJSON *build_request(const client_args *ca, int *status) {
  const client_cmd *c = ca->cmd;
  const p2pc_ctl_request *r = c->req;
  cJSON *req = cJSON_CreateObject();
  char needs[120] = "", either[120] = "";
  int k = 0, given = 0, one_of = 0;
  *status = EXIT_FAILURE;
  if (!req || !cJSON_AddStringToObject(req, "cmd", r->name))
    goto fail;
  for (unsigned i = 0; i < r->nargs; i++) {
    const p2pc_ctl_arg *a = &r->args[i];
    if (!offered(c, a))
      continue;
    char *rest = NULL;
    const char *v = NULL;
    if (a->cli == P2PC_CTL_CLI_OPTION)
      v = i < MAX_OPTS ? ca->opt[i] : NULL;
    else if (a->cli == P2PC_CTL_CLI_WORD && k < ca->npos)
      v = ca->pos[k++];
    else if (a->cli == P2PC_CTL_CLI_REST && k < ca->npos) {
      v = rest = join(ca->pos, k, ca->npos);
      k = ca->npos;
      if (!rest)
        goto fail;
    }
    if (a->flags & P2PC_CTL_ONE_OF) {
      size_t l = strlen(either);
      snprintf(either + l, sizeof either - l, "%s%s", one_of++ ? " or " : "",
               label(a));
      given += v != NULL;
    }
    if (!v && (a->flags & P2PC_CTL_REQUIRED)) {
      size_t l = strlen(needs);
      snprintf(needs + l, sizeof needs - l, "%s%s", l ? " and " : "needs ",
               label(a));
    }
    char b64[P2PC_KEY_B64_LEN + 1];
    int rv = v ? key_file_word(c, a, &v, b64) : 0;
    if (!rv && v)
      rv = add_value(c, a, v, req);
    sodium_memzero(b64, sizeof b64);
    free(rest);
    if (rv) {
      *status = rv;
      goto fail;
    }
  }
  if (one_of && given == 0) {
    size_t l = strlen(needs);
    snprintf(needs + l, sizeof needs - l, "%s%s", l ? " and " : "needs ",
             either);
  }
  if (needs[0]) {
    *status = usage(c->name, needs, NULL);
    goto fail;
  }
  if (given > 1) {
    char what[160];
    snprintf(what, sizeof what, "give %s, not both", either);
    *status = usage(c->name, what, NULL);
    goto fail;
  }
  if (k < ca->npos) {
    *status = usage(c->name, "unexpected argument", ca->pos[k]);
    goto fail;
  }
  if (c->mode == MODE_WATCH &&
      !cJSON_GetObjectItemCaseSensitive(req, "events")) {
    cJSON *all = cJSON_AddArrayToObject(req, "events");
    if (!all)
      goto fail;
    cJSON_AddItemToArray(all, cJSON_CreateString("*"));
  }
  /* The node's own checks, here first: a usage error, not a refusal. */
  char e[300];
  if (!p2pc_ctl_validate(req, e, sizeof e)) {
    *status = usage(c->name, e, NULL);
    goto fail;
  }
  *status = 0;
  return req;
fail:
  if (*status == EXIT_FAILURE)
    fprintf(stderr, "p2pclock %s: out of memory\n", c->name);
  cJSON_Delete(req);
  return NULL;
}

/* ---- running it ------------------------------------------------------------
 */

static void reach_error(const char *path, int err) {
  if (err == -ETIMEDOUT)
    fprintf(stderr,
            "p2pclock: cannot reach node at %s: no connection within %d ms "
            "(is it running?)\n",
            path, P2PC_CTL_CONNECT_MS);
  else
    fprintf(stderr, "p2pclock: cannot reach node at %s: %s (is it running?)\n",
            path, strerror(-err));
}

static void call_error(const char *name, const char *path, int err) {
  if (err == -ETIMEDOUT)
    fprintf(stderr, "p2pclock %s: no answer from node at %s within %d ms\n",
            name, path, P2PC_CTL_ANSWER_MS);
  else if (err == -ECONNRESET)
    fprintf(stderr,
            "p2pclock %s: node at %s closed the connection without "
            "answering\n",
            name, path);
  else if (err == -EBADMSG)
    fprintf(stderr,
            "p2pclock %s: node at %s answered something that is not "
            "a JSON object\n",
            name, path);
  else
    fprintf(stderr, "p2pclock %s: request to node at %s failed: %s\n", name,
            path, strerror(-err));
}

static volatile sig_atomic_t stop_signal;
/* How often a stream's reader looks at stop_signal while nothing comes. */
#define STREAM_SLICE_MS 200

static void on_stop_signal(int sig) { stop_signal = sig; }

/* The stream after a subscribe's answer, until a signal or its end. */
static int stream(const client_args *ca, p2pc_ctl *c, const char *path) {
  const char *name = ca->cmd->name;
  struct sigaction sa = {.sa_handler = on_stop_signal}, old_int, old_term;
  sigemptyset(&sa.sa_mask);
  /* No SA_RESTART: the wait for the next line ends at once. */
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  int status = EXIT_FAILURE;
  for (;;) {
    char *line = NULL;
    /* In slices: a signal that lands between the test of stop_signal and
     * the wait would otherwise go unseen, and the wait last for ever (a
     * handled SIGTERM included, so `timeout` could not end it either). A
     * partial line stays buffered across slices. */
    int rv =
        stop_signal ? -EINTR : p2pc_ctl_read_line(c, &line, STREAM_SLICE_MS);
    if ((rv == -EINTR || rv == -ETIMEDOUT) && !stop_signal)
      continue;
    if (rv == -EINTR || rv == -ETIMEDOUT) { /* stop_signal is set */
      status = EXIT_SUCCESS;
      break;
    }
    if (rv == -ECONNRESET) {
      fprintf(stderr,
              "p2pclock %s: node at %s closed the stream without a word "
              "(did it crash?)\n",
              name, path);
      break;
    }
    if (rv < 0) {
      call_error(name, path, rv);
      break;
    }
    cJSON *ev = cJSON_Parse(line);
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(ev, "error");
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(ev, "end");
    bool done = true;
    if (!cJSON_IsObject(ev)) {
      call_error(name, path, -EBADMSG);
    } else if (cJSON_IsString(err)) {
      fprintf(stderr, "p2pclock %s: node at %s: %s\n", name, path,
              err->valuestring);
    } else if (cJSON_IsString(end)) {
      fprintf(stderr, "p2pclock %s: node at %s: %s\n", name, path,
              end->valuestring);
      status = EXIT_SUCCESS;
    } else {
      done = false;
      if (ca->cmd->mode == MODE_RECV && !ca->json)
        p2pc_cli_print_delivery(ev);
      else
        printf("%s\n", line);
      if (fflush(stdout) != 0) {
        fprintf(stderr, "p2pclock %s: cannot write: %s\n", name,
                strerror(errno));
        done = true;
      }
    }
    cJSON_Delete(ev);
    free(line);
    if (done)
      break;
  }
  /* After a stop signal the handlers stay: the command is ending, and a
   * second one must not kill it with 130 (`timeout` sends SIGINT both to
   * its child and to the child's process group: the flake of ctl_recv). */
  if (!stop_signal) {
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
  }
  return status;
}

int p2pc_cli_client(const char *name, int argc, char **argv) {
  client_cmd cmd;
  if (!find_cmd(name, &cmd))
    return usage(name, "not a client command", name);
  client_args ca = {.cmd = &cmd};
  char path[P2PC_CLI_CONTROL_MAX + 1];
  bool done;
  int status = parse_args(&ca, argc, argv, &done);
  cJSON *req = NULL;
  p2pc_ctl c;
  p2pc_ctl_init(&c);
  if (status || done)
    goto out;
  if (ca.id)
    p2pc_cli_control_default(path, sizeof path, ca.id);
  else
    snprintf(path, sizeof path, "%s", ca.control);
  req = build_request(&ca, &status);
  if (!req)
    goto out;

  int rv = p2pc_ctl_connect(&c, path, P2PC_CTL_CONNECT_MS);
  if (rv < 0) {
    reach_error(path, rv);
    status = EXIT_FAILURE;
    goto out;
  }
  char *reqs = cJSON_PrintUnformatted(req), *line = NULL;
  rv = reqs ? p2pc_ctl_call(&c, reqs, &line, P2PC_CTL_ANSWER_MS) : -ENOMEM;
  free(reqs);
  if (rv < 0) {
    call_error(name, path, rv);
    status = EXIT_FAILURE;
    goto out;
  }
  cJSON *ans = cJSON_Parse(line);
  if (!cJSON_IsObject(ans)) {
    call_error(name, path, -EBADMSG);
    status = EXIT_FAILURE;
  } else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "ok"))) {
    if (ca.json)
      printf("%s\n", line);
    fprintf(stderr, "p2pclock %s: %s\n", name,
            p2pc_cli_str_field(ans, "error"));
    status = EXIT_FAILURE;
  } else if (cmd.mode != MODE_REQUEST) {
    status = stream(&ca, &c, path);
  } else {
    if (ca.json)
      printf("%s\n", line);
    else
      p2pc_cli_print_answer(name, ans);
    status = EXIT_SUCCESS;
  }
  cJSON_Delete(ans);
  free(line);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "p2pclock %s: cannot write: %s\n", name, strerror(errno));
    status = EXIT_FAILURE;
  }
out:
  p2pc_ctl_close(&c);
  cJSON_Delete(req);
  return status;
}
