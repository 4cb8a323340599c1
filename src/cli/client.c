/* SPDX-License-Identifier: MIT */
/*
 * The control-socket client: a non-blocking Unix stream socket driven by
 * poll() against one monotonic deadline per call, so no node, however
 * stuck, can hang the command; and the client subcommands on top of it,
 * which turn their words into one request and the answer into text a
 * person reads (or pass it through unchanged with --json).
 */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "idtab.h"

#define EXIT_USAGE 2
#define READ_CHUNK 4096

/* ---- the connection ---------------------------------------------------- */

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(long long deadline) {
  long long d = deadline - now_ms();
  return d < 0 ? 0 : (int)d;
}

/* Waits for events on fd until the deadline: 0 ready, -ETIMEDOUT, or
 * -errno. A signal ends the wait early with -EINTR so that the demo's
 * Ctrl-C is seen at once. */
static int wait_fd(int fd, short events, long long deadline) {
  struct pollfd p = {.fd = fd, .events = events};
  int ms = left_ms(deadline);
  int n = poll(&p, 1, ms);
  if (n < 0)
    return -errno;
  if (n == 0)
    return -ETIMEDOUT;
  return 0;
}

void p2pc_ctl_init(p2pc_ctl *c) {
  c->fd = -1;
  c->buf = NULL;
  c->len = c->cap = 0;
}

void p2pc_ctl_close(p2pc_ctl *c) {
  if (c->fd >= 0)
    close(c->fd);
  free(c->buf);
  p2pc_ctl_init(c);
}

int p2pc_ctl_connect(p2pc_ctl *c, const char *path, int timeout_ms) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  long long deadline = now_ms() + timeout_ms;
  p2pc_ctl_close(c);
  if (strlen(path) >= sizeof sa.sun_path)
    return -ENAMETOOLONG;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  for (;;) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
      return -errno;
    /* Not inherited by the nodes the demo starts; never blocking. */
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    int rv = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int err = rv == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      socklen_t sl = sizeof err;
      int w = wait_fd(fd, POLLOUT, deadline);
      if (w < 0)
        err = -w;
      else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
        err = errno;
    }
    if (err == 0) {
      c->fd = fd;
      return 0;
    }
    close(fd);
    /* A full accept backlog: the node is there but busy; try again. */
    if (err != EAGAIN || left_ms(deadline) == 0)
      return err == EAGAIN ? -ETIMEDOUT : -err;
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
}

static int send_all(int fd, const char *p, size_t n, long long deadline) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k > 0) {
      p += k;
      n -= (size_t)k;
    } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int w = wait_fd(fd, POLLOUT, deadline);
      if (w < 0)
        return w;
    } else if (k < 0 && errno != EINTR) {
      return errno == EPIPE ? -ECONNRESET : -errno;
    }
  }
  return 0;
}

/* Reads until buf holds a newline; returns its index, or -errno. */
static int read_line(p2pc_ctl *c, size_t *nl, long long deadline) {
  size_t scanned = 0;
  for (;;) {
    char *e = c->len > scanned
                  ? memchr(c->buf + scanned, '\n', c->len - scanned)
                  : NULL;
    if (e) {
      *nl = (size_t)(e - c->buf);
      return 0;
    }
    scanned = c->len;
    if (c->len >= P2PC_CTL_ANSWER_MAX)
      return -EMSGSIZE;
    if (c->cap - c->len < READ_CHUNK) {
      size_t cap = c->cap ? c->cap * 2 : 2 * READ_CHUNK;
      char *b = realloc(c->buf, cap);
      if (!b)
        return -ENOMEM;
      c->buf = b;
      c->cap = cap;
    }
    ssize_t k = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (k > 0) {
      c->len += (size_t)k;
    } else if (k == 0) {
      return -ECONNRESET;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      int w = wait_fd(c->fd, POLLIN, deadline);
      if (w < 0)
        return w;
    } else if (errno != EINTR) {
      return -errno;
    }
  }
}

