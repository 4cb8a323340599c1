/* SPDX-License-Identifier: MIT */
/*
 * The causal oracle over event logs (EVENTS.md): the verdict of
 * `p2pclock check` (src/cli/check.h), as a library fed line by line, so
 * that the command (from files) and the simulator (from its nodes' event
 * callbacks, in memory) give the same verdict by the same code. Nothing
 * the nodes computed is trusted: happens-before is rebuilt from the order
 * of the lines of each incarnation plus the send -> deliver pairs (by the
 * independent checker of checker.h); the HLC stamps only date
 * the sends, to tell whether an expiry was due.
 *
 * Lines come in streams: a stream is one node's log (a file, or a
 * simulated node across its restarts) and may hold several incarnations,
 * each starting at a `start` line; a clean stop ends one with a `stop`
 * line. The lines of a stream must come in that node's order; streams may
 * be interleaved in any way (one file after the other, or the true global
 * order of a simulation).
 *
 * Verified at the end, for every message (its destination is the
 * incarnation named by the send's `to`):
 *   ORDER       causal delivery order at every destination;
 *   DUPLICATE   delivered at most once;
 *   MISSING     delivered at its destination, except when excused: it
 *               expired (below); the sender reported it `undeliverable`
 *               (and its destination did restart); its destination
 *               incarnation crashed before
 *               delivering it (its log segment ends without `stop`: killed,
 *               or still running); its sender incarnation crashed or was
 *               replaced by a restart before getting it out (PROTOCOL.md,
 *               "Retiring an identity": those messages are dropped, and
 *               their causal successors released, by design); or it was
 *               sent after p2pc_evcheck_settle_mark() (still in flight
 *               when the run ended). Excused messages are counted apart;
 *               those lost with their sender or reported expired are also
 *               left out of the ORDER test (never delivered, they are not
 *               predecessors to wait for);
 *   WRONG_DEST, UNKNOWN, BAD_SEND  delivered elsewhere, never sent, or an
 *               id sent twice or by another node;
 *   LOG         an event after `stop` in the same incarnation; a message to
 *               an incarnation none of the streams is the log of; an expiry
 *               report by an incarnation other than the message's sender
 *               (`to` form) or destination (`from` form), or of a message
 *               no stream sent;
 *   EXPIRED_EARLY  an expiry report (`undeliverable`, reason "expired") that
 *               was not due: the reporting incarnation's lifetime Δ (its
 *               `start` line's lifetime_ns; absent or null: infinite, so
 *               every report is early) must have passed since the send on
 *               both clocks — report.hlc >= send.stamp + Δ (and
 *               report.stamp == send.stamp), and report.net >= send.net +
 *               Δ - the tolerance (p2pc_evcheck_set_expiry_tolerance). An
 *               honest report excuses the undelivered message (counted
 *               as expired); an early one does not, but the message is
 *               then not MISSING too;
 *   EXPIRED_DELIVERED  a message its destination reported expired (`from`
 *               form) and delivered as well. (Its sender's report of a
 *               delivered message is fine: the sender gave up without
 *               knowing.)
 * A malformed line is an input error (reported, counted; a run with input
 * errors gets no verdict).
 */
#ifndef P2PC_EVCHECK_H
#define P2PC_EVCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define P2PC_EVCHECK_LINE_MAX (1024 * 1024) /* bytes of one line */
#define P2PC_EVCHECK_LISTED 10 /* violations kept as text, at most */
/* Network clocks disagree by up to their error bounds: an expiry's
 * network time may fall this much short of send.net + Δ. */
#define P2PC_EVCHECK_EXPIRY_TOLERANCE_DEFAULT_NS 1000000000ull

typedef enum p2pc_evcheck_kind {
  P2PC_EVCHECK_ORDER,
  P2PC_EVCHECK_DUPLICATE,
  P2PC_EVCHECK_WRONG_DEST,
  P2PC_EVCHECK_PAYLOAD, /* never found from logs (they hold no payload) */
  P2PC_EVCHECK_UNKNOWN,
  P2PC_EVCHECK_BAD_SEND,
  P2PC_EVCHECK_MISSING,
  P2PC_EVCHECK_LOG,
  P2PC_EVCHECK_EXPIRED_EARLY,
  P2PC_EVCHECK_EXPIRED_DELIVERED,
  P2PC_EVCHECK_NKINDS
} p2pc_evcheck_kind;

/* What p2pc_evcheck_finish returns. */
enum {
  P2PC_EVCHECK_CHECKED = 0, /* a verdict: see violations */
  P2PC_EVCHECK_NOMEM,       /* out of memory: no verdict */
  P2PC_EVCHECK_BADINPUT,    /* input errors (reported): no verdict */
  P2PC_EVCHECK_EMPTY,       /* no `start` line in any stream */
  P2PC_EVCHECK_TOOLARGE     /* incarnations x message ids over the limit */
};

/* What p2pc_evcheck_line returns. */
enum {
  P2PC_EVCHECK_LINE_OK = 0,  /* taken (perhaps with a warning) */
  P2PC_EVCHECK_LINE_BAD = 1, /* an input error, reported and counted */
  P2PC_EVCHECK_LINE_LOST = 2 /* the stream's `start` line was refused: the
                                rest of it is ignored (reported) */
};
#define P2PC_EVCHECK_LINE_NOMEM (-1) /* out of memory: stop feeding */

