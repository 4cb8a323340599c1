/* SPDX-License-Identifier: MIT */
/*
 * The clocks as the verdict sees them: each node runs a virtual clock (its
 * own offset and drift), and the demo, as a standard NTP client with its
 * own real clock (demo_ntp.h), queries every node's time port once a
 * second. Here: noting when the clocks all sync and to which reference,
 * and the final exam before the nodes stop: wait until every clock (the
 * restarted node's too) is synced and stays so, then measure, over rounds
 * of NTP queries, how far apart the nodes' network times are.
 */
#include "demo_clocks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_ctl.h"
#include "demo_events.h"
#include "demo_ntp.h"
#include "demo_proc.h"
#include "demo_report.h"
#include "demo_view.h"

/* Notes the moments the clocks change: in reference mode every running
 * clock synced for the first time, and a new reference that all synced
 * nodes agree on; in collaborative mode, which has no reference, every
 * running clock synced again (after the restart too). */
void p2pc__demo_note_clocks(p2pc_demo *d) {
  int running = 0, synced = 0;
  const char *ref = NULL;
  bool agree = true;
  for (int i = 0; i < d->o.nodes; i++) {
    const p2pc_demo_node *n = &d->n[i];
    if (n->pid <= 0)
      continue;
    running++;
    if (!n->clk_seen || !n->synced || (!d->o.collab && !n->ref[0]))
      continue;
    synced++;
    if (d->o.collab)
      continue;
    if (!ref)
      ref = n->ref;
    else if (strcmp(ref, n->ref) != 0)
      agree = false;
  }
  bool all = synced == running && running > 0;
  if (d->o.collab) {
    /* a node killed while all are synced leaves the others all synced:
     * only a change from not all synced is news */
    if (all && !d->all_synced_now)
      p2pc__demo_note(d, "all %d clocks synced (collaborative)", synced);
    d->all_synced_now = all;
    return;
  }
  if (all && !d->all_synced_seen) {
    d->all_synced_seen = true;
    p2pc__demo_note(d, "every clock is synced");
  }
  if (ref && agree && all && strcmp(ref, d->common_ref) != 0) {
    p2pc__demo_note(d, "all %d synced clocks follow %s", synced, ref);
    snprintf(d->common_ref, sizeof d->common_ref, "%s", ref);
  }
}

/* True when every running node answers, runs the demo's clock mode, is
 * synced and answered the latest NTP round with LI 0 (synchronized), and,
 * in reference mode, every one follows the same reference, which is one of
 * them and knows it; the reference in ref ("" in collaborative mode, which
 * has none). */
static bool clocks_settled(p2pc_demo *d, char *ref, size_t rl) {
  const char *r = NULL;
  int running = 0;
  for (int i = 0; i < d->o.nodes; i++) {
    const p2pc_demo_node *n = &d->n[i];
    if (n->pid <= 0)
      continue;
    running++;
    if (!n->clk_seen || !n->mode_ok || !n->synced || !n->ntp_ok ||
        n->ntp_li != 0)
      return false;
    if (d->o.collab)
      continue;
    if (!n->ref[0])
      return false;
    if (!r)
      r = n->ref;
    else if (strcmp(r, n->ref) != 0)
      return false;
  }
  if (d->o.collab) {
    if (rl > 0)
      ref[0] = '\0';
    return running >= 2;
  }
  const p2pc_demo_node *rn = r ? p2pc__demo_find_node(d, r) : NULL;
  if (running < 2 || !rn || rn->pid <= 0 || !rn->is_ref)
    return false;
  snprintf(ref, rl, "%s", r);
  return true;
}

/* The NTP rounds of the final measurement. */
#define FINAL_MAX (FINAL_ROUNDS * FINAL_BATCHES)
typedef struct final_rounds {
  int m, idx[P2PC_DEMO_NODES_MAX]; /* the nodes measured */
  int rounds;
  int64_t off[FINAL_MAX][P2PC_DEMO_NODES_MAX];
  int64_t del[FINAL_MAX][P2PC_DEMO_NODES_MAX];
  bool full[FINAL_MAX]; /* every node answered */
} final_rounds;

/* The disagreements (largest offset minus smallest) of the rounds where
 * every node answered with a delay near its least: a late reply measures
 * the scheduler, not the clocks. Returns how many, sorted, in spread. */
static int keep_rounds(const final_rounds *f, int64_t *spread) {
  int64_t mind[P2PC_DEMO_NODES_MAX];
  for (int k = 0; k < f->m; k++) {
    mind[k] = INT64_MAX;
    for (int r = 0; r < f->rounds; r++)
      if (f->full[r] && f->del[r][k] < mind[k])
        mind[k] = f->del[r][k];
  }
  int kept = 0;
  for (int r = 0; r < f->rounds; r++) {
    bool use = f->full[r];
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int k = 0; k < f->m && use; k++) {
      use = f->del[r][k] <= 3 * mind[k] + FINAL_SLACK_NS;
      lo = f->off[r][k] < lo ? f->off[r][k] : lo;
      hi = f->off[r][k] > hi ? f->off[r][k] : hi;
    }
    if (use)
      spread[kept++] = hi - lo;
  }
  qsort(spread, (size_t)kept, sizeof spread[0], p2pc__demo_cmp_i64);
  return kept;
}

