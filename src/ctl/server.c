/* SPDX-License-Identifier: MIT */
/*
 * The control-socket server (server.h): the Unix socket, its clients'
 * line buffers and answers, and the command handlers. Moved out of the
 * runtime unchanged in behaviour; everything it needs of the running node
 * comes through p2pc_ctl_host.
 */
#include "server.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_LINE_MAX (64 * 1024)
/* The virtual clock's bounds (the runtime checks them again). */
#define VCLOCK_OFFSET_MAX 1e6
#define VCLOCK_DRIFT_MAX 1000.0

typedef struct ctl_client {
  uv_pipe_t pipe;
  p2pc_ctl_server *s;
  char *line;
  size_t len;
  bool closing;
  struct ctl_client *prev, *next;
} ctl_client;

struct p2pc_ctl_server {
  p2pc_ctl_host h;
  uv_loop_t *loop;
  uv_pipe_t pipe;
  bool listening;
  bool closing;
  char *path; /* the socket file, removed at close */
  uint64_t rng;
  unsigned handles; /* open handles: the listener and every client */
  ctl_client *clients;
  char chunk[4096]; /* every read lands here before it is split in lines */
};

static p2pc_node *node_of(p2pc_ctl_server *s) { return s->h.node(s->h.ud); }

static p2pc_now now_of(p2pc_ctl_server *s) { return s->h.now(s->h.ud); }

static void logline(p2pc_ctl_server *s, p2pc_log_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logline(p2pc_ctl_server *s, p2pc_log_level lv, const char *fmt,
                    ...) {
  if (!s->h.logger.log || lv > s->h.logger.level)
    return;
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  s->h.logger.log(s->h.logger.ud, lv, text);
}

/* ---- commands (control socket and console) -------------------------------
 */

static uint64_t rt_rand(p2pc_ctl_server *s) {
  s->rng ^= s->rng << 13;
  s->rng ^= s->rng >> 7;
  s->rng ^= s->rng << 17;
  return s->rng;
}

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
    return "back-pressure: too much unacknowledged data for that peer, or "
           "the causal layer's caps (entries per message, messages not yet "
           "known delivered) are reached; try again later";
  case P2PC_ERR_TOOBIG:
    return "message too big";
  default:
    return p2pc_strerror(rv);
  }
}

static int simulate(p2pc_ctl_server *s, int count) {
  int sent = 0;
  p2pc_node *n = node_of(s);
  uint32_t np = p2pc_node_peer_count(n);
  for (int i = 0; i < count && np; i++) {
    p2pc_peer_info pi;
    uint32_t k = (uint32_t)(rt_rand(s) % np);
    if (!p2pc_node_peer_info(n, k, &pi) || pi.incarnation == 0)
      continue;
    char text[96];
    snprintf(text, sizeof text, "Hello from %s (%d)", s->h.id, i + 1);
    if (p2pc_node_send(n, pi.id, (const uint8_t *)text, strlen(text), now_of(s),
                       NULL) == 0)
      sent++;
  }
  return sent;
}

/* An int64 printed exactly: ns since 1970 do not fit a double's 53 bits. */
static void add_i64(cJSON *o, const char *key, int64_t v) {
  char b[24];
  snprintf(b, sizeof b, "%lld", (long long)v);
  cJSON_AddRawToObject(o, key, b);
}

static void add_str_or_null(cJSON *o, const char *key, const char *s) {
  if (s && s[0])
    cJSON_AddStringToObject(o, key, s);
  else
    cJSON_AddNullToObject(o, key);
}

static void add_vclock(p2pc_ctl_server *s, cJSON *o) {
  double off, drift;
  if (!s->h.vclock_get(s->h.ud, &off, &drift)) {
    cJSON_AddNullToObject(o, "virtual_clock");
    return;
  }
  cJSON *v = cJSON_AddObjectToObject(o, "virtual_clock");
  cJSON_AddNumberToObject(v, "offset_s", off);
  cJSON_AddNumberToObject(v, "drift_ppm", drift);
}

