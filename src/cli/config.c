/* SPDX-License-Identifier: MIT */
/*
 * Config resolution for `p2pclock node`: the JSON file (parsed by cJSON)
 * key by key through the option table (options.h), the checks that need
 * the whole config (required values, peers that name this node, pollMin <=
 * pollMax), the defaults and the echo. The flags are read by optargs.c;
 * every value is checked by its row's type in optvalue.c, the same for
 * the file and the flags.
 */
#include "config.h"

#include "causal.h"
#include "optvalue.h"
#include <p2pclock/node.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cJSON.h"

typedef p2pc__err err_out;
#define set_err p2pc__err_set

/* ---- the config file ----------------------------------------------------- */

/* Reads the whole file, NUL-terminated, refusing more than FILE_MAX bytes. */
static int read_file(const char *path, char **out, size_t *outlen, err_out *e) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    int er = errno;
    set_err(e, "%s: cannot open: %s", path, strerror(er));
    return er ? -er : P2PC_ERR_INVAL;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  int rc = 0;
  if (!buf)
    goto nomem;
  for (;;) {
    if (len + 1 == cap) {
      if (cap > P2PC_CLI_FILE_MAX) {
        set_err(e, "%s: file is larger than %d bytes", path, P2PC_CLI_FILE_MAX);
        rc = P2PC_ERR_INVAL;
        goto err;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb)
        goto nomem;
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + len, 1, cap - 1 - len, f);
    len += got;
    if (got == 0) {
      if (ferror(f)) {
        int er = errno;
        set_err(e, "%s: cannot read: %s", path, strerror(er));
        rc = er ? -er : P2PC_ERR_INVAL;
        goto err;
      }
      break;
    }
  }
  if (len > P2PC_CLI_FILE_MAX) {
    set_err(e, "%s: file is larger than %d bytes", path, P2PC_CLI_FILE_MAX);
    rc = P2PC_ERR_INVAL;
    goto err;
  }
  fclose(f);
  buf[len] = '\0';
  *out = buf;
  *outlen = len;
  return 0;
nomem:
  set_err(e, "%s: out of memory", path);
  rc = P2PC_ERR_NOMEM;
err:
  free(buf);
  fclose(f);
  return rc;
}

/* Names where text[0..len) stops being JSON: a line and a byte column.
 * cJSON's error position can be one past the offending byte, and for a
 * truncated file it is the end; either way the last byte that is not
 * white space is the best place to point at. */
