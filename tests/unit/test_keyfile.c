/* SPDX-License-Identifier: MIT */
/*
 * The key files of src/cli/keyfile.h on a scratch directory, under umask
 * 000: an identity key created and loaded back (the same key pair; the
 * public key of RFC 8032's first vector from its seed), mode 0600 and
 * parent directories 0700 whatever the umask, created on first load,
 * never replaced without force, no temporary file left behind after
 * success or a failure; refused with their exact messages: too open
 * (0644, 0640, 0604 ...), not a regular file (a directory, a FIFO),
 * another owner (as root), each kind of malformed file; a symbolic link
 * followed and its target checked; the default paths; cluster keys.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "keyfile.h"
#include "keyring.h"
#include "p2pclock/p2pclock.h"

static char dir[256];
static char err[P2PC_KEY_ERR_LEN];
static mode_t old_umask;

static int setup(void **state) {
  (void)state;
  const char *t = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/p2pc-keyfile.XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(dir))
    return -1;
  old_umask = umask(0); /* the modes must not depend on it */
  return 0;
}

static int teardown(void **state) {
  (void)state;
  umask(old_umask);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* dir/name into out. */
static const char *at(char *out, size_t n, const char *name) {
  snprintf(out, n, "%s/%s", dir, name);
  return out;
}

static void put_file(const char *path, const char *text, size_t len,
                     mode_t mode) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(chmod(path, mode), 0);
}

static char *slurp(const char *path, size_t *len) {
  static char buf[1024];
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  *len = fread(buf, 1, sizeof buf - 1, f);
  buf[*len] = '\0';
  fclose(f);
  return buf;
}

/* The names in d, sorted, joined by spaces ("" if none). */
static const char *listing(const char *d) {
  static char out[1024];
  struct dirent **names;
  int k = scandir(d, &names, NULL, alphasort);
  assert_true(k >= 0);
  out[0] = '\0';
  for (int i = 0; i < k; i++) {
    if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
      if (out[0])
        strcat(out, " ");
      strcat(out, names[i]->d_name);
    }
    free(names[i]);
  }
  free(names);
  return out;
}

static bool all_zero(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i])
      return false;
  return true;
}

static mode_t mode_of(const char *path) {
  struct stat st;
  assert_int_equal(lstat(path, &st), 0);
  return st.st_mode & 07777;
}

static void test_roundtrip(void **state) {
  (void)state;
  char path[512], sub[512];
  at(path, sizeof path, "a/b/id.key");
  p2pc_cli_key *k = p2pc_cli_key_new(), *l = p2pc_cli_key_new();
  assert_non_null(k);
  assert_non_null(l);
  assert_int_equal(p2pc_cli_key_create(path, false, k, err, sizeof err), 0);
  assert_false(all_zero(k->pk, sizeof k->pk));
  assert_int_equal(mode_of(path), 0600);
  assert_int_equal(mode_of(at(sub, sizeof sub, "a")), 0700);
  assert_int_equal(mode_of(at(sub, sizeof sub, "a/b")), 0700);
  assert_string_equal(listing(at(sub, sizeof sub, "a/b")), "id.key");

  size_t len;
  const char *text = slurp(path, &len);
  assert_int_equal(len, 74);
  assert_memory_equal(text, "p2pclock-identity-v1 ed25519 ", 29);
  assert_int_equal(text[73], '\n');

  assert_int_equal(p2pc_cli_key_load(path, l, err, sizeof err), 0);
  assert_memory_equal(l->pk, k->pk, sizeof k->pk);
  assert_memory_equal(l->sk, k->sk, sizeof k->sk);
  /* the file holds the seed, the first half of libsodium's secret key */
  char b64[P2PC_KEY_B64_LEN + 1];
  p2pc_cli_key_b64(k->sk, b64);
  assert_memory_equal(text + 29, b64, P2PC_KEY_B64_LEN);

  /* an existing key is loaded, silently */
  char *said = NULL;
  size_t saidlen = 0;
  FILE *say = open_memstream(&said, &saidlen);
  assert_int_equal(p2pc_cli_key_load_or_create(path, l, say, err, sizeof err),
                   0);
  fclose(say);
  assert_string_equal(said, "");
  free(said);
  assert_memory_equal(l->pk, k->pk, sizeof k->pk);
  p2pc_cli_key_free(k);
  p2pc_cli_key_free(l);
  p2pc_cli_key_free(NULL);
}

