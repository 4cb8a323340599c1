/* SPDX-License-Identifier: MIT */
/*
 * Clock synchronization, the steering: which sources may take part in an
 * update, and the network clock (netclock.h) moved towards them.
 *
 * Reference mode steers towards d (exchange.c) of the neighbour with the
 * best path to the elected reference (election.c); the reference itself
 * takes the role where its network time stands. Collaborative mode steers
 * towards the weighted mean d of the truechimers (select.h) among all
 * synced neighbours and itself; while nobody is synced, the elected seed
 * starts the common time.
 *
 * Owns ts->steer, and the selection fields of the sources (state,
 * truechimer, d, lambda, rate).
 */
#include "timesync_int.h"

#define HOLD_RATE 1e-6   /* error growth while in holdover, beyond skew */
#define COMBINE_LIMIT 3  /* chrony's combinelimit: distance vs the best's */
#define SWITCH_SAMPLES 8 /* a new parent's samples, at least */
/* Judging the reference (and the first step): consecutive updates a
 * source must be contradicted before it is set aside, and the other
 * sources that must agree against it. */
#define STRIKES 8
#define MIN_AGAINST 2
/* A reference whose newest sample leaps from its fitted line by more
 * than half the judgement's margin is not followed for that update: its
 * clock has just jumped, and the fit, mixing both sides, moves by
 * milliseconds and hundreds of ppm until the runs test has cut the
 * window; following it took the frequency to its clamp and pulled a
 * mesh 1.2 ms a second before the judgement could see the liar. (A test
 * of the rate alone also held honest followers in a starting mesh, whose
 * young lines differ by hundreds of ppm.) */
#define JUMP_UPDATES 16 /* ... once the follower's own line is learned */
/* ... and for at most this many updates running: with nobody to
 * contradict it, a reference whose samples keep leaping that long is
 * followed again (the runs test cuts a jump out of a window sooner). */
#define JUMP_HOLD_MAX 32
/* Consecutive corrections beyond max_change_ns before the source that
 * asks for them is lost (chrony's maxchange "ignore" count, 4 by
 * default in our case). */
#define MAX_CHANGE_UPDATES 4

void p2pc__steer_init(p2pc_timesync *ts, p2pc_now now) {
  ts->steer.parent = -1;
  p2pc_netclock_init(&ts->steer.nc, now.local_ns, ts->cfg.max_slew);
}

void p2pc__steer_fini(p2pc_timesync *ts) {
  const p2pc_allocator *a = ts->a;
  a->free(ts->steer.iv, a->ud);
  a->free(ts->steer.edges, a->ud);
  a->free(ts->steer.tc, a->ud);
  a->free(ts->steer.ividx, a->ud);
}

void p2pc__steer_drop_parent(p2pc_timesync *ts, int32_t idx) {
  if (idx < 0 || ts->steer.parent == idx)
    ts->steer.parent = -1;
}

/* ---- which sources take part --------------------------------------------- */

bool p2pc__steer_usable(const p2pc_timesync *ts, const source *s,
                        uint64_t mono) {
  if (!s->up || !s->have_sample || !s->have_reply || !s->synced)
    return false;
  uint64_t horizon = 8 * poll_ns(ts->cfg.poll_max);
  if (horizon < 10ull * SEC)
    horizon = 10ull * SEC;
  return mono - s->last_sample_mono < horizon;
}

/* Whether a source may take part in this update; if not, its state says
 * why. same_ref: it must follow our reference (reference mode). */
static bool gate(const p2pc_timesync *ts, source *s, uint64_t mono,
                 bool same_ref) {
  s->truechimer = false;
  if (!s->up)
    s->state = "unreachable";
  else if (!s->have_sample)
    s->state = "no-samples";
  else if (!s->synced)
    s->state = "unsynced";
  else if (same_ref && (!ts->el.ref[0] || strcmp(s->ref, ts->el.ref) != 0 ||
                        (s->linked && (!s->have_ann ||
                                       strcmp(s->ann.ref, ts->el.ref) != 0))))
    s->state = "other-ref";
  else if (!p2pc__steer_usable(ts, s, mono))
    s->state = "stale";
  else if (p2pc__election_distrusted(ts, s->id, mono))
    s->state = "rejected";
  else
    return true;
  return false;
}

