/* SPDX-License-Identifier: MIT */
/*
 * The libuv runtime (runtime.h). One loop per node. Each callback reads the
 * clocks once and hands the core what happened (bytes, a new connection, a
 * timer); then pump() carries out what the core asked for: dials and
 * closes, the event-log lines (flushed before any byte leaves the process,
 * so a log never misses a send that a peer already saw), and the output of
 * every link, written with one write per link per turn however many frames
 * it holds. The core's next deadline re-arms the one timer.
 */
#define _GNU_SOURCE
#include "runtime.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define READ_CHUNK (64 * 1024)
#define CTL_LINE_MAX (64 * 1024)

typedef struct conn conn;
typedef struct p2pc_rt rt;

struct conn {
  uv_tcp_t tcp;
  rt *r;
  p2pc_link_id link;
  bool linked; /* the core knows it */
  bool closing;
  bool writing; /* a uv_write is in flight */
  uv_write_t wreq;
  char *wbuf;
  bool outbound;
  p2pc_wire_addr addr;
  char peer[P2PC_NODE_ID_MAX + 1];
  uv_connect_t creq;
};

typedef struct ctl_client {
  uv_pipe_t pipe;
  rt *r;
  char *line;
  size_t len;
  bool closing;
} ctl_client;

struct p2pc_rt {
  const p2pc_rt_options *opt;
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_timer_t timer;
  uv_timer_t grace;
  uv_signal_t sigint, sigterm;
  uv_pipe_t ctl;
  bool ctl_open;
  uv_tty_t tty;
  bool tty_open;
  char tty_line[4096];
  size_t tty_len;
  p2pc_node *node;
  conn **conns; /* by link id */
  uint32_t nconns;
  FILE *events;
  char *readbuf;
  bool stopping;
  uint64_t start_mono;
  uint64_t delivered;
  uint64_t rng;
  int status;
  uint16_t port;
  p2pc_now now;
  bool now_valid;
  bool in_turn;
  bool stop_requested;
};

/* ---- time and logging ------------------------------------------------- */

static p2pc_now read_clocks(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  p2pc_now now = {.mono_ns = uv_hrtime(),
                  .local_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec};
  return now;
}

static const char *level_name(p2pc_log_level lv) {
  static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
  return lv <= P2PC_LOG_DEBUG ? names[lv] : "?";
}