/* A umask that takes even the owner's bits: still 0600 and 0700. */
static void test_umask_777(void **state) {
  (void)state;
  char path[512], sub[512];
  at(path, sizeof path, "m/id.key");
  p2pc_cli_key *k = p2pc_cli_key_new();
  umask(0777);
  int rc = p2pc_cli_key_create(path, false, k, err, sizeof err);
  umask(0);
  assert_int_equal(rc, 0);
  assert_int_equal(mode_of(path), 0600);
  assert_int_equal(mode_of(at(sub, sizeof sub, "m")), 0700);
  assert_int_equal(p2pc_cli_key_load(path, k, err, sizeof err), 0);
  p2pc_cli_key_free(k);
}

/* RFC 8032, 7.1, TEST 1: the public key from the seed. */
static void test_known_answer(void **state) {
  (void)state;
  char path[512];
  at(path, sizeof path, "rfc.key");
  const char text[] = "p2pclock-identity-v1 ed25519 "
                      "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
  put_file(path, text, sizeof text - 1, 0600); /* no newline: accepted */
  p2pc_cli_key *k = p2pc_cli_key_new();
  assert_int_equal(p2pc_cli_key_load(path, k, err, sizeof err), 0);
  char b64[P2PC_KEY_B64_LEN + 1];
  p2pc_cli_key_b64(k->pk, b64);
  assert_string_equal(b64, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  p2pc_cli_key_free(k);
}

static void test_load_or_create(void **state) {
  (void)state;
  char path[512], want[1024];
  at(path, sizeof path, "new/n.key");
  p2pc_cli_key *k = p2pc_cli_key_new(), *l = p2pc_cli_key_new();
  char *said = NULL;
  size_t saidlen = 0;
  FILE *say = open_memstream(&said, &saidlen);
  assert_int_equal(p2pc_cli_key_load_or_create(path, k, say, err, sizeof err),
                   0);
  fclose(say);
  char b64[P2PC_KEY_B64_LEN + 1];
  p2pc_cli_key_b64(k->pk, b64);
  snprintf(want, sizeof want,
           "p2pclock node: created identity key %s (public key %s)\n", path,
           b64);
  assert_string_equal(said, want);
  free(said);
  assert_int_equal(mode_of(path), 0600);
  assert_int_equal(p2pc_cli_key_load_or_create(path, l, NULL, err, sizeof err),
                   0);
  assert_memory_equal(l->pk, k->pk, sizeof k->pk);
  p2pc_cli_key_free(k);
  p2pc_cli_key_free(l);
}

static void test_no_overwrite(void **state) {
  (void)state;
  char path[512], want[1024], before[128];
  at(path, sizeof path, "o.key");
  p2pc_cli_key *k = p2pc_cli_key_new(), *l = p2pc_cli_key_new();
  assert_int_equal(p2pc_cli_key_create(path, false, k, err, sizeof err), 0);
  size_t len;
  const char *text = slurp(path, &len);
  memcpy(before, text, len + 1);

  assert_int_equal(p2pc_cli_key_create(path, false, l, err, sizeof err),
                   -EEXIST);
  snprintf(want, sizeof want, "%s: already exists", path);
  assert_string_equal(err, want);
  assert_true(all_zero(l, sizeof *l));
  assert_string_equal(slurp(path, &len), before);
  assert_string_equal(listing(dir), "o.key"); /* its temporary file gone */

  assert_int_equal(p2pc_cli_key_create(path, true, l, err, sizeof err), 0);
  assert_memory_not_equal(l->pk, k->pk, sizeof k->pk);
  assert_string_not_equal(slurp(path, &len), before);
  assert_int_equal(mode_of(path), 0600);
  assert_int_equal(p2pc_cli_key_load(path, k, err, sizeof err), 0);
  assert_memory_equal(l->pk, k->pk, sizeof k->pk);
  assert_string_equal(listing(dir), "o.key");
  p2pc_cli_key_free(k);
  p2pc_cli_key_free(l);
}

/* Failures leave nothing behind: a parent that is a regular file, a
 * target that is a directory (even with force). */
static void test_failures_leave_nothing(void **state) {
  (void)state;
  char file[512], path[512], want[1024];
  p2pc_cli_key *k = p2pc_cli_key_new();
  put_file(at(file, sizeof file, "file"), "x", 1, 0600);

  at(path, sizeof path, "file/sub/k.key");
  assert_int_equal(p2pc_cli_key_create(path, false, k, err, sizeof err),
                   -ENOTDIR);
  snprintf(want, sizeof want,
           "%s/file/sub: cannot create directory: Not a directory", dir);
  assert_string_equal(err, want);
  assert_true(all_zero(k, sizeof *k));

  at(path, sizeof path, "file/k.key");
  assert_int_equal(p2pc_cli_key_create(path, false, k, err, sizeof err),
                   -ENOTDIR);
  snprintf(want, sizeof want, "%s: cannot create: Not a directory", path);
  assert_string_equal(err, want);

  at(path, sizeof path, "d");
  assert_int_equal(mkdir(path, 0700), 0);
  at(file, sizeof file, "d/x");
  put_file(file, "x", 1, 0600);
  int rc = p2pc_cli_key_create(path, true, k, err, sizeof err);
  assert_true(rc == -EISDIR || rc == -ENOTEMPTY || rc == -EEXIST);
  snprintf(want, sizeof want,
           "%s: cannot rename the temporary file into place: ", path);
  assert_memory_equal(err, want, strlen(want));
  assert_true(all_zero(k, sizeof *k));
  assert_string_equal(listing(dir), "d file");
  assert_string_equal(listing(path), "x");
  p2pc_cli_key_free(k);
}

static void test_too_open(void **state) {
  (void)state;
  static const mode_t bad[] = {0644, 0640, 0604, 0660,       0606, 0620,
                               0602, 0610, 0601, 0400 | 040, 0777};
  char path[512], want[1024];
  at(path, sizeof path, "open.key");
  p2pc_cli_key *k = p2pc_cli_key_new();
  assert_int_equal(p2pc_cli_key_create(path, false, k, err, sizeof err), 0);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(chmod(path, bad[i]), 0);
    memset(k, 0xa5, sizeof *k);
    assert_int_equal(p2pc_cli_key_load(path, k, err, sizeof err),
                     P2PC_CLI_KEY_UNSAFE);
    snprintf(want, sizeof want,
             "permissions %04o for '%s' are too open; chmod 600 it",
             (unsigned)bad[i], path);
    assert_string_equal(err, want);
    assert_true(all_zero(k, sizeof *k));
  }
  assert_int_equal(chmod(path, 0400), 0); /* read-only for its owner: fine */
  assert_int_equal(p2pc_cli_key_load(path, k, err, sizeof err), 0);
  p2pc_cli_key_free(k);
}

