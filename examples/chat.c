/* SPDX-License-Identifier: MIT */
/*
 * chat: a group chat on libp2pclock's libuv binding, in one file.
 *
 *   chat --id a --listen 127.0.0.1:0
 *   chat --id b --listen 127.0.0.1:0 --peer 127.0.0.1:PORT_OF_A
 *
 * Each process is one node. Every line typed (or piped) on stdin is
 * broadcast to every peer, and every message delivered is printed as
 *
 *   [b~1f3k:2] b: see you at noon
 *
 * with its message id (sender ~ session : number). Messages are
 * delivered in causal order: what a process printed before it wrote a
 * line is printed before that line everywhere, even where the line
 * arrives first. One subtlety: a broadcast is one message per peer, sent
 * one after another (the numbers show the order). A reply is ordered
 * after the copy its writer read and every copy sent before it; a copy
 * sent later is concurrent with the reply and may be printed after it.
 * Nodes that are told of one peer learn of the others, so a star of
 * --peer options makes a full group.
 *
 * What this shows: settings from their defaults, opening a node on your
 * own uv loop, the event callback, broadcast, and a clean close. Build it
 * against the installed library:
 *   cc -o chat chat.c $(pkg-config --cflags --libs p2pclock)
 */
#include <p2pclock/uv.h>
#include <signal.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 1024 /* longer lines are cut in pieces */
#define PEERS_MAX 8

typedef struct chat {
  uv_loop_t *loop;
  p2pc_uv *node;
  union {
    uv_tty_t tty;
    uv_pipe_t pipe;
  } in; /* stdin, a terminal or a pipe */
  char line[LINE_MAX_BYTES];
  size_t len;
} chat;

/* ---- what the node tells us ---------------------------------------- */

/* Everything that happens to the node arrives here, during uv_run. */
static void on_event(void *ud, p2pc_node *n, const p2pc_event *ev) {
  char id[P2PC_MSGID_TEXT_MAX];
  (void)ud;
  (void)n;
  switch (ev->type) {
  case P2PC_EVENT_DELIVERED: /* a message, in causal order */
    p2pc_msgid_format(&ev->msg, id, sizeof id);
    printf("[%s] %s: %.*s\n", id, ev->msg.node, (int)ev->len,
           (const char *)ev->payload);
    break;
  case P2PC_EVENT_PEER_UP:
    printf("* %s joined\n", ev->peer);
    break;
  case P2PC_EVENT_PEER_DOWN:
    printf("* %s left (%s)\n", ev->peer, ev->reason);
    break;
  case P2PC_EVENT_UNDELIVERABLE: /* given up on: expired, peer left... */
    p2pc_msgid_format(&ev->msg, id, sizeof id);
    printf("! [%s] not delivered: %s\n", id, ev->reason);
    break;
  default: /* clock and detail events: not for a chat */
    break;
  }
}

/* The node logs warnings and errors (a peer that cannot be reached...). */
static void on_log(void *ud, p2pc_log_level level, const char *text) {
  (void)ud;
  fprintf(stderr, "chat: %s: %s\n", p2pc_log_level_name(level), text);
}

/* ---- what the user types -------------------------------------------- */

static void send_line(chat *c) {
  p2pc_msgid id; /* one message, to every node of the network */
  int rv = p2pc_uv_broadcast(c->node, (const uint8_t *)c->line, c->len, &id);
  if (rv < 0) /* e.g. P2PC_ERR_FULL: a peer is too far behind */
    fprintf(stderr, "chat: not sent: %s\n", p2pc_strerror(rv));
  c->len = 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char block[4096]; /* one read at a time: one buffer will do */
  (void)h;
  (void)hint;
  *buf = uv_buf_init(block, sizeof block);
}

static void on_closed(void *ud) {
  (void)ud; /* the node is gone: uv_run returns when nothing is left */
}

static void on_stdin(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  chat *c = s->data;
  if (n < 0) { /* end of input (or an error): leave the chat */
    if (c->len > 0)
      send_line(c);
    uv_close((uv_handle_t *)s, NULL);
    p2pc_uv_close(c->node, on_closed, c); /* peers are told we left */
    return;
  }
  for (ssize_t i = 0; i < n; i++) { /* one message per line */
    char ch = buf->base[i];
    if (ch == '\n') {
      if (c->len > 0)
        send_line(c);
      continue;
    }
    c->line[c->len++] = ch;
    if (c->len == sizeof c->line)
      send_line(c);
  }
}

