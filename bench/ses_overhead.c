/* SPDX-License-Identifier: MIT */
/*
 * ses_overhead: causal-metadata bytes per message of our SES encoding
 * against the textbook layout (ALGORITHMS.md A.9, B.5-B.6), under random
 * all-to-all unicast traffic among N in-process p2pc_causal cores.
 *
 * For each N a schedule is drawn from a seeded PRNG: message i goes from a
 * random node to a random other node, is sent at virtual time i and
 * arrives at a random time in [i, i + D), so that on average D/2 messages
 * are in flight and they overtake each other. The same schedule is run
 * twice: with A.11 pruning (the default) and with it off. Figures, over the
 * messages after a warm-up (V needs ~20 sends per node to fill up):
 *   ours      SEND event's meta (p2pc_wire_ses_put: dictionary of node IDs,
 *             message id and stream sequence, sparse tM, pairs as absolute
 *             or delta vectors), pruned run;
 *   no-prune  the same, run without pruning;
 *   naive     8*N + pairs*(8 + 8*N) bytes: tM as N u64s, each pair an 8-byte
 *             node index plus N u64s, with the pairs of the no-prune run
 *             (the textbook does not prune).
 * A message's pairs are the sender's V before the send less what the send
 * pruned (p2pc_causal_pairs and the pruned_pairs statistic); every 8th
 * message is decoded again with p2pc_wire_ses_get (own idtab) to check it.
 * While it runs, it checks that every message is delivered exactly once,
 * at its destination, that each sender->destination stream is delivered in
 * send order, and that no buffer is left non-empty; any failure aborts.
 *
 *   ses_overhead [--nodes N[,N...]]... [--messages M] [--warmup W]
 *                [--inflight K]
 *
 * P2PC_SEED=<u64> overrides the default seed. This program is outside the
 * pure core: it reads /proc and the monotonic clock.
 */
#include "causal.h"
#include "evlog.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SEED UINT64_C(0x5e5b0e7c4d2a1f37)
#define DEFAULT_INFLIGHT 32u
/* Warm-up: V fills up only as the nodes' causal pasts come to cover
 * every destination, which takes about 20 sends per node whatever N (the
 * "warm-up check" table shows it). Statistics start after that. */
#define WARMUP_PER_NODE 24u
#define MEASURED_DEFAULT 2000u
#define MEASURED_BIG_N 1000u /* N > 128: keeps the default run near 1 min */
#define MAX_NODES_ARG 4096u
#define MAX_NODE_LIST 16
#define TICK_NS UINT64_C(1000) /* virtual time between two sends */
#define PAYLOAD_LEN 8          /* the message's global index, big-endian */
#define TREND_BINS 10
#define DECODE_EVERY 8 /* cross-check every 8th message by decoding it */

#ifndef P2PC_BENCH_BUILD_TYPE
#define P2PC_BENCH_BUILD_TYPE "unknown"
#endif

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("ses_overhead: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    die("out of memory (%zu bytes)", n);
  return p;
}

static void *xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz ? sz : 1);
  if (!p)
    die("out of memory (%zu x %zu bytes)", n, sz);
  return p;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- PRNG: splitmix64 ---------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static uint64_t rng_below(uint64_t *s, uint64_t n) {
  uint64_t lim = -n % n; /* 2^64 mod n */
  uint64_t x;
  do
    x = rng_next(s);
  while (x < lim);
  return x % n;
}

/* ---- machine info -------------------------------------------------------- */

static void read_line(const char *path, char *out, size_t cap) {
  FILE *f = fopen(path, "r");
  out[0] = '\0';
  if (!f) {
    snprintf(out, cap, "(%s: %s)", path, strerror(errno));
    return;
  }
  if (fgets(out, (int)cap, f))
    out[strcspn(out, "\n")] = '\0';
  fclose(f);
}

static void cpu_model(char *out, size_t cap) {
  char line[512];
  FILE *f = fopen("/proc/cpuinfo", "r");
  snprintf(out, cap, "unknown");
  if (!f)
    return;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      const char *p = strchr(line, ':');
      if (p) {
        p++;
        while (*p == ' ' || *p == '\t')
          p++;
        snprintf(out, cap, "%s", p);
        out[strcspn(out, "\n")] = '\0';
      }
      break;
    }
  }
  fclose(f);
}