static void test_not_regular(void **state) {
  (void)state;
  char path[512], want[1024];
  p2pc_cli_key *k = p2pc_cli_key_new();
  at(path, sizeof path, "adir");
  assert_int_equal(mkdir(path, 0700), 0);
  assert_int_equal(p2pc_cli_key_load(path, k, err, sizeof err),
                   P2PC_CLI_KEY_UNSAFE);
  snprintf(want, sizeof want, "%s: not a regular file", path);
  assert_string_equal(err, want);
  /* a FIFO without a writer: refused, not waited on */
  at(path, sizeof path, "fifo");
  assert_int_equal(mkfifo(path, 0600), 0);
  assert_int_equal(p2pc_cli_key_load(path, k, err, sizeof err),
                   P2PC_CLI_KEY_UNSAFE);
  snprintf(want, sizeof want, "%s: not a regular file", path);
  assert_string_equal(err, want);
  at(path, sizeof path, "absent.key");
  assert_int_equal(p2pc_cli_key_load(path, k, err, sizeof err), -ENOENT);
  snprintf(want, sizeof want, "%s: no such file", path);
  assert_string_equal(err, want);
  p2pc_cli_key_free(k);
}

/* A symbolic link is followed; what it names is checked. */
static void test_symlink(void **state) {
  (void)state;
  char target[512], link[512], want[1024];
  p2pc_cli_key *k = p2pc_cli_key_new(), *l = p2pc_cli_key_new();
  at(target, sizeof target, "target.key");
  at(link, sizeof link, "link.key");
  assert_int_equal(p2pc_cli_key_create(target, false, k, err, sizeof err), 0);
  assert_int_equal(symlink(target, link), 0);
  assert_int_equal(p2pc_cli_key_load(link, l, err, sizeof err), 0);
  assert_memory_equal(l->pk, k->pk, sizeof k->pk);
  assert_int_equal(chmod(target, 0644), 0);
  assert_int_equal(p2pc_cli_key_load(link, l, err, sizeof err),
                   P2PC_CLI_KEY_UNSAFE);
  snprintf(want, sizeof want,
           "permissions 0644 for '%s' are too open; chmod 600 it", link);
  assert_string_equal(err, want);

  /* a dangling link is neither loaded nor replaced without force */
  at(link, sizeof link, "dangling.key");
  at(target, sizeof target, "nowhere.key");
  assert_int_equal(symlink(target, link), 0);
  assert_int_equal(p2pc_cli_key_create(link, false, l, err, sizeof err),
                   -EEXIST);
  assert_int_equal(p2pc_cli_key_load_or_create(link, l, NULL, err, sizeof err),
                   -ENOENT);
  snprintf(want, sizeof want,
           "%s: a symbolic link to a file that does not exist", link);
  assert_string_equal(err, want);
  assert_int_equal(access(target, F_OK), -1);
  p2pc_cli_key_free(k);
  p2pc_cli_key_free(l);
}

