/* SPDX-License-Identifier: MIT */
/*
 * Parsing the numbers people type: integers with a range, plain decimal
 * numbers, durations with a unit ("1.5s", "250ms") and HOST:PORT. One set
 * of parsers for every text the project reads (the command's flags and
 * config file, the simulator's scenarios, the tools), so "9000", "-0.5" and
 * "[::1]:9000" mean the same everywhere and are refused alike.
 *
 * Every parser reads the whole text (a value followed by anything else is
 * refused), accepts no blanks, no hexadecimal, no "inf" or "nan", writes
 * *out only on success and returns whether it succeeded. Pure: no locale
 * (the C locale is assumed), no errno, no allocation.
 */
#ifndef P2PC_PARSE_H
#define P2PC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* s[0..len): a decimal integer lo..hi written with digits only (no sign,
 * no "+"), any number of leading zeros. */
bool p2pc_parse_u64(const char *s, size_t len, uint64_t lo, uint64_t hi,
                    uint64_t *out);

/* s[0..len): a decimal integer lo..hi: digits with an optional "-" ("-0"
 * is 0; no "+"). */
bool p2pc_parse_i64(const char *s, size_t len, int64_t lo, int64_t hi,
                    int64_t *out);

/* Flags of p2pc_parse_double. */
#define P2PC_PARSE_SIGNED 1u /* a leading "-" is allowed */
#define P2PC_PARSE_PLUS 2u   /* ... and a leading "+" */

/*
 * The NUL-terminated s as a finite decimal number: digits with at most an
 * exponent ("1e-3", ".5", "5."), negative only with P2PC_PARSE_SIGNED. A
 * value that overflows or underflows a double is refused, as is anything
 * strtod would read as hexadecimal, infinity or NaN.
 */
bool p2pc_parse_double(const char *s, unsigned flags, double *out);

/*
 * The number at the start of the NUL-terminated s (a leading "+" or "-"
 * allowed), in decimal: *rest gets what follows it (a unit). For the
 * parsers of values with units, such as p2pc_parse_duration.
 */
bool p2pc_parse_number_prefix(const char *s, double *out, const char **rest);

/*
 * A duration with its unit, the scenario syntax: a number followed by
 * "ns", "us", "ms", "s" or "min" ("1.5s", "250ms"), in nanoseconds as a
 * double, within +-max_s seconds. A bare number is read in units of
 * bare_ns nanoseconds, or refused if bare_ns is 0 (a bare 0 is always
 * allowed). Negative only with P2PC_PARSE_SIGNED in flags.
 */
bool p2pc_parse_duration(const char *s, double max_s, unsigned flags,
                         double bare_ns, double *ns);

/* What p2pc_parse_hostport found wrong. */
typedef enum p2pc_hostport_err {
  P2PC_HOSTPORT_OK = 0,
  P2PC_HOSTPORT_SHAPE,     /* not HOST:PORT, or an IPv6 HOST without [] */
  P2PC_HOSTPORT_HOST_LONG, /* HOST does not fit the caller's buffer */
  P2PC_HOSTPORT_NOT_V6,    /* "[HOST]" without a ':' inside */
  P2PC_HOSTPORT_PORT       /* PORT is not an integer 1..65535 */
} p2pc_hostport_err;

/*
 * Splits the NUL-terminated "HOST:PORT" or "[IPV6]:PORT": the HOST as
 * written (without brackets) into host[0..hostn), NUL-terminated, and the
 * PORT (1..65535) into *port. Only the shape is checked: whether HOST is a
 * valid address or name is the caller's question. On
 * P2PC_HOSTPORT_PORT the HOST has been written, so that a caller can blame
 * a bad HOST before a bad PORT; on any failure *port may have been written.
 */
p2pc_hostport_err p2pc_parse_hostport(const char *s, char *host, size_t hostn,
                                      uint16_t *port);

#endif /* P2PC_PARSE_H */
