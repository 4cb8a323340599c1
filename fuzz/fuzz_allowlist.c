/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the allowlist parser (src/cli/allowlist.c). The input
 * is a file's text. Invariants: a list is accepted with 1..4096 members,
 * each a valid node ID with a key and no role but reference, no ID and
 * no key twice; a refused text gives no list and says why; the same
 * text parses the same way twice.
 */
#include "fuzz.h"

#include "allowlist.h"
#include "idtab.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 16)
    return 0;
  p2pc_member *m = NULL, *again = NULL;
  size_t n = 0, n2 = 0;
  char err[300] = "", err2[300] = "";
  int rv = p2pc_cli_allowlist_parse("f", (const char *)data, size, &m, &n, err,
                                    sizeof err);
  int rv2 = p2pc_cli_allowlist_parse("f", (const char *)data, size, &again, &n2,
                                     err2, sizeof err2);
  FUZZ_CHECK(rv == rv2 && n == n2);
  if (rv != 0) {
    FUZZ_CHECK(rv == -1 && !m && n == 0 && err[0] && strcmp(err, err2) == 0);
    return 0;
  }
  FUZZ_CHECK(m && n >= 1 && n <= P2PC_ALLOWLIST_MAX);
  FUZZ_CHECK(memcmp(m, again, n * sizeof *m) == 0);
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(p2pc_node_id_valid(m[i].id, strlen(m[i].id)));
    FUZZ_CHECK((m[i].roles & ~P2PC_ROLE_REFERENCE) == 0);
    for (size_t j = 0; j < i; j++)
      FUZZ_CHECK(strcmp(m[i].id, m[j].id) != 0 &&
                 memcmp(m[i].key, m[j].key, sizeof m[i].key) != 0);
  }
  free(m);
  free(again);
  return 0;
}