static void add_tracking(p2pc_ctl_server *s, cJSON *o) {
  p2pc_tracking t;
  p2pc_node_tracking(node_of(s), now_of(s), &t);
  cJSON_AddStringToObject(o, "mode", p2pc_clock_mode_name(t.mode));
  cJSON_AddBoolToObject(o, "synced", t.synced);
  cJSON_AddBoolToObject(o, "reference", t.is_reference);
  add_str_or_null(o, "ref", t.ref);
  add_str_or_null(o, "source", t.source);
  cJSON_AddNumberToObject(o, "stratum", t.stratum);
  cJSON_AddNumberToObject(o, "hops", t.hops);
  add_i64(o, "local_ns", t.local_ns);
  add_i64(o, "net_ns", t.net_ns);
  cJSON_AddNumberToObject(o, "offset_ns", t.offset_ns);
  cJSON_AddNumberToObject(o, "freq_ppm", t.freq_ppm);
  cJSON_AddNumberToObject(o, "skew_ppm", t.skew_ppm);
  cJSON_AddNumberToObject(o, "err_ns", t.err_ns);
  cJSON_AddNumberToObject(o, "pending_ns", t.pending_ns);
  cJSON_AddNumberToObject(o, "last_adj_ns", t.last_adj_ns);
  add_i64(o, "since_update_ns", t.since_update_ns);
  cJSON_AddNumberToObject(o, "steps", t.steps);
  cJSON_AddNumberToObject(o, "updates", t.updates);
  cJSON_AddNumberToObject(o, "sources", t.sources);
  cJSON_AddNumberToObject(o, "truechimers", t.truechimers);
  cJSON *c = cJSON_AddObjectToObject(o, "counters");
  cJSON_AddNumberToObject(c, "rx", (double)t.c.rx);
  cJSON_AddNumberToObject(c, "tx", (double)t.c.tx);
  cJSON_AddNumberToObject(c, "rx_malformed", (double)t.c.rx_malformed);
  cJSON_AddNumberToObject(c, "rx_mode", (double)t.c.rx_mode);
  cJSON_AddNumberToObject(c, "rx_bogus", (double)t.c.rx_bogus);
  cJSON_AddNumberToObject(c, "rx_replay", (double)t.c.rx_replay);
  cJSON_AddNumberToObject(c, "answered", (double)t.c.answered);
  cJSON_AddNumberToObject(c, "answered_std", (double)t.c.answered_std);
  cJSON_AddNumberToObject(c, "tx_dropped", (double)t.c.tx_dropped);
  cJSON_AddNumberToObject(c, "filtered", (double)t.c.filtered);
  p2pc_ctl_io io;
  memset(&io, 0, sizeof io);
  s->h.io(s->h.ud, &io);
  cJSON_AddStringToObject(o, "timestamping",
                          io.timestamping ? io.timestamping : "none");
  cJSON_AddNumberToObject(o, "time_port", io.time_port);
  /* The runtime's own view of the socket: which stamps it really got. */
  cJSON *st = cJSON_AddObjectToObject(o, "stamps");
  cJSON_AddNumberToObject(st, "rx_kernel", (double)io.rx_kernel);
  cJSON_AddNumberToObject(st, "rx_user", (double)io.rx_user);
  cJSON_AddNumberToObject(st, "tx_kernel", (double)io.tx_kernel);
  cJSON_AddNumberToObject(st, "tx", (double)io.tx);
  cJSON_AddNumberToObject(st, "tx_timed", (double)io.tx_timed);
  cJSON_AddNumberToObject(st, "tx_errors", (double)io.tx_errors);
  cJSON_AddNumberToObject(st, "poll_errors", (double)io.poll_errors);
  add_vclock(s, o);
}