/* ---- the schedule and the messages in flight ----------------------------- */

typedef struct sched {
  uint32_t n;     /* nodes */
  uint32_t m;     /* messages */
  uint32_t *src;  /* [m] */
  uint32_t *dst;  /* [m] */
  uint64_t *when; /* [m] arrival time, virtual ns */
} sched;

static void sched_make(sched *s, uint32_t n, uint32_t m, uint32_t inflight,
                       uint64_t seed) {
  /* Each N draws from its own stream, so a schedule does not depend on
   * which other Ns are run. */
  uint64_t st = seed ^ (UINT64_C(0x2545f4914f6cdd1d) * n);
  uint64_t span = (uint64_t)2 * inflight * TICK_NS; /* D */
  s->n = n;
  s->m = m;
  s->src = xmalloc((size_t)m * sizeof *s->src);
  s->dst = xmalloc((size_t)m * sizeof *s->dst);
  s->when = xmalloc((size_t)m * sizeof *s->when);
  for (uint32_t i = 0; i < m; i++) {
    uint32_t a = (uint32_t)rng_below(&st, n);
    uint32_t b = (uint32_t)rng_below(&st, n - 1);
    s->src[i] = a;
    s->dst[i] = b >= a ? b + 1 : b;
    s->when[i] = (uint64_t)i * TICK_NS + rng_below(&st, span);
  }
}

static void sched_free(sched *s) {
  free(s->src);
  free(s->dst);
  free(s->when);
}

typedef struct flight {
  uint64_t when;
  uint32_t idx; /* message index: ties break in send order */
  uint8_t *bytes;
  size_t len;
} flight;

typedef struct heap {
  flight *v;
  size_t n, cap;
} heap;

static bool fl_less(const flight *a, const flight *b) {
  return a->when < b->when || (a->when == b->when && a->idx < b->idx);
}

static void heap_push(heap *h, flight f) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 64;
    flight *v = realloc(h->v, cap * sizeof *v);
    if (!v)
      die("out of memory (in-flight heap)");
    h->v = v;
    h->cap = cap;
  }
  size_t i = h->n++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!fl_less(&f, &h->v[p]))
      break;
    h->v[i] = h->v[p];
    i = p;
  }
  h->v[i] = f;
}

static flight heap_pop(heap *h) {
  flight top = h->v[0];
  flight last = h->v[--h->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= h->n)
      break;
    if (c + 1 < h->n && fl_less(&h->v[c + 1], &h->v[c]))
      c++;
    if (!fl_less(&h->v[c], &last))
      break;
    h->v[i] = h->v[c];
    i = c;
  }
  if (h->n)
    h->v[i] = last;
  return top;
}

/* ---- one run of a schedule ----------------------------------------------- */

typedef struct run run;

typedef struct node {
  run *r;
  uint32_t idx;
  p2pc_causal *c;
} node;

struct run {
  const sched *s;
  node *nodes;
  char (*names)[16];
  uint32_t **sent_idx; /* [sender][n-1] -> message index */
  uint32_t *nsent;     /* per sender */
  uint8_t *delivered;  /* per message: DELIVER events seen */
  uint64_t *last_n;    /* [dest * N + sender]: last n delivered */
  uint64_t ndelivered;
  bool send_seen;
  size_t send_meta;
  uint32_t send_n;
  /* Results, per message. */
  size_t *meta;
  uint32_t *pairs;
  double mean_inflight;
  uint64_t buffered, pruned;
  double wall;
};

static uint32_t parse_node(const run *r, const char *name) {
  char *end;
  if (!name || name[0] != 'n')
    die("unexpected node name %s", name ? name : "(null)");
  unsigned long v = strtoul(name + 1, &end, 10);
  if (*end || v >= r->s->n)
    die("unexpected node name %s", name);
  return (uint32_t)v;
}

