/* SPDX-License-Identifier: MIT */
/*
 * What the files of gen_corpus share: the error exit and CHECK, writing a
 * seed file, the SES seeds (written by gen_corpus_ses.c, wrapped in DATA
 * frames by gen_corpus_frame.c) and each family's generator.
 */
#ifndef GEN_CORPUS_H
#define GEN_CORPUS_H

#include <stddef.h>
#include <stdint.h>

void die(const char *what, int rv);

#define CHECK(what, expr)                                                      \
  do {                                                                         \
    int rv_ = (expr);                                                          \
    if (rv_ < 0)                                                               \
      die(what, rv_);                                                          \
  } while (0)

void write_file(const char *target, const char *name, const uint8_t *p,
                size_t len);

/* The SES seeds, as (name, bytes) into both fuzz_ses and DATA frames. */
typedef struct seed {
  char name[64];
  uint8_t *p;
  size_t len;
} seed;

extern seed ses_seeds[32];
extern size_t nses;

/* One generator per family, each writing OUTDIR/<its fuzz target>/. */
void gen_handmade_ses(void); /* gen_corpus_ses.c: fuzz_ses */
void gen_core_ses(void);     /* gen_corpus_ses.c: fuzz_ses */
void gen_frames(void);       /* gen_corpus_frame.c: fuzz_frame */
void gen_scripts(void);      /* gen_corpus_causal_seq.c: fuzz_causal_seq */
void gen_ntp(void);          /* gen_corpus_ntp.c: fuzz_ntp */

#endif
