#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The README's Layout section matches the tree.

Every path the section names exists, and every directory of the tree that a
newcomer navigates (the top level, src/, src/core/, include/, tests/) is
named in it. Usage: check_readme_layout.py REPO_ROOT [README]
"""
import os
import re
import subprocess
import sys


def layout_block(readme):
    text = open(readme, encoding="utf-8").read()
    m = re.search(r"^## Layout\n+```\n(.*?)```", text, re.S | re.M)
    if not m:
        sys.exit("check_readme_layout: no ## Layout code block in " + readme)
    return m.group(1)


def named_paths(block):
    """Paths the block names: a top-level entry at column 0 and the
    entries indented under src/core/ (relative to it)."""
    paths, parent = [], None
    for line in block.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            first = line.split()[0]
            parent = first if first == "src/core/" else None
            # "tests/uv/, install/": siblings share the first's parent
            heads = [first.rstrip(",")]
            rest = line[len(first):].lstrip()
            if first.endswith(",") and rest.split():
                sib = rest.split()[0]
                heads.append(os.path.join(os.path.dirname(heads[0].rstrip("/")), sib))
            paths.extend(heads)
        elif parent and re.match(r"^  \S", line):
            paths.append(parent + line.split()[0])
    return paths


def exists(root, p):
    p = p.rstrip("/")
    m = re.match(r"^(.*)\.\[(\w+)\]$", p)  # event.[ch]
    if m:
        return all(os.path.exists(os.path.join(root, m.group(1) + "." + e))
                   for e in m.group(2))
    return os.path.exists(os.path.join(root, p))


def tracked_dirs(root):
    out = subprocess.run(["git", "-C", root, "ls-files"], capture_output=True,
                         text=True, check=True).stdout.split()
    dirs = set()
    for f in out:
        parts = f.split("/")
        for k in range(1, len(parts)):
            dirs.add("/".join(parts[:k]) + "/")
    return dirs


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: check_readme_layout.py REPO_ROOT [README]")
    root = sys.argv[1]
    readme = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "README.md")
    block = layout_block(readme)
    named = named_paths(block)
    bad = [p for p in named if not exists(root, p)]
    norm = {p.rstrip("/") + "/" for p in named}
    want = set()
    for d in tracked_dirs(root):
        depth = d.count("/")
        if d.startswith("."):
            continue
        if depth == 1 or (depth == 2 and d.split("/")[0] in ("src", "include", "tests")) \
                or (depth == 3 and d.startswith("src/core/")):
            want.add(d)
    # a directory is named if it or a file/dir inside it is
    missing = sorted(d for d in want
                     if not any(n == d or n.startswith(d) for n in norm))
    for p in bad:
        print(f"README Layout names {p}, which does not exist")
    for d in missing:
        print(f"README Layout does not name {d}")
    if bad or missing:
        sys.exit(1)
    print(f"README Layout: {len(named)} paths, all present; every directory named")


if __name__ == "__main__":
    main()