int p2pc_ctl_call(p2pc_ctl *c, const char *request, char **answer,
                  int timeout_ms) {
  long long deadline = now_ms() + timeout_ms;
  size_t n = strlen(request), nl = 0;
  int rv;
  *answer = NULL;
  if (c->fd < 0)
    return -ENOTCONN;
  if (n > P2PC_CTL_REQUEST_MAX)
    return -EMSGSIZE;
  char *line = malloc(n + 1);
  if (!line)
    return -ENOMEM;
  memcpy(line, request, n);
  line[n] = '\n';
  rv = send_all(c->fd, line, n + 1, deadline);
  free(line);
  if (rv == 0)
    rv = read_line(c, &nl, deadline);
  if (rv == 0) {
    char *a = malloc(nl + 1);
    if (!a) {
      rv = -ENOMEM;
    } else {
      memcpy(a, c->buf, nl);
      a[nl] = '\0';
      c->len -= nl + 1;
      memmove(c->buf, c->buf + nl + 1, c->len);
      *answer = a;
      return 0;
    }
  }
  p2pc_ctl_close(c);
  return rv;
}

int p2pc_ctl_call_json(p2pc_ctl *c, const cJSON *request, cJSON **answer,
                       int timeout_ms) {
  char *req = cJSON_PrintUnformatted(request), *line = NULL;
  *answer = NULL;
  if (!req)
    return -ENOMEM;
  int rv = p2pc_ctl_call(c, req, &line, timeout_ms);
  free(req);
  if (rv < 0)
    return rv;
  cJSON *a = cJSON_Parse(line);
  free(line);
  if (!cJSON_IsObject(a)) {
    cJSON_Delete(a);
    p2pc_ctl_close(c);
    return -EBADMSG;
  }
  *answer = a;
  return 0;
}

/* ---- the subcommands --------------------------------------------------- */

typedef struct client_args {
  const char *name;
  const char *control; /* --control PATH */
  const char *id;      /* --id ID */
  bool json;
  char **pos; /* the positional words */
  int npos;
} client_args;

static int usage(const char *name, const char *what, const char *arg) {
  if (arg)
    fprintf(stderr, "p2pclock %s: %s \"%s\" (try p2pclock --help)\n", name,
            what, arg);
  else
    fprintf(stderr, "p2pclock %s: %s (try p2pclock --help)\n", name, what);
  return EXIT_USAGE;
}

static void print_help(const char *name) {
  const char *what = "";
  if (strcmp(name, "send") == 0)
    what = " DEST TEXT...";
  else if (strcmp(name, "broadcast") == 0)
    what = " TEXT...";
  else if (strcmp(name, "simulate") == 0)
    what = " N";
  printf("usage: p2pclock %s [--control PATH | --id ID] [--json]%s\n"
         "  --control PATH  the node's control socket\n"
         "  --id ID         the node's default control socket, "
         "/tmp/p2pclock-ID.sock\n"
         "  --json          print the node's answer as it came (one JSON "
         "line)\n"
         "Words after \"--\" (and, for send and broadcast, after the first\n"
         "non-option word) are never read as options.\n"
         "Exit status: 0 ok, 1 node unreachable or request refused, 2 usage.\n",
         name, what);
}

/* Takes the value of an option given as "--opt V" or "--opt=V". Returns
 * the value, or NULL if this word is not that option. */
