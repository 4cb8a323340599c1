/* SPDX-License-Identifier: MIT */
/*
 * NTPv4 packets (RFC 5905 §7.3) and p2pclock's extension field (RFC 7822
 * framing), plus the on-wire maths of RFC 5905 §8 (ALGORITHMS.md §C.2).
 *
 * Times inside the core are int64 nanoseconds since the Unix epoch; the
 * wire carries 64-bit NTP timestamps (32.32 seconds since 1900) and 32-bit
 * short values (16.16 seconds). Conversions are explicit and never cast a
 * struct onto a packet. Decoders write their outputs only on success.
 *
 * A standard client sends a bare 48-byte header. A p2pclock node appends one
 * extension field of type P2PC_NTP_EXT_TYPE to its requests and replies:
 *
 *   type(2) length(2) | magic "p2pc"(4) | version(1) | kind(1) | flags(2) |
 *   id_len(1) id(id_len) | kind-specific body | zero padding to length
 *
 * (all integers big-endian; length counts the whole field, a multiple of 4,
 * at least 28 as RFC 7822 asks of a last field without a MAC). A request's
 * field is padded to the size of the reply's, so a reply is never larger
 * than the request it answers.
 */
#ifndef P2PC_NTP_H
#define P2PC_NTP_H

#include "idtab.h"
#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define P2PC_NTP_HEADER_LEN 48
/* An unassigned, experimental-looking extension field type. */
#define P2PC_NTP_EXT_TYPE 0xF5C1
#define P2PC_NTP_EXT_VERSION 1
/* Our request and reply extension fields are both exactly this long. */
#define P2PC_NTP_EXT_LEN 196
#define P2PC_NTP_PACKET_MAX (P2PC_NTP_HEADER_LEN + P2PC_NTP_EXT_LEN)
/* Secure mode (docs/CLOCK.md, "Authenticated exchanges"): a packet with
 * our field ends with a P2PC_NTP_AUTH_LEN-byte MAC, and the field is
 * P2PC_NTP_EXT_LEN_AUTH bytes, so that the whole still fits
 * P2PC_NTP_PACKET_MAX. */
#define P2PC_NTP_AUTH_LEN 16
#define P2PC_NTP_EXT_LEN_AUTH                                                  \
  (P2PC_NTP_PACKET_MAX - P2PC_NTP_HEADER_LEN - P2PC_NTP_AUTH_LEN)
/* Offset of the transmit timestamp in the header. */
#define P2PC_NTP_XMT_OFFSET 40

/* Unix epoch (1970) minus NTP epoch (1900), seconds. */
#define P2PC_NTP_UNIX_OFFSET 2208988800u

enum {
  P2PC_NTP_MODE_SYMACTIVE = 1,
  P2PC_NTP_MODE_SYMPASSIVE = 2,
  P2PC_NTP_MODE_CLIENT = 3,
  P2PC_NTP_MODE_SERVER = 4,
  P2PC_NTP_MODE_BROADCAST = 5,
  P2PC_NTP_MODE_CONTROL = 6,
  P2PC_NTP_MODE_PRIVATE = 7
};

enum {
  P2PC_NTP_LI_NONE = 0,
  P2PC_NTP_LI_UNSYNC = 3 /* "alarm condition (clock not synchronized)" */
};

#define P2PC_NTP_STRATUM_UNSYNC 16
/* A Kiss-o'-Death (stratum 0) code, in the refid: "RATE" (RFC 5905 §7.4). */
#define P2PC_NTP_KOD_RATE 0x52415445u

/* The 48-byte header, decoded. Timestamps stay in wire format (64-bit NTP,
 * 32-bit short); p2pc_ntp_ts_* convert them. */
typedef struct p2pc_ntp_header {
  uint8_t li, version, mode;
  uint8_t stratum;
  int8_t poll, precision;         /* log2 seconds */
  uint32_t root_delay, root_disp; /* short format */
  uint32_t refid;
  uint64_t ref, org, rec, xmt;
} p2pc_ntp_header;

typedef enum p2pc_ntp_ext_kind {
  P2PC_NTP_EXT_REQUEST = 1,
  P2PC_NTP_EXT_REPLY = 2
} p2pc_ntp_ext_kind;

/* Extension flags. */
#define P2PC_NTP_EXTF_SYNCED 0x0001 /* the sender's network time is synced */
#define P2PC_NTP_EXTF_PREV 0x0002   /* reply: prev_* (interleaved) is valid */
#define P2PC_NTP_EXTF_KERNEL_RX 0x0004 /* reply: rx_local is a kernel stamp */
/* reply: the server serves as many clients as it takes (serve_max) */
#define P2PC_NTP_EXTF_FULL 0x0008
/* reply: ... and the requester is not one of them: poll another source
 * (docs/CLOCK.md, Tiers). The reply is a good one all the same. */
#define P2PC_NTP_EXTF_REFUSED 0x0010

/*
 * p2pclock's extension field. A request carries only kind, flags and id
 * (the requester's node ID); the body of a reply:
 *
 *   rx_local      i64  the server's local clock when the request arrived
 *   tx_corr       i64  network time − local clock that the server added to
 *                      its local clock to stamp the transmit timestamp
 *   freq_ppb      i64  the server's frequency correction (network vs local)
 *   prev_cookie   u64  interleaved mode: the transmit field (cookie) of the
 *   prev_tx_local i64  requester's previous request, and the server's local
 *                      kernel transmit time of the reply to it
 *   root_dist_ns  i64  the server's error bound (root distance), full
 *                      resolution (the header's 16.16 fields lose 15 µs)
 *   ref_id        str  the reference the server follows ("" if none)
 *   hops          u8   hops from that reference (0 = it is the reference)
 */
