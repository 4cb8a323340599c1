/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the causal oracle's reader (src/check/evcheck_read.c): the
 * input is lines, each starting with one byte that picks its stream
 * (byte & 3) and a flags bit (byte & 4: the stream's torn last line); the
 * rest of the line goes to p2pc_evcheck_line_ex as it is. Whatever the
 * bytes — JSON or not, stamps past 2^64, nested members named like the
 * ones it reads exactly from the text — the reader must not crash, read
 * out of bounds or overflow, and its verdict must add up: a known status,
 * violations the sum of the kinds, at most P2PC_EVCHECK_LISTED listed,
 * no more delivered or excused messages than sent.
 */
#include "fuzz.h"

#include "evcheck.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  p2pc_evcheck *ec = p2pc_evcheck_new();
  if (!ec)
    return 0;
  /* small enough that a verdict never takes long */
  p2pc_evcheck_set_limit(ec, 1u << 16);
  if (size && (data[0] & 0x80))
    p2pc_evcheck_set_expiry_tolerance(ec, (uint64_t)(data[0] & 0x7f) << 27);
  const char *p = (const char *)data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    if (le > p) {
      unsigned sel = (unsigned char)*p;
      int rv = p2pc_evcheck_line_ex(ec, sel & 3, p + 1, (size_t)(le - p - 1),
                                    (sel & 4) ? P2PC_EVCHECK_UNTERMINATED : 0);
      FUZZ_CHECK(rv == P2PC_EVCHECK_LINE_OK || rv == P2PC_EVCHECK_LINE_BAD ||
                 rv == P2PC_EVCHECK_LINE_LOST);
    }
    p = le + 1;
  }
  p2pc_evcheck_result r;
  int st = p2pc_evcheck_finish(ec, &r);
  FUZZ_CHECK(st >= P2PC_EVCHECK_CHECKED && st <= P2PC_EVCHECK_TOOLARGE &&
             st != P2PC_EVCHECK_NOMEM);
  uint64_t sum = 0;
  for (int k = 0; k < P2PC_EVCHECK_NKINDS; k++)
    sum += r.by_kind[k];
  FUZZ_CHECK(sum == r.violations);
  FUZZ_CHECK(r.nlisted <= P2PC_EVCHECK_LISTED);
  if (st == P2PC_EVCHECK_CHECKED)
    FUZZ_CHECK((r.violations == 0) == (r.first == NULL));
  else
    FUZZ_CHECK(r.violations == 0 && r.nlisted == 0 && r.first == NULL);
  for (uint32_t i = 0; i < r.nlisted; i++)
    FUZZ_CHECK(r.listed[i] != NULL && r.listed[i][0] != '\0');
  FUZZ_CHECK(r.delivered + r.expired + r.undeliverable + r.lost_receiver +
                 r.lost_sender + r.unsettled <=
             r.msg_ids);
  FUZZ_CHECK(r.expiry_lines <= r.lines);
  p2pc_evcheck_free(ec);
  return 0;
}