static const char *opt_value(const char *opt, int argc, char **argv, int *i,
                             bool *missing) {
  size_t n = strlen(opt);
  const char *a = argv[*i];
  if (strncmp(a, opt, n) != 0)
    return NULL;
  if (a[n] == '=')
    return a + n + 1;
  if (a[n] != '\0')
    return NULL;
  if (*i + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  return argv[++*i];
}

/* Returns 0, or an exit status (help printed: 0 is returned through
 * *done). */
static int parse_args(client_args *ca, int argc, char **argv, bool *done) {
  /* send and broadcast take free text: once it starts, every word is text */
  bool text =
      strcmp(ca->name, "send") == 0 || strcmp(ca->name, "broadcast") == 0;
  bool opts = true;
  *done = false;
  ca->pos = calloc((size_t)argc + 1, sizeof *ca->pos);
  if (!ca->pos) {
    fprintf(stderr, "p2pclock %s: out of memory\n", ca->name);
    return EXIT_FAILURE;
  }
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v;
    bool missing = false;
    if (!opts || a[0] != '-' || a[1] == '\0') {
      ca->pos[ca->npos++] = argv[i];
      if (text)
        opts = false;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      opts = false;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      print_help(ca->name);
      *done = true;
      return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    } else if (strcmp(a, "--json") == 0) {
      ca->json = true;
    } else if ((v = opt_value("--control", argc, argv, &i, &missing))) {
      ca->control = v;
    } else if ((v = opt_value("--id", argc, argv, &i, &missing))) {
      ca->id = v;
    } else if (missing) {
      return usage(ca->name, "missing value after", a);
    } else {
      return usage(ca->name, "unknown option", a);
    }
  }
  if (ca->control && ca->id)
    return usage(ca->name, "give --control PATH or --id ID, not both", NULL);
  if (!ca->control && !ca->id)
    return usage(ca->name, "which node? give --control PATH or --id ID", NULL);
  if (ca->id && !p2pc_id_valid(ca->id, strlen(ca->id)))
    return usage(ca->name,
                 "--id must be 1..64 characters of [A-Za-z0-9._-], got",
                 ca->id);
  if (ca->control &&
      (ca->control[0] == '\0' || strlen(ca->control) > P2PC_CLI_CONTROL_MAX))
    return usage(ca->name,
                 "--control must be a non-empty path of at most 107 bytes, "
                 "got",
                 ca->control);
  return 0;
}

/* The request for the command and its positional words, or NULL after
 * printing why (*status set). */
static cJSON *build_request(const client_args *ca, int *status) {
  const char *n = ca->name;
  int want = 0; /* positional words: exact count, or a minimum if text */
  bool text = false;
  if (strcmp(n, "send") == 0) {
    want = 2;
    text = true;
  } else if (strcmp(n, "broadcast") == 0) {
    want = 1;
    text = true;
  } else if (strcmp(n, "simulate") == 0) {
    want = 1;
  }
  if (ca->npos < want) {
    *status = usage(n,
                    strcmp(n, "send") == 0 ? "needs DEST and TEXT"
                    : text                 ? "needs TEXT"
                                           : "needs N",
                    NULL);
    return NULL;
  }
  if (!text && ca->npos > want) {
    *status = usage(n, "unexpected argument", ca->pos[want]);
    return NULL;
  }
  cJSON *req = cJSON_CreateObject();
  *status = EXIT_FAILURE;
  if (!req || !cJSON_AddStringToObject(req, "cmd", n))
    goto nomem;
  if (strcmp(n, "simulate") == 0) {
    char *end;
    errno = 0;
    long count = strtol(ca->pos[0], &end, 10);
    if (errno || end == ca->pos[0] || *end || count < 1 || count > 100000) {
      cJSON_Delete(req);
      *status = usage(n, "N must be an integer 1..100000, got", ca->pos[0]);
      return NULL;
    }
    if (!cJSON_AddNumberToObject(req, "count", (double)count))
      goto nomem;
  }
  if (text) {
    int first = want - 1; /* send: pos[0] is DEST */
    size_t len = 0;
    for (int i = first; i < ca->npos; i++)
      len += strlen(ca->pos[i]) + 1;
    if (len > P2PC_CTL_REQUEST_MAX) {
      cJSON_Delete(req);
      *status = usage(n, "TEXT is longer than a request may be (64 KiB)", NULL);
      return NULL;
    }
    char *joined = malloc(len + 1), *p = joined;
    if (!joined)
      goto nomem;
    for (int i = first; i < ca->npos; i++) {
      size_t k = strlen(ca->pos[i]);
      if (p != joined)
        *p++ = ' ';
      memcpy(p, ca->pos[i], k);
      p += k;
    }
    *p = '\0';
    bool ok = (first == 0 || cJSON_AddStringToObject(req, "to", ca->pos[0])) &&
              cJSON_AddStringToObject(req, "text", joined);
    free(joined);
    if (!ok)
      goto nomem;
  }
  *status = 0;
  return req;
nomem:
  cJSON_Delete(req);
  fprintf(stderr, "p2pclock %s: out of memory\n", n);
  return NULL;
}