static void test_other_owner(void **state) {
  (void)state;
  if (geteuid() != 0)
    skip(); /* only root can give a file away */
  char path[512], want[1024];
  p2pc_cli_key *k = p2pc_cli_key_new();
  at(path, sizeof path, "theirs.key");
  assert_int_equal(p2pc_cli_key_create(path, false, k, err, sizeof err), 0);
  assert_int_equal(chown(path, 65534, 65534), 0);
  assert_int_equal(p2pc_cli_key_load(path, k, err, sizeof err),
                   P2PC_CLI_KEY_UNSAFE);
  snprintf(want, sizeof want,
           "%s: owned by uid 65534, not by this user (uid 0)", path);
  assert_string_equal(err, want);
  assert_true(all_zero(k, sizeof *k));
  p2pc_cli_key_free(k);
}

#define HDR "p2pclock-identity-v1 ed25519 "
#define SEED "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="

static void test_malformed(void **state) {
  (void)state;
  static const struct {
    const char *text;
    const char *msg; /* after "PATH: " */
  } bad[] = {
      {"", "not a p2pclock identity key file (its line must start with "
           "\"p2pclock-identity-v1 ed25519 \")"},
      {"p2pclock-identity-v2 ed25519 " SEED "\n",
       "not a p2pclock identity key file (its line must start with "
       "\"p2pclock-identity-v1 ed25519 \")"},
      {"p2pclock-identity-v1 x25519 " SEED "\n",
       "not a p2pclock identity key file (its line must start with "
       "\"p2pclock-identity-v1 ed25519 \")"},
      {"p2pclock-cluster-v1 " SEED "\n",
       "a cluster key file, not an identity key file"},
      {HDR "\n", "the key is not valid base64"},
      {HDR "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A!\n",
       "the key is not valid base64"},
      {HDR "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n",
       "the key is not valid base64"}, /* unpadded */
      {HDR "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2B=\n",
       "the key is not valid base64"}, /* padding bits set */
      {HDR "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyu\n",
       "the key is 30 bytes, want 32"},
      {HDR "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2Bg\n",
       "the key is 33 bytes, want 32"},
      {HDR SEED "\nmore\n", "trailing data after the key (the file must be "
                            "one line)"},
      {HDR SEED "\n\n", "trailing data after the key (the file must be one "
                        "line)"},
      {HDR SEED " comment\n", "trailing data after the key (the file must "
                              "be one line)"},
      {HDR SEED "\r\n", "trailing data after the key (the file must be one "
                        "line)"},
  };
  char path[512], want[1024];
  at(path, sizeof path, "bad.key");
  p2pc_cli_key *k = p2pc_cli_key_new();
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    unlink(path);
    put_file(path, bad[i].text, strlen(bad[i].text), 0600);
    memset(k, 0xa5, sizeof *k);
    assert_int_equal(p2pc_cli_key_load(path, k, err, sizeof err),
                     P2PC_CLI_KEY_MALFORMED);
    snprintf(want, sizeof want, "%s: %s", path, bad[i].msg);
    assert_string_equal(err, want);
    assert_null(strstr(err, "nWGxne")); /* the secret is never quoted */
    assert_true(all_zero(k, sizeof *k));
  }
  char big[400];
  memset(big, 'A', sizeof big);
  memcpy(big, HDR, strlen(HDR));
  put_file(path, big, sizeof big, 0600);
  assert_int_equal(p2pc_cli_key_load(path, k, err, sizeof err),
                   P2PC_CLI_KEY_MALFORMED);
  snprintf(want, sizeof want,
           "%s: too long for a key file (one line of at most 74 bytes)", path);
  assert_string_equal(err, want);
  /* the well-formed line, with and without its newline */
  put_file(path, HDR SEED "\n", strlen(HDR SEED "\n"), 0600);
  assert_int_equal(p2pc_cli_key_load(path, k, err, sizeof err), 0);
  p2pc_cli_key_free(k);
}

