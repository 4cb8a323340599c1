/* SPDX-License-Identifier: MIT */
/*
 * Network addresses as text (<p2pclock/p2pclock.h>): the one form every
 * log, event line and tool prints, and its parser for literals.
 */
#include "types.h"

#include <p2pclock/p2pclock.h>

#include <stdbool.h>
#include <string.h>

typedef struct out {
  char *s;
  size_t cap, len;
} out;

static void add(out *o, const char *p, size_t n) {
  for (size_t i = 0; i < n && o->len + 1 < o->cap; i++)
    o->s[o->len++] = p[i];
  if (o->cap)
    o->s[o->len] = '\0';
}

static void add_num(out *o, unsigned v, unsigned base) {
  static const char dig[] = "0123456789abcdef";
  char t[8];
  size_t n = 0;
  do
    t[sizeof t - 1 - n++] = dig[v % base];
  while ((v /= base) != 0);
  add(o, t + sizeof t - n, n);
}

bool p2pc_addr_loopback(const p2pc_addr *a) {
  static const uint8_t one[16] = {[15] = 1};
  return (a->family == 4 && a->addr[0] == 127) ||
         (a->family == 6 && memcmp(a->addr, one, 16) == 0);
}

void p2pc_addr_format(const p2pc_addr *a, char *s, size_t cap) {
  out o = {s, cap, 0};
  if (cap)
    s[0] = '\0';
  if (a->family == 4) {
    for (int i = 0; i < 4; i++) {
      if (i)
        add(&o, ".", 1);
      add_num(&o, a->addr[i], 10);
    }
  } else if (a->family == 6) {
    add(&o, "[", 1);
    for (int i = 0; i < 8; i++) {
      if (i)
        add(&o, ":", 1);
      add_num(&o, (unsigned)(a->addr[2 * i] << 8 | a->addr[2 * i + 1]), 16);
    }
    add(&o, "]", 1);
  } else {
    add(&o, "-", 1);
    return;
  }
  add(&o, ":", 1);
  add_num(&o, a->port, 10);
}

/* A decimal in [0, max] from s[0..n). */
static int dec(const char *s, size_t n, unsigned max, unsigned *v) {
  if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
    return -1;
  unsigned x = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    x = x * 10 + (unsigned)(s[i] - '0');
  }
  if (x > max)
    return -1;
  *v = x;
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* An IPv6 literal (RFC 4291 text, with "::"; no embedded IPv4). */
static int parse_v6(const char *s, size_t n, uint8_t out16[16]) {
  uint16_t head[8], tail[8];
  size_t nh = 0, nt = 0, i = 0;
  bool gap = false;
  if (n >= 2 && s[0] == ':' && s[1] == ':') {
    gap = true;
    i = 2;
  }
  while (i < n) {
    unsigned v = 0;
    size_t d = 0;
    int h;
    while (i < n && (h = hexval(s[i])) >= 0 && d < 4) {
      v = v * 16 + (unsigned)h;
      i++;
      d++;
    }
    if (d == 0 || nh + nt >= 8)
      return -1;
    if (gap)
      tail[nt++] = (uint16_t)v;
    else
      head[nh++] = (uint16_t)v;
    if (i == n)
      break;
    if (s[i] != ':')
      return -1;
    i++;
    if (i < n && s[i] == ':') {
      if (gap)
        return -1;
      gap = true;
      i++;
    } else if (i == n) {
      return -1;
    }
  }
  if ((!gap && nh != 8) || (gap && nh + nt > 7))
    return -1;
  uint16_t w[8] = {0};
  memcpy(w, head, nh * sizeof w[0]);
  memcpy(w + 8 - nt, tail, nt * sizeof w[0]);
  for (int k = 0; k < 8; k++) {
    out16[2 * k] = (uint8_t)(w[k] >> 8);
    out16[2 * k + 1] = (uint8_t)w[k];
  }
  return 0;
}

int p2pc_addr_parse(p2pc_addr *a, const char *s) {
  size_t n = strnlen(s, 64);
  p2pc_addr t = {0};
  const char *port;
  if (n == 64)
    return P2PC_ERR_INVAL;
  if (s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (!close || close[1] != ':' ||
        parse_v6(s + 1, (size_t)(close - s - 1), t.addr) != 0)
      return P2PC_ERR_INVAL;
    t.family = 6;
    port = close + 2;
  } else {
    const char *p = s;
    for (int i = 0; i < 4; i++) {
      size_t d = 0;
      while (p[d] >= '0' && p[d] <= '9')
        d++;
      unsigned v;
      if (dec(p, d, 255, &v) != 0 || p[d] != (i < 3 ? '.' : ':'))
        return P2PC_ERR_INVAL;
      t.addr[i] = (uint8_t)v;
      p += d + 1;
    }
    t.family = 4;
    port = p;
  }
  unsigned pv;
  if (dec(port, strlen(port), 65535, &pv) != 0)
    return P2PC_ERR_INVAL;
  t.port = (uint16_t)pv;
  *a = t;
  return 0;
}
