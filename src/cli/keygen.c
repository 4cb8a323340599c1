/* SPDX-License-Identifier: MIT */
/*
 * The keygen command of keygen.h: its flags, their combinations, and the
 * lines it prints around the key files of keyfile.c. Public keys and a
 * cluster key asked for on stdout are the only key material it prints.
 */
#include "keygen.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "args.h"
#include "idtab.h"
#include "keyfile.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

typedef struct keygen_opts {
  const char *key, *id, *out, *show;
  bool force, cluster;
} keygen_opts;

static bool parse_id(const p2pc_args_opt *o, const char *v, void *dst) {
  if (!p2pc_id_valid(v, strlen(v)))
    return false;
  *(const char **)(void *)((char *)dst + o->offset) = v;
  return true;
}

static const p2pc_args_opt keygen_flags[] = {
    {"key", "FILE", offsetof(keygen_opts, key), p2pc_args_text, 0, 0,
     "must be a file name", "the identity key file to create"},
    {"id", "ID", offsetof(keygen_opts, id), parse_id, 0, 0,
     "must be 1..64 characters of [A-Za-z0-9._-]",
     "create the default identity key file of node ID:\n"
     "/var/lib/p2pclock/ID.key as root, else\n"
     "$XDG_STATE_HOME/p2pclock/ID.key\n"
     "(~/.local/state/p2pclock/ID.key)"},
    {"force", NULL, offsetof(keygen_opts, force), NULL, 0, 0, NULL,
     "replace an existing key file (says so first)"},
    {"cluster", NULL, offsetof(keygen_opts, cluster), NULL, 0, 0, NULL,
     "print a new cluster key (44 characters of base64)"},
    {"out", "FILE", offsetof(keygen_opts, out), p2pc_args_text, 0, 0,
     "must be a file name",
     "with --cluster: write the cluster key to FILE instead"},
    {"show", "FILE", offsetof(keygen_opts, show), p2pc_args_text, 0, 0,
     "must be a file name",
     "print the public key of the identity key file FILE"},
};

static const p2pc_args_cmd keygen_cmd = {
    "keygen", keygen_flags, sizeof keygen_flags / sizeof keygen_flags[0], 0, 0};

static const char usage_line[] =
    "usage: p2pclock keygen [--key FILE | --id ID] [--force] | --cluster "
    "[--out FILE [--force]] | --show FILE\n";

static const char about[] =
    "create a node's identity key, or a cluster key.\n"
    "\n"
    "An identity key is an Ed25519 key pair, kept as its 32-byte seed in a\n"
    "file of one line, \"p2pclock-identity-v1 ed25519 BASE64\", mode 0600,\n"
    "written atomically (missing directories are made 0700); keygen prints\n"
    "its public key, 44 characters of base64, on stdout. An existing file\n"
    "is refused unless --force. A cluster key is 32 random bytes, printed\n"
    "as base64, or written to a file \"p2pclock-cluster-v1 BASE64\" with\n"
    "--out. A key file is read (--show) only if it is a regular file (a\n"
    "symbolic link is followed) owned by this user and neither readable\n"
    "nor writable by group or others. A node uses them with --key and\n"
    "--cluster-key-file; the public key goes in --allowlist files\n"
    "(docs/SECURITY.md).\n"
    "\n";

static const char exit_text[] =
    "\n"
    "Exit status: 0 ok, 1 the file exists, is unsafe or malformed, or\n"
    "cannot be written, 2 usage.\n";