static void logline(const rt *r, p2pc_log_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "<UTC time> <node> <LEVEL> <module>: text" (STYLE.md). */
static void logline(const rt *r, p2pc_log_level lv, const char *fmt, ...) {
  if (lv > r->opt->log_level)
    return;
  struct timespec ts;
  struct tm tm;
  char when[40];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s.%06ldZ %s %s ", when, ts.tv_nsec / 1000, r->opt->id,
          level_name(lv));
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* The clocks are read once per loop turn: the first time a callback needs
 * them; pump() ends the turn (curl's lesson: one "now" per turn). */
static p2pc_now now_of(rt *r) {
  if (!r->now_valid) {
    r->now = read_clocks();
    r->now_valid = true;
  }
  return r->now;
}

p2pc_now p2pc_rt_now(p2pc_rt *r) { return now_of(r); }

/* ---- core callbacks --------------------------------------------------- */

static void on_deliver(void *ud, const char *from, const char *msg,
                       const uint8_t *payload, size_t len) {
  rt *r = ud;
  r->delivered++;
  const p2pc_rt_app *app = r->opt->app;
  if (app && app->deliver)
    app->deliver(r, app->ud, from, msg, payload, len);
  if (r->opt->console)
    printf("[+] %s from %s: %.*s\n", msg, from, (int)(len > 200 ? 200 : len),
           (const char *)payload);
}

static void on_event(void *ud, const char *line, size_t len) {
  rt *r = ud;
  fwrite(line, 1, len, r->events);
  fputc('\n', r->events);
}

static void on_log(void *ud, p2pc_log_level lv, const char *text) {
  logline(ud, lv, "%s", text);
}

/* ---- addresses -------------------------------------------------------- */

static int parse_addr(const char *host, uint16_t port, p2pc_wire_addr *wa,
                      struct sockaddr_storage *ss) {
  memset(wa, 0, sizeof *wa);
  memset(ss, 0, sizeof *ss);
  if (strcmp(host, "localhost") == 0)
    host = "127.0.0.1";
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
  if (uv_ip4_addr(host, port, s4) == 0) {
    wa->family = 4;
    memcpy(wa->addr, &s4->sin_addr, 4);
  } else if (uv_ip6_addr(host, port, s6) == 0) {
    wa->family = 6;
    memcpy(wa->addr, &s6->sin6_addr, 16);
  } else {
    return UV_EINVAL;
  }
  wa->port = port;
  return 0;
}

static void wire_to_sockaddr(const p2pc_wire_addr *wa,
                             struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (wa->family == 4) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(wa->port);
    memcpy(&s4->sin_addr, wa->addr, 4);
  } else {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(wa->port);
    memcpy(&s6->sin6_addr, wa->addr, 16);
  }
}

/* ---- connections ------------------------------------------------------ */

static void pump(rt *r);

static void on_conn_closed(uv_handle_t *h) {
  conn *c = h->data;
  free(c->wbuf);
  free(c);
}

static void conn_close(conn *c) {
  if (c->closing)
    return;
  c->closing = true;
  rt *r = c->r;
  if (c->linked) {
    c->linked = false;
    r->conns[c->link] = NULL;
    p2pc_node_link_closed(r->node, c->link, now_of(r));
  }
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  conn *c = h->data;
  buf->base = c->r->readbuf;
  buf->len = READ_CHUNK;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn *c = s->data;
  rt *r = c->r;
  if (nread < 0) {
    if (nread != UV_EOF)
      logline(r, P2PC_LOG_DEBUG, "link: read: %s", uv_strerror((int)nread));
    conn_close(c);
  } else if (nread > 0 && c->linked) {
    p2pc_node_link_input(r->node, c->link, (const uint8_t *)buf->base,
                         (size_t)nread, now_of(r));
  }
  pump(r);
}

static void link_conn(rt *r, conn *c) {
  if (p2pc_node_link_new(r->node, c->outbound, c->peer,
                         c->outbound ? &c->addr : NULL, now_of(r),
                         &c->link) != 0) {
    logline(r, P2PC_LOG_WARN, "link: too many connections; refusing one");
    conn_close(c);
    return;
  }
  if (c->link >= r->nconns) {
    uint32_t n = c->link + 16;
    conn **x = realloc(r->conns, n * sizeof *x);
    if (!x) {
      p2pc_node_link_closed(r->node, c->link, now_of(r));
      conn_close(c);
      return;
    }
    memset(x + r->nconns, 0, (n - r->nconns) * sizeof *x);
    r->conns = x;
    r->nconns = n;
  }
  r->conns[c->link] = c;
  c->linked = true;
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_connect(uv_connect_t *req, int status) {
  conn *c = req->data;
  rt *r = c->r;
  if (c->closing)
    return; /* closed at exit while connecting: the close frees it */
  if (status < 0 || r->stopping) {
    if (status < 0)
      logline(r, P2PC_LOG_DEBUG, "link: dial %s failed: %s",
              c->peer[0] ? c->peer : "seed", uv_strerror(status));
    p2pc_node_dial_failed(r->node, &c->addr, c->peer, now_of(r));
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  } else {
    link_conn(r, c);
  }
  pump(r);
}

static void dial(rt *r, const p2pc_action *a) {
  conn *c = calloc(1, sizeof *c);
  if (!c) {
    p2pc_node_dial_failed(r->node, &a->addr, a->peer, now_of(r));
    return;
  }
  c->r = r;
  c->outbound = true;
  c->addr = a->addr;
  memcpy(c->peer, a->peer, sizeof c->peer);
  uv_tcp_init(&r->loop, &c->tcp);
  c->tcp.data = c;
  c->creq.data = c;
  struct sockaddr_storage ss;
  wire_to_sockaddr(&a->addr, &ss);
  int rv =
      uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&ss, on_connect);
  if (rv < 0) {
    p2pc_node_dial_failed(r->node, &a->addr, a->peer, now_of(r));
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  }
}

static void on_connection(uv_stream_t *server, int status) {
  rt *r = server->data;
  if (status < 0)
    return;
  conn *c = calloc(1, sizeof *c);
  if (!c)
    return;
  c->r = r;
  uv_tcp_init(&r->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    return;
  }
  if (r->stopping) {
    conn_close(c);
    return;
  }
  link_conn(r, c);
  pump(r);
}

static void on_written(uv_write_t *req, int status) {
  conn *c = req->data;
  c->writing = false;
  if (status < 0) {
    conn_close(c);
  }
  pump(c->r);
}

/* Hands a link's pending output to the kernel: try_write first (loopback
 * usually takes it all at once), the rest by one async write. */
static void flush_conn(rt *r, conn *c) {
  if (c->writing || c->closing || !c->linked)
    return;
  const uint8_t *p;
  size_t len;
  p2pc_node_link_output(r->node, c->link, &p, &len);
  if (!len)
    return;
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == UV_EAGAIN)
    n = 0;
  if (n < 0) {
    conn_close(c);
    return;
  }
  p2pc_node_link_consume(r->node, c->link, (size_t)n);
  p2pc_node_link_output(r->node, c->link, &p, &len);
  if (!len)
    return;
  /* The core's buffer may move as it grows: write from our own copy. */
  char *copy = realloc(c->wbuf, len);
  if (!copy)
    return;
  c->wbuf = copy;
  memcpy(copy, p, len);
  p2pc_node_link_consume(r->node, c->link, len);
  b = uv_buf_init(copy, (unsigned)len);
  c->wreq.data = c;
  if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) == 0)
    c->writing = true;
  else
    conn_close(c);
}