static void add_sources(p2pc_ctl_server *s, cJSON *o) {
  cJSON *arr = cJSON_AddArrayToObject(o, "sources");
  p2pc_node *n = node_of(s);
  uint32_t cnt = p2pc_node_source_count(n);
  for (uint32_t i = 0; i < cnt; i++) {
    p2pc_source_info si;
    if (!p2pc_node_source_info(n, i, now_of(s), &si))
      continue;
    cJSON *p = cJSON_CreateObject();
    char as[80];
    p2pc_node_addr_format(&si.addr, as, sizeof as);
    cJSON_AddStringToObject(p, "id", si.id);
    cJSON_AddStringToObject(p, "addr", as);
    cJSON_AddNumberToObject(p, "reach", si.reach);
    cJSON_AddNumberToObject(p, "poll", si.poll);
    cJSON_AddNumberToObject(p, "samples", si.samples);
    cJSON_AddBoolToObject(p, "synced", si.synced);
    add_str_or_null(p, "ref", si.ref);
    cJSON_AddNumberToObject(p, "hops", si.hops);
    cJSON_AddNumberToObject(p, "offset_ns", si.offset_ns);
    cJSON_AddNumberToObject(p, "raw_offset_ns", si.raw_offset_ns);
    cJSON_AddNumberToObject(p, "freq_ppm", si.freq_ppm);
    cJSON_AddNumberToObject(p, "skew_ppm", si.skew_ppm);
    add_i64(p, "delay_ns", si.delay_ns);
    add_i64(p, "min_delay_ns", si.min_delay_ns);
    cJSON_AddNumberToObject(p, "jitter_ns", si.jitter_ns);
    cJSON_AddNumberToObject(p, "err_ns", si.err_ns);
    cJSON_AddBoolToObject(p, "interleaved", si.interleaved);
    cJSON_AddBoolToObject(p, "kernel", si.kernel);
    cJSON_AddStringToObject(p, "state", si.state ? si.state : "?");
    add_i64(p, "last_sample_ago_ns", si.last_sample_ago_ns);
    cJSON_AddItemToArray(arr, p);
  }
}

/* {"cmd":"vclock","step_s":X,"drift_ppm":Y}: NULL and the answer filled,
 * or the error text. */
static const char *vclock_command(p2pc_ctl_server *s, const cJSON *req,
                                  cJSON *o) {
  const cJSON *step = cJSON_GetObjectItemCaseSensitive(req, "step_s");
  const cJSON *drift = cJSON_GetObjectItemCaseSensitive(req, "drift_ppm");
  double off, drift_ppm;
  if (!s->h.vclock_get(s->h.ud, &off, &drift_ppm))
    return "this node has no virtual clock (start it with --clock-offset "
           "or --clock-drift)";
  if (step &&
      !(cJSON_IsNumber(step) && fabs(step->valuedouble) <= VCLOCK_OFFSET_MAX))
    return "vclock: \"step_s\" must be a number of seconds, -1e6..1e6";
  if (drift &&
      !(cJSON_IsNumber(drift) && fabs(drift->valuedouble) <= VCLOCK_DRIFT_MAX))
    return "vclock: \"drift_ppm\" must be a number of ppm, -1000..1000";
  if (s->h.vclock_adjust(s->h.ud, step != NULL, step ? step->valuedouble : 0,
                         drift != NULL, drift ? drift->valuedouble : 0) < 0)
    return "vclock: the offset would leave -1e6..1e6 s";
  char what[64] = "";
  if (step)
    snprintf(what, sizeof what, "stepped by %+.9f s, ", step->valuedouble);
  if (step || drift) {
    s->h.vclock_get(s->h.ud, &off, &drift_ppm);
    logline(s, P2PC_LOG_INFO,
            "time: virtual clock %soffset now %+.9f s, drift %+.3f ppm", what,
            off, drift_ppm);
  }
  add_vclock(s, o);
  return NULL;
}

