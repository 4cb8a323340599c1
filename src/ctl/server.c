/* SPDX-License-Identifier: MIT */
/*
 * The control-socket server (server.h): the Unix socket, its connections
 * (at most P2PC_CTL_CLIENTS_MAX), their request lines and their bounded
 * output. A connection whose unread output would pass P2PC_CTL_OUTPUT_MAX
 * is cut off: what it has not been sent yet is dropped, an error line
 * follows what it still reads within P2PC_CTL_CUTOFF_GRACE_MS, and it is
 * closed, so no client can make the node's memory grow. The requests
 * themselves are commands.c's and stream.c's; a "send" whose destination
 * is being looked up is held here (proto.h, P2PC_CTL_SEND_WAIT_MS), and
 * the connection's later requests wait behind it, so that both their
 * answers and their effects keep the order of the requests.
 */
#include "server_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

cJSON *p2pc_ctl_err(const char *prefix, const char *detail) {
  char msg[400];
  snprintf(msg, sizeof msg, "%s%s", prefix, detail ? detail : "");
  cJSON *o = cJSON_CreateObject();
  cJSON_AddBoolToObject(o, "ok", 0);
  cJSON_AddStringToObject(o, "error", msg);
  return o;
}

/* ---- connections -----------------------------------------------------------
 */

static void server_unref(p2pc_ctl_server *s) {
  if (--s->handles == 0 && s->closing) {
    free(s->path);
    free(s);
  }
}

static void on_client_handle_closed(uv_handle_t *h) {
  ctl_client *cc = h->data;
  p2pc_ctl_server *s = cc->s;
  if (--cc->handles == 0) {
    if (cc->prev)
      cc->prev->next = cc->next;
    else
      s->clients = cc->next;
    if (cc->next)
      cc->next->prev = cc->prev;
    s->nclients--;
    free(cc->line);
    free(cc->rest);
    free(cc->pend);
    free(cc->fly);
    free(cc);
  }
  server_unref(s);
}

static void hold_release(ctl_client *cc) {
  if (!cc->held)
    return;
  cJSON_Delete(cc->held);
  cc->held = NULL;
  cc->held_to = NULL;
  cc->s->nheld--;
  uv_timer_stop(&cc->hold);
}

static void ctl_close(ctl_client *cc) {
  if (cc->closing)
    return;
  cc->closing = true;
  hold_release(cc); /* a client gone: its held send is dropped */
  if (cc->subscribed) {
    cc->subscribed = false;
    cc->s->nsubscribers--;
  }
  uv_close((uv_handle_t *)&cc->pipe, on_client_handle_closed);
  uv_close((uv_handle_t *)&cc->grace, on_client_handle_closed);
  uv_close((uv_handle_t *)&cc->hold, on_client_handle_closed);
}

/* ---- bounded output --------------------------------------------------------
 */

static void on_written(uv_write_t *req, int status);

/* Hands pend to libuv as the one write in flight. */
static void kick(ctl_client *cc) {
  if (cc->writing || cc->pend_len == 0 || cc->closing)
    return;
  char *b = cc->fly;
  size_t cap = cc->fly_cap;
  cc->fly = cc->pend;
  cc->fly_cap = cc->pend_cap;
  cc->fly_len = cc->pend_len;
  cc->pend = b;
  cc->pend_cap = cap;
  cc->pend_len = 0;
  uv_buf_t buf = uv_buf_init(cc->fly, (unsigned)cc->fly_len);
  if (uv_write(&cc->wreq, (uv_stream_t *)&cc->pipe, &buf, 1, on_written) != 0) {
    ctl_close(cc);
    return;
  }
  cc->writing = true;
}

static void on_written(uv_write_t *req, int status) {
  ctl_client *cc = (ctl_client *)((char *)req - offsetof(ctl_client, wreq));
  cc->writing = false;
  cc->fly_len = 0;
  if (cc->closing)
    return;
  if (status < 0) {
    ctl_close(cc);
    return;
  }
  if (cc->cut && cc->pend_len == 0) {
    ctl_close(cc); /* the error line is out */
    return;
  }
  kick(cc);
}

static bool pend_append(ctl_client *cc, const char *p, size_t n) {
  if (cc->pend_cap - cc->pend_len < n) {
    size_t cap = cc->pend_cap ? cc->pend_cap : 4096;
    while (cap - cc->pend_len < n)
      cap *= 2;
    if (cap > P2PC_CTL_OUTPUT_MAX + 4096)
      cap = P2PC_CTL_OUTPUT_MAX + 4096;
    if (cap - cc->pend_len < n)
      return false;
    char *b = realloc(cc->pend, cap);
    if (!b)
      return false;
    cc->pend = b;
    cc->pend_cap = cap;
  }
  memcpy(cc->pend + cc->pend_len, p, n);
  cc->pend_len += n;
  return true;
}

