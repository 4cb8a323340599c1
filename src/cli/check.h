/* SPDX-License-Identifier: MIT */
/*
 * `p2pclock check [--json] [--expiry-tolerance SECONDS] FILE...`: an
 * offline verdict on a run, from the
 * nodes' event logs (EVENTS.md) alone, by the causal oracle of
 * src/check/evcheck.h (the simulator's too). Each FILE is one node's log and
 * may hold several incarnations, each starting at a `start` line. Nothing the
 * nodes computed is trusted: happens-before is rebuilt from the order of
 * the lines of each incarnation plus the send -> deliver pairs (by the
 * independent checker of src/check/checker.h); the HLC stamps serve only
 * to tell whether an expiry was due.
 *
 * Verified, for every message (its destination is the incarnation named by
 * the send's `to`):
 *   ORDER       causal delivery order at every destination;
 *   DUPLICATE   delivered at most once;
 *   MISSING     delivered at its destination, except when excused: it
 *               expired (an honest report, below); the sender reported it
 *               `undeliverable` (and its destination did restart); its
 *               destination incarnation crashed before
 *               delivering it (its log segment ends without `stop`: killed,
 *               or still running); or its sender incarnation crashed or
 *               was replaced by a restart before getting it out (PROTOCOL.md,
 *               "Retiring an identity": those messages are dropped, and
 *               their causal successors released, by design). Excused
 *               messages are counted apart; those lost with their sender
 *               or expired are also left out of the ORDER test;
 *   WRONG_DEST, UNKNOWN, BAD_SEND  delivered elsewhere, never sent, or an
 *               id sent twice or by another node;
 *   LOG         an event after `stop` in the same incarnation; a message to
 *               an incarnation none of the files is the log of; an expiry
 *               reported by neither the message's sender nor destination;
 *   EXPIRED_EARLY  an expiry reported before the reporter's causal lifetime
 *               Δ had passed since the send: by its HLC against the send's
 *               stamp, or by network time against the send's `net` with
 *               --expiry-tolerance (default 1 s); with Δ infinite, any;
 *   EXPIRED_DELIVERED  a message its destination reported expired and
 *               delivered.
 *
 * Output: a short summary ending with the verdict line `check: OK (...)` or
 * `check: FAILED: <n> violations` (the first few listed just before it), or
 * with --json one JSON object. Exit status: 0 OK, 1 violations, 2 usage
 * error, unreadable file or malformed line (each reported as file:line).
 * Lines are bounded to 1 MiB; a torn last line left by a killed node is
 * skipped with a warning.
 */
#ifndef P2PC_CLI_CHECK_H
#define P2PC_CLI_CHECK_H

#define P2PC_CHECK_LINE_MAX (1024 * 1024) /* bytes of one line, newline out */

/* Runs the check command on its arguments argv[0..argc) (the words after
 * "check"); prints to stdout/stderr and returns the exit status. */
int p2pc_cli_check(int argc, char **argv);

#endif /* P2PC_CLI_CHECK_H */