static void on_event(void *ud, const p2pc_causal_event *ev) {
  node *nd = ud;
  run *r = nd->r;
  uint32_t n = r->s->n;
  switch (ev->kind) {
  case P2PC_CEV_SEND:
    r->send_seen = true;
    r->send_meta = ev->meta;
    r->send_n = (uint32_t)ev->n;
    break;
  case P2PC_CEV_DELIVER: {
    uint32_t snd = parse_node(r, ev->sender);
    if (ev->n == 0 || ev->n > r->nsent[snd])
      die("node %u delivered unknown message %s:%" PRIu64, nd->idx, ev->sender,
          ev->n);
    uint32_t mi = r->sent_idx[snd][ev->n - 1];
    if (r->s->dst[mi] != nd->idx)
      die("message %u (%s:%" PRIu64 ") for n%u delivered at n%u", mi,
          ev->sender, ev->n, r->s->dst[mi], nd->idx);
    if (r->delivered[mi]++)
      die("message %u (%s:%" PRIu64 ") delivered twice", mi, ev->sender, ev->n);
    if (ev->bytes != PAYLOAD_LEN || !ev->payload)
      die("message %u: payload of %zu bytes", mi, ev->bytes);
    uint64_t tag = 0;
    for (int k = 0; k < PAYLOAD_LEN; k++)
      tag = tag << 8 | ev->payload[k];
    if (tag != mi)
      die("message %u: payload says %" PRIu64, mi, tag);
    uint64_t *last = &r->last_n[(size_t)nd->idx * n + snd];
    if (ev->n <= *last)
      die("n%u delivered %s:%" PRIu64 " after %s:%" PRIu64
          " (stream out of send order)",
          nd->idx, ev->sender, ev->n, ev->sender, *last);
    *last = ev->n;
    r->ndelivered++;
    break;
  }
  case P2PC_CEV_DUP:
  case P2PC_CEV_DROP:
  case P2PC_CEV_EXPIRE:
  case P2PC_CEV_REFUSE:
    die("n%u: %s of %s:%" PRIu64 " (none expected)", nd->idx,
        p2pc_evlog_kind(ev->kind), ev->sender, ev->n);
    break;
  case P2PC_CEV_RECV:
  case P2PC_CEV_BUFFER:
    break;
  }
}

static void receive(run *r, const flight *f) {
  const sched *s = r->s;
  node *d = &r->nodes[s->dst[f->idx]];
  int rv = p2pc_causal_receive(d->c, r->names[s->src[f->idx]], f->bytes, f->len,
                               f->when);
  if (rv != 0)
    die("n%u: receive of message %u: %s", d->idx, f->idx, p2pc_strerror(rv));
}

