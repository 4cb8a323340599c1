/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) with
 * the core's own encoders, so the seeds are in the real wire format: every
 * frame type, Δ-SES messages with dependency entries in both forms (a new
 * destination, the next sender under the same one) and LS values (the
 * sender's, entry senders', some retiring entries), stamps about to expire
 * or too far ahead for the fuzzer's timed core, messages produced by real
 * causal cores, and causal_seq scripts (with the old crash reproducers
 * rewritten in the current script format as regress-*); plus a few
 * malformed inputs the encoders cannot make (truncations, an oversized
 * length prefix, a non-minimal varint); and NTP datagrams (standard
 * clients, p2pclock requests and replies). Usage: gen_corpus OUTDIR
 * (OUTDIR/<target> must exist). Run by hand when the formats change; its
 * output is checked in.
 *
 * This file: main, the error exit and the file writer; one file per
 * family: gen_corpus_ses.c, gen_corpus_frame.c, gen_corpus_causal_seq.c,
 * gen_corpus_ntp.c (gen_corpus.h is what they share).
 */
#include "gen_corpus.h"

#include <p2pclock/p2pclock.h>

#include <stdio.h>
#include <stdlib.h>

static const char *outdir;

void die(const char *what, int rv) {
  fprintf(stderr, "gen_corpus: %s: %s\n", what, p2pc_strerror(rv));
  exit(1);
}

void write_file(const char *target, const char *name, const uint8_t *p,
                size_t len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
  FILE *f = fopen(path, "wb");
  if (!f || (len && fwrite(p, 1, len, f) != len) || fclose(f) != 0) {
    fprintf(stderr, "gen_corpus: cannot write %s\n", path);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  outdir = argv[1];
  gen_handmade_ses();
  gen_core_ses();
  gen_frames();
  gen_scripts();
  gen_ntp();
  for (size_t i = 0; i < nses; i++)
    free(ses_seeds[i].p);
  return 0;
}
