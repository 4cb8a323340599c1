/* SPDX-License-Identifier: MIT */
/*
 * The control-socket client's connection: a non-blocking Unix stream
 * socket driven by poll() against one monotonic deadline per call, so no
 * node, however stuck, can hang a command. The subcommands on top of it
 * are client_cmds.c's; their printing is client_print.c's.
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

/* No deadline (a stream's lines): wait until something comes. */
#define FOREVER (-1LL)

/* Waits for events on fd until the deadline: 0 ready, -ETIMEDOUT, or
 * -errno. A signal ends the wait early with -EINTR so that the demo's
 * Ctrl-C is seen at once. */
static int wait_fd(int fd, short events, long long deadline) {
  struct pollfd p = {.fd = fd, .events = events};
  int ms = deadline == FOREVER ? -1 : left_ms(deadline);
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

/* Moves the line ending at nl out of the buffer into *line. */
static int take_line(p2pc_ctl *c, size_t nl, char **line) {
  char *a = malloc(nl + 1);
  if (!a)
    return -ENOMEM;
  memcpy(a, c->buf, nl);
  a[nl] = '\0';
  c->len -= nl + 1;
  memmove(c->buf, c->buf + nl + 1, c->len);
  *line = a;
  return 0;
}

int p2pc_ctl_read_line(p2pc_ctl *c, char **line, int timeout_ms) {
  size_t nl = 0;
  *line = NULL;
  if (c->fd < 0)
    return -ENOTCONN;
  int rv = read_line(c, &nl, timeout_ms < 0 ? FOREVER : now_ms() + timeout_ms);
  return rv < 0 ? rv : take_line(c, nl, line);
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
  if (rv == 0)
    rv = take_line(c, nl, answer);
  if (rv == 0)
    return 0;
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