/* ---- the pump ----------------------------------------------------------- */

static void on_timer(uv_timer_t *t);
static void begin_stop(rt *r);

static void pump(rt *r) {
  p2pc_action a;
  const p2pc_rt_app *app = r->opt->app;
  if (app && app->turn && !r->in_turn && !r->stopping) {
    r->in_turn = true; /* a send inside the hook must not recurse here */
    app->turn(r, app->ud);
    r->in_turn = false;
  }
  if (r->stop_requested && !r->stopping)
    begin_stop(r);
  while (p2pc_node_pop_action(r->node, &a)) {
    if (a.kind == P2PC_ACT_DIAL) {
      if (!r->stopping)
        dial(r, &a);
      else
        p2pc_node_dial_failed(r->node, &a.addr, a.peer, now_of(r));
    } else if (a.link < r->nconns && r->conns[a.link]) {
      conn *c = r->conns[a.link];
      flush_conn(r, c); /* a last ERROR frame, if any */
      conn_close(c);
    } else {
      p2pc_node_link_closed(r->node, a.link, now_of(r));
    }
  }
  if (r->events)
    fflush(r->events);
  for (uint32_t i = 0; i < r->nconns; i++)
    if (r->conns[i])
      flush_conn(r, r->conns[i]);
  r->now_valid = false; /* the turn is over */
  /* At least 1 ms: libuv (1.44) runs a timer re-armed with 0 again in the
   * same pass, before any I/O, so a deadline already due would spin. */
  uint64_t d = p2pc_node_next_deadline(r->node), now = uv_hrtime();
  uint64_t ms = d == UINT64_MAX ? 1000
                : d <= now      ? 0
                                : (d - now + 999999) / 1000000;
  if (ms < 1)
    ms = 1;
  if (ms > 1000)
    ms = 1000;
  uv_timer_start(&r->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t) {
  rt *r = t->data;
  p2pc_node_on_deadline(r->node, now_of(r));
  pump(r);
}

/* ---- commands (control socket and console) --------------------------------
 */

static uint64_t rt_rand(rt *r) {
  r->rng ^= r->rng << 13;
  r->rng ^= r->rng >> 7;
  r->rng ^= r->rng << 17;
  return r->rng;
}

static void begin_stop(rt *r);

static cJSON *err_reply(const char *fmt, const char *detail) {
  char msg[300];
  snprintf(msg, sizeof msg, "%s%s", fmt, detail ? detail : "");
  cJSON *o = cJSON_CreateObject();
  cJSON_AddBoolToObject(o, "ok", 0);
  cJSON_AddStringToObject(o, "error", msg);
  return o;
}

static const char *send_error(int rv) {
  switch (rv) {
  case P2PC_ERR_NOTFOUND:
    return "no session with that peer (unknown, or not connected yet)";
  case P2PC_ERR_FULL:
    return "back-pressure: too much unacknowledged data for that peer, try "
           "again later";
  case P2PC_ERR_TOOBIG:
    return "message too big";
  default:
    return p2pc_strerror(rv);
  }
}

static int simulate(rt *r, int count) {
  int sent = 0;
  uint32_t np = p2pc_node_peer_count(r->node);
  for (int i = 0; i < count && np; i++) {
    p2pc_peer_info pi;
    uint32_t k = (uint32_t)(rt_rand(r) % np);
    if (!p2pc_node_peer_info(r->node, k, &pi) || pi.incarnation == 0)
      continue;
    char text[96];
    snprintf(text, sizeof text, "Hello from %s (%d)", r->opt->id, i + 1);
    if (p2pc_node_send(r->node, pi.id, (const uint8_t *)text, strlen(text),
                       now_of(r)) == 0)
      sent++;
  }
  return sent;
}

/* Carries out one request; returns the answer (owned by the caller). */
static cJSON *command(rt *r, const cJSON *req) {
  const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
  if (!cJSON_IsString(cmd))
    return err_reply("request has no \"cmd\" string", NULL);
  const char *name = cmd->valuestring;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddBoolToObject(o, "ok", 1);
  if (strcmp(name, "status") == 0) {
    p2pc_causal_stats st;
    const p2pc_causal *cz = p2pc_node_causal(r->node);
    p2pc_causal_get_stats(cz, &st);
    char listen[80];
    snprintf(listen, sizeof listen, "%s:%u", r->opt->listen_host, r->port);
    cJSON_AddStringToObject(o, "id", r->opt->id);
    cJSON_AddStringToObject(o, "sesid", p2pc_causal_self(cz));
    cJSON_AddStringToObject(o, "listen", listen);
    cJSON_AddStringToObject(o, "version", P2PC_VERSION_STRING);
    cJSON_AddNumberToObject(o, "uptime_ms",
                            (double)((uv_hrtime() - r->start_mono) / 1000000));
    cJSON_AddNumberToObject(o, "peers_known", p2pc_node_peer_count(r->node));
    cJSON_AddNumberToObject(o, "peers_up", p2pc_node_up_count(r->node));
    cJSON_AddNumberToObject(o, "sent", (double)st.sent);
    cJSON_AddNumberToObject(o, "delivered", (double)r->delivered);
    cJSON_AddNumberToObject(o, "buffered", p2pc_causal_buffered(cz));
    cJSON_AddNumberToObject(o, "duplicates", (double)st.duplicates);
    cJSON_AddNumberToObject(o, "undeliverable",
                            (double)p2pc_node_undeliverable(r->node));
  } else if (strcmp(name, "peers") == 0) {
    cJSON *arr = cJSON_AddArrayToObject(o, "peers");
    for (uint32_t i = 0; i < p2pc_node_peer_count(r->node); i++) {
      p2pc_peer_info pi;
      if (!p2pc_node_peer_info(r->node, i, &pi))
        continue;
      cJSON *p = cJSON_CreateObject();
      char as[80], inc[24];
      p2pc_node_addr_format(&pi.addr, as, sizeof as);
      snprintf(inc, sizeof inc, "%llu", (unsigned long long)pi.incarnation);
      cJSON_AddStringToObject(p, "id", pi.id);
      cJSON_AddStringToObject(p, "state", p2pc_peer_state_name(pi.state));
      cJSON_AddStringToObject(p, "addr", as);
      cJSON_AddStringToObject(p, "incarnation", inc);
      cJSON_AddNumberToObject(p, "unacked", pi.unacked);
      cJSON_AddNumberToObject(p, "sent", (double)pi.sent);
      cJSON_AddNumberToObject(p, "delivered_from", (double)pi.delivered_from);
      cJSON_AddItemToArray(arr, p);
    }
  } else if (strcmp(name, "send") == 0 || strcmp(name, "broadcast") == 0) {
    bool bc = name[0] == 'b';
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(req, "to");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(req, "text");
    if (!cJSON_IsString(text) || (!bc && !cJSON_IsString(to))) {
      cJSON_Delete(o);
      return err_reply(bc ? "broadcast needs \"text\""
                          : "send needs \"to\" and \"text\"",
                       NULL);
    }
    const uint8_t *p = (const uint8_t *)text->valuestring;
    size_t len = strlen(text->valuestring);
    int rv = bc ? p2pc_node_broadcast(r->node, p, len, now_of(r))
                : p2pc_node_send(r->node, to->valuestring, p, len, now_of(r));
    if (rv < 0) {
      cJSON_Delete(o);
      return err_reply("", send_error(rv));
    }
    if (bc) {
      cJSON_AddNumberToObject(o, "peers", rv);
    } else {
      char msg[120];
      snprintf(msg, sizeof msg, "%s:%llu",
               p2pc_causal_self(p2pc_node_causal(r->node)),
               (unsigned long long)p2pc_causal_sent(p2pc_node_causal(r->node)));
      cJSON_AddStringToObject(o, "msg", msg);
    }
  } else if (strcmp(name, "simulate") == 0) {
    const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(req, "count");
    if (!cJSON_IsNumber(cnt) || cnt->valuedouble < 1 ||
        cnt->valuedouble > 100000) {
      cJSON_Delete(o);
      return err_reply("simulate needs \"count\" 1..100000", NULL);
    }
    cJSON_AddNumberToObject(o, "sent", simulate(r, (int)cnt->valuedouble));
  } else if (strcmp(name, "stop") == 0) {
    begin_stop(r);
  } else {
    cJSON_Delete(o);
    return err_reply("unknown command: ", name);
  }
  return o;
}

static void on_ctl_closed(uv_handle_t *h) {
  ctl_client *cc = h->data;
  free(cc->line);
  free(cc);
}

static void ctl_close(ctl_client *cc) {
  if (!cc->closing) {
    cc->closing = true;
    uv_close((uv_handle_t *)&cc->pipe, on_ctl_closed);
  }
}

typedef struct ctl_write {
  uv_write_t req;
  char *text;
} ctl_write;

static void on_ctl_written(uv_write_t *req, int status) {
  (void)status;
  ctl_write *w = (ctl_write *)req;
  free(w->text);
  free(w);
}

static void ctl_answer(ctl_client *cc, cJSON *ans) {
  char *s = cJSON_PrintUnformatted(ans);
  cJSON_Delete(ans);
  ctl_write *w = calloc(1, sizeof *w);
  if (!s || !w) {
    free(s);
    free(w);
    ctl_close(cc);
    return;
  }
  size_t n = strlen(s);
  s[n] = '\n'; /* cJSON's buffer has the NUL's byte: reuse it */
  w->text = s;
  uv_buf_t b = uv_buf_init(s, (unsigned)n + 1);
  if (uv_write(&w->req, (uv_stream_t *)&cc->pipe, &b, 1, on_ctl_written)) {
    free(s);
    free(w);
    ctl_close(cc);
  }
}

static void on_ctl_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  static char chunk[4096]; /* one loop thread: a static chunk is safe */
  (void)h;
  buf->base = chunk;
  buf->len = sizeof chunk;
}

