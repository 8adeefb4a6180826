#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The D-Bus API reference in docs/api/ is in step with the interface XML: each
interface has a page, docs/api/INTERFACE.md, whose headings name every method, signal
and property of the XML with its signature, and nothing the XML does not have:

    ### method `Acquire(u n, t timeout_usec) → ()`
    ### signal `WaitEnded(t ticket, s error, s message)`
    ### property `Value: u, read`

Usage: api_pages.py DOCS_API_DIR XML...
"""

import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import markdown  # noqa: E402

HEADING = re.compile(r"(method|signal|property) `(.*)`")


def args(element, direction=None):
    return ", ".join(
        f"{arg.get('type')} {arg.get('name')}"
        for arg in element.findall("arg")
        if direction is None or arg.get("direction", "in") == direction
    )


def members(xml_path):
    """The headings the page of each interface in xml_path must have."""
    for interface in ET.parse(xml_path).getroot().findall("interface"):
        expected = set()
        for method in interface.findall("method"):
            expected.add(("method", f"{method.get('name')}({args(method, 'in')}) → ({args(method, 'out')})"))
        for signal in interface.findall("signal"):
            expected.add(("signal", f"{signal.get('name')}({args(signal)})"))
        for prop in interface.findall("property"):
            expected.add(("property", f"{prop.get('name')}: {prop.get('type')}, {prop.get('access')}"))
        yield interface.get("name"), expected


def documented(page):
    found = set()
    for level, title in markdown.headings(page):
        match = HEADING.fullmatch(title)
        if level == 3 and match:
            found.add((match.group(1), match.group(2)))
    return found


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    docs, problems, count = sys.argv[1], [], 0
    for xml_path in sys.argv[2:]:
        for name, expected in members(xml_path):
            page = os.path.join(docs, name + ".md")
            if not os.path.exists(page):
                problems.append(f"{name} has no page {page}")
                continue
            found = documented(page)
            count += len(expected)
            for kind, text in sorted(expected - found):
                problems.append(f"{page}: no heading for the {kind} `{text}` of {os.path.basename(xml_path)}")
            for kind, text in sorted(found - expected):
                problems.append(f"{page}: the {kind} `{text}` is not in {os.path.basename(xml_path)}")
    return markdown.report(problems, f"ok: the {count} members of {len(sys.argv) - 2} interfaces are documented, with their signatures, in {docs}")


if __name__ == "__main__":
    sys.exit(main())