/* ---- updates ------------------------------------------------------------- */

static void emit_clock(p2pc_timesync *ts, int64_t local, double step,
                       double adj, const char *src) {
  if (!ts->h.event)
    return;
  p2pc_tsev ev = {.kind = P2PC_TSEV_CLOCK,
                  .mode = ts->cfg.mode,
                  .ref = ts->cfg.mode == P2PC_CLOCK_REFERENCE ? ts->el.ref : "",
                  .source = src,
                  .synced = ts->steer.nc.synced,
                  .corr_ns = corr_now(ts, local),
                  .freq_ppb = ts->steer.nc.freq * 1e9,
                  .err_ns = p2pc_netclock_error(&ts->steer.nc, local),
                  .step_ns = step,
                  .adj_ns = adj};
  ts->h.event(ts->h.ud, &ev);
}

static void emit_reject(p2pc_timesync *ts, const source *s, const char *reason,
                        uint32_t judged, uint32_t against) {
  ts->c.rejected++;
  if (!ts->h.event)
    return;
  p2pc_tsev ev = {.kind = P2PC_TSEV_REJECT,
                  .peer = s->id,
                  .offset_ns = to_i64(s->d),
                  .reason = reason,
                  .judged = judged,
                  .against = against};
  ts->h.event(ts->h.ud, &ev);
}

/* The lag that an honest change of rate can explain: a source that
 * follows the reference re-fits its line within the horizon a sample
 * stays usable in (8 polls at pollMax, at least 10 s), and meanwhile
 * its time moves towards the reference's by at most max_slew (any
 * oscillator's change of rate is far below it: a crystal's steps are
 * ppm). 8 ms by default. */
static double judge_margin(const p2pc_timesync *ts) {
  double horizon = (double)(8 * poll_ns(ts->cfg.poll_max));
  if (horizon < 10.0 * SEC)
    horizon = 10.0 * SEC;
  return ts->cfg.max_slew * horizon;
}

/* Whether source `ti`'s time (d ± lam) is contradicted by the node's
 * other usable sources: those of any reference, synced, recent and not
 * set aside, that agree with each other (the truechimers among them)
 * and of which at least MIN_AGAINST, and more than half of all the
 * others, hold intervals that miss [d − lam, d + lam] by more than
 * judge_margin. *judged: the others; *against: those that contradict.
 * Uses the selection scratch (ensure_scratch(nsrc + 1) first). */
static bool contradicted(p2pc_timesync *ts, uint32_t ti, double d, double lam,
                         p2pc_now now, uint32_t *judged, uint32_t *against) {
  uint32_t m = 0;
  *judged = *against = 0;
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    source *s = &ts->src[i];
    if (i == ti || !p2pc__steer_usable(ts, s, now.mono_ns) ||
        p2pc__election_distrusted(ts, s->id, now.mono_ns))
      continue;
    p2pc__exchange_view(ts, s, now.local_ns);
    ts->steer.iv[m] = (p2pc_interval){s->d - s->lambda, s->d + s->lambda};
    ts->steer.ividx[m++] = i;
  }
  *judged = m;
  if (m < MIN_AGAINST)
    return false;
  double margin = judge_margin(ts), tol = 0;
  /* A bound wider than the margin says nothing of the source but that
   * its samples disagree with each other: right after its clock jumped,
   * its regression mixes both sides, and its estimate, already off by
   * milliseconds, hides in the width. Judged by its estimate then. */
  if (lam > margin)
    lam = margin;
  if (m >= 3) {
    p2pc_select_truechimers(ts->steer.iv, m, ts->steer.edges, ts->steer.tc,
                            &tol);
  } else { /* two agree if their intervals meet within the margin */
    const source *a = &ts->src[ts->steer.ividx[0]];
    const source *b = &ts->src[ts->steer.ividx[1]];
    bool agree = fabs(a->d - b->d) <= a->lambda + b->lambda + margin;
    ts->steer.tc[0] = ts->steer.tc[1] = agree;
  }
  for (uint32_t k = 0; k < m; k++) {
    const source *s = &ts->src[ts->steer.ividx[k]];
    if (ts->steer.tc[k] && fabs(s->d - d) > s->lambda + lam + margin)
      (*against)++;
  }
  return *against >= MIN_AGAINST && 2 * *against > m;
}

