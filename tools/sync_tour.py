#!/usr/bin/env python3
"""Rewrites every excerpt and whole-program block of docs/tour/*.md from the code it shows.

tests/test_tour.cpp fails when a block no longer matches its source; after changing the code on
purpose, run this, then reread the prose around each changed block: the test checks the code,
not what the chapter says about it. Output blocks are not touched (they quote a program's
output; fix them by hand). Usage: tools/sync_tour.py [--check]
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MARKER = re.compile(r"<!-- (excerpt|program): (.+?) -->")


def region(path, name):
    lines, inside, out = (ROOT / path).read_text().split("\n"), False, []
    for line in lines:
        if "// tour:end " + name in line:
            inside = False
        if inside:
            out.append(line)
        if "// tour:begin " + name in line:
            inside = True
    if not out:
        sys.exit(f"sync_tour: no region {name} in {path}")
    indent = min(len(l) - len(l.lstrip(" ")) for l in out if l.strip())
    return [l[indent:] if l.strip() else "" for l in out]


def sync(chapter):
    lines, out, i = chapter.read_text().split("\n"), [], 0
    while i < len(lines):
        out.append(lines[i])
        m = MARKER.search(lines[i])
        if m and i + 1 < len(lines) and lines[i + 1].startswith("```"):
            kind, target = m.groups()
            if kind == "excerpt":
                path, name = target.split("#")
                body = region(path, name)
            else:
                body = (ROOT / target).read_text().rstrip("\n").split("\n")
            out.append(lines[i + 1])
            j = i + 2
            while not lines[j].startswith("```"):
                j += 1
            out.extend(body)
            i = j
            continue
        i += 1
    return "\n".join(out)


def main():
    check = "--check" in sys.argv
    changed = []
    for chapter in sorted((ROOT / "docs" / "tour").glob("*.md")):
        text = sync(chapter)
        if text != chapter.read_text():
            changed.append(chapter.name)
            if not check:
                chapter.write_text(text)
    for name in changed:
        print(("differs: " if check else "rewrote: ") + name)
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