static void test_default_path(void **state) {
  (void)state;
  char out[256], e[256];
  assert_int_equal(
      p2pc__key_path_for("A", 0, "/x", "/root", out, sizeof out, e, sizeof e),
      0);
  assert_string_equal(out, "/var/lib/p2pclock/A.key");
  assert_int_equal(p2pc__key_path_for("n-1.x_Y", 1000, "/s/state", "/home/u",
                                      out, sizeof out, e, sizeof e),
                   0);
  assert_string_equal(out, "/s/state/p2pclock/n-1.x_Y.key");
  /* XDG_STATE_HOME unset, empty or relative: $HOME/.local/state */
  const char *xdg[] = {NULL, "", "rel/state"};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(p2pc__key_path_for("B", 1000, xdg[i], "/home/u", out,
                                        sizeof out, e, sizeof e),
                     0);
    assert_string_equal(out, "/home/u/.local/state/p2pclock/B.key");
  }
  assert_int_equal(
      p2pc__key_path_for("B", 1000, NULL, NULL, out, sizeof out, e, sizeof e),
      P2PC_ERR_INVAL);
  assert_string_equal(e, "no default key file: neither XDG_STATE_HOME nor "
                         "HOME is an absolute path (give --key FILE)");
  assert_int_equal(
      p2pc__key_path_for("B", 1000, NULL, "", out, sizeof out, e, sizeof e),
      P2PC_ERR_INVAL);
  assert_int_equal(p2pc__key_path_for("B", 0, NULL, NULL, out, 10, e, sizeof e),
                   P2PC_ERR_INVAL);
  /* the process's own: as root, /var/lib */
  assert_int_equal(p2pc_cli_key_default_path("C", out, sizeof out, e, sizeof e),
                   0);
  if (geteuid() == 0)
    assert_string_equal(out, "/var/lib/p2pclock/C.key");
}