static int print_help(void) {
  fputs(usage_line, stdout);
  fputs(about, stdout);
  p2pc_args_help(stdout, &keygen_cmd);
  fputs(exit_text, stdout);
  return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* Writes line to stdout and flushes. Returns the exit status. */
static int put_line(const char *line) {
  if (printf("%s\n", line) < 0 || fflush(stdout) != 0) {
    fprintf(stderr, "p2pclock keygen: cannot write: %s\n", strerror(errno));
    return EXIT_FAIL;
  }
  return EXIT_OK;
}

/* "replacing the ... PATH" when --force will replace something. */
static void say_replacing(const char *what, const char *path) {
  struct stat st;
  if (lstat(path, &st) == 0)
    fprintf(stderr, "p2pclock keygen: replacing the %s %s\n", what, path);
}

/* The exit status of a key file failure rc, its message err told. */
static int key_failed(int rc, const char *err) {
  if (rc == -EEXIST)
    fprintf(stderr, "p2pclock keygen: %s (--force replaces it)\n", err);
  else
    fprintf(stderr, "p2pclock keygen: %s\n", err);
  return EXIT_FAIL;
}

static int run_cluster(const keygen_opts *o) {
  unsigned char key[P2PC_KEY_BYTES];
  char err[P2PC_KEY_ERR_LEN];
  int status = EXIT_OK;
  if (p2pc_cli_cluster_key_generate(key) < 0) {
    fprintf(stderr, "p2pclock keygen: libsodium could not start\n");
    return EXIT_FAIL;
  }
  if (o->out) {
    if (o->force)
      say_replacing("cluster key", o->out);
    int rc = p2pc_cli_cluster_key_write(o->out, o->force, key, err, sizeof err);
    if (rc < 0)
      status = key_failed(rc, err);
    else
      fprintf(stderr, "p2pclock keygen: wrote cluster key %s\n", o->out);
  } else {
    char b64[P2PC_KEY_B64_LEN + 1];
    p2pc_cli_key_b64(key, b64);
    status = put_line(b64);
    sodium_memzero(b64, sizeof b64);
  }
  sodium_memzero(key, sizeof key);
  return status;
}

/* After a key was made or read (rc, err): its public key on stdout, or
 * why not; k is freed. */
static int put_public(p2pc_cli_key *k, int rc, const char *err) {
  int status;
  if (rc < 0) {
    status = key_failed(rc, err);
  } else {
    char b64[P2PC_KEY_B64_LEN + 1];
    p2pc_cli_key_b64(k->pk, b64);
    status = put_line(b64);
  }
  p2pc_cli_key_free(k);
  return status;
}

static int run_identity(const keygen_opts *o) {
  char path[P2PC_KEY_PATH_MAX + 1];
  char err[P2PC_KEY_ERR_LEN];
  if (o->key) {
    snprintf(path, sizeof path, "%s", o->key);
  } else if (p2pc_cli_key_default_path(o->id, path, sizeof path, err,
                                       sizeof err) < 0) {
    fprintf(stderr, "p2pclock keygen: %s\n", err);
    return EXIT_USAGE;
  }
  p2pc_cli_key *k = p2pc_cli_key_new();
  if (!k) {
    fprintf(stderr, "p2pclock keygen: out of memory\n");
    return EXIT_FAIL;
  }
  if (o->force)
    say_replacing("identity key", path);
  int rc = p2pc_cli_key_create(path, o->force, k, err, sizeof err);
  if (rc >= 0)
    fprintf(stderr, "p2pclock keygen: created identity key %s\n", path);
  return put_public(k, rc, err);
}

static int run_show(const char *path) {
  char err[P2PC_KEY_ERR_LEN];
  p2pc_cli_key *k = p2pc_cli_key_new();
  if (!k) {
    fprintf(stderr, "p2pclock keygen: out of memory\n");
    return EXIT_FAIL;
  }
  return put_public(k, p2pc_cli_key_load(path, k, err, sizeof err), err);
}

int p2pc_cli_keygen(int argc, char **argv) {
  keygen_opts o = {0};
  int rc = p2pc_args_parse(&keygen_cmd, argc, argv, &o, NULL);
  if (rc == P2PC_ARGS_HELP)
    return print_help();
  if (rc < 0)
    return rc == P2PC_ARGS_NOMEM ? EXIT_FAIL : EXIT_USAGE;
  if (o.key && o.id)
    return p2pc_args_usage("keygen", "give --key FILE or --id ID, not both",
                           NULL);
  if (o.show && (o.key || o.id || o.force || o.cluster || o.out))
    return p2pc_args_usage("keygen", "--show FILE takes no other flag", NULL);
  if (o.cluster && (o.key || o.id))
    return p2pc_args_usage(
        "keygen", "--cluster takes no --key or --id (--out FILE writes it)",
        NULL);
  if (o.out && !o.cluster)
    return p2pc_args_usage("keygen", "--out goes with --cluster", NULL);
  if (o.cluster && o.force && !o.out)
    return p2pc_args_usage("keygen", "--force goes with a file to replace",
                           NULL);
  if (o.show)
    return run_show(o.show);
  if (o.cluster)
    return run_cluster(&o);
  if (!o.key && !o.id)
    return p2pc_args_usage(
        "keygen", "give --key FILE, --id ID, --cluster or --show FILE", NULL);
  return run_identity(&o);
}