/*
 * The clocks' final exam, before the nodes stop: waits (bounded) until
 * every running node, the restarted one included, is synced (in reference
 * mode to one reference) and has stayed so for CLOCK_HOLD_S, then queries
 * them all over NTP in batches of FINAL_ROUNDS rounds until FINAL_KEEP
 * rounds are usable (keep_rounds; a busy machine needs more batches, up to
 * FINAL_BATCHES). Problems go to the verdict. Returns 0, or -1 if
 * interrupted.
 */
int p2pc__demo_measure_clocks(p2pc_demo *d) {
  double start = now_s(), held = -1;
  char ref[40] = "", held_ref[40] = "";
  while (!p2pc__demo_stop_signal) {
    p2pc__demo_reap(d);
    p2pc__demo_tail_all(d);
    p2pc__demo_poll_status(d);
    p2pc__demo_ntp_round(d);
    bool ok = clocks_settled(d, ref, sizeof ref);
    if (d->tty)
      p2pc__demo_draw_table(d, ok ? "clocks settling" : "clocks syncing");
    if (!ok) {
      held = -1;
    } else if (held < 0 || strcmp(ref, held_ref) != 0) {
      /* (a restarted reference takes its role back once synced) */
      held = now_s();
      snprintf(held_ref, sizeof held_ref, "%s", ref);
    }
    if (held >= 0 && now_s() - held >= CLOCK_HOLD_S)
      break;
    if (now_s() - start > CLOCK_SYNC_S) {
      const char *how = d->o.collab ? "(collaborative)" : "to one reference";
      p2pc__demo_note(d, "the clocks did not all sync %s in %.0f s", how,
                      CLOCK_SYNC_S);
      p2pc__demo_problem(d, "the clocks did not all sync %s within %.0f s", how,
                         CLOCK_SYNC_S);
      return 0;
    }
    sleep_ms(200);
  }
  if (p2pc__demo_stop_signal)
    return -1;
  final_rounds *f = calloc(1, sizeof *f);
  int64_t *spread = calloc(FINAL_MAX, sizeof *spread);
  if (!f || !spread) {
    free(f);
    free(spread);
    p2pc__demo_problem(d, "out of memory for the final clock measurement");
    return 0;
  }
  for (int i = 0; i < d->o.nodes; i++)
    if (d->n[i].pid > 0)
      f->idx[f->m++] = i;
  int kept = 0;
  while (f->rounds < FINAL_MAX && kept < FINAL_KEEP &&
         !p2pc__demo_stop_signal) {
    double t = now_s();
    int r = f->rounds++;
    p2pc__demo_ntp_round(d);
    f->full[r] = true;
    for (int k = 0; k < f->m; k++) {
      const p2pc_demo_node *n = &d->n[f->idx[k]];
      f->full[r] = f->full[r] && n->ntp_ok;
      f->off[r][k] = n->ntp_offset;
      f->del[r][k] = n->ntp_delay;
    }
    if (d->tty)
      p2pc__demo_draw_table(d, "measuring the clocks");
    if (f->rounds % FINAL_ROUNDS == 0)
      kept = keep_rounds(f, spread);
    int left = (int)((t + FINAL_EVERY_MS / 1000.0 - now_s()) * 1000);
    if (left > 0)
      sleep_ms(left);
  }
  int rounds = f->rounds;
  kept = keep_rounds(f, spread);
  d->final_rounds = rounds;
  d->final_kept = kept;
  d->final_nodes = f->m;
  free(f);
  if (p2pc__demo_stop_signal) {
    free(spread);
    return -1;
  }
  snprintf(d->final_ref, sizeof d->final_ref, "%s", ref);
  if (kept < 3) {
    p2pc__demo_problem(
        d,
        "only %d of %d NTP rounds were usable for the final clock "
        "measurement",
        kept, rounds);
    free(spread);
    return 0;
  }
  d->final_done = true;
  d->final_median = kept % 2
                        ? (double)spread[kept / 2]
                        : (double)(spread[kept / 2 - 1] + spread[kept / 2]) / 2;
  d->final_max = (double)spread[kept - 1];
  free(spread);
  if (d->final_max >= CLOCK_AGREE_NS) {
    /* name the node furthest from the others in the latest round, with
     * the error bound it claims itself (a node still slewing says so) */
    const p2pc_demo_node *far = NULL;
    double far_off = 0;
    for (int i = 0; i < d->o.nodes; i++) {
      const p2pc_demo_node *n = &d->n[i];
      double o = (double)(n->ntp_offset - d->ntp_median);
      if (n->pid > 0 && n->ntp_ok && (!far || fabs(o) > fabs(far_off))) {
        far = n;
        far_off = o;
      }
    }
    char a2[32], o2[32] = "?", e2[32] = "?";
    p2pc__demo_fmt_ns(d->final_max, a2, sizeof a2);
    if (far) {
      p2pc__demo_fmt_sns(far_off, o2, sizeof o2);
      p2pc__demo_fmt_ns(far->err_ns, e2, sizeof e2);
    }
    p2pc__demo_problem(
        d,
        "the nodes' network times disagree by up to %s over NTP (want "
        "< 1 ms); furthest off: %s, %s from the median, its own error "
        "bound %s",
        a2, far ? far->id : "?", o2, e2);
  }
  return 0;
}