static void on_ctl_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  ctl_client *cc = s->data;
  rt *r = cc->r;
  if (nread < 0) {
    ctl_close(cc);
    return;
  }
  for (ssize_t i = 0; i < nread && !cc->closing; i++) {
    char ch = buf->base[i];
    if (ch != '\n') {
      if (cc->len == CTL_LINE_MAX) {
        ctl_answer(cc, err_reply("request longer than 64 KiB", NULL));
        ctl_close(cc);
        break;
      }
      cc->line[cc->len++] = ch;
      continue;
    }
    cc->line[cc->len] = '\0';
    cc->len = 0;
    cJSON *req = cJSON_Parse(cc->line);
    if (!cJSON_IsObject(req)) {
      cJSON_Delete(req);
      ctl_answer(cc, err_reply("request is not a JSON object", NULL));
      ctl_close(cc);
      break;
    }
    ctl_answer(cc, command(r, req));
    cJSON_Delete(req);
  }
  pump(r);
}

static void on_ctl_connection(uv_stream_t *server, int status) {
  rt *r = server->data;
  if (status < 0)
    return;
  ctl_client *cc = calloc(1, sizeof *cc);
  if (!cc)
    return;
  cc->line = malloc(CTL_LINE_MAX + 1);
  cc->r = r;
  uv_pipe_init(&r->loop, &cc->pipe, 0);
  cc->pipe.data = cc;
  if (!cc->line || uv_accept(server, (uv_stream_t *)&cc->pipe) != 0) {
    ctl_close(cc);
    return;
  }
  uv_read_start((uv_stream_t *)&cc->pipe, on_ctl_alloc, on_ctl_read);
}