/* A source's distance from the reference's time: its error bound plus
 * half its round trip (the worst asymmetry). */
static double distance(const source *s) {
  return s->lambda + (double)p2pc_srcstats_est(&s->st)->min_delay / 2;
}

static bool ensure_scratch(p2pc_timesync *ts, uint32_t n) {
  if (n <= ts->steer.scratch_cap)
    return true;
  uint32_t cap = n < 16 ? 16 : 2 * n;
  const p2pc_allocator *a = ts->a;
  p2pc_interval *iv = a->realloc(ts->steer.iv, cap * sizeof *iv, a->ud);
  if (iv)
    ts->steer.iv = iv;
  p2pc_edge *ed = a->realloc(ts->steer.edges, 2 * cap * sizeof *ed, a->ud);
  if (ed)
    ts->steer.edges = ed;
  bool *tc = a->realloc(ts->steer.tc, cap * sizeof *tc, a->ud);
  if (tc)
    ts->steer.tc = tc;
  uint32_t *ix = a->realloc(ts->steer.ividx, cap * sizeof *ix, a->ud);
  if (ix)
    ts->steer.ividx = ix;
  if (!iv || !ed || !tc || !ix)
    return false;
  ts->steer.scratch_cap = cap;
  return true;
}

/* Applies a target: d is where our network time should move (peer network
 * minus ours), f the frequency correction to take, err its error. */
static void steer(p2pc_timesync *ts, int64_t local, double d, double f,
                  double err, double skew, const char *src) {
  double step = 0;
  if (!ts->steer.nc.synced && fabs(d) > (double)ts->cfg.step_threshold_ns) {
    if (p2pc_netclock_step(&ts->steer.nc, local, d)) {
      step = d;
      d = 0;
      p2pc__timesync_say(ts, P2PC_LOG_INFO, "clock: initial step towards ", src,
                         "");
    }
  }
  p2pc_netclock_steer(&ts->steer.nc, local, d, true, f, err, skew + 1e-7);
  ts->steer.last_adj = d;
  ts->steer.skew = skew;
  ts->steer.ever_updated = true;
  emit_clock(ts, local, step, d, src);
}

/* How far a source's newest sample lies from its fitted line: right
 * after its clock jumped the fit mixes both sides and sits between them,
 * milliseconds from the newest sample, while an honest change of rate
 * leaves it within the rate change times a poll interval (300 us for
 * 150 ppm at 2 s). */
static double newest_residual(const source *s) {
  const p2pc_srcstats *st = &s->st;
  if (!st->n)
    return 0;
  const p2pc_sample *x = &st->s[(st->head + st->n - 1) % P2PC_SRCSTATS_MAX];
  return (double)x->offset - p2pc_srcest_offset_at(&st->est, x->t);
}

/* The judgement of the source an update would follow (index pi): the
 * reference, whenever it is the parent (it defines the time, so the
 * intersection of the relays does not judge it); and any source before
 * the first sync, which would be stepped to. Contradicted (contradicted())
 * for STRIKES updates running, it is set aside (the election passes over
 * it); meanwhile the node holds over, and says why once. Returns whether
 * the update may follow it. */