static void test_cluster(void **state) {
  (void)state;
  unsigned char a[P2PC_KEY_BYTES], b[P2PC_KEY_BYTES], c[P2PC_KEY_BYTES];
  char b64[P2PC_KEY_B64_LEN + 1], path[512], want[1024];
  assert_int_equal(p2pc_cli_cluster_key_generate(a), 0);
  assert_int_equal(p2pc_cli_cluster_key_generate(b), 0);
  assert_memory_not_equal(a, b, sizeof a);
  p2pc_cli_key_b64(a, b64);
  assert_int_equal(strlen(b64), 44);
  assert_int_equal(p2pc_cli_cluster_key_parse(b64, c), 0);
  assert_memory_equal(a, c, sizeof a);

  static const char *bad[] = {
      "",
      "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
      "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A==",
      "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A= ",
      "nWGxne-9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=", /* URL-safe */
      "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2B="};
  memcpy(c, a, sizeof c);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(p2pc_cli_cluster_key_parse(bad[i], c),
                     P2PC_CLI_KEY_MALFORMED);
    assert_memory_equal(a, c, sizeof a); /* untouched */
  }

  at(path, sizeof path, "keys/cluster.key");
  assert_int_equal(p2pc_cli_cluster_key_write(path, false, a, err, sizeof err),
                   0);
  assert_int_equal(mode_of(path), 0600);
  size_t len;
  snprintf(want, sizeof want, "p2pclock-cluster-v1 %s\n", b64);
  assert_string_equal(slurp(path, &len), want);
  assert_int_equal(p2pc_cli_cluster_key_load(path, c, err, sizeof err), 0);
  assert_memory_equal(a, c, sizeof a);
  assert_int_equal(p2pc_cli_cluster_key_write(path, false, b, err, sizeof err),
                   -EEXIST);
  assert_int_equal(p2pc_cli_cluster_key_write(path, true, b, err, sizeof err),
                   0);
  assert_int_equal(p2pc_cli_cluster_key_load(path, c, err, sizeof err), 0);
  assert_memory_equal(b, c, sizeof b);
  char sub[512];
  assert_string_equal(listing(at(sub, sizeof sub, "keys")), "cluster.key");

  assert_int_equal(chmod(path, 0640), 0);
  assert_int_equal(p2pc_cli_cluster_key_load(path, c, err, sizeof err),
                   P2PC_CLI_KEY_UNSAFE);
  snprintf(want, sizeof want,
           "permissions 0640 for '%s' are too open; chmod 600 it", path);
  assert_string_equal(err, want);
  assert_true(all_zero(c, sizeof c));

  /* an identity key file is no cluster key */
  at(path, sizeof path, "id.key");
  p2pc_cli_key *k = p2pc_cli_key_new();
  assert_int_equal(p2pc_cli_key_create(path, false, k, err, sizeof err), 0);
  assert_int_equal(p2pc_cli_cluster_key_load(path, c, err, sizeof err),
                   P2PC_CLI_KEY_MALFORMED);
  snprintf(want, sizeof want,
           "%s: an identity key file, not a cluster key file", path);
  assert_string_equal(err, want);
  p2pc_cli_key_free(k);
}

/* A keyring: several cluster key lines, the first the primary; written
 * and read back; a one-line file is a ring of one; the strict rules hold
 * line by line, with the line named. */