typedef struct p2pc_ntp_ext {
  uint8_t kind;
  uint16_t flags;
  char id[P2PC_NODE_ID_MAX + 1];
  int64_t rx_local;
  int64_t tx_corr;
  int64_t freq_ppb;
  uint64_t prev_cookie;
  int64_t prev_tx_local;
  int64_t root_dist_ns;
  char ref_id[P2PC_NODE_ID_MAX + 1];
  uint8_t hops;
} p2pc_ntp_ext;

/* ---- timestamps ---------------------------------------------------------- */

/* ns since the Unix epoch -> 64-bit NTP timestamp (era 0 or 1, wrapping at
 * 2036 as RFC 5905 does). Rounds to the nearest 2^-32 s. */
uint64_t p2pc_ntp_ts_from_ns(int64_t unix_ns);
/* 64-bit NTP timestamp -> ns since the Unix epoch, choosing the era that
 * puts the result within 68 years of pivot_ns (e.g. the local clock). */
int64_t p2pc_ntp_ts_to_ns(uint64_t ts, int64_t pivot_ns);
/* ns -> 16.16 short format, rounded up (these fields carry error bounds,
 * which must not shrink), 0 for ns <= 0, saturating at 0xffffffff; and back,
 * rounded down, so that short_from_ns(short_to_ns(s)) == s. */
uint32_t p2pc_ntp_short_from_ns(int64_t ns);
int64_t p2pc_ntp_short_to_ns(uint32_t s);
/* ns -> log2 seconds, rounded up: the smallest k with 2^k s >= ns (e.g.
 * 1000 ns -> -19), clamped to [-32, 31] (ns <= 0 -> -32): the header's
 * precision and poll fields. */
int8_t p2pc_ntp_log2_from_ns(int64_t ns);

/* ---- packets ------------------------------------------------------------- */

/* Writes the header (48 bytes) into out[0..48). */
void p2pc_ntp_header_put(uint8_t out[P2PC_NTP_HEADER_LEN],
                         const p2pc_ntp_header *h);
/* Writes our extension field (exactly P2PC_NTP_EXT_LEN bytes) into out; a
 * request's body after the id is zeros (its reply fields are ignored).
 * Returns P2PC_NTP_EXT_LEN, or P2PC_ERR_INVAL (and writes nothing) if the
 * kind is neither REQUEST nor REPLY or an ID is invalid. */
int p2pc_ntp_ext_put(uint8_t out[P2PC_NTP_EXT_LEN], const p2pc_ntp_ext *e);
/* The same at len bytes (a multiple of 4, 28..P2PC_NTP_EXT_LEN):
 * P2PC_NTP_EXT_LEN_AUTH in secure mode. Returns len, P2PC_ERR_INVAL as
 * above, or P2PC_ERR_TOOBIG if the content does not fit (a reply whose
 * two IDs together pass 117 bytes does not fit P2PC_NTP_EXT_LEN_AUTH). */
int p2pc_ntp_ext_put_len(uint8_t *out, size_t len, const p2pc_ntp_ext *e);

/*
 * Decodes a datagram: the header, then the extension fields. Returns 0 and
 * fills h; *has_ext tells whether one of the fields was a well-formed
 * p2pclock field (then *e is filled). Other extension fields (RFC 7822) are
 * skipped; a datagram shorter than 48 bytes, a version other than 3 or 4,
 * a malformed extension chain, or a p2pclock field with a bad magic,
 * version, kind or ID (or a second p2pclock field) is P2PC_ERR_PROTO. A
 * trailing 4..24-byte legacy MAC (key id + digest) after the fields is
 * tolerated and ignored; so any trailer of that size is taken for a MAC,
 * since a field is at least 16 bytes (accepted down to that, not 28).
 * A p2pclock field of any length that holds its content is accepted and
 * its padding is not inspected. A request decodes with its reply fields
 * zero and ref_id "". On success with no p2pclock field, *e is untouched.
 */
int p2pc_ntp_decode(const uint8_t *b, size_t len, p2pc_ntp_header *h,
                    p2pc_ntp_ext *e, bool *has_ext);

/* What a datagram carries besides the header and p2pclock's field: what
 * a server that verifies none of it must not answer unauthenticated. */
typedef struct p2pc_ntp_trailer {
  uint32_t fields; /* extension fields of other types (skipped), NTS's
                      (RFC 8915) among them */
  uint8_t mac_len; /* the legacy MAC's bytes (key id + digest; 4 alone is
                      a crypto-NAK), 0 if none */
} p2pc_ntp_trailer;

/* p2pc_ntp_decode, and on success *t says what else the datagram carried
 * (written only on success, like the rest). */
int p2pc_ntp_decode_full(const uint8_t *b, size_t len, p2pc_ntp_header *h,
                         p2pc_ntp_ext *e, bool *has_ext, p2pc_ntp_trailer *t);

/* ---- on-wire maths (RFC 5905 §8) ----------------------------------------- */

/* From T1 (client transmit), T2 (server receive), T3 (server transmit) and
 * T4 (client receive), all ns: offset = ((T2−T1)+(T3−T4))/2 (server minus
 * client; the halving truncates toward zero), delay = (T4−T1)−(T3−T2),
 * floored at precision_ns. Everything is exact integer arithmetic, so
 * nothing is lost to doubles; results beyond int64 saturate. */
void p2pc_ntp_offset_delay(int64_t t1, int64_t t2, int64_t t3, int64_t t4,
                           int64_t precision_ns, int64_t *offset,
                           int64_t *delay);

#endif /* P2PC_NTP_H */
