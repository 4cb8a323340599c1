/* SPDX-License-Identifier: MIT */
/*
 * The control protocol's table and codecs (src/ctl/proto.c): request
 * validation against the table (types, ranges, required and one-of
 * arguments, unknown keys), base64 both ways and only canonically, the
 * text-or-base64 choice for a payload and its JSON escaping, the \u0000
 * guard; and docs/CONTROL.md documents every request and argument of the
 * table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

/* validate's verdict on a request text: NULL ok, else its error. */
static const char *verdict(const char *json) {
  static char err[300];
  cJSON *req = cJSON_Parse(json);
  assert_non_null(req);
  const p2pc_ctl_request *r = p2pc_ctl_validate(req, err, sizeof err);
  cJSON_Delete(req);
  return r ? NULL : err;
}

static void test_validate(void **state) {
  (void)state;
  assert_null(verdict("{\"cmd\":\"status\"}"));
  assert_null(verdict("{\"cmd\":\"send\",\"to\":\"B\",\"text\":\"hi\"}"));
  assert_null(verdict("{\"cmd\":\"send\",\"to\":\"B\",\"b64\":\"AAE=\"}"));
  assert_null(verdict("{\"cmd\":\"simulate\",\"count\":100000}"));
  assert_null(verdict("{\"cmd\":\"vclock\"}"));
  assert_null(verdict("{\"cmd\":\"vclock\",\"step_s\":-1e6}"));
  assert_null(verdict("{\"cmd\":\"subscribe\"}"));
  assert_null(verdict("{\"cmd\":\"subscribe\",\"events\":[\"*\"]}"));
  assert_null(
      verdict("{\"cmd\":\"subscribe\",\"events\":[\"deliver\",\"peer_up\"]}"));
  assert_string_equal(verdict("{\"cmd\":1}"), "request has no \"cmd\" string");
  assert_string_equal(verdict("{\"cmd\":\"nope\"}"), "unknown command: nope");
  assert_string_equal(verdict("{\"cmd\":\"status\",\"x\":1}"),
                      "status: unknown argument \"x\"");
  assert_string_equal(verdict("{\"cmd\":\"send\",\"text\":\"hi\"}"),
                      "send needs \"to\"");
  assert_string_equal(verdict("{\"cmd\":\"send\",\"to\":\"B\"}"),
                      "send needs \"text\" or \"b64\"");
  assert_string_equal(
      verdict("{\"cmd\":\"send\",\"to\":\"B\",\"text\":\"a\",\"b64\":\"\"}"),
      "send needs only one of \"text\" or \"b64\"");
  assert_non_null(strstr(
      verdict("{\"cmd\":\"send\",\"to\":\"B C\",\"text\":\"a\"}"), "node ID"));
  assert_non_null(verdict("{\"cmd\":\"send\",\"to\":\"\",\"text\":\"a\"}"));
  assert_non_null(verdict("{\"cmd\":\"send\",\"to\":\"B\",\"text\":1}"));
  assert_non_null(verdict("{\"cmd\":\"send\",\"to\":\"B\",\"b64\":\"AB==\"}"));
  assert_non_null(verdict("{\"cmd\":\"simulate\",\"count\":0}"));
  assert_non_null(verdict("{\"cmd\":\"simulate\",\"count\":1.5}"));
  assert_non_null(verdict("{\"cmd\":\"simulate\",\"count\":100001}"));
  assert_non_null(verdict("{\"cmd\":\"simulate\",\"count\":\"5\"}"));
  assert_non_null(verdict("{\"cmd\":\"simulate\"}"));
  assert_non_null(verdict("{\"cmd\":\"simulate\",\"count\":1e400}"));
  assert_non_null(verdict("{\"cmd\":\"vclock\",\"drift_ppm\":1000.5}"));
  assert_non_null(verdict("{\"cmd\":\"subscribe\",\"events\":[]}"));
  assert_non_null(verdict("{\"cmd\":\"subscribe\",\"events\":\"deliver\"}"));
  assert_non_null(verdict("{\"cmd\":\"subscribe\",\"events\":[\"nope\"]}"));
  /* The derived types are for the API, not the stream. */
  assert_non_null(verdict("{\"cmd\":\"subscribe\",\"events\":[\"writable\"]}"));
  assert_non_null(verdict("{\"cmd\":\"subscribe\",\"events\":[1]}"));
}