static void on_grace(uv_timer_t *t) { ctl_close(t->data); }

/* The client did not keep up: drop what it has not been sent, queue one
 * error line after what is in flight, close once that is out (or when the
 * grace runs out: a client that reads nothing gets no line). */
static void cut_off(ctl_client *cc, size_t unsent) {
  char msg[200];
  int k = snprintf(msg, sizeof msg,
                   "{\"ok\":false,\"error\":\"%s too slow: more than %d "
                   "bytes unread (%zu queued); closing\"}\n",
                   cc->subscribed ? "subscriber" : "client",
                   P2PC_CTL_OUTPUT_MAX, unsent);
  cc->cut = true;
  cc->pend_len = 0;
  if (cc->subscribed) { /* gone as a subscriber at once */
    cc->subscribed = false;
    cc->s->nsubscribers--;
  }
  uv_read_stop((uv_stream_t *)&cc->pipe);
  cc->reading = false;
  if (!pend_append(cc, msg, (size_t)k)) {
    ctl_close(cc);
    return;
  }
  if (cc->writing)
    uv_timer_start(&cc->grace, on_grace, P2PC_CTL_CUTOFF_GRACE_MS, 0);
  else
    kick(cc);
}

void p2pc_ctl_out(ctl_client *cc, const char *p, size_t n) {
  if (cc->closing || cc->cut)
    return;
  if (!cc->writing && cc->pend_len == 0) {
    /* Nothing queued: straight to the kernel, as much as it takes. */
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    int k = uv_try_write((uv_stream_t *)&cc->pipe, &b, 1);
    if (k < 0 && k != UV_EAGAIN) {
      ctl_close(cc);
      return;
    }
    if (k > 0) {
      p += k;
      n -= (size_t)k;
    }
    if (n == 0)
      return;
  }
  size_t unsent =
      cc->pend_len + uv_stream_get_write_queue_size((uv_stream_t *)&cc->pipe);
  if (unsent + n > P2PC_CTL_OUTPUT_MAX) {
    cut_off(cc, unsent + n);
    return;
  }
  if (!pend_append(cc, p, n)) {
    ctl_close(cc);
    return;
  }
  kick(cc);
}

void p2pc_ctl_answer(ctl_client *cc, cJSON *ans) {
  char *s = ans ? cJSON_PrintUnformatted(ans) : NULL;
  cJSON_Delete(ans);
  if (!s) {
    ctl_close(cc);
    return;
  }
  size_t n = strlen(s);
  s[n] = '\n'; /* cJSON's buffer has the NUL's byte: reuse it */
  p2pc_ctl_out(cc, s, n + 1);
  free(s);
}

/* ---- requests --------------------------------------------------------------
 */

static void on_ctl_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  ctl_client *cc = h->data;
  buf->base = cc->s->chunk; /* one loop thread: one chunk is enough */
  buf->len = sizeof cc->s->chunk;
}

/* ---- held sends -------------------------------------------------------------
 */

static void on_hold(uv_timer_t *t);

static void hold(p2pc_ctl_server *s, ctl_client *cc, cJSON *req) {
  cc->held = req;
  cc->held_to = cJSON_GetObjectItemCaseSensitive(req, "to")->valuestring;
  cc->held_until = uv_now(s->loop) + P2PC_CTL_SEND_WAIT_MS;
  cc->held_state = HELD_WAIT;
  s->nheld++;
  uv_timer_start(&cc->hold, on_hold, P2PC_CTL_SEND_WAIT_MS, 0);
}

void p2pc_ctl_held_resolved(p2pc_ctl_server *s, const char *id, bool ok) {
  for (ctl_client *cc = s->clients; cc && s->nheld; cc = cc->next)
    if (cc->held && strcmp(cc->held_to, id) == 0) {
      /* Not from inside the node's callback: at the loop's next turn. */
      cc->held_state = ok ? HELD_FOUND : HELD_NOTFOUND;
      uv_timer_start(&cc->hold, on_hold, 0, 0);
    }
}

/* One request line (NUL ended, newline out); false if the connection is
 * to be closed. */
