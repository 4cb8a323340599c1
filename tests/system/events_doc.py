#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Holds docs/EVENTS.md to the code and to real event logs (standard
library only).

  events_doc.py --doc EVENTS.md --src SRC_DIR [--expect K1,K2,...] LOG...

From the page it reads the fields on every line (the table under "Fields
on every line"), each kind's fields with their types (the table under the
"### `kind`" heading) and the overview tables (`ev` | extra fields |
when). It fails if

  - an overview table and a kind's own table list different fields, or a
    kind has one table and not the other;
  - a documented kind or field is not a string literal anywhere in the C
    sources under SRC_DIR (documented, but nothing writes it);
  - a log line is not a JSON object, has a kind the page does not list, a
    field the page does not list for its kind, a value of another type than
    the page says, or lacks a field the page does not mark optional;
  - a kind given with --expect never occurs in the logs (so that a run that
    wrote little cannot pass for a check).

Exit status: 0 ok, 1 the page and the code or the logs disagree, 2 usage.
"""
import json
import os
import re
import sys

MAX_REPORTED = 20

TICK = re.compile(r"`([^`]+)`")
IDENT = re.compile(r"^[a-z_]+$")


def die_usage(msg):
    print("events_doc.py: " + msg, file=sys.stderr)
    print("usage: events_doc.py --doc EVENTS.md --src SRC_DIR "
          "[--expect K1,K2,...] LOG...", file=sys.stderr)
    sys.exit(2)


def cells(line):
    """The cells of a Markdown table row, or None if it is not one."""
    line = line.strip()
    if not line.startswith("|") or not line.endswith("|"):
        return None
    return [c.strip() for c in line[1:-1].split("|")]


def parse_type(text, where, errors):
    """(set of JSON type names, optional) from a type cell."""
    optional = False
    text = text.strip()
    if text.endswith(", optional"):
        optional = True
        text = text[:-len(", optional")]
    names = {"string": "string", "int": "int", "bool": "bool",
             "object": "object", "null": "null"}
    kinds = set()
    for part in text.split(" or "):
        part = part.strip()
        if part not in names:
            errors.append("%s: unknown type %r" % (where, text))
            continue
        kinds.add(names[part])
    return kinds, optional


def parse_doc(path, errors):
    """common: {field: (types, optional)}; kinds: {kind: {field: ...}};
    overview: {kind: set of fields}."""
    common, kinds, overview = {}, {}, {}
    section = None  # "common", ("kind", name) or None
    in_overview = False
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for n, line in enumerate(lines, 1):
        where = "%s:%d" % (path, n)
        if line.startswith("#"):
            in_overview = False
            section = None
            title = line.lstrip("#").strip()
            if line.startswith("## ") and title == "Fields on every line":
                section = "common"
            elif line.startswith("### "):
                ticks = TICK.findall(title)
                if len(ticks) == 1 and title == "`%s`" % ticks[0]:
                    section = ("kind", ticks[0])
                    if ticks[0] in kinds:
                        errors.append("%s: kind %s documented twice"
                                      % (where, ticks[0]))
                    kinds[ticks[0]] = {}
            continue
        c = cells(line)
        if c is None:
            in_overview = False
            continue
        if set("".join(c)) <= set("-: "):
            continue  # the separator row
        if len(c) == 3 and c[0] == "`ev`" and c[1] == "extra fields":
            in_overview = True  # an overview table's header
            continue
        if in_overview:
            ks = TICK.findall(c[0])
            fields = {t for t in TICK.findall(c[1]) if IDENT.match(t)}
            if len(c) != 3 or not ks:
                errors.append("%s: overview row without kinds" % where)
            for k in ks:
                if k in overview:
                    errors.append("%s: kind %s in two overview rows"
                                  % (where, k))
                overview[k] = fields
            continue
        if section is None or len(c) != 3 or c[0] in ("field",):
            continue
        m = re.match(r"^`([a-z_]+)`$", c[0])
        if not m:
            errors.append("%s: a field row must start with `name`" % where)
            continue
        spec = parse_type(c[1], where, errors)
        table = common if section == "common" else kinds[section[1]]
        if m.group(1) in table:
            errors.append("%s: field %s listed twice" % (where, m.group(1)))
        table[m.group(1)] = spec
    if not common:
        errors.append("%s: no table under \"## Fields on every line\"" % path)
    if not kinds:
        errors.append("%s: no \"### `kind`\" tables" % path)
    for k in sorted(set(kinds) | set(overview)):
        if k not in kinds:
            errors.append("%s: %s is in an overview table but has no "
                          "\"### `%s`\" table" % (path, k, k))
        elif k not in overview:
            errors.append("%s: %s has a table but is in no overview table"
                          % (path, k))
        elif set(kinds[k]) != overview[k]:
            errors.append("%s: %s: the overview lists %s, its table %s"
                          % (path, k, sorted(overview[k]), sorted(kinds[k])))
    return common, kinds


def check_sources(src, common, kinds, errors):
    text = []
    for root, _, files in os.walk(src):
        for name in files:
            if name.endswith(".c"):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    text.append(f.read())
    text = "\n".join(text)
    if not text:
        errors.append("%s: no C sources" % src)
        return

    def literal(word):
        return re.search(r'\\?"' + re.escape(word) + r'\\?"', text)

    for k in sorted(kinds):
        if not literal(k):
            errors.append("kind %s is documented, but no source under %s "
                          "has the literal \"%s\"" % (k, src, k))
    fields = set(common)
    for f in kinds.values():
        fields |= set(f)
    for f in sorted(fields):
        if not literal(f):
            errors.append("field %s is documented, but no source under %s "
                          "has the literal \"%s\"" % (f, src, f))


def type_of(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def check_logs(paths, common, kinds, errors):
    seen = {}
    lines = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                lines += 1
                where = "%s:%d" % (path, n)
                try:
                    j = json.loads(line)
                except ValueError:
                    errors.append("%s: not JSON" % where)
                    continue
                if not isinstance(j, dict):
                    errors.append("%s: not a JSON object" % where)
                    continue
                ev = j.get("ev")
                if ev not in kinds:
                    errors.append("%s: kind %r is not documented" % (where, ev))
                    continue
                seen[ev] = seen.get(ev, 0) + 1
                spec = dict(common)
                spec.update(kinds[ev])
                for key, v in j.items():
                    if key not in spec:
                        errors.append("%s: %s: field %r is not documented"
                                      % (where, ev, key))
                    elif type_of(v) not in spec[key][0]:
                        errors.append("%s: %s: %s is %s, documented as %s"
                                      % (where, ev, key, type_of(v),
                                         " or ".join(sorted(spec[key][0]))))
                for key, (_, optional) in spec.items():
                    if not optional and key not in j:
                        errors.append("%s: %s: documented field %s missing"
                                      % (where, ev, key))
    return seen, lines


def main(argv):
    doc = src = None
    expect = []
    logs = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--doc", "--src", "--expect"):
            if i + 1 >= len(argv):
                die_usage(a + " needs a value")
            v = argv[i + 1]
            if a == "--doc":
                doc = v
            elif a == "--src":
                src = v
            else:
                expect = [k for k in v.split(",") if k]
            i += 2
            continue
        if a.startswith("-"):
            die_usage("unknown option " + a)
        logs.append(a)
        i += 1
    if not doc or not src:
        die_usage("--doc and --src are required")
    for p in [doc] + logs:
        if not os.path.isfile(p):
            die_usage("%s: no such file" % p)
    if not os.path.isdir(src):
        die_usage("%s: no such directory" % src)
    if expect and not logs:
        die_usage("--expect needs logs")

    errors = []
    common, kinds = parse_doc(doc, errors)
    for k in expect:
        if k not in kinds:
            errors.append("--expect %s: not a documented kind" % k)
    check_sources(src, common, kinds, errors)
    seen, lines = check_logs(logs, common, kinds, errors)
    for k in expect:
        if k in kinds and k not in seen:
            errors.append("no %s line in the logs (--expect)" % k)
    for e in errors[:MAX_REPORTED]:
        print("events_doc.py: " + e, file=sys.stderr)
    if errors:
        print("events_doc.py: %d problem(s)" % len(errors), file=sys.stderr)
        return 1
    print("events_doc.py: %d kinds and %d common fields documented, all in "
          "%s; %d lines in %d logs, all documented (%s)"
          % (len(kinds), len(common), src, lines, len(logs),
             ", ".join("%s %d" % (k, seen[k]) for k in sorted(seen))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
