/* SPDX-License-Identifier: MIT */
/*
 * gen_corpus: the fuzz_ntp seeds: standard clients' requests (bare, with a
 * legacy MAC or a crypto-NAK, with NTS's fields), p2pclock's requests and
 * replies (with and without a legacy MAC, truncated), and an unknown
 * field, a bad magic and NTPv5.
 */
#include "gen_corpus.h"

#include "ntp.h"

#include <stdio.h>
#include <string.h>

/* ---- NTP datagrams ------------------------------------------------------ */

static void ntp_header(p2pc_ntp_header *h, uint8_t mode) {
  memset(h, 0, sizeof *h);
  h->version = 4;
  h->mode = mode;
  h->poll = 6;
  h->precision = -24;
  if (mode == P2PC_NTP_MODE_SERVER) {
    h->stratum = 2;
    h->root_delay = p2pc_ntp_short_from_ns(1500000);
    h->root_disp = p2pc_ntp_short_from_ns(250000);
    h->refid = 0x7f000001;
    h->ref = p2pc_ntp_ts_from_ns(1767225600LL * 1000000000);
    h->org = 0x3a91c4075e22d09bull;
    h->rec = p2pc_ntp_ts_from_ns(1767225601LL * 1000000000 + 12345);
    h->xmt = p2pc_ntp_ts_from_ns(1767225601LL * 1000000000 + 33345);
  } else {
    h->li = P2PC_NTP_LI_UNSYNC;
    h->xmt = 0x3a91c4075e22d09bull;
  }
}

static void write_ntp(const char *name, const p2pc_ntp_header *h,
                      const p2pc_ntp_ext *e, size_t extra, size_t cut) {
  uint8_t b[P2PC_NTP_PACKET_MAX + 64];
  size_t n = P2PC_NTP_HEADER_LEN;
  p2pc_ntp_header_put(b, h);
  if (e) {
    CHECK("ext_put", p2pc_ntp_ext_put(b + n, e));
    n += P2PC_NTP_EXT_LEN;
  }
  memset(b + n, 0xc3, extra); /* a legacy MAC */
  n += extra;
  write_file("fuzz_ntp", name, b, n - cut);
}

void gen_ntp(void) {
  /* Standard clients: the minimal SNTP request (v3) and ntpdate's. */
  uint8_t sntp[48] = {0x1b};
  write_file("fuzz_ntp", "client-sntp-v3", sntp, sizeof sntp);
  const uint8_t ntpdate[48] = {0xe3, 0x00, 0x04, 0xfa, 0x00,        0x01,
                               0x00, 0x00, 0x00, 0x01, [40] = 0xed, 0x00,
                               0x37, 0x80, 0x40, 0x00, 0x00,        0x00};
  write_file("fuzz_ntp", "client-ntpdate", ntpdate, sizeof ntpdate);

  p2pc_ntp_header h;
  p2pc_ntp_ext e;
  ntp_header(&h, P2PC_NTP_MODE_CLIENT);
  write_ntp("client-v4", &h, NULL, 0, 0);
  memset(&e, 0, sizeof e);
  e.kind = P2PC_NTP_EXT_REQUEST;
  e.flags = P2PC_NTP_EXTF_SYNCED;
  snprintf(e.id, sizeof e.id, "nodeA");
  write_ntp("p2pc-request", &h, &e, 0, 0);
  write_ntp("p2pc-request-mac20", &h, &e, 20, 0);
  /* Requests a server must not answer unverified: legacy MACs (MD5, SHA1,
   * a crypto-NAK) and NTS's fields. */
  write_ntp("client-mac20", &h, NULL, 20, 0);
  write_ntp("client-mac24", &h, NULL, 24, 0);
  {
    uint8_t b[48 + 36 + 104 + 40];
    p2pc_ntp_header_put(b, &h);
    memset(b + 48, 0, 4); /* key id 0, no digest */
    write_file("fuzz_ntp", "client-crypto-nak", b, 48 + 4);
    static const uint16_t type[] = {0x0104, 0x0204, 0x0404};
    static const uint8_t len[] = {36, 104, 40};
    size_t n = 48;
    for (int k = 0; k < 3; k++) {
      memset(b + n, 0x5a, len[k]);
      b[n] = (uint8_t)(type[k] >> 8);
      b[n + 1] = (uint8_t)type[k];
      b[n + 2] = 0;
      b[n + 3] = len[k];
      n += len[k];
    }
    write_file("fuzz_ntp", "client-nts", b, n);
  }

  ntp_header(&h, P2PC_NTP_MODE_SERVER);
  e.kind = P2PC_NTP_EXT_REPLY;
  e.flags = P2PC_NTP_EXTF_SYNCED | P2PC_NTP_EXTF_PREV | P2PC_NTP_EXTF_KERNEL_RX;
  snprintf(e.id, sizeof e.id, "node-B_2.x");
  e.rx_local = 1767225601LL * 1000000000 + 2345;
  e.tx_corr = -10000;
  e.freq_ppb = -12500;
  e.prev_cookie = 0x0123456789abcdefull;
  e.prev_tx_local = 1767225600LL * 1000000000 + 999999999;
  e.root_dist_ns = 812345;
  snprintf(e.ref_id, sizeof e.ref_id, "nodeA");
  e.hops = 1;
  write_ntp("p2pc-reply", &h, &e, 0, 0);
  write_ntp("p2pc-reply-mac24", &h, &e, 24, 0);
  write_ntp("p2pc-reply-truncated", &h, &e, 0, 100);
  e.ref_id[0] = '\0';
  e.hops = 0;
  e.flags = 0;
  write_ntp("p2pc-reply-noref", &h, &e, 0, 0);

  /* An unknown field before ours; a bad magic; NTPv5. */
  uint8_t b[P2PC_NTP_PACKET_MAX + 36];
  p2pc_ntp_header_put(b, &h);
  memset(b + 48, 0, 36);
  b[48 + 1] = 0x04; /* type 0x0104 */
  b[48 + 3] = 36;
  CHECK("ext_put", p2pc_ntp_ext_put(b + 48 + 36, &e));
  write_file("fuzz_ntp", "unknown-field-then-p2pc", b, sizeof b);
  b[48 + 36 + 4] = 'P';
  write_file("fuzz_ntp", "bad-magic", b, sizeof b);
  h.version = 5;
  write_ntp("bad-version", &h, NULL, 0, 0);
}