static bool request(p2pc_ctl_server *s, ctl_client *cc) {
  if (p2pc_ctl_has_nul_escape(cc->line, cc->len)) {
    p2pc_ctl_answer(cc, p2pc_ctl_err("a string holds \\u0000 (send such "
                                     "bytes as \"b64\")",
                                     NULL));
    return true;
  }
  cJSON *req = cJSON_Parse(cc->line);
  if (!cJSON_IsObject(req)) {
    cJSON_Delete(req);
    p2pc_ctl_answer(cc, p2pc_ctl_err("request is not a JSON object", NULL));
    return false;
  }
  char e[300];
  const p2pc_ctl_request *r = p2pc_ctl_validate(req, e, sizeof e);
  if (!r)
    p2pc_ctl_answer(cc, p2pc_ctl_err(e, NULL));
  else if (r->stream)
    p2pc_ctl_subscribe(s, cc, req);
  else {
    bool again = false;
    cJSON *ans = p2pc_ctl_run(s, r, req, &again);
    if (again) { /* held: req is kept */
      hold(s, cc, req);
      return true;
    }
    p2pc_ctl_answer(cc, ans);
  }
  cJSON_Delete(req);
  return true;
}

/* Runs the requests of the n bytes at p; returns how many bytes it took:
 * all of them, unless a request was held (then the bytes after it are
 * left) or the connection is to be closed. */
static size_t feed(ctl_client *cc, const char *p, size_t n) {
  p2pc_ctl_server *s = cc->s;
  size_t i = 0;
  while (i < n && !cc->closing && !cc->cut && !cc->held) {
    char ch = p[i++];
    if (cc->subscribed)
      continue; /* a stream takes no more requests: input is ignored */
    if (ch != '\n') {
      if (cc->len == P2PC_CTL_REQUEST_MAX) {
        p2pc_ctl_answer(cc, p2pc_ctl_err("request longer than 64 KiB", NULL));
        ctl_close(cc);
        break;
      }
      cc->line[cc->len++] = ch;
      continue;
    }
    cc->line[cc->len] = '\0';
    bool keep = request(s, cc);
    cc->len = 0;
    if (!keep) {
      ctl_close(cc);
      break;
    }
  }
  return i;
}

/* Keeps n bytes read behind a held request; reading stops while another
 * chunk might not fit. */
static void stash(ctl_client *cc, const char *p, size_t n) {
  if (!cc->rest)
    cc->rest = malloc(P2PC_CTL_HELD_INPUT_MAX);
  if (!cc->rest || P2PC_CTL_HELD_INPUT_MAX - cc->rest_len < n) {
    ctl_close(cc); /* cannot happen: reading stops in time */
    return;
  }
  memcpy(cc->rest + cc->rest_len, p, n);
  cc->rest_len += n;
  if (cc->reading &&
      P2PC_CTL_HELD_INPUT_MAX - cc->rest_len < sizeof cc->s->chunk) {
    uv_read_stop((uv_stream_t *)&cc->pipe);
    cc->reading = false;
  }
}

static void on_ctl_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void on_ctl_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

/* The held request is answered: the requests read behind it run, and
 * reading goes on. */
static void resume(ctl_client *cc) {
  if (cc->rest_len && !cc->held) {
    size_t k = feed(cc, cc->rest, cc->rest_len);
    memmove(cc->rest, cc->rest + k, cc->rest_len - k);
    cc->rest_len -= k;
  }
  if (cc->closing || cc->cut || cc->reading ||
      P2PC_CTL_HELD_INPUT_MAX - cc->rest_len < sizeof cc->s->chunk)
    return;
  if (uv_read_start((uv_stream_t *)&cc->pipe, on_ctl_alloc, on_ctl_read) != 0)
    ctl_close(cc);
  else
    cc->reading = true;
}

static void on_hold(uv_timer_t *t) {
  ctl_client *cc = t->data;
  p2pc_ctl_server *s = cc->s;
  if (!cc->held || cc->closing)
    return;
  cJSON *ans;
  if (cc->held_state == HELD_NOTFOUND) {
    ans = p2pc_ctl_held_error(cc->held_to, true);
  } else { /* found, or the time is up: once more */
    bool again = false;
    ans = p2pc_ctl_run(s, p2pc_ctl_find("send"), cc->held, &again);
    if (again) {
      uint64_t now = uv_now(s->loop);
      cc->held_state = HELD_WAIT;
      if (now < cc->held_until) {
        uv_timer_start(t, on_hold, cc->held_until - now, 0);
        return;
      }
      ans = p2pc_ctl_held_error(cc->held_to, false);
    }
  }
  hold_release(cc);
  p2pc_ctl_answer(cc, ans);
  resume(cc);
  s->h.flush(s->h.ud);
}

static void on_ctl_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  ctl_client *cc = st->data;
  p2pc_ctl_server *s = cc->s;
  if (nread < 0) {
    ctl_close(cc);
    return;
  }
  size_t n = (size_t)nread, k = 0;
  if (!cc->held && cc->rest_len == 0)
    k = feed(cc, buf->base, n);
  if (k < n && cc->held && !cc->closing && !cc->cut)
    stash(cc, buf->base + k, n - k);
  s->h.flush(s->h.ud);
}