static void run_sched(run *r, const sched *s, bool no_prune) {
  uint32_t n = s->n;
  memset(r, 0, sizeof *r);
  r->s = s;
  r->nodes = xcalloc(n, sizeof *r->nodes);
  r->names = xcalloc(n, sizeof *r->names);
  r->sent_idx = xcalloc(n, sizeof *r->sent_idx);
  r->nsent = xcalloc(n, sizeof *r->nsent);
  r->delivered = xcalloc(s->m, sizeof *r->delivered);
  r->last_n = xcalloc((size_t)n * n, sizeof *r->last_n);
  r->meta = xcalloc(s->m, sizeof *r->meta);
  r->pairs = xcalloc(s->m, sizeof *r->pairs);
  uint32_t *sent_cap = xcalloc(n, sizeof *sent_cap);

  p2pc_causal_config cfg = {.no_prune = no_prune};
  for (uint32_t i = 0; i < n; i++) {
    snprintf(r->names[i], sizeof r->names[i], "n%u", i);
    r->nodes[i].r = r;
    r->nodes[i].idx = i;
    int rv = p2pc_causal_new(&r->nodes[i].c, r->names[i], &cfg, NULL, on_event,
                             &r->nodes[i]);
    if (rv)
      die("p2pc_causal_new(%s): %s", r->names[i], p2pc_strerror(rv));
  }

  const p2pc_allocator *a = p2pc_allocator_default();
  p2pc_buf out;
  p2pc_buf_init(&out, a, P2PC_WIRE_MAX_FRAME_LIMIT);
  p2pc_idtab dec_ids; /* the decoder's own view of the node IDs */
  p2pc_idtab_init(&dec_ids, a, n + 1);
  p2pc_ses_msg dec;
  p2pc_ses_msg_init(&dec);
  heap h = {0};
  double inflight_sum = 0;

  double t0 = now_s();
  for (uint32_t i = 0; i < s->m; i++) {
    uint64_t t = (uint64_t)i * TICK_NS;
    while (h.n && h.v[0].when <= t) {
      flight f = heap_pop(&h);
      receive(r, &f);
      free(f.bytes);
    }
    inflight_sum += (double)h.n;

    uint32_t src = s->src[i], dst = s->dst[i];
    uint8_t payload[PAYLOAD_LEN];
    for (int k = 0; k < PAYLOAD_LEN; k++)
      payload[k] = (uint8_t)((uint64_t)i >> (8 * (PAYLOAD_LEN - 1 - k)));
    if (r->nsent[src] == sent_cap[src]) {
      uint32_t cap = sent_cap[src] ? sent_cap[src] * 2 : 16;
      uint32_t *v = realloc(r->sent_idx[src], (size_t)cap * sizeof *v);
      if (!v)
        die("out of memory");
      r->sent_idx[src] = v;
      sent_cap[src] = cap;
    }
    r->sent_idx[src][r->nsent[src]++] = i;

    p2pc_buf_reset(&out);
    r->send_seen = false;
    /* V_M is V as it stands after the send's own pruning (A.11), before
     * the new pair is recorded: the pairs before the send less those the
     * send pruned. Every DECODE_EVERY-th message is decoded again to
     * check this (and that the bytes decode at all). */
    p2pc_causal_stats st0, st1;
    uint32_t pairs_before = p2pc_causal_pairs(r->nodes[src].c);
    p2pc_causal_get_stats(r->nodes[src].c, &st0);
    int rv = p2pc_causal_send(r->nodes[src].c, r->names[dst], payload,
                              PAYLOAD_LEN, t, &out);
    if (rv)
      die("n%u: send of message %u: %s", src, i, p2pc_strerror(rv));
    if (!r->send_seen || r->send_n != r->nsent[src])
      die("n%u: message %u: no SEND event, or a wrong id", src, i);
    p2pc_causal_get_stats(r->nodes[src].c, &st1);
    r->meta[i] = r->send_meta;
    r->pairs[i] =
        pairs_before - (uint32_t)(st1.pruned_pairs - st0.pruned_pairs);
    if (no_prune && st1.pruned_pairs != st0.pruned_pairs)
      die("message %u: pairs pruned with pruning off", i);
    if (i % DECODE_EVERY == 0) {
      rv = p2pc_wire_ses_get(out.data, out.len, &dec_ids, a, &dec);
      if (rv < 0 || (rv = p2pc_wire_ses_commit(&dec_ids, &dec)) != 0)
        die("message %u: cannot decode what was sent: %s", i,
            p2pc_strerror(rv));
      if (dec.ndeps != r->pairs[i])
        die("message %u: %u pairs on the wire, %u expected", i, dec.ndeps,
            r->pairs[i]);
    }
    /* meta counts everything but the payload and its length varint. */
    if (r->meta[i] + 1 + PAYLOAD_LEN != out.len)
      die("message %u: meta %zu + payload != %zu bytes", i, r->meta[i],
          out.len);

    flight f = {.when = s->when[i], .idx = i, .len = out.len};
    f.bytes = xmalloc(out.len);
    memcpy(f.bytes, out.data, out.len);
    heap_push(&h, f);
  }
  while (h.n) {
    flight f = heap_pop(&h);
    receive(r, &f);
    free(f.bytes);
  }
  r->wall = now_s() - t0;
  r->mean_inflight = s->m ? inflight_sum / s->m : 0;

  if (r->ndelivered != s->m)
    die("%" PRIu64 " deliveries for %u messages", r->ndelivered, s->m);
  for (uint32_t i = 0; i < s->m; i++)
    if (r->delivered[i] != 1)
      die("message %u delivered %u times", i, r->delivered[i]);
  for (uint32_t i = 0; i < n; i++) {
    p2pc_causal_stats st;
    if (p2pc_causal_buffered(r->nodes[i].c))
      die("n%u: %u messages left buffered", i,
          p2pc_causal_buffered(r->nodes[i].c));
    p2pc_causal_get_stats(r->nodes[i].c, &st);
    r->buffered += st.buffered;
    r->pruned += st.pruned_pairs;
  }

  free(h.v);
  p2pc_ses_msg_fini(&dec, a);
  p2pc_idtab_fini(&dec_ids);
  p2pc_buf_fini(&out);
  for (uint32_t i = 0; i < n; i++) {
    p2pc_causal_free(r->nodes[i].c);
    free(r->sent_idx[i]);
  }
  free(sent_cap);
  free(r->nodes);
  free(r->names);
  free(r->sent_idx);
  free(r->nsent);
  free(r->delivered);
  free(r->last_n);
  r->nodes = NULL;
}