/* ---- the console ------------------------------------------------------------
 */

static const char console_help[] =
    "commands:\n"
    "  help                 this list\n"
    "  status               this node's counters\n"
    "  peers                the peer table\n"
    "  send ID TEXT         send TEXT to node ID\n"
    "  broadcast TEXT       send TEXT to every peer (and to self)\n"
    "  simulate N           N messages to random peers\n"
    "  quit                 stop the node\n";

static void console_line(rt *r, char *line) {
  char *cmd = strtok(line, " \t");
  if (!cmd)
    return;
  char *rest = strtok(NULL, "");
  cJSON *req = cJSON_CreateObject();
  if (strcmp(cmd, "help") == 0) {
    fputs(console_help, stdout);
    cJSON_Delete(req);
    return;
  }
  if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0)
    cmd = "stop";
  cJSON_AddStringToObject(req, "cmd", cmd);
  if (strcmp(cmd, "send") == 0 && rest) {
    char *to = strtok(rest, " \t");
    char *text = strtok(NULL, "");
    if (to)
      cJSON_AddStringToObject(req, "to", to);
    if (text)
      cJSON_AddStringToObject(req, "text", text);
  } else if (strcmp(cmd, "broadcast") == 0 && rest) {
    cJSON_AddStringToObject(req, "text", rest);
  } else if (strcmp(cmd, "simulate") == 0 && rest) {
    cJSON_AddNumberToObject(req, "count", atof(rest));
  }
  cJSON *ans = command(r, req);
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
  static char chunk[1024];
  (void)h;
  buf->base = chunk;
  buf->len = sizeof chunk;
}

