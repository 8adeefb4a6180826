#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The limits are documented as ipchubd has them: the Manager's Limits property of a
running ipchubd (made from the one table of limits in service/core/limit_table.cpp)
and its --help (the options, made from the same table) against the Limits doc
comment of the Manager's XML, the options of the man page and the Limits table of
README.md. Each must list exactly the same names with the same defaults.

Usage: limits_documented.py IPCHUBD MANAGER_XML MAN_PAGE README
Run with DBUS_SESSION_BUS_ADDRESS on a bus where IPCHUBD serves with no options.
"""

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def size(text):
    """4096, 1G, 1 GiB, 64 MiB, 512 KiB: the number of bytes (or the count)."""
    match = re.fullmatch(r"(\d+)\s*([KMG]?)(?:i?B| bytes)?", text.strip())
    if not match:
        raise ValueError(f"not a number or size: {text!r}")
    return int(match.group(1)) * UNITS[match.group(2)]


def from_property():
    """name -> (type, value) from the Limits property of the running ipchubd."""
    out = subprocess.run(
        ["gdbus", "call", "--session", "--dest", "io.github.ipchub1",
         "--object-path", "/io/github/ipchub1",
         "--method", "org.freedesktop.DBus.Properties.Get",
         "io.github.ipchub1.Manager", "Limits"],
        check=True, capture_output=True, text=True).stdout
    found = re.findall(r"'(\w+)': <(uint32|uint64) (\d+)>", out)
    if not found:
        raise SystemExit(f"no limits in the Limits property: {out}")
    return {name: ("u" if kind == "uint32" else "t", int(value))
            for name, kind, value in found}


def from_help(ipchubd):
    """option -> default (as a number), from ipchubd --help."""
    out = subprocess.run([ipchubd, "--help"], check=True, capture_output=True,
                         text=True).stdout
    text = out.split("Limits (", 1)[1]
    # One option's text runs to the next option; its default closes it, in ( ).
    entries = re.split(r"\n\s+--", "\n" + text)[1:]
    options = {}
    for entry in entries:
        match = re.match(r"([a-z-]+)=(N|BYTES)\s", entry)
        default = re.search(r"\((\d+[KMG]?)\)\s*$", entry.split("\nBYTES")[0])
        if not match or not default:
            raise SystemExit(f"--help: cannot read the limit of: --{entry}")
        options[match.group(1)] = size(default.group(1))
    return options


def from_xml(path):
    """name -> (type, default) from the doc comment right before <property Limits>."""
    text = open(path, encoding="utf-8").read()
    before = text[:text.index('<property name="Limits"')]
    comment = before[before.rindex("<!--"):]
    if not comment.split("<!--", 1)[1].strip().startswith("Limits:"):
        raise SystemExit(f"{path}: no Limits: comment before the Limits property")
    return {name: (kind, size(value)) for name, kind, value in
            re.findall(r"(\w+)\s+\(([ut]),\s+default\s+([^)]+)\)", comment)}


def from_man(path):
    """option -> default from the man page's .BI \\-\\-OPTION= N|BYTES entries."""
    text = open(path, encoding="utf-8").read().replace("\\-", "-")
    options = {}
    for entry in re.split(r"\n\.TP\n", text)[1:]:
        match = re.match(r"\.BI --([a-z-]+)= (N|BYTES)\n", entry)
        if not match:
            continue
        body = re.split(r"\n\.(?:PP|SH|TP)\b", entry)[0].replace("\n", " ")
        default = re.search(r"\(default (\d+[KMG]?)\)", body)
        if default:
            options[match.group(1)] = size(default.group(1))
        elif match.group(1) != "idle-exit":
            raise SystemExit(f"{path}: --{match.group(1)} says no (default ...)")
    return options


def from_readme(path):
    """name -> default from the first table after a heading named Limits."""
    lines = open(path, encoding="utf-8").read().splitlines()
    start = next((i for i, line in enumerate(lines)
                  if re.fullmatch(r"#+\s+Limits\s*", line)), None)
    if start is None:
        raise SystemExit(f"{path}: no Limits heading")
    table = []
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            table.append(line)
        elif table:
            break
    limits = {}
    for row in table[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        # name | default, possibly twice in a row; "`a_per_uid`, `_per_app`" is
        # a_per_uid and a_per_app
        for name_cell, default_cell in zip(cells[0::2], cells[1::2]):
            names = re.findall(r"`(\w+)`", name_cell)
            names = [name if not name.startswith("_") or not names else
                     names[0][:names[0].rfind("_" + name.split("_")[1])] + name
                     for name in names]
            defaults = [value for value in re.split(r",\s*", default_cell) if value]
            if len(names) != len(defaults):
                raise SystemExit(f"{path}: {len(names)} names and {len(defaults)} "
                                 f"defaults in: {row}")
            for name, value in zip(names, defaults):
                limits[name] = size(value)
    if not limits:
        raise SystemExit(f"{path}: no table of limits under the Limits heading")
    return limits


def compare(what, found, expected):
    """The differences of two name -> value maps, as messages."""
    def text(value):
        return f"{value[1]} ({value[0]})" if isinstance(value, tuple) else str(value)

    problems = []
    for name in sorted(expected.keys() - found.keys()):
        problems.append(f"{what} lacks {name} (default {text(expected[name])})")
    for name in sorted(found.keys() - expected.keys()):
        problems.append(f"{what} lists {name}, which ipchubd does not have")
    for name in sorted(found.keys() & expected.keys()):
        if found[name] != expected[name]:
            problems.append(f"{what} says {name} is {text(found[name])}; ipchubd "
                            f"has {text(expected[name])}")
    return problems


def main():
    ipchubd, xml_path, man_path, readme_path = sys.argv[1:5]
    ET.parse(xml_path)
    limits = from_property()
    values = {name: value for name, (_, value) in limits.items()}
    options = from_help(ipchubd)
    problems = []
    # Every option is a limit of the property, by the same name, with its value.
    by_option = {name.replace("_", "-"): value for name, value in values.items()}
    problems += compare("ipchubd --help", options,
                        {name: by_option.get(name) for name in options})
    problems += compare("the Manager XML", from_xml(xml_path), limits)
    problems += compare("the man page", from_man(man_path),
                        {name: by_option[name] for name in options})
    problems += compare("README.md's Limits table", from_readme(readme_path), values)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"ok: {len(limits)} limits, {len(options)} options, documented alike")
    return 0


if __name__ == "__main__":
    sys.exit(main())