static void run_free(run *r) {
  free(r->meta);
  free(r->pairs);
}

/* ---- statistics ---------------------------------------------------------- */

typedef struct summary {
  double mean;
  uint64_t p99, max;
} summary;

static int cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

/* Mean, p99 (nearest rank: the ceil(0.99 n)-th smallest) and max. */
static summary summarize(uint64_t *v, size_t n) {
  summary s = {0, 0, 0};
  if (!n)
    return s;
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += (double)v[i];
  qsort(v, n, sizeof *v, cmp_u64);
  size_t rank = (size_t)((99 * (uint64_t)n + 99) / 100);
  s.mean = sum / (double)n;
  s.p99 = v[rank - 1];
  s.max = v[n - 1];
  return s;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: ses_overhead [--nodes N[,N...]]... [--messages M]\n"
          "                    [--warmup W] [--inflight K]\n"
          "  --nodes     node counts to run (default 4,16,64,256)\n"
          "  --messages  messages sent per node count (default W + %u,\n"
          "              or W + %u when N > 128)\n"
          "  --warmup    first messages left out of the statistics\n"
          "              (default %u*N, at most half of M)\n"
          "  --inflight  mean messages in flight (default %u)\n"
          "  P2PC_SEED=<u64> overrides the seed\n",
          MEASURED_DEFAULT, MEASURED_BIG_N, WARMUP_PER_NODE, DEFAULT_INFLIGHT);
}

static uint64_t parse_u64(const char *what, const char *s, uint64_t lo,
                          uint64_t hi) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
    die("bad %s '%s' (want %" PRIu64 "..%" PRIu64 ")", what, s, lo, hi);
  return v;
}