static bool judge_source(p2pc_timesync *ts, uint32_t pi, p2pc_now now) {
  source *p = &ts->src[pi];
  bool is_ref = strcmp(p->id, ts->el.ref) == 0;
  uint32_t judged = 0, against = 0;
  bool judge = is_ref || !ts->steer.nc.synced;
  /* Only the reference followed until now: a new one brings its own
   * line, which is taken. */
  bool leapt = is_ref && ts->steer.nc.synced &&
               pi == (uint32_t)ts->steer.parent &&
               ts->steer.nc.updates >= JUMP_UPDATES &&
               fabs(newest_residual(p)) > judge_margin(ts) / 2;
  if (!leapt)
    ts->steer.jump_holds = 0;
  else if (ts->steer.jump_holds <= JUMP_HOLD_MAX)
    ts->steer.jump_holds++;
  bool wild = leapt && ts->steer.jump_holds <= JUMP_HOLD_MAX;
  bool against_it =
      judge && contradicted(ts, pi, p->d, p->lambda, now, &judged, &against);
  if (!wild && !against_it) {
    ts->steer.strikes = 0;
    ts->steer.suspect[0] = '\0';
    if (pi != (uint32_t)ts->steer.parent)
      p2pc__timesync_say(ts, P2PC_LOG_INFO, "clock: following ", p->id, "");
    return true;
  }
  if (strcmp(ts->steer.suspect, p->id) != 0) {
    copy_id(ts->steer.suspect, p->id);
    ts->steer.strikes = 0;
  }
  if (!against_it) { /* it leapt: not followed, not yet judged */
    if (ts->steer.strikes == 0) {
      char l[256] = "";
      p2pc_str_cat(l, sizeof l, "clock: reference ");
      p2pc_str_cat(l, sizeof l, p->id);
      p2pc_str_cat(l, sizeof l, ": its newest sample leapt ");
      p2pc_str_i64(l, sizeof l, to_i64(newest_residual(p) / 1e3));
      p2pc_str_cat(l, sizeof l, " us from its line; holding over");
      p2pc__timesync_say(ts, P2PC_LOG_WARN, l, "", "");
    }
    if (!ts->steer.strikes)
      ts->steer.strikes = 1;
    p->state = "suspect";
    p->truechimer = false;
    p2pc_netclock_hold(&ts->steer.nc, now.local_ns, ts->steer.skew + HOLD_RATE);
    return false;
  }
  if (ts->steer.strikes <= 1) {
    char l[256] = "";
    p2pc_str_cat(l, sizeof l,
                 ts->steer.nc.synced ? "clock: reference "
                                     : "clock: not stepping to ");
    p2pc_str_cat(l, sizeof l, p->id);
    p2pc_str_cat(l, sizeof l, ": its time is ");
    p2pc_str_i64(l, sizeof l, to_i64(p->d / 1e3));
    p2pc_str_cat(l, sizeof l, " us from ours, beyond the bounds of ");
    p2pc_str_i64(l, sizeof l, against);
    p2pc_str_cat(l, sizeof l, " of ");
    p2pc_str_i64(l, sizeof l, judged);
    p2pc_str_cat(l, sizeof l,
                 ts->steer.nc.synced ? " other sources; holding over"
                                     : " other sources; waiting");
    p2pc__timesync_say(ts, P2PC_LOG_WARN, l, "", "");
  }
  p->state = "suspect";
  p->truechimer = false;
  if (++ts->steer.strikes >= STRIKES) {
    char l[256] = "";
    p2pc_str_cat(l, sizeof l, "clock: rejecting ");
    p2pc_str_cat(l, sizeof l, p->id);
    p2pc_str_cat(l, sizeof l, ": contradicted by ");
    p2pc_str_i64(l, sizeof l, against);
    p2pc_str_cat(l, sizeof l, " of ");
    p2pc_str_i64(l, sizeof l, judged);
    p2pc_str_cat(l, sizeof l, " other sources for ");
    p2pc_str_i64(l, sizeof l, STRIKES);
    p2pc_str_cat(l, sizeof l, " updates");
    p2pc__timesync_say(ts, P2PC_LOG_WARN, l, "", "");
    p2pc__election_distrust(ts, p->id, now.mono_ns);
    emit_reject(ts, p, "contradicted", judged, against);
    p->state = "rejected";
    ts->steer.strikes = 0;
    ts->steer.suspect[0] = '\0';
    p2pc__steer_drop_parent(ts, (int32_t)pi);
  }
  if (ts->steer.nc.synced)
    p2pc_netclock_hold(&ts->steer.nc, now.local_ns, ts->steer.skew + HOLD_RATE);
  return false;
}

/* chrony's maxchange: once synced, a correction beyond max_change_ns is
 * not applied but counted; MAX_CHANGE_UPDATES of them running and the
 * source that asks for them is lost (set aside, as a contradicted one
 * is). A synced mesh corrects by microseconds; a source that suddenly
 * wants 100 ms has a broken clock or lies. */
