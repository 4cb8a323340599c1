/* SPDX-License-Identifier: MIT */
/* The NTP symmetric key file (src/cli/ntpkeys.c): chrony's format as RFC
 * 8573 allows it is read; MD5, SHA1 and other types, bad IDs, keys of the
 * wrong length, IDs twice, too many keys, and files others may read are
 * refused with a message naming the file and line. */
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

#include "ntpkeys.h"

#define K128 "HEX:000102030405060708090a0b0c0d0e0f"
#define K256                                                                   \
  "HEX:000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f"

static int parse(const char *text, p2pc_ntp_key *keys, size_t *n, char *err) {
  return p2pc_cli_ntpkeys_parse("k", text, strlen(text), keys, n, err, 300);
}

static void test_good(void **state) {
  (void)state;
  p2pc_ntp_key keys[P2PC_NTP_KEYS_MAX];
  size_t n = 99;
  char err[300] = "";
  assert_int_equal(parse("# chrony.keys\n\n1 AES128 " K128 "  # the first\r\n"
                         "\t4294967295\tAES256 " K256 "\n"
                         "   \n"
                         "77 AES128 " K128,
                         keys, &n, err),
                   0);
  assert_int_equal(n, 3);
  assert_int_equal(keys[0].id, 1);
  assert_int_equal(keys[0].len, 16);
  assert_int_equal(keys[0].key[15], 0x0f);
  assert_int_equal(keys[1].id, 4294967295u);
  assert_int_equal(keys[1].len, 32);
  assert_int_equal(keys[1].key[10], 0x0a);
  assert_int_equal(keys[1].key[31], 0x1f);
  assert_int_equal(keys[2].id, 77);
}

static void refused(const char *text, const char *want) {
  p2pc_ntp_key keys[P2PC_NTP_KEYS_MAX];
  size_t n = 99;
  char err[300] = "";
  assert_int_equal(parse(text, keys, &n, err), -1);
  assert_int_equal(n, 0);
  if (!strstr(err, want)) {
    fprintf(stderr, "got \"%s\", want \"%s\"\n", err, want);
    fail();
  }
}

static void test_refused(void **state) {
  (void)state;
  refused("1 MD5 HEX:00112233445566778899aabbccddeeff\n",
          "k line 1: key type \"MD5\" is not allowed");
  refused("1 AES128 " K128 "\n2 SHA1 HEX:00\n", "k line 2: key type \"SHA1\"");
  refused("1 aes128 " K128 "\n", "key type \"aes128\"");
  refused("1 " K128 "\n", "key type");
  refused("1\n", "k line 1: key type \"\"");
  refused("1 AES128 ASCII:0123456789abcdef\n", "must be HEX: and 32 hex");
  refused("1 AES128 0123456789abcdef0123456789abcdef\n", "HEX:");
  refused("1 AES128 HEX:000102030405060708090a0b0c0d0e\n", "32 hex digits");
  refused("1 AES128 HEX:000102030405060708090a0b0c0d0e0g\n", "32 hex digits");
  refused("1 AES256 " K128 "\n", "AES256 key must be HEX: and 64 hex");
  refused("0 AES128 " K128 "\n", "k line 1: the key ID must be an integer");
  refused("4294967296 AES128 " K128 "\n", "key ID must be");
  refused("-1 AES128 " K128 "\n", "key ID must be");
  refused("01 AES128 " K128 "\n", "key ID must be");
  refused("x AES128 " K128 "\n", "key ID must be");
  refused("1 AES128 " K128 " extra\n", "unexpected \"extra\"");
  refused("5 AES128 " K128 "\n5 AES256 " K256 "\n",
          "k line 2: key ID 5 is given twice");
  refused("# nothing\n\n", "k: no key");
  refused("", "k: no key");
  char many[P2PC_NTP_KEYS_MAX * 60 + 100];
  size_t at = 0;
  for (int i = 1; i <= P2PC_NTP_KEYS_MAX + 1; i++)
    at += (size_t)snprintf(many + at, sizeof many - at, "%d AES128 %s\n", i,
                           K128);
  refused(many, "k line 65: more than 64 keys");
  p2pc_ntp_key keys[P2PC_NTP_KEYS_MAX];
  size_t n;
  char err[300];
  assert_int_equal(
      p2pc_cli_ntpkeys_parse("k", "1 AES128 \0", 10, keys, &n, err, sizeof err),
      -1);
  assert_non_null(strstr(err, "NUL"));
}

static void test_load_checks(void **state) {
  (void)state;
  char dir[] = "/tmp/p2pc_ntpkeys_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[200];
  snprintf(path, sizeof path, "%s/ntp.keys", dir);
  p2pc_ntp_key keys[P2PC_NTP_KEYS_MAX];
  size_t n = 0;
  char err[600] = "";
  assert_int_equal(p2pc_cli_ntpkeys_load(path, keys, &n, err, sizeof err), -1);
  assert_non_null(strstr(err, "no such file"));
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("9 AES128 " K128 "\n", f);
  fclose(f);
  assert_int_equal(chmod(path, 0644), 0);
  assert_int_equal(p2pc_cli_ntpkeys_load(path, keys, &n, err, sizeof err), -1);
  assert_non_null(strstr(err, "permissions 0644 for"));
  assert_non_null(strstr(err, "too open; chmod 600 it"));
  assert_int_equal(chmod(path, 0640), 0);
  assert_int_equal(p2pc_cli_ntpkeys_load(path, keys, &n, err, sizeof err), -1);
  assert_int_equal(chmod(path, 0600), 0);
  assert_int_equal(p2pc_cli_ntpkeys_load(path, keys, &n, err, sizeof err), 0);
  assert_int_equal(n, 1);
  assert_int_equal(keys[0].id, 9);
  assert_int_equal(p2pc_cli_ntpkeys_load(dir, keys, &n, err, sizeof err), -1);
  assert_non_null(strstr(err, "not a regular file"));
  unlink(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_load_checks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
