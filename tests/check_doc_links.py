#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The repository stands alone: every link in its Markdown files resolves
to a file or folder inside the clone, and no document points outside it.

Checks, in README.md and every tracked *.md under docs/, bench/, scenarios/:
  - each Markdown link or image target [text](target) that is not a URL or
    an in-page anchor names an existing path, relative to the document;
  - each path in backticks that ends in .md (`docs/CLOCK.md`) exists,
    relative to the document or to the repository root;
  - nothing refers to a path that leaves the repository (`../shared/...`).
(docs/ALGORITHMS.md's backticked paths name files of the projects it cites,
so only its links are checked.)
Exit 1 with one line per broken reference.

usage: check_doc_links.py REPO_ROOT
"""
import os
import re
import sys

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
TICKED_MD = re.compile(r"`([^`\s]+\.md)`")
CITES = os.path.join("docs", "ALGORITHMS.md")


def docs(root):
    yield os.path.join(root, "README.md")
    for sub in ("docs", "bench", "scenarios", "tests", "fuzz"):
        for dirpath, _, files in os.walk(os.path.join(root, sub)):
            for f in sorted(files):
                if f.endswith(".md"):
                    yield os.path.join(dirpath, f)


def inside(root, path):
    root = os.path.realpath(root)
    path = os.path.realpath(path)
    return path == root or path.startswith(root + os.sep)


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    root = sys.argv[1]
    bad = []
    checked = 0
    for doc in docs(root):
        if not os.path.exists(doc):
            bad.append(f"{doc}: missing")
            continue
        here = os.path.dirname(doc)
        rel = os.path.relpath(doc, root)
        with open(doc, encoding="utf-8") as f:
            text = f.read()
        for n, line in enumerate(text.splitlines(), 1):
            for target in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                    continue
                path = os.path.join(here, target.split("#", 1)[0])
                checked += 1
                if not inside(root, path):
                    bad.append(f"{rel}:{n}: link leaves the repository: {target}")
                elif not os.path.exists(path):
                    bad.append(f"{rel}:{n}: broken link: {target}")
            for target in ([] if rel == CITES else TICKED_MD.findall(line)):
                checked += 1
                cands = [os.path.join(here, target), os.path.join(root, target)]
                if any(not inside(root, c) for c in cands):
                    bad.append(f"{rel}:{n}: refers outside the repository: {target}")
                elif not any(os.path.exists(c) for c in cands):
                    bad.append(f"{rel}:{n}: no such file: {target}")
            if "../shared" in line:
                bad.append(f"{rel}:{n}: refers to ../shared, not in a clone")
    for b in bad:
        print(b)
    print(f"check_doc_links: {checked} references, {len(bad)} broken")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