static bool within_max_change(p2pc_timesync *ts, source *p, double adj,
                              p2pc_now now) {
  if (!ts->steer.nc.synced || fabs(adj) <= (double)ts->cfg.max_change_ns) {
    ts->steer.big_changes = 0;
    return true;
  }
  ts->c.max_change++;
  if (ts->steer.big_changes++ == 0) {
    char l[256] = "";
    p2pc_str_cat(l, sizeof l, "clock: ignoring a correction of ");
    p2pc_str_i64(l, sizeof l, to_i64(adj / 1e3));
    p2pc_str_cat(l, sizeof l, " us from ");
    p2pc_str_cat(l, sizeof l, p->id);
    p2pc_str_cat(l, sizeof l, ": beyond maxChange");
    p2pc__timesync_say(ts, P2PC_LOG_WARN, l, "", "");
  }
  if (ts->steer.big_changes >= MAX_CHANGE_UPDATES) {
    char l[256] = "";
    p2pc_str_cat(l, sizeof l, "clock: source ");
    p2pc_str_cat(l, sizeof l, p->id);
    p2pc_str_cat(l, sizeof l, " lost: ");
    p2pc_str_i64(l, sizeof l, ts->steer.big_changes);
    p2pc_str_cat(l, sizeof l, " corrections running beyond maxChange");
    p2pc__timesync_say(ts, P2PC_LOG_WARN, l, "", "");
    p2pc__election_distrust(ts, p->id, now.mono_ns);
    emit_reject(ts, p, "max_change", 0, 0);
    p->state = "rejected";
    ts->steer.big_changes = 0;
    p2pc__steer_drop_parent(ts, (int32_t)(p - ts->src));
  }
  p2pc_netclock_hold(&ts->steer.nc, now.local_ns, ts->steer.skew + HOLD_RATE);
  return false;
}