static void test_table(void **state) {
  (void)state;
  for (unsigned i = 0; i < p2pc_ctl_nrequests; i++) {
    const p2pc_ctl_request *r = &p2pc_ctl_requests[i];
    assert_ptr_equal(p2pc_ctl_find(r->name), r);
    assert_non_null(r->help);
    assert_non_null(r->reply);
    unsigned one_of = 0;
    for (unsigned k = 0; k < r->nargs; k++) {
      const p2pc_ctl_arg *a = &r->args[k];
      assert_ptr_equal(p2pc_ctl_arg_find(r, a->key), a);
      assert_true(a->min <= a->max);
      assert_non_null(a->help);
      assert_non_null(a->what);
      if (a->cli == P2PC_CTL_CLI_OPTION)
        assert_true(a->flag && strncmp(a->flag, "--", 2) == 0);
      if (a->cli != P2PC_CTL_CLI_NONE)
        assert_non_null(a->metavar);
      one_of += (a->flags & P2PC_CTL_ONE_OF) != 0;
    }
    assert_true(one_of != 1); /* one of one is just required */
  }
  assert_null(p2pc_ctl_find("recv"));
}

static void test_b64(void **state) {
  (void)state;
  uint8_t in[64], out[64];
  char s[P2PC_CTL_B64_LEN(64) + 1];
  for (size_t i = 0; i < sizeof in; i++)
    in[i] = (uint8_t)(i * 37 + 255);
  for (size_t n = 0; n <= sizeof in; n++) {
    p2pc_ctl_b64_encode(in, n, s);
    assert_int_equal(strlen(s), P2PC_CTL_B64_LEN(n));
    assert_true(p2pc_ctl_b64_valid(s));
    assert_int_equal(p2pc_ctl_b64_decode(s, out), (long)n);
    assert_memory_equal(in, out, n);
  }
  p2pc_ctl_b64_encode((const uint8_t *)"\x00\x01\x02\xff", 4, s);
  assert_string_equal(s, "AAEC/w==");
  static const char *const bad[] = {
      "A",        "AA=",  "AB==",  "AAB=", "A===",   "====",     "AA=A",
      "AA==AA==", "AA A", "AA\n=", "-_==", "AA==\n", "AAAAAAA=A"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_false(p2pc_ctl_b64_valid(bad[i]));
    if (strlen(bad[i]) % 4 == 0 && !strstr(bad[i], "==AA"))
      assert_int_equal(p2pc_ctl_b64_decode(bad[i], out), -1);
  }
}

