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
#include <math.h>
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
#include "parse.h"

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
  const char *step;    /* vclock --step S */
  const char *drift;   /* vclock --drift PPM */
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
  else if (strcmp(name, "vclock") == 0)
    what = " [--step S] [--drift PPM]";
  printf("usage: p2pclock %s [--control PATH | --id ID] [--json]%s\n"
         "  --control PATH  the node's control socket\n"
         "  --id ID         the node's default control socket, "
         "/tmp/p2pclock-ID.sock\n"
         "  --json          print the node's answer as it came (one JSON "
         "line)\n"
         "%s"
         "Words after \"--\" (and, for send and broadcast, after the first\n"
         "non-option word) are never read as options.\n"
         "Exit status: 0 ok, 1 node unreachable or request refused, 2 usage.\n",
         name, what,
         strcmp(name, "vclock") == 0
             ? "  --step S        add S seconds to the virtual clock (a jump)\n"
               "  --drift PPM     its rate error from now on, -1000..1000\n"
               "With neither, show the virtual clock. The node must have one\n"
               "(p2pclock node --clock-offset S or --clock-drift PPM).\n"
             : "");
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
  bool vclock = strcmp(ca->name, "vclock") == 0;
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
    } else if (vclock && (v = opt_value("--step", argc, argv, &i, &missing))) {
      ca->step = v;
    } else if (vclock && (v = opt_value("--drift", argc, argv, &i, &missing))) {
      ca->drift = v;
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

/* A finite decimal number, the whole word, signed ("+" or "-") or not. */
static bool parse_number(const char *s, double *out) {
  return p2pc_parse_double(s, P2PC_PARSE_SIGNED | P2PC_PARSE_PLUS, out);
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
  if (strcmp(n, "vclock") == 0) {
    double step = 0, drift = 0;
    if (ca->step && (!parse_number(ca->step, &step) || fabs(step) > 1e6)) {
      cJSON_Delete(req);
      *status = usage(n, "--step must be a number of seconds, -1e6..1e6, got",
                      ca->step);
      return NULL;
    }
    if (ca->drift && (!parse_number(ca->drift, &drift) || fabs(drift) > 1000)) {
      cJSON_Delete(req);
      *status = usage(n, "--drift must be a number of ppm, -1000..1000, got",
                      ca->drift);
      return NULL;
    }
    if ((ca->step && !cJSON_AddNumberToObject(req, "step_s", step)) ||
        (ca->drift && !cJSON_AddNumberToObject(req, "drift_ppm", drift)))
      goto nomem;
  }
  if (strcmp(n, "simulate") == 0) {
    uint64_t count;
    if (!p2pc_parse_u64(ca->pos[0], strlen(ca->pos[0]), 1, 100000, &count)) {
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

static bool bool_field(const cJSON *o, const char *key) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Like str_field, but a null or missing value is "". */
static const char *opt_str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}

/* ns since 1970 as UTC, to the µs: a double (as cJSON reads the exact
 * integer) holds such a value to a quarter of a µs. */
static void print_utc(double ns) {
  double us = floor(ns / 1e3 + 0.5);
  long long sec = (long long)floor(us / 1e6);
  long frac = (long)(us - (double)sec * 1e6);
  time_t t = (time_t)sec;
  struct tm tm;
  char when[40];
  if (frac < 0 || frac > 999999)
    frac = 0;
  if (!gmtime_r(&t, &tm) ||
      strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
    printf("%.0f ns\n", ns);
    return;
  }
  printf("%s.%06ldZ\n", when, frac);
}

/* Prints s right-aligned in w columns; a UTF-8 character counts as one
 * (the "µ" of the headings). */
static void print_col(const char *s, int w) {
  int cols = 0;
  for (const char *p = s; *p; p++)
    cols += ((unsigned char)*p & 0xC0) != 0x80;
  printf("%*s%s", w > cols ? w - cols : 0, "", s);
}

/* `chronyc tracking`, one fact a line. */
static void print_tracking(const cJSON *a) {
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(a, "counters");
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(a, "stamps");
  const cJSON *vc = cJSON_GetObjectItemCaseSensitive(a, "virtual_clock");
  const char *ref = opt_str(a, "ref"), *src = opt_str(a, "source");
  double since = num_field(a, "since_update_ns");
  printf("Mode            : %s%s\n", str_field(a, "mode"),
         bool_field(a, "reference") ? " (this node is the reference)" : "");
  printf("Reference       : %s\n", ref[0] ? ref : "(none)");
  if (src[0])
    printf("Source          : %s (%.0f hop(s) from the reference)\n", src,
           num_field(a, "hops"));
  else
    printf("Source          : (none)\n");
  printf("Synced          : %s\n", bool_field(a, "synced") ? "yes" : "no");
  printf("Stratum         : %.0f\n", num_field(a, "stratum"));
  printf("Local clock     : ");
  print_utc(num_field(a, "local_ns"));
  printf("Network time    : ");
  print_utc(num_field(a, "net_ns"));
  printf("Offset          : %+.3f µs (network time - local clock)\n",
         num_field(a, "offset_ns") / 1e3);
  printf("Last adjustment : %+.3f µs\n", num_field(a, "last_adj_ns") / 1e3);
  printf("Pending slew    : %+.3f µs\n", num_field(a, "pending_ns") / 1e3);
  printf("Frequency       : %+.3f ppm\n", num_field(a, "freq_ppm"));
  printf("Skew            : %.3f ppm\n", num_field(a, "skew_ppm"));
  printf("Error bound     : %.3f µs\n", num_field(a, "err_ns") / 1e3);
  if (since < 0)
    printf("Last update     : never\n");
  else
    printf("Last update     : %.3f s ago\n", since / 1e9);
  printf("Updates         : %.0f (%.0f step(s))\n", num_field(a, "updates"),
         num_field(a, "steps"));
  printf("Sources         : %.0f (%.0f truechimer(s))\n",
         num_field(a, "sources"), num_field(a, "truechimers"));
  if (num_field(a, "time_port") > 0)
    printf("Timestamping    : %s (UDP port %.0f)\n",
           str_field(a, "timestamping"), num_field(a, "time_port"));
  else
    printf("Timestamping    : %s (no time socket)\n",
           str_field(a, "timestamping"));
  if (cJSON_IsObject(vc))
    printf("Virtual clock   : offset %+.9f s, drift %+.3f ppm\n",
           num_field(vc, "offset_s"), num_field(vc, "drift_ppm"));
  else
    printf("Virtual clock   : none (the real clock)\n");
  printf("Packets         : rx %.0f, tx %.0f, answered %.0f (%.0f to NTP "
         "clients)\n",
         num_field(c, "rx"), num_field(c, "tx"), num_field(c, "answered"),
         num_field(c, "answered_std"));
  printf("Refused         : malformed %.0f, mode %.0f, bogus %.0f, replay "
         "%.0f, filtered %.0f, queue full %.0f\n",
         num_field(c, "rx_malformed"), num_field(c, "rx_mode"),
         num_field(c, "rx_bogus"), num_field(c, "rx_replay"),
         num_field(c, "filtered"), num_field(c, "tx_dropped"));
  printf("Stamps          : rx %.0f kernel, %.0f user; tx %.0f kernel of "
         "%.0f timed (%.0f sent, %.0f send error(s))\n",
         num_field(st, "rx_kernel"), num_field(st, "rx_user"),
         num_field(st, "tx_kernel"), num_field(st, "tx_timed"),
         num_field(st, "tx"), num_field(st, "tx_errors"));
}

static char state_mark(const char *state) {
  static const struct {
    const char *name;
    char mark;
  } marks[] = {{"selected", '*'},    {"truechimer", '+'}, {"candidate", '-'},
               {"falseticker", 'x'}, {"unsynced", '?'},   {"no-samples", '?'},
               {"unreachable", '.'}, {"other-ref", '~'}};
  for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
    if (strcmp(state, marks[i].name) == 0)
      return marks[i].mark;
  return ' ';
}

static const char sources_legend[] =
    "  .-- State: * selected, + truechimer, - candidate, x falseticker,\n"
    " /           ? unsynced or no samples, . unreachable, ~ other reference\n"
    "| .-- Newest sample: I interleaved, K kernel timestamps, U user-space\n"
    "| |   Poll: log2 s; Reach: the last 8 polls, octal; Samp: in the\n"
    "| |   regression; Offset: its network time - ours, +/- Error; Freq:\n"
    "| |   its local clock's rate - ours; Last: age of its newest sample\n"
    "| |\n";

/* `chronyc sources -v`: a legend, then one aligned row per source. */
static void print_sources(const cJSON *ans) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(ans, "sources"), *p;
  int wid = 2, waddr = 7;
  cJSON_ArrayForEach(p, arr) {
    int a = (int)strlen(str_field(p, "id")),
        b = (int)strlen(str_field(p, "addr"));
    wid = a > wid ? a : wid;
    waddr = b > waddr ? b : waddr;
  }
  fputs(sources_legend, stdout);
  printf("MS %-*s  %-*s", wid, "ID", waddr, "Address");
  static const struct {
    const char *head;
    int w;
  } cols[] = {{"Poll", 4},      {"Reach", 5},      {"Samp", 4},
              {"Hops", 4},      {"Offset µs", 13}, {"Error µs", 11},
              {"Delay µs", 11}, {"Jitter µs", 10}, {"Freq ppm", 10},
              {"Skew ppm", 9},  {"Last s", 7},     {"State", 0}};
  for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
    putchar(' ');
    if (cols[i].w)
      print_col(cols[i].head, cols[i].w);
    else
      printf(" %s", cols[i].head);
  }
  putchar('\n');
  printf("%.*s\n", 3 + wid + 2 + waddr + 110,
         "========================================================"
         "========================================================"
         "========================================================");
  cJSON_ArrayForEach(p, arr) {
    const char *state = str_field(p, "state");
    char kind = bool_field(p, "interleaved") ? 'I'
                : bool_field(p, "kernel")    ? 'K'
                                             : 'U';
    double ago = num_field(p, "last_sample_ago_ns");
    char last[24] = "-";
    if (ago >= 0)
      snprintf(last, sizeof last, "%.1f", ago / 1e9);
    printf("%c%c %-*s  %-*s %4.0f  %4o %4.0f %4.0f %+13.3f %11.3f %11.3f "
           "%10.3f %+10.3f %9.3f %7s  %s\n",
           state_mark(state), kind, wid, str_field(p, "id"), waddr,
           str_field(p, "addr"), num_field(p, "poll"),
           (unsigned)num_field(p, "reach"), num_field(p, "samples"),
           num_field(p, "hops"), num_field(p, "offset_ns") / 1e3,
           num_field(p, "err_ns") / 1e3, num_field(p, "delay_ns") / 1e3,
           num_field(p, "jitter_ns") / 1e3, num_field(p, "freq_ppm"),
           num_field(p, "skew_ppm"), last, state);
  }
  if (cJSON_GetArraySize(arr) == 0)
    printf("(no sources yet)\n");
}

static void print_vclock(const cJSON *ans) {
  const cJSON *vc = cJSON_GetObjectItemCaseSensitive(ans, "virtual_clock");
  printf("virtual clock: offset %+.9f s, drift %+.3f ppm\n",
         num_field(vc, "offset_s"), num_field(vc, "drift_ppm"));
}

static void print_answer(const char *name, const cJSON *ans) {
  if (strcmp(name, "peers") == 0) {
    print_peers(ans);
  } else if (strcmp(name, "tracking") == 0) {
    print_tracking(ans);
  } else if (strcmp(name, "sources") == 0) {
    print_sources(ans);
  } else if (strcmp(name, "vclock") == 0) {
    print_vclock(ans);
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
