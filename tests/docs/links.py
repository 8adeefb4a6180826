#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every relative link of the README and docs/ leads somewhere: the file exists and,
for a link with #anchor, the file has a heading of that anchor (GitHub's: lower
case, punctuation dropped, spaces as hyphens).

Usage: links.py SOURCE_ROOT
"""

import glob
import os
import re
import sys

LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path):
    found, in_code = set(), False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                in_code = not in_code
            if not in_code and line.startswith("#"):
                title = line.lstrip("#").strip().lower()
                found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = sys.argv[1]
    pages = [os.path.join(root, "README.md")] + sorted(
        glob.glob(os.path.join(root, "docs", "**", "*.md"), recursive=True))
    problems, count = [], 0
    for page in pages:
        with open(page, encoding="utf-8") as f:
            text = re.sub(r"```.*?```", "", f.read(), flags=re.S)
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue
            count += 1
            file, _, anchor = target.partition("#")
            path = os.path.normpath(os.path.join(os.path.dirname(page), file)) if file else page
            if not os.path.exists(path):
                problems.append(f"{page}: {target}: no file {path}")
            elif anchor and path.endswith(".md") and anchor not in anchors(path):
                problems.append(f"{page}: {target}: no heading #{anchor} in {path}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"ok: the {count} relative links of {len(pages)} pages lead somewhere")
    return 0


if __name__ == "__main__":
    sys.exit(main())