static void on_tty_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  rt *r = s->data;
  if (nread < 0) {
    begin_stop(r); /* end of input: stop, as "quit" */
    pump(r);
    return;
  }
  for (ssize_t i = 0; i < nread; i++) {
    char ch = buf->base[i];
    if (ch == '\n' || r->tty_len == sizeof r->tty_line - 1) {
      r->tty_line[r->tty_len] = '\0';
      r->tty_len = 0;
      console_line(r, r->tty_line);
      if (!r->stopping) {
        printf("%s> ", r->opt->id);
        fflush(stdout);
      }
    } else {
      r->tty_line[r->tty_len++] = ch;
    }
  }
  pump(r);
}

/* ---- start and stop
 * ------------------------------------------------------------ */

/* Closes every handle left at exit, freeing what each one carries. */
static void close_walk(uv_handle_t *h, void *arg) {
  rt *r = arg;
  if (uv_is_closing(h))
    return;
  if (h->type == UV_TCP && h != (uv_handle_t *)&r->listener) {
    conn *c = h->data;
    if (c->linked) {
      c->linked = false;
      r->conns[c->link] = NULL;
    }
    c->closing = true;
    uv_close(h, on_conn_closed);
  } else if (h->type == UV_NAMED_PIPE && h != (uv_handle_t *)&r->ctl) {
    ctl_client *cc = h->data;
    cc->closing = true;
    uv_close(h, on_ctl_closed);
  } else {
    uv_close(h, NULL);
  }
}

static void on_grace(uv_timer_t *t) {
  rt *r = t->data;
  uv_stop(&r->loop);
}