static void add_status(p2pc_ctl_server *s, cJSON *o) {
  p2pc_causal_stats st;
  p2pc_node *n = node_of(s);
  const p2pc_causal *cz = p2pc_node_causal(n);
  p2pc_causal_get_stats(cz, &st);
  char listen[300];
  snprintf(listen, sizeof listen, "%s:%u", s->h.listen_host,
           s->h.port(s->h.ud));
  cJSON_AddStringToObject(o, "id", s->h.id);
  cJSON_AddStringToObject(o, "sesid", p2pc_causal_self(cz));
  cJSON_AddStringToObject(o, "listen", listen);
  cJSON_AddStringToObject(o, "version", P2PC_VERSION_STRING);
  cJSON_AddNumberToObject(o, "uptime_ms",
                          (double)((uv_hrtime() - s->h.start_mono) / 1000000));
  cJSON_AddNumberToObject(o, "peers_known", p2pc_node_peer_count(n));
  cJSON_AddNumberToObject(o, "peers_up", p2pc_node_up_count(n));
  cJSON_AddNumberToObject(o, "sent", (double)st.sent);
  cJSON_AddNumberToObject(o, "delivered", (double)s->h.delivered(s->h.ud));
  cJSON_AddNumberToObject(o, "buffered", p2pc_causal_buffered(cz));
  cJSON_AddNumberToObject(o, "duplicates", (double)st.duplicates);
  cJSON_AddNumberToObject(o, "undeliverable",
                          (double)p2pc_node_undeliverable(n));
  /* The causal layer's state and retirement counters (CONTROL.md). */
  cJSON_AddNumberToObject(o, "entries", p2pc_causal_pairs(cz));
  cJSON_AddNumberToObject(o, "entries_max", st.deps_max);
  cJSON_AddNumberToObject(o, "causal_bytes",
                          (double)p2pc_causal_state_bytes(cz));
  cJSON_AddNumberToObject(o, "expired_tx", (double)st.expired_tx);
  cJSON_AddNumberToObject(o, "expired_rx", (double)st.expired_rx);
  cJSON_AddNumberToObject(o, "expired_deps", (double)st.expired_deps);
  cJSON_AddNumberToObject(o, "stable_deps", (double)st.stable_deps);
}