static void print_value(const cJSON *v) {
  if (cJSON_IsString(v)) {
    fputs(v->valuestring, stdout);
  } else if (cJSON_IsNumber(v) && v->valuedouble > -9007199254740992.0 &&
             v->valuedouble < 9007199254740992.0 &&
             v->valuedouble == (double)(long long)v->valuedouble) {
    printf("%.0f", v->valuedouble);
  } else if (cJSON_IsNumber(v)) {
    printf("%g", v->valuedouble);
  } else {
    char *s = cJSON_PrintUnformatted(v);
    fputs(s ? s : "?", stdout);
    free(s);
  }
}

/* Every key but "ok", one per line, values aligned. */
static void print_keys(const cJSON *ans) {
  const cJSON *it;
  int w = 0;
  cJSON_ArrayForEach(it, ans) {
    if (it->string && strcmp(it->string, "ok") != 0 &&
        (int)strlen(it->string) > w)
      w = (int)strlen(it->string);
  }
  cJSON_ArrayForEach(it, ans) {
    if (!it->string || strcmp(it->string, "ok") == 0)
      continue;
    printf("%s:%*s ", it->string, w - (int)strlen(it->string), "");
    print_value(it);
    putchar('\n');
  }
}

static const char *str_field(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : "-";
}

static double num_field(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void print_peers(const cJSON *ans) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(ans, "peers"), *p;
  int wid = 2, wstate = 5, waddr = 4;
  cJSON_ArrayForEach(p, arr) {
    int a = (int)strlen(str_field(p, "id")),
        b = (int)strlen(str_field(p, "state")),
        c = (int)strlen(str_field(p, "addr"));
    wid = a > wid ? a : wid;
    wstate = b > wstate ? b : wstate;
    waddr = c > waddr ? c : waddr;
  }
  printf("%-*s  %-*s  %-*s  %7s  %8s  %9s\n", wid, "ID", wstate, "STATE", waddr,
         "ADDR", "UNACKED", "SENT", "DELIVERED");
  cJSON_ArrayForEach(p, arr) {
    printf("%-*s  %-*s  %-*s  %7.0f  %8.0f  %9.0f\n", wid, str_field(p, "id"),
           wstate, str_field(p, "state"), waddr, str_field(p, "addr"),
           num_field(p, "unacked"), num_field(p, "sent"),
           num_field(p, "delivered_from"));
  }
  if (cJSON_GetArraySize(arr) == 0)
    printf("(no peers yet)\n");
}

static void print_answer(const char *name, const cJSON *ans) {
  if (strcmp(name, "peers") == 0) {
    print_peers(ans);
  } else if (strcmp(name, "send") == 0) {
    printf("sent %s\n", str_field(ans, "msg"));
  } else if (strcmp(name, "broadcast") == 0) {
    printf("broadcast to %.0f peer(s) and to the node itself\n",
           num_field(ans, "peers"));
  } else if (strcmp(name, "simulate") == 0) {
    printf("sent %.0f message(s) to random peers\n", num_field(ans, "sent"));
  } else if (strcmp(name, "stop") == 0) {
    printf("the node is stopping\n");
  } else {
    print_keys(ans);
  }
}

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

int p2pc_cli_client(const char *name, int argc, char **argv) {
  client_args ca = {.name = name};
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
    fprintf(stderr, "p2pclock %s: %s\n", name, str_field(ans, "error"));
    status = EXIT_FAILURE;
  } else {
    if (ca.json)
      printf("%s\n", line);
    else
      print_answer(name, ans);
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
  free(ca.pos);
  return status;
}