int main(int argc, char **argv) {
  uint32_t nodes[MAX_NODE_LIST];
  size_t nnodes = 0;
  uint32_t messages = 0, inflight = DEFAULT_INFLIGHT;
  uint32_t warmup = 0;
  bool warmup_set = false;
  uint64_t seed = DEFAULT_SEED;

  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      usage(stderr);
      die("%s: missing or unknown option", o);
    }
    const char *v = argv[++i];
    if (!strcmp(o, "--nodes")) {
      char tmp[256];
      snprintf(tmp, sizeof tmp, "%s", v);
      for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok;
           tok = strtok_r(NULL, ",", &save)) {
        if (nnodes == MAX_NODE_LIST)
          die("at most %d node counts", MAX_NODE_LIST);
        nodes[nnodes++] =
            (uint32_t)parse_u64("node count", tok, 2, MAX_NODES_ARG);
      }
    } else if (!strcmp(o, "--messages")) {
      messages = (uint32_t)parse_u64("message count", v, 1, 100000000);
    } else if (!strcmp(o, "--inflight")) {
      inflight = (uint32_t)parse_u64("in-flight count", v, 1, 1000000);
    } else if (!strcmp(o, "--warmup")) {
      warmup = (uint32_t)parse_u64("warm-up", v, 0, 100000000);
      warmup_set = true;
    } else {
      usage(stderr);
      die("unknown option %s", o);
    }
  }
  if (!nnodes) {
    static const uint32_t def[] = {4, 16, 64, 256};
    for (size_t i = 0; i < sizeof def / sizeof def[0]; i++)
      nodes[nnodes++] = def[i];
  }
  const char *env = getenv("P2PC_SEED");
  if (env && *env)
    seed = parse_u64("P2PC_SEED", env, 0, UINT64_MAX);

  char cpu[256], load0[128], load1[128];
  cpu_model(cpu, sizeof cpu);
  read_line("/proc/loadavg", load0, sizeof load0);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

  printf("ses_overhead: SES causal metadata per message, random all-to-all "
         "unicast\n");
  printf("machine:  nproc %ld, %s\n", ncpu, cpu);
  printf("build:    %s, %s\n", P2PC_BENCH_BUILD_TYPE, __VERSION__);
  printf("load avg before: %s\n", load0);
  printf("seed:     %" PRIu64 " (0x%016" PRIx64 ")%s\n", seed, seed,
         env && *env ? " from P2PC_SEED" : " (default; P2PC_SEED overrides)");
  printf("traffic:  message i sent at virtual time i from a random node to a "
         "random other node,\n"
         "          arriving at a random time in [i, i+%u); all arrive, "
         "none duplicated\n",
         2 * inflight);
  if (warmup_set)
    printf("stats:    the first %u messages (in send order) are warm-up and "
           "left out;\n",
           warmup);
  else
    printf("stats:    the first %u*N messages (in send order; at most half of "
           "them) are warm-up\n"
           "          and left out, so the figures are for a steady state;\n",
           WARMUP_PER_NODE);
  printf("          p99 = nearest rank; bytes are causal metadata only "
         "(payload excluded)\n");
  printf("ours:     SEND meta of p2pc_wire_ses_put, A.11 pruning on; "
         "no-prune: same schedule, pruning off\n");
  printf("naive:    8*N (tM) + pairs*(8 + 8*N), pairs of the no-prune run\n");
  printf("\n");
  fflush(stdout);

  summary *res_ours = xcalloc(nnodes, sizeof *res_ours);
  summary *res_np = xcalloc(nnodes, sizeof *res_np);
  summary *res_nv = xcalloc(nnodes, sizeof *res_nv);
  double *pp = xcalloc(nnodes, sizeof *pp), *pu = xcalloc(nnodes, sizeof *pu);
  uint32_t *msgs = xcalloc(nnodes, sizeof *msgs);
  uint32_t *kept = xcalloc(nnodes, sizeof *kept);
  double *inf = xcalloc(nnodes, sizeof *inf);
  double *buf = xcalloc(nnodes, sizeof *buf);
  double *w_p = xcalloc(nnodes, sizeof *w_p);
  double *w_u = xcalloc(nnodes, sizeof *w_u);
  uint64_t *pruned = xcalloc(nnodes, sizeof *pruned);
  double(*trend)[TREND_BINS] = xcalloc(nnodes, sizeof *trend);
  double t_all = now_s();

  for (size_t k = 0; k < nnodes; k++) {
    uint32_t n = nodes[k];
    uint32_t warm = WARMUP_PER_NODE * n, m;
    if (messages) {
      m = messages;
      if (warm > m / 2)
        warm = m / 2;
    } else {
      m = warm + (n > 128 ? MEASURED_BIG_N : MEASURED_DEFAULT);
    }
    if (warmup_set)
      warm = warmup;
    if (warm >= m)
      die("N=%u: warm-up of %u leaves none of %u messages", n, warm, m);
    sched s;
    run rp, ru;
    sched_make(&s, n, m, inflight, seed);
    fprintf(stderr, "N=%u: %u messages ...", n, m);
    run_sched(&rp, &s, false);
    fprintf(stderr, " pruned %.2f s ...", rp.wall);
    run_sched(&ru, &s, true);
    fprintf(stderr, " no-prune %.2f s\n", ru.wall);

    uint32_t skip = warm;
    size_t cnt = m - skip;
    uint64_t *v = xmalloc(cnt * sizeof *v);
    double sp = 0, su = 0;
    for (size_t i = 0; i < cnt; i++)
      v[i] = rp.meta[skip + i];
    res_ours[k] = summarize(v, cnt);
    for (size_t i = 0; i < cnt; i++)
      v[i] = ru.meta[skip + i];
    res_np[k] = summarize(v, cnt);
    for (size_t i = 0; i < cnt; i++) {
      uint64_t np = ru.pairs[skip + i];
      v[i] = 8 * (uint64_t)n + np * (8 + 8 * (uint64_t)n);
      sp += rp.pairs[skip + i];
      su += (double)np;
    }
    res_nv[k] = summarize(v, cnt);
    free(v);
    pp[k] = sp / (double)cnt;
    pu[k] = su / (double)cnt;
    msgs[k] = m;
    kept[k] = (uint32_t)cnt;
    inf[k] = rp.mean_inflight;
    buf[k] = 100.0 * (double)rp.buffered / (double)m;
    w_p[k] = rp.wall;
    w_u[k] = ru.wall;
    pruned[k] = rp.pruned;
    for (uint32_t b = 0; b < TREND_BINS; b++) {
      uint32_t lo = (uint32_t)((uint64_t)m * b / TREND_BINS);
      uint32_t hi = (uint32_t)((uint64_t)m * (b + 1) / TREND_BINS);
      double sum = 0;
      for (uint32_t i = lo; i < hi; i++)
        sum += (double)rp.meta[i];
      trend[k][b] = hi > lo ? sum / (hi - lo) : 0;
    }
    run_free(&rp);
    run_free(&ru);
    sched_free(&s);
  }
  double t_total = now_s() - t_all;
  read_line("/proc/loadavg", load1, sizeof load1);

  printf("causal metadata bytes per message (messages after warm-up)\n");
  printf("%5s %8s | %25s | %25s | %25s | %6s | %13s\n", "", "", "ours",
         "ours, no prune", "naive", "naive/", "pairs/msg");
  printf("%5s %8s | %9s %7s %7s | %9s %7s %7s | %9s %7s %7s | %6s | %6s %6s\n",
         "N", "msgs", "mean", "p99", "max", "mean", "p99", "max", "mean", "p99",
         "max", "ours", "pruned", "full");
  for (size_t k = 0; k < nnodes; k++)
    printf("%5u %8u | %9.1f %7" PRIu64 " %7" PRIu64 " | %9.1f %7" PRIu64
           " %7" PRIu64 " | %9.1f %7" PRIu64 " %7" PRIu64
           " | %6.1f | %6.2f %6.2f\n",
           nodes[k], kept[k], res_ours[k].mean, res_ours[k].p99,
           res_ours[k].max, res_np[k].mean, res_np[k].p99, res_np[k].max,
           res_nv[k].mean, res_nv[k].p99, res_nv[k].max,
           res_ours[k].mean > 0 ? res_nv[k].mean / res_ours[k].mean : 0.0,
           pp[k], pu[k]);
  printf("\nruns (all messages; checks passed: each delivered exactly once "
         "at its destination,\n"
         "in send order per sender->destination stream, no buffer left)\n");
  printf("%5s %8s %8s %10s %10s %12s %10s %10s\n", "N", "sent", "warm-up",
         "in flight", "buffered%", "pairs pruned", "wall s", "wall s");
  printf("%5s %8s %8s %10s %10s %12s %10s %10s\n", "", "", "", "(mean)",
         "(pruned)", "(pruned run)", "pruned", "no prune");
  for (size_t k = 0; k < nnodes; k++)
    printf("%5u %8u %8u %10.1f %10.1f %12" PRIu64 " %10.3f %10.3f\n", nodes[k],
           msgs[k], msgs[k] - kept[k], inf[k], buf[k], pruned[k], w_p[k],
           w_u[k]);
  printf("\nwarm-up check: mean 'ours' bytes per tenth of the run (all "
         "messages, in send order)\n%5s",
         "N");
  for (uint32_t b = 0; b < TREND_BINS; b++) {
    char lab[16];
    snprintf(lab, sizeof lab, "#%u", b + 1);
    printf(" %8s", lab);
  }
  printf("  warm-up ends\n");
  for (size_t k = 0; k < nnodes; k++) {
    printf("%5u", nodes[k]);
    for (uint32_t b = 0; b < TREND_BINS; b++)
      printf(" %8.0f", trend[k][b]);
    printf("  in #%u\n",
           (uint32_t)((uint64_t)(msgs[k] - kept[k]) * TREND_BINS / msgs[k]) +
               1);
  }
  printf("\ntotal wall time %.2f s (every %uth message was also decoded "
         "again)\n",
         t_total, DECODE_EVERY);
  printf("load avg after:  %s\n", load1);

  free(res_ours);
  free(res_np);
  free(res_nv);
  free(pp);
  free(pu);
  free(msgs);
  free(kept);
  free(inf);
  free(buf);
  free(w_p);
  free(w_u);
  free(pruned);
  free(trend);
  return 0;
}
