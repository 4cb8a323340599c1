/* SPDX-License-Identifier: MIT */
/*
 * The node's human log, bounded: whatever a peer or a stranger sends, the
 * lines it makes the node write are limited (issue 13: 137,000 identical
 * WARN lines in 45 s filled a disk). Debug lines, asked for, are not.
 *
 * Two limits, each a GCRA (a token bucket kept as one "theoretical
 * arrival time"): lines of one shape — the text with every run of digits
 * read as one digit, so that ports, counts and numbered IDs do not make
 * lines different — pass LOG_SHAPE_BURST at once, then one a second; all
 * lines together pass LOG_ALL_BURST at once, then LOG_ALL_PER_S a second.
 * Nothing held back goes unsaid: the count (and a sample of a shape's
 * last line) is written before the next line of that shape that passes,
 * when its slot is taken by another shape, when a second has gone by
 * (p2pc_node_next_deadline wakes the node for it), and when the node is
 * freed.
 */
#include "nodeint.h"
#include "num.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define SECOND_NS 1000000000ull
#define LOG_SHAPE_BURST 20
#define LOG_SHAPE_EVERY_NS SECOND_NS
#define LOG_ALL_BURST 200
#define LOG_ALL_PER_S 50
#define LOG_ALL_EVERY_NS (SECOND_NS / LOG_ALL_PER_S)

/* FNV-1a of the text, a run of digits counting as one '0'. */
static uint32_t shape_of(const char *text) {
  uint32_t h = P2PC_FNV1A_BASIS;
  bool in_digits = false;
  for (const char *p = text; *p; p++) {
    bool digit = *p >= '0' && *p <= '9';
    if (digit && in_digits)
      continue;
    in_digits = digit;
    h = p2pc_fnv1a_step(h, (uint8_t)(digit ? '0' : *p));
  }
  return h;
}

/* Whether a line may pass now under the GCRA (*tat, every, burst). */
static bool gcra_pass(uint64_t *tat, uint64_t t, uint64_t every,
                      uint32_t burst) {
  uint64_t tolerance = every * (burst - 1);
  if (*tat > t && *tat - t > tolerance)
    return false;
  *tat = (*tat > t ? *tat : t) + every;
  return true;
}

static void emit(p2pc_node *n, p2pc_log_level lv, const char *text) {
  n->cb.log(n->cb.log_ud ? n->cb.log_ud : n->cb.ud, lv, text);
}

/* "log: N line(s) ... held back over S s (rate limit)" + tail. */
static void say_held(p2pc_node *n, p2pc_log_level lv, uint64_t held,
                     uint64_t since, const char *what, const char *sample) {
  char s[P2PC_LOG_SAMPLE + 160] = "log: ";
  uint64_t ms = n->now.mono_ns > since ? (n->now.mono_ns - since) / 1000000 : 0;
  p2pc_str_u64(s, sizeof s, held);
  p2pc_str_cat(s, sizeof s, held == 1 ? " line " : " lines ");
  p2pc_str_cat(s, sizeof s, what);
  p2pc_str_cat(s, sizeof s, " held back over ");
  p2pc_str_u64(s, sizeof s, ms / 1000);
  p2pc_str_cat(s, sizeof s, ".");
  char frac[4] = {(char)('0' + ms % 1000 / 100), 0};
  p2pc_str_cat(s, sizeof s, frac);
  p2pc_str_cat(s, sizeof s, " s (rate limit)");
  if (sample) {
    p2pc_str_cat(s, sizeof s, ", the last: ");
    p2pc_str_cat(s, sizeof s, sample);
  }
  emit(n, lv, s);
}

static void flush_shape(p2pc_node *n, p2pc__logshape *s) {
  if (!s->held)
    return;
  say_held(n, (p2pc_log_level)s->lv, s->held, s->held_since, "of one kind",
           s->sample);
  s->held = 0;
}

