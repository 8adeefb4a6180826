#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every limit of the Manager's Limits property, as a running ipchubd reports it, is
in the README's "## Limits" table with its default, and the table names no other.
A cell "`objects_per_uid`, `_per_app`" names objects_per_uid and objects_per_app; its
default "65536, 16384" gives one value each. Sizes are shown with KiB, MiB or GiB.

Usage: limits_in_readme.py README  (on a bus where ipchubd runs: with-ipchubd.sh)
"""

import re
import subprocess
import sys

UNITS = {"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def live_limits():
    out = subprocess.run(
        ["gdbus", "call", "--session", "--dest", "io.github.ipchub1", "--object-path",
         "/io/github/ipchub1", "--method", "org.freedesktop.DBus.Properties.Get",
         "io.github.ipchub1.Manager", "Limits"],
        check=True, capture_output=True, text=True).stdout
    return {name: int(value) for name, value in re.findall(r"'(\w+)': <(?:uint32|uint64)? ?(\d+)>", out)}


def value(text):
    number, _, unit = text.strip().partition(" ")
    return int(number) * UNITS[unit or "bytes"]


def readme_limits(path):
    with open(path, encoding="utf-8") as f:
        section = f.read().split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]
    shown = {}
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        if not row.startswith("| `"):
            continue
        for names_cell, defaults_cell in zip(cells[0::2], cells[1::2]):
            names = re.findall(r"`(\w+)`", names_cell)
            defaults = defaults_cell.split(",")
            if len(names) != len(defaults):
                raise SystemExit(f"{path}: {names_cell} has {len(defaults)} defaults")
            for i, name in enumerate(names):
                if name.startswith("_"):
                    name = names[0][: names[0].rindex("_per_")] + name
                shown[name] = value(defaults[i])
    return shown


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    live, shown = live_limits(), readme_limits(sys.argv[1])
    problems = [f"{name} = {live[name]} is not in the README's Limits table" for name in sorted(live.keys() - shown.keys())]
    problems += [f"the README shows {name}, which the Limits property does not have" for name in sorted(shown.keys() - live.keys())]
    problems += [f"the README shows {name} = {shown[name]}, ipchubd's default is {live[name]}"
                 for name in sorted(live.keys() & shown.keys()) if live[name] != shown[name]]
    for problem in problems:
        print(problem, file=sys.stderr)
    if not live:
        problems.append("no limit read from the Limits property")
    if problems:
        return 1
    print(f"ok: the README shows the {len(live)} limits of the Limits property with their defaults")
    return 0


if __name__ == "__main__":
    sys.exit(main())