static void update_reference(p2pc_timesync *ts, p2pc_now now) {
  int64_t local = now.local_ns;
  p2pc__election_run(ts, now.mono_ns);
  if (ts->el.is_ref) {
    for (uint32_t i = 0; i < ts->nsrc; i++)
      ts->src[i].state = ts->src[i].up ? "candidate" : "unreachable";
    if (!ts->steer.ref_taken && p2pc__election_listened(ts, now.mono_ns)) {
      ts->steer.ref_taken = true;
      /* Take the role where our network time stands: keep freq and
       * whatever is still being slewed, so there is no jump. */
      p2pc_netclock_steer(&ts->steer.nc, local, 0, false, ts->steer.nc.freq, 0,
                          0);
      ts->steer.parent = -1;
      ts->steer.root_delay = 0;
      ts->steer.ever_updated = true;
      ts->steer.last_update_mono = now.mono_ns;
      emit_clock(ts, local, 0, 0, "");
    }
    ts->steer.hops = 0;
    return;
  }
  ts->steer.ref_taken = false;
  /* Candidates: usable sources that follow our reference; the fewest
   * hops first, then the shortest distance. */
  uint32_t m = 0;
  if (!ensure_scratch(ts, ts->nsrc + 1))
    return;
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    source *s = &ts->src[i];
    if (!gate(ts, s, now.mono_ns, true))
      continue;
    p2pc__exchange_view(ts, s, local);
    s->state = "candidate";
    /* The reference defines the time: it is never a falseticker, even
     * when every relay disagrees with it (they lag it after its clock
     * changed). The intersection judges the relays only. */
    if (strcmp(s->id, ts->el.ref) == 0) {
      s->truechimer = true;
      continue;
    }
    ts->steer.iv[m] = (p2pc_interval){s->d - s->lambda, s->d + s->lambda};
    ts->steer.ividx[m++] = i;
  }
  ts->steer.ntrue = m;
  if (m >= 3) {
    double tol;
    ts->steer.ntrue = p2pc_select_truechimers(ts->steer.iv, m, ts->steer.edges,
                                              ts->steer.tc, &tol);
    for (uint32_t k = 0; k < m; k++) {
      source *s = &ts->src[ts->steer.ividx[k]];
      s->truechimer = ts->steer.tc[k];
      if (!ts->steer.tc[k])
        s->state = "falseticker";
    }
  } else {
    for (uint32_t k = 0; k < m; k++)
      ts->src[ts->steer.ividx[k]].truechimer = true;
  }
  int32_t best = -1;
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    source *s = &ts->src[i];
    if (!s->truechimer)
      continue;
    if (best < 0) {
      best = (int32_t)i;
    } else {
      source *b = &ts->src[best];
      double ds = distance(s), db = distance(b);
      if (s->hops < b->hops || (s->hops == b->hops && ds < db))
        best = (int32_t)i;
    }
  }
  /* Hysteresis: keep the current parent unless the new one has fewer hops
   * or is clearly closer, and has samples enough for its line's slope (a
   * tier source that just answered would bring a rate off by tens of
   * ppm). */
  if (best >= 0 && ts->steer.parent >= 0 && ts->steer.parent != best &&
      (uint32_t)ts->steer.parent < ts->nsrc &&
      ts->src[ts->steer.parent].truechimer) {
    source *cur = &ts->src[ts->steer.parent], *nb = &ts->src[best];
    if ((cur->hops <= nb->hops && nb->lambda > 0.5 * cur->lambda) ||
        p2pc_srcstats_est(&nb->st)->n < SWITCH_SAMPLES)
      best = ts->steer.parent;
  }
  if (best < 0) {
    if (ts->steer.parent >= 0)
      p2pc__timesync_say(ts, P2PC_LOG_WARN,
                         "clock: no source to follow; holdover", "", "");
    ts->steer.parent = -1;
    p2pc_netclock_hold(&ts->steer.nc, local, ts->steer.skew + HOLD_RATE);
    return;
  }
  source *p = &ts->src[best];
  if (!judge_source(ts, (uint32_t)best, now))
    return;
  ts->steer.parent = best;
  p->state = "selected";
  const p2pc_srcest *e = p2pc_srcstats_est(&p->st);
  /* Combining (chrony's combinelimit): the truechimers of the parent's
   * tier (unless the parent is the reference) whose distance is within
   * COMBINE_LIMIT times the parent's are averaged, weighted by 1 / distance:
   * offset, rate and error bound. The rate is ours, from several sources'
   * lines, rather than one parent's copied down a tree. Each source's interval
   * holds the reference's time, so their weighted mean is within the weighted
   * mean of their bounds. */
  double dp = distance(p);
  double sw = 0, sd = 0, sl = 0, fw = 0, sf = 0;
  uint32_t used = 0;
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    source *s = &ts->src[i];
    /* the reference is followed alone: it defines the time, and another
     * that still says hops 0 is one that has just yielded the role */
    if (s != p && (!s->truechimer || s->hops != p->hops || p->hops == 0))
      continue;
    double ds = distance(s);
    const p2pc_srcest *es = p2pc_srcstats_est(&s->st);
    if (s != p && (ds > COMBINE_LIMIT * dp || es->n < SWITCH_SAMPLES))
      continue;
    double w = 1.0 / (ds + 1.0);
    sw += w;
    sd += w * s->d;
    sl += w * s->lambda;
    /* rates by the precision of their slopes (1 / skew^2) */
    double wf = 1.0 / (es->skew * es->skew + 1e-18);
    fw += wf;
    sf += wf * s->rate;
    used++;
    if (s != p)
      s->state = "combined";
  }
  ts->steer.ncombined = used;
  if (!within_max_change(ts, p, sd / sw, now))
    return;
  ts->steer.hops = p->hops < 254 ? (uint8_t)(p->hops + 1) : 255;
  ts->steer.root_delay = p->root_delay + e->min_delay;
  ts->steer.last_update_mono = now.mono_ns;
  steer(ts, local, sd / sw, sf / fw, sl / sw, e->skew, p->id);
}

