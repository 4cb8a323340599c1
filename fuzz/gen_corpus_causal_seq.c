/* SPDX-License-Identifier: MIT */
/*
 * gen_corpus: the fuzz_causal_seq scripts, in fuzz_causal_seq.c's script
 * format, with the old crash reproducers rewritten in it as regress-*.
 */
#include "gen_corpus.h"

#include <stdio.h>
#include <string.h>

/* ---- causal_seq scripts ------------------------------------------------- */

/* Opcodes of fuzz_causal_seq.c (op % 16). */
enum {
  OP_SEND = 0,
  OP_SELF = 2,
  OP_DELIVER = 3,
  OP_REINJECT = 4,
  OP_CORRUPT = 5,
  OP_WRONG = 6,
  OP_TIME = 7,
  OP_JITTER = 8,
  OP_REPORT = 9,
  OP_STABLE = 10,
  OP_RETIRE = 11,
  OP_LIE = 12,
  OP_DRAIN = 13,
  OP_STABILITY = 15 /* node byte bit 7: a sender's LS; else levels */
};

/* Second configuration byte: Δ (0 infinite, 1 20 ms, 2 200 ms, 3 2 s), a
 * small cap (1 max_msg_deps 2, 2 max_pending 3, 3 max_deps 4), the error
 * bound (0, 1, 5, 20 ms) and the ahead margin (default 250 ms, 1 ns, 2 ms,
 * 30 ms). */
#define CFG1(life, cap, err, margin)                                           \
  (uint8_t)((life) | (cap) << 2 | (err) << 4 | (margin) << 6)

static void script(const char *name, const uint8_t *p, size_t len) {
  write_file("fuzz_causal_seq", name, p, len);
}