/* p2pc_evcheck_line_ex's flags. */
enum {
  /* The stream's last line, which ended without a newline: a node killed
   * while writing leaves it torn, so if it is not JSON it is skipped with
   * a warning rather than an input error. */
  P2PC_EVCHECK_UNTERMINATED = 1u << 0
};

typedef struct p2pc_evcheck_result {
  uint64_t errors, warnings; /* input errors and warnings */
  uint64_t lines;            /* all of them, blank ones too */
  uint64_t nodes;            /* distinct node IDs with a log */
  uint64_t incarnations;     /* incarnation names seen (logged or named) */
  uint64_t crashed;          /* incarnations whose log ends without `stop` */
  uint64_t msg_ids;          /* distinct message ids seen */
  uint64_t messages;         /* send lines */
  uint64_t self_sends;
  uint64_t deliver_lines;
  uint64_t delivered;             /* messages delivered at their destination */
  uint64_t dup_lines, drop_lines; /* duplicates and drops the nodes logged */
  /* Excused: reported undeliverable; lost with a crashed receiver; lost
   * with a crashed or restarted sender; sent after the settle mark;
   * expired (honestly reported so by its sender or destination). */
  uint64_t undeliverable, lost_receiver, lost_sender, unsettled, expired;
  uint64_t expiry_lines; /* `undeliverable` lines with reason "expired" */
  /* Messages delivered after waiting in a buffer, and their waited_ns. */
  uint64_t waited, waited_p50_ns, waited_p99_ns, waited_max_ns;
  uint64_t violations; /* the sum of by_kind */
  uint64_t by_kind[P2PC_EVCHECK_NKINDS];
  /* The first violation of each checker kind in kind order, then the
   * first ones found here: LOG lines after `stop` in input order, the
   * verdicts on expiry reports in input order, then MISSING and LOG in
   * message order; owned by the checker, valid until p2pc_evcheck_free. */
  const char *listed[P2PC_EVCHECK_LISTED];
  uint32_t nlisted;
  /* The first violation in the order the checker met them, or NULL. */
  const char *first;
} p2pc_evcheck_result;

typedef struct p2pc_evcheck p2pc_evcheck;

/* An empty checker, or NULL if out of memory. */
p2pc_evcheck *p2pc_evcheck_new(void);
void p2pc_evcheck_free(p2pc_evcheck *ec);

/* Where input errors and warnings go (default: nowhere; they are counted
 * all the same). text is "<stream name>:<line>: <what>"; only the first
 * 10 of each are passed on. */
void p2pc_evcheck_set_diag(p2pc_evcheck *ec,
                           void (*diag)(void *ud, bool warning,
                                        const char *text),
                           void *ud);
/* Names a stream in reports (copied; default "#<stream>"). Returns 0, or
 * -1 if out of memory. */
int p2pc_evcheck_name(p2pc_evcheck *ec, uint32_t stream, const char *name);
/*
 * Bounds the work of the final check: at most max_cells incarnations x
 * message ids (the checker keeps a vector per message). Once set, it is
 * checked as lines come in, and past it the records are dropped at once,
 * later lines ignored and finish says P2PC_EVCHECK_TOOLARGE; unset, the
 * bound is 2^28 and checked by finish alone.
 */
void p2pc_evcheck_set_limit(p2pc_evcheck *ec, uint64_t max_cells);

/* One line of stream (without its newline; it need not be NUL-terminated).
 * Returns a P2PC_EVCHECK_LINE_* code. Streams are numbered by the caller,
 * 0..2^24-1. */
int p2pc_evcheck_line(p2pc_evcheck *ec, uint32_t stream, const char *line,
                      size_t len);
int p2pc_evcheck_line_ex(p2pc_evcheck *ec, uint32_t stream, const char *line,
                         size_t len, unsigned flags);
/* The tolerance of the network-time test of expiry reports, ns (default
 * P2PC_EVCHECK_EXPIRY_TOLERANCE_DEFAULT_NS; capped at 2^60). */
void p2pc_evcheck_set_expiry_tolerance(p2pc_evcheck *ec, uint64_t ns);

/* Counts an input error found by the caller (an unreadable file, say). */
void p2pc_evcheck_count_error(p2pc_evcheck *ec);

/* From now on, messages sent may stay undelivered: the run is ending and
 * they may still be in flight (for a caller that feeds the true global
 * order, like a simulator). Their loss is counted as unsettled. */
void p2pc_evcheck_settle_mark(p2pc_evcheck *ec);

/* A partition (for a caller that knows the network, like a simulator):
 * open at its start, then closed at its heal with the network time of the
 * heal (ns). A message first sent while one is open may be stuck behind
 * it: it is not owed to a destination whose log ends before the heal +
 * P2PC_EVCHECK_CUT_SETTLE_NS, nor when its sender's log ends so (a node
 * that leaves cleanly before the cut heals cannot get it, nor give it);
 * those count as unsettled. A cut never closed excuses until the end. At
 * most P2PC_EVCHECK_MAX_CUTS are told apart; later ones share the last. */
#define P2PC_EVCHECK_CUT_SETTLE_NS 10000000000ull
#define P2PC_EVCHECK_MAX_CUTS 64
void p2pc_evcheck_cut(p2pc_evcheck *ec, bool open, int64_t net_ns);

/* Ends the input and checks. Returns a P2PC_EVCHECK_* status and fills r
 * (with the counts known so far if there is no verdict). Call once. */
int p2pc_evcheck_finish(p2pc_evcheck *ec, p2pc_evcheck_result *r);

const char *p2pc_evcheck_kind_name(p2pc_evcheck_kind k);

#endif /* P2PC_EVCHECK_H */
