#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The code shown in a Markdown file is the tested example code: every fenced block
right after a line `<!-- example: PATH -->` must equal the file PATH (relative to the
source root), and every file under examples/ but the .expected outputs is shown;
with --some, only the first: the file shows some of the examples, at least one.

Usage: examples_in_docs.py [--some] MARKDOWN SOURCE_ROOT
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import markdown  # noqa: E402

MARKER = re.compile(r"<!-- example: (\S+) -->")


def main():
    arguments = sys.argv[1:]
    some = arguments[:1] == ["--some"]
    if some:
        arguments = arguments[1:]
    if len(arguments) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    page, root = arguments
    blocks = [(marker.group(1), code)
              for before, code in markdown.blocks(markdown.read(page))
              if (marker := MARKER.fullmatch(before))]
    problems, shown = [], set()
    for path, code in blocks:
        shown.add(path)
        try:
            with open(os.path.join(root, path), encoding="utf-8") as f:
                # the docs show an example without its license line
                shown_text = re.sub(r"^((?:#!.*\n)?)(?:#|//) SPDX-License-Identifier: .*\n", r"\1",
                                    f.read())
                if shown_text != code:
                    problems.append(f"the block after <!-- example: {path} --> is not the file {path}")
        except FileNotFoundError:
            problems.append(f"{page} shows {path}, which does not exist")
    if some and not blocks:
        problems.append(f"{page} shows no example")
    for directory, _, files in [] if some else os.walk(os.path.join(root, "examples")):
        for name in files:
            path = os.path.relpath(os.path.join(directory, name), root)
            if not name.endswith(".expected") and path not in shown:
                problems.append(f"{path} is not shown in {page}")
    return markdown.report(problems, f"ok: {len(blocks)} examples in {page} are the tested files")


if __name__ == "__main__":
    sys.exit(main())