static void test_keyring(void **state) {
  (void)state;
  char path[512], want[700];
  unsigned char ring[P2PC_KEYRING_MAX][32], got[P2PC_KEYRING_MAX][32];
  size_t n = 9, len;
  for (int i = 0; i < P2PC_KEYRING_MAX; i++)
    memset(ring[i], 0x30 + i, 32);
  at(path, sizeof path, "ring.key");
  assert_int_equal(
      p2pc_cli_keyring_write(path, false, ring, 3, err, sizeof err), 0);
  assert_int_equal(mode_of(path), 0600);
  char b64[3][45], text[400];
  for (int i = 0; i < 3; i++)
    p2pc_cli_key_b64(ring[i], b64[i]);
  snprintf(text, sizeof text,
           "p2pclock-cluster-v1 %s\np2pclock-cluster-v1 %s\n"
           "p2pclock-cluster-v1 %s\n",
           b64[0], b64[1], b64[2]);
  assert_string_equal(slurp(path, &len), text);
  assert_int_equal(p2pc_cli_keyring_load(path, got, &n, err, sizeof err), 0);
  assert_int_equal(n, 3);
  assert_memory_equal(got, ring, 3 * 32);
  /* replaced only with force, then the whole ring at once */
  assert_int_equal(
      p2pc_cli_keyring_write(path, false, ring, 1, err, sizeof err), -EEXIST);
  assert_int_equal(
      p2pc_cli_keyring_write(path, true, ring + 2, 2, err, sizeof err), 0);
  assert_int_equal(p2pc_cli_keyring_load(path, got, &n, err, sizeof err), 0);
  assert_int_equal(n, 2);
  assert_memory_equal(got, ring + 2, 2 * 32);
  assert_int_equal(p2pc_cli_keyring_write(path, true, ring, 0, err, sizeof err),
                   P2PC_ERR_INVAL);
  assert_int_equal(p2pc_cli_keyring_write(
                       path, true, ring, P2PC_KEYRING_MAX + 1, err, sizeof err),
                   P2PC_ERR_INVAL);
  /* a cluster key file of one line, without its newline too */
  at(path, sizeof path, "one.key");
  snprintf(text, sizeof text, "p2pclock-cluster-v1 %s", b64[1]);
  put_file(path, text, strlen(text), 0600);
  assert_int_equal(p2pc_cli_keyring_load(path, got, &n, err, sizeof err), 0);
  assert_int_equal(n, 1);
  assert_memory_equal(got[0], ring[1], 32);
  /* the strict rules, line by line */
  char l1[80];
  snprintf(l1, sizeof l1, "p2pclock-cluster-v1 %s\n", b64[0]);
  char cases[5][200];
  snprintf(cases[0], sizeof cases[0], "%s\n", l1);
  snprintf(cases[1], sizeof cases[1], "%sp2pclock-cluster-v1 %.43s\n", l1,
           b64[1]);
  snprintf(cases[2], sizeof cases[2], "%sp2pclock-cluster-v1 %s \n", l1,
           b64[1]);
  snprintf(cases[3], sizeof cases[3], "p2pclock-cluster-v1 %s\r\n", b64[0]);
  cases[4][0] = '\0';
  static const char *const msg[5] = {
      " line 2: not a p2pclock cluster key", " line 2: the key is not valid",
      " line 2: trailing data after the key", ": trailing data after the key",
      ": not a p2pclock cluster key file"};
  for (size_t i = 0; i < 5; i++) {
    put_file(path, cases[i], strlen(cases[i]), 0600);
    memset(got, 1, sizeof got);
    assert_int_equal(p2pc_cli_keyring_load(path, got, &n, err, sizeof err),
                     P2PC_CLI_KEY_MALFORMED);
    snprintf(want, sizeof want, "%s%s", path, msg[i]);
    assert_non_null(strstr(err, want));
    assert_true(all_zero(got, sizeof got));
  }
  snprintf(text, sizeof text,
           "p2pclock-cluster-v1 %s\np2pclock-cluster-v1 %s\n", b64[0], b64[0]);
  put_file(path, text, strlen(text), 0600);
  assert_int_equal(p2pc_cli_keyring_load(path, got, &n, err, sizeof err),
                   P2PC_CLI_KEY_MALFORMED);
  snprintf(want, sizeof want, "%s line 2: the same key as line 1", path);
  assert_string_equal(err, want);
  text[0] = '\0';
  for (int i = 0; i <= P2PC_KEYRING_MAX; i++) {
    char b[45], l[80];
    unsigned char k[32];
    memset(k, 0x60 + i, 32);
    p2pc_cli_key_b64(k, b);
    snprintf(l, sizeof l, "p2pclock-cluster-v1 %s\n", b);
    strcat(text, l);
  }
  put_file(path, text, strlen(text), 0600);
  assert_int_equal(p2pc_cli_keyring_load(path, got, &n, err, sizeof err),
                   P2PC_CLI_KEY_MALFORMED);
  snprintf(want, sizeof want, "%s line %d: more than %d keys", path,
           P2PC_KEYRING_MAX + 1, P2PC_KEYRING_MAX);
  assert_non_null(strstr(err, want));
  assert_int_equal(chmod(path, 0644), 0);
  assert_int_equal(p2pc_cli_keyring_load(path, got, &n, err, sizeof err),
                   P2PC_CLI_KEY_UNSAFE);
  /* fingerprints: 16 hex digits, one per key, never the key's own bytes */
  char fa[P2PC_KEY_FP_LEN + 1], fb[P2PC_KEY_FP_LEN + 1];
  p2pc_cli_key_fingerprint(ring[0], fa);
  p2pc_cli_key_fingerprint(ring[1], fb);
  assert_int_equal(strlen(fa), 16);
  assert_string_not_equal(fa, fb);
  assert_null(strstr(fa, "30303030"));
}

/* The changes of `p2pclock keys`: install, use, remove with their
 * refusals, each leaving the ring unchanged. */
