/* SPDX-License-Identifier: MIT */
/*
 * Inside the causal oracle of evcheck.h (not its API): the state of one
 * p2pc_evcheck, and the functions its files share. The oracle works in
 * two passes. The first, line by line, keeps compact records — the sends
 * and deliveries of each incarnation, in its order — and per-message facts
 * (buffered, reported undeliverable, the send's stamp and network time),
 * and the expiry reports, because what excuses a message can be logged by
 * another node, in a stream read later. The second, at the end, judges the
 * expiry reports, feeds the records to the independent causal checker
 * (checker.h) in offline mode (which tolerates a delivery read before its
 * send), then decides for every message whether it was delivered, excused
 * or missing. The checker's own liveness verdict is not used: it knows
 * nothing of crashes, restarts and time.
 *
 * One concern a file:
 *   evcheck.c          the API: new, free, settings, finish
 *   evcheck_state.c    the bookkeeping: incarnations, messages, records,
 *                      streams, the limit; diagnostics and the listing
 *   evcheck_json.c     exact integers and members from a line's text;
 *                      parsing a line, a torn line before a restart
 *   evcheck_read.c     the event lines (p2pc_evcheck_line): fields,
 *                      start, send, deliver, undeliverable (first pass)
 *   evcheck_expiry.c   the clock verdicts: was an expiry report due
 *   evcheck_verdict.c  the causal verdicts: the checker fed, every
 *                      message delivered, excused or missing
 *   evcheck_report.c   the result: counts, percentiles, the listing,
 *                      the kinds' names
 */
#ifndef P2PC_CHECK_EVCHECK_INTERNAL_H
#define P2PC_CHECK_EVCHECK_INTERNAL_H

#include "evcheck.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cJSON.h"
#include "checker.h"
#include "idtab.h"

#define NONE UINT32_MAX
/* The `to` of a broadcast's send ("*": every incarnation). */
#define TO_ALL (UINT32_MAX - 1)
#define MAX_REPORTED 10 /* input errors and warnings passed on */
#define MAX_INCS 4096   /* incarnations (the core's max_nodes) */
#define MAX_STREAMS (1u << 24)
/* The checker keeps a vector per message: incarnations x messages cells. */
#define MAX_CELLS ((uint64_t)1 << 28)
#define LIFE_INF UINT64_MAX
/* A tolerance beyond any run (and far from int64 overflow). */
#define MAX_TOLERANCE_NS ((uint64_t)1 << 60)

typedef struct inc {
  char *sesid;
  char *node; /* NULL while no stream holds its log (only mentioned) */
  uint32_t stream;
  unsigned long line; /* of its start */
  uint64_t lifetime;  /* Δ of its start line, ns; LIFE_INF if infinite */
  uint64_t birth;     /* its causal layer's birth (HLC), if has_birth */
  int64_t last_net;   /* `net` of its last line */
  bool has_birth;
  bool stopped;
  bool superseded; /* a later start of the same node follows in its stream */
} inc;

typedef struct msgrec {
  uint32_t sender; /* incarnation */
  uint64_t n;
  uint32_t nsend;   /* send lines */
  uint32_t to;      /* destination of the first send, NONE if unsent,
                       TO_ALL for a broadcast */
  uint32_t ndeliv;  /* deliver lines anywhere */
  uint32_t at_dest; /* deliver lines at `to` */
  uint64_t stamp;   /* of the first send, if has_stamp */
  int64_t send_net; /* `net` of the first send */
  bool has_stamp;
  bool buffered;
  bool undeliverable;
  bool late;   /* first sent after the settle mark */
  uint8_t cut; /* 1 + the partition it was first sent during, 0: none */
  bool skip;   /* left out of the order test (lost with its sender, or
                  reported expired) */
  bool waited; /* its first delivery at `to` is in the waits */
  /* expiry reports by its sender or destination: any, an honest one */
  bool expiry_reported, expiry_honest;
} msgrec;

/* An `undeliverable` line with reason "expired" (EVENTS.md), judged at
 * the end: the send it is about may be read later. */
typedef struct expiry {
  uint32_t msg;
  uint32_t inc;    /* the reporting incarnation */
  uint32_t stream; /* where the line is, for the listing */
  unsigned long line;
  bool at_sender; /* the sender's form (`to`), else the receiver's */
  uint64_t stamp, hlc;
  int64_t net;
} expiry;

typedef struct rec {
  uint32_t inc; /* the incarnation whose line it is */
  uint32_t msg;
  uint32_t to; /* sends */
  bool is_send;
  uint64_t waited_ns; /* deliveries */
  uint64_t stamp;     /* the line's stamp (0 if none): its HLC is above */
  int64_t net;        /* the line's network time */
} rec;

/* Where the reading of one stream is. */
typedef struct cursor {
  char *name;
  unsigned long line;
  uint32_t inc; /* the current incarnation, NONE before the first start */
  bool lost;    /* a start line was refused: the rest would only cascade */
} cursor;