static void add_peers(p2pc_ctl_server *s, cJSON *o) {
  p2pc_node *n = node_of(s);
  cJSON *arr = cJSON_AddArrayToObject(o, "peers");
  for (uint32_t i = 0; i < p2pc_node_peer_count(n); i++) {
    p2pc_peer_info pi;
    if (!p2pc_node_peer_info(n, i, &pi))
      continue;
    cJSON *p = cJSON_CreateObject();
    char as[300], inc[24];
    s->h.format_addr(s->h.ud, &pi.addr, as, sizeof as);
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
}

/* send / broadcast: NULL and the answer filled, or the error reply. */
static cJSON *send_command(p2pc_ctl_server *s, const cJSON *req, bool bc,
                           cJSON *o) {
  const cJSON *to = cJSON_GetObjectItemCaseSensitive(req, "to");
  const cJSON *text = cJSON_GetObjectItemCaseSensitive(req, "text");
  if (!cJSON_IsString(text) || (!bc && !cJSON_IsString(to)))
    return err_reply(bc ? "broadcast needs \"text\""
                        : "send needs \"to\" and \"text\"",
                     NULL);
  p2pc_node *n = node_of(s);
  const uint8_t *p = (const uint8_t *)text->valuestring;
  size_t len = strlen(text->valuestring);
  int rv = bc ? p2pc_node_broadcast(n, p, len, now_of(s), NULL)
              : p2pc_node_send(n, to->valuestring, p, len, now_of(s), NULL);
  if (rv < 0)
    return err_reply("", send_error(rv));
  if (bc) {
    cJSON_AddNumberToObject(o, "peers", rv);
  } else {
    char msg[120];
    snprintf(msg, sizeof msg, "%s:%llu", p2pc_causal_self(p2pc_node_causal(n)),
             (unsigned long long)p2pc_causal_sent(p2pc_node_causal(n)));
    cJSON_AddStringToObject(o, "msg", msg);
  }
  return NULL;
}

cJSON *p2pc_ctl_server_command(p2pc_ctl_server *s, const cJSON *req) {
  const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
  if (!cJSON_IsString(cmd))
    return err_reply("request has no \"cmd\" string", NULL);
  const char *name = cmd->valuestring;
  cJSON *o = cJSON_CreateObject();
  cJSON *err = NULL;
  cJSON_AddBoolToObject(o, "ok", 1);
  if (strcmp(name, "status") == 0) {
    add_status(s, o);
  } else if (strcmp(name, "peers") == 0) {
    add_peers(s, o);
  } else if (strcmp(name, "send") == 0 || strcmp(name, "broadcast") == 0) {
    err = send_command(s, req, name[0] == 'b', o);
  } else if (strcmp(name, "simulate") == 0) {
    const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(req, "count");
    if (!cJSON_IsNumber(cnt) || cnt->valuedouble < 1 ||
        cnt->valuedouble > 100000)
      err = err_reply("simulate needs \"count\" 1..100000", NULL);
    else
      cJSON_AddNumberToObject(o, "sent", simulate(s, (int)cnt->valuedouble));
  } else if (strcmp(name, "tracking") == 0) {
    add_tracking(s, o);
  } else if (strcmp(name, "sources") == 0) {
    add_sources(s, o);
  } else if (strcmp(name, "vclock") == 0) {
    const char *e = vclock_command(s, req, o);
    if (e)
      err = err_reply(e, NULL);
  } else if (strcmp(name, "stop") == 0) {
    s->h.stop(s->h.ud);
  } else {
    err = err_reply("unknown command: ", name);
  }
  if (err) {
    cJSON_Delete(o);
    return err;
  }
  return o;
}

/* ---- the socket ------------------------------------------------------------
 */

static void server_unref(p2pc_ctl_server *s) {
  if (--s->handles == 0 && s->closing) {
    free(s->path);
    free(s);
  }
}

static void on_ctl_closed(uv_handle_t *h) {
  ctl_client *cc = h->data;
  p2pc_ctl_server *s = cc->s;
  if (cc->prev)
    cc->prev->next = cc->next;
  else
    s->clients = cc->next;
  if (cc->next)
    cc->next->prev = cc->prev;
  free(cc->line);
  free(cc);
  server_unref(s);
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
  ctl_client *cc = h->data;
  buf->base = cc->s->chunk; /* one loop thread: one chunk is enough */
  buf->len = sizeof cc->s->chunk;
}

static void on_ctl_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  ctl_client *cc = st->data;
  p2pc_ctl_server *s = cc->s;
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
    ctl_answer(cc, p2pc_ctl_server_command(s, req));
    cJSON_Delete(req);
  }
  s->h.flush(s->h.ud);
}

static void on_ctl_connection(uv_stream_t *server, int status) {
  p2pc_ctl_server *s = server->data;
  if (status < 0 || s->closing)
    return;
  ctl_client *cc = calloc(1, sizeof *cc);
  if (!cc)
    return;
  cc->line = malloc(CTL_LINE_MAX + 1);
  cc->s = s;
  uv_pipe_init(s->loop, &cc->pipe, 0);
  cc->pipe.data = cc;
  s->handles++;
  cc->next = s->clients;
  if (cc->next)
    cc->next->prev = cc;
  s->clients = cc;
  if (!cc->line || uv_accept(server, (uv_stream_t *)&cc->pipe) != 0) {
    ctl_close(cc);
    return;
  }
  uv_read_start((uv_stream_t *)&cc->pipe, on_ctl_alloc, on_ctl_read);
}

int p2pc_ctl_server_new(p2pc_ctl_server **out, uv_loop_t *loop,
                        const p2pc_ctl_host *host, uint64_t seed) {
  p2pc_ctl_server *s = calloc(1, sizeof *s);
  if (!s)
    return P2PC_ERR_NOMEM;
  s->h = *host;
  s->loop = loop;
  s->rng = seed ? seed : 1;
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
  for (ctl_client *cc = s->clients; cc; cc = cc->next)
    ctl_close(cc);
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