void gen_scripts(void) {
  /* clang-format off */
  /* cfg0: bit0 three nodes, bit1 no_prune, bits2-4 max_buffered-1,
   * bits5-7 extra node IDs. A node byte: low nibble x (A=0, B=1, C=2),
   * high nibble y's offset - 1 from it; so with three nodes A->B 0x00,
   * A->C 0x10, B->C 0x01, B->A 0x11, C->A 0x02, C->B 0x12. A send's second
   * byte: payload length (low nibble); 0xf? makes the output buffer too
   * small. Time passes by (even) b1 ms; an odd b1 arms an allocation
   * failure b1 >> 1 allocations ahead. */

  /* Hold-back: A->C, A->B, B gets it, B->C; C gets B's before A's. */
  const uint8_t holdback[] = {
      0x01 | (3 << 2), CFG1(0, 0, 0, 0),
      OP_SEND,    0x10, 4,    /* m0 A -> C */
      OP_SEND,    0x00, 4,    /* m1 A -> B */
      OP_DELIVER, 1,          /* m1 arrives at B */
      OP_SEND,    0x01, 4,    /* m2 B -> C */
      OP_DELIVER, 1,          /* m2 arrives at C first: buffered */
      OP_DELIVER, 0,          /* m0 arrives: both delivered */
  };
  script("holdback", holdback, sizeof holdback);

  /* Two nodes, streams reordered: B gets A's three messages in reverse. */
  const uint8_t rev[] = {
      0x00 | (7 << 2), CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x00, 2, OP_SEND, 0x00, 3,
      OP_DELIVER, 2, OP_DELIVER, 1, OP_DELIVER, 0,
  };
  script("reverse-order", rev, sizeof rev);

  /* A buffer of one: the second early message is refused (FULL) and
   * offered again by the final drain. */
  const uint8_t full[] = {
      0x00, CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x00, 2, OP_SEND, 0x00, 3,
      OP_DELIVER, 2, OP_DELIVER, 1, OP_TIME, 0x10,
  };
  script("buffer-full", full, sizeof full);

  /* Duplicates: re-inject a message before and after it is delivered. */
  const uint8_t dup[] = {
      0x01 | (2 << 2), CFG1(0, 0, 0, 0),
      OP_SEND, 0x01, 5, OP_REINJECT, 0, OP_DELIVER, 1, OP_DELIVER, 0,
      OP_REINJECT, 0, OP_SEND, 0x02, 0, OP_DELIVER, 0,
  };
  script("duplicates", dup, sizeof dup);

  /* Self-sends: B's after it received from A, C's as its only send. */
  const uint8_t self[] = {
      0x01 | (3 << 2), CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 2, OP_DELIVER, 0, OP_SELF, 0x31, OP_SELF, 0x02,
      OP_SELF, 0x21,
  };
  script("self-sends", self, sizeof self);

  /* A wrong expected sender (another node, an unknown one) and corrupted
   * copies (the sender's name checked, the dest's name), once B knows A. */
  const uint8_t bad[] = {
      0x01 | (3 << 2), CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 6, OP_SEND, 0x00, 7, OP_DELIVER, 0,
      OP_WRONG, 0, 0, OP_WRONG, 0, 1,
      OP_CORRUPT, 0x81, 2, 0x01, OP_CORRUPT, 0x01, 4, 0x07,
      OP_DELIVER, 0,
  };
  script("corrupt-and-wrong-sender", bad, sizeof bad);

  /* Allocation failures in the middle of sends and deliveries. */
  const uint8_t oom[] = {
      0x01 | (3 << 2), CFG1(2, 0, 1, 0),
      OP_SEND, 0x00, 3, OP_TIME, 0x01, OP_SEND, 0x10, 3,
      OP_TIME, 0x03, OP_DELIVER, 0, OP_TIME, 0x05, OP_DELIVER, 0,
      OP_SEND, 0x12, 4, OP_DELIVER, 0, OP_TIME, 0x07, OP_RETIRE, 0x12,
  };
  script("alloc-failures", oom, sizeof oom);

  /* A busy three-node exchange, with pruning off. */
  const uint8_t busy[] = {
      0x03 | (4 << 2), CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x11, 2, OP_SEND, 0x02, 3,
      OP_DELIVER, 2, OP_SEND, 0x10, 4, OP_DELIVER, 0, OP_SEND, 0x01, 5,
      OP_DELIVER, 3, OP_SEND, 0x12, 6, OP_DELIVER, 1, OP_DELIVER, 0,
      OP_SEND, 0x00, 7, OP_SEND, 0x10, 8, OP_DELIVER, 1,
  };
  script("busy-no-prune", busy, sizeof busy);

  /* Expiry (Δ 20 ms, error 1 ms): A->C is late; B's message to C waits
   * for it until its entry is Δ old, then goes; A's arrives and expires. */
  const uint8_t expire[] = {
      0x01 | (3 << 2), CFG1(1, 0, 1, 0),
      OP_SEND, 0x10, 2,       /* m0 A -> C: late */
      OP_TIME, 10,
      OP_SEND, 0x00, 2,       /* m1 A -> B */
      OP_DELIVER, 1,
      OP_SEND, 0x01, 2,       /* m2 B -> C */
      OP_DELIVER, 1,          /* buffered at C */
      OP_TIME, 12,            /* m0's entry is Δ old: m2 goes */
      OP_DELIVER, 0,          /* m0 expires on arrival */
      OP_REINJECT, 0, OP_DELIVER, 0,
      OP_REPORT, 0x10, 0,     /* C's report about A reaches A */
  };
  script("expire", expire, sizeof expire);

  /* Buffered messages expire; the sender gives up; reports and written-off
   * ranges; the stream goes on. */
  const uint8_t expire2[] = {
      0x00 | (3 << 2), CFG1(1, 0, 0, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x00, 2, OP_SEND, 0x00, 3,
      OP_DELIVER, 1, OP_DELIVER, 1,   /* 2 and 3 buffered */
      OP_TIME, 30,                    /* both expire, A gives up */
      OP_REPORT, 0x00, 0,
      OP_SEND, 0x00, 4, OP_DELIVER, 1, OP_DELIVER, 0,
      OP_REPORT, 0x00, 1,
  };
  script("expire-buffered-and-reports", expire2, sizeof expire2);

  /* Stability: reports and the global stable time prune entries. */
  const uint8_t stable[] = {
      0x01 | (3 << 2), CFG1(3, 0, 1, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x10, 1, OP_SEND, 0x01, 1,
      OP_DELIVER, 0, OP_DELIVER, 0, OP_REPORT, 0x10, 0,
      OP_STABLE, 0x00, 0xff, OP_STABLE, 0x01, 0xff, OP_STABLE, 0x02, 3,
      OP_SEND, 0x12, 1, OP_DELIVER, 1, OP_DELIVER, 0,
  };
  script("stable", stable, sizeof stable);

  /* A liar: A's clock runs 1 s ahead (margin 2 ms); B refuses its stamps
   * until time catches up; C's clock jitters within its error bound. */
  const uint8_t liar[] = {
      0x01 | (3 << 2), CFG1(2, 0, 2, 2),
      OP_LIE, 0x00, 200, OP_SEND, 0x00, 1, OP_DELIVER, 0,
      OP_JITTER, 0x02, 0x80, OP_SEND, 0x02, 1, OP_SEND, 0x12, 1,
      OP_DELIVER, 1, OP_DELIVER, 0, OP_LIE, 0x00, 0, OP_TIME, 200,
      OP_DELIVER, 0,
  };
  script("liar", liar, sizeof liar);

  /* The sender gives up (Δ 20 ms) and its LS stays at the stamps while
   * they settle (2 s + the 250 ms margin): time passes in steps of 254 ms;
   * the final drain finds both expired at B. */
  const uint8_t settle[] = {
      0x00 | (3 << 2), CFG1(1, 0, 1, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x00, 2,   /* m0, m1 A -> B: late */
      OP_TIME, 30,                          /* A gives both up */
      OP_REPORT, 0x10, 0,                   /* B has nothing to say */
      OP_TIME, 254, OP_TIME, 254, OP_TIME, 254, OP_TIME, 254, OP_TIME, 254,
      OP_TIME, 254, OP_TIME, 254, OP_TIME, 254, OP_TIME, 254, OP_TIME, 254,
      OP_SEND, 0x00, 3,
      OP_STABLE, 0x01, 0xff,
  };
  script("give-up-and-settle", settle, sizeof settle);

  /* A given-up message that its destination then writes off: the report
   * takes it out of A's LS at once (no second EXPIRE). */
  const uint8_t popped[] = {
      0x00 | (3 << 2), CFG1(1, 0, 1, 0),
      OP_SEND, 0x00, 1, OP_TIME, 30,        /* m0 A -> B, given up */
      OP_DELIVER, 0,                        /* expired at B */
      OP_REPORT, 0x10, 0,                   /* B's report reaches A */
      OP_SEND, 0x00, 2, OP_DELIVER, 0, OP_REPORT, 0x10, 1,
      OP_STABLE, 0x00, 0xff,
  };
  script("given-up-then-written-off", popped, sizeof popped);

  /* Why a given-up message must settle: C's clock is 20 ms behind, A's
   * 20 ms ahead (Δ 20 ms). A gives m0 (to C) up while C would still
   * deliver it; had A's LS passed m0 then, B, told that LS, would drop
   * (C, A, 1) and C would deliver B's m2 before m0. */
  const uint8_t order[] = {
      0x01 | (3 << 2), CFG1(1, 0, 3, 0),
      OP_JITTER, 0x02, 0x80,                /* C: -20 ms */
      OP_JITTER, 0x00, 0x7f,                /* A: +19.8 ms */
      OP_SEND, 0x10, 1,                     /* m0 A -> C */
      OP_SEND, 0x00, 1,                     /* m1 A -> B */
      OP_DELIVER, 1,                        /* m1 at B */
      OP_TIME, 22,                          /* A gives m0 up */
      OP_STABILITY, 0x91, 0x00,             /* B learns A's LS */
      OP_SEND, 0x01, 1,                     /* m2 B -> C */
      OP_DELIVER, 1,                        /* m2 at C: must wait */
      OP_DELIVER, 0,                        /* m0 at C */
  };
  script("settle-keeps-order", order, sizeof order);

  /* Stability by levels and by a sender's LS: B holds (C, A, 1) at one
   * hop; levels beside it leave it; C delivers m0 and reports to A; B
   * learns A's LS and drops it. */
  const uint8_t levels[] = {
      0x01 | (3 << 2), CFG1(3, 0, 1, 0),
      OP_SEND, 0x10, 1,                     /* m0 A -> C */
      OP_SEND, 0x00, 1,                     /* m1 A -> B: carries (C, A) */
      OP_DELIVER, 1,
      OP_STABILITY, 0x01, 0x40,             /* B: level 0 only */
      OP_STABILITY, 0x01, 0x42,             /* B: level 2 only */
      OP_SEND, 0x01, 1,                     /* m2 B -> C: still carries it */
      OP_DELIVER, 0,                        /* m0 at C */
      OP_REPORT, 0x10, 0,                   /* C's report reaches A */
      OP_STABILITY, 0x91, 0x00,             /* B learns A's LS */
      OP_STABILITY, 0x02, 0x80,             /* C: levels falling */
      OP_STABILITY, 0x00, 0xc1,             /* A: from level 1 up */
      OP_STABILITY, 0x00, 0x05,             /* A: 5 levels given */
      OP_DELIVER, 0,
  };
  script("levels-and-peer-ls", levels, sizeof levels);

  /* Retirement: C dies; A retires it and gets what waited on it. */
  const uint8_t retire[] = {
      0x01 | (3 << 2), CFG1(0, 0, 0, 0),
      OP_SEND, 0x02, 1,        /* m0 C -> A: lost */
      OP_SEND, 0x12, 1,        /* m1 C -> B */
      OP_DELIVER, 1,
      OP_SEND, 0x11, 1,        /* m2 B -> A: waits for m0 */
      OP_DELIVER, 1,
      OP_RETIRE, 0x10,         /* A retires C */
      OP_DELIVER, 0, OP_DRAIN, 0x00,
  };
  script("retire", retire, sizeof retire);

  /* Caps: entries per message, messages pending, entries held. */
  const uint8_t caps[] = {
      0x01 | (3 << 2), CFG1(1, 1, 0, 0),
      OP_SEND, 0x00, 1, OP_SEND, 0x10, 1, OP_SEND, 0x00, 1,
      OP_SEND, 0x10, 1, OP_DELIVER, 0, OP_SEND, 0x01, 1,
  };
  script("cap-msg-deps", caps, sizeof caps);
  uint8_t caps2[sizeof caps];
  memcpy(caps2, caps, sizeof caps);
  caps2[1] = CFG1(1, 2, 0, 0);
  script("cap-pending", caps2, sizeof caps2);
  caps2[1] = CFG1(1, 3, 0, 0);
  script("cap-deps", caps2, sizeof caps2);

  /* The old crash reproducers, rewritten for the current format. A drain
   * that ran out of memory was resumed in a call that refused its input. */
  for (uint8_t k = 5; k < 30; k += 6) {
    const uint8_t drain[] = {
        0x00, CFG1(0, 0, 0, 0),
        OP_SEND, 0x00, 0, OP_SEND, 0x00, 15, OP_TIME, (uint8_t)(2 * k + 1),
        OP_DELIVER, 1, OP_DELIVER, 0, OP_SEND, 0x00, 7, OP_SEND, 0x00, 0,
        OP_SEND, 0x00, 1, OP_CORRUPT, 0x00, 0, 0x01,
    };
    char name[64];
    snprintf(name, sizeof name, "regress-drain-resumed-in-refused-call-%u",
             k);
    script(name, drain, sizeof drain);
  }
  /* A refused message's junk sender name stayed in the table and took the
   * id a real sender needed. */
  const uint8_t junk[] = {
      0x01, CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 0, OP_DELIVER, 0, OP_CORRUPT, 0x80, 2, 0x2d,
      OP_SEND, 0x12, 0, OP_DELIVER, 0,
  };
  script("regress-rejected-junk-id-blocks-sender", junk, sizeof junk);
  /* A self-send, then a send: the receiver refused the second. */
  const uint8_t selfsend[] = {
      0x00, CFG1(0, 0, 0, 0),
      OP_SELF, 0x00, OP_SEND, 0x00, 1, OP_DELIVER, 0,
  };
  script("regress-self-send-then-send-rejected", selfsend, sizeof selfsend);
  /* A message offered with the wrong sender interned its names. */
  const uint8_t wrong[] = {
      0x00, CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 1, OP_WRONG, 0, 1,
  };
  script("regress-wrong-sender-interns-id", wrong, sizeof wrong);
  /* A forged sender name fills a table of two: TOOBIG. */
  const uint8_t forged[] = {
      0x00, CFG1(0, 0, 0, 0),
      OP_SEND, 0x00, 0, OP_DELIVER, 0, OP_CORRUPT, 0x00, 2, 0x15,
  };
  script("regress-forged-sender-fills-id-table", forged, sizeof forged);
  /* clang-format on */
}