static void flush_all(p2pc_node *n) {
  if (!n->log.held)
    return;
  say_held(n, (p2pc_log_level)n->log.lv, n->log.held, n->log.held_since,
           "(of every kind, more than " STR(LOG_ALL_PER_S) " a second)", NULL);
  n->log.held = 0;
}

/* The next time a count held back is due to be said. */
static void update_due(p2pc_node *n) {
  uint64_t d = n->log.held ? n->log.held_since + SECOND_NS : UINT64_MAX;
  for (uint32_t i = 0; i < P2PC_LOG_SHAPES; i++)
    if (n->log.shape[i].held && n->log.shape[i].held_since + SECOND_NS < d)
      d = n->log.shape[i].held_since + SECOND_NS;
  n->log.due_ns = d;
}

/* The slot of shape h: its own, a free one, or the one least recently
 * used (its count said first). */
static p2pc__logshape *slot_of(p2pc_node *n, uint32_t h) {
  p2pc__logshape *lru = &n->log.shape[0];
  for (uint32_t i = 0; i < P2PC_LOG_SHAPES; i++) {
    p2pc__logshape *s = &n->log.shape[i];
    if (s->used && s->hash == h)
      return s;
    if (!s->used || (lru->used && s->last_ns < lru->last_ns))
      lru = s;
  }
  flush_shape(n, lru);
  *lru = (p2pc__logshape){.used = true, .hash = h};
  return lru;
}

/* One more line of level lv held back in a count (held, since, the most
 * severe level); the first of a count has the node wake a second later to
 * say it. */
static void hold(p2pc_node *n, uint64_t *held, uint64_t *since, uint8_t *worst,
                 p2pc_log_level lv) {
  uint64_t t = n->now.mono_ns;
  if ((*held)++ == 0) {
    *since = t;
    *worst = (uint8_t)lv;
    if (t + SECOND_NS < n->log.due_ns)
      n->log.due_ns = t + SECOND_NS;
  } else if ((uint8_t)lv < *worst) {
    *worst = (uint8_t)lv;
  }
}

void p2pc__node_log(p2pc_node *n, p2pc_log_level lv, const char *text) {
  if (!n->cb.log || lv > n->cb.log_level)
    return;
  if (lv >= P2PC_LOG_DEBUG) {
    emit(n, lv, text);
    return;
  }
  uint64_t t = n->now.mono_ns;
  p2pc__logshape *s = slot_of(n, shape_of(text));
  s->last_ns = t;
  bool pass = gcra_pass(&s->tat, t, LOG_SHAPE_EVERY_NS, LOG_SHAPE_BURST);
  if (pass && !gcra_pass(&n->log.tat, t, LOG_ALL_EVERY_NS, LOG_ALL_BURST)) {
    hold(n, &n->log.held, &n->log.held_since, &n->log.lv, lv);
    return;
  }
  if (!pass) {
    hold(n, &s->held, &s->held_since, &s->lv, lv);
    size_t k = strlen(text);
    if (k >= P2PC_LOG_SAMPLE)
      k = P2PC_LOG_SAMPLE - 1;
    memcpy(s->sample, text, k);
    s->sample[k] = '\0';
    return;
  }
  if (n->log.held || s->held) {
    flush_all(n);
    flush_shape(n, s);
    update_due(n);
  }
  emit(n, lv, text);
}

void p2pc__node_log_due(p2pc_node *n) {
  uint64_t t = n->now.mono_ns;
  if (t < n->log.due_ns)
    return;
  if (n->log.held && t - n->log.held_since >= SECOND_NS)
    flush_all(n);
  for (uint32_t i = 0; i < P2PC_LOG_SHAPES; i++) {
    p2pc__logshape *s = &n->log.shape[i];
    if (s->held && t - s->held_since >= SECOND_NS)
      flush_shape(n, s);
  }
  update_due(n);
}

void p2pc__node_log_flush(p2pc_node *n) {
  if (!n->cb.log)
    return;
  flush_all(n);
  for (uint32_t i = 0; i < P2PC_LOG_SHAPES; i++)
    flush_shape(n, &n->log.shape[i]);
  n->log.due_ns = UINT64_MAX;
}
