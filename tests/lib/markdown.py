# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the documentation tests read of a Markdown file: its lines outside fenced code
blocks (a heading inside a block is code, not a heading), its text without those blocks,
and its blocks with the line before each."""

import re
import sys

FENCE = "```"
BLOCK = re.compile(r"^" + FENCE + r"[^\n]*\n(.*?)^" + FENCE + r"[^\n]*$", re.S | re.M)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def prose_lines(path):
    """The lines of the file at path that are outside fenced code blocks."""
    in_code = False
    for line in read(path).splitlines():
        if line.startswith(FENCE):
            in_code = not in_code
        elif not in_code:
            yield line


def headings(path):
    """(level, title) of each heading of the file at path."""
    for line in prose_lines(path):
        match = re.match(r"(#+) (.*)", line)
        if match:
            yield len(match.group(1)), match.group(2).strip()


def without_code(text):
    """text without its fenced code blocks."""
    return BLOCK.sub("", text)


def blocks(text):
    """(the line before the block, its contents) for each fenced code block of text."""
    for match in BLOCK.finditer(text):
        before = text[:max(match.start() - 1, 0)].rpartition("\n")[2]
        yield before, match.group(1)


def report(problems, ok):
    """Prints each problem to stderr, or ok when there is none; the exit status."""
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(ok)
    return 0