p2pc_node *p2pc_rt_node(p2pc_rt *r) { return r->node; }

uint16_t p2pc_rt_port(const p2pc_rt *r) { return r->port; }

static void begin_stop(rt *r);

void p2pc_rt_stop(p2pc_rt *r, int status) {
  /* Deferred to the end of the turn: the hook may run inside the core. */
  r->status = status;
  r->stop_requested = true;
}

static void begin_stop(rt *r) {
  if (r->stopping)
    return;
  r->stopping = true;
  logline(r, P2PC_LOG_INFO, "node: stopping");
  p2pc_node_shutdown(r->node, now_of(r));
  if (r->tty_open)
    uv_read_stop((uv_stream_t *)&r->tty);
  /* Let the ERROR frames and the last acks go out, then end the loop. */
  uv_timer_start(&r->grace, on_grace, 200, 0);
}

static void on_signal(uv_signal_t *s, int signum) {
  rt *r = s->data;
  logline(r, P2PC_LOG_INFO, "node: %s received", strsignal(signum));
  begin_stop(r);
  pump(r);
}

static void write_lifecycle(rt *r, const char *ev) {
  if (!r->events)
    return;
  p2pc_now now = now_of(r);
  fprintf(r->events,
          "{\"node\":\"%s\",\"ev\":\"%s\",\"mono\":%llu,\"local\":%lld,"
          "\"net\":%lld,\"sesid\":\"%s\",\"version\":\"%s\"",
          r->opt->id, ev, (unsigned long long)now.mono_ns,
          (long long)now.local_ns, (long long)now.local_ns,
          p2pc_causal_self(p2pc_node_causal(r->node)), P2PC_VERSION_STRING);
  if (strcmp(ev, "start") == 0 && r->opt->config_json)
    fprintf(r->events, ",\"config\":%s", r->opt->config_json);
  fputs("}\n", r->events);
  fflush(r->events);
}

static int setup_control(rt *r) {
  const char *path = r->opt->control_path;
  struct stat st;
  /* A socket file left by a node that is gone: replace it. If a live node
   * holds it, connecting succeeds and we refuse to start. */
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      fprintf(stderr,
              "p2pclock node: control path %s exists and is not a "
              "socket\n",
              path);
      return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    bool live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
      close(fd);
    if (live) {
      fprintf(stderr,
              "p2pclock node: another node is running with control "
              "socket %s\n",
              path);
      return -1;
    }
    unlink(path);
  }
  uv_pipe_init(&r->loop, &r->ctl, 0);
  r->ctl.data = r;
  int rv = uv_pipe_bind(&r->ctl, path);
  if (rv == 0)
    rv = uv_listen((uv_stream_t *)&r->ctl, 16, on_ctl_connection);
  if (rv < 0) {
    fprintf(stderr, "p2pclock node: cannot listen on control socket %s: %s\n",
            path, uv_strerror(rv));
    return -1;
  }
  r->ctl_open = true;
  return 0;
}

