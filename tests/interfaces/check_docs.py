#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every interface, method, argument, property and signal in interfaces/*.xml carries
documentation that gdbus-codegen reads (gtk-doc style XML comments), and
`gdbus-codegen --generate-docbook` turns them into DocBook that names every member
with its text.

Usage: check_docs.py GDBUS_CODEGEN XML...
The comments are parsed by gdbus-codegen's own parser, so "documented" means what the
generated documentation will show, not what a regular expression guesses.
"""

import itertools
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET


def codegen_modules(gdbus_codegen):
    """gdbus-codegen's parser: share/glib-2.0/codegen next to its bin/."""
    prefix = os.path.dirname(os.path.dirname(os.path.realpath(gdbus_codegen)))
    sys.path.insert(0, os.path.join(prefix, "share", "glib-2.0"))
    from codegen import parser  # pylint: disable=import-outside-toplevel

    return parser


def undocumented(interface):
    """The members of one parsed interface with no doc text, as readable names."""
    missing = []

    def check(what, obj):
        if not (obj.doc_string or "").strip():
            missing.append(what)

    check(f"interface {interface.name}", interface)
    for method in interface.methods:
        where = f"{interface.name}.{method.name}"
        check(f"method {where}", method)
        for arg in method.in_args + method.out_args:
            check(f"argument {arg.name} of {where}", arg)
    for signal in interface.signals:
        where = f"{interface.name}.{signal.name}"
        check(f"signal {where}", signal)
        for arg in signal.args:
            check(f"argument {arg.name} of signal {where}", arg)
    for prop in interface.properties:
        check(f"property {interface.name}.{prop.name}", prop)
    return missing


def wrapped_parameters(path):
    """Parameter lines wrapped onto a second line. gdbus-codegen takes each @name: on
    one line only; a continuation line ends the parameter block, goes to the body, and
    the parameters after it are lost. gtk-doc would accept it, so check it here."""
    problems = []
    with open(path, encoding="utf-8") as f:
        comments = re.findall(r"<!--(.*?)-->", f.read(), re.S)
    for comment in comments:
        lines = [line.strip() for line in comment.strip().split("\n")]
        if not lines or not (lines[0].endswith(":") or ": " in lines[0]):
            continue
        block = list(itertools.takewhile(bool, lines[1:]))
        for previous, line in zip(block, block[1:]):
            if previous.startswith("@") and not line.startswith("@"):
                problems.append(f"{os.path.basename(path)}: in the doc of {lines[0].split(':')[0]}, "
                                f"'{line[:40]}...' wraps a parameter line; keep each @name: on one line")
                break
    return problems


def first_words(text, count=4):
    return " ".join(text.split()[:count])


def check_docbook(gdbus_codegen, xml_files, interfaces):
    """Runs --generate-docbook and checks each interface's page names and documents
    every member."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="ipchub-docbook.") as out:
        result = subprocess.run(
            [gdbus_codegen, "--generate-docbook", os.path.join(out, "doc"), *xml_files],
            capture_output=True, text=True, check=False)
        if result.returncode != 0 or result.stderr.strip():
            return [f"gdbus-codegen --generate-docbook: status {result.returncode}: {result.stderr.strip()}"]
        for interface in interfaces:
            page = os.path.join(out, f"doc-{interface.name}.xml")
            if not os.path.exists(page):
                problems.append(f"no DocBook page for {interface.name}")
                continue
            text = " ".join(ET.tostring(ET.parse(page).getroot(), encoding="unicode", method="text").split())
            members = interface.methods + interface.signals + interface.properties
            for member in members:
                if member.name not in text:
                    problems.append(f"{page}: {member.name} is not in the page")
                elif member.doc_string and first_words(member.doc_string) not in text:
                    problems.append(f"{page}: the doc of {member.name} is not in the page")
    return problems


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    gdbus_codegen, xml_files = sys.argv[1], sys.argv[2:]
    parser = codegen_modules(gdbus_codegen)

    problems, interfaces, members = [], [], 0
    for path in xml_files:
        with open(path, "rb") as f:
            parsed = parser.parse_dbus_xml(f.read(), h_type_implies_unix_fd=True)
        problems += wrapped_parameters(path)
        if not parsed:
            problems.append(f"{path}: no interface")
        for interface in parsed:
            interfaces.append(interface)
            members += len(interface.methods) + len(interface.signals) + len(interface.properties)
            problems += [f"{os.path.basename(path)}: undocumented {what}" for what in undocumented(interface)]
    if not problems:
        problems += check_docbook(gdbus_codegen, xml_files, interfaces)

    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"ok: {len(interfaces)} interfaces, {members} members, every one documented and in the DocBook")
    return 0


if __name__ == "__main__":
    sys.exit(main())