static void test_text(void **state) {
  (void)state;
#define T(s) p2pc_ctl_payload_is_text((const uint8_t *)(s), sizeof(s) - 1)
  assert_true(T(""));
  assert_true(T("hello, world"));
  assert_true(T("tab\there\r\n"));
  assert_true(T("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  assert_false(T("a\0b"));
  assert_false(T("\x1b[0m"));
  assert_false(T("\xff"));
  assert_false(T("\xc0\x80"));         /* overlong NUL */
  assert_false(T("\xe0\x80\xaf"));     /* overlong */
  assert_false(T("\xed\xa0\x80"));     /* a surrogate */
  assert_false(T("\xf4\x90\x80\x80")); /* past U+10FFFF */
  assert_false(T("\xc3"));             /* cut short */
#undef T
}

/* The field parsed back as JSON gives the payload's bytes. */
static void roundtrip(const uint8_t *p, size_t len, const char *kind) {
  size_t cap = P2PC_CTL_PAYLOAD_FIELD_MAX(len);
  char *s = malloc(cap + 2);
  assert_non_null(s);
  s[0] = '{';
  long n = p2pc_ctl_payload_field(p, len, s + 1, cap);
  assert_true(n > 0);
  assert_int_equal(p2pc_ctl_payload_field(p, len, s + 1, (size_t)n), -1);
  s[1] = ' '; /* the leading comma */
  s[n + 1] = '}';
  s[n + 2] = '\0';
  cJSON *o = cJSON_Parse(s);
  assert_non_null(o);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, kind);
  assert_true(cJSON_IsString(v));
  if (strcmp(kind, "text") == 0) {
    assert_int_equal(strlen(v->valuestring), len);
    assert_memory_equal(v->valuestring, p, len);
  } else {
    uint8_t *b = malloc(len + 3);
    assert_int_equal(p2pc_ctl_b64_decode(v->valuestring, b), (long)len);
    assert_memory_equal(b, p, len);
    free(b);
  }
  cJSON_Delete(o);
  free(s);
}

static void test_payload_field(void **state) {
  (void)state;
  static const char t[] = "hi \"there\" \\ \n\t\r \xc3\xa9";
  roundtrip((const uint8_t *)t, sizeof t - 1, "text");
  roundtrip((const uint8_t *)"", 0, "text");
  roundtrip((const uint8_t *)"\x00\x01\x02\xff", 4, "b64");
  /* The worst case for the bound: every byte escaped. */
  uint8_t q[300];
  memset(q, '"', sizeof q);
  roundtrip(q, sizeof q, "text");
  memset(q, 0, sizeof q);
  roundtrip(q, sizeof q, "b64");
  char s[64];
  uint8_t *big = calloc(1, P2PC_CTL_STREAM_PAYLOAD_MAX + 1);
  assert_non_null(big);
  assert_true(p2pc_ctl_payload_field(big, P2PC_CTL_STREAM_PAYLOAD_MAX + 1, s,
                                     sizeof s) > 0);
  assert_string_equal(s, ",\"truncated\":true");
  free(big);
}

static void test_nul_escape(void **state) {
  (void)state;
#define N(s) p2pc_ctl_has_nul_escape(s, sizeof(s) - 1)
  assert_true(N("{\"text\":\"a\\u0000b\"}"));
  assert_false(N("{\"text\":\"a\\\\u0000b\"}"));
  assert_false(N("{\"text\":\"a\\u0001b\"}"));
  assert_false(N("{\"text\":\"\\u000\"}"));
#undef N
}

/* docs/CONTROL.md names every request as {"cmd":"NAME" and every argument
 * as "KEY". */
static void test_documented(void **state) {
  (void)state;
  FILE *f = fopen(P2PC_CONTROL_DOC, "r");
  assert_non_null(f);
  static char doc[256 * 1024];
  size_t n = fread(doc, 1, sizeof doc - 1, f);
  fclose(f);
  doc[n] = '\0';
  for (unsigned i = 0; i < p2pc_ctl_nrequests; i++) {
    const p2pc_ctl_request *r = &p2pc_ctl_requests[i];
    char want[80];
    snprintf(want, sizeof want, "{\"cmd\":\"%s\"", r->name);
    if (!strstr(doc, want))
      fail_msg("CONTROL.md does not document %s", want);
    for (unsigned k = 0; k < r->nargs; k++) {
      snprintf(want, sizeof want, "\"%s\"", r->args[k].key);
      if (!strstr(doc, want))
        fail_msg("CONTROL.md does not document %s's %s", r->name, want);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_validate),      cmocka_unit_test(test_table),
      cmocka_unit_test(test_b64),           cmocka_unit_test(test_text),
      cmocka_unit_test(test_payload_field), cmocka_unit_test(test_nul_escape),
      cmocka_unit_test(test_documented),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