static void test_ring_change(void **state) {
  (void)state;
  p2pc_cli_ring r = {.n = 1};
  unsigned char k[P2PC_KEYRING_MAX + 1][32];
  char b64[P2PC_KEYRING_MAX + 1][45], fp[P2PC_KEYRING_MAX + 1][17], what[80];
  for (int i = 0; i <= P2PC_KEYRING_MAX; i++) {
    memset(k[i], 0x41 + i, 32);
    p2pc_cli_key_b64(k[i], b64[i]);
    p2pc_cli_key_fingerprint(k[i], fp[i]);
  }
  memcpy(r.keys[0], k[0], 32);
  bool ch;
  assert_int_equal(p2pc_cli_ring_change(&r, "list", NULL, &ch, what,
                                        sizeof what, err, sizeof err),
                   0);
  assert_false(ch);
  assert_int_equal(p2pc_cli_ring_change(&r, "install", b64[1], &ch, what,
                                        sizeof what, err, sizeof err),
                   0);
  assert_true(ch);
  assert_int_equal(r.n, 2);
  char want[120];
  snprintf(want, sizeof want, "installed key %s", fp[1]);
  assert_string_equal(what, want);
  p2pc_cli_ring before = r;
  /* refusals: nothing changes */
  assert_int_equal(p2pc_cli_ring_change(&r, "install", b64[1], &ch, what,
                                        sizeof what, err, sizeof err),
                   -1);
  assert_non_null(strstr(err, "installed already"));
  assert_int_equal(p2pc_cli_ring_change(&r, "install", fp[2], &ch, what,
                                        sizeof what, err, sizeof err),
                   -1); /* a fingerprint is no key */
  assert_int_equal(p2pc_cli_ring_change(&r, "use", b64[2], &ch, what,
                                        sizeof what, err, sizeof err),
                   -1);
  snprintf(want, sizeof want, "key %s is not installed", fp[2]);
  assert_non_null(strstr(err, want));
  assert_int_equal(p2pc_cli_ring_change(&r, "remove", fp[0], &ch, what,
                                        sizeof what, err, sizeof err),
                   -1);
  assert_non_null(strstr(err, "is the primary"));
  assert_memory_equal(&r, &before, sizeof r);
  /* use by fingerprint: the new key first, the old one kept */
  assert_int_equal(p2pc_cli_ring_change(&r, "use", fp[1], &ch, what,
                                        sizeof what, err, sizeof err),
                   0);
  assert_true(ch);
  assert_memory_equal(r.keys[0], k[1], 32);
  assert_memory_equal(r.keys[1], k[0], 32);
  assert_int_equal(p2pc_cli_ring_change(&r, "use", b64[1], &ch, what,
                                        sizeof what, err, sizeof err),
                   0);
  assert_false(ch); /* the primary already */
  /* full at P2PC_KEYRING_MAX */
  for (int i = 2; i < P2PC_KEYRING_MAX; i++)
    assert_int_equal(p2pc_cli_ring_change(&r, "install", b64[i], &ch, what,
                                          sizeof what, err, sizeof err),
                     0);
  assert_int_equal(p2pc_cli_ring_change(&r, "install", b64[P2PC_KEYRING_MAX],
                                        &ch, what, sizeof what, err,
                                        sizeof err),
                   -1);
  assert_non_null(strstr(err, "the keyring is full"));
  /* remove the old key: the others keep their order */
  assert_int_equal(p2pc_cli_ring_change(&r, "remove", b64[0], &ch, what,
                                        sizeof what, err, sizeof err),
                   0);
  assert_int_equal(r.n, P2PC_KEYRING_MAX - 1);
  assert_memory_equal(r.keys[0], k[1], 32);
  assert_memory_equal(r.keys[1], k[2], 32);
  /* no secret in any message */
  assert_null(strstr(err, b64[0]));
  assert_null(strstr(what, b64[0]));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_umask_777, setup, teardown),
      cmocka_unit_test_setup_teardown(test_known_answer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_load_or_create, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_overwrite, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failures_leave_nothing, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_too_open, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
      cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
      cmocka_unit_test_setup_teardown(test_other_owner, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
      cmocka_unit_test(test_default_path),
      cmocka_unit_test_setup_teardown(test_cluster, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keyring, setup, teardown),
      cmocka_unit_test(test_ring_change),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
