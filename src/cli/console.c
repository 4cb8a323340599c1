/* SPDX-License-Identifier: MIT */
/*
 * The node's console (console.h): a line read from the terminal becomes a
 * control request, and its answer is printed for a human. Which requests
 * there are and the words they take come from the protocol's table
 * (src/ctl/proto.h), as for the client commands.
 */
#include "console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "proto.h"

struct p2pc_console {
  p2pc_console_host h;
  uv_tty_t tty;
  char line[4096];
  size_t len;
  char chunk[1024];
};

/* The list `help` prints: the control requests (proto.h) a line can make,
 * with the words they take here (the console has no options). */
static void console_help(void) {
  printf("commands:\n  %-20s %s\n", "help", "this list");
  for (unsigned i = 0; i < p2pc_ctl_nrequests; i++) {
    const p2pc_ctl_request *r = &p2pc_ctl_requests[i];
    char head[64];
    size_t l = (size_t)snprintf(head, sizeof head, "%s", r->name);
    if (r->stream)
      continue;
    for (unsigned k = 0; k < r->nargs && l < sizeof head; k++)
      if (r->args[k].cli == P2PC_CTL_CLI_WORD ||
          r->args[k].cli == P2PC_CTL_CLI_REST)
        l += (size_t)snprintf(head + l, sizeof head - l, " %s",
                              r->args[k].metavar);
    if (strcmp(r->name, "stop") == 0 && l < sizeof head)
      snprintf(head + l, sizeof head - l, " (or quit)");
    printf("  %-20s %s\n", head, r->help);
  }
}

/* The request's words from the rest of the line: each WORD argument the
 * next word, a REST argument what is left (as typed). A number that does
 * not read as one goes as a string, for the node to refuse by name. */
static void console_args(const p2pc_ctl_request *r, char *rest, cJSON *req) {
  for (unsigned k = 0; r && k < r->nargs && rest; k++) {
    const p2pc_ctl_arg *a = &r->args[k];
    char *v;
    if (a->cli == P2PC_CTL_CLI_WORD) {
      v = strtok(rest, " \t");
      rest = strtok(NULL, "");
    } else if (a->cli == P2PC_CTL_CLI_REST) {
      v = rest;
      rest = NULL;
    } else {
      continue;
    }
    double x;
    if (!v)
      break;
    if ((a->type == P2PC_CTL_INTEGER || a->type == P2PC_CTL_NUMBER) &&
        p2pc_parse_double(v, P2PC_PARSE_SIGNED | P2PC_PARSE_PLUS, &x))
      cJSON_AddNumberToObject(req, a->key, x);
    else
      cJSON_AddStringToObject(req, a->key, v);
  }
}

static void console_line(p2pc_console *c, char *line) {
  char *cmd = strtok(line, " \t");
  if (!cmd)
    return;
  char *rest = strtok(NULL, "");
  cJSON *req = cJSON_CreateObject();
  if (strcmp(cmd, "help") == 0) {
    console_help();
    cJSON_Delete(req);
    return;
  }
  if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0)
    cmd = "stop";
  cJSON_AddStringToObject(req, "cmd", cmd);
  console_args(p2pc_ctl_find(cmd), rest, req);
  cJSON *ans = p2pc_ctl_server_command(c->h.ctl, req);
  cJSON_Delete(req);
  const cJSON *ok = cJSON_GetObjectItemCaseSensitive(ans, "ok");
  if (!cJSON_IsTrue(ok)) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(ans, "error");
    printf("error: %s\n", cJSON_IsString(e) ? e->valuestring : "?");
  } else if (strcmp(cmd, "peers") == 0) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(ans, "peers");
    const cJSON *p;
    printf("%-12s %-8s %-22s %8s %8s\n", "ID", "STATE", "ADDR", "SENT",
           "DELIVERED");
    cJSON_ArrayForEach(p, arr) {
      printf("%-12s %-8s %-22s %8.0f %8.0f\n",
             cJSON_GetObjectItem(p, "id")->valuestring,
             cJSON_GetObjectItem(p, "state")->valuestring,
             cJSON_GetObjectItem(p, "addr")->valuestring,
             cJSON_GetObjectItem(p, "sent")->valuedouble,
             cJSON_GetObjectItem(p, "delivered_from")->valuedouble);
    }
  } else {
    char *s = cJSON_PrintUnformatted(ans);
    if (s)
      printf("%s\n", s);
    free(s);
  }
  fflush(stdout);
  cJSON_Delete(ans);
}

static void on_tty_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  p2pc_console *c = h->data;
  buf->base = c->chunk;
  buf->len = sizeof c->chunk;
}

static void on_tty_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  p2pc_console *c = s->data;
  if (nread < 0) {
    c->h.eof(c->h.ud); /* end of input: stop, as "quit" */
    c->h.flush(c->h.ud);
    return;
  }
  for (ssize_t i = 0; i < nread; i++) {
    char ch = buf->base[i];
    if (ch == '\n' || c->len == sizeof c->line - 1) {
      c->line[c->len] = '\0';
      c->len = 0;
      console_line(c, c->line);
      if (!c->h.stopping(c->h.ud)) {
        printf("%s> ", c->h.id);
        fflush(stdout);
      }
    } else {
      c->line[c->len++] = ch;
    }
  }
  c->h.flush(c->h.ud);
}

int p2pc_console_open(p2pc_console **out, uv_loop_t *loop,
                      const p2pc_console_host *host, const char *listen_host,
                      uint16_t port) {
  *out = NULL;
  p2pc_console *c = calloc(1, sizeof *c);
  if (!c)
    return P2PC_ERR_NOMEM;
  c->h = *host;
  int rv = uv_tty_init(loop, &c->tty, 0, 1);
  if (rv < 0) {
    free(c);
    return rv;
  }
  c->tty.data = c;
  uv_read_start((uv_stream_t *)&c->tty, on_tty_alloc, on_tty_read);
  printf("p2pclock node %s on %s:%u; type 'help' for commands\n%s> ", host->id,
         listen_host, port, host->id);
  fflush(stdout);
  *out = c;
  return 0;
}

void p2pc_console_stop_reading(p2pc_console *c) {
  if (c)
    uv_read_stop((uv_stream_t *)&c->tty);
}

static void on_tty_closed(uv_handle_t *h) { free(h->data); }

void p2pc_console_close(p2pc_console *c) {
  if (c && !uv_is_closing((uv_handle_t *)&c->tty))
    uv_close((uv_handle_t *)&c->tty, on_tty_closed);
}