struct p2pc_evcheck {
  cursor *streams;
  size_t nstreams;
  void (*diag)(void *ud, bool warning, const char *text);
  void *diag_ud;
  uint64_t limit;
  bool limit_early, too_large, settling, finished;
  /* partitions (p2pc_evcheck_cut): the one open, 1 + its index (0:
   * none), and each one's heal (INT64_MAX: not healed) */
  uint8_t cut_open;
  uint8_t ncuts;
  int64_t cut_heal[P2PC_EVCHECK_MAX_CUTS];
  char *buf; /* the line being parsed, NUL-terminated */
  size_t capbuf;
  inc *incs;
  size_t nincs, capincs;
  p2pc_idtab ids; /* sesid -> incarnation (the index into incs) */
  msgrec *msgs;
  size_t nmsgs, capmsgs;
  uint32_t *mslots; /* (sender, n) -> message + 1 */
  size_t nmslots;
  rec *recs;
  size_t nrecs, caprecs;
  uint64_t *waits; /* waited_ns of the messages that were buffered */
  size_t nwaits, capwaits;
  expiry *exps;
  size_t nexps, capexps;
  uint64_t tolerance_ns; /* for the network-time test of expiries */
  const char *raw;       /* the text of the line being read */
  bool nomem;
  uint64_t errors, warnings;
  /* counts */
  uint64_t lines, sends, self_sends, deliver_lines, dups, drops;
  uint64_t delivered, undeliverable, lost_receiver, lost_sender, unsettled;
  uint64_t expired, expiry_lines;
  uint64_t crashed, nodes;
  /* violations found here (the checker counts its own) */
  uint64_t own_missing, own_log, own_early, own_exp_delivered;
  uint64_t own_wrong_dest;
  char *listed[P2PC_EVCHECK_LISTED];
  size_t nlisted;
  ccheck *c; /* after finish */
  /* Broadcasts, at finish (evcheck_bcast.c): each one's row, and per row
   * and incarnation the B_* flags. */
  uint32_t *bidx; /* message -> row, NONE if not a broadcast */
  uint32_t nb;
  uint8_t *bst;           /* nb x nincs */
  struct bcast_inc *binc; /* per incarnation: its excuses fed so far */
};

typedef p2pc_evcheck state;

/* ---- evcheck_state.c: the tables --------------------------------------- */

/* A copy of str, or NULL (and s->nomem) if out of memory. */
char *p2pc__evcheck_dupstr(state *s, const char *str);
bool p2pc__evcheck_grow(state *s, void **arr, size_t elsize, size_t need,
                        size_t *cap);
const char *p2pc__evcheck_stream_name(const state *s, uint32_t stream);
/* Counted; the first MAX_REPORTED of each passed on to the diag. */
__attribute__((format(printf, 4, 5))) void
p2pc__evcheck_input_error(state *s, uint32_t stream, unsigned long line,
                          const char *fmt, ...);
__attribute__((format(printf, 4, 5))) void
p2pc__evcheck_input_warning(state *s, uint32_t stream, unsigned long line,
                            const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void
p2pc__evcheck_list_violation(state *s, const char *fmt, ...);
uint32_t p2pc__evcheck_intern_inc(state *s, const char *sesid, size_t n);
uint32_t p2pc__evcheck_intern_msg(state *s, uint32_t sender, uint64_t n);
/* false if out of memory */
/* p2pc_evcheck_cut's excuse (evcheck.c); snd or dst may be NULL. */
bool p2pc__evcheck_cut_excused(const state *s, const msgrec *m, const inc *snd,
                               const inc *dst);
bool p2pc__evcheck_add_rec(state *s, uint32_t in, uint32_t msg, uint32_t to,
                           bool is_send, uint64_t waited_ns);
/* The clock facts of the record just added. */
void p2pc__evcheck_rec_clock(state *s, uint64_t stamp, int64_t net);
void p2pc__evcheck_check_limit(state *s);
/* NULL if out of memory or st is out of range */
cursor *p2pc__evcheck_get_stream(state *s, uint32_t st);

/* ---- evcheck_json.c: a line's JSON -------------------------------------- */

const char *p2pc__evcheck_str_field(const cJSON *j, const char *key);
const char *p2pc__evcheck_raw_member(const char *p, const char *key);
bool p2pc__evcheck_raw_u64(const char *p, uint64_t *v);
bool p2pc__evcheck_raw_i64(const char *p, int64_t *v);
cJSON *p2pc__evcheck_parse_object(char *buf, size_t len);
cJSON *p2pc__evcheck_torn_start(char *buf, size_t len, const char **raw);
/* Only spaces, tabs and CRs. */
bool p2pc__evcheck_blank(const char *p, size_t n);

/* ---- the verdict, at finish --------------------------------------------- */

/* evcheck_expiry.c */
void p2pc__evcheck_judge_expiries(state *s);
/* evcheck_verdict.c: 0, or -1 if out of memory */
int p2pc__evcheck_run_checker(state *s);
void p2pc__evcheck_count_incs(state *s);
/* evcheck_bcast.c: broadcasts (TO_ALL). */
enum {
  B_DELIVERED = 1,     /* delivered at that incarnation */
  B_EXP_REPORTED = 2,  /* it reported it expired */
  B_EXP_HONEST = 4,    /* ... honestly */
  B_PASSED = 8,        /* it delivered a later message of its sender */
  B_NOT_ADDRESSED = 16 /* stamped before its birth, or birth unknown */
};
/* Rows and flags (before the expiries are judged); 0 or -1 (memory). */
int p2pc__evcheck_bcast_prepare(state *s);
uint8_t *p2pc__evcheck_bcast_at(state *s, uint32_t msg, uint32_t in);
/* Feeding the checker: the excuses due at incarnation in before its
 * record r (NULL: before its first one); 0 or -1 (memory). */
int p2pc__evcheck_bcast_excuse(state *s, uint32_t in, const rec *r);
/* The verdicts on every broadcast at every incarnation with a log. */
void p2pc__evcheck_bcast_verdicts(state *s);
void p2pc__evcheck_bcast_free(state *s);
/* evcheck_report.c */
void p2pc__evcheck_fill_result(const state *s, p2pc_evcheck_result *r);

#endif /* P2PC_CHECK_EVCHECK_INTERNAL_H */
