/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the control protocol's decoders (src/ctl/proto.c). The
 * input is, at once: a request line for p2pc_ctl_validate (after cJSON,
 * as the server parses it), a base64 text for the decoder, and a payload
 * for the stream's field. Invariants: base64 is accepted only in its
 * canonical form (decode then encode gives the input back) and valid iff
 * decodable; a payload's field is JSON whose value gives the payload's
 * bytes back, within P2PC_CTL_PAYLOAD_FIELD_MAX; a validated request's
 * entry is the table's entry of its "cmd".
 */
#include "fuzz.h"

#include "proto.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096)
    return 0;
  char *text = malloc(size + 1);
  uint8_t *bytes = malloc(size + 3);
  size_t cap = P2PC_CTL_PAYLOAD_FIELD_MAX(size) + 2;
  char *field = malloc(cap + 2);
  char *again = malloc(P2PC_CTL_B64_LEN(size) + 1);
  FUZZ_CHECK(text && bytes && field && again);
  memcpy(text, data, size);
  text[size] = '\0';

  /* A request. */
  char err[300];
  cJSON *req = cJSON_Parse(text);
  const p2pc_ctl_request *r = p2pc_ctl_validate(req, err, sizeof err);
  if (r) {
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
    FUZZ_CHECK(r == p2pc_ctl_find(cmd->valuestring));
  }
  cJSON_Delete(req);
  (void)p2pc_ctl_has_nul_escape(text, size);

  /* Base64 (the text up to its first NUL). */
  long n = p2pc_ctl_b64_decode(text, bytes);
  FUZZ_CHECK((n >= 0) == p2pc_ctl_b64_valid(text));
  if (n >= 0) {
    p2pc_ctl_b64_encode(bytes, (size_t)n, again);
    FUZZ_CHECK(strcmp(again, text) == 0);
  }

  /* The stream's field for the input as a payload. */
  field[0] = '{';
  long k = p2pc_ctl_payload_field(data, size, field + 1, cap);
  FUZZ_CHECK(k > 0 && (size_t)k < cap);
  field[1] = ' ';
  field[k + 1] = '}';
  field[k + 2] = '\0';
  cJSON *o = cJSON_Parse(field);
  FUZZ_CHECK(o != NULL);
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "text");
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "b64");
  FUZZ_CHECK(cJSON_IsString(t) != cJSON_IsString(b));
  FUZZ_CHECK(cJSON_IsString(t) == p2pc_ctl_payload_is_text(data, size));
  if (cJSON_IsString(t)) {
    FUZZ_CHECK(strlen(t->valuestring) == size &&
               memcmp(t->valuestring, data, size) == 0);
  } else {
    FUZZ_CHECK(p2pc_ctl_b64_decode(b->valuestring, bytes) == (long)size &&
               memcmp(bytes, data, size) == 0);
  }
  cJSON_Delete(o);
  free(text);
  free(bytes);
  free(field);
  free(again);
  return 0;
}