static void update_collaborative(p2pc_timesync *ts, p2pc_now now) {
  int64_t local = now.local_ns;
  if (!ensure_scratch(ts, ts->nsrc + 1))
    return;
  uint32_t m = 0;
  for (uint32_t i = 0; i < ts->nsrc; i++) {
    source *s = &ts->src[i];
    if (!gate(ts, s, now.mono_ns, false))
      continue;
    p2pc__exchange_view(ts, s, local);
    ts->steer.iv[m] = (p2pc_interval){s->d - s->lambda, s->d + s->lambda};
    ts->steer.ividx[m++] = i;
    s->state = "candidate";
  }
  if (!ts->steer.nc.synced && m == 0) {
    /* Nobody is synced yet: one node seeds the common time and the others
     * join it. The seed is elected through the mesh exactly as a reference
     * is (ANNOUNCE, best dataset, after listening), so a mesh that is not
     * a full one still gets a single seed. */
    p2pc__election_run(ts, now.mono_ns);
    if (ts->el.is_ref && p2pc__election_listened(ts, now.mono_ns)) {
      p2pc_netclock_steer(&ts->steer.nc, local, 0, false, ts->steer.nc.freq, 0,
                          0);
      ts->steer.ever_updated = true;
      ts->steer.last_update_mono = now.mono_ns;
      p2pc__timesync_say(ts, P2PC_LOG_INFO, "clock: seeding the common time",
                         "", "");
      emit_clock(ts, local, 0, 0, "");
    }
    return;
  }
  if (m == 0) {
    if (ts->steer.nc.synced)
      p2pc_netclock_hold(&ts->steer.nc, local, ts->steer.skew + HOLD_RATE);
    return;
  }
  /* Ourselves as one more source, d = 0, as wide as the median peer. */
  double lam[64];
  uint32_t nl = 0;
  for (uint32_t k = 0; k < m && nl < 64; k++)
    lam[nl++] = ts->src[ts->steer.ividx[k]].lambda;
  for (uint32_t i = 1; i < nl; i++)
    for (uint32_t j = i; j > 0 && lam[j - 1] > lam[j]; j--) {
      double t = lam[j];
      lam[j] = lam[j - 1];
      lam[j - 1] = t;
    }
  double self_lambda = lam[nl / 2];
  bool self_in = ts->steer.nc.synced;
  uint32_t n = m;
  if (self_in) {
    ts->steer.iv[n] = (p2pc_interval){-self_lambda, self_lambda};
    ts->steer.ividx[n++] = UINT32_MAX;
  }
  double tol = 0;
  if (n >= 3) {
    p2pc_select_truechimers(ts->steer.iv, n, ts->steer.edges, ts->steer.tc,
                            &tol);
  } else {
    for (uint32_t k = 0; k < n; k++)
      ts->steer.tc[k] = true;
  }
  /* Inverse-variance weights: a source whose estimate is shaky (a jump
   * still inside its window, few samples) counts for little even while
   * its wide interval keeps it among the truechimers. */
  double sum_d = 0, sum_f = 0, sum_l = 0, sum_w = 0;
  uint32_t cnt = 0;
  for (uint32_t k = 0; k < n; k++) {
    bool t = ts->steer.tc[k];
    if (ts->steer.ividx[k] == UINT32_MAX) {
      if (t) {
        double wt = 1.0 / (self_lambda * self_lambda + 1.0);
        sum_f += wt * ts->steer.nc.freq;
        sum_l += wt * self_lambda;
        sum_w += wt;
        cnt++;
      }
      continue;
    }
    source *s = &ts->src[ts->steer.ividx[k]];
    s->truechimer = t;
    s->state = t ? "truechimer" : "falseticker";
    if (t) {
      double wt = 1.0 / (s->lambda * s->lambda + 1.0);
      sum_d += wt * s->d;
      sum_f += wt * s->rate;
      sum_l += wt * s->lambda;
      sum_w += wt;
      cnt++;
    }
  }
  ts->steer.ntrue = cnt;
  if (!cnt || !(sum_w > 0))
    return;
  double adj = sum_d / sum_w, f = sum_f / sum_w;
  double spread = 0, skew = 0;
  for (uint32_t k = 0; k < n; k++) {
    if (!ts->steer.tc[k])
      continue;
    double dk =
        ts->steer.ividx[k] == UINT32_MAX ? 0 : ts->src[ts->steer.ividx[k]].d;
    if (fabs(dk - adj) > spread)
      spread = fabs(dk - adj);
    if (ts->steer.ividx[k] != UINT32_MAX) {
      double sk = p2pc_srcstats_est(&ts->src[ts->steer.ividx[k]].st)->skew;
      if (sk > skew)
        skew = sk;
    }
  }
  ts->steer.hops = 0;
  ts->steer.root_delay = 0;
  ts->steer.last_update_mono = now.mono_ns;
  steer(ts, local, adj, f, spread + sum_l / sum_w, skew, "");
}

void p2pc__steer_update(p2pc_timesync *ts, p2pc_now now) {
  if (ts->cfg.mode == P2PC_CLOCK_REFERENCE)
    update_reference(ts, now);
  else
    update_collaborative(ts, now);
}