static int open_stdin(chat *c) {
  uv_stream_t *s;
  if (uv_guess_handle(0) == UV_TTY) {
    if (uv_tty_init(c->loop, &c->in.tty, 0, 1) != 0)
      return -1;
    s = (uv_stream_t *)&c->in.tty;
  } else if (uv_guess_handle(0) == UV_NAMED_PIPE) {
    if (uv_pipe_init(c->loop, &c->in.pipe, 0) != 0 ||
        uv_pipe_open(&c->in.pipe, 0) != 0)
      return -1;
    s = (uv_stream_t *)&c->in.pipe;
  } else {
    return -1; /* a regular file cannot be watched: use `cat file |` */
  }
  s->data = c;
  return uv_read_start(s, on_alloc, on_stdin);
}

/* ---- the command line ------------------------------------------------ */

/* "HOST:PORT" -> host (into a buffer) and port. */
static int split_host_port(const char *s, char *host, size_t cap,
                           uint16_t *port) {
  const char *colon = strrchr(s, ':');
  if (!colon || (size_t)(colon - s) >= cap)
    return -1;
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end != '\0' || p < 0 || p > 65535)
    return -1;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = '\0';
  *port = (uint16_t)p;
  return 0;
}

static void usage(void) {
  fprintf(stderr, "usage: chat --id ID --listen HOST:PORT "
                  "[--peer [ID@]HOST:PORT]...\n");
  exit(2);
}

int main(int argc, char **argv) {
  /* A peer that goes away while we write must not kill us (<p2pclock/uv.h>
   * leaves the process's signals to us). */
  signal(SIGPIPE, SIG_IGN);
  static char listen_host[P2PC_UV_HOST_MAX + 1];
  static p2pc_uv_peer peers[PEERS_MAX];
  p2pc_uv_settings s;
  p2pc_uv_settings_default(&s); /* every setting has a sane default */
  s.node.logger = (p2pc_logger){on_log, NULL, P2PC_LOG_WARN};
  s.peers = peers;

  for (int i = 1; i + 1 < argc; i += 2) {
    const char *opt = argv[i], *val = argv[i + 1];
    if (strcmp(opt, "--id") == 0) {
      s.node.id = val;
    } else if (strcmp(opt, "--listen") == 0) {
      if (split_host_port(val, listen_host, sizeof listen_host,
                          &s.listen_port) != 0)
        usage();
      s.listen_host = listen_host;
    } else if (strcmp(opt, "--peer") == 0 && s.npeers < PEERS_MAX) {
      p2pc_uv_peer *p = &peers[s.npeers++];
      const char *at = strchr(val, '@'); /* an optional "ID@" */
      if (at && (size_t)(at - val) < sizeof p->id) {
        memcpy(p->id, val, (size_t)(at - val));
        val = at + 1;
      }
      if (split_host_port(val, p->host, sizeof p->host, &p->port) != 0)
        usage();
    } else {
      usage();
    }
  }
  if (!s.node.id || (argc - 1) % 2 != 0)
    usage();

  setvbuf(stdout, NULL, _IOLBF, 0); /* a line as soon as it is printed */
  chat c = {.loop = uv_default_loop()};
  int rv = p2pc_uv_open(&c.node, c.loop, &s, on_event, &c);
  if (rv != 0) {
    fprintf(stderr, "chat: cannot start: %s\n", p2pc_strerror(rv));
    return 1;
  }
  /* With port 0 the kernel chose one: tell the user (and the tests). */
  printf("* %s listening on %s:%u\n", s.node.id, s.listen_host,
         (unsigned)p2pc_uv_port(c.node));
  if (open_stdin(&c) != 0) {
    fprintf(stderr, "chat: stdin must be a terminal or a pipe\n");
    p2pc_uv_close(c.node, NULL, NULL);
    uv_run(c.loop, UV_RUN_DEFAULT);
    return 1;
  }
  uv_run(c.loop, UV_RUN_DEFAULT); /* until stdin ends and the node closed */
  uv_loop_close(c.loop);
  return 0;
}
