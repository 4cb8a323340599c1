/* SPDX-License-Identifier: MIT */
/*
 * The clock verdicts of the oracle (evcheck_internal.h): whether each
 * expiry report was made by the right incarnation, of a message not
 * delivered there, and when it was due — the reporter's lifetime Δ after
 * the send, on its HLC against the send's stamp and on network time
 * against the send's (less the tolerance).
 */
#include "evcheck_internal.h"

#include <inttypes.h>
#include <stdio.h>

/* Whether expiry report e of message m came when it was due: Δ of the
 * reporting incarnation after the send, on the reporter's HLC against the
 * send's stamp and on network time against the send's (less the
 * tolerance). If not, why not into why. */
static bool honest(const state *s, const expiry *e, const msgrec *m, char *why,
                   size_t n) {
  uint64_t life = s->incs[e->inc].lifetime;
  if (life == LIFE_INF) {
    snprintf(why, n, "though its causal lifetime is infinite");
    return false;
  }
  if (!m->has_stamp) {
    snprintf(why, n, "but its send line has no stamp");
    return false;
  }
  if (e->stamp != m->stamp) {
    snprintf(why, n,
             "with stamp %" PRIu64 ", but it was sent with stamp %" PRIu64,
             e->stamp, m->stamp);
    return false;
  }
  if (e->hlc < m->stamp || e->hlc - m->stamp < life) {
    snprintf(
        why, n,
        "at HLC %" PRIu64 ", %s%.3f s after its stamp (lifetime %.3f s)",
        e->hlc, e->hlc < m->stamp ? "-" : "",
        (double)(e->hlc < m->stamp ? m->stamp - e->hlc : e->hlc - m->stamp) /
            1e9,
        (double)life / 1e9);
    return false;
  }
  int64_t elapsed;
  if (__builtin_sub_overflow(e->net, m->send_net, &elapsed))
    elapsed = e->net < m->send_net ? INT64_MIN : INT64_MAX;
  /* both below 2^63: no overflow */
  int64_t need = life > (uint64_t)INT64_MAX
                     ? INT64_MAX
                     : (int64_t)life - (int64_t)s->tolerance_ns;
  if (elapsed < need) {
    snprintf(why, n,
             "at network time %.3f s after its send (lifetime %.3f s, "
             "tolerance %.3f s)",
             (double)elapsed / 1e9, (double)life / 1e9,
             (double)s->tolerance_ns / 1e9);
    return false;
  }
  return true;
}

/* An expiry report of a broadcast: by any incarnation but its sender (no
 * sender gives a broadcast up), in the `from` form; judged as for a
 * message to the reporter. */
static void judge_bcast(state *s, const expiry *e, const msgrec *m,
                        const char *file) {
  const char *by = s->incs[e->inc].sesid, *snd = s->incs[m->sender].sesid;
  if (e->at_sender || e->inc == m->sender) {
    s->own_log++;
    p2pc__evcheck_list_violation(s,
                                 "LOG: %s:%lu: %s reported its own broadcast "
                                 "%s:%" PRIu64 " expired",
                                 file, e->line, by, snd, m->n);
    return;
  }
  uint8_t *f = p2pc__evcheck_bcast_at(s, e->msg, e->inc);
  *f |= B_EXP_REPORTED;
  if (*f & B_DELIVERED) {
    s->own_exp_delivered++;
    p2pc__evcheck_list_violation(s,
                                 "EXPIRED_DELIVERED: %s:%lu: %s reported "
                                 "broadcast %s:%" PRIu64
                                 " expired, and delivered it",
                                 file, e->line, by, snd, m->n);
    return;
  }
  char why[200];
  if (!honest(s, e, m, why, sizeof why)) {
    s->own_early++;
    p2pc__evcheck_list_violation(
        s,
        "EXPIRED_EARLY: %s:%lu: %s reported broadcast %s:%" PRIu64
        " expired %s",
        file, e->line, by, snd, m->n, why);
    return;
  }
  *f |= B_EXP_HONEST;
}

/* Judges the expiry reports (needs every send, and at_dest): each one is
 * fine, or one violation — LOG (not by the message's sender or
 * destination, or of a message no log sent), EXPIRED_DELIVERED (by the
 * destination, which delivered it) or EXPIRED_EARLY (not yet due). */
void p2pc__evcheck_judge_expiries(state *s) {
  for (size_t i = 0; i < s->nexps; i++) {
    const expiry *e = &s->exps[i];
    msgrec *m = &s->msgs[e->msg];
    const char *by = s->incs[e->inc].sesid, *snd = s->incs[m->sender].sesid;
    const char *file = p2pc__evcheck_stream_name(s, e->stream);
    if (!m->nsend) {
      s->own_log++;
      p2pc__evcheck_list_violation(s,
                                   "LOG: %s:%lu: %s reported %s:%" PRIu64
                                   " expired, but no log has its send",
                                   file, e->line, by, snd, m->n);
      continue;
    }
    if (m->to == TO_ALL) {
      judge_bcast(s, e, m, file);
      continue;
    }
    uint32_t want = e->at_sender ? m->sender : m->to;
    if (e->inc != want) {
      s->own_log++;
      p2pc__evcheck_list_violation(s,
                                   "LOG: %s:%lu: %s reported %s:%" PRIu64
                                   " expired as its %s, which is %s",
                                   file, e->line, by, snd, m->n,
                                   e->at_sender ? "sender" : "destination",
                                   s->incs[want].sesid);
      continue;
    }
    m->expiry_reported = true;
    if (!e->at_sender && m->at_dest) {
      s->own_exp_delivered++;
      p2pc__evcheck_list_violation(
          s,
          "EXPIRED_DELIVERED: %s:%lu: %s reported %s:%" PRIu64
          " expired, and delivered it",
          file, e->line, by, snd, m->n);
      continue;
    }
    char why[200];
    if (!honest(s, e, m, why, sizeof why)) {
      s->own_early++;
      p2pc__evcheck_list_violation(
          s, "EXPIRED_EARLY: %s:%lu: %s reported %s:%" PRIu64 " expired %s",
          file, e->line, by, snd, m->n, why);
      continue;
    }
    m->expiry_honest = true;
  }
}