static void on_ctl_connection(uv_stream_t *server, int status) {
  p2pc_ctl_server *s = server->data;
  if (status < 0 || s->closing)
    return;
  ctl_client *cc = calloc(1, sizeof *cc);
  if (!cc)
    return;
  cc->line = malloc(P2PC_CTL_REQUEST_MAX + 1);
  cc->s = s;
  uv_pipe_init(s->loop, &cc->pipe, 0);
  uv_timer_init(s->loop, &cc->grace);
  uv_timer_init(s->loop, &cc->hold);
  cc->pipe.data = cc->grace.data = cc->hold.data = cc;
  cc->handles = 3;
  s->handles += 3;
  s->nclients++;
  cc->next = s->clients;
  if (cc->next)
    cc->next->prev = cc;
  s->clients = cc;
  /* Over the bound, accepted only to be closed: the backlog drains. */
  if (!cc->line || uv_accept(server, (uv_stream_t *)&cc->pipe) != 0 ||
      s->nclients > P2PC_CTL_CLIENTS_MAX) {
    ctl_close(cc);
    return;
  }
  cc->reading =
      uv_read_start((uv_stream_t *)&cc->pipe, on_ctl_alloc, on_ctl_read) == 0;
}

/* ---- the server ------------------------------------------------------------
 */

int p2pc_ctl_server_new(p2pc_ctl_server **out, uv_loop_t *loop,
                        const p2pc_ctl_host *host, uint64_t seed) {
  p2pc_ctl_server *s = calloc(1, sizeof *s);
  if (!s)
    return P2PC_ERR_NOMEM;
  s->h = *host;
  s->loop = loop;
  p2pc_rng_seed(&s->rng, seed, 0);
  *out = s;
  return 0;
}

int p2pc_ctl_server_listen(p2pc_ctl_server *s, const char *path, char *err,
                           size_t cap) {
  struct stat st;
  /* A socket file left by a node that is gone: replace it. If a live node
   * holds it, connecting succeeds and we refuse to start. */
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      snprintf(err, cap, "control path %s exists and is not a socket", path);
      return -1;
    }
    /* Someone else's: never replaced (a client that reached it would
     * talk to them, and removing it is not ours to do). */
    if (st.st_uid != geteuid()) {
      snprintf(err, cap,
               "control socket %s belongs to user %u, not to this one (%u): "
               "refusing to replace it; remove it or choose another "
               "--control path",
               path, (unsigned)st.st_uid, (unsigned)geteuid());
      return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    bool live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
      close(fd);
    if (live) {
      snprintf(err, cap, "another node is running with control socket %s",
               path);
      return -1;
    }
    unlink(path);
  }
  s->path = strdup(path);
  if (!s->path) {
    snprintf(err, cap, "out of memory");
    return -1;
  }
  uv_pipe_init(s->loop, &s->pipe, 0);
  s->pipe.data = s;
  s->handles++;
  s->listening = true;
  int rv = uv_pipe_bind(&s->pipe, path);
  /* Only this user may command the node: 0600 whatever the umask, set
   * before listening, so nobody can connect in between. */
  if (rv == 0 && chmod(path, S_IRUSR | S_IWUSR) != 0)
    rv = -errno;
  if (rv == 0)
    rv = uv_listen((uv_stream_t *)&s->pipe, 16, on_ctl_connection);
  if (rv < 0) {
    snprintf(err, cap, "cannot listen on control socket %s: %s", path,
             uv_strerror(rv));
    return -1;
  }
  return 0;
}

static void on_listener_closed(uv_handle_t *h) { server_unref(h->data); }

void p2pc_ctl_server_close(p2pc_ctl_server *s) {
  if (!s || s->closing)
    return;
  s->closing = true;
  static const char end[] = "{\"ok\":true,\"end\":\"the node stopped\"}\n";
  for (ctl_client *cc = s->clients; cc; cc = cc->next) {
    if (cc->subscribed) /* a stream's last line, when it fits */
      p2pc_ctl_out(cc, end, sizeof end - 1);
    ctl_close(cc);
  }
  if (s->listening) {
    /* Only a socket this server bound is removed (not a live node's). */
    if (uv_is_active((uv_handle_t *)&s->pipe))
      unlink(s->path);
    uv_close((uv_handle_t *)&s->pipe, on_listener_closed);
  } else if (s->handles == 0) {
    free(s->path);
    free(s);
  }
}