int p2pc_rt_run(const p2pc_rt_options *opt) {
  rt *r = calloc(1, sizeof *r);
  p2pc_node_seed *seeds = calloc(opt->npeers + 1, sizeof *seeds);
  int status = 1;
  if (!r || !seeds) {
    fprintf(stderr, "p2pclock node: out of memory\n");
    free(r);
    free(seeds);
    return 1;
  }
  r->opt = opt;
  r->readbuf = malloc(READ_CHUNK);
  uv_loop_init(&r->loop);
  signal(SIGPIPE, SIG_IGN);
  p2pc_now now = now_of(r);
  r->start_mono = now.mono_ns;
  r->rng = (uint64_t)now.local_ns ^ ((uint64_t)getpid() << 32) ^ 1;

  p2pc_wire_addr listen;
  struct sockaddr_storage ss;
  if (parse_addr(opt->listen_host, opt->listen_port, &listen, &ss) != 0) {
    fprintf(stderr, "p2pclock node: bad listen address %s\n", opt->listen_host);
    goto out;
  }
  for (size_t i = 0; i < opt->npeers; i++) {
    struct sockaddr_storage ps;
    memcpy(seeds[i].id, opt->peers[i].id, sizeof seeds[i].id);
    if (parse_addr(opt->peers[i].host, opt->peers[i].port, &seeds[i].addr,
                   &ps) != 0) {
      fprintf(stderr, "p2pclock node: bad peer address %s\n",
              opt->peers[i].host);
      goto out;
    }
  }
  if (opt->events_path && *opt->events_path) {
    r->events = fopen(opt->events_path, "a");
    if (!r->events) {
      fprintf(stderr, "p2pclock node: cannot open event log %s: %s\n",
              opt->events_path, strerror(errno));
      goto out;
    }
  }
  uv_tcp_init(&r->loop, &r->listener);
  r->listener.data = r;
  int rv = uv_tcp_bind(&r->listener, (struct sockaddr *)&ss, 0);
  if (rv == 0)
    rv = uv_listen((uv_stream_t *)&r->listener, 128, on_connection);
  if (rv < 0) {
    fprintf(stderr, "p2pclock node: cannot listen on %s:%u: %s\n",
            opt->listen_host, opt->listen_port, uv_strerror(rv));
    goto out_loop;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  if (uv_tcp_getsockname(&r->listener, (struct sockaddr *)&bound, &blen) == 0)
    listen.port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  r->port = listen.port;
  p2pc_node_config nc = {
      .id = opt->id,
      .incarnation = (uint64_t)now.local_ns,
      .seed = r->rng,
      .listen = listen,
      .seeds = seeds,
      .nseeds = (uint32_t)opt->npeers,
      .max_peers = opt->max_peers,
      .chaos_delay_min_ns = (uint64_t)opt->chaos_delay_min_ms * 1000000,
      .chaos_delay_max_ns = (uint64_t)opt->chaos_delay_max_ms * 1000000,
      .chaos_drop = opt->chaos_drop,
  };
  /* No event log: the core then builds no event lines at all. */
  p2pc_node_callbacks cb = {on_deliver, r->events ? on_event : NULL, on_log, r,
                            opt->log_level};
  if (p2pc_node_new(&r->node, &nc, &cb, now) != 0) {
    fprintf(stderr, "p2pclock node: cannot create the node\n");
    goto out_loop;
  }

  if (opt->control_path && *opt->control_path && setup_control(r) != 0)
    goto out_loop;
  uv_timer_init(&r->loop, &r->timer);
  r->timer.data = r;
  uv_timer_init(&r->loop, &r->grace);
  r->grace.data = r;
  uv_signal_init(&r->loop, &r->sigint);
  uv_signal_init(&r->loop, &r->sigterm);
  r->sigint.data = r->sigterm.data = r;
  uv_signal_start(&r->sigint, on_signal, SIGINT);
  uv_signal_start(&r->sigterm, on_signal, SIGTERM);
  if (opt->console && uv_tty_init(&r->loop, &r->tty, 0, 1) == 0) {
    r->tty.data = r;
    r->tty_open = true;
    uv_read_start((uv_stream_t *)&r->tty, on_tty_alloc, on_tty_read);
    printf("p2pclock node %s on %s:%u; type 'help' for commands\n%s> ", opt->id,
           opt->listen_host, r->port, opt->id);
    fflush(stdout);
  }
  write_lifecycle(r, "start");
  if (opt->app && opt->app->started)
    opt->app->started(r, opt->app->ud);
  logline(r, P2PC_LOG_INFO,
          "node: %s listening on %s:%u, %zu peer(s) configured",
          p2pc_causal_self(p2pc_node_causal(r->node)), opt->listen_host,
          r->port, opt->npeers);
  p2pc_node_on_deadline(r->node, now_of(r));
  pump(r);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  write_lifecycle(r, "stop");
  status = r->status;

out_loop:
  if (r->ctl_open)
    unlink(opt->control_path);
  uv_walk(&r->loop, close_walk, r);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  uv_loop_close(&r->loop);
out:
  if (r->events)
    fclose(r->events);
  p2pc_node_free(r->node);
  free(r->conns);
  free(r->readbuf);
  free(seeds);
  free(r);
  return status;
}
