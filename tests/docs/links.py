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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import markdown  # noqa: E402

LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path):
    return {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
            for _, title in markdown.headings(path)}


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = sys.argv[1]
    pages = [os.path.join(root, "README.md")] + sorted(
        glob.glob(os.path.join(root, "docs", "**", "*.md"), recursive=True))
    problems, count = [], 0
    for page in pages:
        for target in LINK.findall(markdown.without_code(markdown.read(page))):
            if re.match(r"[a-z]+:", target):
                continue
            count += 1
            file, _, anchor = target.partition("#")
            path = os.path.normpath(os.path.join(os.path.dirname(page), file)) if file else page
            if not os.path.exists(path):
                problems.append(f"{page}: {target}: no file {path}")
            elif anchor and path.endswith(".md") and anchor not in anchors(path):
                problems.append(f"{page}: {target}: no heading #{anchor} in {path}")
    return markdown.report(problems, f"ok: the {count} relative links of {len(pages)} pages lead somewhere")


if __name__ == "__main__":
    sys.exit(main())
