#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ctest example_chat: three chat processes (examples/chat.c) with piped
stdin. a listens; b and c are told only of a and find each other. a says
hello; once everyone has it, one of the others answers, and then one of
the two that did not answer last answers that. Every process must print
every line once, with its message id, each answer after what it answers
(causal order). Then stdin is closed and every process must leave and
exit 0.

The waits are bounded by a deadline (a failure if it passes), never used
as a measure."""
import os
import re
import select
import subprocess
import sys
import time

DEADLINE_S = 60
chat = sys.argv[1]
procs = {}


class Chat:
    def __init__(self, name, peers):
        args = [chat, "--id", name, "--listen", "127.0.0.1:0"]
        for p in peers:
            args += ["--peer", p]
        self.name = name
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        self.lines = []
        self.partial = b""

    def read(self):
        data = os.read(self.p.stdout.fileno(), 65536)
        if not data:
            return False
        self.partial += data
        *done, self.partial = self.partial.split(b"\n")
        self.lines += [d.decode() for d in done]
        return True

    def say(self, text):
        self.p.stdin.write(text.encode() + b"\n")
        self.p.stdin.flush()

    def has(self, pattern):
        return any(re.search(pattern, line) for line in self.lines)


def fail(why):
    print("example_chat: FAILED:", why)
    for c in procs.values():
        print("--- %s printed:" % c.name)
        print("\n".join(c.lines))
        if c.p.poll() is None:
            c.p.kill()
    sys.exit(1)


end = time.monotonic() + DEADLINE_S


def wait_for(what, pred):
    """Reads the processes' output until pred() holds."""
    open_fds = {c.p.stdout.fileno(): c for c in procs.values()}
    while not pred():
        left = end - time.monotonic()
        if left <= 0:
            fail("deadline passed waiting for " + what)
        ready, _, _ = select.select(list(open_fds), [], [], min(left, 1.0))
        for fd in ready:
            if not open_fds[fd].read():
                del open_fds[fd]
        if not open_fds:
            fail("every process ended waiting for " + what)


procs["a"] = Chat("a", [])
wait_for("a's port", lambda: procs["a"].has(r"^\* a listening on"))
port = re.search(r"listening on 127\.0\.0\.1:(\d+)",
                 "\n".join(procs["a"].lines)).group(1)
for name in "bc":
    procs[name] = Chat(name, ["a@127.0.0.1:" + port])


def group_formed():
    return all(c.has(r"^\* %s joined" % o)
               for c in procs.values() for o in procs if o != c.name)


wait_for("everyone to see everyone", group_formed)

# A message line: "[<sender>~<session>:<seq>] <sender>: <text>".
LINE = re.compile(r"^\[([^~]+)~[0-9a-z]+:(\d+)\] ([^:]+): (.*)$")


def copy_of(c, sender, text):
    """(index, seq) of the line c printed for sender's text, or None."""
    for i, line in enumerate(c.lines):
        m = LINE.match(line)
        if m and m.group(1) == sender and m.group(4) == text:
            return i, int(m.group(2))
    return None


def everyone_has(sender, text):
    return lambda: all(copy_of(c, sender, text) for c in procs.values())


# A broadcast is one message per process (self included), sent one after
# another. Causal order covers the copies sent before the one a replier
# read: the replier is the process whose copy was sent last (highest
# seq), so every other copy causally precedes its answer.
said = [("a", "hello from a")]
procs["a"].say(said[0][1])
wait_for("every copy of the hello", everyone_has(*said[0]))
for answer in range(2):
    sender, text = said[-1]
    replier = max((c for c in procs.values() if c.name != sender),
                  key=lambda c: copy_of(c, sender, text)[1])
    reply = "%s answers %s" % (replier.name, sender)
    replier.say(reply)
    said.append((replier.name, reply))
    wait_for("every copy of " + reply, everyone_has(replier.name, reply))

# Every process printed every line once, each answer after the line it
# answers (all three lines are sent after the one before was read).
for c in procs.values():
    where = [copy_of(c, s, t)[0] for s, t in said]
    if where != sorted(where):
        fail("%s printed an answer before what it answers" % c.name)
    if sum(1 for line in c.lines if LINE.match(line)) != len(said):
        fail("%s printed a message twice or one never sent" % c.name)

for c in procs.values():
    c.p.stdin.close()
for c in procs.values():
    while c.read():  # drains its output until it exits
        pass
    try:
        rc = c.p.wait(timeout=max(end - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        fail("%s did not exit after its stdin closed" % c.name)
    if rc != 0:
        fail("%s exited with status %d" % (c.name, rc))
print("example_chat: ok (3 processes; %s)" % "; ".join(t for _, t in said))
