/* SPDX-License-Identifier: MIT */
/*
 * The allowlist file (src/cli/allowlist.c): members with their keys and
 * roles, comments and blank lines skipped; every way a line can be wrong
 * is refused with its line number; the file itself must be safe.
 */
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
#include <sodium.h>

#include "allowlist.h"

static char key_a[45], key_b[45];
static uint8_t raw_a[32];

static int setup(void **state) {
  (void)state;
  if (sodium_init() < 0)
    return -1;
  uint8_t pk[32], sk[64], seed[32];
  memset(seed, 1, sizeof seed);
  crypto_sign_seed_keypair(raw_a, sk, seed);
  sodium_bin2base64(key_a, sizeof key_a, raw_a, 32,
                    sodium_base64_VARIANT_ORIGINAL);
  memset(seed, 2, sizeof seed);
  crypto_sign_seed_keypair(pk, sk, seed);
  sodium_bin2base64(key_b, sizeof key_b, pk, 32,
                    sodium_base64_VARIANT_ORIGINAL);
  return 0;
}

/* Parses text; returns the count (or -1) and leaves the error in err. */
static int parse(const char *text, p2pc_member **m, char *err) {
  size_t n = 0;
  int rv =
      p2pc_cli_allowlist_parse("list", text, strlen(text), m, &n, err, 300);
  return rv ? -1 : (int)n;
}

static void test_members(void **state) {
  (void)state;
  char text[400], err[300];
  snprintf(text, sizeof text,
           "# who\n\n  A %s reference\r\nB\t%s   # not the reference\n", key_a,
           key_b);
  p2pc_member *m = NULL;
  assert_int_equal(parse(text, &m, err), 2);
  assert_string_equal(m[0].id, "A");
  assert_memory_equal(m[0].key, raw_a, 32);
  assert_int_equal(m[0].roles, P2PC_ROLE_REFERENCE);
  assert_string_equal(m[1].id, "B");
  assert_int_equal(m[1].roles, 0);
  free(m);
}

static void refused(const char *text, const char *want) {
  char err[300] = "";
  p2pc_member *m = (p2pc_member *)1;
  assert_int_equal(parse(text, &m, err), -1);
  assert_null(m);
  if (!strstr(err, want))
    fail_msg("'%s' does not say '%s'", err, want);
}

static void test_refused(void **state) {
  (void)state;
  char t[400];
  refused("", "no member");
  refused("# only a comment\n", "no member");
  snprintf(t, sizeof t, "A %s\nA %s\n", key_a, key_b);
  refused(t, "list:2: this ID is listed twice");
  snprintf(t, sizeof t, "A %s\nB %s\n", key_a, key_a);
  refused(t, "list:2: this key is listed twice");
  snprintf(t, sizeof t, "A %s referee\n", key_a);
  refused(t, "list:1: unknown word 'referee'");
  refused("A\n", "list:1: A has no public key");
  refused("A AAAA\n", "the key of A is not a public key");
  /* the same bits, but spare bits set in the last character: not the
   * canonical base64 of any key */
  static const char b64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char odd[45];
  memcpy(odd, key_a, sizeof odd);
  odd[42] = b64[(strchr(b64, odd[42]) - b64) | 1];
  snprintf(t, sizeof t, "A %s\n", odd);
  refused(t, "the key of A is not a public key");
  snprintf(t, sizeof t, "bad/id %s\n", key_a);
  refused(t, "list:1: 'bad/id' is not a valid node ID");
  snprintf(t, sizeof t, "A %s\nB %s\x01\n", key_a, key_b);
  refused(t, "list:2: a control character");
}

static void test_file(void **state) {
  (void)state;
  char dir[] = "/tmp/p2pc-allowlist-XXXXXX", path[64], err[300];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/list", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "A %s reference\n", key_a);
  fclose(f);
  p2pc_member *m = NULL;
  size_t n = 0;
  assert_int_equal(chmod(path, 0644), 0);
  assert_int_equal(p2pc_cli_allowlist_load(path, &m, &n, err, sizeof err), 0);
  assert_int_equal(n, 1);
  free(m);
  assert_int_equal(chmod(path, 0664), 0);
  assert_int_equal(p2pc_cli_allowlist_load(path, &m, &n, err, sizeof err), -1);
  assert_non_null(strstr(err, "writable by group or others"));
  assert_int_equal(p2pc_cli_allowlist_load(dir, &m, &n, err, sizeof err), -1);
  assert_non_null(strstr(err, "not a regular file"));
  unlink(path);
  assert_int_equal(p2pc_cli_allowlist_load(path, &m, &n, err, sizeof err), -1);
  assert_non_null(strstr(err, "no such file"));
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_members),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_file),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
