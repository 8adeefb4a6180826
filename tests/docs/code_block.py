#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the first fenced code block of a Markdown file's "## SECTION" to OUTPUT, so
that the build compiles what the page shows.

Usage: code_block.py MARKDOWN SECTION OUTPUT
"""

import re
import sys


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    markdown, section, output = sys.argv[1:]
    with open(markdown, encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"^## " + re.escape(section) + r"\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    block = match and re.search(r"^```[^\n]*\n(.*?)^```$", match.group(1), re.S | re.M)
    if not block:
        print(f"{markdown}: no code block under ## {section}", file=sys.stderr)
        return 1
    with open(output, "w", encoding="utf-8") as f:
        f.write(block.group(1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