static int bad_json(const char *path, const char *text, size_t len, size_t pos,
                    err_out *e) {
  int line = 1, col = 1;
  if (pos >= len) {
    while (len > 0 && strchr(" \t\r\n", text[len - 1]))
      len--;
    pos = len ? len - 1 : 0;
  }
  for (size_t i = 0; i < pos; i++) {
    if (text[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  set_err(e, "%s: invalid JSON at line %d, column %d", path, line, col);
  return P2PC_ERR_INVAL;
}

static const char *key_name(const void *ctx, size_t i) {
  return ((const p2pc_cli_option *)ctx)[i].key;
}

/* Applies the file at path on top of cfg. */
int p2pc__config_apply_file(p2pc_cli_config *cfg, const char *path,
                            p2pc__err *e) {
  char *text = NULL;
  size_t len = 0;
  int rc = read_file(path, &text, &len, e);
  if (rc < 0)
    return rc;
  cJSON *root = NULL;
  size_t skip = 0;
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    skip = 3; /* a UTF-8 byte order mark, as some editors write */
  const char *nul = memchr(text, '\0', len);
  if (nul) {
    rc =
        bad_json(path, text + skip, len - skip, (size_t)(nul - text) - skip, e);
    goto out;
  }
  if (strspn(text + skip, " \t\r\n") == len - skip) {
    set_err(e, "%s: file is empty, expected a JSON object", path);
    rc = P2PC_ERR_INVAL;
    goto out;
  }
  const char *end = NULL;
  /* Length includes the NUL so cJSON can check nothing follows the value. */
  root = cJSON_ParseWithLengthOpts(text + skip, len - skip + 1, &end, 1);
  if (!root) {
    if (!end)
      end = text + skip;
    rc =
        bad_json(path, text + skip, len - skip, (size_t)(end - text) - skip, e);
    goto out;
  }
  if (!cJSON_IsObject(root)) {
    char shown[P2PC__VALUE_BUF];
    p2pc__show_json(root, shown, sizeof shown);
    set_err(e, "%s: must hold a JSON object, got %s", path, shown);
    rc = P2PC_ERR_INVAL;
    goto out;
  }
  /* The first failure wins; every known key is looked at once, so a file
   * of many keys fails at its first unknown or repeated one. */
  size_t nrows;
  const p2pc_cli_option *rows = p2pc_cli_options(&nrows);
  bool seen[P2PC_CLI_OPTIONS_MAX] = {false};
  for (const cJSON *v = root->child; v; v = v->next) {
    const p2pc_cli_option *o = p2pc_cli_option_by_key(v->string);
    if (!o) {
      const char *near = p2pc__suggest(v->string, key_name, rows, nrows);
      char shown[P2PC__VALUE_BUF];
      p2pc__show_string(v->string, shown, sizeof shown);
      if (near)
        set_err(e, "%s: unknown key %s (did you mean \"%s\"?)", path, shown,
                near);
      else
        set_err(e, "%s: unknown key %s", path, shown);
      rc = P2PC_ERR_INVAL;
      goto out;
    }
    size_t k = (size_t)(o - rows);
    if (k < sizeof seen && seen[k]) {
      set_err(e, "%s: \"%s\" appears twice", path, o->key);
      rc = P2PC_ERR_INVAL;
      goto out;
    }
    if (k < sizeof seen)
      seen[k] = true;
    rc = p2pc__opt_from_json(cfg, o, v, path, e);
    if (rc < 0)
      goto out;
  }
  rc = 0;
out:
  cJSON_Delete(root);
  free(text);
  return rc;
}

/* ---- checks that need the whole config ----------------------------------- */

/* A peer as --peer would take it: [ID@]HOST:PORT, IPv6 in brackets. */
static void show_peer(const p2pc_cli_peer *p, bool with_id, char *out,
                      size_t n) {
  bool v6 = strchr(p->host, ':') != NULL;
  bool id = with_id && p->id[0];
  snprintf(out, n, "%s%s%s%s%s:%u", id ? p->id : "", id ? "@" : "",
           v6 ? "[" : "", p->host, v6 ? "]" : "", (unsigned)p->port);
}

/* A peer that conflicts with this node or an earlier peer; what is about
 * its ID or its address. */
static int bad_peer(const char *file, bool from_flags, size_t i, bool id,
                    const char *what, const p2pc_cli_peer *p, err_out *e) {
  char shown[P2PC_ID_MAX + P2PC_CLI_HOST_MAX + 16];
  show_peer(p, from_flags, shown, sizeof shown);
  if (from_flags)
    set_err(e, "--peer: %s, got \"%s\"", what, shown);
  else if (id)
    set_err(e, "%s: \"connectTo[%zu].nodeID\" %s, got \"%s\"", file, i, what,
            p->id);
  else
    set_err(e, "%s: \"connectTo[%zu]\" %s, got \"%s\"", file, i, what, shown);
  return P2PC_ERR_INVAL;
}

/* pollMin > pollMax: blames a flag before the file (the flag is what the
 * user typed last), and pollMin before pollMax. */
static int bad_poll_order(const p2pc_cli_config *cfg, const char *file,
                          err_out *e) {
  bool blame_min = cfg->poll_min_src == 2 ||
                   (cfg->poll_max_src != 2 && cfg->poll_min_src == 1);
  uint8_t src = blame_min ? cfg->poll_min_src : cfg->poll_max_src;
  const char *what =
      blame_min ? "must not exceed pollMax" : "must not be below pollMin";
  int other = blame_min ? cfg->poll_max : cfg->poll_min;
  int got = blame_min ? cfg->poll_min : cfg->poll_max;
  if (src == 2 || !file)
    set_err(e, "--%s: %s (%d), got \"%d\"", blame_min ? "poll-min" : "poll-max",
            what, other, got);
  else
    set_err(e, "%s: \"%s\" %s (%d), got %d", file,
            blame_min ? "pollMin" : "pollMax", what, other, got);
  return P2PC_ERR_INVAL;
}

int p2pc__config_finish(p2pc_cli_config *cfg, const char *file,
                        bool peers_flags, p2pc__err *e) {
  if (!cfg->id[0]) {
    if (file)
      set_err(e, "%s: \"nodeID\" is required (or give --id)", file);
    else
      set_err(e, "--id is required (or --config FILE with \"nodeID\")");
    return P2PC_ERR_INVAL;
  }
  if (!cfg->listen_port) {
    if (file)
      set_err(e, "%s: \"nodePort\" is required (or give --listen HOST:PORT)",
              file);
    else
      set_err(e, "--listen HOST:PORT is required (or --config FILE with "
                 "\"nodePort\")");
    return P2PC_ERR_INVAL;
  }
  if (!cfg->control[0])
    p2pc_cli_control_default(cfg->control, sizeof cfg->control, cfg->id);
  if (!cfg->time_port)
    cfg->time_port = cfg->listen_port;
  if (cfg->poll_min > cfg->poll_max)
    return bad_poll_order(cfg, file, e);
  if (cfg->npeers > cfg->max_peers) {
    if (peers_flags)
      set_err(e, "--peer: given %zu times, more than maxPeers %u", cfg->npeers,
              (unsigned)cfg->max_peers);
    else
      set_err(e, "%s: \"connectTo\" has %zu entries, more than maxPeers %u",
              file, cfg->npeers, (unsigned)cfg->max_peers);
    return P2PC_ERR_INVAL;
  }
  for (size_t i = 0; i < cfg->npeers; i++) {
    const p2pc_cli_peer *p = &cfg->peers[i];
    if (p->id[0] && strcmp(p->id, cfg->id) == 0)
      return bad_peer(file, peers_flags, i, true, "is this node's own ID", p,
                      e);
    if (p->port == cfg->listen_port &&
        strcasecmp(p->host, cfg->listen_host) == 0)
      return bad_peer(file, peers_flags, i, false, "is this node's own address",
                      p, e);
    for (size_t j = 0; j < i; j++) {
      const p2pc_cli_peer *q = &cfg->peers[j];
      if (p->id[0] && strcmp(p->id, q->id) == 0)
        return bad_peer(file, peers_flags, i, true,
                        "repeats the ID of an earlier peer", p, e);
      if (p->port == q->port && strcasecmp(p->host, q->host) == 0)
        return bad_peer(file, peers_flags, i, false,
                        "repeats the address of an earlier peer", p, e);
    }
  }
  return 0;
}

/* ---- public -------------------------------------------------------------- */

void p2pc_cli_config_init(p2pc_cli_config *cfg) {
  /* The library's defaults (p2pc_settings_default), in the command's
   * units. */
  p2pc_settings d;
  p2pc_settings_default(&d);
  memset(cfg, 0, sizeof *cfg);
  snprintf(cfg->listen_host, sizeof cfg->listen_host, "%s",
           P2PC_CLI_DEFAULT_HOST);
  cfg->log_level = P2PC_CLI_LOG_INFO;
  cfg->max_peers = d.max_peers;
  cfg->causal_lifetime_ns = d.causal_lifetime_ns;
  cfg->time_sync = d.clock.enabled;
  cfg->secure = true; /* links in clear only with --open */
  cfg->clock_mode = P2PC_CLI_CLOCK_REFERENCE;
  cfg->priority = d.clock.priority;
  cfg->clock_class = d.clock.clock_class;
  cfg->poll_min = d.clock.poll_min;
  cfg->poll_max = d.clock.poll_max;
  cfg->max_slew_ppm = d.clock.max_slew * 1e6;
  cfg->step_threshold_s = (double)d.clock.step_threshold_ns / 1e9;
  cfg->max_ondemand = d.max_ondemand;
  cfg->max_sessions = d.max_sessions;
  cfg->ondemand_idle_ns = d.ondemand_idle_ns;
  cfg->probe_interval_ns = d.probe_interval_ns;
  cfg->probe_timeout_ns = d.probe_timeout_ns;
  cfg->passive_max = d.passive_max;
  cfg->peers_sample = d.peers_sample;
  cfg->shuffle_interval_ns = d.shuffle_interval_ns;
}

void p2pc_cli_config_fini(p2pc_cli_config *cfg) {
  free(cfg->peers);
  cfg->peers = NULL;
  cfg->npeers = 0;
  cfg->peers_cap = 0;
}

int p2pc_cli_config_load(p2pc_cli_config *cfg, const char *path, char *err,
                         size_t errlen) {
  err_out e = {err, errlen};
  p2pc_cli_config_init(cfg);
  int rc = p2pc__config_apply_file(cfg, path, &e);
  if (rc == 0)
    rc = p2pc__config_finish(cfg, path, false, &e);
  if (rc < 0)
    p2pc_cli_config_fini(cfg);
  return rc;
}

void p2pc_cli_control_default(char *buf, size_t n, const char *id) {
  snprintf(buf, n, "/tmp/p2pclock-%s.sock", id);
}

char *p2pc_cli_config_json(const p2pc_cli_config *cfg) {
  size_t n;
  const p2pc_cli_option *rows = p2pc_cli_options(&n);
  char *out = NULL;
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL;
  for (size_t i = 0; ok && i < n; i++)
    ok = p2pc__opt_to_json(cfg, &rows[i], o);
  if (ok)
    out = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return out;
}
